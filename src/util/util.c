#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void buf_reserve(hd_buf *b, size_t extra)
{
    hd_grow((void **)&b->data, &b->cap, b->len + extra + 1, 1);
}

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
    for (size_t i = 0; i < d->len; i++)
        free(d->msgs[i].text);
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}

static void diag_add(hd_diag *d, hd_severity sev, const char *fmt, va_list ap)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_vprintf(&b, fmt, ap);
    /* One line per message: fold embedded newlines. */
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\n')
            b.data[i] = ' ';
    hd_message m = {sev, hd_buf_take(&b)};
    HD_PUSH(d->msgs, d->len, d->cap, m);
    if (sev == HD_ERROR)
        d->n_errors++;
}

#define DIAG_FN(name, sev)                                                         \
    void name(hd_diag *d, const char *fmt, ...)                                    \
    {                                                                              \
        va_list ap;                                                                \
        va_start(ap, fmt);                                                         \
        diag_add(d, sev, fmt, ap);                                                 \
        va_end(ap);                                                                \
    }
DIAG_FN(hd_error, HD_ERROR)
DIAG_FN(hd_warning, HD_WARNING)
DIAG_FN(hd_note, HD_NOTE)

void hd_diag_print(const hd_diag *d, void *stream)
{
    static const char *const names[] = {"note", "warning", "error"};
    FILE *f = stream;
    for (size_t i = 0; i < d->len; i++) {
        if (d->file)
            fprintf(f, "hodu: %s: %s: %s\n", names[d->msgs[i].severity], d->file, d->msgs[i].text);
        else
            fprintf(f, "hodu: %s: %s\n", names[d->msgs[i].severity], d->msgs[i].text);
    }
}

/* --- files --------------------------------------------------------------- */

uint8_t *hd_read_file(const char *path, size_t *size_out, size_t max_bytes, hd_diag *d)
{
    /* O_NONBLOCK so a FIFO cannot hang us before the regular-file check. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
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
    uint8_t *data = hd_xmalloc(n + 1);
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

bool hd_write_file_atomic(const char *path, const void *data, size_t n, hd_diag *d)
{
    char *tmp = hd_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        hd_error(d, "cannot create '%s': %s", path, strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = fwrite(data, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        hd_error(d, "cannot write '%s': %s", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return ok;
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
