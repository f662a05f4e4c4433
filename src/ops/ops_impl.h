/*
 * ops_impl.h - private to src/ops: the family lists that ops.c stitches into
 * the op table.  Each family file defines `hd_ops_<family>[]` and its count.
 */
#ifndef HODU_OPS_IMPL_H
#define HODU_OPS_IMPL_H

#include "ops.h"

extern const op_def hd_ops_elementwise[];
extern const size_t hd_ops_elementwise_count;
extern const op_def hd_ops_reduce[];
extern const size_t hd_ops_reduce_count;
extern const op_def hd_ops_nn[];
extern const size_t hd_ops_nn_count;
extern const op_def hd_ops_shape[];
extern const size_t hd_ops_shape_count;
extern const op_def hd_ops_attention[];
extern const size_t hd_ops_attention_count;

#define HD_OPS_COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

#endif /* HODU_OPS_IMPL_H */
