/*
 * ops/control.c - If, Loop and Scan: nodes that own subgraphs.
 *
 * Inference runs in three steps (pass_infer_fold): `type_subgraphs` gives
 * the subgraphs' formal inputs their types from the node's operands, the
 * pass infers each subgraph (captured inputs take their operands' types),
 * then `infer` checks what the subgraphs give and sets the node's results.
 * Everything stays static; see control.h for the rules.
 */
#include "control.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"

/* "f32[2,3]" for messages. */
static char *type_text(const ir_value *v)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "%s[", ir_dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++)
        hd_buf_printf(&b, "%s%" PRId64, i ? "," : "", v->dims[i].size);
    hd_buf_putc(&b, ']');
    return hd_buf_take(&b);
}

/* Fails naming both types: "<what> is f32[2] ... but ... f32[3]". */
static bool fail_types(op_ctx *c, const char *fmt, const ir_value *a, const ir_value *b)
{
    char *ta = type_text(a), *tb = type_text(b);
    op_fail(c, fmt, ta, tb);
    free(ta);
    free(tb);
    return false;
}

/* Operands of the node without its captures. */
static size_t formal_inputs(const op_ctx *c)
{
    const ir_node *n = op_node(c);
    return n->n_inputs - n->n_captures;
}

/* Subgraph attribute `name`, which must take `want` formal inputs. */
static ir_graph *need_sub(op_ctx *c, const char *name, size_t want, const char *what)
{
    const ir_node *n = op_node(c);
    ir_graph *sub = ir_node_subgraph(n, name);
    if (!sub) {
        op_fail(c, "attribute '%s' (a graph) is required", name);
        return NULL;
    }
    if (sub->n_inputs - n->n_captures != want) {
        op_fail(c, "subgraph '%s' takes %zu inputs; it must take %zu (%s)", name, sub->n_inputs - n->n_captures, want,
                what);
        return NULL;
    }
    return sub;
}

static void type_input(ir_graph *sub, size_t k, hodu_dtype t, int rank, const int64_t *dims)
{
    ir_value *v = ir_val(sub, sub->inputs[k]);
    v->dtype = t;
    ir_value_set_shape(v, rank, dims);
}

const char *cf_share_symbol(ir_graph *sub, const ir_graph *g, const char *sym)
{
    int64_t lo, hi;
    if (!ir_graph_symbol_range(g, sym, &lo, &hi))
        return NULL;
    ir_graph_set_symbol_range(sub, sym, lo, hi);
    return ir_graph_symbol(sub, sym);
}

/* The run-time dims of operand `outer` become run-time dims of the
 * subgraph input v that takes it, whose dims are outer's from `first` on
 * without dim `skip` (a scan axis; -1 for none). */
static bool share_rt_dims(op_ctx *c, ir_graph *sub, ir_value *v, const ir_value *outer, int first, int skip)
{
    for (int i = first, r = 0; i < outer->rank && r < v->rank; i++) {
        if (i == skip)
            continue;
        if (outer->dims[i].rt) {
            const char *s = cf_share_symbol(sub, c->g, outer->dims[i].sym);
            if (!s)
                return op_fail(c, "'%s' dim %d is the run-time dim '%s', which has no range", outer->name, i,
                               outer->dims[i].sym);
            v->dims[r] = (ir_dim){.size = outer->dims[i].size, .sym = s, .rt = true};
        }
        r++;
    }
    return true;
}

/* The caller's copy of the body's run-time dim e->dims[i] for result j of
 * the node: the body's run-time dims are the operands' (cf_share_symbol),
 * and one the body decides itself is refused. */
static bool result_rt_dim(op_ctx *c, const ir_value *e, int i, size_t j, ir_dim *out)
{
    int64_t lo, hi;
    if (!ir_graph_symbol_range(c->g, e->dims[i].sym, &lo, &hi) || hi != e->dims[i].size)
        return op_fail(c,
                       "scan output %zu ('%s') has a size the body decides (dim %d, '%s'); a scan output's run-time "
                       "dims must be the operands' own",
                       j, e->name, i, e->dims[i].sym);
    *out = (ir_dim){.size = hi, .sym = ir_graph_symbol(c->g, e->dims[i].sym), .rt = true};
    return true;
}

/* Input i must be one element of `t`. */
static bool need_scalar(op_ctx *c, size_t i, hodu_dtype t, const char *what)
{
    const ir_value *v = op_need_static(c, i);
    if (!v)
        return false;
    if (v->dtype != t || ir_value_numel(v) != 1)
        return op_fail(c, "%s ('%s') must hold one %s; it is %s[%d dims]", what, v->name, ir_dtype_name(t),
                       ir_dtype_name(v->dtype), v->rank);
    return true;
}

/* Every result of a control-flow node is written by its subgraphs: none
 * may be omitted. */
static bool need_all_outputs(op_ctx *c)
{
    const ir_node *n = op_node(c);
    for (size_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] < 0)
            return op_fail(c, "output %zu is omitted; every output of %s must be named", i, n->op_type);
    return true;
}

/* --- If ------------------------------------------------------------------- */

static const op_attr_spec if_attrs[] = {{"then_branch", IR_ATTR_GRAPH}, {"else_branch", IR_ATTR_GRAPH}, {NULL, 0}};

int cf_if_const_cond(const ir_graph *g, int node)
{
    int64_t v;
    const ir_node *n = ir_nd(g, node);
    if (n->n_inputs < 1 || n->inputs[0] < 0 || ir_const_as_i64(g, n->inputs[0], &v, 1) != 1)
        return -1;
    return v != 0;
}

static bool if_type(op_ctx *c)
{
    return need_all_outputs(c) && need_sub(c, "then_branch", 0, "none") && need_sub(c, "else_branch", 0, "none");
}

static bool if_infer(op_ctx *c)
{
    if (!need_scalar(c, 0, HODU_DTYPE_BOOL, "the condition"))
        return false;
    const ir_node *n = op_node(c);
    const ir_graph *t = ir_node_subgraph(n, "then_branch"), *e = ir_node_subgraph(n, "else_branch");
    if (t->n_outputs != n->n_outputs || e->n_outputs != n->n_outputs)
        return op_fail(c, "has %zu outputs but its branches give %zu and %zu results", n->n_outputs, t->n_outputs,
                       e->n_outputs);
    int k = cf_if_const_cond(c->g, c->node);
    for (size_t i = 0; i < n->n_outputs; i++) {
        const ir_value *tv = ir_val(t, t->outputs[i]), *ev = ir_val(e, e->outputs[i]);
        if (k < 0 && !ir_same_type(tv, ev)) {
            char *fmt = hd_xasprintf("output %zu: the then branch gives %%s and the else branch %%s; both must have "
                                     "the same static shape (or the condition must be known at build time)",
                                     i);
            fail_types(c, fmt, tv, ev);
            free(fmt);
            return false;
        }
        const ir_value *src = k == 0 ? ev : tv;
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(src, dims);
        op_set_out(c, i, src->dtype, src->rank, dims);
    }
    return true;
}

OP_DEF(IF, .attrs = if_attrs, .infer = if_infer, .type_subgraphs = if_type);

/* ======================================================================== */
/* hodu.Phi(cond, a, b) -> cond ? a : b                                      */
/* ======================================================================== */
/* Where the two branches of an If over run-time dims meet (pass_infer_fold
 * inlines them, each node guarded by the condition): the result is the
 * value of the branch that ran.  A dim the two agree on (the same size or
 * the same run-time dim) stays; one they differ on is decided when the
 * model runs, at most the larger (a data symbol).  Inference handles the
 * run-time dims itself, and the node is on the general path. */

static bool phi_infer(op_ctx *c)
{
    if (!need_scalar(c, 0, HODU_DTYPE_BOOL, "the condition"))
        return false;
    const ir_value *a = op_in(c, 1), *b = op_in(c, 2);
    if (!a || !b || !ir_value_is_static(a) || !ir_value_is_static(b))
        return op_fail(c, "both branches' results must have known shapes");
    if (a->dtype != b->dtype || a->rank != b->rank)
        return fail_types(c,
                          "the then branch gives %s and the else branch %s; both must have the same element type "
                          "and rank",
                          a, b);
    ir_dim dims[HODU_MAX_RANK];
    int64_t top[HODU_MAX_RANK];
    bool rt = false;
    for (int i = 0; i < a->rank; i++) {
        const ir_dim *x = &a->dims[i], *y = &b->dims[i];
        bool same = x->rt == y->rt && (x->rt ? strcmp(x->sym, y->sym) == 0 : x->size == y->size);
        if (same && !x->data_dep)
            dims[i] = *x;
        else
            dims[i] = (ir_dim){.size = x->size > y->size ? x->size : y->size, .data_dep = true};
        top[i] = dims[i].size;
        rt = rt || dims[i].rt || dims[i].data_dep;
    }
    op_set_out(c, 0, a->dtype, a->rank, top);
    memcpy(op_out(c, 0)->dims, dims, (size_t)a->rank * sizeof(ir_dim));
    ir_nd(c->g, c->node)->rt_general = rt;
    return true;
}

OP_DEF(PHI, .infer = phi_infer);

/* --- Loop ----------------------------------------------------------------- */

/* The static shape the model declares for value v, or for what a chain of
 * Cast / Identity nodes (which keep the shape) makes of it: a scan output
 * often reaches the graph output through a Cast.  Returns the rank, or -1. */
static int declared_through(const ir_graph *g, int v, int64_t *dims, int depth)
{
    const ir_value *val = ir_val(g, v);
    if (val->rank >= 0) {
        bool known = true;
        for (int k = 0; k < val->rank; k++)
            known = known && val->dims[k].size >= 0;
        if (known) {
            ir_value_dims(val, dims);
            return val->rank;
        }
    }
    if (depth >= 8)
        return -1;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        bool keeps = n->op == OP_CAST || n->op == OP_CAST_LIKE || n->op == OP_IDENTITY;
        if (n->dead || !keeps || n->n_inputs < 1 || n->inputs[0] != v || n->n_outputs != 1 || n->outputs[0] < 0)
            continue;
        int r = declared_through(g, n->outputs[0], dims, depth + 1);
        if (r >= 0)
            return r;
    }
    return -1;
}

static const op_attr_spec loop_attrs[] = {{"body", IR_ATTR_GRAPH}, {NULL, 0}};

bool cf_loop_of(const ir_graph *g, int node, cf_loop *p)
{
    const ir_node *n = ir_nd(g, node);
    const ir_graph *body = ir_node_subgraph(n, "body");
    size_t formal = n->n_inputs - n->n_captures;
    if (!body || formal < 2 || body->n_outputs < formal - 1)
        return false;
    p->has_trip = n->inputs[0] >= 0;
    p->has_cond = n->inputs[1] >= 0;
    p->n_carried = formal - 2;
    p->n_scan = body->n_outputs - 1 - p->n_carried;
    p->scan_len = 0;
    if (p->n_scan) {
        int v = n->outputs[p->n_carried];
        p->scan_len = v >= 0 ? ir_val(g, v)->dims[0].size : 0;
    }
    return true;
}

bool cf_loop_cond_may_end(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ir_graph *body = ir_node_subgraph(n, "body");
    int64_t v;
    if (n->n_inputs < 2 || n->inputs[1] < 0)
        return false;
    if (!body || ir_const_as_i64(g, n->inputs[1], &v, 1) != 1 || v == 0 || body->n_outputs < 1 || body->n_inputs < 2)
        return true;
    int co = body->outputs[0];
    if (co == body->inputs[1] || (ir_const_as_i64(body, co, &v, 1) == 1 && v != 0))
        return false;
    const ir_value *cv = ir_val(body, co);
    if (cv->kind == IR_VALUE_NODE && cv->producer >= 0) {
        const ir_node *p = ir_nd(body, cv->producer);
        if (p->op == OP_IDENTITY && p->n_inputs == 1 && p->inputs[0] == body->inputs[1])
            return false;
    }
    return true;
}

static bool loop_type(op_ctx *c)
{
    size_t formal = formal_inputs(c);
    if (formal < 2)
        return op_fail(c,
                       "has %zu inputs; Loop takes the trip count and the condition (either may be empty), then "
                       "its loop-carried values",
                       formal);
    size_t n_carried = formal - 2;
    if (!need_all_outputs(c))
        return false;
    ir_graph *body = need_sub(c, "body", formal, "the iteration number, the condition and one per loop-carried value");
    if (!body)
        return false;
    type_input(body, 0, HODU_DTYPE_I64, 0, NULL);
    type_input(body, 1, HODU_DTYPE_BOOL, 0, NULL);
    for (size_t k = 0; k < n_carried; k++) {
        const ir_value *v = op_need_static(c, 2 + k);
        if (!v)
            return false;
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(v, dims);
        type_input(body, 2 + k, v->dtype, v->rank, dims);
        /* a run-time dim of a loop-carried value is one in the body too */
        if (!share_rt_dims(c, body, ir_val(body, body->inputs[2 + k]), v, 0, -1))
            return false;
    }
    return true;
}

static bool loop_infer(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_graph *body = ir_node_subgraph(n, "body");
    size_t n_carried = formal_inputs(c) - 2;
    if (body->n_outputs < 1 + n_carried)
        return op_fail(c, "its body gives %zu results; it must give the condition and %zu loop-carried values",
                       body->n_outputs, n_carried);
    size_t n_scan = body->n_outputs - 1 - n_carried;
    if (n->n_outputs != n_carried + n_scan)
        return op_fail(c, "has %zu outputs; its body gives %zu loop-carried values and %zu scan outputs", n->n_outputs,
                       n_carried, n_scan);
    bool has_trip = op_in(c, 0) != NULL, has_cond = op_in(c, 1) != NULL;
    if (!has_trip && !has_cond)
        return op_fail(c, "has neither a trip count nor a condition: it would never end");
    if (has_trip && !need_scalar(c, 0, HODU_DTYPE_I64, "the trip count"))
        return false;
    if (has_cond && !need_scalar(c, 1, HODU_DTYPE_BOOL, "the condition"))
        return false;
    const ir_value *co = ir_val(body, body->outputs[0]);
    if (co->dtype != HODU_DTYPE_BOOL || ir_value_numel(co) != 1)
        return op_fail(c, "its body's first result ('%s') must be the condition, one bool", co->name);
    for (size_t k = 0; k < n_carried; k++) {
        const ir_value *in = op_in(c, 2 + k), *out = ir_val(body, body->outputs[1 + k]);
        if (!ir_same_type(in, out)) {
            char *fmt = hd_xasprintf("loop-carried value %zu ('%s') goes in as %%s but the body gives %%s; it must "
                                     "keep its type and shape",
                                     k, in->name);
            fail_types(c, fmt, in, out);
            free(fmt);
            return false;
        }
        op_set_out_like(c, k, in);
    }
    /* The scan outputs' length: the trip count when nothing else can end
     * the loop, else the shape the model declares (checked at run time). */
    int64_t m = -1, len = -1;
    if (has_trip && ir_const_as_i64(c->g, op_in_id(c, 0), &m, 1) == 1 && m < 0)
        m = 0;
    bool cond_ends = has_cond && cf_loop_cond_may_end(c->g, c->node);
    for (size_t j = 0; j < n_scan; j++) {
        const ir_value *e = ir_val(body, body->outputs[1 + n_carried + j]);
        if (e->rank + 1 > HODU_MAX_RANK)
            return op_fail(c, "scan output %zu would have rank %d; at most %d is supported", j, e->rank + 1,
                           HODU_MAX_RANK);
        int64_t decl[HODU_MAX_RANK], this_len = -1;
        int dr = declared_through(c->g, n->outputs[n_carried + j], decl, 0);
        if (m >= 0 && !cond_ends)
            this_len = m;
        else if (dr == e->rank + 1)
            this_len = decl[0];
        else if (m >= 0)
            this_len = m;
        if (this_len < 0)
            return op_fail(c,
                           "scan output %zu needs the number of iterations at build time: give the loop a constant "
                           "trip count, or declare the output's shape",
                           j);
        if (len >= 0 && this_len != len)
            return op_fail(c, "its scan outputs declare different lengths (%" PRId64 " and %" PRId64 ")", len,
                           this_len);
        len = this_len;
        int64_t dims[HODU_MAX_RANK];
        dims[0] = len;
        for (int i = 0; i < e->rank; i++)
            dims[1 + i] = e->dims[i].size;
        op_set_out(c, n_carried + j, e->dtype, e->rank + 1, dims);
        for (int i = 0; i < e->rank; i++)
            if (e->dims[i].rt && !result_rt_dim(c, e, i, j, &op_out(c, n_carried + j)->dims[1 + i]))
                return false;
    }
    return true;
}

OP_DEF(LOOP, .attrs = loop_attrs, .infer = loop_infer, .type_subgraphs = loop_type);

/* --- Scan ----------------------------------------------------------------- */

static const op_attr_spec scan8_attrs[] = {
    {"body", IR_ATTR_GRAPH}, {"num_scan_inputs", IR_ATTR_INT}, {"directions", IR_ATTR_INTS}, {NULL, 0}};
static const op_attr_spec scan_attrs[] = {{"body", IR_ATTR_GRAPH},
                                          {"num_scan_inputs", IR_ATTR_INT},
                                          {"scan_input_axes", IR_ATTR_INTS},
                                          {"scan_input_directions", IR_ATTR_INTS},
                                          {"scan_output_axes", IR_ATTR_INTS},
                                          {"scan_output_directions", IR_ATTR_INTS},
                                          {NULL, 0}};

/* The counts, without checks (a node inference accepted). */
static void scan_counts(const ir_graph *g, int node, cf_scan *p)
{
    const ir_node *n = ir_nd(g, node);
    p->v8 = n->op == OP_SCAN_8;
    p->first = p->v8 ? 1 : 0;
    size_t formal = n->n_inputs - n->n_captures - p->first;
    int64_t k = ir_attr_int(n, "num_scan_inputs", 0);
    p->n_in = k >= 1 && (uint64_t)k <= formal ? (size_t)k : formal;
    p->n_state = formal - p->n_in;
    p->n_out = n->n_outputs > p->n_state ? n->n_outputs - p->n_state : 0;
}

/* Raw axis and direction attribute entry k (0 when absent). */
static void scan_attr_at(const ir_node *n, const char *name, size_t k, int64_t *v)
{
    size_t cnt = 0;
    const int64_t *a = ir_attr_ints(n, name, &cnt);
    *v = a && k < cnt ? a[k] : 0;
}

void cf_scan_axis(const ir_graph *g, int node, bool output, size_t k, int *axis, bool *reverse)
{
    const ir_node *n = ir_nd(g, node);
    cf_scan p;
    scan_counts(g, node, &p);
    int64_t ax = 0, dir = 0;
    if (p.v8) {
        if (!output)
            scan_attr_at(n, "directions", k, &dir);
    } else {
        scan_attr_at(n, output ? "scan_output_axes" : "scan_input_axes", k, &ax);
        scan_attr_at(n, output ? "scan_output_directions" : "scan_input_directions", k, &dir);
        int v = output ? n->outputs[p.n_state + k] : n->inputs[p.n_state + k];
        int rank = v >= 0 ? ir_val(g, v)->rank : 1;
        if (ax < 0)
            ax += rank;
    }
    *axis = (int)ax;
    *reverse = dir != 0;
}

bool cf_scan_of(const ir_graph *g, int node, cf_scan *p)
{
    scan_counts(g, node, p);
    const ir_node *n = ir_nd(g, node);
    if (p->n_in == 0)
        return false;
    const ir_value *x = ir_val(g, n->inputs[p->first + p->n_state]);
    int axis;
    bool rev;
    cf_scan_axis(g, node, false, 0, &axis, &rev);
    p->batch = p->v8 ? x->dims[0].size : 1;
    p->len = p->v8 ? x->dims[1].size : x->dims[axis].size;
    p->len_dim = p->v8 ? x->dims[1] : x->dims[axis];
    return true;
}

static bool scan_type(op_ctx *c)
{
    const ir_node *n = op_node(c);
    cf_scan p;
    scan_counts(c->g, c->node, &p);
    size_t formal = formal_inputs(c) - p.first;
    int64_t k = ir_attr_int(n, "num_scan_inputs", -1);
    if (k < 1 || (uint64_t)k > formal)
        return op_fail(c, "num_scan_inputs is %" PRId64 "; it must be between 1 and the %zu state and scan inputs", k,
                       formal);
    if (!need_all_outputs(c))
        return false;
    if (p.v8 && n->inputs[0] >= 0)
        return op_fail(c, "sequence_lens is not supported (every sequence must run the full length: omit it)");
    ir_graph *body = need_sub(c, "body", formal, "one per state and one per scan input");
    if (!body)
        return false;
    /* Attribute lists: one entry per scan input (output), if given. */
    static const char *const lists[] = {"directions", "scan_input_axes", "scan_input_directions", "scan_output_axes",
                                        "scan_output_directions"};
    for (size_t i = p.v8 ? 0 : 1; i < (p.v8 ? 1 : HD_ARRAY_LEN(lists)); i++) {
        size_t cnt = 0, want = i >= 3 ? p.n_out : p.n_in;
        const int64_t *a = ir_attr_ints(n, lists[i], &cnt);
        if (a && cnt != want)
            return op_fail(c, "attribute '%s' has %zu entries; it needs one per scan %s (%zu)", lists[i], cnt,
                           i >= 3 ? "output" : "input", want);
        for (size_t j = 0; a && j < cnt; j++)
            if (strstr(lists[i], "direction") && a[j] != 0 && a[j] != 1)
                return op_fail(c, "attribute '%s' entry %zu is %" PRId64 "; a direction is 0 or 1", lists[i], j, a[j]);
    }
    int64_t len = -1, batch = -1;
    const char *len_sym = NULL; /* a run-time length: its symbol */
    for (size_t i = 0; i < p.n_state + p.n_in; i++) {
        const ir_value *v = op_need_static(c, p.first + i);
        if (!v)
            return false;
        if (p.v8 && ir_value_has_rt(v))
            return op_fail(c,
                           "'%s' has run-time dims; Scan of opset 8 does not take them yet (build with fixed "
                           "sizes: --dim SYM=N)",
                           v->name);
        bool scan = i >= p.n_state;
        int skip = (p.v8 ? 1 : 0) + (scan ? 1 : 0); /* axes the body does not see */
        if (v->rank < skip)
            return op_fail(c, "%s '%s' has rank %d; it needs at least %d", scan ? "scan input" : "state", v->name,
                           v->rank, skip);
        if (p.v8) {
            if (batch >= 0 && v->dims[0].size != batch)
                return op_fail(c, "'%s' has batch size %" PRId64 " but an earlier operand %" PRId64, v->name,
                               v->dims[0].size, batch);
            batch = v->dims[0].size;
        }
        int64_t dims[HODU_MAX_RANK];
        int r = 0, axis = p.v8 ? 1 : 0;
        if (scan && !p.v8) {
            int64_t ax;
            scan_attr_at(n, "scan_input_axes", i - p.n_state, &ax);
            if (ax < -(int64_t)v->rank || ax >= v->rank)
                return op_fail(c, "scan input axis %" PRId64 " is out of range for '%s' of rank %d", ax, v->name,
                               v->rank);
            axis = (int)(ax < 0 ? ax + v->rank : ax);
        }
        if (scan) {
            const char *sym = v->dims[axis].rt ? v->dims[axis].sym : NULL;
            if (len >= 0 &&
                (v->dims[axis].size != len || (sym && len_sym ? strcmp(sym, len_sym) != 0 : sym != len_sym)))
                return op_fail(
                    c, "scan input '%s' has %s%" PRId64 " entries along its scan axis but an earlier one %s%" PRId64,
                    v->name, sym ? "up to " : "", v->dims[axis].size, len_sym ? "up to " : "", len);
            len = v->dims[axis].size;
            len_sym = sym;
        }
        for (int d = p.v8 ? 1 : 0; d < v->rank; d++)
            if (!(scan && d == axis))
                dims[r++] = v->dims[d].size;
        type_input(body, i, v->dtype, r, dims);
        if (!share_rt_dims(c, body, ir_val(body, body->inputs[i]), v, p.v8 ? 1 : 0, scan ? axis : -1))
            return false;
    }
    return true;
}

static bool scan_infer(op_ctx *c)
{
    const ir_node *n = op_node(c);
    const ir_graph *body = ir_node_subgraph(n, "body");
    cf_scan p;
    scan_counts(c->g, c->node, &p);
    if (body->n_outputs != n->n_outputs || body->n_outputs < p.n_state)
        return op_fail(c, "has %zu outputs but its body gives %zu results (%zu states and the scan outputs)",
                       n->n_outputs, body->n_outputs, p.n_state);
    cf_scan_of(c->g, c->node, &p);
    for (size_t k = 0; k < p.n_state; k++) {
        const ir_value *in = ir_val(body, body->inputs[k]), *out = ir_val(body, body->outputs[k]);
        if (!ir_same_type(in, out)) {
            char *fmt = hd_xasprintf("state %zu goes into the body as %%s but the body gives %%s; it must keep its "
                                     "type and shape",
                                     k);
            fail_types(c, fmt, in, out);
            free(fmt);
            return false;
        }
        op_set_out_like(c, k, op_in(c, p.first + k));
    }
    for (size_t j = 0; j < p.n_out; j++) {
        const ir_value *e = ir_val(body, body->outputs[p.n_state + j]);
        int rank = e->rank + 1 + (p.v8 ? 1 : 0);
        if (rank > HODU_MAX_RANK)
            return op_fail(c, "scan output %zu would have rank %d; at most %d is supported", j, rank, HODU_MAX_RANK);
        int64_t dims[HODU_MAX_RANK], ax = 0;
        int at = 0;
        if (p.v8) {
            dims[at++] = p.batch;
        } else {
            scan_attr_at(n, "scan_output_axes", j, &ax);
            if (ax < -(int64_t)rank || ax >= rank)
                return op_fail(c, "scan output axis %" PRId64 " is out of range for scan output %zu of rank %d", ax, j,
                               rank);
            if (ax < 0)
                ax += rank;
        }
        for (int d = 0, src = 0; d < rank - at; d++)
            dims[at + d] = d == ax ? p.len : e->dims[src++].size;
        op_set_out(c, p.n_state + j, e->dtype, rank, dims);
        ir_value *out = op_out(c, p.n_state + j);
        for (int d = 0, src = 0; d < rank - at; d++) {
            if (d == ax) /* a run-time length is the scan inputs' */
                out->dims[at + d] = p.len_dim;
            else if (e->dims[src].rt && !result_rt_dim(c, e, src, j, &out->dims[at + d]))
                return false;
            if (d != ax)
                src++;
        }
    }
    return true;
}

OP_DEF(SCAN_8, .attrs = scan8_attrs, .infer = scan_infer, .type_subgraphs = scan_type);
OP_DEF(SCAN, .attrs = scan_attrs, .infer = scan_infer, .type_subgraphs = scan_type);
