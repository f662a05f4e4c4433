/*
 * passes/infer.c - op resolution, shape inference with host-side constant
 * folding, and dead-code elimination.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops/control.h"
#include "ops/ops.h"
#include "passes.h"

/* Folding evaluates on the host; past this size a result stays a run-time
 * computation so a build never balloons. */
#define FOLD_MAX_BYTES ((size_t)256 << 20)

bool pass_resolve_ops(ir_graph *g, hd_diag *d)
{
    size_t errors = d->n_errors;
    for (size_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (n->op < 0)
            n->op = op_find(n->domain, n->op_type, g->opset);
        if (n->op < 0) {
            const char *dom = (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) ? n->domain : NULL;
            if (dom)
                ir_node_error(d, g, (int)i, "unsupported op %s.%s (domain '%s', opset %" PRId64 ")", dom, n->op_type,
                              dom, g->opset);
            else
                ir_node_error(d, g, (int)i, "unsupported op %s (opset %" PRId64 ")", n->op_type, g->opset);
            continue;
        }
        op_check_node(g, (int)i, d);
        for (size_t a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].graph)
                pass_resolve_ops(n->attrs[a].graph, d);
    }
    return d->n_errors == errors;
}

/* A captured operand that is a constant of the outer graph becomes a
 * constant of the subgraph (sharing the outer graph's bytes, which outlive
 * it), so shape-deciding operands stay known at build time; the input
 * stays, unread. */
static void inline_const_capture(ir_graph *sub, int input, const ir_value *c)
{
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(c, dims);
    int k = ir_const_new(sub, c->name, c->dtype, c->rank, dims, c->data, c->nbytes);
    ir_val(sub, k)->loc = c->loc;
    ir_value *kv = ir_val(sub, k);
    for (size_t i = 0; i < sub->n_nodes; i++)
        for (size_t j = 0; j < sub->nodes[i].n_inputs; j++)
            if (sub->nodes[i].inputs[j] == input)
                sub->nodes[i].inputs[j] = k;
    for (size_t i = 0; i < sub->n_outputs; i++)
        if (sub->outputs[i] == input) {
            sub->outputs[i] = k;
            kv->is_output = true;
            ir_val(sub, input)->is_output = false;
        }
}

/* The branch an If with a build-time condition takes ("then_branch" or
 * "else_branch"), or NULL when the condition is known only at run time. */
static const char *taken_branch(const ir_graph *g, int id)
{
    if (g->nodes[id].op != OP_IF)
        return NULL;
    int k = cf_if_const_cond(g, id);
    return k < 0 ? NULL : k ? "then_branch" : "else_branch";
}

/* Infers the subgraphs of control-flow node `id`: the op types their
 * formal inputs, captured inputs take their operands' types, then each
 * subgraph goes through inference, folding and dead-code elimination.  An
 * If whose condition is known infers only the branch it takes (the other
 * may not even hold together for these shapes). */
static bool infer_subgraphs(ir_graph *g, int id, hd_diag *d)
{
    ir_node *n = &g->nodes[id];
    const op_def *def = op_get(n->op);
    op_ctx c = {g, id, d};
    if (!def->type_subgraphs(&c))
        return false;
    const char *only = taken_branch(g, id);
    for (size_t a = 0; a < n->n_attrs; a++) {
        ir_graph *sub = n->attrs[a].graph;
        if (!sub || (only && strcmp(n->attrs[a].name, only) != 0))
            continue;
        for (size_t k = 0; k < n->n_captures; k++) {
            const ir_value *outer = &g->values[n->inputs[n->n_inputs - n->n_captures + k]];
            int in = sub->inputs[sub->n_inputs - n->n_captures + k];
            ir_value *v = ir_val(sub, in);
            v->dtype = outer->dtype;
            v->rank = outer->rank;
            memcpy(v->dims, outer->dims, sizeof(v->dims));
            for (int i = 0; i < v->rank; i++) /* bound by now: sizes are what counts */
                v->dims[i].sym = outer->dims[i].rt ? cf_share_symbol(sub, g, outer->dims[i].sym) : NULL;
            for (int i = 0; i < v->rank; i++)
                if (outer->dims[i].rt && !v->dims[i].sym) {
                    ir_node_error(d, g, id, "captured value '%s' dim %d is the run-time dim '%s', which has no range",
                                  outer->name, i, outer->dims[i].sym);
                    return false;
                }
            if (outer->kind == IR_VALUE_CONST)
                inline_const_capture(sub, in, outer);
        }
        if (!pass_infer_fold(sub, d))
            return false;
        pass_dce(sub);
    }
    return true;
}

static bool all_inputs_const(const ir_graph *g, const ir_node *n)
{
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && g->values[n->inputs[j]].kind != IR_VALUE_CONST)
            return false;
    return true;
}

static bool all_outputs_const(const ir_graph *g, const ir_node *n)
{
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0 && g->values[n->outputs[j]].kind != IR_VALUE_CONST)
            return false;
    return true;
}

/* The value of g that result `v` of sub is as mapped (a moved node's
 * result or a captured value), or sub's constant, shared. */
static int result_value(ir_graph *g, const ir_graph *sub, int *map, int v)
{
    if (map[v] < 0) {
        const ir_value *cv = &sub->values[v];
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(cv, dims);
        map[v] = ir_const_new(g, cv->name, cv->dtype, cv->rank, dims, cv->data, cv->nbytes);
        g->values[map[v]].loc = cv->loc;
    }
    return map[v];
}

/* Moves sub's live nodes into g, in schedule order: map[] takes sub's
 * values to g's (captures filled in by the caller; -1: made here, a
 * constant of sub shared or a result given a new value).  With `typed` the
 * new values keep their inferred types, else they are inferred later.
 * Each moved node gets `guard` (ir_node.guard); its id is appended to
 * *added when that is not NULL.  The sub's nodes are left dead. */
static void move_nodes(ir_graph *g, ir_graph *sub, int *map, bool typed, int guard, bool guard_else, int **added,
                       size_t *n_added)
{
    size_t count = 0;
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    int *order = ir_schedule(sub, &count, &quiet);
    hd_diag_free(&quiet);
    for (size_t k = 0; order && k < count; k++) {
        ir_node *m = &sub->nodes[order[k]];
        int *ins = hd_xmalloc((m->n_inputs ? m->n_inputs : 1) * sizeof(int));
        int *mo = hd_xmalloc((m->n_outputs ? m->n_outputs : 1) * sizeof(int));
        for (size_t j = 0; j < m->n_inputs; j++) {
            int v = m->inputs[j];
            if (v >= 0 && map[v] < 0) { /* a constant of the branch */
                const ir_value *cv = &sub->values[v];
                int64_t dims[HODU_MAX_RANK];
                ir_value_dims(cv, dims);
                map[v] = ir_const_new(g, cv->name, cv->dtype, cv->rank, dims, cv->data, cv->nbytes);
                g->values[map[v]].loc = cv->loc;
            }
            ins[j] = v >= 0 ? map[v] : -1;
        }
        for (size_t j = 0; j < m->n_outputs; j++) {
            int v = m->outputs[j];
            if (v >= 0 && map[v] < 0) {
                const ir_value *sv = &sub->values[v];
                int nv = ir_value_new(g, sv->name);
                if (typed) {
                    g->values[nv].dtype = sv->dtype;
                    g->values[nv].rank = sv->rank;
                    for (int r = 0; r < sv->rank; r++)
                        g->values[nv].dims[r] = (ir_dim){.size = sv->dims[r].size, .data_dep = sv->dims[r].data_dep};
                }
                map[v] = nv;
            }
            mo[j] = v >= 0 ? map[v] : -1;
        }
        int nn = ir_node_new(g, m->op_type, m->domain, m->name, ins, m->n_inputs, mo, m->n_outputs);
        ir_node *moved = &g->nodes[nn];
        moved->op = m->op;
        moved->n_captures = m->n_captures;
        moved->guard = guard;
        moved->guard_else = guard_else;
        /* The attributes (and any subgraphs in them) change hands. */
        free(moved->attrs);
        moved->attrs = m->attrs;
        moved->n_attrs = m->n_attrs;
        moved->cap_attrs = m->cap_attrs;
        m->attrs = NULL;
        m->n_attrs = m->cap_attrs = 0;
        for (size_t a = 0; a < moved->n_attrs; a++) {
            ir_attr *at = &moved->attrs[a];
            if (at->graph) {
                at->graph->parent = g;
                at->graph->parent_node = nn;
            }
            if (at->kind == IR_ATTR_TENSOR && at->tensor >= 0) /* a value of sub: now one of g */
                at->tensor = result_value(g, sub, map, at->tensor);
        }
        m->dead = true;
        ir_node_set_loc(g, nn, m->loc);
        if (added)
            (*added)[(*n_added)++] = nn;
        free(ins);
        free(mo);
    }
    free(order);
}

/* The map of a subgraph of node `id`: its captured inputs to the node's
 * operands, everything else -1. */
static int *capture_map(const ir_graph *g, int id, const ir_graph *sub)
{
    const ir_node *n = &g->nodes[id];
    int *map = hd_xmalloc((sub->n_values ? sub->n_values : 1) * sizeof(int));
    for (size_t v = 0; v < sub->n_values; v++)
        map[v] = -1;
    size_t n_caps = n->n_captures, first_cap = n->n_inputs - n_caps;
    for (size_t k = 0; k < n_caps; k++)
        map[sub->inputs[sub->n_inputs - n_caps + k]] = n->inputs[first_cap + k];
    return map;
}

/* Replaces If node `id`, whose condition is known, by the nodes of the
 * branch it takes (inferred and folded already): their values become
 * values of g, captured inputs become the If's operands, and the branch's
 * results become the If's outputs.  The If is left dead (it still owns the
 * branches, whose constants the moved nodes may read). */
static void inline_branch(ir_graph *g, int id, ir_graph *sub)
{
    ir_node *n = &g->nodes[id];
    int *map = capture_map(g, id, sub);
    /* Results computed by a branch node define the If's outputs directly. */
    int *outs = hd_xmalloc((n->n_outputs ? n->n_outputs : 1) * sizeof(int));
    memcpy(outs, n->outputs, n->n_outputs * sizeof(int));
    size_t n_outs = n->n_outputs;
    for (size_t i = 0; i < sub->n_outputs && i < n_outs; i++) {
        int v = sub->outputs[i];
        if (sub->values[v].kind == IR_VALUE_NODE && map[v] < 0)
            map[v] = outs[i];
    }
    n->dead = true;
    move_nodes(g, sub, map, true, -1, false, NULL, NULL);
    /* Results that are constants or captured values: the output takes the
     * constant, or an Identity copies the operand. */
    for (size_t i = 0; i < sub->n_outputs && i < n_outs; i++) {
        int v = sub->outputs[i], o = outs[i];
        if (map[v] == o)
            continue;
        const ir_value *sv = &sub->values[v];
        if (sv->kind == IR_VALUE_CONST) {
            ir_value_set_const(g, o, sv->data, sv->nbytes);
        } else {
            int src = map[v];
            int nn = ir_node_new(g, "Identity", "", g->values[o].name, &src, 1, &o, 1);
            g->nodes[nn].op = OP_IDENTITY;
        }
    }
    free(outs);
    free(map);
}

/* An If that inline_guarded can take apart: two branches without formal
 * inputs, each giving every result of the node. */
static bool if_arity_ok(const ir_graph *g, int id)
{
    const ir_node *n = &g->nodes[id];
    const char *names[2] = {"then_branch", "else_branch"};
    for (int b = 0; b < 2; b++) {
        const ir_graph *sub = ir_node_subgraph(n, names[b]);
        if (!sub || sub->n_inputs != n->n_captures || sub->n_outputs != n->n_outputs)
            return false;
    }
    for (size_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] < 0)
            return false;
    return n->n_inputs >= 1 && n->inputs[0] >= 0;
}

/* An If over run-time dims whose condition the run decides: both branches'
 * nodes move into g before inference, each guarded by the condition
 * (ir_node.guard), and each result of the If becomes a hodu.Phi of the two
 * branches' results (a condition known at build time: its branch's nodes
 * alone, the results through Identity).  The inlined nodes are then inferred as g's own, with
 * everything run-time dims have (a branch's result may even differ in size
 * from the other's: the Phi's dim is then decided when the model runs).
 * Returns the new nodes, in an order to infer them, in *added. */
static void inline_guarded(ir_graph *g, int id, int **added, size_t *n_added)
{
    const char *names[2] = {"then_branch", "else_branch"};
    /* a condition known at build time: only its branch, unguarded */
    int known = cf_if_const_cond(g, id), first = known == 0 ? 1 : 0, last = known == 1 ? 0 : 1;
    size_t total = g->nodes[id].n_outputs;
    for (int b = first; b <= last; b++)
        total += ir_node_subgraph(&g->nodes[id], names[b])->n_nodes;
    *added = hd_xmalloc((total ? total : 1) * sizeof(int));
    *n_added = 0;
    int cond = g->nodes[id].inputs[0];
    /* with a known condition, the If's own guard (it may sit in a branch
     * inlined before) goes to its nodes */
    int outer = g->nodes[id].guard;
    bool outer_else = g->nodes[id].guard_else;
    size_t n_outs = g->nodes[id].n_outputs;
    int *res[2] = {NULL, NULL};
    for (int b = first; b <= last; b++) {
        ir_graph *sub = ir_node_subgraph(&g->nodes[id], names[b]);
        int *map = capture_map(g, id, sub);
        move_nodes(g, sub, map, false, known < 0 ? cond : outer, known < 0 ? b == 1 : outer_else, added, n_added);
        res[b] = hd_xmalloc((n_outs ? n_outs : 1) * sizeof(int));
        for (size_t i = 0; i < n_outs; i++)
            res[b][i] = i < sub->n_outputs ? result_value(g, sub, map, sub->outputs[i]) : -1;
        free(map);
    }
    g->nodes[id].dead = true;
    for (size_t i = 0; i < n_outs; i++) {
        int o = g->nodes[id].outputs[i], nn;
        if (o < 0)
            continue;
        if (known < 0) {
            int ins[3] = {cond, res[0][i], res[1][i]};
            nn = ir_node_new(g, "Phi", "hodu", g->values[o].name, ins, 3, &o, 1);
            g->nodes[nn].op = OP_PHI;
        } else {
            nn = ir_node_new(g, "Identity", "", g->values[o].name, &res[known ? 0 : 1][i], 1, &o, 1);
            g->nodes[nn].op = OP_IDENTITY;
            g->nodes[nn].guard = outer;
            g->nodes[nn].guard_else = outer_else;
        }
        ir_node_set_loc(g, nn, g->nodes[id].loc);
        (*added)[(*n_added)++] = nn;
    }
    free(res[0]);
    free(res[1]);
}

/* Each bounded data-dependent dim of n's results becomes a data symbol
 * (ir_graph_data_symbol): a run-time dim of range [0, bound] that the
 * node's lowering sets, so later nodes compute on it as on any other.
 * Every op that makes such dims counts one thing (NonZero's nonzeros,
 * Unique's items in Y, indices and counts alike, TopK's run-time K), so
 * the node's dims of one bound share one symbol. */
static void make_data_symbols(ir_graph *g, const ir_node *n)
{
    const char *sym = NULL;
    int64_t bound = -1;
    for (size_t j = 0; j < n->n_outputs; j++) {
        int id = n->outputs[j];
        if (id < 0 || g->values[id].kind == IR_VALUE_CONST)
            continue;
        for (int k = 0; k < g->values[id].rank; k++) {
            ir_dim *dim = &g->values[id].dims[k];
            if (!dim->data_dep || dim->unbounded || dim->rt)
                continue;
            if (!sym || dim->size != bound) {
                sym = ir_graph_data_symbol(g, id, k, dim->size);
                bound = dim->size;
            }
            dim->sym = sym;
            dim->rt = true;
        }
    }
}

/* An If whose condition is known and that reads a sequence or whose taken
 * branch makes one: its branch's nodes join g before inference (as
 * inline_guarded does), so the sequences are lowered as g's own. */
static bool makes_seq(const ir_graph *sub)
{
    for (size_t i = 0; sub && i < sub->n_nodes; i++) {
        const op_def *def = op_get(sub->nodes[i].op);
        if (!sub->nodes[i].dead && def && def->family == OP_FAMILY_SEQUENCE)
            return true;
    }
    return false;
}

/* 1 for such an If, 0 for any other node, -1 after reporting an If of
 * the model's graph that makes a sequence but whose condition is known
 * only when the model runs (its error names the graph input to bind). */
static int seq_if(ir_graph *g, int id, pass_seqs *seqs, hd_diag *d)
{
    const ir_node *n = &g->nodes[id];
    if (n->op != OP_IF || g->parent || !if_arity_ok(g, id))
        return 0;
    int known = cf_if_const_cond(g, id);
    bool reads_seq = false;
    for (size_t j = 0; j < n->n_inputs; j++)
        reads_seq = reads_seq || pass_seq_is(seqs, n->inputs[j]);
    if (known < 0) {
        if (!reads_seq && !makes_seq(ir_node_subgraph(n, "then_branch")) &&
            !makes_seq(ir_node_subgraph(n, "else_branch")))
            return 0;
        op_ctx c = {g, id, d};
        int64_t cond;
        if (op_need_const_i64(&c, 0, &cond, 1, "the condition of an If that makes a sequence") < 0)
            return -1;
        return 0;
    }
    return reads_seq || makes_seq(ir_node_subgraph(n, known ? "then_branch" : "else_branch"));
}

/* `order` with added[0..n_added) inserted after its entry k; both arrays
 * are freed (added may be NULL when n_added is 0). */
static int *splice_after(int *order, size_t *count, size_t k, int *added, size_t n_added)
{
    int *grown = hd_xmalloc((*count + n_added) * sizeof(int));
    memcpy(grown, order, (k + 1) * sizeof(int));
    if (n_added)
        memcpy(grown + k + 1, added, n_added * sizeof(int));
    memcpy(grown + k + 1 + n_added, order + k + 1, (*count - k - 1) * sizeof(int));
    free(order);
    free(added);
    *count += n_added;
    return grown;
}

/* Infers and folds the nodes of `order` (heap-allocated; freed here) in
 * that order. */
static bool infer_in_order(ir_graph *g, int *order, size_t count, hd_diag *d)
{
    bool ok = true;
    pass_seqs *seqs = pass_seqs_new();
    bool seq_outputs_done = false;
    for (size_t k = 0; ok; k++) {
        if (k == count) {
            /* The tensors of the sequences the model outputs, as outputs
             * of their own: their Identity nodes are inferred last. */
            int *added;
            size_t n_added;
            if (seq_outputs_done || !(ok = pass_seq_outputs(g, seqs, &added, &n_added, d)) || n_added == 0)
                break;
            seq_outputs_done = true;
            order = hd_xrealloc(order, (count + n_added) * sizeof(int));
            memcpy(order + count, added, n_added * sizeof(int));
            count += n_added;
            free(added);
        }
        int id = order[k];
        /* A sequence node becomes the nodes that pick, cut or join its
         * tensors, inferred next. */
        int inline_if = seq_if(g, id, seqs, d);
        if (inline_if < 0) {
            ok = false;
            break;
        }
        if (inline_if) {
            int *added;
            size_t n_added;
            inline_guarded(g, id, &added, &n_added);
            order = splice_after(order, &count, k, added, n_added);
            continue;
        }
        int *seq_added;
        size_t n_seq_added;
        int lowered = pass_seq_lower(g, id, seqs, &seq_added, &n_seq_added, d);
        if (lowered < 0) {
            ok = false;
            break;
        }
        if (lowered > 0) {
            order = splice_after(order, &count, k, seq_added, n_seq_added);
            continue;
        }
        ir_node *n = &g->nodes[id];
        const op_def *def = op_get(n->op);
        for (size_t j = 0; j < n->n_inputs; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && (v->rank < 0 || v->dtype == HODU_DTYPE_UNDEFINED)) {
                ir_node_error(d, g, id, "input '%s' has unknown type or shape", v->name);
                ok = false;
            }
        }
        /* Graph inputs are checked by pass_bind_inputs; constants (from the
         * loader or --const-input) are checked here, before any op does
         * arithmetic on their dims. */
        for (size_t j = 0; j < n->n_inputs && ok; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && ir_value_is_static(v) && !ir_value_size_ok(v)) {
                char *why = ir_value_size_text(v);
                ir_node_error(d, g, id, "input '%s' %s", v->name, why);
                free(why);
                ok = false;
            }
        }
        /* Values whose size depends on data (NonZero, Unique, ...) reach
         * other nodes as run-time dims (data symbols, made below); only an
         * unbounded one, or one inside a subgraph, has none, and nothing
         * here computes on it. */
        for (size_t j = 0; j < n->n_inputs && ok; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && ir_value_has_symbolless_data_dep(v)) {
                ir_node_error(d, g, id,
                              "input '%s' has a size that is only known when the model runs (it depends on the "
                              "values of node '%s'); Hodu cannot compute on such a value %s, only return it as "
                              "the model's output",
                              v->name, v->producer >= 0 ? g->nodes[v->producer].name : "?",
                              ir_value_has_unbounded(v) ? "(its size has no bound)" : "inside a subgraph");
                ok = false;
            }
        }
        /* Strings: only the ops that know hodu_string elements read them
         * (every other lowering would treat them as numbers). */
        for (size_t j = 0; j < n->n_inputs && ok; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && v->dtype == HODU_DTYPE_STRING && def->family != OP_FAMILY_STRING && n->op != OP_EQUAL) {
                ir_node_error(d, g, id,
                              "input '%s' holds strings; %s does not take them (string tensors go only to Equal, "
                              "StringConcat, StringSplit, RegexFullMatch, StringNormalizer and LabelEncoder)",
                              v->name, def->name);
                ok = false;
            }
        }
        if (!ok)
            break;
        /* Run-time dims go through their own inference (ops/rtdims.c);
         * a Phi handles them itself. */
        bool rt = n->op != OP_PHI && op_rt_touches(g, id);
        if (rt && n->op == OP_IF && !g->parent && if_arity_ok(g, id)) {
            if (n->guard >= 0 && cf_if_const_cond(g, id) < 0) { /* its guards would combine both conditions */
                ir_node_error(d, g, id,
                              "an If over run-time dims inside a branch of another such If is not supported yet");
                ok = false;
                break;
            }
            int *added;
            size_t n_added;
            inline_guarded(g, id, &added, &n_added);
            order = splice_after(order, &count, k, added, n_added);
            continue;
        }
        /* A Loop or Scan over run-time dims runs whole, its body reading
         * the sizes of this run (ir_node.rt_general); an If inside a
         * subgraph does not take them yet. */
        bool rt_loop = rt && (n->op == OP_LOOP || n->op == OP_SCAN || n->op == OP_SCAN_8);
        if (rt && !rt_loop && (def->type_subgraphs || n->n_captures)) {
            ir_node_error(d, g, id, "%s over values with run-time dims is not supported yet%s", def->name,
                          n->op == OP_IF ? " inside a subgraph" : " (build with fixed sizes: --dim SYM=N)");
            ok = false;
            break;
        }
        if (def->type_subgraphs && !infer_subgraphs(g, id, d)) {
            ok = false;
            break;
        }
        op_ctx c = {g, id, d};
        if (!(rt && !rt_loop ? op_rt_infer(&c) : def->infer(&c))) {
            ok = false;
            break;
        }
        if (n->op == OP_LOOP || n->op == OP_SCAN || n->op == OP_SCAN_8)
            n->rt_general = rt_loop;
        if (rt && !rt_loop)
            op_rt_dimvals(&c);
        uint64_t out_bytes = 0;
        for (size_t j = 0; j < n->n_outputs; j++) {
            if (n->outputs[j] < 0)
                continue;
            const ir_value *v = &g->values[n->outputs[j]];
            if (g->parent && v->is_output && ir_value_has_data_dep(v)) {
                /* a subgraph's results feed its control node, which
                 * computes on exact shapes */
                ir_node_error(d, g, id,
                              "output '%s' has a size that is only known when the model runs and is a subgraph's "
                              "result; only the model's own outputs may be such values (run-time dims are not "
                              "supported yet)",
                              v->name);
                ok = false;
                break;
            }
            if (!ir_value_is_static(v) || v->dtype == HODU_DTYPE_UNDEFINED) {
                ir_node_error(d, g, id, "internal error: shape inference left output '%s' without a static shape",
                              v->name);
                ok = false;
                break;
            }
            /* The one place every inferred shape passes through: nothing past
             * the limits reaches folding, planning or emission. */
            if (!ir_value_size_ok(v)) {
                char *why = ir_value_size_text(v);
                ir_node_error(d, g, id, "output '%s' %s", v->name, why);
                free(why);
                ok = false;
                break;
            }
            if (!hd_add_u64(out_bytes, ir_value_nbytes(v), &out_bytes))
                out_bytes = UINT64_MAX;
        }
        if (!ok)
            break;
        const char *branch = taken_branch(g, id);
        if (branch) {
            inline_branch(g, id, ir_node_subgraph(n, branch));
            continue;
        }
        if (!rt && def->fold && all_inputs_const(g, n) && !all_outputs_const(g, n) && out_bytes <= FOLD_MAX_BYTES) {
            if (!def->fold(&c)) {
                ok = false;
                break;
            }
        }
        if (all_outputs_const(g, n))
            n->dead = true;
        else if (!g->parent)
            make_data_symbols(g, n);
    }
    pass_seqs_free(seqs);
    free(order);
    return ok;
}

bool pass_infer_fold(ir_graph *g, hd_diag *d)
{
    size_t count = 0;
    int *order = ir_schedule(g, &count, d);
    return order && infer_in_order(g, order, count, d);
}

bool pass_infer_fold_from(ir_graph *g, size_t first, hd_diag *d)
{
    int *order = hd_xmalloc((g->n_nodes > first ? g->n_nodes - first : 1) * sizeof(int));
    size_t count = 0;
    for (size_t i = first; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            order[count++] = (int)i;
    return infer_in_order(g, order, count, d);
}

void pass_dce(ir_graph *g)
{
    /* Worklist from the graph outputs back through producers: each value
     * and each node is visited once, whatever order the file lists them in. */
    bool *live = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(bool));
    bool *needed = hd_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof(bool));
    int *work = hd_xmalloc((g->n_values ? g->n_values : 1) * sizeof(int));
    size_t top = 0;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!live[g->outputs[i]]) {
            live[g->outputs[i]] = true;
            work[top++] = g->outputs[i];
        }
    while (top > 0) {
        int p = g->values[work[--top]].producer;
        if (p < 0 || g->nodes[p].dead || needed[p])
            continue;
        needed[p] = true;
        const ir_node *n = &g->nodes[p];
        for (size_t j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            if (v >= 0 && !live[v]) {
                live[v] = true;
                work[top++] = v;
            }
        }
    }
    for (size_t k = 0; k < g->n_nodes; k++)
        if (!needed[k])
            g->nodes[k].dead = true;
    free(work);
    free(needed);
    free(live);
}
