/*
 * ops/recurrent.c - the recurrent op family: RNN, GRU and LSTM (ai.onnx
 * opset 7 on; opset 14 adds `layout`, later versions only widen the types)
 * and ReverseSequence (opset 10).  The resolved plans are exported in
 * recurrent.h.
 *
 * The three cells share one frame.  X is [seq, batch, input] (layout 0) or
 * [batch, seq, input] (layout 1); W stacks the input weights of every gate,
 * [dirs, gates*hidden, input], R the recurrent ones, [dirs, gates*hidden,
 * hidden]; B is [dirs, 2*gates*hidden], the input biases then the recurrent
 * ones.  Direction "forward" walks the steps in order, "reverse" backwards,
 * "bidirectional" does both with direction 1 reversed.  Y holds the hidden
 * state after every step, [seq, dirs, batch, hidden] (layout 1: [batch, seq,
 * dirs, hidden]); Y_h (and LSTM's Y_c) the last one, [dirs, batch, hidden]
 * (layout 1: [batch, dirs, hidden]).  The initial states default to zero.
 *
 * sequence_lens (int32 [batch], read at run time) limits batch entry b to
 * its first len[b] steps: a reverse direction walks those backwards from
 * step len[b] - 1, Y is zero at steps from len[b] on, and Y_h keeps the
 * state after the last step taken.  A length below 0 counts as 0 (Y_h is
 * then the initial state) and one above seq_length as seq_length, so no
 * value can make the generated code read outside X.
 *
 * The cells (x: the step's input row, h: the previous hidden state, c: the
 * previous cell state, Wb/Rb: the biases, (.) the elementwise product; f,
 * g, h the activations, defaulting to Tanh for RNN, Sigmoid/Tanh for GRU,
 * Sigmoid/Tanh/Tanh for LSTM):
 *   RNN   h' = f(x W^T + h R^T + Wb + Rb)
 *   GRU   gates z, r, h in that order along W's rows;
 *         z = f(x Wz^T + h Rz^T + Wbz + Rbz), r likewise;
 *         n = g(x Wh^T + (r (.) h) Rh^T + Rbh + Wbh), or with
 *         linear_before_reset g(x Wh^T + r (.) (h Rh^T + Rbh) + Wbh);
 *         h' = (1 - z) (.) n + z (.) h
 *   LSTM  gates i, o, f, c; peepholes P = [Pi, Po, Pf] ([dirs, 3*hidden]);
 *         i = f(x Wi^T + h Ri^T + Pi (.) c + Wbi + Rbi), f likewise with
 *         Pf (or 1 - i with input_forget), c~ = g(x Wc^T + h Rc^T + Wbc +
 *         Rbc), c' = f (.) c + i (.) c~, o = f(x Wo^T + h Ro^T + Po (.) c'
 *         + Wbo + Rbo), h' = o (.) h(c').
 * clip bounds every gate's pre-activation to [-clip, clip] (not the cell
 * state that LSTM's h reads).  `activations` names them per direction
 * (forward's, then reverse's; one set serves both directions);
 * activation_alpha / activation_beta are taken in order by the functions
 * that have such a parameter, the ONNX op's default standing for a value
 * the list lacks.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "ops_impl.h"
#include "recurrent.h"

static const ir_value *rc_opt(const ir_graph *g, const ir_node *n, size_t i)
{
    if (i >= n->n_inputs || n->inputs[i] < 0)
        return NULL;
    return ir_val(g, n->inputs[i]);
}

static const op_attr_spec rnn_attrs[] = {{"activation_alpha", IR_ATTR_FLOATS},
                                         {"activation_beta", IR_ATTR_FLOATS},
                                         {"activations", IR_ATTR_STRINGS},
                                         {"clip", IR_ATTR_FLOAT},
                                         {"direction", IR_ATTR_STRING},
                                         {"hidden_size", IR_ATTR_INT},
                                         {"layout", IR_ATTR_INT},
                                         {NULL, 0}};
static const op_attr_spec gru_attrs[] = {{"activation_alpha", IR_ATTR_FLOATS},
                                         {"activation_beta", IR_ATTR_FLOATS},
                                         {"activations", IR_ATTR_STRINGS},
                                         {"clip", IR_ATTR_FLOAT},
                                         {"direction", IR_ATTR_STRING},
                                         {"hidden_size", IR_ATTR_INT},
                                         {"layout", IR_ATTR_INT},
                                         {"linear_before_reset", IR_ATTR_INT},
                                         {NULL, 0}};
static const op_attr_spec lstm_attrs[] = {{"activation_alpha", IR_ATTR_FLOATS},
                                          {"activation_beta", IR_ATTR_FLOATS},
                                          {"activations", IR_ATTR_STRINGS},
                                          {"clip", IR_ATTR_FLOAT},
                                          {"direction", IR_ATTR_STRING},
                                          {"hidden_size", IR_ATTR_INT},
                                          {"input_forget", IR_ATTR_INT},
                                          {"layout", IR_ATTR_INT},
                                          {NULL, 0}};

/* An activation's name, which of its parameters the alpha/beta lists feed,
 * and the defaults of the ONNX op of that name. */
static const struct {
    const char *name;
    rnn_act_kind kind;
    bool uses_alpha, uses_beta;
    double alpha, beta;
} rnn_act_table[] = {
    {"Relu", RNN_ACT_RELU, false, false, 0, 0},
    {"Tanh", RNN_ACT_TANH, false, false, 0, 0},
    {"Sigmoid", RNN_ACT_SIGMOID, false, false, 0, 0},
    {"Affine", RNN_ACT_AFFINE, true, true, 1.0, 0.0},
    {"LeakyRelu", RNN_ACT_LEAKY_RELU, true, false, 0.01, 0},
    {"ThresholdedRelu", RNN_ACT_THRESHOLDED_RELU, true, false, 1.0, 0},
    {"ScaledTanh", RNN_ACT_SCALED_TANH, true, true, 1.0, 1.0},
    {"HardSigmoid", RNN_ACT_HARD_SIGMOID, true, true, 0.2, 0.5},
    {"Elu", RNN_ACT_ELU, true, false, 1.0, 0},
    {"Softsign", RNN_ACT_SOFTSIGN, false, false, 0, 0},
    {"Softplus", RNN_ACT_SOFTPLUS, false, false, 0, 0},
};

static rnn_cell rc_cell_of(int op)
{
    return op == OP_LSTM ? RNN_CELL_LSTM : op == OP_GRU ? RNN_CELL_GRU : RNN_CELL_RNN;
}

/* The activations: names from the attribute (or the cell's defaults), the
 * parameters consumed in order by those that take them. */
static bool rc_acts(op_ctx *c, const ir_node *n, rnn_plan *p)
{
#define RC_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    static const char *const defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const ir_attr *names = ir_attr_find(n, "activations");
    const ir_attr *al = ir_attr_find(n, "activation_alpha"), *be = ir_attr_find(n, "activation_beta");
    size_t n_names = names ? names->n : 0, ia = 0, ib = 0;
    size_t per = (size_t)p->n_acts, want = per * (size_t)p->dirs;
    if (names && n_names != per && n_names != want)
        return RC_FAIL("activations has %zu names; %s takes %zu per direction (%zu in all)", n_names, n->op_type, per,
                       want);
    for (int d = 0; d < p->dirs; d++) {
        for (size_t k = 0; k < per; k++) {
            const char *name = defaults[p->cell][k];
            if (names)
                name = names->strings[n_names == want ? (size_t)d * per + k : k];
            size_t i = 0;
            while (i < HD_ARRAY_LEN(rnn_act_table) && strcasecmp(name, rnn_act_table[i].name) != 0)
                i++;
            if (i == HD_ARRAY_LEN(rnn_act_table))
                return RC_FAIL("activation '%.40s' is not supported", name);
            rnn_act *a = &p->act[d][k];
            a->kind = rnn_act_table[i].kind;
            a->alpha = rnn_act_table[i].alpha;
            a->beta = rnn_act_table[i].beta;
            if (rnn_act_table[i].uses_alpha && al && ia < al->n)
                a->alpha = al->floats[ia++];
            if (rnn_act_table[i].uses_beta && be && ib < be->n)
                a->beta = be->floats[ib++];
            if (!isfinite(a->alpha) || !isfinite(a->beta))
                return RC_FAIL("activation %s has a non-finite parameter", rnn_act_table[i].name);
        }
    }
    return true;
#undef RC_FAIL
}

/* Checks that v is [d0, d1, d2] (d2 < 0: rank 2 [d0, d1]). */
static bool rc_shape_is(const ir_value *v, int64_t d0, int64_t d1, int64_t d2)
{
    int rank = d2 < 0 ? 2 : 3;
    if (v->rank != rank || v->dims[0].size != d0 || v->dims[1].size != d1)
        return false;
    return rank == 2 || v->dims[2].size == d2;
}

/* Validates and resolves; c may be NULL (backends and FLOPs: the node was
 * validated by inference, nothing to report). */
static bool rc_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, rnn_plan *p)
{
#define RC_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    p->cell = rc_cell_of(n->op);
    p->gates = p->cell == RNN_CELL_LSTM ? 4 : p->cell == RNN_CELL_GRU ? 3 : 1;
    p->n_acts = p->cell == RNN_CELL_LSTM ? 3 : p->cell == RNN_CELL_GRU ? 2 : 1;
    const ir_value *x = rc_opt(g, n, 0), *w = rc_opt(g, n, 1), *r = rc_opt(g, n, 2);
    if (!x || !w || !r)
        return RC_FAIL("X, W and R are required");
    p->t = x->dtype;
    if (p->t != HODU_DTYPE_F32 && p->t != HODU_DTYPE_F64)
        return RC_FAIL("input '%s' has type %s; %s is supported for float and double", x->name, ir_dtype_name(p->t),
                       n->op_type);
    if (w->dtype != p->t || r->dtype != p->t)
        return RC_FAIL("X, W and R must have the same type");
    if (x->rank != 3 || w->rank != 3 || r->rank != 3)
        return RC_FAIL("X, W and R must be 3-D (ranks %d, %d, %d)", x->rank, w->rank, r->rank);

    int64_t layout = ir_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1)
        return RC_FAIL("layout %" PRId64 " is invalid; it must be 0 or 1", layout);
    p->layout1 = layout == 1;
    const char *dir = ir_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0)
        p->dirs = 1;
    else if (strcmp(dir, "reverse") == 0) {
        p->dirs = 1;
        p->reverse = true;
    } else if (strcmp(dir, "bidirectional") == 0)
        p->dirs = 2;
    else
        return RC_FAIL("direction '%.40s' is invalid; it must be forward, reverse or bidirectional", dir);

    p->seq = x->dims[p->layout1 ? 1 : 0].size;
    p->batch = x->dims[p->layout1 ? 0 : 1].size;
    p->input = x->dims[2].size;
    p->hidden = r->dims[2].size;
    if (ir_attr_find(n, "hidden_size")) {
        int64_t hs = ir_attr_int(n, "hidden_size", 0);
        if (hs < 1)
            return RC_FAIL("hidden_size %" PRId64 " is invalid; it must be positive", hs);
        if (hs != p->hidden)
            return RC_FAIL("hidden_size %" PRId64 " disagrees with R's last dim %" PRId64, hs, p->hidden);
    }
    const int64_t D = p->dirs, GH = p->gates * p->hidden, H = p->hidden;
    if (!rc_shape_is(w, D, GH, p->input))
        return RC_FAIL("W must be [%" PRId64 ", %" PRId64 ", %" PRId64 "] (directions, %d*hidden_size, input_size)", D,
                       GH, p->input, p->gates);
    if (!rc_shape_is(r, D, GH, H))
        return RC_FAIL("R must be [%" PRId64 ", %" PRId64 ", %" PRId64 "] (directions, %d*hidden_size, hidden_size)", D,
                       GH, H, p->gates);

    const ir_value *b = rc_opt(g, n, 3), *lens = rc_opt(g, n, 4), *h0 = rc_opt(g, n, 5);
    if (b) {
        if (b->dtype != p->t || !rc_shape_is(b, D, 2 * GH, -1))
            return RC_FAIL("B must be %s [%" PRId64 ", %" PRId64 "]", ir_dtype_name(p->t), D, 2 * GH);
        p->has_b = true;
    }
    if (lens) {
        if (lens->dtype != HODU_DTYPE_I32 || lens->rank != 1 || lens->dims[0].size != p->batch)
            return RC_FAIL("sequence_lens must be int32 [%" PRId64 "]", p->batch);
        p->has_lens = true;
    }
    int64_t s0 = p->layout1 ? p->batch : D, s1 = p->layout1 ? D : p->batch;
    if (h0) {
        if (h0->dtype != p->t || !rc_shape_is(h0, s0, s1, H))
            return RC_FAIL("initial_h must be %s [%" PRId64 ", %" PRId64 ", %" PRId64 "]", ir_dtype_name(p->t), s0, s1,
                           H);
        p->has_h0 = true;
    }
    if (p->cell == RNN_CELL_LSTM) {
        const ir_value *c0 = rc_opt(g, n, 6), *pp = rc_opt(g, n, 7);
        if (c0) {
            if (c0->dtype != p->t || !rc_shape_is(c0, s0, s1, H))
                return RC_FAIL("initial_c must be %s [%" PRId64 ", %" PRId64 ", %" PRId64 "]", ir_dtype_name(p->t), s0,
                               s1, H);
            p->has_c0 = true;
        }
        if (pp) {
            if (pp->dtype != p->t || !rc_shape_is(pp, D, 3 * H, -1))
                return RC_FAIL("P must be %s [%" PRId64 ", %" PRId64 "]", ir_dtype_name(p->t), D, 3 * H);
            p->has_p = true;
        }
        int64_t fi = ir_attr_int(n, "input_forget", 0);
        if (fi != 0 && fi != 1)
            return RC_FAIL("input_forget %" PRId64 " is invalid; it must be 0 or 1", fi);
        p->input_forget = fi == 1;
    }
    if (p->cell == RNN_CELL_GRU) {
        int64_t lbr = ir_attr_int(n, "linear_before_reset", 0);
        if (lbr != 0 && lbr != 1)
            return RC_FAIL("linear_before_reset %" PRId64 " is invalid; it must be 0 or 1", lbr);
        p->lbr = lbr == 1;
    }
    if (ir_attr_find(n, "clip")) {
        double cl = ir_attr_float(n, "clip", 0.0);
        if (!(cl > 0))
            return RC_FAIL("clip %g is invalid; it must be positive", cl);
        p->has_clip = true;
        p->clip = cl;
    }
    return rc_acts(c, n, p);
#undef RC_FAIL
}

bool rnn_plan_of(const ir_graph *g, int node, rnn_plan *p) { return rc_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_rnn(op_ctx *c)
{
    for (size_t i = 0; i < op_node(c)->n_inputs; i++)
        if (op_in(c, i) && !op_need_static(c, i))
            return false;
    rnn_plan p;
    if (!rc_resolve(c, c->g, op_node(c), &p))
        return false;
    int64_t D = p.dirs;
    /* Y's size is checked against the limits by the pass; the per-gate
     * products behind the scratch must also stay in range */
    int64_t rows, cols, all;
    if (!op_ck_mul(c, p.seq, p.batch, &rows, "seq_length * batch_size") ||
        !op_ck_mul(c, D * p.gates, p.hidden, &cols, "the gate count") || !op_ck_mul(c, rows, cols, &all, "X W^T") ||
        !op_ck_mul(c, all, 8, &all, "X W^T"))
        return false;
    if (p.layout1) {
        int64_t y[4] = {p.batch, p.seq, D, p.hidden}, yh[3] = {p.batch, D, p.hidden};
        op_set_out(c, 0, p.t, 4, y);
        op_set_out(c, 1, p.t, 3, yh);
        op_set_out(c, 2, p.t, 3, yh);
    } else {
        int64_t y[4] = {p.seq, D, p.batch, p.hidden}, yh[3] = {D, p.batch, p.hidden};
        op_set_out(c, 0, p.t, 4, y);
        op_set_out(c, 1, p.t, 3, yh);
        op_set_out(c, 2, p.t, 3, yh);
    }
    return true;
}

static int64_t flops_rnn(const ir_graph *g, int node)
{
    rnn_plan p;
    if (!rnn_plan_of(g, node, &p))
        return 0;
    int64_t per_step = op_sat_mul(op_sat_mul(2 * p.dirs * p.gates, p.hidden), p.input + p.hidden);
    return op_sat_mul(op_sat_mul(p.seq, p.batch), per_step);
}

/* ======================================================================== */
/* ReverseSequence                                                           */
/* ======================================================================== */
/* Inputs X (rank >= 2) and sequence_lens (int64 [batch], read at run time);
 * attributes time_axis (default 0) and batch_axis (default 1), which must
 * be 0 and 1 in some order.  Lengths are clamped to [0, seq_length] (a
 * length of 0 or 1 copies the entry unchanged). */

static const op_attr_spec revseq_attrs[] = {{"batch_axis", IR_ATTR_INT}, {"time_axis", IR_ATTR_INT}, {NULL, 0}};

static bool rs_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, revseq_plan *p)
{
#define RS_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const ir_value *x = rc_opt(g, n, 0), *lens = rc_opt(g, n, 1);
    if (!x || !lens)
        return RS_FAIL("input and sequence_lens are required");
    if (x->rank < 2)
        return RS_FAIL("input must have rank 2 or more, not %d", x->rank);
    int64_t ba = ir_attr_int(n, "batch_axis", 1), ta = ir_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return RS_FAIL("batch_axis %" PRId64 " and time_axis %" PRId64 " are invalid; they must be 0 and 1", ba, ta);
    p->batch_major = ba == 0;
    p->batch = x->dims[ba].size;
    p->seq = x->dims[ta].size;
    p->inner = 1;
    for (int i = 2; i < x->rank; i++)
        p->inner *= x->dims[i].size; /* the input's own size, which the pass checked */
    if (lens->dtype != HODU_DTYPE_I64 || lens->rank != 1 || lens->dims[0].size != p->batch)
        return RS_FAIL("sequence_lens must be int64 [%" PRId64 "]", p->batch);
    return true;
#undef RS_FAIL
}

bool revseq_plan_of(const ir_graph *g, int node, revseq_plan *p) { return rs_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_revseq(op_ctx *c)
{
    if (!op_need_static(c, 0) || !op_need_static(c, 1))
        return false;
    revseq_plan p;
    if (!rs_resolve(c, c->g, op_node(c), &p))
        return false;
    op_set_out_like(c, 0, op_in(c, 0));
    return true;
}

/* ======================================================================== */

OP_DEF(RNN, .attrs = rnn_attrs, .infer = infer_rnn, .flops = flops_rnn, .expand = rnn_expand);
OP_DEF(GRU, .attrs = gru_attrs, .infer = infer_rnn, .flops = flops_rnn, .expand = rnn_expand);
OP_DEF(LSTM, .attrs = lstm_attrs, .infer = infer_rnn, .flops = flops_rnn, .expand = rnn_expand);
OP_DEF(REVERSE_SEQUENCE, .attrs = revseq_attrs, .infer = infer_revseq, .grad = revseq_grad);
