# shellcheck shell=bash
# FRR (Debian's frr: zebra, bgpd, bfdd) in the lab's namespaces: a router that makes one ECMP route of the members'
# announcements, and cluster members that announce what lvsync puts in kernel table 200 (the shape of
# examples/frr-router.conf and examples/frr-member.conf). Each instance keeps its sockets, pid files, configuration
# and log in FRR_DIR/NS (the guest's /tmp: the shared root is read-only there) and runs as the frr user (Debian's
# daemons insist on its frrvty group for their vty sockets).
#
# BFD at 200 ms x 5 (a dead member is out of the router's route within about a second): scaled for the emulated
# guest, whose daemons can stall for hundreds of milliseconds; production runs 100 ms x 3 (the examples).
FRR_DIR=${FRR_DIR:-/tmp/lvsync-frr}
FRR_BFD_MS=${FRR_BFD_MS:-200}
FRR_BFD_MULT=${FRR_BFD_MULT:-5}
FRR_BIN=/usr/lib/frr

# frr_bfd_peer ADDR: a bfd peer stanza at the lab's timers
frr_bfd_peer() {
  printf ' peer %s\n  receive-interval %s\n  transmit-interval %s\n  detect-multiplier %s\n !\n' \
    "$1" "$FRR_BFD_MS" "$FRR_BFD_MS" "$FRR_BFD_MULT"
}

# frr_log NS: the logging lines every daemon's file starts with (milliseconds: the lab times BFD and the route)
frr_log() {
  printf 'frr defaults datacenter\nhostname %s\nlog file %s informational\nlog timestamp precision 3\n' \
    "$1" "$FRR_DIR/$1/frr.log"
}

# frr_router_conf NS ADDR AS MEMBER_AS MEMBER_ADDR...: the router's configuration, one file per daemon in FRR_DIR/NS
# (maximum-paths: one ECMP route over every member that announces)
frr_router_conf() {
  local ns=$1 addr=$2 as=$3 member_as=$4 m d=$FRR_DIR/$1
  shift 4
  frr_log "$ns" > "$d/zebra.conf"
  {
    frr_log "$ns"
    echo "router bgp $as"
    echo " bgp router-id $addr"
    echo " no bgp ebgp-requires-policy"
    echo " neighbor members peer-group"
    echo " neighbor members remote-as $member_as"
    echo " neighbor members bfd"
    for m in "$@"; do echo " neighbor $m peer-group members"; done
    echo " address-family ipv4 unicast"
    echo "  maximum-paths 8"
    echo " exit-address-family"
  } > "$d/bgpd.conf"
  {
    frr_log "$ns"
    echo "bfd"
    for m in "$@"; do frr_bfd_peer "$m"; done
  } > "$d/bfdd.conf"
}

# frr_member_conf NS ADDR AS ROUTER_ADDR ROUTER_AS TABLE: a member's configuration, one file per daemon (the table
# imported by zebra and announced by bgpd)
frr_member_conf() {
  local ns=$1 addr=$2 as=$3 router=$4 router_as=$5 table=$6 d=$FRR_DIR/$1
  { frr_log "$ns"; echo "ip import-table $table"; } > "$d/zebra.conf"
  {
    frr_log "$ns"
    echo "router bgp $as"
    echo " bgp router-id $addr"
    echo " no bgp ebgp-requires-policy"
    echo " neighbor $router remote-as $router_as"
    echo " neighbor $router bfd"
    echo " address-family ipv4 unicast"
    echo "  redistribute table $table"
    echo " exit-address-family"
  } > "$d/bgpd.conf"
  { frr_log "$ns"; echo "bfd"; frr_bfd_peer "$router"; } > "$d/bfdd.conf"
}

# frr_start NS: zebra, bfdd and bgpd in NS with FRR_DIR/NS/DAEMON.conf (written before); returns once bgpd's vty is there
frr_start() {
  local ns=$1 d=$FRR_DIR/$1 daemon until
  chown -R frr:frr "$d"
  for daemon in zebra bfdd bgpd; do
    local extra=()
    [ "$daemon" = bfdd ] && extra=(--bfdctl "$d/bfdd.sock")
    ip netns exec "$ns" "$FRR_BIN/$daemon" -d -u frr -g frr -f "$d/$daemon.conf" -i "$d/$daemon.pid" \
      -z "$d/zserv.api" --vty_socket "$d" "${extra[@]}" >> "$d/start.log" 2>&1 ||
      { echo "frr: $daemon did not start in $ns: $(tail -n 3 "$d/start.log")" >&2; return 1; }
    [ "$daemon" = zebra ] || continue
    until=$((SECONDS + 30))
    until [ -S "$d/zserv.api" ] || [ $SECONDS -ge $until ]; do sleep 0.1; done
  done
  until=$((SECONDS + 30))
  until [ -S "$d/bgpd.vty" ] || [ $SECONDS -ge $until ]; do sleep 0.1; done
  [ -S "$d/bgpd.vty" ] || { echo "frr: no bgpd vty in $ns" >&2; return 1; }
}

# frr_running NS: its bgpd runs (the pid file's process is a bgpd: the lab's many short processes reuse pids fast)
frr_running() {
  local pid
  pid=$(cat "$FRR_DIR/$1/bgpd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = bgpd ]
}

# frr_stop NS [SIGNAL]: its FRR daemons ended (SIGKILL for a dead machine) and waited for (5 s at most), their log
# appended to LOGDIR/frr-NS.log
frr_stop() {
  local d=$FRR_DIR/$1 daemon pid pids=() until
  for daemon in bgpd bfdd zebra; do
    pid=$(cat "$d/$daemon.pid" 2>/dev/null) || continue
    rm -f "$d/$daemon.pid"
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon" ] || continue
    kill "-${2:-TERM}" "$pid" 2>/dev/null && pids+=("$pid")
  done
  until=$((SECONDS + 5))
  for pid in ${pids[@]+"${pids[@]}"}; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $until ]; do sleep 0.1; done
  done
  if [ -n "${LOGDIR:-}" ] && [ -f "$d/frr.log" ]; then
    cat "$d/frr.log" >> "$LOGDIR/frr-$1.log"
    : > "$d/frr.log"
  fi
}

# frr_vtysh NS COMMAND...: vtysh against NS's daemons
frr_vtysh() {
  local ns=$1 c args=()
  shift
  for c in "$@"; do args+=(-c "$c"); done
  vtysh --vty_socket "$FRR_DIR/$ns" "${args[@]}"
}

# frr_prepare NS: an empty FRR_DIR/NS for its configuration
frr_prepare() {
  rm -rf "${FRR_DIR:?}/$1"
  mkdir -p "$FRR_DIR/$1"
}
