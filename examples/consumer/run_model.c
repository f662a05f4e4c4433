/*
 * run_model.c - runs a model compiled by `hodu --build` through libhodu_rt.
 *
 *     run_model MODEL.so OUT_PREFIX [INPUT.npy ...]
 *     run_model MODEL.hodupkg OUT_PREFIX [INPUT.npy ...]
 *
 * Reads one .npy per model input (in the model's input order), runs the
 * model once and writes output i to OUT_PREFIX<i>.npy, printing each
 * output's name and shape.  A path ending in .hodupkg is opened as a
 * package (`hodu --package`): checked, then its entry for this machine is
 * loaded, and the entry's name goes to stderr.  No signature is asked for.  An example of an application built against an
 * installed Hodu (see README.md in this folder).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hodu_rt.h>

static int fail(const char *what, const hodu_error *err)
{
    fprintf(stderr, "run_model: %s: %s\n", what, err->message);
    return 1;
}

/* An output whose buffer the instance gave (an unbounded dim). */
static bool instance_owned(const hodu_model *model, size_t i)
{
    const hodu_tensor_desc *d = hodu_model_output(model, i);
    for (int32_t k = 0; k < d->rank; k++)
        if (d->dims[k] < 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: run_model MODEL.so|MODEL.hodupkg OUT_PREFIX [INPUT.npy ...]\n");
        return 2;
    }
    hodu_error err;
    hodu_model *model;
    size_t len = strlen(argv[1]);
    if (len > 8 && strcmp(argv[1] + len - 8, ".hodupkg") == 0) {
        hodu_package *pkg;
        if (hodu_package_open(argv[1], NULL, &pkg, &err) != HODU_OK)
            return fail(argv[1], &err);
        long pick = hodu_package_host_library(pkg);
        hodu_status st = hodu_package_load(pkg, &model, &err);
        if (st == HODU_OK)
            fprintf(stderr, "run_model: loaded %s (%s)\n", hodu_package_library_name(pkg, (size_t)pick),
                    hodu_package_library_target(pkg, (size_t)pick));
        hodu_package_close(pkg);
        if (st != HODU_OK)
            return fail(argv[1], &err);
    } else if (hodu_model_open(argv[1], &model, &err) != HODU_OK)
        return fail(argv[1], &err);
    size_t n_in = hodu_model_num_inputs(model), n_out = hodu_model_num_outputs(model);
    if ((size_t)(argc - 3) != n_in) {
        fprintf(stderr, "run_model: the model has %zu inputs, %d .npy files given\n", n_in, argc - 3);
        hodu_model_close(model);
        return 2;
    }
    hodu_tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out + 1, sizeof *out);
    int rc = 1;
    hodu_instance *inst = NULL;
    if (!in || !out) {
        fprintf(stderr, "run_model: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n_in; i++) {
        const hodu_tensor_desc *d = hodu_model_input(model, i);
        if (hodu_npy_read_as(argv[3 + i], (hodu_dtype)d->dtype, &in[i], &err) != HODU_OK) {
            rc = fail(argv[3 + i], &err);
            goto done;
        }
    }
    /* Outputs take the largest shape the descriptor allows; the run
     * rewrites dims with the actual shape.  One with an unbounded dim (-1)
     * gets its buffer from the instance, which keeps owning it. */
    for (size_t i = 0; i < n_out; i++) {
        const hodu_tensor_desc *d = hodu_model_output(model, i);
        if (instance_owned(model, i)) {
            out[i].dtype = (hodu_dtype)d->dtype;
            out[i].rank = d->rank;
            out[i].data = NULL;
            continue;
        }
        if (hodu_tensor_alloc(&out[i], (hodu_dtype)d->dtype, d->rank, d->dims, &err) != HODU_OK) {
            rc = fail(d->name, &err);
            goto done;
        }
    }
    if (hodu_instance_create(model, &inst, &err) != HODU_OK) {
        rc = fail("hodu_instance_create", &err);
        goto done;
    }
    if (hodu_instance_run(inst, in, n_in, out, n_out, &err) != HODU_OK) {
        rc = fail("hodu_instance_run", &err);
        goto done;
    }
    for (size_t i = 0; i < n_out; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%zu.npy", argv[2], i);
        if (hodu_npy_write(path, &out[i], &err) != HODU_OK) {
            rc = fail(path, &err);
            goto done;
        }
        printf("%s: %s [", hodu_model_output(model, i)->name, hodu_dtype_name(out[i].dtype));
        for (int32_t k = 0; k < out[i].rank; k++)
            printf("%s%lld", k ? ", " : "", (long long)out[i].dims[k]);
        printf("] -> %s\n", path);
    }
    rc = 0;
done:
    hodu_instance_destroy(inst);
    for (size_t i = 0; in && i < n_in; i++)
        hodu_tensor_free(&in[i]);
    for (size_t i = 0; out && i < n_out; i++)
        if (!instance_owned(model, i))
            hodu_tensor_free(&out[i]);
    free(in);
    free(out);
    hodu_model_close(model);
    return rc;
}
