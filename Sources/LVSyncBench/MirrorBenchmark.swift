import Mirror
import SyncWire

/// Measures the mirror table at scale: upserts of `connections` distinct entries into an empty table, then
/// updates of all of them, the table's bytes per connection, and a full snapshot.
public struct MirrorBenchmark: Sendable {
    public struct Result: Sendable {
        public var connections: Int
        public var insertsPerSecond: Double
        public var updatesPerSecond: Double
        public var bytesPerConnection: Double
        public var snapshotSeconds: Double
        public var expireSeconds: Double
    }

    public var connections: Int

    public init(connections: Int = 1_000_000) { self.connections = connections }

    public func run() -> Result {
        var generator = SyntheticConnections(seed: 42)
        let entries = (0..<connections).map { generator.connection($0) }
        let clock = ContinuousClock()
        var table = MirrorTable()
        let now = MirrorTime(seconds: 1)

        var start = clock.now
        for entry in entries { table.upsert(entry, now: now) }
        let insertSeconds = (clock.now - start).seconds

        start = clock.now
        for entry in entries { table.upsert(entry, now: MirrorTime(seconds: 2)) }
        let updateSeconds = (clock.now - start).seconds

        let bytes = Double(table.memoryFootprint) / Double(table.count)

        start = clock.now
        let snapshot = table.snapshot(now: now)
        let snapshotSeconds = (clock.now - start).seconds

        start = clock.now
        table.removeExpired(now: MirrorTime(seconds: 100_000))
        let expireSeconds = (clock.now - start).seconds
        precondition(table.count == 0 && snapshot.count <= connections)

        return Result(
            connections: connections,
            insertsPerSecond: Double(connections) / insertSeconds,
            updatesPerSecond: Double(connections) / updateSeconds,
            bytesPerConnection: bytes,
            snapshotSeconds: snapshotSeconds,
            expireSeconds: expireSeconds
        )
    }
}
