#!/bin/bash
# lvsync's IPVS control plane against the real kernel (run INSIDE the guest):
#   ipvs.sh OUTDIR        (env LVSYNC: the binary; default REPO/.build/debug/lvsync)
#
#   ipvs-kernel: <test>      the IPVS module's Swift tests against this kernel (the test binary `swift build
#                            --build-tests` made, env LVSYNC_TESTS, default REPO/.build/debug/lvsyncPackageTests.xctest,
#                            run with LVSYNC_KERNEL_TESTS=1): every operation read back, every error path (ESRCH,
#                            ENOENT, EEXIST, ERANGE, EINVAL, ENODEV) driven for real
#   ipvs-list-dirA           `lvsync ipvs list --namespace dirA --json` equals `ipvsadm -Ln` there, sync
#                            daemons included (`ipvsadm -L --daemon`)
#   ipvs-list-text           `lvsync ipvs list` prints `ipvsadm -Ln`'s text byte for byte, in each format: plain,
#                            --stats, --stats --exact, --rate, --rate --exact, --sort, --nosort
#   ipvs-export              `lvsync ipvs export` of dirA, applied back with `ipvs apply --dry-run`: no changes
#   ipvs-list-no-namespace   a missing namespace is named in a one-line error, exit 1
#   ipvs-mh-order            an mh service's real servers in the kernel's list, and `lvsync ipvs fingerprint`: the
#                            same after an insertion as after a fresh apply (ipvsadm's same history differs)
#   ipvs-import-NAME         `lvsync import` of Tests/KeepalivedImportTests/Corpus/NAME.conf, applied (--dry-run)
#                            over the table ipvsadm-restore builds from NAME.ipvsadm-rules (the same services as
#                            keepalived would install them): no change
set -uo pipefail
OUT=$(realpath "${1:?usage: ipvs.sh OUTDIR}")
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC:-$REPO/.build/debug/lvsync}
# (the unit tests' debug build: the lab's lvsync is the release build, built without its tests)
TESTS=${LVSYNC_TESTS:-$REPO/.build/debug/lvsyncPackageTests.xctest}
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
      *" passed after"*) pass ipvs-kernel "$name" ;;
      *" failed after"*) fail ipvs-kernel "$name: $(grep -m3 -E 'Expectation failed|recorded an issue|Caught error' "$OUT/kernel-tests.plain.txt" | tr '\n' ' ' | head -c 600)" ;;
    esac
  done
  ran=$(grep -cE '^[^ ]+ Test "[^"]*" (passed|failed) after' "$OUT/kernel-tests.plain.txt")
  if [ "$rc" != 0 ] || [ "$ran" -lt 5 ]; then
    fail ipvs-kernel-run "the test binary exited $rc after $ran tests (see $OUT/kernel-tests.txt)"
  fi
else
  fail ipvs-kernel-run "no test binary at $TESTS (swift build --build-tests first)"
fi

# 2. lvsync's listing against ipvsadm's, on the lab's services in dirA, with both sync daemons running.
if ! lab_up; then
  fail ipvs-list-dirA "the lab topology did not come up (see $LOGDIR/topo.log)"
  exit 0
fi
ip netns exec dirA ipvsadm --start-daemon master --mcast-interface lvsync0 --syncid 9
ip netns exec dirA ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid 9
ip netns exec dirA ipvsadm -Ln > "$OUT/dirA.ipvsadm.txt"
ip netns exec dirA ipvsadm -L --daemon > "$OUT/dirA.daemons.txt"
services=$(grep -cE '^(TCP|UDP|SCTP|FWM) ' "$OUT/dirA.ipvsadm.txt")
if [ "$services" -lt 7 ]; then
  fail ipvs-list-dirA "ipvsadm lists $services services in dirA, the topology has 7"
elif "$LVSYNC" ipvs list --namespace dirA --json > "$OUT/dirA.list.json" 2> "$OUT/dirA.list.err"; then
  "$PY" "$LAB/lib/ipvs_compare.py" ipvs-list-dirA "$OUT/dirA.list.json" "$OUT/dirA.ipvsadm.txt" "$OUT/dirA.daemons.txt"
else
  fail ipvs-list-dirA "lvsync ipvs list exited non-zero: $(head -c 300 "$OUT/dirA.list.err")"
fi
"$LVSYNC" ipvs list --namespace dirA > "$OUT/dirA.list.txt" 2>&1 || true

# 2b. The text itself, byte for byte, in each of ipvsadm's listing formats (nothing flows here: the counters and the
# rates stand still between the two reads).
differ=""
for format in "" "--stats" "--stats --exact" "--rate" "--rate --exact" "--sort" "--nosort"; do
  name=${format// /}; name=${name:-plain}
  # shellcheck disable=SC2086  # the format's words
  ip netns exec dirA ipvsadm -Ln $format > "$OUT/dirA.ipvsadm$name.txt" 2>&1
  # shellcheck disable=SC2086
  "$LVSYNC" ipvs list --namespace dirA $format > "$OUT/dirA.list$name.txt" 2>&1
  cmp -s "$OUT/dirA.ipvsadm$name.txt" "$OUT/dirA.list$name.txt" ||
    differ+="'${format:-(plain)}': $(diff "$OUT/dirA.ipvsadm$name.txt" "$OUT/dirA.list$name.txt" | head -n 4 | tr '\n' '|'); "
done
check ipvs-list-text "ipvs list prints ipvsadm -Ln's text byte for byte: plain, --stats, --stats --exact, --rate, --rate --exact, --sort, --nosort" -- no_problem "$differ"

# 2c. The running table exported as lvsync configuration, applied back: no change.
problem=""
"$LVSYNC" ipvs export --namespace dirA > "$OUT/dirA.export.yaml" 2> "$OUT/dirA.export.err" || problem+="export exited non-zero: $(head -c 200 "$OUT/dirA.export.err"); "
"$LVSYNC" ipvs apply "$OUT/dirA.export.yaml" --namespace dirA --dry-run > "$OUT/dirA.export-apply.txt" 2>&1 || problem+="apply of the export failed; "
grep -q '^no changes: the kernel already has the 7 services' "$OUT/dirA.export-apply.txt" || problem+="apply --dry-run of the export: $(head -c 300 "$OUT/dirA.export-apply.txt" | tr '\n' '|'); "
check ipvs-export "lvsync ipvs export of dirA's 7 services, applied back: '$(head -n 1 "$OUT/dirA.export-apply.txt")'" -- no_problem "$problem"

# 3. A clear error for a namespace that does not exist.
rc=0
"$LVSYNC" ipvs list --namespace lvsync-nowhere > "$OUT/nowhere.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "lvsync-nowhere" "$OUT/nowhere.txt" && [ "$(wc -l < "$OUT/nowhere.txt")" -le 2 ]; then
  pass ipvs-list-no-namespace "$(head -n 1 "$OUT/nowhere.txt")"
else
  fail ipvs-list-no-namespace "exit $rc: $(head -c 300 "$OUT/nowhere.txt")"
fi

# 4. lvsync ipvs apply against the kernel, in a namespace of its own.
CFG=lvsync-apply
ip netns add "$CFG"
ip -n "$CFG" link set lo up
apply() { "$LVSYNC" ipvs apply "$@" --namespace "$CFG"; }
listing() { ip netns exec "$CFG" ipvsadm -Ln; }
rc=0; apply "$REPO/examples/director-a.yaml" > "$OUT/apply1.txt" 2>&1 || rc=$?
listing > "$OUT/apply1.ipvsadm.txt"
"$LVSYNC" ipvs list --namespace "$CFG" --json > "$OUT/apply1.list.json" 2>&1
if [ $rc = 0 ] && grep -q '^applied 20 changes' "$OUT/apply1.txt" \
   && [ "$(grep -cE '^(TCP|UDP|SCTP|FWM) ' "$OUT/apply1.ipvsadm.txt")" = 7 ]; then
  "$PY" "$LAB/lib/ipvs_compare.py" ipvs-apply-converges "$OUT/apply1.list.json" "$OUT/apply1.ipvsadm.txt"
else
  fail ipvs-apply-converges "exit $rc: $(tail -n 3 "$OUT/apply1.txt" | tr '\n' ' ')"
fi

rc=0; apply "$REPO/examples/director-a.yaml" > "$OUT/apply2.txt" 2>&1 || rc=$?
listing > "$OUT/apply2.ipvsadm.txt"
if [ $rc = 0 ] && grep -q '^no changes' "$OUT/apply2.txt" && cmp -s "$OUT/apply1.ipvsadm.txt" "$OUT/apply2.ipvsadm.txt"; then
  pass ipvs-apply-idempotent "$(head -n 1 "$OUT/apply2.txt")"
else
  fail ipvs-apply-idempotent "exit $rc: $(head -c 300 "$OUT/apply2.txt")"
fi

# A changed config: rs2's weight 3 -> 5 on :80, rs2 gone from :53, the SCTP service gone.
"$PY" - "$REPO/examples/director-a.yaml" > "$OUT/changed.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# (the example's lines may carry more settings, e.g. a health check, after the ones matched here)
text, n1 = re.subn(r"(\{ address: 10\.0\.0\.22, forwarding: dr, weight: )3\b", r"\g<1>5", text, count=1)
head, sep, tail = text.partition("port: 53")
tail, n2 = re.subn(r"      - \{ address: 10\.0\.0\.22, forwarding: nat\b.*\n", "", tail, count=1)
if n1 != 1 or n2 != 1:
    sys.exit("ipvs.sh: examples/director-a.yaml no longer has the lines this check edits")
text = head + sep + tail
text = text[:text.index("  # SCTP (Diameter)")]
print(text)
PY
rc=0; apply "$OUT/changed.yaml" --dry-run > "$OUT/dry.txt" 2>&1 || rc=$?
listing > "$OUT/dry.ipvsadm.txt"
if [ $rc = 0 ] && grep -q '^dry run: 3 changes not made' "$OUT/dry.txt" && cmp -s "$OUT/apply1.ipvsadm.txt" "$OUT/dry.ipvsadm.txt"; then
  pass ipvs-apply-dry-run "3 changes printed, the kernel unchanged"
else
  fail ipvs-apply-dry-run "exit $rc: $(head -c 400 "$OUT/dry.txt" | tr '\n' ' ')"
fi
rc=0; apply "$OUT/changed.yaml" > "$OUT/apply3.txt" 2>&1 || rc=$?
listing > "$OUT/apply3.ipvsadm.txt"
expected_diff=$(printf '%s\n' \
  "~ real server 10.0.0.22:80 in tcp 10.0.0.100:80: weight 3 -> 5" \
  "- real server 10.0.0.22:53 in udp 10.0.0.100:53" \
  "- service sctp 10.0.0.100:3868" \
  "applied 3 changes")
if [ $rc = 0 ] && [ "$(cat "$OUT/apply3.txt")" = "$expected_diff" ] \
   && grep -qE '10\.0\.0\.22:80 +Route +5 ' "$OUT/apply3.ipvsadm.txt" \
   && ! grep -q '10.0.0.22:53' "$OUT/apply3.ipvsadm.txt" && ! grep -q '^SCTP' "$OUT/apply3.ipvsadm.txt"; then
  pass ipvs-apply-diff "weight edited in place, a real server and a service removed"
else
  fail ipvs-apply-diff "exit $rc: $(tr '\n' '|' < "$OUT/apply3.txt" | head -c 400)"
fi

# The kernel's own refusal comes back as a sentence: a scheduler it does not have.
sed 's/scheduler: wrr/scheduler: wrrr/' "$REPO/examples/director-a.yaml" > "$OUT/bad-scheduler.yaml"
rc=0; apply "$OUT/bad-scheduler.yaml" > "$OUT/apply4.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "scheduler 'wrrr' is not available in this kernel (ENOENT)" "$OUT/apply4.txt"; then
  pass ipvs-apply-kernel-error "$(grep -m1 wrrr "$OUT/apply4.txt")"
else
  fail ipvs-apply-kernel-error "exit $rc: $(head -c 300 "$OUT/apply4.txt")"
fi
ip netns del "$CFG"

# 4a. mh and sh build their tables walking the kernel's list of real servers, which the kernel keeps newest first:
# lvsync keeps that list the file's order reversed whatever the history (IPVSPlanner, ServerOrder), so directors
# with the same file schedule alike. ord1 applies rs1, rs3 and then rs1, rs2, rs3 (an insertion: rs3 must move);
# ord2 applies rs1, rs2, rs3 at once; ord3 is the same history made with ipvsadm, as the baseline.
order_file() {  # SERVER... : an mh service with these real servers, in this order
  printf 'virtual_services:\n  - { protocol: tcp, address: 10.0.0.100, port: 80, scheduler: mh, real_servers: [ '
  local sep=""
  for s in "$@"; do printf '%s{ address: %s, forwarding: dr }' "$sep" "$s"; sep=", "; done
  printf ' ] }\n'
}
order_list() { ip netns exec "$1" ipvsadm -Ln --nosort -t 10.0.0.100:80 | awk '/->/ && $2 != "RemoteAddress:Port" { printf "%s ", $2 }'; }
for ns in lvsync-ord1 lvsync-ord2 lvsync-ord3; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
order_file 10.0.0.21 10.0.0.23 > "$OUT/order-before.yaml"
order_file 10.0.0.21 10.0.0.22 10.0.0.23 > "$OUT/order-after.yaml"
{
  "$LVSYNC" ipvs apply "$OUT/order-before.yaml" --namespace lvsync-ord1
  "$LVSYNC" ipvs apply "$OUT/order-after.yaml" --namespace lvsync-ord1
} > "$OUT/order-ord1.txt" 2>&1
"$LVSYNC" ipvs apply "$OUT/order-after.yaml" --namespace lvsync-ord2 > "$OUT/order-ord2.txt" 2>&1
ip netns exec lvsync-ord3 sh -c 'ipvsadm -A -t 10.0.0.100:80 -s mh && ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g &&
  ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.23:80 -g && ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g'
list1=$(order_list lvsync-ord1); list2=$(order_list lvsync-ord2); list3=$(order_list lvsync-ord3)
fp1=$("$LVSYNC" ipvs fingerprint --namespace lvsync-ord1 2>&1 | head -n 1 | cut -d" " -f1)
fp2=$("$LVSYNC" ipvs fingerprint --namespace lvsync-ord2 2>&1 | head -n 1 | cut -d" " -f1)
fp3=$("$LVSYNC" ipvs fingerprint --namespace lvsync-ord3 2>&1 | head -n 1 | cut -d" " -f1)
problem=""
[ "$list1" = "10.0.0.23:80 10.0.0.22:80 10.0.0.21:80 " ] || problem+="ord1's list is '$list1'; "
[ "$list2" = "$list1" ] || problem+="ord2's list '$list2' differs; "
[ "$list3" = "10.0.0.22:80 10.0.0.23:80 10.0.0.21:80 " ] || problem+="the baseline's list is '$list3' (the kernel no longer adds at the head?); "
grep -q "^- real server 10.0.0.23:80" "$OUT/order-ord1.txt" && grep -q "^+ real server 10.0.0.23:80" "$OUT/order-ord1.txt" ||
  problem+="the insertion did not move rs3: $(tr '\n' '|' < "$OUT/order-ord1.txt" | head -c 300); "
case $fp1 in [0-9a-f]*) ;; *) problem+="no fingerprint: '$fp1'; " ;; esac
[ "$fp1" = "$fp2" ] || problem+="fingerprints differ: $fp1 $fp2; "
[ "$fp3" != "$fp1" ] || problem+="the baseline's fingerprint equals lvsync's: it does not see the order; "
check ipvs-mh-order "mh after an insertion lists [$list1] as a fresh apply does, fingerprint $fp1 on both; ipvsadm's same history: [$list3], $fp3" -- no_problem "$problem"
for ns in lvsync-ord1 lvsync-ord2 lvsync-ord3; do ip netns del "$ns"; done

# 4b. keepalived configurations imported: the table keepalived's file describes, as ipvsadm-restore builds it from
# the same services, is what lvsync ipvs apply of the import converges to (no change against it).
KA=lvsync-import
CORPUS=$REPO/Tests/KeepalivedImportTests/Corpus
ip netns add "$KA"
# (lo up: the kernel refuses an IPv4 real server while the namespace has no local routing table, EINVAL)
ip -n "$KA" link set lo up
for conf in lvs-dr groups sip-udp ipv6-tun include; do
  problem=""
  ip netns exec "$KA" ipvsadm -C
  if ! ip netns exec "$KA" ipvsadm-restore < "$CORPUS/$conf.ipvsadm-rules" > "$OUT/import-$conf.restore.txt" 2>&1; then
    problem+="ipvsadm-restore refused the rules: $(head -c 200 "$OUT/import-$conf.restore.txt"); "
  fi
  "$LVSYNC" import "$CORPUS/$conf.conf" --services-only -o "$OUT/import-$conf.yaml" --report "$OUT/import-$conf.report" \
    > "$OUT/import-$conf.out" 2>&1 || problem+="lvsync import exited non-zero: $(head -c 200 "$OUT/import-$conf.out"); "
  expected=$(grep -c '^-A ' "$CORPUS/$conf.ipvsadm-rules")
  "$LVSYNC" ipvs apply "$OUT/import-$conf.yaml" --namespace "$KA" --dry-run > "$OUT/import-$conf.apply.txt" 2>&1 ||
    problem+="ipvs apply --dry-run failed; "
  grep -q "^no changes: the kernel already has the $expected services" "$OUT/import-$conf.apply.txt" ||
    problem+="against ipvsadm-restore's table: $(head -c 400 "$OUT/import-$conf.apply.txt" | tr '\n' '|'); "
  check "ipvs-import-$conf" "lvsync import of $conf.conf, applied over ipvsadm-restore of the same $expected services: no change ($(tail -n 1 "$OUT/import-$conf.report"))" -- no_problem "$problem"
done
ip netns del "$KA"

# 5. Without CAP_NET_ADMIN the kernel answers EPERM: lvsync must say what is missing.
rc=0
setpriv --bounding-set -net_admin --inh-caps -net_admin "$LVSYNC" ipvs list > "$OUT/nocap.txt" 2>&1 || rc=$?
if [ $rc = 1 ] && grep -q "needs CAP_NET_ADMIN" "$OUT/nocap.txt" && grep -q "(EPERM)" "$OUT/nocap.txt"; then
  pass ipvs-list-without-cap-net-admin "$(head -n 1 "$OUT/nocap.txt")"
else
  fail ipvs-list-without-cap-net-admin "exit $rc: $(head -c 300 "$OUT/nocap.txt")"
fi
