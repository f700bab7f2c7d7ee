// copy_file_range(2), which glibc declares only under _GNU_SOURCE (so Swift does not see it):
// the kernel copies a file into another at given offsets, with no pass through user memory.
#ifndef HASHDB_CFILECOPY_H
#define HASHDB_CFILECOPY_H

#include <stdint.h>
#include <sys/types.h>

/// Copies up to `length` bytes from `input` at `*input_offset` to `output` at `*output_offset`,
/// advancing both offsets. Returns the bytes copied, 0 at the end of the input, -1 with errno.
ssize_t hdb_copy_file_range(int input, int64_t *input_offset, int output, int64_t *output_offset, size_t length);

#endif
