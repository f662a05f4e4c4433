/*
 * ops/shape_grad.c - gradient rules of the shape ops (ops.h, "gradient
 * rules").  Moving data is linear, so each gradient moves dY back: the
 * inverse reshape or permutation, a Pad for a Slice (and a Slice, as a
 * negative Pad, for a Pad), a scatter that adds for the gathers.  The
 * geometry is read from the forward node through the getters of shape.h,
 * the same ones folding and the backends use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "shape.h"

/* v's dims into dims[]; false when one is only known at run time (a
 * run-time or data-dependent dim's size is just its bound). */
static bool static_dims(const op_grad_ctx *c, int v, int64_t *dims)
{
    const ir_value *iv = ir_val(c->g, v);
    if (!ir_value_is_static(iv))
        return false;
    for (int i = 0; i < iv->rank; i++)
        if (iv->dims[i].rt || iv->dims[i].data_dep)
            return false;
    ir_value_dims(iv, dims);
    return true;
}

static int64_t numel_of(const op_grad_ctx *c, int v) { return ir_value_numel(ir_val(c->g, v)); }

static int reshape_to(op_grad_ctx *c, int x, const int64_t *dims, int rank)
{
    return og_op2(c, "Reshape", x, og_i64s(c, dims, (size_t)rank));
}

/* Zeros shaped like value v. */
static int zeros_like(op_grad_ctx *c, int v) { return og_op2(c, "Expand", og_scalar(c, 0, v), og_shape(c, v)); }

static void attr_string(op_grad_ctx *c, const char *name, const char *s)
{
    ir_node_add_attr(c->g, c->last, name, IR_ATTR_STRING)->s = hd_xstrdup(s);
}

/* Pad with zeros, begin[i] / end[i] on dim i (negative: crop), in the form
 * of the graph's opset (pads an input from 11). */
static int pad_zeros(op_grad_ctx *c, int x, const int64_t *begin, const int64_t *end, int rank)
{
    int64_t pads[2 * HODU_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        pads[i] = begin[i];
        pads[rank + i] = end[i];
    }
    if (c->g->opset >= 11)
        return og_op2(c, "Pad", x, og_i64s(c, pads, 2 * (size_t)rank));
    int r = og_op1(c, "Pad", x);
    og_attr_ints(c, "pads", pads, 2 * (size_t)rank);
    return r;
}

/* x[start:end:step] along `axis`, in the form of the graph's opset (inputs
 * from 10; before, attributes and no steps, so step must be 1 there). */
static int slice_axis(op_grad_ctx *c, int x, int64_t axis, int64_t start, int64_t end, int64_t step)
{
    if (c->g->opset >= 10) {
        int ins[5] = {x, og_i64s(c, &start, 1), og_i64s(c, &end, 1), og_i64s(c, &axis, 1), og_i64s(c, &step, 1)};
        return og_op(c, "Slice", ins, step == 1 ? 4 : 5);
    }
    int r = og_op1(c, "Slice", x);
    og_attr_ints(c, "starts", &start, 1);
    og_attr_ints(c, "ends", &end, 1);
    og_attr_ints(c, "axes", &axis, 1);
    return r;
}

/* Identity, Reshape, Squeeze, Unsqueeze, OptionalGetElement: the same
 * elements, maybe another shape. */
bool reshape_grad(op_grad_ctx *c)
{
    int x = og_x(c, 0), dy = og_dy(c, 0);
    const ir_value *vx = ir_val(c->g, x), *vy = ir_val(c->g, og_y(c, 0));
    bool same = vx->rank == vy->rank && memcmp(vx->dims, vy->dims, sizeof(ir_dim) * (size_t)vx->rank) == 0;
    c->dx[0] = same ? dy : og_op2(c, "Reshape", dy, og_shape(c, x));
    return true;
}

bool transpose_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int rank = ir_val(c->g, og_x(c, 0))->rank;
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(n, "perm", &np);
    int64_t inv[HODU_MAX_RANK];
    if (rank < 0 || rank > HODU_MAX_RANK || (perm && np != (size_t)rank))
        return og_none(c, "perm does not match the input's rank");
    for (int i = 0; i < rank; i++) {
        int64_t a = perm ? perm[i] : rank - 1 - i; /* no perm: the dims reversed */
        if (a < 0)
            a += rank;
        if (a < 0 || a >= rank)
            return og_none(c, "perm is out of range");
        inv[a] = i;
    }
    int t = og_op1(c, "Transpose", og_dy(c, 0));
    og_attr_ints(c, "perm", inv, (size_t)rank);
    c->dx[0] = t;
    return true;
}

bool expand_grad(op_grad_ctx *c)
{
    og_set(c, 0, og_dy(c, 0), og_y(c, 0));
    return true;
}

/* Each element of y is x[lo + j * step] along every dim: dY goes back to
 * those places and zeros fill the rest.  Per dim, a negative step becomes
 * a positive one over dY reversed, a step s > 1 spreads dY with s - 1
 * zeros after each element; one Pad then puts it at its offset. */
bool slice_grad(op_grad_ctx *c)
{
    int x = og_x(c, 0), y = og_y(c, 0);
    int64_t in[HODU_MAX_RANK], out[HODU_MAX_RANK];
    if (shape_slice_at_run_time(c->g, c->node))
        return og_none(c, "starts, ends, axes or steps come at run time");
    if (!static_dims(c, x, in) || !static_dims(c, y, out))
        return og_none(c, "the input or the result has run-time dims");
    if (numel_of(c, y) == 0)
        return true; /* nothing read: a zero gradient */
    shape_copy_plan p;
    if (!shape_slice_plan(c->g, c->node, c->d, &p))
        return false;
    int rank = ir_val(c->g, x)->rank;
    /* The plan reads the dense input from sum(lo * stride) with strides
     * stride * step; each lo lies below its dim, so the base's mixed-radix
     * digits are the lo's.  No dim is 0 (y is not empty). */
    int64_t lo[HODU_MAX_RANK], step[HODU_MAX_RANK], stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        lo[i] = p.src_base / stride % in[i];
        step[i] = p.src[i] / stride;
        stride *= in[i]; /* at most x's element count */
    }
    int g = og_dy(c, 0);
    int64_t cur[HODU_MAX_RANK + 1], begin[HODU_MAX_RANK], end[HODU_MAX_RANK];
    memcpy(cur, out, sizeof(out));
    bool pad = false;
    for (int a = 0; a < rank; a++) {
        int64_t n = out[a], s = step[a], first = lo[a], span;
        if (n > 1 && s < 0) { /* read backwards: dY reversed is read forwards from the last element */
            g = slice_axis(c, g, a, -1, INT64_MIN, -1);
            if (!hd_mul_i64(n - 1, s, &span) || !hd_add_i64(first, span, &first) || first < 0)
                return og_none(c, "the slice's window is out of range");
            s = -s;
        }
        if (n > 1 && s > 1) {
            if (rank == HODU_MAX_RANK)
                return og_none(c, "a step other than 1 or -1 at the largest rank");
            int64_t wide[HODU_MAX_RANK + 1], zb[HODU_MAX_RANK + 1] = {0}, ze[HODU_MAX_RANK + 1] = {0};
            for (int i = 0, j = 0; i <= rank; i++)
                wide[i] = i == a + 1 ? 1 : cur[j++];
            ze[a + 1] = s - 1;
            g = pad_zeros(c, reshape_to(c, g, wide, rank + 1), zb, ze, rank + 1);
            if (!hd_mul_i64(n, s, &cur[a]))
                return og_none(c, "the slice's step is too large");
            g = reshape_to(c, g, cur, rank);
        }
        begin[a] = first;
        end[a] = in[a] - first - cur[a]; /* negative: crops the last spread's zeros */
        pad |= begin[a] != 0 || end[a] != 0;
    }
    c->dx[0] = pad ? pad_zeros(c, g, begin, end, rank) : g;
    return true;
}

/* Each input's slab of dY along the axis. */
bool concat_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    size_t ni = n->n_inputs;
    int rank = ir_val(c->g, og_y(c, 0))->rank;
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank)
        return og_none(c, "axis is out of range");
    int dy = og_dy(c, 0);
    int64_t at = 0;
    for (size_t k = 0; k < ni; k++) {
        int x = og_x(c, k);
        if (x < 0)
            continue;
        int64_t d = ir_val(c->g, x)->dims[axis].size, next;
        if (d < 0 || !hd_add_i64(at, d, &next))
            return og_none(c, "an input's size along the axis is only known at run time");
        if (c->want[k] && d > 0)
            c->dx[k] = slice_axis(c, dy, axis, at, next, 1);
        at = next;
    }
    return true;
}

/* The outputs' gradients concatenated back, zeros for an output without
 * one. */
bool split_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    size_t no = n->n_outputs;
    int x = og_x(c, 0), rank = ir_val(c->g, x)->rank;
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank || no > 64)
        return og_none(c, "axis or output count out of range");
    int parts[64];
    for (size_t i = 0; i < no; i++) {
        if (og_y(c, i) >= 0) {
            parts[i] = og_dy(c, i);
            continue;
        }
        shape_copy_plan p; /* an output the model leaves out: its shape from the plan */
        if (!shape_split_plan(c->g, c->node, c->d, i, &p))
            return false;
        parts[i] = og_op2(c, "Expand", og_scalar(c, 0, x), og_i64s(c, p.dims, (size_t)p.rank));
    }
    c->dx[0] = og_op(c, "Concat", parts, no);
    og_attr_int(c, "axis", axis);
    return true;
}

/* Gather's and GatherElements' axis, normalised against data's rank. */
static bool gather_axis(op_grad_ctx *c, int *axis)
{
    int rank = ir_val(c->g, og_x(c, 0))->rank;
    int64_t a = ir_attr_int(ir_nd(c->g, c->node), "axis", 0);
    if (a < 0)
        a += rank;
    *axis = 0;
    if (a < 0 || a >= rank)
        return og_none(c, "axis is out of range");
    *axis = (int)a;
    return true;
}

/* ScatterElements(zeros like data, idx, upd) adding up repeated indices;
 * it reads indices like the gathers (negative from the end, clamped). */
static int scatter_add(op_grad_ctx *c, int data, int idx, int upd, int axis)
{
    int ins[3] = {zeros_like(c, data), idx, upd};
    int r = og_op(c, "ScatterElements", ins, 3);
    og_attr_int(c, "axis", axis);
    attr_string(c, "reduction", "add");
    return r;
}

/* y = data[:axis] x indices x data[axis+1:]: dY, with the index dims
 * flattened to one, is added at its indices along the axis (an index
 * read twice gets both). */
bool gather_grad(op_grad_ctx *c)
{
    if (c->g->opset < 11)
        return og_none(c, "the gradient is a ScatterElements, which needs opset 11");
    int x = og_x(c, 0), idx = og_x(c, 1), y = og_y(c, 0), axis;
    int64_t xd[HODU_MAX_RANK], id[HODU_MAX_RANK], yd[HODU_MAX_RANK];
    if (!static_dims(c, x, xd) || !static_dims(c, idx, id) || !static_dims(c, y, yd))
        return og_none(c, "an operand has run-time dims");
    if (!gather_axis(c, &axis))
        return false;
    if (numel_of(c, x) == 0 || numel_of(c, y) == 0)
        return true;
    int rank = ir_val(c->g, x)->rank, ri = ir_val(c->g, idx)->rank;
    int64_t flat[HODU_MAX_RANK], line[HODU_MAX_RANK], nidx = numel_of(c, idx);
    for (int i = 0; i < rank; i++) {
        flat[i] = i == axis ? nidx : xd[i];
        line[i] = i == axis ? nidx : 1;
    }
    int dy = og_dy(c, 0);
    int upd = ri == 1 ? dy : reshape_to(c, dy, flat, rank);
    int ix = og_op2(c, "Expand", reshape_to(c, idx, line, rank), og_i64s(c, flat, (size_t)rank));
    c->dx[0] = scatter_add(c, x, ix, upd, axis);
    return true;
}

bool gather_elements_grad(op_grad_ctx *c)
{
    int axis;
    if (!gather_axis(c, &axis))
        return false;
    if (numel_of(c, og_x(c, 0)) == 0)
        return true;
    c->dx[0] = scatter_add(c, og_x(c, 0), og_x(c, 1), og_dy(c, 0), axis);
    return true;
}

bool gather_nd_grad(op_grad_ctx *c)
{
    if (ir_attr_int(ir_nd(c->g, c->node), "batch_dims", 0) != 0)
        return og_none(c, "only batch_dims = 0 has a gradient rule");
    int x = og_x(c, 0);
    if (numel_of(c, x) == 0)
        return true;
    int ins[3] = {zeros_like(c, x), og_x(c, 1), og_dy(c, 0)};
    c->dx[0] = og_op(c, "ScatterND", ins, 3);
    attr_string(c, "reduction", "add");
    return true;
}

/* y repeats x r times along a dim: that dim of dY, seen as [r, d] (the
 * copies outermost), is summed over r, one repeated dim at a time. */
bool tile_grad(op_grad_ctx *c)
{
    int x = og_x(c, 0), y = og_y(c, 0);
    int64_t xd[HODU_MAX_RANK], cur[HODU_MAX_RANK];
    if (!static_dims(c, x, xd) || !static_dims(c, y, cur))
        return og_none(c, "the input or the result has run-time dims");
    if (numel_of(c, x) == 0 || numel_of(c, y) == 0)
        return true;
    int rank = ir_val(c->g, x)->rank, g = og_dy(c, 0);
    bool summed = false;
    for (int a = 0; a < rank; a++) {
        if (cur[a] == xd[a])
            continue;
        /* products of dims of a tensor no larger than y: they fit */
        int64_t before = 1, after = 1;
        for (int i = 0; i < a; i++)
            before *= cur[i];
        for (int i = a + 1; i < rank; i++)
            after *= cur[i];
        int64_t three[3] = {before, cur[a] / xd[a], xd[a] * after}, one = 1;
        g = og_axes_op(c, "ReduceSum", reshape_to(c, g, three, 3), &one, 1);
        og_attr_int(c, "keepdims", 0);
        cur[a] = xd[a];
        summed = true;
    }
    c->dx[0] = summed ? reshape_to(c, g, xd, rank) : g;
    return true;
}

/* The input index that output index o of an axis of d elements reads, in
 * reflect, edge or wrap mode (the backend's mapping: shape.h, Pad). */
static int64_t pad_source(shape_pad_mode mode, int64_t o, int64_t begin, int64_t d)
{
    int64_t c = o - begin, m = 2 * (d - 1);
    if (c >= 0 && c < d)
        return c;
    switch (mode) {
    case SHAPE_PAD_EDGE: return c < 0 ? 0 : d - 1;
    case SHAPE_PAD_WRAP: return ((c % d) + d) % d;
    default:
        if (d == 1)
            return 0;
        c = ((c % m) + m) % m;
        return c < d ? c : m - c;
    }
}

/* Runs of a non-constant Pad's axis, beyond which the rule gives up: each
 * is a few nodes, and reflect or wrap pads many times the input's size
 * make one per copy. */
enum { PAD_MAX_RUNS = 64 };

/* Reflect, edge or wrap along `axis`: the output indices split into runs
 * whose sources step by +1, -1 (a mirrored border) or 0 (an edge
 * repeated); each run's slice of g, reversed or summed as its step asks,
 * is padded with zeros to the input's positions, and the runs add up. */
static int pad_axis_back(op_grad_ctx *c, int g, const shape_pad_plan *p, int axis)
{
    int64_t n_out = p->out_dims[axis], d = p->in_dims[axis], zb[HODU_MAX_RANK] = {0}, ze[HODU_MAX_RANK] = {0};
    int sum = -1, runs = 0;
    for (int64_t o0 = 0; o0 < n_out;) {
        int64_t m0 = pad_source(p->mode, o0, p->begin[axis], d), step = 1, o1 = o0 + 1;
        if (o1 < n_out) {
            step = pad_source(p->mode, o1, p->begin[axis], d) - m0;
            if (step < -1 || step > 1)
                step = 1; /* a run of one */
            else
                while (o1 < n_out && pad_source(p->mode, o1, p->begin[axis], d) - m0 == step * (o1 - o0))
                    o1++;
        }
        if (++runs > PAD_MAX_RUNS) {
            og_none(c, "the pads are many times the input's size along an axis");
            return -1;
        }
        int64_t len = o1 - o0, lo = m0, hi = m0;
        int part;
        if (len > 1 && step == -1) {
            if (c->g->opset < 10) {
                og_none(c, "a mirrored border's gradient is a reversing Slice, which needs opset 10");
                return -1;
            }
            /* o1-1 down to o0; an end below -n_out clamps to before 0 */
            part = slice_axis(c, g, axis, o1 - 1, o0 > 0 ? o0 - 1 : -n_out - 1, -1);
            lo = m0 - (len - 1);
        } else {
            part = len == n_out ? g : slice_axis(c, g, axis, o0, o1, 1);
            if (len > 1 && step == 0) {
                int64_t ax = axis;
                part = og_axes_op(c, "ReduceSum", part, &ax, 1);
                og_attr_int(c, "keepdims", 1);
            } else
                hi = m0 + len - 1;
        }
        zb[axis] = lo;
        ze[axis] = d - 1 - hi;
        if (lo != 0 || hi != d - 1)
            part = pad_zeros(c, part, zb, ze, p->rank);
        sum = sum < 0 ? part : og_op2(c, "Add", sum, part);
        o0 = o1;
    }
    return sum;
}

/* 0, 1, ..., n - 1 as an int64 constant. */
static int iota(op_grad_ctx *c, int64_t n)
{
    int64_t *v = hd_xcalloc((size_t)n + 1, sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        v[i] = i;
    int r = og_i64s(c, v, (size_t)n);
    free(v);
    return r;
}

/* ((x mod m) + m) mod m: x in [0, m) whichever sign Mod gives. */
static int wrap_index(op_grad_ctx *c, int x, int64_t m)
{
    int mv = og_i64s(c, &m, 1);
    return og_op2(c, "Mod", og_op2(c, "Add", og_op2(c, "Mod", x, mv), mv), mv);
}

/* Pads that come at run time, one axis: output index o reads input index
 * o - begin, mapped into [0, d) as pad_source does (constant mode: no
 * index outside it).  When the model runs, a one-hot [n_out, d] matrix of
 * that mapping takes g's axis back to x's in one MatMul; begin is a
 * 1-element int64 value. */
static int pad_axis_back_rt(op_grad_ctx *c, int g, const shape_pad_plan *p, int axis, int begin)
{
    int64_t n_out = p->out_dims[axis], d = p->in_dims[axis], last = p->rank - 1, one_col = 1;
    int src = og_op2(c, "Sub", iota(c, n_out), begin);
    if (p->mode == SHAPE_PAD_EDGE) {
        int64_t hi = d - 1, lo = 0;
        src = og_op2(c, "Max", og_op2(c, "Min", src, og_i64s(c, &hi, 1)), og_i64s(c, &lo, 1));
    } else if (p->mode == SHAPE_PAD_WRAP) {
        src = wrap_index(c, src, d);
    } else if (p->mode == SHAPE_PAD_REFLECT) { /* period 2 (d - 1), mirrored in its second half */
        int64_t m = 2 * (d - 1);
        if (d == 1) {
            src = og_op2(c, "Mul", src, og_i64s(c, (int64_t[]){0}, 1));
        } else {
            src = wrap_index(c, src, m);
            src = og_op2(c, "Min", src, og_op2(c, "Sub", og_i64s(c, &m, 1), src));
        }
    }
    int hit = og_op2(c, "Equal", og_axes_op(c, "Unsqueeze", src, &one_col, 1), iota(c, d)); /* [n_out, d] */
    int x = og_x(c, 0), ins[3] = {hit, og_scalar(c, 1, x), og_scalar(c, 0, x)};
    int onehot = og_op(c, "Where", ins, 3);
    int64_t perm[HODU_MAX_RANK];
    for (int i = 0; i < p->rank; i++)
        perm[i] = i;
    perm[axis] = last; /* a swap with the last axis, its own inverse */
    perm[last] = axis;
    if (axis != last) {
        g = og_op1(c, "Transpose", g);
        og_attr_ints(c, "perm", perm, (size_t)p->rank);
    }
    g = og_op2(c, "MatMul", g, onehot);
    if (axis != last) {
        g = og_op1(c, "Transpose", g);
        og_attr_ints(c, "perm", perm, (size_t)p->rank);
    }
    return g;
}

/* Pads given at run time (input 1: the begins, then the ends, of the axes;
 * the output's shape was declared): each axis the pads may move is taken
 * back by pad_axis_back_rt, every mode alike.  Axes given at run time too
 * may name any axis: each axis's begin is then the sum of the begins of
 * the entries naming it (one or none).  The pad value (constant mode)
 * gets the rest of dY. */
static bool pad_grad_rt(op_grad_ctx *c, const shape_pad_plan *p)
{
    int x = og_x(c, 0), pads = og_x(c, 1), value = og_x(c, 2), dy = og_dy(c, 0), g = dy;
    for (int a = 0; a < p->rank; a++) {
        int64_t cells;
        if (!hd_mul_i64(p->out_dims[a], p->in_dims[a], &cells) || cells > ((int64_t)1 << 24))
            return og_none(c, "the pads come at run time and an axis is too long for their one-hot matrix");
    }
    if (numel_of(c, x) == 0 || (!c->want[0] && !(value >= 0 && c->want[2])))
        return true;
    int64_t na = p->axes_at_run_time ? ir_val(c->g, og_x(c, 3))->dims[0].size : p->n_axes;
    int axes = -1;
    if (p->axes_at_run_time) {
        int64_t rank = p->rank;
        int rk = og_i64s(c, &rank, 1);
        axes = og_op1(c, "Cast", og_x(c, 3));
        og_attr_int(c, "to", HODU_DTYPE_I64);
        axes = og_op2(c, "Mod", og_op2(c, "Add", axes, rk), rk); /* from [-rank, rank) */
    }
    for (int a = 0; a < p->rank; a++) {
        int begin = -1;
        if (p->axes_at_run_time) {
            int64_t av = a, zero = 0, first = 0;
            int ins[3] = {og_op2(c, "Equal", axes, og_i64s(c, &av, 1)), slice_axis(c, pads, 0, 0, na, 1),
                          og_i64s(c, &zero, 1)};
            begin = og_axes_op(c, "ReduceSum", og_op(c, "Where", ins, 3), &first, 1);
            og_attr_int(c, "keepdims", 1);
        } else {
            for (int64_t k = 0; k < na; k++)
                if (p->axes[k] == a)
                    begin = slice_axis(c, pads, 0, k, k + 1, 1);
            if (begin < 0)
                continue; /* the pads leave this axis alone */
        }
        g = pad_axis_back_rt(c, g, p, a, begin);
    }
    if (c->want[0])
        c->dx[0] = g;
    if (value >= 0 && c->want[2] && p->mode == SHAPE_PAD_CONSTANT) {
        int rest = og_op1(c, "ReduceSum", dy);
        og_attr_int(c, "keepdims", 0);
        int inner = og_op1(c, "ReduceSum", g);
        og_attr_int(c, "keepdims", 0);
        rest = og_op2(c, "Sub", rest, inner);
        c->dx[2] = ir_val(c->g, value)->rank == 0 ? rest : og_op2(c, "Reshape", rest, og_shape(c, value));
    }
    return true;
}

/* Constant mode: x's elements are dY cut back by the pads (a negative
 * pad, a crop, leaves zeros); the pad value gets the sum of the rest.
 * Other modes copy input elements into the border, so their gradients add
 * back into the elements copied, one axis at a time (the modes' index
 * mapping is separable). */
bool pad_grad(op_grad_ctx *c)
{
    shape_pad_plan p;
    if (!shape_pad_plan_of(c->g, c->node, c->d, &p))
        return false;
    if (p.pads_at_run_time)
        return pad_grad_rt(c, &p);
    int x = og_x(c, 0), value = og_x(c, 2), dy = og_dy(c, 0), dx = -1;
    if (p.mode != SHAPE_PAD_CONSTANT) {
        if (!c->want[0] || numel_of(c, x) == 0)
            return true;
        int g = dy;
        for (int a = 0; a < p.rank && g >= 0; a++)
            if (p.begin[a] != 0 || p.end[a] != 0)
                g = pad_axis_back(c, g, &p, a);
        c->dx[0] = g;
        return g >= 0;
    }
    int64_t b[HODU_MAX_RANK], e[HODU_MAX_RANK];
    for (int i = 0; i < p.rank; i++) {
        b[i] = -p.begin[i]; /* shape_pad_plan_of bounds them by the tensor size limit */
        e[i] = -p.end[i];
    }
    if (numel_of(c, x) > 0)
        dx = pad_zeros(c, dy, b, e, p.rank);
    if (c->want[0])
        c->dx[0] = dx;
    if (value >= 0 && c->want[2]) {
        int rest = og_op1(c, "ReduceSum", dy);
        og_attr_int(c, "keepdims", 0);
        if (dx >= 0) {
            int inner = og_op1(c, "ReduceSum", dx);
            og_attr_int(c, "keepdims", 0);
            rest = og_op2(c, "Sub", rest, inner);
        }
        c->dx[2] = ir_val(c->g, value)->rank == 0 ? rest : og_op2(c, "Reshape", rest, og_shape(c, value));
    }
    return true;
}

/* DepthToSpace in DCR mode and SpaceToDepth undo each other; CRD is undone
 * by its own 6-D reshape and transpose, inverted. */
bool d2s_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    bool d2s = n->op == OP_DEPTH_TO_SPACE;
    bool crd = d2s && strcmp(ir_attr_string(n, "mode", "DCR"), "CRD") == 0;
    int64_t b = ir_attr_int(n, "blocksize", 0), xd[HODU_MAX_RANK], bb;
    int x = og_x(c, 0);
    if (!static_dims(c, x, xd) || ir_val(c->g, x)->rank != 4 || b <= 0 || !hd_mul_i64(b, b, &bb))
        return og_none(c, "needs a static 4-D input and a positive blocksize");
    int dy = og_dy(c, 0);
    if (!crd) {
        c->dx[0] = og_op1(c, d2s ? "SpaceToDepth" : "DepthToSpace", dy);
        og_attr_int(c, "blocksize", b);
        return true;
    }
    /* y[n, k, h b + i, w b + j] = x[n, (k b + i) b + j, h, w] */
    int64_t six[6] = {xd[0], xd[1] / bb, xd[2], b, xd[3], b}, perm[6] = {0, 1, 3, 5, 2, 4};
    int t = og_op1(c, "Transpose", reshape_to(c, dy, six, 6));
    og_attr_ints(c, "perm", perm, 6);
    c->dx[0] = reshape_to(c, t, xd, 4);
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether the scatter's indices are a constant that sends no two updates to
 * the same place of the data (indices read as the lowering reads them:
 * negative from the end, then clamped). */
static bool distinct_targets(op_grad_ctx *c, bool nd)
{
    int idx = og_x(c, 1);
    const ir_value *vi = ir_val(c->g, idx);
    int64_t n = ir_value_numel(vi), dims[HODU_MAX_RANK];
    if (!static_dims(c, og_x(c, 0), dims) || vi->kind != IR_VALUE_CONST || !vi->data || n < 0 ||
        (uint64_t)n > SIZE_MAX / 16)
        return false;
    int64_t *ix = hd_xmalloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t *at = hd_xmalloc((size_t)(n ? n : 1) * sizeof(int64_t));
    bool ok = ir_const_as_i64(c->g, idx, ix, (size_t)n) == (long)n;
    int64_t m = 0; /* targets: one per element (ScatterElements) or tuple (ScatterND) */
    if (ok && nd) {
        shape_nd_view v;
        shape_nd_view_of(c->g, c->node, &v);
        for (int64_t j = 0; j < v.n_idx; j++) {
            int64_t off = 0;
            for (int64_t q = 0; q < v.k; q++) {
                int64_t t = ix[j * v.k + q], d = v.dims[q];
                t = t < 0 ? t + d : t;
                t = t < 0 ? 0 : (t >= d ? d - 1 : t);
                off += t * v.strides[q];
            }
            at[m++] = off;
        }
    } else if (ok) {
        shape_elements_view v;
        shape_elements_view_of(c->g, c->node, &v);
        int64_t pos[HODU_MAX_RANK] = {0};
        for (int64_t j = 0; j < n; j++) {
            int64_t t = ix[j], off = 0;
            t = t < 0 ? t + v.d : t;
            t = t < 0 ? 0 : (t >= v.d ? v.d - 1 : t);
            for (int q = 0; q < v.rank; q++)
                off += pos[q] * v.data_strides[q];
            at[m++] = off + t * v.axis_stride;
            for (int q = v.rank - 1; q >= 0 && ++pos[q] == v.idx_dims[q]; q--)
                pos[q] = 0;
        }
    }
    qsort(at, (size_t)m, sizeof(int64_t), cmp_i64);
    for (int64_t j = 1; ok && j < m; j++)
        ok = at[j] != at[j - 1];
    free(ix);
    free(at);
    return ok;
}

/* ScatterElements, Scatter, ScatterND with reduction none or add.  The
 * data's gradient is dY, less the places an update overwrote (none); an
 * update's is dY where it went, when no other update went there too. */
bool scatter_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    bool nd = n->op == OP_SCATTER_ND;
    const char *scatter = nd ? "ScatterND" : n->op == OP_SCATTER ? "Scatter" : "ScatterElements";
    int64_t axis = ir_attr_int(n, "axis", 0);
    shape_reduction r;
    if (!shape_reduction_of(n, &r) || (r != SHAPE_REDUCTION_NONE && r != SHAPE_REDUCTION_ADD))
        return og_none(c, "only reductions 'none' and 'add' have a gradient rule");
    if (c->want[2] && r == SHAPE_REDUCTION_NONE && !distinct_targets(c, nd))
        return og_none(c, "with reduction 'none', the updates' gradient needs constant indices that never "
                          "write one place twice");
    if (c->want[2] && !nd && c->g->opset < 11)
        return og_none(c, "the updates' gradient is a GatherElements, which needs opset 11");
    int dy = og_dy(c, 0), idx = og_x(c, 1), upd = og_x(c, 2);
    if (c->want[0] && r == SHAPE_REDUCTION_ADD) {
        c->dx[0] = dy;
    } else if (c->want[0]) {
        int ins[3] = {dy, idx, zeros_like(c, upd)};
        c->dx[0] = og_op(c, scatter, ins, 3);
        if (!nd)
            og_attr_int(c, "axis", axis);
    }
    if (c->want[2] && numel_of(c, upd) > 0) {
        c->dx[2] = og_op2(c, nd ? "GatherND" : "GatherElements", dy, idx);
        if (!nd)
            og_attr_int(c, "axis", axis);
    }
    return true;
}

/* Trilu keeps a triangle: its gradient keeps the same one of dY. */
bool trilu_grad(op_grad_ctx *c)
{
    int64_t upper = ir_attr_int(ir_nd(c->g, c->node), "upper", 1);
    int ins[2] = {og_dy(c, 0), og_x(c, 1)};
    c->dx[0] = og_op(c, "Trilu", ins, ins[1] >= 0 ? 2 : 1);
    og_attr_int(c, "upper", upper);
    return true;
}

/* The result depends on the input's shape alone. */
bool zero_grad(op_grad_ctx *c)
{
    (void)c;
    return true;
}
