#!/bin/bash
# lvsync's host networking against the real kernel (run INSIDE the guest):
#   hostnet.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
#   hostnet-netdev-create      `lvsync netdev ensure` (rtnetlink, libnl-route-3) in a fresh namespace creates
#                              lvsync0: `ip -d link` shows a dummy, UP and MULTICAST, `ip addr` its /32
#   hostnet-netdev-idempotent  run again (from inside the namespace): changes=none, same ifindex, same state
#   hostnet-netdev-repair      after `ip link set lvsync0 down multicast off` it sets exactly the flags again
#   hostnet-netdev-not-dummy   an existing veth of that name is refused with a sentence naming it
#   hostnet-netdev-eperm       without CAP_NET_ADMIN the error names the interface and the errno
#   hostnet-capture-filter-ipv6  the filter for an IPv6 group: of datagrams out of a veth to ff02::8848:8848,
#                              another port and another group, only the first are queued and printed
#   hostnet-capture-filter     the kernel master runs on a lvsync0 that lvsync created; `lvsync capture` (one
#                              datagram per call, and --batch: recvmmsg) prints the same messages as tcpdump,
#                              while decoys (another group, another port, an IGMP report) go out of lvsync0 too;
#                              PACKET_STATISTICS shows the BPF filter queued exactly the sync datagrams
#   hostnet-capture-decode     `lvsync decode --json` of the batched capture equals dirA's /proc/net/ip_vs_conn
# Each check prints one line "PASS name" or "FAIL name: reason".
set -euo pipefail
OUT=$(realpath "${1:?usage: hostnet.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
NS=hostnet
cleanup() { ip netns del "$NS" 2>/dev/null || true; lab_down > /dev/null 2>&1 || true; }
trap cleanup EXIT
[ -x "$LVSYNC" ] || { fail hostnet "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
modprobe dummy; modprobe veth

# link_state NS: "dummy UP MULTICAST addr=A/32" as ip sees lvsync0 (kind, flags, IPv4 addresses)
link_state() {
  local d kind flags addrs
  d=$(ip -n "$1" -d link show lvsync0)
  kind=$(grep -oE '^ +dummy' <<< "$d" | tr -d ' ' || true)
  flags=$(grep -oE '<[^>]*>' <<< "$d" | head -1 | tr '<>,' '   ')
  addrs=$(ip -n "$1" -4 -o addr show dev lvsync0 | awk '{print $4}' | tr '\n' ' ')
  echo "kind=${kind:-none} flags=[$flags] addr=[${addrs% }]"
}
has_flag() { grep -qE "[[ ]$2[] ]" <<< "$1"; }

# ---- 1. create, again, repair, refuse ----
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
rc=0; "$LVSYNC" netdev ensure lvsync0 169.254.77.9 --namespace "$NS" > "$OUT/ensure1.txt" 2>&1 || rc=$?
s1=$(link_state "$NS" 2>&1 || true)
echo "  first:  $(cat "$OUT/ensure1.txt") | $s1"
if [ $rc = 0 ] && grep -q 'changes=created,up-multicast,address$' "$OUT/ensure1.txt" &&
   grep -q '^kind=dummy ' <<< "$s1" && has_flag "$s1" UP && has_flag "$s1" MULTICAST &&
   grep -q 'addr=\[169.254.77.9/32\]' <<< "$s1"; then
  pass hostnet-netdev-create "$(cat "$OUT/ensure1.txt") ($s1)"
else
  fail hostnet-netdev-create "exit $rc: $(head -c 300 "$OUT/ensure1.txt") ($s1)"
fi
index1=$(grep -oE 'index=[0-9]+' "$OUT/ensure1.txt" || true)

rc=0; ip netns exec "$NS" "$LVSYNC" netdev ensure lvsync0 169.254.77.9 > "$OUT/ensure2.txt" 2>&1 || rc=$?
s2=$(link_state "$NS" 2>&1 || true)
echo "  second: $(cat "$OUT/ensure2.txt") | $s2"
if [ $rc = 0 ] && grep -q "$index1 changes=none$" "$OUT/ensure2.txt" && [ "$s1" = "$s2" ]; then
  pass hostnet-netdev-idempotent "$(cat "$OUT/ensure2.txt")"
else
  fail hostnet-netdev-idempotent "exit $rc: $(head -c 300 "$OUT/ensure2.txt") ($s2, before: $s1)"
fi

ip -n "$NS" link set lvsync0 down multicast off
s=$(link_state "$NS")
rc=0; "$LVSYNC" netdev ensure lvsync0 169.254.77.9 --namespace "$NS" > "$OUT/ensure3.txt" 2>&1 || rc=$?
s3=$(link_state "$NS" 2>&1 || true)
echo "  repair: down: $s | $(cat "$OUT/ensure3.txt") | $s3"
if [ $rc = 0 ] && ! has_flag "$s" MULTICAST && grep -q "$index1 changes=up-multicast$" "$OUT/ensure3.txt" &&
   [ "$s3" = "$s1" ]; then
  pass hostnet-netdev-repair "$(cat "$OUT/ensure3.txt")"
else
  fail hostnet-netdev-repair "exit $rc: $(head -c 300 "$OUT/ensure3.txt") ($s3, wanted $s1)"
fi

ip -n "$NS" link add lvsync1 type veth peer name lvsync1p
rc=0; "$LVSYNC" netdev ensure lvsync1 169.254.77.10 --namespace "$NS" > "$OUT/ensure-veth.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "sync interface lvsync1: exists and is a veth link, not a dummy" "$OUT/ensure-veth.txt" &&
   ! ip -n "$NS" -4 addr show dev lvsync1 | grep -q inet; then
  pass hostnet-netdev-not-dummy "$(head -n 1 "$OUT/ensure-veth.txt")"
else
  fail hostnet-netdev-not-dummy "exit $rc: $(head -c 300 "$OUT/ensure-veth.txt")"
fi

rc=0
ip netns exec "$NS" setpriv --bounding-set -net_admin --inh-caps -net_admin \
  "$LVSYNC" netdev ensure lvsync2 169.254.77.11 > "$OUT/ensure-nocap.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "create dummy link lvsync2: Operation not permitted (errno 1)" "$OUT/ensure-nocap.txt" &&
   ! ip -n "$NS" link show lvsync2 > /dev/null 2>&1; then
  pass hostnet-netdev-eperm "$(head -n 1 "$OUT/ensure-nocap.txt")"
else
  fail hostnet-netdev-eperm "exit $rc: $(head -c 300 "$OUT/ensure-nocap.txt")"
fi

# ---- 2. the filter for an IPv6 group (the kernel master can use one): datagrams out of a veth, with decoys ----
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$NS" link add va type veth peer name vb
ip -n "$NS" link set va up; ip -n "$NS" link set vb up
problem=""
for mode in single batched; do
  flag=""; [ $mode = batched ] && flag=--batch
  ip netns exec "$NS" "$LVSYNC" capture --interface va --group ff02::8848 --seconds 120 --stats $flag \
    > "$OUT/v6-$mode.hex" 2> "$LOGDIR/v6-$mode.err" &
  pid=$!; BG_PIDS+=("$pid")
  ifindex=$(ip netns exec "$NS" cat /sys/class/net/va/ifindex)
  for _ in $(seq 300); do packet_socket_bound "$pid" "$ifindex" && break; sleep 0.1; done
  ip netns exec "$NS" "$PY" - <<'PY'
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx = socket.if_nametoindex("va")
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
for i in range(3):
    s.sendto(bytes([0, 9, 0, 8, 0, 1, 0, i]), ("ff02::8848", 8848, 0, idx))
    s.sendto(b"decoy", ("ff02::8848", 8849, 0, idx))
    s.sendto(b"decoy", ("ff02::8849", 8848, 0, idx))
PY
  sleep 1
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  got=$(tr '\n' ' ' < "$OUT/v6-$mode.hex")
  passed=$(grep -oE 'filter passed [0-9]+ frames' "$LOGDIR/v6-$mode.err" || true)
  echo "  IPv6 $mode: $got| $passed"
  if [ "$got" != "0009000800010000 0009000800010001 0009000800010002 " ] || [ "$passed" != "filter passed 3 frames" ]; then
    problem+="$mode: '$got', '$passed'; "
  fi
done
check hostnet-capture-filter-ipv6 "3 datagrams to ff02::8848:8848 of 9 (and the MLD reports), single and batched" -- no_problem "$problem"
ip netns del "$NS"

# ---- 3. the kernel master on a lvsync0 lvsync made; capture through the BPF filter ----
# start_capture_bg NAME ARGS...: `lvsync capture` in dirA in the background, until its socket is bound
declare -A CAP_PID
start_capture_bg() {
  local name=$1 ifindex pid; shift
  ifindex=$(ip netns exec dirA cat /sys/class/net/lvsync0/ifindex)
  ip netns exec dirA "$LVSYNC" capture --interface lvsync0 --seconds 300 --stats "$@" \
    > "$OUT/$name.hex" 2> "$LOGDIR/$name.err" &
  pid=$!; CAP_PID[$name]=$pid; BG_PIDS+=("$pid")
  for _ in $(seq 300); do
    packet_socket_bound "$pid" "$ifindex" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "lvsync capture $name did not start: $(cat "$LOGDIR/$name.err")" >&2; return 1
}
stop_capture_bg() {  # NAME: SIGTERM; with --stats lvsync prints the counts, then ends by the signal (143)
  local rc=0
  kill -TERM "${CAP_PID[$1]}" 2>/dev/null || true
  wait "${CAP_PID[$1]}" || rc=$?
  return $rc
}

lab_up
ip -n dirA link del lvsync0
rc=0; "$LVSYNC" netdev ensure lvsync0 169.254.77.1 --namespace dirA > "$OUT/ensure-dirA.txt" 2>&1 || rc=$?
echo "  dirA: $(cat "$OUT/ensure-dirA.txt") | $(link_state dirA)"
[ $rc = 0 ] || fail hostnet-capture-filter "lvsync netdev ensure in dirA exited $rc: $(cat "$OUT/ensure-dirA.txt")"
ip netns exec dirA ipvsadm --start-daemon master --mcast-interface lvsync0 --syncid "$SYNCID"
ip netns exec dirA tcpdump -i lvsync0 -w "$OUT/all.pcap" -U -Z root -n 2> "$LOGDIR/tcpdump-all.log" &
ALL_PID=$!; BG_PIDS+=("$ALL_PID")
# the reference: only datagrams to the group and port, as lvsync's filter
ip netns exec dirA tcpdump -i lvsync0 -w "$OUT/sync.pcap" -U -Z root -n 'udp dst port 8848 and dst host 224.0.0.81' \
  2> "$LOGDIR/tcpdump.log" &
REF_PID=$!; BG_PIDS+=("$REF_PID")
for _ in $(seq 100); do grep -q 'listening on' "$LOGDIR/tcpdump.log" && grep -q 'listening on' "$LOGDIR/tcpdump-all.log" && break; sleep 0.1; done
start_capture_bg single
start_capture_bg batched --batch
make_traffic || fail hostnet-capture-filter "traffic: see $LOGDIR/traffic.log"
# decoys out of lvsync0: another group, another port, an IGMP membership report
ip netns exec dirA "$PY" - <<'PY' > "$LOGDIR/decoys.log" 2>&1
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("169.254.77.1"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
for _ in range(3):
    s.sendto(b"\0\x09\0\x0c\0\x01\0\0decoy", ("224.0.0.82", 8848))
    s.sendto(b"\0\x09\0\x0c\0\x01\0\0decoy", ("224.0.0.81", 9999))
j = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
j.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("224.0.0.99"), socket.inet_aton("169.254.77.1")))
time.sleep(1)
print("decoys sent")
PY
wait_flush "$OUT/sync.pcap"
ip netns exec dirA ipvsadm --stop-daemon master
sleep 1
kill -INT "$REF_PID" "$ALL_PID" 2>/dev/null || true
wait "$REF_PID" 2>/dev/null || true; wait "$ALL_PID" 2>/dev/null || true
rcs=0; stop_capture_bg single || rcs=$?
rcb=0; stop_capture_bg batched || rcb=$?
ip netns exec dirA cat /proc/net/ip_vs_conn > "$OUT/dirA.ip_vs_conn"
"$PY" "$LAB/lib/pcap2hex.py" "$OUT/sync.pcap" > "$OUT/sync.hex"

m=$(grep -c . "$OUT/sync.hex" || true)
all=$(tcpdump -r "$OUT/all.pcap" -n 2>/dev/null | wc -l)
decoy_group=$(tcpdump -r "$OUT/all.pcap" -n 'dst host 224.0.0.82' 2>/dev/null | wc -l)
decoy_port=$(tcpdump -r "$OUT/all.pcap" -n 'udp dst port 9999' 2>/dev/null | wc -l)
igmp=$(tcpdump -r "$OUT/all.pcap" -n igmp 2>/dev/null | wc -l)
echo "  tcpdump: $m sync messages; all frames on lvsync0: $all (decoys: $decoy_group to 224.0.0.82, $decoy_port to port 9999, $igmp IGMP)"
problem=""
for name in single batched; do
  n=$(grep -c . "$OUT/$name.hex" || true)
  passed=$(grep -oE 'filter passed [0-9]+ frames, dropped [0-9]+' "$LOGDIR/$name.err" | head -1 || true)
  echo "  lvsync capture ($name): $n messages; $passed"
  st=$rcs; [ $name = batched ] && st=$rcb
  if [ "$st" != 0 ] && [ "$st" != 143 ]; then problem+="$name exited $st: $(head -c 200 "$LOGDIR/$name.err"); "
  elif ! diff -q "$OUT/$name.hex" "$OUT/sync.hex" > /dev/null; then problem+="$name printed $n messages, tcpdump $m (or they differ); "
  elif [ "$passed" != "filter passed $m frames, dropped 0" ]; then problem+="$name: '$passed', wanted $m frames; "
  fi
done
if [ "$m" = 0 ]; then problem+="tcpdump captured no sync message; "; fi
if [ "$decoy_group" -lt 3 ] || [ "$decoy_port" -lt 3 ] || [ "$igmp" -lt 1 ]; then problem+="the decoys did not all go out of lvsync0; "; fi
check hostnet-capture-filter "$m messages in both captures = tcpdump; the filter queued exactly those of $all frames" -- no_problem "$problem"

rc=0; "$LVSYNC" decode --hex "$OUT/batched.hex" --json > "$OUT/decode.jsonl" 2> "$OUT/decode.err" || rc=$?
if [ $rc != 0 ]; then
  fail hostnet-capture-decode "lvsync decode exited $rc: $(head -c 300 "$OUT/decode.err")$(grep -m1 error "$OUT/decode.jsonl" || true)"
else
  "$PY" "$LAB/lib/compare.py" decoded hostnet-capture-decode 1 "$OUT/dirA.ip_vs_conn" "$OUT/decode.jsonl" || true
fi
