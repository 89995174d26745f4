#include "CStreamingCopy.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>

void switchyard_copy_streaming(void *destination, const void *source, size_t count) {
    unsigned char *to = destination;
    const unsigned char *from = source;
    // Up to the destination's first 64-byte line with plain stores: streaming stores want
    // aligned, whole lines to combine.
    size_t head = (64 - ((uintptr_t)to & 63)) & 63;
    if (head > count) {
        head = count;
    }
    memcpy(to, from, head);
    to += head;
    from += head;
    count -= head;
    while (count >= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)from);
        __m128i b = _mm_loadu_si128((const __m128i *)(from + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(from + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(from + 48));
        _mm_stream_si128((__m128i *)to, a);
        _mm_stream_si128((__m128i *)(to + 16), b);
        _mm_stream_si128((__m128i *)(to + 32), c);
        _mm_stream_si128((__m128i *)(to + 48), d);
        to += 64;
        from += 64;
        count -= 64;
    }
    memcpy(to, from, count);
    // Streaming stores are weakly ordered: make them visible before anything that follows,
    // such as the lock that hands the destination to another thread.
    _mm_sfence();
}
#else
void switchyard_copy_streaming(void *destination, const void *source, size_t count) {
    memcpy(destination, source, count);
}
#endif
