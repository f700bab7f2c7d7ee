// File calls glibc declares only under _GNU_SOURCE (so Swift does not see them):
// copy_file_range(2), with which the kernel copies a file into another at given offsets, with no
// pass through user memory; sync_file_range(2), which starts writing a range back to disk;
// memfd_create(2), a file that lives in memory only (an upload handed to the ffmpeg program
// is never written to disk).
#ifndef HASHDB_CFILECOPY_H
#define HASHDB_CFILECOPY_H

#include <stdint.h>
#include <sys/types.h>

/// Copies up to `length` bytes from `input` at `*input_offset` to `output` at `*output_offset`,
/// advancing both offsets. Returns the bytes copied, 0 at the end of the input, -1 with errno.
ssize_t hdb_copy_file_range(int input, int64_t *input_offset, int output, int64_t *output_offset, size_t length);

/// Starts writing back the dirty pages of `length` bytes at `offset` without waiting for them
/// (an fsync later then has less to wait for). Returns 0, or -1 with errno.
int hdb_start_writeback(int descriptor, int64_t offset, int64_t length);

/// A new anonymous in-memory file (close-on-exec), or -1 with errno.
int hdb_memory_file(const char *name);

#endif
