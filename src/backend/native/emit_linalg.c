/*
 * emit_linalg.c - native lowerings of the linalg family: Einsum, Det, LRN,
 * TensorScatter (src/ops/linalg.c holds their semantics, src/ops/linalg.h
 * the plans read here).
 *
 * Einsum follows the plan's schedule: inputs reduced alone into scratch
 * where needed, then one batched product per step, then a permutation
 * into the output.  Float32 products of at least EIN_GEMM_MIN_MACS
 * multiply-adds run on the kernel layer's GEMM (hd_sgemm_par, batched
 * over the batch labels), operands copied into GEMM layout only when their
 * labels are not already in it (so 'bij,bjk->bik' and 'bhqd,bhkd->bhqk'
 * read the inputs and write the output in place).  Smaller products and
 * other dtypes run loop nests in float (float16 too), double, or wrapping
 * unsigned integers of 32 or 64 bits, whose low bits equal the narrower
 * type's wrapping result.  Only the GEMMs use threads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "native.h"
#include "ops/linalg.h"
#include "ops/ops.h"

static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

/* ======================================================================== */
/* Einsum                                                                    */
/* ======================================================================== */

/* The dtype an einsum computes and keeps its intermediates in. */
static hodu_dtype ein_ctype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F16:
    case HODU_DTYPE_F32: return HODU_DTYPE_F32;
    case HODU_DTYPE_F64: return HODU_DTYPE_F64;
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return HODU_DTYPE_U64;
    default: return HODU_DTYPE_U32;
    }
}

static bool same_labels(const einsum_labels *a, const einsum_labels *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->l[i] != b->l[i])
            return false;
    return true;
}

static void cat_labels(einsum_labels *t, const einsum_labels *a, const einsum_labels *b, const einsum_labels *c)
{
    const einsum_labels *g[3] = {a, b, c};
    t->n = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < g[k]->n; i++)
            t->l[t->n++] = g[k]->l[i];
}

/* Labels of step s's result. */
static void step_result(const einsum_plan *p, int s, einsum_labels *t)
{
    const einsum_step *st = &p->step[s];
    cat_labels(t, &st->batch, &st->m, &st->n);
}

/* Products of fewer multiply-adds (per batch entry) run as loop nests. */
#define EIN_GEMM_MIN_MACS 64

/* Where everything lives: offsets into the node's scratch (UINT64_MAX:
 * not used) and how each product reads its operands. */
typedef struct ein_layout {
    hodu_dtype ct;
    bool gemm[EINSUM_MAX_INPUTS];
    uint64_t prep[EINSUM_MAX_INPUTS];
    uint64_t a[EINSUM_MAX_INPUTS], b[EINSUM_MAX_INPUTS], c[EINSUM_MAX_INPUTS];
    int ta[EINSUM_MAX_INPUTS], tb[EINSUM_MAX_INPUTS];
    bool c_is_out;
    uint64_t bytes, worker;
} ein_layout;

static uint64_t ein_take(ein_layout *L, const einsum_plan *p, const einsum_labels *t)
{
    uint64_t at = L->bytes;
    uint64_t n = op_bytes4(einsum_numel(p, t), 1, 1, 1, ir_dtype_size(L->ct));
    L->bytes = op_sat_add_u64(L->bytes, nn_align64(n ? n : 1));
    return at;
}

static void ein_layout_of(const einsum_plan *p, hodu_dtype t, ein_layout *L)
{
    memset(L, 0, sizeof(*L));
    L->ct = ein_ctype(t);
    for (int i = 0; i < EINSUM_MAX_INPUTS; i++)
        L->prep[i] = L->a[i] = L->b[i] = L->c[i] = UINT64_MAX;
    if (p->n_in == 1)
        return;
    for (int i = 0; i < p->n_in; i++)
        if (p->prep_needed[i])
            L->prep[i] = ein_take(L, p, &p->prep[i]);
    L->c_is_out = p->last_is_out && L->ct == t;
    for (int s = 0; s < p->n_steps; s++) {
        const einsum_step *st = &p->step[s];
        einsum_labels a, b, want;
        if (s == 0)
            a = p->prep[0];
        else
            step_result(p, s - 1, &a);
        b = p->prep[s + 1];
        int64_t M = einsum_numel(p, &st->m), N = einsum_numel(p, &st->n), K = einsum_numel(p, &st->k);
        /* below a few dozen multiply-adds per product (elementwise and
         * dot-like steps) a loop nest beats a call per product */
        L->gemm[s] = t == HODU_DTYPE_F32 && op_sat_mul(op_sat_mul(M, N), K) >= EIN_GEMM_MIN_MACS;
        if (L->gemm[s]) {
            cat_labels(&want, &st->batch, &st->m, &st->k);
            if (!same_labels(&a, &want)) {
                cat_labels(&want, &st->batch, &st->k, &st->m);
                if (same_labels(&a, &want))
                    L->ta[s] = 1;
                else
                    L->a[s] = ein_take(L, p, &a);
            }
            cat_labels(&want, &st->batch, &st->k, &st->n);
            if (!same_labels(&b, &want)) {
                cat_labels(&want, &st->batch, &st->n, &st->k);
                if (same_labels(&b, &want))
                    L->tb[s] = 1;
                else
                    L->b[s] = ein_take(L, p, &b);
            }
            uint64_t w = nn_sgemm_scratch_bytes(M, N, K);
            if (w > L->worker)
                L->worker = w;
        }
        if (s < p->n_steps - 1 || !L->c_is_out) {
            einsum_labels c;
            step_result(p, s, &c);
            L->c[s] = ein_take(L, p, &c);
        }
    }
}

/* One tensor a loop nest reads: a C pointer expression, its stored dtype,
 * and its stride per label (0 for labels it lacks or broadcasts). */
typedef struct ein_src {
    char base[96];
    hodu_dtype t;
    int64_t stride[EINSUM_MAX_LABELS];
} ein_src;

/* A dense tensor over distinct labels. */
static void ein_dense(const einsum_plan *p, const einsum_labels *t, ein_src *s)
{
    memset(s->stride, 0, sizeof(s->stride));
    int64_t st = 1;
    for (int i = t->n - 1; i >= 0; i--) {
        s->stride[t->l[i]] = st;
        st *= p->size[t->l[i]];
    }
}

/* Input k as it is: repeated labels add their strides (a diagonal), a
 * broadcast dim of size 1 has none. */
static void ein_input(op_emit *e, const einsum_plan *p, int k, ein_src *s)
{
    const ir_value *x = em_in(e, (size_t)k);
    snprintf(s->base, sizeof(s->base), "in%d", k);
    s->t = x->dtype;
    memset(s->stride, 0, sizeof(s->stride));
    int64_t st = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        int l = p->in[k].l[d];
        if (x->dims[d].size == p->size[l])
            s->stride[l] += st;
        st *= x->dims[d].size;
    }
}

static void ein_scratch(ein_src *s, const einsum_plan *p, const einsum_labels *t, const char *ctype, uint64_t off,
                        hodu_dtype ct)
{
    snprintf(s->base, sizeof(s->base), "((%s *)(scratch + %" PRIu64 "u))", ctype, off);
    s->t = ct;
    ein_dense(p, t, s);
}

/* "l3 * 20 + l7 * 4 + l1", "0" when empty. */
static char *ein_index(const einsum_plan *p, const int64_t *stride)
{
    hd_buf b;
    hd_buf_init(&b);
    for (int l = 0; l < EINSUM_MAX_LABELS; l++) {
        if (stride[l] == 0 || p->size[l] <= 1)
            continue;
        if (b.len)
            hd_buf_puts(&b, " + ");
        if (stride[l] == 1)
            hd_buf_printf(&b, "l%d", l);
        else
            hd_buf_printf(&b, "l%d * %" PRId64, l, stride[l]);
    }
    if (!b.len)
        hd_buf_puts(&b, "0");
    return hd_buf_take(&b);
}

/* A value of stored dtype `t` read as compute dtype `ct`. */
static char *ein_load(hodu_dtype t, hodu_dtype ct, const char *expr)
{
    if (t == HODU_DTYPE_F16)
        return hd_xasprintf("hd_f16_to_f32(%s)", expr);
    if (t == ct)
        return hd_xasprintf("%s", expr);
    return hd_xasprintf("(%s)%s", em_ctype(ct), expr);
}

/* Opens the loop over label l, unless it has size 1 (its index terms are
 * left out then, so it needs no variable); returns the loops opened. */
static int ein_loop(op_emit *e, const einsum_plan *p, int l)
{
    if (p->size[l] == 1)
        return 0;
    char var[8];
    snprintf(var, sizeof(var), "l%d", l);
    em_for(e, var, p->size[l]);
    return 1;
}

/* dst[labels] = (sum over `sum` of) the product of the sources, stored as
 * dst_t. */
static void ein_nest(op_emit *e, const einsum_plan *p, hodu_dtype ct, const char *dst, hodu_dtype dst_t,
                     const einsum_labels *dl, const ein_src *src, int nsrc, const einsum_labels *sum)
{
    ein_src d;
    ein_dense(p, dl, &d);
    const char *cts = em_ctype(ct);
    char *di = ein_index(p, d.stride);
    hd_buf prod;
    hd_buf_init(&prod);
    for (int k = 0; k < nsrc; k++) {
        char *ix = ein_index(p, src[k].stride);
        char *at = hd_xasprintf("%s[%s]", src[k].base, ix);
        char *ld = ein_load(src[k].t, ct, at);
        hd_buf_printf(&prod, "%s%s", k ? " * " : "", ld);
        free(ld);
        free(at);
        free(ix);
    }
    em_line(e, "{"); /* each nest its own scope: acc */
    e->indent++;
    int opened = 0;
    for (int i = 0; i < dl->n; i++)
        opened += ein_loop(e, p, dl->l[i]);
    char *lhs = hd_xasprintf("%s[%s]", dst, di);
    if (sum->n == 0) {
        char *v = em_store(dst_t, prod.data);
        em_line(e, "%s = %s;", lhs, v);
        free(v);
    } else {
        em_line(e, "%s acc = 0;", cts);
        int inner = 0;
        for (int i = 0; i < sum->n; i++)
            inner += ein_loop(e, p, sum->l[i]);
        em_line(e, "acc += %s;", prod.data);
        for (int i = 0; i < inner; i++)
            em_close(e);
        char *v = em_store(dst_t, "acc");
        em_line(e, "%s = %s;", lhs, v);
        free(v);
    }
    for (int i = 0; i < opened; i++)
        em_close(e);
    em_close(e);
    free(lhs);
    free(di);
    hd_buf_free(&prod);
}

/* The labels of `all` that `kept` lacks, once each. */
static void ein_summed(const einsum_labels *all, const einsum_labels *kept, einsum_labels *sum)
{
    sum->n = 0;
    for (int i = 0; i < all->n; i++) {
        int l = all->l[i];
        bool seen = false;
        for (int j = 0; j < kept->n && !seen; j++)
            seen = kept->l[j] == l;
        for (int j = 0; j < sum->n && !seen; j++)
            seen = sum->l[j] == l;
        if (!seen)
            sum->l[sum->n++] = (signed char)l;
    }
}

static bool emit_einsum(op_emit *e)
{
    einsum_plan p;
    if (!einsum_plan_of(e->g, e->node, &p))
        return no_plan(e, "einsum");
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    ein_layout L;
    ein_layout_of(&p, t, &L);
    hodu_dtype ct = L.ct;
    const char *cts = em_ctype(ct);
    einsum_labels sum;
    if (p.n_in == 1) {
        ein_src s;
        ein_input(e, &p, 0, &s);
        ein_summed(&p.in[0], &p.out, &sum);
        ein_nest(e, &p, ct, "out0", t, &p.out, &s, 1, &sum);
        return true;
    }
    ein_src cur, b;
    for (int i = 0; i < p.n_in; i++) {
        if (!p.prep_needed[i])
            continue;
        ein_src s;
        ein_input(e, &p, i, &s);
        ein_summed(&p.in[i], &p.prep[i], &sum);
        char dst[96];
        snprintf(dst, sizeof(dst), "((%s *)(scratch + %" PRIu64 "u))", cts, L.prep[i]);
        ein_nest(e, &p, ct, dst, ct, &p.prep[i], &s, 1, &sum);
    }
    if (p.prep_needed[0])
        ein_scratch(&cur, &p, &p.prep[0], cts, L.prep[0], ct);
    else
        ein_input(e, &p, 0, &cur);
    einsum_labels none = {0};
    for (int s = 0; s < p.n_steps; s++) {
        const einsum_step *st = &p.step[s];
        if (p.prep_needed[s + 1])
            ein_scratch(&b, &p, &p.prep[s + 1], cts, L.prep[s + 1], ct);
        else
            ein_input(e, &p, s + 1, &b);
        einsum_labels cl;
        step_result(&p, s, &cl);
        char cdst[96];
        if (L.c[s] == UINT64_MAX)
            snprintf(cdst, sizeof(cdst), "out0");
        else
            snprintf(cdst, sizeof(cdst), "((%s *)(scratch + %" PRIu64 "u))", cts, L.c[s]);
        if (L.gemm[s]) {
            int64_t M = einsum_numel(&p, &st->m), N = einsum_numel(&p, &st->n), K = einsum_numel(&p, &st->k);
            einsum_labels want;
            if (L.a[s] != UINT64_MAX) {
                cat_labels(&want, &st->batch, &st->m, &st->k);
                char dst[96];
                snprintf(dst, sizeof(dst), "((float *)(scratch + %" PRIu64 "u))", L.a[s]);
                ein_nest(e, &p, ct, dst, ct, &want, &cur, 1, &none);
                ein_scratch(&cur, &p, &want, "float", L.a[s], ct);
            }
            if (L.b[s] != UINT64_MAX) {
                cat_labels(&want, &st->batch, &st->k, &st->n);
                char dst[96];
                snprintf(dst, sizeof(dst), "((float *)(scratch + %" PRIu64 "u))", L.b[s]);
                ein_nest(e, &p, ct, dst, ct, &want, &b, 1, &none);
                ein_scratch(&b, &p, &want, "float", L.b[s], ct);
            }
            nn_sgemm_call c = {.batch = einsum_numel(&p, &st->batch),
                               .sa = M * K,
                               .sb = K * N,
                               .sc = M * N,
                               .M = M,
                               .N = N,
                               .K = K,
                               .lda = L.ta[s] ? M : K,
                               .ldb = L.tb[s] ? K : N,
                               .ldc = N,
                               .A = cur.base,
                               .B = b.base,
                               .C = cdst,
                               .alpha = "1.0f",
                               .beta = "0.0f",
                               .ta = L.ta[s],
                               .tb = L.tb[s]};
            nn_emit_sgemm(e, &c);
        } else {
            ein_src two[2] = {cur, b};
            ein_nest(e, &p, ct, cdst, L.c[s] == UINT64_MAX ? t : ct, &cl, two, 2, &st->k);
        }
        if (L.c[s] != UINT64_MAX)
            ein_scratch(&cur, &p, &cl, cts, L.c[s], ct);
    }
    if (!L.c_is_out)
        ein_nest(e, &p, ct, "out0", t, &p.out, &cur, 1, &none);
    return true;
}

static uint64_t scratch_einsum(const ir_graph *g, int node)
{
    einsum_plan p;
    if (!einsum_plan_of(g, node, &p))
        return 0;
    ein_layout L;
    ein_layout_of(&p, ir_val(g, ir_nd(g, node)->outputs[0])->dtype, &L);
    return L.bytes;
}

static uint64_t worker_scratch_einsum(const ir_graph *g, int node)
{
    einsum_plan p;
    if (!einsum_plan_of(g, node, &p))
        return 0;
    ein_layout L;
    ein_layout_of(&p, ir_val(g, ir_nd(g, node)->outputs[0])->dtype, &L);
    return L.worker;
}

/* ======================================================================== */
/* Det                                                                       */
/* ======================================================================== */
/* Each matrix is copied into scratch as double and factored by Gaussian
 * elimination with partial pivoting; the determinant is the product of the
 * pivots, negated per row swap (0 at the first all-zero pivot column). */

static bool emit_det(op_emit *e)
{
    det_plan p;
    if (!det_plan_of(e->g, e->node, &p))
        return no_plan(e, "det");
    hodu_dtype t = em_in(e, 0)->dtype;
    int64_t n = p.n, nn = n * n;
    if (p.batch == 0)
        return true;
    em_line(e, "double *a = (double *)scratch;");
    em_for(e, "b", p.batch);
    char *at = hd_xasprintf("in0[b * %" PRId64 " + i]", nn);
    char *ld = em_load(t, at);
    em_line(e, "for (int64_t i = 0; i < %" PRId64 "; i++)", nn);
    em_line(e, "    a[i] = (double)%s;", ld);
    free(ld);
    free(at);
    em_line(e, "double det = 1.0;");
    em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) {", n);
    e->indent++;
    em_line(e, "int64_t pr = k;");
    em_line(e, "double best = fabs(a[k * %" PRId64 " + k]);", n);
    em_line(e, "for (int64_t i = k + 1; i < %" PRId64 "; i++) {", n);
    em_line(e, "    const double v = fabs(a[i * %" PRId64 " + k]);", n);
    em_line(e, "    if (v > best) {");
    em_line(e, "        best = v;");
    em_line(e, "        pr = i;");
    em_line(e, "    }");
    em_line(e, "}");
    em_line(e, "if (best == 0.0) {");
    em_line(e, "    det = 0.0;");
    em_line(e, "    break;");
    em_line(e, "}");
    em_line(e, "if (pr != k) {");
    em_line(e, "    for (int64_t j = 0; j < %" PRId64 "; j++) {", n);
    em_line(e, "        const double s = a[k * %" PRId64 " + j];", n);
    em_line(e, "        a[k * %" PRId64 " + j] = a[pr * %" PRId64 " + j];", n, n);
    em_line(e, "        a[pr * %" PRId64 " + j] = s;", n);
    em_line(e, "    }");
    em_line(e, "    det = -det;");
    em_line(e, "}");
    em_line(e, "const double piv = a[k * %" PRId64 " + k];", n);
    em_line(e, "det *= piv;");
    em_line(e, "for (int64_t i = k + 1; i < %" PRId64 "; i++) {", n);
    em_line(e, "    const double f = a[i * %" PRId64 " + k] / piv;", n);
    em_line(e, "    for (int64_t j = k + 1; j < %" PRId64 "; j++)", n);
    em_line(e, "        a[i * %" PRId64 " + j] -= f * a[k * %" PRId64 " + j];", n, n);
    em_line(e, "}");
    e->indent--;
    em_line(e, "}");
    char *sv = em_store(t, t == HODU_DTYPE_F64 ? "det" : "(float)det");
    em_line(e, "out0[b] = %s;", sv);
    free(sv);
    em_close(e);
    return true;
}

static uint64_t scratch_det(const ir_graph *g, int node)
{
    det_plan p;
    if (!det_plan_of(g, node, &p) || p.batch == 0)
        return 0;
    uint64_t n = op_bytes4(p.n, p.n, 1, 1, sizeof(double));
    return nn_align64(n ? n : 1);
}

/* ======================================================================== */
/* LRN                                                                       */
/* ======================================================================== */

static bool emit_lrn(op_emit *e)
{
    lrn_plan p;
    if (!lrn_plan_of(e->g, e->node, &p))
        return no_plan(e, "lrn");
    hodu_dtype t = em_in(e, 0)->dtype;
    if (p.outer * p.C * p.inner == 0)
        return true;
    bool dbl = t == HODU_DTYPE_F64;
    const char *ct = dbl ? "double" : "float";
    /* window bounds clipped to C at build time, so nothing overflows */
    int64_t lo = p.lo < p.C ? p.lo : p.C, hi = p.hi < p.C ? p.hi : p.C;
    int64_t win = p.size < p.C ? p.size : p.C;
    double k = p.alpha / (double)p.size;
    em_par_for(e, "o", p.outer, 1, p.C * p.inner * (win + 2));
    em_for(e, "c", p.C);
    em_line(e, "const int64_t c0 = c > %" PRId64 " ? c - %" PRId64 " : 0;", lo, lo);
    em_line(e, "const int64_t c1 = c + %" PRId64 " < %" PRId64 " ? c + %" PRId64 " : %" PRId64 ";", hi, p.C, hi,
            p.C - 1);
    em_for(e, "j", p.inner);
    em_line(e, "%s s = 0;", ct);
    char *at = hd_xasprintf("in0[(o * %" PRId64 " + i) * %" PRId64 " + j]", p.C, p.inner);
    char *ld = em_load(t, at);
    em_line(e, "for (int64_t i = c0; i <= c1; i++) {");
    em_line(e, "    const %s v = %s;", ct, ld);
    em_line(e, "    s += v * v;");
    em_line(e, "}");
    free(ld);
    free(at);
    const char *xi = "in0[(o * %" PRId64 " + c) * %" PRId64 " + j]";
    char *xat = hd_xasprintf(xi, p.C, p.inner);
    char *xl = em_load(t, xat);
    char *expr = hd_xasprintf("%s / pow%s((%s)%s + (%s)%s * s, (%s)%s)", xl, dbl ? "" : "f", ct, em_f64(p.bias).s, ct,
                              em_f64(k).s, ct, em_f64(p.beta).s);
    char *sv = em_store(t, expr);
    char *yat = hd_xasprintf("out0[(o * %" PRId64 " + c) * %" PRId64 " + j]", p.C, p.inner);
    em_line(e, "%s = %s;", yat, sv);
    free(yat);
    free(sv);
    free(expr);
    free(xl);
    free(xat);
    em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

/* ======================================================================== */
/* TensorScatter                                                             */
/* ======================================================================== */
/* The cache is copied, then each update row is copied to its position;
 * positions come from run-time data and are checked (linalg.c). */

static bool emit_tscatter(op_emit *e)
{
    tscatter_plan p;
    if (!tscatter_plan_of(e->g, e->node, &p))
        return no_plan(e, "tensor scatter");
    const ir_value *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
    em_line(e, "memcpy(out0, in0, %zu);", ir_value_nbytes(out));
    if (p.seq == 0 || p.inner == 0 || p.mid == 0)
        return true;
    int64_t M = p.max_seq;
    em_for(e, "b", p.batch);
    if (!p.has_indices)
        em_line(e, "const int64_t w = 0;");
    else if (p.circular)
        em_line(e, "const int64_t w = (in2[b] %% %" PRId64 " + %" PRId64 ") %% %" PRId64 ";", M, M, M);
    else
        em_line(e, "const int64_t w = in2[b];");
    em_for(e, "m", p.mid);
    em_for(e, "s", p.seq);
    if (p.circular) {
        em_line(e, "const int64_t pos = (w + s) %% %" PRId64 ";", M);
    } else {
        /* s < seq <= max_seq, so the bound cannot overflow */
        em_line(e, "if (w < 0 || w >= %" PRId64 " - s)", M);
        em_line(e, "    continue;");
        em_line(e, "const int64_t pos = w + s;");
    }
    em_line(e,
            "memcpy(out0 + ((b * %" PRId64 " + m) * %" PRId64 " + pos) * %" PRId64 ", in1 + ((b * %" PRId64
            " + m) * %" PRId64 " + s) * %" PRId64 ", %" PRId64 " * sizeof(*out0));",
            p.mid, M, p.inner, p.mid, p.seq, p.inner, p.inner);
    em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

void native_register_linalg(native_lowering *table)
{
    table[OP_EINSUM] =
        (native_lowering){.emit = emit_einsum, .scratch = scratch_einsum, .worker_scratch = worker_scratch_einsum};
    table[OP_DET] = (native_lowering){.emit = emit_det, .scratch = scratch_det};
    table[OP_LRN] = (native_lowering){.emit = emit_lrn};
    table[OP_TENSOR_SCATTER] = (native_lowering){.emit = emit_tscatter};
}
