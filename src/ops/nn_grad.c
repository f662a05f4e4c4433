/*
 * ops/nn_grad.c - gradient rules of MatMul, Gemm and Flatten (ops.h,
 * "gradient rules").
 */
#include "ops_impl.h"

/* x with its last two dims swapped (rank >= 2). */
static int swap_last2(op_grad_ctx *c, int x, int rank)
{
    int64_t perm[HODU_MAX_RANK];
    for (int i = 0; i < rank; i++)
        perm[i] = i;
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    int t = og_op1(c, "Transpose", x);
    og_attr_ints(c, "perm", perm, (size_t)rank);
    return t;
}

/* dY has Y's dims; a 1-D operand of MatMul stood for a matrix with a dim of
 * 1 that the result dropped. */
bool matmul_grad(op_grad_ctx *c)
{
    int a = og_x(c, 0), b = og_x(c, 1), y = og_y(c, 0), dy = og_dy(c, 0);
    int ra = ir_val(c->g, a)->rank, rb = ir_val(c->g, b)->rank, ry = ir_val(c->g, y)->rank;
    if (ra == 1 && rb == 1) { /* a dot product */
        if (c->want[0])
            c->dx[0] = og_op2(c, "Mul", dy, b);
        if (c->want[1])
            c->dx[1] = og_op2(c, "Mul", dy, a);
        return true;
    }
    /* As matrices: a [.., m, k], b [.., k, n], dy [.., m, n], where `..`
     * are y's batch dims. */
    int nbatch = ry - (ra == 1 ? 0 : 1) - (rb == 1 ? 0 : 1);
    ir_dim full[HODU_MAX_RANK] = {0};
    for (int i = 0; i < nbatch; i++)
        full[i] = ir_val(c->g, y)->dims[i];
    int64_t last = -1, before_last = -2;
    int dym = dy, am = a, bm = b;
    int rank = ry;
    if (ra == 1) {
        dym = og_axes_op(c, "Unsqueeze", dym, &before_last, 1);
        am = og_axes_op(c, "Unsqueeze", a, (int64_t[]){0}, 1);
        rank++;
    }
    if (rb == 1) {
        dym = og_axes_op(c, "Unsqueeze", dym, &last, 1);
        bm = og_axes_op(c, "Unsqueeze", b, &last, 1);
        rank++;
    }
    if (c->want[0]) {
        int ga = og_op2(c, "MatMul", dym, swap_last2(c, bm, rb == 1 ? 2 : rb)); /* [.., m, k] */
        if (ra == 1) {                                                          /* every dim but k is summed away */
            int64_t axes[HODU_MAX_RANK];
            for (int i = 0; i < rank - 1; i++)
                axes[i] = i;
            ga = og_axes_op(c, "ReduceSum", ga, axes, (size_t)rank - 1);
            og_attr_int(c, "keepdims", 0);
        } else {
            ga = og_unbroadcast_dims(c, ga, a, full, nbatch + 2, 2);
        }
        c->dx[0] = ga;
    }
    if (c->want[1]) {
        int gb = og_op2(c, "MatMul", swap_last2(c, am, ra == 1 ? 2 : ra), dym); /* [.., k, n] */
        if (rb == 1) {                                                          /* every dim but k */
            int64_t axes[HODU_MAX_RANK];
            size_t n = 0;
            for (int i = 0; i < rank; i++)
                if (i != rank - 2)
                    axes[n++] = i;
            gb = og_axes_op(c, "ReduceSum", gb, axes, n);
            og_attr_int(c, "keepdims", 0);
        } else {
            gb = og_unbroadcast_dims(c, gb, b, full, nbatch + 2, 2);
        }
        c->dx[1] = gb;
    }
    return true;
}

/* Y = alpha op(A) op(B) + beta C, with A and B matrices. */
bool gemm_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
    int a = og_x(c, 0), b = og_x(c, 1), y = og_y(c, 0), dy = og_dy(c, 0);
    int dys = alpha == 1.0 ? dy : og_op2(c, "Mul", dy, og_scalar(c, alpha, y));
    if (c->want[0]) { /* dY op(B)^T, transposed back when A was */
        int g = og_op2(c, "MatMul", dys, tb ? b : swap_last2(c, b, 2));
        c->dx[0] = ta ? swap_last2(c, g, 2) : g;
    }
    if (c->want[1]) { /* op(A)^T dY */
        int g = og_op2(c, "MatMul", ta ? a : swap_last2(c, a, 2), dys);
        c->dx[1] = tb ? swap_last2(c, g, 2) : g;
    }
    if (og_x(c, 2) >= 0 && c->want[2]) {
        int g = beta == 1.0 ? dy : og_op2(c, "Mul", dy, og_scalar(c, beta, y));
        c->dx[2] = og_unbroadcast(c, g, og_x(c, 2), y, 0);
    }
    return true;
}

bool flatten_grad(op_grad_ctx *c)
{
    c->dx[0] = og_op2(c, "Reshape", og_dy(c, 0), og_shape(c, og_x(c, 0)));
    return true;
}
