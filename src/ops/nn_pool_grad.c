/*
 * ops/nn_pool_grad.c - gradient rules of MaxPool, AveragePool,
 * GlobalAveragePool and GlobalMaxPool (ops.h, "gradient rules").
 *
 * MaxPool sends each output's gradient to its argmax: hodu.MaxPoolGrad
 * finds it again in X, one plane at a time, and adds the gradient there
 * (overlapping windows may pick the same input).  AveragePool spreads
 * dY / divisor evenly over the window: a ConvTranspose of each plane by a
 * kernel of ones, the window's adjoint (nn_grad_to_long).  LpPool,
 * y = (sum |x|^p)^(1/p), spreads dY y^(1-p) the same way, times
 * sign(x) |x|^(p-1).
 */
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"
#include "pool.h"

/* floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Along dim i, how many taps of output position o land in [lo, hi). */
static int64_t taps_in(const nn_window *w, int i, int64_t o, int64_t lo, int64_t hi)
{
    int64_t base = o * w->s[i] - w->pb[i]; /* tap k reads base + k d */
    int64_t first = floor_div(lo - base + w->d[i] - 1, w->d[i]);
    int64_t end = floor_div(hi - base + w->d[i] - 1, w->d[i]);
    first = first < 0 ? 0 : first;
    end = end > w->k[i] ? w->k[i] : end;
    return end > first ? end - first : 0;
}

/* True when every window reads at least one input element (else it has
 * no argmax and no divisor). */
static bool windows_reach_input(const nn_window *w)
{
    for (int i = 0; i < w->nd; i++)
        for (int64_t o = 0; o < w->out[i]; o++)
            if (taps_in(w, i, o, 0, w->in[i]) == 0)
                return false;
    return true;
}

int nn_grad_float_const(op_grad_ctx *c, int y, const double *v, int64_t n, int rank, const int64_t *dims)
{
    hodu_dtype dt = ir_val(c->g, y)->dtype;
    size_t es = ir_dtype_size(dt);
    void *data = ir_graph_keep(c->g, hd_xcalloc((size_t)(n ? n : 1), es));
    for (int64_t j = 0; j < n; j++) {
        if (dt == HODU_DTYPE_F64) {
            ((double *)data)[j] = v[j];
        } else {
            ((float *)data)[j] = (float)v[j];
        }
    }
    return ir_const_new(c->g, NULL, dt, rank, dims, data, (size_t)n * es);
}

/* AveragePool's divisor per output position: the product over dims of the
 * taps it counts (inside the input; with count_include_pad inside the
 * padded input, not the ceil_mode overhang).  A scalar when they are all
 * equal, else a constant [1, 1, O...]. */
static int avg_divisor(op_grad_ctx *c, const pool_plan *p, int y)
{
    const nn_window *w = &p->w;
    int nd = w->nd;
    double *div = hd_xmalloc((size_t)(p->out_plane ? p->out_plane : 1) * sizeof(double));
    bool uniform = true;
    for (int64_t j = 0; j < p->out_plane; j++) {
        int64_t rem = j, n = 1;
        for (int i = nd - 1; i >= 0; i--) {
            int64_t o = rem % w->out[i];
            rem /= w->out[i];
            int64_t lo = p->include_pad ? -w->pb[i] : 0, hi = p->include_pad ? w->in[i] + w->pe[i] : w->in[i];
            n *= taps_in(w, i, o, lo, hi); /* <= the elements of the window */
        }
        div[j] = (double)n;
        uniform &= div[j] == div[0];
    }
    int64_t dims[HODU_MAX_RANK] = {1, 1};
    memcpy(dims + 2, w->out, (size_t)nd * sizeof(int64_t));
    int r = uniform ? og_scalar(c, p->out_plane ? div[0] : 1, y)
                    : nn_grad_float_const(c, y, div, p->out_plane, nd + 2, dims);
    free(div);
    return r;
}

/* x [N, C, S...] as [N*C, 1, S...], one plane per image. */
static int planes(op_grad_ctx *c, int x, int64_t nc, int nd, const int64_t *sp)
{
    int64_t shp[HODU_MAX_RANK] = {nc, 1};
    memcpy(shp + 2, sp, (size_t)nd * sizeof(int64_t));
    return og_op2(c, "Reshape", x, og_i64s(c, shp, (size_t)nd + 2));
}

/* The pool's plan, when a rule can use it. */
static bool grad_plan(op_grad_ctx *c, pool_plan *p)
{
    if (!pool_plan_get(c->g, c->node, p))
        return og_none(c, "the pool's geometry is not known");
    if (!windows_reach_input(&p->w))
        return og_none(c, "a window lies wholly in the padding");
    return true;
}

/* d|x|^p / dx / p = sign(x) |x|^(p-1), without dividing by x. */
static int lp_slope(op_grad_ctx *c, int x, int64_t pw)
{
    if (pw == 1)
        return og_op1(c, "Sign", x);
    if (pw == 2)
        return x;
    return og_op2(c, "Mul", x, og_op2(c, "Pow", og_op1(c, "Abs", x), og_scalar(c, (double)(pw - 2), x)));
}

/* dY y^(1-p): y's gradient as the gradient of the sum of |x|^p, over p. */
static int lp_scale(op_grad_ctx *c, int y, int64_t pw)
{
    int dy = og_dy(c, 0);
    return pw == 1 ? dy : og_op2(c, "Mul", dy, og_op2(c, "Pow", y, og_scalar(c, (double)(1 - pw), y)));
}

bool avg_pool_grad(op_grad_ctx *c)
{
    pool_plan p;
    if (!grad_plan(c, &p))
        return false;
    bool lp = ir_nd(c->g, c->node)->op == OP_LP_POOL;
    int x = og_x(c, 0), y = og_y(c, 0), nd = p.w.nd;
    int q = lp ? lp_scale(c, y, p.p) : og_op2(c, "Div", og_dy(c, 0), avg_divisor(c, &p, y));
    int64_t kshape[HODU_MAX_RANK] = {1, 1};
    memcpy(kshape + 2, p.w.k, (size_t)nd * sizeof(int64_t));
    int ones = og_op2(c, "Expand", og_scalar(c, 1, y), og_i64s(c, kshape, (size_t)nd + 2));
    int r = nn_grad_to_long(c, planes(c, q, p.nc, nd, p.w.out), ones, &p.w, 1);
    if (r < 0)
        return false;
    r = og_op2(c, "Reshape", r, og_shape(c, x));
    c->dx[0] = lp ? og_op2(c, "Mul", r, lp_slope(c, x, p.p)) : r;
    return true;
}

/* hodu.MaxPoolGrad over the forward's window, its padding explicit (auto_pad
 * resolved); ceil_mode where the floor would drop the last window. */
bool max_pool_grad(op_grad_ctx *c)
{
    pool_plan p;
    if (!grad_plan(c, &p))
        return false;
    const nn_window *w = &p.w;
    size_t nd = (size_t)w->nd;
    int64_t pads[2 * NN_MAX_SPATIAL];
    memcpy(pads, w->pb, nd * sizeof(int64_t));
    memcpy(pads + nd, w->pe, nd * sizeof(int64_t));
    int64_t ceil_mode = 0;
    for (size_t i = 0; i < nd; i++)
        if ((w->in[i] + w->pb[i] + w->pe[i] - (w->k[i] - 1) * w->d[i] - 1) / w->s[i] + 1 != w->out[i])
            ceil_mode = 1;
    int ins[2] = {og_x(c, 0), og_dy(c, 0)};
    c->dx[0] = og_op_in(c, "hodu", "MaxPoolGrad", ins, 2);
    og_attr_ints(c, "kernel_shape", w->k, nd);
    og_attr_ints(c, "strides", w->s, nd);
    og_attr_ints(c, "dilations", w->d, nd);
    og_attr_ints(c, "pads", pads, 2 * nd);
    og_attr_int(c, "ceil_mode", ceil_mode);
    return true;
}

bool global_pool_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int op = n->op, x = og_x(c, 0), y = og_y(c, 0);
    int64_t pw = op == OP_GLOBAL_LP_POOL ? ir_attr_int(n, "p", 2) : 0;
    int dy = og_dy(c, 0); /* may add nodes, moving n: not read after it */
    const ir_value *xv = ir_val(c->g, x);
    int rank = xv->rank; /* xv moves once nodes are added */
    int64_t plane = 1;   /* at most X's element count */
    for (int i = 2; i < rank; i++)
        plane *= xv->dims[i].size;
    if (op == OP_GLOBAL_AVERAGE_POOL) {
        int q = og_op2(c, "Div", dy, og_scalar(c, plane ? (double)plane : 1, y));
        c->dx[0] = og_op2(c, "Expand", q, og_shape(c, x));
        return true;
    }
    if (op == OP_GLOBAL_LP_POOL) {
        c->dx[0] = og_op2(c, "Mul", lp_slope(c, x, pw), lp_scale(c, y, pw));
        return true;
    }
    if (op != OP_GLOBAL_MAX_POOL)
        return og_none(c, "the op has no gradient rule");
    /* To the maximum; ties share it evenly (a subgradient, as torch.amax). */
    int sel[3] = {og_op2(c, "Equal", x, y), og_scalar(c, 1, y), og_scalar(c, 0, y)};
    int hit = og_op(c, "Where", sel, 3);
    int64_t axes[HODU_MAX_RANK];
    for (int i = 2; i < rank; i++)
        axes[i - 2] = i;
    int share = dy;
    if (rank > 2) {
        int cnt = og_axes_op(c, "ReduceSum", hit, axes, (size_t)rank - 2);
        og_attr_int(c, "keepdims", 1);
        share = og_op2(c, "Div", dy, cnt);
    }
    c->dx[0] = og_op2(c, "Mul", hit, share);
    return true;
}
