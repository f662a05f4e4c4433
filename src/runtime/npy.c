/*
 * npy.c - reading and writing numpy .npy files.
 *
 * Layout of a .npy file: the magic "\x93NUMPY", a major and a minor version
 * byte, the header length (2 bytes little-endian in version 1.0, 4 bytes in
 * 2.0 and 3.0), then the header: a Python dict literal with the keys 'descr',
 * 'fortran_order' and 'shape', padded with spaces and ended by '\n'.  The raw
 * array data follows.
 *
 * The reader treats the file as hostile: every length is checked against the
 * file size before anything is allocated, the header is parsed by a small
 * parser of exactly the literal subset numpy writes, and any surprise is an
 * error naming the file and the cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_impl.h"

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* A header this long is not something numpy writes; refuse it rather than
 * allocate for it. */
#define NPY_MAX_HEADER (1u << 20)

static bool host_is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

/* Reads up to n bytes, retrying on EINTR and short reads; returns the number
 * read (less than n only at end of file) or -1 with errno set. */
static ssize_t read_full(int fd, void *buf, size_t n)
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
    return (ssize_t)done;
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

/* --- the header dict ------------------------------------------------------ */

typedef struct npy_header {
    /* descr: the quoted text, interpreted once the whole dict has parsed */
    bool have_descr;
    const char *descr;
    size_t descr_len;
    hodu_dtype dtype; /* UNDEFINED for raw bytes ('V'): raw_size each */
    size_t raw_size;
    char raw_descr[4]; /* and the descr, for messages */
    /* fortran_order */
    bool have_fortran;
    bool fortran;
    /* shape */
    bool have_shape;
    int32_t rank;
    int64_t dims[HODU_MAX_RANK];
} npy_header;

typedef struct npy_parser {
    const char *path;
    const char *start;
    const char *p;
    const char *end;
    hodu_error *err;
} npy_parser;

static hodu_status parse_error(npy_parser *ps, const char *what)
{
    return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': malformed npy header at byte %ld: %s", ps->path,
                       (long)(ps->p - ps->start), what);
}

static void skip_space(npy_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Consumes `c` (after optional spaces) when it is next. */
static bool accept(npy_parser *ps, char c)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static bool accept_word(npy_parser *ps, const char *word)
{
    size_t len = strlen(word);
    skip_space(ps);
    if ((size_t)(ps->end - ps->p) >= len && memcmp(ps->p, word, len) == 0) {
        ps->p += len;
        return true;
    }
    return false;
}

/* A quoted string without escapes: 'abc' or "abc". */
static hodu_status parse_string(npy_parser *ps, const char **s, size_t *len)
{
    skip_space(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return parse_error(ps, "expected a quoted string");
    char quote = *ps->p++;
    const char *begin = ps->p;
    while (ps->p < ps->end && *ps->p != quote) {
        if (*ps->p == '\\' || *ps->p == '\n')
            return parse_error(ps, "unexpected character in a string");
        ps->p++;
    }
    if (ps->p >= ps->end)
        return parse_error(ps, "unterminated string");
    *s = begin;
    *len = (size_t)(ps->p - begin);
    ps->p++;
    return HODU_OK;
}

/* Maps a numpy type string such as '<f4' onto a dtype. */
static hodu_status parse_descr(npy_parser *ps, const char *s, size_t len, hodu_dtype *dtype)
{
    char shown[32];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 24 ? len : 24), s);
    if (len != 3)
        return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED, "'%s': npy dtype '%s' is not supported", ps->path, shown);
    char order = s[0], kind = s[1], size = s[2];
    if (((kind == 'V' && (size == '1' || size == '2')) || (kind == 'f' && size == '1')) &&
        (order == '<' || order == '|' || order == '=')) {
        /* raw bytes: what numpy writes for types it lacks (bfloat16 and the
         * narrow types of ml_dtypes, which labels float8_e5m2 'f1'); the
         * reader supplies the type */
        *dtype = HODU_DTYPE_UNDEFINED;
        return HODU_OK;
    }
    static const struct {
        char kind, size;
        hodu_dtype dtype;
    } table[] = {
        {'f', '2', HODU_DTYPE_F16}, {'f', '4', HODU_DTYPE_F32}, {'f', '8', HODU_DTYPE_F64}, {'i', '1', HODU_DTYPE_I8},
        {'i', '2', HODU_DTYPE_I16}, {'i', '4', HODU_DTYPE_I32}, {'i', '8', HODU_DTYPE_I64}, {'u', '1', HODU_DTYPE_U8},
        {'u', '2', HODU_DTYPE_U16}, {'u', '4', HODU_DTYPE_U32}, {'u', '8', HODU_DTYPE_U64}, {'b', '1', HODU_DTYPE_BOOL},
    };
    hodu_dtype found = HODU_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].kind == kind && table[i].size == size)
            found = table[i].dtype;
    if (found == HODU_DTYPE_UNDEFINED || (order != '<' && order != '>' && order != '=' && order != '|'))
        return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED, "'%s': npy dtype '%s' is not supported", ps->path, shown);
    if (size != '1') {
        /* Byte order matters: it must be stated and match this machine. */
        bool little = host_is_little_endian();
        if (order == '|')
            return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': npy dtype '%s' has no byte order", ps->path, shown);
        if ((order == '>' && little) || (order == '<' && !little))
            return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED,
                               "'%s': npy dtype '%s' is %s-endian, which this runtime does not convert", ps->path,
                               shown, order == '>' ? "big" : "little");
    }
    *dtype = found;
    return HODU_OK;
}

/* A shape tuple: "()", "(3,)", "(2, 3)", "(2, 3,)"; Python 2's "3L" too. */
static hodu_status parse_shape(npy_parser *ps, npy_header *h)
{
    if (!accept(ps, '('))
        return parse_error(ps, "expected '(' to start the shape");
    h->rank = 0;
    bool trailing_comma = false;
    while (!accept(ps, ')')) {
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == '-')
            return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': npy shape has a negative dim", ps->path);
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return parse_error(ps, "expected a dim or ')' in the shape");
        int64_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            int digit = *ps->p - '0';
            if (v > (INT64_MAX - digit) / 10)
                return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': npy shape has a dim too large for int64", ps->path);
            v = v * 10 + digit;
            ps->p++;
        }
        if (ps->p < ps->end && (*ps->p == 'L' || *ps->p == 'l'))
            ps->p++;
        /* Count dims past the limit; parse_header reports it once the
         * syntax is known to be good. */
        if (h->rank < HODU_MAX_RANK)
            h->dims[h->rank] = v;
        if (h->rank < INT32_MAX)
            h->rank++;
        trailing_comma = accept(ps, ',');
        if (!trailing_comma) {
            if (!accept(ps, ')'))
                return parse_error(ps, "expected ',' or ')' in the shape");
            break;
        }
    }
    /* "(3)" is the integer 3 in Python, not a tuple. */
    if (h->rank == 1 && !trailing_comma)
        return parse_error(ps, "a one-dim shape needs a trailing comma, as in (3,)");
    return HODU_OK;
}

static hodu_status parse_header(npy_parser *ps, npy_header *h)
{
    memset(h, 0, sizeof *h);
    if (!accept(ps, '{'))
        return parse_error(ps, "expected '{'");
    while (!accept(ps, '}')) {
        const char *key = NULL;
        size_t key_len = 0;
        hodu_status st = parse_string(ps, &key, &key_len);
        if (st != HODU_OK)
            return st;
        if (!accept(ps, ':'))
            return parse_error(ps, "expected ':' after a key");
        if (key_len == 5 && memcmp(key, "descr", 5) == 0) {
            if (h->have_descr)
                return parse_error(ps, "duplicate key 'descr'");
            skip_space(ps);
            if (ps->p < ps->end && (*ps->p == '[' || *ps->p == '{'))
                return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED,
                                   "'%s': npy file holds a structured dtype, which is not supported", ps->path);
            if ((st = parse_string(ps, &h->descr, &h->descr_len)) != HODU_OK)
                return st;
            h->have_descr = true;
        } else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (h->have_fortran)
                return parse_error(ps, "duplicate key 'fortran_order'");
            if (accept_word(ps, "True"))
                h->fortran = true;
            else if (accept_word(ps, "False"))
                h->fortran = false;
            else
                return parse_error(ps, "expected True or False for 'fortran_order'");
            h->have_fortran = true;
        } else if (key_len == 5 && memcmp(key, "shape", 5) == 0) {
            if (h->have_shape)
                return parse_error(ps, "duplicate key 'shape'");
            if ((st = parse_shape(ps, h)) != HODU_OK)
                return st;
            h->have_shape = true;
        } else {
            char shown[32];
            snprintf(shown, sizeof shown, "%.*s", (int)(key_len < 24 ? key_len : 24), key);
            return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': npy header has an unexpected key '%s'", ps->path,
                               shown);
        }
        if (!accept(ps, ',')) {
            if (!accept(ps, '}'))
                return parse_error(ps, "expected ',' or '}'");
            break;
        }
    }
    skip_space(ps);
    if (ps->p != ps->end)
        return parse_error(ps, "unexpected text after the header dict");
    if (!h->have_descr || !h->have_fortran || !h->have_shape)
        return hodurt_fail(ps->err, HODU_ERR_FORMAT, "'%s': npy header lacks the key '%s'", ps->path,
                           !h->have_descr     ? "descr"
                           : !h->have_fortran ? "fortran_order"
                                              : "shape");
    if (h->rank > HODU_MAX_RANK)
        return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED, "'%s': npy array has %ld dims, more than the %d supported",
                           ps->path, (long)h->rank, HODU_MAX_RANK);
    hodu_status st = parse_descr(ps, h->descr, h->descr_len, &h->dtype);
    if (st == HODU_OK && h->dtype == HODU_DTYPE_UNDEFINED) {
        h->raw_size = (size_t)(h->descr[2] - '0');
        memcpy(h->raw_descr, h->descr, 3);
        h->raw_descr[3] = '\0';
    }
    return st;
}

/* --- reading ------------------------------------------------------------ */

/* The body of hodu_npy_read_as once the file is open. */
static hodu_status read_npy_fd(const char *path, int fd, hodu_dtype expect, hodu_tensor *out, hodu_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': not a regular file", path);
    uint64_t file_size = (uint64_t)st.st_size;

    unsigned char pre[12];
    size_t pre_len = file_size < sizeof pre ? (size_t)file_size : sizeof pre;
    ssize_t got = read_full(fd, pre, pre_len);
    if (got < 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    if ((size_t)got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s' is not a .npy file (bad magic)", path);
    if ((size_t)got < 8)
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s': npy file is truncated inside its preamble", path);
    unsigned major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "'%s': npy format version %u.%u is not supported", path, major,
                           minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t pre_total = 8 + len_bytes;
    if ((size_t)got < pre_total)
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s': npy file is truncated inside its preamble", path);
    uint32_t header_len = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (len_bytes == 4)
        header_len |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    if ((uint64_t)pre_total + header_len > file_size)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "'%s': npy header claims %lu bytes but the file has only %llu after the preamble", path,
                           (unsigned long)header_len, (unsigned long long)(file_size - pre_total));
    if (header_len > NPY_MAX_HEADER)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                           "'%s': npy header of %lu bytes exceeds the %u this reader accepts", path,
                           (unsigned long)header_len, NPY_MAX_HEADER);

    /* We may have read a little past the preamble: seek to the header. */
    if (lseek(fd, (off_t)pre_total, SEEK_SET) < 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    char *header = malloc(header_len > 0 ? header_len : 1);
    if (header == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "'%s': out of memory for the npy header", path);
    got = read_full(fd, header, header_len);
    if (got < 0 || (size_t)got != header_len) {
        int e = got < 0 ? errno : 0;
        free(header);
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path,
                           e != 0 ? strerror(e) : "file shrank while reading");
    }
    npy_parser ps = {path, header, header, header + header_len, err};
    npy_header h;
    hodu_status status = parse_header(&ps, &h);
    free(header);
    if (status != HODU_OK)
        return status;

    if (h.dtype == HODU_DTYPE_UNDEFINED) {
        /* Raw bytes take the type the caller expects, if it has no numpy
         * type of its own and is that wide. */
        bool typeless = expect == HODU_DTYPE_BF16 || (expect >= HODU_DTYPE_F8E4M3FN && expect <= HODU_DTYPE_I2);
        if (!typeless || hodu_dtype_size(expect) != h.raw_size)
            return hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                               "'%s': npy dtype '%s' is raw bytes with no element type; it is read only for a "
                               "bfloat16, 8-bit float or 4- or 2-bit tensor of that width%s%s",
                               path, h.raw_descr, expect == HODU_DTYPE_UNDEFINED ? "" : ", not ",
                               expect == HODU_DTYPE_UNDEFINED ? "" : hodu_dtype_name(expect));
        h.dtype = expect;
    }
    if (h.fortran)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                           "'%s': npy array is in Fortran order; only C order is supported (save it with "
                           "numpy.ascontiguousarray)",
                           path);
    char shape[HODURT_SHAPE_STR_MAX];
    hodurt_format_shape(shape, sizeof shape, h.rank, h.dims);
    size_t nbytes;
    if (!hodurt_nbytes(h.dtype, h.rank, h.dims, &nbytes))
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s': npy array %s%s is too large to address", path,
                           hodu_dtype_name(h.dtype), shape);
    uint64_t data_len = file_size - pre_total - header_len;
    if (data_len != (uint64_t)nbytes)
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s': npy array %s%s needs %zu data bytes but the file has %llu",
                           path, hodu_dtype_name(h.dtype), shape, nbytes, (unsigned long long)data_len);

    hodu_tensor t;
    status = hodu_tensor_alloc(&t, h.dtype, h.rank, h.dims, err);
    if (status != HODU_OK)
        return status;
    got = read_full(fd, t.data, nbytes);
    if (got < 0 || (size_t)got != nbytes) {
        int e = got < 0 ? errno : 0;
        hodu_tensor_free(&t);
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path,
                           e != 0 ? strerror(e) : "file shrank while reading");
    }
    if (h.dtype == HODU_DTYPE_BOOL) {
        /* numpy treats any non-zero byte as True; keep the runtime's bools 0/1. */
        unsigned char *b = t.data;
        for (size_t i = 0; i < nbytes; i++)
            b[i] = b[i] != 0;
    }
    *out = t;
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_npy_read(const char *path, hodu_tensor *out, hodu_error *err)
{
    return hodu_npy_read_as(path, HODU_DTYPE_UNDEFINED, out, err);
}

HODU_RT_API hodu_status hodu_npy_read_as(const char *path, hodu_dtype expect, hodu_tensor *out, hodu_error *err)
{
    if (out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_npy_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (path == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_npy_read: path is NULL");
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
     * refuses anything but a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    hodu_status status = read_npy_fd(path, fd, expect, out, err);
    close(fd);
    return status;
}

/* --- writing ------------------------------------------------------------ */

/* numpy's type string for a dtype, or NULL when numpy has none. */
static const char *npy_descr(hodu_dtype dtype)
{
    bool little = host_is_little_endian();
    switch (dtype) {
    case HODU_DTYPE_F16: return little ? "<f2" : ">f2";
    case HODU_DTYPE_F32: return little ? "<f4" : ">f4";
    case HODU_DTYPE_F64: return little ? "<f8" : ">f8";
    case HODU_DTYPE_I8: return "|i1";
    case HODU_DTYPE_I16: return little ? "<i2" : ">i2";
    case HODU_DTYPE_I32: return little ? "<i4" : ">i4";
    case HODU_DTYPE_I64: return little ? "<i8" : ">i8";
    case HODU_DTYPE_U8: return "|u1";
    case HODU_DTYPE_U16: return little ? "<u2" : ">u2";
    case HODU_DTYPE_U32: return little ? "<u4" : ">u4";
    case HODU_DTYPE_U64: return little ? "<u8" : ">u8";
    case HODU_DTYPE_BOOL: return "|b1";
    /* numpy has no types for these: raw bytes, as numpy writes ml_dtypes' */
    case HODU_DTYPE_BF16: return little ? "<V2" : NULL;
    default: /* the narrow types, one byte each; nothing else */
        return dtype > HODU_DTYPE_BF16 && dtype < HODU_DTYPE_COUNT_ ? "|V1" : NULL;
    }
}

/* Builds the preamble and padded header; returns its length, a multiple of
 * 64.  buf must hold at least 512 bytes. */
static size_t build_header(char *buf, size_t size, const char *descr, int32_t rank, const int64_t *dims)
{
    /* Preamble: magic, version 1.0, then the header length filled in below. */
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    size_t pos = 10;
    pos += (size_t)snprintf(buf + pos, size - pos, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int32_t i = 0; i < rank; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", i > 0 ? ", " : "", (long long)dims[i]);
    pos += (size_t)snprintf(buf + pos, size - pos, "%s), }", rank == 1 ? "," : "");
    /* Pad with spaces so that the data starts on a 64-byte boundary, leaving
     * room for the closing newline. */
    size_t total = (pos + 1 + 63) / 64 * 64;
    memset(buf + pos, ' ', total - 1 - pos);
    buf[total - 1] = '\n';
    size_t header_len = total - 10;
    buf[8] = (char)(header_len & 0xff);
    buf[9] = (char)(header_len >> 8);
    return total;
}

HODU_RT_API hodu_status hodu_npy_write(const char *path, const hodu_tensor *t, hodu_error *err)
{
    if (path == NULL || t == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_npy_write: %s is NULL", path == NULL ? "path" : "tensor");
    const char *descr = npy_descr(t->dtype);
    if (descr == NULL)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "cannot write '%s': numpy has no dtype for %s", path,
                           hodu_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > HODU_MAX_RANK)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "cannot write '%s': rank %ld is outside 0..%d", path,
                           (long)t->rank, HODU_MAX_RANK);
    char shape[HODURT_SHAPE_STR_MAX];
    hodurt_format_shape(shape, sizeof shape, t->rank, t->dims);
    size_t nbytes;
    if (!hodurt_nbytes(t->dtype, t->rank, t->dims, &nbytes))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "cannot write '%s': shape %s is invalid or too large", path,
                           shape);
    if (t->nbytes < nbytes || (nbytes > 0 && t->data == NULL))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                           "cannot write '%s': %s%s needs %zu bytes but the tensor holds %zu", path,
                           hodu_dtype_name(t->dtype), shape, nbytes, t->data == NULL ? (size_t)0 : t->nbytes);

    char header[512];
    size_t header_size = build_header(header, sizeof header, descr, t->rank, t->dims);

    size_t path_len = strlen(path);
    char *tmp = malloc(path_len + 32);
    if (tmp == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
    snprintf(tmp, path_len + 32, "%s.tmp.%ld", path, (long)getpid());

    /* O_EXCL: never write through a file or link that is already there. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        hodu_status st =
            hodurt_fail(err, HODU_ERR_IO, "cannot write '%s': cannot create '%s': %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    const char *failed = NULL;
    int saved_errno = 0;
    if (!write_full(fd, header, header_size) || !write_full(fd, t->data, nbytes)) {
        failed = "write";
        saved_errno = errno;
    }
    if (close(fd) != 0 && failed == NULL) {
        failed = "close";
        saved_errno = errno;
    }
    if (failed == NULL && rename(tmp, path) != 0) {
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
