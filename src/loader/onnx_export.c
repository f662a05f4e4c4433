/*
 * loader/onnx_export.c - a model written back with new weights
 * (`hodu --export-onnx`): the trained parameters of a checkpoint go into
 * the initializers of the ONNX file they came from, and everything else
 * in the file stays as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "hodu_rt.h"
#include "loader/loader.h"
#include "loader/loader_impl.h"

/* The state a training step keeps beside the parameters (passes/train.c). */
static bool optimizer_state(const char *name, const Onnx__GraphProto *g)
{
    if (strcmp(name, "adam.step") == 0)
        return true;
    static const char *const suffixes[] = {".momentum", ".adam_m", ".adam_v"};
    for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
        size_t n = strlen(name), s = strlen(suffixes[k]);
        if (n <= s || strcmp(name + n - s, suffixes[k]) != 0)
            continue;
        for (size_t i = 0; i < g->n_initializer; i++)
            if (g->initializer[i]->name && strlen(g->initializer[i]->name) == n - s &&
                strncmp(g->initializer[i]->name, name, n - s) == 0)
                return true;
    }
    return false;
}

/* Replaces initializer t's data by tensor x (checked to fit). */
static bool replace(Onnx__TensorProto *t, const char *name, const hodu_tensor *x, hd_diag *d)
{
    bool same = t->has_data_type && t->data_type == (int32_t)x->dtype && t->n_dims == (size_t)x->rank;
    for (size_t k = 0; same && k < t->n_dims; k++)
        same = t->dims[k] == x->dims[k];
    if (!same) {
        hd_error(d, "initializer '%s': the weights file's tensor has another dtype or shape (%s, rank %d)", name,
                 hodu_dtype_name(x->dtype), (int)x->rank);
        return false;
    }
    if (t->n_external_data) {
        hd_error(d, "initializer '%s' keeps its data in an external file; export writes raw data only", name);
        return false;
    }
    /* the new bytes in raw_data; every other place data could sit cleared
     * (free_unpacked frees what the message points to) */
    uint8_t *bytes = hd_xmalloc(x->nbytes ? x->nbytes : 1);
    memcpy(bytes, x->data, x->nbytes);
    free(t->raw_data.data);
    t->raw_data.data = bytes;
    t->raw_data.len = x->nbytes;
    t->has_raw_data = 1;
#define CLEAR_TYPED(field)                                                                                             \
    do {                                                                                                               \
        free(t->field);                                                                                                \
        t->field = NULL;                                                                                               \
        t->n_##field = 0;                                                                                              \
    } while (0)
    CLEAR_TYPED(float_data);
    CLEAR_TYPED(double_data);
    CLEAR_TYPED(int32_data);
    CLEAR_TYPED(int64_data);
#undef CLEAR_TYPED
    t->has_data_location = 0;
    return true;
}

bool hodu_export_onnx(const char *path, const char *weights, const char *out_path, hd_diag *d)
{
    Onnx__ModelProto *m = loader_read_model(path, 0, d);
    if (!m)
        return false;
    hodu_safetensors *st = NULL;
    hodu_error err;
    bool ok = m->graph != NULL;
    if (!ok)
        hd_error(d, "the model has no graph");
    if (ok && hodu_safetensors_read(weights, &st, &err) != HODU_OK) {
        hd_error(d, "%s", err.message);
        ok = false;
    }
    size_t n = hodu_safetensors_count(st), replaced = 0;
    for (size_t k = 0; ok && k < n; k++) {
        const char *name = hodu_safetensors_name(st, k);
        Onnx__TensorProto *t = NULL;
        for (size_t i = 0; !t && i < m->graph->n_initializer; i++)
            if (m->graph->initializer[i]->name && strcmp(m->graph->initializer[i]->name, name) == 0)
                t = m->graph->initializer[i];
        if (t) {
            ok = replace(t, name, hodu_safetensors_tensor(st, k), d);
            replaced += ok;
        } else if (!optimizer_state(name, m->graph)) {
            hd_error(d, "%s: tensor '%s' is no initializer of the model", weights, name);
            ok = false;
        }
    }
    if (ok && replaced == 0) {
        hd_error(d, "%s: no tensor names an initializer of the model", weights);
        ok = false;
    }
    if (ok) {
        size_t size = onnx__model_proto__get_packed_size(m);
        uint8_t *buf = hd_xmalloc(size ? size : 1);
        onnx__model_proto__pack(m, buf);
        ok = hd_write_file_atomic(out_path, buf, size, d);
        free(buf);
    }
    hodu_safetensors_close(st);
    onnx__model_proto__free_unpacked(m, NULL);
    return ok;
}
