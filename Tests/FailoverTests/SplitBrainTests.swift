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
}
