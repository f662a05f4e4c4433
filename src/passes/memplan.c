/*
 * passes/memplan.c - the static memory plan.
 *
 * Graph inputs and outputs live in the caller's buffers and constants in the
 * weight blob.  Every other value gets an offset in one arena: its live range
 * runs from the schedule step that defines it to the last step that reads it,
 * and it is placed first-fit at the lowest offset that no overlapping live
 * range occupies.  Offsets are multiples of HODU_ABI_ALIGN.  A reshaping
 * node's result shares its input's block (plan_views).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"

/* Every size here comes from shapes already held under HODU_MAX_TENSOR_BYTES,
 * but their sums are not: each add is checked, and the arena and the weight
 * blob are each refused past HODU_MAX_TENSOR_BYTES. */
static bool align_up(uint64_t x, uint64_t *out)
{
    if (!hd_add_u64(x, HODU_ABI_ALIGN - 1, out))
        return false;
    *out &= ~(uint64_t)(HODU_ABI_ALIGN - 1);
    return true;
}

/* *total = align_up(at + size), failing past the limit. */
static bool end_of(uint64_t at, uint64_t size, uint64_t *total)
{
    return hd_add_u64(at, size, total) && align_up(*total, total) && *total <= HODU_MAX_TENSOR_BYTES;
}

typedef struct block {
    uint64_t offset, size;
    size_t last_use;
} block;

static int by_offset(const void *a, const void *b)
{
    const block *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Lowest offset where `size` bytes overlap no live block (first fit).  Every
 * block end was checked when placed, so the sums here cannot wrap. */
static uint64_t first_fit(block *live, size_t n_live, uint64_t size)
{
    qsort(live, n_live, sizeof(block), by_offset);
    uint64_t at = 0;
    for (size_t i = 0; i < n_live; i++) {
        if (live[i].offset >= at + size)
            break;
        if (live[i].offset + live[i].size > at)
            at = live[i].offset + live[i].size;
    }
    return at;
}

static bool place_weight(const ir_graph *g, mem_plan *plan, int v, hd_diag *d)
{
    uint64_t end;
    if (g->values[v].nbytes > HODU_MAX_TENSOR_BYTES || !end_of(plan->weights_bytes, g->values[v].nbytes, &end)) {
        ir_value_error(d, g, v, "constant '%s': the weights would exceed %" PRIu64 " bytes", g->values[v].name,
                       (uint64_t)HODU_MAX_TENSOR_BYTES);
        return false;
    }
    plan->slots[v] = (mem_slot){MEM_WEIGHTS, 0, plan->weights_bytes};
    plan->weights_bytes = end;
    return true;
}

static bool arena_fail(const ir_graph *g, int node, const char *what, hd_diag *d)
{
    ir_node_error(d, g, node, "%s would take the workspace past %" PRIu64 " bytes (2^%d)", what,
                  (uint64_t)HODU_MAX_TENSOR_BYTES, __builtin_ctzll(HODU_MAX_TENSOR_BYTES));
    return false;
}

/* The input whose bytes node n's one output is, unchanged: same dtype and
 * size, fixed shapes (a run-time dim's value may be stored with other
 * strides), or -1. */
static int view_source(const ir_graph *g, const ir_node *n)
{
    switch (n->op) {
    case OP_RESHAPE:
    case OP_FLATTEN:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
    case OP_IDENTITY: break;
    default: return -1;
    }
    if (n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs != 1 || n->outputs[0] < 0 || n->body || n->rt_general)
        return -1;
    const ir_value *x = &g->values[n->inputs[0]], *y = &g->values[n->outputs[0]];
    if (x->dtype != y->dtype || !ir_value_is_fixed(x) || !ir_value_is_fixed(y) ||
        ir_value_nbytes(x) != ir_value_nbytes(y))
        return -1;
    return n->inputs[0];
}

/* Views (plan->view_of) of values the arena will hold, their sources'
 * lifetimes stretched to cover them.  Outputs, inputs and constants keep
 * their own homes. */
static void plan_views(const ir_graph *g, mem_plan *plan, size_t *last_use)
{
    for (size_t s = 0; s < plan->n_schedule; s++) {
        const ir_node *n = &g->nodes[plan->schedule[s]];
        int src = view_source(g, n);
        if (src < 0)
            continue;
        int v = n->outputs[0], root = plan->view_of[src] >= 0 ? plan->view_of[src] : src;
        if (plan->slots[v].place != MEM_NONE || plan->slots[root].place != MEM_NONE ||
            g->values[root].kind != IR_VALUE_NODE)
            continue;
        plan->view_of[v] = root;
        if (last_use[v] > last_use[root])
            last_use[root] = last_use[v];
    }
}

bool pass_plan_memory(const ir_graph *g, pass_scratch_fn scratch_of, mem_plan *plan, hd_diag *d)
{
    memset(plan, 0, sizeof(*plan));
    plan->schedule = ir_schedule(g, &plan->n_schedule, d);
    if (!plan->schedule)
        return false;
    size_t nv = g->n_values ? g->n_values : 1;
    plan->slots = hd_xcalloc(nv, sizeof(mem_slot));
    size_t *def_step = hd_xcalloc(nv, sizeof(size_t));
    size_t *last_use = hd_xcalloc(nv, sizeof(size_t));
    bool ok = true;

    for (size_t i = 0; i < g->n_inputs; i++)
        plan->slots[g->inputs[i]] = (mem_slot){MEM_INPUT, i, 0};
    /* Node-produced outputs are written straight into the caller's buffer
     * (the first listing wins when a value is listed twice). */
    for (size_t i = g->n_outputs; i-- > 0;) {
        const ir_value *v = &g->values[g->outputs[i]];
        if (v->kind == IR_VALUE_NODE)
            plan->slots[g->outputs[i]] = (mem_slot){MEM_OUTPUT, i, 0};
    }
    for (size_t s = 0; s < plan->n_schedule; s++) {
        const ir_node *n = &g->nodes[plan->schedule[s]];
        for (size_t j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0) {
                def_step[n->outputs[j]] = s;
                last_use[n->outputs[j]] = s;
            }
        for (size_t j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            if (v < 0)
                continue;
            last_use[v] = s;
            if (g->values[v].kind == IR_VALUE_CONST && plan->slots[v].place == MEM_NONE && ok)
                ok = place_weight(g, plan, v, d);
        }
        if (n->guard >= 0) /* read before the node runs (ir_node.guard) */
            last_use[n->guard] = s;
    }
    /* Constants that are graph outputs are copied out of the blob. */
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (g->values[v].kind == IR_VALUE_CONST && plan->slots[v].place == MEM_NONE && ok)
            ok = place_weight(g, plan, v, d);
    }

    plan->view_of = hd_xmalloc(nv * sizeof(int));
    for (size_t v = 0; v < nv; v++)
        plan->view_of[v] = -1;
    plan_views(g, plan, last_use);

    plan->scratch_offset = hd_xcalloc(plan->n_schedule + 1, sizeof(uint64_t));
    plan->scratch_bytes = hd_xcalloc(plan->n_schedule + 1, sizeof(uint64_t));
    plan->worker_scratch = hd_xcalloc(plan->n_schedule + 1, sizeof(uint64_t));
    block *live = hd_xmalloc(nv * sizeof(block));
    size_t n_live = 0;
    for (size_t s = 0; s < plan->n_schedule && ok; s++) {
        /* Retire blocks whose last reader ran before this step. */
        size_t w = 0;
        for (size_t i = 0; i < n_live; i++)
            if (live[i].last_use >= s)
                live[w++] = live[i];
        n_live = w;
        int node = plan->schedule[s];
        const ir_node *n = &g->nodes[node];
        for (size_t j = 0; j < n->n_outputs && ok; j++) {
            int v = n->outputs[j];
            if (v < 0 || plan->slots[v].place != MEM_NONE)
                continue;
            if (plan->view_of[v] >= 0) { /* its source, placed at an earlier step */
                plan->slots[v] = plan->slots[plan->view_of[v]];
                continue;
            }
            /* SIZE_MAX (a shape past the limits) fails the first check. */
            size_t nbytes = ir_value_nbytes(&g->values[v]);
            uint64_t size, end;
            if (nbytes > HODU_MAX_TENSOR_BYTES || !align_up(nbytes, &size)) {
                ok = arena_fail(g, node, "an output", d);
                break;
            }
            uint64_t at = first_fit(live, n_live, size);
            if (!end_of(at, size, &end)) {
                ok = arena_fail(g, node, "an output", d);
                break;
            }
            plan->slots[v] = (mem_slot){MEM_ARENA, 0, at};
            live[n_live++] = (block){at, size, last_use[v]};
            if (end > plan->arena_bytes)
                plan->arena_bytes = end;
        }
        if (!ok)
            break;
        /* Scratch lives for this step only, placed like a value.  An op
         * reports a scratch size it cannot compute as UINT64_MAX. */
        scratch_need need = scratch_of ? scratch_of(g, node) : (scratch_need){0, 0};
        uint64_t scratch = need.shared, per_worker = need.per_worker;
        if (scratch > HODU_MAX_TENSOR_BYTES || !align_up(scratch, &scratch)) {
            ok = arena_fail(g, node, "its scratch memory", d);
            break;
        }
        if (per_worker > HODU_MAX_TENSOR_BYTES || !align_up(per_worker, &per_worker)) {
            ok = arena_fail(g, node, "its per-thread scratch memory", d);
            break;
        }
        plan->worker_scratch[s] = per_worker;
        if (per_worker > plan->worker_bytes)
            plan->worker_bytes = per_worker;
        plan->scratch_bytes[s] = scratch;
        if (scratch) {
            uint64_t at = first_fit(live, n_live, scratch), end;
            if (!end_of(at, scratch, &end)) {
                ok = arena_fail(g, node, "its scratch memory", d);
                break;
            }
            plan->scratch_offset[s] = at;
            if (end > plan->arena_bytes)
                plan->arena_bytes = end;
        }
    }
    free(live);
    free(def_step);
    free(last_use);
    if (!ok)
        mem_plan_free(plan);
    return ok;
}

void mem_plan_free(mem_plan *plan)
{
    free(plan->slots);
    free(plan->schedule);
    free(plan->scratch_offset);
    free(plan->scratch_bytes);
    free(plan->worker_scratch);
    free(plan->view_of);
    memset(plan, 0, sizeof(*plan));
}
