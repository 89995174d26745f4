#ifndef SWITCHYARD_CSTREAMINGCOPY_H
#define SWITCHYARD_CSTREAMINGCOPY_H

#include <stddef.h>

/// Copies `count` bytes from `source` to `destination` (which must not overlap) with stores
/// that bypass the cache where the processor has them (x86-64's non-temporal stores), and
/// orders them before the function returns. For copies whose destination this thread will
/// not read again: a capture batch another core writes out, a buffer a disk reads by DMA.
/// Elsewhere, and for the unaligned head and the tail, it is memcpy.
void switchyard_copy_streaming(void *destination, const void *source, size_t count);

#endif
