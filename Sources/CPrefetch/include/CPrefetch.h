// Cache prefetch hints for the mirror table's hot path (Swift has no prefetch of its own).
#ifndef LVSYNC_CPREFETCH_H
#define LVSYNC_CPREFETCH_H

/// Asks the CPU to bring the cache line at `p` in, to be read. Never faults, whatever `p` is.
static inline void lvsync_prefetch_read(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Asks the CPU to bring the cache line at `p` in, to be written. Never faults, whatever `p` is.
static inline void lvsync_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
