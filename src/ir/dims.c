/*
 * ir/dims.c - run-time dims that follow from others: polynomials over the
 * free run-time dims (ir_poly).
 *
 * A Flatten of [batch, seq] has batch*seq rows, a KV cache grows to
 * past+seq, a Reshape to [-1] holds what its input holds.  Such a dim is
 * a derived symbol: its size in a run is a polynomial in the dims the
 * caller chooses, which hodu_run computes once from theirs.  Polynomials
 * are kept canonical (terms sorted, like terms combined, no zero terms),
 * so two dims are the same exactly when their polynomials are equal, and a
 * derived symbol's name spells its polynomial ("batch*seq", "past+seq")
 * unless the model named it (--dim total=past+seq).
 *
 * A convolution's or pool's output size is a floor division of such a
 * polynomial: floor((H + pads - dilation*(k-1) - 1) / stride) + 1.  Its
 * quotient becomes a symbol of its own (ir_quot, named "(height+1)/2"),
 * which later polynomials take as a factor like a free dim; its numerator
 * is normalised so that equal sizes meet in one symbol.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Term order: more factors first, then by factor names; the constant
 * term last. */
static int term_cmp(const ir_term *a, const ir_term *b)
{
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    for (int i = 0; i < a->n; i++) {
        int c = strcmp(a->f[i], b->f[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Adds term t into p (combining a like term); false when p is full or a
 * coefficient overflows. */
static bool poly_put(ir_poly *p, const ir_term *t)
{
    if (t->coef == 0)
        return true;
    int at = 0;
    while (at < p->n && term_cmp(&p->t[at], t) < 0)
        at++;
    if (at < p->n && term_cmp(&p->t[at], t) == 0) {
        if (!hd_add_i64(p->t[at].coef, t->coef, &p->t[at].coef))
            return false;
        if (p->t[at].coef == 0) {
            memmove(&p->t[at], &p->t[at + 1], (size_t)(p->n - at - 1) * sizeof(ir_term));
            p->n--;
        }
        return true;
    }
    if (p->n == IR_POLY_TERMS)
        return false;
    memmove(&p->t[at + 1], &p->t[at], (size_t)(p->n - at) * sizeof(ir_term));
    p->t[at] = *t;
    p->n++;
    return true;
}

ir_poly ir_poly_const(int64_t c)
{
    ir_poly p = {0};
    ir_term t = {.coef = c};
    poly_put(&p, &t);
    return p;
}

static long symbol_at(const ir_graph *g, const char *sym)
{
    for (size_t i = 0; sym && i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], sym) == 0)
            return (long)i;
    return -1;
}

const ir_poly *ir_graph_symbol_poly(const ir_graph *g, size_t i)
{
    return i < g->n_symbols && g->sym_poly && g->sym_poly[i].n > 0 ? &g->sym_poly[i] : NULL;
}

const ir_quot *ir_graph_symbol_quot(const ir_graph *g, size_t i)
{
    return i < g->n_symbols && g->sym_quot && g->sym_quot[i].div > 0 ? &g->sym_quot[i] : NULL;
}

bool ir_graph_symbol_derived(const ir_graph *g, size_t i)
{
    return ir_graph_symbol_poly(g, i) || ir_graph_symbol_quot(g, i);
}

bool ir_graph_symbol_is_data(const ir_graph *g, const char *sym)
{
    long i = symbol_at(g, sym);
    if (i < 0)
        return false;
    if (g->sym_src[i] >= 0)
        return true;
    const ir_poly *p = ir_graph_symbol_poly(g, (size_t)i);
    if (!p && ir_graph_symbol_quot(g, (size_t)i))
        p = &g->sym_quot[i].num;
    /* factors come before their symbol: the recursion ends */
    for (int t = 0; p && t < p->n; t++)
        for (int f = 0; f < p->t[t].n; f++)
            if (symbol_at(g, p->t[t].f[f]) < i && ir_graph_symbol_is_data(g, p->t[t].f[f]))
                return true;
    return false;
}

ir_poly ir_dim_poly(const ir_graph *g, const ir_dim *d)
{
    if (!d->rt)
        return ir_poly_const(d->size);
    long i = symbol_at(g, d->sym);
    const ir_poly *p = i >= 0 ? ir_graph_symbol_poly(g, (size_t)i) : NULL;
    if (p)
        return *p;
    ir_poly q = {0};
    q.n = 1;
    q.t[0] = (ir_term){.coef = 1, .n = 1, .f = {i >= 0 ? g->symbols[i] : d->sym}};
    return q;
}

bool ir_poly_add(const ir_poly *a, const ir_poly *b, int sign, ir_poly *out)
{
    ir_poly p = *a;
    for (int i = 0; i < b->n; i++) {
        ir_term t = b->t[i];
        if (sign < 0 && !hd_sub_i64(0, t.coef, &t.coef))
            return false;
        if (!poly_put(&p, &t))
            return false;
    }
    *out = p;
    return true;
}

/* a * b for two terms. */
static bool term_mul(const ir_term *a, const ir_term *b, ir_term *out)
{
    ir_term t = {0};
    if (a->n + b->n > IR_TERM_FACTORS || !hd_mul_i64(a->coef, b->coef, &t.coef))
        return false;
    int i = 0, j = 0; /* merge the sorted factor lists */
    while (i < a->n || j < b->n)
        t.f[t.n++] = j >= b->n || (i < a->n && strcmp(a->f[i], b->f[j]) <= 0) ? a->f[i++] : b->f[j++];
    *out = t;
    return true;
}

bool ir_poly_mul(const ir_poly *a, const ir_poly *b, ir_poly *out)
{
    ir_poly p = {0};
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            ir_term t;
            if (!term_mul(&a->t[i], &b->t[j], &t) || !poly_put(&p, &t))
                return false;
        }
    *out = p;
    return true;
}

/* a / b for two terms, when b divides a. */
static bool term_div(const ir_term *a, const ir_term *b, ir_term *out)
{
    if (b->coef == 0 || (b->coef == -1 && a->coef == INT64_MIN) || a->coef % b->coef != 0)
        return false;
    ir_term t = {.coef = a->coef / b->coef};
    int j = 0;
    for (int i = 0; i < a->n; i++) {
        if (j < b->n && strcmp(a->f[i], b->f[j]) == 0)
            j++;
        else
            t.f[t.n++] = a->f[i];
    }
    if (j != b->n)
        return false; /* a factor of b that a lacks */
    *out = t;
    return true;
}

bool ir_poly_equal(const ir_poly *a, const ir_poly *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->t[i].coef != b->t[i].coef || term_cmp(&a->t[i], &b->t[i]) != 0)
            return false;
    return true;
}

bool ir_poly_div(const ir_poly *a, const ir_poly *b, ir_poly *out)
{
    if (b->n == 1) { /* a term: it must divide every term of a */
        ir_poly p = {0};
        for (int i = 0; i < a->n; i++) {
            ir_term t;
            if (!term_div(&a->t[i], &b->t[0], &t) || !poly_put(&p, &t))
                return false;
        }
        *out = p;
        return true;
    }
    if (b->n == 0)
        return false;
    /* Several terms (a sum of feature levels' sizes): long division, each
     * step the remainder's first term over b's first, until the remainder
     * is 0; a step that does not divide, or too many, and a does not
     * divide.  The quotient is exact by construction: a = q * b. */
    ir_poly q = {0}, r = *a;
    for (int step = 0; r.n > 0; step++) {
        ir_term t;
        ir_poly tp = {0}, prod;
        if (step == IR_POLY_TERMS || !term_div(&r.t[0], &b->t[0], &t) || !poly_put(&q, &t) || !poly_put(&tp, &t) ||
            !ir_poly_mul(&tp, b, &prod) || !ir_poly_add(&r, &prod, -1, &r))
            return false;
    }
    *out = q;
    return true;
}

bool ir_poly_range(const ir_graph *g, const ir_poly *p, int64_t *lo, int64_t *hi)
{
    int64_t l = 0, h = 0;
    for (int i = 0; i < p->n; i++) {
        const ir_term *t = &p->t[i];
        int64_t tl = t->coef, th = t->coef; /* the term at every factor's low, and high, end */
        for (int k = 0; k < t->n; k++) {
            int64_t flo, fhi;
            if (!ir_graph_symbol_range(g, t->f[k], &flo, &fhi) || !hd_mul_i64(tl, flo, &tl) ||
                !hd_mul_i64(th, fhi, &th))
                return false;
        }
        if (t->coef < 0) { /* factors are >= 0: a negative term is lowest at their high end */
            int64_t s = tl;
            tl = th;
            th = s;
        }
        if (!hd_add_i64(l, tl, &l) || !hd_add_i64(h, th, &h))
            return false;
    }
    *lo = l;
    *hi = h;
    return true;
}

void ir_poly_print(const ir_poly *p, hd_buf *b)
{
    if (p->n == 0)
        hd_buf_puts(b, "0");
    for (int i = 0; i < p->n; i++) {
        const ir_term *t = &p->t[i];
        int64_t c = t->coef;
        if (i > 0)
            hd_buf_puts(b, c < 0 ? "-" : "+");
        else if (c < 0)
            hd_buf_puts(b, "-");
        uint64_t mag = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
        for (int k = 0; k < t->n; k++)
            hd_buf_printf(b, "%s%s", k ? "*" : "", t->f[k]);
        if (t->n == 0)
            hd_buf_printf(b, "%" PRIu64, mag);
        else if (mag != 1)
            hd_buf_printf(b, "*%" PRIu64, mag);
    }
}

/* Makes symbols[k] stand for p: its polynomial and range. */
static bool define_at(ir_graph *g, size_t k, const ir_poly *p)
{
    int64_t lo, hi;
    if (!ir_poly_range(g, p, &lo, &hi) || lo < 0)
        return false;
    g->sym_poly[k] = *p;
    g->sym_lo[k] = lo;
    g->sym_hi[k] = hi;
    return true;
}

bool ir_graph_poly_dim(ir_graph *g, const ir_poly *p, ir_dim *out)
{
    if (p->n == 0 || (p->n == 1 && p->t[0].n == 0)) {
        int64_t c = p->n ? p->t[0].coef : 0;
        *out = (ir_dim){.size = c};
        return c >= 0;
    }
    const char *s = NULL;
    if (p->n == 1 && p->t[0].n == 1 && p->t[0].coef == 1) {
        s = p->t[0].f[0]; /* a free symbol itself */
    } else {
        for (size_t k = 0; k < g->n_symbols && !s; k++) /* the same polynomial under a name the model gave */
            if (ir_graph_symbol_poly(g, k) && ir_poly_equal(&g->sym_poly[k], p))
                s = g->symbols[k];
    }
    if (!s) {
        hd_buf name;
        hd_buf_init(&name);
        ir_poly_print(p, &name);
        bool taken = symbol_at(g, name.data) >= 0; /* a dim the model named like this: no guessing */
        s = taken ? NULL : ir_graph_symbol(g, name.data);
        hd_buf_free(&name);
        if (!s || !define_at(g, (size_t)symbol_at(g, s), p))
            return false;
    }
    int64_t lo, hi;
    if (!ir_graph_symbol_range(g, s, &lo, &hi))
        return false;
    *out = (ir_dim){.size = hi, .sym = s, .rt = true};
    return true;
}

bool ir_graph_define_symbol(ir_graph *g, const char *sym, const ir_poly *p)
{
    const char *s = ir_graph_symbol(g, sym);
    return define_at(g, (size_t)symbol_at(g, s), p);
}

/* --- quotients ------------------------------------------------------------ */

/* gcd(|a|, b) for b > 0 (a % b first: |INT64_MIN| does not fit). */
static int64_t gcd64(int64_t a, int64_t b)
{
    a %= b;
    if (a < 0)
        a = -a;
    while (a) {
        int64_t t = b % a;
        b = a;
        a = t;
    }
    return b;
}

bool ir_poly_floordiv(ir_graph *g, const ir_poly *p, int64_t d, ir_poly *out, const char **why)
{
    *why = "a number overflows";
    if (d < 1) {
        *why = "the divisor is not positive";
        return false;
    }
    if (d == 1) {
        *out = *p;
        return true;
    }
    /* p = rest + c; floor((rest + c) / d) = floor((rest + r) / d) + q with
     * c = q*d + r, 0 <= r < d */
    ir_poly rest = *p;
    int64_t c = 0;
    if (rest.n > 0 && rest.t[rest.n - 1].n == 0)
        c = rest.t[--rest.n].coef;
    int64_t r = c % d, q = c / d;
    if (r < 0) {
        r += d;
        q--;
    }
    /* a factor common to d and every coefficient leaves the floor alone:
     * floor((g*a + r) / (g*e)) = floor((a + floor(r/g)) / e) */
    int64_t k = d;
    for (int i = 0; i < rest.n; i++)
        k = gcd64(rest.t[i].coef, k);
    for (int i = 0; i < rest.n; i++)
        rest.t[i].coef /= k;
    d /= k;
    r /= k;
    ir_poly qp = ir_poly_const(q);
    if (d == 1) /* exact: rest / d, plus q */
        return ir_poly_add(&rest, &qp, 1, out);
    ir_poly num = rest, rp = ir_poly_const(r);
    if (!ir_poly_add(&num, &rp, 1, &num))
        return false;
    int64_t lo, hi;
    if (!ir_poly_range(g, &num, &lo, &hi))
        return false;
    if (lo < 0) {
        *why = "its numerator may be negative";
        return false;
    }
    const char *s = NULL;
    for (size_t i = 0; i < g->n_symbols && !s; i++)
        if (ir_graph_symbol_quot(g, i) && g->sym_quot[i].div == d && ir_poly_equal(&g->sym_quot[i].num, &num))
            s = g->symbols[i];
    if (!s) {
        hd_buf name;
        hd_buf_init(&name);
        bool bare = num.n == 1 && num.t[0].n == 1 && num.t[0].coef == 1;
        hd_buf_puts(&name, bare ? "" : "(");
        ir_poly_print(&num, &name);
        hd_buf_printf(&name, "%s/%" PRId64, bare ? "" : ")", d);
        bool taken = symbol_at(g, name.data) >= 0; /* a dim the model named like this */
        s = taken ? NULL : ir_graph_symbol(g, name.data);
        hd_buf_free(&name);
        if (!s) {
            *why = "its name is a dim the model named otherwise";
            return false;
        }
        size_t at = (size_t)symbol_at(g, s);
        g->sym_quot[at] = (ir_quot){num, d};
        g->sym_lo[at] = lo / d;
        g->sym_hi[at] = hi / d;
    }
    ir_poly sp = {.n = 1, .t = {{.coef = 1, .n = 1, .f = {s}}}};
    return ir_poly_add(&sp, &qp, 1, out);
}

/* --- parsing "past+seq", "2*seq-1" ------------------------------------ */

static bool parse_term(ir_graph *g, const char **at, ir_term *t, hd_buf *why)
{
    *t = (ir_term){.coef = 1};
    for (;;) {
        const char *p = *at;
        if (*p >= '0' && *p <= '9') {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (!hd_mul_i64(t->coef, v, &t->coef)) {
                hd_buf_puts(why, "a number is too large");
                return false;
            }
            p = end;
        } else {
            const char *q = p;
            while (*q && *q != '*' && *q != '+' && *q != '-')
                q++;
            if (q == p) {
                hd_buf_puts(why, "a term is empty");
                return false;
            }
            char *name = hd_xstrndup(p, (size_t)(q - p));
            long k = symbol_at(g, name);
            int64_t lo, hi;
            if (k < 0 || ir_graph_symbol_derived(g, (size_t)k) || !ir_graph_symbol_range(g, name, &lo, &hi)) {
                hd_buf_printf(why, "'%s' is not a run-time dim given as --dim %s=LO..HI", name, name);
                free(name);
                return false;
            }
            free(name);
            if (t->n == IR_TERM_FACTORS) {
                hd_buf_puts(why, "a term has too many factors");
                return false;
            }
            ir_term one = {.coef = 1, .n = 1, .f = {g->symbols[k]}};
            ir_term prod;
            if (!term_mul(t, &one, &prod)) {
                hd_buf_puts(why, "a term has too many factors");
                return false;
            }
            *t = prod;
            p = q;
        }
        *at = p;
        if (**at != '*')
            return true;
        (*at)++;
    }
}

bool ir_poly_parse(ir_graph *g, const char *text, ir_poly *out, hd_buf *why)
{
    ir_poly p = {0};
    const char *at = text;
    int sign = 1;
    if (*at == '-') {
        sign = -1;
        at++;
    }
    for (;;) {
        ir_term t;
        if (!parse_term(g, &at, &t, why))
            return false;
        if (sign < 0)
            t.coef = -t.coef;
        if (!poly_put(&p, &t)) {
            hd_buf_puts(why, "too many terms");
            return false;
        }
        if (*at == '\0')
            break;
        sign = *at == '-' ? -1 : 1;
        at++;
    }
    *out = p;
    return true;
}
