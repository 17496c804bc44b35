#!/bin/bash
# In the lab guest: lvsync's IPVS control plane beside ipvsadm on the same kernel, same table.
#   ipvs.sh OUTDIR LVSYNC [SERVICES] [REAL_SERVERS]
# Each side works in a scratch namespace of its own. Prints both sides' JSON lines and the ratios.
set -euo pipefail
OUT=$(realpath "$1"); LVSYNC=$2; N=${3:-1000}; R=${4:-10}
modprobe ip_vs; modprobe ip_vs_wrr
ip netns add bench-lvsync; ip netns add bench-ipvsadm
# A namespace without lo up has no local routing table: the kernel then refuses every real server (EINVAL).
ip -n bench-lvsync link set lo up; ip -n bench-ipvsadm link set lo up
trap 'ip netns del bench-lvsync; ip netns del bench-ipvsadm' EXIT

"$LVSYNC" bench ipvs --namespace bench-lvsync --services "$N" --real-servers "$R" | tee "$OUT/lvsync.json"

# The same table for ipvsadm-restore: services 10.1.x.y:80 wrr, real servers 10.2.x.y:80 DR, weights 1..10.
/usr/bin/python3 - "$N" "$R" > "$OUT/rules.txt" <<'PY'
import ipaddress, sys
n, r = int(sys.argv[1]), int(sys.argv[2])
vip0, rip0 = int(ipaddress.ip_address("10.1.0.0")), int(ipaddress.ip_address("10.2.0.0"))
for s in range(n):
    vip = ipaddress.ip_address(vip0 + s + 1)
    print("-A -t %s:80 -s wrr" % vip)
    for k in range(r):
        print("-a -t %s:80 -r %s:80 -g -w %d" % (vip, ipaddress.ip_address(rip0 + s * r + k + 1), k % 10 + 1))
PY
t() { local a b; a=$(date +%s.%N); "$@"; b=$(date +%s.%N); awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b - a }'; }
apply=$(t ip netns exec bench-ipvsadm ipvsadm-restore < "$OUT/rules.txt")
list=$(t sh -c 'ip netns exec bench-ipvsadm ipvsadm -Ln > /dev/null')
count=$(ip netns exec bench-ipvsadm ipvsadm -Ln | grep -c '^TCP')
flush=$(t ip netns exec bench-ipvsadm ipvsadm -C)
echo "{\"benchmark\": \"ipvsadm\", \"services\": $count, \"restore_s\": $apply, \"list_s\": $list, \"flush_s\": $flush}" \
  | tee "$OUT/ipvsadm.json"
/usr/bin/python3 - "$OUT/lvsync.json" "$OUT/ipvsadm.json" <<'PY'
import json, sys
l, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("ratio lvsync/ipvsadm: apply %.2f, list %.2f, flush %.2f" % (
    l["apply_s"] / i["restore_s"], l["list_s"] / i["list_s"], l["flush_s"] / max(i["flush_s"], 1e-9)))
PY
