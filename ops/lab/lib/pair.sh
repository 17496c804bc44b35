# shellcheck shell=bash
# Helpers for an elected lvsync pair in the lab and the flows that cross its failovers; source it after guest.sh,
# inside the guest. Set before use: OUT (results), LOGDIR (logs), SOCK (a writable folder for the control sockets),
# FLOWS (lib/flows.py's options), T0 (for say).
declare -A LV_PID   # name -> pid of a running `lvsync run`

# ---- the lab's timers, scaled for the emulated guest ----
# The guest is QEMU without KVM: 10-50x slower than a director, and slower still when CI shares the host with other
# work (ops/test.sh --hog). There a debug build of lvsync takes seconds to start and to finish a TLS handshake, and
# a heartbeat on the TLS link can wait well over 500 ms behind the other director's starved process. With the
# production timers (boot wait 1.5 s, dead interval 500 ms) the pair then starts in a split brain and the standby
# declares a live active dead again and again (seen: 15 false takeovers in 3 minutes beside a CPU hog; with 2 s,
# both links still fell silent for just over 2 s after a drill, and the pair bounced). So the lab runs these, and
# the scenarios report the timing figures they measure rather than fail on them:
#   LAB_BOOT_WAIT_MS  a director started alone waits this long for its peer's link (production: 1.5 s)
#   DEAD_MS           a peer silent this long is dead (production: 500 ms); heartbeats stay at 100 ms
#   LAB_UDP_INTERVAL_MS, LAB_UDP_MULTIPLIER   the UDP heartbeat path (the fast failure detector) of the scenarios
#                          that run it (udp_heartbeat_yaml): production 9 ms x 5 = 45 ms; here 100 ms x 10 = 1 s,
#                          a quarter of the link's dead interval (the election's thread, which sends and reads the
#                          datagrams, is starved far less than the daemon's others, but a 30 x slower guest shared
#                          with the flows' generators still leaves it without a CPU for hundreds of milliseconds)
#   LAB_PROBE_TIMEOUT_MS   a real-server health probe's timeout (a python responder in a starved guest)
#   LAB_PROBE_INTERVAL_MS  between a server's probes: each probe of a debug build costs the guest tens of ms of CPU,
#                          and eight checks every 300 ms starved both daemons into false takeovers
LAB_BOOT_WAIT_MS=${LAB_BOOT_WAIT_MS:-10000}
DEAD_MS=${DEAD_MS:-4000}
LAB_UDP_INTERVAL_MS=${LAB_UDP_INTERVAL_MS:-100}
LAB_UDP_MULTIPLIER=${LAB_UDP_MULTIPLIER:-10}
# shellcheck disable=SC2034  # used by the scenarios that source this
LAB_PROBE_TIMEOUT_MS=${LAB_PROBE_TIMEOUT_MS:-1500}
# shellcheck disable=SC2034
LAB_PROBE_INTERVAL_MS=${LAB_PROBE_INTERVAL_MS:-1000}
#   LAB_HELLO_TIMEOUT_MS   a peer connection's TLS handshake and hello must be done within this (production: 5 s;
#                          a debug build's handshake in the starved guest has taken longer, and the peer's real link
#                          was shed as a flood's would be)
LAB_HELLO_TIMEOUT_MS=${LAB_HELLO_TIMEOUT_MS:-30000}
say() { echo "  [$((SECONDS - T0)) s] $*"; }

# start_lvsync NAME NS [ARGS...]: `lvsync run --config OUT/NAME.yaml ARGS` in NS, its log appended to LV_LOG
# (default LOGDIR/NAME.log; `LV_LOG=$LOGDIR/dirb-2.log start_lvsync dirb dirB` gives a restart a log of its own)
# (ip netns exec execs: the pid is lvsync's own)
start_lvsync() {
  local name=$1 ns=$2 log=${LV_LOG:-$LOGDIR/$1.log}; shift 2
  ip netns exec "$ns" "$LVSYNC" run --config "$OUT/$name.yaml" "$@" >> "$log" 2>&1 &
  LV_PID[$name]=$!
}
# stop_lvsync NAME [SIGNAL]: SIGTERM by default; at most 20 s, then SIGKILL; the status is lvsync's
stop_lvsync() {
  local pid=${LV_PID[$1]:-} rc=0
  [ -n "$pid" ] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  unset "LV_PID[$1]"
  return $rc
}
stop_all_lvsync() { local n; for n in "${!LV_PID[@]}"; do stop_lvsync "$n" > /dev/null 2>&1 || true; done; }
# pair_cleanup: every lvsync and background process stopped, the topology down (the scenarios' EXIT trap)
pair_cleanup() {
  local p
  stop_all_lvsync
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  lab_down > /dev/null 2>&1 || true
}
# pair_config NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS: OUT/NAME.yaml for an elected director on the
# directors' own link (certificates in OUT/pki, the control socket in SOCK, heartbeat 100 ms, dead interval DEAD_MS,
# the hello deadline LAB_HELLO_TIMEOUT_MS),
# then whatever stdin adds (its failover section, metrics, services)
pair_config() {
  {
    cat <<EOF
node: $1
priority: $2
listen: "$3:7788"
peers:
  - { name: $4, address: "$5:7788" }
tls: { ca: $OUT/pki/ca.pem, certificate: $OUT/pki/$1.pem, key: $OUT/pki/$1-key.pem }
sync: { interface: lvsync0, address: $6, syncid: $SYNCID }
control: { socket: $SOCK/$1.sock }
timers: { heartbeat_ms: 100, dead_ms: $DEAD_MS }
limits: { hello_timeout_ms: $LAB_HELLO_TIMEOUT_MS }
EOF
    cat
  } > "$OUT/$1.yaml"
}

# udp_heartbeat_yaml LISTEN PEER PEER_ADDRESS: the failover section's udp_heartbeat lines (indented for it) with the
# lab's timers, port 7789, the key OUT/pki/heartbeat.key (written once, 32 random bytes, shared by the pair)
udp_heartbeat_yaml() {
  [ -s "$OUT/pki/heartbeat.key" ] || { mkdir -p "$OUT/pki"; head -c 32 /dev/urandom > "$OUT/pki/heartbeat.key"; }
  cat <<EOF
  udp_heartbeat:
    listen: "$1:7789"
    peers: [{ name: $2, address: "$3:7789" }]
    key_file: $OUT/pki/heartbeat.key
    interval_ms: $LAB_UDP_INTERVAL_MS
    detect_multiplier: $LAB_UDP_MULTIPLIER
EOF
}

# elected_config NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS: pair_config for a director the election
# decides, holding the VIPs 10.0.0.100/24 and 10.0.0.1/24 on eth0 when active (boot wait LAB_BOOT_WAIT_MS); stdin
# is added before the failover section (give it < /dev/null when there is nothing to add)
elected_config() {
  {
    cat
    printf '%s\n' "failover:" "  boot_wait_ms: $LAB_BOOT_WAIT_MS" "  vips:" \
      "    - { address: 10.0.0.100/24, interface: eth0 }" "    - { address: 10.0.0.1/24, interface: eth0 }"
  } | pair_config "$@"
}

# status NAME FIELD: a field of `lvsync status --json` (role, vips_held, in_sync; peer.FIELD: the first peer's;
# sync.FIELD: the mirror's)
status() {
  "$LVSYNC" status --json --socket "$SOCK/$1.sock" 2> /dev/null | "$PY" -c '
import json, sys
try:
    s = json.loads(sys.stdin.read())
except ValueError:
    sys.exit(0)
key = sys.argv[1]
if key.startswith("peer."):
    v = (s.get("peers") or [{}])[0].get(key[5:])
elif key.startswith("sync."):
    v = (s.get("sync") or {}).get(key[5:])
else:
    v = s.get(key)
print(json.dumps(v) if isinstance(v, bool) else v)' "$2" || true
}
# wait_for SECS CMD...: until CMD succeeds (every 0.5 s: a poll that starts the CLI costs the emulated guest a good
# part of a CPU second, and a tighter loop would starve the daemons it watches), at most SECS
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.5; done
}
is_active() { [ "$(status "$1" role)" = active ] && [ "$(status "$1" vips_held)" = true ]; }
is_standby() { [ "$(status "$1" role)" = standby ]; }
is_synced_standby() { [ "$(status "$1" role)" = standby ] && [ "$(status "$1" in_sync)" = true ]; }
# (grep -c, not -q: an early exit of grep would fail the pipe under pipefail)
holds_vip() { [ "$(ip -n "$1" -4 -o addr show dev eth0 | grep -c ' 10\.0\.0\.100/')" -gt 0 ]; }
lacks_vip() { ! holds_vip "$1"; }
tail_log() { tail -n 4 "$1" 2>/dev/null | cut -c1-300 | tr '\n' ' '; }
log_since() { tail -n +$(($2 + 1)) "$1"; }   # FILE LINES: what FILE got after its first LINES lines
lines() { wc -l < "$1"; }
logged_since() { log_since "$1" "$2" | grep -q "$3"; }   # FILE LINES PATTERN: FILE got PATTERN after LINES
# daemons NS: the kernel sync daemons running in NS ("backup", "master", "backup master" or empty)
daemons() { ip netns exec "$1" ipvsadm -L --daemon 2>/dev/null | awk '{ print $1 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
# weight NS SERVER: the weight of SERVER:80 in NS's TCP 10.0.0.100:80 (empty if absent)
weight() {
  ip netns exec "$1" ipvsadm -Ln -t 10.0.0.100:80 2>/dev/null | awk -v s="$2:80" '$2 == s { print $4 }'
}
weight_is() { [ "$(weight "$1" "$2")" = "$3" ]; }   # NS SERVER WEIGHT (for wait_for: read anew each time)
weights() { echo "rs1 $(weight "$1" 10.0.0.21), rs2 $(weight "$1" 10.0.0.22)"; }   # NS: rs1's and rs2's
# scrape NS ADDRESS: GET http://ADDRESS:9788/metrics from NS (python's urllib; no curl in the guest)
scrape() {
  ip netns exec "$1" "$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("http://%s:9788/metrics" % sys.argv[1], timeout=20).read().decode())' "$2"
}
# sample FILE NAME{LABELS}: the sample's value in a scrape (0 when absent)
sample() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"; }
# connect_round N: N new client connections to the VIP, one echo each (3 s each at most); prints "ok/N"
connect_round() {
  ip netns exec client "$PY" - "$1" <<'PY'
import socket, sys
n, ok = int(sys.argv[1]), 0
for i in range(n):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("10.0.0.100", 80))
        s.sendall(b"round-%d" % i)
        ok += s.recv(100) == b"round-%d" % i
    except OSError:
        pass
    finally:
        s.close()
print("%d/%d" % (ok, n))
PY
}

# flows_tcp: the TCP connections a phase's flows open (busy + busy6 + idle of FLOWS, lib/flows.py's defaults)
flows_tcp() {
  "$PY" -c '
import sys
o = dict(busy=40, busy6=4, idle=8)
for part in filter(None, sys.argv[1].split(",")):
    k, v = part.split("=")
    o[k] = int(v)
print(o["busy"] + o["busy6"] + o["idle"])' "$FLOWS"
}
# kernel_established NS: the established TCP connections in NS's IPVS table
kernel_established() {
  ip netns exec "$1" awk '$1 == "TCP" && $8 == "ESTABLISHED" { n++ } END { print n + 0 }' /proc/net/ip_vs_conn
}
# mirror_established NAME: the established TCP connections in NAME's mirror (`lvsync conns --json`)
mirror_established() {
  "$LVSYNC" conns --json --socket "$SOCK/$1.sock" 2> /dev/null | "$PY" -c '
import json, sys
n = 0
for line in sys.stdin:
    try:
        c = json.loads(line)
    except ValueError:
        continue
    n += str(c.get("protocol", "")).lower() == "tcp" and str(c.get("state", "")).upper() == "ESTABLISHED"
print(n)' || echo 0
}
# wait_count SECS WANT WHAT ARG: until `WHAT ARG` prints at least WANT (every 0.2 s, at most SECS); on failure says
# what it saw last on stderr
wait_count() {
  local end=$((SECONDS + $1)) want=$2 seen; shift 2
  while :; do
    seen=$("$@")
    [ "${seen:-0}" -ge "$want" ] && return 0
    [ $SECONDS -lt $end ] || break
    sleep 0.2
  done
  echo "waited for $* to reach $want: it says ${seen:-nothing}" >&2
  return 1
}
# phase_synced NS: waits (at most 30 s) until NS's kernel holds the phase's established connections (the kernel
# master sends a partly filled buffer once it is 2 s old; slower in the guest); says so when it does not
phase_synced() {
  local want
  want=$(flows_tcp)
  wait_count 30 "$want" kernel_established "$1" 2>> "$PH/waits.txt" ||
    say "$1's kernel holds $(kernel_established "$1") of the $want established connections 30 s after the flows began"
}

# ---- one phase's flows: start, fault, check ----
PH=   # the current phase's directory
FLOWS_PID=
# phase_start TAG: the client's flows (lib/flows.py) in OUT/flows/TAG; returns once they are ready
phase_start() {
  PH=$OUT/flows/$1; rm -rf "$PH"; mkdir -p "$PH"
  ip netns exec client "$PY" "$LAB/lib/flows.py" "$PH" "$1" "$FLOWS" > "$PH/flows.txt" 2>&1 &
  FLOWS_PID=$!; BG_PIDS+=("$FLOWS_PID")
  if ! wait_for 180 test -e "$PH/ready"; then
    echo "flows did not get ready: $(tail -n 3 "$PH/flows.txt")" >&2; return 1
  fi
  say "$1: $(head -n 1 "$PH/flows.txt")"
}
# served_start NS: time the first packet NS forwards for the VIP after the fault (lib/served.py)
served_start() {
  ip netns exec "$1" "$PY" "$LAB/lib/served.py" eth0 10.0.0.100 "$PH/fault" "$PH/served" 90 > /dev/null 2>&1 &
  BG_PIDS+=($!)
  wait_for 30 test -e "$PH/served.started"
}
fault_now() { date +%s.%N > "$PH/fault"; }
# phase_check MODE TAG: waits for the new active's first forwarded packet (at most 20 s) and a second more, then
# runs the client's checks. Sets RESULT (the client's summary line), RESULT_OK (1: every TCP connection survived,
# every call and UDP flow kept its server), TCP_SURV, TCP_TOTAL, SERVED_S; appends the figures to OUT/figures.txt.
phase_check() {
  wait_for 20 test -s "$PH/served" || true
  sleep 1
  touch "$PH/check"
  wait "$FLOWS_PID" 2>/dev/null || true
  SERVED_S=$(cut -d' ' -f2 "$PH/served" 2>/dev/null || true)
  RESULT=$(tail -n 1 "$PH/flows.txt")
  RESULT_OK=0 TCP_SURV='' TCP_TOTAL=''
  if [ ! -s "$PH/result.json" ]; then
    RESULT="the client wrote no result: $(tail -n 3 "$PH/flows.txt" | tr '\n' ' ')"
    echo "$1 $2 error=no-result" >> "$OUT/figures.txt"
    return 0
  fi
  read -r RESULT_OK TCP_SURV TCP_TOTAL < <("$PY" - "$1" "$2" "$PH/result.json" "${SERVED_S:-}" "$OUT/figures.txt" <<'PY'
import json, sys
mode, tag, path, served, figures = sys.argv[1:6]
r = json.load(open(path))
ok = (r["tcp_survived"] == r["tcp_total"] > 0 and r["calls_kept"] == r["calls"] and r["udp_kept"] == r["udp"]
      and not r["setup_problems"])
with open(figures, "a") as f:
    print(mode, tag, "tcp=%d/%d" % (r["tcp_survived"], r["tcp_total"]), "idle=%d" % r["idle"],
          "calls=%d/%d" % (r["calls_kept"], r["calls"]), "udp=%d/%d" % (r["udp_kept"], r["udp"]),
          "served_ms=%s" % ("%.0f" % (float(served) * 1000) if served else "none"),
          "gap_ms_max=%s" % r["gap_ms_max"], "gap_ms_p50=%s" % r["gap_ms_p50"], file=f)
print(int(ok), r["tcp_survived"], r["tcp_total"])
PY
  ) || true
}
# served_text: "123 ms" (the first forwarded packet after the fault) or "never"
served_text() {
  if [ -n "${SERVED_S:-}" ]; then awk -v s="$SERVED_S" 'BEGIN { printf "%.0f ms", s * 1000 }'; else echo "never"; fi
}
