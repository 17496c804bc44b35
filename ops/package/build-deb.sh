#!/usr/bin/env bash
# Builds the Debian package of lvsync for Debian 12 (bookworm): lvsync_VERSION_ARCH.deb, with dpkg-deb.
#
#   ops/package/build-deb.sh [--binary FILE] [--out DIR]      (prints the package's path as its last line)
#
#   --binary FILE   package this lvsync (it must be a ops/build-release.sh build: the Swift runtime linked in);
#                   default: build one with ops/build-release.sh
#   --out DIR       where the .deb goes (default .build/package)
#
# The contents are ops/install.sh's, staged with --prefix /usr: /usr/sbin/lvsync, the unit in /lib/systemd/system,
# /lib/modules-load.d/lvsync.conf, /etc/default/lvsync (a conffile: an admin's edits survive upgrades), the example
# configurations and the licence under /usr/share/doc/lvsync, the man page and the bash/zsh/fish completions;
# /etc/lvsync is created empty (mode 0700) and left to the admin. Depends: what dpkg-shlibdeps finds the binary
# linked against (libc6, libstdc++6, libgcc-s1, libnl-3-200, libnl-genl-3-200, libnl-route-3-200).
#
# The maintainer scripts: a first install enables the unit (it starts once /etc/lvsync/lvsync.yaml exists); an
# upgrade does not restart a running daemon (that would move the VIPs): it says to restart when the peer is in sync;
# a removal stops it (the unit's ExecStopPost releases the VIPs); a purge forgets the unit's enablement.
set -euo pipefail
cd "$(dirname "$0")/../.."
BINARY='' OUT=.build/package
while [ $# -gt 0 ]; do
  case $1 in
    --binary) BINARY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" > /dev/null || { echo "build-deb: $tool is missing (apt-get install dpkg-dev)" >&2; exit 1; }
done
[ -n "$BINARY" ] || BINARY=$(bash ops/build-release.sh | tail -n 1)
[ -x "$BINARY" ] || { echo "build-deb: no executable at $BINARY" >&2; exit 1; }
if readelf -d "$BINARY" | grep -q 'libswiftCore'; then
  echo "build-deb: $BINARY needs the Swift runtime (libswiftCore.so): build it with ops/build-release.sh" >&2; exit 1
fi

# The version: lvsync's own (`lvsync --version`), and for a build between releases the revision too, so that each
# build is a later package than the one before it ("~": before the release it leads to).
read -r _ version _ revision <<< "$("$BINARY" --version | tr -d '()')"
if [ "$revision" = "unknown" ]; then
  echo "build-deb: $BINARY does not know its revision: build it with ops/build-release.sh" >&2; exit 1
fi
if git describe --exact-match --tags "v$version" > /dev/null 2>&1 && [ "$(git describe --always --dirty --abbrev=12)" = "$revision" ]; then
  debversion="$version-1"
else
  debversion="$version~git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || date +%Y%m%d%H%M%S).${revision//-/.}-1"
fi
arch=$(dpkg --print-architecture)

work=$(mktemp -d /tmp/lvsync-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
bash ops/install.sh --prefix /usr --destdir "$root" --binary "$BINARY" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; echo "build-deb: the staged install failed" >&2; exit 1; }
# Stripped, as Debian ships binaries (170 MB to 85 MB): a crash trace then has addresses, not names (the unit turns
# Swift's backtracer off anyway; a core dump and the unstripped build of the same revision give the names).
strip --strip-all "$root/usr/sbin/lvsync"
# Debian's places: man pages compressed, the licence as the copyright file, the release notes (CHANGELOG.md) as
# changelog.gz.
gzip -9n "$root/usr/share/man/man8/lvsync.8" "$root/usr/share/man/man5/lvsync.yaml.5"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: lvsync"
  echo
  echo "Files: *"
  echo "Copyright: the lvsync developers"
  echo "License: Apache-2.0"
  echo " On Debian systems, the full text of the Apache License, Version 2.0 is in"
  echo " /usr/share/common-licenses/Apache-2.0 (and in /usr/share/doc/lvsync/LICENSE)."
} > "$root/usr/share/doc/lvsync/copyright"
gzip -9nc CHANGELOG.md > "$root/usr/share/doc/lvsync/changelog.gz"

# Depends, from the libraries the binary is linked against.
mkdir -p "$work/src/debian"
printf 'Source: lvsync\n\nPackage: lvsync\nArchitecture: any\n' > "$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/sbin/lvsync" 2> "$work/shlibdeps.log" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { cat "$work/shlibdeps.log" >&2; echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: lvsync
Version: $debversion
Architecture: $arch
Maintainer: the lvsync developers <lvsync@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Recommends: ipvsadm
Section: net
Priority: optional
Description: IPVS connection mirroring and VIP failover for LVS director pairs
 lvsync mirrors the kernel's IPVS connection entries (persistence templates
 included) between the directors of an LVS pair over mutually authenticated
 TLS, elects the active director and moves the virtual IPs on failover, and
 manages the kernel's IPVS services over generic netlink: a failover that
 drops no connection, drills that prove it, and sync statistics for the logs.
CONTROL
echo /etc/default/lvsync > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if command -v deb-systemd-helper > /dev/null; then
    deb-systemd-helper unmask lvsync.service > /dev/null || true
    if [ -z "$2" ]; then
      # A first install: enabled, so that it starts at boot once /etc/lvsync/lvsync.yaml exists.
      deb-systemd-helper enable lvsync.service > /dev/null || true
    else
      deb-systemd-helper update-state lvsync.service > /dev/null || true
    fi
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload > /dev/null || true
    if [ -n "$2" ] && systemctl --quiet is-active lvsync.service; then
      echo "lvsync: the running daemon is still $2: restart it when its peer is in sync (lvsync status), e.g."
      echo "        lvsync drill on the active first, then systemctl restart lvsync here"
    fi
  fi
  if [ -z "$2" ]; then
    echo "lvsync: configure it in /etc/lvsync (examples: /usr/share/doc/lvsync/examples), then"
    echo "        lvsync check /etc/lvsync/lvsync.yaml && systemctl start lvsync"
  fi
fi
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
# On removal only (an upgrade keeps the daemon and its VIPs): a graceful stop hands the VIPs to the peer.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop lvsync.service > /dev/null 2>&1 || true
fi
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload > /dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper > /dev/null; then
  deb-systemd-helper purge lvsync.service > /dev/null || true
fi
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$OUT"
deb="$OUT/lvsync_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" > /dev/null
echo "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
