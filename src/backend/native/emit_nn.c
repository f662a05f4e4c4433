/*
 * emit_nn.c - native lowerings of the nn family: MatMul, MatMulInteger,
 * QLinearMatMul, Gemm, Flatten (src/ops/nn.c holds their semantics and
 * src/ops/nn.h the plans read here), and the pieces the nn families'
 * lowerings share (emit_nn.h).
 *
 * Float32 products go through the kernel layer's hd_sgemm_ws (packed,
 * vectorised GEMM) with a scratch block from the memory plan; other dtypes
 * get plain loops with literal sizes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_nn.h"
#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/ops.h"

/* --- helpers shared by the nn families ---------------------------------- */

uint64_t nn_sgemm_scratch_bytes(int64_t M, int64_t N, int64_t K)
{
    /* The kernel layer's worst case over every target the generated code may
     * be built for: the compiler cannot know the target's vector width. */
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    return nn_align64((uint64_t)hd_sgemm_scratch_floats_max(M, N, K) * sizeof(float));
}

em_expr nn_rows(const op_emit *e, int64_t M)
{
    em_expr r;
    if (e->rt_rows_div > 0) /* the view planned rt_rows_div run-time rows */
        snprintf(r.s, sizeof r.s, "(rt_rows * INT64_C(%" PRId64 "))", M / e->rt_rows_div);
    else
        snprintf(r.s, sizeof r.s, "%" PRId64, M);
    return r;
}

void nn_emit_sgemm(op_emit *e, const nn_sgemm_call *c)
{
    e->parallel = true;
    if (!c->packed_b && !c->tile_fn) {
        em_line(e,
                "hd_sgemm_par(exec, workers, %" PRIu64 "u, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                ", %s, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %d, %s, %" PRId64 ", %d, %s, %" PRId64 ", %s, %s);",
                e->worker_bytes, c->batch, c->sa, c->sb, c->sc, nn_rows(e, c->M).s, c->N, c->K, c->A, c->lda, c->ta,
                c->B, c->ldb, c->tb, c->C, c->ldc, c->alpha, c->beta);
        return;
    }
    em_line(e, "{");
    e->indent++;
    em_line(e,
            "const hd_sgemm_op op = {%s, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %d, %s, %" PRId64
            ", %d, %s, %s, %" PRId64 ", %s, %s, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %s};",
            nn_rows(e, c->M).s, c->N, c->K, c->A, c->lda, c->ta, c->packed_b ? "NULL" : c->B, c->packed_b ? 0 : c->ldb,
            c->packed_b ? 0 : c->tb, c->packed_b ? c->packed_b : "NULL", c->C, c->ldc, c->alpha, c->beta, c->batch,
            c->sa, c->sb, c->sc, c->tile_fn ? c->tile_fn : "NULL", c->tile_fn ? c->tile_ctx : "NULL");
    em_line(e, "hd_sgemm_run_par(exec, workers, %" PRIu64 "u, &op);", e->worker_bytes);
    em_close(e);
}

/* --- tile functions (epilogues) -------------------------------------------- */

/* A vector loop is emitted into its own buffer while e->body points there;
 * back on `outer`, it is kept only when every member had a vector form
 * (else the scalar loop that follows covers every element). */
static void end_vector_loop(op_emit *e, hd_buf *outer, hd_buf *vbody, bool keep)
{
    e->body = outer;
    if (keep)
        hd_buf_write(e->body, vbody->data ? vbody->data : "", vbody->len);
    hd_buf_free(vbody);
}

/* The node inputs a tile function reads, in context order, with their
 * broadcast class: the bias first, then what the members read. */
typedef struct tile_inputs {
    int n;
    int k[NN_EPI_MAX_INPUTS + 1];
    nn_epi_class cls[NN_EPI_MAX_INPUTS + 1];
} tile_inputs;

static tile_inputs tile_inputs_of(const op_emit *e, const nn_tile_map *map)
{
    tile_inputs t = {0};
    if (map->bias >= 0) {
        t.k[t.n] = map->bias;
        t.cls[t.n++] = NN_EPI_CHANNEL;
    }
    if (e->epi) {
        const nn_epilogue_plan *p = e->epi->plan;
        const ir_graph *b = p->body;
        bool read[NN_EPI_MAX_INPUTS] = {false};
        for (size_t m = 1; m < b->n_nodes; m++)
            for (size_t j = 0; j < b->nodes[m].n_inputs; j++)
                for (size_t k = 0; k < b->n_inputs; k++)
                    read[k] = read[k] || b->nodes[m].inputs[j] == b->inputs[k];
        for (size_t k = 0; k < p->n_inputs; k++)
            if (read[k] && (int)k != map->bias) {
                t.k[t.n] = (int)k;
                t.cls[t.n++] = p->cls[k];
            }
    }
    return t;
}

bool nn_tile_fn(op_emit *e, const nn_tile_map *map, char fn[32])
{
    if (!e->epi && map->bias < 0 && !map->moves)
        return false;
    snprintf(fn, 32, "n%d_tile", e->epi ? e->epi->node : e->node);
    tile_inputs t = tile_inputs_of(e, map);
    /* the function goes to the file scope: write it through a swapped body */
    hd_buf text, *saved = e->body;
    hd_buf_init(&text);
    int indent = e->indent;
    e->body = &text;
    e->indent = 0;
    em_line(e, "struct %s_ctx {", fn);
    em_line(e, "    float *y;");
    for (int q = 0; q < t.n; q++)
        em_line(e, "    const float *x%d;", t.k[q]);
    if (map->out_rs < 0) /* a row stride the run decides */
        em_line(e, "    int64_t rs;");
    em_line(e, "};");
    hd_buf_puts(e->body, "\n");
    em_line(e, "static void %s(void *ctx, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr, int64_t nr)", fn);
    em_line(e, "{");
    e->indent++;
    em_line(e, "const struct %s_ctx *cx = ctx;", fn);
    /* Rows of C one at a time, along a row whole vectors first where every
     * member has a vector formula, then element by element.  Per operand:
     * s<k> a value for the whole row (one per call or per channel row),
     * p<k> a row pointer, read contiguously (stride 1 along j) or gathered
     * (stride out_cs: the residual of a transposed-form conv).  The result
     * goes back into C (in place) or is scattered to the output (moves). */
    em_line(e, "(void)cx;");
    em_line(e, "(void)i0;");
    em_line(e, "(void)j0;");
    /* Full-size operands (a residual) come from memory, a tile's rows far
     * apart: ask for the rows of the tile below this one, the one the GEMM
     * driver finishes next (mostly), so its reads overlap this tile's and
     * the next tile's arithmetic. */
    for (int q = 0; q < t.n; q++)
        if (t.cls[q] == NN_EPI_FULL && map->out_cs == 1) {
            em_line(e, "for (int64_t i = 0; i < mr; i++) {");
            if (map->out_rs < 0)
                em_line(e,
                        "    const uintptr_t a = (uintptr_t)(cx->x%d + j0) + (uintptr_t)(i0 + mr + i) * "
                        "(uintptr_t)cx->rs * sizeof(float);",
                        t.k[q]);
            else
                em_line(e,
                        "    const uintptr_t a = (uintptr_t)(cx->x%d + j0) + (uintptr_t)(i0 + mr + i) * %" PRId64
                        "u * sizeof(float);",
                        t.k[q], map->out_rs);
            em_line(e, "    hd_prefetch_addr(a);");
            em_line(e, "    hd_prefetch_addr(a + (uintptr_t)(nr - 1) * sizeof(float));");
            em_line(e, "}");
        }
    em_line(e, "for (int64_t i = 0; i < mr; i++) {");
    e->indent++;
    em_line(e, "float *restrict cr = c + i * ldc;");
    enum { ROW_VALUE, ROW_SPAN, ROW_STRIDED } kind[NN_EPI_MAX_INPUTS + 1];
    for (int q = 0; q < t.n; q++) {
        int k = t.k[q];
        if (t.cls[q] == NN_EPI_SCALAR || (t.cls[q] == NN_EPI_CHANNEL && map->rows_are_channels)) {
            kind[q] = ROW_VALUE;
            em_line(e, "const float s%d = cx->x%d[%s];", k, k, t.cls[q] == NN_EPI_CHANNEL ? "i0 + i" : "0");
        } else if (t.cls[q] == NN_EPI_CHANNEL) {
            kind[q] = ROW_SPAN;
            em_line(e, "const float *restrict p%d = cx->x%d + j0;", k, k);
        } else if (map->out_rs < 0) {
            kind[q] = map->out_cs == 1 ? ROW_SPAN : ROW_STRIDED;
            em_line(e, "const float *restrict p%d = cx->x%d + (i0 + i) * cx->rs + %s;", k, k,
                    em_index(0, EM_TERMS({"j0", map->out_cs})).s);
        } else {
            kind[q] = map->out_cs == 1 ? ROW_SPAN : ROW_STRIDED;
            em_line(e, "const float *restrict p%d = cx->x%d + %s;", k, k,
                    em_index(0, EM_TERMS({"(i0 + i)", map->out_rs}, {"j0", map->out_cs})).s);
        }
    }
    bool scatter = map->moves || map->out_cs != 1;
    if (scatter && map->out_rs < 0)
        em_line(e, "float *restrict yr = cx->y + (i0 + i) * cx->rs + %s;",
                em_index(0, EM_TERMS({"j0", map->out_cs})).s);
    else if (scatter)
        em_line(e, "float *restrict yr = cx->y + %s;",
                em_index(0, EM_TERMS({"(i0 + i)", map->out_rs}, {"j0", map->out_cs})).s);
    /* the vector loop, kept only if every member has a vector form; the
     * tail starts at a computed bound, not where the vector loop stopped
     * (that form trips gcc's -Waggressive-loop-optimizations once the
     * function is inlined with a constant nr) */
    hd_buf vbody, *outer = e->body;
    hd_buf_init(&vbody);
    e->body = &vbody;
    /* Moving to a contiguous output row, the last vector may overlap the
     * one before it (it reads C and writes the output, so a lane done
     * twice gets the same value): no scalar tail once a row holds a
     * vector. */
    bool overlap = map->moves && map->out_cs == 1;
    if (overlap)
        em_line(e, "const int64_t jv = nr >= HD_VF ? nr : 0;");
    else
        em_line(e, "const int64_t jv = nr / HD_VF * HD_VF;");
    em_line(e, "for (int64_t j = 0; j < jv; j += HD_VF) {");
    e->indent++;
    if (overlap)
        em_line(e, "if (j + HD_VF > nr) j = nr - HD_VF;");
    for (int q = 0; q < t.n; q++) {
        int k = t.k[q];
        if (kind[q] == ROW_VALUE)
            em_line(e, "const hd_vf x%d = hd_vf_splat(s%d);", k, k);
        else if (kind[q] == ROW_SPAN)
            em_line(e, "const hd_vf x%d = hd_vf_load(p%d + j);", k, k);
        else {
            em_line(e, "float g%d[HD_VF];", k);
            em_line(e, "for (int l = 0; l < HD_VF; l++) g%d[l] = p%d[(j + l) * %" PRId64 "];", k, k, map->out_cs);
            em_line(e, "const hd_vf x%d = hd_vf_load(g%d);", k, k);
        }
    }
    if (map->bias >= 0)
        em_line(e, "const hd_vf t0 = hd_vf_load(cr + j) + x%d;", map->bias);
    else
        em_line(e, "const hd_vf t0 = hd_vf_load(cr + j);");
    int vlast = e->epi ? ew_emit_members(e, e->epi->plan->body, 1, true) : 0;
    if (overlap) {
        em_line(e, "hd_vf_store(yr + j, t%d);", vlast);
    } else if (scatter) {
        em_line(e, "float o[HD_VF];");
        em_line(e, "hd_vf_store(o, t%d);", vlast);
        em_line(e, "for (int l = 0; l < HD_VF; l++) yr[(j + l) * %" PRId64 "] = o[l];", map->out_cs);
    } else {
        em_line(e, "hd_vf_store(cr + j, t%d);", vlast);
    }
    em_close(e);
    end_vector_loop(e, outer, &vbody, vlast >= 0);
    em_line(e, "for (int64_t j = %s; j < nr; j++) {", vlast >= 0 ? "jv" : "0");
    e->indent++;
    for (int q = 0; q < t.n; q++) {
        int k = t.k[q];
        if (kind[q] == ROW_VALUE)
            em_line(e, "const float x%d = s%d;", k, k);
        else if (kind[q] == ROW_SPAN)
            em_line(e, "const float x%d = p%d[j];", k, k);
        else
            em_line(e, "const float x%d = p%d[j * %" PRId64 "];", k, k, map->out_cs);
    }
    if (map->bias >= 0)
        em_line(e, "const float t0 = cr[j] + x%d;", map->bias);
    else
        em_line(e, "const float t0 = cr[j];");
    int last = e->epi ? ew_emit_members(e, e->epi->plan->body, 1, false) : 0;
    if (last >= 0) {
        if (scatter)
            em_line(e, "yr[j * %" PRId64 "] = t%d;", map->out_cs, last);
        else
            em_line(e, "cr[j] = t%d;", last);
    }
    bool ok = last >= 0;
    em_close(e);
    em_close(e);
    em_close(e);
    hd_buf_puts(e->body, "\n");
    e->body = saved;
    e->indent = indent;
    if (ok)
        hd_buf_write(e->decls, text.data ? text.data : "", text.len);
    hd_buf_free(&text);
    return ok;
}

void nn_tile_ctx(op_emit *e, const char *fn, const nn_tile_map *map, const char *var, const char *base, const char *ch)
{
    nn_tile_ctx_rs(e, fn, map, var, base, ch, NULL);
}

void nn_tile_ctx_rs(op_emit *e, const char *fn, const nn_tile_map *map, const char *var, const char *base,
                    const char *ch, const char *rs)
{
    tile_inputs t = tile_inputs_of(e, map);
    hd_buf b;
    hd_buf_init(&b);
    em_expr yb = em_at("out0", base);
    hd_buf_printf(&b, "struct %s_ctx %s = {%s", fn, var, yb.s);
    for (int q = 0; q < t.n; q++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", t.k[q]);
        em_expr at = em_at(name, t.cls[q] == NN_EPI_FULL ? base : t.cls[q] == NN_EPI_CHANNEL ? ch : "0");
        hd_buf_printf(&b, ", %s", at.s);
    }
    if (map->out_rs < 0)
        hd_buf_printf(&b, ", %s", rs ? rs : "0");
    em_line(e, "%s};", b.data);
    hd_buf_free(&b);
}

/* One element (or vector, vec) of nn_emit_span_epilogue at j: the operands
 * x<k>, t0 from ys plus the bias, then the members; the last member's
 * index (ew_emit_members). */
static int span_epilogue_members(op_emit *e, const tile_inputs *t, int bias, bool vec)
{
    for (int q = 0; q < t->n; q++) {
        int k = t->k[q];
        bool full = t->cls[q] == NN_EPI_FULL;
        if (vec)
            em_line(e, full ? "const hd_vf x%d = hd_vf_load(ep%d + j);" : "const hd_vf x%d = hd_vf_splat(es%d);", k, k);
        else
            em_line(e, full ? "const float x%d = ep%d[j];" : "const float x%d = es%d;", k, k);
    }
    const char *y = vec ? "hd_vf_load(ys + j)" : "ys[j]";
    if (bias >= 0)
        em_line(e, "const %s t0 = %s + x%d;", vec ? "hd_vf" : "float", y, bias);
    else
        em_line(e, "const %s t0 = %s;", vec ? "hd_vf" : "float", y);
    return e->epi ? ew_emit_members(e, e->epi->plan->body, 1, vec) : 0;
}

bool nn_emit_span_epilogue(op_emit *e, const char *y, const char *n, const char *ch, const char *base, int bias)
{
    nn_tile_map map = {0, 1, true, bias, false};
    tile_inputs t = tile_inputs_of(e, &map);
    em_line(e, "{");
    e->indent++;
    em_line(e, "float *restrict ys = %s;", y);
    em_line(e, "const int64_t ns = %s;", n);
    for (int q = 0; q < t.n; q++) {
        int k = t.k[q];
        if (t.cls[q] == NN_EPI_FULL)
            em_line(e, "const float *restrict ep%d = in%d + %s;", k, k, base);
        else
            em_line(e, "const float es%d = in%d[%s];", k, k, t.cls[q] == NN_EPI_CHANNEL ? ch : "0");
    }
    /* whole vectors where every member has a vector form, then the rest */
    hd_buf vbody, *outer = e->body;
    hd_buf_init(&vbody);
    e->body = &vbody;
    em_line(e, "const int64_t jv = ns / HD_VF * HD_VF;");
    em_line(e, "for (int64_t j = 0; j < jv; j += HD_VF) {");
    e->indent++;
    int vlast = span_epilogue_members(e, &t, bias, true);
    em_line(e, "hd_vf_store(ys + j, t%d);", vlast);
    em_close(e);
    end_vector_loop(e, outer, &vbody, vlast >= 0);
    em_line(e, "for (int64_t j = %s; j < ns; j++) {", vlast >= 0 ? "jv" : "0");
    e->indent++;
    int last = span_epilogue_members(e, &t, bias, false);
    em_line(e, "ys[j] = t%d;", last < 0 ? 0 : last);
    em_close(e);
    e->indent--;
    em_line(e, "}");
    return last >= 0;
}

/* --- hodu.FusedEpilogue ---------------------------------------------------- */

/* The lowering of the contraction leading epilogue node `node` (plan in
 * *p), or NULL. */
static const native_lowering *epilogue_producer(const ir_graph *g, int node, nn_epilogue_plan *p)
{
    return nn_epilogue_plan_of(g, node, p) ? native_lowering_of(p->producer_op) : NULL;
}

/* The contraction's own lowering, run on the node's body with the epilogue
 * set (emit_nn.h); over run-time dims (rt) its run-time lowering (fuse.c
 * fuses only producers that have one). */
static bool emit_fused_epilogue_with(op_emit *e, bool rt)
{
    nn_epilogue_plan plan;
    em_epilogue epi = {e->g, e->node, &plan};
    const native_lowering *l = epilogue_producer(e->g, e->node, &plan);
    op_emit_fn emit = l ? (rt ? l->emit_rt : l->emit) : NULL;
    if (!emit) {
        ir_node_error(e->d, e->g, e->node, "internal error: malformed epilogue node");
        return false;
    }
    op_emit sub = *e;
    sub.g = plan.body;
    sub.node = 0;
    sub.epi = &epi;
    bool ok = emit(&sub);
    sub.g = e->g;
    sub.node = e->node;
    sub.epi = NULL;
    *e = sub;
    return ok;
}

static bool emit_fused_epilogue(op_emit *e) { return emit_fused_epilogue_with(e, false); }

static bool emit_fused_epilogue_rt(op_emit *e) { return emit_fused_epilogue_with(e, true); }

static uint64_t scratch_fused_epilogue(const ir_graph *g, int node)
{
    nn_epilogue_plan p;
    const native_lowering *l = epilogue_producer(g, node, &p);
    return l && l->scratch ? l->scratch(p.body, 0) : 0;
}

static uint64_t worker_scratch_fused_epilogue(const ir_graph *g, int node)
{
    nn_epilogue_plan p;
    const native_lowering *l = epilogue_producer(g, node, &p);
    return l && l->worker_scratch ? l->worker_scratch(p.body, 0) : 0;
}

static bool packs_fused_epilogue(const ir_graph *g, int node, size_t input)
{
    nn_epilogue_plan p;
    const native_lowering *l = epilogue_producer(g, node, &p);
    if (!l || !l->packs || input >= p.n_producer_inputs)
        return false;
    /* the members must not read it as it is */
    const ir_graph *b = p.body;
    for (size_t m = 1; m < b->n_nodes; m++)
        for (size_t j = 0; j < b->nodes[m].n_inputs; j++)
            if (b->nodes[m].inputs[j] == b->inputs[input])
                return false;
    return l->packs(b, 0, input);
}

/* One stride per operand for the whole output batch, when the batch dims
 * (those above 1) walk the operand's matrices in order or not at all: then
 * the batch is one hd_sgemm_par call. */
static bool mm_uniform_batch(const nn_matmul_plan *s, int64_t *sa, int64_t *sb)
{
    for (int op = 0; op < 2; op++) {
        const int64_t *st = op ? s->sb : s->sa;
        int64_t unit = op ? s->K * s->N : s->M * s->K, expect = -1, stride = 0;
        bool any = false, all_zero = true;
        for (int i = s->br - 1; i >= 0; i--) {
            if (s->bdims[i] == 1)
                continue;
            if (!any) {
                stride = st[i];
                all_zero = st[i] == 0;
                if (!all_zero && st[i] != unit)
                    return false;
                expect = st[i] * s->bdims[i];
                any = true;
                continue;
            }
            if (all_zero ? st[i] != 0 : st[i] != expect)
                return false;
            expect = st[i] * s->bdims[i];
        }
        *(op ? sb : sa) = stride;
    }
    return true;
}

void nn_emit_tap(op_emit *e, const nn_window *w, int i, const char *iv, const char *ov, const char *kv)
{
    em_line(e, "const int64_t %s = %s;", iv, em_index(-w->pb[i], EM_TERMS({ov, w->s[i]}, {kv, w->d[i]})).s);
}

size_t nn_dense_terms(em_term *t, int nd, const char *const *vars, const int64_t *dims, int64_t scale)
{
    for (int i = nd - 1; i >= 0; i--) {
        t[i] = (em_term){vars[i], scale};
        scale *= dims[i];
    }
    return (size_t)nd;
}

/* A C float literal that reads back as exactly `v`. */
static void float_lit(char *buf, size_t n, double v)
{
    float f = (float)v;
    if (isnan(f))
        snprintf(buf, n, "NAN");
    else if (isinf(f))
        snprintf(buf, n, f > 0 ? "INFINITY" : "(-INFINITY)");
    else {
        snprintf(buf, n, "%.9g", (double)f);
        if (!strpbrk(buf, ".e"))
            strncat(buf, ".0", n - strlen(buf) - 1);
        strncat(buf, "f", n - strlen(buf) - 1);
    }
}

static bool is_float_type(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Unsigned type of the same width, for wrapping integer arithmetic. */
static const char *wrap_ctype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32: return "uint32_t";
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64: return "uint64_t";
    default: return NULL;
    }
}

/* --- MatMul ----------------------------------------------------------------
 * numpy matmul over the plan of nn_matmul_plan_of.  Float32 goes to
 * hd_sgemm_ws, folding the batch into M when B has no batch of its own. */

/* "<r> * <rs> + <c>", the row-major index of element (r, c). */
static em_expr ix2(const char *r, int64_t rs, const char *c) { return em_index(0, EM_TERMS({r, rs}, {c, 1})); }

/* Pointers to the current batch entry of A, B and out ("in0 + b0 * 12",
 * or "in0" alone). */
typedef struct mm_ptrs {
    em_expr a, b, o;
} mm_ptrs;

/* Opens loops over the output batch dims (none for dims of size 1) and
 * fills p from the base names of A, B and out; returns how many loops were
 * opened. */
static int mm_open_batch(op_emit *e, const nn_matmul_plan *s, const char *a, const char *b, mm_ptrs *p)
{
    static const char *const names[] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
    em_term ta[HODU_MAX_RANK], tb[HODU_MAX_RANK], tc[HODU_MAX_RANK];
    int64_t st = s->M * s->N;
    int opened = 0;
    for (int i = s->br - 1; i >= 0; i--) {
        bool one = s->bdims[i] == 1;
        ta[i] = (em_term){names[i], one ? 0 : s->sa[i]};
        tb[i] = (em_term){names[i], one ? 0 : s->sb[i]};
        tc[i] = (em_term){names[i], one ? 0 : st};
        st *= s->bdims[i];
    }
    for (int i = 0; i < s->br; i++) {
        if (s->bdims[i] != 1) {
            em_for(e, names[i], s->bdims[i]);
            opened++;
        }
    }
    p->a = em_offset(a, 0, (size_t)s->br, ta);
    p->b = em_offset(b, 0, (size_t)s->br, tb);
    p->o = em_offset("out0", 0, (size_t)s->br, tc);
    return opened;
}

/* Whether a float MatMul reads a constant B pre-packed: B is one matrix
 * (the batch folds into M) and the product is big enough for the packed
 * path (small ones take the kernel layer's unpacked paths). */
/* Constant weights are packed for the blocked driver (8+ rows) and for the
 * kernel layer's GEMV (one row, where a packed panel streams contiguously);
 * a few rows read them in place. */
static bool packs_shape(int64_t rows, int64_t N) { return (rows >= 8 || rows == 1) && N >= 16; }

static bool mm_packs_b(const nn_matmul_plan *s)
{
    return !s->b_batched && (s->a_batched || s->batch == 1) && packs_shape(s->M * s->batch, s->N);
}

/* Whether a float MatMul reads a constant B of few columns (a classifier's
 * last layer written x @ W^T) transposed, from a copy made at build time:
 * the kernel layer then takes it as dot products along K
 * (HD__SGEMM_DOT_MAX_N), as it does Gemm's transB, instead of a
 * micro-tile of mostly padding. */
static bool mm_transposes_b(const nn_matmul_plan *s)
{
    return !s->b_batched && (s->a_batched || s->batch == 1) && !mm_packs_b(s) && s->N <= HD__SGEMM_DOT_MAX_N &&
           s->M * s->batch > 4 && s->K >= 16;
}

static bool packs_matmul(const ir_graph *g, int node, size_t input)
{
    if (input != 1 || ir_val(g, ir_nd(g, node)->outputs[0])->dtype != HODU_DTYPE_F32)
        return false;
    nn_matmul_plan s;
    return nn_matmul_plan_of(g, node, &s) && s.K > 0 && (mm_packs_b(&s) || mm_transposes_b(&s));
}

/* The float32 data of constant input `input` when it holds n elements,
 * else NULL. */
static const float *nn_const_f32(op_emit *e, size_t input, int64_t n)
{
    const ir_value *w = em_const_in(e, input);
    return w && w->dtype == HODU_DTYPE_F32 && w->nbytes == (size_t)n * sizeof(float) ? w->data : NULL;
}

/* Constant B (K x N) transposed into the blob; its address expression (the
 * caller frees it), or NULL when the input is not such a constant. */
static char *mm_transposed_b(op_emit *e, int64_t K, int64_t N)
{
    const float *b = nn_const_f32(e, 1, K * N);
    if (!b)
        return NULL;
    float *bt = hd_xmalloc((size_t)(K * N) * sizeof(float));
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++)
            bt[j * K + k] = b[k * N + j];
    char *at = hd_xstrdup(em_blob(e, bt, (size_t)(K * N) * sizeof(float)).s);
    free(bt);
    return at;
}

/* A constant the blob left out for its packed copy could not be packed
 * (its size disagrees with the plan: a compiler bug, never the model's). */
static bool nn_unpacked_const(op_emit *e)
{
    ir_node_error(e->d, e->g, e->node, "internal error: constant weights of an unexpected size");
    return false;
}

char *nn_packed_b(op_emit *e, size_t input, int64_t K, int64_t N, bool trans_b)
{
    const float *w = nn_const_f32(e, input, K * N);
    if (!w)
        return NULL;
    size_t n = hd_sgemm_packed_b_floats(K, N);
    float *packed = hd_xcalloc(n ? n : 1, sizeof(float));
    hd_sgemm_pack_b(K, N, w, trans_b ? K : N, trans_b, packed);
    char *at = hd_xstrdup(em_blob(e, packed, n * sizeof(float)).s);
    free(packed);
    return at;
}

static bool emit_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *out = em_out(e, 0);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    hodu_dtype t = a->dtype;
    /* an epilogue: on each tile of the product, or over the whole output */
    nn_tile_map map = {s.N, 1, false, -1, false};
    char fn[32];
    bool tiles = nn_tile_fn(e, &map, fn);
    if (tiles)
        nn_tile_ctx(e, fn, &map, "ec", "0", "0");
    if (s.K == 0) {
        em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
        if (tiles)
            em_line(e, "%s(&ec, out0, %" PRId64 ", 0, 0, %" PRId64 ", %" PRId64 ");", fn, s.N, s.M * s.batch, s.N);
        return true;
    }
    if (t == HODU_DTYPE_F32) {
        nn_sgemm_call c = {.batch = 1,
                           .M = s.M,
                           .N = s.N,
                           .K = s.K,
                           .lda = s.K,
                           .ldb = s.N,
                           .ldc = s.N,
                           .A = "in0",
                           .B = "in1",
                           .C = "out0",
                           .alpha = "1.0f",
                           .beta = "0.0f",
                           .tile_fn = tiles ? fn : NULL,
                           .tile_ctx = "&ec"};
        int64_t sa = 0, sb = 0; /* set by mm_uniform_batch */
        if (!s.b_batched && (s.a_batched || s.batch == 1)) {
            /* B is one matrix: the batch folds into M (A's batch is
             * contiguous, and out has the same batch layout). */
            c.M = s.M * s.batch;
            char *packed = mm_packs_b(&s) ? nn_packed_b(e, 1, s.K, s.N, false) : NULL;
            if (!packed && mm_packs_b(&s) && em_const_in(e, 1)) /* the blob left it out */
                return nn_unpacked_const(e);
            char *bt = !packed && mm_transposes_b(&s) ? mm_transposed_b(e, s.K, s.N) : NULL;
            if (!bt && mm_transposes_b(&s) && em_const_in(e, 1))
                return nn_unpacked_const(e);
            if (bt) {
                em_line(e, "(void)in1;");
                c.B = bt;
                c.tb = 1;
                c.ldb = s.K;
            }
            c.packed_b = packed;
            nn_emit_sgemm(e, &c);
            free(packed);
            free(bt);
            return true;
        }
        if (mm_uniform_batch(&s, &sa, &sb)) {
            c.batch = s.batch;
            c.sa = sa;
            c.sb = sb;
            c.sc = s.M * s.N;
            nn_emit_sgemm(e, &c);
            return true;
        }
        mm_ptrs p;
        int opened = mm_open_batch(e, &s, "in0", "in1", &p);
        c.A = p.a.s;
        c.B = p.b.s;
        c.C = p.o.s;
        c.tile_fn = NULL;
        nn_emit_sgemm(e, &c);
        for (int i = 0; i < opened; i++)
            em_close(e);
        if (tiles)
            em_line(e, "%s(&ec, out0, %" PRId64 ", 0, 0, %" PRId64 ", %" PRId64 ");", fn, s.N, s.M * s.batch, s.N);
        return true;
    }
    mm_ptrs p;
    int opened = mm_open_batch(e, &s, "in0", "in1", &p);
    const char *ct = em_ctype(t);
    em_line(e, "const %s *a = %s;", ct, p.a.s);
    em_line(e, "const %s *b = %s;", ct, p.b.s);
    em_line(e, "%s *o = %s;", ct, p.o.s);
    if (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) {
        const char *cv = t == HODU_DTYPE_F16 ? "hd_f16_to_f32" : "hd_bf16_to_f32";
        const char *cs = t == HODU_DTYPE_F16 ? "hd_f32_to_f16" : "hd_f32_to_bf16";
        em_for(e, "m", s.M);
        em_for(e, "n", s.N);
        em_line(e, "float acc = 0.0f;");
        em_for(e, "k", s.K);
        em_line(e, "acc += %s(a[%s]) * %s(b[%s]);", cv, ix2("m", s.K, "k").s, cv, ix2("k", s.N, "n").s);
        em_close(e);
        em_line(e, "o[%s] = %s(acc);", ix2("m", s.N, "n").s, cs);
        em_close(e);
        em_close(e);
    } else {
        /* i-k-j order: the inner loop runs along rows of B and out. */
        const char *wt = wrap_ctype(t);
        em_for(e, "m", s.M);
        em_line(e, "%s *orow = %s;", ct, em_offset("o", 0, EM_TERMS({"m", s.N})).s);
        em_for(e, "n", s.N);
        em_line(e, "orow[n] = 0;");
        em_close(e);
        em_for(e, "k", s.K);
        em_line(e, "const %s av = a[%s];", ct, ix2("m", s.K, "k").s);
        em_line(e, "const %s *brow = %s;", ct, em_offset("b", 0, EM_TERMS({"k", s.N})).s);
        em_for(e, "n", s.N);
        if (wt)
            em_line(e, "orow[n] = (%s)((%s)orow[n] + (%s)av * (%s)brow[n]);", ct, wt, wt, wt);
        else
            em_line(e, "orow[n] += av * brow[n];");
        em_close(e);
        em_close(e);
        em_close(e);
    }
    for (int i = 0; i < opened; i++)
        em_close(e);
    return true;
}

/* The general path (ir_node.rt_general): run-time dims among the batch,
 * M, N or K (attention's scores and their product with V over a run-time
 * sequence).  Float32 only.  One batched product when each operand either
 * has every batch dim or none; otherwise loops over the batch dims, one
 * product each. */
static bool emit_matmul_rt(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 1), *out = em_out(e, 0);
    if (a->dtype != HODU_DTYPE_F32 || b->dtype != HODU_DTYPE_F32) {
        ir_node_error(e->d, e->g, e->node,
                      "MatMul over run-time dims that are not leading dims takes float32 only yet, not %s; bind "
                      "them with --dim SYM=N",
                      ir_dtype_name(a->dtype));
        return false;
    }
    const ir_graph *g = e->g;
    int ra = a->rank, rb = b->rank, r = out->rank;
    int nb = r - (ra >= 2) - (rb >= 2); /* batch dims of the output */
    e->parallel = true;
    em_line(e, "{");
    e->indent++;
    em_line(e, "const int64_t M = %s, N = %s, K = %s;", ra >= 2 ? em_dim(g, a, ra - 2).s : "1",
            rb >= 2 ? em_dim(g, b, rb - 1).s : "1", em_dim(g, a, ra - 1).s);
    /* per operand and batch dim: the stride, or NULL where it broadcasts */
    char *st[2][HODU_MAX_RANK];
    int have[2] = {0, 0};
    const ir_value *ops[2] = {a, b};
    for (int t = 0; t < 2; t++) {
        const ir_value *v = ops[t];
        for (int o = 0; o < nb; o++) {
            int i = v->rank >= 2 ? o - (nb - (v->rank - 2)) : -1;
            st[t][o] = NULL;
            if (em_rt_broadcasts(v, i, &out->dims[o]))
                continue;
            hd_buf x;
            hd_buf_init(&x);
            em_rt_elems(g, v, i, &x);
            st[t][o] = hd_buf_take(&x);
            have[t]++;
        }
    }
    if ((have[0] == 0 || have[0] == nb) && (have[1] == 0 || have[1] == nb)) {
        hd_buf bt;
        hd_buf_init(&bt);
        hd_buf_puts(&bt, "1");
        for (int o = 0; o < nb; o++)
            hd_buf_printf(&bt, " * %s", em_dim(g, out, o).s);
        em_line(e, "const int64_t batch = %s;", bt.data);
        hd_buf_free(&bt);
        em_line(e,
                "hd_sgemm_par(exec, workers, %" PRIu64 "u, batch, %s, %s, M * N, M, N, K, in0, K, 0, in1, N, 0, "
                "out0, N, 1.0f, 0.0f);",
                e->worker_bytes, have[0] ? "M * K" : "0", have[1] ? "K * N" : "0");
    } else {
        hd_buf at[3];
        for (int t = 0; t < 3; t++)
            hd_buf_init(&at[t]);
        for (int o = 0; o < nb; o++) {
            char var[16];
            snprintf(var, sizeof var, "i%d", o);
            em_for_rt(e, var, em_dim(g, out, o).s);
            for (int t = 0; t < 2; t++)
                if (st[t][o])
                    hd_buf_printf(&at[t], " + i%d * %s", o, st[t][o]);
            hd_buf_printf(&at[2], " + i%d * ", o);
            em_rt_elems(g, out, o, &at[2]);
        }
        em_line(e,
                "hd_sgemm_par(exec, workers, %" PRIu64 "u, 1, 0, 0, 0, M, N, K, in0%s, K, 0, in1%s, N, 0, out0%s, N, "
                "1.0f, 0.0f);",
                e->worker_bytes, at[0].data ? at[0].data : "", at[1].data ? at[1].data : "",
                at[2].data ? at[2].data : "");
        for (int o = 0; o < nb; o++)
            em_close(e);
        for (int t = 0; t < 3; t++)
            hd_buf_free(&at[t]);
    }
    for (int t = 0; t < 2; t++)
        for (int o = 0; o < nb; o++)
            free(st[t][o]);
    e->indent--;
    em_line(e, "}");
    return true;
}

static uint64_t scratch_matmul(const ir_graph *g, int node)
{
    if (ir_val(g, ir_nd(g, node)->inputs[0])->dtype != HODU_DTYPE_F32)
        return 0;
    nn_matmul_plan s;
    nn_matmul_plan_of(g, node, &s);
    if (s.K == 0 || s.batch * s.M * s.N == 0)
        return 0;
    int64_t m = (!s.b_batched && (s.a_batched || s.batch == 1)) ? s.M * s.batch : s.M;
    return nn_sgemm_scratch_bytes(m, s.N, s.K);
}

/* --- MatMulInteger: int32 sums of (a - za) * (b - zb). ---------------- */

static bool emit_matmul_integer(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 1), *out = em_out(e, 0);
    const ir_value *za = em_in(e, 2), *zb = em_in(e, 3);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    mm_ptrs p;
    int opened = mm_open_batch(e, &s, "in0", "in1", &p);
    em_line(e, "const %s *a = %s;", em_ctype(a->dtype), p.a.s);
    em_line(e, "const %s *b = %s;", em_ctype(b->dtype), p.b.s);
    em_line(e, "int32_t *o = %s;", p.o.s);
    em_for(e, "m", s.M);
    if (za)
        em_line(e, "const int32_t za = (int32_t)in2[%s];", ir_value_numel(za) == 1 ? "0" : "m");
    else
        em_line(e, "const int32_t za = 0;");
    em_for(e, "n", s.N);
    em_line(e, "o[%s] = 0;", ix2("m", s.N, "n").s);
    em_close(e);
    em_for(e, "k", s.K);
    em_line(e, "const int32_t av = (int32_t)a[%s] - za;", ix2("m", s.K, "k").s);
    em_for(e, "n", s.N);
    if (zb)
        em_line(e, "const int32_t zb = (int32_t)in3[%s];", ir_value_numel(zb) == 1 ? "0" : "n");
    /* int32 sums wrap (unsigned arithmetic) instead of overflowing */
    em_line(e, "o[%s] = (int32_t)((uint32_t)o[%s] + (uint32_t)(av * ((int32_t)b[%s]%s)));", ix2("m", s.N, "n").s,
            ix2("m", s.N, "n").s, ix2("k", s.N, "n").s, zb ? " - zb" : "");
    em_close(e);
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    return true;
}

/* --- QLinearMatMul: integer sums, requantized through float. ---------- */

static bool emit_qlinear_matmul(op_emit *e)
{
    const ir_value *a = em_in(e, 0), *b = em_in(e, 3), *out = em_out(e, 0);
    nn_matmul_plan s;
    nn_matmul_plan_of(e->g, e->node, &s);
    if (ir_value_numel(out) == 0)
        return true;
    bool bcol = ir_value_numel(em_in(e, 4)) > 1, zcol = ir_value_numel(em_in(e, 5)) > 1;
    bool f16 = em_in(e, 1)->dtype == HODU_DTYPE_F16;
    char *las = em_load(em_in(e, 1)->dtype, "in1[0]");
    char *lbs = em_load(em_in(e, 4)->dtype, bcol ? "in4[n]" : "in4[0]");
    char *lys = em_load(em_in(e, 6)->dtype, "in6[0]");
    bool s8 = out->dtype == HODU_DTYPE_I8;
    mm_ptrs p;
    int opened = mm_open_batch(e, &s, "in0", "in3", &p);
    em_line(e, "const %s *a = %s;", em_ctype(a->dtype), p.a.s);
    em_line(e, "const %s *b = %s;", em_ctype(b->dtype), p.b.s);
    em_line(e, "%s *o = %s;", em_ctype(out->dtype), p.o.s);
    em_line(e, "const int32_t za = (int32_t)in2[0];");
    em_for(e, "m", s.M);
    em_for(e, "n", s.N);
    em_line(e, "const int32_t zb = (int32_t)in5[%s];", zcol ? "n" : "0");
    em_line(e, "int64_t acc = 0; /* cannot overflow: a product is below 2^18 */");
    em_for(e, "k", s.K);
    em_line(e, "acc += ((int32_t)a[%s] - za) * ((int32_t)b[%s] - zb);", ix2("m", s.K, "k").s, ix2("k", s.N, "n").s);
    em_close(e);
    if (f16)
        em_line(e, "const float mult = hd_f16_to_f32(hd_f32_to_f16(hd_f16_to_f32(hd_f32_to_f16(%s * %s)) / %s));", las,
                lbs, lys);
    else
        em_line(e, "const float mult = (%s * %s) / %s;", las, lbs, lys);
    em_line(e, "double v = rint((double)acc * (double)mult + (double)in7[0]);");
    /* NaN (a zero or NaN scale) saturates low instead of converting */
    em_line(e, "v = !(v >= %s) ? %s : (v > %s ? %s : v);", s8 ? "-128.0" : "0.0", s8 ? "-128.0" : "0.0",
            s8 ? "127.0" : "255.0", s8 ? "127.0" : "255.0");
    em_line(e, "o[%s] = (%s)v;", ix2("m", s.N, "n").s, em_ctype(out->dtype));
    em_close(e);
    em_close(e);
    for (int i = 0; i < opened; i++)
        em_close(e);
    free(las);
    free(lbs);
    free(lys);
    return true;
}

/* --- Gemm ------------------------------------------------------------ */

static bool gemm_packs_b(const nn_gemm_plan *p) { return packs_shape(p->M, p->N) && p->K > 0; }

static bool packs_gemm(const ir_graph *g, int node, size_t input)
{
    if (input != 1 || ir_val(g, ir_nd(g, node)->outputs[0])->dtype != HODU_DTYPE_F32)
        return false;
    nn_gemm_plan p;
    return nn_gemm_plan_of(g, node, &p) && gemm_packs_b(&p);
}

static bool emit_gemm(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    nn_gemm_plan p;
    nn_gemm_plan_of(e->g, e->node, &p);
    const bool ta = p.trans_a, tb = p.trans_b, use_c = p.use_c;
    const double alpha = p.alpha, beta = p.beta;
    const int64_t M = p.M, N = p.N, K = p.K, cs0 = p.c_stride_m, cs1 = p.c_stride_n;
    if (M * N == 0)
        return true;
    hodu_dtype t = out->dtype;
    const char *ct = em_ctype(t);
    char al[64], be[64];
    if (t == HODU_DTYPE_F64) {
        snprintf(al, sizeof(al), "%s", em_f64(alpha).s);
        snprintf(be, sizeof(be), "%s", em_f64(beta).s);
    } else {
        float_lit(al, sizeof(al), alpha);
        float_lit(be, sizeof(be), beta);
    }
    if (t == HODU_DTYPE_F32) {
        /* out = beta * C first, then out += alpha * A'B' */
        if (use_c) {
            if (e->rt_rows_div) { /* rows known at run time */
                em_line(e, "for (int64_t m = 0; m < %s; m++) {", nn_rows(e, M).s);
                e->indent++;
            } else {
                em_for(e, "m", M);
            }
            em_for(e, "n", N);
            em_line(e, "out0[%s] = %s * in2[%s];", ix2("m", N, "n").s, be,
                    em_index(0, EM_TERMS({"m", cs0}, {"n", cs1})).s);
            em_close(e);
            em_close(e);
        }
        nn_tile_map map = {N, 1, false, -1, false};
        char fn[32];
        bool tiles = nn_tile_fn(e, &map, fn);
        if (tiles)
            nn_tile_ctx(e, fn, &map, "ec", "0", "0");
        if (K == 0) {
            if (!use_c)
                em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
            if (tiles)
                em_line(e, "%s(&ec, out0, %" PRId64 ", 0, 0, %" PRId64 ", %" PRId64 ");", fn, N, M, N);
            return true;
        }
        char *packed = gemm_packs_b(&p) ? nn_packed_b(e, 1, K, N, tb) : NULL;
        if (!packed && gemm_packs_b(&p) && em_const_in(e, 1)) /* the blob left it out */
            return nn_unpacked_const(e);
        nn_sgemm_call c = {.batch = 1,
                           .M = M,
                           .N = N,
                           .K = K,
                           .A = "in0",
                           .lda = ta ? M : K,
                           .ta = ta,
                           .B = "in1",
                           .ldb = tb ? K : N,
                           .tb = tb,
                           .C = "out0",
                           .ldc = N,
                           .alpha = al,
                           .beta = use_c ? "1.0f" : "0.0f",
                           .packed_b = packed,
                           .tile_fn = tiles ? fn : NULL,
                           .tile_ctx = "&ec"};
        nn_emit_sgemm(e, &c);
        free(packed);
        return true;
    }
    /* Other types: a dot product per output element. */
    bool is_f = is_float_type(t);
    const char *acc_t = t == HODU_DTYPE_F64 ? "double" : (is_f ? "float" : wrap_ctype(t));
    em_expr ia = ta ? ix2("k", M, "m") : ix2("m", K, "k");
    em_expr ib = tb ? ix2("n", K, "k") : ix2("k", N, "n");
    char *ld_a = em_load(t, "in0[ia]"), *ld_b = em_load(t, "in1[ib]");
    char *ld_c = em_load(t, "in2[ic]");
    em_for(e, "m", M);
    em_for(e, "n", N);
    em_line(e, "%s acc = 0;", acc_t);
    em_for(e, "k", K);
    em_line(e, "const int64_t ia = %s, ib = %s;", ia.s, ib.s);
    em_line(e, "acc += (%s)%s * (%s)%s;", acc_t, ld_a, acc_t, ld_b);
    em_close(e);
    if (use_c)
        em_line(e, "const int64_t ic = %s;", em_index(0, EM_TERMS({"m", cs0}, {"n", cs1})).s);
    char *res;
    if (is_f) {
        if (use_c)
            res = hd_xasprintf("(%s)%s * acc + (%s)%s * %s", acc_t, al, acc_t, be, ld_c);
        else
            res = hd_xasprintf("(%s)%s * acc", acc_t, al);
    } else if (alpha == 1.0 && (!use_c || beta == 1.0)) {
        res = use_c ? hd_xasprintf("acc + (%s)in2[ic]", acc_t) : hd_xstrdup("acc");
    } else {
        res = use_c ? hd_xasprintf("%s * (double)(%s)acc + %s * (double)in2[ic]", em_f64(alpha).s, ct, em_f64(beta).s)
                    : hd_xasprintf("%s * (double)(%s)acc", em_f64(alpha).s, ct);
    }
    char *st = em_store(t, res);
    em_line(e, "out0[%s] = %s;", ix2("m", N, "n").s, st);
    em_close(e);
    em_close(e);
    free(res);
    free(st);
    free(ld_a);
    free(ld_b);
    free(ld_c);
    return true;
}

static uint64_t scratch_gemm(const ir_graph *g, int node)
{
    if (ir_val(g, ir_nd(g, node)->inputs[0])->dtype != HODU_DTYPE_F32)
        return 0;
    nn_gemm_plan p;
    nn_gemm_plan_of(g, node, &p);
    if (p.M == 0 || p.N == 0 || p.K == 0)
        return 0;
    return nn_sgemm_scratch_bytes(p.M, p.N, p.K);
}

bool native_rt_rows(const ir_graph *g, int node)
{
    const char *syms[HODU_MAX_RANK];
    if (op_rt_slice_dims(g, node, syms) == 0)
        return false;
    /* the contraction: the node, or its epilogue node's member 0 */
    const ir_graph *cg = g;
    int cn = node;
    nn_epilogue_plan ep;
    if (ir_nd(g, node)->op == OP_FUSED_EPILOGUE) {
        if (!epilogue_producer(g, node, &ep))
            return false;
        cg = ep.body;
        cn = 0;
    }
    const ir_node *c = ir_nd(cg, cn);
    if (c->n_outputs < 1 || c->outputs[0] < 0 || ir_val(cg, c->outputs[0])->dtype != HODU_DTYPE_F32)
        return false;
    if (c->op == OP_GEMM) { /* A's rows are the output's (transA = 0) */
        nn_gemm_plan p;
        return nn_gemm_plan_of(cg, cn, &p) && !p.trans_a && p.K > 0 && p.N > 0;
    }
    if (c->op == OP_MATMUL) { /* one B: A's batch and rows fold into M */
        nn_matmul_plan s;
        return nn_matmul_plan_of(cg, cn, &s) && s.K > 0 && s.N > 0 && !s.b_batched && (s.a_batched || s.batch == 1);
    }
    return false;
}

/* --- Flatten: pure data movement. --------------------------------------- */

static bool emit_flatten(op_emit *e)
{
    size_t nbytes = ir_value_nbytes(em_out(e, 0));
    if (nbytes)
        em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, %zu);", nbytes);
    return true;
}

void native_register_nn(native_lowering *table)
{
    table[OP_MATMUL] = (native_lowering){
        .emit = emit_matmul, .worker_scratch = scratch_matmul, .packs = packs_matmul, .emit_rt = emit_matmul_rt};
    table[OP_MATMUL_INTEGER] = (native_lowering){.emit = emit_matmul_integer};
    table[OP_QLINEAR_MATMUL] = (native_lowering){.emit = emit_qlinear_matmul};
    table[OP_GEMM] = (native_lowering){.emit = emit_gemm, .worker_scratch = scratch_gemm, .packs = packs_gemm};
    table[OP_FLATTEN] = (native_lowering){.emit = emit_flatten, .emit_rt = em_copy_rt};
    table[OP_FUSED_EPILOGUE] = (native_lowering){.emit = emit_fused_epilogue,
                                                 .scratch = scratch_fused_epilogue,
                                                 .worker_scratch = worker_scratch_fused_epilogue,
                                                 .packs = packs_fused_epilogue,
                                                 .emit_rt = emit_fused_epilogue_rt};
}
