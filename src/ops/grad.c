/*
 * ops/grad.c - what gradient rules build with (ops.h, "gradient rules").
 *
 * A rule appends ordinary ONNX nodes to the graph; they are untyped until
 * pass_autodiff runs inference over them, so a rule decides shapes from
 * the forward node's values, which are typed.  Each new node takes the
 * forward node's location: an error in a gradient points at the node it
 * differentiates.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

int og_x(const op_grad_ctx *c, size_t i)
{
    const ir_node *n = ir_nd(c->g, c->node);
    return i < n->n_inputs ? n->inputs[i] : -1;
}

int og_y(const op_grad_ctx *c, size_t i)
{
    const ir_node *n = ir_nd(c->g, c->node);
    return i < n->n_outputs ? n->outputs[i] : -1;
}

int og_op(op_grad_ctx *c, const char *op, const int *ins, size_t n) { return og_op_in(c, "", op, ins, n); }

int og_op_in(op_grad_ctx *c, const char *domain, const char *op, const int *ins, size_t n)
{
    ir_graph *g = c->g;
    char *name = hd_xasprintf("%s.grad%zu", g->nodes[c->node].name, g->n_nodes);
    int out = ir_value_new(g, name);
    int id = ir_node_new(g, op, domain, name, ins, n, &out, 1);
    free(name);
    ir_node *nd = ir_nd(g, id);
    nd->op = op_find(domain, op, g->opset);
    if (nd->op < 0 && !c->failed) { /* named at the node being differentiated */
        ir_node_error(c->d, g, c->node, "cannot differentiate %s: its gradient needs %s, which opset %lld lacks",
                      g->nodes[c->node].op_type, op, (long long)g->opset);
        c->failed = true;
    }
    ir_node_set_loc(g, id, g->nodes[c->node].loc);
    c->last = id;
    return out;
}

int og_op1(op_grad_ctx *c, const char *op, int a) { return og_op(c, op, &a, 1); }

int og_op2(op_grad_ctx *c, const char *op, int a, int b)
{
    int ins[2] = {a, b};
    return og_op(c, op, ins, 2);
}

void og_attr_int(op_grad_ctx *c, const char *name, int64_t v)
{
    ir_node_add_attr(c->g, c->last, name, IR_ATTR_INT)->i = v;
}

void og_attr_float(op_grad_ctx *c, const char *name, double v)
{
    ir_node_add_attr(c->g, c->last, name, IR_ATTR_FLOAT)->f = v;
}

void og_attr_ints(op_grad_ctx *c, const char *name, const int64_t *v, size_t n)
{
    ir_attr *a = ir_node_add_attr(c->g, c->last, name, IR_ATTR_INTS);
    a->ints = hd_xmalloc((n ? n : 1) * sizeof(int64_t));
    if (n)
        memcpy(a->ints, v, n * sizeof(int64_t));
    a->n = n;
}

int og_scalar(op_grad_ctx *c, double v, int like)
{
    hodu_dtype dt = ir_val(c->g, like)->dtype;
    size_t es = ir_dtype_size(dt);
    void *data = ir_graph_keep(c->g, hd_xcalloc(1, es ? es : 1));
    if (dt == HODU_DTYPE_F64) {
        memcpy(data, &v, 8);
    } else {
        float f = (float)v; /* pass_autodiff admits f32 and f64 only */
        memcpy(data, &f, 4);
        dt = HODU_DTYPE_F32;
    }
    return ir_const_new(c->g, NULL, dt, 0, NULL, data, ir_dtype_size(dt));
}

int og_i64s(op_grad_ctx *c, const int64_t *v, size_t n)
{
    int64_t *data = ir_graph_keep(c->g, hd_xcalloc(n ? n : 1, sizeof(int64_t)));
    if (n)
        memcpy(data, v, n * sizeof(int64_t));
    int64_t dim = (int64_t)n;
    return ir_const_new(c->g, NULL, HODU_DTYPE_I64, 1, &dim, data, n * sizeof(int64_t));
}

int og_shape(op_grad_ctx *c, int v) { return og_op1(c, "Shape", v); }

int og_dy(op_grad_ctx *c, size_t i)
{
    if (c->dy[i] >= 0)
        return c->dy[i];
    int y = og_y(c, i);
    return og_op2(c, "Expand", og_scalar(c, 0, y), og_shape(c, y));
}

static bool dim_is_one(const ir_dim *d) { return d->size == 1 && !d->rt && !d->data_dep && !d->sym; }

int op_axes_input_since(const char *op)
{
    static const char *const at13[] = {"ReduceSum", "Squeeze", "Unsqueeze"};
    for (size_t i = 0; i < sizeof(at13) / sizeof(at13[0]); i++)
        if (strcmp(op, at13[i]) == 0)
            return 13;
    return 18; /* the other reductions */
}

int og_axes_op(op_grad_ctx *c, const char *op, int x, const int64_t *axes, size_t n)
{
    if (c->g->opset >= op_axes_input_since(op))
        return og_op2(c, op, x, og_i64s(c, axes, n));
    int r = og_op1(c, op, x);
    og_attr_ints(c, "axes", axes, n);
    return r;
}

int og_unbroadcast(op_grad_ctx *c, int grad, int in, int out, int tail)
{
    const ir_value *vo = ir_val(c->g, out);
    ir_dim dims[HODU_MAX_RANK];
    memcpy(dims, vo->dims, sizeof(dims));
    return og_unbroadcast_dims(c, grad, in, dims, vo->rank, tail);
}

int og_unbroadcast_dims(op_grad_ctx *c, int grad, int in, const ir_dim *out_dims, int ro, int tail)
{
    const ir_value *vi = ir_val(c->g, in);
    int ri = vi->rank;
    int64_t axes[HODU_MAX_RANK];
    size_t n = 0;
    for (int j = 0; j < ro - tail; j++) {
        int k = j - (ro - ri); /* the input's dim that broadcast to out's dim j */
        if (k < 0 || (dim_is_one(&vi->dims[k]) && !dim_is_one(&out_dims[j])))
            axes[n++] = j;
    }
    if (n == 0)
        return grad;
    int s = og_axes_op(c, "ReduceSum", grad, axes, n);
    og_attr_int(c, "keepdims", 1);
    return ri == ro ? s : og_op2(c, "Reshape", s, og_shape(c, in));
}

void og_set(op_grad_ctx *c, size_t i, int g, int out)
{
    if (c->want[i])
        c->dx[i] = og_unbroadcast(c, g, og_x(c, i), out, 0);
}

bool og_none(op_grad_ctx *c, const char *why)
{
    const ir_node *n = ir_nd(c->g, c->node);
    ir_node_error(c->d, c->g, c->node, "cannot differentiate %s%s%s", n->op_type, why ? ": " : "", why ? why : "");
    return false;
}
