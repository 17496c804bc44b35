import Dispatch
import Histogram
import HostNetwork
import Metrics
import Mirror
import NIOCore
import PeerProtocol
import SyncWire
import Synchronization

/// A standby's side of mirroring: the entries a link receives go through here into the kernel backup daemon (as the
/// kernel sync messages they arrived as) and into the standby's own mirror table, the one it will capture from once
/// it becomes active. It also keeps the stream position across links, so a reconnect resumes where the last link
/// stopped.
public final class SyncSink: Sendable {
    /// Figures for stats and tests.
    public struct Figures: Hashable, Sendable {
        /// Kernel messages injected.
        public var messages = 0
        /// Entries accepted and injected.
        public var entries = 0
        /// Messages with problems (their bad entries were skipped, as the kernel would).
        public var malformedMessages = 0
        /// Messages that failed to reach the kernel (a failed send, or no room in the feeder's queue).
        public var injectionFailures = 0
        /// Datagrams the kernel backup socket dropped while this sink fed it (each sent again, see ``resent``).
        public var kernelDrops: UInt64 = 0
        /// Messages sent to the kernel again after a drop.
        public var resent = 0
        /// Drops still seen after the last resend: entries the kernel may lack until the next refresh.
        public var kernelLost: UInt64 = 0
        /// Messages waiting for the kernel backup daemon.
        public var kernelQueued = 0
        /// Microseconds the feeder waited for room in the backup socket's queue.
        public var pacedMicroseconds: UInt64 = 0
        /// The kernel's own count of its connections (its real servers' counters, read every few seconds; nil: not
        /// read yet).
        public var kernelConnections: Int?
        /// The mirror's connections the kernel lacked at the last audit.
        public var kernelMissing = 0
        /// Connections sent to the kernel again because an audit found them missing.
        public var kernelRepaired = 0
        /// Connections in the mirror table.
        public var tableSize = 0
        /// Where the stream stands.
        public var position = PeerMessage.Position.none
        /// Batches whose lag (capture on the active director to injection here) was measured.
        public var lagSamples: UInt64 = 0
        /// The median lag, in microseconds.
        public var lagMicrosecondsP50: UInt64 = 0
        /// The 99th percentile lag, in microseconds.
        public var lagMicrosecondsP99: UInt64 = 0
        /// The largest lag, in microseconds.
        public var lagMicrosecondsMax: UInt64 = 0

        /// Zero figures.
        public init() {}
    }

    private struct State {
        var table: MirrorTable
        /// Bumped when the table stops being in sync (a snapshot begins): a pending ``whenKernelHasAll(_:)`` of an
        /// earlier epoch then does nothing.
        var epoch = 0
        /// The kernel holds the stream (see ``SyncSink/inSync``).
        var inSync = false
        /// The sync ID of the last message from the peer (what a message sent again carries).
        var syncID: UInt8 = 0
        var position = PeerMessage.Position.none
        var figures = Figures()
        /// Lag in microseconds, up to an hour.
        var lag = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)
    }

    private let state: Mutex<State>
    private let feeder: KernelFeeder
    /// The kernel backup daemon's largest message: longer ones are split before injection.
    public let maximumMessageLength: Int
    private let clock: MirrorClock

    /// Creates a sink that injects through `injector`, paced by its backup queue (``KernelFeeder``), its mirror
    /// table sized for `tableConnections` up front (0: it grows as the stream fills it).
    public init(
        injector: any SyncMessageInjecting,
        maximumMessageLength: Int = SyncWireLayout.defaultMaximumMessageLength,
        tableConnections: Int = 0,
        clock: MirrorClock = MirrorClock()
    ) {
        self.state = Mutex(State(table: MirrorTable(minimumCapacity: tableConnections)))
        self.feeder = KernelFeeder(injector: injector, reader: injector.backupQueue)
        self.maximumMessageLength = maximumMessageLength
        self.clock = clock
    }

    deinit { feeder.stop() }

    /// The table is no longer in sync (a snapshot begins): a ``whenKernelHasAll(_:)`` still pending is void.
    public func markNotInSync() {
        state.withLock {
            $0.epoch += 1
            $0.inSync = false
        }
    }

    /// Whether the kernel holds the stream: a snapshot (or a resume) and everything since reached the kernel backup
    /// daemon, and no snapshot began since (``whenKernelHasAll(_:)``, ``markNotInSync()``).
    public var inSync: Bool { state.withLock { $0.inSync } }

    /// Runs `body` once the kernel backup daemon has every message applied so far (sent, no drop seen), unless the
    /// table stopped being in sync meanwhile (``markNotInSync()``): "in sync" then means the kernel has it, not only
    /// the mirror (``inSync`` is true from then on).
    public func whenKernelHasAll(_ body: @escaping @Sendable () -> Void) {
        let epoch = state.withLock { $0.epoch }
        feeder.whenDone { [weak self] in
            guard let self else { return }
            let current = self.state.withLock { state in
                guard state.epoch == epoch else { return false }
                state.inSync = true
                return true
            }
            if current { body() }
        }
    }

    /// The last batch applied, for the next link's hello.
    public var position: PeerMessage.Position {
        get { state.withLock { $0.position } }
    }

    /// Records the stream position a link reached.
    public func record(_ position: PeerMessage.Position) {
        state.withLock { $0.position = position }
    }

    /// Validates, injects and mirrors kernel sync messages received from the peer.
    /// - Returns: the problems found: damaged messages (their good entries still go in) and injection failures.
    @discardableResult
    public func apply(_ messages: ByteBuffer) -> [String] {
        let now = clock.now
        var problems: [String] = []
        messages.withUnsafeReadableBytes { run in
            withUnsafeTemporaryAllocation(of: SyncEntry.self, capacity: IngestedSyncMessage.maximumEntries) { scratch in
                state.withLock { state in
                    let framing = SyncMessageRun.forEach(in: run) { message in
                        let tooLong = message.count > maximumMessageLength
                        let ingested = state.table.ingest(message, now: now, scratch: scratch, keepingRecords: tooLong)
                        deliver(message, ingested, tooLong: tooLong, state: &state, problems: &problems)
                    }
                    if let framing {
                        state.figures.malformedMessages += 1
                        problems.append("the rest of a batch from the peer was dropped: \(framing)")
                    }
                }
            }
        }
        return problems
    }

    /// Counts the message and hands it to the kernel: as it is when it has no problems and fits the backup's
    /// largest message, its accepted entries re-encoded as version 1 messages otherwise.
    private func deliver(
        _ message: UnsafeRawBufferPointer,
        _ ingested: IngestedSyncMessage,
        tooLong: Bool,
        state: inout State,
        problems: inout [String]
    ) {
        state.syncID = ingested.syncID
        if ingested.kind == .dropped {
            state.figures.malformedMessages += 1
            problems.append("a message from the peer was dropped: \(ingested.problems.map(\.description))")
            return
        }
        if ingested.kind == .damaged {
            state.figures.malformedMessages += 1
            problems.append("entries from the peer were skipped: \(ingested.problems.map(\.description))")
        }
        if ingested.kind != .damaged, !tooLong {
            inject(message, entries: ingested.accepted, state: &state, problems: &problems)
        } else {
            repack(ingested.records, syncID: ingested.syncID, state: &state, problems: &problems)
        }
    }

    private func inject(
        _ message: UnsafeRawBufferPointer,
        entries: Int,
        state: inout State,
        problems: inout [String]
    ) {
        if feeder.enqueue(message) {
            state.figures.entries += entries
        } else {
            state.figures.injectionFailures += 1
            problems.append("the queue into the kernel backup daemon is full: a message was dropped")
        }
    }

    private func repack(_ connections: [SyncConnection], syncID: UInt8, state: inout State, problems: inout [String]) {
        let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
        guard let messages = try? packer.pack(connections) else {
            problems.append("entries from the peer cannot be re-encoded")
            return
        }
        for bytes in messages {
            bytes.withUnsafeBytes { inject($0, entries: 0, state: &state, problems: &problems) }
        }
        state.figures.entries += connections.count
    }

    /// Holds the kernel's table against the mirror (``KernelAudit``) and sends again what the kernel lacks. The
    /// mirror is copied first; then the audit waits until the feeder has handed the kernel everything queued and the
    /// backup thread has read its socket empty, so that only connections the kernel should have by then are looked
    /// for; then `readTable` reads the kernel's table. Blocking (a large table takes a while to read and parse):
    /// call it from a thread of its own.
    /// - Returns: the audit, nil when the kernel's table could not be read.
    public func auditKernel(readTable: () -> String?) -> KernelAudit? {
        auditKernel(kernelTable: { readTable().map { ProcConnTable(parsing: $0) } })
    }

    /// ``auditKernel(readTable:)`` with the kernel's table parsed: a cluster member's sinks share one read and one
    /// parse of it.
    public func auditKernel(kernelTable: () -> ProcConnTable?) -> KernelAudit? {
        let (mirror, now) = (table, clock.now)
        let fed = DispatchSemaphore(value: 0)
        feeder.whenDone { fed.signal() }
        fed.wait()
        feeder.waitUntilTheKernelReadItAll(seconds: 5)
        guard let kernel = kernelTable() else { return nil }
        let audit = KernelAudit.compare(mirror: mirror, now: now, kernel: kernel)
        var repaired = 0
        if !audit.missing.isEmpty {
            let syncID = state.withLock { $0.syncID }
            let packer = SyncMessagePacker(version: .v1, syncID: syncID, maximumLength: maximumMessageLength)
            if let messages = try? packer.pack(audit.missing) {
                for message in messages { message.withUnsafeBytes { _ = feeder.enqueue($0) } }
                repaired = audit.missing.count
            }
        }
        state.withLock { state in
            state.figures.kernelMissing = audit.missing.count
            state.figures.kernelRepaired += repaired
        }
        return audit
    }

    /// Records a batch's lag: from its capture on the active director (Unix nanoseconds) to now. The directors'
    /// clocks must agree for the figure to mean anything across hosts.
    public func recordLag(capturedAtUnixNanoseconds: UInt64) {
        let now = unixNanosecondsNow()
        let micros = now > capturedAtUnixNanoseconds ? (now - capturedAtUnixNanoseconds) / 1000 : 0
        state.withLock { _ = $0.lag.record(min(micros, 3_600_000_000)) }
        Self.lagTimer.recordNanoseconds(Int64(min(micros, 3_600_000_000)) * 1000)
    }

    /// The lag as a histogram for the metrics (`lvsync_sync_lag_seconds`).
    static let lagTimer = Metrics.Timer(label: "lvsync_sync_lag_seconds")

    /// Forgets the lag samples so far (a benchmark's warm-up).
    public func resetLag() {
        state.withLock { $0.lag.reset() }
    }

    /// Records the kernel's own count of its connections (``Figures/kernelConnections``).
    public func noteKernelCount(_ count: Int) {
        state.withLock { $0.figures.kernelConnections = count }
    }

    /// Current figures.
    public var figures: Figures {
        let fed = feeder.figures
        return state.withLock { state in
            var figures = state.figures
            figures.messages = fed.sent - fed.resent
            figures.injectionFailures += fed.failures
            figures.kernelDrops = fed.kernelDrops
            figures.resent = fed.resent
            figures.kernelLost = fed.lost
            figures.kernelQueued = fed.queued
            figures.pacedMicroseconds = fed.pacedMicroseconds
            figures.tableSize = state.table.count
            figures.position = state.position
            figures.lagSamples = state.lag.totalCount
            if state.lag.totalCount > 0 {
                figures.lagMicrosecondsP50 = state.lag.valueAtPercentile(50)
                figures.lagMicrosecondsP99 = state.lag.valueAtPercentile(99)
                figures.lagMicrosecondsMax = state.lag.max
            }
            return figures
        }
    }

    /// A copy of the standby's mirror table.
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

    /// Removes expired connections from the table.
    @discardableResult
    public func expire() -> Int {
        let now = clock.now
        return state.withLock { $0.table.removeExpired(now: now) }
    }
}
