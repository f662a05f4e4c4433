/*
 * ops/optim.h - the optim family's semantic face for backends (ops/optim.c):
 * the optimizer update ops of ai.onnx.preview.training (Adagrad, Momentum,
 * Adam).  Each takes a learning rate R and an update count T (scalars, read
 * when the model runs) and n groups of same-shaped tensors, and returns the
 * updated tensors.  The getter resolves a node with the code shape
 * inference validates with; it expects a node inference accepted and
 * returns false (reporting nothing) otherwise.
 */
#ifndef HODU_OPS_OPTIM_H
#define HODU_OPS_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef enum optim_kind { OPTIM_ADAGRAD, OPTIM_MOMENTUM, OPTIM_ADAM } optim_kind;

/* Inputs R, T, then `groups` blocks of n tensors each: X (the parameters),
 * G (their gradients), then the state: H (Adagrad), V (Momentum), V and H
 * (Adam).  Outputs are the new X, then the new state blocks, n each:
 * input 2 + b*n + i is block b's tensor i, output b*n + i block b's new
 * tensor i (block 0 is X, then the state blocks in input order). */
typedef struct optim_plan {
    optim_kind kind;
    int n;             /* tensors per block */
    int groups;        /* input blocks: 3 (Adagrad, Momentum) or 4 (Adam) */
    hodu_dtype r_type; /* R: float or double */
    /* Attributes, as ONNX names them (the kind's own, others 0). */
    double norm_coefficient, norm_coefficient_post, epsilon, decay_factor, alpha, beta;
    bool nesterov; /* Momentum's mode */
} optim_plan;

bool optim_plan_of(const ir_graph *g, int node, optim_plan *p);

#endif /* HODU_OPS_OPTIM_H */
