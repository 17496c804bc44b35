#!/bin/bash
# Build (or tear down) the lab network INSIDE the guest (run as root there).
#
#   topo.sh up [LOGDIR]   build it; responder logs go to LOGDIR (default: none)
#   topo.sh down          delete the namespaces (flushes IPVS) and the bridge
#
# One bridge br0 joins five namespaces by veth (each side's eth0):
#   client 10.0.0.10  fd00::10     dirA 10.0.0.2 fd00::2 (+VIPs, +gateway .1/::1)
#   rs1    10.0.0.21  fd00::21     dirB 10.0.0.3 fd00::3
#   rs2    10.0.0.22  fd00::22
# The directors also share a link of their own, peer0 (dirA 10.0.1.2/24, dirB
# 10.0.1.3/24): lvsync's peer link, so that cutting a director's client side
# (eth0) does not cut it.
# dirA is the active director: it holds the VIPs 10.0.0.100 / fd00::100 and the
# real servers' NAT gateway 10.0.0.1 / fd00::1 (a failover moves all four).
# Both directors carry the same IPVS services and a dummy lvsync0 (multicast
# on; dirA 169.254.77.1/32, dirB 169.254.77.2/32) for the sync daemons.
# Services (both directors):
#   TCP  10.0.0.100:80       rr, DR,  rs1+rs2
#   UDP  10.0.0.100:53       rr, NAT, persistent 120 s
#   UDP  10.0.0.100:5060     rr, DR,  persistent 60 s, --pe sip
#   TCP  [fd00::100]:443     sh, NAT
#   UDP  [fd00::100]:4789    rr, tunnel (ip6ip6) to rs2, persistent 30 s
#   FWM  7 (TCP 10.0.0.100:8080 marked by nftables) rr, DR, persistent 300 s
#   SCTP 10.0.0.100:3868     rr, NAT
# Real servers run lib/responder.py (TCP/SCTP echo, UDP answer).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
NS="client dirA dirB rs1 rs2"

down() {
  local h
  for h in $NS; do
    # processes in a namespace would keep its sockets alive: end them first
    if ip netns pids "$h" >/dev/null 2>&1; then
      ip netns pids "$h" | xargs -r kill -9 2>/dev/null || true
      # Delete our end of the veth pair first: a namespace whose IPVS still holds connections is torn down by
      # the kernel long after `ip netns del` (minutes under TCG), and its veth peer would linger with it.
      ip link del "v-$h" 2>/dev/null || true
      ip netns del "$h" 2>/dev/null || true
    fi
  done
  ip link del br0 2>/dev/null || true
  # The kernel tears a namespace down asynchronously: make sure no veth of ours is left before a new topo.sh up
  # (it would fail with "File exists").
  for _ in $(seq 100); do
    local left=0
    for h in $NS; do ip link show "v-$h" >/dev/null 2>&1 && left=1; done
    ip link show br0 >/dev/null 2>&1 && left=1
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  echo "topo: veths still present 10 s after their namespaces were deleted" >&2
  return 1
}

[ "${1:-}" = down ] && { down; exit 0; }
[ "${1:-}" = up ] || { echo "usage: topo.sh up [LOGDIR] | down" >&2; exit 2; }
LOGDIR=${2:-}
log() { if [ -n "$LOGDIR" ]; then echo "$LOGDIR/$1.log"; else echo /dev/null; fi; }

for m in ip_vs ip_vs_rr ip_vs_sh ip_vs_pe_sip dummy veth bridge ip6_tunnel sctp nf_tables; do
  modprobe "$m"
done
down   # start from nothing: topo.sh up may run twice in one boot

ip link add br0 type bridge
ip link set br0 up
for h in $NS; do
  ip netns add "$h"
  ip link add "v-$h" type veth peer name eth0 netns "$h"
  ip link set "v-$h" master br0 up
  ip -n "$h" link set lo up
  # no DAD: addresses must be usable at once (nodad below covers the rest)
  ip netns exec "$h" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$h" link set eth0 up
done
addr() { ip -n "$1" addr add "$2/24" dev eth0; ip -n "$1" addr add "$3/64" dev eth0 nodad; }
addr client 10.0.0.10 fd00::10
addr dirA 10.0.0.2 fd00::2
addr dirB 10.0.0.3 fd00::3
addr rs1 10.0.0.21 fd00::21
addr rs2 10.0.0.22 fd00::22

# the directors' own link (lvsync's peer link; the kernel-only runs' sync multicast)
ip -n dirA link add peer0 type veth peer name peer0 netns dirB
ip -n dirA addr add 10.0.1.2/24 dev peer0
ip -n dirB addr add 10.0.1.3/24 dev peer0
ip -n dirA link set peer0 up
ip -n dirB link set peer0 up

# --- real servers ------------------------------------------------------------------
# DR/tunnel: the VIPs on lo, never ARP'd for. NAT: replies to the client must go
# back through the director (gateway .1/::1) to be un-NATed; replies sourced
# from a VIP (DR, tunnel) go straight to the client (table 100).
for rs in rs1 rs2; do
  ip -n $rs addr add 10.0.0.100/32 dev lo
  ip -n $rs addr add fd00::100/128 dev lo nodad
  ip netns exec $rs sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 \
    net.ipv6.conf.all.accept_redirects=0 net.ipv6.conf.eth0.accept_redirects=0
  ip -n $rs route add 10.0.0.10/32 via 10.0.0.1
  ip -n $rs -6 route add fd00::10/128 via fd00::1
  ip -n $rs route add 10.0.0.0/24 dev eth0 table 100
  ip -n $rs -6 route add fd00::/64 dev eth0 table 100
  ip -n $rs rule add from 10.0.0.100 lookup 100 pref 100
  ip -n $rs -6 rule add from fd00::100 lookup 100 pref 100
done
# ip6ip6 decapsulation for the tunnel service: the per-netns fallback device
ip -n rs2 link set ip6tnl0 up
for rs in rs1 rs2; do
  me=$(ip -n $rs -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
  ip netns exec $rs /usr/bin/python3 "$HERE/lib/responder.py" "$me" "${me/10.0.0./fd00::}" \
    > "$(log $rs)" 2>&1 &
done

# --- directors ------------------------------------------------------------------------
for d in dirA dirB; do
  n=1; [ $d = dirB ] && n=2
  ip -n $d link add lvsync0 type dummy
  ip -n $d addr add 169.254.77.$n/32 dev lvsync0
  ip -n $d link set lvsync0 multicast on up   # dummy clears IFF_MULTICAST
  # forwarding for NAT replies; no redirects, or rs1/rs2 would bypass the director
  ip netns exec $d sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  # threshold 1, period 2: a conn is queued on its 1st, 3rd, 5th... packet (TCP/SCTP
  # once established), its template on every packet: entries reach the sync
  # buffer within a packet or two (the buffer itself is flushed after ~2 s).
  ip netns exec $d sysctl -qw net.ipv4.vs.sync_threshold="1 2"
  # the firewall-mark service: TCP 10.0.0.100:8080 gets mark 7 before IPVS sees it
  ip netns exec $d nft -f - <<'NFT'
table ip lvsync_lab {
  chain pre { type filter hook prerouting priority mangle; ip daddr 10.0.0.100 tcp dport 8080 meta mark set 7; }
}
NFT
  ip netns exec $d /bin/sh -e <<'IPVS'
ipvsadm -A -t 10.0.0.100:80 -s rr
ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g
ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g
ipvsadm -A -u 10.0.0.100:53 -s rr -p 120
ipvsadm -a -u 10.0.0.100:53 -r 10.0.0.21:53 -m
ipvsadm -a -u 10.0.0.100:53 -r 10.0.0.22:53 -m
ipvsadm -A -u 10.0.0.100:5060 -s rr -p 60 --pe sip
ipvsadm -a -u 10.0.0.100:5060 -r 10.0.0.21:5060 -g
ipvsadm -a -u 10.0.0.100:5060 -r 10.0.0.22:5060 -g
ipvsadm -A -t [fd00::100]:443 -s sh
ipvsadm -a -t [fd00::100]:443 -r [fd00::21]:443 -m
ipvsadm -a -t [fd00::100]:443 -r [fd00::22]:443 -m
ipvsadm -A -u [fd00::100]:4789 -s rr -p 30
ipvsadm -a -u [fd00::100]:4789 -r [fd00::22]:4789 -i
ipvsadm -A -f 7 -s rr -p 300
ipvsadm -a -f 7 -r 10.0.0.21 -g
ipvsadm -a -f 7 -r 10.0.0.22 -g
ipvsadm -A --sctp-service 10.0.0.100:3868 -s rr
ipvsadm -a --sctp-service 10.0.0.100:3868 -r 10.0.0.21:3868 -m
ipvsadm -a --sctp-service 10.0.0.100:3868 -r 10.0.0.22:3868 -m
IPVS
done
# dirA is active: VIPs and the NAT gateway (secondary: 10.0.0.2 stays the first
# address, the one the kernel master binds its sync socket to on eth0)
ip -n dirA addr add 10.0.0.100/24 dev eth0
ip -n dirA addr add 10.0.0.1/24 dev eth0
ip -n dirA addr add fd00::100/64 dev eth0 nodad
ip -n dirA addr add fd00::1/64 dev eth0 nodad

# wait until the responders listen (TCG is slow to start python)
for rs in rs1 rs2; do
  for _ in $(seq 100); do
    ip netns exec $rs ss -Hltn 'sport = :80' | grep -q . && break
    sleep 0.1
  done
done
