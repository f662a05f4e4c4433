/*
 * ops/nn_sample_grad.c - gradient rules of the sampling ops (ops.h,
 * "gradient rules"): CenterCropPad.
 */
#include "ops_impl.h"

/* CenterCropPad moves a centred window: a crop from a to b starts at
 * (a - b) / 2, as does a pad from b to a, so the gradient is the same op
 * taking dy back to the input's extents on the same axes. */
bool center_crop_pad_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int x = og_x(c, 0);
    size_t na = 0;
    const int64_t *axes = ir_attr_ints(n, "axes", &na);
    int extents = og_shape(c, x);
    if (axes)
        extents = og_op2(c, "Gather", extents, og_i64s(c, axes, na));
    c->dx[0] = og_op2(c, "CenterCropPad", og_dy(c, 0), extents);
    if (axes)
        og_attr_ints(c, "axes", axes, na);
    return true;
}
