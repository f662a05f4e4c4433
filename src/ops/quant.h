/*
 * quant.h - the quantization family's public face (src/ops/quant.c): the
 * plan a backend reads to lower QuantizeLinear and DequantizeLinear, and
 * the formulas both the backend and host folding follow.
 *
 * x is viewed as [outer, dim, inner] around the quantization axis, and the
 * scale (and zero point) element that x's element (o, d, i) uses is
 *
 *   QUANT_TENSOR   0                                  (one scale)
 *   QUANT_AXIS     d                                  (one per index of the axis)
 *   QUANT_BLOCK    (o * sdim + d / block) * inner + i (one per block of the axis)
 *
 * Narrow types are read and written one element per byte with the kernel
 * layer's hd_nf_* / hd_e8m0_* / hd_ni_* helpers (hodu_kernels.h).
 *
 * Quantize:    y = saturate(rint(x / s) + z), rint rounding half to even,
 *              the division in `prec` (operands and quotient rounded to
 *              float16 / bfloat16 for QUANT_PREC_F16 / _BF16), the sum in
 *              float (double for QUANT_PREC_F64).  saturate clamps to
 *              [lo, hi]; NaN gives lo, like -inf (onnx.reference and
 *              onnxruntime do the same on x86), so no out-of-range
 *              float-to-integer conversion happens.
 *              Narrow integer y (int4/uint4/int2/uint2) alike, its code
 *              the value's low bits.
 * Quantize to a narrow float (float8 types, float4e2m1): y = convert(x / s
 *              + z), the division as above, the sum in float (double for
 *              QUANT_PREC_F64, then rounded to float), then Cast's
 *              conversion with `saturate` (float4e2m1 always saturates).
 *              A float8 zero point is added only where it is not zero, so
 *              that x / s = -0 stays -0 (onnx.reference ignores float8
 *              zero points, which the spec expects to be zero); a float4
 *              one always is (so does the reference).
 * Dequantize:  y = (x - z) * s, the difference exact in int64, the product
 *              in float (double for QUANT_PREC_F64, i.e. int32 x), rounded
 *              once to y's type.  A narrow float x and z are decoded to
 *              float and the difference is taken only where z is not zero
 *              (onnx.reference ignores the zero point; a zero one leaves
 *              x, -0 included, untouched).  A float8e8m0 scale (opset 24+)
 *              is its power of two, as a float.
 *
 * quant_plan_of expects a node that inference accepted and returns false
 * (reporting nothing) for any other.
 */
#ifndef HODU_OPS_QUANT_H
#define HODU_OPS_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef enum quant_gran { QUANT_TENSOR, QUANT_AXIS, QUANT_BLOCK } quant_gran;

/* The arithmetic's type: float, float with operands and result rounded to
 * float16 / bfloat16, or double. */
typedef enum quant_prec { QUANT_PREC_F32, QUANT_PREC_F16, QUANT_PREC_BF16, QUANT_PREC_F64 } quant_prec;

typedef struct quant_plan {
    bool quantize;                /* QuantizeLinear; else DequantizeLinear */
    bool saturate;                /* quantize to float8: attribute saturate */
    hodu_dtype x, scale, zero, y; /* zero: HODU_DTYPE_UNDEFINED when absent */
    quant_prec prec;              /* see above */
    quant_gran gran;              /* which scale an element uses */
    int64_t outer, dim, inner;    /* x as [outer, dim, inner] (TENSOR: [1, numel, 1]) */
    int64_t block, sdim;          /* QUANT_BLOCK: block size, scale's extent on the axis */
    int64_t lo, hi;               /* quantize: y's range */
} quant_plan;

/* The narrow floats a quantized tensor may have (float8 types and
 * float4e2m1; not float8e8m0, which only scales are), and the narrow
 * integers. */
static inline bool quant_is_nfloat(hodu_dtype t)
{
    return (t >= HODU_DTYPE_F8E4M3FN && t <= HODU_DTYPE_F8E5M2FNUZ) || t == HODU_DTYPE_F4E2M1;
}
static inline bool quant_is_nint(hodu_dtype t)
{
    return t == HODU_DTYPE_U4 || t == HODU_DTYPE_I4 || t == HODU_DTYPE_U2 || t == HODU_DTYPE_I2;
}

bool quant_plan_of(const ir_graph *g, int node, quant_plan *p);

#endif /* HODU_OPS_QUANT_H */
