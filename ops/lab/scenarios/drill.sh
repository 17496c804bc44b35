#!/bin/bash
# The failover drill of the demo as a lab test (run INSIDE the guest):
#   drill.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
# Runs ops/lab/demo/pair.sh (kernel master on dirA -> `lvsync capture` -> `lvsync decode`
# -> `lvsync replay` into dirB's kernel backup -> dirA fails, dirB takes the VIPs) and checks:
#   drill-replayed-survive   every connection held open through dirA goes on through dirB
#   drill-control-dies       connections opened after the capture (never replayed) do not:
#                            the drill can tell a standby that knows from one that does not
set -uo pipefail
OUT=$(realpath "${1:?usage: drill.sh OUTDIR}")
LAB=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
bash "$LAB/demo/pair.sh" "$OUT" "$LVSYNC" > "$OUT/demo.txt" 2>&1
rc=$?
drill=$(grep -oE '^drill: [0-9]+/[0-9]+' "$OUT/demo.txt" | tail -n 1 | cut -d' ' -f2)
control=$(grep -oE '^control: [0-9]+/[0-9]+' "$OUT/demo.txt" | tail -n 1 | cut -d' ' -f2)
if [ -n "$drill" ] && [ "${drill%/*}" = "${drill#*/}" ] && [ "${drill#*/}" -gt 0 ]; then
  pass drill-replayed-survive "$drill held connections survived the failover"
else
  fail drill-replayed-survive "${drill:-no drill result} (pair.sh exit $rc; $(grep -m1 'FAILED' "$OUT/demo.txt"))"
fi
# (none of the control set may survive: "0/N")
expect_eq drill-control-dies 0 "${control%/*}" "${control:-no control result} never-replayed connections survived"
