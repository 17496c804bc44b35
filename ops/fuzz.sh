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
# Seed with every golden message (one file per hex line) and the golden pcaps and /proc tables.
if [ -d Tests/Fixtures ]; then
    while IFS= read -r -d '' hexfile; do
        n=0
        while IFS= read -r line; do
            case "$line" in ''|'#'*) continue ;; esac
            n=$((n + 1))
            printf '%s' "$line" | xxd -r -p > "$corpus/$(basename "$(dirname "$hexfile")")-$n.bin" 2>/dev/null || true
        done < "$hexfile"
    done < <(find Tests/Fixtures -name '*.hex' -print0)
    find Tests/Fixtures \( -name '*.pcap' -o -name '*ip_vs_conn*' \) -exec cp {} "$corpus/" \;
fi

echo "fuzz: running for ${seconds}s"
"$binary" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=5 -print_final_stats=1 2>&1 | tail -n 12
