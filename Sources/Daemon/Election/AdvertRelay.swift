import Failover
import Logging
import PeerProtocol
import Synchronization

/// Carries the election's adverts between the election and the peer links: the newest advert of this director out
/// to every link (each link writes it as soon as it changes), and the peers' adverts and the links' comings and
/// goings in, as ``ElectionEvent``s into the election's ``ElectionInbox``.
public final class AdvertRelay: Sendable {
    private struct State {
        var latest: PeerMessage.Advert?
        var nextSubscriber = 0
        var subscribers: [Int: AsyncStream<PeerMessage.Advert>.Continuation] = [:]
        var linksByPeer: [String: Int] = [:]
    }

    private let state = Mutex(State())
    /// What the election hears.
    public let inbox: ElectionInbox
    let logger: Logger

    /// Creates a relay with nothing to send yet.
    public init(logger: Logger) {
        inbox = ElectionInbox()
        self.logger = logger
    }

    // MARK: - Out

    /// Sends this advert on every link (and on links that open later, first thing).
    public func publish(_ advert: PeerMessage.Advert) {
        let subscribers = state.withLock { state in
            state.latest = advert
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.yield(advert) }
    }

    /// The adverts a link must write: the newest at once, then every new one.
    func subscribe() -> (id: Int, adverts: AsyncStream<PeerMessage.Advert>) {
        let (stream, continuation) = AsyncStream<PeerMessage.Advert>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.nextSubscriber += 1
            state.subscribers[state.nextSubscriber] = continuation
            if let latest = state.latest { continuation.yield(latest) }
            return state.nextSubscriber
        }
        return (id, stream)
    }

    func unsubscribe(_ id: Int) {
        state.withLock { $0.subscribers.removeValue(forKey: id) }?.finish()
    }

    // MARK: - In

    /// Takes an advert that arrived on the link authenticated as `peer`. An advert that names another node is
    /// dropped and logged: a certificate proves one name only.
    func received(_ advert: PeerMessage.Advert, onLinkOf peer: String) {
        guard advert.node == peer else {
            logger.warning(
                "dropped an advert that names another node than its link's certificate",
                metadata: ["peer": "\(peer)", "advert.node": "\(advert.node)"]
            )
            return
        }
        inbox.post(.advert(advert, path: .link))
    }

    /// A link to `peer` began.
    func linkOpened(to peer: String) {
        state.withLock { $0.linksByPeer[peer, default: 0] += 1 }
    }

    /// A link to `peer` ended; the election hears that the peer link is lost when it was the last one.
    func linkClosed(to peer: String) {
        let left = state.withLock { state in
            state.linksByPeer[peer, default: 1] -= 1
            return state.linksByPeer[peer] ?? 0
        }
        if left <= 0 { inbox.post(.linkLost(peer)) }
    }

    /// Whether any link to `peer` is open.
    public func isLinked(to peer: String) -> Bool { state.withLock { ($0.linksByPeer[peer] ?? 0) > 0 } }

    /// Tells the election something else.
    public func post(_ event: ElectionEvent) { inbox.post(event) }

    /// No election listens (a role fixed by the configuration): what the links report is dropped, not kept.
    func dropEvents() { inbox.close() }
}

/// What the election hears from the links, the health checks, the mirror and the operator.
public enum ElectionEvent: Sendable {
    /// A peer's advert and the path it came by (its node checked against the link's certificate, or the datagram's
    /// HMAC and source address).
    case advert(PeerMessage.Advert, path: HeartbeatPath)
    /// The last link to this peer closed.
    case linkLost(String)
    /// This director's mirror table is (or is no longer) in sync with the active's.
    case syncStatus(inSync: Bool)
    /// A health condition changed.
    case health(String, ok: Bool)
    /// A planned handover (`lvsync drill`): the answer is nil when it began, else why not.
    case handover(waitingAtMost: Duration, reply: @Sendable (String?) -> Void)
    /// The daemon is shutting down: release the VIPs and tell the peers.
    case shutdown
}
