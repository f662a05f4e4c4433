/*
 * ops/optim.c - the optim family: the optimizer updates of the
 * ai.onnx.preview.training domain, Adagrad, Momentum (standard and
 * Nesterov) and Adam, as the ONNX spec defines them.  Each updates n
 * parameter tensors at once; every tensor of one index i shares a shape,
 * and all share one float type.  R (the learning rate) and T (the update
 * count) are scalars read when the model runs.  The resolved node is
 * exported in optim.h.
 */
#include <string.h>

#include "ops_impl.h"
#include "optim.h"

static const op_attr_spec adagrad_attrs[] = {
    {"decay_factor", IR_ATTR_FLOAT}, {"epsilon", IR_ATTR_FLOAT}, {"norm_coefficient", IR_ATTR_FLOAT}, {NULL, 0}};
static const op_attr_spec momentum_attrs[] = {{"alpha", IR_ATTR_FLOAT},
                                              {"beta", IR_ATTR_FLOAT},
                                              {"mode", IR_ATTR_STRING},
                                              {"norm_coefficient", IR_ATTR_FLOAT},
                                              {NULL, 0}};
static const op_attr_spec adam_attrs[] = {{"alpha", IR_ATTR_FLOAT},
                                          {"beta", IR_ATTR_FLOAT},
                                          {"epsilon", IR_ATTR_FLOAT},
                                          {"norm_coefficient", IR_ATTR_FLOAT},
                                          {"norm_coefficient_post", IR_ATTR_FLOAT},
                                          {NULL, 0}};

static bool is_float(hodu_dtype t) { return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64; }

static const ir_value *in_at(const ir_graph *g, const ir_node *n, size_t i)
{
    return i < n->n_inputs && n->inputs[i] >= 0 ? ir_val(g, n->inputs[i]) : NULL;
}

/* Validates and resolves; c may be NULL (backends: nothing to report). */
static bool optim_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, optim_plan *p)
{
#define OP_FAIL_(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    switch (n->op) {
    case OP_ADAGRAD:
        p->kind = OPTIM_ADAGRAD;
        p->groups = 3;
        p->decay_factor = ir_attr_float(n, "decay_factor", 0.0);
        p->epsilon = ir_attr_float(n, "epsilon", 0.0);
        p->norm_coefficient = ir_attr_float(n, "norm_coefficient", 0.0);
        break;
    case OP_MOMENTUM: {
        p->kind = OPTIM_MOMENTUM;
        p->groups = 3;
        static const char *const required[] = {"alpha", "beta", "mode", "norm_coefficient"};
        for (size_t i = 0; i < 4; i++)
            if (!ir_attr_find(n, required[i]))
                return OP_FAIL_("attribute '%s' is required", required[i]);
        const char *mode = ir_attr_string(n, "mode", "");
        if (strcmp(mode, "nesterov") == 0)
            p->nesterov = true;
        else if (strcmp(mode, "standard") != 0)
            return OP_FAIL_("attribute 'mode' value '%s' is not one of standard, nesterov", mode);
        p->alpha = ir_attr_float(n, "alpha", 0.0);
        p->beta = ir_attr_float(n, "beta", 0.0);
        p->norm_coefficient = ir_attr_float(n, "norm_coefficient", 0.0);
        break;
    }
    case OP_ADAM:
        p->kind = OPTIM_ADAM;
        p->groups = 4;
        p->alpha = ir_attr_float(n, "alpha", 0.9);
        p->beta = ir_attr_float(n, "beta", 0.999);
        p->epsilon = ir_attr_float(n, "epsilon", 0.0);
        p->norm_coefficient = ir_attr_float(n, "norm_coefficient", 0.0);
        p->norm_coefficient_post = ir_attr_float(n, "norm_coefficient_post", 0.0);
        break;
    default: return OP_FAIL_("not an optimizer op");
    }
    size_t tensors = n->n_inputs - 2;
    if (n->n_inputs < 2 || tensors == 0 || tensors % (size_t)p->groups)
        return OP_FAIL_("takes R, T and %d blocks of equally many tensors; %zu tensors do not split into %d blocks",
                        p->groups, tensors, p->groups);
    p->n = (int)(tensors / (size_t)p->groups);
    if (n->n_outputs != (size_t)(p->groups - 1) * (size_t)p->n)
        return OP_FAIL_("has %zu outputs; %d blocks of %d tensors give %d", n->n_outputs, p->groups - 1, p->n,
                        (p->groups - 1) * p->n);
    const ir_value *r = in_at(g, n, 0), *t = in_at(g, n, 1);
    if (!r || !t)
        return OP_FAIL_("R and T are required");
    if (!is_float(r->dtype) || ir_value_numel(r) != 1)
        return OP_FAIL_("R must be one float or double, not %s with %lld elements", ir_dtype_name(r->dtype),
                        (long long)ir_value_numel(r));
    if (t->dtype != HODU_DTYPE_I64 || ir_value_numel(t) != 1)
        return OP_FAIL_("T must be one int64, not %s with %lld elements", ir_dtype_name(t->dtype),
                        (long long)ir_value_numel(t));
    p->r_type = r->dtype;
    const ir_value *x0 = in_at(g, n, 2);
    for (int b = 0; b < p->groups; b++)
        for (int i = 0; i < p->n; i++) {
            const ir_value *v = in_at(g, n, 2 + (size_t)b * (size_t)p->n + (size_t)i);
            const ir_value *x = in_at(g, n, 2 + (size_t)i);
            if (!v || !x)
                return OP_FAIL_("input %d is required", 2 + b * p->n + i);
            if (!is_float(v->dtype) || v->dtype != x0->dtype)
                return OP_FAIL_("'%s' has type %s; every tensor must be float or double, of one type", v->name,
                                ir_dtype_name(v->dtype));
            if (!ir_same_type(v, x))
                return OP_FAIL_("'%s' and '%s' must have one shape", v->name, x->name);
        }
    return true;
#undef OP_FAIL_
}

bool optim_plan_of(const ir_graph *g, int node, optim_plan *p) { return optim_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_optim(op_ctx *c)
{
    const ir_node *n = op_node(c);
    for (size_t i = 0; i < n->n_inputs; i++)
        if (!op_need_static(c, i))
            return false;
    optim_plan p;
    if (!optim_resolve(c, c->g, n, &p))
        return false;
    for (int b = 0; b + 1 < p.groups; b++)
        for (int i = 0; i < p.n; i++) {
            /* block 0 is X; the state blocks follow G in the inputs */
            size_t src = 2 + (size_t)(b == 0 ? 0 : b + 1) * (size_t)p.n + (size_t)i;
            op_set_out_like(c, (size_t)b * (size_t)p.n + (size_t)i, op_in(c, src));
        }
    return true;
}

/* A few operations per element and tensor; the counts do not matter. */
static int64_t flops_optim(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    int64_t total = 0;
    for (size_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] >= 0)
            total = op_sat_mul(ir_value_numel(ir_val(g, n->outputs[i])), 8) + total;
    return total;
}

OP_DEF(ADAGRAD, .attrs = adagrad_attrs, .infer = infer_optim, .flops = flops_optim);
OP_DEF(MOMENTUM, .attrs = momentum_attrs, .infer = infer_optim, .flops = flops_optim);
OP_DEF(ADAM, .attrs = adam_attrs, .infer = infer_optim, .flops = flops_optim);
