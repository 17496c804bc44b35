#!/bin/bash
# Connection mirroring by the daemon, `lvsync run`, against the real kernel (run INSIDE the guest):
#   mirror.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# dirA runs `lvsync run` as the active director (it starts the kernel master sync daemon on lvsync0 and captures
# it), dirB as the standby (it starts the kernel backup daemon and injects what arrives over mutual TLS). The
# reference is always the kernel: every syncable entry of dirA's /proc/net/ip_vs_conn must be in dirB's
# /proc/net/ip_vs_conn_sync with Origin SYNC and the same state, and nothing else (lib/compare.py backup).
#
#   mirror-active-start      dirA's lvsync listens and started the kernel master daemon (ipvsadm -L --daemon)
#   mirror-late-standby      traffic of every kind through dirA BEFORE dirB's lvsync exists; then dirB's lvsync
#                            starts, starts the kernel backup daemon, receives a snapshot holding at least every
#                            syncable connection dirA had, and dirB's kernel holds every live connection of dirA
#   mirror-pedata            the SIP templates on dirB carry dirA's Call-IDs (pe_data)
#   mirror-stream            new flows made once the link is up reach dirB (the stream after the snapshot)
#   mirror-standby-restart   SIGTERM stops dirB's lvsync gracefully (exit 0, "lvsync stopped"); flows made while
#                            it is down reach dirB once it is back (a new process has no stream: a snapshot)
#   mirror-resume            the link cut (nftables drops port 7788 in dirB) until both sides declare it dead, new
#                            flows meanwhile, the link restored: the standby resumes the stream ("stream resumed",
#                            no new snapshot) and the flows made during the cut reach dirB
#   mirror-active-restart    dirA's lvsync stopped (exit 0) and flows made while it is down (nobody captures the
#                            kernel master then); the new active seeds its table from /proc ("mirror table
#                            seeded", connections > 0), the standby takes a fresh snapshot (a new stream), and
#                            dirB holds everything again, those flows included
#   mirror-refuses-stranger  a lvsync whose certificate (same CA) names mallory, not a peer of dirA, and a client
#                            whose certificate for "dirb" comes from another CA are refused ("refused a peer":
#                            wrong_identity, unknown_ca); neither ever links
# Each check prints one line "PASS name" or "FAIL name: reason".
set -euo pipefail
OUT=$(realpath "${1:?usage: mirror.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
[ -x "$LVSYNC" ] || { fail mirror "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log" "$OUT/tables"; LOGDIR=$OUT/log
LOG_LEVEL=${LOG_LEVEL:-info}   # lvsync run --log-level
T0=$SECONDS
# the daemons: start_lvsync, stop_lvsync, LV_PID, say, tail_log, pair_cleanup (the configs are this scenario's own:
# fixed roles, no election)
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
# diagnose TAG: when a daemon does not do what it should, the sockets and every lvsync's threads (gdb, if there is
# one; it stops each process for a moment) into OUT/log/diagnose-TAG.txt
diagnose() {
  local n
  {
    for d in dirA dirB client; do echo "== $d"; ip netns exec $d ss -tanp 2>&1; done
    for n in "${!LV_PID[@]}"; do
      echo "== $n (pid ${LV_PID[$n]})"
      if command -v gdb > /dev/null; then
        timeout 60 gdb -p "${LV_PID[$n]}" -batch -ex 'thread apply all bt 20' 2>&1 | grep -E '^(Thread|#)' || true
      fi
    done
  } > "$OUT/log/diagnose-$1.txt" 2>&1
}
trap pair_cleanup EXIT

# count LOG PATTERN: lines of LOG matching PATTERN (0 if none or no file)
count() { local n; n=$(grep -c -- "$2" "$1" 2>/dev/null || true); echo "${n:-0}"; }
# wait_log LOG PATTERN SECS [N] [PID]: until LOG has N (default 1) lines matching PATTERN; fails after SECS, or at
# once when PID (the lvsync writing LOG) has ended
wait_log() {
  local n=${4:-1} pid=${5:-}
  for _ in $(seq $(($3 * 10))); do
    [ "$(count "$1" "$2")" -ge "$n" ] && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ "$(count "$1" "$2")" -ge "$n" ] && return 0
      return 1
    fi
    sleep 0.1
  done
  return 1
}
# last_field LOG PATTERN KEY: the value of KEY=... on the last line of LOG matching PATTERN
last_field() { grep -- "$2" "$1" 2>/dev/null | tail -n 1 | grep -oE "(^| )$3=[^ ]*" | head -n 1 | cut -d= -f2 || true; }

# ---- the tables ----
# tables TAG: dirA's ip_vs_conn and dirB's ip_vs_conn_sync and ip_vs_conn, read together, into OUT/tables/TAG.*
tables() {
  ip netns exec dirA cat /proc/net/ip_vs_conn > "$OUT/tables/$1.dirA.conn"
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$OUT/tables/$1.dirB.sync"
  ip netns exec dirB cat /proc/net/ip_vs_conn > "$OUT/tables/$1.dirB.conn"
}
# mirrored TAG SECS: until dirB holds every syncable entry of dirA (compare.py backup passes), at most SECS; the
# last comparison's output is in OUT/tables/TAG.compare (its PASS/FAIL line names the check "mirrored")
mirrored() {
  local end=$((SECONDS + $2))
  while :; do
    tables "$1"
    if "$PY" "$LAB/lib/compare.py" backup mirrored 1 "$OUT/tables/$1.dirA.conn" "$OUT/tables/$1.dirB.sync" \
      > "$OUT/tables/$1.compare"; then
      return 0
    fi
    [ $SECONDS -lt $end ] || return 1
    sleep 1
  done
}
# verdict TAG / info TAG: the comparison's verdict without its name ("" when it passed), and its info lines, indented
verdict() { grep -E '^FAIL ' "$OUT/tables/$1.compare" | sed 's/^FAIL mirrored: //' || true; }
info() { grep -E '^  ' "$OUT/tables/$1.compare" || true; }
# syncable TAG: how many entries of dirA's table the kernel would sync (what the standby must hold)
syncable() {
  "$PY" - "$LAB/lib" "$OUT/tables/$1.dirA.conn" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import compare
print(len(compare.expected(compare.read_proc(sys.argv[2]), 1)[0]))
PY
}
# udp_round N: new UDP/SIP/IPv6 flows (source ports and Call-IDs shifted by N); fails if a server did not answer
udp_round() {
  ip netns exec client "$PY" "$LAB/lib/traffic.py" udp "$1" > "$LOGDIR/udp-$1.log" 2>&1 &&
    ! awk '{ split($2, a, "/"); if (a[1] != a[2]) bad = 1 } END { exit !bad }' "$LOGDIR/udp-$1.log"
}
# flows_on_dirB TAG N: dirB's sync entries from the client ports of round N (udp4 40000+N.., udp6 41000+N..)
flows_on_dirB() {
  local ports
  ports=$(printf '%04X|' $((40000 + $2)) $((40001 + $2)) $((40002 + $2)) $((40003 + $2)) $((40004 + $2)) \
    $((41000 + $2)) $((41001 + $2)) $((41002 + $2)))
  grep -cE "^UDP +[0-9A-Fa-f:]+ +(${ports%|}) " "$OUT/tables/$1.dirB.sync" || true
}

# ---- 1. topology; no kernel sync daemon yet ----
lab_up
for d in dirA dirB; do
  if [ -n "$(ip netns exec $d ipvsadm -L --daemon)" ]; then
    ip netns exec $d ipvsadm --stop-daemon master 2>/dev/null || true
    ip netns exec $d ipvsadm --stop-daemon backup 2>/dev/null || true
  fi
  [ -z "$(ip netns exec $d ipvsadm -L --daemon)" ] || { fail mirror "a sync daemon still runs in $d"; exit 1; }
done
say "topology up, no kernel sync daemon on either director"

# ---- 2. certificates and configs ----
"$LVSYNC" certs init "$OUT/pki" --node dira --node dirb --node mallory > "$LOGDIR/certs.log" 2>&1
"$LVSYNC" certs init "$OUT/pki2" --node dirb > "$LOGDIR/certs2.log" 2>&1
# config NODE ROLE ADDRESS PEER PEER_ADDRESS [LISTEN] [PKI]
config() {
  local pki=${7:-$OUT/pki}
  {
    echo "node: $1"
    [ -z "${6:-}" ] || echo "listen: $6"
    echo "peers:"
    echo "  - { name: $4, address: \"$5\" }"
    echo "tls:"
    echo "  ca: $pki/ca.pem"
    echo "  certificate: $pki/$1.pem"
    echo "  key: $pki/$1-key.pem"
    echo "sync: { role: $2, interface: lvsync0, address: $3, syncid: $SYNCID }"
    echo "timers: { heartbeat_ms: 100, dead_ms: 1000 }"
    echo "limits: { hello_timeout_ms: $LAB_HELLO_TIMEOUT_MS }"
  } > "$OUT/$1.yaml"
}
config dira active 169.254.77.1 dirb 10.0.0.3:7788 10.0.0.2:7788
config dirb standby 169.254.77.2 dira 10.0.0.2:7788

# ---- 3. the active director ----
start_lvsync dira dirA --log-level "$LOG_LEVEL"
if wait_log "$LOGDIR/dira.log" 'listening for standbys' 60 1 "${LV_PID[dira]}"; then
  daemons=$(ip netns exec dirA ipvsadm -L --daemon)
  say "dirA: $(tr '\n' ' ' <<< "$daemons")"
  if grep -q "master sync daemon (mcast=lvsync0, syncid=$SYNCID" <<< "$daemons" &&
     ! grep -q backup <<< "$daemons" && [ "$(count "$LOGDIR/dira.log" 'started the kernel master sync daemon')" = 1 ]; then
    pass mirror-active-start "listening on 10.0.0.2:7788, the kernel master daemon runs on lvsync0 (syncid $SYNCID)"
  else
    fail mirror-active-start "ipvsadm -L --daemon in dirA: '$daemons'; log: $(tail_log "$LOGDIR/dira.log")"
  fi
else
  fail mirror-active-start "dirA's lvsync is not listening: $(tail_log "$LOGDIR/dira.log")"
  exit 1
fi

# ---- 4. traffic before the standby exists; the kernel master flushes its buffer ----
make_traffic || fail mirror-late-standby "traffic: see $LOGDIR/traffic.log"
say "traffic made: $(grep -E '^[a-z0-9]+ [0-9]+/[0-9]+' "$LOGDIR/traffic.log" | tr '\n' ' ')"
sleep 8   # the master sends a partly filled buffer once it is ~2 s old (slower under TCG)
tables before-standby
want=$(syncable before-standby)
say "dirA holds $(($(wc -l < "$OUT/tables/before-standby.dirA.conn") - 1)) entries, $want syncable; dirB: $(($(wc -l < "$OUT/tables/before-standby.dirB.sync") - 1)) sync entries"

# ---- 5. the late standby: a snapshot, then dirB's kernel holds every live connection of dirA ----
start_lvsync dirb dirB --log-level "$LOG_LEVEL"
t_start=$SECONDS
problem=""
if ! wait_log "$LOGDIR/dirb.log" 'snapshot received' 60 1 "${LV_PID[dirb]}"; then
  problem="no snapshot received in 60 s: $(tail_log "$LOGDIR/dirb.log")"
fi
snap=$(last_field "$LOGDIR/dirb.log" 'receiving a snapshot' snapshot.entries)
reason=$(grep 'receiving a snapshot' "$LOGDIR/dirb.log" | tail -n 1 | sed -n 's/.* reason=\(.*\) snapshot\.base_sequence=.*/\1/p')
daemons=$(ip netns exec dirB ipvsadm -L --daemon)
say "dirB: $(tr '\n' ' ' <<< "$daemons"); snapshot of ${snap:-?} entries ($reason)"
if [ -z "$problem" ]; then
  if ! grep -q "backup sync daemon (mcast=lvsync0, syncid=$SYNCID" <<< "$daemons"; then
    problem="no kernel backup daemon in dirB: '$daemons'"
  elif [ -z "$snap" ] || [ "$snap" -lt "$want" ]; then
    problem="the snapshot held ${snap:-?} entries, dirA had $want syncable ones before dirB started"
  elif ! mirrored late 60; then
    problem="after 60 s: $(verdict late)"
  fi
fi
[ -e "$OUT/tables/late.compare" ] && info late
check mirror-late-standby "a snapshot of $snap entries; dirB holds every syncable connection of dirA ($(($(wc -l < "$OUT/tables/late.dirB.sync") - 1)) Origin SYNC) $((SECONDS - t_start)) s after its lvsync started" -- no_problem "$problem"
if [ -e "$OUT/tables/late.dirA.conn" ]; then
  "$PY" "$LAB/lib/compare.py" pedata mirror-pedata "$OUT/tables/late.dirA.conn" "$OUT/tables/late.dirB.conn" || true
else
  fail mirror-pedata "no tables were read"
fi

# ---- 6. the stream: new flows once the link is up ----
snaps_before=$(count "$LOGDIR/dirb.log" 'receiving a snapshot')
if ! udp_round 100; then
  fail mirror-stream "traffic: $(tr '\n' ' ' < "$LOGDIR/udp-100.log")"
elif mirrored stream 30; then
  n=$(flows_on_dirB stream 100)
  if [ "$n" -ge 8 ] && [ "$(count "$LOGDIR/dirb.log" 'receiving a snapshot')" = "$snaps_before" ]; then
    pass mirror-stream "$n new UDP flows (and their templates) reached dirB over the link, no new snapshot"
  else
    fail mirror-stream "$n of 8 new UDP flows on dirB, or a new snapshot was taken"
  fi
else
  info stream
  fail mirror-stream "after 30 s: $(verdict stream)"
fi

# ---- 7a. the standby restarted: graceful stop, flows while it is down, back with a snapshot ----
rc=0; stop_lvsync dirb || rc=$?
stopped=$(count "$LOGDIR/dirb.log" 'lvsync stopped')
udp_ok=1; udp_round 200 || udp_ok=0
sleep 4   # the kernel master's buffer goes out: dirA's lvsync logs it, nobody receives it yet
LV_LOG=$LOGDIR/dirb-2.log start_lvsync dirb dirB --log-level "$LOG_LEVEL"
problem=""
if [ $rc != 0 ] || [ "$stopped" != 1 ]; then
  problem="SIGTERM: exit $rc, 'lvsync stopped' logged $stopped time(s): $(tail_log "$LOGDIR/dirb.log")"
elif [ $udp_ok = 0 ]; then
  problem="traffic: $(tr '\n' ' ' < "$LOGDIR/udp-200.log")"
elif ! wait_log "$LOGDIR/dirb-2.log" 'connected to the active director' 30 1 "${LV_PID[dirb]}"; then
  diagnose standby-restart
  problem="the restarted standby did not link within 30 s (see log/diagnose-standby-restart.txt): $(tail_log "$LOGDIR/dirb-2.log")"
elif ! wait_log "$LOGDIR/dirb-2.log" 'snapshot received' 60 1 "${LV_PID[dirb]}"; then
  problem="no snapshot after the restart: $(tail_log "$LOGDIR/dirb-2.log")"
elif ! mirrored standby-restart 30; then
  info standby-restart
  problem="after 30 s: $(verdict standby-restart)"
elif [ "$(flows_on_dirB standby-restart 200)" -lt 8 ]; then
  problem="$(flows_on_dirB standby-restart 200) of 8 flows made while dirB was down"
fi
check mirror-standby-restart "exit 0 on SIGTERM; back with a snapshot of $(last_field "$LOGDIR/dirb-2.log" 'receiving a snapshot' snapshot.entries) entries; the flows made while it was down are on dirB" -- no_problem "$problem"

# ---- 7b. the link cut and restored: the stream resumes ----
closed_before=$(count "$LOGDIR/dirb-2.log" 'link to the active director closed')
snaps_before=$(count "$LOGDIR/dirb-2.log" 'receiving a snapshot')
resumed_before=$(count "$LOGDIR/dirb-2.log" 'stream resumed')
ip netns exec dirB nft -f - <<'NFT'
table inet lvsync_cut {
  chain in { type filter hook input priority 0; tcp sport 7788 drop; }
  chain out { type filter hook output priority 0; tcp dport 7788 drop; }
}
NFT
problem=""
if ! wait_log "$LOGDIR/dirb-2.log" 'link to the active director closed' 15 $((closed_before + 1)); then
  problem="dirB did not declare the link dead within 15 s of the cut"
fi
udp_ok=1; udp_round 300 || udp_ok=0
sleep 4   # the kernel master's buffer goes out; dirA's lvsync keeps the batch in its log
ip netns exec dirB nft delete table inet lvsync_cut
t_restored=$SECONDS
if [ -z "$problem" ]; then
  if [ $udp_ok = 0 ]; then
    problem="traffic: $(tr '\n' ' ' < "$LOGDIR/udp-300.log")"
  elif ! wait_log "$LOGDIR/dirb-2.log" 'stream resumed' 30 $((resumed_before + 1)) "${LV_PID[dirb]}"; then
    problem="no 'stream resumed' within 30 s of the link's return: $(tail_log "$LOGDIR/dirb-2.log")"
  elif [ "$(count "$LOGDIR/dirb-2.log" 'receiving a snapshot')" != "$snaps_before" ]; then
    problem="the standby took a new snapshot instead of resuming: $(grep 'receiving a snapshot' "$LOGDIR/dirb-2.log" | tail -n 1 | cut -c1-300)"
  elif ! mirrored resume 30; then
    info resume
    problem="after 30 s: $(verdict resume)"
  elif [ "$(flows_on_dirB resume 300)" -lt 8 ]; then
    problem="$(flows_on_dirB resume 300) of 8 flows made during the cut"
  fi
fi
check mirror-resume "link dead on both sides ($(last_field "$LOGDIR/dirb-2.log" 'link to the active director closed' reason)), resumed at sequence $(last_field "$LOGDIR/dirb-2.log" 'stream resumed' next_sequence) $((SECONDS - t_restored)) s after it came back; the flows made during the cut are on dirB" -- no_problem "$problem"

# ---- 8. the active restarted: flows while nobody captures, seeded from /proc, a fresh snapshot ----
snaps_before=$(count "$LOGDIR/dirb-2.log" 'receiving a snapshot')
rc=0; stop_lvsync dira || rc=$?
stopped=$(count "$LOGDIR/dira.log" 'lvsync stopped')
udp_ok=1; udp_round 400 || udp_ok=0
sleep 4   # the kernel master sends these flows to nobody
LV_LOG=$LOGDIR/dira-2.log start_lvsync dira dirA --log-level "$LOG_LEVEL"
problem=""
if [ $rc != 0 ] || [ "$stopped" != 1 ]; then
  problem="SIGTERM: exit $rc, 'lvsync stopped' logged $stopped time(s): $(tail_log "$LOGDIR/dira.log")"
elif [ $udp_ok = 0 ]; then
  problem="traffic: $(tr '\n' ' ' < "$LOGDIR/udp-400.log")"
elif ! wait_log "$LOGDIR/dira-2.log" 'listening for standbys' 60 1 "${LV_PID[dira]}"; then
  problem="the new active is not listening: $(tail_log "$LOGDIR/dira-2.log")"
fi
seeded=$(last_field "$LOGDIR/dira-2.log" 'mirror table seeded' connections)
if [ -z "$problem" ]; then
  if [ -z "$seeded" ] || [ "$seeded" -eq 0 ]; then
    problem="no 'mirror table seeded' with connections > 0: $(grep -m1 'seed' "$LOGDIR/dira-2.log" | cut -c1-300)"
  elif ! wait_log "$LOGDIR/dirb-2.log" 'snapshot received' 60 $((snaps_before + 1)) "${LV_PID[dirb]}"; then
    problem="the standby got no new snapshot: $(tail_log "$LOGDIR/dirb-2.log")"
  elif ! grep 'receiving a snapshot' "$LOGDIR/dirb-2.log" | tail -n 1 | grep -q 'is not the current one'; then
    problem="the new snapshot is not for a new stream: $(grep 'receiving a snapshot' "$LOGDIR/dirb-2.log" | tail -n 1 | cut -c1-300)"
  elif ! mirrored active-restart 30; then
    info active-restart
    problem="after 30 s: $(verdict active-restart)"
  elif [ "$(flows_on_dirB active-restart 400)" -lt 8 ]; then
    problem="$(flows_on_dirB active-restart 400) of 8 flows made while dirA's lvsync was down"
  fi
fi
check mirror-active-restart "exit 0 on SIGTERM; the new active seeded $seeded connections from /proc ($(grep -c 'sync daemon already runs' "$LOGDIR/dira-2.log" || true)x 'already runs'), the standby took a snapshot of $(last_field "$LOGDIR/dirb-2.log" 'receiving a snapshot' snapshot.entries) entries of the new stream; the flows made while nobody captured are on dirB" -- no_problem "$problem"

# ---- 9. strangers ----
refused_before=$(count "$LOGDIR/dira-2.log" 'refused a peer')
opened_before=$(count "$LOGDIR/dira-2.log" 'standby connected')
# mallory: a lvsync with a certificate of the same CA, not a peer of dirA (in the client namespace, its own dummy)
config mallory standby 169.254.77.9 dira 10.0.0.2:7788
start_lvsync mallory client --log-level "$LOG_LEVEL"
problem=""
wait_log "$LOGDIR/dira-2.log" 'refused a peer' 60 $((refused_before + 1)) || problem="mallory was not refused within 60 s: $(tail_log "$LOGDIR/mallory.log")"
wait_log "$LOGDIR/mallory.log" 'the peer was refused' 10 || true
stop_lvsync mallory || true
r1=$(grep 'refused a peer' "$LOGDIR/dira-2.log" | tail -n 1 | grep -oE 'reason=[a-z_]+' || true)
# a client whose certificate names dirb but comes from another CA
# (stdin held open: TLS 1.3 completes the client's side first, and a client that left at once would never let the
# server see its certificate)
sleep 5 | ip netns exec client timeout 20 openssl s_client -connect 10.0.0.2:7788 -tls1_3 -CAfile "$OUT/pki/ca.pem" \
  -cert "$OUT/pki2/dirb.pem" -key "$OUT/pki2/dirb-key.pem" -servername dira > "$LOGDIR/stranger.log" 2>&1 || true
wait_log "$LOGDIR/dira-2.log" 'refused a peer' 15 $((refused_before + 2)) || problem+="${problem:+; }the other CA's client was not refused: $(tail -n 3 "$LOGDIR/stranger.log" | tr '\n' ' ')"
r2=$(grep 'refused a peer' "$LOGDIR/dira-2.log" | tail -n 1 | grep -oE 'reason=[a-z_]+' || true)
opened=$(count "$LOGDIR/dira-2.log" 'standby connected')
if [ -z "$problem" ]; then
  if [ "$r1" != reason=wrong_identity ] || [ "$r2" != reason=unknown_ca ]; then
    problem="refused with $r1 (mallory, want wrong_identity) and $r2 (other CA, want unknown_ca)"
  elif [ "$opened" != "$opened_before" ]; then
    problem="dirA linked a stranger: $(grep 'standby connected' "$LOGDIR/dira-2.log" | tail -n 1 | cut -c1-300)"
  elif grep -qE 'receiving a snapshot|stream resumed' "$LOGDIR/mallory.log"; then
    # (its own "connected" line proves nothing: TLS 1.3 completes the client's side before the server has judged
    # the client's certificate)
    problem="mallory received the stream: $(grep -E 'receiving a snapshot|stream resumed' "$LOGDIR/mallory.log" | head -n 1 | cut -c1-300)"
  elif ! kill -0 "${LV_PID[dirb]}" 2>/dev/null || ! mirrored strangers 20; then
    problem="the real standby suffered: $(verdict strangers)"
  fi
fi
check mirror-refuses-stranger "mallory (same CA) refused with ${r1#reason=}, a 'dirb' of another CA with ${r2#reason=}; neither linked, dirB still mirrored" -- no_problem "$problem"

# ---- 10. both stop gracefully ----
rcb=0; stop_lvsync dirb || rcb=$?
rca=0; stop_lvsync dira || rca=$?
say "stopped: dirB exit $rcb, dirA exit $rca; $((SECONDS - T0)) s in all"
