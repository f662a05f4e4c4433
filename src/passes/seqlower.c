/*
 * passes/seqlower.c - sequences known at build time become their tensors.
 *
 * Called by inference for each node in schedule order, before the node's
 * own inference.  A sequence value is tracked as the list of the tensor
 * values it holds (each already inferred, since its producer came first);
 * the sequence node goes dead, and what reads an element gets it through
 * ordinary nodes: SequenceAt an Identity, SplitToSequence a Slice (and a
 * Reshape dropping the axis) per piece, ConcatFromSequence a Concat (each
 * element reshaped first when new_axis is set), SequenceLength a constant.
 * Positions must be build-time values; "needs the value of graph input"
 * errors let a caller bind them with --const-input.  A sequence that must
 * exist while the model runs (a model's input or output, Loop state, an
 * If's result) is refused with a clear error.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops/control.h"
#include "ops/ops.h"
#include "passes.h"

/* Most elements one sequence may hold: every element is a node or more. */
#define SEQ_MAX_LEN 1024
/* Loops carrying sequences of at most this many iterations are unrolled
 * (each copy has its own iteration number, so what it appends may differ
 * in shape from the others'); longer ones that only append keep their
 * loop, the appended tensors becoming a scan output. */
#define SEQ_UNROLL_MAX 16

typedef struct seq_list {
    bool is_seq;
    bool absent; /* not a sequence: an empty optional (Optional without input) */
    hodu_dtype dtype;
    size_t len;
    int *items;
} seq_list;

struct pass_seqs {
    size_t cap;
    seq_list *v;
};

pass_seqs *pass_seqs_new(void) { return hd_xcalloc(1, sizeof(pass_seqs)); }

void pass_seqs_free(pass_seqs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->v[i].items);
    free(s->v);
    free(s);
}

static seq_list *seq_get(pass_seqs *s, int v)
{
    if (v < 0)
        return NULL;
    if ((size_t)v >= s->cap) {
        size_t cap = (size_t)v + 64;
        s->v = hd_xrealloc(s->v, cap * sizeof(seq_list));
        memset(s->v + s->cap, 0, (cap - s->cap) * sizeof(seq_list));
        s->cap = cap;
    }
    return &s->v[v];
}

bool pass_seq_is(const pass_seqs *s, int v) { return v >= 0 && (size_t)v < s->cap && s->v[v].is_seq; }

static bool seq_is(const pass_seqs *s, int v) { return pass_seq_is(s, v); }

static bool absent_is(const pass_seqs *s, int v) { return v >= 0 && (size_t)v < s->cap && s->v[v].absent; }

static void set_absent(pass_seqs *s, int v)
{
    seq_list *l = seq_get(s, v);
    if (l)
        l->absent = true;
}

/* Makes value `out` the sequence of items[0..len). */
static void seq_set(pass_seqs *s, int out, hodu_dtype dtype, const int *items, size_t len)
{
    seq_list *l = seq_get(s, out);
    if (!l)
        return;
    free(l->items);
    l->is_seq = true;
    l->dtype = dtype;
    l->len = len;
    l->items = hd_xmalloc((len ? len : 1) * sizeof(int));
    if (len)
        memcpy(l->items, items, len * sizeof(int));
}

/* Makes `out` a copy of sequence `from` without its element `drop` (-1:
 * none), with tensor t inserted before position `at` (-1: none). */
static void seq_edit(pass_seqs *s, int out, int from, int64_t drop, int64_t at, int t)
{
    const seq_list *l = &s->v[from];
    int *items = hd_xmalloc((l->len + 1) * sizeof(int));
    size_t len = 0;
    for (size_t i = 0; i <= l->len; i++) {
        if ((int64_t)i == at)
            items[len++] = t;
        if (i < l->len && (int64_t)i != drop)
            items[len++] = l->items[i];
    }
    hodu_dtype dt = l->dtype;
    seq_set(s, out, dt, items, len);
    free(items);
}

typedef struct lower_ctx {
    ir_graph *g;
    int id;
    hd_diag *d;
    pass_seqs *s;
    int *added;
    size_t n_added, cap_added;
} lower_ctx;

static int add_node(lower_ctx *c, const char *op, const int *ins, size_t n, int out)
{
    int o = pass_add_node(c->g, op, ins, n, out, c->g->nodes[c->id].loc);
    HD_PUSH(c->added, c->n_added, c->cap_added, (int)c->g->n_nodes - 1);
    return o;
}

static int const_i64(ir_graph *g, const int64_t *vals, size_t n)
{
    int64_t *data = ir_graph_keep(g, hd_xmalloc((n ? n : 1) * sizeof(int64_t)));
    if (n)
        memcpy(data, vals, n * sizeof(int64_t));
    int64_t dims[1] = {(int64_t)n};
    return ir_const_new(g, NULL, HODU_DTYPE_I64, 1, dims, data, n * sizeof(int64_t));
}

/* Input k of the node as a sequence; NULL after reporting when it is not one. */
static seq_list *seq_in(lower_ctx *c, size_t k)
{
    const ir_node *n = &c->g->nodes[c->id];
    int v = k < n->n_inputs ? n->inputs[k] : -1;
    if (!seq_is(c->s, v)) {
        ir_node_error(c->d, c->g, c->id, "input %zu ('%s') must be a sequence", k, v >= 0 ? c->g->values[v].name : "");
        return NULL;
    }
    return &c->s->v[v];
}

/* The position operand k (a build-time scalar), normalised against a
 * sequence of `len` elements; valid positions are [-len, len - 1], or
 * [-len, len] with `at_end`.  -1 after reporting. */
static int64_t position(lower_ctx *c, size_t k, size_t len, bool at_end)
{
    op_ctx oc = {c->g, c->id, c->d};
    const ir_node *n = &c->g->nodes[c->id];
    if (k >= n->n_inputs || n->inputs[k] < 0 || seq_is(c->s, n->inputs[k])) {
        ir_node_error(c->d, c->g, c->id, "input %zu (the position) must be a tensor", k);
        return -1;
    }
    const ir_value *pv = &c->g->values[n->inputs[k]];
    if (pv->dtype != HODU_DTYPE_I32 && pv->dtype != HODU_DTYPE_I64) {
        ir_node_error(c->d, c->g, c->id, "position '%s' must be int32 or int64, not %s", pv->name,
                      ir_dtype_name(pv->dtype));
        return -1;
    }
    int64_t pos[2];
    long got = op_need_const_i64(&oc, k, pos, 2, "position");
    if (got < 0)
        return -1;
    if (got != 1) {
        ir_node_error(c->d, c->g, c->id, "position '%s' must be a single value, not %ld", pv->name, got);
        return -1;
    }
    int64_t hi = (int64_t)len - (at_end ? 0 : 1);
    if (pos[0] < -(int64_t)len || pos[0] > hi) {
        ir_node_error(c->d, c->g, c->id,
                      "position %" PRId64 " is out of range for a sequence of %zu tensors (valid: %" PRId64
                      " to %" PRId64 ")",
                      pos[0], len, -(int64_t)len, hi);
        return -1;
    }
    return pos[0] < 0 ? pos[0] + (int64_t)len : pos[0];
}

static bool check_len(lower_ctx *c, size_t len)
{
    if (len <= SEQ_MAX_LEN)
        return true;
    ir_node_error(c->d, c->g, c->id, "the sequence would hold %zu tensors; at most %d are supported", len, SEQ_MAX_LEN);
    return false;
}

/* Whether tensor v has a known shape whose dim `axis` (-1: none) is
 * fixed; other dims may be run-time dims. */
static bool known_axis(lower_ctx *c, int v, int axis)
{
    const ir_value *x = &c->g->values[v];
    if (ir_value_is_static(x) && !ir_value_has_unbounded(x) && !ir_value_has_symbolless_data_dep(x) &&
        (axis < 0 || (!x->dims[axis].rt && !x->dims[axis].data_dep)))
        return true;
    ir_node_error(c->d, c->g, c->id,
                  "'%s' has a size only known when the model runs along the axis the sequence is made over; not "
                  "supported yet (build with fixed sizes)",
                  x->name);
    return false;
}

/* Squeeze (or Unsqueeze) of x at `axis`, as the graph's opset writes it. */
static int squeeze(lower_ctx *c, int x, int64_t axis, bool unsqueeze)
{
    const char *op = unsqueeze ? "Unsqueeze" : "Squeeze";
    if (c->g->opset >= 13) {
        int ins[2] = {x, const_i64(c->g, &axis, 1)};
        return add_node(c, op, ins, 2, -1);
    }
    int out = add_node(c, op, &x, 1, -1);
    ir_attr *a = ir_node_add_attr(c->g, (int)c->g->n_nodes - 1, "axes", IR_ATTR_INTS);
    a->ints = hd_xmalloc(sizeof(int64_t));
    a->ints[0] = axis;
    a->n = 1;
    return out;
}

static bool lower_construct(lower_ctx *c, int out)
{
    const ir_node *n = &c->g->nodes[c->id];
    for (size_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] < 0 || seq_is(c->s, n->inputs[k])) {
            ir_node_error(c->d, c->g, c->id, "input %zu must be a tensor", k);
            return false;
        }
    hodu_dtype dt = c->g->values[n->inputs[0]].dtype;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (c->g->values[n->inputs[k]].dtype != dt) {
            ir_node_error(c->d, c->g, c->id, "input '%s' is %s, but the sequence holds %s",
                          c->g->values[n->inputs[k]].name, ir_dtype_name(c->g->values[n->inputs[k]].dtype),
                          ir_dtype_name(dt));
            return false;
        }
    }
    if (!check_len(c, n->n_inputs))
        return false;
    seq_set(c->s, out, dt, n->inputs, n->n_inputs);
    return true;
}

static bool lower_insert(lower_ctx *c, int out)
{
    const ir_node *n = &c->g->nodes[c->id];
    seq_list *l = seq_in(c, 0);
    if (!l)
        return false;
    int t = n->inputs[1];
    if (t < 0 || seq_is(c->s, t)) {
        ir_node_error(c->d, c->g, c->id, "input 1 must be a tensor");
        return false;
    }
    if (c->g->values[t].dtype != l->dtype) {
        ir_node_error(c->d, c->g, c->id, "tensor '%s' is %s, but the sequence holds %s", c->g->values[t].name,
                      ir_dtype_name(c->g->values[t].dtype), ir_dtype_name(l->dtype));
        return false;
    }
    int64_t at = (int64_t)l->len;
    if (n->n_inputs > 2 && n->inputs[2] >= 0 && (at = position(c, 2, l->len, true)) < 0)
        return false;
    if (!check_len(c, l->len + 1))
        return false;
    seq_edit(c->s, out, n->inputs[0], -1, at, t);
    return true;
}

static bool lower_erase(lower_ctx *c, int out)
{
    const ir_node *n = &c->g->nodes[c->id];
    seq_list *l = seq_in(c, 0);
    if (!l)
        return false;
    if (l->len == 0) {
        ir_node_error(c->d, c->g, c->id, "cannot erase from an empty sequence");
        return false;
    }
    int64_t at = (int64_t)l->len - 1;
    if (n->n_inputs > 1 && n->inputs[1] >= 0 && (at = position(c, 1, l->len, false)) < 0)
        return false;
    seq_edit(c->s, out, n->inputs[0], at, -1, -1);
    return true;
}

static bool lower_at(lower_ctx *c, int out)
{
    seq_list *l = seq_in(c, 0);
    if (!l)
        return false;
    int64_t at = position(c, 1, l->len, false);
    if (at < 0)
        return false;
    int src = l->items[at];
    add_node(c, "Identity", &src, 1, out);
    return true;
}

static bool lower_length(lower_ctx *c, int out)
{
    seq_list *l = seq_in(c, 0);
    if (!l)
        return false;
    int64_t *len = ir_graph_keep(c->g, hd_xmalloc(sizeof(int64_t)));
    *len = (int64_t)l->len;
    ir_value *o = &c->g->values[out];
    o->dtype = HODU_DTYPE_I64;
    o->rank = 0;
    ir_value_set_const(c->g, out, len, sizeof(int64_t));
    return true;
}

static bool lower_split(lower_ctx *c, int out)
{
    const ir_node *n = &c->g->nodes[c->id];
    int x = n->inputs[0];
    if (x < 0 || seq_is(c->s, x)) {
        ir_node_error(c->d, c->g, c->id, "input 0 must be a tensor");
        return false;
    }
    if (c->g->values[x].rank < 0 || !known_axis(c, x, -1))
        return false;
    const ir_value *xv = &c->g->values[x];
    if (xv->rank < 1) {
        ir_node_error(c->d, c->g, c->id, "input '%s' is a scalar; it has no axis to split", xv->name);
        return false;
    }
    op_ctx oc = {c->g, c->id, c->d};
    int axis;
    if (!op_axis(&oc, ir_attr_int(n, "axis", 0), xv->rank, &axis))
        return false;
    if (!known_axis(c, x, axis))
        return false;
    int64_t dim = xv->dims[axis].size;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    int64_t *sizes = hd_xmalloc((SEQ_MAX_LEN + 1) * sizeof(int64_t));
    size_t count = 0;
    bool ok = false;
    if (n->n_inputs > 1 && n->inputs[1] >= 0) {
        keep = true; /* keepdims applies only without split */
        const ir_value *sv = &c->g->values[n->inputs[1]];
        long got = op_need_const_i64(&oc, 1, sizes, SEQ_MAX_LEN + 1, "split");
        if (got < 0)
            goto out;
        if (sv->rank == 0) {
            int64_t each = sizes[0];
            if (each <= 0) {
                ir_node_error(c->d, c->g, c->id, "split %" PRId64 " must be positive", each);
                goto out;
            }
            int64_t pieces = dim / each + (dim % each != 0);
            if (!check_len(c, (size_t)pieces))
                goto out;
            for (int64_t i = 0; i < pieces; i++)
                sizes[count++] = i + 1 < pieces ? each : dim - each * i;
        } else {
            if (sv->rank != 1 || !check_len(c, (size_t)got))
                goto out;
            int64_t sum = 0;
            for (long i = 0; i < got; i++) {
                if (sizes[i] < 0 || sizes[i] > dim) {
                    ir_node_error(c->d, c->g, c->id, "split entry %" PRId64 " is out of range [0, %" PRId64 "]",
                                  sizes[i], dim);
                    goto out;
                }
                sum += sizes[i];
            }
            if (sum != dim) {
                ir_node_error(c->d, c->g, c->id, "split sums to %" PRId64 ", but axis %d of '%s' has %" PRId64, sum,
                              axis, xv->name, dim);
                goto out;
            }
            count = (size_t)got;
        }
    } else {
        if (!check_len(c, (size_t)dim))
            goto out;
        for (int64_t i = 0; i < dim; i++)
            sizes[count++] = 1;
    }
    int *items = hd_xmalloc((count ? count : 1) * sizeof(int));
    int64_t at = 0, ax = axis;
    for (size_t i = 0; i < count; i++) {
        int64_t end = at + sizes[i];
        int ins[4] = {x, const_i64(c->g, &at, 1), const_i64(c->g, &end, 1), const_i64(c->g, &ax, 1)};
        items[i] = add_node(c, "Slice", ins, 4, -1);
        if (!keep)
            items[i] = squeeze(c, items[i], ax, false);
        at = end;
    }
    seq_set(c->s, out, c->g->values[x].dtype, items, count);
    free(items);
    ok = true;
out:
    free(sizes);
    return ok;
}

static bool lower_concat(lower_ctx *c, int out)
{
    const ir_node *n = &c->g->nodes[c->id];
    seq_list *l = seq_in(c, 0);
    if (!l)
        return false;
    const ir_attr *axis_attr = ir_attr_find(n, "axis");
    if (!axis_attr) {
        ir_node_error(c->d, c->g, c->id, "attribute 'axis' is required");
        return false;
    }
    if (l->len == 0) {
        ir_node_error(c->d, c->g, c->id, "the sequence is empty; there is nothing to concatenate");
        return false;
    }
    int64_t axis = axis_attr->i;
    bool new_axis = ir_attr_int(n, "new_axis", 0) != 0;
    size_t len = l->len;
    int *ins = hd_xmalloc(len * sizeof(int));
    memcpy(ins, l->items, len * sizeof(int));
    if (new_axis) {
        for (size_t i = 0; i < len; i++)
            if (!known_axis(c, ins[i], -1)) {
                free(ins);
                return false;
            }
        int rank = c->g->values[ins[0]].rank;
        if (rank >= HODU_MAX_RANK || axis < -(int64_t)rank - 1 || axis > rank) {
            ir_node_error(c->d, c->g, c->id, "axis %" PRId64 " is out of range for new_axis over rank %d", axis, rank);
            free(ins);
            return false;
        }
        if (axis < 0)
            axis += rank + 1;
        for (size_t i = 0; i < len; i++)
            ins[i] = squeeze(c, ins[i], axis, true);
    }
    add_node(c, "Concat", ins, len, out);
    ir_attr *a = ir_node_add_attr(c->g, (int)c->g->n_nodes - 1, "axis", IR_ATTR_INT);
    a->i = axis;
    free(ins);
    return true;
}

/* Value v of SequenceMap's body as a value of g for one tensor: body
 * inputs and the values made so far come from `map`, a constant of the
 * body is copied into g (sharing its bytes: the body outlives the build)
 * once. */
static int body_value(ir_graph *g, const ir_graph *body, int *map, int v)
{
    if (v < 0 || map[v] >= 0)
        return v < 0 ? -1 : map[v];
    const ir_value *cv = &body->values[v];
    if (cv->kind != IR_VALUE_CONST)
        return -1;
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(cv, dims);
    map[v] = ir_const_new(g, cv->name, cv->dtype, cv->rank, dims, cv->data, cv->nbytes);
    g->values[map[v]].loc = cv->loc;
    return map[v];
}

/* The body's nodes in an order to copy them; NULL after reporting when
 * it holds control flow (not copied yet). */
static int *body_order(lower_ctx *c, const ir_graph *body, size_t *count)
{
    for (size_t i = 0; i < body->n_nodes; i++)
        for (size_t a = 0; !body->nodes[i].dead && a < body->nodes[i].n_attrs; a++)
            if (body->nodes[i].attrs[a].graph) {
                ir_node_error(c->d, c->g, c->id, "its body has control flow (node '%s'); not supported yet",
                              body->nodes[i].name);
                return NULL;
            }
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    int *order = ir_schedule(body, count, &quiet);
    hd_diag_free(&quiet);
    if (!order)
        ir_node_error(c->d, c->g, c->id, "its body's nodes cannot be put in an order");
    return order;
}

/* Copies the body's nodes into g once, its inputs read from `map` (the
 * body's values -> g's, -1 elsewhere), which receives what they define;
 * the copies are inferred next.  false after reporting. */
static bool copy_body(lower_ctx *c, const ir_graph *body, const int *order, size_t count, int *map)
{
    ir_graph *g = c->g;
    bool ok = true;
    for (size_t j = 0; j < count && ok; j++) {
        const ir_node *m = &body->nodes[order[j]];
        int *ins = hd_xmalloc((m->n_inputs + 1) * sizeof(int)), *outs = hd_xmalloc((m->n_outputs + 1) * sizeof(int));
        for (size_t k = 0; k < m->n_inputs && ok; k++) {
            ins[k] = body_value(g, body, map, m->inputs[k]);
            if (m->inputs[k] >= 0 && ins[k] < 0) {
                ir_node_error(c->d, g, c->id, "its body's node '%s' reads '%s', which is not defined before it",
                              m->name, body->values[m->inputs[k]].name);
                ok = false;
            }
        }
        for (size_t k = 0; k < m->n_outputs; k++) {
            outs[k] = m->outputs[k] < 0 ? -1 : ir_value_new(g, NULL);
            if (m->outputs[k] >= 0)
                map[m->outputs[k]] = outs[k];
        }
        if (ok)
            HD_PUSH(c->added, c->n_added, c->cap_added, ir_node_copy_from(g, body, order[j], ins, outs));
        free(ins);
        free(outs);
    }
    return ok;
}

/* Body result v as a value of g after copy_body; -1 after reporting. */
static int body_result(lower_ctx *c, const ir_graph *body, int *map, int v)
{
    int r = body_value(c->g, body, map, v);
    if (r < 0)
        ir_node_error(c->d, c->g, c->id, "its body's result '%s' is not defined", v >= 0 ? body->values[v].name : "");
    return r;
}

/* SequenceMap over sequences of build-time length: a copy of the body per
 * position, reading that position's tensor of each sequence operand (the
 * tensor operands as they are), its results that position's tensors of
 * the outputs.  The tensors may differ in shape from one position to the
 * next: each copy is inferred on its own. */
static bool lower_map(lower_ctx *c)
{
    ir_graph *g = c->g;
    const ir_node *n = &g->nodes[c->id];
    const ir_graph *body = ir_node_subgraph(n, "body");
    size_t formal = n->n_inputs - n->n_captures;
    if (!body || body->n_inputs != n->n_inputs || body->n_outputs != n->n_outputs) {
        ir_node_error(c->d, g, c->id, "its body's inputs and results do not match the node's");
        return false;
    }
    if (!seq_in(c, 0))
        return false;
    size_t len = c->s->v[n->inputs[0]].len;
    for (size_t k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0) {
            ir_node_error(c->d, g, c->id, "input %zu is missing", k);
            return false;
        }
        if (seq_is(c->s, v) && c->s->v[v].len != len) {
            ir_node_error(c->d, g, c->id, "sequence '%s' holds %zu tensors, but '%s' holds %zu", g->values[v].name,
                          c->s->v[v].len, g->values[n->inputs[0]].name, len);
            return false;
        }
        if (k >= formal && seq_is(c->s, v)) {
            ir_node_error(c->d, g, c->id, "its body reads the sequence '%s' from outside; not supported yet",
                          g->values[v].name);
            return false;
        }
    }
    size_t count = 0;
    int *order = body_order(c, body, &count);
    if (!order)
        return false;
    size_t n_out = n->n_outputs;
    int **items = hd_xcalloc(n_out ? n_out : 1, sizeof(int *));
    for (size_t t = 0; t < n_out; t++)
        items[t] = hd_xmalloc((len ? len : 1) * sizeof(int));
    int *map = hd_xmalloc((body->n_values ? body->n_values : 1) * sizeof(int));
    size_t n_in = n->n_inputs; /* n moves as nodes are added */
    bool ok = true;
    for (size_t i = 0; i < len && ok; i++) {
        for (size_t v = 0; v < body->n_values; v++)
            map[v] = -1;
        for (size_t k = 0; k < n_in; k++) {
            int v = g->nodes[c->id].inputs[k];
            map[body->inputs[k]] = seq_is(c->s, v) ? c->s->v[v].items[i] : v;
        }
        ok = copy_body(c, body, order, count, map);
        for (size_t t = 0; t < n_out && ok; t++)
            ok = (items[t][i] = body_result(c, body, map, body->outputs[t])) >= 0;
    }
    for (size_t t = 0; t < n_out && ok; t++) {
        int out = g->nodes[c->id].outputs[t];
        hodu_dtype dt = body->values[body->outputs[t]].dtype;
        if (out >= 0)
            seq_set(c->s, out, dt, items[t], len);
    }
    for (size_t t = 0; t < n_out; t++)
        free(items[t]);
    free(items);
    free(map);
    free(order);
    return ok;
}

/* Whether value v of graph g is read by a live node other than `except`,
 * or is one of g's outputs. */
static bool read_elsewhere(const ir_graph *g, int v, int except)
{
    if (g->values[v].is_output)
        return true;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *m = &g->nodes[i];
        if (m->dead || (int)i == except)
            continue;
        for (size_t j = 0; j < m->n_inputs; j++)
            if (m->inputs[j] == v)
                return true;
    }
    return false;
}

/* The body node appending to loop-carried sequence k (body input 2 + k,
 * result 1 + k): a SequenceInsert without a position whose sequence nothing
 * else reads.  -1 after reporting when the body does anything else. */
static int append_node(lower_ctx *c, const ir_graph *body, size_t k)
{
    int in = body->inputs[2 + k], out = body->outputs[1 + k];
    int p = body->values[out].producer;
    const ir_node *pn = p >= 0 ? &body->nodes[p] : NULL;
    if (!pn || pn->dead || pn->op != OP_SEQUENCE_INSERT || pn->inputs[0] != in || pn->inputs[1] < 0 ||
        (pn->n_inputs > 2 && pn->inputs[2] >= 0) || read_elsewhere(body, in, p)) {
        ir_node_error(c->d, c->g, c->id,
                      "loop-carried sequence %zu ('%s'): the body must only append to it (one SequenceInsert "
                      "without a position per iteration); sequences exist only at build time so far",
                      k, c->g->values[c->g->nodes[c->id].inputs[2 + k]].name);
        return -1;
    }
    return p;
}

/* Whether value v of the body of Loop `node` is true in every iteration:
 * the condition carried in, or a true constant (of the body, or captured
 * from g), possibly through Identity.  The body is not folded yet: a
 * Constant node still is one, a captured constant still an input. */
static bool always_true(const ir_graph *g, int node, const ir_graph *body, int v, int depth)
{
    int64_t x;
    if (v < 0 || depth > 8)
        return false;
    if (body->n_inputs > 1 && v == body->inputs[1])
        return true;
    const ir_node *loop = &g->nodes[node];
    for (size_t k = 0; k < loop->n_captures; k++)
        if (v == body->inputs[body->n_inputs - loop->n_captures + k]) {
            int outer = loop->inputs[loop->n_inputs - loop->n_captures + k];
            return ir_const_as_i64(g, outer, &x, 1) == 1 && x != 0;
        }
    if (ir_const_as_i64(body, v, &x, 1) == 1)
        return x != 0;
    int p = body->values[v].producer;
    if (p < 0 || body->nodes[p].dead)
        return false;
    const ir_node *pn = &body->nodes[p];
    if (pn->op == OP_IDENTITY && pn->n_inputs == 1)
        return always_true(g, node, body, pn->inputs[0], depth + 1);
    const ir_attr *a = pn->op == OP_CONSTANT ? ir_attr_find(pn, "value") : NULL;
    return a && a->kind == IR_ATTR_TENSOR && a->tensor >= 0 && ir_const_as_i64(body, a->tensor, &x, 1) == 1 && x != 0;
}

/* A Loop carrying sequences (of known trip count m, whose condition
 * cannot end it early), short (SEQ_UNROLL_MAX) or whose body reads a
 * sequence from outside, as SequenceMap's expansion does (SequenceAt at
 * the iteration number): a copy of the body per
 * iteration, the iteration number a constant in each, the state carried
 * from one copy to the next (sequences included, lowered as the copies
 * are), and the Loop's results the last copy's. */
static bool unroll_loop(lower_ctx *c, int64_t m)
{
    ir_graph *g = c->g;
    const ir_node *n = &g->nodes[c->id];
    const ir_graph *body = ir_node_subgraph(n, "body");
    size_t formal = n->n_inputs - n->n_captures, n_carried = formal - 2, n_in = n->n_inputs;
    if (body->n_outputs != 1 + n_carried) {
        ir_node_error(c->d, g, c->id,
                      "carries a sequence and has scan outputs; only loops that carry all their results are "
                      "unrolled so far");
        return false;
    }
    if (!check_len(c, (size_t)m))
        return false;
    size_t count = 0;
    int *order = body_order(c, body, &count);
    if (!order)
        return false;
    int *carried = hd_xmalloc((n_carried + 1) * sizeof(int));
    for (size_t k = 0; k < n_carried; k++)
        carried[k] = n->inputs[2 + k];
    uint8_t *yes = ir_graph_keep(g, hd_xmalloc(1));
    *yes = 1;
    int cond = n->inputs[1] >= 0 ? n->inputs[1] : ir_const_new(g, NULL, HODU_DTYPE_BOOL, 0, NULL, yes, 1);
    int *map = hd_xmalloc((body->n_values ? body->n_values : 1) * sizeof(int));
    bool ok = true;
    for (int64_t i = 0; i < m && ok; i++) {
        for (size_t v = 0; v < body->n_values; v++)
            map[v] = -1;
        int iter = const_i64(g, &i, 1);
        g->values[iter].rank = 0; /* the iteration number is a scalar */
        map[body->inputs[0]] = iter;
        map[body->inputs[1]] = cond;
        for (size_t k = 0; k < n_carried; k++)
            map[body->inputs[2 + k]] = carried[k];
        for (size_t k = formal; k < n_in; k++)
            map[body->inputs[k]] = g->nodes[c->id].inputs[k];
        ok = copy_body(c, body, order, count, map);
        for (size_t k = 0; k < n_carried && ok; k++)
            ok = (carried[k] = body_result(c, body, map, body->outputs[1 + k])) >= 0;
    }
    /* The results: an Identity of the last state each (one of a sequence
     * makes the output that sequence) */
    for (size_t k = 0; k < n_carried && ok; k++) {
        int out = g->nodes[c->id].outputs[k];
        if (out >= 0 && carried[k] >= 0)
            add_node(c, "Identity", &carried[k], 1, out);
    }
    g->nodes[c->id].dead = true;
    free(map);
    free(carried);
    free(order);
    return ok;
}

/* A Loop carrying sequences that its body only appends to: each such
 * sequence becomes a scan output of the appended tensor, and the sequence
 * after the loop is the one before it followed by the scan output's rows
 * (a Gather each).  The trip count must be known and the condition unable
 * to end the loop early, so the number of rows is. */
static bool lower_loop(lower_ctx *c)
{
    ir_graph *g = c->g;
    ir_node *n = &g->nodes[c->id];
    ir_graph *body = ir_node_subgraph(n, "body");
    size_t formal = n->n_inputs - n->n_captures;
    bool reads_outer_seq = false;
    for (size_t k = formal; k < n->n_inputs; k++)
        reads_outer_seq = reads_outer_seq || seq_is(c->s, n->inputs[k]);
    if (!body || formal < 2 || body->n_inputs != n->n_inputs || body->n_outputs < formal - 1 ||
        n->n_outputs != body->n_outputs - 1) {
        ir_node_error(c->d, g, c->id, "carries a sequence but its body's inputs and results do not match it");
        return false;
    }
    size_t n_carried = formal - 2;
    int64_t start;
    bool may_end =
        cf_loop_cond_may_end(g, c->id) && !(ir_const_as_i64(g, n->inputs[1], &start, 1) == 1 && start != 0 && body &&
                                            body->n_outputs > 0 && always_true(g, c->id, body, body->outputs[0], 0));
    op_ctx oc = {g, c->id, c->d};
    int64_t m;
    /* a trip count or condition the caller can bind (--const-input) */
    bool count_in = n->inputs[0] >= 0 && g->values[n->inputs[0]].kind == IR_VALUE_INPUT;
    if (count_in || (may_end && n->inputs[1] >= 0 && g->values[n->inputs[1]].kind == IR_VALUE_INPUT)) {
        op_need_const_i64(&oc, count_in ? 0 : 1, &m, 1, count_in ? "the trip count" : "the condition");
        return false;
    }
    if (n->inputs[0] < 0 || may_end) {
        ir_node_error(c->d, g, c->id,
                      "carries a sequence, which needs a build-time trip count and a condition that cannot end "
                      "the loop early (sequences exist only at build time so far)");
        return false;
    }
    if (op_need_const_i64(&oc, 0, &m, 1, "the trip count") != 1)
        return false;
    if (m < 0)
        m = 0;
    if (reads_outer_seq || m <= SEQ_UNROLL_MAX)
        return unroll_loop(c, m);
    bool *is_seq = hd_xcalloc(n_carried ? n_carried : 1, sizeof(bool));
    int *appended = hd_xmalloc((n_carried ? n_carried : 1) * sizeof(int));
    size_t n_seq = 0;
    bool ok = true;
    for (size_t k = 0; k < n_carried && ok; k++) {
        if (!seq_is(c->s, n->inputs[2 + k]))
            continue;
        is_seq[k] = true;
        n_seq++;
        int p = append_node(c, body, k);
        ok = p >= 0;
        appended[k] = p;
    }
    for (size_t k = 0; k < n_carried && ok; k++)
        if (is_seq[k] && !check_len(c, c->s->v[n->inputs[2 + k]].len + (size_t)m))
            ok = false;
    if (!ok) {
        free(is_seq);
        free(appended);
        return false;
    }
    /* The body: the sequence inputs and results go, each appended tensor
     * becomes a scan output (through an Identity: it may be a result
     * already). */
    int *bin = hd_xmalloc(body->n_inputs * sizeof(int)), *bout = hd_xmalloc((body->n_outputs + n_seq) * sizeof(int));
    int *nin = hd_xmalloc(n->n_inputs * sizeof(int)), *nout = hd_xmalloc((n->n_outputs + n_seq) * sizeof(int));
    size_t nbi = 0, nbo = 0, nni = 0, nno = 0;
    for (size_t i = 0; i < body->n_inputs; i++)
        if (i < 2 || i >= formal || !is_seq[i - 2]) {
            bin[nbi++] = body->inputs[i];
            nin[nni++] = n->inputs[i];
        }
    for (size_t i = 0; i < body->n_outputs; i++) {
        if (i >= 1 && i <= n_carried && is_seq[i - 1]) {
            body->values[body->outputs[i]].is_output = false;
            continue;
        }
        bout[nbo++] = body->outputs[i];
        if (i >= 1)
            nout[nno++] = n->outputs[i - 1];
    }
    int *seq_out = hd_xmalloc(n_seq * sizeof(int)), *scan = hd_xmalloc(n_seq * sizeof(int));
    int *init_from = hd_xmalloc(n_seq * sizeof(int));
    size_t j = 0;
    for (size_t k = 0; k < n_carried; k++) {
        if (!is_seq[k])
            continue;
        ir_node *pn = &body->nodes[appended[k]];
        int t = pn->inputs[1], tv = ir_value_new(body, NULL);
        pn->dead = true;
        int id = ir_node_new(body, "Identity", "", NULL, &t, 1, &tv, 1);
        body->nodes[id].op = OP_IDENTITY;
        ir_node_set_loc(body, id, body->nodes[appended[k]].loc);
        body->values[tv].is_output = true;
        bout[nbo++] = tv;
        seq_out[j] = n->outputs[k];
        init_from[j] = n->inputs[2 + k];
        scan[j] = ir_value_new(g, NULL);
        nout[nno++] = scan[j];
        j++;
    }
    n = &g->nodes[c->id];
    memcpy(body->inputs, bin, nbi * sizeof(int));
    body->n_inputs = nbi;
    free(body->outputs);
    body->outputs = bout;
    body->n_outputs = body->cap_outputs = nbo;
    memcpy(n->inputs, nin, nni * sizeof(int));
    n->n_inputs = nni;
    free(n->outputs);
    n->outputs = nout;
    n->n_outputs = nno;
    for (size_t i = 0; i < nno; i++)
        g->values[nout[i]].producer = c->id;
    /* Infer the Loop again as it is now, then the rows. */
    HD_PUSH(c->added, c->n_added, c->cap_added, c->id);
    for (j = 0; j < n_seq; j++) {
        if (seq_out[j] < 0)
            continue;
        const seq_list *init = &c->s->v[init_from[j]];
        hodu_dtype dt = init->dtype;
        size_t len = init->len;
        int *items = hd_xmalloc((len + (size_t)m + 1) * sizeof(int));
        memcpy(items, init->items, len * sizeof(int));
        for (int64_t i = 0; i < m; i++) {
            int ins[2] = {scan[j], const_i64(g, &i, 1)};
            g->values[ins[1]].rank = 0; /* a scalar index: the row without its axis */
            items[len + (size_t)i] = add_node(c, "Gather", ins, 2, -1);
        }
        seq_set(c->s, seq_out[j], dt, items, len + (size_t)m);
        free(items);
    }
    free(bin);
    free(nin);
    free(is_seq);
    free(appended);
    free(seq_out);
    free(scan);
    free(init_from);
    return true;
}

/* Optionals the build knows to be empty (the Optional op without an
 * input) are tracked like sequences: Optional of a value is that value,
 * OptionalHasElement of a sequence or an empty optional a constant,
 * Identity of an empty optional one too; anything else that reads one is
 * refused.  0 when node c->id is none of these, 1 when it was lowered
 * (dead now), -1 after reporting. */
static int lower_optional(lower_ctx *c, bool reads_seq)
{
    ir_graph *g = c->g;
    const ir_node *n = &g->nodes[c->id];
    int in = n->n_inputs > 0 ? n->inputs[0] : -1, out = n->n_outputs > 0 ? n->outputs[0] : -1;
    bool reads_absent = false;
    for (size_t k = 0; k < n->n_inputs; k++)
        reads_absent = reads_absent || absent_is(c->s, n->inputs[k]);
    if (n->op == OP_OPTIONAL) {
        if (in < 0)
            set_absent(c->s, out);
        else if (reads_seq)
            seq_edit(c->s, out, in, -1, -1, -1);
        else if (absent_is(c->s, in))
            set_absent(c->s, out);
        else if (out >= 0)
            add_node(c, "Identity", &in, 1, out);
    } else if (n->op == OP_OPTIONAL_HAS_ELEMENT && (reads_seq || reads_absent)) {
        uint8_t *has = ir_graph_keep(g, hd_xmalloc(1));
        *has = !reads_absent;
        if (out >= 0) {
            g->values[out].dtype = HODU_DTYPE_BOOL;
            g->values[out].rank = 0;
            ir_value_set_const(g, out, has, 1);
        }
    } else if (n->op == OP_IDENTITY && reads_absent) {
        set_absent(c->s, out);
    } else if (reads_absent) {
        size_t k = 0;
        while (!absent_is(c->s, n->inputs[k]))
            k++;
        ir_node_error(c->d, g, c->id, "input '%s' is an optional that is empty in this build; %s",
                      g->values[n->inputs[k]].name,
                      n->op == OP_OPTIONAL_GET_ELEMENT ? "there is no element to get" : "this op does not take one");
        return -1;
    } else {
        return 0;
    }
    g->nodes[c->id].dead = true;
    return 1;
}

int pass_seq_lower(ir_graph *g, int id, pass_seqs *s, int **added, size_t *n_added, hd_diag *d)
{
    lower_ctx c = {.g = g, .id = id, .d = d, .s = s};
    *added = NULL;
    *n_added = 0;
    const ir_node *n = &g->nodes[id];
    int op = n->op;
    const op_def *def = op_get(op);
    bool reads_seq = false;
    for (size_t k = 0; k < n->n_inputs; k++)
        reads_seq = reads_seq || seq_is(s, n->inputs[k]);
    int lowered = lower_optional(&c, reads_seq);
    if (lowered != 0) {
        *added = c.added;
        *n_added = c.n_added;
        return lowered;
    }
    bool is_seq_op = def && def->family == OP_FAMILY_SEQUENCE;
    if (op == OP_LOOP && reads_seq) {
        if (!lower_loop(&c)) {
            free(c.added);
            return -1;
        }
        *added = c.added;
        *n_added = c.n_added;
        return 1;
    }
    bool identity = (op == OP_IDENTITY || op == OP_OPTIONAL_GET_ELEMENT) && reads_seq;
    if (!is_seq_op && !identity) {
        if (!reads_seq)
            return 0;
        for (size_t k = 0; k < n->n_inputs; k++)
            if (seq_is(s, n->inputs[k])) {
                ir_node_error(d, g, id,
                              "input '%s' is a sequence; %s does not take one (sequences exist only at build time "
                              "so far: Sequence* ops, SplitToSequence, ConcatFromSequence and Identity read them)",
                              g->values[n->inputs[k]].name, def ? def->name : n->op_type);
                break;
            }
        return -1;
    }
    int out = n->n_outputs > 0 ? n->outputs[0] : -1;
    bool ok;
    if (out < 0 && op != OP_SEQUENCE_MAP) {
        ok = true; /* nothing reads it */
    } else if (identity) {
        seq_edit(s, out, n->inputs[0], -1, -1, -1);
        ok = true;
    } else {
        switch (op) {
        case OP_SEQUENCE_EMPTY: {
            int64_t dt = ir_attr_int(n, "dtype", HODU_DTYPE_F32);
            ok = dt > 0 && dt < HODU_DTYPE_COUNT_;
            if (ok)
                seq_set(s, out, (hodu_dtype)dt, NULL, 0);
            else
                ir_node_error(d, g, id, "dtype %" PRId64 " is not an element type", dt);
            break;
        }
        case OP_SEQUENCE_CONSTRUCT: ok = lower_construct(&c, out); break;
        case OP_SEQUENCE_INSERT: ok = lower_insert(&c, out); break;
        case OP_SEQUENCE_ERASE: ok = lower_erase(&c, out); break;
        case OP_SEQUENCE_AT: ok = lower_at(&c, out); break;
        case OP_SEQUENCE_LENGTH: ok = lower_length(&c, out); break;
        case OP_SPLIT_TO_SEQUENCE: ok = lower_split(&c, out); break;
        case OP_CONCAT_FROM_SEQUENCE: ok = lower_concat(&c, out); break;
        case OP_SEQUENCE_MAP: ok = lower_map(&c); break;
        default: ir_node_error(d, g, id, "internal error: no build-time lowering for %s", def->name); ok = false;
        }
    }
    g->nodes[id].dead = true;
    *added = c.added;
    *n_added = c.n_added;
    if (!ok) {
        free(c.added);
        *added = NULL;
        *n_added = 0;
        return -1;
    }
    return 1;
}

/* The model's entry (ir_io_value) for output value v, or NULL. */
static ir_io_value *io_output(ir_graph *g, int v)
{
    for (size_t i = 0; i < g->n_io_values; i++) {
        ir_io_value *e = &g->io_values[i];
        if (e->is_output && e->present && !e->lowered && e->n_items == 1 && e->items[0] == v)
            return e;
    }
    return NULL;
}

bool pass_seq_outputs(ir_graph *g, const pass_seqs *s, int **added, size_t *n_added, hd_diag *d)
{
    *added = NULL;
    *n_added = 0;
    size_t cap_added = 0;
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        bool is_seq = v >= 0 && (size_t)v < s->cap && s->v[v].is_seq;
        ir_io_value *e = g->parent ? NULL : io_output(g, v);
        if (absent_is(s, v)) { /* an empty optional: no tensor, reported absent */
            if (!e || e->kind == HODU_VALUE_SEQUENCE) {
                ir_value_error(d, g, v, "'%s' is an empty optional and an output of %s, which %s", g->values[v].name,
                               g->parent ? "a subgraph" : "the model",
                               g->parent ? "is lowered at build time" : "does not declare an optional there");
                goto fail;
            }
            g->values[v].is_output = false;
            memmove(g->outputs + i, g->outputs + i + 1, (g->n_outputs - i - 1) * sizeof(int));
            g->n_outputs--;
            e->present = false;
            e->lowered = true;
            e->n_items = 0;
            i--; /* the next output moved to i */
            continue;
        }
        bool want_seq = e && e->kind != HODU_VALUE_OPTIONAL;
        if (is_seq && !want_seq) {
            ir_value_error(d, g, v,
                           "'%s' is a sequence and an output of %s, which %s; sequences leave only the model's graph, "
                           "where it declares them",
                           g->values[v].name, g->parent ? "a subgraph" : "the model",
                           g->parent ? "is lowered at build time" : "declares no sequence there");
            goto fail;
        }
        if (!is_seq && want_seq) {
            ir_value_error(d, g, v, "the model declares output '%s' a sequence, but it is a tensor", e->name);
            goto fail;
        }
        if (!is_seq)
            continue;
        /* Its tensors, each through an Identity of its own (one tensor may
         * be in it twice, or be an input), become outputs in its place. */
        const seq_list *l = &s->v[v];
        size_t n = l->len;
        int *items = hd_xmalloc((n ? n : 1) * sizeof(int));
        for (size_t k = 0; k < n; k++) {
            char *name = hd_xasprintf("%s[%zu]", e->name, k);
            for (size_t j = 0; j < g->n_outputs; j++)
                if (g->values[g->outputs[j]].name && strcmp(g->values[g->outputs[j]].name, name) == 0) {
                    ir_value_error(d, g, v, "output '%s': its tensor '%s' has the name of another output", e->name,
                                   name);
                    free(name);
                    free(items);
                    goto fail;
                }
            int out = ir_value_new(g, name);
            free(name);
            g->values[out].is_output = true;
            items[k] = pass_add_node(g, "Identity", &l->items[k], 1, out, g->values[v].loc);
            HD_PUSH(*added, *n_added, cap_added, (int)g->n_nodes - 1);
        }
        g->values[v].is_output = false;
        size_t rest = g->n_outputs - i - 1;
        while (g->n_outputs + n > g->cap_outputs + 1) {
            g->cap_outputs = g->cap_outputs ? g->cap_outputs * 2 : 8;
            g->outputs = hd_xrealloc(g->outputs, g->cap_outputs * sizeof(int));
        }
        memmove(g->outputs + i + n, g->outputs + i + 1, rest * sizeof(int));
        memcpy(g->outputs + i, items, n * sizeof(int));
        g->n_outputs = g->n_outputs - 1 + n;
        free(e->items);
        e->items = items;
        e->n_items = n;
        e->lowered = true;
        i = i + n - 1; /* n == 0: the next output moved to i */
    }
    return true;
fail: /* the Identity nodes made so far stay, unread; the build fails */
    free(*added);
    *added = NULL;
    *n_added = 0;
    return false;
}
