import Logging
import Metrics
import PeerProtocol
import SyncWire
import Synchronization

/// The second path's datagrams in and out, without the socket: each outgoing advert sealed with this process's nonce
/// and the echo of the recipient's, each incoming datagram checked (HMAC and layout, the peer configured at its source
/// address, ``HeartbeatFreshness``) and either handed on as a sign of life or ignored. Every ignored datagram is
/// counted in `lvsync_heartbeat_datagrams_ignored_total{reason}` and logged through a ``RateLimitedLog``, so that a
/// flood of them makes a few lines and a "N more suppressed" line.
public final class HeartbeatExchange: Sendable {
    /// Why a datagram was ignored, as the counter's `reason` names it.
    public enum IgnoredReason: String, Sendable, CaseIterable {
        /// The HMAC does not match.
        case badMAC = "bad_mac"
        /// Not a datagram of this version and layout.
        case malformed
        /// Its advert names no peer configured at its source address.
        case unknownPeer = "unknown_peer"
        /// A retired incarnation of the peer.
        case stale
        /// A copy, or older than one already taken.
        case replay
        /// Another incarnation that does not echo this process's nonce.
        case notFresh = "not_fresh"
    }

    private let codec: HeartbeatDatagram
    private let peers: [UDPHeartbeats.Peer]
    private let state: Mutex<HeartbeatFreshness>
    private let sent = Atomic<UInt64>(0)
    private let counts = Mutex<[IgnoredReason: Int]>([:])
    private let log: RateLimitedLog
    private let logger: Logger
    private let metrics: (any MetricsFactory)?

    /// An exchange with this `nonce` (a fresh random one by default); `metrics` nil: the `MetricsSystem`'s factory.
    public init(
        codec: HeartbeatDatagram,
        peers: [UDPHeartbeats.Peer],
        nonce: UInt64 = HeartbeatFreshness.randomNonce(),
        logger: Logger,
        log: RateLimitedLog? = nil,
        metrics: (any MetricsFactory)? = nil
    ) {
        self.codec = codec
        self.peers = peers
        state = Mutex(HeartbeatFreshness(nonce: nonce))
        self.logger = logger
        self.log = log ?? RateLimitedLog(logger: logger)
        self.metrics = metrics
    }

    /// This process's nonce.
    public var nonce: UInt64 { state.withLock { $0.nonce } }

    /// The datagram that carries `advert` to `peer`.
    public func datagram(_ advert: PeerMessage.Advert, to peer: String) -> [UInt8] {
        let number = sent.add(1, ordering: .relaxed).newValue
        return codec.seal(advert, nonce: nonce, echo: state.withLock { $0.echo(for: peer) }, number: number)
    }

    /// The advert in `datagram` from `source` when it is a sign of life of a configured peer; nil when it is
    /// ignored (counted and logged).
    public func receive(_ datagram: [UInt8], from source: Endpoint) -> PeerMessage.Advert? {
        let opened: HeartbeatDatagram.Opened
        switch codec.open(datagram) {
        case .failure(let refusal):
            let reason: IgnoredReason = refusal.reason == .badMAC ? .badMAC : .malformed
            ignore(reason, "\(refusal)", ["from": "\(source)"])
            return nil
        case .success(let value): opened = value
        }
        let advert = opened.advert
        guard let peer = peers.first(where: { $0.name == advert.node }), peer.address.address == source.address
        else {
            ignore(
                .unknownPeer,
                "a heartbeat datagram was refused: its advert names no peer configured at its source",
                ["from": "\(source)", "advert.node": "\(advert.node)"]
            )
            return nil
        }
        let verdict = state.withLock {
            $0.receive(
                from: advert.node,
                incarnation: advert.incarnation,
                sequence: opened.number,
                senderNonce: opened.nonce,
                echo: opened.echo
            )
        }
        switch verdict {
        case .alive:
            return advert
        case .newLife(let retired):
            logger.info(
                "heartbeats on the second path: the peer runs in a new incarnation",
                metadata: [
                    "peer": "\(advert.node)", "incarnation": "\(advert.incarnation)", "retired": "\(retired)",
                ]
            )
            return advert
        case .ignored(let reason):
            let why: String
            switch reason {
            case .stale: why = "it belongs to an incarnation of the peer that a later one replaced"
            case .replay: why = "a copy of, or older than, one already taken"
            case .notFresh: why = "another incarnation that does not echo this director's nonce (yet)"
            }
            ignore(
                IgnoredReason(rawValue: reason.rawValue) ?? .replay,
                "a heartbeat datagram was ignored: \(why)",
                [
                    "from": "\(source)", "peer": "\(advert.node)", "incarnation": "\(advert.incarnation)",
                    "sequence": "\(advert.sequence)",
                ]
            )
            return nil
        }
    }

    /// Logs that the kernel refused to send a heartbeat to `peer` (a few lines at most).
    func sendFailed(to peer: String, errno: Int32) {
        log.log(
            .warning,
            kind: "heartbeat.send",
            "a heartbeat datagram could not be sent",
            metadata: ["peer": "\(peer)", "errno": "\(errno)"]
        )
    }

    /// Logs how many lines of each kind were suppressed in windows that ended (call now and then).
    public func reportSuppressed() {
        log.flush()
    }

    /// Datagrams ignored for `reason` by this exchange so far.
    public func ignored(_ reason: IgnoredReason) -> Int {
        counts.withLock { $0[reason] ?? 0 }
    }

    private func ignore(_ reason: IgnoredReason, _ message: String, _ metadata: Logger.Metadata) {
        counts.withLock { $0[reason, default: 0] += 1 }
        let dimensions = [("reason", reason.rawValue)]
        if let metrics {
            Counter(label: "lvsync_heartbeat_datagrams_ignored_total", dimensions: dimensions, factory: metrics)
                .increment()
        } else {
            Counter(label: "lvsync_heartbeat_datagrams_ignored_total", dimensions: dimensions).increment()
        }
        // A restarted peer's first datagrams are not fresh yet: expected, so not a warning.
        let level: Logger.Level = reason == .notFresh ? .info : .warning
        var fields = metadata
        fields["reason"] = "\(reason.rawValue)"
        log.log(level, kind: "heartbeat.\(reason.rawValue)", "\(message)", metadata: fields)
    }
}
