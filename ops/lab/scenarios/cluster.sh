#!/bin/bash
# A cluster of active directors behind a router's ECMP, against the real kernel (run INSIDE the guest):
#   cluster.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# Its own topology (namespaces named c*, m*: it runs beside nothing else): a client (ccl 10.9.0.10) behind a router
# (crt), and on one bridge behind the router (10.9.1.0/24) four members m1-m4 (.11-.14) and three real servers
# crs1-crs3 (.21-.23, direct routing: the VIP 192.0.2.10 on their lo, ARP for it suppressed, an echo server on :80).
# The router sends the VIP's flows over a kernel ECMP route with an L4 hash (fib_multipath_hash_policy 1) to the
# members that announce it. With lvsync that route is FRR's (lib/frr.sh: zebra, bgpd and bfdd on the router and on
# every member, eBGP with BFD, the examples' configuration): lvsync puts the VIP's route in a member's table 200 once
# it is in sync and takes it out first on a planned stop, the member's FRR announces the table, the router's FRR
# makes one ECMP route of the announcements, and BFD takes a dead member out. The baselines have no announcer: this
# script sets the same route by hand at the same moments. Each member: the VIP, TCP 192.0.2.10:80 rr (a
# non-consistent scheduler: a flow that moves survives only if the new member knows it) and, for the fingerprint,
# TCP 192.0.2.10:81 mh; sloppy_tcp on in every mode.
#
# Each mode runs the same phases with fresh flows (lib/cluster_flows.py: 30 TCP connections echoing every 200 ms,
# 12 idle ones quiet after three echoes, 8 UDP flows to :53 (rr, no persistence: the connection entry keeps each on
# its server) and 6 SIP calls to :5060 (rr, persistent, the SIP engine: each call from two source ports, which ECMP
# spreads over the members, so only the Call-ID template keeps a call on one server)), each checked by one more
# exchange on every flow:
#   (a) kill   m1 dies (its lvsync SIGKILLed, its link down) and leaves the route; its flows move to m2 and m3
#   (b) drain  m2 is stopped as planned: out of the route first, stopped after the drain; its flows move to m3
#   (c) join   m4 starts late, takes the cluster's connections, then enters the route: flows move to it
# lvsync: every member runs `lvsync run` with a cluster section (examples/cluster-a.yaml's shape) that announces
# the VIP through table 200, and FRR. So lvsync decides when a member enters the route (once in sync) and when it
# leaves it on a planned stop (withdrawn at SIGTERM, then the drain); BFD decides for a dead one. The router's route
# is read from its kernel (what FRR installed), every change logged with its time (LOGDIR/routes.log).
#   cluster-members        the three members link to one another, each taking both others' streams
#   cluster-daemons        each member's kernel runs a master and a backup sync daemon (ipvsadm -L --daemon)
#   cluster-fingerprint    the mh service's scheduling fingerprint is equal on every member, though m2's kernel held
#                          the service with another history before lvsync started
#   cluster-sync           every member's kernel holds every connection of the batch; each is LOCAL on one member
#                          (/proc/net/ip_vs_conn_sync), and what each member streams is what its own traffic made
#   cluster-announce       m1-m3 announce the VIP (m4, never started, waited for LAB_ANNOUNCE_WAIT_MS): the
#                          router's FRR has three established BGP sessions with BFD up, and one route over three
#   cluster-routing-status each member's lvsync status shows its FRR's BGP session (one prefix sent) and BFD up
#   cluster-a-bfd          m1's link down and its lvsync and FRR killed (a dead machine: no BGP notification): BFD
#                          ends the router's session (its bgpd's log) and the route leaves the router's kernel
#   cluster-a-kill         0 connections broken when m1 dies
#   cluster-b-withdrawn, cluster-b-drain   m2's SIGTERM withdraws its route first; 0 broken through its drain
#   cluster-c-announce, cluster-c-holds, cluster-c-join   m4 announces once in sync, holds the batch when it enters
#                          the route; 0 broken when flows move to it
#   cluster-d-drill, cluster-d-back, cluster-d-flows   `lvsync drill --member m4`: its routes out for 12 s (its
#                          kernel's inbound packets stop: the report says when), then back; 0 lost, 0 broken
# With LAB_CLUSTER_BASELINES=1 (run-tests.sh passes it; BENCHMARKS.md's figures), the baselines through the same
# phases: none: no sync at all; kernel: the kernel's own sync daemons, master and backup on every member, multicast on
# the bridge (m4's started when it joins). Their broken connections are measured and reported, not required:
#   cluster-baseline-none-a, -none-b, -none-c, -kernel-a, -kernel-b, -kernel-c
# Then cluster-report (OUTDIR/report.txt: the broken connections of every mode and phase side by side), and last
#   cluster-scale          m1-m3 (a release build: LVSYNC_RELEASE) take tens of thousands of new UDP flows through the
#                          router (6 000 a second for 8 s by default): every member's kernel ends holding every one
set -euo pipefail
OUT=$(realpath "${1:?usage: cluster.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
[ -x "$LVSYNC" ] || { fail cluster "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log" "$OUT/flows"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-cluster   # control sockets (the guest's /tmp is writable)
mkdir -p "$SOCK"
T0=$SECONDS
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
# shellcheck source=ops/lab/lib/frr.sh
source "$LAB/lib/frr.sh"
VIP=192.0.2.10
MEMBERS="m1 m2 m3 m4"
SERVERS="crs1 crs2 crs3"
NSS="ccl crt $MEMBERS $SERVERS"
BUSY=${CLUSTER_BUSY:-30} IDLE=${CLUSTER_IDLE:-12} UDPF=${CLUSTER_UDP:-8} CALLS=${CLUSTER_CALLS:-6}
TOTAL=$((BUSY + IDLE + UDPF + CALLS))
# The announcement's timers, scaled for the emulated guest (production defaults: 10 s and 5 s): how long an
# unreachable member holds the first announcement back, and how long a planned stop drains after the withdrawal (the
# route follower below moves the router within a second; the guest's processes are slow to move their flows).
LAB_ANNOUNCE_WAIT_MS=${LAB_ANNOUNCE_WAIT_MS:-8000}
LAB_DRAIN_MS=${LAB_DRAIN_MS:-5000}
: > "$OUT/report.txt"
addr() { case $1 in m*) echo "10.9.1.1${1#m}" ;; crs*) echo "10.9.1.2${1#crs}" ;; crt) echo 10.9.1.1 ;; esac; }

cluster_down() {
  local ns
  stop_all_lvsync
  for ns in crt $MEMBERS; do frr_stop "$ns" KILL; done
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  for ns in $NSS; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip link del "c-$ns" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del cbr0 2>/dev/null || true
}
trap cluster_down EXIT

cluster_up() {
  local ns
  for m in ip_vs ip_vs_rr ip_vs_mh ip_vs_pe_sip dummy veth bridge; do modprobe "$m" 2>/dev/null || true; done
  ip link add cbr0 type bridge
  ip link set cbr0 up
  for ns in $NSS; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ip link add eth0 netns ccl type veth peer name eth1 netns crt
  ip -n ccl addr add 10.9.0.10/24 dev eth0
  ip -n ccl link set eth0 up
  ip -n ccl route add default via 10.9.0.1
  ip -n crt addr add 10.9.0.1/24 dev eth1
  ip -n crt link set eth1 up
  for ns in crt $MEMBERS $SERVERS; do
    ip link add "c-$ns" type veth peer name eth0 netns "$ns"
    ip link set "c-$ns" master cbr0 up
    ip -n "$ns" addr add "$(addr "$ns")/24" dev eth0
    ip -n "$ns" link set eth0 up
    [ "$ns" = crt ] || ip -n "$ns" route add default via 10.9.1.1
  done
  ip netns exec crt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
  for ns in $SERVERS; do
    ip -n "$ns" addr add "$VIP/32" dev lo
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    ip netns exec "$ns" "$PY" "$LAB/lib/cluster_flows.py" serve 80 "$ns" "$VIP" > "$LOGDIR/$ns.log" 2>&1 &
    BG_PIDS+=($!)
  done
  for ns in $MEMBERS; do
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.sloppy_tcp=1
  done
}
# route M...: the router's ECMP route to the VIP over members M
route() {
  local hops=() m
  for m in "$@"; do hops+=(nexthop via "$(addr "$m")"); done
  ip -n crt route replace "$VIP/32" "${hops[@]}"
}
# services NS: the VIP on lo and the two services, by ipvsadm (the baselines; lvsync's own file has the same)
services() {
  ip -n "$1" addr add "$VIP/32" dev lo 2>/dev/null || true
  ip netns exec "$1" ipvsadm -C
  ip netns exec "$1" ipvsadm -A -t "$VIP:80" -s rr
  ip netns exec "$1" ipvsadm -A -t "$VIP:81" -s mh
  ip netns exec "$1" ipvsadm -A -u "$VIP:53" -s rr
  ip netns exec "$1" ipvsadm -A -u "$VIP:5060" -s rr -p 60 --pe sip
  for rs in $SERVERS; do
    ip netns exec "$1" ipvsadm -a -t "$VIP:80" -r "$(addr "$rs"):80" -g
    ip netns exec "$1" ipvsadm -a -t "$VIP:81" -r "$(addr "$rs"):80" -g
    ip netns exec "$1" ipvsadm -a -u "$VIP:53" -r "$(addr "$rs"):53" -g
    ip netns exec "$1" ipvsadm -a -u "$VIP:5060" -r "$(addr "$rs"):5060" -g
  done
}
# templates_in TAG M...: every member M's kernel holds the template of every call of batch TAG (its Call-ID as the
# SIP engine's pe_data in /proc/net/ip_vs_conn)
templates_in() {
  local tag=$1 m n; shift
  for m in "$@"; do
    n=$(ip netns exec "$m" cat /proc/net/ip_vs_conn | grep -o " sip $tag-call-[0-9]*@" | sort -u | wc -l)
    [ "$n" -ge "$CALLS" ] || return 1
  done
}
# flows TAG [M...]: a batch of flows from the client (OUT/flows/TAG), waited for until every connection echoed. The
# calls' second source ports join once every member M's kernel holds every call's template: a call whose second
# port reached a member before its template would be scheduled afresh there, whatever the sync (the kernel's master
# sends a connection from its third packet, in a buffer it flushes within 2 s, and the emulated guest is slow to
# capture, stream and inject). At most 60 s; with no M (no sync: nothing to wait for), after 6 s. The wait, in ms,
# goes into OUT/flows/TAG/join and the report.
flows() {
  local tag=$1 dir=$OUT/flows/$1 first_at="" waited limit=6000; shift
  [ $# = 0 ] || limit=60000
  mkdir -p "$dir"
  ip netns exec ccl "$PY" "$LAB/lib/cluster_flows.py" "$dir" "$VIP" 80 "$BUSY" "$IDLE" 200 "$UDPF" "$CALLS" \
    > "$LOGDIR/flows-$tag.log" 2>&1 &
  BG_PIDS+=($!)
  FLOWS_PID=$!
  for _ in $(seq 900); do
    [ -f "$dir/ready" ] && return 0
    if [ -f "$dir/calls-first" ] && [ ! -f "$dir/join" ]; then
      [ -n "$first_at" ] || first_at=$(date +%s%3N)
      waited=$(( $(date +%s%3N) - first_at ))
      if { [ $# -gt 0 ] && templates_in "$tag" "$@"; } || [ "$waited" -ge "$limit" ]; then
        echo "$waited" > "$dir/join.tmp" && mv "$dir/join.tmp" "$dir/join"
      fi
    fi
    sleep 0.2
  done
  echo "flows $tag: not ready in 180 s" >&2; return 1
}
# finish_flows TAG: every connection echoes once more; BROKEN and the detail set from the batch's result
finish_flows() {
  local dir=$OUT/flows/$1
  touch "$dir/check"
  wait "$FLOWS_PID" || true
  BROKEN=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(v for k, v in r.items() if k.startswith("broken_")))' \
    "$dir/result.json" 2>/dev/null || echo "?")
  FLOWS_DETAIL=$(tail -n 1 "$LOGDIR/flows-$1.log")
  [ ! -s "$dir/join" ] || FLOWS_DETAIL+="; calls' second ports joined $(cat "$dir/join") ms after their first"
  echo "$MODE $2 broken=$BROKEN of $TOTAL ($FLOWS_DETAIL)" >> "$OUT/report.txt"
}
# held_by TAG M...: every member M holds every connection of the batch; each is LOCAL on exactly one of them
held_by() {
  local tag=$1 until=$((SECONDS + 90)); shift
  while [ $SECONDS -lt $until ]; do
    if "$PY" "$LAB/lib/cluster_check.py" "$OUT/flows/$tag/ports" "$VIP" 80 "$@" > "$LOGDIR/held-$tag.txt" 2>&1; then
      CHECK_DETAIL="$(tr '\n' ';' < "$LOGDIR/held-$tag.txt")"
      return 0
    fi
    sleep 1
  done
  CHECK_DETAIL="$(tr '\n' ';' < "$LOGDIR/held-$tag.txt")"
  return 1
}
# route_now: the members the router's route to the VIP goes over, as its kernel holds it (FRR's, or this script's)
# (one process a call: the watcher below calls it ten times a second)
route_now() {
  local out m list=()
  out=$(ip -n crt route show "$VIP/32" 2>/dev/null)
  for m in 1 2 3 4; do [[ $out == *"via 10.9.1.1$m "* ]] && list+=("m$m"); done
  echo "${list[*]}"
}
# watch_routes: every change of the router's route, with its time in ms, to LOGDIR/routes.log (in the background)
watch_routes() {
  local last="-" now
  while true; do
    now=$(route_now)
    if [ "$now" != "$last" ]; then
      echo "$(( ${EPOCHREALTIME/./} / 1000 )) ${now:-none}" >> "$LOGDIR/routes.log"
      last=$now
    fi
    sleep 0.1
  done
}
# routed M...: the router's route is over exactly members M (at most 120 s)
routed() {
  local want="$*" until=$((SECONDS + 120))
  while [ $SECONDS -lt $until ]; do
    [ "$(route_now)" = "$want" ] && return 0
    sleep 0.2
  done
  CHECK_DETAIL="the route is over '$(route_now)', not '$want'"
  return 1
}
# frr_up NS...: FRR on the router (crt, peering with m1-m4) and on members NS
frr_up() {
  local ns members=()
  for ns in $MEMBERS; do members+=("$(addr "$ns")"); done
  for ns in crt "$@"; do
    frr_running "$ns" && continue
    frr_prepare "$ns"
    if [ "$ns" = crt ]; then
      frr_router_conf crt 10.9.1.1 65000 65001 "${members[@]}"
    else
      frr_member_conf "$ns" "$(addr "$ns")" 65001 10.9.1.1 65000 200
    fi
    frr_start "$ns"
  done
}
# sessions_up M...: the router's BGP sessions with members M are established and their BFD sessions up
sessions_up() {
  local m out bfd
  out=$(frr_vtysh crt "show bgp summary json")
  bfd=$(frr_vtysh crt "show bfd peers json")
  CHECK_DETAIL=""
  for m in "$@"; do
    "$PY" - "$out" "$bfd" "$(addr "$m")" <<'PY' || return 1
import json, sys
bgp, bfd, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
state = bgp.get("ipv4Unicast", {}).get("peers", {}).get(peer, {}).get("state")
status = next((p.get("status") for p in bfd if p.get("peer") == peer), None)
sys.exit(0 if state == "Established" and status == "up" else 1)
PY
    CHECK_DETAIL+="$m bgp+bfd up; "
  done
}
# holds_now TAG M: member M's kernel holds every connection of the batch now (one read)
holds_now() {
  local n
  n=$(wc -l < "$OUT/flows/$1/ports")
  "$PY" "$LAB/lib/cluster_check.py" "$OUT/flows/$1/ports" "$VIP" 80 "$2" > "$LOGDIR/holds-$1-$2.txt" 2>&1 || true
  CHECK_DETAIL=$(head -n 1 "$LOGDIR/holds-$1-$2.txt")
  grep -q "holds $n/$n" "$LOGDIR/holds-$1-$2.txt"
}
kill_member() {  # M: as a dead machine (the baselines): out of the route first (BFD's part), then its link gone
  local left=()
  for m in $UP; do [ "$m" = "$1" ] || left+=("$m"); done
  UP="${left[*]}"
  route $UP
  stop_lvsync "$1" KILL > /dev/null 2>&1 || true
  ip -n "$1" link set eth0 down
}
broken_zero() { CHECK_DETAIL="$FLOWS_DETAIL"; [ "$BROKEN" = 0 ]; }

# =====================================================================================================================
cluster_up
"$LVSYNC" certs init "$OUT/pki" --node m1 --node m2 --node m3 --node m4 > "$LOGDIR/certs.log" 2>&1
member_config() {  # M: OUT/M.yaml, a cluster member of m1-m4 on the bridge
  local m=$1 peers=""
  for p in $MEMBERS; do [ "$p" = "$m" ] || peers+="  - { name: $p, address: \"$(addr "$p"):7788\" }"$'\n'; done
  cat > "$OUT/$m.yaml" <<EOF
node: $m
listen: "$(addr "$m"):7788"
peers:
$peers
tls: { ca: $OUT/pki/ca.pem, certificate: $OUT/pki/$m.pem, key: $OUT/pki/$m-key.pem }
sync: { interface: lvsync0, address: 169.254.77.$((10 + ${m#m})), syncid: $SYNCID }
control: { socket: $SOCK/$m.sock }
timers: { heartbeat_ms: 100, dead_ms: $DEAD_MS }
limits: { hello_timeout_ms: $LAB_HELLO_TIMEOUT_MS }
stats: { interval_seconds: 5 }
cluster:
  vips: [{ address: $VIP, interface: lo }]
  announce: { table: 200, wait_ms: $LAB_ANNOUNCE_WAIT_MS, drain_ms: $LAB_DRAIN_MS, frr: $FRR_DIR/$m }
kernel: { audit_interval_seconds: 0 }
virtual_services:
  - { protocol: tcp, address: $VIP, port: 80, scheduler: rr, real_servers: [
      { address: $(addr crs1), forwarding: dr }, { address: $(addr crs2), forwarding: dr },
      { address: $(addr crs3), forwarding: dr } ] }
  - { protocol: tcp, address: $VIP, port: 81, scheduler: mh, real_servers: [
      { address: $(addr crs1), forwarding: dr }, { address: $(addr crs2), forwarding: dr },
      { address: $(addr crs3), forwarding: dr } ] }
  - { protocol: udp, address: $VIP, port: 53, scheduler: rr, real_servers: [
      { address: $(addr crs1), forwarding: dr }, { address: $(addr crs2), forwarding: dr },
      { address: $(addr crs3), forwarding: dr } ] }
  - { protocol: udp, address: $VIP, port: 5060, scheduler: rr, persistence: { timeout: 60, engine: sip }, real_servers: [
      { address: $(addr crs1), forwarding: dr }, { address: $(addr crs2), forwarding: dr },
      { address: $(addr crs3), forwarding: dr } ] }
  - { protocol: udp, address: $VIP, port: 5353, scheduler: rr, real_servers: [
      { address: $(addr crs1), forwarding: dr }, { address: $(addr crs2), forwarding: dr },
      { address: $(addr crs3), forwarding: dr } ] }
EOF
}
for m in $MEMBERS; do member_config "$m"; done

# ---- lvsync ----
MODE=lvsync
say "lvsync: m1-m3 start (m2's kernel holds the mh service with another history first)"
ip netns exec m2 ipvsadm -A -t "$VIP:81" -s mh
ip netns exec m2 ipvsadm -a -t "$VIP:81" -r "$(addr crs3):80" -g
ip netns exec m2 ipvsadm -a -t "$VIP:81" -r "$(addr crs1):80" -g
frr_up m1 m2 m3
for m in m1 m2 m3; do start_lvsync "$m" "$m"; done
UP="m1 m2 m3"
# linked M...: each member's sinks of the others are linked to their streams, and caught up (before any traffic:
# under traffic two status calls never see the same position)
linked() {
  "$PY" - "$SOCK" "$LVSYNC" "$@" <<'PY'
import json, subprocess, sys
sock, lvsync, members = sys.argv[1], sys.argv[2], sys.argv[3:]
status = {}
for m in members:
    r = subprocess.run([lvsync, "status", "--json", "--socket", f"{sock}/{m}.sock"], capture_output=True, text=True)
    try:
        status[m] = json.loads(r.stdout)
    except ValueError:
        print(f"{m}: no status"); sys.exit(1)
bad = []
for m, s in status.items():
    for e in s.get("cluster", {}).get("members", []):
        if e["name"] not in status:
            continue
        own = status[e["name"]]["sync"]
        if e["link"] != "up" or e["stream"] != own["stream"] or e["position"] != own["position"]:
            bad.append(f"{m}<-{e['name']}: link {e['link']} stream {e['stream']}/{own['stream']} "
                       f"position {e['position']}/{own['position']}")
print("; ".join(bad) or "linked")
sys.exit(1 if bad else 0)
PY
}
wait_linked() {  # at most 180 s (a status call of a debug build takes seconds in the guest)
  local until=$((SECONDS + 180))
  while [ $SECONDS -lt $until ]; do
    CHECK_DETAIL=$(linked "$@" 2>&1) && return 0
    sleep 1
  done
  return 1
}
check cluster-members "m1, m2, m3 each linked to both others' streams" -- wait_linked m1 m2 m3
daemons_both() {
  local m out
  for m in m1 m2 m3; do
    out=$(ip netns exec "$m" ipvsadm -L --daemon)
    grep -q "master sync daemon.*lvsync0" <<< "$out" && grep -q "backup sync daemon.*lvsync0" <<< "$out" ||
      { CHECK_DETAIL="$m: $out"; return 1; }
  done
}
check cluster-daemons "master and backup sync daemons on lvsync0 in m1, m2, m3" -- daemons_both
fingerprints() {
  local m fp first=""
  for m in m1 m2 m3; do
    fp=$("$LVSYNC" status --json --socket "$SOCK/$m.sock" | "$PY" -c \
      'import json,sys; print(json.load(sys.stdin).get("scheduling", {}).get("fingerprint", ""))')
    [ -n "$fp" ] || { CHECK_DETAIL="$m: no scheduling fingerprint"; return 1; }
    [ -z "$first" ] || [ "$fp" = "$first" ] || { CHECK_DETAIL="$m: $fp, m1: $first"; return 1; }
    first=$fp
  done
  CHECK_DETAIL="$first on m1, m2, m3"
}
check cluster-fingerprint -- fingerprints
watch_routes &
WATCHER=$!
BG_PIDS+=("$WATCHER")
announced_by() { routed "$@" && sessions_up "$@" && CHECK_DETAIL+="route over $*"; }
check cluster-announce "m1, m2, m3 announce the VIP through FRR (m4, unreachable, waited for ${LAB_ANNOUNCE_WAIT_MS} ms)" -- announced_by m1 m2 m3
flows lvsync-a m1 m2 m3
check cluster-sync -- held_by lvsync-a m1 m2 m3
# What each member streams is what its own traffic made: its stream's TCP connections to VIP:80 are its kernel's
# LOCAL ones (every one synced by now: cluster-sync found them in every kernel). The UDP flows and calls are left out
# of the count: a UDP entry is sent by the kernel's master only from its third packet on, and a SIP call's template
# travels with a member's own connection of the call (the kernel sends a connection's template along with it).
own_is_local() {
  local m own local_n
  CHECK_DETAIL=""
  for m in m1 m2 m3; do
    own=$("$LVSYNC" conns --json --service "tcp:$VIP:80" --socket "$SOCK/$m.sock" | grep -c '{' || true)
    local_n=$(ip netns exec "$m" cat /proc/net/ip_vs_conn_sync |
      awk '$1 == "TCP" && $4 == "C000020A" && $5 == "0050" && $9 == "LOCAL"' | wc -l)
    [ "$own" = "$local_n" ] || { CHECK_DETAIL="$m streams $own TCP connections, its kernel made $local_n"; return 1; }
    CHECK_DETAIL+="$m $own; "
  done
}
check cluster-streams-own "each member streams only what its kernel made" -- own_is_local
# What lvsync reads of FRR (cluster.announce.frr): each member's BGP session with the router established, one prefix
# (the VIP) sent, BFD up: from its own status, as FRR reports it.
routing_status() {
  local m
  CHECK_DETAIL=""
  for m in m1 m2 m3; do
    "$LVSYNC" status --json --socket "$SOCK/$m.sock" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)["cluster"]["announce"].get("routing_daemon", {})
bgp = [p for p in r.get("bgp", []) if p["neighbour"] == "10.9.1.1"]
bfd = [p for p in r.get("bfd", []) if p["peer"] == "10.9.1.1"]
ok = bgp and bgp[0]["state"] == "Established" and bgp[0].get("prefixes_sent") == 1 and bfd and bfd[0]["status"] == "up"
print("bgp %s, %s sent; bfd %s" % (bgp[0]["state"] if bgp else "none", bgp[0].get("prefixes_sent") if bgp else "-",
      bfd[0]["status"] if bfd else "none") if not r.get("error") else r["error"])
sys.exit(0 if ok else 1)' > "$LOGDIR/routing-$m.txt" 2>&1 || { CHECK_DETAIL="$m: $(cat "$LOGDIR/routing-$m.txt")"; return 1; }
    CHECK_DETAIL+="$m: $(cat "$LOGDIR/routing-$m.txt"); "
  done
}
check cluster-routing-status "each member's status shows its FRR's session with the router" -- routing_status
say "(a) m1 dies"
# A dead machine: its link goes first, so that neither its BGP nor its TCP says goodbye; BFD must notice.
KILLED_AT=$(date +%s%3N)
ip -n m1 link set eth0 down
stop_lvsync m1 KILL > /dev/null 2>&1 || true
frr_stop m1 KILL
bfd_out() {
  routed m2 m3 || return 1
  local at line bfd_at
  at=$(awk '$2 == "m2" && $3 == "m3" && NF == 3 { print $1 }' "$LOGDIR/routes.log" | tail -n 1)
  # the router's bgpd logs the session's end on BFD's word: "2026/12/07 16:18:34.123 BGP: ... (Cease/BFD Down)"
  line=$(grep "BFD Down" "$FRR_DIR/crt/frr.log" | grep "neighbor $(addr m1) " | tail -n 1)
  bfd_at=$(date -d "$(awk '{ gsub("/", "-", $1); print $1 " " $2 }' <<< "$line")" +%s%3N 2>/dev/null) || bfd_at=""
  [ -n "$bfd_at" ] || { CHECK_DETAIL="the router's BGP session with m1 did not end on BFD: ${line:-no BFD Down line}"; return 1; }
  CHECK_DETAIL="BFD (${FRR_BFD_MS} ms x $FRR_BFD_MULT) ended the router's session $((bfd_at - KILLED_AT)) ms after m1's link went down; the route was over m2, m3 in its kernel $((at - KILLED_AT)) ms after"
  echo "lvsync a: $CHECK_DETAIL" >> "$OUT/report.txt"
}
check cluster-a-bfd "m1 dead: the router's BFD took it out" -- bfd_out
sleep 3
finish_flows lvsync-a a
check cluster-a-kill "m1 dead: its flows moved to m2, m3" -- broken_zero
say "(b) m2 drains"
flows lvsync-b m2 m3
sleep 3   # as in the baselines: the kernel masters send a part-filled buffer once it is 2 s old
stop_lvsync m2 TERM > /dev/null 2>&1 &
DRAIN=$!
check cluster-b-withdrawn "m2 withdrew its route at SIGTERM: its FRR withdrew the VIP, the router moved its flows to m3" -- routed m3
wait "$DRAIN" || true
sleep 2
finish_flows lvsync-b b
check cluster-b-drain "m2 drained and stopped" -- broken_zero
say "(c) m4 joins late"
flows lvsync-c m3
frr_up m4
start_lvsync m4 m4
# m4 announces only once it holds m3's connections: the router takes it in then, and at that moment it holds all.
check cluster-c-announce "m4 announced once in sync" -- routed m3 m4
check cluster-c-holds "m4 held every connection when it entered the route" -- holds_now lvsync-c m4
sleep 3
finish_flows lvsync-c c
check cluster-c-join "m4 in the route: flows moved to it" -- broken_zero
say "(d) lvsync drill --member m4"
flows lvsync-d m3 m4
sleep 3
# m1 (dead) and m2 (stopped) are not linked to m4: the drill refuses that without --force (flows moved to an
# unlinked member that still announced would break); here they are gone, and the router routes to m3 only.
"$LVSYNC" drill --member m4 --force --seconds 12 --json --socket "$SOCK/m4.sock" > "$LOGDIR/drill-m4.json" \
  2> "$LOGDIR/drill-m4.log" || true
member_drill() {
  CHECK_DETAIL=$("$PY" - "$LOGDIR/drill-m4.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except ValueError:
    print("no report: " + open(sys.argv[1]).read()[:200]); sys.exit(1)
ok = r["completed"] and r.get("connections_lost") == 0 and r.get("traffic_gone_ms") is not None and r["reannounced"]
print("held %.0f ms; taken by %s; own %d; inbound %s -> %s packets/s; traffic gone after %s ms; lost %s%s" % (
    r["held_ms"], ",".join(r["members"]), r["connections_before"], r.get("inbound_pps_before"),
    r.get("inbound_pps_at_end"), r.get("traffic_gone_ms"), r.get("connections_lost"),
    "" if r["completed"] else "; refused: " + str(r.get("refusal"))))
sys.exit(0 if ok else 1)
PY
) || return 1
  echo "lvsync d (drill --member m4): $CHECK_DETAIL" >> "$OUT/report.txt"
}
check cluster-d-drill "m4 drained by its drill: the routers moved its flows to m3, then it announced again" -- member_drill
check cluster-d-back "m4 back in the router's route after the drill" -- routed m3 m4
sleep 2
finish_flows lvsync-d d
check cluster-d-flows "through m4's drill and return" -- broken_zero
kill "$WATCHER" 2>/dev/null || true   # the baselines and the scale phase need no timings: spare the guest
stop_all_lvsync
for ns in crt $MEMBERS; do frr_stop "$ns"; done   # zebra takes its routes out as it goes
sleep 1
ip -n crt route del "$VIP/32" 2>/dev/null || true

# ---- the baselines ----
BASELINES="none kernel"
if [ "${LAB_CLUSTER_BASELINES:-0}" != 1 ]; then
  BASELINES=""
  say "baselines: skipped (LAB_CLUSTER_BASELINES=1 runs them)"
fi
# synced_members: the members whose kernels a baseline's calls wait for (flows): with the kernel's sync, those in the
# route, as with lvsync; with none, no one (the calls join after 6 s)
synced_members() { [ "$MODE" = none ] || echo "$UP"; }
for MODE in $BASELINES; do
  say "$MODE: m1-m3 up, m4 out"
  for m in $MEMBERS; do
    ip -n "$m" link set eth0 up
    services "$m"
    ip netns exec "$m" ipvsadm --stop-daemon master 2>/dev/null || true
    ip netns exec "$m" ipvsadm --stop-daemon backup 2>/dev/null || true
  done
  if [ "$MODE" = kernel ]; then
    for m in m1 m2 m3; do
      ip netns exec "$m" ipvsadm --start-daemon master --mcast-interface eth0 --syncid "$SYNCID"
      ip netns exec "$m" ipvsadm --start-daemon backup --mcast-interface eth0 --syncid "$SYNCID"
    done
  fi
  UP="m1 m2 m3"
  route $UP
  flows "$MODE-a" $(synced_members)
  sleep 3
  kill_member m1
  ip netns exec m1 ipvsadm --stop-daemon master 2>/dev/null || true
  sleep 3
  finish_flows "$MODE-a" a
  pass "cluster-baseline-$MODE-a" "broken $BROKEN of $TOTAL ($FLOWS_DETAIL)"
  # (b): m2 taken out of the route (a planned drain: withdrawn first), its kernel daemons stopped 5 s later
  flows "$MODE-b" $(synced_members)
  sleep 3
  UP="m3"
  route $UP
  sleep 5
  ip netns exec m2 ipvsadm --stop-daemon master 2>/dev/null || true
  ip netns exec m2 ipvsadm --stop-daemon backup 2>/dev/null || true
  sleep 2
  finish_flows "$MODE-b" b
  pass "cluster-baseline-$MODE-b" "broken $BROKEN of $TOTAL ($FLOWS_DETAIL)"
  flows "$MODE-c" $(synced_members)
  if [ "$MODE" = kernel ]; then
    ip netns exec m4 ipvsadm --start-daemon master --mcast-interface eth0 --syncid "$SYNCID"
    ip netns exec m4 ipvsadm --start-daemon backup --mcast-interface eth0 --syncid "$SYNCID"
  fi
  sleep 5
  UP="m3 m4"
  route $UP
  sleep 3
  finish_flows "$MODE-c" c
  pass "cluster-baseline-$MODE-c" "broken $BROKEN of $TOTAL ($FLOWS_DETAIL)"
done
check cluster-report "$(tr '\n' ';' < "$OUT/report.txt")" -- true

# ---- at scale: tens of thousands of new flows over three members ----
# Each datagram from a source port of its own is a new UDP connection on the member ECMP sends it to, which its
# kernel master sends at its first packet (sync_threshold "1 2"); every member's kernel must end holding every one
# (its real servers' counters for the service, one netlink dump: reading /proc at this size costs the guest
# minutes). A release build (as the scale scenario): a debug one spends minutes of the guest on what takes seconds.
# The UDP timeout is 180 s on every member (the check ends within 160 s of the generator's end); the namespaces go
# with their tables full, as the scale scenario's do with 200 000 entries.
SCALE_FLOWS_RATE=${CLUSTER_SCALE_RATE:-6000} SCALE_SECONDS=${CLUSTER_SCALE_SECONDS:-8}
# udp_count M: the UDP service's connections in member M's kernel
udp_count() {
  ip netns exec "$1" ipvsadm -Ln -u "$VIP:5353" |
    awk '$1 == "->" && $2 ~ /:/ && $2 !~ /RemoteAddress/ { n += $5 + $6 } END { print n + 0 }'
}
scale_held() {  # SENT: every member m1-m3 holds SENT (at most 160 s: the first flows time out after 180 s)
  local until=$((SECONDS + 160)) m n counts="" all
  while [ $SECONDS -lt $until ]; do
    all=1 counts=""
    for m in m1 m2 m3; do
      n=$(udp_count "$m")
      counts+="$m $n; "
      [ "$n" = "$1" ] || all=0
    done
    [ $all = 1 ] && { CHECK_DETAIL="$1 flows in every kernel ($counts$((SECONDS - SCALE_T0)) s after the first)"; return 0; }
    sleep 2
  done
  CHECK_DETAIL="sent $1; $counts"
  return 1
}
if [ -x "${LVSYNC_RELEASE:-}" ]; then
  MODE=lvsync
  say "scale: m1-m3 with a release build, $SCALE_FLOWS_RATE new UDP flows a second for $SCALE_SECONDS s"
  for m in $MEMBERS; do
    ip -n "$m" link set eth0 up
    ip netns exec "$m" ipvsadm --stop-daemon master 2>/dev/null || true
    ip netns exec "$m" ipvsadm --stop-daemon backup 2>/dev/null || true
    ip netns exec "$m" sysctl -qw net.ipv4.vs.sync_threshold="1 2"
    ip netns exec "$m" ipvsadm --set 0 0 180
    # the baselines' VIP address: an announcing lvsync holds the VIP as a local route (FRR would prefer the address's
    # connected route to table 200's and never announce the latter)
    ip -n "$m" addr del "$VIP/32" dev lo 2>/dev/null || true
  done
  ip -n m4 link set eth0 down
  ip -n crt route del "$VIP/32" 2>/dev/null || true   # the baselines' route by hand: zebra would prefer it to BGP's
  frr_up m1 m2 m3
  for m in m1 m2 m3; do LV_LOG=$LOGDIR/$m-scale.log LVSYNC=$LVSYNC_RELEASE start_lvsync "$m" "$m"; done
  if routed m1 m2 m3; then
    SCALE_T0=$SECONDS
    sent=$(ip netns exec ccl "$PY" "$LAB/lib/udp_new.py" "$VIP" 5353 "$SCALE_FLOWS_RATE" "$SCALE_SECONDS" |
      "$PY" -c 'import json,sys; r=json.load(sys.stdin); print(r["sent"], r["rate"])')
    check cluster-scale "rate reached ${sent#* }/s" -- scale_held "${sent%% *}"
    echo "lvsync scale: sent ${sent%% *} at ${sent#* }/s; $(for m in m1 m2 m3; do printf '%s holds %s; ' "$m" "$(udp_count "$m")"; done)" >> "$OUT/report.txt"
  else
    fail cluster-scale "the members did not announce: $CHECK_DETAIL"
  fi
  stop_all_lvsync
  for ns in crt m1 m2 m3; do frr_stop "$ns"; done
else
  say "scale: no release build (LVSYNC_RELEASE): skipped"
fi
say "done"
