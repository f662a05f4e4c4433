/*
 * ops/nn_pool.c - pooling semantics (part of the nn family): inference and
 * the plans pool.h exports to backends.
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
 * hodu.MaxPoolGrad (X, dY) -> dX, MaxPool's gradient (nn_pool_grad.c):
 *   MaxPool's window attributes; each dY element added at its window's
 *   argmax in X (the first maximum in scan order, NaNs skipped, as the
 *   Indices output finds it).  float32 and float64.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_impl.h"
#include "pool.h"

pool_kind pool_kind_of(int op)
{
    switch (op) {
    case OP_MAX_POOL:
    case OP_MAX_POOL_GRAD:
    case OP_GLOBAL_MAX_POOL: return POOL_MAX;
    case OP_AVERAGE_POOL:
    case OP_GLOBAL_AVERAGE_POOL: return POOL_AVG;
    default: return POOL_LP;
    }
}

static bool pool_type_ok(op_ctx *c, pool_kind kind, hodu_dtype t)
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

/* Validates a windowed pool and computes its plan; inference and
 * pool_plan_get both come here, so the backend lowers exactly the window
 * inference sized the output for. */
static bool pool_geom(op_ctx *c, pool_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    const ir_node *n = op_node(c);
    pool_kind kind = pool_kind_of(n->op);
    if (!pool_type_ok(c, kind, x->dtype))
        return false;
    if (x->rank < 3)
        return op_fail(c, "input X must have rank 3 or more (N, C, spatial dims), got %d", x->rank);
    int nd = x->rank - 2;
    memset(p, 0, sizeof(*p));
    nn_window *w = &p->w;
    w->nd = nd;
    for (int i = 0; i < nd; i++)
        w->in[i] = x->dims[i + 2].size;
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
    if (!ks)
        return op_fail(c, "attribute 'kernel_shape' is required");
    if (nk != (size_t)nd)
        return op_fail(c, "attribute 'kernel_shape' has %zu values; expected %d", nk, nd);
    memcpy(w->k, ks, (size_t)nd * sizeof(int64_t));
    if (kind == POOL_MAX && ir_attr_int(n, "storage_order", 0) > 1)
        return op_fail(c, "attribute 'storage_order' value %" PRId64 " is not 0 or 1",
                       ir_attr_int(n, "storage_order", 0));
    if (kind == POOL_LP && ir_attr_int(n, "p", 2) < 1)
        return op_fail(c, "attribute 'p' value %" PRId64 " must be at least 1", ir_attr_int(n, "p", 2));
    if (!nn_window_attrs(c, w, true))
        return false;
    p->kind = kind;
    p->dtype = x->dtype;
    p->nc = x->dims[0].size * x->dims[1].size;
    p->in_plane = p->out_plane = 1;
    for (int i = 0; i < nd; i++) {
        p->in_plane *= w->in[i];
        p->out_plane *= w->out[i];
    }
    p->indices = n->n_outputs > 1 && n->outputs[1] >= 0;
    p->col_major = ir_attr_int(n, "storage_order", 0) == 1;
    p->include_pad = kind == POOL_AVG && ir_attr_int(n, "count_include_pad", 0) != 0;
    p->p = ir_attr_int(n, "p", 2);
    return true;
}

bool nn_infer_pool(op_ctx *c)
{
    pool_plan p;
    if (!pool_geom(c, &p))
        return false;
    const ir_value *x = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK];
    dims[0] = x->dims[0].size;
    dims[1] = x->dims[1].size;
    for (int i = 0; i < p.w.nd; i++)
        dims[i + 2] = p.w.out[i];
    op_set_out(c, 0, x->dtype, x->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_I64, x->rank, dims);
    return true;
}

/* hodu.MaxPoolGrad: dX has X's shape and type; dY must be the shape the
 * window gives (the forward's output). */
static bool infer_max_pool_grad(op_ctx *c)
{
    pool_plan p;
    if (!pool_geom(c, &p))
        return false;
    const ir_value *x = op_in(c, 0), *dy = op_need_static(c, 1);
    if (!dy)
        return false;
    if (x->dtype != HODU_DTYPE_F32 && x->dtype != HODU_DTYPE_F64)
        return op_fail(c, "type %s is not supported (float32 and float64 are)", ir_dtype_name(x->dtype));
    if (dy->dtype != x->dtype || dy->rank != x->rank)
        return op_fail(c, "dY must have X's type and rank");
    for (int i = 0; i < x->rank; i++) {
        int64_t want = i < 2 ? x->dims[i].size : p.w.out[i - 2];
        if (dy->dims[i].size != want)
            return op_fail(c, "dY's dim %d is %" PRId64 ", the pooled output's %" PRId64, i, dy->dims[i].size, want);
    }
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
}

bool pool_plan_get(const ir_graph *g, int node, pool_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return pool_geom(&c, p);
}

void pool_tap_range(const pool_plan *p, int axis, int64_t tap, int64_t *lo, int64_t *hi, int64_t *off)
{
    const nn_window *w = &p->w;
    int64_t s = w->s[axis], in = w->in[axis], n = w->out[axis];
    int64_t o = tap * w->d[axis] - w->pb[axis];
    /* o + s * ow must lie in [0, in) */
    int64_t l = o >= 0 ? 0 : (-o + s - 1) / s;
    int64_t h = o >= in ? 0 : (in - o + s - 1) / s;
    l = l > n ? n : l;
    h = h > n ? n : h;
    *lo = l;
    *hi = h < l ? l : h;
    *off = o;
}

/* --- global pools ------------------------------------------------------------ */

static bool global_geom(op_ctx *c, pool_global_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    pool_kind kind = pool_kind_of(op_node(c)->op);
    if (!pool_type_ok(c, kind, x->dtype))
        return false;
    if (x->rank < 2)
        return op_fail(c, "input X must have rank 2 or more, got %d", x->rank);
    if (kind == POOL_LP && ir_attr_int(op_node(c), "p", 2) < 1)
        return op_fail(c, "attribute 'p' value %" PRId64 " must be at least 1", ir_attr_int(op_node(c), "p", 2));
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->dtype = x->dtype;
    p->nc = x->dims[0].size * x->dims[1].size;
    p->plane = 1;
    for (int i = 2; i < x->rank; i++)
        p->plane *= x->dims[i].size;
    p->p = ir_attr_int(op_node(c), "p", 2);
    return true;
}

bool nn_infer_global_pool(op_ctx *c)
{
    pool_global_plan p;
    if (!global_geom(c, &p))
        return false;
    const ir_value *x = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i].size : 1;
    op_set_out(c, 0, x->dtype, x->rank, dims);
    return true;
}

bool pool_global_plan_get(const ir_graph *g, int node, pool_global_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return global_geom(&c, p);
}

/* --- MaxUnpool -----------------------------------------------------------------
 * (X, I, output_shape?) -> zeros of the output shape with Y.flat[I] = X:
 * the inverse of MaxPool with Indices.  Output spatial dims are
 * (D-1)*stride + kernel - pads unless output_shape says otherwise: a
 * build-time constant, or a run-time value where the model declares the
 * output shape (the lowering then checks the values against it).  Indices
 * outside the output are skipped. */

static bool unpool_geom(op_ctx *c, pool_unpool_plan *p)
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
    memset(p, 0, sizeof(*p));
    int64_t *dims = p->index_dims;
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
    memcpy(p->out_dims, dims, (size_t)x->rank * sizeof(int64_t));
    const ir_value *os = op_in(c, 2);
    if (os && ir_value_numel(os) != 0) {
        int64_t shp[HODU_MAX_RANK];
        long n = -1;
        if (os->kind != IR_VALUE_CONST && os->dtype == HODU_DTYPE_I64 && os->rank == 1 &&
            op_declared_shape(c, 0, shp) == x->rank && os->dims[0].size == x->rank) {
            n = x->rank;
            p->shape_at_run_time = true;
        } else
            n = op_need_const_i64(c, 2, shp, HODU_MAX_RANK, "output_shape");
        if (n < 0)
            return false;
        if (n != x->rank)
            return op_fail(c, "output_shape has %ld values for rank %d", n, x->rank);
        for (int i = 0; i < x->rank; i++) {
            if (shp[i] < 0 || (i < 2 && shp[i] != dims[i]))
                return op_fail(c, "output_shape value %" PRId64 " in dim %d is not valid", shp[i], i);
            p->out_dims[i] = shp[i];
        }
    }
    p->rank = x->rank;
    p->count = ir_value_numel(x);
    p->same = true;
    /* Saturating: the default shape is never allocated, only compared
     * against; the output's size is checked once inference sets it. */
    p->index_total = p->out_total = 1;
    for (int i = 0; i < p->rank; i++) {
        p->index_total = op_sat_mul(p->index_total, p->index_dims[i]);
        p->out_total = op_sat_mul(p->out_total, p->out_dims[i]);
        if (p->index_dims[i] != p->out_dims[i])
            p->same = false;
    }
    return true;
}

bool nn_infer_max_unpool(op_ctx *c)
{
    pool_unpool_plan p;
    if (!unpool_geom(c, &p))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, p.rank, p.out_dims);
    return true;
}

bool pool_unpool_plan_get(const ir_graph *g, int node, pool_unpool_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return unpool_geom(&c, p);
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec maxpool_attrs[] = {{"auto_pad", IR_ATTR_STRING}, {"ceil_mode", IR_ATTR_INT},
                                             {"dilations", IR_ATTR_INTS},  {"kernel_shape", IR_ATTR_INTS},
                                             {"pads", IR_ATTR_INTS},       {"storage_order", IR_ATTR_INT},
                                             {"strides", IR_ATTR_INTS},    {NULL, 0}};
static const op_attr_spec avgpool_attrs[] = {{"auto_pad", IR_ATTR_STRING},       {"ceil_mode", IR_ATTR_INT},
                                             {"count_include_pad", IR_ATTR_INT}, {"dilations", IR_ATTR_INTS},
                                             {"kernel_shape", IR_ATTR_INTS},     {"pads", IR_ATTR_INTS},
                                             {"strides", IR_ATTR_INTS},          {NULL, 0}};
static const op_attr_spec lppool_attrs[] = {{"auto_pad", IR_ATTR_STRING}, {"ceil_mode", IR_ATTR_INT},
                                            {"dilations", IR_ATTR_INTS},  {"kernel_shape", IR_ATTR_INTS},
                                            {"p", IR_ATTR_INT},           {"pads", IR_ATTR_INTS},
                                            {"strides", IR_ATTR_INTS},    {NULL, 0}};
static const op_attr_spec maxpool_grad_attrs[] = {{"ceil_mode", IR_ATTR_INT},     {"dilations", IR_ATTR_INTS},
                                                  {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS},
                                                  {"strides", IR_ATTR_INTS},      {NULL, 0}};
static const op_attr_spec unpool_attrs[] = {
    {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS}, {"strides", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec global_lp_attrs[] = {{"p", IR_ATTR_INT}, {NULL, 0}};

OP_DEF(MAX_POOL, .attrs = maxpool_attrs, .infer = nn_infer_pool, .grad = max_pool_grad);
OP_DEF(MAX_POOL_GRAD, .attrs = maxpool_grad_attrs, .infer = infer_max_pool_grad);
OP_DEF(MAX_UNPOOL, .attrs = unpool_attrs, .infer = nn_infer_max_unpool);
OP_DEF(AVERAGE_POOL, .attrs = avgpool_attrs, .infer = nn_infer_pool, .grad = avg_pool_grad);
OP_DEF(LP_POOL, .attrs = lppool_attrs, .infer = nn_infer_pool, .grad = avg_pool_grad);
OP_DEF(GLOBAL_AVERAGE_POOL, .infer = nn_infer_global_pool, .grad = global_pool_grad);
OP_DEF(GLOBAL_MAX_POOL, .infer = nn_infer_global_pool, .grad = global_pool_grad);
OP_DEF(GLOBAL_LP_POOL, .attrs = global_lp_attrs, .infer = nn_infer_global_pool, .grad = global_pool_grad);
