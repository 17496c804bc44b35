#include "CBuildInfo.h"

// ops/build-release.sh writes lvsync_revision.h (git-ignored) for the build it makes and removes it afterwards; any
// other build says "unknown".
#if __has_include("lvsync_revision.h")
#include "lvsync_revision.h"
#endif
#ifndef LVSYNC_REVISION
#define LVSYNC_REVISION "unknown"
#endif

const char *lvsync_build_revision(void) { return LVSYNC_REVISION; }
