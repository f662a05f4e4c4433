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
 *   internal        hodu.FusedElementwise
 *
 * Every op but Dropout and the fused node is a row of `ew_rows`: its kind
 * (how many operands, how they broadcast), the operand classes it accepts
 * (float, signed, unsigned, bool) and its host evaluator.  ew_plan_of turns
 * a node into the plan both folding and the backends use (elementwise.h):
 * operands placed in the output's dims, dtypes, the formula variant the
 * attributes select, attribute constants and the loop nest.
 *
 * Broadcasting is numpy's; the loop nest drops size-1 dims and merges dims
 * that are contiguous for every operand, so a same-shape op is one flat loop
 * and a bias-style broadcast is a few nested loops.
 *
 * Folding: the ops that appear in shape arithmetic have a host evaluator
 * (ew_h_*) that follows the backends' formulas: float math in double with the
 * result rounded to the compute type after each step (exact for + - * / sqrt
 * and the rounding ops), integer math wrapping in 64 bits.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise.h"
#include "ops_impl.h"

/* ======================================================================== */
/* Operand classes                                                           */
/* ======================================================================== */

ew_class ew_class_of(hodu_dtype t)
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

/* True when a float dtype computes in float (f16 and bf16 widen to float),
 * false for double; run-time code rounds to that type after each step. */
static bool ew_computes_in_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

static bool ew_supported_dtype(int t)
{
    switch (t) {
    case HODU_DTYPE_F32:
    case HODU_DTYPE_U8:
    case HODU_DTYPE_I8:
    case HODU_DTYPE_U16:
    case HODU_DTYPE_I16:
    case HODU_DTYPE_I32:
    case HODU_DTYPE_I64:
    case HODU_DTYPE_BOOL:
    case HODU_DTYPE_F16:
    case HODU_DTYPE_F64:
    case HODU_DTYPE_U32:
    case HODU_DTYPE_U64:
    case HODU_DTYPE_BF16: return true;
    default: return false;
    }
}

/* Name of an ONNX element type, including ones Hodu does not compile. */
static const char *ew_onnx_type_name(int64_t t)
{
    const char *name = ir_onnx_type_name(t);
    return name ? name : "unknown";
}

/* ======================================================================== */
/* The op rows                                                               */
/* ======================================================================== */

/* Host evaluator op codes (0: no folding). */
typedef enum ew_hop {
    H_NONE = 0,
    H_ADD,
    H_SUB,
    H_MUL,
    H_DIV,
    H_MOD,
    H_NEG,
    H_ABS,
    H_SQRT,
    H_FLOOR,
    H_CEIL,
    H_RELU,
    H_RECIP,
    H_SIGN,
    H_EQ,
    H_LT,
    H_LE,
    H_GT,
    H_GE,
    H_NOT,
    H_AND,
    H_OR,
    H_XOR,
    H_MAX,
    H_MIN,
    H_WHERE,
    H_CAST
} ew_hop;

#define C_F   EW_CLS(EWC_FLOAT)
#define C_S   EW_CLS(EWC_SIGNED)
#define C_U   EW_CLS(EWC_UNSIGNED)
#define C_B   EW_CLS(EWC_BOOL)
#define C_FS  (C_F | C_S)
#define C_SU  (C_S | C_U)
#define C_FSU (C_F | C_S | C_U)
#define C_ALL (C_F | C_S | C_U | C_B)
#define VEC   EWF_VECMATH

/* The semantics each formula follows are noted at its row; the formulas
 * themselves are the backends' (see src/backend/native/emit_elementwise.c). */
static const ew_row ew_rows[] = {
    /* --- unary math ---------------------------------------------------- */
    /* Abs: unsigned is the identity; INT_MIN stays INT_MIN (wraps). */
    {OP_ABS, EWK_UNARY, 0, C_FSU, H_ABS},
    {OP_NEG, EWK_UNARY, 0, C_FS, H_NEG},
    {OP_SQRT, EWK_UNARY, 0, C_F, H_SQRT},
    {OP_EXP, EWK_UNARY, VEC, C_F, H_NONE},
    {OP_LOG, EWK_UNARY, VEC, C_F, H_NONE},
    {OP_RECIPROCAL, EWK_UNARY, 0, C_F, H_RECIP},
    {OP_FLOOR, EWK_UNARY, 0, C_F, H_FLOOR},
    {OP_CEIL, EWK_UNARY, 0, C_F, H_CEIL},
    /* Round: halves to even. */
    {OP_ROUND, EWK_UNARY, 0, C_F, H_NONE},
    /* Sign: NaN stays NaN, zero stays zero. */
    {OP_SIGN, EWK_UNARY, 0, C_FSU, H_SIGN},
    {OP_SIN, EWK_UNARY, 0, C_F, H_NONE},
    {OP_COS, EWK_UNARY, 0, C_F, H_NONE},
    {OP_TAN, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ASIN, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ACOS, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ATAN, EWK_UNARY, 0, C_F, H_NONE},
    {OP_SINH, EWK_UNARY, 0, C_F, H_NONE},
    {OP_COSH, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ASINH, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ACOSH, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ATANH, EWK_UNARY, 0, C_F, H_NONE},
    {OP_ERF, EWK_UNARY, VEC, C_F, H_NONE},
    {OP_NOT, EWK_UNARY, 0, C_B, H_NOT},
    {OP_IS_NAN, EWK_UNARY, EWF_BOOL_OUT, C_F, H_NONE},
    /* IsInf: formula chosen from detect_negative/detect_positive. */
    {OP_IS_INF, EWK_UNARY, EWF_BOOL_OUT, C_F, H_NONE},
    {OP_BITWISE_NOT, EWK_UNARY, 0, C_SU, H_NONE},

    /* --- activations --------------------------------------------------- */
    /* Relu: NaN propagates (max(x, 0) in numpy); ints since opset 14. */
    {OP_RELU, EWK_UNARY, 0, C_FSU, H_RELU},
    {OP_SIGMOID, EWK_UNARY, VEC, C_F, H_NONE},
    {OP_TANH, EWK_UNARY, VEC, C_F, H_NONE},
    /* LeakyRelu(alpha=0.01) */
    {OP_LEAKY_RELU, EWK_UNARY, 0, C_F, H_NONE},
    /* Elu(alpha=1): alpha*(exp(x)-1) for x < 0 */
    {OP_ELU, EWK_UNARY, VEC, C_F, H_NONE},
    /* Selu(alpha=1.6732..., gamma=1.0507...) */
    {OP_SELU, EWK_UNARY, 0, C_F, H_NONE},
    /* Celu(alpha=1): max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
    {OP_CELU, EWK_UNARY, 0, C_F, H_NONE},
    /* HardSigmoid(alpha=0.2, beta=0.5): clip(alpha*x+beta, 0, 1) */
    {OP_HARD_SIGMOID, EWK_UNARY, 0, C_F, H_NONE},
    /* HardSwish: x * hardsigmoid(x) with alpha=1/6, beta=0.5 */
    {OP_HARD_SWISH, EWK_UNARY, 0, C_F, H_NONE},
    /* Swish(alpha=1), opset 24: x * sigmoid(alpha * x) */
    {OP_SWISH, EWK_UNARY, VEC, C_F, H_NONE},
    /* Softplus: log(1+exp(x)), neither overflowing nor cancelling for large |x|. */
    {OP_SOFTPLUS, EWK_UNARY, VEC, C_F, H_NONE},
    {OP_SOFTSIGN, EWK_UNARY, 0, C_F, H_NONE},
    /* Mish: x * tanh(softplus(x)) */
    {OP_MISH, EWK_UNARY, VEC, C_F, H_NONE},
    /* Gelu: formula chosen from approximate ("none" or "tanh"). */
    {OP_GELU, EWK_UNARY, VEC, C_F, H_NONE},
    /* ThresholdedRelu(alpha=1): x if x > alpha else 0 */
    {OP_THRESHOLDED_RELU, EWK_UNARY, 0, C_F, H_NONE},
    /* Shrink(bias=0, lambd=0.5).  Integers compute in double (the
     * attributes are floats) and the result truncates back. */
    {OP_SHRINK, EWK_UNARY, 0, C_FSU, H_NONE},
    /* PRelu: slope broadcasts to X's shape (unidirectional); ints since 16. */
    {OP_PRELU, EWK_PRELU, 0, C_FSU, H_NONE},
    /* Clip: min/max attributes before opset 11, optional scalar inputs from
     * 11 (ints from 12).  max(x, min) first, then min(., max), as numpy's
     * clip does when min > max; NaN propagates. */
    {OP_CLIP, EWK_CLIP, 0, C_FSU, H_NONE},

    /* --- binary ---------------------------------------------------------- */
    /* Integer add/sub/mul wrap modulo 2^N like numpy. */
    {OP_ADD, EWK_BINARY, 0, C_FSU, H_ADD},
    {OP_SUB, EWK_BINARY, 0, C_FSU, H_SUB},
    {OP_MUL, EWK_BINARY, 0, C_FSU, H_MUL},
    /* Div: integers truncate toward zero; x/0 gives 0 and MIN/-1 wraps
     * instead of trapping. */
    {OP_DIV, EWK_BINARY, 0, C_FSU, H_DIV},
    /* Pow: base and exponent types may differ; the result has the base's
     * type.  Formula chosen from the operand classes. */
    {OP_POW, EWK_BINARY, EWF_MIXED, C_FSU, H_NONE},
    /* Mod: fmod=0 takes the divisor's sign (Python %), fmod=1 the
     * dividend's (C fmod).  Floats with fmod=0 (invalid per the spec)
     * follow numpy's mod, as the reference does.  Integer x % 0 gives 0. */
    {OP_MOD, EWK_BINARY, 0, C_FSU, H_MOD},
    /* BitShift(direction): unsigned only; shifts past the width give 0. */
    {OP_BIT_SHIFT, EWK_BINARY, 0, C_U, H_NONE},
    {OP_BITWISE_AND, EWK_BINARY, 0, C_SU, H_NONE},
    {OP_BITWISE_OR, EWK_BINARY, 0, C_SU, H_NONE},
    {OP_BITWISE_XOR, EWK_BINARY, 0, C_SU, H_NONE},
    {OP_AND, EWK_BINARY, 0, C_B, H_AND},
    {OP_OR, EWK_BINARY, 0, C_B, H_OR},
    {OP_XOR, EWK_BINARY, 0, C_B, H_XOR},
    {OP_EQUAL, EWK_BINARY, EWF_BOOL_OUT, C_ALL, H_EQ},
    {OP_LESS, EWK_BINARY, EWF_BOOL_OUT, C_FSU, H_LT},
    {OP_LESS_OR_EQUAL, EWK_BINARY, EWF_BOOL_OUT, C_FSU, H_LE},
    {OP_GREATER, EWK_BINARY, EWF_BOOL_OUT, C_FSU, H_GT},
    {OP_GREATER_OR_EQUAL, EWK_BINARY, EWF_BOOL_OUT, C_FSU, H_GE},

    /* --- variadic (all broadcast together) ------------------------------ */
    /* Max/Min: NaN in either operand propagates (numpy maximum/minimum). */
    {OP_MAX, EWK_VARIADIC, 0, C_FSU, H_MAX},
    {OP_MIN, EWK_VARIADIC, 0, C_FSU, H_MIN},
    {OP_SUM, EWK_VARIADIC, 0, C_FSU, H_ADD},
    /* Mean: sum, then one division by the operand count. */
    {OP_MEAN, EWK_VARIADIC, 0, C_F, H_NONE},

    /* --- selection and conversion ------------------------------------------ */
    /* Where(cond, x, y): three-way broadcast; x and y move as stored bits. */
    {OP_WHERE, EWK_WHERE, EWF_RAW, C_ALL, H_WHERE},
    /* Cast(to) / CastLike: float -> int truncates, x -> bool is x != 0,
     * f16/bf16 round to nearest even through float.  Strings and float8 /
     * 4-bit types are not supported. */
    {OP_CAST, EWK_CAST, EWF_MIXED, C_ALL, H_CAST},
    {OP_CAST_LIKE, EWK_CAST, EWF_MIXED, C_ALL, H_CAST},
};

const ew_row *ew_row_of(int op)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_rows); i++)
        if ((int)ew_rows[i].op == op)
            return &ew_rows[i];
    return NULL;
}

/* ======================================================================== */
/* Operands, broadcasting, loops                                             */
/* ======================================================================== */

/* Collects present operands.  Fails (through c when given) on bad input. */
static bool ew_gather(const ir_graph *g, int node, ew_plan *a, op_ctx *c)
{
    const ir_node *n = ir_nd(g, node);
    memset(a, 0, sizeof(*a));
    a->row = ew_row_of(n->op);
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
static bool ew_place(const ir_graph *g, int node, ew_plan *a, op_ctx *c)
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
static int64_t ew_dim(const ew_plan *a, int k, int d)
{
    int j = d - a->off[k];
    return (j >= 0 && j < a->v[k]->rank) ? a->v[k]->dims[j].size : 1;
}

/* Row-major strides of operand k over the output dims, 0 where broadcast. */
static void ew_strides(const ew_plan *a, int k, int64_t *strides)
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

/* The loop nest over the output after dropping size-1 dims and merging dims
 * that are contiguous for every operand. */
static void ew_plan_loops(const ew_plan *a, const int64_t *out_dims, ew_loops *L)
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

/* ======================================================================== */
/* Formula selection                                                         */
/* ======================================================================== */

/* Picks the formula variant for the operand types and attributes, or fails
 * with a reason in *why (caller frees).  Needs row, n, idx, v and op_dtype. */
static bool ew_select_form(const ir_node *n, ew_plan *a, char **why)
{
    const ew_row *r = a->row;
    ew_class cls = ew_class_of(a->op_dtype);
    a->form = EW_FORM_ROW;
    a->lo = a->hi = EW_BOUND_NONE;
    if (cls == EWC_NONE || !(r->classes & EW_CLS(cls))) {
        *why = hd_xasprintf("does not support element type %s", ir_dtype_name(a->op_dtype));
        return false;
    }
    switch (r->op) {
    case OP_IS_INF: {
        bool neg = ir_attr_int(n, "detect_negative", 1) != 0, pos = ir_attr_int(n, "detect_positive", 1) != 0;
        a->form = neg && pos ? EW_FORM_ISINF_ANY
                  : pos      ? EW_FORM_ISINF_POS
                  : neg      ? EW_FORM_ISINF_NEG
                             : EW_FORM_ISINF_NONE;
        return true;
    }
    case OP_GELU: {
        const char *approx = ir_attr_string(n, "approximate", "none");
        if (strcmp(approx, "none") == 0) {
            a->form = EW_FORM_GELU_ERF;
            return true;
        }
        if (strcmp(approx, "tanh") == 0) {
            a->form = EW_FORM_GELU_TANH;
            return true;
        }
        *why = hd_xasprintf("attribute 'approximate' value '%s' is not supported (none, tanh)", approx);
        return false;
    }
    case OP_POW: {
        ew_class ec = ew_class_of(a->v[1]->dtype);
        if (ec == EWC_NONE || ec == EWC_BOOL) {
            *why = hd_xasprintf("exponent type %s is not supported", ir_dtype_name(a->v[1]->dtype));
            return false;
        }
        a->form = cls == EWC_FLOAT ? EW_FORM_POW_FLOAT : (ec == EWC_FLOAT ? EW_FORM_POW_INT_FLOAT : EW_FORM_POW_INT);
        return true;
    }
    case OP_MOD: {
        int64_t fm = ir_attr_int(n, "fmod", 0);
        if (fm != 0 && fm != 1) {
            *why = hd_xasprintf("attribute 'fmod' value %" PRId64 " is not supported (0 or 1)", fm);
            return false;
        }
        a->form = fm ? EW_FORM_MOD_C : EW_FORM_MOD_PY;
        return true;
    }
    case OP_BIT_SHIFT: {
        const char *dir = ir_attr_string(n, "direction", "");
        if (strcmp(dir, "LEFT") == 0) {
            a->form = EW_FORM_SHIFT_LEFT;
            return true;
        }
        if (strcmp(dir, "RIGHT") == 0) {
            a->form = EW_FORM_SHIFT_RIGHT;
            return true;
        }
        *why = hd_xasprintf("attribute 'direction' value '%s' is not supported (LEFT, RIGHT)", dir);
        return false;
    }
    case OP_CLIP: {
        /* A bound input wins over the (older) attribute. */
        a->form = EW_FORM_CLIP;
        for (int k = 1; k < a->n; k++) {
            if (a->idx[k] == 1)
                a->lo = EW_BOUND_INPUT;
            if (a->idx[k] == 2)
                a->hi = EW_BOUND_INPUT;
        }
        const ir_attr *amin = ir_attr_find(n, "min"), *amax = ir_attr_find(n, "max");
        if (amin && a->lo == EW_BOUND_NONE) {
            a->lo = EW_BOUND_ATTR;
            a->lo_value = amin->f;
        }
        if (amax && a->hi == EW_BOUND_NONE) {
            a->hi = EW_BOUND_ATTR;
            a->hi_value = amax->f;
        }
        return true;
    }
    default: return true;
    }
}

/* The attribute constants a row's formula uses. */
static void ew_attr_consts(const ir_node *n, ew_plan *a)
{
    double *c = a->consts;
    switch (a->row->op) {
    case OP_LEAKY_RELU:
        c[0] = ir_attr_float(n, "alpha", 0.01);
        a->n_consts = 1;
        break;
    case OP_ELU:
    case OP_CELU:
    case OP_THRESHOLDED_RELU:
    case OP_SWISH:
        c[0] = ir_attr_float(n, "alpha", 1.0);
        a->n_consts = 1;
        break;
    case OP_SELU:
        c[0] = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        c[1] = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        a->n_consts = 2;
        break;
    case OP_HARD_SIGMOID:
        c[0] = ir_attr_float(n, "alpha", 0.2);
        c[1] = ir_attr_float(n, "beta", 0.5);
        a->n_consts = 2;
        break;
    case OP_SHRINK:
        c[0] = ir_attr_float(n, "bias", 0.0);
        c[1] = ir_attr_float(n, "lambd", 0.5);
        a->n_consts = 2;
        break;
    default: a->n_consts = 0; break;
    }
}

/* ======================================================================== */
/* Plans                                                                     */
/* ======================================================================== */

bool ew_is_narrow_cast(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    if ((n->op != OP_CAST && n->op != OP_CAST_LIKE) || n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1 ||
        n->outputs[0] < 0)
        return false;
    return ir_dtype_is_narrow(ir_val(g, n->inputs[0])->dtype) || ir_dtype_is_narrow(ir_val(g, n->outputs[0])->dtype);
}

bool ew_plan_of(const ir_graph *g, int node, ew_plan *p, char **why)
{
    *why = NULL;
    if (!ew_gather(g, node, p, NULL))
        return false;
    const ir_node *n = ir_nd(g, node);
    if (n->n_outputs < 1 || n->outputs[0] < 0)
        return false;
    const ir_value *out = ir_val(g, n->outputs[0]);
    if (p->row->kind == EWK_WHERE && p->n < 2)
        return false;
    p->op_dtype = p->row->kind == EWK_WHERE ? p->v[1]->dtype : p->v[0]->dtype;
    p->out_dtype = out->dtype;
    if (p->row->kind == EWK_CLIP || p->row->kind == EWK_CAST) {
        if (p->row->kind == EWK_CAST)
            p->n = 1; /* CastLike's second input only gives the type */
        p->out_rank = p->v[0]->rank;
        for (int k = 0; k < p->n; k++)
            p->off[k] = p->out_rank - p->v[k]->rank;
    } else if (!ew_place(g, node, p, NULL)) {
        return false;
    }
    if (!ew_select_form(n, p, why))
        return false;
    ew_attr_consts(n, p);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(out, dims);
    ew_plan_loops(p, dims, &p->loops);
    return true;
}

bool ew_fused_plan_of(const ir_graph *g, int node, ew_fused_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    memset(p, 0, sizeof(*p));
    const ir_graph *b = n->body;
    if (!b || n->n_inputs > EW_MAX_OPERANDS || n->n_outputs < 1 || n->outputs[0] < 0 || b->n_inputs != n->n_inputs)
        return false;
    p->body = b;
    p->n_members = b->n_nodes;
    /* ir_verify checks the body's shape; what a member may be is the ops'
     * business, so it is checked here. */
    for (size_t m = 0; m < b->n_nodes; m++) {
        const op_def *def = op_get(b->nodes[m].op);
        if (!def || !def->fusable || !def->fusable(b, (int)m))
            return false;
    }
    const ir_value *out = ir_val(g, n->outputs[0]);
    /* The externals broadcast into the output, numpy style. */
    ew_plan x;
    memset(&x, 0, sizeof(x));
    x.n = (int)n->n_inputs;
    x.out_rank = out->rank;
    for (int k = 0; k < x.n; k++) {
        if (n->inputs[k] < 0)
            return false;
        x.idx[k] = k;
        x.v[k] = ir_val(g, n->inputs[k]);
        x.off[k] = out->rank - x.v[k]->rank;
    }
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(out, dims);
    ew_plan_loops(&x, dims, &p->loops);
    p->n_ext = x.n;
    return true;
}

int ew_fused_source(const ew_fused_plan *p, size_t m, size_t input, bool *from_member)
{
    const ir_graph *b = p->body;
    int v = ir_nd(b, (int)m)->inputs[input];
    *from_member = false;
    if (v < 0 || (size_t)v >= b->n_values)
        return -1;
    const ir_value *val = ir_val(b, v);
    if (val->kind == IR_VALUE_NODE) {
        *from_member = val->producer >= 0 && (size_t)val->producer < m;
        return *from_member ? val->producer : -1;
    }
    for (size_t k = 0; k < b->n_inputs; k++)
        if (b->inputs[k] == v)
            return (int)k;
    return -1;
}

/* ======================================================================== */
/* Inference                                                                 */
/* ======================================================================== */

static bool ew_infer(op_ctx *c)
{
    /* Equal on strings: broadcast, bool result (lowered by the string
     * family's backend code). */
    const ir_value *s0 = op_in(c, 0), *s1 = op_in(c, 1);
    if (op_node(c)->op == OP_EQUAL && s0 && s1 && (s0->dtype == HODU_DTYPE_STRING || s1->dtype == HODU_DTYPE_STRING)) {
        if (!op_need_static(c, 0) || !op_need_static(c, 1))
            return false;
        if (s0->dtype != s1->dtype)
            return op_fail(c, "inputs must have the same element type (%s vs %s)", ir_dtype_name(s0->dtype),
                           ir_dtype_name(s1->dtype));
        int rank;
        int64_t dims[HODU_MAX_RANK];
        if (!op_broadcast(c, s0, s1, &rank, dims))
            return false;
        op_set_out(c, 0, HODU_DTYPE_BOOL, rank, dims);
        return true;
    }
    ew_plan a;
    if (!ew_gather(c->g, c->node, &a, c))
        return false;
    const ir_node *n = op_node(c);
    const ew_row *r = a.row;
    for (int k = 0; k < a.n; k++) {
        if (!op_need_static(c, (size_t)a.idx[k]))
            return false;
        bool narrow_ok = r->kind == EWK_CAST && ir_dtype_is_narrow(a.v[k]->dtype);
        if (!ew_supported_dtype(a.v[k]->dtype) && !narrow_ok)
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
                    return op_fail(c, "inputs must have the same element type (%s vs %s)", ir_dtype_name(a.op_dtype),
                                   ir_dtype_name(a.v[k]->dtype));
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
            if (!ew_supported_dtype((int)to->i) &&
                !(to->i > 0 && to->i < HODU_DTYPE_COUNT_ && ir_dtype_is_narrow((hodu_dtype)to->i)))
                return op_fail(c, "attribute 'to' value %" PRId64 " (%s) is not supported", to->i,
                               ew_onnx_type_name(to->i));
            a.out_dtype = (hodu_dtype)to->i;
        }
    } else if (r->flags & EWF_BOOL_OUT) {
        a.out_dtype = HODU_DTYPE_BOOL;
    } else {
        a.out_dtype = a.op_dtype;
    }

    if (r->kind == EWK_CAST && (ir_dtype_is_narrow(a.op_dtype) || ir_dtype_is_narrow(a.out_dtype))) {
        int64_t sat = ir_attr_int(n, "saturate", 1);
        const char *mode = ir_attr_string(n, "round_mode", "up");
        if (sat != 0 && sat != 1)
            return op_fail(c, "attribute 'saturate' value %" PRId64 " is not supported (0 or 1)", sat);
        if (strcmp(mode, "up") != 0 && strcmp(mode, "down") != 0 && strcmp(mode, "nearest") != 0)
            return op_fail(c, "attribute 'round_mode' value '%s' is not supported (up, down, nearest)", mode);
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(a.v[0], dims);
        op_set_out(c, 0, a.out_dtype, a.v[0]->rank, dims);
        return true;
    }

    /* The operand types and attributes must select a formula. */
    char *why = NULL;
    if (!ew_select_form(n, &a, &why)) {
        bool ok = op_fail(c, "%s", why);
        free(why);
        return ok;
    }

    /* Shape. */
    if (r->kind == EWK_CAST) {
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(a.v[0], dims);
        op_set_out(c, 0, a.out_dtype, a.v[0]->rank, dims);
        return true;
    }
    if (r->kind == EWK_CLIP) {
        for (int k = 1; k < a.n; k++)
            if (ir_value_numel(a.v[k]) != 1)
                return op_fail(c, "%s '%s' must be a scalar", a.idx[k] == 1 ? "min" : "max", a.v[k]->name);
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(a.v[0], dims);
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
/* Fusion                                                                    */
/* ======================================================================== */

/* A node joins a fused loop when it is a plain unary/binary/clip row on f32
 * or f64 whose operands and result share that dtype (so keeping values in
 * registers changes no rounding) and it has no vector-math form (a fused
 * scalar loop would be slower than the vector form over the whole array). */
static bool ew_fusable(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ew_row *r = ew_row_of(n->op);
    if (!r || (r->kind != EWK_UNARY && r->kind != EWK_BINARY && r->kind != EWK_CLIP) || (r->flags & EWF_RAW))
        return false;
    if ((r->flags & EWF_VECMATH) || ir_attr_find(n, "broadcast") || n->n_outputs != 1 || n->outputs[0] < 0)
        return false;
    hodu_dtype t = ir_val(g, n->outputs[0])->dtype;
    if (t != HODU_DTYPE_F32 && t != HODU_DTYPE_F64)
        return false;
    for (size_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i] >= 0 && ir_val(g, n->inputs[i])->dtype != t)
            return false;
    return true;
}

bool ew_epilogue_fusable(const ir_graph *g, int node)
{
    if (ew_fusable(g, node))
        return true;
    const ir_node *n = ir_nd(g, node);
    const ew_row *r = ew_row_of(n->op);
    if (!r || r->kind != EWK_UNARY || !(r->flags & EWF_VECMATH) || (r->flags & EWF_RAW) || n->n_outputs != 1 ||
        n->outputs[0] < 0 || n->n_inputs != 1 || n->inputs[0] < 0)
        return false;
    return ir_val(g, n->outputs[0])->dtype == HODU_DTYPE_F32 && ir_val(g, n->inputs[0])->dtype == HODU_DTYPE_F32;
}

/* hodu.FusedElementwise: no attributes; the members are the node's body
 * (ew_fused_plan_of). */
static const op_attr_spec fused_attrs[] = {{NULL, 0}};

static bool ew_fused_infer(op_ctx *c)
{
    /* The fusion pass builds this node after inference, with its type set;
     * nothing to infer, but the body must be one ops can plan. */
    if (!op_out(c, 0) || !ir_value_is_static(op_out(c, 0)))
        return op_fail(c, "internal error: no shape");
    ew_fused_plan p;
    return ew_fused_plan_of(c->g, c->node, &p) ? true : op_fail(c, "internal error: malformed fused body");
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
    case HODU_DTYPE_F32: {
        float x;
        memcpy(&x, p, 4);
        v.f = x;
        break;
    }
    case HODU_DTYPE_F64: memcpy(&v.f, p, 8); break;
    case HODU_DTYPE_F16: {
        uint16_t x;
        memcpy(&x, p, 2);
        v.f = ew_h_f16_to_f32(x);
        break;
    }
    case HODU_DTYPE_BF16: {
        uint16_t x;
        memcpy(&x, p, 2);
        v.f = ew_h_bf16_to_f32(x);
        break;
    }
    case HODU_DTYPE_I8: {
        int8_t x;
        memcpy(&x, p, 1);
        v.i = x;
        break;
    }
    case HODU_DTYPE_I16: {
        int16_t x;
        memcpy(&x, p, 2);
        v.i = x;
        break;
    }
    case HODU_DTYPE_I32: {
        int32_t x;
        memcpy(&x, p, 4);
        v.i = x;
        break;
    }
    case HODU_DTYPE_I64: memcpy(&v.i, p, 8); break;
    case HODU_DTYPE_BOOL: v.i = p[0] != 0; break;
    case HODU_DTYPE_U8: v.u = p[0]; break;
    case HODU_DTYPE_U16: {
        uint16_t x;
        memcpy(&x, p, 2);
        v.u = x;
        break;
    }
    case HODU_DTYPE_U32: {
        uint32_t x;
        memcpy(&x, p, 4);
        v.u = x;
        break;
    }
    case HODU_DTYPE_U64: memcpy(&v.u, p, 8); break;
    default: break;
    }
    return v;
}

/* Stores value v of class cls into element idx of dtype t, converting as
 * run-time code does: a plain conversion, f16/bf16 rounding to nearest even,
 * nonzero to true. */
static void ew_h_store(hodu_dtype t, void *base, int64_t idx, ew_hv v, ew_class cls)
{
    unsigned char *p = (unsigned char *)base + (size_t)idx * ir_dtype_size(t);
#define EW_CONV(CT) (cls == EWC_FLOAT ? (CT)v.f : (cls == EWC_UNSIGNED ? (CT)v.u : (CT)v.i))
    switch (t) {
    case HODU_DTYPE_F32: {
        float x = EW_CONV(float);
        memcpy(p, &x, 4);
        break;
    }
    case HODU_DTYPE_F64: {
        double x = EW_CONV(double);
        memcpy(p, &x, 8);
        break;
    }
    case HODU_DTYPE_F16: {
        uint16_t x = ew_h_f32_to_f16(EW_CONV(float));
        memcpy(p, &x, 2);
        break;
    }
    case HODU_DTYPE_BF16: {
        uint16_t x = ew_h_f32_to_bf16(EW_CONV(float));
        memcpy(p, &x, 2);
        break;
    }
    case HODU_DTYPE_I8: {
        int8_t x = EW_CONV(int8_t);
        memcpy(p, &x, 1);
        break;
    }
    case HODU_DTYPE_I16: {
        int16_t x = EW_CONV(int16_t);
        memcpy(p, &x, 2);
        break;
    }
    case HODU_DTYPE_I32: {
        int32_t x = EW_CONV(int32_t);
        memcpy(p, &x, 4);
        break;
    }
    case HODU_DTYPE_I64: {
        int64_t x = EW_CONV(int64_t);
        memcpy(p, &x, 8);
        break;
    }
    case HODU_DTYPE_U8: {
        uint8_t x = EW_CONV(uint8_t);
        memcpy(p, &x, 1);
        break;
    }
    case HODU_DTYPE_U16: {
        uint16_t x = EW_CONV(uint16_t);
        memcpy(p, &x, 2);
        break;
    }
    case HODU_DTYPE_U32: {
        uint32_t x = EW_CONV(uint32_t);
        memcpy(p, &x, 4);
        break;
    }
    case HODU_DTYPE_U64: {
        uint64_t x = EW_CONV(uint64_t);
        memcpy(p, &x, 8);
        break;
    }
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
 * `f32` rounds float results to float, as run-time code computing in float
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
    case H_ADD:
        r.f = a + b;
        r.i = (int64_t)((uint64_t)ia + (uint64_t)ib);
        r.u = ua + ub;
        break;
    case H_SUB:
        r.f = a - b;
        r.i = (int64_t)((uint64_t)ia - (uint64_t)ib);
        r.u = ua - ub;
        break;
    case H_MUL:
        r.f = a * b;
        r.i = (int64_t)((uint64_t)ia * (uint64_t)ib);
        r.u = ua * ub;
        break;
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
    case H_NEG:
        r.f = -a;
        r.i = (int64_t)(0 - (uint64_t)ia);
        break;
    case H_ABS:
        r.f = fabs(a);
        r.i = ia < 0 ? (int64_t)(0 - (uint64_t)ia) : ia;
        r.u = ua;
        break;
    case H_SQRT: r.f = sqrt(a); break;
    case H_FLOOR: r.f = floor(a); break;
    case H_CEIL: r.f = ceil(a); break;
    case H_RELU:
        r.f = a < 0 ? 0 : a;
        r.i = ia < 0 ? 0 : ia;
        r.u = ua;
        break;
    case H_RECIP: r.f = 1.0 / a; break;
    case H_SIGN:
        r.f = a > 0 ? 1 : (a < 0 ? -1 : a);
        r.i = (ia > 0) - (ia < 0);
        r.u = ua > 0;
        break;
    case H_MAX:
        r.f = (a > b || a != a) ? a : b;
        r.i = ia > ib ? ia : ib;
        r.u = ua > ub ? ua : ub;
        break;
    case H_MIN:
        r.f = (a < b || a != a) ? a : b;
        r.i = ia < ib ? ia : ib;
        r.u = ua < ub ? ua : ub;
        break;
    case H_NOT: r.i = !ia; break;
    case H_AND: r.i = ia && ib; break;
    case H_OR: r.i = ia || ib; break;
    case H_XOR: r.i = (ia != 0) != (ib != 0); break;
    case H_EQ:
        cmp = true;
        r.i = cls == EWC_FLOAT ? a == b : (cls == EWC_UNSIGNED ? ua == ub : ia == ib);
        break;
    case H_LT:
        cmp = true;
        r.i = cls == EWC_FLOAT ? a < b : (cls == EWC_UNSIGNED ? ua < ub : ia < ib);
        break;
    case H_LE:
        cmp = true;
        r.i = cls == EWC_FLOAT ? a <= b : (cls == EWC_UNSIGNED ? ua <= ub : ia <= ib);
        break;
    case H_GT:
        cmp = true;
        r.i = cls == EWC_FLOAT ? a > b : (cls == EWC_UNSIGNED ? ua > ub : ia > ib);
        break;
    case H_GE:
        cmp = true;
        r.i = cls == EWC_FLOAT ? a >= b : (cls == EWC_UNSIGNED ? ua >= ub : ia >= ib);
        break;
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

/* Evaluates the node's plan on the host: the same operands, loop nest and
 * formula variant the backend's code runs. */
static bool ew_fold(op_ctx *c)
{
    const ew_row *r = ew_row_of(op_node(c)->op);
    if (!r)
        return op_fail(c, "internal error: no elementwise row");
    if (r->hop == H_NONE || ew_is_narrow_cast(c->g, c->node))
        return true; /* narrow casts: left to run time */
    ew_plan a;
    char *why = NULL;
    if (!ew_plan_of(c->g, c->node, &a, &why)) {
        bool ok = op_fail(c, "%s", why ? why : "internal error: inconsistent elementwise node");
        free(why);
        return ok;
    }
    const ir_value *out = op_out(c, 0);
    for (int k = 0; k < a.n; k++)
        if (!a.v[k]->data && ir_value_nbytes(a.v[k]) > 0)
            return true; /* nothing to read: leave it to run time */
    int64_t numel = ir_value_numel(out);
    void *dst = op_fold_alloc(c, 0);
    if (numel <= 0)
        return true;
    const ew_loops *L = &a.loops;
    ew_class cls = ew_class_of(a.op_dtype);
    bool f32 = ew_computes_in_float(a.op_dtype);
    bool fmod_c = a.form == EW_FORM_MOD_C;
    size_t esz = ir_dtype_size(out->dtype);
    for (int64_t o = 0; o < numel; o++) {
        /* The output is contiguous over the loop nest. */
        int64_t rem = o, off[EW_MAX_OPERANDS] = {0};
        for (int j = L->rank - 1; j >= 0; j--) {
            int64_t i = rem % L->dims[j];
            rem /= L->dims[j];
            for (int k = 0; k < a.n; k++)
                off[k] += i * L->st[k][j];
        }
        if (r->hop == H_WHERE) {
            ew_hv cv = ew_h_load(HODU_DTYPE_BOOL, a.v[0]->data, off[0]);
            int k = cv.i ? 1 : 2;
            memcpy((unsigned char *)dst + (size_t)o * esz, (const unsigned char *)a.v[k]->data + (size_t)off[k] * esz,
                   esz);
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
            x[0] = ew_h_op((ew_hop)r->hop, cls, f32, fmod_c, x, &rc);
        } else {
            for (int k = 1; k < a.n; k++) {
                x[1] = ew_h_load(a.v[k]->dtype, a.v[k]->data, off[k]);
                x[0] = ew_h_op((ew_hop)r->hop, cls, f32, fmod_c, x, &rc);
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
 * ratio is 0; real random dropout is not supported.  Either operand may be
 * a run-time scalar: the lowering then checks the values when the model
 * runs (ratio in [0, 1), and training with a ratio above 0 stops the run
 * with HODU_RUN_INPUT_VALUES, as there is no random stream to draw from). */

/* Input i is a run-time scalar of one of the given kinds. */
static bool dropout_runtime_scalar(const ir_value *v, bool want_float)
{
    return v && v->kind != IR_VALUE_CONST && ir_value_is_static(v) && ir_value_numel(v) == 1 &&
           (want_float ? ir_dtype_is_float(v->dtype) : v->dtype == HODU_DTYPE_BOOL);
}

static bool dropout_infer(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    const ir_node *n = op_node(c);
    bool training = false;
    const ir_value *tv = op_in(c, 2), *rv = op_in(c, 1);
    bool rt_train = dropout_runtime_scalar(tv, false), rt_ratio = dropout_runtime_scalar(rv, true);
    if (rv && rv->kind != IR_VALUE_CONST && !rt_ratio)
        return op_fail(c, "ratio ('%s') must be one floating-point value", rv->name);
    if (tv && !rt_train) {
        int64_t t = 0;
        if (op_need_const_i64(c, 2, &t, 1, "training_mode") < 0)
            return false;
        training = t != 0;
    }
    if (c->g->opset < 7 && ir_attr_int(n, "is_test", 0) == 0 && ir_attr_find(n, "is_test"))
        training = true;
    if ((training || rt_train) && !rt_ratio) {
        double ratio = ir_attr_float(n, "ratio", 0.5);
        if (rv && ir_const_as_f64(c->g, op_in_id(c, 1), &ratio, 1) != 1)
            return op_fail(c, "ratio ('%s') must be a scalar", rv->name);
        if (ratio != 0 && !rt_train)
            return op_fail(c, "training mode with ratio %g is not supported (random dropout)", ratio);
    }
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
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
static const op_attr_spec dropout_attrs[] = {{"ratio", IR_ATTR_FLOAT},
                                             {"seed", IR_ATTR_INT},
                                             {"is_test", IR_ATTR_INT},
                                             {"consumed_inputs", IR_ATTR_INTS},
                                             {NULL, 0}};

/* The arity is in op_list.def; these give the shared semantics. */
#define EW(ID, ATTRS, FOLD)                                                                                            \
    OP_DEF(ID, .attrs = ATTRS, .infer = ew_infer, .fold = FOLD, .fusable = ew_fusable, .grad = ew_grad)
#define EW_VAR(ID, FOLD) OP_DEF(ID, .attrs = no_attrs, .infer = ew_infer, .fold = FOLD, .grad = ew_grad)

OP_DEF(FUSED_ELEMENTWISE, .attrs = fused_attrs, .infer = ew_fused_infer);
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
OP_DEF(CLIP, .attrs = clip_attrs, .infer = ew_infer, .fusable = ew_fusable, .grad = ew_grad);
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
OP_DEF(WHERE, .infer = ew_infer, .fold = ew_fold, .grad = ew_grad);
OP_DEF(CAST, .attrs = cast_attrs, .infer = ew_infer, .fold = ew_fold, .grad = ew_grad);
OP_DEF(CAST_LIKE, .attrs = castlike_attrs, .infer = ew_infer, .fold = ew_fold, .grad = ew_grad);
OP_DEF(DROPOUT, .attrs = dropout_attrs, .infer = dropout_infer, .fold = dropout_fold, .grad = ew_grad);
