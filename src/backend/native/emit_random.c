/*
 * emit_random.c - native lowerings of the random family (src/ops/random.c
 * holds their semantics, src/ops/random.h the streams).
 *
 * Every loop runs over Philox counter blocks, and each block writes the
 * elements that belong to it, so the values do not depend on how the
 * blocks are split into tasks.  Multinomial checks its run-time
 * log-probabilities (NaN, +inf, or a row of -inf is no distribution) and
 * so runs whole.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/random.h"

static bool rn_plan(op_emit *e, random_plan *p)
{
    if (random_plan_of(e->g, e->node, p))
        return true;
    hd_error(e->d, "internal error: no plan for random node %d", e->node);
    return false;
}

/* Opens the loop over counter blocks of `per` elements each; `i0` is the
 * block's first element. */
static void rn_blocks(op_emit *e, const random_plan *p, int per, int64_t work)
{
    int64_t nb = p->numel / per + (p->numel % per != 0);
    em_par_for(e, "b", nb, 1, work);
    em_line(e, "uint32_t w[4];");
    em_line(e, "hd_rand_block(%" PRIu32 "u, %" PRIu32 "u, %du, (uint64_t)b, w);", p->key[0], p->key[1], (int)p->kind);
    em_line(e, "const int64_t i0 = b * %d;", per);
}

static bool emit_random(op_emit *e)
{
    random_plan p;
    if (!rn_plan(e, &p))
        return false;
    if (p.numel == 0)
        return true;
    const int64_t N = p.numel;
    char *st;
    if (p.kind == RANDOM_NORMAL) {
        /* a Box-Muller pair per block, in double for every type */
        rn_blocks(e, &p, 2, 128);
        em_line(e, "double z[2];");
        em_line(e, "hd_rand_normal2(w[0], w[1], w[2], w[3], z);");
        st = em_store(p.out, p.out == HODU_DTYPE_F64 ? "v" : "(float)v");
        em_line(e, "for (int64_t j = 0; j < 2 && i0 + j < %" PRId64 "; j++) {", N);
        em_line(e, "    const double v = %s + %s * z[j];", em_f64(p.a).s, em_f64(p.b).s);
        em_line(e, "    out0[i0 + j] = %s;", st);
        em_line(e, "}");
    } else if (p.out == HODU_DTYPE_F64) {
        rn_blocks(e, &p, 2, 64);
        em_line(e, "for (int64_t j = 0; j < 2 && i0 + j < %" PRId64 "; j++)", N);
        em_line(e, "    out0[i0 + j] = %s + (%s - %s) * hd_rand_u53(w[2 * j], w[2 * j + 1]);", em_f64(p.a).s,
                em_f64(p.b).s, em_f64(p.a).s);
        st = NULL;
    } else {
        /* low + (high - low) u in double, then rounded once to the type */
        rn_blocks(e, &p, 4, 64);
        st = em_store(p.out, "(float)v");
        em_line(e, "for (int64_t j = 0; j < 4 && i0 + j < %" PRId64 "; j++) {", N);
        em_line(e, "    const double v = %s + (%s - %s) * (double)hd_rand_u24(w[j]);", em_f64(p.a).s, em_f64(p.b).s,
                em_f64(p.a).s);
        em_line(e, "    out0[i0 + j] = %s;", st);
        em_line(e, "}");
    }
    free(st);
    em_close(e);
    return true;
}

/* 1 with probability p: u < p, u in [0, 1) at the precision of p's type,
 * so p <= 0 (and NaN) gives 0 and p >= 1 gives 1. */
static bool emit_bernoulli(op_emit *e)
{
    random_plan p;
    if (!rn_plan(e, &p))
        return false;
    if (p.numel == 0)
        return true;
    const bool wide = p.in == HODU_DTYPE_F64;
    rn_blocks(e, &p, wide ? 2 : 4, 48);
    char *ld = em_load(p.in, "in0[i0 + j]");
    char *st = em_store(p.out, "hit");
    em_line(e, "for (int64_t j = 0; j < %d && i0 + j < %" PRId64 "; j++) {", wide ? 2 : 4, p.numel);
    if (wide)
        em_line(e, "    const int hit = hd_rand_u53(w[2 * j], w[2 * j + 1]) < %s;", ld);
    else
        em_line(e, "    const int hit = hd_rand_u24(w[j]) < %s;", ld);
    em_line(e, "    out0[i0 + j] = %s;", st);
    em_line(e, "}");
    free(ld);
    free(st);
    em_close(e);
    return true;
}

/* Per row, the running sums of exp(x - max) in scratch; each sample is the
 * first class whose running sum exceeds u times the total (inverse CDF by
 * binary search), u a 53-bit uniform of counter block i / 2. */
static bool emit_multinomial(op_emit *e)
{
    random_plan p;
    if (!rn_plan(e, &p))
        return false;
    if (p.numel == 0)
        return true;
    const int64_t C = p.classes, S = p.samples;
    e->can_fail = true;
    char *ld = em_load(p.in, "x[k]");
    const char *ot = em_ctype(p.out);
    em_line(e, "double *cum = (double *)(void *)scratch;");
    em_for(e, "r", p.batch);
    em_line(e, "const %s *x = in0 + r * %" PRId64 ";", em_ctype(p.in), C);
    em_line(e, "double m = -INFINITY, tot = 0.0;");
    em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) {", C);
    em_line(e, "    const double v = (double)%s;", ld);
    em_line(e, "    if (v != v || v == INFINITY) return 1;");
    em_line(e, "    if (v > m) m = v;");
    em_line(e, "}");
    em_line(e, "if (m == -INFINITY) return 1; /* no class can be drawn */");
    em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) {", C);
    em_line(e, "    tot += exp((double)%s - m);", ld);
    em_line(e, "    cum[k] = tot;");
    em_line(e, "}");
    em_for(e, "s", S);
    em_line(e, "const int64_t i = r * %" PRId64 " + s;", S);
    em_line(e, "uint32_t w[4];");
    em_line(e, "hd_rand_block(%" PRIu32 "u, %" PRIu32 "u, %du, (uint64_t)(i / 2), w);", p.key[0], p.key[1],
            (int)p.kind);
    em_line(e, "const double t = hd_rand_u53(w[2 * (i %% 2)], w[2 * (i %% 2) + 1]) * tot;");
    em_line(e, "int64_t lo = 0, hi = %" PRId64 ";", C - 1);
    em_line(e, "while (lo < hi) {");
    em_line(e, "    const int64_t mid = lo + (hi - lo) / 2;");
    em_line(e, "    if (cum[mid] > t) hi = mid; else lo = mid + 1;");
    em_line(e, "}");
    /* t rounded up to the total: the last class of positive weight */
    em_line(e, "if (cum[lo] <= t)");
    em_line(e, "    while (lo > 0 && cum[lo - 1] == cum[lo]) lo--;");
    em_line(e, "out0[i] = (%s)lo;", ot);
    em_close(e);
    em_close(e);
    free(ld);
    return true;
}

static uint64_t multinomial_scratch(const ir_graph *g, int node)
{
    random_plan p;
    if (!random_plan_of(g, node, &p))
        return 0;
    return op_bytes4(p.classes, 1, 1, 1, sizeof(double));
}

void native_register_random(native_lowering *table)
{
    table[OP_RANDOM_UNIFORM] = (native_lowering){.emit = emit_random};
    table[OP_RANDOM_NORMAL] = (native_lowering){.emit = emit_random};
    table[OP_RANDOM_UNIFORM_LIKE] = (native_lowering){.emit = emit_random};
    table[OP_RANDOM_NORMAL_LIKE] = (native_lowering){.emit = emit_random};
    table[OP_BERNOULLI] = (native_lowering){.emit = emit_bernoulli};
    table[OP_MULTINOMIAL] = (native_lowering){.emit = emit_multinomial, .scratch = multinomial_scratch};
}
