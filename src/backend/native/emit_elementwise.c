/*
 * emit_elementwise.c - native lowerings of the elementwise family
 * (src/ops/elementwise.c holds their semantics, elementwise.h the plans).
 *
 * Every row op is written by one emitter from its ew_plan: it loads each
 * operand into a local of its compute type, evaluates the op's C formula
 * and stores the result, inside the plan's loop nest with literal strides.
 * A formula is an expression template per operand class (float, signed,
 * unsigned, bool; NULL = class not accepted, "" = chosen by the plan's form).
 * Template placeholders:
 *   $0..$9  operand locals (by ONNX input index)
 *   $T      compute C type of the operation ("float" for f16/bf16)
 *   $U      unsigned type of at least 32 bits matching $T's width (wrapping
 *           integer arithmetic without undefined behaviour or promotions)
 *   $f      libm suffix: "f" when $T is float, "" for double
 *   $N      bit width of the stored integer type
 *   $a $b   the plan's attribute constants, printed as literals of $T
 *
 * The host evaluator that folds these ops (ops/elementwise.c) follows the
 * same formulas; a change here needs the matching change there.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/elementwise.h"

/* ======================================================================== */
/* Formulas                                                                  */
/* ======================================================================== */

/* An op's templates, indexed by ew_class. */
typedef struct ew_formula {
    op_id op;
    const char *t[4];
} ew_formula;

/* Integer add/sub/mul wrap modulo 2^N like numpy, through unsigned types. */
#define T_IADD "($T)(($U)$0 + ($U)$1)"
#define T_ISUB "($T)(($U)$0 - ($U)$1)"
#define T_IMUL "($T)(($U)$0 * ($U)$1)"
/* Max/Min: NaN in either operand propagates (numpy maximum/minimum). */
#define T_FMAX     "(($0 > $1 || $0 != $0) ? $0 : $1)"
#define T_FMIN     "(($0 < $1 || $0 != $0) ? $0 : $1)"
#define T_SOFTPLUS "($0 > 0 ? $0 + log1p$f(exp$f(-$0)) : log1p$f(exp$f($0)))"

static const ew_formula ew_formulas[] = {
    /* --- unary math ---------------------------------------------------- */
    /* Abs: unsigned is the identity; INT_MIN stays INT_MIN (wraps). */
    {OP_ABS, {"fabs$f($0)", "($0 < 0 ? ($T)(0 - ($U)$0) : $0)", "$0", NULL}},
    {OP_NEG, {"(-$0)", "($T)(0 - ($U)$0)", NULL, NULL}},
    {OP_SQRT, {"sqrt$f($0)", NULL, NULL, NULL}},
    {OP_EXP, {"exp$f($0)", NULL, NULL, NULL}},
    {OP_LOG, {"log$f($0)", NULL, NULL, NULL}},
    {OP_RECIPROCAL, {"(($T)1 / $0)", NULL, NULL, NULL}},
    {OP_FLOOR, {"floor$f($0)", NULL, NULL, NULL}},
    {OP_CEIL, {"ceil$f($0)", NULL, NULL, NULL}},
    /* Round: halves to even; rint uses the default round-to-nearest-even. */
    {OP_ROUND, {"rint$f($0)", NULL, NULL, NULL}},
    /* Sign: NaN stays NaN, zero stays zero. */
    {OP_SIGN, {"($0 > 0 ? ($T)1 : ($0 < 0 ? ($T)-1 : $0))", "($T)(($0 > 0) - ($0 < 0))", "($T)($0 > 0)", NULL}},
    {OP_SIN, {"sin$f($0)", NULL, NULL, NULL}},
    {OP_COS, {"cos$f($0)", NULL, NULL, NULL}},
    {OP_TAN, {"tan$f($0)", NULL, NULL, NULL}},
    {OP_ASIN, {"asin$f($0)", NULL, NULL, NULL}},
    {OP_ACOS, {"acos$f($0)", NULL, NULL, NULL}},
    {OP_ATAN, {"atan$f($0)", NULL, NULL, NULL}},
    {OP_SINH, {"sinh$f($0)", NULL, NULL, NULL}},
    {OP_COSH, {"cosh$f($0)", NULL, NULL, NULL}},
    {OP_ASINH, {"asinh$f($0)", NULL, NULL, NULL}},
    {OP_ACOSH, {"acosh$f($0)", NULL, NULL, NULL}},
    {OP_ATANH, {"atanh$f($0)", NULL, NULL, NULL}},
    {OP_ERF, {"erf$f($0)", NULL, NULL, NULL}},
    {OP_NOT, {NULL, NULL, NULL, "(!$0)"}},
    {OP_IS_NAN, {"($0 != $0)", NULL, NULL, NULL}},
    /* IsInf: formula chosen by the plan's form (detect_negative/positive). */
    {OP_IS_INF, {"", NULL, NULL, NULL}},
    {OP_BITWISE_NOT, {NULL, "($T)~$0", "($T)~$0", NULL}},

    /* --- activations --------------------------------------------------- */
    /* Relu: NaN propagates (max(x, 0) in numpy); ints since opset 14. */
    {OP_RELU, {"($0 < 0 ? ($T)0 : $0)", "($0 < 0 ? ($T)0 : $0)", "$0", NULL}},
    {OP_SIGMOID, {"(($T)1 / (($T)1 + exp$f(-$0)))", NULL, NULL, NULL}},
    {OP_TANH, {"tanh$f($0)", NULL, NULL, NULL}},
    /* LeakyRelu(alpha=0.01) */
    {OP_LEAKY_RELU, {"($0 < 0 ? $a * $0 : $0)", NULL, NULL, NULL}},
    /* Elu(alpha=1): alpha*(exp(x)-1) for x < 0 */
    {OP_ELU, {"($0 < 0 ? $a * (exp$f($0) - ($T)1) : $0)", NULL, NULL, NULL}},
    /* Selu(alpha=1.6732..., gamma=1.0507...): $a alpha, $b gamma */
    {OP_SELU, {"($0 > 0 ? $b * $0 : $b * ($a * exp$f($0) - $a))", NULL, NULL, NULL}},
    /* Celu(alpha=1): max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
    {OP_CELU, {"(($0 > 0 ? $0 : ($T)0) + ($0 < 0 ? $a * (exp$f($0 / $a) - ($T)1) : ($T)0))", NULL, NULL, NULL}},
    /* HardSigmoid(alpha=0.2, beta=0.5): clip(alpha*x+beta, 0, 1) */
    {OP_HARD_SIGMOID,
     {"(($a * $0 + $b) < 0 ? ($T)0 : (($a * $0 + $b) > 1 ? ($T)1 : ($a * $0 + $b)))", NULL, NULL, NULL}},
    /* HardSwish: x * hardsigmoid(x) with alpha=1/6, beta=0.5 */
    {OP_HARD_SWISH,
     {"($0 * (($0 * (($T)1 / ($T)6) + ($T)0.5) < 0 ? ($T)0 : "
      "(($0 * (($T)1 / ($T)6) + ($T)0.5) > 1 ? ($T)1 : ($0 * (($T)1 / ($T)6) + ($T)0.5))))",
      NULL, NULL, NULL}},
    /* Swish(alpha=1), opset 24: x * sigmoid(alpha * x) */
    {OP_SWISH, {"($0 / (($T)1 + exp$f(-($a * $0))))", NULL, NULL, NULL}},
    /* Softplus: log(1+exp(x)), written so large |x| neither overflows nor cancels. */
    {OP_SOFTPLUS, {T_SOFTPLUS, NULL, NULL, NULL}},
    {OP_SOFTSIGN, {"($0 / (($T)1 + fabs$f($0)))", NULL, NULL, NULL}},
    /* Mish: x * tanh(softplus(x)) */
    {OP_MISH, {"($0 * tanh$f(" T_SOFTPLUS "))", NULL, NULL, NULL}},
    /* Gelu: formula chosen by the plan's form (approximate). */
    {OP_GELU, {"", NULL, NULL, NULL}},
    /* ThresholdedRelu(alpha=1): x if x > alpha else 0 */
    {OP_THRESHOLDED_RELU, {"($0 > $a ? $0 : ($T)0)", NULL, NULL, NULL}},
    /* Shrink(bias=0, lambd=0.5): $a bias, $b lambd.  Integers compute in
     * double (the attributes are floats) and the result truncates back. */
    {OP_SHRINK,
     {"($0 < -$b ? $0 + $a : ($0 > $b ? $0 - $a : ($T)0))",
      "((double)$0 < -$b ? (double)$0 + $a : ((double)$0 > $b ? (double)$0 - $a : 0.0))",
      "((double)$0 < -$b ? (double)$0 + $a : ((double)$0 > $b ? (double)$0 - $a : 0.0))", NULL}},
    /* PRelu: slope broadcasts to X's shape (unidirectional); ints since 16. */
    {OP_PRELU, {"($0 < 0 ? $1 * $0 : $0)", "($0 < 0 ? " T_IMUL " : $0)", "$0", NULL}},
    /* Clip: min/max attributes before opset 11, optional scalar inputs from
     * 11 (ints from 12).  max(x, min) first, then min(., max), as numpy's
     * clip does when min > max; NaN propagates. */
    {OP_CLIP, {"", "", "", NULL}},

    /* --- binary ---------------------------------------------------------- */
    {OP_ADD, {"($0 + $1)", T_IADD, T_IADD, NULL}},
    {OP_SUB, {"($0 - $1)", T_ISUB, T_ISUB, NULL}},
    {OP_MUL, {"($0 * $1)", T_IMUL, T_IMUL, NULL}},
    /* Div: integers truncate toward zero; x/0 gives 0 and MIN/-1 wraps
     * instead of trapping. */
    {OP_DIV,
     {"($0 / $1)", "($1 == 0 ? ($T)0 : ($1 == -1 ? ($T)(0 - ($U)$0) : ($T)($0 / $1)))",
      "($1 == 0 ? ($T)0 : ($T)($0 / $1))", NULL}},
    /* Pow: base and exponent types may differ; the result has the base's
     * type.  Formula chosen by the plan's form (operand classes). */
    {OP_POW, {"", "", "", NULL}},
    /* Mod: fmod=0 takes the divisor's sign (Python %), fmod=1 the
     * dividend's (C fmod).  Floats with fmod=0 (invalid per the spec)
     * follow numpy's mod, as the reference does.  Integer x % 0 gives 0. */
    {OP_MOD, {"", "", "", NULL}},
    /* BitShift(direction): unsigned only; shifts past the width give 0. */
    {OP_BIT_SHIFT, {NULL, NULL, "", NULL}},
    {OP_BITWISE_AND, {NULL, "($T)($0 & $1)", "($T)($0 & $1)", NULL}},
    {OP_BITWISE_OR, {NULL, "($T)($0 | $1)", "($T)($0 | $1)", NULL}},
    {OP_BITWISE_XOR, {NULL, "($T)($0 ^ $1)", "($T)($0 ^ $1)", NULL}},
    {OP_AND, {NULL, NULL, NULL, "($0 && $1)"}},
    {OP_OR, {NULL, NULL, NULL, "($0 || $1)"}},
    {OP_XOR, {NULL, NULL, NULL, "(($0 != 0) != ($1 != 0))"}},
    {OP_EQUAL, {"($0 == $1)", "($0 == $1)", "($0 == $1)", "(($0 != 0) == ($1 != 0))"}},
    {OP_LESS, {"($0 < $1)", "($0 < $1)", "($0 < $1)", NULL}},
    {OP_LESS_OR_EQUAL, {"($0 <= $1)", "($0 <= $1)", "($0 <= $1)", NULL}},
    {OP_GREATER, {"($0 > $1)", "($0 > $1)", "($0 > $1)", NULL}},
    {OP_GREATER_OR_EQUAL, {"($0 >= $1)", "($0 >= $1)", "($0 >= $1)", NULL}},

    /* --- variadic (all broadcast together) ------------------------------ */
    {OP_MAX, {T_FMAX, "($0 > $1 ? $0 : $1)", "($0 > $1 ? $0 : $1)", NULL}},
    {OP_MIN, {T_FMIN, "($0 < $1 ? $0 : $1)", "($0 < $1 ? $0 : $1)", NULL}},
    {OP_SUM, {"($0 + $1)", T_IADD, T_IADD, NULL}},
    /* Mean: sum, then one division by the operand count. */
    {OP_MEAN, {"($0 + $1)", NULL, NULL, NULL}},

    /* --- selection and conversion ------------------------------------------ */
    /* Where(cond, x, y): three-way broadcast; x and y move as stored bits. */
    {OP_WHERE, {"($0 ? $1 : $2)", "($0 ? $1 : $2)", "($0 ? $1 : $2)", "($0 ? $1 : $2)"}},
    /* Cast(to) / CastLike: float -> int truncates, x -> bool is x != 0,
     * f16/bf16 round to nearest even through float.  Strings and float8 /
     * 4-bit types are not supported. */
    {OP_CAST, {"$0", "$0", "$0", "$0"}},
    {OP_CAST_LIKE, {"$0", "$0", "$0", "$0"}},
};

static const ew_formula *ew_formula_of(int op)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_formulas); i++)
        if ((int)ew_formulas[i].op == op)
            return &ew_formulas[i];
    return NULL;
}

/* f32 forms of the transcendental activations (rows flagged EWF_VECMATH)
 * over the kernel layer's vector math (hd_vf_*: branch-free, <= 2 ulp),
 * used when the operand is a contiguous f32 array: $0 is an hd_vf, scalars
 * broadcast.  The tail runs the same code on a splatted vector so every
 * element gets the same formula. */
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

static const char *ew_vec_template(const ew_plan *a)
{
    if (!(a->row->flags & EWF_VECMATH))
        return NULL;
    if (a->form == EW_FORM_GELU_TANH)
        /* 0.5*x*(1+tanh(z)) == x*sigmoid(2z), without the cancellation
         * of 1+tanh(z) for negative x */
        return "($0 * hd_vf_sigmoid(1.59576912f * ($0 + 0.044715f * $0 * $0 * $0)))";
    if (a->form == EW_FORM_GELU_ERF)
        return "(0.5f * $0 * (1.0f + hd_vf_erf($0 * 0.707106781f)))";
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_vec_rows); i++)
        if (ew_vec_rows[i].op == a->row->op)
            return ew_vec_rows[i].tv;
    return NULL;
}

/* Unsigned C type used for wrapping arithmetic on an integer type. */
static const char *ew_utype(hodu_dtype t) { return ir_dtype_size(t) == 8 ? "uint64_t" : "uint32_t"; }

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

/* Clip's formula: max(x, lo) first, then min(., hi), each a comparison
 * that keeps NaN (numpy's clip).  Bounds are "$1" / "$2" for the inputs
 * and literals of type ct for the attributes; `vec` writes it over hd_vf
 * vectors (the literals splatted). */
static char *ew_clip_formula(const ew_plan *a, const char *ct, bool vec)
{
    const ew_bound kind[2] = {a->lo, a->hi};
    const double value[2] = {a->lo_value, a->hi_value};
    char *bound[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        if (kind[i] == EW_BOUND_INPUT) {
            bound[i] = hd_xstrdup(i ? "$2" : "$1");
        } else if (kind[i] == EW_BOUND_ATTR) {
            char *lit = ew_lit(value[i], ct);
            bound[i] = vec ? hd_xasprintf("hd_vf_splat(%s)", lit) : hd_xstrdup(lit);
            free(lit);
        }
    }
    char *lo = bound[0], *hi = bound[1], *x, *r;
    if (vec) {
        x = lo ? hd_xasprintf("hd_vf_sel(hd_vf_lt($0, %s), %s, $0)", lo, lo) : hd_xstrdup("$0");
        r = hi ? hd_xasprintf("hd_vf_sel(hd_vf_lt(%s, %s), %s, %s)", hi, x, hi, x) : hd_xstrdup(x);
    } else {
        x = lo ? hd_xasprintf("($0 < %s ? %s : $0)", lo, lo) : hd_xstrdup("$0");
        r = hi ? hd_xasprintf("(%s > %s ? %s : %s)", x, hi, hi, x) : hd_xstrdup(x);
    }
    free(x);
    free(lo);
    free(hi);
    return r;
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

/* The template for a planned node (caller frees); NULL when this backend
 * has no formula for the plan's operand class. */
static char *ew_template(const ew_plan *a)
{
    const ew_formula *fr = ew_formula_of(a->row->op);
    ew_class cls = ew_class_of(a->op_dtype);
    const char *t = fr && cls != EWC_NONE ? fr->t[cls] : NULL;
    if (!t)
        return NULL;
    bool fm = a->form == EW_FORM_MOD_C;
    switch (a->form) {
    case EW_FORM_ROW: return hd_xstrdup(t);
    case EW_FORM_ISINF_ANY: return hd_xstrdup("(fabs$f($0) == ($T)INFINITY)");
    case EW_FORM_ISINF_POS: return hd_xstrdup("($0 == ($T)INFINITY)");
    case EW_FORM_ISINF_NEG: return hd_xstrdup("($0 == -($T)INFINITY)");
    case EW_FORM_ISINF_NONE: return hd_xstrdup("0");
    case EW_FORM_GELU_ERF: return hd_xstrdup("(($T)0.5 * $0 * (($T)1 + erf$f($0 * ($T)0.70710678118654752440)))");
    case EW_FORM_GELU_TANH:
        return hd_xstrdup("(($T)0.5 * $0 * (($T)1 + tanh$f(($T)0.79788456080286535588 * "
                          "($0 + ($T)0.044715 * $0 * $0 * $0))))");
    case EW_FORM_POW_FLOAT: return hd_xstrdup("pow$f($0, ($T)$1)");
    case EW_FORM_POW_INT_FLOAT: return hd_xstrdup("($T)pow((double)$0, (double)$1)");
    case EW_FORM_POW_INT: return hd_xstrdup("($T)hd_ew_ipow((int64_t)$0, (int64_t)$1)");
    case EW_FORM_MOD_C:
    case EW_FORM_MOD_PY:
        if (cls == EWC_FLOAT)
            return hd_xstrdup(fm ? "fmod$f($0, $1)" : "hd_ew_pymod$f($0, $1)");
        if (cls == EWC_UNSIGNED)
            return hd_xstrdup("($1 == 0 ? ($T)0 : ($T)($0 % $1))");
        return hd_xstrdup(fm ? "(($1 == 0 || $1 == -1) ? ($T)0 : ($T)($0 % $1))"
                             : "($T)hd_ew_pymod_i((int64_t)$0, (int64_t)$1)");
    case EW_FORM_SHIFT_LEFT: return hd_xstrdup("($1 >= $N ? ($T)0 : ($T)(($U)$0 << $1))");
    case EW_FORM_SHIFT_RIGHT: return hd_xstrdup("($1 >= $N ? ($T)0 : ($T)($0 >> $1))");
    case EW_FORM_CLIP:
        /* Attribute bounds print as literals of the compute type (double
         * for integers, whose comparison then happens in double). */
        return ew_clip_formula(a, cls == EWC_FLOAT ? em_compute_ctype(a->op_dtype) : "double", false);
    }
    return NULL;
}

/* Index expression into an operand with the given strides over the loops. */
static char *ew_index(const ew_loops *L, const int64_t *st)
{
    static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    em_term t[HODU_MAX_RANK];
    for (int j = 0; j < L->rank; j++)
        t[j] = (em_term){IV[j], st[j]};
    return hd_xstrdup(em_index(0, (size_t)L->rank, t).s);
}

/* ======================================================================== */
/* Emission                                                                  */
/* ======================================================================== */

/* The substitutions every formula of plan `a` shares; *sa and *sb receive
 * the attribute literals (caller frees). */
static ew_subst ew_subst_for(const ew_plan *a, const char *lit_ct, char **sa, char **sb)
{
    const char *T = em_compute_ctype(a->op_dtype);
    *sa = a->n_consts >= 1 ? ew_lit(a->consts[0], lit_ct) : NULL;
    *sb = a->n_consts >= 2 ? ew_lit(a->consts[1], lit_ct) : NULL;
    ew_subst s = {.T = T,
                  .U = ew_utype(a->op_dtype),
                  .f = strcmp(T, "float") == 0 ? "f" : "",
                  .a = *sa,
                  .b = *sb,
                  .nbits = (int)(8 * ir_dtype_size(a->op_dtype))};
    return s;
}

/* Opens the loop nest over the merged dims; the outermost one splits into
 * tasks when the node is big enough (elements are independent).  `cost`
 * is work per element; a flat loop splits on 64-element units, so vector
 * loops see the same alignment whatever the split. */
static void ew_open_loops(op_emit *e, const ew_loops *L, int64_t cost)
{
    for (int j = 0; j < L->rank; j++) {
        char var[16];
        snprintf(var, sizeof var, "i%d", j);
        if (j == 0) {
            int64_t inner = 1;
            for (int k = 1; k < L->rank; k++)
                inner *= L->dims[k];
            em_par_for(e, var, L->dims[0], L->rank == 1 ? 64 : 1, inner * cost);
        } else {
            em_for(e, var, L->dims[j]);
        }
    }
}

static void ew_emit_element(op_emit *e, const ew_plan *a, const char *tpl, ew_subst *sp, char *const *idx,
                            const char *oidx);

/* Writes the loop nest of plan `a` computing `tpl` into out0. */
static bool ew_emit_args(op_emit *e, const ew_plan *a, const char *tpl)
{
    const ew_row *r = a->row;
    const ir_value *out = em_out(e, 0);
    int64_t numel = ir_value_numel(out);
    for (int k = 0; k < a->n; k++)
        em_line(e, "(void)in%d;", a->idx[k]);
    if (numel <= 0)
        return true;

    const char *T = em_compute_ctype(a->op_dtype);
    /* Integer classes take float attributes as double literals. */
    const char *lit_ct = ew_class_of(a->op_dtype) == EWC_FLOAT ? T : "double";
    char *sa, *sb;
    ew_subst s = ew_subst_for(a, lit_ct, &sa, &sb);
    const ew_loops *L = &a->loops;

    const char *tv = ew_vec_template(a);
    if (tv && r->kind == EWK_UNARY && a->op_dtype == HODU_DTYPE_F32 && a->out_dtype == HODU_DTYPE_F32 && L->rank <= 1) {
        s.ops[0] = "x0";
        char *ve = ew_expand(tv, &s);
        /* constant loop bounds: the tail's trip count folds (a tail that
         * starts where the vector loop stopped trips gcc's
         * -Waggressive-loop-optimizations once inlined) */
        em_line(e, "for (int64_t i = 0; i < %" PRId64 " / HD_VF * HD_VF; i += HD_VF) {", numel);
        e->indent++;
        em_line(e, "const hd_vf x0 = hd_vf_load(in0 + i);");
        em_line(e, "hd_vf_store(out0 + i, %s);", ve);
        em_close(e);
        em_line(e, "for (int64_t i = %" PRId64 " / HD_VF * HD_VF; i < %" PRId64 "; i++) {", numel, numel);
        e->indent++;
        em_line(e, "const hd_vf x0 = hd_vf_splat(in0[i]);");
        em_line(e, "out0[i] = hd_vf_lane0(%s);", ve);
        em_close(e);
        free(ve);
        free(sa);
        free(sb);
        return true;
    }
    ew_open_loops(e, L, a->n + 1);
    /* Output index: the output is contiguous over the merged dims. */
    int64_t ost[HODU_MAX_RANK];
    int64_t sacc = 1;
    for (int j = L->rank - 1; j >= 0; j--) {
        ost[j] = sacc;
        sacc *= L->dims[j];
    }
    char *oidx = ew_index(L, ost);
    char *idx[EW_MAX_OPERANDS];
    for (int k = 0; k < a->n; k++)
        idx[k] = ew_index(L, L->st[k]);
    ew_emit_element(e, a, tpl, &s, idx, oidx);
    for (int k = 0; k < a->n; k++)
        free(idx[k]);
    free(oidx);
    for (int j = 0; j < L->rank; j++)
        em_close(e);
    free(sa);
    free(sb);
    return true;
}

/* One element inside the loops: operand k at in<idx>[idx[k]], the result
 * to out0[oidx]. */
static void ew_emit_element(op_emit *e, const ew_plan *a, const char *tpl, ew_subst *sp, char *const *idx,
                            const char *oidx)
{
    const ew_row *r = a->row;
    bool raw = (r->flags & EWF_RAW) != 0;
    const char *T = em_compute_ctype(a->op_dtype);
    ew_subst s = *sp;
    char names[EW_MAX_OPERANDS][16];
    for (int k = 0; k < a->n; k++) {
        hodu_dtype dt = a->v[k]->dtype;
        char *ref = hd_xasprintf("in%d[%s]", a->idx[k], idx[k]);
        char *ld = raw ? hd_xstrdup(ref) : em_load(dt, ref);
        snprintf(names[k], sizeof names[k], "x%d", a->idx[k]);
        em_line(e, "const %s %s = %s;", raw ? em_ctype(dt) : em_compute_ctype(dt), names[k], ld);
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
    if (raw) {
        em_line(e, "out0[%s] = %s;", oidx, expr);
    } else {
        char *st = em_store(a->out_dtype, expr);
        em_line(e, "out0[%s] = %s;", oidx, st);
        free(st);
    }
    free(expr);
}

/* A float32 member's formula over hd_vf vectors (operands and the result
 * are vectors; $a/$b literals stay scalars, which the vector arithmetic
 * broadcasts), or NULL when it has none.  Each keeps the scalar formula's
 * comparisons, so NaNs come out the same. */
#define VZ "hd_vf_splat(0.0f)"
#define VHSIG(y)                                                                                                       \
    "hd_vf_sel(hd_vf_lt(" y ", " VZ "), " VZ ", hd_vf_sel(hd_vf_lt(hd_vf_splat(1.0f), " y "), hd_vf_splat(1.0f), " y   \
    "))"
static char *ew_vec_member_template(const ew_plan *a, const char *scalar_tpl)
{
    if (a->op_dtype != HODU_DTYPE_F32 || a->out_dtype != HODU_DTYPE_F32)
        return NULL;
    const char *tv = ew_vec_template(a);
    if (tv)
        return hd_xstrdup(tv);
    switch (a->row->op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_NEG: return hd_xstrdup(scalar_tpl);                                    /* operators act lane by lane */
    case OP_POW: return strstr(scalar_tpl, "pow") ? NULL : hd_xstrdup(scalar_tpl); /* the product forms */
    case OP_RELU: return hd_xstrdup("hd_vf_sel(hd_vf_lt($0, " VZ "), " VZ ", $0)");
    case OP_LEAKY_RELU: return hd_xstrdup("hd_vf_sel(hd_vf_lt($0, " VZ "), $a * $0, $0)");
    case OP_HARD_SIGMOID: return hd_xstrdup(VHSIG("($a * $0 + $b)"));
    case OP_HARD_SWISH: return hd_xstrdup("($0 * " VHSIG("($0 * (1.0f / 6.0f) + 0.5f)") ")");
    case OP_CLIP: return a->form == EW_FORM_CLIP ? ew_clip_formula(a, "float", true) : NULL;
    default: return NULL;
    }
}
#undef VHSIG
#undef VZ

/* Pow by a constant 2 or 3 (GELU's tanh form cubes): products, not a
 * powf call per element.  `k` is the node input holding the exponent, or
 * -1.  x*x is what powf gives; x*x*x is within an ulp of it, with the same
 * signs, zeros, infinities and NaNs. */
static char *ew_pow_by_const(const op_emit *e, const ew_plan *a, int k, char *tpl)
{
    const ir_value *c = k >= 0 ? em_const_in(e, (size_t)k) : NULL;
    if (a->form != EW_FORM_POW_FLOAT || !c || ir_value_numel(c) != 1 ||
        (c->dtype != HODU_DTYPE_F32 && c->dtype != HODU_DTYPE_F64))
        return tpl;
    double x = c->dtype == HODU_DTYPE_F32 ? (double)*(const float *)c->data : *(const double *)c->data;
    if (x != 2.0 && x != 3.0)
        return tpl;
    free(tpl);
    return hd_xstrdup(x == 2.0 ? "((void)$1, $0 * $0)" : "((void)$1, $0 * $0 * $0)"); /* $1 stays read */
}

/* The plan and template of row node `node`; reports on `node` and returns
 * NULL on failure. */
static char *ew_plan_template(op_emit *e, int node, ew_plan *a, const char *fallback)
{
    char *why = NULL;
    if (!ew_plan_of(e->g, node, a, &why)) {
        ir_node_error(e->d, e->g, node, "%s", why ? why : fallback);
        free(why);
        return NULL;
    }
    char *tpl = ew_template(a);
    if (!tpl)
        ir_node_error(e->d, e->g, node, "internal error: no C formula for element type %s", ir_dtype_name(a->op_dtype));
    return tpl;
}

/* `(void)` for the parameters an elementwise body never reads: CastLike's
 * second input (only its type matters) and, for an empty output, all. */
static void ew_void_unused(op_emit *e)
{
    const ir_node *n = em_node(e);
    bool empty = ir_value_numel(em_out(e, 0)) == 0;
    for (size_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && (empty || (n->op == OP_CAST_LIKE && k == 1)))
            em_line(e, "(void)in%zu;", k);
    for (size_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0 && empty)
            em_line(e, "(void)out%zu;", k);
}

/* Cast / CastLike from or to a narrow type (ew_is_narrow_cast): every
 * element goes through float (narrow floats, and any float source) or
 * int64 (narrow ints, and integer or bool sources) with the kernel
 * layer's conversions, which apply the node's saturate and round_mode. */
static bool ew_emit_narrow_cast(op_emit *e)
{
    const ir_node *n = em_node(e);
    hodu_dtype from = em_in(e, 0)->dtype, to = em_out(e, 0)->dtype;
    int64_t numel = ir_value_numel(em_out(e, 0));
    if (numel <= 0)
        return true;
    int sat = ir_attr_int(n, "saturate", 1) != 0;
    const char *round = ir_attr_string(n, "round_mode", "up");
    int mode = strcmp(round, "down") == 0 ? 1 : strcmp(round, "nearest") == 0 ? 2 : 0;
    int nbits = ir_dtype_narrow_bits(from);
    bool narrow_float_from = from == HODU_DTYPE_F4E2M1 || (nbits == 8 && from != HODU_DTYPE_F8E8M0);
    char *v; /* the source element as float/double (is_float) or int64 */
    bool is_float = true;
    if (from == HODU_DTYPE_F8E8M0)
        v = hd_xstrdup("hd_e8m0_to_f32(in0[i])");
    else if (narrow_float_from)
        v = hd_xasprintf("hd_nf_to_f32(%d, in0[i])", (int)from);
    else if (nbits) {
        v = hd_xasprintf("hd_ni_to_i64(%d, in0[i])", (int)from);
        is_float = false;
    } else if (ir_dtype_is_float(from)) {
        v = em_load(from, "in0[i]");
    } else {
        v = hd_xstrdup(from == HODU_DTYPE_U64 ? "(double)in0[i]" : "(int64_t)in0[i]");
        is_float = from == HODU_DTYPE_U64; /* wider than int64: through double */
    }
    char *store;
    if (to == HODU_DTYPE_F8E8M0)
        store = hd_xasprintf("hd_e8m0_from_f32((float)(%s), %d, %d)", v, sat, mode);
    else if (to == HODU_DTYPE_F4E2M1 || (ir_dtype_narrow_bits(to) == 8))
        store = hd_xasprintf("hd_nf_from_f32(%d, (float)(%s), %d)", (int)to, v, sat);
    else if (ir_dtype_is_narrow(to))
        store = hd_xasprintf(is_float ? "hd_ni_from_f64(%d, (double)(%s))" : "hd_ni_from_i64(%d, %s)", (int)to, v);
    else
        store = em_store(to, v);
    em_par_for(e, "i", numel, 64, 1);
    em_line(e, "out0[i] = %s;", store);
    em_close(e);
    free(store);
    free(v);
    return true;
}

/* The node's plan and formula (NULL after reporting). */
static char *ew_node_template(op_emit *e, ew_plan *a)
{
    char *tpl = ew_plan_template(e, e->node, a, "internal error: inconsistent elementwise node");
    return tpl ? ew_pow_by_const(e, a, 1, tpl) : NULL;
}

static bool ew_emit_args_rt(op_emit *e, const ew_plan *a, const char *tpl);

/* The node's function body; `rt`: on the general path. */
static bool ew_emit_node(op_emit *e, bool rt)
{
    if (em_node(e)->op == OP_EQUAL && em_in(e, 0)->dtype == HODU_DTYPE_STRING)
        return str_emit_equal(e);
    ew_void_unused(e);
    if (ew_is_narrow_cast(e->g, e->node)) {
        if (!rt)
            return ew_emit_narrow_cast(e);
        ir_node_error(e->d, e->g, e->node,
                      "a Cast to or from a narrow type over run-time dims that are not leading dims is not "
                      "supported yet; bind them with --dim SYM=N");
        return false;
    }
    ew_plan a;
    char *tpl = ew_node_template(e, &a);
    if (!tpl)
        return false;
    bool ok = true;
    if (a.row->kind == EWK_CAST && a.op_dtype == a.out_dtype && rt) {
        ok = em_copy_rt(e);
    } else if (a.row->kind == EWK_CAST && a.op_dtype == a.out_dtype) {
        size_t nbytes = ir_value_nbytes(em_out(e, 0));
        if (nbytes)
            em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    } else {
        ok = rt ? ew_emit_args_rt(e, &a, tpl) : ew_emit_args(e, &a, tpl);
    }
    free(tpl);
    return ok;
}

static bool ew_emit(op_emit *e) { return ew_emit_node(e, false); }
static bool ew_emit_rt(op_emit *e) { return ew_emit_node(e, true); }

/* The general path (ir_node.rt_general): the loops run over the output's
 * dims as this run has them; an operand's stride along a dim is 0 where it
 * broadcasts, else the product of its later dims. */
static bool ew_emit_args_rt(op_emit *e, const ew_plan *a, const char *tpl)
{
    const ir_value *out = em_out(e, 0);
    const char *T = em_compute_ctype(a->op_dtype);
    const char *lit_ct = ew_class_of(a->op_dtype) == EWC_FLOAT ? T : "double";
    char *sa, *sb;
    ew_subst s = ew_subst_for(a, lit_ct, &sa, &sb);
    int r = out->rank;
    hd_buf oidx, idx[EW_MAX_OPERANDS];
    hd_buf_init(&oidx);
    for (int k = 0; k < a->n; k++) {
        hd_buf_init(&idx[k]);
        hd_buf_puts(&idx[k], "0");
    }
    for (int o = 0; o < r; o++) {
        em_line(e, "const int64_t n%d = %s;", o, em_dim(e->g, out, o).s);
        for (int k = 0; k < a->n; k++) {
            int i = o - (r - a->v[k]->rank);
            if (em_rt_broadcasts(a->v[k], i, &out->dims[o]))
                continue;
            hd_buf_printf(&idx[k], " + i%d * ", o);
            em_rt_elems(e->g, a->v[k], i, &idx[k]);
        }
    }
    if (r > 0) {
        em_line(e, "(void)n0;");
        em_rt_outer_loop(e, out, a->n + 1);
    }
    em_rt_loops(e, 1, r, &oidx);
    char *ix[EW_MAX_OPERANDS] = {0};
    for (int k = 0; k < a->n; k++)
        ix[k] = idx[k].data;
    ew_emit_element(e, a, tpl, &s, ix, oidx.data);
    for (int o = 0; o < r; o++)
        em_close(e);
    for (int k = 0; k < a->n; k++)
        hd_buf_free(&idx[k]);
    hd_buf_free(&oidx);
    free(sa);
    free(sb);
    return true;
}

/* Writes `const T t<m> = <formula>;` for members first.. of `body`, whose
 * operands are t<j> for an earlier member j and x<k> for body input k (the
 * caller declares those, and t<first-1> when first > 0).  Returns the last
 * member's index, or -1 after reporting on the node. */
int ew_emit_members(op_emit *e, const ir_graph *body, size_t first, bool vec)
{
    ew_fused_plan fp;
    memset(&fp, 0, sizeof fp);
    fp.body = body;
    fp.n_members = body->n_nodes;
    bool ok = true;
    int last = -1;
    for (size_t m = first; m < fp.n_members && ok; m++) {
        int mid = (int)m;
        ew_plan a;
        char *why = NULL;
        char *tpl = NULL;
        if (!ew_plan_of(fp.body, mid, &a, &why))
            ir_node_error(e->d, e->g, e->node, "member %d (%s): %s", mid, fp.body->nodes[m].op_type,
                          why ? why : "internal error: cannot fuse");
        else if (!(tpl = ew_template(&a)))
            ir_node_error(e->d, e->g, e->node, "member %d (%s): internal error: no C formula for element type %s", mid,
                          fp.body->nodes[m].op_type, ir_dtype_name(a.op_dtype));
        free(why);
        if (!tpl) {
            ok = false;
            break;
        }
        if (a.n >= 2 && a.idx[1] == 1) {
            bool from_member;
            int src = ew_fused_source(&fp, m, 1, &from_member);
            tpl = ew_pow_by_const(e, &a, from_member ? -1 : src, tpl);
        }
        if (vec) {
            char *tv = ew_vec_member_template(&a, tpl);
            free(tpl);
            if (!tv) {
                ok = false; /* no vector form: the caller falls back, nothing reported */
                break;
            }
            tpl = tv;
        }
        /* Members are f32 or f64 only, so literals take the compute type. */
        const char *T = em_compute_ctype(a.op_dtype);
        char *sa, *sb;
        ew_subst s = ew_subst_for(&a, T, &sa, &sb);
        char names[10][24];
        for (int k = 0; k < a.n && a.idx[k] < 10; k++) {
            bool from_member;
            int src = ew_fused_source(&fp, m, (size_t)a.idx[k], &from_member);
            if (src < 0) {
                ir_node_error(e->d, e->g, e->node, "internal error: member %d operand %d has no source", mid, a.idx[k]);
                ok = false;
                break;
            }
            snprintf(names[a.idx[k]], sizeof names[0], from_member ? "t%d" : "x%d", src);
            s.ops[a.idx[k]] = names[a.idx[k]];
        }
        if (ok) {
            char *expr = ew_expand(tpl, &s);
            em_line(e, "const %s t%d = %s;", vec ? "hd_vf" : T, mid, expr);
            last = mid;
            free(expr);
        }
        free(tpl);
        free(sa);
        free(sb);
    }
    return ok ? last : -1;
}

/* hodu.FusedElementwise: one loop nest over the output; member m's formula
 * becomes a local t<m> computed from externals (x<k>) and earlier members,
 * so intermediates are never stored.  Members are planned in the node's
 * body (ew_fused_plan). */
static bool ew_fused_emit(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *out = em_out(e, 0);
    ew_fused_plan fp;
    bool planned = ew_fused_plan_of(e->g, e->node, &fp);
    int64_t numel = ir_value_numel(out);
    for (size_t k = 0; k < n->n_inputs; k++)
        em_line(e, "(void)in%zu;", k);
    if (numel <= 0)
        return true;
    if (!planned || fp.n_members == 0) {
        ir_node_error(e->d, e->g, e->node,
                      "internal error: malformed fused node (no body, a member that is not fusable, or more "
                      "than %d inputs)",
                      EW_MAX_OPERANDS);
        return false;
    }

    const ew_loops *L = &fp.loops;
    int64_t ost[HODU_MAX_RANK], acc = 1;
    for (int j = L->rank - 1; j >= 0; j--) {
        ost[j] = acc;
        acc *= L->dims[j];
    }
    ew_open_loops(e, L, (int64_t)fp.n_members + fp.n_ext);
    for (int k = 0; k < fp.n_ext; k++) {
        char *idx = ew_index(L, L->st[k]);
        em_line(e, "const %s x%d = in%d[%s];", em_ctype(ir_val(e->g, n->inputs[k])->dtype), k, k, idx);
        free(idx);
    }
    int last = ew_emit_members(e, fp.body, 0, false);
    bool ok = last >= 0;
    if (ok) {
        char *oidx = ew_index(L, ost);
        em_line(e, "out0[%s] = t%d;", oidx, last);
        free(oidx);
    }
    for (int j = 0; j < L->rank; j++)
        em_close(e);
    return ok;
}

/* Dropout (inference form): a copy, and an all-true mask.  A run-time
 * ratio must lie in [0, 1) (NaN fails), and a run-time training mode is
 * allowed only with ratio 0: random dropout stops the run. */
static bool dropout_emit(op_emit *e)
{
    const ir_value *rv = em_in(e, 1), *tv = em_in(e, 2);
    bool rt_ratio = rv && rv->kind != IR_VALUE_CONST, rt_train = tv && tv->kind != IR_VALUE_CONST;
    if (rt_ratio || rt_train) {
        e->can_fail = true;
        int64_t train = 0;
        if (tv && !rt_train && ir_const_as_i64(e->g, em_node(e)->inputs[2], &train, 1) != 1)
            return false;
        double ratio = ir_attr_float(em_node(e), "ratio", 0.5);
        if (rv && !rt_ratio && ir_const_as_f64(e->g, em_node(e)->inputs[1], &ratio, 1) != 1)
            return false;
        if (rt_ratio) {
            char *r = em_load(rv->dtype, "in1[0]");
            em_line(e, "const double ratio = (double)%s;", r);
            free(r);
            em_line(e, "if (!(ratio >= 0 && ratio < 1)) return 1;");
        } else
            em_line(e, "const double ratio = %s;", em_f64(ratio).s);
        em_line(e, "if (%s && ratio != 0) return 1; /* random dropout */", rt_train ? "in2[0]" : train ? "1" : "0");
    }
    for (size_t k = 1; k < 3; k++)
        if (em_in(e, k) && !(k == 1 ? rt_ratio : rt_train))
            em_line(e, "(void)in%zu;", k);
    const ir_value *out = em_out(e, 0);
    size_t nbytes = ir_value_nbytes(out);
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    else
        em_line(e, "(void)in0, (void)out0;");
    const ir_value *mask = em_out(e, 1);
    if (mask) {
        size_t mb = ir_value_nbytes(mask);
        if (mb)
            em_line(e, "memset(out1, 1, %zu);", mb);
        else
            em_line(e, "(void)out1;");
    }
    return true;
}

/* ======================================================================== */
/* Registration                                                              */
/* ======================================================================== */

/* True when the formulas cover exactly the classes the op accepts; an op
 * whose table disagrees is left unlowered (the build then names it) rather
 * than failing inside emission. */
static bool ew_formula_agrees(const ew_formula *f)
{
    const ew_row *r = ew_row_of(f->op);
    if (!r)
        return false;
    for (int c = EWC_FLOAT; c <= EWC_BOOL; c++)
        if ((f->t[c] != NULL) != ((r->classes & EW_CLS(c)) != 0))
            return false;
    return true;
}

void native_register_elementwise(native_lowering *table)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(ew_formulas); i++)
        if (ew_formula_agrees(&ew_formulas[i]))
            table[ew_formulas[i].op] = (native_lowering){.emit = ew_emit, .emit_rt = ew_emit_rt};
    table[OP_FUSED_ELEMENTWISE] = (native_lowering){.emit = ew_fused_emit};
    table[OP_DROPOUT] = (native_lowering){.emit = dropout_emit};
}
