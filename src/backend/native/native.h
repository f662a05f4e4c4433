/*
 * native.h - private to the native backend: C source generation and the
 * system C compiler.
 *
 * native_emit turns a planned graph into one C translation unit (model.c)
 * plus the weight blob.  Every node becomes a static function written by
 * its op's lowering (native_lowering_of); the run function calls them in
 * schedule order with pointers into the caller's buffers, the arena and the
 * blob.  The blob is linked in through an assembler `.incbin`, never as C
 * array literals.
 *
 * native_compile writes the sources (model.c, weights.bin, weights.S, and
 * the kernel layer and ABI headers the hodu binary carries) into a private
 * folder and runs the system compiler there, producing the shared library
 * through a file that is moved into place only on success.
 */
#ifndef HODU_NATIVE_H
#define HODU_NATIVE_H

#include <stdbool.h>

#include "backend/backend.h"
#include "emit.h"
#include "ops/ops.h"

/* The most C one node's lowering may write (its function body, and the
 * file-scope tables it adds): far above any real model's, far below what
 * would stall the C compiler. */
#define NATIVE_MAX_NODE_SOURCE (16 << 20)

/* The artifact: what native_emit produced. */
struct backend_artifact {
    hd_buf source;    /* model.c */
    uint8_t *weights; /* weight blob, plan->weights_bytes long */
    uint64_t weights_bytes;
};

bool native_emit(const ir_graph *g, const mem_plan *plan, backend_artifact *out, hd_diag *d);
void native_artifact_clear(backend_artifact *out);
bool native_compile(const backend_artifact *gen, const backend_target *t, hd_diag *d);

/* How the native backend lowers one op.  `emit` writes the node's function
 * body; `scratch` (optional) is the scratch it needs, `worker_scratch`
 * (optional) what each worker running one of its tasks needs. */
typedef struct native_lowering {
    op_emit_fn emit;
    uint64_t (*scratch)(const ir_graph *g, int node);
    uint64_t (*worker_scratch)(const ir_graph *g, int node);
    /* Optional: true when, should input `input` be a constant, the lowering
     * reads it only through em_blob (so the blob needs no copy of it). */
    bool (*packs)(const ir_graph *g, int node, size_t input);
    /* Optional, in place of scratch and worker_scratch: both at once (a
     * control-flow node plans its subgraphs once for the two). */
    scratch_need (*scratch_both)(const ir_graph *g, int node);
    /* Optional: the general path, for a node over run-time dims that are
     * not leading (ir_node.rt_general).  It reads every size when the model
     * runs (em_dim, with `rtd`); its scratch is what scratch and
     * worker_scratch give for the largest sizes. */
    op_emit_fn emit_rt;
} native_lowering;

/* The lowering of an op_id, or NULL when the backend has none. */
const native_lowering *native_lowering_of(int op);

/* Writes `const T t<m> = <formula>;` for the fusable members first.. of a
 * node body; operands read t<j> (an earlier member) and x<k> (body input
 * k), which the caller declares.  Returns the last member's index, or -1
 * after reporting (emit_elementwise.c).  With `vec`, T is hd_vf and every
 * operand a vector; -1 then also means a member has no vector formula
 * (float32 arithmetic, Relu, Clip, the vector-math activations, ...), and
 * nothing is reported: the caller discards what was written. */
int ew_emit_members(op_emit *e, const ir_graph *body, size_t first, bool vec);

/* Control flow (emit_c.c, "Subgraphs"): writes subgraph `sub`, planned
 * as `plan`, as the file-scope function `s<*fn>_run(arena, in, out, exec,
 * workers)` returning non-zero when one of its nodes fails. */
bool native_emit_subgraph(op_emit *e, const ir_graph *sub, const mem_plan *plan, int *fn);
/* What node `node` asks the memory planner for (its lowering's scratch and
 * per-worker scratch); control flow plans its subgraphs with it. */
scratch_need native_scratch_need(const ir_graph *g, int node);
/* Plans the subgraphs a node calls one at a time (control flow,
 * FlexAttention's modifiers): plans[i] for subs[i], skipping NULL entries;
 * *arena is the largest arena (they share one), *workers the largest
 * per-worker scratch.  On failure frees the plans it made and returns
 * false. */
bool native_plan_subgraphs(const ir_graph *const *subs, size_t n, mem_plan *plans, uint64_t *arena, uint64_t *workers,
                           hd_diag *d);

/* Run-time dims (ops/rtdims.c).  A node over them is lowered for one
 * slice and called once per index of its run-time dims, except a float32
 * GEMM whose run-time dims are rows of A and of its result (Gemm, MatMul
 * with one B, and their epilogue nodes): it is planned for the largest
 * rows and takes their count at run time, one call for all (emit_nn.c). */
bool native_rt_rows(const ir_graph *g, int node);
/* Enters the view the node's lowering sees (op_rt_view_enter) when it has
 * run-time dims; false when it has none and nothing was entered. */
bool native_rt_enter(const ir_graph *g, int node, op_rt_view *view);

/* Each family of lowerings (emit_<family>.c) fills in its ops' entries of
 * the table, which has OP_COUNT entries. */
typedef void native_register_fn(native_lowering *table);
native_register_fn native_register_elementwise, native_register_reduce, native_register_nn, native_register_nn_conv,
    native_register_nn_pool, native_register_nn_resize, native_register_nn_sample, native_register_shape,
    native_register_attention, native_register_quant, native_register_stateful, native_register_recurrent,
    native_register_signal, native_register_linalg, native_register_optim, native_register_ml, native_register_dynamic,
    native_register_control, native_register_random, native_register_string;

/* Equal on strings (emit_string.c), which the elementwise lowering hands
 * over. */
bool str_emit_equal(op_emit *e);

#endif /* HODU_NATIVE_H */
