#!/bin/bash
# Boot the lab kernel (see setup.sh) under QEMU/TCG with virtme-ng, run one
# COMMAND as root in the guest, power off, exit with COMMAND's status.
#
# usage: vm-run.sh [--rwdir DIR]... [--timeout SECS] [--log FILE]
#                  [--memory SIZE] [--cpus N] -- COMMAND [ARG]...
#
#   --rwdir DIR    make host DIR writable in the guest (repeatable); the rest of
#                  the host root is read-only (/etc /lib /usr /var /home /opt
#                  /srv and the temp dir get a throw-away overlay)
#   --timeout S    wall-clock limit for the whole VM (default 600, env VM_RUN_TIMEOUT)
#   --log FILE     also write the unfiltered console (kernel log too) to FILE
#   --memory SIZE  guest memory (default 2G, env VM_RUN_MEMORY)
#   --cpus N       guest cpus (default 2, env VM_RUN_CPUS)
#
# The guest starts in the caller's directory; COMMAND's stdin is /dev/null.
# Output: the console minus kernel "[  1.23]" lines and boot noise.
# Exit status: COMMAND's; 124 time limit hit; 125 the guest reported no status
# (boot failure, panic); 130 vm-run.sh got SIGINT/TERM/HUP (VM stopped); 2 usage.
set -euo pipefail

LAB_DIR=${IPVS_LAB_DIR:-/var/lib/ipvs-lab}
VENV=$LAB_DIR/venv
TIMEOUT=${VM_RUN_TIMEOUT:-600}
MEMORY=${VM_RUN_MEMORY:-2G}
CPUS=${VM_RUN_CPUS:-2}
LOG=
RWDIRS=()

usage() { sed -n '6,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
die() { echo "vm-run: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --rwdir) [ $# -ge 2 ] || usage; RWDIRS+=("$2"); shift 2 ;;
    --rwdir=*) RWDIRS+=("${1#*=}"); shift ;;
    --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
    --log) [ $# -ge 2 ] || usage; LOG=$2; shift 2 ;;
    --memory|-m) [ $# -ge 2 ] || usage; MEMORY=$2; shift 2 ;;
    --cpus) [ $# -ge 2 ] || usage; CPUS=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage 0 ;;
    *) echo "vm-run: unknown option $1" >&2; usage ;;
  esac
done
[ $# -gt 0 ] || usage

VER=$(cat "$LAB_DIR/kernel-version" 2>/dev/null) || die "no kernel in $LAB_DIR: run ops/lab/setup.sh"
KERNEL=$LAB_DIR/vmlinuz-$VER
[ -s "$KERNEL" ] || die "missing $KERNEL: run ops/lab/setup.sh"
[ -x "$VENV/bin/vng" ] || die "missing $VENV/bin/vng: run ops/lab/setup.sh"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run ops/lab/setup.sh"
export PATH="$VENV/bin:$PATH"   # vng calls virtme-run through PATH

# vng pastes paths unquoted into a shell command line: refuse odd ones.
plain_path() {
  case $1 in
    *[!A-Za-z0-9._/+@:,-]*) die "$2 '$1': vng cannot pass a path with spaces, '=' or shell characters" ;;
  esac
}
VNG_RW=()
for d in ${RWDIRS[@]+"${RWDIRS[@]}"}; do
  [ -d "$d" ] || die "--rwdir $d: not a directory"
  d=$(realpath "$d"); plain_path "$d" "--rwdir"
  VNG_RW+=(--rwdir "$d")
done

# Host scratch: the console FIFO, and a dir shared rw with the guest that holds
# the command script and receives its exit status (vng itself always exits 255
# on this host: no udev, so virtme-ng-init falls back to the serial console).
ST=$(mktemp -d -t vm-run.XXXXXX) || die "mktemp failed"
plain_path "$ST" "TMPDIR"
TPID=; SIG=
trap 'rm -rf "$ST"' EXIT
# On a signal stop the VM: timeout forwards TERM to its process group (vng, qemu).
trap 'SIG=1; [ -n "$TPID" ] && kill -TERM "$TPID" 2>/dev/null' INT TERM HUP
mkdir "$ST/g"

# shellcheck disable=SC2016  # $rc is for the guest script
{
  echo '#!/bin/bash'
  printf '%q ' "$@"; echo '< /dev/null'   # the console has no input: never block on it
  echo 'rc=$?'
  printf 'echo $rc > %q\n' "$ST/g/status"
  echo 'sync'
  echo 'exit $rc'
} > "$ST/g/cmd.sh"

mkfifo "$ST/console"
if [ -n "$LOG" ]; then tee "$LOG" < "$ST/console"; else cat < "$ST/console"; fi |
  sed -u -e 's/\r$//' -e '/^\[ *[0-9]\+\.[0-9]\+\]/d' \
    -e '/^Probing EDD (edd=off to disable)/d' -e '/^Memory KASLR using/d' \
    -e '/^Poking KASLR using/d' -e '/^Decompressing Linux/d' -e '/^Parsing ELF/d' \
    -e '/^Booting the kernel/d' &
FPID=$!

# --force-9p: Debian's old C virtiofsd fails and vng's retries cost ~6 s per boot.
# timeout (not --foreground) puts vng in its own process group and on expiry
# signals the whole group: vng, virtme-run and the qemu it execs.
timeout -k 15 "$TIMEOUT" vng --run "$KERNEL" --disable-kvm --force-9p \
  --memory "$MEMORY" --cpus "$CPUS" --verbose \
  ${VNG_RW[@]+"${VNG_RW[@]}"} --rwdir "$ST/g" \
  --exec "bash $(printf %q "$ST/g/cmd.sh")" < /dev/null > "$ST/console" 2>&1 &
TPID=$!
VRC=0
while :; do
  wait "$TPID" && VRC=0 || VRC=$?
  kill -0 "$TPID" 2>/dev/null || break   # wait was cut short by a trapped signal
done
TPID=
wait "$FPID" 2>/dev/null || true

if [ -n "$SIG" ]; then
  echo "vm-run: interrupted, VM stopped" >&2; exit 130
elif [ -s "$ST/g/status" ]; then
  exit "$(cat "$ST/g/status")"
elif [ "$VRC" = 124 ] || [ "$VRC" = 137 ]; then
  echo "vm-run: timed out after ${TIMEOUT}s" >&2; exit 124
else
  echo "vm-run: the guest reported no exit status (vng exited $VRC)" >&2; exit 125
fi
