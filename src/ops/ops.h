/*
 * ops.h - op semantics: what the compiler knows about every operator,
 * independent of any backend.
 *
 * An op's identity (op_id, ONNX name and domain, opset range, arity, family)
 * is one line of op_list.def; its semantics (attribute schema, shape
 * inference, host-side constant folding, FLOPs, fusability, the gradient
 * slot) are an OP_DEF beside its functions in the family file
 * (ops/elementwise.c, ops/nn_conv.c, ...).  op_get(op_id) gives both as one
 * op_def.  Passes and backends tell ops apart by op_id (n->op == OP_CONV),
 * never by name.
 *
 * What a backend needs to lower an op beyond its shapes (geometry, views,
 * plans) comes from the family headers (ops/nn.h, ops/reduce.h, ...), whose
 * getters folding uses too.  Nothing here writes code: lowering is each
 * backend's (src/backend/<name>/).
 */
#ifndef HODU_OPS_H
#define HODU_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "util/util.h"

/* The newest default-domain opset op_list.def has been checked against: an
 * entry whose UNTIL is this has no later ONNX version that we know of.  Keep
 * it equal to the loader's HODU_ONNX_MAX_OPSET (a unit test checks). */
#define HD_OPSET_NEWEST 27

/* Every op, from op_list.def: OP_CONV, OP_ARG_MAX, ... */
typedef enum op_id {
#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY) OP_##ID,
#include "op_list.def"
#undef HD_OP
    OP_COUNT
} op_id;

/* The variant tag of an op: its kernel group, i.e. the family file that
 * holds its OP_DEF. */
typedef enum op_family {
    OP_FAMILY_ELEMENTWISE, /* elementwise.c */
    OP_FAMILY_REDUCE,      /* reduce.c: reductions, scans, softmax, norms, losses */
    OP_FAMILY_NN,          /* nn.c: MatMul, Gemm, Flatten */
    OP_FAMILY_NN_CONV,     /* nn_conv.c */
    OP_FAMILY_NN_POOL,     /* nn_pool.c */
    OP_FAMILY_NN_RESIZE,   /* nn_resize.c */
    OP_FAMILY_NN_SAMPLE,   /* nn_sample.c: GridSample, RoiAlign, Col2Im, DeformConv, ... */
    OP_FAMILY_SHAPE,       /* shape.c */
    OP_FAMILY_ATTENTION,   /* attention.c */
    OP_FAMILY_QUANT,       /* quant.c: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, BitCast */
    OP_FAMILY_STATEFUL,    /* stateful.c: ops that carry a recurrent state between calls */
    OP_FAMILY_RECURRENT,   /* recurrent.c: RNN, GRU, LSTM, ReverseSequence */
    OP_FAMILY_SIGNAL,      /* signal.c: DFT, STFT, windows, MelWeightMatrix */
    OP_FAMILY_LINALG,      /* linalg.c: Einsum, Det, LRN, TensorScatter */
    OP_FAMILY_OPTIM,       /* optim.c: Adagrad, Momentum, Adam (ai.onnx.preview.training) */
    OP_FAMILY_ML,          /* ml.c: Binarizer, ArrayFeatureExtractor (ai.onnx.ml), TfIdfVectorizer */
    OP_FAMILY_DYNAMIC,     /* dynamic.c: output size depends on data (NonZero, Unique, ...) */
    OP_FAMILY_CONTROL,     /* control.c: If, Loop, Scan (nodes that own subgraphs) */
    OP_FAMILY_RANDOM,      /* random.c: RandomUniform, RandomNormal, their *Like, Bernoulli, Multinomial */
    OP_FAMILY_STRING,      /* strings.c: StringConcat, StringSplit, RegexFullMatch, StringNormalizer, LabelEncoder,
                            * ImageDecoder */
    OP_FAMILY_SEQUENCE, /* sequence.c: Sequence*, SplitToSequence, ConcatFromSequence (lowered by passes/seqlower.c) */
    OP_FAMILY_COUNT_
} op_family;

/* Attribute schema entry: the kinds an attribute may legally have (a name
 * listed twice, with two kinds, may have either). */
typedef struct op_attr_spec {
    const char *name;
    ir_attr_kind kind;
} op_attr_spec;

/* Context for shape inference and folding of one node. */
typedef struct op_ctx {
    ir_graph *g;
    int node;
    hd_diag *d;
} op_ctx;

typedef bool (*op_infer_fn)(op_ctx *c);
typedef bool (*op_fold_fn)(op_ctx *c);
/* Floating-point operations one run of the node performs (multiply-adds
 * count as 2); used by --inspect. */
typedef int64_t (*op_flops_fn)(const ir_graph *g, int node);
/* True when the node can be evaluated element by element inside another
 * node's loop (pass_fuse_elementwise chains such nodes into one
 * hodu.FusedElementwise node). */
typedef bool (*op_fusable_fn)(const ir_graph *g, int node);
/* Reverse-mode rule: given the gradients of a node's outputs, adds the
 * nodes that compute its inputs' gradients (op_grad_ctx, below).  NULL
 * means the op is not differentiable, and asking for a gradient through it
 * is an error naming it. */
typedef struct op_grad_ctx op_grad_ctx;
typedef bool (*op_grad_fn)(op_grad_ctx *c);
/* Rewrites a typed node as ordinary ops that compute its results into the
 * same values, and leaves it dead; the new nodes are untyped.  An op with
 * one differentiates through it: pass_backward expands such nodes on the
 * gradient's path first (RNN, GRU, LSTM, unrolled over their steps). */
typedef bool (*op_expand_fn)(ir_graph *g, int node, hd_diag *d);

typedef struct op_def {
    /* Identity, from op_list.def (OP_DEF fills these in). */
    op_id id;
    const char *name;           /* ONNX op_type */
    const char *domain;         /* "" for ai.onnx */
    int since, until;           /* opset range the entry implements */
    int min_inputs, max_inputs; /* max -1: variadic */
    int min_outputs, max_outputs;
    op_family family;
    /* Semantics, from the family file. */
    const op_attr_spec *attrs; /* terminated by {NULL}; NULL = no attributes */
    op_infer_fn infer;         /* required */
    op_fold_fn fold;           /* optional: all inputs const -> outputs const */
    op_flops_fn flops;         /* optional: default is one per output element */
    op_fusable_fn fusable;     /* optional: default not fusable */
    op_grad_fn grad;           /* optional: NULL = not differentiable */
    op_expand_fn expand;       /* optional: differentiable through this instead */
    /* Control flow (If, Loop, Scan): types the inputs of the node's
     * subgraphs from its operands.  pass_infer_fold calls it, then infers
     * each subgraph, then calls `infer`, which reads the subgraphs'
     * results. */
    op_infer_fn type_subgraphs;
} op_def;

/* The op_def of an op_id; NULL for anything else (-1: unresolved). */
const op_def *op_get(int op);
/* Estimated floating-point operations of one run of a typed node: its
 * op's flops, else one per output element; saturating. */
uint64_t op_node_flops(const ir_graph *g, int node);
/* OP_COUNT, for loops over every op. */
int op_count(void);
/* The op_id of the entry named `name` in `domain` ("ai.onnx" and NULL mean
 * "") that implements `opset`, the model's default-domain opset; -1 when
 * there is none.  The range is checked for default-domain ops only, and not
 * at all when opset <= 0. */
int op_find(const char *domain, const char *name, int64_t opset);

/* Checks a node against its op's arity and attribute schema (unknown
 * attributes and wrong kinds are errors that name the attribute). */
bool op_check_node(const ir_graph *g, int node, hd_diag *d);

/* --- helpers for infer/fold ------------------------------------------- */

static inline const ir_node *op_node(const op_ctx *c) { return ir_nd(c->g, c->node); }
/* The i-th input value, or NULL when absent/omitted. */
ir_value *op_in(const op_ctx *c, size_t i);
int op_in_id(const op_ctx *c, size_t i);
/* The i-th output value, or NULL when absent/omitted. */
ir_value *op_out(const op_ctx *c, size_t i);
/* Reports an error on this node; always returns false. */
bool op_fail(op_ctx *c, const char *fmt, ...) HD_PRINTF(2, 3);
/* Sets output i's dtype and shape (no-op for an omitted output). */
void op_set_out(op_ctx *c, size_t i, hodu_dtype dtype, int rank, const int64_t *dims);
/* Copies dtype and shape (symbols included) from value `from`. */
void op_set_out_like(op_ctx *c, size_t i, const ir_value *from);
/* Fails unless input i is present, of static shape.  Returns it. */
ir_value *op_need_static(op_ctx *c, size_t i);
/* Reads input i as int64s; fails (naming the input) unless it is a build-time
 * constant.  Returns the count, or -1. */
long op_need_const_i64(op_ctx *c, size_t i, int64_t *out, size_t max, const char *what);
/* Reports that value `id` (what the op calls `what`) is not a build-time
 * constant: one "needs the value of graph input" error per graph input it
 * is computed from, else one saying it is computed at run time.  Returns
 * false. */
bool op_fail_not_const(op_ctx *c, int id, const char *what);
/* The shape the model declares for output i (a graph output's type), when
 * it is fully static: returns the rank and fills dims; -1 otherwise.  An
 * op whose shape-deciding operand is a run-time input may build for it;
 * its lowering then checks the operand's values (op_emit.can_fail). */
int op_declared_shape(op_ctx *c, size_t i, int64_t *dims);
/* The same for value `id`.  A value the model leaves undeclared (an
 * expanded function's intermediate) takes the declared shape of a value
 * that a shape-keeping op computes from it (unary elementwise, Cast,
 * CastLike, Clip, Identity, and elementwise ops whose other operands are
 * known single values).  A guess, but a safe one: an op that builds for a
 * declared shape checks its run-time operand against it, and inference
 * checks every shape downstream. */
int op_value_declared_shape(const ir_graph *g, int id, int64_t *dims);
/* The dims [*lo, *hi) of a rank-`rank` input that Shape node n returns
 * (its start and end, normalised and clamped). */
void op_shape_range(const ir_node *n, int rank, int *lo, int *hi);
/* Normalises a possibly negative axis against rank; fails when out of range. */
bool op_axis(op_ctx *c, int64_t axis, int rank, int *out);
/* Attribute `name` as distinct axes of a rank-`rank` tensor, normalised,
 * into axes[] (room for rank); *n receives the count.  Absent: every axis
 * in order.  Fails on an axis out of range, a repeat, more values than
 * dims, and an empty list unless allow_empty. */
bool op_attr_axes(op_ctx *c, const char *name, int rank, bool allow_empty, int *axes, int *n);
/* Numpy-style multidirectional broadcast of shapes a and b into out. */
bool op_broadcast(op_ctx *c, const ir_value *a, const ir_value *b, int *rank, int64_t *dims);
/* Checked int64 arithmetic for sizes computed from model numbers (dims,
 * pads, repeats, strides).  On overflow each reports "<what> is too large"
 * on this node and returns false.  Results that fit but exceed the tensor
 * limits are refused by pass_infer_fold once the output shape is set. */
bool op_ck_mul(op_ctx *c, int64_t a, int64_t b, int64_t *out, const char *what);
bool op_ck_add(op_ctx *c, int64_t a, int64_t b, int64_t *out, const char *what);
/* Saturating forms for estimates and scratch sizes, which have no diag to
 * report to: INT64_MAX / UINT64_MAX stand for "too large", and the memory
 * planner refuses a scratch of UINT64_MAX.  Operands must be >= 0. */
static inline int64_t op_sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return hd_mul_i64(a, b, &r) ? r : INT64_MAX;
}
static inline uint64_t op_sat_add_u64(uint64_t a, uint64_t b)
{
    uint64_t r;
    return hd_add_u64(a, b, &r) ? r : UINT64_MAX;
}
/* Bytes of a * b * c * d elements of `elem` bytes; UINT64_MAX if negative
 * or past 64 bits. */
static inline uint64_t op_bytes4(int64_t a, int64_t b, int64_t c, int64_t d, uint64_t elem)
{
    uint64_t r = elem;
    const int64_t f[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++)
        if (f[i] < 0 || !hd_mul_u64(r, (uint64_t)f[i], &r))
            return UINT64_MAX;
    return r;
}
/* Allocates (graph-owned) storage for output i and makes it constant. */
void *op_fold_alloc(op_ctx *c, size_t i);

/* --- gradient rules (grad.c) -------------------------------------------
 * pass_autodiff calls an op's rule once per node on the way back, with
 * the gradients of the node's outputs; the rule appends ordinary nodes
 * (ONNX ops, typed later by inference) that compute its inputs' gradients
 * and stores them in dx[].  Every value the rule reads is typed: the
 * forward node's operands and results, and the gradients. */
struct op_grad_ctx {
    ir_graph *g;
    int node; /* the forward node */
    hd_diag *d;
    const int *dy;    /* per output: its gradient (same type), or -1 (zero) */
    const bool *want; /* per input: its gradient is needed */
    int *dx;          /* per input: set by the rule; -1 stands for zero */
    int last;         /* the node og_op appended last */
    bool failed;      /* og_op met an op the model's opset lacks (reported) */
};

/* The forward node's input / output value i (-1 when absent). */
int og_x(const op_grad_ctx *c, size_t i);
int og_y(const op_grad_ctx *c, size_t i);
/* The gradient of output i; zeros of its type when nothing reads it. */
int og_dy(op_grad_ctx *c, size_t i);
/* Appends node `op` (default domain) reading ins[0..n) (-1: omitted) with
 * one result, which it returns; c->last is the node, for og_attr_*.  The
 * result is untyped until pass_autodiff infers the new nodes: take dtypes
 * and shapes from the forward node's values, never from it. */
int og_op(op_grad_ctx *c, const char *op, const int *ins, size_t n);
/* og_op of an op in `domain` ("hodu": an internal op). */
int og_op_in(op_grad_ctx *c, const char *domain, const char *op, const int *ins, size_t n);
int og_op1(op_grad_ctx *c, const char *op, int a);
int og_op2(op_grad_ctx *c, const char *op, int a, int b);
void og_attr_int(op_grad_ctx *c, const char *name, int64_t v);
void og_attr_float(op_grad_ctx *c, const char *name, double v);
void og_attr_ints(op_grad_ctx *c, const char *name, const int64_t *v, size_t n);
/* A scalar constant of the dtype of value `like`. */
int og_scalar(op_grad_ctx *c, double v, int like);
/* An int64 vector constant. */
int og_i64s(op_grad_ctx *c, const int64_t *v, size_t n);
/* Shape(v), as a value. */
int og_shape(op_grad_ctx *c, int v);
/* `op` (ReduceSum, ReduceMean, ..., Squeeze, Unsqueeze) over axes[0..n),
 * given as the input or the attribute the graph's opset has.  Beware: to
 * a reduction, n == 0 means every axis. */
int og_axes_op(op_grad_ctx *c, const char *op, int x, const int64_t *axes, size_t n);
/* The opset from which op's (ReduceSum, ..., Squeeze, Unsqueeze) axes are
 * an input instead of an attribute. */
int op_axes_input_since(const char *op);
/* `grad`, a gradient shaped like the broadcast result `out`, summed over
 * the dims that input `in` was broadcast along and reshaped to its shape;
 * the last `tail` dims are not broadcast (MatMul's matrices). */
int og_unbroadcast(op_grad_ctx *c, int grad, int in, int out, int tail);
/* The same with the result's dims given (rank ro). */
int og_unbroadcast_dims(op_grad_ctx *c, int grad, int in, const ir_dim *out_dims, int ro, int tail);
/* Sets dx[i] = g, unbroadcast from `out`'s shape, when wanted. */
void og_set(op_grad_ctx *c, size_t i, int g, int out);
/* The rule for an op with no gradient: an error naming the node; false. */
bool og_none(op_grad_ctx *c, const char *why);

/* --- run-time dims (rtdims.c) ------------------------------------------
 * An op computes on run-time dims (ir_dim.rt) when they are leading dims
 * it computes over independently; it is then planned and lowered for one
 * slice, the view in which each run-time dim is 1, and the generated code
 * runs the slice once per index of them.  Otherwise, for the ops with a
 * rule for their outputs' run-time dims (elementwise, Transpose, MatMul,
 * Softmax, Reshape, Slice, Gather, Expand, ...), the node takes the
 * general path (ir_node.rt_general): inferred at the top of the ranges,
 * lowered with its sizes read at run time. */

/* True when an input of the node has a run-time dim, or is a shape made
 * from one (ir_dimvals). */
bool op_rt_touches(const ir_graph *g, int node);
/* Shape inference for such a node: through the view when the run-time
 * dims are leading dims the op keeps, else on the general path; gives the
 * outputs their run-time dims. */
bool op_rt_infer(op_ctx *c);
/* After inference: Shape's result and what Gather, Concat, Slice,
 * Unsqueeze, ... compute from it carry their elements as ir_dimvals, or
 * become constants when no element is a run-time dim. */
void op_rt_dimvals(op_ctx *c);
/* The elements of input i as dims: its ir_dimvals, or a small integer
 * constant's numbers; false when it is neither (a value of the data). */
bool op_rt_elems(const op_ctx *c, size_t i, ir_dimvals *out);
/* Bounds of a small value (a vector of at most HODU_MAX_RANK elements)
 * that arithmetic on data computes from run-time dims (valbounds.c):
 * each element's interval from the dims' ranges, through Shape, Cast,
 * Gather, Slice, Concat, Add/Sub/Mul/Div, Reciprocal, Min/Max, Floor/Ceil/Round,
 * ReduceMin/Max, Clip, ...  sym[i] names the run-time dim element i is
 * exactly, or is NULL.  False when some element has no bound. */
typedef struct op_bounds {
    int n;
    double lo[HODU_MAX_RANK], hi[HODU_MAX_RANK];
    const char *sym[HODU_MAX_RANK];
} op_bounds;
bool op_value_bounds(const ir_graph *g, int id, op_bounds *out);
/* The bounds with run-time dim `sym` fixed to `val`: a caller bounds a sum
 * of the dim and the value jointly by walking the dim's sizes (at most
 * OP_BOUNDS_MAX_ENUM of them; op_value_bounds does so itself for each dim
 * it reads). */
#define OP_BOUNDS_MAX_ENUM 2048
bool op_value_bounds_at(const ir_graph *g, int id, const char *sym, int64_t val, op_bounds *out);
/* Pad on the general path (shape.c): constant mode, each output dim the
 * input's plus its pads (numbers, dims, or bounded data: a data symbol). */
bool shape_infer_pad_rt(op_ctx *c);
/* Resize and Upsample on the general path (nn_resize.c): output dims from
 * sizes as dims (or whole constant scales), the taps mapped in the run. */
bool nn_infer_resize_rt(op_ctx *c);
/* The node's run-time dims: syms[0..P) (its outputs' leading dims);
 * returns P, 0 when it has none. */
int op_rt_slice_dims(const ir_graph *g, int node, const char **syms);
/* A Slice on the general path (ir_node.rt_general): each input axis's
 * window.  The output's dim is the count from `start` by `step`. */
typedef enum op_rt_window {
    OP_RT_WINDOW_AT,       /* from start (a number) */
    OP_RT_WINDOW_FROM_END, /* from the run's size of the axis less -start */
    /* start, end and step clamped by the spec's rules against the run's
     * size of the axis: the count is a data symbol the node sets */
    OP_RT_WINDOW_CLIPPED,
    /* from a run-time dim (start_sym) to another, step 1, both within the
     * axis for every size (a detector's split per feature level) */
    OP_RT_WINDOW_AT_DIM
} op_rt_window;
typedef struct op_rt_slice_axis {
    op_rt_window kind;
    int64_t start, end, step;
    const char *start_sym; /* OP_RT_WINDOW_AT_DIM */
} op_rt_slice_axis;
bool op_rt_slice_steps(const ir_graph *g, int node, op_rt_slice_axis *axes);

typedef struct op_rt_saved {
    ir_graph *g;
    int id;
    ir_dim dims[HODU_MAX_RANK];
    ir_value_kind kind;
    const void *data;
    size_t nbytes;
    void *owned;
} op_rt_saved;
typedef struct op_rt_view {
    op_rt_saved *saved;
    size_t n, cap;
} op_rt_view;
/* The view of the node: every run-time dim of its operands, results and
 * body values becomes a static 1, and a shape operand with ir_dimvals a
 * constant with 1 for each run-time dim.  Nothing else may touch the graph
 * until op_rt_view_leave puts everything back.  With `whole`, the run-time
 * dims become static at the top of their range instead (size stays, the
 * flag goes): a lowering that takes the rows at run time (the native
 * backend's GEMMs) is planned for the largest case. */
void op_rt_view_enter(ir_graph *g, int node, op_rt_view *v, bool whole);
void op_rt_view_leave(op_rt_view *v);

#endif /* HODU_OPS_H */
