/*
 * script/lower.c - IR building for the HoduScript checker.
 */
#include "script/lower.h"

#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

static ir_loc text_loc(const hs_lower *L, hs_span at)
{
    ir_loc l = {.kind = IR_LOC_TEXT, .line = at.line, .col = at.col, .end_line = at.end_line, .end_col = at.end_col};
    l.file = L->files && at.file >= 0 ? L->files[at.file] : NULL;
    return l;
}

void lw_set_loc(hs_lower *L, int value, hs_span at)
{
    if (L->g && value >= 0)
        L->g->values[value].loc = text_loc(L, at);
}

int lw_node(hs_lower *L, const char *op, const int *ins, size_t n, hs_span at, const char *name)
{
    L->n_nodes++;
    if (!L->g)
        return -1;
    /* Names are unique: the node count makes them so. */
    char *nm = hd_xasprintf("%s_%zu", name && *name ? name : op, L->n_nodes);
    int out = ir_value_new(L->g, nm);
    int node = ir_node_new(L->g, op, "", nm, ins, n, &out, 1);
    L->g->nodes[node].op = op_find("", op, L->g->opset); /* as the ONNX loader resolves it */
    ir_node_set_loc(L->g, node, text_loc(L, at));
    free(nm);
    return out;
}

static int producer(hs_lower *L, int value) { return L->g && value >= 0 ? L->g->values[value].producer : -1; }

void lw_attr_int(hs_lower *L, int value, const char *name, int64_t v)
{
    int nd = producer(L, value);
    if (nd >= 0)
        ir_node_add_attr(L->g, nd, name, IR_ATTR_INT)->i = v;
}

void lw_attr_float(hs_lower *L, int value, const char *name, double v)
{
    int nd = producer(L, value);
    if (nd >= 0)
        ir_node_add_attr(L->g, nd, name, IR_ATTR_FLOAT)->f = v;
}

void lw_attr_ints(hs_lower *L, int value, const char *name, const int64_t *v, size_t n)
{
    int nd = producer(L, value);
    if (nd < 0)
        return;
    ir_attr *a = ir_node_add_attr(L->g, nd, name, IR_ATTR_INTS);
    a->n = n;
    a->ints = hd_xmalloc((n ? n : 1) * sizeof(int64_t));
    if (n)
        memcpy(a->ints, v, n * sizeof(int64_t));
}

int lw_scalar(hs_lower *L, hodu_dtype dtype, double v, hs_span at)
{
    if (!L->g)
        return -1;
    size_t sz = ir_dtype_size(dtype);
    unsigned char *p = ir_graph_keep(L->g, hd_xcalloc(1, sz ? sz : 1));
    switch (dtype) {
    case HODU_DTYPE_F32: {
        float f = (float)v;
        memcpy(p, &f, 4);
    } break;
    case HODU_DTYPE_F64: memcpy(p, &v, 8); break;
    case HODU_DTYPE_I8: {
        int8_t x = (int8_t)v;
        memcpy(p, &x, 1);
    } break;
    case HODU_DTYPE_I16: {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } break;
    case HODU_DTYPE_I32: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } break;
    case HODU_DTYPE_I64: {
        int64_t x = (int64_t)v;
        memcpy(p, &x, 8);
    } break;
    case HODU_DTYPE_U8:
    case HODU_DTYPE_BOOL: {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
    } break;
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: {
        /* Round-to-nearest from the float's bits is not needed here: the
         * literals the checker accepts for these types are converted by a
         * Cast node instead (see check.c); this path writes bf16 only. */
        float f = (float)v;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        uint16_t h = (uint16_t)(bits >> 16);
        memcpy(p, &h, 2);
    } break;
    default: break;
    }
    char *nm = hd_xasprintf("const_%zu", L->g->n_values);
    int c = ir_const_new(L->g, nm, dtype, 0, NULL, p, sz);
    free(nm);
    lw_set_loc(L, c, at);
    return c;
}

int lw_i64s(hs_lower *L, const int64_t *v, size_t n, hs_span at)
{
    if (!L->g)
        return -1;
    int64_t *p = ir_graph_keep(L->g, hd_xmalloc((n ? n : 1) * sizeof(int64_t)));
    if (n)
        memcpy(p, v, n * sizeof(int64_t));
    int64_t dim = (int64_t)n;
    char *nm = hd_xasprintf("const_%zu", L->g->n_values);
    int c = ir_const_new(L->g, nm, HODU_DTYPE_I64, 1, &dim, p, n * sizeof(int64_t));
    free(nm);
    lw_set_loc(L, c, at);
    return c;
}

/* --- run-time if ----------------------------------------------------------- */

lw_mark lw_mark_now(const hs_lower *L) { return L->g ? (lw_mark){L->g->n_values, L->g->n_nodes} : (lw_mark){0, 0}; }

/* A node in `g` (the graph or a branch) with the given outputs. */
static int node_in(hs_lower *L, ir_graph *g, const char *op, const int *ins, size_t n, const int *outs, size_t n_out,
                   hs_span at)
{
    char *nm = hd_xasprintf("%s_%zu", op, ++L->n_nodes);
    int node = ir_node_new(g, op, "", nm, ins, n, outs, n_out);
    g->nodes[node].op = op_find("", op, g->opset);
    ir_node_set_loc(g, node, text_loc(L, at));
    free(nm);
    return node;
}

/* Gives `sub` an input for each capture it lacks, in order.  Untyped:
 * inference gives a captured input its operand's type (infer.c). */
static void pad_captures(hs_lower *L, ir_graph *sub, const lw_caps *caps)
{
    if (sub->n_inputs < caps->formal) /* a body whose formal inputs come later */
        return;
    for (size_t k = sub->n_inputs - caps->formal; k < caps->n; k++) {
        const ir_value *o = &L->g->values[caps->v[k]];
        int v = ir_value_new(sub, o->name);
        sub->values[v].kind = IR_VALUE_INPUT;
        sub->values[v].loc = o->loc;
        if (o->loc.file)
            sub->values[v].loc.file = ir_graph_file(sub, o->loc.file);
        HD_PUSH(sub->inputs, sub->n_inputs, sub->cap_inputs, v);
    }
}

int lw_capture(hs_lower *L, ir_graph *sub, lw_caps *caps, int v)
{
    if (!L->g || !sub || v < 0)
        return -1;
    size_t k = 0;
    while (k < caps->n && caps->v[k] != v)
        k++;
    if (k == caps->n)
        HD_PUSH(caps->v, caps->n, caps->cap, v);
    pad_captures(L, sub, caps);
    return sub->inputs[caps->formal + k]; /* the captures follow the formal inputs */
}

/* Where value x of the graph is in the branch being moved: a region value
 * keeps its place after the captures the branch started with, an older one
 * is captured. */
static int moved(hs_lower *L, ir_graph *sub, lw_caps *caps, lw_mark m, size_t base, int x)
{
    if (x < 0)
        return x;
    if ((size_t)x >= m.values)
        return (int)(base + ((size_t)x - m.values));
    return lw_capture(L, sub, caps, x);
}

static ir_graph *move_region(hs_lower *L, lw_mark m, const char *name, lw_caps *caps, const int *formal,
                             size_t n_formal, int *keep, size_t n_keep)
{
    ir_graph *g = L->g;
    if (!g)
        return NULL;
    ir_graph *sub = ir_graph_new(name, g->source);
    sub->opset = g->opset;
    sub->parent = g;
    caps->formal = n_formal;
    pad_captures(L, sub, caps);
    /* The region's values keep their order; each outer value read is
     * captured once.  Values and nodes are moved (names, attributes and
     * nested subgraphs change owner), so the graph only forgets them. */
    size_t nv = g->n_values - m.values, base = sub->n_values;
    for (size_t i = 0; i < nv; i++) {
        ir_value v = g->values[m.values + i];
        for (int k = 0; k < v.rank && k < HODU_MAX_RANK; k++)
            if (v.dims[k].sym)
                v.dims[k].sym = ir_graph_symbol(sub, v.dims[k].sym);
        if (v.loc.file)
            v.loc.file = ir_graph_file(sub, v.loc.file);
        if (v.producer >= 0)
            v.producer -= (int)m.nodes;
        HD_PUSH(sub->values, sub->n_values, sub->cap_values, v);
    }
    /* formal inputs go first: a capture made while moving the nodes follows them */
    for (size_t i = 0; i < n_formal; i++) {
        int v = (int)(base + ((size_t)formal[i] - m.values));
        sub->values[v].kind = IR_VALUE_INPUT;
        HD_PUSH(sub->inputs, sub->n_inputs, sub->cap_inputs, v);
    }
    for (size_t j = m.nodes; j < g->n_nodes; j++) {
        ir_node n = g->nodes[j];
        for (size_t i = 0; i < n.n_inputs; i++)
            n.inputs[i] = moved(L, sub, caps, m, base, n.inputs[i]);
        for (size_t i = 0; i < n.n_outputs; i++)
            n.outputs[i] = moved(L, sub, caps, m, base, n.outputs[i]);
        if (n.loc.file)
            n.loc.file = ir_graph_file(sub, n.loc.file);
        HD_PUSH(sub->nodes, sub->n_nodes, sub->cap_nodes, n);
        for (size_t a = 0; a < n.n_attrs; a++)
            if (n.attrs[a].graph) { /* a nested if: its branches now hang below this one */
                n.attrs[a].graph->parent = sub;
                n.attrs[a].graph->parent_node = (int)sub->n_nodes - 1;
            }
    }
    for (size_t i = 0; i < n_keep; i++)
        keep[i] = moved(L, sub, caps, m, base, keep[i]);
    g->n_values = m.values;
    g->n_nodes = m.nodes;
    return sub;
}

ir_graph *lw_branch(hs_lower *L, lw_mark m, const char *name, lw_caps *caps, int *keep, size_t n_keep)
{
    return move_region(L, m, name, caps, NULL, 0, keep, n_keep);
}

ir_graph *lw_body(hs_lower *L, lw_mark m, lw_caps *caps, const int *formal, size_t n_formal, int *keep, size_t n_keep)
{
    return move_region(L, m, "body", caps, formal, n_formal, keep, n_keep);
}

int lw_value(hs_lower *L, const char *name, hs_span at)
{
    if (!L->g)
        return -1;
    char *nm = hd_xasprintf("%s_%zu", name, ++L->n_nodes);
    int v = ir_value_new(L->g, nm);
    free(nm);
    lw_set_loc(L, v, at);
    return v;
}

void lw_result(hs_lower *L, ir_graph *sub, int v, hs_span at)
{
    if (!L->g || !sub || v < 0)
        return;
    /* Each result is a node's own value in the branch, as the model's
     * outputs are (a capture or a constant passed through gets a copy). */
    const ir_value *x = &sub->values[v];
    if (x->kind != IR_VALUE_NODE || x->is_output) {
        char *nm = hd_xasprintf("Identity_%zu", L->n_nodes + 1);
        int out = ir_value_new(sub, nm);
        free(nm);
        node_in(L, sub, "Identity", &v, 1, &out, 1, at);
        v = out;
    }
    sub->values[v].is_output = true;
    HD_PUSH(sub->outputs, sub->n_outputs, sub->cap_outputs, v);
}

void lw_if(hs_lower *L, int cond, ir_graph *then_g, ir_graph *else_g, lw_caps *caps, size_t n_out, hs_span at,
           int *outs)
{
    ir_graph *g = L->g;
    if (!g || cond < 0 || !then_g || !else_g) {
        ir_graph_free(then_g);
        ir_graph_free(else_g);
        for (size_t i = 0; i < n_out; i++)
            outs[i] = -1;
        return;
    }
    pad_captures(L, then_g, caps);
    pad_captures(L, else_g, caps);
    int *ins = hd_xmalloc((caps->n + 1) * sizeof(int));
    ins[0] = cond;
    if (caps->n)
        memcpy(ins + 1, caps->v, caps->n * sizeof(int));
    for (size_t i = 0; i < n_out; i++) {
        char *nm = hd_xasprintf("If_%zu_%zu", L->n_nodes + 1, i);
        outs[i] = ir_value_new(g, nm);
        free(nm);
    }
    int node = node_in(L, g, "If", ins, caps->n + 1, outs, n_out, at);
    free(ins);
    g->nodes[node].n_captures = caps->n;
    ir_graph *br[2] = {then_g, else_g};
    const char *names[2] = {"then_branch", "else_branch"};
    for (int k = 0; k < 2; k++) {
        br[k]->parent_node = node;
        ir_node_add_attr(g, node, names[k], IR_ATTR_GRAPH)->graph = br[k];
    }
}

void lw_loop(hs_lower *L, int trip, const int *init, size_t n, ir_graph *body, lw_caps *caps, hs_span at, int *outs)
{
    ir_graph *g = L->g;
    if (!g || trip < 0 || !body) {
        ir_graph_free(body);
        for (size_t i = 0; i < n; i++)
            outs[i] = -1;
        return;
    }
    pad_captures(L, body, caps);
    /* no condition operand: the trip count alone ends the loop */
    int *ins = hd_xmalloc((2 + n + caps->n) * sizeof(int));
    ins[0] = trip;
    ins[1] = -1;
    if (n)
        memcpy(ins + 2, init, n * sizeof(int));
    if (caps->n)
        memcpy(ins + 2 + n, caps->v, caps->n * sizeof(int));
    for (size_t i = 0; i < n; i++) {
        char *nm = hd_xasprintf("Loop_%zu_%zu", L->n_nodes + 1, i);
        outs[i] = ir_value_new(g, nm);
        free(nm);
    }
    int node = node_in(L, g, "Loop", ins, 2 + n + caps->n, outs, n, at);
    free(ins);
    g->nodes[node].n_captures = caps->n;
    body->parent_node = node;
    ir_node_add_attr(g, node, "body", IR_ATTR_GRAPH)->graph = body;
}
