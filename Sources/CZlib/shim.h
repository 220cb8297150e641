/* zlib, for Celery bodies sent with compression='zlib' (header
 * "compression: application/x-gzip", an RFC 1950 stream). */
#ifndef PLUGWORKER_CZLIB_SHIM_H
#define PLUGWORKER_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit is a macro; Swift needs a function. */
static inline int czlib_inflate_init(z_stream *s) { return inflateInit(s); }
static inline int czlib_deflate_init(z_stream *s, int level) { return deflateInit(s, level); }
#endif
