/*
 * emit_attention.c - native lowerings of the attention family: Attention,
 * FlexAttention and RotaryEmbedding (src/ops/attention.c holds their semantics,
 * src/ops/attention.h the geometry read here).
 *
 * Everything is computed in float: f16/bf16 operands are widened on load and
 * narrowed on store.  Float32 products go through the kernel layer's
 * hd_sgemm_ws with a scratch block from the memory plan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/attention.h"
#include "ops/ops.h"

typedef attention_geom at_geom;

static uint64_t at_align16(uint64_t floats) { return (floats + 15) / 16 * 16; }

/* The kernel layer's worst case over every target the generated code may be
 * built for. */
static uint64_t at_gemm_floats(int64_t M, int64_t N, int64_t K)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    return (uint64_t)hd_sgemm_scratch_floats_max(M, N, K);
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
    if (!attention_geom_of(g, node, &a))
        return 0;
    at_scr s;
    at_scratch_layout(&a, n, &s);
    return s.total * sizeof(float) + 64;
}

/* Writes the concatenation past ++ new into dst (4-D [B, Hkv, St, D]).
 * new_idx is the input index of K or V, past_idx of past_key/value; dst is
 * "kf"-style float scratch (to_float) or an output of type t. */
static void at_emit_concat(op_emit *e, const at_geom *a, int new_idx, int past_idx, const int64_t *ns, int64_t D,
                           const char *dst, bool dst_is_float)
{
    hodu_dtype t = a->t;
    char *src_new =
        hd_xasprintf("in%d[%s]", new_idx, em_index(0, EM_TERMS({"b", ns[0]}, {"h", ns[1]}, {"s", ns[2]}, {"d", 1})).s);
    char *src_past = hd_xasprintf(
        "in%d[%s]", past_idx, em_index(0, EM_TERMS({"b", a->Hkv * a->Sp * D}, {"h", a->Sp * D}, {"s", D}, {"d", 1})).s);
    /* dst rows: the past ones first, then the new ones from row Sp on */
    const em_term dt[] = {{"b", a->Hkv * a->St * D}, {"h", a->St * D}, {"s", D}, {"d", 1}};
    bool same = dst_is_float ? t == HODU_DTYPE_F32 : true;
    char *ln = same ? hd_xasprintf("%s", src_new) : em_load(t, src_new);
    char *lp = same ? hd_xasprintf("%s", src_past) : em_load(t, src_past);
    em_for(e, "b", a->B);
    em_for(e, "h", a->Hkv);
    if (a->has_past) {
        em_for(e, "s", a->Sp);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) %s[%s] = %s;", D, dst, em_index(0, 4, dt).s, lp);
        em_close(e);
    }
    em_for(e, "s", a->Skv);
    em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) %s[%s] = %s;", D, dst, em_index(a->Sp * D, 4, dt).s, ln);
    em_close(e);
    em_close(e);
    em_close(e);
    free(ln);
    free(lp);
    free(src_new);
    free(src_past);
}

/* Prepares K or V (which = 1 or 2): fills the present output and the source
 * the products read; sets *ptr to the expression of head (b, hk)'s rows and
 * *ld to their stride. */
static void at_emit_kv(op_emit *e, const at_geom *a, const at_scr *s, int which, em_expr *ptr, int64_t *ld)
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
        char inname[16];
        snprintf(inname, sizeof inname, "in%d", which);
        *ptr = em_offset(inname, 0, EM_TERMS({"b", ns[0]}, {"hk", ns[1]}));
        *ld = ns[2];
        return;
    }
    if (src == AT_SRC_PRESENT) {
        at_emit_concat(e, a, which, past_idx, ns, D, outname, false);
        *ptr = em_offset(outname, 0, EM_TERMS({"b", a->Hkv * a->St * D}, {"hk", a->St * D}));
        *ld = D;
        return;
    }
    char fname[32];
    snprintf(fname, sizeof fname, "%s", which == 1 ? "kf" : "vf");
    em_line(e, "float *%s = %s;", fname, em_offset("fs", (int64_t)(which == 1 ? s->kf : s->vf), 0, NULL).s);
    at_emit_concat(e, a, which, past_idx, ns, D, fname, true);
    if (present) {
        char *st = em_store(a->t, which == 1 ? "kf[x]" : "vf[x]");
        em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) out%d[x] = %s;", a->B * a->Hkv * a->St * D, which, st);
        free(st);
    }
    *ptr = em_offset(fname, 0, EM_TERMS({"b", a->Hkv * a->St * D}, {"hk", a->St * D}));
    *ld = D;
}

static void at_emit_qk_store(op_emit *e, const at_geom *a)
{
    char *st = em_store(a->t, "r[j]");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) out3[%s] = %s;", a->St,
            em_index(0, EM_TERMS({"b", a->Hq * a->Sq * a->St}, {"h", a->Sq * a->St}, {"i", a->St}, {"j", 1})).s, st);
    free(st);
}

/* Softmax of the row `r` of n floats in place (NaN and fully masked rows
 * propagate NaN). */
static void at_emit_softmax(op_emit *e, int64_t n)
{
    em_line(e, "float mx = -INFINITY;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) mx = r[j] > mx ? r[j] : mx;", n);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] -= mx;", n);
    em_line(e, "hd_vexp_f32(r, r, %" PRId64 ");", n);
    em_line(e, "float sum = 0.0f;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) sum += r[j];", n);
    em_line(e, "float inv = 1.0f / sum;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] *= inv;", n);
}

/* --- FlexAttention with modifiers ------------------------------------------
 * score_mod and prob_mod see the whole [B, Hq, Sq, St] tensor, so the
 * stages run one after the other over all heads: scores of every head,
 * score_mod, softmax of every row, prob_mod, then the products with V.
 * Each modifier is a subgraph function (emit_c.c, "Subgraphs") with its
 * own memory plan.  Scratch, from its start: the scores, the buffer a
 * modifier writes (the two alternate), the GEMM's block, the subgraphs'
 * arena. */
typedef struct flex_layout {
    const ir_graph *sub[2]; /* score_mod, prob_mod (NULL when absent) */
    mem_plan plan[2];
    uint64_t sc, mo, gs, arena, total; /* floats, but arena and total in bytes */
    uint64_t workers;
} flex_layout;

static void flex_free(flex_layout *L)
{
    for (int i = 0; i < 2; i++)
        if (L->sub[i])
            mem_plan_free(&L->plan[i]);
}

static bool flex_plan(const at_geom *a, flex_layout *L, hd_diag *d)
{
    memset(L, 0, sizeof(*L));
    uint64_t arena = 0;
    L->sub[0] = a->score_mod;
    L->sub[1] = a->prob_mod;
    if (!native_plan_subgraphs(L->sub, 2, L->plan, &arena, &L->workers, d))
        return false;
    uint64_t all = at_align16((uint64_t)(a->B * a->Hq * a->Sq * a->St));
    uint64_t g1 = at_gemm_floats(a->Sq, a->St, a->Dk), g2 = at_gemm_floats(a->Sq, a->Dv, a->St);
    L->sc = 0;
    L->mo = all;
    L->gs = 2 * all;
    L->arena = (L->gs + at_align16(g1 > g2 ? g1 : g2)) * sizeof(float);
    L->total = L->arena + ((arena ? arena : 1) + 63) / 64 * 64;
    return true;
}

static scratch_need scratch_flex(const ir_graph *g, int node)
{
    at_geom a;
    scratch_need need = {UINT64_MAX, 0};
    if (!attention_geom_of(g, node, &a))
        return need;
    if (!a.score_mod && !a.prob_mod)
        return (scratch_need){scratch_attention(g, node), 0};
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    flex_layout L;
    if (flex_plan(&a, &L, &quiet)) {
        need = (scratch_need){L.total + 64, L.workers};
        flex_free(&L);
    }
    hd_diag_free(&quiet);
    return need;
}

/* Runs modifier `fn` from buffer `from` into the other one; `from` then
 * names the result. */
static void flex_call(op_emit *e, int fn, const flex_layout *L)
{
    em_line(e, "cf_in[0] = p;");
    em_line(e, "cf_out[0] = p == sc ? mo : sc;");
    em_call_subgraph(e, fn, L->arena);
    em_line(e, "p = (float *)cf_out[0];");
}

/* `line` (freed here) once per head (b, h), with hk its K/V head. */
static void flex_per_head(op_emit *e, const at_geom *a, char *line)
{
    em_for(e, "b", a->B);
    em_for(e, "h", a->Hq);
    em_line(e, "int64_t hk = h / %" PRId64 ";", a->Hq / a->Hkv);
    em_line(e, "%s", line);
    em_close(e);
    em_close(e);
    free(line);
}

static bool emit_flex_mods(op_emit *e, const at_geom *a)
{
    flex_layout L;
    if (!flex_plan(a, &L, e->d))
        return false;
    int fn[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        if (L.sub[i] && !native_emit_subgraph(e, L.sub[i], &L.plan[i], &fn[i])) {
            flex_free(&L);
            return false;
        }
    e->parallel = true; /* the subgraphs' nodes get the pool and the workers' scratch */
    e->can_fail = true;
    int64_t rows = a->B * a->Hq * a->Sq, plane = a->Sq * a->St;
    if (rows == 0) { /* no scores: the modifiers have nothing to see */
        flex_free(&L);
        return true;
    }
    em_line(e, "float *fs = (float *)(void *)scratch;");
    em_line(e, "float *sc = %s, *mo = %s, *gs = %s, *p = sc;", em_offset("fs", (int64_t)L.sc, 0, NULL).s,
            em_offset("fs", (int64_t)L.mo, 0, NULL).s, em_offset("fs", (int64_t)L.gs, 0, NULL).s);
    em_line(e, "const void *cf_in[1];");
    em_line(e, "void *cf_out[1];");
    char *call =
        hd_xasprintf("hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 0, %s, %" PRId64
                     ", 1, %s, %" PRId64 ", %.9ef, 0.0f, gs);",
                     a->Sq, a->St, a->Dk, em_offset("in0", 0, EM_TERMS({"b", a->qs[0]}, {"h", a->qs[1]})).s, a->qs[2],
                     em_offset("in1", 0, EM_TERMS({"b", a->ks[0]}, {"hk", a->ks[1]})).s, a->ks[2],
                     em_offset("sc", 0, EM_TERMS({"b", a->Hq * plane}, {"h", plane})).s, a->St, (double)a->scale);
    flex_per_head(e, a, call);
    if (L.sub[0])
        flex_call(e, fn[0], &L);
    /* softmax along each row (NaN and fully masked rows propagate NaN) */
    em_for(e, "i", rows);
    em_line(e, "float *r = %s;", em_offset("p", 0, EM_TERMS({"i", a->St})).s);
    at_emit_softmax(e, a->St);
    em_close(e);
    if (L.sub[1])
        flex_call(e, fn[1], &L);
    call = hd_xasprintf("hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 0, %s, %" PRId64
                        ", 0, %s, %" PRId64 ", 1.0f, 0.0f, gs);",
                        a->Sq, a->Dv, a->St, em_offset("p", 0, EM_TERMS({"b", a->Hq * plane}, {"h", plane})).s, a->St,
                        em_offset("in2", 0, EM_TERMS({"b", a->vs[0]}, {"hk", a->vs[1]})).s, a->vs[2],
                        em_offset("out0", 0, EM_TERMS({"b", a->ys[0]}, {"h", a->ys[1]})).s, a->ys[2]);
    flex_per_head(e, a, call);
    flex_free(&L);
    return true;
}

static bool emit_attention(op_emit *e)
{
    const ir_node *n = em_node(e);
    at_geom a;
    if (!attention_geom_of(e->g, e->node, &a))
        return false;
    if (a.score_mod || a.prob_mod)
        return emit_flex_mods(e, &a);
    at_scr s;
    at_scratch_layout(&a, n, &s);
    hodu_dtype t = a.t;
    bool f32 = t == HODU_DTYPE_F32;
    bool want_qk = at_out_present(n, 3);
    em_line(e, "float *fs = (float *)(void *)scratch;");
    em_expr kptr, vptr;
    int64_t kld, vld;
    at_emit_kv(e, &a, &s, 1, &kptr, &kld);
    at_emit_kv(e, &a, &s, 2, &vptr, &vld);
    if (a.B * a.Hq * a.Sq == 0)
        return true;
    em_line(e, "float *sc = %s, *gs = %s;", em_offset("fs", (int64_t)s.sc, 0, NULL).s,
            em_offset("fs", (int64_t)s.gs, 0, NULL).s);
    if (!f32)
        em_line(e, "float *qf = %s, *yb = %s;", em_offset("fs", (int64_t)s.qf, 0, NULL).s,
                em_offset("fs", (int64_t)s.yb, 0, NULL).s);
    em_for(e, "b", a.B);
    if (a.has_nonpad)
        em_line(e, "int64_t npk = in6[b];");
    em_for(e, "h", a.Hq);
    em_line(e, "int64_t hk = h / %" PRId64 ";", a.Hq / a.Hkv);
    em_line(e, "(void)hk;");
    em_line(e, "const float *kh = %s, *vh = %s;", kptr.s, vptr.s);
    /* Q rows of this head */
    const char *qp;
    int64_t qld;
    if (f32) {
        em_line(e, "const float *qh = %s;", em_offset("in0", 0, EM_TERMS({"b", a.qs[0]}, {"h", a.qs[1]})).s);
        qp = "qh";
        qld = a.qs[2];
    } else {
        char *src =
            hd_xasprintf("in0[%s]", em_index(0, EM_TERMS({"b", a.qs[0]}, {"h", a.qs[1]}, {"i", a.qs[2]}, {"d", 1})).s);
        char *l = em_load(t, src);
        em_for(e, "i", a.Sq);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) qf[%s] = %s;", a.Dk,
                em_index(0, EM_TERMS({"i", a.Dk}, {"d", 1})).s, l);
        em_close(e);
        free(l);
        free(src);
        qp = "qf";
        qld = a.Dk;
    }
    em_line(e,
            "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 0, kh, %" PRId64 ", 1, sc, %" PRId64
            ", %.9ef, 0.0f, gs);",
            a.Sq, a.St, a.Dk, qp, qld, kld, a.St, (double)a.scale);
    em_for(e, "i", a.Sq);
    em_line(e, "float *r = %s;", em_offset("sc", 0, EM_TERMS({"i", a.St})).s);
    if (a.softcap > 0)
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] = %.9ef * tanhf(r[j] / %.9ef);", a.St,
                (double)a.softcap, (double)a.softcap);
    if (want_qk && a.mode <= 1)
        at_emit_qk_store(e, &a);
    if (a.has_mask) {
        em_line(e, "{");
        e->indent++;
        const char *mct = em_ctype(a.mt);
        em_line(e, "const %s *m = %s;", mct,
                em_offset("in3", 0, EM_TERMS({"b", a.ms[0]}, {"h", a.ms[1]}, {"i", a.ms[2]})).s);
        char *mj = hd_xasprintf("m[%s]", em_index(0, EM_TERMS({"j", a.ms[3]})).s);
        if (a.mt == HODU_DTYPE_BOOL) {
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] += %s ? 0.0f : -INFINITY;", a.Lm, mj);
        } else {
            char *l = em_load(a.mt, mj);
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) r[j] += %s;", a.Lm, l);
            free(l);
        }
        free(mj);
        if (a.Lm < a.St)
            em_line(e, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) r[j] += -INFINITY;", a.Lm, a.St);
        e->indent--;
        em_line(e, "}");
    }
    if (a.causal)
        em_line(e, "for (int64_t j = %s; j < %" PRId64 "; j++) r[j] += -INFINITY;",
                em_index(a.Sp + 1, EM_TERMS({"i", 1})).s, a.St);
    if (a.has_nonpad)
        em_line(e, "for (int64_t j = npk < 0 ? 0 : npk; j < %" PRId64 "; j++) r[j] += -INFINITY;", a.St);
    if (want_qk && a.mode == 2)
        at_emit_qk_store(e, &a);
    /* softmax along the row (NaN and fully masked rows propagate NaN) */
    at_emit_softmax(e, a.St);
    if (want_qk && a.mode == 3)
        at_emit_qk_store(e, &a);
    em_close(e); /* i */
    if (f32) {
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", sc, %" PRId64 ", 0, vh, %" PRId64
                ", 0, %s, %" PRId64 ", 1.0f, 0.0f, gs);",
                a.Sq, a.Dv, a.St, a.St, vld, em_offset("out0", 0, EM_TERMS({"b", a.ys[0]}, {"h", a.ys[1]})).s, a.ys[2]);
    } else {
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", sc, %" PRId64 ", 0, vh, %" PRId64
                ", 0, yb, %" PRId64 ", 1.0f, 0.0f, gs);",
                a.Sq, a.Dv, a.St, a.St, vld, a.Dv);
        char *yv = hd_xasprintf("yb[%s]", em_index(0, EM_TERMS({"i", a.Dv}, {"d", 1})).s);
        char *sv = em_store(t, yv);
        free(yv);
        em_for(e, "i", a.Sq);
        em_line(e, "for (int64_t d = 0; d < %" PRId64 "; d++) out0[%s] = %s;", a.Dv,
                em_index(0, EM_TERMS({"b", a.ys[0]}, {"h", a.ys[1]}, {"i", a.ys[2]}, {"d", 1})).s, sv);
        em_close(e);
        free(sv);
    }
    em_close(e); /* h */
    em_close(e); /* b */
    return true;
}

/* --- RotaryEmbedding --------------------------------------------------- */

static bool emit_rotary(op_emit *e)
{
    rotary_geom r;
    if (!rotary_geom_of(e->g, e->node, &r))
        return false;
    hodu_dtype t = em_in(e, 0)->dtype;
    const char *ct = em_ctype(t);
    int64_t half = r.R / 2;
    if (r.B * r.H * r.S * r.D == 0)
        return true;
    char *lc = em_load(t, "cp[k]"), *ls = em_load(t, "sp[k]");
    const char *i1 = r.inter ? "2 * k" : "k";
    /* the pair's second element: right after the first, or half a row on */
    const em_expr i2x = em_index(half, EM_TERMS({"k", 1}));
    const char *i2 = r.inter ? "2 * k + 1" : i2x.s;
    char a1[64], *a2 = hd_xasprintf("x[%s]", i2);
    snprintf(a1, sizeof a1, "x[%s]", i1);
    char *l1 = em_load(t, a1), *l2 = em_load(t, a2);
    free(a2);
    char *s1 = em_store(t, "c_ * x1 - s_ * x2"), *s2 = em_store(t, "s_ * x1 + c_ * x2");
    em_for(e, "b", r.B);
    em_for(e, "s", r.S);
    if (r.pos) {
        em_line(e, "int64_t p = in3[%s];", em_index(0, EM_TERMS({"b", r.S}, {"s", 1})).s);
        em_line(e, "p = p < 0 ? 0 : p > %" PRId64 " ? %" PRId64 " : p;", r.P - 1, r.P - 1);
        em_line(e, "const %s *cp = %s, *sp = %s;", ct, em_offset("in1", 0, EM_TERMS({"p", half})).s,
                em_offset("in2", 0, EM_TERMS({"p", half})).s);
    } else {
        em_line(e, "const %s *cp = %s, *sp = %s;", ct, em_offset("in1", 0, EM_TERMS({"b", r.S * half}, {"s", half})).s,
                em_offset("in2", 0, EM_TERMS({"b", r.S * half}, {"s", half})).s);
    }
    em_for(e, "h", r.H);
    const em_term xt[] = {{"b", r.xs[0]}, {"h", r.xs[1]}, {"s", r.xs[2]}};
    em_line(e, "const %s *x = %s;", ct, em_offset("in0", 0, 3, xt).s);
    em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, 3, xt).s);
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

void native_register_attention(native_lowering *table)
{
    table[OP_ATTENTION] = (native_lowering){.emit = emit_attention, .scratch = scratch_attention};
    table[OP_FLEX_ATTENTION] = (native_lowering){.emit = emit_attention, .scratch_both = scratch_flex};
    table[OP_ROTARY_EMBEDDING] = (native_lowering){.emit = emit_rotary};
}
