import CNetlinkRoute
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's virtual addresses, over rtnetlink (libnl-route-3). Each call opens its own netlink socket, so a
/// value can be shared between tasks. Needs `CAP_NET_ADMIN` to add and remove (`EPERM` without it).
public struct NetlinkAddresses: VirtualAddressControlling {
    /// The `ip netns` name worked in; nil for the calling thread's network namespace.
    public let namespace: String?

    /// Creates a controller for this network namespace, or for the named one (`/var/run/netns/NAME`).
    public init(namespace: String? = nil) {
        self.namespace = namespace
    }

    /// Adds the address with `NLM_F_EXCL` (IPv6 with `IFA_F_NODAD`); `EEXIST` means it was there already.
    @discardableResult
    public func add(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let what = "add address \(address.cidr) to \(address.interface)"
        let socket = try RouteSocket(namespace: namespace)
        let index = try Self.index(of: address, what, socket)
        let entry = try Self.entry(for: address, index: index, what, socket)
        defer { rtnl_addr_put(entry) }
        if address.address.family == .inet6 { rtnl_addr_set_flags(entry, UInt32(IFA_F_NODAD)) }
        do {
            try socket.run(what) { rtnl_addr_add(socket.handle, entry, NLM_F_EXCL) }
        } catch {
            guard error.errno == EEXIST else { throw error }
            if try Self.find(address, index: index, socket) { return false }
            var error = error
            error.detail = "\(address.interface) has \(address.address) with another prefix length"
            throw error
        }
        return true
    }

    /// Deletes the address; `EADDRNOTAVAIL` means it was not there.
    @discardableResult
    public func remove(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let what = "remove address \(address.cidr) from \(address.interface)"
        let socket = try RouteSocket(namespace: namespace)
        let index = try Self.index(of: address, what, socket)
        let entry = try Self.entry(for: address, index: index, what, socket)
        defer { rtnl_addr_put(entry) }
        do {
            try socket.run(what) { rtnl_addr_delete(socket.handle, entry, 0) }
        } catch {
            if error.errno == EADDRNOTAVAIL { return false }
            throw error
        }
        return true
    }

    /// Looks the address up in a dump of the kernel's addresses.
    public func holds(_ address: VirtualAddress) throws(HostNetworkError) -> Bool {
        let socket = try RouteSocket(namespace: namespace)
        let index = try Self.index(of: address, "look up address \(address.cidr) on \(address.interface)", socket)
        return try Self.find(address, index: index, socket)
    }

    /// The interface's index; `ENODEV` when there is no such interface.
    private static func index(
        of address: VirtualAddress,
        _ what: String,
        _ socket: RouteSocket
    ) throws(HostNetworkError) -> Int32 {
        guard let link = try LinkLookup.lookUp(address.interface, on: socket) else {
            throw HostNetworkError(operation: what, errno: ENODEV, detail: "no interface \(address.interface)")
        }
        return link.index
    }

    /// An address object for `address` on interface `index` (the caller puts it).
    private static func entry(
        for address: VirtualAddress,
        index: Int32,
        _ what: String,
        _ socket: RouteSocket
    ) throws(HostNetworkError) -> OpaquePointer {
        guard let entry = rtnl_addr_alloc() else {
            throw HostNetworkError(operation: what, detail: "cannot allocate an address object")
        }
        var bytes = address.address.networkBytes
        let family = address.address.family == .inet ? AF_INET : AF_INET6
        guard let local = nl_addr_build(family, &bytes, bytes.count) else {
            rtnl_addr_put(entry)
            throw HostNetworkError(operation: what, detail: "cannot allocate an address")
        }
        defer { nl_addr_put(local) }
        nl_addr_set_prefixlen(local, Int32(address.prefixLength))
        rtnl_addr_set_ifindex(entry, index)
        do {
            try socket.run(what) { rtnl_addr_set_local(entry, local) }
        } catch {
            rtnl_addr_put(entry)
            throw error
        }
        rtnl_addr_set_prefixlen(entry, Int32(address.prefixLength))
        return entry
    }

    /// Whether the kernel lists `address` (same family, bytes and prefix length) on interface `index`.
    private static func find(
        _ address: VirtualAddress,
        index: Int32,
        _ socket: RouteSocket
    ) throws(HostNetworkError) -> Bool {
        var cache: OpaquePointer?
        try socket.run("list addresses of \(address.interface)") { rtnl_addr_alloc_cache(socket.handle, &cache) }
        guard let cache else { return false }
        defer { nl_cache_free(cache) }
        let family = Int32(address.address.family == .inet ? AF_INET : AF_INET6)
        let wanted = address.address.networkBytes
        var object = nl_cache_get_first(cache)
        while let current = object {
            if rtnl_addr_get_ifindex(current) == index, rtnl_addr_get_family(current) == family,
                rtnl_addr_get_prefixlen(current) == Int32(address.prefixLength),
                let local = rtnl_addr_get_local(current), Int(nl_addr_get_len(local)) == wanted.count,
                let bytes = nl_addr_get_binary_addr(local),
                Array(UnsafeRawBufferPointer(start: bytes, count: wanted.count)) == wanted
            {
                return true
            }
            object = nl_cache_get_next(current)
        }
        return false
    }
}

extension IPAddress {
    /// The address's bytes in network order (4 or 16).
    var networkBytes: [UInt8] {
        switch self {
        case .v4(let a): withUnsafeBytes(of: a.value.bigEndian) { Array($0) }
        case .v6(let a):
            withUnsafeBytes(of: a.high.bigEndian) { Array($0) } + withUnsafeBytes(of: a.low.bigEndian) { Array($0) }
        }
    }
}
