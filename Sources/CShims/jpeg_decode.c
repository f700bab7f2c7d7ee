#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "CImageCodecs.h"
#include "jpeg_color_space.h"

struct hdb_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr errors;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int status;
    uint32_t max_scans;
    char message[JMSG_LENGTH_MAX + 64];
};

static void fail(hdb_jpeg_decoder *decoder, int status) {
    decoder->status = status;
    longjmp(decoder->jump, 1);
}

// Replaces libjpeg's error_exit, which would print and call exit().
static void on_error(j_common_ptr cinfo) {
    hdb_jpeg_decoder *decoder = cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, decoder->message);
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY:
        fail(decoder, HDB_NOMEM);
        break;
    case JERR_NO_BACKING_STORE:  // whole-image buffers would exceed max_memory_to_use
        fail(decoder, HDB_LIMIT);
        break;
    default:
        fail(decoder, HDB_CORRUPT);
    }
}

// libjpeg only warns about corrupt data and decodes on: the data ends early (the rest is
// filled with grey), a marker or a bad code turns up inside the entropy-coded data (the rest
// of the scan is zeros), the scans of a progressive file are inconsistent. A picture decoded
// that way would hash as something it is not, so each of these warnings is an error. Left as
// warnings, because the pixels are whole: bytes between markers (skipped, and common in
// files off the web; Pillow, the reference decoder, accepts them too), and notes on
// metadata we ignore (an unknown JFIF version, a bad ICC profile chunk).
static int is_corrupt_data_warning(int code) {
    switch (code) {
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC:
        return 0;
    default:
        return 1;
    }
}

static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) {
        return;  // trace messages
    }
    cinfo->err->num_warnings++;
    if (is_corrupt_data_warning(cinfo->err->msg_code)) {
        hdb_jpeg_decoder *decoder = cinfo->client_data;
        (*cinfo->err->format_message)(cinfo, decoder->message);
        fail(decoder, cinfo->err->msg_code == JWRN_JPEG_EOF ? HDB_TRUNCATED : HDB_CORRUPT);
    }
}

// Called by libjpeg while it absorbs a multi-scan file: bounds the number of scans, each of
// which may walk the whole coefficient buffer.
static void on_progress(j_common_ptr cinfo) {
    hdb_jpeg_decoder *decoder = cinfo->client_data;
    if (decoder->cinfo.input_scan_number > (int)decoder->max_scans) {
        snprintf(decoder->message, sizeof decoder->message,
                 "more than %u scans in a progressive JPEG", decoder->max_scans);
        fail(decoder, HDB_LIMIT);
    }
}

static int from_libjpeg_color_space(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return HDB_CS_GRAY;
    case JCS_RGB: return HDB_CS_RGB;
    case JCS_YCbCr: return HDB_CS_YCBCR;
    case JCS_CMYK: return HDB_CS_CMYK;
    case JCS_YCCK: return HDB_CS_YCCK;
    default: return HDB_CS_UNKNOWN;
    }
}


hdb_jpeg_decoder *hdb_jpeg_decoder_create(uint32_t max_scans, size_t max_memory) {
    hdb_jpeg_decoder *decoder = calloc(1, sizeof *decoder);
    if (decoder == NULL) {
        return NULL;
    }
    decoder->max_scans = max_scans;
    decoder->cinfo.err = jpeg_std_error(&decoder->errors);
    decoder->errors.error_exit = on_error;
    decoder->errors.emit_message = on_message;
    decoder->cinfo.client_data = decoder;
    if (setjmp(decoder->jump)) {
        jpeg_destroy_decompress(&decoder->cinfo);  // safe on a partly created object
        free(decoder);
        return NULL;
    }
    jpeg_create_decompress(&decoder->cinfo);
    decoder->cinfo.mem->max_memory_to_use = (long)(max_memory > (size_t)0x7fffffffffffffff ? 0x7fffffffffffffff : max_memory);
    decoder->progress.progress_monitor = on_progress;
    decoder->cinfo.progress = &decoder->progress;
    return decoder;
}

void hdb_jpeg_decoder_destroy(hdb_jpeg_decoder *decoder) {
    if (decoder == NULL) {
        return;
    }
    jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}

const char *hdb_jpeg_decoder_message(const hdb_jpeg_decoder *decoder) {
    return decoder->message;
}

int hdb_jpeg_read_header(hdb_jpeg_decoder *decoder, const uint8_t *data, size_t size,
                         hdb_jpeg_header *header) {
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    jpeg_mem_src(&decoder->cinfo, data, (unsigned long)size);
    jpeg_read_header(&decoder->cinfo, TRUE);
    header->width = decoder->cinfo.image_width;
    header->height = decoder->cinfo.image_height;
    header->components = decoder->cinfo.num_components;
    header->color_space = from_libjpeg_color_space(decoder->cinfo.jpeg_color_space);
    header->progressive = jpeg_has_multiple_scans(&decoder->cinfo) ? 1 : 0;
    header->saw_adobe_marker = decoder->cinfo.saw_Adobe_marker ? 1 : 0;
    return HDB_OK;
}

int hdb_jpeg_start(hdb_jpeg_decoder *decoder, int32_t out_color_space, uint32_t scale_denom,
                   uint32_t *out_width, uint32_t *out_height, int32_t *out_components) {
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    decoder->cinfo.out_color_space = to_libjpeg_color_space(out_color_space);
    decoder->cinfo.scale_num = 1;
    decoder->cinfo.scale_denom = scale_denom;
    // The reference decoder (Pillow) keeps libjpeg's defaults; so do we, explicitly.
    decoder->cinfo.dct_method = JDCT_ISLOW;
    decoder->cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&decoder->cinfo);
    *out_width = decoder->cinfo.output_width;
    *out_height = decoder->cinfo.output_height;
    *out_components = decoder->cinfo.output_components;
    return HDB_OK;
}

int hdb_jpeg_read_rows(hdb_jpeg_decoder *decoder, uint8_t *const *rows, uint32_t count,
                       uint32_t *rows_read) {
    *rows_read = 0;
    if (setjmp(decoder->jump)) {
        return decoder->status;
    }
    while (*rows_read < count && decoder->cinfo.output_scanline < decoder->cinfo.output_height) {
        JDIMENSION got = jpeg_read_scanlines(&decoder->cinfo, (JSAMPARRAY)(rows + *rows_read),
                                             count - *rows_read);
        if (got == 0) {
            break;  // a memory source never suspends; do not spin if it somehow does
        }
        *rows_read += got;
    }
    return HDB_OK;
}
