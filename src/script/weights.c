/*
 * script/weights.c - the parameters of `--weights`, from libhodu_rt's
 * safetensors reader (runtime/safetensors.c), which checks the file.
 */
#include <stdlib.h>
#include <string.h>

#include "hodu_rt.h"
#include "script/script.h"

bool hs_weights_parse(const uint8_t *bytes, size_t size, const char *what, hs_weights *w, hd_diag *d)
{
    memset(w, 0, sizeof(*w));
    hodu_safetensors *st;
    hodu_error err;
    if (hodu_safetensors_parse(bytes, size, what, &st, &err) != HODU_OK) {
        hd_error(d, "%s", err.message);
        return false;
    }
    size_t n = hodu_safetensors_count(st);
    for (size_t i = 0; i < n; i++) { /* the file may be fine, but no parameter can be that large */
        const hodu_tensor *t = hodu_safetensors_tensor(st, i);
        uint64_t nbytes;
        if (!hd_shape_size(t->rank, t->dims, ir_dtype_size(t->dtype), HODU_MAX_TENSOR_ELEMS, HODU_MAX_TENSOR_BYTES,
                           NULL, &nbytes)) {
            hd_error(d, "%s: tensor '%s' has a shape past the compiler's limits", what, hodu_safetensors_name(st, i));
            hodu_safetensors_close(st);
            return false;
        }
    }
    w->t = hd_xcalloc(n + 1, sizeof(*w->t));
    for (size_t i = 0; i < n; i++) {
        const hodu_tensor *t = hodu_safetensors_tensor(st, i);
        hs_tensor_entry *e = &w->t[i];
        e->name = hd_xstrdup(hodu_safetensors_name(st, i));
        e->dtype = t->dtype;
        e->rank = t->rank;
        memcpy(e->dims, t->dims, sizeof(e->dims));
        e->data = t->data; /* into `bytes`, which the caller keeps */
        e->nbytes = t->nbytes;
    }
    w->n = n;
    hodu_safetensors_close(st);
    w->bytes = (uint8_t *)bytes;
    w->size = size;
    return true;
}

void hs_weights_free(hs_weights *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    memset(w, 0, sizeof(*w));
}
