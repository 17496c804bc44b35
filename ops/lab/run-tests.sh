#!/bin/bash
# Run lvsync's real-kernel lab tests: every ops/lab/scenarios/*.sh whose name
# does not start with record-, all in ONE guest boot (per repetition).
#
#   ops/lab/run-tests.sh [--results DIR] [--timeout SECS] [--repeat N] [--hog]   (as root)
#   env LVSYNC  the binary under test (default: REPO/.build/debug/lvsync)
#   env LVSYNC_RELEASE  a release build of it, for the scale scenario (default: REPO/.build/release/lvsync)
#   env LAB_SCENARIOS  a space-separated subset of scenario names (default: all; scale needs the release build,
#                      swift build -c release --product lvsync, which ops/test.sh makes)
#   env LAB_CLUSTER_BASELINES=1  the cluster scenario also runs its baselines (no sync; the kernel's own sync
#                      daemons) through the same phases: measured and reported, never required (default 0: the
#                      test command spares their 2.5 min; BENCHMARKS.md's figures are made with 1)
#
#   --repeat N  the flake detector: the whole lab N times, one boot each (results in DIR/run-K), then every
#               check's pass rate over the N runs (DIR/pass-rates.txt); a check that passed in one run and failed
#               in another is a flake
#   --hog       a CPU hog beside the guest for the whole time (stress-ng --cpu 1): the lab as a busy CI machine
#               runs it
#
# Prints every PASS/FAIL line, then exactly "N passed, M failed" (over all runs). Exit status: 0 if all passed;
# 1 if a check failed, the binary is missing, or the guest failed or timed out. Results, logs and the console go
# to the results dir (default: a new /tmp/lvsync-lab.XXXXXX).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LAB=$REPO/ops/lab
RES='' TIMEOUT=3600 REPEAT=1 HOG=0
while [ $# -gt 0 ]; do
  case $1 in
    --results) RES=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --hog) HOG=1; shift ;;
    *) echo "usage: run-tests.sh [--results DIR] [--timeout SECS] [--repeat N] [--hog]" >&2; exit 2 ;;
  esac
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run-tests.sh: --repeat wants a positive number, found '$REPEAT'" >&2; exit 2; }
[ -n "$RES" ] || RES=$(mktemp -d /tmp/lvsync-lab.XXXXXX)
mkdir -p "$RES"; RES=$(realpath "$RES")
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}

# lines RUNDIR: the PASS/FAIL lines of one run
lines() { cat "$1"/*/results.txt "$1/host-results.txt" 2>/dev/null || true; }
finish() {  # print the collected lines and the tally, exit accordingly
  local all pass fail
  all=$(for r in "${RUNS[@]}"; do lines "$r"; done)
  [ -z "$all" ] || echo "$all"
  if [ "$REPEAT" -gt 1 ]; then
    pass_rates > "$RES/pass-rates.txt"
    echo; cat "$RES/pass-rates.txt"
  fi
  pass=$(grep -c '^PASS ' <<< "$all" || true)
  fail=$(grep -c '^FAIL ' <<< "$all" || true)
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}
# pass_rates: every check's passes over the runs, flaky and failing ones first
pass_rates() {
  local r
  for r in "${RUNS[@]}"; do lines "$r" | awk '{ n = $2; sub(/:$/, "", n); print $1, n }' | sort -u; done |
    awk -v runs="${#RUNS[@]}" '
      { seen[$2] = 1; if ($1 == "PASS") pass[$2]++ }
      END {
        for (c in seen) printf "%5.1f%% %d/%d %s\n", 100 * pass[c] / runs, pass[c], runs, c
      }' | sort -k1,1n -k4 | { echo "pass rate over ${#RUNS[@]} runs (a check missing from a run counts as failed there):"; cat; }
}

HOG_PID=
stop_hog() { [ -z "$HOG_PID" ] || kill "$HOG_PID" 2>/dev/null || true; }
trap stop_hog EXIT
RUNS=("$RES")
[ "$REPEAT" = 1 ] || { RUNS=(); for k in $(seq "$REPEAT"); do RUNS+=("$RES/run-$k"); done; }
for r in "${RUNS[@]}"; do mkdir -p "$r"; : > "$r/host-results.txt"; done

if ! bash "$LAB/setup.sh" > "$RES/setup.log" 2>&1; then
  cat "$RES/setup.log" >&2; echo "FAIL lab-setup: ops/lab/setup.sh failed" >> "${RUNS[0]}/host-results.txt"; finish; exit 1
fi
if [ ! -x "$LVSYNC" ]; then
  echo "FAIL lab: lvsync binary not found or not executable: $LVSYNC (swift build first)" >> "${RUNS[0]}/host-results.txt"
  finish || exit 1
fi
LVSYNC=$(realpath "$LVSYNC")
LVSYNC_RELEASE=${LVSYNC_RELEASE:-$REPO/.build/release/lvsync}
[ ! -e "$LVSYNC_RELEASE" ] || LVSYNC_RELEASE=$(realpath "$LVSYNC_RELEASE")

SCEN=()
for s in "$LAB"/scenarios/*.sh; do
  name=$(basename "$s" .sh)
  case $name in record-*) continue ;; esac
  if [ -n "${LAB_SCENARIOS:-}" ] && ! grep -qw -- "$name" <<< "$LAB_SCENARIOS"; then continue; fi
  SCEN+=("$s")
done
# scale.sh leaves kernel tables of hundreds of thousands of connections, which take the emulated guest minutes to
# tear down: it runs last.
for i in "${!SCEN[@]}"; do
  if [ "$(basename "${SCEN[$i]}")" = scale.sh ]; then SCEN+=("${SCEN[$i]}"); unset "SCEN[$i]"; SCEN=("${SCEN[@]}"); break; fi
done

if [ "$HOG" = 1 ]; then
  command -v stress-ng > /dev/null || { echo "run-tests.sh: --hog needs stress-ng (ops/lab/setup.sh installs it)" >&2; exit 1; }
  stress-ng --cpu 1 --quiet > /dev/null 2>&1 &
  HOG_PID=$!
  echo "lab: a CPU hog beside the guest (stress-ng --cpu 1, pid $HOG_PID)"
fi

k=0
for r in "${RUNS[@]}"; do
  k=$((k + 1))
  echo "lab: ${#SCEN[@]} scenario(s), results in $r"
  t0=$(date +%s)
  rc=0
  "$LAB/vm-run.sh" --rwdir "$r" --timeout "$TIMEOUT" --log "$r/console.log" -- \
    env "LVSYNC_RELEASE=$LVSYNC_RELEASE" "LAB_CLUSTER_BASELINES=${LAB_CLUSTER_BASELINES:-0}" bash "$LAB/lib/run-scenarios.sh" "$r" "$LVSYNC" "${SCEN[@]}" || rc=$?
  echo "lab: guest ran $(( $(date +%s) - t0 )) s (boot included), status $rc"
  case $rc in
    0) ;;
    124) echo "FAIL lab-guest: timed out after ${TIMEOUT}s" >> "$r/host-results.txt" ;;
    *) echo "FAIL lab-guest: vm-run.sh exited $rc (see $r/console.log)" >> "$r/host-results.txt" ;;
  esac
  # a scenario cut off by the guest's end left output but no results
  for d in "$r"/*/; do
    if [ -e "$d/output.txt" ] && [ ! -e "$d/results.txt" ]; then
      echo "FAIL $(basename "$d"): did not finish (see $d/output.txt)" >> "$r/host-results.txt"
    fi
  done
  if [ "$REPEAT" -gt 1 ]; then
    echo "lab: run $k of $REPEAT: $(lines "$r" | grep -c '^PASS ' || true) passed, $(lines "$r" | grep -c '^FAIL ' || true) failed"
  fi
done
finish
