/*
 * ops/stateful.c - the stateful op family: ops that carry a recurrent state
 * from one call to the next (past state in, present state out), for
 * token-by-token decoding as well as prefill.  LinearAttention and
 * CausalConvWithState (ai.onnx opset 27).
 *
 * Everything is computed in float: f16/bf16 operands are widened on load and
 * narrowed on store.  The resolved geometry is exported in stateful.h.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ops_impl.h"
#include "stateful.h"

static bool sf_is_float(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

static const ir_value *sf_opt(const ir_graph *g, const ir_node *n, size_t i)
{
    if (i >= n->n_inputs || n->inputs[i] < 0)
        return NULL;
    return ir_val(g, n->inputs[i]);
}

/* ======================================================================== */
/* LinearAttention                                                           */
/* ======================================================================== */
/* Inputs query, key, value, past_state?, decay?, beta?; outputs output,
 * present_state.  Q/K/V are [B, T, heads*head_size]; query head h reads kv
 * head h / (Hq/Hkv) (grouped-query attention; kv_num_heads 1 is
 * multi-query).  Per kv head the state S [Dk, Dv] starts at past_state (or
 * zero) and, token by token,
 *     gated rules:  S = exp(g_t) * S        (g_t per head or per key row)
 *     delta rules:  u = beta_t * (v_t - S^T k_t)   (else u = v_t)
 *     all rules:    S = S + k_t u^T,   o_t = scale * S^T q_t
 * scale 0 (the default) means 1/sqrt(Dk).  present_state is the final S in
 * past_state's dtype, or the inputs' dtype when there is no past.
 * chunk_size only tunes chunked kernels; the result does not depend on it. */

static const op_attr_spec linear_attention_attrs[] = {{"chunk_size", IR_ATTR_INT},     {"kv_num_heads", IR_ATTR_INT},
                                                      {"q_num_heads", IR_ATTR_INT},    {"scale", IR_ATTR_FLOAT},
                                                      {"update_rule", IR_ATTR_STRING}, {NULL, 0}};

typedef linear_attention_geom la_geom;

/* Validates and resolves; c may be NULL (backends and FLOPs: the node was
 * validated by inference, nothing to report). */
static bool la_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, la_geom *a)
{
#define LA_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(a, 0, sizeof *a);
    const char *rule = ir_attr_string(n, "update_rule", "gated_delta");
    static const char *const rules[] = {"linear", "gated", "delta", "gated_delta"};
    int ri = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(rule, rules[i]) == 0)
            ri = i;
    if (ri < 0)
        return LA_FAIL("attribute 'update_rule' value '%s' is not one of linear, gated, delta, gated_delta", rule);
    a->rule = (linear_attention_rule)ri; /* rules is in enum order */
    a->gated = a->rule == LINEAR_ATTENTION_GATED || a->rule == LINEAR_ATTENTION_GATED_DELTA;
    a->delta = a->rule == LINEAR_ATTENTION_DELTA || a->rule == LINEAR_ATTENTION_GATED_DELTA;
    if (!ir_attr_find(n, "q_num_heads") || !ir_attr_find(n, "kv_num_heads"))
        return LA_FAIL("attributes 'q_num_heads' and 'kv_num_heads' are required");
    a->Hq = ir_attr_int(n, "q_num_heads", 0);
    a->Hkv = ir_attr_int(n, "kv_num_heads", 0);
    if (a->Hq <= 0 || a->Hkv <= 0 || a->Hq % a->Hkv)
        return LA_FAIL("q_num_heads (%" PRId64 ") must be a positive multiple of kv_num_heads (%" PRId64 ")", a->Hq,
                       a->Hkv);
    if (ir_attr_int(n, "chunk_size", 64) < 1)
        return LA_FAIL("attribute 'chunk_size' must be positive, not %" PRId64, ir_attr_int(n, "chunk_size", 64));

    const ir_value *q = sf_opt(g, n, 0), *k = sf_opt(g, n, 1), *v = sf_opt(g, n, 2);
    const ir_value *ps = sf_opt(g, n, 3), *dc = sf_opt(g, n, 4), *bt = sf_opt(g, n, 5);
    if (!q || !k || !v)
        return LA_FAIL("query, key and value are required");
    a->t = q->dtype;
    if (!sf_is_float(a->t))
        return LA_FAIL("query '%s' has type %s; LinearAttention takes float, float16 or bfloat16", q->name,
                       ir_dtype_name(a->t));
    if (k->dtype != a->t || v->dtype != a->t)
        return LA_FAIL("query, key and value must have the same type");
    if (q->rank != 3 || k->rank != 3 || v->rank != 3)
        return LA_FAIL("query, key and value must be 3-D [batch, tokens, heads*head_size] (ranks %d, %d, %d)", q->rank,
                       k->rank, v->rank);
    int64_t qd[3], kd[3], vd[3];
    ir_value_dims(q, qd);
    ir_value_dims(k, kd);
    ir_value_dims(v, vd);
    a->B = qd[0];
    a->T = qd[1];
    if (kd[0] != a->B || vd[0] != a->B || kd[1] != a->T || vd[1] != a->T)
        return LA_FAIL("query, key and value must agree on batch and tokens ([%" PRId64 ", %" PRId64 ", ...])", a->B,
                       a->T);
    if (qd[2] % a->Hq)
        return LA_FAIL("query's last dim %" PRId64 " is not divisible by q_num_heads %" PRId64, qd[2], a->Hq);
    if (vd[2] % a->Hkv)
        return LA_FAIL("value's last dim %" PRId64 " is not divisible by kv_num_heads %" PRId64, vd[2], a->Hkv);
    a->Dk = qd[2] / a->Hq;
    a->Dv = vd[2] / a->Hkv;
    /* A zero head size would leave q_num_heads unbounded by any tensor. */
    if (a->Dk == 0 || a->Dv == 0)
        return LA_FAIL("head sizes must be positive (key %" PRId64 ", value %" PRId64 ")", a->Dk, a->Dv);
    if (kd[2] != a->Hkv * a->Dk) /* Hkv <= Hq: no overflow */
        return LA_FAIL("key's last dim %" PRId64 " must be kv_num_heads * head_size = %" PRId64, kd[2], a->Hkv * a->Dk);
    int64_t yl;
    if (!hd_mul_i64(a->Hq, a->Dv, &yl))
        return LA_FAIL("the output's last dim is too large");

    a->st = a->t;
    if (ps) {
        int64_t pd[4];
        if (!sf_is_float(ps->dtype))
            return LA_FAIL("past_state has type %s; it must be float, float16 or bfloat16", ir_dtype_name(ps->dtype));
        if (ps->rank != 4)
            return LA_FAIL("past_state must be 4-D, not rank %d", ps->rank);
        ir_value_dims(ps, pd);
        if (pd[0] != a->B || pd[1] != a->Hkv || pd[2] != a->Dk || pd[3] != a->Dv)
            return LA_FAIL("past_state has shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                           "]; it must be [batch, kv_num_heads, key head size, value head size] = [%" PRId64
                           ", %" PRId64 ", %" PRId64 ", %" PRId64 "]",
                           pd[0], pd[1], pd[2], pd[3], a->B, a->Hkv, a->Dk, a->Dv);
        a->st = ps->dtype;
        a->has_past = true;
    }
    if (a->gated != (dc != NULL))
        return LA_FAIL("update_rule '%s' %s the decay input", rule, a->gated ? "requires" : "forbids");
    if (a->delta != (bt != NULL))
        return LA_FAIL("update_rule '%s' %s the beta input", rule, a->delta ? "requires" : "forbids");
    if (dc) {
        if (dc->dtype != a->t || dc->rank != 3 || dc->dims[0].size != a->B || dc->dims[1].size != a->T)
            return LA_FAIL("decay must be 3-D [batch, tokens, ...] of query's type");
        int64_t last = dc->dims[2].size;
        if (last != a->Hkv && last != a->Hkv * a->Dk)
            return LA_FAIL("decay's last dim %" PRId64 " must be kv_num_heads (%" PRId64
                           ") or kv_num_heads * head_size (%" PRId64 ")",
                           last, a->Hkv, a->Hkv * a->Dk);
        a->decay_per_key = last != a->Hkv;
    }
    if (bt) {
        if (bt->dtype != a->t || bt->rank != 3 || bt->dims[0].size != a->B || bt->dims[1].size != a->T)
            return LA_FAIL("beta must be 3-D [batch, tokens, ...] of query's type");
        a->beta_heads = bt->dims[2].size;
        if (a->beta_heads != a->Hkv && a->beta_heads != 1)
            return LA_FAIL("beta's last dim %" PRId64 " must be kv_num_heads (%" PRId64 ") or 1", a->beta_heads,
                           a->Hkv);
    }
    double sc = ir_attr_float(n, "scale", 0.0);
    if (!isfinite(sc))
        return LA_FAIL("attribute 'scale' %g is not finite", sc);
    a->scale = sc != 0.0 ? sc : 1.0 / sqrt((double)a->Dk);
    return true;
#undef LA_FAIL
}

static bool infer_linear_attention(op_ctx *c)
{
    for (size_t i = 0; i < 6; i++)
        if (op_in(c, i) && !op_need_static(c, i))
            return false;
    la_geom a;
    if (!la_resolve(c, c->g, op_node(c), &a))
        return false;
    int64_t yd[3] = {a.B, a.T, a.Hq * a.Dv}, sd[4] = {a.B, a.Hkv, a.Dk, a.Dv};
    op_set_out(c, 0, a.t, 3, yd);
    op_set_out(c, 1, a.st, 4, sd);
    return true;
}

bool linear_attention_geom_of(const ir_graph *g, int node, linear_attention_geom *a)
{
    return la_resolve(NULL, g, ir_nd(g, node), a);
}

static int64_t flops_linear_attention(const ir_graph *g, int node)
{
    la_geom a;
    if (!la_resolve(NULL, g, ir_nd(g, node), &a))
        return 0;
    /* per token and kv head: decay, retrieval and the rank-1 write; per
     * query head: the read */
    int64_t per_kv = (a.gated ? 1 : 0) + (a.delta ? 2 : 0) + 2;
    int64_t heads = a.Hkv * per_kv + 2 * a.Hq; /* Hkv <= Hq <= query's last dim */
    return op_sat_mul(op_sat_mul(op_sat_mul(a.B, a.T), heads), op_sat_mul(a.Dk, a.Dv));
}

/* ======================================================================== */
/* CausalConvWithState                                                       */
/* ======================================================================== */
/* Inputs input [B, C, L], weight [C, 1, K], bias? [C], past_state? [B, C,
 * K-1]; outputs output [B, C, L], present_state [B, C, K-1].  Each channel
 * is convolved on its own (depthwise) over the row past_state ++ input
 * (zeros in front when there is no past), with no padding, so output[l]
 * sees positions l-K+1 .. l of the input; bias is added, then silu
 * (x * sigmoid(x); 'swish' is its alias) when the activation asks.
 * present_state is the last K-1 positions of that row, reaching into
 * past_state when L < K-1. */

static const op_attr_spec causal_conv_attrs[] = {{"activation", IR_ATTR_STRING}, {NULL, 0}};

static bool cc_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, causal_conv_geom *p)
{
#define CC_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const char *act = ir_attr_string(n, "activation", "none");
    if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
        p->silu = true;
    else if (strcmp(act, "none") != 0)
        return CC_FAIL("attribute 'activation' value '%s' is not one of none, silu, swish", act);
    const ir_value *x = sf_opt(g, n, 0), *w = sf_opt(g, n, 1), *b = sf_opt(g, n, 2), *ps = sf_opt(g, n, 3);
    if (!x || !w)
        return CC_FAIL("input and weight are required");
    p->t = x->dtype;
    if (!sf_is_float(p->t))
        return CC_FAIL("input '%s' has type %s; CausalConvWithState takes float, float16 or bfloat16", x->name,
                       ir_dtype_name(p->t));
    if (x->rank != 3)
        return CC_FAIL("input must be 3-D [batch, channels, length], not rank %d", x->rank);
    p->B = x->dims[0].size;
    p->C = x->dims[1].size;
    p->L = x->dims[2].size;
    if (w->dtype != p->t || w->rank != 3 || w->dims[0].size != p->C || w->dims[1].size != 1)
        return CC_FAIL("weight must be 3-D [channels, 1, kernel size] = [%" PRId64 ", 1, k] of input's type", p->C);
    p->K = w->dims[2].size;
    if (p->K < 1)
        return CC_FAIL("the kernel size (weight's last dim) must be at least 1, not %" PRId64, p->K);
    if (b) {
        if (b->dtype != p->t || b->rank != 1 || b->dims[0].size != p->C)
            return CC_FAIL("bias must be 1-D [channels] = [%" PRId64 "] of input's type", p->C);
        p->has_bias = true;
    }
    if (ps) {
        if (ps->dtype != p->t || ps->rank != 3 || ps->dims[0].size != p->B || ps->dims[1].size != p->C ||
            ps->dims[2].size != p->K - 1)
            return CC_FAIL("past_state must be [batch, channels, kernel size - 1] = [%" PRId64 ", %" PRId64 ", %" PRId64
                           "] of input's type",
                           p->B, p->C, p->K - 1);
        p->has_past = true;
    }
    return true;
#undef CC_FAIL
}

static bool infer_causal_conv(op_ctx *c)
{
    for (size_t i = 0; i < 4; i++)
        if (op_in(c, i) && !op_need_static(c, i))
            return false;
    causal_conv_geom p;
    if (!cc_resolve(c, c->g, op_node(c), &p))
        return false;
    int64_t sd[3] = {p.B, p.C, p.K - 1};
    op_set_out_like(c, 0, op_in(c, 0));
    op_set_out(c, 1, p.t, 3, sd);
    return true;
}

bool causal_conv_geom_of(const ir_graph *g, int node, causal_conv_geom *p)
{
    return cc_resolve(NULL, g, ir_nd(g, node), p);
}

static int64_t flops_causal_conv(const ir_graph *g, int node)
{
    causal_conv_geom p;
    if (!cc_resolve(NULL, g, ir_nd(g, node), &p))
        return 0;
    return op_sat_mul(op_sat_mul(op_sat_mul(2, p.B), op_sat_mul(p.C, p.L)), p.K);
}

/* ======================================================================== */

OP_DEF(LINEAR_ATTENTION, .attrs = linear_attention_attrs, .infer = infer_linear_attention,
       .flops = flops_linear_attention);
OP_DEF(CAUSAL_CONV_WITH_STATE, .attrs = causal_conv_attrs, .infer = infer_causal_conv, .flops = flops_causal_conv);
