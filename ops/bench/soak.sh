#!/usr/bin/env bash
# The failover soak with real packet loss (issue 19): runs `lvsync-bench failover --soak SECONDS` in a network
# namespace of its own whose loopback drops LOSS percent of the packets at random (nftables `numgen random`), both
# ways: the peer links' retransmissions are the kernel's own. WHAT says which packets: `link` (TCP: the peer links,
# the default, as the UDP path on a network of its own sees it) or `all` (the UDP heartbeats too: the path shares
# the lossy network). The
# bench adds a busy process per core and keeps a snapshot of the whole table streaming to the standby; every role
# change is a false failover. Prints the bench's JSON line, then the drop rule's counter.
#
#   ops/bench/soak.sh [SECONDS] [LOSS_PERCENT] [WHAT] [more lvsync-bench failover options]
#   e.g. ops/bench/soak.sh 600 1 link --connections 1000000 --udp-interval-ms 10 --detect-multiplier 3
#
# Needs root (a network namespace), nft (ops/install-deps.sh installs nftables) and a release build
# (swift build -c release; LVSYNC_BENCH names another lvsync-bench).
set -euo pipefail
seconds=${1:-600}
loss=${2:-1}
what=${3:-link}
shift $(( $# >= 3 ? 3 : $# ))
case $what in
  link) protocols=tcp ;;
  all) protocols="tcp, udp" ;;
  *) echo "soak: WHAT is link or all, not $what" >&2; exit 1 ;;
esac
here=$(cd "$(dirname "$0")/../.." && pwd)
bench=${LVSYNC_BENCH:-$here/.build/release/lvsync-bench}
[ -x "$bench" ] || { echo "soak: no $bench: build it with swift build -c release" >&2; exit 1; }
command -v nft >/dev/null || { echo "soak: nft is missing: ops/install-deps.sh installs nftables" >&2; exit 1; }
# numgen draws 0..9999: LOSS percent is LOSS*100 of them.
threshold=$(awk -v p="$loss" 'BEGIN { printf "%d", p * 100 }')
exec unshare --net bash -euo pipefail -c '
  bench=$1 seconds=$2 loss=$3 threshold=$4 protocols=$5 what=$6
  shift 6
  ip link set lo up
  nft add table inet soak
  nft add chain inet soak out "{ type filter hook output priority 0; }"
  nft add rule inet soak out oifname lo meta l4proto "{ $protocols }" numgen random mod 10000 "<" "$threshold" counter drop
  "$bench" failover --soak "$seconds" --loss-note "$loss % of the $what packets dropped ($protocols, nft numgen random)" "$@"
  nft list chain inet soak out | grep -o "counter packets [0-9]* bytes [0-9]*" | sed "s/^/soak: dropped: /"
' soak "$bench" "$seconds" "$loss" "$threshold" "$protocols" "$what" "$@"
