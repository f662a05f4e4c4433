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
        /* The one check for values whose size depends on data (NonZero,
         * Unique, ...): they may be graph outputs, but every op here
         * computes on exact shapes, so nothing may read them yet. */
        for (size_t j = 0; j < n->n_inputs && ok; j++) {
            const ir_value *v = n->inputs[j] >= 0 ? &g->values[n->inputs[j]] : NULL;
            if (v && ir_value_has_data_dep(v)) {
                ir_node_error(d, g, id,
                              "input '%s' has a size that is only known when the model runs (it depends on the "
                              "values of node '%s'); Hodu cannot yet compute on such values, only return them as "
                              "graph outputs (issue 8, run-time dims)",
                              v->name, v->producer >= 0 ? g->nodes[v->producer].name : "?");
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
        uint64_t out_bytes = 0;
        for (size_t j = 0; j < n->n_outputs; j++) {
            if (n->outputs[j] < 0)
                continue;
            const ir_value *v = &g->values[n->outputs[j]];
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
