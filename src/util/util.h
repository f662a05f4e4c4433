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
#define HD_PUSH(arr, len, cap, value)                                                                                  \
    do {                                                                                                               \
        hd_grow((void **)&(arr), &(cap), (size_t)(len) + 1, sizeof(*(arr)));                                           \
        (arr)[(len)++] = (value);                                                                                      \
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

/* --- checked arithmetic --------------------------------------------------
 * Every size computed from model-controlled numbers goes through these.  Each
 * returns true and stores the result when it is exact, and returns false
 * (leaving *out unspecified) when it would overflow. */

bool hd_add_u64(uint64_t a, uint64_t b, uint64_t *out);
bool hd_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
bool hd_add_i64(int64_t a, int64_t b, int64_t *out);
bool hd_sub_i64(int64_t a, int64_t b, int64_t *out);
bool hd_mul_i64(int64_t a, int64_t b, int64_t *out);

/* Element count and byte size of a shape of `rank` dims, each of `elem_size`
 * bytes.  Fails when a dim is negative, when the element count exceeds
 * `max_elems` or the byte size exceeds `max_bytes`.  A zero dim makes the
 * count 0, but the product of the other dims must still fit under
 * `max_elems`, so row-major strides of any accepted shape fit in int64.
 * `numel`/`nbytes` may be NULL. */
bool hd_shape_size(int rank, const int64_t *dims, uint64_t elem_size, uint64_t max_elems, uint64_t max_bytes,
                   uint64_t *numel, uint64_t *nbytes);

/* --- diagnostics --------------------------------------------------------- */

/* HD_HELP: a hint after an error, printed without a position. */
typedef enum hd_severity { HD_NOTE, HD_WARNING, HD_ERROR, HD_HELP } hd_severity;

typedef struct hd_message {
    hd_severity severity;
    char *text;   /* already carries "node 'x' (Op): ..." context */
    char *where;  /* source position printed instead of the diag's file
                  * ("m.hodu:3:5", "model.onnx:node[12]"); NULL: the file */
    char *detail; /* lines printed after it (a source snippet with a caret
                   * span), each ending in '\n' and already escaped; or NULL */
} hd_message;

typedef struct hd_diag {
    hd_message *msgs;
    size_t len, cap;
    size_t n_errors;
    const char *file; /* current input file, prefixed to messages */
} hd_diag;

void hd_diag_init(hd_diag *d, const char *file);
void hd_diag_free(hd_diag *d);
/* The reporting functions discard the message when d is NULL (a caller
 * that wants only the verdict of checks, such as a plan getter). */
void hd_error(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
void hd_warning(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
void hd_note(hd_diag *d, const char *fmt, ...) HD_PRINTF(2, 3);
/* An error placed at `where` (a whole position, file included, as
 * ir_loc_format writes it); NULL `where` is hd_error. */
void hd_error_at(hd_diag *d, const char *where, const char *fmt, ...) HD_PRINTF(3, 4);
void hd_verror_at(hd_diag *d, const char *where, const char *fmt, va_list ap);
/* Any message, with a position and the lines to print under it (`detail`,
 * see hd_message; copied).  Text front ends use it for source snippets. */
void hd_diag_vadd(hd_diag *d, hd_severity sev, const char *where, const char *detail, const char *fmt, va_list ap);
/* Prints every message, one per line, as "hodu: error: <where>: <text>",
 * <where> being the message's position or else the diag's file (a help
 * line has none), followed by its detail lines if any. */
void hd_diag_print(const hd_diag *d, void *stream /* FILE* */);
/* Message i as hd_diag_print writes it, without the newline; caller frees. */
char *hd_diag_line(const hd_diag *d, size_t i);
/* Appends `text` with every byte a terminal could act on written as \xNN:
 * control characters, DEL, bytes that are not well-formed UTF-8, and the
 * C1 / bidirectional / line-separator code points.  Other UTF-8 is kept.
 * Message text goes through this (hd_error etc.), so it is always one line. */
void hd_buf_put_escaped(hd_buf *b, const char *text);
static inline bool hd_failed(const hd_diag *d) { return d->n_errors > 0; }

/* --- files --------------------------------------------------------------- */

/* Reads a whole regular file; `max_bytes` bounds what it will allocate.
 * Returns NULL and reports to `d` on failure. */
uint8_t *hd_read_file(const char *path, size_t *size_out, size_t max_bytes, hd_diag *d);
/* Writes `n` bytes to `path` through a randomly named temporary file beside
 * it (created with O_EXCL|O_NOFOLLOW) and rename(2).  Refuses a `path` that is
 * a symbolic link or exists as anything but a regular file. */
bool hd_write_file_atomic(const char *path, const void *data, size_t n, hd_diag *d);
/* Moves the regular file `src` to `dst` (rename, or a streamed copy through a
 * temporary file when they are on different file systems); same refusals. */
bool hd_move_file(const char *src, const char *dst, hd_diag *d);
/* `path` made absolute against the current directory (not resolved). */
char *hd_absolute_path(const char *path, hd_diag *d);
/* A fresh private folder (mode 0700) "$TMPDIR/<prefix>XXXXXX", absolute,
 * registered for removal on a fatal signal.  NULL and a message on failure. */
char *hd_make_temp_dir(const char *prefix, hd_diag *d);

/* --- cleanup when a fatal signal ends the process ------------------------
 *
 * Code that creates temporary files registers them here; the CLI's SIGINT /
 * SIGTERM handler calls hd_cleanup_on_signal, which only uses kill, waitpid,
 * unlink, rmdir and nanosleep on paths stored beforehand.  Files are removed
 * before folders, so a registered folder goes once its registered files do. */
void hd_cleanup_add_file(const char *path);
void hd_cleanup_add_dir(const char *path);
void hd_cleanup_forget(const char *path);
/* The child process to stop (and reap) on a signal; 0: none. */
void hd_cleanup_set_child(long pid);
/* Blocks the fatal signals while a file is created and registered. */
void hd_cleanup_hold(void);
void hd_cleanup_release(void);
/* The signals the CLI catches, terminated by 0. */
extern const int hd_cleanup_signals[];
void hd_cleanup_on_signal(void);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t hd_edit_distance(const char *a, const char *b);

#endif /* HODU_UTIL_H */
