/*
 * script/weights.c - the safetensors reader for `--weights`.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON (an
 * object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object), then the data; offsets are
 * relative to the data's start.  The file is untrusted: every number is
 * checked before use.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "script/script.h"

#define HS_MAX_WEIGHT_HEADER  (UINT64_C(100) << 20) /* 100 MiB of JSON, as the reference reader allows */
#define HS_MAX_WEIGHT_TENSORS 1000000

static const struct {
    const char *name;
    hodu_dtype dtype;
} st_types[] = {{"F32", HODU_DTYPE_F32}, {"F64", HODU_DTYPE_F64},  {"F16", HODU_DTYPE_F16}, {"BF16", HODU_DTYPE_BF16},
                {"I8", HODU_DTYPE_I8},   {"I16", HODU_DTYPE_I16},  {"I32", HODU_DTYPE_I32}, {"I64", HODU_DTYPE_I64},
                {"U8", HODU_DTYPE_U8},   {"BOOL", HODU_DTYPE_BOOL}};

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool json_u53(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v)
        return false;
    *out = (uint64_t)v;
    return true;
}

static int cmp_begin(const void *a, const void *b)
{
    const hs_tensor_entry *x = *(hs_tensor_entry *const *)a, *y = *(hs_tensor_entry *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

bool hs_weights_parse(const uint8_t *bytes, size_t size, const char *what, hs_weights *w, hd_diag *d)
{
    memset(w, 0, sizeof(*w));
    if (size < 8) {
        hd_error(d, "%s: not a safetensors file (%zu bytes, shorter than its 8-byte header length)", what, size);
        return false;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen < 2 || hlen > HS_MAX_WEIGHT_HEADER || hlen > size - 8) {
        hd_error(d, "%s: header length %llu does not fit the file (%zu bytes)", what, (unsigned long long)hlen, size);
        return false;
    }
    const uint8_t *data = bytes + 8 + hlen;
    size_t data_len = size - 8 - (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        hd_error(d, "%s: the header is not a JSON object", what);
        cJSON_Delete(root);
        return false;
    }
    bool ok = true;
    size_t count = (size_t)cJSON_GetArraySize(root);
    if (count > HS_MAX_WEIGHT_TENSORS) {
        hd_error(d, "%s: more than %d tensors", what, HS_MAX_WEIGHT_TENSORS);
        cJSON_Delete(root);
        return false;
    }
    w->t = hd_xcalloc(count + 1, sizeof(*w->t));
    for (const cJSON *e = root->child; e && ok; e = e->next) {
        const char *name = e->string ? e->string : "";
        if (strcmp(name, "__metadata__") == 0)
            continue;
        hs_tensor_entry *t = &w->t[w->n];
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
            cJSON_GetArraySize(off) != 2) {
            hd_error(d, "%s: tensor '%s' needs \"dtype\", \"shape\" and two \"data_offsets\"", what, name);
            ok = false;
            break;
        }
        for (size_t k = 0; k < w->n; k++)
            if (strcmp(w->t[k].name, name) == 0) {
                hd_error(d, "%s: tensor '%s' is listed twice", what, name);
                ok = false;
            }
        t->dtype = HODU_DTYPE_UNDEFINED;
        for (size_t k = 0; k < HD_ARRAY_LEN(st_types); k++)
            if (strcmp(dt->valuestring, st_types[k].name) == 0)
                t->dtype = st_types[k].dtype;
        if (ok && t->dtype == HODU_DTYPE_UNDEFINED) {
            hd_error(d, "%s: tensor '%s' has unsupported dtype '%s'", what, name, dt->valuestring);
            ok = false;
        }
        int rank = cJSON_GetArraySize(sh);
        if (ok && rank > HODU_MAX_RANK) {
            hd_error(d, "%s: tensor '%s' has rank %d (at most %d)", what, name, rank, HODU_MAX_RANK);
            ok = false;
        }
        t->rank = ok ? rank : 0;
        int k = 0;
        for (const cJSON *x = sh->child; ok && x; x = x->next, k++) {
            uint64_t v;
            if (!json_u53(x, &v)) {
                hd_error(d, "%s: tensor '%s' has a shape entry that is not a non-negative integer", what, name);
                ok = false;
            } else {
                t->dims[k] = (int64_t)v;
            }
        }
        uint64_t b = 0, en = 0, nbytes = 0;
        if (ok && (!json_u53(off->child, &b) || !json_u53(off->child->next, &en) || b > en || en > data_len)) {
            hd_error(d, "%s: tensor '%s' has data_offsets outside the data (%zu bytes)", what, name, data_len);
            ok = false;
        }
        if (ok && (!hd_shape_size(t->rank, t->dims, ir_dtype_size(t->dtype), HODU_MAX_TENSOR_ELEMS,
                                  HODU_MAX_TENSOR_BYTES, NULL, &nbytes) ||
                   nbytes != en - b)) {
            hd_error(d, "%s: tensor '%s' holds %llu bytes but its dtype and shape need %llu", what, name,
                     (unsigned long long)(en - b), (unsigned long long)nbytes);
            ok = false;
        }
        if (ok) {
            t->name = hd_xstrdup(name);
            t->data = data + b;
            t->nbytes = (size_t)nbytes;
            w->n++;
        }
    }
    cJSON_Delete(root);
    if (ok && w->n > 1) {
        hs_tensor_entry **byb = hd_xmalloc(w->n * sizeof(*byb));
        for (size_t i = 0; i < w->n; i++)
            byb[i] = &w->t[i];
        qsort(byb, w->n, sizeof(*byb), cmp_begin);
        for (size_t i = 1; i < w->n && ok; i++)
            if (byb[i - 1]->data + byb[i - 1]->nbytes > byb[i]->data) {
                hd_error(d, "%s: tensors '%s' and '%s' overlap", what, byb[i - 1]->name, byb[i]->name);
                ok = false;
            }
        free(byb);
    }
    w->bytes = (uint8_t *)bytes;
    w->size = size;
    if (!ok)
        hs_weights_free(w);
    return ok;
}

void hs_weights_free(hs_weights *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    memset(w, 0, sizeof(*w));
}
