/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader behind
 * `hodu --build m.hodu --weights W` and hodu_trainer_load (src/runtime/safetensors.c,
 * through src/script/weights.c).
 *
 * Any bytes must give either tensors that each lie inside the data section,
 * with sizes that match dtype and shape and no two overlapping, or an error
 * with a message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "script/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_diag d;
    hd_diag_init(&d, "fuzz.safetensors");
    hs_weights w;
    if (hs_weights_parse(data, size, "fuzz.safetensors", &w, &d)) {
        for (size_t i = 0; i < w.n; i++) {
            const hs_tensor_entry *t = &w.t[i];
            if (t->data < data || t->data + t->nbytes > data + size)
                abort();
            uint64_t nbytes = 0;
            if (!hd_shape_size(t->rank, t->dims, ir_dtype_size(t->dtype), HODU_MAX_TENSOR_ELEMS, HODU_MAX_TENSOR_BYTES,
                               NULL, &nbytes) ||
                nbytes != t->nbytes)
                abort();
        }
        hs_weights_free(&w);
    } else if (d.n_errors == 0) {
        abort();
    }
    hd_diag_free(&d);
    return 0;
}
