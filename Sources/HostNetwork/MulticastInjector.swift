import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// Hands sync messages to the kernel's *backup* sync thread on this host, the way the standby side of lvsync feeds
/// its kernel: a UDP datagram to the sync group and port, sent out of the backup's interface with multicast
/// loopback on and TTL 0, so the kernel delivers the looped copy to its backup socket and nothing leaves the host.
///
/// The backup thread must be running on `interface` (it joins the group there; without that join the kernel does
/// not loop the datagram back). See `research/kernel-ipvs.md` §3.10.
public final class MulticastInjector: Sendable {
    /// The interface the kernel backup thread runs on.
    public let interface: String
    /// The group and port the datagrams are sent to (the kernel's default: 224.0.0.81:8848).
    public let destination: Endpoint
    private let descriptor: Int32

    /// Opens the sending socket.
    /// - Throws: ``HostNetworkError`` when the interface does not exist or a socket option is refused.
    public init(interface: String, group: IPAddress = .v4(IPv4Address(224, 0, 0, 81)), port: UInt16 = 8848) throws {
        self.interface = interface
        self.destination = Endpoint(group, port)
        let index = if_nametoindex(interface)
        guard index != 0 else {
            throw HostNetworkError(operation: "if_nametoindex(\(interface))", errno: Glibc.errno)
        }
        let family = group.family == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_UDP))
        guard fd >= 0 else { throw HostNetworkError(operation: "socket(UDP)", errno: Glibc.errno) }
        do {
            if group.family == .inet {
                var request = ip_mreqn()
                request.imr_ifindex = Int32(index)
                try Self.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &request, "IP_MULTICAST_IF on \(interface)")
                var loop: UInt8 = 1
                try Self.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, &loop, "IP_MULTICAST_LOOP")
                var ttl: UInt8 = 0
                try Self.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, &ttl, "IP_MULTICAST_TTL")
            } else {
                var ifindex = Int32(index)
                try Self.set(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &ifindex, "IPV6_MULTICAST_IF on \(interface)")
                var loop: Int32 = 1
                try Self.set(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_LOOP, &loop, "IPV6_MULTICAST_LOOP")
                var hops: Int32 = 0
                try Self.set(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, "IPV6_MULTICAST_HOPS")
            }
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Sends one encoded sync message.
    /// - Parameter port: a port other than the base port, for a kernel running several sync threads
    ///   (`sync_ports` > 1, thread *n* listens on base + *n*).
    public func send(_ message: [UInt8], port: UInt16? = nil) throws(HostNetworkError) {
        let sent = message.withUnsafeBytes { bytes in
            Result { () throws(HostNetworkError) in try send(bytes, port: port) }
        }
        try sent.get()
    }

    /// Sends one encoded sync message from memory the caller owns (the relay's hot path: no copy, no allocation).
    /// - Parameter port: a port other than the base port, for a kernel running several sync threads
    ///   (`sync_ports` > 1, thread *n* listens on base + *n*).
    public func send(_ message: UnsafeRawBufferPointer, port: UInt16? = nil) throws(HostNetworkError) {
        let target = Endpoint(destination.address, port ?? destination.port)
        let sent: Int = withSocketAddress(target) { address, length in
            sendto(descriptor, message.baseAddress, message.count, Int32(MSG_NOSIGNAL), address, length)
        }
        guard sent == message.count else {
            throw HostNetworkError(operation: "sendto(\(target)) on \(interface)", errno: sent < 0 ? Glibc.errno : nil)
        }
    }

    private static func set<T: BitwiseCopyable>(
        _ fd: Int32,
        _ level: Int32,
        _ option: Int32,
        _ value: inout T,
        _ what: String
    ) throws(HostNetworkError) {
        let result = withUnsafeBytes(of: &value) { setsockopt(fd, level, option, $0.baseAddress, socklen_t($0.count)) }
        guard result == 0 else {
            throw HostNetworkError(operation: "setsockopt(\(what))", errno: Glibc.errno)
        }
    }
}

/// Calls `body` with a `sockaddr_in` or `sockaddr_in6` for the endpoint.
func withSocketAddress<R>(_ endpoint: Endpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    switch endpoint.address {
    case .v4(let a):
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        address.sin_addr.s_addr = a.value.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    case .v6(let a):
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = endpoint.port.bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
            bytes.storeBytes(of: a.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: a.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }
}
