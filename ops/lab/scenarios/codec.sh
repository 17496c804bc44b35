#!/bin/bash
# lvsync's codec against the real kernel (run INSIDE the guest):
#   codec.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# For sync_version 1 and 0, as the product does it (nothing leaves the box):
# the kernel MASTER sync daemon in dirA on the dummy lvsync0, tcpdump on
# lvsync0 and, alongside, `lvsync capture` (lvsync's own AF_PACKET capture),
# traffic of every kind, then
#   codec-vN-capture         `lvsync capture` printed the same messages, in the
#                            same order, as tcpdump captured (pcap2hex of its pcap);
#                            once the kernel is quiet, a 1-s capture stops by itself
#                            with nothing captured
#   codec-vN-decode          `lvsync decode --pcap --json` equals, as a set of
#                            latest entries, what dirA's /proc/net/ip_vs_conn lists
#   codec-vN-replay          `lvsync replay` of lvsync's own capture (--hex) into the kernel BACKUP
#                            daemon on dirB's own lvsync0 (same syncid) makes dirB's
#                            ip_vs_conn_sync list the same entries, Origin SYNC
#   codec-v1-replay-pe-data  dirB's ip_vs_conn shows the SIP templates' pe_data
#   codec-conns-kernel       `lvsync conns --kernel` there prints what `ipvsadm -Lnc --persistent-conn` prints
# So master kernel -> lvsync capture -> lvsync decode/encode -> backup kernel is
# all lvsync's code; tcpdump is the independent reference for the capture and
# the decode check. v0 carries no IPv6 and no pe_data: compare.py accounts for that.
# Each check prints one line "PASS name" or "FAIL name: reason".
set -euo pipefail
OUT=$(realpath "${1:?usage: codec.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
trap 'lab_down >/dev/null 2>&1 || true' EXIT
[ -x "$LVSYNC" ] || { fail codec "lvsync not executable: $LVSYNC"; exit 1; }

cmp() { "$PY" "$LAB/lib/compare.py" "$@" || true; }
# The kernel master keeps sending after the traffic (SCTP heartbeats every ~30 s
# update the SCTP conns and their neighbours in the buffer), so the two captures
# must end at the same point: once the capture is quiet the master daemon is
# stopped (it sends nothing after that, a pending buffer is dropped), then
# tcpdump and `lvsync capture` are stopped. lvsync's --seconds is only a cap
# (traffic + flush take ~15-30 s under TCG); it must still be running then.
CAPTURE_SECONDS=${CAPTURE_SECONDS:-300}

# check_capture NAME STATUS LVSYNC_HEX TCPDUMP_HEX IDLE_STATUS IDLE_HEX
#   STATUS: of the main capture, stopped by SIGTERM (143); IDLE_*: the 1-s capture
check_capture() {
  local n m first
  n=$(grep -c . "$3" || true); m=$(grep -c . "$4" || true)
  echo "  lvsync capture: $n messages, tcpdump: $m"
  if [ "$2" != 143 ]; then
    fail "$1" "lvsync capture exited $2 before it was stopped: $(head -c 300 "$LOGDIR/lvsync-capture.lvsync0.log" | tr '\n' ' ')"
  elif [ "$5" != 0 ]; then
    fail "$1" "the 1-s capture exited $5 (124: it did not stop by itself)"
  elif [ -s "$6" ]; then
    fail "$1" "the 1-s capture after the master daemon stopped printed $(grep -c . "$6") message(s)"
  elif [ "$m" = 0 ]; then
    fail "$1" "tcpdump captured no sync message"
  elif ! diff -q "$3" "$4" > /dev/null; then
    first=$(diff <(cat -n "$3") <(cat -n "$4") | grep -m1 -oE '^[<>] +[0-9]+' | grep -oE '[0-9]+$' || true)
    fail "$1" "lvsync capture has $n messages, tcpdump $m; first difference at message ${first:-?}"
  else
    pass "$1"
  fi
}

# wait_backup: until dirB's ip_vs_conn_sync stops growing (1 s steady, at most ~30 s)
wait_backup() {
  local a b
  for _ in $(seq 15); do
    a=$(ip netns exec dirB cat /proc/net/ip_vs_conn_sync | wc -l); sleep 1
    b=$(ip netns exec dirB cat /proc/net/ip_vs_conn_sync | wc -l)
    if [ "$a" = "$b" ] && [ "$b" -gt 1 ]; then return 0; fi
  done
  return 0   # the check below says what is missing
}

run_version() {
  local v=$1 d=$OUT/v$1 rc
  rm -rf "$d"; mkdir -p "$d/log"; LOGDIR=$d/log
  lab_up
  set_sync_version "$v"
  ip netns exec dirA ipvsadm --start-daemon master --mcast-interface lvsync0 --syncid "$SYNCID"
  ip netns exec dirB ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid "$SYNCID"
  start_capture dirA lvsync0 "$d/sync.pcap"
  local capstart=$SECONDS
  start_lvsync_capture dirA lvsync0 "$d/lvsync-capture.hex" "$CAPTURE_SECONDS" || true   # check_capture says why
  make_traffic || fail "codec-v$v-traffic" "see $LOGDIR/traffic.log"
  wait_flush "$d/sync.pcap"
  ip netns exec dirA ipvsadm --stop-daemon master   # from now on nothing is sent
  stop_capture
  rc=0; stop_lvsync_capture || rc=$?
  echo "  v$v: traffic and flush took $((SECONDS - capstart)) s"
  ip netns exec dirA cat /proc/net/ip_vs_conn > "$d/dirA.ip_vs_conn"
  "$PY" "$LAB/lib/pcap2hex.py" "$d/sync.pcap" > "$d/sync.hex"
  echo "  v$v: tcpdump captured $(grep -c . "$d/sync.hex") sync messages on dirA lvsync0"

  # (0) lvsync's own capture; then a 1-s one that must stop by itself, empty
  local irc=0
  ip netns exec dirA timeout -k 5 60 "$LVSYNC" capture --interface lvsync0 --seconds 1 \
    > "$d/lvsync-capture-idle.hex" 2>> "$LOGDIR/lvsync-capture.lvsync0.log" || irc=$?
  check_capture "codec-v$v-capture" "$rc" "$d/lvsync-capture.hex" "$d/sync.hex" "$irc" "$d/lvsync-capture-idle.hex"

  # (a) decode
  rc=0; "$LVSYNC" decode --pcap "$d/sync.pcap" --json > "$d/decode.jsonl" 2> "$d/decode.err" || rc=$?
  if [ $rc != 0 ]; then
    fail "codec-v$v-decode" "lvsync decode exited $rc: $(head -c 300 "$d/decode.err" | tr '\n' ' ')$(grep -m1 error "$d/decode.jsonl" || true)"
  else
    cmp decoded "codec-v$v-decode" "$v" "$d/dirA.ip_vs_conn" "$d/decode.jsonl"
  fi

  # (b) replay into the kernel backup on dirB's lvsync0
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$d/dirB.before.ip_vs_conn_sync"
  rc=0
  ip netns exec dirB "$LVSYNC" replay --hex "$d/lvsync-capture.hex" --interface lvsync0 --syncid "$SYNCID" \
    > "$d/replay.json" 2> "$d/replay.err" || rc=$?
  wait_backup
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$d/dirB.ip_vs_conn_sync"
  ip netns exec dirB cat /proc/net/ip_vs_conn > "$d/dirB.ip_vs_conn"
  echo "  v$v: replay printed: $(head -c 300 "$d/replay.json")"
  if [ $rc != 0 ]; then
    fail "codec-v$v-replay" "lvsync replay exited $rc: $(head -c 300 "$d/replay.err" | tr '\n' ' ')"
  elif [ "$(wc -l < "$d/dirB.before.ip_vs_conn_sync")" -gt 1 ]; then
    fail "codec-v$v-replay" "dirB had $(($(wc -l < "$d/dirB.before.ip_vs_conn_sync") - 1)) entries before the replay"
  else
    cmp backup "codec-v$v-replay" "$v" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn_sync"
  fi
  if [ "$v" = 1 ]; then
    cmp pedata "codec-v$v-replay-pe-data" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn"
    # lvsync conns --kernel against ipvsadm -Lnc --persistent-conn on the table just replayed (nothing else comes or
    # goes there): the same lines but for the expire column, which ticks between the two reads.
    ip netns exec dirB ipvsadm -Lnc --persistent-conn > "$d/dirB.ipvsadm-Lnc"
    ip netns exec dirB "$LVSYNC" conns --kernel > "$d/dirB.conns-kernel.txt" 2> "$d/dirB.conns-kernel.err"
    masked() { sed -E 's/^(\S+ +)[0-9]+:[0-9]+ /\1--:-- /' "$1"; }
    rows=$(($(wc -l < "$d/dirB.ipvsadm-Lnc") - 2))
    if [ "$rows" -gt 10 ] && diff <(masked "$d/dirB.ipvsadm-Lnc") <(masked "$d/dirB.conns-kernel.txt") > "$d/conns-kernel.diff"; then
      pass codec-conns-kernel "lvsync conns --kernel prints what ipvsadm -Lnc --persistent-conn prints ($rows entries, SIP pe_data included; the expire column aside)"
    else
      fail codec-conns-kernel "$rows entries; the difference: $(head -c 600 "$d/conns-kernel.diff" | tr '\n' '|') $(head -c 200 "$d/dirB.conns-kernel.err")"
    fi
  fi
  lab_down > /dev/null 2>&1
}

run_version 1
run_version 0
