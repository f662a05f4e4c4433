/*
 * nn_impl.h - private to the nn op family (nn.c, nn_conv.c, nn_pool.c,
 * nn_resize.c): the functions the family's OP_DEFs point at, and the
 * geometry helpers convolution and pooling share.
 */
#ifndef HODU_NN_IMPL_H
#define HODU_NN_IMPL_H

#include "ops_impl.h"

/* Most spatial dims a conv/pool handles (the tensor rank minus N and C). */
#define NN_MAX_SPATIAL (HODU_MAX_RANK - 2)

/* Geometry of a sliding-window op over `nd` spatial dims: input, output,
 * kernel, stride, dilation, and padding before/after each dim. */
typedef struct nn_window {
    int nd;
    int64_t in[NN_MAX_SPATIAL], out[NN_MAX_SPATIAL], k[NN_MAX_SPATIAL];
    int64_t s[NN_MAX_SPATIAL], d[NN_MAX_SPATIAL], pb[NN_MAX_SPATIAL], pe[NN_MAX_SPATIAL];
} nn_window;

/* Reads strides, dilations, pads and auto_pad (and ceil_mode when `pool`)
 * and computes the output size of a convolution or pooling window whose
 * kernel is w->k over input w->in.  Fails with a message naming the
 * attribute. */
bool nn_window_attrs(op_ctx *c, nn_window *w, bool pool);
/* Reads an ints attribute that must have exactly `n` entries (or be absent:
 * then `out` is filled with `fallback`). */
bool nn_ints_attr(op_ctx *c, const char *name, int n, int64_t fallback, int64_t *out);
/* An op_ctx over an emitter's graph, for reusing infer-time helpers in
 * emitters (they do not fail there: infer validated the node). */
op_ctx nn_ctx_of(op_emit *e);
/* Bytes the kernel layer's hd_sgemm_ws needs as scratch for an MxN (K deep)
 * product. */
uint64_t nn_sgemm_scratch_bytes(int64_t M, int64_t N, int64_t K);
/* Rounds a byte count up to the 64-byte alignment scratch blocks keep. */
static inline uint64_t nn_align64(uint64_t x) { return x > UINT64_MAX - 63 ? UINT64_MAX : (x + 63) & ~(uint64_t)63; }
/* Emits `int64_t name = <product of the loop vars times strides>` style sums:
 * writes "v0*s0 + v1*s1 ..." for the given vars into buf. */
/* Emits the copy of one IH x IW plane `x` into `xs` (the scratch) with each
 * row split into SW stride phases (phase ph holds columns ph, ph+SW, ...,
 * zero-padded to ceil(IW/SW)), so strided taps read contiguous runs. */
void nn_emit_phase_split(op_emit *e, int64_t IH, int64_t IW, int64_t SW);

void nn_offset_expr(hd_buf *b, int n, const char *const *vars, const int64_t *strides, int64_t base);

/* nn_conv.c */
bool nn_infer_conv(op_ctx *c);
bool nn_emit_conv(op_emit *e);
int64_t nn_flops_conv(const ir_graph *g, int node);
uint64_t nn_scratch_conv(const ir_graph *g, int node);
bool nn_infer_conv_transpose(op_ctx *c);
bool nn_emit_conv_transpose(op_emit *e);
int64_t nn_flops_conv_transpose(const ir_graph *g, int node);
uint64_t nn_scratch_conv_transpose(const ir_graph *g, int node);

/* nn_pool.c */
bool nn_infer_pool(op_ctx *c);
bool nn_emit_pool(op_emit *e);
uint64_t nn_scratch_pool(const ir_graph *g, int node);
bool nn_infer_max_unpool(op_ctx *c);
bool nn_emit_max_unpool(op_emit *e);
bool nn_infer_global_pool(op_ctx *c);
bool nn_emit_global_pool(op_emit *e);

/* nn_resize.c */
bool nn_infer_resize(op_ctx *c);
bool nn_emit_resize(op_emit *e);

#endif /* HODU_NN_IMPL_H */
