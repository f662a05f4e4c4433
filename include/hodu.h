/*
 * hodu.h - the Hodu compiler as a library.
 *
 *     hodu_build_options o;
 *     hodu_build_options_init(&o);
 *     o.input_path = "model.onnx";
 *     o.output_path = "model.so";
 *     if (hodu_build(&o) != 0) ...   // diagnostics went to o.message (stderr by default)
 *
 * The pipeline: front end (ONNX loader; HoduScript later) -> SSA graph IR ->
 * input binding, op resolution, shape inference with constant folding,
 * dead-code elimination, graph optimizations (graph_opt), memory planning ->
 * C code generation -> system cc.
 *
 * Promises: a failed build reports at least one error line naming the cause
 * and leaves no output file behind; the library never exits the process.
 */
#ifndef HODU_H
#define HODU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hodu_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hodu_build_options {
    const char *input_path;  /* model.onnx */
    const char *output_path; /* shared library to write; NULL: build nothing */
    const char *emit_c_dir;  /* keep generated sources here; NULL: temp dir */
    const char *backend;     /* code generator: "native" (default when NULL) */
    const char *cc;          /* C compiler command; NULL: $CC, else "cc" */
    const char *cflags;      /* extra compiler flags (space separated) */
    int opt_level;           /* -O level for the generated code (default 3) */
    /* Graph optimizations (elementwise fusion, ...): on by default; `hodu
     * -O0` turns them off.  Apart from opt_level, so that a build can have
     * either without the other. */
    bool graph_opt;
    /* -march for the generated code: "native" (default: the build machine's
     * CPU), "generic" (no -march: portable to any CPU of the architecture),
     * or any value the C compiler accepts (e.g. "x86-64-v3"). */
    const char *march;
    /* The machine the library is built for, a triple ("x86_64-linux-gnu",
     * "aarch64-linux-gnu"; docs/targets.md); NULL: the build machine.  A
     * cross target builds with its own compiler (cc, when set, overrides
     * it), and march "native" then means the target's baseline CPU. */
    const char *target;
    /* Subnormal floats: flushed to zero while the model runs (default:
     * false), or kept (true: IEEE gradual underflow, slower where they
     * occur).  See hodu_kernels.h, "Floating-point environment". */
    bool keep_denormals;
    /* Where float32 convolutions run on channel-blocked tensors (with
     * graph_opt): "auto" or NULL (where the cost model expects a gain),
     * "blocked" (every convolution that can), "nchw" (none). */
    const char *conv_layout;
    /* A C header typing the model's inputs and outputs for hosts of
     * hodu_rt.h (`--emit-header`), and the prefix of its names (NULL: from
     * the header's file name); NULL: no header. */
    const char *header_path;
    const char *header_prefix;
    /* "name=1x3x224x224": binds the dims of an input */
    const char *const *input_shapes;
    size_t n_input_shapes;
    /* "SYM=N" binds every dim named SYM to N; "SYM=LO..HI" leaves it a
     * run-time dim: each run chooses its size in [LO, HI] */
    const char *const *dims;
    size_t n_dims;
    /* "name=file.npy": makes an input a build-time constant */
    const char *const *const_inputs;
    size_t n_const_inputs;
    /* `--grad`: the library also computes reverse-mode gradients.  Each
     * float output Y gets an input "Y.grad", and each
     * input X named in wrt[] (none named: every f32 and f64 input) an
     * output "X.grad", the gradient of sum(Y.grad * Y) with respect to X. */
    bool gradients;
    const char *const *wrt;
    size_t n_wrt;
    /* `--train`: the library is one training step instead (train_loss
     * set: "mse", "l1", "cross_entropy", "soft_cross_entropy",
     * "bce_logits"): see docs/training.md for its inputs and outputs.
     * train_optimizer: "sgd", "adam" or "adamw", then optionally
     * ":key=value,..." (momentum, weight_decay, beta1, beta2, eps); NULL:
     * "sgd".  train_clip_norm > 0 clips the gradients' global norm.
     * train_params names the initializers that train (none: every f32
     * initializer a node reads). */
    const char *train_loss;
    /* `--train` with no train_loss: a HoduScript program's own `train`
     * declaration names the loss and the optimizer (docs/training.md);
     * the train_* settings above and below must then be left unset. */
    bool train;
    const char *train_optimizer;
    double train_clip_norm;
    const char *const *train_params;
    size_t n_train_params;
    /* "auto" or NULL: a training step recomputes cheap forward values
     * next to their backward readers where that lowers the workspace
     * (docs/training.md); "none": never. */
    const char *train_recompute;
    /* `--train-eval`: the model's forward pass with the parameters that
     * --train would train read as inputs (same names), for
     * hodu_trainer_attach_eval; train_params selects them the same way. */
    bool train_eval;
    FILE *dump_ir; /* when set, the IR after the passes is printed here */
    /* HoduScript (.hodu) models: a safetensors file binding the parameters
     * by their dotted names (NULL: each takes its declared initializer),
     * and the seed of those initializers. */
    const char *weights;
    uint64_t seed;
    int verbose; /* print the compiler command line */
    /* Receives each diagnostic line ("hodu: error: ..."), and after it the
     * lines of its source snippet, if any (HoduScript); NULL: stderr. */
    void (*message)(void *user, const char *line);
    void *user;
} hodu_build_options;

void hodu_build_options_init(hodu_build_options *o);

/* Returns 0 on success, 1 after reporting errors. */
int hodu_build(const hodu_build_options *o);

/* Loads and checks the model without building anything (`hodu --check`):
 * for HoduScript, parsing and type checking; for ONNX, loading.  Returns 0
 * when it has no errors, 1 after reporting them. */
int hodu_check_model(const hodu_build_options *o);

/* Prints the canonical formatting of a HoduScript file (`hodu --fmt`), or
 * rewrites the file in place; a file with syntax errors is refused.
 * Returns 0, or 1 after reporting. */
int hodu_format_model(const hodu_build_options *o, bool in_place);

/* `hodu --export-onnx`: input_path with the initializers that the
 * safetensors file `weights` (a training checkpoint) names replaced, to
 * output_path.  0 on success, 1 after reporting. */
int hodu_export_model(const hodu_build_options *o);

/* Prints a model's inputs, outputs, op histogram, parameter count and a
 * FLOP estimate (when shapes are static or bound).  Returns 0 or 1. */
int hodu_inspect_model(const hodu_build_options *o, FILE *out);

const char *hodu_version(void);

/* --- building graphs from code (src/builder) -----------------------------
 *
 * A graph made by calls instead of read from a file, then compiled like a
 * model file is (docs/builder.md):
 *
 *     hodu_graph *g;
 *     hodu_error err;
 *     if (hodu_graph_new("mlp", 0, &g, &err) != HODU_OK) ...
 *     hodu_dim xd[2] = {{.name = "B"}, {.size = 4}};
 *     hodu_value x, w, h, y;
 *     hodu_graph_input(g, "x", HODU_DTYPE_F32, 2, xd, &x);
 *     hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){4, 3}, data, sizeof data, &w);
 *     hodu_graph_matmul(g, x, w, &h);
 *     hodu_graph_relu(g, h, &y);
 *     hodu_graph_output(g, y, "y");
 *     hodu_build_options o;
 *     hodu_build_options_init(&o);
 *     o.dims = (const char *[]){"B=1..64"};
 *     o.n_dims = 1;
 *     hodu_model *m;
 *     if (hodu_graph_load(g, &o, &m) != HODU_OK)
 *         fprintf(stderr, "%s\n", hodu_graph_error(g));
 *     hodu_graph_free(g);              // the model does not need the graph
 *
 * Promises:
 * - Every function that can fail returns a hodu_status; on failure
 *   hodu_graph_error(g) holds a message naming the call, the op and node,
 *   and the argument at fault, and the graph is as it was before the call
 *   (a failed call adds nothing).  The library never prints, aborts or
 *   exits.
 * - A value (hodu_value) is a small integer naming one value of its graph;
 *   a handle out of range is an error, not undefined behaviour.  Handles of
 *   one graph used in another are not detected when in range.
 * - Strings, dims, attributes and parameter data are copied: the caller's
 *   memory may go once a call returns.
 * - The graph is never consumed: it may be compiled several times, with
 *   different options, and grown in between.
 * - Arity, op names (for the graph's opset) and attribute names and kinds
 *   are checked when an op is applied; dtypes and shapes when the graph is
 *   compiled, by the compiler's shape inference (messages name the node).
 * - Passing NULL to hodu_graph_free is a harmless no-op.
 */
typedef struct hodu_graph hodu_graph;

/* A value of a graph: an input, a parameter or an op's result. */
typedef int32_t hodu_value;
/* An omitted optional operand (hodu_graph_op's inputs). */
#define HODU_NO_VALUE ((hodu_value)-1)

/* One dim of an input: a size, or (name not NULL) a symbol bound when the
 * graph is compiled (hodu_build_options.dims: "B=8", or "B=1..64" for a
 * size each run chooses). */
typedef struct hodu_dim {
    int64_t size;
    const char *name;
} hodu_dim;

typedef enum hodu_attr_kind {
    HODU_ATTR_INT,
    HODU_ATTR_FLOAT,
    HODU_ATTR_STRING,
    HODU_ATTR_INTS,
    HODU_ATTR_FLOATS,
    HODU_ATTR_STRINGS
} hodu_attr_kind;

/* An ONNX attribute; the fields that `kind` names are read (n counts the
 * elements of ints, floats or strings). */
typedef struct hodu_attr {
    const char *name;
    hodu_attr_kind kind;
    int64_t i;
    double f;
    const char *s;
    const int64_t *ints;
    const double *floats;
    const char *const *strings;
    size_t n;
} hodu_attr;

static inline hodu_attr hodu_attr_int(const char *name, int64_t v)
{
    hodu_attr a = {.name = name, .kind = HODU_ATTR_INT, .i = v};
    return a;
}
static inline hodu_attr hodu_attr_float(const char *name, double v)
{
    hodu_attr a = {.name = name, .kind = HODU_ATTR_FLOAT, .f = v};
    return a;
}
static inline hodu_attr hodu_attr_string(const char *name, const char *v)
{
    hodu_attr a = {.name = name, .kind = HODU_ATTR_STRING, .s = v};
    return a;
}
static inline hodu_attr hodu_attr_ints(const char *name, const int64_t *v, size_t n)
{
    hodu_attr a = {.name = name, .kind = HODU_ATTR_INTS, .ints = v, .n = n};
    return a;
}
static inline hodu_attr hodu_attr_floats(const char *name, const double *v, size_t n)
{
    hodu_attr a = {.name = name, .kind = HODU_ATTR_FLOATS, .floats = v, .n = n};
    return a;
}

/* A new, empty graph.  `name` (NULL: "graph") starts every message about
 * it; `opset` is the default ONNX domain's (0: the newest Hodu knows,
 * HD_OPSET_NEWEST), and decides which version of each op applies.  On
 * failure *out is NULL and err (when not NULL) says why. */
hodu_status hodu_graph_new(const char *name, int64_t opset, hodu_graph **out, hodu_error *err);
void hodu_graph_free(hodu_graph *g);

/* The message of the last failed call on g ("" when none failed); valid
 * until the next call on g.  Several lines, '\n' apart, when a compile
 * reported several errors. */
const char *hodu_graph_error(const hodu_graph *g);

/* A run-time input.  Names are unique among the graph's inputs,
 * parameters and outputs. */
hodu_status hodu_graph_input(hodu_graph *g, const char *name, hodu_dtype dtype, int32_t rank, const hodu_dim *dims,
                             hodu_value *out);
/* A parameter (an ONNX initializer): nbytes of data, which must equal the
 * element count times hodu_dtype_size(dtype), copied in.  Numeric and bool
 * dtypes. */
hodu_status hodu_graph_param(hodu_graph *g, const char *name, hodu_dtype dtype, int32_t rank, const int64_t *dims,
                             const void *data, size_t nbytes, hodu_value *out);

/* Applies the ONNX op `op_type` of `domain` (NULL or "": the default one)
 * to n_inputs operands (HODU_NO_VALUE for an omitted optional one) with
 * n_attrs attributes; outputs[0 .. n_outputs) receive its first n_outputs
 * results (an op with optional results makes only those asked for). */
hodu_status hodu_graph_op(hodu_graph *g, const char *op_type, const char *domain, const hodu_value *inputs,
                          size_t n_inputs, const hodu_attr *attrs, size_t n_attrs, hodu_value *outputs,
                          size_t n_outputs);

/* Makes v an output of the graph called `name` (NULL: the value's own
 * name).  A value may be an output several times under different names. */
hodu_status hodu_graph_output(hodu_graph *g, hodu_value v, const char *name);

/* Typed forms of common ops (each is hodu_graph_op with the op's name and
 * attributes).  Int arrays given as NULL take the op's defaults. */
hodu_status hodu_graph_add(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out);
hodu_status hodu_graph_sub(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out);
hodu_status hodu_graph_mul(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out);
hodu_status hodu_graph_div(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out);
hodu_status hodu_graph_matmul(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out);
/* alpha * A' B' + beta * C, A' = trans_a ? A^T : A; c may be HODU_NO_VALUE. */
hodu_status hodu_graph_gemm(hodu_graph *g, hodu_value a, hodu_value b, hodu_value c, double alpha, double beta,
                            bool trans_a, bool trans_b, hodu_value *out);
hodu_status hodu_graph_relu(hodu_graph *g, hodu_value x, hodu_value *out);
hodu_status hodu_graph_sigmoid(hodu_graph *g, hodu_value x, hodu_value *out);
hodu_status hodu_graph_tanh(hodu_graph *g, hodu_value x, hodu_value *out);
hodu_status hodu_graph_softmax(hodu_graph *g, hodu_value x, int64_t axis, hodu_value *out);
/* Reshape to `shape` (a constant made for it; 0 copies a dim, -1 infers one). */
hodu_status hodu_graph_reshape(hodu_graph *g, hodu_value x, size_t rank, const int64_t *shape, hodu_value *out);
/* perm NULL: the dims reversed. */
hodu_status hodu_graph_transpose(hodu_graph *g, hodu_value x, size_t rank, const int64_t *perm, hodu_value *out);
hodu_status hodu_graph_concat(hodu_graph *g, const hodu_value *xs, size_t n, int64_t axis, hodu_value *out);
/* NCHW convolution with weights [M, C/group, kH, kW]; b may be
 * HODU_NO_VALUE; strides[2], pads[4] (top, left, bottom, right),
 * dilations[2]. */
hodu_status hodu_graph_conv2d(hodu_graph *g, hodu_value x, hodu_value w, hodu_value b, const int64_t *strides,
                              const int64_t *pads, const int64_t *dilations, int64_t group, hodu_value *out);
/* kernel[2] is required. */
hodu_status hodu_graph_max_pool2d(hodu_graph *g, hodu_value x, const int64_t *kernel, const int64_t *strides,
                                  const int64_t *pads, hodu_value *out);
hodu_status hodu_graph_avg_pool2d(hodu_graph *g, hodu_value x, const int64_t *kernel, const int64_t *strides,
                                  const int64_t *pads, hodu_value *out);
/* Over the n_axes axes (none: every axis). */
hodu_status hodu_graph_reduce_mean(hodu_graph *g, hodu_value x, size_t n_axes, const int64_t *axes, bool keepdims,
                                   hodu_value *out);
hodu_status hodu_graph_reduce_sum(hodu_graph *g, hodu_value x, size_t n_axes, const int64_t *axes, bool keepdims,
                                  hodu_value *out);
/* LayerNormalization over the dims from `axis` on; bias may be HODU_NO_VALUE. */
hodu_status hodu_graph_layer_norm(hodu_graph *g, hodu_value x, hodu_value scale, hodu_value bias, int64_t axis,
                                  double epsilon, hodu_value *out);

/* Compiles the graph to the shared library o->output_path, as hodu_build
 * does a model file (o->input_path and o->weights are not read; bindings,
 * --grad, --train, the backend and the C compiler options all apply).
 * Diagnostics go to hodu_graph_error(g), and to o->message as well when
 * set. */
hodu_status hodu_graph_compile(hodu_graph *g, const hodu_build_options *o);
/* The same to a private temporary file (o->output_path is not read),
 * opened with hodu_model_open and removed: *out is the loaded model, which
 * the caller closes with hodu_model_close.  o may be NULL (defaults). */
hodu_status hodu_graph_load(hodu_graph *g, const hodu_build_options *o, hodu_model **out);

#ifdef __cplusplus
}
#endif
#endif /* HODU_H */
