#!/bin/bash
# Run lvsync's real-kernel lab tests: every ops/lab/scenarios/*.sh whose name
# does not start with record-, all in ONE guest boot.
#
#   ops/lab/run-tests.sh [--results DIR] [--timeout SECS]   (as root)
#   env LVSYNC  the binary under test (default: REPO/.build/debug/lvsync)
#
# Prints every PASS/FAIL line, then exactly "N passed, M failed". Exit status:
# 0 if all passed; 1 if a check failed, the binary is missing, or the guest
# failed or timed out. Results, logs and the console go to the results dir
# (default: a new /tmp/lvsync-lab.XXXXXX).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$REPO/ops/lab
RES='' TIMEOUT=1800
while [ $# -gt 0 ]; do
  case $1 in
    --results) RES=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    *) echo "usage: run-tests.sh [--results DIR] [--timeout SECS]" >&2; exit 2 ;;
  esac
done
[ -n "$RES" ] || RES=$(mktemp -d /tmp/lvsync-lab.XXXXXX)
mkdir -p "$RES"; RES=$(realpath "$RES")
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}

finish() {  # print the collected lines and the tally, exit accordingly
  local lines pass fail
  lines=$(cat "$RES"/*/results.txt "$RES/host-results.txt" 2>/dev/null || true)
  [ -z "$lines" ] || echo "$lines"
  pass=$(grep -c '^PASS ' <<< "$lines" || true)
  fail=$(grep -c '^FAIL ' <<< "$lines" || true)
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}
: > "$RES/host-results.txt"

bash "$LAB/setup.sh" > "$RES/setup.log" 2>&1 || { cat "$RES/setup.log" >&2; echo "FAIL lab-setup: ops/lab/setup.sh failed" >> "$RES/host-results.txt"; finish; exit 1; }
if [ ! -x "$LVSYNC" ]; then
  echo "FAIL lab: lvsync binary not found or not executable: $LVSYNC (swift build first)" >> "$RES/host-results.txt"
  finish || exit 1
fi
LVSYNC=$(realpath "$LVSYNC")

SCEN=()
for s in "$LAB"/scenarios/*.sh; do
  case $(basename "$s") in record-*) ;; *) SCEN+=("$s") ;; esac
done

echo "lab: ${#SCEN[@]} scenario(s), results in $RES"
t0=$(date +%s)
rc=0
"$LAB/vm-run.sh" --rwdir "$RES" --timeout "$TIMEOUT" --log "$RES/console.log" -- \
  bash "$LAB/lib/run-scenarios.sh" "$RES" "$LVSYNC" "${SCEN[@]}" || rc=$?
echo "lab: guest ran $(( $(date +%s) - t0 )) s (boot included), status $rc"
case $rc in
  0) ;;
  124) echo "FAIL lab-guest: timed out after ${TIMEOUT}s" >> "$RES/host-results.txt" ;;
  *) echo "FAIL lab-guest: vm-run.sh exited $rc (see $RES/console.log)" >> "$RES/host-results.txt" ;;
esac
# a scenario cut off by the guest's end left output but no results
for d in "$RES"/*/; do
  if [ -e "$d/output.txt" ] && [ ! -e "$d/results.txt" ]; then
    echo "FAIL $(basename "$d"): did not finish (see $d/output.txt)" >> "$RES/host-results.txt"
  fi
done
finish
