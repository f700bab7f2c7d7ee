// The part of image coding Swift cannot do itself: libjpeg and libpng report errors by
// longjmp, and Swift cannot call setjmp. Every libjpeg/libpng call that may fail runs
// inside one of these functions, each with its own setjmp, so an error in the library
// becomes a status code and a message instead of a jump across Swift frames or exit().
//
// Invariants:
// - After any call returns a status other than HDB_OK, the only valid calls on that
//   codec object are *_message and *_destroy.
// - Input bytes must stay valid and unchanged until the decoder is destroyed.
// - Nothing here allocates from a size read out of the file before the caller has
//   seen the header and checked its own limits.
#ifndef HASHDB_CIMAGECODECS_H
#define HASHDB_CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HDB_OK = 0,
    HDB_CORRUPT = 1,    // the library rejected the data; see *_message
    HDB_TRUNCATED = 2,  // the data ended before the image did
    HDB_LIMIT = 3,      // a resource limit set by the caller was reached
    HDB_NOMEM = 4,      // an allocation failed
    HDB_MISUSE = 5      // called in the wrong state
} hdb_status;

// Colour spaces, as stored in a JPEG file or requested as output.
typedef enum {
    HDB_CS_UNKNOWN = 0,
    HDB_CS_GRAY = 1,
    HDB_CS_RGB = 2,
    HDB_CS_YCBCR = 3,
    HDB_CS_CMYK = 4,
    HDB_CS_YCCK = 5
} hdb_color_space;

// ---------------------------------------------------------------- JPEG decoding

typedef struct hdb_jpeg_decoder hdb_jpeg_decoder;

typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t components;
    int32_t color_space;    // hdb_color_space of the stored data
    int32_t progressive;    // 1 for progressive or multi-scan files
    int32_t saw_adobe_marker;
} hdb_jpeg_header;

// NULL when out of memory. max_scans bounds the scans of a progressive file (CPU bombs);
// max_memory bounds libjpeg's whole-image buffers, in bytes.
hdb_jpeg_decoder *hdb_jpeg_decoder_create(uint32_t max_scans, size_t max_memory);
void hdb_jpeg_decoder_destroy(hdb_jpeg_decoder *decoder);
const char *hdb_jpeg_decoder_message(const hdb_jpeg_decoder *decoder);

int hdb_jpeg_read_header(hdb_jpeg_decoder *decoder, const uint8_t *data, size_t size,
                         hdb_jpeg_header *header);
// scale_denom is 1, 2, 4 or 8 (libjpeg's DCT-domain scaling). Writes the output size.
int hdb_jpeg_start(hdb_jpeg_decoder *decoder, int32_t out_color_space, uint32_t scale_denom,
                   uint32_t *out_width, uint32_t *out_height, int32_t *out_components);
// Reads up to count rows; rows[i] must hold out_width * out_components bytes.
int hdb_jpeg_read_rows(hdb_jpeg_decoder *decoder, uint8_t *const *rows, uint32_t count,
                       uint32_t *rows_read);

// ---------------------------------------------------------------- PNG decoding

typedef struct hdb_png_decoder hdb_png_decoder;

// Colour types as the PNG specification numbers them (IHDR).
enum {
    HDB_PNG_COLOR_GRAY = 0,
    HDB_PNG_COLOR_RGB = 2,
    HDB_PNG_COLOR_PALETTE = 3,
    HDB_PNG_COLOR_GRAY_ALPHA = 4,
    HDB_PNG_COLOR_RGB_ALPHA = 6
};

typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t bit_depth;
    int32_t color_type;     // HDB_PNG_COLOR_*
    int32_t interlaced;
} hdb_png_header;

typedef enum {
    HDB_PNG_OUT_RGB8 = 0,    // palette expanded, grey replicated, alpha dropped, 16-bit: high byte
    HDB_PNG_OUT_GRAY16 = 1   // grey (alpha dropped) as big-endian 16-bit samples, untouched
} hdb_png_output;

// libpng refuses ancillary chunks (ICC, text, EXIF) larger than max_chunk_bytes.
// NULL when out of memory.
hdb_png_decoder *hdb_png_decoder_create(const uint8_t *data, size_t size, size_t max_chunk_bytes);
void hdb_png_decoder_destroy(hdb_png_decoder *decoder);
const char *hdb_png_decoder_message(const hdb_png_decoder *decoder);
// The most memory libpng itself held at once while this decoder ran (the pixel rows are the
// caller's and not counted); libpng may never hold more than hdb_png_memory_limit(max_chunk_bytes).
size_t hdb_png_decoder_peak_memory(const hdb_png_decoder *decoder);
size_t hdb_png_memory_limit(size_t max_chunk_bytes);

int hdb_png_read_header(hdb_png_decoder *decoder, hdb_png_header *header);
// Configures the output format; writes the size of one output row in bytes.
int hdb_png_start(hdb_png_decoder *decoder, int32_t output, size_t *row_bytes);
// rows has one pointer per image row, each to row_bytes bytes.
int hdb_png_read_image(hdb_png_decoder *decoder, uint8_t *const *rows);

// ---------------------------------------------------------------- encoding

// Encoded bytes are allocated with malloc: release them with hdb_free.
void hdb_free(void *pointer);

typedef struct {
    int32_t input_components;   // 1 (grey), 3 (RGB) or 4 (CMYK, Adobe-inverted as Photoshop writes it)
    int32_t stored_color_space; // hdb_color_space written to the file
    int32_t quality;            // 1...100
    int32_t progressive;
} hdb_jpeg_encode_options;

int hdb_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                    const hdb_jpeg_encode_options *options,
                    uint8_t **out, size_t *out_size, char *message, size_t message_capacity);

typedef struct {
    int32_t bit_depth;          // 1, 2, 4, 8 or 16
    int32_t color_type;         // HDB_PNG_COLOR_*
    int32_t interlaced;         // Adam7 when 1
    const uint8_t *palette;     // RGB triples, for palette images
    int32_t palette_entries;
    const uint8_t *transparency;     // tRNS: alpha per palette entry, or NULL
    int32_t transparency_entries;
    int32_t has_transparent_color;   // tRNS for grey/RGB images
    uint16_t transparent_color[3];   // grey in [0], or RGB
} hdb_png_encode_options;

// rows point at packed samples in PNG's own layout (big-endian 16-bit, packed sub-byte).
int hdb_png_encode(const uint8_t *const *rows, uint32_t width, uint32_t height,
                   const hdb_png_encode_options *options,
                   uint8_t **out, size_t *out_size, char *message, size_t message_capacity);

#ifdef __cplusplus
}
#endif

#endif
