import Failover
import Testing

@Suite("Split brain: both active after a partition, exactly one stays within one heartbeat")
struct SplitBrainTests {
    /// Both boot alone (the partition), so both are active; returns them and the adverts they sent last.
    func twoActives(_ priorityA: Int, _ priorityB: Int, syncB: Bool) throws -> (Election, Election) {
        var (a, _) = started(try configuration("dira", priority: priorityA))
        var (b, _) = started(try configuration("dirb", priority: priorityB))
        _ = a.tick(now: t(1000))
        _ = b.tick(now: t(1000))
        if syncB { _ = b.syncStatusChanged(inSync: true, now: t(1001)) }
        _ = a.tick(now: t(1500))
        _ = b.tick(now: t(1500))
        #expect(a.state == .active)
        #expect(b.state == .active)
        return (a, b)
    }

    @Test(
        "both reach the same decision from the two crossing adverts, whichever arrives first",
        arguments: [(100, 100), (200, 100), (100, 200), (1, 255)],
        [true, false]
    )
    func sameDecision(priorities: (Int, Int), aHearsFirst: Bool) throws {
        var (a, b) = try twoActives(priorities.0, priorities.1, syncB: true)
        let aAdvert = try #require(a.lastAdvert)
        let bAdvert = try #require(b.lastAdvert)
        var aActions: [Election.Action] = []
        var bActions: [Election.Action] = []
        if aHearsFirst {
            aActions = a.heartbeatReceived(bAdvert, path: .link, now: t(1501))
            bActions = b.heartbeatReceived(aAdvert, path: .link, now: t(1502))
        } else {
            bActions = b.heartbeatReceived(aAdvert, path: .link, now: t(1501))
            aActions = a.heartbeatReceived(bAdvert, path: .link, now: t(1502))
        }
        let winner = priorities.0 >= priorities.1 ? "dira" : "dirb"
        let loser = winner == "dira" ? "dirb" : "dira"
        #expect([a, b].filter { $0.state == .active }.map(\.configuration.node) == [winner])
        let loserActions = winner == "dira" ? bActions : aActions
        let winnerActions = winner == "dira" ? aActions : bActions
        #expect(loserActions.reasons == [.splitBrain(winner: winner, loser: loser)])
        #expect(winnerActions.transitions.isEmpty)
        // The loser's standby advert reaches the winner: nothing more happens.
        let loserAdvert = try #require((winner == "dira" ? b : a).lastAdvert)
        #expect(loserAdvert.state == .standby)
        if winner == "dira" {
            #expect(a.heartbeatReceived(loserAdvert, path: .link, now: t(1503)).transitions.isEmpty)
        } else {
            #expect(b.heartbeatReceived(loserAdvert, path: .link, now: t(1503)).transitions.isEmpty)
        }
    }

    @Test("a healed partition of the only link: one active within one heartbeat of the link's return")
    func healedPartition() throws {
        var pair = PairSimulation(
            a: try configuration("dira", priority: 100),
            b: try configuration("dirb", priority: 200)
        )
        pair.start(.a)
        pair.start(.b)
        pair.run(until: t(2000))
        #expect(pair.state(.b) == .active)
        #expect(pair.state(.a) == .standby)
        pair.cutLink()
        pair.run(until: t(3000))
        #expect(pair.bothActive)
        pair.healLink()
        let healedAt = pair.now
        var resolvedAt: ElectionTime?
        pair.run(until: t(4000)) { sim in
            if resolvedAt == nil, !sim.bothActive { resolvedAt = sim.now }
        }
        let resolved = try #require(resolvedAt)
        #expect(resolved - healedAt <= .milliseconds(100) + pair.transit)
        #expect(pair.state(.b) == .active)
        #expect(pair.state(.a) == .standby)
    }

    @Test("the one that stays announces its VIPs again: when it hears the other active, and when that one releases")
    func winnerReannounces() throws {
        var (a, b) = try twoActives(200, 100, syncB: false)
        // b's first advert reaching a says active: a stays, and announces again.
        let bActive = try #require(b.lastAdvert)
        let heard = a.heartbeatReceived(bActive, path: .link, now: t(1501))
        #expect(a.state == .active)
        #expect(heard.reannouncements == [.peerAlsoActive("dirb")])
        let loserActions = b.heartbeatReceived(try #require(a.lastAdvert), path: .link, now: t(1502))
        #expect(b.state == .standby)
        #expect(loserActions.reannouncements.isEmpty)
        let released = a.heartbeatReceived(try #require(b.lastAdvert), path: .link, now: t(1503))
        #expect(released.reannouncements == [.peerReleased("dirb")])
        // Its periodic adverts as a standby change nothing.
        _ = b.tick(now: t(1610))
        #expect(a.heartbeatReceived(try #require(b.lastAdvert), path: .link, now: t(1611)).reannouncements.isEmpty)
    }

    @Test("an active announces again when a peer starts (it may have left the VIPs behind), never when it steps down")
    func reannouncesOnPeerStart() throws {
        var (a, _) = started(try configuration("dira", priority: 100))
        _ = a.tick(now: t(1000))
        #expect(a.state == .active)
        var peer = FakePeer("dirb")
        #expect(
            a.heartbeatReceived(peer.says(.initialising, priority: 50), path: .link, now: t(1100)).reannouncements
                == [.peerStarted("dirb")]
        )
        #expect(
            a.heartbeatReceived(peer.says(.standby, priority: 50), path: .link, now: t(1150)).reannouncements.isEmpty
        )
        // The same peer restarted: a new incarnation.
        var restarted = FakePeer("dirb")
        restarted.incarnation = 78
        #expect(
            a.heartbeatReceived(restarted.says(.initialising, priority: 50), path: .link, now: t(1200))
                .reannouncements == [.peerStarted("dirb")]
        )
        // A better active peer: this one steps down and announces nothing.
        let stepDown = a.heartbeatReceived(restarted.says(.active, priority: 250), path: .link, now: t(1250))
        #expect(a.state == .standby)
        #expect(stepDown.reannouncements.isEmpty)
    }
}
