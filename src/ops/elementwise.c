/*
 * ops/elementwise.c - the elementwise family:
 *
 *   unary math      Abs Neg Sqrt Exp Log Reciprocal Floor Ceil Round Sign
 *                   Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Erf
 *                   Not IsNaN IsInf BitwiseNot
 *   activations     Relu Sigmoid Tanh LeakyRelu Elu Selu Celu HardSigmoid
 *                   HardSwish Softplus Softsign Mish Gelu ThresholdedRelu
 *                   Shrink PRelu Clip Swish
 *   binary          Add Sub Mul Div Pow Mod BitShift BitwiseAnd/Or/Xor
 *                   And Or Xor Equal Less LessOrEqual Greater GreaterOrEqual
 *   variadic        Max Min Sum Mean
 *   others          Where Cast CastLike Dropout
 *
 * Every op is a row of `ew_rows`: its kind (how many operands, how they
 * broadcast) and a C expression template per operand class (float, signed,
 * unsigned, bool; NULL = class not accepted).  One emitter writes all of
 * them: it loads each operand into a local of its compute type, evaluates the
 * template and stores the result.  Template placeholders:
 *   $0..$9  operand locals (by ONNX input index)
 *   $T      compute C type of the operation ("float" for f16/bf16)
 *   $U      unsigned type of at least 32 bits matching $T's width (wrapping
 *           integer arithmetic without undefined behaviour or promotions)
 *   $f      libm suffix: "f" when $T is float, "" for double
 *   $N      bit width of the stored integer type
 *   $a $b   the op's attribute constants, printed as literals of $T
 *
 * Broadcasting is numpy's; the emitter drops size-1 dims and merges dims
 * that are contiguous for every operand, so a same-shape op is one flat loop
 * and a bias-style broadcast is a few nested loops with literal strides.
 *
 * Folding: the ops that appear in shape arithmetic have a host evaluator
 * (ew_host_*) that follows the emitted formulas: float math in double with the
 * result rounded to the compute type after each step (exact for + - * / sqrt
 * and the rounding ops), integer math wrapping in 64 bits.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"

#define EW_MAX_OPERANDS 64

/* ======================================================================== */
/* Operand classes and literals                                              */
/* ======================================================================== */

typedef enum ew_class { EWC_NONE = -1, EWC_FLOAT = 0, EWC_SIGNED, EWC_UNSIGNED, EWC_BOOL } ew_class;

static ew_class ew_class_of(hodu_dtype t)
{
    if (ir_dtype_is_float(t))
        return EWC_FLOAT;
    if (ir_dtype_is_signed(t))
        return EWC_SIGNED;
    if (ir_dtype_is_int(t))
        return EWC_UNSIGNED;
    if (t == HODU_DTYPE_BOOL)
        return EWC_BOOL;
    return EWC_NONE;
}

static bool ew_supported_dtype(int t)
{
    switch (t) {
    case HODU_DTYPE_F32: case HODU_DTYPE_U8: case HODU_DTYPE_I8: case HODU_DTYPE_U16: case HODU_DTYPE_I16:
    case HODU_DTYPE_I32: case HODU_DTYPE_I64: case HODU_DTYPE_BOOL: case HODU_DTYPE_F16: case HODU_DTYPE_F64:
    case HODU_DTYPE_U32: case HODU_DTYPE_U64: case HODU_DTYPE_BF16: return true;
    default: return false;
    }
}

/* Name of an ONNX element type, including ones Hodu does not compile. */
static const char *ew_onnx_type_name(int64_t t)
{
    switch (t) {
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    case 24: return "float8e8m0";
    case 25: return "uint2";
    case 26: return "int2";
    default: return ew_supported_dtype((int)t) ? ir_dtype_name((hodu_dtype)t) : "unknown";
    }
}

/* Unsigned C type used for wrapping arithmetic on an integer type. */
static const char *ew_utype(hodu_dtype t)
{
    return ir_dtype_size(t) == 8 ? "uint64_t" : "uint32_t";
}

/* A C literal of compute type `ct` ("float" or "double") for v. */
static char *ew_lit(double v, const char *ct)
{
    bool is_float = strcmp(ct, "float") == 0;
    if (isnan(v))
        return hd_xasprintf("((%s)NAN)", ct);
    if (isinf(v))
        return hd_xasprintf("(%s(%s)INFINITY)", v < 0 ? "-" : "", ct);
    char num[64];
    snprintf(num, sizeof num, is_float ? "%.9g" : "%.17g", is_float ? (double)(float)v : v);
    bool has_point = strpbrk(num, ".e") != NULL;
    return hd_xasprintf("((%s)%s%s%s)", ct, num, has_point ? "" : ".0", is_float ? "f" : "");
}

/* ======================================================================== */
/* The op rows                                                               */
/* ======================================================================== */

typedef enum ew_kind {
    EWK_UNARY,    /* one operand */
    EWK_BINARY,   /* two operands, multidirectional broadcast */
    EWK_VARIADIC, /* 1..n operands folded left with the binary template */
    EWK_PRELU,    /* slope broadcasts to X (unidirectional) */
    EWK_CLIP,     /* X plus optional scalar min/max inputs */
    EWK_WHERE,    /* cond, x, y */
    EWK_CAST      /* Cast / CastLike */
} ew_kind;

enum {
    EWF_BOOL_OUT = 1u, /* output is bool (comparisons, IsNaN, ...) */
    EWF_MIXED = 2u,    /* operand dtypes may differ (Pow) */
    EWF_RAW = 4u       /* operands move as stored bits (Where) */
};

/* Host evaluator op codes (0: no folding). */
typedef enum ew_hop {
    H_NONE = 0, H_ADD, H_SUB, H_MUL, H_DIV, H_MOD, H_NEG, H_ABS, H_SQRT, H_FLOOR, H_CEIL, H_RELU, H_RECIP,
    H_SIGN, H_EQ, H_LT, H_LE, H_GT, H_GE, H_NOT, H_AND, H_OR, H_XOR, H_MAX, H_MIN, H_WHERE, H_CAST
} ew_hop;

typedef struct ew_row {
    op_id op;
    ew_kind kind;
    unsigned flags;
    ew_hop hop;
    const char *tf, *ts, *tu, *tb; /* float / signed / unsigned / bool templates */
} ew_row;

/* Integer add/sub/mul wrap modulo 2^N like numpy, through unsigned types. */
#define T_IADD "($T)(($U)$0 + ($U)$1)"
#define T_ISUB "($T)(($U)$0 - ($U)$1)"
#define T_IMUL "($T)(($U)$0 * ($U)$1)"
/* Max/Min: NaN in either operand propagates (numpy maximum/minimum). */
#define T_FMAX "(($0 > $1 || $0 != $0) ? $0 : $1)"
#define T_FMIN "(($0 < $1 || $0 != $0) ? $0 : $1)"
#define T_SOFTPLUS "($0 > 0 ? $0 + log1p$f(exp$f(-$0)) : log1p$f(exp$f($0)))"

static const ew_row ew_rows[] = {
    /* --- unary math ---------------------------------------------------- */
    /* Abs: unsigned is the identity; INT_MIN stays INT_MIN (wraps). */
    {OP_ABS, EWK_UNARY, 0, H_ABS, "fabs$f($0)", "($0 < 0 ? ($T)(0 - ($U)$0) : $0)", "$0", NULL},
    {OP_NEG, EWK_UNARY, 0, H_NEG, "(-$0)", "($T)(0 - ($U)$0)", NULL, NULL},
    {OP_SQRT, EWK_UNARY, 0, H_SQRT, "sqrt$f($0)", NULL, NULL, NULL},
    {OP_EXP, EWK_UNARY, 0, H_NONE, "exp$f($0)", NULL, NULL, NULL},
    {OP_LOG, EWK_UNARY, 0, H_NONE, "log$f($0)", NULL, NULL, NULL},
    {OP_RECIPROCAL, EWK_UNARY, 0, H_RECIP, "(($T)1 / $0)", NULL, NULL, NULL},
    {OP_FLOOR, EWK_UNARY, 0, H_FLOOR, "floor$f($0)", NULL, NULL, NULL},
    {OP_CEIL, EWK_UNARY, 0, H_CEIL, "ceil$f($0)", NULL, NULL, NULL},
    /* Round: halves to even; rint uses the default round-to-nearest-even. */
    {OP_ROUND, EWK_UNARY, 0, H_NONE, "rint$f($0)", NULL, NULL, NULL},
    /* Sign: NaN stays NaN, zero stays zero. */
    {OP_SIGN, EWK_UNARY, 0, H_SIGN, "($0 > 0 ? ($T)1 : ($0 < 0 ? ($T)-1 : $0))", "($T)(($0 > 0) - ($0 < 0))",
     "($T)($0 > 0)", NULL},
    {OP_SIN, EWK_UNARY, 0, H_NONE, "sin$f($0)", NULL, NULL, NULL},
    {OP_COS, EWK_UNARY, 0, H_NONE, "cos$f($0)", NULL, NULL, NULL},
    {OP_TAN, EWK_UNARY, 0, H_NONE, "tan$f($0)", NULL, NULL, NULL},
    {OP_ASIN, EWK_UNARY, 0, H_NONE, "asin$f($0)", NULL, NULL, NULL},
    {OP_ACOS, EWK_UNARY, 0, H_NONE, "acos$f($0)", NULL, NULL, NULL},
    {OP_ATAN, EWK_UNARY, 0, H_NONE, "atan$f($0)", NULL, NULL, NULL},
    {OP_SINH, EWK_UNARY, 0, H_NONE, "sinh$f($0)", NULL, NULL, NULL},
    {OP_COSH, EWK_UNARY, 0, H_NONE, "cosh$f($0)", NULL, NULL, NULL},
    {OP_ASINH, EWK_UNARY, 0, H_NONE, "asinh$f($0)", NULL, NULL, NULL},
    {OP_ACOSH, EWK_UNARY, 0, H_NONE, "acosh$f($0)", NULL, NULL, NULL},
    {OP_ATANH, EWK_UNARY, 0, H_NONE, "atanh$f($0)", NULL, NULL, NULL},
    {OP_ERF, EWK_UNARY, 0, H_NONE, "erf$f($0)", NULL, NULL, NULL},
    {OP_NOT, EWK_UNARY, 0, H_NOT, NULL, NULL, NULL, "(!$0)"},
    {OP_IS_NAN, EWK_UNARY, EWF_BOOL_OUT, H_NONE, "($0 != $0)", NULL, NULL, NULL},
    /* IsInf: template chosen from detect_negative/detect_positive. */
    {OP_IS_INF, EWK_UNARY, EWF_BOOL_OUT, H_NONE, "", NULL, NULL, NULL},
    {OP_BITWISE_NOT, EWK_UNARY, 0, H_NONE, NULL, "($T)~$0", "($T)~$0", NULL},

    /* --- activations --------------------------------------------------- */
    /* Relu: NaN propagates (max(x, 0) in numpy); ints since opset 14. */
    {OP_RELU, EWK_UNARY, 0, H_RELU, "($0 < 0 ? ($T)0 : $0)", "($0 < 0 ? ($T)0 : $0)", "$0", NULL},
    {OP_SIGMOID, EWK_UNARY, 0, H_NONE, "(($T)1 / (($T)1 + exp$f(-$0)))", NULL, NULL, NULL},
    {OP_TANH, EWK_UNARY, 0, H_NONE, "tanh$f($0)", NULL, NULL, NULL},
    /* LeakyRelu(alpha=0.01) */
    {OP_LEAKY_RELU, EWK_UNARY, 0, H_NONE, "($0 < 0 ? $a * $0 : $0)", NULL, NULL, NULL},
    /* Elu(alpha=1): alpha*(exp(x)-1) for x < 0 */
    {OP_ELU, EWK_UNARY, 0, H_NONE, "($0 < 0 ? $a * (exp$f($0) - ($T)1) : $0)", NULL, NULL, NULL},
    /* Selu(alpha=1.6732..., gamma=1.0507...): $a alpha, $b gamma */
    {OP_SELU, EWK_UNARY, 0, H_NONE, "($0 > 0 ? $b * $0 : $b * ($a * exp$f($0) - $a))", NULL, NULL, NULL},
    /* Celu(alpha=1): max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
    {OP_CELU, EWK_UNARY, 0, H_NONE, "(($0 > 0 ? $0 : ($T)0) + ($0 < 0 ? $a * (exp$f($0 / $a) - ($T)1) : ($T)0))",
     NULL, NULL, NULL},
    /* HardSigmoid(alpha=0.2, beta=0.5): clip(alpha*x+beta, 0, 1) */
    {OP_HARD_SIGMOID, EWK_UNARY, 0, H_NONE,
     "(($a * $0 + $b) < 0 ? ($T)0 : (($a * $0 + $b) > 1 ? ($T)1 : ($a * $0 + $b)))", NULL, NULL, NULL},
    /* HardSwish: x * hardsigmoid(x) with alpha=1/6, beta=0.5 */
    {OP_HARD_SWISH, EWK_UNARY, 0, H_NONE,
     "($0 * (($0 * (($T)1 / ($T)6) + ($T)0.5) < 0 ? ($T)0 : "
     "(($0 * (($T)1 / ($T)6) + ($T)0.5) > 1 ? ($T)1 : ($0 * (($T)1 / ($T)6) + ($T)0.5))))",
     NULL, NULL, NULL},
    /* Swish(alpha=1), opset 24: x * sigmoid(alpha * x) */
    {OP_SWISH, EWK_UNARY, 0, H_NONE, "($0 / (($T)1 + exp$f(-($a * $0))))", NULL, NULL, NULL},
    /* Softplus: log(1+exp(x)), written so large |x| neither overflows nor cancels. */
    {OP_SOFTPLUS, EWK_UNARY, 0, H_NONE, T_SOFTPLUS, NULL, NULL, NULL},
    {OP_SOFTSIGN, EWK_UNARY, 0, H_NONE, "($0 / (($T)1 + fabs$f($0)))", NULL, NULL, NULL},
    /* Mish: x * tanh(softplus(x)) */
    {OP_MISH, EWK_UNARY, 0, H_NONE, "($0 * tanh$f(" T_SOFTPLUS "))", NULL, NULL, NULL},
    /* Gelu: template chosen from approximate ("none" or "tanh"). */
    {OP_GELU, EWK_UNARY, 0, H_NONE, "", NULL, NULL, NULL},
    /* ThresholdedRelu(alpha=1): x if x > alpha else 0 */
    {OP_THRESHOLDED_RELU, EWK_UNARY, 0, H_NONE, "($0 > $a ? $0 : ($T)0)", NULL, NULL, NULL},
    /* Shrink(bias=0, lambd=0.5): $a bias, $b lambd.  Integers compute in
     * double (the attributes are floats) and the result truncates back. */
    {OP_SHRINK, EWK_UNARY, 0, H_NONE, "($0 < -$b ? $0 + $a : ($0 > $b ? $0 - $a : ($T)0))",
     "((double)$0 < -$b ? (double)$0 + $a : ((double)$0 > $b ? (double)$0 - $a : 0.0))",
     "((double)$0 < -$b ? (double)$0 + $a : ((double)$0 > $b ? (double)$0 - $a : 0.0))", NULL},
    /* PRelu: slope broadcasts to X's shape (unidirectional); ints since 16. */
    {OP_PRELU, EWK_PRELU, 0, H_NONE, "($0 < 0 ? $1 * $0 : $0)", "($0 < 0 ? " T_IMUL " : $0)", "$0", NULL},
    /* Clip: min/max attributes before opset 11, optional scalar inputs from
     * 11 (ints from 12).  max(x, min) first, then min(., max), as numpy's
     * clip does when min > max; NaN propagates. */
    {OP_CLIP, EWK_CLIP, 0, H_NONE, "", "", "", NULL},

    /* --- binary ---------------------------------------------------------- */
    {OP_ADD, EWK_BINARY, 0, H_ADD, "($0 + $1)", T_IADD, T_IADD, NULL},
    {OP_SUB, EWK_BINARY, 0, H_SUB, "($0 - $1)", T_ISUB, T_ISUB, NULL},
    {OP_MUL, EWK_BINARY, 0, H_MUL, "($0 * $1)", T_IMUL, T_IMUL, NULL},
    /* Div: integers truncate toward zero; x/0 gives 0 and MIN/-1 wraps
     * instead of trapping. */
    {OP_DIV, EWK_BINARY, 0, H_DIV, "($0 / $1)",
     "($1 == 0 ? ($T)0 : ($1 == -1 ? ($T)(0 - ($U)$0) : ($T)($0 / $1)))", "($1 == 0 ? ($T)0 : ($T)($0 / $1))",
     NULL},
    /* Pow: base and exponent types may differ; the result has the base's
     * type.  Template chosen from the operand classes. */
    {OP_POW, EWK_BINARY, EWF_MIXED, H_NONE, "", "", "", NULL},
    /* Mod: fmod=0 takes the divisor's sign (Python %), fmod=1 the
     * dividend's (C fmod).  Floats with fmod=0 (invalid per the spec)
     * follow numpy's mod, as the reference does.  Integer x % 0 gives 0. */
    {OP_MOD, EWK_BINARY, 0, H_MOD, "", "", "", NULL},
    /* BitShift(direction): unsigned only; shifts past the width give 0. */
    {OP_BIT_SHIFT, EWK_BINARY, 0, H_NONE, NULL, NULL, "", NULL},
    {OP_BITWISE_AND, EWK_BINARY, 0, H_NONE, NULL, "($T)($0 & $1)", "($T)($0 & $1)", NULL},
    {OP_BITWISE_OR, EWK_BINARY, 0, H_NONE, NULL, "($T)($0 | $1)", "($T)($0 | $1)", NULL},
    {OP_BITWISE_XOR, EWK_BINARY, 0, H_NONE, NULL, "($T)($0 ^ $1)", "($T)($0 ^ $1)", NULL},
    {OP_AND, EWK_BINARY, 0, H_AND, NULL, NULL, NULL, "($0 && $1)"},
    {OP_OR, EWK_BINARY, 0, H_OR, NULL, NULL, NULL, "($0 || $1)"},
    {OP_XOR, EWK_BINARY, 0, H_XOR, NULL, NULL, NULL, "(($0 != 0) != ($1 != 0))"},
    {OP_EQUAL, EWK_BINARY, EWF_BOOL_OUT, H_EQ, "($0 == $1)", "($0 == $1)", "($0 == $1)", "(($0 != 0) == ($1 != 0))"},
    {OP_LESS, EWK_BINARY, EWF_BOOL_OUT, H_LT, "($0 < $1)", "($0 < $1)", "($0 < $1)", NULL},
    {OP_LESS_OR_EQUAL, EWK_BINARY, EWF_BOOL_OUT, H_LE, "($0 <= $1)", "($0 <= $1)", "($0 <= $1)", NULL},
    {OP_GREATER, EWK_BINARY, EWF_BOOL_OUT, H_GT, "($0 > $1)", "($0 > $1)", "($0 > $1)", NULL},
    {OP_GREATER_OR_EQUAL, EWK_BINARY, EWF_BOOL_OUT, H_GE, "($0 >= $1)", "($0 >= $1)", "($0 >= $1)", NULL},

    /* --- variadic (all broadcast together) ------------------------------ */
    {OP_MAX, EWK_VARIADIC, 0, H_MAX, T_FMAX, "($0 > $1 ? $0 : $1)", "($0 > $1 ? $0 : $1)", NULL},
    {OP_MIN, EWK_VARIADIC, 0, H_MIN, T_FMIN, "($0 < $1 ? $0 : $1)", "($0 < $1 ? $0 : $1)", NULL},
    {OP_SUM, EWK_VARIADIC, 0, H_ADD, "($0 + $1)", T_IADD, T_IADD, NULL},
    /* Mean: sum, then one division by the operand count. */
    {OP_MEAN, EWK_VARIADIC, 0, H_NONE, "($0 + $1)", NULL, NULL, NULL},

    /* --- selection and conversion ------------------------------------------ */
    /* Where(cond, x, y): three-way broadcast; x and y move as stored bits. */
    {OP_WHERE, EWK_WHERE, EWF_RAW, H_WHERE, "($0 ? $1 : $2)", "($0 ? $1 : $2)", "($0 ? $1 : $2)", "($0 ? $1 : $2)"},
    /* Cast(to) / CastLike: float -> int truncates, x -> bool is x != 0,
     * f16/bf16 round to nearest even through float.  Strings and float8 /
     * 4-bit types are not supported. */
    {OP_CAST, EWK_CAST, EWF_MIXED, H_CAST, "$0", "$0", "$0", "$0"},
    {OP_CAST_LIKE, EWK_CAST, EWF_MIXED, H_CAST, "$0", "$0", "$0", "$0"},
};

static const ew_row *ew_find(int op)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_rows); i++)
        if ((int)ew_rows[i].op == op)
            return &ew_rows[i];
    return NULL;
}

/* f32 forms of the transcendental activations over the kernel layer's
 * vector math (hd_vf_*: branch-free, <= 2 ulp), used when the operand is a
 * contiguous f32 array: $0 is an hd_vf, scalars broadcast.  The tail runs
 * the same code on a splatted vector so every element gets the same
 * formula. */
static const struct {
    op_id op;
    const char *tv;
} ew_vec_rows[] = {
    {OP_EXP, "hd_vf_exp($0)"},
    {OP_LOG, "hd_vf_log($0)"},
    {OP_TANH, "hd_vf_tanh($0)"},
    {OP_ERF, "hd_vf_erf($0)"},
    {OP_SIGMOID, "hd_vf_sigmoid($0)"},
    {OP_SWISH, "($0 * hd_vf_sigmoid($a * $0))"},
    {OP_SOFTPLUS, "hd_ew_vsoftplus($0)"},
    {OP_MISH, "($0 * hd_vf_tanh(hd_ew_vsoftplus($0)))"},
    {OP_ELU, "hd_vf_sel(hd_vf_lt($0, hd_vf_splat(0.0f)), $a * (hd_vf_exp($0) - 1.0f), $0)"},
};

static const char *ew_vec_template(const ir_node *n)
{
    if (n->op == OP_GELU) {
        const char *approx = ir_attr_string(n, "approximate", "none");
        if (strcmp(approx, "tanh") == 0)
            /* 0.5*x*(1+tanh(z)) == x*sigmoid(2z), without the cancellation
             * of 1+tanh(z) for negative x */
            return "($0 * hd_vf_sigmoid(1.59576912f * ($0 + 0.044715f * $0 * $0 * $0)))";
        return "(0.5f * $0 * (1.0f + hd_vf_erf($0 * 0.707106781f)))";
    }
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_vec_rows); i++)
        if ((int)ew_vec_rows[i].op == n->op)
            return ew_vec_rows[i].tv;
    return NULL;
}

/* ======================================================================== */
/* Operands, broadcasting                                                    */
/* ======================================================================== */

typedef struct ew_args {
    const ew_row *row;
    int n;                            /* present operands */
    int idx[EW_MAX_OPERANDS];         /* ONNX input index of each */
    const ir_value *v[EW_MAX_OPERANDS];
    int off[EW_MAX_OPERANDS];         /* output dim where the operand's dim 0 sits */
    int out_rank;
    hodu_dtype op_dtype;              /* dtype the template computes on */
    hodu_dtype out_dtype;
} ew_args;

/* Collects present operands.  Fails (through c when given) on bad input. */
static bool ew_gather(const ir_graph *g, int node, ew_args *a, op_ctx *c)
{
    const ir_node *n = ir_nd(g, node);
    memset(a, 0, sizeof(*a));
    a->row = ew_find(n->op);
    if (!a->row)
        return c ? op_fail(c, "internal error: no elementwise row") : false;
    for (size_t i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] < 0)
            continue;
        if (a->n >= EW_MAX_OPERANDS)
            return c ? op_fail(c, "more than %d inputs are not supported", EW_MAX_OPERANDS) : false;
        a->idx[a->n] = (int)i;
        a->v[a->n] = ir_val(g, n->inputs[i]);
        a->n++;
    }
    if (a->n == 0)
        return c ? op_fail(c, "needs at least one input") : false;
    return true;
}

/* Places operands in the output's dims: numpy right alignment, or the
 * legacy (opset < 7) broadcast=1/axis form where B's dims start at axis. */
static bool ew_place(const ir_graph *g, int node, ew_args *a, op_ctx *c)
{
    const ir_node *n = ir_nd(g, node);
    int r = 0;
    for (int k = 0; k < a->n; k++)
        if (a->v[k]->rank > r)
            r = a->v[k]->rank;
    a->out_rank = r;
    for (int k = 0; k < a->n; k++)
        a->off[k] = r - a->v[k]->rank;
    const ir_attr *axis = ir_attr_find(n, "axis");
    if (a->row->kind == EWK_BINARY && a->n == 2 && axis && ir_attr_int(n, "broadcast", 0) != 0) {
        int ra = a->v[0]->rank, rb = a->v[1]->rank;
        int64_t ax = axis->i < 0 ? axis->i + ra : axis->i;
        if (ax < 0 || ax + rb > ra)
            return c ? op_fail(c, "legacy broadcast axis %" PRId64 " does not fit ranks %d and %d", axis->i, ra, rb)
                     : false;
        a->out_rank = ra;
        a->off[0] = 0;
        a->off[1] = (int)ax;
    }
    return true;
}

/* Size of dim d of the output as seen by operand k (1 when absent). */
static int64_t ew_dim(const ew_args *a, int k, int d)
{
    int j = d - a->off[k];
    return (j >= 0 && j < a->v[k]->rank) ? a->v[k]->dims[j].size : 1;
}

/* Row-major strides of operand k over the output dims, 0 where broadcast. */
static void ew_strides(const ew_args *a, int k, int64_t *strides)
{
    int64_t s = 1;
    for (int d = a->out_rank - 1; d >= 0; d--) {
        int j = d - a->off[k];
        if (j < 0 || j >= a->v[k]->rank) {
            strides[d] = 0;
            continue;
        }
        int64_t sz = a->v[k]->dims[j].size;
        strides[d] = sz == 1 ? 0 : s;
        s *= sz;
    }
}

/* ======================================================================== */
/* Templates                                                                 */
/* ======================================================================== */

/* Returns the template for this node (caller frees), or NULL with a reason
 * in *why (caller frees). */
static char *ew_template(const ir_graph *g, int node, const ew_args *a, char **why)
{
    const ir_node *n = ir_nd(g, node);
    const ew_row *r = a->row;
    ew_class cls = ew_class_of(a->op_dtype);
    const char *t = NULL;
    switch (cls) {
    case EWC_FLOAT: t = r->tf; break;
    case EWC_SIGNED: t = r->ts; break;
    case EWC_UNSIGNED: t = r->tu; break;
    case EWC_BOOL: t = r->tb; break;
    default: break;
    }
    if (!t) {
        *why = hd_xasprintf("does not support element type %s", ir_dtype_name(a->op_dtype));
        return NULL;
    }
    switch (r->op) {
    case OP_IS_INF: {
        bool neg = ir_attr_int(n, "detect_negative", 1) != 0, pos = ir_attr_int(n, "detect_positive", 1) != 0;
        if (neg && pos)
            return hd_xstrdup("(fabs$f($0) == ($T)INFINITY)");
        if (pos)
            return hd_xstrdup("($0 == ($T)INFINITY)");
        if (neg)
            return hd_xstrdup("($0 == -($T)INFINITY)");
        return hd_xstrdup("0");
    }
    case OP_GELU: {
        const char *approx = ir_attr_string(n, "approximate", "none");
        if (strcmp(approx, "none") == 0)
            return hd_xstrdup("(($T)0.5 * $0 * (($T)1 + erf$f($0 * ($T)0.70710678118654752440)))");
        if (strcmp(approx, "tanh") == 0)
            return hd_xstrdup("(($T)0.5 * $0 * (($T)1 + tanh$f(($T)0.79788456080286535588 * "
                              "($0 + ($T)0.044715 * $0 * $0 * $0))))");
        *why = hd_xasprintf("attribute 'approximate' value '%s' is not supported (none, tanh)", approx);
        return NULL;
    }
    case OP_POW: {
        ew_class ec = ew_class_of(a->v[1]->dtype);
        if (ec == EWC_NONE || ec == EWC_BOOL) {
            *why = hd_xasprintf("exponent type %s is not supported", ir_dtype_name(a->v[1]->dtype));
            return NULL;
        }
        if (cls == EWC_FLOAT)
            return hd_xstrdup("pow$f($0, ($T)$1)");
        if (ec == EWC_FLOAT)
            return hd_xstrdup("($T)pow((double)$0, (double)$1)");
        return hd_xstrdup("($T)hd_ew_ipow((int64_t)$0, (int64_t)$1)");
    }
    case OP_MOD: {
        int64_t fm = ir_attr_int(n, "fmod", 0);
        if (fm != 0 && fm != 1) {
            *why = hd_xasprintf("attribute 'fmod' value %" PRId64 " is not supported (0 or 1)", fm);
            return NULL;
        }
        if (cls == EWC_FLOAT)
            return hd_xstrdup(fm ? "fmod$f($0, $1)" : "hd_ew_pymod$f($0, $1)");
        if (cls == EWC_UNSIGNED)
            return hd_xstrdup("($1 == 0 ? ($T)0 : ($T)($0 % $1))");
        return hd_xstrdup(fm ? "(($1 == 0 || $1 == -1) ? ($T)0 : ($T)($0 % $1))"
                             : "($T)hd_ew_pymod_i((int64_t)$0, (int64_t)$1)");
    }
    case OP_BIT_SHIFT: {
        const char *dir = ir_attr_string(n, "direction", "");
        if (strcmp(dir, "LEFT") == 0)
            return hd_xstrdup("($1 >= $N ? ($T)0 : ($T)(($U)$0 << $1))");
        if (strcmp(dir, "RIGHT") == 0)
            return hd_xstrdup("($1 >= $N ? ($T)0 : ($T)($0 >> $1))");
        *why = hd_xasprintf("attribute 'direction' value '%s' is not supported (LEFT, RIGHT)", dir);
        return NULL;
    }
    case OP_CLIP: {
        const char *lo = NULL, *hi = NULL;
        char *lo_lit = NULL, *hi_lit = NULL;
        for (int k = 1; k < a->n; k++) {
            if (a->idx[k] == 1)
                lo = "$1";
            if (a->idx[k] == 2)
                hi = "$2";
        }
        const char *ct = em_compute_ctype(a->op_dtype);
        const ir_attr *amin = ir_attr_find(n, "min"), *amax = ir_attr_find(n, "max");
        if (amin && !lo)
            lo = lo_lit = ew_lit(amin->f, cls == EWC_FLOAT ? ct : "double");
        if (amax && !hi)
            hi = hi_lit = ew_lit(amax->f, cls == EWC_FLOAT ? ct : "double");
        char *x = lo ? hd_xasprintf("($0 < %s ? %s : $0)", lo, lo) : hd_xstrdup("$0");
        char *res = hi ? hd_xasprintf("(%s > %s ? %s : %s)", x, hi, hi, x) : hd_xstrdup(x);
        free(x);
        free(lo_lit);
        free(hi_lit);
        return res;
    }
    default: return hd_xstrdup(t);
    }
}

typedef struct ew_subst {
    const char *ops[10]; /* operand expressions by ONNX input index */
    const char *T, *U, *f, *a, *b;
    int nbits;
} ew_subst;

static char *ew_expand(const char *tpl, const ew_subst *s)
{
    hd_buf b;
    hd_buf_init(&b);
    for (const char *p = tpl; *p; p++) {
        if (*p != '$' || !p[1]) {
            hd_buf_putc(&b, *p);
            continue;
        }
        char k = *++p;
        if (k >= '0' && k <= '9')
            hd_buf_puts(&b, s->ops[k - '0'] ? s->ops[k - '0'] : "0");
        else if (k == 'T')
            hd_buf_puts(&b, s->T);
        else if (k == 'U')
            hd_buf_puts(&b, s->U);
        else if (k == 'f')
            hd_buf_puts(&b, s->f);
        else if (k == 'a')
            hd_buf_puts(&b, s->a ? s->a : "0");
        else if (k == 'b')
            hd_buf_puts(&b, s->b ? s->b : "0");
        else if (k == 'N')
            hd_buf_printf(&b, "%d", s->nbits);
        else {
            hd_buf_putc(&b, '$');
            hd_buf_putc(&b, k);
        }
    }
    char *r = hd_buf_take(&b);
    return r ? r : hd_xstrdup("");
}

/* The attribute constants ($a, $b) of a row, as doubles. */
static int ew_attr_consts(const ir_node *n, const ew_row *r, double *va, double *vb)
{
    switch (r->op) {
    case OP_LEAKY_RELU: *va = ir_attr_float(n, "alpha", 0.01); return 1;
    case OP_ELU:
    case OP_CELU:
    case OP_THRESHOLDED_RELU:
    case OP_SWISH: *va = ir_attr_float(n, "alpha", 1.0); return 1;
    case OP_SELU:
        *va = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        *vb = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        return 2;
    case OP_HARD_SIGMOID:
        *va = ir_attr_float(n, "alpha", 0.2);
        *vb = ir_attr_float(n, "beta", 0.5);
        return 2;
    case OP_SHRINK:
        *va = ir_attr_float(n, "bias", 0.0);
        *vb = ir_attr_float(n, "lambd", 0.5);
        return 2;
    default: return 0;
    }
}

/* ======================================================================== */
/* Inference                                                                 */
/* ======================================================================== */

static bool ew_infer(op_ctx *c)
{
    ew_args a;
    if (!ew_gather(c->g, c->node, &a, c))
        return false;
    const ir_node *n = op_node(c);
    const ew_row *r = a.row;
    for (int k = 0; k < a.n; k++) {
        if (!op_need_static(c, (size_t)a.idx[k]))
            return false;
        if (!ew_supported_dtype(a.v[k]->dtype))
            return op_fail(c, "input '%s' has unsupported element type %s", a.v[k]->name,
                           ew_onnx_type_name(a.v[k]->dtype));
    }
    /* Operand count by kind. */
    switch (r->kind) {
    case EWK_UNARY:
    case EWK_CAST:
        if (a.idx[0] != 0)
            return op_fail(c, "input 0 is required");
        break;
    case EWK_BINARY:
    case EWK_PRELU:
        if (a.n != 2)
            return op_fail(c, "needs 2 inputs, has %d", a.n);
        break;
    case EWK_WHERE:
        if (a.n != 3)
            return op_fail(c, "needs 3 inputs, has %d", a.n);
        break;
    case EWK_CLIP:
        if (a.idx[0] != 0)
            return op_fail(c, "input 0 is required");
        break;
    case EWK_VARIADIC: break;
    }

    /* Operation dtype and operand dtype agreement. */
    if (r->kind == EWK_WHERE) {
        if (a.v[0]->dtype != HODU_DTYPE_BOOL)
            return op_fail(c, "condition '%s' must be bool, got %s", a.v[0]->name, ir_dtype_name(a.v[0]->dtype));
        if (a.v[1]->dtype != a.v[2]->dtype)
            return op_fail(c, "X and Y must have the same element type (%s vs %s)", ir_dtype_name(a.v[1]->dtype),
                           ir_dtype_name(a.v[2]->dtype));
        a.op_dtype = a.v[1]->dtype;
    } else {
        a.op_dtype = a.v[0]->dtype;
        if (!(r->flags & EWF_MIXED)) {
            for (int k = 1; k < a.n; k++)
                if (a.v[k]->dtype != a.op_dtype)
                    return op_fail(c, "inputs must have the same element type (%s vs %s)",
                                   ir_dtype_name(a.op_dtype), ir_dtype_name(a.v[k]->dtype));
        }
    }

    /* Output dtype. */
    if (r->kind == EWK_CAST) {
        if (r->op == OP_CAST_LIKE) {
            if (a.n != 2)
                return op_fail(c, "needs 2 inputs, has %d", a.n);
            a.out_dtype = a.v[1]->dtype;
        } else {
            const ir_attr *to = ir_attr_find(n, "to");
            if (!to)
                return op_fail(c, "attribute 'to' is required");
            if (!ew_supported_dtype((int)to->i))
                return op_fail(c, "attribute 'to' value %" PRId64 " (%s) is not supported", to->i,
                               ew_onnx_type_name(to->i));
            a.out_dtype = (hodu_dtype)to->i;
        }
    } else if (r->flags & EWF_BOOL_OUT) {
        a.out_dtype = HODU_DTYPE_BOOL;
    } else {
        a.out_dtype = a.op_dtype;
    }

    char *why = NULL;
    char *tpl = ew_template(c->g, c->node, &a, &why);
    if (!tpl) {
        bool ok = op_fail(c, "%s", why);
        free(why);
        return ok;
    }
    free(tpl);

    /* Shape. */
    if (r->kind == EWK_CAST) {
        int64_t dims[HODU_MAX_RANK];
        em_dims(a.v[0], dims);
        op_set_out(c, 0, a.out_dtype, a.v[0]->rank, dims);
        return true;
    }
    if (r->kind == EWK_CLIP) {
        for (int k = 1; k < a.n; k++)
            if (ir_value_numel(a.v[k]) != 1)
                return op_fail(c, "%s '%s' must be a scalar", a.idx[k] == 1 ? "min" : "max", a.v[k]->name);
        int64_t dims[HODU_MAX_RANK];
        em_dims(a.v[0], dims);
        op_set_out(c, 0, a.out_dtype, a.v[0]->rank, dims);
        return true;
    }
    if (!ew_place(c->g, c->node, &a, c))
        return false;
    int64_t dims[HODU_MAX_RANK];
    for (int d = 0; d < a.out_rank; d++) {
        int64_t sz = 1;
        for (int k = 0; k < a.n; k++) {
            int64_t dk = ew_dim(&a, k, d);
            if (dk == sz || dk == 1)
                continue;
            if (sz == 1) {
                sz = dk;
                continue;
            }
            return op_fail(c, "shapes of the inputs do not broadcast (dim %d: %" PRId64 " vs %" PRId64 ", input '%s')",
                           d, sz, dk, a.v[k]->name);
        }
        dims[d] = sz;
    }
    if (r->kind == EWK_PRELU) {
        /* Unidirectional: the result must keep X's shape. */
        const ir_value *x = a.v[0];
        bool same = a.out_rank == x->rank;
        for (int d = 0; same && d < x->rank; d++)
            same = dims[d] == x->dims[d].size;
        if (!same)
            return op_fail(c, "slope '%s' does not broadcast to the shape of X", a.v[1]->name);
    }
    op_set_out(c, 0, a.out_dtype, a.out_rank, dims);
    return true;
}

/* ======================================================================== */
/* Emission                                                                  */
/* ======================================================================== */

/* File-scope helpers some templates call; each is written once per file. */
static void ew_need_helper(op_emit *e, const char *name, const char *code)
{
    if (e->decls->data && strstr(e->decls->data, name))
        return;
    hd_buf_puts(e->decls, code);
}

static void ew_helpers_for(op_emit *e, const char *expr)
{
    if (strstr(expr, "hd_ew_ipow("))
        ew_need_helper(e, "hd_ew_ipow(",
                       "/* integer power with wrap-around; negative exponents give 0 unless |base| is 1 */\n"
                       "static inline int64_t hd_ew_ipow(int64_t b, int64_t e)\n{\n"
                       "    if (e < 0)\n        return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);\n"
                       "    uint64_t r = 1, x = (uint64_t)b;\n"
                       "    while (e) {\n        if (e & 1)\n            r *= x;\n        x *= x;\n"
                       "        e >>= 1;\n    }\n    return (int64_t)r;\n}\n");
    if (strstr(expr, "hd_ew_pymod_i("))
        ew_need_helper(e, "hd_ew_pymod_i(",
                       "/* integer modulo with the sign of the divisor; x % 0 gives 0 */\n"
                       "static inline int64_t hd_ew_pymod_i(int64_t a, int64_t b)\n{\n"
                       "    if (b == 0 || b == -1)\n        return 0;\n    int64_t r = a % b;\n"
                       "    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n");
    if (strstr(expr, "hd_ew_vsoftplus("))
        ew_need_helper(e, "hd_ew_vsoftplus(",
                       "/* softplus(x) = max(x, 0) + log1p(exp(-|x|)), with log1p(e) = log(u) * e / (u - 1),\n"
                       " * u = 1 + e, which is exact where u rounds to 1 */\n"
                       "static inline hd_vf hd_ew_vsoftplus(hd_vf x)\n{\n"
                       "    const hd_vf zero = hd_vf_splat(0.0f), one = hd_vf_splat(1.0f);\n"
                       "    hd_vf e = hd_vf_exp(-hd_vf_abs(x));\n"
                       "    hd_vf u = one + e;\n"
                       "    hd_vu tiny = hd_vf_eq(u, one);\n"
                       "    hd_vf d = hd_vf_sel(tiny, one, u - one);\n"
                       "    hd_vf l = hd_vf_sel(tiny, e, hd_vf_log(u) * (e / d));\n"
                       "    return hd_vf_sel(hd_vf_lt(x, zero), zero, x) + l;\n}\n");
    if (strstr(expr, "hd_ew_pymodf("))
        ew_need_helper(e, "hd_ew_pymodf(",
                       "static inline float hd_ew_pymodf(float a, float b)\n{\n"
                       "    float r = fmodf(a, b);\n"
                       "    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n");
    if (strstr(expr, "hd_ew_pymod("))
        ew_need_helper(e, "hd_ew_pymod(",
                       "static inline double hd_ew_pymod(double a, double b)\n{\n"
                       "    double r = fmod(a, b);\n"
                       "    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;\n}\n");
}

/* Loop nest over the output after dropping size-1 dims and merging dims
 * that are contiguous for every operand. */
typedef struct ew_loops {
    int rank;
    int64_t dims[HODU_MAX_RANK];
    int64_t st[EW_MAX_OPERANDS][HODU_MAX_RANK];
} ew_loops;

static void ew_plan_loops(const ew_args *a, const int64_t *out_dims, ew_loops *L)
{
    int64_t st[EW_MAX_OPERANDS][HODU_MAX_RANK];
    for (int k = 0; k < a->n; k++)
        ew_strides(a, k, st[k]);
    L->rank = 0;
    for (int d = 0; d < a->out_rank; d++) {
        if (out_dims[d] == 1)
            continue;
        if (L->rank > 0) {
            int p = L->rank - 1;
            bool merge = true;
            for (int k = 0; k < a->n && merge; k++)
                merge = L->st[k][p] == st[k][d] * out_dims[d];
            if (merge) {
                L->dims[p] *= out_dims[d];
                for (int k = 0; k < a->n; k++)
                    L->st[k][p] = st[k][d];
                continue;
            }
        }
        L->dims[L->rank] = out_dims[d];
        for (int k = 0; k < a->n; k++)
            L->st[k][L->rank] = st[k][d];
        L->rank++;
    }
}

/* Index expression into an operand with the given strides over the loops. */
static char *ew_index(const ew_loops *L, const int64_t *st)
{
    hd_buf b;
    hd_buf_init(&b);
    for (int j = 0; j < L->rank; j++) {
        if (st[j] == 0)
            continue;
        if (b.len)
            hd_buf_puts(&b, " + ");
        if (st[j] == 1)
            hd_buf_printf(&b, "i%d", j);
        else
            hd_buf_printf(&b, "i%d * %" PRId64, j, st[j]);
    }
    if (!b.len)
        hd_buf_puts(&b, "0");
    return hd_buf_take(&b);
}

/* Writes the loop nest for args `a` computing `tpl` into out0. */
static bool ew_emit_args(op_emit *e, ew_args *a, const char *tpl)
{
    const ir_node *n = em_node(e);
    const ew_row *r = a->row;
    const ir_value *out = em_out(e, 0);
    int64_t out_dims[HODU_MAX_RANK];
    em_dims(out, out_dims);
    int64_t numel = ir_value_numel(out);
    for (int k = 0; k < a->n; k++)
        em_line(e, "(void)in%d;", a->idx[k]);
    if (numel <= 0)
        return true;

    bool raw = (r->flags & EWF_RAW) != 0;
    const char *T = em_compute_ctype(a->op_dtype);
    ew_class cls = ew_class_of(a->op_dtype);
    double va = 0, vb = 0;
    int nattr = ew_attr_consts(n, r, &va, &vb);
    const char *lit_ct = cls == EWC_FLOAT ? T : "double";
    char *sa = nattr >= 1 ? ew_lit(va, lit_ct) : NULL;
    char *sb = nattr >= 2 ? ew_lit(vb, lit_ct) : NULL;
    char names[EW_MAX_OPERANDS][16];
    ew_subst s = {.T = T,
                  .U = ew_utype(a->op_dtype),
                  .f = strcmp(T, "float") == 0 ? "f" : "",
                  .a = sa,
                  .b = sb,
                  .nbits = (int)(8 * ir_dtype_size(a->op_dtype))};

    ew_loops L;
    ew_plan_loops(a, out_dims, &L);

    const char *tv = ew_vec_template(n);
    if (tv && r->kind == EWK_UNARY && a->op_dtype == HODU_DTYPE_F32 && a->out_dtype == HODU_DTYPE_F32 &&
        L.rank <= 1) {
        s.ops[0] = "x0";
        char *ve = ew_expand(tv, &s);
        ew_helpers_for(e, ve);
        em_line(e, "int64_t i = 0;");
        em_line(e, "for (; i + HD_VF <= %" PRId64 "; i += HD_VF) {", numel);
        e->indent++;
        em_line(e, "const hd_vf x0 = hd_vf_load(in0 + i);");
        em_line(e, "hd_vf_store(out0 + i, %s);", ve);
        em_close(e);
        em_line(e, "for (; i < %" PRId64 "; i++) {", numel);
        e->indent++;
        em_line(e, "const hd_vf x0 = hd_vf_splat(in0[i]);");
        em_line(e, "out0[i] = hd_vf_lane0(%s);", ve);
        em_close(e);
        free(ve);
        free(sa);
        free(sb);
        return true;
    }
    for (int j = 0; j < L.rank; j++) {
        char var[16];
        snprintf(var, sizeof var, "i%d", j);
        em_for(e, var, L.dims[j]);
    }
    /* Output index: the output is contiguous over the merged dims. */
    int64_t ost[HODU_MAX_RANK];
    int64_t sacc = 1;
    for (int j = L.rank - 1; j >= 0; j--) {
        ost[j] = sacc;
        sacc *= L.dims[j];
    }
    char *oidx = ew_index(&L, ost);

    for (int k = 0; k < a->n; k++) {
        hodu_dtype dt = a->v[k]->dtype;
        char *idx = ew_index(&L, L.st[k]);
        char *ref = hd_xasprintf("in%d[%s]", a->idx[k], idx);
        char *ld = raw ? hd_xstrdup(ref) : em_load(dt, ref);
        snprintf(names[k], sizeof names[k], "x%d", a->idx[k]);
        em_line(e, "const %s %s = %s;", raw ? em_ctype(dt) : em_compute_ctype(dt), names[k], ld);
        free(idx);
        free(ref);
        free(ld);
    }

    char *expr;
    if (r->kind == EWK_VARIADIC) {
        em_line(e, "%s acc = %s;", T, names[0]);
        for (int k = 1; k < a->n; k++) {
            s.ops[0] = "acc";
            s.ops[1] = names[k];
            char *step = ew_expand(tpl, &s);
            em_line(e, "acc = %s;", step);
            free(step);
        }
        if (r->op == OP_MEAN)
            expr = hd_xasprintf("acc / (%s)%d", T, a->n);
        else
            expr = hd_xstrdup("acc");
    } else {
        for (int k = 0; k < a->n; k++)
            if (a->idx[k] < 10)
                s.ops[a->idx[k]] = names[k];
        expr = ew_expand(tpl, &s);
    }
    ew_helpers_for(e, expr);
    if (raw) {
        em_line(e, "out0[%s] = %s;", oidx, expr);
    } else {
        char *st = em_store(a->out_dtype, expr);
        em_line(e, "out0[%s] = %s;", oidx, st);
        free(st);
    }
    free(expr);
    free(oidx);
    for (int j = 0; j < L.rank; j++)
        em_close(e);
    free(sa);
    free(sb);
    return true;
}

/* Rebuilds the args the infer step validated. */
static bool ew_emit_setup(op_emit *e, ew_args *a)
{
    if (!ew_gather(e->g, e->node, a, NULL))
        return false;
    a->op_dtype = a->row->kind == EWK_WHERE ? a->v[1]->dtype : a->v[0]->dtype;
    a->out_dtype = em_out(e, 0)->dtype;
    if (a->row->kind == EWK_CLIP || a->row->kind == EWK_CAST) {
        if (a->row->kind == EWK_CAST)
            a->n = 1; /* CastLike's second input only gives the type */
        a->out_rank = a->v[0]->rank;
        for (int k = 0; k < a->n; k++)
            a->off[k] = a->out_rank - a->v[k]->rank;
        return true;
    }
    return ew_place(e->g, e->node, a, NULL);
}

static bool ew_emit(op_emit *e)
{
    ew_args a;
    if (!ew_emit_setup(e, &a)) {
        ir_node_error(e->d, e->g, e->node, "internal error: inconsistent elementwise node");
        return false;
    }
    if (a.row->kind == EWK_CAST && a.op_dtype == a.out_dtype) {
        size_t nbytes = ir_value_nbytes(em_out(e, 0));
        if (nbytes)
            em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
        return true;
    }
    char *why = NULL;
    char *tpl = ew_template(e->g, e->node, &a, &why);
    if (!tpl) {
        ir_node_error(e->d, e->g, e->node, "%s", why);
        free(why);
        return false;
    }
    bool ok = ew_emit_args(e, &a, tpl);
    free(tpl);
    return ok;
}


/* ======================================================================== */
/* Fusion                                                                    */
/* ======================================================================== */

/* A node joins a fused loop when it is a plain unary/binary/clip row on f32
 * or f64 whose operands and result share that dtype (so keeping values in
 * registers changes no rounding) and it has no vector-math fast path (a fused
 * scalar loop would be slower than hd_vf_* over the whole array). */
static bool ew_fusable(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ew_row *r = ew_find(n->op);
    if (!r || (r->kind != EWK_UNARY && r->kind != EWK_BINARY && r->kind != EWK_CLIP) || (r->flags & EWF_RAW))
        return false;
    if (ew_vec_template(n) || ir_attr_find(n, "broadcast") || n->n_outputs != 1 || n->outputs[0] < 0)
        return false;
    hodu_dtype t = ir_val(g, n->outputs[0])->dtype;
    if (t != HODU_DTYPE_F32 && t != HODU_DTYPE_F64)
        return false;
    for (size_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] >= 0 && ir_val(g, n->inputs[i])->dtype != t)
            return false;
    return true;
}

/* hodu.FusedElementwise: inputs are the chain's external operands, the one
 * output is the last member's; attribute `nodes` lists the member nodes (kept
 * in the graph, dead) in evaluation order.  Every member's result has the
 * output's shape; external operands broadcast into it. */
static const op_attr_spec fused_attrs[] = {{"nodes", IR_ATTR_INTS}, {NULL, 0}};

static bool ew_fused_infer(op_ctx *c)
{
    /* The fusion pass builds this node after inference; nothing to do. */
    return op_out(c, 0) && ir_value_is_static(op_out(c, 0)) ? true : op_fail(c, "internal error: no shape");
}

static bool ew_fused_emit(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *out = em_out(e, 0);
    size_t n_members = 0;
    const int64_t *members = ir_attr_ints(n, "nodes", &n_members);
    int64_t numel = ir_value_numel(out);
    for (size_t k = 0; k < n->n_inputs; k++)
        em_line(e, "(void)in%zu;", k);
    if (numel <= 0 || n_members == 0)
        return true;

    /* Loop plan over the externals, as for a single node. */
    ew_args x;
    memset(&x, 0, sizeof(x));
    x.n = (int)n->n_inputs;
    x.out_rank = out->rank;
    for (int k = 0; k < x.n; k++) {
        x.idx[k] = k;
        x.v[k] = ir_val(e->g, n->inputs[k]);
        x.off[k] = out->rank - x.v[k]->rank;
    }
    int64_t out_dims[HODU_MAX_RANK], ost[HODU_MAX_RANK], acc = 1;
    em_dims(out, out_dims);
    ew_loops L;
    ew_plan_loops(&x, out_dims, &L);
    for (int j = L.rank - 1; j >= 0; j--) {
        ost[j] = acc;
        acc *= L.dims[j];
    }
    for (int j = 0; j < L.rank; j++) {
        char var[16];
        snprintf(var, sizeof var, "i%d", j);
        em_for(e, var, L.dims[j]);
    }
    for (int k = 0; k < x.n; k++) {
        char *idx = ew_index(&L, L.st[k]);
        em_line(e, "const %s x%d = in%d[%s];", em_ctype(x.v[k]->dtype), k, k, idx);
        free(idx);
    }
    bool ok = true;
    int last = -1;
    for (size_t m = 0; m < n_members && ok; m++) {
        int mid = (int)members[m];
        const ir_node *mn = ir_nd(e->g, mid);
        op_emit me = *e;
        me.node = mid;
        ew_args a;
        char *why = NULL, *tpl = NULL;
        ok = ew_emit_setup(&me, &a) && (tpl = ew_template(e->g, mid, &a, &why)) != NULL;
        if (!ok) {
            ir_node_error(e->d, e->g, mid, "%s", why ? why : "internal error: cannot fuse");
            free(why);
            break;
        }
        const char *T = em_compute_ctype(a.op_dtype);
        double va = 0, vb = 0;
        int nattr = ew_attr_consts(mn, a.row, &va, &vb);
        char *sa = nattr >= 1 ? ew_lit(va, T) : NULL, *sb = nattr >= 2 ? ew_lit(vb, T) : NULL;
        ew_subst s = {.T = T, .U = ew_utype(a.op_dtype), .f = strcmp(T, "float") == 0 ? "f" : "", .a = sa,
                      .b = sb, .nbits = (int)(8 * ir_dtype_size(a.op_dtype))};
        char names[10][24];
        for (int k = 0; k < a.n && a.idx[k] < 10; k++) {
            int v = mn->inputs[a.idx[k]];
            int prod = ir_val(e->g, v)->producer;
            bool member = false;
            for (size_t q = 0; q < m; q++)
                member = member || (int)members[q] == prod;
            if (member) {
                snprintf(names[a.idx[k]], sizeof names[0], "t%d", prod);
            } else {
                int ext = 0;
                while (ext < x.n && n->inputs[ext] != v)
                    ext++;
                snprintf(names[a.idx[k]], sizeof names[0], "x%d", ext);
            }
            s.ops[a.idx[k]] = names[a.idx[k]];
        }
        char *expr = ew_expand(tpl, &s);
        ew_helpers_for(e, expr);
        em_line(e, "const %s t%d = %s;", T, mid, expr);
        last = mid;
        free(expr);
        free(tpl);
        free(sa);
        free(sb);
    }
    if (ok) {
        char *oidx = ew_index(&L, ost);
        em_line(e, "out0[%s] = t%d;", oidx, last);
        free(oidx);
    }
    for (int j = 0; j < L.rank; j++)
        em_close(e);
    return ok;
}

/* ======================================================================== */
/* Host evaluation (folding)                                                 */
/* ======================================================================== */

/* IEEE half and bfloat16 conversions, round to nearest even (the kernel
 * layer's hd_f32_to_f16 / hd_f32_to_bf16 do the same). */
static float ew_h_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            float f = (float)man * (1.0f / 16777216.0f); /* man * 2^-24 */
            return sign ? -f : f;
        }
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t ew_h_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* rounds to >= 65520: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below the smallest normal half */
        float a;
        memcpy(&a, &ax, 4);
        /* a * 2^24 rounded to nearest even is the subnormal mantissa */
        float m = a * 16777216.0f;
        uint32_t mi = (uint32_t)m;
        float frac = m - (float)mi;
        if (frac > 0.5f || (frac == 0.5f && (mi & 1u)))
            mi++;
        return (uint16_t)(sign | mi);
    }
    uint32_t r = ax - 0x38000000u; /* rebias exponent 127 -> 15 */
    uint32_t lsb = (r >> 13) & 1u;
    r += 0xfffu + lsb;
    return (uint16_t)(sign | (r >> 13));
}

static float ew_h_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t ew_h_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* A host value in its class: double for floats, int64 for signed and bool,
 * uint64 for unsigned. */
typedef struct ew_hv {
    double f;
    int64_t i;
    uint64_t u;
} ew_hv;

static ew_hv ew_h_load(hodu_dtype t, const void *base, int64_t idx)
{
    ew_hv v = {0, 0, 0};
    const unsigned char *p = (const unsigned char *)base + (size_t)idx * ir_dtype_size(t);
    switch (t) {
    case HODU_DTYPE_F32: { float x; memcpy(&x, p, 4); v.f = x; break; }
    case HODU_DTYPE_F64: memcpy(&v.f, p, 8); break;
    case HODU_DTYPE_F16: { uint16_t x; memcpy(&x, p, 2); v.f = ew_h_f16_to_f32(x); break; }
    case HODU_DTYPE_BF16: { uint16_t x; memcpy(&x, p, 2); v.f = ew_h_bf16_to_f32(x); break; }
    case HODU_DTYPE_I8: { int8_t x; memcpy(&x, p, 1); v.i = x; break; }
    case HODU_DTYPE_I16: { int16_t x; memcpy(&x, p, 2); v.i = x; break; }
    case HODU_DTYPE_I32: { int32_t x; memcpy(&x, p, 4); v.i = x; break; }
    case HODU_DTYPE_I64: memcpy(&v.i, p, 8); break;
    case HODU_DTYPE_BOOL: v.i = p[0] != 0; break;
    case HODU_DTYPE_U8: v.u = p[0]; break;
    case HODU_DTYPE_U16: { uint16_t x; memcpy(&x, p, 2); v.u = x; break; }
    case HODU_DTYPE_U32: { uint32_t x; memcpy(&x, p, 4); v.u = x; break; }
    case HODU_DTYPE_U64: memcpy(&v.u, p, 8); break;
    default: break;
    }
    return v;
}

/* Stores value v of class cls into element idx of dtype t, converting the
 * way the emitted (T)(expr) / hd_f32_to_f16(expr) / (x != 0) does. */
static void ew_h_store(hodu_dtype t, void *base, int64_t idx, ew_hv v, ew_class cls)
{
    unsigned char *p = (unsigned char *)base + (size_t)idx * ir_dtype_size(t);
#define EW_CONV(CT) (cls == EWC_FLOAT ? (CT)v.f : (cls == EWC_UNSIGNED ? (CT)v.u : (CT)v.i))
    switch (t) {
    case HODU_DTYPE_F32: { float x = EW_CONV(float); memcpy(p, &x, 4); break; }
    case HODU_DTYPE_F64: { double x = EW_CONV(double); memcpy(p, &x, 8); break; }
    case HODU_DTYPE_F16: { uint16_t x = ew_h_f32_to_f16(EW_CONV(float)); memcpy(p, &x, 2); break; }
    case HODU_DTYPE_BF16: { uint16_t x = ew_h_f32_to_bf16(EW_CONV(float)); memcpy(p, &x, 2); break; }
    case HODU_DTYPE_I8: { int8_t x = EW_CONV(int8_t); memcpy(p, &x, 1); break; }
    case HODU_DTYPE_I16: { int16_t x = EW_CONV(int16_t); memcpy(p, &x, 2); break; }
    case HODU_DTYPE_I32: { int32_t x = EW_CONV(int32_t); memcpy(p, &x, 4); break; }
    case HODU_DTYPE_I64: { int64_t x = EW_CONV(int64_t); memcpy(p, &x, 8); break; }
    case HODU_DTYPE_U8: { uint8_t x = EW_CONV(uint8_t); memcpy(p, &x, 1); break; }
    case HODU_DTYPE_U16: { uint16_t x = EW_CONV(uint16_t); memcpy(p, &x, 2); break; }
    case HODU_DTYPE_U32: { uint32_t x = EW_CONV(uint32_t); memcpy(p, &x, 4); break; }
    case HODU_DTYPE_U64: { uint64_t x = EW_CONV(uint64_t); memcpy(p, &x, 8); break; }
    case HODU_DTYPE_BOOL:
        p[0] = (uint8_t)(cls == EWC_FLOAT ? v.f != 0 : (cls == EWC_UNSIGNED ? v.u != 0 : v.i != 0));
        break;
    default: break;
    }
#undef EW_CONV
}

static int64_t ew_h_pymod_i(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

static double ew_h_pymod(double a, double b)
{
    double r = fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* One step of a host op: x[0] (and x[1]) of class cls; result class in *rc.
 * `f32` rounds float results to float, as a float-typed emitted expression
 * does. */
static ew_hv ew_h_op(ew_hop op, ew_class cls, bool f32, bool fmod_c, const ew_hv *x, ew_class *rc)
{
    ew_hv r = {0, 0, 0};
    *rc = cls;
    double a = x[0].f, b = x[1].f;
    int64_t ia = x[0].i, ib = x[1].i;
    uint64_t ua = x[0].u, ub = x[1].u;
    bool cmp = false;
    switch (op) {
    case H_ADD: r.f = a + b; r.i = (int64_t)((uint64_t)ia + (uint64_t)ib); r.u = ua + ub; break;
    case H_SUB: r.f = a - b; r.i = (int64_t)((uint64_t)ia - (uint64_t)ib); r.u = ua - ub; break;
    case H_MUL: r.f = a * b; r.i = (int64_t)((uint64_t)ia * (uint64_t)ib); r.u = ua * ub; break;
    case H_DIV:
        r.f = a / b;
        r.i = ib == 0 ? 0 : (ib == -1 ? (int64_t)(0 - (uint64_t)ia) : ia / ib);
        r.u = ub == 0 ? 0 : ua / ub;
        break;
    case H_MOD:
        if (fmod_c) {
            r.f = f32 ? (double)fmodf((float)a, (float)b) : fmod(a, b);
            r.i = (ib == 0 || ib == -1) ? 0 : ia % ib;
        } else {
            r.f = ew_h_pymod(a, b);
            r.i = ew_h_pymod_i(ia, ib);
        }
        r.u = ub == 0 ? 0 : ua % ub;
        break;
    case H_NEG: r.f = -a; r.i = (int64_t)(0 - (uint64_t)ia); break;
    case H_ABS: r.f = fabs(a); r.i = ia < 0 ? (int64_t)(0 - (uint64_t)ia) : ia; r.u = ua; break;
    case H_SQRT: r.f = sqrt(a); break;
    case H_FLOOR: r.f = floor(a); break;
    case H_CEIL: r.f = ceil(a); break;
    case H_RELU: r.f = a < 0 ? 0 : a; r.i = ia < 0 ? 0 : ia; r.u = ua; break;
    case H_RECIP: r.f = 1.0 / a; break;
    case H_SIGN: r.f = a > 0 ? 1 : (a < 0 ? -1 : a); r.i = (ia > 0) - (ia < 0); r.u = ua > 0; break;
    case H_MAX:
        r.f = (a > b || a != a) ? a : b; r.i = ia > ib ? ia : ib; r.u = ua > ub ? ua : ub;
        break;
    case H_MIN:
        r.f = (a < b || a != a) ? a : b; r.i = ia < ib ? ia : ib; r.u = ua < ub ? ua : ub;
        break;
    case H_NOT: r.i = !ia; break;
    case H_AND: r.i = ia && ib; break;
    case H_OR: r.i = ia || ib; break;
    case H_XOR: r.i = (ia != 0) != (ib != 0); break;
    case H_EQ: cmp = true; r.i = cls == EWC_FLOAT ? a == b : (cls == EWC_UNSIGNED ? ua == ub : ia == ib); break;
    case H_LT: cmp = true; r.i = cls == EWC_FLOAT ? a < b : (cls == EWC_UNSIGNED ? ua < ub : ia < ib); break;
    case H_LE: cmp = true; r.i = cls == EWC_FLOAT ? a <= b : (cls == EWC_UNSIGNED ? ua <= ub : ia <= ib); break;
    case H_GT: cmp = true; r.i = cls == EWC_FLOAT ? a > b : (cls == EWC_UNSIGNED ? ua > ub : ia > ib); break;
    case H_GE: cmp = true; r.i = cls == EWC_FLOAT ? a >= b : (cls == EWC_UNSIGNED ? ua >= ub : ia >= ib); break;
    default: r = x[0]; break;
    }
    if (cmp) {
        *rc = EWC_BOOL;
        r.f = 0;
        r.u = 0;
    } else if (cls == EWC_FLOAT && f32) {
        r.f = (double)(float)r.f;
    }
    return r;
}

static bool ew_fold(op_ctx *c)
{
    ew_args a;
    if (!ew_gather(c->g, c->node, &a, c))
        return false;
    const ew_row *r = a.row;
    if (r->hop == H_NONE)
        return true;
    const ir_node *n = op_node(c);
    const ir_value *out = op_out(c, 0);
    a.op_dtype = r->kind == EWK_WHERE ? a.v[1]->dtype : a.v[0]->dtype;
    a.out_dtype = out->dtype;
    if (r->kind == EWK_CAST) {
        a.n = 1;
        a.out_rank = a.v[0]->rank;
        a.off[0] = 0;
    } else if (!ew_place(c->g, c->node, &a, c)) {
        return false;
    }
    for (int k = 0; k < a.n; k++)
        if (!a.v[k]->data && ir_value_nbytes(a.v[k]) > 0)
            return true; /* nothing to read: leave it to run time */
    int64_t numel = ir_value_numel(out);
    void *dst = op_fold_alloc(c, 0);
    if (numel <= 0)
        return true;
    int64_t st[EW_MAX_OPERANDS][HODU_MAX_RANK];
    for (int k = 0; k < a.n; k++)
        ew_strides(&a, k, st[k]);
    int64_t dims[HODU_MAX_RANK];
    em_dims(out, dims);
    ew_class cls = ew_class_of(a.op_dtype);
    bool f32 = em_compute_ctype(a.op_dtype)[0] == 'f'; /* "float" */
    bool fmod_c = ir_attr_int(n, "fmod", 0) != 0;
    size_t esz = ir_dtype_size(out->dtype);
    for (int64_t o = 0; o < numel; o++) {
        int64_t rem = o, off[EW_MAX_OPERANDS] = {0};
        for (int d = a.out_rank - 1; d >= 0; d--) {
            int64_t i = rem % dims[d];
            rem /= dims[d];
            for (int k = 0; k < a.n; k++)
                off[k] += i * st[k][d];
        }
        if (r->hop == H_WHERE) {
            ew_hv cv = ew_h_load(HODU_DTYPE_BOOL, a.v[0]->data, off[0]);
            int k = cv.i ? 1 : 2;
            memcpy((unsigned char *)dst + (size_t)o * esz,
                   (const unsigned char *)a.v[k]->data + (size_t)off[k] * esz, esz);
            continue;
        }
        ew_hv x[2];
        x[0] = ew_h_load(a.v[0]->dtype, a.v[0]->data, off[0]);
        x[1] = x[0];
        ew_class rc = cls;
        if (r->hop == H_CAST) {
            ew_h_store(out->dtype, dst, o, x[0], ew_class_of(a.v[0]->dtype));
            continue;
        }
        if (r->kind == EWK_UNARY) {
            x[0] = ew_h_op(r->hop, cls, f32, fmod_c, x, &rc);
        } else {
            for (int k = 1; k < a.n; k++) {
                x[1] = ew_h_load(a.v[k]->dtype, a.v[k]->data, off[k]);
                x[0] = ew_h_op(r->hop, cls, f32, fmod_c, x, &rc);
            }
        }
        ew_h_store(out->dtype, dst, o, x[0], rc);
    }
    return true;
}

/* ======================================================================== */
/* Dropout                                                                   */
/* ======================================================================== */
/* Inference form: output = input, optional mask all true.  Training mode
 * (the optional third input, opset 12+) is accepted when it is false or the
 * ratio is 0; real random dropout is not supported. */

static bool dropout_infer(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    const ir_node *n = op_node(c);
    bool training = false;
    const ir_value *tv = op_in(c, 2), *rv = op_in(c, 1);
    if (tv) {
        /* When both training_mode and ratio come from graph inputs, name
         * both at once so one rebuild with bound values suffices. */
        if (tv->kind == IR_VALUE_INPUT && rv && rv->kind == IR_VALUE_INPUT)
            op_fail(c, "needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)", rv->name,
                    rv->name);
        int64_t t = 0;
        if (op_need_const_i64(c, 2, &t, 1, "training_mode") < 0)
            return false;
        training = t != 0;
    }
    if (c->g->opset < 7 && ir_attr_int(n, "is_test", 0) == 0 && ir_attr_find(n, "is_test"))
        training = true;
    if (training) {
        double ratio = ir_attr_float(n, "ratio", 0.5);
        if (rv) {
            if (rv->kind == IR_VALUE_INPUT)
                return op_fail(c, "needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)",
                               rv->name, rv->name);
            if (rv->kind != IR_VALUE_CONST || ir_const_as_f64(c->g, op_in_id(c, 1), &ratio, 1) != 1)
                return op_fail(c, "ratio ('%s') must be a build-time constant scalar in training mode", rv->name);
        }
        if (ratio != 0)
            return op_fail(c, "training mode with ratio %g is not supported (random dropout)", ratio);
    }
    int64_t dims[HODU_MAX_RANK];
    em_dims(x, dims);
    op_set_out(c, 0, x->dtype, x->rank, dims);
    op_set_out(c, 1, HODU_DTYPE_BOOL, x->rank, dims);
    return true;
}

static bool dropout_fold(op_ctx *c)
{
    const ir_value *x = op_in(c, 0);
    if (!x->data && x->nbytes)
        return true;
    void *d0 = op_fold_alloc(c, 0);
    if (x->nbytes)
        memcpy(d0, x->data, x->nbytes);
    if (op_out(c, 1)) {
        void *d1 = op_fold_alloc(c, 1);
        int64_t numel = ir_value_numel(x);
        if (numel > 0)
            memset(d1, 1, (size_t)numel);
    }
    return true;
}

static bool dropout_emit(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    size_t nbytes = ir_value_nbytes(out);
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    const ir_value *mask = em_out(e, 1);
    if (mask) {
        size_t mb = ir_value_nbytes(mask);
        if (mb)
            em_line(e, "memset(out1, 1, %zu);", mb);
    }
    return true;
}

/* ======================================================================== */
/* The table                                                                 */
/* ======================================================================== */

static const op_attr_spec no_attrs[] = {{"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec legacy_bcast_attrs[] = {
    {"axis", IR_ATTR_INT}, {"broadcast", IR_ATTR_INT}, {"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec alpha_attrs[] = {{"alpha", IR_ATTR_FLOAT}, {"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec alpha_beta_attrs[] = {
    {"alpha", IR_ATTR_FLOAT}, {"beta", IR_ATTR_FLOAT}, {"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec selu_attrs[] = {
    {"alpha", IR_ATTR_FLOAT}, {"gamma", IR_ATTR_FLOAT}, {"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec shrink_attrs[] = {{"bias", IR_ATTR_FLOAT}, {"lambd", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec gelu_attrs[] = {{"approximate", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec isinf_attrs[] = {
    {"detect_negative", IR_ATTR_INT}, {"detect_positive", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec clip_attrs[] = {
    {"min", IR_ATTR_FLOAT}, {"max", IR_ATTR_FLOAT}, {"consumed_inputs", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec mod_attrs[] = {{"fmod", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec bitshift_attrs[] = {{"direction", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec cast_attrs[] = {
    {"to", IR_ATTR_INT}, {"saturate", IR_ATTR_INT}, {"round_mode", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec castlike_attrs[] = {{"saturate", IR_ATTR_INT}, {"round_mode", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec dropout_attrs[] = {
    {"ratio", IR_ATTR_FLOAT}, {"seed", IR_ATTR_INT}, {"is_test", IR_ATTR_INT}, {"consumed_inputs", IR_ATTR_INTS},
    {NULL, 0}};

/* The arity is in op_list.def; these give the shared semantics. */
#define EW(ID, ATTRS, FOLD) \
    OP_DEF(ID, .attrs = ATTRS, .infer = ew_infer, .fold = FOLD, .emit = ew_emit, .fusable = ew_fusable)
#define EW_VAR(ID, FOLD) OP_DEF(ID, .attrs = no_attrs, .infer = ew_infer, .fold = FOLD, .emit = ew_emit)

OP_DEF(FUSED_ELEMENTWISE, .attrs = fused_attrs, .infer = ew_fused_infer, .emit = ew_fused_emit);
/* unary math */
EW(ABS, no_attrs, ew_fold);
EW(NEG, no_attrs, ew_fold);
EW(SQRT, no_attrs, ew_fold);
EW(EXP, no_attrs, NULL);
EW(LOG, no_attrs, NULL);
EW(RECIPROCAL, no_attrs, ew_fold);
EW(FLOOR, no_attrs, ew_fold);
EW(CEIL, no_attrs, ew_fold);
EW(ROUND, NULL, NULL);
EW(SIGN, NULL, ew_fold);
EW(SIN, NULL, NULL);
EW(COS, NULL, NULL);
EW(TAN, NULL, NULL);
EW(ASIN, NULL, NULL);
EW(ACOS, NULL, NULL);
EW(ATAN, NULL, NULL);
EW(SINH, NULL, NULL);
EW(COSH, NULL, NULL);
EW(ASINH, NULL, NULL);
EW(ACOSH, NULL, NULL);
EW(ATANH, NULL, NULL);
EW(ERF, NULL, NULL);
EW(NOT, NULL, ew_fold);
EW(IS_NAN, NULL, NULL);
EW(IS_INF, isinf_attrs, NULL);
EW(BITWISE_NOT, NULL, NULL);
/* activations */
EW(RELU, no_attrs, ew_fold);
EW(SIGMOID, no_attrs, NULL);
EW(TANH, no_attrs, NULL);
EW(LEAKY_RELU, alpha_attrs, NULL);
EW(ELU, alpha_attrs, NULL);
EW(SELU, selu_attrs, NULL);
EW(CELU, alpha_attrs, NULL);
EW(HARD_SIGMOID, alpha_beta_attrs, NULL);
EW(HARD_SWISH, NULL, NULL);
EW(SWISH, alpha_attrs, NULL);
EW(SOFTPLUS, NULL, NULL);
EW(SOFTSIGN, NULL, NULL);
EW(MISH, NULL, NULL);
EW(GELU, gelu_attrs, NULL);
EW(THRESHOLDED_RELU, alpha_attrs, NULL);
EW(SHRINK, shrink_attrs, NULL);
EW(PRELU, no_attrs, NULL);
OP_DEF(CLIP, .attrs = clip_attrs, .infer = ew_infer, .emit = ew_emit, .fusable = ew_fusable);
/* binary */
EW(ADD, legacy_bcast_attrs, ew_fold);
EW(SUB, legacy_bcast_attrs, ew_fold);
EW(MUL, legacy_bcast_attrs, ew_fold);
EW(DIV, legacy_bcast_attrs, ew_fold);
EW(POW, legacy_bcast_attrs, NULL);
EW(MOD, mod_attrs, ew_fold);
EW(BIT_SHIFT, bitshift_attrs, NULL);
EW(BITWISE_AND, NULL, NULL);
EW(BITWISE_OR, NULL, NULL);
EW(BITWISE_XOR, NULL, NULL);
EW(AND, legacy_bcast_attrs, ew_fold);
EW(OR, legacy_bcast_attrs, ew_fold);
EW(XOR, legacy_bcast_attrs, ew_fold);
EW(EQUAL, legacy_bcast_attrs, ew_fold);
EW(LESS, legacy_bcast_attrs, ew_fold);
EW(LESS_OR_EQUAL, NULL, ew_fold);
EW(GREATER, legacy_bcast_attrs, ew_fold);
EW(GREATER_OR_EQUAL, NULL, ew_fold);
/* variadic */
EW_VAR(MAX, ew_fold);
EW_VAR(MIN, ew_fold);
EW_VAR(SUM, ew_fold);
EW_VAR(MEAN, NULL);
/* selection, conversion */
OP_DEF(WHERE, .infer = ew_infer, .fold = ew_fold, .emit = ew_emit);
OP_DEF(CAST, .attrs = cast_attrs, .infer = ew_infer, .fold = ew_fold, .emit = ew_emit);
OP_DEF(CAST_LIKE, .attrs = castlike_attrs, .infer = ew_infer, .fold = ew_fold, .emit = ew_emit);
OP_DEF(DROPOUT, .attrs = dropout_attrs, .infer = dropout_infer, .fold = dropout_fold, .emit = dropout_emit);
