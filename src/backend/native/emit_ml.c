/*
 * emit_ml.c - native lowerings of the ml family: Binarizer,
 * ArrayFeatureExtractor, TfIdfVectorizer and TreeEnsemble (src/ops/ml.c holds their
 * semantics, src/ops/ml.h the plans read here).
 *
 * TfIdfVectorizer looks n-grams up in tables laid out at build time: per
 * length L, the pool's n-grams of that length sorted by their tokens,
 * with their output columns, appended to the weight blob; a lookup is a
 * binary search over one table.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "native.h"
#include "ops/ml.h"
#include "ops/ops.h"

static bool emit_binarizer(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    const char *ct = em_ctype(x->dtype);
    double threshold = ir_attr_float(em_node(e), "threshold", 0.0);
    em_par_for(e, "i", ir_value_numel(x), 64, ir_value_numel(x));
    /* compared in double, as numpy compares an array with a Python float */
    em_line(e, "out0[i] = (%s)((double)in0[i] > %s);", ct, em_f64(threshold).s);
    em_close(e);
    return true;
}

/* Indices come at run time: each must name a column of X. */
static bool emit_afe(op_emit *e)
{
    afe_plan p;
    if (!afe_plan_of(e->g, e->node, &p)) {
        hd_error(e->d, "internal error: no ArrayFeatureExtractor plan for node %d", e->node);
        return false;
    }
    e->can_fail = true;
    em_for(e, "j", p.k);
    em_line(e, "if (in1[j] < 0 || in1[j] >= %" PRId64 ") return 1;", p.F);
    em_close(e);
    em_for(e, "r", p.rows);
    em_for(e, "j", p.k);
    em_line(e, "out0[r * %" PRId64 " + j] = in0[r * %" PRId64 " + in1[j]];", p.k, p.F);
    em_close(e);
    em_close(e);
    return true;
}

static bool emit_tfidf(op_emit *e)
{
    tfidf_plan p;
    if (!tfidf_plan_of(e->g, e->node, &p)) {
        hd_error(e->d, "internal error: no TfIdfVectorizer plan for node %d", e->node);
        return false;
    }
    const int64_t C = p.C, W = p.out_size;
    em_par_for(e, "r", p.rows, 1, C * (p.max_skip + 1) * (p.max_len + 1) * 8);
    em_line(e, "float *y = out0 + r * %" PRId64 ";", W);
    em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) y[c] = 0.0f;", W);
    em_line(e, "const %s *x = in0 + r * %" PRId64 ";", em_ctype(em_in(e, 0)->dtype), C);
    for (int L = p.min_len > 1 ? p.min_len : 1; L <= p.max_len; L++) {
        tfidf_grams t;
        if (!tfidf_grams_of(e->g, e->node, L, &t))
            return false;
        if (t.n == 0) {
            tfidf_grams_free(&t);
            continue;
        }
        em_expr keys = em_blob(e, t.keys, (size_t)t.n * (size_t)L * sizeof(int64_t));
        em_expr cols = em_blob(e, t.cols, (size_t)t.n * sizeof(int64_t));
        const int64_t n_grams = t.n;
        tfidf_grams_free(&t);
        em_line(e, "{");
        em_line(e, "    const int64_t *keys = (const int64_t *)(const void *)(%s);", keys.s);
        em_line(e, "    const int64_t *cols = (const int64_t *)(const void *)(%s);", cols.s);
        /* unigrams count once, at skip distance 1 */
        em_line(e, "    for (int64_t s = 1; s <= %" PRId64 "; s++) {", L == 1 ? 1 : p.max_skip + 1);
        em_line(e, "        for (int64_t st = 0; st + %d * s < %" PRId64 "; st++) {", L - 1, C);
        em_line(e, "            int64_t lo = 0, hi = %" PRId64 ";", n_grams);
        em_line(e, "            while (lo < hi) {");
        em_line(e, "                const int64_t mid = lo + (hi - lo) / 2;");
        em_line(e, "                const int64_t *k = keys + mid * %d;", L);
        em_line(e, "                int cmp = 0;");
        em_line(e, "                for (int64_t j = 0; j < %d && !cmp; j++) {", L);
        em_line(e, "                    const int64_t v = (int64_t)x[st + j * s];");
        em_line(e, "                    cmp = (v > k[j]) - (v < k[j]);");
        em_line(e, "                }");
        em_line(e, "                if (!cmp) { y[cols[mid]] += 1.0f; break; }");
        em_line(e, "                if (cmp < 0) hi = mid; else lo = mid + 1;");
        em_line(e, "            }");
        em_line(e, "        }");
        em_line(e, "    }");
        em_line(e, "}");
    }
    if (p.mode != TFIDF_TF) {
        em_expr wexpr = {"0"};
        if (p.has_weights) {
            float *wf = hd_xmalloc((size_t)W * sizeof(float));
            bool ok = tfidf_weights_of(e->g, e->node, wf, W);
            if (ok)
                wexpr = em_blob(e, wf, (size_t)W * sizeof(float));
            free(wf);
            if (!ok)
                return false;
        }
        em_line(e, "for (int64_t c = 0; c < %" PRId64 "; c++) {", W);
        const char *weight = p.has_weights ? "w[c]" : "1.0f";
        if (p.has_weights)
            em_line(e, "    const float *w = %s;", wexpr.s);
        if (p.mode == TFIDF_IDF)
            em_line(e, "    y[c] = y[c] > 0.0f ? %s : 0.0f;", weight);
        else
            em_line(e, "    y[c] = y[c] * %s;", weight);
        em_line(e, "}");
    }
    em_close(e);
    return true;
}

/* TreeEnsemble walks the trees from tables laid out at build time (the
 * semantics validated every id and that no walk loops, so each walk ends
 * at a leaf): per node its feature, branch targets and flags (mode in the
 * low byte, then true-is-leaf, false-is-leaf, NaN-goes-true), its split,
 * and BRANCH_MEMBER sets as runs of a member array; per leaf its weight
 * and target; per tree its root and whether the root is itself a leaf.
 * Sums run in double and are stored in X's type; a target no leaf
 * reaches is 0 (also for MIN and MAX, as in onnxruntime; the ONNX
 * reference leaves the type's extremes there). */
static bool emit_tree(op_emit *e)
{
    tree_plan p;
    if (!tree_plan_of(e->g, e->node, &p)) {
        tree_plan_free(&p);
        hd_error(e->d, "internal error: no TreeEnsemble plan for node %d", e->node);
        return false;
    }
    const size_t nn = p.n_nodes, nl = p.n_leaves, nr = p.n_roots;
    int64_t *info = hd_xmalloc(nn * 6 * sizeof(int64_t));
    double *split = hd_xmalloc(nn * sizeof(double));
    bool any_member = false;
    for (size_t i = 0; i < nn; i++) {
        const tree_node *t = &p.nodes[i];
        info[6 * i] = t->feature;
        info[6 * i + 1] = t->true_id;
        info[6 * i + 2] = t->false_id;
        info[6 * i + 3] =
            t->mode | (int64_t)t->true_leaf << 8 | (int64_t)t->false_leaf << 9 | (int64_t)t->missing_true << 10;
        info[6 * i + 4] = t->set_start;
        info[6 * i + 5] = t->set_len;
        split[i] = t->split;
        any_member |= t->mode == TREE_MEMBER;
    }
    int64_t *roots = hd_xmalloc(nr * 2 * sizeof(int64_t));
    for (size_t r = 0; r < nr; r++) {
        roots[2 * r] = p.roots[r];
        roots[2 * r + 1] = p.root_is_leaf[r];
    }
    const em_expr info_at = em_blob(e, info, nn * 6 * sizeof(int64_t));
    const em_expr split_at = em_blob(e, split, nn * sizeof(double));
    const em_expr roots_at = em_blob(e, roots, nr * 2 * sizeof(int64_t));
    const em_expr weight_at = em_blob(e, p.leaf_weight, (nl ? nl : 1) * sizeof(double));
    const em_expr target_at = em_blob(e, p.leaf_target, (nl ? nl : 1) * sizeof(int64_t));
    em_expr members_at = {"0"};
    if (any_member && p.n_members)
        members_at = em_blob(e, p.members, p.n_members * sizeof(double));
    free(info);
    free(split);
    free(roots);

    const hodu_dtype t = em_in(e, 0)->dtype;
    const int64_t T = p.n_targets, F = p.F;
    const bool minmax = p.aggregate == TREE_MIN || p.aggregate == TREE_MAX;
    em_line(e, "const int64_t *info = (const int64_t *)(const void *)(%s);", info_at.s);
    em_line(e, "const double *split = (const double *)(const void *)(%s);", split_at.s);
    em_line(e, "const int64_t *roots = (const int64_t *)(const void *)(%s);", roots_at.s);
    em_line(e, "const double *weight = (const double *)(const void *)(%s);", weight_at.s);
    em_line(e, "const int64_t *target = (const int64_t *)(const void *)(%s);", target_at.s);
    if (any_member)
        em_line(e, "const double *members = (const double *)(const void *)(%s);", members_at.s);
    em_par_for(e, "r", p.rows, 1, (int64_t)nr * 16 + T);
    em_line(e, "double acc[%" PRId64 "];", T);
    em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) acc[k] = 0.0;", T);
    if (minmax) {
        /* a target no leaf reaches stays 0, as in onnxruntime */
        em_line(e, "unsigned char seen[%" PRId64 "];", T);
        em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) seen[k] = 0;", T);
    }
    em_for(e, "tr", (int64_t)nr);
    em_line(e, "int64_t id = roots[2 * tr];");
    em_line(e, "int leaf = (int)roots[2 * tr + 1];");
    em_line(e, "while (!leaf) {");
    em_line(e, "    const int64_t *nd = info + id * 6;");
    char *at = hd_xasprintf("in0[r * %" PRId64 " + nd[0]]", F);
    char *load = em_load(t, at);
    em_line(e, "    const double v = (double)%s;", load);
    free(load);
    free(at);
    em_line(e, "    const double s = split[id];");
    em_line(e, "    int c = 0;");
    em_line(e, "    switch (nd[3] & 255) {");
    em_line(e, "    case 0: c = v <= s; break;");
    em_line(e, "    case 1: c = v < s; break;");
    em_line(e, "    case 2: c = v >= s; break;");
    em_line(e, "    case 3: c = v > s; break;");
    em_line(e, "    case 4: c = v == s; break;");
    em_line(e, "    case 5: c = v != s; break;");
    if (any_member)
        em_line(e, "    default: for (int64_t j = 0; j < nd[5] && !c; j++) c = members[nd[4] + j] == v; break;");
    else
        em_line(e, "    default: break;");
    em_line(e, "    }");
    em_line(e, "    if (v != v && (nd[3] >> 10 & 1)) c = 1;");
    em_line(e, "    leaf = (int)(nd[3] >> (c ? 8 : 9) & 1);");
    em_line(e, "    id = c ? nd[1] : nd[2];");
    em_line(e, "}");
    em_line(e, "const double w = weight[id];");
    em_line(e, "double *a = &acc[target[id]];");
    switch (p.aggregate) {
    case TREE_SUM: em_line(e, "*a += w;"); break;
    case TREE_AVERAGE: em_line(e, "*a += w / %zu.0;", nr); break;
    case TREE_MIN: em_line(e, "if (!seen[target[id]] || w < *a) { *a = w; seen[target[id]] = 1; }"); break;
    case TREE_MAX: em_line(e, "if (!seen[target[id]] || w > *a) { *a = w; seen[target[id]] = 1; }"); break;
    }
    em_close(e);
    switch (p.post) {
    case TREE_POST_NONE: break;
    case TREE_POST_LOGISTIC:
        em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) acc[k] = 1.0 / (1.0 + exp(-acc[k]));", T);
        break;
    case TREE_POST_SOFTMAX:
    case TREE_POST_SOFTMAX_ZERO: {
        /* SOFTMAX_ZERO leaves zero scores at zero and out of the sum */
        const char *skip = p.post == TREE_POST_SOFTMAX_ZERO ? "if (acc[k] == 0.0) continue; " : "";
        em_line(e, "double mx = -INFINITY, sum = 0.0;");
        em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) { %sif (acc[k] > mx) mx = acc[k]; }", T, skip);
        em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) { %sacc[k] = exp(acc[k] - mx); sum += acc[k]; }", T,
                skip);
        em_line(e, "for (int64_t k = 0; k < %" PRId64 "; k++) acc[k] /= sum;", T);
        break;
    }
    }
    em_for(e, "k", T);
    char *st = em_store(t, "acc[k]");
    em_line(e, "out0[r * %" PRId64 " + k] = %s;", T, st);
    free(st);
    em_close(e);
    em_close(e);
    tree_plan_free(&p);
    return true;
}

void native_register_ml(native_lowering *table)
{
    table[OP_BINARIZER] = (native_lowering){.emit = emit_binarizer};
    table[OP_ARRAY_FEATURE_EXTRACTOR] = (native_lowering){.emit = emit_afe};
    table[OP_TFIDF_VECTORIZER] = (native_lowering){.emit = emit_tfidf};
    table[OP_TREE_ENSEMBLE] = (native_lowering){.emit = emit_tree};
}
