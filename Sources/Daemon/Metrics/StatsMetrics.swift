import Control
import Prometheus
import Synchronization

/// The sync statistics (the log's `sync stats` line, `lvsync stats`) as Prometheus metrics, refreshed before each
/// scrape: a key `a.b_c` becomes `lvsync_a_b_c`. Totals that only grow (``counterKeys``) are counters with the suffix
/// `_total`; a change of role starts a new side whose totals begin at zero again, and the counters then go on from
/// where they were (Prometheus counters never go down). Every other number is a gauge. The role is
/// `lvsync_election_role{role="…"}` (1 for the current role, 0 for the others); `peer.*` counts are left to the
/// counters the links keep themselves (`lvsync_peer_*_total`).
public final class StatsMetrics: Sendable {
    /// The stats keys exported as counters.
    public static let counterKeys: Set<String> = [
        "sync.entries", "sync.kernel_messages", "sync.malformed_messages", "sync.batches", "sync.log_dropped_batches",
        "sync.injection_failures", "kernel.drops", "kernel.resent", "kernel.lost", "kernel.repaired",
        "sync.capture_drops", "kernel.reconciled",
    ]
    /// Stats keys left to the metrics their owners keep themselves, under the same names with labels
    /// (`lvsync_health_changes_total{service,server,to}`): a second metric of the same name would be a conflict the
    /// registry refuses.
    public static let ownedElsewhere: Set<String> = ["health.changes", "sync.entries_per_s"]
    /// The roles `lvsync_election_role` has a series for.
    public static let roles = ["initialising", "standby", "active", "fault", "stopped"]

    private let registry: PrometheusCollectorRegistry
    private let last = Mutex<[String: Int64]>([:])

    /// Publishes into `registry`.
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// The metric name for a stats key: `sync.lag_ms_p99` → `lvsync_sync_lag_ms_p99`.
    public static func metricName(_ key: String) -> String {
        "lvsync_" + String(key.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Brings the metrics up to date with a stats object (flat keys, numbers as numbers; others are ignored but the
    /// role).
    public func update(from stats: [String: JSONValue]) {
        // A rate is Prometheus' own business (rate() over the counters).
        for (key, value) in stats where !key.hasPrefix("peer.") && !Self.ownedElsewhere.contains(key) {
            if key == "election.role", let role = value.stringValue {
                for candidate in Self.roles {
                    registry.makeGauge(
                        name: "lvsync_election_role",
                        labels: [("role", candidate)],
                        help: "1 for this director's current role, 0 for the others"
                    ).set(to: candidate == role ? 1.0 : 0.0)
                }
                continue
            }
            if key.hasPrefix("standby.") {
                // standby.NAME.FIELD: one gauge per field, the standby as a label.
                let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
                if parts.count == 3, let number = value.doubleValue {
                    registry.makeGauge(
                        name: Self.metricName("standby." + parts[2]),
                        labels: [("peer", parts[1])],
                        help: "the stats line's standby.NAME.\(parts[2]), per standby"
                    ).set(to: number)
                }
                continue
            }
            if Self.counterKeys.contains(key), let now = value.integerValue {
                let increment = last.withLock { last -> Int64 in
                    let before = last[key] ?? 0
                    last[key] = now
                    // A new side counts from zero: all of its count is new.
                    return now >= before ? now - before : now
                }
                let counter = registry.makeCounter(
                    name: Self.metricName(key) + "_total",
                    help: "the stats line's \(key), summed over role changes"
                )
                if increment > 0 { counter.increment(by: increment) }
            } else if let number = value.doubleValue {
                registry.makeGauge(name: Self.metricName(key), help: "the stats line's \(key)").set(to: number)
            }
        }
    }
}
