extension Election {
    /// What the driver must do, in order.
    public enum Action: Hashable, Sendable {
        /// Take the VIPs (add, announce) and become the kernel's sync master.
        case becomeActive(Reason)
        /// Hold no VIPs (remove them if held) and become a sync backup that mirrors the active.
        case becomeStandby(Reason)
        /// Hold no VIPs (remove them if held) and claim nothing until the failing condition recovers.
        case enterFault(Reason)
        /// Release the VIPs; the daemon is going away.
        case stop(Reason)
        /// Send this advert to every peer on every configured path.
        case sendHeartbeat(PeerAdvert)
        /// The state changed: log it and run the configured hooks.
        case notify(old: ElectionState, new: ElectionState, reason: Reason)
        /// Announce the VIPs again (gratuitous ARP, unsolicited NA) while staying active: a peer may have pulled the
        /// neighbours' caches to itself (it was active too, or it held the VIPs before it restarted) and has
        /// released them since, or is about to.
        case reannounce(ReannounceCause)
        /// A planned handover did not happen: no in-sync standby by the deadline (this director stays active), or
        /// the chosen standby did not take over within the dead interval (the ordinary rules decide again).
        case handoverFailed(FailoverError)
    }

    /// Why the active announces its VIPs again (``Action/reannounce(_:)``).
    public enum ReannounceCause: Hashable, Sendable, CustomStringConvertible {
        /// The peer advertises itself active too (a healed partition, a false failover, a preemption's overlap):
        /// its announcements may have won the neighbours; it steps down, this one stays.
        case peerAlsoActive(String)
        /// The peer that was active too now advertises another state: it released the VIPs, and a neighbour that
        /// resolved them while both held them may still name its MAC.
        case peerReleased(String)
        /// A peer was heard for the first time or in a new incarnation: a director that restarts removes the VIPs
        /// its last run left on its interfaces, and until then it may have answered for them.
        case peerStarted(String)

        public var description: String {
            switch self {
            case .peerAlsoActive(let peer): "\(peer) was active too"
            case .peerReleased(let peer): "\(peer) released the VIPs"
            case .peerStarted(let peer): "\(peer) started"
            }
        }
    }

    /// Why a transition happened.
    public enum Reason: Hashable, Sendable, CustomStringConvertible {
        /// The daemon started (the first state, before any transition).
        case started
        /// The boot wait passed and no peer was heard.
        case bootWaitExpired
        /// A live peer advertises itself active.
        case peerIsActive(String)
        /// No live peer is active and this live peer ranks above this director; it claims the VIPs.
        case outrankedBy(String)
        /// No live peer is active (they are standby, starting, in fault or stopped) and this director ranks first.
        case noActivePeer
        /// The active peer was not heard on any path for the dead interval.
        case peerSilent(String)
        /// The active peer's UDP heartbeats stopped for the UDP path's detection time.
        case udpHeartbeatsStopped(String)
        /// This standby outranked the active peer, in sync, for the preempt delay.
        case preempted(String)
        /// Both were active; the advert of `winner` decided that `loser` steps down.
        case splitBrain(winner: String, loser: String)
        /// This director handed the VIPs over to the peer in a planned handover.
        case handoverTo(String)
        /// The peer handed the VIPs over to this director in a planned handover.
        case handoverFrom(String)
        /// A health condition configured as a step-down fails.
        case healthFailed(HealthCondition)
        /// Every step-down health condition recovered.
        case healthRestored
        /// The daemon is shutting down.
        case shutdown

        public var description: String {
            switch self {
            case .started: "started"
            case .bootWaitExpired: "no peer heard within the boot wait"
            case .peerIsActive(let peer): "\(peer) is active"
            case .outrankedBy(let peer): "no director is active and \(peer) ranks first"
            case .noActivePeer: "no director is active and this one ranks first"
            case .peerSilent(let peer): "the active \(peer) was not heard for the dead interval"
            case .udpHeartbeatsStopped(let peer): "the active \(peer)'s UDP heartbeats stopped for the detection time"
            case .preempted(let peer): "preempted \(peer) (higher priority, in sync, after the preempt delay)"
            case .splitBrain(let winner, let loser): "both were active: \(winner) stays, \(loser) steps down"
            case .handoverTo(let peer): "planned handover to \(peer)"
            case .handoverFrom(let peer): "planned handover from \(peer)"
            case .healthFailed(let condition): "health condition \(condition) fails"
            case .healthRestored: "every step-down health condition recovered"
            case .shutdown: "shutting down"
            }
        }
    }

    /// The last change of state, for `lvsync status`.
    public struct Transition: Hashable, Sendable {
        /// The state before.
        public var from: ElectionState
        /// The state after.
        public var to: ElectionState
        /// Why.
        public var reason: Reason
        /// When.
        public var at: ElectionTime
    }

    /// What this director knows of one peer.
    public struct PeerRecord: Hashable, Sendable {
        /// The peer's newest advert.
        public internal(set) var advert: PeerAdvert
        /// When anything was last heard from it, on any path.
        public internal(set) var lastHeard: ElectionTime
        /// When it was last heard on each path.
        public internal(set) var lastHeardOn: [HeartbeatPath: ElectionTime]
        /// Whether the peer link is connected (a heartbeat came over it since the driver last reported it lost).
        public internal(set) var linkConnected: Bool
    }
}
