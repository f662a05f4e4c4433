/*
 * test_loader.c - the ONNX loader (src/loader) on models built here with the
 * protobuf-c API, packed to files in a temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "onnx.pb-c.h"
#include "ops/ops.h"
#include "util/util.h"

/* ------------------------------------------------------------------------ */
/* Temporary folder */

static char g_dir[64];
static char g_outside[64]; /* a second folder, "outside" the model's */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (dir) {
            struct dirent *e;
            while ((e = readdir(dir)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *sub = hd_xasprintf("%s/%s", path, e->d_name);
                remove_tree(sub);
                free(sub);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/hodu_loader_XXXXXX");
    strcpy(g_outside, "/tmp/hodu_loader_out_XXXXXX");
    if (!mkdtemp(g_dir) || !mkdtemp(g_outside))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_tree(g_dir);
    remove_tree(g_outside);
    return 0;
}

static char *tmp_path(const char *name) { return hd_xasprintf("%s/%s", g_dir, name); }

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ------------------------------------------------------------------------ */
/* Model builder: every allocation is tracked and freed by mb_free. */

typedef struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[16];
    Onnx__TensorProto *inits[16];
    Onnx__ValueInfoProto *inputs[16];
    Onnx__ValueInfoProto *outputs[16];
    void **allocs;
    size_t n_allocs, cap_allocs;
} mb;

static void *mb_alloc(mb *b, size_t n)
{
    void *p = hd_xcalloc(1, n ? n : 1);
    HD_PUSH(b->allocs, b->n_allocs, b->cap_allocs, p);
    return p;
}

static char *mb_str(mb *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    memcpy(p, s, strlen(s) + 1);
    return p;
}

/* Splits "a,,c" into {"a", "", "c"}; "" gives no items. */
static char **mb_list(mb *b, const char *spec, size_t *n)
{
    *n = 0;
    if (!*spec)
        return NULL;
    size_t count = 1;
    for (const char *p = spec; *p; p++)
        count += *p == ',';
    char **out = mb_alloc(b, count * sizeof(char *));
    const char *p = spec;
    for (size_t i = 0; i < count; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        out[i] = mb_alloc(b, len + 1);
        memcpy(out[i], p, len);
        p = e ? e + 1 : p + len;
    }
    *n = count;
    return out;
}

static void mb_init(mb *b, int64_t opset)
{
    memset(b, 0, sizeof(*b));
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->model = m;
    b->graph = g;
    b->opset = o;
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.graph = &b->graph;
    b->graph.name = "test_graph";
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.opset_import = b->opsets;
    b->model.n_opset_import = 1;
    b->graph.node = b->nodes;
    b->graph.initializer = b->inits;
    b->graph.input = b->inputs;
    b->graph.output = b->outputs;
}

static void mb_free(mb *b)
{
    for (size_t i = 0; i < b->n_allocs; i++)
        free(b->allocs[i]);
    free(b->allocs);
    b->allocs = NULL;
    b->n_allocs = b->cap_allocs = 0;
}

/* A tensor ValueInfo; `dims` is "N,3,?" (number: dim_value, name:
 * dim_param, '?': neither), or NULL for no shape at all. */
static Onnx__ValueInfoProto *mb_value_info(mb *b, const char *name, int32_t elem, const char *dims)
{
    Onnx__ValueInfoProto *vi = mb_alloc(b, sizeof(*vi));
    Onnx__TypeProto *tp = mb_alloc(b, sizeof(*tp));
    Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof(*tt));
    Onnx__ValueInfoProto vi0 = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp0 = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt0 = ONNX__TYPE_PROTO__TENSOR__INIT;
    *vi = vi0;
    *tp = tp0;
    *tt = tt0;
    vi->name = mb_str(b, name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (dims) {
        Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof(*sh));
        Onnx__TensorShapeProto sh0 = ONNX__TENSOR_SHAPE_PROTO__INIT;
        *sh = sh0;
        size_t n;
        char **parts = mb_list(b, dims, &n);
        sh->n_dim = n;
        sh->dim = mb_alloc(b, (n ? n : 1) * sizeof(*sh->dim));
        for (size_t i = 0; i < n; i++) {
            Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof(*d));
            Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
            *d = d0;
            if (parts[i][0] >= '0' && parts[i][0] <= '9') {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = strtoll(parts[i], NULL, 10);
            } else if (strcmp(parts[i], "?") != 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = parts[i];
            }
            sh->dim[i] = d;
        }
        tt->shape = sh;
    }
    return vi;
}

static Onnx__ValueInfoProto *mb_input(mb *b, const char *name, int32_t elem, const char *dims)
{
    Onnx__ValueInfoProto *vi = mb_value_info(b, name, elem, dims);
    b->inputs[b->graph.n_input++] = vi;
    return vi;
}

static Onnx__ValueInfoProto *mb_output(mb *b, const char *name, int32_t elem, const char *dims)
{
    Onnx__ValueInfoProto *vi = mb_value_info(b, name, elem, dims);
    b->outputs[b->graph.n_output++] = vi;
    return vi;
}

static Onnx__NodeProto *mb_node(mb *b, const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = mb_alloc(b, sizeof(*n));
    Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
    *n = n0;
    n->op_type = mb_str(b, op);
    n->name = mb_str(b, name);
    n->domain = "";
    n->input = mb_list(b, ins, &n->n_input);
    n->output = mb_list(b, outs, &n->n_output);
    n->attribute = mb_alloc(b, 16 * sizeof(*n->attribute));
    b->nodes[b->graph.n_node++] = n;
    return n;
}

/* Appends an attribute with only its name set. */
static Onnx__AttributeProto *mb_attr(mb *b, Onnx__NodeProto *n, const char *name)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof(*a));
    Onnx__AttributeProto a0 = ONNX__ATTRIBUTE_PROTO__INIT;
    *a = a0;
    a->name = mb_str(b, name);
    n->attribute[n->n_attribute++] = a;
    return a;
}

/* A tensor with dims "2,3" ("" for a scalar) and no data yet. */
static Onnx__TensorProto *mb_tensor(mb *b, const char *name, int32_t type, const char *dims)
{
    Onnx__TensorProto *t = mb_alloc(b, sizeof(*t));
    Onnx__TensorProto t0 = ONNX__TENSOR_PROTO__INIT;
    *t = t0;
    t->name = mb_str(b, name);
    t->has_data_type = 1;
    t->data_type = type;
    size_t n;
    char **parts = mb_list(b, dims, &n);
    t->n_dims = n;
    t->dims = mb_alloc(b, (n ? n : 1) * sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        t->dims[i] = strtoll(parts[i], NULL, 10);
    return t;
}

static Onnx__TensorProto *mb_raw(mb *b, Onnx__TensorProto *t, const void *data, size_t n)
{
    t->has_raw_data = 1;
    t->raw_data.len = n;
    t->raw_data.data = mb_alloc(b, n);
    if (n)
        memcpy(t->raw_data.data, data, n);
    return t;
}

static void mb_init_add(mb *b, Onnx__TensorProto *t) { b->inits[b->graph.n_initializer++] = t; }

/* Marks `t` as stored in an external file. */
static void mb_external(mb *b, Onnx__TensorProto *t, const char *location, const char *offset, const char *length)
{
    const char *keys[3] = {"location", "offset", "length"};
    const char *vals[3] = {location, offset, length};
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data = mb_alloc(b, 3 * sizeof(*t->external_data));
    for (int i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        Onnx__StringStringEntryProto *e = mb_alloc(b, sizeof(*e));
        Onnx__StringStringEntryProto e0 = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        *e = e0;
        e->key = (char *)keys[i];
        e->value = mb_str(b, vals[i]);
        t->external_data[t->n_external_data++] = e;
    }
}

/* Packs the model into the temporary folder; returns the path (freed by
 * the caller). */
static char *mb_write(mb *b, const char *fname)
{
    size_t n = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = hd_xmalloc(n ? n : 1);
    assert_int_equal(onnx__model_proto__pack(&b->model, buf), n);
    char *path = tmp_path(fname);
    write_bytes(path, buf, n);
    free(buf);
    return path;
}

static uint8_t *mb_pack(mb *b, size_t *n)
{
    *n = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = hd_xmalloc(*n ? *n : 1);
    onnx__model_proto__pack(&b->model, buf);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Loading helpers */

/* Every message is one line without a trailing period. */
static void check_message_form(const hd_diag *d)
{
    for (size_t i = 0; i < d->len; i++) {
        const char *t = d->msgs[i].text;
        assert_non_null(t);
        assert_true(*t);
        assert_null(strchr(t, '\n'));
        assert_true(t[strlen(t) - 1] != '.');
    }
}

static ir_graph *load_ok(const char *path, hd_diag *d)
{
    hd_diag_init(d, path);
    ir_graph *g = hodu_load_onnx(path, NULL, d);
    if (!g || hd_failed(d))
        hd_diag_print(d, stderr);
    assert_non_null(g);
    assert_false(hd_failed(d));
    return g;
}

/* Loads `path`, expecting failure with an error that contains `want`. */
static void load_fails(const char *path, const char *want)
{
    hd_diag d;
    hd_diag_init(&d, path);
    ir_graph *g = hodu_load_onnx(path, NULL, &d);
    if (g)
        ir_graph_free(g);
    assert_null(g);
    assert_true(hd_failed(&d));
    check_message_form(&d);
    bool found = false;
    for (size_t i = 0; i < d.len; i++)
        found = found || strstr(d.msgs[i].text, want) != NULL;
    if (!found) {
        fprintf(stderr, "expected an error containing: %s\n", want);
        hd_diag_print(&d, stderr);
    }
    assert_true(found);
    hd_diag_free(&d);
}

static void mb_load_fails(mb *b, const char *want)
{
    char *path = mb_write(b, "model.onnx");
    load_fails(path, want);
    free(path);
}

static int find_value(const ir_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool graph_owns(const ir_graph *g, const void *p)
{
    for (size_t i = 0; i < g->n_owned; i++)
        if (g->owned[i] == p)
            return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Tests */

/* A valid Add graph loads with the right values, dtypes, shapes, symbols,
 * node wiring, opset and op index; an input that is also an initializer (old
 * IR versions) becomes a constant, not a run-time input. */
static void test_add_graph(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "X", HODU_DTYPE_F32, "N,3");
    mb_input(&b, "B", HODU_DTYPE_F32, "3"); /* also an initializer */
    mb_input(&b, "Y", HODU_DTYPE_I64, "?,batch,0");
    const float bias[3] = {1, 2, 3};
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "B", HODU_DTYPE_F32, "3"), bias, sizeof(bias)));
    mb_node(&b, "Add", "", "X,B", "Z");
    mb_output(&b, "Z", HODU_DTYPE_F32, "N,3");
    char *path = mb_write(&b, "add.onnx");
    hd_diag d;
    ir_graph *g = load_ok(path, &d);

    assert_int_equal(g->opset, 13);
    assert_string_equal(g->name, "test_graph");
    assert_int_equal(g->n_inputs, 2);
    int x = find_value(g, "X"), bv = find_value(g, "B"), y = find_value(g, "Y"), z = find_value(g, "Z");
    assert_int_equal(g->inputs[0], x);
    assert_int_equal(g->inputs[1], y);

    const ir_value *X = ir_val(g, x);
    assert_int_equal(X->kind, IR_VALUE_INPUT);
    assert_int_equal(X->dtype, HODU_DTYPE_F32);
    assert_int_equal(X->rank, 2);
    assert_int_equal(X->dims[0].size, -1);
    assert_string_equal(X->dims[0].sym, "N");
    assert_int_equal(X->dims[1].size, 3);
    assert_null(X->dims[1].sym);

    const ir_value *Y = ir_val(g, y);
    assert_int_equal(Y->dtype, HODU_DTYPE_I64);
    assert_int_equal(Y->rank, 3);
    assert_int_equal(Y->dims[0].size, -1);
    assert_null(Y->dims[0].sym);
    assert_string_equal(Y->dims[1].sym, "batch");
    assert_int_equal(Y->dims[2].size, 0);
    /* symbols are interned: the same pointer for the same name */
    assert_ptr_equal(X->dims[0].sym, ir_graph_symbol(g, "N"));

    const ir_value *B = ir_val(g, bv);
    assert_int_equal(B->kind, IR_VALUE_CONST);
    assert_int_equal(B->rank, 1);
    assert_int_equal(B->dims[0].size, 3);
    assert_int_equal(B->nbytes, sizeof(bias));
    assert_memory_equal(B->data, bias, sizeof(bias));
    assert_true(graph_owns(g, B->data)); /* the adopted raw_data buffer */

    assert_int_equal(g->n_nodes, 1);
    const ir_node *n = ir_nd(g, 0);
    assert_string_equal(n->op_type, "Add");
    assert_string_equal(n->domain, "");
    assert_string_equal(n->name, "Add_0");
    assert_int_equal(n->op, OP_ADD);
    assert_int_equal(n->n_inputs, 2);
    assert_int_equal(n->inputs[0], x);
    assert_int_equal(n->inputs[1], bv);
    assert_int_equal(n->n_outputs, 1);
    assert_int_equal(n->outputs[0], z);

    const ir_value *Z = ir_val(g, z);
    assert_int_equal(Z->kind, IR_VALUE_NODE);
    assert_int_equal(Z->producer, 0);
    assert_true(Z->is_output);
    assert_int_equal(Z->dtype, HODU_DTYPE_F32);
    assert_int_equal(Z->rank, 2);
    assert_string_equal(Z->dims[0].sym, "N");
    assert_int_equal(g->n_outputs, 1);
    assert_int_equal(g->outputs[0], z);

    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);
}

/* Nodes listed out of topological order load (inputs may name outputs of
 * later nodes), omitted optional inputs and outputs become -1, model node
 * names are kept, and "ai.onnx" is the default domain. */
static void test_out_of_order_and_optional(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 17);
    b.opset.domain = "ai.onnx";
    mb_input(&b, "X", HODU_DTYPE_F32, "2,3");
    mb_node(&b, "Relu", "second", "T", "Y");
    Onnx__NodeProto *first = mb_node(&b, "Clip", "first", "X,,", "T,");
    first->domain = "ai.onnx";
    mb_output(&b, "Y", HODU_DTYPE_F32, NULL);
    char *path = mb_write(&b, "order.onnx");
    hd_diag d;
    ir_graph *g = load_ok(path, &d);
    assert_int_equal(g->opset, 17);
    assert_int_equal(g->n_nodes, 2);
    const ir_node *relu = ir_nd(g, 0), *clip = ir_nd(g, 1);
    assert_string_equal(relu->name, "second");
    assert_string_equal(clip->name, "first");
    assert_string_equal(clip->domain, "");
    assert_int_equal(relu->inputs[0], clip->outputs[0]);
    assert_int_equal(ir_val(g, clip->outputs[0])->producer, 1);
    assert_int_equal(clip->n_inputs, 3);
    assert_int_equal(clip->inputs[1], -1);
    assert_int_equal(clip->inputs[2], -1);
    assert_int_equal(clip->n_outputs, 2);
    assert_int_equal(clip->outputs[1], -1);
    /* an output without a declared shape keeps an unknown rank */
    assert_int_equal(ir_val(g, relu->outputs[0])->rank, -1);
    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);
}

/* Initializers in raw_data and in every typed field (float_data, int32_data
 * for narrow types, int64_data, double_data, uint64_data) load with the
 * right bytes; scalars and empty tensors too. */
static void test_initializer_fields(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    const float raw[4] = {1.5f, -2, 3, 4};
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "raw", HODU_DTYPE_F32, "2,2"), raw, sizeof(raw)));

    float fd[4] = {0.25f, 0.5f, 0.75f, 1};
    Onnx__TensorProto *tf = mb_tensor(&b, "fd", HODU_DTYPE_F32, "4");
    tf->n_float_data = 4;
    tf->float_data = fd;
    mb_init_add(&b, tf);

    int32_t i8v[3] = {-1, 2, 127};
    Onnx__TensorProto *ti8 = mb_tensor(&b, "i8", HODU_DTYPE_I8, "3");
    ti8->n_int32_data = 3;
    ti8->int32_data = i8v;
    mb_init_add(&b, ti8);

    int32_t boolv[3] = {0, 1, 5};
    Onnx__TensorProto *tb = mb_tensor(&b, "b", HODU_DTYPE_BOOL, "3");
    tb->n_int32_data = 3;
    tb->int32_data = boolv;
    mb_init_add(&b, tb);

    int32_t f16v[2] = {0x3c00, 0xc000}; /* 1.0, -2.0 */
    Onnx__TensorProto *th = mb_tensor(&b, "h", HODU_DTYPE_F16, "2");
    th->n_int32_data = 2;
    th->int32_data = f16v;
    mb_init_add(&b, th);

    int64_t i64v[2] = {-5, INT64_MAX};
    Onnx__TensorProto *tl = mb_tensor(&b, "l", HODU_DTYPE_I64, "2");
    tl->n_int64_data = 2;
    tl->int64_data = i64v;
    mb_init_add(&b, tl);

    double dv[1] = {3.25};
    Onnx__TensorProto *td = mb_tensor(&b, "d", HODU_DTYPE_F64, "");
    td->n_double_data = 1;
    td->double_data = dv;
    mb_init_add(&b, td);

    uint64_t u32v[2] = {7, 0xffffffffu};
    Onnx__TensorProto *tu = mb_tensor(&b, "u32", HODU_DTYPE_U32, "2");
    tu->n_uint64_data = 2;
    tu->uint64_data = u32v;
    mb_init_add(&b, tu);

    mb_init_add(&b, mb_tensor(&b, "empty", HODU_DTYPE_F32, "0,3"));

    mb_node(&b, "Identity", "id", "raw", "out");
    mb_output(&b, "out", HODU_DTYPE_F32, "2,2");
    char *path = mb_write(&b, "inits.onnx");
    hd_diag d;
    ir_graph *g = load_ok(path, &d);

    const ir_value *v = ir_val(g, find_value(g, "raw"));
    assert_int_equal(v->kind, IR_VALUE_CONST);
    assert_int_equal(v->rank, 2);
    assert_memory_equal(v->data, raw, sizeof(raw));

    v = ir_val(g, find_value(g, "fd"));
    assert_int_equal(v->nbytes, sizeof(fd));
    assert_memory_equal(v->data, fd, sizeof(fd));

    v = ir_val(g, find_value(g, "i8"));
    const int8_t want_i8[3] = {-1, 2, 127};
    assert_int_equal(v->dtype, HODU_DTYPE_I8);
    assert_int_equal(v->nbytes, 3);
    assert_memory_equal(v->data, want_i8, 3);

    v = ir_val(g, find_value(g, "b"));
    const uint8_t want_b[3] = {0, 1, 1};
    assert_memory_equal(v->data, want_b, 3);

    v = ir_val(g, find_value(g, "h"));
    const uint16_t want_h[2] = {0x3c00, 0xc000};
    assert_int_equal(v->nbytes, 4);
    assert_memory_equal(v->data, want_h, 4);
    double hd[2];
    assert_int_equal(ir_const_as_f64(g, find_value(g, "h"), hd, 2), 2);
    assert_true(hd[0] == 1.0 && hd[1] == -2.0);

    v = ir_val(g, find_value(g, "l"));
    assert_memory_equal(v->data, i64v, sizeof(i64v));

    v = ir_val(g, find_value(g, "d"));
    assert_int_equal(v->rank, 0);
    assert_int_equal(v->nbytes, 8);
    assert_memory_equal(v->data, dv, 8);

    v = ir_val(g, find_value(g, "u32"));
    const uint32_t want_u32[2] = {7, 0xffffffffu};
    assert_int_equal(v->nbytes, 8);
    assert_memory_equal(v->data, want_u32, 8);

    v = ir_val(g, find_value(g, "empty"));
    assert_int_equal(v->nbytes, 0);
    assert_non_null(v->data);
    assert_int_equal(ir_value_numel(v), 0);

    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);
}

/* raw_data shorter than the shape needs is an error naming the tensor, the
 * byte counts and the shape. */
static void test_raw_data_too_short(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    const float raw[3] = {1, 2, 3};
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "W", HODU_DTYPE_F32, "4,4"), raw, sizeof(raw)));
    mb_node(&b, "Identity", "id", "W", "out");
    mb_output(&b, "out", HODU_DTYPE_F32, NULL);
    mb_load_fails(&b, "tensor 'W': raw_data holds 12 bytes but its shape [4,4] of f32 needs 64");
    mb_free(&b);
}

/* Typed data with the wrong count, in the wrong field, or in two places at
 * once; negative dims; element counts that overflow; rank above the limit;
 * string tensors; unsupported element types: each is an error. */
static void test_bad_initializers(void **state)
{
    (void)state;
    struct {
        const char *want;
    } cases[] = {
        {"tensor 'W': float_data holds 2 values but its shape [3] of f32 needs 3"},
        {"tensor 'W': f32 data cannot be stored in int64_data"},
        {"tensor 'W' stores its data in more than one place"},
        {"tensor 'W': dimension 1 is negative (-2)"},
        {"tensor 'W': element count of shape"},
        {"tensor 'W' has rank 9"},
        {"tensor 'W': string tensors are not supported"},
        {"tensor 'W': element type COMPLEX64 (14) is not supported"},
        {"tensor 'W' has no data but its shape [3] of f32 needs 12 bytes"},
        {"tensor 'W' has no data type"},
        {"tensor 'W': byte size of shape [4611686018427387904] overflows"},
        {"tensor 'W': segmented tensors are not supported"},
    };
    for (size_t c = 0; c < HD_ARRAY_LEN(cases); c++) {
        mb b;
        mb_init(&b, 13);
        float fv[3] = {1, 2, 3};
        int64_t lv[3] = {1, 2, 3};
        Onnx__TensorProto *t;
        switch (c) {
        case 0:
            t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3");
            t->n_float_data = 2;
            t->float_data = fv;
            break;
        case 1:
            t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3");
            t->n_int64_data = 3;
            t->int64_data = lv;
            break;
        case 2:
            t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3");
            t->n_float_data = 3;
            t->float_data = fv;
            mb_raw(&b, t, fv, sizeof(fv));
            break;
        case 3: t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3,-2"); break;
        case 4: t = mb_tensor(&b, "W", HODU_DTYPE_F32, "4294967296,4294967296,4294967296"); break;
        case 5: t = mb_tensor(&b, "W", HODU_DTYPE_F32, "1,1,1,1,1,1,1,1,1"); break;
        case 6: t = mb_tensor(&b, "W", HODU_DTYPE_STRING, "1"); break;
        case 7: t = mb_tensor(&b, "W", 14, "1"); break;
        case 8: t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3"); break;
        case 9:
            t = mb_tensor(&b, "W", HODU_DTYPE_F32, "3");
            t->has_data_type = 0;
            t->data_type = 0;
            break;
        case 10: t = mb_tensor(&b, "W", HODU_DTYPE_F64, "4611686018427387904"); break;
        default: {
            t = mb_tensor(&b, "W", HODU_DTYPE_F32, "0");
            Onnx__TensorProto__Segment *seg = mb_alloc(&b, sizeof(*seg));
            Onnx__TensorProto__Segment seg0 = ONNX__TENSOR_PROTO__SEGMENT__INIT;
            *seg = seg0;
            t->segment = seg;
            break;
        }
        }
        mb_init_add(&b, t);
        mb_node(&b, "Identity", "id", "W", "out");
        mb_output(&b, "out", HODU_DTYPE_F32, NULL);
        mb_load_fails(&b, cases[c].want);
        mb_free(&b);
    }
}

/* Sparse initializers are refused. */
static void test_sparse_initializer(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    Onnx__SparseTensorProto sp = ONNX__SPARSE_TENSOR_PROTO__INIT;
    sp.values = mb_tensor(&b, "S", HODU_DTYPE_F32, "0");
    sp.indices = mb_tensor(&b, "S_idx", HODU_DTYPE_I64, "0");
    Onnx__SparseTensorProto *sps[1] = {&sp};
    b.graph.sparse_initializer = sps;
    b.graph.n_sparse_initializer = 1;
    mb_input(&b, "X", HODU_DTYPE_F32, "1");
    mb_node(&b, "Identity", "id", "X", "out");
    mb_output(&b, "out", HODU_DTYPE_F32, NULL);
    mb_load_fails(&b, "sparse initializer 'S'");
    mb_free(&b);
}

/* One model with a single external initializer W [4] f32. */
static void external_model(mb *b, const char *location, const char *offset, const char *length)
{
    mb_init(b, 13);
    Onnx__TensorProto *t = mb_tensor(b, "W", HODU_DTYPE_F32, "4");
    mb_external(b, t, location, offset, length);
    mb_init_add(b, t);
    mb_node(b, "Identity", "id", "W", "out");
    mb_output(b, "out", HODU_DTYPE_F32, NULL);
}

/* External data: a valid file at an offset loads the right bytes; a
 * location in a subfolder works; a missing length means "to the end". */
static void test_external_ok(void **state)
{
    (void)state;
    float data[6] = {-1, 10, 20, 30, 40, -1};
    char *bin = tmp_path("weights.bin");
    write_bytes(bin, data, sizeof(data));
    char *sub = tmp_path("sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *subbin = tmp_path("sub/w.bin");
    write_bytes(subbin, data + 1, 4 * sizeof(float));

    mb b;
    external_model(&b, "weights.bin", "4", "16");
    char *path = mb_write(&b, "ext.onnx");
    hd_diag d;
    ir_graph *g = load_ok(path, &d);
    const ir_value *w = ir_val(g, find_value(g, "W"));
    assert_int_equal(w->kind, IR_VALUE_CONST);
    assert_int_equal(w->nbytes, 16);
    assert_memory_equal(w->data, data + 1, 16);
    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);

    external_model(&b, "./sub/w.bin", NULL, NULL);
    path = mb_write(&b, "ext2.onnx");
    g = load_ok(path, &d);
    w = ir_val(g, find_value(g, "W"));
    assert_memory_equal(w->data, data + 1, 16);
    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);

    free(bin);
    free(sub);
    free(subbin);
}

/* External data errors: offset past the end, a range running past the end
 * (a huge claimed length is refused before any allocation), a length that
 * does not match the shape, an absolute path, a '..' escape, a symbolic link
 * (as the file or as a folder on the way), a missing file, a bad number and
 * a missing location. */
static void test_external_errors(void **state)
{
    (void)state;
    float data[4] = {1, 2, 3, 4};
    char *bin = tmp_path("w4.bin");
    write_bytes(bin, data, sizeof(data));
    char *outside_bin = hd_xasprintf("%s/secret.bin", g_outside);
    write_bytes(outside_bin, data, sizeof(data));
    char *link = tmp_path("link.bin");
    assert_int_equal(symlink("w4.bin", link), 0);
    char *linkdir = tmp_path("linkdir");
    assert_int_equal(symlink(g_outside, linkdir), 0);
    char *adir = tmp_path("adir");
    assert_int_equal(mkdir(adir, 0700), 0);

    struct {
        const char *loc, *off, *len, *want;
    } cases[] = {
        {"w4.bin", "100", "16", "tensor 'W': external data offset 100 is past the end of 'w4.bin' (16 bytes)"},
        {"w4.bin", "8", "16", "runs past the end of 'w4.bin'"},
        {"w4.bin", "0", "1152921504606846976", "runs past the end of 'w4.bin'"},
        {"w4.bin", "4", "12", "tensor 'W': external data holds 12 bytes but its shape [4] of f32 needs 16"},
        {"/etc/passwd", NULL, NULL, "is an absolute path"},
        {outside_bin, NULL, NULL, "is an absolute path"},
        {"../x.bin", NULL, NULL, "leaves the model's folder"},
        {"sub2/../../x.bin", NULL, NULL, "leaves the model's folder"},
        {"link.bin", NULL, NULL, "tensor 'W': external data file 'link.bin' is a symbolic link"},
        {"linkdir/secret.bin", NULL, NULL, "passes through a symbolic link"},
        {"missing.bin", NULL, NULL, "cannot open external data file 'missing.bin'"},
        {"w4.bin", "-4", NULL, "external data offset '-4' is not a non-negative integer"},
        {"w4.bin", "12abc", NULL, "external data offset '12abc' is not a non-negative integer"},
        {"", NULL, NULL, "external data has no location"},
        {"w4.bin", NULL, "x", "external data length 'x' is not a non-negative integer"},
        {"adir", NULL, NULL, "tensor 'W': external data file 'adir' is not a regular file"},
    };
    for (size_t c = 0; c < HD_ARRAY_LEN(cases); c++) {
        mb b;
        external_model(&b, cases[c].loc, cases[c].off, cases[c].len);
        mb_load_fails(&b, cases[c].want);
        mb_free(&b);
    }
    free(bin);
    free(outside_bin);
    free(link);
    free(linkdir);
    free(adir);
}

/* A node input that nothing defines is an error naming node and input. */
static void test_missing_initializer(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Mul", "mul1", "x,w", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "node 'mul1' (Mul): input 'w' is not defined (missing initializer?)");
    mb_free(&b);
}

/* A value defined twice (two nodes, or a node redefining a graph input or
 * an initializer), a graph input or initializer listed twice, and a graph
 * output that nothing defines are errors. */
static void test_duplicate_definitions(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r1", "x", "y");
    mb_node(&b, "Neg", "", "x", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "node 'Neg_1' (Neg): output 'y' is already defined by node 'r1' (Relu)");
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r1", "x", "x");
    mb_output(&b, "x", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "node 'r1' (Relu): output 'x' is already defined by a graph input");
    mb_free(&b);

    const float one = 1;
    mb_init(&b, 13);
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "c", HODU_DTYPE_F32, ""), &one, 4));
    mb_node(&b, "Relu", "r1", "c", "c");
    mb_output(&b, "c", HODU_DTYPE_F32, "");
    mb_load_fails(&b, "node 'r1' (Relu): output 'c' is already defined by an initializer");
    mb_free(&b);

    mb_init(&b, 13);
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "c", HODU_DTYPE_F32, ""), &one, 4));
    mb_init_add(&b, mb_raw(&b, mb_tensor(&b, "c", HODU_DTYPE_F32, ""), &one, 4));
    mb_node(&b, "Relu", "r1", "c", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "");
    mb_load_fails(&b, "initializer 'c' is defined twice");
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r1", "x", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "graph input 'x' is listed twice");
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r1", "x", "y");
    mb_output(&b, "z", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "graph output 'z' is not defined by any node, graph input or initializer");
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r1", "x", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "graph output 'y' is listed twice");
    mb_free(&b);
}

/* A long chain listed last-node-first (hundreds of values, so the name map
 * grows several times) resolves every input to the right producer. */
static void test_long_chain(void **state)
{
    (void)state;
    enum { N = 300 };
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    op.domain = "";
    op.has_version = 1;
    op.version = 13;
    m.opset_import = ops;
    m.n_opset_import = 1;
    m.graph = &gp;
    mb b; /* used only for allocations and the I/O value infos */
    mb_init(&b, 13);
    Onnx__ValueInfoProto *in = mb_value_info(&b, "v0", HODU_DTYPE_F32, "8");
    char name[32];
    snprintf(name, sizeof(name), "v%d", N);
    Onnx__ValueInfoProto *out = mb_value_info(&b, name, HODU_DTYPE_F32, "8");
    gp.input = &in;
    gp.n_input = 1;
    gp.output = &out;
    gp.n_output = 1;
    Onnx__NodeProto **nodes = mb_alloc(&b, N * sizeof(*nodes));
    for (int i = 0; i < N; i++) { /* node k computes v(k+1) from v(k); listed in reverse */
        int k = N - 1 - i;
        Onnx__NodeProto *n = mb_alloc(&b, sizeof(*n));
        Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
        *n = n0;
        n->op_type = "Relu";
        n->n_input = n->n_output = 1;
        n->input = mb_alloc(&b, sizeof(char *));
        n->output = mb_alloc(&b, sizeof(char *));
        snprintf(name, sizeof(name), "v%d", k);
        n->input[0] = mb_str(&b, name);
        snprintf(name, sizeof(name), "v%d", k + 1);
        n->output[0] = mb_str(&b, name);
        nodes[i] = n;
    }
    gp.node = nodes;
    gp.n_node = N;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = hd_xmalloc(len);
    onnx__model_proto__pack(&m, buf);
    char *path = tmp_path("chain.onnx");
    write_bytes(path, buf, len);
    free(buf);

    hd_diag d;
    ir_graph *g = load_ok(path, &d);
    assert_int_equal(g->n_nodes, N);
    assert_int_equal(g->n_values, N + 1);
    for (int i = 0; i < N; i++) {
        const ir_node *n = ir_nd(g, i);
        int k = N - 1 - i;
        snprintf(name, sizeof(name), "Relu_%d", i);
        assert_string_equal(n->name, name);
        snprintf(name, sizeof(name), "v%d", k);
        assert_string_equal(ir_val(g, n->inputs[0])->name, name);
        snprintf(name, sizeof(name), "v%d", k + 1);
        assert_string_equal(ir_val(g, n->outputs[0])->name, name);
        assert_int_equal(ir_val(g, n->outputs[0])->producer, i);
        if (k > 0)
            assert_int_equal(ir_val(g, n->inputs[0])->producer, i + 1);
    }
    size_t count = 0;
    int *order = ir_schedule(g, &count, &d);
    assert_non_null(order);
    assert_int_equal(count, N);
    assert_int_equal(order[0], N - 1);
    free(order);
    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);
    mb_free(&b);
}

/* Every attribute kind maps onto its IR kind, including TENSOR (a constant
 * named "<node>.<attr>"), GRAPH and sparse tensors (OTHER); an attribute
 * whose type is UNDEFINED (old models) is classified by the field present;
 * a repeated attribute name is an error. */
static void test_attribute_kinds(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    Onnx__NodeProto *n = mb_node(&b, "Custom", "c", "x", "y");
    n->domain = "com.example";

    Onnx__AttributeProto *a = mb_attr(&b, n, "i");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = -7;

    a = mb_attr(&b, n, "f");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = 0.5f;

    a = mb_attr(&b, n, "s");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.data = (uint8_t *)mb_str(&b, "NOTSET");
    a->s.len = 6;

    int64_t ints[3] = {1, -2, 3};
    a = mb_attr(&b, n, "is");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = 3;
    a->ints = ints;

    float floats[2] = {0.25f, 4};
    a = mb_attr(&b, n, "fs");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    a->n_floats = 2;
    a->floats = floats;

    ProtobufCBinaryData strs[2] = {{2, (uint8_t *)"ab"}, {0, NULL}};
    a = mb_attr(&b, n, "ss");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    a->n_strings = 2;
    a->strings = strs;

    const int32_t tv[2] = {5, 6};
    a = mb_attr(&b, n, "value");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a->t = mb_raw(&b, mb_tensor(&b, "ignored", HODU_DTYPE_I32, "2"), tv, sizeof(tv));

    Onnx__GraphProto body = ONNX__GRAPH_PROTO__INIT;
    body.name = "then_branch";
    a = mb_attr(&b, n, "body");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    a->g = &body;

    Onnx__GraphProto *bodies[2] = {&body, &body};
    a = mb_attr(&b, n, "bodies");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    a->n_graphs = 2;
    a->graphs = bodies;

    Onnx__SparseTensorProto sp = ONNX__SPARSE_TENSOR_PROTO__INIT;
    a = mb_attr(&b, n, "sparse");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    a->sparse_tensor = &sp;

    a = mb_attr(&b, n, "old_int"); /* type left UNDEFINED */
    a->has_i = 1;
    a->i = 42;

    a = mb_attr(&b, n, "old_floats");
    a->n_floats = 2;
    a->floats = floats;

    a = mb_attr(&b, n, "old_string");
    a->has_s = 1;
    a->s.data = (uint8_t *)mb_str(&b, "x");
    a->s.len = 1;

    mb_output(&b, "y", HODU_DTYPE_F32, NULL);
    char *path = mb_write(&b, "attrs.onnx");
    hd_diag d;
    ir_graph *g = load_ok(path, &d);
    const ir_node *node = ir_nd(g, 0);
    assert_string_equal(node->domain, "com.example");
    assert_int_equal(node->op, -1);
    assert_int_equal(node->n_attrs, 13);

    const ir_attr *at = ir_attr_find(node, "i");
    assert_int_equal(at->kind, IR_ATTR_INT);
    assert_int_equal(at->i, -7);
    at = ir_attr_find(node, "f");
    assert_int_equal(at->kind, IR_ATTR_FLOAT);
    assert_true(at->f == 0.5);
    assert_string_equal(ir_attr_string(node, "s", NULL), "NOTSET");
    size_t count;
    const int64_t *iv = ir_attr_ints(node, "is", &count);
    assert_int_equal(count, 3);
    assert_memory_equal(iv, ints, sizeof(ints));
    at = ir_attr_find(node, "fs");
    assert_int_equal(at->kind, IR_ATTR_FLOATS);
    assert_int_equal(at->n, 2);
    assert_true(at->floats[0] == 0.25 && at->floats[1] == 4.0);
    at = ir_attr_find(node, "ss");
    assert_int_equal(at->kind, IR_ATTR_STRINGS);
    assert_int_equal(at->n, 2);
    assert_string_equal(at->strings[0], "ab");
    assert_string_equal(at->strings[1], "");

    at = ir_attr_find(node, "value");
    assert_int_equal(at->kind, IR_ATTR_TENSOR);
    assert_true(at->tensor >= 0);
    const ir_value *tvv = ir_val(g, at->tensor);
    assert_string_equal(tvv->name, "c.value");
    assert_int_equal(tvv->kind, IR_VALUE_CONST);
    assert_int_equal(tvv->dtype, HODU_DTYPE_I32);
    assert_memory_equal(tvv->data, tv, sizeof(tv));

    at = ir_attr_find(node, "body");
    assert_int_equal(at->kind, IR_ATTR_GRAPH);
    assert_string_equal(at->s, "then_branch");
    at = ir_attr_find(node, "bodies");
    assert_int_equal(at->kind, IR_ATTR_GRAPH);
    assert_int_equal(at->n, 2);
    assert_string_equal(at->strings[1], "then_branch");
    assert_int_equal(ir_attr_find(node, "sparse")->kind, IR_ATTR_OTHER);

    assert_int_equal(ir_attr_int(node, "old_int", 0), 42);
    at = ir_attr_find(node, "old_floats");
    assert_int_equal(at->kind, IR_ATTR_FLOATS);
    assert_int_equal(at->n, 2);
    assert_string_equal(ir_attr_string(node, "old_string", NULL), "x");
    ir_graph_free(g);
    hd_diag_free(&d);
    free(path);

    /* the same attribute twice */
    a = mb_attr(&b, n, "i");
    a->has_i = 1;
    mb_load_fails(&b, "node 'c' (Custom): attribute 'i' is given twice");
    mb_free(&b);
}

/* A bad TENSOR attribute is reported under the "<node>.<attr>" name. */
static void test_bad_tensor_attribute(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    Onnx__NodeProto *n = mb_node(&b, "Constant", "k", "", "y");
    Onnx__AttributeProto *a = mb_attr(&b, n, "value");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    const float two[2] = {1, 2};
    a->t = mb_raw(&b, mb_tensor(&b, "", HODU_DTYPE_F32, "3"), two, sizeof(two));
    mb_output(&b, "y", HODU_DTYPE_F32, NULL);
    mb_load_fails(&b, "tensor 'k.value': raw_data holds 8 bytes but its shape [3] of f32 needs 12");
    mb_free(&b);
}

/* Graph inputs and outputs that are neither tensors nor sequences or
 * optionals of tensors are errors naming them; so are inputs without a type
 * or with an unsupported element type, and a sequence input whose length
 * and tensor dims no --input-shape binds. */
static void test_non_tensor_io(void **state)
{
    (void)state;
    for (int c = 0; c < 5; c++) {
        mb b;
        mb_init(&b, 13);
        Onnx__ValueInfoProto *vi = mb_input(&b, "seq_in", HODU_DTYPE_F32, "2");
        Onnx__TypeProto__Sequence seq = ONNX__TYPE_PROTO__SEQUENCE__INIT;
        const char *want = NULL;
        switch (c) {
        case 0:
            vi->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
            vi->type->sequence_type = &seq;
            want = "graph input 'seq_in' is a sequence of something other than tensors, not a tensor";
            break;
        case 4: { /* a sequence of float tensors, nothing binding its length */
            Onnx__TypeProto *elem = mb_alloc(&b, sizeof(*elem));
            *elem = *vi->type;
            seq.elem_type = elem;
            vi->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
            vi->type->sequence_type = &seq;
            want = "graph input 'seq_in' is a sequence: give its length and its tensors' dims with --input-shape";
            break;
        }
        case 1:
            vi->type = NULL;
            want = "graph input 'seq_in' has no type";
            break;
        case 2:
            vi->type->tensor_type->elem_type = 14; /* COMPLEX64 */
            want = "graph input 'seq_in': element type COMPLEX64 (14) is not supported";
            break;
        case 3: {
            Onnx__ValueInfoProto *out = mb_output(&b, "y", HODU_DTYPE_F32, NULL);
            out->type->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
            Onnx__TypeProto__Optional *opt = mb_alloc(&b, sizeof(*opt));
            Onnx__TypeProto__Optional opt0 = ONNX__TYPE_PROTO__OPTIONAL__INIT;
            *opt = opt0;
            out->type->optional_type = opt;
            want = "graph output 'y' is an optional of something other than tensors, not a tensor";
            break;
        }
        }
        mb_node(&b, "Identity", "id", "seq_in", "y");
        if (c != 3)
            mb_output(&b, "y", HODU_DTYPE_F32, NULL);
        mb_load_fails(&b, want);
        mb_free(&b);
    }
}

/* Opsets below 1 or above the newest supported, a default-domain op in a
 * model that imports no default-domain opset, and a model without a graph
 * are errors. */
static void test_opset_checks(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 0);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r", "x", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    mb_load_fails(&b, "opset 0 is too old");
    b.opset.version = HODU_ONNX_MAX_OPSET + 1;
    mb_load_fails(&b, "is newer than supported");
    Onnx__OperatorSetIdProto second = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    second.domain = "ai.onnx";
    second.has_version = 1;
    second.version = 12;
    b.opset.version = 13;
    Onnx__OperatorSetIdProto *two[2] = {&b.opset, &second};
    b.model.opset_import = two;
    b.model.n_opset_import = 2;
    mb_load_fails(&b, "the model imports the default ONNX domain twice (opsets 13 and 12)");
    b.model.opset_import = b.opsets;
    b.model.n_opset_import = 1;
    b.opset.domain = "com.microsoft";
    b.opset.version = 1;
    mb_load_fails(&b, "op Relu is in the default ONNX domain, for which the model imports no opset");
    b.model.n_opset_import = 0;
    mb_load_fails(&b, "the model imports no opset for the default ONNX domain");
    b.opset.domain = "";
    b.opset.version = HODU_ONNX_MIN_OPSET;
    b.model.n_opset_import = 1;
    b.model.graph = NULL;
    mb_load_fails(&b, "the model has no graph");
    mb_free(&b);
}

/* A file over max_file_bytes is refused before it is read; a missing file
 * and an empty file are errors. */
static void test_file_limits(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", HODU_DTYPE_F32, "2");
    mb_node(&b, "Relu", "r", "x", "y");
    mb_output(&b, "y", HODU_DTYPE_F32, "2");
    char *path = mb_write(&b, "small.onnx");
    hd_diag d;
    hd_diag_init(&d, path);
    hodu_load_options opts = {.max_file_bytes = 8};
    assert_null(hodu_load_onnx(path, &opts, &d));
    assert_true(hd_failed(&d));
    assert_non_null(strstr(d.msgs[0].text, "too large"));
    hd_diag_free(&d);
    free(path);

    path = tmp_path("does_not_exist.onnx");
    load_fails(path, "cannot open");
    free(path);
    path = tmp_path("empty.onnx");
    write_bytes(path, "", 0);
    load_fails(path, "the model has no graph");
    free(path);
    mb_free(&b);
}

/* Loads raw bytes as a model: must not crash; a failure reports an error and
 * a success reports none. */
static void load_bytes_any(const char *path, const uint8_t *bytes, size_t n)
{
    write_bytes(path, bytes, n);
    hd_diag d;
    hd_diag_init(&d, path);
    ir_graph *g = hodu_load_onnx(path, NULL, &d);
    if (g) {
        assert_false(hd_failed(&d));
        ir_graph_free(g);
    } else {
        assert_true(hd_failed(&d));
        check_message_form(&d);
    }
    hd_diag_free(&d);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A model with one of everything, for the fuzz tests. */
static void rich_model(mb *b)
{
    mb_init(b, 13);
    mb_input(b, "x", HODU_DTYPE_F32, "N,4");
    static const float w[4] = {1, 2, 3, 4};
    mb_init_add(b, mb_raw(b, mb_tensor(b, "w", HODU_DTYPE_F32, "4"), w, sizeof(w)));
    Onnx__NodeProto *n = mb_node(b, "Mul", "m", "x,w", "t");
    Onnx__AttributeProto *a = mb_attr(b, n, "axis");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = 1;
    n = mb_node(b, "Constant", "k", "", "c");
    a = mb_attr(b, n, "value");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a->t = mb_raw(b, mb_tensor(b, "", HODU_DTYPE_F32, "4"), w, sizeof(w));
    mb_node(b, "Add", "", "t,c", "y");
    mb_output(b, "y", HODU_DTYPE_F32, "N,4");
}

/* Every truncation of a valid model loads or fails cleanly, and cutting
 * into the middle of the weights is always an error. */
static void test_truncated_model(void **state)
{
    (void)state;
    mb b;
    rich_model(&b);
    size_t n;
    uint8_t *bytes = mb_pack(&b, &n);
    char *path = tmp_path("trunc.onnx");
    for (size_t cut = 0; cut < n; cut++)
        load_bytes_any(path, bytes, cut);
    /* the full model loads */
    hd_diag d;
    write_bytes(path, bytes, n);
    ir_graph *g = load_ok(path, &d);
    ir_graph_free(g);
    hd_diag_free(&d);
    /* cutting into the last field (a length-delimited message) must fail */
    write_bytes(path, bytes, n - 3);
    hd_diag_init(&d, path);
    g = hodu_load_onnx(path, NULL, &d);
    assert_null(g);
    assert_true(hd_failed(&d));
    hd_diag_free(&d);
    free(path);
    free(bytes);
    mb_free(&b);
}

/* Random bytes and random mutations of a valid model never crash; plain
 * garbage is reported as not a valid model. */
static void test_random_bytes(void **state)
{
    (void)state;
    char *path = tmp_path("random.onnx");
    uint8_t buf[512];
    for (int iter = 0; iter < 200; iter++) {
        size_t n = 1 + rng() % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rng();
        load_bytes_any(path, buf, n);
    }
    /* 0xff bytes are never a valid protobuf (a tag needs a terminating byte) */
    memset(buf, 0xff, 64);
    write_bytes(path, buf, 64);
    load_fails(path, "not a valid ONNX model (protobuf parse failed)");

    mb b;
    rich_model(&b);
    size_t n;
    uint8_t *model = mb_pack(&b, &n);
    uint8_t *mut = hd_xmalloc(n);
    for (int iter = 0; iter < 600; iter++) {
        memcpy(mut, model, n);
        int flips = 1 + (int)(rng() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rng() % n;
            if (rng() % 2)
                mut[at] ^= (uint8_t)(1u << (rng() % 8));
            else
                mut[at] = (uint8_t)rng();
        }
        load_bytes_any(path, mut, n);
    }
    free(mut);
    free(model);
    free(path);
    mb_free(&b);
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Writes `levels` subgraphs nested inside each other
 * (ModelProto.graph -> GraphProto.node -> NodeProto.attribute ->
 * AttributeProto.g -> GraphProto.node -> ...) into `path`.  The headers are
 * sized from the inside out, then written from the outside in. */
static void write_nested(const char *path, int levels)
{
    size_t n_wraps = 3 * (size_t)levels + 1;
    unsigned *fields = hd_xmalloc(n_wraps * sizeof(unsigned));
    uint64_t *lens = hd_xmalloc(n_wraps * sizeof(uint64_t));
    uint64_t inner = 0; /* bytes inside the current wrap */
    uint8_t tmp[20];
    for (size_t i = 0; i < n_wraps; i++) { /* i = 0 is the innermost */
        size_t k = i % 3;
        fields[i] = i == n_wraps - 1 ? 7 : k == 0 ? 6 : k == 1 ? 5 : 1;
        lens[i] = inner;
        inner += put_varint(tmp, (uint64_t)fields[i] << 3 | 2) + put_varint(tmp, inner);
    }
    uint8_t *out = hd_xmalloc((size_t)inner);
    size_t at = 0;
    for (size_t i = n_wraps; i-- > 0;) {
        at += put_varint(out + at, (uint64_t)fields[i] << 3 | 2);
        at += put_varint(out + at, lens[i]);
    }
    assert_int_equal(at, inner);
    write_bytes(path, out, at);
    free(out);
    free(fields);
    free(lens);
}

/* Subgraphs nested tens of thousands deep (a stack-exhaustion attempt on the
 * recursive unpacker) are refused cleanly; modest nesting is fine. */
static void test_deep_nesting(void **state)
{
    (void)state;
    char *path = tmp_path("deep.onnx");
    for (int pass = 0; pass < 2; pass++) {
        write_nested(path, pass == 0 ? 100000 : 10);
        hd_diag d;
        hd_diag_init(&d, path);
        ir_graph *g = hodu_load_onnx(path, NULL, &d);
        assert_null(g);
        assert_true(hd_failed(&d));
        check_message_form(&d);
        if (pass == 0)
            assert_non_null(strstr(d.msgs[0].text, "nested more than"));
        else /* parses, then fails for want of an opset import */
            assert_non_null(strstr(d.msgs[0].text, "opset"));
        hd_diag_free(&d);
    }
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_graph),
        cmocka_unit_test(test_out_of_order_and_optional),
        cmocka_unit_test(test_initializer_fields),
        cmocka_unit_test(test_raw_data_too_short),
        cmocka_unit_test(test_bad_initializers),
        cmocka_unit_test(test_sparse_initializer),
        cmocka_unit_test(test_external_ok),
        cmocka_unit_test(test_external_errors),
        cmocka_unit_test(test_missing_initializer),
        cmocka_unit_test(test_duplicate_definitions),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_attribute_kinds),
        cmocka_unit_test(test_bad_tensor_attribute),
        cmocka_unit_test(test_non_tensor_io),
        cmocka_unit_test(test_opset_checks),
        cmocka_unit_test(test_file_limits),
        cmocka_unit_test(test_truncated_model),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
