#!/bin/bash
# Install the real-kernel IPVS lab on a Debian 12 (bookworm) amd64 host, as root.
#
# The host kernel has no IPVS, so the lab boots a Debian 6.1 kernel (IPVS as
# modules) under QEMU/TCG with virtme-ng; the guest shares the host's root
# filesystem read-only, so every tool the guest runs is installed HERE:
#   - Debian packages (qemu, ipvsadm, iproute2, tcpdump, nftables, ...)
#   - virtme-ng, pinned, in a venv (PyPI)
#   - the kernel package that linux-image-amd64 depends on, unpacked with
#     dpkg -x (NOT installed: the host keeps its own kernel); its modules go to
#     /lib/modules/VER (+ depmod), its vmlinuz to $LAB_DIR.
# Idempotent and quiet: when everything is in place it prints one line and
# takes well under a second.
#
# Environment:
#   IPVS_LAB_DIR          kernel image, venv and state (default /var/lib/ipvs-lab)
#   IPVS_LAB_VNG_VERSION  virtme-ng version (default 1.42, the measured one)
#   IPVS_LAB_KPKG         kernel package (default: linux-image-amd64's dependency).
#                         Not a -cloud- flavour: it has no 9p, which vng needs.
set -euo pipefail

LAB_DIR=${IPVS_LAB_DIR:-/var/lib/ipvs-lab}
VENV=$LAB_DIR/venv
VNG_VERSION=${IPVS_LAB_VNG_VERSION:-1.42}
say() { echo "lab-setup: $*"; }
die() { echo "lab-setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update_once() {   # only when something is missing: keeps the no-op run fast
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}

# --- 1. Debian packages --------------------------------------------------------
# package:file-that-proves-it-is-installed (checking files is faster than dpkg-query
# and also catches a half-removed package).
PKGS="qemu-system-x86:/usr/bin/qemu-system-x86_64 kmod:/usr/bin/kmod
iproute2:/usr/bin/ip ipvsadm:/usr/sbin/ipvsadm tcpdump:/usr/bin/tcpdump
iputils-arping:/usr/bin/arping busybox-static:/bin/busybox
python3-venv:/usr/lib/python3.11/ensurepip/__init__.py python3:/usr/bin/python3
procps:/usr/bin/pkill nftables:/usr/sbin/nft stress-ng:/usr/bin/stress-ng
frr:/usr/lib/frr/bgpd"
# busybox-static: virtme-ng builds its initramfs with it (loads 9p/virtio modules).
# nftables: marks packets for the firewall-mark IPVS service in topo.sh.
# stress-ng: the CPU hog of run-tests.sh --hog (the lab as a busy CI machine runs it).
# frr: zebra, bgpd and bfdd of the cluster scenario (a router and the members announcing over BGP with BFD); the lab
#   runs its own instances in namespaces, so the host's frr service, when the install enabled it, is disabled again.
missing=""
for pf in $PKGS; do
  [ -e "${pf#*:}" ] || missing="$missing ${pf%%:*}"
done
if [ -n "$missing" ]; then
  apt_update_once
  say "apt-get install:$missing"
  # shellcheck disable=SC2086  # word splitting wanted
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  case " $missing " in
    *" frr "*) systemctl disable --now frr >/dev/null 2>&1 || true ;;
  esac
fi

# --- 2. virtme-ng in a venv (Debian's python, not pyenv's) ------------------------
mkdir -p "$LAB_DIR"
stamp=$VENV/.vng-$VNG_VERSION   # avoids running vng --version (slow) on every call
if [ ! -x "$VENV/bin/vng" ] || [ ! -e "$stamp" ]; then
  say "pip install virtme-ng==$VNG_VERSION into $VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "virtme-ng==$VNG_VERSION"
  "$VENV/bin/vng" --version 2>&1 | grep -qx "virtme-ng $VNG_VERSION" || die "vng --version is not $VNG_VERSION"
  rm -f "$VENV"/.vng-*; touch "$stamp"
fi
# vng runs virtme-run through PATH; vm-run.sh also puts the venv first.
for b in vng virtme-run; do
  [ "$(readlink "/usr/local/bin/$b" 2>/dev/null)" = "$VENV/bin/$b" ] || ln -sfn "$VENV/bin/$b" "/usr/local/bin/$b"
done

# --- 3. the Debian 6.1 kernel, unpacked, not installed -------------------------------
kernel_ok() {  # $1 = VER
  [ -n "$1" ] && [ -s "$LAB_DIR/vmlinuz-$1" ] && [ -s "/lib/modules/$1/modules.dep" ] &&
    modinfo -k "$1" -n ip_vs >/dev/null 2>&1 && modinfo -k "$1" -n 9p >/dev/null 2>&1
}
VER=$(cat "$LAB_DIR/kernel-version" 2>/dev/null || true)
if [ -n "${IPVS_LAB_KPKG:-}" ] || ! kernel_ok "$VER"; then
  apt_update_once
  KPKG=${IPVS_LAB_KPKG:-$(apt-cache depends linux-image-amd64 | awk '$1=="Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')}
  [ -n "$KPKG" ] || die "cannot find the kernel package behind linux-image-amd64"
  WORK=$(mktemp -d /var/tmp/ipvs-lab-kernel.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  chown _apt "$WORK" 2>/dev/null || true   # apt-get download runs as _apt
  say "apt-get download $KPKG"
  (cd "$WORK" && apt-get download -qq "$KPKG")
  dpkg -x "$WORK"/*.deb "$WORK/x"
  VER=$(find "$WORK/x/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -1)
  if [ -z "$VER" ] || [ ! -s "$WORK/x/boot/vmlinuz-$VER" ]; then die "no kernel in $KPKG"; fi
  mkdir -p /lib/modules
  rm -rf "/lib/modules/$VER"
  cp -a "$WORK/x/lib/modules/$VER" "/lib/modules/$VER"
  say "depmod $VER"
  depmod "$VER"
  cp "$WORK/x/boot/vmlinuz-$VER" "$LAB_DIR/vmlinuz-$VER"
  cp "$WORK/x/boot/config-$VER" "$LAB_DIR/config-$VER"
  echo "$VER" > "$LAB_DIR/kernel-version"
  ln -sfn "vmlinuz-$VER" "$LAB_DIR/vmlinuz"
  kernel_ok "$VER" || die "kernel $VER unpacked but modinfo finds no ip_vs or 9p"
fi

say "ready: kernel $VER, virtme-ng $VNG_VERSION ($LAB_DIR)"
