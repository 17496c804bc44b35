#!/bin/bash
# Install the Debian packages the Swift build of lvsync needs (run as root).
#   libnl-3-dev libnl-genl-3-dev  the CNetlink system library (IPVS generic netlink)
#   libnl-route-3-dev             HostNetwork (rtnetlink: VIPs, dummy links)
#   libssl-dev                    TLS for tools/tests that link OpenSSL
#   pkg-config                    SwiftPM finds the libnl headers through it
#   systemd man-db                the install check: systemd-analyze verify of the unit, man -l of the man page
#   dpkg-dev binutils             the Debian package: dpkg-shlibdeps (its Depends), strip, readelf
#   debootstrap                   the package's test: a clean Debian 12 root to install it in
#   prometheus python3-yaml       promtool: the alert rules checked and tested on the lab pair's series
#   nftables                      the failover soak (ops/bench/soak.sh): random loss on a namespace's loopback
# Idempotent: runs apt-get update and install only when a package is missing,
# so a run with everything present is silent and fast.
set -euo pipefail

PKGS="libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libssl-dev pkg-config systemd man-db dpkg-dev binutils debootstrap prometheus python3-yaml nftables"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

[ "$(id -u)" = 0 ] || { echo "install-deps: must run as root to install:$missing" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get install:$missing"
apt-get update -qq
# shellcheck disable=SC2086  # word splitting wanted
apt-get install -y -qq --no-install-recommends $missing >/dev/null
