import Config
import Daemon
import Failover
import Foundation
import IPVS
import Logging
import Mirror
import NIOCore
import NIOPosix
import PeerProtocol
import PeerTransport
import SyncWire

/// The failover paths of an elected pair in one process, at this machine's speed: two ``DirectorService``s over
/// mutual TLS on loopback with the production timers (heartbeat 100 ms, dead interval 500 ms), whose kernels and
/// VIPs are in-memory twins. What it measures is lvsync's own share of a failover; the kernel's share (netlink calls,
/// the sync threads, announcements) is the lab's (`ops/lab/scenarios/failover.sh`).
///
/// Each round: a planned handover with `lvsync drill`'s procedure (time from the request to the new active's first
/// advert as active, and to its holding the VIPs), then the new active stopped without a word (its service
/// cancelled: no goodbye, the peer must notice the silence), timed to the standby's holding the VIPs; the stopped
/// director comes back and resyncs before the next round.
public struct FailoverBenchmark: Sendable {
    /// What the benchmark measured, per round.
    public struct Result: Sendable {
        /// Connections mirrored.
        public var connections: Int
        /// Drill: request to the new active's advert as active, milliseconds.
        public var drillHandoverMilliseconds: [Double]
        /// Drill: the drill's start (the kernel table's re-send and the standby's acknowledgement included) to the new
        /// active's holding the VIPs, milliseconds.
        public var drillVIPMilliseconds: [Double]
        /// Connections lost in the drills (the old active's table minus the new active's).
        public var drillConnectionsLost: Int
        /// Crash: the active stopped without a word to the standby's holding the VIPs, milliseconds.
        public var crashVIPMilliseconds: [Double]
        /// The crashed director back as an in-sync standby (snapshot included), seconds.
        public var rejoinSeconds: [Double]
    }

    let rounds: Int
    let connections: Int

    /// Creates the benchmark.
    public init(rounds: Int = 10, connections: Int = 100_000) {
        self.rounds = rounds
        self.connections = connections
    }

    /// Runs the rounds.
    public func run() async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lvsync-bench-\(UUID().uuidString)"
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        try CertificateDirectory.initialize(directory: directory.path, nodes: ["dira", "dirb"])
        let ports = try FreePorts.take(2)
        let names = ["dira", "dirb"]
        func make(_ index: Int) throws -> PairMember {
            try PairMember(
                name: names[index],
                priority: index == 0 ? 150 : 100,
                port: ports[index],
                peer: (names[1 - index], ports[1 - index]),
                certificates: directory
            )
        }
        var result = Result(
            connections: connections,
            drillHandoverMilliseconds: [],
            drillVIPMilliseconds: [],
            drillConnectionsLost: 0,
            crashVIPMilliseconds: [],
            rejoinSeconds: []
        )
        var members = [try make(0), try make(1)]
        var tasks = members.map { member in Task { try await member.service.run() } }
        defer { for task in tasks { task.cancel() } }
        guard await Self.until(.seconds(30), { members[0].role == .active && members[1].isSyncedStandby }) else {
            throw DaemonError("failover bench: the pair did not form within 30 s")
        }
        members[0].master.emit(RelayBenchmark.messages(connections))
        guard await Self.until(.seconds(60), { members[1].backup.table.count >= connections }) else {
            throw DaemonError("failover bench: the standby did not mirror \(connections) connections within 60 s")
        }
        var active = 0
        for _ in 0..<rounds {
            let standby = 1 - active
            guard await Self.until(.seconds(30), { members[standby].isSyncedStandby }) else {
                throw DaemonError("failover bench: \(members[standby].name) is not an in-sync standby")
            }
            // The planned handover; the VIPs are watched from the request on (the drill itself goes on waiting
            // for the old active's table to come back).
            let taker = members[standby]
            let started = ContinuousClock.now
            let vipWatch = Task { () -> Duration? in
                await Self.until(.seconds(10), { taker.holdsVIP }) ? ContinuousClock.now - started : nil
            }
            let report = await members[active].service.drill(force: false, kernelConnections: { [] }) { _ in }
            guard report.completed, let handover = report.handoverMilliseconds else {
                vipWatch.cancel()
                throw DaemonError("failover bench: the drill was refused: \(report.refusal ?? "no reason")")
            }
            guard let vipTime = await vipWatch.value else {
                throw DaemonError("failover bench: \(members[standby].name) did not take the VIPs")
            }
            result.drillVIPMilliseconds.append(Self.milliseconds(vipTime))
            result.drillHandoverMilliseconds.append(handover)
            result.drillConnectionsLost += report.connectionsLost ?? 0
            // The crash of the new active: its service cancelled, no goodbye.
            let crashed = standby
            let survivor = active
            guard await Self.until(.seconds(30), { members[survivor].isSyncedStandby }) else {
                throw DaemonError("failover bench: \(members[survivor].name) did not resync after the drill")
            }
            let crashAt = ContinuousClock.now
            tasks[crashed].cancel()
            guard await Self.until(.seconds(10), { members[survivor].role == .active && members[survivor].holdsVIP })
            else {
                throw DaemonError("failover bench: \(members[survivor].name) did not take over after the crash")
            }
            result.crashVIPMilliseconds.append(Self.milliseconds(ContinuousClock.now - crashAt))
            _ = await tasks[crashed].result
            // It comes back (an empty table) and resyncs.
            let rejoinAt = ContinuousClock.now
            members[crashed] = try make(crashed)
            let member = members[crashed]
            tasks[crashed] = Task { try await member.service.run() }
            guard
                await Self.until(
                    .seconds(60),
                    {
                        members[crashed].isSyncedStandby && members[crashed].backup.table.count >= connections
                    }
                )
            else {
                throw DaemonError("failover bench: \(members[crashed].name) did not rejoin in sync within 60 s")
            }
            result.rejoinSeconds.append(Self.milliseconds(ContinuousClock.now - rejoinAt) / 1000)
            active = survivor
        }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Double {
        duration / .milliseconds(1)
    }

    /// Polls `condition` every millisecond until it holds (true) or `limit` passes (false).
    static func until(_ limit: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return condition()
    }
}

/// One director of the benchmark's pair: in-memory kernel twins, IPVS and VIPs, the production timers.
final class PairMember: Sendable {
    let name: String
    let master = InMemoryKernelMaster()
    let backup = InMemoryKernelBackup()
    let addresses = InMemoryVirtualAddresses()
    let service: DirectorService
    static let vip = FailoverConfig.VIP(address: .v4(IPv4Address(10, 0, 0, 100)), prefixLength: 32, interface: "eth0")

    init(name: String, priority: Int, port: Int, peer: (name: String, port: Int), certificates: URL) throws {
        self.name = name
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let sync = PeeringConfig.Sync(role: nil, interface: "lvsync0", address: IPv4Address(169, 254, 77, 1), syncID: 7)
        let (master, backup) = (self.master, self.backup)
        let director = Director(
            ports: Director.Ports(
                kernel: KernelSyncDaemons(ipvs: InMemoryIPVS(), sync: sync, logger: logger),
                addresses: addresses,
                openCapture: { master },
                injector: backup,
                kernelTable: { MirrorTable() }
            ),
            settings: Director.Settings(
                syncID: 7,
                maximumMessageLength: SyncWireLayout.defaultMaximumMessageLength,
                logCapacityBytes: 256 << 20,
                vips: [Self.vip]
            ),
            logger: logger
        )
        func file(_ suffix: String) -> String { certificates.appendingPathComponent(suffix).path }
        service = DirectorService(
            configuration: DirectorService.Configuration(
                session: SessionConfiguration(
                    node: name,
                    syncID: 7,
                    heartbeatInterval: .milliseconds(100),
                    deadInterval: .milliseconds(500)
                ),
                election: try ElectionConfiguration(
                    node: name,
                    priority: priority,
                    heartbeatInterval: .milliseconds(100),
                    deadInterval: .milliseconds(500),
                    bootWait: .milliseconds(1500)
                ),
                peers: [MirroringService.Peer(name: peer.name, host: "127.0.0.1", port: peer.port)],
                listen: ("127.0.0.1", port),
                announceCount: 3,
                announceInterval: .milliseconds(100)
            ),
            tls: try PeerTLS(
                identity: NodeIdentity.load(
                    certificateFile: file("\(name).pem"),
                    privateKeyFile: file("\(name)-key.pem"),
                    caFile: file("ca.pem")
                )
            ),
            director: director,
            logger: logger
        )
    }

    var role: ElectionState { service.director.role }
    var holdsVIP: Bool { addresses.held.contains(Self.vip) }
    var isSyncedStandby: Bool { role == .standby && service.election.election?.inSync == true }
}

/// Free TCP ports on loopback: bound to port 0, read, released (the pair must know each other's port up front).
enum FreePorts {
    static func take(_ count: Int) throws -> [Int] {
        var channels: [any Channel] = []
        for _ in 0..<count {
            channels.append(
                try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0)
                    .wait()
            )
        }
        defer { for channel in channels { try? channel.close().wait() } }
        return channels.compactMap { $0.localAddress?.port }
    }
}
