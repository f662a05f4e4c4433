/*
 * runtime/train.c - hodu_trainer: drives a training step library.
 *
 * A step (`hodu --build --train`) is a pure function; its descriptor says
 * which inputs are state (hodu_model_desc.state_next) and where their
 * first values are (initial).  The trainer keeps two buffers per state
 * tensor: a step reads one and writes the other, and they swap only when
 * the step succeeded, so a refused or failed step leaves the state as it
 * was and no parameter is ever copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "rt_impl.h"

#define MAX_CHECKPOINT_BYTES ((size_t)1 << 40)

typedef struct state_slot {
    uint32_t in, out; /* the step's input and the output with its next value */
    size_t nbytes;
    void *cur, *nxt;
} state_slot;

struct hodu_trainer {
    const hodu_model_desc *desc;
    hodu_instance *inst;
    state_slot *state;
    size_t n_state;
    uint32_t *feed; /* the inputs a step is given: not state, not "lr" */
    size_t n_feed;
    long lr_in, loss_out;
    void **extra; /* buffers for outputs that are neither state nor the loss */
    hodu_tensor *in, *out;
    /* the forward pass over the current parameters (--train-eval) */
    const hodu_model_desc *eval;
    hodu_instance *eval_inst;
    long *eval_state; /* per eval input: the state slot it reads, or -1 */
    hodu_tensor *eval_in;
};

static hodu_tensor tensor_of(const hodu_tensor_desc *td, void *data, size_t nbytes)
{
    hodu_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype = (hodu_dtype)td->dtype;
    t.rank = td->rank;
    for (int32_t k = 0; k < td->rank; k++)
        t.dims[k] = td->dims[k];
    t.data = data;
    t.nbytes = nbytes;
    return t;
}

static bool is_scalar_f32(const hodu_tensor_desc *td) { return td->dtype == HODU_DTYPE_F32 && td->rank == 0; }

HODU_RT_API void hodu_trainer_destroy(hodu_trainer *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_state; i++) {
        hodurt_aligned_free(t->state[i].cur);
        hodurt_aligned_free(t->state[i].nxt);
    }
    for (size_t i = 0; t->extra && i < t->desc->n_outputs; i++)
        hodurt_aligned_free(t->extra[i]);
    free(t->extra);
    free(t->state);
    free(t->feed);
    free(t->in);
    free(t->out);
    free(t->eval_state);
    free(t->eval_in);
    hodu_instance_destroy(t->eval_inst);
    hodu_instance_destroy(t->inst);
    free(t);
}

/* The input or output named `name`, or -1. */
static long find(const hodu_tensor_desc *tds, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (tds[i].name && strcmp(tds[i].name, name) == 0)
            return (long)i;
    return -1;
}

HODU_RT_API hodu_status hodu_trainer_create(const hodu_model *model, const hodu_instance_options *options,
                                            hodu_trainer **out, hodu_error *err)
{
    if (out == NULL || model == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_create: %s is NULL", out ? "model" : "out");
    *out = NULL;
    const hodu_model_desc *d = hodu_model_desc_of(model);
    if (d->state_next == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                           "model '%s' is not a training step (build it with hodu --build --train)", d->model_name);
    hodu_trainer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_create: out of memory");
    t->desc = d;
    t->lr_in = find(d->inputs, d->n_inputs, "lr");
    t->loss_out = find(d->outputs, d->n_outputs, "loss");
    t->state = calloc(d->n_inputs + 1, sizeof(state_slot));
    t->feed = calloc(d->n_inputs + 1, sizeof(uint32_t));
    t->extra = calloc(d->n_outputs + 1, sizeof(void *));
    t->in = calloc(d->n_inputs + 1, sizeof(hodu_tensor));
    t->out = calloc(d->n_outputs + 1, sizeof(hodu_tensor));
    hodu_status s = HODU_OK;
    if (!t->state || !t->feed || !t->extra || !t->in || !t->out)
        s = hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_create: out of memory");
    else if (t->lr_in < 0 || !is_scalar_f32(&d->inputs[t->lr_in]) || t->loss_out < 0 ||
             !is_scalar_f32(&d->outputs[t->loss_out]))
        s = hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': a training step has an f32 input 'lr' and output 'loss'",
                        d->model_name);
    bool *is_state_out = s == HODU_OK ? calloc(d->n_outputs + 1, sizeof(bool)) : NULL;
    if (s == HODU_OK && is_state_out == NULL)
        s = hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_create: out of memory");
    for (uint32_t i = 0; s == HODU_OK && i < d->n_inputs; i++) {
        int32_t nx = d->state_next[i];
        const hodu_tensor_desc *td = &d->inputs[i];
        if (nx < 0) {
            if ((long)i != t->lr_in)
                t->feed[t->n_feed++] = i;
            continue;
        }
        size_t nbytes = 0;
        bool same = (uint32_t)nx < d->n_outputs && !is_state_out[nx] && td->min_dims == NULL &&
                    d->outputs[nx].dtype == td->dtype && d->outputs[nx].rank == td->rank &&
                    d->outputs[nx].min_dims == NULL &&
                    hodurt_nbytes((hodu_dtype)td->dtype, td->rank, td->dims, &nbytes);
        for (int32_t k = 0; same && k < td->rank; k++)
            same = d->outputs[nx].dims[k] == td->dims[k];
        if (!same) {
            s = hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': state input '%s' does not match its output %ld",
                            d->model_name, td->name, (long)nx);
            break;
        }
        is_state_out[nx] = true;
        state_slot *sl = &t->state[t->n_state++];
        sl->in = i;
        sl->out = (uint32_t)nx;
        sl->nbytes = nbytes;
        sl->cur = hodurt_alloc_aligned(nbytes);
        sl->nxt = hodurt_alloc_aligned(nbytes);
        if (sl->cur == NULL || sl->nxt == NULL) {
            s = hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_create: out of memory for '%s'", td->name);
            break;
        }
        if (d->initial && d->initial[i]) /* else zeros, as hodurt_alloc_aligned gives */
            memcpy(sl->cur, d->initial[i], nbytes);
    }
    /* the other outputs go to buffers of the trainer's own */
    for (uint32_t k = 0; s == HODU_OK && k < d->n_outputs; k++) {
        size_t nbytes = 0;
        if (is_state_out[k] || (long)k == t->loss_out)
            continue;
        const hodu_tensor_desc *td = &d->outputs[k];
        if (!hodurt_nbytes((hodu_dtype)td->dtype, td->rank, td->dims, &nbytes) ||
            (t->extra[k] = hodurt_alloc_aligned(nbytes)) == NULL)
            s = hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_create: out of memory for output '%s'", td->name);
        else
            t->out[k] = tensor_of(td, t->extra[k], nbytes);
    }
    free(is_state_out);
    if (s == HODU_OK)
        s = hodu_instance_create_with(model, options, &t->inst, err);
    if (s != HODU_OK) {
        hodu_trainer_destroy(t);
        return s;
    }
    *out = t;
    return hodurt_ok(err);
}

HODU_RT_API size_t hodu_trainer_num_inputs(const hodu_trainer *t) { return t ? t->n_feed : 0; }

HODU_RT_API const hodu_tensor_desc *hodu_trainer_input(const hodu_trainer *t, size_t i)
{
    return t && i < t->n_feed ? &t->desc->inputs[t->feed[i]] : NULL;
}

HODU_RT_API hodu_status hodu_trainer_step(hodu_trainer *t, const hodu_tensor *inputs, size_t n_inputs, float lr,
                                          float *loss, hodu_error *err)
{
    if (t == NULL || (n_inputs > 0 && inputs == NULL))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_step: %s is NULL", t ? "inputs" : "trainer");
    if (n_inputs != t->n_feed)
        return hodurt_fail(err, HODU_ERR_COUNT, "hodu_trainer_step: the step takes %zu inputs, given %zu", t->n_feed,
                           n_inputs);
    const hodu_model_desc *d = t->desc;
    float lr_value = lr, loss_value = 0;
    for (size_t i = 0; i < t->n_feed; i++)
        t->in[t->feed[i]] = inputs[i];
    t->in[t->lr_in] = tensor_of(&d->inputs[t->lr_in], &lr_value, sizeof(float));
    t->out[t->loss_out] = tensor_of(&d->outputs[t->loss_out], &loss_value, sizeof(float));
    for (size_t i = 0; i < t->n_state; i++) {
        state_slot *sl = &t->state[i];
        t->in[sl->in] = tensor_of(&d->inputs[sl->in], sl->cur, sl->nbytes);
        t->out[sl->out] = tensor_of(&d->outputs[sl->out], sl->nxt, sl->nbytes);
    }
    hodu_status s = hodu_instance_run(t->inst, t->in, d->n_inputs, t->out, d->n_outputs, err);
    if (s != HODU_OK)
        return s;
    for (size_t i = 0; i < t->n_state; i++) {
        void *x = t->state[i].cur;
        t->state[i].cur = t->state[i].nxt;
        t->state[i].nxt = x;
    }
    if (loss)
        *loss = loss_value;
    return hodurt_ok(err);
}

HODU_RT_API size_t hodu_trainer_num_state(const hodu_trainer *t) { return t ? t->n_state : 0; }

HODU_RT_API const hodu_tensor_desc *hodu_trainer_state(const hodu_trainer *t, size_t i)
{
    return t && i < t->n_state ? &t->desc->inputs[t->state[i].in] : NULL;
}

static state_slot *find_state(const hodu_trainer *t, const char *name)
{
    for (size_t i = 0; name && i < t->n_state; i++)
        if (strcmp(t->desc->inputs[t->state[i].in].name, name) == 0)
            return &t->state[i];
    return NULL;
}

/* Whether tensor x has state slot sl's dtype and shape; the message
 * says how it differs. */
static hodu_status check_like(const hodu_trainer *t, const state_slot *sl, const hodu_tensor *x, const char *what,
                              hodu_error *err)
{
    const hodu_tensor_desc *td = &t->desc->inputs[sl->in];
    bool same = x->dtype == (hodu_dtype)td->dtype && x->rank == td->rank;
    for (int32_t k = 0; same && k < td->rank; k++)
        same = x->dims[k] == td->dims[k];
    char want[HODURT_SHAPE_STR_MAX], got[HODURT_SHAPE_STR_MAX];
    hodurt_format_shape(want, sizeof want, td->rank, td->dims);
    hodurt_format_shape(got, sizeof got, x->rank, x->dims);
    if (!same)
        return hodurt_fail(err, x->dtype == (hodu_dtype)td->dtype ? HODU_ERR_SHAPE : HODU_ERR_DTYPE,
                           "%s'%s' is %s%s but the model's is %s%s", what, td->name, hodu_dtype_name(x->dtype), got,
                           hodu_dtype_name((hodu_dtype)td->dtype), want);
    if (x->nbytes < sl->nbytes || (sl->nbytes && x->data == NULL))
        return hodurt_fail(err, HODU_ERR_SHAPE, "%s'%s' holds %zu bytes, %zu needed", what, td->name,
                           x->data ? x->nbytes : 0, sl->nbytes);
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_trainer_get(const hodu_trainer *t, const char *name, hodu_tensor *out, hodu_error *err)
{
    if (t == NULL || out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_get: %s is NULL", t ? "out" : "trainer");
    const state_slot *sl = find_state(t, name);
    if (sl == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "the training step has no parameter or state named '%s'",
                           name ? name : "(null)");
    hodu_status s = check_like(t, sl, out, "hodu_trainer_get: the tensor for ", err);
    if (s != HODU_OK)
        return s;
    memcpy(out->data, sl->cur, sl->nbytes);
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_trainer_set(hodu_trainer *t, const char *name, const hodu_tensor *in, hodu_error *err)
{
    if (t == NULL || in == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_set: %s is NULL", t ? "tensor" : "trainer");
    state_slot *sl = find_state(t, name);
    if (sl == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "the training step has no parameter or state named '%s'",
                           name ? name : "(null)");
    hodu_status s = check_like(t, sl, in, "hodu_trainer_set: ", err);
    if (s != HODU_OK)
        return s;
    memcpy(sl->cur, in->data, sl->nbytes);
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_trainer_save(const hodu_trainer *t, const char *path, hodu_error *err)
{
    if (t == NULL || path == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_save: %s is NULL", t ? "path" : "trainer");
    const char **names = calloc(t->n_state + 1, sizeof(char *));
    hodu_tensor *ts = calloc(t->n_state + 1, sizeof(hodu_tensor));
    hodu_status s;
    if (names == NULL || ts == NULL) {
        s = hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_save: out of memory");
    } else {
        for (size_t i = 0; i < t->n_state; i++) {
            const hodu_tensor_desc *td = &t->desc->inputs[t->state[i].in];
            names[i] = td->name;
            ts[i] = tensor_of(td, t->state[i].cur, t->state[i].nbytes);
        }
        s = hodu_safetensors_write(path, names, ts, t->n_state, err);
    }
    free(names);
    free(ts);
    return s;
}

HODU_RT_API hodu_status hodu_trainer_load(hodu_trainer *t, const char *path, hodu_error *err)
{
    if (t == NULL || path == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_load: %s is NULL", t ? "path" : "trainer");
    hodu_safetensors *st;
    hodu_status s = hodu_safetensors_read(path, &st, err);
    if (s != HODU_OK)
        return s;
    /* every check first: a checkpoint loads whole or not at all */
    char what[600];
    for (size_t i = 0; i < t->n_state && s == HODU_OK; i++) {
        const char *name = t->desc->inputs[t->state[i].in].name;
        long k = hodu_safetensors_find(st, name);
        snprintf(what, sizeof what, "checkpoint '%s': tensor ", path);
        if (k < 0)
            s = hodurt_fail(err, HODU_ERR_FORMAT,
                            "checkpoint '%s' has no tensor '%s' (this step has %zu tensors of state)", path, name,
                            t->n_state);
        else
            s = check_like(t, &t->state[i], hodu_safetensors_tensor(st, (size_t)k), what, err);
    }
    for (size_t k = 0; k < hodu_safetensors_count(st) && s == HODU_OK; k++)
        if (find_state(t, hodu_safetensors_name(st, k)) == NULL)
            s = hodurt_fail(err, HODU_ERR_FORMAT, "checkpoint '%s' has a tensor '%s' that this step does not have",
                            path, hodu_safetensors_name(st, k));
    for (size_t i = 0; i < t->n_state && s == HODU_OK; i++) {
        long k = hodu_safetensors_find(st, t->desc->inputs[t->state[i].in].name);
        memcpy(t->state[i].cur, hodu_safetensors_tensor(st, (size_t)k)->data, t->state[i].nbytes);
    }
    hodu_safetensors_close(st);
    return s == HODU_OK ? hodurt_ok(err) : s;
}

/* --- evaluation ------------------------------------------------------------ */

HODU_RT_API hodu_status hodu_trainer_attach_eval(hodu_trainer *t, const hodu_model *eval,
                                                 const hodu_instance_options *options, hodu_error *err)
{
    if (t == NULL || eval == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_attach_eval: %s is NULL", t ? "eval" : "trainer");
    const hodu_model_desc *e = hodu_model_desc_of(eval);
    long *map = calloc(e->n_inputs + 1, sizeof(long));
    hodu_tensor *in = calloc(e->n_inputs + 1, sizeof(hodu_tensor));
    hodu_instance *inst = NULL;
    hodu_status s = map && in ? HODU_OK : hodurt_fail(err, HODU_ERR_NOMEM, "hodu_trainer_attach_eval: out of memory");
    size_t n_params = 0;
    for (uint32_t i = 0; s == HODU_OK && i < e->n_inputs; i++) {
        const state_slot *sl = find_state(t, e->inputs[i].name);
        map[i] = sl ? (long)(sl - t->state) : -1;
        if (sl == NULL)
            continue;
        hodu_tensor like = tensor_of(&e->inputs[i], sl->cur, sl->nbytes);
        s = check_like(t, sl, &like, "hodu_trainer_attach_eval: the forward pass's input ", err);
        n_params++;
    }
    if (s == HODU_OK && n_params == 0)
        s = hodurt_fail(err, HODU_ERR_INVALID_ARG,
                        "model '%s' reads none of the trainer's parameters (build it with hodu --build --train-eval)",
                        e->model_name);
    if (s == HODU_OK)
        s = hodu_instance_create_with(eval, options, &inst, err);
    if (s != HODU_OK) {
        free(map);
        free(in);
        return s;
    }
    hodu_instance_destroy(t->eval_inst);
    free(t->eval_state);
    free(t->eval_in);
    t->eval = e;
    t->eval_inst = inst;
    t->eval_state = map;
    t->eval_in = in;
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_trainer_eval(hodu_trainer *t, const hodu_tensor *inputs, size_t n_inputs,
                                          hodu_tensor *outputs, size_t n_outputs, hodu_error *err)
{
    if (t == NULL || t->eval == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_trainer_eval: %s",
                           t ? "no forward pass attached (hodu_trainer_attach_eval)" : "trainer is NULL");
    const hodu_model_desc *e = t->eval;
    size_t k = 0;
    for (uint32_t i = 0; i < e->n_inputs; i++) {
        long sl = t->eval_state[i];
        if (sl >= 0) {
            t->eval_in[i] = tensor_of(&e->inputs[i], t->state[sl].cur, t->state[sl].nbytes);
        } else {
            if (k >= n_inputs || inputs == NULL)
                return hodurt_fail(err, HODU_ERR_COUNT,
                                   "hodu_trainer_eval: the forward pass takes more than %zu inputs", n_inputs);
            t->eval_in[i] = inputs[k++];
        }
    }
    if (k != n_inputs)
        return hodurt_fail(err, HODU_ERR_COUNT, "hodu_trainer_eval: the forward pass takes %zu inputs, given %zu", k,
                           n_inputs);
    return hodu_instance_run(t->eval_inst, t->eval_in, e->n_inputs, outputs, n_outputs, err);
}
