#!/usr/bin/env bash
# lvsync's demo: a director pair with the kernel's real IPVS, in the lab guest.
#
#   ops/demo.sh            (as root on a Debian 12 machine with Swift 6; from anywhere)
#
# Installs what it needs (ops/install-deps.sh, ops/lab/setup.sh: Debian packages,
# virtme-ng, a Debian 6.1 kernel with IPVS), builds lvsync (release, incremental),
# then boots ONE QEMU guest that runs
# ops/lab/demo/pair.sh and narrates:
#   1. dirA (active, the VIPs) and dirB (standby) come up, kernel sync MASTER on
#      dirA's dummy lvsync0, BACKUP on dirB's own dummy (nothing crosses between them)
#   2. `lvsync capture` on dirA's lvsync0
#   3. client traffic: TCP v4 DR, TCP v6 NAT, fwmark and SCTP connections held
#      open, UDP, SIP and IPv6-tunnel flows
#   4. `lvsync decode` of the capture: the table and the entries per service
#   5. `lvsync replay` into dirB's kernel backup sync thread: dirB's table
#   6. failover: dirA goes down, dirB takes the VIPs and the NAT gateway
#      addresses; every held connection is tested again, and a control set
#      opened after the capture (never replayed) must die
#   7. a summary
# Exit status 0 only if every replayed connection survived (and no control one).
# env LVSYNC: another lvsync binary (default .build/release/lvsync).
# The transcript, the captured messages and every log stay in the results
# directory printed at the end (a new /tmp/lvsync-demo.XXXXXX).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it installs packages and boots a VM): sudo ops/demo.sh" >&2; exit 1; }

echo "== what the demo needs"
bash ops/install-deps.sh
bash ops/lab/setup.sh
if [ -z "${LVSYNC:-}" ]; then
  # Always build: incremental, and a stale binary from an older checkout would demo old code.
  echo "== swift build -c release"
  swift build -c release 2>&1 | tail -n 3
  LVSYNC=$PWD/.build/release/lvsync
fi
[ -x "$LVSYNC" ] || { echo "demo: no $LVSYNC after the build" >&2; exit 1; }
case $LVSYNC in /*) ;; *) LVSYNC=$PWD/$LVSYNC ;; esac

RES=$(mktemp -d /tmp/lvsync-demo.XXXXXX)
echo "== booting the lab guest (QEMU without KVM, Debian's 6.1 kernel with IPVS): about 1-2 minutes"
t0=$(date +%s)
set +e
ops/lab/vm-run.sh --rwdir "$RES" --timeout "${DEMO_TIMEOUT:-900}" --log "$RES/console.log" -- \
  bash ops/lab/demo/pair.sh "$RES" "$LVSYNC" | tee "$RES/demo.txt"
rc=${PIPESTATUS[0]}
set -e
echo
case $rc in
  0) verdict="passed" ;;
  124) verdict="FAILED: the guest timed out" ;;
  125) verdict="FAILED: the guest did not report (see $RES/console.log)" ;;
  *) verdict="FAILED (exit $rc)" ;;
esac
echo "demo $verdict in $(( $(date +%s) - t0 )) s (guest boot included); transcript and logs: $RES"
exit "$rc"
