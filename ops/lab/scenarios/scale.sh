#!/bin/bash
# The closed loop at the kernel boundary, at the scale directors run (run INSIDE the guest):
#   scale.sh OUTDIR        (env LVSYNC_RELEASE: a release build, default REPO/.build/release/lvsync;
#                           SCALE_CONNECTIONS: the table, default 200 000)
# A release build: a debug one spends minutes of the emulated guest on what a director does in seconds (parsing,
# mirroring and snapshotting 200 000 connections), and the point here is the kernel boundary, not the emulator.
#
# N generated TCP connections (lib/gen_sync.py: 10.64.0.0/16 clients to 10.0.0.100:80, DR, one hour) and what the
# kernels hold of them, read back from the kernels:
#   scale-replay   the N into a scratch namespace's kernel backup daemon back to back, as sendto() alone would
#                  (`lvsync replay --unpaced`: the figure is reported, not judged), then into dirA's paced, as the
#                  standby's sink feeds its kernel: dirA's kernel must hold every one
#   scale-seed     dirA's lvsync started alone on that kernel: it becomes active with all N seeded into its mirror
#                  from /proc
#   scale-late     dirB's lvsync started late: in sync, and dirB's kernel holds every one of dirA's N (its real
#                  servers' counters); one snapshot; no role change and no link closed for silence on either
#                  director from dirA's start to the end of the scenario
#   scale-churn    dirB's lvsync restarted (an empty mirror: a whole snapshot again) while the client opens new
#                  connections through dirA: dirB's kernel ends with every one of the N and of the new connections,
#                  its /proc/net/ip_vs_conn read and compared key by key with what was made (the N, the churn's ports)
#   scale-audit    dirB's kernel robbed of 4 000 connections behind lvsync's back (expired by hand: the same
#                  connections sent to its backup with a 1 s timeout): `lvsync audit` on dirB finds them missing
#                  (or a periodic audit did first) and sends them again: dirB's kernel counts what it did before
# Every read(2) of /proc/net/ip_vs_conn returns one page and walks the kernel's table from its first entry: a table
# of 200 000 entries costs the emulated guest about 85 s to read, whatever the buffer. The checks count by the real
# servers' counters (`ipvsadm -Ln`, one netlink dump) and read dirB's table once, at the churn step. Kernel tables
# this size also take minutes to tear down under TCG: run-tests.sh runs this scenario last.
set -euo pipefail
OUT=$(realpath "${1:?usage: scale.sh OUTDIR}")
# shellcheck source=ops/lab/lib/guest.sh
source "$(dirname "$0")/../lib/guest.sh"
# shellcheck source=ops/lab/lib/check.sh
source "$LAB/lib/check.sh"
REPO=$(cd "$LAB/../.." && pwd)
LVSYNC=${LVSYNC_RELEASE:-$REPO/.build/release/lvsync}
[ -x "$LVSYNC" ] || { fail scale "no release build at $LVSYNC: swift build -c release --product lvsync"; exit 1; }
N=${SCALE_CONNECTIONS:-200000}
mkdir -p "$OUT/log"; LOGDIR=$OUT/log
SOCK=/tmp/lvsync-scale
mkdir -p "$SOCK"
T0=$SECONDS
# shellcheck source=ops/lab/lib/pair.sh
source "$LAB/lib/pair.sh"
SCRATCH="scratch1"
cleanup() {
  pair_cleanup
  for s in $SCRATCH; do ip netns del "$s" 2>/dev/null || true; done
}
trap cleanup EXIT

config() {  # NAME PRIORITY LISTEN PEER PEER_LISTEN SYNC_ADDRESS: an elected director of the lab's pair
  elected_config "$@" <<EOF
metrics: { listen: "$3:9788" }
stats: { interval_seconds: 5 }
# No audit on a timer: at 200 000 entries each read of the table costs the guest 85 s of a CPU or more, and periodic
# ones beside the checks' own reads made the scenario half again as long; scale-audit asks for them (lvsync audit),
# the same code the timer runs, and the smaller scenarios run them on the 15 s default.
kernel: { audit_interval_seconds: 0 }
EOF
}
# conn_table NS: NS's /proc/net/ip_vs_conn on stdout (large reads: no help against the kernel's walk, no harm)
conn_table() { ip netns exec "$1" dd if=/proc/net/ip_vs_conn bs=4M 2> /dev/null; }
# table NS: NS's /proc/net/ip_vs_conn into OUT/NS.conn.txt
table() { conn_table "$1" > "$OUT/$1.conn.txt"; }
# held NS: the connections NS's kernel counts on TCP 10.0.0.100:80's real servers (ActiveConn + InActConn)
held() {
  ip netns exec "$1" ipvsadm -Ln -t 10.0.0.100:80 2> /dev/null | awk '$1 == "->" && $2 ~ /:80$/ { n += $5 + $6 } END { print n + 0 }'
}
backup_ns() {  # NS: a namespace with a sync dummy and the kernel backup daemon on it
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link add lvsync0 type dummy
  ip -n "$1" addr add 169.254.77.9/32 dev lvsync0
  ip -n "$1" link set lvsync0 multicast on up
  ip netns exec "$1" ipvsadm -A -t 10.0.0.100:80 -s rr
  ip netns exec "$1" ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g
  ip netns exec "$1" ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.22:80 -g
  ip netns exec "$1" ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid "$SYNCID"
}
replay() {  # NS FILE [--unpaced]: lvsync replay of FILE into NS's backup daemon; its JSON summary on stdout
  local ns=$1 file=$2; shift 2
  ip netns exec "$ns" "$LVSYNC" replay --hex "$file" --interface lvsync0 "$@" 2> "$LOGDIR/replay-$ns.err" | head -n 1
}
field() { "$PY" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }
# elections/silence NAME FROM: role changes and links closed for silence in NAME's log after its first FROM lines
elections() { log_since "$LOGDIR/$1.log" "$2" | grep -c 'election: ' || true; }
silences() { log_since "$LOGDIR/$1.log" "$2" | grep -c 'peer_silent' || true; }
# snapshots: how many dirA sent; closures: the reasons dirA's links to dirB closed for (to tell a restart from a fault)
snapshots() { grep -c 'sending a snapshot' "$LOGDIR/dira.log" || true; }
closures() { grep 'peer link closed' "$LOGDIR/dira.log" | grep -o 'reason=[a-z_]*' | sort | uniq -c | tr -s ' \n' ' ' || true; }

t=$SECONDS
"$PY" "$LAB/lib/gen_sync.py" "$N" --syncid "$SYNCID" > "$OUT/table.hex"
"$PY" "$LAB/lib/gen_sync.py" 4000 --syncid "$SYNCID" --timeout 1 > "$OUT/expire-some.hex"
say "generated $N connections ($(wc -l < "$OUT/table.hex") messages) in $((SECONDS - t)) s"
lab_up
for a in 10.0.0.100/24 10.0.0.1/24; do ip -n dirA addr del "$a" dev eth0; done
for a in fd00::100/64 fd00::1/64; do ip -n dirA addr del "$a" dev eth0; done
for d in dirA dirB; do
  ip netns exec $d ipvsadm --stop-daemon master 2>/dev/null || true
  ip netns exec $d ipvsadm --stop-daemon backup 2>/dev/null || true
done

# ---- scale-replay: back to back into a kernel backup daemon, then paced into dirA's (same boot) ----
# (the counts are replay's own: the kernel's table read back once after each)
backup_ns scratch1
unpaced=$(replay scratch1 "$OUT/table.hex" --unpaced)
held_unpaced=$(field "$unpaced" kernel_connections)
ip netns exec scratch1 ipvsadm --stop-daemon backup || true
ip netns exec dirA ipvsadm --start-daemon backup --mcast-interface lvsync0 --syncid "$SYNCID"
paced=$(replay dirA "$OUT/table.hex")
held_paced=$(field "$paced" kernel_connections)
ip netns exec dirA ipvsadm --stop-daemon backup
echo "unpaced: $unpaced" > "$OUT/replay.txt"; echo "paced: $paced" >> "$OUT/replay.txt"
problem=""
[ "${held_paced:-0}" -ge "$N" ] || problem+="the paced replay left $((N - ${held_paced:-0})) of $N out: $paced; "
check scale-replay "$N connections into a kernel backup daemon: back to back the kernel took $held_unpaced ($(field "$unpaced" seconds) s, socket drops $(field "$unpaced" socket_drops)); paced (into dirA's) it took $held_paced ($(field "$paced" seconds) s, $(field "$paced" kernel_drops) drops seen, $(field "$paced" resent) sent again, $(field "$paced" pacing_ms) ms waiting for room)" -- no_problem "$problem"

# ---- scale-seed: dirA's kernel holds the N (the paced replay above), then its lvsync starts alone ----
problem=""
"$LVSYNC" certs init "$OUT/pki" --node dira --node dirb > "$LOGDIR/certs.log" 2>&1
config dira 150 10.0.1.2 dirb 10.0.1.3 169.254.77.1
config dirb 100 10.0.1.3 dira 10.0.1.2 169.254.77.2
t=$SECONDS
start_lvsync dira dirA
wait_for 300 is_active dira || problem+="dirA is $(status dira role); "
la=0
mirror=$(status dira sync.table_size)
seeded=$(grep -o 'seeded[^ ]*=[0-9]*' "$LOGDIR/dira.log" | head -n 1 || true)
[ "${mirror:-0}" -ge "$N" ] 2>/dev/null || problem+="dirA's mirror holds '${mirror}' ($seeded); "
check scale-seed "dirA's kernel holds the $N; its lvsync active after $((SECONDS - t)) s with $mirror connections mirrored" -- no_problem "$problem"

# ---- scale-late: dirB starts late and must hold every one in its kernel ----
problem=""
t=$SECONDS
start_lvsync dirb dirB
wait_for 600 is_synced_standby dirb || problem+="dirB is $(status dirb role), in_sync $(status dirb in_sync); "
took=$((SECONDS - t))
held_a=$(held dirA); held_b=$(held dirB)
[ "$held_b" -ge "$N" ] && [ "$held_b" -ge "$held_a" ] || problem+="dirB's kernel counts $held_b, dirA's $held_a, of $N; "
[ "$(snapshots)" = 1 ] || problem+="$(snapshots) snapshots sent ($(closures)); "
[ "$(elections dira "$la")" -le 1 ] || problem+="dirA changed role $(elections dira "$la") times; "
[ "$(elections dirb 0)" -le 1 ] || problem+="dirB changed role $(elections dirb 0) times; "
[ "$(silences dira 0)" = 0 ] && [ "$(silences dirb 0)" = 0 ] || problem+="links closed for silence: dirA $(silences dira 0), dirB $(silences dirb 0); "
inkernel=$(grep 'snapshot in the kernel' "$LOGDIR/dirb.log" | head -n 1 | grep -oE '(seconds|kernel\.[a-z]+)=[0-9.]+' | tr '\n' ' ' || true)
check scale-late "dirB in sync $took s after its start, its kernel counts $held_b connections on the real servers, dirA's $held_a (N $N); $(snapshots) snapshot; in the kernel: $inkernel" -- no_problem "$problem"

# ---- scale-churn: dirB's lvsync restarted (a whole snapshot again) under new connections ----
problem=""
stop_lvsync dirb || true
lb=$(lines "$LOGDIR/dirb.log")
ip netns exec client "$PY" "$LAB/lib/churn.py" 10.0.0.100 80 5 "$OUT/churn.ports" > "$LOGDIR/churn.txt" 2>&1 &
churn=$!; BG_PIDS+=("$churn")
sleep 5
t=$SECONDS
start_lvsync dirb dirB
synced_again() { is_synced_standby dirb && logged_since "$LOGDIR/dirb.log" "$lb" 'snapshot in the kernel'; }
wait_for 600 synced_again || problem+="dirB is $(status dirb role), in_sync $(status dirb in_sync); "
took=$((SECONDS - t))
sleep 10   # the churn goes on past the snapshot
# The churn stops opening and keeps holding: the tables stand still while they are read (every read(2) of
# /proc/net/ip_vs_conn walks the table afresh: a connection added or removed meanwhile makes a read repeat or skip one)
kill -USR1 "$churn" 2>/dev/null || true
sleep 5    # the last new connections' sync (the kernel master flushes within ~2 s)
# dirB's table against what was made through dirA: the N generated and the churn's (its client ports); one read
cp "$OUT/churn.ports" "$OUT/churn.ports.read"
table dirB
# (the churn's connections stay open to the end: closed, they would expire while the audit below reads the table)
keys=$("$PY" "$LAB/lib/conn_keys.py" "$OUT/dirB.conn.txt" --generated "$N")
[ "$(field "$keys" missing)" = 0 ] || problem+="generated: $keys; "
churned=$("$PY" "$LAB/lib/conn_keys.py" "$OUT/dirB.conn.txt" --ports "$OUT/churn.ports.read" --client 10.0.0.10)
[ "$(field "$churned" missing)" = 0 ] && [ "$(field "$churned" expected)" -gt 0 ] || problem+="the new connections: $churned; "
[ "$(snapshots)" = 2 ] || problem+="$(snapshots) snapshots in all ($(closures)); "
[ "$(silences dira 0)" = 0 ] && [ "$(silences dirb 0)" = 0 ] || problem+="links closed for silence: dirA $(silences dira 0), dirB $(silences dirb 0); "
check scale-churn "dirB in sync again $took s after its restart under churn ($(field "$churned" expected) connections opened at 5 a second); its kernel's table: $(field "$keys" table) of the $(field "$keys" expected) generated, $(field "$churned" table) of the $(field "$churned" expected) new ones (missing $(field "$keys" missing) + $(field "$churned" missing))" -- no_problem "$problem"

# ---- scale-audit: connections taken from dirB's kernel behind lvsync's back ----
problem=""
before=$(held dirB)
lb=$(lines "$LOGDIR/dirb.log")
replay dirB "$OUT/expire-some.hex" > "$OUT/robbery.json"
gone() { [ "$(held dirB)" -le $((before - 4000)) ]; }
wait_for 60 gone || true   # the 1 s timers fire
robbed=$(held dirB)
[ "$robbed" -le $((before - 4000)) ] || problem+="the robbery did not take: dirB's kernel counts $robbed, before $before; "
sleep 2
audit=$("$LVSYNC" audit --json --socket "$SOCK/dirb.sock" 2> "$LOGDIR/audit.err" || true)
[ -n "$audit" ] || audit='{}'
echo "$audit" > "$OUT/audit.json"
missing=$(field "$audit" missing)
logged=$(log_since "$LOGDIR/dirb.log" "$lb" | grep 'the kernel lacked' | grep -o 'kernel.missing=[0-9]*' | head -n 1 || true)
[ "${missing:-0}" -ge 4000 ] 2> /dev/null || [ "${logged#kernel.missing=}" -ge 4000 ] 2> /dev/null ||
  problem+="no audit found the 4 000: lvsync audit said '$audit' $(tr '\n' ' ' < "$LOGDIR/audit.err"), the log '$logged'; "
# The repair back in the kernel: its count where it was before the robbery (nothing else comes or goes meanwhile: the
# generated connections have an hour, the churn's are held open; its counters, not a second 3-minute read)
repaired() { [ "$(held dirB)" -ge "$before" ]; }
wait_for 60 repaired || problem+="after the repair dirB's kernel counts $(held dirB), before the robbery $before; "
check scale-audit "4 000 connections expired from dirB's kernel by hand (its count $before -> $robbed): lvsync audit read $(field "$audit" kernel_table) entries in $(field "$audit" seconds) s, found ${missing:-?} missing (log: ${logged:-none}) and sent them again: the kernel counts $(held dirB) again" -- no_problem "$problem"
