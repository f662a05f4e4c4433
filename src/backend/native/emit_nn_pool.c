/*
 * emit_nn_pool.c - native lowerings of the pooling ops (src/ops/nn_pool.c
 * holds their semantics; src/ops/pool.h the plans read here).
 *
 * Windowed pools become one loop nest per N*C plane with the window's
 * bounds as literals; float32 2-D MaxPool without Indices takes a vectorised
 * path (emit_maxpool2d_fast).  Global pools reduce each plane in one loop.
 * MaxPool's gradient (hodu.MaxPoolGrad) scans each window again for its
 * argmax.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "native.h"
#include "ops/ops.h"
#include "ops/pool.h"

/* Inference accepted the node, so its plan is computable; if not, that is
 * a compiler bug, reported rather than lowered from an unspecified plan. */
static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

static const char *const KV[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

/* The type a window accumulates in. */
static const char *acc_ctype(hodu_dtype t)
{
    return t == HODU_DTYPE_F64 ? "double" : (t == HODU_DTYPE_I8 || t == HODU_DTYPE_U8) ? "int32_t" : "float";
}

/* The lowest value of a dtype in the compute type (the max's start). */
static const char *lowest(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I8: return "-128";
    case HODU_DTYPE_U8: return "0";
    default: return "-INFINITY";
    }
}

static void emit_lp_term(op_emit *e, int64_t p, const char *acc_t, const char *v)
{
    if (p == 1)
        em_line(e, "acc += %s < 0 ? -%s : %s;", v, v, v);
    else if (p == 2)
        em_line(e, "acc += %s * %s;", v, v);
    else
        em_line(e, "acc += %s(%s < 0 ? -%s : %s, (%s)%" PRId64 ");", strcmp(acc_t, "double") ? "powf" : "pow", v, v, v,
                acc_t, p);
}

static void emit_lp_final(op_emit *e, int64_t p, const char *acc_t)
{
    bool dbl = strcmp(acc_t, "double") == 0;
    if (p == 1)
        em_line(e, "const %s r = acc;", acc_t);
    else if (p == 2)
        em_line(e, "const %s r = %s(acc);", acc_t, dbl ? "sqrt" : "sqrtf");
    else
        em_line(e, "const %s r = %s(acc, (%s)1 / (%s)%" PRId64 ");", acc_t, dbl ? "pow" : "powf", acc_t, acc_t, p);
}

/* MaxPool over 2-D float32 without Indices: per output row, every valid
 * kernel row folds into the row tap by tap, each tap over a literal column
 * range, in whole vectors.  Strided rows read a copy of the channel split
 * into stride phases (the worker's scratch), so every tap reads contiguously. */
static bool maxpool2d_fast_ok(const pool_plan *p)
{
    return p->kind == POOL_MAX && p->dtype == HODU_DTYPE_F32 && p->w.nd == 2 && !p->indices && p->w.k[1] <= 64;
}

static uint64_t maxpool2d_scratch(const pool_plan *p)
{
    const nn_window *w = &p->w;
    int64_t SW = w->s[1];
    return SW > 1 ? nn_align64(op_bytes4(w->in[0], SW, (w->in[1] + SW - 1) / SW, 1, sizeof(float))) : 0;
}

static void emit_maxpool2d_fast(op_emit *e, const pool_plan *p)
{
    const nn_window *w = &p->w;
    int64_t IH = w->in[0], IW = w->in[1], OH = w->out[0], OW = w->out[1];
    int64_t KH = w->k[0], KW = w->k[1], SW = w->s[1], PWd = (IW + SW - 1) / SW;
    em_par_for(e, "nc", p->nc, 1, OH * OW * KH * KW);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"nc", IH * IW})).s);
    em_line(e, "float *y = %s;", em_offset("out0", 0, EM_TERMS({"nc", OH * OW})).s);
    if (SW > 1) {
        em_line(e, "float *xs = (float *)wscratch;");
        em_line(e, "hd_phase_split_f32(x, %" PRId64 ", %" PRId64 ", %" PRId64 ", xs);", IH, IW, SW);
    }
    /* per tap: the valid output columns [lo, hi) and where the tap reads */
    int64_t lo[64], hi[64], at[64], LO = 0, HI = OW;
    for (int64_t kw = 0; kw < KW; kw++) {
        int64_t off;
        pool_tap_range(p, 1, kw, &lo[kw], &hi[kw], &off);
        at[kw] = off;
        if (SW > 1) {
            /* the phase-split copy: column off + SW*ow is in phase ph */
            int64_t ph = ((off % SW) + SW) % SW;
            at[kw] = ph * PWd + (off - ph) / SW;
        }
        LO = lo[kw] > LO ? lo[kw] : LO;
        HI = hi[kw] < HI ? hi[kw] : HI;
    }
    em_for(e, "oh", OH);
    em_line(e, "float *orow = %s;", em_offset("y", 0, EM_TERMS({"oh", OW})).s);
    em_line(e, "const float *rows[%" PRId64 "];", KH);
    em_line(e, "int nrows = 0;");
    em_for(e, "kh", KH);
    nn_emit_tap(e, w, 0, "ih", "oh", "kh");
    em_line(e, "if ((uint64_t)ih < %" PRId64 "u) rows[nrows++] = %s;", IH,
            em_offset(SW > 1 ? "xs" : "x", 0, EM_TERMS({"ih", SW > 1 ? SW * PWd : IW})).s);
    em_close(e);
    if (LO < HI) {
        /* interior: every tap valid; whole vectors, the last overlapping */
        em_line(e, "if (%" PRId64 " >= HD_VF) {", HI - LO);
        e->indent++;
        em_line(e, "for (int64_t ow = %" PRId64 ";; ow += HD_VF) {", LO);
        e->indent++;
        em_line(e, "if (ow + HD_VF > %" PRId64 ") ow = %" PRId64 " - HD_VF;", HI, HI);
        em_line(e, "hd_vf acc = hd_vf_splat(-INFINITY);");
        em_line(e, "for (int r = 0; r < nrows; r++) {");
        e->indent++;
        em_line(e, "const float *xr = rows[r] + ow;");
        for (int64_t kw = 0; kw < KW; kw++) {
            em_line(e, "{ hd_vf v = hd_vf_load(%s); acc = hd_vf_sel(hd_vf_lt(acc, v), v, acc); }",
                    em_offset("xr", at[kw], 0, NULL).s);
        }
        em_close(e);
        em_line(e, "hd_vf_store(orow + ow, acc);");
        em_line(e, "if (ow + HD_VF >= %" PRId64 ") break;", HI);
        em_close(e);
        e->indent--;
        em_line(e, "} else {");
        e->indent++;
        em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) {", LO, HI);
        e->indent++;
        em_line(e, "float acc = -INFINITY;");
        em_line(e, "for (int r = 0; r < nrows; r++) {");
        e->indent++;
        em_line(e, "const float *xr = rows[r] + ow;");
        for (int64_t kw = 0; kw < KW; kw++)
            em_line(e, "acc = xr[%" PRId64 "] > acc ? xr[%" PRId64 "] : acc;", at[kw], at[kw]);
        em_close(e);
        em_line(e, "orow[ow] = acc;");
        em_close(e);
        em_close(e);
    }
    /* borders: per-tap column checks */
    for (int part = 0; part < 2; part++) {
        int64_t a0 = part == 0 ? 0 : (LO < HI ? HI : LO), b0 = part == 0 ? (LO < HI ? LO : OW) : OW;
        if (a0 >= b0)
            continue;
        em_line(e, "for (int64_t ow = %" PRId64 "; ow < %" PRId64 "; ow++) {", a0, b0);
        e->indent++;
        em_line(e, "float acc = -INFINITY;");
        em_line(e, "for (int r = 0; r < nrows; r++) {");
        e->indent++;
        em_line(e, "const float *xr = rows[r] + ow;");
        for (int64_t kw = 0; kw < KW; kw++)
            em_line(e, "if (ow >= %" PRId64 " && ow < %" PRId64 " && xr[%" PRId64 "] > acc) acc = xr[%" PRId64 "];",
                    lo[kw], hi[kw], at[kw], at[kw]);
        em_close(e);
        em_line(e, "orow[ow] = acc;");
        em_close(e);
    }
    em_close(e);
    em_close(e);
}

/* Max or average pooling whose last axis is lanes the window does not
 * move along (kernel 1, stride 1, no padding: a channel-blocked tensor's
 * [.., H, W, 16], pass_block_convs): per output position, the valid taps
 * fold whole rows of lanes, the lane loop innermost so it vectorizes. */
static bool pool_lanes_ok(const pool_plan *p)
{
    const nn_window *w = &p->w;
    const int l = w->nd - 1;
    return (p->kind == POOL_MAX || p->kind == POOL_AVG) && p->dtype == HODU_DTYPE_F32 && !p->indices && w->nd >= 2 &&
           w->k[l] == 1 && w->s[l] == 1 && w->d[l] == 1 && w->pb[l] == 0 && w->pe[l] == 0 && w->out[l] == w->in[l] &&
           w->in[l] % 16 == 0 && w->in[l] <= 64; /* whole vectors on every target */
}

static void emit_pool_lanes(op_emit *e, const pool_plan *p)
{
    const nn_window *w = &p->w;
    const int nd = w->nd - 1; /* the window's axes; the last is the lanes */
    const int64_t L = w->in[nd];
    int64_t KP = 1;
    for (int i = 0; i < nd; i++)
        KP *= w->k[i];
    em_par_for(e, "nc", p->nc, 1, p->out_plane * KP);
    em_line(e, "const float *x = %s;", em_offset("in0", 0, EM_TERMS({"nc", p->in_plane})).s);
    em_line(e, "float *y = %s;", em_offset("out0", 0, EM_TERMS({"nc", p->out_plane})).s);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    em_line(e, "hd_vf acc[%" PRId64 " / HD_VF];", L);
    em_line(e, "for (int l = 0; l < %" PRId64 " / HD_VF; l++) acc[l] = hd_vf_splat(%s);", L,
            p->kind == POOL_MAX ? "-INFINITY" : "0.0f");
    if (p->kind == POOL_AVG)
        em_line(e, "int64_t cnt = 0;");
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w->k[i]);
        nn_emit_tap(e, w, i, IV[i], OV[i], KV[i]);
        if (p->include_pad) /* padded positions count, the rest of a ceil_mode window does not */
            em_line(e, "if (%s < %" PRId64 " || %s >= %" PRId64 ") continue;", IV[i], -w->pb[i], IV[i],
                    w->in[i] + w->pe[i]);
        else
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
    if (p->include_pad) {
        em_line(e, "cnt++;");
        for (int i = 0; i < nd; i++)
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    } else if (p->kind == POOL_AVG) {
        em_line(e, "cnt++;");
    }
    em_term terms[1 + NN_MAX_SPATIAL];
    em_expr xi = em_index(0, nn_dense_terms(terms, nd, IV, w->in, L), terms);
    em_line(e, "const float *xr = x + %s;", xi.s);
    em_line(e, "for (int l = 0; l < %" PRId64 " / HD_VF; l++) {", L);
    em_line(e, "    const hd_vf v = hd_vf_load(xr + l * HD_VF);");
    if (p->kind == POOL_MAX) /* NaN never replaces acc, as in the scalar form */
        em_line(e, "    acc[l] = hd_vf_sel(hd_vf_lt(acc[l], v), v, acc[l]);");
    else
        em_line(e, "    acc[l] += v;");
    em_line(e, "}");
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_expr yi = em_index(0, nn_dense_terms(terms, nd, OV, w->out, L), terms);
    em_line(e, "for (int l = 0; l < %" PRId64 " / HD_VF; l++)", L);
    em_line(e, "    hd_vf_store(y + %s + l * HD_VF, %s);", yi.s,
            p->kind == POOL_MAX ? "acc[l]" : "acc[l] / hd_vf_splat((float)cnt)");
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
}

/* The window's loops for output position (o0, ...): taps k0.. at input
 * coordinates i0.., those outside the input skipped; when no window
 * leaves the input along a dim its check is left out.  Close each. */
static void open_taps(op_emit *e, const nn_window *w)
{
    for (int i = 0; i < w->nd; i++) {
        em_for(e, KV[i], w->k[i]);
        nn_emit_tap(e, w, i, IV[i], OV[i], KV[i]);
        if (nn_window_leaves_input(w, i))
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w->in[i]);
    }
}

static uint64_t scratch_pool(const ir_graph *g, int node)
{
    pool_plan p;
    if (!pool_plan_get(g, node, &p) || ir_value_numel(ir_val(g, ir_nd(g, node)->outputs[0])) == 0)
        return 0;
    return maxpool2d_fast_ok(&p) ? maxpool2d_scratch(&p) : 0;
}

static bool emit_pool(op_emit *e)
{
    pool_plan pl;
    if (!pool_plan_get(e->g, e->node, &pl))
        return no_plan(e, "pooling");
    const nn_window w = pl.w;
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = pl.dtype;
    int nd = w.nd;
    if (ir_value_numel(out) == 0)
        return true;
    const char *acc_t = acc_ctype(t);
    int64_t IP = pl.in_plane, OP = pl.out_plane;
    if (maxpool2d_fast_ok(&pl)) {
        emit_maxpool2d_fast(e, &pl);
        return true;
    }
    if (pool_lanes_ok(&pl)) {
        emit_pool_lanes(e, &pl);
        return true;
    }
    int64_t KP = 1;
    for (int i = 0; i < nd; i++)
        KP *= w.k[i];
    em_par_for(e, "nc", pl.nc, 1, OP * KP);
    em_line(e, "const %s *x = %s;", em_ctype(t), em_offset("in0", 0, EM_TERMS({"nc", IP})).s);
    em_line(e, "%s *y = %s;", em_ctype(t), em_offset("out0", 0, EM_TERMS({"nc", OP})).s);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w.out[i]);
    if (pl.kind == POOL_MAX) {
        em_line(e, "%s acc = %s;", acc_t, lowest(t));
        if (pl.indices)
            em_line(e, "int64_t arg = -1;");
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        if (pl.kind == POOL_AVG && !pl.include_pad)
            em_line(e, "int64_t cnt = 0;");
        if (pl.include_pad)
            em_line(e, "int64_t pcnt = 0;");
    }
    /* Kernel loops.  Positions outside the padded input (ceil_mode) are
     * skipped outright; padded positions count only for include_pad. */
    if (!pl.include_pad)
        open_taps(e, &w);
    for (int i = 0; pl.include_pad && i < nd; i++) {
        em_for(e, KV[i], w.k[i]);
        nn_emit_tap(e, &w, i, IV[i], OV[i], KV[i]);
        em_line(e, "if (%s < %" PRId64 " || %s >= %" PRId64 ") continue;", IV[i], -w.pb[i], IV[i], w.in[i] + w.pe[i]);
        char prev[32] = "";
        if (i)
            snprintf(prev, sizeof(prev), "in%d && ", i - 1);
        em_line(e, "const int in%d = %s(uint64_t)%s < %" PRId64 "u;", i, prev, IV[i], w.in[i]);
    }
    em_term terms[1 + NN_MAX_SPATIAL];
    em_expr xi = em_index(0, nn_dense_terms(terms, nd, IV, w.in, 1), terms);
    char *lx = em_load(t, "x[xi]");
    if (pl.include_pad) {
        em_line(e, "pcnt++;");
        em_line(e, "if (!in%d) continue;", nd - 1);
    }
    em_line(e, "const int64_t xi = %s;", xi.s);
    em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
    free(lx);
    if (pl.kind == POOL_MAX) {
        if (pl.indices)
            em_line(e, "if (v > acc || arg < 0) { if (v == v) { acc = v; arg = xi; } }");
        else
            em_line(e, "if (v > acc) acc = v;");
    } else if (pl.kind == POOL_AVG) {
        em_line(e, "acc += v;");
        if (!pl.include_pad)
            em_line(e, "cnt++;");
    } else {
        emit_lp_term(e, pl.p, acc_t, "v");
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_expr yi = em_index(0, nn_dense_terms(terms, nd, OV, w.out, 1), terms);
    char *res;
    if (pl.kind == POOL_MAX) {
        res = hd_xstrdup("acc");
    } else if (pl.kind == POOL_AVG) {
        res = hd_xasprintf("acc / (%s)%s", acc_t, pl.include_pad ? "pcnt" : "cnt");
    } else {
        emit_lp_final(e, pl.p, acc_t);
        res = hd_xstrdup("r");
    }
    char *sv = em_store(t, res);
    em_line(e, "y[%s] = %s;", yi.s, sv);
    free(sv);
    free(res);
    if (pl.indices) {
        /* arg is row-major within the image; convert for storage_order 1 */
        if (pl.col_major && nd > 1) {
            em_line(e, "int64_t rem = arg, cm = 0;");
            int64_t cs[NN_MAX_SPATIAL];
            int64_t s2 = 1;
            for (int i = 0; i < nd; i++) {
                cs[i] = s2;
                s2 *= w.in[i];
            }
            for (int i = nd - 1; i >= 0; i--) {
                if (cs[i] == 1)
                    em_line(e, "cm += rem %% %" PRId64 ";", w.in[i]);
                else
                    em_line(e, "cm += (rem %% %" PRId64 ") * %" PRId64 ";", w.in[i], cs[i]);
                em_line(e, "rem /= %" PRId64 ";", w.in[i]);
            }
            em_line(e, "arg = cm;");
        }
        terms[0] = (em_term){"nc", OP};
        em_expr oi = em_index(0, 1 + nn_dense_terms(terms + 1, nd, OV, w.out, 1), terms);
        em_line(e, "out1[%s] = %s;", oi.s, em_index(0, EM_TERMS({"nc", IP}, {"arg", 1})).s);
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    return true;
}

/* Whether MaxPoolGrad's windows are disjoint (each input in at most one:
 * the stride at least the dilated kernel) and whether they also cover the
 * whole input (dense kernel, stride = kernel, no input past the last). */
static void pool_grad_tiling(const nn_window *w, bool *disjoint, bool *cover)
{
    *disjoint = *cover = true;
    for (int i = 0; i < w->nd; i++) {
        int64_t ek = (w->k[i] - 1) * w->d[i] + 1;
        *disjoint &= w->s[i] >= ek;
        *cover &= w->d[i] == 1 && w->s[i] == w->k[i] && w->out[i] * w->s[i] - w->pb[i] >= w->in[i];
    }
}

/* hodu.MaxPoolGrad (X, dY) -> dX: per window, its maximum m (NaNs
 * skipped), then a second pass over the taps gives what is left of dY (r)
 * to each input equal to m, r becoming 0 there: the first maximum in scan
 * order takes it, the argmax MaxPool's Indices finds (none when the window
 * is all NaN).  Both passes are selects, without data-dependent branches
 * or an indexed scatter, so over windows without padding the compiler
 * vectorizes the loop along the last output dim.  Disjoint windows store
 * into their inputs; overlapping ones add into dX = 0.  A task owns whole planes and adds in a fixed order, so the
 * result does not depend on the thread count. */
static bool emit_max_pool_grad(op_emit *e)
{
    pool_plan pl;
    if (!pool_plan_get(e->g, e->node, &pl))
        return no_plan(e, "max pooling gradient");
    const nn_window *w = &pl.w;
    const int nd = w->nd;
    const char *ct = em_ctype(pl.dtype);
    const int64_t IP = pl.in_plane, OP = pl.out_plane;
    if (ir_value_numel(em_out(e, 0)) == 0)
        return true;
    bool disjoint, cover;
    pool_grad_tiling(w, &disjoint, &cover);
    int64_t KP = 1;
    for (int i = 0; i < nd; i++)
        KP *= w->k[i];
    em_par_for(e, "nc", pl.nc, 1, IP + 2 * OP * KP);
    em_line(e, "const %s *x = %s;", ct, em_offset("in0", 0, EM_TERMS({"nc", IP})).s);
    em_line(e, "const %s *dy = %s;", ct, em_offset("in1", 0, EM_TERMS({"nc", OP})).s);
    em_line(e, "%s *dx = %s;", ct, em_offset("out0", 0, EM_TERMS({"nc", IP})).s);
    if (!(disjoint && cover))
        em_line(e, "memset(dx, 0, %" PRId64 " * sizeof(%s));", IP, ct);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w->out[i]);
    em_term terms[NN_MAX_SPATIAL];
    em_line(e, "%s r = dy[%s];", ct, em_index(0, nn_dense_terms(terms, nd, OV, w->out, 1), terms).s);
    em_line(e, "%s m = -INFINITY;", ct);
    char *xi = hd_xstrdup(em_index(0, nn_dense_terms(terms, nd, IV, w->in, 1), terms).s);
    open_taps(e, w);
    em_line(e, "m = x[%s] > m ? x[%s] : m;", xi, xi);
    for (int i = 0; i < nd; i++)
        em_close(e);
    open_taps(e, w);
    em_line(e, "const int64_t xi = %s;", xi);
    em_line(e, "const %s v = x[xi];", ct);
    em_line(e, "dx[xi] %s v == m ? r : 0;", disjoint ? "=" : "+=");
    em_line(e, "r = v == m ? 0 : r;");
    for (int i = 0; i < nd; i++)
        em_close(e);
    free(xi);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    return true;
}

static bool emit_global_pool(op_emit *e)
{
    pool_global_plan g;
    if (!pool_global_plan_get(e->g, e->node, &g))
        return no_plan(e, "global pooling");
    hodu_dtype t = g.dtype;
    int64_t IP = g.plane;
    if (ir_value_numel(em_out(e, 0)) == 0)
        return true;
    const char *acc_t = acc_ctype(t);
    char *lx = em_load(t, "x[i]");
    em_par_for(e, "nc", g.nc, 1, IP);
    em_line(e, "const %s *x = %s;", em_ctype(t), em_offset("in0", 0, EM_TERMS({"nc", IP})).s);
    char *res;
    if (g.kind == POOL_MAX) {
        em_line(e, "%s acc = %s;", acc_t, lowest(t));
        em_for(e, "i", IP);
        em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
        em_line(e, "if (v > acc) acc = v;");
        em_close(e);
        res = hd_xstrdup("acc");
    } else if (g.kind == POOL_AVG && t == HODU_DTYPE_F32 && IP >= 16) {
        /* eight partial sums so the loop vectorises */
        em_line(e, "float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};");
        em_line(e, "int64_t i = 0;");
        em_line(e, "for (; i + 8 <= %" PRId64 "; i += 8)", IP);
        em_line(e, "    for (int j = 0; j < 8; j++) part[j] += x[i + j];");
        em_line(
            e,
            "float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
        em_line(e, "for (; i < %" PRId64 "; i++) acc += x[i];", IP);
        res = hd_xasprintf("acc / (float)%" PRId64, IP);
    } else if (g.kind == POOL_AVG) {
        em_line(e, "%s acc = 0;", acc_t);
        em_for(e, "i", IP);
        em_line(e, "acc += (%s)%s;", acc_t, lx);
        em_close(e);
        res = hd_xasprintf("acc / (%s)%" PRId64, acc_t, IP);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        em_for(e, "i", IP);
        em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
        emit_lp_term(e, g.p, acc_t, "v");
        em_close(e);
        emit_lp_final(e, g.p, acc_t);
        res = hd_xstrdup("r");
    }
    char *sv = em_store(t, res);
    em_line(e, "out0[nc] = %s;", sv);
    em_close(e);
    free(sv);
    free(res);
    free(lx);
    return true;
}

static bool emit_max_unpool(op_emit *e)
{
    pool_unpool_plan u;
    if (!pool_unpool_plan_get(e->g, e->node, &u))
        return no_plan(e, "MaxUnpool");
    if (u.shape_at_run_time) {
        /* output_shape given at run time: built for the declared shape */
        e->can_fail = true;
        for (int i = 0; i < u.rank; i++)
            em_line(e, "if (in2[%d] != %" PRId64 ") return 1;", i, u.out_dims[i]);
    }
    size_t nbytes = ir_value_nbytes(em_out(e, 0));
    if (nbytes == 0)
        return true;
    em_line(e, "memset(out0, 0, %zu);", nbytes);
    em_for(e, "i", u.count);
    em_line(e, "const int64_t j = in1[i];");
    if (u.same) {
        em_line(e, "if (j >= 0 && j < %" PRId64 ") out0[j] = in0[i];", u.out_total);
    } else {
        /* re-base j, a flat index into index_dims, onto out_dims */
        em_line(e, "if (j < 0 || j >= %" PRId64 ") continue;", u.index_total);
        em_line(e, "int64_t rem = j, o = 0, ok = 1;");
        int64_t ost = 1;
        for (int i = u.rank - 1; i >= 0; i--) {
            em_line(e,
                    "{ const int64_t q = rem %% %" PRId64 "; rem /= %" PRId64 "; if (q >= %" PRId64
                    ") ok = 0; o += %s; }",
                    u.index_dims[i], u.index_dims[i], u.out_dims[i], em_index(0, EM_TERMS({"q", ost})).s);
            ost *= u.out_dims[i];
        }
        em_line(e, "if (ok) out0[o] = in0[i];");
    }
    em_close(e);
    return true;
}

/* --- over run-time spatial dims (the general path) -------------------------
 * The window stays constant, the image and output sizes are read when the
 * model runs: one loop nest per N*C plane, as emit_pool's generic form. */

/* "I0 * I1 * ..." declared from v's spatial dims as `pre`0, `pre`1, ... */
static void declare_rt_spatial(op_emit *e, const ir_value *v, char pre)
{
    for (int i = 2; i < v->rank; i++)
        em_line(e, "const int64_t %c%d = %s;", pre, i - 2, em_dim(e->g, v, i).s);
}

static char *rt_plane(int nd, char pre)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_puts(&b, "(1");
    for (int i = 0; i < nd; i++)
        hd_buf_printf(&b, " * %c%d", pre, i);
    hd_buf_puts(&b, ")");
    return hd_buf_take(&b);
}

static bool emit_pool_rt(op_emit *e)
{
    pool_plan pl;
    if (!pool_plan_get(e->g, e->node, &pl))
        return no_plan(e, "pooling");
    const nn_window w = pl.w;
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    hodu_dtype t = pl.dtype;
    int nd = w.nd;
    const char *acc_t = acc_ctype(t);
    int64_t KP = 1;
    for (int i = 0; i < nd; i++)
        KP *= w.k[i];
    char *count = hd_xasprintf("%s * %s", em_dim(e->g, x, 0).s, em_dim(e->g, x, 1).s);
    em_par_for_rt(e, "nc", count, pl.nc, pl.out_plane * KP);
    free(count);
    declare_rt_spatial(e, x, 'I');
    declare_rt_spatial(e, out, 'O');
    char *ip = rt_plane(nd, 'I'), *op = rt_plane(nd, 'O');
    em_line(e, "const %s *x = in0 + nc * %s;", em_ctype(t), ip);
    em_line(e, "%s *y = out0 + nc * %s;", em_ctype(t), op);
    for (int i = 0; i < nd; i++) {
        char bound[16];
        snprintf(bound, sizeof bound, "O%d", i);
        em_for_rt(e, OV[i], bound);
    }
    if (pl.kind == POOL_MAX) {
        em_line(e, "%s acc = %s;", acc_t, lowest(t));
        if (pl.indices)
            em_line(e, "int64_t arg = -1;");
    } else if (pl.kind == POOL_LP) {
        em_line(e, "%s acc = 0;", acc_t);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        em_line(e, "int64_t cnt = 0;");
    }
    char *xi = hd_xstrdup("i0");
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w.k[i]);
        em_line(e, "const int64_t i%d = o%d * %" PRId64 " + k%d * %" PRId64 " - %" PRId64 ";", i, i, w.s[i], i, w.d[i],
                w.pb[i]);
        if (pl.include_pad) {
            /* padded positions count, those ceil_mode runs past do not */
            em_line(e, "if (i%d < %" PRId64 " || i%d >= I%d + %" PRId64 ") continue;", i, -w.pb[i], i, i, w.pe[i]);
            char prev[32] = "";
            if (i)
                snprintf(prev, sizeof prev, "in%d && ", i - 1);
            em_line(e, "const int in%d = %s(uint64_t)i%d < (uint64_t)I%d;", i, prev, i, i);
        } else {
            em_line(e, "if ((uint64_t)i%d >= (uint64_t)I%d) continue;", i, i);
        }
        if (i) {
            char *next = hd_xasprintf("(%s) * I%d + i%d", xi, i, i);
            free(xi);
            xi = next;
        }
    }
    if (pl.include_pad) {
        em_line(e, "cnt++;");
        em_line(e, "if (!in%d) continue;", nd - 1);
    }
    char *lx = em_load(t, "x[xi]");
    em_line(e, "const int64_t xi = %s;", xi);
    free(xi);
    em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
    free(lx);
    if (pl.kind == POOL_MAX && pl.indices) {
        em_line(e, "if (v > acc || arg < 0) { if (v == v) { acc = v; arg = xi; } }");
    } else if (pl.kind == POOL_MAX) {
        em_line(e, "if (v > acc) acc = v;");
    } else if (pl.kind == POOL_LP) {
        emit_lp_term(e, pl.p, acc_t, "v");
    } else {
        em_line(e, "acc += v;");
        if (!pl.include_pad)
            em_line(e, "cnt++;");
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    char *yi = hd_xstrdup("o0");
    for (int i = 1; i < nd; i++) {
        char *next = hd_xasprintf("(%s) * O%d + o%d", yi, i, i);
        free(yi);
        yi = next;
    }
    char *res;
    if (pl.kind == POOL_MAX) {
        res = hd_xstrdup("acc");
    } else if (pl.kind == POOL_LP) {
        emit_lp_final(e, pl.p, acc_t);
        res = hd_xstrdup("r");
    } else {
        res = hd_xasprintf("acc / (%s)cnt", acc_t);
    }
    char *sv = em_store(t, res);
    em_line(e, "y[%s] = %s;", yi, sv);
    free(sv);
    free(res);
    if (pl.indices) {
        /* arg is row-major within the image; storage_order 1 wants it
         * column-major */
        if (pl.col_major && nd > 1) {
            em_line(e, "int64_t rem = arg, cm = 0;");
            for (int i = nd - 1; i >= 0; i--) {
                char *cs = rt_plane(i, 'I'); /* dim i's column-major stride */
                em_line(e, "cm += (rem %% I%d) * %s;", i, cs);
                em_line(e, "rem /= I%d;", i);
                free(cs);
            }
            em_line(e, "arg = cm;");
        }
        em_line(e, "out1[nc * %s + %s] = nc * %s + arg;", op, yi, ip);
    }
    free(ip);
    free(op);
    free(yi);
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    return true;
}

static bool emit_global_pool_rt(op_emit *e)
{
    pool_global_plan g;
    if (!pool_global_plan_get(e->g, e->node, &g))
        return no_plan(e, "global pooling");
    const ir_value *x = em_in(e, 0);
    hodu_dtype t = g.dtype;
    const char *acc_t = acc_ctype(t);
    char *count = hd_xasprintf("%s * %s", em_dim(e->g, x, 0).s, em_dim(e->g, x, 1).s);
    em_par_for_rt(e, "nc", count, g.nc, g.plane);
    free(count);
    declare_rt_spatial(e, x, 'I');
    char *ip = rt_plane(x->rank - 2, 'I');
    em_line(e, "const int64_t IP = %s;", ip);
    free(ip);
    em_line(e, "const %s *x = in0 + nc * IP;", em_ctype(t));
    char *lx = em_load(t, "x[i]");
    em_line(e, "%s acc = %s;", acc_t, g.kind == POOL_MAX ? lowest(t) : "0");
    em_line(e, "for (int64_t i = 0; i < IP; i++) {");
    e->indent++;
    em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
    if (g.kind == POOL_LP)
        emit_lp_term(e, g.p, acc_t, "v");
    else
        em_line(e, g.kind == POOL_MAX ? "if (v > acc) acc = v;" : "acc += v;");
    em_close(e);
    free(lx);
    if (g.kind == POOL_LP)
        emit_lp_final(e, g.p, acc_t);
    char *res = g.kind == POOL_MAX  ? hd_xstrdup("acc")
                : g.kind == POOL_LP ? hd_xstrdup("r")
                                    : hd_xasprintf("acc / (%s)IP", acc_t);
    char *sv = em_store(t, res);
    em_line(e, "out0[nc] = %s;", sv);
    free(sv);
    free(res);
    em_close(e);
    return true;
}

void native_register_nn_pool(native_lowering *table)
{
    /* Only MaxPool has a scratch-using path (the phase-split fast one: a
     * channel per worker). */
    table[OP_MAX_POOL] = (native_lowering){.emit = emit_pool, .worker_scratch = scratch_pool, .emit_rt = emit_pool_rt};
    table[OP_AVERAGE_POOL] = (native_lowering){.emit = emit_pool, .emit_rt = emit_pool_rt};
    table[OP_LP_POOL] = (native_lowering){.emit = emit_pool, .emit_rt = emit_pool_rt};
    table[OP_GLOBAL_AVERAGE_POOL] = (native_lowering){.emit = emit_global_pool, .emit_rt = emit_global_pool_rt};
    table[OP_GLOBAL_MAX_POOL] = (native_lowering){.emit = emit_global_pool, .emit_rt = emit_global_pool_rt};
    table[OP_GLOBAL_LP_POOL] = (native_lowering){.emit = emit_global_pool, .emit_rt = emit_global_pool_rt};
    table[OP_MAX_UNPOOL] = (native_lowering){.emit = emit_max_unpool};
    table[OP_MAX_POOL_GRAD] = (native_lowering){.emit = emit_max_pool_grad};
}
