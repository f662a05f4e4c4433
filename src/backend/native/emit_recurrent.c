/*
 * emit_recurrent.c - native lowerings of the recurrent family: RNN, GRU,
 * LSTM and ReverseSequence (src/ops/recurrent.c holds their semantics,
 * src/ops/recurrent.h the plans read here).
 *
 * An RNN-family node runs in three phases.  The input projection of every
 * step, of both directions, is one product, X W^T ([seq*batch, input] times
 * [input, dirs*gates*hidden]: W's directions are contiguous), into scratch;
 * float32 runs it through the threaded hd_sgemm_par.  Then, per direction
 * and step, the recurrent product h R^T of the whole batch (hd_sgemm_ws on
 * the shared scratch; hd_dgemm in double), and per batch entry the gates,
 * elementwise over rows of `hidden` values, with the vector-math array
 * forms for Sigmoid and Tanh.  Finally the last states go to Y_h / Y_c.
 * Batch entries past their sequence length skip the step, which keeps
 * their state; Y was zeroed beforehand.
 *
 * On the general path (ir_node.rt_general) the sequence and the batch may
 * be run-time dims: the same code with their sizes read when the model
 * runs (rc_sizes), scratch planned for the top of their ranges.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/ops.h"
#include "ops/recurrent.h"

static bool rc_no_plan(op_emit *e)
{
    hd_error(e->d, "internal error: no recurrent plan for node %d (%s)", e->node, em_node(e)->op_type);
    return false;
}

/* The sequence and batch sizes as C expressions: literals, or on the
 * general path the run's sizes (rS, rB, declared by emit_rnn). */
typedef struct rc_sizes {
    char S[32], B[32];
} rc_sizes;

static uint64_t rc_align16(uint64_t n) { return n > UINT64_MAX - 15 ? UINT64_MAX : (n + 15) / 16 * 16; }

/* Scratch, in elements of the plan's type (each block 64-byte aligned):
 * xw the input projection [seq*batch][dirs*gates*hidden], bs the summed
 * biases [dirs][gates*hidden], rb GRU's recurrent h-gate bias kept apart
 * with linear_before_reset [dirs][hidden], h and c the states [batch]
 * [hidden], g the gates [batch][gates*hidden], rh GRU's r (.) h [batch]
 * [hidden], gs the per-step product's scratch (float32). */
typedef struct rc_scr {
    uint64_t xw, bs, rb, h, c, g, rh, gs, total;
    uint64_t pk[2][2]; /* float32: R_d's products packed, [direction][product] */
} rc_scr;

/* The recurrent products of a step: (first row of R_d, rows) of each; GRU
 * without linear_before_reset has two, the second reading r (.) h. */
static int rc_products(const rnn_plan *p, int64_t row0[2], int64_t rows[2])
{
    const int64_t H = p->hidden;
    row0[0] = 0;
    rows[0] = p->gates * H;
    if (p->cell != RNN_CELL_GRU || p->lbr)
        return 1;
    rows[0] = 2 * H;
    row0[1] = 2 * H;
    rows[1] = H;
    return 2;
}

/* R as a build-time constant, which the blob then holds packed (its
 * products' layout) instead of the run packing it into scratch. */
static const ir_value *rc_const_r(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *v = n->n_inputs > 2 && n->inputs[2] >= 0 ? ir_val(g, n->inputs[2]) : NULL;
    return v && v->kind == IR_VALUE_CONST && v->data ? v : NULL;
}

static void rc_scratch_layout(const rnn_plan *p, bool pack_r, rc_scr *s)
{
    const int64_t GH = op_sat_mul(p->gates, p->hidden), BH = op_sat_mul(p->batch, p->hidden);
    uint64_t off = 0;
    s->xw = off;
    off = op_sat_add_u64(off, rc_align16((uint64_t)op_sat_mul(op_sat_mul(p->seq, p->batch), op_sat_mul(p->dirs, GH))));
    s->bs = off;
    if (p->has_b)
        off = op_sat_add_u64(off, rc_align16((uint64_t)op_sat_mul(p->dirs, GH)));
    s->rb = off;
    if (p->has_b && p->lbr)
        off = op_sat_add_u64(off, rc_align16((uint64_t)op_sat_mul(p->dirs, p->hidden)));
    s->h = off;
    off = op_sat_add_u64(off, rc_align16((uint64_t)BH));
    s->c = off;
    if (p->cell == RNN_CELL_LSTM)
        off = op_sat_add_u64(off, rc_align16((uint64_t)BH));
    s->g = off;
    off = op_sat_add_u64(off, rc_align16((uint64_t)op_sat_mul(p->batch, GH)));
    s->rh = off;
    if (p->cell == RNN_CELL_GRU && !p->lbr)
        off = op_sat_add_u64(off, rc_align16((uint64_t)BH));
    s->gs = off;
    if (p->t == HODU_DTYPE_F32 && p->batch > 0 && p->hidden > 0) {
        off = op_sat_add_u64(off, rc_align16((uint64_t)hd_sgemm_scratch_floats_max(p->batch, GH, p->hidden)));
        int64_t row0[2], rows[2];
        if (!pack_r) {
            s->total = off;
            return;
        }
        int np = rc_products(p, row0, rows);
        for (int d = 0; d < p->dirs; d++)
            for (int k = 0; k < np; k++) {
                s->pk[d][k] = off;
                off = op_sat_add_u64(off, rc_align16((uint64_t)hd_sgemm_packed_b_floats(p->hidden, rows[k])));
            }
    }
    s->total = off;
}

static uint64_t scratch_rnn(const ir_graph *g, int node)
{
    rnn_plan p;
    if (!rnn_plan_of(g, node, &p))
        return 0;
    rc_scr s;
    rc_scratch_layout(&p, !rc_const_r(g, node), &s);
    uint64_t bytes;
    return hd_mul_u64(s.total, ir_dtype_size(p.t), &bytes) ? bytes : UINT64_MAX;
}

/* The input projection's per-worker packing scratch (float32). */
static uint64_t worker_scratch_rnn(const ir_graph *g, int node)
{
    rnn_plan p;
    if (!rnn_plan_of(g, node, &p) || p.t != HODU_DTYPE_F32)
        return 0;
    int64_t M = op_sat_mul(p.seq, p.batch), N = op_sat_mul(p.dirs * p.gates, p.hidden);
    if (M <= 0 || N <= 0 || p.input <= 0)
        return 0;
    uint64_t bytes;
    if (!hd_mul_u64((uint64_t)hd_sgemm_scratch_floats_max(M, N, p.input), sizeof(float), &bytes) ||
        bytes > UINT64_MAX - 63)
        return UINT64_MAX;
    return (bytes + 63) & ~(uint64_t)63;
}

/* Writes the activation `a` over ptr[0..n), in place, after bounding its
 * input to [-clip, clip] when `clip` and the node has one. */
static void rc_act(op_emit *e, const rnn_plan *p, const rnn_act *a, const char *base, int64_t n, bool clip)
{
    char ptr[80]; /* subscriptable: "gb" or "(gb + 12)" */
    snprintf(ptr, sizeof ptr, strchr(base, ' ') ? "(%s)" : "%s", base);
    bool f32 = p->t == HODU_DTYPE_F32;
    const char *T = em_ctype(p->t);
    const char *sfx = f32 ? "f" : ""; /* libm's float forms */
    char A[64], B[64];
    snprintf(A, sizeof A, "(%s)%s", T, em_f64(a->alpha).s);
    snprintf(B, sizeof B, "(%s)%s", T, em_f64(a->beta).s);
    if (clip && p->has_clip) {
        char C[64];
        snprintf(C, sizeof C, "(%s)%s", T, em_f64(p->clip).s);
        /* comparisons, not fmin/fmax: NaN stays NaN */
        em_line(e,
                "for (int64_t j = 0; j < %" PRId64
                "; j++) { const %s v = %s[j]; %s[j] = v < -%s ? -%s : v > %s ? %s : v; }",
                n, T, ptr, ptr, C, C, C, C);
    }
    char expr[1024];
    switch (a->kind) {
    case RNN_ACT_TANH:
        if (f32) {
            em_line(e, "hd_vtanh_f32(%s, %s, %" PRId64 ");", ptr, ptr, n);
            return;
        }
        snprintf(expr, sizeof expr, "tanh(v)");
        break;
    case RNN_ACT_SIGMOID:
        if (f32) {
            em_line(e, "hd_vsigmoid_f32(%s, %s, %" PRId64 ");", ptr, ptr, n);
            return;
        }
        snprintf(expr, sizeof expr, "1.0 / (1.0 + exp(-v))");
        break;
    case RNN_ACT_SCALED_TANH:
        if (f32) {
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) %s[j] *= %s;", n, ptr, B);
            em_line(e, "hd_vtanh_f32(%s, %s, %" PRId64 ");", ptr, ptr, n);
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) %s[j] *= %s;", n, ptr, A);
            return;
        }
        snprintf(expr, sizeof expr, "%s * tanh(%s * v)", A, B);
        break;
    case RNN_ACT_RELU: snprintf(expr, sizeof expr, "v < 0 ? (%s)0 : v", T); break;
    case RNN_ACT_AFFINE: snprintf(expr, sizeof expr, "%s * v + %s", A, B); break;
    case RNN_ACT_LEAKY_RELU: snprintf(expr, sizeof expr, "v < 0 ? %s * v : v", A); break;
    case RNN_ACT_THRESHOLDED_RELU: snprintf(expr, sizeof expr, "v > %s ? v : (%s)0", A, T); break;
    case RNN_ACT_HARD_SIGMOID:
        snprintf(expr, sizeof expr, "%s * v + %s < 0 ? (%s)0 : %s * v + %s > 1 ? (%s)1 : %s * v + %s", A, B, T, A, B, T,
                 A, B);
        break;
    case RNN_ACT_ELU: snprintf(expr, sizeof expr, "v < 0 ? %s * expm1%s(v) : v", A, sfx); break;
    case RNN_ACT_SOFTSIGN: snprintf(expr, sizeof expr, "v / (1 + fabs%s(v))", sfx); break;
    case RNN_ACT_SOFTPLUS:
        /* log(1 + e^v) = max(v, 0) + log(1 + e^-|v|): no overflow */
        snprintf(expr, sizeof expr, "(v > 0 ? v : (%s)0) + log1p%s(exp%s(-fabs%s(v)))", T, sfx, sfx, sfx);
        break;
    }
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) { const %s v = %s[j]; %s[j] = %s; }", n, T, ptr, ptr, expr);
}

/* The recurrent product k of a step in direction d: g[:, col0..col0+N) =
 * a R_d[row0..row0+N)^T over the batch (a: "h" or "rh", [batch][hidden];
 * g's row stride is gates*hidden).  Float32 reads R_d's rows packed once
 * per run (pk<d>_<k>): packing them at every step would cost as much as
 * the product. */
static void rc_rec_product(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d, int k, const char *a, int64_t col0)
{
    const int64_t H = p->hidden, GH = p->gates * H;
    int64_t row0[2], rows[2];
    rc_products(p, row0, rows);
    em_expr c = em_offset("g", col0, 0, NULL);
    if (p->t == HODU_DTYPE_F32) {
        /* One function for every call site of the model: each inlined copy
         * of the GEMM costs the C compiler time. */
        static const char helper[] = "static void rc_step_sgemm(";
        if (!e->decls->data || !strstr(e->decls->data, helper)) {
            hd_buf_printf(e->decls, "/* A recurrent step's product C = A op(B) (A: M x K, op(B): K x N packed). */\n");
            hd_buf_printf(e->decls,
                          "%sint64_t M, int64_t N, int64_t K, const float *A, const float *packed, float *C,\n",
                          helper);
            hd_buf_printf(e->decls, "                          int64_t ldc, float *scratch)\n{\n");
            hd_buf_printf(e->decls,
                          "    hd_sgemm_ws_pb(M, N, K, A, K, 0, packed, C, ldc, 1.0f, 0.0f, scratch);\n}\n\n");
        }
        em_line(e, "rc_step_sgemm(%s, %" PRId64 ", %" PRId64 ", %s, pk%d_%d, %s, %" PRId64 ", gs);", z->B, rows[k], H,
                a, d, k, c.s, GH);
    } else {
        em_expr r = em_offset("in2", (d * GH + row0[k]) * H, 0, NULL);
        em_line(e,
                "hd_dgemm(%s, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 0, %s, %" PRId64 ", 1, %s, %" PRId64
                ", 1.0, 0.0);",
                z->B, rows[k], H, a, H, r.s, H, c.s, GH);
    }
}

/* Opens the loop over batch entries of step s in direction d and declares
 * t (the time index the entry reads), x (its input projection row), gb (its
 * gates) and hb (its state).  Entries past their length skip the step;
 * `skip` is written before they do. */
static void rc_open_batch(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d, bool rev, const char *skip)
{
    const int64_t H = p->hidden, GH = p->gates * H, DGH = p->dirs * GH;
    const char *T = em_ctype(p->t);
    em_for_rt(e, "b", z->B);
    if (p->has_lens) {
        em_line(e, "int64_t len = in4[b];");
        em_line(e, "len = len < 0 ? 0 : len > %s ? %s : len;", z->S, z->S);
        if (skip)
            em_line(e, "if (s >= len) { %s continue; }", skip);
        else
            em_line(e, "if (s >= len) continue;");
        em_line(e, "const int64_t t = %s;", rev ? "len - 1 - s" : "s");
    } else if (rev) {
        em_line(e, "const int64_t t = %s - 1 - s;", z->S);
    } else {
        em_line(e, "const int64_t t = s;");
    }
    /* xw's rows are X's: [seq, batch] (layout 1: [batch, seq]) */
    char row[80];
    snprintf(row, sizeof row, p->layout1 ? "b * %s + t" : "t * %s + b", p->layout1 ? z->S : z->B);
    em_line(e, "const %s *x = xw + %" PRId64 " + (%s) * %" PRId64 ";", T, d * GH, row, DGH);
    em_line(e, "%s *gb = %s;", T, em_offset("g", 0, EM_TERMS({"b", GH})).s);
    em_line(e, "%s *hb = %s;", T, em_offset("h", 0, EM_TERMS({"b", H})).s);
}

/* Stores the entry's new state into Y at (t, d, b). */
static void rc_store_y(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d)
{
    const int64_t H = p->hidden, D = p->dirs;
    /* Y is [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]) */
    char row[96];
    if (p->layout1)
        snprintf(row, sizeof row, "(b * %s + t) * %" PRId64 " + %d", z->S, D, d);
    else
        snprintf(row, sizeof row, "(t * %" PRId64 " + %d) * %s + b", D, d, z->B);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) out0[(%s) * %" PRId64 " + j] = hb[j];", H, row, H);
}

/* The [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) row of
 * direction d and entry b in tensor `base`. */
static em_expr rc_state_row(const rnn_plan *p, const rc_sizes *z, const char *base, int d)
{
    const int64_t H = p->hidden, D = p->dirs;
    em_expr r;
    if (p->layout1)
        snprintf(r.s, sizeof r.s, "%s + (b * %" PRId64 " + %d) * %" PRId64, base, D, d, H);
    else
        snprintf(r.s, sizeof r.s, "%s + (%d * %s + b) * %" PRId64, base, d, z->B, H);
    return r;
}

static void rc_emit_cell_rnn(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d, bool rev)
{
    const int64_t H = p->hidden;
    rc_rec_product(e, p, z, d, 0, "h", 0);
    rc_open_batch(e, p, z, d, rev, NULL);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j] += x[j]%s;", H, p->has_b ? " + bd[j]" : "");
    rc_act(e, p, &p->act[d][0], "gb", H, true);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) hb[j] = gb[j];", H);
    if (em_out(e, 0))
        rc_store_y(e, p, z, d);
    em_close(e);
}

static void rc_emit_cell_gru(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d, bool rev)
{
    const int64_t H = p->hidden, GH = 3 * H;
    const char *T = em_ctype(p->t);
    const char *bias = p->has_b ? " + bd[j]" : "";
    /* z and r */
    rc_rec_product(e, p, z, d, 0, "h", 0);
    char *skip = NULL;
    if (!p->lbr) /* the next product reads every entry's row of rh */
        skip = hd_xasprintf("for (int64_t j = 0; j < %" PRId64 "; j++) rh[%s] = 0;", H,
                            em_index(0, EM_TERMS({"b", H}, {"j", 1})).s);
    rc_open_batch(e, p, z, d, rev, skip);
    free(skip);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j] += x[j]%s;", 2 * H, bias);
    rc_act(e, p, &p->act[d][0], "gb", 2 * H, true);
    if (p->lbr) {
        /* n's argument: x Wh^T + Wbh + r (.) (h Rh^T + Rbh) */
        char wb[64] = "";
        if (p->has_b)
            snprintf(wb, sizeof wb, " + bd[j + %" PRId64 "]", 2 * H);
        em_line(e,
                "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j + %" PRId64 "] = x[j + %" PRId64 "]%s + gb[j + %" PRId64
                "] * (gb[j + %" PRId64 "]%s);",
                H, 2 * H, 2 * H, wb, H, 2 * H, p->has_b ? " + rbd[j]" : "");
    } else {
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) rh[%s] = gb[j + %" PRId64 "] * hb[j];", H,
                em_index(0, EM_TERMS({"b", H}, {"j", 1})).s, H);
        em_close(e);
        /* (r (.) h) Rh^T into the h gate's columns */
        rc_rec_product(e, p, z, d, 1, "rh", 2 * H);
        rc_open_batch(e, p, z, d, rev, NULL);
        em_line(e, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) gb[j] += x[j]%s;", 2 * H, GH, bias);
    }
    rc_act(e, p, &p->act[d][1], em_offset("gb", 2 * H, 0, NULL).s, H, true);
    em_line(e,
            "for (int64_t j = 0; j < %" PRId64 "; j++) hb[j] = ((%s)1 - gb[j]) * gb[j + %" PRId64 "] + gb[j] * hb[j];",
            H, T, 2 * H);
    if (em_out(e, 0))
        rc_store_y(e, p, z, d);
    em_close(e);
}

static void rc_emit_cell_lstm(op_emit *e, const rnn_plan *p, const rc_sizes *z, int d, bool rev)
{
    const int64_t H = p->hidden, GH = 4 * H;
    const char *T = em_ctype(p->t);
    /* gate offsets along a row of g: i (at 0), o, f, c */
    const int64_t oo = H, of = 2 * H, oc = 3 * H;
    rc_rec_product(e, p, z, d, 0, "h", 0);
    rc_open_batch(e, p, z, d, rev, NULL);
    em_line(e, "%s *cb = %s;", T, em_offset("c", 0, EM_TERMS({"b", H})).s);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j] += x[j]%s;", GH, p->has_b ? " + bd[j]" : "");
    if (p->has_p)
        em_line(e,
                "for (int64_t j = 0; j < %" PRId64 "; j++) { gb[j] += pd[j] * cb[j]; gb[j + %" PRId64
                "] += pd[j + %" PRId64 "] * cb[j]; }",
                H, of, 2 * H);
    rc_act(e, p, &p->act[d][0], "gb", H, true);
    if (p->input_forget)
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j + %" PRId64 "] = (%s)1 - gb[j];", H, of, T);
    else
        rc_act(e, p, &p->act[d][0], em_offset("gb", of, 0, NULL).s, H, true);
    rc_act(e, p, &p->act[d][1], em_offset("gb", oc, 0, NULL).s, H, true);
    em_line(e,
            "for (int64_t j = 0; j < %" PRId64 "; j++) cb[j] = gb[j + %" PRId64 "] * cb[j] + gb[j] * gb[j + %" PRId64
            "];",
            H, of, oc);
    if (p->has_p)
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j + %" PRId64 "] += pd[j + %" PRId64 "] * cb[j];", H,
                oo, H);
    rc_act(e, p, &p->act[d][0], em_offset("gb", oo, 0, NULL).s, H, true);
    /* h(c') in the spent c~ columns (c' itself is never clipped) */
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) gb[j + %" PRId64 "] = cb[j];", H, oc);
    rc_act(e, p, &p->act[d][2], em_offset("gb", oc, 0, NULL).s, H, false);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) hb[j] = gb[j + %" PRId64 "] * gb[j + %" PRId64 "];", H, oo,
            oc);
    if (em_out(e, 0))
        rc_store_y(e, p, z, d);
    em_close(e);
}

/* `rt`: the general path, the sequence and batch sizes read at run time
 * (the plan's are the top of their ranges). */
static bool emit_rnn_sized(op_emit *e, bool rt)
{
    rnn_plan p;
    if (!rnn_plan_of(e->g, e->node, &p))
        return rc_no_plan(e);
    const int64_t S = p.seq, B = p.batch, I = p.input, H = p.hidden, D = p.dirs, GH = p.gates * H, DGH = D * GH;
    const bool f32 = p.t == HODU_DTYPE_F32, lstm = p.cell == RNN_CELL_LSTM;
    const char *T = em_ctype(p.t);
    const size_t es = ir_dtype_size(p.t);
    if (B == 0 || H == 0) /* every output is empty */
        return true;
    rc_sizes z;
    if (rt) {
        const ir_value *x = em_in(e, 0);
        em_line(e, "const int64_t rS = %s, rB = %s;", em_dim(e->g, x, p.layout1 ? 1 : 0).s,
                em_dim(e->g, x, p.layout1 ? 0 : 1).s);
        snprintf(z.S, sizeof z.S, "rS");
        snprintf(z.B, sizeof z.B, "rB");
    } else {
        snprintf(z.S, sizeof z.S, "INT64_C(%" PRId64 ")", S);
        snprintf(z.B, sizeof z.B, "INT64_C(%" PRId64 ")", B);
    }
    const ir_value *rconst = rc_const_r(e->g, e->node);
    rc_scr s;
    rc_scratch_layout(&p, !rconst, &s);
    em_line(e, "%s *fs = (%s *)(void *)scratch;", T, T);
    em_line(e, "%s *h = %s;", T, em_offset("fs", (int64_t)s.h, 0, NULL).s);
    if (lstm)
        em_line(e, "%s *c = %s;", T, em_offset("fs", (int64_t)s.c, 0, NULL).s);
    if (S > 0) { /* with no steps only the states are used */
        em_line(e, "%s *xw = %s;", T, em_offset("fs", (int64_t)s.xw, 0, NULL).s);
        em_line(e, "%s *g = %s;", T, em_offset("fs", (int64_t)s.g, 0, NULL).s);
        if (p.cell == RNN_CELL_GRU && !p.lbr)
            em_line(e, "%s *rh = %s;", T, em_offset("fs", (int64_t)s.rh, 0, NULL).s);
        if (f32) {
            em_line(e, "float *gs = %s;", em_offset("fs", (int64_t)s.gs, 0, NULL).s);
            /* R's rows as the step products read them */
            int64_t row0[2], rows[2];
            int np = rc_products(&p, row0, rows);
            if (rconst && rconst->nbytes != (size_t)(D * GH * H) * sizeof(float)) {
                ir_node_error(e->d, e->g, e->node, "internal error: constant R of an unexpected size");
                return false;
            }
            for (int d = 0; d < D; d++)
                for (int k = 0; k < np; k++) {
                    if (rconst) { /* packed now, into the blob */
                        size_t nf = hd_sgemm_packed_b_floats(H, rows[k]);
                        float *packed = hd_xcalloc(nf ? nf : 1, sizeof(float));
                        hd_sgemm_pack_b(H, rows[k], (const float *)rconst->data + (d * GH + row0[k]) * H, H, 1, packed);
                        em_line(e, "const float *pk%d_%d = %s;", d, k, em_blob(e, packed, nf * sizeof(float)).s);
                        free(packed);
                        continue;
                    }
                    em_line(e, "float *pk%d_%d = %s;", d, k, em_offset("fs", (int64_t)s.pk[d][k], 0, NULL).s);
                    em_line(e, "hd_sgemm_pack_b(%" PRId64 ", %" PRId64 ", %s, %" PRId64 ", 1, pk%d_%d);", H, rows[k],
                            em_offset("in2", (d * GH + row0[k]) * H, 0, NULL).s, H, d, k);
                }
        }
    }

    /* every step's input projection, both directions at once */
    if (S > 0) {
        if (f32) {
            e->parallel = true;
            em_line(e,
                    "hd_sgemm_par(exec, workers, %" PRIu64 "u, 1, 0, 0, 0, %s * %s, %" PRId64 ", %" PRId64
                    ", in0, %" PRId64 ", 0, in1, %" PRId64 ", 1, xw, %" PRId64 ", 1.0f, 0.0f);",
                    e->worker_bytes, z.S, z.B, DGH, I, I, I, DGH);
        } else {
            em_line(e,
                    "hd_dgemm(%s * %s, %" PRId64 ", %" PRId64 ", in0, %" PRId64 ", 0, in1, %" PRId64 ", 1, xw, %" PRId64
                    ", 1.0, 0.0);",
                    z.S, z.B, DGH, I, I, I, DGH);
        }
    }
    if (S > 0 && p.has_b) {
        /* Wb + Rb once; GRU with linear_before_reset keeps Rbh apart */
        em_line(e, "%s *bs = %s;", T, em_offset("fs", (int64_t)s.bs, 0, NULL).s);
        if (p.lbr)
            em_line(e, "%s *rb = %s;", T, em_offset("fs", (int64_t)s.rb, 0, NULL).s);
        for (int d = 0; d < D; d++) {
            int64_t n = p.lbr ? 2 * H : GH;
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) bs[%s] = in3[%s] + in3[%s];", n,
                    em_index(d * GH, EM_TERMS({"j", 1})).s, em_index(d * 2 * GH, EM_TERMS({"j", 1})).s,
                    em_index(d * 2 * GH + GH, EM_TERMS({"j", 1})).s);
            if (p.lbr)
                em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) { bs[%s] = in3[%s]; rb[%s] = in3[%s]; }", H,
                        em_index(d * GH + 2 * H, EM_TERMS({"j", 1})).s,
                        em_index(d * 2 * GH + 2 * H, EM_TERMS({"j", 1})).s, em_index(d * H, EM_TERMS({"j", 1})).s,
                        em_index(d * 2 * GH + GH + 2 * H, EM_TERMS({"j", 1})).s);
        }
    }
    if (p.has_lens && em_out(e, 0)) /* steps past an entry's length stay zero */
        em_line(e, "memset(out0, 0, (size_t)(%s * %s) * %zu);", z.S, z.B, (size_t)(D * H) * es);
    for (int d = 0; d < D; d++) {
        const bool rev = p.reverse || d == 1;
        em_line(e, "{ /* direction %d: %s */", d, rev ? "reverse" : "forward");
        e->indent++;
        if (S > 0 && p.has_b) {
            em_line(e, "const %s *bd = %s;", T, em_offset("bs", d * GH, 0, NULL).s);
            if (p.lbr)
                em_line(e, "const %s *rbd = %s;", T, em_offset("rb", d * H, 0, NULL).s);
        }
        if (S > 0 && p.has_p)
            em_line(e, "const %s *pd = %s;", T, em_offset("in7", d * 3 * H, 0, NULL).s);
        /* initial states */
        for (int k = 0; k < (lstm ? 2 : 1); k++) {
            const char *st = k ? "c" : "h";
            if (k ? p.has_c0 : p.has_h0) {
                em_for_rt(e, "b", z.B);
                em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) %s[%s] = (%s)[j];", H, st,
                        em_index(0, EM_TERMS({"b", H}, {"j", 1})).s, rc_state_row(&p, &z, k ? "in6" : "in5", d).s);
                em_close(e);
            } else {
                em_line(e, "memset(%s, 0, %zu);", st, (size_t)(B * H) * es);
            }
        }
        if (S > 0) {
            em_for_rt(e, "s", z.S);
            if (p.cell == RNN_CELL_RNN)
                rc_emit_cell_rnn(e, &p, &z, d, rev);
            else if (p.cell == RNN_CELL_GRU)
                rc_emit_cell_gru(e, &p, &z, d, rev);
            else
                rc_emit_cell_lstm(e, &p, &z, d, rev);
            em_close(e);
        }
        /* the last states */
        for (int k = 0; k < (lstm ? 2 : 1); k++) {
            if (!em_out(e, (size_t)k + 1))
                continue;
            em_for_rt(e, "b", z.B);
            em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++) (%s)[j] = %s[%s];", H,
                    rc_state_row(&p, &z, k ? "out2" : "out1", d).s, k ? "c" : "h",
                    em_index(0, EM_TERMS({"b", H}, {"j", 1})).s);
            em_close(e);
        }
        e->indent--;
        em_line(e, "}");
    }
    return true;
}

static bool emit_rnn(op_emit *e) { return emit_rnn_sized(e, false); }
static bool emit_rnn_rt(op_emit *e) { return emit_rnn_sized(e, true); }

/* --- ReverseSequence ------------------------------------------------------ */

static bool emit_revseq(op_emit *e)
{
    revseq_plan r;
    if (!revseq_plan_of(e->g, e->node, &r))
        return rc_no_plan(e);
    const ir_value *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
    const size_t es = ir_dtype_size(out->dtype);
    const int64_t S = r.seq, B = r.batch, N = r.inner;
    em_for(e, "b", B);
    em_line(e, "int64_t len = in1[b];");
    em_line(e, "len = len < 0 ? 0 : len > %" PRId64 " ? %" PRId64 " : len;", S, S);
    em_for(e, "t", S);
    em_line(e, "const int64_t src = t < len ? len - 1 - t : t;");
    em_expr dst = r.batch_major ? em_offset("out0", 0, EM_TERMS({"b", S * N}, {"t", N}))
                                : em_offset("out0", 0, EM_TERMS({"t", B * N}, {"b", N}));
    em_expr src = r.batch_major ? em_offset("in0", 0, EM_TERMS({"b", S * N}, {"src", N}))
                                : em_offset("in0", 0, EM_TERMS({"src", B * N}, {"b", N}));
    em_line(e, "memcpy(%s, %s, %zu);", dst.s, src.s, (size_t)N * es);
    em_close(e);
    em_close(e);
    return true;
}

/* A constant R is read only packed (float32, when there are steps). */
static bool packs_rnn(const ir_graph *g, int node, size_t input)
{
    rnn_plan p;
    return input == 2 && rnn_plan_of(g, node, &p) && p.t == HODU_DTYPE_F32 && p.seq > 0 && p.batch > 0 && p.hidden > 0;
}

void native_register_recurrent(native_lowering *table)
{
    const native_lowering rnn = {.emit = emit_rnn,
                                 .scratch = scratch_rnn,
                                 .worker_scratch = worker_scratch_rnn,
                                 .packs = packs_rnn,
                                 .emit_rt = emit_rnn_rt};
    table[OP_RNN] = rnn;
    table[OP_GRU] = rnn;
    table[OP_LSTM] = rnn;
    table[OP_REVERSE_SEQUENCE] = (native_lowering){.emit = emit_revseq};
}
