/*
 * ops/recurrent_grad.c - how the recurrent family differentiates.
 *
 * RNN, GRU and LSTM have no rule of their own: a node that a gradient must
 * cross is first rewritten as the ordinary ops its cell is made of,
 * unrolled over the steps (op_def.expand, run by pass_backward), and the
 * rules of MatMul, Add, Sigmoid, Where, ... differentiate that.  The
 * expansion computes what the fused kernel computes (recurrent.c's
 * formulas: gate order i, o, f, c and z, r, h, clip on the gates'
 * pre-activations only, entries past their length keeping their state and
 * writing zeros to Y) and takes over the node's result values, so the rest
 * of the graph does not change; builds without gradients keep the kernel.
 *
 * Everything is kept 3-D: a step's state is [1, batch, hidden], each
 * direction's weights [1, rows, cols], so MatMul broadcasts over the steps
 * and Y is a plain Concat of the steps.  Unrolling needs the number of
 * steps when the model is built: a sequence over a run-time dim is refused.
 *
 * ReverseSequence's rule is here too: it is its own inverse.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "recurrent.h"

/* Steps (times directions) one node may unroll into: each is a few dozen
 * nodes forward and as many again backward. */
#define RX_MAX_STEPS 4096

/* A node `op` writing outs[0..n_out) (values made by the caller), placed
 * at the node being expanded; c->last is it. */
static void rx_node(op_grad_ctx *c, const char *op, const int *ins, size_t n, const int *outs, size_t n_out)
{
    ir_graph *g = c->g;
    char *name = hd_xasprintf("%s.step%zu", g->nodes[c->node].name, g->n_nodes);
    int id = ir_node_new(g, op, "", name, ins, n, outs, n_out);
    free(name);
    ir_nd(g, id)->op = op_find("", op, g->opset);
    if (ir_nd(g, id)->op < 0 && !c->failed) {
        ir_node_error(c->d, g, c->node, "cannot differentiate %s: unrolled, it needs %s, which opset %" PRId64 " lacks",
                      g->nodes[c->node].op_type, op, g->opset);
        c->failed = true;
    }
    ir_node_set_loc(g, id, g->nodes[c->node].loc);
    c->last = id;
}

/* A scalar of the node's float type. */
static int rx_num(op_grad_ctx *c, double v) { return og_scalar(c, v, og_x(c, 0)); }

static int rx_i32s(op_grad_ctx *c, const int32_t *v, size_t n, int rank, const int64_t *dims)
{
    int32_t *data = ir_graph_keep(c->g, hd_xcalloc(n ? n : 1, sizeof(int32_t)));
    if (n)
        memcpy(data, v, n * sizeof(int32_t));
    return ir_const_new(c->g, NULL, HODU_DTYPE_I32, rank, dims, data, n * sizeof(int32_t));
}

static int rx_transpose(op_grad_ctx *c, int x, const int64_t *perm, size_t rank)
{
    int r = og_op1(c, "Transpose", x);
    og_attr_ints(c, "perm", perm, rank);
    return r;
}

static int rx_concat(op_grad_ctx *c, const int *parts, size_t n, int64_t axis)
{
    int r = og_op(c, "Concat", parts, n);
    og_attr_int(c, "axis", axis);
    return r;
}

/* Split of x along `axis` into sizes[0..n) (n <= 64, Split's limit). */
static void rx_split_sizes(op_grad_ctx *c, int x, int64_t axis, const int64_t *sizes, size_t n, int *out)
{
    int ins[2] = {x, -1};
    bool as_input = c->g->opset >= 13;
    if (as_input)
        ins[1] = og_i64s(c, sizes, n);
    for (size_t i = 0; i < n; i++)
        out[i] = ir_value_new(c->g, NULL);
    rx_node(c, "Split", ins, as_input ? 2 : 1, out, n);
    og_attr_int(c, "axis", axis);
    if (!as_input)
        og_attr_ints(c, "split", sizes, n);
}

/* x split along `axis` into n parts of `each` (out[0..n)); past Split's 64
 * results, in groups first. */
static void rx_split(op_grad_ctx *c, int x, int64_t axis, int64_t n, int64_t each, int *out)
{
    int64_t per = 1, sizes[64] = {0};
    while ((n + per - 1) / per > 64)
        per *= 64;
    int64_t groups = (n + per - 1) / per;
    for (int64_t k = 0; k < groups; k++)
        sizes[k] = (n - k * per < per ? n - k * per : per) * each;
    if (per == 1) {
        rx_split_sizes(c, x, axis, sizes, (size_t)groups, out);
        return;
    }
    int parts[64];
    rx_split_sizes(c, x, axis, sizes, (size_t)groups, parts);
    for (int64_t k = 0; k < groups; k++)
        rx_split(c, parts[k], axis, sizes[k] / each, each, out + k * per);
}

/* Per direction: v's slices along its first dim, each keeping it (1). */
static void rx_dirs(op_grad_ctx *c, int v, int dirs, int *out)
{
    if (dirs == 1)
        out[0] = v;
    else
        rx_split(c, v, 0, 2, 1, out);
}

static int rx_zeros(op_grad_ctx *c, const int64_t *dims, size_t rank)
{
    return og_op2(c, "Expand", rx_num(c, 0), og_i64s(c, dims, rank));
}

static int rx_act(op_grad_ctx *c, const rnn_act *a, int v)
{
    int r;
    switch (a->kind) {
    case RNN_ACT_RELU: return og_op1(c, "Relu", v);
    case RNN_ACT_TANH: return og_op1(c, "Tanh", v);
    case RNN_ACT_SIGMOID: return og_op1(c, "Sigmoid", v);
    case RNN_ACT_SOFTSIGN: return og_op1(c, "Softsign", v);
    case RNN_ACT_SOFTPLUS: return og_op1(c, "Softplus", v);
    case RNN_ACT_AFFINE: return og_op2(c, "Add", og_op2(c, "Mul", v, rx_num(c, a->alpha)), rx_num(c, a->beta));
    case RNN_ACT_SCALED_TANH:
        return og_op2(c, "Mul", og_op1(c, "Tanh", og_op2(c, "Mul", v, rx_num(c, a->beta))), rx_num(c, a->alpha));
    case RNN_ACT_LEAKY_RELU: r = og_op1(c, "LeakyRelu", v); break;
    case RNN_ACT_THRESHOLDED_RELU: r = og_op1(c, "ThresholdedRelu", v); break;
    case RNN_ACT_ELU: r = og_op1(c, "Elu", v); break;
    case RNN_ACT_HARD_SIGMOID:
        r = og_op1(c, "HardSigmoid", v);
        og_attr_float(c, "beta", a->beta);
        break;
    default: return v;
    }
    og_attr_float(c, "alpha", a->alpha);
    return r;
}

/* A gate: its pre-activation bounded by clip (when the node has one), then
 * the activation. */
static int rx_gate(op_grad_ctx *c, const rnn_plan *p, const rnn_act *a, int pre)
{
    if (p->has_clip) {
        if (c->g->opset >= 11) {
            int ins[3] = {pre, rx_num(c, -p->clip), rx_num(c, p->clip)};
            pre = og_op(c, "Clip", ins, 3);
        } else {
            pre = og_op1(c, "Clip", pre);
            og_attr_float(c, "min", -p->clip);
            og_attr_float(c, "max", p->clip);
        }
    }
    return rx_act(c, a, pre);
}

/* One direction's operands, each [1, ...] (-1: absent). */
typedef struct rx_dir {
    int w, r, b, p, h0, c0;
} rx_dir;

/* Runs direction d over xs ([seq, batch, input], masked), giving its Y
 * ([seq, batch, hidden]; -1 when not wanted) and last states
 * ([1, batch, hidden]). */
static void rx_run(op_grad_ctx *c, const rnn_plan *p, int d, const rx_dir *o, int xs, int lens, int lens_b1, int *y,
                   int *h_last, int *c_last)
{
    const int64_t S = p->seq, B = p->batch, H = p->hidden, G = p->gates;
    const bool rev = p->reverse || d == 1, lstm = p->cell == RNN_CELL_LSTM, gru = p->cell == RNN_CELL_GRU;
    const rnn_act *act = p->act[d];
    const int64_t t3[3] = {0, 2, 1}, state[3] = {1, B, H};
    int lens64 = -1;
    if (rev && p->has_lens) { /* the entries' steps reversed within their lengths */
        lens64 = og_op1(c, "Cast", lens);
        og_attr_int(c, "to", 7); /* int64 */
        int ins[2] = {xs, lens64};
        xs = og_op(c, "ReverseSequence", ins, 2);
        og_attr_int(c, "time_axis", 0);
        og_attr_int(c, "batch_axis", 1);
    }
    int wk[4], rt[4], bk[8] = {-1}, pk[3] = {-1, -1, -1};
    rx_split(c, o->w, 1, G, H, wk);
    rx_split(c, o->r, 1, G, H, rt);
    if (o->b >= 0)
        rx_split(c, o->b, 1, 2 * G, H, bk);
    if (o->p >= 0)
        rx_split(c, o->p, 1, 3, H, pk);
    /* every step's input projection, gate by gate, biases added (GRU with
     * linear_before_reset keeps Rbh for inside the reset) */
    int *xw = hd_xmalloc((size_t)(G * S) * sizeof(int));
    for (int64_t k = 0; k < G; k++) {
        int proj = og_op2(c, "MatMul", xs, rx_transpose(c, wk[k], t3, 3));
        if (o->b >= 0)
            proj = og_op2(c, "Add", proj, gru && p->lbr && k == 2 ? bk[k] : og_op2(c, "Add", bk[k], bk[G + k]));
        rx_split(c, proj, 0, S, 1, xw + k * S);
        rt[k] = rx_transpose(c, rt[k], t3, 3);
    }
    int h = o->h0 >= 0 ? o->h0 : rx_zeros(c, state, 3), cs = -1;
    if (lstm)
        cs = o->c0 >= 0 ? o->c0 : rx_zeros(c, state, 3);
    int *ys = y ? hd_xmalloc((size_t)(S ? S : 1) * sizeof(int)) : NULL;
    for (int64_t s = 0; s < S; s++) {
        const int64_t t = rev && !p->has_lens ? S - 1 - s : s;
#define PRE(k) og_op2(c, "Add", xw[(k)*S + t], og_op2(c, "MatMul", h, rt[k]))
        int hn, cn = -1;
        if (p->cell == RNN_CELL_RNN) {
            hn = rx_gate(c, p, &act[0], PRE(0));
        } else if (gru) {
            int z = rx_gate(c, p, &act[0], PRE(0)), r = rx_gate(c, p, &act[0], PRE(1)), n;
            if (p->lbr) {
                int hr = og_op2(c, "MatMul", h, rt[2]);
                if (o->b >= 0)
                    hr = og_op2(c, "Add", hr, bk[G + 2]);
                n = rx_gate(c, p, &act[1], og_op2(c, "Add", xw[2 * S + t], og_op2(c, "Mul", r, hr)));
            } else {
                int rh = og_op2(c, "MatMul", og_op2(c, "Mul", r, h), rt[2]);
                n = rx_gate(c, p, &act[1], og_op2(c, "Add", xw[2 * S + t], rh));
            }
            hn = og_op2(c, "Add", og_op2(c, "Mul", og_op2(c, "Sub", rx_num(c, 1), z), n), og_op2(c, "Mul", z, h));
        } else { /* LSTM: i, o, f, c along W's rows; P = [Pi, Po, Pf] */
            int pi = PRE(0), pf = p->input_forget ? -1 : PRE(2);
            if (o->p >= 0) {
                pi = og_op2(c, "Add", pi, og_op2(c, "Mul", pk[0], cs));
                if (pf >= 0)
                    pf = og_op2(c, "Add", pf, og_op2(c, "Mul", pk[2], cs));
            }
            int i = rx_gate(c, p, &act[0], pi);
            int f = pf >= 0 ? rx_gate(c, p, &act[0], pf) : og_op2(c, "Sub", rx_num(c, 1), i);
            int cc = rx_gate(c, p, &act[1], PRE(3));
            cn = og_op2(c, "Add", og_op2(c, "Mul", f, cs), og_op2(c, "Mul", i, cc));
            int po = PRE(1);
            if (o->p >= 0)
                po = og_op2(c, "Add", po, og_op2(c, "Mul", pk[1], cn));
            hn = og_op2(c, "Mul", rx_gate(c, p, &act[0], po), rx_act(c, &act[2], cn));
        }
#undef PRE
        if (p->has_lens) { /* entries past their length keep their state, and Y is zero there */
            int32_t si = (int32_t)s;
            int m = og_op2(c, "Less", rx_i32s(c, &si, 1, 0, NULL), lens_b1);
            int pick[3] = {m, hn, rx_num(c, 0)};
            if (ys)
                ys[t] = og_op(c, "Where", pick, 3);
            pick[2] = h;
            h = og_op(c, "Where", pick, 3);
            if (lstm) {
                int keep[3] = {m, cn, cs};
                cs = og_op(c, "Where", keep, 3);
            }
        } else {
            if (ys)
                ys[t] = hn;
            h = hn;
            cs = cn;
        }
    }
    if (ys) {
        *y = S == 1 ? ys[0] : rx_concat(c, ys, (size_t)S, 0);
        if (lens64 >= 0) {
            int ins[2] = {*y, lens64};
            *y = og_op(c, "ReverseSequence", ins, 2);
            og_attr_int(c, "time_axis", 0);
            og_attr_int(c, "batch_axis", 1);
        }
    }
    *h_last = h;
    *c_last = cs;
    free(ys);
    free(xw);
}

/* Value v becomes the node's result `out` (which keeps its id). */
static void rx_finish(op_grad_ctx *c, int v, int out)
{
    if (out >= 0)
        rx_node(c, "Identity", &v, 1, &out, 1);
}

/* Refuses what cannot be unrolled; true when the node can be. */
static bool rx_check(op_grad_ctx *c, const rnn_plan *p)
{
    const ir_node *n = ir_nd(c->g, c->node);
    const ir_value *x = ir_val(c->g, n->inputs[0]);
    const ir_dim *seq = &x->dims[p->layout1 ? 1 : 0];
    if (seq->rt) {
        ir_node_error(c->d, c->g, c->node,
                      "cannot differentiate %s: its gradient unrolls the steps, so seq_length must be known when "
                      "the model is built, and X's dim %d is the run-time dim '%s' (bind it with --dim %s=N)",
                      n->op_type, p->layout1 ? 1 : 0, seq->sym ? seq->sym : "?", seq->sym ? seq->sym : "NAME");
        return false;
    }
    for (size_t j = 0; j < n->n_inputs + n->n_outputs; j++) {
        int v = j < n->n_inputs ? n->inputs[j] : n->outputs[j - n->n_inputs];
        if (v >= 0 && ir_value_has_rt(ir_val(c->g, v))) {
            ir_node_error(c->d, c->g, c->node,
                          "cannot differentiate %s: '%s' has a run-time dim, and gradients over run-time dims are "
                          "not supported yet",
                          n->op_type, ir_val(c->g, v)->name);
            return false;
        }
    }
    if (op_sat_mul(p->seq, p->dirs) > RX_MAX_STEPS) {
        ir_node_error(c->d, c->g, c->node,
                      "cannot differentiate %s: its gradient unrolls %" PRId64 " steps in %d direction(s); at most %d "
                      "are supported",
                      n->op_type, p->seq, p->dirs, RX_MAX_STEPS);
        return false;
    }
    return true;
}

bool rnn_expand(ir_graph *g, int node, hd_diag *d)
{
    rnn_plan p;
    if (!rnn_plan_of(g, node, &p)) {
        ir_node_error(d, g, node, "internal error: no recurrent plan for the gradient");
        return false;
    }
    op_grad_ctx c = {g, node, d, NULL, NULL, NULL, -1, false};
    if (!rx_check(&c, &p))
        return false;
    int in[8], out[3];
    for (size_t j = 0; j < 8; j++)
        in[j] = og_x(&c, j);
    for (size_t j = 0; j < 3; j++)
        out[j] = og_y(&c, j);
    const int64_t S = p.seq, B = p.batch, H = p.hidden, D = p.dirs;
    const int64_t t3[3] = {1, 0, 2};
    int yd[2] = {-1, -1}, hs[2] = {-1, -1}, cs[2] = {-1, -1};
    if (S == 0 || B == 0 || H == 0) { /* nothing to step through: Y is empty, the states stay */
        const int64_t st[3] = {p.layout1 ? B : D, p.layout1 ? D : B, H};
        if (out[0] >= 0) {
            int64_t y[4];
            ir_value_dims(ir_val(g, out[0]), y);
            rx_finish(&c, rx_zeros(&c, y, 4), out[0]);
        }
        for (int k = 1; k < 3; k++)
            if (out[k] >= 0)
                rx_finish(&c, in[4 + k] >= 0 ? in[4 + k] : rx_zeros(&c, st, 3), out[k]);
        ir_nd(g, node)->dead = true;
        return !c.failed;
    }
    /* X as [seq, batch, input]; steps past an entry's length never reach
     * a cell, so whatever X holds there cannot turn into NaN gradients */
    int xs = p.layout1 ? rx_transpose(&c, in[0], t3, 3) : in[0], lens_b1 = -1;
    if (p.has_lens) {
        const int64_t one = 1, ax[2] = {0, 2};
        lens_b1 = og_axes_op(&c, "Unsqueeze", in[4], &one, 1);
        int32_t *steps = hd_xmalloc((size_t)S * sizeof(int32_t));
        for (int64_t s = 0; s < S; s++)
            steps[s] = (int32_t)s;
        const int64_t sd[3] = {S, 1, 1};
        int inside =
            og_op2(&c, "Less", rx_i32s(&c, steps, (size_t)S, 3, sd), og_axes_op(&c, "Unsqueeze", in[4], ax, 2));
        free(steps);
        int ins[3] = {inside, xs, rx_num(&c, 0)};
        xs = og_op(&c, "Where", ins, 3);
    }
    rx_dir o[2];
    int parts[2];
    memset(o, 0xff, sizeof o); /* -1 everywhere: absent */
    rx_dirs(&c, in[1], (int)D, parts);
    o[0].w = parts[0], o[1].w = parts[1];
    rx_dirs(&c, in[2], (int)D, parts);
    o[0].r = parts[0], o[1].r = parts[1];
    if (p.has_b) {
        rx_dirs(&c, in[3], (int)D, parts);
        o[0].b = parts[0], o[1].b = parts[1];
    }
    if (p.has_p) {
        rx_dirs(&c, in[7], (int)D, parts);
        o[0].p = parts[0], o[1].p = parts[1];
    }
    if (p.has_h0) {
        rx_dirs(&c, p.layout1 ? rx_transpose(&c, in[5], t3, 3) : in[5], (int)D, parts);
        o[0].h0 = parts[0], o[1].h0 = parts[1];
    }
    if (p.has_c0) {
        rx_dirs(&c, p.layout1 ? rx_transpose(&c, in[6], t3, 3) : in[6], (int)D, parts);
        o[0].c0 = parts[0], o[1].c0 = parts[1];
    }
    for (int k = 0; k < (int)D; k++)
        rx_run(&c, &p, k, &o[k], xs, in[4], lens_b1, out[0] >= 0 ? &yd[k] : NULL, &hs[k], &cs[k]);
    if (out[0] >= 0) { /* [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]) */
        const int64_t ax = 1, t4[4] = {2, 0, 1, 3};
        for (int k = 0; k < (int)D; k++)
            parts[k] = og_axes_op(&c, "Unsqueeze", yd[k], &ax, 1);
        int y = D == 2 ? rx_concat(&c, parts, 2, 1) : parts[0];
        rx_finish(&c, p.layout1 ? rx_transpose(&c, y, t4, 4) : y, out[0]);
    }
    for (int k = 1; k < 3; k++) { /* [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) */
        const int *last = k == 1 ? hs : cs;
        if (out[k] < 0)
            continue;
        int v = D == 2 ? rx_concat(&c, last, 2, 0) : last[0];
        rx_finish(&c, p.layout1 ? rx_transpose(&c, v, t3, 3) : v, out[k]);
    }
    ir_nd(g, node)->dead = true;
    return !c.failed;
}

bool revseq_grad(op_grad_ctx *c)
{
    const ir_node *n = ir_nd(c->g, c->node);
    int64_t ba = ir_attr_int(n, "batch_axis", 1), ta = ir_attr_int(n, "time_axis", 0);
    if (!c->want[0])
        return true;
    /* a permutation that is its own inverse */
    int ins[2] = {og_dy(c, 0), og_x(c, 1)};
    int r = og_op(c, "ReverseSequence", ins, 2);
    og_attr_int(c, "batch_axis", ba);
    og_attr_int(c, "time_axis", ta);
    c->dx[0] = r;
    return true;
}
