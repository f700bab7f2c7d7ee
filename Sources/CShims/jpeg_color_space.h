// libjpeg's colour spaces for the hdb_color_space codes, shared by the decoder and the encoder
// (private to the shim: needs jpeglib.h included first).
#ifndef HDB_JPEG_COLOR_SPACE_H
#define HDB_JPEG_COLOR_SPACE_H

static inline J_COLOR_SPACE to_libjpeg_color_space(int space) {
    switch (space) {
    case HDB_CS_GRAY: return JCS_GRAYSCALE;
    case HDB_CS_RGB: return JCS_RGB;
    case HDB_CS_YCBCR: return JCS_YCbCr;
    case HDB_CS_CMYK: return JCS_CMYK;
    case HDB_CS_YCCK: return JCS_YCCK;
    default: return JCS_UNKNOWN;
    }
}

#endif
