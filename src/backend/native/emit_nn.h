/*
 * emit_nn.h - private to the native lowerings of the nn families
 * (emit_nn.c, emit_nn_conv.c, emit_nn_pool.c, emit_nn_resize.c): the
 * pieces of C generation and scratch sizing they share.  The geometry they
 * lower comes from src/ops/nn.h.
 */
#ifndef HODU_NATIVE_EMIT_NN_H
#define HODU_NATIVE_EMIT_NN_H

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
} nn_sgemm_call;
void nn_emit_sgemm(op_emit *e, const nn_sgemm_call *c);

/* "const int64_t <iv> = <ov> * s + <kv> * d - pb;": the input coordinate
 * along spatial dim i that output position <ov> reads at kernel tap <kv>. */
void nn_emit_tap(op_emit *e, const nn_window *w, int i, const char *iv, const char *ov, const char *kv);

/* Fills t[0..nd) with the row-major terms of an index over dims[0..nd)
 * (vars[0] outermost), each stride multiplied by `scale`; returns nd. */
size_t nn_dense_terms(em_term *t, int nd, const char *const *vars, const int64_t *dims, int64_t scale);

#endif /* HODU_NATIVE_EMIT_NN_H */
