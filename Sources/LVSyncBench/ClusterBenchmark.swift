import Config
import Daemon
import Foundation
import HostNetwork
import LVSyncTestSupport
import Logging
import PeerProtocol
import PeerTransport
import SyncWire
import Synchronization

/// A cluster in one process: N members, each a daemon built from its configuration file (a `cluster` section) on an
/// in-memory host, every pair linked both ways over mutual TLS on loopback. Each member's kernel master is a twin
/// that emits the member's own connections; each member's kernel backup is a counting twin. Measures what each
/// member sustains while it captures and streams its own connections and takes in every other member's stream, and
/// the lag of each stream at each other member (capture at the member that made a connection to injection at the
/// one that takes it) at a fixed offered rate per member.
public struct ClusterBenchmark: Sendable {
    /// What the benchmark measured.
    public struct Result: Sendable {
        /// Members.
        public var members: Int
        /// Each member's own connections in the throughput run.
        public var connectionsPerMember: Int
        /// Seconds from the first emit to every member holding every other member's connections.
        public var seconds: Double
        /// Entries each member captured and streamed per second (its own), in the throughput run.
        public var ownEntriesPerSecond: Double
        /// Entries each member took in and injected per second (the N−1 others' streams), in the throughput run.
        public var receivedEntriesPerSecond: Double
        /// The offered rate of the lag run, new connections per second at each member.
        public var offeredPerMember: Int
        /// The largest of the streams' median lags, microseconds.
        public var lagP50Microseconds: UInt64
        /// The largest of the streams' 99th percentile lags, microseconds.
        public var lagP99Microseconds: UInt64
        /// The largest lag of any batch on any stream, microseconds: every connection of the lag run reached every
        /// other member within this.
        public var lagMaxMicroseconds: UInt64
        /// Batches measured, on all streams.
        public var lagSamples: UInt64
    }

    let members: Int
    let connections: Int
    let rate: Int
    let seconds: Double
    let tableConnections: Int

    /// Creates the benchmark: `members` members, `connections` own connections each for the throughput run, `rate`
    /// new connections per second at each member for `seconds` in the lag run; every member's mirror tables sized
    /// for `tableConnections` at start (`sync.table_connections`; 0: they grow).
    public init(
        members: Int = 4,
        connections: Int = 250_000,
        rate: Int = 100_000,
        seconds: Double = 5,
        tableConnections: Int = 0
    ) {
        self.members = members
        self.connections = connections
        self.rate = rate
        self.seconds = seconds
        self.tableConnections = tableConnections
    }

    /// Runs the throughput and the lag measurements.
    public func run() async throws -> Result {
        let pki = try TestPKI()
        defer { pki.remove() }
        let rig = try ClusterRig(members: members, pki: pki, tableConnections: tableConnections)
        // Each member's own connections: distinct across members (client addresses of a block of their own).
        let own = (0..<members).map { RelayBenchmark.messages(connections, offset: $0 * (connections + 1_000)) }
        let lagMessages = (0..<members).map {
            RelayBenchmark.messages(rate * Int(seconds.rounded(.up) + 1), offset: 50_000_000 + $0 * 10_000_000)
        }
        return try await rig.whileRunning {
            await rig.until { rig.linked }
            // 1. Throughput: every member emits its connections at once.
            let started = ContinuousClock.now
            for (member, messages) in zip(rig.masters, own) { member.emit(messages) }
            await rig.until { rig.received.allSatisfy { $0 >= (members - 1) * connections } }
            let elapsed = (ContinuousClock.now - started).seconds
            // 2. Lag: each member emits `rate` new connections a second, in whole messages, every millisecond.
            for sink in rig.sinks { sink.resetLag() }
            var next = Array(repeating: 0, count: members)
            var emitted = Array(repeating: 0, count: members)
            let start = ContinuousClock.now
            var tick = 0
            var warm = false
            while (ContinuousClock.now - start).seconds < seconds + 0.5 {
                let now = (ContinuousClock.now - start).seconds
                if !warm, now >= 0.5 {
                    for sink in rig.sinks { sink.resetLag() }
                    warm = true
                }
                for member in 0..<members {
                    var due: [[UInt8]] = []
                    while Double(emitted[member]) < Double(rate) * now, next[member] < lagMessages[member].count {
                        let message = lagMessages[member][next[member]]
                        due.append(message)
                        emitted[member] += RelayBenchmark.entriesIn(message)
                        next[member] += 1
                    }
                    rig.masters[member].emit(due)
                }
                tick += 1
                try await Task.sleep(until: start + .milliseconds(tick), clock: .continuous)
            }
            let offered = Double(emitted.reduce(0, +)) / Double(members) / (ContinuousClock.now - start).seconds
            try await Task.sleep(for: .milliseconds(300))
            let figures = rig.sinks.map(\.figures)
            return Result(
                members: members,
                connectionsPerMember: connections,
                seconds: elapsed,
                ownEntriesPerSecond: Double(connections) / elapsed,
                receivedEntriesPerSecond: Double((members - 1) * connections) / elapsed,
                offeredPerMember: Int(offered.rounded()),
                lagP50Microseconds: figures.map(\.lagMicrosecondsP50).max() ?? 0,
                lagP99Microseconds: figures.map(\.lagMicrosecondsP99).max() ?? 0,
                lagMaxMicroseconds: figures.map(\.lagMicrosecondsMax).max() ?? 0,
                lagSamples: figures.map(\.lagSamples).reduce(0, +)
            )
        }
    }
}

/// The members of the cluster benchmark.
final class ClusterRig: Sendable {
    let names: [String]
    let masters: [InMemoryKernelMaster]
    let daemons: [LVSyncDaemon]

    init(members: Int, pki: TestPKI, tableConnections: Int = 0) throws {
        let names = (0..<members).map { "m\($0 + 1)" }
        let ports = try freePorts(members)
        let masters = (0..<members).map { _ in InMemoryKernelMaster() }
        self.names = names
        self.masters = masters
        var logger = Logger(label: "lvsync-bench")
        logger.logLevel =
            ProcessInfo.processInfo.environment["LVSYNC_BENCH_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        var daemons: [LVSyncDaemon] = []
        for (index, name) in names.enumerated() {
            var file = TestDirectorFile(
                node: name,
                listen: ports[index],
                peers: names.indices.filter { $0 != index }.map { (names[$0], ports[$0]) }
            )
            file.logMegabytes = 512
            file.tableConnections = tableConnections
            (file.heartbeatMilliseconds, file.deadMilliseconds) = (100, 5000)
            file.extra = "cluster: {}\n"
            let master = masters[index]
            let host = DaemonHost(
                ipvs: InMemoryIPVS(),
                addresses: InMemoryAddresses(),
                announcer: InMemoryAnnouncer(),
                prepareSyncInterface: { _ in 1 },
                syncInterfaceIndex: { _ in .success(1) },
                openCapture: { _ in master },
                openInjector: { _ in CountingInjector() },
                interfaceIsUp: { _ in .success(true) },
                connectionTable: nil
            )
            let config = try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "\(name).yaml")
            daemons.append(try LVSyncDaemon(file: config, path: "\(name).yaml", host: host, logger: logger))
        }
        self.daemons = daemons
    }

    /// Every member's sinks, of every other member.
    var sinks: [SyncSink] { daemons.flatMap { $0.director.director.members.values } }

    /// Entries each member took in, from all the others.
    var received: [Int] {
        daemons.map { $0.director.director.members.values.reduce(0) { $0 + $1.figures.entries } }
    }

    /// Whether every member's sink of every other member took that member's stream.
    var linked: Bool {
        daemons.allSatisfy { daemon in
            let members = daemon.director.director.members
            guard members.count == names.count - 1 else { return false }
            return members.allSatisfy { name, sink in
                let index = names.firstIndex(of: name)!
                return sink.position.streamID == daemons[index].director.director.source?.streamID
            }
        }
    }

    func whileRunning<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        let daemons = daemons
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for daemon in daemons { group.addTask { try await daemon.run() } }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    func until(_ condition: () -> Bool) async {
        while !condition() { try? await Task.sleep(for: .milliseconds(1)) }
    }
}
