#!/bin/bash
# lvsync's IPVS control plane against the real kernel (run INSIDE the guest):
#   ipvs.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
#   ipvs-kernel: <test>      the IPVS module's Swift tests against this kernel (the test binary built next to
#                            LVSYNC, run with LVSYNC_KERNEL_TESTS=1): every operation read back, every error
#                            path (ESRCH, ENOENT, EEXIST, ERANGE, EINVAL, ENODEV) driven for real
#   ipvs-list-dirA           `lvsync ipvs list --namespace dirA --json` equals `ipvsadm -Ln` there, sync
#                            daemons included (`ipvsadm -L --daemon`)
#   ipvs-list-no-namespace   a missing namespace is named in a one-line error, exit 1
set -uo pipefail
OUT=$(realpath "${1:?usage: ipvs.sh OUTDIR}")
source "$(dirname "$0")/../lib/guest.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
TESTS=$(dirname "$LVSYNC")/lvsyncPackageTests.xctest
LOGDIR=$OUT/log
mkdir -p "$LOGDIR"
trap 'lab_down >/dev/null 2>&1 || true' EXIT

# 1. The Swift kernel tests, in this guest's own (otherwise unused) root namespace.
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_pe_sip; do modprobe "$m"; done
if [ -x "$TESTS" ]; then
  LVSYNC_KERNEL_TESTS=1 "$TESTS" --testing-library swift-testing --filter KernelIPVSTests \
    > "$OUT/kernel-tests.txt" 2>&1
  rc=$?
  sed -E 's/\x1b\[[0-9;]*m//g' "$OUT/kernel-tests.txt" > "$OUT/kernel-tests.plain.txt"
  grep -E '^[^ ]+ Test "' "$OUT/kernel-tests.plain.txt" | while IFS= read -r line; do
    name=$(sed -E 's/^[^ ]+ Test "([^"]*)".*/\1/' <<< "$line")
    case $line in
      *" passed after"*) echo "PASS ipvs-kernel: $name" ;;
      *" failed after"*) echo "FAIL ipvs-kernel: $name: $(grep -m3 -E 'Expectation failed|recorded an issue|Caught error' "$OUT/kernel-tests.plain.txt" | tr '\n' ' ' | head -c 600)" ;;
    esac
  done
  ran=$(grep -cE '^[^ ]+ Test "[^"]*" (passed|failed) after' "$OUT/kernel-tests.plain.txt")
  if [ "$rc" != 0 ] || [ "$ran" -lt 5 ]; then
    echo "FAIL ipvs-kernel-run: the test binary exited $rc after $ran tests (see $OUT/kernel-tests.txt)"
  fi
else
  echo "FAIL ipvs-kernel-run: no test binary at $TESTS (swift build --build-tests first)"
fi

# 2. lvsync's listing against ipvsadm's, on the lab's services in dirA, with both sync daemons running.
if ! lab_up; then
  echo "FAIL ipvs-list-dirA: the lab topology did not come up (see $LOGDIR/topo.log)"
  exit 0
fi
ip netns exec dirA ipvsadm --start-daemon master --mcast-interface lvsync0 --syncid 9
ip netns exec dirA ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid 9
ip netns exec dirA ipvsadm -Ln > "$OUT/dirA.ipvsadm.txt"
ip netns exec dirA ipvsadm -L --daemon > "$OUT/dirA.daemons.txt"
services=$(grep -cE '^(TCP|UDP|SCTP|FWM) ' "$OUT/dirA.ipvsadm.txt")
if [ "$services" -lt 7 ]; then
  echo "FAIL ipvs-list-dirA: ipvsadm lists $services services in dirA, the topology has 7"
elif "$LVSYNC" ipvs list --namespace dirA --json > "$OUT/dirA.list.json" 2> "$OUT/dirA.list.err"; then
  "$PY" "$LAB/lib/ipvs_compare.py" ipvs-list-dirA "$OUT/dirA.list.json" "$OUT/dirA.ipvsadm.txt" "$OUT/dirA.daemons.txt"
else
  echo "FAIL ipvs-list-dirA: lvsync ipvs list exited non-zero: $(head -c 300 "$OUT/dirA.list.err")"
fi
"$LVSYNC" ipvs list --namespace dirA > "$OUT/dirA.list.txt" 2>&1 || true

# 3. A clear error for a namespace that does not exist.
rc=0
"$LVSYNC" ipvs list --namespace lvsync-nowhere > "$OUT/nowhere.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "lvsync-nowhere" "$OUT/nowhere.txt" && [ "$(wc -l < "$OUT/nowhere.txt")" -le 2 ]; then
  echo "PASS ipvs-list-no-namespace: $(head -n 1 "$OUT/nowhere.txt")"
else
  echo "FAIL ipvs-list-no-namespace: exit $rc: $(head -c 300 "$OUT/nowhere.txt")"
fi
