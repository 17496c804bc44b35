#!/usr/bin/env bash
# Checks ops/install.sh by staging an install into a scratch folder (nothing on this machine changes):
#   ops/check-install.sh [BINARY]      (default .build/debug/lvsync; prints one PASS/FAIL line per check)
#   install-files      the binary, unit, modules-load file, /etc/default/lvsync, examples, licence, man page and
#                      completions are there
#   install-unit       systemd-analyze verify accepts the unit (Type=notify, the hardening, ExecStart on the binary)
#   install-man        the man pages render (man -l): lvsync(8) documents run and drill, lvsync.yaml(5) every section
#   install-complete   the bash completion completes the subcommands
#   install-keeps      a second install keeps the operator's /etc/default/lvsync
set -uo pipefail
cd "$(dirname "$0")/.."
BINARY=${1:-.build/debug/lvsync}
stage=$(mktemp -d /tmp/lvsync-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
if ! bash ops/install.sh --destdir "$stage" --binary "$BINARY" > "$stage.log" 2>&1; then
  echo "FAIL install-files: ops/install.sh failed: $(tail -n 3 "$stage.log" | tr '\n' ' ')"; exit 1
fi
missing=""
for f in usr/local/sbin/lvsync usr/local/lib/systemd/system/lvsync.service usr/local/lib/modules-load.d/lvsync.conf \
  etc/default/lvsync usr/local/share/doc/lvsync/examples/director-a.yaml usr/local/share/doc/lvsync/LICENSE \
  usr/local/share/man/man8/lvsync.8 usr/local/share/man/man5/lvsync.yaml.5 usr/local/share/bash-completion/completions/lvsync \
  usr/local/share/zsh/site-functions/_lvsync usr/local/share/fish/vendor_completions.d/lvsync.fish; do
  [ -s "$stage/$f" ] || missing+=" $f"
done
if [ -z "$missing" ] && [ -x "$stage/usr/local/sbin/lvsync" ]; then
  echo "PASS install-files: binary, unit, modules-load.d, /etc/default/lvsync, examples, licence, man page, bash/zsh/fish completions"
else
  echo "FAIL install-files: missing or empty:$missing"
fi
unit=$stage/lvsync.service
sed "s|/usr/local/sbin/lvsync|$stage/usr/local/sbin/lvsync|" "$stage/usr/local/lib/systemd/system/lvsync.service" > "$unit"
if ! command -v systemd-analyze > /dev/null; then
  echo "FAIL install-unit: systemd-analyze is not installed (apt-get install systemd)"
elif out=$(systemd-analyze verify --man=no "$unit" 2>&1) && [ -z "$out" ] &&
  grep -q '^Type=notify$' "$unit" && grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW$' "$unit" &&
  grep -q '^ConditionFileNotEmpty=/etc/lvsync/lvsync.yaml$' "$unit" && grep -q '^EnvironmentFile=-/etc/default/lvsync$' "$unit" &&
  grep -q '^After=time-sync.target$' "$unit"; then
  echo "PASS install-unit: systemd-analyze verify is silent; Type=notify, WatchdogSec, capabilities NET_ADMIN and NET_RAW only, ConditionFileNotEmpty, EnvironmentFile, After=time-sync.target"
else
  echo "FAIL install-unit: $(tr '\n' ' ' <<< "$out")"
fi
page=$(MANWIDTH=100 man -l "$stage/usr/local/share/man/man8/lvsync.8" 2>&1)
config=$(MANWIDTH=100 man -l "$stage/usr/local/share/man/man5/lvsync.yaml.5" 2>&1)
if grep -q 'run ' <<< "$page" && grep -q 'drill' <<< "$page" && grep -q -- '--config' <<< "$page" &&
  grep -q 'udp_heartbeat:' <<< "$config" && grep -q 'expire_nodest_conn:' <<< "$config" && grep -q '^HEALTH CHECKS' <<< "$config"; then
  echo "PASS install-man: man -l renders lvsync(8) ($(wc -l <<< "$page") lines) with run, drill and their options, and lvsync.yaml(5) ($(wc -l <<< "$config") lines, every section)"
else
  echo "FAIL install-man: $(head -c 300 <<< "$page") / $(head -c 300 <<< "$config")"
fi
words=$(bash -c "source '$stage/usr/local/share/bash-completion/completions/lvsync' 2>/dev/null
  COMP_WORDS=(lvsync ''); COMP_CWORD=1; COMP_LINE='lvsync '; COMP_POINT=7
  _lvsync 2>/dev/null || true; echo \${COMPREPLY[*]}")
if grep -qw run <<< "$words" && grep -qw drill <<< "$words" && grep -qw stats <<< "$words"; then
  echo "PASS install-complete: bash completes lvsync <TAB> to $(wc -w <<< "$words") words (run, drill, stats, ...)"
else
  echo "FAIL install-complete: bash completion offered: '$words'"
fi
echo 'LVSYNC_OPTIONS="--log-level debug"' >> "$stage/etc/default/lvsync"
bash ops/install.sh --destdir "$stage" --binary "$BINARY" > "$stage.log2" 2>&1
if tail -n 1 "$stage/etc/default/lvsync" | grep -q 'log-level debug' && grep -q 'kept /etc/default/lvsync' "$stage.log2"; then
  echo "PASS install-keeps: a second install keeps the edited /etc/default/lvsync"
else
  echo "FAIL install-keeps: $(tail -n 5 "$stage.log2" | tr '\n' ' ')"
fi
rm -f "$stage.log" "$stage.log2"
