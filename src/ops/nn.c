/*
 * ops/nn.c - the neural-network op family: matrix products, convolution,
 * pooling, resizing and Flatten.
 *
 * The table below is the family's one list.  MatMul, Gemm, MatMulInteger and
 * Flatten live in this file; convolution in nn_conv.c, pooling in
 * nn_pool.c and Resize in nn_resize.c (their entry points are declared in
 * nn_impl.h).
 *
 * Float32 products go through the kernel layer's hd_sgemm_ws (packed,
 * vectorised GEMM) with a scratch block from the memory plan; other dtypes
 * get plain loops with literal sizes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "nn_impl.h"

/* --- helpers shared by the family --------------------------------------- */

op_ctx nn_ctx_of(op_emit *e)
{
    op_ctx c = {(ir_graph *)e->g, e->node, e->d};
    return c;
}

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
        if (mode >= 2) {
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
                return op_fail(c, "the window (%" PRId64 " with dilation) is larger than the padded input (%" PRId64
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

uint64_t nn_sgemm_scratch_bytes(int64_t M, int64_t N, int64_t K)
{
    /* The kernel layer's worst case over every target the generated code may
     * be built for: the compiler cannot know the target's vector width. */
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    return nn_align64((uint64_t)hd_sgemm_scratch_floats_max(M, N, K) * sizeof(float));
}

void nn_emit_phase_split(op_emit *e, int64_t IH, int64_t IW, int64_t SW)
{
    int64_t PWd = (IW + SW - 1) / SW;
    em_line(e, "float *xs = (float *)scratch;");
    em_for(e, "r", IH);
    em_for(e, "j", PWd);
    for (int64_t ph = 0; ph < SW; ph++) {
        if ((PWd - 1) * SW + ph < IW)
            em_line(e, "xs[r * %" PRId64 " + %" PRId64 " + j] = x[r * %" PRId64 " + j * %" PRId64 " + %" PRId64 "];",
                    SW * PWd, ph * PWd, IW, SW, ph);
        else
            em_line(e, "xs[r * %" PRId64 " + %" PRId64 " + j] = j < %" PRId64 " ? x[r * %" PRId64 " + j * %" PRId64
                       " + %" PRId64 "] : 0.0f;",
                    SW * PWd, ph * PWd, PWd - 1, IW, SW, ph);
    }
    em_close(e);
    em_close(e);
}

void nn_offset_expr(hd_buf *b, int n, const char *const *vars, const int64_t *strides, int64_t base)
{
    bool any = false;
    if (base) {
        hd_buf_printf(b, "%" PRId64, base);
        any = true;
    }
    for (int i = 0; i < n; i++) {
        if (strides[i] == 0)
            continue;
        hd_buf_printf(b, "%s%s * %" PRId64, any ? " + " : "", vars[i], strides[i]);
        any = true;
    }
    if (!any)
        hd_buf_puts(b, "0");
}

/* A C float literal that reads back as exactly `v`. */
static void float_lit(char *buf, size_t n, double v)
{
    float f = (float)v;
    if (isnan(f))
        snprintf(buf, n, "NAN");
    else if (isinf(f))
        snprintf(buf, n, f > 0 ? "INFINITY" : "(-INFINITY)");
    else {
        snprintf(buf, n, "%.9g", (double)f);
        if (!strpbrk(buf, ".e"))
            strncat(buf, ".0", n - strlen(buf) - 1);
        strncat(buf, "f", n - strlen(buf) - 1);
    }
}

static bool is_float_type(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Unsigned type of the same width, for wrapping integer arithmetic. */
static const char *wrap_ctype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32: return "uint32_t";
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return "uint64_t";
    default: return NULL;
    }
}

/* --- MatMul ----------------------------------------------------------------
 * numpy matmul: 1-D A is [1,K] (the M dim is dropped from the result), 1-D
 * B is [K,1] (N dropped); leading dims broadcast.  T: f16, bf16, f32, f64,
 * i32, i64, u32, u64.  Float32 goes to hd_sgemm_ws, folding the batch into M
 * when B has no batch of its own. */

typedef struct mm_shape {
    int64_t M, N, K;
    int br; /* output batch rank */
    int64_t bdims[HODU_MAX_RANK];
    int64_t sa[HODU_MAX_RANK], sb[HODU_MAX_RANK]; /* batch strides in elements (0 = broadcast) */
    int64_t batch;                                  /* product of bdims */
    bool a_batched, b_batched;                      /* any nonzero stride */
} mm_shape;

static bool mm_shapes(op_ctx *c, const ir_value *a, const ir_value *b, mm_shape *s, int *out_rank,
                      int64_t *out_dims)
{
    if (a->rank < 1 || b->rank < 1)
        return op_fail(c, "inputs must have rank 1 or more (got %d and %d)", a->rank, b->rank);
    int64_t ad[HODU_MAX_RANK + 1], bd[HODU_MAX_RANK + 1];
    int ar = a->rank, brk = b->rank;
    em_dims(a, ad);
    em_dims(b, bd);
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
        return op_fail(c, "inner dims differ: '%s' has %" PRId64 " columns, '%s' has %" PRId64 " rows", a->name,
                       s->K, b->name, bd[brk - 2]);
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
    mm_shape s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    if (!mm_shapes(c, a, b, &s, &r, dims))
        return false;
    op_set_out(c, 0, a->dtype, r, dims);
    return true;
}

static void mm_get(const ir_graph *g, int node, mm_shape *s)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    int r;
    int64_t dims[HODU_MAX_RANK];
    mm_shapes(&c, ir_val(g, ir_nd(g, node)->inputs[0]), ir_val(g, ir_nd(g, node)->inputs[1]), s, &r, dims);
}

/* Opens loops over the output batch dims and writes the three offset
 * expressions (A, B, out); returns how many loops were opened. */
static int mm_open_batch(op_emit *e, const mm_shape *s, hd_buf *oa, hd_buf *ob, hd_buf *oc)
{
    const char *vars[HODU_MAX_RANK];
    static const char *const names[] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int64_t sc[HODU_MAX_RANK];
    int64_t st = s->M * s->N;
    for (int i = s->br - 1; i >= 0; i--) {
        sc[i] = s->bdims[i] == 1 ? 0 : st;
        st *= s->bdims[i];
    }
    int opened = 0;
    for (int i = 0; i < s->br; i++) {
        vars[i] = names[i];
        if (s->bdims[i] != 1) {
            em_for(e, names[i], s->bdims[i]);
            opened++;
        }
    }
    int64_t sa[HODU_MAX_RANK], sb[HODU_MAX_RANK];
    for (int i = 0; i < s->br; i++) {
        sa[i] = s->bdims[i] == 1 ? 0 : s->sa[i];
        sb[i] = s->bdims[i] == 1 ? 0 : s->sb[i];
        if (s->bdims[i] == 1)
            sc[i] = 0;
    }
    nn_offset_expr(oa, s->br, vars, sa, 0);
    nn_offset_expr(ob, s->br, vars, sb, 0);
    nn_offset_expr(oc, s->br, vars, sc, 0);
    return opened;
}

static bool emit_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *out = em_out(e, 0);
    mm_shape s;
    mm_get(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    hodu_dtype t = a->dtype;
    if (s.K == 0) {
        em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
        return true;
    }
    if (t == HODU_DTYPE_F32) {
        if (!s.b_batched) {
            /* B is one matrix: the batch folds into M (A's batch is
             * contiguous, and out has the same batch layout). */
            if (s.a_batched || s.batch == 1) {
                em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0, %" PRId64
                           ", 0, in1, %" PRId64 ", 0, out0, %" PRId64 ", 1.0f, 0.0f, (float *)scratch);",
                        s.M * s.batch, s.N, s.K, s.K, s.N, s.N);
                return true;
            }
        }
        hd_buf oa, ob, oc;
        hd_buf_init(&oa);
        hd_buf_init(&ob);
        hd_buf_init(&oc);
        int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
        em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0 + %s, %" PRId64 ", 0, in1 + %s, %" PRId64
                   ", 0, out0 + %s, %" PRId64 ", 1.0f, 0.0f, (float *)scratch);",
                s.M, s.N, s.K, oa.data, s.K, ob.data, s.N, oc.data, s.N);
        for (int i = 0; i < opened; i++)
            em_close(e);
        hd_buf_free(&oa);
        hd_buf_free(&ob);
        hd_buf_free(&oc);
        return true;
    }
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    const char *ct = em_ctype(t);
    em_line(e, "const %s *a = in0 + %s;", ct, oa.data);
    em_line(e, "const %s *b = in1 + %s;", ct, ob.data);
    em_line(e, "%s *o = out0 + %s;", ct, oc.data);
    if (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) {
        const char *cv = t == HODU_DTYPE_F16 ? "hd_f16_to_f32" : "hd_bf16_to_f32";
        const char *cs = t == HODU_DTYPE_F16 ? "hd_f32_to_f16" : "hd_f32_to_bf16";
        em_for(e, "m", s.M);
        em_for(e, "n", s.N);
        em_line(e, "float acc = 0.0f;");
        em_for(e, "k", s.K);
        em_line(e, "acc += %s(a[m * %" PRId64 " + k]) * %s(b[k * %" PRId64 " + n]);", cv, s.K, cv, s.N);
        em_close(e);
        em_line(e, "o[m * %" PRId64 " + n] = %s(acc);", s.N, cs);
        em_close(e);
        em_close(e);
    } else {
        /* i-k-j order: the inner loop runs along rows of B and out. */
        const char *wt = wrap_ctype(t);
        em_for(e, "m", s.M);
        em_line(e, "%s *orow = o + m * %" PRId64 ";", ct, s.N);
        em_for(e, "n", s.N);
        em_line(e, "orow[n] = 0;");
        em_close(e);
        em_for(e, "k", s.K);
        em_line(e, "const %s av = a[m * %" PRId64 " + k];", ct, s.K);
        em_line(e, "const %s *brow = b + k * %" PRId64 ";", ct, s.N);
        em_for(e, "n", s.N);
        if (wt)
            em_line(e, "orow[n] = (%s)((%s)orow[n] + (%s)av * (%s)brow[n]);", ct, wt, wt, wt);
        else
            em_line(e, "orow[n] += av * brow[n];");
        em_close(e);
        em_close(e);
        em_close(e);
    }
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
    return true;
}

static int64_t flops_matmul(const ir_graph *g, int node)
{
    mm_shape s;
    mm_get(g, node, &s);
    return op_sat_mul(op_sat_mul(2 * s.batch, s.M), op_sat_mul(s.N, s.K));
}

static uint64_t scratch_matmul(const ir_graph *g, int node)
{
    if (ir_val(g, ir_nd(g, node)->inputs[0])->dtype != HODU_DTYPE_F32)
        return 0;
    mm_shape s;
    mm_get(g, node, &s);
    if (s.K == 0 || s.batch * s.M * s.N == 0)
        return 0;
    int64_t m = (!s.b_batched && (s.a_batched || s.batch == 1)) ? s.M * s.batch : s.M;
    return nn_sgemm_scratch_bytes(m, s.N, s.K);
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
    mm_shape s;
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

static bool emit_matmul_integer(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 1), *out = em_out(e, 0);
    const ir_value *za = em_in(e, 2), *zb = em_in(e, 3);
    op_ctx c = nn_ctx_of(e);
    mm_shape s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    mm_shapes(&c, a, b, &s, &r, dims);
    if (ir_value_numel(out) == 0)
        return true;
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    em_line(e, "const %s *a = in0 + %s;", em_ctype(a->dtype), oa.data);
    em_line(e, "const %s *b = in1 + %s;", em_ctype(b->dtype), ob.data);
    em_line(e, "int32_t *o = out0 + %s;", oc.data);
    em_for(e, "m", s.M);
    if (za)
        em_line(e, "const int32_t za = (int32_t)in2[%s];", ir_value_numel(za) == 1 ? "0" : "m");
    else
        em_line(e, "const int32_t za = 0;");
    em_for(e, "n", s.N);
    em_line(e, "o[m * %" PRId64 " + n] = 0;", s.N);
    em_close(e);
    em_for(e, "k", s.K);
    em_line(e, "const int32_t av = (int32_t)a[m * %" PRId64 " + k] - za;", s.K);
    em_for(e, "n", s.N);
    if (zb)
        em_line(e, "const int32_t zb = (int32_t)in3[%s];", ir_value_numel(zb) == 1 ? "0" : "n");
    em_line(e, "o[m * %" PRId64 " + n] += av * ((int32_t)b[k * %" PRId64 " + n]%s);", s.N, s.N, zb ? " - zb" : "");
    em_close(e);
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
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
    if ((a->dtype != HODU_DTYPE_I8 && a->dtype != HODU_DTYPE_U8) || (b->dtype != HODU_DTYPE_I8 && b->dtype != HODU_DTYPE_U8))
        return op_fail(c, "a and b must be int8 or uint8 (got %s and %s)", ir_dtype_name(a->dtype), ir_dtype_name(b->dtype));
    mm_shape s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    if (!mm_shapes(c, a, b, &s, &r, dims))
        return false;
    static const char *const names[] = {"", "a_scale", "a_zero_point", "", "b_scale", "b_zero_point", "y_scale",
                                        "y_zero_point"};
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
            return op_fail(c, "%s must be a scalar%s", names[i], (i == 4 || i == 5) ? " or have one value per column" : "");
    }
    const ir_value *yz = op_in(c, 7);
    if (yz->dtype != HODU_DTYPE_I8 && yz->dtype != HODU_DTYPE_U8)
        return op_fail(c, "y_zero_point must be int8 or uint8, got %s", ir_dtype_name(yz->dtype));
    op_set_out(c, 0, yz->dtype, r, dims);
    return true;
}

static bool emit_qlinear_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 3), *out = em_out(e, 0);
    op_ctx c = nn_ctx_of(e);
    mm_shape s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    mm_shapes(&c, a, b, &s, &r, dims);
    if (ir_value_numel(out) == 0)
        return true;
    bool bcol = ir_value_numel(em_in(e, 4)) > 1, zcol = ir_value_numel(em_in(e, 5)) > 1;
    bool f16 = em_in(e, 1)->dtype == HODU_DTYPE_F16;
    char *las = em_load(em_in(e, 1)->dtype, "in1[0]");
    char *lbs = em_load(em_in(e, 4)->dtype, bcol ? "in4[n]" : "in4[0]");
    char *lys = em_load(em_in(e, 6)->dtype, "in6[0]");
    bool s8 = out->dtype == HODU_DTYPE_I8;
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    em_line(e, "const %s *a = in0 + %s;", em_ctype(a->dtype), oa.data);
    em_line(e, "const %s *b = in3 + %s;", em_ctype(b->dtype), ob.data);
    em_line(e, "%s *o = out0 + %s;", em_ctype(out->dtype), oc.data);
    em_line(e, "const int32_t za = (int32_t)in2[0];");
    em_for(e, "m", s.M);
    em_for(e, "n", s.N);
    em_line(e, "const int32_t zb = (int32_t)in5[%s];", zcol ? "n" : "0");
    em_line(e, "int32_t acc = 0;");
    em_for(e, "k", s.K);
    em_line(e, "acc += ((int32_t)a[m * %" PRId64 " + k] - za) * ((int32_t)b[k * %" PRId64 " + n] - zb);", s.K, s.N);
    em_close(e);
    if (f16)
        em_line(e, "const float mult = hd_f16_to_f32(hd_f32_to_f16(hd_f16_to_f32(hd_f32_to_f16(%s * %s)) / %s));", las,
                lbs, lys);
    else
        em_line(e, "const float mult = (%s * %s) / %s;", las, lbs, lys);
    em_line(e, "double v = rint((double)acc * (double)mult + (double)in7[0]);");
    em_line(e, "v = v < %s ? %s : (v > %s ? %s : v);", s8 ? "-128.0" : "0.0", s8 ? "-128.0" : "0.0", s8 ? "127.0" : "255.0",
            s8 ? "127.0" : "255.0");
    em_line(e, "o[m * %" PRId64 " + n] = (%s)v;", s.N, em_ctype(out->dtype));
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
    free(las);
    free(lbs);
    free(lys);
    return true;
}

static int64_t flops_qlinear_matmul(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    op_ctx c = {(ir_graph *)g, node, NULL};
    mm_shape s;
    int r;
    int64_t dims[HODU_MAX_RANK];
    mm_shapes(&c, ir_val(g, n->inputs[0]), ir_val(g, n->inputs[3]), &s, &r, dims);
    return op_sat_mul(op_sat_mul(2 * s.batch, s.M), op_sat_mul(s.N, s.K));
}

/* --- Gemm ----------------------------------------------------------------------
 * Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (2-D), likewise B;
 * C (optional since opset 11) broadcasts unidirectionally to [M, N].
 * T: f16, bf16, f32, f64, i32, i64, u32, u64.  "broadcast" is the opset < 7
 * attribute, accepted and ignored (broadcasting is always on). */

static const op_attr_spec gemm_attrs[] = {{"alpha", IR_ATTR_FLOAT},  {"beta", IR_ATTR_FLOAT},
                                          {"transA", IR_ATTR_INT},   {"transB", IR_ATTR_INT},
                                          {"broadcast", IR_ATTR_INT}, {NULL, 0}};

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

static bool emit_gemm(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 1), *cv = em_in(e, 2), *out = em_out(e, 0);
    const ir_node *n = em_node(e);
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
    int64_t M = out->dims[0].size, N = out->dims[1].size, K = a->dims[ta ? 0 : 1].size;
    (void)b;
    if (M * N == 0)
        return true;
    hodu_dtype t = a->dtype;
    const char *ct = em_ctype(t);
    bool use_c = cv && beta != 0.0;
    int64_t cs0 = 0, cs1 = 0;
    if (use_c) {
        int64_t d0 = cv->rank == 2 ? cv->dims[0].size : 1;
        int64_t d1 = cv->rank >= 1 ? cv->dims[cv->rank - 1].size : 1;
        cs0 = d0 == 1 ? 0 : d1;
        cs1 = d1 == 1 ? 0 : 1;
    }
    char al[64], be[64];
    if (t == HODU_DTYPE_F64) {
        snprintf(al, sizeof(al), "%s", em_f64(alpha).s);
        snprintf(be, sizeof(be), "%s", em_f64(beta).s);
    } else {
        float_lit(al, sizeof(al), alpha);
        float_lit(be, sizeof(be), beta);
    }
    if (t == HODU_DTYPE_F32) {
        /* out = beta * C first, then out += alpha * A'B' */
        if (use_c) {
            em_for(e, "m", M);
            em_for(e, "n", N);
            em_line(e, "out0[m * %" PRId64 " + n] = %s * in2[m * %" PRId64 " + n * %" PRId64 "];", N, be, cs0, cs1);
            em_close(e);
            em_close(e);
        }
        if (K == 0) {
            if (!use_c)
                em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
            return true;
        }
        em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0, %" PRId64 ", %d, in1, %" PRId64
                   ", %d, out0, %" PRId64 ", %s, %s, (float *)scratch);",
                M, N, K, ta ? M : K, ta ? 1 : 0, tb ? K : N, tb ? 1 : 0, N, al, use_c ? "1.0f" : "0.0f");
        return true;
    }
    /* Other types: a dot product per output element. */
    bool is_f = is_float_type(t);
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : (is_f ? "float" : wrap_ctype(t));
    char ia[96], ib[96];
    if (ta)
        snprintf(ia, sizeof(ia), "k * %" PRId64 " + m", M);
    else
        snprintf(ia, sizeof(ia), "m * %" PRId64 " + k", K);
    if (tb)
        snprintf(ib, sizeof(ib), "n * %" PRId64 " + k", K);
    else
        snprintf(ib, sizeof(ib), "k * %" PRId64 " + n", N);
    char *ld_a = em_load(t, "in0[ia]"), *ld_b = em_load(t, "in1[ib]");
    char *ld_c = em_load(t, "in2[ic]");
    em_for(e, "m", M);
    em_for(e, "n", N);
    em_line(e, "%s acc = 0;", acc_t);
    em_for(e, "k", K);
    em_line(e, "const int64_t ia = %s, ib = %s;", ia, ib);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, ld_a, acc_t, ld_b);
    em_close(e);
    if (use_c)
        em_line(e, "const int64_t ic = m * %" PRId64 " + n * %" PRId64 ";", cs0, cs1);
    char *res;
    if (is_f) {
        if (use_c)
            res = hd_xasprintf("(%s)%s * acc + (%s)%s * %s", acc_t, al, acc_t, be, ld_c);
        else
            res = hd_xasprintf("(%s)%s * acc", acc_t, al);
    } else if (alpha == 1.0 && (!use_c || beta == 1.0)) {
        res = use_c ? hd_xasprintf("acc + (%s)in2[ic]", acc_t) : hd_xstrdup("acc");
    } else {
        res = use_c ? hd_xasprintf("%s * (double)(%s)acc + %s * (double)in2[ic]", em_f64(alpha).s, ct, em_f64(beta).s)
                    : hd_xasprintf("%s * (double)(%s)acc", em_f64(alpha).s, ct);
    }
    char *st = em_store(t, res);
    em_line(e, "out0[m * %" PRId64 " + n] = %s;", N, st);
    em_close(e);
    em_close(e);
    free(res);
    free(st);
    free(ld_a);
    free(ld_b);
    free(ld_c);
    return true;
}

static int64_t flops_gemm(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *a = ir_val(g, n->inputs[0]), *out = ir_val(g, n->outputs[0]);
    bool ta = ir_attr_int(n, "transA", 0) != 0;
    return op_sat_mul(op_sat_mul(2 * out->dims[0].size, out->dims[1].size), a->dims[ta ? 0 : 1].size);
}

static uint64_t scratch_gemm(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *a = ir_val(g, n->inputs[0]), *out = ir_val(g, n->outputs[0]);
    if (a->dtype != HODU_DTYPE_F32)
        return 0;
    bool ta = ir_attr_int(n, "transA", 0) != 0;
    int64_t M = out->dims[0].size, N = out->dims[1].size, K = a->dims[ta ? 0 : 1].size;
    if (M == 0 || N == 0 || K == 0)
        return 0;
    return nn_sgemm_scratch_bytes(M, N, K);
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

static bool emit_flatten(op_emit *e)
{
    size_t nbytes = ir_value_nbytes(em_out(e, 0));
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    return true;
}

/* --- the family's ops ------------------------------------------------------------- */

OP_DEF(MATMUL, .infer = infer_matmul, .emit = emit_matmul, .flops = flops_matmul, .scratch = scratch_matmul);
OP_DEF(MATMUL_INTEGER, .infer = infer_matmul_integer, .emit = emit_matmul_integer, .flops = flops_matmul);
OP_DEF(QLINEAR_MATMUL, .infer = infer_qlinear_matmul, .emit = emit_qlinear_matmul, .flops = flops_qlinear_matmul);
OP_DEF(GEMM, .attrs = gemm_attrs, .infer = infer_gemm, .emit = emit_gemm, .flops = flops_gemm, .scratch = scratch_gemm);
OP_DEF(FLATTEN, .attrs = flatten_attrs, .infer = infer_flatten, .fold = fold_flatten, .emit = emit_flatten);
