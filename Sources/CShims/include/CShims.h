// What Swift cannot do itself: libjpeg/libpng error recovery (setjmp) and prefetching.
#include "CImageCodecs.h"
#include "CPrefetch.h"
