/*
 * ops/nn_conv.c - Conv, ConvInteger, QLinearConv and ConvTranspose (part of
 * the nn family): inference, FLOPs and the geometry backends lower them
 * from (nn_conv_geom_of, nn.h).
 *
 * Conv: X [N, C, D1..Dn], W [M, C/group, k1..kn], optional B [M] ->
 * Y [N, M, O1..On].  Attributes auto_pad, dilations, group, kernel_shape
 * (must agree with W when given), pads, strides.  T: f16, bf16, f32, f64.
 * ConvInteger / QLinearConv: int8/uint8 X and W with zero points (and
 * scales), int32 / requantized int8 or uint8 results.
 *
 * ConvTranspose: X [N, C, D...], W [C, M/group, k...] -> Y [N, M, O...] with
 * O = stride*(D-1) + output_padding + (k-1)*dilation + 1 - pads, or the
 * output_shape attribute (pads are then derived from it, SAME_UPPER putting
 * the smaller half first).
 */
#include <inttypes.h>
#include <string.h>

#include "nn_impl.h"

/* Saturates: an output product past int64 is refused after inference by
 * the size limit check, so the saturated value is never used for code. */
static int64_t prod(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p = op_sat_mul(p, v[i]);
    return p;
}

static bool is_conv_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

/* Where X, W and B sit among a conv op's inputs (B: -1 when it has none). */
typedef struct conv_io {
    int x, w, b;
    bool quant; /* ConvInteger / QLinearConv: int8/uint8 data */
} conv_io;

static conv_io conv_io_of(const ir_node *n)
{
    if (n->op == OP_QLINEAR_CONV)
        return (conv_io){0, 3, 8, true};
    if (n->op == OP_CONV_INTEGER)
        return (conv_io){0, 1, -1, true};
    return (conv_io){0, 1, 2, false};
}

static bool is_q8(hodu_dtype t) { return t == HODU_DTYPE_I8 || t == HODU_DTYPE_U8; }

/* Shared checks of X, W, B for all the ops.  `transpose` selects W's layout. */
static bool conv_common(op_ctx *c, nn_conv_geom *g, bool transpose)
{
    conv_io io = conv_io_of(op_node(c));
    const ir_value *x = op_need_static(c, (size_t)io.x), *w = op_need_static(c, (size_t)io.w);
    if (!x || !w)
        return false;
    if (x->rank < 3 || x->rank > HODU_MAX_RANK)
        return op_fail(c, "input X must have rank 3 or more (N, C, spatial dims), got %d", x->rank);
    if (w->rank != x->rank)
        return op_fail(c, "weight W has rank %d; X has rank %d", w->rank, x->rank);
    if (io.quant) {
        if (!is_q8(x->dtype) || !is_q8(w->dtype))
            return op_fail(c, "X and W must be int8 or uint8 (got %s and %s)", ir_dtype_name(x->dtype),
                           ir_dtype_name(w->dtype));
    } else {
        if (!is_conv_float(x->dtype))
            return op_fail(c, "type %s is not supported", ir_dtype_name(x->dtype));
        if (w->dtype != x->dtype)
            return op_fail(c, "W has type %s; X has %s", ir_dtype_name(w->dtype), ir_dtype_name(x->dtype));
    }
    int nd = x->rank - 2;
    memset(g, 0, sizeof(*g));
    g->w.nd = nd;
    g->N = x->dims[0].size;
    g->C = x->dims[1].size;
    g->G = ir_attr_int(op_node(c), "group", 1);
    if (g->G < 1)
        return op_fail(c, "attribute 'group' value %" PRId64 " must be at least 1", g->G);
    if (g->C % g->G != 0)
        return op_fail(c, "channels (%" PRId64 ") are not divisible by group (%" PRId64 ")", g->C, g->G);
    g->Cg = g->C / g->G;
    if (transpose) {
        if (w->dims[0].size != g->C)
            return op_fail(c, "W has %" PRId64 " input channels; X has %" PRId64, w->dims[0].size, g->C);
        g->Mg = w->dims[1].size;
        g->M = g->Mg * g->G;
    } else {
        g->M = w->dims[0].size;
        if (w->dims[1].size != g->Cg)
            return op_fail(c, "W has %" PRId64 " channels per group; X has %" PRId64 " / group %" PRId64 " = %" PRId64,
                           w->dims[1].size, g->C, g->G, g->Cg);
        if (g->M % g->G != 0)
            return op_fail(c, "output channels (%" PRId64 ") are not divisible by group (%" PRId64 ")", g->M, g->G);
        g->Mg = g->M / g->G;
    }
    for (int i = 0; i < nd; i++) {
        g->w.in[i] = x->dims[i + 2].size;
        g->w.k[i] = w->dims[i + 2].size;
    }
    size_t nk = 0;
    const int64_t *ks = ir_attr_ints(op_node(c), "kernel_shape", &nk);
    if (ks) {
        if (nk != (size_t)nd)
            return op_fail(c, "attribute 'kernel_shape' has %zu values; expected %d", nk, nd);
        for (int i = 0; i < nd; i++)
            if (ks[i] != g->w.k[i])
                return op_fail(c, "attribute 'kernel_shape' (%" PRId64 " in dim %d) disagrees with W (%" PRId64 ")",
                               ks[i], i, g->w.k[i]);
    }
    const ir_value *b = io.b >= 0 ? op_in(c, (size_t)io.b) : NULL;
    if (b) {
        if (!ir_value_is_static(b))
            return op_need_static(c, (size_t)io.b) != NULL;
        hodu_dtype bt = io.quant ? HODU_DTYPE_I32 : x->dtype;
        if (b->dtype != bt)
            return op_fail(c, "bias B has type %s; expected %s", ir_dtype_name(b->dtype), ir_dtype_name(bt));
        if (b->rank != 1 || b->dims[0].size != g->M)
            return op_fail(c, "bias B must be 1-D with %" PRId64 " elements", g->M);
    }
    g->IP = prod(g->w.in, nd);
    g->KP = prod(g->w.k, nd);
    return true;
}

static bool conv_geom_get(op_ctx *c, nn_conv_geom *g)
{
    if (!conv_common(c, g, false) || !nn_window_attrs(c, &g->w, false))
        return false;
    g->OP = prod(g->w.out, g->w.nd);
    return true;
}

/* Checks a quantization parameter: a scalar, or (when per_m) M values. */
static bool q_param(op_ctx *c, size_t i, int64_t M, bool per_m, bool is_scale, hodu_dtype want, const char *what)
{
    const ir_value *v = op_in(c, i);
    if (!v)
        return true;
    if (!ir_value_is_static(v))
        return op_need_static(c, i) != NULL;
    if (is_scale ? (v->dtype != HODU_DTYPE_F32 && v->dtype != HODU_DTYPE_F16) : v->dtype != want)
        return op_fail(c, "%s has type %s", what, ir_dtype_name(v->dtype));
    int64_t n = ir_value_numel(v);
    if (n != 1 && !(per_m && n == M && v->rank == 1))
        return op_fail(c, "%s must be a scalar%s", what, per_m ? " or have one value per output channel" : "");
    return true;
}

bool nn_infer_conv(op_ctx *c)
{
    nn_conv_geom g;
    if (!conv_geom_get(c, &g))
        return false;
    const ir_node *n = op_node(c);
    hodu_dtype xt = op_in(c, 0)->dtype, out_t = xt;
    if (n->op == OP_CONV_INTEGER) {
        out_t = HODU_DTYPE_I32;
        if (!q_param(c, 2, g.M, false, false, xt, "x_zero_point") ||
            !q_param(c, 3, g.M, true, false, op_in(c, 1)->dtype, "w_zero_point"))
            return false;
    } else if (n->op == OP_QLINEAR_CONV) {
        for (size_t i = 0; i < 8; i++)
            if (i != 2 && i != 5 && i != 7 && !op_in(c, i))
                return op_fail(c, "input %zu is required", i);
        const ir_value *yz = op_in(c, 7);
        out_t = yz ? yz->dtype : xt;
        if (!q_param(c, 1, g.M, false, true, 0, "x_scale") || !q_param(c, 2, g.M, false, false, xt, "x_zero_point") ||
            !q_param(c, 4, g.M, true, true, 0, "w_scale") ||
            !q_param(c, 5, g.M, true, false, op_in(c, 3)->dtype, "w_zero_point") ||
            !q_param(c, 6, g.M, false, true, 0, "y_scale") || !q_param(c, 7, g.M, false, false, out_t, "y_zero_point"))
            return false;
        if (!is_q8(out_t))
            return op_fail(c, "y_zero_point must be int8 or uint8");
    }
    int64_t dims[HODU_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.w.nd; i++)
        dims[i + 2] = g.w.out[i];
    op_set_out(c, 0, out_t, g.w.nd + 2, dims);
    return true;
}

int64_t nn_flops_conv(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * g.N, g.M), op_sat_mul(g.OP, g.Cg)), g.KP);
}

/* --- ConvTranspose --------------------------------------------------------- */

static bool convt_geom_get(op_ctx *c, nn_conv_geom *g)
{
    if (!conv_common(c, g, true))
        return false;
    nn_window *w = &g->w;
    int nd = w->nd;
    const ir_node *n = op_node(c);
    int64_t opad[NN_MAX_SPATIAL], pads[2 * NN_MAX_SPATIAL];
    if (!nn_ints_attr(c, "strides", nd, 1, w->s) || !nn_ints_attr(c, "dilations", nd, 1, w->d) ||
        !nn_ints_attr(c, "output_padding", nd, 0, opad) || !nn_ints_attr(c, "pads", 2 * nd, 0, pads))
        return false;
    const char *auto_pad = ir_attr_string(n, "auto_pad", "NOTSET");
    bool same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    if (!same && auto_pad[0] && strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0)
        return op_fail(c, "attribute 'auto_pad' value '%s' is not supported", auto_pad);
    bool valid = strcmp(auto_pad, "VALID") == 0;
    size_t nos = 0;
    const int64_t *os = ir_attr_ints(n, "output_shape", &nos);
    if (os && nos != (size_t)nd && nos != (size_t)nd + 2)
        return op_fail(c, "attribute 'output_shape' has %zu values; expected %d", nos, nd);
    if (os && nos == (size_t)nd + 2)
        os += 2;
    bool has_pads = ir_attr_find(n, "pads") != NULL;
    for (int i = 0; i < nd; i++) {
        if (w->s[i] < 1 || w->d[i] < 1 || w->k[i] < 1)
            return op_fail(c, "strides, dilations and kernel sizes must be at least 1");
        if (opad[i] < 0 || pads[i] < 0 || pads[i + nd] < 0)
            return op_fail(c, "pads and output_padding must not be negative");
        if (w->s[i] > ((int64_t)1 << 31) || w->d[i] > ((int64_t)1 << 31) || w->k[i] > ((int64_t)1 << 31) ||
            opad[i] > ((int64_t)1 << 31) || pads[i] > ((int64_t)1 << 31) || pads[i + nd] > ((int64_t)1 << 31))
            return op_fail(c, "window attributes are too large");
        /* Window attributes are below 2^31 but the input dim may be up to the
         * tensor limit, so the stride products are checked. */
        int64_t ek = (w->k[i] - 1) * w->d[i] + 1, full, target = 0;
        if (!op_ck_mul(c, w->s[i], w->in[i] - 1, &full, "the output size") ||
            !op_ck_add(c, full, opad[i] + ek, &full, "the output size"))
            return false;
        if (!os && same && !has_pads && !op_ck_mul(c, w->in[i], w->s[i], &target, "the output size"))
            return false;
        if (os || (same && !has_pads)) {
            if (os)
                target = os[i];
            if (target < 0)
                return op_fail(c, "attribute 'output_shape' has a negative value");
            int64_t total = full - target;
            if (total < 0)
                total = 0; /* output_padding-style extra positions stay zero + bias */
            w->pb[i] = upper ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
            w->out[i] = target;
        } else {
            w->pb[i] = valid ? 0 : pads[i];
            w->pe[i] = valid ? 0 : pads[i + nd];
            w->out[i] = full - w->pb[i] - w->pe[i];
            if (w->out[i] < 0)
                return op_fail(c, "pads are larger than the output in spatial dim %d", i);
        }
    }
    g->OP = prod(w->out, nd);
    return true;
}

bool nn_infer_conv_transpose(op_ctx *c)
{
    nn_conv_geom g;
    if (!convt_geom_get(c, &g))
        return false;
    int64_t dims[HODU_MAX_RANK];
    dims[0] = g.N;
    dims[1] = g.M;
    for (int i = 0; i < g.w.nd; i++)
        dims[i + 2] = g.w.out[i];
    op_set_out(c, 0, op_in(c, 0)->dtype, g.w.nd + 2, dims);
    return true;
}

/* --- hodu.ConvBlocked ----------------------------------------------------- */

static bool conv_blocked_geom_get(op_ctx *c, nn_conv_geom *g)
{
    const int64_t B = NN_CONV_BLOCK;
    const ir_value *x = op_need_static(c, 0), *w = x ? op_need_static(c, 1) : NULL;
    if (!x || !w)
        return false;
    if (x->dtype != HODU_DTYPE_F32 || w->dtype != HODU_DTYPE_F32)
        return op_fail(c, "X and W must be float32");
    const bool dw = w->rank == 4, plain = x->rank == 4;
    const int64_t ci = plain ? 1 : B; /* channels per input block */
    if ((x->rank != 5 && !plain) || (!plain && x->dims[4].size != B) || (plain && dw) ||
        (dw ? w->dims[3].size != B || w->dims[0].size != x->dims[1].size
            : w->rank != 6 || w->dims[4].size != ci || w->dims[5].size != B || w->dims[1].size != x->dims[1].size))
        return op_fail(c,
                       "X must be [N, C/%" PRId64 ", H, W, %" PRId64 "] and W [M/%" PRId64 ", C/%" PRId64
                       ", KH, KW, %" PRId64 ", %" PRId64 "], or [C/%" PRId64 ", KH, KW, %" PRId64
                       "] (depthwise), or X [N, C, H, W] and W [M/%" PRId64 ", C, KH, KW, 1, %" PRId64
                       "], with the same C",
                       B, B, B, B, B, B, B, B, B, B);
    memset(g, 0, sizeof(*g));
    g->w.nd = 2;
    g->N = x->dims[0].size;
    g->C = x->dims[1].size * ci;
    g->M = w->dims[0].size * B;
    g->G = dw ? g->C : 1;
    g->Cg = dw ? 1 : g->C;
    g->Mg = dw ? 1 : g->M;
    for (int i = 0; i < 2; i++) {
        g->w.in[i] = x->dims[i + 2].size;
        g->w.k[i] = w->dims[i + (dw ? 1 : 2)].size;
    }
    const ir_value *b = op_in(c, 2);
    if (b) {
        if (!ir_value_is_static(b))
            return op_need_static(c, 2) != NULL;
        if (b->dtype != HODU_DTYPE_F32 || b->rank != 1 || b->dims[0].size != g->M)
            return op_fail(c, "bias B must be float32, 1-D with %" PRId64 " elements", g->M);
    }
    if (!nn_window_attrs(c, &g->w, false))
        return false;
    g->IP = prod(g->w.in, 2);
    g->KP = prod(g->w.k, 2);
    g->OP = prod(g->w.out, 2);
    return true;
}

static bool infer_conv_blocked(op_ctx *c)
{
    nn_conv_geom g;
    if (!conv_blocked_geom_get(c, &g))
        return false;
    int64_t dims[5] = {g.N, g.M / NN_CONV_BLOCK, g.w.out[0], g.w.out[1], NN_CONV_BLOCK};
    op_set_out(c, 0, HODU_DTYPE_F32, 5, dims);
    return true;
}

static bool conv_dw_geom_get(op_ctx *c, nn_conv_geom *g)
{
    const ir_value *l = op_need_static(c, 0), *sh = l ? op_need_static(c, 1) : NULL;
    if (!l || !sh)
        return false;
    if ((l->dtype != HODU_DTYPE_F32 && l->dtype != HODU_DTYPE_F64) || sh->dtype != l->dtype)
        return op_fail(c, "L and S must both be float32 or both float64");
    if (l->rank < 3 || sh->rank != l->rank || sh->dims[0].size != l->dims[0].size)
        return op_fail(c, "L and S must have the same rank (at least 3) and batch");
    memset(g, 0, sizeof(*g));
    g->w.nd = l->rank - 2;
    g->N = l->dims[0].size;
    g->C = l->dims[1].size;
    g->M = sh->dims[1].size;
    g->G = ir_attr_int(op_node(c), "group", 1);
    if (g->G < 1 || g->C % g->G != 0 || g->M % g->G != 0)
        return op_fail(c, "attribute 'group' must divide both channel counts");
    g->Cg = g->C / g->G;
    g->Mg = g->M / g->G;
    if (!nn_ints_attr(c, "kernel_shape", g->w.nd, 0, g->w.k))
        return false;
    for (int i = 0; i < g->w.nd; i++)
        g->w.in[i] = l->dims[i + 2].size;
    if (!nn_window_attrs(c, &g->w, false))
        return false;
    for (int i = 0; i < g->w.nd; i++) {
        if (sh->dims[i + 2].size > g->w.out[i])
            return op_fail(c, "S's grid is larger than the window allows");
        g->w.out[i] = sh->dims[i + 2].size;
    }
    g->IP = prod(g->w.in, g->w.nd);
    g->KP = prod(g->w.k, g->w.nd);
    g->OP = prod(g->w.out, g->w.nd);
    return true;
}

static bool infer_conv_dw(op_ctx *c)
{
    nn_conv_geom g;
    if (!conv_dw_geom_get(c, &g))
        return false;
    int64_t dims[HODU_MAX_RANK] = {g.M, g.Cg};
    memcpy(dims + 2, g.w.k, (size_t)g.w.nd * sizeof(int64_t));
    op_set_out(c, 0, op_in(c, 0)->dtype, g.w.nd + 2, dims);
    return true;
}

/* --- the geometry backends read ----------------------------------------- */

bool nn_conv_geom_of(const ir_graph *gr, int node, nn_conv_geom *g)
{
    int op = ir_nd(gr, node)->op;
    if (op != OP_CONV && op != OP_CONV_INTEGER && op != OP_QLINEAR_CONV && op != OP_CONV_TRANSPOSE &&
        op != OP_CONV_BLOCKED)
        return false;
    /* A node inference accepted cannot fail here; any message is dropped. */
    hd_diag d;
    hd_diag_init(&d, NULL);
    op_ctx c = {(ir_graph *)gr, node, &d};
    bool ok = op == OP_CONV_TRANSPOSE ? convt_geom_get(&c, g)
              : op == OP_CONV_BLOCKED ? conv_blocked_geom_get(&c, g)
                                      : conv_geom_get(&c, g);
    hd_diag_free(&d);
    return ok;
}

bool nn_conv_dw_geom_of(const ir_graph *gr, int node, nn_conv_geom *g)
{
    if (ir_nd(gr, node)->op != OP_CONV_GRAD_WEIGHT)
        return false;
    hd_diag d;
    hd_diag_init(&d, NULL);
    op_ctx c = {(ir_graph *)gr, node, &d};
    bool ok = conv_dw_geom_get(&c, g);
    hd_diag_free(&d);
    return ok;
}

static int64_t flops_conv_dw(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    if (!nn_conv_dw_geom_of(gr, node, &g))
        return 0;
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * g.N, g.M), op_sat_mul(g.OP, g.Cg)), g.KP);
}

int64_t nn_flops_conv_transpose(const ir_graph *gr, int node)
{
    nn_conv_geom g;
    nn_conv_geom_of(gr, node, &g);
    return op_sat_mul(op_sat_mul(op_sat_mul(2 * g.N, g.C), op_sat_mul(g.IP, g.Mg)), g.KP);
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec conv_attrs[] = {{"auto_pad", IR_ATTR_STRING},
                                          {"dilations", IR_ATTR_INTS},
                                          {"group", IR_ATTR_INT},
                                          {"kernel_shape", IR_ATTR_INTS},
                                          {"pads", IR_ATTR_INTS},
                                          {"strides", IR_ATTR_INTS},
                                          {NULL, 0}};
static const op_attr_spec conv_transpose_attrs[] = {
    {"auto_pad", IR_ATTR_STRING},   {"dilations", IR_ATTR_INTS},      {"group", IR_ATTR_INT},
    {"kernel_shape", IR_ATTR_INTS}, {"output_padding", IR_ATTR_INTS}, {"output_shape", IR_ATTR_INTS},
    {"pads", IR_ATTR_INTS},         {"strides", IR_ATTR_INTS},        {NULL, 0}};

OP_DEF(CONV, .attrs = conv_attrs, .infer = nn_infer_conv, .flops = nn_flops_conv, .grad = conv_grad);
OP_DEF(CONV_INTEGER, .attrs = conv_attrs, .infer = nn_infer_conv, .flops = nn_flops_conv);
OP_DEF(QLINEAR_CONV, .attrs = conv_attrs, .infer = nn_infer_conv, .flops = nn_flops_conv);
static const op_attr_spec conv_blocked_attrs[] = {
    {"dilations", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS}, {"strides", IR_ATTR_INTS}, {NULL, 0}};
OP_DEF(CONV_BLOCKED, .attrs = conv_blocked_attrs, .infer = infer_conv_blocked, .flops = nn_flops_conv);
static const op_attr_spec conv_dw_attrs[] = {{"dilations", IR_ATTR_INTS},    {"group", IR_ATTR_INT},
                                             {"kernel_shape", IR_ATTR_INTS}, {"pads", IR_ATTR_INTS},
                                             {"strides", IR_ATTR_INTS},      {NULL, 0}};
OP_DEF(CONV_GRAD_WEIGHT, .attrs = conv_dw_attrs, .infer = infer_conv_dw, .flops = flops_conv_dw);
OP_DEF(CONV_TRANSPOSE, .attrs = conv_transpose_attrs, .infer = nn_infer_conv_transpose,
       .flops = nn_flops_conv_transpose, .grad = conv_grad);
