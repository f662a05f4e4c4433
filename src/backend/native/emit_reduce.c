/*
 * emit_reduce.c - native lowerings of the reduce family (src/ops/reduce.c
 * holds their semantics, src/ops/reduce.h the plans read here).
 *
 * Reductions walk the plan's canonical view of their input (size-1 dims
 * dropped, neighbouring kept / reduced dims merged), so a reduction over any
 * axes becomes a few nested loops with literal strides.  When the innermost
 * dims are kept, the kernel walks the reduced dims outside and accumulates
 * whole contiguous rows, so the inner loop is unit-stride either way.
 *
 * Arithmetic: f32/f16/bf16 accumulate in float, f64 in double, integers in
 * 64 bits (signed sums and products wrap).  Softmax-like ops subtract the
 * maximum first.  Row statistics over contiguous float rows (sum, sum of
 * squares, max, ...) go through the kernel layer's row helpers (hd_rd_*,
 * hodu_kernels.h section 5), and exp through
 * hd_vexp_f32: the compiler's own vectorisation of such reductions depends
 * too much on -O and -march.  f16/bf16 rows are widened into float scratch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/reduce.h"

/* ======================================================================== */
/* Shared helpers                                                            */
/* ======================================================================== */

/* The type an accumulation of elements of type t is carried out in. */
static const char *acc_ctype(hodu_dtype t)
{
    if (t == HODU_DTYPE_F64)
        return "double";
    if (ir_dtype_is_float(t))
        return "float";
    if (ir_dtype_is_signed(t) || t == HODU_DTYPE_BOOL)
        return "int64_t";
    return "uint64_t";
}

/* True when the float math functions for t take the "f" suffix. */
static bool is_single(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

/* Suffix for <math.h> functions in t's compute type ("expf" vs "exp"). */
static const char *mf(hodu_dtype t) { return is_single(t) ? "f" : ""; }

/* Floating compute type for float math on t (integers go through double). */
static const char *fct(hodu_dtype t) { return is_single(t) ? "float" : "double"; }

/* Smallest / largest value of an integer type, as a C literal. */
static const char *int_min_lit(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I8: return "INT8_MIN";
    case HODU_DTYPE_I16: return "INT16_MIN";
    case HODU_DTYPE_I32: return "INT32_MIN";
    case HODU_DTYPE_I64: return "INT64_MIN";
    default: return "0";
    }
}

static const char *int_max_lit(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I8: return "INT8_MAX";
    case HODU_DTYPE_I16: return "INT16_MAX";
    case HODU_DTYPE_I32: return "INT32_MAX";
    case HODU_DTYPE_I64: return "INT64_MAX";
    case HODU_DTYPE_U8: return "UINT8_MAX";
    case HODU_DTYPE_U16: return "UINT16_MAX";
    case HODU_DTYPE_U32: return "UINT32_MAX";
    case HODU_DTYPE_U64: return "UINT64_MAX";
    case HODU_DTYPE_BOOL: return "1";
    default: return "0";
    }
}

/* Loads element `idx` (a C expression) of pointer `ptr` into t's compute
 * type.  Returns a string the caller frees. */
static char *ld(hodu_dtype t, const char *ptr, const char *idx)
{
    char *raw = hd_xasprintf("%s[%s]", ptr, idx);
    char *r = em_load(t, raw);
    free(raw);
    return r;
}

/* "ptr[idx] = <expr converted to t>;" */
static void st(op_emit *e, hodu_dtype t, const char *ptr, const char *idx, const char *expr)
{
    char *s = em_store(t, expr);
    em_line(e, "%s[%s] = %s;", ptr, idx, s);
    free(s);
}

/* Loop k of a plan's nest runs var <pfx>k. */
static void nest_open(op_emit *e, const char *pfx, const reduce_loops *l)
{
    for (int k = 0; k < l->n; k++) {
        char v[24];
        snprintf(v, sizeof(v), "%s%d", pfx, k);
        em_for(e, v, l->size[k]);
    }
}

static void nest_close(op_emit *e, const reduce_loops *l)
{
    for (int k = 0; k < l->n; k++)
        em_close(e);
}

/* Offset expression "o0 * 12 + o1" of a nest (input strides, or output
 * strides when `out`); "0" for an empty nest.  The names are
 * nest_open's. */
static char *nest_off(const char *pfx, const reduce_loops *l, bool out)
{
    char names[HODU_MAX_RANK][24];
    em_term t[HODU_MAX_RANK];
    int n = l->n < HODU_MAX_RANK ? l->n : HODU_MAX_RANK;
    for (int k = 0; k < n; k++) {
        snprintf(names[k], sizeof names[k], "%s%d", pfx, k);
        t[k] = (em_term){names[k], out ? l->ostride[k] : l->stride[k]};
    }
    return hd_xstrdup(em_index(0, (size_t)n, t).s);
}

/* "const T *x = in0 + <xo>;" and, unless yo is NULL, "U *y = out0 +
 * <yo>;": the row pointers most lowerings here start from. */
static void row_ptrs(op_emit *e, hodu_dtype xt, const char *xo, hodu_dtype yt, const char *yo)
{
    em_line(e, "const %s *x = %s;", em_ctype(xt), em_at("in0", xo).s);
    if (yo)
        em_line(e, "%s *y = %s;", em_ctype(yt), em_at("out0", yo).s);
}

/* `<ct> var = <sum over j of expr>`, through hd_rd_<fn>(args) when `vec`
 * (the row is a contiguous float array). */
static void emit_sum(op_emit *e, const char *at, const char *var, int64_t n, const char *expr);

static void emit_rowsum(op_emit *e, bool vec, const char *ct, const char *var, int64_t n, const char *expr,
                        const char *fn, const char *args)
{
    if (vec) {
        em_line(e, "float %s = hd_rd_%s(%s);", var, fn, args);
    } else {
        emit_sum(e, ct, var, n, expr);
    }
}

/* ======================================================================== */
/* Reduce*                                                                   */
/* ======================================================================== */

/* Per-element map, combine step, identity and final step of a reduction,
 * as C text over the accumulator type. */
static char *r_map(reduce_kind k, hodu_dtype t, const char *v)
{
    switch (k) {
    case RED_L1:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("fabs%s(%s)", mf(t), v);
        if (ir_dtype_is_signed(t))
            return hd_xasprintf("(%s < 0 ? -%s : %s)", v, v, v);
        return hd_xstrdup(v);
    case RED_L2:
    case RED_SUM_SQUARE: return hd_xasprintf("%s * %s", v, v);
    default: return hd_xstrdup(v);
    }
}

static char *r_combine(reduce_kind k, hodu_dtype t, const char *a, const char *m)
{
    switch (k) {
    case RED_PROD: return hd_xasprintf("%s * %s", a, m);
    case RED_MAX:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("(%s > %s || %s != %s) ? %s : %s", m, a, m, m, m, a);
        return hd_xasprintf("%s > %s ? %s : %s", m, a, m, a);
    case RED_MIN:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("(%s < %s || %s != %s) ? %s : %s", m, a, m, m, m, a);
        return hd_xasprintf("%s < %s ? %s : %s", m, a, m, a);
    default: return hd_xasprintf("%s + %s", a, m);
    }
}

static const char *r_identity(reduce_kind k, hodu_dtype t)
{
    switch (k) {
    case RED_PROD: return "1";
    case RED_MAX: return ir_dtype_is_float(t) ? "-INFINITY" : int_min_lit(t);
    case RED_MIN: return ir_dtype_is_float(t) ? "INFINITY" : int_max_lit(t);
    default: return "0";
    }
}

/* Final value from the accumulator `a`; count is the number of elements
 * reduced (used by the mean). */
static char *r_final(reduce_kind k, hodu_dtype t, const char *a, int64_t count)
{
    switch (k) {
    case RED_MEAN:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("%s / (%s)%" PRId64, a, acc_ctype(t), count);
        if (count == 0)
            return hd_xstrdup("0");
        return hd_xasprintf("%s / (%s)%" PRId64, a, acc_ctype(t), count);
    case RED_L2: return hd_xasprintf("sqrt%s((%s)%s)", mf(t), fct(t), a);
    case RED_LOG_SUM: return hd_xasprintf("log%s((%s)%s)", mf(t), fct(t), a);
    default: return hd_xstrdup(a);
    }
}

/* Accumulator type of a reduction.  Signed integer sums and products run in
 * uint64_t, so overflow wraps (as two's complement) instead of being
 * undefined; the low bits are the same. */
static const char *r_acc_ctype(reduce_kind k, hodu_dtype t)
{
    if (ir_dtype_is_signed(t) && (k == RED_SUM || k == RED_PROD || k == RED_SUM_SQUARE))
        return "uint64_t";
    return acc_ctype(t);
}

static bool reduce_acc_is_out(reduce_kind k, hodu_dtype t) { return strcmp(r_acc_ctype(k, t), em_ctype(t)) == 0; }

/* Scratch: an accumulator row when the innermost dims are kept and the
 * output's storage type differs from the accumulator type. */
static uint64_t scratch_plan(const reduce_plan *p, hodu_dtype t)
{
    if (p->identity || p->view.inner <= 1 || p->view.out_numel == 0 || p->view.red_numel == 0 ||
        reduce_acc_is_out(p->kind, t))
        return 0;
    return (uint64_t)p->view.inner * 8;
}

static uint64_t scratch_reduce(const ir_graph *g, int node)
{
    reduce_plan p;
    if (!reduce_plan_of(g, node, &p))
        return 0;
    const ir_value *in = ir_val(g, ir_nd(g, node)->inputs[0]);
    uint64_t need = scratch_plan(&p, in->dtype);
    reduce_axes_choice ch;
    if (!p.identity && reduce_runtime_axes(g, node, &ch)) {
        /* the largest of the nests the run-time axes may pick */
        int64_t d[HODU_MAX_RANK];
        ir_value_dims(in, d);
        for (int i = 0; i < ch.n; i++) {
            memcpy(p.mask, ch.mask[i], sizeof(p.mask));
            reduce_view_build(d, in->rank, p.mask, p.kind != RED_LOG_SUM_EXP, &p.view);
            uint64_t s = scratch_plan(&p, in->dtype);
            need = s > need ? s : need;
        }
    }
    return need;
}

static bool emit_reduce_nest(op_emit *e, const reduce_plan *plan);

/* Axes given at run time (reduce_runtime_axes): distinct and in range; the
 * set they name picks its loop nest, and a set the build has no nest for
 * (one that does not give the declared output shape) stops the run. */
static bool emit_reduce_runtime_axes(op_emit *e, reduce_plan *plan, const reduce_axes_choice *ch)
{
    const ir_value *in = em_in(e, 0), *av = em_in(e, 1);
    int r = in->rank;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(in, d);
    e->can_fail = true;
    em_line(e, "unsigned set = 0;");
    em_for(e, "k", av->dims[0].size);
    em_line(e, "int64_t a = in1[k];");
    em_line(e, "if (a < 0) a += %d;", r);
    em_line(e, "if (a < 0 || a >= %d || (set >> a & 1u)) return 1;", r);
    em_line(e, "set |= 1u << a;");
    em_close(e);
    em_line(e, "switch (set) {");
    for (int i = 0; i < ch->n; i++) {
        for (unsigned s = 1; s < (1u << r); s++)
            if (ch->nest_of[s] == i)
                em_line(e, "case %uu:", s);
        em_line(e, "{");
        e->indent++;
        memcpy(plan->mask, ch->mask[i], sizeof(plan->mask));
        reduce_view_build(d, r, plan->mask, plan->kind != RED_LOG_SUM_EXP, &plan->view);
        if (!emit_reduce_nest(e, plan))
            return false;
        em_line(e, "break;");
        e->indent--;
        em_line(e, "}");
    }
    em_line(e, "default: return 1;");
    em_line(e, "}");
    return true;
}

static bool emit_reduce(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *out = em_out(e, 0);
    reduce_plan plan;
    if (!reduce_plan_of(e->g, e->node, &plan))
        return false;
    size_t nbytes = ir_value_nbytes(out);
    const ir_value *av = n->n_inputs > 1 && n->inputs[1] >= 0 ? em_in(e, 1) : NULL;
    reduce_axes_choice ch;
    if (av && av->kind != IR_VALUE_CONST && ir_value_numel(av) > 0) {
        if (!reduce_runtime_axes(e->g, e->node, &ch))
            return false;
        return emit_reduce_runtime_axes(e, &plan, &ch);
    }
    if (av)
        em_line(e, "(void)in1; /* axes: a build-time constant, or empty */");
    if (plan.identity) {
        if (nbytes)
            em_line(e, "memcpy(out0, in0, %zu);", nbytes);
        return true;
    }
    return emit_reduce_nest(e, &plan);
}

/* Opens (or closes) the loops d<i> < n<i> over the dims whose mask[i] is
 * `reduced`. */
static void rt_loops(op_emit *e, int r, const bool *mask, bool reduced, bool close)
{
    for (int i = 0; i < r; i++)
        if (mask[i] == reduced) {
            if (close) {
                em_close(e);
            } else {
                em_line(e, "for (int64_t d%d = 0; d%d < n%d; d%d++) {", i, i, i, i);
                e->indent++;
            }
        }
}

/* The general path (ir_node.rt_general): a reduction over run-time dims,
 * sizes read when the model runs.  The kept dims run outside, the reduced
 * ones inside, so each output element is one accumulation (two for
 * LogSumExp: the max, then the sum); the output is written in order. */
static bool emit_reduce_rt(op_emit *e)
{
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    const ir_node *n = em_node(e);
    reduce_plan plan;
    if (!reduce_plan_of(e->g, e->node, &plan))
        return false;
    if (n->n_inputs > 1 && n->inputs[1] >= 0)
        em_line(e, "(void)in1; /* axes: a build-time constant, or empty */");
    hodu_dtype t = in->dtype;
    reduce_kind k = plan.kind;
    int r = in->rank;
    if (plan.identity) {
        hd_buf elems;
        hd_buf_init(&elems);
        em_rt_elems(e->g, in, -1, &elems);
        em_line(e, "memcpy(out0, in0, (size_t)(%s) * %zu);", elems.data, ir_dtype_size(t));
        hd_buf_free(&elems);
        return true;
    }
    /* n<i>: the sizes; s<i>: the input's strides; cnt: the reduced count */
    for (int i = 0; i < r; i++)
        em_line(e, "const int64_t n%d = %s;", i, em_dim(e->g, in, i).s);
    for (int i = r - 1; i >= 0; i--)
        if (i == r - 1)
            em_line(e, "const int64_t s%d = 1;", i);
        else
            em_line(e, "const int64_t s%d = s%d * n%d;", i, i + 1, i + 1);
    hd_buf cnt, xo, ro;
    hd_buf_init(&cnt);
    hd_buf_init(&xo);
    hd_buf_init(&ro);
    hd_buf_puts(&cnt, "INT64_C(1)");
    hd_buf_puts(&xo, "0");
    hd_buf_puts(&ro, "0");
    for (int i = 0; i < r; i++) {
        hd_buf_printf(plan.mask[i] ? &cnt : &xo, plan.mask[i] ? " * n%d" : " + d%d * s%d", i, i);
        if (plan.mask[i])
            hd_buf_printf(&ro, " + d%d * s%d", i, i);
    }
    em_line(e, "const int64_t cnt = %s;", cnt.data);
    em_line(e, "(void)cnt;");
    em_line(e, "int64_t yi = 0;");
    rt_loops(e, r, plan.mask, false, false);
    em_line(e, "const %s *x = in0 + (%s);", em_ctype(t), xo.data);
    const char *at = k == RED_LOG_SUM_EXP ? fct(t) : r_acc_ctype(k, t);
    char *v = ld(t, "x", ro.data);
    char *fin = NULL;
    if (k == RED_LOG_SUM_EXP) {
        em_line(e, "%s m = -INFINITY, a = 0;", at);
        rt_loops(e, r, plan.mask, true, false);
        em_line(e, "%s v = %s;", at, v);
        em_line(e, "m = (v > m || v != v) ? v : m;");
        rt_loops(e, r, plan.mask, true, true);
        rt_loops(e, r, plan.mask, true, false);
        em_line(e, "a += exp%s((%s)%s - m);", mf(t), at, v);
        rt_loops(e, r, plan.mask, true, true);
        fin = hd_xstrdup(is_single(t) ? "isinf(m) ? m : m + logf(a)" : "isinf(m) ? m : m + log(a)");
    } else {
        char *m = r_map(k, t, "v"), *cmb = r_combine(k, t, "a", m);
        em_line(e, "%s a = %s;", at, r_identity(k, t));
        rt_loops(e, r, plan.mask, true, false);
        em_line(e, "%s v = %s;", at, v);
        em_line(e, "a = %s;", cmb);
        rt_loops(e, r, plan.mask, true, true);
        free(m);
        free(cmb);
        if (k == RED_MEAN) /* an empty integer mean is 0, as in the static lowering */
            fin = ir_dtype_is_float(t) ? hd_xasprintf("a / (%s)cnt", acc_ctype(t))
                                       : hd_xasprintf("cnt ? a / (%s)cnt : 0", acc_ctype(t));
        else
            fin = r_final(k, t, "a", 1);
    }
    st(e, out->dtype, "out0", "yi++", fin);
    free(fin);
    free(v);
    rt_loops(e, r, plan.mask, false, true);
    hd_buf_free(&cnt);
    hd_buf_free(&xo);
    hd_buf_free(&ro);
    return true;
}

/* The loops of one reduction plan (not an identity). */
static bool emit_reduce_nest(op_emit *e, const reduce_plan *plan)
{
    const ir_value *in = em_in(e, 0);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = in->dtype;
    reduce_kind k = plan->kind;
    const reduce_view p = plan->view;
    if (p.out_numel == 0)
        return true;
    const char *at = r_acc_ctype(k, t);
    if (k == RED_LOG_SUM_EXP)
        at = fct(t);
    if (p.red_numel == 0) {
        /* Empty reduction: every output is the identity, finalised. */
        char *v;
        if (k == RED_LOG_SUM_EXP)
            v = hd_xstrdup("-INFINITY");
        else if (k == RED_MEAN && ir_dtype_is_float(t))
            v = hd_xstrdup("NAN");
        else
            v = r_final(k, t, r_identity(k, t), 1);
        em_for(e, "i", p.out_numel);
        st(e, out->dtype, "out0", "i", v);
        em_close(e);
        free(v);
        return true;
    }
    char *xo = nest_off("o", &p.outer, false);
    char *yo = nest_off("o", &p.outer, true);
    char *ro = nest_off("r", &p.red, false);
    /* Rows of lanes summed into the output itself (a squeeze-and-excite
     * block's mean over H and W of [N, C/16, H, W, 16]): the outer loop
     * splits over threads, and four partial sums per lane break the add
     * chain. */
    const bool lane_sums = p.inner > 1 && p.inner <= 64 && t == HODU_DTYPE_F32 && out->dtype == HODU_DTYPE_F32 &&
                           (k == RED_SUM || k == RED_MEAN) && reduce_acc_is_out(k, t) && p.red.n == 1 && p.outer.n == 1;
    if (lane_sums)
        em_par_for(e, "o0", p.outer.size[0], 1, p.red_numel * p.inner);
    else
        nest_open(e, "o", &p.outer);
    row_ptrs(e, t, xo, out->dtype, yo);
    if (k == RED_LOG_SUM_EXP) {
        /* max first, then log(sum(exp(x - max))) + max */
        char *v = ld(t, "x", ro);
        em_line(e, "%s m = -INFINITY;", at);
        nest_open(e, "r", &p.red);
        em_line(e, "%s v = %s;", at, v);
        em_line(e, "m = (v > m || v != v) ? v : m;");
        nest_close(e, &p.red);
        em_line(e, "%s s = 0;", at);
        nest_open(e, "r", &p.red);
        em_line(e, "s += exp%s((%s)%s - m);", mf(t), at, v);
        nest_close(e, &p.red);
        st(e, out->dtype, "y", "0", is_single(t) ? "isinf(m) ? m : m + logf(s)" : "isinf(m) ? m : m + log(s)");
        free(v);
    } else if (p.inner == 1) {
        bool contig = p.red.n == 1 && p.red.stride[0] == 1;
        bool lanes = contig && p.red.size[0] >= 32 && ir_dtype_is_float(t);
        const char *helper = NULL;
        if (contig && t == HODU_DTYPE_F32) {
            switch (k) {
            case RED_SUM:
            case RED_MEAN:
            case RED_LOG_SUM: helper = "hd_rd_sum(x, %" PRId64 ", 0)"; break;
            case RED_L2:
            case RED_SUM_SQUARE: helper = "hd_rd_sumsq(x, %" PRId64 ", 0)"; break;
            case RED_L1: helper = "hd_rd_sumabs(x, %" PRId64 ", 0)"; break;
            case RED_MAX: helper = "hd_rd_ext(x, %" PRId64 ", 1)"; break;
            case RED_MIN: helper = "hd_rd_ext(x, %" PRId64 ", 0)"; break;
            default: break;
            }
        }
        char *fin = r_final(k, t, "a", p.red_numel);
        if (helper) {
            char *call = hd_xasprintf(helper, p.red.size[0]);
            em_line(e, "float a = %s;", call);
            free(call);
        } else if (lanes) {
            /* Eight independent partial results so the compiler can keep
             * them in one vector register. */
            int64_t R = p.red.size[0];
            char *v = ld(t, "x", "r + j");
            char *m = r_map(k, t, "v");
            char *cmb = r_combine(k, t, "l[j]", m);
            char *cmb2 = r_combine(k, t, "a", "l[j]");
            em_line(e, "%s l[8];", at);
            em_line(e, "for (int j = 0; j < 8; j++) l[j] = %s;", r_identity(k, t));
            em_line(e, "for (int64_t r = 0; r < %" PRId64 "; r += 8) {", R / 8 * 8);
            em_line(e, "    for (int j = 0; j < 8; j++) { %s v = %s; l[j] = %s; }", at, v, cmb);
            em_line(e, "}");
            em_line(e, "%s a = %s;", at, r_identity(k, t));
            em_line(e, "for (int j = 0; j < 8; j++) a = %s;", cmb2);
            if (R % 8) {
                char *v2 = ld(t, "x", "r");
                char *cmb3 = r_combine(k, t, "a", m);
                em_line(e, "for (int64_t r = %" PRId64 "; r < %" PRId64 "; r++) { %s v = %s; a = %s; }", R / 8 * 8, R,
                        at, v2, cmb3);
                free(v2);
                free(cmb3);
            }
            free(v);
            free(m);
            free(cmb);
            free(cmb2);
        } else {
            char *v = ld(t, "x", ro);
            char *m = r_map(k, t, "v");
            char *cmb = r_combine(k, t, "a", m);
            em_line(e, "%s a = %s;", at, r_identity(k, t));
            nest_open(e, "r", &p.red);
            em_line(e, "%s v = %s;", at, v);
            em_line(e, "a = %s;", cmb);
            nest_close(e, &p.red);
            free(v);
            free(m);
            free(cmb);
        }
        st(e, out->dtype, "y", "0", fin);
        free(fin);
    } else if (lane_sums) {
        const int64_t R = p.red.size[0], S = p.red.stride[0], I = p.inner;
        em_line(e, "float l[4][%" PRId64 "];", I);
        em_line(e, "for (int u = 0; u < 4; u++)");
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) l[u][i] = 0;", I);
        em_line(e, "for (int64_t r0 = 0; r0 < %" PRId64 "; r0 += 4)", R / 4 * 4);
        em_line(e, "    for (int u = 0; u < 4; u++) {");
        em_line(e, "        const float *xr = x + (r0 + u) * %" PRId64 ";", S);
        em_line(e, "        for (int64_t i = 0; i < %" PRId64 "; i++) l[u][i] += xr[i];", I);
        em_line(e, "    }");
        if (R % 4) {
            em_line(e, "for (int64_t r0 = %" PRId64 "; r0 < %" PRId64 "; r0++)", R / 4 * 4, R);
            em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) l[0][i] += x[r0 * %" PRId64 " + i];", I, S);
        }
        char *fin = r_final(k, t, "((l[0][i] + l[1][i]) + (l[2][i] + l[3][i]))", p.red_numel);
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) y[i] = %s;", I, fin);
        free(fin);
    } else {
        bool direct = reduce_acc_is_out(k, t);
        if (direct)
            em_line(e, "%s *a = y;", at);
        else
            em_line(e, "%s *a = (%s *)(void *)scratch;", at, at);
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) a[i] = %s;", p.inner, r_identity(k, t));
        nest_open(e, "r", &p.red);
        em_line(e, "const %s *xr = %s;", em_ctype(t), em_at("x", ro).s);
        char *v = ld(t, "xr", "i");
        char *m = r_map(k, t, "v");
        char *cmb = r_combine(k, t, "a[i]", m);
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) { %s v = %s; a[i] = %s; }", p.inner, at, v, cmb);
        nest_close(e, &p.red);
        char *fin = r_final(k, t, "a[i]", p.red_numel);
        if (!(direct && strcmp(fin, "a[i]") == 0)) {
            char *s = em_store(out->dtype, fin);
            em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) y[i] = %s;", p.inner, s);
            free(s);
        }
        free(fin);
        free(v);
        free(m);
        free(cmb);
    }
    nest_close(e, &p.outer);
    free(xo);
    free(yo);
    free(ro);
    return true;
}

/* ======================================================================== */
/* ArgMax, ArgMin, CumSum, CumProd, TopK                                     */
/* ======================================================================== */

static bool emit_arg(op_emit *e)
{
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    reduce_arg_plan p;
    if (!reduce_arg_plan_of(e->g, e->node, &p))
        return false;
    bool is_max = p.is_max, last = p.select_last;
    int64_t O = p.v.outer, A = p.v.len, I = p.v.inner;
    if (O * A * I == 0)
        return true;
    const char *cmp = is_max ? ">" : "<";
    char *cond;
    if (ir_dtype_is_float(t))
        cond = last ? hd_xasprintf("v %s= b || v != v", cmp) : hd_xasprintf("v %s b || (v != v && b == b)", cmp);
    else
        cond = hd_xasprintf("v %s%s b", cmp, last ? "=" : "");
    const char *ct = em_compute_ctype(t);
    em_for(e, "o", O);
    em_for(e, "i", I);
    em_expr ox = em_index(0, EM_TERMS({"o", A * I}, {"i", 1}));
    row_ptrs(e, t, ox.s, t, NULL);
    char *v0 = ld(t, "x", "0");
    char *v = ld(t, "x", em_index(0, EM_TERMS({"a", I})).s);
    em_line(e, "%s b = %s;", ct, v0);
    em_line(e, "int64_t best = 0;");
    em_line(e, "for (int64_t a = 1; a < %" PRId64 "; a++) {", A);
    em_line(e, "    %s v = %s;", ct, v);
    em_line(e, "    if (%s) { b = v; best = a; }", cond);
    em_line(e, "}");
    em_line(e, "out0[%s] = best;", em_index(0, EM_TERMS({"o", I}, {"i", 1})).s);
    em_close(e);
    em_close(e);
    free(v0);
    free(v);
    free(cond);
    return true;
}

/* The scan along p's axis. */
static void emit_cum_loops(op_emit *e, hodu_dtype t, const reduce_cum_plan *p)
{
    bool prod = p->prod, excl = p->exclusive, rev = p->reverse;
    int64_t O = p->v.outer, A = p->v.len, I = p->v.inner;
    if (O * A * I == 0)
        return;
    /* Integers: add/multiply in the unsigned 64-bit type (wraps, no UB). */
    bool integer = !ir_dtype_is_float(t);
    const char *ct = integer ? "uint64_t" : em_compute_ctype(t);
    const char *op = prod ? "*" : "+";
    em_for(e, "o", O);
    em_expr ox = em_index(0, EM_TERMS({"o", A * I}));
    row_ptrs(e, t, ox.s, t, ox.s);
    em_for(e, "i", I);
    em_line(e, "%s s = %s;", ct, prod ? "1" : "0");
    em_for(e, "k", A);
    char rk[40];
    snprintf(rk, sizeof rk, "(%" PRId64 " - k)", A - 1);
    em_line(e, "int64_t p = %s;", em_index(0, EM_TERMS({rev ? rk : "k", I}, {"i", 1})).s);
    char *v = ld(t, "x", "p");
    char *sv = integer ? hd_xasprintf("(%s)(%s)s", em_ctype(t), ir_dtype_is_signed(t) ? "int64_t" : "uint64_t")
                       : hd_xstrdup("s");
    if (excl) {
        st(e, t, "y", "p", sv);
        em_line(e, "s = s %s (%s)%s;", op, ct, v);
    } else {
        em_line(e, "s = s %s (%s)%s;", op, ct, v);
        st(e, t, "y", "p", sv);
    }
    free(v);
    free(sv);
    em_close(e);
    em_close(e);
    em_close(e);
}

/* A run-time axis: one scan per axis, chosen by a switch; an axis out of
 * range stops the run (HODU_RUN_INPUT_VALUES). */
static bool emit_cum(op_emit *e)
{
    const ir_value *in = em_in(e, 0);
    reduce_cum_plan p;
    if (!reduce_cum_plan_of(e->g, e->node, 0, &p))
        return false;
    if (!p.axis_at_run_time) {
        em_line(e, "(void)in1; /* axis: a build-time constant */");
        emit_cum_loops(e, in->dtype, &p);
        return true;
    }
    e->can_fail = true;
    em_line(e, "int64_t axis = (int64_t)in1[0];");
    em_line(e, "if (axis < 0) axis += %d;", in->rank);
    em_line(e, "switch (axis) {");
    for (int a = 0; a < in->rank; a++) {
        if (!reduce_cum_plan_of(e->g, e->node, a, &p))
            return false;
        em_line(e, "case %d: {", a);
        e->indent++;
        emit_cum_loops(e, in->dtype, &p);
        em_line(e, "break;");
        e->indent--;
        em_line(e, "}");
    }
    em_line(e, "default: return 1;");
    em_line(e, "}");
    return true;
}

/* TopK: insertion into the sorted k-best list, written straight into the
 * outputs, over [O][A][I] with the sizes as C expressions (numbers for a
 * static node; read when the model runs on the general path,
 * ir_node.rt_general).  A K the run decides (reduce_topk_plan.run_k) is
 * read from in1 and reported through dims0 and dims1. */
static bool emit_topk(op_emit *e)
{
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    reduce_topk_plan p;
    if (!reduce_topk_plan_of(e->g, e->node, &p))
        return false;
    int r = in->rank, axis = p.v.axis;
    hd_buf b[3];
    for (int k = 0; k < 3; k++) {
        hd_buf_init(&b[k]);
        hd_buf_puts(&b[k], "INT64_C(1)");
    }
    for (int i = 0; i < r; i++)
        hd_buf_printf(&b[i < axis ? 0 : i == axis ? 1 : 2], " * %s", em_dim(e->g, in, i).s);
    em_line(e, "const int64_t O = %s, A = %s, I = %s;", b[0].data, b[1].data, b[2].data);
    for (int k = 0; k < 3; k++)
        hd_buf_free(&b[k]);
    if (p.run_k) {
        e->can_fail = true;
        em_line(e, "const int64_t K = in1[0];");
        em_line(e, "if (K < 0 || K > A) return 1;");
        em_line(e, "dims0[%d] = dims1[%d] = K;", axis, axis);
    } else {
        const ir_node *n = em_node(e);
        const ir_value *kv = n->n_inputs > 1 && n->inputs[1] >= 0 ? em_in(e, 1) : NULL;
        if (kv && kv->kind != IR_VALUE_CONST) { /* K given at run time: inference built for the declared size */
            e->can_fail = true;
            em_line(e, "if (in1[0] != %" PRId64 ") return 1;", p.k);
        } else if (kv) {
            em_line(e, "(void)in1; /* K: a build-time constant */");
        }
        em_line(e, "const int64_t K = %" PRId64 ";", p.k);
        if (in->dims[axis].rt) { /* the axis may be shorter than K in this run */
            e->can_fail = true;
            em_line(e, "if (K > A) return 1;");
        }
    }
    const char *cmp = p.largest ? ">" : "<";
    const char *ct = em_compute_ctype(t);
    em_line(e, "for (int64_t o = 0; o < O && K > 0; o++)");
    em_line(e, "for (int64_t i = 0; i < I; i++) {");
    e->indent++;
    em_line(e, "const %s *x = in0 + o * A * I + i;", em_ctype(t));
    em_line(e, "%s *vo = out0 + o * K * I + i;", em_ctype(t));
    em_line(e, "int64_t *io = out1 + o * K * I + i;");
    em_line(e, "int64_t n = 0;");
    em_line(e, "for (int64_t a = 0; a < A; a++) {");
    e->indent++;
    char *v = ld(t, "x", "a * I"), *w = ld(t, "vo", "(K - 1) * I"), *pv = ld(t, "vo", "(p - 1) * I");
    em_line(e, "%s v = %s;", ct, v);
    em_line(e, "if (n == K && !(v %s %s)) continue;", cmp, w);
    em_line(e, "int64_t p = n < K ? n++ : K - 1;");
    em_line(e, "while (p > 0 && v %s %s) {", cmp, pv);
    em_line(e, "    vo[p * I] = vo[(p - 1) * I];");
    em_line(e, "    io[p * I] = io[(p - 1) * I];");
    em_line(e, "    p--;");
    em_line(e, "}");
    st(e, t, "vo", "p * I", "v");
    em_line(e, "io[p * I] = a;");
    free(v);
    free(w);
    free(pv);
    em_close(e);
    em_close(e);
    return true;
}

/* Emits `<at> <var> = sum over j in [0, n) of <expr>` (expr reads the loop
 * index j).  Long sums run in eight independent lanes, which the compiler
 * vectorises and which also round better than one running sum. */
static void emit_sum(op_emit *e, const char *at, const char *var, int64_t n, const char *expr)
{
    if (n >= 32) {
        int64_t n8 = n / 8 * 8;
        em_line(e, "%s %s = 0;", at, var);
        em_line(e, "{");
        e->indent++;
        em_line(e, "%s l_[8] = {0, 0, 0, 0, 0, 0, 0, 0};", at);
        em_line(e, "for (int64_t j0 = 0; j0 < %" PRId64 "; j0 += 8) {", n8);
        em_line(e, "    for (int64_t u_ = 0; u_ < 8; u_++) { int64_t j = j0 + u_; l_[u_] += %s; }", expr);
        em_line(e, "}");
        em_line(e, "%s = ((l_[0] + l_[1]) + (l_[2] + l_[3])) + ((l_[4] + l_[5]) + (l_[6] + l_[7]));", var);
        if (n8 < n)
            em_line(e, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) %s += %s;", n8, n, var, expr);
        e->indent--;
        em_line(e, "}");
    } else {
        em_line(e, "%s %s = 0;", at, var);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) %s += %s;", n, var, expr);
    }
}

/* ======================================================================== */
/* Softmax, LogSoftmax, Hardmax                                              */
/* ======================================================================== */

/* Emits `<at> <var> = max over j in [0, n) of <expr>` (NaN is skipped; the
 * callers' later arithmetic propagates it). */
static void emit_max(op_emit *e, const char *at, const char *var, int64_t n, const char *expr)
{
    if (n >= 32) {
        int64_t n8 = n / 8 * 8;
        em_line(e, "%s %s = -INFINITY;", at, var);
        em_line(e, "{");
        e->indent++;
        em_line(e,
                "%s l_[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, "
                "-INFINITY};",
                at);
        em_line(e, "for (int64_t j0 = 0; j0 < %" PRId64 "; j0 += 8) {", n8);
        em_line(e,
                "    for (int64_t u_ = 0; u_ < 8; u_++) { int64_t j = j0 + u_; %s v_ = %s; l_[u_] = v_ > l_[u_] ? "
                "v_ : l_[u_]; }",
                at, expr);
        em_line(e, "}");
        em_line(e, "for (int u_ = 0; u_ < 8; u_++) %s = l_[u_] > %s ? l_[u_] : %s;", var, var, var);
        if (n8 < n)
            em_line(e, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) { %s v_ = %s; %s = v_ > %s ? v_ : %s; }",
                    n8, n, at, expr, var, var, var);
        e->indent--;
        em_line(e, "}");
    } else {
        em_line(e, "%s %s = -INFINITY;", at, var);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) { %s v_ = %s; %s = v_ > %s ? v_ : %s; }", n, at, expr,
                var, var, var);
    }
}

/* Opens the loops over the rows of an [O][A][I] view along A (o, and i
 * when I > 1) and points x and y at the row's first element; element j of
 * the row is at j * I. */
static void emit_axis_rows(op_emit *e, hodu_dtype t, int64_t O, int64_t A, int64_t I)
{
    /* rows are independent and use no scratch: tasks over o */
    em_par_for(e, "o", O, 1, 4 * A * I);
    if (I > 1)
        em_for(e, "i", I);
    em_expr r = em_index(0, EM_TERMS({"o", A * I}, {"i", I > 1}));
    row_ptrs(e, t, r.s, t, r.s);
}

/* f32 along a non-innermost axis: per-column max and sum in scratch. */
static bool softmax_cols(hodu_dtype t, const reduce_softmax_plan *p)
{
    return t == HODU_DTYPE_F32 && p->kind != RED_HARDMAX && p->inner > 1 && p->outer * p->len * p->inner > 0;
}

static bool is_half(hodu_dtype t) { return t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

/* f16/bf16 rows along the innermost axis: widened into float scratch. */
static bool softmax_half_rows(hodu_dtype t, const reduce_softmax_plan *p)
{
    return is_half(t) && p->kind != RED_HARDMAX && p->inner == 1 && p->outer * p->len > 0;
}

static uint64_t scratch_softmax(const ir_graph *g, int node)
{
    reduce_softmax_plan p;
    if (!reduce_softmax_plan_of(g, node, &p))
        return 0;
    hodu_dtype t = ir_val(g, ir_nd(g, node)->inputs[0])->dtype;
    if (softmax_cols(t, &p))
        return (uint64_t)p.inner * 2 * sizeof(float);
    if (softmax_half_rows(t, &p))
        return (uint64_t)p.len * 2 * sizeof(float);
    return 0;
}

/* The general path (ir_node.rt_general): Softmax and LogSoftmax over a
 * run-time dim (attention's keys), float32, with the rows' geometry read
 * at run time: O rows of A elements I apart. */
static bool emit_softmax_rt(op_emit *e)
{
    const ir_value *in = em_in(e, 0);
    const ir_node *n = em_node(e);
    if (in->dtype != HODU_DTYPE_F32) {
        ir_node_error(e->d, e->g, e->node,
                      "%s over run-time dims that are not leading dims takes float32 only yet, not %s; bind them "
                      "with --dim SYM=N",
                      n->op_type, ir_dtype_name(in->dtype));
        return false;
    }
    int r = in->rank;
    int64_t ax = ir_attr_int(n, "axis", e->g->opset >= 13 ? -1 : 1);
    int axis = (int)(ax < 0 ? ax + r : ax);
    /* before opset 13 the op works on a 2-D view split at the axis */
    int len_end = e->g->opset >= 13 ? axis + 1 : r;
    hd_buf b[3];
    for (int k = 0; k < 3; k++) {
        hd_buf_init(&b[k]);
        hd_buf_puts(&b[k], "1");
    }
    for (int i = 0; i < r; i++)
        hd_buf_printf(&b[i < axis ? 0 : i < len_end ? 1 : 2], " * %s", em_dim(e->g, in, i).s);
    bool log = n->op == OP_LOG_SOFTMAX;
    int64_t top[3] = {1, 1, 1}; /* O, A, I at the top of the ranges */
    for (int i = 0; i < r; i++)
        top[i < axis ? 0 : i < len_end ? 1 : 2] *= in->dims[i].size;
    em_line(e, "const int64_t O = %s, A = %s, I = %s;", b[0].data, b[1].data, b[2].data);
    em_line(e, "(void)O;");
    em_par_for_rt(e, "o", b[0].data, top[0], 4 * top[1] * top[2]);
    for (int k = 0; k < 3; k++)
        hd_buf_free(&b[k]);
    em_line(e, "for (int64_t i = 0; i < I && A > 0; i++) {");
    e->indent++;
    em_line(e, "const float *x = in0 + o * A * I + i;");
    em_line(e, "float *y = out0 + o * A * I + i;");
    em_line(e, "float mx = x[0], s = 0.0f;");
    em_line(e, "if (I == 1)");
    em_line(e, "    mx = hd_rd_ext(x, A, 1);");
    em_line(e, "else");
    em_line(e, "    for (int64_t j = 1; j < A; j++) mx = (x[j * I] > mx || x[j * I] != x[j * I]) ? x[j * I] : mx;");
    if (log) {
        em_line(e, "for (int64_t j = 0; j < A; j++) s += hd_expf(x[j * I] - mx);");
        em_line(e, "const float ls = logf(s);");
        em_line(e, "for (int64_t j = 0; j < A; j++) y[j * I] = (x[j * I] - mx) - ls;");
    } else {
        em_line(e, "if (I == 1) {");
        em_line(e, "    for (int64_t j = 0; j < A; j++) y[j] = x[j] - mx;");
        em_line(e, "    hd_vexp_f32(y, y, A);");
        em_line(e, "    s = hd_rd_sum(y, A, 0.0f);");
        em_line(e, "} else {");
        em_line(e, "    for (int64_t j = 0; j < A; j++) { y[j * I] = hd_expf(x[j * I] - mx); s += y[j * I]; }");
        em_line(e, "}");
        em_line(e, "const float rs = 1.0f / s;");
        em_line(e, "for (int64_t j = 0; j < A; j++) y[j * I] *= rs;");
    }
    em_close(e);
    em_close(e);
    return true;
}

static bool emit_softmax(op_emit *e)
{
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    reduce_softmax_plan p;
    if (!reduce_softmax_plan_of(e->g, e->node, &p))
        return false;
    reduce_softmax_kind k = p.kind;
    int64_t O = p.outer, A = p.len, I = p.inner;
    if (O * A * I == 0)
        return true;
    const char *ct = fct(t);
    const char *m = mf(t);
    if (softmax_cols(t, &p)) {
        /* [O][A][I] with I > 1: every step is a contiguous pass over a row
         * of I columns; exp runs over the whole contiguous block. */
        em_line(e, "float *mx = (float *)(void *)scratch, *sm = mx + %" PRId64 ";", I);
        em_for(e, "o", O);
        em_expr ox = em_index(0, EM_TERMS({"o", A * I}));
        row_ptrs(e, t, ox.s, t, ox.s);
        const em_expr ai = em_index(0, EM_TERMS({"a", I}, {"i", 1}));
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) { mx[i] = -INFINITY; sm[i] = 0; }", I);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) { float v = x[%s]; mx[i] = v > mx[i] ? v : mx[i]; }",
                I, ai.s);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[%s] = x[%s] - mx[i];", I, ai.s, ai.s);
        em_line(e, "hd_vexp_f32(y, y, %" PRId64 ");", A * I);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] += y[%s];", I, ai.s);
        if (k == RED_LOG_SOFTMAX) {
            em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] = logf(sm[i]);", I);
            em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
            em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[%s] = (x[%s] - mx[i]) - sm[i];", I, ai.s, ai.s);
        } else {
            em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] = 1.0f / sm[i];", I);
            em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
            em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[%s] *= sm[i];", I, ai.s);
        }
        em_close(e);
        return true;
    }
    if (softmax_half_rows(t, &p)) {
        /* widen the row to float, run the f32 algorithm, narrow back */
        const char *h = t == HODU_DTYPE_F16 ? "f16" : "bf16";
        em_line(e, "float *w = (float *)(void *)scratch, *ew = w + %" PRId64 ";", A);
        em_for(e, "o", O);
        em_line(e, "hd_%s_to_f32_array(%s, w, %" PRId64 ");", h, em_offset("in0", 0, EM_TERMS({"o", A})).s, A);
        em_line(e, "float mx = hd_rd_ext(w, %" PRId64 ", 1);", A);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) { w[j] -= mx; ew[j] = w[j]; }", A);
        em_line(e, "hd_vexp_f32(ew, ew, %" PRId64 ");", A);
        em_line(e, "float s = hd_rd_sum(ew, %" PRId64 ", 0);", A);
        if (k == RED_LOG_SOFTMAX) {
            em_line(e, "float ls = logf(s);");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) w[j] -= ls;", A);
        } else {
            em_line(e, "float r = 1.0f / s;");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) w[j] = ew[j] * r;", A);
        }
        em_line(e, "hd_f32_to_%s_array(w, %s, %" PRId64 ");", h, em_offset("out0", 0, EM_TERMS({"o", A})).s, A);
        em_close(e);
        return true;
    }
    char *ix = hd_xstrdup(em_index(0, EM_TERMS({"j", I})).s);
    char *xj = ld(t, "x", ix);
    emit_axis_rows(e, t, O, A, I);
    if (k == RED_HARDMAX) {
        char *x0 = ld(t, "x", "0");
        em_line(e, "%s b = %s;", ct, x0);
        free(x0);
        em_line(e, "int64_t best = 0;");
        em_line(e, "for (int64_t j = 1; j < %" PRId64 "; j++) {", A);
        em_line(e, "    %s v = %s;", ct, xj);
        em_line(e, "    if (v > b || (v != v && b == b)) { b = v; best = j; }");
        em_line(e, "}");
        em_for(e, "j", A);
        st(e, t, "y", ix, "j == best ? 1 : 0");
        em_close(e);
    } else if (t == HODU_DTYPE_F32) {
        /* contiguous row: y = x - max, vector exp in place, then scale (or
         * recompute x - max - log(sum) for LogSoftmax) */
        em_line(e, "float mx = hd_rd_ext(x, %" PRId64 ", 1);", A);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) y[j] = x[j] - mx;", A);
        em_line(e, "hd_vexp_f32(y, y, %" PRId64 ");", A);
        em_line(e, "float s = hd_rd_sum(y, %" PRId64 ", 0);", A);
        if (k == RED_LOG_SOFTMAX) {
            em_line(e, "float ls = logf(s);");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) y[j] = (x[j] - mx) - ls;", A);
        } else {
            em_line(e, "float r = 1.0f / s;");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) y[j] *= r;", A);
        }
    } else {
        emit_max(e, ct, "mx", A, xj);
        char *ex = hd_xasprintf("exp%s(%s - mx)", m, xj);
        emit_sum(e, ct, "s", A, ex);
        char *v = k == RED_LOG_SOFTMAX ? hd_xasprintf("(%s - mx) - log%s(s)", xj, m) : hd_xasprintf("%s * r", ex);
        if (k != RED_LOG_SOFTMAX)
            em_line(e, "%s r = 1 / s;", ct);
        em_for(e, "j", A);
        st(e, t, "y", ix, v);
        em_close(e);
        free(v);
        free(ex);
    }
    if (I > 1)
        em_close(e);
    em_close(e);
    free(ix);
    free(xj);
    return true;
}

/* ======================================================================== */
/* Normalizations                                                            */
/* ======================================================================== */

/* LayerNormalization and RMSNormalization. */
static bool emit_norm_lastdims(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_norm_plan np;
    if (!reduce_norm_plan_of(e->g, e->node, &np))
        return false;
    bool layer = np.layer;
    int64_t O = np.rows, D = np.len;
    if (O * D == 0)
        return true;
    double eps = np.epsilon;
    const char *ct = fct(t), *m = mf(t);
    const ir_value *sc = em_in(e, 1), *bi = layer ? em_in(e, 2) : NULL;
    const ir_value *mo = layer ? em_out(e, 1) : NULL, *io = layer ? em_out(e, 2) : NULL;
    bool half = is_half(t);
    char *xj = half ? hd_xstrdup("x[j]") : ld(t, "x", "j");
    if (half)
        em_for(e, "o", O); /* one float row in the shared scratch */
    else
        em_par_for(e, "o", O, 1, 4 * D);
    if (half) {
        em_line(e, "float *x = (float *)(void *)scratch;");
        em_line(e, "hd_%s_to_f32_array(%s, x, %" PRId64 ");", t == HODU_DTYPE_F16 ? "f16" : "bf16",
                em_offset("in0", 0, EM_TERMS({"o", D})).s, D);
        em_line(e, "%s *y = %s;", em_ctype(t), em_offset("out0", 0, EM_TERMS({"o", D})).s);
    } else {
        em_expr r = em_index(0, EM_TERMS({"o", D}));
        row_ptrs(e, t, r.s, t, r.s);
    }
    bool vec = half || t == HODU_DTYPE_F32;
    char *args = hd_xasprintf("x, %" PRId64 ", 0", D), *cargs = hd_xasprintf("x, %" PRId64 ", mean", D);
    if (layer) {
        emit_rowsum(e, vec, ct, "s", D, xj, "sum", args);
        em_line(e, "%s mean = s / (%s)%" PRId64 ";", ct, ct, D);
        char *sq = hd_xasprintf("(%s - mean) * (%s - mean)", xj, xj);
        emit_rowsum(e, vec, ct, "q", D, sq, "sumsqd", cargs);
        free(sq);
        em_line(e, "%s inv = (%s)1 / sqrt%s(q / (%s)%" PRId64 " + (%s)%s);", ct, ct, m, ct, D, ct, em_f64(eps).s);
    } else {
        char *sq = hd_xasprintf("%s * %s", xj, xj);
        emit_rowsum(e, vec, ct, "q", D, sq, "sumsq", args);
        free(sq);
        em_line(e, "%s inv = (%s)1 / sqrt%s(q / (%s)%" PRId64 " + (%s)%s);", ct, ct, m, ct, D, ct, em_f64(eps).s);
    }
    free(args);
    free(cargs);
    hd_buf b;
    hd_buf_init(&b);
    if (layer)
        hd_buf_printf(&b, "(%s - mean) * inv", xj);
    else
        hd_buf_printf(&b, "%s * inv", xj);
    if (sc) {
        char *s = ld(sc->dtype, "in1", np.scale_one ? "0" : "j");
        hd_buf_printf(&b, " * %s", s);
        free(s);
    }
    if (bi) {
        char *s = ld(bi->dtype, "in2", np.bias_one ? "0" : "j");
        hd_buf_printf(&b, " + %s", s);
        free(s);
    }
    em_for(e, "j", D);
    st(e, t, "y", "j", b.data);
    em_close(e);
    if (mo)
        st(e, mo->dtype, "out1", "o", "mean");
    if (io)
        st(e, io->dtype, "out2", "o", "inv");
    em_close(e);
    hd_buf_free(&b);
    free(xj);
    return true;
}

/* f16/bf16 rows are widened into float scratch, one row at a time. */
static uint64_t scratch_norm_lastdims(const ir_graph *g, int node)
{
    const ir_value *x = ir_val(g, ir_nd(g, node)->inputs[0]);
    reduce_norm_plan np;
    if (!is_half(x->dtype) || !reduce_norm_plan_of(g, node, &np))
        return 0;
    return (uint64_t)np.len * sizeof(float);
}

/* y[j] = (x - mu) * a + bb, with a, mu and bb the channel's. */
static void bn_store_normalised(op_emit *e, hodu_dtype t, const char *xs)
{
    char *v = hd_xasprintf("(%s - mu) * a + bb", xs);
    st(e, t, "y", "j", v);
    free(v);
}

static bool emit_batchnorm(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_batchnorm_plan bp;
    if (!reduce_batchnorm_plan_of(e->g, e->node, &bp))
        return false;
    int64_t N = bp.n, C = bp.c, S = bp.spatial;
    if (N * C * S == 0)
        return true;
    double eps = bp.epsilon;
    double mom = bp.momentum;
    const char *ct = fct(t), *m = mf(t);
    char *xs = ld(t, "x", "j");
    bool per_elem = bp.per_elem;
    const em_expr bc = em_index(0, EM_TERMS({"b", C * S}, {"c", S})); /* row (b, c) */
    const em_expr cj = em_index(0, EM_TERMS({"c", S}, {"j", 1}));
    char *p[5];
    for (int i = 1; i < 5; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "in%d", i);
        p[i] = ld(em_in(e, (size_t)i)->dtype, nm, per_elem ? cj.s : "c");
    }
    if (per_elem) {
        /* parameters per (channel, position) */
        em_for(e, "b", N);
        em_for(e, "c", C);
        row_ptrs(e, t, bc.s, t, bc.s);
        em_for(e, "j", S);
        char *v = hd_xasprintf("(%s - %s) * (%s / sqrt%s(%s + (%s)%s)) + %s", xs, p[3], p[1], m, p[4], ct,
                               em_f64(eps).s, p[2]);
        st(e, t, "y", "j", v);
        free(v);
        em_close(e);
        em_close(e);
        em_close(e);
    } else if (!bp.training) {
        em_for(e, "c", C);
        em_line(e, "%s a = %s / sqrt%s(%s + (%s)%s);", ct, p[1], m, p[4], ct, em_f64(eps).s);
        em_line(e, "%s mu = %s, bb = %s;", ct, p[3], p[2]);
        em_for(e, "b", N);
        row_ptrs(e, t, bc.s, t, bc.s);
        em_for(e, "j", S);
        bn_store_normalised(e, t, xs);
        em_close(e);
        em_close(e);
        em_close(e);
    } else {
        const ir_value *rm = em_out(e, 1), *rv = em_out(e, 2);
        em_for(e, "c", C);
        em_line(e, "%s s = 0, q = 0;", ct);
        em_for(e, "b", N);
        row_ptrs(e, t, bc.s, t, NULL);
        char *args = hd_xasprintf("x, %" PRId64 ", 0", S);
        emit_rowsum(e, t == HODU_DTYPE_F32, ct, "sb", S, xs, "sum", args);
        free(args);
        em_line(e, "s += sb;");
        em_close(e);
        em_line(e, "%s mu = s / (%s)%" PRId64 ";", ct, ct, N * S);
        em_for(e, "b", N);
        row_ptrs(e, t, bc.s, t, NULL);
        char *sq = hd_xasprintf("(%s - mu) * (%s - mu)", xs, xs);
        args = hd_xasprintf("x, %" PRId64 ", mu", S);
        emit_rowsum(e, t == HODU_DTYPE_F32, ct, "qb", S, sq, "sumsqd", args);
        free(args);
        free(sq);
        em_line(e, "q += qb;");
        em_close(e);
        em_line(e, "%s var = q / (%s)%" PRId64 ";", ct, ct, N * S);
        em_line(e, "%s a = %s / sqrt%s(var + (%s)%s), bb = %s;", ct, p[1], m, ct, em_f64(eps).s, p[2]);
        em_for(e, "b", N);
        row_ptrs(e, t, bc.s, t, bc.s);
        em_for(e, "j", S);
        char *v = hd_xasprintf("(%s - mu) * a + bb", xs);
        st(e, t, "y", "j", v);
        free(v);
        em_close(e);
        em_close(e);
        if (rm) {
            char *r = hd_xasprintf("%s * (%s)%s + mu * (%s)%s", p[3], ct, em_f64(mom).s, ct, em_f64(1.0 - mom).s);
            st(e, rm->dtype, "out1", "c", r);
            free(r);
        }
        if (rv) {
            char *r = hd_xasprintf("%s * (%s)%s + var * (%s)%s", p[4], ct, em_f64(mom).s, ct, em_f64(1.0 - mom).s);
            st(e, rv->dtype, "out2", "c", r);
            free(r);
        }
        em_close(e);
    }
    for (int i = 1; i < 5; i++)
        free(p[i]);
    free(xs);
    return true;
}

static bool emit_groupish(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_groupnorm_plan gp;
    if (!reduce_groupnorm_plan_of(e->g, e->node, &gp))
        return false;
    int64_t N = gp.n, C = gp.c, S = gp.spatial;
    int64_t G = gp.groups;
    int64_t CG = gp.group_c, D = gp.len;
    if (N * C * S == 0)
        return true;
    double eps = gp.epsilon;
    const char *ct = fct(t), *m = mf(t);
    char *xj = ld(t, "x", "j");
    bool pc_s = gp.scale_per_channel, pc_b = gp.bias_per_channel;
    const em_expr ci = em_index(0, EM_TERMS({"g", CG}, {"cc", 1}));
    char *sv = ld(em_in(e, 1)->dtype, "in1", pc_s ? ci.s : "g");
    char *bv = ld(em_in(e, 2)->dtype, "in2", pc_b ? ci.s : "g");
    em_for(e, "b", N);
    em_for(e, "g", G);
    em_expr bg = em_index(0, EM_TERMS({"b", G * D}, {"g", D}));
    row_ptrs(e, t, bg.s, t, bg.s);
    bool vec = t == HODU_DTYPE_F32;
    char *args = hd_xasprintf("x, %" PRId64 ", 0", D);
    emit_rowsum(e, vec, ct, "s", D, xj, "sum", args);
    free(args);
    em_line(e, "%s mean = s / (%s)%" PRId64 ";", ct, ct, D);
    char *sq = hd_xasprintf("(%s - mean) * (%s - mean)", xj, xj);
    args = hd_xasprintf("x, %" PRId64 ", mean", D);
    emit_rowsum(e, vec, ct, "q", D, sq, "sumsqd", args);
    free(args);
    free(sq);
    em_line(e, "%s inv = (%s)1 / sqrt%s(q / (%s)%" PRId64 " + (%s)%s);", ct, ct, m, ct, D, ct, em_f64(eps).s);
    em_for(e, "cc", CG);
    em_line(e, "%s a = inv * %s, bb = %s;", ct, sv, bv);
    char *ji = hd_xstrdup(em_index(0, EM_TERMS({"cc", S}, {"s_", 1})).s);
    char *xv = ld(t, "x", ji);
    char *v = hd_xasprintf("(%s - mean) * a + bb", xv);
    em_line(e, "for (int64_t s_ = 0; s_ < %" PRId64 "; s_++) {", S);
    e->indent++;
    st(e, t, "y", ji, v);
    e->indent--;
    em_line(e, "}");
    em_close(e);
    em_close(e);
    em_close(e);
    free(ji);
    free(xv);
    free(v);
    free(sv);
    free(bv);
    free(xj);
    return true;
}

static bool emit_lpnorm(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_lpnorm_plan lp;
    if (!reduce_lpnorm_plan_of(e->g, e->node, &lp))
        return false;
    bool l1 = lp.l1;
    int64_t O = lp.v.outer, A = lp.v.len, I = lp.v.inner;
    if (O * A * I == 0)
        return true;
    const char *ct = fct(t), *m = mf(t);
    char *ix = hd_xstrdup(em_index(0, EM_TERMS({"j", I})).s);
    char *xj = ld(t, "x", ix);
    emit_axis_rows(e, t, O, A, I);
    char *term = l1 ? hd_xasprintf("fabs%s(%s)", m, xj) : hd_xasprintf("%s * %s", xj, xj);
    char *args = hd_xasprintf("x, %" PRId64 ", 0", A);
    emit_rowsum(e, t == HODU_DTYPE_F32 && I == 1, ct, "s", A, term, l1 ? "sumabs" : "sumsq", args);
    free(args);
    free(term);
    if (!l1)
        em_line(e, "s = sqrt%s(s);", m);
    char *v = hd_xasprintf("s == 0 ? 0 : %s / s", xj);
    em_for(e, "j", A);
    st(e, t, "y", ix, v);
    em_close(e);
    free(v);
    if (I > 1)
        em_close(e);
    em_close(e);
    free(ix);
    free(xj);
    return true;
}

static bool emit_mvn(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_mvn_plan mp;
    if (!reduce_mvn_plan_of(e->g, e->node, &mp))
        return false;
    const reduce_view p = mp.view;
    if (p.out_numel * p.red_numel == 0)
        return true;
    const char *ct = fct(t), *m = mf(t);
    char *xo = nest_off("o", &p.outer, false);
    char *ro = nest_off("r", &p.red, false);
    char *v = ld(t, "x", ro);
    nest_open(e, "o", &p.outer);
    row_ptrs(e, t, xo, t, xo);
    em_line(e, "%s s = 0;", ct);
    nest_open(e, "r", &p.red);
    em_line(e, "s += %s;", v);
    nest_close(e, &p.red);
    em_line(e, "%s mean = s / (%s)%" PRId64 ";", ct, ct, p.red_numel);
    em_line(e, "%s q = 0;", ct);
    nest_open(e, "r", &p.red);
    em_line(e, "%s dv = %s - mean;", ct, v);
    em_line(e, "q += dv * dv;");
    nest_close(e, &p.red);
    em_line(e, "%s r = (%s)1 / (sqrt%s(q / (%s)%" PRId64 ") + (%s)1e-9);", ct, ct, m, ct, p.red_numel, ct);
    nest_open(e, "r", &p.red);
    char *w = hd_xasprintf("(%s - mean) * r", v);
    st(e, t, "y", ro, w);
    free(w);
    nest_close(e, &p.red);
    nest_close(e, &p.outer);
    free(xo);
    free(ro);
    free(v);
    return true;
}

/* ======================================================================== */
/* Losses                                                                    */
/* ======================================================================== */

static bool emit_loss(op_emit *e)
{
    reduce_loss_plan lsp;
    if (!reduce_loss_plan_of(e->g, e->node, &lsp))
        return false;
    bool sce = lsp.softmax;
    const ir_value *x = em_in(e, 0), *w = em_in(e, 2), *lp = sce ? em_out(e, 1) : NULL;
    hodu_dtype t = x->dtype;
    int64_t N = lsp.n, C = lsp.classes, D = lsp.spatial;
    bool none = lsp.reduction == RED_LOSS_NONE, mean = lsp.reduction == RED_LOSS_MEAN;
    const char *ct = fct(t), *m = mf(t);
    if (!none) {
        em_line(e, "double tot = 0, wsum = 0;");
    }
    if (N * D > 0 && C > 0) {
        em_for(e, "b", N);
        em_for(e, "j", D);
        em_expr bj = em_index(0, EM_TERMS({"b", C * D}, {"j", 1}));
        row_ptrs(e, t, bj.s, t, NULL);
        const em_expr cd = em_index(0, EM_TERMS({"c", D}));
        const char *cidx = cd.s;
        char *xc = ld(t, "x", cidx);
        if (sce) {
            em_line(e, "%s mx = -INFINITY;", ct);
            em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) { %s v = %s; mx = v > mx ? v : mx; }", C, ct, xc);
            em_line(e, "%s s = 0;", ct);
            em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) s += exp%s(%s - mx);", C, m, xc);
            if (lp) {
                em_line(e, "%s *lp = %s;", em_ctype(t), em_at("out1", bj.s).s);
                char *v = hd_xasprintf("(%s - mx) - log%s(s)", xc, m);
                em_for(e, "c", C);
                st(e, t, "lp", cidx, v);
                em_close(e);
                free(v);
            }
        }
        em_expr yj = em_index(0, EM_TERMS({"b", D}, {"j", 1}));
        em_line(e, "int64_t c = (int64_t)in1[%s];", yj.s);
        hd_buf skip;
        hd_buf_init(&skip);
        if (lsp.has_ignore)
            hd_buf_printf(&skip, "c == (int64_t)%" PRId64 " || ", lsp.ignore_index);
        hd_buf_printf(&skip, "c < 0 || c >= %" PRId64, C);
        if (none) {
            char *z = em_store(t, "0");
            em_line(e, "if (%s) { out0[%s] = %s; continue; }", skip.data, yj.s, z);
            free(z);
        } else {
            em_line(e, "if (%s) continue;", skip.data);
        }
        hd_buf_free(&skip);
        char *wv = w ? ld(w->dtype, "in2", "c") : hd_xstrdup("1");
        em_line(e, "%s wt = %s;", ct, wv);
        free(wv);
        if (sce)
            em_line(e, "%s l = -((%s - mx) - log%s(s)) * wt;", ct, xc, m);
        else
            em_line(e, "%s l = -(%s) * wt;", ct, xc);
        free(xc);
        if (none) {
            char *s = em_store(t, "l");
            em_line(e, "out0[%s] = %s;", yj.s, s);
            free(s);
        } else {
            em_line(e, "tot += (double)l;");
            em_line(e, "wsum += (double)wt;");
        }
        em_close(e);
        em_close(e);
    }
    if (!none) {
        char *v = hd_xasprintf("(%s)(%s)", ct, mean ? "tot / wsum" : "tot");
        st(e, t, "out0", "0", v);
        free(v);
    }
    return true;
}

/* ======================================================================== */
/* Registration                                                              */
/* ======================================================================== */

/* The general path (ir_node.rt_general): inference-mode BatchNormalization
 * over X [N, C, D...] whose dims other than C are read when the model
 * runs; a task per (image, channel) plane. */
static bool emit_batchnorm_rt(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    reduce_batchnorm_plan bp;
    if (!reduce_batchnorm_plan_of(e->g, e->node, &bp))
        return false;
    if (bp.training || bp.per_elem || x->rank < 2 || x->dims[1].rt) {
        ir_node_error(e->d, e->g, e->node,
                      "BatchNormalization over run-time dims takes inference mode with per-channel parameters only");
        return false;
    }
    const char *ct = fct(t), *m = mf(t);
    hd_buf plane;
    hd_buf_init(&plane);
    hd_buf_puts(&plane, "(1");
    for (int i = 2; i < x->rank; i++)
        hd_buf_printf(&plane, " * %s", em_dim(e->g, x, i).s);
    hd_buf_puts(&plane, ")");
    char *count = hd_xasprintf("%s * INT64_C(%" PRId64 ")", em_dim(e->g, x, 0).s, bp.c);
    em_par_for_rt(e, "nc", count, bp.n * bp.c, bp.spatial);
    free(count);
    em_line(e, "const int64_t S = %s, c = nc %% %" PRId64 ";", plane.data, bp.c);
    hd_buf_free(&plane);
    char *p[5];
    for (int i = 1; i < 5; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "in%d", i);
        p[i] = ld(em_in(e, (size_t)i)->dtype, nm, "c");
    }
    em_line(e, "const %s a = %s / sqrt%s(%s + (%s)%s);", ct, p[1], m, p[4], ct, em_f64(bp.epsilon).s);
    em_line(e, "const %s mu = %s, bb = %s;", ct, p[3], p[2]);
    for (int i = 1; i < 5; i++)
        free(p[i]);
    row_ptrs(e, t, "nc * S", t, "nc * S");
    em_line(e, "for (int64_t j = 0; j < S; j++) {");
    e->indent++;
    char *xs = ld(t, "x", "j");
    bn_store_normalised(e, t, xs);
    free(xs);
    em_close(e);
    em_close(e);
    return true;
}

void native_register_reduce(native_lowering *table)
{
    static const int reductions[] = {OP_REDUCE_SUM,         OP_REDUCE_MEAN,      OP_REDUCE_MAX, OP_REDUCE_MIN,
                                     OP_REDUCE_PROD,        OP_REDUCE_L1,        OP_REDUCE_L2,  OP_REDUCE_LOG_SUM,
                                     OP_REDUCE_LOG_SUM_EXP, OP_REDUCE_SUM_SQUARE};
    for (size_t i = 0; i < HD_ARRAY_LEN(reductions); i++)
        table[reductions[i]] =
            (native_lowering){.emit = emit_reduce, .scratch = scratch_reduce, .emit_rt = emit_reduce_rt};
    table[OP_ARG_MAX] = (native_lowering){.emit = emit_arg};
    table[OP_ARG_MIN] = (native_lowering){.emit = emit_arg};
    table[OP_CUM_SUM] = (native_lowering){.emit = emit_cum};
    table[OP_CUM_PROD] = (native_lowering){.emit = emit_cum};
    table[OP_TOP_K] = (native_lowering){.emit = emit_topk, .emit_rt = emit_topk};
    table[OP_SOFTMAX] = (native_lowering){.emit = emit_softmax, .scratch = scratch_softmax, .emit_rt = emit_softmax_rt};
    table[OP_LOG_SOFTMAX] =
        (native_lowering){.emit = emit_softmax, .scratch = scratch_softmax, .emit_rt = emit_softmax_rt};
    table[OP_HARDMAX] = (native_lowering){.emit = emit_softmax, .scratch = scratch_softmax};
    table[OP_LAYER_NORMALIZATION] = (native_lowering){.emit = emit_norm_lastdims, .scratch = scratch_norm_lastdims};
    table[OP_RMS_NORMALIZATION] = (native_lowering){.emit = emit_norm_lastdims, .scratch = scratch_norm_lastdims};
    table[OP_BATCH_NORMALIZATION] = (native_lowering){.emit = emit_batchnorm, .emit_rt = emit_batchnorm_rt};
    table[OP_INSTANCE_NORMALIZATION] = (native_lowering){.emit = emit_groupish};
    table[OP_GROUP_NORMALIZATION] = (native_lowering){.emit = emit_groupish};
    table[OP_LP_NORMALIZATION] = (native_lowering){.emit = emit_lpnorm};
    table[OP_MEAN_VARIANCE_NORMALIZATION] = (native_lowering){.emit = emit_mvn};
    table[OP_NEGATIVE_LOG_LIKELIHOOD_LOSS] = (native_lowering){.emit = emit_loss};
    table[OP_SOFTMAX_CROSS_ENTROPY_LOSS] = (native_lowering){.emit = emit_loss};
}
