#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "hodu: error: out of memory (asked for %zu bytes)\n", n);
    abort();
}

void *hd_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *hd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *hd_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *hd_xstrdup(const char *s) { return hd_xstrndup(s, strlen(s)); }

char *hd_xstrndup(const char *s, size_t n)
{
    char *p = hd_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hd_xasprintf(const char *fmt, ...)
{
    hd_buf b;
    hd_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return hd_buf_take(&b);
}

void hd_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    *arr = hd_xrealloc(*arr, n * elem);
    *cap = n;
}

void hd_buf_init(hd_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void hd_buf_free(hd_buf *b)
{
    free(b->data);
    hd_buf_init(b);
}

static void buf_reserve(hd_buf *b, size_t extra) { hd_grow((void **)&b->data, &b->cap, b->len + extra + 1, 1); }

void hd_buf_write(hd_buf *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hd_buf_putc(hd_buf *b, char c) { hd_buf_write(b, &c, 1); }
void hd_buf_puts(hd_buf *b, const char *s) { hd_buf_write(b, s, strlen(s)); }

void hd_buf_vprintf(hd_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void hd_buf_printf(hd_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *hd_buf_take(hd_buf *b)
{
    char *s = b->data ? b->data : hd_xstrdup("");
    hd_buf_init(b);
    return s;
}

/* --- diagnostics --------------------------------------------------------- */

void hd_diag_init(hd_diag *d, const char *file)
{
    memset(d, 0, sizeof(*d));
    d->file = file;
}

void hd_diag_free(hd_diag *d)
{
    for (size_t i = 0; i < d->len; i++) {
        free(d->msgs[i].text);
        free(d->msgs[i].where);
        free(d->msgs[i].detail);
    }
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the bytes
 * there are not one (stray continuation, overlong form, surrogate, past
 * U+10FFFF, truncated).  *cp receives the code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Code points that are valid text but steer a terminal or reorder what it
 * shows: C1 controls (0x9b is CSI on some terminals), bidirectional
 * overrides and isolates, and the Unicode line and paragraph separators. */
static bool steers_terminal(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void hd_buf_put_escaped(hd_buf *b, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        uint32_t cp = 0;
        size_t n = *s < 0x80 ? (*s >= 0x20 && *s != 0x7f) : utf8_seq(s, &cp);
        if (n > 1 && steers_terminal(cp)) {
            for (size_t i = 0; i < n; i++)
                hd_buf_printf(b, "\\x%02x", s[i]);
        } else if (n == 0) {
            hd_buf_printf(b, "\\x%02x", *s); /* resynchronise on the next byte */
            n = 1;
        } else {
            hd_buf_write(b, s, n);
        }
        s += n;
    }
}

static void diag_add(hd_diag *d, hd_severity sev, const char *where, const char *fmt, va_list ap)
{
    hd_diag_vadd(d, sev, where, NULL, fmt, ap);
}

void hd_diag_vadd(hd_diag *d, hd_severity sev, const char *where, const char *detail, const char *fmt, va_list ap)
{
    /* No diag: the caller only wants the verdict (a plan getter re-running
     * the checks inference already passed). */
    if (!d)
        return;
    hd_buf raw, b;
    hd_buf_init(&raw);
    hd_buf_init(&b);
    hd_buf_vprintf(&raw, fmt, ap);
    /* One line per message, and nothing a terminal would act on: names from
     * a model may hold newlines or escape sequences. */
    hd_buf_put_escaped(&b, raw.data ? raw.data : "");
    hd_buf_free(&raw);
    hd_message m = {sev, hd_buf_take(&b), where && *where ? hd_xstrdup(where) : NULL,
                    detail && *detail ? hd_xstrdup(detail) : NULL};
    HD_PUSH(d->msgs, d->len, d->cap, m);
    if (sev == HD_ERROR)
        d->n_errors++;
}

#define DIAG_FN(name, sev)                                                                                             \
    void name(hd_diag *d, const char *fmt, ...)                                                                        \
    {                                                                                                                  \
        va_list ap;                                                                                                    \
        va_start(ap, fmt);                                                                                             \
        diag_add(d, sev, NULL, fmt, ap);                                                                               \
        va_end(ap);                                                                                                    \
    }
DIAG_FN(hd_error, HD_ERROR)
DIAG_FN(hd_warning, HD_WARNING)
DIAG_FN(hd_note, HD_NOTE)

void hd_verror_at(hd_diag *d, const char *where, const char *fmt, va_list ap) { diag_add(d, HD_ERROR, where, fmt, ap); }

void hd_error_at(hd_diag *d, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_add(d, HD_ERROR, where, fmt, ap);
    va_end(ap);
}

char *hd_diag_line(const hd_diag *d, size_t i)
{
    static const char *const names[] = {"note", "warning", "error", "help"};
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "hodu: %s: ", names[d->msgs[i].severity]);
    /* The position holds a file name from the command line or the model,
     * the text comes from diag_add (already escaped; escaping again changes
     * nothing).  A position replaces the file, never repeats it. */
    const char *where = d->msgs[i].where ? d->msgs[i].where : d->msgs[i].severity == HD_HELP ? NULL : d->file;
    if (where) {
        hd_buf_put_escaped(&b, where);
        hd_buf_puts(&b, ": ");
    }
    hd_buf_put_escaped(&b, d->msgs[i].text);
    return hd_buf_take(&b);
}

void hd_diag_print(const hd_diag *d, void *stream)
{
    FILE *f = stream;
    for (size_t i = 0; i < d->len; i++) {
        char *line = hd_diag_line(d, i);
        fprintf(f, "%s\n", line);
        if (d->msgs[i].detail)
            fputs(d->msgs[i].detail, f);
        free(line);
    }
}

/* --- files --------------------------------------------------------------- */

uint8_t *hd_read_file(const char *path, size_t *size_out, size_t max_bytes, hd_diag *d)
{
    /* O_NONBLOCK so a FIFO cannot hang us before the regular-file check. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        hd_error(d, "cannot open '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        hd_error(d, "'%s' is not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        hd_error(d, "'%s' is too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max_bytes);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    /* A file the limit allows may still be more than this machine can
     * hold: say so instead of aborting. */
    uint8_t *data = malloc(n + 1);
    if (!data) {
        hd_error(d, "cannot read '%s': not enough memory for its %zu bytes", path, n);
        fclose(f);
        return NULL;
    }
    if (n && fread(data, 1, n, f) != n) {
        hd_error(d, "cannot read '%s': %s", path, strerror(errno));
        free(data);
        fclose(f);
        return NULL;
    }
    data[n] = 0;
    fclose(f);
    *size_out = n;
    return data;
}

/* --- cleanup registry ---------------------------------------------------- */

enum { CLEANUP_FREE, CLEANUP_FILE, CLEANUP_DIR };
#define CLEANUP_SLOTS 64

/* The handler reads these while the main flow may be changing them: a slot's
 * path is set before its kind and the kind cleared before the path goes. */
static struct {
    volatile sig_atomic_t kind;
    char *volatile path;
} cleanup_slots[CLEANUP_SLOTS];
static volatile sig_atomic_t cleanup_child;
static int hold_depth;
static sigset_t hold_saved;

const int hd_cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, 0};

void hd_cleanup_hold(void)
{
    if (hold_depth++ == 0) {
        sigset_t set;
        sigemptyset(&set);
        for (const int *s = hd_cleanup_signals; *s; s++)
            sigaddset(&set, *s);
        sigprocmask(SIG_BLOCK, &set, &hold_saved);
    }
}

void hd_cleanup_release(void)
{
    if (hold_depth > 0 && --hold_depth == 0)
        sigprocmask(SIG_SETMASK, &hold_saved, NULL);
}

static void cleanup_add(const char *path, int kind)
{
    hd_cleanup_hold();
    for (size_t i = 0; i < CLEANUP_SLOTS; i++)
        if (cleanup_slots[i].kind == CLEANUP_FREE && !cleanup_slots[i].path) {
            cleanup_slots[i].path = hd_xstrdup(path);
            cleanup_slots[i].kind = kind;
            break;
        }
    /* A full table only means that path is not removed on a signal. */
    hd_cleanup_release();
}

void hd_cleanup_add_file(const char *path) { cleanup_add(path, CLEANUP_FILE); }
void hd_cleanup_add_dir(const char *path) { cleanup_add(path, CLEANUP_DIR); }

void hd_cleanup_forget(const char *path)
{
    hd_cleanup_hold();
    for (size_t i = 0; i < CLEANUP_SLOTS; i++) {
        char *p = cleanup_slots[i].path;
        if (cleanup_slots[i].kind != CLEANUP_FREE && p && strcmp(p, path) == 0) {
            cleanup_slots[i].kind = CLEANUP_FREE;
            cleanup_slots[i].path = NULL;
            free(p);
            break;
        }
    }
    hd_cleanup_release();
}

void hd_cleanup_set_child(long pid) { cleanup_child = (sig_atomic_t)pid; }

void hd_cleanup_on_signal(void)
{
    int saved = errno;
    pid_t child = (pid_t)cleanup_child;
    if (child > 0) {
        /* Ask politely so a compiler driver removes its own temporaries, then
         * insist after about two seconds. */
        kill(child, SIGTERM);
        struct timespec tick = {0, 10 * 1000 * 1000};
        int i = 0;
        while (waitpid(child, NULL, WNOHANG) == 0 && i++ < 200)
            nanosleep(&tick, NULL);
        if (i > 200) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        cleanup_child = 0;
    }
    for (int pass = CLEANUP_FILE; pass <= CLEANUP_DIR; pass++)
        for (size_t i = 0; i < CLEANUP_SLOTS; i++) {
            char *p = cleanup_slots[i].path;
            if (cleanup_slots[i].kind == pass && p)
                (void)(pass == CLEANUP_FILE ? unlink(p) : rmdir(p));
        }
    errno = saved;
}

/* --- safe file creation -------------------------------------------------- */

static uint64_t random_u64(void)
{
    uint64_t r = 0;
    if (getentropy(&r, sizeof r) != 0) {
        /* No entropy source: O_EXCL still keeps this safe, only less tidy. */
        static uint64_t counter;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ ++counter;
    }
    return r;
}

/* Refuses a target that is a link or an existing non-regular file. */
static bool check_target(const char *path, hd_diag *d)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return true;
        hd_error(d, "cannot write '%s': %s", path, strerror(errno));
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        hd_error(d, "refusing to write '%s': it is a symbolic link", path);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        hd_error(d, "refusing to write '%s': it exists and is not a regular file", path);
        return false;
    }
    return true;
}

/* Creates "PATH.tmp.<random>" exclusively, registered for signal cleanup. */
static char *create_temp_beside(const char *path, int *fd_out, hd_diag *d)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        char *tmp = hd_xasprintf("%s.tmp.%016llx", path, (unsigned long long)random_u64());
        hd_cleanup_hold();
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0)
            hd_cleanup_add_file(tmp);
        hd_cleanup_release();
        if (fd >= 0) {
            *fd_out = fd;
            return tmp;
        }
        int err = errno;
        free(tmp);
        if (err != EEXIST) {
            hd_error(d, "cannot create a file beside '%s': %s", path, strerror(err));
            return NULL;
        }
    }
    hd_error(d, "cannot create a temporary file beside '%s'", path);
    return NULL;
}

static bool write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Closes fd, renames tmp over path when all went well, else removes tmp. */
static bool finish_temp(char *tmp, int fd, const char *path, bool ok, hd_diag *d)
{
    int err = ok ? 0 : errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        hd_error(d, "cannot write '%s': %s", path, strerror(err));
    }
    hd_cleanup_forget(tmp);
    free(tmp);
    return ok;
}

bool hd_write_file_atomic(const char *path, const void *data, size_t n, hd_diag *d)
{
    if (!check_target(path, d))
        return false;
    int fd;
    char *tmp = create_temp_beside(path, &fd, d);
    if (!tmp)
        return false;
    bool ok = write_all(fd, data, n);
    return finish_temp(tmp, fd, path, ok, d);
}

bool hd_move_file(const char *src, const char *dst, hd_diag *d)
{
    if (!check_target(dst, d))
        return false;
    if (rename(src, dst) == 0)
        return true;
    if (errno != EXDEV) {
        hd_error(d, "cannot write '%s': %s", dst, strerror(errno));
        return false;
    }
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) {
        hd_error(d, "cannot read '%s': %s", src, strerror(errno));
        return false;
    }
    struct stat st;
    int fd;
    char *tmp = NULL;
    if (fstat(in, &st) == 0 && S_ISREG(st.st_mode))
        tmp = create_temp_beside(dst, &fd, d);
    else
        hd_error(d, "'%s' is not a regular file", src);
    if (!tmp) {
        close(in);
        return false;
    }
    /* Keep the source's permission bits (a library is usually executable). */
    bool ok = fchmod(fd, st.st_mode & 07777) == 0;
    size_t chunk_size = (size_t)1 << 16;
    char *chunk = hd_xmalloc(chunk_size);
    while (ok) {
        ssize_t r = read(in, chunk, chunk_size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        ok = write_all(fd, chunk, (size_t)r);
    }
    free(chunk);
    close(in);
    ok = finish_temp(tmp, fd, dst, ok, d);
    if (ok)
        unlink(src);
    return ok;
}

char *hd_absolute_path(const char *path, hd_diag *d)
{
    if (path[0] == '/')
        return hd_xstrdup(path);
    size_t cap = 256;
    char *cwd = NULL;
    for (;;) {
        cwd = hd_xrealloc(cwd, cap);
        if (getcwd(cwd, cap))
            break;
        if (errno != ERANGE) {
            hd_error(d, "cannot find the current directory: %s", strerror(errno));
            free(cwd);
            return NULL;
        }
        cap *= 2;
    }
    char *abs = hd_xasprintf("%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
    free(cwd);
    return abs;
}

char *hd_make_temp_dir(const char *prefix, hd_diag *d)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *abs = hd_absolute_path(base, d);
    if (!abs)
        return NULL;
    char *dir = hd_xasprintf("%s/%sXXXXXX", abs, prefix);
    free(abs);
    hd_cleanup_hold();
    bool made = mkdtemp(dir) != NULL;
    int err = errno;
    if (made)
        hd_cleanup_add_dir(dir);
    hd_cleanup_release();
    if (!made) {
        hd_error(d, "cannot create a temporary folder in '%s': %s", base, strerror(err));
        free(dir);
        return NULL;
    }
    return dir;
}

size_t hd_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = hd_xmalloc((lb + 1) * sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    size_t r = row[lb];
    free(row);
    return r;
}

/* --- checked arithmetic ------------------------------------------------- */

bool hd_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
bool hd_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
bool hd_add_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }
bool hd_sub_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_sub_overflow(a, b, out); }
bool hd_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

bool hd_shape_size(int rank, const int64_t *dims, uint64_t elem_size, uint64_t max_elems, uint64_t max_bytes,
                   uint64_t *numel, uint64_t *nbytes)
{
    /* `span` skips zero dims so strides stay bounded even for empty tensors. */
    uint64_t span = 1;
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] == 0) {
            empty = true;
            continue;
        }
        if (!hd_mul_u64(span, (uint64_t)dims[i], &span) || span > max_elems)
            return false;
    }
    uint64_t n = empty ? 0 : span, bytes;
    if (!hd_mul_u64(n, elem_size, &bytes) || bytes > max_bytes)
        return false;
    if (numel)
        *numel = n;
    if (nbytes)
        *nbytes = bytes;
    return true;
}
