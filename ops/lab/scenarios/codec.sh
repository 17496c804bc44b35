#!/bin/bash
# lvsync's codec against the real kernel (run INSIDE the guest):
#   codec.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# For sync_version 1 and 0, as the product does it (nothing leaves the box):
# the kernel MASTER sync daemon in dirA on the dummy lvsync0, tcpdump on
# lvsync0, traffic of every kind, then
#   codec-vN-decode          `lvsync decode --pcap --json` equals, as a set of
#                            latest entries, what dirA's /proc/net/ip_vs_conn lists
#   codec-vN-replay          `lvsync replay` of that pcap into the kernel BACKUP
#                            daemon on dirB's own lvsync0 (same syncid) makes dirB's
#                            ip_vs_conn_sync list the same entries, Origin SYNC
#   codec-v1-replay-pe-data  dirB's ip_vs_conn shows the SIP templates' pe_data
# v0 carries no IPv6 and no pe_data: compare.py accounts for that.
# Each check prints one line "PASS name" or "FAIL name: reason".
set -euo pipefail
OUT=$(realpath "${1:?usage: codec.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
trap 'lab_down >/dev/null 2>&1 || true' EXIT
[ -x "$LVSYNC" ] || { echo "FAIL codec: lvsync not executable: $LVSYNC"; exit 1; }

cmp() { "$PY" "$LAB/lib/compare.py" "$@" || true; }

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
  make_traffic || echo "FAIL codec-v$v-traffic: see $LOGDIR/traffic.log"
  wait_flush "$d/sync.pcap"
  stop_capture
  ip netns exec dirA cat /proc/net/ip_vs_conn > "$d/dirA.ip_vs_conn"
  "$PY" "$LAB/lib/pcap2hex.py" "$d/sync.pcap" > "$d/sync.hex"
  echo "  v$v: captured $(grep -c . "$d/sync.hex") sync messages on dirA lvsync0"

  # (a) decode
  rc=0; "$LVSYNC" decode --pcap "$d/sync.pcap" --json > "$d/decode.jsonl" 2> "$d/decode.err" || rc=$?
  if [ $rc != 0 ]; then
    echo "FAIL codec-v$v-decode: lvsync decode exited $rc: $(head -c 300 "$d/decode.err" | tr '\n' ' ')$(grep -m1 error "$d/decode.jsonl" || true)"
  else
    cmp decoded "codec-v$v-decode" "$v" "$d/dirA.ip_vs_conn" "$d/decode.jsonl"
  fi

  # (b) replay into the kernel backup on dirB's lvsync0
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$d/dirB.before.ip_vs_conn_sync"
  rc=0
  ip netns exec dirB "$LVSYNC" replay --pcap "$d/sync.pcap" --interface lvsync0 --syncid "$SYNCID" \
    > "$d/replay.json" 2> "$d/replay.err" || rc=$?
  wait_backup
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$d/dirB.ip_vs_conn_sync"
  ip netns exec dirB cat /proc/net/ip_vs_conn > "$d/dirB.ip_vs_conn"
  echo "  v$v: replay printed: $(head -c 300 "$d/replay.json")"
  if [ $rc != 0 ]; then
    echo "FAIL codec-v$v-replay: lvsync replay exited $rc: $(head -c 300 "$d/replay.err" | tr '\n' ' ')"
  elif [ "$(wc -l < "$d/dirB.before.ip_vs_conn_sync")" -gt 1 ]; then
    echo "FAIL codec-v$v-replay: dirB had $(($(wc -l < "$d/dirB.before.ip_vs_conn_sync") - 1)) entries before the replay"
  else
    cmp backup "codec-v$v-replay" "$v" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn_sync"
  fi
  if [ "$v" = 1 ]; then
    cmp pedata "codec-v$v-replay-pe-data" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn"
  fi
  lab_down > /dev/null 2>&1
}

run_version 1
run_version 0
