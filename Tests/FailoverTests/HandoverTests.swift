import Failover
import Testing

@Suite("Planned handover: only to an in-sync standby, taken at once, make before break")
struct HandoverTests {
    /// dira active (priority 200), dirb a standby it has heard.
    func activeWithStandby(peerInSync: Bool) throws -> (Election, FakePeer) {
        var (election, _) = started(try configuration("dira", priority: 200))
        var peer = FakePeer("dirb")
        _ = election.tick(now: t(1000))
        _ = election.heartbeatReceived(
            peer.says(.standby, priority: 100, inSync: peerInSync),
            path: .link,
            now: t(1010)
        )
        #expect(election.state == .active)
        return (election, peer)
    }

    @Test("with an in-sync standby the active names it at once, keeps the VIPs, and steps down when it is active")
    func immediate() throws {
        var (election, peer) = try activeWithStandby(peerInSync: true)
        let actions = election.requestHandover(now: t(1020))
        #expect(actions.transitions.isEmpty)
        #expect(actions.adverts.map(\.handoverTo) == ["dirb"])
        #expect(actions.adverts.map(\.state) == [.active])
        #expect(election.state == .active)
        // The target's adverts as a standby change nothing; its first as active ends the handover.
        #expect(
            election.heartbeatReceived(peer.says(.standby, priority: 100, inSync: true), path: .link, now: t(1030))
                .transitions.isEmpty
        )
        let taken = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(1040))
        #expect(taken.transitions == [.standby])
        #expect(taken.reasons == [.handoverTo("dirb")])
        #expect(taken.adverts.map(\.handoverTo) == [nil])
        #expect(taken.reannouncements.isEmpty)
    }

    @Test("a handover to a peer that outranks nobody: the old active with the higher priority still steps down")
    func higherPriorityStepsDown() throws {
        var (election, peer) = try activeWithStandby(peerInSync: true)
        _ = election.requestHandover(now: t(1020))
        // dirb (100) is active while dira (200) still is: not a split brain that dira wins, a handover.
        let taken = election.heartbeatReceived(peer.says(.active, priority: 100), path: .udp, now: t(1021))
        #expect(taken.reasons == [.handoverTo("dirb")])
    }

    @Test("it waits for the standby to advertise an in-sync table")
    func waitsForSync() throws {
        var (election, peer) = try activeWithStandby(peerInSync: false)
        #expect(election.requestHandover(now: t(1020)).transitions.isEmpty)
        #expect(election.tick(now: t(1100)).transitions.isEmpty)
        let synced = election.heartbeatReceived(
            peer.says(.standby, priority: 100, inSync: true),
            path: .link,
            now: t(1150)
        )
        #expect(synced.transitions.isEmpty)
        #expect(synced.adverts.map(\.handoverTo) == ["dirb"])
        let taken = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(1160))
        #expect(taken.reasons == [.handoverTo("dirb")])
    }

    @Test("without an in-sync standby by the deadline it stays active and says why")
    func noInSyncStandby() throws {
        var (election, peer) = try activeWithStandby(peerInSync: false)
        _ = election.requestHandover(now: t(1020), waitingAtMost: .milliseconds(200))
        _ = election.heartbeatReceived(peer.says(.standby, priority: 100), path: .link, now: t(1100))
        #expect(election.tick(now: t(1219)).handoverFailures.isEmpty)
        let failed = election.tick(now: t(1220))
        #expect(failed.handoverFailures.map(\.code) == ["handover_no_in_sync_peer"])
        #expect(election.state == .active)
        _ = election.heartbeatReceived(peer.says(.standby, priority: 100, inSync: true), path: .link, now: t(1250))
        #expect(election.state == .active)
    }

    @Test("only an active hands over, and only to a live standby")
    func refused() throws {
        var (starting, _) = started(try configuration("dira", priority: 200))
        #expect(starting.requestHandover(now: t(10)).handoverFailures.map(\.code) == ["handover_not_possible"])
        var (alone, _) = started(try configuration("dira", priority: 200))
        _ = alone.tick(now: t(1000))
        #expect(alone.requestHandover(now: t(1010)).handoverFailures.map(\.code) == ["handover_not_possible"])
        #expect(alone.state == .active)
    }

    @Test(
        "the standby named in the advert becomes active at once, even with a lower priority, and stays",
        arguments: [ElectionState.active, .standby]  // still active (make before break); stepped down (0.5)
    )
    func targetTakesOver(handingOverAs state: ElectionState) throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 50), peer: &peer, peerPriority: 200)
        let handover = peer.says(state, priority: 200, handoverTo: "dirb")
        let actions = election.heartbeatReceived(handover, path: .link, now: t(150))
        #expect(actions.transitions == [.active])
        #expect(actions.reasons == [.handoverFrom("dira")])
        // The old active's next advert, still active and still naming it, is no split brain to lose.
        let again = election.heartbeatReceived(
            peer.says(state, priority: 200, handoverTo: "dirb"),
            path: .udp,
            now: t(152)
        )
        #expect(again.transitions.isEmpty)
        #expect(election.state == .active)
        // A standby not named does nothing.
        var other = FakePeer("dira")
        var bystander = standby(try configuration("dirc", priority: 50), peer: &other, peerPriority: 200)
        var third = FakePeer("dirb")
        _ = bystander.heartbeatReceived(
            third.says(.active, priority: 50),
            path: .link,
            now: t(120)
        )
        #expect(bystander.heartbeatReceived(handover, path: .link, now: t(150)).transitions.isEmpty)
    }

    @Test("the drill between two machines: both hold the VIPs for about one transit, never nobody; no preempting back")
    func drill() throws {
        var pair = PairSimulation(
            a: try configuration("dira", priority: 200),
            b: try configuration("dirb", priority: 100),
            transit: .milliseconds(2)
        )
        pair.start(.a)
        pair.start(.b)
        pair.run(until: t(500))
        pair.event(.b) { $0.syncStatusChanged(inSync: true, now: $1) }
        pair.run(until: t(1000))
        #expect(pair.state(.a) == .active)
        let requested = pair.now
        pair.event(.a) { $0.requestHandover(now: $1) }
        var takenAt: ElectionTime?
        var bothSince: ElectionTime?
        var longestBoth = Duration.zero
        pair.run(until: t(3000)) { sim in
            if takenAt == nil, sim.state(.b) == .active { takenAt = sim.now }
            #expect(sim.state(.a) == .active || sim.state(.b) == .active, "nobody held the VIPs at \(sim.now)")
            if sim.bothActive {
                let since = bothSince ?? sim.now
                bothSince = since
                longestBoth = max(longestBoth, sim.now - since)
            } else {
                bothSince = nil
            }
        }
        let taken = try #require(takenAt)
        #expect(taken - requested < .milliseconds(100))
        #expect(longestBoth <= pair.transit + pair.step)
        pair.event(.a) { $0.syncStatusChanged(inSync: true, now: $1) }
        pair.run(until: t(5000))
        #expect(pair.state(.b) == .active)
        #expect(pair.state(.a) == .standby)
        #expect(pair.log[.a, default: []].map(\.1).handoverFailures.isEmpty)
    }

    @Test("a target that never takes over: after the dead interval the handover fails and the old active stays")
    func targetNeverTakesOver() throws {
        var (election, peer) = try activeWithStandby(peerInSync: true)
        _ = election.requestHandover(now: t(1020))
        #expect(election.state == .active)
        // The standby lost its sync meanwhile and never takes over; the old active goes on forwarding.
        _ = election.heartbeatReceived(peer.says(.standby, priority: 100), path: .link, now: t(1100))
        _ = election.heartbeatReceived(peer.says(.standby, priority: 100), path: .link, now: t(1200))
        #expect(election.tick(now: t(1319)).handoverFailures.isEmpty)
        let expired = election.tick(now: t(1320))
        #expect(expired.handoverFailures.map(\.code) == ["handover_not_taken"])
        #expect(expired.transitions.isEmpty)
        #expect(expired.adverts.map(\.handoverTo) == [nil])
        #expect(election.state == .active)
    }
}
