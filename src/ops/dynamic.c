/*
 * ops/dynamic.c - ops whose output size depends on data: NonZero (9, 13:
 * types only), Unique (11), Compress (9, 11: negative axis) and
 * NonMaxSuppression (10, 11: same semantics).
 *
 * Inference gives each such output its largest shape and marks the dims
 * that depend on data (ir_value_set_data_dep); the bound is what the
 * caller's buffer is sized for:
 *   NonZero           [rank, nnz],           nnz <= numel
 *   Unique            Y, indices, counts:    k <= numel (or the axis dim);
 *                     inverse_indices is exact
 *   Compress          the selected count <= min(condition length, numel
 *                     or the axis dim)
 *   NonMaxSuppression [selected, 3], selected <= batches * classes *
 *                     min(max_output_boxes_per_class, boxes) when that is a
 *                     build-time constant, else batches * classes * boxes.
 * NonZero and Compress of constants fold to constants of the actual shape
 * (no longer data-dependent, so other nodes may read them).
 * The lowerings check every run-time value (counts, thresholds, boxes,
 * condition) so that no data can make them write past those bounds; an
 * iou_threshold outside [0, 1] is refused (at build time when constant,
 * else the run returns HODU_RUN_INPUT_VALUES), as the spec's range says.  The
 * actual dims reach the host through the ABI (hodu_abi.h, version 4).
 */
#include <inttypes.h>
#include <string.h>

#include "dynamic.h"
#include "ops_impl.h"

/* Element types these ops move: every type a tensor of the compiler holds,
 * except the storage-only narrow ones (no comparison is defined on them). */
static bool dyn_dtype_ok(hodu_dtype t) { return ir_dtype_size(t) > 0 && !ir_dtype_is_narrow(t); }

static bool dyn_need_dtype(op_ctx *c, const ir_value *v)
{
    if (!dyn_dtype_ok(v->dtype))
        return op_fail(c, "input '%s' has dtype %s, which this op does not take", v->name, ir_dtype_name(v->dtype));
    return true;
}

/* The data viewed as [outer, n, inner] around axis (-1: flattened). */
static void dyn_view(const ir_value *x, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    if (axis < 0) {
        *n = ir_value_numel(x);
        return;
    }
    *n = x->dims[axis].size;
    for (int d = 0; d < axis; d++)
        *outer *= x->dims[d].size;
    for (int d = axis + 1; d < x->rank; d++)
        *inner *= x->dims[d].size;
}

/* The optional `axis` attribute (-1 when absent: the flattened input) and
 * the view around it; fails on an axis out of range or given for a scalar. */
static bool dyn_axis_view(op_ctx *c, const ir_value *x, int *axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    *axis = -1;
    if (ir_attr_find(op_node(c), "axis")) {
        if (x->rank == 0)
            return op_fail(c, "axis is given but input '%s' is a scalar", x->name);
        if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), x->rank, axis))
            return false;
    }
    dyn_view(x, *axis, outer, n, inner);
    return true;
}

/* Output 0 of Compress and Unique: x's items along `axis` (the flattened
 * input when -1), at most `len` of them, the count known when the model
 * runs. */
static void dyn_set_items(op_ctx *c, const ir_value *x, int axis, int64_t len)
{
    if (axis < 0) {
        op_set_out(c, 0, x->dtype, 1, &len);
        ir_value_set_data_dep(op_out(c, 0), 0);
        return;
    }
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    dims[axis] = len;
    op_set_out(c, 0, x->dtype, x->rank, dims);
    ir_value_set_data_dep(op_out(c, 0), axis);
}

/* ======================================================================== */
/* NonZero                                                                   */
/* ======================================================================== */

static bool infer_nonzero(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !dyn_need_dtype(c, x))
        return false;
    /* a scalar counts as one element of a 1-D tensor, as onnxruntime does */
    int64_t dims[2] = {x->rank > 0 ? x->rank : 1, ir_value_numel(x)};
    op_set_out(c, 0, HODU_DTYPE_I64, 2, dims);
    ir_value_set_data_dep(op_out(c, 0), 1);
    return true;
}

/* True when element i of x is not zero; floats ignore the sign bit (-0 is
 * zero, NaN is not), as the lowering does. */
static bool dyn_elem_nonzero(const ir_value *x, int64_t i)
{
    size_t sz = ir_dtype_size(x->dtype);
    const unsigned char *p = (const unsigned char *)x->data + (size_t)i * sz;
    for (size_t b = 0; b < sz; b++) {
        unsigned char m = ir_dtype_is_float(x->dtype) && b == sz - 1 ? 0x7f : 0xff; /* little-endian */
        if (p[b] & m)
            return true;
    }
    return false;
}

/* A constant input has an exact answer: the output gets its actual shape
 * and is no longer data-dependent, so later nodes may read it. */
static bool fold_nonzero(op_ctx *c)
{
    const ir_value *x = op_in(c, 0);
    int64_t n = ir_value_numel(x), nnz = 0;
    for (int64_t i = 0; i < n; i++)
        nnz += dyn_elem_nonzero(x, i);
    ir_value *y = op_out(c, 0);
    int64_t dims[2] = {y->dims[0].size, nnz};
    ir_value_set_shape(y, 2, dims);
    int64_t *out = op_fold_alloc(c, 0);
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!dyn_elem_nonzero(x, i))
            continue;
        int64_t rem = i;
        for (int d = x->rank - 1; d >= 0; d--) {
            out[d * nnz + j] = rem % x->dims[d].size;
            rem /= x->dims[d].size;
        }
        if (x->rank == 0)
            out[j] = 0;
        j++;
    }
    return true;
}

/* ======================================================================== */
/* Compress                                                                  */
/* ======================================================================== */

static const op_attr_spec compress_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool compress_get(op_ctx *c, compress_plan *p)
{
    const ir_value *x = op_need_static(c, 0), *cond = op_need_static(c, 1);
    if (!x || !cond || !dyn_need_dtype(c, x))
        return false;
    if (cond->dtype != HODU_DTYPE_BOOL)
        return op_fail(c, "condition '%s' has dtype %s; Compress takes bool", cond->name, ir_dtype_name(cond->dtype));
    if (cond->rank != 1)
        return op_fail(c, "condition '%s' has rank %d; Compress takes a 1-D condition", cond->name, cond->rank);
    if (!dyn_axis_view(c, x, &p->axis, &p->outer, &p->n, &p->inner))
        return false;
    p->cond_n = cond->dims[0].size < p->n ? cond->dims[0].size : p->n;
    return true;
}

bool compress_plan_of(const ir_graph *g, int node, compress_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return compress_get(&c, p);
}

static bool infer_compress(op_ctx *c)
{
    compress_plan p;
    if (!compress_get(c, &p))
        return false;
    dyn_set_items(c, op_in(c, 0), p.axis, p.cond_n);
    return true;
}

static bool fold_compress(op_ctx *c)
{
    compress_plan p;
    if (!compress_get(c, &p))
        return false;
    const ir_value *x = op_in(c, 0), *cond = op_in(c, 1);
    const unsigned char *keep = cond->data;
    int64_t k = 0;
    for (int64_t j = 0; j < p.cond_n; j++)
        k += keep[j] != 0;
    ir_value *y = op_out(c, 0);
    y->dims[p.axis < 0 ? 0 : p.axis].size = k;
    y->dims[p.axis < 0 ? 0 : p.axis].data_dep = false;
    unsigned char *out = op_fold_alloc(c, 0);
    size_t item = (size_t)p.inner * ir_dtype_size(x->dtype);
    const unsigned char *in = x->data;
    for (int64_t o = 0; o < p.outer; o++) {
        int64_t q = 0;
        for (int64_t j = 0; j < p.cond_n; j++)
            if (keep[j] != 0)
                memcpy(out + (size_t)(o * k + q++) * item, in + (size_t)(o * p.n + j) * item, item);
    }
    return true;
}

/* ======================================================================== */
/* Unique                                                                    */
/* ======================================================================== */

static const op_attr_spec unique_attrs[] = {{"axis", IR_ATTR_INT}, {"sorted", IR_ATTR_INT}, {NULL, 0}};

static bool unique_get(op_ctx *c, unique_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !dyn_need_dtype(c, x))
        return false;
    int64_t sorted = ir_attr_int(op_node(c), "sorted", 1);
    if (sorted != 0 && sorted != 1)
        return op_fail(c, "sorted is %" PRId64 "; it must be 0 or 1", sorted);
    p->sorted = sorted == 1;
    if (!dyn_axis_view(c, x, &p->axis, &p->outer, &p->n, &p->inner))
        return false;
    return true;
}

bool unique_plan_of(const ir_graph *g, int node, unique_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return unique_get(&c, p);
}

static bool infer_unique(op_ctx *c)
{
    unique_plan p;
    if (!unique_get(c, &p))
        return false;
    dyn_set_items(c, op_in(c, 0), p.axis, p.n);
    for (size_t k = 1; k < 4; k++) {
        op_set_out(c, k, HODU_DTYPE_I64, 1, &p.n);
        if (k != 2 && op_out(c, k)) /* inverse_indices has one entry per item */
            ir_value_set_data_dep(op_out(c, k), 0);
    }
    return true;
}

/* ======================================================================== */
/* NonMaxSuppression                                                         */
/* ======================================================================== */

static const op_attr_spec nms_attrs[] = {{"center_point_box", IR_ATTR_INT}, {NULL, 0}};

/* Inputs 2..4 are scalars (or one-element tensors; an empty one counts as
 * absent) of the given dtype. */
static bool nms_scalar_ok(op_ctx *c, size_t i, hodu_dtype want, const char *what)
{
    const ir_value *v = op_in(c, i);
    if (!v)
        return true;
    if (!ir_value_is_static(v) || ir_value_numel(v) > 1 || v->rank > 1)
        return op_fail(c, "%s '%s' must be a scalar or a one-element tensor", what, v->name);
    if (v->dtype != want)
        return op_fail(c, "%s '%s' has dtype %s; NonMaxSuppression takes %s", what, v->name, ir_dtype_name(v->dtype),
                       ir_dtype_name(want));
    return true;
}

static bool nms_get(op_ctx *c, nms_plan *p)
{
    const ir_value *boxes = op_need_static(c, 0), *scores = op_need_static(c, 1);
    if (!boxes || !scores)
        return false;
    if (boxes->dtype != HODU_DTYPE_F32 || scores->dtype != HODU_DTYPE_F32)
        return op_fail(c, "boxes and scores must be float32 (they are %s and %s)", ir_dtype_name(boxes->dtype),
                       ir_dtype_name(scores->dtype));
    if (boxes->rank != 3 || boxes->dims[2].size != 4)
        return op_fail(c, "boxes '%s' must have shape [batches, boxes, 4]", boxes->name);
    if (scores->rank != 3 || scores->dims[0].size != boxes->dims[0].size || scores->dims[2].size != boxes->dims[1].size)
        return op_fail(c, "scores '%s' must have shape [%" PRId64 ", classes, %" PRId64 "] to match the boxes",
                       scores->name, boxes->dims[0].size, boxes->dims[1].size);
    if (!nms_scalar_ok(c, 2, HODU_DTYPE_I64, "max_output_boxes_per_class") ||
        !nms_scalar_ok(c, 3, HODU_DTYPE_F32, "iou_threshold") ||
        !nms_scalar_ok(c, 4, HODU_DTYPE_F32, "score_threshold"))
        return false;
    int64_t center = ir_attr_int(op_node(c), "center_point_box", 0);
    if (center != 0 && center != 1)
        return op_fail(c, "center_point_box is %" PRId64 "; it must be 0 or 1", center);
    p->center = center == 1;
    p->batches = boxes->dims[0].size;
    p->boxes = boxes->dims[1].size;
    p->classes = scores->dims[1].size;
    /* absent or empty: no box is selected; a constant is known now */
    const ir_value *mo = op_in(c, 2);
    p->max_out = -1;
    if (!mo || ir_value_numel(mo) == 0) {
        p->max_out = 0;
    } else if (mo->kind == IR_VALUE_CONST) {
        int64_t v = 0;
        if (ir_const_as_i64(c->g, op_in_id(c, 2), &v, 1) != 1)
            return op_fail(c, "max_output_boxes_per_class '%s' cannot be read", mo->name);
        p->max_out = v < 0 ? 0 : v > p->boxes ? p->boxes : v;
    }
    const ir_value *iou = op_in(c, 3);
    double thr[1];
    if (iou && iou->kind == IR_VALUE_CONST && ir_const_as_f64(c->g, op_in_id(c, 3), thr, 1) == 1 &&
        !(thr[0] >= 0 && thr[0] <= 1))
        return op_fail(c, "iou_threshold '%s' is %g; it must lie in [0, 1]", iou->name, thr[0]);
    int64_t per_class = p->max_out >= 0 ? p->max_out : p->boxes;
    return op_ck_mul(c, p->batches, p->classes, &p->bound, "the number of selected boxes") &&
           op_ck_mul(c, p->bound, per_class, &p->bound, "the number of selected boxes");
}

bool nms_plan_of(const ir_graph *g, int node, nms_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return nms_get(&c, p);
}

static bool infer_nms(op_ctx *c)
{
    nms_plan p;
    if (!nms_get(c, &p))
        return false;
    int64_t dims[2] = {p.bound, 3};
    op_set_out(c, 0, HODU_DTYPE_I64, 2, dims);
    ir_value_set_data_dep(op_out(c, 0), 0);
    return true;
}

OP_DEF(NON_ZERO, .infer = infer_nonzero, .fold = fold_nonzero);
OP_DEF(COMPRESS, .attrs = compress_attrs, .infer = infer_compress, .fold = fold_compress);
OP_DEF(UNIQUE, .attrs = unique_attrs, .infer = infer_unique);
OP_DEF(NON_MAX_SUPPRESSION, .attrs = nms_attrs, .infer = infer_nms);
