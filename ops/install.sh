#!/usr/bin/env bash
# Installs lvsync on a director: the binary, the systemd unit, the kernel modules to load at boot, /etc/default/lvsync,
# the example configurations, the man page and the shell completions (both generated from the command definitions).
# The Debian package (ops/package/build-deb.sh) is this install staged with --prefix /usr.
#
#   ops/install.sh [--prefix DIR] [--destdir DIR] [--binary FILE]     (as root; from anywhere)
#
#   --prefix DIR    where the binary and its documentation go (default /usr/local: DIR/sbin/lvsync,
#                   DIR/share/man/man8/lvsync.8, DIR/share/man/man5/lvsync.yaml.5, DIR/share/doc/lvsync/examples, DIR/share/bash-completion/..., zsh, fish)
#   --destdir DIR   stage everything below DIR instead of / (packaging; the tests install into a scratch folder)
#   --binary FILE   install this lvsync instead of building one (default: swift build -c release)
#
# The unit and the modules-load file go where systemd looks for a package's (DIR/lib/systemd/system,
# DIR/lib/modules-load.d; /lib/... for --prefix /usr): an admin changes them with drop-ins (systemctl edit lvsync) or
# a copy in /etc, which no install touches. /etc/default/lvsync is never overwritten; /etc/lvsync is left to the admin:
#   lvsync certs init /etc/lvsync --node dira --node dirb     # once, on one director; copy the other's files over
#   cp DIR/share/doc/lvsync/examples/director-a.yaml /etc/lvsync/lvsync.yaml && $EDITOR /etc/lvsync/lvsync.yaml
#   lvsync check /etc/lvsync/lvsync.yaml && systemctl daemon-reload && systemctl enable --now lvsync
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
PREFIX=/usr/local DESTDIR='' BINARY=''
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) PREFIX=$2; shift 2 ;;
    --destdir) DESTDIR=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
case $PREFIX in /*) ;; *) echo "install: --prefix must be absolute, found $PREFIX" >&2; exit 2 ;; esac
if [ -z "$BINARY" ]; then
  bash ops/install-deps.sh
  echo "install: ops/build-release.sh (release, the Swift runtime linked in)"
  BINARY=$(bash ops/build-release.sh | tail -n 1)
fi
[ -x "$BINARY" ] || { echo "install: no executable at $BINARY" >&2; exit 1; }

put() {  # put MODE SOURCE TARGET: install a file, making its folder
  install -D -m "$1" "$2" "$DESTDIR$3"
  echo "installed $3"
}
keep() {  # keep MODE SOURCE TARGET: like put, but never over a file that is there (an operator's edits)
  if [ -e "$DESTDIR$3" ]; then echo "kept $3 (already there)"; else put "$@"; fi
}
work=$(mktemp -d /tmp/lvsync-install.XXXXXX)
trap 'rm -rf "$work"' EXIT

# systemd's own folders for a package's units: /lib/... in Debian 12 for /usr, DIR/lib/... for any other prefix.
case $PREFIX in /usr) LIBDIR=/lib ;; *) LIBDIR=$PREFIX/lib ;; esac
put 0755 "$BINARY" "$PREFIX/sbin/lvsync"
sed "s|@SBINDIR@|$PREFIX/sbin|g" ops/systemd/lvsync.service > "$work/lvsync.service"
put 0644 "$work/lvsync.service" "$LIBDIR/systemd/system/lvsync.service"
put 0644 ops/systemd/modules-load.conf "$LIBDIR/modules-load.d/lvsync.conf"
keep 0644 ops/systemd/default.conf /etc/default/lvsync
install -d -m 0700 "$DESTDIR/etc/lvsync"
for example in examples/director-a.yaml examples/director-b.yaml; do
  put 0644 "$example" "$PREFIX/share/doc/lvsync/examples/$(basename "$example")"
done
put 0644 LICENSE "$PREFIX/share/doc/lvsync/LICENSE"

# The man page: swift-argument-parser's generate-manual, from the same command definitions as --help (it asks the
# binary for them: lvsync --experimental-dump-help). The tool is built, not run as the package plugin: the plugin
# would build the whole package again in the binary's configuration, over the binary being installed.
mkdir -p "$work/man"
swift build --product generate-manual > "$work/man.log" 2>&1 &&
  "$(swift build --show-bin-path)/generate-manual" "$BINARY" --section 8 --authors "the lvsync developers" \
    --date "$(git log -1 --format=%cd --date=format:%Y-%m-%d 2>/dev/null || date +%Y-%m-%d)" \
    -o "$work/man" >> "$work/man.log" 2>&1 ||
  { cat "$work/man.log" >&2; echo "install: the man page could not be generated" >&2; exit 1; }
put 0644 "$work/man/lvsync.8" "$PREFIX/share/man/man8/lvsync.8"
# lvsync.yaml(5): the configuration reference, from the Config module's doc comments (ops/man/config-man.py).
python3 ops/man/config-man.py . "$(git log -1 --format=%cd --date=format:%Y-%m-%d 2>/dev/null || date +%Y-%m-%d)" \
  > "$work/lvsync.yaml.5"
put 0644 "$work/lvsync.yaml.5" "$PREFIX/share/man/man5/lvsync.yaml.5"
# The completions: the binary writes them from its command definitions.
"$BINARY" --generate-completion-script bash > "$work/lvsync.bash"
"$BINARY" --generate-completion-script zsh > "$work/_lvsync"
"$BINARY" --generate-completion-script fish > "$work/lvsync.fish"
put 0644 "$work/lvsync.bash" "$PREFIX/share/bash-completion/completions/lvsync"
put 0644 "$work/_lvsync" "$PREFIX/share/zsh/site-functions/_lvsync"
put 0644 "$work/lvsync.fish" "$PREFIX/share/fish/vendor_completions.d/lvsync.fish"
if [ -z "$DESTDIR" ] && command -v systemctl > /dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "systemd: reloaded; start with: systemctl enable --now lvsync (after /etc/lvsync/lvsync.yaml exists)"
fi
