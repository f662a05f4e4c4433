/*
 * emit.h - writing C for one node: the context a native lowering gets and
 * the helpers every lowering uses (src/backend/native/emit.c).
 *
 * A lowering writes the body of one C function per node.  The function
 * receives typed pointers named in0, in1, ... (only for inputs that are
 * present; an omitted optional input has no parameter) and out0, out1, ...,
 * plus `unsigned char *restrict scratch` when the lowering asked for scratch.
 * Every static shape is a compile-time constant: lowerings print sizes as
 * literals.  Float16 and bfloat16 are stored as uint16_t and computed in
 * float through the kernel layer's conversions (kernels/hodu_kernels.h).
 */
#ifndef HODU_NATIVE_EMIT_H
#define HODU_NATIVE_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "util/util.h"

/* The hodu.FusedEpilogue node a contraction's lowering is running for
 * (emit_nn.h): the graph holding it, its index, and its plan. */
typedef struct em_epilogue {
    const ir_graph *g;
    int node;
    const struct nn_epilogue_plan *plan;
} em_epilogue;

/* Context for emitting one node's function body. */
typedef struct op_emit {
    const ir_graph *g;
    int node;
    hd_buf *body;  /* function body being written */
    hd_buf *decls; /* file-scope helper code (static functions, tables) */
    int indent;    /* current indentation level, in 4-space steps */
    int tmp;       /* counter for unique local names */
    hd_diag *d;
    /* em_for's bookkeeping (zero-initialised): bit k of `single` says the
     * block opened at indent level k is a one-iteration "loop" written as a
     * plain block, opened at body offset single_at[k]. */
    uint64_t single;
    size_t single_at[64];
    /* Threads.  A lowering that splits its work sets `parallel`; its
     * function then also receives `const hodu_exec *exec` and `unsigned
     * char *restrict workers`, the first worker's scratch region, each
     * further worker's `worker_bytes` later (a kernel-layer parallel entry
     * takes all three).  A lowering with per-worker scratch gets them too. */
    bool parallel;
    uint64_t worker_bytes;
    /* em_par_for's request: the outer loop's par_n iterations run as up to
     * par_max_tasks tasks of whole par_grain blocks (0: not split). */
    int64_t par_n, par_grain;
    /* em_par_for_rt: the count as a C expression of the parameters (the
     * general path's sizes from rtd), in place of par_n. */
    char par_n_rt[96];
    uint32_t par_max_tasks;
    /* Set while a contraction's lowering runs for a hodu.FusedEpilogue node
     * (emit_nn.h): g and node are then the node's body and its member 0. */
    const em_epilogue *epi;
    /* Derived constants (em_blob), appended to the weight blob. */
    struct em_blobs *blobs;
    /* Set by a lowering that checks run-time values against the shapes the
     * build fixed (a Reshape whose target shape is an input): its function
     * returns int, and `return 1;` in the body makes the run stop with
     * HODU_RUN_INPUT_VALUES.  Such a node does not run as tasks: set it
     * before em_par_for. */
    bool can_fail;
    /* Set by a lowering that reads run-time dims (Shape or Size of a value
     * that has them): its function also receives `const int64_t *rtd`,
     * where rtd[em_rt_index(g, sym)] is run-time dim sym's size in this
     * run. */
    bool rt_dims;
    /* A float32 GEMM that takes its rows at run time (native_rt_rows): the
     * view plans rt_rows_div times the rows of one run-time index, and the
     * function receives `const int64_t rt_rows`, the run's count of such
     * indices.  0 otherwise. */
    int64_t rt_rows_div;
    /* Set by a lowering that takes memory from the host's allocator
     * (string results, unbounded outputs): its function receives `const
     * hodu_exec *exec` (NULL when the host passed none) even when it runs
     * no tasks.  `check_why` (a constant string) is the reason the
     * descriptor's check gives when such a node fails: "node 'NAME' (OP):
     * <why>". */
    bool uses_alloc;
    const char *check_why;
} op_emit;

typedef bool (*op_emit_fn)(op_emit *e);

/* The index of run-time dim `sym` in hodu_run's rtd[] (emit_c.c). */
int em_rt_index(const ir_graph *g, const char *sym);
/* Appends the C count of v's elements after dim i (-1: all of them) in a
 * run: "rtd[3] * rtd[1] * INT64_C(768)", the run-time dims' sizes times
 * the fixed dims' product; so dim i's stride (emit_c.c). */
void em_rt_elems(const ir_graph *g, const ir_value *v, int i, hd_buf *b);
/* The same for the product of v's dims from..to-1. */
void em_rt_span(const ir_graph *g, const ir_value *v, int from, int to, hd_buf *b);

/* --- helpers for emitters --------------------------------------------- */

static inline const ir_node *em_node(const op_emit *e) { return ir_nd(e->g, e->node); }
const ir_value *em_in(const op_emit *e, size_t i);
const ir_value *em_out(const op_emit *e, size_t i);
/* Appends one indented line to the body. */
void em_line(op_emit *e, const char *fmt, ...) HD_PRINTF(2, 3);
/* Opens "for (int64_t <var> = 0; <var> < <n>; <var>++) {" and indents.  A
 * loop of one iteration is written as a block, "{ const int64_t <var> = 0;",
 * which em_close turns into "do { ... } while (0);" when the body holds a
 * break or continue, so those keep their meaning.  Close it with em_close. */
void em_for(op_emit *e, const char *var, int64_t n);
/* em_for for a count known when the model runs: `n` is a C expression. */
void em_for_rt(op_emit *e, const char *var, const char *n);
/* Calls subgraph function fn on cf_in/cf_out with its arena at scratch +
 * arena, returning 1 from the node when it fails; the subgraph reads this
 * run's sizes (rtd) where the node has run-time dims. */
void em_call_subgraph(op_emit *e, int fn, uint64_t arena);
/* The general path's loop nest: loops i<from>..i(count-1) over the locals
 * n<from>..n(count-1) the caller declared (the caller opened those before
 * `from`); `dense` (empty) receives the index of element (i0, ...) of a
 * dense tensor of dims n0..n(count-1).  Close each loop with em_close. */
void em_rt_loops(op_emit *e, int from, int count, hd_buf *dense);
/* The general path's outer loop i0 over out's dim 0 (declared as n0),
 * split into tasks by em_par_for_rt with `work` per element of out. */
void em_rt_outer_loop(op_emit *e, const ir_value *out, int64_t work);
void em_close(op_emit *e); /* "}" and dedent */
/* Like em_for for a node's outermost loop whose iterations are independent
 * (each writes its own part of the outputs, none reads what another
 * writes, and the body uses no shared `scratch`; per-worker scratch is at
 * `wscratch`).  When the loop carries enough work (`work` is a cost per
 * iteration, about one per element touched) it becomes
 * "for (var = par_lo; var < par_hi; var++)" and the node runs as tasks,
 * each a block of whole `grain`-iteration units (grain keeps vector loops
 * aligned, so results do not depend on the split); otherwise it is em_for. */
void em_par_for(op_emit *e, const char *var, int64_t n, int64_t grain, int64_t work);
/* em_par_for for a count known when the model runs (the general path):
 * `n` is a C expression of the function's parameters (rtd), at most
 * `top`; the task count follows from top * work, and the run splits the
 * actual count among them. */
void em_par_for_rt(op_emit *e, const char *var, const char *n, int64_t top, int64_t work);
/* C storage type for a dtype ("float", "int64_t", "uint16_t" for f16/bf16,
 * "uint8_t" for bool). */
const char *em_ctype(hodu_dtype t);
/* C type arithmetic is done in ("float" for f16/bf16, else em_ctype). */
const char *em_compute_ctype(hodu_dtype t);
/* Expression converting a stored element `expr` of type t to the compute
 * type, and the reverse.  Returns a graph-independent string the caller frees. */
char *em_load(hodu_dtype t, const char *expr);
char *em_store(hodu_dtype t, const char *expr);
/* A double as C source text: "%.17g" for finite values, NAN, INFINITY or
 * (-INFINITY) otherwise, so a non-finite attribute still gives valid C.
 * Use the member directly in a call: em_f64(eps).s. */
typedef struct em_num {
    char s[40];
} em_num;
em_num em_f64(double v);
/* Whether dim i of operand v (i < 0: absent) broadcasts to output dim
 * `out` in numpy's rules: its stride there is 0. */
bool em_rt_broadcasts(const ir_value *v, int i, const ir_dim *out);
/* The general path (op_emit.rt_dims) of an op that keeps its data as it
 * is (Reshape, Flatten, Squeeze, ...): out0 gets this run's bytes of in0. */
bool em_copy_rt(op_emit *e);
/* Dim i of v in a run: "rtd[2]" for a run-time dim, else its size
 * "INT64_C(64)" (emit_c.c; for the general path, op_emit.rt_dims). */
em_num em_dim(const ir_graph *g, const ir_value *v, int i);

/* --- index expressions ------------------------------------------------
 * Generated code addresses elements with sums of loop variables times
 * literal strides.  em_index writes such a sum the way a person would: a
 * zero stride drops its term, stride 1 is the bare variable, negative
 * strides and constants are subtracted, the constant comes last, and an
 * empty sum is "0".  So {"o", 12}, {"k", 0}, {"i", 1} with constant -3 is
 * "o * 12 + i - 3".  A term's `var` is any C expression that binds tighter
 * than `*` (a name, a call, or something in parentheses).  Terms come
 * from short names the emitters choose, so the text always fits; a longer
 * one is a bug in the compiler and aborts. */
typedef struct em_term {
    const char *var;
    int64_t stride;
} em_term;
typedef struct em_expr {
    char s[1024];
} em_expr;
em_expr em_index(int64_t c, size_t n, const em_term *t);
/* "base + <index>", or "base" alone when the index is 0.  With a negative
 * term the index is parenthesised, so a pointer base never steps outside
 * its object on the way. */
em_expr em_offset(const char *base, int64_t c, size_t n, const em_term *t);
/* "base + idx" for an index already written by em_index, or "base" alone
 * when idx is "0" (parenthesised like em_offset when idx subtracts). */
em_expr em_at(const char *base, const char *idx);
/* The two arguments (count, array) for a literal list of terms:
 *     em_index(0, EM_TERMS({"n", C * HW}, {"c", HW})).s */
#define EM_TERMS(...) (sizeof((const em_term[]){__VA_ARGS__}) / sizeof(em_term)), ((const em_term[]){__VA_ARGS__})

/* --- derived constants --------------------------------------------------
 * A lowering may lay a constant operand out anew at build time (weights
 * pre-packed for the kernel that reads them).  em_const_in gives the
 * constant behind input k (through an epilogue's body to the graph), or
 * NULL when the input is not a constant; em_blob appends bytes to the
 * weight blob, 64-byte aligned, and returns their address as a C
 * expression of type `const float *`.  A lowering that reads a constant
 * input only that way says so in native_lowering.packs, and the blob then
 * leaves the original out. */
const ir_value *em_const_in(const op_emit *e, size_t k);
em_expr em_blob(op_emit *e, const void *data, size_t nbytes);

#endif /* HODU_NATIVE_EMIT_H */
