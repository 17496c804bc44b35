import LVSyncTestSupport
import Mirror
import SyncWire

/// Measures the mirror table at scale: `connections` distinct entries upserted into an empty table (as the relay
/// does, from decoded `SyncEntry` values), then an update of each, the table's bytes per connection, and the
/// snapshot a late standby gets: every live entry encoded into full kernel-sized sync messages.
public struct MirrorBenchmark: Sendable {
    /// The figures.
    public struct Result: Sendable {
        /// Distinct connections held.
        public var connections: Int
        /// Upserts of new entries.
        public var insertsPerSecond: Double
        /// Upserts of entries already held.
        public var updatesPerSecond: Double
        /// `memoryFootprint` over the connections.
        public var bytesPerConnection: Double
        /// Every live entry encoded into 1472-byte version 1 messages.
        public var snapshotEncodeSeconds: Double
        /// Messages the snapshot took.
        public var snapshotMessages: Int
        /// Bytes the snapshot took.
        public var snapshotBytes: Int
        /// Every live entry materialised as a `SyncConnection` (the tools' path).
        public var snapshotListSeconds: Double
        /// Removing every entry by expiry.
        public var expireSeconds: Double
    }

    /// Connections to generate.
    public var connections: Int

    /// Creates the benchmark.
    public init(connections: Int = 1_000_000) { self.connections = connections }

    /// Runs every measurement.
    public func run() -> Result {
        var generator = SyntheticConnections(seed: 42)
        let entries = (0..<connections).map { generator.connection($0).entry! }
        let clock = ContinuousClock()
        var table = MirrorTable()
        let now = MirrorTime(seconds: 1)

        var start = clock.now
        for entry in entries { table.upsert(entry, version: .v1, now: now) }
        let insertSeconds = (clock.now - start).seconds
        // The generator's random clients and ports repeat a key now and then: count what the table holds.
        let distinct = table.count

        start = clock.now
        for entry in entries { table.upsert(entry, version: .v1, now: MirrorTime(seconds: 2)) }
        let updateSeconds = (clock.now - start).seconds

        let bytes = Double(table.memoryFootprint) / Double(distinct)

        var messages = 0
        var messageBytes = 0
        var buffer = [UInt8](repeating: 0, count: SyncWireLayout.defaultMaximumMessageLength)
        start = clock.now
        buffer.withUnsafeMutableBytes { out in
            let maximum = SyncWireLayout.defaultMaximumMessageLength
            var writer = SyncMessageWriter(syncID: 9, into: out, maximumLength: maximum)
            table.forEachEntry(now: now) { entry, _ in
                if !writer.append(entry) {
                    messageBytes += writer.finish()
                    messages += 1
                    writer = SyncMessageWriter(syncID: 9, into: out, maximumLength: maximum)
                    _ = writer.append(entry)
                }
            }
            if writer.count > 0 {
                messageBytes += writer.finish()
                messages += 1
            }
        }
        let snapshotEncodeSeconds = (clock.now - start).seconds

        start = clock.now
        let listed = table.snapshot(now: now)
        let snapshotListSeconds = (clock.now - start).seconds

        start = clock.now
        table.removeExpired(now: MirrorTime(seconds: 100_000))
        let expireSeconds = (clock.now - start).seconds
        precondition(table.count == 0 && listed.count == distinct)

        return Result(
            connections: distinct,
            insertsPerSecond: Double(connections) / insertSeconds,
            updatesPerSecond: Double(connections) / updateSeconds,
            bytesPerConnection: bytes,
            snapshotEncodeSeconds: snapshotEncodeSeconds,
            snapshotMessages: messages,
            snapshotBytes: messageBytes,
            snapshotListSeconds: snapshotListSeconds,
            expireSeconds: expireSeconds
        )
    }
}
