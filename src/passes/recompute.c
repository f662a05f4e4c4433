/*
 * passes/recompute.c - recomputation in a training step's memory plan.
 *
 * A training step reads forward activations again in its backward part, so
 * the memory plan keeps each of them live from its definition to its last
 * backward reader.  For a value a cheap node makes (elementwise ops, a
 * hodu.FusedElementwise chain, Transpose, a reshaping view, Cast, an
 * inference-form BatchNormalization), the readers after the largest gap in
 * its live range can read a copy of that node instead, made just before the
 * first of them (ir_node.late); the node's operands then stay live across
 * the gap instead of its result.  When every reader comes after the gap,
 * the node itself moves there and nothing is computed twice.
 *
 * Nothing is assumed about the sizes: each change is tried on the real
 * memory plan (the backend's scratch included) and kept only when the
 * workspace does not grow and the bytes live summed over the steps shrink
 * (which lets a chain of such nodes move one node per try); at the end all
 * of it is undone unless the workspace went down.  The copies together may
 * add at most RECOMPUTE_FLOPS_PERCENT of the step's FLOPs, and at most
 * RECOMPUTE_MAX_TRIES changes are tried.  A copy runs
 * the same op on the same operands as the original, so the results are the
 * same bits.  Random and stateful ops are never copied.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"

#define RECOMPUTE_FLOPS_PERCENT 5
#define RECOMPUTE_ROUNDS        4
/* Each try plans the whole graph again: a bound on the build time of
 * large steps (bench/train.py's transformer takes a few hundred). */
#define RECOMPUTE_MAX_TRIES 1000

/* Cheap to run again and pure: one output, cost linear in its size. */
static bool cheap(const ir_graph *g, int node)
{
    const ir_node *n = &g->nodes[node];
    if (n->dead || n->n_outputs != 1 || n->outputs[0] < 0 || n->guard >= 0 || ir_node_has_subgraphs(n) || n->op < 0)
        return false;
    switch ((op_id)n->op) {
    case OP_DROPOUT: return false; /* random in training mode */
    case OP_TRANSPOSE:
    case OP_RESHAPE:
    case OP_FLATTEN:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
    case OP_IDENTITY:
    case OP_BATCH_NORMALIZATION: /* one output: normalises with given statistics */ return true;
    default: return op_get((op_id)n->op)->family == OP_FAMILY_ELEMENTWISE;
    }
}

/* Bytes live summed over the schedule's steps (arena values, a view
 * counted in its source): the plan's pressure, which a change that leaves
 * the peak alone may still lower. */
static uint64_t live_sum(const ir_graph *g, const mem_plan *p)
{
    size_t nv = g->n_values ? g->n_values : 1;
    size_t *def = hd_xcalloc(nv, sizeof(size_t)), *last = hd_xcalloc(nv, sizeof(size_t));
    for (size_t s = 0; s < p->n_schedule; s++) {
        const ir_node *n = &g->nodes[p->schedule[s]];
        for (size_t j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0)
                def[n->outputs[j]] = last[n->outputs[j]] = s;
        for (size_t j = 0; j <= n->n_inputs; j++) {
            int v = j < n->n_inputs ? n->inputs[j] : n->guard;
            if (v >= 0) {
                int root = p->view_of[v] >= 0 ? p->view_of[v] : v;
                last[root] = s;
            }
        }
    }
    uint64_t sum = 0;
    for (size_t v = 0; v < g->n_values; v++)
        if (p->slots[v].place == MEM_ARENA && p->view_of[v] < 0)
            sum += (uint64_t)ir_value_nbytes(&g->values[v]) * (last[v] - def[v] + 1);
    free(def);
    free(last);
    return sum;
}

typedef struct undo {
    int node;
    int input; /* -1: the node's late flag was set */
    int value;
} undo;

typedef struct state {
    ir_graph *g;
    pass_scratch_fn scratch;
    uint64_t arena, live;
    size_t tries;
    undo *log;
    size_t n_log, cap_log;
} state;

static void rewind_to(state *st, size_t n_log)
{
    while (st->n_log > n_log) {
        const undo *u = &st->log[--st->n_log];
        if (u->input < 0)
            st->g->nodes[u->node].late = false;
        else
            st->g->nodes[u->node].inputs[u->input] = u->value;
    }
}

static void record(state *st, int node, int input, int value)
{
    HD_PUSH(st->log, st->n_log, st->cap_log, ((undo){node, input, value}));
}

/* Plans the graph as it now is; keeps the change (true) when it is no
 * worse, else undoes it back to n_log / the graph's first n_values and
 * n_nodes. */
static bool try_change(state *st, size_t n_log, size_t n_values, size_t n_nodes, size_t n_owned)
{
    mem_plan p;
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    st->tries++;
    bool planned = pass_plan_memory(st->g, st->scratch, &p, &quiet);
    hd_diag_free(&quiet);
    if (planned) {
        uint64_t live = live_sum(st->g, &p);
        bool better = p.arena_bytes <= st->arena && live < st->live;
        if (better) {
            st->arena = p.arena_bytes;
            st->live = live;
        }
        mem_plan_free(&p);
        if (better)
            return true;
    }
    rewind_to(st, n_log);
    ir_graph_truncate(st->g, n_values, n_nodes, n_owned);
    return false;
}

/* One try for the value node `node` makes: its readers after the largest
 * gap in its live range read a late copy (or the node itself runs late).
 * Returns the FLOPs added when kept, else 0 (and *kept false). */
static uint64_t try_node(state *st, const int *pos, int node, uint64_t budget, bool *kept)
{
    ir_graph *g = st->g;
    *kept = false;
    int v = g->nodes[node].outputs[0];
    size_t n_readers = 0;
    size_t *at = hd_xmalloc((g->n_nodes + 1) * sizeof(size_t));
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *r = &g->nodes[i];
        if (r->dead)
            continue;
        if (r->guard == v) { /* read as a guard: left alone */
            free(at);
            return 0;
        }
        for (size_t j = 0; j < r->n_inputs; j++)
            if (r->inputs[j] == v) {
                at[n_readers++] = (size_t)pos[i];
                break;
            }
    }
    /* the largest gap between the definition and the readers, in order */
    size_t prev = (size_t)pos[node], split = 0, gap = 0;
    for (size_t k = 0; k < n_readers; k++) {
        size_t best = SIZE_MAX;
        for (size_t m = 0; m < n_readers; m++)
            if (at[m] > prev && at[m] < best)
                best = at[m];
        if (best == SIZE_MAX)
            break;
        if (best - prev > gap) {
            gap = best - prev;
            split = best;
        }
        prev = best;
    }
    free(at);
    if (gap < 2)
        return 0;
    bool all_late = true;
    for (size_t i = 0; i < g->n_nodes && all_late; i++)
        if (!g->nodes[i].dead && pos[i] >= 0 && (size_t)pos[i] < split && (int)i != node)
            for (size_t j = 0; j < g->nodes[i].n_inputs; j++)
                if (g->nodes[i].inputs[j] == v)
                    all_late = false;
    size_t n_log = st->n_log, nv = g->n_values, nn = g->n_nodes, no = g->n_owned;
    if (all_late) {
        if (g->nodes[node].late)
            return 0;
        g->nodes[node].late = true;
        record(st, node, -1, 0);
        *kept = try_change(st, n_log, nv, nn, no);
        return 0;
    }
    uint64_t flops = op_node_flops(g, node);
    if (flops > budget)
        return 0;
    int c = ir_node_clone(g, node, ".recompute");
    g->nodes[c].late = true;
    int w = g->nodes[c].outputs[0];
    for (size_t i = 0; i < nn; i++) {
        ir_node *r = &g->nodes[i];
        if (r->dead || pos[i] < 0 || (size_t)pos[i] < split)
            continue;
        for (size_t j = 0; j < r->n_inputs; j++)
            if (r->inputs[j] == v) {
                record(st, (int)i, (int)j, v);
                r->inputs[j] = w;
            }
    }
    *kept = try_change(st, n_log, nv, nn, no);
    return *kept ? flops : 0;
}

bool pass_recompute(ir_graph *g, pass_scratch_fn scratch, recompute_stats *stats, hd_diag *d)
{
    memset(stats, 0, sizeof(*stats));
    mem_plan p;
    if (!pass_plan_memory(g, scratch, &p, d))
        return false;
    state st = {.g = g, .scratch = scratch, .arena = p.arena_bytes, .live = live_sum(g, &p)};
    stats->arena_before = stats->arena_after = p.arena_bytes;
    uint64_t total = 0;
    for (size_t s = 0; s < p.n_schedule; s++)
        total += op_node_flops(g, p.schedule[s]);
    mem_plan_free(&p);
    uint64_t budget = total / 100 * RECOMPUTE_FLOPS_PERCENT, spent = 0;
    size_t nv0 = g->n_values, nn0 = g->n_nodes, no0 = g->n_owned;

    for (int round = 0; round < RECOMPUTE_ROUNDS; round++) {
        size_t n_sched;
        hd_diag quiet;
        hd_diag_init(&quiet, NULL);
        int *order = ir_schedule(g, &n_sched, &quiet);
        hd_diag_free(&quiet);
        if (!order)
            break;
        bool changed = false;
        for (size_t s = 0; s < n_sched; s++) {
            int node = order[s];
            if (!cheap(g, node) || g->values[g->nodes[node].outputs[0]].is_output || st.tries >= RECOMPUTE_MAX_TRIES)
                continue;
            /* positions in the schedule as it is now (each kept change moves
             * late nodes) */
            int *pos = hd_xmalloc((g->n_nodes ? g->n_nodes : 1) * sizeof(int));
            for (size_t i = 0; i < g->n_nodes; i++)
                pos[i] = -1;
            size_t n_now;
            hd_diag_init(&quiet, NULL);
            int *now = ir_schedule(g, &n_now, &quiet);
            hd_diag_free(&quiet);
            for (size_t i = 0; now && i < n_now; i++)
                pos[now[i]] = (int)i;
            free(now);
            bool kept = false;
            uint64_t added = pos[node] >= 0 ? try_node(&st, pos, node, budget - spent, &kept) : 0;
            free(pos);
            spent += added;
            changed |= kept;
        }
        free(order);
        if (!changed)
            break;
    }
    if (st.arena >= stats->arena_before) {
        rewind_to(&st, 0);
        ir_graph_truncate(g, nv0, nn0, no0);
        st.arena = stats->arena_before;
        spent = 0;
    }
    for (size_t i = nn0; i < g->n_nodes; i++)
        stats->copies += !g->nodes[i].dead;
    for (size_t i = 0; i < nn0; i++)
        stats->moved += g->nodes[i].late;
    stats->arena_after = st.arena;
    stats->flops_added = spent;
    stats->flops_step = total;
    stats->tries = st.tries;
    free(st.log);
    return true;
}
