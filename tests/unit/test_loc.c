/*
 * test_loc.c - source locations (ir_loc): the ONNX loader records them, the
 * passes keep or inherit them, and every error about a node or value is
 * placed at one, naming the file, the node and its op.
 *
 * ONNX models are built here with the protobuf-c API and written to a
 * temporary folder; other graphs are built with the IR API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "ir/ir.h"
#include "loader/loader.h"
#include "onnx.pb-c.h"
#include "passes/passes.h"
#include "util/util.h"

static char g_dir[64];

static int group_setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/hodu_loc_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return rmdir(g_dir) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* A tiny ModelProto builder.  Everything it allocates goes on one list. */

typedef struct model {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[8];
    Onnx__TensorProto *inits[8];
    Onnx__ValueInfoProto *inputs[8];
    Onnx__ValueInfoProto *outputs[8];
    void *mem[256];
    size_t n_mem;
} model;

static void *m_new(model *b, size_t n)
{
    assert_true(b->n_mem < HD_ARRAY_LEN(b->mem));
    return b->mem[b->n_mem++] = hd_xcalloc(1, n);
}

static char *m_str(model *b, const char *s)
{
    char *p = m_new(b, strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

static void m_init(model *b)
{
    memset(b, 0, sizeof(*b));
    Onnx__ModelProto m0 = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g0 = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o0 = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->m = m0;
    b->g = g0;
    b->opset = o0;
    b->m.has_ir_version = 1;
    b->m.ir_version = 8;
    b->m.graph = &b->g;
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = 17;
    b->opsets[0] = &b->opset;
    b->m.opset_import = b->opsets;
    b->m.n_opset_import = 1;
    b->g.name = "loc";
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->inputs;
    b->g.output = b->outputs;
}

static void m_free(model *b)
{
    for (size_t i = 0; i < b->n_mem; i++)
        free(b->mem[i]);
    b->n_mem = 0;
}

/* An f32 tensor value; dims: numbers or symbols, -1 for "no dims at all". */
static Onnx__ValueInfoProto *m_value(model *b, const char *name, int rank, const char *const *dims)
{
    Onnx__ValueInfoProto *vi = m_new(b, sizeof(*vi));
    Onnx__TypeProto *tp = m_new(b, sizeof(*tp));
    Onnx__TypeProto__Tensor *tt = m_new(b, sizeof(*tt));
    Onnx__ValueInfoProto vi0 = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp0 = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt0 = ONNX__TYPE_PROTO__TENSOR__INIT;
    *vi = vi0;
    *tp = tp0;
    *tt = tt0;
    vi->name = m_str(b, name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = m_new(b, sizeof(*sh));
        Onnx__TensorShapeProto sh0 = ONNX__TENSOR_SHAPE_PROTO__INIT;
        *sh = sh0;
        sh->n_dim = (size_t)rank;
        sh->dim = m_new(b, (size_t)(rank ? rank : 1) * sizeof(*sh->dim));
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = m_new(b, sizeof(*d));
            Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
            *d = d0;
            if (dims[i][0] >= '0' && dims[i][0] <= '9') {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = strtoll(dims[i], NULL, 10);
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = m_str(b, dims[i]);
            }
            sh->dim[i] = d;
        }
        tt->shape = sh;
    }
    return vi;
}

static void m_input(model *b, const char *name, int rank, const char *const *dims)
{
    b->inputs[b->g.n_input++] = m_value(b, name, rank, dims);
}

static void m_output(model *b, const char *name) { b->outputs[b->g.n_output++] = m_value(b, name, -1, NULL); }

/* A node reading ins[0..n_in) and writing one output.  name may be "". */
static Onnx__NodeProto *m_node(model *b, const char *op, const char *name, const char *in0, const char *in1,
                               const char *out)
{
    Onnx__NodeProto *n = m_new(b, sizeof(*n));
    Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
    *n = n0;
    n->op_type = m_str(b, op);
    n->name = m_str(b, name);
    n->domain = "";
    n->input = m_new(b, 2 * sizeof(char *));
    n->input[n->n_input++] = m_str(b, in0);
    if (in1)
        n->input[n->n_input++] = m_str(b, in1);
    n->output = m_new(b, sizeof(char *));
    n->output[n->n_output++] = m_str(b, out);
    b->nodes[b->g.n_node++] = n;
    return n;
}

/* An f32 tensor of zeros with the given dims. */
static Onnx__TensorProto *m_tensor(model *b, const char *name, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = m_new(b, sizeof(*t));
    Onnx__TensorProto t0 = ONNX__TENSOR_PROTO__INIT;
    *t = t0;
    t->name = m_str(b, name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = (size_t)rank;
    t->dims = m_new(b, (size_t)(rank ? rank : 1) * sizeof(int64_t));
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        count *= (size_t)dims[i];
    }
    t->has_raw_data = 1;
    t->raw_data.len = count * 4;
    t->raw_data.data = m_new(b, count * 4);
    return t;
}

static void m_init_add(model *b, const char *name, int rank, const int64_t *dims)
{
    b->inits[b->g.n_initializer++] = m_tensor(b, name, rank, dims);
}

/* Writes the model to g_dir/<fname>; the caller frees the path and removes
 * the file. */
static char *m_write(model *b, const char *fname)
{
    size_t n = onnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = hd_xmalloc(n);
    assert_int_equal(onnx__model_proto__pack(&b->m, buf), n);
    char *path = hd_xasprintf("%s/%s", g_dir, fname);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(buf);
    return path;
}

/* ------------------------------------------------------------------------ */
/* Checks on messages */

/* True when one printed line holds every string of the NULL-terminated
 * list; prints the diag when none does. */
static bool has_line(const hd_diag *d, ...)
{
    for (size_t i = 0; i < d->len; i++) {
        char *line = hd_diag_line(d, i);
        bool all = true;
        va_list ap;
        va_start(ap, d);
        for (const char *want; all && (want = va_arg(ap, const char *)) != NULL;)
            all = strstr(line, want) != NULL;
        va_end(ap);
        free(line);
        if (all)
            return true;
    }
    fprintf(stderr, "no message holds every expected part; got:\n");
    hd_diag_print(d, stderr);
    return false;
}

/* The path with ":node[i]" etc. appended, as messages place it. */
static char *at(const char *path, const char *where) { return hd_xasprintf("hodu: error: %s:%s: ", path, where); }

/* The front of the pipeline as the driver runs it, stopping at the first
 * failing step.  Returns the graph (or NULL if loading failed). */
static ir_graph *front(const char *path, hd_diag *d, bool infer)
{
    hd_diag_init(d, path);
    ir_graph *g = hodu_load_onnx(path, NULL, d);
    if (!g)
        return NULL;
    bool ok = ir_verify(g, false, d) && pass_bind_inputs(g, NULL, 0, NULL, 0, NULL, 0, d) && pass_resolve_ops(g, d);
    if (ok && infer)
        ok = pass_infer_fold(g, d);
    (void)ok;
    return g;
}

static const char *const dims_2x3[] = {"2", "3"};

/* ------------------------------------------------------------------------ */
/* The loader records where everything came from. */

static void test_loader_records(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_init_add(&b, "bias", 2, (int64_t[]){2, 3});
    m_init_add(&b, "w", 2, (int64_t[]){2, 3});
    m_node(&b, "Add", "add1", "x", "w", "a");
    m_node(&b, "Relu", "", "a", NULL, "r"); /* unnamed */
    m_node(&b, "Add", "add2", "r", "bias", "y");
    m_output(&b, "y");
    char *path = m_write(&b, "rec.onnx");
    hd_diag d;
    hd_diag_init(&d, path);
    ir_graph *g = hodu_load_onnx(path, NULL, &d);
    assert_non_null(g);

    int x = -1, w = -1, bias = -1, r = -1;
    for (size_t i = 0; i < g->n_values; i++) {
        const char *n = g->values[i].name;
        if (!strcmp(n, "x"))
            x = (int)i;
        else if (!strcmp(n, "w"))
            w = (int)i;
        else if (!strcmp(n, "bias"))
            bias = (int)i;
        else if (!strcmp(n, "r"))
            r = (int)i;
    }
    assert_true(x >= 0 && w >= 0 && bias >= 0 && r >= 0);
    assert_int_equal(ir_val(g, x)->loc.kind, IR_LOC_ONNX_INPUT);
    assert_int_equal(ir_val(g, x)->loc.index, 0);
    assert_string_equal(ir_val(g, x)->loc.file, path);
    assert_int_equal(ir_val(g, bias)->loc.kind, IR_LOC_ONNX_INITIALIZER);
    assert_int_equal(ir_val(g, bias)->loc.index, 0);
    assert_int_equal(ir_val(g, w)->loc.index, 1);

    /* The unnamed node: a made-up IR name, the index and empty name kept. */
    const ir_node *relu = ir_nd(g, 1);
    assert_string_equal(relu->name, "Relu_1");
    assert_int_equal(relu->loc.kind, IR_LOC_ONNX_NODE);
    assert_int_equal(relu->loc.index, 1);
    assert_string_equal(relu->loc.name, "");
    assert_string_equal(ir_nd(g, 2)->loc.name, "add2");
    assert_int_equal(ir_nd(g, 2)->loc.index, 2);
    /* A node's result is defined at the node. */
    assert_int_equal(ir_val(g, r)->loc.kind, IR_LOC_ONNX_NODE);
    assert_int_equal(ir_val(g, r)->loc.index, 1);
    /* The file is interned once. */
    assert_ptr_equal(ir_val(g, x)->loc.file, relu->loc.file);

    char *where = ir_loc_format(&relu->loc);
    char *want = hd_xasprintf("%s:node[1]", path);
    assert_string_equal(where, want);
    free(where);
    free(want);

    ir_graph_free(g);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Errors from the passes on ONNX models */

static void test_bind_unbound_dim(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "k", 2, dims_2x3);
    m_input(&b, "x", 2, (const char *const[]){"batch", "3"});
    m_node(&b, "Relu", "r0", "x", NULL, "y");
    m_output(&b, "y");
    char *path = m_write(&b, "bind.onnx");
    hd_diag d;
    ir_graph *g = front(path, &d, false);
    assert_non_null(g);
    char *pos = at(path, "input[1]");
    assert_true(has_line(&d, pos, "input 'x' has unbound dim 0 ('batch')", NULL));
    free(pos);
    ir_graph_free(g);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

static void test_resolve_unsupported(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_node(&b, "Relu", "r0", "x", NULL, "a");
    m_node(&b, "Frobnicate", "frob1", "a", NULL, "y");
    m_output(&b, "y");
    char *path = m_write(&b, "resolve.onnx");
    hd_diag d;
    ir_graph *g = front(path, &d, false);
    assert_non_null(g);
    char *pos = at(path, "node[1]");
    assert_true(has_line(&d, pos, "node 'frob1' (Frobnicate): unsupported op Frobnicate", NULL));
    free(pos);
    ir_graph_free(g);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

static void test_infer_matmul_mismatch(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_init_add(&b, "w", 2, (int64_t[]){4, 5}); /* 3 columns vs 4 rows */
    m_node(&b, "Relu", "", "x", NULL, "a");
    m_node(&b, "MatMul", "", "a", "w", "y"); /* unnamed: the index still shows */
    m_output(&b, "y");
    char *path = m_write(&b, "matmul.onnx");
    hd_diag d;
    ir_graph *g = front(path, &d, true);
    assert_non_null(g);
    assert_true(hd_failed(&d));
    char *pos = at(path, "node[1]");
    assert_true(has_line(&d, pos, "node 'MatMul_1' (MatMul): ", "inner dims", NULL));
    free(pos);
    ir_graph_free(g);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

/* Folding keeps a folded value's location; fusion gives the fused node its
 * last member's, so a later error about it still points into the file. */
static void test_fold_and_fuse_keep_locations(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_init_add(&b, "c", 2, (int64_t[]){2, 3});
    m_node(&b, "Neg", "negc", "c", NULL, "nc"); /* folded */
    m_node(&b, "Add", "add", "x", "nc", "a");
    m_node(&b, "Relu", "relu", "a", NULL, "r");
    m_node(&b, "Neg", "neg", "r", NULL, "y");
    m_output(&b, "y");
    char *path = m_write(&b, "fuse.onnx");
    hd_diag d;
    ir_graph *g = front(path, &d, true);
    assert_non_null(g);
    assert_false(hd_failed(&d));
    int nc = -1;
    for (size_t i = 0; i < g->n_values; i++)
        if (!strcmp(g->values[i].name, "nc"))
            nc = (int)i;
    assert_true(nc >= 0);
    assert_int_equal(ir_val(g, nc)->kind, IR_VALUE_CONST);
    assert_int_equal(ir_val(g, nc)->loc.kind, IR_LOC_ONNX_NODE);
    assert_int_equal(ir_val(g, nc)->loc.index, 0);

    pass_dce(g);
    assert_true(pass_fuse_elementwise(g) >= 2);
    int fused = -1;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && !strcmp(g->nodes[i].op_type, "FusedElementwise"))
            fused = (int)i;
    assert_true(fused >= 0);
    assert_int_equal(ir_nd(g, fused)->loc.kind, IR_LOC_ONNX_NODE);
    assert_int_equal(ir_nd(g, fused)->loc.index, 3); /* 'neg', the last member */
    assert_string_equal(ir_nd(g, fused)->loc.name, "neg");
    ir_node_error(&d, g, fused, "test");
    char *pos = at(path, "node[3]");
    assert_true(has_line(&d, pos, "node 'neg+2' (FusedElementwise): test", NULL));
    free(pos);
    ir_graph_free(g);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Errors on graphs built with the IR API */

static ir_loc onnx_node_loc(ir_graph *g, int64_t index, const char *name)
{
    ir_loc l = {.kind = IR_LOC_ONNX_NODE, .file = ir_graph_file(g, "net.onnx"), .index = index};
    l.name = ir_graph_string(g, name);
    return l;
}

static int f32_value(ir_graph *g, const char *name, int64_t n)
{
    int v = ir_value_new(g, name);
    ir_val(g, v)->dtype = HODU_DTYPE_F32;
    ir_value_set_shape(ir_val(g, v), 1, &n);
    return v;
}

static void test_verify_double_definition(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", "net.onnx");
    int x = f32_value(g, "x", 4), y = f32_value(g, "y", 4);
    ir_val(g, x)->kind = IR_VALUE_INPUT;
    HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, x);
    int n0 = ir_node_new(g, "Relu", "", "first", &x, 1, &y, 1);
    ir_node_set_loc(g, n0, onnx_node_loc(g, 0, "first"));
    int n1 = ir_node_new(g, "Neg", "", "second", &x, 1, &y, 1);
    ir_node_set_loc(g, n1, onnx_node_loc(g, 1, "second"));
    hd_diag d;
    hd_diag_init(&d, "net.onnx");
    assert_false(ir_verify(g, false, &d));
    assert_true(
        has_line(&d, "hodu: error: net.onnx:node[1]: node 'second' (Neg): value 'y' is defined more than once", NULL));
    /* One file name per line, never two. */
    for (size_t i = 0; i < d.len; i++) {
        char *line = hd_diag_line(&d, i);
        assert_null(strstr(strstr(line, "net.onnx") + 1, "net.onnx"));
        free(line);
    }
    hd_diag_free(&d);
    ir_graph_free(g);
}

/* Three 2^39-byte intermediates live at once pass the 2^40 workspace limit;
 * the error names the node whose output does not fit. */
static void test_memplan_workspace_limit(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", "net.onnx");
    int64_t n = INT64_C(1) << 37; /* f32: 2^39 bytes */
    int x = f32_value(g, "x", n), a = f32_value(g, "a", n), b = f32_value(g, "b", n);
    int s = f32_value(g, "s", n), y = f32_value(g, "y", n);
    ir_val(g, x)->kind = IR_VALUE_INPUT;
    ir_val(g, x)->loc = (ir_loc){.kind = IR_LOC_ONNX_INPUT, .file = ir_graph_file(g, "net.onnx")};
    HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, x);
    ir_val(g, y)->is_output = true;
    HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, y);
    int ab[2] = {a, b};
    ir_node_set_loc(g, ir_node_new(g, "Relu", "", "r0", &x, 1, &a, 1), onnx_node_loc(g, 0, "r0"));
    ir_node_set_loc(g, ir_node_new(g, "Relu", "", "r1", &a, 1, &b, 1), onnx_node_loc(g, 1, "r1"));
    ir_node_set_loc(g, ir_node_new(g, "Add", "", "sum", ab, 2, &s, 1), onnx_node_loc(g, 2, "sum"));
    ir_node_set_loc(g, ir_node_new(g, "Relu", "", "r3", &s, 1, &y, 1), onnx_node_loc(g, 3, "r3"));
    hd_diag d;
    hd_diag_init(&d, "net.onnx");
    assert_true(pass_resolve_ops(g, &d));
    mem_plan plan;
    assert_false(pass_plan_memory(g, backend_find("native")->scratch, &plan, &d));
    assert_true(
        has_line(&d, "hodu: error: net.onnx:node[2]: node 'sum' (Add): an output would take the workspace past", NULL));
    hd_diag_free(&d);
    ir_graph_free(g);
}

/* A constant past the weight limit is named at its initializer. */
static void test_memplan_weight_limit(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", "net.onnx");
    static const float one = 1;
    int x = f32_value(g, "x", 1), y = f32_value(g, "y", 1);
    int64_t dim = 1;
    /* The planner reads only nbytes: a huge claim over one float is enough. */
    int w = ir_const_new(g, "w", HODU_DTYPE_F32, 1, &dim, &one, (size_t)1 << 41);
    ir_val(g, w)->loc = (ir_loc){.kind = IR_LOC_ONNX_INITIALIZER, .file = ir_graph_file(g, "net.onnx"), .index = 7};
    ir_val(g, x)->kind = IR_VALUE_INPUT;
    HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, x);
    ir_val(g, y)->is_output = true;
    HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, y);
    int xw[2] = {x, w};
    ir_node_set_loc(g, ir_node_new(g, "Add", "", "add", xw, 2, &y, 1), onnx_node_loc(g, 0, "add"));
    hd_diag d;
    hd_diag_init(&d, "net.onnx");
    assert_true(pass_resolve_ops(g, &d));
    mem_plan plan;
    assert_false(pass_plan_memory(g, backend_find("native")->scratch, &plan, &d));
    assert_true(has_line(&d, "hodu: error: net.onnx:initializer[7]: constant 'w': the weights would exceed", NULL));
    hd_diag_free(&d);
    ir_graph_free(g);
}

/* A node made by a pass over a value that has a location takes it. */
static void test_new_node_inherits(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", "net.onnx");
    int x = f32_value(g, "x", 4), y = f32_value(g, "y", 4);
    int n0 = ir_node_new(g, "Relu", "", "orig", &x, 1, &y, 1);
    ir_node_set_loc(g, n0, onnx_node_loc(g, 5, "orig"));
    g->nodes[n0].dead = true;
    int n1 = ir_node_new(g, "Neg", "", "replacement", &x, 1, &y, 1);
    assert_int_equal(ir_nd(g, n1)->loc.kind, IR_LOC_ONNX_NODE);
    assert_int_equal(ir_nd(g, n1)->loc.index, 5);
    assert_int_equal(ir_val(g, y)->producer, n1);
    ir_graph_free(g);
}

/* Property: reporting on a NULL diag (a plan getter re-running checks for
 * their verdict) discards the message instead of crashing. */
static void test_null_diag_discards(void **state)
{
    (void)state;
    ir_graph *g = ir_graph_new("t", "net.onnx");
    int x = f32_value(g, "x", 4), y = f32_value(g, "y", 4);
    int n = ir_node_new(g, "Relu", "", "r", &x, 1, &y, 1);
    ir_node_set_loc(g, n, onnx_node_loc(g, 0, "r"));
    ir_node_error(NULL, g, n, "ignored %d", 1);
    hd_error(NULL, "ignored too");
    ir_graph_free(g);
}

/* ------------------------------------------------------------------------ */
/* Formatting, including the text (HoduScript) form. */

static void test_format(void **state)
{
    (void)state;
    ir_loc text = {.kind = IR_LOC_TEXT, .file = "m.hodu", .line = 3, .col = 5, .end_line = 3, .end_col = 9};
    char *s = ir_loc_format(&text);
    assert_string_equal(s, "m.hodu:3:5");
    free(s);
    ir_loc node = {.kind = IR_LOC_ONNX_NODE, .file = "model.onnx", .index = 12};
    s = ir_loc_format(&node);
    assert_string_equal(s, "model.onnx:node[12]");
    free(s);
    ir_loc input = {.kind = IR_LOC_ONNX_INPUT, .file = "model.onnx", .index = 0};
    s = ir_loc_format(&input);
    assert_string_equal(s, "model.onnx:input[0]");
    free(s);
    ir_loc init = {.kind = IR_LOC_ONNX_INITIALIZER, .file = "model.onnx", .index = 3};
    s = ir_loc_format(&init);
    assert_string_equal(s, "model.onnx:initializer[3]");
    free(s);
    ir_loc out = {.kind = IR_LOC_ONNX_OUTPUT, .index = 1};
    s = ir_loc_format(&out);
    assert_string_equal(s, "output[1]");
    free(s);
    ir_loc none = {0};
    assert_null(ir_loc_format(&none));

    /* A HoduScript node: "file:line:col: node ...", the file once. */
    ir_graph *g = ir_graph_new("t", "m.hodu");
    int a = f32_value(g, "a", 2), y = f32_value(g, "y", 2);
    int mm = ir_node_new(g, "MatMul", "", "y", &a, 1, &y, 1);
    text.file = ir_graph_file(g, "m.hodu");
    ir_node_set_loc(g, mm, text);
    hd_diag d;
    hd_diag_init(&d, "m.hodu");
    ir_node_error(&d, g, mm, "inner dims differ");
    ir_value_error(&d, g, y, "value '%s' is wrong", "y");
    /* Without a file in the location, the diag's file is the one. */
    text.file = NULL;
    text.line = 7;
    ir_node_set_loc(g, mm, text);
    ir_node_error(&d, g, mm, "later");
    /* Nothing known: the plain file prefix, as before locations. */
    ir_node_set_loc(g, mm, none);
    ir_node_error(&d, g, mm, "nowhere");
    assert_int_equal(d.len, 4);
    const char *want[] = {
        "hodu: error: m.hodu:3:5: node 'y' (MatMul): inner dims differ", "hodu: error: m.hodu:3:5: value 'y' is wrong",
        "hodu: error: m.hodu:7:5: node 'y' (MatMul): later", "hodu: error: m.hodu: node 'y' (MatMul): nowhere"};
    for (size_t i = 0; i < d.len; i++) {
        char *line = hd_diag_line(&d, i);
        assert_string_equal(line, want[i]);
        free(line);
    }
    /* The message text itself carries no position. */
    assert_string_equal(d.msgs[0].text, "node 'y' (MatMul): inner dims differ");
    hd_diag_free(&d);
    ir_graph_free(g);
}

/* Loader errors about a node or an initializer are placed the same way. */
static void test_loader_errors_placed(void **state)
{
    (void)state;
    model b;
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_node(&b, "Relu", "r0", "x", NULL, "a");
    m_node(&b, "Add", "add1", "a", "missing", "y");
    m_output(&b, "y");
    char *path = m_write(&b, "lerr.onnx");
    hd_diag d;
    hd_diag_init(&d, path);
    assert_null(hodu_load_onnx(path, NULL, &d));
    char *pos = at(path, "node[1]");
    assert_true(has_line(&d, pos, "node 'add1' (Add): input 'missing' is not defined", NULL));
    free(pos);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);

    /* A short initializer: placed at the initializer. */
    m_init(&b);
    m_input(&b, "x", 2, dims_2x3);
    m_init_add(&b, "w", 2, (int64_t[]){2, 3});
    b.inits[0]->raw_data.len = 8;
    m_node(&b, "Add", "add", "x", "w", "y");
    m_output(&b, "y");
    path = m_write(&b, "lerr2.onnx");
    hd_diag_init(&d, path);
    assert_null(hodu_load_onnx(path, NULL, &d));
    pos = at(path, "initializer[0]");
    assert_true(has_line(&d, pos, "tensor 'w': raw_data holds 8 bytes", NULL));
    free(pos);
    hd_diag_free(&d);
    unlink(path);
    free(path);
    m_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_records),
        cmocka_unit_test(test_bind_unbound_dim),
        cmocka_unit_test(test_resolve_unsupported),
        cmocka_unit_test(test_infer_matmul_mismatch),
        cmocka_unit_test(test_fold_and_fuse_keep_locations),
        cmocka_unit_test(test_verify_double_definition),
        cmocka_unit_test(test_memplan_workspace_limit),
        cmocka_unit_test(test_memplan_weight_limit),
        cmocka_unit_test(test_new_node_inherits),
        cmocka_unit_test(test_null_diag_discards),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_loader_errors_placed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
