import Daemon
import Failover
import Foundation
import LVSyncTestSupport
import Mirror
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The failover soak: an elected pair in one process that must not fail over while everything that could delay a
/// heartbeat happens at once. Busy processes run on every core beside it; the active updates connections without a
/// pause; and the standby's peer links go through relays that the soak cuts whenever the standby is in sync, so that
/// the active is always streaming a snapshot of the whole table to it (the active keeps a small resume log, so every
/// new link starts with a snapshot). Loss on the path is the caller's: `ops/bench/soak.sh` runs the soak in a
/// network namespace whose loopback drops 1 % of packets. Every role change of either director is a false failover.
public struct FailoverSoak: Sendable {
    /// What the soak saw.
    public struct Result: Sendable {
        /// Connections in the table.
        public var connections: Int
        /// Busy processes beside the pair.
        public var hogs: Int
        /// Snapshots the standby received in full.
        public var snapshotsCompleted = 0
        /// Bytes of snapshots streamed (the table's encoded size, times the snapshots begun).
        public var snapshotBytes = 0
        /// Role changes of either director (none is asked for).
        public var falseFailovers = 0
        /// Each of them: who, from, to, why.
        public var roleChanges: [String] = []
        /// The longest silence either director's UDP path saw from its peer, milliseconds.
        public var longestSilenceMilliseconds = 0.0
        /// Datagrams taken as a sign of life, both directors.
        public var datagramsReceived = 0
    }

    let seconds: Int
    let connections: Int
    let timers: FailoverBenchmark.Timers
    let hogs: Int
    let churnPerSecond: Int

    /// Creates the soak.
    public init(seconds: Int, connections: Int, timers: FailoverBenchmark.Timers, hogs: Int, churnPerSecond: Int) {
        self.seconds = seconds
        self.connections = connections
        self.timers = timers
        self.hogs = hogs
        self.churnPerSecond = churnPerSecond
    }

    /// Runs the soak.
    public func run() async throws -> Result {
        var network = try SoakNetwork()
        defer { network.remove() }
        let (pki, ports, toA, toB) = (network.pki, network.ports, network.toA, network.toB)
        let a = try PairMember(
            name: "dira",
            priority: 150,
            port: ports[0],
            peer: ("dirb", toB.port),
            udp: (ports[2], ports[3]),
            timers: timers,
            logMegabytes: 1,
            pki: pki
        )
        let b = try PairMember(
            name: "dirb",
            priority: 100,
            port: ports[1],
            peer: ("dira", toA.port),
            udp: (ports[3], ports[2]),
            timers: timers,
            logMegabytes: 1,
            pki: pki
        )
        var result = Result(connections: connections, hogs: hogs)
        let tasks = [a, b].map { member in Task { try await member.daemon.run() } }
        defer { for task in tasks { task.cancel() } }
        guard await FailoverBenchmark.until(.seconds(30), { a.role == .active && b.isSyncedStandby }) else {
            throw DaemonError("failover soak: the pair did not form within 30 s")
        }
        let messages = RelayBenchmark.messages(connections)
        a.master.emit(messages)
        guard await FailoverBenchmark.until(.seconds(300), { b.backup.table.count >= connections }) else {
            throw DaemonError("failover soak: the standby did not mirror \(connections) connections within 300 s")
        }
        let bytesPerSnapshot = messages.reduce(0) { $0 + $1.count }
        let busy = try Hogs(count: hogs)
        defer { busy.stop() }
        let transitions = [a, b].map { $0.service.director.lastTransition?.at }
        let stop = StopFlag()
        let churn = Self.churn(
            a.master,
            messages: messages,
            connections: connections,
            perSecond: churnPerSecond,
            stop: stop
        )
        a.service.heartbeats.resetLongestSilence()
        b.service.heartbeats.resetLongestSilence()
        let end = ContinuousClock.now + .seconds(seconds)
        var seen = transitions
        while ContinuousClock.now < end {
            network.cut(ifInSync: b.isSyncedStandby)
            for (index, member) in [a, b].enumerated() {
                guard let last = member.service.director.lastTransition, last.at != seen[index] else { continue }
                seen[index] = last.at
                result.falseFailovers += 1
                result.roleChanges.append("\(member.name): \(last.from) → \(last.to) (\(last.reason))")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        stop.raised.store(true, ordering: .relaxed)
        _ = await churn.value
        result.snapshotsCompleted = network.snapshotsCompleted
        result.snapshotBytes = result.snapshotsCompleted * bytesPerSnapshot
        for member in [a, b] {
            for (_, figures) in member.service.heartbeats.peers {
                result.longestSilenceMilliseconds = max(
                    result.longestSilenceMilliseconds,
                    FailoverBenchmark.milliseconds(figures.longestSilence)
                )
                result.datagramsReceived += figures.received
            }
        }
        return result
    }
}

/// What both soaks set up first: certificates, four ports (each director's listener, then each one's UDP port) and
/// a relay to each listener, which each director dials the other through and the soak cuts.
struct SoakNetwork {
    let pki: TestPKI
    let ports: [Int]
    /// The relay to dira's listener (dirb dials it), and to dirb's.
    let toA: ThrottledRelay
    let toB: ThrottledRelay

    init() throws {
        pki = try TestPKI()
        ports = try freePorts(4)
        toA = try ThrottledRelay(to: ports[0], bytesPerSecond: nil)
        toB = try ThrottledRelay(to: ports[1], bytesPerSecond: nil)
    }

    /// When the links were last cut (nil: the standby has been out of sync since, or never cut).
    private var cutAt: ContinuousClock.Instant?
    /// Cuts made.
    private var cuts = 0

    func remove() {
        toA.stop()
        toB.stop()
        pki.remove()
    }

    /// Called every few milliseconds with whether the standby is in sync: once it is, both links are cut, and a new
    /// snapshot of the whole table begins on the next one; the next cut waits until the standby has been out of sync
    /// (the new link's snapshot began) or 2 s have passed (the cut found nothing to cut).
    mutating func cut(ifInSync inSync: Bool) {
        if let at = cutAt, !inSync || ContinuousClock.now - at > .seconds(2) {
            cutAt = nil
        } else if cutAt == nil, inSync {
            cuts += 1
            toA.cut()
            toB.cut()
            cutAt = .now
        }
    }

    /// Snapshots the standby received in full: one per cut, but the first cut follows the initial sync.
    var snapshotsCompleted: Int { max(0, cuts - 1) }
}

/// A flag a task polls to end.
final class StopFlag: Sendable {
    let raised = Atomic<Bool>(false)
}

extension FailoverSoak {
    /// The active's connections updated without a pause, `perSecond` of the `connections` in `messages` a second in
    /// ticks of 10 ms, until `stop` is raised: the stream goes on beside the snapshots.
    static func churn(
        _ master: InMemoryKernelMaster,
        messages: [[UInt8]],
        connections: Int,
        perSecond: Int,
        stop: StopFlag
    ) -> Task<Void, Never> {
        let entriesPerMessage = max(1, connections / max(1, messages.count))
        let messagesPerTick = max(1, perSecond / 100 / entriesPerMessage)
        return Task.detached {
            var next = 0
            while !stop.raised.load(ordering: .relaxed) {
                let first = next % messages.count
                let slice = messages[first..<min(messages.count, first + messagesPerTick)]
                master.emit(Array(slice))
                next += slice.count
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}

/// Busy processes, one per core by default: `sh -c 'while :; do :; done'`, killed with the soak.
final class Hogs: Sendable {
    private let pids: [Int32]

    init(count: Int) throws {
        var started: [Int32] = []
        for _ in 0..<count {
            var pid: pid_t = 0
            let words = ["/bin/sh", "-c", "while :; do :; done"]
            let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            // The spawning thread may block signals (NIO's threads do): the busy process starts with none blocked.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
            let status = posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, environ)
            guard status == 0 else {
                throw DaemonError("cannot start a busy process: \(String(cString: strerror(status)))")
            }
            started.append(pid)
        }
        pids = started
    }

    func stop() {
        for pid in pids {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}
