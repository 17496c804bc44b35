#!/usr/bin/env bash
# lvsync bench ipvs beside ipvsadm, in the lab guest (a real IPVS kernel): 1000 services x 10 real servers.
#   ops/bench-ipvs.sh [SERVICES] [REAL_SERVERS]     (as root; builds the release binary if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash ops/install-deps.sh
bash ops/lab/setup.sh > /dev/null
{ [ -x .build/release/lvsync ] && [ -x .build/release/lvsync-bench ]; } || swift build -c release 2>&1 | tail -n 2
out=$(mktemp -d /tmp/lvsync-bench-ipvs.XXXXXX)
ops/lab/vm-run.sh --rwdir "$out" --timeout 900 -- bash ops/lab/bench/ipvs.sh "$out" "$PWD/.build/release/lvsync" "$@"
echo "results: $out"
