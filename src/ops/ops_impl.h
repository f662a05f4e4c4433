/*
 * ops_impl.h - private to src/ops: how a family file defines an op.
 *
 * A family file writes, for each of its ops,
 *
 *     OP_DEF(CONV, .attrs = conv_attrs, .infer = ..., .emit = ...);
 *
 * OP_DEF fills in the identity columns of the op's op_list.def line (name,
 * domain, opset range, arity, family) and the family file gives only the
 * semantics.  Setting an identity field there again is an error
 * (-Woverride-init); leaving an op of the list without an OP_DEF is a link
 * error (ops.c points the table at every hd_op_def_<ID>).
 */
#ifndef HODU_OPS_IMPL_H
#define HODU_OPS_IMPL_H

#include "ops.h"

/* Longest op name / domain, NUL included (a longer one does not compile). */
#define HD_OP_NAME_LEN   32
#define HD_OP_DOMAIN_LEN 32

/* The names and domains, indexed by op_id; defined in ops.c.  An element is
 * an address constant, so static initializers may point at it. */
extern const char hd_op_names[OP_COUNT][HD_OP_NAME_LEN];
extern const char hd_op_domains[OP_COUNT][HD_OP_DOMAIN_LEN];

/* The numeric columns as enum constants (HDI_<ID>_SINCE, ...), which static
 * initializers may use. */
enum {
#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY)                                \
    HDI_##ID##_SINCE = (SINCE), HDI_##ID##_UNTIL = (UNTIL), HDI_##ID##_MIN_IN = (MIN_IN),                              \
    HDI_##ID##_MAX_IN = (MAX_IN), HDI_##ID##_MIN_OUT = (MIN_OUT), HDI_##ID##_MAX_OUT = (MAX_OUT),                      \
    HDI_##ID##_FAMILY = OP_FAMILY_##FAMILY,
#include "op_list.def"
#undef HD_OP
};

#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY)                                \
    extern const op_def hd_op_def_##ID;
#include "op_list.def"
#undef HD_OP

/* Gradient rules shared by a family's ops (ops.h, "gradient rules"),
 * in <family>_grad.c. */
/* MeanVarianceNormalization's axes (default [0, 2, 3]) as a mask over
 * rank dims; false when one lies outside them (reduce.c). */
bool mvn_mask(const ir_node *n, int rank, bool *mask);
bool ew_grad(op_grad_ctx *c);
bool matmul_grad(op_grad_ctx *c);
bool gemm_grad(op_grad_ctx *c);
bool flatten_grad(op_grad_ctx *c);
bool reshape_grad(op_grad_ctx *c);
bool transpose_grad(op_grad_ctx *c);
bool expand_grad(op_grad_ctx *c);
bool slice_grad(op_grad_ctx *c);
bool concat_grad(op_grad_ctx *c);
bool split_grad(op_grad_ctx *c);
bool gather_grad(op_grad_ctx *c);
bool gather_elements_grad(op_grad_ctx *c);
bool gather_nd_grad(op_grad_ctx *c);
bool tile_grad(op_grad_ctx *c);
bool pad_grad(op_grad_ctx *c);
bool d2s_grad(op_grad_ctx *c);
bool scatter_grad(op_grad_ctx *c);
bool trilu_grad(op_grad_ctx *c);
bool zero_grad(op_grad_ctx *c);
bool reduce_grad(op_grad_ctx *c);  /* Reduce* */
bool softmax_grad(op_grad_ctx *c); /* Softmax, LogSoftmax */
bool cumsum_grad(op_grad_ctx *c);
bool topk_grad(op_grad_ctx *c);
bool layernorm_grad(op_grad_ctx *c); /* LayerNormalization, RMSNormalization */
bool batchnorm_grad(op_grad_ctx *c);
bool groupnorm_grad(op_grad_ctx *c); /* InstanceNormalization, GroupNormalization */
bool lpnorm_grad(op_grad_ctx *c);
bool mvn_grad(op_grad_ctx *c);
bool cumprod_grad(op_grad_ctx *c);
bool loss_grad(op_grad_ctx *c); /* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */
bool conv_grad(op_grad_ctx *c);
bool max_pool_grad(op_grad_ctx *c);
bool avg_pool_grad(op_grad_ctx *c);    /* AveragePool, LpPool */
bool global_pool_grad(op_grad_ctx *c); /* GlobalAveragePool, GlobalMaxPool, GlobalLpPool */
bool einsum_grad(op_grad_ctx *c);
bool det_grad(op_grad_ctx *c);
bool lrn_grad(op_grad_ctx *c);
bool tscatter_grad(op_grad_ctx *c); /* TensorScatter */
bool attention_grad(op_grad_ctx *c);
bool rotary_grad(op_grad_ctx *c);
bool center_crop_pad_grad(op_grad_ctx *c);
bool affine_grid_grad(op_grad_ctx *c);
bool col2im_grad(op_grad_ctx *c);
bool grid_sample_grad(op_grad_ctx *c); /* GridSample 16 and 20 */
bool roi_align_grad(op_grad_ctx *c);   /* RoiAlign 10 and 16 */
bool dft_grad(op_grad_ctx *c);         /* DFT 17 and 20 */
bool resize_grad(op_grad_ctx *c);      /* Resize, Upsample */
bool revseq_grad(op_grad_ctx *c);
bool rnn_expand(ir_graph *g, int node, hd_diag *d); /* RNN, GRU, LSTM (recurrent_grad.c) */

/* Defines op ID's op_def: its identity from the list, then the semantic
 * fields given as designated initializers. */
#define OP_DEF(ID, ...)                                                                                                \
    const op_def hd_op_def_##ID = {.id = OP_##ID,                                                                      \
                                   .name = hd_op_names[OP_##ID],                                                       \
                                   .domain = hd_op_domains[OP_##ID],                                                   \
                                   .since = HDI_##ID##_SINCE,                                                          \
                                   .until = HDI_##ID##_UNTIL,                                                          \
                                   .min_inputs = HDI_##ID##_MIN_IN,                                                    \
                                   .max_inputs = HDI_##ID##_MAX_IN,                                                    \
                                   .min_outputs = HDI_##ID##_MIN_OUT,                                                  \
                                   .max_outputs = HDI_##ID##_MAX_OUT,                                                  \
                                   .family = (op_family)HDI_##ID##_FAMILY,                                             \
                                   __VA_ARGS__}

#endif /* HODU_OPS_IMPL_H */
