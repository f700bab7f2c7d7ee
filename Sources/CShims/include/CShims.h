// What Swift cannot do itself: libjpeg/libpng error recovery (setjmp), prefetching, and
// copy_file_range.
#include "CImageCodecs.h"
#include "CPrefetch.h"
#include "CFileCopy.h"
