/*
 * ops/attention_grad.c - the gradient rule of Attention (ops.h, "gradient
 * rules"), for its plain form: 4-D Q, K, V with as many kv heads as query
 * heads, no past key / value, no softcap, and only Y differentiated.  The
 * probabilities P are computed again from Q and K (the op keeps none), then
 * with S the masked, scaled scores and Y = P V:
 *   dV = P^T dY, dP = dY V^T, dS = P (dP - rowsum(dP P)),
 *   dQ = scale dS K, dK = scale dS^T Q, and a float mask's dS summed to its shape.
 */
#include <math.h>
#include <stdlib.h>

#include "attention.h"
#include "nn_impl.h"

/* The last two axes of a 4-D value swapped. */
static int swap_last(op_grad_ctx *c, int v)
{
    static const int64_t perm[4] = {0, 1, 3, 2};
    int r = og_op1(c, "Transpose", v);
    og_attr_ints(c, "perm", perm, 4);
    return r;
}

bool attention_grad(op_grad_ctx *c)
{
    attention_geom a;
    if (!attention_geom_of(c->g, c->node, &a))
        return og_none(c, "its geometry is not known");
    if (a.rank != 4)
        return og_none(c, "only 4-D Q, K and V have a rule (3-D ones fold the heads into the hidden size)");
    if (a.has_past || a.has_nonpad)
        return og_none(c, "past key / value and nonpad_kv_seqlen (a KV cache) have no rule");
    if (a.Hq != a.Hkv)
        return og_none(c, "grouped kv heads (kv_num_heads < q_num_heads) have no rule");
    if (a.softcap != 0)
        return og_none(c, "softcap has no rule");
    if (a.has_mask && a.Lm != a.St)
        return og_none(c, "a mask shorter than the kv length has no rule");
    for (size_t i = 1; i < ir_nd(c->g, c->node)->n_outputs; i++)
        if (c->dy[i] >= 0)
            return og_none(c, "only Y has a gradient rule, not present_key, present_value or qk_matmul_output");
    int q = og_x(c, 0), k = og_x(c, 1), v = og_x(c, 2), mask = a.has_mask ? og_x(c, 3) : -1, y = og_y(c, 0);
    if (mask >= 0 && c->want[3] && a.mt == HODU_DTYPE_BOOL)
        return og_none(c, "a boolean mask has no gradient");
    int scale = og_scalar(c, (double)a.scale, y);
    int s = og_op2(c, "Mul", og_op2(c, "MatMul", q, swap_last(c, k)), scale);
    if (mask >= 0 && a.mt == HODU_DTYPE_BOOL) {
        int ins[3] = {mask, s, og_scalar(c, -INFINITY, y)};
        s = og_op(c, "Where", ins, 3);
    } else if (mask >= 0) {
        s = og_op2(c, "Add", s, mask);
    }
    if (a.causal) { /* key j > query i is hidden (no past: the diagonal from the top left) */
        int64_t n, dims[2] = {a.Sq, a.Skv};
        if (!hd_mul_i64(a.Sq, a.Skv, &n) || n > ((int64_t)1 << 24))
            return og_none(c, "the causal mask would be too large a constant");
        double *m = hd_xcalloc((size_t)(n ? n : 1), sizeof(double));
        for (int64_t i = 0; i < a.Sq; i++)
            for (int64_t j = i + 1; j < a.Skv; j++)
                m[i * a.Skv + j] = -INFINITY;
        s = og_op2(c, "Add", s, nn_grad_float_const(c, y, m, n, 2, dims));
        free(m);
    }
    int p = og_op1(c, "Softmax", s);
    og_attr_int(c, "axis", -1);
    int dy = og_dy(c, 0);
    if (c->want[2])
        c->dx[2] = og_op2(c, "MatMul", swap_last(c, p), dy);
    if (!c->want[0] && !c->want[1] && !(mask >= 0 && c->want[3]))
        return true;
    int dp = og_op2(c, "MatMul", dy, swap_last(c, v));
    int64_t last = 3;
    int row = og_axes_op(c, "ReduceSum", og_op2(c, "Mul", dp, p), &last, 1);
    og_attr_int(c, "keepdims", 1);
    int ds = og_op2(c, "Mul", p, og_op2(c, "Sub", dp, row));
    if (c->want[0])
        c->dx[0] = og_op2(c, "Mul", og_op2(c, "MatMul", ds, k), scale);
    if (c->want[1])
        c->dx[1] = og_op2(c, "Mul", og_op2(c, "MatMul", swap_last(c, ds), q), scale);
    if (mask >= 0 && c->want[3]) {
        ir_dim dims[HODU_MAX_RANK] = {{0}};
        int64_t sz[4] = {a.B, a.Hq, a.Sq, a.Skv};
        for (int i = 0; i < 4; i++)
            dims[i].size = sz[i];
        c->dx[3] = og_unbroadcast_dims(c, ds, mask, dims, 4, 0);
    }
    return true;
}
