/*
 * threads_check.c - a compiled model gives the same bits on any threads.
 *
 *     threads_check MODEL.so
 *
 * Fills every input with seeded pseudo-random values, runs one serial
 * instance for the reference outputs, then checks, byte for byte:
 *   1. one instance with a pool of 4 threads, run 10 times, profiled
 *      (every step counted once per run);
 *   2. 4 instances run at once from 4 threads (two of them with pools of
 *      their own), 5 runs each.
 * Exit status 0 when every output matched; otherwise the first difference
 * is printed.  Built under ThreadSanitizer by tools/test.sh's tsan stage,
 * with the model compiled under it too.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hodu_rt.h"

enum { POOL_THREADS = 4, POOL_RUNS = 10, N_CALLERS = 4, CALLER_RUNS = 5 };

typedef struct io {
    size_t ni, no;
    hodu_tensor *in, *out;
} io;

static uint64_t next_random(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

/* Values in a range every op of the test models accepts. */
static void fill(hodu_tensor *t, uint64_t seed)
{
    int64_t n = hodu_shape_numel(t->rank, t->dims);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_random(&seed);
        switch (t->dtype) {
        case HODU_DTYPE_F32: ((float *)t->data)[i] = (float)((double)(r % 2000001) / 1e6 - 1.0); break;
        case HODU_DTYPE_I64: ((int64_t *)t->data)[i] = (int64_t)(r % 10); break;
        case HODU_DTYPE_I32: ((int32_t *)t->data)[i] = (int32_t)(r % 10); break;
        case HODU_DTYPE_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        default: ((unsigned char *)t->data)[i * (int64_t)hodu_dtype_size(t->dtype)] = (unsigned char)r; break;
        }
    }
}

static bool io_alloc(const hodu_model *m, io *x, bool with_inputs)
{
    hodu_error err;
    x->ni = hodu_model_num_inputs(m);
    x->no = hodu_model_num_outputs(m);
    x->in = calloc(x->ni + 1, sizeof *x->in);
    x->out = calloc(x->no + 1, sizeof *x->out);
    if (x->in == NULL || x->out == NULL)
        return false;
    for (size_t i = 0; with_inputs && i < x->ni; i++) {
        const hodu_tensor_desc *d = hodu_model_input(m, i);
        if (hodu_tensor_alloc(&x->in[i], (hodu_dtype)d->dtype, d->rank, d->dims, &err) != HODU_OK)
            return false;
        fill(&x->in[i], 1234 + i);
    }
    for (size_t i = 0; i < x->no; i++) {
        const hodu_tensor_desc *d = hodu_model_output(m, i);
        if (hodu_tensor_alloc(&x->out[i], (hodu_dtype)d->dtype, d->rank, d->dims, &err) != HODU_OK)
            return false;
    }
    return true;
}

static void io_free(io *x, bool with_inputs)
{
    for (size_t i = 0; with_inputs && i < x->ni; i++)
        hodu_tensor_free(&x->in[i]);
    for (size_t i = 0; i < x->no; i++)
        hodu_tensor_free(&x->out[i]);
    free(x->in);
    free(x->out);
}

/* Compares outputs with the reference; prints the first difference. */
static bool same_outputs(const hodu_model *m, const io *ref, const io *got, const char *what)
{
    for (size_t i = 0; i < ref->no; i++) {
        if (memcmp(ref->out[i].data, got->out[i].data, ref->out[i].nbytes) == 0)
            continue;
        const unsigned char *a = ref->out[i].data, *b = got->out[i].data;
        size_t at = 0;
        while (a[at] == b[at])
            at++;
        fprintf(stderr, "threads_check: %s: output '%s' differs from the serial run at byte %zu\n", what,
                hodu_model_output(m, i)->name, at);
        return false;
    }
    return true;
}

typedef struct caller {
    const hodu_model *model;
    const io *ref;
    uint32_t threads;
    bool ok;
    char message[600];
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    hodu_error err;
    io x = {0};
    hodu_instance *inst = NULL;
    hodu_instance_options o = {.n_threads = c->threads};
    c->ok = false;
    if (!io_alloc(c->model, &x, false)) {
        snprintf(c->message, sizeof c->message, "out of memory");
        goto done;
    }
    x.in = memcpy(x.in, c->ref->in, x.ni * sizeof *x.in); /* inputs are shared, read-only */
    if (hodu_instance_create_with(c->model, &o, &inst, &err) != HODU_OK) {
        snprintf(c->message, sizeof c->message, "%s", err.message);
        goto done;
    }
    for (int r = 0; r < CALLER_RUNS; r++) {
        if (hodu_instance_run(inst, x.in, x.ni, x.out, x.no, &err) != HODU_OK) {
            snprintf(c->message, sizeof c->message, "%s", err.message);
            goto done;
        }
        if (!same_outputs(c->model, c->ref, &x, "concurrent instances")) {
            snprintf(c->message, sizeof c->message, "outputs differ");
            goto done;
        }
    }
    c->ok = true;
done:
    hodu_instance_destroy(inst);
    io_free(&x, false);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: threads_check MODEL.so\n");
        return 2;
    }
    hodu_error err;
    hodu_model *m;
    if (hodu_model_open(argv[1], &m, &err) != HODU_OK) {
        fprintf(stderr, "threads_check: %s\n", err.message);
        return 1;
    }
    int rc = 1;
    io ref = {0}, got = {0};
    hodu_instance *serial = NULL, *pooled = NULL;
    hodu_instance_options one = {.n_threads = 1}, pool = {.n_threads = POOL_THREADS};
    if (!io_alloc(m, &ref, true) || !io_alloc(m, &got, false)) {
        fprintf(stderr, "threads_check: out of memory\n");
        goto done;
    }
    memcpy(got.in, ref.in, ref.ni * sizeof *ref.in);
    if (hodu_instance_create_with(m, &one, &serial, &err) != HODU_OK ||
        hodu_instance_run(serial, ref.in, ref.ni, ref.out, ref.no, &err) != HODU_OK ||
        hodu_instance_create_with(m, &pool, &pooled, &err) != HODU_OK ||
        hodu_instance_set_profiling(pooled, 1, &err) != HODU_OK) {
        fprintf(stderr, "threads_check: %s\n", err.message);
        goto done;
    }
    for (int r = 0; r < POOL_RUNS; r++) {
        if (hodu_instance_run(pooled, got.in, got.ni, got.out, got.no, &err) != HODU_OK) {
            fprintf(stderr, "threads_check: %s\n", err.message);
            goto done;
        }
        if (!same_outputs(m, &ref, &got, "one instance on 4 threads"))
            goto done;
    }
    size_t n_steps = 0;
    const hodu_profile_entry *steps = hodu_instance_profile(pooled, &n_steps);
    for (size_t k = 0; k < n_steps; k++)
        if (steps[k].runs != POOL_RUNS) {
            fprintf(stderr, "threads_check: step %zu (%s) counted %llu runs of %d\n", k, steps[k].op,
                    (unsigned long long)steps[k].runs, POOL_RUNS);
            goto done;
        }
    if (n_steps == 0) {
        fprintf(stderr, "threads_check: the model lists no steps\n");
        goto done;
    }

    caller callers[N_CALLERS];
    pthread_t threads[N_CALLERS];
    for (int t = 0; t < N_CALLERS; t++) {
        callers[t] = (caller){.model = m, .ref = &ref, .threads = t % 2 ? 2 : 1};
        if (pthread_create(&threads[t], NULL, caller_main, &callers[t]) != 0) {
            fprintf(stderr, "threads_check: cannot start a thread\n");
            for (int j = 0; j < t; j++)
                pthread_join(threads[j], NULL);
            goto done;
        }
    }
    bool all = true;
    for (int t = 0; t < N_CALLERS; t++) {
        pthread_join(threads[t], NULL);
        if (!callers[t].ok) {
            fprintf(stderr, "threads_check: caller %d: %s\n", t, callers[t].message);
            all = false;
        }
    }
    if (all) {
        printf("threads_check: %s: identical outputs on 1, %d and %d concurrent instances\n", argv[1], POOL_THREADS,
               N_CALLERS);
        rc = 0;
    }
done:
    hodu_instance_destroy(serial);
    hodu_instance_destroy(pooled);
    io_free(&ref, true);
    io_free(&got, false);
    hodu_model_close(m);
    return rc;
}
