/// A director as the ranking sees it.
struct Candidate: Sendable {
    var node: String
    var inSync: Bool
    var priority: Int

    /// Whether `self` ranks above `other`: an in-sync table first, then the higher priority, then the node name that
    /// sorts first byte by byte in UTF-8. A strict total order on distinct names.
    func outranks(_ other: Candidate) -> Bool {
        if inSync != other.inSync { return inSync }
        if priority != other.priority { return priority > other.priority }
        return node.utf8.lexicographicallyPrecedes(other.node.utf8)
    }
}

extension Election {
    /// The configured priority minus the failing penalties, at least 1.
    var healthPriority: Int {
        var penalty = 0
        for condition in failingConditions {
            if case .lowerPriority(let amount) = configuration.healthConditions[condition] { penalty += amount }
        }
        return max(1, configuration.priority - penalty)
    }

    /// A failing condition configured as a step-down, the first by name.
    var failingFaultCondition: HealthCondition? {
        failingConditions.filter { configuration.healthConditions[$0] == .fault }.min()
    }

    var me: Candidate { Candidate(node: configuration.node, inSync: inSync, priority: healthPriority) }

    func isAlive(_ record: PeerRecord, now: ElectionTime) -> Bool {
        record.advert.state != .stopped && now < deathTime(of: record).at
    }

    /// When `record`'s peer is dead if it is not heard again, and whether the UDP path's detection time decides it.
    /// With the UDP path configured and heard, its silence for the detection time is death, however recently the
    /// link delivered an advert (the link's adverts queue behind the mirror stream); a link advert heard *after* the
    /// UDP path went silent for its detection time says that the path failed, not the peer, and the dead interval
    /// after the newest sign of life decides again until the path is heard anew.
    func deathTime(of record: PeerRecord) -> (at: ElectionTime, byUDP: Bool) {
        let classic = record.lastHeard + configuration.deadInterval
        guard let detection = configuration.udpDetectionTime, let udp = record.lastHeardOn[.udp] else {
            return (classic, false)
        }
        let udpDeath = udp + detection
        if let link = record.lastHeardOn[.link], link >= udpDeath { return (classic, false) }
        return (udpDeath, true)
    }

    /// Whether `peer` is alive at `now` (heard within its detection time or dead interval, and not stopped).
    public func isAlive(peer: String, now: ElectionTime) -> Bool {
        peers[peer].map { isAlive($0, now: now) } ?? false
    }

    /// Whether the UDP path failed while the peer lives: its link delivered an advert after the UDP heartbeats were
    /// silent for the detection time.
    public func udpPathFailed(_ peer: String) -> Bool {
        guard let record = peers[peer] else { return false }
        return configuration.udpDetectionTime != nil && record.lastHeardOn[.udp] != nil && !deathTime(of: record).byUDP
    }

    func linkUp(_ record: PeerRecord, now: ElectionTime) -> Bool {
        guard record.linkConnected, let heard = record.lastHeardOn[.link] else { return false }
        return now - heard < configuration.deadInterval
    }

    func candidate(_ advert: PeerAdvert) -> Candidate {
        Candidate(node: advert.node, inSync: advert.state == .active || advert.inSync, priority: advert.priority)
    }

    /// Live peers advertising `states`, best ranked first.
    func alivePeers(in states: Set<ElectionState>, now: ElectionTime) -> [PeerRecord] {
        peers.values.filter { isAlive($0, now: now) && states.contains($0.advert.state) }
            .sorted { candidate($0.advert).outranks(candidate($1.advert)) }
    }

    /// The live candidate (standby or initialising) that ranks above this director, if any.
    func betterCandidate(now: ElectionTime) -> String? {
        alivePeers(in: [.standby, .initialising], now: now).first { candidate($0.advert).outranks(me) }?.advert.node
    }

    /// Applies every rule the current state is subject to.
    mutating func evaluate(now: ElectionTime) -> [Action] {
        guard state != .stopped else { return [] }
        var actions: [Action] = []
        if let condition = failingFaultCondition {
            if state != .fault { actions += transition(to: .fault, reason: .healthFailed(condition), now: now) }
            return actions
        }
        if state == .fault {
            let bootDone = heardAnyPeer || now - startedAt >= configuration.bootWait
            actions += transition(to: bootDone ? .standby : .initialising, reason: .healthRestored, now: now)
        }
        if let handover,
            (peers[handover.target].map { !isAlive($0, now: now) } ?? true)
                || now - handover.at >= configuration.deadInterval
        {
            self.handover = nil
            preemptSuppressed = false
            let error = FailoverError(.handoverNotTaken(target: handover.target, waited: now - handover.at))
            actions.append(.handoverFailed(error))
        }
        switch state {
        case .initialising: actions += evaluateInitialising(now: now)
        case .standby: actions += evaluateStandby(now: now)
        case .active: actions += evaluateActive(now: now)
        case .fault, .stopped: break
        }
        return actions
    }

    private mutating func evaluateInitialising(now: ElectionTime) -> [Action] {
        if let active = alivePeers(in: [.active], now: now).first {
            return transition(to: .standby, reason: .peerIsActive(active.advert.node), now: now)
        }
        guard heardAnyPeer || now - startedAt >= configuration.bootWait else { return [] }
        if let better = betterCandidate(now: now) {
            return transition(to: .standby, reason: .outrankedBy(better), now: now)
        }
        return transition(to: .active, reason: heardAnyPeer ? claimReason(now: now) : .bootWaitExpired, now: now)
    }

    private mutating func evaluateStandby(now: ElectionTime) -> [Action] {
        let actives = alivePeers(in: [.active], now: now)
        guard !actives.isEmpty else {
            preemptCandidateSince = nil
            guard handover == nil, betterCandidate(now: now) == nil else { return [] }
            return transition(to: .active, reason: claimReason(now: now), now: now)
        }
        let mine = healthPriority
        guard configuration.preempt, !preemptSuppressed, reportedInSync,
            actives.allSatisfy({ mine > $0.advert.priority && linkUp($0, now: now) })
        else {
            preemptCandidateSince = nil
            return []
        }
        let since = preemptCandidateSince ?? now
        preemptCandidateSince = since
        guard now - since >= configuration.preemptDelay else { return [] }
        let names = actives.map(\.advert.node).joined(separator: ", ")
        return transition(to: .active, reason: .preempted(names), now: now)
    }

    private mutating func evaluateActive(now: ElectionTime) -> [Action] {
        // Make before break: the handover's target holds the VIPs and advertises itself active; only then does this
        // director release them.
        if let target = handover?.target, let record = peers[target], isAlive(record, now: now),
            record.advert.state == .active
        {
            handover = nil
            return transition(to: .standby, reason: .handoverTo(target), now: now)
        }
        let myself = me
        let node = configuration.node
        // An active peer that hands the VIPs to this director is leaving, not competing.
        if let winner = alivePeers(in: [.active], now: now).first(where: {
            $0.advert.handoverTo != node && candidate($0.advert).outranks(myself)
        }) {
            pendingHandover = nil
            handover = nil
            let reason = Reason.splitBrain(winner: winner.advert.node, loser: configuration.node)
            return transition(to: .standby, reason: reason, now: now)
        }
        guard let pending = pendingHandover else { return [] }
        let ready = alivePeers(in: [.standby], now: now).first { $0.advert.inSync && linkUp($0, now: now) }
        if let target = ready?.advert.node {
            // Still active: the advert names the target, which takes the VIPs; this director keeps forwarding
            // until it hears the target active.
            pendingHandover = nil
            preemptSuppressed = true
            handover = (target, now)
            return []
        }
        guard now >= pending.deadline else { return [] }
        pendingHandover = nil
        return [.handoverFailed(FailoverError(.handoverNoInSyncPeer(waited: now - pending.requested)))]
    }

    /// Whether the active should announce its VIPs again on `advert`, newer than `previous` (nil: the first from
    /// this peer), and why.
    func reannounceCause(_ advert: PeerAdvert, previous: PeerAdvert?) -> ReannounceCause? {
        guard let previous, previous.incarnation == advert.incarnation else {
            return advert.state == .active ? .peerAlsoActive(advert.node) : .peerStarted(advert.node)
        }
        if advert.state == .active, previous.state != .active { return .peerAlsoActive(advert.node) }
        if advert.state != .active, previous.state == .active { return .peerReleased(advert.node) }
        return nil
    }

    /// Why this director claims the VIPs when nobody is active: a silent active peer if there is one.
    private func claimReason(now: ElectionTime) -> Reason {
        let silent = peers.values.filter { $0.advert.state == .active && !isAlive($0, now: now) }
            .min { $0.advert.node.utf8.lexicographicallyPrecedes($1.advert.node.utf8) }
        guard let silent else { return .noActivePeer }
        if silent.advert.state != .stopped, deathTime(of: silent).byUDP {
            return .udpHeartbeatsStopped(silent.advert.node)
        }
        return .peerSilent(silent.advert.node)
    }

    /// Moves to `new` and says what the driver must do.
    mutating func transition(to new: ElectionState, reason: Reason, now: ElectionTime) -> [Action] {
        let old = state
        state = new
        lastTransition = Transition(from: old, to: new, reason: reason, at: now)
        preemptCandidateSince = nil
        if old == .active { reportedInSync = false }
        let notify = Action.notify(old: old, new: new, reason: reason)
        switch new {
        case .active:
            preemptSuppressed = false
            handover = nil
            return [.becomeActive(reason), notify]
        case .standby:
            return [.becomeStandby(reason), notify]
        case .fault:
            pendingHandover = nil
            handover = nil
            return [.enterFault(reason), notify]
        case .stopped:
            pendingHandover = nil
            handover = nil
            return [.stop(reason), notify]
        case .initialising:
            return [notify]
        }
    }

    /// The advert as it stands, numbered `sequence`.
    func currentAdvert(sequence: UInt64) -> PeerAdvert {
        PeerAdvert(
            node: configuration.node,
            priority: effectivePriority,
            state: state,
            inSync: inSync,
            incarnation: incarnation,
            sequence: sequence,
            handoverTo: handover?.target
        )
    }

    /// An advert when what it says changed or a heartbeat interval passed since the last.
    mutating func advertiseIfNeeded(now: ElectionTime) -> [Action] {
        let sequence = (lastAdvert?.sequence ?? 0) + 1
        let advert = currentAdvert(sequence: sequence)
        if let last = lastAdvert, let at = lastAdvertAt {
            if last.state == .stopped { return [] }
            var unchanged = advert
            unchanged.sequence = last.sequence
            guard unchanged != last || now - at >= configuration.heartbeatInterval else { return [] }
        }
        lastAdvert = advert
        lastAdvertAt = now
        return [.sendHeartbeat(advert)]
    }
}
