// FFmpeg's libraries (Debian's libavformat-dev, libavcodec-dev, libswscale-dev, libavutil-dev),
// and the little Swift cannot write itself: the error codes FFmpeg spells as macros over
// FFERRTAG and AVERROR, which the Swift importer cannot expand.
#ifndef HASHDB_CFFMPEG_H
#define HASHDB_CFFMPEG_H

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>

static inline int hdb_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int hdb_averror_eof(void) { return AVERROR_EOF; }
static inline int hdb_averror_exit(void) { return AVERROR_EXIT; }
static inline int64_t hdb_av_nopts_value(void) { return AV_NOPTS_VALUE; }

#endif
