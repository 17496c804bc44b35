#!/bin/bash
# lvsync's demo, INSIDE the lab guest (ops/demo.sh boots it; root):
#   elected.sh RESULTS LVSYNC
#
# The elected pair of examples/director-a.yaml and director-b.yaml on the lab topology (client, dirA, dirB, rs1,
# rs2; the peer link on peer0): lvsync converges the IPVS services of the config, elects dirA, which takes the VIPs;
# dirB mirrors it. Client flows cross the VIPs (long-lived TCP through direct routing and NAT, idle TCP, SIP calls,
# persistent UDP). Then `lvsync status`, `conns`, `stats --follow`, a planned drill (`lvsync drill`: the report an
# operator pastes into a change ticket), an unplanned failover (the active's lvsync killed), and what the flows saw.
# The only change to the example configs: their control sockets and certificates live in the guest's /tmp and
# /etc/lvsync (both directors share one filesystem here), and the stats line comes every 2 s instead of 10.
# Exit 0 only if every connection survived both failovers and every call and UDP flow kept its server.
set -euo pipefail
RES=$(realpath "${1:?usage: elected.sh RESULTS LVSYNC}")
LVSYNC=${2:?usage: elected.sh RESULTS LVSYNC}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
# shellcheck source=ops/lab/lib/guest.sh
source "$HERE/../lib/guest.sh"
OUT=$RES LOGDIR=$RES/log SOCK=/tmp/lvsync-demo FLOWS=busy=40,busy6=4,idle=8,calls=6,udp=4,interval_ms=100
mkdir -p "$LOGDIR" "$RES/flows" "$SOCK"
: > "$RES/figures.txt"
T0=$SECONDS
# shellcheck source=ops/lab/lib/pair.sh
source "$HERE/../lib/pair.sh"
dmesg -n 1   # kernel messages stay off the console
trap 'dmesg > "$RES/dmesg.txt" 2>/dev/null || true; stop_all_lvsync; lab_down > /dev/null 2>&1 || true' EXIT
step() { printf '\n[%3d s] %s\n' $((SECONDS - T0)) "$*"; }
show() { sed 's/^/    /'; }
die() { printf '  DEMO FAILED: %s\n' "$*"; exit 1; }
failed=0

step "1. The lab: client, dirA, dirB, rs1, rs2 on one bridge; dirA and dirB also on their own link (peer0)"
lab_up
for a in 10.0.0.100/24 10.0.0.1/24; do ip -n dirA addr del "$a" dev eth0; done   # lvsync takes the VIPs itself
for a in fd00::100/64 fd00::1/64; do ip -n dirA addr del "$a" dev eth0; done
for d in dirA dirB; do ip netns exec $d sysctl -qw net.ipv4.vs.sync_threshold="3 50"; done   # the kernel's default
"$LVSYNC" certs init /etc/lvsync --node dira --node dirb | show
for n in a b; do
  # the stats every 2 s; the hello deadline scaled for the emulated guest (lib/pair.sh: LAB_HELLO_TIMEOUT_MS)
  sed -e "s/interval_seconds: 10 /interval_seconds: 2  /" \
    -e "s/hello_timeout_ms: 5000 /hello_timeout_ms: $LAB_HELLO_TIMEOUT_MS /" \
    "$REPO/examples/director-$n.yaml" > "$RES/dir$n.yaml"
  printf '\ncontrol: { socket: %s/dir%s.sock }\n' "$SOCK" "$n" >> "$RES/dir$n.yaml"
done

step "2. lvsync run --config director-a.yaml in dirA, director-b.yaml in dirB (--log-format json)"
start_lvsync dira dirA --log-format json
start_lvsync dirb dirB --log-format json
wait_for 120 is_active dira || die "dirA did not become active: $(tail_log "$LOGDIR/dira.log")"
wait_for 60 is_synced_standby dirb || die "dirB did not become an in-sync standby: $(tail_log "$LOGDIR/dirb.log")"
echo "  lvsync ipvs list (dirA, converged from the config):"
ip netns exec dirA "$LVSYNC" ipvs list | show
echo "  lvsync status (dirA), lvsync status (dirB):"
"$LVSYNC" status --socket "$SOCK/dira.sock" | show
"$LVSYNC" status --socket "$SOCK/dirb.sock" | show

step "3. Client flows through the VIPs: 40 TCP (DR) + 4 TCP over IPv6 (NAT) echoing every 100 ms, 8 idle TCP, 6 SIP calls, UDP"
phase_start demo-a
sleep 4   # the kernel master holds a partly filled buffer up to 2 s
echo "  lvsync conns (dirB's mirror, the first 8 of $("$LVSYNC" conns --socket "$SOCK/dirb.sock" | tail -n +2 | wc -l)):"
"$LVSYNC" conns --socket "$SOCK/dirb.sock" | head -n 9 | show
echo "  lvsync stats --follow --interval 1 on dirB, for 3 s:"
timeout 3 "$LVSYNC" stats --follow --interval 1 --socket "$SOCK/dirb.sock" | cut -c1-400 | show || true

echo "  Prometheus: GET http://127.0.0.1:9788/metrics in dirA (metrics.listen of the example config), a few samples:"
ip netns exec dirA "$PY" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9788/metrics", timeout=10).read().decode())' \
  2> "$LOGDIR/scrape.err" | grep -E '^lvsync_(election_role\{role="active"\}|mirror_size|sync_entries_total|peer_links_opened_total|standby_acked_sequence)' | show || true

step "4. A planned drill: lvsync drill on dirA"
served_start dirB
fault_now
"$LVSYNC" drill --socket "$SOCK/dira.sock" 2> "$RES/drill.progress" | tee "$RES/drill.txt" | show || failed=1
phase_check lvsync demo-a
echo "  the client: $RESULT"
echo "  dirB forwarded its first packet for the VIP $(served_text) after the drill began"
[ "$RESULT_OK" = 1 ] || failed=1

step "5. An unplanned failover: dirB (now active) loses its lvsync to SIGKILL; dirA must take over"
wait_for 30 is_synced_standby dira || die "dirA is not an in-sync standby: $(status dira role)"
phase_start demo-b
sleep 4
served_start dirA
fault_now
stop_lvsync dirb KILL || true
phase_check lvsync demo-b
echo "  the client: $RESULT"
echo "  dirA forwarded its first packet for the VIP $(served_text) after the SIGKILL (heartbeat 100 ms, dead interval 500 ms)"
[ "$RESULT_OK" = 1 ] || failed=1
wait_for 10 is_active dira || failed=1
grep '"message":"role changed"\|role changed\|became' "$LOGDIR/dira.log" | tail -n 2 | cut -c1-300 | show || true
start_lvsync dirb dirB --log-format json
wait_for 60 is_synced_standby dirb || failed=1
echo "  dirB's lvsync restarted: $(status dirb role), in sync $(status dirb in_sync); VIPs on dirB: $(holds_vip dirB && echo yes || echo none)"
"$LVSYNC" status --socket "$SOCK/dira.sock" | show

step "6. The streamed sync statistics (dirA's log, JSON lines; the last two)"
grep '"message":"sync stats"' "$LOGDIR/dira.log" | tail -n 2 | cut -c1-600 | show

step "7. Summary"
"$PY" - "$RES/figures.txt" <<'PY'
import sys
for line in open(sys.argv[1]):
    p = line.split()
    f = dict(x.split("=", 1) for x in p[2:] if "=" in x)
    print("  %-8s tcp %s survived, calls %s kept their server, UDP %s kept its template; first packet served %s ms "
          "after the fault; longest silence of a busy connection %s ms" % (
              {"demo-a": "drill", "demo-b": "crash"}.get(p[1], p[1]), f.get("tcp"), f.get("calls"), f.get("udp"),
              f.get("served_ms"), f.get("gap_ms_max")))
PY
if [ $failed = 0 ]; then echo "  every connection survived both failovers"; else echo "  DEMO FAILED: see above"; fi
exit $failed
