/*
 * util.h - small helpers every compiler stage uses: checked allocation,
 * a growable string buffer, and the diagnostics collector.
 *
 * The compiler reports errors through hd_diag and never exits from inside a
 * library function.  Allocation failure in the compiler is the one exception:
 * hd_xmalloc prints "out of memory" and aborts, because every size it is asked
 * for is bounded by the size of an input file that was already read.
 */
#ifndef HODU_UTIL_H
#define HODU_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define HD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HD_PRINTF(f, a)
#endif

#define HD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *hd_xmalloc(size_t n);
void *hd_xcalloc(size_t n, size_t size);
void *hd_xrealloc(void *p, size_t n);
char *hd_xstrdup(const char *s);
char *hd_xstrndup(const char *s, size_t n);
char *hd_xasprintf(const char *fmt, ...) HD_PRINTF(1, 2);

/* Grow `*arr` (element size `elem`) so that index `need - 1` is valid. */
void hd_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define HD_PUSH(arr, len, cap, value)                                              \
    do {                                                                           \
        hd_grow((void **)&(arr), &(cap), (size_t)(len) + 1, sizeof(*(arr)));        \
        (arr)[(len)++] = (value);                                                  \
    } while (0)

/* A growable, always NUL-terminated string. */
typedef struct hd_buf {
    char *data;
    size_t len;
    size_t cap;
} hd_buf;

void hd_buf_init(hd_buf *b);
void hd_buf_free(hd_buf *b);
void hd_buf_putc(hd_buf *b, char c);
void hd_buf_puts(hd_buf *b, const char *s);
void hd_buf_write(hd_buf *b, const void *data, size_t n);
void hd_buf_printf(hd_buf *b, const char *fmt, ...) HD_PRINTF(2, 3);
void hd_buf_vprintf(hd_buf *b, const char *fmt, va_list ap);
/* Takes the string out; the buffer is left empty. */
char *hd_buf_take(hd_buf *b);

/* --- diagnostics --------------------------------------------------------- */

typedef enum hd_severity { HD_NOTE, HD_WARNING, HD_ERROR } hd_severity;

typedef struct hd_message {
    hd_severity severity;
    char *text; /* already carries "file: node 'x' (Op): ..." context */
} hd_message;

typedef struct hd_diag {
    hd_message *msgs;
    size_t len, cap;
    size_t n_errors;
    const char *file; /* current input file, prefixed to messages */
} hd_diag;

void hd_diag_init(hd_diag *d, const char *file);
void hd_diag_free(hd_diag *d);
void hd_error(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
void hd_warning(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
void hd_note(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
/* Prints every message, one per line, as "hodu: error: <file>: <text>". */
void hd_diag_print(const hd_diag *d, void *stream /* FILE* */);
static inline bool hd_failed(const hd_diag *d) { return d->n_errors > 0; }

/* --- files --------------------------------------------------------------- */

/* Reads a whole regular file; `max_bytes` bounds what it will allocate.
 * Returns NULL and reports to `d` on failure. */
uint8_t *hd_read_file(const char *path, size_t *size_out, size_t max_bytes, hd_diag *d);
/* Writes `n` bytes to `path` through a temporary file and rename(2). */
bool hd_write_file_atomic(const char *path, const void *data, size_t n, hd_diag *d);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t hd_edit_distance(const char *a, const char *b);

#endif /* HODU_UTIL_H */
