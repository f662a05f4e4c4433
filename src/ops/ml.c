/*
 * ops/ml.c - the ml family: classical machine-learning ops.  Binarizer and
 * ArrayFeatureExtractor (ai.onnx.ml), TfIdfVectorizer (ai.onnx, opset 9),
 * with the semantics of the ONNX spec and, where it is silent, of the
 * ONNX reference and onnxruntime (a 1-D ArrayFeatureExtractor input gives
 * one row; TfIdfVectorizer's weights belong to n-grams, and a pool that
 * repeats an n-gram is refused).  The resolved nodes are exported in ml.h.
 */
#include <stdlib.h>
#include <string.h>

#include "ml.h"
#include "ops_impl.h"

/* ======================================================================== */
/* Binarizer                                                                 */
/* ======================================================================== */

static const op_attr_spec binarizer_attrs[] = {{"threshold", IR_ATTR_FLOAT}, {NULL, 0}};

static bool infer_binarizer(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    hodu_dtype t = x->dtype;
    if (t != HODU_DTYPE_F32 && t != HODU_DTYPE_F64 && t != HODU_DTYPE_I64 && t != HODU_DTYPE_I32)
        return op_fail(c, "input '%s' has type %s; Binarizer takes float, double, int64 or int32", x->name,
                       ir_dtype_name(t));
    op_set_out_like(c, 0, x);
    return true;
}

/* ======================================================================== */
/* ArrayFeatureExtractor                                                     */
/* ======================================================================== */

static bool afe_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, afe_plan *p)
{
#define AFE_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const ir_value *x = ir_val(g, n->inputs[0]), *y = ir_val(g, n->inputs[1]);
    if (x->rank < 1)
        return AFE_FAIL("input '%s' must have at least one dimension", x->name);
    if (y->dtype != HODU_DTYPE_I64)
        return AFE_FAIL("indices '%s' have type %s; ArrayFeatureExtractor takes int64 indices", y->name,
                        ir_dtype_name(y->dtype));
    p->F = x->dims[x->rank - 1].size;
    p->rows = 1;
    for (int d = 0; d + 1 < x->rank; d++)
        p->rows *= x->dims[d].size; /* a factor of X's element count, which the limits bound */
    p->k = ir_value_numel(y);
    if (p->k > 0 && p->F == 0)
        return AFE_FAIL("input '%s' has no columns to pick %lld from", x->name, (long long)p->k);
    return true;
#undef AFE_FAIL
}

bool afe_plan_of(const ir_graph *g, int node, afe_plan *p) { return afe_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_afe(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0), *y = op_need_static(c, 1);
    if (!x || !y)
        return false;
    afe_plan p;
    if (!afe_resolve(c, c->g, op_node(c), &p))
        return false;
    int64_t dims[HODU_MAX_RANK];
    int rank = x->rank == 1 ? 2 : x->rank;
    if (x->rank == 1)
        dims[0] = 1;
    else
        for (int d = 0; d + 1 < x->rank; d++)
            dims[d] = x->dims[d].size;
    dims[rank - 1] = p.k;
    op_set_out(c, 0, x->dtype, rank, dims);
    return true;
}

/* ======================================================================== */
/* TfIdfVectorizer                                                           */
/* ======================================================================== */

static const op_attr_spec tfidf_attrs[] = {
    {"max_gram_length", IR_ATTR_INT}, {"max_skip_count", IR_ATTR_INT}, {"min_gram_length", IR_ATTR_INT},
    {"mode", IR_ATTR_STRING},         {"ngram_counts", IR_ATTR_INTS},  {"ngram_indexes", IR_ATTR_INTS},
    {"pool_int64s", IR_ATTR_INTS},    {"pool_strings", IR_ATTR_STRINGS}, {"weights", IR_ATTR_FLOATS},
    {NULL, 0}};

static size_t attr_len(const ir_node *n, const char *name)
{
    const ir_attr *a = ir_attr_find(n, name);
    return a ? a->n : 0;
}

/* Pool block i (n-grams of length i + 1) is [start, end) of the pool. */
static void tfidf_block(const ir_node *n, size_t i, int64_t *start, int64_t *end)
{
    const ir_attr *counts = ir_attr_find(n, "ngram_counts");
    *start = counts->ints[i];
    *end = i + 1 < counts->n ? counts->ints[i + 1] : (int64_t)attr_len(n, "pool_int64s");
}

typedef struct gram_ref {
    const int64_t *key;
    int64_t col;
    float weight;
    int L;
} gram_ref;

static int cmp_gram(const void *a, const void *b)
{
    const gram_ref *x = a, *y = b;
    for (int i = 0; i < x->L; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i] ? -1 : 1;
    return 0;
}

/* The pool's n-grams of length L with their columns and weights, sorted
 * by their tokens; NULL when there are none.  *count receives how many. */
static gram_ref *collect_grams(const ir_node *n, int L, int64_t *count)
{
    const ir_attr *counts = ir_attr_find(n, "ngram_counts"), *indexes = ir_attr_find(n, "ngram_indexes");
    const ir_attr *pool = ir_attr_find(n, "pool_int64s"), *w = ir_attr_find(n, "weights");
    int64_t id = 0;
    gram_ref *refs = NULL;
    *count = 0;
    for (size_t i = 0; i < counts->n; i++) {
        int64_t s, e;
        tfidf_block(n, i, &s, &e);
        int64_t grams = (e - s) / (int64_t)(i + 1);
        if ((int)i + 1 == L && grams > 0) {
            refs = hd_xmalloc((size_t)grams * sizeof *refs);
            for (int64_t j = 0; j < grams; j++)
                refs[j] = (gram_ref){pool->ints + s + j * L, indexes->ints[id + j],
                                     w && w->n ? (float)w->floats[id + j] : 1.0f, L};
            *count = grams;
        }
        id += grams;
    }
    if (refs)
        qsort(refs, (size_t)*count, sizeof *refs, cmp_gram);
    return refs;
}

typedef struct col_weight {
    int64_t col;
    double w;
} col_weight;

static int cmp_col_weight(const void *a, const void *b)
{
    const col_weight *x = a, *y = b;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return (x->w > y->w) - (x->w < y->w);
}

/* Weights belong to n-grams (weights[i] to the n-gram ngram_indexes[i]
 * counts into, as the spec and onnxruntime have it); the output applies
 * them per column, so n-grams sharing a column must share a weight.
 * Checks that (reporting on c when given) and, with w, writes each
 * column's weight into w[out_size] (0 where no n-gram counts). */
static bool column_weights(op_ctx *c, const ir_node *n, float *w, int64_t out_size)
{
    const ir_attr *indexes = ir_attr_find(n, "ngram_indexes"), *wa = ir_attr_find(n, "weights");
    col_weight *cw = hd_xmalloc(indexes->n * sizeof *cw);
    for (size_t i = 0; i < indexes->n; i++)
        cw[i] = (col_weight){indexes->ints[i], wa->floats[i]};
    qsort(cw, indexes->n, sizeof *cw, cmp_col_weight);
    bool ok = true;
    for (size_t i = 0; ok && i + 1 < indexes->n; i++)
        if (cw[i].col == cw[i + 1].col && cw[i].w != cw[i + 1].w) {
            ok = false;
            if (c)
                op_fail(c, "ngram_indexes sends n-grams of different weights to output column %lld",
                        (long long)cw[i].col);
        }
    if (ok && w) {
        for (int64_t k = 0; k < out_size; k++)
            w[k] = 0.0f;
        for (size_t i = 0; i < indexes->n; i++)
            if (cw[i].col < out_size)
                w[cw[i].col] = (float)cw[i].w;
    }
    free(cw);
    return ok;
}

static bool tfidf_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, tfidf_plan *p)
{
#define TF_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    static const char *const required[] = {"max_gram_length", "min_gram_length", "max_skip_count",
                                           "mode",            "ngram_counts",    "ngram_indexes"};
    for (size_t i = 0; i < HD_ARRAY_LEN(required); i++)
        if (!ir_attr_find(n, required[i]))
            return TF_FAIL("attribute '%s' is required", required[i]);
    if (attr_len(n, "pool_strings"))
        return TF_FAIL("a pool of strings ('pool_strings') is not supported: Hodu has no string tensors");
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->dtype != HODU_DTYPE_I32 && x->dtype != HODU_DTYPE_I64)
        return TF_FAIL("input '%s' has type %s; TfIdfVectorizer takes int32 or int64 tokens", x->name,
                       ir_dtype_name(x->dtype));
    if (x->rank != 1 && x->rank != 2)
        return TF_FAIL("input '%s' must be [C] or [N, C], not rank %d", x->name, x->rank);
    p->rows = x->rank == 2 ? x->dims[0].size : 1;
    p->C = x->dims[x->rank - 1].size;

    const char *mode = ir_attr_string(n, "mode", "");
    if (strcmp(mode, "TF") == 0)
        p->mode = TFIDF_TF;
    else if (strcmp(mode, "IDF") == 0)
        p->mode = TFIDF_IDF;
    else if (strcmp(mode, "TFIDF") == 0)
        p->mode = TFIDF_TFIDF;
    else
        return TF_FAIL("attribute 'mode' value '%s' is not one of TF, IDF, TFIDF", mode);
    int64_t lo = ir_attr_int(n, "min_gram_length", 0), hi = ir_attr_int(n, "max_gram_length", 0);
    p->max_skip = ir_attr_int(n, "max_skip_count", 0);
    if (lo < 1 || hi < lo)
        return TF_FAIL("n-gram lengths %lld..%lld: min_gram_length must be at least 1 and at most max_gram_length",
                       (long long)lo, (long long)hi);
    if (p->max_skip < 0)
        return TF_FAIL("attribute 'max_skip_count' must not be negative, not %lld", (long long)p->max_skip);

    /* The pool: block i holds n-grams of length i + 1, from ngram_counts[i]
     * to the next block's start; each has an id, in pool order. */
    const ir_attr *counts = ir_attr_find(n, "ngram_counts");
    const size_t pool_len = attr_len(n, "pool_int64s");
    int64_t ids = 0, prev = 0;
    for (size_t i = 0; i < counts->n; i++) {
        int64_t s, e;
        tfidf_block(n, i, &s, &e);
        if (s < prev || s > (int64_t)pool_len || e < s)
            return TF_FAIL("ngram_counts must be non-decreasing offsets into the pool of %zu tokens; entry %zu is %lld",
                           pool_len, i, (long long)s);
        prev = s;
        ids += (e - s) / (int64_t)(i + 1);
    }
    const ir_attr *indexes = ir_attr_find(n, "ngram_indexes");
    if ((int64_t)indexes->n < ids)
        return TF_FAIL("the pool holds %lld n-grams but ngram_indexes has %zu entries", (long long)ids, indexes->n);
    int64_t top = -1;
    for (size_t i = 0; i < indexes->n; i++) {
        if (indexes->ints[i] < 0)
            return TF_FAIL("ngram_indexes[%zu] is negative (%lld)", i, (long long)indexes->ints[i]);
        if (indexes->ints[i] > top)
            top = indexes->ints[i];
    }
    if (top < 0)
        return TF_FAIL("ngram_indexes is empty");
    if (top == INT64_MAX)
        return TF_FAIL("ngram_indexes entry %lld is too large", (long long)top);
    p->out_size = top + 1;
    p->has_weights = attr_len(n, "weights") > 0;
    if (p->has_weights && attr_len(n, "weights") != indexes->n)
        return TF_FAIL("attribute 'weights' has %zu entries; it needs one per n-gram, as ngram_indexes (%zu)",
                       attr_len(n, "weights"), indexes->n);
    /* An n-gram listed twice would count twice or not at all depending on
     * the runtime; refuse it, as onnxruntime does. */
    for (size_t i = 0; i < counts->n && i < (size_t)INT32_MAX; i++) {
        int64_t found;
        gram_ref *refs = collect_grams(n, (int)i + 1, &found);
        for (int64_t j = 0; j + 1 < found; j++)
            if (cmp_gram(&refs[j], &refs[j + 1]) == 0) {
                free(refs);
                return TF_FAIL("the pool lists an n-gram of length %zu twice", i + 1);
            }
        free(refs);
    }
    if (p->has_weights && p->mode != TFIDF_TF && !column_weights(c, n, NULL, 0))
        return false;
    /* Longer n-grams than the pool holds, or than fit in a row, never match. */
    if (hi > (int64_t)counts->n)
        hi = (int64_t)counts->n;
    if (hi > p->C)
        hi = p->C;
    p->min_len = (int)(lo < hi ? lo : hi);
    p->max_len = (int)hi;
    /* a skip distance of C or more leaves no second token in the row */
    if (p->max_skip > p->C)
        p->max_skip = p->C;
    return true;
#undef TF_FAIL
}

bool tfidf_plan_of(const ir_graph *g, int node, tfidf_plan *p) { return tfidf_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_tfidf(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    tfidf_plan p;
    if (!tfidf_resolve(c, c->g, op_node(c), &p))
        return false;
    int64_t dims[2] = {p.rows, p.out_size};
    if (x->rank == 1)
        op_set_out(c, 0, HODU_DTYPE_F32, 1, &p.out_size);
    else
        op_set_out(c, 0, HODU_DTYPE_F32, 2, dims);
    return true;
}

bool tfidf_grams_of(const ir_graph *g, int node, int L, tfidf_grams *out)
{
    memset(out, 0, sizeof *out);
    tfidf_plan p;
    if (!tfidf_plan_of(g, node, &p))
        return false;
    if (L < p.min_len || L > p.max_len)
        return true;
    int64_t found;
    gram_ref *refs = collect_grams(ir_nd(g, node), L, &found);
    if (!refs)
        return true;
    out->keys = hd_xmalloc((size_t)found * (size_t)L * sizeof(int64_t));
    out->cols = hd_xmalloc((size_t)found * sizeof(int64_t));
    for (int64_t j = 0; j < found; j++) {
        memcpy(out->keys + j * L, refs[j].key, (size_t)L * sizeof(int64_t));
        out->cols[j] = refs[j].col;
    }
    out->n = found;
    free(refs);
    return true;
}

bool tfidf_weights_of(const ir_graph *g, int node, float *w, int64_t out_size)
{
    return column_weights(NULL, ir_nd(g, node), w, out_size);
}

void tfidf_grams_free(tfidf_grams *t)
{
    free(t->keys);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

/* ======================================================================== */

OP_DEF(BINARIZER, .attrs = binarizer_attrs, .infer = infer_binarizer);
OP_DEF(ARRAY_FEATURE_EXTRACTOR, .infer = infer_afe);
OP_DEF(TFIDF_VECTORIZER, .attrs = tfidf_attrs, .infer = infer_tfidf);
