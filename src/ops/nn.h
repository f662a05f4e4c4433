/*
 * nn.h - the nn op family's public semantic face (MatMul, Gemm, the
 * quantized products, Flatten, and the convolutions; pooling and Resize
 * have their own headers).
 *
 * Backends lower these ops from the plans below.  Each plan is computed on
 * the semantic side, from the node's static shapes and attributes, by the
 * same code shape inference runs, so a backend never re-derives geometry
 * and what it lowers always agrees with the inferred output shape.  The
 * getters expect a node that inference accepted; on any other node they
 * return false and leave the plan unspecified.
 */
#ifndef HODU_OPS_NN_H
#define HODU_OPS_NN_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Most spatial dims a conv/pool handles (the tensor rank minus N and C). */
#define NN_MAX_SPATIAL (HODU_MAX_RANK - 2)

/* Geometry of a sliding window over `nd` spatial dims: input, output,
 * kernel, stride and dilation sizes, and the padding before (pb) and after
 * (pe) each dim, auto_pad already resolved.  Input position of output o and
 * tap k along dim i: o * s[i] + k * d[i] - pb[i]. */
typedef struct nn_window {
    int nd;
    int64_t in[NN_MAX_SPATIAL], out[NN_MAX_SPATIAL], k[NN_MAX_SPATIAL];
    int64_t s[NN_MAX_SPATIAL], d[NN_MAX_SPATIAL], pb[NN_MAX_SPATIAL], pe[NN_MAX_SPATIAL];
} nn_window;

/* True when some (output, tap) pair of spatial dim i reads outside
 * [0, in), i.e. a lowering needs a bounds check (padding) along it. */
static inline bool nn_window_leaves_input(const nn_window *w, int i)
{
    return w->pb[i] > 0 || (w->out[i] - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] - w->pb[i] > w->in[i] - 1;
}

/* auto_pad SAME_UPPER (upper) or SAME_LOWER over a run-time spatial dim
 * whose sizes lie in [lo, hi]: the leading pad follows the size modulo the
 * stride.  True, with *pb, when it is the same at every size (stride 1,
 * SAME_LOWER with an odd window and stride 2, ...); the output is then
 * floor((in - 1) / s) + 1 at every size, with *pb before and at most
 * ek - 1 - *pb after (ek: the window with dilation).  False when it
 * varies, or when the stride and the range are both over 64 (not tried). */
bool nn_same_rt_lead(int64_t ek, int64_t s, bool upper, int64_t lo, int64_t hi, int64_t *pb);

/* --- MatMul, MatMulInteger, QLinearMatMul -------------------------------
 * numpy matmul semantics: a 1-D A is [1, K], a 1-D B is [K, 1]; leading
 * (batch) dims broadcast.  Each batch entry is a dense row-major [M, K] x
 * [K, N] -> [M, N] product.  A and B are inputs 0 and 1 (QLinearMatMul:
 * 0 and 3). */
typedef struct nn_matmul_plan {
    int64_t M, N, K;
    int br;                       /* output batch rank */
    int64_t bdims[HODU_MAX_RANK]; /* output batch dims */
    /* Element strides of A's and B's matrices along each batch dim; 0 where
     * that operand is broadcast. */
    int64_t sa[HODU_MAX_RANK], sb[HODU_MAX_RANK];
    int64_t batch;  /* product of bdims */
    bool a_batched; /* A varies along some batch dim of size > 1 */
    bool b_batched; /* likewise B */
} nn_matmul_plan;

bool nn_matmul_plan_of(const ir_graph *g, int node, nn_matmul_plan *p);

/* --- Gemm ---------------------------------------------------------------
 * out[M, N] = alpha * A' B' + beta * C, A' = trans_a ? A^T : A (A stored
 * [M, K] or [K, M]), likewise B.  use_c is false when C is absent or beta
 * is 0 (then C is not read at all); C's element (m, n) is at
 * m * c_stride_m + n * c_stride_n (0 strides broadcast). */
typedef struct nn_gemm_plan {
    int64_t M, N, K;
    bool trans_a, trans_b;
    double alpha, beta;
    bool use_c;
    int64_t c_stride_m, c_stride_n;
} nn_gemm_plan;

bool nn_gemm_plan_of(const ir_graph *g, int node, nn_gemm_plan *p);

/* --- Conv, ConvInteger, QLinearConv, ConvTranspose ----------------------
 * X [N, C, in...].  Conv family: W [M, C/G, k...] -> Y [N, M, out...].
 * ConvTranspose: W [C, M/G, k...] -> Y [N, M, out...]; its window maps
 * input positions to output positions (output o = i * s + k * d - pb),
 * with pads derived from output_shape / auto_pad already. */
typedef struct nn_conv_geom {
    nn_window w;
    int64_t N, C, M, G; /* batch, input and output channels, groups */
    int64_t Cg, Mg;     /* channels per group: C / G, M / G */
    int64_t IP, OP, KP; /* products of the input, output and kernel spatial dims */
} nn_conv_geom;

bool nn_conv_geom_of(const ir_graph *g, int node, nn_conv_geom *geom);

/* --- hodu.ConvBlocked ------------------------------------------------------
 * A 2-D float32 convolution, dense with one group or depthwise, on
 * channel-blocked tensors (pass_block_convs makes it): X [N, C/B, H, W, B], W [M/B, C/B, KH, KW,
 * B (in), B (out)] (or, depthwise, one filter per channel: W [C/B, KH,
 * KW, B] and M = C; or, dense from a plain NCHW X [N, C, H, W], W [M/B,
 * C, KH, KW, 1, B]), optional bias [M] -> Y [N, M/B, OH, OW, B], channel
 * c at block c / B, lane c % B, with B = NN_CONV_BLOCK.  Attributes
 * strides, pads and dilations as Conv's (no auto_pad).  nn_conv_geom_of
 * gives its geometry in channels (C, M), G = 1 (depthwise: C). */
#define NN_CONV_BLOCK 16

/* --- hodu.ConvGradWeight --------------------------------------------------
 * The weight gradient of a convolution (the Conv and ConvTranspose
 * gradient rules make it): L [N, C, in...] (the long side) and S [N, M,
 * out...] (the short side), both float32 or both float64, attributes
 * kernel_shape, strides, dilations, pads (2 * nd) and group G of the window
 * from L's grid to S's (tap k of short position o reads long position
 * o*s + k*d - pb; S's grid may stop short of what the pads allow) ->
 * dW [M, C/G, k...] = sum over n and o of S[n, m, o] * L[n, c of m's group,
 * o*s + k*d - pb] (0 outside L).  nn_conv_dw_geom_of gives its geometry
 * with L as the input (C) and S as the output (M). */
bool nn_conv_dw_geom_of(const ir_graph *g, int node, nn_conv_geom *geom);

/* --- hodu.FusedEpilogue ---------------------------------------------------
 * A contraction whose result goes through elementwise ops before it is
 * stored (pass_fuse_elementwise builds it): the node's body (ir.h, "Node
 * bodies") has the producer as member 0 (Conv, Gemm or MatMul, float32)
 * reading node inputs 0 .. n_producer_inputs-1 in order, then elementwise
 * members (ew_epilogue_fusable: what fuses into a loop, and the float32
 * vector-math activations), all of the output's shape.  Each other operand the
 * members read broadcasts into the output in one of three ways, so a
 * backend can apply the members to any block of the producer's result: */
typedef enum nn_epi_class {
    NN_EPI_FULL,    /* the output's shape */
    NN_EPI_CHANNEL, /* one value per channel: 1 everywhere but the channel axis */
    NN_EPI_SCALAR   /* one element */
} nn_epi_class;

#define NN_EPI_MAX_INPUTS 16

typedef struct nn_epilogue_plan {
    const ir_graph *body;
    int producer_op;
    size_t n_producer_inputs;
    int channel_axis; /* of the output: Conv 1, Gemm and MatMul the last */
    size_t n_inputs;
    nn_epi_class cls[NN_EPI_MAX_INPUTS]; /* per node input the members read */
} nn_epilogue_plan;

/* True when `node` can lead an epilogue; *channel_axis receives its
 * output's channel axis. */
bool nn_epilogue_producer(const ir_graph *g, int node, int *channel_axis);
/* How `v` broadcasts into `out` (channels along `axis`); false when it fits
 * none of the classes. */
bool nn_epilogue_class_of(const ir_value *v, const ir_value *out, int axis, nn_epi_class *cls);
bool nn_epilogue_plan_of(const ir_graph *g, int node, nn_epilogue_plan *p);

#endif /* HODU_OPS_NN_H */
