/*
 * ops/ml.h - the ml family's semantic face for backends (ops/ml.c):
 * classical machine-learning ops, from ai.onnx.ml (Binarizer,
 * ArrayFeatureExtractor, TreeEnsemble) and the default domain
 * (TfIdfVectorizer).  The
 * getters resolve a node with the code shape inference validates with;
 * they expect a node inference accepted and return false (reporting
 * nothing) otherwise.
 */
#ifndef HODU_OPS_ML_H
#define HODU_OPS_ML_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* ArrayFeatureExtractor: X [..., F] (a 1-D X counts as [1, F]), indices
 * int64 (k of them, any shape), read when the model runs; Z [..., k] holds
 * X's columns at the indices. */
typedef struct afe_plan {
    int64_t rows, F, k;
} afe_plan;

bool afe_plan_of(const ir_graph *g, int node, afe_plan *p);

/* TfIdfVectorizer over int32 or int64 tokens: X [C] or [N, C]; Y float
 * [out_size] or [N, out_size].  Per row, for every skip distance s from 1
 * to max_skip + 1 and every start position, each n-gram of length L (from
 * min_len, at least 2 when s > 1, to max_len) made of the tokens at start,
 * start + s, ..., start + (L-1)s that lies inside the row and is in the
 * pool adds one to its output column.  Then TF keeps the counts, IDF
 * writes the column's weight (1 without weights) where a count is
 * positive, TFIDF multiplies the counts by the weights.  An n-gram listed
 * twice in the pool is an error (as in onnxruntime). */
typedef enum tfidf_mode { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF } tfidf_mode;

typedef struct tfidf_plan {
    int64_t rows, C, out_size;
    int min_len, max_len; /* n-gram lengths counted */
    int64_t max_skip;
    tfidf_mode mode;
    bool has_weights; /* attribute 'weights': one per n-gram (tfidf_weights_of) */
} tfidf_plan;

bool tfidf_plan_of(const ir_graph *g, int node, tfidf_plan *p);

/* The pool's n-grams of one length L, in ascending lexicographic order of
 * their tokens: keys holds n * L tokens, cols the n output columns.  Free
 * with tfidf_grams_free. */
typedef struct tfidf_grams {
    int64_t n;
    int64_t *keys;
    int64_t *cols;
} tfidf_grams;

bool tfidf_grams_of(const ir_graph *g, int node, int L, tfidf_grams *out);
void tfidf_grams_free(tfidf_grams *t);

/* Each output column's weight, into w[out_size]: the weight of the n-grams
 * that count into it (weights[i] belongs to n-gram i, as in the spec and
 * onnxruntime), 0 for a column no n-gram counts into. */
bool tfidf_weights_of(const ir_graph *g, int node, float *w, int64_t out_size);

/* TreeEnsemble (ai.onnx.ml 5): X [N, F] float, double or float16; Y [N,
 * n_targets] of X's type.  Each tree, from its root, walks interior nodes:
 * node i compares X[r, feature[i]] with its split by mode[i] (or, for
 * BRANCH_MEMBER, tests membership in its set), true also when the value is
 * NaN and missing_true[i]; it then goes to true_id/false_id, a leaf when
 * true_leaf/false_leaf.  Leaf l adds weight[l] to target[l] by the
 * aggregate function; then the post transform.  A root whose two branches
 * are the same leaf is that leaf (the root's index names it). */
typedef enum tree_mode { TREE_LEQ, TREE_LT, TREE_GTE, TREE_GT, TREE_EQ, TREE_NEQ, TREE_MEMBER } tree_mode;
typedef enum tree_aggregate { TREE_AVERAGE, TREE_SUM, TREE_MIN, TREE_MAX } tree_aggregate;
typedef enum tree_post { TREE_POST_NONE, TREE_POST_SOFTMAX, TREE_POST_LOGISTIC, TREE_POST_SOFTMAX_ZERO } tree_post;

typedef struct tree_node {
    double split;
    int64_t feature, true_id, false_id;
    int64_t set_start, set_len; /* BRANCH_MEMBER: members[set_start ..] */
    uint8_t mode;               /* tree_mode */
    bool true_leaf, false_leaf, missing_true;
} tree_node;

typedef struct tree_plan {
    int64_t rows, F, n_targets;
    tree_aggregate aggregate;
    tree_post post;
    size_t n_nodes, n_leaves, n_roots, n_members;
    tree_node *nodes;
    double *leaf_weight;
    int64_t *leaf_target;
    int64_t *roots;     /* root node indices */
    bool *root_is_leaf; /* the root is a leaf (index into the leaves) */
    double *members;    /* every BRANCH_MEMBER set, one after the other */
} tree_plan;

/* Fills p (allocating; free with tree_plan_free, also after a failure). */
bool tree_plan_of(const ir_graph *g, int node, tree_plan *p);
void tree_plan_free(tree_plan *p);

#endif /* HODU_OPS_ML_H */
