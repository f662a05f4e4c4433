/*
 * fuzz_npy.c - libFuzzer target for the .npy reader of libhodu_rt.
 *
 * Any bytes must give either a tensor whose byte size matches its dtype and
 * dims, or an error with a message; never a crash, a sanitizer report or an
 * allocation the file's own size does not justify.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hodu_rt.h"

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/hodu-fuzz-npy-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    hodu_tensor t;
    hodu_error err;
    memset(&err, 0, sizeof(err));
    /* The last byte picks the type the caller expects (raw-byte files are
     * read as it), from none to past the last type. */
    hodu_dtype expect = (hodu_dtype)(size ? data[size - 1] % (HODU_DTYPE_COUNT_ + 2) : 0);
    if (hodu_npy_read_as(path, expect, &t, &err) == HODU_OK) {
        /* What was read must be what the header claims.  A string takes
         * 16 bytes in memory for at least 4 in the file, and its text lies
         * in the block read, at most 4 bytes of UTF-8 per code unit. */
        if (t.nbytes > (t.dtype == HODU_DTYPE_STRING ? 4 * size : size))
            abort();
        if (t.dtype == HODU_DTYPE_STRING)
            for (size_t i = 0; i < t.nbytes / sizeof(hodu_string); i++) {
                const hodu_string *s = (const hodu_string *)t.data + i;
                if (s->size > size || (s->size > 0 && (s->data < (const char *)t.data ||
                                                       s->data + s->size > (const char *)t.data + t.nbytes + size)))
                    abort();
            }
        size_t numel = 1;
        for (int i = 0; i < t.rank; i++)
            numel *= (size_t)t.dims[i];
        if (t.nbytes != numel * hodu_dtype_size(t.dtype))
            abort();
        hodu_tensor_free(&t);
    } else if (err.message[0] == '\0') {
        abort(); /* every failure says why */
    }
    return 0;
}
