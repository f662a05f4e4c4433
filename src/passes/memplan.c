/*
 * passes/memplan.c - the static memory plan.
 *
 * Graph inputs and outputs live in the caller's buffers and constants in the
 * weight blob.  Every other value gets an offset in one arena: its live range
 * runs from the schedule step that defines it to the last step that reads it,
 * and it is placed first-fit at the lowest offset that no overlapping live
 * range occupies.  Offsets are multiples of HODU_ABI_ALIGN.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"

static uint64_t align_up(uint64_t x) { return (x + HODU_ABI_ALIGN - 1) & ~(uint64_t)(HODU_ABI_ALIGN - 1); }

typedef struct block {
    uint64_t offset, size;
    size_t last_use;
} block;

static int by_offset(const void *a, const void *b)
{
    const block *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

bool pass_plan_memory(const ir_graph *g, mem_plan *plan, hd_diag *d)
{
    memset(plan, 0, sizeof(*plan));
    plan->schedule = ir_schedule(g, &plan->n_schedule, d);
    if (!plan->schedule)
        return false;
    size_t nv = g->n_values ? g->n_values : 1;
    plan->slots = hd_xcalloc(nv, sizeof(mem_slot));
    size_t *def_step = hd_xcalloc(nv, sizeof(size_t));
    size_t *last_use = hd_xcalloc(nv, sizeof(size_t));

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
            if (g->values[v].kind == IR_VALUE_CONST && plan->slots[v].place == MEM_NONE) {
                plan->slots[v] = (mem_slot){MEM_WEIGHTS, 0, plan->weights_bytes};
                plan->weights_bytes = align_up(plan->weights_bytes + g->values[v].nbytes);
            }
        }
    }
    /* Constants that are graph outputs are copied out of the blob. */
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (g->values[v].kind == IR_VALUE_CONST && plan->slots[v].place == MEM_NONE) {
            plan->slots[v] = (mem_slot){MEM_WEIGHTS, 0, plan->weights_bytes};
            plan->weights_bytes = align_up(plan->weights_bytes + g->values[v].nbytes);
        }
    }

    plan->scratch_offset = hd_xcalloc(plan->n_schedule + 1, sizeof(uint64_t));
    plan->scratch_bytes = hd_xcalloc(plan->n_schedule + 1, sizeof(uint64_t));
    block *live = hd_xmalloc(nv * sizeof(block));
    size_t n_live = 0;
    for (size_t s = 0; s < plan->n_schedule; s++) {
        /* Retire blocks whose last reader ran before this step. */
        size_t w = 0;
        for (size_t i = 0; i < n_live; i++)
            if (live[i].last_use >= s)
                live[w++] = live[i];
        n_live = w;
        const ir_node *n = &g->nodes[plan->schedule[s]];
        for (size_t j = 0; j < n->n_outputs; j++) {
            int v = n->outputs[j];
            if (v < 0 || plan->slots[v].place != MEM_NONE)
                continue;
            uint64_t size = align_up(ir_value_nbytes(&g->values[v]));
            qsort(live, n_live, sizeof(block), by_offset);
            uint64_t at = 0;
            for (size_t i = 0; i < n_live; i++) {
                if (live[i].offset >= at + size)
                    break;
                if (live[i].offset + live[i].size > at)
                    at = live[i].offset + live[i].size;
            }
            plan->slots[v] = (mem_slot){MEM_ARENA, 0, at};
            live[n_live++] = (block){at, size, last_use[v]};
            if (at + size > plan->arena_bytes)
                plan->arena_bytes = at + size;
        }
        /* Scratch lives for this step only, placed like a value. */
        const op_def *def = op_get(n->op);
        uint64_t scratch = def && def->scratch ? align_up(def->scratch(g, plan->schedule[s])) : 0;
        plan->scratch_bytes[s] = scratch;
        if (scratch) {
            qsort(live, n_live, sizeof(block), by_offset);
            uint64_t at = 0;
            for (size_t i = 0; i < n_live; i++) {
                if (live[i].offset >= at + scratch)
                    break;
                if (live[i].offset + live[i].size > at)
                    at = live[i].offset + live[i].size;
            }
            plan->scratch_offset[s] = at;
            if (at + scratch > plan->arena_bytes)
                plan->arena_bytes = at + scratch;
        }
    }
    free(live);
    free(def_step);
    free(last_use);
    return true;
}

void mem_plan_free(mem_plan *plan)
{
    free(plan->slots);
    free(plan->schedule);
    free(plan->scratch_offset);
    free(plan->scratch_bytes);
    memset(plan, 0, sizeof(*plan));
}
