import Failover
import Testing

@Suite("Preemption: on or off, the delay, never with a table out of sync (keepalived #1076)")
struct PreemptionTests {
    @Test("with preemption off a higher-priority, in-sync standby never takes over")
    func preemptOff() throws {
        var peer = FakePeer("dirb")
        var election = standby(try configuration("dira", priority: 200, preempt: false), peer: &peer)
        var all = election.syncStatusChanged(inSync: true, now: t(110))
        for clock in stride(from: Int64(200), through: 5000, by: 100) {
            all += election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(clock))
        }
        #expect(!all.takesVIPs)
        #expect(election.state == .standby)
    }

    @Test("out of sync, a higher-priority standby waits; in sync, it takes over (#1076)")
    func noPreemptionOutOfSync() throws {
        var peer = FakePeer("dirb")
        var election = standby(try configuration("dira", priority: 200), peer: &peer)
        var waiting: [Election.Action] = []
        for clock in stride(from: Int64(200), through: 2000, by: 100) {
            waiting += election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(clock))
            waiting += election.tick(now: t(clock + 50))
        }
        #expect(!waiting.takesVIPs)
        let synced = election.syncStatusChanged(inSync: true, now: t(2060))
        #expect(synced.transitions == [.active])
        #expect(synced.reasons == [.preempted("dirb")])
    }

    @Test("the preempt delay must pass without a break in the conditions")
    func preemptDelay() throws {
        var peer = FakePeer("dirb")
        let config = try configuration("dira", priority: 200, preemptDelay: .milliseconds(500))
        var election = standby(config, peer: &peer)
        _ = election.syncStatusChanged(inSync: true, now: t(150))
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(200))
        _ = election.syncStatusChanged(inSync: false, now: t(400))
        _ = election.syncStatusChanged(inSync: true, now: t(450))
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(500))
        #expect(election.tick(now: t(650)).transitions.isEmpty)
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(700))
        #expect(election.tick(now: t(949)).transitions.isEmpty)
        let due = election.tick(now: t(950))
        #expect(due.transitions == [.active])
        #expect(due.reasons == [.preempted("dirb")])
    }

    @Test("no preemption over a link that is down, even with UDP heartbeats and an in-sync flag")
    func noPreemptionWithoutLink() throws {
        var peer = FakePeer("dirb")
        var election = standby(try configuration("dira", priority: 200), peer: &peer)
        _ = election.peerLinkLost("dirb", now: t(105))
        var all = election.syncStatusChanged(inSync: true, now: t(110))
        for clock in stride(from: Int64(200), through: 1000, by: 100) {
            all += election.heartbeatReceived(peer.says(.active, priority: 100), path: .udp, now: t(clock))
        }
        #expect(!all.takesVIPs)
        let linkBack = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(1050))
        #expect(linkBack.transitions == [.active])
    }

    @Test("an equal priority does not preempt, whatever the names")
    func equalPriorityDoesNotPreempt() throws {
        var peer = FakePeer("dirb")
        var election = standby(try configuration("dira", priority: 100), peer: &peer)
        var all = election.syncStatusChanged(inSync: true, now: t(110))
        all += election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(200))
        #expect(!all.takesVIPs)
    }

    @Test("the preempted active steps down on the preemptor's first advert")
    func preemptedActiveStepsDown() throws {
        var (election, _) = started(try configuration("dirb", priority: 100))
        _ = election.tick(now: t(1000))
        #expect(election.state == .active)
        var peer = FakePeer("dira")
        _ = election.heartbeatReceived(peer.says(.standby, priority: 200, inSync: true), path: .link, now: t(1100))
        #expect(election.state == .active)
        let actions = election.heartbeatReceived(peer.says(.active, priority: 200), path: .link, now: t(1150))
        #expect(actions.transitions == [.standby])
        #expect(actions.reasons == [.splitBrain(winner: "dira", loser: "dirb")])
        #expect(election.inSync == false)
    }
}
