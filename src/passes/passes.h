/*
 * passes.h - graph passes between the front ends and code generation.
 *
 * The pipeline (hodu_build in src/driver/driver.c) calls
 * them in this order; each returns false after reporting errors:
 *
 *   pass_bind_inputs   --input-shape / --const-input bindings; every dim
 *                      left unbound is an error naming it
 *   pass_resolve_ops   every node has an op table entry and a legal arity and
 *                      attribute set ("unsupported op X (opset N)")
 *   pass_infer_fold    shape inference in schedule order; nodes whose inputs
 *                      are all constant are evaluated on the host
 *   pass_dce           drops nodes whose results nobody reads
 *   pass_autodiff      (--grad) appends the reverse-mode gradients
 *   pass_block_convs   convolutions run on channel-blocked tensors
 *   pass_fuse_elementwise
 *                      contractions take the elementwise nodes after them
 *                      as epilogues; chains of elementwise nodes become one
 *                      loop
 *   pass_plan_memory   static arena offsets from liveness over the schedule
 */
#ifndef HODU_PASSES_H
#define HODU_PASSES_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct pass_shape_binding {
    const char *input; /* graph input name */
    int rank;
    int64_t dims[HODU_MAX_RANK];
} pass_shape_binding;

/* --dim: a dim symbol bound to one size (lo == hi), left a run-time dim
 * of range [lo, hi], or (expr) defined as a polynomial in other run-time
 * dims, "past+seq" (ir_poly). */
typedef struct pass_dim_binding {
    const char *sym;
    int64_t lo, hi;
    const char *expr;
} pass_dim_binding;

typedef struct pass_value_binding {
    const char *input; /* graph input name */
    hodu_dtype dtype;
    int rank;
    int64_t dims[HODU_MAX_RANK];
    const void *data; /* copied into the graph */
    size_t nbytes;
} pass_value_binding;

bool pass_bind_inputs(ir_graph *g, const pass_shape_binding *shapes, size_t n_shapes, const pass_dim_binding *syms,
                      size_t n_syms, const pass_value_binding *values, size_t n_values, hd_diag *d);
bool pass_resolve_ops(ir_graph *g, hd_diag *d);
bool pass_infer_fold(ir_graph *g, hd_diag *d);
/* Sequences known at build time (seqlower.c).  Inference calls
 * pass_seq_lower on each node before inferring it: 0 when the node neither
 * is a sequence op nor reads a sequence; 1 when it was lowered (it is dead
 * now, and *added lists the nodes that replace it, untyped, to infer next
 * in that order); -1 after reporting.  pass_seq_outputs, once every node
 * is inferred, puts the tensors of each sequence the model outputs in its
 * place among the graph's outputs, through Identity nodes (*added, to
 * infer next), and refuses a sequence output the model does not declare
 * (a subgraph's). */
typedef struct pass_seqs pass_seqs;
pass_seqs *pass_seqs_new(void);
void pass_seqs_free(pass_seqs *s);
/* Whether value v is a sequence pass_seq_lower has seen made. */
bool pass_seq_is(const pass_seqs *s, int v);
int pass_seq_lower(ir_graph *g, int id, pass_seqs *s, int **added, size_t *n_added, hd_diag *d);
bool pass_seq_outputs(ir_graph *g, const pass_seqs *s, int **added, size_t *n_added, hd_diag *d);
/* The same for nodes first.. only, in index order: nodes a pass appended
 * in an order that already is a schedule, over typed values. */
bool pass_infer_fold_from(ir_graph *g, size_t first, hd_diag *d);
/* Reverse-mode differentiation (autodiff.c).  For each float output Y
 * adds an input "Y.grad" (its gradient, of Y's type), and for each graph input X named in wrt[] (none:
 * every f32/f64 input) an output "X.grad": the gradient of sum(Y.grad * Y)
 * over those outputs with respect to X.  The nodes it adds are typed. */
bool pass_autodiff(ir_graph *g, const char *const *wrt, size_t n_wrt, hd_diag *d);
/* The core of it: appends the nodes computing the gradients of values
 * wrt[0..n_wrt) into grads[] (-1: zero, nothing depends on it), given
 * seeds[k], the gradient of value seed_of[k].  The new nodes are untyped:
 * the caller runs pass_infer_fold_from over them. */
bool pass_backward(ir_graph *g, const int *wrt, size_t n_wrt, const int *seed_of, const int *seeds, size_t n_seeds,
                   int *grads, hd_diag *d);
/* Zeros of value x's type (untyped nodes, as above). */
int pass_zeros_like(ir_graph *g, int x);
/* Appends a default-domain node `op` reading ins[0..n) with one result,
 * `out` (-1: a new value), at location `loc`; returns the result. */
int pass_add_node(ir_graph *g, const char *op, const int *ins, size_t n, int out, ir_loc loc);
/* Whether some value of g is called `name`. */
bool pass_value_named(const ir_graph *g, const char *name);
/* After inference: each of grads[0..n) (-1 skipped) has the type of its
 * value wrt[i]; a gradient rule that broke that is reported at its node. */
bool pass_check_grads(const ir_graph *g, const int *wrt, const int *grads, size_t n, hd_diag *d);

/* Training (train.c): the model becomes one optimizer step, a pure
 * function.  Inputs: the model's, "target", "lr" (f32 scalar), each
 * trained parameter under its initializer's name, the optimizer's state
 * ("<param>.momentum", "<param>.adam_m", "<param>.adam_v", "adam.step").
 * Outputs: "loss", then "<X>.next" for each parameter and state input X,
 * its value for the next step. */
typedef enum pass_loss {
    PASS_LOSS_MSE,
    PASS_LOSS_L1,
    PASS_LOSS_CROSS_ENTROPY,      /* scores [N, C, ...] and class indices [N, ...] */
    PASS_LOSS_SOFT_CROSS_ENTROPY, /* scores and class probabilities of one shape */
    PASS_LOSS_BCE_LOGITS,
    PASS_LOSS_GRAPH /* the graph's first output is the loss, an f32 scalar (a HoduScript train declaration) */
} pass_loss;
typedef enum pass_opt_kind { PASS_OPT_SGD, PASS_OPT_ADAM, PASS_OPT_ADAMW } pass_opt_kind;
typedef struct pass_optimizer {
    pass_opt_kind kind;
    double momentum, weight_decay; /* SGD; weight_decay for all three */
    double beta1, beta2, eps;      /* Adam, AdamW */
} pass_optimizer;
typedef struct pass_train {
    pass_loss loss;
    pass_optimizer opt;
    double clip_norm; /* > 0: gradients scaled to at most this global L2 norm */
    const char *const *params;
    size_t n_params; /* 0: every f32 initializer with dims that nodes read as a weight (not Resize's scales, Clip's
                      * bounds, BatchNormalization's running statistics, ...) */
    const char *const *frozen; /* initializers left out of that default */
    size_t n_frozen;
} pass_train;
/* Before inference: the trained initializers become graph inputs, from
 * g->inputs[*first_param] on. */
bool pass_train_params(ir_graph *g, const pass_train *t, size_t *first_param, hd_diag *d);
/* After inference and dead-code elimination: loss, gradients, update. */
bool pass_train_step(ir_graph *g, const pass_train *t, size_t first_param, hd_diag *d);
void pass_dce(ir_graph *g);

/* Rewrites float32 2-D convolutions with one group and channel counts in
 * whole blocks as hodu.ConvBlocked (nn.h) on tensors laid out [N, C/B, H,
 * W, B], with the elementwise nodes between them computed in that layout
 * too and conversions where values enter or leave it (layout.c): in AUTO
 * mode the regions whose convolutions do enough work per converted element,
 * in BLOCKED mode all of them.  Returns the number of nodes rewritten. */
typedef enum pass_conv_layout { PASS_LAYOUT_AUTO, PASS_LAYOUT_BLOCKED, PASS_LAYOUT_NCHW } pass_conv_layout;
size_t pass_block_convs(ir_graph *g, pass_conv_layout mode);

/* Gemm between two Reshapes that flatten and restore leading dims (a
 * linear layer over [B, T, K] as exporters write it) becomes MatMul on
 * [B, T, K] plus an Add of its bias, so the ops after it can fuse into the
 * product (canon.c).  Returns the number rewritten. */
size_t pass_unflatten_gemm(ir_graph *g);

/* First makes each float32 Conv, Gemm or MatMul and the elementwise nodes
 * that finish its result one hodu.FusedEpilogue node (fuse.c, nn.h), then
 * groups fusable nodes (op_def.fusable) joined by single-use edges whose
 * results all have the same shape, and replaces each group of two or more by
 * one hodu.FusedElementwise node; intermediates of a group are never
 * materialised.  A fused node owns copies of its members as its body
 * (ir.h, "Node bodies"); the originals are left dead and nothing refers to
 * them.  Returns the number of nodes folded into fused nodes. */
size_t pass_fuse_elementwise(ir_graph *g);

/* Where each value lives at run time. */
typedef enum mem_place {
    MEM_NONE = 0, /* not materialised (dead, or omitted) */
    MEM_INPUT,    /* caller's input buffer `index` */
    MEM_OUTPUT,   /* caller's output buffer `index` */
    MEM_WEIGHTS,  /* the weight blob at `offset` */
    MEM_ARENA     /* the workspace at `offset` */
} mem_place;

typedef struct mem_slot {
    mem_place place;
    size_t index;
    uint64_t offset;
} mem_slot;

typedef struct mem_plan {
    mem_slot *slots; /* one per graph value */
    uint64_t arena_bytes;
    uint64_t weights_bytes;
    int *schedule; /* live nodes in execution order */
    size_t n_schedule;
    uint64_t *scratch_offset; /* per schedule step: arena offset of the node's scratch */
    uint64_t *scratch_bytes;  /* per schedule step: 0 when the op needs none */
    /* Each worker of a run owns worker_bytes after the arena (the largest
     * per-worker scratch of any node); worker_scratch[step] is what that
     * step's node uses of it, 0 for none. */
    uint64_t worker_bytes;
    uint64_t *worker_scratch;
    /* Per value: the value whose arena storage it shares, or -1.  A
     * Reshape, Flatten, Squeeze, Unsqueeze or Identity leaves its input's
     * bytes as they are, so its result is that storage (kept live until
     * the last reader of either) and the node runs as nothing. */
    int *view_of;
} mem_plan;

/* Plans every value's home.  Intermediates share the arena by liveness
 * (first definition to last use in the schedule), greedily placed at the
 * lowest offset that does not overlap a live block. */
/* Scratch a node needs while it runs: the backend's answer (backend.h).
 * `shared` is one block for the node, placed in the arena like a value
 * that lives for that step; `per_worker` is needed once per worker of the
 * run (the tasks of a parallel node each use their worker's).  UINT64_MAX
 * in either: more than can be given (the planner refuses it). */
typedef struct scratch_need {
    uint64_t shared;
    uint64_t per_worker;
} scratch_need;
typedef scratch_need (*pass_scratch_fn)(const ir_graph *g, int node);
bool pass_plan_memory(const ir_graph *g, pass_scratch_fn scratch, mem_plan *plan, hd_diag *d);
void mem_plan_free(mem_plan *plan);

/* Recomputation in a training step (passes/recompute.c): cheap nodes whose
 * results the backward part reads again are copied next to those readers
 * (or moved there) when the memory plan's workspace goes down; the graph
 * is left as it was when it does not. */
typedef struct recompute_stats {
    uint64_t arena_before, arena_after; /* workspace bytes */
    size_t copies, moved;               /* nodes copied, nodes moved late */
    uint64_t flops_added, flops_step;
    size_t tries; /* changes tried on the plan */
} recompute_stats;
bool pass_recompute(ir_graph *g, pass_scratch_fn scratch, recompute_stats *stats, hd_diag *d);

#endif /* HODU_PASSES_H */
