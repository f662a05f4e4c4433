/*
 * builder_mlp.c - a model defined in C with Hodu's graph-building API
 * (hodu.h), compiled in process and run: a two-layer MLP classifying
 * points of the plane by the quadrant they lie in.
 *
 *     builder_mlp [WEIGHTS.safetensors]
 *
 * The weights come from the safetensors file when one is given (tensors
 * w1 [2,16], b1 [16], w2 [16,4], b2 [4], float32), else from a fixed seed.
 * The batch is a run-time dim: the model runs on any number of points up
 * to 64, here on 4 and then on 2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hodu.h"
#include "hodu_rt.h"

static const char *const names[4] = {"w1", "b1", "w2", "b2"};
static const int64_t shapes[4][2] = {{2, 16}, {16, 0}, {16, 4}, {4, 0}};
static const int32_t ranks[4] = {2, 1, 2, 1};

/* A small generator of our own, so every run draws the same weights. */
static float next_weight(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (float)((*s >> 40) & 0xffffff) / (float)0x800000 - 1.0f;
}

/* Adds the four parameters, from the file or seeded. */
static int add_params(hodu_graph *g, const char *path, hodu_value p[4])
{
    hodu_error err;
    hodu_safetensors *st = NULL;
    if (path && hodu_safetensors_read(path, &st, &err) != HODU_OK) {
        fprintf(stderr, "builder_mlp: %s\n", err.message);
        return 1;
    }
    uint64_t seed = 7;
    for (int i = 0; i < 4; i++) {
        int64_t n = hodu_shape_numel(ranks[i], shapes[i]);
        float *data = malloc((size_t)n * sizeof(float));
        if (st) {
            long k = hodu_safetensors_find(st, names[i]);
            const hodu_tensor *t = k >= 0 ? hodu_safetensors_tensor(st, (size_t)k) : NULL;
            if (!t || t->dtype != HODU_DTYPE_F32 || t->nbytes != (size_t)n * sizeof(float)) {
                fprintf(stderr, "builder_mlp: %s: no float32 tensor '%s' of %lld elements\n", path, names[i],
                        (long long)n);
                free(data);
                hodu_safetensors_close(st);
                return 1;
            }
            memcpy(data, t->data, t->nbytes); /* the file's bytes need not be aligned */
        } else {
            for (int64_t j = 0; j < n; j++)
                data[j] = 2.0f * next_weight(&seed);
        }
        /* the graph copies the data in */
        hodu_status s =
            hodu_graph_param(g, names[i], HODU_DTYPE_F32, ranks[i], shapes[i], data, (size_t)n * sizeof(float), &p[i]);
        free(data);
        if (s != HODU_OK) {
            fprintf(stderr, "builder_mlp: %s\n", hodu_graph_error(g));
            hodu_safetensors_close(st);
            return 1;
        }
    }
    hodu_safetensors_close(st);
    return 0;
}

/* probs = softmax(relu(x @ w1 + b1) @ w2 + b2) */
static int define(hodu_graph *g, const char *weights)
{
    hodu_dim xd[2] = {{.name = "batch"}, {.size = 2}};
    hodu_value x, p[4], h, hb, r, l, lb, probs;
    if (hodu_graph_input(g, "x", HODU_DTYPE_F32, 2, xd, &x) != HODU_OK || add_params(g, weights, p) != 0)
        return 1;
    if (hodu_graph_matmul(g, x, p[0], &h) != HODU_OK || hodu_graph_add(g, h, p[1], &hb) != HODU_OK ||
        hodu_graph_relu(g, hb, &r) != HODU_OK || hodu_graph_matmul(g, r, p[2], &l) != HODU_OK ||
        hodu_graph_add(g, l, p[3], &lb) != HODU_OK || hodu_graph_softmax(g, lb, -1, &probs) != HODU_OK ||
        hodu_graph_output(g, probs, "probs") != HODU_OK) {
        fprintf(stderr, "builder_mlp: %s\n", hodu_graph_error(g));
        return 1;
    }
    return 0;
}

static int run(hodu_instance *inst, const float *points, int64_t n)
{
    float probs[64 * 4];
    hodu_tensor in = {
        .dtype = HODU_DTYPE_F32, .rank = 2, .dims = {n, 2}, .data = (void *)points, .nbytes = (size_t)n * 2 * 4};
    hodu_tensor out = {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {n, 4}, .data = probs, .nbytes = sizeof probs};
    hodu_error err;
    if (hodu_instance_run(inst, &in, 1, &out, 1, &err) != HODU_OK) {
        fprintf(stderr, "builder_mlp: %s\n", err.message);
        return 1;
    }
    for (int64_t i = 0; i < n; i++)
        printf("(%5.2f, %5.2f) -> [%.4f %.4f %.4f %.4f]\n", points[2 * i], points[2 * i + 1], probs[4 * i],
               probs[4 * i + 1], probs[4 * i + 2], probs[4 * i + 3]);
    return 0;
}

int main(int argc, char **argv)
{
    hodu_error err;
    hodu_graph *g;
    if (hodu_graph_new("builder_mlp", 0, &g, &err) != HODU_OK) {
        fprintf(stderr, "builder_mlp: %s\n", err.message);
        return 1;
    }
    if (define(g, argc > 1 ? argv[1] : NULL) != 0) {
        hodu_graph_free(g);
        return 1;
    }
    hodu_build_options o;
    hodu_build_options_init(&o);
    const char *dims[] = {"batch=1..64"};
    o.dims = dims;
    o.n_dims = 1;
    hodu_model *m;
    hodu_status s = hodu_graph_load(g, &o, &m);
    if (s != HODU_OK)
        fprintf(stderr, "%s\n", hodu_graph_error(g));
    hodu_graph_free(g); /* the loaded model does not need the graph */
    if (s != HODU_OK)
        return 1;
    hodu_instance *inst;
    int rc = 1;
    if (hodu_instance_create(m, &inst, &err) == HODU_OK) {
        const float four[8] = {1, 1, -1, 1, -1, -1, 1, -1};
        const float two[4] = {0.5f, 2, -3, 0.25f};
        rc = run(inst, four, 4) || run(inst, two, 2);
        hodu_instance_destroy(inst);
    } else {
        fprintf(stderr, "builder_mlp: %s\n", err.message);
    }
    hodu_model_close(m);
    return rc;
}
