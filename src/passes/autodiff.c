/*
 * passes/autodiff.c - reverse-mode differentiation of a typed graph.
 *
 * The gradients are ordinary nodes appended to the same graph, so fusion,
 * memory planning and code generation treat them like any other: the
 * forward values a rule reads stay live into the backward part because
 * the memory plan sees them read there.
 *
 * Walk: the values that depend on the differentiated inputs are marked
 * forward; then, in reverse schedule order, every node with a gradient on
 * an output and a marked float input gets its op's rule (ops.h, "gradient
 * rules"), and the gradients of a value read by several nodes add up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"

static bool is_grad_dtype(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64; }

/* Value id of a graph input named `name`, -1 if none. */
static int find_input(const ir_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0)
            return g->inputs[i];
    return -1;
}

bool pass_value_named(const ir_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return true;
    return false;
}

/* The differentiated inputs, marked in is_wrt[]; false after errors. */
static bool pick_wrt(ir_graph *g, const char *const *wrt, size_t n_wrt, bool *is_wrt, hd_diag *d)
{
    size_t errors = d->n_errors, n = 0;
    for (size_t i = 0; i < n_wrt; i++) {
        int v = find_input(g, wrt[i]);
        if (v < 0) {
            bool is_const = false;
            for (size_t k = 0; k < g->n_values; k++)
                is_const |= g->values[k].kind == IR_VALUE_CONST && strcmp(g->values[k].name, wrt[i]) == 0;
            hd_error(d, "--wrt %s: %s", wrt[i],
                     is_const ? "that is a constant of the model (an initializer), not an input"
                              : "the model has no input of that name");
            continue;
        }
        if (!is_grad_dtype(g->values[v].dtype)) {
            hd_error(d, "--wrt %s: the input is %s; gradients are taken for f32 and f64 inputs", wrt[i],
                     ir_dtype_name(g->values[v].dtype));
            continue;
        }
        is_wrt[v] = true;
        n++;
    }
    if (n_wrt == 0)
        for (size_t i = 0; i < g->n_inputs; i++)
            if (is_grad_dtype(g->values[g->inputs[i]].dtype)) {
                is_wrt[g->inputs[i]] = true;
                n++;
            }
    if (d->n_errors == errors && n == 0)
        hd_error(d, "--grad: the model has no f32 or f64 input to differentiate with respect to");
    return d->n_errors == errors;
}

/* A new graph input or output named "<of>.grad", typed like value `like`. */
static int grad_value(ir_graph *g, const char *of, int like, hd_diag *d)
{
    char *name = hd_xasprintf("%s.grad", of);
    if (pass_value_named(g, name)) {
        hd_error(d, "--grad: the model already has a value named '%s'", name);
        free(name);
        return -1;
    }
    int v = ir_value_new(g, name);
    free(name);
    ir_value *nv = ir_val(g, v), *lv = ir_val(g, like);
    nv->dtype = lv->dtype;
    nv->rank = lv->rank;
    memcpy(nv->dims, lv->dims, sizeof(nv->dims));
    nv->loc = lv->loc;
    return v;
}

int pass_add_node(ir_graph *g, const char *op, const int *ins, size_t n, int out, ir_loc loc)
{
    if (out < 0)
        out = ir_value_new(g, NULL);
    int node = ir_node_new(g, op, "", NULL, ins, n, &out, 1);
    ir_nd(g, node)->op = op_find("", op, g->opset);
    ir_node_set_loc(g, node, loc);
    return out;
}

/* Zeros of value x's type: Expand(0, Shape(x)). */
static int zeros_like(ir_graph *g, int x)
{
    hodu_dtype dt = g->values[x].dtype;
    ir_loc loc = g->values[x].loc;
    void *zero = ir_graph_keep(g, hd_xcalloc(1, 8));
    int ins[2] = {ir_const_new(g, NULL, dt, 0, NULL, zero, ir_dtype_size(dt)),
                  pass_add_node(g, "Shape", &x, 1, -1, loc)};
    return pass_add_node(g, "Expand", ins, 2, -1, loc);
}

/* The rule of node `id`, and the sums where an input already has a
 * gradient from another reader. */
static bool back_through(ir_graph *g, int id, const bool *dep, int *grad, hd_diag *d)
{
    const ir_node *n = ir_nd(g, id);
    size_t ni = n->n_inputs, no = n->n_outputs;
    bool has_dy = false, wants = false;
    for (size_t j = 0; j < no; j++)
        has_dy |= n->outputs[j] >= 0 && grad[n->outputs[j]] >= 0;
    bool *want = hd_xcalloc(ni + 1, sizeof(bool));
    for (size_t j = 0; j < ni; j++) {
        int x = n->inputs[j];
        want[j] = x >= 0 && dep[x] && is_grad_dtype(g->values[x].dtype);
        wants |= want[j];
    }
    if (!has_dy || !wants) {
        free(want);
        return true;
    }
    const op_def *def = op_get(n->op);
    bool ok = true;
    if (n->guard >= 0 || ir_node_has_subgraphs(n)) {
        ir_node_error(d, g, id, "cannot differentiate %s: gradients through control flow are not supported yet",
                      n->op_type);
        ok = false;
    } else if (!def || !def->grad) {
        ir_node_error(d, g, id, "cannot differentiate %s: the op has no gradient rule", n->op_type);
        ok = false;
    }
    int *dy = hd_xmalloc((no + 1) * sizeof(int));
    int *dx = hd_xmalloc((ni + 1) * sizeof(int));
    for (size_t j = 0; j < no; j++)
        dy[j] = n->outputs[j] >= 0 ? grad[n->outputs[j]] : -1;
    dy[no] = -1;
    for (size_t j = 0; j < ni; j++)
        dx[j] = -1;
    op_grad_ctx c = {g, id, d, dy, want, dx, -1, false};
    ok = ok && def->grad(&c) && !c.failed;
    for (size_t j = 0; ok && j < ni; j++) {
        int x = ir_nd(g, id)->inputs[j]; /* the rule grew g->nodes */
        if (dx[j] < 0 || !want[j])
            continue;
        if (grad[x] < 0) {
            grad[x] = dx[j];
        } else { /* read by several nodes (or twice by one): the gradients add up */
            int ins[2] = {grad[x], dx[j]};
            grad[x] = pass_add_node(g, "Add", ins, 2, -1, ir_nd(g, id)->loc);
        }
    }
    free(dy);
    free(dx);
    free(want);
    return ok;
}

/* The schedule of g, and in dep[] (g->n_values) what depends on the
 * differentiated values; NULL after errors. */
static int *schedule_deps(ir_graph *g, const int *wrt, size_t n_wrt, bool *dep, size_t *count, hd_diag *d)
{
    for (size_t i = 0; i < n_wrt; i++)
        dep[wrt[i]] = true;
    int *order = ir_schedule(g, count, d);
    for (size_t k = 0; order && k < *count; k++) {
        const ir_node *n = ir_nd(g, order[k]);
        bool any = n->guard >= 0 && dep[n->guard];
        for (size_t j = 0; j < n->n_inputs; j++)
            any |= n->inputs[j] >= 0 && dep[n->inputs[j]];
        for (size_t j = 0; any && j < n->n_outputs; j++)
            if (n->outputs[j] >= 0)
                dep[n->outputs[j]] = true;
    }
    return order;
}

/* Nodes on the path whose op differentiates through its expansion
 * (op_def.expand) become it, typed, so the rules of what it is made of
 * apply. */
static bool expand_on_path(ir_graph *g, const int *wrt, size_t n_wrt, hd_diag *d)
{
    size_t count = 0, first = g->n_nodes;
    bool *dep = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(bool));
    int *order = schedule_deps(g, wrt, n_wrt, dep, &count, d);
    bool ok = order != NULL;
    for (size_t k = 0; ok && k < count; k++) {
        const ir_node *n = ir_nd(g, order[k]);
        const op_def *def = op_get(n->op);
        bool on_path = false;
        for (size_t j = 0; def && def->expand && j < n->n_inputs; j++)
            on_path |= n->inputs[j] >= 0 && dep[n->inputs[j]] && is_grad_dtype(g->values[n->inputs[j]].dtype);
        if (on_path && n->guard < 0)
            ok = def->expand(g, order[k], d);
    }
    free(order);
    free(dep);
    return ok && (first == g->n_nodes || pass_infer_fold_from(g, first, d));
}

bool pass_backward(ir_graph *g, const int *wrt, size_t n_wrt, const int *seed_of, const int *seeds, size_t n_seeds,
                   int *grads, hd_diag *d)
{
    if (!expand_on_path(g, wrt, n_wrt, d))
        return false;
    size_t nv0 = g->n_values, count = 0, first = g->n_nodes;
    bool *dep = hd_xcalloc(nv0 ? nv0 : 1, sizeof(bool));
    int *grad = hd_xmalloc((nv0 ? nv0 : 1) * sizeof(int));
    for (size_t i = 0; i < nv0; i++)
        grad[i] = -1;
    int *order = schedule_deps(g, wrt, n_wrt, dep, &count, d);
    bool ok = order != NULL;
    for (size_t i = 0; i < n_seeds; i++)
        grad[seed_of[i]] = seeds[i];
    /* backward */
    for (size_t k = count; ok && k-- > 0;)
        ok = back_through(g, order[k], dep, grad, d);
    for (size_t i = 0; ok && i < n_wrt; i++)
        grads[i] = grad[wrt[i]];
    /* every node made must resolve (og_op reports its own; this catches
     * the sums and zeros made here) */
    for (size_t i = first; ok && i < g->n_nodes; i++)
        if (g->nodes[i].op < 0) {
            ir_node_error(d, g, (int)i, "cannot differentiate: the gradient needs %s, which opset %" PRId64 " lacks",
                          g->nodes[i].op_type, g->opset);
            ok = false;
        }
    free(order);
    free(grad);
    free(dep);
    return ok;
}

int pass_zeros_like(ir_graph *g, int x) { return zeros_like(g, x); }

/* "f32[2,N]" into b. */
static void type_text(const ir_value *v, char *b, size_t size)
{
    size_t at = (size_t)snprintf(b, size, "%s[", ir_dtype_name(v->dtype));
    for (int k = 0; k < v->rank && at < size; k++)
        at += v->dims[k].sym ? (size_t)snprintf(b + at, size - at, "%s%s", k ? "," : "", v->dims[k].sym)
                             : (size_t)snprintf(b + at, size - at, "%s%lld", k ? "," : "", (long long)v->dims[k].size);
    if (at < size)
        snprintf(b + at, size - at, "]");
}

bool pass_check_grads(const ir_graph *g, const int *wrt, const int *grads, size_t n, hd_diag *d)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (grads[i] < 0 || ir_same_type(&g->values[wrt[i]], &g->values[grads[i]]))
            continue;
        /* a rule's bug: say where, rather than broadcast it into an update */
        char want[256], got[256];
        type_text(&g->values[wrt[i]], want, sizeof want);
        type_text(&g->values[grads[i]], got, sizeof got);
        int at = g->values[grads[i]].producer;
        if (at >= 0)
            ir_node_error(d, g, at, "internal error: the gradient of '%s' made here is %s, not %s",
                          g->values[wrt[i]].name, got, want);
        else
            hd_error(d, "internal error: the gradient of '%s' is %s, not %s", g->values[wrt[i]].name, got, want);
        ok = false;
    }
    return ok;
}

bool pass_autodiff(ir_graph *g, const char *const *wrt, size_t n_wrt, hd_diag *d)
{
    size_t nv0 = g->n_values, n_in0 = g->n_inputs, first = g->n_nodes;
    bool *is_wrt = hd_xcalloc(nv0 ? nv0 : 1, sizeof(bool));
    bool ok = pick_wrt(g, wrt, n_wrt, is_wrt, d);
    int *xs = hd_xmalloc((n_in0 + 1) * sizeof(int)), *grads = hd_xmalloc((n_in0 + 1) * sizeof(int));
    int *ys = hd_xmalloc((g->n_outputs + 1) * sizeof(int)), *seeds = hd_xmalloc((g->n_outputs + 1) * sizeof(int));
    size_t nx = 0, ny = 0;
    for (size_t i = 0; i < n_in0; i++)
        if (is_wrt[g->inputs[i]])
            xs[nx++] = g->inputs[i];
    /* the seeds: each float output's gradient is an input (an output that
     * does not depend on the inputs gets one too: simpler for the host,
     * and its gradient is simply unread) */
    for (size_t i = 0; ok && i < g->n_outputs; i++) {
        int y = g->outputs[i];
        bool seen = false;
        for (size_t k = 0; k < ny; k++)
            seen |= ys[k] == y;
        if (seen || !is_grad_dtype(g->values[y].dtype) || g->values[y].kind == IR_VALUE_CONST)
            continue;
        int s = grad_value(g, g->values[y].name, y, d);
        ok = s >= 0;
        if (ok) {
            ir_val(g, s)->kind = IR_VALUE_INPUT;
            HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, s);
            ys[ny] = y;
            seeds[ny++] = s;
        }
    }
    ok = ok && pass_backward(g, xs, nx, ys, seeds, ny, grads, d) && pass_infer_fold_from(g, first, d) &&
         pass_check_grads(g, xs, grads, nx, d);
    first = g->n_nodes;
    /* the results: X.grad for each differentiated input (zeros where no
     * output depends on it) */
    for (size_t i = 0; ok && i < nx; i++) {
        int x = xs[i];
        int r = grad_value(g, g->values[x].name, x, d);
        ok = r >= 0;
        if (ok) {
            int from = grads[i] >= 0 ? grads[i] : zeros_like(g, x);
            pass_add_node(g, "Identity", &from, 1, r, g->values[x].loc);
            ir_val(g, r)->is_output = true;
            HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, r);
        }
    }
    free(xs);
    free(grads);
    free(ys);
    free(seeds);
    free(is_wrt);
    return ok && pass_infer_fold_from(g, first, d);
}
