#!/bin/bash
# In the guest: run scenarios one after another (one boot for all of them).
#   run-scenarios.sh RESULTS LVSYNC SCENARIO.sh...
# Each scenario gets RESULTS/<name>/ as its OUTDIR and LVSYNC in its
# environment; its output goes to RESULTS/<name>/output.txt, its PASS/FAIL
# lines to RESULTS/<name>/results.txt, its wall time to RESULTS/timings.txt.
set -euo pipefail
RES=$1 LVSYNC=$2; shift 2
export LVSYNC
: > "$RES/timings.txt"
for s in "$@"; do
  name=$(basename "$s" .sh)
  mkdir -p "$RES/$name"
  t0=$(date +%s.%N); rc=0
  bash "$s" "$RES/$name" > "$RES/$name/output.txt" 2>&1 || rc=$?
  t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  grep -E '^(PASS|FAIL) ' "$RES/$name/output.txt" > "$RES/$name/results.txt" || true
  # a scenario that died without saying why still counts as a failure
  if [ $rc != 0 ] && ! grep -q '^FAIL ' "$RES/$name/results.txt"; then
    echo "FAIL $name: scenario exited $rc (see $RES/$name/output.txt)" >> "$RES/$name/results.txt"
  fi
  echo "$name $t s exit $rc" | tee -a "$RES/timings.txt"
done
