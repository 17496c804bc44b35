#ifndef LVSYNC_CBUILDINFO_H
#define LVSYNC_CBUILDINFO_H

/// The git revision the binary was built from (ops/build-release.sh gives it), or "unknown" for a plain swift build.
const char *lvsync_build_revision(void);

#endif
