/*
 * ops/attention.c - the attention op family: Attention and RotaryEmbedding
 * (ai.onnx opset 23; Attention's nonpad_kv_seqlen input is opset 24), and
 * FlexAttention (ai.onnx.preview 1) without its modifier subgraphs.
 *
 * Everything is computed in float: f16/bf16 operands are widened on load and
 * narrowed on store.  The resolved geometry is exported in attention.h.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "attention.h"
#include "ops_impl.h"

static bool at_is_float(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

/* ======================================================================== */
/* Attention                                                                 */
/* ======================================================================== */
/* Inputs Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?
 * (opset 24); outputs Y, present_key?, present_value?, qk_matmul_output?.
 * Q/K/V are 4-D [B, heads, seq, head_size] or 3-D [B, seq, heads*head_size]
 * with q_num_heads/kv_num_heads giving the head counts.  past_key/value are
 * 4-D and are concatenated in front of K/V along the sequence axis (the
 * result is present_key/value).  Query head h uses kv head h / (Hq/Hkv)
 * (grouped-query attention).  Scores are scale * Q.K^T (scale defaults to
 * 1/sqrt(head_size)), then softcap*tanh(x/softcap) when softcap > 0, then the
 * bias is added: the mask (bool: true -> 0, false -> -inf; float: added; a
 * mask shorter than the total kv length is padded with -inf), -inf above the
 * causal diagonal (j > i + past_len) when is_causal, -inf at j >=
 * nonpad_kv_seqlen[b].  Softmax along kv, then times V.  qk_matmul_output is
 * the scores after softcap (modes 0 and 1, as the reference computes them),
 * after the bias (mode 2) or after softmax (mode 3).  The softmax runs in
 * float; softmax_precision may only ask for that. */

static const op_attr_spec attention_attrs[] = {
    {"is_causal", IR_ATTR_INT},         {"kv_num_heads", IR_ATTR_INT},
    {"q_num_heads", IR_ATTR_INT},       {"qk_matmul_output_mode", IR_ATTR_INT},
    {"scale", IR_ATTR_FLOAT},           {"softcap", IR_ATTR_FLOAT},
    {"softmax_precision", IR_ATTR_INT}, {NULL, 0}};

/* FlexAttention (ai.onnx.preview 1) is Attention on 4-D Q, K, V alone,
 * with score_mod and prob_mod subgraphs between the stages; without them
 * it is the plain product, which the same plan describes. */
static const op_attr_spec flex_attention_attrs[] = {{"prob_mod", IR_ATTR_GRAPH},
                                                    {"scale", IR_ATTR_FLOAT},
                                                    {"score_mod", IR_ATTR_GRAPH},
                                                    {"softmax_precision", IR_ATTR_INT},
                                                    {NULL, 0}};

typedef attention_geom at_geom;

static const ir_value *at_opt(const ir_graph *g, const ir_node *n, size_t i)
{
    if (i + n->n_captures >= n->n_inputs || n->inputs[i] < 0) /* captures are no operands */
        return NULL;
    return ir_val(g, n->inputs[i]);
}

static void at_layout(int rank, int64_t H, int64_t S, int64_t D, int64_t *s)
{
    if (rank == 4) {
        s[0] = H * S * D;
        s[1] = S * D;
        s[2] = D;
    } else {
        s[0] = S * H * D;
        s[1] = D;
        s[2] = H * D;
    }
}

/* Validates and resolves; c may be NULL (backends and FLOPs: the node was
 * validated by inference, nothing to report). */
static bool at_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, at_geom *a)
{
#define AT_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(a, 0, sizeof *a);
    const ir_value *q = at_opt(g, n, 0), *k = at_opt(g, n, 1), *v = at_opt(g, n, 2);
    if (!q || !k || !v)
        return AT_FAIL("Q, K and V are required");
    a->t = q->dtype;
    bool flex = n->op == OP_FLEX_ATTENTION;
    if (!at_is_float(a->t) && !(flex && a->t == HODU_DTYPE_F64))
        return AT_FAIL("input '%s' has type %s; %s takes float, float16 or bfloat16%s", q->name, ir_dtype_name(a->t),
                       n->op_type, flex ? " or double" : "");
    if (k->dtype != a->t || v->dtype != a->t)
        return AT_FAIL("Q, K and V must have the same type");
    if (flex) {
        if (q->rank != 4 || k->rank != 4 || v->rank != 4)
            return AT_FAIL("Q, K and V must be 4-D (ranks %d, %d, %d)", q->rank, k->rank, v->rank);
        a->score_mod = ir_node_subgraph(n, "score_mod");
        a->prob_mod = ir_node_subgraph(n, "prob_mod");
        if ((a->score_mod || a->prob_mod) && a->t != HODU_DTYPE_F32)
            return AT_FAIL("score_mod and prob_mod subgraphs need float inputs (these are %s)", ir_dtype_name(a->t));
    }
    /* the softmax runs in float, which is every float type's default */
    int64_t precision = ir_attr_int(n, "softmax_precision", HODU_DTYPE_F32);
    if (precision != HODU_DTYPE_F32)
        return AT_FAIL("softmax_precision %s is not supported (the softmax runs in float)",
                       ir_dtype_name((hodu_dtype)precision));
    if ((q->rank != 3 && q->rank != 4) || k->rank != q->rank || v->rank != q->rank)
        return AT_FAIL("Q, K and V must all be 3-D or all 4-D (ranks %d, %d, %d)", q->rank, k->rank, v->rank);
    a->rank = q->rank;
    int64_t qd[4], kd[4], vd[4];
    ir_value_dims(q, qd);
    ir_value_dims(k, kd);
    ir_value_dims(v, vd);
    a->B = qd[0];
    if (kd[0] != a->B || vd[0] != a->B)
        return AT_FAIL("Q, K and V have different batch sizes");
    if (a->rank == 4) {
        a->Hq = qd[1];
        a->Hkv = kd[1];
        if (vd[1] != a->Hkv)
            return AT_FAIL("K and V have different head counts (%" PRId64 " and %" PRId64 ")", kd[1], vd[1]);
        a->Sq = qd[2];
        a->Skv = kd[2];
        if (vd[2] != a->Skv)
            return AT_FAIL("K and V have different sequence lengths");
        a->Dk = qd[3];
        if (kd[3] != a->Dk)
            return AT_FAIL("Q and K have different head sizes (%" PRId64 " and %" PRId64 ")", qd[3], kd[3]);
        a->Dv = vd[3];
    } else {
        a->Hq = ir_attr_int(n, "q_num_heads", 0);
        a->Hkv = ir_attr_int(n, "kv_num_heads", 0);
        if (a->Hq <= 0 || a->Hkv <= 0)
            return AT_FAIL("3-D inputs need positive q_num_heads and kv_num_heads attributes");
        if (qd[2] % a->Hq || kd[2] % a->Hkv || vd[2] % a->Hkv)
            return AT_FAIL("hidden sizes are not divisible by the head counts");
        a->Sq = qd[1];
        a->Skv = kd[1];
        if (vd[1] != a->Skv)
            return AT_FAIL("K and V have different sequence lengths");
        a->Dk = qd[2] / a->Hq;
        if (kd[2] / a->Hkv != a->Dk)
            return AT_FAIL("Q and K have different head sizes");
        a->Dv = vd[2] / a->Hkv;
    }
    if (a->Hkv <= 0 || a->Hq % a->Hkv)
        return AT_FAIL("q heads (%" PRId64 ") are not a multiple of kv heads (%" PRId64 ")", a->Hq, a->Hkv);
    const ir_value *pk = at_opt(g, n, 4), *pv = at_opt(g, n, 5);
    if ((pk == NULL) != (pv == NULL))
        return AT_FAIL("past_key and past_value must be given together");
    a->has_past = pk != NULL;
    if (pk) {
        int64_t pkd[4], pvd[4];
        if (pk->rank != 4 || pv->rank != 4)
            return AT_FAIL("past_key and past_value must be 4-D");
        if (pk->dtype != a->t || pv->dtype != a->t)
            return AT_FAIL("past_key and past_value must have Q's type");
        ir_value_dims(pk, pkd);
        ir_value_dims(pv, pvd);
        if (pkd[0] != a->B || pkd[1] != a->Hkv || pkd[3] != a->Dk || pvd[0] != a->B || pvd[1] != a->Hkv ||
            pvd[3] != a->Dv || pvd[2] != pkd[2])
            return AT_FAIL("past_key/past_value shapes do not match K/V");
        a->Sp = pkd[2];
    }
    a->St = a->Sp + a->Skv;
    {
        /* the largest buffers (scores, present K/V) must stay addressable */
        double dmax = (double)(a->Dk > a->Dv ? a->Dk : a->Dv);
        double big = (double)a->B * (double)a->Hq * (double)a->St * (dmax > (double)a->Sq ? dmax : (double)a->Sq);
        if (big > 1e15)
            return AT_FAIL("tensor sizes are too large");
    }
    at_layout(a->rank, a->Hq, a->Sq, a->Dk, a->qs);
    at_layout(a->rank, a->Hkv, a->Skv, a->Dk, a->ks);
    at_layout(a->rank, a->Hkv, a->Skv, a->Dv, a->vs);
    at_layout(a->rank, a->Hq, a->Sq, a->Dv, a->ys);

    const ir_value *m = at_opt(g, n, 3);
    if (m) {
        if (m->dtype != HODU_DTYPE_BOOL && m->dtype != a->t)
            return AT_FAIL("attn_mask has type %s; it must be bool or Q's type", ir_dtype_name(m->dtype));
        if (m->rank < 1 || m->rank > 4)
            return AT_FAIL("attn_mask must have rank 1 to 4, not %d", m->rank);
        a->has_mask = true;
        a->mt = m->dtype;
        a->Lm = m->dims[m->rank - 1].size;
        if (a->Lm > a->St)
            return AT_FAIL("attn_mask's last dim %" PRId64 " exceeds the total kv length %" PRId64, a->Lm, a->St);
        int64_t od[4] = {a->B, a->Hq, a->Sq, a->Lm};
        for (int i = 0; i < m->rank - 1; i++) {
            int64_t d = m->dims[i].size, want = od[4 - m->rank + i];
            if (d != 1 && d != want)
                return AT_FAIL("attn_mask shape does not broadcast to [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                               "]",
                               a->B, a->Hq, a->Sq, a->St);
        }
        ir_broadcast_strides(m, 4, od, a->ms);
    }
    const ir_value *np = at_opt(g, n, 6);
    if (np) {
        if (np->dtype != HODU_DTYPE_I64 || np->rank != 1 || np->dims[0].size != a->B)
            return AT_FAIL("nonpad_kv_seqlen must be int64 of shape [batch]");
        a->has_nonpad = true;
    }
    a->causal = ir_attr_int(n, "is_causal", 0) != 0;
    int64_t mode = ir_attr_int(n, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
        return AT_FAIL("qk_matmul_output_mode %" PRId64 " is not supported", mode);
    a->mode = (int)mode;
    double sc = ir_attr_float(n, "scale", 0.0);
    if (!ir_attr_find(n, "scale"))
        sc = a->Dk > 0 ? 1.0 / sqrt((double)a->Dk) : 1.0;
    if (!isfinite(sc))
        return AT_FAIL("scale %g is not finite", sc);
    a->scale = (float)sc;
    double cap = ir_attr_float(n, "softcap", 0.0);
    if (!isfinite(cap))
        return AT_FAIL("softcap %g is not finite", cap);
    a->softcap = (float)cap;
    /* each modifier maps the [B, Hq, Sq, St] scores (probabilities) to a
     * tensor of that type */
    const ir_graph *mods[2] = {a->score_mod, a->prob_mod};
    for (int i = 0; i < 2; i++) {
        const ir_graph *sub = mods[i];
        if (!sub)
            continue;
        const char *name = i ? "prob_mod" : "score_mod";
        if (sub->n_outputs != 1)
            return AT_FAIL("subgraph '%s' gives %zu results; it must give one", name, sub->n_outputs);
        const ir_value *r = ir_val(sub, sub->outputs[0]);
        int64_t want[4] = {a->B, a->Hq, a->Sq, a->St};
        bool same = r->dtype == a->t && r->rank == 4;
        for (int d = 0; same && d < 4; d++)
            same = r->dims[d].size == want[d] && !r->dims[d].data_dep;
        if (!same)
            return AT_FAIL("subgraph '%s' must give %s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                           "], the type of what it takes",
                           name, ir_dtype_name(a->t), want[0], want[1], want[2], want[3]);
    }
    return true;
#undef AT_FAIL
}

/* FlexAttention's modifiers each take the [B, Hq, Sq, Skv] scores (or
 * probabilities) as their one formal input. */
static bool flex_type_subgraphs(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *q = op_need_static(c, 0), *k = op_need_static(c, 1);
    if (!q || !k)
        return false;
    if (q->rank != 4 || k->rank != 4)
        return op_fail(c, "Q and K must be 4-D (ranks %d, %d)", q->rank, k->rank);
    const char *names[2] = {"score_mod", "prob_mod"};
    for (int i = 0; i < 2; i++) {
        ir_graph *sub = ir_node_subgraph(n, names[i]);
        if (!sub)
            continue;
        if (sub->n_inputs != 1 + n->n_captures)
            return op_fail(c, "subgraph '%s' takes %zu inputs; it must take one (the %s)", names[i],
                           sub->n_inputs - n->n_captures, i ? "probabilities" : "scores");
        int64_t dims[4] = {q->dims[0].size, q->dims[1].size, q->dims[2].size, k->dims[2].size};
        ir_value *in = ir_val(sub, sub->inputs[0]);
        in->dtype = q->dtype;
        ir_value_set_shape(in, 4, dims);
    }
    return true;
}

static bool infer_attention(op_ctx *c)
{
    for (size_t i = 0; i < 7; i++)
        if (op_in(c, i) && !op_need_static(c, i))
            return false;
    at_geom a;
    if (!at_resolve(c, c->g, op_node(c), &a))
        return false;
    if (a.rank == 4) {
        int64_t yd[4] = {a.B, a.Hq, a.Sq, a.Dv};
        op_set_out(c, 0, a.t, 4, yd);
    } else {
        int64_t yd[3] = {a.B, a.Sq, a.Hq * a.Dv};
        op_set_out(c, 0, a.t, 3, yd);
    }
    int64_t pk[4] = {a.B, a.Hkv, a.St, a.Dk}, pv[4] = {a.B, a.Hkv, a.St, a.Dv}, qk[4] = {a.B, a.Hq, a.Sq, a.St};
    op_set_out(c, 1, a.t, 4, pk);
    op_set_out(c, 2, a.t, 4, pv);
    op_set_out(c, 3, a.t, 4, qk);
    return true;
}

bool attention_geom_of(const ir_graph *g, int node, attention_geom *a)
{
    return at_resolve(NULL, g, ir_nd(g, node), a);
}

static int64_t flops_attention(const ir_graph *g, int node)
{
    at_geom a;
    if (!at_resolve(NULL, g, ir_nd(g, node), &a))
        return 0;
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * a.B, a.Hq), op_sat_mul(a.Sq, a.St)), a.Dk + a.Dv);
}

/* ======================================================================== */
/* RotaryEmbedding                                                           */
/* ======================================================================== */
/* Inputs X, cos_cache, sin_cache, position_ids?.  X is 4-D [B, H, S, D] or
 * 3-D [B, S, H*D] with the num_heads attribute.  The first R =
 * rotary_embedding_dim (0 -> D) channels of each head are rotated in pairs:
 * (x[k], x[k+R/2]) by default, (x[2k], x[2k+1]) when interleaved, with
 * out1 = cos*x1 - sin*x2, out2 = sin*x1 + cos*x2; the rest is copied.  With
 * position_ids [B, S] the caches are [max_pos, R/2] rows picked by position
 * (out-of-range ids are clamped); without, they are [B, S, R/2]. */

static const op_attr_spec rotary_attrs[] = {
    {"interleaved", IR_ATTR_INT}, {"num_heads", IR_ATTR_INT}, {"rotary_embedding_dim", IR_ATTR_INT}, {NULL, 0}};

typedef rotary_geom rot_geom;

static bool rot_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, rot_geom *r)
{
#define RT_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(r, 0, sizeof *r);
    const ir_value *x = at_opt(g, n, 0), *cc = at_opt(g, n, 1), *sc = at_opt(g, n, 2), *p = at_opt(g, n, 3);
    if (!x || !cc || !sc)
        return RT_FAIL("input, cos_cache and sin_cache are required");
    if (!at_is_float(x->dtype))
        return RT_FAIL("input '%s' has type %s; RotaryEmbedding takes float, float16 or bfloat16", x->name,
                       ir_dtype_name(x->dtype));
    if (cc->dtype != x->dtype || sc->dtype != x->dtype)
        return RT_FAIL("cos_cache and sin_cache must have the input's type");
    int64_t xd[4];
    if (x->rank != 3 && x->rank != 4)
        return RT_FAIL("input must be 3-D or 4-D, not rank %d", x->rank);
    ir_value_dims(x, xd);
    r->B = xd[0];
    if (x->rank == 4) {
        r->H = xd[1];
        r->S = xd[2];
        r->D = xd[3];
        r->xs[0] = r->H * r->S * r->D;
        r->xs[1] = r->S * r->D;
        r->xs[2] = r->D;
    } else {
        r->H = ir_attr_int(n, "num_heads", 0);
        if (r->H <= 0)
            return RT_FAIL("3-D input needs a positive num_heads attribute");
        r->S = xd[1];
        if (xd[2] % r->H)
            return RT_FAIL("hidden size %" PRId64 " is not divisible by num_heads %" PRId64, xd[2], r->H);
        r->D = xd[2] / r->H;
        r->xs[0] = r->S * xd[2];
        r->xs[1] = r->D;
        r->xs[2] = xd[2];
    }
    r->R = ir_attr_int(n, "rotary_embedding_dim", 0);
    if (r->R == 0)
        r->R = r->D;
    if (r->R < 0 || r->R > r->D || r->R % 2)
        return RT_FAIL("rotary_embedding_dim %" PRId64 " is invalid for head size %" PRId64, r->R, r->D);
    r->inter = ir_attr_int(n, "interleaved", 0) != 0;
    int64_t half = r->R / 2;
    if (cc->rank != sc->rank)
        return RT_FAIL("cos_cache and sin_cache have different ranks");
    for (int i = 0; i < cc->rank; i++)
        if (cc->dims[i].size != sc->dims[i].size)
            return RT_FAIL("cos_cache and sin_cache have different shapes");
    if (p) {
        r->pos = true;
        if (p->dtype != HODU_DTYPE_I64 || p->rank != 2 || p->dims[0].size != r->B || p->dims[1].size != r->S)
            return RT_FAIL("position_ids must be int64 of shape [batch, sequence]");
        if (cc->rank != 2 || cc->dims[1].size != half || cc->dims[0].size < 1)
            return RT_FAIL("with position_ids the caches must be [max_position, %" PRId64 "]", half);
        r->P = cc->dims[0].size;
    } else {
        if (cc->rank != 3 || cc->dims[0].size != r->B || cc->dims[1].size != r->S || cc->dims[2].size != half)
            return RT_FAIL("without position_ids the caches must be [%" PRId64 ", %" PRId64 ", %" PRId64 "]", r->B,
                           r->S, half);
    }
    return true;
#undef RT_FAIL
}

static bool infer_rotary(op_ctx *c)
{
    for (size_t i = 0; i < 4; i++)
        if (op_in(c, i) && !op_need_static(c, i))
            return false;
    rot_geom r;
    if (!rot_resolve(c, c->g, op_node(c), &r))
        return false;
    op_set_out_like(c, 0, op_in(c, 0));
    return true;
}

bool rotary_geom_of(const ir_graph *g, int node, rotary_geom *r) { return rot_resolve(NULL, g, ir_nd(g, node), r); }

/* ======================================================================== */

OP_DEF(ATTENTION, .attrs = attention_attrs, .infer = infer_attention, .flops = flops_attention, .grad = attention_grad);
OP_DEF(FLEX_ATTENTION, .attrs = flex_attention_attrs, .infer = infer_attention, .flops = flops_attention,
       .type_subgraphs = flex_type_subgraphs);
OP_DEF(ROTARY_EMBEDDING, .attrs = rotary_attrs, .infer = infer_rotary, .grad = rotary_grad);
