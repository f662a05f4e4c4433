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
 * The im2col runs in chunks of output rows through the kernel layer's
 * hd_im2col_nd_f32, or hd_im2col_pack_f32, which writes the columns in
 * the GEMM's packed-B layout so the GEMM does not pack them again; with a
 * stride along the last dim the image is first split into stride phases
 * (hd_phase_split_f32) so every tap copies a contiguous run.
 *
 * Float32 ConvTranspose lowers to a GEMM (W_g^T X_g) and the kernel layer's
 * col2im scatter (hd_col2im_acc_nd_f32); other dtypes use a direct gather
 * loop.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/ops.h"

_Static_assert(NN_MAX_SPATIAL <= HD_WIN_MAX_ND, "the kernel layer's window holds every spatial rank");

static const char *const KV[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

/* --- Conv ---------------------------------------------------------------- */

/* Opens the kernel loops of a direct convolution inside its channel loop:
 * per spatial dim the tap kI, the input coordinate iI, and a skip when the
 * window can leave the input along that dim. */
static void emit_conv_taps(op_emit *e, const nn_window *w)
{
    for (int i = 0; i < w->nd; i++) {
        em_for(e, KV[i], w->k[i]);
        nn_emit_tap(e, w, i, IV[i], OV[i], KV[i]);
        if (nn_window_leaves_input(w, i))
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
}

/* Element indices of x, w and y in a direct convolution's innermost loop:
 * x[n][grp*Cg + c][i...], w at wbase[0..nwb) + k..., y[n][m][o...]. */
typedef struct conv_index {
    em_expr x, w, y;
} conv_index;

static conv_index conv_direct_index(const nn_conv_geom *g, const em_term *wbase, size_t nwb)
{
    const nn_window *w = &g->w;
    em_term t[4 + NN_MAX_SPATIAL];
    conv_index r;
    t[0] = (em_term){"n", g->C * g->IP};
    t[1] = (em_term){"grp", g->G > 1 ? g->Cg * g->IP : 0}; /* grp is 0 with one group */
    t[2] = (em_term){"c", g->IP};
    r.x = em_index(0, 3 + nn_dense_terms(t + 3, w->nd, IV, w->in, 1), t);
    memcpy(t, wbase, nwb * sizeof *t);
    r.w = em_index(0, nwb + nn_dense_terms(t + nwb, w->nd, KV, w->k, 1), t);
    t[0] = (em_term){"n", g->M * g->OP};
    t[1] = (em_term){"m", g->OP};
    r.y = em_index(0, 2 + nn_dense_terms(t + 2, w->nd, OV, w->out, 1), t);
    return r;
}

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
    if (g->G > 1)
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
    /* 64-bit sums cannot overflow (a product is below 2^18 in magnitude);
     * ConvInteger's int32 result is their low 32 bits, as int32 sums that
     * wrap would give */
    em_line(e, "int64_t acc = %s;", qlinear && em_in(e, 8) ? "in8[m]" : "0");
    em_for(e, "c", g->Cg);
    emit_conv_taps(e, w);
    const em_term wb[] = {{"m", g->Cg * g->KP}, {"c", g->KP}};
    conv_index ix = conv_direct_index(g, wb, 2);
    em_line(e, "acc += ((int32_t)in0[%s] - xz) * ((int32_t)in%d[%s] - wz);", ix.x.s, wi_, ix.w.s);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    if (qlinear) {
        bool s8 = out->dtype == HODU_DTYPE_I8;
        em_line(e, "double r = (double)acc * (double)mult + (double)%s;", em_in(e, 7) ? "in7[0]" : "0");
        /* NaN (a zero or NaN scale) saturates low instead of converting */
        em_line(e, "r = !(r >= %s) ? %s : (r > %s ? %s : r);", s8 ? "-128.0" : "0.0", s8 ? "-128.0" : "0.0",
                s8 ? "127.0" : "255.0", s8 ? "127.0" : "255.0");
        em_line(e, "out0[%s] = (%s)rint(r);", ix.y.s, em_ctype(out->dtype));
    } else {
        em_line(e, "out0[%s] = (int32_t)(uint32_t)(uint64_t)acc;", ix.y.s);
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    em_close(e);
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
    if (s == 1) {
        em_line(e, "int64_t %s = %s >= 0 ? 0 : -%s;", lo, offv, offv);
        em_line(e, "int64_t %s = %s >= %" PRId64 " ? 0 : %" PRId64 " - %s;", hi, offv, in, in, offv);
    } else {
        em_line(e, "int64_t %s = %s >= 0 ? 0 : (-%s + %" PRId64 ") / %" PRId64 ";", lo, offv, offv, s - 1, s);
        em_line(e, "int64_t %s = %s >= %" PRId64 " ? 0 : (%" PRId64 " - %s + %" PRId64 ") / %" PRId64 ";", hi, offv, in,
                in, offv, s - 1, s);
    }
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

/* Writes `static const hd_window <name>` for the kernel layer: the image is
 * the convolution's input and the column grid its output, or the other
 * way round for ConvTranspose (`transposed`), whose col2im scatters its
 * input grid onto its output. */
void nn_emit_window(op_emit *e, const char *name, const nn_window *w, bool transposed)
{
    const int64_t *dims[6] = {transposed ? w->out : w->in, transposed ? w->in : w->out, w->k, w->s, w->d, w->pb};
    static const char *const field[6] = {"in", "out", "k", "s", "d", "pad"};
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "static const hd_window %s = {.nd = %d", name, w->nd);
    for (int f = 0; f < 6; f++) {
        hd_buf_printf(&b, ", .%s = {", field[f]);
        for (int i = 0; i < w->nd; i++)
            hd_buf_printf(&b, "%s%" PRId64, i ? ", " : "", dims[f][i]);
        hd_buf_puts(&b, "}");
    }
    em_line(e, "%s};", b.data);
    hd_buf_free(&b);
}

/* A depthwise plane is done (and in cache): its epilogue, channel c of
 * image n, rows being channels. */
static void depthwise_plane_epilogue(op_emit *e, const nn_conv_geom *g)
{
    nn_tile_map map = {g->OP, 1, true, -1, false};
    char fn[32];
    if (nn_tile_fn(e, &map, fn)) {
        em_expr base = em_index(0, EM_TERMS({"(nc - c)", g->OP}));
        nn_tile_ctx(e, fn, &map, "ec", base.s, "0");
        em_line(e, "%s(&ec, o, %" PRId64 ", c, 0, 1, %" PRId64 ");", fn, g->OP, g->OP);
    }
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

    /* channels are independent: tasks over image x channel planes */
    em_par_for(e, "nc", g->N * g->C, 1, g->OP * KH * KW);
    em_line(e, "const int64_t c = nc %% %" PRId64 ";", g->C);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"nc", g->IP})).s);
    em_line(e, "const float *wc = %s;", em_offset("in1", 0, EM_TERMS({"c", KH * KW})).s);
    em_line(e, "float *o = %s;", em_offset("out0", 0, EM_TERMS({"nc", g->OP})).s);
    em_line(e, "const float bv = %s;", bias ? "in2[c]" : "0.0f");
    if (fast_rows) {
        for (int64_t t = 0; t < KH * KW; t++)
            em_line(e, "const float w%" PRId64 " = wc[%" PRId64 "];", t, t);
        em_line(e, "const hd_vf vb = hd_vf_splat(bv);");
        for (int64_t t = 0; t < KH * KW; t++)
            em_line(e, "const hd_vf vw%" PRId64 " = hd_vf_splat(w%" PRId64 ");", t, t);
        if (SW > 1) {
            /* this channel's rows split into SW phases */
            em_line(e, "float *xs = (float *)wscratch;");
            em_line(e, "hd_phase_split_f32(x, %" PRId64 ", %" PRId64 ", %" PRId64 ", xs);", IH, IW, SW);
        }
    }
    em_for(e, "oh", OH);
    em_line(e, "float *orow = %s;", em_offset("o", 0, EM_TERMS({"oh", OW})).s);
    if (fast_rows) {
        em_line(e, "if (oh >= %" PRId64 " && oh < %" PRId64 ") {", RLO, RHI);
        e->indent++;
        em_line(e, "const float *xr = %s;", em_offset("x", -PH * IW, EM_TERMS({"oh", SH * IW})).s);
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
                    em_line(e, "acc += w%" PRId64 " * xr[%s];", kh * KW + kw,
                            em_index(kh * DH * IW + off[kw], EM_TERMS({"ow", SW})).s);
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
            em_line(e, "const float *xq = %s;", em_offset("xs", -PH * SW * PWd, EM_TERMS({"oh", SH * SW * PWd})).s);
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
                em_line(e, "acc += vw%" PRId64 " * hd_vf_load(%s);", kh * KW + kw,
                        em_offset("xq", at, EM_TERMS({"ow", 1})).s);
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
                em_line(e, "acc += w%" PRId64 " * xr[%s];", kh * KW + kw,
                        em_index(kh * DH * IW + off[kw], EM_TERMS({"ow", SW})).s);
        em_line(e, "orow[ow] = acc;");
        em_close(e);
        em_close(e);
        em_line(e, "continue;");
        em_close(e);
    }
    /* general rows: accumulate tap by tap */
    em_line(e, "for (int64_t ow = 0; ow < %" PRId64 "; ow++) orow[ow] = bv;", OW);
    em_for(e, "kh", KH);
    nn_emit_tap(e, w, 0, "ih", "oh", "kh");
    em_line(e, "if ((uint64_t)ih >= %" PRId64 "u) continue;", IH);
    em_line(e, "const float *xr = %s;", em_offset("x", 0, EM_TERMS({"ih", IW})).s);
    if (small) {
        for (int64_t kw = 0; kw < KW; kw++) {
            if (lo[kw] >= hi[kw])
                continue;
            em_line(e, "{");
            e->indent++;
            em_line(e, "const float wv = wc[%s];", em_index(kw, EM_TERMS({"kh", KW})).s);
            em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) orow[ow] += wv * xr[%s];", lo[kw],
                    hi[kw], em_index(off[kw], EM_TERMS({"ow", SW})).s);
            em_close(e);
        }
    } else {
        em_for(e, "kw", KW);
        em_line(e, "const float wv = wc[%s];", em_index(0, EM_TERMS({"kh", KW}, {"kw", 1})).s);
        em_line(e, "const int64_t off = %s;", em_index(-PW, EM_TERMS({"kw", DW})).s);
        emit_valid_range(e, "off", SW, IW, OW, "lo", "hi");
        em_line(e, "for (int64_t ow = lo; ow < hi; ow++) orow[ow] += wv * xr[%s];",
                em_index(0, EM_TERMS({"ow", SW}, {"off", 1})).s);
        em_close(e);
    }
    em_close(e);
    em_close(e);
    depthwise_plane_epilogue(e, g);
    em_close(e);
}

/* Zeroes the `total` floats at `dst` and copies input rows into it, per
 * channel c < C: row r < XR of the bordered buffer (width Wp, XR rows a
 * channel) takes input row `row0` - PT + r of `src` (IW wide, IH rows, IP
 * floats a channel) at column PL, where that row exists. */
static void emit_bordered_rows(op_emit *e, const char *dst, const char *src, int64_t total, int64_t C, int64_t XR,
                               int64_t Wp, const char *row0, const nn_window *w, int64_t IP)
{
    int64_t IH = w->in[0], IW = w->in[1];
    em_line(e, "memset(%s, 0, %" PRId64 " * sizeof(float));", dst, total);
    em_for(e, "c", C);
    em_line(e, "for (int64_t r = 0; r < %" PRId64 "; r++) {", XR);
    e->indent++;
    em_line(e, "const int64_t ih = %s - %" PRId64 " + r;", row0, w->pb[0]);
    em_line(e, "if ((uint64_t)ih < %" PRId64 "u)", IH);
    em_line(e, "    memcpy(%s, %s, %" PRId64 " * sizeof(float));",
            em_offset(dst, w->pb[1], EM_TERMS({"c", XR * Wp}, {"r", Wp})).s,
            em_offset(src, 0, EM_TERMS({"c", IP}, {"ih", IW})).s, IW);
    em_close(e);
    em_close(e);
}

/* Depthwise with stride 1 on narrow planes (fewer than 32 output columns,
 * too few for the row-vector form): the channel is copied into a
 * zero-bordered plane of width Wp, where output (oh, ow) sits at the flat
 * index oh*Wp + ow and reads tap (kh, kw) at a fixed offset from it; one
 * vector loop then runs over the flat index (the Wp - OW border columns
 * computed and dropped), and the rows are copied out. */
typedef struct dw_flat {
    int64_t Hp, Wp, xpn, yfn; /* padded rows and width, floats of the two buffers */
} dw_flat;

static bool depthwise_flat(const nn_conv_geom *g, dw_flat *f)
{
    const nn_window *w = &g->w;
    if (w->s[0] != 1 || w->s[1] != 1 || w->out[1] >= 32 || w->k[0] * w->k[1] > 64)
        return false;
    for (int i = 0; i < 2; i++)
        if (w->pb[i] < 0 || w->pe[i] < 0 || w->pb[i] > 64 || w->pe[i] > 64)
            return false;
    f->Hp = w->in[0] + w->pb[0] + w->pe[0];
    f->Wp = w->in[1] + w->pb[1] + w->pe[1];
    if (f->Hp - (w->k[0] - 1) * w->d[0] != w->out[0] || f->Wp - (w->k[1] - 1) * w->d[1] != w->out[1])
        return false;
    /* slack past each buffer: the last vector runs past the flat length */
    int64_t slack = (w->k[1] - 1) * w->d[1] + 16;
    f->xpn = f->Hp * f->Wp + slack;
    f->yfn = w->out[0] * f->Wp + 16;
    return true;
}

static void emit_depthwise_flat(op_emit *e, const nn_conv_geom *g, const dw_flat *f, bool bias)
{
    const nn_window *w = &g->w;
    int64_t OH = w->out[0], OW = w->out[1], KH = w->k[0], KW = w->k[1];
    em_par_for(e, "nc", g->N * g->C, 1, g->OP * KH * KW);
    em_line(e, "const int64_t c = nc %% %" PRId64 ";", g->C);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"nc", g->IP})).s);
    em_line(e, "const float *wc = %s;", em_offset("in1", 0, EM_TERMS({"c", KH * KW})).s);
    em_line(e, "float *o = %s;", em_offset("out0", 0, EM_TERMS({"nc", g->OP})).s);
    em_line(e, "float *xp = (float *)wscratch, *yf = xp + %" PRId64 ";", f->xpn);
    emit_bordered_rows(e, "xp", "x", f->xpn, 1, f->Hp, f->Wp, "0", w, g->IP);
    em_line(e, "const hd_vf vb = hd_vf_splat(%s);", bias ? "in2[c]" : "0.0f");
    for (int64_t t = 0; t < KH * KW; t++)
        em_line(e, "const hd_vf vw%" PRId64 " = hd_vf_splat(wc[%" PRId64 "]);", t, t);
    em_line(e, "for (int64_t p = 0; p < %" PRId64 "; p += HD_VF) {", OH * f->Wp);
    e->indent++;
    em_line(e, "hd_vf acc = vb;");
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            em_line(e, "acc += vw%" PRId64 " * hd_vf_load(%s);", kh * KW + kw,
                    em_offset("xp", kh * w->d[0] * f->Wp + kw * w->d[1], EM_TERMS({"p", 1})).s);
    em_line(e, "hd_vf_store(yf + p, acc);");
    em_close(e);
    em_line(e, "for (int64_t oh = 0; oh < %" PRId64 "; oh++) memcpy(%s, %s, %" PRId64 " * sizeof(float));", OH,
            em_offset("o", 0, EM_TERMS({"oh", OW})).s, em_offset("yf", 0, EM_TERMS({"oh", f->Wp})).s, OW);
    depthwise_plane_epilogue(e, g);
    em_close(e);
}

/* Dense convolution with stride 1 on small problems (few channels, narrow
 * rows: LeNet's), where im2col and a GEMM with a handful of rows cost
 * more than the arithmetic.  The flat form of depthwise_flat, over every
 * input channel: a chunk of RB output rows reads a zero-bordered copy of
 * the input rows it needs, [C][XR][Wp], in which output (r, ow) sits at
 * flat index r*Wp + ow and tap (c, kh, kw) at a fixed offset from it.  A
 * register block of MB channels x NVB vectors of flat positions sums every
 * tap, the weights broadcast from W's own layout; the Wp - OW border
 * columns are computed and dropped when a tile function moves the rows to
 * the output, running the fused members on the way. */
typedef struct conv_flat_plan {
    int64_t Wp, RB, XR; /* bordered width, output rows per task, input rows they read */
    int64_t MB, NVB;    /* register block: channels x vectors */
    int64_t YL;         /* floats per channel of a task's flat output */
    int64_t xpn;        /* floats of the bordered input copy, with slack */
} conv_flat_plan;

/* The widest vector the generated code may be built for (AVX-512). */
#define FLAT_MAX_VF 16
/* A task's flat output stays in L1 (floats). */
#define FLAT_TASK_FLOATS 8192

static bool conv_flat(const nn_conv_geom *g, conv_flat_plan *f)
{
    const nn_window *w = &g->w;
    /* a pointwise one is a GEMM on the image as it is: nothing to save */
    if (w->nd != 2 || g->G != 1 || w->s[0] != 1 || w->s[1] != 1 || conv_pointwise(g))
        return false;
    for (int i = 0; i < 2; i++)
        if (w->pb[i] < 0 || w->pe[i] < 0 || w->pb[i] > 64 || w->pe[i] > 64 || w->out[i] < 1)
            return false;
    int64_t OH = w->out[0], OW = w->out[1], KH = w->k[0], KW = w->k[1];
    /* small channel sums and narrow rows; the border columns cost at most
     * half the work again */
    f->Wp = w->in[1] + w->pb[1] + w->pe[1];
    if (g->C * KH * KW > 256 || g->M > 64 || OW >= 32 || f->Wp - OW > OW / 2 + 4 || KH * KW > 64)
        return false;
    if (f->Wp != OW + (KW - 1) * w->d[1] || w->in[0] + w->pb[0] + w->pe[0] != OH + (KH - 1) * w->d[0])
        return false;
    if (OH * f->Wp < 2 * FLAT_MAX_VF) /* a plane fills two vectors: few lanes idle */
        return false;
    int64_t per_row = g->M * f->Wp, rows = FLAT_TASK_FLOATS / per_row;
    rows = rows < 1 ? 1 : rows;
    /* a few chunks per image when there is work enough for the pool */
    int64_t macs = g->M * g->C * KH * KW * OW;
    if (macs * OH >= 4 * 64 * 1024 && OH >= 4)
        rows = rows < (OH + 3) / 4 ? rows : (OH + 3) / 4;
    f->RB = rows < OH ? rows : OH;
    f->XR = f->RB + (KH - 1) * w->d[0];
    f->MB = g->M % 4 == 0 && g->M % 6 != 0 ? 4 : g->M < 6 ? g->M : 6;
    f->NVB = 12 / f->MB > 4 ? 4 : 12 / f->MB;
    int64_t step = f->NVB * FLAT_MAX_VF;
    f->YL = (f->RB * f->Wp + step - 1) / step * step;
    f->xpn = g->C * f->XR * f->Wp + (f->YL - f->RB * f->Wp) + (KW - 1) * w->d[1] + FLAT_MAX_VF;
    return true;
}

/* One register block: channels m0 .. m0+mb of the flat positions p ..
 * p + NVB vectors. */
static void emit_conv_flat_block(op_emit *e, const nn_conv_geom *g, const conv_flat_plan *f, const char *m0, int64_t mb,
                                 bool bias)
{
    const nn_window *w = &g->w;
    int64_t KH = w->k[0], KW = w->k[1], KK = KH * KW, CKK = g->C * KK;
    em_line(e, "{");
    e->indent++;
    em_line(e, "const float *wm = %s;", em_offset("in1", 0, EM_TERMS({m0, CKK})).s);
    for (int64_t j = 0; j < mb; j++) {
        char bv[48];
        snprintf(bv, sizeof bv, "in2[%s + %" PRId64 "]", m0, j);
        for (int64_t v = 0; v < f->NVB; v++)
            em_line(e, "hd_vf a%" PRId64 "_%" PRId64 " = hd_vf_splat(%s);", j, v, bias ? bv : "0.0f");
    }
    em_for(e, "c", g->C);
    em_line(e, "const float *xc = %s;", em_offset("xp", 0, EM_TERMS({"c", f->XR * f->Wp}, {"p", 1})).s);
    em_line(e, "const float *wc = %s;", em_offset("wm", 0, EM_TERMS({"c", KK})).s);
    em_for(e, "kh", KH);
    em_line(e, "const float *xr = %s;", em_offset("xc", 0, EM_TERMS({"kh", w->d[0] * f->Wp})).s);
    em_line(e, "const float *wr = %s;", em_offset("wc", 0, EM_TERMS({"kh", KW})).s);
    for (int64_t kw = 0; kw < KW; kw++) {
        em_line(e, "{");
        e->indent++;
        for (int64_t v = 0; v < f->NVB; v++)
            em_line(e, "const hd_vf v%" PRId64 " = hd_vf_load(xr + %" PRId64 " + %" PRId64 " * HD_VF);", v,
                    kw * w->d[1], v);
        for (int64_t j = 0; j < mb; j++) {
            em_line(e, "const hd_vf s%" PRId64 " = hd_vf_splat(wr[%" PRId64 "]);", j, j * CKK + kw);
            for (int64_t v = 0; v < f->NVB; v++)
                em_line(e, "a%" PRId64 "_%" PRId64 " += s%" PRId64 " * v%" PRId64 ";", j, v, j, v);
        }
        em_close(e);
    }
    em_close(e);
    em_close(e);
    for (int64_t j = 0; j < mb; j++)
        for (int64_t v = 0; v < f->NVB; v++)
            em_line(e,
                    "hd_vf_store(yf + (%s + %" PRId64 ") * %" PRId64 " + p + %" PRId64 " * HD_VF, a%" PRId64 "_%" PRId64
                    ");",
                    m0, j, f->YL, v, j, v);
    em_close(e);
}

static bool emit_conv_flat(op_emit *e, const nn_conv_geom *g, const conv_flat_plan *f, bool bias)
{
    const nn_window *w = &g->w;
    int64_t OH = w->out[0], OW = w->out[1];
    int64_t NT = (OH + f->RB - 1) / f->RB;
    nn_tile_map map = {g->OP, 1, true, -1, true};
    char fn[32];
    if (!nn_tile_fn(e, &map, fn)) { /* a moving one is always written, unless a member has no formula */
        ir_node_error(e->d, e->g, e->node, "internal error: no tile function for a fused convolution");
        return false;
    }
    em_par_for(e, "t", g->N * NT, 1, g->M * g->C * w->k[0] * w->k[1] * f->RB * OW);
    em_line(e, "const int64_t n = t / %" PRId64 ", oh0 = t %% %" PRId64 " * %" PRId64 ";", NT, NT, f->RB);
    em_line(e, "const int64_t nr = %" PRId64 " - oh0 < %" PRId64 " ? %" PRId64 " - oh0 : %" PRId64 ";", OH, f->RB, OH,
            f->RB);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"n", g->C * g->IP})).s);
    em_line(e, "float *xp = (float *)wscratch, *yf = xp + %" PRId64 ";", f->xpn);
    emit_bordered_rows(e, "xp", "x", f->xpn, g->C, f->XR, f->Wp, "oh0", w, g->IP);
    em_line(e, "const int64_t L = nr * %" PRId64 ";", f->Wp);
    em_line(e, "for (int64_t p = 0; p < L; p += %" PRId64 " * HD_VF) {", f->NVB);
    e->indent++;
    int64_t full = g->M / f->MB * f->MB;
    if (full > 0) {
        em_line(e, "for (int64_t m0 = 0; m0 < %" PRId64 "; m0 += %" PRId64 ")", full, f->MB);
        emit_conv_flat_block(e, g, f, "m0", f->MB, bias);
    }
    if (g->M > full) {
        char m0[24];
        snprintf(m0, sizeof m0, "%" PRId64, full);
        emit_conv_flat_block(e, g, f, m0, g->M - full, bias);
    }
    em_close(e);
    em_expr base = em_index(0, EM_TERMS({"n", g->M * g->OP}));
    nn_tile_ctx(e, fn, &map, "ec", base.s, "0");
    em_line(e, "for (int64_t r = 0; r < nr; r++)");
    em_line(e, "    %s(&ec, %s, %" PRId64 ", 0, %s, %" PRId64 ", %" PRId64 ");", fn,
            em_offset("yf", 0, EM_TERMS({"r", f->Wp})).s, f->YL, em_index(0, EM_TERMS({"(oh0 + r)", OW})).s, g->M, OW);
    em_close(e);
    return true;
}

/* The inner part both direct emitters share: with the window loops open
 * (input coordinates in IV, kernel in KV, output in OV), accumulate x * w
 * with w indexed from the terms `wbase`, then close the loops and store
 * acc. */
static void emit_direct_mac_store(op_emit *e, const nn_conv_geom *g, hodu_dtype t, const char *acc_t,
                                  const em_term *wbase, size_t nwb)
{
    int nd = g->w.nd;
    conv_index ix = conv_direct_index(g, wbase, nwb);
    char *lx = em_load(t, "in0[xi]"), *lw = em_load(t, "in1[wi]");
    em_line(e, "const int64_t xi = %s, wi = %s;", ix.x.s, ix.w.s);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, lx, acc_t, lw);
    free(lx);
    free(lw);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    char *st = em_store(t, "acc");
    em_line(e, "out0[%s] = %s;", ix.y.s, st);
    free(st);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    em_close(e);
}

/* A direct form's accumulator for output channel m (its bias or 0), then
 * the loop over the group's input channels. */
static void emit_direct_acc(op_emit *e, hodu_dtype t, const char *acc_t, bool bias, int64_t Cg)
{
    char *lb = em_load(t, "in2[m]");
    em_line(e, "%s acc = %s;", acc_t, bias ? lb : "0");
    free(lb);
    em_for(e, "c", Cg);
}

/* Direct convolution for any float dtype: one dot product per output. */
static void emit_conv_direct(op_emit *e, const nn_conv_geom *g, hodu_dtype t, bool bias)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : "float";
    em_for(e, "n", g->N);
    em_for(e, "m", g->M);
    if (g->G > 1)
        em_line(e, "const int64_t grp = m / %" PRId64 ";", g->Mg);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    emit_direct_acc(e, t, acc_t, bias, g->Cg);
    emit_conv_taps(e, w);
    const em_term wb[] = {{"m", g->Cg * g->KP}, {"c", g->KP}};
    emit_direct_mac_store(e, g, t, acc_t, wb, 2);
}

static int64_t conv_chunk_cols(const nn_conv_geom *g)
{
    return g->w.nd >= 2 ? conv_chunk_rows(g) * conv_inner(g) : g->OP;
}

static bool conv_transposed(const nn_conv_geom *g);

/* The window in the kernel layer's terms. */
static hd_window hd_window_of(const nn_window *w)
{
    hd_window h = {.nd = w->nd};
    for (int i = 0; i < w->nd; i++) {
        h.in[i] = w->in[i];
        h.out[i] = w->out[i];
        h.k[i] = w->k[i];
        h.s[i] = w->s[i];
        h.d[i] = w->d[i];
        h.pad[i] = w->pb[i];
    }
    return h;
}

/* The normal form's im2col writes its columns straight into the kernel
 * layer's packed-B panels (hd_im2col_pack_par), so the GEMM never packs
 * them: where the kernel layer's buffer holds a channel's rows of one grid
 * row, its passes over a chunk start on panel boundaries (otherwise each
 * pass copies the columns up to one singly: on ResNet's stem 4% more
 * instructions than packing), and with more than 4 output channels per
 * group (fewer take the unpacked small-M path, which reads the columns in
 * place). */
static bool conv_packs_col(const nn_conv_geom *g)
{
    if (conv_pointwise(g) || conv_transposed(g) || g->Mg <= 4)
        return false;
    hd_window w = hd_window_of(&g->w);
    if (g->w.nd == 1)
        return hd_im2col_pack_fits(&w);
    int64_t R = conv_chunk_rows(g), rows = hd_im2col_pack_rows(&w, R);
    return rows > 0 && (rows >= R || rows * conv_inner(g) % HD_SGEMM_PACK_NB == 0);
}

static uint64_t conv_col_bytes(const nn_conv_geom *g)
{
    if (conv_pointwise(g))
        return 0;
    if (conv_packs_col(g)) /* whole panels */
        return nn_align64(op_bytes4(g->Cg, g->KP, (conv_chunk_cols(g) + HD_SGEMM_PACK_NB - 1) / HD_SGEMM_PACK_NB,
                                    HD_SGEMM_PACK_NB, sizeof(float)));
    return nn_align64(op_bytes4(g->Cg, g->KP, conv_transposed(g) ? g->OP : conv_chunk_cols(g), 1, sizeof(float)));
}

/* The transposed form, C^T[OP, Mg] = col^T W_g^T, for small output grids
 * (a CNN's last stages): with N = OP the product would waste most of each
 * micro-tile's width and pack W again for a handful of columns, while W_g^T
 * as B is packed once, at build time, and the tile function stores C^T
 * transposed into y.  At least a panel of output channels, or most of the
 * micro-tile would be padding.  The whole column matrix is built at once. */
#define CONV_T_MAX_OP  256
#define CONV_T_MAX_COL ((int64_t)1 << 20)

static bool conv_transposed(const nn_conv_geom *g)
{
    int64_t kd = g->Cg * g->KP;
    return !conv_depthwise2d(g) && kd > 0 && g->OP >= 8 && g->OP <= CONV_T_MAX_OP && g->Mg >= HD_SGEMM_PACK_NB &&
           (conv_pointwise(g) || kd * g->OP <= CONV_T_MAX_COL);
}

/* Bytes of the transposed form's C^T block. */
static uint64_t conv_ct_bytes(const nn_conv_geom *g)
{
    return conv_transposed(g) ? nn_align64(op_bytes4(g->OP, g->Mg, 1, 1, sizeof(float))) : 0;
}

static bool packs_conv(const ir_graph *gr, int node, size_t input)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (input != 1 || ir_nd(gr, node)->op != OP_CONV || out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return false;
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    conv_flat_plan fp;
    return !conv_flat(&g, &fp) && conv_transposed(&g);
}

/* W_g^T of every group packed for the kernel layer (hd_sgemm_pack_b's
 * layout, group after group); NULL when W is not a constant. */
static char *conv_packed_weights(op_emit *e, const nn_conv_geom *g, int64_t *group_floats)
{
    const ir_value *w = em_const_in(e, 1);
    int64_t kd = g->Cg * g->KP;
    *group_floats = (int64_t)hd_sgemm_packed_b_floats(kd, g->Mg);
    if (!w || w->nbytes != (size_t)(g->M * kd) * sizeof(float))
        return NULL;
    size_t n = (size_t)(*group_floats * g->G);
    float *packed = hd_xcalloc(n ? n : 1, sizeof(float));
    for (int64_t grp = 0; grp < g->G; grp++)
        hd_sgemm_pack_b(kd, g->Mg, (const float *)w->data + grp * g->Mg * kd, kd, 1, packed + grp * *group_floats);
    char *at = hd_xstrdup(em_blob(e, packed, n * sizeof(float)).s);
    free(packed);
    return at;
}

/* Applies the tile function to each output plane of a convolution that
 * wrote y directly (no GEMM hands it tiles): per image, rows are channels. */
static void conv_whole_epilogue(op_emit *e, const nn_conv_geom *g)
{
    nn_tile_map map = {g->OP, 1, true, -1, false};
    char fn[32];
    if (!nn_tile_fn(e, &map, fn))
        return;
    em_for(e, "n", g->N);
    em_expr base = em_index(0, EM_TERMS({"n", g->M * g->OP}));
    nn_tile_ctx(e, fn, &map, "ec", base.s, "0");
    em_line(e, "%s(&ec, %s, %" PRId64 ", 0, 0, %" PRId64 ", %" PRId64 ");", fn, em_at("out0", base.s).s, g->OP, g->M,
            g->OP);
    em_close(e);
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
        dw_flat f;
        if (depthwise_flat(&g, &f))
            emit_depthwise_flat(e, &g, &f, bias);
        else
            emit_depthwise(e, &g, bias);
        return true;
    }
    conv_flat_plan fp;
    if (g.Cg * g.KP > 0 && conv_flat(&g, &fp)) {
        return emit_conv_flat(e, &g, &fp, bias);
    }
    if (g.Cg * g.KP == 0) {
        /* no input channels: the output is the bias */
        em_for(e, "n", g.N);
        em_for(e, "m", g.M);
        em_for(e, "p", g.OP);
        em_line(e, "out0[%s] = %s;", em_index(0, EM_TERMS({"n", g.M * g.OP}, {"m", g.OP}, {"p", 1})).s,
                bias ? "in2[m]" : "0.0f");
        em_close(e);
        em_close(e);
        em_close(e);
        conv_whole_epilogue(e, &g);
        return true;
    }
    bool pw = conv_pointwise(&g), tr = conv_transposed(&g), pkc = conv_packs_col(&g);
    uint64_t colb = conv_col_bytes(&g), xsb = pw ? 0 : conv_xs_bytes(&g);
    int64_t Kd = g.Cg * g.KP;
    int64_t gs = g.G > 1; /* one group: no grp loop, its terms drop out */
    int64_t pgf = 0;
    char *packed = tr ? conv_packed_weights(e, &g, &pgf) : NULL;
    if (tr && !packed && em_const_in(e, 1)) { /* the blob left it out for the packed copy */
        ir_node_error(e->d, e->g, e->node, "internal error: constant weights of an unexpected size");
        return false;
    }
    /* Normal form: C = y (rows are channels); transposed: C = ct, rows are
     * output positions, stored transposed by the tile function. */
    nn_tile_map map = {tr ? 1 : g.OP, tr ? g.OP : 1, !tr, bias ? 2 : -1, tr};
    char fn[32];
    bool tiles = nn_tile_fn(e, &map, fn);
    if (!pw) {
        nn_emit_window(e, "win", &g.w, false);
        em_line(e, "float *col = (float *)scratch;");
    }
    if (xsb)
        em_line(e, "float *xs = (float *)(scratch + %" PRIu64 ");", colb);
    if (tr)
        em_line(e, "float *ct = (float *)(scratch + %" PRIu64 ");", colb + xsb);
    (void)colb;
    em_for(e, "n", g.N);
    if (gs)
        em_for(e, "grp", g.G);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"n", g.C * g.IP}, {"grp", gs * g.Cg * g.IP})).s);
    if (!tr)
        em_line(e, "float *y = %s;", em_offset("out0", 0, EM_TERMS({"n", g.M * g.OP}, {"grp", gs * g.Mg * g.OP})).s);
    if (!packed)
        em_line(e, "const float *wg = %s;", em_offset("in1", 0, EM_TERMS({"grp", gs * g.Mg * Kd})).s);
    /* chunks of output rows along the first spatial dim: im2col into L2,
     * GEMM (1-D convolutions, pointwise ones and the transposed form take
     * one chunk) */
    int64_t R = conv_chunk_rows(&g), inner = g.w.nd >= 2 ? conv_inner(&g) : g.OP;
    int64_t O0 = g.w.nd >= 2 ? g.w.out[0] : 1;
    bool chunked = !pw && !tr && R < O0;
    const char *src = "x";
    /* the data movement runs on the pool too (blocks of channels) */
    e->parallel = true;
    if (xsb) {
        int L = g.w.nd - 1;
        em_line(e, "hd_phase_split_par(exec, x, %" PRId64 ", %" PRId64 ", %" PRId64 ", xs);", g.Cg * (g.IP / g.w.in[L]),
                g.w.in[L], g.w.s[L]);
        src = "xs";
    }
    if (chunked) {
        em_line(e, "for (int64_t r0 = 0; r0 < %" PRId64 "; r0 += %" PRId64 ") {", O0, R);
        e->indent++;
        em_line(e, "const int64_t nr = %" PRId64 " - r0 < %" PRId64 " ? %" PRId64 " - r0 : %" PRId64 ";", O0, R, O0, R);
        em_line(e, "const int64_t nt = %s, p0 = %s;", em_index(0, EM_TERMS({"nr", inner})).s,
                em_index(0, EM_TERMS({"r0", inner})).s);
        em_line(e, "hd_im2col_%s_par(exec, %s, %" PRId64 ", &win, r0, nr, col);", pkc ? "pack" : "nd", src, g.Cg);
    } else if (!pw) {
        em_line(e, "hd_im2col_%s_par(exec, %s, %" PRId64 ", &win, 0, %" PRId64 ", col);", pkc ? "pack" : "nd", src,
                g.Cg, O0);
    }
    em_expr gpk = {""}; /* this group's packed weights */
    if (packed)
        gpk = em_offset(packed, 0, EM_TERMS({"grp", gs * pgf}));
    if (tiles) {
        em_expr base = em_index(0, EM_TERMS({"n", g.M * g.OP}, {"grp", gs * g.Mg * g.OP}, {"p0", chunked}));
        em_expr ch = em_index(0, EM_TERMS({"grp", gs * g.Mg}));
        nn_tile_ctx(e, fn, &map, "ec", base.s, ch.s);
    }
    /* normal: y[Mg, nt] = W_g[Mg, Kd] x B[Kd, nt], B the image itself
     * (pointwise) or its columns; transposed: ct[OP, Mg] = B^T W_g^T */
    nn_sgemm_call gemm = {.batch = 1,
                          .M = tr ? g.OP : g.Mg,
                          .N = tr ? g.Mg : g.OP,
                          .K = Kd,
                          .A = tr ? (pw ? "x" : "col") : "wg",
                          .lda = tr ? g.OP : Kd,
                          .ta = tr,
                          .B = tr   ? "wg"
                               : pw ? "x"
                                    : "col",
                          .ldb = tr ? Kd : g.OP,
                          .tb = tr,
                          .C = tr        ? "ct"
                               : chunked ? "y + p0"
                                         : "y",
                          .ldc = tr ? g.Mg : g.OP,
                          .alpha = "1.0f",
                          .beta = "0.0f",
                          .packed_b = packed ? gpk.s
                                      : pkc  ? "col"
                                             : NULL,
                          .tile_fn = tiles ? fn : NULL,
                          .tile_ctx = "&ec"};
    if (chunked) {
        /* nt is a run-time count here */
        em_line(e, "{");
        e->indent++;
        em_line(e,
                "const hd_sgemm_op op = {%" PRId64 ", nt, %" PRId64 ", wg, %" PRId64
                ", 0, %s, %s, 0, %s, y + p0, %" PRId64 ", 1.0f, 0.0f, 1, 0, 0, 0, %s, %s};",
                g.Mg, Kd, Kd, pkc ? "NULL" : "col", pkc ? "0" : "nt", pkc ? "col" : "NULL", g.OP, tiles ? fn : "NULL",
                tiles ? "&ec" : "NULL");
        em_line(e, "hd_sgemm_run_par(exec, workers, %" PRIu64 "u, &op);", e->worker_bytes);
        em_close(e);
        em_close(e);
    } else {
        nn_emit_sgemm(e, &gemm);
    }
    free(packed);
    if (gs)
        em_close(e);
    em_close(e);
    return true;
}

/* --- Conv over run-time spatial dims (the general path) --------------------
 * The channels, kernel, strides and pads stay constants; the image and
 * output sizes are read when the model runs (em_dim: the rtd[] entries of
 * their symbols, quotient symbols for the output).  Float32: chunks of
 * output rows through im2col into L2 and the GEMM, as the static form;
 * depthwise 2-D convolutions a direct loop. */

/* Output rows per chunk for a run whose rows are at most as wide as the
 * top of the range's (the chunk sized there holds them). */
static int64_t conv_rt_chunk_cols(const nn_conv_geom *g)
{
    return conv_pointwise(g) ? 0 : conv_chunk_rows(g) * (g->w.nd >= 2 ? conv_inner(g) : g->OP);
}

/* Each image's channel planes are tasks; the sizes are read inside. */
/* The largest output grid that takes the transposed form (conv_transposed:
 * C^T[OP, Mg] = col^T W_g^T, for a CNN's last stages), or 0 for none; the
 * run picks the form by its grid's size. */
static int64_t conv_rt_t_max(const nn_conv_geom *g)
{
    int64_t kd = g->Cg * g->KP, t = CONV_T_MAX_OP;
    if (kd <= 0 || g->Mg < HD_SGEMM_PACK_NB)
        return 0;
    if (!conv_pointwise(g) && kd * t > CONV_T_MAX_COL)
        t = CONV_T_MAX_COL / kd;
    if (t > g->OP)
        t = g->OP;
    return t >= 8 ? t : 0;
}

/* Scratch: the columns (a chunk, or the whole grid of the transposed
 * form), then the stride-phase copy, then the transposed result. */
static uint64_t conv_rt_col_bytes(const nn_conv_geom *g)
{
    int64_t cols = conv_rt_chunk_cols(g), t = conv_pointwise(g) ? 0 : conv_rt_t_max(g);
    return nn_align64(op_bytes4(g->Cg, g->KP, cols > t ? cols : t, 1, sizeof(float)));
}

static uint64_t conv_rt_ct_bytes(const nn_conv_geom *g)
{
    return nn_align64(op_bytes4(conv_rt_t_max(g), g->Mg, 1, 1, sizeof(float)));
}

/* The graph and values whose dims name the run's sizes: an epilogue
 * body's symbols are not the model's (rtd[] indexes the model's), so
 * inside one they come from the epilogue node, whose input 0 and result
 * have the contraction's types. */
static const ir_graph *conv_rt_dims(const op_emit *e, const ir_value **x, const ir_value **out)
{
    const ir_graph *gr = e->epi ? e->epi->g : e->g;
    const ir_node *n = ir_nd(gr, e->epi ? e->epi->node : e->node);
    *x = ir_val(gr, n->inputs[0]);
    *out = ir_val(gr, n->outputs[0]);
    return gr;
}

static bool emit_conv_rt_depthwise(op_emit *e, const nn_conv_geom *g, bool bias)
{
    const ir_value *x, *out;
    const ir_graph *gr = conv_rt_dims(e, &x, &out);
    const nn_window *w = &g->w;
    char *count = hd_xasprintf("%s * %" PRId64, em_dim(gr, x, 0).s, g->C);
    em_par_for_rt(e, "nc", count, g->N * g->C, g->OP * g->KP);
    free(count);
    em_line(e, "const int64_t I0 = %s, I1 = %s, O0 = %s, O1 = %s;", em_dim(gr, x, 2).s, em_dim(gr, x, 3).s,
            em_dim(gr, out, 2).s, em_dim(gr, out, 3).s);
    em_line(e, "const int64_t c = nc %% %" PRId64 ";", g->C);
    em_line(e, "const float *x = in0 + nc * I0 * I1;");
    em_line(e, "float *y = out0 + nc * O0 * O1;");
    em_line(e, "const float *wc = in1 + c * %" PRId64 ";", g->KP);
    em_line(e, "for (int64_t o0 = 0; o0 < O0; o0++) {");
    e->indent++;
    em_line(e, "for (int64_t o1 = 0; o1 < O1; o1++) {");
    e->indent++;
    em_line(e, "float acc = %s;", bias ? "in2[c]" : "0.0f");
    em_line(e, "for (int64_t k0 = 0; k0 < %" PRId64 "; k0++) {", w->k[0]);
    e->indent++;
    em_line(e, "const int64_t i0 = o0 * %" PRId64 " + k0 * %" PRId64 " - %" PRId64 ";", w->s[0], w->d[0], w->pb[0]);
    em_line(e, "if ((uint64_t)i0 >= (uint64_t)I0) continue;");
    em_line(e, "for (int64_t k1 = 0; k1 < %" PRId64 "; k1++) {", w->k[1]);
    e->indent++;
    em_line(e, "const int64_t i1 = o1 * %" PRId64 " + k1 * %" PRId64 " - %" PRId64 ";", w->s[1], w->d[1], w->pb[1]);
    em_line(e, "if ((uint64_t)i1 >= (uint64_t)I1) continue;");
    em_line(e, "acc += x[i0 * I1 + i1] * wc[k0 * %" PRId64 " + k1];", w->k[1]);
    em_close(e);
    em_close(e);
    em_line(e, "y[o0 * O1 + o1] = acc;");
    em_close(e);
    em_close(e);
    bool ok = !e->epi || nn_emit_span_epilogue(e, "y", "O0 * O1", "c", "nc * O0 * O1", -1);
    em_close(e);
    return ok;
}

/* y[m][p0 .. p0 + np) += bias[m] for the group's output channels. */
static void emit_conv_rt_bias(op_emit *e, const nn_conv_geom *g, const char *p0, const char *np)
{
    em_line(e, "for (int64_t m = 0; m < %" PRId64 "; m++) {", g->Mg);
    e->indent++;
    em_line(e, "const float b = in2[grp * %" PRId64 " + m];", g->Mg);
    em_line(e, "float *ym = y + m * OP + %s;", p0);
    em_line(e, "for (int64_t p = 0; p < %s; p++)", np);
    em_line(e, "    ym[p] += b;");
    em_close(e);
}

/* A finished span of output rows [p0, p0 + np) of every channel of the
 * group: its bias, or its epilogue (with the bias) while in cache. */
static bool emit_conv_rt_finish(op_emit *e, const nn_conv_geom *g, const char *p0, const char *np, bool bias)
{
    if (!e->epi) {
        if (bias)
            emit_conv_rt_bias(e, g, p0, np);
        return true;
    }
    em_line(e, "for (int64_t m = 0; m < %" PRId64 "; m++) {", g->Mg);
    e->indent++;
    em_line(e, "const int64_t ch = grp * %" PRId64 " + m;", g->Mg);
    char *y = hd_xasprintf("y + m * OP + %s", p0), *base = hd_xasprintf("(n * %" PRId64 " + ch) * OP + %s", g->M, p0);
    bool ok = nn_emit_span_epilogue(e, y, np, "ch", base, bias ? 2 : -1);
    free(y);
    free(base);
    em_close(e);
    return ok;
}

/* Row-major flat index over dims named dim0..dim{nd-1} (their C variables)
 * of the coordinates var[0..nd), after `lead` (an expression for the index
 * of everything before them): ((lead * D0 + v0) * D1 + v1)... */
static char *rt_flat_index(const char *lead, int nd, const char *dim, const char *const *var)
{
    char *r = hd_xasprintf("%s", lead);
    for (int i = 0; i < nd; i++) {
        char *next = hd_xasprintf("(%s) * %s%d + %s", r, dim, i, var[i]);
        free(r);
        r = next;
    }
    return r;
}

/* Conv (any float dtype but float32's GEMM forms) and ConvTranspose over
 * run-time spatial sizes: one dot product per output, the sizes read at
 * run time (I<i>, O<i>), kernel, strides, dilations and pads fixed. */
static bool emit_window_rt_direct(op_emit *e, const nn_conv_geom *g, hodu_dtype t, bool bias, bool transposed)
{
    const ir_value *x, *out;
    const ir_graph *gr = conv_rt_dims(e, &x, &out);
    const nn_window *w = &g->w;
    int nd = w->nd;
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : "float";
    em_line(e, "{");
    e->indent++;
    em_line(e, "const int64_t N = %s;", em_dim(gr, x, 0).s);
    for (int i = 0; i < nd; i++)
        em_line(e, "const int64_t I%d = %s, O%d = %s, K%d = %" PRId64 ";", i, em_dim(gr, x, 2 + i).s, i,
                em_dim(gr, out, 2 + i).s, i, w->k[i]);
    em_for_rt(e, "n", "N");
    em_for(e, "m", g->M);
    if (g->G > 1)
        em_line(e, "const int64_t grp = m / %" PRId64 ", mg = m %% %" PRId64 ";", g->Mg, g->Mg);
    else
        em_line(e, "const int64_t grp = 0, mg = m;");
    em_line(e, "(void)mg;");
    for (int i = 0; i < nd; i++) {
        char *bound = hd_xasprintf("O%d", i);
        em_for_rt(e, OV[i], bound);
        free(bound);
    }
    emit_direct_acc(e, t, acc_t, bias, g->Cg);
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w->k[i]);
        if (transposed) { /* output o reads input (o + pb - k*d) / s where that divides */
            em_line(e, "const int64_t t%d = %s + %" PRId64 " - %s * %" PRId64 ";", i, OV[i], w->pb[i], KV[i], w->d[i]);
            em_line(e, "if (t%d < 0 || t%d %% %" PRId64 " != 0) continue;", i, i, w->s[i]);
            em_line(e, "const int64_t %s = t%d / %" PRId64 ";", IV[i], i, w->s[i]);
        } else {
            em_line(e, "const int64_t %s = %s * %" PRId64 " + %s * %" PRId64 " - %" PRId64 ";", IV[i], OV[i], w->s[i],
                    KV[i], w->d[i], w->pb[i]);
        }
        em_line(e, "if ((uint64_t)%s >= (uint64_t)I%d) continue;", IV[i], i);
    }
    char *xl = hd_xasprintf("(n * %" PRId64 " + grp * %" PRId64 " + c)", g->C, g->Cg);
    /* W: Conv [M, C/group, k...], ConvTranspose [C, M/group, k...] */
    char *wl = transposed ? hd_xasprintf("((grp * %" PRId64 " + c) * %" PRId64 " + mg)", g->Cg, g->Mg)
                          : hd_xasprintf("(m * %" PRId64 " + c)", g->Cg);
    char *yl = hd_xasprintf("(n * %" PRId64 " + m)", g->M);
    char *xi = rt_flat_index(xl, nd, "I", IV), *wi = rt_flat_index(wl, nd, "K", KV),
         *yi = rt_flat_index(yl, nd, "O", OV);
    char *lx = em_load(t, "in0[xi]"), *lw = em_load(t, "in1[wi]");
    em_line(e, "const int64_t xi = %s, wi = %s;", xi, wi);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, lx, acc_t, lw);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    char *st = em_store(t, "acc");
    em_line(e, "out0[%s] = %s;", yi, st);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    em_close(e);
    e->indent--;
    em_line(e, "}");
    free(st);
    free(lx);
    free(lw);
    free(xl);
    free(wl);
    free(yl);
    free(xi);
    free(wi);
    free(yi);
    return true;
}

/* "const hd_window win = {...}" with the spatial sizes the run-time
 * variables I<i> and O<i> (swapped for a transposed window, whose image is
 * the output). */
static void rt_window_literal(hd_buf *win, const nn_window *w, bool transposed)
{
    const char *const field[6] = {"in", "out", "k", "s", "d", "pad"};
    const int64_t *vals[6] = {NULL, NULL, w->k, w->s, w->d, w->pb};
    hd_buf_printf(win, "const hd_window win = {.nd = %d", w->nd);
    for (int f = 0; f < 6; f++) {
        hd_buf_printf(win, ", .%s = {", field[f]);
        for (int i = 0; i < w->nd; i++) {
            if (vals[f])
                hd_buf_printf(win, "%s%" PRId64, i ? ", " : "", vals[f][i]);
            else
                hd_buf_printf(win, "%s%c%d", i ? ", " : "", (f != 0) != transposed ? 'O' : 'I', i);
        }
        hd_buf_puts(win, "}");
    }
}

static bool emit_conv_rt(op_emit *e)
{
    const ir_value *x, *out;
    const ir_graph *gr = conv_rt_dims(e, &x, &out);
    if (em_node(e)->op != OP_CONV) {
        ir_node_error(e->d, gr, e->node, "%s over run-time spatial dims is not supported; bind them with --dim SYM=N",
                      em_node(e)->op_type);
        return false;
    }
    nn_conv_geom g;
    if (!nn_conv_geom_of(e->g, e->node, &g))
        return false;
    if (out->dtype != HODU_DTYPE_F32) /* f16, bf16, f64: no epilogue (fuse takes float32 only) */
        return emit_window_rt_direct(e, &g, out->dtype, em_in(e, 2) != NULL, false);
    const nn_window *w = &g.w;
    bool bias = em_in(e, 2) != NULL, ok = true;
    int nd = w->nd;
    if (conv_depthwise2d(&g))
        return emit_conv_rt_depthwise(e, &g, bias);
    em_line(e, "{");
    e->indent++;
    em_line(e, "const int64_t N = %s;", em_dim(gr, x, 0).s);
    hd_buf ip, op, win;
    hd_buf_init(&ip);
    hd_buf_init(&op);
    hd_buf_init(&win);
    for (int i = 0; i < nd; i++) {
        em_line(e, "const int64_t I%d = %s, O%d = %s;", i, em_dim(gr, x, 2 + i).s, i, em_dim(gr, out, 2 + i).s);
        hd_buf_printf(&ip, "%sI%d", i ? " * " : "", i);
        hd_buf_printf(&op, "%sO%d", i ? " * " : "", i);
    }
    em_line(e, "const int64_t IP = %s, OP = %s;", ip.data, op.data);
    em_line(e, "(void)IP;");
    {
        bool pw = conv_pointwise(&g);
        int64_t Kd = g.Cg * g.KP, R = conv_chunk_rows(&g);
        rt_window_literal(&win, w, false);
        /* with a stride along the last dim, im2col reads the image split
         * into stride phases (after the columns in the scratch) */
        int L = nd - 1;
        bool split = !pw && w->s[L] > 1;
        if (!pw) {
            em_line(e, "%s};", win.data);
            em_line(e, "float *col = (float *)scratch;");
        }
        if (split)
            em_line(e, "float *xs = (float *)(scratch + %" PRIu64 ");", conv_rt_col_bytes(&g));
        e->parallel = true;
        em_line(e, "const int64_t inner = OP / (O0 > 0 ? O0 : 1);");
        em_line(e, "for (int64_t n = 0; n < N; n++) {");
        e->indent++;
        em_line(e, "for (int64_t grp = 0; grp < %" PRId64 "; grp++) {", g.G);
        e->indent++;
        em_line(e, "const float *x = in0 + (n * %" PRId64 " + grp * %" PRId64 ") * IP;", g.C, g.Cg);
        em_line(e, "float *y = out0 + (n * %" PRId64 " + grp * %" PRId64 ") * OP;", g.M, g.Mg);
        em_line(e, "const float *wg = in1 + grp * %" PRId64 ";", g.Mg * Kd);
        int64_t TT = conv_rt_t_max(&g);
        if (TT) {
            /* a small grid: ct[OP, Mg] = col^T W_g^T, stored transposed */
            em_line(e, "if (OP <= %" PRId64 ") {", TT);
            e->indent++;
            em_line(e, "float *ct = (float *)(scratch + %" PRIu64 ");",
                    conv_rt_col_bytes(&g) + (split ? conv_xs_bytes(&g) : 0));
            if (!pw) {
                if (split)
                    em_line(e, "hd_phase_split_par(exec, x, %" PRId64 " * (IP / I%d), I%d, %" PRId64 ", xs);", g.Cg, L,
                            L, w->s[L]);
                em_line(e, "hd_im2col_nd_par(exec, %s, %" PRId64 ", &win, 0, O0, col);", split ? "xs" : "x", g.Cg);
            }
            em_line(e,
                    "hd_sgemm_par(exec, workers, %" PRIu64 "u, 1, 0, 0, 0, OP, %" PRId64 ", %" PRId64
                    ", %s, OP, 1, wg, %" PRId64 ", 1, ct, %" PRId64 ", 1.0f, 0.0f);",
                    e->worker_bytes, g.Mg, Kd, pw ? "x" : "col", Kd, g.Mg);
            em_line(e, "for (int64_t m = 0; m < %" PRId64 "; m++) {", g.Mg);
            e->indent++;
            if (bias)
                em_line(e, "const float b = in2[grp * %" PRId64 " + m];", g.Mg);
            else
                em_line(e, "const float b = 0.0f;");
            em_line(e, "for (int64_t p = 0; p < OP; p++)");
            em_line(e, "    y[m * OP + p] = ct[p * %" PRId64 " + m] + b;", g.Mg);
            if (e->epi) {
                em_line(e, "const int64_t ch = grp * %" PRId64 " + m;", g.Mg);
                char *base = hd_xasprintf("(n * %" PRId64 " + ch) * OP", g.M);
                ok = ok && nn_emit_span_epilogue(e, "y + m * OP", "OP", "ch", base, -1);
                free(base);
            }
            em_close(e);
            e->indent--;
            em_line(e, "} else {");
            e->indent++;
        }
        if (pw) {
            em_line(e,
                    "hd_sgemm_par(exec, workers, %" PRIu64 "u, 1, 0, 0, 0, %" PRId64 ", OP, %" PRId64 ", wg, %" PRId64
                    ", 0, x, OP, 0, y, OP, 1.0f, 0.0f);",
                    e->worker_bytes, g.Mg, Kd, Kd);
        } else {
            if (split)
                em_line(e, "hd_phase_split_par(exec, x, %" PRId64 " * (IP / I%d), I%d, %" PRId64 ", xs);", g.Cg, L, L,
                        w->s[L]);
            em_line(e, "for (int64_t r0 = 0; r0 < O0; r0 += %" PRId64 ") {", R);
            e->indent++;
            em_line(e, "const int64_t nr = O0 - r0 < %" PRId64 " ? O0 - r0 : %" PRId64 ";", R, R);
            em_line(e, "const int64_t nt = nr * inner, p0 = r0 * inner;");
            em_line(e, "hd_im2col_nd_par(exec, %s, %" PRId64 ", &win, r0, nr, col);", split ? "xs" : "x", g.Cg);
            em_line(e,
                    "const hd_sgemm_op op = {%" PRId64 ", nt, %" PRId64 ", wg, %" PRId64
                    ", 0, col, nt, 0, NULL, y + p0, OP, 1.0f, 0.0f, 1, 0, 0, 0, NULL, NULL};",
                    g.Mg, Kd, Kd);
            em_line(e, "hd_sgemm_run_par(exec, workers, %" PRIu64 "u, &op);", e->worker_bytes);
            ok = ok && emit_conv_rt_finish(e, &g, "p0", "nt", bias); /* while the chunk is in cache */
            em_close(e);
        }
        if (pw)
            ok = ok && emit_conv_rt_finish(e, &g, "0", "OP", bias);
        if (TT) {
            e->indent--;
            em_line(e, "}");
        }
        em_close(e);
        em_close(e);
    }
    hd_buf_free(&ip);
    hd_buf_free(&op);
    hd_buf_free(&win);
    e->indent--;
    em_line(e, "}");
    return ok;
}

static uint64_t scratch_conv(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    if (ir_nd(gr, node)->rt_general) /* the top of the range's chunk */
        return conv_depthwise2d(&g)
                   ? 0
                   : op_sat_add_u64(op_sat_add_u64(conv_rt_col_bytes(&g), conv_xs_bytes(&g)), conv_rt_ct_bytes(&g));
    conv_flat_plan fp;
    if (conv_depthwise2d(&g) || g.Cg * g.KP == 0 || conv_flat(&g, &fp))
        return 0;
    return op_sat_add_u64(op_sat_add_u64(conv_col_bytes(&g), conv_pointwise(&g) ? 0 : conv_xs_bytes(&g)),
                          conv_ct_bytes(&g));
}

/* Each worker's scratch: GEMM packing buffers, or the depthwise path's
 * phase-split channel. */
static uint64_t worker_scratch_conv(const ir_graph *gr, int node)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || ir_value_numel(out) == 0)
        return 0;
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    if (ir_nd(gr, node)->rt_general) {
        if (conv_depthwise2d(&g) || g.Cg * g.KP == 0)
            return 0;
        uint64_t nb =
            nn_sgemm_scratch_bytes(g.Mg, conv_pointwise(&g) ? g.OP : conv_rt_chunk_cols(&g), op_sat_mul(g.Cg, g.KP));
        uint64_t tb = conv_rt_t_max(&g) ? nn_sgemm_scratch_bytes(conv_rt_t_max(&g), g.Mg, op_sat_mul(g.Cg, g.KP)) : 0;
        return nb > tb ? nb : tb;
    }
    if (conv_depthwise2d(&g)) {
        dw_flat f;
        if (depthwise_flat(&g, &f)) /* the bordered plane and the flat output */
            return nn_align64(op_bytes4(f.xpn + f.yfn, 1, 1, 1, sizeof(float)));
        /* one channel split into stride phases (strided fast rows) */
        int64_t SW = g.w.s[1];
        return SW > 1 ? nn_align64(op_bytes4(g.w.in[0], SW, (g.w.in[1] + SW - 1) / SW, 1, sizeof(float))) : 0;
    }
    if (g.Cg * g.KP == 0)
        return 0;
    conv_flat_plan fp;
    if (conv_flat(&g, &fp)) /* the bordered rows and the flat output */
        return nn_align64(op_bytes4(fp.xpn + g.M * fp.YL, 1, 1, 1, sizeof(float)));
    if (conv_transposed(&g))
        return nn_sgemm_scratch_bytes(g.OP, g.Mg, op_sat_mul(g.Cg, g.KP));
    return nn_sgemm_scratch_bytes(g.Mg, conv_pointwise(&g) ? g.OP : conv_chunk_cols(&g), op_sat_mul(g.Cg, g.KP));
}

/* --- hodu.ConvBlocked ------------------------------------------------------ */

/* The kernel layer's hd_conv_blocked reads a zero-bordered copy of each
 * image where a dense window leaves it (same sizes as hd__cb_hp / hd__cb_wp;
 * hd__cb_in_place). */
static uint64_t scratch_conv_blocked(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    if (!nn_conv_geom_of(gr, node, &g) || ir_value_numel(ir_val(gr, ir_nd(gr, node)->outputs[0])) == 0)
        return 0;
    const nn_window *w = &g.w;
    int64_t hp = (w->out[0] - 1) * w->s[0] + (w->k[0] - 1) * w->d[0] + 1;
    int64_t wp = (w->out[1] - 1) * w->s[1] + (w->k[1] - 1) * w->d[1] + 1;
    if (hp < w->in[0] + w->pb[0])
        hp = w->in[0] + w->pb[0];
    if (wp < w->in[1] + w->pb[1])
        wp = w->in[1] + w->pb[1];
    if (g.G > 1 || (w->pb[0] == 0 && w->pb[1] == 0 && hp <= w->in[0] && wp <= w->in[1]))
        return 0; /* read in place; a depthwise kernel clips its taps */
    return nn_align64(op_bytes4(g.C, hp, wp, 1, sizeof(float)));
}

/* One hd_conv_blocked_par call; the epilogue sees the output as rows of
 * blocks ([N * M/B] x [OH * OW * B]), so only operands of the output's own
 * shape or single elements reach it (nn_epilogue_producer).  Over run-time
 * dims (rt) the batch and the spatial sizes come from the run (the kernel
 * takes them in its struct anyway) and so does the epilogue's row length. */
static bool emit_conv_blocked_sized(op_emit *e, bool rt)
{
    nn_conv_geom g;
    nn_conv_geom_of(e->g, e->node, &g);
    if (ir_value_numel(em_out(e, 0)) == 0)
        return true;
    const nn_window *w = &g.w;
    const int64_t B = NN_CONV_BLOCK;
    const bool plain = em_in(e, 0)->rank == 4; /* NCHW input: blocks of one channel */
    em_num n, h, wd, oh, ow;
    if (rt) {
        const ir_value *x, *out;
        const ir_graph *gr = conv_rt_dims(e, &x, &out);
        n = em_dim(gr, x, 0);
        h = em_dim(gr, x, 2);
        wd = em_dim(gr, x, 3);
        oh = em_dim(gr, out, 2);
        ow = em_dim(gr, out, 3);
    } else {
        snprintf(n.s, sizeof n.s, "%" PRId64, g.N);
        snprintf(h.s, sizeof h.s, "%" PRId64, w->in[0]);
        snprintf(wd.s, sizeof wd.s, "%" PRId64, w->in[1]);
        snprintf(oh.s, sizeof oh.s, "%" PRId64, w->out[0]);
        snprintf(ow.s, sizeof ow.s, "%" PRId64, w->out[1]);
    }
    nn_tile_map map = {rt ? -1 : g.OP * B, 1, false, -1, false};
    char fn[32];
    bool tiles = nn_tile_fn(e, &map, fn);
    if (tiles && rt) {
        char *rs = hd_xasprintf("%s * %s * %" PRId64, oh.s, ow.s, B);
        nn_tile_ctx_rs(e, fn, &map, "tc", "0", "0", rs);
        free(rs);
    } else if (tiles) {
        nn_tile_ctx(e, fn, &map, "tc", "0", "0");
    }
    em_line(e, "const hd_conv_blocked cv = {");
    em_line(e, "    .N = %s, .Cb = %" PRId64 ", .H = %s, .W = %s,%s", n.s, plain ? g.C : g.C / B, h.s, wd.s,
            plain ? " .plain = 1," : "");
    em_line(e, "    .Mb = %" PRId64 ", .OH = %s, .OW = %s,", g.M / B, oh.s, ow.s);
    em_line(e,
            "    .KH = %" PRId64 ", .KW = %" PRId64 ", .SH = %" PRId64 ", .SW = %" PRId64 ", .PT = %" PRId64
            ", .PL = %" PRId64 ", .DH = %" PRId64 ", .DW = %" PRId64 ",",
            w->k[0], w->k[1], w->s[0], w->s[1], w->pb[0], w->pb[1], w->d[0], w->d[1]);
    em_line(e, "    .depthwise = %d, .x = in0, .w = in1, .bias = %s, .y = out0,", g.G > 1,
            em_in(e, 2) ? "in2" : "NULL");
    em_line(e, "    .epilogue = %s, .epilogue_ctx = %s};", tiles ? fn : "NULL", tiles ? "&tc" : "NULL");
    e->parallel = true;
    em_line(e, "hd_conv_blocked_par(exec, &cv, %s);",
            scratch_conv_blocked(e->g, e->node) ? "(float *)scratch" : "NULL");
    return true;
}

static bool emit_conv_blocked(op_emit *e) { return emit_conv_blocked_sized(e, false); }

static bool emit_conv_blocked_rt(op_emit *e) { return emit_conv_blocked_sized(e, true); }

/* --- hodu.ConvGradWeight ---------------------------------------------------- */

static bool conv_dw_gemm(const ir_graph *gr, int node, nn_conv_geom *g)
{
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    return nn_conv_dw_geom_of(gr, node, g) && out->dtype == HODU_DTYPE_F32 && ir_value_numel(out) > 0;
}

/* The batch chunks' partial sums past the first. */
static uint64_t scratch_conv_dw(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    if (!conv_dw_gemm(gr, node, &g))
        return 0;
    int64_t chunks = hd_conv_dw_chunks(g.N);
    return chunks > 1 ? nn_align64(op_bytes4(chunks - 1, g.M, g.Cg, g.KP, sizeof(float))) : 0;
}

static uint64_t worker_scratch_conv_dw(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    if (!conv_dw_gemm(gr, node, &g))
        return 0;
    hd_window w = hd_window_of(&g.w);
    return nn_align64(
        op_bytes4(hd_conv_dw_worker_floats(&w, g.Cg, g.Mg, hd_sgemm_scratch_floats_max), 1, 1, 1, sizeof(float)));
}

/* float64 (the gradient checks' oracle): one dot product per weight. */
static void emit_conv_dw_direct(op_emit *e, const nn_conv_geom *g)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    em_for(e, "m", g->M);
    em_line(e, "const int64_t grp = m / %" PRId64 ";", g->Mg);
    em_for(e, "c", g->Cg);
    em_term kt[NN_MAX_SPATIAL], ot[NN_MAX_SPATIAL], it[NN_MAX_SPATIAL];
    for (int i = 0; i < nd; i++)
        em_for(e, KV[i], w->k[i]);
    em_line(e, "double acc = 0;");
    em_for(e, "n", g->N);
    for (int i = 0; i < nd; i++) {
        em_for(e, OV[i], w->out[i]);
        nn_emit_tap(e, w, i, IV[i], OV[i], KV[i]);
        em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    size_t nk = nn_dense_terms(kt, nd, KV, w->k, 1);
    nn_dense_terms(ot, nd, OV, w->out, 1);
    nn_dense_terms(it, nd, IV, w->in, 1);
    em_term xt[NN_MAX_SPATIAL + 3] = {{"n", g->C * g->IP}, {"grp", g->Cg * g->IP}, {"c", g->IP}};
    em_term yt[NN_MAX_SPATIAL + 2] = {{"n", g->M * g->OP}, {"m", g->OP}};
    em_term wt[NN_MAX_SPATIAL + 2] = {{"m", g->Cg * g->KP}, {"c", g->KP}};
    memcpy(xt + 3, it, nk * sizeof(em_term));
    memcpy(yt + 2, ot, nk * sizeof(em_term));
    memcpy(wt + 2, kt, nk * sizeof(em_term));
    em_line(e, "acc += in0[%s] * in1[%s];", em_index(0, 3 + nk, xt).s, em_index(0, 2 + nk, yt).s);
    for (int i = 0; i <= nd; i++)
        em_close(e);
    em_line(e, "out0[%s] = acc;", em_index(0, 2 + nk, wt).s);
    for (int i = 0; i < nd + 2; i++)
        em_close(e);
}

static bool emit_conv_dw(op_emit *e)
{
    nn_conv_geom g;
    nn_conv_dw_geom_of(e->g, e->node, &g);
    if (ir_value_numel(em_out(e, 0)) == 0)
        return true;
    if (em_out(e, 0)->dtype != HODU_DTYPE_F32) {
        emit_conv_dw_direct(e, &g);
        return true;
    }
    nn_emit_window(e, "win", &g.w, false);
    em_line(e, "const hd_conv_dw cv = {in0, in1, out0, %s, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", win};",
            scratch_conv_dw(e->g, e->node) ? "(float *)scratch" : "NULL", g.N, g.G, g.Cg, g.Mg);
    e->parallel = true;
    em_line(e, "hd_conv_dw_par(exec, &cv, workers, %" PRIu64 "u);", e->worker_bytes);
    return true;
}

/* --- ConvTranspose --------------------------------------------------------- */

/* Direct ConvTranspose for any float dtype, as a gather per output. */
static void emit_convt_direct(op_emit *e, const nn_conv_geom *g, hodu_dtype t, bool bias)
{
    const nn_window *w = &g->w;
    int nd = w->nd;
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : "float";
    em_for(e, "n", g->N);
    em_for(e, "m", g->M);
    if (g->G > 1)
        em_line(e, "const int64_t grp = m / %" PRId64 ", mg = m %% %" PRId64 ";", g->Mg, g->Mg);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    emit_direct_acc(e, t, acc_t, bias, g->Cg);
    for (int i = 0; i < nd; i++) {
        /* output o reads input (o + pb - k*d) / s where that divides */
        em_for(e, KV[i], w->k[i]);
        em_expr num = em_index(w->pb[i], EM_TERMS({OV[i], 1}, {KV[i], -w->d[i]}));
        if (w->s[i] == 1) {
            em_line(e, "const int64_t %s = %s;", IV[i], num.s);
        } else {
            em_line(e, "const int64_t t%d = %s;", i, num.s);
            em_line(e, "if (t%d < 0 || t%d %% %" PRId64 " != 0) continue;", i, i, w->s[i]);
            em_line(e, "const int64_t %s = t%d / %" PRId64 ";", IV[i], i, w->s[i]);
        }
        em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    /* W is [C, M/group, k...] */
    if (g->G > 1) {
        const em_term wb[] = {{"grp", g->Cg * g->Mg * g->KP}, {"c", g->Mg * g->KP}, {"mg", g->KP}};
        emit_direct_mac_store(e, g, t, acc_t, wb, 3);
    } else {
        const em_term wb[] = {{"c", g->Mg * g->KP}, {"m", g->KP}};
        emit_direct_mac_store(e, g, t, acc_t, wb, 2);
    }
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
    int64_t gs = g.G > 1; /* one group: no grp loop, its terms drop out */
    nn_emit_window(e, "win", &g.w, true);
    em_line(e, "float *col = (float *)scratch;");
    em_line(e, "float *ws = (float *)(scratch + %" PRIu64 ");", convt_col_bytes(&g));
    em_for(e, "n", g.N);
    if (gs)
        em_for(e, "grp", g.G);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"n", g.C * g.IP}, {"grp", gs * g.Cg * g.IP})).s);
    em_line(e, "float *y = %s;", em_offset("out0", 0, EM_TERMS({"n", g.M * g.OP}, {"grp", gs * g.Mg * g.OP})).s);
    /* col = W_g^T [Mg*KP, Cg] x X_g [Cg, IP] */
    em_line(e,
            "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 1, x, %" PRId64 ", 0, col, %" PRId64
            ", 1.0f, 0.0f, ws);",
            R, g.IP, g.Cg, em_offset("in1", 0, EM_TERMS({"grp", gs * g.Cg * R})).s, R, g.IP, g.IP);
    em_for(e, "m", g.Mg);
    if (bias)
        em_line(e, "const float bv = in2[%s];", em_index(0, EM_TERMS({"grp", gs * g.Mg}, {"m", 1})).s);
    else
        em_line(e, "const float bv = 0.0f;");
    em_for(e, "p", g.OP);
    em_line(e, "y[%s] = bv;", em_index(0, EM_TERMS({"m", g.OP}, {"p", 1})).s);
    em_close(e);
    em_close(e);
    /* the input grid is col2im's column grid, the output its image */
    em_line(e, "hd_col2im_acc_nd_f32(col, %" PRId64 ", &win, y);", g.Mg);
    if (gs)
        em_close(e);
    em_close(e);
    return true;
}

/* ConvTranspose over run-time spatial sizes: the direct form, any float
 * dtype. */
static bool emit_conv_transpose_rt(op_emit *e)
{
    nn_conv_geom g;
    if (!nn_conv_geom_of(e->g, e->node, &g))
        return false;
    bool bias = em_in(e, 2) != NULL;
    if (em_out(e, 0)->dtype != HODU_DTYPE_F32 || g.Cg == 0)
        return emit_window_rt_direct(e, &g, em_out(e, 0)->dtype, bias, true);
    /* float32: col = W_g^T X_g, then col2im into the output (the static
     * form, sizes from the run; the scratch is sized at the top) */
    const ir_value *x, *out;
    const ir_graph *gr = conv_rt_dims(e, &x, &out);
    int nd = g.w.nd;
    int64_t R = g.Mg * g.KP;
    em_line(e, "{");
    e->indent++;
    em_line(e, "const int64_t N = %s;", em_dim(gr, x, 0).s);
    for (int i = 0; i < nd; i++)
        em_line(e, "const int64_t I%d = %s, O%d = %s;", i, em_dim(gr, x, 2 + i).s, i, em_dim(gr, out, 2 + i).s);
    hd_buf win;
    hd_buf_init(&win);
    hd_buf_puts(&win, "const int64_t IP = 1");
    for (int i = 0; i < nd; i++)
        hd_buf_printf(&win, " * I%d", i);
    hd_buf_puts(&win, ", OP = 1");
    for (int i = 0; i < nd; i++)
        hd_buf_printf(&win, " * O%d", i);
    em_line(e, "%s;", win.data);
    hd_buf_free(&win);
    hd_buf_init(&win);
    rt_window_literal(&win, &g.w, true);
    em_line(e, "%s};", win.data);
    hd_buf_free(&win);
    em_line(e, "float *col = (float *)scratch;");
    em_line(e, "float *ws = (float *)(scratch + %" PRIu64 ");", convt_col_bytes(&g));
    em_for_rt(e, "n", "N");
    em_for(e, "grp", g.G);
    em_line(e, "const float *x = in0 + (n * %" PRId64 " + grp * %" PRId64 ") * IP;", g.C, g.Cg);
    em_line(e, "float *y = out0 + (n * %" PRId64 " + grp * %" PRId64 ") * OP;", g.M, g.Mg);
    em_line(e,
            "hd_sgemm_ws(%" PRId64 ", IP, %" PRId64 ", in1 + grp * %" PRId64 ", %" PRId64
            ", 1, x, IP, 0, col, IP, 1.0f, 0.0f, ws);",
            R, g.Cg, g.Cg * R, R);
    em_for(e, "m", g.Mg);
    if (bias)
        em_line(e, "const float bv = in2[grp * %" PRId64 " + m];", g.Mg);
    else
        em_line(e, "const float bv = 0.0f;");
    em_line(e, "for (int64_t p = 0; p < OP; p++)");
    em_line(e, "    y[m * OP + p] = bv;");
    em_close(e);
    em_line(e, "hd_col2im_acc_nd_f32(col, %" PRId64 ", &win, y);", g.Mg);
    em_close(e);
    em_close(e);
    e->indent--;
    em_line(e, "}");
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
    table[OP_CONV] = (native_lowering){.emit = emit_conv,
                                       .scratch = scratch_conv,
                                       .worker_scratch = worker_scratch_conv,
                                       .packs = packs_conv,
                                       .emit_rt = emit_conv_rt};
    table[OP_CONV_INTEGER] = (native_lowering){.emit = emit_conv};
    table[OP_QLINEAR_CONV] = (native_lowering){.emit = emit_conv};
    table[OP_CONV_TRANSPOSE] = (native_lowering){
        .emit = emit_conv_transpose, .scratch = scratch_conv_transpose, .emit_rt = emit_conv_transpose_rt};
    table[OP_CONV_BLOCKED] =
        (native_lowering){.emit = emit_conv_blocked, .scratch = scratch_conv_blocked, .emit_rt = emit_conv_blocked_rt};
    table[OP_CONV_GRAD_WEIGHT] =
        (native_lowering){.emit = emit_conv_dw, .scratch = scratch_conv_dw, .worker_scratch = worker_scratch_conv_dw};
}
