/*
 * emit_stateful.c - native lowerings of the stateful family: LinearAttention
 * and CausalConvWithState (src/ops/stateful.c holds their semantics,
 * src/ops/stateful.h the geometry read here).
 *
 * Everything is computed in float: f16/bf16 operands are widened on load and
 * narrowed on store.  Both ops run as independent rows (one kv head of one
 * batch entry, one channel of one batch entry) split over the workers; the
 * float scratch a row needs is each worker's own.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/stateful.h"

static uint64_t sf_align16(uint64_t floats) { return (floats + 15) / 16 * 16; }

/* ======================================================================== */
/* LinearAttention                                                           */
/* ======================================================================== */
/* Per (batch entry, kv head) the state lives in float as S[Dk][Dv], row i
 * for key component i: in present_state itself when that is float32, else
 * in worker scratch, stored once at the end.  Every token costs a few passes
 * over S, each a loop over contiguous value components that the C compiler
 * vectorizes. */

/* Worker scratch layout, in floats: the state (when not kept in the
 * output), then, when there are tokens, u (the value written this token)
 * and o (a read, when the output is not float32). */
typedef struct la_scr {
    uint64_t s, u, o, total;
} la_scr;

static void la_scratch_layout(const linear_attention_geom *a, la_scr *l)
{
    uint64_t off = 0, dkv = (uint64_t)op_sat_mul(a->Dk, a->Dv);
    l->s = off;
    if (a->st != HODU_DTYPE_F32)
        off = op_sat_add_u64(off, sf_align16(dkv));
    l->u = off;
    if (a->T > 0)
        off = op_sat_add_u64(off, sf_align16((uint64_t)a->Dv));
    l->o = off;
    if (a->T > 0 && a->t != HODU_DTYPE_F32)
        off = op_sat_add_u64(off, (uint64_t)a->Dv);
    l->total = off;
}

static uint64_t worker_scratch_linear_attention(const ir_graph *g, int node)
{
    linear_attention_geom a;
    if (!linear_attention_geom_of(g, node, &a) || a.B * a.Hkv == 0)
        return 0;
    la_scr l;
    la_scratch_layout(&a, &l);
    return l.total > UINT64_MAX / sizeof(float) ? UINT64_MAX : l.total * sizeof(float);
}

/* A one-line loop "for (var < n) body" over a row. */
static void la_row(op_emit *e, int64_t n, const char *var, const char *body)
{
    em_line(e, "for (int64_t %s = 0; %s < %" PRId64 "; %s++) %s", var, var, n, var, body);
}

static bool emit_linear_attention(op_emit *e)
{
    linear_attention_geom a;
    if (!linear_attention_geom_of(e->g, e->node, &a))
        return false;
    if (a.B * a.Hkv == 0)
        return true;
    la_scr l;
    la_scratch_layout(&a, &l);
    const hodu_dtype t = a.t, st = a.st;
    const int64_t G = a.Hq / a.Hkv, DkDv = a.Dk * a.Dv;
    const char *ct = em_ctype(t);
    /* where S[i][m] lies */
    const em_expr sim = em_index(0, EM_TERMS({"i", a.Dv}, {"m", 1}));
    char *tmp;

    int64_t per_token = op_sat_mul(DkDv, 4 + 2 * G);
    em_par_for(e, "bh", a.B * a.Hkv, 1, op_sat_mul(a.T, per_token));
    em_line(e, "const int64_t b = bh / %" PRId64 ", hk = bh %% %" PRId64 ";", a.Hkv, a.Hkv);
    em_line(e, "(void)b;");
    em_line(e, "(void)hk;");
    if (st == HODU_DTYPE_F32)
        em_line(e, "float *restrict s = %s;", em_offset("out1", 0, EM_TERMS({"bh", DkDv})).s);
    else
        em_line(e, "float *restrict s = (float *)(void *)wscratch + %" PRIu64 ";", l.s);

    /* the state this call starts from */
    if (a.has_past) {
        em_line(e, "const %s *sp = %s;", em_ctype(st), em_offset("in3", 0, EM_TERMS({"bh", DkDv})).s);
        tmp = em_load(st, "sp[x]");
        em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) s[x] = %s;", DkDv, tmp);
        free(tmp);
    } else {
        em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) s[x] = 0.0f;", DkDv);
    }

    if (a.T > 0) {
        em_line(e, "float *restrict u = (float *)(void *)wscratch + %" PRIu64 ";", l.u);
        if (t != HODU_DTYPE_F32)
            em_line(e, "float *restrict o = (float *)(void *)wscratch + %" PRIu64 ";", l.o);
        em_for(e, "t", a.T);
        em_line(e, "const %s *q = %s;", ct,
                em_offset("in0", 0, EM_TERMS({"b", a.T * a.Hq * a.Dk}, {"t", a.Hq * a.Dk}, {"hk", G * a.Dk})).s);
        em_line(e, "const %s *k = %s;", ct,
                em_offset("in1", 0, EM_TERMS({"b", a.T * a.Hkv * a.Dk}, {"t", a.Hkv * a.Dk}, {"hk", a.Dk})).s);
        em_line(e, "const %s *v = %s;", ct,
                em_offset("in2", 0, EM_TERMS({"b", a.T * a.Hkv * a.Dv}, {"t", a.Hkv * a.Dv}, {"hk", a.Dv})).s);
        em_line(e, "%s *y = %s;", ct,
                em_offset("out0", 0, EM_TERMS({"b", a.T * a.Hq * a.Dv}, {"t", a.Hq * a.Dv}, {"hk", G * a.Dv})).s);
        char *lk = em_load(t, "k[i]"), *lv = em_load(t, "v[m]");

        /* decay: S *= exp(g), one g per head or one per key row */
        if (a.gated && !a.decay_per_key) {
            char *src = hd_xasprintf("in4[%s]", em_index(0, EM_TERMS({"b", a.T * a.Hkv}, {"t", a.Hkv}, {"hk", 1})).s);
            tmp = em_load(t, src);
            em_line(e, "const float g = expf(%s);", tmp);
            em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) s[x] *= g;", DkDv);
            free(tmp);
            free(src);
        } else if (a.gated) {
            char *src = hd_xasprintf(
                "in4[%s]",
                em_index(0, EM_TERMS({"b", a.T * a.Hkv * a.Dk}, {"t", a.Hkv * a.Dk}, {"hk", a.Dk}, {"i", 1})).s);
            tmp = em_load(t, src);
            em_for(e, "i", a.Dk);
            em_line(e, "const float g = expf(%s);", tmp);
            char *body = hd_xasprintf("s[%s] *= g;", sim.s);
            la_row(e, a.Dv, "m", body);
            free(body);
            em_close(e);
            free(tmp);
            free(src);
        }

        /* u = beta * (v - S^T k) for the delta rules, else v */
        if (a.delta) {
            la_row(e, a.Dv, "m", "u[m] = 0.0f;");
            em_for(e, "i", a.Dk);
            em_line(e, "const float ki = %s;", lk);
            char *body = hd_xasprintf("u[m] += s[%s] * ki;", sim.s);
            la_row(e, a.Dv, "m", body);
            free(body);
            em_close(e);
            char *src = hd_xasprintf("in5[%s]", em_index(0, EM_TERMS({"b", a.T * a.beta_heads}, {"t", a.beta_heads},
                                                                     {"hk", a.beta_heads == 1 ? 0 : 1}))
                                                    .s);
            tmp = em_load(t, src);
            em_line(e, "const float be = %s;", tmp);
            free(tmp);
            free(src);
            body = hd_xasprintf("u[m] = be * (%s - u[m]);", lv);
            la_row(e, a.Dv, "m", body);
            free(body);
        } else {
            char *body = hd_xasprintf("u[m] = %s;", lv);
            la_row(e, a.Dv, "m", body);
            free(body);
        }

        /* S += k u^T */
        em_for(e, "i", a.Dk);
        em_line(e, "const float ki = %s;", lk);
        char *body = hd_xasprintf("s[%s] += ki * u[m];", sim.s);
        la_row(e, a.Dv, "m", body);
        free(body);
        em_close(e);

        /* each query head of the group reads S */
        em_for(e, "j", G);
        if (t == HODU_DTYPE_F32) /* read straight into the output row */
            em_line(e, "float *o = %s;", em_offset("y", 0, EM_TERMS({"j", a.Dv})).s);
        la_row(e, a.Dv, "m", "o[m] = 0.0f;");
        em_for(e, "i", a.Dk);
        char *src = hd_xasprintf("q[%s]", em_index(0, EM_TERMS({"j", a.Dk}, {"i", 1})).s);
        tmp = em_load(t, src);
        em_line(e, "const float qi = %s;", tmp);
        free(tmp);
        free(src);
        body = hd_xasprintf("o[m] += qi * s[%s];", sim.s);
        la_row(e, a.Dv, "m", body);
        free(body);
        em_close(e);
        if (t == HODU_DTYPE_F32) {
            body = hd_xasprintf("o[m] *= %.9ef;", a.scale);
        } else {
            char *val = hd_xasprintf("%.9ef * o[m]", a.scale);
            tmp = em_store(t, val);
            body = hd_xasprintf("y[%s] = %s;", em_index(0, EM_TERMS({"j", a.Dv}, {"m", 1})).s, tmp);
            free(tmp);
            free(val);
        }
        la_row(e, a.Dv, "m", body);
        free(body);
        em_close(e); /* j */
        free(lk);
        free(lv);
        em_close(e); /* t */
    }

    /* present_state, when S was not kept in it */
    if (st != HODU_DTYPE_F32) {
        tmp = em_store(st, "s[x]");
        em_line(e, "for (int64_t x = 0; x < %" PRId64 "; x++) out1[%s] = %s;", DkDv,
                em_index(0, EM_TERMS({"bh", DkDv}, {"x", 1})).s, tmp);
        free(tmp);
    }
    em_close(e); /* bh */
    return true;
}

/* ======================================================================== */
/* CausalConvWithState                                                       */
/* ======================================================================== */
/* Per (batch entry, channel): the first K-1 outputs reach back into the
 * past state (zeros without one), the rest read the input alone; then the
 * last K-1 positions of past ++ input become the present state. */

static bool emit_causal_conv(op_emit *e)
{
    causal_conv_geom p;
    if (!causal_conv_geom_of(e->g, e->node, &p))
        return false;
    if (p.B * p.C == 0)
        return true;
    const hodu_dtype t = p.t;
    const char *ct = em_ctype(t);
    const int64_t K1 = p.K - 1, head = p.L < K1 ? p.L : K1;
    char *tmp;

    em_par_for(e, "bc", p.B * p.C, 1, op_sat_mul(p.L + 1, p.K));
    em_line(e, "const int64_t c = bc %% %" PRId64 ";", p.C);
    em_line(e, "(void)c;");
    if (p.has_past && K1 > 0)
        em_line(e, "const %s *ps = %s;", ct, em_offset("in3", 0, EM_TERMS({"bc", K1})).s);
    if (p.L > 0) { /* else only the state moves */
        em_line(e, "const %s *x = %s;", ct, em_offset("in0", 0, EM_TERMS({"bc", p.L})).s);
        em_line(e, "const %s *w = %s;", ct, em_offset("in1", 0, EM_TERMS({"c", p.K})).s);
        em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, EM_TERMS({"bc", p.L})).s);
        if (p.has_bias) {
            tmp = em_load(t, "in2[c]");
            em_line(e, "const float bias = %s;", tmp);
            free(tmp);
        } else {
            em_line(e, "const float bias = 0.0f;");
        }
    }
    char *lw = em_load(t, "w[j]"), *lx = em_load(t, "x[xi]"), *lp = NULL;
    if (p.has_past && K1 > 0) {
        char *src = hd_xasprintf("ps[%s]", em_index(K1, EM_TERMS({"xi", 1})).s);
        lp = em_load(t, src);
        free(src);
    }
    char *sy = em_store(t, p.silu ? "acc / (1.0f + expf(-acc))" : "acc");
    const em_expr xi = em_index(-K1, EM_TERMS({"l", 1}, {"j", 1}));

    /* outputs whose window starts before the input: the state fills in */
    if (head > 0) {
        em_for(e, "l", head);
        em_line(e, "float acc = bias;");
        em_for(e, "j", p.K);
        em_line(e, "const int64_t xi = %s;", xi.s);
        em_line(e, "acc += %s * (xi >= 0 ? %s : %s);", lw, lx, lp ? lp : "0.0f");
        em_close(e);
        em_line(e, "y[l] = %s;", sy);
        em_close(e);
    }
    if (p.L > head) {
        em_line(e, "for (int64_t l = %" PRId64 "; l < %" PRId64 "; l++) {", head, p.L);
        e->indent++;
        em_line(e, "float acc = bias;");
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) {", p.K);
        e->indent++;
        em_line(e, "const int64_t xi = %s;", xi.s);
        em_line(e, "acc += %s * %s;", lw, lx);
        e->indent--;
        em_line(e, "}");
        em_line(e, "y[l] = %s;", sy);
        e->indent--;
        em_line(e, "}");
    }

    /* present_state: positions L .. L+K-2 of past ++ input */
    if (K1 > 0) {
        em_line(e, "%s *pr = %s;", ct, em_offset("out1", 0, EM_TERMS({"bc", K1})).s);
        const int64_t from_state = K1 - p.L; /* leading entries still from the past */
        if (from_state > 0) {
            if (p.has_past)
                em_line(e, "for (int64_t q = 0; q < %" PRId64 "; q++) pr[q] = ps[%s];", from_state,
                        em_index(p.L, EM_TERMS({"q", 1})).s);
            else {
                tmp = em_store(t, "0.0f");
                em_line(e, "for (int64_t q = 0; q < %" PRId64 "; q++) pr[q] = %s;", from_state, tmp);
                free(tmp);
            }
        }
        const int64_t q0 = from_state > 0 ? from_state : 0;
        if (q0 < K1)
            em_line(e, "for (int64_t q = %" PRId64 "; q < %" PRId64 "; q++) pr[q] = x[%s];", q0, K1,
                    em_index(p.L - K1, EM_TERMS({"q", 1})).s);
    }
    em_close(e); /* bc */
    free(lw);
    free(lx);
    free(lp);
    free(sy);
    return true;
}

void native_register_stateful(native_lowering *table)
{
    table[OP_LINEAR_ATTENTION] =
        (native_lowering){.emit = emit_linear_attention, .worker_scratch = worker_scratch_linear_attention};
    table[OP_CAUSAL_CONV_WITH_STATE] = (native_lowering){.emit = emit_causal_conv};
}
