/*
 * ops/reduce.c - reductions and the ops built on them:
 *
 *   Reduce{Sum,Mean,Max,Min,Prod,L1,L2,LogSum,LogSumExp,SumSquare},
 *   ArgMax, ArgMin, CumSum, CumProd, TopK,
 *   Softmax, LogSoftmax, Hardmax,
 *   LayerNormalization, RMSNormalization, BatchNormalization,
 *   InstanceNormalization, GroupNormalization, LpNormalization,
 *   MeanVarianceNormalization,
 *   NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
 *
 * Semantics only: attribute schemas, inference, folding, and the plans
 * (reduce.h) that backends lower from.  The reductions' plan is a canonical
 * view of the input: size-1 dims dropped, neighbouring dims that play the
 * same role (reduced / kept) merged, so any reduction is a few nested loops
 * with literal strides; folding walks the same mask the plan comes from.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "reduce.h"

/* ======================================================================== */
/* Shared helpers                                                            */
/* ======================================================================== */

static bool is_numeric(hodu_dtype t) { return ir_dtype_is_float(t) || ir_dtype_is_int(t); }

static int64_t prod_dims(const int64_t *d, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= d[i];
    return p;
}

/* Fails unless numel(v) fits comfortably in int64 (shapes are checked once
 * here so the generated index arithmetic cannot overflow). */
static bool check_size(op_ctx *c, const ir_value *v)
{
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        int64_t d = v->dims[i].size;
        if (d < 0)
            return op_fail(c, "input '%s' has no static shape", v->name);
        if (d && n > ((int64_t)1 << 48) / d)
            return op_fail(c, "input '%s' is too large", v->name);
        n *= d;
    }
    return true;
}

/* The plan's view builder (reduce.h).  Strides are row-major over `dims`. */
void reduce_view_build(const int64_t *dims, int rank, const bool *mask, bool want_inner, reduce_view *p)
{
    memset(p, 0, sizeof(*p));
    int64_t gsize[HODU_MAX_RANK], gstride[HODU_MAX_RANK];
    bool gred[HODU_MAX_RANK];
    int ng = 0;
    int64_t stride = 1;
    int64_t strides[HODU_MAX_RANK];
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= dims[i];
    }
    p->out_numel = 1;
    p->red_numel = 1;
    for (int i = 0; i < rank; i++) {
        if (mask[i])
            p->red_numel *= dims[i];
        else
            p->out_numel *= dims[i];
        if (dims[i] == 1)
            continue;
        if (ng > 0 && gred[ng - 1] == mask[i]) {
            gsize[ng - 1] *= dims[i];
            gstride[ng - 1] = strides[i];
        } else {
            gsize[ng] = dims[i];
            gstride[ng] = strides[i];
            gred[ng] = mask[i];
            ng++;
        }
    }
    p->inner = 1;
    if (want_inner && ng > 0 && !gred[ng - 1]) {
        p->inner = gsize[ng - 1];
        ng--;
    }
    for (int k = 0; k < ng; k++) {
        reduce_loops *l = gred[k] ? &p->red : &p->outer;
        l->size[l->n] = gsize[k];
        l->stride[l->n] = gstride[k];
        l->n++;
    }
    /* output strides: the kept dims are the output's dims, row-major */
    int64_t os = p->inner;
    for (int k = p->outer.n - 1; k >= 0; k--) {
        p->outer.ostride[k] = os;
        os *= p->outer.size[k];
    }
}

/* The [outer][axis][inner] view used by single-axis ops; `axis` is
 * normalised here (inference checked its range). */
static void axis_view(const ir_value *v, int64_t axis, reduce_axis_view *av)
{
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(v, d);
    av->axis = (int)(axis < 0 ? axis + v->rank : axis);
    av->outer = prod_dims(d, 0, av->axis);
    av->len = v->rank ? d[av->axis] : 1;
    av->inner = prod_dims(d, av->axis + 1, v->rank);
}

/* ======================================================================== */
/* Reduce*                                                                   */
/* ======================================================================== */
/*
 * All ten reductions share one schema: `axes` as an attribute (every opset
 * up to 12 for ReduceSum, 17 for the others) or as an optional second input
 * (ReduceSum from 13, the rest from 18; accepted at any opset), `keepdims`
 * (default 1), and `noop_with_empty_axes` (with no axes: 0 reduces over
 * everything, 1 makes the op an identity).  Reducing over an empty set gives
 * the identity of the reduction (0 for sums, 1 for products, -inf/+inf for
 * max/min, log(0) = -inf for the log forms).
 */

static reduce_kind rkind_of(const ir_node *n)
{
    switch (n->op) {
    case OP_REDUCE_MEAN: return RED_MEAN;
    case OP_REDUCE_MAX: return RED_MAX;
    case OP_REDUCE_MIN: return RED_MIN;
    case OP_REDUCE_PROD: return RED_PROD;
    case OP_REDUCE_L1: return RED_L1;
    case OP_REDUCE_L2: return RED_L2;
    case OP_REDUCE_LOG_SUM: return RED_LOG_SUM;
    case OP_REDUCE_LOG_SUM_EXP: return RED_LOG_SUM_EXP;
    case OP_REDUCE_SUM_SQUARE: return RED_SUM_SQUARE;
    default: return RED_SUM;
    }
}

static const op_attr_spec reduce_attrs[] = {
    {"axes", IR_ATTR_INTS}, {"keepdims", IR_ATTR_INT}, {"noop_with_empty_axes", IR_ATTR_INT}, {NULL, 0}};

#define MAX_AXES 64

bool reduce_runtime_axes(const ir_graph *g, int node, reduce_axes_choice *ch)
{
    const ir_node *n = ir_nd(g, node);
    if (n->n_inputs < 2 || n->inputs[1] < 0 || n->n_outputs < 1 || n->outputs[0] < 0)
        return false;
    const ir_value *av = ir_val(g, n->inputs[1]), *in = ir_val(g, n->inputs[0]);
    int64_t want[HODU_MAX_RANK];
    int wrank = op_value_declared_shape(g, n->outputs[0], want);
    if (av->kind == IR_VALUE_CONST || av->dtype != HODU_DTYPE_I64 || av->rank != 1 || av->dims[0].size < 1 ||
        wrank < 0 || in->rank < 1 || !ir_value_is_static(in))
        return false;
    int r = in->rank;
    int64_t na = av->dims[0].size, d[HODU_MAX_RANK];
    ir_value_dims(in, d);
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    bool lse = rkind_of(n) == RED_LOG_SUM_EXP;
    reduce_view views[REDUCE_MAX_CHOICES];
    memset(ch, 0, sizeof(*ch));
    memset(ch->nest_of, -1, sizeof(ch->nest_of));
    /* every set of na distinct axes whose reduction has the declared shape */
    for (unsigned s = 1; s < (1u << r); s++) {
        int64_t dims[HODU_MAX_RANK];
        int nd = 0, bits = 0;
        bool mask[HODU_MAX_RANK];
        for (int i = 0; i < r; i++) {
            mask[i] = s >> i & 1;
            bits += mask[i];
            if (!mask[i])
                dims[nd++] = d[i];
            else if (keep)
                dims[nd++] = 1;
        }
        bool match = bits == na && nd == wrank;
        for (int i = 0; match && i < nd; i++)
            match = dims[i] == want[i];
        if (!match)
            continue;
        reduce_view v;
        reduce_view_build(d, r, mask, !lse, &v);
        int k = 0;
        while (k < ch->n && memcmp(&views[k], &v, sizeof(v)) != 0)
            k++;
        if (k == ch->n) {
            if (ch->n == REDUCE_MAX_CHOICES)
                return false;
            memcpy(&views[k], &v, sizeof(v)); /* padding too: views are compared bytewise */
            memcpy(ch->mask[k], mask, sizeof(mask));
            ch->n++;
        }
        ch->nest_of[s] = (signed char)k;
    }
    return ch->n > 0;
}

/* Works out which axes a Reduce node reduces.  Returns 1 when the node is an
 * identity (empty axes with noop_with_empty_axes), 0 otherwise, -1 on a bad
 * axes value (then *err names the problem; the caller frees it). */
static int reduce_mask(const ir_graph *g, const ir_node *n, int rank, bool *mask, char **err)
{
    int64_t axes[MAX_AXES];
    long na = 0;
    *err = NULL;
    const ir_value *av = n->n_inputs > 1 && n->inputs[1] >= 0 ? ir_val(g, n->inputs[1]) : NULL;
    if (av && av->kind != IR_VALUE_CONST && !(av->rank == 1 && av->dims[0].size == 0)) {
        int node = (int)(n - g->nodes);
        reduce_axes_choice ch;
        if (reduce_runtime_axes(g, node, &ch)) {
            memcpy(mask, ch.mask[0], (size_t)rank * sizeof(bool));
            return 0;
        }
        /* the declared output shape does not tell which axes it names */
        *err = av->kind == IR_VALUE_INPUT
                   ? hd_xasprintf("needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)",
                                  av->name, av->name)
                   : hd_xasprintf("axes ('%s') must be a build-time constant here: the declared output shape does not "
                                  "tell which axes it names",
                                  av->name);
        return -1;
    }
    if (av && av->kind != IR_VALUE_CONST) {
        na = 0; /* an empty axes input: its value is known */
    } else if (av) {
        na = ir_const_as_i64(g, n->inputs[1], axes, MAX_AXES);
        if (na < 0) {
            *err = hd_xasprintf("axes must be a constant integer tensor of at most %d elements", MAX_AXES);
            return -1;
        }
    } else {
        size_t cnt = 0;
        const int64_t *a = ir_attr_ints(n, "axes", &cnt);
        if (a) {
            if (cnt > MAX_AXES) {
                *err = hd_xasprintf("attribute 'axes' has %zu entries", cnt);
                return -1;
            }
            memcpy(axes, a, cnt * sizeof(int64_t));
            na = (long)cnt;
        }
    }
    for (int i = 0; i < rank; i++)
        mask[i] = false;
    if (na == 0) {
        if (ir_attr_int(n, "noop_with_empty_axes", 0) != 0)
            return 1;
        for (int i = 0; i < rank; i++)
            mask[i] = true;
        return 0;
    }
    for (long k = 0; k < na; k++) {
        int64_t a = axes[k];
        if (a < -(int64_t)rank || a >= (int64_t)rank) {
            if (rank == 0 && (a == 0 || a == -1))
                continue;
            *err = hd_xasprintf("axis %" PRId64 " is out of range for rank %d", a, rank);
            return -1;
        }
        mask[a < 0 ? a + rank : a] = true;
    }
    return 0;
}

static bool infer_reduce(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    reduce_kind k = rkind_of(n);
    bool ok_type = is_numeric(in->dtype) || ((k == RED_MAX || k == RED_MIN) && in->dtype == HODU_DTYPE_BOOL);
    if (!ok_type)
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (op_in_id(c, 1) >= 0 && op_in(c, 1)->kind == IR_VALUE_CONST) {
        int64_t tmp[MAX_AXES];
        if (op_need_const_i64(c, 1, tmp, MAX_AXES, "axes") < 0)
            return false;
    }
    bool mask[HODU_MAX_RANK];
    char *err = NULL;
    int r = reduce_mask(c->g, n, in->rank, mask, &err);
    if (r < 0) {
        op_fail(c, "%s", err);
        free(err);
        return false;
    }
    if (r == 1) {
        op_set_out_like(c, 0, in);
        return true;
    }
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    int64_t dims[HODU_MAX_RANK];
    int orank = 0;
    for (int i = 0; i < in->rank; i++) {
        if (!mask[i])
            dims[orank++] = in->dims[i].size;
        else if (keep)
            dims[orank++] = 1;
    }
    op_set_out(c, 0, in->dtype, orank, dims);
    return true;
}

bool reduce_plan_of(const ir_graph *g, int node, reduce_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    char *err = NULL;
    int r = reduce_mask(g, n, in->rank, p->mask, &err);
    free(err);
    if (r < 0)
        return false;
    p->kind = rkind_of(n);
    p->identity = r == 1;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(in, d);
    reduce_view_build(d, in->rank, p->mask, p->kind != RED_LOG_SUM_EXP, &p->view);
    return true;
}

/* Host-side evaluation for small constant inputs (shape arithmetic such as
 * ReduceProd over a Shape).  Integers in int64, floats in double; results
 * match the run-time code for integers and to rounding for floats. */
static bool fold_reduce(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    const ir_value *out = op_out(c, 0);
    reduce_kind k = rkind_of(op_node(c));
    int64_t numel = ir_value_numel(in);
    if (numel < 0 || numel > 4096 ||
        !(ir_dtype_is_int(in->dtype) || in->dtype == HODU_DTYPE_F32 || in->dtype == HODU_DTYPE_F64))
        return true; /* leave it to run time */
    if (k == RED_LOG_SUM_EXP || k == RED_LOG_SUM || k == RED_L2)
        return true;
    /* The plan the backends lower from: the same axes, the same count. */
    reduce_plan p;
    if (!reduce_plan_of(c->g, c->node, &p))
        return true;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(in, d);
    bool fl = ir_dtype_is_float(in->dtype);
    int64_t *iv = NULL;
    double *fv = NULL;
    if (fl) {
        fv = hd_xmalloc((size_t)(numel ? numel : 1) * sizeof(double));
        if (ir_const_as_f64(c->g, op_in_id(c, 0), fv, (size_t)numel) < 0) {
            free(fv);
            return true;
        }
    } else {
        iv = hd_xmalloc((size_t)(numel ? numel : 1) * sizeof(int64_t));
        if (ir_const_as_i64(c->g, op_in_id(c, 0), iv, (size_t)numel) < 0) {
            free(iv);
            return true;
        }
    }
    int64_t onumel = ir_value_numel(out);
    double *fa = hd_xcalloc((size_t)(onumel ? onumel : 1), sizeof(double));
    int64_t *ia = hd_xcalloc((size_t)(onumel ? onumel : 1), sizeof(int64_t));
    int64_t redn = p.view.red_numel; /* 1 for an identity: its mask is empty */
    for (int64_t o = 0; o < onumel; o++) {
        switch (k) {
        case RED_PROD: fa[o] = 1, ia[o] = 1; break;
        case RED_MAX: fa[o] = -INFINITY, ia[o] = INT64_MIN; break;
        case RED_MIN: fa[o] = INFINITY, ia[o] = INT64_MAX; break;
        default: break;
        }
    }
    for (int64_t i = 0; i < numel; i++) {
        /* output index: drop reduced coordinates */
        int64_t rem = i, o = 0, mul = 1;
        for (int ax = in->rank - 1; ax >= 0; ax--) {
            int64_t coord = d[ax] ? rem % d[ax] : 0;
            rem = d[ax] ? rem / d[ax] : 0;
            if (!p.mask[ax]) {
                o += coord * mul;
                mul *= d[ax];
            }
        }
        double fx = fl ? fv[i] : 0;
        int64_t ix = fl ? 0 : iv[i];
        switch (k) {
        case RED_PROD: fa[o] *= fx, ia[o] = (int64_t)((uint64_t)ia[o] * (uint64_t)ix); break;
        case RED_MAX:
            if (fx > fa[o] || fx != fx)
                fa[o] = fx;
            if (ix > ia[o])
                ia[o] = ix;
            break;
        case RED_MIN:
            if (fx < fa[o] || fx != fx)
                fa[o] = fx;
            if (ix < ia[o])
                ia[o] = ix;
            break;
        case RED_L1: fa[o] += fabs(fx), ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)(ix < 0 ? -ix : ix)); break;
        case RED_SUM_SQUARE: fa[o] += fx * fx, ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)ix * (uint64_t)ix); break;
        default: fa[o] += fx, ia[o] = (int64_t)((uint64_t)ia[o] + (uint64_t)ix); break;
        }
    }
    if (k == RED_MEAN)
        for (int64_t o = 0; o < onumel; o++) {
            fa[o] = fa[o] / (double)redn;
            ia[o] = redn ? ia[o] / redn : 0;
        }
    void *dst = op_fold_alloc(c, 0);
    for (int64_t o = 0; o < onumel; o++) {
        switch (out->dtype) {
        case HODU_DTYPE_F32: ((float *)dst)[o] = (float)fa[o]; break;
        case HODU_DTYPE_F64: ((double *)dst)[o] = fa[o]; break;
        case HODU_DTYPE_I8: ((int8_t *)dst)[o] = (int8_t)ia[o]; break;
        case HODU_DTYPE_U8: ((uint8_t *)dst)[o] = (uint8_t)ia[o]; break;
        case HODU_DTYPE_I16: ((int16_t *)dst)[o] = (int16_t)ia[o]; break;
        case HODU_DTYPE_U16: ((uint16_t *)dst)[o] = (uint16_t)ia[o]; break;
        case HODU_DTYPE_I32: ((int32_t *)dst)[o] = (int32_t)ia[o]; break;
        case HODU_DTYPE_U32: ((uint32_t *)dst)[o] = (uint32_t)ia[o]; break;
        case HODU_DTYPE_I64: ((int64_t *)dst)[o] = ia[o]; break;
        case HODU_DTYPE_U64: ((uint64_t *)dst)[o] = (uint64_t)ia[o]; break;
        default: break;
        }
    }
    free(fv);
    free(iv);
    free(fa);
    free(ia);
    return true;
}

/* ======================================================================== */
/* ArgMax, ArgMin                                                            */
/* ======================================================================== */
/* axis (default 0), keepdims (default 1), select_last_index (opset 12+,
 * default 0: the first extreme wins ties).  NaN counts as the extreme, as in
 * numpy.  Output int64. */

static const op_attr_spec arg_attrs[] = {
    {"axis", IR_ATTR_INT}, {"keepdims", IR_ATTR_INT}, {"select_last_index", IR_ATTR_INT}, {NULL, 0}};

static bool infer_arg(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar; it needs at least one axis", in->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), in->rank, &axis))
        return false;
    int64_t others = 1;
    for (int i = 0; i < in->rank; i++)
        others *= i == axis ? 1 : in->dims[i].size;
    if (in->dims[axis].size == 0 && others != 0)
        return op_fail(c, "axis %d of input '%s' is empty; there is no index to return", axis, in->name);
    bool keep = ir_attr_int(op_node(c), "keepdims", 1) != 0;
    int64_t dims[HODU_MAX_RANK];
    int r = 0;
    for (int i = 0; i < in->rank; i++) {
        if (i != axis)
            dims[r++] = in->dims[i].size;
        else if (keep)
            dims[r++] = 1;
    }
    op_set_out(c, 0, HODU_DTYPE_I64, r, dims);
    return true;
}

bool reduce_arg_plan_of(const ir_graph *g, int node, reduce_arg_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    axis_view(ir_val(g, n->inputs[0]), ir_attr_int(n, "axis", 0), &p->v);
    p->is_max = n->op == OP_ARG_MAX;
    p->select_last = ir_attr_int(n, "select_last_index", 0) != 0;
    return true;
}

/* ======================================================================== */
/* CumSum, CumProd                                                           */
/* ======================================================================== */
/* The axis is input 1, one int32 or int64; when it comes at run time the
 * lowering handles every axis and picks one when the model runs.
 * exclusive=1 leaves the element itself out (the first output is the
 * identity); reverse=1 runs from the end.  Integers wrap around as in two's
 * complement. */

static const op_attr_spec cum_attrs[] = {{"exclusive", IR_ATTR_INT}, {"reverse", IR_ATTR_INT}, {NULL, 0}};

static bool cum_axis(op_ctx *c, const ir_value *in, int *axis)
{
    const ir_value *av = op_in(c, 1);
    if (av && av->kind != IR_VALUE_CONST) {
        if ((av->dtype != HODU_DTYPE_I64 && av->dtype != HODU_DTYPE_I32) || ir_value_numel(av) != 1)
            return op_fail(c, "axis ('%s') must be one int32 or int64", av->name);
        if (in->rank == 0)
            return op_fail(c, "input '%s' is a scalar", in->name);
        *axis = -1; /* at run time */
        return true;
    }
    int64_t a[2];
    long na = op_need_const_i64(c, 1, a, 1, "axis");
    if (na < 0)
        return false;
    if (na != 1)
        return op_fail(c, "axis must hold one value");
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar", in->name);
    return op_axis(c, a[0], in->rank, axis);
}

static bool infer_cum(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    int axis;
    if (!cum_axis(c, in, &axis))
        return false;
    op_set_out_like(c, 0, in);
    return true;
}

bool reduce_cum_plan_of(const ir_graph *g, int node, int run_axis, reduce_cum_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    int64_t a[2];
    p->axis_at_run_time = ir_val(g, n->inputs[1])->kind != IR_VALUE_CONST;
    if (p->axis_at_run_time)
        a[0] = run_axis;
    else if (ir_const_as_i64(g, n->inputs[1], a, 1) != 1)
        return false;
    axis_view(ir_val(g, n->inputs[0]), a[0], &p->v);
    p->prod = n->op == OP_CUM_PROD;
    p->exclusive = ir_attr_int(n, "exclusive", 0) != 0;
    p->reverse = ir_attr_int(n, "reverse", 0) != 0;
    return true;
}

/* ======================================================================== */
/* TopK                                                                      */
/* ======================================================================== */
/* K is input 1 (opset 10+) or attribute k (opset 1).  Input 1 may be a
 * run-time value where the model declares the output shape: K is then the
 * declared size along the axis, and the lowering checks the value against
 * it when the model runs.
 * axis (default -1), largest (default 1), sorted (default 1; unsorted output
 * is allowed any order, so it is sorted too).  Equal values keep the lower
 * index first.  Outputs: values and int64 indices.  Kernel: insertion into
 * the sorted k-best list, written straight into the outputs. */

static const op_attr_spec topk_attrs[] = {
    {"axis", IR_ATTR_INT}, {"largest", IR_ATTR_INT}, {"sorted", IR_ATTR_INT}, {"k", IR_ATTR_INT}, {NULL, 0}};

/* A run-time K (input 1): the declared output's size along the axis, or -1
 * when the model does not declare a shape that fixes it. */
static int64_t topk_runtime_k(op_ctx *c, const ir_value *in, int axis)
{
    const ir_value *kv = op_in(c, 1);
    if (!kv || kv->kind == IR_VALUE_CONST || kv->dtype != HODU_DTYPE_I64 || !ir_value_is_static(kv) ||
        ir_value_numel(kv) != 1)
        return -1;
    int64_t dims[HODU_MAX_RANK];
    if (op_declared_shape(c, 0, dims) != in->rank)
        return -1;
    for (int i = 0; i < in->rank; i++)
        if (i != axis && dims[i] != in->dims[i].size)
            return -1;
    return dims[axis];
}

/* K is input 1, one int64 that only the run knows. */
static bool topk_k_at_run_time(const op_ctx *c)
{
    const ir_value *kv = op_in(c, 1);
    return kv && kv->kind != IR_VALUE_CONST && kv->dtype == HODU_DTYPE_I64 && ir_value_is_static(kv) &&
           ir_value_numel(kv) == 1;
}

static bool topk_k(op_ctx *c, int64_t *k)
{
    if (op_in_id(c, 1) >= 0) {
        int64_t v[2];
        long nv = op_need_const_i64(c, 1, v, 1, "K");
        if (nv < 0)
            return false;
        if (nv != 1)
            return op_fail(c, "K must hold one value");
        *k = v[0];
        return true;
    }
    const ir_attr *a = ir_attr_find(op_node(c), "k");
    if (!a)
        return op_fail(c, "needs K (input 1 or attribute 'k')");
    *k = a->i;
    return true;
}

static bool infer_topk(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!is_numeric(in->dtype))
        return op_fail(c, "input '%s' has unsupported type %s", in->name, ir_dtype_name(in->dtype));
    if (in->rank == 0)
        return op_fail(c, "input '%s' is a scalar", in->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", -1), in->rank, &axis))
        return false;
    int64_t k = topk_runtime_k(c, in, axis);
    /* K computed when the model runs (min(K, n) in a detector's
     * post-processing): the outputs' size along the axis is decided then,
     * at most the axis' size (a data symbol) */
    bool data_k = k < 0 && topk_k_at_run_time(c);
    if (data_k)
        k = in->dims[axis].size;
    else if (k < 0 && !topk_k(c, &k))
        return false;
    if (k < 0 || k > in->dims[axis].size)
        return op_fail(c, "K = %" PRId64 " is out of range for axis %d of size %" PRId64, k, axis, in->dims[axis].size);
    if (!op_out(c, 0) || !op_out(c, 1))
        return op_fail(c, "needs both outputs (values and indices)");
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(in, dims);
    dims[axis] = k;
    op_set_out(c, 0, in->dtype, in->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_I64, in->rank, dims);
    if (data_k) {
        ir_value_set_data_dep(op_out(c, 0), axis);
        ir_value_set_data_dep(op_out(c, 1), axis);
    }
    return true;
}

bool reduce_topk_plan_of(const ir_graph *g, int node, reduce_topk_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    axis_view(ir_val(g, n->inputs[0]), ir_attr_int(n, "axis", -1), &p->v);
    /* K as inference settled it: the values output's size along the axis
     * (its top when the run decides it) */
    p->k = ir_val(g, n->outputs[0])->dims[p->v.axis].size;
    p->run_k = ir_val(g, n->outputs[0])->dims[p->v.axis].data_dep;
    p->largest = ir_attr_int(n, "largest", 1) != 0;
    return true;
}

/* ======================================================================== */
/* Softmax, LogSoftmax, Hardmax                                              */
/* ======================================================================== */
/* Opset < 13: the input is viewed as 2-D [prod(dims[:axis]), prod(dims[axis:])]
 * and the op runs over each row; default axis 1.  Opset >= 13: the op runs
 * along the single axis `axis`, default -1.  Softmax and LogSoftmax subtract
 * the maximum first; Hardmax marks the first maximum with 1. */

static const op_attr_spec softmax_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool infer_softmax(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in || !check_size(c, in))
        return false;
    if (!ir_dtype_is_float(in->dtype))
        return op_fail(c, "input '%s' has type %s; %s takes floating-point tensors", in->name, ir_dtype_name(in->dtype),
                       op_node(c)->op_type);
    int axis;
    int64_t def = c->g->opset >= 13 ? -1 : 1;
    if (in->rank == 0) {
        int64_t a = ir_attr_int(op_node(c), "axis", def);
        if (a != 0 && a != -1 && a != 1)
            return op_fail(c, "axis %" PRId64 " is out of range for rank 0", a);
    } else if (c->g->opset < 13 && ir_attr_int(op_node(c), "axis", def) == in->rank) {
        /* legal in the 2-D view: rows of one element */
    } else if (!op_axis(c, ir_attr_int(op_node(c), "axis", def), in->rank, &axis)) {
        return false;
    }
    op_set_out_like(c, 0, in);
    return true;
}

bool reduce_softmax_plan_of(const ir_graph *g, int node, reduce_softmax_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    p->kind = n->op == OP_LOG_SOFTMAX ? RED_LOG_SOFTMAX : n->op == OP_HARDMAX ? RED_HARDMAX : RED_SOFTMAX;
    if (in->rank == 0) {
        p->outer = p->len = p->inner = 1;
        return true;
    }
    int64_t ax = ir_attr_int(n, "axis", g->opset >= 13 ? -1 : 1);
    if (g->opset < 13) {
        /* 2-D view; axis may equal the rank (rows of one element) */
        int64_t d[HODU_MAX_RANK];
        ir_value_dims(in, d);
        int axis = (int)(ax < 0 ? ax + in->rank : ax);
        p->outer = prod_dims(d, 0, axis);
        p->len = prod_dims(d, axis, in->rank);
        p->inner = 1;
    } else {
        reduce_axis_view v;
        axis_view(in, ax, &v);
        p->outer = v.outer;
        p->len = v.len;
        p->inner = v.inner;
    }
    return true;
}

/* ======================================================================== */
/* Normalizations                                                            */
/* ======================================================================== */

/* True when a parameter tensor p (Scale, B) broadcasts against the
 * trailing dims d[axis:] of X: it spans that suffix, or is a single value.
 * Reports otherwise. */
static bool param_fits(op_ctx *c, const ir_value *p, const ir_value *x, int axis, const char *what)
{
    int64_t numel = ir_value_numel(p);
    int64_t D = 1;
    for (int i = axis; i < x->rank; i++)
        D *= x->dims[i].size;
    if (numel == 1)
        return true;
    /* p's dims, leading 1s stripped, must equal x's suffix, leading 1s stripped */
    int pa = 0, xa = axis;
    while (pa < p->rank && p->dims[pa].size == 1)
        pa++;
    while (xa < x->rank && x->dims[xa].size == 1)
        xa++;
    bool ok = numel == D && p->rank - pa == x->rank - xa;
    for (int i = 0; ok && i < p->rank - pa; i++)
        ok = p->dims[pa + i].size == x->dims[xa + i].size;
    if (!ok) {
        return op_fail(c, "%s '%s' must have the shape of the normalized dims of '%s' (or one element)", what, p->name,
                       x->name);
    }
    return true;
}

/* --- LayerNormalization (opset 17) --------------------------------------- */
/* Y = (X - mean) / sqrt(var + epsilon) * Scale + B over dims [axis, rank)
 * (axis default -1, epsilon 1e-5).  Optional outputs Mean and InvStdDev have
 * X's leading dims and 1s after.  stash_type 1 (float) is the compute type
 * for f16/bf16 inputs; f64 inputs compute in double. */

static const op_attr_spec layernorm_attrs[] = {
    {"axis", IR_ATTR_INT}, {"epsilon", IR_ATTR_FLOAT}, {"stash_type", IR_ATTR_INT}, {NULL, 0}};

/* Mean / InvStdDev come out in the stash type (as onnxruntime does). */
static hodu_dtype stats_dtype(const ir_node *n)
{
    switch (ir_attr_int(n, "stash_type", 1)) {
    case 11: return HODU_DTYPE_F64;
    case 10: return HODU_DTYPE_F16;
    case 16: return HODU_DTYPE_BF16;
    default: return HODU_DTYPE_F32;
    }
}

static bool infer_norm_lastdims(op_ctx *c, bool layer)
{
    const ir_node *n = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    int64_t st_ = ir_attr_int(n, "stash_type", 1);
    if (st_ != 1 && st_ != 11 && st_ != 10 && st_ != 16)
        return op_fail(c, "stash_type %" PRId64 " is not supported", st_);
    if (x->rank == 0)
        return op_fail(c, "input '%s' is a scalar", x->name);
    int axis;
    if (!op_axis(c, ir_attr_int(n, "axis", -1), x->rank, &axis))
        return false;
    for (size_t i = 1; i < (layer ? 3u : 2u); i++) {
        const ir_value *p = op_in(c, i);
        if (!p)
            continue;
        if (!op_need_static(c, i) || !param_fits(c, p, x, axis, i == 1 ? "Scale" : "B"))
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
    }
    op_set_out_like(c, 0, x);
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < axis ? x->dims[i].size : 1;
    op_set_out(c, 1, stats_dtype(n), x->rank, dims);
    op_set_out(c, 2, stats_dtype(n), x->rank, dims);
    return true;
}

static bool infer_layernorm(op_ctx *c) { return infer_norm_lastdims(c, true); }
static bool infer_rmsnorm(op_ctx *c) { return infer_norm_lastdims(c, false); }

bool reduce_norm_plan_of(const ir_graph *g, int node, reduce_norm_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->rank == 0)
        return false;
    p->layer = n->op == OP_LAYER_NORMALIZATION;
    int64_t ax = ir_attr_int(n, "axis", -1);
    p->axis = (int)(ax < 0 ? ax + x->rank : ax);
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(x, d);
    p->rows = prod_dims(d, 0, p->axis);
    p->len = prod_dims(d, p->axis, x->rank);
    p->epsilon = ir_attr_float(n, "epsilon", 1e-5);
    int sc = n->n_inputs > 1 ? n->inputs[1] : -1, bi = p->layer && n->n_inputs > 2 ? n->inputs[2] : -1;
    p->scale_one = sc >= 0 && ir_value_numel(ir_val(g, sc)) == 1;
    p->bias_one = bi >= 0 && ir_value_numel(ir_val(g, bi)) == 1;
    return true;
}

/* --- BatchNormalization -------------------------------------------------- */
/* X [N, C, D1...]; scale, B, mean, var per channel.  Inference:
 * Y = (X - mean) * scale / sqrt(var + epsilon) + B.  training_mode=1
 * (opset 14+) normalises with the batch statistics (population variance)
 * and writes running_mean = mean * momentum + batch_mean * (1 - momentum),
 * likewise running_var.  Before opset 9 `spatial`=0 gives parameters of
 * shape [C, D1...]; is_test and consumed_inputs are accepted and ignored.
 * Old-opset training outputs (saved mean/var) are not supported. */

static const op_attr_spec batchnorm_attrs[] = {{"epsilon", IR_ATTR_FLOAT},
                                               {"momentum", IR_ATTR_FLOAT},
                                               {"training_mode", IR_ATTR_INT},
                                               {"spatial", IR_ATTR_INT},
                                               {"is_test", IR_ATTR_INT},
                                               {"consumed_inputs", IR_ATTR_INTS},
                                               {NULL, 0}};

static bool bn_training(const ir_graph *g, const ir_node *n)
{
    return g->opset >= 14 && ir_attr_int(n, "training_mode", 0) != 0;
}

static bool infer_batchnorm(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    int64_t C = x->dims[1].size, S = 1;
    for (int i = 2; i < x->rank; i++)
        S *= x->dims[i].size;
    for (size_t i = 1; i < 5; i++) {
        const ir_value *p = op_need_static(c, i);
        if (!p)
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
        int64_t pn = ir_value_numel(p);
        if (pn != C && !(pn == C * S && ir_attr_int(n, "spatial", 1) == 0))
            return op_fail(c, "input '%s' has %" PRId64 " elements; expected %" PRId64 " (one per channel)", p->name,
                           pn, C);
    }
    bool train = bn_training(c->g, n);
    size_t n_out = n->n_outputs;
    for (size_t i = 1; i < n_out; i++) {
        if (n->outputs[i] < 0 || (train && i <= 2))
            continue;
        if (c->g->opset < 14)
            return op_fail(c,
                           "output %zu (training statistics, opset %" PRId64 ") is not supported; only inference "
                           "and the training_mode of opset 14+ are",
                           i, c->g->opset);
        return op_fail(c, "output %zu (running statistics) needs training_mode=1", i);
    }
    op_set_out_like(c, 0, x);
    if (train) {
        op_set_out_like(c, 1, op_in(c, 3));
        op_set_out_like(c, 2, op_in(c, 4));
    }
    return true;
}

bool reduce_batchnorm_plan_of(const ir_graph *g, int node, reduce_batchnorm_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->rank < 2) /* inference refused it */
        return false;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(x, d);
    p->n = d[0];
    p->c = d[1];
    p->spatial = prod_dims(d, 2, x->rank);
    p->epsilon = ir_attr_float(n, "epsilon", 1e-5);
    p->momentum = ir_attr_float(n, "momentum", 0.9);
    p->training = bn_training(g, n);
    p->per_elem = ir_value_numel(ir_val(g, n->inputs[1])) != p->c;
    return true;
}

/* --- InstanceNormalization, GroupNormalization --------------------------- */
/* X [N, C, D1...].  InstanceNormalization normalises each (n, c) over D1...;
 * GroupNormalization each (n, group) over C/num_groups channels and D1...
 * Both: Y = (X - mean) / sqrt(var + epsilon) * scale[c] + bias[c].
 * GroupNormalization-18 took scale/bias per group, -21 per channel; the
 * element count tells which. */

static const op_attr_spec instnorm_attrs[] = {{"epsilon", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec groupnorm_attrs[] = {
    {"epsilon", IR_ATTR_FLOAT}, {"num_groups", IR_ATTR_INT}, {"stash_type", IR_ATTR_INT}, {NULL, 0}};

static bool infer_groupish(op_ctx *c)
{
    const ir_node *n = op_node(c);
    bool group = n->op == OP_GROUP_NORMALIZATION;
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    int64_t C = x->dims[1].size, G = C;
    if (group) {
        const ir_attr *a = ir_attr_find(n, "num_groups");
        if (!a)
            return op_fail(c, "attribute 'num_groups' is required");
        G = a->i;
        if (G <= 0 || C % G != 0)
            return op_fail(c, "num_groups %" PRId64 " does not divide the %" PRId64 " channels", G, C);
    }
    for (size_t i = 1; i < 3; i++) {
        const ir_value *p = op_need_static(c, i);
        if (!p)
            return false;
        if (!ir_dtype_is_float(p->dtype))
            return op_fail(c, "input '%s' has type %s", p->name, ir_dtype_name(p->dtype));
        int64_t pn = ir_value_numel(p);
        if (pn != C && pn != G)
            return op_fail(c, "input '%s' has %" PRId64 " elements; expected %" PRId64, p->name, pn, C);
    }
    op_set_out_like(c, 0, x);
    return true;
}

bool reduce_groupnorm_plan_of(const ir_graph *g, int node, reduce_groupnorm_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->rank < 2) /* inference refused it */
        return false;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(x, d);
    p->n = d[0];
    p->c = d[1];
    p->spatial = prod_dims(d, 2, x->rank);
    p->groups = n->op == OP_GROUP_NORMALIZATION ? ir_attr_int(n, "num_groups", p->c) : p->c;
    p->group_c = p->c / p->groups;
    p->len = p->group_c * p->spatial;
    p->epsilon = ir_attr_float(n, "epsilon", 1e-5);
    p->scale_per_channel = ir_value_numel(ir_val(g, n->inputs[1])) == p->c;
    p->bias_per_channel = ir_value_numel(ir_val(g, n->inputs[2])) == p->c;
    return true;
}

/* --- LpNormalization ----------------------------------------------------- */
/* Y = X / ||X||_p along `axis` (default -1), p 1 or 2 (default 2); a zero
 * norm gives 0. */

static const op_attr_spec lpnorm_attrs[] = {{"axis", IR_ATTR_INT}, {"p", IR_ATTR_INT}, {NULL, 0}};

static bool infer_lpnorm(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    int64_t p = ir_attr_int(op_node(c), "p", 2);
    if (p != 1 && p != 2)
        return op_fail(c, "attribute 'p' = %" PRId64 " is not supported (1 or 2)", p);
    if (x->rank == 0)
        return op_fail(c, "input '%s' is a scalar", x->name);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", -1), x->rank, &axis))
        return false;
    op_set_out_like(c, 0, x);
    return true;
}

bool reduce_lpnorm_plan_of(const ir_graph *g, int node, reduce_lpnorm_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    axis_view(ir_val(g, n->inputs[0]), ir_attr_int(n, "axis", -1), &p->v);
    p->l1 = ir_attr_int(n, "p", 2) == 1;
    return true;
}

/* --- MeanVarianceNormalization ------------------------------------------- */
/* Y = (X - mean) / (sqrt(var) + 1e-9) over `axes` (default [0, 2, 3]). */

static const op_attr_spec mvn_attrs[] = {{"axes", IR_ATTR_INTS}, {NULL, 0}};

bool mvn_mask(const ir_node *n, int rank, bool *mask)
{
    static const int64_t def[] = {0, 2, 3};
    size_t cnt = 0;
    const int64_t *a = ir_attr_ints(n, "axes", &cnt);
    if (!a) {
        a = def;
        cnt = 3;
    }
    for (int i = 0; i < rank; i++)
        mask[i] = false;
    for (size_t k = 0; k < cnt; k++) {
        if (a[k] < -(int64_t)rank || a[k] >= rank)
            return false;
        mask[a[k] < 0 ? a[k] + rank : a[k]] = true;
    }
    return true;
}

static bool infer_mvn(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    bool mask[HODU_MAX_RANK];
    if (!mvn_mask(op_node(c), x->rank, mask))
        return op_fail(c, "attribute 'axes' is out of range for rank %d", x->rank);
    op_set_out_like(c, 0, x);
    return true;
}

bool reduce_mvn_plan_of(const ir_graph *g, int node, reduce_mvn_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    bool mask[HODU_MAX_RANK];
    if (!mvn_mask(n, x->rank, mask))
        return false;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(x, d);
    reduce_view_build(d, x->rank, mask, false, &p->view);
    return true;
}

/* ======================================================================== */
/* Losses                                                                    */
/* ======================================================================== */
/* NegativeLogLikelihoodLoss(input [N, C, d...], target [N, d...], weight [C]?)
 * loss[n, d] = -input[n, target, d] * weight[target]; entries whose target
 * equals ignore_index contribute 0 and no weight.  reduction: "none" (shape
 * [N, d...]), "sum", or "mean" (default: sum / total weight).
 * SoftmaxCrossEntropyLoss(scores, labels, weights?) is the same over
 * log_prob = LogSoftmax(scores, axis 1); its optional second output is
 * log_prob.  A target outside [0, C) that is not ignore_index is undefined
 * in ONNX; here it counts as ignored (nothing is read out of bounds). */

static const op_attr_spec loss_attrs[] = {{"reduction", IR_ATTR_STRING}, {"ignore_index", IR_ATTR_INT}, {NULL, 0}};

static bool infer_loss(op_ctx *c)
{
    const ir_node *n = op_node(c);
    bool sce = n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const ir_value *x = op_need_static(c, 0), *tg = op_need_static(c, 1);
    if (!x || !tg || !check_size(c, x))
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (tg->dtype != HODU_DTYPE_I32 && tg->dtype != HODU_DTYPE_I64)
        return op_fail(c, "target '%s' has type %s; it must be int32 or int64", tg->name, ir_dtype_name(tg->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; it needs [N, C, ...]", x->name, x->rank);
    bool shape_ok = tg->rank == x->rank - 1 && tg->dims[0].size == x->dims[0].size;
    for (int i = 1; shape_ok && i < tg->rank; i++)
        shape_ok = tg->dims[i].size == x->dims[i + 1].size;
    if (!shape_ok)
        return op_fail(c, "target '%s' must have the shape of input '%s' without its class dim", tg->name, x->name);
    const ir_value *w = op_in(c, 2);
    if (w) {
        if (!op_need_static(c, 2))
            return false;
        if (w->rank != 1 || w->dims[0].size != x->dims[1].size)
            return op_fail(c, "weight '%s' must have shape [%" PRId64 "]", w->name, x->dims[1].size);
        if (!ir_dtype_is_float(w->dtype))
            return op_fail(c, "weight '%s' has type %s", w->name, ir_dtype_name(w->dtype));
    }
    const char *red = ir_attr_string(n, "reduction", "mean");
    if (strcmp(red, "none") == 0)
        op_set_out_like(c, 0, tg), ir_val(c->g, op_node(c)->outputs[0])->dtype = x->dtype;
    else if (strcmp(red, "sum") == 0 || strcmp(red, "mean") == 0)
        op_set_out(c, 0, x->dtype, 0, NULL);
    else
        return op_fail(c, "attribute 'reduction' = '%s' is not supported (none, sum, mean)", red);
    if (sce)
        op_set_out_like(c, 1, x);
    else if (op_out(c, 1))
        return op_fail(c, "has 2 outputs; NegativeLogLikelihoodLoss produces 1");
    return true;
}

bool reduce_loss_plan_of(const ir_graph *g, int node, reduce_loss_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->rank < 2) /* inference refused it */
        return false;
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(x, d);
    p->softmax = n->op == OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    p->n = d[0];
    p->classes = d[1];
    p->spatial = prod_dims(d, 2, x->rank);
    /* inference refused anything but these three */
    const char *red = ir_attr_string(n, "reduction", "mean");
    p->reduction = strcmp(red, "none") == 0 ? RED_LOSS_NONE : strcmp(red, "mean") == 0 ? RED_LOSS_MEAN : RED_LOSS_SUM;
    const ir_attr *ig = ir_attr_find(n, "ignore_index");
    p->has_ignore = ig != NULL;
    p->ignore_index = ig ? ig->i : 0;
    return true;
}

/* ======================================================================== */
/* The table                                                                 */
/* ======================================================================== */
/* The native backend's lowerings of these ops are in
 * src/backend/native/emit_reduce.c. */

#define REDUCE_OP(ID) OP_DEF(ID, .attrs = reduce_attrs, .infer = infer_reduce, .fold = fold_reduce, .grad = reduce_grad)

REDUCE_OP(REDUCE_SUM);
REDUCE_OP(REDUCE_MEAN);
REDUCE_OP(REDUCE_MAX);
REDUCE_OP(REDUCE_MIN);
REDUCE_OP(REDUCE_PROD);
REDUCE_OP(REDUCE_L1);
REDUCE_OP(REDUCE_L2);
REDUCE_OP(REDUCE_LOG_SUM);
REDUCE_OP(REDUCE_LOG_SUM_EXP);
REDUCE_OP(REDUCE_SUM_SQUARE);
OP_DEF(ARG_MAX, .attrs = arg_attrs, .infer = infer_arg);
OP_DEF(ARG_MIN, .attrs = arg_attrs, .infer = infer_arg);
OP_DEF(CUM_SUM, .attrs = cum_attrs, .infer = infer_cum, .grad = cumsum_grad);
OP_DEF(CUM_PROD, .attrs = cum_attrs, .infer = infer_cum, .grad = cumprod_grad);
OP_DEF(TOP_K, .attrs = topk_attrs, .infer = infer_topk, .grad = topk_grad);
OP_DEF(SOFTMAX, .attrs = softmax_attrs, .infer = infer_softmax, .grad = softmax_grad);
OP_DEF(LOG_SOFTMAX, .attrs = softmax_attrs, .infer = infer_softmax, .grad = softmax_grad);
OP_DEF(HARDMAX, .attrs = softmax_attrs, .infer = infer_softmax);
OP_DEF(LAYER_NORMALIZATION, .attrs = layernorm_attrs, .infer = infer_layernorm, .grad = layernorm_grad);
OP_DEF(RMS_NORMALIZATION, .attrs = layernorm_attrs, .infer = infer_rmsnorm, .grad = layernorm_grad);
OP_DEF(BATCH_NORMALIZATION, .attrs = batchnorm_attrs, .infer = infer_batchnorm, .grad = batchnorm_grad);
OP_DEF(INSTANCE_NORMALIZATION, .attrs = instnorm_attrs, .infer = infer_groupish, .grad = groupnorm_grad);
OP_DEF(GROUP_NORMALIZATION, .attrs = groupnorm_attrs, .infer = infer_groupish, .grad = groupnorm_grad);
OP_DEF(LP_NORMALIZATION, .attrs = lpnorm_attrs, .infer = infer_lpnorm, .grad = lpnorm_grad);
OP_DEF(MEAN_VARIANCE_NORMALIZATION, .attrs = mvn_attrs, .infer = infer_mvn, .grad = mvn_grad);
OP_DEF(NEGATIVE_LOG_LIKELIHOOD_LOSS, .attrs = loss_attrs, .infer = infer_loss, .grad = loss_grad);
OP_DEF(SOFTMAX_CROSS_ENTROPY_LOSS, .attrs = loss_attrs, .infer = infer_loss, .grad = loss_grad);
