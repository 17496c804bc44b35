import Foundation
import Mirror
import NIOCore
import PeerProtocol
import SyncWire
import Synchronization

/// The active director's side of mirroring: every kernel sync message captured goes through here. It validates the
/// message as the kernel's backup would, keeps the latest entry per connection in the mirror table, and gathers the
/// kernel's own bytes into batches in the shared ``BatchLog`` that every standby's link reads.
///
/// One lock guards the table and the log together, so a snapshot (table plus the sequence it includes) is
/// consistent with the batches that follow it.
public final class SyncSource: Sendable {
    /// Figures for stats and tests.
    public struct Figures: Hashable, Sendable {
        /// Kernel messages taken in.
        public var messages = 0
        /// Entries accepted into the table.
        public var entries = 0
        /// Messages that had problems (entries skipped or the message dropped).
        public var malformedMessages = 0
        /// Batches appended to the log.
        public var batches = 0
        /// Connections in the mirror table.
        public var tableSize = 0
        /// The log's last batch.
        public var lastSequence: UInt64 = 0
        /// Batches the log dropped to stay within its capacity.
        public var droppedBatches: UInt64 = 0
        /// Kernel sync messages the capture socket dropped (its `PACKET_STATISTICS`): gaps, each followed by a
        /// reconcile with the kernel's table.
        public var captureDrops: UInt64 = 0
        /// Connections the kernel's table held that the mirror lacked or held differently, taken in by a reconcile.
        public var reconciled = 0
        /// The kernel's own count of its connections (its real servers' counters, read every few seconds; nil: not
        /// read yet).
        public var kernelConnections: Int?
        /// The standbys linked now (``StandbyProgress``).
        public var standbys: [String: StandbyProgress.Link] = [:]

        /// Zero figures.
        public init() {}
    }

    private struct State {
        var table: MirrorTable
        var log: BatchLog
        var pending = ByteBuffer()
        var pendingEntries = 0
        var pendingCapturedAt: UInt64 = 0
        var figures = Figures()
        var waiters: [Int: AsyncStream<Void>.Continuation] = [:]
        /// Set when the capture lost messages: the next reconcile is due at once.
        var gap = false
        var nextWaiter = 0
    }

    private let state: Mutex<State>
    /// The kernel sync ID of re-encoded messages.
    public let syncID: UInt8
    /// The largest kernel message built (snapshots, re-encoded messages).
    public let maximumMessageLength: Int
    /// Pending bytes that make a batch without waiting for the capture to go quiet.
    public let batchBytes: Int
    private let clock: MirrorClock
    /// What each standby linked to this source has been sent and has acknowledged.
    public let standbys = StandbyProgress()

    /// Creates a source with a new stream.
    public init(
        syncID: UInt8,
        maximumMessageLength: Int = SyncWireLayout.defaultMaximumMessageLength,
        logCapacityBytes: Int = 64 << 20,
        batchBytes: Int = 64 << 10,
        table: MirrorTable = MirrorTable(),
        clock: MirrorClock = MirrorClock()
    ) {
        self.syncID = syncID
        self.maximumMessageLength = maximumMessageLength
        self.batchBytes = batchBytes
        self.clock = clock
        let streamID = UInt64.random(in: 1...UInt64.max)
        state = Mutex(State(table: table, log: BatchLog(streamID: streamID, capacityBytes: logCapacityBytes)))
    }

    /// The stream's ID.
    public var streamID: UInt64 { state.withLock { $0.log.streamID } }

    /// Records messages the capture socket dropped: a gap that the next reconcile fills.
    public func noteCaptureDrops(_ count: UInt64) {
        state.withLock { state in
            state.figures.captureDrops += count
            state.gap = true
        }
    }

    /// Whether the capture lost messages since the last reconcile (and clears it).
    public func takeGap() -> Bool {
        state.withLock { state in
            defer { state.gap = false }
            return state.gap
        }
    }

    /// Takes in what the kernel's table holds (`connections`, read back from `/proc/net/ip_vs_conn`) that the mirror
    /// lacks or holds with another state or real server: a message the capture never saw (the capture socket or the
    /// kernel master dropped it). Those connections go into the table and to the standbys as version 1 messages, as
    /// if captured.
    /// - Returns: how many were taken in.
    @discardableResult
    public func reconcile(with connections: [SyncConnection]) -> Int {
        let now = clock.now
        let changed = state.withLock { state in
            connections.filter { connection in
                guard Self.kernelSyncs(connection) else { return false }
                guard let held = state.table.lookup(connection, now: now) else { return true }
                return held.state != connection.state || held.destination != connection.destination
            }
        }
        let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
        if !changed.isEmpty, let messages = try? packer.pack(changed) {
            let capturedAt = unixNanosecondsNow()
            for message in messages {
                message.withUnsafeBytes { _ = ingest($0, capturedAtUnixNanoseconds: capturedAt) }
            }
            flush()
        }
        state.withLock { state in
            state.figures.reconciled += changed.count
        }
        return changed.count
    }

    /// Whether the kernel master sends `connection` in its state (`ip_vs_sync_conn_needed()`): TCP only in
    /// ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT, SCTP only in ESTABLISHED and its shutdown states;
    /// templates and other protocols always. A reconcile takes in no more than the kernel itself would have sent.
    static func kernelSyncs(_ connection: SyncConnection) -> Bool {
        guard !connection.isTemplate else { return true }
        switch connection.ipProtocol {
        case .tcp:
            return ["ESTABLISHED", "FIN_WAIT", "CLOSE", "CLOSE_WAIT", "TIME_WAIT"].contains(connection.stateName)
        case .sctp:
            return ["ESTABLISHED", "S-SENT", "S-RECEIVED", "S-ACK-SENT", "CLOSED"].contains(connection.stateName)
        default: return true
        }
    }

    /// Takes one captured kernel message: validates it, updates the table, and queues its entries for the next
    /// batch (the kernel's bytes as they are when the message is clean version 1, re-encoded otherwise).
    /// - Returns: the problems found (entries skipped or the message dropped), empty for a clean message.
    @discardableResult
    public func ingest(_ message: UnsafeRawBufferPointer, capturedAtUnixNanoseconds: UInt64) -> [SyncWireError] {
        let now = clock.now
        var problems: [SyncWireError] = []
        withUnsafeTemporaryAllocation(of: SyncEntry.self, capacity: IngestedSyncMessage.maximumEntries) { scratch in
            state.withLock { state in
                state.figures.messages += 1
                let ingested = state.table.ingest(message, now: now, scratch: scratch)
                problems = ingested.problems
                forward(message, ingested, capturedAt: capturedAtUnixNanoseconds, state: &state)
            }
        }
        return problems
    }

    /// Counts the message and queues what to forward: the kernel's bytes for a clean version 1 message (options
    /// or not), its accepted entries re-encoded as clean version 1 messages for a version 0 or damaged one.
    private func forward(
        _ message: UnsafeRawBufferPointer,
        _ ingested: IngestedSyncMessage,
        capturedAt capturedAtUnixNanoseconds: UInt64,
        state: inout State
    ) {
        switch ingested.kind {
        case .dropped:
            state.figures.malformedMessages += 1
            return
        case .plain, .options:
            queue(message, entries: ingested.accepted, at: capturedAtUnixNanoseconds, in: &state)
        case .version0, .damaged:
            if ingested.kind == .damaged { state.figures.malformedMessages += 1 }
            let records = ingested.records
            if !records.isEmpty {
                let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
                // Version 0 entries become version 1 ones with timeout 0: the backup then uses its defaults.
                for bytes in (try? packer.pack(records)) ?? [] {
                    bytes.withUnsafeBytes {
                        queue($0, entries: 0, at: capturedAtUnixNanoseconds, in: &state)
                    }
                }
                state.pendingEntries += records.count
            }
        }
        state.figures.entries += ingested.accepted
        if state.pending.readableBytes >= batchBytes { flushLocked(&state) }
    }

    private func queue(_ message: UnsafeRawBufferPointer, entries: Int, at time: UInt64, in state: inout State) {
        if state.pending.readableBytes == 0 { state.pendingCapturedAt = time }
        state.pending.writeBytes(message)
        state.pendingEntries += entries
    }

    /// Makes a batch of what is queued (the capture calls this when the socket has nothing more for now) and wakes
    /// the links.
    public func flush() {
        state.withLock { flushLocked(&$0) }
    }

    private func flushLocked(_ state: inout State) {
        guard state.pending.readableBytes > 0 else { return }
        state.log.append(
            messages: state.pending,
            entries: state.pendingEntries,
            capturedAtUnixNanoseconds: state.pendingCapturedAt
        )
        state.pending = ByteBuffer()
        state.pending.reserveCapacity(batchBytes + maximumMessageLength)
        state.pendingEntries = 0
        state.figures.batches += 1
        for waiter in state.waiters.values { waiter.yield() }
    }

    /// Runs `body` with the log (a sender session's pump), under the lock, so the log is not copied.
    public func withLog<Result>(_ body: (BatchLog) -> Result) -> Result {
        state.withLock { body($0.log) }
    }

    /// A snapshot of the table with the last batch it includes: queued entries are made a batch first.
    public func snapshot() -> (snapshot: MirrorSnapshot, baseSequence: UInt64) {
        let now = clock.now
        return state.withLock { state in
            flushLocked(&state)
            state.table.removeExpired(now: now)
            let snapshot = MirrorSnapshot(
                table: state.table,
                now: now,
                syncID: syncID,
                maximumMessageLength: maximumMessageLength
            )
            return (snapshot, state.log.lastSequence)
        }
    }

    /// A stream of wake-ups, one (coalesced) after each new batch; finish it with ``unsubscribe(_:)``.
    public func subscribe() -> (id: Int, wakeups: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextWaiter += 1
            state.waiters[state.nextWaiter] = continuation
            return state.nextWaiter
        }
        return (id, stream)
    }

    /// Ends a stream of wake-ups.
    public func unsubscribe(_ id: Int) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.finish()
    }

    /// Records the kernel's own count of its connections (``Figures/kernelConnections``).
    public func noteKernelCount(_ count: Int) {
        state.withLock { $0.figures.kernelConnections = count }
    }

    /// Current figures.
    public var figures: Figures {
        state.withLock { state in
            var figures = state.figures
            figures.tableSize = state.table.count
            figures.lastSequence = state.log.lastSequence
            figures.droppedBatches = state.log.droppedBatches
            figures.standbys = standbys.all
            return figures
        }
    }

    /// Removes expired connections from the table.
    @discardableResult
    public func expire() -> Int {
        let now = clock.now
        return state.withLock { $0.table.removeExpired(now: now) }
    }

    /// A copy of the table (tests).
    public var table: MirrorTable { state.withLock { $0.table } }

    /// A part of the table's listing for `lvsync conns`: the live connections among `limit` storage positions from
    /// `start`, with the seconds each has left, read under the lock on this side's clock (holds O(`limit`), never
    /// a copy of the table; ``MirrorTable/forEachConnection(from:limit:now:_:)`` says what a change meanwhile does).
    /// - Returns: the connections, and the position to go on from (nil: the end).
    public func connections(
        from start: Int,
        limit: Int
    ) -> (rows: [(connection: SyncConnection, remaining: UInt32)], next: Int?) {
        let now = clock.now
        return state.withLock { $0.table.connections(from: start, limit: limit, now: now) }
    }
}

/// The mirror table's clock: whole seconds since the daemon started, on the monotonic clock.
public struct MirrorClock: Sendable {
    private let origin = ContinuousClock.now

    /// Creates a clock starting now.
    public init() {}

    /// The time now.
    public var now: MirrorTime { MirrorTime(sinceOrigin: ContinuousClock.now - origin) }
}

/// Wall-clock time in nanoseconds since the Unix epoch (for lag figures across directors; resolution about a quarter
/// of a microsecond).
public func unixNanosecondsNow() -> UInt64 {
    UInt64(Date().timeIntervalSince1970 * 1e9)
}
