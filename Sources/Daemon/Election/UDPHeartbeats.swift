import HostNetwork
import Logging
import PeerProtocol
import SyncWire

/// The election's UDP path, the failure detector: this director's advert as an authenticated datagram to each peer
/// every interval (and at once when it changes), and the peers' datagrams in, both on the election's own thread
/// (``ElectionDriver``), so that nothing else in the daemon — a snapshot being encoded, TLS, health probes, logging
/// — can hold a heartbeat back. A peer heard on this path is dead when it goes unheard for the detection time
/// (interval × multiplier), see the Failover README.
///
/// A datagram counts only if its HMAC matches the shared key, it comes from the address configured for the peer its
/// advert names, and it is fresh: it echoes this process's nonce, or it is a later datagram of an incarnation that
/// did (``HeartbeatFreshness``), so that no datagram made before this process started, replayed, is a sign of life.
/// Every other datagram is counted and logged, a few lines at most (``HeartbeatExchange``).
public struct UDPHeartbeats: Sendable {
    /// A peer's heartbeat address.
    public struct Peer: Sendable, Hashable {
        /// The peer's node name.
        public var name: String
        /// Where its heartbeats come from and go to.
        public var address: Endpoint

        /// Creates a peer.
        public init(name: String, address: Endpoint) {
            self.name = name
            self.address = address
        }
    }

    /// The socket.
    let socket: HeartbeatSocket
    /// The peers.
    let peers: [Peer]
    /// Seals and checks the datagrams.
    let exchange: HeartbeatExchange
    /// How often the advert goes out while it does not change.
    let interval: Duration
    /// The election thread's `SCHED_FIFO` priority (0: the normal scheduler).
    let realtimePriority: Int
    /// What the path saw of each peer.
    let statistics: HeartbeatStatistics
    let logger: Logger

    /// Binds the path's socket to `listen`.
    ///
    /// - Throws: ``DaemonError`` when the address cannot be bound.
    public init(
        listen: Endpoint,
        peers: [Peer],
        interval: Duration,
        realtimePriority: Int = 0,
        exchange: HeartbeatExchange,
        statistics: HeartbeatStatistics = HeartbeatStatistics(),
        logger: Logger
    ) throws(DaemonError) {
        do {
            socket = try HeartbeatSocket(listen: listen)
        } catch {
            throw DaemonError("the UDP heartbeat path cannot listen: \(error)")
        }
        self.peers = peers
        self.interval = interval
        self.realtimePriority = realtimePriority
        self.exchange = exchange
        self.statistics = statistics
        self.logger = logger
    }

    /// Sends `advert` to every peer; a refusal of the kernel is logged (rate-limited by the exchange's log).
    func send(_ advert: PeerMessage.Advert) {
        for peer in peers {
            if let error = socket.send(exchange.datagram(advert, to: peer.name), to: peer.address) {
                exchange.sendFailed(to: peer.name, errno: error)
            }
        }
    }

    /// Every advert waiting in the socket that is a sign of life, in order of arrival.
    func receiveAll() -> [PeerMessage.Advert] {
        var adverts: [PeerMessage.Advert] = []
        while let (bytes, source) = socket.receive() {
            if let advert = exchange.receive(bytes, from: source) {
                statistics.received(from: advert.node, at: .now)
                adverts.append(advert)
            }
        }
        return adverts
    }
}
