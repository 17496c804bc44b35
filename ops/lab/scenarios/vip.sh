#!/bin/bash
# lvsync's virtual addresses, announcements and interface states against the real kernel (run INSIDE the guest):
#   vip.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# Two namespaces joined by a veth: vipa (the director, va 02:00:00:00:0a:01, 10.0.0.2/24 fd00::2/64) and vipb
# (a neighbour, vb 02:00:00:00:0b:01, 10.0.0.10/24 fd00::10/64).
#   vip-add             `lvsync netdev vip add` (rtnetlink): ip shows 10.0.0.100/32, fd00::100/128 nodad (and an
#                       explicit /24); adding again says "already present" for each and changes nothing
#   vip-remove          `lvsync netdev vip remove`: gone, the interface's own addresses kept; again: "not present"
#   vip-bad-interface   add/remove/announce on a missing interface: exit 1, the error names the address, the
#                       interface and "No such device"; nothing changed
#   announce-garp       `lvsync netdev announce --count 3`: the neighbour captures exactly 3 gratuitous ARP
#                       requests (broadcast, op 1, sender = target = the VIP, sender MAC = va's, target MAC zero,
#                       60 bytes), and its stale ARP entry for the VIP (a made-up MAC) switches to va's MAC
#   announce-na         the same run: exactly 3 unsolicited NAs (33:33:00:00:00:01 from va's MAC, va's link-local to
#                       ff02::1, hop limit 255, R=0 S=0 O=1, target the VIP, TLLA option = va's MAC, checksum
#                       right), and the neighbour's stale entry switches to va's MAC
#   announce-checker    the packet checker is not vacuous: it refuses lib/announce.py's NA (Router flag set)
#   iface-state         `lvsync netdev state va`: up running; up no-carrier (peer down); down; missing (deleted)
# Each check prints one line "PASS name" or "FAIL name: reason".
set -euo pipefail
OUT=$(realpath "${1:?usage: vip.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
A=vipa B=vipb
MAC_A=02:00:00:00:0a:01 MAC_B=02:00:00:00:0b:01 FAKE=02:00:00:00:be:ef
cleanup() {
  local p
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true
}
trap cleanup EXIT
[ -x "$LVSYNC" ] || { fail vip "lvsync not executable: $LVSYNC"; exit 1; }
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
modprobe veth

ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true
ip netns add "$A"; ip netns add "$B"
for n in "$A" "$B"; do
  # no DAD for the link-locals (the NA's source must be usable); the VIPs' nodad flag is lvsync's own
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$A" link add va address "$MAC_A" type veth peer name vb address "$MAC_B" netns "$B"
ip -n "$A" addr add 10.0.0.2/24 dev va; ip -n "$A" addr add fd00::2/64 dev va nodad
ip -n "$B" addr add 10.0.0.10/24 dev vb; ip -n "$B" addr add fd00::10/64 dev vb nodad
ip -n "$A" link set va up; ip -n "$B" link set vb up

# addrs NS DEV: the interface's addresses, one "ADDR/LEN flags" a line, sorted (ip -o: "inet6 fd00::100/128 scope
# global nodad" -> "fd00::100/128 scope global nodad")
addrs() {
  ip -n "$1" -o addr show dev "$2" | sed -E 's/^[0-9]+: +[^ ]+ +inet6? //; s/\\.*//; s/ +valid_lft.*//; s/ +$//' | sort
}

# ---- vip-add ----
rc1=0; "$LVSYNC" netdev vip add va 10.0.0.100 fd00::100 192.168.50.1/24 --namespace "$A" > "$OUT/add1.txt" 2>&1 || rc1=$?
s1=$(addrs "$A" va)
rc2=0; ip netns exec "$A" "$LVSYNC" netdev vip add va 10.0.0.100 fd00::100 192.168.50.1/24 > "$OUT/add2.txt" 2>&1 || rc2=$?
s2=$(addrs "$A" va)
echo "  add: $(tr '\n' ';' < "$OUT/add1.txt") | again: $(tr '\n' ';' < "$OUT/add2.txt")"
while read -r line; do echo "    $line"; done <<< "$s1"
want1=$'added 10.0.0.100/32 on va\nadded fd00::100/128 on va\nadded 192.168.50.1/24 on va'
want2=$'10.0.0.100/32 on va: already present\nfd00::100/128 on va: already present\n192.168.50.1/24 on va: already present'
problem=""
[ $rc1 = 0 ] && [ "$(cat "$OUT/add1.txt")" = "$want1" ] || problem+="first add: exit $rc1: $(head -c 300 "$OUT/add1.txt"); "
grep -qE '^10\.0\.0\.100/32 scope global' <<< "$s1" || problem+="no 10.0.0.100/32; "
grep -qE '^192\.168\.50\.1/24 ' <<< "$s1" || problem+="no 192.168.50.1/24; "
grep -qE '^fd00::100/128 scope global nodad$' <<< "$s1" || problem+="no fd00::100/128 nodad (not tentative); "
[ "$(grep -c -E '^(10\.0\.0\.100|fd00::100|192\.168\.50\.1)/' <<< "$s1")" = 3 ] || problem+="not exactly 3 VIP entries; "
[ $rc2 = 0 ] && [ "$(cat "$OUT/add2.txt")" = "$want2" ] || problem+="second add: exit $rc2: $(head -c 300 "$OUT/add2.txt"); "
[ "$s1" = "$s2" ] || problem+="the second add changed the addresses; "
check vip-add "v4 /32, v6 /128 nodad, an explicit /24; again: already present, nothing changed" -- no_problem "$problem"

# ---- vip-bad-interface ----
problem=""
for cmd in "vip add nosuch0 10.0.0.100" "vip remove nosuch0 fd00::100" "announce nosuch0 10.0.0.100"; do
  read -ra args <<< "$cmd"
  rc=0; ip netns exec "$A" "$LVSYNC" netdev "${args[@]}" > "$OUT/bad.txt" 2>&1 || rc=$?
  echo "  $cmd: exit $rc: $(head -n 1 "$OUT/bad.txt")"
  case $cmd in
    "vip add"*) want="add address 10.0.0.100/32 to nosuch0: No such device (errno 19)" ;;
    "vip remove"*) want="remove address fd00::100/128 from nosuch0: No such device (errno 19)" ;;
    *) want="announce 10.0.0.100 on nosuch0: No such device (errno 19)" ;;
  esac
  [ $rc = 1 ] && grep -qF "$want" "$OUT/bad.txt" || problem+="$cmd: exit $rc, wanted '$want': $(head -c 200 "$OUT/bad.txt"); "
done
[ "$(addrs "$A" va)" = "$s1" ] || problem+="the addresses of va changed; "
check vip-bad-interface "add, remove and announce on nosuch0 name it: No such device (errno 19)" -- no_problem "$problem"

# ---- announce-garp, announce-na ----
# check_announcements PCAP MAC LINKLOCAL: one normalised line per ARP or neighbour advertisement in the capture
check_announcements() {
  "$PY" - "$@" <<'PY'
import ipaddress, struct, sys
data = open(sys.argv[1], "rb").read()
mac = lambda b: b.hex(":")
off = 24
while off + 16 <= len(data):
    _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
    f = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    dst, src, etype = f[0:6], f[6:12], struct.unpack("!H", f[12:14])[0]
    if etype == 0x0806:
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", f[14:22])
        sha, spa, tha, tpa = f[22:28], f[28:32], f[32:38], f[38:42]
        print("ARP dst=%s src=%s htype=%d ptype=%04x hlen=%d plen=%d op=%d sha=%s spa=%s tha=%s tpa=%s len=%d" % (
            mac(dst), mac(src), htype, ptype, hlen, plen, op, mac(sha), ipaddress.ip_address(spa), mac(tha),
            ipaddress.ip_address(tpa), len(f)))
    elif etype == 0x86DD and f[20] == 58 and f[54] == 136:
        ip6, icmp = f[14:54], f[54:]
        plen = struct.unpack("!H", ip6[4:6])[0]
        s6, d6 = ip6[8:24], ip6[24:40]
        msg = icmp[:plen]
        pseudo = s6 + d6 + struct.pack("!IxxxB", len(msg), 58)
        blob = pseudo + msg + (b"\0" if len(msg) % 2 else b"")
        total = sum(struct.unpack("!%dH" % (len(blob) // 2), blob))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        flags = msg[4]
        opts, tlla = msg[24:], "none"
        while len(opts) >= 8 and opts[1]:
            if opts[0] == 2:
                tlla = mac(opts[2:8])
            opts = opts[opts[1] * 8:]
        print("NA dst=%s src=%s ip6src=%s ip6dst=%s hlim=%d code=%d R=%d S=%d O=%d target=%s tlla=%s cksum=%s len=%d" % (
            mac(dst), mac(src), ipaddress.ip_address(s6), ipaddress.ip_address(d6), ip6[7], msg[1], flags >> 7 & 1,
            flags >> 6 & 1, flags >> 5 & 1, ipaddress.ip_address(msg[8:24]), tlla,
            "ok" if total == 0xFFFF else "bad", len(msg)))
PY
}
# neigh NS ADDR: the lladdr the namespace's cache holds for ADDR on vb, or "none"
neigh() { ip -n "$1" neigh show "$2" dev vb | grep -oE 'lladdr [0-9a-f:]+' | cut -d' ' -f2 || echo none; }
# capture_start NAME: tcpdump on vb in vipb (ARP and ICMPv6) until capture_stop
capture_start() {
  ip netns exec "$B" tcpdump -i vb -w "$OUT/$1.pcap" -U -Z root -n 'arp or icmp6' 2> "$LOGDIR/tcpdump-$1.log" &
  CAP=$!; BG_PIDS+=("$CAP")
  for _ in $(seq 100); do grep -q 'listening on' "$LOGDIR/tcpdump-$1.log" && return 0; sleep 0.1; done
  echo "tcpdump did not start: $(cat "$LOGDIR/tcpdump-$1.log")" >&2; return 1
}
capture_stop() { sleep 1; kill -TERM "$CAP" 2>/dev/null || true; wait "$CAP" 2>/dev/null || true; }

LL_A=$(ip -n "$A" -6 -o addr show dev va scope link | grep -oE 'fe80::[0-9a-f:]+' | head -1)
ip -n "$B" neigh replace 10.0.0.100 lladdr "$FAKE" dev vb nud stale
ip -n "$B" -6 neigh replace fd00::100 lladdr "$FAKE" dev vb nud stale
before4=$(neigh "$B" 10.0.0.100); before6=$(neigh "$B" fd00::100)
capture_start announce
rc=0
ip netns exec "$A" "$LVSYNC" netdev announce va 10.0.0.100 fd00::100 --count 3 --interval-ms 100 \
  > "$OUT/announce.txt" 2>&1 || rc=$?
capture_stop
after4=$(neigh "$B" 10.0.0.100); after6=$(neigh "$B" fd00::100)
check_announcements "$OUT/announce.pcap" > "$OUT/announce.lines" 2> "$LOGDIR/check.err" || true
tcpdump -r "$OUT/announce.pcap" -n -e -v > "$OUT/announce.tcpdump.txt" 2>&1 || true
echo "  announce: exit $rc: $(tr '\n' ';' < "$OUT/announce.txt")"
sed 's/^/    /' "$OUT/announce.lines"
echo "  neighbour cache: 10.0.0.100 $before4 -> $after4, fd00::100 $before6 -> $after6"
ip -n "$B" -s neigh show dev vb | sed 's/^/    /'
ip -n "$B" -6 -s neigh show dev vb | sed 's/^/    /'

GARP="ARP dst=ff:ff:ff:ff:ff:ff src=$MAC_A htype=1 ptype=0800 hlen=6 plen=4 op=1 sha=$MAC_A spa=10.0.0.100 tha=00:00:00:00:00:00 tpa=10.0.0.100 len=60"
NA="NA dst=33:33:00:00:00:01 src=$MAC_A ip6src=$LL_A ip6dst=ff02::1 hlim=255 code=0 R=0 S=0 O=1 target=fd00::100 tlla=$MAC_A cksum=ok len=32"
problem=""
[ $rc = 0 ] && grep -qx "va 10.0.0.100 is at $MAC_A (gratuitous ARP), sent 3" "$OUT/announce.txt" ||
  problem+="lvsync: exit $rc: $(head -c 200 "$OUT/announce.txt"); "
n=$(grep -c '^ARP ' "$OUT/announce.lines" || true); good=$(grep -cxF "$GARP" "$OUT/announce.lines" || true)
[ "$n" = 3 ] && [ "$good" = 3 ] || problem+="$good of $n ARP frames as wanted (3): $(grep -m1 '^ARP ' "$OUT/announce.lines" || true); "
[ "$before4" = "$FAKE" ] || problem+="the neighbour's entry was $before4 before, not the made-up $FAKE; "
[ "$after4" = "$MAC_A" ] || problem+="the neighbour's entry is $after4 after, not $MAC_A; "
check announce-garp "3 gratuitous ARP requests as wanted; the neighbour's entry moved $FAKE -> $MAC_A" -- no_problem "$problem"

problem=""
[ -n "$LL_A" ] || problem+="va has no link-local address; "
[ $rc = 0 ] && grep -qx "va fd00::100 is at $MAC_A (unsolicited NA), sent 3" "$OUT/announce.txt" ||
  problem+="lvsync: exit $rc: $(head -c 200 "$OUT/announce.txt"); "
n=$(grep -c '^NA ' "$OUT/announce.lines" || true); good=$(grep -cxF "$NA" "$OUT/announce.lines" || true)
[ "$n" = 3 ] && [ "$good" = 3 ] || problem+="$good of $n NAs as wanted (3): $(grep -m1 '^NA ' "$OUT/announce.lines" || true); "
[ "$before6" = "$FAKE" ] || problem+="the neighbour's entry was $before6 before, not the made-up $FAKE; "
[ "$after6" = "$MAC_A" ] || problem+="the neighbour's entry is $after6 after, not $MAC_A; "
check announce-na "3 unsolicited NAs (O only, hop limit 255, TLLA, checksum ok); the entry moved $FAKE -> $MAC_A" -- no_problem "$problem"

# the checker on packets that differ: lib/announce.py sets Router in its NA; it must not pass as lvsync's
capture_start reference
ip netns exec "$A" "$PY" "$LAB/lib/announce.py" va 10.0.0.100 fd00::100 > "$LOGDIR/announce-py.log" 2>&1 || true
capture_stop
check_announcements "$OUT/reference.pcap" > "$OUT/reference.lines" 2>> "$LOGDIR/check.err" || true
sed 's/^/    reference: /' "$OUT/reference.lines"
ref_na=$(grep -c '^NA ' "$OUT/reference.lines" || true)
ref_garp=$(grep -cxF "$GARP" "$OUT/reference.lines" || true)
if [ "$ref_na" = 2 ] && ! grep -qxF "$NA" "$OUT/reference.lines" && grep -q '^NA .* R=1 S=0 O=1 ' "$OUT/reference.lines" &&
   [ "$ref_garp" = 2 ]; then
  pass announce-checker "announce.py's 2 NAs (R=1) are refused, its 2 gratuitous ARPs match lvsync's"
else
  fail announce-checker "$ref_na NAs, $ref_garp matching ARPs: $(tr '\n' ';' < "$OUT/reference.lines")"
fi

# ---- vip-remove ----
rc1=0; "$LVSYNC" netdev vip remove va 10.0.0.100 fd00::100 192.168.50.1/24 --namespace "$A" > "$OUT/rm1.txt" 2>&1 || rc1=$?
s3=$(addrs "$A" va)
rc2=0; ip netns exec "$A" "$LVSYNC" netdev vip remove va 10.0.0.100 fd00::100 192.168.50.1/24 > "$OUT/rm2.txt" 2>&1 || rc2=$?
echo "  remove: $(tr '\n' ';' < "$OUT/rm1.txt") | again: $(tr '\n' ';' < "$OUT/rm2.txt")"
while read -r line; do echo "    $line"; done <<< "$s3"
want1=$'removed 10.0.0.100/32 on va\nremoved fd00::100/128 on va\nremoved 192.168.50.1/24 on va'
want2=$'10.0.0.100/32 on va: not present\nfd00::100/128 on va: not present\n192.168.50.1/24 on va: not present'
own=$(grep -vE '^(10\.0\.0\.100|fd00::100|192\.168\.50\.1)/' <<< "$s1")
problem=""
[ $rc1 = 0 ] && [ "$(cat "$OUT/rm1.txt")" = "$want1" ] || problem+="first remove: exit $rc1: $(head -c 300 "$OUT/rm1.txt"); "
[ $rc2 = 0 ] && [ "$(cat "$OUT/rm2.txt")" = "$want2" ] || problem+="second remove: exit $rc2: $(head -c 300 "$OUT/rm2.txt"); "
! grep -qE '^(10\.0\.0\.100|fd00::100|192\.168\.50\.1)/' <<< "$s3" || problem+="a VIP is still there; "
[ "$s3" = "$own" ] && grep -q '^10\.0\.0\.2/24 ' <<< "$s3" && grep -q '^fd00::2/64 ' <<< "$s3" ||
  problem+="va's own addresses changed; "
[ "$(addrs "$A" va)" = "$s3" ] || problem+="the second remove changed the addresses; "
check vip-remove "all three gone, va's own addresses kept; again: not present" -- no_problem "$problem"

# ---- iface-state ----
# state_until WANT: `lvsync netdev state va` until it prints WANT (the kernel's linkwatch sets IFF_RUNNING a
# moment after the carrier changes); the last line printed
state_until() {
  local got=""
  for _ in $(seq 50); do
    got=$(ip netns exec "$A" "$LVSYNC" netdev state va 2>&1) || got="exit $?: $got"
    [ "$got" = "$1" ] && break
    sleep 0.1
  done
  echo "$got"
}
problem="" seen=""
step() {  # WANT: the state after the change made before it
  local got; got=$(state_until "$1"); seen+="$got; "
  [ "$got" = "$1" ] || problem+="wanted '$1', got '$got'; "
}
step "va up running"
ip -n "$B" link set vb down; step "va up no-carrier"
ip -n "$B" link set vb up; step "va up running"
ip -n "$A" link set va down; step "va down"
ip -n "$A" link del va; step "va missing"
echo "  states: $seen"
check iface-state "$seen" -- no_problem "$problem"
