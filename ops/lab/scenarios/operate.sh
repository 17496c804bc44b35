#!/bin/bash
# Operating an elected pair against the real kernel (run INSIDE the guest):
#   operate.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# dirA and dirB run `lvsync run` as systemd would start them: NOTIFY_SOCKET (a listener of this script records every
# datagram), WATCHDOG_USEC=1000000, --log-format json; both serve Prometheus metrics on the peer link.
#   operate-ready        READY=1 (with a STATUS= line naming the role) once each knows its role; WATCHDOG=1 pings
#   operate-metrics      a scrape of dirA (active) and dirB (standby) over HTTP: the role gauge, the mirror size
#                        after traffic, links opened, the lag histogram on the standby, election transitions, the
#                        kernel's IPVS traffic per service and server, build and process metrics; nothing served
#                        outside the metrics contract (README.md)
#   operate-alerts       ops/prometheus/lvsync-alerts.yaml under promtool test rules, on series made from these two
#                        scrapes: every alert fires on its fault, none on the pair as scraped
#   operate-stats        `lvsync stats --follow` streams JSON lines with sync.entries and mirror.size; the JSON log
#                        carries "sync stats" lines with numbers as numbers
#   operate-status       `lvsync status` shows the role, the VIPs held, the peer and the last transition with its reason
#   operate-reload-good  a virtual service added to dirA's file, SIGHUP: "configuration reloaded", the kernel has it,
#                        systemd heard RELOADING=1 then READY=1
#   operate-reload-bad   a broken file, SIGHUP: refused with the line and the reason, the daemon active, the service kept
#   operate-stop         SIGTERM: STOPPING=1, exit 0, the VIPs released
#   operate-no-daemon    `lvsync status` against a socket nobody serves says so, exit 1
set -euo pipefail
OUT=$(realpath "${1:?usage: operate.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
[ -x "$LVSYNC" ] || { fail operate "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-operate FLOWS=busy=8,busy6=0,idle=0,calls=2,udp=2,interval_ms=200
mkdir -p "$SOCK"; : > "$OUT/figures.txt"
T0=$SECONDS
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
trap pair_cleanup EXIT

# notify_listener NAME: a systemd stand-in: every datagram to SOCK/NAME.notify, one line each ("|" for newlines)
notify_listener() {
  "$PY" - "$SOCK/$1.notify" "$OUT/log/$1.notify.txt" <<'PY' &
import os, socket, sys, time
path, out = sys.argv[1:3]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(out + ".started", "w").close()
with open(out, "a") as f:
    while True:
        d = s.recv(4096).decode()
        f.write("%.3f %s\n" % (time.time(), d.replace("\n", "|")))
        f.flush()
PY
  BG_PIDS+=($!)
  wait_for 30 test -e "$OUT/log/$1.notify.txt.started"
}
notified() { grep -c -- "$2" "$OUT/log/$1.notify.txt" 2>/dev/null || true; }
# notified_at_least NAME PATTERN N: NAME's listener has N datagrams matching PATTERN (for wait_for: read anew each time)
notified_at_least() { [ "$(notified "$1" "$2")" -ge "$3" ]; }
config() {  # NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS
  pair_config "$@" <<EOF
metrics: { listen: "$3:9788" }
stats: { interval_seconds: 1 }
failover:
  boot_wait_ms: $LAB_BOOT_WAIT_MS
  vips:
    - { address: 10.0.0.100/24, interface: eth0 }
    - { address: 10.0.0.1/24, interface: eth0 }
  health:
    - { interface: eth0, response: fault }
EOF
}

lab_up
for a in 10.0.0.100/24 10.0.0.1/24; do ip -n dirA addr del "$a" dev eth0; done
for a in fd00::100/64 fd00::1/64; do ip -n dirA addr del "$a" dev eth0; done
for d in dirA dirB; do ip netns exec $d ipvsadm --stop-daemon master 2>/dev/null || true; done
"$LVSYNC" certs init "$OUT/pki" --node dira --node dirb > "$LOGDIR/certs.log" 2>&1
config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1
config dirb 100 10.0.1.3 dira 10.0.1.2 169.254.77.2
notify_listener dira
notify_listener dirb
NOTIFY_SOCKET=$SOCK/dira.notify WATCHDOG_USEC=1000000 start_lvsync dira dirA --log-format json
# dirB once dirA is active: started together, a debug build under TCG can take longer than the boot wait to dial,
# and dirB would be active for a moment before dirA's priority takes over (what operate-ready checks is the READY
# line of a standby).
wait_for 90 is_active dira || true
NOTIFY_SOCKET=$SOCK/dirb.notify WATCHDOG_USEC=1000000 start_lvsync dirb dirB --log-format json

# ---- operate-ready ----
problem=""
wait_for 90 is_active dira || problem+="dirA is $(status dira role); "
wait_for 60 is_synced_standby dirb || problem+="dirB is $(status dirb role); "
wait_for 10 notified_at_least dira 'READY=1|STATUS=active' 1 || problem+="dirA sent no READY=1 with STATUS=active: $(tail -n 2 "$OUT/log/dira.notify.txt" 2>/dev/null | tr '\n' ' '); "
wait_for 10 notified_at_least dirb 'READY=1|STATUS=standby' 1 || problem+="dirB sent no READY=1 with STATUS=standby: $(grep -m2 'READY=1' "$OUT/log/dirb.notify.txt" 2>/dev/null | tr '\n' ' '); its transitions: $(grep -o 'reason=[^[]*' "$LOGDIR/dirb.log" | head -n 3 | tr '\n' ' '); "
wait_for 10 notified_at_least dira '^[0-9.]* WATCHDOG=1$' 3 || problem+="dirA pinged the watchdog $(notified dira 'WATCHDOG=1') times in 10 s; "
ready_line=$(grep -m1 'READY=1' "$OUT/log/dira.notify.txt" 2>/dev/null | cut -d' ' -f2- || true)
check operate-ready "dirA said '$ready_line', dirB READY=1 as a standby; $(notified dira 'WATCHDOG=1') watchdog pings from dirA so far" -- no_problem "$problem"

# ---- traffic, then operate-metrics ----
phase_start operate
# The kernel flushes its sync buffer every second or two and a busy guest is slow: wait (up to 30 s) for dirB's
# counter to move rather than for a fixed time, then scrape both.
dirb_injected() { [ "$(scrape dirB 10.0.1.3 2> /dev/null | grep -c '^lvsync_sync_injected_entries_total [1-9]')" -gt 0 ] || { sleep 0.5; false; }; }
wait_for 30 dirb_injected || say "dirB's lvsync_sync_injected_entries_total did not move in 30 s: $(scrape dirB 10.0.1.3 2> /dev/null | grep '^lvsync_sync_injected_entries_total')"
scrape dirA 10.0.1.2 > "$OUT/metrics.dirA.txt" 2> "$LOGDIR/scrape.dirA.err" || true
scrape dirB 10.0.1.3 > "$OUT/metrics.dirB.txt" 2> "$LOGDIR/scrape.dirB.err" || true
problem=""
is_one() { awk -v v="${1:-x}" 'BEGIN { exit !(v == 1) }'; }
is_one "$(sample "$OUT/metrics.dirA.txt" 'lvsync_election_role{role="active"}')" || problem+="dirA's role gauge: $(grep election_role "$OUT/metrics.dirA.txt" | tr '\n' ' ')$(head -c 200 "$LOGDIR/scrape.dirA.err"); "
is_one "$(sample "$OUT/metrics.dirB.txt" 'lvsync_election_role{role="standby"}')" || problem+="dirB's role gauge; "
size=$(sample "$OUT/metrics.dirA.txt" lvsync_mirror_entries)
awk -v s="${size:-0}" 'BEGIN { exit !(s >= 8) }' || problem+="dirA's lvsync_mirror_entries is '${size}' after 8 connections; "
grep -q '^lvsync_peer_links_opened_total [1-9]' "$OUT/metrics.dirA.txt" || problem+="no lvsync_peer_links_opened_total on dirA; "
grep -q '^lvsync_sync_lag_seconds_bucket' "$OUT/metrics.dirB.txt" || problem+="no lag histogram on dirB; "
grep -q '^lvsync_election_transitions_total{' "$OUT/metrics.dirA.txt" || problem+="no election transitions on dirA; "
grep -q '^lvsync_sync_injected_entries_total [1-9]' "$OUT/metrics.dirB.txt" || problem+="dirB injected no entries by its counter ($(grep '^lvsync_sync_injected_entries_total' "$OUT/metrics.dirB.txt" | tr '\n' ' ')), its log: $(tail_log "$LOGDIR/dirb.log"); "
# The kernel's own IPVS traffic, read by lvsync over generic netlink: the clients' connections to the VIP's service.
# (The service's label has a space: not for sample, which splits the line on blanks.)
served=$(grep -F 'lvsync_ipvs_service_connections_total{service="tcp 10.0.0.100:80"} ' "$OUT/metrics.dirA.txt" | awk '{ print $NF }')
awk -v s="${served:-0}" 'BEGIN { exit !(s >= 8) }' || problem+="dirA's kernel served '${served}' connections by lvsync_ipvs_service_connections_total; "
grep -q '^lvsync_ipvs_server_active_connections{service="tcp 10.0.0.100:80",server=' "$OUT/metrics.dirA.txt" || problem+="no per-server IPVS gauges on dirA; "
grep -q '^lvsync_build_info{version="[0-9.]*",revision="[^"]*"} 1' "$OUT/metrics.dirA.txt" || problem+="no lvsync_build_info on dirA; "
rss=$(sample "$OUT/metrics.dirA.txt" process_resident_memory_bytes)
awk -v s="${rss:-0}" 'BEGIN { exit !(s > 1000000) }' || problem+="dirA's process_resident_memory_bytes is '$rss'; "
# Nothing outside the metrics contract (README.md's table) or its deprecated names.
contract=$(grep -oE '^\| `(lvsync|process)_[^|]*' "$REPO/README.md" | grep -oE '(lvsync|process)_[a-z0-9_]+' | sort -u)
deprecated=$(sed -n '/^  \*\*Deprecated\*\*/,/^$/p' "$REPO/README.md" | grep -oE 'lvsync_[a-z0-9_]+' | sort -u)
outside=$(cat "$OUT/metrics.dirA.txt" "$OUT/metrics.dirB.txt" | grep -oE '^(lvsync|process)_[a-z0-9_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u |
  comm -23 - <(printf '%s\n' $contract $deprecated | sort -u) | tr '\n' ' ')
[ -z "$outside" ] || problem+="served outside the contract: $outside; "
check operate-metrics "scraped both over HTTP: dirA active (mirror $size, its kernel served $served connections to tcp 10.0.0.100:80), dirB standby with $(grep -c '^lvsync_sync_lag_seconds_bucket' "$OUT/metrics.dirB.txt") lag buckets; $(grep -c '^lvsync_' "$OUT/metrics.dirA.txt") samples on dirA, all in the contract" -- no_problem "$problem"

# ---- operate-alerts: each alert rule fires on this pair's series (a fault each), none on the pair as it is ----
mkdir -p "$OUT/alerts"
if ! command -v promtool > /dev/null; then
  check operate-alerts "promtool" -- no_problem "promtool is not installed (apt-get install prometheus)"
elif "$PY" "$REPO/ops/prometheus/alert-tests.py" "$REPO/ops/prometheus/lvsync-alerts.yaml" "$OUT/metrics.dirA.txt" \
    "$OUT/metrics.dirB.txt" "$OUT/alerts" > "$OUT/alerts/generate.log" 2>&1 &&
  promtool test rules "$OUT/alerts/tests.yaml" > "$OUT/alerts/promtool.log" 2>&1; then
  check operate-alerts "promtool test rules on this pair's scrapes: $(cat "$OUT/alerts/generate.log"), SUCCESS" -- true
else
  check operate-alerts "promtool" -- no_problem "$(cat "$OUT/alerts/generate.log") $(head -c 600 "$OUT/alerts/promtool.log")"
fi

# ---- operate-stats ----
# (10 s: the CLI itself takes seconds to start under TCG beside a CPU hog)
timeout 10 "$LVSYNC" stats --follow --interval 1 --socket "$SOCK/dirb.sock" > "$OUT/stats-follow.txt" 2>&1 || true
lines=$("$PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if isinstance(o.get("sync.entries"), int) and isinstance(o.get("mirror.size"), int):
        n += 1
print(n)' "$OUT/stats-follow.txt" 2>/dev/null || echo 0)
logged=$("$PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("message") == "sync stats" and isinstance(o.get("sync.entries"), int):
        n += 1
print(n)' "$LOGDIR/dirb.log" 2>/dev/null || echo 0)
if [ "$lines" -ge 2 ] && [ "$logged" -ge 2 ]; then
  pass operate-stats "lvsync stats --follow streamed $lines JSON lines in 10 s; dirB's JSON log has $logged 'sync stats' lines with numbers as numbers"
else
  fail operate-stats "$lines followed lines, $logged logged: $(head -c 300 "$OUT/stats-follow.txt")"
fi

# ---- operate-status ----
"$LVSYNC" status --socket "$SOCK/dira.sock" > "$OUT/status.dirA.txt" 2>&1 || true
if grep -qE '^role +active' "$OUT/status.dirA.txt" && grep -q '10.0.0.100/24' "$OUT/status.dirA.txt" &&
  grep -q '(held here)' "$OUT/status.dirA.txt" && grep -qE '^peer dirb +standby' "$OUT/status.dirA.txt" &&
  grep -qE '^last transition +initialising -> active [0-9hms.]+ ago: (no director is active|no peer heard within the boot wait)' "$OUT/status.dirA.txt"; then
  pass operate-status "$(grep -E '^last transition' "$OUT/status.dirA.txt" | sed 's/  */ /g')"
else
  fail operate-status "$(tr '\n' '|' < "$OUT/status.dirA.txt")"
fi

# ---- operate-reload-good ----
cp "$OUT/dira.yaml" "$OUT/dira.yaml.orig"
cat >> "$OUT/dira.yaml" <<'EOF'
virtual_services:
  - protocol: tcp
    address: 10.0.0.200
    port: 8443
    scheduler: rr
    real_servers:
      - { address: 10.0.0.21, forwarding: dr }
EOF
before=$(notified dira 'RELOADING=1')
kill -HUP "${LV_PID[dira]}"
problem=""
wait_for 20 grep -q '"message":"configuration reloaded"' "$LOGDIR/dira.log" || problem+="no 'configuration reloaded' in dirA's log; "
ip netns exec dirA ipvsadm -Ln -t 10.0.0.200:8443 > "$OUT/reload.ipvs.txt" 2>&1 || problem+="the kernel has no tcp 10.0.0.200:8443: $(head -c 200 "$OUT/reload.ipvs.txt"); "
wait_for 10 notified_at_least dira 'RELOADING=1|MONOTONIC_USEC=' $((before + 1)) || problem+="systemd heard no RELOADING=1; "
grep 'RELOADING=1' "$OUT/log/dira.notify.txt" | tail -n 1 > /dev/null
reloaded=$(awk '/RELOADING=1/ { r = NR } /READY=1\|STATUS=reload: applied/ && r && NR > r { ok = 1 } END { print ok + 0 }' "$OUT/log/dira.notify.txt")
[ "$reloaded" = 1 ] || problem+="no READY=1 with 'reload: applied' after RELOADING=1; "
check operate-reload-good "SIGHUP applied the new virtual service (ipvsadm shows tcp 10.0.0.200:8443), systemd heard RELOADING=1 then READY=1" -- no_problem "$problem"

# ---- operate-reload-bad ----
printf 'node: dira\npriority: [oops\n' > "$OUT/dira.yaml"
kill -HUP "${LV_PID[dira]}"
problem=""
wait_for 20 grep -q '"message":"configuration reload refused"' "$LOGDIR/dira.log" || problem+="no 'configuration reload refused'; "
reason=$(grep '"message":"configuration reload refused"' "$LOGDIR/dira.log" | tail -n 1 | "$PY" -c 'import json, sys; print(json.loads(sys.stdin.read()).get("outcome", ""))' 2>/dev/null || true)
grep -qE 'dira\.yaml:[0-9]+:[0-9]+: YAML' <<< "$reason" || problem+="the refusal does not name the place: '$reason'; "
sleep 1
is_active dira || problem+="dirA is $(status dira role) after the bad reload; "
ip netns exec dirA ipvsadm -Ln -t 10.0.0.200:8443 > /dev/null 2>&1 || problem+="the service went away; "
cp "$OUT/dira.yaml.orig" "$OUT/dira.yaml"
check operate-reload-bad "refused ($reason); dirA still active, its services kept" -- no_problem "$problem"
phase_check lvsync operate

# ---- operate-stop ----
rc=0; stop_lvsync dira || rc=$?
problem=""
[ $rc = 0 ] || problem+="exit $rc; "
[ "$(notified dira 'STOPPING=1')" -ge 1 ] || problem+="no STOPPING=1; "
lacks_vip dirA || problem+="dirA still holds 10.0.0.100; "
wait_for 10 is_active dirb || problem+="dirB did not take over: $(status dirb role); "
check operate-stop "SIGTERM: STOPPING=1, exit 0, VIPs released, dirB took over" -- no_problem "$problem"

# ---- operate-no-daemon ----
rc=0; out=$("$LVSYNC" status --socket "$SOCK/nobody.sock" 2>&1) || rc=$?
if [ $rc = 1 ] && grep -q 'no lvsync daemon is running' <<< "$out"; then
  pass operate-no-daemon "exit 1: $out"
else
  fail operate-no-daemon "exit $rc: $out"
fi
stop_lvsync dirb || true
