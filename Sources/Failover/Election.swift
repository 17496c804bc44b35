/// The election of the active director, as a pure state machine: events and the time go in, actions come out. It
/// reads no clock and does no I/O; the driver sends the adverts, moves the VIPs, runs the hooks, and calls ``tick(now:)``
/// by ``nextDeadline(after:)`` (or at least every few milliseconds).
///
/// States: ``ElectionState/initialising`` → ``ElectionState/standby`` / ``ElectionState/active``, either of them →
/// ``ElectionState/fault`` and back, any of them → ``ElectionState/stopped``.
///
/// The rules:
///
/// - **Effective priority** is the configured priority minus the penalties of the failing
///   ``HealthResponse/lowerPriority(by:)`` conditions, never below 1. While any ``HealthResponse/fault`` condition
///   fails the director is in ``ElectionState/fault`` and advertises priority 0; a shut-down director advertises
///   ``ElectionState/stopped`` and 0. Peers in fault or stopped are not candidates.
/// - **Rank** orders candidates for the role: first whoever advertises an in-sync table (an active always does: its
///   table is the source), then the higher effective priority, then, on a tie, **the node name that sorts first**,
///   byte by byte in UTF-8 (`dira` beats `dirb`). Names are unique, so the order is total and both directors compute
///   the same winner from the same two adverts.
/// - **Liveness:** a peer is alive while it was heard on any path (link or UDP) less than the dead interval ago:
///   heard at `t`, it is dead from exactly `t + deadInterval`. A ``ElectionState/stopped`` advert ends it at once.
///   With the UDP path's detection time set (``ElectionConfiguration/udpDetectionTime``) and the peer heard on that
///   path, the UDP path decides alone: last heard there at `u`, the peer is dead from `u + udpDetectionTime`, however
///   recently its link delivered an advert (the link's adverts can wait behind a snapshot or a retransmission). A
///   link advert heard at or after `u + udpDetectionTime` says that the UDP path failed, not the peer: the dead
///   interval decides again, until the UDP path is heard anew.
/// - **Boot:** a starting director stays ``ElectionState/initialising`` until it hears a peer or the boot wait
///   passes. Hearing an active peer makes it a standby. Otherwise (a peer heard that is not active, or the boot wait
///   passed) it claims the VIPs only if no live peer is active and no live candidate outranks it. It never goes
///   active and back at boot (keepalived #2231).
/// - **Standby → active when nobody is active:** when no live peer is active (the active was not heard for the
///   dead interval, or advertised fault or stopped), the live candidate that ranks first claims the VIPs, at once.
///   Because rank puts in-sync tables first, a director restarted with an empty table lets an in-sync standby take
///   over rather than claiming itself (keepalived #1076).
/// - **Preemption:** a standby takes over from a live active only if preemption is on, its effective priority is
///   strictly higher than every live active's, its table is in sync, its peer link to them is up (a table cannot
///   stay in sync without it), and all of that has held without a break for the preempt delay. A director that
///   handed over on purpose does not preempt again until it is next active. The old active steps down when it
///   hears the new one (the split-brain rule below), so both hold the VIPs for one transit at most.
/// - **Split brain:** an active that hears a live active peer ranking above it steps down at once, on the first
///   such advert; one that ranks above stays. Both reach the same decision from the two adverts, so when a
///   partition heals exactly one stays active within one heartbeat of their hearing each other.
/// - **Planned handover** (``requestHandover(now:waitingAtMost:)``), make before break: the active picks the best
///   live standby whose advert says it is in sync and whose link is up (waiting for one up to a deadline) and, still
///   active and still holding the VIPs, advertises ``PeerAdvert/handoverTo``; that standby becomes active as soon as
///   it sees the advert (an active peer that hands over to it is not a rival), and the old active steps down when it
///   hears the new one advertise itself active. Both hold the VIPs for about one transit, so a client never finds
///   nobody answering. If the target does not advertise itself active within the dead interval (or dies), the
///   handover fails and the old active simply stays. (A standby also takes a handover advertised by a director that
///   already stepped down, as earlier versions do.)
/// - **Re-announcing:** an active that stays active announces its VIPs again when a peer may have drawn the
///   neighbours to itself: when the peer advertises itself active too (it steps down), when that peer then advertises
///   another state (it released the VIPs), and when a peer is heard for the first time or in a new incarnation (a
///   restarted director removes the VIPs its last run left behind). Otherwise a neighbour that resolved a VIP while
///   both held it keeps the loser's MAC, and the real servers' replies through a NAT gateway go to the wrong director.
/// - **Adverts** go out at start, at once on every change of what they say, and every heartbeat interval otherwise.
///   The newest advert of a peer counts; a late copy from the other path is only a sign of life.
///
/// The driver reports this director's mirror table with ``syncStatusChanged(inSync:now:)``: in sync once a
/// snapshot and the stream since are applied, and still in sync when the active goes away (that table is the best
/// there is); not in sync when the daemon starts with an empty table or a new snapshot begins. The machine itself
/// forgets it when this director stops being active.
public struct Election: Sendable {
    /// This director's settings.
    public let configuration: ElectionConfiguration
    /// This run's number, carried in every advert.
    public let incarnation: UInt64
    /// Where this director is.
    public internal(set) var state: ElectionState = .initialising
    /// The last change of state (at start: initialising, ``Reason/started``).
    public internal(set) var lastTransition: Transition
    /// The health conditions failing now.
    public internal(set) var failingConditions: Set<HealthCondition> = []
    /// What this director knows of each peer it has heard, by node name.
    public internal(set) var peers: [String: PeerRecord] = [:]
    /// The advert sent last.
    public internal(set) var lastAdvert: PeerAdvert?

    var reportedInSync = false
    let startedAt: ElectionTime
    var heardAnyPeer = false
    var lastAdvertAt: ElectionTime?
    var preemptCandidateSince: ElectionTime?
    var preemptSuppressed = false
    /// On the old active after a handover: the peer it handed to, and when.
    var handover: (target: String, at: ElectionTime)?
    /// On the active: a handover asked for, waiting for an in-sync standby.
    var pendingHandover: (requested: ElectionTime, deadline: ElectionTime)?

    /// Starts the election and returns the first advert to send. The director is
    /// ``ElectionState/initialising``; report failing health conditions and the table's sync status next.
    public static func start(
        configuration: ElectionConfiguration,
        incarnation: UInt64,
        now: ElectionTime
    ) -> (Election, [Action]) {
        var election = Election(configuration: configuration, incarnation: incarnation, now: now)
        let actions = election.advertiseIfNeeded(now: now)
        return (election, actions)
    }

    private init(configuration: ElectionConfiguration, incarnation: UInt64, now: ElectionTime) {
        self.configuration = configuration
        self.incarnation = incarnation
        startedAt = now
        lastTransition = Transition(from: .initialising, to: .initialising, reason: .started, at: now)
    }

    /// The effective priority: 0 in fault or stopped, else the configured priority minus the failing penalties,
    /// at least 1.
    public var effectivePriority: Int {
        if state == .fault || state == .stopped { return 0 }
        return healthPriority
    }

    /// Whether this director advertises an in-sync table (always when active).
    public var inSync: Bool { state == .active || reportedInSync }

    /// Takes a peer's advert, heard on `path`. The driver passes only authenticated adverts whose node is the peer
    /// that sent them (the certificate's identity on the link, the HMAC key's peer on UDP). Adverts with this
    /// director's own name are ignored.
    public mutating func heartbeatReceived(_ advert: PeerAdvert, path: HeartbeatPath, now: ElectionTime) -> [Action] {
        guard state != .stopped, advert.node != configuration.node else { return [] }
        heardAnyPeer = true
        var isNew = true
        let previous = peers[advert.node]?.advert
        if var record = peers[advert.node] {
            isNew = advert.supersedes(record.advert)
            if isNew { record.advert = advert }
            record.lastHeard = max(record.lastHeard, now)
            record.lastHeardOn[path] = now
            if path == .link { record.linkConnected = true }
            peers[advert.node] = record
        } else {
            peers[advert.node] = PeerRecord(
                advert: advert,
                lastHeard: now,
                lastHeardOn: [path: now],
                linkConnected: path == .link
            )
        }
        // Judged before this advert changes anything: an active that stays active (checked after the rules ran).
        let reannounce = isNew && state == .active ? reannounceCause(advert, previous: previous) : nil
        var actions: [Action] = []
        if isNew {
            // An active hands over while still active (make before break); a director of an earlier version
            // advertised the handover once it had stepped down.
            if advert.handoverTo == configuration.node, state == .standby, failingFaultCondition == nil {
                actions += transition(to: .active, reason: .handoverFrom(advert.node), now: now)
            }
        }
        actions += evaluate(now: now)
        if let reannounce, state == .active { actions.append(.reannounce(reannounce)) }
        return actions + advertiseIfNeeded(now: now)
    }

    /// Lets time pass: dead intervals, the boot wait, the preempt delay, handover deadlines, periodic adverts.
    public mutating func tick(now: ElectionTime) -> [Action] {
        evaluate(now: now) + advertiseIfNeeded(now: now)
    }

    /// Takes a health check's result. Conditions the configuration does not list are ignored.
    public mutating func healthChanged(_ condition: HealthCondition, ok: Bool, now: ElectionTime) -> [Action] {
        guard state != .stopped, configuration.healthConditions[condition] != nil else { return [] }
        if ok { failingConditions.remove(condition) } else { failingConditions.insert(condition) }
        return evaluate(now: now) + advertiseIfNeeded(now: now)
    }

    /// Takes whether this director's mirror table holds the active's (see ``Election`` for when it does).
    public mutating func syncStatusChanged(inSync: Bool, now: ElectionTime) -> [Action] {
        guard state != .stopped else { return [] }
        reportedInSync = inSync
        return evaluate(now: now) + advertiseIfNeeded(now: now)
    }

    /// Takes that the peer link to `peer` closed. The peer stays alive while the second path still hears it; the
    /// link is needed again (a heartbeat over it) before this director preempts it or hands over to it.
    public mutating func peerLinkLost(_ peer: String, now: ElectionTime) -> [Action] {
        guard state != .stopped else { return [] }
        peers[peer]?.linkConnected = false
        return evaluate(now: now) + advertiseIfNeeded(now: now)
    }

    /// Asks the active to hand the VIPs to an in-sync standby (a planned drill). It steps down as soon as a live
    /// standby with its link up advertises an in-sync table, at once when one already has; without one by `now +
    /// waitingAtMost` (the dead interval by default) it stays active and says ``Action/handoverFailed(_:)``.
    public mutating func requestHandover(now: ElectionTime, waitingAtMost: Duration? = nil) -> [Action] {
        guard state == .active else {
            return [.handoverFailed(FailoverError(.handoverNotPossible("this director is \(state), not active")))]
        }
        guard peers.values.contains(where: { isAlive($0, now: now) && $0.advert.state == .standby }) else {
            return [.handoverFailed(FailoverError(.handoverNotPossible("no standby peer is alive")))]
        }
        pendingHandover = (now, now + (waitingAtMost ?? configuration.deadInterval))
        return evaluate(now: now) + advertiseIfNeeded(now: now)
    }

    /// Shuts the election down: release the VIPs, and tell the peers (advert ``ElectionState/stopped``, priority 0)
    /// so that a standby takes over at once. Every later event is ignored, and a handover request is refused.
    public mutating func shutdown(now: ElectionTime) -> [Action] {
        guard state != .stopped else { return [] }
        return transition(to: .stopped, reason: .shutdown, now: now) + advertiseIfNeeded(now: now)
    }

    /// The earliest time after `now` at which ``tick(now:)`` may change something: the next periodic advert, the
    /// boot wait's end, a peer's death, the preempt delay's end, a handover deadline. Nil when stopped.
    public func nextDeadline(after now: ElectionTime) -> ElectionTime? {
        guard state != .stopped else { return nil }
        var times: [ElectionTime] = []
        if let lastAdvertAt { times.append(lastAdvertAt + configuration.heartbeatInterval) }
        if state == .initialising { times.append(startedAt + configuration.bootWait) }
        for record in peers.values {
            times.append(deathTime(of: record).at)
            if let link = record.lastHeardOn[.link] { times.append(link + configuration.deadInterval) }
        }
        if let preemptCandidateSince { times.append(preemptCandidateSince + configuration.preemptDelay) }
        if let handover { times.append(handover.at + configuration.deadInterval) }
        if let pendingHandover { times.append(pendingHandover.deadline) }
        return times.filter { $0 > now }.min()
    }
}
