import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay on 127.0.0.1 for tests and benchmarks: what the dialling side sends passes at once, what the
/// listening side sends back is held to `bytesPerSecond` (a slow path or a slow reader, as the sender of a snapshot
/// sees it; nil: unpaced), and can be paused or cut.
public final class ThrottledRelay: Sendable {
    /// Where the relay listens.
    public let port: Int
    private let target: Int
    private let bytesPerSecond: Int?
    private let listener: Int32
    private let descriptors = Mutex<[Int32]>([])
    private let paused = Atomic<Bool>(false)

    /// Whether what the listening side sends is held back altogether (a path that stopped delivering: its writes
    /// fill the buffers, then wait).
    public var isPaused: Bool {
        get { paused.load(ordering: .relaxed) }
        set { paused.store(newValue, ordering: .relaxed) }
    }

    /// A relay to 127.0.0.1:`target` on a free port.
    public init(to target: Int, bytesPerSecond: Int?) throws {
        self.target = target
        self.bytesPerSecond = bytesPerSecond
        port = try freePorts(1)[0]
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = Self.withLoopback(port) { [listener] in bind(listener, $0, $1) == 0 }
        guard bound, listen(listener, 8) == 0 else {
            close(listener)
            throw RelayError(description: "relay on port \(port): \(String(cString: strerror(errno)))")
        }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Closes the listener and every relayed connection.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        cut()
    }

    /// Ends every connection relayed now (both sides see it close, as after a reset); the relay takes new ones.
    public func cut() {
        for fd in descriptors.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit {
        close(listener)
        for fd in descriptors.withLock({ $0 }) { close(fd) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            // A small receive buffer: the listening side's writes wait for the pace, not for megabytes of buffers.
            var small: Int32 = 65536
            setsockopt(server, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            guard Self.withLoopback(target, { connect(server, $0, $1) == 0 }) else {
                close(server)
                close(client)
                continue
            }
            descriptors.withLock { $0 += [client, server] }
            let rate = bytesPerSecond
            // The second copy to end closes both sockets.
            let ended = Ended()
            let finish: @Sendable () -> Void = { [self] in
                guard ended.count.add(1, ordering: .acquiringAndReleasing).newValue == 2 else { return }
                descriptors.withLock { $0.removeAll { $0 == client || $0 == server } }
                close(client)
                close(server)
            }
            Thread.detachNewThread { [self] in
                copy(from: client, to: server, bytesPerSecond: nil)
                finish()
            }
            Thread.detachNewThread { [self] in
                copy(from: server, to: client, bytesPerSecond: rate)
                finish()
            }
        }
    }

    /// Copies until either side ends, then shuts both down; with a rate, in pieces paced to it (and held while
    /// paused).
    private func copy(from source: Int32, to destination: Int32, bytesPerSecond: Int?) {
        let piece = bytesPerSecond.map { max(1024, $0 / 50) } ?? 65536
        var buffer = [UInt8](repeating: 0, count: piece)
        let started = Date()
        var total = 0
        defer {
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(destination, Int32(SHUT_RDWR))
        }
        var pausedFor = 0.0
        while true {
            while bytesPerSecond != nil, isPaused {
                Thread.sleep(forTimeInterval: 0.01)
                pausedFor += 0.01
            }
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, piece) }
            guard count > 0 else { return }
            var written = 0
            while written < count {
                // MSG_NOSIGNAL: a peer gone (a cut) is an error here, not a SIGPIPE for the whole process.
                let n = buffer.withUnsafeBytes {
                    send(destination, $0.baseAddress! + written, count - written, Int32(MSG_NOSIGNAL))
                }
                guard n > 0 else { return }
                written += n
            }
            total += count
            if let bytesPerSecond {
                let due = Double(total) / Double(bytesPerSecond) - Date().timeIntervalSince(started) + pausedFor
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
        }
    }

    /// `body` with 127.0.0.1:`port` as a socket address and its length.
    private static func withLoopback(_ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// How many of a connection's two copies ended.
private final class Ended: Sendable {
    let count = Atomic<Int>(0)
}

/// Why the relay could not listen.
public struct RelayError: Error, CustomStringConvertible {
    public var description: String
}
