/*
 * runtime/safetensors.c - safetensors files, read and written.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON (an
 * object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object), then the data; offsets are
 * relative to the data's start.  A file is untrusted: every number is
 * checked before use.  The compiler's --weights reads through this too.
 */
#ifndef HODU_RT_NO_JSON /* a runtime built without cJSON (a cross build): no safetensors parsing */
#include <cjson/cJSON.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_impl.h"

#define ST_MAX_HEADER  (UINT64_C(100) << 20) /* 100 MiB of JSON, as the reference reader allows */
#define ST_MAX_TENSORS 1000000
#define ST_MAX_FILE    ((size_t)1 << 40)

#ifndef HODU_RT_NO_JSON
static const struct {
    const char *name;
    hodu_dtype dtype;
} st_types[] = {{"F32", HODU_DTYPE_F32}, {"F64", HODU_DTYPE_F64},  {"F16", HODU_DTYPE_F16}, {"BF16", HODU_DTYPE_BF16},
                {"I8", HODU_DTYPE_I8},   {"I16", HODU_DTYPE_I16},  {"I32", HODU_DTYPE_I32}, {"I64", HODU_DTYPE_I64},
                {"U8", HODU_DTYPE_U8},   {"BOOL", HODU_DTYPE_BOOL}};
#define N_ST_TYPES (sizeof(st_types) / sizeof(st_types[0]))
#endif

struct hodu_safetensors {
    uint8_t *owned; /* the file's bytes when read from a path */
    char **names;
    hodu_tensor *tensors;
    size_t n;
};

#ifndef HODU_RT_NO_JSON
bool hodurt_json_u53(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != (double)(uint64_t)v)
        return false;
    *out = (uint64_t)v;
    return true;
}

static int cmp_data(const void *a, const void *b)
{
    const hodu_tensor *x = *(const hodu_tensor *const *)a, *y = *(const hodu_tensor *const *)b;
    return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1
                                                               : (const uint8_t *)x->data > (const uint8_t *)y->data;
}
#endif

HODU_RT_API void hodu_safetensors_close(hodu_safetensors *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->tensors);
    free(st->owned);
    free(st);
}

#ifndef HODU_RT_NO_JSON
/* One header entry into st's next slot. */
static hodu_status parse_entry(const cJSON *e, const uint8_t *data, size_t data_len, const char *what,
                               hodu_safetensors *st, hodu_error *err)
{
    const char *name = e->string ? e->string : "";
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' needs \"dtype\", \"shape\" and two \"data_offsets\"",
                           what, name);
    }
    for (size_t k = 0; k < st->n; k++)
        if (strcmp(st->names[k], name) == 0) {
            hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' is listed twice", what, name);
        }
    hodu_tensor *t = &st->tensors[st->n];
    memset(t, 0, sizeof(*t));
    for (size_t k = 0; k < N_ST_TYPES; k++)
        if (strcmp(dt->valuestring, st_types[k].name) == 0)
            t->dtype = st_types[k].dtype;
    if (t->dtype == HODU_DTYPE_UNDEFINED) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' has unsupported dtype '%s'", what, name,
                           dt->valuestring);
    }
    int rank = cJSON_GetArraySize(sh);
    if (rank > HODU_MAX_RANK) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' has rank %d (at most %d)", what, name, rank,
                           HODU_MAX_RANK);
    }
    t->rank = rank;
    int k = 0;
    for (const cJSON *x = sh->child; x; x = x->next, k++) {
        uint64_t v;
        if (!hodurt_json_u53(x, &v)) {
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "%s: tensor '%s' has a shape entry that is not a non-negative integer", what, name);
        }
        t->dims[k] = (int64_t)v;
    }
    uint64_t b = 0, en = 0;
    size_t nbytes = 0;
    if (!hodurt_json_u53(off->child, &b) || !hodurt_json_u53(off->child->next, &en) || b > en || en > data_len) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' has data_offsets outside the data (%zu bytes)", what,
                           name, data_len);
    }
    if (!hodurt_nbytes(t->dtype, t->rank, t->dims, &nbytes) || nbytes != en - b) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensor '%s' holds %llu bytes but its dtype and shape need %llu",
                           what, name, (unsigned long long)(en - b), (unsigned long long)nbytes);
    }
    t->data = (void *)(data + b);
    t->nbytes = nbytes;
    st->names[st->n] = strdup(name);
    if (st->names[st->n] == NULL) {
        return hodurt_fail(err, HODU_ERR_NOMEM, "%s: out of memory", what);
    }
    st->n++;
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_safetensors_parse(const void *bytes_, size_t size, const char *what,
                                               hodu_safetensors **out, hodu_error *err)
{
    const uint8_t *bytes = bytes_;
    if (out == NULL || (bytes == NULL && size > 0))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_safetensors_parse: %s is NULL", out ? "bytes" : "out");
    *out = NULL;
    what = what ? what : "safetensors";
    if (size < 8)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "%s: not a safetensors file (%zu bytes, shorter than its 8-byte header length)", what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > size - 8)
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: header length %llu does not fit the file (%zu bytes)", what,
                           (unsigned long long)hlen, size);
    const uint8_t *data = bytes + 8 + hlen;
    size_t data_len = size - 8 - (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: the header is not a JSON object", what);
    }
    size_t count = (size_t)cJSON_GetArraySize(root);
    if (count > ST_MAX_TENSORS) {
        cJSON_Delete(root);
        return hodurt_fail(err, HODU_ERR_FORMAT, "%s: more than %d tensors", what, ST_MAX_TENSORS);
    }
    hodu_safetensors *st = calloc(1, sizeof(*st));
    if (st) {
        st->names = calloc(count + 1, sizeof(char *));
        st->tensors = calloc(count + 1, sizeof(hodu_tensor));
    }
    if (st == NULL || st->names == NULL || st->tensors == NULL) {
        cJSON_Delete(root);
        hodu_safetensors_close(st);
        return hodurt_fail(err, HODU_ERR_NOMEM, "%s: out of memory", what);
    }
    hodu_status status = HODU_OK;
    for (const cJSON *e = root->child; e && status == HODU_OK; e = e->next)
        if (strcmp(e->string ? e->string : "", "__metadata__") != 0)
            status = parse_entry(e, data, data_len, what, st, err);
    cJSON_Delete(root);
    if (status == HODU_OK && st->n > 1) { /* no two tensors share bytes */
        const hodu_tensor **by = malloc(st->n * sizeof(*by));
        if (by == NULL)
            status = hodurt_fail(err, HODU_ERR_NOMEM, "%s: out of memory", what);
        for (size_t i = 0; by && i < st->n; i++)
            by[i] = &st->tensors[i];
        if (by)
            qsort(by, st->n, sizeof(*by), cmp_data);
        for (size_t i = 1; by && i < st->n && status == HODU_OK; i++)
            if ((const uint8_t *)by[i - 1]->data + by[i - 1]->nbytes > (const uint8_t *)by[i]->data)
                status = hodurt_fail(err, HODU_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", what,
                                     st->names[by[i - 1] - st->tensors], st->names[by[i] - st->tensors]);
        free(by);
    }
    if (status != HODU_OK) {
        hodu_safetensors_close(st);
        return status;
    }
    *out = st;
    return hodurt_ok(err);
}
#else
HODU_RT_API hodu_status hodu_safetensors_parse(const void *bytes_, size_t size, const char *what,
                                               hodu_safetensors **out, hodu_error *err)
{
    (void)bytes_, (void)size, (void)what, (void)out;
    return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "this libhodu_rt was built without safetensors support (no cJSON)");
}
#endif

HODU_RT_API hodu_status hodu_safetensors_read(const char *path, hodu_safetensors **out, hodu_error *err)
{
    if (out == NULL || path == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_safetensors_read: %s is NULL", out ? "path" : "out");
    *out = NULL;
    uint8_t *bytes;
    size_t size;
    hodu_status s = hodurt_read_file(path, ST_MAX_FILE, &bytes, &size, err);
    if (s != HODU_OK)
        return s;
    s = hodu_safetensors_parse(bytes, size, path, out, err);
    if (s != HODU_OK)
        free(bytes);
    else
        (*out)->owned = bytes;
    return s;
}

HODU_RT_API size_t hodu_safetensors_count(const hodu_safetensors *st) { return st ? st->n : 0; }

HODU_RT_API const char *hodu_safetensors_name(const hodu_safetensors *st, size_t i)
{
    return st && i < st->n ? st->names[i] : NULL;
}

HODU_RT_API const hodu_tensor *hodu_safetensors_tensor(const hodu_safetensors *st, size_t i)
{
    return st && i < st->n ? &st->tensors[i] : NULL;
}

HODU_RT_API long hodu_safetensors_find(const hodu_safetensors *st, const char *name)
{
    for (size_t i = 0; st && name && i < st->n; i++)
        if (strcmp(st->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* --- writing ------------------------------------------------------------ */

#ifndef HODU_RT_NO_JSON
static const char *st_type_name(hodu_dtype t)
{
    for (size_t k = 0; k < N_ST_TYPES; k++)
        if (st_types[k].dtype == t)
            return st_types[k].name;
    return NULL;
}

HODU_RT_API hodu_status hodu_safetensors_write(const char *path, const char *const *names, const hodu_tensor *tensors,
                                               size_t n, hodu_error *err)
{
    if (path == NULL || (n > 0 && (names == NULL || tensors == NULL)))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_safetensors_write: %s is NULL",
                           path == NULL ? "path" : "names or tensors");
    cJSON *root = cJSON_CreateObject();
    uint64_t at = 0;
    hodu_status status = root ? HODU_OK : hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
    for (size_t i = 0; i < n && status == HODU_OK; i++) {
        const hodu_tensor *t = &tensors[i];
        const char *ty = st_type_name(t->dtype);
        size_t nbytes = 0;
        if (names[i] == NULL || ty == NULL || !hodurt_nbytes(t->dtype, t->rank, t->dims, &nbytes) ||
            t->nbytes < nbytes || (nbytes && t->data == NULL)) {
            status = hodurt_fail(err, HODU_ERR_INVALID_ARG, "cannot write '%s': tensor %zu (%s) is %s", path, i,
                                 names[i] ? names[i] : "no name",
                                 ty == NULL ? "of a type safetensors has no name for" : "not a valid tensor");
            break;
        }
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
        for (int32_t k = 0; shape && k < t->rank; k++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[k]));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(at + nbytes)));
        cJSON_AddStringToObject(e, "dtype", ty);
        cJSON_AddItemToObject(e, "shape", shape);
        cJSON_AddItemToObject(e, "data_offsets", off);
        if (!cJSON_AddItemToObject(root, names[i], e))
            status = hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
        at += nbytes;
    }
    char *json = status == HODU_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (status == HODU_OK && json == NULL)
        status = hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
    if (status != HODU_OK) {
        free(json);
        return status;
    }
    /* the header padded with spaces to 8 bytes, so the data starts aligned */
    size_t hlen = strlen(json), padded = (hlen + 7) & ~(size_t)7;
    char *header = malloc(8 + padded);
    const void **parts = malloc((n + 1) * sizeof(void *));
    size_t *sizes = malloc((n + 1) * sizeof(size_t));
    if (header == NULL || parts == NULL || sizes == NULL) {
        status = hodurt_fail(err, HODU_ERR_NOMEM, "cannot write '%s': out of memory", path);
    } else {
        for (int i = 0; i < 8; i++)
            header[i] = (char)((uint64_t)padded >> (8 * i));
        memcpy(header + 8, json, hlen);
        memset(header + 8 + hlen, ' ', padded - hlen);
        parts[0] = header;
        sizes[0] = 8 + padded;
        for (size_t i = 0; i < n; i++) {
            parts[i + 1] = tensors[i].data;
            hodurt_nbytes(tensors[i].dtype, tensors[i].rank, tensors[i].dims, &sizes[i + 1]);
        }
        status = hodurt_write_file(path, parts, sizes, n + 1, err);
    }
    free(json);
    free(header);
    free(parts);
    free(sizes);
    return status;
}
#else
HODU_RT_API hodu_status hodu_safetensors_write(const char *path, const char *const *names, const hodu_tensor *tensors,
                                               size_t n, hodu_error *err)
{
    (void)path, (void)names, (void)tensors, (void)n;
    return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "this libhodu_rt was built without safetensors support (no cJSON)");
}
#endif
