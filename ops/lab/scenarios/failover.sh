#!/bin/bash
# Failover of an elected pair against the real kernel, lvsync beside the kernel's own sync (run INSIDE the guest):
#   failover.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync;
#                              FAILOVER_MODES: "lvsync kernel" by default)
#
# The lab topology (topo.sh: client, dirA, dirB, rs1, rs2; the directors' own link peer0) with the kernel's default
# sync thresholds (net.ipv4.vs.sync_threshold "3 50": what production runs). Each phase opens its own flows
# (lib/flows.py): 40 TCP connections to 10.0.0.100:80 (direct routing) and 4 to [fd00::100]:443 (NAT) that echo
# every 100 ms, 8 idle TCP connections (quiet after their first echoes), 6 SIP calls (persistence engine sip, the
# Call-ID in pe_data) and UDP queries to a persistent service (/24). Then the fault, then the check: every TCP
# connection must still echo, every call sent again from a new source port must reach the server that took it, a
# new UDP flow must follow the /24's template. lib/served.py on the new active times the first packet it forwards to
# a real server after the fault.
#
# lvsync: both directors run `lvsync run` with a failover section (heartbeat 100 ms, the lab's dead interval DEAD_MS, eth0 as a
# fault condition, the peer link on peer0, the UDP heartbeat path on peer0 too at the lab's LAB_UDP_INTERVAL_MS x
# LAB_UDP_MULTIPLIER: the failure detector); lvsync moves the VIPs, the kernel sync daemons and its own role.
#   failover-pair            dirA becomes active (VIPs held), dirB standby and in sync
#   failover-a-drill         `lvsync drill` on dirA: dirB takes over; nothing lost; the report's figures
#   failover-b-kill          SIGKILL of the active's lvsync (dirB): dirA takes over within the UDP path's detection
#                            time, and says so (its reason: the UDP heartbeats stopped)
#   failover-b-restart       the killed director's lvsync comes back as a standby, gives up the VIPs it left behind
#   failover-c-link-cut      dirA's link to the client network cut (the bridge side of its eth0 down): its health
#                            condition fails, it steps down, dirB takes over
#   failover-e-no-preempt    the link back: dirA (preempt off) stays a standby, the VIPs stay on dirB
#   failover-e-preempt       dirA restarted with preempt on: it takes a snapshot, and once in sync takes the VIPs back
#   failover-d-late-standby  dirB's lvsync stopped, the flows made, then dirB's lvsync started; once it is in sync
#                            dirA's lvsync is killed: dirB serves every connection made before it started
# kernel: the kernel's own sync daemons alone (master on the active, backup on the other, multicast on peer0) and
# the same phases, the takeover done by this script at the moment of the fault (an oracle: no detection time, the
# best a VRRP daemon could do); its figures are the baseline.
#   baseline-a ... baseline-e  the phase ran and its figures were measured (the survival is reported, not required)
#   baseline-d-loses         the kernel alone loses connections made before its backup started (so this scenario
#                            can tell a standby that knows them from one that does not)
# Last: failover-report, the figures side by side (OUTDIR/report.txt, OUTDIR/failover.json).
set -euo pipefail
OUT=$(realpath "${1:?usage: failover.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
MODES=${FAILOVER_MODES:-lvsync kernel}
FLOWS=${FAILOVER_FLOWS:-busy=40,busy6=4,idle=8,calls=6,udp=4,interval_ms=100}
[ -x "$LVSYNC" ] || { fail failover "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log" "$OUT/flows"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-failover   # control sockets (the guest's /tmp is writable)
mkdir -p "$SOCK"
VIPS4="10.0.0.100 10.0.0.1" VIPS6="fd00::100 fd00::1"
T0=$SECONDS
: > "$OUT/figures.txt"   # one line per phase: MODE PHASE key=value...
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
trap pair_cleanup EXIT

# ---- topology ----
topology() {
  lab_up
  for d in dirA dirB; do
    # the kernel's defaults (the lab's topology lowers them for the codec tests)
    ip netns exec $d sysctl -qw net.ipv4.vs.sync_threshold="3 50"
    ip netns exec $d ipvsadm --stop-daemon master 2>/dev/null || true
    ip netns exec $d ipvsadm --stop-daemon backup 2>/dev/null || true
  done
}
vips() {  # NS add|del: the VIPs and the NAT gateway on eth0
  local a
  for a in $VIPS4; do ip -n "$1" addr "$2" "$a/24" dev eth0 2>/dev/null || true; done
  for a in $VIPS6; do ip -n "$1" addr "$2" "$a/64" dev eth0 nodad 2>/dev/null || true; done
}

# =====================================================================================================================
# lvsync
# =====================================================================================================================
config() {  # NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS PREEMPT
  pair_config "${@:1:6}" <<EOF
failover:
  preempt: $7
  preempt_delay_ms: 500
  boot_wait_ms: $LAB_BOOT_WAIT_MS
  vips:
    - { address: 10.0.0.100/24, interface: eth0 }
    - { address: 10.0.0.1/24, interface: eth0 }
    - { address: "fd00::100/64", interface: eth0 }
    - { address: "fd00::1/64", interface: eth0 }
  announce: { count: 3, interval_ms: 100 }
  health:
    - { interface: eth0, response: fault }
$(udp_heartbeat_yaml "$3" "$4" "$5")
stats: { interval_seconds: 5 }
EOF
}

run_lvsync() {
  local problem t
  topology
  vips dirA del   # lvsync takes them
  "$LVSYNC" certs init "$OUT/pki" --node dira --node dirb > "$LOGDIR/certs.log" 2>&1
  config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1 false
  config dirb 100 10.0.1.3 dira 10.0.1.2 169.254.77.2 false
  start_lvsync dira dirA
  start_lvsync dirb dirB
  if wait_for 90 is_active dira && wait_for 60 is_synced_standby dirb && holds_vip dirA && lacks_vip dirB; then
    pass failover-pair "dirA active with the VIPs, dirB a standby in sync ($((SECONDS - T0)) s after the start)"
  else
    fail failover-pair "dirA $(status dira role)/$(status dira vips_held), dirB $(status dirb role)/in_sync $(status dirb in_sync): $(tail_log "$LOGDIR/dira.log") | $(tail_log "$LOGDIR/dirb.log")"
    stop_all_lvsync
    lab_down
    return 0
  fi

  # ---- a: the planned drill, dirA -> dirB ----
  phase_start lvsync-a
  phase_synced dirB
  served_start dirB
  lines_a=$(wc -l < "$LOGDIR/dira.log"); lines_b=$(wc -l < "$LOGDIR/dirb.log")
  fault_now
  rc=0; "$LVSYNC" drill --json --socket "$SOCK/dira.sock" > "$PH/drill.json" 2> "$PH/drill.progress" || rc=$?
  phase_check lvsync a
  problem=""
  [ $rc = 0 ] || problem+="drill exit $rc: $(cat "$PH/drill.json" "$PH/drill.progress" | head -c 400 || true); "
  wait_for 10 is_active dirb || problem+="dirB is $(status dirb role); "
  wait_for 10 is_synced_standby dira || problem+="dirA is $(status dira role), in_sync $(status dira in_sync); "
  # no bounce: the old active must not declare the new one dead while their links switch (make before break); watched
  # for a dead interval and a second more
  sleep $(( DEAD_MS / 1000 + 2 ))
  since_drill() { tail -n +$((lines_a + 1)) "$LOGDIR/dira.log"; tail -n +$((lines_b + 1)) "$LOGDIR/dirb.log"; }
  bounced=$(since_drill | grep -c "both were active\|was not heard for the dead interval\|UDP heartbeats stopped" || true)
  [ "$bounced" = 0 ] || problem+="the handover bounced: $(since_drill | grep "both were active\|was not heard\|UDP heartbeats stopped" | head -n 2 | cut -c1-200 | tr '\n' ' ' || true); "
  is_active dirb || problem+="dirB is $(status dirb role) 2 s after the drill; "
  [ "$RESULT_OK" = 1 ] || problem+="$RESULT; "
  drill=$("$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).read() or "{}")
print("handover %s ms, connections lost %s, before %s, after %s, kernels before %s, after %s, %s unacknowledged batches at the switch" % (
    r.get("handover_ms") and round(r["handover_ms"], 1), r.get("connections_lost"), r.get("connections_before"),
    r.get("connections_after"), r.get("kernel_connections_before"), r.get("kernel_connections_after"),
    r.get("unacknowledged_batches_at_switch")))' "$PH/drill.json" 2>/dev/null || echo "no report")
  # The report carries each director's kernel's own count (the standby's from its advert), not only the mirrors'.
  kernels=$("$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).read() or "{}")
k = r.get("kernel_connections_before") or {}
print("ok" if k.get("dira", 0) > 0 and k.get("dirb", 0) > 0 else "missing")' "$PH/drill.json" 2>/dev/null || echo "missing")
  [ "$kernels" = ok ] || problem+="the report lacks a kernel count of a director; "
  echo "lvsync a drill_report $(tr -d '\n' < "$PH/drill.json" | head -c 1500)" >> "$OUT/figures.txt"
  check failover-a-drill "tcp $TCP_SURV/$TCP_TOTAL survived, first packet served by dirB $(served_text) after the drill began; report: $drill" -- no_problem "$problem"

  # ---- b: SIGKILL of the active's lvsync (dirB), dirA takes over ----
  phase_start lvsync-b
  phase_synced dirA
  served_start dirA
  fault_now
  stop_lvsync dirb KILL || true
  phase_check lvsync b
  problem=""
  wait_for 10 is_active dira || problem+="dirA is $(status dira role); "
  [ "$RESULT_OK" = 1 ] || problem+="$RESULT; "
  took=$(grep -E 'took over' "$LOGDIR/dira.log" | tail -n 1 | grep -oE '(vips_added_us|announced_us|sync_master_us|total_us)=[0-9-]*' | tr '\n' ' ' || true)
  grep -q "dirb's UDP heartbeats stopped" "$LOGDIR/dira.log" || problem+="dirA did not take over on the UDP path's detection: $(grep 'election:' "$LOGDIR/dira.log" | tail -n 1 | cut -c1-200); "
  check failover-b-kill "tcp $TCP_SURV/$TCP_TOTAL survived; first packet served by dirA $(served_text) after the SIGKILL (UDP path ${LAB_UDP_INTERVAL_MS} ms x $LAB_UDP_MULTIPLIER, dead interval $DEAD_MS ms); takeover steps: ${took:-none logged}" -- no_problem "$problem"
  start_lvsync dirb dirB
  if wait_for 60 is_synced_standby dirb && wait_for 10 lacks_vip dirB && is_active dira; then
    pass failover-b-restart "the killed director's lvsync came back a standby in sync and gave up the VIPs it had left behind"
  else
    fail failover-b-restart "dirB $(status dirb role), in_sync $(status dirb in_sync), VIP on dirB: $(holds_vip dirB && echo yes || echo no)"
  fi

  # ---- c: dirA's client link cut ----
  phase_start lvsync-c
  phase_synced dirB
  served_start dirB
  fault_now
  ip link set v-dirA down
  phase_check lvsync c
  problem=""
  wait_for 10 is_active dirb || problem+="dirB is $(status dirb role); "
  st=$(status dira role)
  [ "$st" = fault ] || problem+="dirA is $st, not fault; "
  [ "$RESULT_OK" = 1 ] || problem+="$RESULT; "
  check failover-c-link-cut "dirA in fault, tcp $TCP_SURV/$TCP_TOTAL survived; first packet served by dirB $(served_text) after the cut" -- no_problem "$problem"
  ip link set v-dirA up
  # e, without preemption: dirA recovers as a standby and the VIPs stay where they are
  if wait_for 30 is_synced_standby dira; then
    sleep 3
    if is_active dirb && is_synced_standby dira && lacks_vip dirA; then
      pass failover-e-no-preempt "dirA (priority 150, preempt off) recovered as a standby and left the VIPs on dirB (priority 100) for 3 s"
    else
      fail failover-e-no-preempt "dirA $(status dira role), dirB $(status dirb role), VIP on dirA: $(holds_vip dirA && echo yes || echo no)"
    fi
  else
    fail failover-e-no-preempt "dirA did not recover as a standby in sync: $(status dira role): $(tail_log "$LOGDIR/dira.log")"
  fi

  # ---- e: dirA back with preemption on: it takes the VIPs once in sync ----
  phase_start lvsync-e
  stop_lvsync dira || true
  config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1 true
  served_start dirA
  fault_now   # the "fault" here is dirA's return: its lvsync starts now
  start_lvsync dira dirA
  wait_for 60 is_active dira || true
  phase_check lvsync e
  problem=""
  is_active dira || problem+="dirA is $(status dira role); "
  wait_for 10 is_synced_standby dirb || problem+="dirB is $(status dirb role), in_sync $(status dirb in_sync); "
  grep -q 'snapshot received' "$LOGDIR/dira.log" || problem+="dirA took no snapshot before it preempted; "
  [ "$RESULT_OK" = 1 ] || problem+="$RESULT; "
  check failover-e-preempt "dirA restarted with preempt on, in sync, took the VIPs back: tcp $TCP_SURV/$TCP_TOTAL survived; first packet served by dirA $(served_text) after its lvsync started" -- no_problem "$problem"

  # ---- d: the standby's lvsync started after the connections were made, then the active killed ----
  stop_lvsync dirb || true
  phase_start lvsync-d
  # dirB's lvsync starts once dirA's mirror holds the phase's connections (captured off its kernel master): they are
  # older than dirB's lvsync, and only the snapshot can bring them
  wait_count 30 "$(flows_tcp)" mirror_established dira 2>> "$PH/waits.txt" || say "dirA's mirror: $(tail -n 1 "$PH/waits.txt")"
  t=$SECONDS
  start_lvsync dirb dirB
  wait_for 60 is_synced_standby dirb || true
  D_WAIT=$((SECONDS - t))
  served_start dirB
  fault_now
  stop_lvsync dira KILL || true
  phase_check lvsync d
  problem=""
  wait_for 10 is_active dirb || problem+="dirB is $(status dirb role); "
  [ "$RESULT_OK" = 1 ] || problem+="$RESULT; "
  check failover-d-late-standby "dirB's lvsync started after the flows, in sync ${D_WAIT} s later; dirA killed: tcp $TCP_SURV/$TCP_TOTAL survived, first packet served by dirB $(served_text) after the SIGKILL" -- no_problem "$problem"
  say "lvsync: $(grep -c 'sync stats' "$LOGDIR/dirb.log" || true) sync stats lines on dirB; last: $(grep 'sync stats' "$LOGDIR/dirb.log" | tail -n 1 | cut -c1-400)"
  stop_lvsync dirb || true
  lab_down
}

# =====================================================================================================================
# kernel only: the kernel's sync daemons, takeovers by this script at the moment of the fault
# =====================================================================================================================
k_daemon() {  # NS master|backup|none: the one sync daemon NS runs (on peer0)
  ip netns exec "$1" ipvsadm --stop-daemon master 2>/dev/null || true
  ip netns exec "$1" ipvsadm --stop-daemon backup 2>/dev/null || true
  [ "$2" = none ] || ip netns exec "$1" ipvsadm --start-daemon "$2" --mcast-interface peer0 --syncid "$SYNCID"
}
k_take() {  # NS: becomes active, as a VRRP daemon would: VIPs, announcements, then the master daemon
  vips "$1" add
  ip netns exec "$1" "$PY" "$LAB/lib/announce.py" eth0 $VIPS4 $VIPS6 > /dev/null 2>&1 &
  k_daemon "$1" master
}
k_release() {  # NS: becomes the backup
  vips "$1" del
  k_daemon "$1" backup
}

run_kernel() {
  topology   # dirA holds the VIPs
  k_daemon dirA master
  k_daemon dirB backup
  say "kernel: dirA master, dirB backup on peer0"

  # a: planned: dirA gives up, dirB takes over
  phase_start kernel-a
  phase_synced dirB
  served_start dirB
  fault_now
  k_release dirA
  k_take dirB
  phase_check kernel a
  pass baseline-a "measured: $RESULT"

  # b: the active's failover daemon dies: its VIPs stay; dirA takes over at once
  phase_start kernel-b
  phase_synced dirA
  served_start dirA
  fault_now
  k_take dirA
  phase_check kernel b
  k_release dirB
  pass baseline-b "measured: $RESULT"

  # c: dirA's client link cut: dirB takes over at once
  phase_start kernel-c
  phase_synced dirB
  served_start dirB
  fault_now
  ip link set v-dirA down
  k_take dirB
  vips dirA del
  k_daemon dirA backup
  phase_check kernel c
  ip link set v-dirA up
  pass baseline-c "measured: $RESULT"

  # e: dirA takes the VIPs back (planned, as a preempting VRRP master would)
  phase_start kernel-e
  phase_synced dirA
  served_start dirA
  fault_now
  k_release dirB
  k_take dirA
  phase_check kernel e
  pass baseline-e "measured: $RESULT"

  # d: dirB's backup daemon started after the flows; dirA dies as long after that as lvsync's standby needed
  k_daemon dirB none
  phase_start kernel-d
  # Deliberate delays, not waits: the master's partly filled buffer goes out (2 s) before the backup starts, and the
  # backup then runs as long as lvsync's standby needed to get in sync (D_WAIT) before the fault.
  sleep 4
  k_daemon dirB backup
  sleep "${D_WAIT:-3}"
  served_start dirB
  fault_now
  k_take dirB
  phase_check kernel d
  pass baseline-d "measured: $RESULT"
  if [ -n "${TCP_SURV:-}" ] && [ "$TCP_SURV" -lt "$TCP_TOTAL" ]; then
    pass baseline-d-loses "the kernel alone lost $((TCP_TOTAL - TCP_SURV))/$TCP_TOTAL connections made before its backup started"
  else
    fail baseline-d-loses "the kernel alone kept ${TCP_SURV:-?}/${TCP_TOTAL:-?}: this scenario cannot tell a standby that knows the connections from one that does not"
  fi
  lab_down
}

for mode in $MODES; do
  say "mode $mode"
  "run_$mode"
done

# ---- the figures side by side ----
"$PY" - "$OUT/figures.txt" "$OUT/failover.json" > "$OUT/report.txt" <<'PY'
import json, re, sys
rows, drill = {}, None
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3 and parts[2] == "drill_report":
        try:
            drill = json.loads(line.split(" ", 3)[3])
        except ValueError:
            pass
        continue
    if len(parts) < 3:
        continue
    rows[(parts[0], parts[1])] = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
names = {"a": "a planned drill", "b": "b active's daemon killed", "c": "c client link cut",
         "d": "d standby started late", "e": "e comeback with preemption"}
print("%-28s | %-34s | %-34s" % ("scenario", "lvsync: tcp, calls, served, silence", "kernel only: tcp, calls, served, silence"))
for k in "abcde":
    cells = []
    for mode in ("lvsync", "kernel"):
        r = rows.get((mode, k))
        cells.append("-" if r is None else "%s %s %s ms %s ms" % (r.get("tcp"), r.get("calls"), r.get("served_ms"),
                                                                  r.get("gap_ms_max")))
    print("%-28s | %-34s | %-34s" % (names[k], cells[0], cells[1]))
if drill:
    print("drill report: handover %s ms, connections lost %s" % (drill.get("handover_ms"), drill.get("connections_lost")))
json.dump({"phases": {"%s-%s" % k: v for k, v in rows.items()}, "drill": drill}, open(sys.argv[2], "w"),
          sort_keys=True, indent=1)
PY
sed 's/^/  /' "$OUT/report.txt"
if grep -q '^lvsync' "$OUT/figures.txt"; then
  pass failover-report "the figures side by side in $OUT/report.txt"
else
  fail failover-report "no figures"
fi
