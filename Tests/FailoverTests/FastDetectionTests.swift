import Failover
import Testing

/// Heartbeat 100 ms, dead interval 300 ms, the UDP path's detection time 30 ms (10 ms × 3).
func fastConfiguration(_ node: String, priority: Int) throws -> ElectionConfiguration {
    try ElectionConfiguration(
        node: node,
        priority: priority,
        heartbeatInterval: .milliseconds(100),
        deadInterval: .milliseconds(300),
        bootWait: .seconds(1),
        udpDetectionTime: .milliseconds(30)
    )
}

@Suite("The UDP path as the failure detector: its detection time decides, the link's delay does not")
struct FastDetectionTests {
    /// dirb a standby of dira, which it hears on both paths up to `until` (UDP every 10 ms, the link every 100).
    func standbyHearingBoth(until end: Int64) throws -> (Election, FakePeer) {
        var peer = FakePeer("dira")
        var election = standby(try fastConfiguration("dirb", priority: 100), peer: &peer)
        var time: Int64 = 110
        while time <= end {
            let path: HeartbeatPath = time % 100 == 0 ? .link : .udp
            let actions = election.heartbeatReceived(peer.says(.active, priority: 200), path: path, now: t(time))
            #expect(actions.transitions.isEmpty)
            time += 10
        }
        return (election, peer)
    }

    @Test("the active is dead exactly the detection time after its last datagram, though its link spoke 10 ms before")
    func detectionTime() throws {
        var (election, _) = try standbyHearingBoth(until: 1000)
        // Last datagram at 990, last link advert at 1000.
        #expect(election.nextDeadline(after: t(1005)) == t(1020))
        #expect(election.tick(now: t(1020) + .nanoseconds(-1)).transitions.isEmpty)
        let dead = election.tick(now: t(1020))
        #expect(dead.transitions == [.active])
        #expect(dead.reasons == [.udpHeartbeatsStopped("dira")])
    }

    @Test("a link silent for far longer than the dead interval (a snapshot ahead of its adverts) is no death")
    func linkDelayed() throws {
        var (election, peer) = try standbyHearingBoth(until: 200)
        for time in stride(from: Int64(210), through: 2000, by: 10) {
            let actions = election.heartbeatReceived(peer.says(.active, priority: 200), path: .udp, now: t(time))
            #expect(actions.transitions.isEmpty)
            #expect(election.tick(now: t(time + 5)).transitions.isEmpty)
        }
        #expect(election.state == .standby)
    }

    @Test("the UDP path cut while the link lives: one false claim at most, then the dead interval judges again")
    func udpPathCut() throws {
        var (election, peer) = try standbyHearingBoth(until: 1000)
        // The datagrams stop at 990; the link goes on every 100 ms. The standby cannot tell a cut from a death
        // within the detection time: it claims, and steps down on the active's next link advert.
        #expect(election.tick(now: t(1020)).transitions == [.active])
        let back = election.heartbeatReceived(peer.says(.active, priority: 200), path: .link, now: t(1100))
        #expect(back.transitions == [.standby])
        #expect(election.udpPathFailed("dira"))
        // From then on the link's dead interval decides: no more claims while its adverts arrive.
        for time in stride(from: Int64(1200), through: 3000, by: 100) {
            #expect(election.tick(now: t(time - 1)).transitions.isEmpty)
            _ = election.heartbeatReceived(peer.says(.active, priority: 200), path: .link, now: t(time))
        }
        #expect(election.state == .standby)
        // The path comes back: it decides again.
        _ = election.heartbeatReceived(peer.says(.active, priority: 200), path: .udp, now: t(3005))
        #expect(!election.udpPathFailed("dira"))
        #expect(election.nextDeadline(after: t(3006)) == t(3035))
    }

    @Test("a peer never heard on the UDP path is judged by the dead interval")
    func neverHeardOnUDP() throws {
        var peer = FakePeer("dira")
        var election = standby(try fastConfiguration("dirb", priority: 100), peer: &peer)
        _ = election.heartbeatReceived(peer.says(.active, priority: 200), path: .link, now: t(1000))
        #expect(election.tick(now: t(1299)).transitions.isEmpty)
        #expect(election.tick(now: t(1300)).reasons == [.peerSilent("dira")])
    }

    @Test("the detection time must be positive")
    func positive() throws {
        #expect(throws: FailoverError.self) {
            try ElectionConfiguration(node: "dira", priority: 100, udpDetectionTime: .zero)
        }
    }
}
