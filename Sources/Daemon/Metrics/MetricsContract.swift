/// lvsync's metrics contract: every metric the endpoint serves, by name, type, labels and meaning, in base units
/// (seconds, bytes, `_total` counters). Names change only with a release note: dashboards and alert rules
/// (`ops/grafana/lvsync.json`, `ops/prometheus/lvsync-alerts.yaml`) are written against this list, and a test checks
/// that every metric they name is in it and that a scrape serves nothing outside it.
///
/// The names that 0.4 derived from the stats line's keys are kept for this release as deprecated aliases
/// (``deprecated``), with the same values and a help text that names the replacement.
public enum MetricsContract {
    /// A metric's type, as the exposition format's `# TYPE` line says it.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One metric of the contract.
    public struct Metric: Sendable {
        /// The full name (`lvsync_sync_captured_entries_total`).
        public var name: String
        /// Its type.
        public var kind: Kind
        /// Its labels.
        public var labels: [String]
        /// What it measures, and on which director.
        public var help: String

        init(_ name: String, _ kind: Kind, _ labels: [String] = [], _ help: String) {
            (self.name, self.kind, self.labels, self.help) = (name, kind, labels, help)
        }
    }

    /// The contract.
    public static let metrics: [Metric] = [
        // What lvsync is and which role it holds.
        Metric("lvsync_build_info", .gauge, ["version", "revision"], "1; the labels say which lvsync this is"),
        Metric(
            "lvsync_election_role",
            .gauge,
            ["role"],
            "1 for this director's current role (initialising, standby, active, fault, stopped), 0 for the others"
        ),
        Metric("lvsync_election_transitions_total", .counter, ["from", "to"], "changes of role"),
        // The sync stream.
        Metric(
            "lvsync_sync_captured_entries_total",
            .counter,
            [],
            "connection entries taken from the kernel master daemon's messages (an active director)"
        ),
        Metric(
            "lvsync_sync_injected_entries_total",
            .counter,
            [],
            "connection entries fed to the kernel backup daemon (a standby)"
        ),
        Metric(
            "lvsync_sync_kernel_messages_total",
            .counter,
            [],
            "sync messages captured from (active) or injected into (standby) the kernel"
        ),
        Metric(
            "lvsync_sync_malformed_messages_total",
            .counter,
            [],
            "sync messages refused as malformed (their entries lost)"
        ),
        Metric("lvsync_sync_batches_total", .counter, [], "batches streamed to the standbys (active)"),
        Metric("lvsync_sync_sequence", .gauge, [], "the last batch's sequence number (active)"),
        Metric(
            "lvsync_sync_log_dropped_batches_total",
            .counter,
            [],
            "batches dropped from the resume log before every standby had them (a standby then needs a snapshot)"
        ),
        Metric(
            "lvsync_sync_capture_drops_total",
            .counter,
            [],
            "sync datagrams the kernel dropped before lvsync read them (the capture socket's drops; active)"
        ),
        Metric(
            "lvsync_sync_injection_failures_total",
            .counter,
            [],
            "messages the standby could not hand to the kernel backup daemon"
        ),
        Metric(
            "lvsync_sync_lag_seconds",
            .histogram,
            [],
            "from the active's capture of an entry to the standby's injection of it (standby)"
        ),
        Metric(
            "lvsync_sync_snapshots_in_progress",
            .gauge,
            [],
            "standbys receiving a snapshot of the table now (active)"
        ),
        // The kernel's own table, read back from the kernel.
        Metric(
            "lvsync_kernel_connections",
            .gauge,
            [],
            "connection entries the kernel's IPVS holds (read from the kernel, not what lvsync sent)"
        ),
        Metric(
            "lvsync_kernel_missing_connections",
            .gauge,
            [],
            "mirror entries the standby's kernel did not hold at the last audit"
        ),
        Metric(
            "lvsync_kernel_queued_messages",
            .gauge,
            [],
            "messages waiting for room in the kernel backup daemon's socket (standby)"
        ),
        Metric(
            "lvsync_kernel_drops_total",
            .counter,
            [],
            "datagrams the kernel backup daemon's socket dropped (resent by lvsync)"
        ),
        Metric("lvsync_kernel_resent_total", .counter, [], "messages sent to the kernel backup daemon again"),
        Metric(
            "lvsync_kernel_lost_total",
            .counter,
            [],
            "entries the standby's kernel lacked at an audit (then repaired)"
        ),
        Metric("lvsync_kernel_repaired_total", .counter, [], "entries re-injected by the standby's audits"),
        Metric(
            "lvsync_kernel_reconciled_total",
            .counter,
            [],
            "entries the active's audit found in its kernel but not in its mirror (then streamed)"
        ),
        Metric("lvsync_mirror_entries", .gauge, [], "connection entries in lvsync's mirror table"),
        // The standbys, as the active sees them.
        Metric("lvsync_standby_sent_sequence", .gauge, ["peer"], "the last sequence sent to the standby (active)"),
        Metric(
            "lvsync_standby_acked_sequence",
            .gauge,
            ["peer"],
            "the last sequence the standby acknowledged (active)"
        ),
        Metric("lvsync_standby_in_flight_bytes", .gauge, ["peer"], "bytes sent and not yet acknowledged (active)"),
        Metric(
            "lvsync_standby_snapshot_sent_entries",
            .gauge,
            ["peer"],
            "entries of the running snapshot sent so far (active)"
        ),
        Metric(
            "lvsync_standby_snapshot_entries",
            .gauge,
            ["peer"],
            "entries in the running snapshot (active)"
        ),
        Metric(
            "lvsync_standby_snapshot_remaining_seconds",
            .gauge,
            ["peer"],
            "the running snapshot's time left at its rate so far (active)"
        ),
        // The peer links.
        Metric(
            "lvsync_peer_links_open",
            .gauge,
            [],
            "peer links open now (a standby has two per active: its receiver link and its observer link)"
        ),
        Metric("lvsync_peer_links_opened_total", .counter, [], "peer links opened"),
        Metric("lvsync_peer_links_closed_total", .counter, ["reason"], "peer links closed, by reason"),
        Metric(
            "lvsync_peer_links_degraded_total",
            .counter,
            ["reason"],
            "peer links kept for adverts only (a certificate out of its dates)"
        ),
        Metric("lvsync_peer_snapshots_total", .counter, [], "snapshots sent to standbys (active)"),
        Metric("lvsync_peer_connect_failures_total", .counter, [], "dials to a peer that failed"),
        Metric(
            "lvsync_peer_refused_total",
            .counter,
            ["reason"],
            "peers refused (certificate, node name, sync ID, protocol), by reason"
        ),
        Metric(
            "lvsync_peer_connections_shed_total",
            .counter,
            ["reason"],
            "incoming connections closed by the admission caps"
        ),
        Metric(
            "lvsync_peer_connections_pending",
            .gauge,
            [],
            "incoming connections still in their TLS handshake or hello"
        ),
        Metric(
            "lvsync_peer_certificate_invalid",
            .gauge,
            ["peer"],
            "1 while the peer's certificate is out of its dates (its link carries adverts only)"
        ),
        Metric(
            "lvsync_heartbeat_datagrams_ignored_total",
            .counter,
            ["reason"],
            "UDP heartbeats ignored (bad HMAC, replay, unknown peer)"
        ),
        // Certificates.
        Metric(
            "lvsync_tls_certificate_expiry_timestamp_seconds",
            .gauge,
            ["certificate"],
            "when the certificate expires (Unix time; node: this node's, ca: its CA)"
        ),
        Metric(
            "lvsync_tls_certificate_expiry_seconds",
            .gauge,
            ["certificate"],
            "seconds until the certificate expires (negative: expired)"
        ),
        // A cluster member.
        Metric(
            "lvsync_cluster_announcing",
            .gauge,
            [],
            "1 while a cluster member's VIP routes are in its announcement table (cluster.announce), 0 before and after"
        ),
        Metric(
            "lvsync_cluster_routing_daemon_up",
            .gauge,
            [],
            "1 while the routing daemon (cluster.announce.frr) answers lvsync's reading of its sessions, 0 when it does not"
        ),
        Metric(
            "lvsync_cluster_bgp_established",
            .gauge,
            [],
            "the routing daemon's BGP neighbours whose session is Established (cluster.announce.frr)"
        ),
        Metric(
            "lvsync_cluster_bfd_up",
            .gauge,
            [],
            "the routing daemon's BFD peers that are up (cluster.announce.frr)"
        ),
        // The kernel sync daemons and the IPVS services.
        Metric(
            "lvsync_kernel_sync_repairs_total",
            .counter,
            ["what"],
            "the kernel sync daemon or the sync interface found gone and restored"
        ),
        Metric("lvsync_health_server_up", .gauge, ["service", "server"], "1 while the real server's check passes"),
        Metric("lvsync_health_probe_seconds", .histogram, ["service", "server"], "the real server checks' durations"),
        Metric(
            "lvsync_health_changes_total",
            .counter,
            ["service", "server", "to"],
            "real server verdict changes"
        ),
        Metric(
            "lvsync_health_probes_unknown_total",
            .counter,
            ["check"],
            "checks that could not run (the director's own trouble)"
        ),
        Metric("lvsync_health_servers", .gauge, [], "real servers with a health check"),
        Metric("lvsync_health_servers_down", .gauge, [], "real servers whose check fails now"),
        Metric(
            "lvsync_health_suspended",
            .gauge,
            ["service"],
            "1 while a service's health verdicts are suspended (every server down: the weights are kept)"
        ),
        Metric(
            "lvsync_ipvs_service_connections_total",
            .counter,
            ["service"],
            "connections the kernel scheduled for the virtual service"
        ),
        Metric(
            "lvsync_ipvs_service_packets_total",
            .counter,
            ["service", "direction"],
            "packets of the virtual service (direction in, out)"
        ),
        Metric(
            "lvsync_ipvs_service_bytes_total",
            .counter,
            ["service", "direction"],
            "bytes of the virtual service (direction in, out)"
        ),
        Metric(
            "lvsync_ipvs_server_connections_total",
            .counter,
            ["service", "server"],
            "connections the kernel scheduled to the real server"
        ),
        Metric(
            "lvsync_ipvs_server_bytes_total",
            .counter,
            ["service", "server", "direction"],
            "bytes to (in) and from (out) the real server"
        ),
        Metric(
            "lvsync_ipvs_server_active_connections",
            .gauge,
            ["service", "server"],
            "the real server's active connections"
        ),
        Metric(
            "lvsync_ipvs_server_inactive_connections",
            .gauge,
            ["service", "server"],
            "the real server's inactive connections"
        ),
        Metric("lvsync_ipvs_server_weight", .gauge, ["service", "server"], "the real server's weight in the kernel"),
        // lvsync's own plumbing.
        Metric(
            "lvsync_log_lines_dropped_total",
            .counter,
            ["reason"],
            "log lines dropped (write_error: stderr gone or full disk; queue_full: its reader stalled)"
        ),
        Metric("lvsync_log_suppressed_total", .counter, ["kind"], "repeated log lines suppressed by rate limits"),
        Metric(
            "lvsync_metrics_connections_shed_total",
            .counter,
            ["reason"],
            "scrape connections closed by the endpoint's caps"
        ),
        // The process (Prometheus' standard names).
        Metric("process_cpu_seconds_total", .counter, [], "user and system CPU time"),
        Metric("process_resident_memory_bytes", .gauge, [], "resident memory"),
        Metric("process_virtual_memory_bytes", .gauge, [], "virtual memory"),
        Metric("process_open_fds", .gauge, [], "open file descriptors"),
        Metric("process_max_fds", .gauge, [], "the limit on open file descriptors"),
        Metric("process_start_time_seconds", .gauge, [], "when the process started (Unix time)"),
    ]

    /// The 0.4 names kept for this release, each with its replacement (the same value unless the replacement says
    /// otherwise); they go in the next.
    public static let deprecated: [(name: String, replacement: String)] = [
        ("lvsync_sync_entries_total", "lvsync_sync_captured_entries_total or lvsync_sync_injected_entries_total"),
        ("lvsync_sync_lag_ms_p50", "histogram_quantile(0.5, rate(lvsync_sync_lag_seconds_bucket[1m]))"),
        ("lvsync_sync_lag_ms_p99", "histogram_quantile(0.99, rate(lvsync_sync_lag_seconds_bucket[1m]))"),
        ("lvsync_sync_lag_ms_max", "lvsync_sync_lag_seconds"),
        ("lvsync_sync_peers", "lvsync_peer_links_open"),
        ("lvsync_sync_snapshot_in_progress", "lvsync_sync_snapshots_in_progress"),
        ("lvsync_mirror_size", "lvsync_mirror_entries"),
        ("lvsync_kernel_queued", "lvsync_kernel_queued_messages"),
        ("lvsync_kernel_missing", "lvsync_kernel_missing_connections"),
        ("lvsync_standby_snapshot_sent", "lvsync_standby_snapshot_sent_entries"),
        ("lvsync_standby_snapshot_total", "lvsync_standby_snapshot_entries"),
        ("lvsync_standby_snapshot_seconds_left", "lvsync_standby_snapshot_remaining_seconds"),
        ("lvsync_standby_snapshot_entries_per_s", "rate(lvsync_standby_snapshot_sent_entries[1m])"),
    ]

    /// The contract's metric of this name, if any; a histogram's series (`_bucket`, `_sum`, `_count`) are its own.
    public static func metric(named name: String) -> Metric? {
        for metric in metrics {
            if metric.name == name { return metric }
            if metric.kind == .histogram,
                ["_bucket", "_sum", "_count"].contains(where: { name == metric.name + $0 })
            {
                return metric
            }
        }
        return nil
    }
}
