#!/usr/bin/env bash
# Builds the lvsync a director runs: release, the Swift runtime and Foundation linked in (--static-swift-stdlib), so
# that it needs only Debian's own libraries (libc, libstdc++, libnl-3, libnl-genl-3, libnl-route-3) and no Swift
# toolchain; `lvsync --version` names the git revision it was built from.
#
#   ops/build-release.sh       prints the binary's path (.build/release/lvsync) as its last line
#
# ops/install.sh, ops/package/build-deb.sh and ops/test.sh (the lab runs this binary, from the package) build with it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
revision=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
# The revision reaches the binary through a header the CBuildInfo target includes when it is there (build_info.c);
# touching build_info.c makes the build see it, and only that file is compiled again.
header=Sources/CBuildInfo/lvsync_revision.h
trap 'rm -f "$header"; touch Sources/CBuildInfo/build_info.c' EXIT
printf '#define LVSYNC_REVISION "%s"\n' "$revision" > "$header"
touch Sources/CBuildInfo/build_info.c
log=$(mktemp /tmp/lvsync-build.XXXXXX)
if ! swift build -c release --product lvsync --static-swift-stdlib > "$log" 2>&1; then
  grep -E 'error:' -A 3 "$log" >&2 || tail -n 30 "$log" >&2
  echo "build-release: swift build failed (log: $log)" >&2
  exit 1
fi
tail -n 1 "$log" >&2
rm -f "$log"
echo "$PWD/.build/release/lvsync"
