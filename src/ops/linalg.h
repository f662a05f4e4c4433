/*
 * linalg.h - the plans of the linalg family (src/ops/linalg.c) that
 * backends read: Einsum's parsed equation and its contraction schedule,
 * and the views of Det, LRN and TensorScatter.
 */
#ifndef HODU_OPS_LINALG_H
#define HODU_OPS_LINALG_H

#include <stdbool.h>
#include <stdint.h>

#include "ops.h"

/* --- Einsum ---------------------------------------------------------------
 * Labels are small integers: 'a'..'z' are 0..25, 'A'..'Z' 26..51, and the
 * dims an ellipsis stands for are 52.. (right-aligned, numpy-style: an
 * operand whose ellipsis covers fewer dims uses the last ids; a dim of size
 * 1 there broadcasts). */
#define EINSUM_MAX_INPUTS 16
#define EINSUM_ELL0       52
#define EINSUM_MAX_LABELS (EINSUM_ELL0 + HODU_MAX_RANK)

/* A dense row-major tensor over distinct labels, or an operand's dims. */
typedef struct einsum_labels {
    int n;
    signed char l[EINSUM_MAX_LABELS];
} einsum_labels;

/* One pairwise contraction, C[batch, m, n] = sum over k of A[batch, m, k] *
 * B[batch, k, n]: A is the running result (the first prepared input at
 * step 0), B the prepared input step + 1; C is dense in the order
 * batch, m, n (each group in the order given). */
typedef struct einsum_step {
    einsum_labels batch, m, n, k;
} einsum_step;

typedef struct einsum_plan {
    int n_in;
    int64_t size[EINSUM_MAX_LABELS];     /* -1: label unused */
    einsum_labels in[EINSUM_MAX_INPUTS]; /* one label per input dim; may repeat */
    einsum_labels out;                   /* the output's dims, distinct */
    /* Inputs are first reduced on their own (diagonals taken, labels no
     * other operand nor the output has summed, broadcast dims widened)
     * when `prep_needed`, into dense tensors over `prep`'s labels (their
     * first-occurrence order); otherwise prep lists the dims as they are. */
    einsum_labels prep[EINSUM_MAX_INPUTS];
    bool prep_needed[EINSUM_MAX_INPUTS];
    int n_steps; /* n_in - 1 */
    einsum_step step[EINSUM_MAX_INPUTS - 1];
    /* The last step's C is already the output's layout (batch, m and n
     * are taken in output order). */
    bool last_is_out;
} einsum_plan;

/* Product of the labels' sizes (saturating). */
int64_t einsum_numel(const einsum_plan *p, const einsum_labels *t);
bool einsum_plan_of(const ir_graph *g, int node, einsum_plan *p);

/* --- Det -------------------------------------------------------------------
 * batch matrices of n x n. */
typedef struct det_plan {
    int64_t batch, n;
} det_plan;
bool det_plan_of(const ir_graph *g, int node, det_plan *p);

/* --- LRN -------------------------------------------------------------------
 * X viewed as [outer = N][C][inner = prod(D...)]; the window of channel c
 * is [c - lo, c + hi] clipped to [0, C). */
typedef struct lrn_plan {
    int64_t outer, C, inner, lo, hi, size;
    double alpha, beta, bias;
} lrn_plan;
bool lrn_plan_of(const ir_graph *g, int node, lrn_plan *p);

/* --- TensorScatter ---------------------------------------------------------
 * The cache viewed as [batch][mid][max_seq][inner], the update as
 * [batch][mid][seq][inner] (mid: the dims between the batch and the
 * sequence axis). */
typedef struct tscatter_plan {
    int64_t batch, mid, max_seq, seq, inner;
    bool circular, has_indices;
} tscatter_plan;
bool tscatter_plan_of(const ir_graph *g, int node, tscatter_plan *p);

#endif /* HODU_OPS_LINALG_H */
