/*
 * test_memplan.c - a property test of pass_plan_memory over seeded random
 * graphs, plus its edge cases.
 *
 * Each graph is a random DAG of real ops (Relu, Neg, Add, Mul, Concat,
 * MatMul with scratch, Split with several outputs) on f32 [R, C] tensors,
 * run through op resolution and inference (and, for some seeds, DCE and
 * fusion), then planned.  The checks recompute liveness from the plan's
 * schedule on their own, so they do not share the planner's bookkeeping:
 *   - every node-made value that is not a graph output, and every scratch
 *     block, lives in the arena at a 64-byte aligned offset;
 *   - two arena blocks whose live step ranges meet never share a byte;
 *   - the arena holds every block's end and the largest live set;
 *   - inputs, outputs and constants are in MEM_INPUT / MEM_OUTPUT /
 *     MEM_WEIGHTS (weights aligned and disjoint too);
 *   - a view (an Identity or Flatten result sharing its input's block)
 *     comes from such nodes and holds its root's bytes, and the root's
 *     block counts as live until the view's last reader.
 * Every fourth graph is planned again after pass_recompute (with late
 * nodes, ir_node.late): the same checks, a workspace no larger, and each
 * late node right before a reader or another late node.  Hand-made cases
 * check that the pass moves a value's only node and copies a node read
 * both early and late, lowering the workspace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "ir/ir.h"
#include "ops/ops.h"
#include "passes/passes.h"
#include "util/util.h"

#define N_SEEDS 600
#define ALIGN   ((uint64_t)HODU_ABI_ALIGN)

/* xorshift64*: fixed seeds give the same graphs on every machine. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}
static int rnd_int(int n) { return (int)(rnd() % (uint64_t)n); }

static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(ALIGN - 1); }

/* --- graph building --------------------------------------------------------- */

typedef struct gen {
    ir_graph *g;
    int64_t C;     /* column count shared by every tensor */
    int pool[256]; /* non-constant values a new node may read */
    int64_t rows[256];
    int n_pool;
} gen;

static int add_input(ir_graph *g, const char *name, int rank, const int64_t *dims)
{
    int v = ir_value_new(g, name);
    ir_value *x = ir_val(g, v);
    x->kind = IR_VALUE_INPUT;
    x->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(x, rank, dims);
    HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, v);
    return v;
}

static void add_output(ir_graph *g, int v)
{
    g->values[v].is_output = true;
    HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, v);
}

static int add_const_f32(ir_graph *g, int64_t r, int64_t c)
{
    int64_t dims[2] = {r, c};
    size_t n = (size_t)(r * c) * sizeof(float);
    void *data = ir_graph_keep(g, hd_xcalloc(n ? n : 1, 1));
    char name[32];
    snprintf(name, sizeof(name), "w%zu", g->n_values);
    return ir_const_new(g, name, HODU_DTYPE_F32, 2, dims, data, n);
}

static int fresh(gen *s, int64_t rows)
{
    char name[32];
    snprintf(name, sizeof(name), "v%zu", s->g->n_values);
    int v = ir_value_new(s->g, name);
    if (s->n_pool < 256) {
        s->pool[s->n_pool] = v;
        s->rows[s->n_pool++] = rows;
    }
    return v;
}

static int pick(const gen *s) { return rnd_int(s->n_pool); }

static void add_node(gen *s)
{
    ir_graph *g = s->g;
    int a = pick(s);
    int x = s->pool[a];
    int64_t rx = s->rows[a];
    switch (rnd_int(7)) {
    case 6: { /* Identity or Flatten: a view of x that shares its block */
        int y = fresh(s, rx);
        int node = ir_node_new(g, rnd_int(2) ? "Identity" : "Flatten", "", NULL, &x, 1, &y, 1);
        if (strcmp(g->nodes[node].op_type, "Flatten") == 0)
            ir_node_add_attr(g, node, "axis", IR_ATTR_INT)->i = 1;
        break;
    }
    case 0:
    case 1: { /* unary */
        int y = fresh(s, rx);
        ir_node_new(g, rnd_int(2) ? "Relu" : "Neg", "", NULL, &x, 1, &y, 1);
        break;
    }
    case 2: { /* binary, with a broadcast or a constant now and then */
        int other = -1;
        int64_t ro = rx;
        int choice = rnd_int(4);
        if (choice == 0) {
            other = add_const_f32(g, rnd_int(2) ? 1 : rx, s->C);
        } else {
            for (int tries = 0; tries < 8 && other < 0; tries++) {
                int b = pick(s);
                if (s->rows[b] == rx || s->rows[b] == 1 || rx == 1) {
                    other = s->pool[b];
                    ro = s->rows[b];
                }
            }
            if (other < 0)
                other = x;
        }
        int in[2] = {x, other};
        int y = fresh(s, rx == 1 ? ro : rx); /* [1,C] broadcasts, even against [0,C] */
        ir_node_new(g, rnd_int(2) ? "Add" : "Mul", "", NULL, in, 2, &y, 1);
        break;
    }
    case 3: { /* Concat on axis 0, inputs may repeat */
        int in[4], n = 2 + rnd_int(3);
        int64_t rows = 0;
        for (int i = 0; i < n; i++) {
            int b = pick(s);
            in[i] = s->pool[b];
            rows += s->rows[b];
        }
        if (rows > 96) { /* keep tensors small */
            int y = fresh(s, rx);
            ir_node_new(g, "Relu", "", NULL, &x, 1, &y, 1);
            break;
        }
        int y = fresh(s, rows);
        int node = ir_node_new(g, "Concat", "", NULL, in, (size_t)n, &y, 1);
        ir_node_add_attr(g, node, "axis", IR_ATTR_INT)->i = 0;
        break;
    }
    case 4: { /* MatMul by a [C, C] weight: f32 GEMM scratch */
        int in[2] = {x, add_const_f32(g, s->C, s->C)};
        int y = fresh(s, rx);
        ir_node_new(g, "MatMul", "", NULL, in, 2, &y, 1);
        break;
    }
    default: { /* Split on axis 0 into two parts; often one part is unused */
        int64_t first = rx ? rnd_int((int)rx + 1) : 0;
        int64_t *sz = ir_graph_keep(g, hd_xmalloc(2 * sizeof(int64_t)));
        sz[0] = first;
        sz[1] = rx - first;
        int64_t n2 = 2;
        int split = ir_const_new(g, NULL, HODU_DTYPE_I64, 1, &n2, sz, 2 * sizeof(int64_t));
        int in[2] = {x, split};
        int out[2];
        out[0] = fresh(s, first);
        out[1] = fresh(s, rx - first);
        ir_node_new(g, "Split", "", NULL, in, 2, out, 2);
        break;
    }
    }
}

static const int64_t col_choices[] = {1, 3, 5, 16, 17, 40};

/* A random graph; its shapes are set by pass_infer_fold. */
static ir_graph *random_graph(unsigned seed)
{
    rng_state = UINT64_C(0x9E3779B97F4A7C15) ^ ((uint64_t)seed * UINT64_C(0x100000001B3) + 1);
    gen s;
    memset(&s, 0, sizeof(s));
    s.g = ir_graph_new("rand", NULL);
    s.g->opset = 17;
    s.C = col_choices[rnd_int(6)];
    int n_in = 1 + rnd_int(3);
    for (int i = 0; i < n_in; i++) {
        /* A few empty tensors (0 rows) check zero-byte blocks. */
        int64_t dims[2] = {rnd_int(20) == 0 ? 0 : 1 + rnd_int(24), s.C};
        char name[16];
        snprintf(name, sizeof(name), "in%d", i);
        int v = add_input(s.g, name, 2, dims);
        s.pool[s.n_pool] = v;
        s.rows[s.n_pool++] = dims[0];
    }
    int n_nodes = 1 + rnd_int(40);
    for (int i = 0; i < n_nodes; i++)
        add_node(&s);
    /* Outputs: usually late values, sometimes a graph input passed through,
     * a value listed twice, or a constant copied out of the blob. */
    int n_out = 1 + rnd_int(3);
    for (int i = 0; i < n_out; i++) {
        int r = rnd_int(10);
        if (r == 0)
            add_output(s.g, add_const_f32(s.g, 1, s.C));
        else if (r == 1 && s.g->n_outputs)
            add_output(s.g, s.g->outputs[0]);
        else if (r < 4)
            add_output(s.g, s.pool[pick(&s)]);
        else
            add_output(s.g, s.pool[s.n_pool - 1 - rnd_int(s.n_pool < 3 ? s.n_pool : 3)]);
    }
    return s.g;
}

/* --- the checks ----------------------------------------------------------- */

typedef struct span {
    size_t lo, hi;      /* live from step lo to step hi, inclusive */
    uint64_t off, size; /* size rounded up to the alignment */
    int value;          /* -1 for scratch */
} span;

typedef struct totals {
    size_t graphs, nodes, fused, blocks, empty, scratch, worker_scratch, pairs_checked, shared_bytes, views;
    size_t recomputed, late; /* graphs whose workspace recompute lowered; late nodes checked */
} totals;

static void fail_seed(unsigned seed, const ir_graph *g, const char *what)
{
    hd_buf b;
    hd_buf_init(&b);
    ir_dump(g, &b);
    print_error("seed %u: %s\n%s", seed, what, b.data ? b.data : "");
    hd_buf_free(&b);
    fail();
}

static void check_plan(unsigned seed, const ir_graph *g, const mem_plan *p, totals *t)
{
    size_t nv = g->n_values, nn = g->n_nodes, ns = p->n_schedule;
    long *step_of = hd_xmalloc((nn ? nn : 1) * sizeof(long));
    long *def = hd_xmalloc((nv ? nv : 1) * sizeof(long));
    long *last = hd_xmalloc((nv ? nv : 1) * sizeof(long));
    bool *read = hd_xcalloc(nv ? nv : 1, sizeof(bool));
    for (size_t i = 0; i < nn; i++)
        step_of[i] = -1;
    for (size_t v = 0; v < nv; v++)
        def[v] = last[v] = -1;

    /* The schedule holds each live node once, producers first. */
    size_t live_nodes = 0;
    for (size_t i = 0; i < nn; i++)
        live_nodes += !g->nodes[i].dead;
    if (ns != live_nodes)
        fail_seed(seed, g, "the schedule does not hold every live node");
    for (size_t s = 0; s < ns; s++) {
        int node = p->schedule[s];
        if (node < 0 || (size_t)node >= nn || g->nodes[node].dead || step_of[node] >= 0)
            fail_seed(seed, g, "the schedule names a bad, dead or repeated node");
        step_of[node] = (long)s;
    }
    for (size_t s = 0; s < ns; s++) {
        const ir_node *n = &g->nodes[p->schedule[s]];
        for (size_t j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            if (v < 0)
                continue;
            read[v] = true;
            if (g->values[v].kind == IR_VALUE_NODE && def[v] < 0)
                fail_seed(seed, g, "a node runs before the producer of its input");
            if ((long)s > last[v])
                last[v] = (long)s;
        }
        for (size_t j = 0; j < n->n_outputs; j++)
            if (n->outputs[j] >= 0)
                def[n->outputs[j]] = last[n->outputs[j]] = (long)s;
    }

    span *spans = hd_xmalloc((nv + ns + 1) * sizeof(span));
    span *weights = hd_xmalloc((nv + 1) * sizeof(span));
    size_t n_spans = 0, n_weights = 0;
    for (size_t v = 0; v < nv; v++) {
        const ir_value *val = &g->values[v];
        const mem_slot *sl = &p->slots[v];
        int first_out = -1;
        for (size_t i = 0; i < g->n_outputs && first_out < 0; i++)
            if (g->outputs[i] == (int)v)
                first_out = (int)i;
        if (val->kind == IR_VALUE_INPUT) {
            if (sl->place != MEM_INPUT || sl->index >= g->n_inputs || g->inputs[sl->index] != (int)v)
                fail_seed(seed, g, "a graph input is not in its caller buffer");
        } else if (val->kind == IR_VALUE_CONST) {
            if (!read[v] && first_out < 0)
                continue; /* unused constants may stay unplaced */
            if (sl->place != MEM_WEIGHTS || sl->offset % ALIGN != 0 || sl->offset + val->nbytes > p->weights_bytes)
                fail_seed(seed, g, "a constant is not in the weight blob, aligned and inside it");
            weights[n_weights++] = (span){0, 0, sl->offset, val->nbytes, (int)v};
        } else if (def[v] < 0) {
            if (sl->place != MEM_NONE)
                fail_seed(seed, g, "a value no live node defines has a home");
        } else if (first_out >= 0) {
            if (sl->place != MEM_OUTPUT || sl->index != (size_t)first_out)
                fail_seed(seed, g, "a graph output is not in its (first) caller buffer");
        } else if (p->view_of[v] >= 0) {
            /* a view: its producer reshapes (a chain of them reaching) the
             * root, and it holds the root's bytes; checked as part of the
             * root's block below */
            int root = p->view_of[v], at = (int)v;
            while (at != root) {
                const ir_node *pn = &g->nodes[g->values[at].producer];
                if (strcmp(pn->op_type, "Identity") != 0 && strcmp(pn->op_type, "Flatten") != 0)
                    fail_seed(seed, g, "a view is not made by a reshaping node");
                at = pn->inputs[0];
                if (at < 0 || g->values[at].kind != IR_VALUE_NODE)
                    fail_seed(seed, g, "a view's chain does not reach its root");
            }
            if (sl->place != MEM_ARENA || p->slots[root].place != MEM_ARENA || sl->offset != p->slots[root].offset)
                fail_seed(seed, g, "a view does not hold its root's bytes");
            t->views++;
        } else {
            if (sl->place != MEM_ARENA)
                fail_seed(seed, g, "an intermediate is not in the arena");
            size_t nbytes = ir_value_nbytes(val);
            t->empty += nbytes == 0;
            long hi = last[v]; /* a block lives as long as its views are read */
            for (size_t w = 0; w < nv; w++)
                if (p->view_of[w] == (int)v && last[w] > hi)
                    hi = last[w];
            spans[n_spans++] = (span){(size_t)def[v], (size_t)hi, sl->offset, align_up(nbytes), (int)v};
        }
    }
    for (size_t s = 0; s < ns; s++) {
        scratch_need need = backend_find("native")->scratch(g, p->schedule[s]);
        if (p->scratch_bytes[s] < need.shared)
            fail_seed(seed, g, "a step got less scratch than the backend asks for");
        if (p->worker_scratch[s] < need.per_worker || p->worker_bytes < p->worker_scratch[s] ||
            p->worker_bytes % ALIGN != 0)
            fail_seed(seed, g, "a step got less per-worker scratch than the backend asks for");
        t->worker_scratch += p->worker_scratch[s] != 0;
        if (p->scratch_bytes[s]) {
            spans[n_spans++] = (span){s, s, p->scratch_offset[s], p->scratch_bytes[s], -1};
            t->scratch++;
        }
    }

    for (size_t i = 0; i < n_spans; i++) {
        const span *a = &spans[i];
        if (a->off % ALIGN != 0)
            fail_seed(seed, g, "an arena block is not 64-byte aligned");
        if (a->off + a->size > p->arena_bytes)
            fail_seed(seed, g, "an arena block ends past arena_bytes");
        for (size_t j = i + 1; j < n_spans; j++) {
            const span *b = &spans[j];
            if (a->size == 0 || b->size == 0)
                continue;
            bool bytes_meet = a->off < b->off + b->size && b->off < a->off + a->size;
            if (a->lo <= b->hi && b->lo <= a->hi) {
                t->pairs_checked++;
                if (bytes_meet) {
                    char msg[160];
                    snprintf(msg, sizeof(msg), "blocks of %s%s and %s%s are live together and overlap",
                             a->value < 0 ? "scratch" : "value ", a->value < 0 ? "" : g->values[a->value].name,
                             b->value < 0 ? "scratch" : "value ", b->value < 0 ? "" : g->values[b->value].name);
                    fail_seed(seed, g, msg);
                }
            } else if (bytes_meet) {
                t->shared_bytes++; /* reuse across time: the plan is doing its job */
            }
        }
    }
    for (size_t s = 0; s < ns; s++) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n_spans; i++)
            if (spans[i].lo <= s && s <= spans[i].hi)
                sum += spans[i].size;
        if (sum > p->arena_bytes)
            fail_seed(seed, g, "arena_bytes is smaller than a live set");
    }
    for (size_t i = 0; i < n_weights; i++)
        for (size_t j = i + 1; j < n_weights; j++) {
            const span *a = &weights[i], *b = &weights[j];
            if (a->size && b->size && a->off < b->off + b->size && b->off < a->off + a->size)
                fail_seed(seed, g, "two constants overlap in the weight blob");
        }
    if (p->arena_bytes % ALIGN != 0 || p->weights_bytes % ALIGN != 0)
        fail_seed(seed, g, "arena or weight sizes are not aligned");

    t->graphs++;
    t->nodes += ns;
    for (size_t s = 0; s < ns; s++)
        t->fused += strcmp(g->nodes[p->schedule[s]].domain, "hodu") == 0;
    t->blocks += n_spans;
    free(spans);
    free(weights);
    free(step_of);
    free(def);
    free(last);
    free(read);
}

/* pass_recompute on a planned graph: it still verifies and plans (the
 * same checks), no larger; a late node runs right before a reader of its
 * result or another late node. */
static void check_recompute(unsigned seed, ir_graph *g, const mem_plan *before, totals *t)
{
    hd_diag d;
    hd_diag_init(&d, NULL);
    recompute_stats rs;
    mem_plan p;
    if (!pass_recompute(g, backend_find("native")->scratch, &rs, &d) || !ir_verify(g, true, &d) ||
        !pass_plan_memory(g, backend_find("native")->scratch, &p, &d)) {
        hd_diag_print(&d, stderr);
        fail_seed(seed, g, "recompute, verifying or planning again failed");
    }
    if (p.arena_bytes != rs.arena_after || rs.arena_before != before->arena_bytes || rs.arena_after > rs.arena_before)
        fail_seed(seed, g, "recompute's workspace figures");
    t->recomputed += rs.arena_after < rs.arena_before;
    check_plan(seed, g, &p, t);
    for (size_t s = 0; s + 1 < p.n_schedule; s++) {
        const ir_node *n = &g->nodes[p.schedule[s]], *next = &g->nodes[p.schedule[s + 1]];
        if (!n->late)
            continue;
        t->late++;
        bool reads = next->late;
        for (size_t j = 0; j < next->n_inputs; j++)
            reads |= next->inputs[j] >= 0 && next->inputs[j] == n->outputs[0];
        if (!reads)
            fail_seed(seed, g, "a late node does not run right before its reader");
    }
    mem_plan_free(&p);
    hd_diag_free(&d);
}

static void test_random_graphs(void **state)
{
    (void)state;
    totals t;
    memset(&t, 0, sizeof(t));
    for (unsigned seed = 1; seed <= N_SEEDS; seed++) {
        ir_graph *g = random_graph(seed);
        hd_diag d;
        hd_diag_init(&d, NULL);
        bool ok = ir_verify(g, false, &d) && pass_resolve_ops(g, &d) && pass_infer_fold(g, &d);
        /* Plan the raw graph, the graph after DCE and after DCE + fusion. */
        if (ok && seed % 3 != 0)
            pass_dce(g);
        if (ok && seed % 3 == 2)
            pass_fuse_elementwise(g);
        ok = ok && ir_verify(g, true, &d);
        mem_plan plan;
        ok = ok && pass_plan_memory(g, backend_find("native")->scratch, &plan, &d);
        if (!ok) {
            hd_diag_print(&d, stderr);
            fail_seed(seed, g, "building or planning failed");
        }
        check_plan(seed, g, &plan, &t);
        if (seed % 4 == 3)
            check_recompute(seed, g, &plan, &t);
        mem_plan_free(&plan);
        hd_diag_free(&d);
        ir_graph_free(g);
    }
    print_message("memplan: %zu graphs, %zu scheduled nodes (%zu fused), %zu arena blocks (%zu scratch, "
                  "%zu empty), %zu steps with per-worker scratch, %zu live pairs checked, %zu pairs reusing bytes, "
                  "%zu views\n",
                  t.graphs, t.nodes, t.fused, t.blocks, t.scratch, t.empty, t.worker_scratch, t.pairs_checked,
                  t.shared_bytes, t.views);
    /* Guard the generator itself: the properties must have been exercised. */
    assert_int_equal(t.graphs, N_SEEDS + N_SEEDS / 4); /* the recomputed ones planned twice */
    assert_true(t.scratch + t.worker_scratch > 50);
    assert_true(t.fused > 20);
    assert_true(t.empty > 10);
    assert_true(t.pairs_checked > 1000);
    assert_true(t.shared_bytes > 100);
    assert_true(t.views > 50);
    print_message("recompute: %zu of %d graphs with a smaller workspace, %zu late nodes\n", t.recomputed, N_SEEDS / 4,
                  t.late);
    assert_true(t.recomputed > 5);
    assert_true(t.late > 10);
}

/* --- hand-made cases ------------------------------------------------------ */

/* Builds y = op(x) with shapes set by hand: inference would refuse the
 * sizes these cases need. */
static int unary(ir_graph *g, const char *op, int x, int rank, const int64_t *dims)
{
    int y = ir_value_new(g, NULL);
    ir_val(g, y)->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(ir_val(g, y), rank, dims);
    ir_node_new(g, op, "", NULL, &x, 1, &y, 1);
    return y;
}

static bool plan_fails_with(ir_graph *g, const char *needle)
{
    hd_diag d;
    hd_diag_init(&d, NULL);
    g->opset = 17;
    assert_true(pass_resolve_ops(g, &d)); /* op table entries, for scratch */
    mem_plan plan;
    bool ok = pass_plan_memory(g, backend_find("native")->scratch, &plan, &d);
    bool found = false;
    for (size_t i = 0; i < d.len; i++) {
        char *line = hd_diag_line(&d, i);
        if (strstr(line, needle))
            found = true;
        free(line);
    }
    if (ok)
        mem_plan_free(&plan);
    else
        assert_null(plan.slots); /* freed on failure */
    hd_diag_free(&d);
    return !ok && found;
}

/* A chain of equal intermediates needs exactly two blocks: each one dies
 * as the next is made. */
static void test_chain_reuses(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("chain", NULL);
    int64_t dims[2] = {10, 10}; /* 400 bytes -> 448 aligned */
    int v = add_input(g, "x", 2, dims);
    for (int i = 0; i < 6; i++)
        v = unary(g, "Relu", v, 2, dims);
    add_output(g, v);
    hd_diag d;
    hd_diag_init(&d, NULL);
    g->opset = 17;
    assert_true(pass_resolve_ops(g, &d));
    mem_plan plan;
    assert_true(pass_plan_memory(g, backend_find("native")->scratch, &plan, &d));
    assert_int_equal(plan.arena_bytes, 2 * 448);
    assert_int_equal(plan.slots[v].place, MEM_OUTPUT);
    mem_plan_free(&plan);
    hd_diag_free(&d);
    ir_graph_free(g);
}

/* y = Neg(x) read only at the end of a chain of MatMuls: the Neg moves
 * there (nothing copied); read also at the start (x + y), it is copied
 * there.  Either way y no longer lives beside the chain's two blocks. */
static void recompute_case(bool read_early)
{
    ir_graph *g = ir_graph_new("late", NULL);
    g->opset = 17;
    int64_t dims[2] = {32, 32};
    int x = add_input(g, "x", 2, dims);
    int y = unary(g, "Neg", x, 2, dims), v;
    if (read_early) {
        int in[2] = {x, y};
        v = ir_value_new(g, NULL);
        ir_node_new(g, "Add", "", NULL, in, 2, &v, 1);
    } else {
        v = unary(g, "Relu", x, 2, dims);
    }
    for (int i = 0; i < 4; i++) {
        int in[2] = {v, add_const_f32(g, 32, 32)}, m = ir_value_new(g, NULL);
        ir_node_new(g, "MatMul", "", NULL, in, 2, &m, 1);
        v = m;
    }
    int in[2] = {v, y}, out = ir_value_new(g, NULL);
    ir_node_new(g, "Add", "", NULL, in, 2, &out, 1);
    add_output(g, out);
    hd_diag d;
    hd_diag_init(&d, NULL);
    assert_true(pass_resolve_ops(g, &d) && pass_infer_fold(g, &d));
    recompute_stats rs;
    assert_true(pass_recompute(g, backend_find("native")->scratch, &rs, &d));
    assert_true(ir_verify(g, true, &d));
    assert_true(rs.arena_after < rs.arena_before);
    assert_int_equal(rs.copies, read_early ? 1 : 0);
    assert_true(read_early ? rs.flops_added > 0 : rs.moved >= 1);
    hd_diag_free(&d);
    ir_graph_free(g);
}

static void test_recompute_moves(void **state)
{
    (void)state;
    recompute_case(false);
}

static void test_recompute_copies(void **state)
{
    (void)state;
    recompute_case(true);
}

/* A value whose shape is past the tensor limits is refused, not wrapped. */
static void test_oversize_value(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("big", NULL);
    int64_t small[1] = {4}, huge[3] = {INT64_C(1) << 20, INT64_C(1) << 20, 4};
    int x = add_input(g, "x", 1, small);
    int y = unary(g, "Relu", x, 3, huge); /* 2^42 f32: 2^44 bytes */
    add_output(g, unary(g, "Relu", y, 1, small));
    assert_true(plan_fails_with(g, "workspace past"));
    ir_graph_free(g);
}

/* Three blocks of 2^39 bytes live at once do not fit under 2^40. */
static void test_arena_sum_too_big(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("sum", NULL);
    int64_t small[1] = {4}, half[1] = {INT64_C(1) << 37};
    int x = add_input(g, "x", 1, small);
    int a = unary(g, "Relu", x, 1, half);
    int b = unary(g, "Neg", x, 1, half);
    int in[2] = {a, b};
    int c = ir_value_new(g, NULL);
    ir_val(g, c)->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(ir_val(g, c), 1, half);
    ir_node_new(g, "Add", "", NULL, in, 2, &c, 1);
    add_output(g, unary(g, "Relu", c, 1, small));
    assert_true(plan_fails_with(g, "workspace past"));
    ir_graph_free(g);
}

/* Two constants that are each allowed but together exceed the blob limit. */
static void test_weights_too_big(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("weights", NULL);
    int64_t small[1] = {4}, big[1] = {(INT64_C(1) << 37) + 16};
    static const float dummy; /* the planner never reads constant bytes */
    int x = add_input(g, "x", 1, small);
    int w1 = ir_const_new(g, "w1", HODU_DTYPE_F32, 1, big, &dummy, ((size_t)1 << 39) + 64);
    int w2 = ir_const_new(g, "w2", HODU_DTYPE_F32, 1, big, &dummy, ((size_t)1 << 39) + 64);
    int in[3] = {x, w1, w2};
    int y = ir_value_new(g, NULL);
    ir_val(g, y)->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(ir_val(g, y), 1, small);
    ir_node_new(g, "Sum", "", NULL, in, 3, &y, 1);
    add_output(g, y);
    assert_true(plan_fails_with(g, "weights would exceed"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_graphs),    cmocka_unit_test(test_chain_reuses),
        cmocka_unit_test(test_oversize_value),   cmocka_unit_test(test_arena_sum_too_big),
        cmocka_unit_test(test_weights_too_big),  cmocka_unit_test(test_recompute_moves),
        cmocka_unit_test(test_recompute_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
