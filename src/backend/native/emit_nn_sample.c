/*
 * emit_nn_sample.c - native lowerings of the sampling ops: GridSample,
 * AffineGrid, RoiAlign, Col2Im, CenterCropPad, DeformConv
 * (src/ops/nn_sample.c holds their semantics; src/ops/sample.h the plans
 * read here).
 *
 * Positions that come from run-time data are mapped in the generated code,
 * and each mapping is written so no value (NaN and infinities included)
 * can make a read leave its operand: a coordinate is clamped NaN-safely
 * (`!(x >= lo)` is true for NaN) into a range a few pixels around the image
 * before it becomes an integer, and every tap index is bounds-checked or
 * clamped (nn_sample.c's header says what each op then computes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "native.h"
#include "ops/ops.h"
#include "ops/sample.h"

/* Inference accepted the node, so its plan is computable; if not, that is
 * a compiler bug, reported rather than lowered from an unspecified plan. */
static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

/* A block that is not a loop: "<head> {" ... "}". */
static void open_block(op_emit *e, const char *head)
{
    em_line(e, "%s {", head);
    e->indent++;
}

static void close_block(op_emit *e)
{
    e->indent--;
    em_line(e, "}");
}

/* A constant of the compute type: "((float)0.5)". */
typedef struct num_text {
    char s[64];
} num_text;

static num_text num(const char *ct, double v)
{
    num_text t;
    snprintf(t.s, sizeof(t.s), "((%s)%s)", ct, em_f64(v).s);
    return t;
}

/* "base[idx]" (base: a short name). */
typedef struct sub_text {
    char s[1100];
} sub_text;

static sub_text sub(const char *base, const char *idx)
{
    sub_text t;
    snprintf(t.s, sizeof(t.s), "%.40s[%s]", base, idx);
    return t;
}

/* --- GridSample ------------------------------------------------------------ */

static const char *const TV[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};

/* Writes, for spatial dim i, the tap offsets o<i>[K] (element offsets into
 * one channel, -1 for a zeros-padding tap outside the image) and weights
 * w<i>[K] of the coordinate read from the grid. */
static void gs_dim_taps(op_emit *e, const grid_sample_plan *p, int i, int64_t stride, hodu_dtype gt, int K, bool dbl)
{
    const char *ct = dbl ? "double" : "float";
    const char *sf = dbl ? "" : "f"; /* libm suffix */
    int64_t L = p->in[i];
    int nd = p->nd;
    bool ac = p->align_corners;
    char *ld = em_load(gt, sub("in1", em_index(nd - 1 - i, EM_TERMS({"q", nd})).s).s);
    em_line(e, "int64_t o%d[%d];", i, K);
    if (K > 1)
        em_line(e, "%s w%d[%d];", ct, i, K);
    em_line(e, "%s x%d = (%s)%s;", ct, i, ct, ld);
    free(ld);
    /* grid value -> pixel coordinate */
    if (ac)
        em_line(e, "x%d = (x%d + 1) / 2 * %s;", i, i, num(ct, (double)(L - 1)).s);
    else
        em_line(e, "x%d = ((x%d + 1) * %s - 1) / 2;", i, i, num(ct, (double)L).s);
    if (p->mode == SAMPLE_NEAREST)
        em_line(e, "x%d = rint%s(x%d);", i, sf, i); /* half to even, as onnxruntime */
    double lo = ac ? 0.0 : -0.5, hi = ac ? (double)(L - 1) : (double)L - 0.5;
    /* Outside [lo, hi]: padding decides, per dim as the ONNX reference
     * does (onnxruntime's 2-D kernel clamps both coordinates for border
     * when either is outside, which only changes cubic results). */
    num_text tlo = num(ct, lo), thi = num(ct, hi);
    char head[256];
    snprintf(head, sizeof(head), "if (!(x%d >= %s && x%d <= %s))", i, tlo.s, i, thi.s);
    open_block(e, head);
    switch (p->pad) {
    case SAMPLE_PAD_ZEROS:
        /* every tap of a coordinate past these bounds is outside anyway */
        em_line(e, "if (!(x%d >= %s)) x%d = %s;", i, num(ct, -3).s, i, num(ct, -3).s);
        em_line(e, "else if (x%d > %s) x%d = %s;", i, num(ct, (double)L + 2).s, i, num(ct, (double)L + 2).s);
        break;
    case SAMPLE_PAD_BORDER: em_line(e, "x%d = x%d > %s ? %s : 0;", i, i, thi.s, num(ct, (double)(L - 1)).s); break;
    case SAMPLE_PAD_REFLECTION:
        if (hi <= lo) {
            em_line(e, "x%d = 0;", i);
            break;
        }
        /* reflect at the borders until inside; NaN and infinities: low edge */
        em_line(e, "if (!(x%d > %s && x%d < %s)) x%d = %s;", i, num(ct, -1e30).s, i, num(ct, 1e30).s, i, tlo.s);
        em_line(e, "else if (x%d < %s) { const %s m = fmod%s(%s - x%d, %s); x%d = m < %s ? %s + m : %s - (m - %s); }",
                i, tlo.s, ct, sf, tlo.s, i, num(ct, 2 * (hi - lo)).s, i, num(ct, hi - lo).s, tlo.s, thi.s,
                num(ct, hi - lo).s);
        em_line(e, "else { const %s m = fmod%s(x%d - %s, %s); x%d = m < %s ? %s - m : %s + (m - %s); }", ct, sf, i,
                thi.s, num(ct, 2 * (hi - lo)).s, i, num(ct, hi - lo).s, thi.s, tlo.s, num(ct, hi - lo).s);
        break;
    }
    close_block(e);
    /* taps: b<i> + k for k < K */
    if (p->mode == SAMPLE_NEAREST) {
        em_line(e, "const int64_t b%d = (int64_t)x%d;", i, i);
    } else {
        em_line(e, "const %s f%d = floor%s(x%d), r%d = x%d - f%d;", ct, i, sf, i, i, i, i);
        em_line(e, "const int64_t b%d = (int64_t)f%d%s;", i, i, p->mode == SAMPLE_CUBIC ? " - 1" : "");
        if (p->mode == SAMPLE_LINEAR) {
            em_line(e, "w%d[0] = 1 - r%d;", i, i);
            em_line(e, "w%d[1] = r%d;", i, i);
        } else {
            /* Keys' cubic kernel, a = -0.75, at distances 1 + r, r, 1 - r, 2 - r */
            em_line(e, "const %s s%d = r%d + 1, u%d = 1 - r%d, v%d = 2 - r%d;", ct, i, i, i, i, i, i);
            em_line(e, "w%d[0] = ((-0.75%s * s%d + 3.75%s) * s%d - 6) * s%d + 3;", i, sf, i, sf, i, i);
            em_line(e, "w%d[1] = (1.25%s * r%d - 2.25%s) * r%d * r%d + 1;", i, sf, i, sf, i, i);
            em_line(e, "w%d[2] = (1.25%s * u%d - 2.25%s) * u%d * u%d + 1;", i, sf, i, sf, i, i);
            em_line(e, "w%d[3] = ((-0.75%s * v%d + 3.75%s) * v%d - 6) * v%d + 3;", i, sf, i, sf, i, i);
        }
    }
    em_for(e, "k", K);
    em_line(e, "int64_t j = b%d + k;", i);
    switch (p->pad) {
    case SAMPLE_PAD_ZEROS:
        em_line(e, "o%d[k] = (uint64_t)j < %" PRId64 "u ? %s : -1;", i, L, em_index(0, EM_TERMS({"j", stride})).s);
        break;
    case SAMPLE_PAD_BORDER:
        em_line(e, "j = j < 0 ? 0 : (j > %" PRId64 " ? %" PRId64 " : j);", L - 1, L - 1);
        em_line(e, "o%d[k] = %s;", i, em_index(0, EM_TERMS({"j", stride})).s);
        break;
    case SAMPLE_PAD_REFLECTION:
        /* the integer form of the reflection, which keeps j in [0, L) */
        if (ac && L == 1) {
            em_line(e, "j = 0;");
        } else {
            int64_t P = ac ? 2 * (L - 1) : 2 * L;
            em_line(e, "j %%= %" PRId64 ";", P);
            em_line(e, "if (j < 0) j += %" PRId64 ";", P);
            if (ac)
                em_line(e, "if (j > %" PRId64 ") j = %" PRId64 " - j;", L - 1, P);
            else
                em_line(e, "if (j >= %" PRId64 ") j = %" PRId64 " - j;", L, P - 1);
        }
        em_line(e, "o%d[k] = %s;", i, em_index(0, EM_TERMS({"j", stride})).s);
        break;
    }
    em_close(e);
}

static bool emit_grid_sample(op_emit *e)
{
    grid_sample_plan p;
    if (!grid_sample_plan_of(e->g, e->node, &p))
        return no_plan(e, "grid sample");
    const ir_value *x = em_in(e, 0), *gv = em_in(e, 1), *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
    hodu_dtype xt = x->dtype;
    const char *ct = xt == HODU_DTYPE_F64 ? "double" : "float";
    int nd = p.nd;
    int K = p.mode == SAMPLE_NEAREST ? 1 : p.mode == SAMPLE_LINEAR ? 2 : 4;
    int64_t stride[NN_MAX_SPATIAL], s = 1, taps = 1;
    for (int i = nd - 1; i >= 0; i--) {
        stride[i] = s;
        s *= p.in[i];
        taps *= K;
    }
    em_par_for(e, "q", p.N * p.OP, 1, op_sat_mul(p.C, taps) + 16 * nd);
    em_line(e, "const int64_t n = q / %" PRId64 ", p = q %% %" PRId64 ";", p.OP, p.OP);
    for (int i = 0; i < nd; i++)
        gs_dim_taps(e, &p, i, stride[i], gv->dtype, K, xt == HODU_DTYPE_F64);
    em_for(e, "c", p.C);
    em_line(e, "const %s *xc = %s;", em_ctype(xt), em_offset("in0", 0, EM_TERMS({"n", p.C * p.IP}, {"c", p.IP})).s);
    em_expr yo = em_index(0, EM_TERMS({"n", p.C * p.OP}, {"c", p.OP}, {"p", 1}));
    bool zeros = p.pad == SAMPLE_PAD_ZEROS;
    hd_buf off;
    hd_buf_init(&off);
    for (int i = 0; i < nd; i++)
        hd_buf_printf(&off, "%so%d[%s]", i ? " + " : "", i, K == 1 ? "0" : TV[i]);
    char at[1100];
    snprintf(at, sizeof(at), "xc[%s]", off.data);
    char *lx = em_load(xt, at);
    if (K == 1) {
        hd_buf cond;
        hd_buf_init(&cond);
        for (int i = 0; zeros && i < nd; i++)
            hd_buf_printf(&cond, "%so%d[0] >= 0", i ? " && " : "", i);
        char val[1400];
        if (zeros)
            snprintf(val, sizeof(val), "(%s) ? (%s)%s : (%s)0", cond.data, ct, lx, ct);
        else
            snprintf(val, sizeof(val), "(%s)%s", ct, lx);
        char *sv = em_store(xt, val);
        em_line(e, "out0[%s] = %s;", yo.s, sv);
        free(sv);
        hd_buf_free(&cond);
    } else {
        /* innermost dim first, as the separable definition nests them */
        em_line(e, "%s a0 = 0;", ct);
        for (int i = 0; i < nd; i++) {
            em_for(e, TV[i], K);
            if (zeros)
                em_line(e, "if (o%d[%s] < 0) continue;", i, TV[i]);
            if (i < nd - 1)
                em_line(e, "%s a%d = 0;", ct, i + 1);
        }
        em_line(e, "a%d += w%d[%s] * (%s)%s;", nd - 1, nd - 1, TV[nd - 1], ct, lx);
        for (int i = nd - 1; i >= 0; i--) {
            em_close(e);
            if (i > 0)
                em_line(e, "a%d += w%d[%s] * a%d;", i - 1, i - 1, TV[i - 1], i);
        }
        char *sv = em_store(xt, "a0");
        em_line(e, "out0[%s] = %s;", yo.s, sv);
        free(sv);
    }
    free(lx);
    hd_buf_free(&off);
    em_close(e);
    em_close(e);
    return true;
}

/* --- AffineGrid ------------------------------------------------------------ */

static bool emit_affine_grid(op_emit *e)
{
    affine_grid_plan p;
    if (!affine_grid_plan_of(e->g, e->node, &p))
        return no_plan(e, "affine grid");
    const ir_value *th = em_in(e, 0), *out = em_out(e, 0);
    if (p.size_at_run_time) {
        /* size = (N, C, spatial...) with any channel count */
        e->can_fail = true;
        em_line(e, "if (in1[0] != %" PRId64 " || in1[1] < 0) return 1;", p.N);
        for (int i = 0; i < p.nd; i++)
            em_line(e, "if (in1[%d] != %" PRId64 ") return 1;", i + 2, p.size[i]);
    }
    if (ir_value_numel(out) == 0)
        return true;
    hodu_dtype t = th->dtype;
    int nd = p.nd, cols = nd + 1;
    static const char *const DV[] = {"d0", "d1", "d2"};
    static const char *const BV[] = {"b0", "b1", "b2"};
    int64_t P = 1;
    for (int i = 0; i < nd; i++)
        P *= p.size[i];
    em_for(e, "n", p.N);
    /* theta's row r, column j as double */
    em_line(e, "double th[%d];", nd * cols);
    em_for(e, "i", nd * cols);
    char *ld = em_load(t, sub("in0", em_index(0, EM_TERMS({"n", nd * cols}, {"i", 1})).s).s);
    em_line(e, "th[i] = (double)%s;", ld);
    free(ld);
    em_close(e);
    int64_t stride = 1;
    int64_t strides[3];
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= p.size[i];
    }
    for (int i = 0; i < nd; i++) {
        em_for(e, DV[i], p.size[i]);
        int64_t L = p.size[i];
        if (p.align_corners && L > 1)
            em_line(e, "const double %s = -1.0 + 2.0 * (double)%s / %" PRId64 ".0;", BV[i], DV[i], L - 1);
        else if (p.align_corners) /* one point: the centre, as PyTorch */
            em_line(e, "const double %s = 0.0 * (double)%s;", BV[i], DV[i]);
        else
            em_line(e, "const double %s = (double)(2 * %s + 1) / %" PRId64 ".0 - 1.0;", BV[i], DV[i], L);
    }
    em_term terms[4] = {{"n", P * nd}};
    for (int i = 0; i < nd; i++)
        terms[i + 1] = (em_term){DV[i], strides[i] * nd};
    em_line(e, "%s *g = %s;", em_ctype(t), em_offset("out0", 0, (size_t)nd + 1, terms).s);
    /* the point (x, y[, z]) = (b_last, ..., b0), homogeneous */
    for (int r = 0; r < nd; r++) {
        hd_buf v;
        hd_buf_init(&v);
        for (int j = 0; j < nd; j++)
            hd_buf_printf(&v, "th[%d] * %s + ", r * cols + j, BV[nd - 1 - j]);
        hd_buf_printf(&v, "th[%d]", r * cols + nd);
        char *sv = em_store(t, v.data);
        em_line(e, "g[%d] = %s;", r, sv);
        free(sv);
        hd_buf_free(&v);
    }
    for (int i = 0; i < nd; i++)
        em_close(e);
    em_close(e);
    return true;
}

/* --- RoiAlign -------------------------------------------------------------- */

/* Entries of one axis's sample table: bins x most samples per bin. */
static void ra_table_sizes(const roi_align_plan *p, int64_t *ny, int64_t *nx)
{
    *ny = op_sat_mul(p->OH, p->sampling > 0 ? p->sampling : p->grid_max_h);
    *nx = op_sat_mul(p->OW, p->sampling > 0 ? p->sampling : p->grid_max_w);
}

static uint64_t ra_ctsize(const ir_graph *g, int node)
{
    return ir_val(g, ir_nd(g, node)->inputs[0])->dtype == HODU_DTYPE_F64 ? 8 : 4;
}

/* Per worker: for each axis, low/high offsets (int64), low/high weights
 * (compute type) and a valid flag per entry. */
static uint64_t worker_scratch_roi_align(const ir_graph *g, int node)
{
    roi_align_plan p;
    if (!roi_align_plan_of(g, node, &p) || ir_value_numel(ir_val(g, ir_nd(g, node)->outputs[0])) == 0)
        return 0;
    int64_t ny, nx;
    ra_table_sizes(&p, &ny, &nx);
    uint64_t per = 16 + 2 * ra_ctsize(g, node) + 1;
    return nn_align64(op_sat_add_u64(op_bytes4(ny, 1, 1, 1, per), op_bytes4(nx, 1, 1, 1, per)));
}

/* Writes the sample table of one axis (y: rows, x: columns): `size` the
 * axis' length as a float, `last` its last index, `lo`/`hi` the offsets of
 * rows or columns lo and hi (C text: numbers, or the general path's sizes
 * read when the model runs). */
static void ra_axis(op_emit *e, const char *ct, char a, int64_t bins, const char *size, const char *last,
                    const char *lo, const char *hi)
{
    em_for(e, "b", bins);
    char head[160];
    snprintf(head, sizeof(head), "for (int64_t s = 0; s < g%c; s++)", a);
    open_block(e, head);
    em_line(e, "const int64_t j = b * g%c + s;", a);
    em_line(e, "%s v = start%c + (%s)b * bin%c + ((%s)s + (%s)0.5) * bin%c / (%s)g%c;", ct, a, ct, a, ct, ct, a, ct, a);
    /* outside [-1, size] (or NaN): the sample is 0 */
    em_line(e, "%cv[j] = v >= -1 && v <= %s;", a, size);
    em_line(e, "if (!%cv[j]) { %clo[j] = %chi[j] = 0; %cl[j] = %ch[j] = 0; continue; }", a, a, a, a, a);
    em_line(e, "if (v < 0) v = 0;");
    em_line(e, "int64_t lo = (int64_t)v, hi;");
    em_line(e, "if (lo >= %s) { lo = hi = %s; v = (%s)lo; } else { hi = lo + 1; }", last, last, ct);
    em_line(e, "%clo[j] = %s;", a, lo);
    em_line(e, "%chi[j] = %s;", a, hi);
    em_line(e, "%cl[j] = v - (%s)lo;", a, ct);
    em_line(e, "%ch[j] = 1 - %cl[j];", a, a);
    close_block(e);
    em_close(e);
}

/* One axis of a static map: its sizes as numbers. */
static void ra_axis_static(op_emit *e, const char *ct, char a, int64_t bins, int64_t size, int64_t stride)
{
    char last[32];
    snprintf(last, sizeof(last), "%" PRId64, size - 1);
    ra_axis(e, ct, a, bins, num(ct, (double)size).s, last, em_index(0, EM_TERMS({"lo", stride})).s,
            em_index(0, EM_TERMS({"hi", stride})).s);
}

/* RoiAlign; `rt` on the general path (ir_node.rt_general): the map's
 * batch, height and width and the boxes' count read when the model runs
 * (a detector's feature maps over a run-time image size). */
static bool emit_roi_align_with(op_emit *e, bool rt)
{
    roi_align_plan p;
    if (!roi_align_plan_of(e->g, e->node, &p))
        return no_plan(e, "roi align");
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    if (!rt && ir_value_numel(out) == 0)
        return true;
    hodu_dtype t = x->dtype;
    const char *ct = t == HODU_DTYPE_F64 ? "double" : "float";
    const char *sf = t == HODU_DTYPE_F64 ? "" : "f";
    const char *xt = em_ctype(t);
    int64_t ny, nx;
    ra_table_sizes(&p, &ny, &nx);
    int64_t bins = p.OH * p.OW, plane = p.H * p.W;
    if (rt) {
        em_line(e, "const int64_t N = %s, H = %s, W = %s;", em_dim(e->g, x, 0).s, em_dim(e->g, x, 2).s,
                em_dim(e->g, x, 3).s);
        em_par_for_rt(e, "r", em_dim(e->g, out, 0).s, p.R, op_sat_mul(op_sat_mul(p.C, bins), 16));
    } else {
        em_par_for(e, "r", p.R, 1, op_sat_mul(op_sat_mul(p.C, bins), 16));
    }
    /* the sample tables, in this worker's scratch */
    em_line(e,
            "int64_t *ylo = (int64_t *)wscratch, *yhi = ylo + %" PRId64 ", *xlo = yhi + %" PRId64
            ", *xhi = xlo + %" PRId64 ";",
            ny, ny, nx);
    em_line(e,
            "%s *yl = (%s *)(xhi + %" PRId64 "), *yh = yl + %" PRId64 ", *xl = yh + %" PRId64 ", *xh = xl + %" PRId64
            ";",
            ct, ct, nx, ny, ny, nx);
    em_line(e, "unsigned char *yv = (unsigned char *)(xh + %" PRId64 "), *xv = yv + %" PRId64 ";", nx, ny);
    em_line(e, "%s *yr = %s;", xt, em_offset("out0", 0, EM_TERMS({"r", p.C * bins})).s);
    em_line(e, "const int64_t bi = in2[r];");
    /* a box naming a batch entry X does not have: zeros */
    char head[128];
    if (rt)
        snprintf(head, sizeof(head), "if (bi < 0 || bi >= N || H < 1 || W < 1)"); /* an empty map: zeros */
    else
        snprintf(head, sizeof(head), "if (bi < 0 || bi >= %" PRId64 ")", p.N);
    open_block(e, head);
    char *zero = em_store(t, "0");
    em_for(e, "i", p.C * bins);
    em_line(e, "yr[i] = %s;", zero);
    em_close(e);
    free(zero);
    em_line(e, "continue;");
    close_block(e);
    static const char *const box[] = {"startx", "starty", "endx", "endy"};
    for (int i = 0; i < 4; i++) {
        char *ld = em_load(t, sub("in1", em_index(i, EM_TERMS({"r", 4})).s).s);
        /* half_pixel moves the box by half a pixel */
        em_line(e, "const %s %s = (%s)%s * %s%s%s;", ct, box[i], ct, ld, num(ct, (double)(float)p.scale).s,
                p.half_pixel ? " - " : "", p.half_pixel ? num(ct, 0.5).s : "");
        free(ld);
    }
    em_line(e, "%s rw = endx - startx, rh = endy - starty;", ct);
    if (!p.half_pixel) {
        /* output_half_pixel (and opset 10): boxes at least one pixel */
        em_line(e, "rw = rw > 1 ? rw : 1;");
        em_line(e, "rh = rh > 1 ? rh : 1;");
    }
    em_line(e, "const %s biny = rh / %s, binx = rw / %s;", ct, num(ct, (double)p.OH).s, num(ct, (double)p.OW).s);
    if (p.sampling > 0) {
        em_line(e, "const int64_t gy = %" PRId64 ", gx = %" PRId64 ";", p.sampling, p.sampling);
    } else {
        /* adaptive: ceil(bin size) samples, clamped (NaN: none) */
        em_line(e, "const %s ty = ceil%s(biny), tx = ceil%s(binx);", ct, sf, sf);
        em_line(e, "const int64_t gy = !(ty > 0) ? 0 : (ty < %s ? (int64_t)ty : %" PRId64 ");",
                num(ct, (double)p.grid_max_h).s, p.grid_max_h);
        em_line(e, "const int64_t gx = !(tx > 0) ? 0 : (tx < %s ? (int64_t)tx : %" PRId64 ");",
                num(ct, (double)p.grid_max_w).s, p.grid_max_w);
    }
    if (!p.max)
        em_line(e, "const %s cnt = (%s)(gy * gx > 1 ? gy * gx : 1);", ct, ct);
    if (rt) {
        char size[64];
        snprintf(size, sizeof(size), "(%s)H", ct);
        ra_axis(e, ct, 'y', p.OH, size, "(H - 1)", "lo * W", "hi * W");
        snprintf(size, sizeof(size), "(%s)W", ct);
        ra_axis(e, ct, 'x', p.OW, size, "(W - 1)", "lo", "hi");
    } else {
        ra_axis_static(e, ct, 'y', p.OH, p.H, p.W);
        ra_axis_static(e, ct, 'x', p.OW, p.W, 1);
    }
    em_for(e, "c", p.C);
    if (rt)
        em_line(e, "const %s *xc = in0 + (bi * INT64_C(%" PRId64 ") + c) * H * W;", xt, p.C);
    else
        em_line(e, "const %s *xc = %s;", xt, em_offset("in0", 0, EM_TERMS({"bi", p.C * plane}, {"c", plane})).s);
    em_for(e, "ph", p.OH);
    em_for(e, "pw", p.OW);
    em_line(e, "%s acc = 0;", ct);
    if (p.max)
        em_line(e, "int first = 1;");
    open_block(e, "for (int64_t iy = 0; iy < gy; iy++)");
    em_line(e, "const int64_t j = ph * gy + iy;");
    open_block(e, "for (int64_t ix = 0; ix < gx; ix++)");
    em_line(e, "const int64_t k = pw * gx + ix;");
    em_line(e, "%s v = 0;", ct);
    open_block(e, "if (yv[j] && xv[k])");
    static const char *const pos[4] = {"ylo[j] + xlo[k]", "ylo[j] + xhi[k]", "yhi[j] + xlo[k]", "yhi[j] + xhi[k]"};
    static const char *const wt[4] = {"yh[j] * xh[k]", "yh[j] * xl[k]", "yl[j] * xh[k]", "yl[j] * xl[k]"};
    for (int i = 0; i < 4; i++) {
        char at[64];
        snprintf(at, sizeof(at), "xc[%s]", pos[i]);
        char *ld = em_load(t, at);
        em_line(e, "const %s v%d = %s * (%s)%s;", ct, i, wt[i], ct, ld);
        free(ld);
    }
    if (p.max) {
        em_line(e, "const %s m01 = v1 > v0 ? v1 : v0, m012 = v2 > m01 ? v2 : m01;", ct);
        em_line(e, "v = v3 > m012 ? v3 : m012;");
    } else {
        em_line(e, "v = v0 + v1 + v2 + v3;");
    }
    close_block(e);
    if (p.max) {
        em_line(e, "if (first || v > acc) acc = v;");
        em_line(e, "first = 0;");
    } else {
        em_line(e, "acc += v;");
    }
    close_block(e);
    close_block(e);
    char *sv = em_store(t, p.max ? "acc" : "acc / cnt");
    em_line(e, "yr[%s] = %s;", em_index(0, EM_TERMS({"c", bins}, {"ph", p.OW}, {"pw", 1})).s, sv);
    free(sv);
    em_close(e);
    em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

static bool emit_roi_align(op_emit *e) { return emit_roi_align_with(e, false); }

static bool emit_roi_align_rt(op_emit *e) { return emit_roi_align_with(e, true); }

/* --- Col2Im ---------------------------------------------------------------- */

static bool emit_col2im(op_emit *e)
{
    col2im_plan p;
    if (!col2im_plan_of(e->g, e->node, &p))
        return no_plan(e, "col2im");
    const ir_value *out = em_out(e, 0);
    const nn_window *w = &p.w;
    int64_t IP = 1, KP = p.KP, L = em_in(e, 0)->dims[2].size;
    for (int i = 0; i < w->nd; i++)
        IP *= w->in[i];
    if (p.image_at_run_time || p.blocks_at_run_time)
        e->can_fail = true;
    if (p.image_at_run_time)
        for (int i = 0; i < w->nd; i++)
            em_line(e, "if (in1[%d] != %" PRId64 ") return 1;", i, w->in[i]);
    if (p.blocks_at_run_time) {
        /* each block dim must fit the padded image; then the blocks must
         * hold the input's rows and their grid its columns */
        em_line(e, "hd_window win = {.nd = %d};", w->nd);
        em_line(e, "int64_t kp = 1, grid = 1;");
        for (int i = 0; i < w->nd; i++) {
            int64_t span = w->in[i] + w->pb[i] + w->pe[i];
            em_line(e, "{");
            e->indent++;
            em_line(e, "const int64_t k = in2[%d];", i);
            em_line(e, "if (k < 1 || k > %" PRId64 " || k > %" PRId64 " / kp) return 1;", (span - 1) / w->d[i] + 1, KP);
            em_line(e, "const int64_t o = (%" PRId64 " - (k - 1) * %" PRId64 " - 1) / %" PRId64 " + 1;", span, w->d[i],
                    w->s[i]);
            em_line(e, "if (o > %" PRId64 " / grid) return 1;", L);
            em_line(e, "kp *= k;");
            em_line(e, "grid *= o;");
            em_line(e, "win.in[%d] = %" PRId64 ", win.out[%d] = o, win.k[%d] = k;", i, w->in[i], i, i);
            em_line(e, "win.s[%d] = %" PRId64 ", win.d[%d] = %" PRId64 ", win.pad[%d] = %" PRId64 ";", i, w->s[i], i,
                    w->d[i], i, w->pb[i]);
            e->indent--;
            em_line(e, "}");
        }
        em_line(e, "if (kp != %" PRId64 " || grid != %" PRId64 ") return 1;", KP, L);
    }
    if (ir_value_numel(out) == 0)
        return true;
    /* the kernel layer's col2im: image = in, column grid = out */
    if (!p.blocks_at_run_time)
        nn_emit_window(e, "win", w, false);
    em_par_for(e, "n", p.N, 1, op_sat_mul(p.C, op_sat_mul(KP, L)));
    em_line(e, "float *y = %s;", em_offset("out0", 0, EM_TERMS({"n", p.C * IP})).s);
    em_line(e, "memset(y, 0, %" PRId64 " * sizeof(float));", p.C * IP);
    em_line(e, "hd_col2im_acc_nd_f32(%s, %" PRId64 ", &win, y);", em_offset("in0", 0, EM_TERMS({"n", p.C * KP * L})).s,
            p.C);
    em_close(e);
    return true;
}

/* --- CenterCropPad --------------------------------------------------------- */

static bool emit_center_crop_pad(op_emit *e)
{
    center_crop_pad_plan p;
    if (!center_crop_pad_plan_of(e->g, e->node, &p))
        return no_plan(e, "center crop pad");
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    if (p.shape_at_run_time) {
        e->can_fail = true;
        for (int i = 0; i < p.n_axes; i++)
            em_line(e, "if (in1[%d] != %" PRId64 ") return 1;", i, p.out[p.axes[i]]);
    }
    int64_t total = ir_value_numel(out);
    if (total == 0)
        return true;
    const char *xt = em_ctype(x->dtype);
    int r = p.rank;
    bool padded = false, empty = false;
    for (int i = 0; i < r; i++) {
        padded |= p.len[i] != p.out[i];
        empty |= p.len[i] == 0;
    }
    if (padded)
        em_line(e, "memset(out0, 0, %" PRId64 " * sizeof(%s));", total, xt);
    if (empty)
        return true;
    if (r == 0) {
        em_line(e, "out0[0] = in0[0];");
        return true;
    }
    static const char *const OV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    int64_t is[HODU_MAX_RANK], os[HODU_MAX_RANK], s1 = 1, s2 = 1;
    for (int i = r - 1; i >= 0; i--) {
        is[i] = s1;
        os[i] = s2;
        s1 *= p.in[i];
        s2 *= p.out[i];
    }
    /* one contiguous run per index of the outer dims */
    em_term ti[HODU_MAX_RANK], to[HODU_MAX_RANK];
    int64_t ci = 0, co = 0;
    for (int i = 0; i < r; i++) {
        ci += p.in_at[i] * is[i];
        co += p.out_at[i] * os[i];
        ti[i] = (em_term){OV[i], is[i]};
        to[i] = (em_term){OV[i], os[i]};
    }
    for (int i = 0; i < r - 1; i++)
        em_for(e, OV[i], p.len[i]);
    em_line(e, "memcpy(%s, %s, %" PRId64 " * sizeof(%s));", em_offset("out0", co, (size_t)r - 1, to).s,
            em_offset("in0", ci, (size_t)r - 1, ti).s, p.len[r - 1], xt);
    for (int i = 0; i < r - 1; i++)
        em_close(e);
    return true;
}

/* --- DeformConv ------------------------------------------------------------ */

/* The sampled columns, [C * kh * kw][OH * OW] in the compute type. */
static uint64_t dc_col_bytes(const deform_conv_plan *p, hodu_dtype t)
{
    const nn_conv_geom *g = &p->g;
    return nn_align64(op_bytes4(g->C, g->KP, g->OP, 1, t == HODU_DTYPE_F64 ? 8 : 4));
}

static uint64_t scratch_deform_conv(const ir_graph *gr, int node)
{
    deform_conv_plan p;
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (!deform_conv_plan_of(gr, node, &p) || ir_value_numel(out) == 0)
        return 0;
    return dc_col_bytes(&p, out->dtype);
}

/* float32 runs the product on the pool: each worker's GEMM scratch. */
static uint64_t worker_scratch_deform_conv(const ir_graph *gr, int node)
{
    deform_conv_plan p;
    const ir_value *out = ir_val(gr, ir_nd(gr, node)->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || !deform_conv_plan_of(gr, node, &p) || ir_value_numel(out) == 0)
        return 0;
    return nn_sgemm_scratch_bytes(p.g.Mg, p.g.OP, op_sat_mul(p.g.Cg, p.g.KP));
}

static bool emit_deform_conv(op_emit *e)
{
    deform_conv_plan p;
    if (!deform_conv_plan_of(e->g, e->node, &p))
        return no_plan(e, "deform conv");
    const ir_value *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
    const nn_conv_geom *g = &p.g;
    const nn_window *w = &g->w;
    hodu_dtype t = out->dtype;
    bool f32 = t == HODU_DTYPE_F32;
    const char *ct = t == HODU_DTYPE_F64 ? "double" : "float";
    const char *sf = t == HODU_DTYPE_F64 ? "" : "f";
    const char *xt = em_ctype(t);
    int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1], KH = w->k[0], KW = w->k[1];
    int64_t OP = g->OP, KP = g->KP, Cog = g->C / p.OG, R = g->Cg * KP;
    em_line(e, "%s *col = (%s *)scratch;", ct, ct);
    em_for(e, "n", g->N);
    /* 1. the columns: per offset group, tap and output position, the
     * bilinear sample (zero outside the image) times the mask */
    em_for(e, "og", p.OG);
    em_for(e, "kh", KH);
    em_for(e, "kw", KW);
    em_for(e, "oh", OH);
    em_for(e, "ow", OW);
    char at[160];
    em_expr offc = em_index(0, EM_TERMS({"n", p.OG * KP * 2 * OP}, {"og", KP * 2 * OP}, {"kh", KW * 2 * OP},
                                        {"kw", 2 * OP}, {"oh", OW}, {"ow", 1}));
    char *ldy = em_load(t, sub("in2", offc.s).s);
    char *ldx = em_load(t, sub("in2", em_index(OP, EM_TERMS({"n", p.OG * KP * 2 * OP}, {"og", KP * 2 * OP},
                                                            {"kh", KW * 2 * OP}, {"kw", 2 * OP}, {"oh", OW}, {"ow", 1}))
                                          .s)
                               .s);
    em_line(e, "%s py = (%s)%s + (%s)%s, px = (%s)%s + (%s)%s;", ct, ct,
            em_index(-w->pb[0], EM_TERMS({"oh", w->s[0]}, {"kh", w->d[0]})).s, ct, ldy, ct,
            em_index(-w->pb[1], EM_TERMS({"ow", w->s[1]}, {"kw", w->d[1]})).s, ct, ldx);
    free(ldy);
    free(ldx);
    /* past these bounds every tap is outside; NaN goes low */
    em_line(e, "py = py >= -2 ? (py <= %s ? py : %s) : -2;", num(ct, (double)H + 1).s, num(ct, (double)H + 1).s);
    em_line(e, "px = px >= -2 ? (px <= %s ? px : %s) : -2;", num(ct, (double)W + 1).s, num(ct, (double)W + 1).s);
    em_line(e, "const %s fy = floor%s(py), fx = floor%s(px), ly = py - fy, lx = px - fx;", ct, sf, sf);
    em_line(e, "const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;");
    em_line(e, "const int vy0 = (uint64_t)y0 < %" PRId64 "u, vy1 = (uint64_t)(y0 + 1) < %" PRId64 "u;", H, H);
    em_line(e, "const int vx0 = (uint64_t)x0 < %" PRId64 "u, vx1 = (uint64_t)(x0 + 1) < %" PRId64 "u;", W, W);
    if (p.mask) {
        char *lm = em_load(t, sub("in4", em_index(0, EM_TERMS({"n", p.OG * KP * OP}, {"og", KP * OP}, {"kh", KW * OP},
                                                              {"kw", OP}, {"oh", OW}, {"ow", 1}))
                                             .s)
                                  .s);
        em_line(e, "const %s m = (%s)%s;", ct, ct, lm);
        free(lm);
    }
    em_for(e, "c", Cog);
    em_line(e, "const %s *xc = %s;", xt,
            em_offset("in0", 0, EM_TERMS({"n", g->C * g->IP}, {"og", Cog * g->IP}, {"c", g->IP})).s);
    static const char *const corner[4] = {"vy0 && vx0", "vy0 && vx1", "vy1 && vx0", "vy1 && vx1"};
    static const char *const cpos[4] = {"y0 * %" PRId64 " + x0", "y0 * %" PRId64 " + x0 + 1",
                                        "(y0 + 1) * %" PRId64 " + x0", "(y0 + 1) * %" PRId64 " + x0 + 1"};
    for (int i = 0; i < 4; i++) {
        char idx[96];
        snprintf(idx, sizeof(idx), cpos[i], W);
        snprintf(at, sizeof(at), "xc[%s]", idx);
        char *ld = em_load(t, at);
        em_line(e, "const %s v%d = %s ? (%s)%s : 0;", ct, i, corner[i], ct, ld);
        free(ld);
    }
    em_line(e, "const %s v = (1 - ly) * ((1 - lx) * v0 + lx * v1) + ly * ((1 - lx) * v2 + lx * v3);", ct);
    em_line(
        e, "col[%s] = %s;",
        em_index(0, EM_TERMS({"og", Cog * KP * OP}, {"c", KP * OP}, {"kh", KW * OP}, {"kw", OP}, {"oh", OW}, {"ow", 1}))
            .s,
        p.mask ? "m * v" : "v");
    em_close(e);
    for (int i = 0; i < 5; i++)
        em_close(e);
    /* 2. per group: Y_g = W_g [Mg, Cg*kh*kw] x col_g + B */
    em_line(e, "%s *y = %s;", xt, em_offset("out0", 0, EM_TERMS({"n", g->M * OP})).s);
    if (f32) {
        if (p.bias) {
            em_for(e, "m", g->M);
            em_for(e, "q", OP);
            em_line(e, "y[%s] = in3[m];", em_index(0, EM_TERMS({"m", OP}, {"q", 1})).s);
            em_close(e);
            em_close(e);
        }
        nn_sgemm_call gemm = {.batch = g->G,
                              .sa = g->Mg * R,
                              .sb = R * OP,
                              .sc = g->Mg * OP,
                              .M = g->Mg,
                              .N = OP,
                              .K = R,
                              .A = "in1",
                              .lda = R,
                              .B = "col",
                              .ldb = OP,
                              .C = "y",
                              .ldc = OP,
                              .alpha = "1.0f",
                              .beta = p.bias ? "1.0f" : "0.0f"};
        nn_emit_sgemm(e, &gemm);
        em_close(e);
        return true;
    }
    int64_t gs = g->G > 1;
    if (gs)
        em_for(e, "grp", g->G);
    em_line(e, "const %s *wg = %s;", xt, em_offset("in1", 0, EM_TERMS({"grp", gs * g->Mg * R})).s);
    em_line(e, "const %s *cg = %s;", ct, em_offset("col", 0, EM_TERMS({"grp", gs * R * OP})).s);
    em_for(e, "m", g->Mg);
    em_for(e, "q", OP);
    if (p.bias) {
        char *lb = em_load(t, sub("in3", em_index(0, EM_TERMS({"grp", gs * g->Mg}, {"m", 1})).s).s);
        em_line(e, "%s acc = (%s)%s;", ct, ct, lb);
        free(lb);
    } else {
        em_line(e, "%s acc = 0;", ct);
    }
    char *lw = em_load(t, sub("wg", em_index(0, EM_TERMS({"m", R}, {"k", 1})).s).s);
    em_for(e, "k", R);
    em_line(e, "acc += (%s)%s * cg[%s];", ct, lw, em_index(0, EM_TERMS({"k", OP}, {"q", 1})).s);
    em_close(e);
    free(lw);
    char *sv = em_store(t, "acc");
    em_line(e, "y[%s] = %s;", em_index(0, EM_TERMS({"grp", gs * g->Mg * OP}, {"m", OP}, {"q", 1})).s, sv);
    free(sv);
    em_close(e);
    em_close(e);
    if (gs)
        em_close(e);
    em_close(e);
    return true;
}

/* --- registration ---------------------------------------------------------- */

void native_register_nn_sample(native_lowering *table)
{
    table[OP_GRID_SAMPLE_16] = (native_lowering){.emit = emit_grid_sample};
    table[OP_GRID_SAMPLE] = (native_lowering){.emit = emit_grid_sample};
    table[OP_AFFINE_GRID] = (native_lowering){.emit = emit_affine_grid};
    table[OP_ROI_ALIGN_10] = (native_lowering){
        .emit = emit_roi_align, .emit_rt = emit_roi_align_rt, .worker_scratch = worker_scratch_roi_align};
    table[OP_ROI_ALIGN] = (native_lowering){
        .emit = emit_roi_align, .emit_rt = emit_roi_align_rt, .worker_scratch = worker_scratch_roi_align};
    table[OP_COL2IM] = (native_lowering){.emit = emit_col2im};
    table[OP_CENTER_CROP_PAD] = (native_lowering){.emit = emit_center_crop_pad};
    table[OP_DEFORM_CONV] = (native_lowering){
        .emit = emit_deform_conv, .scratch = scratch_deform_conv, .worker_scratch = worker_scratch_deform_conv};
}
