/*
 * ops/valbounds.c - bounds of small values computed from run-time dims.
 *
 * A model may compute a size from its input's shape with arithmetic on
 * data: torchvision's detectors scale an image by
 * min(min_size / min(h, w), max_size / max(h, w)) in float and floor the
 * products.  Such a size is not a dim hodu can name (ir_dimvals), but
 * each element lies in an interval that follows from the run-time dims'
 * ranges: this file walks the producers of such a value (a vector of at
 * most HODU_MAX_RANK elements, a vector or a small matrix) and propagates intervals through the ops
 * shape arithmetic uses.  A node whose output size is such a value (a
 * Resize with computed sizes) then sizes its buffer for the top and
 * checks the run's value against the interval.
 *
 * A float result's end that its type cannot hold is widened by an ulp of
 * the type, so the interval holds whatever rounding the run does; the
 * bound may be one larger than the true largest size after a floor, never
 * smaller.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "shape.h"

/* nodes visited per question: the walk revisits shared producers, so a
 * hostile graph of diamonds must not make it exponential */
#define VB_MAX_STEPS 1024

/* Relative rounding error of one operation in type t (half an ulp is
 * enough; one leaves a margin); 0 for integer types. */
static double vb_eps(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return 0x1p-23;
    case HODU_DTYPE_F64: return 0x1p-52;
    case HODU_DTYPE_F16: return 0x1p-10;
    case HODU_DTYPE_BF16: return 0x1p-7;
    default: return 0.0;
    }
}

/* Rounds every element's interval outward as type t stores it. */
static bool vb_store(op_bounds *b, hodu_dtype t)
{
    double eps = vb_eps(t);
    for (int i = 0; i < b->n; i++) {
        if (!isfinite(b->lo[i]) || !isfinite(b->hi[i]) || b->lo[i] > b->hi[i] || fabs(b->lo[i]) > 0x1p60 ||
            fabs(b->hi[i]) > 0x1p60)
            return false;
        /* rounding is monotone and keeps a number the type holds: only
         * an end the type cannot hold moves out (a float32 320 stays 320,
         * so a Cast to int after it does not drop to 319) */
        if (eps != 0.0 && t != HODU_DTYPE_F64) {
            bool lo_held = t == HODU_DTYPE_F32 && (double)(float)b->lo[i] == b->lo[i];
            bool hi_held = t == HODU_DTYPE_F32 && (double)(float)b->hi[i] == b->hi[i];
            b->lo[i] -= lo_held ? 0.0 : fabs(b->lo[i]) * eps;
            b->hi[i] += hi_held ? 0.0 : fabs(b->hi[i]) * eps;
        }
    }
    return true;
}

/* One walk: its count of visited nodes, the run-time dims it read, and
 * optionally one of them fixed to a value (op_value_bounds). */
typedef struct vb_walk {
    int n;
    const char *seen[2];
    int n_seen; /* 3: more than two */
    const char *fix;
    int64_t fix_val;
} vb_walk;

/* Run-time dim sym's range in this walk. */
static bool vb_range(const ir_graph *g, vb_walk *w, const char *sym, int64_t *lo, int64_t *hi)
{
    if (w->fix && strcmp(sym, w->fix) == 0) {
        *lo = *hi = w->fix_val;
        return true;
    }
    bool known = false;
    for (int i = 0; i < w->n_seen && i < 2; i++)
        known = known || strcmp(w->seen[i], sym) == 0;
    if (!known && w->n_seen < 2)
        w->seen[w->n_seen++] = sym;
    else if (!known)
        w->n_seen = 3;
    return ir_graph_symbol_range(g, sym, lo, hi);
}

static bool vb_eval(const ir_graph *g, int id, vb_walk *steps, op_bounds *out);

/* Input j of node n. */
static bool vb_in(const ir_graph *g, const ir_node *n, size_t j, vb_walk *steps, op_bounds *out)
{
    return j < n->n_inputs && n->inputs[j] >= 0 && vb_eval(g, n->inputs[j], steps, out);
}

/* A build-time constant input's numbers (at most HODU_MAX_RANK). */
static long vb_const(const ir_graph *g, const ir_node *n, size_t j, double *v)
{
    if (j >= n->n_inputs || n->inputs[j] < 0 || ir_val(g, n->inputs[j])->kind != IR_VALUE_CONST)
        return -1;
    return ir_const_as_f64(g, n->inputs[j], v, HODU_MAX_RANK);
}

/* The interval of a op b over intervals [al, ah] and [bl, bh]. */
static bool vb_binary(int op, bool ints, double al, double ah, double bl, double bh, double *lo, double *hi)
{
    double c[4];
    switch (op) {
    case OP_ADD: *lo = al + bl, *hi = ah + bh; return true;
    case OP_SUB: *lo = al - bh, *hi = ah - bl; return true;
    case OP_MIN: *lo = fmin(al, bl), *hi = fmin(ah, bh); return true;
    case OP_MAX: *lo = fmax(al, bl), *hi = fmax(ah, bh); return true;
    case OP_MUL: c[0] = al * bl, c[1] = al * bh, c[2] = ah * bl, c[3] = ah * bh; break;
    case OP_DIV:
        if (bl <= 0 && bh >= 0)
            return false; /* the divisor may be 0 */
        c[0] = al / bl, c[1] = al / bh, c[2] = ah / bl, c[3] = ah / bh;
        break;
    default: return false;
    }
    *lo = fmin(fmin(c[0], c[1]), fmin(c[2], c[3]));
    *hi = fmax(fmax(c[0], c[1]), fmax(c[2], c[3]));
    if (ints && op == OP_DIV) { /* truncation toward 0 is monotone */
        *lo = trunc(*lo);
        *hi = trunc(*hi);
    }
    return true;
}

/* Elementwise ops with numpy broadcasting over vectors (or scalars). */
static bool vb_elementwise(const ir_graph *g, const ir_node *n, const ir_value *v, vb_walk *steps, op_bounds *out)
{
    if (!vb_in(g, n, 0, steps, out))
        return false;
    switch (n->op) {
    case OP_NEG:
        for (int i = 0; i < out->n; i++) {
            double lo = -out->hi[i];
            out->hi[i] = -out->lo[i];
            out->lo[i] = lo;
        }
        break;
    case OP_FLOOR:
    case OP_CEIL:
    case OP_ROUND:
        for (int i = 0; i < out->n; i++) {
            out->lo[i] = n->op == OP_FLOOR  ? floor(out->lo[i])
                         : n->op == OP_CEIL ? ceil(out->lo[i])
                                            : nearbyint(out->lo[i]);
            out->hi[i] = n->op == OP_FLOOR  ? floor(out->hi[i])
                         : n->op == OP_CEIL ? ceil(out->hi[i])
                                            : nearbyint(out->hi[i]);
        }
        break;
    case OP_SQRT:
        for (int i = 0; i < out->n; i++) {
            if (out->lo[i] < 0)
                return false;
            out->lo[i] = sqrt(out->lo[i]);
            out->hi[i] = sqrt(out->hi[i]);
        }
        break;
    case OP_RECIPROCAL:
        for (int i = 0; i < out->n; i++) {
            double lo = out->lo[i], hi = out->hi[i];
            if (lo <= 0 && hi >= 0)
                return false; /* may divide by 0 */
            out->lo[i] = 1.0 / hi;
            out->hi[i] = 1.0 / lo;
        }
        break;
    case OP_ABS:
        for (int i = 0; i < out->n; i++) {
            double lo = out->lo[i], hi = out->hi[i];
            out->lo[i] = lo >= 0 ? lo : hi <= 0 ? -hi : 0;
            out->hi[i] = fmax(fabs(lo), fabs(hi));
        }
        break;
    default:
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && ir_val(g, n->inputs[j])->rank > 1 && ir_value_numel(ir_val(g, n->inputs[j])) > 1)
                return false; /* numpy broadcasting of matrices is not followed */
        for (size_t j = 1; j < n->n_inputs; j++) {
            op_bounds b;
            if (!vb_in(g, n, j, steps, &b))
                return false;
            int cnt = out->n > b.n ? out->n : b.n;
            if ((out->n != cnt && out->n != 1) || (b.n != cnt && b.n != 1))
                return false;
            op_bounds r = {.n = cnt};
            for (int i = 0; i < cnt; i++) {
                int ia = out->n == 1 ? 0 : i, ib = b.n == 1 ? 0 : i;
                if (!vb_binary(n->op, ir_dtype_is_int(v->dtype), out->lo[ia], out->hi[ia], b.lo[ib], b.hi[ib], &r.lo[i],
                               &r.hi[i]))
                    return false;
            }
            *out = r;
        }
        break;
    }
    for (int i = 0; i < out->n; i++)
        out->sym[i] = NULL;
    return true;
}

/* Gather along axis 0 of a vector by constant indices. */
static bool vb_gather(const ir_graph *g, const ir_node *n, vb_walk *steps, op_bounds *out)
{
    op_bounds d;
    double idx[HODU_MAX_RANK];
    long k = vb_const(g, n, 1, idx);
    const ir_value *x = n->n_inputs ? ir_val(g, n->inputs[0]) : NULL;
    if (!x || x->rank != 1 || ir_attr_int(n, "axis", 0) != 0 || k < 0 || !vb_in(g, n, 0, steps, &d))
        return false;
    out->n = (int)k;
    for (long i = 0; i < k; i++) {
        long at = (long)idx[i] < 0 ? (long)idx[i] + d.n : (long)idx[i];
        if (at < 0 || at >= d.n)
            return false;
        out->lo[i] = d.lo[at];
        out->hi[i] = d.hi[at];
        out->sym[i] = d.sym[at];
    }
    return true;
}

/* Slice by constant starts, ends, axes and steps, of a value of at most
 * HODU_MAX_RANK elements with static dims: the Slice's own copy plan
 * (shape_slice_plan) says which input element each output element is. */
static bool vb_slice(const ir_graph *g, const ir_node *n, vb_walk *steps, op_bounds *out)
{
    op_bounds d;
    const ir_value *x = n->n_inputs ? ir_val(g, n->inputs[0]) : NULL;
    if (!x || !ir_value_is_static(x) || !vb_in(g, n, 0, steps, &d))
        return false;
    shape_copy_plan p;
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    bool planned = shape_slice_plan(g, (int)(n - g->nodes), &quiet, &p);
    hd_diag_free(&quiet);
    if (!planned)
        return false;
    int64_t total = shape_copy_plan_numel(&p);
    if (total > d.n)
        return false;
    out->n = (int)total;
    for (int64_t o = 0; o < total; o++) {
        int64_t rest = o, at = p.src_base;
        for (int a = p.rank - 1; a >= 0; a--) {
            at += rest % p.dims[a] * p.src[a];
            rest /= p.dims[a];
        }
        out->lo[o] = d.lo[at];
        out->hi[o] = d.hi[at];
        out->sym[o] = d.sym[at];
    }
    return true;
}

/* Transpose of a matrix. */
static bool vb_transpose(const ir_graph *g, const ir_node *n, vb_walk *steps, op_bounds *out)
{
    op_bounds d;
    const ir_value *x = n->n_inputs ? ir_val(g, n->inputs[0]) : NULL;
    if (!x || !ir_value_is_static(x) || !vb_in(g, n, 0, steps, &d))
        return false;
    if (x->rank < 2) {
        *out = d;
        return true;
    }
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(n, "perm", &np);
    if (x->rank != 2 || (perm && (np != 2 || perm[0] != 1)))
        return false;
    int64_t R = x->dims[0].size, C = x->dims[1].size;
    out->n = d.n;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) {
            out->lo[j * R + i] = d.lo[i * C + j];
            out->hi[j * R + i] = d.hi[i * C + j];
            out->sym[j * R + i] = d.sym[i * C + j];
        }
    return true;
}

/* Shape of a value: its dims as numbers or run-time dims. */
static bool vb_shape(const ir_graph *g, const ir_node *n, vb_walk *steps, op_bounds *out)
{
    const ir_value *x = n->n_inputs ? ir_val(g, n->inputs[0]) : NULL;
    if (!x || x->rank < 0)
        return false;
    int64_t s = ir_attr_int(n, "start", 0), e = ir_attr_int(n, "end", x->rank);
    s = s < 0 ? s + x->rank : s;
    e = e < 0 ? e + x->rank : e;
    s = s < 0 ? 0 : s > x->rank ? x->rank : s;
    e = e < 0 ? 0 : e > x->rank ? x->rank : e;
    out->n = 0;
    for (int64_t i = s; i < e; i++) {
        const ir_dim *d = &x->dims[i];
        int64_t lo = d->size, hi = d->size;
        if (d->rt && !vb_range(g, steps, d->sym, &lo, &hi))
            return false;
        if (!d->rt && d->size < 0)
            return false;
        out->lo[out->n] = (double)lo;
        out->hi[out->n] = (double)hi;
        out->sym[out->n++] = d->rt ? d->sym : NULL;
    }
    return true;
}

static bool vb_node(const ir_graph *g, const ir_value *v, vb_walk *steps, op_bounds *out)
{
    const ir_node *n = ir_nd(g, v->producer);
    switch (n->op) {
    case OP_SHAPE: return vb_shape(g, n, steps, out);
    case OP_IDENTITY:
    case OP_UNSQUEEZE:
    case OP_SQUEEZE:
    case OP_RESHAPE:
    case OP_FLATTEN: return vb_in(g, n, 0, steps, out); /* the elements in their order */
    case OP_CAST: {
        if (!vb_in(g, n, 0, steps, out))
            return false;
        const ir_value *x = ir_val(g, n->inputs[0]);
        for (int i = 0; i < out->n; i++) {
            if (ir_dtype_is_int(v->dtype)) { /* float to int truncates */
                out->lo[i] = trunc(out->lo[i]);
                out->hi[i] = trunc(out->hi[i]);
            }
            /* a dim survives a cast to an integer type, or to a float
             * that holds it exactly */
            bool exact = ir_dtype_is_int(v->dtype) ? ir_dtype_is_int(x->dtype) || vb_eps(x->dtype) * out->hi[i] < 0.5
                                                   : vb_eps(v->dtype) * out->hi[i] < 0.5;
            if (!exact)
                out->sym[i] = NULL;
        }
        return true;
    }
    case OP_GATHER: return vb_gather(g, n, steps, out);
    case OP_SLICE: return vb_slice(g, n, steps, out);
    case OP_TRANSPOSE: return vb_transpose(g, n, steps, out);
    case OP_CONCAT: {
        int64_t ax = ir_attr_int(n, "axis", 0);
        if ((ax < 0 ? ax + v->rank : ax) != 0) /* rows of a matrix follow each other; columns do not */
            return false;
        out->n = 0;
        for (size_t j = 0; j < n->n_inputs; j++) {
            op_bounds b;
            if (!vb_in(g, n, j, steps, &b) || out->n + b.n > HODU_MAX_RANK)
                return false;
            for (int i = 0; i < b.n; i++) {
                out->lo[out->n] = b.lo[i];
                out->hi[out->n] = b.hi[i];
                out->sym[out->n++] = b.sym[i];
            }
        }
        return true;
    }
    case OP_REDUCE_MIN:
    case OP_REDUCE_MAX: {
        op_bounds b;
        const ir_value *x = n->n_inputs ? ir_val(g, n->inputs[0]) : NULL;
        /* over the whole vector (opset 18's axes input is then [0] or
         * empty, which reduces everything unless noop_with_empty_axes) */
        if (!x || x->rank > 1 || ir_attr_int(n, "noop_with_empty_axes", 0) || !vb_in(g, n, 0, steps, &b) || !b.n)
            return false;
        double lo = b.lo[0], hi = b.hi[0];
        for (int i = 1; i < b.n; i++) {
            lo = n->op == OP_REDUCE_MIN ? fmin(lo, b.lo[i]) : fmax(lo, b.lo[i]);
            hi = n->op == OP_REDUCE_MIN ? fmin(hi, b.hi[i]) : fmax(hi, b.hi[i]);
        }
        *out = (op_bounds){.n = 1, .lo = {lo}, .hi = {hi}};
        return true;
    }
    case OP_CLIP: {
        double lim[HODU_MAX_RANK];
        if (!vb_in(g, n, 0, steps, out))
            return false;
        double lo = -INFINITY, hi = INFINITY;
        if (g->opset < 11) {
            lo = ir_attr_float(n, "min", -INFINITY);
            hi = ir_attr_float(n, "max", INFINITY);
        } else {
            if (n->n_inputs > 1 && n->inputs[1] >= 0) {
                if (vb_const(g, n, 1, lim) != 1)
                    return false;
                lo = lim[0];
            }
            if (n->n_inputs > 2 && n->inputs[2] >= 0) {
                if (vb_const(g, n, 2, lim) != 1)
                    return false;
                hi = lim[0];
            }
        }
        for (int i = 0; i < out->n; i++) {
            out->lo[i] = fmin(fmax(out->lo[i], lo), hi);
            out->hi[i] = fmin(fmax(out->hi[i], lo), hi);
            out->sym[i] = NULL;
        }
        return true;
    }
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MIN:
    case OP_MAX:
    case OP_NEG:
    case OP_ABS:
    case OP_RECIPROCAL:
    case OP_FLOOR:
    case OP_CEIL:
    case OP_ROUND:
    case OP_SQRT: return vb_elementwise(g, n, v, steps, out);
    default: return false;
    }
}

static bool vb_eval(const ir_graph *g, int id, vb_walk *steps, op_bounds *out)
{
    const ir_value *v = ir_val(g, id);
    memset(out, 0, sizeof(*out));
    if (++steps->n > VB_MAX_STEPS || v->rank < 0 || v->rank > 2 || ir_value_numel(v) > HODU_MAX_RANK)
        return false;
    if (v->kind == IR_VALUE_CONST) {
        long k = ir_const_as_f64(g, id, out->lo, HODU_MAX_RANK);
        if (k < 0)
            return false;
        out->n = (int)k;
        memcpy(out->hi, out->lo, sizeof(out->hi));
        return true;
    }
    if (v->dimvals) { /* a shape computed from dims: exact */
        out->n = v->dimvals->n;
        for (int i = 0; i < out->n; i++) {
            int64_t lo = v->dimvals->val[i], hi = lo;
            const char *s = v->dimvals->sym[i];
            if (s && !vb_range(g, steps, s, &lo, &hi))
                return false;
            out->lo[i] = (double)lo;
            out->hi[i] = (double)hi;
            out->sym[i] = s;
        }
        return true;
    }
    if (v->kind != IR_VALUE_NODE || v->producer < 0 || ir_nd(g, v->producer)->guard >= 0)
        return false;
    return vb_node(g, v, steps, out) && out->n == ir_value_numel(v) && vb_store(out, v->dtype);
}

bool op_value_bounds_at(const ir_graph *g, int id, const char *sym, int64_t val, op_bounds *out)
{
    vb_walk w = {.fix = sym, .fix_val = val};
    return id >= 0 && vb_eval(g, id, &w, out);
}

/* Intervals lose what ties two operands to one dim (ceil(s / 32) * 32 - s
 * is at least 0, but [32, 448] - [240, 426] is not): so each run-time dim
 * the walk read, when its range is small, is also fixed to each of its
 * sizes in turn.  The union over its sizes holds, and so does the plain
 * walk's; the value gets the tighter of the two. */
bool op_value_bounds(const ir_graph *g, int id, op_bounds *out)
{
    vb_walk w = {0};
    if (id < 0 || !vb_eval(g, id, &w, out))
        return false;
    for (int k = 0; k < w.n_seen && k < 2; k++) {
        int64_t lo, hi;
        if (!ir_graph_symbol_range(g, w.seen[k], &lo, &hi) || hi - lo >= OP_BOUNDS_MAX_ENUM)
            continue;
        op_bounds u = {0}, b;
        bool ok = true;
        for (int64_t v = lo; v <= hi && ok; v++) {
            ok = op_value_bounds_at(g, id, w.seen[k], v, &b) && b.n == out->n;
            for (int i = 0; ok && i < b.n; i++) {
                u.lo[i] = v == lo ? b.lo[i] : fmin(u.lo[i], b.lo[i]);
                u.hi[i] = v == lo ? b.hi[i] : fmax(u.hi[i], b.hi[i]);
            }
        }
        for (int i = 0; ok && i < out->n; i++) {
            out->lo[i] = fmax(out->lo[i], u.lo[i]);
            out->hi[i] = fmin(out->hi[i], u.hi[i]);
        }
    }
    return true;
}
