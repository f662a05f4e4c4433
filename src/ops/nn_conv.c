/*
 * ops/nn_conv.c - Conv and ConvTranspose (part of the nn family; the table
 * entries are in nn.c).
 *
 * Conv: X [N, C, D1..Dn], W [M, C/group, k1..kn], optional B [M] ->
 * Y [N, M, O1..On].  Attributes auto_pad, dilations, group, kernel_shape
 * (must agree with W when given), pads, strides.  T: f16, bf16, f32, f64.
 *
 * Float32 lowers per image and group to im2col + hd_sgemm_ws: W's layout
 * [M, C/group, k...] already is the row-major A matrix [M/group,
 * C/group * prod(k)] of each group, and the column matrix is
 * [C/group * prod(k), prod(O)].  A 1x1 kernel with stride 1 and no padding
 * needs no im2col: the input image is the column matrix.  Depthwise 2-D
 * convolution (group == C == M) is a direct loop instead: it has too
 * little arithmetic per element for a GEMM.  Other dtypes use a direct
 * loop.  The bias add is an epilogue in the same function.
 *
 * ConvTranspose: X [N, C, D...], W [C, M/group, k...] -> Y [N, M, O...] with
 * O = stride*(D-1) + output_padding + (k-1)*dilation + 1 - pads, or the
 * output_shape attribute (pads are then derived from it, SAME_UPPER putting
 * the smaller half first).  Float32 lowers to a GEMM (W_g^T X_g) and a
 * col2im scatter; other dtypes use a direct gather loop.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"

static const char *const KV[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

typedef struct conv_geom {
    nn_window w;
    int64_t N, C, M, G, Cg, Mg;
    int64_t IP, OP, KP; /* products of the input, output and kernel spatial dims */
} conv_geom;

/* Saturates: an output product past int64 is refused after inference by
 * the size limit check, so the saturated value is never used for code. */
static int64_t prod(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p = op_sat_mul(p, v[i]);
    return p;
}

static bool is_conv_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Shared checks of X, W, B for both ops.  `transpose` selects W's layout. */
/* Where X, W and B sit among a conv op's inputs (B: -1 when it has none). */
typedef struct conv_io {
    int x, w, b;
    bool quant; /* ConvInteger / QLinearConv: int8/uint8 data */
} conv_io;

static conv_io conv_io_of(const ir_node *n)
{
    if (n->op == OP_QLINEAR_CONV)
        return (conv_io){0, 3, 8, true};
    if (n->op == OP_CONV_INTEGER)
        return (conv_io){0, 1, -1, true};
    return (conv_io){0, 1, 2, false};
}

static bool is_q8(hodu_dtype t) { return t == HODU_DTYPE_I8 || t == HODU_DTYPE_U8; }

static bool conv_common(op_ctx *c, conv_geom *g, bool transpose)
{
    conv_io io = conv_io_of(op_node(c));
    const ir_value *x = op_need_static(c, (size_t)io.x), *w = op_need_static(c, (size_t)io.w);
    if (!x || !w)
        return false;
    if (x->rank < 3 || x->rank > HODU_MAX_RANK)
        return op_fail(c, "input X must have rank 3 or more (N, C, spatial dims), got %d", x->rank);
    if (w->rank != x->rank)
        return op_fail(c, "weight W has rank %d; X has rank %d", w->rank, x->rank);
    if (io.quant) {
        if (!is_q8(x->dtype) || !is_q8(w->dtype))
            return op_fail(c, "X and W must be int8 or uint8 (got %s and %s)", ir_dtype_name(x->dtype),
                           ir_dtype_name(w->dtype));
    } else {
        if (!is_conv_float(x->dtype))
            return op_fail(c, "type %s is not supported", ir_dtype_name(x->dtype));
        if (w->dtype != x->dtype)
            return op_fail(c, "W has type %s; X has %s", ir_dtype_name(w->dtype), ir_dtype_name(x->dtype));
    }
    int nd = x->rank - 2;
    memset(g, 0, sizeof(*g));
    g->w.nd = nd;
    g->N = x->dims[0].size;
    g->C = x->dims[1].size;
    g->G = ir_attr_int(op_node(c), "group", 1);
    if (g->G < 1)
        return op_fail(c, "attribute 'group' value %" PRId64 " must be at least 1", g->G);
    if (g->C % g->G != 0)
        return op_fail(c, "channels (%" PRId64 ") are not divisible by group (%" PRId64 ")", g->C, g->G);
    g->Cg = g->C / g->G;
    if (transpose) {
        if (w->dims[0].size != g->C)
            return op_fail(c, "W has %" PRId64 " input channels; X has %" PRId64, w->dims[0].size, g->C);
        g->Mg = w->dims[1].size;
        g->M = g->Mg * g->G;
    } else {
        g->M = w->dims[0].size;
        if (w->dims[1].size != g->Cg)
            return op_fail(c, "W has %" PRId64 " channels per group; X has %" PRId64 " / group %" PRId64 " = %" PRId64,
                           w->dims[1].size, g->C, g->G, g->Cg);
        if (g->M % g->G != 0)
            return op_fail(c, "output channels (%" PRId64 ") are not divisible by group (%" PRId64 ")", g->M, g->G);
        g->Mg = g->M / g->G;
    }
    for (int i = 0; i < nd; i++) {
        g->w.in[i] = x->dims[i + 2].size;
        g->w.k[i] = w->dims[i + 2].size;
    }
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(op_node(c), "kernel_shape", &nk);
    if (ks) {
        if (nk != (size_t)nd)
            return op_fail(c, "attribute 'kernel_shape' has %zu values; expected %d", nk, nd);
        for (int i = 0; i < nd; i++)
            if (ks[i] != g->w.k[i])
                return op_fail(c, "attribute 'kernel_shape' (%" PRId64 " in dim %d) disagrees with W (%" PRId64 ")",
                               ks[i], i, g->w.k[i]);
    }
    const ir_value *b = io.b >= 0 ? op_in(c, (size_t)io.b) : NULL;
    if (b) {
        if (!ir_value_is_static(b))
            return op_need_static(c, (size_t)io.b) != NULL;
        hodu_dtype bt = io.quant ? HODU_DTYPE_I32 : x->dtype;
        if (b->dtype != bt)
            return op_fail(c, "bias B has type %s; expected %s", ir_dtype_name(b->dtype), ir_dtype_name(bt));
        if (b->rank != 1 || b->dims[0].size != g->M)
            return op_fail(c, "bias B must be 1-D with %" PRId64 " elements", g->M);
    }
    g->IP = prod(g->w.in, nd);
    g->KP = prod(g->w.k, nd);
    return true;
}

static bool conv_geom_get(op_ctx *c, conv_geom *g)
{
    if (!conv_common(c, g, false) || !nn_window_attrs(c, &g->w, false))
        return false;
    g->OP = prod(g->w.out, g->w.nd);
    return true;
}

/* --- Conv ---------------------------------------------------------------- */

/* Whether index o*s - pb + k*d can leave [0, in) along spatial dim i. */
static bool dim_needs_check(const nn_window *w, int i)
{
    return w->pb[i] > 0 || (w->out[i] - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] - w->pb[i] > w->in[i] - 1;
}

/* Checks a quantization parameter: a scalar, or (when per_m) M values. */
static bool q_param(op_ctx *c, size_t i, int64_t M, bool per_m, bool is_scale, hodu_dtype want, const char *what)
{
    const ir_value *v = op_in(c, i);
    if (!v)
        return true;
    if (!ir_value_is_static(v))
        return op_need_static(c, i) != NULL;
    if (is_scale ? (v->dtype != HODU_DTYPE_F32 && v->dtype != HODU_DTYPE_F16) : v->dtype != want)
        return op_fail(c, "%s has type %s", what, ir_dtype_name(v->dtype));
    int64_t n = ir_value_numel(v);
    if (n != 1 && !(per_m && n == M && v->rank == 1))
        return op_fail(c, "%s must be a scalar%s", what, per_m ? " or have one value per output channel" : "");
    return true;
}

bool nn_infer_conv(op_ctx *c)
{
    conv_geom g;
    if (!conv_geom_get(c, &g))
        return false;
    const ir_node *n = op_node(c);
    hodu_dtype xt = op_in(c, 0)->dtype, out_t = xt;
    if (n->op == OP_CONV_INTEGER) {
        out_t = HODU_DTYPE_I32;
        if (!q_param(c, 2, g.M, false, false, xt, "x_zero_point") ||
            !q_param(c, 3, g.M, true, false, op_in(c, 1)->dtype, "w_zero_point"))
            return false;
    } else if (n->op == OP_QLINEAR_CONV) {
        for (size_t i = 0; i < 8; i++)
            if (i != 2 && i != 5 && i != 7 && !op_in(c, i))
                return op_fail(c, "input %zu is required", i);
        const ir_value *yz = op_in(c, 7);
        out_t = yz ? yz->dtype : xt;
        if (!q_param(c, 1, g.M, false, true, 0, "x_scale") || !q_param(c, 2, g.M, false, false, xt, "x_zero_point") ||
            !q_param(c, 4, g.M, true, true, 0, "w_scale") ||
            !q_param(c, 5, g.M, true, false, op_in(c, 3)->dtype, "w_zero_point") ||
            !q_param(c, 6, g.M, false, true, 0, "y_scale") || !q_param(c, 7, g.M, false, false, out_t, "y_zero_point"))
            return false;
        if (!is_q8(out_t))
            return op_fail(c, "y_zero_point must be int8 or uint8");
    }
    int64_t dims[HODU_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.w.nd; i++)
        dims[i + 2] = g.w.out[i];
    op_set_out(c, 0, out_t, g.w.nd + 2, dims);
    return true;
}

/* Direct integer convolution (ConvInteger, QLinearConv): int32 sums of
 * (x - x_zero_point) * (w - w_zero_point); padding contributes nothing.
 * QLinearConv adds the int32 bias, scales by x_scale * w_scale / y_scale
 * (float), adds y_zero_point, rounds half to even and saturates. */
static void emit_conv_quant(op_emit *e, const conv_geom *g, bool qlinear)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    const ir_value *out = em_out(e, 0);
    int wi_ = qlinear ? 3 : 1, xz = 2, wz = qlinear ? 5 : 3;
    const ir_value *xzv = em_in(e, (size_t)xz), *wzv = em_in(e, (size_t)wz);
    em_for(e, "n", g->N);
    em_for(e, "m", g->M);
    em_line(e, "const int64_t grp = m / %" PRId64 ";", g->Mg);
    if (xzv)
        em_line(e, "const int32_t xz = (int32_t)in%d[0];", xz);
    else
        em_line(e, "const int32_t xz = 0;");
    if (wzv)
        em_line(e, "const int32_t wz = (int32_t)in%d[%s];", wz, ir_value_numel(wzv) == 1 ? "0" : "m");
    else
        em_line(e, "const int32_t wz = 0;");
    if (qlinear) {
        const ir_value *xs = em_in(e, 1), *ws = em_in(e, 4), *ys = em_in(e, 6);
        char *lx = em_load(xs->dtype, "in1[0]");
        char *lw = em_load(ws->dtype, ir_value_numel(ws) == 1 ? "in4[0]" : "in4[m]");
        char *ly = em_load(ys->dtype, "in6[0]");
        if (xs->dtype == HODU_DTYPE_F16)
            em_line(e, "const float mult = hd_f16_to_f32(hd_f32_to_f16(hd_f16_to_f32(hd_f32_to_f16(%s * %s)) / %s));", lx,
                    lw, ly);
        else
            em_line(e, "const float mult = (%s * %s) / %s;", lx, lw, ly);
        free(lx);
        free(lw);
        free(ly);
    }
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    em_line(e, "int32_t acc = %s;", qlinear && em_in(e, 8) ? "in8[m]" : "0");
    em_for(e, "c", g->Cg);
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w->k[i]);
        em_line(e, "const int64_t %s = %s * %" PRId64 " + %s * %" PRId64 " - %" PRId64 ";", IV[i], OV[i], w->s[i],
                KV[i], w->d[i], w->pb[i]);
        if (dim_needs_check(w, i))
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    hd_buf xi, wi, oi;
    hd_buf_init(&xi);
    hd_buf_init(&wi);
    hd_buf_init(&oi);
    hd_buf_printf(&xi, "(n * %" PRId64 " + grp * %" PRId64 " + c) * %" PRId64, g->C, g->Cg, g->IP);
    hd_buf_printf(&wi, "(m * %" PRId64 " + c) * %" PRId64, g->Cg, g->KP);
    hd_buf_printf(&oi, "(n * %" PRId64 " + m) * %" PRId64, g->M, g->OP);
    int64_t si = 1, sk = 1, so = 1;
    for (int i = nd - 1; i >= 0; i--) {
        hd_buf_printf(&xi, " + %s * %" PRId64, IV[i], si);
        hd_buf_printf(&wi, " + %s * %" PRId64, KV[i], sk);
        hd_buf_printf(&oi, " + %s * %" PRId64, OV[i], so);
        si *= w->in[i];
        sk *= w->k[i];
        so *= w->out[i];
    }
    em_line(e, "acc += ((int32_t)in0[%s] - xz) * ((int32_t)in%d[%s] - wz);", xi.data, wi_, wi.data);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    if (qlinear) {
        bool s8 = out->dtype == HODU_DTYPE_I8;
        em_line(e, "double r = (double)acc * (double)mult + (double)%s;", em_in(e, 7) ? "in7[0]" : "0");
        em_line(e, "r = r < %s ? %s : (r > %s ? %s : r);", s8 ? "-128.0" : "0.0", s8 ? "-128.0" : "0.0",
                s8 ? "127.0" : "255.0", s8 ? "127.0" : "255.0");
        em_line(e, "out0[%s] = (%s)rint(r);", oi.data, em_ctype(out->dtype));
    } else {
        em_line(e, "out0[%s] = acc;", oi.data);
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    em_close(e);
    hd_buf_free(&xi);
    hd_buf_free(&wi);
    hd_buf_free(&oi);
}

static void conv_get(const ir_graph *gr, int node, conv_geom *g)
{
    op_ctx c = {(ir_graph *)gr, node, NULL};
    conv_geom_get(&c, g);
}

/* 1x1 kernel, stride 1, no padding: the image is its own column matrix. */
static bool conv_pointwise(const conv_geom *g)
{
    for (int i = 0; i < g->w.nd; i++)
        if (g->w.k[i] != 1 || g->w.s[i] != 1 || g->w.pb[i] || g->w.pe[i])
            return false;
    return true;
}

static bool conv_depthwise2d(const conv_geom *g)
{
    return g->w.nd == 2 && g->G == g->C && g->M == g->C && g->G > 1;
}

/* Writes the lowest and one-past-highest o in [0, out) for which
 * 0 <= o*s + off < in, as C expressions of the run-time `off` (named by
 * `offv`). */
static void emit_valid_range(op_emit *e, const char *offv, int64_t s, int64_t in, int64_t out, const char *lo,
                             const char *hi)
{
    em_line(e, "int64_t %s = %s >= 0 ? 0 : (-%s + %" PRId64 ") / %" PRId64 ";", lo, offv, offv, s - 1, s);
    em_line(e, "int64_t %s = %s >= %" PRId64 " ? 0 : (%" PRId64 " - %s + %" PRId64 ") / %" PRId64 ";", hi, offv, in,
            in, offv, s - 1, s);
    em_line(e, "if (%s > %" PRId64 ") %s = %" PRId64 ";", lo, out, lo, out);
    em_line(e, "if (%s > %" PRId64 ") %s = %" PRId64 ";", hi, out, hi, out);
    em_line(e, "if (%s < %s) %s = %s;", hi, lo, hi, lo);
}

/* Output rows (along the first spatial dim) per im2col chunk: the column
 * block [Cg*KP, rows * inner] is sized to stay in L2 between im2col writing
 * it and the GEMM packing it.  1-D convolutions take one chunk. */
#define CONV_COL_CHUNK_FLOATS ((int64_t)1 << 18)

static int64_t conv_inner(const conv_geom *g)
{
    int64_t inner = 1;
    for (int i = 1; i < g->w.nd; i++)
        inner *= g->w.out[i];
    return inner;
}

static int64_t conv_chunk_rows(const conv_geom *g)
{
    int64_t o0 = g->w.out[0];
    if (g->w.nd < 2 || o0 <= 1)
        return o0 > 0 ? o0 : 1;
    int64_t per_row = g->Cg * g->KP * conv_inner(g);
    int64_t r = per_row > 0 ? CONV_COL_CHUNK_FLOATS / per_row : o0;
    return r < 1 ? 1 : (r > o0 ? o0 : r);
}

/* dst[0 .. n) = src[0 .. n) for a run-time n, in whole vectors (the last one
 * overlapping) when there are enough elements. */
static void emit_vec_copy(op_emit *e, const char *dst, const char *src, const char *lo, const char *hi)
{
    em_line(e, "if (%s - %s >= HD_VF) {", hi, lo);
    e->indent++;
    em_line(e, "int64_t q = %s;", lo);
    em_line(e, "for (; q + HD_VF <= %s; q += HD_VF) hd_vf_store(%s + q, hd_vf_load(%s + q));", hi, dst, src);
    em_line(e, "if (q < %s) { q = %s - HD_VF; hd_vf_store(%s + q, hd_vf_load(%s + q)); }", hi, hi, dst, src);
    e->indent--;
    em_line(e, "} else {");
    e->indent++;
    em_line(e, "for (int64_t q = %s; q < %s; q++) %s[q] = %s[q];", lo, hi, dst, src);
    em_close(e);
}

/* Bytes of the phase-split input copy a strided im2col reads (0 when the
 * last spatial stride is 1). */
static uint64_t conv_xs_bytes(const conv_geom *g)
{
    const nn_window *w = &g->w;
    int L = w->nd - 1;
    int64_t SL = w->s[L];
    if (SL == 1 || w->in[L] == 0)
        return 0;
    int64_t PW = (w->in[L] + SL - 1) / SL;
    return nn_align64(op_bytes4(g->Cg, g->IP / w->in[L], SL, PW, sizeof(float)));
}

/* xs[c][row][ph][j] = x[c][row][j*SL + ph] (0 past the row's end): each
 * phase of a strided row becomes contiguous. */
static void emit_deinterleave(op_emit *e, const conv_geom *g)
{
    const nn_window *w = &g->w;
    int L = w->nd - 1;
    int64_t SL = w->s[L], IL = w->in[L], PW = (IL + SL - 1) / SL;
    em_for(e, "r", g->Cg * (g->IP / IL));
    em_line(e, "const float *xr = x + r * %" PRId64 ";", IL);
    em_line(e, "float *xd = xs + r * %" PRId64 ";", SL * PW);
    em_for(e, "j", PW);
    for (int64_t ph = 0; ph < SL; ph++) {
        if ((PW - 1) * SL + ph < IL)
            em_line(e, "xd[%" PRId64 " + j] = xr[j * %" PRId64 " + %" PRId64 "];", ph * PW, SL, ph);
        else
            em_line(e, "xd[%" PRId64 " + j] = j < %" PRId64 " ? xr[j * %" PRId64 " + %" PRId64 "] : 0.0f;", ph * PW,
                    PW - 1, SL, ph);
    }
    em_close(e);
    em_close(e);
}

/* im2col of one group's channels, output rows [r0, r0 + nr) of the first
 * spatial dim: `x` (C/group channels of one image) into `col` [Cg * KP, nt]
 * (nt = nr * inner). */
static void emit_im2col(op_emit *e, const conv_geom *g)
{
    const nn_window *w = &g->w;
    int nd = w->nd, L = nd - 1;
    int64_t OL = w->out[L], SL = w->s[L];
    /* the most zero columns at either end of a row, over all kernel taps */
    int64_t head = w->pb[L] > 0 ? (w->pb[L] + SL - 1) / SL : 0;
    int64_t last_off = (w->k[L] - 1) * w->d[L] - w->pb[L];
    int64_t hi_min = last_off >= w->in[L] ? 0 : (w->in[L] - last_off + SL - 1) / SL;
    if (head > OL)
        head = OL;
    if (hi_min > OL)
        hi_min = OL;
    int64_t tail = OL - hi_min;
    em_for(e, "c", g->Cg);
    for (int i = 0; i < nd; i++)
        em_for(e, KV[i], w->k[i]);
    /* row index = ((c*K0 + k0)*K1 + k1)... */
    hd_buf row;
    hd_buf_init(&row);
    hd_buf_puts(&row, "c");
    for (int i = 0; i < nd; i++) {
        char *t = hd_xasprintf("(%s) * %" PRId64 " + %s", row.data, w->k[i], KV[i]);
        hd_buf_free(&row);
        hd_buf_init(&row);
        hd_buf_puts(&row, t);
        free(t);
    }
    em_line(e, "float *crow = col + (%s) * nt;", row.data);
    hd_buf_free(&row);
    /* With a stride along the last dim the rows come from `xs`, the input
     * split into SL phases per row (see emit_deinterleave), so that every
     * tap reads a contiguous run. */
    int64_t PW = (w->in[L] + SL - 1) / SL, RW = SL > 1 ? SL * PW : w->in[L];
    if (SL > 1)
        em_line(e, "const float *xc = xs + c * %" PRId64 ";", RW * (g->IP / w->in[L]));
    else
        em_line(e, "const float *xc = x + c * %" PRId64 ";", g->IP);
    em_line(e, "const int64_t off = %s * %" PRId64 " - %" PRId64 ";", KV[L], w->d[L], w->pb[L]);
    emit_valid_range(e, "off", SL, w->in[L], OL, "lo", "hi");
    if (SL > 1)
        em_line(e, "const int64_t ph = ((off %% %" PRId64 ") + %" PRId64 ") %% %" PRId64 ", base = (off - ph) / %" PRId64
                   ";",
                SL, SL, SL, SL);
    hd_buf cond, src, dst;
    hd_buf_init(&cond);
    hd_buf_init(&src);
    hd_buf_init(&dst);
    hd_buf_puts(&src, "0");
    hd_buf_puts(&dst, "0");
    int64_t ostride = OL, istride = RW;
    for (int i = 0; i < L; i++) {
        if (i == 0)
            em_line(e, "for (int64_t o0 = r0; o0 < r0 + nr; o0++) {");
        else
            em_line(e, "for (int64_t %s = 0; %s < %" PRId64 "; %s++) {", OV[i], OV[i], w->out[i], OV[i]);
        e->indent++;
    }
    for (int i = L - 1; i >= 0; i--) {
        if (i == 0)
            hd_buf_printf(&dst, " + (o0 - r0) * %" PRId64, ostride);
        else
            hd_buf_printf(&dst, " + %s * %" PRId64, OV[i], ostride);
        hd_buf_printf(&src, " + %s * %" PRId64, IV[i], istride);
        ostride *= w->out[i];
        istride *= w->in[i];
    }
    for (int i = 0; i < L; i++) {
        em_line(e, "const int64_t %s = %s * %" PRId64 " + %s * %" PRId64 " - %" PRId64 ";", IV[i], OV[i], w->s[i],
                KV[i], w->d[i], w->pb[i]);
        if (dim_needs_check(w, i))
            hd_buf_printf(&cond, "%s(uint64_t)%s >= %" PRId64 "u", cond.len ? " || " : "", IV[i], w->in[i]);
    }
    em_line(e, "float *dst = crow + %s;", dst.data);
    if (cond.len) {
        em_line(e, "if (%s) {", cond.data);
        e->indent++;
        em_for(e, "q", OL);
        em_line(e, "dst[q] = 0.0f;");
        em_close(e);
        em_line(e, "continue;");
        em_close(e);
    }
    em_line(e, "const float *src = xc + %s;", src.data);
    /* zero heads and tails are short: unrolled guarded stores, so the
     * compiler does not turn them into memset calls */
    if (head > 0 && head <= 4) {
        for (int64_t q = 0; q < head; q++)
            em_line(e, "if (lo > %" PRId64 ") dst[%" PRId64 "] = 0.0f;", q, q);
    } else if (head > 0) {
        em_line(e, "for (int64_t q = 0; q < lo; q++) dst[q] = 0.0f;");
    }
    if (SL == 1)
        em_line(e, "const float *srco = src + off;");
    else
        em_line(e, "const float *srco = src + ph * %" PRId64 " + base;", PW);
    emit_vec_copy(e, "dst", "srco", "lo", "hi");
    if (tail > 0 && tail <= 4) {
        for (int64_t q = OL - tail; q < OL; q++)
            em_line(e, "if (hi <= %" PRId64 ") dst[%" PRId64 "] = 0.0f;", q, q);
    } else if (tail > 0) {
        em_line(e, "for (int64_t q = hi; q < %" PRId64 "; q++) dst[q] = 0.0f;", OL);
    }
    for (int i = 0; i < L; i++)
        em_close(e);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    hd_buf_free(&cond);
    hd_buf_free(&src);
    hd_buf_free(&dst);
}

/* Depthwise 2-D float32: one filter per channel.  Output rows whose whole
 * kernel lies inside the input (vertically) are written in one pass with
 * the kh*kw taps summed inline over the horizontal interior; the rest
 * accumulate row by row with per-tap bounds that are literals. */
static void emit_depthwise(op_emit *e, const conv_geom *g, bool bias)
{
    const nn_window *w = &g->w;
    int64_t IH = w->in[0], IW = w->in[1], OH = w->out[0], OW = w->out[1];
    int64_t KH = w->k[0], KW = w->k[1], SH = w->s[0], SW = w->s[1], DH = w->d[0], DW = w->d[1];
    int64_t PH = w->pb[0], PW = w->pb[1];
    int64_t lo[64], hi[64], off[64];
    bool small = KW <= 64;
    int64_t LO = 0, HI = OW;
    for (int64_t kw = 0; small && kw < KW; kw++) {
        off[kw] = kw * DW - PW;
        int64_t l = off[kw] >= 0 ? 0 : (-off[kw] + SW - 1) / SW;
        int64_t h = off[kw] >= IW ? 0 : (IW - off[kw] + SW - 1) / SW;
        l = l > OW ? OW : l;
        h = h > OW ? OW : h;
        h = h < l ? l : h;
        lo[kw] = l;
        hi[kw] = h;
        if (l > LO)
            LO = l;
        if (h < HI)
            HI = h;
    }
    /* rows where every kh is inside */
    int64_t RLO = PH > 0 ? (PH + SH - 1) / SH : 0;
    int64_t RHI = 0;
    {
        /* oh*SH - PH + (KH-1)*DH <= IH-1 */
        int64_t t = IH - 1 + PH - (KH - 1) * DH;
        RHI = t < 0 ? 0 : t / SH + 1;
        if (RHI > OH)
            RHI = OH;
    }
    bool fast_rows = small && LO < HI && RLO < RHI && KH * KW <= 64;

    em_for(e, "nc", g->N * g->C);
    em_line(e, "const int64_t c = nc %% %" PRId64 ";", g->C);
    em_line(e, "const float *x = in0 + nc * %" PRId64 ";", g->IP);
    em_line(e, "const float *wc = in1 + c * %" PRId64 ";", KH * KW);
    em_line(e, "float *o = out0 + nc * %" PRId64 ";", g->OP);
    em_line(e, "const float bv = %s;", bias ? "in2[c]" : "0.0f");
    if (fast_rows) {
        for (int64_t t = 0; t < KH * KW; t++)
            em_line(e, "const float w%" PRId64 " = wc[%" PRId64 "];", t, t);
        em_line(e, "const hd_vf vb = hd_vf_splat(bv);");
        for (int64_t t = 0; t < KH * KW; t++)
            em_line(e, "const hd_vf vw%" PRId64 " = hd_vf_splat(w%" PRId64 ");", t, t);
        if (SW > 1) {
            /* this channel's rows split into SW phases */
            nn_emit_phase_split(e, IH, IW, SW);
        }
    }
    em_for(e, "oh", OH);
    em_line(e, "float *orow = o + oh * %" PRId64 ";", OW);
    if (fast_rows) {
        em_line(e, "if (oh >= %" PRId64 " && oh < %" PRId64 ") {", RLO, RHI);
        e->indent++;
        em_line(e, "const float *xr = x + (oh * %" PRId64 " - %" PRId64 ") * %" PRId64 ";", SH, PH, IW);
        /* borders: per-element checks */
        for (int part = 0; part < 2; part++) {
            int64_t a = part == 0 ? 0 : HI, b = part == 0 ? LO : OW;
            if (a >= b)
                continue;
            em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) {", a, b);
            e->indent++;
            em_line(e, "float acc = bv;");
            for (int64_t kw = 0; kw < KW; kw++) {
                em_line(e, "if (ow >= %" PRId64 " && ow < %" PRId64 ") {", lo[kw], hi[kw]);
                e->indent++;
                for (int64_t kh = 0; kh < KH; kh++)
                    em_line(e, "acc += w%" PRId64 " * xr[%" PRId64 " + ow * %" PRId64 " + %" PRId64 "];",
                            kh * KW + kw, kh * DH * IW, SW, off[kw]);
                em_close(e);
            }
            em_line(e, "orow[ow] = acc;");
            em_close(e);
        }
        /* interior: whole vectors (the last one overlapping: it only
         * writes), reading contiguous runs of x, or of xs (the rows split
         * into SW phases) when strided */
        int64_t PWd = (IW + SW - 1) / SW;
        if (SW > 1)
            em_line(e, "const float *xq = xs + (oh * %" PRId64 " - %" PRId64 ") * %" PRId64 ";", SH, PH, SW * PWd);
        else
            em_line(e, "const float *xq = xr;");
        em_line(e, "if (%" PRId64 " >= HD_VF) {", HI - LO);
        e->indent++;
        em_line(e, "for (int64_t ow = %" PRId64 ";; ow += HD_VF) {", LO);
        e->indent++;
        em_line(e, "if (ow + HD_VF > %" PRId64 ") ow = %" PRId64 " - HD_VF;", HI, HI);
        em_line(e, "hd_vf acc = vb;");
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t o = off[kw], at;
                if (SW > 1) {
                    int64_t ph = ((o % SW) + SW) % SW, base = (o - ph) / SW;
                    at = kh * DH * SW * PWd + ph * PWd + base;
                } else {
                    at = kh * DH * IW + o;
                }
                em_line(e, "acc += vw%" PRId64 " * hd_vf_load(xq + %" PRId64 " + ow);", kh * KW + kw, at);
            }
        em_line(e, "hd_vf_store(orow + ow, acc);");
        em_line(e, "if (ow + HD_VF >= %" PRId64 ") break;", HI);
        em_close(e);
        e->indent--;
        em_line(e, "} else {");
        e->indent++;
        em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) {", LO, HI);
        e->indent++;
        em_line(e, "float acc = bv;");
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                em_line(e, "acc += w%" PRId64 " * xr[%" PRId64 " + ow * %" PRId64 "];", kh * KW + kw,
                        kh * DH * IW + off[kw], SW);
        em_line(e, "orow[ow] = acc;");
        em_close(e);
        em_close(e);
        em_line(e, "continue;");
        em_close(e);
    }
    /* general rows: accumulate tap by tap */
    em_line(e, "for (int64_t ow = 0; ow < %" PRId64 "; ow++) orow[ow] = bv;", OW);
    em_for(e, "kh", KH);
    em_line(e, "const int64_t ih = oh * %" PRId64 " - %" PRId64 " + kh * %" PRId64 ";", SH, PH, DH);
    em_line(e, "if ((uint64_t)ih >= %" PRId64 "u) continue;", IH);
    em_line(e, "const float *xr = x + ih * %" PRId64 ";", IW);
    if (small) {
        for (int64_t kw = 0; kw < KW; kw++) {
            if (lo[kw] >= hi[kw])
                continue;
            em_line(e, "{");
            e->indent++;
            em_line(e, "const float wv = wc[kh * %" PRId64 " + %" PRId64 "];", KW, kw);
            em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) orow[ow] += wv * xr[ow * %" PRId64
                       " + %" PRId64 "];",
                    lo[kw], hi[kw], SW, off[kw]);
            em_close(e);
        }
    } else {
        em_for(e, "kw", KW);
        em_line(e, "const float wv = wc[kh * %" PRId64 " + kw];", KW);
        em_line(e, "const int64_t off = kw * %" PRId64 " - %" PRId64 ";", DW, PW);
        emit_valid_range(e, "off", SW, IW, OW, "lo", "hi");
        em_line(e, "for (int64_t ow = lo; ow < hi; ow++) orow[ow] += wv * xr[ow * %" PRId64 " + off];", SW);
        em_close(e);
    }
    em_close(e);
    em_close(e);
    em_close(e);
}

/* The inner part both direct emitters share: with the window loops open
 * (input coordinates in IV, kernel in KV, output in OV), accumulate x * w
 * with w indexed from `w_base`, then close the loops and store acc. */
static void emit_direct_mac_store(op_emit *e, const conv_geom *g, hodu_dtype t, const char *acc_t, const char *w_base)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    hd_buf xi, wi, oi;
    hd_buf_init(&xi);
    hd_buf_init(&wi);
    hd_buf_init(&oi);
    hd_buf_printf(&xi, "(n * %" PRId64 " + grp * %" PRId64 " + c) * %" PRId64, g->C, g->Cg, g->IP);
    hd_buf_puts(&wi, w_base);
    hd_buf_printf(&oi, "(n * %" PRId64 " + m) * %" PRId64, g->M, g->OP);
    int64_t si = 1, sk = 1, so = 1;
    for (int i = nd - 1; i >= 0; i--) {
        hd_buf_printf(&xi, " + %s * %" PRId64, IV[i], si);
        hd_buf_printf(&wi, " + %s * %" PRId64, KV[i], sk);
        hd_buf_printf(&oi, " + %s * %" PRId64, OV[i], so);
        si *= w->in[i];
        sk *= w->k[i];
        so *= w->out[i];
    }
    char *lx = em_load(t, "in0[xi]"), *lw = em_load(t, "in1[wi]");
    em_line(e, "const int64_t xi = %s, wi = %s;", xi.data, wi.data);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, lx, acc_t, lw);
    free(lx);
    free(lw);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    char *st = em_store(t, "acc");
    em_line(e, "out0[%s] = %s;", oi.data, st);
    free(st);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    em_close(e);
    hd_buf_free(&xi);
    hd_buf_free(&wi);
    hd_buf_free(&oi);
}

/* Direct convolution for any float dtype: one dot product per output. */
static void emit_conv_direct(op_emit *e, const conv_geom *g, hodu_dtype t, bool bias)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : "float";
    em_for(e, "n", g->N);
    em_for(e, "m", g->M);
    em_line(e, "const int64_t grp = m / %" PRId64 ";", g->Mg);
    em_line(e, "(void)grp;");
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    char *lb = em_load(t, "in2[m]");
    em_line(e, "%s acc = %s;", acc_t, bias ? lb : "0");
    free(lb);
    em_for(e, "c", g->Cg);
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w->k[i]);
        em_line(e, "const int64_t %s = %s * %" PRId64 " + %s * %" PRId64 " - %" PRId64 ";", IV[i], OV[i], w->s[i],
                KV[i], w->d[i], w->pb[i]);
        if (dim_needs_check(w, i))
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    char *w_base = hd_xasprintf("(m * %" PRId64 " + c) * %" PRId64, g->Cg, g->KP);
    emit_direct_mac_store(e, g, t, acc_t, w_base);
    free(w_base);
}

static int64_t conv_chunk_cols(const conv_geom *g)
{
    return g->w.nd >= 2 ? conv_chunk_rows(g) * conv_inner(g) : g->OP;
}

static uint64_t conv_col_bytes(const conv_geom *g)
{
    if (conv_pointwise(g))
        return 0;
    return nn_align64(op_bytes4(g->Cg, g->KP, conv_chunk_cols(g), 1, sizeof(float)));
}

bool nn_emit_conv(op_emit *e)
{
    op_ctx c = nn_ctx_of(e);
    conv_geom g;
    conv_geom_get(&c, &g);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    bool bias = em_in(e, 2) != NULL;
    if (ir_value_numel(out) == 0)
        return true;
    if (conv_io_of(em_node(e)).quant) {
        emit_conv_quant(e, &g, em_node(e)->op == OP_QLINEAR_CONV);
        return true;
    }
    if (t != HODU_DTYPE_F32) {
        emit_conv_direct(e, &g, t, bias);
        return true;
    }
    if (conv_depthwise2d(&g)) {
        emit_depthwise(e, &g, bias);
        return true;
    }
    if (g.Cg * g.KP == 0) {
        /* no input channels: the output is the bias */
        em_for(e, "n", g.N);
        em_for(e, "m", g.M);
        em_for(e, "p", g.OP);
        em_line(e, "out0[(n * %" PRId64 " + m) * %" PRId64 " + p] = %s;", g.M, g.OP, bias ? "in2[m]" : "0.0f");
        em_close(e);
        em_close(e);
        em_close(e);
        return true;
    }
    bool pw = conv_pointwise(&g);
    uint64_t colb = conv_col_bytes(&g), xsb = pw ? 0 : conv_xs_bytes(&g);
    int64_t Kd = g.Cg * g.KP;
    if (!pw)
        em_line(e, "float *col = (float *)scratch;");
    if (xsb)
        em_line(e, "float *xs = (float *)(scratch + %" PRIu64 ");", colb);
    em_line(e, "float *ws = (float *)(scratch + %" PRIu64 ");", colb + xsb);
    em_for(e, "n", g.N);
    em_for(e, "grp", g.G);
    em_line(e, "const float *x = in0 + (n * %" PRId64 " + grp * %" PRId64 ") * %" PRId64 ";", g.C, g.Cg, g.IP);
    em_line(e, "float *y = out0 + (n * %" PRId64 " + grp * %" PRId64 ") * %" PRId64 ";", g.M, g.Mg, g.OP);
    em_line(e, "const float *wg = in1 + grp * %" PRId64 ";", g.Mg * Kd);
    if (pw) {
        em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", wg, %" PRId64 ", 0, x, %" PRId64
                   ", 0, y, %" PRId64 ", 1.0f, 0.0f, ws);",
                g.Mg, g.OP, Kd, Kd, g.OP, g.OP);
        em_line(e, "const int64_t p0 = 0, nt = %" PRId64 ";", g.OP);
    } else {
        if (xsb)
            emit_deinterleave(e, &g);
        /* chunks of output rows: im2col into L2, GEMM, bias */
        int64_t R = conv_chunk_rows(&g), inner = g.w.nd >= 2 ? conv_inner(&g) : g.OP;
        int64_t O0 = g.w.nd >= 2 ? g.w.out[0] : 1;
        em_line(e, "for (int64_t r0 = 0; r0 < %" PRId64 "; r0 += %" PRId64 ") {", O0, R);
        e->indent++;
        em_line(e, "const int64_t nr = %" PRId64 " - r0 < %" PRId64 " ? %" PRId64 " - r0 : %" PRId64 ";", O0, R, O0, R);
        em_line(e, "const int64_t nt = nr * %" PRId64 ", p0 = r0 * %" PRId64 ";", inner, inner);
        if (g.w.nd < 2)
            em_line(e, "(void)nr;");
        emit_im2col(e, &g);
        em_line(e, "hd_sgemm_ws(%" PRId64 ", nt, %" PRId64 ", wg, %" PRId64 ", 0, col, nt, 0, y + p0, %" PRId64
                   ", 1.0f, 0.0f, ws);",
                g.Mg, Kd, Kd, g.OP);
    }
    if (bias) {
        /* epilogue: bias per output channel, on the block just written */
        em_for(e, "m", g.Mg);
        em_line(e, "const float bv = in2[grp * %" PRId64 " + m];", g.Mg);
        em_line(e, "float *yr = y + m * %" PRId64 " + p0;", g.OP);
        em_line(e, "int64_t p = 0;");
        em_line(e, "for (; p + HD_VF <= nt; p += HD_VF) hd_vf_store(yr + p, hd_vf_load(yr + p) + hd_vf_splat(bv));");
        em_line(e, "for (; p < nt; p++) yr[p] += bv;");
        em_close(e);
    } else {
        em_line(e, "(void)p0;");
    }
    if (!pw)
        em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

int64_t nn_flops_conv(const ir_graph *gr, int node)
{
    conv_geom g;
    conv_get(gr, node, &g);
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * g.N, g.M), op_sat_mul(g.OP, g.Cg)), g.KP);
}

uint64_t nn_scratch_conv(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    conv_geom g;
    conv_get(gr, node, &g);
    if (conv_depthwise2d(&g)) {
        /* one channel split into stride phases (strided fast rows) */
        int64_t SW = g.w.s[1];
        return SW > 1 ? nn_align64(op_bytes4(g.w.in[0], SW, (g.w.in[1] + SW - 1) / SW, 1, sizeof(float))) : 0;
    }
    if (g.Cg * g.KP == 0)
        return 0;
    uint64_t ws = nn_sgemm_scratch_bytes(g.Mg, conv_pointwise(&g) ? g.OP : conv_chunk_cols(&g), op_sat_mul(g.Cg, g.KP));
    return op_sat_add_u64(op_sat_add_u64(conv_col_bytes(&g), conv_pointwise(&g) ? 0 : conv_xs_bytes(&g)), ws);
}

/* --- ConvTranspose --------------------------------------------------------- */

static bool convt_geom_get(op_ctx *c, conv_geom *g)
{
    if (!conv_common(c, g, true))
        return false;
    nn_window *w = &g->w;
    int nd = w->nd;
    const ir_node *n = op_node(c);
    int64_t opad[NN_MAX_SPATIAL], pads[2 * NN_MAX_SPATIAL];
    if (!nn_ints_attr(c, "strides", nd, 1, w->s) || !nn_ints_attr(c, "dilations", nd, 1, w->d) ||
        !nn_ints_attr(c, "output_padding", nd, 0, opad) || !nn_ints_attr(c, "pads", 2 * nd, 0, pads))
        return false;
    const char *auto_pad = ir_attr_string(n, "auto_pad", "NOTSET");
    bool same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    if (!same && auto_pad[0] && strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0)
        return op_fail(c, "attribute 'auto_pad' value '%s' is not supported", auto_pad);
    bool valid = strcmp(auto_pad, "VALID") == 0;
    size_t nos = 0;
    const int64_t *os = ir_attr_ints(n, "output_shape", &nos);
    if (os && nos != (size_t)nd && nos != (size_t)nd + 2)
        return op_fail(c, "attribute 'output_shape' has %zu values; expected %d", nos, nd);
    if (os && nos == (size_t)nd + 2)
        os += 2;
    bool has_pads = ir_attr_find(n, "pads") != NULL;
    for (int i = 0; i < nd; i++) {
        if (w->s[i] < 1 || w->d[i] < 1 || w->k[i] < 1)
            return op_fail(c, "strides, dilations and kernel sizes must be at least 1");
        if (opad[i] < 0 || pads[i] < 0 || pads[i + nd] < 0)
            return op_fail(c, "pads and output_padding must not be negative");
        if (w->s[i] > ((int64_t)1 << 31) || w->d[i] > ((int64_t)1 << 31) || w->k[i] > ((int64_t)1 << 31) ||
            opad[i] > ((int64_t)1 << 31) || pads[i] > ((int64_t)1 << 31) || pads[i + nd] > ((int64_t)1 << 31))
            return op_fail(c, "window attributes are too large");
        /* Window attributes are below 2^31 but the input dim may be up to the
         * tensor limit, so the stride products are checked. */
        int64_t ek = (w->k[i] - 1) * w->d[i] + 1, full, target = 0;
        if (!op_ck_mul(c, w->s[i], w->in[i] - 1, &full, "the output size") ||
            !op_ck_add(c, full, opad[i] + ek, &full, "the output size"))
            return false;
        if (!os && same && !has_pads && !op_ck_mul(c, w->in[i], w->s[i], &target, "the output size"))
            return false;
        if (os || (same && !has_pads)) {
            if (os)
                target = os[i];
            if (target < 0)
                return op_fail(c, "attribute 'output_shape' has a negative value");
            int64_t total = full - target;
            if (total < 0)
                total = 0; /* output_padding-style extra positions stay zero + bias */
            w->pb[i] = upper ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
            w->out[i] = target;
        } else {
            w->pb[i] = valid ? 0 : pads[i];
            w->pe[i] = valid ? 0 : pads[i + nd];
            w->out[i] = full - w->pb[i] - w->pe[i];
            if (w->out[i] < 0)
                return op_fail(c, "pads are larger than the output in spatial dim %d", i);
        }
    }
    g->OP = prod(w->out, nd);
    return true;
}

bool nn_infer_conv_transpose(op_ctx *c)
{
    conv_geom g;
    if (!convt_geom_get(c, &g))
        return false;
    int64_t dims[HODU_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.w.nd; i++)
        dims[i + 2] = g.w.out[i];
    op_set_out(c, 0, op_in(c, 0)->dtype, g.w.nd + 2, dims);
    return true;
}

static void convt_get(const ir_graph *gr, int node, conv_geom *g)
{
    op_ctx c = {(ir_graph *)gr, node, NULL};
    convt_geom_get(&c, g);
}

/* col2im: adds col [Mg*KP, IP] of one group into y [Mg, OP]. */
static void emit_col2im(op_emit *e, const conv_geom *g)
{
    const nn_window *w = &g->w;
    int nd = w->nd, L = nd - 1;
    em_for(e, "m", g->Mg);
    for (int i = 0; i < nd; i++)
        em_for(e, KV[i], w->k[i]);
    hd_buf row;
    hd_buf_init(&row);
    hd_buf_puts(&row, "m");
    for (int i = 0; i < nd; i++) {
        char *t = hd_xasprintf("(%s) * %" PRId64 " + %s", row.data, w->k[i], KV[i]);
        hd_buf_free(&row);
        hd_buf_init(&row);
        hd_buf_puts(&row, t);
        free(t);
    }
    em_line(e, "const float *crow = col + (%s) * %" PRId64 ";", row.data, g->IP);
    hd_buf_free(&row);
    em_line(e, "float *ym = y + m * %" PRId64 ";", g->OP);
    em_line(e, "const int64_t off = %s * %" PRId64 " - %" PRId64 ";", KV[L], w->d[L], w->pb[L]);
    /* valid i: 0 <= i*s + off < out, i in [0, in) */
    emit_valid_range(e, "off", w->s[L], w->out[L], w->in[L], "lo", "hi");
    for (int i = 0; i < L; i++) {
        em_for(e, IV[i], w->in[i]);
        em_line(e, "const int64_t %s = %s * %" PRId64 " + %s * %" PRId64 " - %" PRId64 ";", OV[i], IV[i], w->s[i],
                KV[i], w->d[i], w->pb[i]);
        em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", OV[i], w->out[i]);
    }
    hd_buf src, dst;
    hd_buf_init(&src);
    hd_buf_init(&dst);
    hd_buf_puts(&src, "0");
    hd_buf_puts(&dst, "0");
    int64_t ss = w->in[L], ds = w->out[L];
    for (int i = L - 1; i >= 0; i--) {
        hd_buf_printf(&src, " + %s * %" PRId64, IV[i], ss);
        hd_buf_printf(&dst, " + %s * %" PRId64, OV[i], ds);
        ss *= w->in[i];
        ds *= w->out[i];
    }
    em_line(e, "const float *src = crow + %s;", src.data);
    em_line(e, "float *dst = ym + %s;", dst.data);
    em_line(e, "for (int64_t q = lo; q < hi; q++) dst[q * %" PRId64 " + off] += src[q];", w->s[L]);
    for (int i = 0; i < L; i++)
        em_close(e);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    hd_buf_free(&src);
    hd_buf_free(&dst);
}

/* Direct ConvTranspose for any float dtype, as a gather per output. */
static void emit_convt_direct(op_emit *e, const conv_geom *g, hodu_dtype t, bool bias)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : "float";
    em_for(e, "n", g->N);
    em_for(e, "m", g->M);
    em_line(e, "const int64_t grp = m / %" PRId64 ", mg = m %% %" PRId64 ";", g->Mg, g->Mg);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    char *lb = em_load(t, "in2[m]");
    em_line(e, "%s acc = %s;", acc_t, bias ? lb : "0");
    free(lb);
    em_for(e, "c", g->Cg);
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w->k[i]);
        em_line(e, "const int64_t t%d = %s + %" PRId64 " - %s * %" PRId64 ";", i, OV[i], w->pb[i], KV[i], w->d[i]);
        em_line(e, "if (t%d < 0 || t%d %% %" PRId64 " != 0) continue;", i, i, w->s[i]);
        em_line(e, "const int64_t %s = t%d / %" PRId64 ";", IV[i], i, w->s[i]);
        em_line(e, "if (%s >= %" PRId64 ") continue;", IV[i], w->in[i]);
    }
    char *w_base = hd_xasprintf("((grp * %" PRId64 " + c) * %" PRId64 " + mg) * %" PRId64, g->Cg, g->Mg, g->KP);
    emit_direct_mac_store(e, g, t, acc_t, w_base);
    free(w_base);
}

static uint64_t convt_col_bytes(const conv_geom *g)
{
    return nn_align64(op_bytes4(g->Mg, g->KP, g->IP, 1, sizeof(float)));
}

bool nn_emit_conv_transpose(op_emit *e)
{
    op_ctx c = nn_ctx_of(e);
    conv_geom g;
    convt_geom_get(&c, &g);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    bool bias = em_in(e, 2) != NULL;
    if (ir_value_numel(out) == 0)
        return true;
    if (t != HODU_DTYPE_F32 || g.IP == 0 || g.Cg == 0) {
        emit_convt_direct(e, &g, t, bias);
        return true;
    }
    int64_t R = g.Mg * g.KP;
    em_line(e, "float *col = (float *)scratch;");
    em_line(e, "float *ws = (float *)(scratch + %" PRIu64 ");", convt_col_bytes(&g));
    em_for(e, "n", g.N);
    em_for(e, "grp", g.G);
    em_line(e, "const float *x = in0 + (n * %" PRId64 " + grp * %" PRId64 ") * %" PRId64 ";", g.C, g.Cg, g.IP);
    em_line(e, "float *y = out0 + (n * %" PRId64 " + grp * %" PRId64 ") * %" PRId64 ";", g.M, g.Mg, g.OP);
    /* col = W_g^T [Mg*KP, Cg] x X_g [Cg, IP] */
    em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in1 + grp * %" PRId64 ", %" PRId64
               ", 1, x, %" PRId64 ", 0, col, %" PRId64 ", 1.0f, 0.0f, ws);",
            R, g.IP, g.Cg, g.Cg * R, R, g.IP, g.IP);
    em_for(e, "m", g.Mg);
    if (bias)
        em_line(e, "const float bv = in2[grp * %" PRId64 " + m];", g.Mg);
    else
        em_line(e, "const float bv = 0.0f;");
    em_for(e, "p", g.OP);
    em_line(e, "y[m * %" PRId64 " + p] = bv;", g.OP);
    em_close(e);
    em_close(e);
    emit_col2im(e, &g);
    em_close(e);
    em_close(e);
    return true;
}

int64_t nn_flops_conv_transpose(const ir_graph *gr, int node)
{
    conv_geom g;
    convt_get(gr, node, &g);
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * g.N, g.C), op_sat_mul(g.IP, g.Mg)), g.KP);
}

uint64_t nn_scratch_conv_transpose(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    conv_geom g;
    convt_get(gr, node, &g);
    if (g.IP == 0 || g.Cg == 0)
        return 0;
    return convt_col_bytes(&g) + nn_sgemm_scratch_bytes(g.Mg * g.KP, g.IP, g.Cg);
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec conv_attrs[] = {{"auto_pad", IR_ATTR_STRING}, {"dilations", IR_ATTR_INTS},
                                          {"group", IR_ATTR_INT},       {"kernel_shape", IR_ATTR_INTS},
                                          {"pads", IR_ATTR_INTS},       {"strides", IR_ATTR_INTS},
                                          {NULL, 0}};
static const op_attr_spec conv_transpose_attrs[] = {
    {"auto_pad", IR_ATTR_STRING}, {"dilations", IR_ATTR_INTS},      {"group", IR_ATTR_INT},
    {"kernel_shape", IR_ATTR_INTS}, {"output_padding", IR_ATTR_INTS}, {"output_shape", IR_ATTR_INTS},
    {"pads", IR_ATTR_INTS},       {"strides", IR_ATTR_INTS},        {NULL, 0}};

OP_DEF(CONV, .attrs = conv_attrs, .infer = nn_infer_conv, .emit = nn_emit_conv, .flops = nn_flops_conv,
       .scratch = nn_scratch_conv);
OP_DEF(CONV_INTEGER, .attrs = conv_attrs, .infer = nn_infer_conv, .emit = nn_emit_conv, .flops = nn_flops_conv);
OP_DEF(QLINEAR_CONV, .attrs = conv_attrs, .infer = nn_infer_conv, .emit = nn_emit_conv, .flops = nn_flops_conv);
OP_DEF(CONV_TRANSPOSE, .attrs = conv_transpose_attrs, .infer = nn_infer_conv_transpose,
       .emit = nn_emit_conv_transpose, .flops = nn_flops_conv_transpose, .scratch = nn_scratch_conv_transpose);
