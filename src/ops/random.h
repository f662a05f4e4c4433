/*
 * ops/random.h - the random family's semantic face for backends
 * (ops/random.c): RandomUniform, RandomNormal, RandomUniformLike,
 * RandomNormalLike, Bernoulli and Multinomial.
 *
 * Every node draws from its own Philox4x32-10 stream (kernels/
 * hodu_kernels.h, section 9) under a 64-bit key: from the `seed`
 * attribute when the node has one, else derived from the node (a hash of
 * its first output's name), so a model without seeds still gives the same
 * values on every run.  Element i of the output draws from counter block
 * (i / k, kind): k = 4 (one 24-bit uniform per word: RandomUniform into float16,
 * bfloat16 and float, Bernoulli on such probabilities) or k = 2 (two
 * words per 53-bit uniform: RandomUniform into double, Bernoulli on
 * double, Multinomial; and the normals, a Box-Muller pair per block).
 */
#ifndef HODU_OPS_RANDOM_H
#define HODU_OPS_RANDOM_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Also the stream word of the counter (hd_rand_block): one seed given to
 * two ops of different kinds draws independent values. */
typedef enum random_kind { RANDOM_UNIFORM = 1, RANDOM_NORMAL, RANDOM_BERNOULLI, RANDOM_MULTINOMIAL } random_kind;

typedef struct random_plan {
    random_kind kind;
    hodu_dtype out;                  /* the output's type */
    hodu_dtype in;                   /* Bernoulli's and Multinomial's input type */
    int64_t numel;                   /* output elements */
    double a, b;                     /* uniform: low, high; normal: mean, scale */
    int64_t batch, classes, samples; /* Multinomial: input [batch, classes], output [batch, samples] */
    uint32_t key[2];
    bool seeded; /* key from the seed attribute (`seed`); else from the node */
    float seed;
} random_plan;

/* Resolves a node inference accepted; false (reporting nothing) otherwise. */
bool random_plan_of(const ir_graph *g, int node, random_plan *p);

/* For --inspect: one line on where a random node's key comes from, which
 * the caller frees; NULL for any other node. */
char *random_note(const ir_graph *g, int node);

#endif /* HODU_OPS_RANDOM_H */
