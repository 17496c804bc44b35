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
/// mutual TLS on loopback, built from configuration files with the timers given (the production defaults: link
/// heartbeat 100 ms, dead interval 500 ms, the UDP path every 9 ms with a multiplier of 5), whose kernels and VIPs
/// are in-memory twins that note when each VIP was added or removed and each announcement sent. What it measures is
/// lvsync's own share of a failover; the kernel's share (netlink calls, the sync threads, announcements) is the
/// lab's (`ops/lab/scenarios/failover.sh`).
///
/// Each round: a planned handover with `lvsync drill`'s procedure (the request to the new active's advert, to its
/// VIPs held and announced, and the time nobody held them), then the new active stopped without a word (its service
/// halted: no goodbye, its election thread ends at once, the peer must notice the silence), timed to the
/// standby's VIPs held and announced; the stopped director comes back and resyncs before the next round.
public struct FailoverBenchmark: Sendable {
    /// The timers both directors run with.
    public struct Timers: Sendable, CustomStringConvertible {
        /// The link's heartbeat interval.
        public var heartbeatMilliseconds = 100
        /// The link's dead interval.
        public var deadMilliseconds = 500
        /// The UDP path's interval; nil: no UDP path (the link alone).
        public var udpIntervalMilliseconds: Int? = 9
        /// The UDP path's multiplier.
        public var detectMultiplier = 5
        /// The election thread's `SCHED_FIFO` priority (0: the normal scheduler).
        public var realtimePriority = 10

        /// The production defaults.
        public init() {}

        public var description: String {
            let realtime = realtimePriority > 0 ? ", SCHED_FIFO \(realtimePriority)" : ", not real-time"
            let udp = udpIntervalMilliseconds.map { "udp \($0) ms × \(detectMultiplier)\(realtime)" } ?? "no udp path"
            return "link \(heartbeatMilliseconds)/\(deadMilliseconds) ms, \(udp)"
        }
    }

    /// What the benchmark measured, per round.
    public struct Result: Sendable {
        /// Connections mirrored.
        public var connections: Int
        /// Drill: request to the new active's advert as active, milliseconds.
        public var drillHandoverMilliseconds: [Double] = []
        /// Drill: the checks before the handover (the kernel's table re-sent and acknowledged), milliseconds.
        public var drillChecksMilliseconds: [Double] = []
        /// Drill: the handover request to the new active's VIPs held and announced, milliseconds.
        public var drillVIPMilliseconds: [Double] = []
        /// Drill: how long no director held the VIPs (0 when the new one held them before the old one let go).
        public var drillGapMilliseconds: [Double] = []
        /// Drill: how long both held them.
        public var drillOverlapMilliseconds: [Double] = []
        /// Connections lost in the drills (the old active's table minus the new active's).
        public var drillConnectionsLost = 0
        /// Crash: the active stopped without a word to the standby's VIPs on its interface, milliseconds.
        public var crashHeldMilliseconds: [Double] = []
        /// Crash: to the standby's first announcement of the VIPs, milliseconds.
        public var crashAnnouncedMilliseconds: [Double] = []
        /// Crash: why the standby took over, and how often.
        public var crashReasons: [String: Int] = [:]
        /// The crashed director back as an in-sync standby (snapshot included), seconds.
        public var rejoinSeconds: [Double] = []
    }

    let rounds: Int
    let connections: Int
    let timers: Timers

    /// Creates the benchmark.
    public init(rounds: Int = 50, connections: Int = 100_000, timers: Timers = Timers()) {
        self.rounds = rounds
        self.connections = connections
        self.timers = timers
    }

    /// Runs the rounds.
    public func run() async throws -> Result {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ports = try freePorts(4)
        let names = ["dira", "dirb"]
        let timers = timers
        func make(_ index: Int) throws -> PairMember {
            try PairMember(
                name: names[index],
                priority: index == 0 ? 150 : 100,
                port: ports[index],
                peer: (names[1 - index], ports[1 - index]),
                udp: (ports[2 + index], ports[3 - index]),
                timers: timers,
                pki: pki
            )
        }
        var result = Result(connections: connections)
        var members = [try make(0), try make(1)]
        var tasks = members.map { member in Task { try await member.daemon.run() } }
        defer { for task in tasks { task.cancel() } }
        guard await Self.until(.seconds(30), { members[0].role == .active && members[1].isSyncedStandby }) else {
            throw DaemonError("failover bench: the pair did not form within 30 s")
        }
        members[0].master.emit(RelayBenchmark.messages(connections))
        guard await Self.until(.seconds(120), { members[1].backup.table.count >= connections }) else {
            throw DaemonError("failover bench: the standby did not mirror \(connections) connections within 120 s")
        }
        var active = 0
        for _ in 0..<rounds {
            let standby = 1 - active
            guard await Self.until(.seconds(30), { members[standby].isSyncedStandby && members[standby].hearsPeerFast })
            else {
                throw DaemonError("failover bench: \(members[standby].name) is not an in-sync standby")
            }
            // The planned handover.
            let (old, taker) = (members[active], members[standby])
            let started = ContinuousClock.now
            let report = await old.service.drill(force: false, kernelConnections: { [] }) { _ in }
            guard report.completed, let handover = report.handoverMilliseconds else {
                throw DaemonError("failover bench: the drill was refused: \(report.refusal ?? "no reason")")
            }
            guard await Self.until(.seconds(10), { taker.announced(after: started) != nil && !old.holdsVIP }),
                let added = taker.vipChange(added: true, after: started),
                let removed = old.vipChange(added: false, after: started),
                let announced = taker.announced(after: started)
            else {
                throw DaemonError("failover bench: the VIPs did not move from \(old.name) to \(taker.name)")
            }
            result.drillHandoverMilliseconds.append(handover)
            let checks = report.checksMilliseconds ?? 0
            result.drillChecksMilliseconds.append(checks)
            result.drillVIPMilliseconds.append(Self.milliseconds(max(added, announced) - started) - checks)
            result.drillGapMilliseconds.append(max(0, Self.milliseconds(added - removed)))
            result.drillOverlapMilliseconds.append(max(0, Self.milliseconds(removed - added)))
            result.drillConnectionsLost += report.connectionsLost ?? 0
            // The crash of the new active: its service cancelled, no goodbye.
            let crashed = standby
            let survivor = active
            guard
                await Self.until(
                    .seconds(30),
                    { members[survivor].isSyncedStandby && members[survivor].hearsPeerFast }
                )
            else {
                throw DaemonError("failover bench: \(members[survivor].name) did not resync after the drill")
            }
            // The election's thread ends first: a cancelled service shuts down gracefully (a `stopped` advert),
            // which a crash does not.
            let crashAt = ContinuousClock.now
            members[crashed].service.halt()
            tasks[crashed].cancel()
            let rescuer = members[survivor]
            guard
                await Self.until(.seconds(10), { rescuer.announced(after: crashAt) != nil && rescuer.role == .active }),
                let held = rescuer.vipChange(added: true, after: crashAt),
                let first = rescuer.announced(after: crashAt)
            else {
                throw DaemonError("failover bench: \(rescuer.name) did not take over after the crash")
            }
            result.crashHeldMilliseconds.append(Self.milliseconds(held - crashAt))
            result.crashAnnouncedMilliseconds.append(Self.milliseconds(first - crashAt))
            result.crashReasons[rescuer.service.director.lastTransition?.reason ?? "?", default: 0] += 1
            _ = await tasks[crashed].result
            // It comes back (an empty table) and resyncs.
            let rejoinAt = ContinuousClock.now
            members[crashed] = try make(crashed)
            let member = members[crashed]
            tasks[crashed] = Task { try await member.daemon.run() }
            guard
                await Self.until(
                    .seconds(120),
                    {
                        members[crashed].isSyncedStandby && members[crashed].backup.table.count >= connections
                    }
                )
            else {
                throw DaemonError("failover bench: \(members[crashed].name) did not rejoin in sync within 120 s")
            }
            result.rejoinSeconds.append(Self.milliseconds(ContinuousClock.now - rejoinAt) / 1000)
            active = survivor
        }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Double {
        duration / .milliseconds(1)
    }

    /// Polls `condition` every half millisecond until it holds (true) or `limit` passes (false).
    static func until(_ limit: Duration, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .microseconds(500))
        }
        return condition()
    }
}

/// One director of the benchmark's pair: a daemon built from its configuration file on an in-memory host.
final class PairMember: Sendable {
    let name: String
    let machine = InMemoryHost()
    let daemon: LVSyncDaemon
    let peerName: String
    let fastPath: Bool
    static let vip = FailoverConfig.VIP(address: .v4(IPv4Address(10, 0, 0, 100)), prefixLength: 32, interface: "eth0")
    static let key = Array("the benchmark's heartbeat key, 32 bytes".utf8)

    /// - Parameters:
    ///   - peer: the peer's name and the port this director dials it at (its listener, or a relay to it).
    ///   - udp: this director's UDP heartbeat port and the peer's.
    convenience init(
        name: String,
        priority: Int,
        port: Int,
        peer: (name: String, port: Int),
        udp: (listen: Int, peer: Int),
        timers: FailoverBenchmark.Timers,
        logMegabytes: Int = 256,
        pki: TestPKI
    ) throws {
        let yaml = try Self.configuration(
            name: name,
            priority: priority,
            port: port,
            peer: peer,
            udp: udp,
            timers: timers,
            logMegabytes: logMegabytes,
            pki: pki
        )
        try self.init(name: name, peerName: peer.name, fastPath: timers.udpIntervalMilliseconds != nil, yaml: yaml)
    }

    /// A director built from the configuration text `yaml` (``configuration(name:priority:port:peer:udp:timers:logMegabytes:pki:)``
    /// wrote it, perhaps in another process).
    init(name: String, peerName: String, fastPath: Bool, yaml: String) throws {
        self.name = name
        self.peerName = peerName
        self.fastPath = fastPath
        let config = try LVSyncConfig(yaml: yaml, file: "\(name).yaml")
        daemon = try LVSyncDaemon(
            file: config,
            path: "\(name).yaml",
            host: machine.host,
            logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        )
    }

    /// The configuration file of a benchmark director: certificates issued by `pki`, the VIP, the timers.
    static func configuration(
        name: String,
        priority: Int,
        port: Int,
        peer: (name: String, port: Int),
        udp: (listen: Int, peer: Int),
        timers: FailoverBenchmark.Timers,
        logMegabytes: Int,
        pki: TestPKI
    ) throws -> String {
        var file = TestDirectorFile(node: name, listen: port, peers: [peer])
        file.priority = priority
        (file.heartbeatMilliseconds, file.deadMilliseconds) = (timers.heartbeatMilliseconds, timers.deadMilliseconds)
        file.logMegabytes = logMegabytes
        file.failover = """
            boot_wait_ms: \(max(1500, 3 * timers.deadMilliseconds))
            vips: [{ address: 10.0.0.100/32, interface: eth0 }]
            announce: { count: 3, interval_ms: 100 }
            """
        if let interval = timers.udpIntervalMilliseconds {
            try pki.write(String(decoding: Self.key, as: UTF8.self), to: "\(name)-heartbeat.key")
            file.failover! += """

                udp_heartbeat:
                  listen: 127.0.0.1:\(udp.listen)
                  peers: [{ name: \(peer.name), address: 127.0.0.1:\(udp.peer) }]
                  key_file: \(pki.path("\(name)-heartbeat.key"))
                  interval_ms: \(interval)
                  detect_multiplier: \(timers.detectMultiplier)
                  realtime_priority: \(timers.realtimePriority)
                """
        }
        return try file.yaml(pki: pki)
    }

    var service: DirectorService { daemon.director }
    var master: InMemoryKernelMaster { machine.master }
    var backup: InMemoryKernelBackup { machine.backup }
    var role: ElectionState { service.director.role }
    var holdsVIP: Bool { machine.addresses.addresses.contains(Self.vip.virtualAddress) }
    var isSyncedStandby: Bool { role == .standby && service.election.election?.inSync == true }
    /// Whether the election hears the peer on the UDP path (always true without the path).
    var hearsPeerFast: Bool {
        !fastPath || service.election.election?.peers[peerName]?.lastHeardOn[.udp] != nil
    }

    /// When the VIP was first added (or removed) after `time`.
    func vipChange(added: Bool, after time: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        machine.addresses.changes.first { $0.at > time && $0.added == added && $0.address == Self.vip.virtualAddress }?
            .at
    }

    /// When the VIPs were first announced after `time`.
    func announced(after time: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        machine.announcer.roundTimes.first { $0 > time }
    }
}
