import Failover
import Testing

@Suite("Health conditions: priority penalties and step-down")
struct HealthTests {
    static let health: [HealthCondition: HealthResponse] = [
        .interface("eth0"): .lowerPriority(by: 30),
        .interface("eth1"): .lowerPriority(by: 200),
        .ipvs: .fault,
        .syncInterface: .fault,
    ]

    /// An active director (alone through the boot wait).
    func active(priority: Int = 100) throws -> Election {
        var (election, _) = started(try configuration("dira", priority: priority, health: Self.health))
        _ = election.tick(now: t(1000))
        return election
    }

    @Test("penalties add up, never below 1, are advertised at once, and go away on recovery")
    func penalties() throws {
        var election = try active()
        #expect(election.effectivePriority == 100)
        #expect(election.healthChanged(.interface("eth0"), ok: false, now: t(1010)).adverts.map(\.priority) == [70])
        #expect(election.healthChanged(.interface("eth1"), ok: false, now: t(1020)).adverts.map(\.priority) == [1])
        #expect(election.healthChanged(.interface("eth1"), ok: true, now: t(1030)).adverts.map(\.priority) == [70])
        #expect(election.healthChanged(.interface("eth0"), ok: true, now: t(1040)).adverts.map(\.priority) == [100])
        #expect(election.state == .active)
    }

    @Test("a condition the configuration does not list changes nothing")
    func unknownCondition() throws {
        var election = try active()
        #expect(election.healthChanged(.interface("eth9"), ok: false, now: t(1010)).isEmpty)
        #expect(election.effectivePriority == 100)
    }

    @Test("a step-down condition puts the active in fault with priority 0; it comes back as standby")
    func faultAndBack() throws {
        var election = try active()
        let down = election.healthChanged(.ipvs, ok: false, now: t(1010))
        #expect(down.transitions == [.fault])
        #expect(down.reasons == [.healthFailed(.ipvs)])
        #expect(down.adverts.map(\.state) == [.fault])
        #expect(down.adverts.map(\.priority) == [0])
        #expect(down.contains(.enterFault(.healthFailed(.ipvs))))
        _ = election.healthChanged(.syncInterface, ok: false, now: t(1020))
        var peer = FakePeer("dirb")
        _ = election.heartbeatReceived(peer.says(.active, priority: 50), path: .link, now: t(1030))
        #expect(election.healthChanged(.ipvs, ok: true, now: t(1040)).transitions.isEmpty)
        #expect(election.state == .fault)
        let up = election.healthChanged(.syncInterface, ok: true, now: t(1050))
        #expect(up.transitions == [.standby])
        #expect(up.reasons == [.healthRestored])
        #expect(!up.takesVIPs)
    }

    @Test("a standby in fault is no candidate: the other standby claims")
    func faultStandbyIsNoCandidate() throws {
        var (election, _) = started(try configuration("dirb", priority: 50))
        var peer = FakePeer("dira")
        _ = election.heartbeatReceived(peer.says(.standby, priority: 200, inSync: true), path: .link, now: t(10))
        #expect(election.state == .standby)
        let actions = election.heartbeatReceived(peer.says(.fault, priority: 0), path: .link, now: t(20))
        #expect(actions.transitions == [.active])
    }

    @Test("a penalty on the active lets a higher standby preempt (preemption on)")
    func penaltyMovesTheVIPs() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100), peer: &peer, peerPriority: 150)
        _ = election.syncStatusChanged(inSync: true, now: t(110))
        #expect(election.state == .standby)
        let penalised = election.heartbeatReceived(peer.says(.active, priority: 90), path: .link, now: t(200))
        #expect(penalised.transitions == [.active])
        #expect(penalised.reasons == [.preempted("dira")])
    }
}

@Suite("The remaining transitions")
struct TransitionTests {
    @Test("standby → fault → standby, with the active peer still there")
    func standbyFault() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100, health: [.ipvs: .fault]), peer: &peer)
        let down = election.healthChanged(.ipvs, ok: false, now: t(150))
        #expect(down.transitions == [.fault])
        #expect(down.contains(.enterFault(.healthFailed(.ipvs))))
        _ = election.heartbeatReceived(peer.says(.active, priority: 100), path: .link, now: t(200))
        let up = election.healthChanged(.ipvs, ok: true, now: t(250))
        #expect(up.transitions == [.standby])
        #expect(election.state == .standby)
    }

    @Test("fault → standby → active at once when nobody is active any more")
    func faultThenClaim() throws {
        var peer = FakePeer("dira")
        var election = standby(try configuration("dirb", priority: 100, health: [.ipvs: .fault]), peer: &peer)
        _ = election.healthChanged(.ipvs, ok: false, now: t(150))
        _ = election.heartbeatReceived(peer.says(.fault, priority: 0), path: .link, now: t(200))
        #expect(election.state == .fault)
        let up = election.healthChanged(.ipvs, ok: true, now: t(250))
        #expect(up.transitions == [.standby, .active])
        #expect(up.reasons == [.healthRestored, .noActivePeer])
    }

    @Test("shutdown from every running state: stop, notify, a stopped advert with priority 0")
    func shutdownFromEachState() throws {
        let health: [HealthCondition: HealthResponse] = [.ipvs: .fault]
        let initialising = started(try configuration("dira", priority: 100, health: health)).0
        var active = initialising
        _ = active.tick(now: t(1000))
        var fault = active
        _ = fault.healthChanged(.ipvs, ok: false, now: t(1001))
        var peer = FakePeer("dirb")
        let standbyOne = standby(try configuration("dira", priority: 100), peer: &peer)
        let cases: [(ElectionState, Election)] = [
            (.initialising, initialising), (.active, active), (.fault, fault), (.standby, standbyOne),
        ]
        for (expected, machine) in cases {
            var machine = machine
            #expect(machine.state == expected)
            let actions = machine.shutdown(now: t(2000))
            #expect(actions.first == .stop(.shutdown))
            #expect(actions.contains(.notify(old: expected, new: .stopped, reason: .shutdown)))
            #expect(actions.adverts.map(\.state) == [.stopped])
            #expect(actions.adverts.map(\.priority) == [0])
            #expect(machine.shutdown(now: t(2001)).isEmpty)
            #expect(machine.nextDeadline(after: t(2001)) == nil)
        }
    }
}
