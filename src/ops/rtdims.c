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
 * slice as 1s.  Where that fails, an op with a rule below ("the general
 * path") is lowered with its sizes read at run time instead; anything
 * else is a build error that names the node and the dim.
 *
 * Shapes computed from run-time dims (Shape, then Gather, Concat, ...)
 * carry their elements as ir_dimvals, so a Reshape or Expand to such a
 * shape still knows its result at build time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "ops.h"
#include "pool.h"
#include "reduce.h"
#include "shape.h"

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

/* The output's rank; when inference did not get to set it, the largest
 * input's (an elementwise op's, as numpy broadcasts). */
static int out_rank(const ir_graph *g, const ir_node *n)
{
    int r = n->n_outputs && n->outputs[0] >= 0 ? g->values[n->outputs[0]].rank : 0;
    for (size_t j = 0; r < 0 && j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && g->values[n->inputs[j]].rank > r)
            r = g->values[n->inputs[j]].rank;
    return r < 0 ? 0 : r;
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

/* The axes in attribute `name` or constant input `input`, as written:
 * their count (0 when neither gives any), or -1 when they come at run time
 * or are too many. */
static long read_axes(const ir_graph *g, const ir_node *n, const char *name, size_t input, int64_t *axes)
{
    size_t count = 0;
    const int64_t *attr = ir_attr_ints(n, name, &count);
    if (attr) {
        if (count > HODU_MAX_RANK)
            return -1;
        memcpy(axes, attr, count * sizeof(int64_t));
        return (long)count;
    }
    if (input < n->n_inputs && n->inputs[input] >= 0)
        return ir_const_as_i64(g, n->inputs[input], axes, HODU_MAX_RANK);
    return 0;
}

/* The smallest of the axes in attribute `name` or constant input `input`
 * (normalised against rank); 0 when neither gives any, or they come at
 * run time (then there are no leading dims). */
static int min_axis(const ir_graph *g, const ir_node *n, const char *name, size_t input, int rank)
{
    int64_t axes[HODU_MAX_RANK];
    long k = read_axes(g, n, name, input, axes);
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
static bool is_reduce(int op)
{
    switch (op) {
    case OP_REDUCE_SUM:
    case OP_REDUCE_MEAN:
    case OP_REDUCE_MAX:
    case OP_REDUCE_MIN:
    case OP_REDUCE_PROD:
    case OP_REDUCE_L1:
    case OP_REDUCE_L2:
    case OP_REDUCE_LOG_SUM:
    case OP_REDUCE_LOG_SUM_EXP:
    case OP_REDUCE_SUM_SQUARE: return true;
    default: return false;
    }
}

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
    if (is_reduce(n->op)) { /* the dims before the first reduced one */
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
    case OP_CONV_BLOCKED:
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
    case OP_ROI_ALIGN_10:
    case OP_ROI_ALIGN: /* one region at a time: the rois' and batch indices' count */
        m[1] = (rt_in_map){0, 1, false, false};
        m[2] = (rt_in_map){0, 1, false, false};
        return 1;
    case OP_GATHER_ND: { /* the indices' dims but the last, data's batch dims among them */
        int q = in_rank(g, n, 1), b = (int)ir_attr_int(n, "batch_dims", 0);
        if (q < 1 || b < 0 || b >= q)
            return -1;
        m[0] = (rt_in_map){0, b, false, false};
        m[1] = (rt_in_map){0, q - 1, false, false};
        return q - 1;
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

/* What a user can do about run-time dim `sym` where an op cannot take it:
 * bind it, or, for a size the data decides (a data symbol), nothing but
 * know where it comes from. */
static void rt_fix_text(const ir_graph *g, const char *sym, char *buf, size_t len)
{
    int src = ir_graph_symbol_source(g, sym);
    if (src >= 0) {
        const ir_value *v = ir_val(g, src);
        const ir_node *p = v->producer >= 0 ? ir_nd(g, v->producer) : NULL;
        snprintf(buf, len, "its size is decided when the model runs, by node '%s' (%s)", p && p->name ? p->name : "?",
                 p ? op_get(p->op)->name : "?");
    } else if (ir_graph_symbol_is_data(g, sym)) {
        snprintf(buf, len, "its size follows from sizes decided when the model runs");
    } else {
        snprintf(buf, len, "bind it with --dim %s=N", sym);
    }
}

/* Inference for the slice: the node's run-time dims are leading dims it
 * computes over independently. */
static bool slice_infer(op_ctx *c)
{
    ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    const op_def *def = op_get(n->op);
    /* The op's inference on the slice, quietly: when run-time dims sit
     * where the op does not take them, the slice is not what the op sees,
     * and that (below) is the error to report. */
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    op_ctx quiet_c = {g, c->node, &quiet};
    op_rt_view view;
    op_rt_view_enter(g, c->node, &view, false);
    bool inferred = def->infer(&quiet_c);
    /* What the slice's outputs are, before the run-time dims go back. */
    int n_out = (int)n->n_outputs;
    ir_dim(*slice)[HODU_MAX_RANK] = hd_xcalloc(n_out ? (size_t)n_out : 1, sizeof(*slice));
    for (int j = 0; j < n_out; j++)
        if (n->outputs[j] >= 0)
            memcpy(slice[j], ir_val(g, n->outputs[j])->dims, sizeof(slice[j]));
    op_rt_view_leave(&view);
    hd_diag_free(&quiet);

    size_t n_in = n->n_inputs ? n->n_inputs : 1;
    rt_in_map *m = hd_xcalloc(n_in, sizeof(*m));
    int lead = op_rt_lead(g, c->node, m);
    const char *syms[HODU_MAX_RANK] = {0};
    int p = 0;
    char b1[32], b2[32];
    bool ok = true;
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
            char fix[512];
            if (lead < 0 || i >= m[j].part || o < 0 || o >= lead)
                rt_fix_text(g, v->dims[i].sym, fix, sizeof(fix));
            if (lead < 0)
                ok = op_fail(c,
                             "input '%s' has the run-time dim '%s' (dim %d); %s does not compute on run-time dims "
                             "yet: %s",
                             v->name, v->dims[i].sym, i, def->name, fix);
            else if (i >= m[j].part || o < 0 || o >= lead)
                ok = op_fail(c,
                             "input '%s' has the run-time dim '%s' at dim %d, where %s does not compute "
                             "independently (run-time dims must be leading dims: a batch, not an axis the op "
                             "reduces, moves or mixes); %s",
                             v->name, v->dims[i].sym, i, def->name, fix);
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
    if (ok && !inferred) { /* the placement holds: the op's own error, said aloud */
        op_rt_view_enter(g, c->node, &view, false);
        def->infer(c);
        op_rt_view_leave(&view);
        ok = false;
    }
    /* Leading means leading: no fixed dim other than 1 before a run-time
     * one (a 1 leaves the slices contiguous), and each symbol once (the
     * generated code loops over each). */
    for (int o = 0; ok && o < p; o++) {
        for (int j = 0; ok && !syms[o] && j < n_out; j++)
            if (n->outputs[j] >= 0 && (slice[j][o].size != 1 || slice[j][o].rt))
                ok = op_fail(c,
                             "output dim %d comes before a run-time dim but is fixed; run-time dims must be the "
                             "leading dims of a value",
                             o);
        for (int q = 0; ok && syms[o] && q < o; q++)
            if (syms[q] && strcmp(syms[q], syms[o]) == 0)
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
            if (o < 0 || o >= p || !syms[o] || v->dims[i].rt)
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
            int o = out->rank;
            while (!syms[o])
                o++;
            ok = op_fail(c, "output '%s' would lose the run-time dim '%s'", out->name, syms[o]);
            break;
        }
        for (int o = 0; o < p && ok; o++) {
            if (syms[o] && (slice[j][o].size != 1 || slice[j][o].rt))
                ok = op_fail(c,
                             "output '%s' dim %d would be %s times '%s', not '%s'; the op does not keep the "
                             "run-time dim as a leading dim",
                             out->name, o, dim_text(&slice[j][o], b2, sizeof(b2)), syms[o], syms[o]);
        }
        for (int o = 0; o < p && ok; o++) {
            int64_t lo, hi;
            if (!syms[o])
                continue;
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

/* --- the general path ------------------------------------------------------
 * A run-time dim the op moves, mixes or reduces over (a sequence length
 * inside attention: Transpose, the scores' MatMul, Softmax over keys) has no
 * slice.  The ops below have a rule saying where their outputs' run-time
 * dims come from; such a node is inferred at the top of the ranges (every
 * size check then holds for the largest case), its outputs take their
 * run-time dims by the rule, and it is marked ir_node.rt_general: a
 * backend lowers it with its sizes read when the model runs.  The slice
 * stays the first choice, since it runs the static kernel. */

static bool general_op(const ir_node *n)
{
    const op_def *def = op_get(n->op);
    if (!def || n->body || ir_node_has_subgraphs(n))
        return false;
    if (def->family == OP_FAMILY_ELEMENTWISE || is_reduce(n->op))
        return true;
    switch (n->op) {
    case OP_TRANSPOSE:
    case OP_MATMUL:
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
    case OP_FLATTEN:
    case OP_RESHAPE:
    case OP_SLICE:
    case OP_RANGE:
    case OP_GATHER:
    case OP_GATHER_ELEMENTS:
    case OP_EXPAND:
    case OP_CONSTANT_OF_SHAPE:
    case OP_CONCAT:
    case OP_RNN:
    case OP_GRU:
    case OP_LSTM:
    case OP_TOP_K:
    case OP_SPLIT:
    case OP_ROI_ALIGN_10:
    case OP_ROI_ALIGN:
    case OP_NON_MAX_SUPPRESSION:
    case OP_NON_ZERO:
    case OP_SCATTER_ELEMENTS:
    case OP_CONV:
    case OP_CONV_TRANSPOSE:
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL:
    case OP_LP_POOL:
    case OP_GLOBAL_AVERAGE_POOL:
    case OP_GLOBAL_MAX_POOL:
    case OP_GLOBAL_LP_POOL:
    case OP_RESIZE:
    case OP_UPSAMPLE:
    case OP_PAD: return true;
    case OP_BATCH_NORMALIZATION: return ir_attr_int(n, "training_mode", 0) == 0;
    default: return false;
    }
}

/* marked[i] for each axis i (normalised against rank) that attribute
 * `name` or constant input `input` lists; false when they come at run
 * time or are out of range.  *any: whether any was given. */
static bool axes_marked(const ir_graph *g, const ir_node *n, const char *name, size_t input, int rank, bool *marked,
                        bool *any)
{
    int64_t axes[HODU_MAX_RANK];
    long k = read_axes(g, n, name, input, axes);
    if (k < 0)
        return false;
    *any = k > 0;
    for (int i = 0; i < rank; i++)
        marked[i] = false;
    for (long i = 0; i < k; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank)
            return false;
        marked[a] = true;
    }
    return true;
}

static bool has_rt_dims(const ir_graph *g, const ir_node *n)
{
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && ir_value_has_rt(ir_val(g, n->inputs[j])))
            return true;
    return false;
}

/* An operand other than the data is a shape computed from run-time dims
 * (a Slice's ends, a Reshape's shape). */
static bool reads_dims(const ir_graph *g, const ir_node *n)
{
    for (size_t j = n->op == OP_RANGE || n->op == OP_CONSTANT_OF_SHAPE ? 0 : 1; j < n->n_inputs; j++) {
        const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
        if (v && v->dimvals && v->kind != IR_VALUE_CONST)
            return true;
    }
    return false;
}

/* Dim i of v's run-time symbol, or NULL (also for i < 0). */
static const char *sym_at(const ir_value *v, int i)
{
    return i >= 0 && i < v->rank && v->dims[i].rt ? v->dims[i].sym : NULL;
}

/* Broadcasts dim i of v (NULL: absent) into output dim `o` whose symbol so
 * far is *s: a run-time dim must meet the same one or static 1s. */
static bool bcast_dim(op_ctx *c, const ir_value *v, int i, int o, const char **s)
{
    const char *vs = sym_at(v, i);
    if (!vs)
        return true;
    if (*s && strcmp(*s, vs) != 0)
        return op_fail(c, "input '%s' dim %d is the run-time dim '%s' where another operand has '%s' (output dim %d)",
                       v->name, i, vs, *s, o);
    *s = vs;
    return true;
}

/* Every static dim of v at a run-time output dim must be 1. */
static bool bcast_ones(op_ctx *c, const ir_value *v, int i, const char *s)
{
    if (!s || i < 0 || i >= v->rank || v->dims[i].rt || v->dims[i].size == 1)
        return true;
    return op_fail(c,
                   "input '%s' dim %d is %" PRId64 " where another operand has the run-time dim '%s'; it would "
                   "have to be '%s' or 1",
                   v->name, i, v->dims[i].size, s, s);
}

/* The output's run-time dims under the op's rule: syms[o] for output dim o
 * (rank r), NULL for a static one. */
static bool general_syms(op_ctx *c, int r, const char **syms)
{
    const ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    for (int o = 0; o < r; o++)
        syms[o] = NULL;
    const ir_value *a = op_in(c, 0);
    if (is_reduce(n->op)) { /* the kept dims, in order; kept reduced ones are 1s */
        reduce_plan rp;
        reduce_axes_choice ch;
        if (reduce_runtime_axes(g, c->node, &ch))
            return op_fail(c, "with run-time dims, the axes of %s must be known at build time", n->op_type);
        if (!reduce_plan_of(g, c->node, &rp))
            return op_fail(c, "internal error: no reduction plan");
        bool keep = ir_attr_int(n, "keepdims", 1) != 0;
        for (int i = 0, o = 0; i < a->rank && o < r; i++) {
            if (rp.identity || !rp.mask[i])
                syms[o++] = sym_at(a, i);
            else if (keep)
                o++;
        }
        return true;
    }
    switch (n->op) {
    case OP_TRANSPOSE: {
        size_t k = 0;
        const int64_t *perm = ir_attr_ints(n, "perm", &k);
        for (int o = 0; o < r; o++)
            syms[o] = sym_at(a, perm && k == (size_t)r ? (int)perm[o] : r - 1 - o);
        return true;
    }
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_BATCH_NORMALIZATION: /* the parameters are per channel: X's dims */
        for (int o = 0; o < r; o++)
            syms[o] = sym_at(a, o);
        for (size_t j = 1; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && ir_value_has_rt(op_in(c, j)))
                return op_fail(c, "input %zu has run-time dims; only X may", j);
        return true;
    case OP_GLOBAL_AVERAGE_POOL:
    case OP_GLOBAL_MAX_POOL:
    case OP_GLOBAL_LP_POOL: /* [N, C, 1, ...]: the batch only */
        if (sym_at(a, 1))
            return op_fail(c, "its channels may not be the run-time dim '%s'", sym_at(a, 1));
        syms[0] = sym_at(a, 0);
        return true;
    case OP_SQUEEZE:
    case OP_UNSQUEEZE: { /* the data stays as it is: dims other than the axes keep their order */
        bool sq = n->op == OP_SQUEEZE, marked[HODU_MAX_RANK], any = false;
        if (!axes_marked(g, n, "axes", 1, sq ? a->rank : r, marked, &any) || (sq && !any))
            return op_fail(c, "with run-time dims, the axes of %s must be given and known at build time",
                           sq ? "Squeeze" : "Unsqueeze");
        for (int i = 0, o = 0; i < a->rank && o < r;) {
            if (sq && marked[i]) {
                if (a->dims[i].rt)
                    return op_fail(c, "it would squeeze the run-time dim '%s' (dim %d)", a->dims[i].sym, i);
                i++;
            } else if (!sq && marked[o]) {
                o++;
            } else {
                syms[o++] = sym_at(a, i++);
            }
        }
        return true;
    }
    case OP_GATHER: { /* data's dims before the axis, the indices', data's after */
        const ir_value *idx = op_in(c, 1);
        int64_t ax = ir_attr_int(n, "axis", 0);
        int axis = (int)(ax < 0 ? ax + a->rank : ax);
        for (int o = 0; o < r; o++)
            syms[o] = o < axis               ? sym_at(a, o)
                      : o < axis + idx->rank ? sym_at(idx, o - axis)
                                             : sym_at(a, o - idx->rank + 1);
        return true;
    }
    case OP_GATHER_ELEMENTS: { /* the indices' dims; data's others must hold them */
        const ir_value *idx = op_in(c, 1);
        int64_t ax = ir_attr_int(n, "axis", 0);
        int axis = (int)(ax < 0 ? ax + a->rank : ax);
        for (int o = 0; o < r; o++) {
            syms[o] = sym_at(idx, o);
            if (o == axis || !syms[o] || (a->dims[o].rt && strcmp(a->dims[o].sym, syms[o]) == 0))
                continue;
            int64_t lo, hi;
            if (a->dims[o].rt || !ir_graph_symbol_range(g, syms[o], &lo, &hi) || hi > a->dims[o].size)
                return op_fail(c, "indices dim %d is the run-time dim '%s', which data's dim %d may not hold", o,
                               syms[o], o);
        }
        return true;
    }
    case OP_MATMUL: {
        const ir_value *b = op_in(c, 1);
        int ra = a->rank, rb = b->rank;
        /* numpy's matmul: a 1-D operand is a row (A) or a column (B) */
        int ka = ra - 1, kb = rb >= 2 ? rb - 2 : 0;
        const char *sa = sym_at(a, ka), *sb = sym_at(b, kb);
        if ((sa || sb) && (!sa || !sb || strcmp(sa, sb) != 0))
            return op_fail(c,
                           "the inner dims of '%s' (dim %d: %s) and '%s' (dim %d: %s) would have to be the same "
                           "run-time dim",
                           a->name, ka, sa ? sa : "fixed", b->name, kb, sb ? sb : "fixed");
        int batch = r - (ra >= 2) - (rb >= 2);
        for (int o = 0; o < batch; o++) {
            int ia = o - (batch - (ra - 2)), ib = o - (batch - (rb - 2));
            if (!bcast_dim(c, a, ra >= 2 ? ia : -1, o, &syms[o]) || !bcast_dim(c, b, rb >= 2 ? ib : -1, o, &syms[o]))
                return false;
            if (!bcast_ones(c, a, ra >= 2 ? ia : -1, syms[o]) || !bcast_ones(c, b, rb >= 2 ? ib : -1, syms[o]))
                return false;
        }
        if (ra >= 2)
            syms[batch] = sym_at(a, ra - 2);
        if (rb >= 2)
            syms[r - 1] = sym_at(b, rb - 1);
        return true;
    }
    case OP_RNN:
    case OP_GRU:
    case OP_LSTM: { /* the sequence and the batch, where X has them */
        const bool layout1 = ir_attr_int(n, "layout", 0) != 0;
        const char *seq = sym_at(a, layout1 ? 1 : 0), *batch = sym_at(a, layout1 ? 0 : 1);
        if (sym_at(a, 2))
            return op_fail(c, "its input size may not be the run-time dim '%s'", sym_at(a, 2));
        /* W, R, B, P: none; sequence_lens, initial_h, initial_c: the batch */
        for (size_t j = 1; j < n->n_inputs; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
            int at = !v ? -1 : j == 4 ? 0 : j == 5 || j == 6 ? (layout1 ? 0 : 1) : -1;
            for (int i = 0; v && i < v->rank; i++)
                if (v->dims[i].rt && (i != at || !batch || strcmp(v->dims[i].sym, batch) != 0))
                    return op_fail(c,
                                   "input %zu ('%s') has the run-time dim '%s' at dim %d, where only X's batch "
                                   "may be one",
                                   j, v->name, v->dims[i].sym, i);
        }
        if (r == 4) { /* Y: [seq, dirs, batch, hidden], or [batch, seq, dirs, hidden] */
            syms[0] = layout1 ? batch : seq;
            syms[layout1 ? 1 : 2] = layout1 ? seq : batch;
        } else { /* Y_h, Y_c: [dirs, batch, hidden], or [batch, dirs, hidden] */
            syms[layout1 ? 0 : 1] = batch;
        }
        return true;
    }
    case OP_NON_ZERO: return true; /* [rank, count]: the count is the node's own (a data symbol) */
    case OP_SCATTER_ELEMENTS: {    /* the data's; the indices and updates may be shorter along the axis only */
        const ir_value *idx = op_in(c, 1), *upd = op_in(c, 2);
        int64_t ax = ir_attr_int(n, "axis", 0);
        int axis = (int)(ax < 0 ? ax + a->rank : ax);
        for (int o = 0; o < r; o++) {
            syms[o] = sym_at(a, o);
            const char *si = sym_at(idx, o), *su = upd ? sym_at(upd, o) : NULL;
            if ((si || su) && (!si || !su || strcmp(si, su) != 0))
                return op_fail(c, "indices and updates differ in dim %d (%s and %s)", o, si ? si : "fixed",
                               su ? su : "fixed");
            if (o != axis && si && (!syms[o] || strcmp(si, syms[o]) != 0))
                return op_fail(c, "indices dim %d is the run-time dim '%s', which data's dim %d (%s) may not hold", o,
                               si, o, syms[o] ? syms[o] : "fixed");
        }
        return true;
    }
    case OP_NON_MAX_SUPPRESSION: { /* the boxes' count only, the same in boxes and scores */
        const ir_value *sc = op_in(c, 1);
        const char *nb = sym_at(a, 1), *ns = sc ? sym_at(sc, 2) : NULL;
        if (sym_at(a, 0) || sym_at(a, 2) || (sc && (sym_at(sc, 0) || sym_at(sc, 1))))
            return op_fail(c, "only the boxes' count may be a run-time dim, not the batch or the classes");
        if ((nb || ns) && (!nb || !ns || strcmp(nb, ns) != 0))
            return op_fail(c, "the boxes' count is %s in the boxes and %s in the scores; they must be the same",
                           nb ? nb : "fixed", ns ? ns : "fixed");
        for (size_t j = 2; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && ir_value_has_rt(op_in(c, j)))
                return op_fail(c, "input %zu has run-time dims", j);
        return true; /* the selection's count is the node's own (a data symbol) */
    }
    case OP_ROI_ALIGN_10:
    case OP_ROI_ALIGN: { /* the boxes' count; the map's batch, height and width are read by the lowering */
        const ir_value *rois = op_in(c, 1), *bi = op_in(c, 2);
        const char *nr = sym_at(rois, 0), *nb = sym_at(bi, 0);
        if (sym_at(a, 1) || sym_at(rois, 1))
            return op_fail(c, "with run-time dims, X's channels and the boxes' 4 coordinates must be fixed");
        if ((nr || nb) && (!nr || !nb || strcmp(nr, nb) != 0))
            return op_fail(c, "the boxes' count is %s in rois and %s in batch_indices; they must be the same",
                           nr ? nr : "fixed", nb ? nb : "fixed");
        syms[0] = nr;
        return true;
    }
    case OP_SPLIT: { /* the input's, but along the axis, which the split sizes cut at build time */
        int64_t ax = ir_attr_int(n, "axis", 0);
        int axis = (int)(ax < 0 ? ax + a->rank : ax);
        if (axis < 0 || axis >= a->rank || a->dims[axis].rt)
            return op_fail(c, "with run-time dims, it splits a fixed axis only");
        if (n->n_inputs > 1 && n->inputs[1] >= 0 && ir_val(g, n->inputs[1])->kind != IR_VALUE_CONST)
            return op_fail(c, "with run-time dims, its split sizes must be known at build time");
        for (int o = 0; o < r; o++)
            syms[o] = sym_at(a, o);
        return true;
    }
    case OP_TOP_K: { /* the input's, but along the axis: K, or a data symbol the run decides */
        int64_t ax = ir_attr_int(n, "axis", -1);
        int axis = (int)(ax < 0 ? ax + a->rank : ax);
        for (int o = 0; o < r; o++)
            syms[o] = o == axis ? NULL : sym_at(a, o);
        return true;
    }
    default: /* elementwise: numpy broadcasting */
        for (int o = 0; o < r; o++)
            for (size_t j = 0; j < n->n_inputs; j++) {
                const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
                if (v && !bcast_dim(c, v, o - (r - v->rank), o, &syms[o]))
                    return false;
            }
        for (int o = 0; o < r; o++)
            for (size_t j = 0; j < n->n_inputs; j++) {
                const ir_value *v = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
                if (v && !bcast_ones(c, v, o - (r - v->rank), syms[o]))
                    return false;
            }
        return true;
    }
}

static bool elems_of(const op_ctx *c, size_t i, ir_dimvals *out);

/* Flatten and Reshape: the data stays as it is, the dims regroup.  Each
 * output dim is a product of input dims (ir_poly): a run-time dim, a
 * derived one such as batch*seq, or a static size.  Fills want[] and *r
 * without touching the graph; reports through c. */
static bool reshape_polys(op_ctx *c, ir_poly *want, int *r)
{
    ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    const ir_value *in = op_in(c, 0);
    ir_poly total = ir_poly_const(1);
    for (int i = 0; i < in->rank; i++) {
        ir_poly d = ir_dim_poly(g, &in->dims[i]);
        if (!ir_poly_mul(&total, &d, &total))
            return op_fail(c, "its input's size is a product of too many run-time dims");
    }
    if (n->op == OP_FLATTEN) {
        int64_t ax = ir_attr_int(n, "axis", 1);
        int axis = (int)(ax < 0 ? ax + in->rank : ax);
        if (axis < 0 || axis > in->rank)
            return op_fail(c, "axis %" PRId64 " is out of range for rank %d", ax, in->rank);
        *r = 2;
        want[0] = ir_poly_const(1);
        for (int i = 0; i < axis; i++) {
            ir_poly d = ir_dim_poly(g, &in->dims[i]);
            if (!ir_poly_mul(&want[0], &d, &want[0]))
                return op_fail(c, "its input's size is a product of too many run-time dims");
        }
        if (!ir_poly_div(&total, &want[0], &want[1]))
            return op_fail(c, "internal error: Flatten's dims do not divide");
        return true;
    }
    ir_dimvals sv;
    if (!elems_of(c, 1, &sv))
        return op_fail(c, "with run-time dims, its shape must be known at build time or computed from the "
                          "input's dims (Shape, Gather, Concat, ...)");
    bool allowzero = ir_attr_int(n, "allowzero", 0) != 0;
    *r = sv.n;
    int minus = -1;
    ir_poly known = ir_poly_const(1);
    for (int o = 0; o < sv.n; o++) {
        ir_dim d = {.size = sv.val[o], .sym = sv.sym[o], .rt = sv.sym[o] != NULL};
        if (!d.rt && d.size == 0 && !allowzero) {
            if (o >= in->rank)
                return op_fail(c, "shape entry %d is 0 (copy the input's dim) past the input's rank", o);
            d = in->dims[o];
        } else if (!d.rt && d.size == -1) {
            if (minus >= 0)
                return op_fail(c, "its shape has two -1 entries");
            minus = o;
            continue;
        } else if (!d.rt && d.size < 0) {
            return op_fail(c, "shape entry %d is %" PRId64, o, d.size);
        }
        want[o] = ir_dim_poly(g, &d);
        if (!ir_poly_mul(&known, &want[o], &known))
            return op_fail(c, "its shape is a product of too many run-time dims");
    }
    if (minus >= 0 && !ir_poly_div(&total, &known, &want[minus]))
        return op_fail(c, "the -1 in its shape would be the input's size divided by the other entries, which "
                          "does not divide for every value of the run-time dims");
    if (minus < 0 && !ir_poly_equal(&total, &known))
        return op_fail(c, "its shape does not hold as many elements as its input for every value of the "
                          "run-time dims");
    return true;
}

static bool general_reshape(op_ctx *c)
{
    ir_poly want[HODU_MAX_RANK];
    int r = 0;
    if (!reshape_polys(c, want, &r))
        return false;
    ir_dim dims[HODU_MAX_RANK];
    int64_t top[HODU_MAX_RANK];
    for (int o = 0; o < r; o++) {
        if (!ir_graph_poly_dim(c->g, &want[o], &dims[o]))
            return op_fail(c,
                           "output dim %d would be a product of run-time dims whose range overflows, or whose "
                           "name the model already uses",
                           o);
        top[o] = dims[o].size;
    }
    op_set_out(c, 0, op_in(c, 0)->dtype, r, top);
    memcpy(op_out(c, 0)->dims, dims, (size_t)r * sizeof(ir_dim));
    return true;
}

/* The slice of a Reshape sees the run-time dims as 1s, and a shape whose
 * -1 absorbs them there ([n, 1] to (1, -1)) passes every check of the
 * slice while the whole value is [1, n]: the slice stands only where its
 * dims are the ones the products of the input's dims give. */
static bool reshape_slice_holds(op_ctx *c)
{
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    op_ctx q = {c->g, c->node, &quiet};
    ir_poly want[HODU_MAX_RANK];
    int r = 0;
    bool known = reshape_polys(&q, want, &r);
    hd_diag_free(&quiet);
    if (!known) /* the slice's own checks are all there is */
        return true;
    const ir_value *out = op_out(c, 0);
    if (out->rank != r)
        return false;
    for (int o = 0; o < r; o++) {
        ir_poly got = ir_dim_poly(c->g, &out->dims[o]);
        if (!ir_poly_equal(&got, &want[o]))
            return false;
    }
    return true;
}

/* True when every coefficient of p is at least 0: p is then never
 * negative, its symbols (dims, quotients of dims) never being so. */
static bool poly_nonneg(const ir_poly *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->t[i].coef < 0)
            return false;
    return true;
}

/* A window from start element k to end element k, step 1, where either is
 * a run-time dim: its count end - start a polynomial that is never
 * negative, and the end never past axis d (a detector's split of its
 * anchors per feature level: from a sum of the levels before to that sum
 * plus this level's count).  Fills the window and the output dim. */
static bool dim_window(op_ctx *c, const ir_graph *g, const ir_dim *d, const ir_dimvals *st, const ir_dimvals *en, int k,
                       op_rt_slice_axis *w, ir_dim *out)
{
    if ((!st->sym[k] && st->val[k] < 0) || (!en->sym[k] && en->val[k] < 0))
        return false;
    ir_dim sd = st->sym[k] ? (ir_dim){.size = st->val[k], .sym = st->sym[k], .rt = true} : (ir_dim){.size = st->val[k]};
    ir_dim ed = en->sym[k] ? (ir_dim){.size = en->val[k], .sym = en->sym[k], .rt = true} : (ir_dim){.size = en->val[k]};
    ir_poly ps = ir_dim_poly(g, &sd), pe = ir_dim_poly(g, &ed), pd = ir_dim_poly(g, d), cnt, room;
    if (!ir_poly_add(&pe, &ps, -1, &cnt) || !poly_nonneg(&cnt) || !ir_poly_add(&pd, &pe, -1, &room) ||
        !poly_nonneg(&room))
        return false;
    *w = (op_rt_slice_axis){st->sym[k] ? OP_RT_WINDOW_AT_DIM : OP_RT_WINDOW_AT, st->sym[k] ? 0 : st->val[k], 0, 1,
                            st->sym[k]};
    return !c || ir_graph_poly_dim(c->g, &cnt, out);
}

/* Slice on the general path: each axis either as at build time (a static
 * dim, constant starts and ends), or from 0 to a run-time dim (an end
 * computed from the input's dims, `x[:, :seq]`, or past the end of a
 * run-time dim), or from a start to the end (`x[:, 1:]`, seq-1 long), or
 * a fixed count of a run-time dim that every size in its range holds
 * whole: counted from its start (`x[:, 2:5]`) or from its end
 * (`x[:, -1:]`, `x[:, -3:-1]`: OP_RT_WINDOW_FROM_END), or, for any other
 * numbers, a window the run clamps (`x[:200]` when x may be shorter:
 * OP_RT_WINDOW_CLIPPED, its count a data symbol).  Fills each input axis's
 * window and output dim; reports through c when given, else quietly. */
static bool slice_axes(op_ctx *c, const ir_graph *g, const ir_node *n, op_rt_slice_axis *w, ir_dim *dims)
{
    const ir_value *in = ir_val(g, n->inputs[0]);
    int r = in->rank;
    for (int i = 0; i < r; i++) {
        w[i] = (op_rt_slice_axis){OP_RT_WINDOW_AT, 0, 0, 1, NULL};
        dims[i] = in->dims[i];
    }
    ir_dimvals st, en, ax, sp;
    op_ctx q = {(ir_graph *)g, (int)(n - g->nodes), NULL};
    const op_ctx *src = c ? c : &q;
    bool has_axes = n->n_inputs > 3 && n->inputs[3] >= 0, has_steps = n->n_inputs > 4 && n->inputs[4] >= 0;
    if (n->n_inputs < 3 || !elems_of(src, 1, &st) || !elems_of(src, 2, &en) || (has_axes && !elems_of(src, 3, &ax)) ||
        (has_steps && !elems_of(src, 4, &sp)) || st.n != en.n || (has_axes && ax.n != st.n) ||
        (has_steps && sp.n != st.n))
        return c && op_fail(c, "with run-time dims, its starts, ends, axes and steps must be known at build time "
                               "(ends may come from the input's dims)");
    bool seen[HODU_MAX_RANK] = {false};
    for (int k = 0; k < st.n; k++) {
        int64_t a = has_axes ? ax.val[k] : k;
        if (has_axes && ax.sym[k])
            return c && op_fail(c, "its axes must be known at build time");
        if (a < 0)
            a += r;
        if (a < 0 || a >= r || seen[a])
            return c && op_fail(c, "axis %" PRId64 " is out of range or repeated", has_axes ? ax.val[k] : k);
        seen[a] = true;
        int64_t s = st.val[k], e = en.val[k], p = has_steps ? sp.val[k] : 1;
        if (st.sym[k] && !(has_steps && sp.sym[k]) && p == 1) {
            if (dim_window(c, g, &in->dims[a], &st, &en, k, &w[a], &dims[a]))
                continue;
            return c && op_fail(c,
                                "along axis %" PRId64 ", its start is a run-time dim, and its end is not one that is "
                                "at least the start and at most the axis for every size",
                                a);
        }
        if (st.sym[k] || (has_steps && sp.sym[k]) || p == 0)
            return c &&
                   op_fail(c, "along axis %" PRId64 ", its start and step must be build-time numbers (step not 0)", a);
        const ir_dim *d = &in->dims[a];
        if (en.sym[k] || d->rt) {
            /* from 0 to a run-time dim: the end names it, or runs past it */
            int64_t lo, hi;
            const char *to = en.sym[k] ? en.sym[k] : d->sym;
            bool ok = s == 0 && p == 1 && ir_graph_symbol_range(g, to, &lo, &hi);
            if (ok && en.sym[k]) /* the end is a dim of the run: within a static axis, or the axis itself */
                ok = d->rt ? strcmp(d->sym, en.sym[k]) == 0 : hi <= d->size;
            else if (ok) /* a constant end past the run-time dim's top */
                ok = e >= d->size;
            if (ok) {
                dims[a] = (ir_dim){.size = hi, .sym = to, .rt = true};
                continue;
            }
            /* a fixed count that the smallest size of the range holds */
            if (!en.sym[k] && p == 1 && ir_graph_symbol_range(g, d->sym, &lo, &hi)) {
                if (s >= 0 && e >= s && e <= lo) {
                    w[a].start = s;
                    dims[a] = (ir_dim){.size = e - s};
                    continue;
                }
                if (s < 0 && -s <= lo && (e >= d->size || (e < 0 && e >= s))) {
                    w[a] = (op_rt_slice_axis){OP_RT_WINDOW_FROM_END, s, 0, 1, NULL};
                    dims[a] = (ir_dim){.size = (e >= d->size ? 0 : e) - s};
                    continue;
                }
                /* from s to the end (x[:, 1:]): the dim less s, a derived
                 * symbol (seq-1), never negative in the range */
                if (s > 0 && e >= d->size && s <= lo) {
                    w[a].start = s;
                    ir_poly dp = ir_dim_poly(g, d), cut = ir_poly_const(s), rest;
                    if (!ir_poly_add(&dp, &cut, -1, &rest) || (c && !ir_graph_poly_dim(c->g, &rest, &dims[a])))
                        return c && op_fail(c,
                                            "along axis %" PRId64 " its length, the run-time dim less %" PRId64
                                            ", has no name the model leaves free",
                                            a, s);
                    continue;
                }
            }
            /* any other window of numbers (x[:200] when x may be shorter,
             * a negative step): clamped when the model runs, its count a
             * data symbol (at most the count over the whole top size) */
            if (!en.sym[k] && p != INT64_MIN && !g->exact_slices && ir_graph_symbol_range(g, d->sym, &lo, &hi)) {
                int64_t mag = p > 0 ? p : -p, bound = hi / mag + (hi % mag != 0);
                int64_t span; /* both from the start or both from the end: at most e - s apart */
                if ((s >= 0) == (e >= 0) && hd_sub_i64(p > 0 ? e : s, p > 0 ? s : e, &span) && span >= 0) {
                    int64_t within = span / mag + (span % mag != 0);
                    bound = within < bound ? within : bound;
                }
                w[a] = (op_rt_slice_axis){OP_RT_WINDOW_CLIPPED, s, e, p, NULL};
                dims[a] = (ir_dim){.size = bound < 0 ? 0 : bound, .data_dep = true};
                continue;
            }
            if (en.sym[k] && p == 1 && dim_window(c, g, d, &st, &en, k, &w[a], &dims[a]))
                continue;
            if (g->exact_slices)
                return c && op_fail(c,
                                    "along axis %" PRId64 " it would slice a run-time dim other than from 0 or from "
                                    "a start its smallest size holds to its end, or a fixed count that its smallest "
                                    "size holds, or slice to a run-time dim that may exceed the axis",
                                    a);
            return c && op_fail(c,
                                "along axis %" PRId64 " it would slice a run-time dim to an end that is another "
                                "run-time dim the axis may not hold, or by a step out of range",
                                a);
        }
        int64_t D = d->size; /* the spec's clamping */
        if (s < 0)
            s += D;
        if (e < 0)
            e += D;
        int64_t cnt;
        if (p > 0) {
            s = s < 0 ? 0 : s > D ? D : s;
            e = e < 0 ? 0 : e > D ? D : e;
            cnt = e > s ? (e - s + p - 1) / p : 0;
        } else {
            s = s < 0 ? 0 : s > D - 1 ? D - 1 : s;
            e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
            cnt = s > e ? (s - e - p - 1) / -p : 0;
        }
        w[a].start = s;
        w[a].step = p;
        dims[a] = (ir_dim){.size = cnt};
    }
    return true;
}

bool op_rt_slice_steps(const ir_graph *g, int node, op_rt_slice_axis *axes)
{
    ir_dim dims[HODU_MAX_RANK];
    return slice_axes(NULL, g, ir_nd(g, node), axes, dims);
}

static bool general_slice(op_ctx *c)
{
    op_rt_slice_axis w[HODU_MAX_RANK];
    ir_dim dims[HODU_MAX_RANK];
    const ir_value *in = op_in(c, 0);
    if (!slice_axes(c, c->g, op_node(c), w, dims))
        return false;
    int64_t top[HODU_MAX_RANK];
    for (int i = 0; i < in->rank; i++)
        top[i] = dims[i].size;
    op_set_out(c, 0, in->dtype, in->rank, top);
    memcpy(op_out(c, 0)->dims, dims, (size_t)in->rank * sizeof(ir_dim));
    return true;
}

/* Range(0, d, 1) up to a run-time dim d (arange(x.size(1))): d long. */
static bool general_range(op_ctx *c)
{
    ir_dimvals lim;
    double st, dl;
    if (!elems_of(c, 1, &lim) || lim.n != 1 || !lim.sym[0] || ir_const_as_f64(c->g, op_in_id(c, 0), &st, 1) != 1 ||
        ir_const_as_f64(c->g, op_in_id(c, 2), &dl, 1) != 1 || st != 0.0 || dl != 1.0)
        return op_fail(c, "with a run-time dim, Range must count from 0 up to it in steps of 1");
    int64_t lo, hi;
    if (!ir_graph_symbol_range(c->g, lim.sym[0], &lo, &hi))
        return op_fail(c, "internal error: run-time dim '%s' has no range", lim.sym[0]);
    op_set_out(c, 0, op_in(c, 0)->dtype, 1, &hi);
    op_out(c, 0)->dims[0] = (ir_dim){.size = hi, .sym = lim.sym[0], .rt = true};
    return true;
}

/* Expand to a shape computed from run-time dims: numpy broadcasting of
 * the input's dims and the shape's (ConstantOfShape: a scalar's). */
static bool general_expand(op_ctx *c)
{
    bool fill = op_node(c)->op == OP_CONSTANT_OF_SHAPE;
    const ir_value *in = fill ? NULL : op_in(c, 0);
    ir_dimvals sv;
    if (!elems_of(c, fill ? 0 : 1, &sv))
        return op_fail(c, "with run-time dims, its shape must be known at build time or computed from dims");
    if (fill) { /* the value attribute's type, float32 0 without one */
        const ir_value *v = shape_constant_of_shape_value(c->g, c->node);
        hodu_dtype t = v ? v->dtype : HODU_DTYPE_F32;
        ir_dim dims[HODU_MAX_RANK];
        int64_t top[HODU_MAX_RANK];
        for (int o = 0; o < sv.n; o++) {
            dims[o] = (ir_dim){.size = sv.val[o], .sym = sv.sym[o], .rt = sv.sym[o] != NULL};
            if (!dims[o].rt && dims[o].size < 0)
                return op_fail(c, "shape entry %d is %" PRId64, o, dims[o].size);
            top[o] = dims[o].size;
        }
        op_set_out(c, 0, t, sv.n, top);
        memcpy(op_out(c, 0)->dims, dims, (size_t)sv.n * sizeof(ir_dim));
        return true;
    }
    int r = sv.n > in->rank ? sv.n : in->rank;
    ir_dim dims[HODU_MAX_RANK];
    int64_t top[HODU_MAX_RANK];
    char b1[32], b2[32];
    for (int o = 0; o < r; o++) {
        int i = o - (r - in->rank), k = o - (r - sv.n);
        ir_dim x = i >= 0 ? in->dims[i] : (ir_dim){.size = 1};
        ir_dim y =
            k >= 0 ? (ir_dim){.size = sv.val[k], .sym = sv.sym[k], .rt = sv.sym[k] != NULL} : (ir_dim){.size = 1};
        if (!y.rt && y.size < 0)
            return op_fail(c, "shape entry %d is %" PRId64, k, y.size);
        if (x.rt && y.rt && strcmp(x.sym, y.sym) != 0)
            return op_fail(c, "dim %d would broadcast the run-time dims '%s' and '%s' together", o, x.sym, y.sym);
        if (x.rt || y.rt) {
            const ir_dim *rt = x.rt ? &x : &y, *other = x.rt ? &y : &x;
            if (!other->rt && other->size != 1)
                return op_fail(c, "dim %d would broadcast %s against the run-time dim '%s'", o,
                               dim_text(other, b1, sizeof b1), rt->sym);
            dims[o] = *rt;
        } else if (x.size == y.size || y.size == 1) {
            dims[o] = x;
        } else if (x.size == 1) {
            dims[o] = y;
        } else {
            return op_fail(c, "dim %d: %s does not broadcast to %s", o, dim_text(&x, b1, sizeof b1),
                           dim_text(&y, b2, sizeof b2));
        }
        top[o] = dims[o].size;
    }
    op_set_out(c, 0, in->dtype, r, top);
    memcpy(op_out(c, 0)->dims, dims, (size_t)r * sizeof(ir_dim));
    return true;
}

/* Concat along an axis some input has a run-time dim on (a KV cache's
 * past and the new keys): the output's dim is the sum, past+seq.  The
 * other dims must be the same in every input. */
static bool general_concat(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_value *a = op_in(c, 0);
    int r = a->rank;
    int64_t ax = ir_attr_int(n, "axis", 0);
    int axis = (int)(ax < 0 ? ax + r : ax);
    if (axis < 0 || axis >= r)
        return op_fail(c, "axis %" PRId64 " is out of range for rank %d", ax, r);
    ir_poly sum = ir_poly_const(0);
    bool fits = true; /* the sum as a polynomial; else the node reports its size (a data symbol) */
    int64_t top_sum = 0;
    char b1[32], b2[32];
    for (size_t j = 0; j < n->n_inputs; j++) {
        const ir_value *v = op_in(c, j);
        if (v->rank != r || v->dtype != a->dtype)
            return op_fail(c, "input %zu ('%s') has another rank or element type than input 0", j, v->name);
        for (int i = 0; i < r; i++) {
            if (i == axis)
                continue;
            const ir_dim *x = &a->dims[i], *y = &v->dims[i];
            if (x->rt != y->rt || (x->rt ? strcmp(x->sym, y->sym) != 0 : x->size != y->size))
                return op_fail(c, "input %zu ('%s') dim %d is %s where input 0 has %s", j, v->name, i,
                               dim_text(y, b1, sizeof b1), dim_text(x, b2, sizeof b2));
        }
        ir_poly d = ir_dim_poly(c->g, &v->dims[axis]);
        fits = fits && ir_poly_add(&sum, &d, 1, &sum);
        if (!hd_add_i64(top_sum, v->dims[axis].size, &top_sum))
            return op_fail(c, "its dim along the axis would overflow");
    }
    ir_dim dims[HODU_MAX_RANK];
    int64_t top[HODU_MAX_RANK];
    memcpy(dims, a->dims, (size_t)r * sizeof(ir_dim));
    /* A sum of many sizes the data decides (a detector's boxes of 90
     * classes) has more terms than a polynomial holds: the run adds them
     * up and the node reports the total, as a data symbol does. */
    if (!fits) { /* another Concat of the same sizes has the same total: the same symbol */
        hd_buf key;
        hd_buf_init(&key);
        hd_buf_puts(&key, "concat:");
        for (size_t j = 0; j < n->n_inputs; j++) {
            ir_poly d = ir_dim_poly(c->g, &op_in(c, j)->dims[axis]);
            hd_buf_puts(&key, j ? "," : "");
            ir_poly_print(&d, &key);
        }
        const char *sym = ir_graph_keyed_data_symbol(c->g, n->outputs[0], axis, top_sum, key.data);
        hd_buf_free(&key);
        dims[axis] = (ir_dim){.size = top_sum, .sym = sym, .rt = true, .data_dep = true};
    } else if (!ir_graph_poly_dim(c->g, &sum, &dims[axis]))
        return op_fail(c, "its dim along the axis would overflow, or its name is a dim the model named otherwise");
    for (int i = 0; i < r; i++)
        top[i] = dims[i].size;
    op_set_out(c, 0, a->dtype, r, top);
    memcpy(op_out(c, 0)->dims, dims, (size_t)r * sizeof(ir_dim));
    return true;
}

/* Conv, MaxPool and AveragePool over run-time spatial dims: output dim
 * floor((in + pb + pe - ek [+ s - 1 with ceil_mode]) / s) + 1, a quotient
 * symbol (ir_poly_floordiv) that the node's sizes and its readers share. */
static bool general_window(op_ctx *c)
{
    ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    const ir_value *x = op_in(c, 0);
    if (x->rank < 3)
        return op_fail(c, "with run-time dims, X must have a batch, channels and spatial dims");
    if (sym_at(x, 1))
        return op_fail(c, "its channels may not be the run-time dim '%s'", sym_at(x, 1));
    for (size_t j = 1; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && ir_value_has_rt(op_in(c, j)))
            return op_fail(c, "input %zu has run-time dims; only X may", j);
    const bool convt = n->op == OP_CONV_TRANSPOSE;
    size_t n_os = 0;
    if (convt && ir_attr_ints(n, "output_shape", &n_os))
        return op_fail(c, "attribute 'output_shape' over run-time spatial dims is not supported (it fixes the "
                          "output's size); give pads and output_padding instead, or bind the dims with --dim");
    const char *auto_pad = ir_attr_string(n, "auto_pad", "NOTSET");
    /* ConvTranspose's SAME pads do not depend on the size */
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0, same = !convt && (upper || strcmp(auto_pad, "SAME_LOWER") == 0);
    bool pool = n->op != OP_CONV && !convt, ceil_mode = pool && ir_attr_int(n, "ceil_mode", 0) != 0;
    if (same && ceil_mode)
        return op_fail(c,
                       "auto_pad %s with ceil_mode over run-time spatial dims is not supported; bind them with --dim",
                       auto_pad);
    /* inference and the window at the top of the ranges */
    op_rt_view view;
    op_rt_view_enter(g, c->node, &view, true);
    bool inferred = op_get(n->op)->infer(c), ok = inferred;
    nn_window w = {0};
    if (ok && (n->op == OP_CONV || convt)) {
        nn_conv_geom geom;
        ok = nn_conv_geom_of(g, c->node, &geom);
        w = geom.w;
    } else if (ok) {
        pool_plan pp;
        ok = pool_plan_get(g, c->node, &pp);
        w = pp.w;
    }
    int n_out = (int)n->n_outputs;
    ir_dim top[2][HODU_MAX_RANK];
    memset(top, 0, sizeof(top));
    for (int j = 0; j < n_out && j < 2; j++)
        if (n->outputs[j] >= 0)
            memcpy(top[j], ir_val(g, n->outputs[j])->dims, sizeof(top[j]));
    op_rt_view_leave(&view);
    if (!ok)
        return inferred && op_fail(c, "internal error: no window");
    ir_dim dims[HODU_MAX_RANK];
    memcpy(dims, top[0], sizeof(dims));
    dims[0] = x->dims[0];
    for (int i = 0; i < w.nd; i++) {
        const ir_dim *in = &x->dims[2 + i];
        if (!in->rt)
            continue;
        int64_t ek = (w.k[i] - 1) * w.d[i] + 1, s = w.s[i];
        if (convt) {
            /* (in - 1) * s + output_padding + ek - pads: s * in plus what
             * the top of the range gives */
            ir_poly span = ir_dim_poly(g, in), sp = ir_poly_const(s), k = ir_poly_const(w.out[i] - s * w.in[i]), q;
            int64_t lo = 0, hi = 0;
            if (!ir_poly_mul(&span, &sp, &q) || !ir_poly_add(&q, &k, 1, &q) || !ir_poly_range(g, &q, &lo, &hi))
                return op_fail(c, "its output size along the run-time dim '%s' cannot be computed", in->sym);
            if (lo < 1)
                return op_fail(c,
                               "its output along the run-time dim '%s' is empty at the smallest size; raise the "
                               "range's low end",
                               in->sym);
            if (hi != top[0][2 + i].size || !ir_graph_poly_dim(g, &q, &dims[2 + i]))
                return op_fail(c, "internal error: output dim %d does not follow from '%s'", 2 + i, in->sym);
            continue;
        }
        if (same) {
            /* The kernels take a fixed leading pad and the largest trailing
             * one; floor((in + ek - 1 - ek) / s) + 1 is then ceil(in / s). */
            int64_t ilo = 0, ihi = 0;
            ir_poly ip = ir_dim_poly(g, in);
            if (!ir_poly_range(g, &ip, &ilo, &ihi) || !nn_same_rt_lead(ek, s, upper, ilo, ihi, &w.pb[i]))
                return op_fail(c,
                               "auto_pad %s with window %" PRId64 " and stride %" PRId64
                               " over the run-time dim '%s': its leading pad depends on the size; bind the dim "
                               "with --dim %s=N",
                               auto_pad, ek, s, in->sym, in->sym);
            w.pe[i] = ek - 1 - w.pb[i];
        }
        if (ceil_mode && w.pe[i] + s > ek)
            return op_fail(c,
                           "with ceil_mode, trailing pad %" PRId64 " and stride %" PRId64 " against window %" PRId64
                           " over the run-time dim '%s', whether the last window is dropped depends on the size; "
                           "bind the dim with --dim %s=N",
                           w.pe[i], s, ek, in->sym, in->sym);
        ir_poly span = ir_dim_poly(g, in), k = ir_poly_const(w.pb[i] + w.pe[i] - ek + (ceil_mode ? s - 1 : 0));
        ir_poly q, one = ir_poly_const(1);
        const char *why = "a number overflows";
        int64_t lo = 0, hi = 0;
        if (!ir_poly_add(&span, &k, 1, &span) || !ir_poly_floordiv(g, &span, s, &q, &why) ||
            !ir_poly_add(&q, &one, 1, &q) || !ir_poly_range(g, &q, &lo, &hi))
            return op_fail(c, "its output size along the run-time dim '%s' cannot be computed: %s", in->sym, why);
        if (lo < 1) {
            int64_t ilo = 0, ihi = 0;
            ir_graph_symbol_range(g, in->sym, &ilo, &ihi);
            return op_fail(c,
                           "the window (%" PRId64 " with dilation, pads %" PRId64 " and %" PRId64
                           ") does not fit the run-time dim '%s' at its smallest (%" PRId64
                           "); raise the range's low end",
                           ek, w.pb[i], w.pe[i], in->sym, ilo);
        }
        if (hi != top[0][2 + i].size || !ir_graph_poly_dim(g, &q, &dims[2 + i]))
            return op_fail(c, "internal error: output dim %d does not follow from '%s'", 2 + i, in->sym);
    }
    for (int j = 0; j < n_out && j < 2; j++)
        if (n->outputs[j] >= 0)
            memcpy(op_out(c, (size_t)j)->dims, dims, (size_t)op_out(c, (size_t)j)->rank * sizeof(ir_dim));
    return true;
}

static bool general_infer(op_ctx *c)
{
    ir_graph *g = c->g;
    ir_node *n = ir_nd(g, c->node);
    if (n->op == OP_CONV || n->op == OP_CONV_TRANSPOSE || n->op == OP_MAX_POOL || n->op == OP_AVERAGE_POOL ||
        n->op == OP_LP_POOL) {
        n->rt_general = general_window(c);
        return n->rt_general;
    }
    if (n->op == OP_CONCAT) {
        n->rt_general = general_concat(c);
        return n->rt_general;
    }
    if (n->op == OP_RESIZE || n->op == OP_UPSAMPLE) {
        n->rt_general = nn_infer_resize_rt(c);
        return n->rt_general;
    }
    if (n->op == OP_PAD) {
        n->rt_general = shape_infer_pad_rt(c);
        return n->rt_general;
    }
    if (n->op == OP_FLATTEN || n->op == OP_RESHAPE || n->op == OP_SLICE || n->op == OP_RANGE || n->op == OP_EXPAND ||
        n->op == OP_CONSTANT_OF_SHAPE) {
        n->rt_general = n->op == OP_SLICE                                     ? general_slice(c)
                        : n->op == OP_RANGE                                   ? general_range(c)
                        : n->op == OP_EXPAND || n->op == OP_CONSTANT_OF_SHAPE ? general_expand(c)
                                                                              : general_reshape(c);
        return n->rt_general;
    }
    op_rt_view view;
    op_rt_view_enter(g, c->node, &view, true);
    bool ok = op_get(n->op)->infer(c);
    int n_out = (int)n->n_outputs;
    ir_dim(*top)[HODU_MAX_RANK] = hd_xcalloc(n_out ? (size_t)n_out : 1, sizeof(*top));
    for (int j = 0; j < n_out; j++)
        if (n->outputs[j] >= 0)
            memcpy(top[j], ir_val(g, n->outputs[j])->dims, sizeof(top[j]));
    op_rt_view_leave(&view);
    for (int j = 0; ok && j < n_out; j++) {
        ir_value *out = n->outputs[j] >= 0 ? ir_val(g, n->outputs[j]) : NULL;
        if (!out)
            continue;
        memcpy(out->dims, top[j], sizeof(top[j]));
        const char *syms[HODU_MAX_RANK];
        ok = general_syms(c, out->rank, syms);
        for (int o = 0; ok && o < out->rank; o++) {
            int64_t lo, hi;
            if (!syms[o])
                continue;
            if (!ir_graph_symbol_range(g, syms[o], &lo, &hi) || out->dims[o].size != hi)
                ok = op_fail(c, "internal error: output dim %d is %" PRId64 " at the top of run-time dim '%s'", o,
                             out->dims[o].size, syms[o]);
            else
                out->dims[o] = (ir_dim){.size = hi, .sym = syms[o], .rt = true};
        }
    }
    free(top);
    n->rt_general = ok;
    return ok;
}

bool op_rt_infer(op_ctx *c)
{
    ir_node *n = ir_nd(c->g, c->node);
    if (n->op == OP_SHAPE || n->op == OP_SIZE)
        return infer_shape_of(c);
    n->rt_general = false;
    if (!general_op(n) || (!has_rt_dims(c->g, n) && !reads_dims(c->g, n)))
        return slice_infer(c);
    /* a TopK whose K the run decides runs once, whole (its data symbol) */
    if (n->op == OP_TOP_K && n->n_inputs > 1 && n->inputs[1] >= 0 && ir_val(c->g, n->inputs[1])->kind != IR_VALUE_CONST)
        return general_infer(c);
    /* the slice if it can, quietly; otherwise the general path, whose
     * errors are the ones reported */
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    op_ctx q = {c->g, c->node, &quiet};
    bool sliced = slice_infer(&q);
    hd_diag_free(&quiet);
    if (sliced && n->op == OP_RESHAPE && !reshape_slice_holds(c))
        sliced = false;
    return sliced || general_infer(c);
}

int op_rt_slice_dims(const ir_graph *g, int node, const char **syms)
{
    const ir_node *n = ir_nd(g, node);
    int p = 0;
    if (n->rt_general)
        return 0;
    /* a node that decides its outputs' data symbols runs once, whole */
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0 && ir_value_has_data_dep(ir_val(g, n->outputs[j])))
            return 0;
    /* leading run-time dims, static 1s among them (NULL) */
    for (size_t j = 0; j < n->n_outputs; j++) {
        const ir_value *v = n->outputs[j] >= 0 ? ir_val(g, n->outputs[j]) : NULL;
        for (int i = 0; v && i < v->rank && (v->dims[i].rt || v->dims[i].size == 1); i++) {
            if (!v->dims[i].rt)
                continue;
            syms[i] = v->dims[i].sym;
            for (int k = p; k < i; k++)
                syms[k] = NULL;
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

bool op_rt_elems(const op_ctx *c, size_t i, ir_dimvals *out) { return elems_of(c, i, out); }

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
    /* floats hold dims exactly up to 2^24 (2^53): a cast for arange */
    bool as_float = out->dtype == HODU_DTYPE_F32 || out->dtype == HODU_DTYPE_F64;
    if (out->dtype != HODU_DTYPE_I64 && out->dtype != HODU_DTYPE_I32 &&
        !(as_float && (n->op == OP_CAST || n->op == OP_IDENTITY)))
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
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV: { /* past + seq, batch * heads, hidden / heads: sums, products, exact quotients of dims */
        ir_dimvals b;
        if (!elems_of(c, 0, &a) || !elems_of(c, 1, &b) || (a.n != b.n && a.n != 1 && b.n != 1))
            return;
        r.n = a.n > b.n ? a.n : b.n;
        for (int i = 0; i < r.n; i++) {
            ir_dim x = {0}, y = {0}, z;
            elem_at(&a, i, &x.size, &x.sym);
            elem_at(&b, i, &y.size, &y.sym);
            x.rt = x.sym != NULL;
            y.rt = y.sym != NULL;
            ir_poly px = ir_dim_poly(c->g, &x), py = ir_dim_poly(c->g, &y), pz;
            bool ok = n->op == OP_MUL   ? ir_poly_mul(&px, &py, &pz)
                      : n->op == OP_DIV ? ir_poly_div(&px, &py, &pz)
                                        : ir_poly_add(&px, &py, n->op == OP_ADD ? 1 : -1, &pz);
            if (!ok || !ir_graph_poly_dim(c->g, &pz, &z))
                return;
            r.val[i] = z.size;
            r.sym[i] = z.rt ? z.sym : NULL;
        }
        break;
    }
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
    int64_t exact = out->dtype == HODU_DTYPE_F32 ? INT64_C(1) << 24 : INT64_C(1) << 53;
    for (int i = 0; i < r.n; i++) {
        int64_t lo, hi = r.val[i];
        has_sym = has_sym || r.sym[i];
        if (as_float && ((r.sym[i] && !ir_graph_symbol_range(c->g, r.sym[i], &lo, &hi)) || hi > exact || hi < -exact))
            return;
    }
    if (!has_sym) { /* every element known: a constant after all */
        void *dst = op_fold_alloc(c, 0);
        for (int i = 0; i < r.n; i++) {
            if (out->dtype == HODU_DTYPE_I32)
                ((int32_t *)dst)[i] = (int32_t)r.val[i];
            else if (out->dtype == HODU_DTYPE_F32)
                ((float *)dst)[i] = (float)r.val[i];
            else if (out->dtype == HODU_DTYPE_F64)
                ((double *)dst)[i] = (double)r.val[i];
            else
                ((int64_t *)dst)[i] = r.val[i];
        }
        return;
    }
    ir_dimvals *dv = ir_graph_keep(c->g, hd_xcalloc(1, sizeof(*dv)));
    *dv = r;
    out->dimvals = dv;
}
