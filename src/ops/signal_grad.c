/*
 * ops/signal_grad.c - the gradient rule of DFT (ops.h, "gradient rules").
 */
#include "ops_impl.h"

/* DFT is linear: y = F x (inverse: y = conj(F) x / n), so dx = F^H dy,
 * n times the inverse transform of dy (the forward transform of dy over n
 * for an inverse DFT).  A onesided output kept the first n/2 + 1 bins:
 * dy is padded back to n with zeros; a real input takes the real parts. */
bool dft_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    bool v17 = n->op == OP_DFT_17;
    int x = og_x(c, 0);
    const ir_value *xv = ir_val(c->g, x);
    if (og_x(c, 1) >= 0)
        return og_none(c, "dft_length has no gradient rule");
    int rank = xv->rank;
    int64_t axis = v17 ? ir_attr_int(n, "axis", 1) : -2;
    int axis_in = v17 ? -1 : og_x(c, 2);
    if (axis_in >= 0) {
        const ir_value *av = ir_val(c->g, axis_in);
        if (av->kind != IR_VALUE_CONST || av->dtype != HODU_DTYPE_I64 || ir_value_numel(av) != 1)
            return og_none(c, "the axis must be an int64 constant");
        axis = *(const int64_t *)av->data;
    }
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank - 1 || xv->dims[axis].rt || xv->dims[axis].data_dep)
        return og_none(c, "its axis does not fit the input, or its length is not known when the model is built");
    bool inverse = ir_attr_int(n, "inverse", 0) != 0, onesided = ir_attr_int(n, "onesided", 0) != 0;
    if (onesided && inverse)
        return og_none(c, "a onesided inverse DFT has no gradient rule");
    /* read before any node is added: new values may move xv */
    int64_t len = xv->dims[axis].size;
    bool real_input = xv->dims[rank - 1].size == 1;
    int g = og_dy(c, 0);
    if (onesided) { /* bins len/2 + 1 .. len - 1 were dropped */
        int64_t pads[2 * HODU_MAX_RANK] = {0};
        pads[rank + axis] = len - (len / 2 + 1);
        int ins[2] = {g, og_i64s(c, pads, 2 * (size_t)rank)};
        g = og_op(c, "Pad", ins, 2);
    }
    int ins[3] = {g, -1, v17 ? -1 : og_i64s(c, &axis, 1)};
    if (!v17) /* a 0-D axis */
        ins[2] = og_op2(c, "Reshape", ins[2], og_i64s(c, NULL, 0));
    int t = og_op(c, "DFT", ins, v17 ? 1 : 3);
    if (v17)
        og_attr_int(c, "axis", axis);
    og_attr_int(c, "inverse", !inverse);
    t = og_op2(c, "Mul", t, og_scalar(c, inverse ? 1.0 / (double)len : (double)len, x));
    if (real_input) { /* the real parts */
        int64_t zero = 0, one = 1, last = rank - 1;
        int sl[4] = {t, og_i64s(c, &zero, 1), og_i64s(c, &one, 1), og_i64s(c, &last, 1)};
        t = og_op(c, "Slice", sl, 4);
    }
    c->dx[0] = t;
    return true;
}
