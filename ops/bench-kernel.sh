#!/usr/bin/env bash
# The sync's new-connection rate in the real kernel, lvsync beside the kernel's own sync, in the lab guest.
#   ops/bench-kernel.sh [SECONDS [RATE...]]     (as root; builds the release binary if missing)
# See ops/lab/bench/kernel-rate.sh for what is measured. Results: the printed table and the results folder.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash ops/install-deps.sh
bash ops/lab/setup.sh > /dev/null
[ -x .build/release/lvsync ] || swift build -c release --product lvsync 2>&1 | tail -n 2
out=$(mktemp -d /tmp/lvsync-bench-kernel.XXXXXX)
ops/lab/vm-run.sh --rwdir "$out" --timeout 1800 -- bash ops/lab/bench/kernel-rate.sh "$out" "$PWD/.build/release/lvsync" "$@"
echo "results: $out"
