import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A client of FRR's daemons over their vty sockets (`/var/run/frr/bgpd.vty`, `bfdd.vty`), the protocol `vtysh`
/// speaks: a command is sent NUL-terminated, and the daemon's answer ends with three NUL bytes and a status byte (0:
/// done). `enable` is sent first, as vtysh does. Read-only use: lvsync only asks for `show` output. Blocking, with a
/// deadline on every read and write: call it from a thread of its own.
public struct FRRVty: Sendable {
    /// The directory of the daemons' vty sockets (Debian: `/var/run/frr`).
    public var directory: String
    /// How long a connection, a write or a read may take.
    public var timeout: Duration

    /// A client of the daemons whose sockets are in `directory`.
    public init(directory: String, timeout: Duration = .seconds(1)) {
        self.directory = directory
        self.timeout = timeout
    }

    /// The largest answer read (a `show` of a few sessions is a few kilobytes).
    static let maximumAnswer = 4 << 20

    /// Runs `command` on `daemon` (`bgpd`, `bfdd`, `zebra`) and returns its output.
    /// - Throws: ``DaemonError`` naming the socket and what failed (no such socket, refused, timed out, an error
    ///   status with the daemon's words).
    public func run(_ command: String, on daemon: String) throws(DaemonError) -> String {
        let path = "\(directory)/\(daemon).vty"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.error(path, "socket", errno) }
        defer { close(fd) }
        var limit = timeval(
            tv_sec: Int(timeout.components.seconds),
            tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000)
        )
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw DaemonError("FRR's \(daemon) vty \(path): the path is too long for a socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { throw Self.error(path, "connect", errno) }
        _ = try exchange(fd, "enable", path)
        return try exchange(fd, command, path)
    }

    /// Sends one command and reads its answer up to the end marker.
    private func exchange(_ fd: Int32, _ command: String, _ path: String) throws(DaemonError) -> String {
        var line = Array(command.utf8)
        line.append(0)
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Self.error(path, "send", errno) }
            sent += n
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw Self.error(path, "read the answer to '\(command)'", errno) }
            if n == 0 { throw DaemonError("FRR's vty \(path) closed before it answered '\(command)'") }
            answer.append(contentsOf: chunk[..<n])
            guard answer.count <= Self.maximumAnswer else {
                throw DaemonError("FRR's vty \(path): the answer to '\(command)' is over \(Self.maximumAnswer) bytes")
            }
            if answer.count >= 4, answer[answer.count - 4] == 0, answer[answer.count - 3] == 0,
                answer[answer.count - 2] == 0
            {
                let status = answer[answer.count - 1]
                let text = String(decoding: answer[..<(answer.count - 4)], as: UTF8.self)
                guard status == 0 else {
                    let words = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    throw DaemonError("FRR's vty \(path) refused '\(command)' (status \(status)): \(words)")
                }
                return text
            }
        }
    }

    private static func error(_ path: String, _ what: String, _ code: Int32) -> DaemonError {
        let reason = code == EAGAIN || code == EWOULDBLOCK ? "timed out" : String(cString: strerror(code))
        return DaemonError("FRR's vty \(path): \(what): \(reason) (errno \(code))")
    }
}
