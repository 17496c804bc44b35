#!/bin/bash
# Record golden sync vectors from the real kernel (run INSIDE the guest).
#
#   ops/lab/vm-run.sh --rwdir Tests/Fixtures/kernel-6.1 -- \
#       bash ops/lab/scenarios/record-golden.sh Tests/Fixtures/kernel-6.1 [LOGDIR]
#
# For sync_version 1 and 0: build the topology, run the kernel MASTER sync
# daemon in dirA on eth0 (the bridge) and the kernel BACKUP daemon in dirB on
# its eth0, same syncid, so dirB learns every entry by genuine kernel-to-kernel
# sync; tcpdump the datagrams on dirA's eth0; make TCP, UDP, SIP, IPv6, fwmark
# and SCTP traffic; wait for the kernel to flush; snapshot both directors'
# tables. Writes OUT/v1, OUT/v0 and OUT/README.md; logs go to LOGDIR (default:
# a throw-away guest temp dir, printed on failure). The recording's own check
# (every syncable dirA entry in dirB's ip_vs_conn_sync with Origin SYNC) goes
# to OUT/vN/check.txt and stdout; the exit status is 1 if it failed.
set -euo pipefail
OUT=$(realpath "${1:?usage: record-golden.sh OUTDIR [LOGDIR]}")
LOGDIR=${2:-$(mktemp -d)}
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
trap 'lab_down >/dev/null 2>&1 || true' EXIT

record() {
  local v=$1 d=$OUT/v$1
  rm -rf "$d"; mkdir -p "$d"
  LOGDIR=$LOGDIR_ROOT/v$v; mkdir -p "$LOGDIR"
  lab_up
  set_sync_version "$v"
  ip netns exec dirB ipvsadm --start-daemon backup --mcast-interface eth0 --syncid "$SYNCID"
  ip netns exec dirA ipvsadm --start-daemon master --mcast-interface eth0 --syncid "$SYNCID"
  start_capture dirA eth0 "$d/sync.pcap"
  local t0=$SECONDS
  make_traffic
  wait_flush "$d/sync.pcap"
  stop_capture
  # snapshots right after the capture ends
  ip netns exec dirA cat /proc/net/ip_vs_conn > "$d/dirA.ip_vs_conn"
  ip netns exec dirA cat /proc/net/ip_vs_conn_sync > "$d/dirA.ip_vs_conn_sync"
  ip netns exec dirB cat /proc/net/ip_vs_conn > "$d/dirB.ip_vs_conn"
  ip netns exec dirB cat /proc/net/ip_vs_conn_sync > "$d/dirB.ip_vs_conn_sync"
  ip netns exec dirA ipvsadm -Lnc --persistent-conn > "$d/dirA.ipvsadm-Lnc"
  ip netns exec dirA ipvsadm -Ln > "$d/services.txt"
  ip netns exec dirA sh -c 'cd /proc/sys/net/ipv4/vs && grep . sync_* conntrack expire_* sloppy_* 2>/dev/null' \
    > "$LOGDIR/sysctls.txt" || true
  echo "traffic to last capture: $((SECONDS - t0)) s" >> "$LOGDIR/traffic.log"
  "$PY" "$LAB/lib/pcap2hex.py" "$d/sync.pcap" > "$d/sync.hex"
  { "$PY" "$LAB/lib/compare.py" backup "golden-v$v" "$v" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn_sync" || true
    [ "$v" = 0 ] || "$PY" "$LAB/lib/compare.py" pedata "golden-v$v-pe-data" "$d/dirA.ip_vs_conn" "$d/dirB.ip_vs_conn" || true
  } > "$d/check.txt"
  cat "$d/check.txt"
  lab_down > /dev/null 2>&1
}

# "messages N, entries M, bytes B" of a sync.hex (v1: count in byte 4; v0: byte 0)
hex_stats() {
  "$PY" - "$1" <<'PYEOF'
import sys
msgs = [bytes.fromhex(l) for l in open(sys.argv[1]) if l.strip()]
n = sum(m[4] if m[0] == 0 and len(m) > 5 and m[5] == 1 else m[0] for m in msgs)
print("%d messages, %d entries, %s bytes" % (len(msgs), n, "/".join(str(len(m)) for m in msgs)))
PYEOF
}

LOGDIR_ROOT=$LOGDIR
record 1
record 0
cp "$LOGDIR_ROOT/v1/sysctls.txt" "$OUT/.sysctls" 2>/dev/null || true

status=0
for v in 1 0; do if grep -q "^FAIL" "$OUT/v$v/check.txt"; then status=1; fi; done
if [ $status != 0 ] && [ -z "${2:-}" ]; then
  for f in "$LOGDIR_ROOT"/*/*.log; do echo "== $f"; cat "$f"; done
fi

# README.md: how this was recorded (the host copy is what the repo keeps)
{
  cat <<MD
# Golden sync vectors from a real kernel ($(uname -r))

Recorded by \`ops/lab/scenarios/record-golden.sh\` in the lab guest (QEMU/TCG,
Debian kernel \`$(uname -r)\`, \`$(uname -v)\`) on $(date -u '+%Y-%m-%d %H:%M UTC').
Re-record (from the repo root, as root, after \`ops/lab/setup.sh\`):

    ops/lab/vm-run.sh --rwdir Tests/Fixtures/kernel-6.1 -- \\
        bash ops/lab/scenarios/record-golden.sh Tests/Fixtures/kernel-6.1

## How

- Topology: \`ops/lab/topo.sh\` (client, dirA, dirB, rs1, rs2 on one bridge; both
  directors carry the services in \`services.txt\`; dirA holds the VIPs).
- Kernel sync, kernel to kernel: \`ipvsadm --start-daemon master --mcast-interface eth0
  --syncid "$SYNCID"\` in dirA and \`--start-daemon backup --mcast-interface eth0 --syncid "$SYNCID"\`
  in dirB (group 224.0.0.81, port 8848, TTL 1, over the bridge).
- Capture: \`tcpdump -i eth0 -U -w sync.pcap 'udp port 8848'\` in dirA (Ethernet frames).
- Traffic from \`client\` (\`ops/lab/lib/traffic.py\`), every real server answering:
  4 TCP conns to 10.0.0.100:80 (DR), 3 TCP to [fd00::100]:443 (NAT), 3 TCP to
  10.0.0.100:8080 (nftables mark 7 → fwmark service 7, persistent: template
  \`IP 0.0.0.7:0\`), 2 SCTP to 10.0.0.100:3868 (NAT), all kept open (ESTABLISHED);
  5 UDP flows to 10.0.0.100:53 (NAT, persistent), 3 SIP flows to 10.0.0.100:5060
  (persistent, \`--pe sip\`, Call-ID \`call-N-a84b4c76e66710@client.example\`),
  3 UDP flows to [fd00::100]:4789 (tunnel, persistent); 3 datagrams each.
- Then at least 6 s until the capture stops growing for 3 s (the kernel sends a
  partly filled buffer once it is 2 s old), stop tcpdump, snapshot the tables.

Sysctls on both directors (\`/proc/sys/net/ipv4/vs\`, everything else default):
\`sync_version\` = the directory's version, \`sync_threshold\` = \`1 2\` (a conn is
queued on its 1st, 3rd, 5th… packet once in a syncable state, its template on
every packet). All values in dirA at recording time:

\`\`\`
$(sed 's/^sync_version:.*/sync_version:1 (0 in v0\/)/' "$OUT/.sysctls" 2>/dev/null)
\`\`\`

## Files (in \`v1/\` and \`v0/\`)

| file | what |
|---|---|
| \`sync.pcap\` | the master's datagrams as captured on dirA eth0 |
| \`sync.hex\` | one message per line: lowercase hex of the UDP payload |
| \`dirA.ip_vs_conn\`, \`dirA.ip_vs_conn_sync\` | master's \`/proc/net/ip_vs_conn{,_sync}\` right after the capture |
| \`dirB.ip_vs_conn\`, \`dirB.ip_vs_conn_sync\` | backup's, same moment |
| \`dirA.ipvsadm-Lnc\` | \`ipvsadm -Lnc --persistent-conn\` on dirA |
| \`services.txt\` | \`ipvsadm -Ln\` on dirA (dirB has the same) |
| \`check.txt\` | the recording's check (\`ops/lab/lib/compare.py backup\`) |

## What was recorded

- v1: $(hex_stats "$OUT/v1/sync.hex")
- v0: $(hex_stats "$OUT/v0/sync.hex")

Check: every dirA entry in a syncable state (TCP ESTABLISHED/FIN_WAIT/CLOSE/
CLOSE_WAIT/TIME_WAIT, SCTP ESTABLISHED/SHUTDOWN_SENT/SHUTDOWN_RECEIVED/
SHUTDOWN_ACK_SENT/CLOSED, all UDP and
templates; v0: IPv4 only) appears in dirB's \`ip_vs_conn_sync\` with Origin
\`SYNC\` and the same state (templates too: 6.1 keeps ASSURED); in v1 dirB's
SIP templates carry the same pe_data; in v0 the backup keeps one template per
(protocol, client, virtual), because v0 has no pe_data to tell the SIP templates
of one client apart.

\`\`\`
$(cat "$OUT/v1/check.txt")
$(cat "$OUT/v0/check.txt")
\`\`\`
MD
} > "$OUT/README.md"
rm -f "$OUT/.sysctls"
exit $status
