/*
 * test_runtime.c - libhodu_rt against hand-written "compiled" models.
 *
 * The group setup writes small model sources that implement hodu_abi.h by
 * hand, compiles them with `cc -shared -fPIC` into a temporary directory, and
 * the tests open them through the runtime.  One source, built with different
 * -DVARIANT values, gives the good model and the broken ones (wrong ABI
 * version, short descriptor, bad tensor descriptors, ...).
 *
 * test_profiling_compiled builds a real model with the compiler instead.
 *
 * The good model, "affine": inputs x: float32[2,3] and scale: float32[],
 * outputs y = x * scale: float32[2,3] and sum = sum(y): float64[].  It needs a
 * 256-byte workspace: it stages y there, and stamps the workspace's first
 * and last bytes, so a test can see which memory it used.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hodu.h"
#include "hodu_rt.h"

#ifndef HODU_SOURCE_DIR
#error "HODU_SOURCE_DIR must name the repository root"
#endif

static char tmp_dir[256];
static bool have_models;

/* --- model sources ------------------------------------------------------- */

enum {
    V_GOOD = 0,
    V_ABI = 1,          /* abi_version is HODU_ABI_VERSION + 1 */
    V_DESC_SIZE = 2,    /* desc_size smaller than the runtime's struct */
    V_NULL_DESC = 3,    /* entry returns NULL */
    V_RANK9 = 4,        /* input of rank 9 */
    V_NEG_DIM = 5,      /* input with a negative dim */
    V_STRING = 6,       /* input of dtype complex64, which no model can use */
    V_NULL_RUN = 7,     /* no run function */
    V_NULL_NAME = 8,    /* input without a name */
    V_NO_WORKSPACE = 9, /* workspace_bytes == 0 */
    V_CHECKS = 10,      /* names two node checks; a negative scale fails the second */
    V_BAD_CHECKS = 11,  /* claims two node checks and names none */
    V_BAD_STEPS = 12,   /* claims three steps and names none */
    V_BAD_VALUES = 13,  /* a sequence input of 5 tensors from input 1 of 2 */
    V_BAD_KIND = 14,    /* a sequence or optional output of kind 7 */
    V_COUNT_
};

static const char *const variant_names[V_COUNT_] = {
    "good",      "abi",   "desc_size", "null_desc",  "rank9",     "neg_dim",    "string",   "null_run",
    "null_name", "no_ws", "checks",    "bad_checks", "bad_steps", "bad_values", "bad_kind",
};

static const char model_source[] =
    "#include <stdint.h>\n"
    "#include \"hodu_abi.h\"\n"
    "static const int64_t x_dims[2] = {2, 3};\n"
    "static const int64_t rank9_dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};\n"
    "static const int64_t neg_dims[2] = {2, -3};\n"
    "/* One task per element of y; each counts itself in its worker's region. */\n"
    "struct job {\n"
    "    const float *x;\n"
    "    float scale;\n"
    "    float *stage;\n"
    "    unsigned char *workers;\n"
    "};\n"
    "static void scale_task(void *ctx, uint32_t t, uint32_t w)\n"
    "{\n"
    "    struct job *j = ctx;\n"
    "    j->stage[t] = j->x[t] * j->scale;\n"
    "    if (j->workers)\n"
    "        j->workers[w * 64]++;\n"
    "}\n"
    "static int run_affine(void *workspace, const void *const *inputs, const int64_t *input_dims,\n"
    "                      void *const *outputs, int64_t *output_dims, const hodu_exec *exec)\n"
    "{\n"
    "    if (input_dims != 0 && (input_dims[0] != 2 || input_dims[1] != 3))\n"
    "        return 9;\n"
    "    if (output_dims != 0) {\n"
    "        output_dims[0] = 2;\n"
    "        output_dims[1] = 3;\n"
    "    }\n"
    "#if VARIANT == 10\n"
    "    if (*(const float *)inputs[1] < 0)\n"
    "        return HODU_RUN_INPUT_VALUES + 1;\n"
    "#endif\n"
    "    struct job j = {inputs[0], *(const float *)inputs[1], 0, 0};\n"
    "    float *y = outputs[0];\n"
    "#if VARIANT == 9\n"
    "    float stage[6];\n"
    "    (void)workspace;\n"
    "#else\n"
    "    if ((uintptr_t)workspace % HODU_ABI_ALIGN != 0)\n"
    "        return 7;\n"
    "    unsigned char *ws = workspace;\n"
    "    float *stage = (float *)(ws + 64);\n"
    "    ws[0] = 0xA5;\n"
    "    ws[255] = 0x5A;\n"
    "    j.workers = ws + 256;\n"
    "    uint32_t n_workers = exec && exec->parallel_for ? exec->n_workers : 1;\n"
    "    for (uint32_t w = 0; w < n_workers; w++)\n"
    "        j.workers[w * 64] = 0;\n"
    "#endif\n"
    "    j.stage = stage;\n"
    "    if (exec && exec->profile_step)\n"
    "        exec->profile_step(exec->profile_ctx, 0);\n"
    "    if (exec && exec->parallel_for && exec->n_workers > 1)\n"
    "        exec->parallel_for(exec->pool, 6, scale_task, &j);\n"
    "    else\n"
    "        for (uint32_t t = 0; t < 6; t++)\n"
    "            scale_task(&j, t, 0);\n"
    "    if (exec && exec->profile_step)\n"
    "        exec->profile_step(exec->profile_ctx, 1);\n"
    "    double total = 0;\n"
    "    for (int i = 0; i < 6; i++) {\n"
    "        y[i] = stage[i];\n"
    "        total += stage[i];\n"
    "    }\n"
    "    *(double *)outputs[1] = total;\n"
    "    if (exec && exec->profile_step)\n"
    "        exec->profile_step(exec->profile_ctx, 2);\n"
    "    return 0;\n"
    "}\n"
    "static const hodu_tensor_desc inputs[2] = {\n"
    "    {\"x\", HODU_DTYPE_F32, VARIANT == 4 ? 9 : 2,\n"
    "     VARIANT == 4 ? rank9_dims : VARIANT == 5 ? neg_dims : x_dims},\n"
    "    {VARIANT == 8 ? (const char *)0 : \"scale\", VARIANT == 6 ? (hodu_dtype)14 : HODU_DTYPE_F32, 0,\n"
    "     (const int64_t *)0},\n"
    "};\n"
    "static const hodu_tensor_desc outputs[2] = {\n"
    "    {\"y\", HODU_DTYPE_F32, 2, x_dims},\n"
    "    {\"sum\", HODU_DTYPE_F64, 0, (const int64_t *)0},\n"
    "};\n"
    "static const char *const check_names[2] = {\"node 'a' (Reshape)\", \"node 'b' (TopK)\"};\n"
    "static const hodu_step_desc steps[2] = {{\"scale\", \"Mul\", 6}, {\"total\", \"ReduceSum\", 6}};\n"
    "static const hodu_value_desc values[1] = {{\"xs\", VARIANT == 14 ? 7 : HODU_VALUE_SEQUENCE, 1, 1,\n"
    "                                           VARIANT == 14 ? 1 : 5}};\n"
    "static const hodu_model_desc desc = {\n"
    "    VARIANT == 1 ? HODU_ABI_VERSION + 1 : HODU_ABI_VERSION,\n"
    "    VARIANT == 2 ? 16 : (uint32_t)sizeof(hodu_model_desc),\n"
    "    \"affine\", \"hodu test\", 2, 2, inputs, outputs,\n"
    "    VARIANT == 9 ? 0 : 256,\n"
    "    VARIANT == 9 ? 0 : 64,\n"
    "    VARIANT == 7 ? (hodu_run_fn)0 : run_affine,\n"
    "    VARIANT == 10 || VARIANT == 11 ? 2 : 0,\n"
    "    VARIANT == 10 ? check_names : (const char *const *)0,\n"
    "    VARIANT == 12 ? 3 : 2,\n"
    "    VARIANT == 12 ? (const hodu_step_desc *)0 : steps,\n"
    "    (const int32_t *)0, (const void *const *)0,\n"
    "    VARIANT == 13 ? 1 : 0, VARIANT == 14 ? 1 : 0,\n"
    "    VARIANT == 13 ? values : (const hodu_value_desc *)0,\n"
    "    VARIANT == 14 ? values : (const hodu_value_desc *)0,\n"
    "};\n"
    "const hodu_model_desc *hodu_model_get_desc(void)\n"
    "{\n"
    "    return VARIANT == 3 ? (const hodu_model_desc *)0 : &desc;\n"
    "}\n";

/* Model "positive": y = the elements of x (float32[6]) that are > 0, in
 * order, so y's size depends on the data: float32[0..6].  VARIANT 1
 * reports one element more than its buffer holds; VARIANT 2 declares an
 * input of variable size, which this runtime does not take yet. */
static const char positive_source[] =
    "#include <stdint.h>\n"
    "#include \"hodu_abi.h\"\n"
    "static const int64_t six[1] = {6};\n"
    "static const int64_t zero[1] = {0};\n"
    "static int run_positive(void *ws, const void *const *in, const int64_t *in_dims,\n"
    "                        void *const *out, int64_t *out_dims, const hodu_exec *exec)\n"
    "{\n"
    "    (void)ws;\n    (void)exec;\n    (void)in_dims;\n"
    "    const float *x = in[0];\n"
    "    float *y = out[0];\n"
    "    int64_t n = 0;\n"
    "    for (int i = 0; i < 6; i++)\n"
    "        if (x[i] > 0)\n"
    "            y[n++] = x[i];\n"
    "    if (out_dims)\n"
    "        out_dims[0] = VARIANT == 1 ? 7 : n;\n"
    "    return 0;\n"
    "}\n"
    "static const hodu_tensor_desc ins[1] = {{\"x\", HODU_DTYPE_F32, 1, six, VARIANT == 2 ? zero : 0}};\n"
    "static const hodu_tensor_desc outs[1] = {{\"y\", HODU_DTYPE_F32, 1, six, zero}};\n"
    "static const hodu_model_desc desc = {HODU_ABI_VERSION, sizeof(hodu_model_desc), \"positive\",\n"
    "    \"hodu test\", 1, 1, ins, outs, 0, 0, run_positive};\n"
    "const hodu_model_desc *hodu_model_get_desc(void) { return &desc; }\n";

/* A shared library that is not a model: no hodu_model_get_desc. */
static const char not_a_model_source[] = "int not_a_model(void) { return 42; }\n";

/* Model "wide": 20 inputs in0..in19 (float32[1]) and 17 outputs out0..out16
 * (float32[1]), out[j] = sum(in) + j: more tensors than the runtime keeps
 * on its stack. */
/* libhodu_rt's thread limit (HODURT_MAX_THREADS in src/runtime/rt_impl.h). */
#define HODURT_TEST_MAX_THREADS 1024

#define WIDE_IN  20
#define WIDE_OUT 17

/* --- helpers -------------------------------------------------------------- */

static void model_path(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s.so", tmp_dir, name); }

static void expect_message(const hodu_error *err, const char *needle)
{
    if (strstr(err->message, needle) == NULL) {
        print_error("error message \"%s\" does not contain \"%s\"\n", err->message, needle);
        fail();
    }
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static bool compile_model(const char *src, const char *out, int variant)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -std=c11 -I'%s/include' -DVARIANT=%d -o '%s' '%s'", HODU_SOURCE_DIR,
             variant, out, src);
    return system(cmd) == 0;
}

static bool write_wide_source(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    fprintf(f, "#include <stdint.h>\n#include \"hodu_abi.h\"\n");
    fprintf(f, "static const int64_t one[1] = {1};\n");
    fprintf(f, "static int run_wide(void *ws, const void *const *in, const int64_t *in_dims,\n"
               "                    void *const *out, int64_t *out_dims, const hodu_exec *exec)\n{\n");
    fprintf(f, "    (void)ws;\n    (void)exec;\n    (void)in_dims;\n    float s = 0;\n");
    fprintf(f, "    for (int j = 0; out_dims && j < %d; j++)\n        out_dims[j] = 1;\n", WIDE_OUT);
    fprintf(f, "    for (int i = 0; i < %d; i++)\n        s += *(const float *)in[i];\n", WIDE_IN);
    fprintf(f, "    for (int j = 0; j < %d; j++)\n        *(float *)out[j] = s + (float)j;\n", WIDE_OUT);
    fprintf(f, "    return 0;\n}\n");
    fprintf(f, "static const hodu_tensor_desc ins[%d] = {\n", WIDE_IN);
    for (int i = 0; i < WIDE_IN; i++)
        fprintf(f, "    {\"in%d\", HODU_DTYPE_F32, 1, one},\n", i);
    fprintf(f, "};\nstatic const hodu_tensor_desc outs[%d] = {\n", WIDE_OUT);
    for (int j = 0; j < WIDE_OUT; j++)
        fprintf(f, "    {\"out%d\", HODU_DTYPE_F32, 1, one},\n", j);
    fprintf(f, "};\nstatic const hodu_model_desc desc = {HODU_ABI_VERSION, sizeof(hodu_model_desc), \"wide\",\n");
    fprintf(f, "    \"hodu test\", %d, %d, ins, outs, 0, 0, run_wide};\n", WIDE_IN, WIDE_OUT);
    fprintf(f, "const hodu_model_desc *hodu_model_get_desc(void) { return &desc; }\n");
    return fclose(f) == 0;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int group_setup(void **state)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/hodu_rt_XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(tmp_dir) == NULL)
        return -1;
    char src[512], out[512];
    have_models = false;
    snprintf(src, sizeof src, "%s/affine.c", tmp_dir);
    if (!write_text(src, model_source))
        return -1;
    for (int v = 0; v < V_COUNT_; v++) {
        model_path(out, sizeof out, variant_names[v]);
        if (!compile_model(src, out, v)) {
            fprintf(stderr, "cannot compile the test models with cc\n");
            return -1;
        }
    }
    snprintf(src, sizeof src, "%s/not_a_model.c", tmp_dir);
    model_path(out, sizeof out, "not_a_model");
    if (!write_text(src, not_a_model_source) || !compile_model(src, out, 0))
        return -1;
    snprintf(src, sizeof src, "%s/wide.c", tmp_dir);
    model_path(out, sizeof out, "wide");
    if (!write_wide_source(src) || !compile_model(src, out, 0))
        return -1;
    snprintf(src, sizeof src, "%s/positive.c", tmp_dir);
    if (!write_text(src, positive_source))
        return -1;
    for (int v = 0; v < 3; v++) {
        char name[32];
        snprintf(name, sizeof name, "positive%d", v);
        model_path(out, sizeof out, name);
        if (!compile_model(src, out, v))
            return -1;
    }
    snprintf(out, sizeof out, "%s/text.so", tmp_dir);
    if (!write_text(out, "this is not an ELF file\n"))
        return -1;
    have_models = true;
    return 0;
}

static int group_teardown(void **state)
{
    remove_tree(tmp_dir);
    return 0;
}

static hodu_model *open_variant(int variant)
{
    char path[512];
    model_path(path, sizeof path, variant_names[variant]);
    hodu_model *m = NULL;
    hodu_error err;
    hodu_status st = hodu_model_open(path, &m, &err);
    if (st != HODU_OK)
        print_error("cannot open %s: %s\n", path, err.message);
    assert_int_equal(st, HODU_OK);
    assert_int_equal(err.code, HODU_OK);
    assert_non_null(m);
    return m;
}

/* Opens a broken variant, expects `want`, and returns the error. */
static hodu_error open_expect(const char *path, hodu_status want)
{
    hodu_model *m = (hodu_model *)(uintptr_t)1; /* must be reset to NULL */
    hodu_error err;
    hodu_status st = hodu_model_open(path, &m, &err);
    if (st != want)
        print_error("opening %s gave %s (%s)\n", path, hodu_status_string(st), err.message);
    assert_int_equal(st, want);
    assert_int_equal(err.code, want);
    assert_null(m);
    expect_message(&err, path);
    return err;
}

/* Caller-owned tensors for the affine model, filled with known values. */
typedef struct affine_io {
    float x[6];
    float scale;
    float y[6];
    double sum;
    hodu_tensor in[2];
    hodu_tensor out[2];
} affine_io;

static void affine_io_init(affine_io *io)
{
    memset(io, 0, sizeof *io);
    for (int i = 0; i < 6; i++) {
        io->x[i] = (float)(i + 1);
        io->y[i] = -1.0f;
    }
    io->scale = 2.0f;
    io->sum = -1.0;
    io->in[0] = (hodu_tensor){HODU_DTYPE_F32, 2, {2, 3}, io->x, sizeof io->x};
    io->in[1] = (hodu_tensor){HODU_DTYPE_F32, 0, {0}, &io->scale, sizeof io->scale};
    io->out[0] = (hodu_tensor){HODU_DTYPE_F32, 2, {2, 3}, io->y, sizeof io->y};
    io->out[1] = (hodu_tensor){HODU_DTYPE_F64, 0, {0}, &io->sum, sizeof io->sum};
}

static void affine_io_check(const affine_io *io)
{
    for (int i = 0; i < 6; i++)
        assert_true(io->y[i] == 2.0f * (float)(i + 1));
    assert_true(io->sum == 42.0);
}

/* The model's code was not entered: the outputs keep their sentinels. */
static void affine_io_untouched(const affine_io *io)
{
    for (int i = 0; i < 6; i++)
        assert_true(io->y[i] == -1.0f);
    assert_true(io->sum == -1.0);
}

#define REQUIRE_MODELS()                                                                                               \
    do {                                                                                                               \
        if (!have_models)                                                                                              \
            skip();                                                                                                    \
    } while (0)

/* --- opening and listing ---------------------------------------------------- */

/* Property: a good model opens, and its inputs and outputs are listed with
 * the names, dtypes, ranks and dims of its descriptor; find_input finds by
 * name and gives -1 otherwise; out-of-range indexes give NULL. */
static void test_open_and_list(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    const hodu_model_desc *d = hodu_model_desc_of(m);
    assert_non_null(d);
    assert_string_equal(d->model_name, "affine");
    assert_string_equal(d->producer, "hodu test");
    assert_int_equal(d->workspace_bytes, 256);
    assert_int_equal(hodu_model_num_inputs(m), 2);
    assert_int_equal(hodu_model_num_outputs(m), 2);

    const hodu_tensor_desc *x = hodu_model_input(m, 0);
    assert_non_null(x);
    assert_string_equal(x->name, "x");
    assert_int_equal(x->dtype, HODU_DTYPE_F32);
    assert_int_equal(x->rank, 2);
    assert_int_equal(x->dims[0], 2);
    assert_int_equal(x->dims[1], 3);
    const hodu_tensor_desc *scale = hodu_model_input(m, 1);
    assert_string_equal(scale->name, "scale");
    assert_int_equal(scale->rank, 0);
    assert_null(hodu_model_input(m, 2));

    assert_string_equal(hodu_model_output(m, 0)->name, "y");
    const hodu_tensor_desc *sum = hodu_model_output(m, 1);
    assert_string_equal(sum->name, "sum");
    assert_int_equal(sum->dtype, HODU_DTYPE_F64);
    assert_null(hodu_model_output(m, 2));
    assert_null(hodu_model_output(m, (size_t)-1));

    assert_int_equal(hodu_model_find_input(m, "x"), 0);
    assert_int_equal(hodu_model_find_input(m, "scale"), 1);
    assert_int_equal(hodu_model_find_input(m, "y"), -1);
    assert_int_equal(hodu_model_find_input(m, ""), -1);
    assert_int_equal(hodu_model_find_input(m, NULL), -1);
    hodu_model_close(m);
}

/* Property: a model path without a slash names a file in the current
 * directory (not a search through the library path). */
static void test_open_relative_name(void **state)
{
    REQUIRE_MODELS();
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmp_dir), 0);
    hodu_model *m = NULL;
    hodu_error err;
    hodu_status st = hodu_model_open("good.so", &m, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(st, HODU_OK);
    assert_int_equal(hodu_model_num_inputs(m), 2);
    hodu_model_close(m);
}

/* Property: a model built for another ABI version is HODU_ERR_ABI and the
 * message gives both versions; a descriptor smaller than this runtime's is
 * HODU_ERR_ABI too. */
static void test_abi_mismatch(void **state)
{
    REQUIRE_MODELS();
    char path[512], want[64];
    model_path(path, sizeof path, variant_names[V_ABI]);
    hodu_error err = open_expect(path, HODU_ERR_ABI);
    snprintf(want, sizeof want, "version %u", HODU_ABI_VERSION + 1);
    expect_message(&err, want);
    snprintf(want, sizeof want, "version %u", HODU_ABI_VERSION);
    expect_message(&err, want);

    model_path(path, sizeof path, variant_names[V_DESC_SIZE]);
    err = open_expect(path, HODU_ERR_ABI);
    expect_message(&err, "16 bytes");
}

/* Property: malformed descriptors are HODU_ERR_FORMAT naming the cause:
 * NULL descriptor, rank 9, negative dim, string dtype, no run function,
 * unnamed input, node checks without names, a sequence input reaching
 * past the inputs, a sequence or optional output of no known kind. */
static void test_bad_descriptors(void **state)
{
    REQUIRE_MODELS();
    static const struct {
        int variant;
        const char *needle;
    } cases[] = {
        {V_NULL_DESC, "returned NULL"},
        {V_RANK9, "rank 9"},
        {V_NEG_DIM, "negative dim -3"},
        {V_STRING, "string"},
        {V_NULL_RUN, "no run"},
        {V_NULL_NAME, "input 1 has no name"},
        {V_BAD_CHECKS, "2 node checks it does not name"},
        {V_BAD_STEPS, "3 steps it does not name"},
        {V_BAD_VALUES, "sequence or optional input 0 is malformed"},
        {V_BAD_KIND, "sequence or optional output 0 is malformed"},
    };
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_path(path, sizeof path, variant_names[cases[i].variant]);
        hodu_error err = open_expect(path, HODU_ERR_FORMAT);
        expect_message(&err, cases[i].needle);
    }
}

/* Property: a shared library without hodu_model_get_desc is HODU_ERR_FORMAT
 * naming the symbol; a file that is not a shared library is HODU_ERR_FORMAT
 * with the loader's reason; a missing path or a directory is HODU_ERR_IO;
 * NULL arguments are HODU_ERR_INVALID_ARG. */
static void test_open_failures(void **state)
{
    REQUIRE_MODELS();
    char path[512];
    model_path(path, sizeof path, "not_a_model");
    hodu_error err = open_expect(path, HODU_ERR_FORMAT);
    expect_message(&err, HODU_MODEL_ENTRY);

    model_path(path, sizeof path, "text");
    open_expect(path, HODU_ERR_FORMAT);

    model_path(path, sizeof path, "no_such_model");
    err = open_expect(path, HODU_ERR_IO);
    expect_message(&err, "No such file");

    open_expect(tmp_dir, HODU_ERR_IO);

    hodu_model *m = NULL;
    assert_int_equal(hodu_model_open(NULL, &m, &err), HODU_ERR_INVALID_ARG);
    assert_null(m);
    assert_int_equal(hodu_model_open("", &m, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_model_open(path, NULL, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_model_open(path, &m, NULL), HODU_ERR_IO); /* err may be NULL */
}

/* --- running ---------------------------------------------------------------- */

/* Property: create, run and destroy give y = x * scale and sum(y); a second
 * run on the same instance gives the same results; the instance's own
 * workspace is aligned (the model checks and would return 7). */
static void test_create_run_destroy(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_instance *inst = NULL;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    assert_non_null(inst);
    for (int round = 0; round < 2; round++) {
        affine_io io;
        affine_io_init(&io);
        hodu_status st = hodu_instance_run(inst, io.in, 2, io.out, 2, &err);
        if (st != HODU_OK)
            print_error("run: %s\n", err.message);
        assert_int_equal(st, HODU_OK);
        assert_int_equal(err.code, HODU_OK);
        assert_string_equal(err.message, "");
        affine_io_check(&io);
    }
    /* err may be NULL on success too. */
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, NULL), HODU_OK);
    affine_io_check(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a run the model refuses for its input's values is
 * HODU_ERR_INVALID_ARG naming the node that refused them (the
 * descriptor's checks); the same instance then runs good values. */
static void test_refused_values_name_node(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_CHECKS);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    affine_io io;
    affine_io_init(&io);
    io.scale = -1.0f;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "model 'affine': node 'b' (TopK): the values of an input");
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a wrong number of inputs or outputs is HODU_ERR_COUNT with a
 * message giving both counts, and the model is not entered. */
static void test_wrong_count(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 1, io.out, 2, &err), HODU_ERR_COUNT);
    assert_int_equal(err.code, HODU_ERR_COUNT);
    expect_message(&err, "takes 2 inputs but 1 was given");
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 3, &err), HODU_ERR_COUNT);
    expect_message(&err, "produces 2 outputs but 3 were given");
    assert_int_equal(hodu_instance_run(inst, NULL, 0, io.out, 2, &err), HODU_ERR_COUNT);
    assert_int_equal(hodu_instance_run(inst, NULL, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, NULL, 2, &err), HODU_ERR_INVALID_ARG);
    affine_io_untouched(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: an input or output of the wrong dtype is HODU_ERR_DTYPE with
 * the message "input 'x': dtype float64 but the model expects float32", and
 * the model is not entered. */
static void test_wrong_dtype(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    affine_io io;
    affine_io_init(&io);
    double x64[6] = {0};
    io.in[0].dtype = HODU_DTYPE_F64;
    io.in[0].data = x64;
    io.in[0].nbytes = sizeof x64;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_DTYPE);
    assert_string_equal(err.message, "input 'x': dtype float64 but the model expects float32");

    affine_io_init(&io);
    io.out[1].dtype = HODU_DTYPE_F32;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_DTYPE);
    assert_string_equal(err.message, "output 'sum': dtype float32 but the model expects float64");

    affine_io_init(&io);
    io.in[1].dtype = (hodu_dtype)77;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_DTYPE);
    expect_message(&err, "dtype undefined");
    affine_io_untouched(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a wrong shape (other dims, other rank, rank out of range) is
 * HODU_ERR_SHAPE with both shapes in the message, and the model is not
 * entered. */
static void test_wrong_shape(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    affine_io io;

    affine_io_init(&io);
    io.in[0].dims[1] = 2; /* [2,2]: fewer bytes than the buffer holds */
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_SHAPE);
    assert_int_equal(err.code, HODU_ERR_SHAPE);
    assert_string_equal(err.message, "input 'x': shape [2,2] but the model expects [2,3]");

    affine_io_init(&io);
    io.in[0].rank = 1;
    io.in[0].dims[0] = 6;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_SHAPE);
    assert_string_equal(err.message, "input 'x': shape [6] but the model expects [2,3]");

    affine_io_init(&io);
    io.in[1].rank = 1;
    io.in[1].dims[0] = 1;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_SHAPE);
    assert_string_equal(err.message, "input 'scale': shape [1] but the model expects []");

    affine_io_init(&io);
    io.out[0].rank = HODU_MAX_RANK + 1;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_SHAPE);
    expect_message(&err, "output 'y'");

    affine_io_init(&io);
    io.out[0].rank = -1;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_SHAPE);
    affine_io_untouched(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a buffer smaller than the shape needs, NULL data, or data not
 * aligned to its element size is HODU_ERR_INVALID_ARG naming the tensor,
 * and the model is not entered. */
static void test_bad_buffers(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    affine_io io;

    affine_io_init(&io);
    io.in[0].nbytes = 20;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    assert_string_equal(err.message, "input 'x': buffer holds 20 bytes but float32[2,3] needs 24");

    affine_io_init(&io);
    io.out[1].nbytes = 4;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "output 'sum'");

    affine_io_init(&io);
    io.in[1].data = NULL;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "input 'scale': data is NULL");

    affine_io_init(&io);
    _Alignas(8) unsigned char raw[32];
    io.in[0].data = raw + 1;
    io.in[0].nbytes = sizeof raw - 1;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "not aligned");
    affine_io_untouched(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a caller-provided workspace is used (the model stamps it), must
 * be aligned to HODU_ABI_ALIGN and large enough for the shared part and one
 * worker's region (HODU_ERR_INVALID_ARG otherwise, with no instance made);
 * NULL is refused when bytes are needed. */
static void test_caller_workspace(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    _Alignas(64) static unsigned char arena[512];
    memset(arena, 0, sizeof arena);
    hodu_instance *inst = (hodu_instance *)(uintptr_t)1;
    hodu_error err;

    assert_int_equal(hodu_model_workspace_bytes(m, 1), 320);
    assert_int_equal(hodu_instance_create_in(m, arena + 8, 320, &inst, &err), HODU_ERR_INVALID_ARG);
    assert_null(inst);
    expect_message(&err, "aligned");
    assert_int_equal(hodu_instance_create_in(m, arena, 319, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "320");
    assert_int_equal(hodu_instance_create_in(m, NULL, 320, &inst, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_instance_create_in(NULL, arena, 320, &inst, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_instance_create_in(m, arena, 320, NULL, &err), HODU_ERR_INVALID_ARG);

    assert_int_equal(hodu_instance_create_in(m, arena + 64, 320, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_num_threads(inst), 1);
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    assert_int_equal(arena[64], 0xA5);
    assert_int_equal(arena[64 + 255], 0x5A);
    assert_int_equal(arena[64 + 256], 6); /* worker 0 ran all six tasks */
    assert_int_equal(arena[0], 0);
    assert_int_equal(arena[64 + 320], 0);
    hodu_instance_destroy(inst); /* must not free the caller's arena */
    hodu_model_close(m);
}

/* The entry point of a variant's library, as a program that links the
 * model statically would have it. */
static hodu_model_get_desc_fn variant_entry(int variant, void **lib)
{
    char path[512];
    model_path(path, sizeof path, variant_names[variant]);
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(*lib);
    void *sym = dlsym(*lib, HODU_MODEL_ENTRY);
    assert_non_null(sym);
    hodu_model_get_desc_fn get_desc;
    memcpy(&get_desc, &sym, sizeof get_desc);
    return get_desc;
}

/* Property: hodu_model_from_desc checks a linked-in descriptor as
 * hodu_model_open does (a NULL one is HODU_ERR_FORMAT); an instance in a
 * caller's arena of hodu_model_arena_bytes bytes (the record, then the
 * workspace) runs with correct results and the workspace at the arena's
 * end; a misaligned, short or NULL-with-size arena is HODU_ERR_INVALID_ARG;
 * destroying the instance frees nothing (ASan would say). */
static void test_from_desc_arena(void **state)
{
    REQUIRE_MODELS();
    void *bad_lib;
    hodu_model_get_desc_fn bad = variant_entry(V_NULL_DESC, &bad_lib);
    hodu_model *m = (hodu_model *)(uintptr_t)1;
    hodu_error err;
    assert_int_equal(hodu_model_from_desc(bad, &m, &err), HODU_ERR_FORMAT);
    assert_null(m);
    expect_message(&err, "returned NULL");
    assert_int_equal(hodu_model_from_desc(NULL, &m, &err), HODU_ERR_INVALID_ARG);
    dlclose(bad_lib);

    void *lib;
    assert_int_equal(hodu_model_from_desc(variant_entry(V_GOOD, &lib), &m, &err), HODU_OK);
    assert_int_equal(hodu_model_num_inputs(m), 2);
    const size_t bytes = hodu_model_arena_bytes(m);
    assert_true(bytes >= 320 + 64 && bytes % 64 == 0);
    assert_int_equal(hodu_model_arena_bytes(NULL), 0);
    _Alignas(64) static unsigned char arena[4096];
    assert_true(bytes <= sizeof arena - 64);
    memset(arena, 0, sizeof arena);
    hodu_instance *inst = NULL;
    hodu_instance_options o = {.n_threads = 1, .arena = arena + 8, .arena_bytes = bytes};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "aligned");
    o = (hodu_instance_options){.arena = arena, .arena_bytes = bytes - 1};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "arena has");
    o = (hodu_instance_options){.arena_bytes = bytes};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    assert_null(inst);

    o = (hodu_instance_options){.arena = arena, .arena_bytes = bytes};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_OK);
    assert_true((unsigned char *)inst == arena);
    for (int round = 0; round < 2; round++) {
        affine_io io;
        affine_io_init(&io);
        assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
        affine_io_check(&io);
    }
    assert_int_equal(arena[bytes - 320], 0xA5); /* the workspace ends the arena */
    assert_int_equal(arena[bytes - 320 + 255], 0x5A);
    assert_int_equal(arena[bytes], 0);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
    dlclose(lib);
}

/* Sum of the per-task counts the affine model leaves in each worker's
 * region of a workspace, checking no worker past n_workers ran. */
static int worker_task_total(const unsigned char *ws, uint32_t n_workers, uint32_t region_workers)
{
    int total = 0;
    for (uint32_t w = 0; w < region_workers; w++) {
        if (w >= n_workers)
            assert_int_equal(ws[256 + w * 64], 0);
        total += ws[256 + w * 64];
    }
    return total;
}

/* Property: with n_threads = 3 the instance owns a pool, the model's tasks
 * all run exactly once on workers below 3, each into its own region of a
 * workspace sized by hodu_model_workspace_bytes, and repeated runs give the
 * serial results. */
static void test_thread_pool(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    assert_int_equal(hodu_model_workspace_bytes(m, 3), 448);
    assert_int_equal(hodu_model_workspace_bytes(NULL, 3), 0);
    _Alignas(64) static unsigned char arena[1024];
    memset(arena, 0, sizeof arena);
    hodu_error err;
    hodu_instance *inst;
    hodu_instance_options o = {.n_threads = 3, .workspace = arena, .workspace_bytes = 447};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "448");
    o.workspace_bytes = 448;
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_num_threads(inst), 3);
    for (int k = 0; k < 100; k++) {
        affine_io io;
        affine_io_init(&io);
        assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
        affine_io_check(&io);
        assert_int_equal(worker_task_total(arena, 3, 4), 6);
    }
    hodu_instance_destroy(inst);

    o = (hodu_instance_options){.n_threads = HODURT_TEST_MAX_THREADS + 1};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "at most");
    hodu_model_close(m);
}

/* A host's parallel-for: runs the tasks backwards, alternating workers. */
static int host_calls;
static void host_parallel_for(void *pool, uint32_t n_tasks, hodu_task_fn fn, void *ctx)
{
    assert_ptr_equal(pool, &host_calls);
    host_calls++;
    for (uint32_t t = n_tasks; t-- > 0;)
        fn(ctx, t, t % 2);
}

/* Property: a host's own exec is used as given (no threads created), with
 * its worker count sizing the workspace; an exec without parallel_for or
 * with 0 workers is refused. */
static void test_host_exec(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    _Alignas(64) static unsigned char arena[512];
    memset(arena, 0, sizeof arena);
    hodu_exec ex = {.n_workers = 2, .pool = &host_calls, .parallel_for = host_parallel_for};
    hodu_instance_options o = {.exec = &ex, .workspace = arena, .workspace_bytes = 384};
    hodu_error err;
    hodu_instance *inst;
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_num_threads(inst), 2);
    host_calls = 0;
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    assert_int_equal(host_calls, 1);
    assert_int_equal(arena[256], 3);
    assert_int_equal(arena[320], 3);
    hodu_instance_destroy(inst);

    ex.n_workers = 0;
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    ex = (hodu_exec){.n_workers = 2};
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "parallel_for");
    hodu_model_close(m);
}

/* Property: HODU_NUM_THREADS sets the thread count of a default instance;
 * a value that is not a count from 1 to the limit is an error naming it. */
static void test_num_threads_env(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_GOOD);
    hodu_error err;
    hodu_instance *inst;
    setenv("HODU_NUM_THREADS", "2", 1);
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_num_threads(inst), 2);
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    hodu_instance_destroy(inst);
    const char *bad[] = {"abc", "0", "-2", "2x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("HODU_NUM_THREADS", bad[i], 1);
        assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_ERR_INVALID_ARG);
        expect_message(&err, "HODU_NUM_THREADS");
    }
    unsetenv("HODU_NUM_THREADS");
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_num_threads(inst), 1);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: a model with no workspace runs from create and from create_in
 * with a NULL workspace. */
static void test_zero_workspace(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_NO_WORKSPACE);
    assert_int_equal(hodu_model_desc_of(m)->workspace_bytes, 0);
    hodu_instance *a, *b;
    hodu_error err;
    assert_int_equal(hodu_instance_create(m, &a, &err), HODU_OK);
    assert_int_equal(hodu_instance_create_in(m, NULL, 0, &b, &err), HODU_OK);
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(a, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(b, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    hodu_instance_destroy(a);
    hodu_instance_destroy(b);
    hodu_model_close(m);
}

/* Property: a model with more inputs and outputs than the runtime keeps on
 * its stack (20 in, 17 out) runs and passes every tensor in order. */
static void test_many_tensors(void **state)
{
    REQUIRE_MODELS();
    char path[512];
    model_path(path, sizeof path, "wide");
    hodu_model *m;
    hodu_error err;
    assert_int_equal(hodu_model_open(path, &m, &err), HODU_OK);
    assert_int_equal(hodu_model_find_input(m, "in19"), 19);
    float in_vals[WIDE_IN], out_vals[WIDE_OUT];
    hodu_tensor ins[WIDE_IN], outs[WIDE_OUT];
    float expect = 0;
    for (int i = 0; i < WIDE_IN; i++) {
        in_vals[i] = (float)(i * i);
        expect += in_vals[i];
        ins[i] = (hodu_tensor){HODU_DTYPE_F32, 1, {1}, &in_vals[i], sizeof(float)};
    }
    for (int j = 0; j < WIDE_OUT; j++)
        outs[j] = (hodu_tensor){HODU_DTYPE_F32, 1, {1}, &out_vals[j], sizeof(float)};
    hodu_instance *inst;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_run(inst, ins, WIDE_IN, outs, WIDE_OUT, &err), HODU_OK);
    for (int j = 0; j < WIDE_OUT; j++)
        assert_true(out_vals[j] == expect + (float)j);
    ins[18].dims[0] = 2;
    assert_int_equal(hodu_instance_run(inst, ins, WIDE_IN, outs, WIDE_OUT, &err), HODU_ERR_SHAPE);
    expect_message(&err, "input 'in18'");
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

/* Property: one model file opened twice gives two independent handles:
 * closing one leaves the other's instances working. */
static void test_open_twice(void **state)
{
    REQUIRE_MODELS();
    hodu_model *a = open_variant(V_GOOD);
    hodu_model *b = open_variant(V_GOOD);
    hodu_instance *inst;
    hodu_error err;
    assert_int_equal(hodu_instance_create(b, &inst, &err), HODU_OK);
    hodu_model_close(a);
    affine_io io;
    affine_io_init(&io);
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    affine_io_check(&io);
    hodu_instance_destroy(inst);
    hodu_model_close(b);
}

typedef struct thread_job {
    hodu_instance *inst;
    int failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    for (int k = 0; k < 200; k++) {
        affine_io io;
        affine_io_init(&io);
        io.scale = (float)k;
        hodu_error err;
        if (hodu_instance_run(job->inst, io.in, 2, io.out, 2, &err) != HODU_OK)
            job->failures++;
        for (int i = 0; i < 6; i++)
            if (io.y[i] != (float)(i + 1) * (float)k)
                job->failures++;
    }
    return NULL;
}

/* Property: instances of one model run at the same time in different
 * threads without disturbing each other's results, also when each has a
 * pool of its own (odd instances run on 2 threads). */
static void test_concurrent_instances(void **state)
{
    REQUIRE_MODELS();
    enum { N = 4 };
    hodu_model *m = open_variant(V_GOOD);
    thread_job jobs[N];
    pthread_t threads[N];
    hodu_error err;
    for (int t = 0; t < N; t++) {
        jobs[t].failures = 0;
        hodu_instance_options o = {.n_threads = 1 + (uint32_t)(t % 2)};
        assert_int_equal(hodu_instance_create_with(m, &o, &jobs[t].inst, &err), HODU_OK);
    }
    for (int t = 0; t < N; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
    for (int t = 0; t < N; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
        hodu_instance_destroy(jobs[t].inst);
    }
    hodu_model_close(m);
}

/* --- no models needed ----------------------------------------------------- */

/* Property: destroy, close and free accept NULL; the queries accept a NULL
 * model; run and create refuse NULL with HODU_ERR_INVALID_ARG. */
static void test_null_safety(void **state)
{
    hodu_instance_destroy(NULL);
    hodu_model_close(NULL);
    hodu_tensor_free(NULL);
    assert_null(hodu_model_desc_of(NULL));
    assert_int_equal(hodu_model_num_inputs(NULL), 0);
    assert_int_equal(hodu_model_num_outputs(NULL), 0);
    assert_null(hodu_model_input(NULL, 0));
    assert_null(hodu_model_output(NULL, 0));
    assert_int_equal(hodu_model_find_input(NULL, "x"), -1);
    hodu_error err;
    hodu_instance *inst = (hodu_instance *)(uintptr_t)1;
    assert_int_equal(hodu_instance_create(NULL, &inst, &err), HODU_ERR_INVALID_ARG);
    assert_null(inst);
    assert_int_equal(hodu_instance_create(NULL, NULL, NULL), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_instance_run(NULL, NULL, 0, NULL, 0, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(err.code, HODU_ERR_INVALID_ARG);
    assert_true(err.message[0] != '\0');
}

/* Property: every status has a distinct readable name, unknown ones too;
 * dtype names are numpy's and sizes match; out-of-enum dtypes are
 * "undefined" with size 0. */
static void test_names_and_sizes(void **state)
{
    for (int a = HODU_OK; a <= HODU_ERR_UNSUPPORTED; a++) {
        assert_non_null(hodu_status_string((hodu_status)a));
        for (int b = a + 1; b <= HODU_ERR_UNSUPPORTED; b++)
            assert_string_not_equal(hodu_status_string((hodu_status)a), hodu_status_string((hodu_status)b));
    }
    assert_string_equal(hodu_status_string(HODU_ERR_SHAPE), "shape mismatch");
    assert_non_null(hodu_status_string((hodu_status)1234));

    static const struct {
        hodu_dtype dt;
        const char *name;
        size_t size;
    } table[] = {
        {HODU_DTYPE_F32, "float32", 4},   {HODU_DTYPE_U8, "uint8", 1},       {HODU_DTYPE_I8, "int8", 1},
        {HODU_DTYPE_U16, "uint16", 2},    {HODU_DTYPE_I16, "int16", 2},      {HODU_DTYPE_I32, "int32", 4},
        {HODU_DTYPE_I64, "int64", 8},     {HODU_DTYPE_STRING, "string", 16}, {HODU_DTYPE_BOOL, "bool", 1},
        {HODU_DTYPE_F16, "float16", 2},   {HODU_DTYPE_F64, "float64", 8},    {HODU_DTYPE_U32, "uint32", 4},
        {HODU_DTYPE_U64, "uint64", 8},    {HODU_DTYPE_BF16, "bfloat16", 2},  {HODU_DTYPE_UNDEFINED, "undefined", 0},
        {(hodu_dtype)14, "undefined", 0}, {(hodu_dtype)-3, "undefined", 0},  {HODU_DTYPE_COUNT_, "undefined", 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(hodu_dtype_name(table[i].dt), table[i].name);
        assert_int_equal(hodu_dtype_size(table[i].dt), table[i].size);
    }
}

/* Property: hodu_shape_numel multiplies dims, is 1 for rank 0, 0 with a zero
 * dim (even beside a huge one), and -1 for a bad rank, NULL dims, a negative
 * dim or a product that overflows int64. */
/* An output whose size depends on data: the descriptor gives its range,
 * the caller's buffer is sized for the largest shape and its dims are not
 * read, each run sets dims to the actual size (the same tensor serves runs
 * of different sizes), and a model reporting dims past its descriptor is
 * refused rather than believed. */
static void test_output_dims_reported(void **state)
{
    (void)state;
    char path[512];
    model_path(path, sizeof path, "positive0");
    hodu_model *m = NULL;
    hodu_error err;
    assert_int_equal(hodu_model_open(path, &m, &err), HODU_OK);
    const hodu_tensor_desc *y = hodu_model_output(m, 0);
    assert_non_null(y->min_dims);
    assert_int_equal(y->min_dims[0], 0);
    assert_int_equal(y->dims[0], 6);
    hodu_instance *inst = NULL;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);

    float x[6] = {1, -2, 3, 0, 5, -6}, yb[6] = {0};
    hodu_tensor in = {.dtype = HODU_DTYPE_F32, .rank = 1, .dims = {6}, .data = x, .nbytes = sizeof x};
    /* dims deliberately wrong: only dtype, rank and capacity count */
    hodu_tensor out = {.dtype = HODU_DTYPE_F32, .rank = 1, .dims = {99}, .data = yb, .nbytes = sizeof yb};
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_OK);
    assert_int_equal(out.dims[0], 3);
    assert_true(yb[0] == 1 && yb[1] == 3 && yb[2] == 5);
    assert_int_equal(out.nbytes, sizeof yb);

    for (int i = 0; i < 6; i++)
        x[i] = -1;
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_OK);
    assert_int_equal(out.dims[0], 0);
    for (int i = 0; i < 6; i++)
        x[i] = (float)(i + 1);
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_OK);
    assert_int_equal(out.dims[0], 6);

    /* still too small a buffer for the largest shape, or the wrong rank */
    out.nbytes = 5 * sizeof(float);
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_ERR_INVALID_ARG);
    out.nbytes = sizeof yb;
    out.rank = 2;
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_ERR_SHAPE);
    hodu_instance_destroy(inst);
    hodu_model_close(m);

    model_path(path, sizeof path, "positive1");
    assert_int_equal(hodu_model_open(path, &m, &err), HODU_OK);
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    out.rank = 1;
    out.dims[0] = 6;
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_ERR_FORMAT);
    expect_message(&err, "outside its descriptor");
    assert_int_equal(out.dims[0], 6); /* left as it was */
    hodu_instance_destroy(inst);
    hodu_model_close(m);

    /* an input whose dim the caller chooses in 0..6: a size in range runs,
     * one past it is refused with the range */
    model_path(path, sizeof path, "positive2");
    assert_int_equal(hodu_model_open(path, &m, &err), HODU_OK);
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    out.dims[0] = 6;
    in.dims[0] = 4;
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_OK);
    in.dims[0] = 7;
    assert_int_equal(hodu_instance_run(inst, &in, 1, &out, 1, &err), HODU_ERR_SHAPE);
    expect_message(&err, "dim 0 is 7 but the model takes 0..6");
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

static void test_shape_numel(void **state)
{
    static const int64_t d3[3] = {2, 3, 4};
    static const int64_t zero_huge[2] = {0, INT64_MAX};
    static const int64_t huge[2] = {INT64_MAX, 2};
    static const int64_t neg[2] = {3, -1};
    assert_int_equal(hodu_shape_numel(0, NULL), 1);
    assert_int_equal(hodu_shape_numel(3, d3), 24);
    assert_int_equal(hodu_shape_numel(2, zero_huge), 0);
    assert_int_equal(hodu_shape_numel(2, huge), -1);
    assert_int_equal(hodu_shape_numel(2, neg), -1);
    assert_int_equal(hodu_shape_numel(2, NULL), -1);
    assert_int_equal(hodu_shape_numel(-1, d3), -1);
    assert_int_equal(hodu_shape_numel(HODU_MAX_RANK + 1, d3), -1);
}

/* A host's own profile hook: counts the steps it hears of. */
static uint32_t host_steps_seen;
static void host_profile_step(void *ctx, uint32_t step)
{
    assert_ptr_equal(ctx, &host_steps_seen);
    assert_true(step <= 2);
    host_steps_seen++;
}

/* Property: with profiling on, every run counts once per step and adds
 * time; the entries carry the descriptor's names; off gives NULL and puts
 * a host's own hook back; on again starts from zero; a refused run leaves
 * no step open. */
static void test_profiling(void **state)
{
    REQUIRE_MODELS();
    hodu_model *m = open_variant(V_CHECKS);
    hodu_exec ex = {.n_workers = 2,
                    .pool = &host_calls,
                    .parallel_for = host_parallel_for,
                    .profile_ctx = &host_steps_seen,
                    .profile_step = host_profile_step};
    hodu_instance_options o = {.exec = &ex};
    hodu_error err;
    hodu_instance *inst;
    assert_int_equal(hodu_instance_create_with(m, &o, &inst, &err), HODU_OK);
    size_t n = 99;
    assert_null(hodu_instance_profile(inst, &n));
    assert_int_equal(n, 0);

    affine_io io;
    affine_io_init(&io);
    host_steps_seen = 0;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    assert_int_equal(host_steps_seen, 3);

    assert_int_equal(hodu_instance_set_profiling(inst, 1, &err), HODU_OK);
    for (int r = 0; r < 5; r++)
        assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    io.scale = -1.0f; /* refused by node check 1, before any step */
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(host_steps_seen, 3); /* the instance listened, not the host */
    const hodu_profile_entry *e = hodu_instance_profile(inst, &n);
    assert_non_null(e);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].node, "scale");
    assert_string_equal(e[0].op, "Mul");
    assert_string_equal(e[1].node, "total");
    assert_string_equal(e[1].op, "ReduceSum");
    assert_int_equal(e[0].flops, 6);
    assert_int_equal(e[0].runs, 5);
    assert_int_equal(e[1].runs, 5);
    assert_true(e[0].total_ns + e[1].total_ns > 0);

    assert_int_equal(hodu_instance_set_profiling(inst, 1, &err), HODU_OK);
    e = hodu_instance_profile(inst, &n);
    assert_int_equal(e[0].runs + e[1].runs, 0);
    assert_int_equal(e[0].total_ns + e[1].total_ns, 0);

    assert_int_equal(hodu_instance_set_profiling(inst, 0, &err), HODU_OK);
    assert_null(hodu_instance_profile(inst, NULL));
    io.scale = 2.0f;
    assert_int_equal(hodu_instance_run(inst, io.in, 2, io.out, 2, &err), HODU_OK);
    assert_int_equal(host_steps_seen, 6);
    hodu_instance_destroy(inst);
    assert_int_equal(hodu_instance_set_profiling(NULL, 1, &err), HODU_ERR_INVALID_ARG);
    assert_null(hodu_instance_profile(NULL, &n));
    hodu_model_close(m);
}

/* Property: a model hodu compiles reports its steps in run order, named
 * by node and op (a fused node by its members), and timing them in a run
 * counts each once. */
static void test_profiling_compiled(void **state)
{
    REQUIRE_MODELS();
    char out[512];
    model_path(out, sizeof out, "digits");
    hodu_build_options bo;
    hodu_build_options_init(&bo);
    bo.input_path = HODU_SOURCE_DIR "/examples/digits/digits.onnx";
    bo.output_path = out;
    assert_int_equal(hodu_build(&bo), 0);
    hodu_model *m = NULL;
    hodu_error err;
    assert_int_equal(hodu_model_open(out, &m, &err), HODU_OK);
    const hodu_model_desc *d = hodu_model_desc_of(m);
    assert_true(d->n_steps >= 4);
    hodu_instance *inst;
    assert_int_equal(hodu_instance_create(m, &inst, &err), HODU_OK);
    assert_int_equal(hodu_instance_set_profiling(inst, 1, &err), HODU_OK);
    hodu_tensor ins[1], outs[2];
    const hodu_tensor_desc *td = hodu_model_input(m, 0);
    assert_int_equal(hodu_tensor_alloc(&ins[0], (hodu_dtype)td->dtype, td->rank, td->dims, &err), HODU_OK);
    for (size_t i = 0; i < 2; i++) {
        td = hodu_model_output(m, i);
        assert_int_equal(hodu_tensor_alloc(&outs[i], (hodu_dtype)td->dtype, td->rank, td->dims, &err), HODU_OK);
    }
    for (int r = 0; r < 3; r++)
        assert_int_equal(hodu_instance_run(inst, ins, 1, outs, 2, &err), HODU_OK);
    size_t n = 0;
    const hodu_profile_entry *e = hodu_instance_profile(inst, &n);
    assert_int_equal(n, d->n_steps);
    bool conv_relu = false, gemm = false;
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(e[k].runs, 3);
        assert_string_equal(e[k].op, d->steps[k].op);
        assert_int_equal(e[k].flops, d->steps[k].flops);
        /* 8 images, 3x3 kernels: far more than one operation per output */
        if (strcmp(e[k].op, "Conv+Relu") == 0 || strcmp(e[k].op, "hodu.ConvBlocked+Relu") == 0) {
            conv_relu = true;
            assert_true(e[k].flops > 9 * 8);
        }
        gemm |= strcmp(e[k].op, "Gemm") == 0 && strstr(e[k].node, "Gemm") != NULL;
        total += e[k].total_ns;
    }
    assert_true(conv_relu);
    assert_true(gemm);
    assert_true(total > 0);
    hodu_tensor_free(&ins[0]);
    hodu_tensor_free(&outs[0]);
    hodu_tensor_free(&outs[1]);
    hodu_instance_destroy(inst);
    hodu_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_list),
        cmocka_unit_test(test_open_relative_name),
        cmocka_unit_test(test_abi_mismatch),
        cmocka_unit_test(test_bad_descriptors),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_create_run_destroy),
        cmocka_unit_test(test_wrong_count),
        cmocka_unit_test(test_wrong_dtype),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_bad_buffers),
        cmocka_unit_test(test_caller_workspace),
        cmocka_unit_test(test_from_desc_arena),
        cmocka_unit_test(test_thread_pool),
        cmocka_unit_test(test_host_exec),
        cmocka_unit_test(test_num_threads_env),
        cmocka_unit_test(test_zero_workspace),
        cmocka_unit_test(test_many_tensors),
        cmocka_unit_test(test_open_twice),
        cmocka_unit_test(test_concurrent_instances),
        cmocka_unit_test(test_null_safety),
        cmocka_unit_test(test_names_and_sizes),
        cmocka_unit_test(test_shape_numel),
        cmocka_unit_test(test_output_dims_reported),
        cmocka_unit_test(test_refused_values_name_node),
        cmocka_unit_test(test_profiling),
        cmocka_unit_test(test_profiling_compiled),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
