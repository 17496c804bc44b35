import CNetlinkRoute
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's announced routes (``AnnouncedRoute``), over rtnetlink (libnl-route-3): a unicast host route through
/// the VIP's interface, scope link, protocol `static`, in the route's table; or, for ``AnnouncedRoute/Kind/local``, a
/// `local` route of scope host in the `local` table, protocol `static` (a delete names the protocol, so the kernel's
/// own local route of an interface address is never taken). Each call opens its own netlink socket.
/// Needs `CAP_NET_ADMIN` to put and take (`EPERM` without it).
public struct NetlinkRoutes: RouteAnnouncing {
    /// The `ip netns` name worked in; nil for the calling thread's network namespace.
    public let namespace: String?

    /// Creates a controller for this network namespace, or for the named one (`/var/run/netns/NAME`).
    public init(namespace: String? = nil) {
        self.namespace = namespace
    }

    @discardableResult
    public func announce(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        let what = "announce route \(route)"
        let socket = try RouteSocket(namespace: namespace)
        let entry = try Self.entry(for: route, what, socket)
        defer { rtnl_route_put(entry) }
        do {
            try socket.run(what) { rtnl_route_add(socket.handle, entry, NLM_F_CREATE | NLM_F_EXCL) }
            return true
        } catch {
            guard error.errno == EEXIST else { throw error }
            // A local route for the address is there (an interface address's own): the host has it already, and the
            // kernel's route is not ours to replace.
            if route.kind == .local { return false }
            // One for the prefix is there: make it this one (another device, protocol or scope is replaced).
            try socket.run(what) { rtnl_route_add(socket.handle, entry, NLM_F_CREATE | NLM_F_REPLACE) }
            return false
        }
    }

    @discardableResult
    public func withdraw(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        let what = "withdraw route \(route)"
        let socket = try RouteSocket(namespace: namespace)
        let entry = try Self.entry(for: route, what, socket)
        defer { rtnl_route_put(entry) }
        do {
            try socket.run(what) { rtnl_route_delete(socket.handle, entry, 0) }
            return true
        } catch {
            if error.errno == ESRCH || error.errno == ENOENT { return false }
            throw error
        }
    }

    public func holds(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        let socket = try RouteSocket(namespace: namespace)
        let family = Int32(route.address.family == .inet ? AF_INET : AF_INET6)
        var cache: OpaquePointer?
        try socket.run("list routes") { rtnl_route_alloc_cache(socket.handle, family, 0, &cache) }
        guard let cache else { return false }
        defer { nl_cache_free(cache) }
        let wanted = route.address.networkBytes
        var object = nl_cache_get_first(cache)
        while let current = object {
            if rtnl_route_get_table(current) == route.table, rtnl_route_get_type(current) == Self.type(of: route),
                let dst = rtnl_route_get_dst(current),
                nl_addr_get_prefixlen(dst) == UInt32(route.prefixLength), Int(nl_addr_get_len(dst)) == wanted.count,
                let bytes = nl_addr_get_binary_addr(dst),
                Array(UnsafeRawBufferPointer(start: bytes, count: wanted.count)) == wanted
            {
                return true
            }
            object = nl_cache_get_next(current)
        }
        return false
    }

    /// The route's type: `RTN_UNICAST` or `RTN_LOCAL`.
    private static func type(of route: AnnouncedRoute) -> UInt8 {
        UInt8(route.kind == .local ? RTN_LOCAL : RTN_UNICAST)
    }

    /// A route object for `route` (the caller puts it).
    private static func entry(
        for route: AnnouncedRoute,
        _ what: String,
        _ socket: RouteSocket
    ) throws(HostNetworkError) -> OpaquePointer {
        guard let link = try LinkLookup.lookUp(route.interface, on: socket) else {
            throw HostNetworkError(operation: what, errno: ENODEV, detail: "no interface \(route.interface)")
        }
        guard let entry = rtnl_route_alloc() else {
            throw HostNetworkError(operation: what, detail: "cannot allocate a route object")
        }
        var bytes = route.address.networkBytes
        let family = route.address.family == .inet ? AF_INET : AF_INET6
        guard let dst = nl_addr_build(family, &bytes, bytes.count) else {
            rtnl_route_put(entry)
            throw HostNetworkError(operation: what, detail: "cannot allocate an address")
        }
        defer { nl_addr_put(dst) }
        nl_addr_set_prefixlen(dst, Int32(route.prefixLength))
        rtnl_route_set_family(entry, UInt8(family))
        rtnl_route_set_table(entry, route.table)
        rtnl_route_set_type(entry, Self.type(of: route))
        rtnl_route_set_scope(
            entry,
            UInt8(route.kind == .local ? RT_SCOPE_HOST.rawValue : RT_SCOPE_LINK.rawValue)
        )
        rtnl_route_set_protocol(entry, UInt8(RTPROT_STATIC))
        do {
            try socket.run(what) { rtnl_route_set_dst(entry, dst) }
        } catch {
            rtnl_route_put(entry)
            throw error
        }
        guard let hop = rtnl_route_nh_alloc() else {
            rtnl_route_put(entry)
            throw HostNetworkError(operation: what, detail: "cannot allocate a next hop")
        }
        rtnl_route_nh_set_ifindex(hop, link.index)
        rtnl_route_add_nexthop(entry, hop)  // the route owns it from here
        return entry
    }
}
