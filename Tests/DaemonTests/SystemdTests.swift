import Control
import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import ServiceLifecycle
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A Unix datagram socket standing in for systemd's notification socket: a path, or an abstract name (`@…`).
final class FakeNotifySocket: @unchecked Sendable {
    let fd: Int32
    let name: String

    init(abstract: Bool = false) throws {
        let unique = "lvsync-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        name = abstract ? "@\(unique)" : NSTemporaryDirectory() + unique + ".sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram (nil after 10 s).
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Datagrams until one contains `needle` (at most `limit` of them).
    func receive(until needle: String, limit: Int = 100) -> [String] {
        var seen: [String] = []
        while seen.count < limit, let message = receive() {
            seen.append(message)
            if message.contains(needle) { break }
        }
        return seen
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

/// Runs until the group shuts down gracefully.
struct Idle: Service {
    func run() async throws { try? await gracefulShutdown() }
}

@Suite("systemd notification (a real NOTIFY_SOCKET)")
struct SystemdTests {
    let logger = Logger(label: "systemd-test")

    @Test("the environment: NOTIFY_SOCKET, WATCHDOG_USEC for this process or another")
    func environment() {
        #expect(SystemdNotifier(environment: [:]).isEnabled == false)
        #expect(SystemdNotifier(environment: [:]).watchdogInterval == nil)
        let mine = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "\(getpid())",
        ])
        #expect(mine.isEnabled)
        #expect(mine.watchdogInterval == .seconds(3))
        let other = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1",
        ])
        #expect(other.watchdogInterval == nil)
    }

    @Test("datagrams reach a socket named by path and by abstract name; a bad name is an error that says so")
    func send() throws {
        for abstract in [false, true] {
            let socket = try FakeNotifySocket(abstract: abstract)
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name]).send("STATUS=hello")
            #expect(socket.receive() == "STATUS=hello")
        }
        #expect {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).send("READY=1")
        } throws: { error in
            "\(error)".contains("NOTIFY_SOCKET is not a socket path")
        }
        // Not started by systemd: nothing to do, no error.
        try SystemdNotifier(environment: [:]).send("READY=1")
    }

    @Test(
        "without NOTIFY_SOCKET the service runs quietly until the shutdown (a service that ended would stop the daemon)"
    )
    func quiet() async throws {
        let systemd = SystemdService(
            notifier: SystemdNotifier(environment: [:]),
            isReady: { true },
            status: { "" },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [systemd, Idle()], logger: logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            // The group ends cleanly: had the service ended by itself, run() would have thrown.
            try await tasks.waitForAll()
        }
    }

    @Test("the service: READY=1 only once ready, with a status; watchdog pings; STOPPING=1 at the shutdown")
    func service() async throws {
        let socket = try FakeNotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name, "WATCHDOG_USEC": "200000"])
        let ready = FiguresBox()
        let systemd = SystemdService(
            notifier: notifier,
            isReady: { ready.value["ready"]?.boolValue == true },
            status: { "standby, peers linked: dira" },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [systemd, Idle()], logger: logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Not ready yet: watchdog pings only.
            let early = try await offPool { socket.receive(until: "WATCHDOG=1") }
            #expect(early.last == "WATCHDOG=1")
            #expect(!early.contains { $0.contains("READY=1") })
            ready.value = ["ready": true]
            let untilReady = try await offPool { socket.receive(until: "READY=1") }
            #expect(untilReady.last == "READY=1\nSTATUS=standby, peers linked: dira")
            #expect(try await offPool { socket.receive(until: "WATCHDOG=1") }.last == "WATCHDOG=1")
            await group.triggerGracefulShutdown()
            #expect(try await offPool { socket.receive(until: "STOPPING=1") }.last == "STOPPING=1")
            try await tasks.waitForAll()
        }
    }
}
