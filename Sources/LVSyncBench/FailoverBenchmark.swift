import Config
import Daemon
import Failover
import Foundation
import IPVS
import LVSyncTestSupport
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
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(2)
        let names = ["dira", "dirb"]
        func make(_ index: Int) throws -> PairMember {
            try PairMember(
                name: names[index],
                priority: index == 0 ? 150 : 100,
                port: ports[index],
                peer: (names[1 - index], ports[1 - index]),
                pki: pki
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
        var tasks = members.map { member in Task { try await member.daemon.run() } }
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
            tasks[crashed] = Task { try await member.daemon.run() }
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

/// One director of the benchmark's pair: a daemon built from its configuration file (the production timers) on an
/// in-memory host.
final class PairMember: Sendable {
    let name: String
    let machine = InMemoryHost()
    let daemon: LVSyncDaemon
    static let vip = FailoverConfig.VIP(address: .v4(IPv4Address(10, 0, 0, 100)), prefixLength: 32, interface: "eth0")

    init(name: String, priority: Int, port: Int, peer: (name: String, port: Int), pki: TestPKI) throws {
        self.name = name
        var file = TestDirectorFile(node: name, listen: port, peers: [peer])
        file.priority = priority
        (file.heartbeatMilliseconds, file.deadMilliseconds, file.logMegabytes) = (100, 500, 256)
        file.failover = """
            boot_wait_ms: 1500
            vips: [{ address: 10.0.0.100/32, interface: eth0 }]
            announce: { count: 3, interval_ms: 100 }
            """
        let config = try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "\(name).yaml")
        daemon = try LVSyncDaemon(
            file: config,
            path: "\(name).yaml",
            host: machine.host,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        )
    }

    var service: DirectorService { daemon.director }
    var master: InMemoryKernelMaster { machine.master }
    var backup: InMemoryKernelBackup { machine.backup }
    var role: ElectionState { service.director.role }
    var holdsVIP: Bool { machine.addresses.addresses.contains(Self.vip.virtualAddress) }
    var isSyncedStandby: Bool { role == .standby && service.election.election?.inSync == true }
}
