#!/usr/bin/env bash
# Proves the Debian package on a clean Debian 12: a minimal root made with debootstrap (no Swift anywhere in it),
# the package installed there with dpkg, its dependencies resolved by apt from what it declares, then the binary run
# inside it (chroot). Prints one PASS/FAIL line per check (as root; needs debootstrap and the network to Debian's
# mirror). The root is debootstrap's minbase plus init-system-helpers (which systemd, on any director, depends on);
# the downloaded packages are kept in /var/cache/lvsync-debootstrap for the next run.
#
#   ops/package/test-deb.sh DEB
#
#   deb-install     dpkg -i stops on the undeclared-yet-missing libraries only, apt-get -f install brings exactly what
#                   the package declares, and the package is installed; no Swift runtime anywhere in the root, the
#                   binary's libraries all found (ldd)
#   deb-files       the unit in /lib/systemd/system (enabled by the postinst), /etc/default/lvsync, the examples,
#                   the man page, /etc/lvsync empty and private
#   deb-version     lvsync --version names the revision the package's version carries
#   deb-decode      lvsync decode of the kernel 6.1 capture (Tests/Fixtures) prints what the build host's binary prints
#   deb-check       lvsync certs init, then lvsync check of the packaged example configuration: usable; the same with
#                   its key removed: exit status 1 and a reason naming the key file
#   deb-conffile    an admin's /etc/default/lvsync survives reinstalling the package; remove keeps it, purge removes
#                   it and keeps the admin's /etc/lvsync
set -uo pipefail
cd "$(dirname "$0")/../.."
DEB=${1:?usage: ops/package/test-deb.sh DEB}
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=/var/cache/lvsync-debootstrap
work=$(mktemp -d /tmp/lvsync-debroot.XXXXXX)
root=$work/root
cleanup() {
  umount "$root/proc" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }

mkdir -p "$CACHE"
if ! debootstrap --variant=minbase --include=init-system-helpers --cache-dir="$CACHE" bookworm "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1; then
  fail "deb-install: debootstrap of a Debian 12 root failed: $(tail -n 3 "$work/debootstrap.log" | tr '\n' ' ')"
  exit 1
fi
mount -t proc proc "$root/proc"
cp "$DEB" "$root/tmp/lvsync.deb"

# deb-install
in_root dpkg -i /tmp/lvsync.deb > "$work/dpkg.log" 2>&1
first=$?
missing=$(grep -oE "depends on [a-z0-9.+-]+" "$work/dpkg.log" | awk '{print $3}' | sort -u | tr '\n' ' ')
in_root apt-get update -qq > "$work/apt.log" 2>&1
in_root apt-get install -f -y -qq --no-install-recommends >> "$work/apt.log" 2>&1
status=$(in_root dpkg-query -W -f='${Status}' lvsync 2> /dev/null)
swift=$(find "$root" -xdev -name 'libswift*' 2> /dev/null | head -n 3 | tr '\n' ' ')
unresolved=$(in_root ldd /usr/sbin/lvsync 2>&1 | grep -E 'not found|swift' | tr '\n' ' ')
if [ "$status" = "install ok installed" ] && [ -z "$swift" ] && [ -z "$unresolved" ]; then
  pass "deb-install: dpkg -i in a clean debootstrap root ($( [ $first = 0 ] && echo "no missing dependency" || echo "missing: $missing")), apt-get -f install, installed; no Swift runtime in the root, ldd finds every library"
else
  fail "deb-install: status '$status', Swift files: '$swift', ldd: '$unresolved' (dpkg: $(tail -n 3 "$work/dpkg.log" | tr '\n' ' '); apt: $(tail -n 3 "$work/apt.log" | tr '\n' ' '))"
fi

# deb-files
missing_files=""
for f in lib/systemd/system/lvsync.service etc/default/lvsync usr/share/doc/lvsync/examples/director-a.yaml \
  usr/share/doc/lvsync/copyright usr/share/man/man8/lvsync.8.gz usr/share/man/man5/lvsync.yaml.5.gz \
  lib/modules-load.d/lvsync.conf \
  etc/systemd/system/multi-user.target.wants/lvsync.service; do
  [ -e "$root/$f" ] || [ -L "$root/$f" ] || missing_files+=" $f"
done
mode=$(stat -c %a "$root/etc/lvsync" 2> /dev/null)
if [ -z "$missing_files" ] && [ "$mode" = 700 ] && [ -z "$(ls -A "$root/etc/lvsync")" ] &&
  grep -q '^ExecStart=/usr/sbin/lvsync run ' "$root/lib/systemd/system/lvsync.service"; then
  pass "deb-files: the unit in /lib/systemd/system (ExecStart=/usr/sbin/lvsync, enabled), /etc/default/lvsync, examples, copyright, lvsync(8) and lvsync.yaml(5), modules-load.d; /etc/lvsync empty, mode 700"
else
  fail "deb-files: missing:$missing_files; /etc/lvsync mode '$mode'"
fi

# deb-version
version=$(in_root lvsync --version 2>&1)
revision=$(sed -n 's/^lvsync [0-9.]* (revision \([^)]*\))$/\1/p' <<< "$version")
package_version=$(dpkg-deb -f "$DEB" Version)
if [ -n "$revision" ] && [ "$revision" != unknown ] && [[ $package_version == *"${revision//-/.}"* || $package_version == "${version#lvsync }"* ]]; then
  pass "deb-version: '$version', package $package_version"
else
  fail "deb-version: lvsync --version printed '$version'; the package is $package_version"
fi

# deb-decode
cp Tests/Fixtures/kernel-6.1/v1/sync.hex "$root/tmp/sync.hex"
inside=$(in_root lvsync decode --hex /tmp/sync.hex --json 2>&1)
outside=$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/sbin/lvsync > "$work/lvsync" && chmod +x "$work/lvsync" &&
  "$work/lvsync" decode --hex Tests/Fixtures/kernel-6.1/v1/sync.hex --json 2>&1)
lines=$(grep -c '"protocol"' <<< "$inside")
if [ -n "$inside" ] && [ "$inside" = "$outside" ] && [ "$lines" -gt 0 ]; then
  pass "deb-decode: lvsync decode of the kernel 6.1 capture in the root: $lines entries, the same JSON as on the build host"
else
  fail "deb-decode: in the root: $(head -c 300 <<< "$inside")"
fi

# deb-check
in_root lvsync certs init /etc/lvsync --node dira --node dirb > "$work/certs.log" 2>&1
in_root cp /usr/share/doc/lvsync/examples/director-a.yaml /etc/lvsync/lvsync.yaml
checked=$(in_root lvsync check /etc/lvsync/lvsync.yaml 2>&1)
checked_status=$?
in_root mv /etc/lvsync/dira-key.pem /etc/lvsync/dira-key.pem.away
refused=$(in_root lvsync check /etc/lvsync/lvsync.yaml 2>&1)
refused_status=$?
in_root mv /etc/lvsync/dira-key.pem.away /etc/lvsync/dira-key.pem
if [ $checked_status = 0 ] && grep -q 'usable' <<< "$checked" && grep -q "proves node 'dira'" <<< "$checked" &&
  [ $refused_status = 1 ] && grep -q 'dira-key.pem' <<< "$refused"; then
  pass "deb-check: certs init, then lvsync check of the example: usable ($(grep -c . <<< "$checked") lines); without its key: exit 1, '$(tail -n 1 <<< "$refused" | cut -c1-120)'"
else
  fail "deb-check: status $checked_status: $(tr '\n' ' ' <<< "$checked" | cut -c1-300); without the key: status $refused_status: $(tr '\n' ' ' <<< "$refused" | cut -c1-200) (certs: $(tail -n 2 "$work/certs.log" | tr '\n' ' '))"
fi

# deb-conffile
echo 'LVSYNC_OPTIONS="--log-level debug"' >> "$root/etc/default/lvsync"
in_root dpkg -i /tmp/lvsync.deb > "$work/reinstall.log" 2>&1
kept=$(tail -n 1 "$root/etc/default/lvsync")
in_root dpkg -r lvsync > "$work/remove.log" 2>&1
after_remove=$([ -e "$root/etc/default/lvsync" ] && [ ! -e "$root/usr/sbin/lvsync" ] && echo kept)
in_root dpkg -P lvsync > "$work/purge.log" 2>&1
after_purge=$([ ! -e "$root/etc/default/lvsync" ] && [ -e "$root/etc/lvsync/lvsync.yaml" ] && echo ok)
if [ "$kept" = 'LVSYNC_OPTIONS="--log-level debug"' ] && [ "$after_remove" = kept ] && [ "$after_purge" = ok ]; then
  pass "deb-conffile: an edited /etc/default/lvsync survives a reinstall and a removal, a purge removes it and keeps /etc/lvsync"
else
  fail "deb-conffile: after the reinstall '$kept', after remove '$after_remove', after purge '$after_purge' ($(tail -n 2 "$work/purge.log" | tr '\n' ' '))"
fi
