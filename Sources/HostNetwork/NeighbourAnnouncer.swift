import CHostNetwork
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// Announces virtual addresses that moved to this host, in the calling thread's network namespace (needs
/// `CAP_NET_RAW`): for IPv4 a gratuitous ARP request (an `AF_PACKET` frame to the Ethernet broadcast, sender =
/// target = the address, sender MAC = the interface's), for IPv6 an unsolicited Neighbour Advertisement (a raw
/// ICMPv6 socket bound to the interface, to ff02::1, hop limit 255, Override flag, Target Link-Layer Address
/// option with the interface's MAC). Neighbours that cache the address switch to this host's MAC.
public struct NeighbourAnnouncer: NeighbourAnnouncing {
    /// Creates an announcer.
    public init() {}

    /// Sends one gratuitous ARP or unsolicited NA per address (see ``NeighbourAnnouncing/announceOnce(_:)``).
    public func announceOnce(_ addresses: [VirtualAddress]) throws(HostNetworkError) -> [Announcement] {
        let socket = try RouteSocket(namespace: nil)
        var links: [String: LinkLookup?] = [:]
        var sent: [Announcement] = []
        var firstError: HostNetworkError?
        for address in addresses {
            do {
                let link: LinkLookup?
                if let known = links[address.interface] {
                    link = known
                } else {
                    link = try LinkLookup.lookUp(address.interface, on: socket)
                    links[address.interface] = link
                }
                sent.append(try Self.send(address, link))
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return sent
    }

    private static func send(_ address: VirtualAddress, _ link: LinkLookup?) throws(HostNetworkError) -> Announcement {
        let what = "announce \(address.address) on \(address.interface)"
        guard let link else {
            throw HostNetworkError(operation: what, errno: ENODEV, detail: "no interface \(address.interface)")
        }
        guard let mac = link.hardwareAddress else {
            throw HostNetworkError(operation: what, detail: "\(address.interface) has no Ethernet address")
        }
        switch address.address {
        case .v4(let ip):
            try sendFrame(AnnouncementPackets.gratuitousARP(ip, from: mac), index: link.index, what)
            return Announcement(address: address, hardwareAddress: mac, kind: .gratuitousARP)
        case .v6(let ip):
            let message = AnnouncementPackets.unsolicitedNeighbourAdvertisement(ip, from: mac)
            try sendICMPv6(message, interface: address.interface, index: link.index, what)
            return Announcement(address: address, hardwareAddress: mac, kind: .unsolicitedNeighbourAdvertisement)
        }
    }

    /// Sends a whole Ethernet frame out of interface `index`.
    private static func sendFrame(_ frame: [UInt8], index: Int32, _ what: String) throws(HostNetworkError) {
        // Protocol 0: the socket receives nothing; it only sends.
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HostNetworkError(operation: "\(what): socket(AF_PACKET)", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = AnnouncementPackets.etherTypeARP.bigEndian
        address.sll_ifindex = index
        address.sll_halen = 6
        address.sll_addr = (0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0)
        let sent = frame.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                }
            }
        }
        guard sent == frame.count else {
            throw HostNetworkError(operation: "\(what): sendto(AF_PACKET)", errno: sent < 0 ? errno : nil)
        }
    }

    /// Sends an ICMPv6 message to ff02::1 out of the interface, hop limit 255.
    private static func sendICMPv6(
        _ message: [UInt8],
        interface: String,
        index: Int32,
        _ what: String
    ) throws(HostNetworkError) {
        let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { throw HostNetworkError(operation: "\(what): socket(ICMPv6)", errno: errno) }
        defer { close(fd) }
        let bound = interface.withCString { name in
            setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
        }
        guard bound == 0 else {
            throw HostNetworkError(operation: "\(what): setsockopt(SO_BINDTODEVICE)", errno: errno)
        }
        var hops: Int32 = 255
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw HostNetworkError(operation: "\(what): setsockopt(IPV6_MULTICAST_HOPS)", errno: errno) }
        var outgoing = index
        guard
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &outgoing, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw HostNetworkError(operation: "\(what): setsockopt(IPV6_MULTICAST_IF)", errno: errno) }
        var destination = sockaddr_in6()
        destination.sin6_family = sa_family_t(AF_INET6)
        destination.sin6_scope_id = UInt32(index)
        withUnsafeMutableBytes(of: &destination.sin6_addr) { bytes in
            bytes.copyBytes(from: IPAddress.v6(IPv6Address(groups: [0xff02, 0, 0, 0, 0, 0, 0, 1])).networkBytes)
        }
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard sent == message.count else {
            let code = sent < 0 ? errno : nil
            let detail =
                code == EADDRNOTAVAIL
                ? "\(interface) has no usable IPv6 source address yet (its link-local still tentative?)" : nil
            throw HostNetworkError(operation: "\(what): sendto(ff02::1)", errno: code, detail: detail)
        }
    }
}
