/*
 * train_digits.c - trains a small CNN on scikit-learn's 8x8 digits with a
 * training step compiled by Hodu, and prints the loss and the test
 * accuracy after every epoch.
 *
 *     python examples/digits/make_training_data.py --out DIR
 *     hodu --build DIR/cnn.onnx --train --loss cross_entropy --optimizer adamw -o DIR/step.so
 *     hodu --build DIR/cnn.onnx --train-eval -o DIR/eval.so
 *     train_digits DIR/step.so DIR/eval.so DIR [EPOCHS [CHECKPOINT]]
 *
 * The step's batch is fixed when it is built (30 images); each epoch
 * shuffles the training set and drops the last partial batch.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hodu_rt.h"

static int fail(const hodu_error *err)
{
    fprintf(stderr, "train_digits: %s\n", err->message);
    return 1;
}

static int read_npy(const char *dir, const char *name, hodu_tensor *t, hodu_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    return hodu_npy_read(path, t, err) == HODU_OK ? 0 : fail(err);
}

/* A small generator of our own, so every run shuffles alike. */
static uint64_t next_random(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 33;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: train_digits STEP.so EVAL.so DATA_DIR [EPOCHS [CHECKPOINT]]\n");
        return 2;
    }
    int epochs = argc > 4 ? atoi(argv[4]) : 10;
    hodu_error err;
    hodu_model *step, *eval;
    hodu_trainer *tr;
    if (hodu_model_open(argv[1], &step, &err) != HODU_OK || hodu_model_open(argv[2], &eval, &err) != HODU_OK)
        return fail(&err);
    if (hodu_trainer_create(step, NULL, &tr, &err) != HODU_OK || hodu_trainer_attach_eval(tr, eval, NULL, &err))
        return fail(&err);
    hodu_tensor train_x, train_y, test_x, test_y;
    if (read_npy(argv[3], "train_x", &train_x, &err) || read_npy(argv[3], "train_y", &train_y, &err) ||
        read_npy(argv[3], "test_x", &test_x, &err) || read_npy(argv[3], "test_y", &test_y, &err))
        return 1;

    /* the batch the step was built for: its first input, the images */
    const hodu_tensor_desc *image = hodu_trainer_input(tr, 0);
    int64_t batch = image->dims[0], n_train = train_x.dims[0], n_test = test_x.dims[0];
    size_t image_bytes = train_x.nbytes / (size_t)n_train;
    hodu_tensor x, y, logits, label;
    int64_t ldims[2] = {batch, 10};
    if (hodu_tensor_alloc(&x, HODU_DTYPE_F32, image->rank, image->dims, &err) ||
        hodu_tensor_alloc(&y, HODU_DTYPE_I64, 1, &batch, &err) ||
        hodu_tensor_alloc(&logits, HODU_DTYPE_F32, 2, ldims, &err) ||
        hodu_tensor_alloc(&label, HODU_DTYPE_I64, 1, &batch, &err))
        return fail(&err);
    int64_t *order = malloc((size_t)n_train * sizeof(int64_t));
    for (int64_t i = 0; i < n_train; i++)
        order[i] = i;
    uint64_t seed = 1;
    float lr = 3e-3f;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int64_t i = n_train - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)(next_random(&seed) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double total = 0;
        int64_t steps = 0;
        for (int64_t b = 0; b + batch <= n_train; b += batch) {
            for (int64_t k = 0; k < batch; k++) {
                memcpy((char *)x.data + k * image_bytes, (char *)train_x.data + order[b + k] * image_bytes,
                       image_bytes);
                ((int64_t *)y.data)[k] = ((const int64_t *)train_y.data)[order[b + k]];
            }
            hodu_tensor in[2] = {x, y};
            float loss;
            if (hodu_trainer_step(tr, in, 2, lr, &loss, &err) != HODU_OK)
                return fail(&err);
            total += loss;
            steps++;
        }
        int64_t right = 0, seen = 0;
        for (int64_t b = 0; b + batch <= n_test; b += batch) {
            memcpy(x.data, (char *)test_x.data + b * image_bytes, (size_t)batch * image_bytes);
            hodu_tensor out[2] = {logits, label};
            if (hodu_trainer_eval(tr, &x, 1, out, 2, &err) != HODU_OK)
                return fail(&err);
            for (int64_t k = 0; k < batch; k++)
                right += ((const int64_t *)label.data)[k] == ((const int64_t *)test_y.data)[b + k];
            seen += batch;
        }
        printf("epoch %2d  loss %.4f  test accuracy %.2f%% (%lld/%lld)\n", epoch, total / (double)steps,
               100.0 * (double)right / (double)seen, (long long)right, (long long)seen);
        fflush(stdout);
        lr *= 0.9f; /* a schedule is the host's: the step takes lr each time */
    }
    if (argc > 5 && hodu_trainer_save(tr, argv[5], &err) != HODU_OK)
        return fail(&err);
    free(order);
    hodu_tensor_free(&x);
    hodu_tensor_free(&y);
    hodu_tensor_free(&logits);
    hodu_tensor_free(&label);
    hodu_tensor_free(&train_x);
    hodu_tensor_free(&train_y);
    hodu_tensor_free(&test_x);
    hodu_tensor_free(&test_y);
    hodu_trainer_destroy(tr);
    hodu_model_close(eval);
    hodu_model_close(step);
    return 0;
}
