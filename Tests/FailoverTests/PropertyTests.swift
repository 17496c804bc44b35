import Failover
import Testing

/// SplitMix64: a small seeded generator, so a failing seed can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Watches a simulation for the two properties.
struct Watcher {
    /// Since when both machines run and can hear each other, without a break.
    var hearingSince: ElectionTime?
    var bothActiveSince: ElectionTime?
    var nobodyActiveSince: ElectionTime?
    var violations: [String] = []
    let bothActiveBound: Duration
    let nobodyActiveBound: Duration

    mutating func observe(_ sim: PairSimulation) {
        let hearing = sim.connected && sim.machines[.a] != nil && sim.machines[.b] != nil
        if hearing { hearingSince = hearingSince ?? sim.now } else { hearingSince = nil }
        if sim.bothActive { bothActiveSince = bothActiveSince ?? sim.now } else { bothActiveSince = nil }
        let candidates = PairSimulation.Side.allCases.filter { sim.state($0) != .fault }
        let nobodyActive =
            hearing && !candidates.isEmpty && !sim.bothActive
            && sim.state(.a) != .active && sim.state(.b) != .active
        if nobodyActive { nobodyActiveSince = nobodyActiveSince ?? sim.now } else { nobodyActiveSince = nil }
        guard let hearingSince else { return }
        if let bothActiveSince, sim.now - max(hearingSince, bothActiveSince) > bothActiveBound {
            violations.append("both active since \(max(hearingSince, bothActiveSince)), still at \(sim.now)")
        }
        if let nobodyActiveSince, sim.now - max(hearingSince, nobodyActiveSince) > nobodyActiveBound {
            violations.append("nobody active since \(max(hearingSince, nobodyActiveSince)), still at \(sim.now)")
        }
    }
}

@Suite("Property: random events on two directors exchanging adverts")
struct PropertyTests {
    static let seeds: [UInt64] = Array(1...150)

    @Test(
        "never both active for more than one heartbeat once they hear each other; never nobody for long",
        arguments: seeds
    )
    func randomRuns(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        func config(_ node: String) throws -> ElectionConfiguration {
            try ElectionConfiguration(
                node: node,
                priority: Int.random(in: 1...3, using: &random) * 50,
                preempt: Bool.random(using: &random),
                preemptDelay: .milliseconds(Int64.random(in: 0...3, using: &random) * 100),
                heartbeatInterval: .milliseconds(100),
                deadInterval: .milliseconds(300),
                bootWait: .milliseconds(600),
                healthConditions: [
                    .interface("eth0"): .lowerPriority(by: Int.random(in: 1...120, using: &random)),
                    .ipvs: .fault,
                ]
            )
        }
        var sim = PairSimulation(
            a: try config("dira"),
            b: try config("dirb"),
            udp: Bool.random(using: &random),
            transit: .milliseconds(1),
            step: .milliseconds(5)
        )
        // One heartbeat, plus a tick's granularity and a transit (when the sending side notices the interval passed,
        // and the advert's flight).
        var watcher = Watcher(
            bothActiveBound: .milliseconds(100) + sim.step + sim.transit,
            nobodyActiveBound: .milliseconds(600 + 300 + 100) + sim.step + sim.transit
        )
        sim.start(.a)
        sim.run(until: sim.now + .milliseconds(Int64.random(in: 0...300, using: &random))) { watcher.observe($0) }
        sim.start(.b)
        var events: [String] = []
        for _ in 0..<60 {
            let side = Bool.random(using: &random) ? PairSimulation.Side.a : .b
            let choice = Int.random(in: 0..<12, using: &random)
            events.append("\(sim.now) \(side) \(choice)")
            switch choice {
            case 0, 1:
                let ok = Bool.random(using: &random)
                sim.event(side) { $0.healthChanged(.interface("eth0"), ok: ok, now: $1) }
            case 2:
                let ok = Int.random(in: 0..<4, using: &random) != 0
                sim.event(side) { $0.healthChanged(.ipvs, ok: ok, now: $1) }
            case 3, 4:
                let inSync = Bool.random(using: &random)
                sim.event(side) { $0.syncStatusChanged(inSync: inSync, now: $1) }
            case 5:
                sim.event(side) { $0.requestHandover(now: $1) }
            case 6:
                if sim.linkUp { sim.cutLink() } else { sim.healLink() }
            case 7:
                sim.udpUp.toggle()
            case 8:
                if sim.machines[side] == nil { sim.start(side) } else { sim.crash(side) }
            case 9:
                if sim.machines[side] == nil { sim.start(side) } else { sim.event(side) { $0.shutdown(now: $1) } }
                if sim.state(side) == .stopped { sim.crash(side) }
            default:
                for side in PairSimulation.Side.allCases where sim.machines[side] == nil { sim.start(side) }
            }
            watcher.observe(sim)
            let wait = Int64.random(in: 0...700, using: &random)
            sim.run(until: sim.now + .milliseconds(wait)) { watcher.observe($0) }
        }
        #expect(watcher.violations.isEmpty, "seed \(seed): \(watcher.violations.prefix(3)) after \(events.suffix(8))")
    }
}
