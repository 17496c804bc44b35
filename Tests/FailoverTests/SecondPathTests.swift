import Failover
import Testing

@Suite("The second path: UDP heartbeats keep a link failure from becoming a split brain")
struct SecondPathTests {
    func pair(udp: Bool) throws -> PairSimulation {
        var pair = PairSimulation(
            a: try configuration("dira", priority: 200),
            b: try configuration("dirb", priority: 100),
            udp: udp
        )
        pair.start(.a)
        pair.start(.b)
        pair.run(until: t(1500))
        #expect(pair.state(.a) == .active)
        #expect(pair.state(.b) == .standby)
        return pair
    }

    @Test("link cut, both alive, UDP heartbeats go on: the standby stays standby")
    func linkCutWithUDP() throws {
        var pair = try pair(udp: true)
        pair.cutLink()
        pair.run(until: t(10_000))
        #expect(pair.state(.a) == .active)
        #expect(pair.state(.b) == .standby)
        #expect(pair.machines[.b]?.peers["dira"]?.linkConnected == false)
    }

    @Test("link cut without a second path: the standby goes active after the dead interval (split brain)")
    func linkCutWithoutUDP() throws {
        var pair = try pair(udp: false)
        pair.cutLink()
        let cutAt = pair.now
        var activeAt: ElectionTime?
        pair.run(until: t(3000)) { sim in
            if activeAt == nil, sim.state(.b) == .active { activeAt = sim.now }
        }
        let active = try #require(activeAt)
        #expect(active - cutAt <= .milliseconds(300))
        #expect(pair.bothActive)
    }

    @Test(
        "the active crashes: the standby takes over within the dead interval, with or without UDP",
        arguments: [true, false]
    )
    func activeCrash(udp: Bool) throws {
        var pair = try pair(udp: udp)
        pair.crash(.a)
        let crashedAt = pair.now
        var activeAt: ElectionTime?
        pair.run(until: t(3000)) { sim in
            if activeAt == nil, sim.state(.b) == .active { activeAt = sim.now }
        }
        let active = try #require(activeAt)
        #expect(active - crashedAt <= .milliseconds(300) + pair.step)
    }

    @Test("UDP alone lost: nothing happens")
    func udpLost() throws {
        var pair = try pair(udp: true)
        pair.udpUp = false
        pair.run(until: t(5000))
        #expect(pair.state(.a) == .active)
        #expect(pair.state(.b) == .standby)
    }

    @Test("a clean shutdown of the active: the standby takes over on its last advert, not after the dead interval")
    func shutdown() throws {
        var pair = try pair(udp: false)
        let stoppedAt = pair.now
        pair.event(.a) { $0.shutdown(now: $1) }
        #expect(pair.state(.a) == .stopped)
        #expect(pair.log[.a, default: []].map(\.1).adverts.last?.state == .stopped)
        var activeAt: ElectionTime?
        pair.run(until: t(2000)) { sim in
            if activeAt == nil, sim.state(.b) == .active { activeAt = sim.now }
        }
        #expect(try #require(activeAt) - stoppedAt <= pair.transit)
        // A stopped machine ignores everything, and refuses a handover.
        pair.event(.a) { $0.tick(now: $1) }
        #expect(pair.log[.a, default: []].last.map { $0.0 } == stoppedAt)
        pair.event(.a) { $0.requestHandover(now: $1) }
        #expect(pair.log[.a, default: []].map(\.1).handoverFailures.map(\.code) == ["handover_not_possible"])
    }
}
