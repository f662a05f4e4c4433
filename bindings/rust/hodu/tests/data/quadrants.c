/*
 * quadrants.c - the MLP of tests/graph.rs built in C through hodu.h's graph
 * builder, for the test that compares it with the same MLP built from Rust
 * and from HoduScript (quadrants.hodu):
 *
 *     quadrants WEIGHTS.safetensors X.npy OUT.npy
 *
 * probs = softmax(relu(x @ w1 + b1) @ w2 + b2) over x float32[batch, 2],
 * the weights w1 [2,16], b1 [16], w2 [16,4], b2 [4] from the file, batch a
 * run-time dim (1..64); writes probs for X to OUT.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hodu.h"
#include "hodu_rt.h"

static const char *const names[4] = {"w1", "b1", "w2", "b2"};

static int fail(const char *what)
{
    fprintf(stderr, "quadrants: %s\n", what);
    return 1;
}

/* Adds the four parameters from the file, in the order of names[]. */
static int add_params(hodu_graph *g, const hodu_safetensors *st, hodu_value p[4])
{
    for (int i = 0; i < 4; i++) {
        long k = hodu_safetensors_find(st, names[i]);
        if (k < 0)
            return fail(names[i]);
        const hodu_tensor *t = hodu_safetensors_tensor(st, (size_t)k);
        if (hodu_graph_param(g, names[i], t->dtype, t->rank, t->dims, t->data, t->nbytes, &p[i]) != HODU_OK)
            return fail(hodu_graph_error(g));
    }
    return 0;
}

static int define(hodu_graph *g, const hodu_safetensors *st)
{
    hodu_dim xd[2] = {{.name = "batch"}, {.size = 2}};
    hodu_value x, p[4], h, hb, r, l, lb, probs;
    if (hodu_graph_input(g, "x", HODU_DTYPE_F32, 2, xd, &x) != HODU_OK)
        return fail(hodu_graph_error(g));
    if (add_params(g, st, p) != 0)
        return 1;
    if (hodu_graph_matmul(g, x, p[0], &h) != HODU_OK || hodu_graph_add(g, h, p[1], &hb) != HODU_OK ||
        hodu_graph_relu(g, hb, &r) != HODU_OK || hodu_graph_matmul(g, r, p[2], &l) != HODU_OK ||
        hodu_graph_add(g, l, p[3], &lb) != HODU_OK || hodu_graph_softmax(g, lb, -1, &probs) != HODU_OK ||
        hodu_graph_output(g, probs, "probs") != HODU_OK)
        return fail(hodu_graph_error(g));
    return 0;
}

static int run(hodu_model *m, const char *x_path, const char *out_path)
{
    hodu_error err;
    hodu_tensor x;
    if (hodu_npy_read(x_path, &x, &err) != HODU_OK)
        return fail(err.message);
    /* room for the largest batch; the run sets the dims it wrote */
    static float probs[64 * 4];
    hodu_tensor out = {.dtype = HODU_DTYPE_F32, .rank = 2, .dims = {64, 4}, .data = probs, .nbytes = sizeof probs};
    hodu_instance *inst;
    int rc = 1;
    if (hodu_instance_create(m, &inst, &err) != HODU_OK) {
        fail(err.message);
    } else {
        if (hodu_instance_run(inst, &x, 1, &out, 1, &err) != HODU_OK) {
            fail(err.message);
        } else {
            out.nbytes = (size_t)out.dims[0] * 4 * sizeof(float);
            if (hodu_npy_write(out_path, &out, &err) != HODU_OK)
                fail(err.message);
            else
                rc = 0;
        }
        hodu_instance_destroy(inst);
    }
    hodu_tensor_free(&x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return fail("usage: quadrants WEIGHTS.safetensors X.npy OUT.npy");
    hodu_error err;
    hodu_safetensors *st;
    if (hodu_safetensors_read(argv[1], &st, &err) != HODU_OK)
        return fail(err.message);
    hodu_graph *g;
    if (hodu_graph_new("quadrants", 0, &g, &err) != HODU_OK) {
        hodu_safetensors_close(st);
        return fail(err.message);
    }
    int rc = define(g, st);
    hodu_safetensors_close(st);
    hodu_model *m = NULL;
    if (rc == 0) {
        hodu_build_options o;
        hodu_build_options_init(&o);
        const char *dims[] = {"batch=1..64"};
        o.dims = dims;
        o.n_dims = 1;
        if (hodu_graph_load(g, &o, &m) != HODU_OK)
            rc = fail(hodu_graph_error(g));
    }
    hodu_graph_free(g);
    if (rc == 0) {
        rc = run(m, argv[2], argv[3]);
        hodu_model_close(m);
    }
    return rc;
}
