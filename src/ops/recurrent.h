/*
 * ops/recurrent.h - the recurrent family's semantic face for backends
 * (ops/recurrent.c): the resolved plan of RNN, GRU and LSTM nodes, and of
 * ReverseSequence, computed once from shapes and attributes by the same code
 * shape inference validates with.  Getters expect a node inference accepted
 * and return false (reporting nothing) otherwise.
 */
#ifndef HODU_OPS_RECURRENT_H
#define HODU_OPS_RECURRENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* The cell an RNN-family node runs. */
typedef enum rnn_cell { RNN_CELL_RNN, RNN_CELL_GRU, RNN_CELL_LSTM } rnn_cell;

/* The activation functions the recurrent ops accept, with their
 * parameters: f(x) as the ONNX op of the same name computes it. */
typedef enum rnn_act_kind {
    RNN_ACT_RELU,
    RNN_ACT_TANH,
    RNN_ACT_SIGMOID,
    RNN_ACT_AFFINE,           /* alpha * x + beta */
    RNN_ACT_LEAKY_RELU,       /* x < 0 ? alpha * x : x */
    RNN_ACT_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
    RNN_ACT_SCALED_TANH,      /* alpha * tanh(beta * x) */
    RNN_ACT_HARD_SIGMOID,     /* clamp(alpha * x + beta, 0, 1) */
    RNN_ACT_ELU,              /* x < 0 ? alpha * (exp(x) - 1) : x */
    RNN_ACT_SOFTSIGN,         /* x / (1 + |x|) */
    RNN_ACT_SOFTPLUS          /* log(1 + exp(x)) */
} rnn_act_kind;

typedef struct rnn_act {
    rnn_act_kind kind;
    double alpha, beta;
} rnn_act;

/* Inputs X, W, R, B?, sequence_lens?, initial_h?, (LSTM) initial_c?, P?;
 * outputs Y?, Y_h?, (LSTM) Y_c?.  Semantics in recurrent.c. */
typedef struct rnn_plan {
    rnn_cell cell;
    hodu_dtype t;                      /* of X, W, R, B, initial_*, P and the outputs */
    int64_t seq, batch, input, hidden; /* seq_length, batch_size, input_size, hidden_size */
    int dirs;                          /* 1 or 2 */
    bool reverse;                      /* direction "reverse" (dirs == 1) */
    int gates;                         /* rows of W per hidden unit: 1, 3, 4 */
    int n_acts;                        /* activations per direction: 1, 2, 3 */
    rnn_act act[2][3];                 /* [direction][f, g, h] */
    bool has_clip;
    double clip;       /* > 0 */
    bool layout1;      /* batch-major X, Y, initial_* and Y_* */
    bool lbr;          /* GRU linear_before_reset */
    bool input_forget; /* LSTM: forget gate = 1 - input gate */
    bool has_b, has_lens, has_h0, has_c0, has_p;
} rnn_plan;

bool rnn_plan_of(const ir_graph *g, int node, rnn_plan *p);

/* ReverseSequence: input X, sequence_lens (int64 [batch]).  X is viewed as
 * [outer = time or batch][the other][inner]: batch-major when batch_axis is
 * 0.  The first sequence_lens[b] steps of batch entry b are reversed along
 * the time axis, the others copied. */
typedef struct revseq_plan {
    int64_t seq, batch, inner;
    bool batch_major;
} revseq_plan;

bool revseq_plan_of(const ir_graph *g, int node, revseq_plan *p);

#endif /* HODU_OPS_RECURRENT_H */
