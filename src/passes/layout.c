/*
 * passes/layout.c - channel-blocked convolutions.
 *
 * A float32 2-D convolution, dense with one group or depthwise, runs as a
 * direct kernel over tensors laid out [N, C/B, H, W, B], B = NN_CONV_BLOCK
 * (hodu.ConvBlocked; the kernel layer's hd_conv_blocked): inputs broadcast
 * against vectors of B output channels, with no im2col and no packing at
 * run time.  This pass rewrites such Convs, their weights reordered at
 * build time, and keeps the values between them blocked: an elementwise op
 * joins when each tensor operand is a blocked value of its shape, one that
 * broadcasts only along batch and spatial dims, or a single element, at
 * least one of them computed blocked (the residual Add, Relu, Clip, a
 * squeeze-and-excite Mul; elementwise ops do not care where an element
 * sits), and a GlobalAveragePool of a blocked value becomes a ReduceMean
 * over the spatial axes.  Channel counts pad to whole blocks with zero
 * lanes.  A value enters the blocked form through Pad + Reshape [N, C/B,
 * B, H, W] + Transpose, and leaves it through the inverse, once per value,
 * where something outside reads it or it is a graph output; the original
 * value keeps its name and its readers.  Regions whose conversions would
 * cost more than they save stay as they are (choose_regions).  Runs
 * before fusion, so the blocked convolutions take their elementwise
 * consumers as epilogues like any contraction.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise.h"
#include "ops/nn.h"
#include "ops/ops.h"
#include "ops/pool.h"
#include "passes.h"
#include "util/util.h"

#define B NN_CONV_BLOCK

/* Channels rounded up to whole blocks.  The lanes past the last channel
 * hold zeros where a convolution writes them (zero weights and bias) and
 * stay finite through the elementwise ops a region admits
 * (blockable_elementwise), so the next convolution's zero weights for them
 * cancel them. */
static int64_t blocks(int64_t c) { return (c + B - 1) / B; }

/* Padding may not cost more than this much extra work. */
#define LAYOUT_MAX_PAD_WASTE 2.0

/* A dense convolution over so few channels that padding them to a block
 * would waste more than LAYOUT_MAX_PAD_WASTE (a 3-channel image) reads its
 * input as it is, NCHW: the kernel takes it as blocks of one channel. */
static bool plain_input(const nn_conv_geom *geom)
{
    return geom->G == 1 && (double)(blocks(geom->C) * B) > LAYOUT_MAX_PAD_WASTE * (double)geom->C;
}

/* Output rows at least this wide fill the kernel's widest span of
 * positions on every target; a plain input's convolution over narrower
 * ones would run a position at a time, slower than im2col + GEMM. */
#define LAYOUT_PLAIN_MIN_WIDTH 16

/* Whether 4-D (or 3-D) value v has fixed sizes but for a run-time batch:
 * dim 0 of a 4-D value may be a run-time dim (ir_dim.rt), which every op
 * of a region and its conversions computes over independently, so they
 * are planned for one image and run once per image (ops/rtdims.c).  Any
 * other size that is only a bound would make the conversions' shapes
 * wrong. */
static bool fixed_but_batch(const ir_value *v)
{
    if (!ir_value_is_static(v) || ir_value_has_data_dep(v))
        return false;
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].rt && (i != 0 || v->rank != 4))
            return false;
    return true;
}

/* Whether 4-D value v has fixed sizes but for a run-time batch, height or
 * width: the general path's convolutions, pools and elementwise ops
 * (ir_node.rt_general) read those at run time, blocked as in NCHW, the
 * sizes staying where they were ([N, C/B, H, W, B]).  Only the
 * conversions cannot follow them (a Reshape's shape is a constant), so a
 * region over such values must need none (choose_regions). */
static bool fixed_but_rt(const ir_value *v)
{
    if (!ir_value_is_static(v) || ir_value_has_data_dep(v) || v->rank != 4)
        return fixed_but_batch(v);
    return !v->dims[1].rt;
}

/* Whether v has a run-time dim past the batch (a height or width). */
static bool rt_spatial(const ir_value *v)
{
    for (int i = 1; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].rt)
            return true;
    return false;
}

/* Whether a and b have the same batch: the same size, and the same
 * run-time dim if either has one. */
static bool same_batch(const ir_dim *a, const ir_dim *b)
{
    return a->size == b->size && a->rt == b->rt && (!a->rt || strcmp(a->sym, b->sym) == 0);
}

/* A Conv this pass rewrites: float32 2-D, one group or depthwise, fixed
 * sizes but for a run-time batch (fixed_but_batch), constant weights (and
 * bias), and output channels that pad to whole blocks without much
 * waste. */
static bool blockable_conv(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    if (n->op != OP_CONV || n->dead || n->body || n->guard >= 0 || n->n_outputs != 1 || n->outputs[0] < 0 ||
        n->n_inputs < 2)
        return false;
    nn_conv_geom geom;
    if (!nn_conv_geom_of(g, node, &geom) || geom.w.nd != 2 ||
        (geom.G != 1 && !(geom.G == geom.C && geom.M == geom.C)) || geom.N < 1 || geom.C < 1 || geom.M < 1)
        return false;
    if ((double)(blocks(geom.M) * B) > LAYOUT_MAX_PAD_WASTE * (double)geom.M ||
        (plain_input(&geom) && geom.w.out[1] < LAYOUT_PLAIN_MIN_WIDTH))
        return false;
    const ir_value *x = ir_val(g, n->inputs[0]), *w = ir_val(g, n->inputs[1]), *y = ir_val(g, n->outputs[0]);
    const ir_value *b = n->n_inputs > 2 && n->inputs[2] >= 0 ? ir_val(g, n->inputs[2]) : NULL;
    return x->dtype == HODU_DTYPE_F32 && fixed_but_rt(x) && fixed_but_rt(y) && w->kind == IR_VALUE_CONST &&
           w->dtype == HODU_DTYPE_F32 && (!b || (b->kind == IR_VALUE_CONST && b->dtype == HODU_DTYPE_F32));
}

/* An elementwise node that may run on blocked values (its operands are
 * checked by the caller). */
static bool blockable_elementwise(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    if (n->dead || n->body || n->guard >= 0 || !def || n->n_outputs != 1 || n->outputs[0] < 0)
        return false;
    for (size_t j = 0; j < n->n_attrs; j++)
        if (n->attrs[j].kind == IR_ATTR_TENSOR || n->attrs[j].kind == IR_ATTR_GRAPH ||
            n->attrs[j].kind == IR_ATTR_OTHER)
            return false;
    if (!(def->fusable && def->fusable(g, node)) && !ew_epilogue_fusable(g, node))
        return false;
    /* finite on finite inputs (the padding lanes): no Div, Log, Reciprocal */
    switch (n->op) {
    case OP_RELU:
    case OP_CLIP:
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_MAX:
    case OP_MIN:
    case OP_NEG:
    case OP_ABS:
    case OP_IDENTITY:
    case OP_SIGMOID:
    case OP_HARD_SIGMOID:
    case OP_HARD_SWISH:
    case OP_TANH:
    case OP_ERF:
    case OP_GELU:
    case OP_LEAKY_RELU:
    case OP_ELU:
    case OP_SELU:
    case OP_MISH:
    case OP_SOFTPLUS: return true;
    default: return false;
    }
}

/* Whether `in` broadcasts into the 4-D `out` along its spatial and batch
 * dims only ([N, C, 1, 1] from a pooling, [C, 1, 1] per-channel
 * constants): its blocked form then broadcasts the same way, lanes
 * matching lanes. */
static bool channel_broadcast(const ir_value *in, const ir_value *out)
{
    if (in->dtype != HODU_DTYPE_F32 || !fixed_but_batch(in) || (in->rank != 4 && in->rank != 3))
        return false;
    const int off = 4 - in->rank;
    if (in->dims[1 - off].size != out->dims[1].size)
        return false;
    for (int i = 0; i < in->rank; i++)
        if (i + off != 1 && !(in->dims[i].size == 1 && !in->dims[i].rt) &&
            !same_batch(&in->dims[i], &out->dims[i + off]))
            return false;
    return true;
}

/* Whether elementwise node `node` can run blocked, given which values are
 * computed blocked (`native`): every tensor operand of the output's shape,
 * broadcasting only along batch and spatial dims, or one element, and at
 * least one of them native. */
static bool elementwise_operands_fit(const ir_graph *g, int node, const bool *native, size_t n_vals)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *out = ir_val(g, n->outputs[0]);
    if (out->dtype != HODU_DTYPE_F32 || out->rank != 4 || !fixed_but_rt(out))
        return false;
    bool any = false;
    for (size_t j = 0; j < n->n_inputs; j++) {
        int v = n->inputs[j];
        if (v < 0)
            continue;
        const ir_value *in = ir_val(g, v);
        if (ir_value_numel(in) == 1 && in->rank <= 4)
            continue;
        if (!ir_same_type(in, out) && !channel_broadcast(in, out))
            return false;
        any = any || ((size_t)v < n_vals && native[v]);
    }
    return any;
}

/* A pooling of a value computed blocked: a GlobalAveragePool (a
 * squeeze-and-excite block's) becomes a ReduceMean over the blocked form's
 * spatial axes; a 2-D MaxPool or AveragePool (ResNet's after its first
 * convolution) the same op over [H, W, lanes] with a window of 1 along the
 * lanes.  The padding lanes pool zeros into zeros. */
static bool blockable_pool(const ir_graph *g, int node, const bool *native, size_t n_vals)
{
    const ir_node *n = ir_nd(g, node);
    if ((n->op != OP_GLOBAL_AVERAGE_POOL && n->op != OP_MAX_POOL && n->op != OP_AVERAGE_POOL) || n->dead ||
        n->guard >= 0 || n->n_inputs != 1 || n->n_outputs < 1 || n->outputs[0] < 0 ||
        (n->n_outputs > 1 && n->outputs[1] >= 0))
        return false;
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->dtype != HODU_DTYPE_F32 || x->rank != 4 || !fixed_but_rt(x) || (size_t)n->inputs[0] >= n_vals ||
        !native[n->inputs[0]])
        return false;
    pool_plan p;
    return n->op == OP_GLOBAL_AVERAGE_POOL || (pool_plan_get(g, node, &p) && p.w.nd == 2);
}

typedef struct layout_state {
    ir_graph *g;
    int *blocked;  /* per value: its blocked form (a value made here), or -1 */
    bool *native;  /* per value: the blocked form is where the value is computed */
    size_t n_vals; /* entries in the two arrays */
} layout_state;

/* A new float32 value of shape dims whose dim 0 is the batch `batch`
 * (run-time or not; not a pointer into g->values, which this may move). */
static int new_value(ir_graph *g, const char *base, const char *suffix, int rank, const int64_t *dims,
                     const ir_dim *batch)
{
    char *name = hd_xasprintf("%s%s", base, suffix);
    int v = ir_value_new(g, name);
    free(name);
    ir_value *val = ir_val(g, v);
    val->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(val, rank, dims);
    if (batch->rt)
        val->dims[0] = *batch;
    return v;
}

static int shape_const(ir_graph *g, const char *base, const char *suffix, int rank, const int64_t *dims)
{
    int64_t *data = ir_graph_keep(g, hd_xmalloc((size_t)rank * sizeof(int64_t)));
    memcpy(data, dims, (size_t)rank * sizeof(int64_t));
    int64_t len = rank;
    char *name = hd_xasprintf("%s%s", base, suffix);
    int v = ir_const_new(g, name, HODU_DTYPE_I64, 1, &len, data, (size_t)rank * sizeof(int64_t));
    free(name);
    return v;
}

/* A Reshape's target shape whose dim 0 is the batch: 0 (ONNX's "as in
 * the input") when it is a run-time dim, so the shape holds for every
 * batch and for the one-image slice the node is planned for. */
static int batch_shape_const(ir_graph *g, const char *base, const char *suffix, int rank, const int64_t *dims,
                             const ir_dim *batch)
{
    int64_t d[HODU_MAX_RANK];
    memcpy(d, dims, (size_t)rank * sizeof(int64_t));
    if (batch->rt)
        d[0] = 0;
    return shape_const(g, base, suffix, rank, d);
}

static int new_node(ir_graph *g, op_id op, const char *type, const char *name, const int *in, size_t n_in, int out,
                    ir_loc loc)
{
    int node = ir_node_new(g, type, op == OP_CONV_BLOCKED ? "hodu" : "", name, in, n_in, &out, 1);
    g->nodes[node].op = op;
    ir_node_set_loc(g, node, loc);
    return node;
}

static void set_ints(ir_graph *g, int node, const char *name, const int64_t *v, size_t n)
{
    ir_attr *a = ir_node_add_attr(g, node, name, IR_ATTR_INTS);
    a->ints = hd_xmalloc(n * sizeof(int64_t));
    memcpy(a->ints, v, n * sizeof(int64_t));
    a->n = n;
}

/* The blocked form of 4-D value v: made here, or (once) a Reshape +
 * Transpose of v, zero-padded to whole blocks first. */
static int blocked_of(layout_state *s, int v)
{
    if (s->blocked[v] >= 0)
        return s->blocked[v];
    ir_graph *g = s->g;
    const ir_value *val = ir_val(g, v);
    int64_t d[4] = {1, 1, 1, 1};
    ir_value_dims(val, d + 4 - val->rank); /* [C, H, W] reads as [1, C, H, W] */
    const int rank = val->rank;
    const ir_dim batch = rank == 4 ? val->dims[0] : (ir_dim){.size = 1};
    char *base = hd_xstrdup(val->name);
    ir_loc loc = val->loc;
    const int64_t cb = blocks(d[1]);
    int64_t split[5] = {d[0], cb, B, d[2], d[3]}, blk[5] = {d[0], cb, d[2], d[3], B};
    int src = v;
    if (rank == 3) {
        int rin[2] = {v, shape_const(g, base, ".as_4d", 4, d)};
        src = new_value(g, base, ".4d", 4, d, &batch);
        new_node(g, OP_RESHAPE, "Reshape", NULL, rin, 2, src, loc);
    }
    if (cb * B != d[1]) {
        int64_t pads[8] = {0, 0, 0, 0, 0, cb * B - d[1], 0, 0}, pd[4] = {d[0], cb * B, d[2], d[3]};
        int pin[2] = {src, shape_const(g, base, ".channel_pads", 8, pads)};
        src = new_value(g, base, ".padded", 4, pd, &batch);
        new_node(g, OP_PAD, "Pad", NULL, pin, 2, src, loc);
    }
    int shape = batch_shape_const(g, base, ".block_shape", 5, split, &batch);
    int mid = new_value(g, base, ".split", 5, split, &batch);
    int in[2] = {src, shape};
    new_node(g, OP_RESHAPE, "Reshape", NULL, in, 2, mid, loc);
    int out = new_value(g, base, ".blocked", 5, blk, &batch);
    int tn = new_node(g, OP_TRANSPOSE, "Transpose", NULL, &mid, 1, out, loc);
    static const int64_t perm[5] = {0, 1, 3, 4, 2};
    set_ints(g, tn, "perm", perm, 5);
    free(base);
    s->blocked[v] = out;
    return out;
}

/* v, computed blocked, back in NCHW: Transpose + Reshape (+ a Slice of
 * the padding) into v itself. */
static void unblock(layout_state *s, int v)
{
    ir_graph *g = s->g;
    int vb = s->blocked[v];
    const ir_value *val = ir_val(g, v);
    int64_t d[4];
    ir_value_dims(val, d);
    const ir_dim batch = val->dims[0];
    char *base = hd_xstrdup(val->name);
    ir_loc loc = val->loc;
    const int64_t cb = blocks(d[1]);
    int64_t split[5] = {d[0], cb, B, d[2], d[3]}, pd[4] = {d[0], cb * B, d[2], d[3]};
    int mid = new_value(g, base, ".unblocked", 5, split, &batch);
    int tn = new_node(g, OP_TRANSPOSE, "Transpose", NULL, &vb, 1, mid, loc);
    static const int64_t perm[5] = {0, 1, 4, 2, 3};
    set_ints(g, tn, "perm", perm, 5);
    int shape = batch_shape_const(g, base, ".nchw_shape", 4, pd, &batch);
    int in[2] = {mid, shape};
    if (cb * B == d[1]) {
        new_node(g, OP_RESHAPE, "Reshape", NULL, in, 2, v, loc);
    } else {
        int padded = new_value(g, base, ".padded_nchw", 4, pd, &batch);
        new_node(g, OP_RESHAPE, "Reshape", NULL, in, 2, padded, loc);
        int64_t zero = 0, c = d[1], one = 1;
        int sin[4] = {padded, shape_const(g, base, ".starts", 1, &zero), shape_const(g, base, ".ends", 1, &c),
                      shape_const(g, base, ".axes", 1, &one)};
        new_node(g, OP_SLICE, "Slice", NULL, sin, 4, v, loc);
    }
    free(base);
}

/* W [M, C, KH, KW] as [M/B, C/B, KH, KW, B in, B out] (with a plain
 * input, [M/B, C, KH, KW, 1, B out]); a depthwise W [C, 1, KH, KW] as
 * [C/B, KH, KW, B]; zeros for the padding channels. */
static int blocked_weights(ir_graph *g, const ir_value *w, bool dw, bool plain)
{
    int64_t d[4];
    ir_value_dims(w, d);
    const int64_t ci = plain ? 1 : B; /* input channels per block */
    const int64_t M = d[0], C = d[1], KK = d[2] * d[3], Mb = blocks(M), Cb = dw ? 1 : plain ? C : blocks(C);
    const float *src = w->data;
    size_t n = (size_t)(Mb * B * (dw ? 1 : Cb * ci) * KK);
    float *dst = ir_graph_keep(g, hd_xcalloc(n, sizeof(float)));
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t k = 0; k < KK; k++)
                dst[dw ? ((m / B) * KK + k) * B + m % B
                       : (((m / B) * Cb + c / ci) * KK + k) * ci * B + (c % ci) * B + m % B] =
                    src[(m * C + c) * KK + k];
    int64_t dims[6] = {Mb, Cb, d[2], d[3], ci, B}, dw_dims[4] = {Mb, d[2], d[3], B};
    char *name = hd_xasprintf("%s.blocked", w->name);
    int v = ir_const_new(g, name, HODU_DTYPE_F32, dw ? 4 : 6, dw ? dw_dims : dims, dst, n * sizeof(float));
    free(name);
    return v;
}

/* The bias padded with zeros to whole blocks (the bias itself when it needs
 * no padding). */
static int blocked_bias(ir_graph *g, int bias)
{
    const ir_value *b = ir_val(g, bias);
    const int64_t M = b->dims[0].size, Mp = blocks(M) * B;
    if (Mp == M)
        return bias;
    float *dst = ir_graph_keep(g, hd_xcalloc((size_t)Mp, sizeof(float)));
    memcpy(dst, b->data, (size_t)M * sizeof(float));
    char *name = hd_xasprintf("%s.padded", b->name);
    int v = ir_const_new(g, name, HODU_DTYPE_F32, 1, &Mp, dst, (size_t)Mp * sizeof(float));
    free(name);
    return v;
}

/* A fresh value "<y>.blocked" for 4-D value y computed blocked: recorded
 * as y's blocked form, where y is now computed. */
static int blocked_result(layout_state *s, int y)
{
    ir_graph *g = s->g;
    int64_t d[4];
    ir_value_dims(ir_val(g, y), d);
    const int64_t yd[5] = {d[0], blocks(d[1]), d[2], d[3], B};
    char *yname = hd_xstrdup(ir_val(g, y)->name);
    const ir_dim batch = ir_val(g, y)->dims[0]; /* a copy: new_value may move g->values */
    int yb = new_value(g, yname, ".blocked", 5, yd, &batch);
    free(yname);
    for (int i = 2; i < 4; i++) /* a run-time height or width stays where it was */
        if (ir_val(g, y)->dims[i].rt)
            ir_val(g, yb)->dims[i] = ir_val(g, y)->dims[i];
    ir_val(g, yb)->loc = ir_val(g, y)->loc;
    s->blocked[y] = yb;
    s->native[y] = true;
    return yb;
}

/* Conv node -> hodu.ConvBlocked on the blocked form of its input (on the
 * input itself when plain_input). */
static void rewrite_conv(layout_state *s, int node)
{
    ir_graph *g = s->g;
    nn_conv_geom geom;
    nn_conv_geom_of(g, node, &geom);
    const bool plain = plain_input(&geom);
    int x = g->nodes[node].inputs[0], w = g->nodes[node].inputs[1];
    int bias = g->nodes[node].n_inputs > 2 ? g->nodes[node].inputs[2] : -1;
    int y = g->nodes[node].outputs[0];
    char *name = hd_xasprintf("%s.blocked", g->nodes[node].name);
    ir_loc loc = g->nodes[node].loc;
    g->nodes[node].dead = true;
    const bool rt = g->nodes[node].rt_general;
    int in[3] = {plain ? x : blocked_of(s, x), blocked_weights(g, ir_val(g, w), geom.G > 1, plain),
                 bias >= 0 ? blocked_bias(g, bias) : -1};
    int cn = new_node(g, OP_CONV_BLOCKED, "ConvBlocked", name, in, bias >= 0 ? 3 : 2, blocked_result(s, y), loc);
    g->nodes[cn].rt_general = rt;
    free(name);
    int64_t pads[4] = {geom.w.pb[0], geom.w.pb[1], geom.w.pe[0], geom.w.pe[1]};
    set_ints(g, cn, "strides", geom.w.s, 2);
    set_ints(g, cn, "dilations", geom.w.d, 2);
    set_ints(g, cn, "pads", pads, 4);
}

/* An elementwise node whose operands allow it: reads blocked operands and
 * computes a blocked result (in place). */
static bool rewrite_elementwise(layout_state *s, int node)
{
    ir_graph *g = s->g;
    int y = g->nodes[node].outputs[0];
    if (!elementwise_operands_fit(g, node, s->native, s->n_vals))
        return false;
    for (size_t j = 0; j < g->nodes[node].n_inputs; j++) {
        int v = g->nodes[node].inputs[j];
        if (v >= 0 && ir_value_numel(ir_val(g, v)) != 1) {
            int vb = blocked_of(s, v);
            g->nodes[node].inputs[j] = vb;
        }
    }
    int yb = blocked_result(s, y);
    g->nodes[node].outputs[0] = yb;
    ir_val(g, yb)->producer = node;
    ir_val(g, y)->producer = -1;
    return true;
}

static void rewrite_pool(layout_state *s, int node)
{
    ir_graph *g = s->g;
    int x = g->nodes[node].inputs[0], y = g->nodes[node].outputs[0];
    char *name = hd_xasprintf("%s.blocked", g->nodes[node].name);
    ir_loc loc = g->nodes[node].loc;
    const int op = g->nodes[node].op;
    const bool rt = g->nodes[node].rt_general;
    if (op != OP_GLOBAL_AVERAGE_POOL) { /* the window with explicit pads, one more axis */
        pool_plan p;
        pool_plan_get(g, node, &p);
        const nn_window *w = &p.w;
        const int64_t ceil_mode = ir_attr_int(&g->nodes[node], "ceil_mode", 0);
        g->nodes[node].dead = true;
        int xb = blocked_of(s, x);
        int pn =
            new_node(g, op, op == OP_MAX_POOL ? "MaxPool" : "AveragePool", name, &xb, 1, blocked_result(s, y), loc);
        g->nodes[pn].rt_general = rt;
        const int64_t k[3] = {w->k[0], w->k[1], 1}, st[3] = {w->s[0], w->s[1], 1}, d[3] = {w->d[0], w->d[1], 1};
        const int64_t pads[6] = {w->pb[0], w->pb[1], 0, w->pe[0], w->pe[1], 0};
        set_ints(g, pn, "kernel_shape", k, 3);
        set_ints(g, pn, "strides", st, 3);
        set_ints(g, pn, "pads", pads, 6);
        if (d[0] != 1 || d[1] != 1)
            set_ints(g, pn, "dilations", d, 3);
        ir_attr *a = ir_node_add_attr(g, pn, "ceil_mode", IR_ATTR_INT);
        a->i = ceil_mode;
        if (p.include_pad) {
            a = ir_node_add_attr(g, pn, "count_include_pad", IR_ATTR_INT);
            a->i = 1;
        }
        free(name);
        return;
    }
    g->nodes[node].dead = true;
    const int64_t axes[2] = {2, 3};
    char *yname = hd_xstrdup(ir_val(g, y)->name);
    int in[2] = {blocked_of(s, x), shape_const(g, yname, ".axes", 2, axes)};
    free(yname);
    int rn = new_node(g, OP_REDUCE_MEAN, "ReduceMean", name, in, 2, blocked_result(s, y), loc);
    g->nodes[rn].rt_general = rt;
    free(name);
}

/* Regions: the convolutions and elementwise nodes that would run blocked,
 * joined where one reads another's value.  A region pays for converting the
 * values that enter and leave it (a memory pass each) out of what its
 * convolutions gain over im2col + GEMM (about a fifth of their time); it is
 * kept when its convolutions do at least this many flops per converted
 * element (ResNet-50's one region: 27000; a lone 1x1 convolution between
 * ops that stay NCHW: 30 to 500, where it measured slower). */
#define LAYOUT_MIN_FLOPS_PER_ELEM 1024.0

static bool plain_conv(const ir_graph *g, int node)
{
    nn_conv_geom geom;
    return nn_conv_geom_of(g, node, &geom) && plain_input(&geom);
}

static int region_root(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* Marks in `keep` the nodes of the regions worth converting for. */
static void choose_regions(const ir_graph *g, const int *order, size_t count, bool all, bool *keep)
{
    const size_t nv = g->n_values, nn = g->n_nodes;
    int *parent = hd_xmalloc((nn ? nn : 1) * sizeof(int));
    int *region_of = hd_xmalloc((nv ? nv : 1) * sizeof(int)); /* producing region node, or -1 */
    bool *native = hd_xcalloc(nv ? nv : 1, sizeof(bool));
    bool *member = hd_xcalloc(nn ? nn : 1, sizeof(bool));
    double *flops = hd_xcalloc(nn ? nn : 1, sizeof(double)), *elems = hd_xcalloc(nn ? nn : 1, sizeof(double));
    bool *rt_convert = hd_xcalloc(nn ? nn : 1, sizeof(bool)); /* per region: a conversion over run-time H/W */
    for (size_t i = 0; i < nn; i++)
        parent[i] = (int)i;
    for (size_t v = 0; v < nv; v++)
        region_of[v] = -1;
    for (size_t i = 0; i < count; i++) {
        int node = order[i];
        const ir_node *n = ir_nd(g, node);
        if (blockable_conv(g, node)) {
            member[node] = true;
            flops[node] = (double)op_get(OP_CONV)->flops(g, node);
            int x = n->inputs[0];
            if (region_of[x] >= 0 && !plain_conv(g, node))
                parent[region_root(parent, node)] = region_root(parent, region_of[x]);
        } else if (blockable_pool(g, node, native, nv)) {
            member[node] = true;
            parent[region_root(parent, node)] = region_root(parent, region_of[n->inputs[0]]);
        } else if (blockable_elementwise(g, node) && elementwise_operands_fit(g, node, native, nv)) {
            member[node] = true;
            for (size_t j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0 && region_of[n->inputs[j]] >= 0)
                    parent[region_root(parent, node)] = region_root(parent, region_of[n->inputs[j]]);
        } else {
            continue;
        }
        native[n->outputs[0]] = true;
        region_of[n->outputs[0]] = node;
    }
    /* converted elements: operands from outside (once per value and
     * region), and results read outside or by the graph */
    int *entered = hd_xmalloc((nv ? nv : 1) * sizeof(int));
    bool *left = hd_xcalloc(nv ? nv : 1, sizeof(bool));
    for (size_t v = 0; v < nv; v++)
        entered[v] = -1;
    for (size_t i = 0; i < count; i++) {
        int node = order[i];
        const ir_node *n = ir_nd(g, node);
        /* a plain convolution reads its input as it is, like a node outside */
        int r = member[node] && !plain_conv(g, node) ? region_root(parent, node) : -1;
        size_t operands = n->op == OP_CONV && member[node] ? 1 : n->n_inputs;
        for (size_t j = 0; j < operands; j++) {
            int v = n->inputs[j];
            if (v < 0)
                continue;
            const ir_value *val = ir_val(g, v);
            if (r >= 0 && region_of[v] < 0 && ir_value_numel(val) != 1 && entered[v] != r) {
                entered[v] = r; /* (a value entering two regions counts twice, roughly) */
                elems[r] += (double)ir_value_numel(val);
                rt_convert[r] = rt_convert[r] || rt_spatial(val);
            } else if (r < 0 && region_of[v] >= 0 && !left[v]) {
                left[v] = true;
                elems[region_root(parent, region_of[v])] += (double)ir_value_numel(val);
                rt_convert[region_root(parent, region_of[v])] |= rt_spatial(val);
            }
        }
    }
    for (size_t v = 0; v < nv; v++)
        if (region_of[v] >= 0 && !left[v] && g->values[v].is_output) {
            elems[region_root(parent, region_of[v])] += (double)ir_value_numel(&g->values[v]);
            rt_convert[region_root(parent, region_of[v])] |= rt_spatial(&g->values[v]);
        }
    for (size_t i = 0; i < nn; i++)
        if (member[i] && (int)i != region_root(parent, (int)i))
            flops[region_root(parent, (int)i)] += flops[i];
    for (size_t i = 0; i < nn; i++) {
        int r = member[i] ? region_root(parent, (int)i) : -1;
        keep[i] = r >= 0 && !rt_convert[r] && (all || flops[r] >= LAYOUT_MIN_FLOPS_PER_ELEM * elems[r]);
    }
    free(rt_convert);
    free(left);
    free(entered);
    free(elems);
    free(flops);
    free(member);
    free(native);
    free(region_of);
    free(parent);
}

size_t pass_block_convs(ir_graph *g, pass_conv_layout mode)
{
    if (mode == PASS_LAYOUT_NCHW)
        return 0;
    /* Subgraphs may read any value of this graph: leave such graphs alone. */
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && ir_node_has_subgraphs(&g->nodes[i]))
            return 0;
    size_t count = 0, rewritten = 0;
    hd_diag d;
    hd_diag_init(&d, NULL);
    int *order = ir_schedule(g, &count, &d);
    hd_diag_free(&d);
    if (!order)
        return 0;
    layout_state s = {g, NULL, NULL, g->n_values};
    s.blocked = hd_xmalloc((s.n_vals ? s.n_vals : 1) * sizeof(int));
    s.native = hd_xcalloc(s.n_vals ? s.n_vals : 1, sizeof(bool));
    for (size_t v = 0; v < s.n_vals; v++)
        s.blocked[v] = -1;
    /* the arrays cover the original values only: what the pass adds is
     * never looked up */
    bool *keep = hd_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof(bool));
    choose_regions(g, order, count, mode == PASS_LAYOUT_BLOCKED, keep);
    for (size_t i = 0; i < count; i++) {
        int node = order[i];
        if (!keep[node])
            continue;
        if (blockable_conv(g, node)) {
            rewrite_conv(&s, node);
            rewritten++;
        } else if (blockable_pool(g, node, s.native, s.n_vals)) {
            rewrite_pool(&s, node);
            rewritten++;
        } else if (blockable_elementwise(g, node) && rewrite_elementwise(&s, node)) {
            rewritten++;
        }
    }
    free(keep);
    if (rewritten) {
        /* computed blocked but read in NCHW (or a graph output): convert */
        bool *read = hd_xcalloc(s.n_vals ? s.n_vals : 1, sizeof(bool));
        for (size_t i = 0; i < g->n_nodes; i++) {
            const ir_node *n = &g->nodes[i];
            if (n->dead)
                continue;
            for (size_t j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0 && (size_t)n->inputs[j] < s.n_vals)
                    read[n->inputs[j]] = true;
        }
        for (size_t v = 0; v < s.n_vals; v++)
            if (s.native[v] && (read[v] || g->values[v].is_output))
                unblock(&s, (int)v);
        free(read);
    }
    free(s.blocked);
    free(s.native);
    free(order);
    return rewritten;
}
