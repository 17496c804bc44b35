#!/usr/bin/env bash
# lvsync's one test command: installs what it needs, then runs everything.
#
#   ops/test.sh            (as root on a Debian 12 machine with Swift 6; CI runs exactly this)
#   ops/test.sh [--repeat N] [--hog]
#       --repeat N   the lab N times (the flake detector: every lab check's pass rate over the N runs)
#       --hog        a CPU hog (stress-ng --cpu 1) beside the whole run, as on a busy CI machine
#
#   1. build dependencies (ops/install-deps.sh) and the real-kernel lab (ops/lab/setup.sh)
#   2. swift format lint, clean
#   3. swift build and swift test (the pure modules' unit and property tests)
#   4. the alert rules (promtool check rules; promtool test rules on series recorded from the lab pair), and the
#      install (ops/install.sh into a scratch folder: the unit verified, the man page rendered, completions)
#   5. the decoders under libFuzzer + AddressSanitizer for a bounded time (ops/fuzz.sh; FUZZ_SECONDS, default 60)
#   6. the release build of lvsync (ops/build-release.sh: the Swift runtime linked in), its Debian package
#      (ops/package/build-deb.sh), and the package proven on a clean Debian 12 root made by debootstrap
#      (ops/package/test-deb.sh: installed with dpkg, run with no Swift anywhere)
#   7. the lab: a QEMU guest with a Debian IPVS kernel runs the scenarios in ops/lab/scenarios against the lvsync
#      of that package (ops/lab/run-tests.sh), the scale scenario last
#
# The last line is "total: N passed, M failed"; the exit status is 0 only if every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
REPEAT=1 HOG=0
while [ $# -gt 0 ]; do
  case $1 in
    --repeat) REPEAT=${2:?--repeat N}; shift 2 ;;
    --hog) HOG=1; shift ;;
    *) echo "usage: ops/test.sh [--repeat N] [--hog]" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
passed=0
failed=0
results=$(mktemp -d /tmp/lvsync-test.XXXXXX)

step "dependencies"
bash ops/install-deps.sh
bash ops/lab/setup.sh | tail -n 3
t_start=$(date +%s)
if [ "$HOG" = 1 ]; then
  stress-ng --cpu 1 --quiet > /dev/null 2>&1 &
  hog=$!
  trap 'kill $hog 2>/dev/null || true' EXIT
  echo "a CPU hog beside the run: stress-ng --cpu 1 (pid $hog)"
fi

step "swift format lint"
if swift format lint --strict -r Sources Tests Fuzz Package.swift > "$results/format.log" 2>&1; then
    echo "format: clean"
    passed=$((passed + 1))
else
    cat "$results/format.log"
    echo "FAIL format: swift format lint found the problems above (fix with: swift format -i -r Sources Tests Fuzz Package.swift)"
    failed=$((failed + 1))
fi

step "swift build and swift test"
swift build 2>&1 | tail -n 3
set +e
swift test 2>&1 | tee "$results/swift-test.log" | grep -E '✘|error:|Test run with|Executed [0-9]+ tests' 
test_status=${PIPESTATUS[0]}
set -e
swift_total=$(grep -oE 'Test run with [0-9]+ tests?' "$results/swift-test.log" | grep -oE '[0-9]+' | tail -n 1)
# Skipped tests (the kernel tests, which run in the lab instead) are not counted as passed.
swift_skipped=$(grep -cE '^[^ ]+ Test "[^"]*" skipped' "$results/swift-test.log" || true)
swift_passed=$(( ${swift_total:-0} - ${swift_skipped:-0} ))
if [ "$test_status" = 0 ]; then
    passed=$((passed + ${swift_passed:-0}))
else
    echo "FAIL swift test: exit status $test_status (log: $results/swift-test.log)"
    failed=$((failed + 1))
fi

step "the alert rules (promtool)"
# Checked (syntax, templates), then each alert made to fire on series recorded from the lab pair
# (ops/prometheus/lab-scrape: the operate scenario's scrapes; that scenario does the same on its own fresh scrapes).
mkdir -p "$results/alerts"
if out=$(promtool check rules ops/prometheus/lvsync-alerts.yaml 2>&1); then
    echo "PASS alerts-check: promtool check rules: $(grep -o '[0-9]* rules found' <<< "$out")" | tee "$results/alerts.log"
else
    echo "FAIL alerts-check: $(tr '\n' ' ' <<< "$out")" | tee "$results/alerts.log"
fi
if /usr/bin/python3 ops/prometheus/alert-tests.py ops/prometheus/lvsync-alerts.yaml ops/prometheus/lab-scrape/dira-active.txt \
    ops/prometheus/lab-scrape/dirb-standby.txt "$results/alerts" > "$results/alerts/generate.log" 2>&1 &&
  promtool test rules "$results/alerts/tests.yaml" > "$results/alerts/promtool.log" 2>&1; then
    echo "PASS alerts-test: promtool test rules on the lab pair's recorded series: $(cat "$results/alerts/generate.log"), each alert fires on its fault, none on the healthy pair" | tee -a "$results/alerts.log"
else
    echo "FAIL alerts-test: $(cat "$results/alerts/generate.log") $(head -c 1000 "$results/alerts/promtool.log")" | tee -a "$results/alerts.log"
fi
passed=$((passed + $(grep -c '^PASS ' "$results/alerts.log" || true)))
failed=$((failed + $(grep -c '^FAIL ' "$results/alerts.log" || true)))

step "the install, staged into a scratch folder"
bash ops/check-install.sh .build/debug/lvsync | tee "$results/install.log"
passed=$((passed + $(grep -c '^PASS ' "$results/install.log" || true)))
failed=$((failed + $(grep -c '^FAIL ' "$results/install.log" || true)))
[ -s "$results/install.log" ] || failed=$((failed + 1))

step "fuzzing the decoders"
if bash ops/fuzz.sh "${FUZZ_SECONDS:-60}" > "$results/fuzz.log" 2>&1; then
    grep -E 'Done [0-9]+ runs' "$results/fuzz.log" || true
    echo "PASS fuzz"
    passed=$((passed + 1))
else
    tail -n 40 "$results/fuzz.log"
    echo "FAIL fuzz: a crash or sanitizer report (log: $results/fuzz.log)"
    failed=$((failed + 1))
fi

# The lab runs the packaged binary: the release build a director runs (a debug build costs the emulated guest a third
# more time: chaos 504 s debug, 321 s release), from the Debian package proven on a clean Debian 12 root.
step "release build, the Debian package on a clean debootstrap root"
binary=$(bash ops/build-release.sh | tail -n 1)
mkdir -p "$results/package"
if deb=$(bash ops/package/build-deb.sh --binary "$binary" --out "$results/package" 2> "$results/package/build.log" | tail -n 1) &&
  [ -f "$deb" ]; then
    echo "PASS deb-build: $(basename "$deb") ($(( $(stat -c %s "$deb") / 1048576 )) MB)" | tee "$results/package.log"
    bash ops/package/test-deb.sh "$deb" | tee -a "$results/package.log"
    dpkg-deb -x "$deb" "$results/package/root"
    lab_binary=$results/package/root/usr/sbin/lvsync
else
    cat "$results/package/build.log"
    echo "FAIL deb-build: ops/package/build-deb.sh failed (the lab runs the unpackaged release build)" | tee "$results/package.log"
    lab_binary=$binary
fi
passed=$((passed + $(grep -c '^PASS ' "$results/package.log" || true)))
failed=$((failed + $(grep -c '^FAIL ' "$results/package.log" || true)))

step "real-kernel lab"
set +e
LVSYNC="$lab_binary" LVSYNC_RELEASE="$lab_binary" bash ops/lab/run-tests.sh --results "$results/lab" --repeat "$REPEAT" | tee "$results/lab.log"
lab_status=${PIPESTATUS[0]}
set -e
lab_passed=$(grep -oE '^[0-9]+ passed, [0-9]+ failed$' "$results/lab.log" | tail -n 1 | cut -d' ' -f1)
lab_failed=$(grep -oE '^[0-9]+ passed, [0-9]+ failed$' "$results/lab.log" | tail -n 1 | cut -d' ' -f3)
passed=$((passed + ${lab_passed:-0}))
failed=$((failed + ${lab_failed:-0}))
if [ "$lab_status" != 0 ] && [ "${lab_failed:-0}" = 0 ]; then failed=$((failed + 1)); fi

echo
echo "results and logs: $results"
echo "time: $(( ($(date +%s) - t_start) / 60 )) min $(( ($(date +%s) - t_start) % 60 )) s"
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]
