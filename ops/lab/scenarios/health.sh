#!/bin/bash
# Real-server health checks against the real kernel (run INSIDE the guest):
#   health.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# The elected pair (dirA active, dirB standby) serves TCP 10.0.0.100:80 (wrr, direct routing) on rs1 and rs2, each
# with a TCP check (interval LAB_PROBE_INTERVAL_MS, timeout LAB_PROBE_TIMEOUT_MS: the lab's scaled timers, lib/pair.sh;
# rise 2, fall 2) and on_failure: quiesce.
#   health-up            both servers up: weight 1 in dirA's ipvsadm -Ln, `lvsync status` says no server is down
#   health-down          rs1's service stopped (nftables in rs1 resets TCP to port 80) under a stream of new client
#                        connections: rs1's weight reads 0 in dirA's kernel, rs2's stays 1; the log names server,
#                        service, check, reason and latency; the time it took is reported beside its bound fall ×
#                        (interval + timeout) (a figure: timing is not asserted in the emulated guest)
#   health-served        with rs1 quiesced, every new client connection is served (by rs2)
#   health-standby-view  dirB (standby) found rs1 down too (its status), but left its own kernel alone (weight 1)
#   health-visible       `lvsync status` lists rs1 as down with the reason; `lvsync stats` health.servers_down 1;
#                        the metric lvsync_health_server_up for rs1 is 0
#   health-restored      rs1's service back: its weight is 1 again within rise × interval plus slack, "real server up"
#   health-sysctl        the kernel section at start: expire_nodest_conn set to 0 on both directors (dirA's was 1
#                        before lvsync started), a 'configuration advice' warning for on_failure: remove without it
#   health-blackhole     a UDP flow (one source port, NAT service with on_failure: remove and UDP checks) whose server
#                        is blackholed (nftables drops its port 53): the server is removed from dirA's kernel, and
#                        with the kernel's default the flow still gets no answer 4 s later (its entry pins it to the
#                        removed server); a SIGHUP with expire_nodest_conn: true sets it on both directors, the
#                        server stays removed, and the flow is answered by the other server at its next packets
set -euo pipefail
OUT=$(realpath "${1:?usage: health.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
[ -x "$LVSYNC" ] || { fail health "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-health FLOWS=''
mkdir -p "$SOCK"; : > "$OUT/figures.txt"
T0=$SECONDS
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
trap pair_cleanup EXIT

config() {  # NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS
  pair_config "$@" <<EOF
metrics: { listen: "$3:9788" }
failover:
  boot_wait_ms: $LAB_BOOT_WAIT_MS
  vips:
    - { address: 10.0.0.100/24, interface: eth0 }
    - { address: 10.0.0.1/24, interface: eth0 }
kernel: { expire_nodest_conn: false }
virtual_services:
  - protocol: tcp
    address: 10.0.0.100
    port: 80
    scheduler: wrr
    real_servers:
      - address: 10.0.0.21
        forwarding: dr
        check: { type: tcp, interval_ms: $LAB_PROBE_INTERVAL_MS, timeout_ms: $LAB_PROBE_TIMEOUT_MS, rise: 2, fall: 2 }
      - address: 10.0.0.22
        forwarding: dr
        check: { type: tcp, interval_ms: $LAB_PROBE_INTERVAL_MS, timeout_ms: $LAB_PROBE_TIMEOUT_MS, rise: 2, fall: 2 }
  - protocol: udp
    address: 10.0.0.100
    port: 53
    scheduler: rr
    real_servers:
      - address: 10.0.0.21
        forwarding: nat
        on_failure: remove
        check: { type: udp, payload: "q", expect: "A", interval_ms: $LAB_PROBE_INTERVAL_MS, timeout_ms: $LAB_PROBE_TIMEOUT_MS, rise: 2, fall: 2 }
      - address: 10.0.0.22
        forwarding: nat
        on_failure: remove
        check: { type: udp, payload: "q", expect: "A", interval_ms: $LAB_PROBE_INTERVAL_MS, timeout_ms: $LAB_PROBE_TIMEOUT_MS, rise: 2, fall: 2 }
EOF
}
ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

lab_up
for a in 10.0.0.100/24 10.0.0.1/24; do ip -n dirA addr del "$a" dev eth0; done
for a in fd00::100/64 fd00::1/64; do ip -n dirA addr del "$a" dev eth0; done
"$LVSYNC" certs init "$OUT/pki" --node dira --node dirb > "$LOGDIR/certs.log" 2>&1
config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1
config dirb 100 10.0.1.3 dira 10.0.1.2 169.254.77.2
# Not the kernel's default on dirA: lvsync's kernel section must set it back to 0 at start.
ip netns exec dirA sh -c 'echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn'
start_lvsync dira dirA
start_lvsync dirb dirB

# ---- health-up ----
problem=""
wait_for 90 is_active dira || problem+="dirA is $(status dira role); "
wait_for 60 is_synced_standby dirb || problem+="dirB is $(status dirb role); "
wait_for 20 weight_is dirA 10.0.0.21 1 || problem+="rs1's weight on dirA: '$(weight dirA 10.0.0.21)'; "
[ "$(weight dirA 10.0.0.22)" = 1 ] || problem+="rs2's weight on dirA: '$(weight dirA 10.0.0.22)'; "
sleep 2
"$LVSYNC" status --socket "$SOCK/dira.sock" > "$OUT/status-up.txt" 2>&1 || true
grep -qE '^servers down +none' "$OUT/status-up.txt" || problem+="status: $(tr '\n' '|' < "$OUT/status-up.txt"); "
check health-up "rs1 and rs2 at weight 1 in dirA's kernel (the config's wrr service), no server down" -- no_problem "$problem"

# ---- health-down: rs1's service stopped under a stream of new connections ----
ip netns exec client "$PY" - "$LOGDIR/stream.txt" <<'PY' &
import socket, sys, time
out = open(sys.argv[1], "w")
while True:
    s = socket.socket()
    s.settimeout(1)
    t = time.time()
    try:
        s.connect(("10.0.0.100", 80))
        s.sendall(b"x")
        r = "ok" if s.recv(10) == b"x" else "bad"
    except OSError as e:
        r = "fail"
    finally:
        s.close()
    out.write("%.3f %s\n" % (t, r))
    out.flush()
    time.sleep(0.05)
PY
BG_PIDS+=($!)
sleep 2
t_stop=$(date +%s.%N)
ip netns exec rs1 nft -f - <<'NFT'
table inet lvsync_health {
  chain in { type filter hook input priority 0; tcp dport 80 reject with tcp reset; }
}
NFT
problem=""
wait_for 20 weight_is dirA 10.0.0.21 0 || problem+="rs1's weight on dirA is still '$(weight dirA 10.0.0.21)' 20 s after its service stopped; "
quiesced_ms=$(ms_since "$t_stop")
# fall × (interval + timeout) and a probe in flight: what a director at full speed would take at most (reported)
bound_ms=$((2 * (LAB_PROBE_INTERVAL_MS + LAB_PROBE_TIMEOUT_MS) + LAB_PROBE_TIMEOUT_MS))
line=$(grep 'real server down' "$LOGDIR/dira.log" | tail -n 1 || true)
for field in 'server=10.0.0.21:80' 'service=tcp 10.0.0.100:80' 'check=tcp 10.0.0.21:80' 'reason=' 'latency_ms='; do
  grep -qF -- "$field" <<< "$line" || problem+="the log line lacks $field: ${line:0:300}; "
done
[ "$(weight dirA 10.0.0.22)" = 1 ] || problem+="rs2's weight changed: $(weight dirA 10.0.0.22); "
if [ -z "$problem" ]; then
  pass health-down "rs1's weight read 0 in dirA's kernel ${quiesced_ms} ms after its service stopped (the checks' bound ${bound_ms} ms); log: $(grep -oE 'latency_ms=[0-9.]+ reason=.* server=' <<< "$line" | sed 's/ server=$//' | head -c 200)"
else
  fail health-down "${problem}quiesced after ${quiesced_ms} ms (bound ${bound_ms} ms)"
fi
echo "lvsync health quiesce_ms=$quiesced_ms bound_ms=$bound_ms" >> "$OUT/figures.txt"

# ---- health-served ----
sleep 1
round=$(connect_round 20)
after=$(awk -v t="$t_stop" -v q="$quiesced_ms" '$1 + 0 > t + q / 1000 + 0.5 { n++; if ($2 == "ok") ok++ } END { printf "%d/%d", ok + 0, n + 0 }' "$LOGDIR/stream.txt")
if [ "$round" = 20/20 ] && [ "${after%/*}" = "${after#*/}" ] && [ "${after#*/}" -gt 0 ]; then
  pass health-served "with rs1 quiesced, 20/20 new connections served, and the stream's $after since the quiesce"
else
  fail health-served "a round of new connections: $round; the stream since the quiesce: $after"
fi

# ---- health-standby-view ----
"$LVSYNC" status --socket "$SOCK/dirb.sock" > "$OUT/status-dirb.txt" 2>&1 || true
if grep -qE '^down 10\.0\.0\.21:80 ' "$OUT/status-dirb.txt" && [ "$(weight dirB 10.0.0.21)" = 1 ]; then
  pass health-standby-view "dirB's checks found rs1 down too; its kernel kept weight 1 (only the active changes it)"
else
  fail health-standby-view "dirB's weight for rs1 '$(weight dirB 10.0.0.21)', status: $(tr '\n' '|' < "$OUT/status-dirb.txt")"
fi

# ---- health-visible ----
problem=""
"$LVSYNC" status --socket "$SOCK/dira.sock" > "$OUT/status-down.txt" 2>&1 || true
grep -qE '^down 10\.0\.0\.21:80 +of tcp 10\.0\.0\.100:80 for [0-9.ms]+: .*(refused|reset)' "$OUT/status-down.txt" || problem+="status: $(tr '\n' '|' < "$OUT/status-down.txt"); "
"$LVSYNC" stats --socket "$SOCK/dira.sock" > "$OUT/stats-down.txt" 2>&1 || true
grep -q '"health.servers_down":1' "$OUT/stats-down.txt" || problem+="stats: $(head -c 300 "$OUT/stats-down.txt"); "
ip netns exec dirA "$PY" -c 'import urllib.request; print(urllib.request.urlopen("http://10.0.1.2:9788/metrics", timeout=10).read().decode())' > "$OUT/metrics-down.txt" 2>&1 || true
grep -qE '^lvsync_health_server_up\{.*server="10\.0\.0\.21:80".*\} 0(\.0)?$' "$OUT/metrics-down.txt" || problem+="metrics: $(grep health "$OUT/metrics-down.txt" | head -n 3 | tr '\n' ' '); "
check health-visible "$(grep -E '^down 10' "$OUT/status-down.txt" | sed 's/  */ /g' | cut -c1-200); stats and metrics agree" -- no_problem "$problem"

# ---- health-restored ----
t_back=$(date +%s.%N)
ip netns exec rs1 nft delete table inet lvsync_health
problem=""
wait_for 20 weight_is dirA 10.0.0.21 1 || problem+="rs1's weight is still '$(weight dirA 10.0.0.21)' 20 s after its service came back; "
restored_ms=$(ms_since "$t_back")
grep -q 'real server up' "$LOGDIR/dira.log" || problem+="no 'real server up' in dirA's log; "
echo "lvsync health restore_ms=$restored_ms" >> "$OUT/figures.txt"
check health-restored "rs1 back at weight 1 in dirA's kernel ${restored_ms} ms after its service returned" -- no_problem "$problem"

# ---- health-sysctl ----
sysctl_of() { ip netns exec "$1" cat "/proc/sys/net/ipv4/vs/$2"; }
sysctl_is() { [ "$(sysctl_of "$1" "$2")" = "$3" ]; }   # NS NAME VALUE
problem=""
for d in dirA dirB; do
  sysctl_is $d expire_nodest_conn 0 || problem+="$d's expire_nodest_conn is $(sysctl_of $d expire_nodest_conn); "
done
grep 'IPVS sysctls set' "$LOGDIR/dira.log" | grep -q 'expire_nodest_conn 1 -> 0' || problem+="dirA's log does not say it set expire_nodest_conn 1 -> 0; "
advice=$(grep -m1 'configuration advice' "$LOGDIR/dira.log" || true)
grep -q 'kernel.expire_nodest_conn is not true' <<< "$advice" || problem+="no advice on remove without expire_nodest_conn: ${advice:0:200}; "
check health-sysctl "expire_nodest_conn 0 on both (dirA's was 1: 'IPVS sysctls set' 1 -> 0); advised: $(grep -oE '[0-9]+ real server\(s\) are removed[^:]*' <<< "$advice" | head -c 160)" -- no_problem "$problem"

# ---- health-blackhole ----
# One UDP socket (a fixed source port: one IPVS connection entry) asks 10.0.0.100:53 every 100 ms; each answer is
# logged with the server that sent it ("A<address> <query>").
ip netns exec client "$PY" - "$LOGDIR/udp-flow.txt" <<'PY' &
import socket, sys, time
out = open(sys.argv[1], "w")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.10", 40053))
i = 0
while True:
    s.sendto(b"b%d" % i, ("10.0.0.100", 53))
    i += 1
    end = time.time() + 0.1
    while True:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(200)
        except OSError:
            break
        out.write("%.3f %s\n" % (time.time(), d.split(b" ")[0][1:].decode()))
        out.flush()
PY
BG_PIDS+=($!)
udp_has() { [ "$(ip netns exec "$1" ipvsadm -Ln -u 10.0.0.100:53 | grep -c -- "-> $2:53 ")" -gt 0 ]; }  # NS SERVER
udp_lacks() { ! udp_has "$@"; }
# answers_since T [SERVER]: answers logged after T (from SERVER, or any)
answers_since() { awk -v t="$1" -v s="${2:-}" '$1 + 0 > t && (s == "" || $2 == s) { n++ } END { print n + 0 }' "$LOGDIR/udp-flow.txt"; }
first_since() { awk -v t="$1" -v s="$2" '$1 + 0 > t && $2 == s { print $1; exit }' "$LOGDIR/udp-flow.txt"; }
flow_answered() { [ -s "$LOGDIR/udp-flow.txt" ]; }
problem="" moved_ms=''
wait_for 20 flow_answered || problem+="the UDP flow got no answer; "
pinned=$(awk 'NR == 1 { print $2 }' "$LOGDIR/udp-flow.txt" 2>/dev/null || true)
case $pinned in
  10.0.0.21) other=10.0.0.22 pinned_ns=rs1 ;;
  10.0.0.22) other=10.0.0.21 pinned_ns=rs2 ;;
  *) other='' pinned_ns=''; problem+="the flow's first answer came from '$pinned'; " ;;
esac
if [ -n "$pinned_ns" ]; then
  ip netns exec "$pinned_ns" nft -f - <<'NFT'
table inet lvsync_blackhole {
  chain in { type filter hook input priority 0; udp dport 53 drop; }
}
NFT
  wait_for 20 udp_lacks dirA "$pinned" || problem+="$pinned still in dirA's UDP service 20 s after it was blackholed; "
  t_removed=$(date +%s.%N)
  sleep 4
  stuck=$(answers_since "$t_removed")
  [ "$stuck" = 0 ] || problem+="with expire_nodest_conn 0 the flow still got $stuck answers after the removal (expected none: the contrast); "
  sed -i 's/expire_nodest_conn: false/expire_nodest_conn: true/' "$OUT/dira.yaml" "$OUT/dirb.yaml"
  t_reload=$(date +%s.%N)
  kill -HUP "${LV_PID[dira]}" "${LV_PID[dirb]}"
  for d in dirA dirB; do
    wait_for 20 sysctl_is $d expire_nodest_conn 1 || problem+="$d's expire_nodest_conn is $(sysctl_of $d expire_nodest_conn) after the reload; "
  done
  answered_by_other() { [ "$(answers_since "$t_reload" "$other")" -gt 0 ]; }
  wait_for 20 answered_by_other || problem+="no answer from $other in 20 s after the reload; "
  moved=$(first_since "$t_reload" "$other")
  moved_ms=$(awk -v a="$t_reload" -v b="${moved:-$t_reload}" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  udp_lacks dirA "$pinned" || problem+="the reload put the blackholed $pinned back; "
fi
if [ -z "$problem" ]; then
  pass health-blackhole "$pinned removed, the flow got 0 answers in the 4 s after (kernel default); SIGHUP with expire_nodest_conn: true: 1 on both, $other answered it ${moved_ms} ms after the reload"
  echo "lvsync health nodest_moved_ms=$moved_ms" >> "$OUT/figures.txt"
else
  fail health-blackhole "$problem"
fi
stop_all_lvsync
