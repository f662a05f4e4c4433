/*
 * models.c - whole models made with the graph-building API (hodu.h),
 * compiled in-process to loaded models and run on seeded random inputs.
 * Every parameter, input and output goes to DIR as NAME.npy; check.py
 * computes the same models with PyTorch from those files and compares.
 *
 *     builder_models DIR
 *
 * mlp       x[B,8] -> Gemm 16 -> Relu -> MatMul 4 + b -> Sigmoid, B a
 *           run-time dim (1..16), run at batches 3 and 7
 * cnn       x[2,3,8,8] -> Conv 4x3x3 pad 1 -> Relu -> MaxPool 2 -> Conv
 *           6x3x3 stride 2 -> AveragePool 2 -> Reshape [2,6] -> Softmax
 * block     x[2,5,8] -> LayerNorm -> q,k,v projections -> softmax(q k^T /
 *           sqrt(8)) v -> + x -> LayerNorm -> Tanh MLP -> + residual, and
 *           ReduceMean over the sequence
 * train     the mlp compiled with --train --loss mse (sgd): one step at
 *           lr 0.1 through hodu_trainer; the loss and the new parameters
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hodu.h"
#include "hodu_rt.h"

static const char *dir;
static uint64_t seed = 12345;

static float uniform(void) /* in [-1, 1) */
{
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return (float)((seed >> 40) & 0xffffff) / (float)0x800000 - 1.0f;
}

static void die_graph(const hodu_graph *g, const char *what)
{
    fprintf(stderr, "builder_models: %s: %s\n", what, hodu_graph_error(g));
    exit(1);
}

static void die_rt(const hodu_error *err, const char *what)
{
    fprintf(stderr, "builder_models: %s: %s\n", what, err->message);
    exit(1);
}

#define CHECK(g, call)                                                                                                 \
    do {                                                                                                               \
        if ((call) != HODU_OK)                                                                                         \
            die_graph(g, #call);                                                                                       \
    } while (0)

static void save(const char *name, int32_t rank, const int64_t *dims, float *data)
{
    hodu_tensor t = {.dtype = HODU_DTYPE_F32, .rank = rank, .data = data};
    if (rank)
        memcpy(t.dims, dims, (size_t)rank * sizeof(int64_t));
    t.nbytes = (size_t)hodu_shape_numel(rank, dims) * sizeof(float);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    hodu_error err;
    if (hodu_npy_write(path, &t, &err) != HODU_OK)
        die_rt(&err, path);
}

/* A parameter of seeded values scaled by `scale`, saved as PREFIX.NAME. */
static hodu_value param(hodu_graph *g, const char *prefix, const char *name, int32_t rank, const int64_t *dims,
                        float scale)
{
    int64_t n = hodu_shape_numel(rank, dims);
    float *data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        data[i] = scale * uniform();
    hodu_value v;
    CHECK(g, hodu_graph_param(g, name, HODU_DTYPE_F32, rank, dims, data, (size_t)n * sizeof(float), &v));
    char file[256];
    snprintf(file, sizeof file, "%s.%s", prefix, name);
    save(file, rank, dims, data);
    free(data); /* the graph has its own copy */
    return v;
}

static hodu_model *load(hodu_graph *g, const char *const *dims, size_t n_dims, const char *loss)
{
    hodu_build_options o;
    hodu_build_options_init(&o);
    o.dims = dims;
    o.n_dims = n_dims;
    o.train_loss = loss;
    hodu_model *m;
    if (hodu_graph_load(g, &o, &m) != HODU_OK)
        die_graph(g, "hodu_graph_load");
    return m;
}

/* Runs m on one input of `rank` dims (random, saved as PREFIX.x) and saves
 * its outputs as PREFIX.<output name>. */
static void run(hodu_model *m, const char *prefix, int32_t rank, const int64_t *dims)
{
    hodu_error err;
    hodu_instance *inst;
    if (hodu_instance_create(m, &inst, &err) != HODU_OK)
        die_rt(&err, "hodu_instance_create");
    hodu_tensor in = {.dtype = HODU_DTYPE_F32, .rank = rank};
    memcpy(in.dims, dims, (size_t)rank * sizeof(int64_t));
    int64_t n = hodu_shape_numel(rank, dims);
    in.nbytes = (size_t)n * sizeof(float);
    in.data = malloc(in.nbytes);
    for (int64_t i = 0; i < n; i++)
        ((float *)in.data)[i] = uniform();
    char name[256];
    snprintf(name, sizeof name, "%s.x", prefix);
    save(name, rank, dims, in.data);
    size_t n_out = hodu_model_num_outputs(m);
    hodu_tensor out[4];
    for (size_t i = 0; i < n_out; i++) {
        const hodu_tensor_desc *d = hodu_model_output(m, i);
        out[i] = (hodu_tensor){.dtype = d->dtype, .rank = d->rank};
        if (d->rank)
            memcpy(out[i].dims, d->dims, (size_t)d->rank * sizeof(int64_t));
        out[i].nbytes = (size_t)hodu_shape_numel(d->rank, d->dims) * sizeof(float);
        out[i].data = malloc(out[i].nbytes);
    }
    if (hodu_instance_run(inst, &in, 1, out, n_out, &err) != HODU_OK)
        die_rt(&err, "hodu_instance_run");
    for (size_t i = 0; i < n_out; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, hodu_model_output(m, i)->name);
        save(name, out[i].rank, out[i].dims, out[i].data);
        free(out[i].data);
    }
    free(in.data);
    hodu_instance_destroy(inst);
}

static hodu_graph *new_graph(const char *name)
{
    hodu_graph *g;
    hodu_error err;
    if (hodu_graph_new(name, 0, &g, &err) != HODU_OK)
        die_rt(&err, "hodu_graph_new");
    return g;
}

static hodu_graph *mlp(void)
{
    hodu_graph *g = new_graph("mlp");
    hodu_dim xd[2] = {{.name = "B"}, {.size = 8}};
    hodu_value x, h, r, m, a, y;
    CHECK(g, hodu_graph_input(g, "x", HODU_DTYPE_F32, 2, xd, &x));
    hodu_value w1 = param(g, "mlp", "w1", 2, (int64_t[]){16, 8}, 0.5f);
    hodu_value b1 = param(g, "mlp", "b1", 1, (int64_t[]){16}, 0.1f);
    hodu_value w2 = param(g, "mlp", "w2", 2, (int64_t[]){16, 4}, 0.5f);
    hodu_value b2 = param(g, "mlp", "b2", 1, (int64_t[]){4}, 0.1f);
    CHECK(g, hodu_graph_gemm(g, x, w1, b1, 1.0, 1.0, false, true, &h));
    CHECK(g, hodu_graph_relu(g, h, &r));
    CHECK(g, hodu_graph_matmul(g, r, w2, &m));
    CHECK(g, hodu_graph_add(g, m, b2, &a));
    CHECK(g, hodu_graph_sigmoid(g, a, &y));
    CHECK(g, hodu_graph_output(g, y, "y"));
    return g;
}

static void cnn(void)
{
    hodu_graph *g = new_graph("cnn");
    hodu_dim xd[4] = {{.size = 2}, {.size = 3}, {.size = 8}, {.size = 8}};
    hodu_value x, c1, r1, p1, c2, p2, flat, y;
    CHECK(g, hodu_graph_input(g, "x", HODU_DTYPE_F32, 4, xd, &x));
    hodu_value w1 = param(g, "cnn", "w1", 4, (int64_t[]){4, 3, 3, 3}, 0.3f);
    hodu_value b1 = param(g, "cnn", "b1", 1, (int64_t[]){4}, 0.1f);
    hodu_value w2 = param(g, "cnn", "w2", 4, (int64_t[]){6, 4, 3, 3}, 0.3f);
    int64_t pad1[4] = {1, 1, 1, 1}, two[2] = {2, 2}, pad2[4] = {1, 1, 1, 1};
    CHECK(g, hodu_graph_conv2d(g, x, w1, b1, NULL, pad1, NULL, 1, &c1));
    CHECK(g, hodu_graph_relu(g, c1, &r1));
    CHECK(g, hodu_graph_max_pool2d(g, r1, two, two, NULL, &p1));                    /* [2,4,4,4] */
    CHECK(g, hodu_graph_conv2d(g, p1, w2, HODU_NO_VALUE, two, pad2, NULL, 1, &c2)); /* [2,6,2,2] */
    CHECK(g, hodu_graph_avg_pool2d(g, c2, two, two, NULL, &p2));                    /* [2,6,1,1] */
    CHECK(g, hodu_graph_reshape(g, p2, 2, (int64_t[]){2, -1}, &flat));
    CHECK(g, hodu_graph_softmax(g, flat, 1, &y));
    CHECK(g, hodu_graph_output(g, y, "y"));
    hodu_model *m = load(g, NULL, 0, NULL);
    run(m, "cnn", 4, (int64_t[]){2, 3, 8, 8});
    hodu_model_close(m);
    hodu_graph_free(g);
}

static void block(void)
{
    enum { D = 8 };
    hodu_graph *g = new_graph("block");
    hodu_dim xd[3] = {{.size = 2}, {.size = 5}, {.size = D}};
    hodu_value x, n1, q, k, v, kt, s, sc, a, av, r1, n2, f1, t1, f2, r2, mean;
    CHECK(g, hodu_graph_input(g, "x", HODU_DTYPE_F32, 3, xd, &x));
    hodu_value g1 = param(g, "block", "ln1_scale", 1, (int64_t[]){D}, 1.0f);
    hodu_value be1 = param(g, "block", "ln1_bias", 1, (int64_t[]){D}, 0.1f);
    hodu_value wq = param(g, "block", "wq", 2, (int64_t[]){D, D}, 0.4f);
    hodu_value wk = param(g, "block", "wk", 2, (int64_t[]){D, D}, 0.4f);
    hodu_value wv = param(g, "block", "wv", 2, (int64_t[]){D, D}, 0.4f);
    hodu_value g2 = param(g, "block", "ln2_scale", 1, (int64_t[]){D}, 1.0f);
    hodu_value w1 = param(g, "block", "w1", 2, (int64_t[]){D, 2 * D}, 0.4f);
    hodu_value w2 = param(g, "block", "w2", 2, (int64_t[]){2 * D, D}, 0.4f);
    float inv = 1.0f / sqrtf((float)D);
    hodu_value scale;
    CHECK(g, hodu_graph_param(g, "inv_sqrt_d", HODU_DTYPE_F32, 0, NULL, &inv, sizeof inv, &scale));
    CHECK(g, hodu_graph_layer_norm(g, x, g1, be1, -1, 1e-5, &n1));
    CHECK(g, hodu_graph_matmul(g, n1, wq, &q));
    CHECK(g, hodu_graph_matmul(g, n1, wk, &k));
    CHECK(g, hodu_graph_matmul(g, n1, wv, &v));
    CHECK(g, hodu_graph_transpose(g, k, 3, (int64_t[]){0, 2, 1}, &kt));
    CHECK(g, hodu_graph_matmul(g, q, kt, &s));
    CHECK(g, hodu_graph_mul(g, s, scale, &sc));
    CHECK(g, hodu_graph_softmax(g, sc, -1, &a));
    CHECK(g, hodu_graph_matmul(g, a, v, &av));
    CHECK(g, hodu_graph_add(g, av, x, &r1));
    CHECK(g, hodu_graph_layer_norm(g, r1, g2, HODU_NO_VALUE, -1, 1e-5, &n2));
    CHECK(g, hodu_graph_matmul(g, n2, w1, &f1));
    CHECK(g, hodu_graph_tanh(g, f1, &t1));
    CHECK(g, hodu_graph_matmul(g, t1, w2, &f2));
    CHECK(g, hodu_graph_add(g, f2, r1, &r2));
    CHECK(g, hodu_graph_reduce_mean(g, r2, 1, (int64_t[]){1}, false, &mean));
    CHECK(g, hodu_graph_output(g, r2, "y"));
    CHECK(g, hodu_graph_output(g, mean, "mean"));
    hodu_model *m = load(g, NULL, 0, NULL);
    run(m, "block", 3, (int64_t[]){2, 5, D});
    hodu_model_close(m);
    hodu_graph_free(g);
}

/* One SGD step of the mlp on a batch of 6 with MSE against a random
 * target. */
static void train(hodu_graph *g)
{
    const char *dims[] = {"B=6"};
    hodu_model *m = load(g, dims, 1, "mse");
    hodu_error err;
    hodu_trainer *tr;
    if (hodu_trainer_create(m, NULL, &tr, &err) != HODU_OK)
        die_rt(&err, "hodu_trainer_create");
    float x[6 * 8], target[6 * 4];
    for (int i = 0; i < 6 * 8; i++)
        x[i] = uniform();
    for (int i = 0; i < 6 * 4; i++)
        target[i] = 0.5f + 0.5f * uniform();
    save("train.x", 2, (int64_t[]){6, 8}, x);
    save("train.target", 2, (int64_t[]){6, 4}, target);
    hodu_tensor batch[2] = {
        {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {6, 8}, .data = x, .nbytes = sizeof x},
        {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {6, 4}, .data = target, .nbytes = sizeof target},
    };
    float loss;
    if (hodu_trainer_step(tr, batch, 2, 0.1f, &loss, &err) != HODU_OK)
        die_rt(&err, "hodu_trainer_step");
    save("train.loss", 0, NULL, &loss);
    const char *names[] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < 4; i++) {
        hodu_tensor t;
        const hodu_tensor_desc *d = NULL;
        for (size_t k = 0; k < hodu_trainer_num_state(tr); k++)
            if (strcmp(hodu_trainer_state(tr, k)->name, names[i]) == 0)
                d = hodu_trainer_state(tr, k);
        if (!d) {
            fprintf(stderr, "builder_models: the step trains no '%s'\n", names[i]);
            exit(1);
        }
        if (hodu_tensor_alloc(&t, d->dtype, d->rank, d->dims, &err) != HODU_OK ||
            hodu_trainer_get(tr, names[i], &t, &err) != HODU_OK)
            die_rt(&err, names[i]);
        char file[64];
        snprintf(file, sizeof file, "train.%s", names[i]);
        save(file, t.rank, t.dims, t.data);
        hodu_tensor_free(&t);
    }
    hodu_trainer_destroy(tr);
    hodu_model_close(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: builder_models DIR\n");
        return 2;
    }
    dir = argv[1];
    hodu_graph *g = mlp();
    const char *dims[] = {"B=1..16"};
    hodu_model *m = load(g, dims, 1, NULL);
    run(m, "mlp3", 2, (int64_t[]){3, 8});
    run(m, "mlp7", 2, (int64_t[]){7, 8});
    hodu_model_close(m);
    train(g);
    hodu_graph_free(g);
    cnn();
    block();
    return 0;
}
