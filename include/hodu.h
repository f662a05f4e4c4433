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
#include <stdio.h>

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

#ifdef __cplusplus
}
#endif
#endif /* HODU_H */
