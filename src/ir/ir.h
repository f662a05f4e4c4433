/*
 * ir.h - Hodu's SSA graph IR.
 *
 * A graph is a list of values and a list of nodes.  Every value is defined
 * once: by a graph input, by a constant (weights, folded results), or by
 * exactly one output slot of one node.  Values and nodes are addressed by
 * index (int), never by pointer, so passes may append to the graph freely.
 *
 * Each value has a dtype and a shape.  A dim is either a known size or a
 * symbol (a name such as "batch" taken from the model); symbols are bound to
 * sizes before code generation (`--input-shape`, `--dim NAME=N`) or stay
 * run-time dims within declared bounds (`--dim NAME=LO..HI`, ir_dim.rt).
 * Rank -1 means "not yet inferred".  A known size may be an upper bound
 * only (ir_dim.data_dep: NonZero's and Unique's results, whose size the
 * data decides, named by data symbols; ir_dim.rt: a run-time dim).
 *
 * Constants are referenced, not copied: a constant value points at bytes
 * owned by the graph (ir_graph_keep) or at memory the graph adopted from the
 * loader (for ONNX, the file buffer holding raw_data).
 *
 * Every node and value carries an ir_loc: where in the source it came from.
 * Front ends set it (ONNX: file, list and index, node name as written; text
 * front ends: file and line:col span); a value defined by a node shares the
 * node's; nodes that passes make take the location of what they replace (a
 * fused node: its last member, whose result it defines; a folded value keeps
 * its node's).  Diagnostics about a node or value go through ir_node_error /
 * ir_value_error, which print the location in place of the file name:
 *
 *   hodu: error: model.onnx:node[12]: node 'conv1' (Conv): <text>
 *   hodu: error: model.onnx:input[0]: input 'x' has unbound dim 0 ...
 *   hodu: error: m.hodu:3:5: node 'y' (MatMul): <text>
 *
 * The --dump-ir text (ir_dump) prints no locations, so it stays the same
 * whatever a front end records; node lines end in "# <node name>".
 */
#ifndef HODU_IR_H
#define HODU_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hodu_abi.h"
#include "util/util.h"

/* Size limits for every tensor the compiler accepts (inputs, constants,
 * inferred outputs) and for the planned arena.  Anything larger is refused
 * with an error naming the value, so no size computation downstream (folding
 * buffers, memory offsets, strides and loop bounds in generated code) can
 * wrap.  1 TiB is far beyond any model Hodu targets yet leaves 2^23 of
 * headroom under INT64_MAX for products such as offset + size.  Because the
 * smallest element is one byte, the element limit equals the byte limit;
 * hd_shape_size also bounds the product of a shape's non-zero dims, so
 * strides of an empty tensor fit as well. */
#define HODU_MAX_TENSOR_BYTES (UINT64_C(1) << 40)
#define HODU_MAX_TENSOR_ELEMS (UINT64_C(1) << 40)

typedef struct ir_dim {
    int64_t size;    /* >= 0 when known; -1 when symbolic or unknown */
    const char *sym; /* symbol name (interned in the graph) or NULL */
    /* Data-dependent (NonZero, Unique, Compress, NonMaxSuppression, TopK
     * with a run-time K, ...): the actual size is only known when the
     * model runs and lies in [0, size]; `size` is the bound buffers are
     * sized for.  In the model's graph, pass_infer_fold names each such dim
     * with a data symbol (ir_graph_data_symbol) and makes it `rt`, so
     * later nodes compute on it as on any run-time dim; `data_dep` then
     * stays on the producing node's results only, marking the node that
     * sets the symbol.  Without a symbol (inside a subgraph, or unbounded)
     * such a value may only be a graph output.  The ABI reports actual
     * dims after each run. */
    bool data_dep;
    /* With data_dep: no bound is known at build time (StringSplit's token
     * dim); size is 0, the value must be a graph output that its node
     * writes, and the native code takes its buffer from the host's
     * allocator (hodu_abi.h, "unbounded"). */
    bool unbounded;
    /* A run-time dim (see "Run-time dims" below): named by `sym`, chosen
     * by the caller of each run within the symbol's range
     * (ir_graph_symbol_range); `size` is the range's top, the size buffers
     * are sized for. */
    bool rt;
} ir_dim;

/* The elements of a small integer value that are dims: Shape's result and
 * what Gather, Concat, Slice, ... make of it.  Element i is the run-time
 * dim sym[i] or, when sym[i] is NULL, the number val[i].  Ops that take a
 * shape as an operand (Reshape, Expand, ConstantOfShape) read it, so a
 * shape computed from run-time dims still decides shapes at build time.
 * Graph-owned. */
typedef struct ir_dimvals {
    int n;
    int64_t val[HODU_MAX_RANK];
    const char *sym[HODU_MAX_RANK];
} ir_dimvals;

/* Where a node or value came from.  Strings belong to the graph. */
typedef enum ir_loc_kind {
    IR_LOC_NONE = 0,         /* made by the compiler, nothing to point at */
    IR_LOC_ONNX_NODE,        /* graph.node[index] */
    IR_LOC_ONNX_INPUT,       /* graph.input[index] */
    IR_LOC_ONNX_INITIALIZER, /* graph.initializer[index] */
    IR_LOC_ONNX_OUTPUT,      /* graph.output[index]: only for messages about it */
    IR_LOC_TEXT              /* a text front end (HoduScript): a line:col span */
} ir_loc_kind;

typedef struct ir_loc {
    ir_loc_kind kind;
    const char *file; /* interned by ir_graph_file; NULL: unknown */
    const char *name; /* ONNX node: its name as written ("" if unnamed), or NULL */
    int64_t index;    /* ONNX: position in its list of the file's graph */
    /* IR_LOC_TEXT: 1-based; the span ends at end_line:end_col (inclusive) */
    int line, col, end_line, end_col;
} ir_loc;

typedef enum ir_value_kind {
    IR_VALUE_NODE = 0, /* produced by a node */
    IR_VALUE_INPUT,    /* a graph input supplied at run time */
    IR_VALUE_CONST     /* known at build time: data/nbytes are set */
} ir_value_kind;

typedef struct ir_value {
    char *name;
    hodu_dtype dtype;
    int rank; /* -1: unknown */
    ir_dim dims[HODU_MAX_RANK];
    ir_value_kind kind;
    bool is_output; /* listed in the graph outputs */
    int producer;   /* node index, or -1 */
    /* IR_VALUE_CONST only (nbytes also sizes `initial`, below) */
    const void *data;
    size_t nbytes;
    ir_loc loc;                /* the definition: input, initializer, or the node */
    const ir_dimvals *dimvals; /* NULL, or its elements as dims (see above) */
    /* An input that is state a host carries between runs (a training
     * step's parameters and optimizer state): the output value holding
     * its next value (-1: not state), and its first value (nbytes of it;
     * NULL: zeros), graph-owned. */
    int state_next;
    const void *initial;
} ir_value;

typedef enum ir_attr_kind {
    IR_ATTR_INT,
    IR_ATTR_FLOAT,
    IR_ATTR_STRING,
    IR_ATTR_INTS,
    IR_ATTR_FLOATS,
    IR_ATTR_STRINGS,
    IR_ATTR_TENSOR, /* `tensor` holds a const value index */
    IR_ATTR_GRAPH,  /* a subgraph (`graph`; see "Subgraphs" below) */
    IR_ATTR_OTHER   /* sparse tensors, type protos, ... */
} ir_attr_kind;

typedef struct ir_attr {
    char *name;
    ir_attr_kind kind;
    int64_t i;
    double f;
    char *s;
    size_t n; /* element count of ints/floats/strings */
    int64_t *ints;
    double *floats;
    char **strings;
    int tensor;
    /* IR_ATTR_GRAPH holding one graph (If's branches, Loop's and Scan's
     * body): the subgraph, owned by the attribute.  NULL for a GRAPHS list,
     * whose names alone are kept (attr->strings). */
    struct ir_graph *graph;
} ir_attr;

typedef struct ir_node {
    char *op_type; /* as written in the model, e.g. "Conv" */
    char *domain;  /* "" for the default ONNX domain */
    char *name;    /* from the model, or synthesised ("Conv_3") */
    int op;        /* index into the op table (ops.h), -1 if unknown */
    int *inputs;   /* value indices; -1 marks an omitted optional input */
    size_t n_inputs;
    int *outputs; /* value indices; -1 marks an omitted optional output */
    size_t n_outputs;
    ir_attr *attrs;
    size_t n_attrs, cap_attrs;
    bool dead; /* removed by a pass; skipped everywhere */
    ir_loc loc;
    /* A node that stands for several operations (hodu.FusedElementwise)
     * owns them as a private body; NULL for every other node.  See
     * "Node bodies" below. */
    struct ir_graph *body;
    /* Control flow: the last n_captures inputs are values of this graph
     * that the node's subgraphs read from the enclosing scope.  See
     * "Subgraphs" below. */
    size_t n_captures;
    /* Run-time dims that are not leading (ops/rtdims.c, "the general
     * path"): the node is lowered with its sizes read when the model runs,
     * not for a slice.  Set by shape inference. */
    bool rt_general;
    /* A node of a branch of an If over run-time dims, inlined
     * (pass_infer_fold): it runs only when value `guard` (one bool) is true,
     * or with guard_else false; -1: always.  The branches' results meet in
     * a hodu.Phi.  Schedules and readers count the guard as an operand. */
    int guard;
    bool guard_else;
    /* A recomputed copy (pass_recompute): ir_schedule runs it just before
     * its first reader instead of as soon as its operands are ready, so
     * its operands, not its result, stay live across the steps between. */
    bool late;
} ir_node;

/* A sequence or optional among the model's inputs (outputs): the tensors
 * it holds in the build, `items` (value ids, graph inputs or outputs), in
 * order (hodu_abi.h, hodu_value_desc). */
typedef struct ir_io_value {
    char *name;
    int kind; /* HODU_VALUE_* */
    bool present;
    bool is_output;
    bool lowered; /* a sequence output whose items replaced it (passes/seqlower.c) */
    int *items;
    size_t n_items;
} ir_io_value;

typedef struct ir_graph {
    char *name;
    char *source;  /* file the graph came from, for messages */
    int64_t opset; /* opset of the default ONNX domain; 0 when the model imports none (and has no op of it) */
    ir_value *values;
    size_t n_values, cap_values;
    ir_node *nodes;
    size_t n_nodes, cap_nodes;
    int *inputs; /* run-time inputs, in model order */
    size_t n_inputs, cap_inputs;
    int *outputs;
    size_t n_outputs, cap_outputs;
    /* memory the graph frees on destruction */
    void **owned;
    size_t n_owned, cap_owned;
    char **symbols; /* interned dim symbols */
    size_t n_symbols, cap_symbols;
    /* symbols[i] is a run-time dim of range [sym_lo[i], sym_hi[i]] when
     * sym_hi[i] >= 0 (ir_graph_set_symbol_range) */
    int64_t *sym_lo, *sym_hi;
    /* sym_poly[i].n > 0: symbols[i] is derived from others (see ir_poly),
     * not a dim a caller chooses */
    struct ir_poly *sym_poly;
    /* sym_quot[i].div > 0: symbols[i] is floor(num / div), a quotient of
     * others (ir_poly_floordiv) */
    struct ir_quot *sym_quot;
    /* sym_src[i] >= 0: symbols[i] is a data symbol, the size that value
     * sym_src[i]'s node decides when the model runs (ir_graph_data_symbol) */
    int *sym_src;
    char **sym_key; /* a data symbol's key (ir_graph_data_symbol), or NULL */
    char **files;   /* interned source file names (ir_loc.file) */
    size_t n_files, cap_files;
    /* A Slice of a run-time dim must give the window it names for every
     * size in the range (no clamping when the model runs, see
     * ops/rtdims.c): HoduScript, whose types say `T-1`, sets it. */
    bool exact_slices;
    /* A control-flow subgraph ("Subgraphs" below): the graph and node that
     * own it (for messages that trace a captured value outwards); NULL and
     * -1 for the model's graph. */
    struct ir_graph *parent;
    int parent_node;
    /* The model's sequence and optional inputs and outputs. */
    ir_io_value *io_values;
    size_t n_io_values, cap_io_values;
} ir_graph;

/* --- node bodies ---------------------------------------------------------
 *
 * A node with a body computes its result by running the body's nodes (its
 * members) in order.  The body is an ir_graph the node owns (freed with it)
 * and is self-contained: it never names a node or value of the outer graph.
 *
 *   - body input k (body->inputs[k]) stands for the node's input k and has
 *     the same dtype and shape (IR_VALUE_INPUT; no data, no constants);
 *   - member m is body node m; it has one output, and each of its operands
 *     is a body input or the result of a member before it (or -1, omitted);
 *   - body->outputs holds one value: the last member's result, which is the
 *     node's (single) output and has its dtype and shape.
 *
 * Members keep the op, op_type, domain, attributes (copied) and location of
 * the nodes they came from, so ops code plans them as it plans any node,
 * with the body as the graph.  ir_verify checks all of the above; ir_dump
 * prints the members inline, #k for body input k and @m for member m's
 * result:
 *
 *   %m : f32[2,8] = hodu.FusedElementwise(%x, %b, %z) {Add(#0, #1) -> Relu(@0) -> Mul(@1, #2)}
 */

/* A new body for `node`: one input per node input, typed like it.  Returns
 * the body (owned by the node) to be filled with ir_body_add_member. */
ir_graph *ir_node_new_body(ir_graph *g, int node);
/* Appends member `src` of graph `from` to the body: same op, op_type,
 * domain, attributes and location; operands[j] is a body value index (or
 * -1).  Its result is a new body value typed like src's output 0.  Returns
 * the member's result value. */
int ir_body_add_member(ir_graph *body, const ir_graph *from, int src, const int *operands, size_t n_operands);
/* Marks `value` as the body's result (the last member's). */
void ir_body_set_result(ir_graph *body, int value);
/* A copy of node `node` (no subgraphs) reading the same inputs: same op,
 * attributes, body and flags, its outputs fresh values typed like the
 * original's (named after them with `suffix`).  Returns the new node. */
int ir_node_clone(ir_graph *g, int node, const char *suffix);
/* A copy in g of node `node` of graph `from` (no subgraphs), reading
 * `inputs` and defining `outputs` (values of g): same op and attributes, a
 * tensor attribute's constant copied into g (sharing from's bytes, which
 * must outlive g's use).  Returns the new node. */
int ir_node_copy_from(ir_graph *g, const ir_graph *from, int node, const int *inputs, const int *outputs);

/* --- subgraphs -----------------------------------------------------------
 *
 * Control-flow nodes (If, Loop, Scan) own whole graphs, one per GRAPH
 * attribute (ir_attr.graph).  Unlike a node body, a subgraph is a complete
 * graph with its own inputs, constants, nodes and outputs, and every graph
 * stays closed: a value a subgraph reads from an enclosing scope (ONNX lets
 * it name any value visible there) becomes a captured operand.  The loader
 * appends it to the node's inputs (the last n_captures of them), and every
 * subgraph of the node gets a matching input at the end of its own inputs,
 * in the same order:
 *
 *   node inputs:     formal operands..., capture 0, ..., capture C-1
 *   subgraph inputs: formal inputs...,   capture 0, ..., capture C-1
 *
 * A value captured two levels up is captured by each node on the way.  The
 * formal inputs are the op's (Loop: iteration, condition, carried values;
 * Scan: states, scan elements; If: none); the op's inference gives them
 * their types.  ir_verify checks subgraphs recursively and that captured
 * inputs have their operands' types; ir_dump prints them indented under
 * their node. */

/* True when the node owns at least one subgraph. */
bool ir_node_has_subgraphs(const ir_node *n);
/* The subgraph attribute `name` of the node, or NULL. */
ir_graph *ir_node_subgraph(const ir_node *n, const char *name);

/* --- building ------------------------------------------------------------ */

ir_graph *ir_graph_new(const char *name, const char *source);
void ir_graph_free(ir_graph *g);

/* The graph takes ownership of `p` (freed with free()). Returns p. */
void *ir_graph_keep(ir_graph *g, void *p);
/* Interns a dim symbol and returns the graph's copy. */
const char *ir_graph_symbol(ir_graph *g, const char *sym);
/* Makes `sym` (interned) a run-time dim of range [lo, hi]. */
void ir_graph_set_symbol_range(ir_graph *g, const char *sym, int64_t lo, int64_t hi);
/* The range of run-time dim `sym`; false when it is none. */
bool ir_graph_symbol_range(const ir_graph *g, const char *sym, int64_t *lo, int64_t *hi);
/* A data symbol: dim `dim` of value `value`, which its node computes when
 * the model runs (NonZero's count, TopK's k read from a tensor), in
 * [0, bound].  Named "<value>.dim<dim>" (with a suffix when taken).  Every
 * op then sees an ordinary run-time dim; the backend sets the symbol's
 * size right after that node runs. */
const char *ir_graph_data_symbol(ir_graph *g, int value, int dim, int64_t bound);
/* The same, unless a data symbol was made with the same `key` (a text
 * that says what the size is, such as the sum a Concat makes): then that
 * one, since the two sizes are equal. */
const char *ir_graph_keyed_data_symbol(ir_graph *g, int value, int dim, int64_t bound, const char *key);
/* The value whose node decides data symbol `sym`, or -1 (any other
 * symbol). */
int ir_graph_symbol_source(const ir_graph *g, const char *sym);
/* True when the size of `sym` is known only once a node has run: a data
 * symbol or one derived from one (ir_poly). */
bool ir_graph_symbol_is_data(const ir_graph *g, const char *sym);

/* --- dims that follow from others (dims.c) ------------------------------
 * A run-time dim may be a polynomial in the free run-time dims (those a
 * caller chooses): a Flatten of batch and seq has batch*seq rows, a KV
 * cache grows to past+seq.  Its symbol is derived (ir_graph_symbol_poly),
 * named after its polynomial ("batch*seq", "past+seq") unless the model
 * named it (--dim total=past+seq), and its size in a run follows from
 * theirs.  Polynomials are canonical, so equal dims have equal ones.  A
 * static size is the constant polynomial. */
#define IR_TERM_FACTORS 8
#define IR_POLY_TERMS   8
typedef struct ir_term { /* coef times the factors (free symbols, sorted, repeated for powers) */
    int64_t coef;
    int n;
    const char *f[IR_TERM_FACTORS];
} ir_term;
typedef struct ir_poly { /* the sum of the terms; n == 0 is 0 */
    int n;
    ir_term t[IR_POLY_TERMS];
} ir_poly;
ir_poly ir_poly_const(int64_t c);
/* Dim d as a polynomial (a derived symbol expanded). */
ir_poly ir_dim_poly(const ir_graph *g, const ir_dim *d);
/* a + sign * b, a * b, and a / b when b divides a exactly (long division
 * by b's first term); false when they do not fit or a number overflows. */
bool ir_poly_add(const ir_poly *a, const ir_poly *b, int sign, ir_poly *out);
bool ir_poly_mul(const ir_poly *a, const ir_poly *b, ir_poly *out);
bool ir_poly_div(const ir_poly *a, const ir_poly *b, ir_poly *out);
bool ir_poly_equal(const ir_poly *a, const ir_poly *b);
/* The range of p over its factors' ranges. */
bool ir_poly_range(const ir_graph *g, const ir_poly *p, int64_t *lo, int64_t *hi);
/* "past+seq", "batch*seq*16", "seq-1". */
void ir_poly_print(const ir_poly *p, hd_buf *b);
/* The dim p is: static for a constant, the free symbol itself for 1 * sym,
 * else its derived symbol (made when new).  False when p may be negative,
 * its range overflows, or its name is a dim the model named otherwise. */
bool ir_graph_poly_dim(ir_graph *g, const ir_poly *p, ir_dim *out);
/* symbols[i]'s polynomial when it is derived, else NULL. */
const ir_poly *ir_graph_symbol_poly(const ir_graph *g, size_t i);
/* Makes `sym` the derived symbol p (--dim total=past+seq); false when p
 * may be negative or its range overflows. */
bool ir_graph_define_symbol(ir_graph *g, const char *sym, const ir_poly *p);
/* A quotient symbol: floor(num / div), div >= 2, num >= 0 over its whole
 * range (so C's division floors it), num's constant in [0, div) and no
 * factor common to div and every coefficient: floor((H-1)/2)+1 and
 * floor((H+1)/2) are the one symbol "(H+1)/2".  Its factors may be
 * quotient symbols themselves (a symbol of symbols); every symbol's
 * factors come before it in the graph's list, so computing them in list
 * order is dependency order. */
typedef struct ir_quot {
    ir_poly num;
    int64_t div;
} ir_quot;
/* floor(p / d) for d >= 1: an exact polynomial when d divides p, else a
 * quotient symbol (made when new) plus a constant.  False, with *why
 * saying so, when the quotient's numerator may be negative, a number
 * overflows, or its name is a dim the model named otherwise. */
bool ir_poly_floordiv(ir_graph *g, const ir_poly *p, int64_t d, ir_poly *out, const char **why);
/* symbols[i]'s quotient when it is one, else NULL. */
const ir_quot *ir_graph_symbol_quot(const ir_graph *g, size_t i);
/* True when symbols[i] follows from others (a polynomial or a quotient). */
bool ir_graph_symbol_derived(const ir_graph *g, size_t i);

/* Parses "past+seq", "2*seq-1": sums and differences of products of
 * numbers and free run-time dims; *why says what is wrong. */
bool ir_poly_parse(ir_graph *g, const char *text, ir_poly *out, hd_buf *why);

/* Interns a source file name for ir_loc.file and returns the graph's copy. */
const char *ir_graph_file(ir_graph *g, const char *path);
/* A copy of `s` that the graph owns (for ir_loc.name). */
const char *ir_graph_string(ir_graph *g, const char *s);

/* A fresh value with unknown dtype and shape and no location.  `name` may
 * be NULL. */
int ir_value_new(ir_graph *g, const char *name);
/* A constant.  `data` must stay valid for the graph's life (see
 * ir_graph_keep); nbytes must equal numel * dtype size. */
int ir_const_new(ir_graph *g, const char *name, hodu_dtype dtype, int rank, const int64_t *dims, const void *data,
                 size_t nbytes);
/* Turns an existing value into a constant (used by folding). */
void ir_value_set_const(ir_graph *g, int v, const void *data, size_t nbytes);

/* A node.  Its location is the one of its first output that has one (a
 * node a pass makes usually takes over defining a value from the nodes it
 * replaces); set another with ir_node_set_loc. */
int ir_node_new(ir_graph *g, const char *op_type, const char *domain, const char *name, const int *inputs,
                size_t n_inputs, const int *outputs, size_t n_outputs);
/* Frees the values, nodes and owned memory past the first n_values,
 * n_nodes and n_owned (the builder's undo of a failed call; nothing kept
 * may refer to them). */
void ir_graph_truncate(ir_graph *g, size_t n_values, size_t n_nodes, size_t n_owned);
/* Sets the node's location, and its outputs' (they are defined there). */
void ir_node_set_loc(ir_graph *g, int node, ir_loc loc);
/* Appends an attribute and returns it for the caller to fill in. */
ir_attr *ir_node_add_attr(ir_graph *g, int node, const char *name, ir_attr_kind kind);

/* --- queries ------------------------------------------------------------- */

static inline ir_value *ir_val(const ir_graph *g, int v) { return &g->values[v]; }
static inline ir_node *ir_nd(const ir_graph *g, int n) { return &g->nodes[n]; }

const char *ir_dtype_name(hodu_dtype t);
size_t ir_dtype_size(hodu_dtype t);
/* The C type one element is stored as (hodu_abi.h): "float", "uint8_t"
 * for bool and the narrow types, "uint16_t" for f16 and bf16,
 * "hodu_string"; NULL for undefined. */
const char *ir_dtype_c_type(hodu_dtype t);
bool ir_dtype_is_float(hodu_dtype t);  /* f16, bf16, f32, f64 */
bool ir_dtype_is_signed(hodu_dtype t); /* signed ints */
bool ir_dtype_is_int(hodu_dtype t);    /* any integer type, not bool */
/* The storage-only types: 8-bit floats, 4- and 2-bit ints and floats, one
 * element per byte.  Only conversions (Cast, CastLike) compute on them;
 * ops that move bytes carry them like any 1-byte type; is_float and is_int
 * are false for them, so arithmetic ops refuse them. */
bool ir_dtype_is_narrow(hodu_dtype t);
/* Name of an ONNX element type number, including those Hodu does not
 * compile (string, complex64, complex128); NULL for a number that is no
 * element type. */
const char *ir_onnx_type_name(int64_t t);
/* Bits of a narrow type's code (8, 4 or 2); 0 for other types. */
int ir_dtype_narrow_bits(hodu_dtype t);

/* True when every dim is known (a data-dependent dim counts: its bound is). */
bool ir_value_is_static(const ir_value *v);
/* True when some dim of v is data-dependent (ir_dim.data_dep). */
bool ir_value_has_data_dep(const ir_value *v);
/* True when some data-dependent dim of v has no data symbol (unbounded,
 * or inside a subgraph): no node may read such a value. */
bool ir_value_has_symbolless_data_dep(const ir_value *v);
/* True when a dim of v is unbounded (ir_dim.unbounded). */
bool ir_value_has_unbounded(const ir_value *v);
/* True when some dim of v is a run-time dim (ir_dim.rt). */
bool ir_value_has_rt(const ir_value *v);
/* True when every dim is a build-time size: static, and no dim chosen at
 * run time or decided by data (their sizes are only bounds). */
bool ir_value_is_fixed(const ir_value *v);
/* Same dtype, rank and dims (a data-dependent dim only matches another, a
 * run-time dim only the same symbol). */
bool ir_same_type(const ir_value *a, const ir_value *b);
/* Marks dim k of v data-dependent, at most its current size. */
void ir_value_set_data_dep(ir_value *v, int k);
/* Element count; -1 if any dim is unknown or the shape is past
 * HODU_MAX_TENSOR_ELEMS / HODU_MAX_TENSOR_BYTES (see ir_value_size_ok). */
int64_t ir_value_numel(const ir_value *v);
/* Byte size; 0 if the shape is not static, SIZE_MAX if it is static but past
 * the limits (never a plausible size, so it can't match a buffer's length and
 * a planner must refuse it). */
size_t ir_value_nbytes(const ir_value *v);
/* True when the shape is static and within the limits above. */
bool ir_value_size_ok(const ir_value *v);
/* Formats "holds 2^60 elements (1152921504606846976)" style text for the
 * error about a value past the limits; the caller frees it. */
char *ir_value_size_text(const ir_value *v);
void ir_value_set_shape(ir_value *v, int rank, const int64_t *dims);
/* The static dims of v as int64s (v->rank of them). */
void ir_value_dims(const ir_value *v, int64_t *dims);
/* Row-major strides of `in`, right-aligned to out_dims (numpy style), with 0
 * where a dim of size 1 is broadcast into a larger one. */
void ir_broadcast_strides(const ir_value *in, int out_rank, const int64_t *out_dims, int64_t *strides);

const ir_attr *ir_attr_find(const ir_node *n, const char *name);
int64_t ir_attr_int(const ir_node *n, const char *name, int64_t fallback);
double ir_attr_float(const ir_node *n, const char *name, double fallback);
const char *ir_attr_string(const ir_node *n, const char *name, const char *fallback);
/* Returns the ints (and their count) or NULL when absent. */
const int64_t *ir_attr_ints(const ir_node *n, const char *name, size_t *count);

/* Reads an integer constant (int8..int64, uint8..uint64, bool) into int64s.
 * Returns the element count, or -1 if `v` is not a constant integer tensor or
 * has more than `max` elements. */
long ir_const_as_i64(const ir_graph *g, int v, int64_t *out, size_t max);
/* Reads a numeric constant as doubles; same contract. */
long ir_const_as_f64(const ir_graph *g, int v, double *out, size_t max);

/* --- messages ------------------------------------------------------------ */

/* The position `loc` names, as a message prefix: "m.hodu:3:5" (text; the
 * start of the span, as C compilers print it), "model.onnx:node[12]",
 * "model.onnx:input[0]", "model.onnx:initializer[3]", "model.onnx:output[1]"
 * (ONNX: the list and index in the file's graph), the file alone when that
 * is all it knows, or NULL when it knows nothing (the message then carries
 * the diag's file).  Like file:line:col, the position goes before the text,
 * so "node 'conv1' (Conv): ..." reads the same for every front end.  The
 * caller frees it. */
char *ir_loc_format(const ir_loc *loc);

/* "node 'conv1' (Conv)" for messages: the node's name and op as written.
 * The caller frees it. */
char *ir_node_label(const ir_graph *g, int node);
/* Reports an error about a node: at the node's location, the text prefixed
 * with its label ("model.onnx:node[12]: node 'conv1' (Conv): ..."). */
void ir_node_error(hd_diag *d, const ir_graph *g, int node, const char *fmt, ...) HD_PRINTF(4, 5);
void ir_node_verror(hd_diag *d, const ir_graph *g, int node, const char *fmt, va_list ap);
/* Reports an error about a value at the value's location (its input or
 * initializer, or its defining node); the text names the value itself
 * ("input 'x' has ..."), as the caller words it. */
void ir_value_error(hd_diag *d, const ir_graph *g, int value, const char *fmt, ...) HD_PRINTF(4, 5);

/* Number of live nodes that read value v (plus 1 if it is a graph output). */
size_t ir_value_uses(const ir_graph *g, int v);
/* The same count for every value at once, in one pass over the nodes (use
 * this, not ir_value_uses, inside a loop).  The caller frees the array. */
size_t *ir_use_counts(const ir_graph *g);

/* Value -> reading nodes, for the live nodes, as one compressed array: the
 * readers of v are node[start[v] .. start[v+1]), in node index order, a node
 * listed once per operand slot that reads v.  Built in O(nodes + edges); it
 * is a snapshot, stale once nodes are added or killed. */
typedef struct ir_readers {
    size_t *start; /* n_values + 1 entries */
    int *node;
    size_t n_values;
} ir_readers;
void ir_readers_build(const ir_graph *g, ir_readers *r);
void ir_readers_free(ir_readers *r);

/* --- analysis ------------------------------------------------------------ */

/* Topological order of the live nodes.  Reports a cycle (naming a node on
 * it) or a value read before any definition; returns NULL on error.  The
 * caller frees the array; *count receives its length. */
int *ir_schedule(const ir_graph *g, size_t *count, hd_diag *d);

/* Structural checks: SSA (one definition per value), index ranges, every
 * read value defined, shapes known after inference when `shapes_required`. */
bool ir_verify(const ir_graph *g, bool shapes_required, hd_diag *d);

/* Stable text form of the graph, for --dump-ir and golden tests. */
void ir_dump(const ir_graph *g, hd_buf *out);

#endif /* HODU_IR_H */
