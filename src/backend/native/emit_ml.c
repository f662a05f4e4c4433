/*
 * emit_ml.c - native lowerings of the ml family: Binarizer,
 * ArrayFeatureExtractor and TfIdfVectorizer (src/ops/ml.c holds their
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

void native_register_ml(native_lowering *table)
{
    table[OP_BINARIZER] = (native_lowering){.emit = emit_binarizer};
    table[OP_ARRAY_FEATURE_EXTRACTOR] = (native_lowering){.emit = emit_afe};
    table[OP_TFIDF_VECTORIZER] = (native_lowering){.emit = emit_tfidf};
}
