import Config
import Daemon
import Foundation
import HostNetwork
import LVSyncTestSupport
import Logging
import Mirror
import NIOCore
import PeerProtocol
import PeerTransport
import SyncWire
import Synchronization

/// The end-to-end relay in one process: kernel messages captured (from an in-memory twin of the kernel master),
/// decoded and mirrored on the active side, streamed over mutual TLS on loopback, validated, mirrored and handed to
/// the injection on the standby side (a counting twin of the kernel backup, so no kernel is needed).
public struct RelayBenchmark: Sendable {
    /// What the benchmark measured.
    public struct Result: Sendable {
        /// Entries relayed in the throughput run.
        public var entries: Int
        /// Distinct connections among them (the rest are updates).
        public var connections: Int
        /// Sustained entries per second, capture to injection.
        public var entriesPerSecond: Double
        /// The offered rate of the lag run.
        public var lagOfferedEntriesPerSecond: Int
        /// Lag percentiles at that rate, microseconds.
        public var lagP50Microseconds: UInt64
        /// 99th percentile.
        public var lagP99Microseconds: UInt64
        /// Largest.
        public var lagMaxMicroseconds: UInt64
        /// Batches measured.
        public var lagSamples: UInt64
        /// Connections in the snapshot run.
        public var snapshotConnections: Int
        /// Seconds from a new standby's start to its holding every connection.
        public var snapshotSeconds: Double
        /// Mirror table bytes per connection (active side).
        public var bytesPerConnection: Double
        /// The active director's side alone, on one core: captured messages validated, mirrored and batched.
        public var activeSideEntriesPerSecond: Double
        /// The standby's side alone, on one core: batches validated, mirrored and handed to the injection.
        public var standbySideEntriesPerSecond: Double
    }

    let connections: Int
    let passes: Int
    let lagRate: Int
    let lagSeconds: Double

    /// Creates the benchmark.
    /// - Parameters:
    ///   - connections: distinct connections (also the snapshot's size).
    ///   - passes: how often each is sent in the throughput run (the first pass inserts, the others update).
    ///   - lagRate: the offered rate of the lag run, entries per second.
    public init(connections: Int = 1_000_000, passes: Int = 5, lagRate: Int = 100_000, lagSeconds: Double = 5) {
        self.connections = connections
        self.passes = passes
        self.lagRate = lagRate
        self.lagSeconds = lagSeconds
    }

    /// Runs the three measurements.
    public func run() async throws -> Result {
        let pki = try TestPKI()
        defer { pki.remove() }
        let rig = try RelayRig(pki: pki)
        let messages = Self.messages(connections)
        let entriesPerPass = connections

        // 1. Snapshot: the active director holds every connection before the standby starts.
        let snapshot: Double = try await rig.withActive {
            rig.master.emit(messages)
            await rig.until { rig.source.figures.entries >= entriesPerPass }
            let started = ContinuousClock.now
            return try await rig.withStandby {
                await rig.until { rig.sink.figures.entries >= entriesPerPass }
                return (ContinuousClock.now - started).seconds
            }
        }
        let bytesPerConnection = Double(rig.source.table.memoryFootprint) / Double(max(rig.source.table.count, 1))

        // 2. Throughput: the same connections again, `passes` times, as fast as the relay takes them.
        let throughput: Double = try await rig.withActive {
            try await rig.withStandby {
                await rig.until { rig.sink.position.streamID == rig.source.streamID }
                let base = rig.sink.figures.entries
                let total = entriesPerPass * passes
                let started = ContinuousClock.now
                for _ in 0..<passes { rig.master.emit(messages) }
                await rig.until { rig.sink.figures.entries - base >= total }
                return Double(total) / (ContinuousClock.now - started).seconds
            }
        }

        // 3. Lag at a fixed offered rate.
        let (lag, offered): (SyncSink.Figures, Double) = try await rig.withActive {
            try await rig.withStandby {
                await rig.until { rig.sink.position.streamID == rig.source.streamID }
                // Every millisecond, emit whole messages until the entries emitted reach the offered rate so far.
                var next = 0
                var emitted = 0
                var warm = false
                let start = ContinuousClock.now
                var tick = 0
                while (ContinuousClock.now - start).seconds < lagSeconds + 0.5 {
                    let elapsed = (ContinuousClock.now - start).seconds
                    if !warm, elapsed >= 0.5 {
                        rig.sink.resetLag()  // the first half second warms up
                        warm = true
                    }
                    var due: [[UInt8]] = []
                    while Double(emitted) < Double(lagRate) * elapsed {
                        due.append(messages[next])
                        emitted += Self.entriesIn(messages[next])
                        next = (next + 1) % messages.count
                    }
                    rig.master.emit(due)
                    tick += 1
                    try await Task.sleep(until: start + .milliseconds(tick), clock: .continuous)
                }
                let offered = Double(emitted) / (ContinuousClock.now - start).seconds
                try await Task.sleep(for: .milliseconds(200))
                return (rig.sink.figures, offered)
            }
        }
        let (activeSide, standbySide) = Self.sides(messages, passes: passes)
        return Result(
            entries: entriesPerPass * passes,
            connections: connections,
            entriesPerSecond: throughput,
            lagOfferedEntriesPerSecond: Int(offered.rounded()),
            lagP50Microseconds: lag.lagMicrosecondsP50,
            lagP99Microseconds: lag.lagMicrosecondsP99,
            lagMaxMicroseconds: lag.lagMicrosecondsMax,
            lagSamples: lag.lagSamples,
            snapshotConnections: connections,
            snapshotSeconds: snapshot,
            bytesPerConnection: bytesPerConnection,
            activeSideEntriesPerSecond: activeSide,
            standbySideEntriesPerSecond: standbySide
        )
    }

    /// Each director's share of the relay alone, on the calling thread: what one core of each director sustains
    /// when they are two machines (the relay above runs both, and TLS, on this machine's cores).
    static func sides(_ messages: [[UInt8]], passes: Int) -> (active: Double, standby: Double) {
        let source = SyncSource(syncID: 7, logCapacityBytes: 64 << 20)
        var batches: [ByteBuffer] = []
        var batch = ByteBuffer()
        var entries = 0
        let started = ContinuousClock.now
        for _ in 0..<passes {
            for message in messages {
                message.withUnsafeBytes { _ = source.ingest($0, capturedAtUnixNanoseconds: 0) }
                entries += entriesIn(message)
            }
        }
        source.flush()
        let active = Double(entries) / (ContinuousClock.now - started).seconds
        for message in messages {
            batch.writeBytes(message)
            if batch.readableBytes >= 64 << 10 {
                batches.append(batch)
                batch = ByteBuffer()
            }
        }
        batches.append(batch)
        let sink = SyncSink(injector: CountingInjector())
        let applyStarted = ContinuousClock.now
        for _ in 0..<passes {
            for batch in batches { sink.apply(batch) }
        }
        let standby = Double(sink.figures.entries) / (ContinuousClock.now - applyStarted).seconds
        return (active, standby)
    }

    static func entriesIn(_ message: [UInt8]) -> Int { Int(message[SyncWireLayout.Header.count]) }

    /// Distinct connections (one in twenty IPv6, the rest IPv4 TCP, as ``SyntheticConnections`` shapes them but
    /// with a client address and port unique to each) as full 1472-byte version 1 messages, as a busy kernel master
    /// sends them.
    /// `offset`: the first connection's number (another block of clients).
    static func messages(_ count: Int, offset: Int = 0) -> [[UInt8]] {
        var generator = SyntheticConnections()
        var entries: [SyncEntry] = []
        entries.reserveCapacity(count)
        for n in offset..<offset + count {
            var entry = generator.connection(n % 20 == 0 ? 0 : 4).entry!
            let unique = UInt64(n)
            entry.clientAddress =
                entry.isIPv6
                ? IPv6Address(high: 0xfd00_0000_0000_0000, low: 0x1_0000_0000 | unique)
                : IPv6Address(high: 0, low: 0x0a00_0000 | (unique >> 6 & 0xff_ffff))
            entry.clientPort = UInt16(1024 + (unique & 0x3f))
            entries.append(entry)
        }
        var messages: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: SyncWireLayout.defaultMaximumMessageLength)
        var index = 0
        while index < entries.count {
            let length = buffer.withUnsafeMutableBytes { raw in
                var writer = SyncMessageWriter(
                    syncID: 7,
                    into: raw,
                    maximumLength: SyncWireLayout.defaultMaximumMessageLength
                )
                while index < entries.count, writer.append(entries[index]) { index += 1 }
                return writer.finish()
            }
            messages.append(Array(buffer[0..<length]))
        }
        return messages
    }
}

/// The two directors of the relay benchmark, daemons with fixed roles built from their configuration files; the
/// tables live across runs (each run starts the same daemon again) so that later runs update.
final class RelayRig: Sendable {
    let master = InMemoryKernelMaster()
    let port: Int
    let active: LVSyncDaemon
    let standby: LVSyncDaemon
    let logger: Logger = {
        var logger = Logger(label: "lvsync-bench")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LVSYNC_BENCH_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        return logger
    }()

    init(pki: TestPKI) throws {
        port = try freePorts(1)[0]
        var activeFile = TestDirectorFile(node: "dira", listen: port, peers: [("dirb", 1)])
        activeFile.role = "active"
        var standbyFile = TestDirectorFile(node: "dirb", listen: nil, peers: [("dira", port)])
        standbyFile.role = "standby"
        activeFile.logMegabytes = 512
        (activeFile.heartbeatMilliseconds, activeFile.deadMilliseconds) = (100, 5000)
        (standbyFile.heartbeatMilliseconds, standbyFile.deadMilliseconds) = (100, 5000)
        let master = master
        func host(injector: any SyncMessageInjecting) -> DaemonHost {
            DaemonHost(
                ipvs: InMemoryIPVS(),
                addresses: InMemoryAddresses(),
                announcer: InMemoryAnnouncer(),
                prepareSyncInterface: { _ in 1 },
                syncInterfaceIndex: { _ in .success(1) },
                openCapture: { _ in master },
                openInjector: { _ in injector },
                interfaceIsUp: { _ in .success(true) },
                connectionTable: nil
            )
        }
        let logger = logger
        func daemon(_ file: TestDirectorFile, _ host: DaemonHost) throws -> LVSyncDaemon {
            let config = try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "\(file.node).yaml")
            return try LVSyncDaemon(file: config, path: "\(file.node).yaml", host: host, logger: logger)
        }
        active = try daemon(activeFile, host(injector: CountingInjector()))
        standby = try daemon(standbyFile, host(injector: CountingInjector()))
    }

    /// The active's source (once it ran).
    var source: SyncSource { active.director.director.source ?? SyncSource(syncID: 7) }
    /// The standby's sink (once it ran).
    var sink: SyncSink { standby.director.director.sink ?? SyncSink(injector: CountingInjector()) }

    func withActive<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        let active = active
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await active.run() }
            await until { active.director.director.source != nil }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    func withStandby<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        let standby = standby
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await standby.run() }
            await until { standby.director.director.sink != nil }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    func until(_ condition: () -> Bool) async {
        while !condition() { try? await Task.sleep(for: .milliseconds(1)) }
    }
}

/// A twin of the kernel backup that only counts what it is handed.
final class CountingInjector: SyncMessageInjecting {
    private let count = Atomic(0)

    func inject(_ message: UnsafeRawBufferPointer) throws {
        count.add(1, ordering: .relaxed)
    }
}
