/*
 * script/fmt.c - `hodu --fmt`: the canonical layout of a HoduScript file.
 *
 * The file must parse (the real parser decides, with its diagnostics);
 * then the formatter works on tokens, not on the syntax tree, so comments
 * and the author's line breaks stay where they are.  What it decides:
 * indentation (4 spaces per open brace, 4 more per open bracket on
 * continuation lines), the spaces between tokens, trailing whitespace, at
 * most one blank line in a row (none at the start or end of a block or of
 * the file), one newline at the end.  Each output line holds the tokens of
 * one input line, so formatting its own output changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "script/parse.h"
#include "script/script.h"

typedef enum { T_WORD, T_KEYWORD, T_OP, T_OPEN, T_CLOSE, T_COMMA, T_COLON, T_DOTDOT, T_COMMENT, T_NL } tkind;

typedef struct tok {
    tkind k;
    const char *s;
    size_t n;
} tok;

static bool is_id(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool keyword(const char *s, size_t n)
{
    static const char *const kw[] = {"module", "fn",     "param", "let",   "return", "for", "in",  "if",    "else",
                                     "import", "export", "true",  "false", "and",    "or",  "not", "train", "with"};
    for (size_t i = 0; i < HD_ARRAY_LEN(kw); i++)
        if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
            return true;
    return false;
}

/* Splits text that the parser accepted; anything else is one OP byte. */
static tok *tokenize(const char *t, size_t len, size_t *count)
{
    tok *v = NULL;
    size_t n = 0, cap = 0;
    size_t i = 0;
    while (i < len) {
        char c = t[i];
        tok k = {T_OP, t + i, 1};
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '\n') {
            k.k = T_NL;
        } else if (c == '#') {
            size_t e = i;
            while (e < len && t[e] != '\n')
                e++;
            while (e > i && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\r'))
                e--;
            k = (tok){T_COMMENT, t + i, e - i};
        } else if (c == '"') {
            size_t e = i + 1;
            while (e < len && t[e] != '"' && t[e] != '\n')
                e++;
            k = (tok){T_WORD, t + i, (e < len && t[e] == '"' ? e + 1 : e) - i};
        } else if (is_digit(c)) {
            size_t e = i;
            while (e < len && is_digit(t[e]))
                e++;
            if (e + 1 < len && t[e] == '.' && is_digit(t[e + 1])) {
                e++;
                while (e < len && is_digit(t[e]))
                    e++;
            }
            if (e < len && (t[e] == 'e' || t[e] == 'E')) {
                size_t f = e + 1;
                if (f < len && (t[f] == '+' || t[f] == '-'))
                    f++;
                if (f < len && is_digit(t[f])) {
                    while (f < len && is_digit(t[f]))
                        f++;
                    e = f;
                }
            }
            k = (tok){T_WORD, t + i, e - i};
        } else if (is_id(c)) {
            size_t e = i;
            while (e < len && is_id(t[e]))
                e++;
            k = (tok){keyword(t + i, e - i) ? T_KEYWORD : T_WORD, t + i, e - i};
        } else if (c == '.' && i + 2 < len && t[i + 1] == '.' && t[i + 2] == '.') {
            k = (tok){T_WORD, t + i, 3}; /* '...' stands where a dim does */
        } else if (c == '.' && i + 1 < len && t[i + 1] == '.') {
            k = (tok){T_DOTDOT, t + i, 2};
        } else if (c == '(' || c == '[' || c == '{') {
            k.k = T_OPEN;
        } else if (c == ')' || c == ']' || c == '}') {
            k.k = T_CLOSE;
        } else if (c == ',') {
            k.k = T_COMMA;
        } else if (c == ':') {
            k.k = T_COLON;
        } else if (i + 1 < len) {
            static const char *const two[] = {"**", "//", "->", "<=", ">=", "==", "!="};
            for (size_t j = 0; j < HD_ARRAY_LEN(two); j++)
                if (c == two[j][0] && t[i + 1] == two[j][1])
                    k.n = 2;
        }
        HD_PUSH(v, n, cap, k);
        i += k.n;
    }
    *count = n;
    return v;
}

static bool is(const tok *t, const char *s) { return t && t->n == strlen(s) && memcmp(t->s, s, t->n) == 0; }

/* A '-' or '+' is unary after nothing, an operator, an opening bracket, a
 * separator or a keyword that an expression follows. */
static bool unary_here(const tok *prev)
{
    if (!prev || prev->k == T_OP || prev->k == T_OPEN || prev->k == T_COMMA || prev->k == T_COLON ||
        prev->k == T_DOTDOT)
        return true;
    return prev->k == T_KEYWORD && !is(prev, "true") && !is(prev, "false");
}

#define MAX_OPEN HS_MAX_NESTING

typedef struct fmt_state {
    char open[MAX_OPEN + 1];  /* bracket kinds, '(' '[' '{' */
    bool typed[MAX_OPEN + 1]; /* '(' level: a ':' came since the last ',' (a formal) */
    int n;
} fmt_state;

static int depth_of(const fmt_state *s, char which)
{
    int d = 0;
    for (int i = 0; i < s->n; i++)
        d += which == '{' ? s->open[i] == '{' : s->open[i] != '{';
    return d;
}

/* The space written before `cur` given the token before it on the line. */
static const char *space(const fmt_state *s, const tok *pp, const tok *prev, const tok *cur)
{
    char inner = s->n ? s->open[s->n - 1] : 0;
    if (cur->k == T_COMMENT)
        return "  ";
    if (cur->k == T_COMMA || cur->k == T_COLON || (cur->k == T_CLOSE && cur->s[0] != '}'))
        return "";
    if (prev->k == T_OPEN && prev->s[0] != '{')
        return "";
    if (cur->k == T_DOTDOT || prev->k == T_DOTDOT)
        return "";
    if (is(cur, ".") || is(prev, ".")) /* train model.loss */
        return "";
    if (prev->k == T_COLON)
        return inner == '[' ? "" : " ";
    if (prev->k == T_COMMA)
        return " ";
    bool kwarg = inner == '(' && !s->typed[s->n - 1];
    if (cur->k == T_OP && is(cur, "=") && kwarg)
        return "";
    if (prev->k == T_OP && is(prev, "=") && kwarg)
        return "";
    if (prev->k == T_OP && (is(prev, "-") || is(prev, "+")) && unary_here(pp))
        return "";
    if (cur->k == T_OPEN && cur->s[0] != '{' && (prev->k == T_WORD || (prev->k == T_CLOSE && prev->s[0] != '}')))
        return ""; /* a call, an index, a type's dims */
    return " ";
}

static void fmt_text(const char *text, size_t len, hd_buf *out)
{
    size_t n;
    tok *t = tokenize(text, len, &n);
    fmt_state s = {.n = 0};
    bool pending_blank = false, wrote = false, last_opens = false;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && t[e].k != T_NL)
            e++;
        if (e == i) { /* a blank line */
            pending_blank = wrote && !last_opens;
            i = e + 1;
            continue;
        }
        /* closing brackets that start the line indent it as their opener's line */
        int braces = depth_of(&s, '{'), brackets = depth_of(&s, '(');
        for (size_t j = i; j < e && t[j].k == T_CLOSE; j++) {
            if (t[j].s[0] == '}')
                braces--;
            else
                brackets--;
        }
        bool closes = t[i].k == T_CLOSE && t[i].s[0] == '}';
        if (pending_blank && !closes)
            hd_buf_putc(out, '\n');
        pending_blank = false;
        int indent = 4 * ((braces > 0 ? braces : 0) + (brackets > 0 ? brackets : 0));
        for (int k = 0; k < indent; k++)
            hd_buf_putc(out, ' ');
        const tok *pp = NULL, *prev = NULL;
        for (size_t j = i; j < e; j++) {
            const tok *c = &t[j];
            if (prev)
                hd_buf_puts(out, space(&s, pp, prev, c));
            hd_buf_write(out, c->s, c->n);
            if (c->k == T_OPEN && s.n < MAX_OPEN) {
                s.open[s.n] = c->s[0];
                s.typed[s.n++] = false;
            } else if (c->k == T_CLOSE && s.n > 0) {
                s.n--;
            } else if (c->k == T_COMMA && s.n > 0) {
                s.typed[s.n - 1] = false;
            } else if (c->k == T_COLON && s.n > 0) {
                s.typed[s.n - 1] = true;
            }
            if (c->k != T_COMMENT) {
                pp = prev;
                prev = c;
            }
        }
        hd_buf_putc(out, '\n');
        wrote = true;
        last_opens = prev && prev->k == T_OPEN && prev->s[0] == '{';
        i = e + 1;
    }
    free(t);
}

char *hodu_format_script_text(const char *name, const char *text, size_t len, hd_diag *d)
{
    /* the parser first: a file with syntax errors is not formatted */
    hs_program p = {.d = d};
    hs_source src = {hd_xstrdup(name), hd_xmalloc(len + 1), len};
    memcpy(src.text, text, len);
    src.text[len] = '\0';
    HD_PUSH(p.srcs, p.n_srcs, p.cap_srcs, src);
    hs_list items = {0};
    bool ok = len <= HS_MAX_SOURCE_BYTES && hs_parse_source(&p, 0, &items) && !hd_failed(d);
    for (size_t i = 0; i < p.n_srcs; i++) {
        free(p.srcs[i].path);
        free(p.srcs[i].text);
    }
    free(p.srcs);
    hs_arena_free(&p.arena);
    if (!ok) {
        if (!hd_failed(d))
            hd_error(d, "%s: not formatted", name);
        return NULL;
    }
    hd_buf out;
    hd_buf_init(&out);
    fmt_text(text, len, &out);
    if (!out.data)
        hd_buf_puts(&out, "");
    return hd_buf_take(&out);
}

bool hodu_format_script(const char *path, bool in_place, FILE *out, hd_diag *d)
{
    size_t len;
    uint8_t *bytes = hd_read_file(path, &len, HS_MAX_SOURCE_BYTES, d);
    if (!bytes)
        return false;
    char *text = hodu_format_script_text(path, (const char *)bytes, len, d);
    free(bytes);
    if (!text)
        return false;
    size_t n = strlen(text);
    if (!in_place) {
        bool ok = fwrite(text, 1, n, out) == n && fflush(out) == 0;
        free(text);
        if (!ok)
            hd_error(d, "cannot write the formatted text: %s", strerror(errno));
        return ok;
    }
    /* in place: a temporary file beside it, renamed over it, so a reader
     * sees the old text or the new one, never a part */
    struct stat st;
    size_t pl = strlen(path);
    char *tmp = hd_xmalloc(pl + 16);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".fmt-XXXXXX", 12);
    int fd = stat(path, &st) == 0 ? mkstemp(tmp) : -1;
    bool ok = fd >= 0;
    if (ok) {
        FILE *f = fdopen(fd, "wb");
        ok = f && fchmod(fd, st.st_mode & 07777) == 0 && fwrite(text, 1, n, f) == n && fflush(f) == 0 && fsync(fd) == 0;
        if (f)
            ok = fclose(f) == 0 && ok;
        else
            close(fd);
        ok = ok && rename(tmp, path) == 0;
        if (!ok) {
            hd_error(d, "cannot write '%s': %s", path, strerror(errno));
            unlink(tmp);
        }
    } else {
        hd_error(d, "cannot write beside '%s': %s", path, strerror(errno));
    }
    free(tmp);
    free(text);
    return ok;
}
