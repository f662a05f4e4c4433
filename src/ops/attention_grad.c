/*
 * ops/attention_grad.c - the gradient rules of Attention and
 * RotaryEmbedding (ops.h, "gradient rules"); Attention's for every form the kernel runs but FlexAttention's modifiers.
 * 3-D Q, K, V [B, S, H * D] are first viewed as 4-D [B, H, S, D] (and
 * their gradients viewed back); past key / value are concatenated in
 * front of K and V, grouped kv heads repeated for their query heads (and
 * their gradients summed back over the group).  The probabilities P are
 * computed again from Q and K (the op keeps none), then with S the
 * masked, scaled (and softcapped) scores and Y = P V:
 *   dV = P^T dY, dP = dY V^T, dS = P (dP - rowsum(dP P)),
 *   dQ = scale dS' K, dK = scale dS'^T Q, where dS' is dS through the
 *   softcap (times 1 - tanh^2), and a float mask's dS summed to its shape.
 * The masks only add 0 or -inf: a mask shorter than the kv length is
 * padded with -inf, and nonpad_kv_seqlen (integers, no gradient of its
 * own) hides key j >= nonpad_kv_seqlen[b].  present_key / present_value
 * are the whole key / value sequences, so their gradients add to those
 * from Y before the split into past and new.  qk_matmul_output has no rule.
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

/* The middle two axes of a 4-D value swapped: [B, S, H, D] <-> [B, H, S, D]. */
static int swap_middle(op_grad_ctx *c, int v)
{
    static const int64_t perm[4] = {0, 2, 1, 3};
    int r = og_op1(c, "Transpose", v);
    og_attr_ints(c, "perm", perm, 4);
    return r;
}

/* A 3-D x [B, S, H * D] as [B, H, S, D]. */
static int to_heads(op_grad_ctx *c, int x, int64_t B, int64_t S, int64_t H, int64_t D)
{
    int64_t split[4] = {B, S, H, D};
    return swap_middle(c, og_op2(c, "Reshape", x, og_i64s(c, split, 4)));
}

/* The inverse of to_heads. */
static int from_heads(op_grad_ctx *c, int x, int64_t B, int64_t S, int64_t H, int64_t D)
{
    int64_t joined[3] = {B, S, H * D};
    return og_op2(c, "Reshape", swap_middle(c, x), og_i64s(c, joined, 3));
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

/* x[..., from:to] along `axis`. */
static int axis_slice(op_grad_ctx *c, int x, int64_t axis, int64_t from, int64_t to)
{
    int ins[4] = {x, og_i64s(c, &from, 1), og_i64s(c, &to, 1), og_i64s(c, &axis, 1)};
    return og_op(c, "Slice", ins, 4);
}

/* The gradient g of the whole key (or value) sequence [B, Hkv, St, D]
 * (-1: none) split into the new part (input `now`, 3-D again in that
 * form) and the past (input `past`). */
static void split_kv(op_grad_ctx *c, int g, const attention_geom *a, int64_t D, size_t now, size_t past)
{
    if (g < 0)
        return;
    if (c->want[now]) {
        int gn = a->has_past ? axis_slice(c, g, 2, a->Sp, a->St) : g;
        c->dx[now] = a->rank == 3 ? from_heads(c, gn, a->B, a->Skv, a->Hkv, D) : gn;
    }
    if (a->has_past && c->want[past] && a->Sp > 0)
        c->dx[past] = axis_slice(c, g, 2, 0, a->Sp);
}

/* g plus the gradient of output i when there is one. */
static int add_dy(op_grad_ctx *c, int g, size_t i)
{
    if (i >= ir_nd(c->g, c->node)->n_outputs || c->dy[i] < 0)
        return g;
    return g < 0 ? c->dy[i] : og_op2(c, "Add", g, c->dy[i]);
}

/* The scores s with the mask applied: a float mask added, a boolean one
 * as 0 / -inf; one shorter than the kv length padded with -inf. */
static int apply_mask(op_grad_ctx *c, int s, int mask, const attention_geom *a, int y)
{
    int ninf = og_scalar(c, -INFINITY, y), bias = mask;
    if (a->mt == HODU_DTYPE_BOOL) {
        int ins[3] = {mask, og_scalar(c, 0, y), ninf};
        bias = og_op(c, "Where", ins, 3);
    }
    if (a->Lm < a->St) {
        int rank = ir_val(c->g, mask)->rank;
        int64_t pads[8] = {0};
        pads[2 * rank - 1] = a->St - a->Lm;
        int ins[3] = {bias, og_i64s(c, pads, 2 * (size_t)rank), ninf};
        bias = og_op(c, "Pad", ins, 3);
    }
    return og_op2(c, "Add", s, bias);
}

/* The scores with key j >= nonpad_kv_seqlen[b] hidden. */
static int hide_padding(op_grad_ctx *c, int s, const attention_geom *a, int y)
{
    int64_t *iota = hd_xcalloc((size_t)a->St + 1, sizeof(int64_t)), col[2] = {a->B, 1}, wide[4] = {a->B, 1, 1, a->St};
    for (int64_t j = 0; j < a->St; j++)
        iota[j] = j;
    int lens = og_op2(c, "Reshape", og_x(c, 6), og_i64s(c, col, 2));
    int keep = og_op2(c, "Less", og_i64s(c, iota, (size_t)a->St), lens); /* [B, St] */
    free(iota);
    int ins[3] = {og_op2(c, "Reshape", keep, og_i64s(c, wide, 4)), s, og_scalar(c, -INFINITY, y)};
    return og_op(c, "Where", ins, 3);
}

bool attention_grad(op_grad_ctx *c)
{
    attention_geom a;
    if (!attention_geom_of(c->g, c->node, &a))
        return og_none(c, "its geometry is not known");
    if (ir_nd(c->g, c->node)->n_outputs > 3 && c->dy[3] >= 0)
        return og_none(c, "qk_matmul_output has no gradient rule (Y, present_key and present_value have)");
    int mask = a.has_mask ? og_x(c, 3) : -1, y = og_y(c, 0);
    if (mask >= 0 && c->want[3] && a.mt == HODU_DTYPE_BOOL)
        return og_none(c, "a boolean mask has no gradient");
    int64_t cells = 0; /* of the causal mask, a constant */
    if (a.causal && (!hd_mul_i64(a.Sq, a.St, &cells) || cells > ((int64_t)1 << 24)))
        return og_none(c, "the causal mask would be too large a constant");
    if (a.has_nonpad && a.St > ((int64_t)1 << 24))
        return og_none(c, "the kv positions would be too large a constant");
    bool want_k = c->want[1] || (a.has_past && c->want[4]), want_v = c->want[2] || (a.has_past && c->want[5]);
    int gk = -1, gv = -1; /* of the whole key / value sequences, [B, Hkv, St, D] */
    if (c->dy[0] >= 0) {
        int q = og_x(c, 0), k = og_x(c, 1), v = og_x(c, 2), dy = c->dy[0];
        if (a.rank == 3) {
            q = to_heads(c, q, a.B, a.Sq, a.Hq, a.Dk);
            k = to_heads(c, k, a.B, a.Skv, a.Hkv, a.Dk);
            v = to_heads(c, v, a.B, a.Skv, a.Hkv, a.Dv);
            dy = to_heads(c, dy, a.B, a.Sq, a.Hq, a.Dv);
        }
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
        if (mask >= 0)
            s = apply_mask(c, s, mask, &a, y);
        if (a.causal) { /* key j > query i + past length is hidden */
            int64_t dims[2] = {a.Sq, a.St};
            double *m = hd_xcalloc((size_t)(cells ? cells : 1), sizeof(double));
            for (int64_t i = 0; i < a.Sq; i++)
                for (int64_t j = i + a.Sp + 1; j < a.St; j++)
                    m[i * a.St + j] = -INFINITY;
            s = og_op2(c, "Add", s, nn_grad_float_const(c, y, m, cells, 2, dims));
            free(m);
        }
        if (a.has_nonpad)
            s = hide_padding(c, s, &a, y);
        int p = og_op1(c, "Softmax", s);
        og_attr_int(c, "axis", -1);
        if (want_v) {
            gv = og_op2(c, "MatMul", swap_last(c, p), dy);
            if (a.Hq != a.Hkv)
                gv = sum_heads(c, gv, &a, a.St, a.Dv);
        }
        if (c->want[0] || want_k || (mask >= 0 && c->want[3])) {
            int dp = og_op2(c, "MatMul", dy, swap_last(c, v));
            int64_t last = 3;
            int row = og_axes_op(c, "ReduceSum", og_op2(c, "Mul", dp, p), &last, 1);
            og_attr_int(c, "keepdims", 1);
            int ds = og_op2(c, "Mul", p, og_op2(c, "Sub", dp, row));
            int dsr = ds; /* through the softcap: cap tanh(s / cap) has slope 1 - tanh^2 */
            if (capped >= 0)
                dsr = og_op2(c, "Mul", ds, og_op2(c, "Sub", og_scalar(c, 1, y), og_op2(c, "Mul", capped, capped)));
            if (c->want[0]) {
                int dq = og_op2(c, "Mul", og_op2(c, "MatMul", dsr, k), scale);
                c->dx[0] = a.rank == 3 ? from_heads(c, dq, a.B, a.Sq, a.Hq, a.Dk) : dq;
            }
            if (want_k) {
                gk = og_op2(c, "Mul", og_op2(c, "MatMul", swap_last(c, dsr), q), scale);
                if (a.Hq != a.Hkv)
                    gk = sum_heads(c, gk, &a, a.St, a.Dk);
            }
            if (mask >= 0 && c->want[3]) { /* the padded tail is no part of the mask */
                ir_dim dims[HODU_MAX_RANK] = {{0}};
                int64_t sz[4] = {a.B, a.Hq, a.Sq, a.Lm};
                for (int i = 0; i < 4; i++)
                    dims[i].size = sz[i];
                int dm = a.Lm < a.St ? axis_slice(c, ds, 3, 0, a.Lm) : ds;
                c->dx[3] = og_unbroadcast_dims(c, dm, mask, dims, 4, 0);
            }
        }
    }
    if (want_k)
        split_kv(c, add_dy(c, gk, 1), &a, a.Dk, 1, 4);
    if (want_v)
        split_kv(c, add_dy(c, gv, 2), &a, a.Dv, 2, 5);
    return true;
}

/* RotaryEmbedding turns each pair of channels by a position's angle: its
 * transpose turns them back, the same op with the sine negated. */
bool rotary_grad(op_grad_ctx *c)
{
    if (c->want[1] || c->want[2])
        return og_none(c, "cos_cache and sin_cache have no gradient rule (they are tables, not parameters)");
    const ir_node *n = ir_nd(c->g, c->node);
    int ins[4] = {og_dy(c, 0), og_x(c, 1), og_op1(c, "Neg", og_x(c, 2)), og_x(c, 3)};
    c->dx[0] = og_op(c, "RotaryEmbedding", ins, ins[3] >= 0 ? 4 : 3);
    static const char *const attrs[] = {"interleaved", "num_heads", "rotary_embedding_dim"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (ir_attr_find(n, attrs[i]))
            og_attr_int(c, attrs[i], ir_attr_int(n, attrs[i], 0));
    return true;
}
