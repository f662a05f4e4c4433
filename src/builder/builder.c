/*
 * builder/builder.c - graphs made by calls (include/hodu.h, "building
 * graphs from code").
 *
 * The builder keeps an IR graph as the calls make it, with nothing
 * inferred: values made by ops have no type until a compile runs the
 * pipeline on a copy (builder_ir).  Each call checks what it can without
 * shapes (handles, names, counts, the op and its attribute schema) and
 * either adds everything it makes or nothing: a failed call rolls the
 * graph back to where it was (mark/rollback below).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
#include "ops/ops.h"
#include "util/hash.h"

struct hodu_graph {
    ir_graph *ir;
    /* Every value name -> its value, so that names stay unique; keys are
     * owned by `keys` since value names may change. */
    hd_strmap names;
    char **keys;
    size_t n_keys, cap_keys;
    size_t n_params; /* the initializer index of the next parameter, for locations */
    char *error;     /* the last failed call's message, or NULL */
};

/* An owned copy of `name` for the map of names.  Kept for the graph's
 * life, rollbacks included: the map may still hold it (as taken by no
 * value). */
static const char *key(hodu_graph *g, const char *name)
{
    char *k = hd_xstrdup(name);
    HD_PUSH(g->keys, g->n_keys, g->cap_keys, k);
    return k;
}

/* --- errors --------------------------------------------------------------- */

const char *hodu_graph_error(const hodu_graph *g) { return g && g->error ? g->error : ""; }

const char *builder_name(const hodu_graph *g) { return g->ir->name; }

void builder_take_error(hodu_graph *g, char *text)
{
    free(g->error);
    g->error = text;
}

void builder_set_error(hodu_graph *g, const hd_diag *d)
{
    hd_buf b;
    hd_buf_init(&b);
    for (size_t i = 0; i < d->len; i++) {
        char *line = hd_diag_line(d, i);
        hd_buf_printf(&b, "%s%s", i ? "\n" : "", line);
        free(line);
    }
    builder_take_error(g, b.data ? hd_buf_take(&b) : hd_xstrdup(""));
}

/* Reports a misuse of call `fn` and returns `code`. */
static hodu_status fail(hodu_graph *g, hodu_status code, const char *fn, const char *fmt, ...) HD_PRINTF(4, 5);
static hodu_status fail(hodu_graph *g, hodu_status code, const char *fn, const char *fmt, ...)
{
    hd_diag d;
    hd_diag_init(&d, g->ir->source);
    va_list ap;
    va_start(ap, fmt);
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_printf(&b, "%s: ", fn);
    hd_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hd_error(&d, "%s", b.data);
    hd_buf_free(&b);
    builder_set_error(g, &d);
    hd_diag_free(&d);
    return code;
}

static hodu_status ok(hodu_graph *g)
{
    builder_take_error(g, NULL);
    return HODU_OK;
}

/* --- rollback -------------------------------------------------------------- */

typedef struct mark {
    size_t values, nodes, inputs, outputs, owned, params;
} mark;

static mark mark_of(const hodu_graph *g)
{
    const ir_graph *ir = g->ir;
    return (mark){ir->n_values, ir->n_nodes, ir->n_inputs, ir->n_outputs, ir->n_owned, g->n_params};
}

/* Undoes everything made since `m` (values, nodes, inputs, owned memory);
 * interned symbols and file names stay, unused. */
static void rollback(hodu_graph *g, mark m)
{
    ir_graph *ir = g->ir;
    /* the map keeps the key it is given: an owned copy, not the name freed below */
    for (size_t i = m.values; i < ir->n_values; i++)
        hd_strmap_put(&g->names, key(g, ir->values[i].name), -1);
    ir_graph_truncate(ir, m.values, m.nodes, m.owned);
    ir->n_inputs = m.inputs;
    ir->n_outputs = m.outputs;
    g->n_params = m.params;
}

/* --- graphs ---------------------------------------------------------------- */

hodu_status hodu_graph_new(const char *name, int64_t opset, hodu_graph **out, hodu_error *err)
{
    hodu_status code = HODU_OK;
    char why[160] = "";
    if (!out) {
        code = HODU_ERR_INVALID_ARG;
        snprintf(why, sizeof why, "hodu_graph_new: out is NULL");
    } else if (opset < 0 || opset > HD_OPSET_NEWEST) {
        code = HODU_ERR_UNSUPPORTED;
        snprintf(why, sizeof why, "hodu_graph_new: opset %" PRId64 " is outside [1, %d] (0: the newest, %d)", opset,
                 HD_OPSET_NEWEST, HD_OPSET_NEWEST);
    } else if (name && !*name) {
        code = HODU_ERR_INVALID_ARG;
        snprintf(why, sizeof why, "hodu_graph_new: the name is empty (NULL gives \"graph\")");
    }
    if (out)
        *out = NULL;
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof(err->message), "%s", why);
    }
    if (code != HODU_OK)
        return code;
    hodu_graph *g = hd_xcalloc(1, sizeof(*g));
    g->ir = ir_graph_new(name ? name : "graph", name ? name : "graph");
    g->ir->opset = opset ? opset : HD_OPSET_NEWEST;
    *out = g;
    return HODU_OK;
}

void hodu_graph_free(hodu_graph *g)
{
    if (!g)
        return;
    hd_strmap_free(&g->names);
    for (size_t i = 0; i < g->n_keys; i++)
        free(g->keys[i]);
    free(g->keys);
    ir_graph_free(g->ir);
    free(g->error);
    free(g);
}

/* --- checks ---------------------------------------------------------------- */

static bool value_ok(const hodu_graph *g, hodu_value v) { return v >= 0 && (size_t)v < g->ir->n_values; }

static hodu_status check_value(hodu_graph *g, const char *fn, const char *what, hodu_value v)
{
    if (value_ok(g, v))
        return HODU_OK;
    return fail(g, HODU_ERR_INVALID_ARG, fn, "%s is %" PRId32 ", not a value of graph '%s' (it has %zu)", what, v,
                g->ir->name, g->ir->n_values);
}

/* A name the caller gives a value: not empty, and no other value's. */
static hodu_status check_name(hodu_graph *g, const char *fn, const char *name)
{
    if (!name || !*name)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "the name is %s", name ? "empty" : "NULL");
    int v = hd_strmap_get(&g->names, name);
    if (v >= 0)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "the name '%s' is taken (value %d)", name, v);
    return HODU_OK;
}

static void name_value(hodu_graph *g, int v, const char *name)
{
    ir_value *val = ir_val(g->ir, v);
    free(val->name);
    val->name = hd_xstrdup(name);
    hd_strmap_put(&g->names, key(g, name), v);
}

/* A valid dtype an input or parameter may have. */
static bool dtype_ok(hodu_dtype t) { return t > HODU_DTYPE_UNDEFINED && t < HODU_DTYPE_COUNT_ && ir_dtype_size(t) > 0; }

/* --- inputs, parameters, outputs ------------------------------------------ */

/* What an input and a parameter check alike: the out pointer, the name,
 * the dtype, the rank and the dims pointer.  `what` is "input" or
 * "parameter". */
static hodu_status check_tensor(hodu_graph *g, const char *fn, const char *what, const char *name, hodu_dtype dtype,
                                int32_t rank, const void *dims, hodu_value *out)
{
    if (!out)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "out is NULL");
    *out = HODU_NO_VALUE;
    hodu_status s = check_name(g, fn, name);
    if (s != HODU_OK)
        return s;
    /* strings only as run-time inputs: a parameter's data is numbers */
    if (!dtype_ok(dtype) || (dtype == HODU_DTYPE_STRING && strcmp(what, "input") != 0))
        return fail(g, HODU_ERR_DTYPE, fn, "%s '%s': dtype %d is not one Hodu compiles here", what, name, (int)dtype);
    if (rank < 0 || rank > HODU_MAX_RANK)
        return fail(g, HODU_ERR_SHAPE, fn, "%s '%s': rank %" PRId32 " is outside [0, %d]", what, name, rank,
                    HODU_MAX_RANK);
    if (rank > 0 && !dims)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "%s '%s': dims is NULL for rank %" PRId32, what, name, rank);
    return HODU_OK;
}

hodu_status hodu_graph_input(hodu_graph *g, const char *name, hodu_dtype dtype, int32_t rank, const hodu_dim *dims,
                             hodu_value *out)
{
    const char *fn = "hodu_graph_input";
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_status s = check_tensor(g, fn, "input", name, dtype, rank, dims, out);
    if (s != HODU_OK)
        return s;
    for (int32_t k = 0; k < rank; k++) {
        if (dims[k].name && !*dims[k].name)
            return fail(g, HODU_ERR_SHAPE, fn, "input '%s': dim %" PRId32 " has an empty name", name, k);
        if (!dims[k].name && dims[k].size < 0)
            return fail(g, HODU_ERR_SHAPE, fn, "input '%s': dim %" PRId32 " is %" PRId64 " (a size >= 0, or a name)",
                        name, k, dims[k].size);
    }
    ir_graph *ir = g->ir;
    int v = ir_value_new(ir, name);
    ir_value *val = ir_val(ir, v);
    val->kind = IR_VALUE_INPUT;
    val->dtype = dtype;
    val->rank = rank;
    for (int32_t k = 0; k < rank; k++) {
        val->dims[k].size = dims[k].name ? -1 : dims[k].size;
        val->dims[k].sym = dims[k].name ? ir_graph_symbol(ir, dims[k].name) : NULL;
    }
    val->loc =
        (ir_loc){.kind = IR_LOC_ONNX_INPUT, .file = ir_graph_file(ir, ir->source), .index = (int64_t)ir->n_inputs};
    HD_PUSH(ir->inputs, ir->n_inputs, ir->cap_inputs, v);
    hd_strmap_put(&g->names, key(g, name), v);
    *out = v;
    return ok(g);
}

/* A constant the builder makes itself (a Reshape's shape): no checks. */
static int add_const(hodu_graph *g, const char *name, hodu_dtype dtype, int rank, const int64_t *dims, const void *data,
                     size_t nbytes)
{
    ir_graph *ir = g->ir;
    void *copy = ir_graph_keep(ir, hd_xmalloc(nbytes ? nbytes : 1));
    if (nbytes)
        memcpy(copy, data, nbytes);
    int v = ir_const_new(ir, name, dtype, rank, dims, copy, nbytes);
    ir_val(ir, v)->loc = (ir_loc){
        .kind = IR_LOC_ONNX_INITIALIZER, .file = ir_graph_file(ir, ir->source), .index = (int64_t)g->n_params++};
    hd_strmap_put(&g->names, key(g, name), v);
    return v;
}

hodu_status hodu_graph_param(hodu_graph *g, const char *name, hodu_dtype dtype, int32_t rank, const int64_t *dims,
                             const void *data, size_t nbytes, hodu_value *out)
{
    const char *fn = "hodu_graph_param";
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_status s = check_tensor(g, fn, "parameter", name, dtype, rank, dims, out);
    if (s != HODU_OK)
        return s;
    for (int32_t k = 0; k < rank; k++)
        if (dims[k] < 0)
            return fail(g, HODU_ERR_SHAPE, fn, "parameter '%s': dim %" PRId32 " is %" PRId64, name, k, dims[k]);
    uint64_t bytes = 0;
    if (!hd_shape_size(rank, dims, ir_dtype_size(dtype), HODU_MAX_TENSOR_ELEMS, HODU_MAX_TENSOR_BYTES, NULL, &bytes))
        return fail(g, HODU_ERR_SHAPE, fn, "parameter '%s': the shape is past Hodu's tensor limits", name);
    if (bytes != nbytes)
        return fail(g, HODU_ERR_SHAPE, fn, "parameter '%s': %zu bytes of data; its dtype and shape take %" PRIu64, name,
                    nbytes, bytes);
    if (nbytes && !data)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "parameter '%s': data is NULL", name);
    *out = add_const(g, name, dtype, rank, dims, data, nbytes);
    return ok(g);
}

hodu_status hodu_graph_output(hodu_graph *g, hodu_value v, const char *name)
{
    const char *fn = "hodu_graph_output";
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_status s = check_value(g, fn, "the value", v);
    if (s != HODU_OK)
        return s;
    ir_graph *ir = g->ir;
    ir_value *val = ir_val(ir, v);
    if (!name || strcmp(name, val->name) == 0) {
        if (val->kind != IR_VALUE_NODE)
            return fail(g, HODU_ERR_INVALID_ARG, fn, "'%s' is an input or parameter: name the output", val->name);
        if (val->is_output)
            return fail(g, HODU_ERR_INVALID_ARG, fn, "'%s' is an output already", val->name);
    } else if ((s = check_name(g, fn, name)) != HODU_OK) {
        return s;
    }
    int o = v;
    if (name && strcmp(name, val->name) != 0) {
        if (val->kind == IR_VALUE_NODE && !val->is_output) {
            name_value(g, v, name); /* the op's result takes the output's name */
        } else {
            /* an input, a parameter or another output: a copy of it */
            o = ir_value_new(ir, name);
            int n = ir_node_new(ir, "Identity", "", name, &v, 1, &o, 1);
            ir_nd(ir, n)->op = op_find("", "Identity", ir->opset);
            ir_node_set_loc(ir, n,
                            (ir_loc){.kind = IR_LOC_ONNX_NODE,
                                     .file = ir_graph_file(ir, ir->source),
                                     .name = ir_graph_string(ir, name),
                                     .index = (int64_t)n});
            hd_strmap_put(&g->names, key(g, name), o);
        }
    }
    ir_val(ir, o)->is_output = true;
    HD_PUSH(ir->outputs, ir->n_outputs, ir->cap_outputs, o);
    return ok(g);
}

/* --- ops -------------------------------------------------------------------- */

static const char *attr_kind_name(hodu_attr_kind k)
{
    static const char *const names[] = {"int", "float", "string", "ints", "floats", "strings"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/* The attributes as the caller gave them: names, kinds and arrays. */
static hodu_status check_attrs(hodu_graph *g, const char *fn, const char *op, const hodu_attr *attrs, size_t n)
{
    if (n && !attrs)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: attrs is NULL for %zu attributes", op, n);
    for (size_t i = 0; i < n; i++) {
        const hodu_attr *a = &attrs[i];
        if (!a->name || !*a->name)
            return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: attribute %zu has no name", op, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(attrs[j].name, a->name) == 0)
                return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: attribute '%s' is given twice", op, a->name);
        bool fine = true;
        switch (a->kind) {
        case HODU_ATTR_INT:
        case HODU_ATTR_FLOAT: break;
        case HODU_ATTR_STRING: fine = a->s != NULL; break;
        case HODU_ATTR_INTS: fine = !a->n || a->ints; break;
        case HODU_ATTR_FLOATS: fine = !a->n || a->floats; break;
        case HODU_ATTR_STRINGS:
            fine = !a->n || a->strings;
            for (size_t k = 0; fine && k < a->n; k++)
                fine = a->strings[k] != NULL;
            break;
        default:
            return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: attribute '%s' has kind %d, which is none", op, a->name,
                        (int)a->kind);
        }
        if (!fine)
            return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: attribute '%s' (%s) has a NULL where its data goes", op,
                        a->name, attr_kind_name(a->kind));
    }
    return HODU_OK;
}

static void put_attr(ir_graph *ir, int node, const hodu_attr *a)
{
    static const ir_attr_kind kinds[] = {IR_ATTR_INT,  IR_ATTR_FLOAT,  IR_ATTR_STRING,
                                         IR_ATTR_INTS, IR_ATTR_FLOATS, IR_ATTR_STRINGS};
    ir_attr *x = ir_node_add_attr(ir, node, a->name, kinds[a->kind]);
    size_t n = a->n ? a->n : 1;
    switch (a->kind) {
    case HODU_ATTR_INT: x->i = a->i; break;
    case HODU_ATTR_FLOAT: x->f = a->f; break;
    case HODU_ATTR_STRING: x->s = hd_xstrdup(a->s); break;
    case HODU_ATTR_INTS:
        x->n = a->n;
        x->ints = hd_xmalloc(n * sizeof(int64_t));
        if (a->n)
            memcpy(x->ints, a->ints, a->n * sizeof(int64_t));
        break;
    case HODU_ATTR_FLOATS:
        x->n = a->n;
        x->floats = hd_xmalloc(n * sizeof(double));
        if (a->n)
            memcpy(x->floats, a->floats, a->n * sizeof(double));
        break;
    case HODU_ATTR_STRINGS:
        x->n = a->n;
        x->strings = hd_xcalloc(n, sizeof(char *));
        for (size_t k = 0; k < a->n; k++)
            x->strings[k] = hd_xstrdup(a->strings[k]);
        break;
    }
}

/* A fresh value name "<base>" or "<base>_<k>" no value has. */
static char *fresh_name(const hodu_graph *g, const char *base)
{
    char *name = hd_xstrdup(base);
    for (size_t k = 1; hd_strmap_get(&g->names, name) >= 0; k++) {
        free(name);
        name = hd_xasprintf("%s_%zu", base, k);
    }
    return name;
}

/* hodu_graph_op under the name of the call `fn` that asked for it. */
static hodu_status apply(hodu_graph *g, const char *fn, const char *op_type, const char *domain,
                         const hodu_value *inputs, size_t n_inputs, const hodu_attr *attrs, size_t n_attrs,
                         hodu_value *outputs, size_t n_outputs)
{
    if (!op_type || !*op_type)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "the op name is %s", op_type ? "empty" : "NULL");
    if (!outputs)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: outputs is NULL", op_type);
    for (size_t i = 0; i < n_outputs; i++)
        outputs[i] = HODU_NO_VALUE;
    if (n_inputs && !inputs)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "%s: inputs is NULL for %zu inputs", op_type, n_inputs);
    if (n_inputs > 4096 || n_outputs > 4096)
        return fail(g, HODU_ERR_COUNT, fn, "%s: %zu inputs and %zu outputs is too many", op_type, n_inputs, n_outputs);
    for (size_t i = 0; i < n_inputs; i++)
        if (inputs[i] != HODU_NO_VALUE && !value_ok(g, inputs[i]))
            return fail(g, HODU_ERR_INVALID_ARG, fn,
                        "%s: input %zu is %" PRId32 ", not a value of graph '%s' (it has %zu)", op_type, i, inputs[i],
                        g->ir->name, g->ir->n_values);
    if (!domain || strcmp(domain, "ai.onnx") == 0)
        domain = "";
    ir_graph *ir = g->ir;
    int op = op_find(domain, op_type, ir->opset);
    if (op < 0)
        return fail(g, HODU_ERR_UNSUPPORTED, fn,
                    "%s%s%s: no such op at opset %" PRId64 " (a name Hodu knows, as ONNX spells it)", domain,
                    *domain ? "." : "", op_type, ir->opset);
    hodu_status s = check_attrs(g, fn, op_type, attrs, n_attrs);
    if (s != HODU_OK)
        return s;

    mark m = mark_of(g);
    char *name = fresh_name(g, op_type);
    int *outs = hd_xmalloc((n_outputs ? n_outputs : 1) * sizeof(int));
    for (size_t i = 0; i < n_outputs; i++) {
        char *vn = n_outputs == 1 ? hd_xstrdup(name) : hd_xasprintf("%s:%zu", name, i);
        char *unique = fresh_name(g, vn);
        outs[i] = ir_value_new(ir, unique);
        hd_strmap_put(&g->names, key(g, unique), outs[i]);
        free(unique);
        free(vn);
    }
    int node = ir_node_new(ir, op_type, domain, name, inputs, n_inputs, outs, n_outputs);
    ir_nd(ir, node)->op = op;
    ir_node_set_loc(ir, node,
                    (ir_loc){.kind = IR_LOC_ONNX_NODE,
                             .file = ir_graph_file(ir, ir->source),
                             .name = ir_graph_string(ir, name),
                             .index = node});
    for (size_t i = 0; i < n_attrs; i++)
        put_attr(ir, node, &attrs[i]);
    free(name);
    /* arity and the attribute schema, as the ONNX loader's nodes get them */
    hd_diag d;
    hd_diag_init(&d, ir->source);
    bool fine = op_check_node(ir, node, &d);
    if (!fine) {
        rollback(g, m);
        /* the node is gone: say which call it was */
        hd_diag d2;
        hd_diag_init(&d2, ir->source);
        for (size_t i = 0; i < d.len; i++)
            if (d.msgs[i].severity == HD_ERROR)
                hd_error_at(&d2, d.msgs[i].where, "%s: %s", fn, d.msgs[i].text);
        builder_set_error(g, &d2);
        hd_diag_free(&d2);
        hd_diag_free(&d);
        free(outs);
        return HODU_ERR_INVALID_ARG;
    }
    hd_diag_free(&d);
    for (size_t i = 0; i < n_outputs; i++)
        outputs[i] = outs[i];
    free(outs);
    return ok(g);
}

hodu_status hodu_graph_op(hodu_graph *g, const char *op_type, const char *domain, const hodu_value *inputs,
                          size_t n_inputs, const hodu_attr *attrs, size_t n_attrs, hodu_value *outputs,
                          size_t n_outputs)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    return apply(g, "hodu_graph_op", op_type, domain, inputs, n_inputs, attrs, n_attrs, outputs, n_outputs);
}

/* --- typed forms ------------------------------------------------------------ */

static hodu_status unary(hodu_graph *g, const char *fn, const char *op, hodu_value x, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    return apply(g, fn, op, "", &x, 1, NULL, 0, out, 1);
}

static hodu_status binary(hodu_graph *g, const char *fn, const char *op, hodu_value a, hodu_value b, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_value in[2] = {a, b};
    return apply(g, fn, op, "", in, 2, NULL, 0, out, 1);
}

hodu_status hodu_graph_add(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out)
{
    return binary(g, "hodu_graph_add", "Add", a, b, out);
}
hodu_status hodu_graph_sub(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out)
{
    return binary(g, "hodu_graph_sub", "Sub", a, b, out);
}
hodu_status hodu_graph_mul(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out)
{
    return binary(g, "hodu_graph_mul", "Mul", a, b, out);
}
hodu_status hodu_graph_div(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out)
{
    return binary(g, "hodu_graph_div", "Div", a, b, out);
}
hodu_status hodu_graph_matmul(hodu_graph *g, hodu_value a, hodu_value b, hodu_value *out)
{
    return binary(g, "hodu_graph_matmul", "MatMul", a, b, out);
}
hodu_status hodu_graph_relu(hodu_graph *g, hodu_value x, hodu_value *out)
{
    return unary(g, "hodu_graph_relu", "Relu", x, out);
}
hodu_status hodu_graph_sigmoid(hodu_graph *g, hodu_value x, hodu_value *out)
{
    return unary(g, "hodu_graph_sigmoid", "Sigmoid", x, out);
}
hodu_status hodu_graph_tanh(hodu_graph *g, hodu_value x, hodu_value *out)
{
    return unary(g, "hodu_graph_tanh", "Tanh", x, out);
}

hodu_status hodu_graph_gemm(hodu_graph *g, hodu_value a, hodu_value b, hodu_value c, double alpha, double beta,
                            bool trans_a, bool trans_b, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_value in[3] = {a, b, c};
    hodu_attr at[4] = {hodu_attr_float("alpha", alpha), hodu_attr_float("beta", beta), hodu_attr_int("transA", trans_a),
                       hodu_attr_int("transB", trans_b)};
    return apply(g, "hodu_graph_gemm", "Gemm", "", in, c == HODU_NO_VALUE ? 2 : 3, at, 4, out, 1);
}

hodu_status hodu_graph_softmax(hodu_graph *g, hodu_value x, int64_t axis, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_attr at = hodu_attr_int("axis", axis);
    return apply(g, "hodu_graph_softmax", "Softmax", "", &x, 1, &at, 1, out, 1);
}

/* An op whose second operand is an int64 vector the builder makes: a
 * Reshape's shape, a reduction's axes. */
static hodu_status with_i64s(hodu_graph *g, const char *fn, const char *op, hodu_value x, const int64_t *v, size_t n,
                             const char *what, const hodu_attr *attrs, size_t n_attrs, hodu_value *out)
{
    if (n > HODU_MAX_RANK)
        return fail(g, HODU_ERR_SHAPE, fn, "%zu %s is more than rank %d", n, what, HODU_MAX_RANK);
    if (n && !v)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "%s is NULL for %zu of them", what, n);
    hodu_status s = check_value(g, fn, "the operand", x);
    if (s != HODU_OK)
        return s;
    mark m = mark_of(g);
    char *base = hd_xasprintf("%s.%s", op, what);
    char *name = fresh_name(g, base);
    int64_t dim = (int64_t)n;
    hodu_value in[2] = {x, add_const(g, name, HODU_DTYPE_I64, 1, &dim, v, n * sizeof(int64_t))};
    free(name);
    free(base);
    s = apply(g, fn, op, "", in, 2, attrs, n_attrs, out, 1);
    if (s != HODU_OK)
        rollback(g, m);
    return s;
}

hodu_status hodu_graph_reshape(hodu_graph *g, hodu_value x, size_t rank, const int64_t *shape, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    return with_i64s(g, "hodu_graph_reshape", "Reshape", x, shape, rank, "shape", NULL, 0, out);
}

hodu_status hodu_graph_transpose(hodu_graph *g, hodu_value x, size_t rank, const int64_t *perm, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_attr at = hodu_attr_ints("perm", perm, rank);
    return apply(g, "hodu_graph_transpose", "Transpose", "", &x, 1, &at, perm ? 1 : 0, out, 1);
}

hodu_status hodu_graph_concat(hodu_graph *g, const hodu_value *xs, size_t n, int64_t axis, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_attr at = hodu_attr_int("axis", axis);
    return apply(g, "hodu_graph_concat", "Concat", "", xs, n, &at, 1, out, 1);
}

hodu_status hodu_graph_conv2d(hodu_graph *g, hodu_value x, hodu_value w, hodu_value b, const int64_t *strides,
                              const int64_t *pads, const int64_t *dilations, int64_t group, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_value in[3] = {x, w, b};
    hodu_attr at[4];
    size_t n = 0;
    at[n++] = hodu_attr_int("group", group);
    if (strides)
        at[n++] = hodu_attr_ints("strides", strides, 2);
    if (pads)
        at[n++] = hodu_attr_ints("pads", pads, 4);
    if (dilations)
        at[n++] = hodu_attr_ints("dilations", dilations, 2);
    return apply(g, "hodu_graph_conv2d", "Conv", "", in, b == HODU_NO_VALUE ? 2 : 3, at, n, out, 1);
}

static hodu_status pool2d(hodu_graph *g, const char *fn, const char *op, hodu_value x, const int64_t *kernel,
                          const int64_t *strides, const int64_t *pads, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    if (!kernel)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "kernel is NULL (a pooling window needs its size)");
    hodu_attr at[3];
    size_t n = 0;
    at[n++] = hodu_attr_ints("kernel_shape", kernel, 2);
    if (strides)
        at[n++] = hodu_attr_ints("strides", strides, 2);
    if (pads)
        at[n++] = hodu_attr_ints("pads", pads, 4);
    return apply(g, fn, op, "", &x, 1, at, n, out, 1);
}

hodu_status hodu_graph_max_pool2d(hodu_graph *g, hodu_value x, const int64_t *kernel, const int64_t *strides,
                                  const int64_t *pads, hodu_value *out)
{
    return pool2d(g, "hodu_graph_max_pool2d", "MaxPool", x, kernel, strides, pads, out);
}

hodu_status hodu_graph_avg_pool2d(hodu_graph *g, hodu_value x, const int64_t *kernel, const int64_t *strides,
                                  const int64_t *pads, hodu_value *out)
{
    return pool2d(g, "hodu_graph_avg_pool2d", "AveragePool", x, kernel, strides, pads, out);
}

/* Reductions take their axes as an attribute before op_axes_input_since
 * and as an operand from then on. */
static hodu_status reduce(hodu_graph *g, const char *fn, const char *op, hodu_value x, size_t n_axes,
                          const int64_t *axes, bool keepdims, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_attr at[2] = {hodu_attr_int("keepdims", keepdims), hodu_attr_ints("axes", axes, n_axes)};
    if (n_axes && g->ir->opset >= op_axes_input_since(op))
        return with_i64s(g, fn, op, x, axes, n_axes, "axes", at, 1, out);
    if (n_axes && !axes)
        return fail(g, HODU_ERR_INVALID_ARG, fn, "axes is NULL for %zu of them", n_axes);
    return apply(g, fn, op, "", &x, 1, at, n_axes ? 2 : 1, out, 1);
}

hodu_status hodu_graph_reduce_mean(hodu_graph *g, hodu_value x, size_t n_axes, const int64_t *axes, bool keepdims,
                                   hodu_value *out)
{
    return reduce(g, "hodu_graph_reduce_mean", "ReduceMean", x, n_axes, axes, keepdims, out);
}

hodu_status hodu_graph_reduce_sum(hodu_graph *g, hodu_value x, size_t n_axes, const int64_t *axes, bool keepdims,
                                  hodu_value *out)
{
    return reduce(g, "hodu_graph_reduce_sum", "ReduceSum", x, n_axes, axes, keepdims, out);
}

hodu_status hodu_graph_layer_norm(hodu_graph *g, hodu_value x, hodu_value scale, hodu_value bias, int64_t axis,
                                  double epsilon, hodu_value *out)
{
    if (!g)
        return HODU_ERR_INVALID_ARG;
    hodu_value in[3] = {x, scale, bias};
    hodu_attr at[2] = {hodu_attr_int("axis", axis), hodu_attr_float("epsilon", epsilon)};
    return apply(g, "hodu_graph_layer_norm", "LayerNormalization", "", in, bias == HODU_NO_VALUE ? 2 : 3, at, 2, out,
                 1);
}

/* --- the copy a compile consumes --------------------------------------------- */

static ir_loc copy_loc(ir_graph *to, ir_loc l)
{
    if (l.file)
        l.file = ir_graph_file(to, l.file);
    if (l.name)
        l.name = ir_graph_string(to, l.name);
    return l;
}

ir_graph *builder_ir(const hodu_graph *g, hd_diag *d)
{
    const ir_graph *s = g->ir;
    if (s->n_outputs == 0) {
        hd_error(d, "graph '%s' has no outputs (hodu_graph_output marks them)", s->name);
        return NULL;
    }
    ir_graph *c = ir_graph_new(s->name, s->source);
    c->opset = s->opset;
    for (size_t i = 0; i < s->n_values; i++) {
        const ir_value *v = &s->values[i];
        int id = ir_value_new(c, v->name);
        ir_value *w = ir_val(c, id);
        w->kind = v->kind;
        w->dtype = v->dtype;
        w->rank = v->rank;
        for (int k = 0; k < v->rank; k++) {
            w->dims[k] = v->dims[k];
            if (v->dims[k].sym)
                w->dims[k].sym = ir_graph_symbol(c, v->dims[k].sym);
        }
        w->data = v->data; /* the builder's copy: referenced, not copied */
        w->nbytes = v->nbytes;
        w->is_output = v->is_output;
        w->loc = copy_loc(c, v->loc);
    }
    for (size_t i = 0; i < s->n_inputs; i++)
        HD_PUSH(c->inputs, c->n_inputs, c->cap_inputs, s->inputs[i]);
    for (size_t i = 0; i < s->n_outputs; i++)
        HD_PUSH(c->outputs, c->n_outputs, c->cap_outputs, s->outputs[i]);
    for (size_t i = 0; i < s->n_nodes; i++) {
        const ir_node *n = &s->nodes[i];
        int id = ir_node_new(c, n->op_type, n->domain, n->name, n->inputs, n->n_inputs, n->outputs, n->n_outputs);
        ir_nd(c, id)->op = n->op;
        ir_node_set_loc(c, id, copy_loc(c, n->loc));
        for (size_t j = 0; j < n->n_attrs; j++) {
            const ir_attr *a = &n->attrs[j];
            hodu_attr h = {.name = a->name, .i = a->i, .f = a->f, .s = a->s, .n = a->n};
            h.ints = a->ints;
            h.floats = a->floats;
            h.strings = (const char *const *)a->strings;
            h.kind = a->kind == IR_ATTR_INT      ? HODU_ATTR_INT
                     : a->kind == IR_ATTR_FLOAT  ? HODU_ATTR_FLOAT
                     : a->kind == IR_ATTR_STRING ? HODU_ATTR_STRING
                     : a->kind == IR_ATTR_INTS   ? HODU_ATTR_INTS
                     : a->kind == IR_ATTR_FLOATS ? HODU_ATTR_FLOATS
                                                 : HODU_ATTR_STRINGS;
            put_attr(c, id, &h);
        }
    }
    return c;
}
