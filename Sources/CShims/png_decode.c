#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "CImageCodecs.h"

struct hdb_png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    jmp_buf jump;
    int status;
    // libpng's own allocations, counted so that their total is bounded (a file of a thousand
    // small chunks must not make libpng hold a thousand inflated ones).
    size_t memory_limit;
    size_t memory_in_use;
    size_t memory_peak;
    char message[256];
};

// Every block libpng allocates carries its size in front, so that frees can be counted.
typedef union {
    size_t size;
    max_align_t alignment;
} block_header;

size_t hdb_png_memory_limit(size_t max_chunk_bytes) {
    // One chunk being inflated (twice: libpng grows its buffer), row buffers of the widest
    // allowed image and zlib's state.
    return 2 * max_chunk_bytes + ((size_t)16 << 20);
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t size) {
    hdb_png_decoder *decoder = png_get_mem_ptr(png);
    if (size > decoder->memory_limit - decoder->memory_in_use || size > SIZE_MAX - sizeof(block_header)) {
        decoder->status = HDB_LIMIT;
        snprintf(decoder->message, sizeof decoder->message,
                 "libpng would hold more than %zu bytes of metadata and buffers", decoder->memory_limit);
        return NULL;
    }
    block_header *block = malloc(sizeof(block_header) + size);
    if (block == NULL) {
        return NULL;
    }
    block->size = size;
    decoder->memory_in_use += size;
    if (decoder->memory_in_use > decoder->memory_peak) {
        decoder->memory_peak = decoder->memory_in_use;
    }
    return block + 1;
}

static void on_free(png_structp png, png_voidp pointer) {
    if (pointer == NULL) {
        return;
    }
    hdb_png_decoder *decoder = png_get_mem_ptr(png);
    block_header *block = (block_header *)pointer - 1;
    decoder->memory_in_use -= block->size;
    free(block);
}

size_t hdb_png_decoder_peak_memory(const hdb_png_decoder *decoder) {
    return decoder->memory_peak;
}

// Chunks that carry nothing the pixels need, and that a file may hold many of: libpng skips
// them (reading past their bytes) instead of inflating and keeping each one.
static const png_byte ignored_chunks[] = {
    'i', 'C', 'C', 'P', '\0', 'i', 'T', 'X', 't', '\0', 't', 'E', 'X', 't', '\0', 'z', 'T', 'X', 't', '\0',
    's', 'P', 'L', 'T', '\0', 'e', 'X', 'I', 'f', '\0', 't', 'I', 'M', 'E', '\0',
};

// Replaces libpng's default error handler, which would longjmp to a buffer we never set
// or abort().
static void on_error(png_structp png, png_const_charp text) {
    hdb_png_decoder *decoder = png_get_error_ptr(png);
    if (decoder->status == HDB_OK) {
        decoder->status = HDB_CORRUPT;
    }
    snprintf(decoder->message, sizeof decoder->message, "%s", text);
    longjmp(decoder->jump, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void read_from_memory(png_structp png, png_bytep out, png_size_t length) {
    hdb_png_decoder *decoder = png_get_io_ptr(png);
    if (length > decoder->size - decoder->offset) {
        decoder->status = HDB_TRUNCATED;
        png_error(png, "the file ends before the image does");
    }
    memcpy(out, decoder->data + decoder->offset, length);
    decoder->offset += length;
}

hdb_png_decoder *hdb_png_decoder_create(const uint8_t *data, size_t size, size_t max_chunk_bytes) {
    hdb_png_decoder *decoder = calloc(1, sizeof *decoder);
    if (decoder == NULL) {
        return NULL;
    }
    decoder->data = data;
    decoder->size = size;
    decoder->memory_limit = hdb_png_memory_limit(max_chunk_bytes);
    decoder->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, decoder, on_error, on_warning,
                                            decoder, on_malloc, on_free);
    if (decoder->png == NULL) {
        free(decoder);
        return NULL;
    }
    decoder->info = png_create_info_struct(decoder->png);
    if (decoder->info == NULL) {
        png_destroy_read_struct(&decoder->png, NULL, NULL);
        free(decoder);
        return NULL;
    }
    png_set_read_fn(decoder->png, decoder, read_from_memory);
    // Dimension limits are the caller's, checked after the header so that they give a typed
    // error; libpng's own default (1,000,000) would answer first with a message instead.
    png_set_user_limits(decoder->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_malloc_max(decoder->png, max_chunk_bytes);
    png_set_keep_unknown_chunks(decoder->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(decoder->png, PNG_HANDLE_CHUNK_NEVER, ignored_chunks,
                                (int)(sizeof ignored_chunks / 5));
    png_set_chunk_cache_max(decoder->png, 64);
    return decoder;
}

void hdb_png_decoder_destroy(hdb_png_decoder *decoder) {
    if (decoder == NULL) {
        return;
    }
    png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
    free(decoder);
}

const char *hdb_png_decoder_message(const hdb_png_decoder *decoder) {
    return decoder->message;
}

int hdb_png_read_header(hdb_png_decoder *decoder, hdb_png_header *header) {
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    png_read_info(decoder->png, decoder->info);
    header->width = png_get_image_width(decoder->png, decoder->info);
    header->height = png_get_image_height(decoder->png, decoder->info);
    header->bit_depth = png_get_bit_depth(decoder->png, decoder->info);
    header->color_type = png_get_color_type(decoder->png, decoder->info);
    header->interlaced = png_get_interlace_type(decoder->png, decoder->info) != PNG_INTERLACE_NONE;
    return HDB_OK;
}

int hdb_png_start(hdb_png_decoder *decoder, int32_t output, size_t *row_bytes) {
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    png_structp png = decoder->png;
    int color_type = png_get_color_type(png, decoder->info);
    int bit_depth = png_get_bit_depth(png, decoder->info);
    if (output == HDB_PNG_OUT_GRAY16) {
        if (bit_depth != 16 || (color_type & PNG_COLOR_MASK_COLOR) != 0) {
            snprintf(decoder->message, sizeof decoder->message, "16-bit grey output asked of a %d-bit colour-type-%d image",
                     bit_depth, color_type);
            return HDB_MISUSE;
        }
    } else {
        if (color_type == PNG_COLOR_TYPE_PALETTE) {
            png_set_palette_to_rgb(png);
        }
        if ((color_type & PNG_COLOR_MASK_COLOR) == 0) {
            png_set_expand_gray_1_2_4_to_8(png);
            png_set_gray_to_rgb(png);
        }
        png_set_strip_16(png);  // keeps the high byte, as Pillow does for 16-bit colour
    }
    // Applies to the channels after expansion, so it also drops alpha made from tRNS.
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, decoder->info);
    *row_bytes = png_get_rowbytes(png, decoder->info);
    return HDB_OK;
}

int hdb_png_read_image(hdb_png_decoder *decoder, uint8_t *const *rows) {
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    png_read_image(decoder->png, (png_bytepp)rows);
    return HDB_OK;
}
