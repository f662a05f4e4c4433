/*
 * emit_nn_conv.c - native lowerings of Conv, ConvInteger, QLinearConv and
 * ConvTranspose (src/ops/nn_conv.c holds their semantics; the geometry
 * comes from nn_conv_geom_of, src/ops/nn.h).
 *
 * Float32 Conv lowers per image and group to im2col + hd_sgemm_ws: W's
 * layout [M, C/group, k...] already is the row-major A matrix [M/group,
 * C/group * prod(k)] of each group, and the column matrix is
 * [C/group * prod(k), prod(O)].  A 1x1 kernel with stride 1 and no padding
 * needs no im2col: the input image is the column matrix.  Depthwise 2-D
 * convolution (group == C == M) is a direct loop instead: it has too
 * little arithmetic per element for a GEMM.  Other dtypes use a direct
 * loop.  The bias add is an epilogue in the same function.
 *
 * Float32 ConvTranspose lowers to a GEMM (W_g^T X_g) and a col2im scatter
 * (the kernel layer's hd_col2im_acc_f32 up to 2-D); other dtypes use a
 * direct gather loop.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "native.h"
#include "ops/ops.h"

static const char *const KV[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

/* --- Conv ---------------------------------------------------------------- */

/* Direct integer convolution (ConvInteger, QLinearConv): int32 sums of
 * (x - x_zero_point) * (w - w_zero_point); padding contributes nothing.
 * QLinearConv adds the int32 bias, scales by x_scale * w_scale / y_scale
 * (float), adds y_zero_point, rounds half to even and saturates. */
static void emit_conv_quant(op_emit *e, const nn_conv_geom *g, bool qlinear)
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
            em_line(e, "const float mult = hd_f16_to_f32(hd_f32_to_f16(hd_f16_to_f32(hd_f32_to_f16(%s * %s)) / %s));",
                    lx, lw, ly);
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
        if (nn_window_leaves_input(w, i))
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

/* 1x1 kernel, stride 1, no padding: the image is its own column matrix. */
static bool conv_pointwise(const nn_conv_geom *g)
{
    for (int i = 0; i < g->w.nd; i++)
        if (g->w.k[i] != 1 || g->w.s[i] != 1 || g->w.pb[i] || g->w.pe[i])
            return false;
    return true;
}

static bool conv_depthwise2d(const nn_conv_geom *g) { return g->w.nd == 2 && g->G == g->C && g->M == g->C && g->G > 1; }

/* Writes the lowest and one-past-highest o in [0, out) for which
 * 0 <= o*s + off < in, as C expressions of the run-time `off` (named by
 * `offv`). */
static void emit_valid_range(op_emit *e, const char *offv, int64_t s, int64_t in, int64_t out, const char *lo,
                             const char *hi)
{
    em_line(e, "int64_t %s = %s >= 0 ? 0 : (-%s + %" PRId64 ") / %" PRId64 ";", lo, offv, offv, s - 1, s);
    em_line(e, "int64_t %s = %s >= %" PRId64 " ? 0 : (%" PRId64 " - %s + %" PRId64 ") / %" PRId64 ";", hi, offv, in, in,
            offv, s - 1, s);
    em_line(e, "if (%s > %" PRId64 ") %s = %" PRId64 ";", lo, out, lo, out);
    em_line(e, "if (%s > %" PRId64 ") %s = %" PRId64 ";", hi, out, hi, out);
    em_line(e, "if (%s < %s) %s = %s;", hi, lo, hi, lo);
}

/* Output rows (along the first spatial dim) per im2col chunk: the column
 * block [Cg*KP, rows * inner] is sized to stay in L2 between im2col writing
 * it and the GEMM packing it.  1-D convolutions take one chunk. */
#define CONV_COL_CHUNK_FLOATS ((int64_t)1 << 18)

static int64_t conv_inner(const nn_conv_geom *g)
{
    int64_t inner = 1;
    for (int i = 1; i < g->w.nd; i++)
        inner *= g->w.out[i];
    return inner;
}

static int64_t conv_chunk_rows(const nn_conv_geom *g)
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
static uint64_t conv_xs_bytes(const nn_conv_geom *g)
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
static void emit_deinterleave(op_emit *e, const nn_conv_geom *g)
{
    const nn_window *w = &g->w;
    int L = w->nd - 1;
    int64_t SL = w->s[L], IL = w->in[L], PW = (IL + SL - 1) / SL;
    em_for(e, "r", g->Cg * (g->IP / IL));
    em_line(e, "const float *xr = x + r * %" PRId64 ";", IL);
    em_line(e, "float *xd = xs + r * %" PRId64 ";", SL * PW);
    if (SL > NN_PHASE_UNROLL_MAX) {
        em_for(e, "ph", SL);
        em_for(e, "j", PW);
        em_line(e, "xd[ph * %" PRId64 " + j] = j * %" PRId64 " + ph < %" PRId64 " ? xr[j * %" PRId64 " + ph] : 0.0f;",
                PW, SL, IL, SL);
        em_close(e);
        em_close(e);
        em_close(e);
        return;
    }
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
static void emit_im2col(op_emit *e, const nn_conv_geom *g)
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
        em_line(e,
                "const int64_t ph = ((off %% %" PRId64 ") + %" PRId64 ") %% %" PRId64 ", base = (off - ph) / %" PRId64
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
        if (nn_window_leaves_input(w, i))
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
static void emit_depthwise(op_emit *e, const nn_conv_geom *g, bool bias)
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
                    em_line(e, "acc += w%" PRId64 " * xr[%" PRId64 " + ow * %" PRId64 " + %" PRId64 "];", kh * KW + kw,
                            kh * DH * IW, SW, off[kw]);
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
            em_line(e,
                    "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) orow[ow] += wv * xr[ow * %" PRId64
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
static void emit_direct_mac_store(op_emit *e, const nn_conv_geom *g, hodu_dtype t, const char *acc_t,
                                  const char *w_base)
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
static void emit_conv_direct(op_emit *e, const nn_conv_geom *g, hodu_dtype t, bool bias)
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
        if (nn_window_leaves_input(w, i))
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    char *w_base = hd_xasprintf("(m * %" PRId64 " + c) * %" PRId64, g->Cg, g->KP);
    emit_direct_mac_store(e, g, t, acc_t, w_base);
    free(w_base);
}

static int64_t conv_chunk_cols(const nn_conv_geom *g)
{
    return g->w.nd >= 2 ? conv_chunk_rows(g) * conv_inner(g) : g->OP;
}

static uint64_t conv_col_bytes(const nn_conv_geom *g)
{
    if (conv_pointwise(g))
        return 0;
    return nn_align64(op_bytes4(g->Cg, g->KP, conv_chunk_cols(g), 1, sizeof(float)));
}

static bool emit_conv(op_emit *e)
{
    nn_conv_geom g;
    nn_conv_geom_of(e->g, e->node, &g);
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    bool bias = em_in(e, 2) != NULL;
    if (ir_value_numel(out) == 0)
        return true;
    if (em_node(e)->op == OP_CONV_INTEGER || em_node(e)->op == OP_QLINEAR_CONV) {
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
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", wg, %" PRId64 ", 0, x, %" PRId64 ", 0, y, %" PRId64
                ", 1.0f, 0.0f, ws);",
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
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", nt, %" PRId64 ", wg, %" PRId64 ", 0, col, nt, 0, y + p0, %" PRId64
                ", 1.0f, 0.0f, ws);",
                g.Mg, Kd, Kd, g.OP);
    }
    if (bias) {
        /* epilogue: bias per output channel, on the block just written */
        em_for(e, "m", g.Mg);
        em_line(e, "const float bv = in2[grp * %" PRId64 " + m];", g.Mg);
        em_line(e, "float *yr = y + m * %" PRId64 " + p0;", g.OP);
        /* the tail starts at a computed bound, not where the vector loop
         * stopped (that form trips -Waggressive-loop-optimizations) */
        em_line(e, "const int64_t pv = nt / HD_VF * HD_VF;");
        em_line(e,
                "for (int64_t p = 0; p < pv; p += HD_VF) hd_vf_store(yr + p, hd_vf_load(yr + p) + hd_vf_splat(bv));");
        em_line(e, "for (int64_t p = pv; p < nt; p++) yr[p] += bv;");
        em_close(e);
    } else {
        em_line(e, "(void)p0, (void)nt;");
    }
    if (!pw)
        em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

static uint64_t scratch_conv(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
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

/* col2im: adds col [Mg*KP, IP] of one group into y [Mg, OP].  One and two
 * spatial dims call the kernel layer's hd_col2im_acc_f32 (the ConvTranspose
 * input grid is its column grid, the output its image; 1-D is a 1 x W
 * image); three or more are written out as loops in the same order. */
static void emit_col2im(op_emit *e, const nn_conv_geom *g)
{
    const nn_window *w = &g->w;
    int nd = w->nd, L = nd - 1;
    if (nd <= 2) {
        int r = nd - 1; /* index of the row dim, -1 for 1-D */
        em_line(e,
                "hd_col2im_acc_f32(col, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", y);",
                g->Mg, r ? w->out[0] : 1, w->out[L], r ? w->in[0] : 1, w->in[L], r ? w->k[0] : 1, w->k[L],
                r ? w->s[0] : 1, w->s[L], r ? w->pb[0] : 0, w->pb[L], r ? w->d[0] : 1, w->d[L]);
        return;
    }
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
static void emit_convt_direct(op_emit *e, const nn_conv_geom *g, hodu_dtype t, bool bias)
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

static uint64_t convt_col_bytes(const nn_conv_geom *g)
{
    return nn_align64(op_bytes4(g->Mg, g->KP, g->IP, 1, sizeof(float)));
}

static bool emit_conv_transpose(op_emit *e)
{
    nn_conv_geom g;
    nn_conv_geom_of(e->g, e->node, &g);
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
    em_line(e,
            "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in1 + grp * %" PRId64 ", %" PRId64 ", 1, x, %" PRId64
            ", 0, col, %" PRId64 ", 1.0f, 0.0f, ws);",
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

static uint64_t scratch_conv_transpose(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    if (g.IP == 0 || g.Cg == 0)
        return 0;
    return convt_col_bytes(&g) + nn_sgemm_scratch_bytes(g.Mg * g.KP, g.IP, g.Cg);
}

void native_register_nn_conv(native_lowering *table)
{
    table[OP_CONV] = (native_lowering){.emit = emit_conv, .scratch = scratch_conv};
    table[OP_CONV_INTEGER] = (native_lowering){.emit = emit_conv};
    table[OP_QLINEAR_CONV] = (native_lowering){.emit = emit_conv};
    table[OP_CONV_TRANSPOSE] = (native_lowering){.emit = emit_conv_transpose, .scratch = scratch_conv_transpose};
}
