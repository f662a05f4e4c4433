/*
 * emit_nn_resize.c - native lowering of Resize and Upsample
 * (src/ops/nn_resize.c holds their semantics; src/ops/resize.h the plan and
 * tap tables read here).
 *
 * Each resized axis's taps become static tables (input offsets, weights,
 * extrapolation flags) at file scope; the node's loop nest walks the output
 * and, per element, gathers through the tables and multiplies.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/resize.h"

/* Inference accepted the node, so its plan is computable; if not, that is
 * a compiler bug, reported rather than lowered from an unspecified plan. */
static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

/* An integer output: the accumulator rounded half to even, saturated. */
static void emit_int_store(op_emit *e, hodu_dtype t, const char *ct)
{
    /* round half to even, then saturate */
    const char *lo = "0", *hi = "0";
    switch (t) {
    case HODU_DTYPE_I8:
        lo = "-128.0";
        hi = "127.0";
        break;
    case HODU_DTYPE_U8:
        lo = "0.0";
        hi = "255.0";
        break;
    case HODU_DTYPE_I16:
        lo = "-32768.0";
        hi = "32767.0";
        break;
    case HODU_DTYPE_U16:
        lo = "0.0";
        hi = "65535.0";
        break;
    case HODU_DTYPE_I32:
        lo = "-2147483648.0";
        hi = "2147483647.0";
        break;
    case HODU_DTYPE_U32:
        lo = "0.0";
        hi = "4294967295.0";
        break;
    case HODU_DTYPE_I64:
        lo = "-9223372036854775808.0";
        hi = "9223372036854774784.0";
        break;
    default:
        lo = "0.0";
        hi = "18446744073709549568.0";
        break;
    }
    em_line(e, "double v = rint((double)acc);");
    em_line(e, "v = v < %s ? %s : (v > %s ? %s : v);", lo, lo, hi, hi);
    em_line(e, "*y = (%s)v;", ct);
}

/* --- run-time scales, sizes and roi -------------------------------------------
 *
 * The taps are computed when the model runs, into scratch: per resized
 * axis a table of input offsets (int64) and one of weights (the
 * accumulation type), extrapolation flags, and one row of double weights
 * for the tap being built.  rs<node>_taps is resize_axis_taps written out
 * in C for this node's mode; a value it cannot map returns -1. */

typedef struct rt_layout {
    uint64_t row; /* doubles: the widest axis's taps */
    uint64_t ix[HODU_MAX_RANK], w[HODU_MAX_RANK], ext[HODU_MAX_RANK];
    uint64_t total;
} rt_layout;

static uint64_t up8(uint64_t v) { return (v + 7) & ~(uint64_t)7; }

static void rt_layout_of(const resize_plan *p, size_t wsize, rt_layout *l)
{
    int widest = 2;
    /* every described axis, resized or not: over run-time dims which are
     * resized is only known with the dims' symbols, which the scratch
     * planner's view drops */
    for (int k = 0; k < p->n_axes; k++)
        if (p->max_taps[p->axes[k]] > widest)
            widest = p->max_taps[p->axes[k]];
    uint64_t at = 0;
    l->row = at;
    at += (uint64_t)widest * 8;
    for (int k = 0; k < p->n_axes; k++) {
        int a = p->axes[k];
        uint64_t cells = (uint64_t)p->out[a] * (uint64_t)p->max_taps[a];
        l->ix[a] = at;
        at = up8(at + cells * 8);
        l->w[a] = at;
        at = up8(at + cells * wsize);
        l->ext[a] = at;
        at = up8(at + (uint64_t)p->out[a]);
    }
    l->total = at;
}

static const char *acc_type(hodu_dtype t)
{
    bool is_int = !ir_dtype_is_float(t) && t != HODU_DTYPE_BOOL;
    return (t == HODU_DTYPE_F64 || is_int) ? "double" : "float";
}

static uint64_t scratch_resize(const ir_graph *g, int node)
{
    resize_plan p;
    if (!resize_plan_get(g, node, &p) || !p.at_run_time)
        return 0;
    rt_layout l;
    rt_layout_of(&p, strcmp(acc_type(ir_val(g, ir_nd(g, node)->inputs[0])->dtype), "double") ? 4 : 8, &l);
    return l.total;
}

/* rs<node>_taps(in, out, scale, lo, hi, ident, cap, stride, w, ix, wt, ext):
 * the taps of one axis into ix/wt (cap per output index), the count per
 * index returned; -1 when the mapping leaves range or needs more than cap. */
static void emit_taps_fn(op_emit *e, const resize_plan *p, const char *acc_t)
{
    hd_buf *b = e->decls;
    int N = e->node;
    bool nearest = p->mode == RESIZE_NEAREST;
    hd_buf_printf(b,
                  "static int rs%d_taps(int64_t in, int64_t outn, double scale, double lo, double hi, int ident, "
                  "int cap, int64_t stride, double *restrict w, int64_t *restrict ix, %s *restrict wt, "
                  "unsigned char *restrict ext)\n{\n",
                  N, acc_t);
    hd_buf_puts(b, "    (void)lo;\n    (void)hi;\n");
    hd_buf_puts(b, "    if (ident) {\n"
                   "        for (int64_t y = 0; y < outn; y++) { ix[y] = y * stride; wt[y] = 1; ext[y] = 0; }\n"
                   "        return 1;\n    }\n");
    hd_buf_puts(b, "    const double ow = scale * (double)in;\n    (void)ow;\n");
    if (nearest)
        hd_buf_puts(b, "    const int n = 2;\n    (void)cap;\n");
    else if (!p->antialias)
        hd_buf_printf(b, "    const int n = %d;\n    if (n > cap) return -1;\n", p->mode == RESIZE_LINEAR ? 2 : 4);
    else {
        hd_buf_printf(b,
                      "    const double sa = scale < 1.0 ? scale : 1.0;\n"
                      "    if (!(sa >= %s)) return -1;\n"
                      "    const int64_t st = (int64_t)floor(-%s / sa) + 1;\n"
                      "    if (2 - 2 * st > (int64_t)cap) return -1;\n"
                      "    const int n = (int)(2 - 2 * st);\n",
                      em_f64(RESIZE_MIN_AA_SCALE).s, p->mode == RESIZE_LINEAR ? "1.0" : "2.0");
    }
    hd_buf_puts(b,
                "    for (int64_t y = 0; y < outn; y++) {\n        double x, yd = (double)y;\n        ext[y] = 0;\n");
    switch (p->coord) {
    case RESIZE_ALIGN_CORNERS: hd_buf_puts(b, "        x = ow == 1 ? 0.0 : yd * (double)(in - 1) / (ow - 1);\n"); break;
    case RESIZE_ASYMMETRIC: hd_buf_puts(b, "        x = (double)((float)yd / (float)scale);\n"); break;
    case RESIZE_TF_CROP_AND_RESIZE:
        /* outside X: the output is extrapolation_value, the taps unused */
        hd_buf_puts(b, "        x = ow == 1 ? (hi - lo) * (double)(in - 1) / 2 : yd * (hi - lo) * (double)(in - 1) / "
                       "(ow - 1);\n"
                       "        x += lo * (double)(in - 1);\n"
                       "        if (!(x >= 0 && x <= (double)(in - 1))) { ext[y] = 1; x = 0; }\n");
        break;
    case RESIZE_PYTORCH_HALF_PIXEL:
        hd_buf_puts(b, "        x = ow == 1 ? -0.5 : (double)(((float)yd + 0.5f) / (float)scale - 0.5f);\n");
        break;
    case RESIZE_HALF_PIXEL_SYMMETRIC:
        hd_buf_puts(b, "        const double adj = (double)outn / ow, center = (double)in / 2;\n"
                       "        x = center * (1 - adj) + (yd + 0.5) / scale - 0.5;\n");
        break;
    default:
        hd_buf_puts(b, "        x = (double)(((float)yd + 0.5f) / (float)scale - 0.5f);\n");
        break; /* as rs_axis_taps */
    }
    hd_buf_puts(b, "        if (!(x >= -0x1p50 && x <= 0x1p50)) return -1;\n"
                   "        const double fl = floor(x), ratio = x == fl ? 1.0 : x - fl;\n");
    if (nearest) {
        const char *rule = "0";
        switch (p->nearest) {
        case RESIZE_ROUND_PREFER_FLOOR: rule = "ratio > 0.5"; break;
        case RESIZE_ROUND_PREFER_CEIL: rule = "ratio >= 0.5"; break;
        case RESIZE_FLOOR: rule = "0"; break;
        case RESIZE_CEIL: rule = "1"; break;
        default: rule = "scale < 1.0"; break;
        }
        hd_buf_printf(b,
                      "        const int second = ratio == floor(ratio) ? 1 : (%s);\n"
                      "        w[0] = second ? 0.0 : 1.0;\n        w[1] = second ? 1.0 : 0.0;\n",
                      rule);
    } else if (!p->antialias) {
        if (p->mode == RESIZE_LINEAR)
            hd_buf_puts(b, "        w[0] = 1.0 - ratio;\n        w[1] = ratio;\n");
        else
            hd_buf_printf(b,
                          "        const double A = %s, r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;\n"
                          "        w[0] = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A;\n"
                          "        w[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;\n"
                          "        w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;\n"
                          "        w[3] = ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A;\n",
                          em_f64(p->cubic_a).s);
    } else {
        hd_buf_puts(b, "        double asum = 0;\n        for (int j = 0; j < n; j++) {\n"
                       "            const double arg = ((double)(st + j) - ratio) * sa;\n");
        if (p->mode == RESIZE_LINEAR)
            hd_buf_puts(b, "            double v = 1 - fabs(arg);\n            v = v < 0 ? 0 : (v > 1 ? 1 : v);\n");
        else
            hd_buf_printf(b,
                          "            const double A = %s, ax = fabs(arg), x2 = ax * ax, x3 = x2 * ax;\n"
                          "            const double v = ax <= 1 ? (A + 2) * x3 - (A + 3) * x2 + 1\n"
                          "                           : (ax < 2 ? A * x3 - 5 * A * x2 + 8 * A * ax - 4 * A : 0.0);\n",
                          em_f64(p->cubic_a).s);
        hd_buf_puts(b, "            w[j] = v;\n            asum += v;\n        }\n"
                       "        for (int j = 0; j < n; j++) w[j] /= asum;\n");
    }
    /* the n input indices nearest x, ties to the smaller, edge-clamped */
    hd_buf_puts(b, "        const int pad = (n + 1) / 2;\n"
                   "        const double xp = x + pad, pf = floor(xp), frac = xp - pf;\n"
                   "        int64_t off;\n"
                   "        if (n % 2 == 0) off = frac == 0 ? -(n / 2) : -(n / 2) + 1;\n"
                   "        else off = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;\n"
                   "        const int64_t start = (int64_t)pf + off;\n"
                   "        int64_t kk[2] = {0, 0};\n        (void)kk;\n");
    if (p->exclude)
        hd_buf_puts(b, "        double sum = 0;\n");
    hd_buf_puts(b, "        for (int j = 0; j < n; j++) {\n            const int64_t k = start + j - pad;\n");
    if (p->exclude)
        hd_buf_puts(b, "            if (k < 0 || k >= in) w[j] = 0;\n            sum += w[j];\n");
    hd_buf_puts(b, "            const int64_t c = k < 0 ? 0 : (k >= in ? in - 1 : k);\n");
    if (nearest)
        hd_buf_puts(b, "            kk[j] = c;\n");
    else
        hd_buf_puts(b, "            ix[y * n + j] = c * stride;\n");
    hd_buf_puts(b, "        }\n");
    if (p->exclude)
        hd_buf_puts(b, "        if (sum != 0) for (int j = 0; j < n; j++) w[j] /= sum;\n");
    if (nearest)
        hd_buf_puts(b, "        ix[y] = (w[0] != 0 ? kk[0] : kk[1]) * stride;\n        wt[y] = 1;\n");
    else
        hd_buf_printf(b, "        for (int j = 0; j < n; j++) wt[y * n + j] = (%s)w[j];\n", acc_t);
    hd_buf_printf(b, "    }\n    return %s;\n}\n", nearest ? "1" : "n");
}

/* Reads and checks scales / sizes / roi, then builds the taps of every
 * axis they describe; leaves locals nt<a> (taps per index), rx<a> (offsets),
 * rw<a> (weights) and re<a> (extrapolation flags) for the loops. */
static void emit_run_time_taps(op_emit *e, const resize_plan *p, const char *acc_t)
{
    int r = p->rank, na = p->n_axes;
    rt_layout l;
    rt_layout_of(p, strcmp(acc_t, "double") ? 4 : 8, &l);
    e->can_fail = true;
    emit_taps_fn(e, p, acc_t);
    em_line(e, "double sc[%d], lo[%d], hi[%d];", r, r, r);
    em_for(e, "a", r);
    em_line(e, "sc[a] = 1.0;");
    em_line(e, "lo[a] = 0.0;");
    em_line(e, "hi[a] = 1.0;");
    em_close(e);
    for (int k = 0; k < na; k++) {
        int a = p->axes[k];
        int64_t in = p->in[a], out = p->out[a];
        if (p->scales_input >= 0) {
            /* scales: out = floor(scale * in) must be the declared size */
            em_line(e, "sc[%d] = (double)in%d[%d];", a, p->scales_input, k);
            em_line(e, "if (!(sc[%d] >= %s && sc[%d] <= 0x1p60)) return 1;", a,
                    em_f64(p->antialias ? RESIZE_MIN_AA_SCALE : RESIZE_MIN_SCALE).s, a);
            em_line(e, "if (floor(sc[%d] * %s) != %s) return 1;", a, em_f64((double)in).s, em_f64((double)out).s);
        } else {
            em_line(e, "if (in%d[%d] < 0 || in%d[%d] > (INT64_C(1) << 40)) return 1;", p->sizes_input, k,
                    p->sizes_input, k);
            if (in)
                em_line(e, "sc[%d] = in%d[%d] ? (double)in%d[%d] / %s : 1.0;", a, p->sizes_input, k, p->sizes_input, k,
                        em_f64((double)in).s);
            em_line(e, "if (sc[%d] < %s) return 1;", a, em_f64(RESIZE_MIN_SCALE).s);
            if (!p->keep_aspect)
                em_line(e, "if (in%d[%d] != %" PRId64 ") return 1;", p->sizes_input, k, out);
        }
        if (p->roi_input >= 0) {
            em_line(e, "lo[%d] = (double)in%d[%d];", a, p->roi_input, k);
            em_line(e, "hi[%d] = (double)in%d[%d];", a, p->roi_input, na + k);
            em_line(e, "if (!isfinite(lo[%d]) || !isfinite(hi[%d])) return 1;", a, a);
        }
    }
    if (p->keep_aspect) {
        /* one scale for every axis: the smallest (not_larger) or largest */
        em_line(e, "{");
        e->indent++;
        em_line(e, "double s = sc[%d];", p->axes[0]);
        for (int k = 1; k < na; k++)
            em_line(e, "if (sc[%d] %s s) s = sc[%d];", p->axes[k], p->not_larger ? "<" : ">", p->axes[k]);
        for (int k = 0; k < na; k++) {
            int a = p->axes[k];
            em_line(e, "sc[%d] = s;", a);
            em_line(e, "if (!(s * %s + 0.5 <= 0x1p40) || (int64_t)(s * %s + 0.5) != %" PRId64 ") return 1;",
                    em_f64((double)p->in[a]).s, em_f64((double)p->in[a]).s, p->out[a]);
        }
        if (p->antialias)
            em_line(e, "if (s < %s) return 1;", em_f64(RESIZE_MIN_AA_SCALE).s);
        e->indent--;
        em_line(e, "}");
    } else if (p->antialias && p->scales_input < 0) {
        for (int k = 0; k < na; k++)
            em_line(e, "if (sc[%d] < %s) return 1;", p->axes[k], em_f64(RESIZE_MIN_AA_SCALE).s);
    }
    em_line(e, "double *rrow = (double *)(void *)(scratch + %" PRIu64 ");", l.row);
    for (int a = 0; a < r; a++) {
        if (!p->resized[a])
            continue;
        int64_t istride = 1;
        for (int i = a + 1; i < r; i++)
            istride *= p->in[i];
        em_line(e, "int64_t *rx%d = (int64_t *)(void *)(scratch + %" PRIu64 ");", a, l.ix[a]);
        em_line(e, "%s *rw%d = (%s *)(void *)(scratch + %" PRIu64 ");", acc_t, a, acc_t, l.w[a]);
        em_line(e, "unsigned char *re%d = scratch + %" PRIu64 ";", a, l.ext[a]);
        char ident[160];
        if (p->out[a] != p->in[a])
            snprintf(ident, sizeof ident, "0");
        else if (p->roi_input >= 0)
            snprintf(ident, sizeof ident,
                     "fabs(sc[%d] - 1.0) <= 1e-9 && fabs(lo[%d]) <= 1e-9 && fabs(hi[%d] - 1.0) <= 1e-9", a, a, a);
        else
            snprintf(ident, sizeof ident, "fabs(sc[%d] - 1.0) <= 1e-9", a);
        em_line(e,
                "const int64_t nt%d = rs%d_taps(%" PRId64 ", %" PRId64 ", sc[%d], lo[%d], hi[%d], %s, %d, %" PRId64
                ", rrow, rx%d, rw%d, re%d);",
                a, e->node, p->in[a], p->out[a], a, a, a, ident, p->max_taps[a], istride, a, a, a);
        em_line(e, "if (nt%d < 0) return 1;", a);
        em_line(e, "(void)rw%d;", a);
        em_line(e, "(void)re%d;", a);
    }
}

static const char *const OUT_VARS[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};

/* Opens the loops over the output (o0, o1, ...): to[] is the output's
 * offset, tb[] the input's for the dims not resized (the taps give the
 * rest). */
static void open_out_loops(op_emit *e, const resize_plan *p, em_term *tb, em_term *to)
{
    int r = p->rank;
    int64_t istride[HODU_MAX_RANK], ostride[HODU_MAX_RANK], s1 = 1, s2 = 1;
    for (int i = r - 1; i >= 0; i--) {
        istride[i] = s1;
        ostride[i] = s2;
        s1 *= p->in[i];
        s2 *= p->out[i];
    }
    for (int a = 0; a < r; a++) {
        em_for(e, OUT_VARS[a], p->out[a]);
        tb[a] = (em_term){OUT_VARS[a], p->resized[a] ? 0 : istride[a]};
        to[a] = (em_term){OUT_VARS[a], ostride[a]};
    }
}

/* Opens a loop over each resized axis's run-time taps: `off` gets the
 * input offset they read, `wt` the product of their weights (each cast
 * to `wcast` unless NULL); returns the loops opened. */
static int open_tap_loops(op_emit *e, const resize_plan *p, const char *wcast, hd_buf *off, hd_buf *wt)
{
    int opened = 0;
    for (int a = 0; a < p->rank; a++) {
        if (!p->resized[a])
            continue;
        em_line(e, "for (int64_t t%d = 0; t%d < nt%d; t%d++) {", a, a, a, a);
        e->indent++;
        opened++;
        em_line(e, "const int64_t j%d = %s * nt%d + t%d;", a, OUT_VARS[a], a, a);
        hd_buf_printf(off, "%srx%d[j%d]", off->len ? " + " : "", a, a);
        if (wcast)
            hd_buf_printf(wt, "%s(%s)rw%d[j%d]", wt->len ? " * " : "", wcast, a, a);
        else
            hd_buf_printf(wt, "%srw%d[j%d]", wt->len ? " * " : "", a, a);
    }
    return opened;
}

/* *y = acc, rounded and saturated for an integer type. */
static void emit_store_acc(op_emit *e, hodu_dtype t)
{
    if (!ir_dtype_is_float(t) && t != HODU_DTYPE_BOOL) {
        emit_int_store(e, t, em_ctype(t));
        return;
    }
    char *sv = em_store(t, "acc");
    em_line(e, "*y = %s;", sv);
    free(sv);
}

/* Inside the loops over the output (y and xb set): *y from the run-time
 * taps of each resized axis. */
static void emit_tap_sum(op_emit *e, const resize_plan *p, hodu_dtype t, const char *acc_t)
{
    hd_buf off;
    hd_buf_init(&off);
    if (p->mode == RESIZE_NEAREST) {
        for (int a = 0; a < p->rank; a++)
            if (p->resized[a])
                hd_buf_printf(&off, "%srx%d[%s]", off.len ? " + " : "", a, OUT_VARS[a]);
        em_line(e, "*y = xb[%s];", off.len ? off.data : "0");
        hd_buf_free(&off);
        return;
    }
    em_line(e, "%s acc = 0;", acc_t);
    hd_buf wt;
    hd_buf_init(&wt);
    int opened = open_tap_loops(e, p, NULL, &off, &wt);
    char *lx = em_load(t, "xb[q]");
    em_line(e, "const int64_t q = %s;", off.len ? off.data : "0");
    em_line(e, "acc += (%s) * (%s)%s;", wt.len ? wt.data : "1", acc_t, lx);
    free(lx);
    for (int i = 0; i < opened; i++) {
        e->indent--;
        em_line(e, "}");
    }
    emit_store_acc(e, t);
    hd_buf_free(&off);
    hd_buf_free(&wt);
}

/* The loops over the output with the run-time tables. */
static void emit_run_time_loops(op_emit *e, const resize_plan *p, hodu_dtype t, const char *acc_t)
{
    int r = p->rank;
    const char *ct = em_ctype(t);
    em_term tb[HODU_MAX_RANK], to[HODU_MAX_RANK];
    open_out_loops(e, p, tb, to);
    em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, (size_t)r, to).s);
    em_line(e, "const %s *xb = %s;", ct, em_offset("in0", 0, (size_t)r, tb).s);
    if (p->coord == RESIZE_TF_CROP_AND_RESIZE) {
        hd_buf cond;
        hd_buf_init(&cond);
        for (int a = 0; a < r; a++)
            if (p->resized[a])
                hd_buf_printf(&cond, "%sre%d[%s]", cond.len ? " || " : "", a, OUT_VARS[a]);
        char lit[64];
        snprintf(lit, sizeof(lit), "(%s)%s", acc_t, em_f64(p->extrap).s);
        char *sv = em_store(t, lit);
        em_line(e, "if (%s) { *y = %s; continue; }", cond.len ? cond.data : "0", sv);
        free(sv);
        hd_buf_free(&cond);
    }
    emit_tap_sum(e, p, t, acc_t);
    for (int a = 0; a < r; a++)
        em_close(e);
}

/* hodu.ResizeGrad: dX = 0, then each dY element (input 4) added into the
 * inputs its run-time taps read, weighted (tf_crop_and_resize's
 * extrapolated outputs read none). */
static bool emit_resize_grad(op_emit *e)
{
    resize_plan p;
    if (!resize_plan_get(e->g, e->node, &p) || !p.at_run_time)
        return no_plan(e, "resize gradient");
    hodu_dtype t = em_in(e, 0)->dtype;
    const char *ct = em_ctype(t), *acc_t = acc_type(t);
    int r = p.rank;
    emit_run_time_taps(e, &p, acc_t);
    em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++) out0[i] = 0;", ir_value_numel(em_out(e, 0)));
    if (ir_value_numel(em_in(e, 4)) == 0)
        return true;
    em_term tb[HODU_MAX_RANK], to[HODU_MAX_RANK];
    open_out_loops(e, &p, tb, to);
    em_line(e, "const %s dy = (%s)in4[%s];", acc_t, acc_t, em_index(0, (size_t)r, to).s);
    em_line(e, "%s *xb = %s;", ct, em_offset("out0", 0, (size_t)r, tb).s);
    hd_buf off, wt, ext;
    hd_buf_init(&off);
    hd_buf_init(&wt);
    hd_buf_init(&ext);
    for (int a = 0; a < r; a++)
        if (p.resized[a] && p.coord == RESIZE_TF_CROP_AND_RESIZE)
            hd_buf_printf(&ext, "%sre%d[%s]", ext.len ? " || " : "", a, OUT_VARS[a]);
    if (ext.len)
        em_line(e, "if (%s) continue;", ext.data);
    int opened = open_tap_loops(e, &p, acc_t, &off, &wt);
    em_line(e, "xb[%s] += (%s)((%s) * dy);", off.len ? off.data : "0", ct, wt.len ? wt.data : "1");
    for (int i = 0; i < opened; i++) {
        e->indent--;
        em_line(e, "}");
    }
    hd_buf_free(&off);
    hd_buf_free(&wt);
    hd_buf_free(&ext);
    for (int a = 0; a < r; a++)
        em_close(e);
    return true;
}

static bool emit_resize(op_emit *e)
{
    resize_plan p;
    if (!resize_plan_get(e->g, e->node, &p))
        return no_plan(e, "resize");
    if (p.at_run_time) {
        hodu_dtype t = em_in(e, 0)->dtype;
        const char *acc_t = acc_type(t);
        emit_run_time_taps(e, &p, acc_t);
        if (ir_value_numel(em_out(e, 0)) != 0)
            emit_run_time_loops(e, &p, t, acc_t);
        return true;
    }
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    hodu_dtype t = x->dtype;
    int r = p.rank;
    const ir_node *n = em_node(e);
    if (n->op == OP_RESIZE && n->n_inputs > 3 && n->inputs[3] >= 0 && em_in(e, 3)->kind != IR_VALUE_CONST) {
        /* sizes given at run time: they must be the declared output's */
        e->can_fail = true;
        size_t na = 0;
        const int64_t *axes = ir_attr_ints(n, "axes", &na);
        for (int64_t i = 0; i < em_in(e, 3)->dims[0].size; i++) {
            int64_t a = axes ? axes[i] : i;
            a += a < 0 ? r : 0;
            em_line(e, "if (in3[%" PRId64 "] != %" PRId64 ") return 1;", i, out->dims[a].size);
        }
    }
    if (ir_value_numel(out) == 0)
        return true;
    const char *ct = em_ctype(t);
    bool dbl = t == HODU_DTYPE_F64;
    bool is_int = !ir_dtype_is_float(t) && t != HODU_DTYPE_BOOL;
    const char *acc_t = (dbl || is_int) ? "double" : "float";
    int64_t istride[HODU_MAX_RANK], ostride[HODU_MAX_RANK];
    int64_t s1 = 1, s2 = 1;
    for (int i = r - 1; i >= 0; i--) {
        istride[i] = s1;
        ostride[i] = s2;
        s1 *= p.in[i];
        s2 *= p.out[i];
    }
    int ntap[HODU_MAX_RANK];
    bool any_ext = false;
    bool ext_ax[HODU_MAX_RANK] = {false};
    /* rs<node>_o<axis>: input offsets, _w<axis>: weights (absent for one
     * tap), _e<axis>: extrapolation flags (only where some are set) */
    for (int a = 0; a < r; a++) {
        if (!p.resized[a])
            continue;
        resize_taps tp;
        resize_axis_taps(&p, a, &tp);
        int64_t on = tp.count;
        int keep = tp.n;
        ext_ax[a] = tp.any_ext;
        any_ext |= ext_ax[a];
        ntap[a] = keep;
        hd_buf_printf(e->decls, "static const int64_t rs%d_o%d[%" PRId64 "] = {", e->node, a, on * keep);
        for (int64_t k = 0; k < on * keep; k++)
            hd_buf_printf(e->decls, "%s%" PRId64, k ? (k % 16 ? ", " : ",\n    ") : "", tp.idx[k] * istride[a]);
        hd_buf_puts(e->decls, "};\n");
        if (keep > 1) {
            hd_buf_printf(e->decls, "static const %s rs%d_w%d[%" PRId64 "] = {", acc_t, e->node, a, on * keep);
            for (int64_t k = 0; k < on * keep; k++)
                hd_buf_printf(e->decls, "%s%s", k ? (k % 8 ? ", " : ",\n    ") : "", em_f64(tp.w[k]).s);
            hd_buf_puts(e->decls, "};\n");
        }
        if (ext_ax[a]) {
            hd_buf_printf(e->decls, "static const unsigned char rs%d_e%d[%" PRId64 "] = {", e->node, a, on);
            for (int64_t k = 0; k < on; k++)
                hd_buf_printf(e->decls, "%s%d", k ? (k % 32 ? ", " : ",\n    ") : "", tp.ext[k]);
            hd_buf_puts(e->decls, "};\n");
        }
        resize_taps_free(&tp);
    }
    static const char *const TV[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
    /* Output loops; per resized dim the table offset base, per plain dim
     * the input offset. */
    em_term tb[HODU_MAX_RANK], to[HODU_MAX_RANK];
    for (int a = 0; a < r; a++) {
        em_for(e, OUT_VARS[a], p.out[a]);
        tb[a] = (em_term){OUT_VARS[a], p.resized[a] ? 0 : istride[a]};
        to[a] = (em_term){OUT_VARS[a], ostride[a]};
    }
    em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, (size_t)r, to).s);
    em_line(e, "const %s *xb = %s;", ct, em_offset("in0", 0, (size_t)r, tb).s);
    if (any_ext) {
        hd_buf cond;
        hd_buf_init(&cond);
        for (int a = 0; a < r; a++)
            if (ext_ax[a])
                hd_buf_printf(&cond, "%srs%d_e%d[%s]", cond.len ? " || " : "", e->node, a, OUT_VARS[a]);
        char lit[64];
        snprintf(lit, sizeof(lit), "(%s)%s", acc_t, em_f64(p.extrap).s);
        char *sv = em_store(t, lit);
        em_line(e, "if (%s) { *y = %s; continue; }", cond.data, sv);
        free(sv);
        hd_buf_free(&cond);
    }
    if (p.mode == RESIZE_NEAREST) {
        hd_buf off;
        hd_buf_init(&off);
        for (int a = 0; a < r; a++)
            if (p.resized[a])
                hd_buf_printf(&off, "%srs%d_o%d[%s]", off.len ? " + " : "", e->node, a, OUT_VARS[a]);
        em_line(e, "*y = xb[%s];", off.len ? off.data : "0");
        hd_buf_free(&off);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        int opened = 0;
        hd_buf off, wt;
        hd_buf_init(&off);
        hd_buf_init(&wt);
        for (int a = 0; a < r; a++) {
            if (!p.resized[a])
                continue;
            em_for(e, TV[a], ntap[a]);
            opened++;
            em_line(e, "const int64_t j%d = %s;", a, em_index(0, EM_TERMS({OUT_VARS[a], ntap[a]}, {TV[a], 1})).s);
            hd_buf_printf(&off, "%srs%d_o%d[j%d]", off.len ? " + " : "", e->node, a, a);
            hd_buf_printf(&wt, "%srs%d_w%d[j%d]", wt.len ? " * " : "", e->node, a, a);
        }
        char *lx = em_load(t, "xb[q]");
        em_line(e, "const int64_t q = %s;", off.len ? off.data : "0");
        em_line(e, "acc += (%s) * (%s)%s;", wt.len ? wt.data : "1", acc_t, lx);
        free(lx);
        for (int i = 0; i < opened; i++)
            em_close(e);
        emit_store_acc(e, t);
        hd_buf_free(&off);
        hd_buf_free(&wt);
    }
    for (int a = 0; a < r; a++)
        em_close(e);
    return true;
}

/* The general path (ir_node.rt_general): X's and Y's dims are read in
 * the run, and so are the taps of each resized axis (resize_plan.rt_dims).
 * Sizes, when given, must be Y's dims in this run. */
static bool emit_resize_rt(op_emit *e)
{
    resize_plan p;
    if (!resize_plan_get(e->g, e->node, &p) || !p.rt_dims)
        return no_plan(e, "run-time resize");
    const ir_graph *g = e->g;
    const ir_value *x = em_in(e, 0), *y = em_out(e, 0);
    hodu_dtype t = x->dtype;
    const char *ct = em_ctype(t), *acc_t = acc_type(t);
    int r = p.rank;
    rt_layout l;
    rt_layout_of(&p, strcmp(acc_t, "double") ? 4 : 8, &l);
    e->can_fail = true;
    emit_taps_fn(e, &p, acc_t);
    /* sizes the run computes (data symbols): within the bounds the build
     * derived, then this run's dims of Y, which the loops below read */
    for (int k = 0; k < p.n_axes; k++) {
        int a = p.axes[k];
        int64_t lo, hi;
        if (!y->dims[a].data_dep || !y->dims[a].rt || !ir_graph_symbol_range(g, y->dims[a].sym, &lo, &hi))
            continue;
        e->check_why = "its sizes are outside the range the build derived for them";
        em_line(e, "if (in%d[%d] < INT64_C(%" PRId64 ") || in%d[%d] > INT64_C(%" PRId64 ")) return 1;", p.sizes_input,
                k, lo, p.sizes_input, k, hi);
        em_line(e, "rtd[%d] = dims0[%d] = in%d[%d];", em_rt_index(g, y->dims[a].sym), a, p.sizes_input, k);
    }
    for (int a = 0; a < r; a++) {
        hd_buf is, os;
        hd_buf_init(&is);
        hd_buf_init(&os);
        em_rt_elems(g, x, a, &is);
        em_rt_elems(g, y, a, &os);
        em_line(e, "const int64_t ni%d = %s, no%d = %s, is%d = %s, os%d = %s;", a, em_dim(g, x, a).s, a,
                em_dim(g, y, a).s, a, is.data, a, os.data);
        em_line(e, "(void)ni%d;", a);
        hd_buf_free(&is);
        hd_buf_free(&os);
    }
    for (int k = 0; k < p.n_axes; k++) {
        int a = p.axes[k];
        if (p.sizes_input >= 0)
            em_line(e, "if (in%d[%d] != no%d) return 1;", p.sizes_input, k, a);
        if (!p.resized[a])
            continue;
        em_line(e, "if (ni%d == 0 && no%d > 0) return 1;", a, a);
    }
    em_line(e, "double *rrow = (double *)(void *)(scratch + %" PRIu64 ");", l.row);
    for (int a = 0; a < r; a++) {
        if (!p.resized[a])
            continue;
        char sc[96];
        if (p.sizes_input >= 0)
            snprintf(sc, sizeof sc, "ni%d ? (double)no%d / (double)ni%d : 1.0", a, a, a);
        else
            snprintf(sc, sizeof sc, "%s", em_f64(p.scale[a]).s);
        em_line(e, "const double sc%d = %s;", a, sc);
        em_line(e, "int64_t *rx%d = (int64_t *)(void *)(scratch + %" PRIu64 ");", a, l.ix[a]);
        em_line(e, "%s *rw%d = (%s *)(void *)(scratch + %" PRIu64 ");", acc_t, a, acc_t, l.w[a]);
        em_line(e, "unsigned char *re%d = scratch + %" PRIu64 ";", a, l.ext[a]);
        /* an axis whose size the run leaves as it is, unscaled: one tap */
        em_line(e,
                "const int64_t nt%d = rs%d_taps(ni%d, no%d, sc%d, 0.0, 1.0, ni%d == no%d && fabs(sc%d - 1.0) <= "
                "1e-9, %d, is%d, rrow, rx%d, rw%d, re%d);",
                a, e->node, a, a, a, a, a, a, p.max_taps[a], a, a, a, a);
        em_line(e, "if (nt%d < 0) return 1;", a);
        em_line(e, "(void)rw%d;", a);
        em_line(e, "(void)re%d;", a);
    }
    /* the loops over Y; X's offset for the axes not resized (the taps
     * carry the rest) */
    hd_buf yo, xo;
    hd_buf_init(&yo);
    hd_buf_init(&xo);
    for (int a = 0; a < r; a++) {
        char n[16];
        snprintf(n, sizeof n, "no%d", a);
        em_for_rt(e, OUT_VARS[a], n);
        hd_buf_printf(&yo, "%s%s * os%d", yo.len ? " + " : "", OUT_VARS[a], a);
        if (!p.resized[a])
            hd_buf_printf(&xo, "%s%s * is%d", xo.len ? " + " : "", OUT_VARS[a], a);
    }
    em_line(e, "%s *y = out0 + %s;", ct, yo.len ? yo.data : "0");
    em_line(e, "const %s *xb = in0 + %s;", ct, xo.len ? xo.data : "0");
    hd_buf_free(&yo);
    hd_buf_free(&xo);
    emit_tap_sum(e, &p, t, acc_t);
    for (int a = 0; a < r; a++)
        em_close(e);
    return true;
}

void native_register_nn_resize(native_lowering *table)
{
    table[OP_RESIZE] = (native_lowering){.emit = emit_resize, .emit_rt = emit_resize_rt, .scratch = scratch_resize};
    table[OP_UPSAMPLE] = (native_lowering){.emit = emit_resize, .emit_rt = emit_resize_rt, .scratch = scratch_resize};
    table[OP_RESIZE_GRAD] = (native_lowering){.emit = emit_resize_grad, .scratch = scratch_resize};
}
