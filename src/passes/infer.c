/*
 * passes/infer.c - op resolution, shape inference with host-side constant
 * folding, and dead-code elimination.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
            n->op = op_find(n->domain, n->op_type);
        if (n->op < 0) {
            const char *dom = (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) ? n->domain : NULL;
            if (dom)
                ir_node_error(d, g, (int)i, "unsupported op %s.%s (domain '%s', opset %" PRId64 ")", dom,
                              n->op_type, dom, g->opset);
            else
                ir_node_error(d, g, (int)i, "unsupported op %s (opset %" PRId64 ")", n->op_type, g->opset);
            continue;
        }
        op_check_node(g, (int)i, d);
    }
    return d->n_errors == errors;
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

bool pass_infer_fold(ir_graph *g, hd_diag *d)
{
    size_t count = 0;
    int *order = ir_schedule(g, &count, d);
    if (!order)
        return false;
    bool ok = true;
    for (size_t k = 0; k < count && ok; k++) {
        int id = order[k];
        ir_node *n = &g->nodes[id];
        const op_def *def = op_get(n->op);
        for (size_t j = 0; j < n->n_inputs; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && (v->rank < 0 || v->dtype == HODU_DTYPE_UNDEFINED)) {
                ir_node_error(d, g, id, "input '%s' has unknown type or shape", v->name);
                ok = false;
            }
        }
        if (!ok)
            break;
        op_ctx c = {g, id, d};
        if (!def->infer(&c)) {
            ok = false;
            break;
        }
        size_t out_bytes = 0;
        for (size_t j = 0; j < n->n_outputs; j++) {
            if (n->outputs[j] < 0)
                continue;
            const ir_value *v = &g->values[n->outputs[j]];
            if (!ir_value_is_static(v) || v->dtype == HODU_DTYPE_UNDEFINED) {
                ir_node_error(d, g, id, "internal error: shape inference left output '%s' without a static shape",
                              v->name);
                ok = false;
            }
            out_bytes += ir_value_nbytes(v);
        }
        if (!ok)
            break;
        if (def->fold && all_inputs_const(g, n) && !all_outputs_const(g, n) && out_bytes <= FOLD_MAX_BYTES) {
            if (!def->fold(&c)) {
                ok = false;
                break;
            }
        }
        if (all_outputs_const(g, n))
            n->dead = true;
    }
    free(order);
    return ok;
}

void pass_dce(ir_graph *g)
{
    bool *live = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(bool));
    for (size_t i = 0; i < g->n_outputs; i++)
        live[g->outputs[i]] = true;
    /* Walk nodes backwards repeatedly until nothing changes; graphs are
     * stored roughly in order, so this settles in a pass or two. */
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t k = g->n_nodes; k-- > 0;) {
            ir_node *n = &g->nodes[k];
            if (n->dead)
                continue;
            bool needed = false;
            for (size_t j = 0; j < n->n_outputs; j++)
                if (n->outputs[j] >= 0 && live[n->outputs[j]])
                    needed = true;
            if (!needed)
                continue;
            for (size_t j = 0; j < n->n_inputs; j++)
                if (n->inputs[j] >= 0 && !live[n->inputs[j]]) {
                    live[n->inputs[j]] = true;
                    changed = true;
                }
        }
    }
    for (size_t k = 0; k < g->n_nodes; k++) {
        ir_node *n = &g->nodes[k];
        bool needed = false;
        for (size_t j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0 && live[n->outputs[j]])
                needed = true;
        if (!needed)
            n->dead = true;
    }
    free(live);
}
