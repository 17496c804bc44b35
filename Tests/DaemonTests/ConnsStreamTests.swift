import Control
import Daemon
import Foundation
import LVSyncTestSupport
import Logging
import Mirror
import SyncWire
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lvsync conns` over a real control socket, against a mirror of 200 000 connections: every connection arrives,
/// the filters hold, the daemon never holds more than a batch, and a client that goes away stops the reading.
@Suite("conns streams the mirror table in bounded batches", .timeLimit(.minutes(5)))
struct ConnsStreamTests {
    static let size = 200_000
    static let batchSize = ConnsReply.defaultBatchSize

    /// A source whose table holds `size` synthetic connections (IPv4 TCP and UDP, templates, IPv6).
    static let source: SyncSource = {
        var table = MirrorTable(minimumCapacity: size)
        var generator = SyntheticConnections(seed: 0xc0ff_ee)
        for n in 0..<size { table.upsert(generator.connection(n), now: MirrorTime(seconds: 0)) }
        return SyncSource(syncID: 1, table: table)
    }()

    /// What the daemon's reader and writer did for one request.
    final class Probe: Sendable {
        private struct State {
            var furthestRead = 0
            var furthestReadAtFirstWrite: Int?
            var outcome: ConnsReply.Outcome?
            var failed = false
        }
        private let state = Mutex(State())
        let finished: AsyncStream<Void>
        private let finish: AsyncStream<Void>.Continuation

        init() {
            let (stream, continuation) = AsyncStream<Void>.makeStream()
            finished = stream
            finish = continuation
        }

        var furthestRead: Int { state.withLock { $0.furthestRead } }
        var furthestReadAtFirstWrite: Int? { state.withLock { $0.furthestReadAtFirstWrite } }
        var outcome: ConnsReply.Outcome? { state.withLock { $0.outcome } }
        var failed: Bool { state.withLock { $0.failed } }

        /// `DirectorControl`'s reply to `conns`, instrumented: the reader records how far it has read, the writer
        /// how far the reader had gone when the first batch went out.
        func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
            defer { finish.yield() }
            let reply = try ConnsReply(arguments: request.arguments)
            let source = ConnsStreamTests.source
            do {
                let outcome = try await reply.stream(
                    from: { start, limit in
                        let part = source.connections(from: start, limit: limit)
                        self.state.withLock { $0.furthestRead = part.next ?? Int.max }
                        return part
                    },
                    to: { batch in
                        self.state.withLock {
                            $0.furthestReadAtFirstWrite = $0.furthestReadAtFirstWrite ?? $0.furthestRead
                        }
                        try await writer.write(contentsOf: batch)
                    }
                )
                state.withLock { $0.outcome = outcome }
            } catch {
                state.withLock { $0.failed = true }
                throw error
            }
        }
    }

    struct ProbeResponder: ControlResponder {
        let probe: Probe
        func respond(to request: ControlRequest, writer: ControlReplyWriter) async throws {
            try await probe.respond(to: request, writer: writer)
        }
    }

    /// Runs a control server answering with `probe` around `body`.
    func withServer<Result: Sendable>(
        _ probe: Probe,
        _ body: @Sendable (String) async throws -> Result
    ) async throws -> Result {
        var template = Array("/tmp/lvsync-conns-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ControlServer.bind(
            path: directory + "/lvsync.sock",
            responder: ProbeResponder(probe: probe),
            logger: Logger(label: "conns-tests")
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            return try await body(server.path)
        }
    }

    /// The live connections as `conns` lists them: `PROTO client virtual template`, for comparing whole replies.
    static func expected(_ keep: (SyncConnection) -> Bool) -> [String] {
        var rows: [String] = []
        _ = source.table.forEachConnection(from: 0, limit: Int.max / 2, now: MirrorTime(seconds: 0)) { connection, _ in
            if keep(connection) {
                rows.append(
                    "\(connection.ipProtocol) \(connection.client) \(connection.virtual) \(connection.isTemplate)"
                )
            }
        }
        return rows
    }

    static func key(_ object: JSONValue) -> String {
        let proto = object["protocol"]?.stringValue?.uppercased() ?? "?"
        let client = object["client"]?.stringValue ?? "?"
        let virtual = object["virtual"]?.stringValue ?? "?"
        return "\(proto) \(client) \(virtual) \(object["template"]?.boolValue ?? false)"
    }

    @Test("every connection arrives, in table order, with no batch larger than the batch size, read lazily")
    func everyConnection() async throws {
        let probe = Probe()
        let objects = try await withServer(probe) { path in
            try await ControlClient.objects(of: ControlRequest(command: "conns"), socketPath: path)
        }
        for await _ in probe.finished { break }
        let expected = Self.expected { _ in true }
        #expect(expected.count > Self.size * 9 / 10)
        #expect(objects.count == expected.count)
        #expect(objects.map(Self.key) == expected)
        #expect(objects.first?["expires_seconds"]?.integerValue ?? 0 > 0)
        let outcome = try #require(probe.outcome)
        #expect(outcome.written == expected.count)
        // The bound: the daemon never held more than one batch of objects...
        #expect(outcome.largestBatch == Self.batchSize)
        #expect(outcome.batches == (expected.count + Self.batchSize - 1) / Self.batchSize)
        // ...and had read two parts of the table at most when the first batch went out.
        let atFirstWrite = try #require(probe.furthestReadAtFirstWrite)
        #expect(atFirstWrite <= 2 * Self.batchSize)
    }

    @Test("the vip and service filters keep only their connections")
    func filtered() async throws {
        let vip = IPAddress("10.0.0.100")
        let cases: [([String: JSONValue], (SyncConnection) -> Bool)] = [
            (["vip": "10.0.0.100"], { $0.virtual.address == vip }),
            (
                ["service": "udp:10.0.0.100:53"],
                { $0.ipProtocol == .udp && $0.virtual.address == vip && $0.virtual.port == 53 }
            ),
            (
                ["service": "TCP:10.0.0.100:80"],
                { $0.ipProtocol == .tcp && $0.virtual.address == vip && $0.virtual.port == 80 }
            ),
            (["vip": "10.9.9.9"], { _ in false }),
        ]
        for (arguments, keep) in cases {
            let probe = Probe()
            let objects = try await withServer(probe) { path in
                try await ControlClient.objects(
                    of: ControlRequest(command: "conns", arguments: arguments),
                    socketPath: path
                )
            }
            for await _ in probe.finished { break }
            let expected = Self.expected(keep)
            #expect(objects.map(Self.key) == expected, "\(arguments)")
            #expect(try #require(probe.outcome).largestBatch <= Self.batchSize)
        }
    }

    @Test("a bad vip is refused")
    func badVIP() async throws {
        let probe = Probe()
        await #expect(throws: ControlError.self) {
            try await withServer(probe) { path in
                try await ControlClient.objects(
                    of: ControlRequest(command: "conns", arguments: ["vip": "not-an-address"]),
                    socketPath: path
                )
            }
        }
    }

    @Test("a client that goes away after the first objects stops the daemon's reading")
    func clientGoesAway() async throws {
        let probe = Probe()
        let first = try await withServer(probe) { path in
            let first = try await ControlClient.withReply(to: ControlRequest(command: "conns"), socketPath: path) {
                reply in
                var iterator = reply.makeAsyncIterator()
                return try await iterator.next()
            }
            // The connection is closed: the daemon's next write fails and its reading stops.
            for await _ in probe.finished { break }
            return first
        }
        #expect(first != nil)
        #expect(probe.failed)
        #expect(probe.outcome == nil)
        // It read a small part of the table (what the socket's buffers held), not the table.
        #expect(probe.furthestRead < Self.size / 4, "read up to \(probe.furthestRead) of \(Self.size)")
    }
}
