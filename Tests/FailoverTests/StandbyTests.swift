import Failover
import Testing

/// A director that booted, heard `peer` active at 100 ms, and is standby.
func standby(
    _ configuration: ElectionConfiguration,
    peer: inout FakePeer,
    peerPriority: Int = 100
) -> Election {
    var (election, _) = started(configuration)
    _ = election.heartbeatReceived(peer.says(.active, priority: peerPriority), path: .link, now: t(100))
    return election
}

@Suite("Standby: the dead interval, peers that leave, stale adverts")
struct StandbyTests {
    @Test("the active peer is dead exactly one dead interval after it was last heard, not before")
    func deadIntervalBoundary() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100), peer: &peer)
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(1000))
        #expect(election.nextDeadline(after: t(1000)) == t(1100))
        _ = election.tick(now: t(1100))
        #expect(election.nextDeadline(after: t(1100)) == t(1200))
        _ = election.tick(now: t(1200))
        let justBefore = election.tick(now: t(1300) + .nanoseconds(-1))
        #expect(justBefore.transitions.isEmpty)
        #expect(election.state == .standby)
        let atBoundary = election.tick(now: t(1300))
        #expect(atBoundary.transitions == [.active])
        #expect(atBoundary.reasons == [.peerSilent("dira")])
        #expect(atBoundary.takesVIPs)
    }

    @Test("a heartbeat just before the boundary keeps the standby standby")
    func heartbeatResetsDeadInterval() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100), peer: &peer)
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(399))
        #expect(election.tick(now: t(400)).transitions.isEmpty)
        #expect(election.tick(now: t(698)).transitions.isEmpty)
        #expect(election.tick(now: t(699)).transitions == [.active])
    }

    @Test("an active that advertises fault or stopped is replaced at once", arguments: [ElectionState.fault, .stopped])
    func activeLeaves(_ leaving: ElectionState) throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 50), peer: &peer, peerPriority: 200)
        let actions = election.heartbeatReceived(peer.says(leaving, priority: 0), path: .link, now: t(150))
        #expect(actions.transitions == [.active])
        #expect(actions.reasons == [.noActivePeer])
    }

    @Test("a standby peer that ranks higher claims; this one waits for it")
    func betterStandbyClaims() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100), peer: &peer)
        let actions = election.heartbeatReceived(
            peer.says(.standby, priority: 100, inSync: true),
            path: .link,
            now: t(150)
        )
        #expect(actions.transitions.isEmpty)
        #expect(election.state == .standby)
    }

    @Test("a late copy of an older advert by the other path does not undo a newer one")
    func staleAdvertIgnored() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 50), peer: &peer, peerPriority: 200)
        let stale = peer.says(.active, priority: 200)
        let fault = peer.says(.fault, priority: 0)
        #expect(election.heartbeatReceived(fault, path: .link, now: t(150)).transitions == [.active])
        let late = election.heartbeatReceived(stale, path: .udp, now: t(151))
        #expect(late.transitions.isEmpty)
        #expect(election.state == .active)
        #expect(election.peers["dira"]?.advert.state == .fault)
    }

    @Test("a restarted active (new incarnation, lower sequence) is believed; the in-sync standby takes over (#1076)")
    func newIncarnation() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 50), peer: &peer, peerPriority: 200)
        _ = election.heartbeatReceived(peer.says(.active, priority: 200), path: .link, now: t(150))
        _ = election.syncStatusChanged(inSync: true, now: t(155))
        var restarted = FakePeer("dira")
        restarted.incarnation = 78
        let actions = election.heartbeatReceived(restarted.says(.initialising, priority: 200), path: .link, now: t(160))
        #expect(election.peers["dira"]?.advert.incarnation == 78)
        #expect(actions.transitions == [.active])
        #expect(actions.reasons == [.noActivePeer])
    }

    @Test("adverts go out every heartbeat interval and at once on a change")
    func advertCadence() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100), peer: &peer)
        let sent = try #require(election.lastAdvert)
        #expect(election.tick(now: t(199)).adverts.isEmpty)
        let periodic = election.tick(now: t(200)).adverts
        #expect(periodic.count == 1)
        #expect(periodic.first?.sequence == sent.sequence + 1)
        let change = election.syncStatusChanged(inSync: true, now: t(210)).adverts
        #expect(change.map(\.inSync) == [true])
        #expect(election.syncStatusChanged(inSync: true, now: t(220)).adverts.isEmpty)
    }

    @Test("its own name in an advert is ignored")
    func ownName() throws {
        var (election, _) = started(try configuration("dira", priority: 100))
        var echo = FakePeer("dira")
        #expect(election.heartbeatReceived(echo.says(.active, priority: 255), path: .udp, now: t(10)).isEmpty)
        #expect(election.peers.isEmpty)
    }
}
