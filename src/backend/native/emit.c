/*
 * emit.c - helpers shared by the native lowerings (emit.h).
 */
#include "emit.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- emitter helpers --------------------------------------------------- */

const ir_value *em_in(const op_emit *e, size_t i)
{
    const ir_node *n = em_node(e);
    return (i < n->n_inputs && n->inputs[i] >= 0) ? ir_val(e->g, n->inputs[i]) : NULL;
}

const ir_value *em_out(const op_emit *e, size_t i)
{
    const ir_node *n = em_node(e);
    return (i < n->n_outputs && n->outputs[i] >= 0) ? ir_val(e->g, n->outputs[i]) : NULL;
}

void em_line(op_emit *e, const char *fmt, ...)
{
    for (int i = 0; i < e->indent; i++)
        hd_buf_puts(e->body, "    ");
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(e->body, fmt, ap);
    va_end(ap);
    hd_buf_putc(e->body, '\n');
}

void em_for(op_emit *e, const char *var, int64_t n)
{
    int level = e->indent;
    if (n == 1 && level >= 0 && level < 64) {
        e->single |= UINT64_C(1) << level;
        e->single_at[level] = e->body->len + (size_t)level * 4;
        em_line(e, "{");
        e->indent++;
        em_line(e, "const int64_t %s = 0;", var);
        return;
    }
    if (level >= 0 && level < 64)
        e->single &= ~(UINT64_C(1) << level);
    em_line(e, "for (int64_t %s = 0; %s < %" PRId64 "; %s++) {", var, var, n, var);
    e->indent++;
}

void em_for_rt(op_emit *e, const char *var, const char *n)
{
    int level = e->indent;
    if (level >= 0 && level < 64)
        e->single &= ~(UINT64_C(1) << level);
    em_line(e, "for (int64_t %s = 0; %s < %s; %s++) {", var, var, n, var);
    e->indent++;
}

void em_call_subgraph(op_emit *e, int fn, uint64_t arena)
{
    const char *sizes = e->rt_dims ? "rtd" : "NULL";
    if (arena == 0)
        em_line(e, "if (s%d_run(scratch, cf_in, cf_out, exec, workers, %s) != 0)", fn, sizes);
    else
        em_line(e, "if (s%d_run(scratch + %" PRIu64 ", cf_in, cf_out, exec, workers, %s) != 0)", fn, arena, sizes);
    em_line(e, "    return 1;");
}

void em_rt_loops(op_emit *e, int from, int count, hd_buf *dense)
{
    hd_buf_puts(dense, "0");
    for (int o = 0; o < count; o++) {
        char var[16], cnt[16];
        snprintf(var, sizeof var, "i%d", o);
        snprintf(cnt, sizeof cnt, "n%d", o);
        if (o >= from)
            em_for_rt(e, var, cnt);
        char *next = hd_xasprintf("(%s) * n%d + i%d", dense->data, o, o);
        hd_buf_free(dense);
        hd_buf_init(dense);
        hd_buf_puts(dense, next);
        free(next);
    }
}

/* Work (about elements touched) below which splitting a node into tasks
 * costs more than it gains: a hand-off to the pool costs a few
 * microseconds. */
#define EM_PAR_MIN_WORK (64 * 1024)
/* Most tasks one node is split into. */
#define EM_PAR_MAX_TASKS 64

void em_par_for(op_emit *e, const char *var, int64_t n, int64_t grain, int64_t work)
{
    if (grain < 1)
        grain = 1;
    int64_t units = n / grain, total = n > 0 && work > INT64_MAX / n ? INT64_MAX : n * work;
    int64_t tasks = units < total / EM_PAR_MIN_WORK ? units : total / EM_PAR_MIN_WORK;
    if (tasks > EM_PAR_MAX_TASKS)
        tasks = EM_PAR_MAX_TASKS;
    /* a node that checks run-time values runs whole, on the calling thread */
    if (e->indent != 1 || e->par_max_tasks || tasks < 2 || e->can_fail) {
        em_for(e, var, n);
        return;
    }
    e->par_n = n;
    e->par_grain = grain;
    e->par_max_tasks = (uint32_t)tasks;
    e->parallel = true;
    e->single &= ~(UINT64_C(1) << e->indent);
    em_line(e, "for (int64_t %s = par_lo; %s < par_hi; %s++) {", var, var, var);
    e->indent++;
}

void em_par_for_rt(op_emit *e, const char *var, const char *n, int64_t top, int64_t work)
{
    int64_t total = top > 0 && work > INT64_MAX / top ? INT64_MAX : top * work;
    int64_t tasks = top < total / EM_PAR_MIN_WORK ? top : total / EM_PAR_MIN_WORK;
    if (tasks > EM_PAR_MAX_TASKS)
        tasks = EM_PAR_MAX_TASKS;
    if (e->indent != 1 || e->par_max_tasks || tasks < 2 || e->can_fail || strlen(n) >= sizeof e->par_n_rt) {
        em_for_rt(e, var, n);
        return;
    }
    snprintf(e->par_n_rt, sizeof e->par_n_rt, "%s", n);
    e->par_n = top;
    e->par_grain = 1;
    e->par_max_tasks = (uint32_t)tasks;
    e->parallel = true;
    e->single &= ~(UINT64_C(1) << e->indent);
    em_line(e, "for (int64_t %s = par_lo; %s < par_hi; %s++) {", var, var, var);
    e->indent++;
}

/* Whether C text holds the keyword `word` as a whole token. */
static bool has_word(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        if (memcmp(s + i, word, w) != 0)
            continue;
        bool before = i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_');
        bool after = i + w < n && (isalnum((unsigned char)s[i + w]) || s[i + w] == '_');
        if (!before && !after)
            return true;
    }
    return false;
}

void em_close(op_emit *e)
{
    e->indent--;
    int level = e->indent;
    if (level < 0 || level >= 64 || !(e->single & (UINT64_C(1) << level))) {
        em_line(e, "}");
        return;
    }
    e->single &= ~(UINT64_C(1) << level);
    hd_buf *b = e->body;
    size_t at = e->single_at[level];
    if (at >= b->len || b->data[at] != '{') { /* not ours: a plain close */
        em_line(e, "}");
        return;
    }
    /* A break or continue inside must still leave a one-pass loop. */
    if (!has_word(b->data + at, b->len - at, "break") && !has_word(b->data + at, b->len - at, "continue")) {
        em_line(e, "}");
        return;
    }
    hd_buf_write(b, "   ", 3);
    memmove(b->data + at + 3, b->data + at, b->len - 3 - at);
    memcpy(b->data + at, "do ", 3);
    em_line(e, "} while (0);");
}

const char *em_ctype(hodu_dtype t)
{
    const char *c = ir_dtype_c_type(t);
    return c ? c : "void";
}

const char *em_compute_ctype(hodu_dtype t)
{
    return (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) ? "float" : em_ctype(t);
}

char *em_load(hodu_dtype t, const char *expr)
{
    if (t == HODU_DTYPE_F16)
        return hd_xasprintf("hd_f16_to_f32(%s)", expr);
    if (t == HODU_DTYPE_BF16)
        return hd_xasprintf("hd_bf16_to_f32(%s)", expr);
    return hd_xasprintf("%s", expr);
}

char *em_store(hodu_dtype t, const char *expr)
{
    if (t == HODU_DTYPE_F16)
        return hd_xasprintf("hd_f32_to_f16(%s)", expr);
    if (t == HODU_DTYPE_BF16)
        return hd_xasprintf("hd_f32_to_bf16(%s)", expr);
    if (t == HODU_DTYPE_BOOL)
        return hd_xasprintf("(uint8_t)((%s) != 0)", expr);
    return hd_xasprintf("(%s)(%s)", em_ctype(t), expr);
}

em_num em_f64(double v)
{
    em_num r;
    if (isnan(v))
        snprintf(r.s, sizeof(r.s), "NAN");
    else if (isinf(v))
        snprintf(r.s, sizeof(r.s), v > 0 ? "INFINITY" : "(-INFINITY)");
    else
        snprintf(r.s, sizeof(r.s), "%.17g", v);
    return r;
}

/* --- index expressions ---------------------------------------------------- */

static void expr_put(em_expr *x, size_t *len, const char *fmt, ...) HD_PRINTF(3, 4);
static void expr_put(em_expr *x, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->s + *len, sizeof(x->s) - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(x->s) - *len) {
        fprintf(stderr, "hodu: internal error: index expression longer than %zu bytes\n", sizeof(x->s));
        abort();
    }
    *len += (size_t)n;
}

/* |v| as unsigned, INT64_MIN included */
static uint64_t mag(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

static bool index_has_minus(int64_t c, size_t n, const em_term *t)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].stride < 0)
            return true;
    return c < 0;
}

static void index_put(em_expr *x, size_t *len, int64_t c, size_t n, const em_term *t)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        int64_t s = t[i].stride;
        if (s == 0)
            continue;
        const char *sign = s < 0 ? (any ? " - " : "-") : (any ? " + " : "");
        if (mag(s) == 1)
            expr_put(x, len, "%s%s", sign, t[i].var);
        else
            expr_put(x, len, "%s%s * %" PRIu64, sign, t[i].var, mag(s));
        any = true;
    }
    if (!any)
        expr_put(x, len, "%" PRId64, c);
    else if (c)
        expr_put(x, len, " %c %" PRIu64, c < 0 ? '-' : '+', mag(c));
}

em_expr em_index(int64_t c, size_t n, const em_term *t)
{
    em_expr x;
    size_t len = 0;
    x.s[0] = '\0';
    index_put(&x, &len, c, n, t);
    return x;
}

em_expr em_offset(const char *base, int64_t c, size_t n, const em_term *t)
{
    em_expr x;
    size_t len = 0;
    x.s[0] = '\0';
    expr_put(&x, &len, "%s", base);
    bool terms = false;
    for (size_t i = 0; i < n && !terms; i++)
        terms = t[i].stride != 0;
    if (!terms) { /* a constant offset: "base + 3", "base - 3" */
        if (c)
            expr_put(&x, &len, " %c %" PRIu64, c < 0 ? '-' : '+', mag(c));
        return x;
    }
    bool paren = index_has_minus(c, n, t);
    expr_put(&x, &len, paren ? " + (" : " + ");
    index_put(&x, &len, c, n, t);
    if (paren)
        expr_put(&x, &len, ")");
    return x;
}

em_expr em_at(const char *base, const char *idx)
{
    em_expr x;
    size_t len = 0;
    x.s[0] = '\0';
    if (strcmp(idx, "0") == 0)
        expr_put(&x, &len, "%s", base);
    else if (idx[0] == '-' || strstr(idx, " - "))
        expr_put(&x, &len, "%s + (%s)", base, idx);
    else
        expr_put(&x, &len, "%s + %s", base, idx);
    return x;
}

const ir_value *em_const_in(const op_emit *e, size_t k)
{
    const ir_graph *g = e->epi ? e->epi->g : e->g;
    const ir_node *n = ir_nd(g, e->epi ? e->epi->node : e->node);
    if (k >= n->n_inputs || n->inputs[k] < 0)
        return NULL;
    const ir_value *v = ir_val(g, n->inputs[k]);
    return v->kind == IR_VALUE_CONST && v->data ? v : NULL;
}
