/*
 * native/emit_control.c - If, Loop and Scan as C control flow.
 *
 * Each subgraph becomes a function of its own (emit_c.c, "Subgraphs") with
 * its own memory plan.  The node's scratch holds, from its start:
 *
 *   the subgraph arena        the largest of the node's subgraphs' arenas
 *                             (If's branches share it: only one runs)
 *   Loop: iteration number and the condition in and out, 64 bytes each
 *   two buffers per loop-carried value (Loop) or state (Scan), between
 *                             which iterations alternate: one holds what
 *                             the body reads, the other what it writes
 *   Scan: one element buffer per scan input and output that does not run
 *                             along its first axis (gathered before the
 *                             call, scattered after it)
 *
 * Scan elements along the first axis and Loop's scan outputs are passed in
 * place (a pointer into the operand or the result).  Per-worker scratch is
 * the largest any subgraph needs; subgraph nodes use the host's pool like
 * any node.  The node function returns non-zero when a subgraph node fails
 * a run-time check, or when a Loop with scan outputs ran a number of
 * iterations other than the one the build fixed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/control.h"
#include "ops/ops.h"

typedef struct cf_layout {
    const ir_graph *sub[2]; /* If: then, else (NULL when a constant condition rules it out); else: body */
    mem_plan plan[2];
    size_t n_sub;
    uint64_t workers, total;
    uint64_t at_iter, at_cond; /* Loop */
    uint64_t *at_buf;          /* buffer offsets: 2 per carried value or state, then element buffers */
    size_t n_buf;
} cf_layout;

static uint64_t align64(uint64_t x) { return op_sat_add_u64(x, 63) & ~(uint64_t)63; }

static void layout_free(cf_layout *L)
{
    for (size_t i = 0; i < L->n_sub; i++)
        mem_plan_free(&L->plan[i]);
    free(L->at_buf);
    memset(L, 0, sizeof(*L));
}

/* Appends a buffer of `bytes` and returns nothing: offsets go to at_buf. */
static void add_buf(cf_layout *L, uint64_t bytes)
{
    L->at_buf = hd_xrealloc(L->at_buf, (L->n_buf + 1) * sizeof(uint64_t));
    L->at_buf[L->n_buf++] = L->total;
    L->total = op_sat_add_u64(L->total, align64(bytes));
}

static uint64_t bytes_of(const ir_graph *g, int v) { return v >= 0 ? ir_value_nbytes(ir_val(g, v)) : 0; }

/* Plans the node's subgraphs and lays out its scratch. */
static bool cf_plan(const ir_graph *g, int node, cf_layout *L, hd_diag *d)
{
    memset(L, 0, sizeof(*L));
    const ir_node *n = ir_nd(g, node);
    if (n->op == OP_IF) {
        int k = cf_if_const_cond(g, node);
        if (k != 0)
            L->sub[L->n_sub++] = ir_node_subgraph(n, "then_branch");
        if (k != 1)
            L->sub[L->n_sub++] = ir_node_subgraph(n, "else_branch");
    } else {
        L->sub[L->n_sub++] = ir_node_subgraph(n, "body");
    }
    uint64_t arena = 0;
    bool present = true;
    for (size_t i = 0; i < L->n_sub; i++)
        present = present && L->sub[i];
    if (!present || !native_plan_subgraphs(L->sub, L->n_sub, L->plan, &arena, &L->workers, d)) {
        L->n_sub = 0; /* no plan left to free */
        layout_free(L);
        return false;
    }
    /* Never empty, so the node always gets its `scratch` parameter. */
    L->total = align64(arena ? arena : 1);
    const ir_graph *body = L->sub[0];
    if (n->op == OP_LOOP) {
        cf_loop p;
        cf_loop_of(g, node, &p);
        L->at_iter = L->total;
        L->at_cond = L->total + 64;
        L->total = op_sat_add_u64(L->total, 192);
        for (size_t k = 0; k < p.n_carried; k++) {
            add_buf(L, bytes_of(g, n->inputs[2 + k]));
            add_buf(L, bytes_of(g, n->inputs[2 + k]));
        }
    } else if (n->op == OP_SCAN || n->op == OP_SCAN_8) {
        cf_scan p;
        cf_scan_of(g, node, &p);
        for (size_t k = 0; k < p.n_state; k++) {
            add_buf(L, bytes_of(body, body->inputs[k]));
            add_buf(L, bytes_of(body, body->inputs[k]));
        }
        for (size_t k = 0; k < p.n_in; k++)
            add_buf(L, bytes_of(body, body->inputs[p.n_state + k]));
        for (size_t k = 0; k < p.n_out; k++)
            add_buf(L, bytes_of(body, body->outputs[p.n_state + k]));
    }
    return true;
}

static scratch_need cf_scratch(const ir_graph *g, int node)
{
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    cf_layout L;
    scratch_need need = {UINT64_MAX, 0};
    if (cf_plan(g, node, &L, &quiet)) {
        need = (scratch_need){L.total, L.workers};
        layout_free(&L);
    }
    hd_diag_free(&quiet);
    return need;
}

/* "(unsigned char *)out3" / "(const unsigned char *)in2" */
static void node_io(hd_buf *b, bool out, size_t k)
{
    hd_buf_printf(b, "(%sunsigned char *)%s%zu", out ? "" : "const ", out ? "out" : "in", k);
}

/* sin[first + q] = capture q, for every capture. */
static void pass_captures(op_emit *e, const ir_graph *sub)
{
    const ir_node *n = em_node(e);
    size_t first = sub->n_inputs - n->n_captures;
    for (size_t q = 0; q < n->n_captures; q++)
        em_line(e, "cf_in[%zu] = in%zu;", first + q, n->n_inputs - n->n_captures + q);
}

static void declare_io(op_emit *e, const ir_graph *sub)
{
    em_line(e, "const void *cf_in[%zu];", sub->n_inputs ? sub->n_inputs : 1);
    em_line(e, "void *cf_out[%zu];", sub->n_outputs ? sub->n_outputs : 1);
}

static void emit_if(op_emit *e, cf_layout *L, const int *fn)
{
    const ir_node *n = em_node(e);
    declare_io(e, L->sub[0]);
    pass_captures(e, L->sub[0]);
    for (size_t i = 0; i < n->n_outputs; i++)
        em_line(e, "cf_out[%zu] = out%zu;", i, i);
    if (L->n_sub == 1) { /* the condition is known: only the taken branch */
        em_call_subgraph(e, fn[0], 0);
        return;
    }
    em_line(e, "if (in0[0]) {");
    e->indent++;
    em_call_subgraph(e, fn[0], 0);
    e->indent--;
    em_line(e, "} else {");
    e->indent++;
    em_call_subgraph(e, fn[1], 0);
    e->indent--;
    em_line(e, "}");
}

/* "(size_t)(elements) * bytes" of v from dim `from` on, with this run's
 * sizes of its run-time dims. */
static char *rt_bytes(const ir_graph *g, const ir_value *v, int from)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_puts(&b, "(size_t)(");
    em_rt_span(g, v, from, v->rank, &b);
    hd_buf_printf(&b, ") * %zu", ir_dtype_size(v->dtype));
    return hd_buf_take(&b);
}

static void emit_loop(op_emit *e, cf_layout *L, int fn)
{
    const ir_graph *g = e->g, *body = L->sub[0];
    const ir_node *n = em_node(e);
    cf_loop p;
    cf_loop_of(g, e->node, &p);
    /* Over run-time dims (ir_node.rt_general): the carried values keep
     * their sizes of this run, and a scan output's row is that many bytes. */
    e->rt_dims = n->rt_general;
    declare_io(e, body);
    em_line(e, "int64_t *cf_iter = (int64_t *)(void *)(scratch + %" PRIu64 ");", L->at_iter);
    em_line(e, "uint8_t *cf_cin = scratch + %" PRIu64 ", *cf_cout = scratch + %" PRIu64 ";", L->at_cond,
            L->at_cond + 64);
    em_line(e, "const int64_t cf_trip = %s;", p.has_trip ? "in0[0]" : "0");
    em_line(e, "uint8_t cf_c = %s;", p.has_cond ? "in1[0] != 0" : "1");
    em_line(e, "(void)cf_trip;");
    for (size_t k = 0; k < p.n_carried; k++) {
        hd_buf b;
        hd_buf_init(&b);
        node_io(&b, false, 2 + k);
        em_line(e, "const unsigned char *cf_v%zu = %s;", k, b.data);
        hd_buf_free(&b);
    }
    pass_captures(e, body);
    em_line(e, "int64_t cf_i = 0;");
    hd_buf cond;
    hd_buf_init(&cond);
    hd_buf_puts(&cond, "cf_c");
    if (p.has_trip)
        hd_buf_puts(&cond, " && cf_i < cf_trip");
    if (p.n_scan)
        hd_buf_printf(&cond, " && cf_i < %" PRId64, p.scan_len);
    em_line(e, "for (; %s; cf_i++) {", cond.data);
    hd_buf_free(&cond);
    e->indent++;
    em_line(e, "*cf_iter = cf_i;");
    em_line(e, "*cf_cin = cf_c;");
    em_line(e, "cf_in[0] = cf_iter;");
    em_line(e, "cf_in[1] = cf_cin;");
    em_line(e, "cf_out[0] = cf_cout;");
    for (size_t k = 0; k < p.n_carried; k++) {
        em_line(e, "cf_in[%zu] = cf_v%zu;", 2 + k, k);
        em_line(e, "cf_out[%zu] = scratch + ((cf_i & 1) ? %" PRIu64 " : %" PRIu64 ");", 1 + k, L->at_buf[2 * k + 1],
                L->at_buf[2 * k]);
    }
    for (size_t j = 0; j < p.n_scan; j++) {
        char *row = rt_bytes(g, ir_val(g, n->outputs[p.n_carried + j]), 1);
        em_line(e, "cf_out[%zu] = (unsigned char *)out%zu + (size_t)cf_i * %s;", 1 + p.n_carried + j, p.n_carried + j,
                row);
        free(row);
    }
    em_call_subgraph(e, fn, 0);
    if (p.has_cond)
        em_line(e, "cf_c = *cf_cout != 0;");
    for (size_t k = 0; k < p.n_carried; k++)
        em_line(e, "cf_v%zu = cf_out[%zu];", k, 1 + k);
    e->indent--;
    em_line(e, "}");
    if (p.n_scan) {
        /* The scan outputs hold exactly scan_len rows: the loop must have
         * stopped there, and by itself. */
        em_line(e, "if (cf_i != %" PRId64 " || (%s && cf_c))", p.scan_len, p.has_trip ? "cf_trip > cf_i" : "1");
        em_line(e, "    return 1;");
    }
    for (size_t k = 0; k < p.n_carried; k++) {
        if (!bytes_of(g, n->outputs[k]))
            continue;
        char *nb = rt_bytes(g, ir_val(g, n->outputs[k]), 0);
        em_line(e, "memcpy(out%zu, cf_v%zu, %s);", k, k, nb);
        free(nb);
    }
}

/* Rows of `v` before `axis` (outer) and bytes after it (inner), as C
 * expressions with this run's sizes; *one: outer is a static 1. */
typedef struct scan_split {
    char *outer, *inner;
    bool one;
} scan_split;

static scan_split split_at(const ir_graph *g, const ir_value *v, int axis, int first)
{
    scan_split sp = {.one = true};
    for (int d = first; d < axis; d++)
        sp.one = sp.one && !v->dims[d].rt && v->dims[d].size == 1;
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_putc(&b, '(');
    em_rt_span(g, v, first, axis, &b);
    hd_buf_putc(&b, ')');
    sp.outer = hd_buf_take(&b);
    sp.inner = rt_bytes(g, v, axis + 1);
    return sp;
}

static void split_free(scan_split *sp)
{
    free(sp->outer);
    free(sp->inner);
}

/* Scan: a `for` per batch entry (opset 8) and step.  Over run-time dims
 * (ir_node.rt_general) the length, the element sizes and the states' bytes
 * are this run's. */
static void emit_scan(op_emit *e, cf_layout *L, int fn)
{
    const ir_graph *g = e->g, *body = L->sub[0];
    const ir_node *n = em_node(e);
    cf_scan p;
    cf_scan_of(g, e->node, &p);
    e->rt_dims = n->rt_general;
    int first_axis = p.v8 ? 1 : 0; /* opset 8's batch axis is outside the view */
    char *len = p.len_dim.rt ? hd_xasprintf("rtd[%d]", em_rt_index(g, p.len_dim.sym))
                             : hd_xasprintf("INT64_C(%" PRId64 ")", p.len);
    declare_io(e, body);
    pass_captures(e, body);
    em_for(e, "cf_b", p.batch);
    for (size_t k = 0; k < p.n_state; k++) {
        char *sb = rt_bytes(g, ir_val(g, n->outputs[k]), first_axis);
        em_line(e, "const unsigned char *cf_v%zu = (const unsigned char *)in%zu + (size_t)cf_b * %s;", k, p.first + k,
                sb);
        free(sb);
    }
    em_line(e, "for (int64_t cf_t = 0; cf_t < %s; cf_t++) {", len);
    e->indent++;
    for (size_t k = 0; k < p.n_state; k++) {
        em_line(e, "cf_in[%zu] = cf_v%zu;", k, k);
        em_line(e, "cf_out[%zu] = scratch + ((cf_t & 1) ? %" PRIu64 " : %" PRIu64 ");", k, L->at_buf[2 * k + 1],
                L->at_buf[2 * k]);
    }
    size_t buf = 2 * p.n_state;
    for (size_t q = 0; q < p.n_in; q++, buf++) {
        int axis;
        bool rev;
        cf_scan_axis(g, e->node, false, q, &axis, &rev);
        const ir_value *x = ir_val(g, n->inputs[p.first + p.n_state + q]);
        scan_split sp = split_at(g, x, axis + first_axis, first_axis);
        char *at = rev ? hd_xasprintf("(%s - 1 - cf_t)", len) : hd_xstrdup("cf_t");
        if (sp.one) {
            em_line(e, "cf_in[%zu] = (const unsigned char *)in%zu + (size_t)(cf_b * %s + %s) * %s;", p.n_state + q,
                    p.first + p.n_state + q, len, at, sp.inner);
        } else {
            em_line(e, "for (int64_t cf_o = 0; cf_o < %s; cf_o++)", sp.outer);
            em_line(e,
                    "    memcpy(scratch + %" PRIu64 " + (size_t)cf_o * %s, (const unsigned char *)in%zu + "
                    "(size_t)(cf_o * %s + %s) * %s, %s);",
                    L->at_buf[buf], sp.inner, p.first + p.n_state + q, len, at, sp.inner, sp.inner);
            em_line(e, "cf_in[%zu] = scratch + %" PRIu64 ";", p.n_state + q, L->at_buf[buf]);
        }
        free(at);
        split_free(&sp);
    }
    size_t out_buf = buf;
    for (size_t j = 0; j < p.n_out; j++, buf++) {
        int axis;
        bool rev;
        cf_scan_axis(g, e->node, true, j, &axis, &rev);
        const ir_value *y = ir_val(g, n->outputs[p.n_state + j]);
        scan_split sp = split_at(g, y, axis + first_axis, first_axis);
        char *at = rev ? hd_xasprintf("(%s - 1 - cf_t)", len) : hd_xstrdup("cf_t");
        if (sp.one)
            em_line(e, "cf_out[%zu] = (unsigned char *)out%zu + (size_t)(cf_b * %s + %s) * %s;", p.n_state + j,
                    p.n_state + j, len, at, sp.inner);
        else
            em_line(e, "cf_out[%zu] = scratch + %" PRIu64 ";", p.n_state + j, L->at_buf[buf]);
        free(at);
        split_free(&sp);
    }
    em_call_subgraph(e, fn, 0);
    buf = out_buf;
    for (size_t j = 0; j < p.n_out; j++, buf++) {
        int axis;
        bool rev;
        cf_scan_axis(g, e->node, true, j, &axis, &rev);
        const ir_value *y = ir_val(g, n->outputs[p.n_state + j]);
        scan_split sp = split_at(g, y, axis + first_axis, first_axis);
        if (!sp.one) {
            char *at = rev ? hd_xasprintf("(%s - 1 - cf_t)", len) : hd_xstrdup("cf_t");
            em_line(e, "for (int64_t cf_o = 0; cf_o < %s; cf_o++)", sp.outer);
            em_line(e,
                    "    memcpy((unsigned char *)out%zu + (size_t)(cf_o * %s + %s) * %s, scratch + %" PRIu64
                    " + (size_t)cf_o * %s, %s);",
                    p.n_state + j, len, at, sp.inner, L->at_buf[buf], sp.inner, sp.inner);
            free(at);
        }
        split_free(&sp);
    }
    for (size_t k = 0; k < p.n_state; k++)
        em_line(e, "cf_v%zu = cf_out[%zu];", k, k);
    e->indent--;
    em_line(e, "}");
    for (size_t k = 0; k < p.n_state; k++) {
        if (!bytes_of(g, n->outputs[k]))
            continue;
        char *sb = rt_bytes(g, ir_val(g, n->outputs[k]), first_axis);
        em_line(e, "memcpy((unsigned char *)out%zu + (size_t)cf_b * %s, cf_v%zu, %s);", k, sb, k, sb);
        free(sb);
    }
    em_close(e);
    free(len);
}

static bool emit_control(op_emit *e)
{
    cf_layout L;
    if (!cf_plan(e->g, e->node, &L, e->d))
        return false;
    int fn[2] = {0, 0};
    for (size_t i = 0; i < L.n_sub; i++)
        if (!native_emit_subgraph(e, L.sub[i], &L.plan[i], &fn[i])) {
            layout_free(&L);
            return false;
        }
    e->parallel = true; /* the subgraphs' nodes get the pool and the workers' scratch */
    e->can_fail = true;
    switch (em_node(e)->op) {
    case OP_IF: emit_if(e, &L, fn); break;
    case OP_LOOP: emit_loop(e, &L, fn[0]); break;
    default: emit_scan(e, &L, fn[0]); break;
    }
    layout_free(&L);
    return true;
}

/* hodu.Phi: the result of the branch that ran, copied with its sizes in
 * this run; a dim decided here (the branches' differ) is reported
 * through dims0.  memmove: the planner may have put the result where a
 * branch's was. */
static bool emit_phi(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    e->rt_dims = true;
    em_line(e, "if (in0[0]) {");
    for (int b = 1; b <= 2; b++) {
        const ir_value *in = em_in(e, (size_t)b);
        hd_buf elems;
        hd_buf_init(&elems);
        em_rt_elems(e->g, in, -1, &elems);
        e->indent++;
        em_line(e, "memmove(out0, in%d, (size_t)(%s) * %zu);", b, elems.data, ir_dtype_size(out->dtype));
        for (int k = 0; k < out->rank; k++)
            if (out->dims[k].data_dep)
                em_line(e, "dims0[%d] = %s;", k, em_dim(e->g, in, k).s);
        e->indent--;
        em_line(e, b == 1 ? "} else {" : "}");
        hd_buf_free(&elems);
    }
    return true;
}

void native_register_control(native_lowering *table)
{
    static const native_lowering cf = {.emit = emit_control, .scratch_both = cf_scratch};
    table[OP_IF] = cf;
    table[OP_LOOP] = (native_lowering){.emit = emit_control, .emit_rt = emit_control, .scratch_both = cf_scratch};
    table[OP_SCAN_8] = cf;
    table[OP_SCAN] = (native_lowering){.emit = emit_control, .emit_rt = emit_control, .scratch_both = cf_scratch};
    table[OP_PHI] = (native_lowering){.emit = emit_phi, .emit_rt = emit_phi};
}
