#!/usr/bin/python3
"""Writes a `promtool test rules` file that makes each alert of lvsync-alerts.yaml fire on series scraped from a real
pair, and stay quiet on the healthy pair as scraped.

    alert-tests.py RULES ACTIVE_SCRAPE STANDBY_SCRAPE OUTDIR     (writes OUTDIR/rules.yaml, OUTDIR/tests.yaml)
    promtool test rules OUTDIR/tests.yaml

ACTIVE_SCRAPE and STANDBY_SCRAPE are `GET /metrics` answers of the active and the standby director (the lab's operate
scenario records them; ops/prometheus/lab-scrape/ holds one such recording for the test command). Each scrape
becomes the series of one instance (job "lvsync", instances "dira:9788" and "dirb:9788"), its values held for the
test's length. A fault case then changes only the series its alert reads, from the recorded name and labels: an alert
whose expression names a metric the daemon does not serve, or labels it does not have, cannot fire, and its case
fails. The rules under test are RULES without their annotations (promtool compares annotations verbatim; `promtool
check rules` checks their templates).
"""
import sys

import yaml

JOB = "lvsync"
ACTIVE, STANDBY = "dira:9788", "dirb:9788"
MINUTES = 90


def parse(path):
    """{series text: value} of a scrape (comments dropped)."""
    series = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        series[name] = float(value)
    return series


def with_target(name, instance):
    labels = f'job="{JOB}",instance="{instance}"'
    if "{" in name:
        base, rest = name.split("{", 1)
        return f"{base}{{{labels},{rest}" if rest != "}" else f"{base}{{{labels}}}"
    return f"{name}{{{labels}}}"


def held(value):
    return f"{value:g}x{MINUTES}"


def pair(active, standby, edits=None):
    """The recorded pair's series, with `edits`: {(instance, series name): values string or None to drop}."""
    edits = edits or {}
    out = {}
    for instance, scrape in ((ACTIVE, active), (STANDBY, standby)):
        out[with_target("up", instance)] = held(1)
        for name, value in scrape.items():
            out[with_target(name, instance)] = held(value)
    for (instance, name), values in edits.items():
        key = with_target(name, instance)
        if values is None:
            out.pop(key, None)
        else:
            out[key] = values
    return [{"series": k, "values": v} for k, v in sorted(out.items())]


def require(scrape, name, where):
    if name not in scrape:
        sys.exit(f"alert-tests: the {where} scrape has no {name}: the recording does not match the contract")
    return name


def main():
    rules_path, active_path, standby_path, outdir = sys.argv[1:5]
    active, standby = parse(active_path), parse(standby_path)
    rules = yaml.safe_load(open(rules_path))
    names = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
            names.append(rule["alert"])
    with open(f"{outdir}/rules.yaml", "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)

    # The recorded series every case starts from; the names read here must be in the recordings.
    role = lambda r: f'lvsync_election_role{{role="{r}"}}'
    for r in ("active", "standby"):
        require(active, role(r), "active")
        require(standby, role(r), "standby")
    require(active, "lvsync_build_info" + next(k[len("lvsync_build_info"):] for k in active if k.startswith("lvsync_build_info")), "active")
    require(standby, "lvsync_peer_links_open", "standby")
    require(active, "lvsync_sync_snapshots_in_progress", "active")
    require(active, "lvsync_sync_log_dropped_batches_total", "active")
    require(active, "lvsync_sync_capture_drops_total", "active")
    require(standby, "lvsync_sync_malformed_messages_total", "standby")
    node_expiry = require(active, 'lvsync_tls_certificate_expiry_timestamp_seconds{certificate="node"}', "active")
    buckets = sorted(k for k in standby if k.startswith("lvsync_sync_lag_seconds_bucket"))
    if not buckets:
        sys.exit("alert-tests: the standby scrape has no lvsync_sync_lag_seconds histogram")
    build_info = next(k for k in active if k.startswith("lvsync_build_info"))

    def le(key):
        value = key.split('le="', 1)[1].split('"', 1)[0]
        return float("inf") if value == "+Inf" else float(value)

    def grows(start, per_minute):
        return f"{start:g}+{per_minute:g}x{MINUTES}"

    day = 86400
    cases = {
        "LVSyncTwoActives": ({(STANDBY, role("active")): held(1), (STANDBY, role("standby")): held(0)}, "5m",
                             {"job": JOB}),
        "LVSyncNoActive": ({(ACTIVE, role("active")): held(0), (ACTIVE, role("standby")): held(1)}, "5m",
                           {"job": JOB}),
        # dirB answered for ten minutes, then stopped answering.
        "LVSyncDirectorDown": ({(STANDBY, "up"): f"1x10 0x{MINUTES - 10}",
                                (STANDBY, build_info): f"1x10 _x{MINUTES - 10}"}, "20m",
                               {"job": JOB, "instance": STANDBY}),
        "LVSyncStandbyUnlinked": ({(STANDBY, "lvsync_peer_links_open"): held(0)}, "5m",
                                  {"job": JOB, "instance": STANDBY, "role": "standby"}),
        "LVSyncStandbyKernelMissing": ({(STANDBY, "lvsync_kernel_missing_connections"): held(5)}, "10m",
                                       {"job": JOB, "instance": STANDBY}),
        "LVSyncSnapshotStuck": ({(ACTIVE, "lvsync_sync_snapshots_in_progress"): held(1)}, "20m",
                                {"job": JOB, "instance": ACTIVE}),
        # Every batch of the last 10 minutes took 2 s or more: the buckets below 2 s stop growing.
        "LVSyncSyncLag": ({(STANDBY, b): grows(standby[b], 0 if le(b) < 2 else 60) for b in buckets}, "15m",
                          {"job": JOB, "instance": STANDBY}),
        "LVSyncDroppedBatches": ({(ACTIVE, "lvsync_sync_log_dropped_batches_total"): grows(0, 1)}, "5m",
                                 {"job": JOB, "instance": ACTIVE}),
        "LVSyncCaptureDrops": ({(ACTIVE, "lvsync_sync_capture_drops_total"): grows(0, 3)}, "5m",
                               {"job": JOB, "instance": ACTIVE}),
        "LVSyncMalformedMessages": ({(STANDBY, "lvsync_sync_malformed_messages_total"): grows(0, 1)}, "5m",
                                    {"job": JOB, "instance": STANDBY}),
        # promtool's clock starts at 0: a certificate that ends 20 (or 5) days after it.
        "LVSyncCertificateExpiresSoon": ({(ACTIVE, node_expiry): held(20 * day)}, "70m",
                                         {"job": JOB, "instance": ACTIVE, "certificate": "node"}),
        "LVSyncCertificateExpiresVerySoon": ({(ACTIVE, node_expiry): held(5 * day)}, "5m",
                                             {"job": JOB, "instance": ACTIVE, "certificate": "node"}),
        # A series the daemon makes on the first refusal, and on the first checked server (the lab pair has neither).
        "LVSyncPeersRefused": ({(ACTIVE, 'lvsync_peer_refused_total{reason="unknown_ca"}'): grows(0, 1)}, "5m",
                               {"job": JOB, "instance": ACTIVE, "reason": "unknown_ca"}),
        "LVSyncRealServerDown": ({(ACTIVE, 'lvsync_health_server_up{service="tcp 10.0.0.100:80",server="10.0.0.21:80"}'): held(0)},
                                 "5m", {"job": JOB, "instance": ACTIVE, "service": "tcp 10.0.0.100:80",
                                        "server": "10.0.0.21:80"}),
        "LVSyncServiceChecksSuspended": ({(ACTIVE, 'lvsync_health_suspended{service="tcp 10.0.0.100:80"}'): held(1)},
                                         "10m", {"job": JOB, "instance": ACTIVE, "service": "tcp 10.0.0.100:80"}),
    }
    missing = sorted(set(names) - set(cases))
    if missing:
        sys.exit(f"alert-tests: no case for {', '.join(missing)}: every alert needs one")
    severity = {rule["alert"]: rule.get("labels", {}).get("severity")
                for group in rules["groups"] for rule in group["rules"]}
    # The healthy pair: as recorded, but for two momentary states a scrape can catch (an audit that had just found
    # entries not yet injected, a snapshot running): held for 80 minutes they would be faults.
    healthy = {(STANDBY, "lvsync_kernel_missing_connections"): held(0),
               (ACTIVE, "lvsync_sync_snapshots_in_progress"): held(0)}
    tests = [{
        "name": "the healthy pair as recorded: no alert",
        "interval": "1m",
        "input_series": pair(active, standby, healthy),
        "alert_rule_test": [{"eval_time": "80m", "alertname": n, "exp_alerts": []} for n in names],
    }]
    for name, (edits, at, labels) in cases.items():
        # The case's own alert fires; the two certificate alerts overlap by design (under 7 days is under 30 too).
        tests.append({
            "name": f"{name} fires",
            "interval": "1m",
            "input_series": pair(active, standby, edits),
            "alert_rule_test": [{"eval_time": at, "alertname": name,
                                 "exp_alerts": [{"exp_labels": dict(labels, severity=severity[name])}]}],
        })
    with open(f"{outdir}/tests.yaml", "w") as f:
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}, f,
                       sort_keys=False, width=200)
    print(f"{outdir}/tests.yaml: {len(tests)} cases, {len(names)} alerts")


main()
