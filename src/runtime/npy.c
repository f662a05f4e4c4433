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
 *
 * Strings: numpy's unicode arrays ('<U<n>': n UTF-32 code units per
 * element, padded with NULs, which numpy strips from the end of each
 * element) are read as HODU_DTYPE_STRING tensors, their text converted to
 * UTF-8; a code unit that is no Unicode scalar value (a surrogate, or past
 * U+10FFFF) is an error naming the element.  Strings are written the same
 * way, n the longest element in code points (at least 1); an element that
 * is not valid UTF-8 is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform.h"
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

/* --- the header dict ------------------------------------------------------ */

typedef struct npy_header {
    /* descr: the quoted text, interpreted once the whole dict has parsed */
    bool have_descr;
    const char *descr;
    size_t descr_len;
    hodu_dtype dtype; /* UNDEFINED for raw bytes ('V'): raw_size each */
    size_t raw_size;
    char raw_descr[4]; /* and the descr, for messages */
    /* unicode ('U'): dtype STRING, u_chars UTF-32 units per element */
    uint64_t u_chars;
    bool u_big;
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
    uint64_t u_chars; /* parse_descr's findings for a unicode descr */
    bool u_big;
} npy_parser;

/* Longest unicode element read (code points): far above any real string. */
#define NPY_MAX_U_CHARS (1u << 24)

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
    if (len >= 3 && s[1] == 'U' && (s[0] == '<' || s[0] == '>' || s[0] == '=' || s[0] == '|')) {
        /* '<U12': unicode, 12 code units per element */
        uint64_t n = 0;
        for (size_t i = 2; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || n > NPY_MAX_U_CHARS)
                return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED, "'%s': npy dtype '%s' is not supported", ps->path,
                                   shown);
            n = n * 10 + (uint64_t)(s[i] - '0');
        }
        if (n > NPY_MAX_U_CHARS)
            return hodurt_fail(ps->err, HODU_ERR_UNSUPPORTED,
                               "'%s': npy dtype '%s' holds strings longer than the %u code points this reader takes",
                               ps->path, shown, (unsigned)NPY_MAX_U_CHARS);
        bool little = host_is_little_endian();
        ps->u_chars = n;
        ps->u_big = s[0] == '>' || (s[0] != '<' && !little);
        *dtype = HODU_DTYPE_STRING;
        return HODU_OK;
    }
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
    h->u_chars = ps->u_chars;
    h->u_big = ps->u_big;
    if (st == HODU_OK && h->dtype == HODU_DTYPE_UNDEFINED) {
        h->raw_size = (size_t)(h->descr[2] - '0');
        memcpy(h->raw_descr, h->descr, 3);
        h->raw_descr[3] = '\0';
    }
    return st;
}

/* --- reading ------------------------------------------------------------ */

/* UTF-8 bytes of code point c (a scalar value). */
static size_t utf8_len(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

static unsigned char *utf8_put(unsigned char *p, uint32_t c)
{
    if (c < 0x80) {
        *p++ = (unsigned char)c;
    } else if (c < 0x800) {
        *p++ = (unsigned char)(0xC0 | c >> 6);
        *p++ = (unsigned char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *p++ = (unsigned char)(0xE0 | c >> 12);
        *p++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        *p++ = (unsigned char)(0x80 | (c & 0x3F));
    } else {
        *p++ = (unsigned char)(0xF0 | c >> 18);
        *p++ = (unsigned char)(0x80 | (c >> 12 & 0x3F));
        *p++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        *p++ = (unsigned char)(0x80 | (c & 0x3F));
    }
    return p;
}

static uint32_t utf32_at(const unsigned char *q, bool big)
{
    return big ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
               : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

/* A unicode array: the UTF-32 data checked and converted into one block,
 * the hodu_string elements first and their UTF-8 bytes after them. */
static hodu_status read_unicode(const char *path, int fd, const npy_header *h, uint64_t data_len, const char *shape,
                                hodu_tensor *out, hodu_error *err)
{
    int64_t numel;
    uint64_t raw_len;
    if (!hodurt_numel(h->rank, h->dims, &numel) || __builtin_mul_overflow((uint64_t)numel, h->u_chars * 4, &raw_len))
        return hodurt_fail(err, HODU_ERR_FORMAT, "'%s': npy array string%s is too large to address", path, shape);
    if (h->u_chars == 0 && numel > 0) /* sixteen bytes per element out of none */
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                           "'%s': npy array of '<U0' strings %s holds no text; save it as "
                           "'<U1' or wider",
                           path, shape);
    if (data_len != raw_len)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "'%s': npy array of '<U%llu' strings %s needs %llu data bytes but the "
                           "file has %llu",
                           path, (unsigned long long)h->u_chars, shape, (unsigned long long)raw_len,
                           (unsigned long long)data_len);
    /* raw_len is the file's own length here, so these fit in memory terms */
    if (raw_len > SIZE_MAX / 2 || (uint64_t)numel > SIZE_MAX / (2 * sizeof(hodu_string)))
        return hodurt_fail(err, HODU_ERR_NOMEM, "'%s': npy array string%s does not fit in memory", path, shape);
    unsigned char *raw = malloc(raw_len ? (size_t)raw_len : 1);
    if (raw == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "'%s': out of memory for its strings", path);
    ssize_t got = (ssize_t)hodurt_read_full(fd, raw, (size_t)raw_len);
    if (got < 0 || (uint64_t)got != raw_len) {
        int e = got < 0 ? errno : 0;
        free(raw);
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path,
                           e != 0 ? strerror(e) : "file shrank while reading");
    }
    /* First pass: check every code point and count the UTF-8 bytes (at
     * most 4 per code unit, so the total fits where raw_len did). */
    size_t total = 0;
    size_t n = (size_t)h->u_chars;
    for (int64_t i = 0; i < numel; i++) {
        const unsigned char *e = raw + (size_t)i * n * 4;
        size_t len = n;
        while (len > 0 && utf32_at(e + (len - 1) * 4, h->u_big) == 0)
            len--;
        for (size_t k = 0; k < len; k++) {
            uint32_t c = utf32_at(e + k * 4, h->u_big);
            if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
                free(raw);
                return hodurt_fail(err, HODU_ERR_FORMAT,
                                   "'%s': npy string element %lld holds code unit 0x%lX at %zu, which is no Unicode "
                                   "character",
                                   path, (long long)i, (unsigned long)c, k);
            }
            total += utf8_len(c);
        }
    }
    size_t head = (size_t)numel * sizeof(hodu_string);
    unsigned char *block = hodurt_alloc_aligned(head + total);
    if (block == NULL) {
        free(raw);
        return hodurt_fail(err, HODU_ERR_NOMEM, "'%s': out of memory for its strings", path);
    }
    hodu_string *el = (hodu_string *)(void *)block;
    unsigned char *w = block + head;
    for (int64_t i = 0; i < numel; i++) {
        const unsigned char *e = raw + (size_t)i * n * 4;
        size_t len = n;
        while (len > 0 && utf32_at(e + (len - 1) * 4, h->u_big) == 0)
            len--;
        unsigned char *start = w;
        for (size_t k = 0; k < len; k++)
            w = utf8_put(w, utf32_at(e + k * 4, h->u_big));
        el[i].data = (const char *)start;
        el[i].size = (uint64_t)(w - start);
    }
    free(raw);
    memset(out, 0, sizeof *out);
    out->dtype = HODU_DTYPE_STRING;
    out->rank = h->rank;
    for (int32_t d = 0; d < h->rank; d++)
        out->dims[d] = h->dims[d];
    out->data = block;
    out->nbytes = head;
    return hodurt_ok(err);
}

/* Decodes one UTF-8 character at s[*i] (strictly: no overlong forms,
 * surrogates or values past U+10FFFF); false when there is none. */
static bool utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *out)
{
    unsigned char b = s[*i];
    size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || n - *i < len)
        return false;
    uint32_t c = len == 1 ? b : len == 2 ? (uint32_t)(b & 0x1F) : len == 3 ? (uint32_t)(b & 0x0F) : (uint32_t)(b & 7);
    for (size_t k = 1; k < len; k++) {
        if ((s[*i + k] & 0xC0) != 0x80)
            return false;
        c = c << 6 | (s[*i + k] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    *i += len;
    *out = c;
    return true;
}

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
    ssize_t got = (ssize_t)hodurt_read_full(fd, pre, pre_len);
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
    got = (ssize_t)hodurt_read_full(fd, header, header_len);
    if (got < 0 || (size_t)got != header_len) {
        int e = got < 0 ? errno : 0;
        free(header);
        return hodurt_fail(err, HODU_ERR_IO, "cannot read '%s': %s", path,
                           e != 0 ? strerror(e) : "file shrank while reading");
    }
    npy_parser ps = {path, header, header, header + header_len, err, 0, false};
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
    if (h.dtype == HODU_DTYPE_STRING)
        return read_unicode(path, fd, &h, file_size - pre_total - header_len, shape, out, err);
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
    got = (ssize_t)hodurt_read_full(fd, t.data, nbytes);
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
    /* read_npy_fd refuses anything but a regular file. */
    int fd = hodurt_open_read(path);
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
    case HODU_DTYPE_STRING:
        return "<U"; /* the width is the data's */
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

    /* Strings become UTF-32, as wide as the longest element. */
    unsigned char *u32 = NULL;
    char u_descr[32];
    if (t->dtype == HODU_DTYPE_STRING) {
        const hodu_string *el = t->data;
        size_t numel = nbytes / sizeof(hodu_string), width = 1;
        for (size_t i = 0; i < numel; i++) {
            size_t cps = 0, at = 0;
            uint32_t c;
            if (el[i].size > 0 && el[i].data == NULL)
                return hodurt_fail(err, HODU_ERR_INVALID_ARG, "cannot write '%s': string element %zu has no data", path,
                                   i);
            while (at < el[i].size) {
                if (!utf8_next((const unsigned char *)el[i].data, (size_t)el[i].size, &at, &c))
                    return hodurt_fail(err, HODU_ERR_FORMAT,
                                       "cannot write '%s': string element %zu is not valid UTF-8 (at byte %zu)", path,
                                       i, at);
                cps++;
            }
            width = cps > width ? cps : width;
        }
        if (width > SIZE_MAX / 4 / (numel ? numel : 1))
            return hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': its strings do not fit in memory", path);
        u32 = calloc(numel * width * 4 + 1, 1);
        if (u32 == NULL)
            return hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
        for (size_t i = 0; i < numel; i++) {
            size_t at = 0, k = 0;
            uint32_t c;
            while (at < el[i].size && utf8_next((const unsigned char *)el[i].data, (size_t)el[i].size, &at, &c)) {
                unsigned char *q = u32 + (i * width + k++) * 4;
                q[0] = (unsigned char)c, q[1] = (unsigned char)(c >> 8), q[2] = (unsigned char)(c >> 16),
                q[3] = (unsigned char)(c >> 24);
            }
        }
        snprintf(u_descr, sizeof u_descr, "<U%zu", width);
        descr = u_descr;
        nbytes = numel * width * 4;
    }

    char header[512];
    size_t header_size = build_header(header, sizeof header, descr, t->rank, t->dims);
    const void *payload = u32 != NULL ? (const void *)u32 : t->data;

    const void *parts[2] = {header, payload};
    size_t sizes[2] = {header_size, nbytes};
    hodu_status st = hodurt_write_file(path, parts, sizes, 2, err);
    free(u32);
    return st;
}
