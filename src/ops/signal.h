/*
 * signal.h - the signal family's public semantic face (src/ops/signal.c):
 * DFT, STFT, the window generators and MelWeightMatrix.
 *
 * DFT and STFT are both "one transform per line": lines0 x lines1 lines,
 * each reading n_load samples (real or complex) at a fixed stride, zero
 * beyond them up to the transform length n, optionally multiplied by a
 * window, transformed (kernel layer section 7, in double), and n_store
 * values (complex, or the real part only) written back scaled.  The plan
 * below says all of it in element offsets, so a backend only walks it.
 *
 * The window ops and MelWeightMatrix: signal_table computes their values
 * (in double, row-major) when their operands are build-time constants (a
 * window whose size is a run-time input gets the declared length), and
 * signal_store_as writes one value in the output dtype (floats rounded,
 * integers truncated toward zero and saturated), which folding and a
 * backend share.
 *
 * The getters expect a node that inference accepted; they return false
 * (reporting nothing) for one it would refuse.
 */
#ifndef HODU_OPS_SIGNAL_H
#define HODU_OPS_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct signal_plan {
    int64_t n;              /* transform length (dft_length / frame_length) */
    int64_t lines0, lines1; /* transforms: line (a, b) for a < lines0, b < lines1 */
    /* input: sample j of line (a, b) starts at element
     * a * in_s0 + b * in_s1 + j * in_step; in_ch (1 real, 2 complex)
     * elements per sample; samples j >= n_load are zero */
    int64_t in_s0, in_s1, in_step, in_ch, n_load;
    int window; /* input index of a window of n_load samples (STFT), or -1 */
    bool inverse;
    /* the input is the first half of a Hermitian spectrum (IRFFT): bins
     * n - k are the conjugates of bins k, and the output is real */
    bool hermitian;
    /* output: value k of line (a, b) at a * out_s0 + b * out_s1 + k * out_step,
     * out_ch elements (2: re, im; 1: re only), times scale, for k < n_store */
    int64_t out_s0, out_s1, out_step, out_ch, n_store;
    double scale;
    /* the value of the run-time operand that picks this plan (DFT: the
     * axis, 0 <= select <= rank - 2; STFT: the frame length) */
    int64_t select;
    /* STFT's frame_step comes at run time: line (a, b) starts at
     * a * in_s0 + b * step * in_s1, and the step must give lines1 frames */
    bool step_at_run_time;
} signal_plan;

/* The plan of a DFT or STFT node (the first variant, see below). */
bool signal_plan_get(const ir_graph *g, int node, signal_plan *p);

/* A DFT whose axis or an STFT whose frame_length is a run-time input has
 * one plan per value that gives the declared output shape (at most
 * HODU_MAX_RANK): they are stored in `plans`, their count returned, and
 * the operand's input index put in *select_input.  Otherwise one plan and
 * *select_input = -1. */
int signal_plan_variants(const ir_graph *g, int node, signal_plan *plans, int *select_input);

/* The values of a HannWindow / HammingWindow / BlackmanWindow /
 * MelWeightMatrix node's output, numel doubles the caller frees; NULL for
 * any other node. */
double *signal_table(const ir_graph *g, int node, int64_t *numel);

/* Stores v as element i of an array of dtype t. */
void signal_store_as(hodu_dtype t, void *dst, int64_t i, double v);

#endif /* HODU_OPS_SIGNAL_H */
