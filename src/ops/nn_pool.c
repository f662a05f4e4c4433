/*
 * ops/nn_pool.c - pooling (part of the nn family; the table entries are in
 * nn.c).
 *
 * MaxPool, AveragePool, LpPool over X [N, C, D1..Dn] with kernel_shape,
 * strides, pads / auto_pad, dilations and ceil_mode (with ceil_mode the last
 * window must start inside the input or its leading padding).
 *   MaxPool: T f16, bf16, f32, f64, i8, u8; NaNs in a window are skipped;
 *     optional Indices output (int64) holds the flat index of the maximum in
 *     X, spatial part row-major (storage_order 0) or column-major (1).
 *   AveragePool: count_include_pad counts the padded positions (not the
 *     positions past the padding that ceil_mode adds) in the divisor.
 *   LpPool: (sum |x|^p)^(1/p), p default 2; padding contributes zero.
 * GlobalAveragePool / GlobalMaxPool / GlobalLpPool: the same over all the
 * spatial dims, output [N, C, 1, ..., 1].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"

static const char *const KV[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

enum { POOL_MAX, POOL_AVG, POOL_LP };

static int pool_kind(int op)
{
    switch (op) {
    case OP_MAX_POOL:
    case OP_GLOBAL_MAX_POOL: return POOL_MAX;
    case OP_AVERAGE_POOL:
    case OP_GLOBAL_AVERAGE_POOL: return POOL_AVG;
    default: return POOL_LP;
    }
}

static bool pool_type_ok(op_ctx *c, int kind, hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16:
    case HODU_DTYPE_F32:
    case HODU_DTYPE_F64: return true;
    case HODU_DTYPE_I8:
    case HODU_DTYPE_U8:
        if (kind == POOL_MAX)
            return true;
        break;
    default: break;
    }
    return op_fail(c, "type %s is not supported", ir_dtype_name(t));
}

static bool pool_geom(op_ctx *c, nn_window *w)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    int kind = pool_kind(op_node(c)->op);
    if (!pool_type_ok(c, kind, x->dtype))
        return false;
    if (x->rank < 3)
        return op_fail(c, "input X must have rank 3 or more (N, C, spatial dims), got %d", x->rank);
    int nd = x->rank - 2;
    memset(w, 0, sizeof(*w));
    w->nd = nd;
    for (int i = 0; i < nd; i++)
        w->in[i] = x->dims[i + 2].size;
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(op_node(c), "kernel_shape", &nk);
    if (!ks)
        return op_fail(c, "attribute 'kernel_shape' is required");
    if (nk != (size_t)nd)
        return op_fail(c, "attribute 'kernel_shape' has %zu values; expected %d", nk, nd);
    memcpy(w->k, ks, (size_t)nd * sizeof(int64_t));
    if (kind == POOL_MAX && ir_attr_int(op_node(c), "storage_order", 0) > 1)
        return op_fail(c, "attribute 'storage_order' value %" PRId64 " is not 0 or 1",
                       ir_attr_int(op_node(c), "storage_order", 0));
    if (kind == POOL_LP && ir_attr_int(op_node(c), "p", 2) < 1)
        return op_fail(c, "attribute 'p' value %" PRId64 " must be at least 1", ir_attr_int(op_node(c), "p", 2));
    return nn_window_attrs(c, w, true);
}

bool nn_infer_pool(op_ctx *c)
{
    nn_window w;
    if (!pool_geom(c, &w))
        return false;
    const ir_value *x = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK];
    dims[0] = x->dims[0].size;
    dims[1] = x->dims[1].size;
    for (int i = 0; i < w.nd; i++)
        dims[i + 2] = w.out[i];
    op_set_out(c, 0, x->dtype, x->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_I64, x->rank, dims);
    return true;
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
 * into stride phases (scratch), so every tap reads contiguously. */
static bool maxpool2d_fast_ok(const ir_graph *g, int node, const nn_window *w)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    bool idx = n->n_outputs > 1 && n->outputs[1] >= 0;
    return pool_kind(n->op) == POOL_MAX && x->dtype == HODU_DTYPE_F32 && w->nd == 2 && !idx && w->k[1] <= 64;
}

static uint64_t maxpool2d_scratch(const nn_window *w)
{
    int64_t SW = w->s[1];
    return SW > 1 ? nn_align64(op_bytes4(w->in[0], SW, (w->in[1] + SW - 1) / SW, 1, sizeof(float))) : 0;
}

static void emit_maxpool2d_fast(op_emit *e, const nn_window *w, int64_t NC)
{
    int64_t IH = w->in[0], IW = w->in[1], OH = w->out[0], OW = w->out[1];
    int64_t KH = w->k[0], KW = w->k[1], SH = w->s[0], SW = w->s[1], DH = w->d[0], DW = w->d[1];
    int64_t PH = w->pb[0], PL = w->pb[1], PWd = (IW + SW - 1) / SW;
    em_for(e, "nc", NC);
    em_line(e, "const float *x = in0 + nc * %" PRId64 ";", IH * IW);
    em_line(e, "float *y = out0 + nc * %" PRId64 ";", OH * OW);
    if (SW > 1) {
        nn_emit_phase_split(e, IH, IW, SW);
    }
    /* per tap: the valid output columns [lo, hi) and where the tap reads */
    int64_t lo[64], hi[64], at[64], LO = 0, HI = OW;
    for (int64_t kw = 0; kw < KW; kw++) {
        int64_t off = kw * DW - PL;
        int64_t l = off >= 0 ? 0 : (-off + SW - 1) / SW;
        int64_t h = off >= IW ? 0 : (IW - off + SW - 1) / SW;
        l = l > OW ? OW : l;
        h = h > OW ? OW : h;
        h = h < l ? l : h;
        lo[kw] = l;
        hi[kw] = h;
        at[kw] = off;
        if (SW > 1) {
            int64_t ph = ((off % SW) + SW) % SW;
            at[kw] = ph * PWd + (off - ph) / SW;
        }
        LO = l > LO ? l : LO;
        HI = h < HI ? h : HI;
    }
    em_for(e, "oh", OH);
    em_line(e, "float *orow = y + oh * %" PRId64 ";", OW);
    em_line(e, "const float *rows[%" PRId64 "];", KH);
    em_line(e, "int nrows = 0;");
    em_for(e, "kh", KH);
    em_line(e, "const int64_t ih = oh * %" PRId64 " - %" PRId64 " + kh * %" PRId64 ";", SH, PH, DH);
    em_line(e, "if ((uint64_t)ih < %" PRId64 "u) rows[nrows++] = %s + ih * %" PRId64 ";", IH, SW > 1 ? "xs" : "x",
            SW > 1 ? SW * PWd : IW);
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
            em_line(e, "{ hd_vf v = hd_vf_load(xr + %" PRId64 "); acc = hd_vf_sel(hd_vf_lt(acc, v), v, acc); }", at[kw]);
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
            em_line(e, "if (ow >= %" PRId64 " && ow < %" PRId64 " && xr[%" PRId64 "] > acc) acc = xr[%" PRId64 "];", lo[kw],
                    hi[kw], at[kw], at[kw]);
        em_close(e);
        em_line(e, "orow[ow] = acc;");
        em_close(e);
    }
    em_close(e);
    em_close(e);
}

uint64_t nn_scratch_pool(const ir_graph *g, int node)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    nn_window w;
    if (!pool_geom(&c, &w) || ir_value_numel(ir_val(g, ir_nd(g, node)->outputs[0])) == 0)
        return 0;
    return maxpool2d_fast_ok(g, node, &w) ? maxpool2d_scratch(&w) : 0;
}

bool nn_emit_pool(op_emit *e)
{
    op_ctx c = nn_ctx_of(e);
    nn_window w;
    pool_geom(&c, &w);
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0), *idx = em_out(e, 1);
    int kind = pool_kind(n->op);
    hodu_dtype t = x->dtype;
    int nd = w.nd;
    if (ir_value_numel(out) == 0)
        return true;
    bool include_pad = kind == POOL_AVG && ir_attr_int(n, "count_include_pad", 0) != 0;
    bool col_major = ir_attr_int(n, "storage_order", 0) == 1;
    int64_t p = ir_attr_int(n, "p", 2);
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : (t == HODU_DTYPE_I8 || t == HODU_DTYPE_U8) ? "int32_t" : "float";
    int64_t IP = 1, OP = 1;
    for (int i = 0; i < nd; i++) {
        IP *= w.in[i];
        OP *= w.out[i];
    }
    int64_t NC = x->dims[0].size * x->dims[1].size;
    if (maxpool2d_fast_ok(e->g, e->node, &w)) {
        emit_maxpool2d_fast(e, &w, NC);
        return true;
    }
    em_for(e, "nc", NC);
    em_line(e, "const %s *x = in0 + nc * %" PRId64 ";", em_ctype(t), IP);
    em_line(e, "%s *y = out0 + nc * %" PRId64 ";", em_ctype(t), OP);
    for (int i = 0; i < nd; i++)
        em_for(e, OV[i], w.out[i]);
    if (kind == POOL_MAX) {
        em_line(e, "%s acc = %s;", acc_t, lowest(t));
        if (idx)
            em_line(e, "int64_t arg = -1;");
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        em_line(e, "int64_t cnt = 0;");
        if (include_pad)
            em_line(e, "int64_t pcnt = 0;");
    }
    /* Kernel loops.  Positions outside the padded input (ceil_mode) are
     * skipped outright; padded positions count only for include_pad. */
    for (int i = 0; i < nd; i++) {
        em_for(e, KV[i], w.k[i]);
        em_line(e, "const int64_t %s = %s * %" PRId64 " - %" PRId64 " + %s * %" PRId64 ";", IV[i], OV[i], w.s[i],
                w.pb[i], KV[i], w.d[i]);
        if (include_pad) {
            em_line(e, "if (%s < %" PRId64 " || %s >= %" PRId64 ") continue;", IV[i], -w.pb[i], IV[i],
                    w.in[i] + w.pe[i]);
            char prev[32] = "";
            if (i)
                snprintf(prev, sizeof(prev), "in%d && ", i - 1);
            em_line(e, "const int in%d = %s(uint64_t)%s < %" PRId64 "u;", i, prev, IV[i], w.in[i]);
        } else {
            em_line(e, "if ((uint64_t)%s >= %" PRId64 "u) continue;", IV[i], w.in[i]);
        }
    }
    hd_buf xi;
    hd_buf_init(&xi);
    hd_buf_puts(&xi, "0");
    int64_t st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        hd_buf_printf(&xi, " + %s * %" PRId64, IV[i], st);
        st *= w.in[i];
    }
    char *lx = em_load(t, "x[xi]");
    if (include_pad) {
        em_line(e, "pcnt++;");
        em_line(e, "if (!in%d) continue;", nd - 1);
    }
    em_line(e, "const int64_t xi = %s;", xi.data);
    em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
    free(lx);
    if (kind == POOL_MAX) {
        if (idx)
            em_line(e, "if (v > acc || arg < 0) { if (v == v) { acc = v; arg = xi; } }");
        else
            em_line(e, "if (v > acc) acc = v;");
    } else if (kind == POOL_AVG) {
        em_line(e, "acc += v;");
        em_line(e, "cnt++;");
    } else {
        emit_lp_term(e, p, acc_t, "v");
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    hd_buf yi;
    hd_buf_init(&yi);
    hd_buf_puts(&yi, "0");
    st = 1;
    for (int i = nd - 1; i >= 0; i--) {
        hd_buf_printf(&yi, " + %s * %" PRId64, OV[i], st);
        st *= w.out[i];
    }
    char *res;
    if (kind == POOL_MAX) {
        res = hd_xstrdup("acc");
    } else if (kind == POOL_AVG) {
        res = hd_xasprintf("acc / (%s)%s", acc_t, include_pad ? "pcnt" : "cnt");
    } else {
        emit_lp_final(e, p, acc_t);
        res = hd_xstrdup("r");
    }
    char *sv = em_store(t, res);
    em_line(e, "y[%s] = %s;", yi.data, sv);
    free(sv);
    free(res);
    if (idx) {
        /* arg is row-major within the image; convert for storage_order 1 */
        if (col_major && nd > 1) {
            em_line(e, "int64_t rem = arg, cm = 0;");
            int64_t cs[NN_MAX_SPATIAL];
            int64_t s2 = 1;
            for (int i = 0; i < nd; i++) {
                cs[i] = s2;
                s2 *= w.in[i];
            }
            for (int i = nd - 1; i >= 0; i--) {
                em_line(e, "cm += (rem %% %" PRId64 ") * %" PRId64 ";", w.in[i], cs[i]);
                em_line(e, "rem /= %" PRId64 ";", w.in[i]);
            }
            em_line(e, "arg = cm;");
        }
        em_line(e, "out1[nc * %" PRId64 " + %s] = nc * %" PRId64 " + arg;", OP, yi.data, IP);
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    hd_buf_free(&xi);
    hd_buf_free(&yi);
    return true;
}

/* --- global pools ------------------------------------------------------------ */

bool nn_infer_global_pool(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    int kind = pool_kind(op_node(c)->op);
    if (!pool_type_ok(c, kind, x->dtype))
        return false;
    if (x->rank < 2)
        return op_fail(c, "input X must have rank 2 or more, got %d", x->rank);
    if (kind == POOL_LP && ir_attr_int(op_node(c), "p", 2) < 1)
        return op_fail(c, "attribute 'p' value %" PRId64 " must be at least 1", ir_attr_int(op_node(c), "p", 2));
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i].size : 1;
    op_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
}

bool nn_emit_global_pool(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    int kind = pool_kind(n->op);
    hodu_dtype t = x->dtype;
    int64_t NC = x->dims[0].size * x->dims[1].size, IP = 1;
    for (int i = 2; i < x->rank; i++)
        IP *= x->dims[i].size;
    if (ir_value_numel(out) == 0)
        return true;
    int64_t p = ir_attr_int(n, "p", 2);
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : (t == HODU_DTYPE_I8 || t == HODU_DTYPE_U8) ? "int32_t" : "float";
    char *lx = em_load(t, "x[i]");
    em_for(e, "nc", NC);
    em_line(e, "const %s *x = in0 + nc * %" PRId64 ";", em_ctype(t), IP);
    char *res;
    if (kind == POOL_MAX) {
        em_line(e, "%s acc = %s;", acc_t, lowest(t));
        em_for(e, "i", IP);
        em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
        em_line(e, "if (v > acc) acc = v;");
        em_close(e);
        res = hd_xstrdup("acc");
    } else if (kind == POOL_AVG && t == HODU_DTYPE_F32 && IP >= 16) {
        /* eight partial sums so the loop vectorises */
        em_line(e, "float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};");
        em_line(e, "int64_t i = 0;");
        em_line(e, "for (; i + 8 <= %" PRId64 "; i += 8)", IP);
        em_line(e, "    for (int j = 0; j < 8; j++) part[j] += x[i + j];");
        em_line(e, "float acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));");
        em_line(e, "for (; i < %" PRId64 "; i++) acc += x[i];", IP);
        res = hd_xasprintf("acc / (float)%" PRId64, IP);
    } else if (kind == POOL_AVG) {
        em_line(e, "%s acc = 0;", acc_t);
        em_for(e, "i", IP);
        em_line(e, "acc += (%s)%s;", acc_t, lx);
        em_close(e);
        res = hd_xasprintf("acc / (%s)%" PRId64, acc_t, IP);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        em_for(e, "i", IP);
        em_line(e, "const %s v = (%s)%s;", acc_t, acc_t, lx);
        emit_lp_term(e, p, acc_t, "v");
        em_close(e);
        emit_lp_final(e, p, acc_t);
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

/* --- MaxUnpool -----------------------------------------------------------------
 * (X, I, output_shape?) -> zeros of the output shape with Y.flat[I] = X:
 * the inverse of MaxPool with Indices.  Output spatial dims are
 * (D-1)*stride + kernel - pads unless output_shape (a build-time constant)
 * says otherwise.  Indices outside the output are skipped. */

bool nn_infer_max_unpool(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0), *ix = op_need_static(c, 1);
    if (!x || !ix)
        return false;
    if (x->rank < 3)
        return op_fail(c, "input X must have rank 3 or more, got %d", x->rank);
    if (ix->dtype != HODU_DTYPE_I64)
        return op_fail(c, "indices I must be int64, got %s", ir_dtype_name(ix->dtype));
    if (ix->rank != x->rank || ir_value_numel(ix) != ir_value_numel(x))
        return op_fail(c, "indices I must have the shape of X");
    int nd = x->rank - 2;
    int64_t k[NN_MAX_SPATIAL], s[NN_MAX_SPATIAL], pads[2 * NN_MAX_SPATIAL];
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(op_node(c), "kernel_shape", &nk);
    if (!ks || nk != (size_t)nd)
        return op_fail(c, "attribute 'kernel_shape' must have %d values", nd);
    memcpy(k, ks, (size_t)nd * sizeof(int64_t));
    if (!nn_ints_attr(c, "strides", nd, 1, s) || !nn_ints_attr(c, "pads", 2 * nd, 0, pads))
        return false;
    int64_t dims[HODU_MAX_RANK];
    dims[0] = x->dims[0].size;
    dims[1] = x->dims[1].size;
    for (int i = 0; i < nd; i++) {
        if (k[i] < 1 || s[i] < 1 || pads[i] < 0 || pads[i + nd] < 0 || k[i] > ((int64_t)1 << 31) ||
            s[i] > ((int64_t)1 << 31) || pads[i] > ((int64_t)1 << 31) || pads[i + nd] > ((int64_t)1 << 31))
            return op_fail(c, "kernel_shape, strides and pads are out of range");
        dims[i + 2] = (x->dims[i + 2].size - 1) * s[i] + k[i] - pads[i] - pads[i + nd];
        if (dims[i + 2] < 0)
            dims[i + 2] = 0;
    }
    const ir_value *os = op_in(c, 2);
    if (os && ir_value_numel(os) != 0) {
        int64_t shp[HODU_MAX_RANK];
        long n = op_need_const_i64(c, 2, shp, HODU_MAX_RANK, "output_shape");
        if (n < 0)
            return false;
        if (n != x->rank)
            return op_fail(c, "output_shape has %ld values for rank %d", n, x->rank);
        for (int i = 0; i < x->rank; i++) {
            if (shp[i] < 0 || (i < 2 && shp[i] != dims[i]))
                return op_fail(c, "output_shape value %" PRId64 " in dim %d is not valid", shp[i], i);
            dims[i] = shp[i];
        }
    }
    op_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
}

bool nn_emit_max_unpool(op_emit *e)
{
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    size_t nbytes = ir_value_nbytes(out);
    if (nbytes == 0)
        return true;
    int64_t total = ir_value_numel(out), n = ir_value_numel(x);
    /* Indices count in the default output shape; an explicit output_shape
     * keeps each element's coordinates. */
    int r = x->rank, nd = r - 2;
    const ir_node *nn = em_node(e);
    size_t cnt = 0;
    const int64_t *ks = ir_attr_ints(nn, "kernel_shape", &cnt);
    size_t sc = 0, pc = 0;
    const int64_t *st = ir_attr_ints(nn, "strides", &sc), *pd = ir_attr_ints(nn, "pads", &pc);
    int64_t dd[HODU_MAX_RANK];
    bool same = true;
    dd[0] = out->dims[0].size;
    dd[1] = out->dims[1].size;
    for (int i = 0; i < nd; i++) {
        dd[i + 2] = (x->dims[i + 2].size - 1) * (st ? st[i] : 1) + ks[i] - (pd ? pd[i] + pd[i + nd] : 0);
        if (dd[i + 2] < 0)
            dd[i + 2] = 0;
        if (dd[i + 2] != out->dims[i + 2].size)
            same = false;
    }
    em_line(e, "memset(out0, 0, %zu);", nbytes);
    em_for(e, "i", n);
    em_line(e, "const int64_t j = in1[i];");
    if (same) {
        em_line(e, "if (j >= 0 && j < %" PRId64 ") out0[j] = in0[i];", total);
    } else {
        int64_t dtotal = 1;
        for (int i = 0; i < r; i++)
            dtotal *= dd[i];
        em_line(e, "if (j < 0 || j >= %" PRId64 ") continue;", dtotal);
        em_line(e, "int64_t rem = j, o = 0, ok = 1;");
        int64_t ost = 1;
        for (int i = r - 1; i >= 0; i--) {
            em_line(e, "{ const int64_t q = rem %% %" PRId64 "; rem /= %" PRId64 "; if (q >= %" PRId64 ") ok = 0; o += q * %" PRId64
                       "; }",
                    dd[i], dd[i], out->dims[i].size, ost);
            ost *= out->dims[i].size;
        }
        em_line(e, "if (ok) out0[o] = in0[i];");
    }
    em_close(e);
    return true;
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec maxpool_attrs[] = {
    {"auto_pad", IR_ATTR_STRING}, {"ceil_mode", IR_ATTR_INT}, {"dilations", IR_ATTR_INTS},
    {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS},   {"storage_order", IR_ATTR_INT},
    {"strides", IR_ATTR_INTS},    {NULL, 0}};
static const op_attr_spec avgpool_attrs[] = {
    {"auto_pad", IR_ATTR_STRING}, {"ceil_mode", IR_ATTR_INT}, {"count_include_pad", IR_ATTR_INT},
    {"dilations", IR_ATTR_INTS},  {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS},
    {"strides", IR_ATTR_INTS},    {NULL, 0}};
static const op_attr_spec lppool_attrs[] = {
    {"auto_pad", IR_ATTR_STRING}, {"ceil_mode", IR_ATTR_INT}, {"dilations", IR_ATTR_INTS},
    {"kernel_shape", IR_ATTR_INTS}, {"p", IR_ATTR_INT},       {"pads", IR_ATTR_INTS},
    {"strides", IR_ATTR_INTS},    {NULL, 0}};
static const op_attr_spec unpool_attrs[] = {
    {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS}, {"strides", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec global_lp_attrs[] = {{"p", IR_ATTR_INT}, {NULL, 0}};

OP_DEF(MAX_POOL, .attrs = maxpool_attrs, .infer = nn_infer_pool, .emit = nn_emit_pool, .scratch = nn_scratch_pool);
OP_DEF(MAX_UNPOOL, .attrs = unpool_attrs, .infer = nn_infer_max_unpool, .emit = nn_emit_max_unpool);
OP_DEF(AVERAGE_POOL, .attrs = avgpool_attrs, .infer = nn_infer_pool, .emit = nn_emit_pool);
OP_DEF(LP_POOL, .attrs = lppool_attrs, .infer = nn_infer_pool, .emit = nn_emit_pool);
OP_DEF(GLOBAL_AVERAGE_POOL, .infer = nn_infer_global_pool, .emit = nn_emit_global_pool);
OP_DEF(GLOBAL_MAX_POOL, .infer = nn_infer_global_pool, .emit = nn_emit_global_pool);
OP_DEF(GLOBAL_LP_POOL, .attrs = global_lp_attrs, .infer = nn_infer_global_pool, .emit = nn_emit_global_pool);
