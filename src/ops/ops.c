/*
 * ops.c - the op table (op_list.def's identities, the family files' OP_DEFs)
 * and lookup by name, plus the helpers the families share for inference,
 * folding and emission.
 */
#include "ops.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise.h"
#include "ops_impl.h"

const char hd_op_names[OP_COUNT][HD_OP_NAME_LEN] = {
#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY) [OP_##ID] = NAME,
#include "op_list.def"
#undef HD_OP
};

const char hd_op_domains[OP_COUNT][HD_OP_DOMAIN_LEN] = {
#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY) [OP_##ID] = DOMAIN,
#include "op_list.def"
#undef HD_OP
};

/* Every entry of the list points at its family file's OP_DEF, so an op
 * without one fails to link. */
static const op_def *const op_table[OP_COUNT] = {
#define HD_OP(ID, NAME, DOMAIN, SINCE, UNTIL, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT, FAMILY) [OP_##ID] = &hd_op_def_##ID,
#include "op_list.def"
#undef HD_OP
};

int op_count(void) { return OP_COUNT; }

uint64_t op_node_flops(const ir_graph *g, int node)
{
    const ir_node *n = &g->nodes[node];
    const op_def *def = op_get(n->op);
    if (def && def->flops) {
        int64_t f = def->flops(g, node);
        return f > 0 ? (uint64_t)f : 0;
    }
    uint64_t flops = 0;
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0) {
            int64_t f = ir_value_numel(&g->values[n->outputs[j]]);
            flops = op_sat_add_u64(flops, f > 0 ? (uint64_t)f : 0);
        }
    return flops;
}

const op_def *op_get(int op) { return op >= 0 && op < OP_COUNT ? op_table[op] : NULL; }

static const char *plain_domain(const char *d) { return (!d || strcmp(d, "ai.onnx") == 0) ? "" : d; }

/* Op ids sorted by (name, domain), for binary search: a model may have a
 * million nodes, each looked up once.  Built on first use (the compiler is
 * single-threaded). */
static int by_name[OP_COUNT];

static int cmp_entry(const op_def *x, const char *name, const char *domain)
{
    int c = strcmp(x->name, name);
    return c ? c : strcmp(x->domain, domain);
}

static int cmp_ids(const void *a, const void *b)
{
    const op_def *y = op_table[*(const int *)b];
    return cmp_entry(op_table[*(const int *)a], y->name, y->domain);
}

int op_find(const char *domain, const char *name, int64_t opset)
{
    static bool sorted;
    if (!sorted) {
        for (int i = 0; i < OP_COUNT; i++)
            by_name[i] = i;
        qsort(by_name, OP_COUNT, sizeof(int), cmp_ids);
        sorted = true;
    }
    if (!name)
        return -1;
    domain = plain_domain(domain);
    /* First entry >= (name, domain), then its run of equal keys: one per
     * opset range of the same op. */
    size_t lo = 0, hi = OP_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_entry(op_table[by_name[mid]], name, domain) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < OP_COUNT && cmp_entry(op_table[by_name[lo]], name, domain) == 0; lo++) {
        const op_def *def = op_table[by_name[lo]];
        if (opset <= 0 || def->domain[0] || (opset >= def->since && opset <= def->until))
            return def->id;
    }
    return -1;
}

static const char *attr_kind_name(ir_attr_kind k)
{
    static const char *const names[] = {"int",     "float",  "string", "ints", "floats",
                                        "strings", "tensor", "graph",  "other"};
    return (unsigned)k < HD_ARRAY_LEN(names) ? names[k] : "?";
}

bool op_check_node(const ir_graph *g, int node, hd_diag *d)
{
    const ir_node *n = ir_nd(g, node);
    const op_def *def = op_get(n->op);
    if (!def) {
        ir_node_error(d, g, node, "unsupported op %s (opset %" PRId64 ")", n->op_type, g->opset);
        return false;
    }
    bool ok = true;
    /* Trailing omitted inputs do not count towards arity, nor do the
     * operands a control-flow node captures for its subgraphs. */
    size_t n_in = n->n_inputs - (n->n_captures <= n->n_inputs ? n->n_captures : 0), n_out = n->n_outputs;
    while (n_in > 0 && n->inputs[n_in - 1] < 0)
        n_in--;
    if ((int)n_in < def->min_inputs || (def->max_inputs >= 0 && (int)n_in > def->max_inputs)) {
        ir_node_error(d, g, node, "has %zu inputs; %s takes %d to %d", n_in, def->name, def->min_inputs,
                      def->max_inputs);
        ok = false;
    }
    if ((int)n_out < def->min_outputs || (def->max_outputs >= 0 && (int)n_out > def->max_outputs)) {
        ir_node_error(d, g, node, "has %zu outputs; %s produces %d to %d", n_out, def->name, def->min_outputs,
                      def->max_outputs);
        ok = false;
    }
    /* ONNX lists required operands first: an empty name among them (which
     * the loader turns into "omitted") would leave the op without one. */
    for (int i = 0; ok && i < def->min_inputs && (size_t)i < n->n_inputs; i++)
        if (n->inputs[i] < 0) {
            ir_node_error(d, g, node, "input %d of %s is required but its name is empty", i, def->name);
            ok = false;
        }
    for (int i = 0; ok && i < def->min_outputs && (size_t)i < n->n_outputs; i++)
        if (n->outputs[i] < 0) {
            ir_node_error(d, g, node, "output %d of %s is required but its name is empty", i, def->name);
            ok = false;
        }
    for (size_t i = 0; i < n->n_attrs; i++) {
        const ir_attr *a = &n->attrs[i];
        const op_attr_spec *spec = NULL;
        for (const op_attr_spec *s = def->attrs; s && s->name; s++) /* a name may be listed with several kinds */
            if (strcmp(s->name, a->name) == 0 && (!spec || spec->kind != a->kind))
                spec = s;
        if (!spec) {
            ir_node_error(d, g, node, "unsupported attribute '%s'", a->name);
            ok = false;
        } else if (spec->kind != a->kind) {
            ir_node_error(d, g, node, "attribute '%s' must be of type %s, got %s", a->name, attr_kind_name(spec->kind),
                          attr_kind_name(a->kind));
            ok = false;
        }
    }
    return ok;
}

/* --- infer/fold helpers ------------------------------------------------ */

int op_in_id(const op_ctx *c, size_t i)
{
    const ir_node *n = op_node(c);
    return i < n->n_inputs ? n->inputs[i] : -1;
}

ir_value *op_in(const op_ctx *c, size_t i)
{
    int v = op_in_id(c, i);
    return v < 0 ? NULL : ir_val(c->g, v);
}

ir_value *op_out(const op_ctx *c, size_t i)
{
    const ir_node *n = op_node(c);
    if (i >= n->n_outputs || n->outputs[i] < 0)
        return NULL;
    return ir_val(c->g, n->outputs[i]);
}

bool op_fail(op_ctx *c, const char *fmt, ...)
{
    hd_buf b;
    hd_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    ir_node_error(c->d, c->g, c->node, "%s", b.data ? b.data : "");
    hd_buf_free(&b);
    return false;
}

void op_set_out(op_ctx *c, size_t i, hodu_dtype dtype, int rank, const int64_t *dims)
{
    ir_value *v = op_out(c, i);
    if (!v)
        return;
    v->dtype = dtype;
    ir_value_set_shape(v, rank, dims);
}

void op_set_out_like(op_ctx *c, size_t i, const ir_value *from)
{
    ir_value *v = op_out(c, i);
    if (!v)
        return;
    v->dtype = from->dtype;
    v->rank = from->rank;
    memcpy(v->dims, from->dims, sizeof(v->dims));
}

ir_value *op_need_static(op_ctx *c, size_t i)
{
    ir_value *v = op_in(c, i);
    if (!v) {
        op_fail(c, "input %zu is required", i);
        return NULL;
    }
    if (!ir_value_is_static(v)) {
        op_fail(c, "input '%s' has no static shape (bind its dims with --input-shape)", v->name);
        return NULL;
    }
    return v;
}

/* Reports, on c's node, every model input that value `id` of graph g is
 * computed from: binding those with --const-input lets the whole chain
 * fold.  A subgraph input that the subgraph captures is traced on in the
 * enclosing graph; any other subgraph input (an iteration number, loop
 * state, a scan element) is known only when the model runs. */
static void report_inputs(op_ctx *c, const ir_graph *g, int id)
{
    bool *seen = hd_xcalloc(g->n_values, sizeof(bool));
    int *stack = hd_xmalloc(g->n_values * sizeof(int));
    size_t top = 0;
    stack[top++] = id;
    seen[id] = true;
    while (top > 0) {
        int uid = stack[--top];
        const ir_value *u = ir_val(g, uid);
        if (u->kind == IR_VALUE_INPUT) {
            const ir_node *pn = g->parent ? ir_nd(g->parent, g->parent_node) : NULL;
            size_t k = 0;
            while (k < g->n_inputs && g->inputs[k] != uid)
                k++;
            if (!pn)
                op_fail(c, "needs the value of graph input '%s' at build time (pass --const-input %s=FILE.npy)",
                        u->name, u->name);
            else if (k < g->n_inputs && k + pn->n_captures >= g->n_inputs)
                report_inputs(c, g->parent, pn->inputs[pn->n_inputs - (g->n_inputs - k)]);
            else
                op_fail(c,
                        "needs the value of '%s' at build time, but it is an input of subgraph '%s' (an iteration "
                        "number, loop state or scan element), known only when the model runs",
                        u->name, g->name);
        }
        if (u->kind != IR_VALUE_NODE || u->producer < 0)
            continue;
        const ir_node *p = ir_nd(g, u->producer);
        for (size_t j = 0; j < p->n_inputs; j++)
            if (p->inputs[j] >= 0 && !seen[p->inputs[j]]) {
                seen[p->inputs[j]] = true;
                stack[top++] = p->inputs[j];
            }
    }
    free(stack);
    free(seen);
}

bool op_fail_not_const(op_ctx *c, int id, const char *what)
{
    const ir_value *v = ir_val(c->g, id);
    size_t before = c->d ? c->d->n_errors : 0;
    report_inputs(c, c->g, id);
    if (!c->d || c->d->n_errors == before)
        op_fail(c, "%s ('%s') must be a build-time constant; it is computed at run time", what, v->name);
    return false;
}

long op_need_const_i64(op_ctx *c, size_t i, int64_t *out, size_t max, const char *what)
{
    int id = op_in_id(c, i);
    if (id < 0) {
        op_fail(c, "input %zu (%s) is required", i, what);
        return -1;
    }
    const ir_value *v = ir_val(c->g, id);
    if (v->kind == IR_VALUE_INPUT) {
        report_inputs(c, c->g, id);
        return -1;
    }
    if (v->kind != IR_VALUE_CONST) {
        op_fail_not_const(c, id, what);
        return -1;
    }
    long n = ir_const_as_i64(c->g, id, out, max);
    if (n < 0)
        op_fail(c, "%s ('%s') must be an integer tensor of at most %zu elements", what, v->name, max);
    return n;
}

/* Whether node n's result has the shape of its operand `id`, whatever the
 * other operands are: the unary elementwise ops, Identity, CastLike and
 * Clip (whose bounds are scalars) reading it first, and the elementwise
 * ops whose other operands are single values or not inferred yet (an
 * expanded window scales its Range by a scalar, takes cosines and joins
 * the branches again). */
static bool keeps_shape_of(const ir_graph *g, const ir_node *n, int id)
{
    const op_def *def = op_get(n->op);
    if (!def || n->n_outputs != 1 || n->n_inputs < 1)
        return false;
    if (n->inputs[0] == id && ((def->family == OP_FAMILY_ELEMENTWISE && def->min_inputs == 1 && def->max_inputs == 1) ||
                               n->op == OP_IDENTITY || n->op == OP_CAST_LIKE || n->op == OP_CLIP))
        return true;
    if (!ew_row_of(n->op))
        return false;
    bool reads = false;
    for (size_t j = 0; j < n->n_inputs; j++) {
        if (n->inputs[j] == id) {
            reads = true;
            continue;
        }
        /* an operand inferred later (the other side of a diamond that
         * joins again below) passes: if it were not a single value, the
         * shape inference then does would not end at the declared one */
        const ir_value *u = n->inputs[j] >= 0 ? ir_val(g, n->inputs[j]) : NULL;
        if (u && u->rank >= 0 && !(ir_value_is_static(u) && ir_value_numel(u) == 1))
            return false;
    }
    return reads;
}

/* How far declared_dims looks: the readers of a value among the nodes
 * listed right after its producer (an expanded function lists each step
 * after the one it reads), and at most this many values in all, so a
 * hostile graph cannot make the search cost more than a few thousand node
 * visits. */
#define DECLARED_WINDOW 64
#define DECLARED_BUDGET 32

static int declared_dims(const ir_graph *g, int id, int64_t *dims, int *budget)
{
    const ir_value *v = ir_val(g, id);
    if (ir_value_is_static(v)) {
        for (int k = 0; k < v->rank; k++)
            dims[k] = v->dims[k].size;
        return v->rank;
    }
    if (v->kind != IR_VALUE_NODE || v->producer < 0 || --*budget < 0)
        return -1;
    /* Functions expanded into graphs leave their intermediates undeclared;
     * a value read by a shape-keeping op has the shape of that op's result. */
    size_t end = (size_t)v->producer + 1 + DECLARED_WINDOW;
    for (size_t k = (size_t)v->producer + 1; k < g->n_nodes && k < end; k++) {
        const ir_node *n = &g->nodes[k];
        if (n->dead || n->op < 0 || !keeps_shape_of(g, n, id) || n->outputs[0] < 0)
            continue;
        int r = declared_dims(g, n->outputs[0], dims, budget);
        if (r >= 0)
            return r;
    }
    return -1;
}

int op_value_declared_shape(const ir_graph *g, int id, int64_t *dims)
{
    if (id < 0)
        return -1;
    int budget = DECLARED_BUDGET;
    return declared_dims(g, id, dims, &budget);
}

int op_declared_shape(op_ctx *c, size_t i, int64_t *dims)
{
    const ir_value *v = op_out(c, i);
    if (!v)
        return -1;
    return op_value_declared_shape(c->g, (int)(v - c->g->values), dims);
}

bool op_axis(op_ctx *c, int64_t axis, int rank, int *out)
{
    if (axis < -(int64_t)rank || axis >= (int64_t)(rank > 0 ? rank : 1)) {
        if (!(rank == 0 && (axis == 0 || axis == -1)))
            return op_fail(c, "axis %" PRId64 " is out of range for rank %d", axis, rank);
    }
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

bool op_attr_axes(op_ctx *c, const char *name, int rank, bool allow_empty, int *axes, int *n)
{
    size_t nax = 0;
    const int64_t *ax = ir_attr_ints(op_node(c), name, &nax);
    if (!ax) {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
        *n = rank;
        return true;
    }
    if ((nax == 0 && !allow_empty) || nax > (size_t)rank)
        return op_fail(c, "attribute '%s' has %zu values for rank %d", name, nax, rank);
    *n = (int)nax;
    for (int i = 0; i < *n; i++) {
        if (!op_axis(c, ax[i], rank, &axes[i]))
            return false;
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i])
                return op_fail(c, "attribute '%s' repeats axis %d", name, axes[i]);
    }
    return true;
}

bool op_broadcast(op_ctx *c, const ir_value *a, const ir_value *b, int *rank, int64_t *dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia].size : 1;
        int64_t db = ib >= 0 ? b->dims[ib].size : 1;
        if (da == db || db == 1)
            dims[i] = da;
        else if (da == 1)
            dims[i] = db;
        else
            return op_fail(c, "shapes of '%s' and '%s' do not broadcast (dim %d: %" PRId64 " vs %" PRId64 ")", a->name,
                           b->name, i, da, db);
    }
    *rank = r;
    return true;
}

bool op_ck_mul(op_ctx *c, int64_t a, int64_t b, int64_t *out, const char *what)
{
    if (hd_mul_i64(a, b, out))
        return true;
    return op_fail(c, "%s is too large (%" PRId64 " * %" PRId64 " overflows 64 bits)", what, a, b);
}

bool op_ck_add(op_ctx *c, int64_t a, int64_t b, int64_t *out, const char *what)
{
    if (hd_add_i64(a, b, out))
        return true;
    return op_fail(c, "%s is too large (%" PRId64 " + %" PRId64 " overflows 64 bits)", what, a, b);
}

void *op_fold_alloc(op_ctx *c, size_t i)
{
    const ir_node *n = op_node(c);
    int id = n->outputs[i];
    ir_value *v = ir_val(c->g, id);
    size_t nbytes = ir_value_nbytes(v);
    void *data = ir_graph_keep(c->g, hd_xcalloc(1, nbytes ? nbytes : 1));
    ir_value_set_const(c->g, id, data, nbytes);
    return data;
}
