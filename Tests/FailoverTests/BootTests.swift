import Failover
import Testing

@Suite("Boot: wait to hear a peer before claiming the VIPs (keepalived #2231)")
struct BootTests {
    @Test("alone, it claims exactly when the boot wait ends, not a nanosecond before")
    func aloneClaimsAtBootWait() throws {
        var (election, first) = started(try configuration("dira", priority: 100))
        #expect(election.state == .initialising)
        #expect(first.adverts.map(\.state) == [.initialising])
        let early = election.tick(now: t(1000) + .nanoseconds(-1))
        #expect(early.transitions.isEmpty)
        #expect(election.state == .initialising)
        #expect(election.nextDeadline(after: t(950)) == t(1000))
        let onTime = election.tick(now: t(1000))
        #expect(onTime.transitions == [.active])
        #expect(onTime.reasons == [.bootWaitExpired])
        #expect(onTime.takesVIPs)
        #expect(onTime.adverts.map(\.state) == [.active])
        #expect(election.lastTransition.at == t(1000))
    }

    @Test("a peer that answers in time as active makes it a standby; it never takes the VIPs (#2231)")
    func activePeerAnswersInTime() throws {
        var (election, _) = started(try configuration("dira", priority: 200))
        var peer = FakePeer("dirb")
        var all: [Election.Action] = []
        all += election.tick(now: t(400))
        all += election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(500))
        #expect(all.transitions == [.standby])
        #expect(all.reasons == [.peerIsActive("dirb")])
        var clock: Int64 = 500
        while clock < 3000 {
            clock += 100
            all += election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(clock))
            all += election.tick(now: t(clock + 50))
        }
        #expect(!all.takesVIPs)
        #expect(election.state == .standby)
    }

    @Test(
        "two directors booting together: one claims, the other waits, no flapping",
        arguments: [(200, 100), (100, 200)]
    )
    func bootTogether(priorities: (Int, Int)) throws {
        var (a, aStart) = started(try configuration("dira", priority: priorities.0))
        var (b, bStart) = started(try configuration("dirb", priority: priorities.1))
        let aAdvert = try #require(aStart.adverts.first)
        let bAdvert = try #require(bStart.adverts.first)
        let aActions = a.heartbeatReceived(bAdvert, path: .link, now: t(10))
        let bActions = b.heartbeatReceived(aAdvert, path: .link, now: t(10))
        let winner = priorities.0 > priorities.1 ? "dira" : "dirb"
        #expect(a.state == (winner == "dira" ? .active : .standby))
        #expect(b.state == (winner == "dirb" ? .active : .standby))
        #expect(aActions.transitions.count == 1)
        #expect(bActions.transitions.count == 1)
        let loserActions = winner == "dira" ? bActions : aActions
        #expect(loserActions.reasons == [.outrankedBy(winner)])
    }

    @Test("restarted with an empty table, it lets the in-sync standby take over instead of claiming (#1076)")
    func restartedNodeDefersToInSyncStandby() throws {
        var (election, _) = started(try configuration("dira", priority: 200))
        var peer = FakePeer("dirb")
        let actions = election.heartbeatReceived(
            peer.says(.standby, priority: 100, inSync: true),
            path: .link,
            now: t(50)
        )
        #expect(actions.transitions == [.standby])
        #expect(actions.reasons == [.outrankedBy("dirb")])
        #expect(!actions.takesVIPs)
    }

    @Test("a fault at boot that clears before the boot wait returns to initialising, not active")
    func faultAtBoot() throws {
        var (election, _) = started(try configuration("dira", priority: 100, health: [.syncInterface: .fault]))
        let down = election.healthChanged(.syncInterface, ok: false, now: t(10))
        #expect(down.transitions == [.fault])
        #expect(down.adverts.map(\.priority) == [0])
        let up = election.healthChanged(.syncInterface, ok: true, now: t(200))
        #expect(up.transitions == [.initialising])
        #expect(!up.takesVIPs)
        #expect(election.tick(now: t(999)).transitions.isEmpty)
        #expect(election.tick(now: t(1000)).transitions == [.active])
    }
}
