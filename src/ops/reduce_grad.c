/*
 * ops/reduce_grad.c - gradient rules of the reductions, Softmax and
 * LogSoftmax, CumSum, CumProd, TopK, the normalizations and the losses (ops.h,
 * "gradient rules").
 *
 * The reductions broadcast the output's gradient back over the reduced
 * axes: with keepdims=0 it is unsqueezed first, so every rule below works
 * on "kept" shapes that broadcast against the input.  The normalizations
 * recompute their statistics in the input's type instead of reading the
 * optional Mean / InvStdDev outputs, which are in the stash type (f32 for
 * an f64 input).
 */
#include <string.h>

#include "ops_impl.h"
#include "reduce.h"

static int mul(op_grad_ctx *c, int a, int b) { return og_op2(c, "Mul", a, b); }
static int sub(op_grad_ctx *c, int a, int b) { return og_op2(c, "Sub", a, b); }
static int num(op_grad_ctx *c, double v) { return og_scalar(c, v, og_x(c, 0)); }

/* cond ? a : b. */
static int where(op_grad_ctx *c, int cond, int a, int b)
{
    int ins[3] = {cond, a, b};
    return og_op(c, "Where", ins, 3);
}

/* v, with a zero replaced by one: a safe divisor where the dividend is
 * zero too. */
static int nonzero(op_grad_ctx *c, int v) { return where(c, og_op2(c, "Equal", v, num(c, 0)), num(c, 1), v); }

/* Reduction `op` of v over axes[0..n) with keepdims=1 (n > 0). */
static int reduce_keep(op_grad_ctx *c, const char *op, int v, const int64_t *axes, size_t n)
{
    int r = og_axes_op(c, op, v, axes, n);
    og_attr_int(c, "keepdims", 1);
    return r;
}

/* axes[] = lo, lo + 1, ..., hi - 1; returns the count. */
static size_t axis_range(int64_t *axes, int lo, int hi)
{
    size_t n = 0;
    for (int i = lo; i < hi; i++)
        axes[n++] = i;
    return n;
}

static int axis_attr(const ir_node *n, int64_t def, int rank)
{
    int64_t a = ir_attr_int(n, "axis", def);
    return (int)(a < 0 ? a + rank : a);
}

static int rank_of(const op_grad_ctx *c, int v) { return ir_val(c->g, v)->rank; }

/* The gradient of output i as given (-1: none, also for an output the node
 * does not have). */
static int given_dy(const op_grad_ctx *c, size_t i) { return og_y(c, i) >= 0 ? c->dy[i] : -1; }

/* ======================================================================== */
/* Reduce*                                                                   */
/* ======================================================================== */

/* The product of the other elements of each reduced set (x's shape), for
 * ReduceProd, exact where x has zeros (y / x alone would not be): with z
 * the zeros in the set and q the product of its nonzero elements, it is
 * q / x at a nonzero element when z = 0, q at the zero when z = 1, else 0. */
static int prod_of_others(op_grad_ctx *c, int x, const int64_t *axes, size_t n)
{
    int zero = num(c, 0), one = num(c, 1);
    int is0 = og_op2(c, "Equal", x, zero);
    int x1 = where(c, is0, one, x);
    int q = reduce_keep(c, "ReduceProd", x1, axes, n);
    int z = reduce_keep(c, "ReduceSum", where(c, is0, one, zero), axes, n);
    int at_zero = where(c, og_op2(c, "Equal", z, one), q, zero);
    int elsewhere = where(c, og_op2(c, "Equal", z, zero), og_op2(c, "Div", q, x1), zero);
    return where(c, is0, at_zero, elsewhere);
}

bool reduce_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int x = og_x(c, 0), y = og_y(c, 0), axv = og_x(c, 1);
    if (axv >= 0 && ir_val(c->g, axv)->kind != IR_VALUE_CONST && ir_value_numel(ir_val(c->g, axv)) != 0)
        return og_none(c, "its axes are computed at run time");
    reduce_plan p;
    if (!reduce_plan_of(c->g, c->node, &p))
        return og_none(c, "its axes are not known");
    int dy = og_dy(c, 0);
    if (p.identity) { /* noop_with_empty_axes */
        c->dx[0] = dy;
        return true;
    }
    const ir_value *xv = ir_val(c->g, x);
    int rank = xv->rank;
    int64_t axes[HODU_MAX_RANK];
    size_t na = 0;
    double count = 1;
    for (int i = 0; i < rank; i++)
        if (p.mask[i]) {
            axes[na++] = i;
            count *= (double)xv->dims[i].size;
            if (p.kind == RED_MEAN && (xv->dims[i].rt || xv->dims[i].data_dep))
                return og_none(c, "the mean is over a dim whose size the run decides");
        }
    /* dy and y in the kept shape, broadcasting against x */
    int dk = dy, yk = y;
    if (ir_attr_int(n, "keepdims", 1) == 0 && na > 0) {
        dk = og_axes_op(c, "Unsqueeze", dy, axes, na);
        yk = og_axes_op(c, "Unsqueeze", y, axes, na);
    }
    int g;
    switch (p.kind) {
    case RED_SUM: g = dk; break;
    case RED_MEAN: g = mul(c, dk, num(c, count > 0 ? 1 / count : 0)); break;
    case RED_LOG_SUM: g = og_op2(c, "Div", dk, og_op1(c, "Exp", yk)); break; /* dy / sum */
    case RED_LOG_SUM_EXP: g = mul(c, dk, og_op1(c, "Exp", sub(c, x, yk))); break;
    case RED_SUM_SQUARE: g = mul(c, dk, mul(c, x, num(c, 2))); break;
    case RED_L1: g = mul(c, dk, og_op1(c, "Sign", x)); break; /* 0 at 0, as PyTorch */
    case RED_L2: g = mul(c, dk, og_op2(c, "Div", x, nonzero(c, yk))); break;
    case RED_PROD: g = na ? mul(c, dk, prod_of_others(c, x, axes, na)) : dk; break;
    case RED_MAX:
    case RED_MIN: {
        /* to the elements equal to the result; a tie splits the gradient
         * evenly among them, as torch.amax / amin do */
        int hit = og_op2(c, "Equal", x, yk);
        int share = dk;
        if (na > 0)
            share = og_op2(c, "Div", dk, reduce_keep(c, "ReduceSum", where(c, hit, num(c, 1), num(c, 0)), axes, na));
        g = where(c, hit, share, num(c, 0));
        break;
    }
    default: return og_none(c, "the reduction has no gradient rule");
    }
    /* the forms that did not meet an x-shaped operand */
    if (p.kind == RED_SUM || p.kind == RED_MEAN || p.kind == RED_LOG_SUM)
        g = og_op2(c, "Expand", g, og_shape(c, x));
    c->dx[0] = g;
    return true;
}

/* ======================================================================== */
/* Softmax, LogSoftmax, CumSum, TopK                                         */
/* ======================================================================== */

/* Before opset 13 the op runs over the 2-D view [dims[:axis], dims[axis:]],
 * which is the reduction over every axis from `axis` on. */
bool softmax_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int y = og_y(c, 0), rank = rank_of(c, og_x(c, 0));
    bool new_axis = c->g->opset >= 13;
    int64_t axes[HODU_MAX_RANK];
    size_t na = 0;
    if (rank > 0) {
        int axis = axis_attr(n, new_axis ? -1 : 1, rank);
        na = axis_range(axes, axis, new_axis ? axis + 1 : rank);
    }
    if (na == 0) /* rows of one element: the result is constant */
        return true;
    bool log_softmax = n->op == OP_LOG_SOFTMAX; /* read before og_dy may add nodes (moving n) */
    int dy = og_dy(c, 0);
    if (log_softmax) /* dy - softmax * sum(dy) */
        c->dx[0] = sub(c, dy, mul(c, og_op1(c, "Exp", y), reduce_keep(c, "ReduceSum", dy, axes, na)));
    else /* y (dy - sum(dy y)) */
        c->dx[0] = mul(c, y, sub(c, dy, reduce_keep(c, "ReduceSum", mul(c, dy, y), axes, na)));
    return true;
}

/* The sum of the later outputs' gradients: a cumulative sum the other way,
 * exclusive when the forward one was. */
bool cumsum_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int ins[2] = {og_dy(c, 0), og_x(c, 1)};
    c->dx[0] = og_op(c, "CumSum", ins, 2);
    og_attr_int(c, "exclusive", ir_attr_int(n, "exclusive", 0) != 0);
    og_attr_int(c, "reverse", ir_attr_int(n, "reverse", 0) == 0);
    return true;
}

/* The values' gradient goes back where the indices say (distinct along the
 * axis, so scattering into zeros loses nothing). */
bool topk_grad(op_grad_ctx *c)
{
    if (c->g->opset < 11)
        return og_none(c, "needs ScatterElements (opset 11)");
    int x = og_x(c, 0);
    int zeros = og_op2(c, "Expand", num(c, 0), og_shape(c, x));
    int ins[3] = {zeros, og_y(c, 1), og_dy(c, 0)};
    c->dx[0] = og_op(c, "ScatterElements", ins, 3);
    og_attr_int(c, "axis", axis_attr(ir_nd(c->g, c->node), -1, rank_of(c, x)));
    return true;
}

/* ======================================================================== */
/* Normalizations                                                            */
/* ======================================================================== */

/* x normalised over axes[0..n): (x - mean) * rstd, without the centring for
 * RMS; *rstd = 1 / sqrt(var + eps) in the kept shape. */
static int normalise(op_grad_ctx *c, int x, const int64_t *axes, size_t n, double eps, bool centre, int *rstd)
{
    int xc = centre ? sub(c, x, reduce_keep(c, "ReduceMean", x, axes, n)) : x;
    int var = reduce_keep(c, "ReduceMean", mul(c, xc, xc), axes, n);
    *rstd = og_op1(c, "Reciprocal", og_op1(c, "Sqrt", og_op2(c, "Add", var, num(c, eps))));
    return mul(c, xc, *rstd);
}

/* The gradient through xhat = normalise(x), given g = d/dxhat:
 * rstd (g - mean(g) - xhat mean(g xhat)), without mean(g) for RMS. */
static int normalise_back(op_grad_ctx *c, int g, int xhat, int rstd, const int64_t *axes, size_t n, bool centre)
{
    int t = sub(c, g, mul(c, xhat, reduce_keep(c, "ReduceMean", mul(c, g, xhat), axes, n)));
    if (centre)
        t = sub(c, t, reduce_keep(c, "ReduceMean", g, axes, n));
    return mul(c, t, rstd);
}

/* LayerNormalization, RMSNormalization: over the dims from `axis` on,
 * with Scale and B broadcast over the leading dims. */
bool layernorm_grad(op_grad_ctx *c)
{
    if (given_dy(c, 1) >= 0 || given_dy(c, 2) >= 0)
        return og_none(c, "the Mean and InvStdDev outputs have no gradient rule");
    reduce_norm_plan p;
    if (!reduce_norm_plan_of(c->g, c->node, &p))
        return og_none(c, "the input is a scalar");
    int x = og_x(c, 0), y = og_y(c, 0), scale = og_x(c, 1), bias = p.layer ? og_x(c, 2) : -1;
    int rank = rank_of(c, x);
    if ((scale >= 0 && rank_of(c, scale) > rank) || (bias >= 0 && rank_of(c, bias) > rank))
        return og_none(c, "Scale or B has more dims than the input");
    int64_t axes[HODU_MAX_RANK];
    size_t na = axis_range(axes, p.axis, rank);
    int rstd, xhat = normalise(c, x, axes, na, p.epsilon, p.layer, &rstd);
    int dy = og_dy(c, 0);
    if (c->want[0])
        c->dx[0] = normalise_back(c, scale >= 0 ? mul(c, dy, scale) : dy, xhat, rstd, axes, na, p.layer);
    if (scale >= 0)
        og_set(c, 1, mul(c, dy, xhat), y);
    if (bias >= 0)
        og_set(c, 2, dy, y);
    return true;
}

/* p ([C], or any shape of C elements) as [C, 1, ...], broadcasting against
 * [N, C, ...] of rank `rank`. */
static int per_channel(op_grad_ctx *c, int p, int64_t channels, int rank)
{
    int64_t shape[HODU_MAX_RANK];
    shape[0] = channels;
    for (int i = 1; i < rank - 1; i++)
        shape[i] = 1;
    return og_op2(c, "Reshape", p, og_i64s(c, shape, (size_t)rank - 1));
}

/* v ([N, C, ...]) summed over all but dim 1, in the shape of parameter p. */
static int channel_sum(op_grad_ctx *c, int v, int p, int rank)
{
    int64_t axes[HODU_MAX_RANK];
    size_t na = 0;
    for (int i = 0; i < rank; i++)
        if (i != 1)
            axes[na++] = i;
    return og_op2(c, "Reshape", reduce_keep(c, "ReduceSum", v, axes, na), og_shape(c, p));
}

/* BatchNormalization with training_mode=1: x normalised over every dim but
 * the channel's with the batch's mean and (population) variance, as
 * LayerNormalization normalises over its axes; the running mean and var
 * outputs are statistics, not differentiated, and the input mean and var
 * only feed them. */
static bool batchnorm_train_grad(op_grad_ctx *c, const reduce_batchnorm_plan *p, int x, int rank, int dy)
{
    if (given_dy(c, 1) >= 0 || given_dy(c, 2) >= 0)
        return og_none(c, "the running mean and var outputs have no gradient rule");
    int64_t axes[HODU_MAX_RANK];
    size_t na = 0;
    for (int i = 0; i < rank; i++)
        if (i != 1)
            axes[na++] = i;
    int rstd, xhat = normalise(c, x, axes, na, p->epsilon, true, &rstd);
    if (c->want[0])
        c->dx[0] = normalise_back(c, mul(c, dy, per_channel(c, og_x(c, 1), p->c, rank)), xhat, rstd, axes, na, true);
    if (c->want[1])
        c->dx[1] = channel_sum(c, mul(c, dy, xhat), og_x(c, 1), rank);
    if (c->want[2])
        c->dx[2] = channel_sum(c, dy, og_x(c, 2), rank);
    return true;
}

/* A BatchNormalization parameter broadcasting against x [N, C, ...]: per
 * channel, or per channel and position ([C, D1, ...]) when per_elem
 * (spatial=0 before opset 9). */
static int bn_param(op_grad_ctx *c, int p, const reduce_batchnorm_plan *plan, int x, int rank)
{
    if (!plan->per_elem)
        return per_channel(c, p, plan->c, rank);
    int64_t d[HODU_MAX_RANK];
    ir_value_dims(ir_val(c->g, x), d);
    return og_op2(c, "Reshape", p, og_i64s(c, d + 1, (size_t)rank - 1));
}

/* v ([N, C, ...]) summed to the shape of parameter p: over all but C, or
 * over N alone when per_elem. */
static int bn_param_sum(op_grad_ctx *c, int v, int p, const reduce_batchnorm_plan *plan, int rank)
{
    if (!plan->per_elem)
        return channel_sum(c, v, p, rank);
    int64_t batch = 0;
    return og_op2(c, "Reshape", reduce_keep(c, "ReduceSum", v, &batch, 1), og_shape(c, p));
}

/* BatchNormalization at inference: an affine map per channel (or per
 * channel and position), y = (x - mean) k + B with k = scale / sqrt(var
 * + eps). */
bool batchnorm_grad(op_grad_ctx *c)
{
    reduce_batchnorm_plan p;
    if (!reduce_batchnorm_plan_of(c->g, c->node, &p))
        return og_none(c, "the input has rank < 2");
    int x = og_x(c, 0), rank = rank_of(c, x), dy = og_dy(c, 0);
    if (p.training && p.per_elem)
        return og_none(c, "training_mode=1 with parameters per position (spatial=0) has no rule");
    if (p.training)
        return batchnorm_train_grad(c, &p, x, rank, dy);
    int scale = bn_param(c, og_x(c, 1), &p, x, rank);
    int inv = og_op1(c, "Reciprocal",
                     og_op1(c, "Sqrt", og_op2(c, "Add", bn_param(c, og_x(c, 4), &p, x, rank), num(c, p.epsilon))));
    int k = mul(c, scale, inv);
    int xc = sub(c, x, bn_param(c, og_x(c, 3), &p, x, rank));
    if (c->want[0])
        c->dx[0] = mul(c, dy, k);
    if (c->want[1])
        c->dx[1] = bn_param_sum(c, mul(c, dy, mul(c, xc, inv)), og_x(c, 1), &p, rank);
    if (c->want[2])
        c->dx[2] = bn_param_sum(c, dy, og_x(c, 2), &p, rank);
    if (c->want[3]) /* -k sum(dy) */
        c->dx[3] = bn_param_sum(c, mul(c, dy, og_op1(c, "Neg", k)), og_x(c, 3), &p, rank);
    if (c->want[4]) /* d/dvar of xc scale (var + eps)^-1/2 = -xc k inv^2 / 2 */
        c->dx[4] = bn_param_sum(c, mul(c, dy, mul(c, xc, mul(c, k, mul(c, inv, mul(c, inv, num(c, -0.5)))))),
                                og_x(c, 4), &p, rank);
    return true;
}

/* InstanceNormalization and GroupNormalization: x [N, C, ...] seen as
 * [N, G, L] (G = C for instances), normalised over L; scale and bias per
 * channel, or per group (GroupNormalization-18). */
bool groupnorm_grad(op_grad_ctx *c)
{
    reduce_groupnorm_plan p;
    if (!reduce_groupnorm_plan_of(c->g, c->node, &p))
        return og_none(c, "the input has rank < 2");
    int x = og_x(c, 0), rank = rank_of(c, x), dy = og_dy(c, 0);
    if (p.len <= 1)
        return og_none(c, "each group holds a single element");
    const int64_t view_shape[3] = {0, p.groups, -1}, last = 2, not_group[2] = {0, 2};
    int view = og_i64s(c, view_shape, 3);
    int xr = og_op2(c, "Reshape", x, view);
    int rstd, xhat_r = normalise(c, xr, &last, 1, p.epsilon, true, &rstd);
    int dy_r = og_op2(c, "Reshape", dy, view);
    bool per_ch[2] = {p.scale_per_channel, p.bias_per_channel};
    /* scale and bias broadcasting against [N, C, ...] or against [N, G, L] */
    int sc = per_ch[0] ? per_channel(c, og_x(c, 1), p.c, rank) : per_channel(c, og_x(c, 1), p.groups, 3);
    if (c->want[0]) {
        int g_r = per_ch[0] ? og_op2(c, "Reshape", mul(c, dy, sc), view) : mul(c, dy_r, sc);
        c->dx[0] = og_op2(c, "Reshape", normalise_back(c, g_r, xhat_r, rstd, &last, 1, true), og_shape(c, x));
    }
    for (size_t i = 1; i < 3; i++) {
        if (!c->want[i])
            continue;
        int term = i == 1 ? mul(c, dy_r, xhat_r) : dy_r; /* [N, G, L] */
        int pi = og_x(c, i);
        if (per_ch[i - 1])
            c->dx[i] = channel_sum(c, og_op2(c, "Reshape", term, og_shape(c, x)), pi, rank);
        else
            c->dx[i] = og_op2(c, "Reshape", reduce_keep(c, "ReduceSum", term, not_group, 2), og_shape(c, pi));
    }
    return true;
}

/* y = x / ||x||_p along the axis: dx = (dy - s sum(dy y)) / ||x||, with
 * s = y for p = 2 and sign(x) for p = 1.  A zero norm (y = 0) passes dy
 * through. */
bool lpnorm_grad(op_grad_ctx *c)
{
    reduce_lpnorm_plan p;
    reduce_lpnorm_plan_of(c->g, c->node, &p);
    int x = og_x(c, 0), y = og_y(c, 0), dy = og_dy(c, 0);
    int64_t axis = p.v.axis;
    int norm = reduce_keep(c, p.l1 ? "ReduceL1" : "ReduceL2", x, &axis, 1);
    int s = p.l1 ? og_op1(c, "Sign", x) : y;
    int t = sub(c, dy, mul(c, s, reduce_keep(c, "ReduceSum", mul(c, dy, y), &axis, 1)));
    c->dx[0] = og_op2(c, "Div", t, nonzero(c, norm));
    return true;
}

/* ======================================================================== */
/* Losses                                                                    */
/* ======================================================================== */

/* A 1-D constant [a, b] of the type of value `like`. */
static int pair(op_grad_ctx *c, double a, double b, int like)
{
    hodu_dtype dt = ir_val(c->g, like)->dtype;
    int64_t two = 2;
    if (dt == HODU_DTYPE_F64) {
        double *d = ir_graph_keep(c->g, hd_xcalloc(2, sizeof(double)));
        d[0] = a, d[1] = b;
        return ir_const_new(c->g, NULL, dt, 1, &two, d, 2 * sizeof(double));
    }
    float *f = ir_graph_keep(c->g, hd_xcalloc(2, sizeof(float)));
    f[0] = (float)a, f[1] = (float)b;
    return ir_const_new(c->g, NULL, HODU_DTYPE_F32, 1, &two, f, 2 * sizeof(float));
}

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.  With
 * loss = -sum_i w_i logp[i, t_i] (w_i: the target's weight, 0 where the
 * target is ignored or out of range; divided by sum w for "mean"), the
 * gradient is -w_i dy_i onehot(t_i) w.r.t. logp, and w_i dy_i
 * (softmax - onehot(t_i)) w.r.t. the scores: a few elementwise nodes over
 * [N, C, ...]. */
bool loss_grad(op_grad_ctx *c)
{
    if (c->want[2])
        return og_none(c, "there is no gradient rule w.r.t. the class weights (give --wrt for the scores)");
    reduce_loss_plan p;
    if (!reduce_loss_plan_of(c->g, c->node, &p))
        return og_none(c, "the input has rank < 2");
    int x = og_x(c, 0), t = og_x(c, 1), w = og_x(c, 2), rank = rank_of(c, x);
    int64_t class_axis = 1, zero_i = 0;
    if (ir_val(c->g, t)->dtype != HODU_DTYPE_I64) {
        t = og_op1(c, "Cast", t);
        og_attr_int(c, "to", 7); /* int64 */
    }
    int z = og_i64s(c, &zero_i, 1);
    int valid =
        og_op2(c, "And", og_op1(c, "Not", og_op2(c, "Less", t, z)), og_op2(c, "Less", t, og_i64s(c, &p.classes, 1)));
    if (p.has_ignore)
        valid = og_op2(c, "And", valid, og_op1(c, "Not", og_op2(c, "Equal", t, og_i64s(c, &p.ignore_index, 1))));
    t = where(c, valid, t, z); /* in range for Gather and OneHot; its weight is 0 */
    int wt = where(c, valid, w >= 0 ? og_op2(c, "Gather", w, t) : num(c, 1), num(c, 0));
    if (p.reduction == RED_LOSS_MEAN) {
        int total = og_op1(c, "ReduceSum", wt); /* over everything */
        og_attr_int(c, "keepdims", 0);
        wt = og_op2(c, "Div", wt, total);
    }
    int coef = -1, soft = -1;
    if (given_dy(c, 0) >= 0)
        coef = og_axes_op(c, "Unsqueeze", mul(c, wt, c->dy[0]), &class_axis, 1);
    if (p.softmax) {
        int lp = og_y(c, 1);
        if (lp >= 0) { /* the forward computed log_prob already */
            soft = og_op1(c, "Exp", lp);
        } else if (c->g->opset >= 13 || rank == 2) {
            soft = og_op1(c, "Softmax", x);
            og_attr_int(c, "axis", 1);
        } else { /* Softmax-12 would flatten the dims from 1 on */
            int e = og_op1(c, "Exp", sub(c, x, reduce_keep(c, "ReduceMax", x, &class_axis, 1)));
            soft = og_op2(c, "Div", e, reduce_keep(c, "ReduceSum", e, &class_axis, 1));
        }
    }
    int dx = -1;
    if (coef >= 0) {
        int ins[3] = {t, og_i64s(c, &p.classes, 1), pair(c, 0, 1, x)};
        int onehot = og_op(c, "OneHot", ins, 3);
        og_attr_int(c, "axis", 1);
        dx = p.softmax ? mul(c, sub(c, soft, onehot), coef) : mul(c, onehot, og_op1(c, "Neg", coef));
    }
    int d1 = given_dy(c, 1);
    if (p.softmax && d1 >= 0) { /* log_prob read downstream: LogSoftmax's rule */
        int back = sub(c, d1, mul(c, soft, reduce_keep(c, "ReduceSum", d1, &class_axis, 1)));
        dx = dx >= 0 ? og_op2(c, "Add", dx, back) : back;
    }
    c->dx[0] = dx;
    return true;
}

/* MeanVarianceNormalization: y = xc / d over `axes`, xc = x - mean,
 * d = s + 1e-9, s = sqrt(mean(xc^2)).  With g = dy:
 * dx = (g - mean(g)) / d - xc mean(g xc) / (d^2 s); where s = 0, xc = 0
 * too and the second term vanishes (s is made a safe divisor). */
bool mvn_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int x = og_x(c, 0), rank = rank_of(c, x);
    bool mask[HODU_MAX_RANK];
    int64_t axes[HODU_MAX_RANK];
    size_t na = 0;
    if (rank > HODU_MAX_RANK || !mvn_mask(n, rank, mask))
        return og_none(c, "its axes do not fit the input");
    for (int i = 0; i < rank; i++)
        if (mask[i])
            axes[na++] = i;
    if (na == 0)
        return og_none(c, "its axes do not fit the input");
    int xc = sub(c, x, reduce_keep(c, "ReduceMean", x, axes, na));
    int s = og_op1(c, "Sqrt", reduce_keep(c, "ReduceMean", mul(c, xc, xc), axes, na));
    int d = og_op2(c, "Add", s, num(c, 1e-9));
    int g = og_dy(c, 0);
    int first = og_op2(c, "Div", sub(c, g, reduce_keep(c, "ReduceMean", g, axes, na)), d);
    int k =
        og_op2(c, "Div", reduce_keep(c, "ReduceMean", mul(c, g, xc), axes, na), mul(c, mul(c, d, d), nonzero(c, s)));
    c->dx[0] = sub(c, first, mul(c, xc, k));
    return true;
}

/* CumSum (cum = false) or CumProd of v along the node's axis, with the
 * given exclusive and reverse flags. */
static int cum_of(op_grad_ctx *c, bool prod, int v, bool exclusive, bool reverse)
{
    int ins[2] = {v, og_x(c, 1)};
    int r = og_op(c, prod ? "CumProd" : "CumSum", ins, 2);
    og_attr_int(c, "exclusive", exclusive);
    og_attr_int(c, "reverse", reverse);
    return r;
}

/* CumProd, exact with zeros.  dx[j] = sum over the outputs k whose product
 * holds x[j] of g[k] times that product without x[j].  Along the scan's
 * direction, with z the first zero of x:
 *   - before z, x[j] != 0: dx[j] = (reverse CumSum of g y)[j] / x[j]
 *     (products past z are 0, and so are their terms);
 *   - at z: the product of the elements before z (an exclusive CumProd of
 *     x with zeros as ones) times the reverse CumSum of g C, C the CumProd
 *     of x with every element up to z made one (the products from z on,
 *     without x[z]);
 *   - after z: 0, every product holding x[j] holds x[z] too.
 * The reverse CumSums take the node's exclusive flag, the scans whose
 * outputs hold x[j] being the k > j (exclusive) or k >= j. */
bool cumprod_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    bool ex = ir_attr_int(n, "exclusive", 0) != 0, rev = ir_attr_int(n, "reverse", 0) != 0;
    int x = og_x(c, 0), y = og_y(c, 0), g = og_dy(c, 0);
    int zero = num(c, 0), one = num(c, 1);
    int is0 = og_op2(c, "Equal", x, zero);
    int zeros_before = cum_of(c, false, where(c, is0, one, zero), true, rev);
    int none_before = og_op2(c, "Equal", zeros_before, zero);
    int xs = where(c, is0, one, x);
    int before_z = og_op2(c, "Div", cum_of(c, false, mul(c, g, y), ex, !rev), xs);
    int cprod = cum_of(c, true, where(c, none_before, one, x), ex, rev);
    int at_z = mul(c, cum_of(c, true, xs, true, rev), cum_of(c, false, mul(c, g, cprod), ex, !rev));
    c->dx[0] = where(c, none_before, where(c, is0, at_z, before_z), zero);
    return true;
}
