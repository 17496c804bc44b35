import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Tells systemd how the daemon is doing (`sd_notify(3)`, without libsystemd): one datagram per message to the Unix
/// socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). A unit with `Type=notify` waits
/// for `READY=1`; `WatchdogSec=` asks for `WATCHDOG=1` at least every `$WATCHDOG_USEC`. Without `$NOTIFY_SOCKET`
/// (not started by systemd) every message is dropped silently.
public struct SystemdNotifier: Sendable {
    /// The socket's address as `$NOTIFY_SOCKET` gives it; nil when systemd did not ask.
    public let socketPath: String?
    /// How often systemd wants a watchdog ping (`$WATCHDOG_USEC`, for this process per `$WATCHDOG_PID`); nil: never.
    public let watchdogInterval: Duration?

    /// Reads the settings from the environment (systemd's variables, as `sd_notify(3)` and `sd_watchdog_enabled(3)`
    /// read them).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
            environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(Int64(clamping: usec))
        } else {
            watchdogInterval = nil
        }
    }

    /// Whether systemd listens.
    public var isEnabled: Bool { socketPath != nil }

    /// Sends one message, lines of `KEY=VALUE` (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1`).
    /// - Throws: ``DaemonError`` naming the socket when the datagram cannot be sent.
    public func send(_ message: String) throws(DaemonError) {
        guard let path = socketPath else { return }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard (path.hasPrefix("/") || abstract), bytes.count < capacity else {
            throw DaemonError("NOTIFY_SOCKET is not a socket path or an @abstract name: \"\(path)\"")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw DaemonError("cannot open a socket for systemd: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let payload = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, payload, payload.count, Int32(MSG_NOSIGNAL), $0, length)
            }
        }
        guard sent == payload.count else {
            throw DaemonError("cannot notify systemd at \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// `RELOADING=1` with the monotonic time, as `Type=notify-reload` expects it before a reload.
    public func reloading() throws(DaemonError) {
        // CLOCK_MONOTONIC, as systemd reads it (Dispatch's uptime is that clock on Linux; a timespec resolved
        // through CoreFoundation breaks clean builds under MemberImportVisibility).
        let usec = DispatchTime.now().uptimeNanoseconds / 1000
        try send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }
}
