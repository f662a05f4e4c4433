/*
 * native.c - the native backend: portable C, built by the system compiler.
 *
 * Its lowerings live beside it, one file per op family (emit_<family>.c),
 * each filling its ops' entries of one table indexed by op_id.
 */
#include <stdlib.h>

#include "native.h"
#include "ops/ops.h"

/* The families' registration functions, in op_family order. */
static native_register_fn *const families[] = {
    native_register_elementwise, native_register_reduce,    native_register_nn,        native_register_nn_conv,
    native_register_nn_pool,     native_register_nn_resize, native_register_nn_sample, native_register_shape,
    native_register_attention,   native_register_quant,     native_register_stateful,  native_register_recurrent,
    native_register_signal,      native_register_linalg,    native_register_optim,     native_register_ml,
    native_register_dynamic,     native_register_control,   native_register_random,    native_register_string,
};

static native_lowering table[OP_COUNT];
static bool table_ready;

const native_lowering *native_lowering_of(int op)
{
    if (op < 0 || op >= OP_COUNT)
        return NULL;
    /* Built on first use; the compiler is single-threaded. */
    if (!table_ready) {
        for (size_t i = 0; i < HD_ARRAY_LEN(families); i++)
            families[i](table);
        table_ready = true;
    }
    return table[op].emit ? &table[op] : NULL;
}

static bool native_supports(const ir_graph *g, int node, char **reason)
{
    const ir_node *n = &g->nodes[node];
    if (!native_lowering_of(n->op)) {
        *reason = hd_xasprintf("no C lowering for op %s", n->op_type);
        return false;
    }
    if (n->rt_general && !native_lowering_of(n->op)->emit_rt) {
        *reason = hd_xasprintf("no C lowering for %s over run-time dims that are not leading dims yet; bind them "
                               "with --dim SYM=N",
                               n->op_type);
        return false;
    }
    /* A control-flow node is lowered with its subgraphs' nodes. */
    for (size_t a = 0; a < n->n_attrs; a++) {
        const ir_graph *sub = n->attrs[a].graph;
        for (size_t i = 0; sub && i < sub->n_nodes; i++) {
            char *why = NULL;
            if (!sub->nodes[i].dead && !native_supports(sub, (int)i, &why)) {
                char *label = ir_node_label(sub, (int)i);
                *reason = hd_xasprintf("in subgraph '%s', %s: %s", n->attrs[a].name, label, why);
                free(label);
                free(why);
                return false;
            }
        }
    }
    return true;
}

bool native_rt_enter(const ir_graph *g, int node, op_rt_view *view)
{
    const char *syms[HODU_MAX_RANK];
    bool general = ir_nd(g, node)->rt_general;
    if (!general && op_rt_slice_dims(g, node, syms) == 0)
        return false;
    /* the graph is the caller's; the view puts it back as it was */
    op_rt_view_enter((ir_graph *)g, node, view, general || native_rt_rows(g, node));
    return true;
}

bool native_plan_subgraphs(const ir_graph *const *subs, size_t n, mem_plan *plans, uint64_t *arena, uint64_t *workers,
                           hd_diag *d)
{
    *arena = *workers = 0;
    for (size_t i = 0; i < n; i++) {
        if (!subs[i])
            continue;
        if (!pass_plan_memory(subs[i], native_scratch_need, &plans[i], d)) {
            while (i-- > 0)
                if (subs[i])
                    mem_plan_free(&plans[i]);
            return false;
        }
        if (plans[i].arena_bytes > *arena)
            *arena = plans[i].arena_bytes;
        if (plans[i].worker_bytes > *workers)
            *workers = plans[i].worker_bytes;
    }
    return true;
}

scratch_need native_scratch_need(const ir_graph *g, int node)
{
    const native_lowering *low = native_lowering_of(g->nodes[node].op);
    scratch_need need = {0, 0};
    op_rt_view view;
    bool sliced = native_rt_enter(g, node, &view);
    if (low && low->scratch_both) {
        need = low->scratch_both(g, node);
    } else {
        if (low && low->scratch)
            need.shared = low->scratch(g, node);
        if (low && low->worker_scratch)
            need.per_worker = low->worker_scratch(g, node);
    }
    if (sliced)
        op_rt_view_leave(&view);
    return need;
}

static backend_artifact *emit_graph(const ir_graph *g, const mem_plan *plan, hd_diag *d)
{
    backend_artifact *a = hd_xcalloc(1, sizeof(*a));
    if (!native_emit(g, plan, a, d)) {
        free(a);
        return NULL;
    }
    return a;
}

static void free_artifact(backend_artifact *a)
{
    if (!a)
        return;
    native_artifact_clear(a);
    free(a);
}

const backend hd_backend_native = {
    .name = "native",
    .summary = "portable C with vector extensions, built by the system C compiler into a shared library",
    .supports = native_supports,
    .scratch = native_scratch_need,
    .emit = emit_graph,
    .build = native_compile,
    .free_artifact = free_artifact,
};
