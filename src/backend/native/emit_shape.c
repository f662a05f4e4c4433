/*
 * emit_shape.c - native lowerings of the shape family (src/ops/shape.c holds
 * their semantics, src/ops/shape.h the plans read here).
 *
 * Most of these ops are one strided copy; the rest index through run-time
 * indices, which are clamped so a bad index can never reach outside a
 * tensor.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/shape.h"

/* Identity, Reshape, Squeeze, Unsqueeze: the same bytes under a new shape
 * (the memory planner may give output and input one buffer). */
static bool emit_copy(op_emit *e)
{
    size_t nbytes = ir_value_nbytes(em_out(e, 0));
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    return true;
}

/* `static const int64_t name[] = {dims of v}` (one 0 for a scalar). */
static void emit_dims_table(op_emit *e, const char *name, const ir_value *v)
{
    hd_buf b;
    hd_buf_init(&b);
    for (int i = 0; i < v->rank; i++)
        hd_buf_printf(&b, "%s%" PRId64, i ? ", " : "", v->dims[i].size);
    em_line(e, "static const int64_t %s[%d] = {%s};", name, v->rank > 0 ? v->rank : 1, v->rank ? b.data : "0");
    hd_buf_free(&b);
}

/* Reshape with its target shape given at run time: inference built it for
 * the output's declared shape; the values must ask for exactly that (an
 * entry 0 copies the input's dim unless allowzero, one -1 takes what is
 * left, which is then the declared dim as long as no declared dim is 0). */
static bool emit_reshape(op_emit *e)
{
    const ir_value *sv = em_in(e, 1);
    if (!sv || sv->kind == IR_VALUE_CONST)
        return emit_copy(e);
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    bool allowzero = ir_attr_int(em_node(e), "allowzero", 0) != 0;
    bool has_zero = ir_value_numel(out) == 0;
    e->can_fail = true;
    emit_dims_table(e, "want", out);
    if (!allowzero)
        emit_dims_table(e, "from", in);
    em_line(e, "int minus_one = 0;");
    em_for(e, "i", out->rank);
    em_line(e, "int64_t v = in1[i];");
    if (!allowzero)
        em_line(e, "if (v == 0) v = i < %d ? from[i] : -2;", in->rank);
    em_line(e, "if (v == -1 && !minus_one++ && !%d) continue;", has_zero);
    em_line(e, "if (v != want[i]) return 1;");
    em_close(e);
    return emit_copy(e);
}

/* Squeeze and Unsqueeze with their axes given at run time: inference built
 * them for the declared output shape; the axes must be distinct, in range,
 * squeeze only dims of size 1 and give exactly that shape. */
static bool emit_squeeze_unsqueeze(op_emit *e)
{
    const ir_value *av = em_node(e)->n_inputs > 1 ? em_in(e, 1) : NULL;
    if (!av || av->kind == IR_VALUE_CONST)
        return emit_copy(e);
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    bool squeeze = em_node(e)->op == OP_SQUEEZE;
    int marked = squeeze ? in->rank : out->rank; /* the dims the axes name */
    e->can_fail = true;
    emit_dims_table(e, "want", out);
    emit_dims_table(e, "from", in);
    em_line(e, "int mark[%d] = {0};", marked);
    em_for(e, "i", av->dims[0].size);
    em_line(e, "int64_t a = in1[i];");
    em_line(e, "if (a < 0) a += %d;", marked);
    em_line(e, "if (a < 0 || a >= %d || mark[a]%s) return 1;", marked, squeeze ? " || from[a] != 1" : "");
    em_line(e, "mark[a] = 1;");
    em_close(e);
    em_line(e, "int64_t j = 0;");
    em_for(e, "i", marked);
    if (squeeze)
        em_line(e, "if (!mark[i] && from[i] != want[j++]) return 1;");
    else
        em_line(e, "if ((mark[i] ? 1 : from[j++]) != want[i]) return 1;");
    em_close(e);
    return emit_copy(e);
}

/* Range with start, limit or delta given at run time (or too long to fold):
 * the count the spec gives, max(ceil((limit - start) / delta), 0), must be
 * the declared length; then start + i * delta, in the output type for
 * floats (as folding does) and modulo 2^64 for integers (exact, as every
 * element lies between start and limit). */
static bool emit_range(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    int64_t n = out->dims[0].size;
    e->can_fail = true;
    char *start = em_load(t, "in0[0]"), *limit = em_load(t, "in1[0]"), *delta = em_load(t, "in2[0]");
    em_line(e, "if (%s == 0) return 1;", delta);
    em_line(e, "const double span = ceil(((double)%s - (double)%s) / (double)%s);", limit, start, delta);
    em_line(e, "if (!(span == %" PRId64 ".0 || (span <= 0 && %" PRId64 " == 0))) return 1;", n, n);
    em_for(e, "i", n);
    if (ir_dtype_is_float(t)) {
        const char *ct = em_compute_ctype(t);
        char *v = hd_xasprintf("%s + (%s)i * %s", start, ct, delta);
        char *st = em_store(t, v);
        em_line(e, "out0[i] = %s;", t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 ? v : st);
        free(v);
        free(st);
    } else
        em_line(e, "out0[i] = (%s)(int64_t)((uint64_t)(int64_t)in0[0] + (uint64_t)i * (uint64_t)(int64_t)in2[0]);",
                em_ctype(t));
    em_close(e);
    free(start);
    free(limit);
    free(delta);
    return true;
}

/* Constant and OptionalHasElement always fold before code generation (and
 * Shape and Size unless their input has run-time dims). */
static bool emit_unreachable(op_emit *e)
{
    ir_node_error(e->d, e->g, e->node, "internal error: node was not folded");
    return false;
}

/* Shape and Size of a value with run-time dims: what stays unfolded.
 * Shape's elements are the input's dims from start to end, a run-time one
 * read from rtd; Size is their product. */
static bool emit_shape(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    if ((n->op != OP_SHAPE && n->op != OP_SIZE) || !ir_value_has_rt(in))
        return emit_unreachable(e);
    if (n->op == OP_SIZE) {
        e->rt_dims = true;
        hd_buf numel;
        hd_buf_init(&numel);
        em_rt_elems(e->g, in, -1, &numel);
        em_line(e, "out0[0] = %s;", numel.data);
        hd_buf_free(&numel);
        return true;
    }
    int start, end;
    op_shape_range(n, in->rank, &start, &end);
    e->rt_dims = true;
    for (int i = start; i < end; i++) {
        if (in->dims[i].rt)
            em_line(e, "out0[%d] = rtd[%d];", i - start, em_rt_index(e->g, in->dims[i].sym));
        else
            em_line(e, "out0[%d] = %" PRId64 ";", i - start, in->dims[i].size);
    }
    return true;
}

/* --- strided copies -------------------------------------------------------- */

static const char *const LOOPV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};

/* Loop variables i0.. times `strides` (plus `extra` * extra_stride when
 * extra is set), fed to em_index or em_offset through t. */
static size_t loop_terms(em_term *t, const int64_t *strides, int rank, const char *extra, int64_t extra_stride)
{
    size_t n = 0;
    for (int i = 0; i < rank; i++)
        t[n++] = (em_term){LOOPV[i], strides[i]};
    if (extra)
        t[n++] = (em_term){extra, extra_stride};
    return n;
}

/* Opens one loop per dim, named i0, i1, ... */
static void open_loops(op_emit *e, int rank, const int64_t *dims)
{
    for (int i = 0; i < rank; i++)
        em_for(e, LOOPV[i], dims[i]);
}

/* Side of the square tiles a transposing copy moves in. */
#define COPY_TILE 16

/* The dim a transposing copy tiles with its last one, or -1: the last dim
 * is contiguous in the destination but not in the source, and dim `a` is
 * contiguous in the source.  Walked row by row such a copy reads a new
 * source line per element (a 4 KB stride hits one cache set throughout);
 * in tiles every line it loads serves a whole tile row. */
static int tile_dim(const shape_copy_plan *p)
{
    int last = p->rank - 1;
    if (p->rank < 2 || p->dst[last] != 1 || p->src[last] == 1 || p->dims[last] < COPY_TILE)
        return -1;
    for (int a = 0; a < last; a++)
        if (p->src[a] == 1 && p->dims[a] >= COPY_TILE)
            return a;
    return -1;
}

/* Opens the tile loop over dim i (t<i>) and the loop within its tile. */
static void open_tile(op_emit *e, int i, int64_t n)
{
    em_line(e, "for (int64_t t%d = 0; t%d < %" PRId64 "; t%d += %d) {", i, i, n, i, COPY_TILE);
    e->indent++;
    em_line(e, "const int64_t e%d = t%d + %d < %" PRId64 " ? t%d + %d : %" PRId64 ";", i, i, COPY_TILE, n, i, COPY_TILE,
            n);
}

/* Writes the copy as a loop nest; when the innermost dim is contiguous on
 * both sides it becomes one memcpy per row, and a transposing copy goes in
 * tiles (tile_dim). */
static void plan_emit(op_emit *e, shape_copy_plan p, const char *src, const char *dst, size_t elem)
{
    if (shape_copy_plan_numel(&p) == 0)
        return;
    shape_copy_plan_coalesce(&p);
    bool rows = p.rank > 0 && p.src[p.rank - 1] == 1 && p.dst[p.rank - 1] == 1;
    int loops = rows ? p.rank - 1 : p.rank, tile = rows ? -1 : tile_dim(&p), last = p.rank - 1;
    em_line(e, "{");
    e->indent++;
    for (int i = 0; i < loops; i++)
        if (tile < 0 || (i != tile && i != last))
            em_for(e, LOOPV[i], p.dims[i]);
    if (tile >= 0) {
        open_tile(e, tile, p.dims[tile]);
        open_tile(e, last, p.dims[last]);
        em_line(e, "for (int64_t %s = t%d; %s < e%d; %s++)", LOOPV[tile], tile, LOOPV[tile], tile, LOOPV[tile]);
        em_line(e, "for (int64_t %s = t%d; %s < e%d; %s++) {", LOOPV[last], last, LOOPV[last], last, LOOPV[last]);
        e->indent++;
    }
    em_term ts[HODU_MAX_RANK], td[HODU_MAX_RANK];
    size_t ns = loop_terms(ts, p.src, loops, NULL, 0), nd = loop_terms(td, p.dst, loops, NULL, 0);
    if (rows)
        em_line(e, "memcpy(%s, %s, %zu);", em_offset(dst, p.dst_base, nd, td).s, em_offset(src, p.src_base, ns, ts).s,
                (size_t)p.dims[p.rank - 1] * elem);
    else
        em_line(e, "%s[%s] = %s[%s];", dst, em_index(p.dst_base, nd, td).s, src, em_index(p.src_base, ns, ts).s);
    for (int i = 0; i < (tile >= 0 ? loops + 1 : loops); i++) /* with tiles: two tile loops and the tile's pair */
        em_close(e);
    e->indent--;
    em_line(e, "}");
}

static size_t in0_elem(const op_emit *e) { return ir_dtype_size(em_in(e, 0)->dtype); }

static bool emit_transpose(op_emit *e)
{
    shape_copy_plan p;
    if (!shape_transpose_plan(e->g, e->node, e->d, &p))
        return false;
    plan_emit(e, p, "in0", "out0", in0_elem(e));
    return true;
}

/* The general path (ir_node.rt_general): out0 walked in order over its
 * dims as this run has them, in0 read at `src[o]` (C expressions) per
 * step of output dim o.  With `row`, the last dim is contiguous in both
 * and moves as one memcpy. */
static void rt_copy(op_emit *e, const ir_value *out, char *const *src, const char *base, bool row, size_t elem)
{
    int r = out->rank;
    for (int o = 0; o < r; o++) {
        em_line(e, "const int64_t n%d = %s;", o, em_dim(e->g, out, o).s);
        em_line(e, "const int64_t s%d = %s;", o, src[o]);
    }
    if (r > 0)
        em_line(e, "(void)n0;");
    int loops = row && r > 0 ? r - 1 : r;
    hd_buf dst, at;
    hd_buf_init(&dst);
    hd_buf_init(&at);
    hd_buf_puts(&at, base);
    for (int o = 0; o < loops; o++)
        hd_buf_printf(&at, " + i%d * s%d", o, o);
    if (loops > 0)
        em_rt_outer_loop(e, out, 2);
    em_rt_loops(e, 1, loops, &dst);
    if (loops < r) /* the row: n(r-1) elements from both */
        em_line(e, "memcpy(out0 + (%s) * n%d, in0 + %s, (size_t)n%d * %zu);", dst.data, r - 1, at.data, r - 1, elem);
    else
        em_line(e, "out0[%s] = in0[%s];", dst.data, at.data);
    for (int o = 0; o < loops; o++)
        em_close(e);
    hd_buf_free(&dst);
    hd_buf_free(&at);
}

static bool emit_transpose_rt(op_emit *e)
{
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    int r = out->rank;
    size_t k = 0;
    const int64_t *perm = ir_attr_ints(em_node(e), "perm", &k);
    char *src[HODU_MAX_RANK] = {0};
    for (int o = 0; o < r; o++) {
        int i = perm && k == (size_t)r ? (int)perm[o] : r - 1 - o;
        hd_buf b;
        hd_buf_init(&b);
        em_rt_elems(e->g, in, i, &b);
        src[o] = hd_buf_take(&b);
    }
    bool row = r > 0 && (perm && k == (size_t)r ? perm[r - 1] == r - 1 : r == 1);
    rt_copy(e, out, src, "0", row, in0_elem(e));
    for (int o = 0; o < r; o++)
        free(src[o]);
    return true;
}

static bool emit_slice_rt(op_emit *e)
{
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    op_rt_slice_axis w[HODU_MAX_RANK];
    if (!op_rt_slice_steps(e->g, e->node, w)) {
        ir_node_error(e->d, e->g, e->node, "internal error: a Slice over run-time dims without its axes");
        return false;
    }
    const ir_node *n = em_node(e);
    for (size_t j = 1; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0)
            em_line(e, "(void)in%zu;", j);
    char *src[HODU_MAX_RANK] = {0};
    hd_buf base;
    hd_buf_init(&base);
    hd_buf_puts(&base, "0");
    bool row = in->rank > 0 && w[in->rank - 1].step == 1;
    for (int i = 0; i < in->rank; i++) {
        hd_buf b;
        hd_buf_init(&b);
        em_rt_elems(e->g, in, i, &b);
        if (w[i].kind == OP_RT_WINDOW_CLIPPED) {
            /* the spec's clamping against this run's size; the count is
             * this node's data symbol, set before the copy reads it */
            int64_t s = w[i].start, en = w[i].end, p = w[i].step;
            em_line(e, "const int64_t win_D%d = %s;", i, em_dim(e->g, in, i).s);
            em_line(e, "int64_t win_s%d = INT64_C(%" PRId64 "), win_e%d = INT64_C(%" PRId64 "), win_c%d;", i, s, i, en,
                    i);
            em_line(e, "if (win_s%d < 0) win_s%d += win_D%d;", i, i, i);
            em_line(e, "if (win_e%d < 0) win_e%d += win_D%d;", i, i, i);
            if (p > 0) {
                em_line(e, "win_s%d = win_s%d < 0 ? 0 : win_s%d > win_D%d ? win_D%d : win_s%d;", i, i, i, i, i, i);
                em_line(e, "win_e%d = win_e%d < 0 ? 0 : win_e%d > win_D%d ? win_D%d : win_e%d;", i, i, i, i, i, i);
                em_line(e, "win_c%d = win_e%d > win_s%d ? (win_e%d - win_s%d + %" PRId64 ") / %" PRId64 " : 0;", i, i,
                        i, i, i, p - 1, p);
            } else {
                em_line(e, "win_s%d = win_s%d < 0 ? 0 : win_s%d > win_D%d - 1 ? win_D%d - 1 : win_s%d;", i, i, i, i, i,
                        i);
                em_line(e, "win_e%d = win_e%d < -1 ? -1 : win_e%d > win_D%d - 1 ? win_D%d - 1 : win_e%d;", i, i, i, i,
                        i, i);
                em_line(e, "win_c%d = win_s%d > win_e%d ? (win_s%d - win_e%d + %" PRId64 ") / %" PRId64 " : 0;", i, i,
                        i, i, i, -p - 1, -p);
            }
            em_line(e, "rtd[%d] = dims0[%d] = win_c%d;", em_rt_index(e->g, out->dims[i].sym), i, i);
            hd_buf_printf(&base, " + win_s%d * %s", i, b.data);
        } else if (w[i].kind == OP_RT_WINDOW_AT_DIM) { /* from this run's size of a dim */
            hd_buf_printf(&base, " + rtd[%d] * %s", em_rt_index(e->g, w[i].start_sym), b.data);
        } else if (w[i].kind == OP_RT_WINDOW_FROM_END) { /* the run's size of the axis, less -start */
            hd_buf_printf(&base, " + (%s - INT64_C(%" PRId64 ")) * %s", em_dim(e->g, in, i).s, -w[i].start, b.data);
        } else if (w[i].start) {
            hd_buf_printf(&base, " + INT64_C(%" PRId64 ") * %s", w[i].start, b.data);
        }
        src[i] = w[i].step == 1 ? hd_buf_take(&b) : hd_xasprintf("(%s) * INT64_C(%" PRId64 ")", b.data, w[i].step);
        hd_buf_free(&b);
    }
    rt_copy(e, out, src, base.data, row, in0_elem(e));
    for (int i = 0; i < in->rank; i++)
        free(src[i]);
    hd_buf_free(&base);
    return true;
}

/* Expand on the general path: a stride of 0 where the input broadcasts. */
static bool emit_expand_rt(op_emit *e)
{
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    int r = out->rank;
    em_line(e, "(void)in1;");
    char *src[HODU_MAX_RANK] = {0};
    bool row = r > 0;
    for (int o = 0; o < r; o++) {
        int i = o - (r - in->rank);
        bool bcast = em_rt_broadcasts(in, i, &out->dims[o]);
        hd_buf b;
        hd_buf_init(&b);
        if (bcast)
            hd_buf_puts(&b, "0");
        else
            em_rt_elems(e->g, in, i, &b);
        src[o] = hd_buf_take(&b);
        if (o == r - 1)
            row = !bcast;
    }
    rt_copy(e, out, src, "0", row, in0_elem(e));
    for (int o = 0; o < r; o++)
        free(src[o]);
    return true;
}

static void rt_span_line(op_emit *e, const char *name, const ir_value *v, int from, int to);

/* Concat on the general path: each input's block per index of the dims
 * before the axis, at its running offset along the axis. */
static bool emit_concat_rt(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *out = em_out(e, 0);
    int r = out->rank;
    int64_t ax = ir_attr_int(n, "axis", 0);
    int axis = (int)(ax < 0 ? ax + r : ax);
    rt_span_line(e, "O", out, 0, axis);
    if (out->dims[axis].data_dep) {
        /* the total along the axis is this node's to report (a data
         * symbol: see general_concat) */
        hd_buf total;
        hd_buf_init(&total);
        hd_buf_puts(&total, "INT64_C(0)");
        for (size_t j = 0; j < n->n_inputs; j++)
            hd_buf_printf(&total, " + %s", em_dim(e->g, em_in(e, j), axis).s);
        em_line(e, "const int64_t total = %s;", total.data);
        hd_buf_free(&total);
        em_line(e, "dims0[%d] = total;", axis);
        hd_buf inner;
        hd_buf_init(&inner);
        em_rt_span(e->g, out, axis + 1, r, &inner);
        em_line(e, "const int64_t OL = total * %s;", inner.data);
        hd_buf_free(&inner);
    } else {
        rt_span_line(e, "OL", out, axis, r);
    }
    em_line(e, "int64_t at = 0;");
    for (size_t j = 0; j < n->n_inputs; j++) {
        hd_buf len;
        hd_buf_init(&len);
        em_rt_span(e->g, em_in(e, j), axis, r, &len);
        em_line(e, "{");
        e->indent++;
        em_line(e, "const int64_t L = %s;", len.data);
        em_line(e, "for (int64_t o = 0; o < O && L > 0; o++)");
        em_line(e, "    memcpy(out0 + o * OL + at, in%zu + o * L, (size_t)L * %zu);", j, ir_dtype_size(out->dtype));
        em_line(e, "at += L;");
        e->indent--;
        em_line(e, "}");
        hd_buf_free(&len);
    }
    em_line(e, "(void)at;");
    return true;
}

/* Range(0, d, 1) up to a run-time dim d (ops/rtdims.c). */
static bool emit_range_rt(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    em_line(e, "(void)in0;");
    em_line(e, "(void)in1;");
    em_line(e, "(void)in2;");
    em_line(e, "for (int64_t i = 0; i < %s; i++)", em_dim(e->g, out, 0).s);
    em_line(e, "    out0[i] = (%s)i;", em_ctype(out->dtype));
    return true;
}

/* Slice by values given at run time (shape_slice_at_run_time): the spec's
 * clamping of starts and ends per axis, as slice_plan does it at build
 * time, then a check that the counts are the declared output's, then the
 * copy with the strides and start the values give. */
static bool emit_slice_at_run_time(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0), *out = em_out(e, 0);
    int r = in->rank;
    bool has_axes = n->n_inputs > 3 && n->inputs[3] >= 0, has_steps = n->n_inputs > 4 && n->inputs[4] >= 0;
    int64_t len = em_in(e, 1)->dims[0].size, st[HODU_MAX_RANK];
    e->can_fail = true;
    emit_dims_table(e, "from", in);
    emit_dims_table(e, "want", out);
    hd_buf b;
    hd_buf_init(&b);
    st[r > 0 ? r - 1 : 0] = 1;
    for (int i = r - 1; i > 0; i--)
        st[i - 1] = st[i] * in->dims[i].size;
    for (int i = 0; i < r; i++)
        hd_buf_printf(&b, "%s%" PRId64, i ? ", " : "", st[i]);
    em_line(e, "static const int64_t st[%d] = {%s};", r > 0 ? r : 1, r ? b.data : "1");
    hd_buf_free(&b);
    em_line(e, "int64_t lo[%d], step[%d], cnt[%d];", r, r, r);
    em_line(e, "int seen[%d] = {0};", r);
    em_for(e, "i", r);
    em_line(e, "lo[i] = 0;");
    em_line(e, "step[i] = 1;");
    em_line(e, "cnt[i] = from[i];");
    em_close(e);
    em_for(e, "k", len);
    em_line(e, "int64_t a = %s;", has_axes ? "in3[k]" : "k");
    em_line(e, "if (a < 0) a += %d;", r);
    em_line(e, "if (a < 0 || a >= %d || seen[a]) return 1;", r);
    em_line(e, "seen[a] = 1;");
    em_line(e, "const int64_t d = from[a], sp = %s;", has_steps ? "in4[k]" : "1");
    em_line(e, "int64_t s = in1[k], en = in2[k], c;");
    em_line(e, "if (sp == 0) return 1;");
    em_line(e, "if (s < 0) s = s < -d ? 0 : s + d;");
    em_line(e, "if (en < 0) en = en < -d ? -1 : en + d;");
    em_line(e, "if (sp > 0) {");
    em_line(e, "    s = s > d ? d : s;");
    em_line(e, "    en = en > d ? d : (en < 0 ? 0 : en);");
    em_line(e, "    c = en > s ? (en - s - 1) / sp + 1 : 0;");
    em_line(e, "} else {");
    em_line(e, "    s = s > d - 1 ? d - 1 : s;");
    em_line(e, "    en = en > d - 1 ? d - 1 : en;");
    em_line(e, "    c = s > en ? (sp == INT64_MIN ? 1 : (s - en - 1) / -sp + 1) : 0;");
    em_line(e, "}");
    em_line(e, "lo[a] = c > 0 ? s : 0;");
    em_line(e, "step[a] = c > 1 ? sp : 1;");
    em_line(e, "cnt[a] = c;");
    em_close(e);
    em_for(e, "i", r);
    em_line(e, "if (cnt[i] != want[i]) return 1;");
    em_close(e);
    if (ir_value_numel(out) == 0) {
        em_line(e, "(void)lo;");
        em_line(e, "(void)step;");
        em_line(e, "(void)st;");
        return true;
    }
    em_line(e, "int64_t base = 0, sst[%d];", r);
    em_for(e, "i", r);
    em_line(e, "base += lo[i] * st[i];");
    em_line(e, "sst[i] = st[i] * step[i];");
    em_close(e);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(out, dims);
    hd_buf src;
    hd_buf_init(&src);
    hd_buf_puts(&src, "base");
    for (int i = 0; i < r; i++)
        hd_buf_printf(&src, " + %s * sst[%d]", LOOPV[i], i);
    em_line(e, "int64_t o = 0;");
    open_loops(e, r, dims);
    em_line(e, "out0[o++] = in0[%s];", src.data);
    for (int i = 0; i < r; i++)
        em_close(e);
    hd_buf_free(&src);
    return true;
}

static bool emit_slice(op_emit *e)
{
    if (shape_slice_at_run_time(e->g, e->node))
        return emit_slice_at_run_time(e);
    shape_copy_plan p;
    if (!shape_slice_plan(e->g, e->node, e->d, &p))
        return false;
    plan_emit(e, p, "in0", "out0", in0_elem(e));
    return true;
}

/* Expand and ConstantOfShape with the shape given at run time (input
 * `at`): inference built them for the declared output; the values must
 * ask for exactly that.  ConstantOfShape's are the output's dims; Expand's
 * broadcast with the input's (right-aligned) to give them. */
static void emit_shape_operand_check(op_emit *e, size_t at, bool broadcast)
{
    const ir_value *sv = em_in(e, at), *out = em_out(e, 0);
    e->can_fail = true;
    int64_t len = sv->dims[0].size;
    emit_dims_table(e, "want", out);
    if (broadcast) {
        const ir_value *in = em_in(e, 0);
        emit_dims_table(e, "from", in);
        em_for(e, "i", len);
        em_line(e, "const int64_t j = i + %" PRId64 ", k = j - %d;", (int64_t)out->rank - len, out->rank - in->rank);
        em_line(e, "const int64_t a = k >= 0 ? from[k] : 1, v = in%zu[i];", at);
        em_line(e, "if ((a == 1 ? v : v == 1 || v == a ? a : -1) != want[j]) return 1;");
    } else {
        em_for(e, "i", len);
        em_line(e, "if (in%zu[i] != want[i]) return 1;", at);
    }
    em_close(e);
}

static bool emit_expand(op_emit *e)
{
    if (em_in(e, 1)->kind != IR_VALUE_CONST)
        emit_shape_operand_check(e, 1, true);
    shape_copy_plan p;
    shape_expand_plan(e->g, e->node, &p);
    plan_emit(e, p, "in0", "out0", in0_elem(e));
    return true;
}

static bool emit_concat(op_emit *e)
{
    const ir_node *n = em_node(e);
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (n->inputs[k] < 0)
            continue;
        shape_copy_plan p;
        shape_concat_plan(e->g, e->node, k, &p);
        char src[32];
        snprintf(src, sizeof(src), "in%zu", k);
        plan_emit(e, p, src, "out0", ir_dtype_size(em_out(e, 0)->dtype));
    }
    return true;
}

static bool emit_split(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *sv = n->n_inputs > 1 ? em_in(e, 1) : NULL;
    if (sv && sv->kind != IR_VALUE_CONST) {
        /* sizes given at run time: they must be the declared ones */
        e->can_fail = true;
        int64_t axis = ir_attr_int(n, "axis", 0);
        if (axis < 0)
            axis += em_in(e, 0)->rank;
        for (size_t i = 0; i < n->n_outputs; i++)
            if (n->outputs[i] >= 0)
                em_line(e, "if (in1[%zu] != %" PRId64 ") return 1;", i, em_out(e, i)->dims[axis].size);
    }
    for (size_t i = 0; i < n->n_outputs; i++) {
        if (n->outputs[i] < 0)
            continue;
        shape_copy_plan p;
        if (!shape_split_plan(e->g, e->node, e->d, i, &p))
            return false;
        char dst[32];
        snprintf(dst, sizeof(dst), "out%zu", i);
        plan_emit(e, p, "in0", dst, in0_elem(e));
    }
    return true;
}

/* The general path: a fixed axis split between the outputs, run-time
 * dims before it (rows of the copy) or after it (the length of each
 * piece), so each row of each output is one memcpy. */
static bool emit_split_rt(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *in = em_in(e, 0);
    int axis;
    int64_t sizes[64];
    if (!shape_split_sizes(e->g, e->node, e->d, &axis, sizes))
        return false;
    size_t elem = in0_elem(e);
    if (n->n_inputs > 1 && n->inputs[1] >= 0)
        em_line(e, "(void)in1;");
    hd_buf rows, inner;
    hd_buf_init(&rows);
    hd_buf_init(&inner);
    em_rt_span(e->g, in, 0, axis, &rows);
    em_rt_elems(e->g, in, axis, &inner);
    em_line(e, "const int64_t rows = %s, inner = %s;", rows.data, inner.data);
    em_for_rt(e, "r", "rows");
    int64_t at = 0;
    for (size_t i = 0; i < n->n_outputs; i++) {
        int64_t len = sizes[i];
        if (n->outputs[i] >= 0)
            em_line(e,
                    "memcpy(out%zu + r * INT64_C(%" PRId64 ") * inner, in0 + (r * INT64_C(%" PRId64
                    ") + INT64_C(%" PRId64 ")) * inner, (size_t)(INT64_C(%" PRId64 ") * inner) * %zu);",
                    i, len, in->dims[axis].size, at, len, elem);
        at += len;
    }
    em_close(e);
    hd_buf_free(&rows);
    hd_buf_free(&inner);
    return true;
}

static bool emit_d2s(op_emit *e)
{
    shape_copy_plan p;
    shape_d2s_plan(e->g, e->node, &p);
    plan_emit(e, p, "in0", "out0", in0_elem(e));
    return true;
}

/* --- indexed reads and writes ------------------------------------------------ */

/* `k = <expr>` read from indices, then clamped into [0, d). */
static void emit_clamped_index(op_emit *e, const char *expr, int64_t d)
{
    em_line(e, "int64_t k = (int64_t)%s;", expr);
    em_line(e, "if (k < 0) k += %" PRId64 ";", d);
    em_line(e, "if (k < 0) k = 0; else if (k >= %" PRId64 ") k = %" PRId64 ";", d, d - 1);
}

static bool emit_gather(op_emit *e)
{
    shape_gather_view v;
    shape_gather_view_of(e->g, e->node, &v);
    if (v.outer * v.n_idx * v.inner == 0 || v.d == 0)
        return true;
    size_t es = in0_elem(e);
    em_for(e, "o", v.outer);
    em_for(e, "j", v.n_idx);
    emit_clamped_index(e, "in1[j]", v.d);
    const em_term td[] = {{"o", v.n_idx * v.inner}, {"j", v.inner}}, ts[] = {{"o", v.d * v.inner}, {"k", v.inner}};
    if (v.inner == 1)
        em_line(e, "out0[%s] = in0[%s];", em_index(0, 2, td).s, em_index(0, 2, ts).s);
    else
        em_line(e, "memcpy(%s, %s, %zu);", em_offset("out0", 0, 2, td).s, em_offset("in0", 0, 2, ts).s,
                (size_t)v.inner * es);
    em_close(e);
    em_close(e);
    return true;
}

/* Opens the loop nest over indices shared by GatherElements and
 * ScatterElements and emits `k`, the clamped index along the axis.  *io
 * receives the index into indices (and updates, output), *so the data
 * index with `k` along the axis.  Close with elements_loops_close. */
static void elements_loops_open(op_emit *e, const shape_elements_view *v, em_expr *io, em_expr *so)
{
    em_line(e, "{");
    e->indent++;
    open_loops(e, v->rank, v->idx_dims);
    em_term t[HODU_MAX_RANK + 1];
    *io = em_index(0, loop_terms(t, v->idx_strides, v->rank, NULL, 0), t);
    *so = em_index(0, loop_terms(t, v->data_strides, v->rank, "k", v->axis_stride), t);
    char *at = hd_xasprintf("in1[%s]", io->s);
    emit_clamped_index(e, at, v->d);
    free(at);
}

static void elements_loops_close(op_emit *e, int rank)
{
    for (int i = 0; i < rank; i++)
        em_close(e);
    e->indent--;
    em_line(e, "}");
}

/* `const int64_t name = <v's dims from..to-1 this run>;` */
static void rt_span_line(op_emit *e, const char *name, const ir_value *v, int from, int to)
{
    hd_buf b;
    hd_buf_init(&b);
    em_rt_span(e->g, v, from, to, &b);
    em_line(e, "const int64_t %s = %s;", name, b.data);
    hd_buf_free(&b);
}

/* The general path (ir_node.rt_general) of Gather and GatherElements:
 * an index past the axis's size in this run is clamped like a static
 * one. */
static bool emit_gather_rt(op_emit *e)
{
    const ir_value *data = em_in(e, 0), *idx = em_in(e, 1);
    int64_t ax = ir_attr_int(em_node(e), "axis", 0);
    int axis = (int)(ax < 0 ? ax + data->rank : ax);
    em_line(e, "{");
    e->indent++;
    rt_span_line(e, "O", data, 0, axis);
    rt_span_line(e, "J", idx, 0, idx->rank);
    rt_span_line(e, "I", data, axis + 1, data->rank);
    rt_span_line(e, "D", data, axis, axis + 1);
    em_line(e, "for (int64_t o = 0; o < O && D > 0; o++)");
    em_line(e, "    for (int64_t j = 0; j < J; j++) {");
    em_line(e, "        int64_t k = (int64_t)in1[j];");
    em_line(e, "        if (k < 0) k += D;");
    em_line(e, "        if (k < 0) k = 0; else if (k >= D) k = D - 1;");
    em_line(e, "        memcpy(out0 + (o * J + j) * I, in0 + (o * D + k) * I, (size_t)I * %zu);", in0_elem(e));
    em_line(e, "    }");
    e->indent--;
    em_line(e, "}");
    return true;
}

/* The general path's loops of GatherElements and ScatterElements: over
 * `over`'s dims (the output, or the indices) with `io` its dense index,
 * and `so` the offset in data of the element the index k (in1[io],
 * clamped against D, this run's size of the axis) picks.  Opens the block
 * and the loops; elements_rt_close closes them. */
static void elements_rt_open(op_emit *e, const ir_value *data, const ir_value *over, int axis, hd_buf *io, hd_buf *so)
{
    int r = over->rank;
    em_line(e, "{");
    e->indent++;
    rt_span_line(e, "D", data, axis, axis + 1);
    hd_buf_puts(so, "0");
    for (int o = 0; o < r; o++) {
        em_line(e, "const int64_t n%d = %s;", o, em_dim(e->g, over, o).s);
        hd_buf st;
        hd_buf_init(&st);
        em_rt_elems(e->g, data, o, &st);
        em_line(e, "const int64_t s%d = %s;", o, st.data);
        hd_buf_free(&st);
        if (o == axis)
            hd_buf_printf(so, " + k * s%d", o);
        else
            hd_buf_printf(so, " + i%d * s%d", o, o);
    }
    em_rt_loops(e, 0, r, io);
    em_line(e, "int64_t k = (int64_t)in1[%s];", io->data);
    em_line(e, "if (k < 0) k += D;");
    em_line(e, "if (k < 0) k = 0; else if (k >= D) k = D - 1;");
}

static void elements_rt_close(op_emit *e, int rank)
{
    for (int o = 0; o < rank; o++)
        em_close(e);
    e->indent--;
    em_line(e, "}");
}

static bool emit_gather_elements_rt(op_emit *e)
{
    const ir_value *data = em_in(e, 0), *out = em_out(e, 0);
    int64_t ax = ir_attr_int(em_node(e), "axis", 0);
    int r = out->rank, axis = (int)(ax < 0 ? ax + r : ax);
    hd_buf io, so;
    hd_buf_init(&io);
    hd_buf_init(&so);
    elements_rt_open(e, data, out, axis, &io, &so);
    em_line(e, "if (D > 0) out0[%s] = in0[%s];", io.data, so.data);
    elements_rt_close(e, r);
    hd_buf_free(&io);
    hd_buf_free(&so);
    return true;
}

static void emit_combine(op_emit *e, const char *dst, const char *src);

/* ScatterElements on the general path: the data copied at this run's
 * size, then each update to its index along the axis, clamped against
 * this run's size like a static one. */
static bool emit_scatter_elements_rt(op_emit *e)
{
    const ir_value *data = em_in(e, 0), *idx = em_in(e, 1);
    int64_t ax = ir_attr_int(em_node(e), "axis", 0);
    int r = data->rank, axis = (int)(ax < 0 ? ax + r : ax);
    hd_buf elems, io, so;
    hd_buf_init(&elems);
    hd_buf_init(&io);
    hd_buf_init(&so);
    em_rt_elems(e->g, data, -1, &elems);
    em_line(e, "memcpy(out0, in0, (size_t)(%s) * %zu);", elems.data, in0_elem(e));
    elements_rt_open(e, data, idx, axis, &io, &so);
    em_line(e, "if (D > 0) {");
    char *dst = hd_xasprintf("out0[%s]", so.data), *src = hd_xasprintf("in2[%s]", io.data);
    emit_combine(e, dst, src);
    free(dst);
    free(src);
    em_line(e, "}");
    elements_rt_close(e, r);
    hd_buf_free(&elems);
    hd_buf_free(&io);
    hd_buf_free(&so);
    return true;
}

static bool emit_gather_elements(op_emit *e)
{
    if (ir_value_numel(em_in(e, 1)) == 0)
        return true;
    shape_elements_view v;
    shape_elements_view_of(e->g, e->node, &v);
    em_expr io, so;
    elements_loops_open(e, &v, &io, &so);
    em_line(e, "out0[%s] = in0[%s];", io.s, so.s);
    elements_loops_close(e, v.rank);
    return true;
}

/* The statement combining `dst` with `src` under the node's reduction
 * (printf template: %1$s is dst, %2$s src). */
static void emit_combine(op_emit *e, const char *dst, const char *src)
{
    static const char *const stmts[] = {
        [SHAPE_REDUCTION_NONE] = "%s = %s;",
        [SHAPE_REDUCTION_ADD] = "%s += %s;",
        [SHAPE_REDUCTION_MUL] = "%s *= %s;",
        [SHAPE_REDUCTION_MAX] = "{ if (%2$s > %1$s) %1$s = %2$s; }",
        [SHAPE_REDUCTION_MIN] = "{ if (%2$s < %1$s) %1$s = %2$s; }",
    };
    shape_reduction r = SHAPE_REDUCTION_NONE;
    shape_reduction_of(em_node(e), &r);
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, stmts[r], dst, src);
    em_line(e, "%s", b.data);
    hd_buf_free(&b);
}

static bool emit_scatter_elements(op_emit *e)
{
    const ir_value *data = em_in(e, 0);
    if (ir_value_nbytes(data))
        em_line(e, "memcpy(out0, in0, %zu);", ir_value_nbytes(data));
    if (ir_value_numel(em_in(e, 1)) == 0)
        return true;
    shape_elements_view v;
    shape_elements_view_of(e->g, e->node, &v);
    em_expr io, so;
    elements_loops_open(e, &v, &io, &so);
    char *target = hd_xasprintf("out0[%s]", so.s);
    char *source = hd_xasprintf("in2[%s]", io.s);
    emit_combine(e, target, source);
    free(target);
    free(source);
    elements_loops_close(e, v.rank);
    return true;
}

/* Opens the loop `j` over the index tuples of in1 and computes `at`, the
 * data offset of tuple j's slab; the caller closes the loop. */
static void emit_nd_offset(op_emit *e, const shape_nd_view *v)
{
    em_for(e, "j", v->n_idx);
    if (v->batch_stride && v->per_batch)
        em_line(e, "int64_t at = j / %" PRId64 " * %" PRId64 ";", v->per_batch, v->batch_stride);
    else
        em_line(e, "int64_t at = 0;");
    for (int64_t q = 0; q < v->k; q++) {
        int64_t d = v->dims[q];
        em_line(e,
                "{ int64_t v = (int64_t)in1[%s]; if (v < 0) v += %" PRId64 "; if (v < 0) v = 0; else if (v >= %" PRId64
                ") v = %" PRId64 "; at += %s; }",
                em_index(q, EM_TERMS({"j", v->k})).s, d, d, d - 1, em_index(0, EM_TERMS({"v", v->strides[q]})).s);
    }
}

static bool emit_scatter_nd(op_emit *e)
{
    const ir_value *data = em_in(e, 0);
    shape_nd_view v;
    shape_nd_view_of(e->g, e->node, &v);
    if (ir_value_nbytes(data))
        em_line(e, "memcpy(out0, in0, %zu);", ir_value_nbytes(data));
    if (v.n_idx == 0 || v.slab == 0)
        return true;
    emit_nd_offset(e, &v);
    em_for(e, "s", v.slab);
    char *source = hd_xasprintf("in2[%s]", em_index(0, EM_TERMS({"j", v.slab}, {"s", 1})).s);
    emit_combine(e, "out0[at + s]", source);
    free(source);
    em_close(e);
    em_close(e);
    return true;
}

static bool emit_gather_nd(op_emit *e)
{
    shape_nd_view v;
    shape_nd_view_of(e->g, e->node, &v);
    if (v.n_idx == 0 || v.slab == 0)
        return true;
    emit_nd_offset(e, &v);
    em_line(e, "memcpy(%s, in0 + at, %zu);", em_offset("out0", 0, EM_TERMS({"j", v.slab})).s,
            (size_t)v.slab * in0_elem(e));
    em_close(e);
    return true;
}

/* --- Tile, Pad ------------------------------------------------------------------ */

static bool emit_tile(op_emit *e)
{
    shape_tile_view v;
    shape_tile_view_of(e->g, e->node, &v);
    if (em_in(e, 1)->kind != IR_VALUE_CONST) {
        /* repeats given at run time: they must give the declared output */
        e->can_fail = true;
        for (int i = 0; i < v.rank; i++)
            if (v.in_dims[i])
                em_line(e, "if (in1[%d] != %" PRId64 ") return 1;", i, v.out_dims[i] / v.in_dims[i]);
            else
                em_line(e, "if (in1[%d] < 0) return 1;", i);
    }
    if (ir_value_numel(em_out(e, 0)) == 0)
        return true;
    em_line(e, "{");
    e->indent++;
    em_line(e, "int64_t o = 0;");
    open_loops(e, v.rank, v.out_dims);
    /* source coordinate i % in_dim, written as plain i where the dim is
     * not repeated, dropped where the input dim is 1 */
    char mods[HODU_MAX_RANK][48];
    em_term t[HODU_MAX_RANK];
    for (int i = 0; i < v.rank; i++) {
        if (v.out_dims[i] <= v.in_dims[i])
            snprintf(mods[i], sizeof mods[i], "%s", LOOPV[i]);
        else
            snprintf(mods[i], sizeof mods[i], "(%s %% %" PRId64 ")", LOOPV[i], v.in_dims[i]);
        t[i] = (em_term){mods[i], v.in_dims[i] == 1 ? 0 : v.in_strides[i]};
    }
    em_line(e, "out0[o++] = in0[%s];", em_index(0, (size_t)v.rank, t).s);
    for (int i = 0; i < v.rank; i++)
        em_close(e);
    e->indent--;
    em_line(e, "}");
    return true;
}

/* Pad on the general path (shape_infer_pad_rt): constant mode, the pads
 * read in the run.  A padded dim the data decides is this node's data
 * symbol, checked against its bounds and set first. */
static bool emit_pad_rt(op_emit *e)
{
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0), *y = em_out(e, 0);
    int r = x->rank;
    const char *ct = em_ctype(y->dtype);
    e->can_fail = true;
    for (int a = 0; a < r; a++) {
        em_line(e, "const int64_t nx%d = %s, pb%d = in1[%d];", a, em_dim(e->g, x, a).s, a, a);
        em_line(e, "if (pb%d < 0 || in1[%d] < 0) return 1;", a, a + r);
        int64_t lo, hi;
        if (y->dims[a].data_dep && y->dims[a].rt && ir_graph_symbol_range(e->g, y->dims[a].sym, &lo, &hi)) {
            e->check_why = "its pads are outside the range the build derived for them";
            em_line(e, "{");
            em_line(e, "    const int64_t d = nx%d + pb%d + in1[%d];", a, a, a + r);
            em_line(e, "    if (d < INT64_C(%" PRId64 ") || d > INT64_C(%" PRId64 ")) return 1;", lo, hi);
            em_line(e, "    rtd[%d] = dims0[%d] = d;", em_rt_index(e->g, y->dims[a].sym), a);
            em_line(e, "}");
        } else {
            em_line(e, "if (nx%d + pb%d + in1[%d] != %s) return 1;", a, a, a + r, em_dim(e->g, y, a).s);
        }
    }
    hd_buf all;
    hd_buf_init(&all);
    em_rt_span(e->g, y, 0, r, &all);
    em_line(e, "const int64_t total = %s;", all.data);
    hd_buf_free(&all);
    bool has_value = n->n_inputs > 2 && n->inputs[2] >= 0;
    em_line(e, "const %s v = %s;", ct, has_value ? "in2[0]" : "0");
    em_line(e, "for (int64_t i = 0; i < total; i++)");
    em_line(e, "    out0[i] = v;");
    hd_buf yo, xo;
    hd_buf_init(&yo);
    hd_buf_init(&xo);
    static const char *const IV[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    for (int a = 0; a < r; a++) {
        char bound[16];
        snprintf(bound, sizeof bound, "nx%d", a);
        em_for_rt(e, IV[a], bound);
        hd_buf ys, xs;
        hd_buf_init(&ys);
        hd_buf_init(&xs);
        em_rt_elems(e->g, y, a, &ys);
        em_rt_elems(e->g, x, a, &xs);
        hd_buf_printf(&yo, "%s(%s + pb%d) * (%s)", yo.len ? " + " : "", IV[a], a, ys.data);
        hd_buf_printf(&xo, "%s%s * (%s)", xo.len ? " + " : "", IV[a], xs.data);
        hd_buf_free(&ys);
        hd_buf_free(&xs);
    }
    em_line(e, "out0[%s] = in0[%s];", yo.len ? yo.data : "0", xo.len ? xo.data : "0");
    for (int a = 0; a < r; a++)
        em_close(e);
    hd_buf_free(&yo);
    hd_buf_free(&xo);
    return true;
}

static bool emit_pad(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    shape_pad_plan p;
    if (!shape_pad_plan_of(e->g, e->node, e->d, &p))
        return false;
    if (p.pads_at_run_time) {
        /* the pads must give the declared output; they are kept within the
         * tensor size limit so the index arithmetic cannot overflow */
        e->can_fail = true;
        emit_dims_table(e, "from", em_in(e, 0));
        emit_dims_table(e, "want", out);
        if (p.axes_at_run_time) {
            /* axes read now: in range and distinct */
            em_line(e, "int axes[%d] = {0}, seen[%d] = {0};", p.n_axes > 0 ? p.n_axes : 1, p.rank > 0 ? p.rank : 1);
            em_for(e, "k", p.n_axes);
            em_line(e, "int64_t a = (int64_t)in3[k];");
            em_line(e, "if (a < 0) a += %d;", p.rank);
            em_line(e, "if (a < 0 || a >= %d || seen[a]) return 1;", p.rank);
            em_line(e, "seen[a] = 1;");
            em_line(e, "axes[k] = (int)a;");
            em_close(e);
        } else {
            hd_buf ax;
            hd_buf_init(&ax);
            for (int k = 0; k < p.n_axes; k++)
                hd_buf_printf(&ax, "%s%d", k ? ", " : "", p.axes[k]);
            em_line(e, "static const int axes[%d] = {%s};", p.n_axes > 0 ? p.n_axes : 1, p.n_axes ? ax.data : "0");
            hd_buf_free(&ax);
        }
        em_line(e, "int64_t pb[%d] = {0}, pe[%d] = {0};", p.rank > 0 ? p.rank : 1, p.rank > 0 ? p.rank : 1);
        em_for(e, "k", p.n_axes);
        em_line(e, "pb[axes[k]] = in1[k];");
        em_line(e, "pe[axes[k]] = in1[k + %d];", p.n_axes);
        em_close(e);
        em_for(e, "k", p.rank);
        em_line(e, "const int64_t lim = INT64_C(%" PRId64 ");", (int64_t)HODU_MAX_TENSOR_ELEMS);
        em_line(e, "if (pb[k] < -lim || pb[k] > lim || pe[k] < -lim || pe[k] > lim) return 1;");
        em_line(e, "if (from[k] + pb[k] + pe[k] != want[k]) return 1;");
        em_close(e);
    }
    if (ir_value_numel(out) == 0)
        return true;
    const char *ct = em_ctype(out->dtype);
    em_line(e, "{");
    e->indent++;
    if (p.value_input)
        em_line(e, "const %s fill = in2[0];", ct);
    else if (out->dtype == HODU_DTYPE_F16 || out->dtype == HODU_DTYPE_BF16)
        em_line(e, "const %s fill = %s((float)%s);", ct,
                out->dtype == HODU_DTYPE_F16 ? "hd_f32_to_f16" : "hd_f32_to_bf16", em_f64(p.value).s);
    else
        em_line(e, "const %s fill = (%s)%s;", ct, ct, em_f64(p.value).s);
    em_line(e, "(void)fill;");
    em_line(e, "int64_t o = 0;");
    for (int i = 0; i < p.rank; i++) {
        char var[16];
        snprintf(var, sizeof(var), "i%d", i);
        em_for(e, var, p.out_dims[i]);
        int64_t d = p.in_dims[i];
        if (p.pads_at_run_time)
            em_line(e, "int64_t c%d = %s - pb[%d];", i, var, i);
        else
            em_line(e, "int64_t c%d = %s;", i, em_index(-p.begin[i], EM_TERMS({var, 1})).s);
        switch (p.mode) {
        case SHAPE_PAD_CONSTANT:
            em_line(e, "if (c%d < 0 || c%d >= %" PRId64 ") {", i, i, d);
            /* Fill the whole sub-box under this index. */
            em_line(e, "    for (int64_t f = 0; f < %" PRId64 "; f++) out0[o++] = fill;", p.fill_block[i]);
            em_line(e, "    continue;");
            em_line(e, "}");
            break;
        case SHAPE_PAD_EDGE:
            em_line(e, "c%d = c%d < 0 ? 0 : (c%d >= %" PRId64 " ? %" PRId64 " : c%d);", i, i, i, d, d - 1, i);
            break;
        case SHAPE_PAD_WRAP:
            em_line(e, "c%d = ((c%d %% %" PRId64 ") + %" PRId64 ") %% %" PRId64 ";", i, i, d, d, d);
            break;
        case SHAPE_PAD_REFLECT: {
            /* reflecting at both ends again and again is periodic in
             * 2(d-1): one remainder, however wide the pad (a loop would
             * take pad/d steps), and only where the index is outside */
            int64_t m = 2 * (d - 1);
            if (d == 1)
                em_line(e, "c%d = 0;", i);
            else
                em_line(e,
                        "if (c%d < 0 || c%d >= %" PRId64 ") { c%d = ((c%d %% %" PRId64 ") + %" PRId64 ") %% %" PRId64
                        "; c%d = c%d < %" PRId64 " ? c%d : %" PRId64 " - c%d; }",
                        i, i, d, i, i, m, m, m, i, i, d, i, m, i);
            break;
        }
        }
    }
    static const char *const CV[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
    em_term t[HODU_MAX_RANK];
    for (int i = 0; i < p.rank; i++)
        t[i] = (em_term){CV[i], p.in_strides[i]};
    em_line(e, "out0[o++] = in0[%s];", em_index(0, (size_t)p.rank, t).s);
    for (int i = 0; i < p.rank; i++)
        em_close(e);
    e->indent--;
    em_line(e, "}");
    return true;
}

/* --- generators ------------------------------------------------------------------ */

/* out0's `n` elements (C text) set to ConstantOfShape's value. */
static void fill_constant(op_emit *e, const char *n)
{
    const ir_value *out = em_out(e, 0);
    const ir_value *v = shape_constant_of_shape_value(e->g, e->node);
    if (!v) {
        em_line(e, "memset(out0, 0, (size_t)(%s) * %zu);", n, ir_dtype_size(out->dtype));
        return;
    }
    /* Copy the element's bytes through memcpy so any dtype works. */
    hd_buf bytes;
    hd_buf_init(&bytes);
    for (size_t i = 0; i < ir_dtype_size(v->dtype); i++)
        hd_buf_printf(&bytes, "%s0x%02x", i ? ", " : "", ((const unsigned char *)v->data)[i]);
    em_line(e, "static const unsigned char bits[] = {%s};", bytes.data);
    hd_buf_free(&bytes);
    em_line(e, "%s x;", em_ctype(out->dtype));
    em_line(e, "memcpy(&x, bits, sizeof x);");
    em_for_rt(e, "i", n);
    em_line(e, "out0[i] = x;");
    em_close(e);
}

static bool emit_constant_of_shape(op_emit *e)
{
    if (em_in(e, 0)->kind != IR_VALUE_CONST)
        emit_shape_operand_check(e, 0, false);
    int64_t n = ir_value_numel(em_out(e, 0));
    char count[32];
    snprintf(count, sizeof count, "%" PRId64, n);
    if (n > 0)
        fill_constant(e, count);
    return true;
}

static bool emit_constant_of_shape_rt(op_emit *e)
{
    em_line(e, "(void)in0;");
    hd_buf n;
    hd_buf_init(&n);
    em_rt_elems(e->g, em_out(e, 0), -1, &n);
    fill_constant(e, n.data);
    hd_buf_free(&n);
    return true;
}

static bool emit_trilu(op_emit *e)
{
    if (ir_value_numel(em_in(e, 0)) == 0)
        return true;
    shape_trilu_view v;
    shape_trilu_view_of(e->g, e->node, &v);
    char k[32];
    if (v.k_at_run_time)
        snprintf(k, sizeof k, "in1[0]");
    else
        snprintf(k, sizeof k, "%" PRId64, v.k);
    em_for(e, "b", v.batch);
    em_for(e, "i", v.rows);
    em_for(e, "j", v.cols);
    em_line(e, "int64_t at = %s;", em_index(0, EM_TERMS({"b", v.rows * v.cols}, {"i", v.cols}, {"j", 1})).s);
    em_line(e, "out0[at] = (j - i %s %s) ? in0[at] : 0;", v.upper ? ">=" : "<=", k);
    em_close(e);
    em_close(e);
    em_close(e);
    return true;
}

static bool emit_eyelike(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    shape_eyelike_view v;
    shape_eyelike_view_of(e->g, e->node, &v);
    if (v.rows * v.cols == 0)
        return true;
    char *one = em_store(out->dtype, "1");
    em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
    em_for(e, "i", v.rows);
    em_line(e, "int64_t j = %s;", em_index(v.k, EM_TERMS({"i", 1})).s);
    em_line(e, "if (j >= 0 && j < %" PRId64 ") out0[%s] = %s;", v.cols,
            em_index(0, EM_TERMS({"i", v.cols}, {"j", 1})).s, one);
    em_close(e);
    free(one);
    return true;
}

static bool emit_onehot(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
    shape_onehot_view v;
    shape_onehot_view_of(e->g, e->node, &v);
    const ir_value *dv = em_in(e, 1);
    if (dv->kind != IR_VALUE_CONST) {
        /* depth given at run time: it must be the declared one (a float
         * depth truncates to it) */
        e->can_fail = true;
        if (ir_dtype_is_float(dv->dtype)) {
            char *d = em_load(dv->dtype, "in1[0]");
            em_line(e, "const double depth = (double)%s;", d);
            em_line(e, "if (!(depth >= %" PRId64 ".0 && depth < %" PRId64 ".0)) return 1;", v.depth, v.depth + 1);
            free(d);
        } else {
            em_line(e, "if ((int64_t)in1[0] != %" PRId64 ") return 1;", v.depth);
        }
    }
    em_for(e, "i", ir_value_numel(out));
    em_line(e, "out0[i] = in2[0];");
    em_close(e);
    em_for(e, "o", v.outer);
    em_for(e, "n", v.inner);
    em_line(e, "double raw = (double)in0[%s];", em_index(0, EM_TERMS({"o", v.inner}, {"n", 1})).s);
    em_line(e, "int64_t k = (int64_t)raw;");
    em_line(e, "if (k < 0) k += %" PRId64 ";", v.depth);
    em_line(e, "if (k >= 0 && k < %" PRId64 ") out0[%s] = in2[1];", v.depth,
            em_index(0, EM_TERMS({"o", v.depth * v.inner}, {"k", v.inner}, {"n", 1})).s);
    em_close(e);
    em_close(e);
    return true;
}

void native_register_shape(native_lowering *table)
{
    static const int copies[] = {OP_IDENTITY, OP_OPTIONAL_GET_ELEMENT};
    static const int folded[] = {OP_CONSTANT, OP_OPTIONAL_HAS_ELEMENT};
    for (size_t i = 0; i < HD_ARRAY_LEN(copies); i++)
        table[copies[i]] = (native_lowering){.emit = emit_copy};
    table[OP_SHAPE] = (native_lowering){.emit = emit_shape};
    table[OP_SIZE] = (native_lowering){.emit = emit_shape};
    table[OP_RESHAPE] = (native_lowering){.emit = emit_reshape, .emit_rt = em_copy_rt};
    table[OP_SQUEEZE] = (native_lowering){.emit = emit_squeeze_unsqueeze, .emit_rt = em_copy_rt};
    table[OP_UNSQUEEZE] = (native_lowering){.emit = emit_squeeze_unsqueeze, .emit_rt = em_copy_rt};
    for (size_t i = 0; i < HD_ARRAY_LEN(folded); i++)
        table[folded[i]] = (native_lowering){.emit = emit_unreachable};
    table[OP_RANGE] = (native_lowering){.emit = emit_range, .emit_rt = emit_range_rt};
    table[OP_TRANSPOSE] = (native_lowering){.emit = emit_transpose, .emit_rt = emit_transpose_rt};
    table[OP_SLICE] = (native_lowering){.emit = emit_slice, .emit_rt = emit_slice_rt};
    table[OP_EXPAND] = (native_lowering){.emit = emit_expand, .emit_rt = emit_expand_rt};
    table[OP_CONCAT] = (native_lowering){.emit = emit_concat, .emit_rt = emit_concat_rt};
    table[OP_SPLIT] = (native_lowering){.emit = emit_split, .emit_rt = emit_split_rt};
    table[OP_GATHER] = (native_lowering){.emit = emit_gather, .emit_rt = emit_gather_rt};
    table[OP_GATHER_ELEMENTS] = (native_lowering){.emit = emit_gather_elements, .emit_rt = emit_gather_elements_rt};
    table[OP_TILE] = (native_lowering){.emit = emit_tile};
    table[OP_PAD] = (native_lowering){.emit = emit_pad, .emit_rt = emit_pad_rt};
    table[OP_CONSTANT_OF_SHAPE] =
        (native_lowering){.emit = emit_constant_of_shape, .emit_rt = emit_constant_of_shape_rt};
    table[OP_TRILU] = (native_lowering){.emit = emit_trilu};
    table[OP_EYE_LIKE] = (native_lowering){.emit = emit_eyelike};
    table[OP_ONE_HOT] = (native_lowering){.emit = emit_onehot};
    table[OP_DEPTH_TO_SPACE] = (native_lowering){.emit = emit_d2s};
    table[OP_SPACE_TO_DEPTH] = (native_lowering){.emit = emit_d2s};
    table[OP_SCATTER_ELEMENTS] = (native_lowering){.emit = emit_scatter_elements, .emit_rt = emit_scatter_elements_rt};
    table[OP_SCATTER] = (native_lowering){.emit = emit_scatter_elements};
    table[OP_SCATTER_ND] = (native_lowering){.emit = emit_scatter_nd};
    table[OP_GATHER_ND] = (native_lowering){.emit = emit_gather_nd};
}
