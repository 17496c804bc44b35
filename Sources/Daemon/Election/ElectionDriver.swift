import Failover
import Foundation
import Logging
import PeerProtocol
import Synchronization

/// Drives the pure ``Election`` with the real clock: feeds it what the relay hears and a tick, and carries out what
/// it decides — the role change first (``Director/transition(to:reason:)``), then the hooks, then the advert, so
/// that a director advertises a role only once it holds it. Repeats the VIP announcements after a takeover and
/// when the election asks for them again (`Election.Action.reannounce`).
struct ElectionDriver {
    let configuration: ElectionConfiguration
    let relay: AdvertRelay
    let director: Director
    let hooks: NotifyHooks?
    let announceCount: Int
    let announceInterval: Duration
    let logger: Logger

    /// The election as it stands, for `lvsync status`.
    let view: ElectionView

    /// Runs until the shutdown event was handled (the stopped advert published).
    func run() async {
        // The election's clock: real time, less the time this process itself was not running (a tick that comes
        // late because the process was starved, e.g. on an overloaded host). A director that could not run cannot
        // judge its peer's silence over that time: without this, a starved standby would declare a live active dead
        // the moment it runs again, with the active's adverts still unread in its socket.
        let origin = ContinuousClock.now
        var stalled = Duration.zero
        var lastTick = origin
        func now() -> ElectionTime { ElectionTime(ContinuousClock.now - origin - stalled) }
        let incarnation = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        var (election, actions) = Election.start(configuration: configuration, incarnation: incarnation, now: now())
        var announcements = (left: 0, next: ContinuousClock.now)
        perform(actions, election: election, announcements: &announcements)
        let tick = min(configuration.heartbeatInterval / 5, .milliseconds(20))
        await withTaskGroup(of: Void.self) { group in
            let relay = relay
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    relay.post(.tick)
                }
            }
            defer { group.cancelAll() }
            for await event in relay.events {
                let time = now()
                switch event {
                case .tick:
                    let tickedAt = ContinuousClock.now
                    let gap = tickedAt - lastTick
                    lastTick = tickedAt
                    if gap > tick * 5 {
                        stalled += gap - tick
                        logger.debug("the election's own process stalled", metadata: ["stall_ms": "\(gap)"])
                    }
                    actions = election.tick(now: now())
                    if announcements.left > 0, ContinuousClock.now >= announcements.next {
                        director.announce()
                        announcements.left -= 1
                        announcements.next = .now + announceInterval
                    }
                case .advert(let advert, let path):
                    director.heard(advert)
                    actions = election.heartbeatReceived(PeerAdvert(advert), path: path, now: time)
                case .linkLost(let peer):
                    actions = election.peerLinkLost(peer, now: time)
                case .syncStatus(let inSync):
                    actions = election.syncStatusChanged(inSync: inSync, now: time)
                case .health(let name, let ok):
                    logger.log(
                        level: ok ? .info : .warning,
                        ok ? "health condition recovered" : "health condition fails",
                        metadata: ["condition": "\(name)"]
                    )
                    actions = election.healthChanged(HealthCondition(name), ok: ok, now: time)
                case .handover(let wait, let reply):
                    actions = election.requestHandover(now: time, waitingAtMost: wait)
                    let failure = actions.lazy.compactMap { action -> String? in
                        if case .handoverFailed(let error) = action { return "\(error)" }
                        return nil
                    }.first
                    reply(failure)
                case .shutdown:
                    actions = election.shutdown(now: time)
                    perform(actions, election: election, announcements: &announcements)
                    // Let the links write the stopped advert before the service ends them.
                    try? await Task.sleep(for: .milliseconds(50))
                    return
                }
                perform(actions, election: election, announcements: &announcements)
            }
        }
    }

    private func perform(
        _ actions: [Election.Action],
        election: Election,
        announcements: inout (left: Int, next: ContinuousClock.Instant)
    ) {
        var adverts: [PeerAdvert] = []
        for action in actions {
            switch action {
            case .becomeActive(let reason):
                director.transition(to: .active, reason: reason.description)
                announcements = (max(0, announceCount - 1), .now + announceInterval)
            case .becomeStandby(let reason):
                director.transition(to: .standby, reason: reason.description)
                announcements.left = 0
            case .enterFault(let reason):
                director.transition(to: .fault, reason: reason.description)
                announcements.left = 0
            case .stop(let reason):
                director.transition(to: .stopped, reason: reason.description)
                announcements.left = 0
            case .notify(let old, let new, let reason):
                logger.notice(
                    "election: \(old) → \(new)",
                    metadata: ["from": "\(old)", "to": "\(new)", "reason": "\(reason)"]
                )
                hooks?.run(old: old, new: new, reason: reason.description)
            case .reannounce(let cause):
                // As after a takeover: now, then the rest of the configured count an interval apart.
                logger.notice("announcing the VIPs again", metadata: ["reason": "\(cause)"])
                director.announce()
                announcements = (max(0, announceCount - 1), .now + announceInterval)
            case .sendHeartbeat(let advert):
                adverts.append(advert)
            case .handoverFailed(let error):
                logger.warning("planned handover failed", metadata: ["error": "\(error)"])
            }
        }
        view.update(election)
        if let advert = adverts.last {
            let figures = director.tableFigures
            relay.publish(
                PeerMessage.Advert(
                    advert,
                    tableSize: UInt64(figures.size),
                    position: figures.position,
                    kernelConnections: figures.kernel.map(UInt64.init)
                )
            )
        }
    }
}

/// The election's state for readers outside its loop (`lvsync status`, the drill).
public final class ElectionView: Sendable {
    private let state = Mutex<(election: Election?, updated: ContinuousClock.Instant)>((nil, .now))

    /// Nothing yet.
    public init() {}

    func update(_ election: Election) { state.withLock { $0 = (election, .now) } }

    /// The election as the driver last left it.
    public var election: Election? { state.withLock { $0.election } }
}

extension PeerAdvert {
    /// The election's view of an advert from the wire.
    init(_ advert: PeerMessage.Advert) {
        self.init(
            node: advert.node,
            priority: advert.priority,
            state: ElectionState(rawValue: advert.state.rawValue) ?? .fault,
            inSync: advert.inSync,
            incarnation: advert.incarnation,
            sequence: advert.sequence,
            handoverTo: advert.handoverTo
        )
    }
}

extension PeerMessage.Advert {
    /// An advert for the wire from the election's, with this director's table figures.
    init(_ advert: PeerAdvert, tableSize: UInt64, position: PeerMessage.Position, kernelConnections: UInt64?) {
        self.init(
            node: advert.node,
            priority: advert.priority,
            state: PeerMessage.ElectionState(rawValue: advert.state.rawValue) ?? .fault,
            inSync: advert.inSync,
            incarnation: advert.incarnation,
            sequence: advert.sequence,
            handoverTo: advert.handoverTo,
            tableSize: tableSize,
            position: position,
            kernelConnections: kernelConnections
        )
    }
}
