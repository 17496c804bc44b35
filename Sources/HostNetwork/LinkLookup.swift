import CNetlinkRoute

#if canImport(Glibc)
    import Glibc
#endif

/// What rtnetlink says about one link, read by name (``lookUp(_:on:)``).
struct LinkLookup {
    /// The interface index.
    var index: Int32
    /// `ifi_flags`: `IFF_UP`, `IFF_RUNNING`, `IFF_LOWER_UP` and the rest.
    var flags: UInt32
    /// The link-layer address, nil when it is not a 6-byte (Ethernet-like) one.
    var hardwareAddress: MACAddress?

    /// `IFF_LOWER_UP` (<linux/if.h>; glibc's <net/if.h> does not define it): the driver reports a carrier.
    static let lowerUp: UInt32 = 0x1_0000

    /// The link named `name`, or nil when there is none.
    static func lookUp(_ name: String, on socket: RouteSocket) throws(HostNetworkError) -> LinkLookup? {
        guard isValidInterfaceName(name) else {
            throw HostNetworkError(operation: "look up interface '\(name)'", detail: "not a valid interface name")
        }
        var link: OpaquePointer?
        // rtnl_link_get_kernel() handles the kernel's error itself: ENODEV comes back as NLE_NODEV (NLE_OBJ_NOTFOUND
        // in older libnl).
        let result = rtnl_link_get_kernel(socket.handle, 0, name, &link)
        if result == -NLE_NODEV || result == -NLE_OBJ_NOTFOUND { return nil }
        guard result >= 0, let link else {
            throw HostNetworkError(operation: "look up interface \(name)", detail: String(cString: nl_geterror(result)))
        }
        defer { rtnl_link_put(link) }
        var hardware: MACAddress?
        if let address = rtnl_link_get_addr(link), nl_addr_get_len(address) == 6,
            let bytes = nl_addr_get_binary_addr(address)
        {
            let raw = UnsafeRawBufferPointer(start: bytes, count: 6)
            hardware = MACAddress(bytes: Array(raw))
        }
        return LinkLookup(
            index: rtnl_link_get_ifindex(link),
            flags: rtnl_link_get_flags(link),
            hardwareAddress: hardware
        )
    }

    /// Whether the kernel would take `name` as an interface name: 1 to 15 bytes (IFNAMSIZ with its NUL), no blank,
    /// no `/`.
    static func isValidInterfaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return !bytes.isEmpty && bytes.count < 16 && bytes.allSatisfy { $0 > 0x20 && $0 != UInt8(ascii: "/") }
    }
}
