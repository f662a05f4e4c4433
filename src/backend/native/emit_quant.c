/*
 * emit_quant.c - native lowering of QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and BitCast (src/ops/quant.c holds their
 * semantics; src/ops/quant.h the plan and the formulas, which host folding
 * follows too).
 *
 * QuantizeLinear and DequantizeLinear write one small element function per
 * node at file scope (qdq<node>) and loop over x as [outer, dim, inner]:
 * one flat loop for a per-tensor scale, rows of `inner` elements sharing a
 * scale for per-axis scales, rows reading a run of scales for blocked ones.
 * Narrow types (one element per byte) go through the kernel layer's
 * hd_nf_* / hd_e8m0_* / hd_ni_* conversions, as Cast's do.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/quant.h"

/* Loads a stored element `expr` of type t as compute type ct ("float",
 * "double" or an integer type).  The caller frees it. */
static char *qe_load(hodu_dtype t, const char *ct, const char *expr)
{
    char *l;
    if (t == HODU_DTYPE_F8E8M0)
        l = hd_xasprintf("hd_e8m0_to_f32(%s)", expr);
    else if (quant_is_nfloat(t))
        l = hd_xasprintf("hd_nf_to_f32(%d, %s)", (int)t, expr);
    else if (quant_is_nint(t))
        l = hd_xasprintf("hd_ni_to_i64(%d, %s)", (int)t, expr);
    else
        l = em_load(t, expr);
    char *r = hd_xasprintf("(%s)%s", ct, l);
    free(l);
    return r;
}

/* `expr` (a float) rounded to float16 / bfloat16 where prec says so. */
static char *qe_round(quant_prec prec, const char *expr)
{
    if (prec == QUANT_PREC_F16)
        return hd_xasprintf("hd_f16_to_f32(hd_f32_to_f16(%s))", expr);
    if (prec == QUANT_PREC_BF16)
        return hd_xasprintf("hd_bf16_to_f32(hd_f32_to_bf16(%s))", expr);
    return hd_xstrdup(expr);
}

/* The type the element function takes the zero point (and DQ's x) in. */
static const char *qe_zero_type(const quant_plan *p, const char *ct)
{
    if (p->quantize)
        return ct;
    if (quant_is_nfloat(p->x))
        return "float";
    return p->prec == QUANT_PREC_F64 ? "int64_t" : "int32_t";
}

/* Opens quantize's element function qdq<node>(x, s, z) and writes
 * `q = x / s`, rounded where the precision says so. */
static void qe_quotient(op_emit *e, const quant_plan *p, const char *yt, const char *ct)
{
    hd_buf_printf(e->decls, "static inline %s qdq%d(%s x, %s s, %s z)\n{\n", yt, e->node, ct, ct, ct);
    if (p->prec == QUANT_PREC_F64) {
        hd_buf_puts(e->decls, "    const double q = x / s;\n");
        return;
    }
    char *xr = qe_round(p->prec, "x"), *sr = qe_round(p->prec, "s");
    char *q = hd_xasprintf("%s / %s", xr, sr);
    char *qr = qe_round(p->prec, q);
    hd_buf_printf(e->decls, "    const float q = %s;\n", qr);
    free(xr);
    free(sr);
    free(q);
    free(qr);
}

/* The element function: quantize (x, s, z in the compute type) -> y, or
 * dequantize (x, z as integers, or as floats for narrow float x; s in the
 * compute type) -> y's storage. */
static void qe_elem_fn(op_emit *e, const quant_plan *p, const char *ct)
{
    const char *yt = em_ctype(p->y);
    if (p->quantize && quant_is_nfloat(p->y)) {
        qe_quotient(e, p, yt, ct);
        hd_buf_printf(e->decls, "    const %s v = q;\n", ct);
        /* float8: a zero zero point is skipped, so that -0 stays -0 */
        hd_buf_printf(e->decls, "    return hd_nf_from_f32(%d, (float)(%s), %d);\n}\n", (int)p->y,
                      p->y == HODU_DTYPE_F4E2M1 ? "v + z" : "z != 0 ? v + z : v", p->saturate ? 1 : 0);
        return;
    }
    if (p->quantize) {
        qe_quotient(e, p, yt, ct);
        hd_buf_puts(e->decls, p->prec == QUANT_PREC_F64 ? "    const double v = rint(q) + z;\n"
                                                        : "    const float v = rintf(q) + z;\n");
        /* NaN fails both tests and gives lo: no out-of-range conversion */
        const char *f = p->prec == QUANT_PREC_F64 ? ".0" : ".0f";
        if (quant_is_nint(p->y))
            hd_buf_printf(e->decls,
                          "    return hd_ni_from_i64(%d, v >= %" PRId64 "%s ? (v <= %" PRId64
                          "%s ? (int64_t)v : %" PRId64 ") : %" PRId64 ");\n}\n",
                          (int)p->y, p->lo, f, p->hi, f, p->hi, p->lo);
        else
            hd_buf_printf(e->decls,
                          "    return v >= %" PRId64 "%s ? (v <= %" PRId64 "%s ? (%s)v : (%s)%" PRId64
                          ") : (%s)%" PRId64 ";\n}\n",
                          p->lo, f, p->hi, f, yt, yt, p->hi, yt, p->lo);
        return;
    }
    if (quant_is_nfloat(p->x)) {
        /* a zero zero point is skipped, so that -0 stays -0 */
        hd_buf_printf(e->decls, "static inline %s qdq%d(float x, float z, float s)\n{\n", yt, e->node);
        hd_buf_puts(e->decls, "    const float d = z != 0 ? x - z : x;\n");
        char *st = em_store(p->y, "d * s");
        hd_buf_printf(e->decls, "    return %s;\n}\n", p->y == HODU_DTYPE_F32 ? "d * s" : st);
        free(st);
        return;
    }
    /* x - z is exact in int32 for 8- and 16-bit x, in int64 for int32 */
    const char *it = p->prec == QUANT_PREC_F64 ? "int64_t" : "int32_t";
    hd_buf_printf(e->decls, "static inline %s qdq%d(%s x, %s z, %s s)\n{\n", yt, e->node, it, it, ct);
    char *prod =
        p->prec == QUANT_PREC_F64 ? hd_xstrdup("(float)((double)(x - z) * s)") : hd_xstrdup("(float)(x - z) * s");
    char *st = em_store(p->y, prod);
    hd_buf_printf(e->decls, "    return %s;\n}\n", p->y == HODU_DTYPE_F32 ? prod : st);
    free(prod);
    free(st);
}

/* The call for x's element at index `xi`, with scale and zero point
 * expressions s and z. */
static char *qe_call(op_emit *e, const quant_plan *p, const char *ct, const char *xi, const char *s, const char *z)
{
    char xe[128];
    snprintf(xe, sizeof xe, "in0[%s]", xi);
    if (p->quantize) {
        char *xl = qe_load(p->x, ct, xe);
        char *r = hd_xasprintf("qdq%d(%s, %s, %s)", e->node, xl, s, z);
        free(xl);
        return r;
    }
    if (quant_is_nfloat(p->x) || quant_is_nint(p->x)) {
        char *xl = qe_load(p->x, qe_zero_type(p, ct), xe);
        char *r = hd_xasprintf("qdq%d(%s, %s, %s)", e->node, xl, z, s);
        free(xl);
        return r;
    }
    return hd_xasprintf("qdq%d(%s, %s, %s)", e->node, xe, z, s);
}

/* The scale and zero point at index `at`, as the element function takes
 * them (the zero point is 0 when absent). */
static void qe_sz(const quant_plan *p, const char *ct, bool has_z, const char *at, char sl[96], char zl[96])
{
    char ix[32];
    snprintf(ix, sizeof ix, "in1[%s]", at);
    char *l = qe_load(p->scale, ct, ix);
    snprintf(sl, 96, "%s", l);
    free(l);
    const char *zt = qe_zero_type(p, ct);
    if (has_z) {
        snprintf(ix, sizeof ix, "in2[%s]", at);
        l = qe_load(p->zero, zt, ix);
        snprintf(zl, 96, "%s", l);
        free(l);
    } else {
        snprintf(zl, 96, "(%s)0", zt);
    }
}

static bool emit_qdq(op_emit *e)
{
    quant_plan p;
    if (!quant_plan_of(e->g, e->node, &p)) {
        hd_error(e->d, "internal error: no quantization plan for node %d (%s)", e->node, em_node(e)->op_type);
        return false;
    }
    int64_t numel = ir_value_numel(em_out(e, 0));
    if (numel == 0)
        return true;
    const char *ct = p.prec == QUANT_PREC_F64 ? "double" : "float";
    qe_elem_fn(e, &p, ct);
    bool has_z = em_in(e, 2) != NULL;
    const char *zt = qe_zero_type(&p, ct);
    char sl[96], zl[96];
    if (p.gran == QUANT_TENSOR) {
        qe_sz(&p, ct, has_z, "0", sl, zl);
        em_line(e, "const %s s = %s;", ct, sl);
        em_line(e, "const %s z = %s;", zt, zl);
        em_par_for(e, "i", numel, 64, 1);
        char *call = qe_call(e, &p, ct, "i", "s", "z");
        em_line(e, "out0[i] = %s;", call);
        free(call);
        em_close(e);
        return true;
    }
    if (p.gran == QUANT_BLOCK && p.inner == 1) {
        /* blocks on the last axis: runs r = (o, b) of x sharing a scale;
         * the last block of a row may be short */
        em_par_for(e, "r", p.outer * p.sdim, 1, p.block < p.dim ? p.block : p.dim);
        qe_sz(&p, ct, has_z, "r", sl, zl);
        em_line(e, "const %s s = %s;", ct, sl);
        em_line(e, "const %s z = %s;", zt, zl);
        if (p.sdim == 1) {
            em_line(e, "const int64_t j0 = r * %" PRId64 ", j1 = j0 + %" PRId64 ";", p.dim, p.dim);
        } else {
            /* sdim > 1: block < dim, so nothing here overflows */
            em_line(e, "const int64_t o = r / %" PRId64 ", b = r %% %" PRId64 ";", p.sdim, p.sdim);
            em_line(e, "const int64_t j0 = o * %" PRId64 " + b * %" PRId64 ";", p.dim, p.block);
            em_line(e, "const int64_t j1 = b == %" PRId64 " ? (o + 1) * %" PRId64 " : j0 + %" PRId64 ";", p.sdim - 1,
                    p.dim, p.block);
        }
        em_line(e, "for (int64_t j = j0; j < j1; j++) {");
        e->indent++;
        char *call = qe_call(e, &p, ct, "j", "s", "z");
        em_line(e, "out0[j] = %s;", call);
        free(call);
        em_close(e);
        em_close(e);
        return true;
    }
    /* rows r = (o, d) of `inner` elements */
    em_par_for(e, "r", p.outer * p.dim, 1, p.inner);
    if (p.gran == QUANT_AXIS) {
        if (p.outer == 1)
            em_line(e, "const int64_t d = r;");
        else
            em_line(e, "const int64_t d = r %% %" PRId64 ";", p.dim);
        qe_sz(&p, ct, has_z, "d", sl, zl);
        em_line(e, "const %s s = %s;", ct, sl);
        em_line(e, "const %s z = %s;", zt, zl);
        em_for(e, "i", p.inner);
        char *xi = hd_xasprintf("%s", em_index(0, EM_TERMS({"r", p.inner}, {"i", 1})).s);
        char *call = qe_call(e, &p, ct, xi, "s", "z");
        em_line(e, "out0[%s] = %s;", xi, call);
        free(call);
        free(xi);
        em_close(e);
    } else {
        char sb[160];
        if (p.outer == 1)
            snprintf(sb, sizeof sb, "r / %" PRId64, p.block);
        else
            snprintf(sb, sizeof sb, "r / %" PRId64 " * %" PRId64 " + r %% %" PRId64 " / %" PRId64, p.dim, p.sdim, p.dim,
                     p.block);
        if (p.inner == 1)
            em_line(e, "const int64_t sb = %s;", sb);
        else
            em_line(e, "const int64_t sb = (%s) * %" PRId64 ";", sb, p.inner);
        em_for(e, "i", p.inner);
        qe_sz(&p, ct, has_z, "sb + i", sl, zl);
        char *xi = hd_xasprintf("%s", em_index(0, EM_TERMS({"r", p.inner}, {"i", 1})).s);
        char *call = qe_call(e, &p, ct, xi, sl, zl);
        em_line(e, "out0[%s] = %s;", xi, call);
        free(call);
        free(xi);
        em_close(e);
    }
    em_close(e);
    return true;
}

/* Range, scale and zero point first, then y: three passes, one thread. */
static bool emit_dynamic_quantize(op_emit *e)
{
    int64_t n = ir_value_numel(em_in(e, 0));
    em_line(e, "float lo = 0.0f, hi = 0.0f;");
    if (n > 0) {
        em_for(e, "i", n);
        em_line(e, "const float v = in0[i];");
        em_line(e, "lo = v < lo ? v : lo; /* a NaN fails both tests */");
        em_line(e, "hi = v > hi ? v : hi;");
        em_close(e);
    }
    em_line(e, "const float s = (hi == lo ? 1.0f : hi - lo) / 255.0f;");
    em_line(e, "const float zi = 0.0f - lo / s;");
    em_line(e, "const float z = rintf(zi >= 0.0f ? (zi <= 255.0f ? zi : 255.0f) : 0.0f);");
    if (n > 0) {
        em_for(e, "i", n);
        em_line(e, "const float v = rintf(in0[i] / s) + z;");
        em_line(e, "out0[i] = v >= 0.0f ? (v <= 255.0f ? (uint8_t)v : 255) : 0;");
        em_close(e);
    }
    em_line(e, "out1[0] = s;");
    em_line(e, "out2[0] = (uint8_t)z;");
    return true;
}

static bool emit_bitcast(op_emit *e)
{
    const ir_value *x = em_in(e, 0), *y = em_out(e, 0);
    size_t nbytes = ir_value_nbytes(x);
    if (nbytes == 0)
        return true;
    if (y->dtype == HODU_DTYPE_BOOL) {
        em_par_for(e, "i", (int64_t)nbytes, 64, 1);
        em_line(e, "out0[i] = (uint8_t)(((const unsigned char *)in0)[i] != 0);");
        em_close(e);
        return true;
    }
    em_line(e, "memcpy(out0, in0, %zu);", nbytes);
    return true;
}

void native_register_quant(native_lowering *table)
{
    static const int qdq[] = {OP_QUANTIZE_LINEAR_10,   OP_QUANTIZE_LINEAR_13,   OP_QUANTIZE_LINEAR_19,
                              OP_QUANTIZE_LINEAR_21,   OP_QUANTIZE_LINEAR_23,   OP_QUANTIZE_LINEAR_24,
                              OP_QUANTIZE_LINEAR_25,   OP_DEQUANTIZE_LINEAR_10, OP_DEQUANTIZE_LINEAR_13,
                              OP_DEQUANTIZE_LINEAR_19, OP_DEQUANTIZE_LINEAR_21, OP_DEQUANTIZE_LINEAR_23,
                              OP_DEQUANTIZE_LINEAR_24, OP_DEQUANTIZE_LINEAR_25};
    for (size_t i = 0; i < HD_ARRAY_LEN(qdq); i++)
        table[qdq[i]] = (native_lowering){.emit = emit_qdq};
    table[OP_DYNAMIC_QUANTIZE_LINEAR] = (native_lowering){.emit = emit_dynamic_quantize};
    table[OP_BIT_CAST] = (native_lowering){.emit = emit_bitcast};
}
