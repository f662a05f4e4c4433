/*
 * ops/ml.c - the ml family: classical machine-learning ops.  Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble (ai.onnx.ml), TfIdfVectorizer
 * (ai.onnx, opset 9),
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

static const op_attr_spec tfidf_attrs[] = {{"max_gram_length", IR_ATTR_INT}, {"max_skip_count", IR_ATTR_INT},
                                           {"min_gram_length", IR_ATTR_INT}, {"mode", IR_ATTR_STRING},
                                           {"ngram_counts", IR_ATTR_INTS},   {"ngram_indexes", IR_ATTR_INTS},
                                           {"pool_int64s", IR_ATTR_INTS},    {"pool_strings", IR_ATTR_STRINGS},
                                           {"weights", IR_ATTR_FLOATS},      {NULL, 0}};

/* The longest n-gram a pool may hold (blocks in ngram_counts). */
#define TFIDF_MAX_GRAM 256

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
    static const char *const required[] = {"max_gram_length", "min_gram_length", "max_skip_count", "mode",
                                           "ngram_counts",    "ngram_indexes"};
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
    /* Lookups walk the blocks once per length: a bound keeps that small
     * whatever the attribute holds. */
    if (counts->n > TFIDF_MAX_GRAM)
        return TF_FAIL("ngram_counts has %zu entries; n-grams of more than %d tokens are not supported", counts->n,
                       TFIDF_MAX_GRAM);
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
/* TreeEnsemble                                                              */
/* ======================================================================== */

static const op_attr_spec tree_attrs[] = {{"aggregate_function", IR_ATTR_INT},
                                          {"leaf_targetids", IR_ATTR_INTS},
                                          {"leaf_weights", IR_ATTR_TENSOR},
                                          {"membership_values", IR_ATTR_TENSOR},
                                          {"n_targets", IR_ATTR_INT},
                                          {"nodes_falseleafs", IR_ATTR_INTS},
                                          {"nodes_falsenodeids", IR_ATTR_INTS},
                                          {"nodes_featureids", IR_ATTR_INTS},
                                          {"nodes_hitrates", IR_ATTR_TENSOR},
                                          {"nodes_missing_value_tracks_true", IR_ATTR_INTS},
                                          {"nodes_modes", IR_ATTR_TENSOR},
                                          {"nodes_splits", IR_ATTR_TENSOR},
                                          {"nodes_trueleafs", IR_ATTR_INTS},
                                          {"nodes_truenodeids", IR_ATTR_INTS},
                                          {"post_transform", IR_ATTR_INT},
                                          {"tree_roots", IR_ATTR_INTS},
                                          {NULL, 0}};

/* An ints attribute of exactly `want` entries (any count when want < 0). */
static const int64_t *tree_ints(op_ctx *c, const ir_node *n, const char *name, long want, size_t *len)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a || (want >= 0 && a->n != (size_t)want)) {
        if (c)
            op_fail(c, "attribute '%s' must have %ld entries, one per %s", name, want,
                    strncmp(name, "leaf", 4) == 0 ? "leaf" : "node");
        return NULL;
    }
    *len = a->n;
    return a->ints;
}

/* A tensor attribute read as doubles, allocated; NULL (and *len 0) when
 * absent and not required. */
static bool tree_tensor(op_ctx *c, const ir_graph *g, const ir_node *n, const char *name, bool required, double **out,
                        size_t *len)
{
    const ir_attr *a = ir_attr_find(n, name);
    *out = NULL;
    *len = 0;
    if (!a || a->tensor < 0) {
        if (required && c)
            op_fail(c, "attribute '%s' is required", name);
        return !required;
    }
    int64_t numel = ir_value_numel(ir_val(g, a->tensor));
    *out = hd_xmalloc((size_t)(numel ? numel : 1) * sizeof(double));
    if (ir_const_as_f64(g, a->tensor, *out, (size_t)numel) != numel) {
        if (c)
            op_fail(c, "attribute '%s' must be a numeric tensor", name);
        return false;
    }
    *len = (size_t)numel;
    return true;
}

void tree_plan_free(tree_plan *p)
{
    free(p->nodes);
    free(p->leaf_weight);
    free(p->leaf_target);
    free(p->roots);
    free(p->root_is_leaf);
    free(p->members);
    memset(p, 0, sizeof *p);
}

/* Every walk from a root must end at a leaf: node ids in range and no
 * cycle (an iterative depth-first search, marks 1 = on the path, 2 = done). */
static bool tree_acyclic(op_ctx *c, const tree_plan *p)
{
    uint8_t *mark = hd_xcalloc(p->n_nodes ? p->n_nodes : 1, 1);
    int64_t *stack = hd_xmalloc((p->n_nodes + 1) * 2 * sizeof(int64_t)); /* node, next branch */
    bool ok = true;
    for (size_t r = 0; ok && r < p->n_roots; r++) {
        if (p->root_is_leaf[r] || mark[p->roots[r]] == 2)
            continue;
        size_t top = 0;
        stack[0] = p->roots[r];
        stack[1] = 0;
        mark[p->roots[r]] = 1;
        while (ok && top != SIZE_MAX) {
            int64_t id = stack[2 * top], br = stack[2 * top + 1]++;
            const tree_node *t = &p->nodes[id];
            if (br == 2) {
                mark[id] = 2;
                top = top ? top - 1 : SIZE_MAX;
                continue;
            }
            bool leaf = br == 0 ? t->true_leaf : t->false_leaf;
            int64_t next = br == 0 ? t->true_id : t->false_id;
            if (leaf || mark[next] == 2)
                continue;
            if (mark[next] == 1) {
                ok = false;
                if (c)
                    op_fail(c, "the trees loop: node %lld leads back to node %lld", (long long)id, (long long)next);
                break;
            }
            mark[next] = 1;
            top++;
            stack[2 * top] = next;
            stack[2 * top + 1] = 0;
        }
    }
    free(stack);
    free(mark);
    return ok;
}

static bool tree_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, tree_plan *p)
{
#define TR_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->dtype != HODU_DTYPE_F32 && x->dtype != HODU_DTYPE_F64 && x->dtype != HODU_DTYPE_F16)
        return TR_FAIL("input '%s' has type %s; TreeEnsemble takes float, double or float16", x->name,
                       ir_dtype_name(x->dtype));
    if (x->rank != 2)
        return TR_FAIL("input '%s' must be [N, features], not rank %d", x->name, x->rank);
    p->rows = x->dims[0].size;
    p->F = x->dims[1].size;
    p->n_targets = ir_attr_int(n, "n_targets", 0);
    if (!ir_attr_find(n, "n_targets") || p->n_targets < 1)
        return TR_FAIL("attribute 'n_targets' must be given and positive");
    int64_t agg = ir_attr_int(n, "aggregate_function", TREE_SUM), post = ir_attr_int(n, "post_transform", 0);
    if (agg < TREE_AVERAGE || agg > TREE_MAX)
        return TR_FAIL("attribute 'aggregate_function' value %lld is not 0..3", (long long)agg);
    if (post == 4)
        return TR_FAIL("post_transform PROBIT is not supported");
    if (post < 0 || post > 3)
        return TR_FAIL("attribute 'post_transform' value %lld is not 0..4", (long long)post);
    p->aggregate = (tree_aggregate)agg;
    p->post = (tree_post)post;

    size_t nn, len;
    const int64_t *feature = tree_ints(c, n, "nodes_featureids", -1, &nn);
    if (!feature)
        return false;
    const int64_t *tid = tree_ints(c, n, "nodes_truenodeids", (long)nn, &len);
    const int64_t *fid = tid ? tree_ints(c, n, "nodes_falsenodeids", (long)nn, &len) : NULL;
    const int64_t *tleaf = fid ? tree_ints(c, n, "nodes_trueleafs", (long)nn, &len) : NULL;
    const int64_t *fleaf = tleaf ? tree_ints(c, n, "nodes_falseleafs", (long)nn, &len) : NULL;
    if (!fleaf)
        return false;
    const int64_t *missing = NULL;
    if (ir_attr_find(n, "nodes_missing_value_tracks_true") &&
        !(missing = tree_ints(c, n, "nodes_missing_value_tracks_true", (long)nn, &len)))
        return false;
    size_t nl;
    const int64_t *target = tree_ints(c, n, "leaf_targetids", -1, &nl);
    if (!target)
        return false;
    const ir_attr *roots = ir_attr_find(n, "tree_roots");
    if (!roots || roots->n == 0)
        return TR_FAIL("attribute 'tree_roots' must list at least one root");
    double *splits = NULL, *modes = NULL, *weights = NULL;
    size_t n_splits, n_modes, n_weights;
    bool ok = tree_tensor(c, g, n, "nodes_splits", true, &splits, &n_splits) &&
              tree_tensor(c, g, n, "nodes_modes", true, &modes, &n_modes) &&
              tree_tensor(c, g, n, "leaf_weights", true, &weights, &n_weights) &&
              tree_tensor(c, g, n, "membership_values", false, &p->members, &p->n_members);
    if (ok && (n_splits != nn || n_modes != nn))
        ok = TR_FAIL("nodes_splits and nodes_modes must have one entry per node (%zu)", nn);
    if (ok && n_weights != nl)
        ok = TR_FAIL("leaf_weights must have one entry per leaf (%zu)", nl);
    p->n_nodes = nn;
    p->n_leaves = nl;
    p->n_roots = roots->n;
    p->nodes = hd_xcalloc(nn ? nn : 1, sizeof *p->nodes);
    p->leaf_weight = weights;
    weights = NULL;
    p->leaf_target = hd_xmalloc((nl ? nl : 1) * sizeof(int64_t));
    p->roots = hd_xmalloc(roots->n * sizeof(int64_t));
    p->root_is_leaf = hd_xcalloc(roots->n, sizeof(bool));
    /* BRANCH_MEMBER sets, in node order, each ended by a NaN */
    size_t member_at = 0;
    for (size_t i = 0; ok && i < nn; i++) {
        tree_node *t = &p->nodes[i];
        if (!(modes[i] >= TREE_LEQ && modes[i] <= TREE_MEMBER))
            ok = TR_FAIL("nodes_modes[%zu] is %g, not a mode 0..6", i, modes[i]);
        else if (feature[i] < 0 || feature[i] >= p->F)
            ok = TR_FAIL("node %zu reads feature %lld; X has %lld", i, (long long)feature[i], (long long)p->F);
        else if ((!tleaf[i] && (tid[i] < 0 || (uint64_t)tid[i] >= nn)) ||
                 (!fleaf[i] && (fid[i] < 0 || (uint64_t)fid[i] >= nn)))
            ok = TR_FAIL("node %zu branches to a node that does not exist", i);
        else if ((tleaf[i] && (tid[i] < 0 || (uint64_t)tid[i] >= nl)) ||
                 (fleaf[i] && (fid[i] < 0 || (uint64_t)fid[i] >= nl)))
            ok = TR_FAIL("node %zu branches to a leaf that does not exist", i);
        if (!ok)
            break;
        t->mode = (uint8_t)modes[i];
        t->split = splits[i];
        t->feature = feature[i];
        t->true_id = tid[i];
        t->false_id = fid[i];
        t->true_leaf = tleaf[i] != 0;
        t->false_leaf = fleaf[i] != 0;
        t->missing_true = missing && missing[i];
        if (t->mode == TREE_MEMBER) {
            t->set_start = (int64_t)member_at;
            while (member_at < p->n_members && p->members[member_at] == p->members[member_at])
                member_at++;
            if (member_at == p->n_members)
                ok = TR_FAIL("membership_values holds fewer NaN-ended sets than there are BRANCH_MEMBER nodes");
            t->set_len = (int64_t)member_at - t->set_start;
            member_at++;
        }
    }
    for (size_t l = 0; ok && l < nl; l++) {
        p->leaf_target[l] = target[l];
        if (target[l] < 0 || target[l] >= p->n_targets)
            ok = TR_FAIL("leaf %zu adds to target %lld; there are %lld", l, (long long)target[l],
                         (long long)p->n_targets);
    }
    for (size_t r = 0; ok && r < roots->n; r++) {
        int64_t id = roots->ints[r];
        if (id < 0 || (uint64_t)id >= nn) {
            ok = TR_FAIL("tree root %lld is not a node", (long long)id);
            break;
        }
        const tree_node *t = &p->nodes[id];
        p->roots[r] = id;
        p->root_is_leaf[r] = t->true_leaf && t->false_leaf && t->true_id == t->false_id;
        if (p->root_is_leaf[r] && (uint64_t)id >= nl)
            ok = TR_FAIL("tree root %lld is a leaf that does not exist", (long long)id);
    }
    if (ok)
        ok = tree_acyclic(c, p);
    free(splits);
    free(modes);
    free(weights);
    return ok;
#undef TR_FAIL
}

bool tree_plan_of(const ir_graph *g, int node, tree_plan *p) { return tree_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_tree(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    tree_plan p;
    bool ok = tree_resolve(c, c->g, op_node(c), &p);
    int64_t dims[2] = {p.rows, p.n_targets};
    tree_plan_free(&p);
    if (ok)
        op_set_out(c, 0, x->dtype, 2, dims);
    return ok;
}

/* ======================================================================== */

OP_DEF(BINARIZER, .attrs = binarizer_attrs, .infer = infer_binarizer);
OP_DEF(ARRAY_FEATURE_EXTRACTOR, .infer = infer_afe);
OP_DEF(TFIDF_VECTORIZER, .attrs = tfidf_attrs, .infer = infer_tfidf);
OP_DEF(TREE_ENSEMBLE, .attrs = tree_attrs, .infer = infer_tree);
