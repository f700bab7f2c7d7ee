#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "CImageCodecs.h"
#include "jpeg_color_space.h"

void hdb_free(void *pointer) {
    free(pointer);
}

// ---------------------------------------------------------------- JPEG

// Lives on the heap so that what libjpeg writes through pointers (the output buffer) is
// still well defined after a longjmp.
typedef struct {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr errors;
    jmp_buf jump;
    unsigned char *buffer;
    unsigned long size;
    char *message;
    size_t message_capacity;
} jpeg_writer;

static void jpeg_writer_on_error(j_common_ptr cinfo) {
    jpeg_writer *writer = cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    if (writer->message_capacity > 0) {
        snprintf(writer->message, writer->message_capacity, "%s", text);
    }
    longjmp(writer->jump, 1);
}

static void jpeg_writer_on_message(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}


int hdb_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                    const hdb_jpeg_encode_options *options,
                    uint8_t **out, size_t *out_size, char *message, size_t message_capacity) {
    *out = NULL;
    *out_size = 0;
    int components = options->input_components;
    if (components != 1 && components != 3 && components != 4) {
        snprintf(message, message_capacity, "cannot encode %d components", components);
        return HDB_MISUSE;
    }
    jpeg_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) {
        return HDB_NOMEM;
    }
    writer->message = message;
    writer->message_capacity = message_capacity;
    writer->cinfo.err = jpeg_std_error(&writer->errors);
    writer->errors.error_exit = jpeg_writer_on_error;
    writer->errors.emit_message = jpeg_writer_on_message;
    writer->cinfo.client_data = writer;
    if (setjmp(writer->jump)) {
        jpeg_destroy_compress(&writer->cinfo);
        free(writer->buffer);
        free(writer);
        return HDB_CORRUPT;
    }
    jpeg_create_compress(&writer->cinfo);
    jpeg_mem_dest(&writer->cinfo, &writer->buffer, &writer->size);
    writer->cinfo.image_width = width;
    writer->cinfo.image_height = height;
    writer->cinfo.input_components = components;
    writer->cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&writer->cinfo);
    jpeg_set_colorspace(&writer->cinfo, to_libjpeg_color_space(options->stored_color_space));
    jpeg_set_quality(&writer->cinfo, options->quality, TRUE);
    if (options->progressive) {
        jpeg_simple_progression(&writer->cinfo);
    }
    jpeg_start_compress(&writer->cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (writer->cinfo.next_scanline < height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)writer->cinfo.next_scanline * stride);
        jpeg_write_scanlines(&writer->cinfo, &row, 1);
    }
    jpeg_finish_compress(&writer->cinfo);
    jpeg_destroy_compress(&writer->cinfo);
    *out = writer->buffer;
    *out_size = writer->size;
    free(writer);
    return HDB_OK;
}

// ---------------------------------------------------------------- PNG

typedef struct {
    png_structp png;
    png_infop info;
    jmp_buf jump;
    int status;
    uint8_t *buffer;
    size_t size;
    size_t capacity;
    char *message;
    size_t message_capacity;
} png_writer;

static void png_writer_on_error(png_structp png, png_const_charp text) {
    png_writer *writer = png_get_error_ptr(png);
    if (writer->status == HDB_OK) {
        writer->status = HDB_CORRUPT;
    }
    if (writer->message_capacity > 0) {
        snprintf(writer->message, writer->message_capacity, "%s", text);
    }
    longjmp(writer->jump, 1);
}

static void png_writer_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_write_to_memory(png_structp png, png_bytep data, png_size_t length) {
    png_writer *writer = png_get_io_ptr(png);
    if (length > writer->capacity - writer->size) {
        size_t wanted = writer->size + length;
        size_t capacity = writer->capacity < 4096 ? 4096 : writer->capacity;
        while (capacity < wanted) {
            capacity *= 2;
        }
        uint8_t *grown = realloc(writer->buffer, capacity);
        if (grown == NULL) {
            writer->status = HDB_NOMEM;
            png_error(png, "out of memory");
        }
        writer->buffer = grown;
        writer->capacity = capacity;
    }
    memcpy(writer->buffer + writer->size, data, length);
    writer->size += length;
}

static void png_flush_nothing(png_structp png) {
    (void)png;
}

int hdb_png_encode(const uint8_t *const *rows, uint32_t width, uint32_t height,
                   const hdb_png_encode_options *options,
                   uint8_t **out, size_t *out_size, char *message, size_t message_capacity) {
    *out = NULL;
    *out_size = 0;
    png_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) {
        return HDB_NOMEM;
    }
    writer->message = message;
    writer->message_capacity = message_capacity;
    writer->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, writer, png_writer_on_error,
                                          png_writer_on_warning);
    if (writer->png == NULL) {
        free(writer);
        return HDB_NOMEM;
    }
    writer->info = png_create_info_struct(writer->png);
    if (writer->info == NULL) {
        png_destroy_write_struct(&writer->png, NULL);
        free(writer);
        return HDB_NOMEM;
    }
    if (setjmp(writer->jump)) {
        int status = writer->status;
        png_destroy_write_struct(&writer->png, &writer->info);
        free(writer->buffer);
        free(writer);
        return status;
    }
    png_set_write_fn(writer->png, writer, png_write_to_memory, png_flush_nothing);
    png_set_IHDR(writer->png, writer->info, width, height, options->bit_depth, options->color_type,
                 options->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (options->palette != NULL && options->palette_entries > 0) {
        png_color palette[256];
        int entries = options->palette_entries > 256 ? 256 : options->palette_entries;
        for (int i = 0; i < entries; i++) {
            palette[i].red = options->palette[3 * i];
            palette[i].green = options->palette[3 * i + 1];
            palette[i].blue = options->palette[3 * i + 2];
        }
        png_set_PLTE(writer->png, writer->info, palette, entries);
    }
    if (options->transparency != NULL && options->transparency_entries > 0) {
        png_set_tRNS(writer->png, writer->info, options->transparency, options->transparency_entries, NULL);
    } else if (options->has_transparent_color) {
        png_color_16 color = {0};
        color.gray = options->transparent_color[0];
        color.red = options->transparent_color[0];
        color.green = options->transparent_color[1];
        color.blue = options->transparent_color[2];
        png_set_tRNS(writer->png, writer->info, NULL, 0, &color);
    }
    png_write_info(writer->png, writer->info);
    png_write_image(writer->png, (png_bytepp)rows);
    png_write_end(writer->png, NULL);
    png_destroy_write_struct(&writer->png, &writer->info);
    *out = writer->buffer;
    *out_size = writer->size;
    free(writer);
    return HDB_OK;
}
