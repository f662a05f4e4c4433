/*
 * dynamic.h - the dynamic family's public semantic face (src/ops/dynamic.c):
 * ops whose output size depends on the values of their inputs, NonZero,
 * Unique, Compress and NonMaxSuppression.
 *
 * Such an output has a data-dependent dim (ir_dim.data_dep) whose size is
 * the bound its buffer is sized for; the lowering writes the data dense for
 * the actual size at the start of the buffer and reports the dims through
 * the ABI (hodu_abi.h, version 4).  Every data-dependent output is a graph
 * output or unread (pass_infer_fold refuses a node that reads one).
 *
 * The views below say where the items lie: the data as [outer, n, inner],
 * item j being the n-th index's slices (a flattened tensor: outer = inner
 * = 1).  The getters expect a node that inference accepted; they return
 * false (reporting nothing) for one it would refuse.
 */
#ifndef HODU_OPS_DYNAMIC_H
#define HODU_OPS_DYNAMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Compress: the items of `input` along `axis` (-1: flattened) whose
 * condition entry is true; entries past n (cond_n > n) are ignored, and
 * items past cond_n are dropped. */
typedef struct compress_plan {
    int axis; /* -1: the flattened input */
    int64_t outer, n, inner;
    int64_t cond_n; /* condition entries read: min(its length, n) */
} compress_plan;
bool compress_plan_of(const ir_graph *g, int node, compress_plan *p);

/* Unique: the distinct items along `axis` (-1: flattened). */
typedef struct unique_plan {
    int axis;
    int64_t outer, n, inner;
    bool sorted;
} unique_plan;
bool unique_plan_of(const ir_graph *g, int node, unique_plan *p);

/* NonMaxSuppression on boxes [batches, boxes, 4], scores [batches,
 * classes, boxes]; max_out is max_output_boxes_per_class when a build-time
 * constant (clamped to [0, boxes]), else -1 (read when the model runs).
 * The output holds at most `bound` rows. */
typedef struct nms_plan {
    int64_t batches, classes, boxes;
    int64_t max_out;
    int64_t bound;
    bool center; /* center_point_box = 1: [x_center, y_center, w, h] */
} nms_plan;
bool nms_plan_of(const ir_graph *g, int node, nms_plan *p);

#endif /* HODU_OPS_DYNAMIC_H */
