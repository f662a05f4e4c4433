/*
 * emit_nn.h - private to the native lowerings of the nn families
 * (emit_nn.c, emit_nn_conv.c, emit_nn_pool.c, emit_nn_resize.c,
 * emit_nn_sample.c): the pieces of C generation and scratch sizing they
 * share.  The geometry they
 * lower comes from src/ops/nn.h.
 */
#ifndef HODU_NATIVE_EMIT_NN_H
#define HODU_NATIVE_EMIT_NN_H

#include <stdbool.h>
#include <stdint.h>

#include "emit.h"
#include "ops/nn.h"

/* Rounds a byte count up to the 64-byte alignment scratch blocks keep
 * (UINT64_MAX, "too large", stays UINT64_MAX). */
static inline uint64_t nn_align64(uint64_t x) { return x > UINT64_MAX - 63 ? UINT64_MAX : (x + 63) & ~(uint64_t)63; }

/* Bytes the kernel layer's hd_sgemm_ws needs as scratch for an MxN (K deep)
 * product, for any target the generated code may be built for. */
uint64_t nn_sgemm_scratch_bytes(int64_t M, int64_t N, int64_t K);

/* A float GEMM through the kernel layer's threaded entry: prints
 * hd_sgemm_par(exec, workers, <worker bytes>, batch, sa, sb, sc, M, N, K,
 * A, lda, ta, B, ldb, tb, C, ldc, alpha, beta) with the operand
 * expressions as given, and marks the node parallel.  The lowering's
 * worker_scratch must cover nn_sgemm_scratch_bytes(M, N, K). */
typedef struct nn_sgemm_call {
    int64_t batch, sa, sb, sc, M, N, K, lda, ldb, ldc;
    const char *A, *B, *C, *alpha, *beta;
    int ta, tb;
    /* Optional: op(B) pre-packed (hd_sgemm_pack_b's layout; B, ldb and tb
     * are then unused), and a tile function with its context (nn_tile_fn,
     * nn_tile_ctx); with either the call is an hd_sgemm_op run through
     * hd_sgemm_run_par. */
    const char *packed_b, *tile_fn, *tile_ctx;
} nn_sgemm_call;
void nn_emit_sgemm(op_emit *e, const nn_sgemm_call *c);
/* M rows as C: the literal, or for a GEMM taking its rows at run time
 * (op_emit.rt_rows_div) "(rt_rows * INT64_C(M / rt_rows_div))". */
em_expr nn_rows(const op_emit *e, int64_t M);

/* Constant input `input` (op(B), K x N, stored N x K when trans_b) packed
 * into the blob for the kernel layer (hd_sgemm_pack_b's layout); returns
 * its address expression (the caller frees it), or NULL when the input is
 * not such a constant. */
char *nn_packed_b(op_emit *e, size_t input, int64_t K, int64_t N, bool trans_b);

/* --- epilogues ------------------------------------------------------------
 * A hodu.FusedEpilogue node is lowered by its contraction's lowering, run
 * on the node's body (op_emit.g, .node: the body and member 0) with
 * op_emit.epi set; the lowering hands each finished block of its result to
 * a tile function that applies the elementwise members (and its own
 * per-channel bias) and stores the output.  Parameters in<k> are the node's
 * inputs, so the contraction's own operands keep their names (em_epilogue
 * in emit.h). */
/* How a product's C relates to the output, for a tile function: C(i, j)
 * is output element i*out_rs + j*out_cs past the call's base, and its
 * channel is i (rows_are_channels) or j.  An out_rs of -1: a row stride
 * the run decides, held in the context (nn_tile_ctx_rs). */
typedef struct nn_tile_map {
    int64_t out_rs, out_cs;
    bool rows_are_channels;
    int bias;   /* an input added per channel before the members, or -1 */
    bool moves; /* C is a temporary: the tile must be stored to the output */
} nn_tile_map;

/* When there is anything to do (an epilogue, a bias, a move): writes
 * `static void <fn>(void *ctx, float *c, int64_t ldc, int64_t i0,
 * int64_t j0, int64_t mr, int64_t nr)` (an hd_tile_fn) and its context
 * `struct <fn>_ctx` to the file scope, puts "<fn>" in fn and returns true. */
bool nn_tile_fn(op_emit *e, const nn_tile_map *map, char fn[32]);
/* Declares `struct <fn>_ctx <var>` for a call whose C(0, 0) is output
 * element `base` and whose channel 0 is channel `ch` (C expressions). */
void nn_tile_ctx(op_emit *e, const char *fn, const nn_tile_map *map, const char *var, const char *base, const char *ch);
/* The same with the run's row stride `rs` (a C expression) for out_rs -1. */
void nn_tile_ctx_rs(op_emit *e, const char *fn, const nn_tile_map *map, const char *var, const char *base,
                    const char *ch, const char *rs);

/* The epilogue (and bias input `bias`, or -1) applied in place to the `n`
 * floats at `y` (C expressions), all of channel `ch`, whose first is output
 * element `base`: for lowerings over run-time dims, which finish their
 * result a row or a plane at a time.  False after reporting on the node. */
bool nn_emit_span_epilogue(op_emit *e, const char *y, const char *n, const char *ch, const char *base, int bias);

/* "const int64_t <iv> = <ov> * s + <kv> * d - pb;": the input coordinate
 * along spatial dim i that output position <ov> reads at kernel tap <kv>. */
void nn_emit_tap(op_emit *e, const nn_window *w, int i, const char *iv, const char *ov, const char *kv);
/* Writes `static const hd_window <name>` for the kernel layer's im2col and
 * col2im: the image is w's input and the column grid its output, or the
 * other way round when `transposed` (ConvTranspose scatters its input grid
 * onto its output) (emit_nn_conv.c). */
void nn_emit_window(op_emit *e, const char *name, const nn_window *w, bool transposed);

/* Fills t[0..nd) with the row-major terms of an index over dims[0..nd)
 * (vars[0] outermost), each stride multiplied by `scale`; returns nd. */
size_t nn_dense_terms(em_term *t, int nd, const char *const *vars, const int64_t *dims, int64_t scale);

#endif /* HODU_NATIVE_EMIT_NN_H */
