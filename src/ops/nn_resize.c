/*
 * ops/nn_resize.c - Resize and Upsample semantics (part of the nn family):
 * inference and the plan and tap tables resize.h exports to backends.
 *
 * Resize(X, roi, scales, sizes) -> Y.  Opset 10 takes (X, scales) and maps
 * coordinates like Upsample (asymmetric; nearest rounds down when
 * upsampling, up when downsampling); opset 11 adds roi, sizes and the
 * attributes coordinate_transformation_mode, cubic_coeff_a,
 * exclude_outside, extrapolation_value, nearest_mode; opset 18 adds axes,
 * antialias and keep_aspect_ratio_policy; opset 19 the
 * half_pixel_symmetric mode.  Scales and sizes (and roi, for
 * tf_crop_and_resize) fix the output shape and the mapping: build-time
 * constants, or run-time values where the model declares the output
 * (rs_run_time; the lowering then maps coordinates when the model runs).
 * Over run-time dims the node takes the general path (rs_get_rt): sizes
 * are dims (ir_dimvals from Shape), and the run maps coordinates too.
 *
 * Resizing is separable: each resized axis maps an output index to a few
 * input indices (edge-clamped) with weights, and an output element is the
 * sum over the product of its axes' taps.  The compiler computes every
 * axis's taps on the host, in double, following the ONNX definition
 * (nearest: 1 tap, linear: 2, cubic: 4, antialias: widened by 1/scale);
 * backends turn them into tables and only gather and multiply.  Integer
 * outputs round half to even and saturate.
 *
 * Upsample (opsets 7-9, deprecated): scales as an attribute (7) or an
 * input (9), modes nearest / linear, the same mapping as Resize-10.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"
#include "resize.h"

/* The output's declared dims; hodu.ResizeGrad's are dY's (input 4).  The
 * rank, or -1 when not declared. */
static int rs_declared(op_ctx *c, int64_t *dims)
{
    if (op_node(c)->op != OP_RESIZE_GRAD)
        return op_declared_shape(c, 0, dims);
    const ir_value *dy = op_in(c, 4);
    if (!dy || !ir_value_is_static(dy))
        return -1;
    ir_value_dims(dy, dims);
    return dy->rank;
}

static bool rs_names(op_ctx *c, resize_plan *p)
{
    const ir_node *n = op_node(c);
    const char *mode = ir_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        p->mode = RESIZE_NEAREST;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0)
        p->mode = RESIZE_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && n->op != OP_UPSAMPLE)
        p->mode = RESIZE_CUBIC;
    else
        return op_fail(c, "attribute 'mode' value '%s' is not supported", mode);
    bool legacy = n->op == OP_UPSAMPLE || c->g->opset < 11;
    if (legacy) {
        p->coord = RESIZE_ASYMMETRIC;
        p->nearest = RESIZE_SIMPLE;
    } else {
        const char *ct = ir_attr_string(n, "coordinate_transformation_mode", "half_pixel");
        static const char *const cts[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                          "asymmetric", "tf_crop_and_resize", "half_pixel_symmetric"};
        int ci = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(ct, cts[i]) == 0)
                ci = i;
        if (ci < 0)
            return op_fail(c, "attribute 'coordinate_transformation_mode' value '%s' is not supported", ct);
        p->coord = (resize_coord)ci; /* cts is in enum order */
        const char *nm = ir_attr_string(n, "nearest_mode", "round_prefer_floor");
        static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
        int ni = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(nm, nms[i]) == 0)
                ni = i;
        if (ni < 0)
            return op_fail(c, "attribute 'nearest_mode' value '%s' is not supported", nm);
        p->nearest = (resize_nearest)ni; /* nms is in enum order */
    }
    p->cubic_a = ir_attr_float(n, "cubic_coeff_a", -0.75);
    p->extrap = ir_attr_float(n, "extrapolation_value", 0.0);
    p->exclude = ir_attr_int(n, "exclude_outside", 0) != 0;
    p->antialias = ir_attr_int(n, "antialias", 0) != 0;
    if (p->antialias && p->mode == RESIZE_NEAREST)
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
    case HODU_DTYPE_BOOL: return mode == RESIZE_NEAREST;
    default: return false;
    }
}

static int rs_ntaps(const resize_plan *p, int axis);

/* A run-time vector operand of `len` elements of one of the types. */
static bool rs_rt_vector(const ir_value *v, int64_t len, hodu_dtype t1, hodu_dtype t2)
{
    return v && v->kind != IR_VALUE_CONST && (v->dtype == t1 || v->dtype == t2) && v->rank == 1 &&
           v->dims[0].size == len;
}

/* Taps per output index along axis a for any scale at least s (fewer for
 * larger scales): what the run-time tables must hold. */
static int rs_taps_at_least(const resize_plan *p, int a, double s)
{
    resize_plan q = *p;
    q.scale[a] = s;
    return p->mode == RESIZE_NEAREST ? 1 : rs_ntaps(&q, a);
}

/* Scales, sizes (with a keep_aspect_ratio_policy) or roi as run-time
 * values, where the model declares the output: fills the plan's run-time
 * part.  1: done, 0: not at run time (the constant path follows), -1:
 * refused (reported). */
static int rs_run_time(op_ctx *c, resize_plan *p, const int *axes, int na)
{
    const ir_node *n = op_node(c);
    int r = p->rank;
    bool legacy = n->op == OP_UPSAMPLE || c->g->opset < 11;
    const char *pol = legacy ? "stretch" : ir_attr_string(n, "keep_aspect_ratio_policy", "stretch");
    bool stretch = strcmp(pol, "stretch") == 0;
    p->scales_input = p->sizes_input = p->roi_input = -1;
    bool rt = false;
    if (legacy) {
        if (!rs_rt_vector(op_in(c, 1), r, HODU_DTYPE_F32, HODU_DTYPE_F32))
            return 0;
        p->scales_input = 1;
        rt = true;
    } else {
        const ir_value *roi = rs_has(c, 1) ? op_in(c, 1) : NULL;
        const ir_value *sc = rs_has(c, 2) ? op_in(c, 2) : NULL, *sz = rs_has(c, 3) ? op_in(c, 3) : NULL;
        if (p->coord == RESIZE_TF_CROP_AND_RESIZE && !roi)
            return 0; /* the constant path reports it */
        if (p->coord == RESIZE_TF_CROP_AND_RESIZE) {
            if (rs_rt_vector(roi, 2 * na, HODU_DTYPE_F32, HODU_DTYPE_F64))
                rt = true;
            else if (roi->kind != IR_VALUE_CONST)
                return 0;
            p->roi_input = 1;
        }
        if (sc && sz)
            return 0; /* the constant path reports it */
        if (sc) {
            if (rs_rt_vector(sc, na, HODU_DTYPE_F32, HODU_DTYPE_F32))
                rt = true;
            else if (sc->kind != IR_VALUE_CONST || sc->dtype != HODU_DTYPE_F32)
                return 0;
            p->scales_input = 2;
        } else if (sz) {
            if (rs_rt_vector(sz, na, HODU_DTYPE_I64, HODU_DTYPE_I64))
                rt |= !stretch || p->roi_input >= 0; /* else sizes are the declared output's */
            else if (sz->kind != IR_VALUE_CONST || sz->dtype != HODU_DTYPE_I64)
                return 0;
            p->sizes_input = 3;
            if (!stretch) {
                p->keep_aspect = true;
                p->not_larger = strcmp(pol, "not_larger") == 0;
                if (!p->not_larger && strcmp(pol, "not_smaller") != 0)
                    return 0;
            }
        } else {
            return 0;
        }
    }
    int64_t declared[HODU_MAX_RANK];
    if (!rt || rs_declared(c, declared) != r)
        return 0;
    p->at_run_time = true;
    p->n_axes = na;
    for (int i = 0; i < r; i++) {
        p->out[i] = p->in[i];
        p->scale[i] = 1.0;
    }
    for (int k = 0; k < na; k++) {
        int a = axes[k];
        p->axes[k] = a;
        p->resized[a] = true;
        p->out[a] = declared[a];
        if (declared[a] > ((int64_t)1 << 40)) {
            op_fail(c, "declared output dim %d (%" PRId64 ") is too large to resize to", a, declared[a]);
            return -1;
        }
        if (p->in[a] == 0 && p->out[a] > 0) {
            op_fail(c, "cannot resize an empty axis %d to %" PRId64, a, p->out[a]);
            return -1;
        }
        /* the smallest scale that gives this size under any rule (floor
         * for scales, rounding for a policy, exact for stretched sizes) */
        double lo = p->in[a] && p->out[a] ? ((double)p->out[a] - 0.5) / (double)p->in[a] : 1.0;
        double min_s = p->antialias ? RESIZE_MIN_AA_SCALE : RESIZE_MIN_SCALE;
        p->max_taps[a] = rs_taps_at_least(p, a, lo > min_s ? lo : min_s);
        p->scale[a] = p->in[a] && p->out[a] ? (double)p->out[a] / (double)p->in[a] : 1.0;
        if (p->out[a] * p->max_taps[a] > ((int64_t)1 << 24)) {
            op_fail(c, "output axis %d (%" PRId64 ") is too large to resize", a, p->out[a]);
            return -1;
        }
    }
    for (int i = 0; i < r; i++)
        if (!p->resized[i] && p->out[i] != p->in[i]) {
            op_fail(c, "the declared output changes axis %d, which the op does not resize", i);
            return -1;
        }
    return 1;
}

static bool rs_get(op_ctx *c, resize_plan *p)
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
    if (!op_attr_axes(c, "axes", r, false, axes, &na))
        return false;
    double scales[HODU_MAX_RANK];
    int64_t sizes[HODU_MAX_RANK];
    double roi[2 * HODU_MAX_RANK];
    bool have_scales = false, have_sizes = false, ok = true;
    bool upsample = n->op == OP_UPSAMPLE;
    if (!(upsample && c->g->opset < 9)) {
        int rt = rs_run_time(c, p, axes, na);
        if (rt != 0)
            return rt > 0;
    }
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
        if (p->coord == RESIZE_TF_CROP_AND_RESIZE && rs_has(c, 1)) {
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
        } else if (p->coord == RESIZE_TF_CROP_AND_RESIZE) {
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
        int64_t declared[HODU_MAX_RANK];
        const ir_value *sv = rs_has(c, 3) ? op_in(c, 3) : NULL;
        if (sv && sv->kind != IR_VALUE_CONST && sv->dtype == HODU_DTYPE_I64 && sv->rank == 1 &&
            sv->dims[0].size == na && rs_declared(c, declared) == r &&
            strcmp(ir_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") == 0) {
            /* sizes given at run time: the declared output's, which the
             * lowering checks them against */
            for (int i = 0; i < na; i++)
                sizes[i] = declared[axes[i]];
            have_sizes = true;
        } else if (sv) {
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
        bool ident =
            fabs(p->scale[i] - 1.0) <= 1e-9 && p->out[i] == p->in[i] &&
            (p->coord != RESIZE_TF_CROP_AND_RESIZE || (fabs(p->roi_lo[i]) <= 1e-9 && fabs(p->roi_hi[i] - 1.0) <= 1e-9));
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

/* Sizes that arithmetic on data computes from run-time dims (a
 * detector's floor(h * scale)): each element that is not a dim gets the
 * interval op_value_bounds derives, [lo[k], hi[k]]; elements that are
 * dims go to sv.  False when some element has no bound, or one that is
 * out of range (reported by the caller). */
static int rs_bounded_sizes(op_ctx *c, ir_dimvals *sv, int64_t *lo, int64_t *hi)
{
    op_bounds b;
    if (!op_value_bounds(c->g, op_node(c)->inputs[3], &b))
        return 0;
    memset(sv, 0, sizeof(*sv));
    sv->n = b.n;
    for (int k = 0; k < b.n; k++) {
        double l = ceil(b.lo[k]) < 0 ? 0 : ceil(b.lo[k]), h = floor(b.hi[k]);
        if (!(h <= (double)((int64_t)1 << 40)) || h < l) {
            op_fail(c, "sizes ('%s') element %d may be as large as %g, which is out of range (at most 2^40)",
                    op_in(c, 3)->name, k, h);
            return -1;
        }
        if (b.sym[k]) {
            sv->sym[k] = b.sym[k];
            sv->val[k] = (int64_t)h;
        } else if (l == h) {
            sv->val[k] = (int64_t)h;
        } else {
            lo[k] = (int64_t)l;
            hi[k] = (int64_t)h;
        }
    }
    return 1;
}

/* The plan of a node inferred with such sizes (later passes may have
 * fused the arithmetic that computed them): Y's dims as inference left
 * them, data symbols with their ranges. */
static int rs_sizes_of_output(op_ctx *c, const int *axes, int na, ir_dimvals *sv, int64_t *lo, int64_t *hi)
{
    const ir_value *y = op_out(c, 0);
    memset(sv, 0, sizeof(*sv));
    sv->n = na;
    for (int k = 0; y && k < na; k++) {
        const ir_dim *d = &y->dims[axes[k]];
        if (d->data_dep && d->rt) {
            if (!ir_graph_symbol_range(c->g, d->sym, &lo[k], &hi[k]))
                return 0;
        } else {
            sv->val[k] = d->size;
            sv->sym[k] = d->rt ? d->sym : NULL;
        }
    }
    return y ? 1 : 0;
}

/* --- over run-time dims ---------------------------------------------------
 * The general path (ir_node.rt_general): X has run-time dims, or sizes is
 * a shape computed from them (ir_dimvals: F.interpolate(size=x.shape[-2:])).
 * Each output dim is a sizes element as a dim, or floor(scale * X's dim)
 * for constant scales, which over a run-time dim must be exact (a whole
 * scale).  The mapping's taps are computed when the model runs
 * (resize_plan.rt_dims).  Fills `dims` with Y's dims when not NULL. */
static bool rs_get_rt(op_ctx *c, resize_plan *p, ir_dim *dims)
{
    const ir_node *n = op_node(c);
    const ir_value *x = op_in(c, 0);
    memset(p, 0, sizeof(*p));
    if (!x || x->rank < 0)
        return op_fail(c, "X's rank must be known at build time");
    if (!rs_names(c, p))
        return false;
    if (!rs_dtype_ok(x->dtype, p->mode))
        return op_fail(c, "type %s is not supported", ir_dtype_name(x->dtype));
    if (p->antialias)
        return op_fail(c, "antialias over run-time dims is not supported yet (its tap count depends on the "
                          "scale); bind the dims with --dim SYM=N");
    if (p->coord == RESIZE_TF_CROP_AND_RESIZE)
        return op_fail(c, "coordinate_transformation_mode 'tf_crop_and_resize' over run-time dims is not "
                          "supported yet; bind the dims with --dim SYM=N");
    bool legacy = n->op == OP_UPSAMPLE || c->g->opset < 11;
    if (!legacy && strcmp(ir_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return op_fail(c, "keep_aspect_ratio_policy other than 'stretch' over run-time dims is not supported yet; "
                          "bind the dims with --dim SYM=N");
    int r = x->rank, axes[HODU_MAX_RANK], na = r;
    if (!op_attr_axes(c, "axes", r, false, axes, &na))
        return false;
    p->rank = r;
    p->scales_input = p->sizes_input = p->roi_input = -1;
    ir_dim out[HODU_MAX_RANK];
    for (int i = 0; i < r; i++) {
        out[i] = x->dims[i];
        p->in[i] = x->dims[i].size;
        p->scale[i] = 1.0;
        p->roi_lo[i] = 0.0;
        p->roi_hi[i] = 1.0;
    }
    double scales[HODU_MAX_RANK];
    ir_dimvals sv = {0};
    int64_t data_lo[HODU_MAX_RANK], data_hi[HODU_MAX_RANK]; /* data_hi[k] < 0: element k is a dim */
    for (int k = 0; k < HODU_MAX_RANK; k++)
        data_lo[k] = data_hi[k] = -1;
    bool have_sizes = false;
    if (legacy && n->op == OP_UPSAMPLE && c->g->opset < 9) {
        const ir_attr *a = ir_attr_find(n, "scales");
        if (!a || a->kind != IR_ATTR_FLOATS || a->n != (size_t)r)
            return op_fail(c, "attribute 'scales' must have %d values", r);
        for (int i = 0; i < r; i++)
            scales[i] = (float)a->floats[i];
    } else {
        size_t si = legacy ? 1 : 2;
        bool sc = legacy || rs_has(c, 2), sz = !legacy && rs_has(c, 3);
        if (sc && sz)
            return op_fail(c, "only one of scales and sizes may be given");
        if (!sc && !sz)
            return op_fail(c, "one of scales and sizes is required");
        if (sz) {
            int bounded = op_rt_elems(c, 3, &sv) ? 1
                          : dims                 ? rs_bounded_sizes(c, &sv, data_lo, data_hi)
                                                 : rs_sizes_of_output(c, axes, na, &sv, data_lo, data_hi);
            if (bounded < 0)
                return false;
            if (bounded == 0)
                return op_fail(c,
                               "with run-time dims, sizes ('%s') must be a build-time constant, computed from "
                               "dims (Shape, Gather, Slice, Concat, ...), or computed from them by arithmetic whose "
                               "range hodu can bound (Cast, Mul, Div, Min, Max, Floor, ReduceMin, ...); here it "
                               "depends on the data without a bound hodu can derive",
                               op_in(c, 3)->name);
            if (sv.n != na)
                return op_fail(c, "sizes has %d values; expected %d", sv.n, na);
            have_sizes = true;
            p->sizes_input = 3;
        } else {
            const ir_value *v = op_in(c, si);
            if (!v || v->kind != IR_VALUE_CONST)
                return op_fail(c,
                               "with run-time dims, scales ('%s') must be a build-time constant; give sizes "
                               "computed from the input's shape instead",
                               v ? v->name : "");
            long k = rs_const_f64(c, si, scales, HODU_MAX_RANK, "scales");
            if (k < 0)
                return false;
            if (k != na)
                return op_fail(c, "scales has %ld values; expected %d", k, na);
            if (legacy)
                for (int i = 0; i < na; i++)
                    scales[i] = (float)scales[i];
        }
    }
    for (int k = 0; k < na; k++) {
        int a = axes[k];
        const ir_dim *in = &x->dims[a];
        p->axes[k] = a;
        if (have_sizes && data_hi[k] >= 0) {
            /* a size the run computes: a data symbol within its bounds,
             * which the lowering checks and sets (emit_resize_rt) */
            out[a] = (ir_dim){.size = data_hi[k], .data_dep = true};
            if (!dims) {
                out[a] = op_out(c, 0)->dims[a];
            } else {
                hd_buf key;
                hd_buf_init(&key);
                hd_buf_printf(&key, "resize-sizes:%s[%d]", op_in(c, 3)->name, k);
                out[a].sym = ir_graph_keyed_data_symbol(c->g, n->outputs[0], a, data_hi[k], key.data);
                hd_buf_free(&key);
                ir_graph_set_symbol_range(c->g, out[a].sym, data_lo[k], data_hi[k]);
                out[a].rt = true;
            }
        } else if (have_sizes) {
            out[a] = (ir_dim){.size = sv.val[k], .sym = sv.sym[k], .rt = sv.sym[k] != NULL};
            if (!out[a].rt && (out[a].size < 0 || out[a].size > ((int64_t)1 << 40)))
                return op_fail(c, "sizes value %" PRId64 " for axis %d is out of range", out[a].size, a);
        } else {
            double s = scales[k];
            if (!(s >= RESIZE_MIN_SCALE) || !isfinite(s))
                return op_fail(c, "scale %g for axis %d must be positive (at least 2^-24)", s, a);
            p->scale[a] = s;
            if (!in->rt) {
                double o = floor(s * (double)in->size);
                if (o > (double)((int64_t)1 << 40))
                    return op_fail(c, "scale %g makes axis %d too large", s, a);
                out[a] = (ir_dim){.size = (int64_t)o};
            } else if (s != 1.0) {
                ir_poly px = ir_dim_poly(c->g, in), py;
                ir_poly f = ir_poly_const((int64_t)s);
                if (s != floor(s) || s > 4096)
                    return op_fail(c,
                                   "scale %g over the run-time dim '%s': floor(scale * size) is not a dim hodu can "
                                   "name (only whole scales are); give sizes computed from the input's shape, or "
                                   "bind the dim with --dim %s=N",
                                   s, in->sym, in->sym);
                if (!ir_poly_mul(&px, &f, &py) || !ir_graph_poly_dim(c->g, &py, &out[a]))
                    return op_fail(c, "scale %g over the run-time dim '%s': the output's range overflows", s, in->sym);
            }
        }
        ir_poly pi = ir_dim_poly(c->g, in), po = ir_dim_poly(c->g, &out[a]);
        p->resized[a] = out[a].data_dep || !ir_poly_equal(&pi, &po) || p->scale[a] != 1.0;
        p->max_taps[a] = p->mode == RESIZE_NEAREST ? 1 : p->mode == RESIZE_LINEAR ? 2 : 4;
        if (out[a].size * p->max_taps[a] > ((int64_t)1 << 24))
            return op_fail(c, "output axis %d (%" PRId64 ") is too large to resize", a, out[a].size);
    }
    p->n_axes = na;
    for (int i = 0; i < r; i++)
        p->out[i] = out[i].size;
    p->at_run_time = p->rt_dims = true;
    if (dims)
        memcpy(dims, out, (size_t)r * sizeof(ir_dim));
    return true;
}

bool nn_infer_resize_rt(op_ctx *c)
{
    resize_plan p;
    ir_dim dims[HODU_MAX_RANK];
    if (!rs_get_rt(c, &p, dims))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, p.rank, p.out);
    memcpy(op_out(c, 0)->dims, dims, (size_t)p.rank * sizeof(ir_dim));
    return true;
}

bool nn_infer_resize(op_ctx *c)
{
    resize_plan p;
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
static int rs_ntaps(const resize_plan *p, int axis)
{
    if (p->mode == RESIZE_NEAREST)
        return 2;
    if (!p->antialias)
        return p->mode == RESIZE_LINEAR ? 2 : 4;
    double s = p->scale[axis] < 1.0 ? p->scale[axis] : 1.0;
    if (p->mode == RESIZE_LINEAR) {
        int64_t start = (int64_t)floor(-1.0 / s) + 1;
        return (int)(2 - 2 * start);
    }
    int64_t start = (int64_t)floor(-2.0 / s) + 1;
    return (int)(2 - 2 * start);
}

/* Coefficients for one output index (ratio in (0, 1]). */
static void rs_coeffs(const resize_plan *p, int axis, double ratio, int n, double *w)
{
    double scale = p->scale[axis];
    if (p->mode == RESIZE_NEAREST) {
        bool second;
        if (ratio == floor(ratio))
            second = true;
        else
            switch (p->nearest) {
            case RESIZE_ROUND_PREFER_FLOOR: second = ratio > 0.5; break;
            case RESIZE_ROUND_PREFER_CEIL: second = ratio >= 0.5; break;
            case RESIZE_FLOOR: second = false; break;
            case RESIZE_CEIL: second = true; break;
            default: second = scale < 1.0; break; /* simple: ceil down, floor up */
            }
        w[0] = second ? 0.0 : 1.0;
        w[1] = second ? 1.0 : 0.0;
        return;
    }
    if (!p->antialias) {
        if (p->mode == RESIZE_LINEAR) {
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
    int64_t start = p->mode == RESIZE_LINEAR ? (int64_t)floor(-1.0 / s) + 1 : (int64_t)floor(-2.0 / s) + 1;
    for (int i = 0; i < n; i++) {
        double arg = ((double)(start + i) - ratio) * s;
        double v;
        if (p->mode == RESIZE_LINEAR) {
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
static bool rs_axis_taps(const resize_plan *p, int a, int n, int64_t *idx, double *w, unsigned char *ext)
{
    int64_t in = p->in[a], outn = p->out[a];
    double scale = p->scale[a], ow = scale * (double)in;
    bool any_ext = false;
    for (int64_t y = 0; y < outn; y++) {
        double x, yd = (double)y;
        ext[y] = 0;
        switch (p->coord) {
        case RESIZE_ALIGN_CORNERS: x = ow == 1 ? 0.0 : yd * (double)(in - 1) / (ow - 1); break;
        case RESIZE_ASYMMETRIC: x = (double)((float)yd / (float)scale); break;
        case RESIZE_TF_CROP_AND_RESIZE: {
            double lo = p->roi_lo[a], hi = p->roi_hi[a];
            x = ow == 1 ? (hi - lo) * (double)(in - 1) / 2 : yd * (hi - lo) * (double)(in - 1) / (ow - 1);
            x += lo * (double)(in - 1);
            if (x < 0 || x > (double)(in - 1)) {
                ext[y] = 1;
                any_ext = true;
            }
            break;
        }
        case RESIZE_PYTORCH_HALF_PIXEL: x = ow == 1 ? -0.5 : (double)(((float)yd + 0.5f) / (float)scale - 0.5f); break;
        case RESIZE_HALF_PIXEL_SYMMETRIC: {
            double adj = (double)outn / ow, center = (double)in / 2, offset = center * (1 - adj);
            x = offset + (yd + 0.5) / scale - 0.5;
            break;
        }
        /* The common modes in float, as the scales are (and onnxruntime
         * computes them): in double, an upscaled image's taps move by
         * 1e-5 of a pixel, which a detector's thresholds can amplify. */
        default: x = (double)(((float)yd + 0.5f) / (float)scale - 0.5f); break;
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

bool resize_plan_get(const ir_graph *g, int node, resize_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return ir_nd(g, node)->rt_general ? rs_get_rt(&c, p, NULL) : rs_get(&c, p);
}

void resize_axis_taps(const resize_plan *p, int axis, resize_taps *t)
{
    int n = rs_ntaps(p, axis);
    int64_t on = p->out[axis];
    t->count = on;
    t->idx = hd_xmalloc((size_t)(on * n) * sizeof(int64_t) + 1);
    t->w = hd_xmalloc((size_t)(on * n) * sizeof(double) + 1);
    t->ext = hd_xmalloc((size_t)on + 1);
    t->any_ext = rs_axis_taps(p, axis, n, t->idx, t->w, t->ext);
    t->n = n;
    if (p->mode == RESIZE_NEAREST) {
        /* one tap: the neighbour with weight 1 (in place: y <= y*n) */
        for (int64_t y = 0; y < on; y++) {
            t->idx[y] = t->w[y * n] != 0 ? t->idx[y * n] : t->idx[y * n + 1];
            t->w[y] = 1.0;
        }
        t->n = 1;
    }
}

void resize_taps_free(resize_taps *t)
{
    free(t->idx);
    free(t->w);
    free(t->ext);
    t->idx = NULL;
    t->w = NULL;
    t->ext = NULL;
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec resize_attrs[] = {{"antialias", IR_ATTR_INT},
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

OP_DEF(RESIZE, .attrs = resize_attrs, .infer = nn_infer_resize, .grad = resize_grad);
OP_DEF(UPSAMPLE, .attrs = upsample_attrs, .infer = nn_infer_resize, .grad = resize_grad);

/* hodu.ResizeGrad: X's shape and type from input 0, dY (input 4) the
 * forward's output, and only for run-time scales, sizes or roi (others
 * have constant matrices: nn_resize_grad.c).  Resize's attributes; an
 * Upsample's gradient has opset < 11, which reads them as Upsample's. */
static bool infer_resize_grad(op_ctx *c)
{
    resize_plan p;
    if (!rs_get(c, &p))
        return false;
    const ir_value *x = op_in(c, 0), *dy = op_in(c, 4);
    if (!p.at_run_time)
        return op_fail(c, "only a Resize whose scales, sizes or roi come at run time has this gradient op");
    if (x->dtype != HODU_DTYPE_F32 && x->dtype != HODU_DTYPE_F64)
        return op_fail(c, "type %s is not supported (float32 and float64 are)", ir_dtype_name(x->dtype));
    if (!dy || dy->dtype != x->dtype)
        return op_fail(c, "dY must have X's type");
    for (int i = 0; i < p.rank; i++)
        if (dy->dims[i].size != p.out[i])
            return op_fail(c, "dY's dim %d is %" PRId64 ", the resized output's %" PRId64, i, dy->dims[i].size,
                           p.out[i]);
    op_set_out(c, 0, x->dtype, p.rank, p.in);
    return true;
}

OP_DEF(RESIZE_GRAD, .attrs = resize_attrs, .infer = infer_resize_grad);
