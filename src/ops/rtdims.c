/*
 * ops/rtdims.c - run-time dims (ir_dim.rt): which ops compute on them, and
 * how their shapes follow.
 *
 * A run-time dim is a leading ("batch-like") dim that an op computes over
 * independently: element i of the output's leading dims depends only on
 * element i of the same dims of its inputs.  Such an op is planned and
 * lowered for one slice, the value with every run-time dim set to 1 (the
 * view, op_rt_view_enter), and the generated code runs that slice once per
 * index of the run-time dims.  So every op that has a lead map below works
 * with run-time dims without a second kernel, and its static fast path is
 * the one that runs.
 *
 * op_rt_lead is the op's side of it: how many leading output dims the op
 * computes independently, and where each input's dims sit among them.
 * op_rt_infer does shape inference through the view and checks that the
 * run-time dims stay leading, agree between operands, and come out of the
 * slice as 1s.  Ops without a lead map, or run-time dims elsewhere, are
 * build errors that name the node and the dim.
 *
 * Shapes computed from run-time dims (Shape, then Gather, Concat, ...)
 * carry their elements as ir_dimvals, so a Reshape or Expand to such a
 * shape still knows its result at build time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "reduce.h"

/* --- lead maps ---------------------------------------------------------- */

/* Input `input` of the node: out position of its dim i is i + *shift for
 * i < *part; dims from *part on take no part in the leading dims (they must
 * not be run-time dims).  *bcast: a static 1 of this input may broadcast
 * against a run-time dim.  *shape_op: the input is a shape whose element k
 * is the output's dim k (Reshape, Expand, ConstantOfShape). */
typedef struct rt_in_map {
    int shift, part;
    bool bcast, shape_op;
} rt_in_map;

static int out_rank(const ir_graph *g, const ir_node *n)
{
    return n->n_outputs && n->outputs[0] >= 0 ? g->values[n->outputs[0]].rank : 0;
}

static int in_rank(const ir_graph *g, const ir_node *n, size_t i)
{
    return i < n->n_inputs && n->inputs[i] >= 0 ? g->values[n->inputs[i]].rank : 0;
}

/* A normalised axis attribute, or `fallback` when absent; -1 when out of
 * range. */
static int norm_axis(const ir_node *n, const char *name, int64_t fallback, int rank)
{
    int64_t a = ir_attr_int(n, name, fallback);
    if (a < 0)
        a += rank;
    return a >= 0 && a <= rank ? (int)a : -1;
}

/* The smallest of the axes in attribute `name` or constant input `input`
 * (normalised against rank); 0 when neither gives any, or they come at
 * run time. */
static int min_axis(const ir_graph *g, const ir_node *n, const char *name, size_t input, int rank)
{
    int64_t axes[HODU_MAX_RANK];
    long k = -1;
    size_t count = 0;
    const int64_t *attr = ir_attr_ints(n, name, &count);
    if (attr && count <= HODU_MAX_RANK) {
        memcpy(axes, attr, count * sizeof(int64_t));
        k = (long)count;
    } else if (!attr && input < n->n_inputs && n->inputs[input] >= 0) {
        k = ir_const_as_i64(g, n->inputs[input], axes, HODU_MAX_RANK);
        if (k < 0)
            return 0; /* axes known only at run time: no leading dims */
    }
    if (k <= 0)
        return 0;
    int lo = rank;
    for (long i = 0; i < k; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a > rank)
            return 0;
        if (a < lo)
            lo = (int)a;
    }
    return lo;
}

/* True when input j of the node is a shape whose element k is the output's
 * dim k: only these take ir_dimvals as build-time shapes. */
static bool is_shape_operand(const ir_node *n, size_t j)
{
    return ((n->op == OP_RESHAPE || n->op == OP_EXPAND) && j == 1) || (n->op == OP_CONSTANT_OF_SHAPE && j == 0);
}

/* The lead map of live node `node`, whose outputs are inferred: returns L,
 * the count of leading output dims the op computes independently, and
 * fills m[j] for each input; -1 when the op does not compute on run-time
 * dims. */
static int op_rt_lead(const ir_graph *g, int node, rt_in_map *m)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    int r = out_rank(g, n), r0 = in_rank(g, n, 0);
    for (size_t j = 0; j < n->n_inputs; j++)
        m[j] = (rt_in_map){0, 0, false, false};
    if (!def || ir_node_has_subgraphs(n))
        return -1;
    /* The common shapes: the data input lines up with the output's dims. */
    rt_in_map first = {0, r0, false, false};
    if (def->family == OP_FAMILY_ELEMENTWISE) {
        for (size_t j = 0; j < n->n_inputs; j++) {
            int rj = in_rank(g, n, j);
            m[j] = (rt_in_map){r - rj, rj, true, false};
        }
        return r;
    }
    switch (n->op) {
    case OP_IDENTITY:
    case OP_TRILU: m[0] = first; return n->op == OP_TRILU ? r - 2 : r;
    case OP_CONV:
    case OP_CONV_TRANSPOSE:
    case OP_CONV_INTEGER:
    case OP_QLINEAR_CONV:
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL:
    case OP_LP_POOL:
    case OP_GLOBAL_AVERAGE_POOL:
    case OP_GLOBAL_MAX_POOL:
    case OP_GLOBAL_LP_POOL:
    case OP_INSTANCE_NORMALIZATION:
    case OP_GROUP_NORMALIZATION:
    case OP_DEPTH_TO_SPACE:
    case OP_SPACE_TO_DEPTH:
    case OP_LRN: m[0] = first; return 1;
    case OP_BATCH_NORMALIZATION:
        if (ir_attr_int(n, "training_mode", 0) != 0)
            return -1;
        m[0] = first;
        return 1;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_HARDMAX:
    case OP_LAYER_NORMALIZATION:
    case OP_RMS_NORMALIZATION:
    case OP_LP_NORMALIZATION:
    case OP_ARG_MAX:
    case OP_ARG_MIN:
    case OP_TOP_K:
    case OP_CONCAT:
    case OP_SPLIT:
    case OP_GATHER_ELEMENTS: {
        bool softmax = n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX || n->op == OP_HARDMAX;
        int64_t fallback = softmax ? (g->opset >= 13 ? -1 : 1) : n->op == OP_LP_NORMALIZATION ? -1 : 0;
        if (n->op == OP_LAYER_NORMALIZATION || n->op == OP_RMS_NORMALIZATION || n->op == OP_TOP_K)
            fallback = -1;
        int a = norm_axis(n, "axis", fallback, r0);
        if (a < 0)
            return -1;
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->op == OP_CONCAT || (n->op == OP_GATHER_ELEMENTS && j == 1))
                m[j] = (rt_in_map){0, in_rank(g, n, j), false, false};
        m[0] = first;
        return a;
    }
    case OP_REDUCE_SUM:
    case OP_REDUCE_MEAN:
    case OP_REDUCE_MAX:
    case OP_REDUCE_MIN:
    case OP_REDUCE_PROD:
    case OP_REDUCE_L1:
    case OP_REDUCE_L2:
    case OP_REDUCE_LOG_SUM:
    case OP_REDUCE_LOG_SUM_EXP:
    case OP_REDUCE_SUM_SQUARE: { /* the dims before the first reduced one */
        reduce_plan rp;
        reduce_axes_choice ch;
        m[0] = first;
        if (reduce_runtime_axes(g, node, &ch) || !reduce_plan_of(g, node, &rp))
            return 0; /* axes known only when the model runs: none */
        int lead = 0;
        while (lead < r0 && !rp.identity && !rp.mask[lead])
            lead++;
        return lead;
    }
    case OP_MEAN_VARIANCE_NORMALIZATION: m[0] = first; return min_axis(g, n, "axes", (size_t)-1, r0);
    case OP_CUM_SUM:
    case OP_CUM_PROD: {
        int64_t a;
        if (n->n_inputs < 2 || ir_const_as_i64(g, n->inputs[1], &a, 1) != 1)
            return 0;
        m[0] = first;
        return (int)(a < 0 ? a + r0 : a);
    }
    case OP_MATMUL: {
        int ra = r0, rb = in_rank(g, n, 1);
        if (ra < 2 && rb < 2)
            return 0;
        m[0] = (rt_in_map){r - ra, ra >= 2 ? ra - 1 : 0, true, false};
        m[1] = (rt_in_map){r - rb, rb >= 2 ? rb - 2 : 0, true, false};
        return rb >= 2 ? r - 1 : r;
    }
    case OP_GEMM:
        if (ir_attr_int(n, "transA", 0) != 0)
            return 0;
        m[0] = (rt_in_map){0, 1, false, false};
        if (in_rank(g, n, 2) == 2)
            m[2] = (rt_in_map){0, 1, true, false};
        return 1;
    case OP_FLATTEN: m[0] = (rt_in_map){0, 1, false, false}; return norm_axis(n, "axis", 1, r0) >= 1 ? 1 : 0;
    case OP_RESHAPE:
    case OP_EXPAND:
        m[0] = n->op == OP_RESHAPE ? first : (rt_in_map){r - r0, r0, true, false};
        m[1] = (rt_in_map){0, 0, false, is_shape_operand(n, 1)};
        return r;
    case OP_CONSTANT_OF_SHAPE: m[0] = (rt_in_map){0, 0, false, is_shape_operand(n, 0)}; return r;
    case OP_SQUEEZE: m[0] = first; return min_axis(g, n, "axes", 1, r0);
    case OP_UNSQUEEZE: m[0] = first; return min_axis(g, n, "axes", 1, r);
    case OP_SLICE: { /* axes absent: every axis from 0 */
        int lead = min_axis(g, n, "axes", 3, r0);
        m[0] = first;
        return lead < r0 ? lead : 0;
    }
    case OP_TRANSPOSE: {
        size_t k = 0;
        const int64_t *perm = ir_attr_ints(n, "perm", &k);
        int lead = 0;
        while (perm && lead < (int)k && perm[lead] == lead)
            lead++;
        m[0] = first;
        return lead;
    }
    case OP_GATHER: {
        int a = norm_axis(n, "axis", 0, r0), q = in_rank(g, n, 1);
        if (a < 0)
            return -1;
        m[0] = (rt_in_map){0, a, false, false};
        m[1] = (rt_in_map){a, q, false, false};
        return a + q;
    }
    case OP_TILE:
    case OP_PAD:
        /* The view's check catches a repeat or pad along a run-time dim:
         * its slice would not be one element long. */
        m[0] = first;
        return r;
    case OP_QUANTIZE_LINEAR_10:
    case OP_QUANTIZE_LINEAR_13:
    case OP_QUANTIZE_LINEAR_19:
    case OP_QUANTIZE_LINEAR_21:
    case OP_QUANTIZE_LINEAR_23:
    case OP_QUANTIZE_LINEAR_24:
    case OP_QUANTIZE_LINEAR_25:
    case OP_DEQUANTIZE_LINEAR_10:
    case OP_DEQUANTIZE_LINEAR_13:
    case OP_DEQUANTIZE_LINEAR_19:
    case OP_DEQUANTIZE_LINEAR_21:
    case OP_DEQUANTIZE_LINEAR_23:
    case OP_DEQUANTIZE_LINEAR_24:
    case OP_DEQUANTIZE_LINEAR_25: {
        /* per tensor: elementwise; per axis: independent before the axis;
         * blocked: the block runs along the axis, so the same */
        const ir_value *scale = n->n_inputs > 1 && n->inputs[1] >= 0 ? ir_val(g, n->inputs[1]) : NULL;
        m[0] = first;
        if (!scale || ir_value_numel(scale) == 1)
            return r;
        return norm_axis(n, "axis", 1, r0) < 0 ? 0 : norm_axis(n, "axis", 1, r0);
    }
    case OP_ATTENTION:
    case OP_FLEX_ATTENTION:
    case OP_ROTARY_EMBEDDING:
        /* the batch: Q, K, V, the past, position ids and nonpad lengths
         * have it first; a 4-D mask may broadcast it; RotaryEmbedding's
         * caches have it only without position ids ([B, S, R/2]) */
        for (size_t j = 0; j < n->n_inputs; j++) {
            int rj = in_rank(g, n, j);
            bool positions = n->n_inputs > 3 && n->inputs[3] >= 0;
            bool cache = n->op == OP_ROTARY_EMBEDDING && (j == 1 || j == 2) && positions;
            bool mask = n->op == OP_ATTENTION && j == 3;
            if (cache || (mask && rj < 4))
                continue;
            m[j] = (rt_in_map){0, rj > 0 ? 1 : 0, mask, false};
        }
        return 1;
    case OP_RESIZE: {
        double s[HODU_MAX_RANK];
        if (n->n_inputs < 3 || n->inputs[2] < 0 || ir_const_as_f64(g, n->inputs[2], s, HODU_MAX_RANK) < 1 ||
            s[0] != 1.0)
            return 0;
        m[0] = first;
        return 1;
    }
    default: return -1;
    }
}

/* --- the view ------------------------------------------------------------- */

/* Records value `id` as it is (once); returns its record. */
static op_rt_saved *save(op_rt_view *v, ir_graph *g, int id)
{
    ir_value *val = ir_val(g, id);
    for (size_t i = 0; i < v->n; i++)
        if (v->saved[i].g == g && v->saved[i].id == id)
            return &v->saved[i];
    op_rt_saved s = {g, id, {{0}}, val->kind, val->data, val->nbytes, NULL};
    memcpy(s.dims, val->dims, sizeof(s.dims));
    HD_PUSH(v->saved, v->n, v->cap, s);
    return &v->saved[v->n - 1];
}

/* Run-time dims of value `id` become static 1s (or, whole, static at the
 * top of their range). */
static void flatten_value(op_rt_view *v, ir_graph *g, int id, bool whole)
{
    ir_value *val = ir_val(g, id);
    if (!ir_value_has_rt(val))
        return;
    save(v, g, id);
    for (int i = 0; i < val->rank; i++)
        if (val->dims[i].rt) {
            val->dims[i].size = whole ? val->dims[i].size : 1;
            val->dims[i].rt = false;
        }
}

void op_rt_view_enter(ir_graph *g, int node, op_rt_view *v, bool whole)
{
    memset(v, 0, sizeof(*v));
    ir_node *n = ir_nd(g, node);
    for (size_t j = 0; j < n->n_inputs; j++) {
        int id = n->inputs[j];
        if (id < 0)
            continue;
        ir_value *val = ir_val(g, id);
        flatten_value(v, g, id, whole);
        if (!whole && val->dimvals && val->kind != IR_VALUE_CONST && val->dtype == HODU_DTYPE_I64 &&
            is_shape_operand(n, j)) {
            /* A shape from run-time dims: its slice has 1 there.  Any
             * other op sees the value as what it is, a run-time value. */
            int64_t *data = hd_xmalloc(sizeof(int64_t) * HODU_MAX_RANK);
            save(v, g, id)->owned = data;
            for (int i = 0; i < val->dimvals->n; i++)
                data[i] = val->dimvals->sym[i] ? 1 : val->dimvals->val[i];
            val->kind = IR_VALUE_CONST;
            val->data = data;
            val->nbytes = (size_t)val->dimvals->n * sizeof(int64_t);
        }
    }
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0)
            flatten_value(v, g, n->outputs[j], whole);
    if (n->body)
        for (size_t k = 0; k < n->body->n_values; k++)
            flatten_value(v, n->body, (int)k, whole);
}

void op_rt_view_leave(op_rt_view *v)
{
    for (size_t i = v->n; i-- > 0;) {
        ir_value *val = ir_val(v->saved[i].g, v->saved[i].id);
        memcpy(val->dims, v->saved[i].dims, sizeof(val->dims));
        val->kind = v->saved[i].kind;
        val->data = v->saved[i].data;
        val->nbytes = v->saved[i].nbytes;
        free(v->saved[i].owned);
    }
    free(v->saved);
    memset(v, 0, sizeof(*v));
}

/* --- inference ------------------------------------------------------------ */

bool op_rt_touches(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    for (size_t j = 0; j < n->n_inputs; j++) {
        const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
        if (v && (ir_value_has_rt(v) || (v->dimvals && v->kind != IR_VALUE_CONST)))
            return true;
    }
    return false;
}

/* Shape and Size of a value with run-time dims: the dims Shape reads
 * become ir_dimvals; Size is computed when the model runs. */
static bool infer_shape_of(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *in = op_in(c, 0);
    if (n->op == OP_SIZE) { /* a number the run computes (no dim: a product) */
        op_set_out(c, 0, HODU_DTYPE_I64, 0, NULL);
        return true;
    }
    int start, end;
    op_shape_range(n, in->rank, &start, &end);
    bool any = false;
    for (int i = start; i < end; i++)
        any = any || in->dims[i].rt;
    if (!any) /* only fixed dims: the usual constant */
        return op_get(n->op)->infer(c);
    int64_t len = end - start;
    op_set_out(c, 0, HODU_DTYPE_I64, 1, &len);
    ir_dimvals *dv = ir_graph_keep(c->g, hd_xcalloc(1, sizeof(*dv)));
    dv->n = (int)len;
    for (int i = start; i < end; i++) {
        dv->val[i - start] = in->dims[i].size;
        dv->sym[i - start] = in->dims[i].rt ? in->dims[i].sym : NULL;
    }
    op_out(c, 0)->dimvals = dv;
    return true;
}

static const char *dim_text(const ir_dim *d, char *buf, size_t len)
{
    if (d->rt)
        return d->sym;
    snprintf(buf, len, "%" PRId64, d->size);
    return buf;
}

bool op_rt_infer(op_ctx *c)
{
    ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    if (n->op == OP_SHAPE || n->op == OP_SIZE)
        return infer_shape_of(c);
    const op_def *def = op_get(n->op);
    op_rt_view view;
    op_rt_view_enter(g, c->node, &view, false);
    bool ok = def->infer(c);
    /* What the slice's outputs are, before the run-time dims go back. */
    int n_out = (int)n->n_outputs;
    ir_dim(*slice)[HODU_MAX_RANK] = hd_xcalloc(n_out ? (size_t)n_out : 1, sizeof(*slice));
    for (int j = 0; j < n_out; j++)
        if (n->outputs[j] >= 0)
            memcpy(slice[j], ir_val(g, n->outputs[j])->dims, sizeof(slice[j]));
    op_rt_view_leave(&view);
    if (!ok) {
        free(slice);
        return false;
    }

    size_t n_in = n->n_inputs ? n->n_inputs : 1;
    rt_in_map *m = hd_xcalloc(n_in, sizeof(*m));
    int lead = op_rt_lead(g, c->node, m);
    const char *syms[HODU_MAX_RANK] = {0};
    int p = 0;
    char b1[32], b2[32];
    for (size_t j = 0; ok && j < n->n_inputs; j++) {
        const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
        if (!v)
            continue;
        if (m[j].shape_op && v->dimvals) {
            for (int k = 0; k < v->dimvals->n && ok; k++) {
                const char *s = v->dimvals->sym[k];
                if (!s)
                    continue;
                if (k >= lead || (syms[k] && strcmp(syms[k], s) != 0))
                    ok = op_fail(c,
                                 "its shape operand '%s' has the run-time dim '%s' at %d, which this op cannot "
                                 "take there (run-time dims must be leading dims the op computes over "
                                 "independently)",
                                 v->name, s, k);
                syms[k] = s;
                if (k + 1 > p)
                    p = k + 1;
            }
            continue;
        }
        for (int i = 0; i < v->rank && ok; i++) {
            if (!v->dims[i].rt)
                continue;
            int o = i + m[j].shift;
            if (lead < 0)
                ok = op_fail(c,
                             "input '%s' has the run-time dim '%s' (dim %d); %s does not compute on run-time dims "
                             "yet: bind it with --dim %s=N",
                             v->name, v->dims[i].sym, i, def->name, v->dims[i].sym);
            else if (i >= m[j].part || o < 0 || o >= lead)
                ok = op_fail(c,
                             "input '%s' has the run-time dim '%s' at dim %d, where %s does not compute "
                             "independently (run-time dims must be leading dims: a batch, not an axis the op "
                             "reduces, moves or mixes); bind it with --dim %s=N",
                             v->name, v->dims[i].sym, i, def->name, v->dims[i].sym);
            else if (syms[o] && strcmp(syms[o], v->dims[i].sym) != 0)
                ok = op_fail(c,
                             "input '%s' dim %d is the run-time dim '%s' where another operand has '%s'; they "
                             "would have to be equal",
                             v->name, i, v->dims[i].sym, syms[o]);
            if (ok) {
                syms[o] = v->dims[i].sym;
                if (o + 1 > p)
                    p = o + 1;
            }
        }
    }
    /* Leading means leading: no fixed dim before a run-time one, and each
     * symbol once (the generated code loops over each). */
    for (int o = 0; ok && o < p; o++) {
        if (!syms[o])
            ok = op_fail(c,
                         "output dim %d comes before a run-time dim but is fixed; run-time dims must be the "
                         "leading dims of a value",
                         o);
        for (int q = 0; ok && q < o; q++)
            if (strcmp(syms[q], syms[o]) == 0)
                ok = op_fail(c, "the run-time dim '%s' appears twice among its leading dims", syms[o]);
    }
    /* Operands that take part in a run-time dim's position must have it
     * there, or (broadcasting ops) a 1. */
    for (size_t j = 0; ok && j < n->n_inputs; j++) {
        const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
        if (!v || m[j].shape_op)
            continue;
        for (int i = 0; i < v->rank && i < m[j].part && ok; i++) {
            int o = i + m[j].shift;
            if (o < 0 || o >= p || v->dims[i].rt)
                continue;
            if (!(m[j].bcast && v->dims[i].size == 1))
                ok = op_fail(c,
                             "input '%s' dim %d is %s where the other operands have the run-time dim '%s'; it "
                             "would have to be '%s'%s",
                             v->name, i, dim_text(&v->dims[i], b1, sizeof(b1)), syms[o], syms[o],
                             m[j].bcast ? " or 1" : "");
        }
    }
    for (int j = 0; ok && j < n_out; j++) {
        ir_value *out = n->outputs[j] >= 0 ? ir_val(g, n->outputs[j]) : NULL;
        if (!out)
            continue;
        if (out->rank < p) {
            ok = op_fail(c, "output '%s' would lose the run-time dim '%s'", out->name, syms[out->rank]);
            break;
        }
        for (int o = 0; o < p && ok; o++) {
            if (slice[j][o].size != 1 || slice[j][o].rt)
                ok = op_fail(c,
                             "output '%s' dim %d would be %s times '%s', not '%s'; the op does not keep the "
                             "run-time dim as a leading dim",
                             out->name, o, dim_text(&slice[j][o], b2, sizeof(b2)), syms[o], syms[o]);
        }
        for (int o = 0; o < p && ok; o++) {
            int64_t lo, hi;
            if (!ir_graph_symbol_range(g, syms[o], &lo, &hi)) {
                ok = op_fail(c, "internal error: run-time dim '%s' has no range", syms[o]);
                break;
            }
            out->dims[o] = (ir_dim){.size = hi, .sym = syms[o], .rt = true};
        }
    }
    free(m);
    free(slice);
    return ok;
}

int op_rt_slice_dims(const ir_graph *g, int node, const char **syms)
{
    const ir_node *n = ir_nd(g, node);
    int p = 0;
    for (size_t j = 0; j < n->n_outputs; j++) {
        const ir_value *v = n->outputs[j] >= 0 ? ir_val(g, n->outputs[j]) : NULL;
        for (int i = 0; v && i < v->rank && v->dims[i].rt; i++) {
            syms[i] = v->dims[i].sym;
            if (i + 1 > p)
                p = i + 1;
        }
    }
    return p;
}

/* --- dims as values ------------------------------------------------------- */

/* The elements of input i as dims: its ir_dimvals, or a small integer
 * constant's numbers.  False when it is neither. */
static bool elems_of(const op_ctx *c, size_t i, ir_dimvals *out)
{
    const ir_node *n = op_node(c);
    if (i >= n->n_inputs || n->inputs[i] < 0)
        return false;
    const ir_value *v = ir_val(c->g, n->inputs[i]);
    if (v->kind == IR_VALUE_CONST) {
        memset(out, 0, sizeof(*out));
        long k = ir_const_as_i64(c->g, n->inputs[i], out->val, HODU_MAX_RANK);
        out->n = (int)k;
        return k >= 0;
    }
    if (!v->dimvals)
        return false;
    *out = *v->dimvals;
    return true;
}

/* Element i of x, broadcasting a single element. */
static void elem_at(const ir_dimvals *x, int i, int64_t *val, const char **sym)
{
    int k = x->n == 1 ? 0 : i;
    *val = x->val[k];
    *sym = x->sym[k];
}

/* Equal of two shapes, when every element is known at build time: a
 * run-time dim is never negative, and equals itself.  Gives the bool
 * constant, or nothing. */
static void equal_dims(op_ctx *c, ir_value *out)
{
    ir_dimvals a, b;
    long n = ir_value_numel(out);
    if (!elems_of(c, 0, &a) || !elems_of(c, 1, &b) || (a.n != n && a.n != 1) || (b.n != n && b.n != 1))
        return;
    uint8_t eq[HODU_MAX_RANK];
    for (long i = 0; i < n; i++) {
        int64_t va, vb;
        const char *sa, *sb;
        elem_at(&a, (int)i, &va, &sa);
        elem_at(&b, (int)i, &vb, &sb);
        if (!sa && !sb)
            eq[i] = va == vb;
        else if (sa && sb && strcmp(sa, sb) == 0)
            eq[i] = 1;
        else if ((sa && !sb && vb < 0) || (sb && !sa && va < 0))
            eq[i] = 0;
        else
            return; /* depends on the run */
    }
    uint8_t *dst = op_fold_alloc(c, 0);
    memcpy(dst, eq, (size_t)n);
}

void op_rt_dimvals(op_ctx *c)
{
    const ir_node *n = op_node(c);
    ir_value *out = op_out(c, 0);
    if (!out || out->kind == IR_VALUE_CONST || n->n_outputs != 1 || ir_value_numel(out) > HODU_MAX_RANK ||
        ir_value_numel(out) < 0 || out->rank > 1)
        return;
    bool any = false;
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && ir_val(c->g, n->inputs[j])->dimvals &&
            ir_val(c->g, n->inputs[j])->kind != IR_VALUE_CONST)
            any = true;
    if (!any)
        return;
    if (n->op == OP_EQUAL && out->dtype == HODU_DTYPE_BOOL) {
        equal_dims(c, out);
        return;
    }
    if (out->dtype != HODU_DTYPE_I64 && out->dtype != HODU_DTYPE_I32)
        return;
    ir_dimvals r = {0}, a;
    switch (n->op) {
    case OP_WHERE: { /* a known condition picks between two shapes */
        ir_dimvals cond, x, y;
        if (!elems_of(c, 0, &cond) || !elems_of(c, 1, &x) || !elems_of(c, 2, &y))
            return;
        r.n = (int)ir_value_numel(out);
        for (int i = 0; i < r.n; i++) {
            int64_t cv;
            const char *cs;
            elem_at(&cond, i, &cv, &cs);
            if (cs || (cond.n != r.n && cond.n != 1) || (x.n != r.n && x.n != 1) || (y.n != r.n && y.n != 1))
                return;
            elem_at(cv ? &x : &y, i, &r.val[i], &r.sym[i]);
        }
        break;
    }
    case OP_IDENTITY:
    case OP_CAST:
    case OP_RESHAPE:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
        if (!elems_of(c, 0, &r))
            return;
        break;
    case OP_CONCAT:
        for (size_t j = 0; j < n->n_inputs; j++) {
            if (!elems_of(c, j, &a) || r.n + a.n > HODU_MAX_RANK)
                return;
            memcpy(r.val + r.n, a.val, (size_t)a.n * sizeof(int64_t));
            memcpy(r.sym + r.n, a.sym, (size_t)a.n * sizeof(char *));
            r.n += a.n;
        }
        break;
    case OP_GATHER: {
        int64_t idx[HODU_MAX_RANK];
        long k = n->n_inputs > 1 ? ir_const_as_i64(c->g, n->inputs[1], idx, HODU_MAX_RANK) : -1;
        if (!elems_of(c, 0, &a) || k < 0 || ir_attr_int(n, "axis", 0) != 0)
            return;
        for (long i = 0; i < k; i++) {
            int64_t at = idx[i] < 0 ? idx[i] + a.n : idx[i];
            if (at < 0 || at >= a.n)
                return;
            r.val[i] = a.val[at];
            r.sym[i] = a.sym[at];
        }
        r.n = (int)k;
        break;
    }
    case OP_SLICE: {
        int64_t st, en, ax = 0, step = 1;
        if (!elems_of(c, 0, &a) || n->n_inputs < 3 || ir_const_as_i64(c->g, n->inputs[1], &st, 1) != 1 ||
            ir_const_as_i64(c->g, n->inputs[2], &en, 1) != 1)
            return;
        if (n->n_inputs > 3 && n->inputs[3] >= 0 && ir_const_as_i64(c->g, n->inputs[3], &ax, 1) != 1)
            return;
        if (n->n_inputs > 4 && n->inputs[4] >= 0 && ir_const_as_i64(c->g, n->inputs[4], &step, 1) != 1)
            return;
        if ((ax != 0 && ax != -1) || step != 1)
            return;
        st = st < 0 ? st + a.n : st;
        en = en < 0 ? en + a.n : en;
        st = st < 0 ? 0 : st > a.n ? a.n : st;
        en = en < st ? st : en > a.n ? a.n : en;
        for (int64_t i = st; i < en; i++) {
            r.val[i - st] = a.val[i];
            r.sym[i - st] = a.sym[i];
        }
        r.n = (int)(en - st);
        break;
    }
    default: return;
    }
    if (r.n != ir_value_numel(out))
        return;
    bool has_sym = false;
    for (int i = 0; i < r.n; i++)
        has_sym = has_sym || r.sym[i];
    if (!has_sym) { /* every element known: a constant after all */
        void *dst = op_fold_alloc(c, 0);
        for (int i = 0; i < r.n; i++) {
            if (out->dtype == HODU_DTYPE_I32)
                ((int32_t *)dst)[i] = (int32_t)r.val[i];
            else
                ((int64_t *)dst)[i] = r.val[i];
        }
        return;
    }
    ir_dimvals *dv = ir_graph_keep(c->g, hd_xcalloc(1, sizeof(*dv)));
    *dv = r;
    out->dimvals = dv;
}
