#!/usr/bin/env bash
# Fuzzes the SyncWire decoders (sync messages, /proc tables, hex lines, pcap files) with libFuzzer and
# AddressSanitizer for a bounded time. Exits non-zero on any crash, trap or sanitizer report.
#
#   ops/fuzz.sh [SECONDS]      (default 60)
#
# The corpus starts from the project's golden captures and grows in .build-fuzz/corpus (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scratch=.build-fuzz
binary="$scratch/fuzz-syncwire"
mkdir -p "$scratch"
# One module: the SyncWire sources plus the entry point, instrumented for coverage and checked by ASan.
mapfile -t sources < <(find Sources/SyncWire -name '*.swift' | sort)
swiftc -swift-version 6 -module-name SyncWire -parse-as-library -O -g \
    -sanitize=fuzzer,address "${sources[@]}" Fuzz/FuzzSyncWire.swift -o "$binary" 2> "$scratch/build.log" || {
    cat "$scratch/build.log" >&2
    exit 1
}

corpus="$scratch/corpus"
mkdir -p "$corpus"
# Seed with every golden message (one file per hex line), the golden pcaps and the /proc tables.
if [ -d Tests/Fixtures ]; then
    python3 - "$corpus" <<'PY'
import pathlib, sys
corpus = pathlib.Path(sys.argv[1])
for hexfile in pathlib.Path("Tests/Fixtures").rglob("*.hex"):
    lines = [l for l in hexfile.read_text().split("\n") if l.strip() and not l.startswith("#")]
    for n, line in enumerate(lines):
        name = "-".join(hexfile.parent.parts[-2:]) + f"-{n}.bin"
        (corpus / name).write_bytes(bytes.fromhex(line.replace(" ", "")))
PY
    find Tests/Fixtures \( -name '*.pcap' -o -name '*ip_vs_conn*' \) -exec cp {} "$corpus/" \;
fi

echo "fuzz: running for ${seconds}s"
# Crashes are libFuzzer's to report (with the input saved as crash-*), not Swift's interactive backtracer's.
export SWIFT_BACKTRACE=enable=no
status=0
(cd "$scratch" && "./$(basename "$binary")" corpus -max_total_time="$seconds" -max_len=4096 -timeout=5 \
    -print_final_stats=1) > "$scratch/fuzz.log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
    grep -E 'ERROR|SUMMARY|#[0-9]+ .* in .*(SyncWire|Fuzz)|runtime failure|Test unit written|Base64' "$scratch/fuzz.log" | head -n 30
    echo "fuzz: FAILED (exit $status); full log: $scratch/fuzz.log"
    exit 1
fi
grep -E '^Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$scratch/fuzz.log"
