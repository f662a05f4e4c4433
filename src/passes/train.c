/*
 * passes/train.c - a model turned into one training step (--train).
 *
 * The step is a pure function, as a compiled model always is: it takes the
 * batch, the learning rate, the parameters and the optimizer's state, and
 * returns the loss and the next parameters and state.  Whoever drives it
 * keeps the state between steps (the outputs "X.next" are the inputs "X"
 * of the next step), so the generated code keeps no mutable state of its
 * own and a host can double-buffer the parameters instead of copying them.
 *
 * pass_train_params runs before inference: the trained initializers become
 * inputs, so folding cannot bake them into constants.  pass_train_step runs
 * after it: the loss over the model's first f32 output, its gradients
 * (pass_backward), the clipping and the optimizer's update.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"

static bool trainable(const ir_graph *g, int v)
{
    const ir_value *x = &g->values[v];
    return x->kind == IR_VALUE_CONST && x->dtype == HODU_DTYPE_F32 && x->producer < 0;
}

/* Operand k of node n is a setting rather than a weight: a float that
 * decides sizes or bounds (Resize's scales, Clip's bounds, Pad's value,
 * Dropout's ratio) or a statistic PyTorch keeps as a buffer
 * (BatchNormalization's running mean and variance). */
static bool setting_operand(const ir_node *n, size_t k)
{
    switch ((op_id)n->op) {
    case OP_RESIZE:
    case OP_UPSAMPLE:
    case OP_CLIP:
    case OP_DROPOUT:
    case OP_RANGE: return k >= 1;
    case OP_PAD: return k >= 2;
    case OP_BATCH_NORMALIZATION: return k >= 3;
    default: return false;
    }
}

/* The default: initializers of the model (not constants it computes or
 * literals) with at least one dim, read only as weights. */
static bool default_param(const ir_graph *g, int v, const bool *as_setting)
{
    const ir_value *x = &g->values[v];
    bool declared = x->loc.kind == IR_LOC_ONNX_INITIALIZER || x->loc.kind == IR_LOC_TEXT;
    return trainable(g, v) && declared && x->rank >= 1 && !as_setting[v];
}

static int find_const(const ir_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (g->values[i].kind == IR_VALUE_CONST && strcmp(g->values[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool pass_train_params(ir_graph *g, const pass_train *t, size_t *first_param, hd_diag *d)
{
    *first_param = g->n_inputs;
    size_t errors = d->n_errors;
    bool *pick = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(bool));
    for (size_t i = 0; i < t->n_params; i++) {
        int v = find_const(g, t->params[i]);
        if (v < 0)
            hd_error(d, "--train-param %s: the model has no initializer of that name", t->params[i]);
        else if (!trainable(g, v))
            hd_error(d, "--train-param %s: the initializer is %s; parameters that train are f32", t->params[i],
                     ir_dtype_name(g->values[v].dtype));
        else
            pick[v] = true;
    }
    /* by default every f32 initializer that nodes read as a weight */
    bool *as_setting = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(bool));
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t j = 0; j < g->nodes[i].n_inputs; j++)
            if (g->nodes[i].inputs[j] >= 0 && setting_operand(&g->nodes[i], j))
                as_setting[g->nodes[i].inputs[j]] = true;
    for (size_t i = 0; t->n_params == 0 && i < g->n_nodes; i++)
        for (size_t j = 0; j < g->nodes[i].n_inputs; j++) {
            int v = g->nodes[i].inputs[j];
            if (v >= 0 && !g->nodes[i].dead && default_param(g, v, as_setting))
                pick[v] = true;
        }
    free(as_setting);
    for (size_t i = 0; i < t->n_frozen; i++) {
        int v = find_const(g, t->frozen[i]);
        if (v >= 0)
            pick[v] = false;
    }
    size_t n = 0;
    for (size_t v = 0; v < g->n_values && d->n_errors == errors; v++) {
        if (!pick[v])
            continue;
        ir_value *x = &g->values[v];
        x->kind = IR_VALUE_INPUT;
        x->initial = x->data; /* the host starts the training from it */
        x->data = NULL;
        HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, (int)v);
        n++;
    }
    free(pick);
    if (d->n_errors == errors && n == 0 && t->n_frozen)
        hd_error(d, "--train: the train declaration's freeze= leaves no parameter to train");
    else if (d->n_errors == errors && n == 0)
        hd_error(d, "--train: the model has no f32 initializer to train");
    return d->n_errors == errors;
}

/* --- building nodes ------------------------------------------------------ */

typedef struct step {
    ir_graph *g;
    ir_loc loc;
} step;

static int node(step *s, const char *op, const int *ins, size_t n)
{
    return pass_add_node(s->g, op, ins, n, -1, s->loc);
}

static int op1(step *s, const char *op, int a) { return node(s, op, &a, 1); }
static int op2(step *s, const char *op, int a, int b)
{
    int ins[2] = {a, b};
    return node(s, op, ins, 2);
}

static int f32(step *s, double v)
{
    float *p = ir_graph_keep(s->g, hd_xmalloc(sizeof(float)));
    *p = (float)v;
    return ir_const_new(s->g, NULL, HODU_DTYPE_F32, 0, NULL, p, sizeof(float));
}

/* The mean of every element of x, a scalar. */
static int mean_all(step *s, int x)
{
    int r = op1(s, "ReduceMean", x);
    ir_node_add_attr(s->g, s->g->values[r].producer, "keepdims", IR_ATTR_INT)->i = 0;
    return r;
}

/* The sum of x over axis 1, dropping it (axes as the opset has them). */
static int sum_axis1(step *s, int x)
{
    int r;
    if (s->g->opset >= op_axes_input_since("ReduceSum")) {
        int64_t *one = ir_graph_keep(s->g, hd_xmalloc(sizeof(int64_t)));
        *one = 1;
        int64_t n = 1;
        r = op2(s, "ReduceSum", x, ir_const_new(s->g, NULL, HODU_DTYPE_I64, 1, &n, one, sizeof(int64_t)));
    } else {
        r = op1(s, "ReduceSum", x);
        ir_attr *a = ir_node_add_attr(s->g, s->g->values[r].producer, "axes", IR_ATTR_INTS);
        a->ints = hd_xmalloc(sizeof(int64_t));
        a->ints[0] = 1;
        a->n = 1;
    }
    ir_node_add_attr(s->g, s->g->values[r].producer, "keepdims", IR_ATTR_INT)->i = 0;
    return r;
}

/* A new graph input or output named `name`, typed as given. */
static int io_value(ir_graph *g, const char *name, hodu_dtype dt, const ir_value *like, bool input, hd_diag *d)
{
    if (pass_value_named(g, name)) {
        hd_error(d, "--train: the model already has a value named '%s'", name);
        return -1;
    }
    ir_dim dims[HODU_MAX_RANK];
    int rank = like ? like->rank : 0;
    if (like)
        memcpy(dims, like->dims, sizeof(dims));
    int v = ir_value_new(g, name);
    ir_value *x = ir_val(g, v);
    x->dtype = dt;
    x->rank = rank;
    if (rank)
        memcpy(x->dims, dims, sizeof(dims));
    if (input) {
        x->kind = IR_VALUE_INPUT;
        HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, v);
    }
    return v;
}

/* Makes value v the output `name` (through an Identity). */
static bool set_output(step *s, int v, const char *name, hd_diag *d)
{
    int r = io_value(s->g, name, HODU_DTYPE_UNDEFINED, NULL, false, d);
    if (r < 0)
        return false;
    ir_val(s->g, r)->rank = -1;
    pass_add_node(s->g, "Identity", &v, 1, r, s->loc);
    ir_val(s->g, r)->is_output = true;
    HD_PUSH(s->g->outputs, s->g->n_outputs, s->g->cap_outputs, r);
    return true;
}

/* The loss over the model's output y and the target input. */
static int build_loss(step *s, const pass_train *t, int y, hd_diag *d)
{
    ir_graph *g = s->g;
    const ir_value *yv = &g->values[y];
    if (t->loss == PASS_LOSS_GRAPH) {
        if (yv->rank != 0) {
            char *at = ir_loc_format(&yv->loc);
            hd_error_at(d, at, "--train: the loss '%s' must be a scalar, it has rank %d", yv->name, yv->rank);
            free(at);
            return -1;
        }
        return y;
    }
    if (t->loss == PASS_LOSS_CROSS_ENTROPY) {
        if (yv->rank < 2) {
            hd_error(d, "--loss cross_entropy: the output '%s' must be scores [N, C, ...], it has rank %d", yv->name,
                     yv->rank);
            return -1;
        }
        ir_value like = *yv; /* the target: class indices, [N, ...] without C */
        like.rank = yv->rank - 1;
        like.dims[0] = yv->dims[0];
        memmove(like.dims + 1, yv->dims + 2, (size_t)(yv->rank - 2) * sizeof(ir_dim));
        int target = io_value(g, "target", HODU_DTYPE_I64, &like, true, d);
        if (target < 0)
            return -1;
        int loss = op2(s, "SoftmaxCrossEntropyLoss", y, target);
        ir_node_add_attr(g, g->values[loss].producer, "reduction", IR_ATTR_STRING)->s = hd_xstrdup("mean");
        return loss;
    }
    int target = io_value(g, "target", HODU_DTYPE_F32, &g->values[y], true, d);
    if (target < 0)
        return -1;
    switch (t->loss) {
    case PASS_LOSS_MSE: {
        int e = op2(s, "Sub", y, target);
        return mean_all(s, op2(s, "Mul", e, e));
    }
    case PASS_LOSS_L1: return mean_all(s, op1(s, "Abs", op2(s, "Sub", y, target)));
    case PASS_LOSS_SOFT_CROSS_ENTROPY: { /* -sum_c target log softmax(y) over C, mean over the rest */
        int lsm = op1(s, "LogSoftmax", y);
        ir_node_add_attr(g, g->values[lsm].producer, "axis", IR_ATTR_INT)->i = 1;
        return op1(s, "Neg", mean_all(s, sum_axis1(s, op2(s, "Mul", target, lsm))));
    }
    case PASS_LOSS_BCE_LOGITS: /* max(y, 0) - y t + log(1 + e^-|y|), the stable form */
        return mean_all(s, op2(s, "Add", op2(s, "Sub", op1(s, "Relu", y), op2(s, "Mul", y, target)),
                               op1(s, "Softplus", op1(s, "Neg", op1(s, "Abs", y)))));
    default: return -1;
    }
}

/* --- the optimizer ------------------------------------------------------- */

/* Input "<param>.<what>" (optimizer state shaped like the parameter) and
 * its output "<param>.<what>.next"; returns the input. */
static int state_input(step *s, int p, const char *what, hd_diag *d)
{
    char *name = hd_xasprintf("%s.%s", s->g->values[p].name, what);
    ir_value like = s->g->values[p];
    int v = io_value(s->g, name, HODU_DTYPE_F32, &like, true, d);
    free(name);
    return v;
}

static bool next_output(step *s, int of, int v, hd_diag *d)
{
    char *name = hd_xasprintf("%s.next", s->g->values[of].name);
    bool ok = set_output(s, v, name, d);
    free(name);
    if (ok)
        s->g->values[of].state_next = s->g->outputs[s->g->n_outputs - 1];
    return ok;
}

/* The update of parameter p with gradient gp (PyTorch's formulas for SGD,
 * Adam and AdamW); t1 is Adam's step count after this step. */
static bool update(step *s, const pass_train *t, int p, int gp, int lr, int t1, hd_diag *d)
{
    const pass_optimizer *o = &t->opt;
    if (o->kind == PASS_OPT_SGD) {
        if (o->weight_decay != 0)
            gp = op2(s, "Add", gp, op2(s, "Mul", f32(s, o->weight_decay), p));
        if (o->momentum != 0) { /* v = mu v + g; the first step's v is g, as v starts at 0 */
            int v = state_input(s, p, "momentum", d);
            if (v < 0)
                return false;
            gp = op2(s, "Add", op2(s, "Mul", f32(s, o->momentum), v), gp);
            if (!next_output(s, v, gp, d))
                return false;
        }
        return next_output(s, p, op2(s, "Sub", p, op2(s, "Mul", lr, gp)), d);
    }
    if (o->kind == PASS_OPT_ADAM && o->weight_decay != 0) /* Adam: L2 in the gradient */
        gp = op2(s, "Add", gp, op2(s, "Mul", f32(s, o->weight_decay), p));
    int m = state_input(s, p, "adam_m", d), v = state_input(s, p, "adam_v", d);
    if (m < 0 || v < 0)
        return false;
    int m1 = op2(s, "Add", op2(s, "Mul", f32(s, o->beta1), m), op2(s, "Mul", f32(s, 1 - o->beta1), gp));
    int v1 =
        op2(s, "Add", op2(s, "Mul", f32(s, o->beta2), v), op2(s, "Mul", f32(s, 1 - o->beta2), op2(s, "Mul", gp, gp)));
    /* lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps) */
    int c1 = op2(s, "Sub", f32(s, 1), op2(s, "Pow", f32(s, o->beta1), t1));
    int c2 = op2(s, "Sub", f32(s, 1), op2(s, "Pow", f32(s, o->beta2), t1));
    int denom = op2(s, "Add", op1(s, "Sqrt", op2(s, "Div", v1, c2)), f32(s, o->eps));
    int stepv = op2(s, "Div", op2(s, "Mul", op2(s, "Div", lr, c1), m1), denom);
    int base = p;
    if (o->kind == PASS_OPT_ADAMW && o->weight_decay != 0) /* decoupled: p (1 - lr wd) first */
        base = op2(s, "Mul", p, op2(s, "Sub", f32(s, 1), op2(s, "Mul", lr, f32(s, o->weight_decay))));
    return next_output(s, m, m1, d) && next_output(s, v, v1, d) && next_output(s, p, op2(s, "Sub", base, stepv), d);
}

bool pass_train_step(ir_graph *g, const pass_train *t, size_t first_param, hd_diag *d)
{
    size_t first = g->n_nodes;
    int y = -1;
    for (size_t i = 0; i < g->n_outputs && y < 0; i++)
        if (g->values[g->outputs[i]].dtype == HODU_DTYPE_F32)
            y = g->outputs[i];
    if (y < 0) {
        hd_error(d, "--train: the model has no f32 output to compute the loss on");
        return false;
    }
    size_t np = g->n_inputs - first_param;
    int *params = hd_xmalloc((np + 1) * sizeof(int)), *grads = hd_xmalloc((np + 1) * sizeof(int));
    memcpy(params, g->inputs + first_param, np * sizeof(int));
    step s = {g, g->values[y].loc};
    /* the step's results replace the model's */
    for (size_t i = 0; i < g->n_outputs; i++)
        g->values[g->outputs[i]].is_output = false;
    g->n_outputs = 0;
    int loss = build_loss(&s, t, y, d);
    int lr = loss >= 0 ? io_value(g, "lr", HODU_DTYPE_F32, NULL, true, d) : -1;
    bool ok = lr >= 0 && set_output(&s, loss, "loss", d);
    /* the loss is typed before its gradients are taken: rules read types */
    ok = ok && pass_infer_fold_from(g, first, d);
    first = g->n_nodes;
    int one = f32(&s, 1);
    ok = ok && pass_backward(g, params, np, &loss, &one, 1, grads, d) && pass_infer_fold_from(g, first, d) &&
         pass_check_grads(g, params, grads, np, d);
    first = g->n_nodes;
    size_t reached = 0;
    for (size_t i = 0; ok && i < np; i++)
        reached += grads[i] >= 0;
    if (ok && t->loss == PASS_LOSS_GRAPH && reached == 0) { /* a declared loss that cannot train anything */
        char *at = ir_loc_format(&g->values[y].loc);
        hd_error_at(d, at,
                    "--train: no trained parameter reaches the loss through differentiable ops (comparisons, "
                    "integer casts and rounding pass no gradient)");
        free(at);
        ok = false;
    }
    for (size_t i = 0; ok && i < np; i++)
        if (grads[i] < 0) /* the loss does not depend on it */
            grads[i] = pass_zeros_like(g, params[i]);
    if (ok && t->clip_norm > 0) { /* scale by min(1, max / (|g| + 1e-6)), |g| over every gradient */
        int sq = -1;
        for (size_t i = 0; i < np; i++) {
            int r = op1(&s, "ReduceSumSquare", grads[i]);
            ir_node_add_attr(g, g->values[r].producer, "keepdims", IR_ATTR_INT)->i = 0;
            sq = sq < 0 ? r : op2(&s, "Add", sq, r);
        }
        int norm = op1(&s, "Sqrt", sq);
        int scale =
            op2(&s, "Min", f32(&s, 1), op2(&s, "Div", f32(&s, t->clip_norm), op2(&s, "Add", norm, f32(&s, 1e-6))));
        for (size_t i = 0; i < np; i++)
            grads[i] = op2(&s, "Mul", grads[i], scale);
    }
    int t1 = -1;
    if (ok && t->opt.kind != PASS_OPT_SGD) { /* Adam's step count, carried as a float */
        int steps = io_value(g, "adam.step", HODU_DTYPE_F32, NULL, true, d);
        ok = steps >= 0;
        if (ok) {
            t1 = op2(&s, "Add", steps, f32(&s, 1));
            ok = next_output(&s, steps, t1, d);
        }
    }
    for (size_t i = 0; ok && i < np; i++) {
        s.loc = g->values[params[i]].loc;
        ok = update(&s, t, params[i], grads[i], lr, t1, d);
    }
    free(params);
    free(grads);
    return ok && pass_infer_fold_from(g, first, d);
}
