/*
 * ops/stateful.h - the stateful family's semantic face for backends
 * (ops/stateful.c): ops that carry a recurrent state from one call to the
 * next, reading the previous call's state as an optional input and giving
 * the next one's as an output.  The getters resolve a node's geometry with
 * the code shape inference validates with; they expect a node inference
 * accepted and return false (reporting nothing) otherwise.
 */
#ifndef HODU_OPS_STATEFUL_H
#define HODU_OPS_STATEFUL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* LinearAttention (opset 27): inputs query [B, T, Hq*Dk], key [B, T,
 * Hkv*Dk], value [B, T, Hkv*Dv], past_state? [B, Hkv, Dk, Dv], decay? [B,
 * T, Hkv or Hkv*Dk], beta? [B, T, Hkv or 1]; outputs output [B, T, Hq*Dv],
 * present_state [B, Hkv, Dk, Dv]. */
typedef enum linear_attention_rule {
    LINEAR_ATTENTION_LINEAR,
    LINEAR_ATTENTION_GATED,
    LINEAR_ATTENTION_DELTA,
    LINEAR_ATTENTION_GATED_DELTA
} linear_attention_rule;

typedef struct linear_attention_geom {
    hodu_dtype t;               /* query, key, value, decay, beta and output */
    hodu_dtype st;              /* past_state's, else t: present_state's */
    int64_t B, T, Hq, Hkv;      /* batch, tokens, query heads, kv heads */
    int64_t Dk, Dv;             /* key and value head sizes */
    linear_attention_rule rule; /* update_rule */
    bool gated, delta;          /* the rule decays the state / corrects by delta */
    bool has_past;              /* past_state given (else the state starts at zero) */
    bool decay_per_key;         /* decay's last dim is Hkv*Dk, not Hkv */
    int64_t beta_heads;         /* beta's last dim: Hkv, or 1 shared by every head */
    double scale;               /* resolved: the attribute, or 1/sqrt(Dk) */
} linear_attention_geom;

bool linear_attention_geom_of(const ir_graph *g, int node, linear_attention_geom *a);

/* CausalConvWithState (opset 27): inputs input [B, C, L], weight [C, 1, K],
 * bias? [C], past_state? [B, C, K-1]; outputs output [B, C, L],
 * present_state [B, C, K-1].  Every tensor has one dtype. */
typedef struct causal_conv_geom {
    hodu_dtype t;
    int64_t B, C, L, K; /* batch, channels, length, kernel size (>= 1) */
    bool has_bias, has_past;
    bool silu; /* activation 'silu' or its alias 'swish' */
} causal_conv_geom;

bool causal_conv_geom_of(const ir_graph *g, int node, causal_conv_geom *c);

#endif /* HODU_OPS_STATEFUL_H */
