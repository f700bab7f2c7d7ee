// Prefetching, which Swift has no way to ask for: the near-match index reads thousands of
// directory entries at random per query, and asking for them a few steps ahead keeps many
// cache misses in flight instead of waiting for each in turn.
#ifndef HASHDB_CPREFETCH_H
#define HASHDB_CPREFETCH_H

static inline void hdb_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 0);
}

#endif
