/*
 * ops/nn_resize.c - Resize and Upsample (part of the nn family; the table
 * entries are in nn.c).
 *
 * Resize(X, roi, scales, sizes) -> Y.  Opset 10 takes (X, scales) and maps
 * coordinates like Upsample (asymmetric; nearest rounds down when
 * upsampling, up when downsampling); opset 11 adds roi, sizes and the
 * attributes coordinate_transformation_mode, cubic_coeff_a,
 * exclude_outside, extrapolation_value, nearest_mode; opset 18 adds axes,
 * antialias and keep_aspect_ratio_policy; opset 19 the
 * half_pixel_symmetric mode.  Scales and sizes (and roi, for
 * tf_crop_and_resize) must be build-time constants: they fix the output
 * shape.
 *
 * Resizing is separable: each resized axis maps an output index to a few
 * input indices (edge-clamped) with weights, and an output element is the
 * sum over the product of its axes' taps.  The compiler computes every
 * axis's taps on the host, in double, following the ONNX definition
 * (nearest: 1 tap, linear: 2, cubic: 4, antialias: widened by 1/scale) and
 * writes them as static tables; the generated loop only gathers and
 * multiplies.  Integer outputs round half to even and saturate.
 *
 * Upsample (opsets 7-9, deprecated): scales as an attribute (7) or an
 * input (9), modes nearest / linear, the same mapping as Resize-10.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_CROP, CT_HALF_PIXEL_SYM };
enum { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };

typedef struct rs_plan {
    int rank;
    int64_t in[HODU_MAX_RANK], out[HODU_MAX_RANK];
    double scale[HODU_MAX_RANK];
    double roi_lo[HODU_MAX_RANK], roi_hi[HODU_MAX_RANK];
    bool resized[HODU_MAX_RANK];
    int mode, ctm, nearest;
    double cubic_a, extrap;
    bool exclude, antialias;
} rs_plan;

static bool rs_names(op_ctx *c, rs_plan *p)
{
    const ir_node *n = op_node(c);
    const char *mode = ir_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        p->mode = RS_NEAREST;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
        p->mode = RS_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && n->op == OP_RESIZE)
        p->mode = RS_CUBIC;
    else
        return op_fail(c, "attribute 'mode' value '%s' is not supported", mode);
    bool legacy = n->op == OP_UPSAMPLE || c->g->opset < 11;
    if (legacy) {
        p->ctm = CT_ASYMMETRIC;
        p->nearest = NM_SIMPLE;
    } else {
        const char *ct = ir_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        static const char *const cts[] = {"half_pixel",         "pytorch_half_pixel", "align_corners",
                                          "asymmetric",         "tf_crop_and_resize", "half_pixel_symmetric"};
        p->ctm = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(ct, cts[i]) == 0)
                p->ctm = i;
        if (p->ctm < 0)
            return op_fail(c, "attribute 'coordinate_transformation_mode' value '%s' is not supported", ct);
        const char *nm = ir_attr_string(n, "nearest_mode", "round_prefer_floor");
        static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
        p->nearest = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(nm, nms[i]) == 0)
                p->nearest = i;
        if (p->nearest < 0)
            return op_fail(c, "attribute 'nearest_mode' value '%s' is not supported", nm);
    }
    p->cubic_a = ir_attr_float(n, "cubic_coeff_a", -0.75);
    p->extrap = ir_attr_float(n, "extrapolation_value", 0.0);
    p->exclude = ir_attr_int(n, "exclude_outside", 0) != 0;
    p->antialias = ir_attr_int(n, "antialias", 0) != 0;
    if (p->antialias && p->mode == RS_NEAREST)
        return op_fail(c, "attribute 'antialias' is not supported with mode 'nearest'");
    return true;
}

/* Input i as doubles (a build-time constant); same messages as
 * op_need_const_i64.  -1 on failure (reported). */
static long rs_const_f64(op_ctx *c, size_t i, double *out, size_t max, const char *what)
{
    int id = op_in_id(c, i);
    const ir_value *v = ir_val(c->g, id);
    if (v->kind == IR_VALUE_INPUT) {
        op_fail(c, "needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)", v->name,
                v->name);
        return -1;
    }
    if (v->kind != IR_VALUE_CONST) {
        op_fail(c, "%s ('%s') must be a build-time constant; it is computed at run time", what, v->name);
        return -1;
    }
    long n = ir_const_as_f64(c->g, id, out, max);
    if (n < 0)
        op_fail(c, "%s ('%s') must be a numeric tensor of at most %zu elements", what, v->name, max);
    return n;
}

/* Present and non-empty. */
static bool rs_has(op_ctx *c, size_t i)
{
    const ir_value *v = op_in(c, i);
    return v && ir_value_numel(v) != 0;
}

static bool rs_dtype_ok(hodu_dtype t, int mode)
{
    switch (t) {
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16:
    case HODU_DTYPE_F32:
    case HODU_DTYPE_F64:
    case HODU_DTYPE_I8:
    case HODU_DTYPE_U8:
    case HODU_DTYPE_I16:
    case HODU_DTYPE_U16:
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32:
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return true;
    case HODU_DTYPE_BOOL: return mode == RS_NEAREST;
    default: return false;
    }
}

static int rs_ntaps(const rs_plan *p, int axis);

static bool rs_get(op_ctx *c, rs_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    memset(p, 0, sizeof(*p));
    if (!rs_names(c, p))
        return false;
    if (!rs_dtype_ok(x->dtype, p->mode))
        return op_fail(c, "type %s is not supported", ir_dtype_name(x->dtype));
    const ir_node *n = op_node(c);
    int r = x->rank;
    p->rank = r;
    for (int i = 0; i < r; i++) {
        p->in[i] = x->dims[i].size;
        p->roi_lo[i] = 0.0;
        p->roi_hi[i] = 1.0;
    }
    /* axes (opset 18): which dims scales/sizes/roi describe */
    int axes[HODU_MAX_RANK], na = r;
    size_t nax = 0;
    const int64_t *ax = ir_attr_ints(n, "axes", &nax);
    if (ax) {
        if (nax == 0 || nax > (size_t)r)
            return op_fail(c, "attribute 'axes' has %zu values for rank %d", nax, r);
        na = (int)nax;
        for (int i = 0; i < na; i++) {
            if (!op_axis(c, ax[i], r, &axes[i]))
                return false;
            for (int j = 0; j < i; j++)
                if (axes[j] == axes[i])
                    return op_fail(c, "attribute 'axes' repeats axis %d", axes[i]);
        }
    } else {
        for (int i = 0; i < r; i++)
            axes[i] = i;
    }
    double scales[HODU_MAX_RANK];
    int64_t sizes[HODU_MAX_RANK];
    double roi[2 * HODU_MAX_RANK];
    bool have_scales = false, have_sizes = false, ok = true;
    bool upsample = n->op == OP_UPSAMPLE;
    if (upsample && c->g->opset < 9) {
        size_t ns = 0;
        const ir_attr *a = ir_attr_find(n, "scales");
        if (!a || a->kind != IR_ATTR_FLOATS)
            return op_fail(c, "attribute 'scales' is required");
        ns = a->n;
        if (ns != (size_t)r)
            return op_fail(c, "attribute 'scales' has %zu values for rank %d", ns, r);
        for (int i = 0; i < r; i++)
            scales[i] = (float)a->floats[i];
        have_scales = true;
    } else if (upsample || c->g->opset < 11) {
        if (!op_in(c, 1))
            return op_fail(c, "input 1 (scales) is required");
        long k = rs_const_f64(c, 1, scales, HODU_MAX_RANK, "scales");
        if (k < 0)
            return false;
        if (k != r)
            return op_fail(c, "scales has %ld values for rank %d", k, r);
        for (int i = 0; i < r; i++)
            scales[i] = (float)scales[i];
        have_scales = true;
    } else {
        /* Report every non-constant input at once. */
        if (p->ctm == CT_TF_CROP && rs_has(c, 1)) {
            long k = rs_const_f64(c, 1, roi, 2 * HODU_MAX_RANK, "roi");
            if (k < 0)
                ok = false;
            else if (k != 2 * na)
                return op_fail(c, "roi has %ld values; expected %d", k, 2 * na);
            else
                for (int i = 0; i < na; i++) {
                    p->roi_lo[axes[i]] = roi[i];
                    p->roi_hi[axes[i]] = roi[na + i];
                }
        } else if (p->ctm == CT_TF_CROP) {
            return op_fail(c, "coordinate_transformation_mode 'tf_crop_and_resize' needs the roi input");
        }
        if (rs_has(c, 2)) {
            long k = rs_const_f64(c, 2, scales, HODU_MAX_RANK, "scales");
            if (k < 0)
                ok = false;
            else if (k != na)
                return op_fail(c, "scales has %ld values; expected %d", k, na);
            else {
                /* scales are float32 (or wider) tensors: keep their value */
                have_scales = true;
            }
        }
        if (rs_has(c, 3)) {
            long k = op_need_const_i64(c, 3, sizes, HODU_MAX_RANK, "sizes");
            if (k < 0)
                ok = false;
            else if (k != na)
                return op_fail(c, "sizes has %ld values; expected %d", k, na);
            else
                have_sizes = true;
        }
        if (!ok)
            return false;
        if (have_scales && have_sizes)
            return op_fail(c, "only one of scales and sizes may be given");
        if (!have_scales && !have_sizes)
            return op_fail(c, "one of scales and sizes is required");
    }
    if (!ok)
        return false;
    /* Scales and output sizes per dim. */
    for (int i = 0; i < r; i++) {
        p->scale[i] = 1.0;
        p->out[i] = p->in[i];
    }
    bool on_axis[HODU_MAX_RANK] = {false};
    for (int i = 0; i < na; i++)
        on_axis[axes[i]] = true;
    if (have_scales) {
        for (int i = 0; i < na; i++) {
            double s = scales[i];
            if (!(s > 0) || !isfinite(s))
                return op_fail(c, "scale %g for axis %d must be positive", s, axes[i]);
            /* Tap counts and source coordinates divide by the scale; below
             * 2^-24 they would leave int64 (no real model shrinks that far). */
            if (s < 0x1p-24)
                return op_fail(c, "scale %g for axis %d is too small (at least 2^-24)", s, axes[i]);
            double o = floor(s * (double)p->in[axes[i]]);
            if (o > (double)((int64_t)1 << 40))
                return op_fail(c, "scale %g makes axis %d too large", s, axes[i]);
            p->scale[axes[i]] = s;
            p->out[axes[i]] = (int64_t)o;
        }
    } else {
        for (int i = 0; i < na; i++) {
            if (sizes[i] < 0 || sizes[i] > ((int64_t)1 << 40))
                return op_fail(c, "sizes value %" PRId64 " for axis %d is out of range", sizes[i], axes[i]);
            int a = axes[i];
            p->out[a] = sizes[i];
            p->scale[a] = p->in[a] && sizes[i] ? (double)sizes[i] / (double)p->in[a] : 1.0;
            if (p->scale[a] < 0x1p-24)
                return op_fail(c, "sizes value %" PRId64 " for axis %d shrinks it too far (scale at least 2^-24)",
                               sizes[i], a);
        }
        const char *pol = ir_attr_string(n, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(pol, "stretch") != 0) {
            bool larger = strcmp(pol, "not_larger") == 0;
            if (!larger && strcmp(pol, "not_smaller") != 0)
                return op_fail(c, "attribute 'keep_aspect_ratio_policy' value '%s' is not supported", pol);
            double s = p->scale[axes[0]];
            for (int i = 1; i < na; i++) {
                double t = p->scale[axes[i]];
                if (larger ? t < s : t > s)
                    s = t;
            }
            for (int i = 0; i < na; i++) {
                int a = axes[i];
                p->scale[a] = s;
                double o = s * (double)p->in[a] + 0.5;
                if (!(o <= (double)((int64_t)1 << 40)))
                    return op_fail(c, "keep_aspect_ratio_policy makes axis %d too large", a);
                p->out[a] = (int64_t)o;
            }
        }
    }
    for (int i = 0; i < r; i++) {
        if (!on_axis[i])
            continue;
        bool ident = fabs(p->scale[i] - 1.0) <= 1e-9 && p->out[i] == p->in[i] &&
                     (p->ctm != CT_TF_CROP || (fabs(p->roi_lo[i]) <= 1e-9 && fabs(p->roi_hi[i] - 1.0) <= 1e-9));
        p->resized[i] = !ident;
        if (p->resized[i] && p->in[i] == 0 && p->out[i] > 0)
            return op_fail(c, "cannot resize an empty axis %d to %" PRId64, i, p->out[i]);
    }
    /* the per-axis tap tables are generated code: keep them bounded */
    for (int i = 0; i < r; i++) {
        if (p->resized[i] && p->antialias && p->scale[i] < 1.0 / 4096)
            return op_fail(c, "antialias with scale %g on axis %d is not supported", p->scale[i], i);
        if (p->resized[i] && p->out[i] * rs_ntaps(p, i) > ((int64_t)1 << 24))
            return op_fail(c, "output axis %d (%" PRId64 ") is too large to resize", i, p->out[i]);
    }
    return true;
}

bool nn_infer_resize(op_ctx *c)
{
    rs_plan p;
    if (!rs_get(c, &p))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, p.rank, p.out);
    return true;
}

/* --- taps ------------------------------------------------------------------- */

static double cubic_w(double x, double A)
{
    x = fabs(x);
    double x2 = x * x, x3 = x2 * x;
    if (x <= 1)
        return (A + 2) * x3 - (A + 3) * x2 + 1;
    if (x < 2)
        return A * x3 - 5 * A * x2 + 8 * A * x - 4 * A;
    return 0.0;
}

/* Number of taps per output index along a resized axis. */
static int rs_ntaps(const rs_plan *p, int axis)
{
    if (p->mode == RS_NEAREST)
        return 2;
    if (!p->antialias)
        return p->mode == RS_LINEAR ? 2 : 4;
    double s = p->scale[axis] < 1.0 ? p->scale[axis] : 1.0;
    if (p->mode == RS_LINEAR) {
        int64_t start = (int64_t)floor(-1.0 / s) + 1;
        return (int)(2 - 2 * start);
    }
    int64_t start = (int64_t)floor(-2.0 / s) + 1;
    return (int)(2 - 2 * start);
}

/* Coefficients for one output index (ratio in (0, 1]). */
static void rs_coeffs(const rs_plan *p, int axis, double ratio, int n, double *w)
{
    double scale = p->scale[axis];
    if (p->mode == RS_NEAREST) {
        bool second;
        if (ratio == floor(ratio))
            second = true;
        else
            switch (p->nearest) {
            case NM_PREFER_FLOOR: second = ratio > 0.5; break;
            case NM_PREFER_CEIL: second = ratio >= 0.5; break;
            case NM_FLOOR: second = false; break;
            case NM_CEIL: second = true; break;
            default: second = scale < 1.0; break; /* simple: ceil down, floor up */
            }
        w[0] = second ? 0.0 : 1.0;
        w[1] = second ? 1.0 : 0.0;
        return;
    }
    if (!p->antialias) {
        if (p->mode == RS_LINEAR) {
            w[0] = 1.0 - ratio;
            w[1] = ratio;
        } else {
            double A = p->cubic_a, r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
            w[0] = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A;
            w[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;
            w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
            w[3] = ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A;
        }
        return;
    }
    double s = scale < 1.0 ? scale : 1.0, sum = 0;
    int64_t start = p->mode == RS_LINEAR ? (int64_t)floor(-1.0 / s) + 1 : (int64_t)floor(-2.0 / s) + 1;
    for (int i = 0; i < n; i++) {
        double arg = ((double)(start + i) - ratio) * s;
        double v;
        if (p->mode == RS_LINEAR) {
            v = 1 - fabs(arg);
            v = v < 0 ? 0 : (v > 1 ? 1 : v);
        } else {
            v = cubic_w(arg, p->cubic_a);
        }
        w[i] = v;
        sum += v;
    }
    for (int i = 0; i < n; i++)
        w[i] /= sum;
}

/* Taps of axis `a`: idx/w hold out*n entries, ext out flags (tf_crop).
 * Returns true when some output index extrapolates. */
static bool rs_axis_taps(const rs_plan *p, int a, int n, int64_t *idx, double *w, unsigned char *ext)
{
    int64_t in = p->in[a], outn = p->out[a];
    double scale = p->scale[a], ow = scale * (double)in;
    bool any_ext = false;
    for (int64_t y = 0; y < outn; y++) {
        double x, yd = (double)y;
        ext[y] = 0;
        switch (p->ctm) {
        case CT_ALIGN_CORNERS: x = ow == 1 ? 0.0 : yd * (double)(in - 1) / (ow - 1); break;
        case CT_ASYMMETRIC: x = yd / scale; break;
        case CT_TF_CROP: {
            double lo = p->roi_lo[a], hi = p->roi_hi[a];
            x = ow == 1 ? (hi - lo) * (double)(in - 1) / 2 : yd * (hi - lo) * (double)(in - 1) / (ow - 1);
            x += lo * (double)(in - 1);
            if (x < 0 || x > (double)(in - 1)) {
                ext[y] = 1;
                any_ext = true;
            }
            break;
        }
        case CT_PYTORCH_HALF_PIXEL: x = ow == 1 ? -0.5 : (yd + 0.5) / scale - 0.5; break;
        case CT_HALF_PIXEL_SYM: {
            double adj = (double)outn / ow, center = (double)in / 2, offset = center * (1 - adj);
            x = offset + (yd + 0.5) / scale - 0.5;
            break;
        }
        default: x = (yd + 0.5) / scale - 0.5; break;
        }
        double fl = floor(x);
        double ratio = x == fl ? 1.0 : x - fl;
        double *wy = w + y * n;
        int64_t *iy = idx + y * n;
        rs_coeffs(p, a, ratio, n, wy);
        /* the n indices nearest x, ties to the smaller (edge-padded) */
        int pad = (n + 1) / 2;
        double xp = x + pad, pf = floor(xp), frac = xp - pf;
        int64_t off;
        if (n % 2 == 0)
            off = frac == 0 ? -(n / 2) : -(n / 2) + 1;
        else
            off = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;
        int64_t start = (int64_t)pf + off;
        double sum = 0;
        for (int j = 0; j < n; j++) {
            int64_t k = start + j - pad;
            if (p->exclude && (k < 0 || k >= in))
                wy[j] = 0;
            sum += wy[j];
            iy[j] = k < 0 ? 0 : (k >= in ? in - 1 : k);
        }
        if (p->exclude && sum != 0)
            for (int j = 0; j < n; j++)
                wy[j] /= sum;
    }
    return any_ext;
}

bool nn_emit_resize(op_emit *e)
{
    op_ctx c = nn_ctx_of(e);
    rs_plan p;
    rs_get(&c, &p);
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    hodu_dtype t = x->dtype;
    int r = p.rank;
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
    for (int a = 0; a < r; a++) {
        if (!p.resized[a])
            continue;
        int n = rs_ntaps(&p, a);
        int64_t on = p.out[a];
        int64_t *idx = hd_xmalloc((size_t)(on * n) * sizeof(int64_t) + 1);
        double *w = hd_xmalloc((size_t)(on * n) * sizeof(double) + 1);
        unsigned char *ext = hd_xmalloc((size_t)on + 1);
        ext_ax[a] = rs_axis_taps(&p, a, n, idx, w, ext);
        any_ext |= ext_ax[a];
        int keep = n;
        if (p.mode == RS_NEAREST) {
            /* one tap: the neighbour with weight 1 */
            for (int64_t y = 0; y < on; y++) {
                int64_t pick = w[y * n] != 0 ? idx[y * n] : idx[y * n + 1];
                idx[y] = pick;
            }
            keep = 1;
        }
        ntap[a] = keep;
        hd_buf_printf(e->decls, "static const int64_t rs%d_o%d[%" PRId64 "] = {", e->node, a, on * keep);
        for (int64_t k = 0; k < on * keep; k++)
            hd_buf_printf(e->decls, "%s%" PRId64, k ? (k % 16 ? ", " : ",\n    ") : "", idx[k] * istride[a]);
        hd_buf_puts(e->decls, "};\n");
        if (keep > 1) {
            hd_buf_printf(e->decls, "static const %s rs%d_w%d[%" PRId64 "] = {", acc_t, e->node, a, on * keep);
            for (int64_t k = 0; k < on * keep; k++)
                hd_buf_printf(e->decls, "%s%s", k ? (k % 8 ? ", " : ",\n    ") : "", em_f64(w[k]).s);
            hd_buf_puts(e->decls, "};\n");
        }
        if (ext_ax[a]) {
            hd_buf_printf(e->decls, "static const unsigned char rs%d_e%d[%" PRId64 "] = {", e->node, a, on);
            for (int64_t k = 0; k < on; k++)
                hd_buf_printf(e->decls, "%s%d", k ? (k % 32 ? ", " : ",\n    ") : "", ext[k]);
            hd_buf_puts(e->decls, "};\n");
        }
        free(idx);
        free(w);
        free(ext);
    }
    static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
    static const char *const TV[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
    /* Output loops; per resized dim the table offset base, per plain dim
     * the input offset. */
    hd_buf base, oidx;
    hd_buf_init(&base);
    hd_buf_init(&oidx);
    hd_buf_puts(&base, "0");
    hd_buf_puts(&oidx, "0");
    for (int a = 0; a < r; a++) {
        em_for(e, OV[a], p.out[a]);
        if (!p.resized[a])
            hd_buf_printf(&base, " + %s * %" PRId64, OV[a], istride[a]);
        hd_buf_printf(&oidx, " + %s * %" PRId64, OV[a], ostride[a]);
    }
    em_line(e, "%s *y = out0 + (%s);", ct, oidx.data);
    em_line(e, "const %s *xb = in0 + (%s);", ct, base.data);
    if (any_ext) {
        hd_buf cond;
        hd_buf_init(&cond);
        for (int a = 0; a < r; a++)
            if (ext_ax[a])
                hd_buf_printf(&cond, "%srs%d_e%d[%s]", cond.len ? " || " : "", e->node, a, OV[a]);
        char lit[64];
        snprintf(lit, sizeof(lit), "(%s)%s", acc_t, em_f64(p.extrap).s);
        char *sv = em_store(t, lit);
        em_line(e, "if (%s) { *y = %s; continue; }", cond.data, sv);
        free(sv);
        hd_buf_free(&cond);
    }
    if (p.mode == RS_NEAREST) {
        hd_buf off;
        hd_buf_init(&off);
        hd_buf_puts(&off, "0");
        for (int a = 0; a < r; a++)
            if (p.resized[a])
                hd_buf_printf(&off, " + rs%d_o%d[%s]", e->node, a, OV[a]);
        em_line(e, "*y = xb[%s];", off.data);
        hd_buf_free(&off);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        int opened = 0;
        hd_buf off, wt;
        hd_buf_init(&off);
        hd_buf_init(&wt);
        hd_buf_puts(&off, "0");
        hd_buf_puts(&wt, "1");
        for (int a = 0; a < r; a++) {
            if (!p.resized[a])
                continue;
            em_for(e, TV[a], ntap[a]);
            opened++;
            em_line(e, "const int64_t j%d = %s * %d + %s;", a, OV[a], ntap[a], TV[a]);
            hd_buf_printf(&off, " + rs%d_o%d[j%d]", e->node, a, a);
            hd_buf_printf(&wt, " * rs%d_w%d[j%d]", e->node, a, a);
        }
        char *lx = em_load(t, "xb[q]");
        em_line(e, "const int64_t q = %s;", off.data);
        em_line(e, "acc += (%s) * (%s)%s;", wt.data, acc_t, lx);
        free(lx);
        for (int i = 0; i < opened; i++)
            em_close(e);
        if (is_int) {
            /* round half to even, then saturate */
            const char *lo = "0", *hi = "0";
            switch (t) {
            case HODU_DTYPE_I8: lo = "-128.0"; hi = "127.0"; break;
            case HODU_DTYPE_U8: lo = "0.0"; hi = "255.0"; break;
            case HODU_DTYPE_I16: lo = "-32768.0"; hi = "32767.0"; break;
            case HODU_DTYPE_U16: lo = "0.0"; hi = "65535.0"; break;
            case HODU_DTYPE_I32: lo = "-2147483648.0"; hi = "2147483647.0"; break;
            case HODU_DTYPE_U32: lo = "0.0"; hi = "4294967295.0"; break;
            case HODU_DTYPE_I64: lo = "-9223372036854775808.0"; hi = "9223372036854774784.0"; break;
            default: lo = "0.0"; hi = "18446744073709549568.0"; break;
            }
            em_line(e, "double v = rint((double)acc);");
            em_line(e, "v = v < %s ? %s : (v > %s ? %s : v);", lo, lo, hi, hi);
            em_line(e, "*y = (%s)v;", ct);
        } else {
            char *sv = em_store(t, "acc");
            em_line(e, "*y = %s;", sv);
            free(sv);
        }
        hd_buf_free(&off);
        hd_buf_free(&wt);
    }
    for (int a = 0; a < r; a++)
        em_close(e);
    hd_buf_free(&base);
    hd_buf_free(&oidx);
    return true;
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec resize_attrs[] = {
    {"antialias", IR_ATTR_INT},
    {"axes", IR_ATTR_INTS},
    {"coordinate_transformation_mode", IR_ATTR_STRING},
    {"cubic_coeff_a", IR_ATTR_FLOAT},
    {"exclude_outside", IR_ATTR_INT},
    {"extrapolation_value", IR_ATTR_FLOAT},
    {"keep_aspect_ratio_policy", IR_ATTR_STRING},
    {"mode", IR_ATTR_STRING},
    {"nearest_mode", IR_ATTR_STRING},
    {NULL, 0}};

static const op_attr_spec upsample_attrs[] = {{"mode", IR_ATTR_STRING}, {"scales", IR_ATTR_FLOATS}, {NULL, 0}};

OP_DEF(RESIZE, .attrs = resize_attrs, .infer = nn_infer_resize, .emit = nn_emit_resize);
OP_DEF(UPSAMPLE, .attrs = upsample_attrs, .infer = nn_infer_resize, .emit = nn_emit_resize);
