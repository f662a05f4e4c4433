/*
 * ops/shape.c - ops that describe or move data without arithmetic:
 * Identity, Constant, Shape, Reshape, ...
 *
 * Many of these appear in shape computations (Shape -> Gather -> Concat ->
 * Reshape) that exporters leave in models; their fold functions let the
 * passes turn such chains into constants, so shapes stay build-time facts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "shape.h"

/* Reading a node's geometry outside inference (backends) reports on the
 * caller's diag, as inference would have. */
static op_ctx node_ctx(const ir_graph *g, int node, hd_diag *d)
{
    op_ctx c = {(ir_graph *)g, node, d};
    return c;
}

static bool fold_copy(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    void *dst = op_fold_alloc(c, 0);
    memcpy(dst, in->data, in->nbytes);
    return true;
}

/* --- Identity ------------------------------------------------------------ */

static bool infer_identity(op_ctx *c)
{
    op_set_out_like(c, 0, op_in(c, 0));
    return true;
}

/* --- OptionalHasElement, OptionalGetElement ------------------------------ */
/* Hodu has no optional type: an operand is a tensor or absent.  Whether it
 * is there is known at build time, so HasElement is a constant; GetElement
 * of a tensor is the tensor. */

static bool infer_optional_has_element(op_ctx *c)
{
    op_set_out(c, 0, HODU_DTYPE_BOOL, 0, NULL);
    *(uint8_t *)op_fold_alloc(c, 0) = op_in(c, 0) != NULL;
    return true;
}

/* --- Constant ------------------------------------------------------------ */
/* Exactly one of value / value_float / value_floats / value_int / value_ints
 * gives the tensor (string forms are unsupported). */

static const op_attr_spec constant_attrs[] = {
    {"value", IR_ATTR_TENSOR},          {"value_float", IR_ATTR_FLOAT},  {"value_floats", IR_ATTR_FLOATS},
    {"value_int", IR_ATTR_INT},         {"value_ints", IR_ATTR_INTS},    {"value_string", IR_ATTR_STRING},
    {"value_strings", IR_ATTR_STRINGS}, {"sparse_value", IR_ATTR_OTHER}, {NULL, 0}};

static bool infer_constant(op_ctx *c)
{
    const ir_node *n = op_node(c);
    if (n->n_attrs != 1)
        return op_fail(c, "needs exactly one value attribute, has %zu", n->n_attrs);
    const ir_attr *a = &n->attrs[0];
    int64_t len = (int64_t)a->n;
    if (strcmp(a->name, "value") == 0) {
        op_set_out_like(c, 0, ir_val(c->g, a->tensor));
    } else if (strcmp(a->name, "value_float") == 0) {
        op_set_out(c, 0, HODU_DTYPE_F32, 0, NULL);
    } else if (strcmp(a->name, "value_int") == 0) {
        op_set_out(c, 0, HODU_DTYPE_I64, 0, NULL);
    } else if (strcmp(a->name, "value_floats") == 0) {
        op_set_out(c, 0, HODU_DTYPE_F32, 1, &len);
    } else if (strcmp(a->name, "value_ints") == 0) {
        op_set_out(c, 0, HODU_DTYPE_I64, 1, &len);
    } else {
        return op_fail(c, "attribute '%s' is not supported (string and sparse constants)", a->name);
    }
    return true;
}

static bool fold_constant(op_ctx *c)
{
    const ir_attr *a = &op_node(c)->attrs[0];
    void *dst = op_fold_alloc(c, 0);
    if (strcmp(a->name, "value") == 0) {
        const ir_value *t = ir_val(c->g, a->tensor);
        memcpy(dst, t->data, t->nbytes);
    } else if (strcmp(a->name, "value_float") == 0) {
        *(float *)dst = (float)a->f;
    } else if (strcmp(a->name, "value_int") == 0) {
        memcpy(dst, &a->i, 8);
    } else if (strcmp(a->name, "value_floats") == 0) {
        for (size_t i = 0; i < a->n; i++)
            ((float *)dst)[i] = (float)a->floats[i];
    } else {
        memcpy(dst, a->ints, a->n * 8);
    }
    return true;
}

/* --- Shape ---------------------------------------------------------------- */

static const op_attr_spec shape_attrs[] = {{"start", IR_ATTR_INT}, {"end", IR_ATTR_INT}, {NULL, 0}};

void op_shape_range(const ir_node *n, int rank, int *lo, int *hi)
{
    int64_t s = ir_attr_int(n, "start", 0), e = ir_attr_int(n, "end", rank);
    if (s < 0)
        s += rank;
    if (e < 0)
        e += rank;
    s = s < 0 ? 0 : (s > rank ? rank : s);
    e = e < 0 ? 0 : (e > rank ? rank : e);
    *lo = (int)s;
    *hi = (int)(e > s ? e : s);
}

static bool infer_shape(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    int lo, hi;
    op_shape_range(op_node(c), in->rank, &lo, &hi);
    int64_t len = hi - lo;
    op_set_out(c, 0, HODU_DTYPE_I64, 1, &len);
    /* The shape of a static tensor is a build-time fact: make it constant
     * right away, even though the input itself is computed at run time. */
    if (ir_value_is_static(in)) {
        int64_t *dst = op_fold_alloc(c, 0);
        for (int i = lo; i < hi; i++)
            dst[i - lo] = in->dims[i].size;
    }
    return true;
}

/* --- Reshape -------------------------------------------------------------- */

static const op_attr_spec reshape_attrs[] = {{"allowzero", IR_ATTR_INT}, {NULL, 0}};

/* For an op whose shape operand `i` is a run-time int64 vector: the
 * output's declared shape, when static, and the operand's length; -1 when
 * the op must have the operand at build time instead. */
static int runtime_shape_operand(op_ctx *c, size_t i, int64_t *declared, int64_t *len)
{
    const ir_value *sv = op_in(c, i);
    if (!sv || sv->kind == IR_VALUE_CONST || sv->dtype != HODU_DTYPE_I64 || sv->rank != 1 || sv->dims[0].size < 0)
        return -1;
    *len = sv->dims[0].size;
    return op_declared_shape(c, 0, declared);
}

static bool infer_reshape(op_ctx *c)
{
    const ir_value *in = op_need_static(c, 0);
    if (!in)
        return false;
    int64_t shape[HODU_MAX_RANK], len;
    int declared = runtime_shape_operand(c, 1, shape, &len);
    if (declared >= 0 && len == declared) {
        /* The target shape comes at run time: build for the shape the model
         * declares for the output, which the lowering checks it against. */
        int64_t numel = 1;
        for (int i = 0; i < declared; i++)
            if (!op_ck_mul(c, numel, shape[i], &numel, "the declared output shape"))
                return false;
        if (numel != ir_value_numel(in))
            return op_fail(c, "the declared output shape holds %" PRId64 " elements, the input %" PRId64, numel,
                           ir_value_numel(in));
        op_set_out(c, 0, in->dtype, declared, shape);
        return true;
    }
    long rank = op_need_const_i64(c, 1, shape, HODU_MAX_RANK, "shape");
    if (rank < 0)
        return false;
    bool allowzero = ir_attr_int(op_node(c), "allowzero", 0) != 0;
    int64_t numel = ir_value_numel(in), known = 1;
    int infer_at = -1;
    for (long i = 0; i < rank; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= in->rank)
                return op_fail(c, "shape entry %ld is 0 (copy) but the input has rank %d", i, in->rank);
            shape[i] = in->dims[i].size;
        }
        if (shape[i] == -1) {
            if (infer_at >= 0)
                return op_fail(c, "shape has more than one -1");
            infer_at = (int)i;
            continue;
        }
        if (shape[i] < 0)
            return op_fail(c, "shape entry %ld is %" PRId64, i, shape[i]);
        if (!op_ck_mul(c, known, shape[i], &known, "the product of the shape entries"))
            return false;
    }
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0)
            return op_fail(c, "cannot infer the -1 dim: %" PRId64 " elements into blocks of %" PRId64, numel, known);
        shape[infer_at] = numel / known;
        known *= shape[infer_at];
    }
    if (known != numel)
        return op_fail(c, "cannot reshape %" PRId64 " elements into %" PRId64, numel, known);
    op_set_out(c, 0, in->dtype, (int)rank, shape);
    return true;
}

/* --- strided copies --------------------------------------------------------
 * Most data movement is one shape_copy_plan (shape.h): folding runs it here
 * and backends lower the same plan, so the two cannot disagree. */

typedef shape_copy_plan copy_plan;

static void contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

static void value_strides(const ir_value *v, int64_t *strides)
{
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(v, dims);
    contiguous_strides(v->rank, dims, strides);
}

int64_t shape_copy_plan_numel(const copy_plan *p)
{
    int64_t n = 1;
    for (int i = 0; i < p->rank; i++)
        n *= p->dims[i];
    return n;
}

void shape_copy_plan_coalesce(copy_plan *p)
{
    int w = 0;
    for (int i = 0; i < p->rank; i++) {
        if (p->dims[i] == 1)
            continue;
        if (w > 0 && p->src[w - 1] == p->src[i] * p->dims[i] && p->dst[w - 1] == p->dst[i] * p->dims[i]) {
            p->dims[w - 1] *= p->dims[i];
            p->src[w - 1] = p->src[i];
            p->dst[w - 1] = p->dst[i];
            continue;
        }
        p->dims[w] = p->dims[i];
        p->src[w] = p->src[i];
        p->dst[w] = p->dst[i];
        w++;
    }
    p->rank = w;
}

void shape_copy_plan_run(const copy_plan *p, void *dst, const void *src, size_t elem)
{
    int64_t n = shape_copy_plan_numel(p);
    int64_t idx[HODU_MAX_RANK] = {0};
    for (int64_t k = 0; k < n; k++) {
        int64_t so = p->src_base, dso = p->dst_base;
        for (int i = 0; i < p->rank; i++) {
            so += idx[i] * p->src[i];
            dso += idx[i] * p->dst[i];
        }
        memcpy((char *)dst + dso * (int64_t)elem, (const char *)src + so * (int64_t)elem, elem);
        for (int i = p->rank - 1; i >= 0; i--) {
            if (++idx[i] < p->dims[i])
                break;
            idx[i] = 0;
        }
    }
}

/* A plan that reads input `in` through `src` strides into a dense output. */
static void plan_dense_out(copy_plan *p, const ir_value *out)
{
    p->rank = out->rank;
    ir_value_dims(out, p->dims);
    contiguous_strides(p->rank, p->dims, p->dst);
    p->dst_base = 0;
}

/* --- Transpose ------------------------------------------------------------ */

static const op_attr_spec transpose_attrs[] = {{"perm", IR_ATTR_INTS}, {NULL, 0}};

static bool transpose_perm(op_ctx *c, const ir_value *in, int *perm)
{
    size_t n = 0;
    const int64_t *p = ir_attr_ints(op_node(c), "perm", &n);
    if (!p) {
        for (int i = 0; i < in->rank; i++)
            perm[i] = in->rank - 1 - i;
        return true;
    }
    if ((int)n != in->rank)
        return op_fail(c, "perm has %zu entries for rank %d", n, in->rank);
    bool seen[HODU_MAX_RANK] = {false};
    for (size_t i = 0; i < n; i++) {
        int a;
        if (!op_axis(c, p[i], in->rank, &a))
            return false;
        if (seen[a])
            return op_fail(c, "perm repeats axis %d", a);
        seen[a] = true;
        perm[i] = a;
    }
    return true;
}

static bool transpose_plan(op_ctx *c, copy_plan *p)
{
    const ir_value *in = op_in(c, 0), *out = op_out(c, 0);
    int perm[HODU_MAX_RANK];
    if (!transpose_perm(c, in, perm))
        return false;
    int64_t st[HODU_MAX_RANK];
    value_strides(in, st);
    plan_dense_out(p, out);
    for (int i = 0; i < out->rank; i++)
        p->src[i] = st[perm[i]];
    p->src_base = 0;
    return true;
}

bool shape_transpose_plan(const ir_graph *g, int node, hd_diag *d, copy_plan *p)
{
    op_ctx c = node_ctx(g, node, d);
    return transpose_plan(&c, p);
}

static bool infer_transpose(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    int perm[HODU_MAX_RANK];
    if (!transpose_perm(c, in, perm))
        return false;
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < in->rank; i++)
        dims[i] = in->dims[perm[i]].size;
    op_set_out(c, 0, in->dtype, in->rank, dims);
    return true;
}

static bool fold_transpose(op_ctx *c)
{
    copy_plan p;
    transpose_plan(c, &p);
    void *dst = op_fold_alloc(c, 0);
    shape_copy_plan_run(&p, dst, op_in(c, 0)->data, ir_dtype_size(op_in(c, 0)->dtype));
    return true;
}

/* --- Slice ----------------------------------------------------------------
 * starts/ends/axes/steps are attributes before opset 10, inputs from 10.
 * Starts and ends are clamped per the spec; negative steps walk backwards. */

static const op_attr_spec slice_attrs[] = {
    {"starts", IR_ATTR_INTS}, {"ends", IR_ATTR_INTS}, {"axes", IR_ATTR_INTS}, {NULL, 0}};

static bool slice_plan(op_ctx *c, copy_plan *p, int64_t *out_dims)
{
    const ir_value *in = op_in(c, 0);
    int64_t starts[HODU_MAX_RANK], ends[HODU_MAX_RANK], axes[HODU_MAX_RANK], steps[HODU_MAX_RANK];
    long n, na = -1, ns = -1;
    if (op_node(c)->n_inputs == 1) {
        size_t cs = 0, ce = 0, ca = 0;
        const int64_t *s = ir_attr_ints(op_node(c), "starts", &cs), *en = ir_attr_ints(op_node(c), "ends", &ce),
                      *ax = ir_attr_ints(op_node(c), "axes", &ca);
        if (!s || !en || cs != ce || cs > HODU_MAX_RANK || (ax && ca != cs))
            return op_fail(c, "starts and ends must be given with the same length");
        n = (long)cs;
        memcpy(starts, s, cs * 8);
        memcpy(ends, en, ce * 8);
        if (ax) {
            memcpy(axes, ax, ca * 8);
            na = (long)ca;
        }
    } else {
        /* Read all four before failing, so every missing build-time value
         * is reported at once. */
        n = op_need_const_i64(c, 1, starts, HODU_MAX_RANK, "starts");
        long ne = op_need_const_i64(c, 2, ends, HODU_MAX_RANK, "ends");
        if (op_in(c, 3))
            na = op_need_const_i64(c, 3, axes, HODU_MAX_RANK, "axes");
        if (op_in(c, 4))
            ns = op_need_const_i64(c, 4, steps, HODU_MAX_RANK, "steps");
        if (n < 0 || ne < 0 || (op_in(c, 3) && na < 0) || (op_in(c, 4) && ns < 0))
            return false;
        if (ne != n || (op_in(c, 3) && na != n) || (op_in(c, 4) && ns != n))
            return op_fail(c, "starts, ends, axes and steps differ in length");
    }
    int64_t st[HODU_MAX_RANK];
    value_strides(in, st);
    int64_t lo[HODU_MAX_RANK], step[HODU_MAX_RANK];
    for (int i = 0; i < in->rank; i++) {
        lo[i] = 0;
        step[i] = 1;
        out_dims[i] = in->dims[i].size;
    }
    bool seen[HODU_MAX_RANK] = {false};
    for (long k = 0; k < n; k++) {
        int a;
        if (!op_axis(c, na >= 0 ? axes[k] : k, in->rank, &a))
            return false;
        if (seen[a])
            return op_fail(c, "axis %d is sliced twice", a);
        seen[a] = true;
        int64_t d = in->dims[a].size, s = starts[k], e = ends[k], sp = ns >= 0 ? steps[k] : 1;
        if (sp == 0)
            return op_fail(c, "step for axis %d is 0", a);
        if (s < 0)
            s = s < -d ? 0 : s + d;
        if (e < 0)
            e = e < -d ? -1 : e + d;
        /* After clamping, s and e lie in [-1, d]; the step may be any int64,
         * so the counts are written to never add to or negate it. */
        int64_t count;
        if (sp > 0) {
            s = s > d ? d : s;
            e = e > d ? d : (e < 0 ? 0 : e);
            count = e > s ? (e - s - 1) / sp + 1 : 0;
        } else {
            s = s > d - 1 ? d - 1 : s;
            e = e > d - 1 ? d - 1 : e;
            count = s > e ? (sp == INT64_MIN ? 1 : (s - e - 1) / -sp + 1) : 0;
        }
        lo[a] = count > 0 ? s : 0;
        /* With one element the step is never taken; 1 keeps st * step small. */
        step[a] = count > 1 ? sp : 1;
        out_dims[a] = count;
    }
    p->rank = in->rank;
    p->src_base = 0;
    for (int i = 0; i < in->rank; i++) {
        p->dims[i] = out_dims[i];
        p->src[i] = st[i] * step[i];
        p->src_base += lo[i] * st[i];
    }
    contiguous_strides(p->rank, p->dims, p->dst);
    p->dst_base = 0;
    return true;
}

bool shape_slice_at_run_time(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    /* starts and ends are required: an omitted one is slice_plan's error */
    if (n->n_inputs < 3 || n->n_outputs < 1 || n->outputs[0] < 0 || n->inputs[1] < 0 || n->inputs[2] < 0)
        return false;
    const ir_value *in = ir_val(g, n->inputs[0]), *out = ir_val(g, n->outputs[0]);
    if (out->rank != in->rank || !ir_value_is_static(out))
        return false;
    bool runtime = false;
    int64_t len = -1;
    for (size_t i = 1; i < n->n_inputs && i <= 4; i++) {
        if (n->inputs[i] < 0)
            continue;
        const ir_value *v = ir_val(g, n->inputs[i]);
        if (v->dtype != HODU_DTYPE_I64 || v->rank != 1 || v->dims[0].size < 0 || v->dims[0].size > in->rank ||
            (len >= 0 && v->dims[0].size != len))
            return false;
        len = v->dims[0].size;
        runtime = runtime || v->kind != IR_VALUE_CONST;
    }
    return runtime;
}

static bool infer_slice(op_ctx *c)
{
    if (shape_slice_at_run_time(c->g, c->node)) {
        /* starts, ends, axes or steps come at run time: build for the
         * declared output; the lowering slices by the values and checks
         * they give it */
        int64_t dims[HODU_MAX_RANK];
        op_declared_shape(c, 0, dims);
        op_set_out(c, 0, op_in(c, 0)->dtype, op_in(c, 0)->rank, dims);
        return true;
    }
    copy_plan p;
    int64_t dims[HODU_MAX_RANK];
    if (!slice_plan(c, &p, dims))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, op_in(c, 0)->rank, dims);
    return true;
}

static bool fold_slice(op_ctx *c)
{
    copy_plan p;
    int64_t dims[HODU_MAX_RANK];
    slice_plan(c, &p, dims);
    void *dst = op_fold_alloc(c, 0);
    shape_copy_plan_run(&p, dst, op_in(c, 0)->data, ir_dtype_size(op_in(c, 0)->dtype));
    return true;
}

bool shape_slice_plan(const ir_graph *g, int node, hd_diag *d, copy_plan *p)
{
    op_ctx c = node_ctx(g, node, d);
    int64_t dims[HODU_MAX_RANK];
    return slice_plan(&c, p, dims);
}

/* --- Expand ---------------------------------------------------------------- */

static bool infer_expand(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    int64_t shape[HODU_MAX_RANK], len;
    int declared = runtime_shape_operand(c, 1, shape, &len);
    if (declared >= 0 && len <= declared && in->rank <= declared) {
        /* The shape comes at run time: build for the declared output, which
         * the input must broadcast to; the lowering checks the values. */
        for (int k = 0; k < in->rank; k++) {
            int64_t a = in->dims[k].size, d = shape[declared - in->rank + k];
            if (a != d && a != 1)
                return op_fail(c,
                               "the input's dim %d (%" PRId64 ") does not broadcast to the declared output's %" PRId64,
                               k, a, d);
        }
        op_set_out(c, 0, in->dtype, declared, shape);
        return true;
    }
    long n = op_need_const_i64(c, 1, shape, HODU_MAX_RANK, "shape");
    if (n < 0)
        return false;
    for (long i = 0; i < n; i++)
        if (shape[i] < 0)
            return op_fail(c, "shape entry %ld is %" PRId64, i, shape[i]);
    ir_value tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.name = (char *)"shape";
    ir_value_set_shape(&tmp, (int)n, shape);
    int rank;
    int64_t dims[HODU_MAX_RANK];
    if (!op_broadcast(c, in, &tmp, &rank, dims))
        return false;
    op_set_out(c, 0, in->dtype, rank, dims);
    return true;
}

static void broadcast_plan(const ir_value *in, const ir_value *out, copy_plan *p)
{
    plan_dense_out(p, out);
    ir_broadcast_strides(in, out->rank, p->dims, p->src);
    p->src_base = 0;
}

void shape_expand_plan(const ir_graph *g, int node, copy_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    broadcast_plan(ir_val(g, n->inputs[0]), ir_val(g, n->outputs[0]), p);
}

static bool fold_expand(op_ctx *c)
{
    copy_plan p;
    broadcast_plan(op_in(c, 0), op_out(c, 0), &p);
    void *dst = op_fold_alloc(c, 0);
    shape_copy_plan_run(&p, dst, op_in(c, 0)->data, ir_dtype_size(op_in(c, 0)->dtype));
    return true;
}

/* --- Squeeze / Unsqueeze -----------------------------------------------------
 * axes: attribute before opset 13, optional (Squeeze) / required (Unsqueeze)
 * input from 13.  Both only change the shape.  Axes given at run time build
 * for the declared output shape, which the lowering checks them against. */

/* With run-time axes (`removes`: Squeeze) and a declared output shape of
 * the rank they give: sets the output and returns true; false otherwise
 * (the axes are then needed at build time). */
static bool runtime_axes(op_ctx *c, bool removes)
{
    const ir_value *in = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK], len;
    int rank = op_node(c)->n_inputs > 1 ? runtime_shape_operand(c, 1, dims, &len) : -1;
    if (rank < 0 || len < 1 || rank != in->rank + (removes ? -len : len))
        return false;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++)
        numel = op_sat_mul(numel, dims[i]);
    if (numel != ir_value_numel(in))
        return false;
    op_set_out(c, 0, in->dtype, rank, dims);
    return true;
}

static const op_attr_spec axes_attrs[] = {{"axes", IR_ATTR_INTS}, {NULL, 0}};

static long read_axes(op_ctx *c, int64_t *axes)
{
    if (op_node(c)->n_inputs > 1 && op_in(c, 1))
        return op_need_const_i64(c, 1, axes, HODU_MAX_RANK, "axes");
    size_t n = 0;
    const int64_t *a = ir_attr_ints(op_node(c), "axes", &n);
    if (!a)
        return 0;
    if (n > HODU_MAX_RANK) {
        op_fail(c, "too many axes");
        return -1;
    }
    memcpy(axes, a, n * 8);
    return (long)n;
}

static bool infer_squeeze(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    if (runtime_axes(c, true))
        return true;
    int64_t axes[HODU_MAX_RANK];
    long n = read_axes(c, axes);
    if (n < 0)
        return false;
    bool drop[HODU_MAX_RANK] = {false};
    for (long k = 0; k < n; k++) {
        int a;
        if (!op_axis(c, axes[k], in->rank, &a))
            return false;
        if (in->dims[a].size != 1)
            return op_fail(c, "cannot squeeze axis %d of size %" PRId64, a, in->dims[a].size);
        drop[a] = true;
    }
    int64_t dims[HODU_MAX_RANK];
    int r = 0;
    for (int i = 0; i < in->rank; i++)
        if (!(n == 0 ? in->dims[i].size == 1 : drop[i]))
            dims[r++] = in->dims[i].size;
    op_set_out(c, 0, in->dtype, r, dims);
    return true;
}

static bool infer_unsqueeze(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    if (runtime_axes(c, false))
        return true;
    int64_t axes[HODU_MAX_RANK];
    long n = read_axes(c, axes);
    if (n < 0)
        return false;
    int rank = in->rank + (int)n;
    if (n == 0 || rank > HODU_MAX_RANK)
        return op_fail(c, "needs 1 to %d axes for an input of rank %d", HODU_MAX_RANK - in->rank, in->rank);
    bool add[HODU_MAX_RANK] = {false};
    for (long k = 0; k < n; k++) {
        int a;
        if (!op_axis(c, axes[k], rank, &a))
            return false;
        if (add[a])
            return op_fail(c, "axis %d is given twice", a);
        add[a] = true;
    }
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = add[i] ? 1 : in->dims[j++].size;
    op_set_out(c, 0, in->dtype, rank, dims);
    return true;
}

/* --- Concat ------------------------------------------------------------------- */

static const op_attr_spec concat_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool infer_concat(op_ctx *c)
{
    const ir_value *first = op_in(c, 0);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), first->rank, &axis))
        return false;
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(first, dims);
    dims[axis] = 0;
    for (size_t k = 0; k < op_node(c)->n_inputs; k++) {
        const ir_value *v = op_in(c, k);
        if (!v)
            continue;
        if (v->rank != first->rank || v->dtype != first->dtype)
            return op_fail(c, "input '%s' differs in rank or dtype from '%s'", v->name, first->name);
        for (int i = 0; i < v->rank; i++)
            if (i != axis && v->dims[i].size != first->dims[i].size)
                return op_fail(c, "input '%s' dim %d is %" PRId64 ", expected %" PRId64, v->name, i, v->dims[i].size,
                               first->dims[i].size);
        if (!op_ck_add(c, dims[axis], v->dims[axis].size, &dims[axis], "the concatenated axis"))
            return false;
    }
    op_set_out(c, 0, first->dtype, first->rank, dims);
    return true;
}

/* Plan for copying input k into its slab of the output. */
static void concat_plan(const ir_node *n, const ir_graph *g, size_t k, int axis, copy_plan *p)
{
    const ir_value *out = ir_val(g, n->outputs[0]);
    int64_t od[HODU_MAX_RANK], ost[HODU_MAX_RANK];
    ir_value_dims(out, od);
    contiguous_strides(out->rank, od, ost);
    int64_t at = 0;
    for (size_t j = 0; j < k; j++)
        if (n->inputs[j] >= 0)
            at += ir_val(g, n->inputs[j])->dims[axis].size;
    const ir_value *in = ir_val(g, n->inputs[k]);
    p->rank = in->rank;
    ir_value_dims(in, p->dims);
    contiguous_strides(in->rank, p->dims, p->src);
    memcpy(p->dst, ost, sizeof(ost));
    p->src_base = 0;
    p->dst_base = at * ost[axis];
}

static bool fold_concat(op_ctx *c)
{
    const ir_node *n = op_node(c);
    int axis;
    op_axis(c, ir_attr_int(n, "axis", 0), op_in(c, 0)->rank, &axis);
    void *dst = op_fold_alloc(c, 0);
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (n->inputs[k] < 0)
            continue;
        copy_plan p;
        concat_plan(n, c->g, k, axis, &p);
        shape_copy_plan_run(&p, dst, op_in(c, k)->data, ir_dtype_size(op_in(c, k)->dtype));
    }
    return true;
}

void shape_concat_plan(const ir_graph *g, int node, size_t k, copy_plan *p)
{
    const ir_node *n = ir_nd(g, node);
    int axis = (int)ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += ir_val(g, n->outputs[0])->rank;
    concat_plan(n, g, k, axis, p);
}

/* --- Split -------------------------------------------------------------------
 * Sizes from the `split` attribute (< 13) or input (>= 13); else equal parts,
 * the last one smaller when num_outputs (>= 18) does not divide the dim. */

static const op_attr_spec split_attrs[] = {
    {"axis", IR_ATTR_INT}, {"split", IR_ATTR_INTS}, {"num_outputs", IR_ATTR_INT}, {NULL, 0}};

static bool split_sizes(op_ctx *c, int *axis_out, int64_t *sizes, size_t n_out)
{
    const ir_value *in = op_in(c, 0);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), in->rank, &axis))
        return false;
    *axis_out = axis;
    int64_t d = in->dims[axis].size;
    int64_t buf[64];
    long n = -1;
    const ir_value *sv = op_in(c, 1);
    if (sv && sv->kind != IR_VALUE_CONST && sv->dtype == HODU_DTYPE_I64 && sv->rank == 1 &&
        sv->dims[0].size == (int64_t)n_out) {
        /* Sizes given at run time: take each output's declared size along
         * the axis (the lowering checks the values against them). */
        for (n = 0; n >= 0 && (size_t)n < n_out; n++) {
            int64_t dims[HODU_MAX_RANK];
            if (op_declared_shape(c, (size_t)n, dims) != in->rank)
                break;
            for (int k = 0; k < in->rank; k++)
                if (k != axis && dims[k] != in->dims[k].size)
                    return op_fail(c, "output %ld's declared shape does not fit the input's", n);
            buf[n] = dims[axis];
        }
        if ((size_t)n != n_out)
            n = -1;
    }
    if (n < 0 && sv) {
        n = op_need_const_i64(c, 1, buf, 64, "split");
        if (n < 0)
            return false;
    } else {
        size_t cnt = 0;
        const int64_t *s = ir_attr_ints(op_node(c), "split", &cnt);
        if (s) {
            if (cnt > 64)
                return op_fail(c, "too many split entries");
            memcpy(buf, s, cnt * 8);
            n = (long)cnt;
        }
    }
    if (n >= 0) {
        if ((size_t)n != n_out)
            return op_fail(c, "split has %ld entries for %zu outputs", n, n_out);
        int64_t sum = 0;
        for (long i = 0; i < n; i++) {
            if (buf[i] < 0)
                return op_fail(c, "split entry %ld is negative", i);
            sizes[i] = buf[i];
            if (!op_ck_add(c, sum, buf[i], &sum, "the sum of the split sizes"))
                return false;
        }
        if (sum != d)
            return op_fail(c, "split sizes add up to %" PRId64 ", the axis has %" PRId64, sum, d);
        return true;
    }
    int64_t part = (d + (int64_t)n_out - 1) / (int64_t)n_out;
    if (!ir_attr_find(op_node(c), "num_outputs") && d % (int64_t)n_out != 0)
        return op_fail(c, "axis of size %" PRId64 " does not split evenly into %zu outputs", d, n_out);
    int64_t left = d;
    for (size_t i = 0; i < n_out; i++) {
        sizes[i] = left < part ? left : part;
        left -= sizes[i];
    }
    return true;
}

static bool infer_split(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    size_t n_out = op_node(c)->n_outputs;
    if (n_out > 64)
        return op_fail(c, "too many outputs");
    int axis;
    int64_t sizes[64];
    if (!split_sizes(c, &axis, sizes, n_out))
        return false;
    for (size_t i = 0; i < n_out; i++) {
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(in, dims);
        dims[axis] = sizes[i];
        op_set_out(c, i, in->dtype, in->rank, dims);
    }
    return true;
}

static void split_plan(const ir_value *in, int axis, int64_t start, int64_t size, copy_plan *p)
{
    int64_t st[HODU_MAX_RANK];
    value_strides(in, st);
    p->rank = in->rank;
    ir_value_dims(in, p->dims);
    p->dims[axis] = size;
    memcpy(p->src, st, sizeof(st));
    p->src_base = start * st[axis];
    contiguous_strides(p->rank, p->dims, p->dst);
    p->dst_base = 0;
}

static bool fold_split(op_ctx *c)
{
    const ir_node *n = op_node(c);
    int axis;
    int64_t sizes[64], at = 0;
    split_sizes(c, &axis, sizes, n->n_outputs);
    for (size_t i = 0; i < n->n_outputs; i++) {
        if (n->outputs[i] >= 0) {
            copy_plan p;
            split_plan(op_in(c, 0), axis, at, sizes[i], &p);
            shape_copy_plan_run(&p, op_fold_alloc(c, i), op_in(c, 0)->data, ir_dtype_size(op_in(c, 0)->dtype));
        }
        at += sizes[i];
    }
    return true;
}

bool shape_split_sizes(const ir_graph *g, int node, hd_diag *d, int *axis, int64_t *sizes)
{
    op_ctx c = node_ctx(g, node, d);
    if (op_node(&c)->n_outputs > 64)
        return op_fail(&c, "too many outputs");
    return split_sizes(&c, axis, sizes, op_node(&c)->n_outputs);
}

bool shape_split_plan(const ir_graph *g, int node, hd_diag *d, size_t out, copy_plan *p)
{
    op_ctx c = node_ctx(g, node, d);
    const ir_node *n = op_node(&c);
    int axis;
    int64_t sizes[64], at = 0;
    if (!split_sizes(&c, &axis, sizes, n->n_outputs))
        return false;
    for (size_t i = 0; i < out; i++)
        at += sizes[i];
    split_plan(op_in(&c, 0), axis, at, sizes[out], p);
    return true;
}

/* --- Gather ----------------------------------------------------------------
 * out = data[:axis] x indices x data[axis+1:].  Negative indices count from
 * the end; out-of-range indices are clamped so a bad run-time index can never
 * read outside the tensor. */

static const op_attr_spec gather_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool infer_gather(op_ctx *c)
{
    const ir_value *data = op_in(c, 0), *idx = op_in(c, 1);
    if (!ir_dtype_is_int(idx->dtype))
        return op_fail(c, "indices must be int32 or int64, got %s", ir_dtype_name(idx->dtype));
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), data->rank, &axis))
        return false;
    if (data->rank == 0 || data->rank - 1 + idx->rank > HODU_MAX_RANK)
        return op_fail(c, "result rank out of range");
    int64_t dims[HODU_MAX_RANK];
    int r = 0;
    for (int i = 0; i < axis; i++)
        dims[r++] = data->dims[i].size;
    for (int i = 0; i < idx->rank; i++)
        dims[r++] = idx->dims[i].size;
    for (int i = axis + 1; i < data->rank; i++)
        dims[r++] = data->dims[i].size;
    op_set_out(c, 0, data->dtype, r, dims);
    return true;
}

static void gather_view(const ir_value *data, const ir_value *idx, int axis, shape_gather_view *v)
{
    v->axis = axis;
    v->outer = 1;
    v->inner = 1;
    for (int i = 0; i < axis; i++)
        v->outer *= data->dims[i].size;
    for (int i = axis + 1; i < data->rank; i++)
        v->inner *= data->dims[i].size;
    v->d = data->dims[axis].size;
    v->n_idx = ir_value_numel(idx);
}

void shape_gather_view_of(const ir_graph *g, int node, shape_gather_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *data = ir_val(g, n->inputs[0]);
    int axis = (int)ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += data->rank;
    gather_view(data, ir_val(g, n->inputs[1]), axis, v);
}

static bool fold_gather(op_ctx *c)
{
    const ir_value *data = op_in(c, 0);
    int axis;
    op_axis(c, ir_attr_int(op_node(c), "axis", 0), data->rank, &axis);
    shape_gather_view v;
    gather_view(data, op_in(c, 1), axis, &v);
    int64_t outer = v.outer, n_idx = v.n_idx, d = v.d, inner = v.inner;
    if (n_idx > 1 << 20)
        return true; /* too big to fold: stays a run-time gather */
    int64_t *ix = hd_xmalloc((size_t)(n_idx ? n_idx : 1) * 8);
    ir_const_as_i64(c->g, op_in_id(c, 1), ix, (size_t)n_idx);
    size_t es = ir_dtype_size(data->dtype);
    char *dst = op_fold_alloc(c, 0);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n_idx; j++) {
            int64_t k = ix[j] < 0 ? ix[j] + d : ix[j];
            k = k < 0 ? 0 : (k >= d ? d - 1 : k);
            memcpy(dst + ((o * n_idx + j) * inner) * (int64_t)es,
                   (const char *)data->data + ((o * d + k) * inner) * (int64_t)es, (size_t)inner * es);
        }
    free(ix);
    return true;
}

/* --- GatherElements ------------------------------------------------------------ */

static bool infer_gather_elements(op_ctx *c)
{
    const ir_value *data = op_in(c, 0), *idx = op_in(c, 1);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), data->rank, &axis))
        return false;
    if (idx->rank != data->rank)
        return op_fail(c, "indices rank %d differs from data rank %d", idx->rank, data->rank);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(idx, dims);
    op_set_out(c, 0, data->dtype, idx->rank, dims);
    return true;
}

static void elements_view(const ir_value *data, const ir_value *idx, int axis, shape_elements_view *v)
{
    v->rank = idx->rank;
    v->axis = axis;
    value_strides(data, v->data_strides);
    ir_value_dims(idx, v->idx_dims);
    contiguous_strides(idx->rank, v->idx_dims, v->idx_strides);
    v->d = data->dims[axis].size;
    v->axis_stride = v->data_strides[axis];
    v->data_strides[axis] = 0;
}

void shape_elements_view_of(const ir_graph *g, int node, shape_elements_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *data = ir_val(g, n->inputs[0]);
    int axis = (int)ir_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += data->rank;
    elements_view(data, ir_val(g, n->inputs[1]), axis, v);
}

/* --- Tile --------------------------------------------------------------------- */

static bool infer_tile(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    int64_t reps[HODU_MAX_RANK], len;
    int declared = runtime_shape_operand(c, 1, reps, &len);
    if (declared >= 0 && declared == in->rank && len == in->rank) {
        /* repeats given at run time: the declared output, a whole number of
         * copies of the input along every dim (checked when the model runs) */
        for (int i = 0; i < in->rank; i++) {
            int64_t a = in->dims[i].size;
            if (a ? reps[i] % a != 0 : reps[i] != 0)
                return op_fail(c,
                               "the declared output's dim %d (%" PRId64 ") is no multiple of the input's (%" PRId64 ")",
                               i, reps[i], a);
        }
        op_set_out(c, 0, in->dtype, in->rank, reps);
        return true;
    }
    long n = op_need_const_i64(c, 1, reps, HODU_MAX_RANK, "repeats");
    if (n < 0)
        return false;
    if (n != in->rank)
        return op_fail(c, "repeats has %ld entries for rank %d", n, in->rank);
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < in->rank; i++) {
        if (reps[i] < 0)
            return op_fail(c, "repeats entry %d is negative", i);
        if (!op_ck_mul(c, in->dims[i].size, reps[i], &dims[i], "the tiled dim"))
            return false;
    }
    op_set_out(c, 0, in->dtype, in->rank, dims);
    return true;
}

void shape_tile_view_of(const ir_graph *g, int node, shape_tile_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]), *out = ir_val(g, n->outputs[0]);
    v->rank = out->rank;
    ir_value_dims(out, v->out_dims);
    ir_value_dims(in, v->in_dims);
    value_strides(in, v->in_strides);
}

/* --- Pad ----------------------------------------------------------------------
 * pads: attribute before opset 11, then an input; constant_value input from
 * 11; axes input from 18.  Negative pads crop.  Modes: constant, reflect,
 * edge, wrap. */

static const op_attr_spec pad_attrs[] = {
    {"mode", IR_ATTR_STRING}, {"pads", IR_ATTR_INTS}, {"value", IR_ATTR_FLOAT}, {NULL, 0}};

static bool pad_amounts(op_ctx *c, int64_t *begin, int64_t *end)
{
    const ir_value *in = op_in(c, 0);
    int r = in->rank;
    int64_t pads[2 * HODU_MAX_RANK], axes[HODU_MAX_RANK];
    long n;
    long na = r;
    for (int i = 0; i < r; i++)
        axes[i] = i;
    if (op_node(c)->n_inputs >= 4 && op_in(c, 3))
        na = op_need_const_i64(c, 3, axes, HODU_MAX_RANK, "axes");
    if (op_node(c)->n_inputs >= 2 && op_in(c, 1)) {
        n = op_need_const_i64(c, 1, pads, 2 * HODU_MAX_RANK, "pads");
    } else {
        size_t cnt = 0;
        const int64_t *p = ir_attr_ints(op_node(c), "pads", &cnt);
        if (!p || cnt > 2 * HODU_MAX_RANK)
            return op_fail(c, "pads are required");
        memcpy(pads, p, cnt * 8);
        n = (long)cnt;
    }
    if (n < 0 || na < 0)
        return false;
    if (n != 2 * na)
        return op_fail(c, "pads has %ld entries, expected %ld", n, 2 * na);
    for (int i = 0; i < r; i++)
        begin[i] = end[i] = 0;
    for (long k = 0; k < na; k++) {
        int a;
        if (!op_axis(c, axes[k], r, &a))
            return false;
        begin[a] = pads[k];
        end[a] = pads[k + na];
        /* Emitted index arithmetic subtracts pads: keep them in tensor range. */
        int64_t lim = (int64_t)HODU_MAX_TENSOR_ELEMS;
        if (begin[a] < -lim || begin[a] > lim || end[a] < -lim || end[a] > lim)
            return op_fail(c, "pads for axis %d (%" PRId64 ", %" PRId64 ") are past the 2^%d size limit", a, begin[a],
                           end[a], __builtin_ctzll(HODU_MAX_TENSOR_ELEMS));
    }
    return true;
}

/* Pads given at run time (an int64 vector input), with constant axes, none,
 * or axes given at run time too (an int32 or int64 vector), and a declared
 * output shape of the input's rank: the axes into axes[] (left unset when
 * they come at run time) and *n; false otherwise (the pads are then needed
 * at build time). */
static bool pad_at_run_time(op_ctx *c, int *axes, int *n, bool *axes_at_run_time)
{
    const ir_node *nd = op_node(c);
    const ir_value *in = op_in(c, 0), *pv = nd->n_inputs >= 2 ? op_in(c, 1) : NULL;
    const ir_value *av = nd->n_inputs >= 4 ? op_in(c, 3) : NULL;
    int64_t declared[HODU_MAX_RANK], ax[HODU_MAX_RANK];
    *axes_at_run_time = av && av->kind != IR_VALUE_CONST;
    if (!pv || (pv->kind == IR_VALUE_CONST && !*axes_at_run_time) || pv->dtype != HODU_DTYPE_I64 || pv->rank != 1 ||
        op_declared_shape(c, 0, declared) != in->rank)
        return false;
    long na = in->rank;
    for (int i = 0; i < in->rank; i++)
        ax[i] = i;
    if (*axes_at_run_time) {
        if ((av->dtype != HODU_DTYPE_I64 && av->dtype != HODU_DTYPE_I32) || av->rank != 1 ||
            av->dims[0].size > in->rank)
            return false;
        na = (long)av->dims[0].size;
    } else if (av) {
        na = ir_const_as_i64(c->g, op_in_id(c, 3), ax, HODU_MAX_RANK);
    }
    if (na < 0 || pv->dims[0].size != 2 * na)
        return false;
    for (long k = 0; k < na && !*axes_at_run_time; k++)
        if (!op_axis(c, ax[k], in->rank, &axes[k]))
            return false;
    *n = (int)na;
    return true;
}

static bool pad_mode(const char *s, shape_pad_mode *m)
{
    static const struct {
        const char *name;
        shape_pad_mode mode;
    } modes[] = {{"constant", SHAPE_PAD_CONSTANT},
                 {"reflect", SHAPE_PAD_REFLECT},
                 {"edge", SHAPE_PAD_EDGE},
                 {"wrap", SHAPE_PAD_WRAP}};
    for (size_t i = 0; i < HD_ARRAY_LEN(modes); i++)
        if (strcmp(s, modes[i].name) == 0) {
            *m = modes[i].mode;
            return true;
        }
    return false;
}

static bool infer_pad(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    const char *mode = ir_attr_string(op_node(c), "mode", "constant");
    shape_pad_mode m;
    if (!pad_mode(mode, &m))
        return op_fail(c, "mode '%s' is not supported", mode);
    int64_t b[HODU_MAX_RANK], e[HODU_MAX_RANK], dims[HODU_MAX_RANK];
    int axes[HODU_MAX_RANK], na;
    bool rt_axes;
    if (pad_at_run_time(c, axes, &na, &rt_axes)) {
        /* pads given at run time: the declared output, checked then */
        op_declared_shape(c, 0, dims);
        for (int i = 0; i < in->rank; i++)
            if (m != SHAPE_PAD_CONSTANT && in->dims[i].size == 0 && dims[i] > 0)
                return op_fail(c, "mode '%s' cannot pad an empty dim", mode);
        op_set_out(c, 0, in->dtype, in->rank, dims);
        return true;
    }
    if (!pad_amounts(c, b, e))
        return false;
    for (int i = 0; i < in->rank; i++) {
        if (!op_ck_add(c, in->dims[i].size, b[i], &dims[i], "the padded dim") ||
            !op_ck_add(c, dims[i], e[i], &dims[i], "the padded dim"))
            return false;
        if (dims[i] < 0)
            return op_fail(c, "pads make dim %d negative", i);
        if (strcmp(mode, "constant") != 0 && in->dims[i].size == 0 && dims[i] > 0)
            return op_fail(c, "mode '%s' cannot pad an empty dim", mode);
    }
    op_set_out(c, 0, in->dtype, in->rank, dims);
    return true;
}

/* Pad over run-time dims (the general path), constant mode, pads from
 * opset 11's input: each output dim is the input's plus its two pads.
 * Pads that are numbers or dims (ir_dimvals) give a polynomial; pads that
 * arithmetic on data computes from dims (a detector's padding to a
 * multiple of 32) give a data symbol within the bounds op_value_bounds
 * derives, which the lowering checks and sets. */
bool shape_infer_pad_rt(op_ctx *c)
{
    ir_graph *g = c->g;
    const ir_node *n = op_node(c);
    const ir_value *x = op_in(c, 0), *pv = n->n_inputs > 1 ? op_in(c, 1) : NULL;
    const char *mode = ir_attr_string(n, "mode", "constant");
    if (strcmp(mode, "constant") != 0)
        return op_fail(c,
                       "mode '%s' over run-time dims is not supported yet (constant is); bind the dims with --dim "
                       "SYM=N",
                       mode);
    if (!pv || (n->n_inputs > 3 && op_in(c, 3)))
        return op_fail(c, "over run-time dims, pads must be an input (opset 11) and axes absent");
    if (n->n_inputs > 2 && op_in(c, 2) && ir_value_numel(op_in(c, 2)) != 1)
        return op_fail(c, "constant_value must be one element");
    int r = x->rank;
    op_bounds b;
    if (!op_value_bounds(g, n->inputs[1], &b))
        return op_fail(c,
                       "over run-time dims, pads ('%s') must be numbers, dims, or computed from dims by arithmetic "
                       "whose range hodu can bound; here it depends on the data without a bound",
                       pv->name);
    if (b.n != 2 * r)
        return op_fail(c, "pads has %d entries, expected %d", b.n, 2 * r);
    ir_dim out[HODU_MAX_RANK];
    int64_t top[HODU_MAX_RANK];
    for (int a = 0; a < r; a++) {
        const ir_dim *d = &x->dims[a];
        int64_t dlo = d->size, dhi = d->size;
        if (d->rt && !ir_graph_symbol_range(g, d->sym, &dlo, &dhi))
            return op_fail(c, "internal error: run-time dim '%s' has no range", d->sym);
        double lo = (double)dlo + ceil(b.lo[a]) + ceil(b.lo[a + r]),
               hi = (double)dhi + floor(b.hi[a]) + floor(b.hi[a + r]);
        if (b.lo[a] < 0 || b.lo[a + r] < 0)
            return op_fail(c, "pads for axis %d may be negative (a crop) over run-time dims; not supported yet", a);
        if (!(hi <= (double)((int64_t)1 << 40)))
            return op_fail(c, "pads for axis %d may make it as large as %g, past 2^40", a, hi);
        bool exact = (b.sym[a] || b.lo[a] == b.hi[a]) && (b.sym[a + r] || b.lo[a + r] == b.hi[a + r]);
        if (exact) { /* the dim plus two numbers or dims: a polynomial */
            ir_poly sum = ir_dim_poly(g, d);
            for (int k = 0; k < 2; k++) {
                int j = a + k * r;
                ir_dim pd = b.sym[j] ? (ir_dim){.size = (int64_t)b.hi[j], .sym = b.sym[j], .rt = true}
                                     : (ir_dim){.size = (int64_t)b.hi[j]};
                ir_poly pp = ir_dim_poly(g, &pd);
                if (!ir_poly_add(&sum, &pp, 1, &sum))
                    return op_fail(c, "axis %d's padded size has more terms than hodu can name", a);
            }
            if (!ir_graph_poly_dim(g, &sum, &out[a]))
                return op_fail(c, "axis %d's padded size overflows, or has no name the model leaves free", a);
        } else {
            /* pads computed from this very dim (up to a multiple of 32):
             * bound the sum for each size of the dim */
            if (d->rt && dhi - dlo < OP_BOUNDS_MAX_ENUM) {
                op_bounds at;
                double jlo = INFINITY, jhi = -INFINITY;
                for (int64_t v = dlo; v <= dhi; v++) {
                    if (!op_value_bounds_at(g, n->inputs[1], d->sym, v, &at)) {
                        jlo = -INFINITY;
                        break;
                    }
                    jlo = fmin(jlo, (double)v + ceil(at.lo[a]) + ceil(at.lo[a + r]));
                    jhi = fmax(jhi, (double)v + floor(at.hi[a]) + floor(at.hi[a + r]));
                }
                if (isfinite(jlo) && isfinite(jhi)) {
                    lo = fmax(lo, jlo);
                    hi = fmin(hi, jhi);
                }
            }
            hd_buf key;
            hd_buf_init(&key);
            hd_buf_printf(&key, "pad:%s[%d]", ir_val(g, n->outputs[0])->name, a);
            out[a] = (ir_dim){.size = (int64_t)hi, .data_dep = true, .rt = true};
            out[a].sym = ir_graph_keyed_data_symbol(g, n->outputs[0], a, (int64_t)hi, key.data);
            hd_buf_free(&key);
            ir_graph_set_symbol_range(g, out[a].sym, (int64_t)lo, (int64_t)hi);
        }
        top[a] = out[a].size;
    }
    op_set_out(c, 0, x->dtype, r, top);
    memcpy(op_out(c, 0)->dims, out, (size_t)r * sizeof(ir_dim));
    return true;
}

bool shape_pad_plan_of(const ir_graph *g, int node, hd_diag *d, shape_pad_plan *p)
{
    op_ctx c = node_ctx(g, node, d);
    const ir_node *n = op_node(&c);
    const ir_value *in = op_in(&c, 0), *out = op_out(&c, 0);
    memset(p, 0, sizeof *p);
    if (!pad_mode(ir_attr_string(n, "mode", "constant"), &p->mode))
        return op_fail(&c, "mode '%s' is not supported", ir_attr_string(n, "mode", "constant"));
    p->pads_at_run_time = pad_at_run_time(&c, p->axes, &p->n_axes, &p->axes_at_run_time);
    if (!p->pads_at_run_time && !pad_amounts(&c, p->begin, p->end))
        return false;
    p->rank = out->rank;
    ir_value_dims(in, p->in_dims);
    ir_value_dims(out, p->out_dims);
    value_strides(in, p->in_strides);
    int64_t sub = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        p->fill_block[i] = sub;
        sub *= out->dims[i].size;
    }
    p->value_input = op_in(&c, 2) != NULL;
    p->value = ir_attr_float(n, "value", 0.0);
    return true;
}

/* --- ConstantOfShape --------------------------------------------------------- */

static const op_attr_spec cos_attrs[] = {{"value", IR_ATTR_TENSOR}, {NULL, 0}};

static const ir_value *cos_value(const op_ctx *c) { return shape_constant_of_shape_value(c->g, c->node); }

const ir_value *shape_constant_of_shape_value(const ir_graph *g, int node)
{
    const ir_attr *a = ir_attr_find(ir_nd(g, node), "value");
    return a && a->tensor >= 0 ? ir_val(g, a->tensor) : NULL;
}

static bool infer_constant_of_shape(op_ctx *c)
{
    int64_t dims[HODU_MAX_RANK], len;
    int rank = runtime_shape_operand(c, 0, dims, &len);
    if (rank >= 0 && len == rank) {
        /* the shape comes at run time: the declared one, checked then */
        const ir_value *v = cos_value(c);
        if (v && ir_value_numel(v) != 1)
            return op_fail(c, "value must hold exactly one element");
        op_set_out(c, 0, v ? v->dtype : HODU_DTYPE_F32, rank, dims);
        return true;
    }
    long n = op_need_const_i64(c, 0, dims, HODU_MAX_RANK, "shape");
    if (n < 0)
        return false;
    for (long i = 0; i < n; i++)
        if (dims[i] < 0)
            return op_fail(c, "shape entry %ld is negative", i);
    const ir_value *v = cos_value(c);
    if (v && ir_value_numel(v) != 1)
        return op_fail(c, "value must hold exactly one element");
    op_set_out(c, 0, v ? v->dtype : HODU_DTYPE_F32, (int)n, dims);
    return true;
}

static bool fold_constant_of_shape(op_ctx *c)
{
    const ir_value *out = op_out(c, 0);
    if (ir_value_numel(out) > 65536)
        return true; /* large fills are cheaper to run than to ship */
    const ir_value *v = cos_value(c);
    size_t es = ir_dtype_size(out->dtype);
    char *dst = op_fold_alloc(c, 0);
    for (int64_t i = 0; v && i < ir_value_numel(out); i++)
        memcpy(dst + i * (int64_t)es, v->data, es);
    return true;
}

/* --- Size --------------------------------------------------------------------- */

static bool infer_size(op_ctx *c)
{
    op_set_out(c, 0, HODU_DTYPE_I64, 0, NULL);
    int64_t *dst = op_fold_alloc(c, 0);
    *dst = ir_value_numel(op_in(c, 0));
    return true;
}

/* --- Range ---------------------------------------------------------------------
 * The element count depends on the values, so all three must be constants. */

static bool range_args(op_ctx *c, double *start, double *delta, int64_t *count)
{
    double v[3];
    bool ok = true;
    for (size_t i = 0; i < 3; i++) {
        const ir_value *in = op_in(c, i);
        if (in->kind != IR_VALUE_CONST)
            ok = op_fail_not_const(c, op_in_id(c, i), i == 0 ? "start" : i == 1 ? "limit" : "delta");
        else if (ir_const_as_f64(c->g, op_in_id(c, i), &v[i], 1) != 1)
            ok = op_fail(c, "%s ('%s') must be a build-time constant scalar",
                         i == 0   ? "start"
                         : i == 1 ? "limit"
                                  : "delta",
                         in->name);
    }
    if (!ok)
        return false;
    if (v[2] == 0)
        return op_fail(c, "delta is 0");
    double n = ceil((v[1] - v[0]) / v[2]);
    /* Convert only a count that fits: NaN, infinities and huge spans would be
     * undefined as int64. */
    if (!(n <= (double)HODU_MAX_TENSOR_ELEMS))
        return op_fail(c, "would produce %.17g elements; at most 2^%d are supported", n,
                       __builtin_ctzll(HODU_MAX_TENSOR_ELEMS));
    *count = n > 0 ? (int64_t)n : 0;
    *start = v[0];
    *delta = v[2];
    return true;
}

static bool infer_range(op_ctx *c)
{
    double start, delta;
    int64_t count, declared[HODU_MAX_RANK];
    hodu_dtype t = op_in(c, 0)->dtype;
    bool runtime = false, scalars = true;
    for (size_t i = 0; i < 3; i++) {
        runtime = runtime || op_in(c, i)->kind != IR_VALUE_CONST;
        scalars = scalars && ir_value_numel(op_in(c, i)) == 1 && op_in(c, i)->dtype == t;
    }
    if (runtime && scalars && op_declared_shape(c, 0, declared) == 1 &&
        (ir_dtype_is_float(t) || t == HODU_DTYPE_I16 || t == HODU_DTYPE_I32 || t == HODU_DTYPE_I64)) {
        /* start, limit or delta at run time: the declared length, which
         * the lowering checks the values give */
        op_set_out(c, 0, t, 1, declared);
        return true;
    }
    if (!range_args(c, &start, &delta, &count))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, 1, &count);
    return true;
}

static bool fold_range(op_ctx *c)
{
    const ir_value *out = op_out(c, 0);
    int64_t n = ir_value_numel(out);
    char *dst = op_fold_alloc(c, 0);
    /* Integers step exactly; floats accumulate in the output type, as the
     * ONNX reference does. */
    int64_t is = 0, id = 0;
    ir_const_as_i64(c->g, op_in_id(c, 0), &is, 1);
    ir_const_as_i64(c->g, op_in_id(c, 2), &id, 1);
    double fs = 0, fd = 0;
    ir_const_as_f64(c->g, op_in_id(c, 0), &fs, 1);
    ir_const_as_f64(c->g, op_in_id(c, 2), &fd, 1);
    for (int64_t i = 0; i < n; i++) {
        switch (out->dtype) {
        case HODU_DTYPE_F32: ((float *)dst)[i] = (float)fs + (float)i * (float)fd; break;
        case HODU_DTYPE_F64: ((double *)dst)[i] = fs + (double)i * fd; break;
        /* start + i * delta lies between start and limit, but i * delta
         * alone may not fit: compute modulo 2^64, which gives the exact value. */
        case HODU_DTYPE_I16: ((int16_t *)dst)[i] = (int16_t)(int64_t)((uint64_t)is + (uint64_t)i * (uint64_t)id); break;
        case HODU_DTYPE_I32: ((int32_t *)dst)[i] = (int32_t)(int64_t)((uint64_t)is + (uint64_t)i * (uint64_t)id); break;
        case HODU_DTYPE_I64: ((int64_t *)dst)[i] = (int64_t)((uint64_t)is + (uint64_t)i * (uint64_t)id); break;
        default: return op_fail(c, "dtype %s is not supported", ir_dtype_name(out->dtype));
        }
    }
    return true;
}

/* --- Trilu ----------------------------------------------------------------------- */

static const op_attr_spec trilu_attrs[] = {{"upper", IR_ATTR_INT}, {NULL, 0}};

static bool infer_trilu(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    if (in->rank < 2)
        return op_fail(c, "input must have rank >= 2");
    /* k decides values, not shapes: it may come at run time */
    const ir_value *kv = op_in(c, 1);
    if (kv && (kv->dtype != HODU_DTYPE_I64 || ir_value_numel(kv) != 1))
        return op_fail(c, "k ('%s') must be one int64", kv->name);
    op_set_out_like(c, 0, in);
    return true;
}

void shape_trilu_view_of(const ir_graph *g, int node, shape_trilu_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *in = ir_val(g, n->inputs[0]);
    v->k = 0;
    v->k_at_run_time = n->n_inputs > 1 && n->inputs[1] >= 0 && ir_const_as_i64(g, n->inputs[1], &v->k, 1) != 1;
    v->upper = ir_attr_int(n, "upper", 1) != 0;
    v->rows = in->dims[in->rank - 2].size;
    v->cols = in->dims[in->rank - 1].size;
    int64_t plane = v->rows * v->cols;
    v->batch = plane > 0 ? ir_value_numel(in) / plane : 0;
}

/* --- EyeLike ------------------------------------------------------------------------ */

static const op_attr_spec eyelike_attrs[] = {{"dtype", IR_ATTR_INT}, {"k", IR_ATTR_INT}, {NULL, 0}};

static bool infer_eyelike(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    if (in->rank != 2)
        return op_fail(c, "input must be 2-D");
    hodu_dtype t = (hodu_dtype)ir_attr_int(op_node(c), "dtype", in->dtype);
    if (ir_dtype_size(t) == 0)
        return op_fail(c, "dtype %d is not supported", (int)t);
    int64_t dims[2] = {in->dims[0].size, in->dims[1].size};
    op_set_out(c, 0, t, 2, dims);
    return true;
}

void shape_eyelike_view_of(const ir_graph *g, int node, shape_eyelike_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *out = ir_val(g, n->outputs[0]);
    v->k = ir_attr_int(n, "k", 0);
    v->rows = out->dims[0].size;
    v->cols = out->dims[1].size;
}

/* --- OneHot ------------------------------------------------------------------------- */

static const op_attr_spec onehot_attrs[] = {{"axis", IR_ATTR_INT}, {NULL, 0}};

static bool infer_onehot(op_ctx *c)
{
    const ir_value *idx = op_in(c, 0), *vals = op_in(c, 2);
    double depth_f;
    int64_t declared[HODU_MAX_RANK];
    int axis_d;
    if (op_in(c, 1)->kind != IR_VALUE_CONST && ir_value_numel(op_in(c, 1)) == 1 && ir_value_numel(vals) == 2 &&
        op_declared_shape(c, 0, declared) == idx->rank + 1 &&
        op_axis(c, ir_attr_int(op_node(c), "axis", -1), idx->rank + 1, &axis_d) && declared[axis_d] >= 1) {
        /* depth given at run time: the declared one (checked then) */
        for (int i = 0, j = 0; i <= idx->rank; i++)
            if (i != axis_d && declared[i] != idx->dims[j++].size)
                return op_fail(c, "the declared output shape does not fit the indices'");
        op_set_out(c, 0, vals->dtype, idx->rank + 1, declared);
        return true;
    }
    if (op_in(c, 1)->kind == IR_VALUE_INPUT)
        return op_fail(c, "needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)",
                       op_in(c, 1)->name, op_in(c, 1)->name);
    if (ir_const_as_f64(c->g, op_in_id(c, 1), &depth_f, 1) != 1 || !(depth_f >= 1))
        return op_fail(c, "depth must be a positive build-time constant");
    if (!(depth_f <= (double)HODU_MAX_TENSOR_ELEMS))
        return op_fail(c, "depth %.17g is too large; at most 2^%d is supported", depth_f,
                       __builtin_ctzll(HODU_MAX_TENSOR_ELEMS));
    if (ir_value_numel(vals) != 2)
        return op_fail(c, "values must hold [off, on]");
    int rank = idx->rank + 1, axis;
    if (rank > HODU_MAX_RANK || !op_axis(c, ir_attr_int(op_node(c), "axis", -1), rank, &axis))
        return op_fail(c, "axis out of range");
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = i == axis ? (int64_t)depth_f : idx->dims[j++].size;
    op_set_out(c, 0, vals->dtype, rank, dims);
    return true;
}

void shape_onehot_view_of(const ir_graph *g, int node, shape_onehot_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *out = ir_val(g, n->outputs[0]);
    int rank = out->rank;
    int axis = (int)ir_attr_int(n, "axis", -1);
    if (axis < 0)
        axis += rank;
    v->depth = out->dims[axis].size;
    v->outer = 1;
    v->inner = 1;
    for (int i = 0; i < axis; i++)
        v->outer *= out->dims[i].size;
    for (int i = axis + 1; i < rank; i++)
        v->inner *= out->dims[i].size;
}

/* --- DepthToSpace / SpaceToDepth --------------------------------------------------
 * Both are a reshape to 6-D, a transpose and a reshape back: one strided copy. */

static const op_attr_spec d2s_attrs[] = {{"blocksize", IR_ATTR_INT}, {"mode", IR_ATTR_STRING}, {NULL, 0}};

static bool is_d2s(const ir_node *n) { return n->op == OP_DEPTH_TO_SPACE; }

static bool infer_d2s(op_ctx *c)
{
    const ir_value *in = op_in(c, 0);
    int64_t b = ir_attr_int(op_node(c), "blocksize", 0);
    const char *mode = ir_attr_string(op_node(c), "mode", "DCR");
    if (in->rank != 4 || b <= 0)
        return op_fail(c, "needs a 4-D input and a positive blocksize");
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return op_fail(c, "mode '%s' is not supported", mode);
    int64_t n = in->dims[0].size, ch = in->dims[1].size, h = in->dims[2].size, w = in->dims[3].size;
    int64_t dims[4], bb = 0, hb = 0, wb = 0, cbb = 0;
    if (!op_ck_mul(c, b, b, &bb, "blocksize^2"))
        return false;
    if (is_d2s(op_node(c)) &&
        (!op_ck_mul(c, h, b, &hb, "the output height") || !op_ck_mul(c, w, b, &wb, "the output width")))
        return false;
    if (!is_d2s(op_node(c)) && !op_ck_mul(c, ch, bb, &cbb, "the output channels"))
        return false;
    if (is_d2s(op_node(c))) {
        if (ch % bb)
            return op_fail(c, "channels %" PRId64 " are not divisible by blocksize^2", ch);
        int64_t d[4] = {n, ch / bb, hb, wb};
        memcpy(dims, d, sizeof(d));
    } else {
        if (h % b || w % b)
            return op_fail(c, "height and width must be divisible by blocksize");
        int64_t d[4] = {n, cbb, h / b, w / b};
        memcpy(dims, d, sizeof(d));
    }
    op_set_out(c, 0, in->dtype, 4, dims);
    return true;
}

void shape_d2s_plan(const ir_graph *g, int node_id, copy_plan *p)
{
    const ir_node *node = ir_nd(g, node_id);
    const ir_value *in = ir_val(g, node->inputs[0]);
    int64_t b = ir_attr_int(node, "blocksize", 1);
    int64_t n = in->dims[0].size, ch = in->dims[1].size, h = in->dims[2].size, w = in->dims[3].size;
    int64_t six[6], perm[6];
    if (is_d2s(node)) {
        bool dcr = strcmp(ir_attr_string(node, "mode", "DCR"), "DCR") == 0;
        int64_t a[6] = {n, b, b, ch / (b * b), h, w}, pa[6] = {0, 3, 4, 1, 5, 2};
        int64_t cr[6] = {n, ch / (b * b), b, b, h, w}, pc[6] = {0, 1, 4, 2, 5, 3};
        memcpy(six, dcr ? a : cr, sizeof(six));
        memcpy(perm, dcr ? pa : pc, sizeof(perm));
    } else {
        int64_t a[6] = {n, ch, h / b, b, w / b, b}, pa[6] = {0, 3, 5, 1, 2, 4};
        memcpy(six, a, sizeof(six));
        memcpy(perm, pa, sizeof(perm));
    }
    int64_t st[6];
    contiguous_strides(6, six, st);
    p->rank = 6;
    for (int i = 0; i < 6; i++) {
        p->dims[i] = six[perm[i]];
        p->src[i] = st[perm[i]];
    }
    contiguous_strides(6, p->dims, p->dst);
    p->src_base = p->dst_base = 0;
}

/* --- ScatterElements / Scatter ---------------------------------------------------
 * out = data, then out[index with indices[i] on `axis`] (op)= updates[i].
 * Scatter (opset 9-10) is the old name without `reduction`.  Indices are
 * clamped like Gather's so a bad run-time index cannot write out of bounds. */

static const op_attr_spec scatter_attrs[] = {{"axis", IR_ATTR_INT}, {"reduction", IR_ATTR_STRING}, {NULL, 0}};

bool shape_reduction_of(const ir_node *n, shape_reduction *r)
{
    static const struct {
        const char *name;
        shape_reduction red;
    } reds[] = {{"none", SHAPE_REDUCTION_NONE},
                {"add", SHAPE_REDUCTION_ADD},
                {"mul", SHAPE_REDUCTION_MUL},
                {"max", SHAPE_REDUCTION_MAX},
                {"min", SHAPE_REDUCTION_MIN}};
    const char *s = ir_attr_string(n, "reduction", "none");
    for (size_t i = 0; i < HD_ARRAY_LEN(reds); i++)
        if (strcmp(s, reds[i].name) == 0) {
            *r = reds[i].red;
            return true;
        }
    return false;
}

static bool check_reduction(op_ctx *c)
{
    shape_reduction r;
    if (!shape_reduction_of(op_node(c), &r))
        return op_fail(c, "reduction '%s' is not supported", ir_attr_string(op_node(c), "reduction", "none"));
    return true;
}

static bool infer_scatter_elements(op_ctx *c)
{
    const ir_value *data = op_in(c, 0), *idx = op_in(c, 1), *upd = op_in(c, 2);
    int axis;
    if (!op_axis(c, ir_attr_int(op_node(c), "axis", 0), data->rank, &axis))
        return false;
    if (idx->rank != data->rank || upd->rank != idx->rank)
        return op_fail(c, "data, indices and updates must have the same rank");
    for (int i = 0; i < idx->rank; i++)
        if (idx->dims[i].size != upd->dims[i].size)
            return op_fail(c, "indices and updates differ in shape");
    if (data->dtype == HODU_DTYPE_F16 || data->dtype == HODU_DTYPE_BF16)
        return op_fail(c, "16-bit float data is not supported");
    if (!check_reduction(c))
        return false;
    op_set_out_like(c, 0, data);
    return true;
}

/* --- ScatterND / GatherND ----------------------------------------------------------
 * indices[..., k] address the first k dims of data; each addresses a slab of
 * the remaining dims.  GatherND's batch_dims leading dims are shared: the
 * tuples of batch entry i address data[i]. */

static const op_attr_spec scatternd_attrs[] = {{"reduction", IR_ATTR_STRING}, {NULL, 0}};
static const op_attr_spec gathernd_attrs[] = {{"batch_dims", IR_ATTR_INT}, {NULL, 0}};

static bool infer_scatter_nd(op_ctx *c)
{
    const ir_value *data = op_in(c, 0), *idx = op_in(c, 1), *upd = op_in(c, 2);
    if (idx->rank < 1)
        return op_fail(c, "indices must have rank >= 1");
    int64_t k = idx->dims[idx->rank - 1].size;
    if (k < 1 || k > data->rank)
        return op_fail(c, "indices' last dim %" PRId64 " must be 1..%d", k, data->rank);
    if (upd->rank != idx->rank - 1 + data->rank - (int)k)
        return op_fail(c, "updates have the wrong rank");
    if (data->dtype == HODU_DTYPE_F16 || data->dtype == HODU_DTYPE_BF16)
        return op_fail(c, "16-bit float data is not supported");
    if (!check_reduction(c))
        return false;
    op_set_out_like(c, 0, data);
    return true;
}

void shape_nd_view_of(const ir_graph *g, int node, shape_nd_view *v)
{
    const ir_node *n = ir_nd(g, node);
    const ir_value *data = ir_val(g, n->inputs[0]), *idx = ir_val(g, n->inputs[1]);
    const int b = n->op == OP_GATHER_ND ? (int)ir_attr_int(n, "batch_dims", 0) : 0;
    int64_t dims[HODU_MAX_RANK], strides[HODU_MAX_RANK];
    ir_value_dims(data, dims);
    value_strides(data, strides);
    v->k = idx->dims[idx->rank - 1].size;
    v->n_idx = ir_value_numel(idx) / v->k;
    v->slab = 1;
    for (int i = b + (int)v->k; i < data->rank; i++)
        v->slab *= data->dims[i].size;
    int64_t batches = 1;
    for (int i = 0; i < b; i++)
        batches *= dims[i];
    v->per_batch = batches ? v->n_idx / batches : 0;
    v->batch_stride = b ? strides[b - 1] : 0;
    for (int q = 0; q < (int)v->k; q++) {
        v->dims[q] = dims[b + q];
        v->strides[q] = strides[b + q];
    }
}

static bool infer_gather_nd(op_ctx *c)
{
    const ir_value *data = op_in(c, 0), *idx = op_in(c, 1);
    const int64_t b = ir_attr_int(op_node(c), "batch_dims", 0);
    if (idx->rank < 1)
        return op_fail(c, "indices must have rank >= 1");
    if (b < 0 || b >= idx->rank || b >= data->rank)
        return op_fail(c, "batch_dims %" PRId64 " must be below the ranks of data (%d) and indices (%d)", b, data->rank,
                       idx->rank);
    for (int i = 0; i < (int)b; i++)
        if (data->dims[i].size != idx->dims[i].size)
            return op_fail(c,
                           "the %" PRId64 " batch dims of data and indices differ (dim %d: %" PRId64 " vs %" PRId64 ")",
                           b, i, data->dims[i].size, idx->dims[i].size);
    int64_t k = idx->dims[idx->rank - 1].size;
    if (k < 1 || k > data->rank - b)
        return op_fail(c, "indices' last dim %" PRId64 " must be 1..%" PRId64, k, data->rank - b);
    int rank = idx->rank - 1 + data->rank - (int)k - (int)b;
    if (rank > HODU_MAX_RANK)
        return op_fail(c, "result rank %d is too large", rank);
    int64_t dims[HODU_MAX_RANK];
    int r = 0;
    for (int i = 0; i < idx->rank - 1; i++)
        dims[r++] = idx->dims[i].size;
    for (int i = (int)(b + k); i < data->rank; i++)
        dims[r++] = data->dims[i].size;
    op_set_out(c, 0, data->dtype, rank, dims);
    return true;
}

OP_DEF(IDENTITY, .infer = infer_identity, .fold = fold_copy, .grad = reshape_grad);
OP_DEF(OPTIONAL_HAS_ELEMENT, .infer = infer_optional_has_element);
OP_DEF(OPTIONAL_GET_ELEMENT, .infer = infer_identity, .fold = fold_copy, .grad = reshape_grad);
OP_DEF(CONSTANT, .attrs = constant_attrs, .infer = infer_constant, .fold = fold_constant);
OP_DEF(SHAPE, .attrs = shape_attrs, .infer = infer_shape);
OP_DEF(SIZE, .infer = infer_size);
OP_DEF(RESHAPE, .attrs = reshape_attrs, .infer = infer_reshape, .fold = fold_copy, .grad = reshape_grad);
OP_DEF(SQUEEZE, .attrs = axes_attrs, .infer = infer_squeeze, .fold = fold_copy, .grad = reshape_grad);
OP_DEF(UNSQUEEZE, .attrs = axes_attrs, .infer = infer_unsqueeze, .fold = fold_copy, .grad = reshape_grad);
OP_DEF(TRANSPOSE, .attrs = transpose_attrs, .infer = infer_transpose, .fold = fold_transpose, .grad = transpose_grad);
OP_DEF(SLICE, .attrs = slice_attrs, .infer = infer_slice, .fold = fold_slice, .grad = slice_grad);
OP_DEF(EXPAND, .infer = infer_expand, .fold = fold_expand, .grad = expand_grad);
OP_DEF(CONCAT, .attrs = concat_attrs, .infer = infer_concat, .fold = fold_concat, .grad = concat_grad);
OP_DEF(SPLIT, .attrs = split_attrs, .infer = infer_split, .fold = fold_split, .grad = split_grad);
OP_DEF(GATHER, .attrs = gather_attrs, .infer = infer_gather, .fold = fold_gather, .grad = gather_grad);
OP_DEF(GATHER_ELEMENTS, .attrs = gather_attrs, .infer = infer_gather_elements, .grad = gather_elements_grad);
OP_DEF(TILE, .infer = infer_tile, .grad = tile_grad);
OP_DEF(PAD, .attrs = pad_attrs, .infer = infer_pad, .grad = pad_grad);
OP_DEF(CONSTANT_OF_SHAPE, .attrs = cos_attrs, .infer = infer_constant_of_shape, .fold = fold_constant_of_shape);
OP_DEF(RANGE, .infer = infer_range, .fold = fold_range);
OP_DEF(TRILU, .attrs = trilu_attrs, .infer = infer_trilu, .grad = trilu_grad);
OP_DEF(EYE_LIKE, .attrs = eyelike_attrs, .infer = infer_eyelike, .grad = zero_grad);
OP_DEF(ONE_HOT, .attrs = onehot_attrs, .infer = infer_onehot);
OP_DEF(DEPTH_TO_SPACE, .attrs = d2s_attrs, .infer = infer_d2s, .grad = d2s_grad);
OP_DEF(SPACE_TO_DEPTH, .attrs = d2s_attrs, .infer = infer_d2s, .grad = d2s_grad);
OP_DEF(SCATTER_ELEMENTS, .attrs = scatter_attrs, .infer = infer_scatter_elements, .grad = scatter_grad);
OP_DEF(SCATTER, .attrs = scatter_attrs, .infer = infer_scatter_elements, .grad = scatter_grad);
OP_DEF(SCATTER_ND, .attrs = scatternd_attrs, .infer = infer_scatter_nd, .grad = scatter_grad);
OP_DEF(GATHER_ND, .attrs = gathernd_attrs, .infer = infer_gather_nd, .grad = gather_nd_grad);
