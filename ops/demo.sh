#!/usr/bin/env bash
# lvsync's demo: a director pair with the kernel's real IPVS, in the lab guest.
#
#   ops/demo.sh            (as root on a Debian 12 machine with Swift 6; from anywhere)
#
# Installs what it needs (ops/install-deps.sh, ops/lab/setup.sh: Debian packages,
# virtme-ng, a Debian 6.1 kernel with IPVS), builds lvsync (release, incremental),
# then boots ONE QEMU guest that runs ops/lab/demo/elected.sh and narrates:
#   1. the lab: client, dirA, dirB, rs1, rs2 (network namespaces), the directors' own link peer0
#   2. `lvsync run` in dirA and dirB with examples/director-a.yaml and director-b.yaml: IPVS converged from the
#      config, dirA elected (the VIPs), dirB an in-sync standby; `lvsync ipvs list`, `lvsync status` of both
#   3. client flows: 44 long-lived TCP connections echoing every 100 ms (DR, and IPv6 NAT), 8 idle ones, SIP
#      calls, persistent UDP; `lvsync conns`, `lvsync stats --follow`
#   4. a planned drill, `lvsync drill`, and its report
#   5. an unplanned failover: the active's lvsync killed (SIGKILL), the standby takes over; the killed one comes
#      back as a standby
#   6. the streamed sync statistics (JSON log lines)
#   7. a summary: connections survived, calls kept, time to the first packet served by the new active
# Exit status 0 only if every connection survived both failovers.
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
  echo "== ops/build-release.sh (release, the Swift runtime linked in: what the Debian package holds)"
  LVSYNC=$(bash ops/build-release.sh | tail -n 1)
fi
[ -x "$LVSYNC" ] || { echo "demo: no $LVSYNC after the build" >&2; exit 1; }
case $LVSYNC in /*) ;; *) LVSYNC=$PWD/$LVSYNC ;; esac

RES=$(mktemp -d /tmp/lvsync-demo.XXXXXX)
echo "== booting the lab guest (QEMU without KVM, Debian's 6.1 kernel with IPVS): about 3 minutes"
t0=$(date +%s)
set +e
ops/lab/vm-run.sh --rwdir "$RES" --timeout "${DEMO_TIMEOUT:-900}" --log "$RES/console.log" -- \
  bash ops/lab/demo/elected.sh "$RES" "$LVSYNC" | tee "$RES/demo.txt"
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
