/*
 * fuzz_image.c - libFuzzer target for libhodu_rt's image decoder (the
 * hodu_exec.decode_image it lends models for ImageDecoder).
 *
 * Any bytes must give either pixels of the dims the decoder reports, in
 * the one buffer it took from the allocator, or a failure with a message;
 * never a crash, a sanitizer report, a leak or an allocation past the pixel
 * limit.  The limit is smaller than the library's (2^22 pixels) so that a
 * header claiming a huge image costs little.  The image libraries
 * themselves are Debian's, not instrumented: what this covers is the glue
 * (format detection, memory sources, error paths, limits, conversion).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_impl.h"

#define MAX_PIXELS (UINT64_C(1) << 22)

typedef struct fuzz_alloc {
    void *block;
    uint64_t bytes;
    int calls;
} fuzz_alloc;

static void *take(void *ctx, uint64_t bytes)
{
    fuzz_alloc *a = ctx;
    if (a->calls++ > 0 || bytes > MAX_PIXELS * 3) /* one buffer, never more than the limit allows */
        abort();
    a->bytes = bytes;
    a->block = malloc(bytes ? bytes : 1);
    return a->block;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_alloc a = {0};
    hodu_error err;
    memset(&err, 0, sizeof(err));
    const int32_t format = (int32_t)(size % 3); /* RGB, BGR, Grayscale */
    uint8_t *px = NULL;
    int64_t dims[3] = {-1, -1, -1};
    if (hodurt_decode_image(&err, MAX_PIXELS, data, size, format, take, &a, &px, dims) == 0) {
        const int64_t ch = format == HODU_PIXEL_GRAY ? 1 : 3;
        if (dims[0] <= 0 || dims[1] <= 0 || dims[2] != ch || (uint64_t)(dims[0] * dims[1]) > MAX_PIXELS ||
            px != a.block || a.bytes != (uint64_t)(dims[0] * dims[1] * ch))
            abort();
        unsigned sum = 0; /* every byte readable */
        for (uint64_t i = 0; i < a.bytes; i++)
            sum += px[i];
        (void)sum;
    } else if (err.message[0] == '\0') {
        abort(); /* a failure always says why */
    }
    free(a.block);
    return 0;
}
