// The system zlib (Debian: zlib1g-dev), for SPDY's header-block compression.
#ifndef CAPSTAN_CZLIB_SHIM_H
#define CAPSTAN_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit/inflateInit are macros; Swift can call these functions instead.
static inline int capstan_deflate_init(z_streamp stream, int level) {
    return deflateInit(stream, level);
}

static inline int capstan_inflate_init(z_streamp stream) {
    return inflateInit(stream);
}
#endif
