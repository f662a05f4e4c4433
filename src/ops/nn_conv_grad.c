/*
 * ops/nn_conv_grad.c - gradient rules of Conv and ConvTranspose (ops.h,
 * "gradient rules"), and the window adjoints the pooling rules share
 * (nn_impl.h).
 *
 * Both ops map a "short" grid onto a "long" one: tap k of short position o
 * touches long position o * s + k * d - pb (Conv: X is long and Y short;
 * ConvTranspose the other way round).  So the gradient of the long side is
 * a ConvTranspose of the short side's gradient, the gradient of the short
 * side a Conv of the long side's, both with the same weights and window,
 * and the weights' gradient a Conv of the long side by the short side with
 * stride and dilation exchanged.
 */
#include <string.h>

#include "nn_impl.h"

/* The end padding that makes a window of `w` along dim i cover exactly the
 * long side: (S - 1) s + ek - pb - L, where S and L are the short and long
 * sizes (negative: the long side has rows no tap reaches). */
static bool end_pad(op_grad_ctx *c, const nn_window *w, int i, int64_t S, int64_t L, int64_t *out)
{
    int64_t reach, ek;
    if (!hd_mul_i64(w->k[i] - 1, w->d[i], &ek) || !hd_add_i64(ek, 1, &ek) || !hd_mul_i64(S - 1, w->s[i], &reach) ||
        !hd_add_i64(reach, ek, &reach) || !hd_add_i64(reach, -w->pb[i], &reach) || !hd_add_i64(reach, -L, out))
        return og_none(c, "the window is too large");
    return true;
}

int nn_grad_slice(op_grad_ctx *c, int x, const int64_t *axes, const int64_t *ends, size_t n)
{
    int64_t starts[HODU_MAX_RANK] = {0};
    if (c->g->opset < 10) { /* starts, ends and axes were attributes */
        int r = og_op1(c, "Slice", x);
        og_attr_ints(c, "starts", starts, n);
        og_attr_ints(c, "ends", ends, n);
        og_attr_ints(c, "axes", axes, n);
        return r;
    }
    int ins[4] = {x, og_i64s(c, starts, n), og_i64s(c, ends, n), og_i64s(c, axes, n)};
    return og_op(c, "Slice", ins, 4);
}

/* The permutation that swaps dims 0 and 1 of a rank-`rank` tensor. */
static int swap01(op_grad_ctx *c, int x, int rank)
{
    int64_t perm[HODU_MAX_RANK];
    for (int i = 0; i < rank; i++)
        perm[i] = i;
    perm[0] = 1;
    perm[1] = 0;
    int t = og_op1(c, "Transpose", x);
    og_attr_ints(c, "perm", perm, (size_t)rank);
    return t;
}

/* The pads of a window that covers the long side exactly: the start pads,
 * and at the end (S - 1) s + ek - pb - L where that is positive; where it
 * is negative, -it (the long rows no tap reaches) into unreached[]. */
static bool cover_pads(op_grad_ctx *c, const nn_window *win, const int64_t *ssz, const int64_t *lsz, int64_t *pads,
                       int64_t *unreached)
{
    int nd = win->nd;
    for (int i = 0; i < nd; i++) {
        int64_t e;
        if (!end_pad(c, win, i, ssz[i], lsz[i], &e))
            return false;
        pads[i] = win->pb[i];
        pads[nd + i] = e > 0 ? e : 0;
        unreached[i] = e < 0 ? -e : 0;
    }
    return true;
}

/* Appends `op` (Conv or ConvTranspose) of x by w with win's strides and
 * dilations and the given pads. */
static int window_op(op_grad_ctx *c, const char *op, int x, int w, const nn_window *win, int64_t group,
                     const int64_t *pads)
{
    int ins[2] = {x, w};
    int r = og_op(c, op, ins, 2);
    og_attr_ints(c, "strides", win->s, (size_t)win->nd);
    og_attr_ints(c, "dilations", win->d, (size_t)win->nd);
    if (group != 1)
        og_attr_int(c, "group", group);
    og_attr_ints(c, "pads", pads, 2 * (size_t)win->nd);
    return r;
}

int nn_grad_to_long(op_grad_ctx *c, int dshort, int w, const nn_window *win, int64_t group)
{
    int64_t pads[2 * NN_MAX_SPATIAL], opad[NN_MAX_SPATIAL];
    if (!cover_pads(c, win, win->out, win->in, pads, opad))
        return -1;
    int r = window_op(c, "ConvTranspose", dshort, w, win, group, pads);
    for (int i = 0; i < win->nd; i++)
        if (opad[i]) { /* rows no tap reaches: zero */
            og_attr_ints(c, "output_padding", opad, (size_t)win->nd);
            break;
        }
    return r;
}

/* The gradient of the short side from the long side's: a Conv of dlong by
 * w, cut to the short side's size.  `lsz` and `ssz` are the spatial sizes. */
static int to_short(op_grad_ctx *c, int dlong, int w, const nn_window *win, const int64_t *lsz, const int64_t *ssz,
                    int64_t group)
{
    int nd = win->nd;
    int64_t pads[2 * NN_MAX_SPATIAL], unreached[NN_MAX_SPATIAL], axes[NN_MAX_SPATIAL];
    if (!cover_pads(c, win, ssz, lsz, pads, unreached))
        return -1;
    bool cut = false;
    for (int i = 0; i < nd; i++) {
        /* the Conv's size (L + pads - ek) / s + 1 is at least S */
        int64_t got = (lsz[i] + pads[i] + pads[nd + i] - (win->k[i] - 1) * win->d[i] - 1) / win->s[i] + 1;
        cut |= got != ssz[i];
        axes[i] = i + 2;
    }
    int r = window_op(c, "Conv", dlong, w, win, group, pads);
    return cut ? nn_grad_slice(c, r, axes, ssz, (size_t)nd) : r;
}

/* The weights' gradient dW[g*Cb + b, a, k] = sum over n and short o of
 * long[n, g*Ca + a, o*s + k*d - pb] * short[n, g*Cb + b, o]: a Conv of
 * the long side, batch and channels swapped per group ([Ca, G*N, L...]),
 * by the short side as weights ([G*Cb, N, S...]), stride and dilation
 * exchanged; the result [Ca, G*Cb, k'...] is cut to k and transposed.
 * One Conv node whatever the group count (depthwise included). */
static int weight_grad(op_grad_ctx *c, int lng, int shrt, const nn_window *win, const int64_t *lsz, const int64_t *ssz,
                       int64_t N, int64_t G, int64_t Ca)
{
    int nd = win->nd, rank = nd + 2;
    int a = lng;
    if (G == 1) {
        a = swap01(c, lng, rank);
    } else { /* [N, G, Ca, L] -> [Ca, G, N, L] -> [Ca, G*N, L...] */
        int64_t GN;
        if (!hd_mul_i64(G, N, &GN)) {
            og_none(c, "the batch is too large");
            return -1;
        }
        int r4 = og_op2(c, "Reshape", lng, og_i64s(c, (int64_t[]){N, G, Ca, -1}, 4));
        int t = og_op1(c, "Transpose", r4);
        og_attr_ints(c, "perm", (int64_t[]){2, 1, 0, 3}, 4);
        int64_t shp[HODU_MAX_RANK] = {Ca, GN};
        memcpy(shp + 2, lsz, (size_t)nd * sizeof(int64_t));
        a = og_op2(c, "Reshape", t, og_i64s(c, shp, (size_t)rank));
    }
    int b = swap01(c, shrt, rank);
    nn_window sw = *win; /* the swapped Conv's window */
    int64_t pads[2 * NN_MAX_SPATIAL], unreached[NN_MAX_SPATIAL], axes[NN_MAX_SPATIAL];
    if (!cover_pads(c, win, ssz, lsz, pads, unreached))
        return -1;
    bool cut = false;
    for (int i = 0; i < nd; i++) {
        sw.s[i] = win->d[i];
        sw.d[i] = win->s[i];
        /* kernel (S - 1) s + 1 over L + pads with stride d: k' >= k taps */
        int64_t got = (lsz[i] + pads[i] + pads[nd + i] - (ssz[i] - 1) * win->s[i] - 1) / win->d[i] + 1;
        cut |= got != win->k[i];
        axes[i] = i + 2;
    }
    int r = window_op(c, "Conv", a, b, &sw, G, pads);
    if (cut)
        r = nn_grad_slice(c, r, axes, win->k, (size_t)nd);
    return swap01(c, r, rank);
}

/* The same gradient as hodu.ConvGradWeight (float32 and float64): a GEMM
 * per image over its im2col columns, where the Conv above is one whose
 * kernel is the whole short side (slow on kernels built for small ones). */
static int weight_grad_op(op_grad_ctx *c, int lng, int shrt, const nn_window *win, const int64_t *lsz,
                          const int64_t *ssz, int64_t G)
{
    int64_t pads[2 * NN_MAX_SPATIAL], unreached[NN_MAX_SPATIAL];
    if (!cover_pads(c, win, ssz, lsz, pads, unreached))
        return -1;
    int ins[2] = {lng, shrt};
    int r = og_op_in(c, "hodu", "ConvGradWeight", ins, 2);
    og_attr_ints(c, "kernel_shape", win->k, (size_t)win->nd);
    og_attr_ints(c, "strides", win->s, (size_t)win->nd);
    og_attr_ints(c, "dilations", win->d, (size_t)win->nd);
    og_attr_ints(c, "pads", pads, 2 * (size_t)win->nd);
    if (G != 1)
        og_attr_int(c, "group", G);
    return r;
}

/* ReduceSum of dy over every axis but the channels. */
static int bias_grad(op_grad_ctx *c, int dy, int rank)
{
    int64_t axes[HODU_MAX_RANK];
    size_t n = 0;
    for (int i = 0; i < rank; i++)
        if (i != 1)
            axes[n++] = i;
    int r = og_axes_op(c, "ReduceSum", dy, axes, n);
    og_attr_int(c, "keepdims", 0);
    return r;
}

/* Conv and ConvTranspose: X is a Conv's long side and a ConvTranspose's
 * short one (its window runs from X's grid to Y's). */
bool conv_grad(op_grad_ctx *c)
{
    nn_conv_geom g;
    if (!nn_conv_geom_of(c->g, c->node, &g))
        return og_none(c, "the convolution's geometry is not known");
    bool transposed = ir_nd(c->g, c->node)->op == OP_CONV_TRANSPOSE;
    int x = og_x(c, 0), w = og_x(c, 1), dy = og_dy(c, 0);
    if (c->want[0]) {
        c->dx[0] = transposed ? to_short(c, dy, w, &g.w, g.w.out, g.w.in, g.G) : nn_grad_to_long(c, dy, w, &g.w, g.G);
        if (c->dx[0] < 0)
            return false;
    }
    if (c->want[1]) {
        hodu_dtype t = ir_val(c->g, x)->dtype;
        if (t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64)
            c->dx[1] = transposed ? weight_grad_op(c, dy, x, &g.w, g.w.out, g.w.in, g.G)
                                  : weight_grad_op(c, x, dy, &g.w, g.w.in, g.w.out, g.G);
        else
            c->dx[1] = transposed ? weight_grad(c, dy, x, &g.w, g.w.out, g.w.in, g.N, g.G, g.Mg)
                                  : weight_grad(c, x, dy, &g.w, g.w.in, g.w.out, g.N, g.G, g.Cg);
        if (c->dx[1] < 0)
            return false;
    }
    if (og_x(c, 2) >= 0 && c->want[2])
        c->dx[2] = bias_grad(c, dy, g.w.nd + 2);
    return true;
}
