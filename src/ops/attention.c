/*
 * ops/attention.c - the attention op family: Attention and RotaryEmbedding
 * (ai.onnx opset 23; Attention's nonpad_kv_seqlen input is opset 24).
 *
 * Everything is computed in float: f16/bf16 operands are widened on load and
 * narrowed on store.  Float32 products go through the kernel layer's
 * hd_sgemm_ws with a scratch block from the memory plan.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "ops_impl.h"

static bool at_is_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

static uint64_t at_align16(uint64_t floats) { return (floats + 15) / 16 * 16; }

static uint64_t at_gemm_floats(int64_t M, int64_t N, int64_t K)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    return (uint64_t)hd_sgemm_scratch_floats_max(M, N, K);
}

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
 * after the bias (mode 2) or after softmax (mode 3).  softmax_precision is
 * accepted; the softmax always runs in float. */

static const op_attr_spec attention_attrs[] = {
    {"is_causal", IR_ATTR_INT},       {"kv_num_heads", IR_ATTR_INT},        {"q_num_heads", IR_ATTR_INT},
    {"qk_matmul_output_mode", IR_ATTR_INT}, {"scale", IR_ATTR_FLOAT},     {"softcap", IR_ATTR_FLOAT},
    {"softmax_precision", IR_ATTR_INT}, {NULL, 0}};

/* The resolved geometry of one Attention node. */
typedef struct at_geom {
    int rank; /* 3 or 4 */
    hodu_dtype t;
    int64_t B, Hq, Hkv, Sq, Skv, Sp, St, Dk, Dv;
    /* element strides of Q, K, V (batch, head, seq) in their own layout;
     * the innermost (head_size) stride is 1 */
    int64_t qs[3], ks[3], vs[3], ys[3];
    bool has_mask, has_past, has_nonpad;
    int64_t ms[4]; /* mask strides for [B, Hq, Sq, j] */
    int64_t Lm;    /* mask length along kv */
    hodu_dtype mt;
    bool causal;
    int mode;
    float scale, softcap;
} at_geom;

static const ir_value *at_opt(const ir_graph *g, const ir_node *n, size_t i)
{
    if (i >= n->n_inputs || n->inputs[i] < 0)
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

/* Validates and resolves; c may be NULL (emit time, already validated). */
static bool at_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, at_geom *a)
{
#define AT_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(a, 0, sizeof *a);
    const ir_value *q = at_opt(g, n, 0), *k = at_opt(g, n, 1), *v = at_opt(g, n, 2);
    if (!q || !k || !v)
        return AT_FAIL("Q, K and V are required");
    a->t = q->dtype;
    if (!at_is_float(a->t))
        return AT_FAIL("input '%s' has type %s; Attention takes float, float16 or bfloat16", q->name,
                       ir_dtype_name(a->t));
    if (k->dtype != a->t || v->dtype != a->t)
        return AT_FAIL("Q, K and V must have the same type");
    if ((q->rank != 3 && q->rank != 4) || k->rank != q->rank || v->rank != q->rank)
        return AT_FAIL("Q, K and V must all be 3-D or all 4-D (ranks %d, %d, %d)", q->rank, k->rank, v->rank);
    a->rank = q->rank;
    int64_t qd[4], kd[4], vd[4];
    em_dims(q, qd);
    em_dims(k, kd);
    em_dims(v, vd);
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
        em_dims(pk, pkd);
        em_dims(pv, pvd);
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
                return AT_FAIL("attn_mask shape does not broadcast to [%" PRId64 ", %" PRId64 ", %" PRId64
                               ", %" PRId64 "]",
                               a->B, a->Hq, a->Sq, a->St);
        }
        em_broadcast_strides(m, 4, od, a->ms);
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
    return true;
#undef AT_FAIL
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

static bool at_out_present(const ir_node *n, size_t i) { return i < n->n_outputs && n->outputs[i] >= 0; }

/* How K (or V) is read: directly from the input (f32, no past), from the
 * present output (f32 with past), or from float scratch. */
typedef enum at_src { AT_SRC_INPUT, AT_SRC_PRESENT, AT_SRC_SCRATCH } at_src;

static at_src at_src_of(const at_geom *a, const ir_node *n, size_t out)
{
    if (a->t == HODU_DTYPE_F32 && !a->has_past)
        return AT_SRC_INPUT;
    if (a->t == HODU_DTYPE_F32 && at_out_present(n, out))
        return AT_SRC_PRESENT;
    return AT_SRC_SCRATCH;
}

/* Scratch layout, in floats: kf, vf (when copied), qf, sc, yb, gemm. */
typedef struct at_scr {
    uint64_t kf, vf, qf, sc, yb, gs, total;
} at_scr;

static void at_scratch_layout(const at_geom *a, const ir_node *n, at_scr *s)
{
    uint64_t off = 0;
    s->kf = off;
    if (at_src_of(a, n, 1) == AT_SRC_SCRATCH)
        off += at_align16((uint64_t)(a->B * a->Hkv * a->St * a->Dk));
    s->vf = off;
    if (at_src_of(a, n, 2) == AT_SRC_SCRATCH)
        off += at_align16((uint64_t)(a->B * a->Hkv * a->St * a->Dv));
    s->qf = off;
    if (a->t != HODU_DTYPE_F32)
        off += at_align16((uint64_t)(a->Sq * a->Dk));
    s->sc = off;
    off += at_align16((uint64_t)(a->Sq * a->St));
    s->yb = off;
    if (a->t != HODU_DTYPE_F32)
        off += at_align16((uint64_t)(a->Sq * a->Dv));
    s->gs = off;
    uint64_t g1 = at_gemm_floats(a->Sq, a->St, a->Dk), g2 = at_gemm_floats(a->Sq, a->Dv, a->St);
    off += g1 > g2 ? g1 : g2;
    s->total = off;
}

static uint64_t scratch_attention(const ir_graph *g, int node)
{
    at_geom a;
    const ir_node *n = ir_nd(g, node);
    if (!at_resolve(NULL, g, n, &a))
        return 0;
    at_scr s;
    at_scratch_layout(&a, n, &s);
    return s.total * sizeof(float) + 64;
}

static int64_t flops_attention(const ir_graph *g, int node)
{
    at_geom a;
    if (!at_resolve(NULL, g, ir_nd(g, node), &a))
        return 0;
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * a.B, a.Hq), op_sat_mul(a.Sq, a.St)), a.Dk + a.Dv);
}

/* Writes the concatenation past ++ new into dst (4-D [B, Hkv, St, D]).
 * new_idx is the input index of K or V, past_idx of past_key/value; dst is
 * "kf"-style float scratch (to_float) or an output of type t. */
static void at_emit_concat(op_emit *e, const at_geom *a, int new_idx, int past_idx, const int64_t *ns, int64_t D,
                           const char *dst, bool dst_is_float)
{
    hodu_dtype t = a->t;
    char src_new[64], src_past[64];
    snprintf(src_new, sizeof src_new, "in%d[b * %" PRId64 " + h * %" PRId64 " + s * %" PRId64 " + d]", new_idx,
             ns[0], ns[1], ns[2]);
    snprintf(src_past, sizeof src_past, "in%d[((b * %" PRId64 " + h) * %" PRId64 " + s) * %" PRId64 " + d]",
             past_idx, a->Hkv, a->Sp, D);
    bool same = dst_is_float ? t == HODU_DTYPE_F32 : true;
    char *ln = same ? hd_xasprintf("%s", src_new) : em_load(t, src_new);
    char *lp = same ? hd_xasprintf("%s", src_past) : em_load(t, src_past);
    em_for(e, "b", a->B);
    em_for(e, "h", a->Hkv);
    if (a->has_past) {
        em_for(e, "s", a->Sp);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) %s[((b * %" PRId64 " + h) * %" PRId64 " + s) * %" PRId64
                   " + d] = %s;",
                D, dst, a->Hkv, a->St, D, lp);
        em_close(e);
    }
    em_for(e, "s", a->Skv);
    em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) %s[((b * %" PRId64 " + h) * %" PRId64 " + %" PRId64
               " + s) * %" PRId64 " + d] = %s;",
            D, dst, a->Hkv, a->St, a->Sp, D, ln);
    em_close(e);
    em_close(e);
    em_close(e);
    free(ln);
    free(lp);
}

/* Prepares K or V (which = 1 or 2): fills the present output and the source
 * the products read; sets *ptr to the expression of head (b, hk)'s rows and
 * *ld to their stride. */
static void at_emit_kv(op_emit *e, const at_geom *a, const at_scr *s, int which, char *ptr, size_t ptrn,
                       int64_t *ld)
{
    const ir_node *n = em_node(e);
    int64_t D = which == 1 ? a->Dk : a->Dv;
    const int64_t *ns = which == 1 ? a->ks : a->vs;
    int past_idx = which == 1 ? 4 : 5;
    bool present = at_out_present(n, (size_t)which);
    at_src src = at_src_of(a, n, (size_t)which);
    char outname[16];
    snprintf(outname, sizeof outname, "out%d", which);
    if (src == AT_SRC_INPUT) {
        if (present)
            at_emit_concat(e, a, which, past_idx, ns, D, outname, false);
        snprintf(ptr, ptrn, "in%d + b * %" PRId64 " + hk * %" PRId64, which, ns[0], ns[1]);
        *ld = ns[2];
        return;
    }
    if (src == AT_SRC_PRESENT) {
        at_emit_concat(e, a, which, past_idx, ns, D, outname, false);
        snprintf(ptr, ptrn, "out%d + (b * %" PRId64 " + hk) * %" PRId64, which, a->Hkv, a->St * D);
        *ld = D;
        return;
    }
    char fname[32];
    snprintf(fname, sizeof fname, "%s", which == 1 ? "kf" : "vf");
    em_line(e, "float *%s = fs + %" PRIu64 ";", fname, which == 1 ? s->kf : s->vf);
    at_emit_concat(e, a, which, past_idx, ns, D, fname, true);
    if (present) {
        char *st = em_store(a->t, which == 1 ? "kf[x]" : "vf[x]");
        em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) out%d[x] = %s;", a->B * a->Hkv * a->St * D, which, st);
        free(st);
    }
    snprintf(ptr, ptrn, "%s + (b * %" PRId64 " + hk) * %" PRId64, fname, a->Hkv, a->St * D);
    *ld = D;
}

static void at_emit_qk_store(op_emit *e, const at_geom *a)
{
    char *st = em_store(a->t, "r[j]");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) out3[((b * %" PRId64 " + h) * %" PRId64 " + i) * %" PRId64
               " + j] = %s;",
            a->St, a->Hq, a->Sq, a->St, st);
    free(st);
}

static bool emit_attention(op_emit *e)
{
    const ir_node *n = em_node(e);
    at_geom a;
    if (!at_resolve(NULL, e->g, n, &a))
        return false;
    at_scr s;
    at_scratch_layout(&a, n, &s);
    hodu_dtype t = a.t;
    bool f32 = t == HODU_DTYPE_F32;
    bool want_qk = at_out_present(n, 3);
    em_line(e, "float *fs = (float *)(void *)scratch;");
    char kptr[160], vptr[160];
    int64_t kld, vld;
    at_emit_kv(e, &a, &s, 1, kptr, sizeof kptr, &kld);
    at_emit_kv(e, &a, &s, 2, vptr, sizeof vptr, &vld);
    if (a.B * a.Hq * a.Sq == 0)
        return true;
    em_line(e, "float *sc = fs + %" PRIu64 ", *gs = fs + %" PRIu64 ";", s.sc, s.gs);
    if (!f32)
        em_line(e, "float *qf = fs + %" PRIu64 ", *yb = fs + %" PRIu64 ";", s.qf, s.yb);
    em_for(e, "b", a.B);
    if (a.has_nonpad)
        em_line(e, "int64_t npk = in6[b];");
    em_for(e, "h", a.Hq);
    em_line(e, "int64_t hk = h / %" PRId64 ";", a.Hq / a.Hkv);
    em_line(e, "(void)hk;");
    em_line(e, "const float *kh = %s, *vh = %s;", kptr, vptr);
    /* Q rows of this head */
    const char *qp;
    int64_t qld;
    if (f32) {
        em_line(e, "const float *qh = in0 + b * %" PRId64 " + h * %" PRId64 ";", a.qs[0], a.qs[1]);
        qp = "qh";
        qld = a.qs[2];
    } else {
        char src[96];
        snprintf(src, sizeof src, "in0[b * %" PRId64 " + h * %" PRId64 " + i * %" PRId64 " + d]", a.qs[0], a.qs[1],
                 a.qs[2]);
        char *l = em_load(t, src);
        em_for(e, "i", a.Sq);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) qf[i * %" PRId64 " + d] = %s;", a.Dk, a.Dk, l);
        em_close(e);
        free(l);
        qp = "qf";
        qld = a.Dk;
    }
    em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 0, kh, %" PRId64
               ", 1, sc, %" PRId64 ", %.9ef, 0.0f, gs);",
            a.Sq, a.St, a.Dk, qp, qld, kld, a.St, (double)a.scale);
    em_for(e, "i", a.Sq);
    em_line(e, "float *r = sc + i * %" PRId64 ";", a.St);
    if (a.softcap > 0)
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] = %.9ef * tanhf(r[j] / %.9ef);", a.St,
                (double)a.softcap, (double)a.softcap);
    if (want_qk && a.mode <= 1)
        at_emit_qk_store(e, &a);
    if (a.has_mask) {
        em_line(e, "{");
        e->indent++;
        const char *mct = em_ctype(a.mt);
        em_line(e, "const %s *m = in3 + b * %" PRId64 " + h * %" PRId64 " + i * %" PRId64 ";", mct, a.ms[0],
                a.ms[1], a.ms[2]);
        char mj[64];
        snprintf(mj, sizeof mj, "m[j * %" PRId64 "]", a.ms[3]);
        if (a.mt == HODU_DTYPE_BOOL) {
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] += %s ? 0.0f : -INFINITY;", a.Lm, mj);
        } else {
            char *l = em_load(a.mt, mj);
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] += %s;", a.Lm, l);
            free(l);
        }
        if (a.Lm < a.St)
            em_line(e, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) r[j] += -INFINITY;", a.Lm, a.St);
        e->indent--;
        em_line(e, "}");
    }
    if (a.causal)
        em_line(e, "for (int64_t j = i + %" PRId64 " + 1; j < %" PRId64 "; j++) r[j] += -INFINITY;", a.Sp, a.St);
    if (a.has_nonpad)
        em_line(e, "for (int64_t j = npk < 0 ? 0 : npk; j < %" PRId64 "; j++) r[j] += -INFINITY;", a.St);
    if (want_qk && a.mode == 2)
        at_emit_qk_store(e, &a);
    /* softmax along the row (NaN and fully masked rows propagate NaN) */
    em_line(e, "float mx = -INFINITY;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) mx = r[j] > mx ? r[j] : mx;", a.St);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] -= mx;", a.St);
    em_line(e, "hd_vexp_f32(r, r, %" PRId64 ");", a.St);
    em_line(e, "float sum = 0.0f;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) sum += r[j];", a.St);
    em_line(e, "float inv = 1.0f / sum;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] *= inv;", a.St);
    if (want_qk && a.mode == 3)
        at_emit_qk_store(e, &a);
    em_close(e); /* i */
    if (f32) {
        em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", sc, %" PRId64 ", 0, vh, %" PRId64
                   ", 0, out0 + b * %" PRId64 " + h * %" PRId64 ", %" PRId64 ", 1.0f, 0.0f, gs);",
                a.Sq, a.Dv, a.St, a.St, vld, a.ys[0], a.ys[1], a.ys[2]);
    } else {
        em_line(e, "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", sc, %" PRId64 ", 0, vh, %" PRId64
                   ", 0, yb, %" PRId64 ", 1.0f, 0.0f, gs);",
                a.Sq, a.Dv, a.St, a.St, vld, a.Dv);
        char yv[64];
        snprintf(yv, sizeof yv, "yb[i * %" PRId64 " + d]", a.Dv);
        char *sv = em_store(t, yv);
        em_for(e, "i", a.Sq);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) out0[b * %" PRId64 " + h * %" PRId64 " + i * %" PRId64
                   " + d] = %s;",
                a.Dv, a.ys[0], a.ys[1], a.ys[2], sv);
        em_close(e);
        free(sv);
    }
    em_close(e); /* h */
    em_close(e); /* b */
    return true;
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

typedef struct rot_geom {
    int64_t B, H, S, D, R, P; /* P: cache rows when position_ids given */
    int64_t xs[3];            /* strides of batch, head, seq */
    bool pos, inter;
} rot_geom;

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
    em_dims(x, xd);
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

static bool emit_rotary(op_emit *e)
{
    const ir_node *n = em_node(e);
    rot_geom r;
    if (!rot_resolve(NULL, e->g, n, &r))
        return false;
    hodu_dtype t = em_in(e, 0)->dtype;
    const char *ct = em_ctype(t);
    int64_t half = r.R / 2;
    if (r.B * r.H * r.S * r.D == 0)
        return true;
    char *lc = em_load(t, "cp[k]"), *ls = em_load(t, "sp[k]");
    const char *i1 = r.inter ? "2 * k" : "k";
    char i2[48];
    if (r.inter)
        snprintf(i2, sizeof i2, "2 * k + 1");
    else
        snprintf(i2, sizeof i2, "k + %" PRId64, half);
    char a1[64], a2[64];
    snprintf(a1, sizeof a1, "x[%s]", i1);
    snprintf(a2, sizeof a2, "x[%s]", i2);
    char *l1 = em_load(t, a1), *l2 = em_load(t, a2);
    char *s1 = em_store(t, "c_ * x1 - s_ * x2"), *s2 = em_store(t, "s_ * x1 + c_ * x2");
    em_for(e, "b", r.B);
    em_for(e, "s", r.S);
    if (r.pos) {
        em_line(e, "int64_t p = in3[b * %" PRId64 " + s];", r.S);
        em_line(e, "p = p < 0 ? 0 : p > %" PRId64 " ? %" PRId64 " : p;", r.P - 1, r.P - 1);
        em_line(e, "const %s *cp = in1 + p * %" PRId64 ", *sp = in2 + p * %" PRId64 ";", ct, half, half);
    } else {
        em_line(e, "const %s *cp = in1 + (b * %" PRId64 " + s) * %" PRId64 ", *sp = in2 + (b * %" PRId64
                   " + s) * %" PRId64 ";",
                ct, r.S, half, r.S, half);
    }
    em_for(e, "h", r.H);
    em_line(e, "const %s *x = in0 + b * %" PRId64 " + h * %" PRId64 " + s * %" PRId64 ";", ct, r.xs[0], r.xs[1],
            r.xs[2]);
    em_line(e, "%s *y = out0 + b * %" PRId64 " + h * %" PRId64 " + s * %" PRId64 ";", ct, r.xs[0], r.xs[1], r.xs[2]);
    em_for(e, "k", half);
    em_line(e, "float c_ = %s, s_ = %s, x1 = %s, x2 = %s;", lc, ls, l1, l2);
    em_line(e, "y[%s] = %s;", i1, s1);
    em_line(e, "y[%s] = %s;", i2, s2);
    em_close(e);
    if (r.R < r.D)
        em_line(e, "for (int64_t d = %" PRId64 "; d < %" PRId64 "; d++) y[d] = x[d];", r.R, r.D);
    em_close(e);
    em_close(e);
    em_close(e);
    free(lc);
    free(ls);
    free(l1);
    free(l2);
    free(s1);
    free(s2);
    return true;
}

/* ======================================================================== */

OP_DEF(ATTENTION, .attrs = attention_attrs, .infer = infer_attention, .emit = emit_attention,
       .flops = flops_attention, .scratch = scratch_attention);
OP_DEF(ROTARY_EMBEDDING, .attrs = rotary_attrs, .infer = infer_rotary, .emit = emit_rotary);
