/*
 * ops/quant.c - the quantization family: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear and BitCast (quant.h exports the plan backends
 * read and states the formulas).
 *
 * QuantizeLinear(x, y_scale, y_zero_point?) -> y, and
 * DequantizeLinear(x, x_scale, x_zero_point?) -> y, one op_list line per
 * version whose attributes or types changed:
 *   10  per-tensor only; Q: x float32/int32, y int8/uint8; DQ: x
 *       int8/uint8/int32; scale float32; no attributes.
 *   13  attribute axis: per-axis scales (a 1-D scale along x's axis).
 *   19  Q: attribute saturate (float8 y only), x and scale
 *       float32/float16/bfloat16/int32 of one type; DQ: scale
 *       float32/float16/bfloat16, y takes its type; the four float8 types
 *       as quantized types.
 *   21  attribute block_size: blocked scales (x's shape with the axis cut
 *       into blocks of block_size); Q: attribute output_dtype; int16/uint16
 *       and int4/uint4 quantized types.
 *   23  Q: the scale's type is free of x's, attribute precision (the
 *       division's type); DQ: attribute output_dtype; float4e2m1.
 *   24  float8e8m0 scales (DQ then needs output_dtype: y is never e8m0).
 *   25  int2/uint2.
 * The quantized types of each version are the ones it lists, no more.
 * Element types Hodu does not compile (string, complex) named by
 * output_dtype, precision or BitCast's `to` are refused with the loader's
 * wording.
 *
 * Quantize's division runs in the type `precision` names; without it, in
 * the promotion of x's and the scale's types (what onnx.reference's numpy
 * does: double as soon as either is int32), which agrees with the spec's
 * "the scale's type" whenever x is not the wider one.
 *
 * DynamicQuantizeLinear(x float32) -> (y uint8, y_scale, y_zero_point):
 * the range [min(0, min x), max(0, max x)] (NaNs are skipped) spread over
 * 0..255; a range of zero width gives scale 1/255 like onnx.reference.
 *
 * BitCast(x) -> y of attribute `to`'s type, which must have x's width: the
 * same bytes.  A byte read as bool is 0 or 1 afterwards (any non-zero byte
 * is true), since Hodu's bool ops rely on that.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "ops_impl.h"
#include "quant.h"

/* Reads an element-type attribute (0 or absent: HODU_DTYPE_UNDEFINED).
 * Fails on a number that is no element type, and on one Hodu does not
 * compile, with the loader's wording. */
static bool qt_attr_dtype(op_ctx *c, const char *name, hodu_dtype *out)
{
    int64_t v = ir_attr_int(op_node(c), name, 0);
    *out = HODU_DTYPE_UNDEFINED;
    if (v == 0)
        return true;
    const char *tn = ir_onnx_type_name(v);
    if (!tn)
        return op_fail(c, "attribute '%s' value %" PRId64 " is not an element type", name, v);
    if (v >= HODU_DTYPE_COUNT_ || v == HODU_DTYPE_STRING || v == 14 || v == 15)
        return op_fail(c, "attribute '%s': element type %s (%" PRId64 ") is not supported", name, tn, v);
    *out = (hodu_dtype)v;
    return true;
}

/* --- QuantizeLinear / DequantizeLinear --------------------------------- */

/* The spec version an op_id implements. */
static int qdq_version(int op)
{
    switch (op) {
    case OP_QUANTIZE_LINEAR_10:
    case OP_DEQUANTIZE_LINEAR_10: return 10;
    case OP_QUANTIZE_LINEAR_13:
    case OP_DEQUANTIZE_LINEAR_13: return 13;
    case OP_QUANTIZE_LINEAR_19:
    case OP_DEQUANTIZE_LINEAR_19: return 19;
    case OP_QUANTIZE_LINEAR_21:
    case OP_DEQUANTIZE_LINEAR_21: return 21;
    case OP_QUANTIZE_LINEAR_23:
    case OP_DEQUANTIZE_LINEAR_23: return 23;
    case OP_QUANTIZE_LINEAR_24:
    case OP_DEQUANTIZE_LINEAR_24: return 24;
    case OP_QUANTIZE_LINEAR_25:
    case OP_DEQUANTIZE_LINEAR_25: return 25;
    default: return 0;
    }
}

static bool qdq_is_quantize(int op)
{
    return op == OP_QUANTIZE_LINEAR_10 || op == OP_QUANTIZE_LINEAR_13 || op == OP_QUANTIZE_LINEAR_19 ||
           op == OP_QUANTIZE_LINEAR_21 || op == OP_QUANTIZE_LINEAR_23 || op == OP_QUANTIZE_LINEAR_24 ||
           op == OP_QUANTIZE_LINEAR_25;
}

/* Type sets, terminated by HODU_DTYPE_UNDEFINED. */
static const hodu_dtype QT_F32[] = {HODU_DTYPE_F32, 0};
static const hodu_dtype QT_F32_I32[] = {HODU_DTYPE_F32, HODU_DTYPE_I32, 0};
static const hodu_dtype QT_FLOATS[] = {HODU_DTYPE_F32, HODU_DTYPE_F16, HODU_DTYPE_BF16, 0};
static const hodu_dtype QT_FLOATS_E8M0[] = {HODU_DTYPE_F32, HODU_DTYPE_F16, HODU_DTYPE_BF16, HODU_DTYPE_F8E8M0, 0};
static const hodu_dtype QT_FLOATS_I32[] = {HODU_DTYPE_F32, HODU_DTYPE_F16, HODU_DTYPE_BF16, HODU_DTYPE_I32, 0};
static const hodu_dtype QT_FLOATS_I32_E8M0[] = {HODU_DTYPE_F32, HODU_DTYPE_F16,    HODU_DTYPE_BF16,
                                                HODU_DTYPE_I32, HODU_DTYPE_F8E8M0, 0};

/* The quantized types (Q's y, DQ's x) of spec version ver, in the order
 * the versions added them; DQ also takes int32 x.  Writes the set,
 * terminated, into out[16]. */
static void qdq_qtypes(int ver, bool quantize, hodu_dtype out[16])
{
    static const struct {
        hodu_dtype t;
        int since;
    } all[] = {
        {HODU_DTYPE_I8, 10},       {HODU_DTYPE_U8, 10},         {HODU_DTYPE_I16, 21},    {HODU_DTYPE_U16, 21},
        {HODU_DTYPE_F8E4M3FN, 19}, {HODU_DTYPE_F8E4M3FNUZ, 19}, {HODU_DTYPE_F8E5M2, 19}, {HODU_DTYPE_F8E5M2FNUZ, 19},
        {HODU_DTYPE_U4, 21},       {HODU_DTYPE_I4, 21},         {HODU_DTYPE_F4E2M1, 23}, {HODU_DTYPE_U2, 25},
        {HODU_DTYPE_I2, 25},
    };
    size_t n = 0;
    for (size_t i = 0; i < HD_ARRAY_LEN(all); i++)
        if (ver >= all[i].since)
            out[n++] = all[i].t;
    if (!quantize)
        out[n++] = HODU_DTYPE_I32;
    out[n] = HODU_DTYPE_UNDEFINED;
}

/* True when t is in set; otherwise fails naming `what` and the set. */
static bool qt_need(op_ctx *c, hodu_dtype t, const hodu_dtype *set, const char *what)
{
    for (size_t i = 0; set[i]; i++)
        if (set[i] == t)
            return true;
    char list[192] = "";
    size_t len = 0;
    for (size_t i = 0; set[i] && len < sizeof(list) - 16; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", ir_dtype_name(set[i]));
    return op_fail(c, "%s must be %s%s in opset %" PRId64 ", got %s", what, set[1] ? "one of " : "", list, c->g->opset,
                   ir_dtype_name(t));
}

static bool qt_is_float(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16; }

/* The type x / s runs in without a `precision` attribute: numpy's
 * promotion of the two. */
static quant_prec qdq_promote(hodu_dtype x, hodu_dtype s)
{
    if (x == HODU_DTYPE_I32 || s == HODU_DTYPE_I32)
        return QUANT_PREC_F64;
    if (x == s && x == HODU_DTYPE_F16)
        return QUANT_PREC_F16;
    if (x == s && x == HODU_DTYPE_BF16)
        return QUANT_PREC_BF16;
    return QUANT_PREC_F32;
}

/* Which scale each element uses: per tensor, per axis or per block. */
static bool qdq_granularity(op_ctx *c, int ver, const ir_value *x, const ir_value *s, const ir_value *z, quant_plan *p)
{
    const ir_node *n = op_node(c);
    int64_t axis = ir_attr_int(n, "axis", 1), block = ir_attr_int(n, "block_size", 0);
    int64_t sn = ir_value_numel(s), xn = ir_value_numel(x);
    if (block < 0)
        return op_fail(c, "attribute 'block_size' must be positive, got %" PRId64, block);
    if (z) {
        bool same = z->rank == s->rank;
        for (int k = 0; same && k < s->rank; k++)
            same = z->dims[k].size == s->dims[k].size;
        if (!same && !(sn == 1 && ir_value_numel(z) == 1))
            return op_fail(c, "the zero point '%s' must have the scale's shape", z->name);
    }
    p->outer = 1;
    p->dim = xn;
    p->inner = 1;
    if (block == 0 || s->rank == 0) {
        if (s->rank > 1)
            return op_fail(c, "the scale '%s' must be a scalar or 1-D (rank %d)%s", s->name, s->rank,
                           ver >= 21 ? " without attribute 'block_size'" : "");
        if (sn == 1) {
            p->gran = QUANT_TENSOR;
            return true;
        }
        if (ver < 13)
            return op_fail(c, "the scale '%s' must be a scalar in opset %" PRId64, s->name, c->g->opset);
        p->gran = QUANT_AXIS;
    } else {
        if (s->rank != x->rank)
            return op_fail(c, "blocked quantization needs a scale of x's rank %d (the scale '%s' has rank %d)", x->rank,
                           s->name, s->rank);
        p->gran = QUANT_BLOCK;
        p->block = block;
    }
    int ax;
    if (!op_axis(c, axis, x->rank, &ax))
        return false;
    if (x->rank == 0)
        return op_fail(c, "per-axis quantization needs x of rank 1 or more");
    for (int k = 0; k < x->rank; k++) {
        int64_t d = x->dims[k].size;
        if (k < ax)
            p->outer *= d;
        else if (k > ax)
            p->inner *= d;
        else
            p->dim = d;
    }
    if (p->gran == QUANT_AXIS) {
        if (sn != p->dim)
            return op_fail(c, "the scale '%s' has %" PRId64 " values; axis %d of x has %" PRId64, s->name, sn, ax,
                           p->dim);
        return true;
    }
    for (int k = 0; k < x->rank; k++)
        if (k != ax && s->dims[k].size != x->dims[k].size)
            return op_fail(c,
                           "the scale '%s' must match x's shape except on axis %d (dim %d: %" PRId64 " vs %" PRId64 ")",
                           s->name, ax, k, s->dims[k].size, x->dims[k].size);
    p->sdim = s->dims[ax].size;
    int64_t want = p->dim / block + (p->dim % block != 0);
    if (p->sdim != want)
        return op_fail(c,
                       "the scale '%s' has %" PRId64 " blocks on axis %d; %" PRId64 " values in blocks of %" PRId64
                       " need %" PRId64,
                       s->name, p->sdim, ax, p->dim, block, want);
    return true;
}

/* An integer y's range (narrow floats have none: zeros). */
static void qdq_range(hodu_dtype y, int64_t *lo, int64_t *hi)
{
    switch (y) {
    case HODU_DTYPE_I8: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case HODU_DTYPE_U8: *lo = 0, *hi = UINT8_MAX; break;
    case HODU_DTYPE_I16: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case HODU_DTYPE_U16: *lo = 0, *hi = UINT16_MAX; break;
    case HODU_DTYPE_I4: *lo = -8, *hi = 7; break;
    case HODU_DTYPE_U4: *lo = 0, *hi = 15; break;
    case HODU_DTYPE_I2: *lo = -2, *hi = 1; break;
    case HODU_DTYPE_U2: *lo = 0, *hi = 3; break;
    default: *lo = 0, *hi = 0; break;
    }
}

static bool qdq_plan(op_ctx *c, quant_plan *p)
{
    const ir_node *n = op_node(c);
    int ver = qdq_version(n->op);
    if (!ver)
        return op_fail(c, "internal error: not a QuantizeLinear / DequantizeLinear node");
    const ir_value *x = op_need_static(c, 0), *s = op_need_static(c, 1);
    if (!x || !s)
        return false;
    const ir_value *z = op_in(c, 2);
    if (z && !op_need_static(c, 2))
        return false;
    memset(p, 0, sizeof(*p));
    p->quantize = qdq_is_quantize(n->op);
    p->x = x->dtype;
    p->scale = s->dtype;
    p->zero = z ? z->dtype : HODU_DTYPE_UNDEFINED;
    hodu_dtype qtypes[16];
    qdq_qtypes(ver, p->quantize, qtypes);
    if (p->quantize) {
        if (!qt_need(c, x->dtype, ver < 19 ? QT_F32_I32 : QT_FLOATS_I32, "x"))
            return false;
        const hodu_dtype *sset = ver < 19 ? QT_F32 : ver < 24 ? QT_FLOATS_I32 : QT_FLOATS_I32_E8M0;
        if (!qt_need(c, s->dtype, sset, "y_scale"))
            return false;
        if (ver >= 19 && ver < 23 && s->dtype != x->dtype)
            return op_fail(c, "y_scale must have x's type (%s) in opset %" PRId64 ", got %s", ir_dtype_name(x->dtype),
                           c->g->opset, ir_dtype_name(s->dtype));
        hodu_dtype y = HODU_DTYPE_UNDEFINED;
        if (ver >= 21 && !qt_attr_dtype(c, "output_dtype", &y))
            return false;
        if (z) {
            if (y && y != z->dtype)
                return op_fail(c, "attribute 'output_dtype' (%s) and the zero point's type (%s) differ",
                               ir_dtype_name(y), ir_dtype_name(z->dtype));
            y = z->dtype;
        }
        if (!y)
            y = HODU_DTYPE_U8;
        if (!qt_need(c, y, qtypes, z ? "y_zero_point" : "output_dtype"))
            return false;
        p->y = y;
        p->saturate = ir_attr_int(n, "saturate", 1) != 0;
        qdq_range(y, &p->lo, &p->hi);
        hodu_dtype prec = HODU_DTYPE_UNDEFINED;
        if (ver >= 23 && !qt_attr_dtype(c, "precision", &prec))
            return false;
        switch (prec) {
        case HODU_DTYPE_UNDEFINED: p->prec = qdq_promote(x->dtype, s->dtype); break;
        case HODU_DTYPE_F32: p->prec = QUANT_PREC_F32; break;
        case HODU_DTYPE_F16: p->prec = QUANT_PREC_F16; break;
        case HODU_DTYPE_BF16: p->prec = QUANT_PREC_BF16; break;
        case HODU_DTYPE_F64: p->prec = QUANT_PREC_F64; break;
        default:
            return op_fail(c, "attribute 'precision' must name a floating-point type, got %s", ir_dtype_name(prec));
        }
    } else {
        if (!qt_need(c, x->dtype, qtypes, "x"))
            return false;
        if (z && z->dtype != x->dtype)
            return op_fail(c, "x_zero_point must have x's type (%s), got %s", ir_dtype_name(x->dtype),
                           ir_dtype_name(z->dtype));
        if (!qt_need(c, s->dtype, ver < 19 ? QT_F32 : ver < 24 ? QT_FLOATS : QT_FLOATS_E8M0, "x_scale"))
            return false;
        hodu_dtype y = HODU_DTYPE_UNDEFINED;
        if (ver >= 23 && !qt_attr_dtype(c, "output_dtype", &y))
            return false;
        if (y && !qt_is_float(y))
            return qt_need(c, y, QT_FLOATS, "output_dtype");
        if (!y && s->dtype == HODU_DTYPE_F8E8M0)
            return op_fail(c, "a float8e8m0 scale needs attribute 'output_dtype' (y cannot be float8e8m0)");
        p->y = y ? y : s->dtype;
        p->prec = x->dtype == HODU_DTYPE_I32 ? QUANT_PREC_F64 : QUANT_PREC_F32;
    }
    return qdq_granularity(c, ver, x, s, z, p);
}

bool quant_plan_of(const ir_graph *g, int node, quant_plan *p)
{
    if (!qdq_version(ir_nd(g, node)->op))
        return false;
    /* A node inference accepted cannot fail here; any message is dropped. */
    hd_diag d;
    hd_diag_init(&d, NULL);
    op_ctx c = {(ir_graph *)g, node, &d};
    bool ok = qdq_plan(&c, p);
    hd_diag_free(&d);
    return ok;
}

static bool infer_qdq(op_ctx *c)
{
    quant_plan p;
    if (!qdq_plan(c, &p))
        return false;
    const ir_value *x = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, p.y, x->rank, dims);
    return true;
}

/* --- host evaluation: the formulas of quant.h, as the generated code
 * writes them (emit_quant.c). */

static double qt_load(hodu_dtype t, const void *base, int64_t i)
{
    const unsigned char *b = (const unsigned char *)base + (size_t)i * ir_dtype_size(t);
    if (t == HODU_DTYPE_F8E8M0)
        return hd_e8m0_to_f32(*b);
    if (quant_is_nfloat(t))
        return hd_nf_to_f32((int)t, *b);
    if (quant_is_nint(t))
        return (double)hd_ni_to_i64((int)t, *b);
    union {
        float f;
        int32_t i32;
        int16_t i16;
        uint16_t u16;
        int8_t i8;
        uint8_t u8;
    } u;
    memcpy(&u, b, ir_dtype_size(t));
    switch (t) {
    case HODU_DTYPE_F32: return u.f;
    case HODU_DTYPE_F16: return hd_f16_to_f32(u.u16);
    case HODU_DTYPE_BF16: return hd_bf16_to_f32(u.u16);
    case HODU_DTYPE_I32: return u.i32;
    case HODU_DTYPE_I16: return u.i16;
    case HODU_DTYPE_U16: return u.u16;
    case HODU_DTYPE_I8: return u.i8;
    default: return u.u8;
    }
}

static float qt_round_to(quant_prec prec, float v)
{
    if (prec == QUANT_PREC_F16)
        return hd_f16_to_f32(hd_f32_to_f16(v));
    if (prec == QUANT_PREC_BF16)
        return hd_bf16_to_f32(hd_f32_to_bf16(v));
    return v;
}

/* Stores y's value v (a narrow float one converted with `saturate`). */
static void qt_store(hodu_dtype t, bool saturate, void *base, int64_t i, double v)
{
    unsigned char *b = (unsigned char *)base + (size_t)i * ir_dtype_size(t);
    if (quant_is_nfloat(t)) {
        *b = hd_nf_from_f32((int)t, (float)v, saturate);
        return;
    }
    if (quant_is_nint(t)) {
        *b = hd_ni_from_i64((int)t, (int64_t)v);
        return;
    }
    union {
        float f;
        int16_t i16;
        uint16_t u16;
        int8_t i8;
        uint8_t u8;
    } u;
    switch (t) {
    case HODU_DTYPE_F32: u.f = (float)v; break;
    case HODU_DTYPE_F16: u.u16 = hd_f32_to_f16((float)v); break;
    case HODU_DTYPE_BF16: u.u16 = hd_f32_to_bf16((float)v); break;
    case HODU_DTYPE_I16: u.i16 = (int16_t)v; break;
    case HODU_DTYPE_U16: u.u16 = (uint16_t)v; break;
    case HODU_DTYPE_I8: u.i8 = (int8_t)v; break;
    default: u.u8 = (uint8_t)v; break;
    }
    memcpy(b, &u, ir_dtype_size(t));
}

/* One element: x, s, z as loaded; returns y's value (an integer in
 * [lo, hi] for integer quantize, the value to convert for a narrow float
 * one), to be stored with qt_store. */
static double qt_elem(const quant_plan *p, double x, double s, double z)
{
    bool nf = quant_is_nfloat(p->quantize ? p->y : p->x);
    bool add_z = p->y == HODU_DTYPE_F4E2M1 || z != 0.0;
    if (p->quantize) {
        double v;
        if (p->prec == QUANT_PREC_F64) {
            v = nf ? (add_z ? x / s + z : x / s) : rint(x / s) + z;
        } else {
            float xf = qt_round_to(p->prec, (float)x), sf = qt_round_to(p->prec, (float)s);
            float q = qt_round_to(p->prec, xf / sf);
            v = nf ? (double)(add_z ? q + (float)z : q) : (double)(rintf(q) + (float)z);
        }
        if (nf)
            return v;
        return v >= (double)p->lo ? (v <= (double)p->hi ? v : (double)p->hi) : (double)p->lo;
    }
    if (nf) {
        float d = z != 0.0 ? (float)x - (float)z : (float)x;
        return (double)(d * (float)s);
    }
    int64_t diff = (int64_t)x - (int64_t)z;
    if (p->prec == QUANT_PREC_F64)
        return (double)(float)((double)diff * s);
    return (double)((float)diff * (float)s);
}

static bool fold_qdq(op_ctx *c)
{
    quant_plan p;
    if (!qdq_plan(c, &p))
        return false;
    const ir_value *x = op_in(c, 0), *s = op_in(c, 1), *z = op_in(c, 2);
    if ((!x->data && x->nbytes) || (!s->data && s->nbytes) || (z && !z->data && z->nbytes))
        return true; /* nothing to read: leave it to run time */
    void *y = op_fold_alloc(c, 0);
    int64_t k = 0;
    for (int64_t o = 0; o < p.outer; o++)
        for (int64_t d = 0; d < p.dim; d++)
            for (int64_t i = 0; i < p.inner; i++, k++) {
                int64_t si = p.gran == QUANT_TENSOR ? 0
                             : p.gran == QUANT_AXIS ? d
                                                    : (o * p.sdim + d / p.block) * p.inner + i;
                double xv = qt_load(p.x, x->data, k), sv = qt_load(p.scale, s->data, si);
                double zv = z ? qt_load(p.zero, z->data, si) : 0.0;
                qt_store(p.y, p.saturate, y, k, qt_elem(&p, xv, sv, zv));
            }
    return true;
}

/* Attribute schemas, by version. */
static const op_attr_spec qdq13_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec q19_attrs[] = {{"axis", IR_ATTR_INT}, {"saturate", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec q21_attrs[] = {{"axis", IR_ATTR_INT},
                                         {"saturate", IR_ATTR_INT},
                                         {"block_size", IR_ATTR_INT},
                                         {"output_dtype", IR_ATTR_INT},
                                         {NULL, 0}};
static const op_attr_spec q23_attrs[] = {{"axis", IR_ATTR_INT},       {"saturate", IR_ATTR_INT},
                                         {"block_size", IR_ATTR_INT}, {"output_dtype", IR_ATTR_INT},
                                         {"precision", IR_ATTR_INT},  {NULL, 0}};
static const op_attr_spec dq21_attrs[] = {{"axis", IR_ATTR_INT}, {"block_size", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec dq23_attrs[] = {
    {"axis", IR_ATTR_INT}, {"block_size", IR_ATTR_INT}, {"output_dtype", IR_ATTR_INT}, {NULL, 0}};

/* --- DynamicQuantizeLinear ----------------------------------------------- */

static bool infer_dynamic_quantize(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (x->dtype != HODU_DTYPE_F32)
        return op_fail(c, "x must be f32, got %s", ir_dtype_name(x->dtype));
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, HODU_DTYPE_U8, x->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_F32, 0, NULL);
    op_set_out(c, 2, HODU_DTYPE_U8, 0, NULL);
    return true;
}

/* --- BitCast ------------------------------------------------------------- */

static const op_attr_spec bitcast_attrs[] = {{"to", IR_ATTR_INT}, {NULL, 0}};

static bool infer_bitcast(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (!ir_attr_find(op_node(c), "to"))
        return op_fail(c, "attribute 'to' is required");
    hodu_dtype to;
    if (!qt_attr_dtype(c, "to", &to))
        return false;
    if (!to)
        return op_fail(c, "attribute 'to' value 0 is not an element type");
    if (ir_dtype_size(to) != ir_dtype_size(x->dtype))
        return op_fail(c, "attribute 'to' (%s, %zu bits) must have the input's width (%s, %zu bits)", ir_dtype_name(to),
                       ir_dtype_size(to) * 8, ir_dtype_name(x->dtype), ir_dtype_size(x->dtype) * 8);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, to, x->rank, dims);
    return true;
}

static bool fold_bitcast(op_ctx *c)
{
    const ir_value *x = op_in(c, 0), *y = op_out(c, 0);
    if (!x->data && x->nbytes)
        return true;
    unsigned char *dst = op_fold_alloc(c, 0);
    if (!x->nbytes)
        return true;
    memcpy(dst, x->data, x->nbytes);
    if (y->dtype == HODU_DTYPE_BOOL)
        for (size_t i = 0; i < x->nbytes; i++)
            dst[i] = dst[i] != 0;
    return true;
}

OP_DEF(QUANTIZE_LINEAR_10, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_13, .attrs = qdq13_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_19, .attrs = q19_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_21, .attrs = q21_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_23, .attrs = q23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_24, .attrs = q23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(QUANTIZE_LINEAR_25, .attrs = q23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_10, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_13, .attrs = qdq13_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_19, .attrs = qdq13_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_21, .attrs = dq21_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_23, .attrs = dq23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_24, .attrs = dq23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DEQUANTIZE_LINEAR_25, .attrs = dq23_attrs, .infer = infer_qdq, .fold = fold_qdq);
OP_DEF(DYNAMIC_QUANTIZE_LINEAR, .infer = infer_dynamic_quantize);
OP_DEF(BIT_CAST, .attrs = bitcast_attrs, .infer = infer_bitcast, .fold = fold_bitcast);
