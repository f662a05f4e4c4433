/*
 * common.c - status and dtype names, shape arithmetic, error filling and
 * tensor allocation for libhodu_rt.
 *
 * The bare-metal flavour (HODU_RT_BARE, tools/bare_runtime.sh) keeps the
 * names, shapes and errors only: no heap, no files.  Its one use of
 * <stdio.h> is vsnprintf/snprintf, which format into the caller's buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef HODU_RT_BARE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform.h"
#endif
#include "rt_impl.h"

/* --- errors ------------------------------------------------------------ */

hodu_status hodurt_fail(hodu_error *err, hodu_status code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        if (n < 0)
            err->message[0] = '\0';
    }
    return code;
}

hodu_status hodurt_ok(hodu_error *err)
{
    if (err != NULL) {
        err->code = HODU_OK;
        err->message[0] = '\0';
    }
    return HODU_OK;
}

HODU_RT_API const char *hodu_status_string(hodu_status status)
{
    switch (status) {
    case HODU_OK: return "ok";
    case HODU_ERR_INVALID_ARG: return "invalid argument";
    case HODU_ERR_IO: return "I/O error";
    case HODU_ERR_FORMAT: return "bad file format";
    case HODU_ERR_ABI: return "ABI version mismatch";
    case HODU_ERR_COUNT: return "wrong number of tensors";
    case HODU_ERR_DTYPE: return "dtype mismatch";
    case HODU_ERR_SHAPE: return "shape mismatch";
    case HODU_ERR_NOMEM: return "out of memory";
    case HODU_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

/* --- dtypes -------------------------------------------------------------- */

HODU_RT_API const char *hodu_dtype_name(hodu_dtype dtype)
{
    switch (dtype) {
    case HODU_DTYPE_F32: return "float32";
    case HODU_DTYPE_U8: return "uint8";
    case HODU_DTYPE_I8: return "int8";
    case HODU_DTYPE_U16: return "uint16";
    case HODU_DTYPE_I16: return "int16";
    case HODU_DTYPE_I32: return "int32";
    case HODU_DTYPE_I64: return "int64";
    case HODU_DTYPE_STRING: return "string";
    case HODU_DTYPE_BOOL: return "bool";
    case HODU_DTYPE_F16: return "float16";
    case HODU_DTYPE_F64: return "float64";
    case HODU_DTYPE_U32: return "uint32";
    case HODU_DTYPE_U64: return "uint64";
    case HODU_DTYPE_BF16: return "bfloat16";
    case HODU_DTYPE_F8E4M3FN: return "float8e4m3fn";
    case HODU_DTYPE_F8E4M3FNUZ: return "float8e4m3fnuz";
    case HODU_DTYPE_F8E5M2: return "float8e5m2";
    case HODU_DTYPE_F8E5M2FNUZ: return "float8e5m2fnuz";
    case HODU_DTYPE_U4: return "uint4";
    case HODU_DTYPE_I4: return "int4";
    case HODU_DTYPE_F4E2M1: return "float4e2m1";
    case HODU_DTYPE_F8E8M0: return "float8e8m0";
    case HODU_DTYPE_U2: return "uint2";
    case HODU_DTYPE_I2: return "int2";
    case HODU_DTYPE_UNDEFINED:
    case HODU_DTYPE_COUNT_: break;
    }
    return "undefined";
}

HODU_RT_API size_t hodu_dtype_size(hodu_dtype dtype)
{
    switch (dtype) {
    case HODU_DTYPE_U8:
    case HODU_DTYPE_I8:
    case HODU_DTYPE_BOOL:
    case HODU_DTYPE_F8E4M3FN:
    case HODU_DTYPE_F8E4M3FNUZ:
    case HODU_DTYPE_F8E5M2:
    case HODU_DTYPE_F8E5M2FNUZ:
    case HODU_DTYPE_U4:
    case HODU_DTYPE_I4:
    case HODU_DTYPE_F4E2M1:
    case HODU_DTYPE_F8E8M0:
    case HODU_DTYPE_U2:
    case HODU_DTYPE_I2: return 1;
    case HODU_DTYPE_U16:
    case HODU_DTYPE_I16:
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: return 2;
    case HODU_DTYPE_F32:
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32: return 4;
    case HODU_DTYPE_F64:
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return 8;
    case HODU_DTYPE_STRING: return sizeof(hodu_string);
    case HODU_DTYPE_UNDEFINED:
    case HODU_DTYPE_COUNT_: break;
    }
    return 0;
}

/* --- shapes -------------------------------------------------------------- */

bool hodurt_numel(int32_t rank, const int64_t *dims, int64_t *numel)
{
    if (rank < 0 || rank > HODU_MAX_RANK || (rank > 0 && dims == NULL))
        return false;
    int64_t n = 1;
    bool zero = false;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] == 0)
            zero = true;
    }
    if (zero) {
        *numel = 0;
        return true;
    }
    for (int32_t i = 0; i < rank; i++) {
        if (n > INT64_MAX / dims[i])
            return false;
        n *= dims[i];
    }
    *numel = n;
    return true;
}

bool hodurt_nbytes(hodu_dtype dtype, int32_t rank, const int64_t *dims, size_t *nbytes)
{
    size_t item = hodu_dtype_size(dtype);
    int64_t numel;
    if (item == 0 || !hodurt_numel(rank, dims, &numel))
        return false;
    if ((uint64_t)numel > (uint64_t)SIZE_MAX / item)
        return false;
    *nbytes = (size_t)numel * item;
    return true;
}

HODU_RT_API int64_t hodu_shape_numel(int32_t rank, const int64_t *dims)
{
    int64_t n;
    return hodurt_numel(rank, dims, &n) ? n : -1;
}

void hodurt_format_shape(char *buf, size_t size, int32_t rank, const int64_t *dims)
{
    if (size == 0)
        return;
    if (rank < 0 || rank > HODU_MAX_RANK || (rank > 0 && dims == NULL)) {
        snprintf(buf, size, "<invalid rank %ld>", (long)rank);
        return;
    }
    if (rank == 0) {
        snprintf(buf, size, "[]");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < rank; i++) {
        int n = snprintf(buf + used, size - used, "%c%lld", i == 0 ? '[' : ',', (long long)dims[i]);
        if (n < 0 || (size_t)n >= size - used)
            return; /* truncated: buf is still NUL-terminated */
        used += (size_t)n;
    }
    snprintf(buf + used, size - used, "]");
}

/* --- tensors ------------------------------------------------------------- */

#ifndef HODU_RT_BARE /* the rest allocates or reads and writes files */
void *hodurt_alloc_aligned(size_t nbytes)
{
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = nbytes == 0 ? HODU_ABI_ALIGN : nbytes;
    if (rounded > SIZE_MAX - (HODU_ABI_ALIGN - 1))
        return NULL;
    rounded = (rounded + HODU_ABI_ALIGN - 1) / HODU_ABI_ALIGN * HODU_ABI_ALIGN;
    void *p = hodurt_aligned_malloc(HODU_ABI_ALIGN, rounded);
    if (p != NULL)
        memset(p, 0, rounded);
    return p;
}

HODU_RT_API hodu_status hodu_tensor_alloc(hodu_tensor *t, hodu_dtype dtype, int32_t rank, const int64_t *dims,
                                          hodu_error *err)
{
    if (t == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_tensor_alloc: tensor is NULL");
    memset(t, 0, sizeof *t);
    if (hodu_dtype_size(dtype) == 0)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "hodu_tensor_alloc: dtype %s (%d) has no fixed element size",
                           hodu_dtype_name(dtype), (int)dtype);
    if (rank < 0 || rank > HODU_MAX_RANK)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_tensor_alloc: rank %ld is outside 0..%d", (long)rank,
                           HODU_MAX_RANK);
    if (rank > 0 && dims == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_tensor_alloc: dims is NULL for rank %ld", (long)rank);
    for (int32_t i = 0; i < rank; i++)
        if (dims[i] < 0)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_tensor_alloc: dim %ld is negative (%lld)", (long)i,
                               (long long)dims[i]);
    char shape[HODURT_SHAPE_STR_MAX];
    size_t nbytes;
    if (!hodurt_nbytes(dtype, rank, dims, &nbytes)) {
        hodurt_format_shape(shape, sizeof shape, rank, dims);
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_tensor_alloc: %s%s does not fit in memory",
                           hodu_dtype_name(dtype), shape);
    }
    void *data = hodurt_alloc_aligned(nbytes);
    if (data == NULL) {
        hodurt_format_shape(shape, sizeof shape, rank, dims);
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_tensor_alloc: out of memory for %s%s (%zu bytes)",
                           hodu_dtype_name(dtype), shape, nbytes);
    }
    t->dtype = dtype;
    t->rank = rank;
    for (int32_t i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    t->data = data;
    t->nbytes = nbytes;
    return hodurt_ok(err);
}

HODU_RT_API void hodu_tensor_free(hodu_tensor *t)
{
    if (t == NULL)
        return;
    hodurt_aligned_free(t->data);
    t->data = NULL;
    t->nbytes = 0;
}

/* --- files ----------------------------------------------------------------- */

long hodurt_read_full(int fd, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (long)done;
}

static bool write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        done += (size_t)w;
    }
    return true;
}

hodu_status hodurt_write_file(const char *path, const void *const *parts, const size_t *sizes, size_t n,
                              hodu_error *err)
{
    size_t path_len = strlen(path);
    char *tmp = malloc(path_len + 32);
    if (tmp == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
    snprintf(tmp, path_len + 32, "%s.tmp.%ld", path, hodurt_process_id());
    /* O_EXCL: never write through a file or link that is already there. */
    int fd = hodurt_create_new(tmp);
    if (fd < 0) {
        hodu_status st =
            hodurt_fail(err, HODU_ERR_IO, "cannot write '%s': cannot create '%s': %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *failed = NULL;
    int saved_errno = 0;
    for (size_t i = 0; i < n && failed == NULL; i++)
        if (!write_full(fd, parts[i], sizes[i])) {
            failed = "write";
            saved_errno = errno;
        }
    if (close(fd) != 0 && failed == NULL) {
        failed = "close";
        saved_errno = errno;
    }
    if (failed == NULL && !hodurt_replace_file(tmp, path)) {
        failed = "rename";
        saved_errno = errno;
    }
    if (failed != NULL) {
        unlink(tmp);
        hodu_status st =
            hodurt_fail(err, HODU_ERR_IO, "cannot write '%s': %s failed: %s", path, failed, strerror(saved_errno));
        free(tmp);
        return st;
    }
    free(tmp);
    return hodurt_ok(err);
}

hodu_status hodurt_read_file(const char *path, size_t max_bytes, uint8_t **bytes, size_t *size, hodu_error *err)
{
    *bytes = NULL;
    *size = 0;
    /* fstat then refuses anything but a regular file. */
    int fd = hodurt_open_read(path);
    if (fd < 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    hodu_status status = HODU_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        status = hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': not a regular file", path);
    } else if ((uint64_t)st.st_size > max_bytes) {
        status = hodurt_fail(err, HODU_ERR_FORMAT, "cannot read '%s': %lld bytes is more than the %zu allowed", path,
                             (long long)st.st_size, max_bytes);
    } else {
        size_t n = (size_t)st.st_size;
        *bytes = malloc(n ? n : 1);
        if (*bytes == NULL) {
            status = hodurt_fail(err, HODU_ERR_NOMEM, "cannot read '%s': out of memory", path);
        } else {
            long got = hodurt_read_full(fd, *bytes, n);
            if (got < 0 || (size_t)got != n) {
                status = hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path,
                                     got < 0 ? strerror(errno) : "the file changed while it was read");
                free(*bytes);
                *bytes = NULL;
            } else {
                *size = n;
            }
        }
    }
    close(fd);
    return status;
}
#endif /* HODU_RT_BARE */
