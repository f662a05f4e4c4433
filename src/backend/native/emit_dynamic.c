/*
 * emit_dynamic.c - native lowerings of the ops whose output size depends on
 * data: NonZero, Compress, Unique, NonMaxSuppression (src/ops/dynamic.c
 * holds their semantics, src/ops/dynamic.h the views read here).
 *
 * Each writes its data dense for the actual size at the start of the output
 * buffer (which is sized for the bound) and stores the actual dims through
 * the `dimsK` parameter emit_c.c passes for every data-dependent output K.
 * Every write index is bounded by a count the code computed itself from
 * the data, never above the bound, so hostile values cannot push a write
 * outside a buffer; a NonMaxSuppression iou_threshold outside [0, 1] (NaN
 * included) stops the run with HODU_RUN_INPUT_VALUES.  Unique and NonMaxSuppression sort indices with a
 * stable bottom-up merge sort written per node (nK_sort), in scratch.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "native.h"
#include "ops/dynamic.h"
#include "ops/ops.h"

/* "x != 0" for one stored element; float16/bfloat16 test the bits without
 * the sign, so -0 is zero and NaN is not. */
static char *dyn_nonzero_test(hodu_dtype t, const char *x)
{
    if (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16)
        return hd_xasprintf("((%s & 0x7fff) != 0)", x);
    return hd_xasprintf("(%s != 0)", x);
}

/* A stable merge sort of idx[0..n) (tmp has room for n) by
 * nK_before(ctx, a, b), "a goes strictly before b", written once per node. */
static void dyn_emit_sort(op_emit *e)
{
    hd_buf_printf(e->decls,
                  "\nstatic void n%d_sort(int64_t *restrict idx, int64_t *restrict tmp, int64_t n, const void *ctx)\n"
                  "{\n"
                  "    for (int64_t w = 1; w < n; w *= 2) {\n"
                  "        for (int64_t lo = 0; lo < n; lo += 2 * w) {\n"
                  "            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;\n"
                  "            int64_t i = lo, j = mid, k = lo;\n"
                  "            while (i < mid && j < hi)\n"
                  "                tmp[k++] = n%d_before(ctx, idx[j], idx[i]) ? idx[j++] : idx[i++];\n"
                  "            while (i < mid)\n"
                  "                tmp[k++] = idx[i++];\n"
                  "            while (j < hi)\n"
                  "                tmp[k++] = idx[j++];\n"
                  "        }\n"
                  "        memcpy(idx, tmp, (size_t)n * sizeof *idx);\n"
                  "    }\n"
                  "}\n",
                  e->node, e->node);
}

/* ======================================================================== */
/* NonZero                                                                   */
/* ======================================================================== */

static bool emit_nonzero(op_emit *e)
{
    const ir_value *x = em_in(e, 0);
    int rank = x->rank > 0 ? x->rank : 1;
    char *test = dyn_nonzero_test(x->dtype, "in0[i]");
    /* the element count: this run's when the input has run-time dims (the
     * general path) */
    hd_buf n;
    hd_buf_init(&n);
    em_rt_elems(e->g, x, -1, &n);
    em_line(e, "const int64_t n = %s;", n.data);
    hd_buf_free(&n);
    em_line(e, "int64_t nnz = 0;");
    em_line(e, "for (int64_t i = 0; i < n; i++)");
    em_line(e, "    nnz += %s;", test);
    /* row d of the output holds every hit's index along dim d */
    em_line(e, "int64_t j = 0;");
    em_line(e, "for (int64_t i = 0; i < n && j < nnz; i++) {");
    em_line(e, "    if (!%s)", test);
    em_line(e, "        continue;");
    if (x->rank == 0) {
        em_line(e, "    out0[j] = 0;");
    } else {
        em_line(e, "    int64_t rem = i;");
        for (int d = x->rank - 1; d >= 0; d--) {
            const em_num dim = em_dim(e->g, x, d);
            em_line(e, "    out0[%d * nnz + j] = rem %% %s;", d, dim.s);
            if (d > 0)
                em_line(e, "    rem /= %s;", dim.s);
        }
    }
    em_line(e, "    j++;");
    em_line(e, "}");
    em_line(e, "dims0[0] = %d;", rank);
    em_line(e, "dims0[1] = j;");
    free(test);
    return true;
}

/* ======================================================================== */
/* Compress                                                                  */
/* ======================================================================== */

static bool emit_compress(op_emit *e)
{
    compress_plan p;
    if (!compress_plan_of(e->g, e->node, &p))
        return false;
    const ir_value *x = em_in(e, 0);
    const char *ct = em_ctype(x->dtype);
    em_line(e, "int64_t k = 0;");
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++)", p.cond_n);
    em_line(e, "    k += in1[j] != 0;");
    /* every item of the selection in each outer block; p never passes k */
    em_line(e, "for (int64_t o = 0; o < %" PRId64 "; o++) {", p.outer);
    em_line(e, "    int64_t q = 0;");
    em_line(e, "    for (int64_t j = 0; j < %" PRId64 " && q < k; j++) {", p.cond_n);
    em_line(e, "        if (in1[j] == 0)");
    em_line(e, "            continue;");
    if (p.inner == 1)
        em_line(e, "        out0[o * k + q] = in0[o * %" PRId64 " + j];", p.n);
    else
        em_line(e,
                "        memcpy(out0 + (o * k + q) * %" PRId64 ", in0 + (o * %" PRId64 " + j) * %" PRId64 ", %" PRId64
                " * sizeof(%s));",
                p.inner, p.n, p.inner, p.inner, ct);
    em_line(e, "        q++;");
    em_line(e, "    }");
    em_line(e, "}");
    if (p.axis < 0) {
        em_line(e, "dims0[0] = k;");
    } else {
        for (int d = 0; d < x->rank; d++)
            if (d == p.axis)
                em_line(e, "dims0[%d] = k;", d);
            else
                em_line(e, "dims0[%d] = %" PRId64 ";", d, x->dims[d].size);
    }
    return true;
}

/* ======================================================================== */
/* Unique                                                                    */
/* ======================================================================== */

/* Scratch, in int64s of n each: the sort's order and its buffer, each
 * item's group, each group's first item, count and output position. */
static uint64_t scratch_unique(const ir_graph *g, int node)
{
    unique_plan p;
    if (!unique_plan_of(g, node, &p) || p.n == 0)
        return 0;
    return op_bytes4(p.n, 6, 1, 1, sizeof(int64_t));
}

static bool emit_unique(op_emit *e)
{
    unique_plan p;
    if (!unique_plan_of(e->g, e->node, &p))
        return false;
    const ir_value *x = em_in(e, 0);
    const ir_node *nd = em_node(e);
    bool has[4];
    for (size_t k = 0; k < 4; k++)
        has[k] = k < nd->n_outputs && nd->outputs[k] >= 0;
    const char *ct = em_ctype(x->dtype), *cc = em_compute_ctype(x->dtype);
    bool is_float = ir_dtype_is_float(x->dtype);

    if (p.n == 0) { /* nothing to find */
        if (has[0]) {
            if (p.axis < 0)
                em_line(e, "dims0[0] = 0;");
            for (int d = 0; p.axis >= 0 && d < x->rank; d++)
                em_line(e, "dims0[%d] = %" PRId64 ";", d, d == p.axis ? 0 : x->dims[d].size);
        }
        for (size_t k = 1; k < 4; k++)
            if (has[k] && k != 2)
                em_line(e, "dims%zu[0] = 0;", k);
        return true;
    }

    /* item order: element by element over the item's slices, NaN after
     * every number and equal to itself (numpy's unique) */
    char *ia = hd_xasprintf("x[(o * %" PRId64 " + a) * %" PRId64 " + i]", p.n, p.inner);
    char *ib = hd_xasprintf("x[(o * %" PRId64 " + b) * %" PRId64 " + i]", p.n, p.inner);
    char *la = em_load(x->dtype, ia), *lb = em_load(x->dtype, ib);
    free(ia);
    free(ib);
    hd_buf_printf(e->decls,
                  "\n/* Unique (node %d): items are x[o][j][i] over o < %" PRId64 ", i < %" PRId64 " */\n"
                  "static int n%d_cmp(const %s *restrict x, int64_t a, int64_t b)\n{\n"
                  "    for (int64_t o = 0; o < %" PRId64 "; o++)\n"
                  "        for (int64_t i = 0; i < %" PRId64 "; i++) {\n"
                  "            const %s u = %s, v = %s;\n"
                  "            if (u < v)\n                return -1;\n"
                  "            if (u > v)\n                return 1;\n",
                  e->node, p.outer, p.inner, e->node, ct, p.outer, p.inner, cc, la, lb);
    if (is_float)
        hd_buf_puts(e->decls, "            if (u != v && (u != u) != (v != v))\n"
                              "                return u != u ? 1 : -1;\n");
    hd_buf_printf(e->decls,
                  "        }\n    return 0;\n}\n"
                  "static int n%d_before(const void *ctx, int64_t a, int64_t b) { return n%d_cmp(ctx, a, b) < 0; }\n",
                  e->node, e->node);
    free(la);
    free(lb);
    dyn_emit_sort(e);

    const int64_t n = p.n;
    em_line(e, "int64_t *restrict order = (int64_t *)(void *)scratch;");
    em_line(e, "int64_t *restrict tmp = order + %" PRId64 ", *restrict grp = tmp + %" PRId64 ";", n, n);
    em_line(e, "int64_t *restrict first = grp + %" PRId64 ", *restrict cnt = first + %" PRId64 ";", n, n);
    em_line(e, "int64_t *restrict pos = cnt + %" PRId64 ";", n);
    em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++)", n);
    em_line(e, "    order[j] = j;");
    em_line(e, "n%d_sort(order, tmp, %" PRId64 ", in0);", e->node, n);
    /* runs of equal items are the groups; stable, so a run starts with its
     * first occurrence */
    em_line(e, "int64_t k = 0;");
    em_line(e, "for (int64_t s = 0; s < %" PRId64 "; s++) {", n);
    em_line(e, "    const int64_t it = order[s];");
    em_line(e, "    if (k == 0 || n%d_cmp(in0, first[k - 1], it) != 0) {", e->node);
    em_line(e, "        first[k] = it;");
    em_line(e, "        cnt[k++] = 0;");
    em_line(e, "    }");
    em_line(e, "    grp[it] = k - 1;");
    em_line(e, "    cnt[k - 1]++;");
    em_line(e, "}");
    if (p.sorted) {
        em_line(e, "for (int64_t q = 0; q < k; q++)");
        em_line(e, "    pos[q] = q;");
    } else { /* in order of first occurrence */
        em_line(e, "int64_t next = 0;");
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++)", n);
        em_line(e, "    if (first[grp[j]] == j)");
        em_line(e, "        pos[grp[j]] = next++;");
    }
    em_line(e, "for (int64_t q = 0; q < k; q++) {");
    em_line(e, "    const int64_t at = pos[q];");
    if (has[0]) {
        em_line(e, "    for (int64_t o = 0; o < %" PRId64 "; o++)", p.outer);
        if (p.inner == 1)
            em_line(e, "        out0[o * k + at] = in0[o * %" PRId64 " + first[q]];", n);
        else
            em_line(e,
                    "        memcpy(out0 + (o * k + at) * %" PRId64 ", in0 + (o * %" PRId64 " + first[q]) * %" PRId64
                    ", %" PRId64 " * sizeof(%s));",
                    p.inner, n, p.inner, p.inner, ct);
    }
    if (has[1])
        em_line(e, "    out1[at] = first[q];");
    if (has[3])
        em_line(e, "    out3[at] = cnt[q];");
    em_line(e, "}");
    if (has[2]) {
        em_line(e, "for (int64_t j = 0; j < %" PRId64 "; j++)", n);
        em_line(e, "    out2[j] = pos[grp[j]];");
    }
    if (has[0]) {
        if (p.axis < 0)
            em_line(e, "dims0[0] = k;");
        for (int d = 0; p.axis >= 0 && d < x->rank; d++)
            if (d == p.axis)
                em_line(e, "dims0[%d] = k;", d);
            else
                em_line(e, "dims0[%d] = %" PRId64 ";", d, x->dims[d].size);
    }
    if (has[1])
        em_line(e, "dims1[0] = k;");
    if (has[3])
        em_line(e, "dims3[0] = k;");
    return true;
}

/* ======================================================================== */
/* NonMaxSuppression                                                         */
/* ======================================================================== */

/* Scratch, in int64s of `boxes` each: the candidates, the sort's buffer
 * and the boxes selected in the current class. */
static uint64_t scratch_nms(const ir_graph *g, int node)
{
    nms_plan p;
    if (!nms_plan_of(g, node, &p) || p.boxes == 0)
        return 0;
    return op_bytes4(p.boxes, 3, 1, 1, sizeof(int64_t));
}

/* True when input k is present and holds one element. */
static bool nms_has(const op_emit *e, size_t k)
{
    const ir_value *v = em_in(e, k);
    return v && ir_value_numel(v) == 1;
}

static bool emit_nms(op_emit *e)
{
    nms_plan p;
    if (!nms_plan_of(e->g, e->node, &p))
        return false;
    const int64_t N = p.boxes; /* at most, when the count is a run-time dim (the general path) */
    em_line(e, "int64_t sel_n = 0;");
    if (p.bound == 0 || N == 0) {
        em_line(e, "dims0[0] = sel_n;");
        em_line(e, "dims0[1] = 3;");
        return true;
    }
    em_line(e, "const int64_t N = %s;", em_dim(e->g, em_in(e, 0), 1).s);

    /* box a of one batch suppresses box b when their IoU passes the
     * threshold (onnxruntime's rule, in float; an empty or inverted
     * overlap, a non-positive area or NaN never suppresses) */
    hd_buf_printf(e->decls,
                  "\n/* NonMaxSuppression (node %d): IoU(a, b) > thr, %s boxes */\n"
                  "static int n%d_suppress(const float *restrict bx, int64_t a, int64_t b, float thr)\n{\n"
                  "    const float *p = bx + a * 4, *q = bx + b * 4;\n"
                  "    float ax0, ax1, ay0, ay1, bx0, bx1, by0, by1;\n",
                  e->node, p.center ? "center" : "corner", e->node);
    if (p.center)
        hd_buf_puts(e->decls, "    ax0 = p[0] - p[2] / 2;\n    ax1 = p[0] + p[2] / 2;\n"
                              "    ay0 = p[1] - p[3] / 2;\n    ay1 = p[1] + p[3] / 2;\n"
                              "    bx0 = q[0] - q[2] / 2;\n    bx1 = q[0] + q[2] / 2;\n"
                              "    by0 = q[1] - q[3] / 2;\n    by1 = q[1] + q[3] / 2;\n");
    else /* [y1, x1, y2, x2] in either corner order */
        hd_buf_puts(e->decls, "    ax0 = p[1] <= p[3] ? p[1] : p[3];\n    ax1 = p[1] <= p[3] ? p[3] : p[1];\n"
                              "    ay0 = p[0] <= p[2] ? p[0] : p[2];\n    ay1 = p[0] <= p[2] ? p[2] : p[0];\n"
                              "    bx0 = q[1] <= q[3] ? q[1] : q[3];\n    bx1 = q[1] <= q[3] ? q[3] : q[1];\n"
                              "    by0 = q[0] <= q[2] ? q[0] : q[2];\n    by1 = q[0] <= q[2] ? q[2] : q[0];\n");
    hd_buf_printf(e->decls,
                  "    const float ix0 = ax0 > bx0 ? ax0 : bx0, ix1 = ax1 < bx1 ? ax1 : bx1;\n"
                  "    if (!(ix1 > ix0))\n        return 0;\n"
                  "    const float iy0 = ay0 > by0 ? ay0 : by0, iy1 = ay1 < by1 ? ay1 : by1;\n"
                  "    if (!(iy1 > iy0))\n        return 0;\n"
                  "    const float inter = (ix1 - ix0) * (iy1 - iy0);\n"
                  "    if (!(inter > 0))\n        return 0;\n"
                  "    const float area_a = (ax1 - ax0) * (ay1 - ay0), area_b = (bx1 - bx0) * (by1 - by0);\n"
                  "    const float uni = area_a + area_b - inter;\n"
                  "    if (!(area_a > 0) || !(area_b > 0) || !(uni > 0))\n        return 0;\n"
                  "    return inter / uni > thr;\n}\n"
                  "/* higher score first; the sort is stable, so ties keep index order */\n"
                  "static int n%d_before(const void *ctx, int64_t a, int64_t b)\n"
                  "{\n    const float *s = ctx;\n    return s[a] > s[b];\n}\n",
                  e->node);
    dyn_emit_sort(e);

    if (p.max_out >= 0) {
        em_line(e, "const int64_t max_out = %" PRId64 ";", p.max_out);
    } else { /* read now: negative means none, more than the boxes means all */
        em_line(e, "int64_t max_out = in2[0];");
        em_line(e, "if (max_out < 0)");
        em_line(e, "    max_out = 0;");
        em_line(e, "if (max_out > N)");
        em_line(e, "    max_out = N;");
    }
    em_line(e, "const float iou_thr = %s;", nms_has(e, 3) ? "in3[0]" : "0.0f");
    if (nms_has(e, 3) && em_in(e, 3)->kind != IR_VALUE_CONST) { /* the spec's range, as onnxruntime checks it */
        e->can_fail = true;
        em_line(e, "if (!(iou_thr >= 0.0f && iou_thr <= 1.0f))");
        em_line(e, "    return 1;");
    }
    if (nms_has(e, 4))
        em_line(e, "const float score_thr = in4[0];");
    em_line(e, "int64_t *restrict cand = (int64_t *)(void *)scratch;");
    em_line(e, "int64_t *restrict tmp = cand + %" PRId64 ", *restrict sel = tmp + %" PRId64 ";", N, N);
    em_line(e, "for (int64_t b = 0; b < %" PRId64 "; b++)", p.batches);
    em_line(e, "    for (int64_t c = 0; c < %" PRId64 "; c++) {", p.classes);
    em_line(e, "        const float *sc = in1 + (b * %" PRId64 " + c) * N;", p.classes);
    em_line(e, "        const float *bx = in0 + b * N * 4;");
    em_line(e, "        int64_t m = 0;");
    em_line(e, "        for (int64_t i = 0; i < N; i++)");
    if (nms_has(e, 4))
        em_line(e, "            if (sc[i] > score_thr)");
    em_line(e, "                cand[m++] = i;");
    em_line(e, "        n%d_sort(cand, tmp, m, sc);", e->node);
    em_line(e, "        int64_t ns = 0;");
    em_line(e, "        for (int64_t q = 0; q < m && ns < max_out; q++) {");
    em_line(e, "            int keep = 1;");
    em_line(e, "            for (int64_t t = 0; t < ns && keep; t++)");
    em_line(e, "                keep = !n%d_suppress(bx, cand[q], sel[t], iou_thr);", e->node);
    em_line(e, "            if (keep)");
    em_line(e, "                sel[ns++] = cand[q];");
    em_line(e, "        }");
    em_line(e, "        for (int64_t t = 0; t < ns && sel_n < %" PRId64 "; t++, sel_n++) {", p.bound);
    em_line(e, "            out0[sel_n * 3] = b;");
    em_line(e, "            out0[sel_n * 3 + 1] = c;");
    em_line(e, "            out0[sel_n * 3 + 2] = sel[t];");
    em_line(e, "        }");
    em_line(e, "    }");
    em_line(e, "dims0[0] = sel_n;");
    em_line(e, "dims0[1] = 3;");
    return true;
}

void native_register_dynamic(native_lowering *table)
{
    table[OP_NON_ZERO] = (native_lowering){.emit = emit_nonzero, .emit_rt = emit_nonzero};
    table[OP_COMPRESS] = (native_lowering){.emit = emit_compress};
    table[OP_UNIQUE] = (native_lowering){.emit = emit_unique, .scratch = scratch_unique};
    table[OP_NON_MAX_SUPPRESSION] = (native_lowering){.emit = emit_nms, .scratch = scratch_nms, .emit_rt = emit_nms};
}
