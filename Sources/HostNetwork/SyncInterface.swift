import CNetlinkRoute
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// The dedicated interface the kernel sync daemons run on: a `dummy` link that is up, has `IFF_MULTICAST` (a dummy
/// clears it when created) and a /32 IPv4 address (the kernel master binds its sync socket to the interface's first
/// address). A dummy drops every frame, so the master's datagrams never leave the host, yet an `ETH_P_ALL` packet
/// socket sees them (``PacketCapture``). See `research/kernel-ipvs.md` §3.9 and §3.10.
public struct SyncInterface: Hashable, Sendable {
    /// The interface name.
    public var name: String
    /// Its interface index in its network namespace.
    public var index: Int32
    /// What ``ensure(name:address:namespace:)`` had to change; empty when everything was already in place.
    public var changes: Changes

    /// Changes made to bring an interface into shape.
    public struct Changes: OptionSet, Hashable, Sendable {
        public var rawValue: UInt8

        /// Creates a set from its bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The dummy link was created.
        public static let created = Changes(rawValue: 1)
        /// `IFF_UP` or `IFF_MULTICAST` was set.
        public static let flagsSet = Changes(rawValue: 2)
        /// The /32 address was added.
        public static let addressAdded = Changes(rawValue: 4)
    }

    /// Creates a value (``ensure(name:address:namespace:)`` makes the real one).
    public init(name: String, index: Int32, changes: Changes = []) {
        self.name = name
        self.index = index
        self.changes = changes
    }

    /// Makes `name` a usable sync interface over rtnetlink, changing only what is missing: creates a `dummy` link if
    /// there is none by that name, sets `IFF_UP` and `IFF_MULTICAST`, and adds `address`/32 if the link does not
    /// have it. Running it again changes nothing. An existing link of another kind (a veth, a physical NIC) is
    /// refused rather than reconfigured.
    /// - Parameters:
    ///   - name: the interface name (at most 15 bytes).
    ///   - address: the interface's IPv4 address, added with prefix length 32 and universe scope.
    ///   - namespace: an `ip netns` name to work in; nil for this thread's network namespace.
    /// - Returns: the interface, its index and what was changed.
    /// - Throws: ``HostNetworkError`` naming the interface and the step, with the kernel's errno (needs
    ///   `CAP_NET_ADMIN`: `EPERM` without it).
    @discardableResult
    public static func ensure(
        name: String,
        address: IPv4Address,
        namespace: String? = nil
    ) throws(HostNetworkError) -> SyncInterface {
        // IFNAMSIZ (16) with its NUL; no '/', no blanks, as dev_valid_name() requires.
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count < 16, bytes.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "/") }) else {
            throw HostNetworkError(operation: "sync interface '\(name)'", detail: "not a valid interface name")
        }
        let socket = try RouteSocket(namespace: namespace)
        var changes: Changes = []
        var link = try existingLink(name, socket)
        if link == nil {
            try createDummy(name, socket)
            changes.insert(.created)
            link = try existingLink(name, socket)
        }
        guard let link else {
            throw HostNetworkError(operation: "create dummy link \(name)", detail: "created, but not found afterwards")
        }
        defer { rtnl_link_put(link) }

        let kind = rtnl_link_get_type(link).map { String(cString: $0) }
        guard kind == "dummy" else {
            throw HostNetworkError(
                operation: "sync interface \(name)",
                detail: "exists and is \(kind.map { "a \($0) link" } ?? "a device without a link kind (physical?)"), "
                    + "not a dummy: remove it or choose another name"
            )
        }
        let index = rtnl_link_get_ifindex(link)
        let wanted = UInt32(IFF_UP) | UInt32(IFF_MULTICAST)
        if rtnl_link_get_flags(link) & wanted != wanted {
            try setFlags(wanted, on: link, name, socket)
            changes.insert(.flagsSet)
        }
        if try addAddress(address, index: index, name, socket) { changes.insert(.addressAdded) }
        return SyncInterface(name: name, index: index, changes: changes)
    }

    /// The link named `name`, or nil when there is none (`ENODEV`).
    private static func existingLink(_ name: String, _ socket: RouteSocket) throws(HostNetworkError) -> OpaquePointer? {
        var link: OpaquePointer?
        // rtnl_link_get_kernel() handles the kernel's error itself (the socket's callback does not see it): ENODEV
        // comes back as libnl's NLE_NODEV (NLE_OBJ_NOTFOUND in older libnl).
        let result = rtnl_link_get_kernel(socket.handle, 0, name, &link)
        if result == -NLE_NODEV || result == -NLE_OBJ_NOTFOUND { return nil }
        guard result >= 0, let link else {
            throw HostNetworkError(operation: "get link \(name)", detail: String(cString: nl_geterror(result)))
        }
        return link
    }

    private static func createDummy(_ name: String, _ socket: RouteSocket) throws(HostNetworkError) {
        guard let link = rtnl_link_alloc() else {
            throw HostNetworkError(operation: "create dummy link \(name)", detail: "cannot allocate a link object")
        }
        defer { rtnl_link_put(link) }
        rtnl_link_set_name(link, name)
        try socket.run("create dummy link \(name)") { rtnl_link_set_type(link, "dummy") }
        do {
            try socket.run("create dummy link \(name)") {
                rtnl_link_add(socket.handle, link, NLM_F_CREATE | NLM_F_EXCL)
            }
        } catch {
            // Another process created it meanwhile: the checks that follow decide whether it is usable.
            if error.errno == EEXIST { return }
            var error = error
            if error.errno == EOPNOTSUPP { error.detail = "this kernel has no dummy link type (modprobe dummy)" }
            throw error
        }
    }

    private static func setFlags(
        _ flags: UInt32,
        on link: OpaquePointer,
        _ name: String,
        _ socket: RouteSocket
    ) throws(HostNetworkError) {
        guard let changes = rtnl_link_alloc() else {
            throw HostNetworkError(operation: "set \(name) up multicast", detail: "cannot allocate a link object")
        }
        defer { rtnl_link_put(changes) }
        rtnl_link_set_flags(changes, flags)
        try socket.run("set \(name) up multicast") { rtnl_link_change(socket.handle, link, changes, 0) }
    }

    /// Adds `address`/32 to the link; false when the link already had it (`EEXIST`).
    private static func addAddress(
        _ address: IPv4Address,
        index: Int32,
        _ name: String,
        _ socket: RouteSocket
    ) throws(HostNetworkError) -> Bool {
        let what = "add address \(address)/32 to \(name)"
        guard let entry = rtnl_addr_alloc() else {
            throw HostNetworkError(operation: what, detail: "cannot allocate an address object")
        }
        defer { rtnl_addr_put(entry) }
        var bytes = address.value.bigEndian
        guard let local = nl_addr_build(AF_INET, &bytes, 4) else {
            throw HostNetworkError(operation: what, detail: "cannot allocate an address")
        }
        defer { nl_addr_put(local) }
        nl_addr_set_prefixlen(local, 32)
        rtnl_addr_set_ifindex(entry, index)
        try socket.run(what) { rtnl_addr_set_local(entry, local) }
        rtnl_addr_set_prefixlen(entry, 32)
        do {
            try socket.run(what) { rtnl_addr_add(socket.handle, entry, NLM_F_EXCL) }
        } catch {
            if error.errno == EEXIST { return false }
            throw error
        }
        return true
    }
}
