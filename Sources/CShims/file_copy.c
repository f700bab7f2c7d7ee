#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "CFileCopy.h"

ssize_t hdb_copy_file_range(int input, int64_t *input_offset, int output, int64_t *output_offset, size_t length) {
    loff_t in = *input_offset, out = *output_offset;
    ssize_t copied = copy_file_range(input, &in, output, &out, length, 0);
    *input_offset = in;
    *output_offset = out;
    return copied;
}

int hdb_start_writeback(int descriptor, int64_t offset, int64_t length) {
    return sync_file_range(descriptor, offset, length, SYNC_FILE_RANGE_WRITE);
}

int hdb_memory_file(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}
