/*
 * ops/attention.h - the attention family's semantic face for backends
 * (ops/attention.c): the resolved geometry of Attention and RotaryEmbedding
 * nodes, computed once from shapes and attributes by the same code shape
 * inference validates with.  Getters expect a node inference accepted and
 * return false (reporting nothing) otherwise.
 *
 * Strides are in elements of the tensor's own layout; the innermost
 * (head_size) stride is always 1.
 */
#ifndef HODU_OPS_ATTENTION_H
#define HODU_OPS_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Attention: inputs Q, K, V, attn_mask?, past_key?, past_value?,
 * nonpad_kv_seqlen?; outputs Y, present_key?, present_value?,
 * qk_matmul_output?  (semantics in attention.c). */
typedef struct attention_geom {
    int rank;                           /* of Q, K, V: 3 or 4 */
    hodu_dtype t;                       /* of Q, K, V, past and outputs */
    int64_t B, Hq, Hkv;                 /* batch, query heads, kv heads */
    int64_t Sq, Skv, Sp, St;            /* query, new kv, past and total (Sp + Skv) lengths */
    int64_t Dk, Dv;                     /* head sizes of Q/K and of V */
    int64_t qs[3], ks[3], vs[3], ys[3]; /* (batch, head, seq) strides of Q, K, V, Y */
    bool has_mask, has_past, has_nonpad;
    int64_t ms[4]; /* mask strides for [B, Hq, Sq, kv], 0 where broadcast */
    int64_t Lm;    /* mask length along kv (<= St: the rest is -inf) */
    hodu_dtype mt; /* mask dtype: bool or t */
    bool causal;
    int mode;             /* qk_matmul_output_mode, 0..3 */
    float scale, softcap; /* softcap 0: none */
    /* FlexAttention's modifiers (NULL when absent): subgraphs from the
     * whole scores to new scores, from the probabilities to new ones */
    const struct ir_graph *score_mod, *prob_mod;
} attention_geom;

bool attention_geom_of(const ir_graph *g, int node, attention_geom *a);

/* RotaryEmbedding: inputs X, cos_cache, sin_cache, position_ids?. */
typedef struct rotary_geom {
    int64_t B, H, S, D; /* batch, heads, sequence, head size */
    int64_t R;          /* rotated channels per head (even, <= D) */
    int64_t P;          /* cache rows when position_ids are given */
    int64_t xs[3];      /* strides of batch, head, seq in X (and the output) */
    bool pos;           /* position_ids given: caches are [P, R/2], else [B, S, R/2] */
    bool inter;         /* pairs (2k, 2k+1) rather than (k, k + R/2) */
} rotary_geom;

bool rotary_geom_of(const ir_graph *g, int node, rotary_geom *r);

#endif /* HODU_OPS_ATTENTION_H */
