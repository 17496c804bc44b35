#!/bin/bash
# lvsync's demo, INSIDE the lab guest (ops/demo.sh boots it; root):
#   pair.sh RESULTS LVSYNC
#
# A director pair with real IPVS: the kernel MASTER sync daemon on dirA (active)
# sends into a dummy, `lvsync capture` reads it there, `lvsync decode` shows it,
# `lvsync replay` feeds it to the kernel BACKUP daemon on dirB (standby), then
# dirA fails and dirB takes the VIPs: every connection held open through dirA
# must go on through dirB. A control set, opened after the capture stopped (so
# never replayed), must die. Narrates on stdout; files and logs in RESULTS.
# Exit 0 only if every replayed connection survived and no control one did.
set -euo pipefail
RES=$(realpath "${1:?usage: pair.sh RESULTS LVSYNC}")
LVSYNC=${2:?usage: pair.sh RESULTS LVSYNC}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ops/lab/lib/guest.sh
source "$HERE/../lib/guest.sh"
LOGDIR=$RES/log
mkdir -p "$LOGDIR" "$RES/run"
rm -f "$RES/run/go"
# kernel messages stay off the console (they would cut into the narration);
# they are saved to RESULTS/dmesg.txt
dmesg -n 1
trap 'dmesg > "$RES/dmesg.txt" 2>/dev/null || true; lab_down > /dev/null 2>&1 || true' EXIT

T0=$SECONDS
declare -A T   # phase timings, s
step() { printf '\n[%3d s] %s\n' $((SECONDS - T0)) "$*"; }
say() { printf '  %s\n' "$*"; }
die() { printf '  DEMO FAILED: %s\n' "$*"; exit 1; }
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
# entries with Origin SYNC in dirB's kernel (Pro FromIP FPrt ToIP TPrt DestIP DPrt State Origin Expires)
count_sync() { ns dirB cat /proc/net/ip_vs_conn_sync | awk 'NR > 1 && $9 == "SYNC"' | wc -l; }
# wait_for FILE REGEX SECS
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# quiet FILE: at least 6 s, then until FILE has not grown for 3 s (at most 60 s):
# the kernel sends a partly filled sync buffer once it is ~2 s old
quiet() {
  local t=6 a b
  sleep 6
  while [ $t -lt 60 ]; do
    a=$(stat -c %s "$1"); sleep 3; b=$(stat -c %s "$1"); t=$((t + 3))
    [ "$a" = "$b" ] && return 0
  done
}
# in_packets NS: incoming packets IPVS handled in NS so far (/proc/net/ip_vs_stats, hex;
# the kernel's estimator updates it every 2 s)
# shellcheck disable=SC2016  # awk program
in_packets() { local v; v=$(ns "$1" awk 'NR == 3 { print $2 }' /proc/net/ip_vs_stats); echo $((16#$v)); }

echo "lvsync demo: a director pair with the kernel's IPVS, lvsync carrying the connection table to the standby"
echo "lvsync: $LVSYNC; kernel $(uname -r)"

# --- 1 -------------------------------------------------------------------------------
step "1. The director pair comes up"
t=$SECONDS
lab_up || die "topology (see $LOGDIR/topo.log)"
set_sync_version 1
ns dirA ipvsadm --start-daemon master --mcast-interface lvsync0 --syncid "$SYNCID"
ns dirB ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid "$SYNCID"
T[topology]=$((SECONDS - t))
nsvc=$(ns dirA ipvsadm -Ln | grep -cE '^(TCP|UDP|FWM|SCTP) ')
say "client  10.0.0.10  fd00::10    the users"
say "dirA    10.0.0.2   fd00::2     ACTIVE director: VIPs 10.0.0.100 + fd00::100, NAT gateway 10.0.0.1 + fd00::1"
say "dirB    10.0.0.3   fd00::3     STANDBY director: the same $nsvc IPVS services, no VIPs"
say "rs1/rs2 10.0.0.21/22, fd00::21/22  real servers (echo and answer servers)"
say "services: TCP :80 DR | TCP [fd00::100]:443 NAT | fwmark 7 (TCP :8080) DR persistent | SCTP :3868 NAT"
say "          UDP :53 NAT persistent | SIP UDP :5060 DR, --pe sip | UDP [fd00::100]:4789 ip6ip6 tunnel"
say "kernel sync: dirA MASTER on its dummy lvsync0, dirB BACKUP on its own dummy lvsync0,"
say "             syncid $SYNCID, sync_version 1. A dummy drops every frame: without lvsync nothing reaches dirB."
say "dirB's connection table: $(count_sync) entries"

# --- 2 -------------------------------------------------------------------------------
step "2. lvsync capture on dirA's lvsync0 (an AF_PACKET socket: every datagram the kernel master sends)"
say "\$ ip netns exec dirA lvsync capture --interface lvsync0 --seconds 300 > capture.hex &"
start_lvsync_capture dirA lvsync0 "$RES/capture.hex" 300 || die "lvsync capture did not start"
say "capturing (pid $LVCAP_PID)"

# --- 3 -------------------------------------------------------------------------------
step "3. Client traffic through dirA"
t=$SECONDS
ns client "$PY" "$LAB/lib/traffic.py" drill "$RES/run/go" > "$LOGDIR/drill.log" 2>&1 &
DRILL_PID=$!; BG_PIDS+=("$DRILL_PID")
wait_for "$LOGDIR/drill.log" '^ready' 120 || die "the client's connections did not come up: $(tr '\n' ' ' < "$LOGDIR/drill.log")"
ns client "$PY" "$LAB/lib/traffic.py" udp > "$LOGDIR/udp.log" 2>&1 || true
T[traffic]=$((SECONDS - t))
line() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
say "held open, ESTABLISHED: $(line "$LOGDIR/drill.log" tcp4) TCP v4 :80 (DR), $(line "$LOGDIR/drill.log" tcp6) TCP v6 :443 (NAT),"
say "                        $(line "$LOGDIR/drill.log" fwmark) fwmark :8080 (DR), $(line "$LOGDIR/drill.log" sctp) SCTP :3868 (NAT)   (answered/opened)"
say "UDP flows, 3 datagrams each: $(line "$LOGDIR/udp.log" udp4) to :53 (NAT), $(line "$LOGDIR/udp.log" sip) SIP INVITEs to :5060 (one Call-ID each),"
say "                             $(line "$LOGDIR/udp.log" udp6) to [fd00::100]:4789 (tunnel)   (answered/sent)"
if grep -q error "$LOGDIR/drill.log" "$LOGDIR/udp.log" ||
   awk '$2 ~ /^[0-9]+\/[0-9]+$/ { split($2, a, "/"); if (a[1] != a[2]) bad = 1 } END { exit !bad }' \
     "$LOGDIR/drill.log" "$LOGDIR/udp.log"; then
  die "not every real server answered (see $LOGDIR/drill.log, $LOGDIR/udp.log)"
fi
NHELD=$(awk '$1 == "ready" { print $2 }' "$LOGDIR/drill.log")
say "dirA's connection table: $(ns dirA ipvsadm -Lnc | tail -n +3 | wc -l) entries"

t=$SECONDS
say "waiting for the kernel master to flush its sync buffers (until the capture is quiet for 3 s) ..."
quiet "$RES/capture.hex"
ns dirA cat /proc/net/ip_vs_conn > "$RES/dirA.ip_vs_conn"
stop_lvsync_capture || true
T[flush]=$((SECONDS - t))
NMSG=$(grep -c . "$RES/capture.hex" || true)
say "capture stopped: $NMSG sync messages, $(($(tr -d '\n' < "$RES/capture.hex" | wc -c) / 2)) bytes of payload"
[ "$NMSG" -gt 0 ] || die "lvsync capture saw no sync message (see $LOGDIR/lvsync-capture.lvsync0.log)"

# --- 4 -------------------------------------------------------------------------------
step "4. What the kernel master sent, decoded by lvsync"
say "\$ lvsync decode --hex capture.hex        (the latest entry per connection)"
rc=0; "$LVSYNC" decode --hex "$RES/capture.hex" > "$RES/decode.txt" 2> "$RES/decode.err" || rc=$?
"$LVSYNC" decode --hex "$RES/capture.hex" --json > "$RES/decode.jsonl" 2>> "$RES/decode.err" || true
[ $rc = 0 ] || die "lvsync decode exited $rc: $(head -c 300 "$RES/decode.err")"
"$PY" "$HERE/report.py" table "$RES/decode.txt"
echo
say "\$ lvsync decode --hex capture.hex --json | (entries per service)"
"$PY" "$HERE/report.py" stats "$RES/decode.jsonl"
read -r NCONN NTMPL NENT < <("$PY" "$HERE/report.py" stats-line "$RES/decode.jsonl")

# --- 5 -------------------------------------------------------------------------------
step "5. Transport to the standby: lvsync replay into dirB's kernel backup sync thread"
t=$SECONDS
say "\$ ip netns exec dirB lvsync replay --hex capture.hex --interface lvsync0 --syncid $SYNCID"
rc=0; ns dirB "$LVSYNC" replay --hex "$RES/capture.hex" --interface lvsync0 --syncid "$SYNCID" \
  > "$RES/replay.json" 2> "$RES/replay.err" || rc=$?
say "$(head -c 300 "$RES/replay.json")"
[ $rc = 0 ] || die "lvsync replay exited $rc: $(head -c 300 "$RES/replay.err")"
# until dirB's table stops growing (1 s steady, at most ~30 s)
for _ in $(seq 15); do
  a=$(count_sync); sleep 1; b=$(count_sync)
  [ "$a" = "$b" ] && [ "$b" -gt 0 ] && break
done
T[replay]=$((SECONDS - t))
ns dirB cat /proc/net/ip_vs_conn_sync > "$RES/dirB.ip_vs_conn_sync"
ns dirB cat /proc/net/ip_vs_conn > "$RES/dirB.ip_vs_conn"
NSYNC=$(count_sync)
say "dirB's kernel (/proc/net/ip_vs_conn_sync) now lists:"
"$PY" "$HERE/report.py" backup "$RES/dirB.ip_vs_conn_sync" "$RES/dirB.ip_vs_conn"
"$PY" "$LAB/lib/compare.py" backup demo-replay 1 "$RES/dirA.ip_vs_conn" "$RES/dirB.ip_vs_conn_sync" \
  > "$RES/compare.txt" || true
CMP=$(grep -E '^(PASS|FAIL) ' "$RES/compare.txt" || echo "FAIL demo-replay: compare.py printed nothing")
case $CMP in
  PASS*) say "= every syncable entry dirA's kernel had when the capture stopped, same states (compare.py: PASS)" ;;
  *) say "differs from dirA's table: ${CMP#FAIL demo-replay: }" ;;
esac

# --- 6 -------------------------------------------------------------------------------
step "6. Failover drill"
ns client "$PY" "$LAB/lib/traffic.py" drill "$RES/run/go" tcp4=2,tcp6=1,fwmark=1,sctp=1 \
  > "$LOGDIR/control.log" 2>&1 &
CONTROL_PID=$!; BG_PIDS+=("$CONTROL_PID")
wait_for "$LOGDIR/control.log" '^ready' 120 || die "the control connections did not come up: $(tr '\n' ' ' < "$LOGDIR/control.log")"
NCTL=$(awk '$1 == "ready" { print $2 }' "$LOGDIR/control.log")
say "control: $NCTL more connections opened through dirA now, after the capture stopped (never replayed)"
t=$SECONDS
say "dirA fails: its eth0 goes down"
ip -n dirA link set eth0 down
say "dirB takes over: stops its backup sync daemon, adds the VIPs and the NAT gateway addresses"
ns dirB ipvsadm --stop-daemon backup
ip -n dirB addr add 10.0.0.100/24 dev eth0
ip -n dirB addr add 10.0.0.1/24 dev eth0
ip -n dirB addr add fd00::100/64 dev eth0 nodad
ip -n dirB addr add fd00::1/64 dev eth0 nodad
ns dirB "$PY" "$LAB/lib/announce.py" eth0 10.0.0.100 10.0.0.1 fd00::100 fd00::1 | sed 's/^/  announce: /'
T[takeover]=$((SECONDS - t))
before=$(in_packets dirB)
say "the client sends again on every held connection ..."
touch "$RES/run/go"
wait_for "$LOGDIR/drill.log" '^survived' 300 || die "the drill did not finish: $(tail -n 5 "$LOGDIR/drill.log" | tr '\n' ' ')"
wait_for "$LOGDIR/control.log" '^survived' 300 || die "the control did not finish: $(tail -n 5 "$LOGDIR/control.log" | tr '\n' ' ')"
for _ in $(seq 20); do after=$(in_packets dirB); [ "$after" -gt "$before" ] && break; sleep 0.5; done
per_kind() { awk '$1 == "after" { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$1"; }
DRILL_S=$(awk '$1 == "survived" { print $4 }' "$LOGDIR/drill.log")
SURV=$(awk '$1 == "survived" { split($2, a, "/"); print a[1] }' "$LOGDIR/drill.log")
CSURV=$(awk '$1 == "survived" { split($2, a, "/"); print a[1] }' "$LOGDIR/control.log")
grep '^lost' "$LOGDIR/drill.log" | sed 's/^/  /' || true
say "replayed: $(per_kind "$LOGDIR/drill.log")"
say "control:  $(per_kind "$LOGDIR/control.log")   ($(awk '$1 == "failures" { $1 = ""; print substr($0, 2) }' "$LOGDIR/control.log"))"
say "dirB's IPVS forwarded $((after - before)) incoming packets during the drill (dirA is down); the test took $DRILL_S s"
echo
echo "drill: $SURV/$NHELD established connections survived the failover (dirB served them from the replayed entries)"
echo "control: $CSURV/$NCTL connections opened after the capture survived (expected 0: dirB never learned them)"

# --- 7 -------------------------------------------------------------------------------
ok=1
[ "$NHELD" -gt 0 ] && [ "$SURV" = "$NHELD" ] || ok=0
[ "$NCTL" -gt 0 ] && [ "$CSURV" = 0 ] || ok=0
step "7. Summary"
say "capture:  $NMSG sync messages from the kernel master on dirA, captured by lvsync"
say "decode:   $NENT entries: $NCONN connections + $NTMPL persistence templates, the rest updates"
say "replay:   dirB's kernel lists $NSYNC entries with Origin SYNC (compare.py against dirA's table: ${CMP%% *})"
say "drill:    $SURV/$NHELD held connections survived ($(per_kind "$LOGDIR/drill.log"))"
say "control:  $CSURV/$NCTL connections never replayed survived"
say "times:    topology ${T[topology]} s, traffic ${T[traffic]} s, flush ${T[flush]} s, replay ${T[replay]} s,"
say "          takeover ${T[takeover]} s, drill ${DRILL_S} s; $((SECONDS - T0)) s in the guest"
if [ $ok = 1 ]; then
  say "result:   PASS (100 % of the replayed connections survived; the control set died)"
  exit 0
fi
say "result:   FAIL"
exit 1
