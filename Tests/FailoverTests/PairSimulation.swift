import Failover

/// Two directors, `a` and `b`, joined by a simulated peer link and an optional UDP second path. Adverts take
/// `transit` to arrive; a path that is down drops what is sent on it. The clock only moves through ``run(until:)``,
/// which ticks both machines every `step`.
struct PairSimulation {
    enum Side: Int, Hashable, CaseIterable {
        case a
        case b
        var other: Side { self == .a ? .b : .a }
    }

    struct InFlight {
        var deliverAt: ElectionTime
        var to: Side
        var advert: PeerAdvert
        var path: HeartbeatPath
    }

    var configurations: [Side: ElectionConfiguration]
    var machines: [Side: Election] = [:]
    var incarnations: [Side: UInt64] = [.a: 0, .b: 0]
    var now: ElectionTime
    var transit: Duration
    var step: Duration
    var linkUp = true
    var udpConfigured: Bool
    var udpUp = true
    var inFlight: [InFlight] = []
    /// Every action each side's machine returned, with its time.
    var log: [Side: [(ElectionTime, Election.Action)]] = [.a: [], .b: []]

    init(
        a: ElectionConfiguration,
        b: ElectionConfiguration,
        udp: Bool = false,
        transit: Duration = .milliseconds(1),
        step: Duration = .milliseconds(5),
        now: ElectionTime = t(0)
    ) {
        configurations = [.a: a, .b: b]
        udpConfigured = udp
        self.transit = transit
        self.step = step
        self.now = now
    }

    /// Whether the two can hear each other on some path.
    var connected: Bool { linkUp || (udpConfigured && udpUp) }

    func state(_ side: Side) -> ElectionState? { machines[side]?.state }

    var bothActive: Bool { state(.a) == .active && state(.b) == .active }

    mutating func start(_ side: Side) {
        incarnations[side, default: 0] += 1
        let (machine, actions) = Election.start(
            configuration: configurations[side]!,
            incarnation: incarnations[side]!,
            now: now
        )
        machines[side] = machine
        handle(actions, from: side)
    }

    /// Applies an event to one side's machine (nothing when it is down) and handles its actions.
    mutating func event(_ side: Side, _ body: (inout Election, ElectionTime) -> [Election.Action]) {
        guard var machine = machines[side] else { return }
        let actions = body(&machine, now)
        machines[side] = machine
        handle(actions, from: side)
    }

    mutating func crash(_ side: Side) { machines[side] = nil }

    mutating func cutLink() {
        linkUp = false
        inFlight.removeAll { $0.path == .link }
        for side in Side.allCases {
            let peer = configurations[side.other]!.node
            event(side) { $0.peerLinkLost(peer, now: $1) }
        }
    }

    mutating func healLink() { linkUp = true }

    private mutating func handle(_ actions: [Election.Action], from side: Side) {
        for action in actions {
            log[side, default: []].append((now, action))
            guard case .sendHeartbeat(let advert) = action else { continue }
            if linkUp {
                inFlight.append(InFlight(deliverAt: now + transit, to: side.other, advert: advert, path: .link))
            }
            if udpConfigured, udpUp {
                inFlight.append(InFlight(deliverAt: now + transit, to: side.other, advert: advert, path: .udp))
            }
        }
    }

    /// Moves the clock to `end`, delivering adverts when due and ticking both sides every step. `observe` runs after
    /// every delivery and tick.
    mutating func run(until end: ElectionTime, observe: (PairSimulation) -> Void = { _ in }) {
        while now < end {
            let nextTick = min(now + step, end)
            while let index = inFlight.indices.filter({ inFlight[$0].deliverAt <= nextTick })
                .min(by: { inFlight[$0].deliverAt < inFlight[$1].deliverAt })
            {
                let message = inFlight.remove(at: index)
                now = max(now, message.deliverAt)
                let pathUp = message.path == .link ? linkUp : udpUp
                if pathUp {
                    event(message.to) { $0.heartbeatReceived(message.advert, path: message.path, now: $1) }
                }
                observe(self)
            }
            now = nextTick
            for side in Side.allCases { event(side) { $0.tick(now: $1) } }
            observe(self)
        }
    }
}
