// What Swift cannot do itself: libjpeg/libpng error recovery (setjmp), prefetching, and
// copy_file_range, memfd_create.
#include "CImageCodecs.h"
#include "CPrefetch.h"
#include "CFileCopy.h"
