/*
 * ops/nn_resize_grad.c - the gradient rule of Resize and Upsample (ops.h,
 * "gradient rules").  Resizing is linear and separable: along each
 * resized axis Y = A X with A (out x in) built from the axis's taps
 * (resize.h), so dX = A^T dY axis by axis.  The matrices are constants
 * made at build time and applied by MatMul, which the backends run well;
 * every mode the taps describe (nearest, linear, cubic, antialias, each
 * coordinate transformation) is covered by the same code.  When scales,
 * sizes or roi come at run time the taps are only known then: the rule
 * makes hodu.ResizeGrad, which builds them as the forward lowering does
 * and adds each dY element into the inputs its taps read.
 */
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"
#include "resize.h"

/* A matrix constant no larger than this many elements per axis. */
#define RESIZE_GRAD_MAX_MATRIX ((int64_t)1 << 24)

/* The matrix of axis `axis` as a constant typed like `like` (a typed
 * value: the nodes a rule appends are typed later): A (out x in)
 * when `transposed` is false, else A^T; -1 when it is too large. */
static int axis_matrix(op_grad_ctx *c, const resize_plan *p, int axis, bool transposed, int like)
{
    int64_t in = p->in[axis], out = p->out[axis], numel;
    if (!hd_mul_i64(in, out, &numel) || numel > RESIZE_GRAD_MAX_MATRIX)
        return -1;
    resize_taps t;
    resize_axis_taps(p, axis, &t);
    double *a = hd_xcalloc((size_t)(numel ? numel : 1), sizeof(double));
    for (int64_t y = 0; y < t.count; y++) {
        if (t.ext[y])
            continue; /* extrapolation_value: a constant, no gradient */
        for (int k = 0; k < t.n; k++) {
            int64_t x = t.idx[y * t.n + k];
            a[transposed ? x * out + y : y * in + x] += t.w[y * t.n + k];
        }
    }
    resize_taps_free(&t);
    int64_t dims[2] = {transposed ? in : out, transposed ? out : in};
    int m = nn_grad_float_const(c, like, a, numel, 2, dims);
    free(a);
    return m;
}

/* hodu.ResizeGrad (X, roi, scales, sizes, dY) with the forward's
 * attributes. */
static bool run_time_grad(op_grad_ctx *c, const ir_node *n)
{
    int ins[5] = {og_x(c, 0), -1, -1, -1, -1};
    for (size_t i = 1; i < n->n_inputs && i < 4; i++)
        ins[i] = og_x(c, i);
    ins[4] = og_dy(c, 0);
    c->dx[0] = og_op_in(c, "hodu", "ResizeGrad", ins, 5);
    n = ir_nd(c->g, c->node); /* the nodes added above may have moved the node table */
    for (size_t k = 0; k < n->n_attrs; k++) {
        const ir_attr *a = &n->attrs[k];
        switch (a->kind) {
        case IR_ATTR_INT: og_attr_int(c, a->name, a->i); break;
        case IR_ATTR_FLOAT: og_attr_float(c, a->name, a->f); break;
        case IR_ATTR_INTS: og_attr_ints(c, a->name, a->ints, a->n); break;
        case IR_ATTR_STRING: ir_node_add_attr(c->g, c->last, a->name, IR_ATTR_STRING)->s = hd_xstrdup(a->s); break;
        default: break; /* Upsample's scales attribute: not the run-time form */
        }
    }
    return true;
}

bool resize_grad(op_grad_ctx *c)
{
    resize_plan p;
    if (!resize_plan_get(c->g, c->node, &p))
        return og_none(c, "its plan could not be read");
    const ir_node *n = ir_nd(c->g, c->node);
    for (size_t i = 1; i < n->n_inputs; i++)
        if (c->want[i])
            return og_none(c, "only X has a gradient, not roi, scales or sizes (give --wrt for X)");
    if (!c->want[0])
        return true;
    if (p.rt_dims)
        return og_none(c, "a Resize over run-time dims has no gradient yet; bind the dims with --dim SYM=N");
    if (p.at_run_time)
        return run_time_grad(c, n);
    int g = og_dy(c, 0), r = p.rank;
    for (int d = 0; d < r; d++) {
        if (!p.resized[d])
            continue;
        if (d == r - 2) { /* A^T (in x out) @ g[..., out, W] */
            int m = axis_matrix(c, &p, d, true, og_y(c, 0));
            if (m < 0)
                return og_none(c, "an axis's interpolation matrix would be too large");
            g = og_op2(c, "MatMul", m, g);
            continue;
        }
        int m = axis_matrix(c, &p, d, false, og_y(c, 0));
        if (m < 0)
            return og_none(c, "an axis's interpolation matrix would be too large");
        if (d == r - 1) { /* g[..., out] @ A (out x in) */
            g = og_op2(c, "MatMul", g, m);
            continue;
        }
        /* another axis: swapped with the last, which the swap undoes */
        int64_t perm[HODU_MAX_RANK];
        for (int k = 0; k < r; k++)
            perm[k] = k;
        perm[d] = r - 1;
        perm[r - 1] = d;
        g = og_op1(c, "Transpose", g);
        og_attr_ints(c, "perm", perm, (size_t)r);
        g = og_op2(c, "MatMul", g, m);
        g = og_op1(c, "Transpose", g);
        og_attr_ints(c, "perm", perm, (size_t)r);
    }
    c->dx[0] = g;
    return true;
}
