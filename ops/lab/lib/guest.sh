# shellcheck shell=bash
# Shared helpers for the scenarios; source it inside the guest (bash, root).
# Scenarios run from the read-only repo and write only below their OUT dir.
# Set LOGDIR (topology, traffic and tcpdump logs) before calling these.
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3   # Debian's python (3.11, stdlib only), not pyenv's
# shellcheck disable=SC2034  # used by the scenarios that source this
SYNCID=9
BG_PIDS=()

# Build the network (topo.sh).
lab_up() { bash "$LAB/topo.sh" up "$LOGDIR" > "$LOGDIR/topo.log" 2>&1 || { cat "$LOGDIR/topo.log" >&2; return 1; }; }

# Tear it down and end every background process we started.
lab_down() {
  stop_capture
  local p
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  BG_PIDS=()
  bash "$LAB/topo.sh" down
}

# sync_version on both directors (the master's decides the format).
set_sync_version() {
  ip netns exec dirA sysctl -qw net.ipv4.vs.sync_version="$1"
  ip netns exec dirB sysctl -qw net.ipv4.vs.sync_version="$1"
}

# start_capture NS IFACE PCAP: tcpdump in the background until stop_capture.
# -U writes each packet at once; -Z root keeps the file ours on the 9p share.
start_capture() {
  local err=$LOGDIR/tcpdump.$2.log
  ip netns exec "$1" tcpdump -i "$2" -w "$3" -U -Z root -n 'udp port 8848' 2> "$err" &
  CAPTURE_PID=$!
  BG_PIDS+=("$CAPTURE_PID")
  for _ in $(seq 100); do grep -q 'listening on' "$err" && return 0; sleep 0.1; done
  echo "tcpdump did not start: $(cat "$err")" >&2; return 1
}
CAPTURE_PID=
stop_capture() {
  [ -n "$CAPTURE_PID" ] || return 0
  kill -INT "$CAPTURE_PID" 2>/dev/null || true
  wait "$CAPTURE_PID" 2>/dev/null || true
  CAPTURE_PID=
}

# start_lvsync_capture NS IFACE HEXFILE SECONDS: `lvsync capture` (AF_PACKET,
# lvsync's own code) in the background; it stops by itself after SECONDS.
# Returns once its socket is bound to IFACE (a Swift binary starts slowly
# under TCG). Sets LVCAP_PID; stderr goes to LOGDIR/lvsync-capture.IFACE.log.
LVCAP_PID=
start_lvsync_capture() {
  local err=$LOGDIR/lvsync-capture.$2.log ifindex
  ifindex=$(ip netns exec "$1" cat "/sys/class/net/$2/ifindex")
  ip netns exec "$1" "$LVSYNC" capture --interface "$2" --seconds "$4" > "$3" 2> "$err" &
  LVCAP_PID=$!   # ip netns exec execs: this is lvsync itself
  BG_PIDS+=("$LVCAP_PID")
  for _ in $(seq 300); do
    packet_socket_bound "$LVCAP_PID" "$ifindex" && return 0
    kill -0 "$LVCAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "lvsync capture did not start: $(cat "$err")" >&2; return 1
}
# packet_socket_bound PID IFINDEX: PID has an AF_PACKET socket bound to IFINDEX
# (/proc/PID/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode).
packet_socket_bound() {
  local inodes
  inodes=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n')
  [ -n "$inodes" ] || return 1
  awk -v ifx="$2" 'NR == FNR { want[$1] = 1; next } FNR > 1 && $5 == ifx && ($9 in want) { found = 1 } END { exit !found }' \
    <(echo "$inodes") "/proc/$1/net/packet"
}
# stop_lvsync_capture: SIGTERM (lvsync flushes every line: nothing is lost;
# SIGINT would not do: a background job of a script ignores it); the status
# is lvsync's: 143 if the signal stopped it, 0 if it had ended by itself.
stop_lvsync_capture() {
  local rc=0
  [ -n "$LVCAP_PID" ] || return 0
  kill -TERM "$LVCAP_PID" 2>/dev/null || true
  wait "$LVCAP_PID" || rc=$?
  LVCAP_PID=
  return $rc
}
# wait_lvsync_capture SECS: wait (at most SECS) for it to stop by itself; the
# status is lvsync's (124 if it had to be killed).
wait_lvsync_capture() {
  local rc=0
  for _ in $(seq $(($1 * 10))); do kill -0 "$LVCAP_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$LVCAP_PID" 2>/dev/null; then
    kill "$LVCAP_PID" 2>/dev/null || true; wait "$LVCAP_PID" 2>/dev/null || true; rc=124
  else
    wait "$LVCAP_PID" || rc=$?
  fi
  LVCAP_PID=
  return $rc
}

# make_traffic: established TCP/SCTP conns kept open (until lab_down), then
# the UDP flows. Fails if a real server did not answer.
make_traffic() {
  local log=$LOGDIR/traffic.log
  ip netns exec client "$PY" "$LAB/lib/traffic.py" hold 600 > "$log" 2>&1 &
  BG_PIDS+=($!)
  for _ in $(seq 300); do grep -q '^ready' "$log" && break; sleep 0.1; done
  ip netns exec client "$PY" "$LAB/lib/traffic.py" udp >> "$log" 2>&1
  if ! grep -q '^ready' "$log" || grep -q 'error' "$log" ||
     awk '$2 ~ /^[0-9]+\/[0-9]+$/ { split($2, a, "/"); if (a[1] != a[2]) bad = 1 } END { exit !bad }' "$log"; then
    echo "traffic: not every real server answered:" >&2; cat "$log" >&2; return 1
  fi
}

# wait_flush PCAP: the kernel sends a partly filled buffer once it is 2 s old
# (checked every second, slower under TCG): wait at least 6 s, then until the
# capture has not grown for 3 s (at most 40 s in all).
wait_flush() {
  local t=6 a b
  sleep 6
  while [ $t -lt 40 ]; do
    a=$(stat -c %s "$1"); sleep 3; b=$(stat -c %s "$1"); t=$((t + 3))
    [ "$a" = "$b" ] && return 0
  done
}
