#!/bin/bash
# In the lab guest: the largest rate of new connections the sync carries with nothing lost, the kernel's own sync
# beside lvsync's, in one boot.
#   kernel-rate.sh OUTDIR LVSYNC [SECONDS [RATE...]]      (default: 5 s at each of 250 500 1000 2000 4000 8000 a second)
#
# Each rate gets a UDP service of its own on both directors (10.0.0.100:7000+k for the kernel's sync, :7100+k for
# lvsync's; rr, DR to rs1 and rs2) and the client sends RATE datagrams a second for SECONDS, each from a source port
# of its own (lib/udp_new.py): one new IPVS connection per datagram on dirA, sent by its kernel master from the first
# packet (the lab's sync_threshold "1 2"). Ten seconds after the last, both kernels are counted on that service (the
# real servers' counters over netlink): what dirA's kernel made, what dirB's holds, the difference lost. The UDP
# timeout is 30 s here, so SECONDS must stay under 20.
#   kernel   dirA's master and dirB's backup on the directors' link (peer0), as `ipvsadm --start-daemon` alone runs
#   lvsync   the pair of lvsync daemons: dirA's master on its dummy lvsync0, captured, streamed over TLS to dirB,
#            injected into dirB's backup (paced, drops sent again)
# One JSON line per rate and path, then the largest rate without loss for each. The guest is emulated (QEMU TCG,
# 10-50x slower than a director): the figures are the guest's, the ratio between the paths is the point.
set -euo pipefail
OUT=$(realpath "${1:?usage: kernel-rate.sh OUTDIR LVSYNC [SECONDS [RATE...]]}"); LVSYNC=$2
SECS=${3:-5}; shift 2; [ $# -eq 0 ] || shift
RATES=("$@"); [ ${#RATES[@]} -gt 0 ] || RATES=(250 500 1000 2000 4000 8000)
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-bench-rate
mkdir -p "$SOCK"
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
trap pair_cleanup EXIT

# held NS PORT: the connections NS's kernel counts on UDP 10.0.0.100:PORT's real servers
held() {
  ip netns exec "$1" ipvsadm -Ln -u "10.0.0.100:$2" 2> /dev/null | awk '$1 == "->" { n += $5 + $6 } END { print n + 0 }'
}
# run PATH PORT RATE: one rate through one path; its JSON line on stdout and in OUT/rates.jsonl
run() {
  local path=$1 port=$2 rate=$3 sent
  sent=$(ip netns exec client "$PY" "$LAB/lib/udp_new.py" 10.0.0.100 "$port" "$rate" "$SECS")
  sleep 10   # the kernel master flushes a partial message after 2 s; lvsync's stream and injection follow
  local a b
  a=$(held dirA "$port"); b=$(held dirB "$port")
  "$PY" -c 'import json, sys
s = json.loads(sys.argv[4])
print(json.dumps({"path": sys.argv[1], "rate_asked": int(sys.argv[2]), "rate_sent": s["rate"], "sent": s["sent"],
                  "active": int(sys.argv[5]), "standby": int(sys.argv[6]), "lost": int(sys.argv[5]) - int(sys.argv[6])}))' \
    "$path" "$rate" "$port" "$sent" "$a" "$b" | tee -a "$OUT/rates.jsonl"
}

lab_up
: > "$OUT/rates.jsonl"
for d in dirA dirB; do
  # UDP connections live 30 s (the counts are taken 10 s after a run's last datagram): the kernel phase's are gone
  # before lvsync's starts, which would otherwise seed them all from /proc (quadratic in the guest: minutes).
  ip netns exec $d ipvsadm --set 0 0 30
  for k in "${!RATES[@]}"; do
    for base in 7000 7100; do
      ip netns exec $d ipvsadm -A -u "10.0.0.100:$((base + k))" -s rr
      ip netns exec $d ipvsadm -a -u "10.0.0.100:$((base + k))" -r 10.0.0.21 -g
      ip netns exec $d ipvsadm -a -u "10.0.0.100:$((base + k))" -r 10.0.0.22 -g
    done
  done
  ip netns exec $d ipvsadm --stop-daemon master 2> /dev/null || true
  ip netns exec $d ipvsadm --stop-daemon backup 2> /dev/null || true
done

# ---- the kernel's own sync: master on dirA's peer0, backup on dirB's ----
ip netns exec dirA ipvsadm --start-daemon master --mcast-interface peer0 --syncid "$SYNCID"
ip netns exec dirB ipvsadm --start-daemon backup --mcast-interface peer0 --syncid "$SYNCID"
sleep 2
for k in "${!RATES[@]}"; do run kernel $((7000 + k)) "${RATES[$k]}"; done
ip netns exec dirA ipvsadm --stop-daemon master
ip netns exec dirB ipvsadm --stop-daemon backup
sleep 35   # the kernel phase's connections expire

# ---- lvsync: the pair as the lab runs it ----
for a in 10.0.0.100/24 10.0.0.1/24; do ip -n dirA addr del "$a" dev eth0; done
for a in fd00::100/64 fd00::1/64; do ip -n dirA addr del "$a" dev eth0; done
"$LVSYNC" certs init "$OUT/pki" --node dira --node dirb > "$LOGDIR/certs.log" 2>&1
elected_config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1 < /dev/null
elected_config dirb 100 10.0.1.3 dira 10.0.1.2 169.254.77.2 < /dev/null
start_lvsync dira dirA
wait_for 300 is_active dira || { echo "dirA is $(status dira role)" >&2; exit 1; }
start_lvsync dirb dirB
wait_for 300 is_synced_standby dirb || { echo "dirB is $(status dirb role)" >&2; exit 1; }
for k in "${!RATES[@]}"; do run lvsync $((7100 + k)) "${RATES[$k]}"; done
grep -E 'kernel\.(drops|resent|lost)=' "$LOGDIR/dirb.log" | tail -n 1 | grep -oE 'kernel\.(drops|resent|lost)=[0-9]+' \
  | tr '\n' ' ' > "$OUT/dirb-feeder.txt" || true

"$PY" - "$OUT/rates.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for path in ("kernel", "lvsync"):
    clean = [r["rate_sent"] for r in rows if r["path"] == path and r["lost"] == 0 and r["sent"] > 0]
    print("%-6s largest rate with nothing lost: %s new connections/s" % (path, max(clean) if clean else "none"))
print("%-10s | %-28s | %-28s" % ("rate asked", "kernel: sent/active/standby", "lvsync: sent/active/standby"))
for asked in sorted({r["rate_asked"] for r in rows}):
    cell = {}
    for r in rows:
        if r["rate_asked"] == asked:
            cell[r["path"]] = "%d/%d/%d (%.0f/s)" % (r["sent"], r["active"], r["standby"], r["rate_sent"])
    print("%-10d | %-28s | %-28s" % (asked, cell.get("kernel", "-"), cell.get("lvsync", "-")))
PY
