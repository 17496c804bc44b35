#!/usr/bin/env python3
"""Writes ops/grafana/lvsync.json, the Grafana dashboard of lvsync's metrics contract (README.md, "Operating it").

    python3 ops/grafana/make-dashboard.py        (after a change here; the JSON is committed)

One row per question an operator asks: who is active, is the standby ready, is anything lost, is the link trusted, how
is the service behind the VIPs, how is the process. Every query names only metrics of the contract (a test checks it).
The dashboard has a `job` variable: one Prometheus job per director pair (ops/prometheus/lvsync-alerts.yaml).
"""
import json
import os

panels = []
y = 0


def row(title):
    global y
    panels.append({"type": "row", "title": title, "collapsed": False, "id": len(panels) + 1,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
    y += 1


def panel(title, exprs, unit="short", kind="timeseries", w=8, h=7, description="", x=None):
    """exprs: [(expr, legend)]; placed left to right, wrapping at 24 columns."""
    global y
    used = sum(p["gridPos"]["w"] for p in panels if p["gridPos"]["y"] == y and p["type"] != "row")
    if used + w > 24:
        y += h
        used = 0
    panels.append({
        "type": kind, "title": title, "description": description, "id": len(panels) + 1,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": h, "w": w, "x": used, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [{"expr": e, "legendFormat": l, "refId": chr(65 + i),
                     "datasource": {"type": "prometheus", "uid": "${datasource}"}} for i, (e, l) in enumerate(exprs)],
    })


J = '{job="$job"}'
JA = 'job="$job"'

row("The pair: who holds the VIPs")
panel("Active director", [(f'lvsync_election_role{{{JA},role="active"}} == 1', "{{instance}}")], kind="stat", w=6,
      description="The director holding the VIPs (exactly one: see the LVSyncTwoActives and LVSyncNoActive alerts)")
panel("Role", [(f'lvsync_election_role{{{JA}}} == 1', "{{instance}} {{role}}")], kind="state-timeline", w=12)
panel("Role changes (5 min)", [(f'increase(lvsync_election_transitions_total{J}[5m])', "{{instance}} {{from}} to {{to}}")], w=6)
panel("lvsync version", [(f'lvsync_build_info{J}', "{{instance}} {{version}} {{revision}}")], kind="table", w=8)

row("The standby: ready to take over without a loss")
panel("Connections in each kernel", [(f'lvsync_kernel_connections{J}', "{{instance}} kernel"),
                                     (f'lvsync_mirror_entries{J}', "{{instance}} mirror")],
      description="Read from each kernel, not what lvsync sent: the standby's should follow the active's")
panel("Entries per second", [(f'rate(lvsync_sync_captured_entries_total{J}[1m])', "{{instance}} captured"),
                             (f'rate(lvsync_sync_injected_entries_total{J}[1m])', "{{instance}} injected")], unit="ops")
panel("Sync lag", [(f'histogram_quantile(0.5, sum by (instance, le) (rate(lvsync_sync_lag_seconds_bucket{J}[5m])))', "{{instance}} p50"),
                   (f'histogram_quantile(0.99, sum by (instance, le) (rate(lvsync_sync_lag_seconds_bucket{J}[5m])))', "{{instance}} p99")],
      unit="s", description="From the active's capture to the standby's injection")
panel("Unacknowledged", [(f'lvsync_standby_sent_sequence{J} - lvsync_standby_acked_sequence{J}', "{{instance}} to {{peer}} batches"),
                         (f'lvsync_standby_in_flight_bytes{J}', "{{instance}} to {{peer}} bytes")])
panel("Snapshot progress", [(f'lvsync_standby_snapshot_sent_entries{J} / lvsync_standby_snapshot_entries{J}', "{{instance}} to {{peer}}")],
      unit="percentunit")
panel("Missing from the standby's kernel", [(f'lvsync_kernel_missing_connections{J}', "{{instance}}"),
                                            (f'increase(lvsync_kernel_repaired_total{J}[5m])', "{{instance}} repaired (5 min)")])

row("Losses in the sync path")
panel("Dropped", [(f'increase(lvsync_sync_capture_drops_total{J}[5m])', "{{instance}} capture drops"),
                  (f'increase(lvsync_sync_log_dropped_batches_total{J}[5m])', "{{instance}} log dropped batches"),
                  (f'increase(lvsync_kernel_drops_total{J}[5m])', "{{instance}} backup socket drops")],
      description="Per 5 minutes")
panel("Refused or lost", [(f'increase(lvsync_sync_malformed_messages_total{J}[5m])', "{{instance}} malformed"),
                          (f'increase(lvsync_sync_injection_failures_total{J}[5m])', "{{instance}} injection failures"),
                          (f'increase(lvsync_kernel_lost_total{J}[5m])', "{{instance}} lost (audit)"),
                          (f'increase(lvsync_kernel_reconciled_total{J}[5m])', "{{instance}} reconciled (audit)")])
panel("Kernel sync daemon repairs", [(f'increase(lvsync_kernel_sync_repairs_total{J}[1h])', "{{instance}} {{what}}")])

row("The peer link")
panel("Links open", [(f'lvsync_peer_links_open{J}', "{{instance}}")])
panel("Links closed (5 min)", [(f'increase(lvsync_peer_links_closed_total{J}[5m])', "{{instance}} {{reason}}"),
                               (f'increase(lvsync_peer_snapshots_total{J}[5m])', "{{instance}} snapshots")])
panel("Refused (5 min)", [(f'increase(lvsync_peer_refused_total{J}[5m])', "{{instance}} {{reason}}"),
                          (f'increase(lvsync_peer_connections_shed_total{J}[5m])', "{{instance}} shed {{reason}}"),
                          (f'increase(lvsync_heartbeat_datagrams_ignored_total{J}[5m])', "{{instance}} heartbeats ignored {{reason}}")])
panel("Certificates: days left", [(f'(lvsync_tls_certificate_expiry_timestamp_seconds{J} - time()) / 86400', "{{instance}} {{certificate}}")],
      kind="stat", w=8)
panel("Peer certificate out of its dates", [(f'lvsync_peer_certificate_invalid{J}', "{{instance}} {{peer}}")], kind="stat", w=8)

row("The service behind the VIPs (the kernel's IPVS)")
panel("New connections per service", [(f'rate(lvsync_ipvs_service_connections_total{J}[1m])', "{{instance}} {{service}}")], unit="cps")
panel("Traffic per service", [(f'rate(lvsync_ipvs_service_bytes_total{J}[1m]) * 8', "{{instance}} {{service}} {{direction}}")], unit="bps")
panel("Active connections per real server", [(f'lvsync_ipvs_server_active_connections{J}', "{{instance}} {{server}} ({{service}})"),
                                             (f'lvsync_ipvs_server_inactive_connections{J}', "{{instance}} {{server}} inactive")])
panel("Real servers up", [(f'lvsync_health_server_up{J}', "{{instance}} {{server}} ({{service}})")], kind="state-timeline", w=12)
panel("Weights", [(f'lvsync_ipvs_server_weight{J}', "{{instance}} {{server}} ({{service}})")], w=6)
panel("Check durations p99", [(f'histogram_quantile(0.99, sum by (instance, service, server, le) (rate(lvsync_health_probe_seconds_bucket{J}[5m])))', "{{server}}")],
      unit="s", w=6)

row("The process")
panel("CPU", [(f'rate(process_cpu_seconds_total{J}[1m])', "{{instance}}")], unit="percentunit")
panel("Memory", [(f'process_resident_memory_bytes{J}', "{{instance}}")], unit="bytes")
panel("Descriptors", [(f'process_open_fds{J}', "{{instance}} open"), (f'process_max_fds{J}', "{{instance}} limit")])
panel("Log lines dropped or suppressed", [(f'increase(lvsync_log_lines_dropped_total{J}[5m])', "{{instance}} dropped {{reason}}"),
                                          (f'increase(lvsync_log_suppressed_total{J}[5m])', "{{instance}} suppressed {{kind}}")])

dashboard = {
    "title": "lvsync",
    "uid": "lvsync",
    "description": "lvsync: IPVS connection mirroring and VIP failover for an LVS director pair",
    "tags": ["lvsync", "ipvs", "lvs"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "10s",
    "time": {"from": "now-1h", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
        {"name": "job", "type": "query", "label": "pair", "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": "label_values(lvsync_build_info, job)", "refresh": 2},
    ]},
    "panels": panels,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lvsync.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
print(out)
