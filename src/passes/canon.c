/*
 * passes/canon.c - rewrites that put exported graphs into the forms the
 * later passes know.
 *
 * pass_unflatten_gemm: exporters write a linear layer over [B, T, K] as
 * Reshape to [B*T, K], Gemm, Reshape back to [B, T, N] (GPT-2's Conv1D
 * through torch.onnx).  The Reshape after the Gemm stands between the
 * product and the elementwise ops that finish it (the bias-free GELU,
 * the residual Add), so epilogue fusion cannot take them.  Gemm with
 * alpha = beta = 1, op(A) = A and a bias of one row is MatMul + Add, which
 * multiply [B, T, K] by [K, N] directly; the Reshapes go.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "passes.h"
#include "util/util.h"

static bool fixed_f32(const ir_value *v) { return v->dtype == HODU_DTYPE_F32 && ir_value_is_fixed(v); }

/* The only node reading v (which is no graph output), or -1.  The
 * snapshot stays good for this: a rewrite changes only the readers of its
 * own Gemm's values. */
static int sole_reader(const ir_graph *g, const ir_readers *r, int v)
{
    if ((size_t)v >= r->n_values || r->start[v + 1] - r->start[v] != 1 || g->values[v].is_output)
        return -1;
    return r->node[r->start[v]];
}

/* W^T of a constant [N, K] matrix, as a new constant [K, N]. */
static int transposed_const(ir_graph *g, const ir_value *w)
{
    const int64_t N = w->dims[0].size, K = w->dims[1].size;
    const float *src = w->data;
    float *dst = ir_graph_keep(g, hd_xmalloc((size_t)(N * K > 0 ? N * K : 1) * sizeof(float)));
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++)
            dst[k * N + n] = src[n * K + k];
    const int64_t dims[2] = {K, N};
    char *name = hd_xasprintf("%s.transposed", w->name ? w->name : "gemm_b");
    int v = ir_const_new(g, name, HODU_DTYPE_F32, 2, dims, dst, (size_t)(N * K) * sizeof(float));
    free(name);
    return v;
}

/* Rewrites the Gemm `node` when it sits between two Reshapes as above. */
static bool unflatten(ir_graph *g, const ir_readers *r, int node)
{
    const ir_node *gm = &g->nodes[node];
    if (gm->op != OP_GEMM || gm->dead || gm->guard >= 0 || gm->n_inputs < 2 || gm->n_outputs != 1 || gm->outputs[0] < 0)
        return false;
    if (ir_attr_float(gm, "alpha", 1.0) != 1.0 || ir_attr_float(gm, "beta", 1.0) != 1.0 ||
        ir_attr_int(gm, "transA", 0) != 0)
        return false;
    const int a = gm->inputs[0], w = gm->inputs[1], c = gm->outputs[0];
    const int bias = gm->n_inputs > 2 ? gm->inputs[2] : -1;
    const ir_value *av = ir_val(g, a), *wv = ir_val(g, w), *cv = ir_val(g, c);
    if (av->producer < 0 || g->nodes[av->producer].op != OP_RESHAPE || wv->kind != IR_VALUE_CONST || !fixed_f32(wv) ||
        wv->rank != 2 || !fixed_f32(cv) || cv->rank != 2)
        return false;
    const int64_t N = cv->dims[1].size;
    if (bias >= 0) { /* one row, added to every row: [N] or [1, N] */
        const ir_value *bv = ir_val(g, bias);
        if (!fixed_f32(bv) || ir_value_numel(bv) != N || bv->dims[bv->rank - 1].size != N)
            return false;
    }
    const int x = g->nodes[av->producer].inputs[0];
    const int out_reshape = sole_reader(g, r, c);
    if (x < 0 || out_reshape < 0 || g->nodes[out_reshape].op != OP_RESHAPE || g->nodes[out_reshape].inputs[0] != c)
        return false;
    const int y = g->nodes[out_reshape].outputs[0];
    const ir_value *xv = ir_val(g, x), *yv = ir_val(g, y);
    /* x [d.., K] and y [d.., N] with the same leading dims */
    if (!fixed_f32(xv) || !fixed_f32(yv) || xv->rank < 3 || yv->rank != xv->rank ||
        xv->dims[xv->rank - 1].size != av->dims[1].size || yv->dims[yv->rank - 1].size != N)
        return false;
    for (int i = 0; i + 1 < xv->rank; i++)
        if (xv->dims[i].size != yv->dims[i].size)
            return false;

    ir_loc loc = g->nodes[node].loc;
    char *name = hd_xstrdup(g->nodes[node].name ? g->nodes[node].name : "gemm");
    const int wk = ir_attr_int(gm, "transB", 0) ? transposed_const(g, ir_val(g, w)) : w;
    g->nodes[node].dead = true;
    g->nodes[out_reshape].dead = true;
    ir_val(g, c)->producer = -1;
    int prod = y;
    if (bias >= 0) { /* MatMul into a fresh [d.., N], then Add into y */
        char *pname = hd_xasprintf("%s.product", ir_val(g, y)->name ? ir_val(g, y)->name : name);
        prod = ir_value_new(g, pname);
        free(pname);
        ir_value *pv = ir_val(g, prod);
        pv->dtype = HODU_DTYPE_F32;
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(ir_val(g, y), dims);
        ir_value_set_shape(pv, ir_val(g, y)->rank, dims);
    }
    const int mm_in[2] = {x, wk};
    int mm = ir_node_new(g, "MatMul", "", name, mm_in, 2, &prod, 1);
    g->nodes[mm].op = OP_MATMUL;
    ir_node_set_loc(g, mm, loc);
    if (bias >= 0) {
        char *aname = hd_xasprintf("%s.bias", name);
        const int add_in[2] = {prod, bias};
        int an = ir_node_new(g, "Add", "", aname, add_in, 2, &y, 1);
        g->nodes[an].op = OP_ADD;
        ir_node_set_loc(g, an, loc);
        free(aname);
    }
    free(name);
    return true;
}

size_t pass_unflatten_gemm(ir_graph *g)
{
    size_t done = 0, n = g->n_nodes;
    ir_readers r;
    ir_readers_build(g, &r);
    for (size_t i = 0; i < n; i++)
        done += unflatten(g, &r, (int)i);
    ir_readers_free(&r);
    if (done)
        pass_dce(g); /* the Reshapes into the Gemms, now unread */
    return done;
}
