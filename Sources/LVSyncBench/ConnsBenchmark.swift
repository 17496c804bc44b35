import Control
import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import Mirror

/// `lvsync conns` at scale, in one process: a mirror of `connections` synthetic connections, a control socket
/// answering `conns` as the daemon does (``ConnsReply``), and a client that reads every object and keeps none.
/// Measures the time and the growth of the process's resident memory while the reply streams.
struct ConnsBenchmark {
    let connections: Int

    struct Result {
        var connections: Int
        var objects: Int
        var seconds: Double
        /// Resident memory after the table is built, before the request.
        var residentBeforeBytes: Int
        /// The peak resident memory during the request (the high-water mark reset before it, where the kernel can).
        var residentPeakBytes: Int
        var largestBatch: Int
    }

    func run() async throws -> Result {
        var table = MirrorTable(minimumCapacity: connections)
        var generator = SyntheticConnections()
        for n in 0..<connections { table.upsert(generator.connection(n), now: MirrorTime(seconds: 0)) }
        let source = SyncSource(syncID: 1, table: table)
        table = MirrorTable()
        let largest = LargestBatch()
        let directory = NSTemporaryDirectory() + "lvsync-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ControlServer.bind(
            path: directory + "/lvsync.sock",
            responder: Responder(source: source, largest: largest),
            logger: Logger(label: "lvsync-bench")
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let before = Memory.resident()
            Memory.resetPeak()
            let start = ContinuousClock.now
            let objects = try await ControlClient.withReply(
                to: ControlRequest(command: "conns"),
                socketPath: server.path
            ) { reply in
                var count = 0
                for try await _ in reply { count += 1 }
                return count
            }
            let elapsed = ContinuousClock.now - start
            return Result(
                connections: source.table.count,
                objects: objects,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                residentBeforeBytes: before,
                residentPeakBytes: Memory.peak(),
                largestBatch: largest.value
            )
        }
    }

    final class LargestBatch: @unchecked Sendable {
        private let lock = NSLock()
        private var largest = 0
        var value: Int { lock.withLock { largest } }
        func record(_ count: Int) { lock.withLock { largest = max(largest, count) } }
    }

    struct Responder: ControlResponder {
        let source: SyncSource
        let largest: LargestBatch

        func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
            let outcome = try await ConnsReply(arguments: request.arguments).stream(
                from: { source.connections(from: $0, limit: $1) },
                to: { try await writer.write(contentsOf: $0) }
            )
            largest.record(outcome.largestBatch)
        }
    }

    /// The process's resident memory, from `/proc/self/status`.
    enum Memory {
        static func field(_ name: String) -> Int {
            guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
                return (Int(digits) ?? 0) * 1024
            }
            return 0
        }

        static func resident() -> Int { field("VmRSS") }
        static func peak() -> Int { field("VmHWM") }

        /// Resets the high-water mark to the resident memory now (`5` to `/proc/self/clear_refs`).
        static func resetPeak() {
            if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
                handle.write(Data("5".utf8))
                try? handle.close()
            }
        }
    }
}
