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

/* Stride phases up to this are split with one unrolled line per phase; a
 * wider stride (only odd or hostile models have one) gets a loop, so the C
 * stays small. */
#define NN_PHASE_UNROLL_MAX 16

/* Emits the copy of one IH x IW float plane `x` into `xs` (the scratch)
 * with each row split into SW stride phases (phase ph holds columns ph,
 * ph+SW, ..., zero-padded to ceil(IW/SW)), so strided taps read contiguous
 * runs. */
void nn_emit_phase_split(op_emit *e, int64_t IH, int64_t IW, int64_t SW);

#endif /* HODU_NATIVE_EMIT_NN_H */
