/*
 * ops/elementwise.h - the elementwise family's semantic face for backends.
 *
 * Every op of the family except Dropout and hodu.FusedElementwise is a row
 * (ew_row): its kind (how many operands, how they broadcast), the operand
 * classes it accepts and a few flags.  A node of a row op is described by an
 * ew_plan, computed once here from the node's shapes and attributes: its
 * operands placed in the output's dims, the dtypes it computes on and
 * stores, the formula variant its attributes select (ew_form), its
 * attribute constants and the loop nest over the output with each operand's
 * strides.  Folding (ops/elementwise.c) evaluates a plan on the host and a
 * backend writes the same plan as code, so folded values equal run-time
 * values.  The formulas' code belongs to the backends: a backend maps
 * (op, operand class, form) to its own expression of the formula.
 *
 * A hodu.FusedElementwise node (made by pass_fuse_elementwise) has an
 * ew_fused_plan: its members in evaluation order, the loop nest over its
 * external operands, and where each member's operands come from.
 */
#ifndef HODU_OPS_ELEMENTWISE_H
#define HODU_OPS_ELEMENTWISE_H

#include <stdbool.h>
#include <stdint.h>

#include "ops.h"

/* Most operands one node may have (Sum/Max/... are variadic). */
#define EW_MAX_OPERANDS 64

/* Operand class: which variant of a formula applies to a dtype. */
typedef enum ew_class { EWC_NONE = -1, EWC_FLOAT = 0, EWC_SIGNED, EWC_UNSIGNED, EWC_BOOL } ew_class;

ew_class ew_class_of(hodu_dtype t);

typedef enum ew_kind {
    EWK_UNARY,    /* one operand */
    EWK_BINARY,   /* two operands, multidirectional broadcast */
    EWK_VARIADIC, /* 1..n operands folded left with the binary formula */
    EWK_PRELU,    /* slope broadcasts to X (unidirectional) */
    EWK_CLIP,     /* X plus optional scalar min/max inputs */
    EWK_WHERE,    /* cond, x, y */
    EWK_CAST      /* Cast / CastLike */
} ew_kind;

/* ew_row.flags */
enum {
    EWF_BOOL_OUT = 1u, /* output is bool (comparisons, IsNaN, ...) */
    EWF_MIXED = 2u,    /* operand dtypes may differ (Pow, Cast) */
    EWF_RAW = 4u,      /* operands move as stored bits (Where) */
    /* Transcendental f32 activation with a vector-math form in the kernel
     * layer: fusion leaves it alone, since a fused scalar loop would be
     * slower than the vector form over the whole array.  A backend's vector
     * forms cover exactly these rows. */
    EWF_VECMATH = 8u
};

/* ew_row.classes: bit (1 << class) per accepted operand class. */
#define EW_CLS(c) (1u << (c))

typedef struct ew_row {
    op_id op;
    ew_kind kind;
    unsigned flags;   /* EWF_* */
    unsigned classes; /* EW_CLS(EWC_FLOAT) | ...: the classes the op accepts */
    int hop;          /* host evaluator; private to folding (0: not folded) */
} ew_row;

/* The row of an op_id; NULL for ops that are not rows (Dropout, fused). */
const ew_row *ew_row_of(int op);

/* Which formula a node uses where its attributes or operand types choose
 * one; every other row uses EW_FORM_ROW, the row's formula for the class. */
typedef enum ew_form {
    EW_FORM_ROW,
    EW_FORM_ISINF_ANY,     /* IsInf, detect both signs */
    EW_FORM_ISINF_POS,     /* IsInf, +inf only */
    EW_FORM_ISINF_NEG,     /* IsInf, -inf only */
    EW_FORM_ISINF_NONE,    /* IsInf, neither: always false */
    EW_FORM_GELU_ERF,      /* Gelu approximate="none" */
    EW_FORM_GELU_TANH,     /* Gelu approximate="tanh" */
    EW_FORM_POW_FLOAT,     /* float base, exponent of any numeric type */
    EW_FORM_POW_INT_FLOAT, /* integer base, float exponent: through double */
    EW_FORM_POW_INT,       /* integer base and exponent: wrapping power */
    EW_FORM_MOD_C,         /* Mod fmod=1: result takes the dividend's sign */
    EW_FORM_MOD_PY,        /* Mod fmod=0: result takes the divisor's sign */
    EW_FORM_SHIFT_LEFT,    /* BitShift direction="LEFT" */
    EW_FORM_SHIFT_RIGHT,   /* BitShift direction="RIGHT" */
    EW_FORM_CLIP           /* Clip: bounds in ew_plan.lo / .hi */
} ew_form;

/* Where a Clip bound comes from. */
typedef enum ew_bound {
    EW_BOUND_NONE,  /* unbounded on that side */
    EW_BOUND_INPUT, /* the scalar input (1 for min, 2 for max) */
    EW_BOUND_ATTR   /* the min/max attribute (opset < 11), in .value */
} ew_bound;

/* A loop nest over an output: size-1 dims dropped, dims that are contiguous
 * for every operand merged.  The output is row-major contiguous over `dims`;
 * st[k][j] is operand k's element stride in loop j (0: broadcast). */
typedef struct ew_loops {
    int rank;
    int64_t dims[HODU_MAX_RANK];
    int64_t st[EW_MAX_OPERANDS][HODU_MAX_RANK];
} ew_loops;

/* One row node, as folding and code generation see it. */
typedef struct ew_plan {
    const ew_row *row;
    int n;                              /* operands (present inputs; Cast: 1) */
    int idx[EW_MAX_OPERANDS];           /* ONNX input index of each */
    const ir_value *v[EW_MAX_OPERANDS]; /* its value */
    int off[EW_MAX_OPERANDS];           /* output dim where its dim 0 sits */
    int out_rank;
    hodu_dtype op_dtype;  /* dtype the formula computes on (Where: x's) */
    hodu_dtype out_dtype; /* dtype of output 0 */
    ew_form form;
    int n_consts;              /* attribute constants used by the formula ... */
    double consts[2];          /* ... (LeakyRelu alpha; Selu alpha, gamma; ...) */
    ew_bound lo, hi;           /* Clip bounds */
    double lo_value, hi_value; /* for EW_BOUND_ATTR */
    ew_loops loops;            /* over output 0 */
} ew_plan;

/* Plans row node `node` (after inference).  On failure returns false with
 * *why set to a malloc'd reason when the node's types or attributes are
 * refused, or NULL when it is not a consistent elementwise node. */
bool ew_plan_of(const ir_graph *g, int node, ew_plan *p, char **why);
/* True for a Cast / CastLike from or to a narrow type (ir_dtype_is_narrow):
 * those have no plan; the backend converts element by element, with the
 * node's saturate and round_mode attributes (checked by inference). */
bool ew_is_narrow_cast(const ir_graph *g, int node);

/* A hodu.FusedElementwise node: inputs are the group's external operands,
 * the one output is the last member's; every member's result has the
 * output's shape and external operands broadcast into it.  The members are
 * the nodes of the node's body (ir.h, "Node bodies"): plan member m with
 * ew_plan_of(p->body, m, ...). */
typedef struct ew_fused_plan {
    const ir_graph *body; /* the fused node's body: member m is body node m */
    size_t n_members;     /* in evaluation order */
    int n_ext;            /* external operands: the fused node's inputs */
    ew_loops loops;       /* over the output; st[k] is external k's */
} ew_fused_plan;

/* Plans fused node `node`; false when it is malformed (no body, too many
 * inputs, or a member that is not fusable). */
bool ew_fused_plan_of(const ir_graph *g, int node, ew_fused_plan *p);

/* Whether the node may be a member of an epilogue (hodu.FusedEpilogue,
 * nn.h): what fuses into a loop, and also the float32 activations with a
 * vector-math kernel (Sigmoid, Tanh, Erf, Exp, ...), which a plain fused
 * loop would run element by element but an epilogue runs on vectors. */
bool ew_epilogue_fusable(const ir_graph *g, int node);

/* Where input `input` of member m comes from: with *from_member true, the
 * position of the earlier member computing it; else the index of the fused
 * node's external operand holding it.  -1 when it is neither (a body
 * ir_verify refuses). */
int ew_fused_source(const ew_fused_plan *p, size_t m, size_t input, bool *from_member);

#endif /* HODU_OPS_ELEMENTWISE_H */
