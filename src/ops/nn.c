/*
 * ops/nn.c - the neural-network op family: matrix products and Flatten,
 * plus the window attribute readers convolution and pooling share.
 *
 * MatMul, MatMulInteger, QLinearMatMul, Gemm and Flatten live in this file;
 * convolution in nn_conv.c, pooling in nn_pool.c and Resize in nn_resize.c
 * (their entry points are declared in nn_impl.h).  The plans a backend
 * lowers these ops from (nn.h) are computed here, by the code inference
 * runs.
 */
#include <inttypes.h>
#include <string.h>

#include "elementwise.h"
#include "nn_impl.h"

/* --- helpers shared by the family --------------------------------------- */

bool nn_ints_attr(op_ctx *c, const char *name, int n, int64_t fallback, int64_t *out)
{
    size_t count = 0;
    const int64_t *v = ir_attr_ints(op_node(c), name, &count);
    if (!v) {
        for (int i = 0; i < n; i++)
            out[i] = fallback;
        return true;
    }
    if (count != (size_t)n)
        return op_fail(c, "attribute '%s' has %zu values; expected %d", name, count, n);
    memcpy(out, v, (size_t)n * sizeof(int64_t));
    return true;
}

bool nn_same_rt_lead(int64_t ek, int64_t s, bool upper, int64_t lo, int64_t hi, int64_t *pb)
{
    if (lo < 1 || hi < lo || (s > 64 && hi - lo >= 64))
        return false;
    int64_t first = -1;
    /* one size per residue is enough */
    for (int64_t in = lo; in <= hi && in - lo < s; in++) {
        int64_t total = ((in + s - 1) / s - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        int64_t p = upper ? total / 2 : total - total / 2;
        if (first >= 0 && p != first)
            return false;
        first = p;
    }
    *pb = first;
    return true;
}

bool nn_window_attrs(op_ctx *c, nn_window *w, bool pool)
{
    const ir_node *n = op_node(c);
    int nd = w->nd;
    int64_t pads[2 * NN_MAX_SPATIAL];
    if (!nn_ints_attr(c, "strides", nd, 1, w->s) || !nn_ints_attr(c, "dilations", nd, 1, w->d) ||
        !nn_ints_attr(c, "pads", 2 * nd, 0, pads))
        return false;
    const char *auto_pad = ir_attr_string(n, "auto_pad", "NOTSET");
    bool ceil_mode = pool && ir_attr_int(n, "ceil_mode", 0) != 0;
    int mode;
    if (auto_pad[0] == '\0' || strcmp(auto_pad, "NOTSET") == 0)
        mode = 0;
    else if (strcmp(auto_pad, "VALID") == 0)
        mode = 1;
    else if (strcmp(auto_pad, "SAME_UPPER") == 0)
        mode = 2;
    else if (strcmp(auto_pad, "SAME_LOWER") == 0)
        mode = 3;
    else
        return op_fail(c, "attribute 'auto_pad' value '%s' is not supported", auto_pad);
    for (int i = 0; i < nd; i++) {
        if (w->k[i] < 1)
            return op_fail(c, "kernel size %" PRId64 " in spatial dim %d must be at least 1", w->k[i], i);
        if (w->s[i] < 1)
            return op_fail(c, "attribute 'strides' value %" PRId64 " must be at least 1", w->s[i]);
        if (w->d[i] < 1)
            return op_fail(c, "attribute 'dilations' value %" PRId64 " must be at least 1", w->d[i]);
        if (pads[i] < 0 || pads[i + nd] < 0)
            return op_fail(c, "attribute 'pads' has a negative value");
        if (w->k[i] > ((int64_t)1 << 31) || w->s[i] > ((int64_t)1 << 31) || w->d[i] > ((int64_t)1 << 31) ||
            pads[i] > ((int64_t)1 << 31) || pads[i + nd] > ((int64_t)1 << 31))
            return op_fail(c, "window attributes are too large");
        int64_t in = w->in[i], ek = (w->k[i] - 1) * w->d[i] + 1, s = w->s[i], out;
        const ir_value *x = op_in(c, 0);
        if (mode >= 2 && x && 2 + i < x->rank && x->dims[2 + i].rt) {
            /* Over a run-time dim the pads are the ones every size of its
             * range shares (run-time inference refuses the others). */
            int64_t lo = 0, hi = 0;
            ir_poly p = ir_dim_poly(c->g, &x->dims[2 + i]);
            if (!ir_poly_range(c->g, &p, &lo, &hi) || !nn_same_rt_lead(ek, s, mode == 2, lo, hi, &w->pb[i]))
                return op_fail(c, "internal error: auto_pad %s over a run-time dim", auto_pad);
            out = (in + s - 1) / s;
            w->pe[i] = ek - 1 - w->pb[i];
        } else if (mode >= 2) {
            out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + ek - in;
            if (total < 0)
                total = 0;
            w->pb[i] = mode == 2 ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
        } else {
            w->pb[i] = mode == 1 ? 0 : pads[i];
            w->pe[i] = mode == 1 ? 0 : pads[i + nd];
            int64_t span = in + w->pb[i] + w->pe[i] - ek;
            if (span < 0)
                return op_fail(c,
                               "the window (%" PRId64 " with dilation) is larger than the padded input (%" PRId64
                               ") in spatial dim %d",
                               ek, in + w->pb[i] + w->pe[i], i);
            out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            /* With ceil_mode the last window must start inside the input
             * or its leading padding. */
            if (ceil_mode && (out - 1) * s >= in + w->pb[i])
                out--;
        }
        w->out[i] = out;
    }
    return true;
}

/* --- MatMul ----------------------------------------------------------------
 * numpy matmul: 1-D A is [1,K] (the M dim is dropped from the result), 1-D
 * B is [K,1] (N dropped); leading dims broadcast.  T: f16, bf16, f32, f64,
 * i32, i64, u32, u64. */

static bool mm_shapes(op_ctx *c, const ir_value *a, const ir_value *b, nn_matmul_plan *s, int *out_rank,
                      int64_t *out_dims)
{
    if (a->rank < 1 || b->rank < 1)
        return op_fail(c, "inputs must have rank 1 or more (got %d and %d)", a->rank, b->rank);
    int64_t ad[HODU_MAX_RANK + 1], bd[HODU_MAX_RANK + 1];
    int ar = a->rank, brk = b->rank;
    for (int i = 0; i < ar; i++)
        ad[i] = a->dims[i].size;
    for (int i = 0; i < brk; i++)
        bd[i] = b->dims[i].size;
    if (ar == 1) {
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (brk == 1) {
        bd[1] = 1;
        brk = 2;
    }
    s->M = ad[ar - 2];
    s->K = ad[ar - 1];
    s->N = bd[brk - 1];
    if (bd[brk - 2] != s->K)
        return op_fail(c, "inner dims differ: '%s' has %" PRId64 " columns, '%s' has %" PRId64 " rows", a->name, s->K,
                       b->name, bd[brk - 2]);
    int abr = ar - 2, bbr = brk - 2;
    s->br = abr > bbr ? abr : bbr;
    int64_t sa = s->M * s->K, sb = s->K * s->N;
    s->batch = 1;
    s->a_batched = s->b_batched = false;
    for (int i = s->br - 1; i >= 0; i--) {
        int ia = i - (s->br - abr), ib = i - (s->br - bbr);
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return op_fail(c, "batch dims of '%s' and '%s' do not broadcast (%" PRId64 " vs %" PRId64 ")", a->name,
                           b->name, da, db);
        int64_t d = da == 1 ? db : da;
        s->bdims[i] = d;
        s->sa[i] = (da == 1 && d != 1) ? 0 : sa;
        s->sb[i] = (db == 1 && d != 1) ? 0 : sb;
        if (d != 1 && da != 1)
            s->a_batched = true;
        if (d != 1 && db != 1)
            s->b_batched = true;
        sa *= da;
        sb *= db;
        s->batch *= d;
    }
    int r = 0;
    for (int i = 0; i < s->br; i++)
        out_dims[r++] = s->bdims[i];
    if (a->rank > 1)
        out_dims[r++] = s->M;
    if (b->rank > 1)
        out_dims[r++] = s->N;
    *out_rank = r;
    return true;
}

/* MatMul and Gemm: both operands of one type the products support. */
static bool mm_check_dtypes(op_ctx *c, const ir_value *a, const ir_value *b)
{
    if (a->dtype != b->dtype)
        return op_fail(c, "inputs have different types (%s and %s)", ir_dtype_name(a->dtype), ir_dtype_name(b->dtype));
    switch (a->dtype) {
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16:
    case HODU_DTYPE_F32:
    case HODU_DTYPE_F64:
    case HODU_DTYPE_I32:
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U32:
    case HODU_DTYPE_U64: break;
    default: return op_fail(c, "type %s is not supported", ir_dtype_name(a->dtype));
    }
    return true;
}

static bool infer_matmul(op_ctx *c)
{
    const ir_value *a = op_need_static(c, 0), *b = op_need_static(c, 1);
    if (!a || !b)
        return false;
    if (!mm_check_dtypes(c, a, b))
        return false;
    nn_matmul_plan s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    if (!mm_shapes(c, a, b, &s, &r, dims))
        return false;
    op_set_out(c, 0, a->dtype, r, dims);
    return true;
}

bool nn_matmul_plan_of(const ir_graph *g, int node, nn_matmul_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    if (n->op != OP_MATMUL && n->op != OP_MATMUL_INTEGER && n->op != OP_QLINEAR_MATMUL)
        return false;
    /* A node inference accepted cannot fail here; any message is dropped. */
    hd_diag d;
    hd_diag_init(&d, NULL);
    op_ctx c = {(ir_graph *)g, node, &d};
    int r;
    int64_t dims[HODU_MAX_RANK];
    int b = n->op == OP_QLINEAR_MATMUL ? 3 : 1;
    bool ok = mm_shapes(&c, ir_val(g, n->inputs[0]), ir_val(g, n->inputs[b]), p, &r, dims);
    hd_diag_free(&d);
    return ok;
}

static int64_t flops_matmul(const ir_graph *g, int node)
{
    nn_matmul_plan s;
    if (!nn_matmul_plan_of(g, node, &s))
        return 0;
    return op_sat_mul(op_sat_mul(2 * s.batch, s.M), op_sat_mul(s.N, s.K));
}

/* --- MatMulInteger -----------------------------------------------------------
 * int8/uint8 A and B, optional zero points (scalar, or per row of A / per
 * column of B), int32 result of sum((a - za) * (b - zb)). */

static bool infer_matmul_integer(op_ctx *c)
{
    const ir_value *a = op_need_static(c, 0), *b = op_need_static(c, 1);
    if (!a || !b)
        return false;
    for (int i = 0; i < 2; i++) {
        const ir_value *v = i ? b : a;
        if (v->dtype != HODU_DTYPE_I8 && v->dtype != HODU_DTYPE_U8)
            return op_fail(c, "input '%s' must be int8 or uint8, got %s", v->name, ir_dtype_name(v->dtype));
    }
    nn_matmul_plan s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    if (!mm_shapes(c, a, b, &s, &r, dims))
        return false;
    for (int i = 2; i < 4; i++) {
        const ir_value *z = op_in(c, (size_t)i);
        if (!z)
            continue;
        if (z->dtype != (i == 2 ? a : b)->dtype)
            return op_fail(c, "zero point '%s' must have the type of its input", z->name);
        int64_t n = ir_value_numel(z), want = i == 2 ? s.M : s.N;
        if (n != 1 && n != want)
            return op_fail(c, "zero point '%s' must be a scalar or have %" PRId64 " elements", z->name, want);
    }
    op_set_out(c, 0, HODU_DTYPE_I32, r, dims);
    return true;
}

/* --- QLinearMatMul -----------------------------------------------------------------
 * (a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point):
 * int8/uint8 a and b, y = saturate(rint(sum((a - za)(b - zb)) * a_scale *
 * b_scale / y_scale + y_zero_point)) in y_zero_point's type.  Scales are
 * float32 or (opset 21) float16, whose product and quotient round to
 * float16 like the definition's; b's scale and zero point may be per
 * column. */

static bool infer_qlinear_matmul(op_ctx *c)
{
    const ir_value *a = op_need_static(c, 0), *b = op_need_static(c, 3);
    if (!a || !b)
        return false;
    for (size_t i = 0; i < 8; i++)
        if (!op_in(c, i) || !ir_value_is_static(op_in(c, i)))
            return op_need_static(c, i) != NULL;
    if ((a->dtype != HODU_DTYPE_I8 && a->dtype != HODU_DTYPE_U8) ||
        (b->dtype != HODU_DTYPE_I8 && b->dtype != HODU_DTYPE_U8))
        return op_fail(c, "a and b must be int8 or uint8 (got %s and %s)", ir_dtype_name(a->dtype),
                       ir_dtype_name(b->dtype));
    nn_matmul_plan s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    if (!mm_shapes(c, a, b, &s, &r, dims))
        return false;
    static const char *const names[] = {"",        "a_scale",      "a_zero_point", "",
                                        "b_scale", "b_zero_point", "y_scale",      "y_zero_point"};
    for (size_t i = 1; i < 8; i++) {
        if (i == 3)
            continue;
        const ir_value *v = op_in(c, i);
        bool scale = i == 1 || i == 4 || i == 6;
        if (scale && v->dtype != HODU_DTYPE_F32 && v->dtype != HODU_DTYPE_F16)
            return op_fail(c, "%s must be float32 or float16, got %s", names[i], ir_dtype_name(v->dtype));
        hodu_dtype zt = i == 2 ? a->dtype : (i == 5 ? b->dtype : HODU_DTYPE_UNDEFINED);
        if (!scale && i != 7 && v->dtype != zt)
            return op_fail(c, "%s must have the type of its input", names[i]);
        int64_t n = ir_value_numel(v);
        bool per_col = (i == 4 || i == 5) && n == s.N;
        if (n != 1 && !per_col)
            return op_fail(c, "%s must be a scalar%s", names[i],
                           (i == 4 || i == 5) ? " or have one value per column" : "");
    }
    const ir_value *yz = op_in(c, 7);
    if (yz->dtype != HODU_DTYPE_I8 && yz->dtype != HODU_DTYPE_U8)
        return op_fail(c, "y_zero_point must be int8 or uint8, got %s", ir_dtype_name(yz->dtype));
    op_set_out(c, 0, yz->dtype, r, dims);
    return true;
}

/* --- Gemm ----------------------------------------------------------------------
 * Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (2-D), likewise B;
 * C (optional since opset 11) broadcasts unidirectionally to [M, N].
 * T: f16, bf16, f32, f64, i32, i64, u32, u64.  "broadcast" is the opset < 7
 * attribute, accepted and ignored (broadcasting is always on). */

static const op_attr_spec gemm_attrs[] = {{"alpha", IR_ATTR_FLOAT}, {"beta", IR_ATTR_FLOAT},    {"transA", IR_ATTR_INT},
                                          {"transB", IR_ATTR_INT},  {"broadcast", IR_ATTR_INT}, {NULL, 0}};

static bool infer_gemm(op_ctx *c)
{
    const ir_value *a = op_need_static(c, 0), *b = op_need_static(c, 1);
    if (!a || !b)
        return false;
    if (a->rank != 2 || b->rank != 2)
        return op_fail(c, "A and B must be 2-D (got rank %d and %d)", a->rank, b->rank);
    if (!mm_check_dtypes(c, a, b))
        return false;
    const ir_node *n = op_node(c);
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    int64_t M = a->dims[ta ? 1 : 0].size, K = a->dims[ta ? 0 : 1].size;
    int64_t K2 = b->dims[tb ? 1 : 0].size, N = b->dims[tb ? 0 : 1].size;
    if (K != K2)
        return op_fail(c, "inner dims differ (%" PRId64 " and %" PRId64 ")", K, K2);
    const ir_value *cv = op_in(c, 2);
    if (cv) {
        if (!ir_value_is_static(cv))
            return op_need_static(c, 2) != NULL;
        if (cv->dtype != a->dtype)
            return op_fail(c, "C has type %s; A has %s", ir_dtype_name(cv->dtype), ir_dtype_name(a->dtype));
        if (cv->rank > 2)
            return op_fail(c, "C must have rank 2 or less (got %d)", cv->rank);
        int64_t want[2] = {M, N};
        for (int i = 0; i < cv->rank; i++) {
            int64_t d = cv->dims[i].size, w = want[2 - cv->rank + i];
            if (d != 1 && d != w)
                return op_fail(c, "C does not broadcast to [%" PRId64 ", %" PRId64 "]", M, N);
        }
    }
    int64_t dims[2] = {M, N};
    op_set_out(c, 0, a->dtype, 2, dims);
    return true;
}

bool nn_gemm_plan_of(const ir_graph *g, int node, nn_gemm_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    if (n->op != OP_GEMM)
        return false;
    const ir_value *a = ir_val(g, n->inputs[0]), *out = ir_val(g, n->outputs[0]);
    const ir_value *cv = n->n_inputs > 2 && n->inputs[2] >= 0 ? ir_val(g, n->inputs[2]) : NULL;
    if (a->rank != 2 || out->rank != 2)
        return false;
    p->trans_a = ir_attr_int(n, "transA", 0) != 0;
    p->trans_b = ir_attr_int(n, "transB", 0) != 0;
    p->alpha = ir_attr_float(n, "alpha", 1.0);
    p->beta = ir_attr_float(n, "beta", 1.0);
    p->M = out->dims[0].size;
    p->N = out->dims[1].size;
    p->K = a->dims[p->trans_a ? 0 : 1].size;
    /* beta == 0 drops C entirely (not even NaNs in it propagate). */
    p->use_c = cv && p->beta != 0.0;
    p->c_stride_m = p->c_stride_n = 0;
    if (p->use_c) {
        int64_t d0 = cv->rank == 2 ? cv->dims[0].size : 1;
        int64_t d1 = cv->rank >= 1 ? cv->dims[cv->rank - 1].size : 1;
        p->c_stride_m = d0 == 1 ? 0 : d1;
        p->c_stride_n = d1 == 1 ? 0 : 1;
    }
    return true;
}

static int64_t flops_gemm(const ir_graph *g, int node)
{
    nn_gemm_plan p;
    if (!nn_gemm_plan_of(g, node, &p))
        return 0;
    return op_sat_mul(op_sat_mul(2 * p.M, p.N), p.K);
}

/* --- Flatten ---------------------------------------------------------------------
 * [d0..d(axis-1)] x [d(axis)..] -> 2-D; axis in [-r, r] (negative since
 * opset 11).  Pure data movement. */

static const op_attr_spec flatten_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool infer_flatten(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in)
        return false;
    int64_t axis = ir_attr_int(op_node(c), "axis", 1);
    if (axis < -(int64_t)in->rank || axis > in->rank)
        return op_fail(c, "attribute 'axis' value %" PRId64 " is out of range for rank %d", axis, in->rank);
    if (axis < 0)
        axis += in->rank;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < in->rank; i++)
        dims[i < axis ? 0 : 1] *= in->dims[i].size;
    op_set_out(c, 0, in->dtype, 2, dims);
    return true;
}

static bool fold_flatten(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    void *dst = op_fold_alloc(c, 0);
    if (in->nbytes)
        memcpy(dst, in->data, in->nbytes);
    return true;
}

/* --- hodu.FusedEpilogue ------------------------------------------------------------ */

bool nn_epilogue_producer(const ir_graph *g, int node, int *channel_axis)
{
    const ir_node *n = ir_nd(g, node);
    if (n->n_outputs != 1 || n->outputs[0] < 0 || n->body)
        return false;
    const ir_value *out = ir_val(g, n->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || out->rank < 1 || !ir_value_is_static(out))
        return false;
    for (size_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] < 0 || ir_val(g, n->inputs[k])->dtype != HODU_DTYPE_F32)
            return false;
    switch (n->op) {
    case OP_CONV: *channel_axis = 1; return out->rank >= 3;
    case OP_CONV_BLOCKED: *channel_axis = -1; return true; /* channels span two axes: no per-channel operands */
    case OP_GEMM:
    case OP_MATMUL: *channel_axis = out->rank - 1; return true;
    default: return false;
    }
}

bool nn_epilogue_class_of(const ir_value *v, const ir_value *out, int axis, nn_epi_class *cls)
{
    if (v->dtype != HODU_DTYPE_F32 || v->rank > out->rank || !ir_value_is_static(v))
        return false;
    if (ir_value_numel(v) == 1) {
        *cls = NN_EPI_SCALAR;
        return true;
    }
    bool full = v->rank == out->rank, channel = true;
    int off = out->rank - v->rank;
    for (int i = 0; i < v->rank; i++) {
        int64_t d = v->dims[i].size, o = out->dims[i + off].size;
        /* over run-time dims (a fused general-path conv) the sizes are the
         * top of the range: a full operand runs over the same symbols, a
         * broadcast axis is a fixed 1 */
        const ir_dim *vd = &v->dims[i], *od = &out->dims[i + off];
        bool same = d == o && vd->rt == od->rt && (!vd->rt || strcmp(vd->sym, od->sym) == 0);
        full = full && same;
        channel = channel && (i + off == axis ? same : d == 1 && !vd->rt);
    }
    if (full || channel)
        *cls = full ? NN_EPI_FULL : NN_EPI_CHANNEL;
    return full || channel;
}

bool nn_epilogue_plan_of(const ir_graph *g, int node, nn_epilogue_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    memset(p, 0, sizeof(*p));
    const ir_graph *b = n->body;
    if (!b || b->n_nodes < 2 || n->n_outputs != 1 || n->outputs[0] < 0 || n->n_inputs > NN_EPI_MAX_INPUTS ||
        b->n_inputs != n->n_inputs)
        return false;
    const ir_node *pn = &b->nodes[0];
    if (!nn_epilogue_producer(b, 0, &p->channel_axis))
        return false;
    /* the producer reads node inputs 0.. in order */
    for (size_t k = 0; k < pn->n_inputs; k++)
        if (k >= b->n_inputs || pn->inputs[k] != b->inputs[k])
            return false;
    const ir_value *out = ir_val(g, n->outputs[0]);
    const ir_value *pout = ir_val(b, pn->outputs[0]);
    if (pout->rank != out->rank || out->dtype != HODU_DTYPE_F32)
        return false;
    for (int i = 0; i < out->rank; i++)
        if (pout->dims[i].size != out->dims[i].size)
            return false;
    for (size_t m = 1; m < b->n_nodes; m++) {
        const ir_value *mv = ir_val(b, b->nodes[m].outputs[0]);
        if (!ew_epilogue_fusable(b, (int)m) || mv->dtype != out->dtype || mv->rank != out->rank)
            return false;
        for (int i = 0; i < out->rank; i++)
            if (mv->dims[i].size != out->dims[i].size)
                return false;
    }
    p->body = b;
    p->producer_op = pn->op;
    p->n_producer_inputs = pn->n_inputs;
    p->n_inputs = n->n_inputs;
    /* every node input a member reads (the producer's too, when read again) */
    for (size_t m = 1; m < b->n_nodes; m++) {
        const ir_node *mn = &b->nodes[m];
        for (size_t j = 0; j < mn->n_inputs; j++) {
            int v = mn->inputs[j];
            if (v < 0 || ir_val(b, v)->kind != IR_VALUE_INPUT)
                continue;
            size_t k = 0;
            while (k < b->n_inputs && b->inputs[k] != v)
                k++;
            if (k == b->n_inputs || n->inputs[k] < 0 ||
                !nn_epilogue_class_of(ir_val(g, n->inputs[k]), out, p->channel_axis, &p->cls[k]))
                return false;
        }
    }
    return true;
}

static bool infer_fused_epilogue(op_ctx *c)
{
    /* Built by the fusion pass after inference, with its type set; the
     * body must be one a backend can lower. */
    if (!op_out(c, 0) || !ir_value_is_static(op_out(c, 0)))
        return op_fail(c, "internal error: no shape");
    nn_epilogue_plan p;
    return nn_epilogue_plan_of(c->g, c->node, &p) ? true : op_fail(c, "internal error: malformed epilogue body");
}

static int64_t flops_fused_epilogue(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *pd = n->body && n->body->n_nodes ? op_get(n->body->nodes[0].op) : NULL;
    int64_t f = pd && pd->flops ? pd->flops(n->body, 0) : 0;
    return f + (int64_t)(n->body ? n->body->n_nodes - 1 : 0) * ir_value_numel(ir_val(g, n->outputs[0]));
}

/* --- the family's ops ------------------------------------------------------------- */

OP_DEF(MATMUL, .infer = infer_matmul, .flops = flops_matmul, .grad = matmul_grad);
OP_DEF(MATMUL_INTEGER, .infer = infer_matmul_integer, .flops = flops_matmul);
OP_DEF(QLINEAR_MATMUL, .infer = infer_qlinear_matmul, .flops = flops_matmul);
OP_DEF(GEMM, .attrs = gemm_attrs, .infer = infer_gemm, .flops = flops_gemm, .grad = gemm_grad);
OP_DEF(FLATTEN, .attrs = flatten_attrs, .infer = infer_flatten, .fold = fold_flatten, .grad = flatten_grad);
OP_DEF(FUSED_EPILOGUE, .infer = infer_fused_epilogue, .flops = flops_fused_epilogue);
