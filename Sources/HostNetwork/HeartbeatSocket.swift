import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// The election's UDP heartbeat socket: non-blocking, bound to one local address, its datagrams marked as network
/// control traffic (DSCP CS6, as VRRP's and BFD's are) so that a switch that queues by class lets them pass a
/// saturated link first. Read and written by one thread, the election's (``wait(readable:wakeup:timeout:)``).
public final class HeartbeatSocket: Sendable {
    /// The address bound.
    public let listen: Endpoint
    /// The descriptor, for ``wait(readable:wakeup:timeout:)``.
    public let descriptor: Int32

    /// Binds a UDP socket to `listen`.
    public init(listen: Endpoint) throws(HostNetworkError) {
        self.listen = listen
        let family = listen.address.family == .inet ? AF_INET : AF_INET6
        let fd = socket(
            family,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { throw HostNetworkError(operation: "socket(UDP) for \(listen)", errno: Glibc.errno) }
        var one: Int32 = 1
        var classSelector: Int32 = 0xC0  // CS6
        let length = socklen_t(MemoryLayout<Int32>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, length)
        if family == AF_INET {
            _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &classSelector, length)
        } else {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_TCLASS, &classSelector, length)
        }
        let bound = withSocketAddress(listen) { address, size in bind(fd, address, size) }
        guard bound == 0 else {
            let error = Glibc.errno
            close(fd)
            throw HostNetworkError(operation: "bind(UDP \(listen))", errno: error)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Sends `bytes` to `destination`; the errno when the kernel refused (a heartbeat is not retried: the next one
    /// follows within an interval).
    public func send(_ bytes: [UInt8], to destination: Endpoint) -> Int32? {
        let sent = bytes.withUnsafeBytes { buffer in
            withSocketAddress(destination) { address, size in
                sendto(descriptor, buffer.baseAddress, buffer.count, 0, address, size)
            }
        }
        return sent < 0 ? Glibc.errno : nil
    }

    /// The next datagram waiting and where it came from; nil when none is (the socket never blocks).
    public func receive() -> (bytes: [UInt8], source: Endpoint)? {
        var storage = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, bytes.baseAddress, bytes.count, 0, $0, &size)
                }
            }
        }
        guard count >= 0 else { return nil }
        guard let source = Self.endpoint(storage) else { return ([], Endpoint(.v4(IPv4Address(0)), 0)) }
        return (Array(buffer[0..<count]), source)
    }

    static func endpoint(_ storage: sockaddr_storage) -> Endpoint? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    Endpoint(
                        .v4(IPv4Address(UInt32(bigEndian: address.pointee.sin_addr.s_addr))),
                        UInt16(bigEndian: address.pointee.sin_port)
                    )
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var in6 = address.pointee.sin6_addr
                    let (high, low) = withUnsafeBytes(of: &in6) {
                        (
                            UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                            UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                        )
                    }
                    return Endpoint(
                        .v6(IPv6Address(high: high, low: low)),
                        UInt16(bigEndian: address.pointee.sin6_port)
                    )
                }
            }
        default:
            return nil
        }
    }
}

/// Wakes a thread blocked in ``wait(readable:wakeup:timeout:)`` from any other thread: a non-blocking pipe.
public final class Wakeup: Sendable {
    let readEnd: Int32
    let writeEnd: Int32

    /// Creates the pipe.
    public init() throws(HostNetworkError) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw HostNetworkError(operation: "pipe", errno: Glibc.errno) }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        (readEnd, writeEnd) = (ends[0], ends[1])
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Makes the next (or current) wait return.
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe (call after a wait returned).
    public func clear() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &bytes, bytes.count) > 0 {}
    }
}

/// Blocks until one of `sockets` is readable, `wakeup` is signalled, or `timeout` passes (rounded up to the
/// millisecond); returns which sockets are readable. An interrupted wait returns at once with none.
public func wait(readable sockets: [HeartbeatSocket], wakeup: Wakeup, timeout: Duration) -> [Bool] {
    var fds = [pollfd(fd: wakeup.readEnd, events: Int16(POLLIN), revents: 0)]
    fds += sockets.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
    let nanoseconds = max(
        0,
        timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
    )
    let milliseconds = Int32(clamping: (nanoseconds + 999_999) / 1_000_000)
    let ready = poll(&fds, nfds_t(fds.count), milliseconds)
    guard ready > 0 else { return sockets.map { _ in false } }
    return fds.dropFirst().map { $0.revents & Int16(POLLIN) != 0 }
}
