// The header's functions are inline; this file is here because a C target needs a source.
#include "CPrefetch.h"
