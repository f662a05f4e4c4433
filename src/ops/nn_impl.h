/*
 * nn_impl.h - private to the nn op family (nn.c, nn_conv.c, nn_pool.c,
 * nn_resize.c, nn_sample.c): the functions the family's OP_DEFs point at,
 * and the attribute readers convolution and pooling share.  The plans backends
 * read are in nn.h.
 */
#ifndef HODU_NN_IMPL_H
#define HODU_NN_IMPL_H

#include "nn.h"
#include "ops_impl.h"

/* Reads strides, dilations, pads and auto_pad (and ceil_mode when `pool`)
 * and computes the output size of a convolution or pooling window whose
 * kernel is w->k over input w->in.  Fails with a message naming the
 * attribute. */
bool nn_window_attrs(op_ctx *c, nn_window *w, bool pool);
/* Reads an ints attribute that must have exactly `n` entries (or be absent:
 * then `out` is filled with `fallback`). */
bool nn_ints_attr(op_ctx *c, const char *name, int n, int64_t fallback, int64_t *out);

/* nn_conv.c */
bool nn_infer_conv(op_ctx *c);
int64_t nn_flops_conv(const ir_graph *g, int node);
bool nn_infer_conv_transpose(op_ctx *c);
int64_t nn_flops_conv_transpose(const ir_graph *g, int node);

/* nn_conv_grad.c: for the gradient rules of windowed ops.  The gradient of
 * a window's input (the "long" side, w->in) from its output's (dshort,
 * [N, M, w->out...]): a ConvTranspose by w with the window's strides,
 * dilations, group and start pads, its end pads and output_padding chosen
 * so the result has exactly w->in (rows no tap reaches get zero).  -1
 * after og_none. */
int nn_grad_to_long(op_grad_ctx *c, int dshort, int w, const nn_window *win, int64_t group);
/* nn_pool_grad.c: the values v[0..n), of y's dtype, a constant of the
 * given shape. */
int nn_grad_float_const(op_grad_ctx *c, int y, const double *v, int64_t n, int rank, const int64_t *dims);
/* Slice of x along axes[0..n) from 0 to ends[]. */
int nn_grad_slice(op_grad_ctx *c, int x, const int64_t *axes, const int64_t *ends, size_t n);

/* nn_pool.c */
bool nn_infer_pool(op_ctx *c);
bool nn_infer_max_unpool(op_ctx *c);
bool nn_infer_global_pool(op_ctx *c);

/* nn_resize.c */
bool nn_infer_resize(op_ctx *c);

#endif /* HODU_NN_IMPL_H */
