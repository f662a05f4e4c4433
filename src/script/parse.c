/*
 * script/parse.c - drives the flex lexer and the bison parser over one
 * source, filters tokens between them, and renders diagnostics with a
 * source snippet.
 */
#include "script/parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoduscript.tab.h"

/* flex's reentrant interface (the generated header is not needed). */
typedef void *yyscan_t;
int hsylex_init_extra(hs_lexer *extra, yyscan_t *scanner);
int hsylex_destroy(yyscan_t scanner);
int hsylex(HSPSTYPE *val, HSPLTYPE *loc, yyscan_t scanner);
struct yy_buffer_state;
struct yy_buffer_state *hsy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

/* --- diagnostics ----------------------------------------------------------- */

/* Line `line` (1-based) of source `src`: start and length, or false. */
static bool source_line(const hs_source *src, int line, const char **start, size_t *len)
{
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return false;
        p = nl + 1;
    }
    if (p > end || (p == end && line > 1 && p[-1] != '\n'))
        return false;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *start = p;
    *len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    return true;
}

/* The snippet under a message: the span's first line and a caret run
 * under its columns (to the end of that line when the span goes on). */
static char *snippet(const hs_program *p, hs_span at)
{
    if (at.file < 0 || (size_t)at.file >= p->n_srcs || at.line <= 0)
        return NULL;
    const char *text;
    size_t len;
    if (!source_line(&p->srcs[at.file], at.line, &text, &len))
        return NULL;
    if (len > 400) /* a hostile one-line file: no snippet of megabytes */
        return NULL;
    char *raw = hd_xstrndup(text, len);
    for (char *c = raw; *c; c++)
        if (*c == '\t' || *c == '\r')
            *c = ' '; /* one column each, so the carets line up */
    char num[32];
    int w = snprintf(num, sizeof(num), "%d", at.line);
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "%*s |\n%s | ", w, "", num);
    hd_buf_put_escaped(&b, raw);
    hd_buf_printf(&b, "\n%*s | ", w, "");
    int first = at.col > 0 ? at.col : 1;
    int last = at.end_line == at.line && at.end_col >= first ? at.end_col : (int)len;
    if (last < first)
        last = first;
    if ((size_t)last > len + 1)
        last = (int)len + 1;
    for (int c = 1; c < first; c++)
        hd_buf_putc(&b, ' ');
    for (int c = first; c <= last; c++)
        hd_buf_putc(&b, c == first ? '^' : '~');
    hd_buf_putc(&b, '\n');
    free(raw);
    return hd_buf_take(&b);
}

static void report(hs_program *p, hd_severity sev, hs_span at, const char *fmt, va_list ap)
{
    char *where = NULL;
    if (at.file >= 0 && (size_t)at.file < p->n_srcs)
        where = at.line > 0 ? hd_xasprintf("%s:%d:%d", p->srcs[at.file].path, at.line, at.col)
                            : hd_xstrdup(p->srcs[at.file].path);
    char *detail = snippet(p, at);
    hd_diag_vadd(p->d, sev, where, detail, fmt, ap);
    free(detail);
    free(where);
}

void hs_error(hs_program *p, hs_span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(p, HD_ERROR, at, fmt, ap);
    va_end(ap);
}

void hs_note(hs_program *p, hs_span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(p, HD_NOTE, at, fmt, ap);
    va_end(ap);
}

void hs_help(hs_program *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hd_diag_vadd(p->d, HD_HELP, NULL, NULL, fmt, ap);
    va_end(ap);
}

/* --- the token filter ------------------------------------------------------ */

/* Bison calls this.  It drops newlines inside ( ) and [ ], puts a newline
 * before each '}' (so the last statement of a block needs none), ends the
 * input with a newline, and stops the parse (end of input) once a file has
 * too many errors or brackets nest too deeply. */
int hsplex(HSPSTYPE *val, HSPLTYPE *loc, hs_lexer *lx)
{
    for (;;) {
        int t;
        if (lx->pending) {
            t = lx->pending;
            *loc = lx->pend_loc;
            val->str = lx->pend_val;
            lx->pending = 0;
        } else {
            if (lx->n_errors >= HS_MAX_SYNTAX_ERRORS)
                return HS_T_YYEOF;
            t = hsylex(val, loc, lx->scanner);
        }
        if (t == HS_T_YYEOF) {
            if (!lx->eof_nl && lx->last != HS_T_NEWLINE) {
                lx->eof_nl = true;
                loc->line = loc->end_line = lx->line;
                loc->col = loc->end_col = lx->col;
                loc->file = lx->file;
                lx->last = HS_T_NEWLINE;
                return HS_T_NEWLINE;
            }
            return HS_T_YYEOF;
        }
        if (t == HS_T_NEWLINE && lx->depth > 0)
            continue;
        if (t == '(' || t == '[') {
            if (++lx->depth > HS_MAX_NESTING) {
                hs_error(lx->prog, *loc, "brackets nest deeper than %d levels", HS_MAX_NESTING);
                lx->n_errors = HS_MAX_SYNTAX_ERRORS;
                return HS_T_YYEOF;
            }
        } else if ((t == ')' || t == ']') && lx->depth > 0) {
            lx->depth--;
        } else if (t == '{' || t == '}') {
            lx->depth = 0; /* braces never sit inside an expression: resync */
        }
        if (t == '}' && lx->last != HS_T_NEWLINE && lx->last != '{') {
            lx->pending = t;
            lx->pend_loc = *loc;
            lx->pend_val = val->str;
            loc->end_line = loc->line;
            loc->end_col = loc->col;
            lx->last = HS_T_NEWLINE;
            return HS_T_NEWLINE;
        }
        lx->last = t;
        return t;
    }
}

/* --- one source ------------------------------------------------------------ */

/* NUL bytes and bad UTF-8 are refused up front, with their position. */
static bool check_bytes(hs_program *p, int src)
{
    const unsigned char *s = (const unsigned char *)p->srcs[src].text;
    size_t n = p->srcs[src].len;
    int line = 1, col = 1;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = 1;
        bool ok = true;
        if (c == 0) {
            hs_error(p, (hs_span){src, line, col, line, col}, "NUL byte in source");
            return false;
        }
        if (c >= 0x80) {
            uint32_t cp = 0;
            if (c >= 0xc2 && c <= 0xdf)
                k = 2, cp = c & 0x1f;
            else if (c >= 0xe0 && c <= 0xef)
                k = 3, cp = c & 0x0f;
            else if (c >= 0xf0 && c <= 0xf4)
                k = 4, cp = c & 0x07;
            else
                ok = false;
            for (size_t j = 1; ok && j < k; j++) {
                if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
                    ok = false;
                else
                    cp = (cp << 6) | (s[i + j] & 0x3f);
            }
            if (ok && ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                       (k == 4 && (cp < 0x10000 || cp > 0x10ffff))))
                ok = false;
        }
        if (!ok) {
            hs_error(p, (hs_span){src, line, col, line, col}, "invalid UTF-8 in source");
            return false;
        }
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col += (int)k;
        }
        i += k;
    }
    return true;
}

bool hs_parse_source(hs_program *p, int src, hs_list *out)
{
    if (!check_bytes(p, src))
        return false;
    if (p->srcs[src].len > (size_t)INT32_MAX / 2) {
        hs_error(p, (hs_span){src, 0, 0, 0, 0}, "source file too large");
        return false;
    }
    hs_lexer lx = {.prog = p, .file = src, .line = 1, .col = 1, .last = HS_T_NEWLINE, .out = out};
    yyscan_t scanner;
    if (hsylex_init_extra(&lx, &scanner) != 0) {
        hd_error(p->d, "cannot start the lexer");
        return false;
    }
    lx.scanner = scanner;
    hsy_scan_bytes(p->srcs[src].text, (int)p->srcs[src].len, scanner);
    int rc = hspparse(&lx);
    hsylex_destroy(scanner);
    if (rc == 2)
        hs_error(p, (hs_span){src, lx.line, lx.col, lx.line, lx.col}, "program too deeply nested for the parser");
    return rc == 0 && lx.n_errors == 0;
}
