/*
 * test_builder.c - the graph-building API (include/hodu.h, "building
 * graphs from code"): handles, one test per kind of misuse, attribute
 * kinds, and small graphs compiled in-process and run, checked against
 * the same arithmetic done here in C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hodu.h"
#include "hodu_rt.h"

static int setup(void **state)
{
    hodu_graph *g;
    hodu_error err;
    if (hodu_graph_new("t", 0, &g, &err) != HODU_OK)
        return -1;
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    hodu_graph_free(*state);
    return 0;
}

/* The last error mentions `part`. */
static void assert_error_has(const hodu_graph *g, const char *part)
{
    const char *e = hodu_graph_error(g);
    if (!strstr(e, part))
        fail_msg("error '%s' lacks '%s'", e, part);
}

static hodu_value input_2d(hodu_graph *g, const char *name, const char *sym, int64_t n)
{
    hodu_dim d[2] = {{.name = sym, .size = sym ? 0 : 2}, {.size = n}};
    hodu_value v = HODU_NO_VALUE;
    assert_int_equal(hodu_graph_input(g, name, HODU_DTYPE_F32, 2, d, &v), HODU_OK);
    return v;
}

/* hodu_graph_new refuses a bad opset and NULL out; free takes NULL. */
static void test_new_and_free(void **state)
{
    (void)state;
    hodu_graph *g = (hodu_graph *)1;
    hodu_error err;
    assert_int_equal(hodu_graph_new("x", 999, &g, &err), HODU_ERR_UNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(err.message, "opset 999 is outside"));
    assert_int_equal(hodu_graph_new("x", 0, NULL, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_new("", 0, &g, NULL), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_new(NULL, 13, &g, NULL), HODU_OK);
    hodu_graph_free(g);
    hodu_graph_free(NULL);
    assert_string_equal(hodu_graph_error(NULL), "");
}

/* Values are small integers, distinct, in the order made. */
static void test_handles(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", "B", 4);
    float w[4 * 3] = {0};
    hodu_value p;
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){4, 3}, w, sizeof w, &p), HODU_OK);
    assert_true(x >= 0 && p >= 0 && p != x);
    hodu_value y;
    assert_int_equal(hodu_graph_matmul(g, x, p, &y), HODU_OK);
    assert_true(y > p);
    assert_string_equal(hodu_graph_error(g), "");
}

/* A handle out of range, negative or past the end, is refused by name. */
static void test_bad_handle(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y = 12345;
    assert_int_equal(hodu_graph_add(g, x, 77, &y), HODU_ERR_INVALID_ARG);
    assert_int_equal(y, HODU_NO_VALUE);
    assert_error_has(g, "hodu_graph_add: Add: input 1 is 77, not a value of graph 't'");
    assert_int_equal(hodu_graph_relu(g, -5, &y), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_output(g, 99, "y"), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "hodu_graph_output");
}

/* NULL graph, NULL out pointers and NULL arrays are errors. */
static void test_nulls(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    assert_int_equal(hodu_graph_relu(NULL, x, &y), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_relu(g, x, NULL), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "outputs is NULL");
    assert_int_equal(hodu_graph_op(g, "Add", NULL, NULL, 2, NULL, 0, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "inputs is NULL");
    assert_int_equal(hodu_graph_op(g, NULL, NULL, &x, 1, NULL, 0, &y, 1), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_input(g, NULL, HODU_DTYPE_F32, 0, NULL, &y), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_input(g, "z", HODU_DTYPE_F32, 2, NULL, &y), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "dims is NULL");
    assert_int_equal(hodu_graph_param(g, "p", HODU_DTYPE_F32, 1, (int64_t[]){2}, NULL, 8, &y), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "data is NULL");
    assert_int_equal(hodu_graph_max_pool2d(g, x, NULL, NULL, NULL, &y), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_compile(g, NULL), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_load(g, NULL, NULL), HODU_ERR_INVALID_ARG);
}

/* Wrong operand and result counts name the op and its arity. */
static void test_wrong_counts(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y[2];
    hodu_value three[3] = {x, x, x};
    assert_int_equal(hodu_graph_op(g, "Add", NULL, three, 3, NULL, 0, y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "has 3 inputs; Add takes 2 to 2");
    assert_int_equal(hodu_graph_op(g, "Relu", NULL, &x, 1, NULL, 0, y, 2), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "has 2 outputs; Relu produces 1 to 1");
    assert_int_equal(hodu_graph_concat(g, three, 0, 0, y), HODU_ERR_INVALID_ARG);
}

/* An op name that is none at the graph's opset. */
static void test_unknown_op(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    assert_int_equal(hodu_graph_op(g, "Frobnicate", NULL, &x, 1, NULL, 0, &y, 1), HODU_ERR_UNSUPPORTED);
    assert_error_has(g, "Frobnicate: no such op at opset");
    assert_int_equal(hodu_graph_op(g, "Relu", "com.example", &x, 1, NULL, 0, &y, 1), HODU_ERR_UNSUPPORTED);
    assert_error_has(g, "com.example.Relu");
    /* Gelu came in opset 20 */
    hodu_graph *old;
    assert_int_equal(hodu_graph_new("old", 13, &old, NULL), HODU_OK);
    hodu_value a = input_2d(old, "a", NULL, 3);
    assert_int_equal(hodu_graph_op(old, "Gelu", NULL, &a, 1, NULL, 0, &y, 1), HODU_ERR_UNSUPPORTED);
    assert_error_has(old, "Gelu: no such op at opset 13");
    hodu_graph_free(old);
}

/* Unknown attributes, wrong kinds, repeats and NULL arrays. */
static void test_bad_attrs(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    hodu_attr bogus = hodu_attr_int("bogus", 1);
    assert_int_equal(hodu_graph_op(g, "Softmax", NULL, &x, 1, &bogus, 1, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "node 'Softmax' (Softmax): unsupported attribute 'bogus'");
    hodu_attr wrong = hodu_attr_float("axis", 1.0);
    assert_int_equal(hodu_graph_op(g, "Softmax", NULL, &x, 1, &wrong, 1, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "axis");
    hodu_attr twice[2] = {hodu_attr_int("axis", 1), hodu_attr_int("axis", 0)};
    assert_int_equal(hodu_graph_op(g, "Softmax", NULL, &x, 1, twice, 2, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "'axis' is given twice");
    hodu_attr null_ints = hodu_attr_ints("perm", NULL, 2);
    assert_int_equal(hodu_graph_op(g, "Transpose", NULL, &x, 1, &null_ints, 1, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "NULL where its data goes");
    hodu_attr nameless = hodu_attr_int(NULL, 0);
    assert_int_equal(hodu_graph_op(g, "Softmax", NULL, &x, 1, &nameless, 1, &y, 1), HODU_ERR_INVALID_ARG);
    hodu_attr odd = {.name = "axis", .kind = (hodu_attr_kind)42};
    assert_int_equal(hodu_graph_op(g, "Softmax", NULL, &x, 1, &odd, 1, &y, 1), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "kind 42");
}

/* Every attribute kind goes in: int, float, string, ints, floats. */
static void test_attr_kinds(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    hodu_attr a[2] = {hodu_attr_float("alpha", 0.5), hodu_attr_float("beta", 0.25)};
    assert_int_equal(hodu_graph_op(g, "HardSigmoid", NULL, &x, 1, a, 2, &y, 1), HODU_OK);
    int64_t perm[2] = {1, 0};
    hodu_attr p = hodu_attr_ints("perm", perm, 2);
    assert_int_equal(hodu_graph_op(g, "Transpose", "ai.onnx", &x, 1, &p, 1, &y, 1), HODU_OK);
    hodu_attr s = hodu_attr_string("approximate", "tanh");
    assert_int_equal(hodu_graph_op(g, "Gelu", NULL, &x, 1, &s, 1, &y, 1), HODU_OK);
    double scales[2] = {1.0, 2.0};
    hodu_attr f = hodu_attr_floats("scales", scales, 2);
    hodu_attr m = hodu_attr_string("mode", "nearest");
    hodu_attr both[2] = {f, m};
    /* Upsample's scales were an attribute up to opset 8 */
    hodu_graph *old;
    assert_int_equal(hodu_graph_new("old", 8, &old, NULL), HODU_OK);
    hodu_value ox = input_2d(old, "x", NULL, 3);
    assert_int_equal(hodu_graph_op(old, "Upsample", NULL, &ox, 1, both, 2, &y, 1), HODU_OK);
    hodu_graph_free(old);
}

/* Names are unique; outputs may rename, and repeat under a new name. */
static void test_names(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y, z;
    assert_int_equal(hodu_graph_input(g, "x", HODU_DTYPE_F32, 0, NULL, &z), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "the name 'x' is taken");
    assert_int_equal(hodu_graph_relu(g, x, &y), HODU_OK);
    assert_int_equal(hodu_graph_output(g, y, "out"), HODU_OK);
    assert_int_equal(hodu_graph_output(g, y, "out"), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_output(g, y, "again"), HODU_OK);
    assert_int_equal(hodu_graph_output(g, x, NULL), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "name the output");
    assert_int_equal(hodu_graph_output(g, x, "x_copy"), HODU_OK);
    /* a name an op's result took is taken too */
    assert_int_equal(hodu_graph_input(g, "Relu", HODU_DTYPE_F32, 0, NULL, &z), HODU_ERR_INVALID_ARG);
}

/* Inputs and parameters with bad dtypes, ranks, dims and sizes. */
static void test_bad_tensors(void **state)
{
    hodu_graph *g = *state;
    hodu_value v;
    hodu_dim neg = {.size = -2};
    assert_int_equal(hodu_graph_input(g, "a", (hodu_dtype)14, 0, NULL, &v), HODU_ERR_DTYPE);
    assert_int_equal(hodu_graph_input(g, "a", HODU_DTYPE_F32, 9, &neg, &v), HODU_ERR_SHAPE);
    assert_int_equal(hodu_graph_input(g, "a", HODU_DTYPE_F32, 1, &neg, &v), HODU_ERR_SHAPE);
    hodu_dim empty = {.name = ""};
    assert_int_equal(hodu_graph_input(g, "a", HODU_DTYPE_F32, 1, &empty, &v), HODU_ERR_SHAPE);
    float w[6] = {0};
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){2, 3}, w, 20, &v), HODU_ERR_SHAPE);
    assert_error_has(g, "20 bytes of data; its dtype and shape take 24");
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_STRING, 1, (int64_t[]){1}, w, 16, &v), HODU_ERR_DTYPE);
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){INT64_MAX, 4}, w, 24, &v), HODU_ERR_SHAPE);
    /* other dtypes go in */
    int64_t shape[2] = {3, 2};
    assert_int_equal(hodu_graph_param(g, "i", HODU_DTYPE_I64, 1, (int64_t[]){2}, shape, sizeof shape, &v), HODU_OK);
    uint8_t flags[3] = {1, 0, 1};
    assert_int_equal(hodu_graph_param(g, "b", HODU_DTYPE_BOOL, 1, (int64_t[]){3}, flags, 3, &v), HODU_OK);
}

/* A failed call leaves the graph as it was: a helper's own constant goes
 * too, and the names it took are free again. */
static void test_rollback(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y, before, after;
    assert_int_equal(hodu_graph_relu(g, x, &before), HODU_OK);
    assert_int_equal(hodu_graph_reshape(g, 500, 1, (int64_t[]){6}, &y), HODU_ERR_INVALID_ARG);
    hodu_attr bogus = hodu_attr_int("bogus", 1);
    assert_int_equal(hodu_graph_op(g, "Relu", NULL, &x, 1, &bogus, 1, &y, 1), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_graph_relu(g, x, &after), HODU_OK);
    assert_int_equal(after, before + 1);
}

/* A graph without outputs, and shape errors, fail at compile time with
 * the node named; the graph can be fixed and compiled again. */
static void test_compile_errors(void **state)
{
    hodu_graph *g = *state;
    hodu_build_options o;
    hodu_build_options_init(&o);
    hodu_model *m = NULL;
    hodu_value a = input_2d(g, "a", NULL, 4), y;
    assert_int_equal(hodu_graph_load(g, &o, &m), HODU_ERR_INVALID_ARG);
    assert_error_has(g, "has no outputs");
    float w[5 * 3] = {0};
    hodu_value p;
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){5, 3}, w, sizeof w, &p), HODU_OK);
    assert_int_equal(hodu_graph_matmul(g, a, p, &y), HODU_OK);
    assert_int_equal(hodu_graph_output(g, y, "y"), HODU_OK);
    assert_int_equal(hodu_graph_load(g, &o, &m), HODU_ERR_INVALID_ARG);
    assert_null(m);
    assert_error_has(g, "node 'MatMul' (MatMul)");
    /* an unbound symbol names the input */
    hodu_graph *s;
    assert_int_equal(hodu_graph_new("s", 0, &s, NULL), HODU_OK);
    hodu_value b = input_2d(s, "b", "B", 4);
    assert_int_equal(hodu_graph_relu(s, b, &y), HODU_OK);
    assert_int_equal(hodu_graph_output(s, y, "y"), HODU_OK);
    assert_int_equal(hodu_graph_load(s, &o, &m), HODU_ERR_INVALID_ARG);
    assert_error_has(s, "'b'");
    hodu_graph_free(s);
}

/* y = relu(x @ w + b) and y2 = x (an input as an output), compiled and run
 * at two batch sizes of one run-time dim; checked against the loops here. */
static void test_compile_and_run(void **state)
{
    hodu_graph *g = *state;
    enum { K = 4, N = 3 };
    float w[K * N], b[N];
    for (int i = 0; i < K * N; i++)
        w[i] = (float)((i * 7) % 5) / 4.0f - 0.5f;
    for (int i = 0; i < N; i++)
        b[i] = 0.1f * (float)i;
    hodu_value x = input_2d(g, "x", "B", K), pw, pb, h, hb, y;
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 2, (int64_t[]){K, N}, w, sizeof w, &pw), HODU_OK);
    assert_int_equal(hodu_graph_param(g, "b", HODU_DTYPE_F32, 1, (int64_t[]){N}, b, sizeof b, &pb), HODU_OK);
    assert_int_equal(hodu_graph_matmul(g, x, pw, &h), HODU_OK);
    assert_int_equal(hodu_graph_add(g, h, pb, &hb), HODU_OK);
    assert_int_equal(hodu_graph_relu(g, hb, &y), HODU_OK);
    assert_int_equal(hodu_graph_output(g, y, "y"), HODU_OK);
    assert_int_equal(hodu_graph_output(g, x, "x_again"), HODU_OK);
    hodu_build_options o;
    hodu_build_options_init(&o);
    const char *dims[] = {"B=1..8"};
    o.dims = dims;
    o.n_dims = 1;
    o.march = "generic";
    hodu_model *m = NULL;
    if (hodu_graph_load(g, &o, &m) != HODU_OK)
        fail_msg("%s", hodu_graph_error(g));
    assert_int_equal(hodu_model_num_inputs(m), 1);
    assert_int_equal(hodu_model_num_outputs(m), 2);
    assert_string_equal(hodu_model_output(m, 0)->name, "y");
    hodu_instance *inst;
    assert_int_equal(hodu_instance_create(m, &inst, NULL), HODU_OK);
    for (int64_t batch = 2; batch <= 5; batch += 3) {
        float xs[8 * K], ys[8 * N], xa[8 * K];
        for (int i = 0; i < batch * K; i++)
            xs[i] = (float)((i * 3) % 7) / 3.0f - 1.0f;
        hodu_tensor in = {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {batch, K}, .data = xs, .nbytes = sizeof xs};
        hodu_tensor out[2] = {
            {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {batch, N}, .data = ys, .nbytes = sizeof ys},
            {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {batch, K}, .data = xa, .nbytes = sizeof xa},
        };
        hodu_error err;
        if (hodu_instance_run(inst, &in, 1, out, 2, &err) != HODU_OK)
            fail_msg("%s", err.message);
        assert_int_equal(out[0].dims[0], batch);
        for (int r = 0; r < batch; r++)
            for (int c = 0; c < N; c++) {
                float acc = b[c];
                for (int k = 0; k < K; k++)
                    acc += xs[r * K + k] * w[k * N + c];
                assert_float_equal(ys[r * N + c], acc > 0 ? acc : 0, 1e-5);
            }
        assert_memory_equal(xa, xs, (size_t)batch * K * sizeof(float));
    }
    hodu_instance_destroy(inst);
    hodu_model_close(m);
    /* the graph stays usable: it compiles again, to a file this time */
    char dir[] = "/tmp/hodu-builder-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/y.so", dir);
    o.output_path = path;
    if (hodu_graph_compile(g, &o) != HODU_OK)
        fail_msg("%s", hodu_graph_error(g));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    unlink(path);
    rmdir(dir);
}

/* The typed helpers make the ops they say, and the graph compiles. */
static void test_helpers_compile(void **state)
{
    hodu_graph *g = *state;
    hodu_dim xd[4] = {{.size = 1}, {.size = 2}, {.size = 6}, {.size = 6}};
    hodu_value x, w, c, r, mp, ap, cat, t, rs, sm, mean, sum, sg, th, ln, gm, dv, sb, ml;
    assert_int_equal(hodu_graph_input(g, "x", HODU_DTYPE_F32, 4, xd, &x), HODU_OK);
    float wd[3 * 2 * 3 * 3];
    for (size_t i = 0; i < sizeof wd / sizeof wd[0]; i++)
        wd[i] = 0.01f * (float)i;
    assert_int_equal(hodu_graph_param(g, "w", HODU_DTYPE_F32, 4, (int64_t[]){3, 2, 3, 3}, wd, sizeof wd, &w), HODU_OK);
    int64_t pads[4] = {1, 1, 1, 1}, k2[2] = {2, 2};
    assert_int_equal(hodu_graph_conv2d(g, x, w, HODU_NO_VALUE, NULL, pads, NULL, 1, &c), HODU_OK);
    assert_int_equal(hodu_graph_relu(g, c, &r), HODU_OK);
    assert_int_equal(hodu_graph_max_pool2d(g, r, k2, k2, NULL, &mp), HODU_OK);
    assert_int_equal(hodu_graph_avg_pool2d(g, r, k2, k2, NULL, &ap), HODU_OK);
    hodu_value both[2] = {mp, ap};
    assert_int_equal(hodu_graph_concat(g, both, 2, 1, &cat), HODU_OK);
    assert_int_equal(hodu_graph_transpose(g, cat, 4, (int64_t[]){0, 2, 3, 1}, &t), HODU_OK);
    assert_int_equal(hodu_graph_reshape(g, t, 2, (int64_t[]){9, -1}, &rs), HODU_OK);
    assert_int_equal(hodu_graph_softmax(g, rs, -1, &sm), HODU_OK);
    assert_int_equal(hodu_graph_reduce_mean(g, sm, 1, (int64_t[]){1}, true, &mean), HODU_OK);
    assert_int_equal(hodu_graph_reduce_sum(g, rs, 0, NULL, false, &sum), HODU_OK);
    assert_int_equal(hodu_graph_sigmoid(g, rs, &sg), HODU_OK);
    assert_int_equal(hodu_graph_tanh(g, sg, &th), HODU_OK);
    float ones[6] = {1, 1, 1, 1, 1, 1};
    hodu_value sc;
    assert_int_equal(hodu_graph_param(g, "scale", HODU_DTYPE_F32, 1, (int64_t[]){6}, ones, sizeof ones, &sc), HODU_OK);
    assert_int_equal(hodu_graph_layer_norm(g, th, sc, sc, -1, 1e-5, &ln), HODU_OK);
    assert_int_equal(hodu_graph_gemm(g, ln, ln, HODU_NO_VALUE, 1.0, 0.0, false, true, &gm), HODU_OK);
    assert_int_equal(hodu_graph_div(g, gm, mean, &dv), HODU_OK);
    assert_int_equal(hodu_graph_sub(g, dv, sum, &sb), HODU_OK);
    assert_int_equal(hodu_graph_mul(g, sb, sb, &ml), HODU_OK);
    assert_int_equal(hodu_graph_output(g, ml, "out"), HODU_OK);
    hodu_build_options o;
    hodu_build_options_init(&o);
    o.march = "generic";
    hodu_model *m = NULL;
    if (hodu_graph_load(g, &o, &m) != HODU_OK)
        fail_msg("%s", hodu_graph_error(g));
    const hodu_tensor_desc *out = hodu_model_output(m, 0);
    assert_int_equal(out->rank, 2);
    assert_int_equal(out->dims[0], 9);
    assert_int_equal(out->dims[1], 9);
    hodu_model_close(m);
}

/* The build options apply as they do to a model file: with gradients
 * (--grad) the library gains "y.grad" in and "x.grad" out, and the
 * gradient of sum(y.grad * tanh(x)) is y.grad * (1 - tanh(x)^2). */
static void test_gradients(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    assert_int_equal(hodu_graph_tanh(g, x, &y), HODU_OK);
    assert_int_equal(hodu_graph_output(g, y, "y"), HODU_OK);
    hodu_build_options o;
    hodu_build_options_init(&o);
    o.gradients = true;
    o.march = "generic";
    hodu_model *m = NULL;
    if (hodu_graph_load(g, &o, &m) != HODU_OK)
        fail_msg("%s", hodu_graph_error(g));
    assert_int_equal(hodu_model_num_inputs(m), 2);
    assert_int_equal(hodu_model_num_outputs(m), 2);
    assert_string_equal(hodu_model_input(m, 1)->name, "y.grad");
    assert_string_equal(hodu_model_output(m, 1)->name, "x.grad");
    float xs[6] = {-1.5f, -0.5f, 0, 0.25f, 1, 2}, dy[6] = {1, 2, 3, -1, 0.5f, 1}, ys[6], dx[6];
    hodu_tensor in[2] = {{.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {2, 3}, .data = xs, .nbytes = sizeof xs},
                         {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {2, 3}, .data = dy, .nbytes = sizeof dy}};
    hodu_tensor out[2] = {{.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {2, 3}, .data = ys, .nbytes = sizeof ys},
                          {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {2, 3}, .data = dx, .nbytes = sizeof dx}};
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    if (hodu_instance_run(inst, in, 2, out, 2, &err) != HODU_OK)
        fail_msg("%s", err.message);
    for (int i = 0; i < 6; i++) {
        double t = tanh((double)xs[i]);
        assert_float_equal(ys[i], t, 1e-5);
        assert_float_equal(dx[i], dy[i] * (1 - t * t), 1e-5);
    }
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Messages reach the caller's callback as well as hodu_graph_error. */
static int n_lines;
static void count_line(void *user, const char *line)
{
    (void)user;
    (void)line;
    n_lines++;
}

static void test_message_callback(void **state)
{
    hodu_graph *g = *state;
    hodu_value x = input_2d(g, "x", NULL, 3), y;
    hodu_value xs[2] = {x, x};
    assert_int_equal(hodu_graph_concat(g, xs, 2, 7, &y), HODU_OK); /* axis 7 of rank 2 */
    assert_int_equal(hodu_graph_output(g, y, "y"), HODU_OK);
    hodu_build_options o;
    hodu_build_options_init(&o);
    o.message = count_line;
    hodu_model *m = NULL;
    n_lines = 0;
    assert_int_not_equal(hodu_graph_load(g, &o, &m), HODU_OK);
    assert_true(n_lines > 0);
    assert_error_has(g, "node 'Concat' (Concat)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test_setup_teardown(test_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attr_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tensors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_and_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helpers_compile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gradients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
