/*
 * ops/attention_grad.c - the gradient rule of Attention (ops.h, "gradient
 * rules"), for 4-D Q, K, V with Y alone differentiated: past key / value
 * are concatenated in front of K and V, grouped kv heads repeated for
 * their query heads (and their gradients summed back over the group).
 * The probabilities P are computed again from Q and K (the op keeps
 * none), then with S the masked, scaled (and softcapped) scores and
 * Y = P V:
 *   dV = P^T dY, dP = dY V^T, dS = P (dP - rowsum(dP P)),
 *   dQ = scale dS' K, dK = scale dS'^T Q, where dS' is dS through the
 *   softcap (times 1 - tanh^2), and a float mask's dS summed to its shape.
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

/* x [B, Hkv, S, D] with each kv head repeated for its G query heads:
 * [B, Hkv * G, S, D], query head h reading kv head h / G. */
static int repeat_heads(op_grad_ctx *c, int x, const attention_geom *a, int64_t S, int64_t D)
{
    int64_t two = 2, g = a->Hq / a->Hkv, wide[5] = {a->B, a->Hkv, g, S, D}, flat[4] = {a->B, a->Hq, S, D};
    int u = og_axes_op(c, "Unsqueeze", x, &two, 1);
    return og_op2(c, "Reshape", og_op2(c, "Expand", u, og_i64s(c, wide, 5)), og_i64s(c, flat, 4));
}

/* The gradient of repeat_heads's result summed back over each group. */
static int sum_heads(op_grad_ctx *c, int g, const attention_geom *a, int64_t S, int64_t D)
{
    int64_t two = 2, wide[5] = {a->B, a->Hkv, a->Hq / a->Hkv, S, D};
    int r = og_axes_op(c, "ReduceSum", og_op2(c, "Reshape", g, og_i64s(c, wide, 5)), &two, 1);
    og_attr_int(c, "keepdims", 0);
    return r;
}

/* x[:, :, from:to] along the sequence axis. */
static int seq_slice(op_grad_ctx *c, int x, int64_t from, int64_t to)
{
    int64_t axis = 2;
    int ins[4] = {x, og_i64s(c, &from, 1), og_i64s(c, &to, 1), og_i64s(c, &axis, 1)};
    return og_op(c, "Slice", ins, 4);
}

/* The gradient of the whole key (or value) sequence [B, Hq, St, D], for
 * the new part (input `now`) and the past (input `past`). */
static void split_kv(op_grad_ctx *c, int g, const attention_geom *a, int64_t D, size_t now, size_t past)
{
    if (a->Hq != a->Hkv)
        g = sum_heads(c, g, a, a->St, D);
    if (!a->has_past) {
        c->dx[now] = g;
        return;
    }
    if (c->want[now])
        c->dx[now] = seq_slice(c, g, a->Sp, a->St);
    if (c->want[past] && a->Sp > 0)
        c->dx[past] = seq_slice(c, g, 0, a->Sp);
}

bool attention_grad(op_grad_ctx *c)
{
    attention_geom a;
    if (!attention_geom_of(c->g, c->node, &a))
        return og_none(c, "its geometry is not known");
    if (a.rank != 4)
        return og_none(c, "only 4-D Q, K and V have a rule (3-D ones fold the heads into the hidden size)");
    if (a.has_nonpad)
        return og_none(c, "nonpad_kv_seqlen (a KV cache's lengths) has no rule");
    if (a.has_mask && a.Lm != a.St)
        return og_none(c, "a mask shorter than the kv length has no rule");
    for (size_t i = 1; i < ir_nd(c->g, c->node)->n_outputs; i++)
        if (c->dy[i] >= 0)
            return og_none(c, "only Y has a gradient rule, not present_key, present_value or qk_matmul_output");
    int q = og_x(c, 0), k = og_x(c, 1), v = og_x(c, 2), mask = a.has_mask ? og_x(c, 3) : -1, y = og_y(c, 0);
    if (mask >= 0 && c->want[3] && a.mt == HODU_DTYPE_BOOL)
        return og_none(c, "a boolean mask has no gradient");
    if (a.has_past) {
        k = og_op2(c, "Concat", og_x(c, 4), k);
        og_attr_int(c, "axis", 2);
        v = og_op2(c, "Concat", og_x(c, 5), v);
        og_attr_int(c, "axis", 2);
    }
    if (a.Hq != a.Hkv) {
        k = repeat_heads(c, k, &a, a.St, a.Dk);
        v = repeat_heads(c, v, &a, a.St, a.Dv);
    }
    int scale = og_scalar(c, (double)a.scale, y), cap = -1, capped = -1;
    int s = og_op2(c, "Mul", og_op2(c, "MatMul", q, swap_last(c, k)), scale);
    if (a.softcap != 0) {
        cap = og_scalar(c, (double)a.softcap, y);
        capped = og_op1(c, "Tanh", og_op2(c, "Div", s, cap));
        s = og_op2(c, "Mul", capped, cap);
    }
    if (mask >= 0 && a.mt == HODU_DTYPE_BOOL) {
        int ins[3] = {mask, s, og_scalar(c, -INFINITY, y)};
        s = og_op(c, "Where", ins, 3);
    } else if (mask >= 0) {
        s = og_op2(c, "Add", s, mask);
    }
    if (a.causal) { /* key j > query i + past length is hidden */
        int64_t n, dims[2] = {a.Sq, a.St};
        if (!hd_mul_i64(a.Sq, a.St, &n) || n > ((int64_t)1 << 24))
            return og_none(c, "the causal mask would be too large a constant");
        double *m = hd_xcalloc((size_t)(n ? n : 1), sizeof(double));
        for (int64_t i = 0; i < a.Sq; i++)
            for (int64_t j = i + a.Sp + 1; j < a.St; j++)
                m[i * a.St + j] = -INFINITY;
        s = og_op2(c, "Add", s, nn_grad_float_const(c, y, m, n, 2, dims));
        free(m);
    }
    int p = og_op1(c, "Softmax", s);
    og_attr_int(c, "axis", -1);
    int dy = og_dy(c, 0);
    if (c->want[2] || (a.has_past && c->want[5]))
        split_kv(c, og_op2(c, "MatMul", swap_last(c, p), dy), &a, a.Dv, 2, 5);
    bool want_k = c->want[1] || (a.has_past && c->want[4]);
    if (!c->want[0] && !want_k && !(mask >= 0 && c->want[3]))
        return true;
    int dp = og_op2(c, "MatMul", dy, swap_last(c, v));
    int64_t last = 3;
    int row = og_axes_op(c, "ReduceSum", og_op2(c, "Mul", dp, p), &last, 1);
    og_attr_int(c, "keepdims", 1);
    int ds = og_op2(c, "Mul", p, og_op2(c, "Sub", dp, row));
    int dsr = ds; /* through the softcap: cap tanh(s / cap) has slope 1 - tanh^2 */
    if (capped >= 0)
        dsr = og_op2(c, "Mul", ds, og_op2(c, "Sub", og_scalar(c, 1, y), og_op2(c, "Mul", capped, capped)));
    if (c->want[0])
        c->dx[0] = og_op2(c, "Mul", og_op2(c, "MatMul", dsr, k), scale);
    if (want_k)
        split_kv(c, og_op2(c, "Mul", og_op2(c, "MatMul", swap_last(c, dsr), q), scale), &a, a.Dk, 1, 4);
    if (mask >= 0 && c->want[3]) {
        ir_dim dims[HODU_MAX_RANK] = {{0}};
        int64_t sz[4] = {a.B, a.Hq, a.Sq, a.St};
        for (int i = 0; i < 4; i++)
            dims[i].size = sz[i];
        c->dx[3] = og_unbroadcast_dims(c, ds, mask, dims, 4, 0);
    }
    return true;
}
