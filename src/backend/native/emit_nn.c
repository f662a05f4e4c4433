/*
 * emit_nn.c - native lowerings of the nn family: MatMul, MatMulInteger,
 * QLinearMatMul, Gemm, Flatten (src/ops/nn.c holds their semantics and
 * src/ops/nn.h the plans read here), and the pieces the nn families'
 * lowerings share (emit_nn.h).
 *
 * Float32 products go through the kernel layer's hd_sgemm_ws (packed,
 * vectorised GEMM) with a scratch block from the memory plan; other dtypes
 * get plain loops with literal sizes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/ops.h"

/* --- helpers shared by the nn families ---------------------------------- */

uint64_t nn_sgemm_scratch_bytes(int64_t M, int64_t N, int64_t K)
{
    /* The kernel layer's worst case over every target the generated code may
     * be built for: the compiler cannot know the target's vector width. */
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    return nn_align64((uint64_t)hd_sgemm_scratch_floats_max(M, N, K) * sizeof(float));
}

void nn_emit_phase_split(op_emit *e, int64_t IH, int64_t IW, int64_t SW)
{
    int64_t PWd = (IW + SW - 1) / SW;
    em_line(e, "float *xs = (float *)scratch;");
    em_for(e, "r", IH);
    if (SW > NN_PHASE_UNROLL_MAX) {
        /* A stride this wide comes from a hostile or odd model: a loop over
         * the phases, not one line each, keeps the C small. */
        em_for(e, "ph", SW);
        em_for(e, "j", PWd);
        em_line(e,
                "xs[r * %" PRId64 " + ph * %" PRId64 " + j] = j * %" PRId64 " + ph < %" PRId64 " ? x[r * %" PRId64
                " + j * %" PRId64 " + ph] : 0.0f;",
                SW * PWd, PWd, SW, IW, IW, SW);
        em_close(e);
        em_close(e);
        em_close(e);
        return;
    }
    em_for(e, "j", PWd);
    for (int64_t ph = 0; ph < SW; ph++) {
        if ((PWd - 1) * SW + ph < IW)
            em_line(e, "xs[r * %" PRId64 " + %" PRId64 " + j] = x[r * %" PRId64 " + j * %" PRId64 " + %" PRId64 "];",
                    SW * PWd, ph * PWd, IW, SW, ph);
        else
            em_line(e,
                    "xs[r * %" PRId64 " + %" PRId64 " + j] = j < %" PRId64 " ? x[r * %" PRId64 " + j * %" PRId64
                    " + %" PRId64 "] : 0.0f;",
                    SW * PWd, ph * PWd, PWd - 1, IW, SW, ph);
    }
    em_close(e);
    em_close(e);
}

/* Writes "v0 * s0 + v1 * s1 ..." (terms with a zero stride left out) plus
 * `base`, or "0" when nothing is left. */
static void offset_expr(hd_buf *b, int n, const char *const *vars, const int64_t *strides, int64_t base)
{
    bool any = false;
    if (base) {
        hd_buf_printf(b, "%" PRId64, base);
        any = true;
    }
    for (int i = 0; i < n; i++) {
        if (strides[i] == 0)
            continue;
        hd_buf_printf(b, "%s%s * %" PRId64, any ? " + " : "", vars[i], strides[i]);
        any = true;
    }
    if (!any)
        hd_buf_puts(b, "0");
}

/* A C float literal that reads back as exactly `v`. */
static void float_lit(char *buf, size_t n, double v)
{
    float f = (float)v;
    if (isnan(f))
        snprintf(buf, n, "NAN");
    else if (isinf(f))
        snprintf(buf, n, f > 0 ? "INFINITY" : "(-INFINITY)");
    else {
        snprintf(buf, n, "%.9g", (double)f);
        if (!strpbrk(buf, ".e"))
            strncat(buf, ".0", n - strlen(buf) - 1);
        strncat(buf, "f", n - strlen(buf) - 1);
    }
}

static bool is_float_type(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Unsigned type of the same width, for wrapping integer arithmetic. */
static const char *wrap_ctype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32: return "uint32_t";
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return "uint64_t";
    default: return NULL;
    }
}

/* --- MatMul ----------------------------------------------------------------
 * numpy matmul over the plan of nn_matmul_plan_of.  Float32 goes to
 * hd_sgemm_ws, folding the batch into M when B has no batch of its own. */

/* Opens loops over the output batch dims and writes the three offset
 * expressions (A, B, out); returns how many loops were opened. */
static int mm_open_batch(op_emit *e, const nn_matmul_plan *s, hd_buf *oa, hd_buf *ob, hd_buf *oc)
{
    const char *vars[HODU_MAX_RANK];
    static const char *const names[] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    int64_t sc[HODU_MAX_RANK];
    int64_t st = s->M * s->N;
    for (int i = s->br - 1; i >= 0; i--) {
        sc[i] = s->bdims[i] == 1 ? 0 : st;
        st *= s->bdims[i];
    }
    int opened = 0;
    for (int i = 0; i < s->br; i++) {
        vars[i] = names[i];
        if (s->bdims[i] != 1) {
            em_for(e, names[i], s->bdims[i]);
            opened++;
        }
    }
    int64_t sa[HODU_MAX_RANK], sb[HODU_MAX_RANK];
    for (int i = 0; i < s->br; i++) {
        sa[i] = s->bdims[i] == 1 ? 0 : s->sa[i];
        sb[i] = s->bdims[i] == 1 ? 0 : s->sb[i];
        if (s->bdims[i] == 1)
            sc[i] = 0;
    }
    offset_expr(oa, s->br, vars, sa, 0);
    offset_expr(ob, s->br, vars, sb, 0);
    offset_expr(oc, s->br, vars, sc, 0);
    return opened;
}

static bool emit_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *out = em_out(e, 0);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    hodu_dtype t = a->dtype;
    if (s.K == 0) {
        em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
        return true;
    }
    if (t == HODU_DTYPE_F32) {
        if (!s.b_batched) {
            /* B is one matrix: the batch folds into M (A's batch is
             * contiguous, and out has the same batch layout). */
            if (s.a_batched || s.batch == 1) {
                em_line(e,
                        "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0, %" PRId64 ", 0, in1, %" PRId64
                        ", 0, out0, %" PRId64 ", 1.0f, 0.0f, (float *)scratch);",
                        s.M * s.batch, s.N, s.K, s.K, s.N, s.N);
                return true;
            }
        }
        hd_buf oa, ob, oc;
        hd_buf_init(&oa);
        hd_buf_init(&ob);
        hd_buf_init(&oc);
        int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0 + %s, %" PRId64 ", 0, in1 + %s, %" PRId64
                ", 0, out0 + %s, %" PRId64 ", 1.0f, 0.0f, (float *)scratch);",
                s.M, s.N, s.K, oa.data, s.K, ob.data, s.N, oc.data, s.N);
        for (int i = 0; i < opened; i++)
            em_close(e);
        hd_buf_free(&oa);
        hd_buf_free(&ob);
        hd_buf_free(&oc);
        return true;
    }
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    const char *ct = em_ctype(t);
    em_line(e, "const %s *a = in0 + %s;", ct, oa.data);
    em_line(e, "const %s *b = in1 + %s;", ct, ob.data);
    em_line(e, "%s *o = out0 + %s;", ct, oc.data);
    if (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) {
        const char *cv = t == HODU_DTYPE_F16 ? "hd_f16_to_f32" : "hd_bf16_to_f32";
        const char *cs = t == HODU_DTYPE_F16 ? "hd_f32_to_f16" : "hd_f32_to_bf16";
        em_for(e, "m", s.M);
        em_for(e, "n", s.N);
        em_line(e, "float acc = 0.0f;");
        em_for(e, "k", s.K);
        em_line(e, "acc += %s(a[m * %" PRId64 " + k]) * %s(b[k * %" PRId64 " + n]);", cv, s.K, cv, s.N);
        em_close(e);
        em_line(e, "o[m * %" PRId64 " + n] = %s(acc);", s.N, cs);
        em_close(e);
        em_close(e);
    } else {
        /* i-k-j order: the inner loop runs along rows of B and out. */
        const char *wt = wrap_ctype(t);
        em_for(e, "m", s.M);
        em_line(e, "%s *orow = o + m * %" PRId64 ";", ct, s.N);
        em_for(e, "n", s.N);
        em_line(e, "orow[n] = 0;");
        em_close(e);
        em_for(e, "k", s.K);
        em_line(e, "const %s av = a[m * %" PRId64 " + k];", ct, s.K);
        em_line(e, "const %s *brow = b + k * %" PRId64 ";", ct, s.N);
        em_for(e, "n", s.N);
        if (wt)
            em_line(e, "orow[n] = (%s)((%s)orow[n] + (%s)av * (%s)brow[n]);", ct, wt, wt, wt);
        else
            em_line(e, "orow[n] += av * brow[n];");
        em_close(e);
        em_close(e);
        em_close(e);
    }
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
    return true;
}

static uint64_t scratch_matmul(const ir_graph *g, int node)
{
    if (ir_val(g, ir_nd(g, node)->inputs[0])->dtype != HODU_DTYPE_F32)
        return 0;
    nn_matmul_plan s;
    nn_matmul_plan_of(g, node, &s);
    if (s.K == 0 || s.batch * s.M * s.N == 0)
        return 0;
    int64_t m = (!s.b_batched && (s.a_batched || s.batch == 1)) ? s.M * s.batch : s.M;
    return nn_sgemm_scratch_bytes(m, s.N, s.K);
}

/* --- MatMulInteger: int32 sums of (a - za) * (b - zb). ---------------- */

static bool emit_matmul_integer(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 1), *out = em_out(e, 0);
    const ir_value *za = em_in(e, 2), *zb = em_in(e, 3);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    em_line(e, "const %s *a = in0 + %s;", em_ctype(a->dtype), oa.data);
    em_line(e, "const %s *b = in1 + %s;", em_ctype(b->dtype), ob.data);
    em_line(e, "int32_t *o = out0 + %s;", oc.data);
    em_for(e, "m", s.M);
    if (za)
        em_line(e, "const int32_t za = (int32_t)in2[%s];", ir_value_numel(za) == 1 ? "0" : "m");
    else
        em_line(e, "const int32_t za = 0;");
    em_for(e, "n", s.N);
    em_line(e, "o[m * %" PRId64 " + n] = 0;", s.N);
    em_close(e);
    em_for(e, "k", s.K);
    em_line(e, "const int32_t av = (int32_t)a[m * %" PRId64 " + k] - za;", s.K);
    em_for(e, "n", s.N);
    if (zb)
        em_line(e, "const int32_t zb = (int32_t)in3[%s];", ir_value_numel(zb) == 1 ? "0" : "n");
    em_line(e, "o[m * %" PRId64 " + n] += av * ((int32_t)b[k * %" PRId64 " + n]%s);", s.N, s.N, zb ? " - zb" : "");
    em_close(e);
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
    return true;
}

/* --- QLinearMatMul: integer sums, requantized through float. ---------- */

static bool emit_qlinear_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 3), *out = em_out(e, 0);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    bool bcol = ir_value_numel(em_in(e, 4)) > 1, zcol = ir_value_numel(em_in(e, 5)) > 1;
    bool f16 = em_in(e, 1)->dtype == HODU_DTYPE_F16;
    char *las = em_load(em_in(e, 1)->dtype, "in1[0]");
    char *lbs = em_load(em_in(e, 4)->dtype, bcol ? "in4[n]" : "in4[0]");
    char *lys = em_load(em_in(e, 6)->dtype, "in6[0]");
    bool s8 = out->dtype == HODU_DTYPE_I8;
    hd_buf oa, ob, oc;
    hd_buf_init(&oa);
    hd_buf_init(&ob);
    hd_buf_init(&oc);
    int opened = mm_open_batch(e, &s, &oa, &ob, &oc);
    em_line(e, "const %s *a = in0 + %s;", em_ctype(a->dtype), oa.data);
    em_line(e, "const %s *b = in3 + %s;", em_ctype(b->dtype), ob.data);
    em_line(e, "%s *o = out0 + %s;", em_ctype(out->dtype), oc.data);
    em_line(e, "const int32_t za = (int32_t)in2[0];");
    em_for(e, "m", s.M);
    em_for(e, "n", s.N);
    em_line(e, "const int32_t zb = (int32_t)in5[%s];", zcol ? "n" : "0");
    em_line(e, "int32_t acc = 0;");
    em_for(e, "k", s.K);
    em_line(e, "acc += ((int32_t)a[m * %" PRId64 " + k] - za) * ((int32_t)b[k * %" PRId64 " + n] - zb);", s.K, s.N);
    em_close(e);
    if (f16)
        em_line(e, "const float mult = hd_f16_to_f32(hd_f32_to_f16(hd_f16_to_f32(hd_f32_to_f16(%s * %s)) / %s));", las,
                lbs, lys);
    else
        em_line(e, "const float mult = (%s * %s) / %s;", las, lbs, lys);
    em_line(e, "double v = rint((double)acc * (double)mult + (double)in7[0]);");
    em_line(e, "v = v < %s ? %s : (v > %s ? %s : v);", s8 ? "-128.0" : "0.0", s8 ? "-128.0" : "0.0",
            s8 ? "127.0" : "255.0", s8 ? "127.0" : "255.0");
    em_line(e, "o[m * %" PRId64 " + n] = (%s)v;", s.N, em_ctype(out->dtype));
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    hd_buf_free(&oa);
    hd_buf_free(&ob);
    hd_buf_free(&oc);
    free(las);
    free(lbs);
    free(lys);
    return true;
}

/* --- Gemm ------------------------------------------------------------ */

static bool emit_gemm(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    nn_gemm_plan p;
    nn_gemm_plan_of(e->g, e->node, &p);
    const bool ta = p.trans_a, tb = p.trans_b, use_c = p.use_c;
    const double alpha = p.alpha, beta = p.beta;
    const int64_t M = p.M, N = p.N, K = p.K, cs0 = p.c_stride_m, cs1 = p.c_stride_n;
    if (M * N == 0)
        return true;
    hodu_dtype t = out->dtype;
    const char *ct = em_ctype(t);
    char al[64], be[64];
    if (t == HODU_DTYPE_F64) {
        snprintf(al, sizeof(al), "%s", em_f64(alpha).s);
        snprintf(be, sizeof(be), "%s", em_f64(beta).s);
    } else {
        float_lit(al, sizeof(al), alpha);
        float_lit(be, sizeof(be), beta);
    }
    if (t == HODU_DTYPE_F32) {
        /* out = beta * C first, then out += alpha * A'B' */
        if (use_c) {
            em_for(e, "m", M);
            em_for(e, "n", N);
            em_line(e, "out0[m * %" PRId64 " + n] = %s * in2[m * %" PRId64 " + n * %" PRId64 "];", N, be, cs0, cs1);
            em_close(e);
            em_close(e);
        }
        if (K == 0) {
            if (!use_c)
                em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
            return true;
        }
        em_line(e,
                "hd_sgemm_ws(%" PRId64 ", %" PRId64 ", %" PRId64 ", in0, %" PRId64 ", %d, in1, %" PRId64
                ", %d, out0, %" PRId64 ", %s, %s, (float *)scratch);",
                M, N, K, ta ? M : K, ta ? 1 : 0, tb ? K : N, tb ? 1 : 0, N, al, use_c ? "1.0f" : "0.0f");
        return true;
    }
    /* Other types: a dot product per output element. */
    bool is_f = is_float_type(t);
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : (is_f ? "float" : wrap_ctype(t));
    char ia[96], ib[96];
    if (ta)
        snprintf(ia, sizeof(ia), "k * %" PRId64 " + m", M);
    else
        snprintf(ia, sizeof(ia), "m * %" PRId64 " + k", K);
    if (tb)
        snprintf(ib, sizeof(ib), "n * %" PRId64 " + k", K);
    else
        snprintf(ib, sizeof(ib), "k * %" PRId64 " + n", N);
    char *ld_a = em_load(t, "in0[ia]"), *ld_b = em_load(t, "in1[ib]");
    char *ld_c = em_load(t, "in2[ic]");
    em_for(e, "m", M);
    em_for(e, "n", N);
    em_line(e, "%s acc = 0;", acc_t);
    em_for(e, "k", K);
    em_line(e, "const int64_t ia = %s, ib = %s;", ia, ib);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, ld_a, acc_t, ld_b);
    em_close(e);
    if (use_c)
        em_line(e, "const int64_t ic = m * %" PRId64 " + n * %" PRId64 ";", cs0, cs1);
    char *res;
    if (is_f) {
        if (use_c)
            res = hd_xasprintf("(%s)%s * acc + (%s)%s * %s", acc_t, al, acc_t, be, ld_c);
        else
            res = hd_xasprintf("(%s)%s * acc", acc_t, al);
    } else if (alpha == 1.0 && (!use_c || beta == 1.0)) {
        res = use_c ? hd_xasprintf("acc + (%s)in2[ic]", acc_t) : hd_xstrdup("acc");
    } else {
        res = use_c ? hd_xasprintf("%s * (double)(%s)acc + %s * (double)in2[ic]", em_f64(alpha).s, ct, em_f64(beta).s)
                    : hd_xasprintf("%s * (double)(%s)acc", em_f64(alpha).s, ct);
    }
    char *st = em_store(t, res);
    em_line(e, "out0[m * %" PRId64 " + n] = %s;", N, st);
    em_close(e);
    em_close(e);
    free(res);
    free(st);
    free(ld_a);
    free(ld_b);
    free(ld_c);
    return true;
}

static uint64_t scratch_gemm(const ir_graph *g, int node)
{
    if (ir_val(g, ir_nd(g, node)->inputs[0])->dtype != HODU_DTYPE_F32)
        return 0;
    nn_gemm_plan p;
    nn_gemm_plan_of(g, node, &p);
    if (p.M == 0 || p.N == 0 || p.K == 0)
        return 0;
    return nn_sgemm_scratch_bytes(p.M, p.N, p.K);
}

/* --- Flatten: pure data movement. --------------------------------------- */

static bool emit_flatten(op_emit *e)
{
    size_t nbytes = ir_value_nbytes(em_out(e, 0));
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    return true;
}

void native_register_nn(native_lowering *table)
{
    table[OP_MATMUL] = (native_lowering){.emit = emit_matmul, .scratch = scratch_matmul};
    table[OP_MATMUL_INTEGER] = (native_lowering){.emit = emit_matmul_integer};
    table[OP_QLINEAR_MATMUL] = (native_lowering){.emit = emit_qlinear_matmul};
    table[OP_GEMM] = (native_lowering){.emit = emit_gemm, .scratch = scratch_gemm};
    table[OP_FLATTEN] = (native_lowering){.emit = emit_flatten};
}
