import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `count` free TCP ports on 127.0.0.1, each **kept reserved** for the rest of the process: a socket bound to it with
/// `SO_REUSEADDR` and never listening. Nothing else in the process, nor an outgoing connection's ephemeral port, can
/// take it between now and the moment a test's listener binds it (lvsync's listeners set `SO_REUSEADDR`, which Linux
/// lets share a port with a bound socket that does not listen). A port released and bound again later could have gone
/// to any of the suite's thousands of connections meanwhile, and the listener to fail with `EADDRINUSE`.
public func freePorts(_ count: Int) throws -> [Int] {
    try (0..<count).map { _ in try PortReservations.shared.reserve() }
}

/// Why a port could not be reserved.
public struct PortReservationError: Error, CustomStringConvertible {
    /// What failed, with the errno's text.
    public var description: String
}

/// The reserved ports' sockets, open until the process ends.
final class PortReservations: Sendable {
    static let shared = PortReservations()
    private let descriptors = Mutex<[Int32]>([])

    func reserve() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw PortReservationError(description: "socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound =
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
            && withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PortReservationError(description: "bind 127.0.0.1:0: \(reason)")
        }
        descriptors.withLock { $0.append(fd) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A TCP port on 127.0.0.1 that refuses connections for the rest of the process: reserved like ``freePorts(_:)``
/// and never listened on. A port bound and then released is not that: a parallel test's listener can be handed it.
public func closedPort() throws -> Int {
    try PortReservations.shared.reserve()
}
