import Metrics
import Synchronization

/// Counts of link events by reason: refused connections, closed links, snapshots. Kept here for `lvsync stats` and
/// tests, and reported through swift-metrics.
public final class PeerCounters: Sendable {
    private let counts = Mutex([String: Int]())

    /// Creates zeroed counters.
    public init() {}

    /// A connection refused before its link began (TLS, identity, not TLS at all).
    public func refused(_ reason: String) {
        bump("refused.\(reason)")
        Counter(label: "lvsync_peer_refused_total", dimensions: [("reason", reason)]).increment()
    }

    /// A connection closed before it said hello: over the global or per-source cap of pending connections, or at
    /// the hello deadline (`global_cap`, `per_source_cap`, `hello_timeout`).
    public func shed(_ reason: String) {
        bump("shed.\(reason)")
        Counter(label: "lvsync_peer_connections_shed_total", dimensions: [("reason", reason)]).increment()
    }

    /// The connections on the peer port that have not said hello yet.
    public func pending(_ count: Int) {
        counts.withLock { $0["pending"] = count }
        Gauge(label: "lvsync_peer_connections_pending").record(count)
    }

    /// A link that ended, with the reason.
    public func closed(_ reason: String) {
        bump("closed.\(reason)")
        Counter(label: "lvsync_peer_links_closed_total", dimensions: [("reason", reason)]).increment()
    }

    /// A link that came up.
    public func opened() {
        bump("opened")
        Counter(label: "lvsync_peer_links_opened_total").increment()
    }

    /// A link kept for adverts only because a certificate is out of its validity window (`expired`, `not_yet_valid`,
    /// or `own_certificate` for this node's): `degraded.<reason>`.
    public func degraded(_ reason: String) {
        bump("degraded.\(reason)")
        Counter(label: "lvsync_peer_links_degraded_total", dimensions: [("reason", reason)]).increment()
    }

    /// A snapshot sent to a standby.
    public func snapshotSent() {
        bump("snapshots")
        Counter(label: "lvsync_peer_snapshots_total").increment()
    }

    /// A connection attempt that failed.
    public func connectFailed() {
        bump("connect_failed")
        Counter(label: "lvsync_peer_connect_failures_total").increment()
    }

    /// The count for a key such as `refused.unknown_ca` or `closed.gap`.
    public subscript(key: String) -> Int { counts.withLock { $0[key, default: 0] } }

    /// Every count.
    public var all: [String: Int] { counts.withLock { $0 } }

    private func bump(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
}
