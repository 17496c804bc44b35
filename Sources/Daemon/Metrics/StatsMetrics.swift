import Control
import Prometheus
import Synchronization

/// The sync statistics (the log's `sync stats` line, `lvsync stats`) as the metrics of the ``MetricsContract``,
/// refreshed before each scrape. Each stats key maps to a fixed metric (``exports``); the entries count is
/// `lvsync_sync_captured_entries_total` on an active director and `lvsync_sync_injected_entries_total` on a standby.
/// Totals that only grow are counters; a change of role starts a new side whose totals begin at zero again, and the
/// counters then go on from where they were (Prometheus counters never go down). The role is
/// `lvsync_election_role{role="…"}` (1 for the current role, 0 for the others). The 0.4 names
/// (``MetricsContract/deprecated``) are served beside them for this release.
public final class StatsMetrics: Sendable {
    /// How a stats key is exported: a counter or a gauge of the contract, and the deprecated 0.4 name, if any.
    public struct Export: Sendable {
        /// The contract's name.
        public var name: String
        /// A counter (the key's value only grows on one side) or a gauge.
        public var isCounter: Bool
        /// The 0.4 name served beside it, deprecated.
        public var deprecatedName: String?
    }

    /// The stats keys exported, by key. `sync.entries` is role-dependent and handled apart; `standby.NAME.FIELD`
    /// keys by their field (``standbyExports``).
    public static let exports: [String: Export] = [
        "sync.kernel_messages": Export(name: "lvsync_sync_kernel_messages_total", isCounter: true),
        "sync.malformed_messages": Export(name: "lvsync_sync_malformed_messages_total", isCounter: true),
        "sync.batches": Export(name: "lvsync_sync_batches_total", isCounter: true),
        "sync.log_dropped_batches": Export(name: "lvsync_sync_log_dropped_batches_total", isCounter: true),
        "sync.capture_drops": Export(name: "lvsync_sync_capture_drops_total", isCounter: true),
        "sync.injection_failures": Export(name: "lvsync_sync_injection_failures_total", isCounter: true),
        "sync.sequence": Export(name: "lvsync_sync_sequence", isCounter: false),
        "sync.snapshot_in_progress": Export(
            name: "lvsync_sync_snapshots_in_progress",
            isCounter: false,
            deprecatedName: "lvsync_sync_snapshot_in_progress"
        ),
        "sync.peers": Export(name: "lvsync_peer_links_open", isCounter: false, deprecatedName: "lvsync_sync_peers"),
        "kernel.connections": Export(name: "lvsync_kernel_connections", isCounter: false),
        "kernel.missing": Export(
            name: "lvsync_kernel_missing_connections",
            isCounter: false,
            deprecatedName: "lvsync_kernel_missing"
        ),
        "kernel.queued": Export(
            name: "lvsync_kernel_queued_messages",
            isCounter: false,
            deprecatedName: "lvsync_kernel_queued"
        ),
        "kernel.drops": Export(name: "lvsync_kernel_drops_total", isCounter: true),
        "kernel.resent": Export(name: "lvsync_kernel_resent_total", isCounter: true),
        "kernel.lost": Export(name: "lvsync_kernel_lost_total", isCounter: true),
        "kernel.repaired": Export(name: "lvsync_kernel_repaired_total", isCounter: true),
        "kernel.reconciled": Export(name: "lvsync_kernel_reconciled_total", isCounter: true),
        "mirror.size": Export(name: "lvsync_mirror_entries", isCounter: false, deprecatedName: "lvsync_mirror_size"),
        "health.servers": Export(name: "lvsync_health_servers", isCounter: false),
        "health.servers_down": Export(name: "lvsync_health_servers_down", isCounter: false),
    ]

    /// The per-standby fields (`standby.NAME.FIELD`) exported with the standby as the `peer` label.
    public static let standbyExports: [String: Export] = [
        "sent_sequence": Export(name: "lvsync_standby_sent_sequence", isCounter: false),
        "acked_sequence": Export(name: "lvsync_standby_acked_sequence", isCounter: false),
        "in_flight_bytes": Export(name: "lvsync_standby_in_flight_bytes", isCounter: false),
        "snapshot_sent": Export(
            name: "lvsync_standby_snapshot_sent_entries",
            isCounter: false,
            deprecatedName: "lvsync_standby_snapshot_sent"
        ),
        "snapshot_total": Export(
            name: "lvsync_standby_snapshot_entries",
            isCounter: false,
            deprecatedName: "lvsync_standby_snapshot_total"
        ),
        "snapshot_seconds_left": Export(
            name: "lvsync_standby_snapshot_remaining_seconds",
            isCounter: false,
            deprecatedName: "lvsync_standby_snapshot_seconds_left"
        ),
    ]

    /// Deprecated 0.4 gauges with no contract metric of the same value: served for this release only.
    static let deprecatedOnly: [String: String] = [
        "sync.lag_ms_p50": "lvsync_sync_lag_ms_p50", "sync.lag_ms_p99": "lvsync_sync_lag_ms_p99",
        "sync.lag_ms_max": "lvsync_sync_lag_ms_max",
    ]
    static let deprecatedStandbyOnly = ["snapshot_entries_per_s": "lvsync_standby_snapshot_entries_per_s"]

    /// The roles `lvsync_election_role` has a series for.
    public static let roles = ["initialising", "standby", "active", "fault", "stopped"]

    private let registry: PrometheusCollectorRegistry
    private let last = Mutex<[String: Int64]>([:])

    /// Publishes into `registry`.
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Brings the metrics up to date with a stats object (flat keys, numbers as numbers; others are ignored but the
    /// role).
    public func update(from stats: [String: JSONValue]) {
        if let role = stats["election.role"]?.stringValue {
            for candidate in Self.roles {
                gauge("lvsync_election_role", labels: [("role", candidate)]).set(to: candidate == role ? 1.0 : 0.0)
            }
        }
        if let entries = stats["sync.entries"]?.integerValue {
            let side = stats["sync.role"]?.stringValue == "standby" ? "injected" : "captured"
            count("lvsync_sync_\(side)_entries_total", key: "sync.entries", now: entries)
            count("lvsync_sync_entries_total", key: "sync.entries.deprecated", now: entries, deprecated: true)
        }
        for (key, value) in stats {
            if key.hasPrefix("standby.") {
                standby(key, value)
                continue
            }
            if let name = Self.deprecatedOnly[key], let number = value.doubleValue {
                gauge(name, deprecated: true).set(to: number)
                continue
            }
            guard let export = Self.exports[key] else { continue }
            if export.isCounter, let now = value.integerValue {
                count(export.name, key: key, now: now)
            } else if let number = value.doubleValue {
                gauge(export.name).set(to: number)
                if let old = export.deprecatedName { gauge(old, deprecated: true).set(to: number) }
            }
        }
    }

    /// `standby.NAME.FIELD`: one gauge per field, the standby as the `peer` label.
    private func standby(_ key: String, _ value: JSONValue) {
        let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, let number = value.doubleValue else { return }
        let labels = [("peer", parts[1])]
        if let old = Self.deprecatedStandbyOnly[parts[2]] {
            gauge(old, labels: labels, deprecated: true).set(to: number)
        } else if let export = Self.standbyExports[parts[2]] {
            gauge(export.name, labels: labels).set(to: number)
            if let old = export.deprecatedName { gauge(old, labels: labels, deprecated: true).set(to: number) }
        }
    }

    /// A counter brought to a side's total `now` (a new side counts from zero: all of its count is new).
    private func count(_ name: String, key: String, now: Int64, deprecated: Bool = false) {
        let increment = last.withLock { last -> Int64 in
            let before = last[key] ?? 0
            last[key] = now
            return now >= before ? now - before : now
        }
        let counter = registry.makeCounter(name: name, help: Self.help(name, deprecated: deprecated))
        if increment > 0 { counter.increment(by: increment) }
    }

    private func gauge(_ name: String, labels: [(String, String)] = [], deprecated: Bool = false) -> Gauge {
        registry.makeGauge(name: name, labels: labels, help: Self.help(name, deprecated: deprecated))
    }

    /// The contract's help text, or the deprecation notice naming the replacement.
    static func help(_ name: String, deprecated: Bool) -> String {
        if deprecated {
            let replacement = MetricsContract.deprecated.first { $0.name == name }?.replacement ?? "the contract"
            return "DEPRECATED (goes in the next release): use \(replacement)"
        }
        return MetricsContract.metric(named: name)?.help ?? name
    }
}
