/*
 * ops/reduce.c - reductions and the ops built on them:
 *
 *   Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare},
 *   ArgMax, ArgMin, CumSum, CumProd, TopK,
 *   Softmax, LogSoftmax, Hardmax,
 *   LayerNormalization, RMSNormalization, BatchNormalization,
 *   InstanceNormalization, GroupNormalization, LpNormalization,
 *   MeanVarianceNormalization,
 *   NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
 *
 * Every emitter works on a canonical view of its input: size-1 dims are
 * dropped and neighbouring dims that play the same role (reduced / kept) are
 * merged, so a reduction over any axes becomes a few nested loops with
 * literal strides.  When the innermost dims are kept, the kernel walks the
 * reduced dims outside and accumulates whole contiguous rows, so the inner
 * loop is unit-stride either way.
 *
 * Arithmetic: f32/f16/bf16 accumulate in float, f64 in double, integers in
 * 64 bits (signed sums and products wrap).  Softmax-like ops subtract the
 * maximum first.  Row statistics over contiguous float rows (sum, sum of
 * squares, max, ...) go through small helpers written with the kernel
 * layer's vector type (hd_rd_*, emitted once per model.c), and exp through
 * hd_vexp_f32: the compiler's own vectorisation of such reductions depends
 * too much on -O and -march.  f16/bf16 rows are widened into float scratch.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"

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
static bool is_single(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Suffix for <math.h> functions in t's compute type ("expf" vs "exp"). */
static const char *mf(hodu_dtype t) { return is_single(t) ? "f" : ""; }

/* Floating compute type for float math on t (integers go through double). */
static const char *fct(hodu_dtype t) { return is_single(t) ? "float" : "double"; }

static bool is_numeric(hodu_dtype t) { return ir_dtype_is_float(t) || ir_dtype_is_int(t); }

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

static int64_t prod_dims(const int64_t *d, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= d[i];
    return p;
}

/* Fails unless numel(v) fits comfortably in int64 (shapes are checked once
 * here so the emitters' index arithmetic cannot overflow). */
static bool check_size(op_ctx *c, const ir_value *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        int64_t d = v->dims[i].size;
        if (d < 0)
            return op_fail(c, "input '%s' has no static shape", v->name);
        if (d && n > ((int64_t)1 << 48) / d)
            return op_fail(c, "input '%s' is too large", v->name);
        n *= d;
    }
    return true;
}

/* A nest of loops: loop k runs var <pfx>k over size[k]; stride[k] is its
 * step in the input, ostride[k] in the output (in elements). */
typedef struct loopnest {
    int n;
    int64_t size[HODU_MAX_RANK];
    int64_t stride[HODU_MAX_RANK];
    int64_t ostride[HODU_MAX_RANK];
} loopnest;

static void nest_open(op_emit *e, const char *pfx, const loopnest *l)
{
    for (int k = 0; k < l->n; k++) {
        char v[24];
        snprintf(v, sizeof(v), "%s%d", pfx, k);
        em_for(e, v, l->size[k]);
    }
}

static void nest_close(op_emit *e, const loopnest *l)
{
    for (int k = 0; k < l->n; k++)
        em_close(e);
}

/* Offset expression "a0 * 12 + a1" of a nest (input strides, or output
 * strides when `out`); "0" for an empty nest. */
static char *nest_off(const char *pfx, const loopnest *l, bool out)
{
    hd_buf b;
    hd_buf_init(&b);
    for (int k = 0; k < l->n; k++) {
        int64_t s = out ? l->ostride[k] : l->stride[k];
        if (b.len)
            hd_buf_puts(&b, " + ");
        if (s == 1)
            hd_buf_printf(&b, "%s%d", pfx, k);
        else
            hd_buf_printf(&b, "%s%d * %" PRId64, pfx, k, s);
    }
    if (!b.len)
        hd_buf_puts(&b, "0");
    return hd_buf_take(&b);
}

/* Canonical view of a reduction: `outer` enumerates the kept dims (except a
 * trailing kept block when `inner` > 1), `red` the reduced dims; `inner` is
 * the size of the trailing contiguous kept block (1 when there is none or
 * the caller asked for scalar mode). */
typedef struct rplan {
    loopnest outer, red;
    int64_t inner;
    int64_t out_numel, red_numel;
} rplan;

static void rplan_build(const int64_t *dims, int rank, const bool *mask, bool want_inner, rplan *p)
{
    memset(p, 0, sizeof(*p));
    int64_t gsize[HODU_MAX_RANK], gstride[HODU_MAX_RANK];
    bool gred[HODU_MAX_RANK];
    int ng = 0;
    int64_t stride = 1;
    int64_t strides[HODU_MAX_RANK];
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= dims[i];
    }
    p->out_numel = 1;
    p->red_numel = 1;
    for (int i = 0; i < rank; i++) {
        if (mask[i])
            p->red_numel *= dims[i];
        else
            p->out_numel *= dims[i];
        if (dims[i] == 1)
            continue;
        if (ng > 0 && gred[ng - 1] == mask[i]) {
            gsize[ng - 1] *= dims[i];
            gstride[ng - 1] = strides[i];
        } else {
            gsize[ng] = dims[i];
            gstride[ng] = strides[i];
            gred[ng] = mask[i];
            ng++;
        }
    }
    p->inner = 1;
    if (want_inner && ng > 0 && !gred[ng - 1]) {
        p->inner = gsize[ng - 1];
        ng--;
    }
    for (int k = 0; k < ng; k++) {
        loopnest *l = gred[k] ? &p->red : &p->outer;
        l->size[l->n] = gsize[k];
        l->stride[l->n] = gstride[k];
        l->n++;
    }
    /* output strides: the kept dims are the output's dims, row-major */
    int64_t os = p->inner;
    for (int k = p->outer.n - 1; k >= 0; k--) {
        p->outer.ostride[k] = os;
        os *= p->outer.size[k];
    }
}

/* The [outer][axis][inner] view used by single-axis ops. */
static void axis_view(const ir_value *v, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    int64_t d[HODU_MAX_RANK];
    em_dims(v, d);
    *outer = prod_dims(d, 0, axis);
    *len = v->rank ? d[axis] : 1;
    *inner = prod_dims(d, axis + 1, v->rank);
}

/* Row statistics over contiguous float arrays, written with the kernel
 * layer's vector type (hd_vf, HD_VF lanes: SSE, AVX, AVX-512, NEON or plain
 * float), so that the same code vectorises under any -O level and -march.
 * Emitted once per model.c (guarded); four accumulators per pass.  The sums
 * take (x, n, c); only hd_rd_sumsqd reads c (the centre).  max/min
 * propagate NaN. */
static const char rd_helpers[] =
    "#ifndef HD_RD_HELPERS\n"
    "#define HD_RD_HELPERS\n"
    "static inline float hd_rd_hsum(hd_vf v) {\n"
    "    float b[HD_VF], s = 0;\n"
    "    memcpy(b, &v, sizeof b);\n"
    "    for (int k = 0; k < HD_VF; k++) s += b[k];\n"
    "    return s;\n"
    "}\n"
    "#define HD_RD_SUMLOOP(name, TERM, STERM)                                               \\\n"
    "    static inline float name(const float *x, int64_t n, float c) {                      \\\n"
    "        hd_vf a0 = hd_vf_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, v;                       \\\n"
    "        int64_t i = 0;                                                                    \\\n"
    "        for (; i + 4 * HD_VF <= n; i += 4 * HD_VF) {                                      \\\n"
    "            v = hd_vf_load(x + i); a0 += TERM;                                            \\\n"
    "            v = hd_vf_load(x + i + HD_VF); a1 += TERM;                                    \\\n"
    "            v = hd_vf_load(x + i + 2 * HD_VF); a2 += TERM;                                \\\n"
    "            v = hd_vf_load(x + i + 3 * HD_VF); a3 += TERM;                                \\\n"
    "        }                                                                                 \\\n"
    "        for (; i + HD_VF <= n; i += HD_VF) { v = hd_vf_load(x + i); a0 += TERM; }          \\\n"
    "        float s = hd_rd_hsum((a0 + a1) + (a2 + a3)), e;                                    \\\n"
    "        for (; i < n; i++) { e = x[i]; s += STERM; }                                      \\\n"
    "        return s;                                                                         \\\n"
    "    }\n"
    "HD_RD_SUMLOOP(hd_rd_sum, v, e)\n"
    "HD_RD_SUMLOOP(hd_rd_sumsq, v * v, e * e)\n"
    "HD_RD_SUMLOOP(hd_rd_sumabs, hd_vf_abs(v), fabsf(e))\n"
    "HD_RD_SUMLOOP(hd_rd_sumsqd, (v - hd_vf_splat(c)) * (v - hd_vf_splat(c)), (e - c) * (e - c))\n"
    "/* max (gt != 0) or min over x[0..n), n >= 1; NaN wins */\n"
    "static inline float hd_rd_ext(const float *x, int64_t n, int gt) {\n"
    "    float s = x[0];\n"
    "    int64_t nv = n - n % HD_VF;\n"
    "    if (nv > 0) {\n"
    "        hd_vf a = hd_vf_load(x);\n"
    "        for (int64_t i = HD_VF; i < nv; i += HD_VF) {\n"
    "            hd_vf v = hd_vf_load(x + i);\n"
    "            hd_vu m = (gt ? hd_vf_lt(a, v) : hd_vf_lt(v, a)) | hd_vf_isnan(v);\n"
    "            a = hd_vf_sel(m, v, a);\n"
    "        }\n"
    "        float b[HD_VF];\n"
    "        memcpy(b, &a, sizeof b);\n"
    "        s = b[0];\n"
    "        for (int k = 1; k < HD_VF; k++)\n"
    "            if ((gt ? b[k] > s : b[k] < s) || b[k] != b[k]) s = b[k];\n"
    "    }\n"
    "    for (int64_t i = nv; i < n; i++)\n"
    "        if ((gt ? x[i] > s : x[i] < s) || x[i] != x[i]) s = x[i];\n"
    "    return s;\n"
    "}\n"
    "#endif\n";

static void need_rd(op_emit *e) { hd_buf_puts(e->decls, rd_helpers); }

/* `<ct> var = <sum over j of expr>`, through hd_rd_<fn>(args) when `vec`
 * (the row is a contiguous float array). */
static void emit_sum(op_emit *e, const char *at, const char *var, int64_t n, const char *expr);

static void emit_rowsum(op_emit *e, bool vec, const char *ct, const char *var, int64_t n, const char *expr,
                        const char *fn, const char *args)
{
    if (vec) {
        need_rd(e);
        em_line(e, "float %s = hd_rd_%s(%s);", var, fn, args);
    } else {
        emit_sum(e, ct, var, n, expr);
    }
}

/* ======================================================================== */
/* Reduce*                                                                   */
/* ======================================================================== */
/*
 * All ten reductions share one schema: `axes` as an attribute (every opset
 * up to 12 for ReduceSum, 17 for the others) or as an optional second input
 * (ReduceSum from 13, the rest from 18; accepted at any opset), `keepdims`
 * (default 1), and `noop_with_empty_axes` (with no axes: 0 reduces over
 * everything, 1 makes the op an identity).  Reducing over an empty set gives
 * the identity of the reduction (0 for sums, 1 for products, -inf/+inf for
 * max/min, log(0) = -inf for the log forms).
 */

typedef enum rkind { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ } rkind;

static rkind rkind_of(const ir_node *n)
{
    switch (n->op) {
    case OP_REDUCE_MEAN: return R_MEAN;
    case OP_REDUCE_MAX: return R_MAX;
    case OP_REDUCE_MIN: return R_MIN;
    case OP_REDUCE_PROD: return R_PROD;
    case OP_REDUCE_L1: return R_L1;
    case OP_REDUCE_L2: return R_L2;
    case OP_REDUCE_LOG_SUM: return R_LOGSUM;
    case OP_REDUCE_LOG_SUM_EXP: return R_LOGSUMEXP;
    case OP_REDUCE_SUM_SQUARE: return R_SUMSQ;
    default: return R_SUM;
    }
}

static const op_attr_spec reduce_attrs[] = {
    {"axes", IR_ATTR_INTS}, {"keepdims", IR_ATTR_INT}, {"noop_with_empty_axes", IR_ATTR_INT}, {NULL, 0}};

#define MAX_AXES 64

/* Works out which axes a Reduce node reduces.  Returns 1 when the node is an
 * identity (empty axes with noop_with_empty_axes), 0 otherwise, -1 on a bad
 * axes value (then *err names the problem; the caller frees it). */
static int reduce_mask(const ir_graph *g, const ir_node *n, int rank, bool *mask, char **err)
{
    int64_t axes[MAX_AXES];
    long na = 0;
    *err = NULL;
    if (n->n_inputs > 1 && n->inputs[1] >= 0) {
        na = ir_const_as_i64(g, n->inputs[1], axes, MAX_AXES);
        if (na < 0) {
            *err = hd_xasprintf("axes must be a constant integer tensor of at most %d elements", MAX_AXES);
            return -1;
        }
    } else {
        size_t cnt = 0;
        const int64_t *a = ir_attr_ints(n, "axes", &cnt);
        if (a) {
            if (cnt > MAX_AXES) {
                *err = hd_xasprintf("attribute 'axes' has %zu entries", cnt);
                return -1;
            }
            memcpy(axes, a, cnt * sizeof(int64_t));
            na = (long)cnt;
        }
    }
    for (int i = 0; i < rank; i++)
        mask[i] = false;
    if (na == 0) {
        if (ir_attr_int(n, "noop_with_empty_axes", 0) != 0)
            return 1;
        for (int i = 0; i < rank; i++)
            mask[i] = true;
        return 0;
    }
    for (long k = 0; k < na; k++) {
        int64_t a = axes[k];
        if (a < -(int64_t)rank || a >= (int64_t)rank) {
            if (rank == 0 && (a == 0 || a == -1))
                continue;
            *err = hd_xasprintf("axis %" PRId64 " is out of range for rank %d", a, rank);
            return -1;
        }
        mask[a < 0 ? a + rank : a] = true;
    }
    return 0;
}

static bool infer_reduce(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    rkind k = rkind_of(n);
    bool ok_type = is_numeric(in->dtype) || ((k == R_MAX || k == R_MIN) && in->dtype == HODU_DTYPE_BOOL);
    if (!ok_type)
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (op_in_id(c, 1) >= 0) {
        int64_t tmp[MAX_AXES];
        if (op_need_const_i64(c, 1, tmp, MAX_AXES, "axes") < 0)
            return false;
    }
    bool mask[HODU_MAX_RANK];
    char *err = NULL;
    int r = reduce_mask(c->g, n, in->rank, mask, &err);
    if (r < 0) {
        op_fail(c, "%s", err);
        free(err);
        return false;
    }
    if (r == 1) {
        op_set_out_like(c, 0, in);
        return true;
    }
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    int64_t dims[HODU_MAX_RANK];
    int orank = 0;
    for (int i = 0; i < in->rank; i++) {
        if (!mask[i])
            dims[orank++] = in->dims[i].size;
        else if (keep)
            dims[orank++] = 1;
    }
    op_set_out(c, 0, in->dtype, orank, dims);
    return true;
}

/* Per-element map, combine step, identity and final step of a reduction,
 * as C text over the accumulator type. */
static char *r_map(rkind k, hodu_dtype t, const char *v)
{
    switch (k) {
    case R_L1:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("fabs%s(%s)", mf(t), v);
        if (ir_dtype_is_signed(t))
            return hd_xasprintf("(%s < 0 ? -%s : %s)", v, v, v);
        return hd_xstrdup(v);
    case R_L2:
    case R_SUMSQ: return hd_xasprintf("%s * %s", v, v);
    default: return hd_xstrdup(v);
    }
}

static char *r_combine(rkind k, hodu_dtype t, const char *a, const char *m)
{
    switch (k) {
    case R_PROD: return hd_xasprintf("%s * %s", a, m);
    case R_MAX:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("(%s > %s || %s != %s) ? %s : %s", m, a, m, m, m, a);
        return hd_xasprintf("%s > %s ? %s : %s", m, a, m, a);
    case R_MIN:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("(%s < %s || %s != %s) ? %s : %s", m, a, m, m, m, a);
        return hd_xasprintf("%s < %s ? %s : %s", m, a, m, a);
    default: return hd_xasprintf("%s + %s", a, m);
    }
}

static const char *r_identity(rkind k, hodu_dtype t)
{
    switch (k) {
    case R_PROD: return "1";
    case R_MAX: return ir_dtype_is_float(t) ? "-INFINITY" : int_min_lit(t);
    case R_MIN: return ir_dtype_is_float(t) ? "INFINITY" : int_max_lit(t);
    default: return "0";
    }
}

/* Final value from the accumulator `a`; count is the number of elements
 * reduced (used by the mean). */
static char *r_final(rkind k, hodu_dtype t, const char *a, int64_t count)
{
    switch (k) {
    case R_MEAN:
        if (ir_dtype_is_float(t))
            return hd_xasprintf("%s / (%s)%" PRId64, a, acc_ctype(t), count);
        if (count == 0)
            return hd_xstrdup("0");
        return hd_xasprintf("%s / (%s)%" PRId64, a, acc_ctype(t), count);
    case R_L2: return hd_xasprintf("sqrt%s((%s)%s)", mf(t), fct(t), a);
    case R_LOGSUM: return hd_xasprintf("log%s((%s)%s)", mf(t), fct(t), a);
    default: return hd_xstrdup(a);
    }
}

/* Scratch: an accumulator row when the innermost dims are kept and the
 * output's storage type differs from the accumulator type. */
static bool reduce_plan_of(const ir_graph *g, int node, rplan *p, bool *identity)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    bool mask[HODU_MAX_RANK];
    char *err = NULL;
    int r = reduce_mask(g, n, in->rank, mask, &err);
    free(err);
    if (r < 0)
        return false;
    *identity = r == 1;
    int64_t d[HODU_MAX_RANK];
    em_dims(in, d);
    rplan_build(d, in->rank, mask, rkind_of(n) != R_LOGSUMEXP, p);
    return true;
}

/* Accumulator type of a reduction.  Signed integer sums and products run in
 * uint64_t, so overflow wraps (as two's complement) instead of being
 * undefined; the low bits are the same. */
static const char *r_acc_ctype(rkind k, hodu_dtype t)
{
    if (ir_dtype_is_signed(t) && (k == R_SUM || k == R_PROD || k == R_SUMSQ))
        return "uint64_t";
    return acc_ctype(t);
}

static bool reduce_acc_is_out(rkind k, hodu_dtype t)
{
    return strcmp(r_acc_ctype(k, t), em_ctype(t)) == 0;
}

static uint64_t scratch_reduce(const ir_graph *g, int node)
{
    rplan p;
    bool identity;
    if (!reduce_plan_of(g, node, &p, &identity) || identity)
        return 0;
    const ir_value *in = ir_val(g, ir_nd(g, node)->inputs[0]);
    if (p.inner <= 1 || p.out_numel == 0 || p.red_numel == 0 ||
        reduce_acc_is_out(rkind_of(ir_nd(g, node)), in->dtype))
        return 0;
    return (uint64_t)p.inner * 8;
}

static bool emit_reduce(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = in->dtype;
    rkind k = rkind_of(n);
    rplan p;
    bool identity;
    if (!reduce_plan_of(e->g, e->node, &p, &identity))
        return false;
    size_t nbytes = ir_value_nbytes(out);
    if (n->n_inputs > 1 && n->inputs[1] >= 0)
        em_line(e, "(void)in1; /* axes: a build-time constant */");
    if (identity) {
        if (nbytes)
            em_line(e, "memcpy(out0, in0, %zu);", nbytes);
        return true;
    }
    if (p.out_numel == 0)
        return true;
    const char *at = r_acc_ctype(k, t);
    if (k == R_LOGSUMEXP)
        at = fct(t);
    if (p.red_numel == 0) {
        /* Empty reduction: every output is the identity, finalised. */
        char *v;
        if (k == R_LOGSUMEXP)
            v = hd_xstrdup("-INFINITY");
        else if (k == R_MEAN && ir_dtype_is_float(t))
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
    nest_open(e, "o", &p.outer);
    em_line(e, "const %s *x = in0 + %s;", em_ctype(t), xo);
    em_line(e, "%s *y = out0 + %s;", em_ctype(out->dtype), yo);
    if (k == R_LOGSUMEXP) {
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
            case R_SUM:
            case R_MEAN:
            case R_LOGSUM: helper = "hd_rd_sum(x, %" PRId64 ", 0)"; break;
            case R_L2:
            case R_SUMSQ: helper = "hd_rd_sumsq(x, %" PRId64 ", 0)"; break;
            case R_L1: helper = "hd_rd_sumabs(x, %" PRId64 ", 0)"; break;
            case R_MAX: helper = "hd_rd_ext(x, %" PRId64 ", 1)"; break;
            case R_MIN: helper = "hd_rd_ext(x, %" PRId64 ", 0)"; break;
            default: break;
            }
        }
        char *fin = r_final(k, t, "a", p.red_numel);
        if (helper) {
            need_rd(e);
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
                em_line(e, "for (int64_t r = %" PRId64 "; r < %" PRId64 "; r++) { %s v = %s; a = %s; }", R / 8 * 8,
                        R, at, v2, cmb3);
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
    } else {
        bool direct = reduce_acc_is_out(k, t);
        if (direct)
            em_line(e, "%s *a = y;", at);
        else
            em_line(e, "%s *a = (%s *)(void *)scratch;", at, at);
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) a[i] = %s;", p.inner, r_identity(k, t));
        nest_open(e, "r", &p.red);
        em_line(e, "const %s *xr = x + %s;", em_ctype(t), ro);
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

/* Host-side evaluation for small constant inputs (shape arithmetic such as
 * ReduceProd over a Shape).  Integers in int64, floats in double; results
 * match the emitted code for integers and to rounding for floats. */
static bool fold_reduce(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *in = op_in(c, 0);
    const ir_value *out = op_out(c, 0);
    rkind k = rkind_of(n);
    int64_t numel = ir_value_numel(in);
    if (numel < 0 || numel > 4096 || !(ir_dtype_is_int(in->dtype) || in->dtype == HODU_DTYPE_F32 ||
                                      in->dtype == HODU_DTYPE_F64))
        return true; /* leave it to run time */
    if (k == R_LOGSUMEXP || k == R_LOGSUM || k == R_L2)
        return true;
    bool mask[HODU_MAX_RANK];
    char *err = NULL;
    int r = reduce_mask(c->g, n, in->rank, mask, &err);
    free(err);
    if (r < 0)
        return true;
    int64_t d[HODU_MAX_RANK];
    em_dims(in, d);
    bool fl = ir_dtype_is_float(in->dtype);
    int64_t *iv = NULL;
    double *fv = NULL;
    if (fl) {
        fv = hd_xmalloc((size_t)(numel ? numel : 1) * sizeof(double));
        if (ir_const_as_f64(c->g, op_in_id(c, 0), fv, (size_t)numel) < 0) {
            free(fv);
            return true;
        }
    } else {
        iv = hd_xmalloc((size_t)(numel ? numel : 1) * sizeof(int64_t));
        if (ir_const_as_i64(c->g, op_in_id(c, 0), iv, (size_t)numel) < 0) {
            free(iv);
            return true;
        }
    }
    int64_t onumel = ir_value_numel(out);
    double *fa = hd_xcalloc((size_t)(onumel ? onumel : 1), sizeof(double));
    int64_t *ia = hd_xcalloc((size_t)(onumel ? onumel : 1), sizeof(int64_t));
    int64_t redn = 1;
    for (int i = 0; i < in->rank; i++)
        if (mask[i] || r == 1)
            redn *= r == 1 ? 1 : d[i];
    for (int64_t o = 0; o < onumel; o++) {
        switch (k) {
        case R_PROD: fa[o] = 1, ia[o] = 1; break;
        case R_MAX: fa[o] = -INFINITY, ia[o] = INT64_MIN; break;
        case R_MIN: fa[o] = INFINITY, ia[o] = INT64_MAX; break;
        default: break;
        }
    }
    for (int64_t i = 0; i < numel; i++) {
        /* output index: drop reduced coordinates */
        int64_t rem = i, o = 0, mul = 1;
        for (int ax = in->rank - 1; ax >= 0; ax--) {
            int64_t coord = d[ax] ? rem % d[ax] : 0;
            rem = d[ax] ? rem / d[ax] : 0;
            if (r == 1 || !mask[ax]) {
                o += coord * mul;
                mul *= d[ax];
            }
        }
        double fx = fl ? fv[i] : 0;
        int64_t ix = fl ? 0 : iv[i];
        switch (k) {
        case R_PROD: fa[o] *= fx, ia[o] = (int64_t)((uint64_t)ia[o] * (uint64_t)ix); break;
        case R_MAX:
            if (fx > fa[o] || fx != fx)
                fa[o] = fx;
            if (ix > ia[o])
                ia[o] = ix;
            break;
        case R_MIN:
            if (fx < fa[o] || fx != fx)
                fa[o] = fx;
            if (ix < ia[o])
                ia[o] = ix;
            break;
        case R_L1: fa[o] += fabs(fx), ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)(ix < 0 ? -ix : ix)); break;
        case R_SUMSQ: fa[o] += fx * fx, ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)ix * (uint64_t)ix); break;
        default: fa[o] += fx, ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)ix); break;
        }
    }
    if (k == R_MEAN)
        for (int64_t o = 0; o < onumel; o++) {
            fa[o] = fa[o] / (double)redn;
            ia[o] = redn ? ia[o] / redn : 0;
        }
    void *dst = op_fold_alloc(c, 0);
    for (int64_t o = 0; o < onumel; o++) {
        switch (out->dtype) {
        case HODU_DTYPE_F32: ((float *)dst)[o] = (float)fa[o]; break;
        case HODU_DTYPE_F64: ((double *)dst)[o] = fa[o]; break;
        case HODU_DTYPE_I8: ((int8_t *)dst)[o] = (int8_t)ia[o]; break;
        case HODU_DTYPE_U8: ((uint8_t *)dst)[o] = (uint8_t)ia[o]; break;
        case HODU_DTYPE_I16: ((int16_t *)dst)[o] = (int16_t)ia[o]; break;
        case HODU_DTYPE_U16: ((uint16_t *)dst)[o] = (uint16_t)ia[o]; break;
        case HODU_DTYPE_I32: ((int32_t *)dst)[o] = (int32_t)ia[o]; break;
        case HODU_DTYPE_U32: ((uint32_t *)dst)[o] = (uint32_t)ia[o]; break;
        case HODU_DTYPE_I64: ((int64_t *)dst)[o] = ia[o]; break;
        case HODU_DTYPE_U64: ((uint64_t *)dst)[o] = (uint64_t)ia[o]; break;
        default: break;
        }
    }
    free(fv);
    free(iv);
    free(fa);
    free(ia);
    return true;
}

/* ======================================================================== */
/* ArgMax, ArgMin                                                            */
/* ======================================================================== */
/* axis (default 0), keepdims (default 1), select_last_index (opset 12+,
 * default 0: the first extreme wins ties).  NaN counts as the extreme, as in
 * numpy.  Output int64. */

static const op_attr_spec arg_attrs[] = {
    {"axis", IR_ATTR_INT}, {"keepdims", IR_ATTR_INT}, {"select_last_index", IR_ATTR_INT}, {NULL, 0}};

static bool infer_arg(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar; it needs at least one axis", in->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), in->rank, &axis))
        return false;
    int64_t others = 1;
    for (int i = 0; i < in->rank; i++)
        others *= i == axis ? 1 : in->dims[i].size;
    if (in->dims[axis].size == 0 && others != 0)
        return op_fail(c, "axis %d of input '%s' is empty; there is no index to return", axis, in->name);
    bool keep = ir_attr_int(op_node(c), "keepdims", 1) != 0;
    int64_t dims[HODU_MAX_RANK];
    int r = 0;
    for (int i = 0; i < in->rank; i++) {
        if (i != axis)
            dims[r++] = in->dims[i].size;
        else if (keep)
            dims[r++] = 1;
    }
    op_set_out(c, 0, HODU_DTYPE_I64, r, dims);
    return true;
}

static bool emit_arg(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    bool is_max = n->op == OP_ARG_MAX;
    bool last = ir_attr_int(n, "select_last_index", 0) != 0;
    int64_t ax = ir_attr_int(n, "axis", 0);
    int axis = (int)(ax < 0 ? ax + in->rank : ax);
    int64_t O, A, I;
    axis_view(in, axis, &O, &A, &I);
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
    em_line(e, "const %s *x = in0 + o * %" PRId64 " + i;", em_ctype(t), A * I);
    char *v0 = ld(t, "x", "0");
    char *v = ld(t, "x", "a");
    em_line(e, "%s b = %s;", ct, v0);
    em_line(e, "int64_t best = 0;");
    em_line(e, "for (int64_t a = 1; a < %" PRId64 "; a++) {", A);
    if (I != 1) {
        free(v);
        char *idx = hd_xasprintf("a * %" PRId64, I);
        v = ld(t, "x", idx);
        free(idx);
    }
    em_line(e, "    %s v = %s;", ct, v);
    em_line(e, "    if (%s) { b = v; best = a; }", cond);
    em_line(e, "}");
    em_line(e, "out0[o * %" PRId64 " + i] = best;", I);
    em_close(e);
    em_close(e);
    free(v0);
    free(v);
    free(cond);
    return true;
}

/* ======================================================================== */
/* CumSum, CumProd                                                           */
/* ======================================================================== */
/* The axis is input 1 (a scalar, build-time constant).  exclusive=1 leaves
 * the element itself out (the first output is the identity); reverse=1 runs
 * from the end.  Integers wrap around as in two's complement. */

static const op_attr_spec cum_attrs[] = {{"exclusive", IR_ATTR_INT}, {"reverse", IR_ATTR_INT}, {NULL, 0}};

static bool cum_axis(op_ctx *c, const ir_value *in, int *axis)
{
    int64_t a[2];
    long na = op_need_const_i64(c, 1, a, 1, "axis");
    if (na < 0)
        return false;
    if (na != 1)
        return op_fail(c, "axis must hold one value");
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar", in->name);
    return op_axis(c, a[0], in->rank, axis);
}

static bool infer_cum(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    int axis;
    if (!cum_axis(c, in, &axis))
        return false;
    op_set_out_like(c, 0, in);
    return true;
}

static bool emit_cum(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    bool prod = n->op == OP_CUM_PROD;
    bool excl = ir_attr_int(n, "exclusive", 0) != 0;
    bool rev = ir_attr_int(n, "reverse", 0) != 0;
    int64_t a[2];
    if (ir_const_as_i64(e->g, n->inputs[1], a, 1) != 1)
        return false;
    int axis = (int)(a[0] < 0 ? a[0] + in->rank : a[0]);
    int64_t O, A, I;
    axis_view(in, axis, &O, &A, &I);
    em_line(e, "(void)in1; /* axis: a build-time constant */");
    if (O * A * I == 0)
        return true;
    /* Integers: add/multiply in the unsigned 64-bit type (wraps, no UB). */
    bool integer = !ir_dtype_is_float(t);
    const char *ct = integer ? "uint64_t" : em_compute_ctype(t);
    const char *op = prod ? "*" : "+";
    em_for(e, "o", O);
    em_line(e, "const %s *x = in0 + o * %" PRId64 ";", em_ctype(t), A * I);
    em_line(e, "%s *y = out0 + o * %" PRId64 ";", em_ctype(t), A * I);
    em_for(e, "i", I);
    em_line(e, "%s s = %s;", ct, prod ? "1" : "0");
    em_for(e, "k", A);
    if (rev)
        em_line(e, "int64_t p = (%" PRId64 " - k) * %" PRId64 " + i;", A - 1, I);
    else
        em_line(e, "int64_t p = k * %" PRId64 " + i;", I);
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
    return true;
}

/* ======================================================================== */
/* TopK                                                                      */
/* ======================================================================== */
/* K is input 1 (opset 10+, a build-time constant) or attribute k (opset 1).
 * axis (default -1), largest (default 1), sorted (default 1; unsorted output
 * is allowed any order, so it is sorted too).  Equal values keep the lower
 * index first.  Outputs: values and int64 indices.  Kernel: insertion into
 * the sorted k-best list, written straight into the outputs. */

static const op_attr_spec topk_attrs[] = {
    {"axis", IR_ATTR_INT}, {"largest", IR_ATTR_INT}, {"sorted", IR_ATTR_INT}, {"k", IR_ATTR_INT}, {NULL, 0}};

static bool topk_k(op_ctx *c, int64_t *k)
{
    if (op_in_id(c, 1) >= 0) {
        int64_t v[2];
        long nv = op_need_const_i64(c, 1, v, 1, "K");
        if (nv < 0)
            return false;
        if (nv != 1)
            return op_fail(c, "K must hold one value");
        *k = v[0];
        return true;
    }
    const ir_attr *a = ir_attr_find(op_node(c), "k");
    if (!a)
        return op_fail(c, "needs K (input 1 or attribute 'k')");
    *k = a->i;
    return true;
}

static bool infer_topk(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar", in->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", -1), in->rank, &axis))
        return false;
    int64_t k = 0;
    if (!topk_k(c, &k))
        return false;
    if (k < 0 || k > in->dims[axis].size)
        return op_fail(c, "K = %" PRId64 " is out of range for axis %d of size %" PRId64, k, axis,
                       in->dims[axis].size);
    if (!op_out(c, 0) || !op_out(c, 1))
        return op_fail(c, "needs both outputs (values and indices)");
    int64_t dims[HODU_MAX_RANK];
    em_dims(in, dims);
    dims[axis] = k;
    op_set_out(c, 0, in->dtype, in->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_I64, in->rank, dims);
    return true;
}

static bool emit_topk(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = in->dtype;
    int64_t ax = ir_attr_int(n, "axis", -1);
    int axis = (int)(ax < 0 ? ax + in->rank : ax);
    int64_t K = out->dims[axis].size;
    int64_t O, A, I;
    axis_view(in, axis, &O, &A, &I);
    if (n->n_inputs > 1 && n->inputs[1] >= 0)
        em_line(e, "(void)in1; /* K: a build-time constant */");
    if (O * K * I == 0)
        return true;
    const char *cmp = ir_attr_int(n, "largest", 1) != 0 ? ">" : "<";
    const char *ct = em_compute_ctype(t);
    em_for(e, "o", O);
    em_for(e, "i", I);
    em_line(e, "const %s *x = in0 + o * %" PRId64 " + i;", em_ctype(t), A * I);
    em_line(e, "%s *vo = out0 + o * %" PRId64 " + i;", em_ctype(t), K * I);
    em_line(e, "int64_t *io = out1 + o * %" PRId64 " + i;", K * I);
    em_line(e, "int64_t n = 0;");
    em_for(e, "a", A);
    char *idx = hd_xasprintf("a * %" PRId64, I);
    char *v = ld(t, "x", idx);
    free(idx);
    em_line(e, "%s v = %s;", ct, v);
    free(v);
    char *worst = hd_xasprintf("(%" PRId64 ") * %" PRId64, K - 1, I);
    char *w = ld(t, "vo", worst);
    em_line(e, "if (n == %" PRId64 " && !(v %s %s)) continue;", K, cmp, w);
    free(w);
    free(worst);
    em_line(e, "int64_t p = n < %" PRId64 " ? n++ : %" PRId64 ";", K, K - 1);
    char *pidx = hd_xasprintf("(p - 1) * %" PRId64, I);
    char *pv = ld(t, "vo", pidx);
    em_line(e, "while (p > 0 && v %s %s) {", cmp, pv);
    em_line(e, "    vo[p * %" PRId64 "] = vo[%s];", I, pidx);
    em_line(e, "    io[p * %" PRId64 "] = io[%s];", I, pidx);
    em_line(e, "    p--;");
    em_line(e, "}");
    free(pv);
    free(pidx);
    char *sidx = hd_xasprintf("p * %" PRId64, I);
    st(e, t, "vo", sidx, "v");
    em_line(e, "io[%s] = a;", sidx);
    free(sidx);
    em_close(e);
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
/* Opset < 13: the input is viewed as 2-D [prod(dims[:axis]), prod(dims[axis:])]
 * and the op runs over each row; default axis 1.  Opset >= 13: the op runs
 * along the single axis `axis`, default -1.  Softmax and LogSoftmax subtract
 * the maximum first; Hardmax marks the first maximum with 1. */

static const op_attr_spec softmax_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

typedef enum smkind { SM_SOFTMAX, SM_LOG, SM_HARD } smkind;

static smkind smkind_of(const ir_node *n)
{
    return n->op == OP_LOG_SOFTMAX ? SM_LOG : n->op == OP_HARDMAX ? SM_HARD : SM_SOFTMAX;
}

static bool infer_softmax(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!ir_dtype_is_float(in->dtype))
        return op_fail(c, "input '%s' has type %s; %s takes floating-point tensors", in->name,
                       ir_dtype_name(in->dtype), op_node(c)->op_type);
    int axis;
    int64_t def = c->g->opset >= 13 ? -1 : 1;
    if (in->rank == 0) {
        int64_t a = ir_attr_int(op_node(c), "axis", def);
        if (a != 0 && a != -1 && a != 1)
            return op_fail(c, "axis %" PRId64 " is out of range for rank 0", a);
    } else if (c->g->opset < 13 && ir_attr_int(op_node(c), "axis", def) == in->rank) {
        /* legal in the 2-D view: rows of one element */
    } else if (!op_axis(c, ir_attr_int(op_node(c), "axis", def), in->rank, &axis)) {
        return false;
    }
    op_set_out_like(c, 0, in);
    return true;
}

static void softmax_view(const ir_graph *g, const ir_node *n, const ir_value *in, int64_t *O, int64_t *A, int64_t *I)
{
    int64_t d[HODU_MAX_RANK];
    em_dims(in, d);
    if (in->rank == 0) {
        *O = *A = *I = 1;
        return;
    }
    int64_t ax = ir_attr_int(n, "axis", g->opset >= 13 ? -1 : 1);
    int axis = (int)(ax < 0 ? ax + in->rank : ax);
    if (g->opset < 13) {
        *O = prod_dims(d, 0, axis);
        *A = prod_dims(d, axis, in->rank);
        *I = 1;
    } else {
        axis_view(in, axis, O, A, I);
    }
}

/* Emits `<at> <var> = max over j in [0, n) of <expr>` (NaN is skipped; the
 * callers' later arithmetic propagates it). */
static void emit_max(op_emit *e, const char *at, const char *var, int64_t n, const char *expr)
{
    if (n >= 32) {
        int64_t n8 = n / 8 * 8;
        em_line(e, "%s %s = -INFINITY;", at, var);
        em_line(e, "{");
        e->indent++;
        em_line(e, "%s l_[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, "
                   "-INFINITY};",
                at);
        em_line(e, "for (int64_t j0 = 0; j0 < %" PRId64 "; j0 += 8) {", n8);
        em_line(e, "    for (int64_t u_ = 0; u_ < 8; u_++) { int64_t j = j0 + u_; %s v_ = %s; l_[u_] = v_ > l_[u_] ? "
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

/* In-place exp over a float array: the kernel layer's vector exp. */
static void need_vexp(op_emit *e)
{
    hd_buf_puts(e->decls, "#ifndef HD_RD_VEXP\n"
                          "#define HD_RD_VEXP(y, n) hd_vexp_f32((y), (y), (n))\n"
                          "#endif\n");
}

/* f32 along a non-innermost axis: per-column max and sum in scratch. */
static bool softmax_cols(const ir_graph *g, int node, int64_t *O, int64_t *A, int64_t *I)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    softmax_view(g, n, in, O, A, I);
    return in->dtype == HODU_DTYPE_F32 && smkind_of(n) != SM_HARD && *I > 1 && *O * *A * *I > 0;
}

static bool is_half(hodu_dtype t) { return t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

/* f16/bf16 rows along the innermost axis: widened into float scratch. */
static bool softmax_half_rows(const ir_graph *g, int node, int64_t *A)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    int64_t O, I;
    softmax_view(g, n, in, &O, A, &I);
    return is_half(in->dtype) && smkind_of(n) != SM_HARD && I == 1 && O * *A > 0;
}

static uint64_t scratch_softmax(const ir_graph *g, int node)
{
    int64_t O, A, I;
    if (softmax_cols(g, node, &O, &A, &I))
        return (uint64_t)I * 2 * sizeof(float);
    if (softmax_half_rows(g, node, &A))
        return (uint64_t)A * 2 * sizeof(float);
    return 0;
}

static bool emit_softmax(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    hodu_dtype t = in->dtype;
    smkind k = smkind_of(n);
    int64_t O, A, I;
    softmax_view(e->g, n, in, &O, &A, &I);
    if (O * A * I == 0)
        return true;
    const char *ct = fct(t);
    const char *m = mf(t);
    if (softmax_cols(e->g, e->node, &O, &A, &I)) {
        /* [O][A][I] with I > 1: every step is a contiguous pass over a row
         * of I columns; exp runs over the whole contiguous block. */
        need_vexp(e);
        em_line(e, "float *mx = (float *)(void *)scratch, *sm = mx + %" PRId64 ";", I);
        em_for(e, "o", O);
        em_line(e, "const float *x = in0 + o * %" PRId64 ";", A * I);
        em_line(e, "float *y = out0 + o * %" PRId64 ";", A * I);
        em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) { mx[i] = -INFINITY; sm[i] = 0; }", I);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) { float v = x[a * %" PRId64 " + i]; "
                   "mx[i] = v > mx[i] ? v : mx[i]; }",
                I, I);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[a * %" PRId64 " + i] = x[a * %" PRId64
                   " + i] - mx[i];",
                I, I, I);
        em_line(e, "HD_RD_VEXP(y, %" PRId64 ");", A * I);
        em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
        em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] += y[a * %" PRId64 " + i];", I, I);
        if (k == SM_LOG) {
            em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] = logf(sm[i]);", I);
            em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
            em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[a * %" PRId64 " + i] = (x[a * %" PRId64
                       " + i] - mx[i]) - sm[i];",
                    I, I, I);
        } else {
            em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) sm[i] = 1.0f / sm[i];", I);
            em_line(e, "for (int64_t a = 0; a < %" PRId64 "; a++)", A);
            em_line(e, "    for (int64_t i = 0; i < %" PRId64 "; i++) y[a * %" PRId64 " + i] *= sm[i];", I, I);
        }
        em_close(e);
        return true;
    }
    if (softmax_half_rows(e->g, e->node, &A)) {
        /* widen the row to float, run the f32 algorithm, narrow back */
        const char *h = t == HODU_DTYPE_F16 ? "f16" : "bf16";
        need_vexp(e);
        em_line(e, "float *w = (float *)(void *)scratch, *ew = w + %" PRId64 ";", A);
        em_for(e, "o", O);
        em_line(e, "hd_%s_to_f32_array(in0 + o * %" PRId64 ", w, %" PRId64 ");", h, A, A);
        need_rd(e);
        em_line(e, "float mx = hd_rd_ext(w, %" PRId64 ", 1);", A);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) { w[j] -= mx; ew[j] = w[j]; }", A);
        em_line(e, "HD_RD_VEXP(ew, %" PRId64 ");", A);
        em_line(e, "float s = hd_rd_sum(ew, %" PRId64 ", 0);", A);
        if (k == SM_LOG) {
            em_line(e, "float ls = logf(s);");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) w[j] -= ls;", A);
        } else {
            em_line(e, "float r = 1.0f / s;");
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) w[j] = ew[j] * r;", A);
        }
        em_line(e, "hd_f32_to_%s_array(w, out0 + o * %" PRId64 ", %" PRId64 ");", h, A, A);
        em_close(e);
        return true;
    }
    char *ix = I == 1 ? hd_xstrdup("j") : hd_xasprintf("j * %" PRId64, I);
    char *xj = ld(t, "x", ix);
    em_for(e, "o", O);
    if (I > 1)
        em_for(e, "i", I);
    em_line(e, "const %s *x = in0 + o * %" PRId64 "%s;", em_ctype(t), A * I, I > 1 ? " + i" : "");
    em_line(e, "%s *y = out0 + o * %" PRId64 "%s;", em_ctype(t), A * I, I > 1 ? " + i" : "");
    if (k == SM_HARD) {
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
        need_vexp(e);
        need_rd(e);
        em_line(e, "float mx = hd_rd_ext(x, %" PRId64 ", 1);", A);
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) y[j] = x[j] - mx;", A);
        em_line(e, "HD_RD_VEXP(y, %" PRId64 ");", A);
        em_line(e, "float s = hd_rd_sum(y, %" PRId64 ", 0);", A);
        if (k == SM_LOG) {
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
        char *v = k == SM_LOG ? hd_xasprintf("(%s - mx) - log%s(s)", xj, m) : hd_xasprintf("%s * r", ex);
        if (k != SM_LOG)
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

/* How a parameter tensor p (Scale, B) that broadcasts against the trailing
 * dims d[axis:] of X is indexed by the flat position j in that suffix:
 * "j" when it spans the suffix, "0" when it is a single value.  NULL (after
 * reporting) otherwise. */
static const char *param_index(op_ctx *c, const ir_value *p, const ir_value *x, int axis, const char *what)
{
    int64_t numel = ir_value_numel(p);
    int64_t D = 1;
    for (int i = axis; i < x->rank; i++)
        D *= x->dims[i].size;
    if (numel == 1)
        return "0";
    /* p's dims, leading 1s stripped, must equal x's suffix, leading 1s stripped */
    int pa = 0, xa = axis;
    while (pa < p->rank && p->dims[pa].size == 1)
        pa++;
    while (xa < x->rank && x->dims[xa].size == 1)
        xa++;
    bool ok = numel == D && p->rank - pa == x->rank - xa;
    for (int i = 0; ok && i < p->rank - pa; i++)
        ok = p->dims[pa + i].size == x->dims[xa + i].size;
    if (!ok) {
        op_fail(c, "%s '%s' must have the shape of the normalized dims of '%s' (or one element)", what, p->name,
                x->name);
        return NULL;
    }
    return "j";
}

static const char *param_index_e(const ir_value *p) { return ir_value_numel(p) == 1 ? "0" : "j"; }

/* --- LayerNormalization (opset 17) --------------------------------------- */
/* Y = (X - mean) / sqrt(var + epsilon) * Scale + B over dims [axis, rank)
 * (axis default -1, epsilon 1e-5).  Optional outputs Mean and InvStdDev have
 * X's leading dims and 1s after.  stash_type 1 (float) is the compute type
 * for f16/bf16 inputs; f64 inputs compute in double. */

static const op_attr_spec layernorm_attrs[] = {
    {"axis", IR_ATTR_INT}, {"epsilon", IR_ATTR_FLOAT}, {"stash_type", IR_ATTR_INT}, {NULL, 0}};

/* Mean / InvStdDev come out in the stash type (as onnxruntime does). */
static hodu_dtype stats_dtype(const ir_node *n)
{
    switch (ir_attr_int(n, "stash_type", 1)) {
    case 11: return HODU_DTYPE_F64;
    case 10: return HODU_DTYPE_F16;
    case 16: return HODU_DTYPE_BF16;
    default: return HODU_DTYPE_F32;
    }
}

static bool infer_norm_lastdims(op_ctx *c, bool layer)
{
    const ir_node *n = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    int64_t st_ = ir_attr_int(n, "stash_type", 1);
    if (st_ != 1 && st_ != 11 && st_ != 10 && st_ != 16)
        return op_fail(c, "stash_type %" PRId64 " is not supported", st_);
    if (x->rank == 0)
        return op_fail(c, "input '%s' is a scalar", x->name);
    int axis;
    if (!op_axis(c, ir_attr_int(n, "axis", -1), x->rank, &axis))
        return false;
    for (size_t i = 1; i < (layer ? 3u : 2u); i++) {
        const ir_value *p = op_in(c, i);
        if (!p)
            continue;
        if (!op_need_static(c, i) || !param_index(c, p, x, axis, i == 1 ? "Scale" : "B"))
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
    }
    op_set_out_like(c, 0, x);
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < axis ? x->dims[i].size : 1;
    op_set_out(c, 1, stats_dtype(n), x->rank, dims);
    op_set_out(c, 2, stats_dtype(n), x->rank, dims);
    return true;
}

static bool infer_layernorm(op_ctx *c) { return infer_norm_lastdims(c, true); }
static bool infer_rmsnorm(op_ctx *c) { return infer_norm_lastdims(c, false); }

static bool emit_norm_lastdims(op_emit *e, bool layer)
{
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    int64_t ax = ir_attr_int(n, "axis", -1);
    int axis = (int)(ax < 0 ? ax + x->rank : ax);
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    int64_t O = prod_dims(d, 0, axis), D = prod_dims(d, axis, x->rank);
    if (O * D == 0)
        return true;
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    const char *ct = fct(t), *m = mf(t);
    const ir_value *sc = em_in(e, 1), *bi = layer ? em_in(e, 2) : NULL;
    const ir_value *mo = layer ? em_out(e, 1) : NULL, *io = layer ? em_out(e, 2) : NULL;
    bool half = is_half(t);
    char *xj = half ? hd_xstrdup("x[j]") : ld(t, "x", "j");
    em_for(e, "o", O);
    if (half) {
        em_line(e, "float *x = (float *)(void *)scratch;");
        em_line(e, "hd_%s_to_f32_array(in0 + o * %" PRId64 ", x, %" PRId64 ");", t == HODU_DTYPE_F16 ? "f16" : "bf16",
                D, D);
    } else {
        em_line(e, "const %s *x = in0 + o * %" PRId64 ";", em_ctype(t), D);
    }
    em_line(e, "%s *y = out0 + o * %" PRId64 ";", em_ctype(t), D);
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
        char *s = ld(sc->dtype, "in1", param_index_e(sc));
        hd_buf_printf(&b, " * %s", s);
        free(s);
    }
    if (bi) {
        char *s = ld(bi->dtype, "in2", param_index_e(bi));
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

static uint64_t scratch_norm_lastdims(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (!is_half(x->dtype) || x->rank == 0)
        return 0;
    int64_t ax = ir_attr_int(n, "axis", -1);
    int axis = (int)(ax < 0 ? ax + x->rank : ax);
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    return (uint64_t)prod_dims(d, axis, x->rank) * sizeof(float);
}

static bool emit_layernorm(op_emit *e) { return emit_norm_lastdims(e, true); }
static bool emit_rmsnorm(op_emit *e) { return emit_norm_lastdims(e, false); }

/* --- BatchNormalization -------------------------------------------------- */
/* X [N, C, D1...]; scale, B, mean, var per channel.  Inference:
 * Y = (X - mean) * scale / sqrt(var + epsilon) + B.  training_mode=1
 * (opset 14+) normalises with the batch statistics (population variance)
 * and writes running_mean = mean * momentum + batch_mean * (1 - momentum),
 * likewise running_var.  Before opset 9 `spatial`=0 gives parameters of
 * shape [C, D1...]; is_test and consumed_inputs are accepted and ignored.
 * Old-opset training outputs (saved mean/var) are not supported. */

static const op_attr_spec batchnorm_attrs[] = {
    {"epsilon", IR_ATTR_FLOAT}, {"momentum", IR_ATTR_FLOAT}, {"training_mode", IR_ATTR_INT},
    {"spatial", IR_ATTR_INT},   {"is_test", IR_ATTR_INT},    {"consumed_inputs", IR_ATTR_INTS},
    {NULL, 0}};

static bool bn_training(const ir_graph *g, const ir_node *n)
{
    return g->opset >= 14 && ir_attr_int(n, "training_mode", 0) != 0;
}

static bool infer_batchnorm(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    int64_t C = x->dims[1].size, S = 1;
    for (int i = 2; i < x->rank; i++)
        S *= x->dims[i].size;
    for (size_t i = 1; i < 5; i++) {
        const ir_value *p = op_need_static(c, i);
        if (!p)
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
        int64_t pn = ir_value_numel(p);
        if (pn != C && !(pn == C * S && ir_attr_int(n, "spatial", 1) == 0))
            return op_fail(c, "input '%s' has %" PRId64 " elements; expected %" PRId64 " (one per channel)", p->name,
                           pn, C);
    }
    bool train = bn_training(c->g, n);
    size_t n_out = n->n_outputs;
    for (size_t i = 1; i < n_out; i++) {
        if (n->outputs[i] < 0 || (train && i <= 2))
            continue;
        if (c->g->opset < 14)
            return op_fail(c, "output %zu (training statistics, opset %" PRId64 ") is not supported; only inference "
                              "and the training_mode of opset 14+ are",
                           i, c->g->opset);
        return op_fail(c, "output %zu (running statistics) needs training_mode=1", i);
    }
    op_set_out_like(c, 0, x);
    if (train) {
        op_set_out_like(c, 1, op_in(c, 3));
        op_set_out_like(c, 2, op_in(c, 4));
    }
    return true;
}

static bool emit_batchnorm(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    int64_t N = d[0], C = d[1], S = prod_dims(d, 2, x->rank);
    if (N * C * S == 0)
        return true;
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    double mom = ir_attr_float(n, "momentum", 0.9);
    const char *ct = fct(t), *m = mf(t);
    char *xs = ld(t, "x", "j");
    bool per_elem = ir_value_numel(em_in(e, 1)) != C;
    char *p[5];
    for (int i = 1; i < 5; i++) {
        char nm[8], ix[48];
        snprintf(nm, sizeof nm, "in%d", i);
        snprintf(ix, sizeof ix, "c * %" PRId64 " + j", S);
        p[i] = ld(em_in(e, (size_t)i)->dtype, nm, per_elem ? ix : "c");
    }
    if (per_elem) {
        /* parameters per (channel, position) */
        em_for(e, "b", N);
        em_for(e, "c", C);
        em_line(e, "const %s *x = in0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        em_line(e, "%s *y = out0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        em_for(e, "j", S);
        char *v = hd_xasprintf("(%s - %s) * (%s / sqrt%s(%s + (%s)%s)) + %s", xs, p[3], p[1], m, p[4], ct, em_f64(eps).s,
                               p[2]);
        st(e, t, "y", "j", v);
        free(v);
        em_close(e);
        em_close(e);
        em_close(e);
    } else if (!bn_training(e->g, n)) {
        em_for(e, "c", C);
        em_line(e, "%s a = %s / sqrt%s(%s + (%s)%s);", ct, p[1], m, p[4], ct, em_f64(eps).s);
        em_line(e, "%s mu = %s, bb = %s;", ct, p[3], p[2]);
        em_for(e, "b", N);
        em_line(e, "const %s *x = in0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        em_line(e, "%s *y = out0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        em_for(e, "j", S);
        char *v = hd_xasprintf("(%s - mu) * a + bb", xs);
        st(e, t, "y", "j", v);
        free(v);
        em_close(e);
        em_close(e);
        em_close(e);
    } else {
        const ir_value *rm = em_out(e, 1), *rv = em_out(e, 2);
        em_for(e, "c", C);
        em_line(e, "%s s = 0, q = 0;", ct);
        em_for(e, "b", N);
        em_line(e, "const %s *x = in0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        char *args = hd_xasprintf("x, %" PRId64 ", 0", S);
        emit_rowsum(e, t == HODU_DTYPE_F32, ct, "sb", S, xs, "sum", args);
        free(args);
        em_line(e, "s += sb;");
        em_close(e);
        em_line(e, "%s mu = s / (%s)%" PRId64 ";", ct, ct, N * S);
        em_for(e, "b", N);
        em_line(e, "const %s *x = in0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
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
        em_line(e, "const %s *x = in0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
        em_line(e, "%s *y = out0 + (b * %" PRId64 " + c) * %" PRId64 ";", em_ctype(t), C, S);
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

/* --- InstanceNormalization, GroupNormalization --------------------------- */
/* X [N, C, D1...].  InstanceNormalization normalises each (n, c) over D1...;
 * GroupNormalization each (n, group) over C/num_groups channels and D1...
 * Both: Y = (X - mean) / sqrt(var + epsilon) * scale[c] + bias[c].
 * GroupNormalization-18 took scale/bias per group, -21 per channel; the
 * element count tells which. */

static const op_attr_spec instnorm_attrs[] = {{"epsilon", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec groupnorm_attrs[] = {
    {"epsilon", IR_ATTR_FLOAT}, {"num_groups", IR_ATTR_INT}, {"stash_type", IR_ATTR_INT}, {NULL, 0}};

static bool infer_groupish(op_ctx *c)
{
    const ir_node *n = op_node(c);
    bool group = n->op == OP_GROUP_NORMALIZATION;
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    int64_t C = x->dims[1].size, G = C;
    if (group) {
        const ir_attr *a = ir_attr_find(n, "num_groups");
        if (!a)
            return op_fail(c, "attribute 'num_groups' is required");
        G = a->i;
        if (G <= 0 || C % G != 0)
            return op_fail(c, "num_groups %" PRId64 " does not divide the %" PRId64 " channels", G, C);
    }
    for (size_t i = 1; i < 3; i++) {
        const ir_value *p = op_need_static(c, i);
        if (!p)
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
        int64_t pn = ir_value_numel(p);
        if (pn != C && pn != G)
            return op_fail(c, "input '%s' has %" PRId64 " elements; expected %" PRId64, p->name, pn, C);
    }
    op_set_out_like(c, 0, x);
    return true;
}

static bool emit_groupish(op_emit *e)
{
    const ir_node *n = em_node(e);
    bool group = n->op == OP_GROUP_NORMALIZATION;
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    int64_t N = d[0], C = d[1], S = prod_dims(d, 2, x->rank);
    int64_t G = group ? ir_attr_int(n, "num_groups", C) : C;
    int64_t CG = C / G, D = CG * S;
    if (N * C * S == 0)
        return true;
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    const char *ct = fct(t), *m = mf(t);
    char *xj = ld(t, "x", "j");
    bool pc_s = ir_value_numel(em_in(e, 1)) == C, pc_b = ir_value_numel(em_in(e, 2)) == C;
    char ci[64];
    snprintf(ci, sizeof ci, "g * %" PRId64 " + cc", CG);
    char *sv = ld(em_in(e, 1)->dtype, "in1", pc_s ? ci : "g");
    char *bv = ld(em_in(e, 2)->dtype, "in2", pc_b ? ci : "g");
    em_for(e, "b", N);
    em_for(e, "g", G);
    em_line(e, "const %s *x = in0 + (b * %" PRId64 " + g) * %" PRId64 ";", em_ctype(t), G, D);
    em_line(e, "%s *y = out0 + (b * %" PRId64 " + g) * %" PRId64 ";", em_ctype(t), G, D);
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
    char *ji = hd_xasprintf("cc * %" PRId64 " + s_", S);
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

/* --- LpNormalization ----------------------------------------------------- */
/* Y = X / ||X||_p along `axis` (default -1), p 1 or 2 (default 2); a zero
 * norm gives 0. */

static const op_attr_spec lpnorm_attrs[] = {{"axis", IR_ATTR_INT}, {"p", IR_ATTR_INT}, {NULL, 0}};

static bool infer_lpnorm(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    int64_t p = ir_attr_int(op_node(c), "p", 2);
    if (p != 1 && p != 2)
        return op_fail(c, "attribute 'p' = %" PRId64 " is not supported (1 or 2)", p);
    if (x->rank == 0)
        return op_fail(c, "input '%s' is a scalar", x->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", -1), x->rank, &axis))
        return false;
    op_set_out_like(c, 0, x);
    return true;
}

static bool emit_lpnorm(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    int64_t ax = ir_attr_int(n, "axis", -1);
    int axis = (int)(ax < 0 ? ax + x->rank : ax);
    bool l1 = ir_attr_int(n, "p", 2) == 1;
    int64_t O, A, I;
    axis_view(x, axis, &O, &A, &I);
    if (O * A * I == 0)
        return true;
    const char *ct = fct(t), *m = mf(t);
    char *ix = I == 1 ? hd_xstrdup("j") : hd_xasprintf("j * %" PRId64, I);
    char *xj = ld(t, "x", ix);
    em_for(e, "o", O);
    if (I > 1)
        em_for(e, "i", I);
    em_line(e, "const %s *x = in0 + o * %" PRId64 "%s;", em_ctype(t), A * I, I > 1 ? " + i" : "");
    em_line(e, "%s *y = out0 + o * %" PRId64 "%s;", em_ctype(t), A * I, I > 1 ? " + i" : "");
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

/* --- MeanVarianceNormalization ------------------------------------------- */
/* Y = (X - mean) / (sqrt(var) + 1e-9) over `axes` (default [0, 2, 3]). */

static const op_attr_spec mvn_attrs[] = {{"axes", IR_ATTR_INTS}, {NULL, 0}};

static bool mvn_mask(const ir_node *n, int rank, bool *mask)
{
    static const int64_t def[] = {0, 2, 3};
    size_t cnt = 0;
    const int64_t *a = ir_attr_ints(n, "axes", &cnt);
    if (!a) {
        a = def;
        cnt = 3;
    }
    for (int i = 0; i < rank; i++)
        mask[i] = false;
    for (size_t k = 0; k < cnt; k++) {
        if (a[k] < -(int64_t)rank || a[k] >= rank)
            return false;
        mask[a[k] < 0 ? a[k] + rank : a[k]] = true;
    }
    return true;
}

static bool infer_mvn(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    bool mask[HODU_MAX_RANK];
    if (!mvn_mask(op_node(c), x->rank, mask))
        return op_fail(c, "attribute 'axes' is out of range for rank %d", x->rank);
    op_set_out_like(c, 0, x);
    return true;
}

static bool emit_mvn(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = x->dtype;
    bool mask[HODU_MAX_RANK];
    mvn_mask(em_node(e), x->rank, mask);
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    rplan p;
    rplan_build(d, x->rank, mask, false, &p);
    if (p.out_numel * p.red_numel == 0)
        return true;
    const char *ct = fct(t), *m = mf(t);
    char *xo = nest_off("o", &p.outer, false);
    char *ro = nest_off("r", &p.red, false);
    char *v = ld(t, "x", ro);
    nest_open(e, "o", &p.outer);
    em_line(e, "const %s *x = in0 + %s;", em_ctype(t), xo);
    em_line(e, "%s *y = out0 + %s;", em_ctype(t), xo);
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
/* NegativeLogLikelihoodLoss(input [N, C, d...], target [N, d...], weight [C]?)
 * loss[n, d] = -input[n, target, d] * weight[target]; entries whose target
 * equals ignore_index contribute 0 and no weight.  reduction: "none" (shape
 * [N, d...]), "sum", or "mean" (default: sum / total weight).
 * SoftmaxCrossEntropyLoss(scores, labels, weights?) is the same over
 * log_prob = LogSoftmax(scores, axis 1); its optional second output is
 * log_prob.  A target outside [0, C) that is not ignore_index is undefined
 * in ONNX; here it counts as ignored (nothing is read out of bounds). */

static const op_attr_spec loss_attrs[] = {{"reduction", IR_ATTR_STRING}, {"ignore_index", IR_ATTR_INT}, {NULL, 0}};

static bool infer_loss(op_ctx *c)
{
    const ir_node *n = op_node(c);
    bool sce = n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const ir_value *x = op_need_static(c, 0), *tg = op_need_static(c, 1);
    if (!x || !tg || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (tg->dtype != HODU_DTYPE_I32 && tg->dtype != HODU_DTYPE_I64)
        return op_fail(c, "target '%s' has type %s; it must be int32 or int64", tg->name, ir_dtype_name(tg->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    bool shape_ok = tg->rank == x->rank - 1 && tg->dims[0].size == x->dims[0].size;
    for (int i = 1; shape_ok && i < tg->rank; i++)
        shape_ok = tg->dims[i].size == x->dims[i + 1].size;
    if (!shape_ok)
        return op_fail(c, "target '%s' must have the shape of input '%s' without its class dim", tg->name, x->name);
    const ir_value *w = op_in(c, 2);
    if (w) {
        if (!op_need_static(c, 2))
            return false;
        if (w->rank != 1 || w->dims[0].size != x->dims[1].size)
            return op_fail(c, "weight '%s' must have shape [%" PRId64 "]", w->name, x->dims[1].size);
        if (!ir_dtype_is_float(w->dtype))
            return op_fail(c, "weight '%s' has type %s", w->name, ir_dtype_name(w->dtype));
    }
    const char *red = ir_attr_string(n, "reduction", "mean");
    if (strcmp(red, "none") == 0)
        op_set_out_like(c, 0, tg), ir_val(c->g, op_node(c)->outputs[0])->dtype = x->dtype;
    else if (strcmp(red, "sum") == 0 || strcmp(red, "mean") == 0)
        op_set_out(c, 0, x->dtype, 0, NULL);
    else
        return op_fail(c, "attribute 'reduction' = '%s' is not supported (none, sum, mean)", red);
    if (sce)
        op_set_out_like(c, 1, x);
    else if (op_out(c, 1))
        return op_fail(c, "has 2 outputs; NegativeLogLikelihoodLoss produces 1");
    return true;
}

static bool emit_loss(op_emit *e)
{
    const ir_node *n = em_node(e);
    bool sce = n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const ir_value *x = em_in(e, 0), *w = em_in(e, 2), *lp = sce ? em_out(e, 1) : NULL;
    hodu_dtype t = x->dtype;
    int64_t d[HODU_MAX_RANK];
    em_dims(x, d);
    int64_t N = d[0], C = d[1], D = prod_dims(d, 2, x->rank);
    const char *red = ir_attr_string(n, "reduction", "mean");
    bool none = strcmp(red, "none") == 0, mean = strcmp(red, "mean") == 0;
    const ir_attr *ig = ir_attr_find(n, "ignore_index");
    const char *ct = fct(t), *m = mf(t);
    if (!none) {
        em_line(e, "double tot = 0, wsum = 0;");
    }
    if (N * D > 0 && C > 0) {
        em_for(e, "b", N);
        em_for(e, "j", D);
        em_line(e, "const %s *x = in0 + b * %" PRId64 " + j;", em_ctype(t), C * D);
        char cidx[48];
        if (D == 1)
            snprintf(cidx, sizeof cidx, "c");
        else
            snprintf(cidx, sizeof cidx, "c * %" PRId64, D);
        char *xc = ld(t, "x", cidx);
        if (sce) {
            em_line(e, "%s mx = -INFINITY;", ct);
            em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) { %s v = %s; mx = v > mx ? v : mx; }", C, ct, xc);
            em_line(e, "%s s = 0;", ct);
            em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) s += exp%s(%s - mx);", C, m, xc);
            em_line(e, "%s lse = mx + log%s(s);", ct, m);
            if (lp) {
                em_line(e, "%s *lp = out1 + b * %" PRId64 " + j;", em_ctype(t), C * D);
                char *v = hd_xasprintf("(%s - mx) - log%s(s)", xc, m);
                em_for(e, "c", C);
                st(e, t, "lp", cidx, v);
                em_close(e);
                free(v);
            }
        }
        em_line(e, "int64_t c = (int64_t)in1[b * %" PRId64 " + j];", D);
        hd_buf skip;
        hd_buf_init(&skip);
        if (ig)
            hd_buf_printf(&skip, "c == (int64_t)%" PRId64 " || ", ig->i);
        hd_buf_printf(&skip, "c < 0 || c >= %" PRId64, C);
        if (none) {
            char *z = em_store(t, "0");
            em_line(e, "if (%s) { out0[b * %" PRId64 " + j] = %s; continue; }", skip.data, D, z);
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
            em_line(e, "out0[b * %" PRId64 " + j] = %s;", D, s);
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
/* The table                                                                 */
/* ======================================================================== */

#define REDUCE_OP(ID)                                                                                          \
    OP_DEF(ID, .attrs = reduce_attrs, .infer = infer_reduce, .fold = fold_reduce, .emit = emit_reduce,          \
           .scratch = scratch_reduce)

REDUCE_OP(REDUCE_SUM);
REDUCE_OP(REDUCE_MEAN);
REDUCE_OP(REDUCE_MAX);
REDUCE_OP(REDUCE_MIN);
REDUCE_OP(REDUCE_PROD);
REDUCE_OP(REDUCE_L1);
REDUCE_OP(REDUCE_L2);
REDUCE_OP(REDUCE_LOG_SUM);
REDUCE_OP(REDUCE_LOG_SUM_EXP);
REDUCE_OP(REDUCE_SUM_SQUARE);
OP_DEF(ARG_MAX, .attrs = arg_attrs, .infer = infer_arg, .emit = emit_arg);
OP_DEF(ARG_MIN, .attrs = arg_attrs, .infer = infer_arg, .emit = emit_arg);
OP_DEF(CUM_SUM, .attrs = cum_attrs, .infer = infer_cum, .emit = emit_cum);
OP_DEF(CUM_PROD, .attrs = cum_attrs, .infer = infer_cum, .emit = emit_cum);
OP_DEF(TOP_K, .attrs = topk_attrs, .infer = infer_topk, .emit = emit_topk);
OP_DEF(SOFTMAX, .attrs = softmax_attrs, .infer = infer_softmax, .emit = emit_softmax, .scratch = scratch_softmax);
OP_DEF(LOG_SOFTMAX, .attrs = softmax_attrs, .infer = infer_softmax, .emit = emit_softmax,
       .scratch = scratch_softmax);
OP_DEF(HARDMAX, .attrs = softmax_attrs, .infer = infer_softmax, .emit = emit_softmax, .scratch = scratch_softmax);
OP_DEF(LAYER_NORMALIZATION, .attrs = layernorm_attrs, .infer = infer_layernorm, .emit = emit_layernorm,
       .scratch = scratch_norm_lastdims);
OP_DEF(RMS_NORMALIZATION, .attrs = layernorm_attrs, .infer = infer_rmsnorm, .emit = emit_rmsnorm,
       .scratch = scratch_norm_lastdims);
OP_DEF(BATCH_NORMALIZATION, .attrs = batchnorm_attrs, .infer = infer_batchnorm, .emit = emit_batchnorm);
OP_DEF(INSTANCE_NORMALIZATION, .attrs = instnorm_attrs, .infer = infer_groupish, .emit = emit_groupish);
OP_DEF(GROUP_NORMALIZATION, .attrs = groupnorm_attrs, .infer = infer_groupish, .emit = emit_groupish);
OP_DEF(LP_NORMALIZATION, .attrs = lpnorm_attrs, .infer = infer_lpnorm, .emit = emit_lpnorm);
OP_DEF(MEAN_VARIANCE_NORMALIZATION, .attrs = mvn_attrs, .infer = infer_mvn, .emit = emit_mvn);
OP_DEF(NEGATIVE_LOG_LIKELIHOOD_LOSS, .attrs = loss_attrs, .infer = infer_loss, .emit = emit_loss);
OP_DEF(SOFTMAX_CROSS_ENTROPY_LOSS, .attrs = loss_attrs, .infer = infer_loss, .emit = emit_loss);
