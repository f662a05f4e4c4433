#include "ir.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ir_graph *ir_graph_new(const char *name, const char *source)
{
    ir_graph *g = hd_xcalloc(1, sizeof(*g));
    g->name = hd_xstrdup(name ? name : "model");
    g->source = hd_xstrdup(source ? source : "<memory>");
    g->parent_node = -1;
    return g;
}

static void attr_free(ir_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    for (size_t i = 0; a->strings && i < a->n; i++)
        free(a->strings[i]);
    free(a->strings);
    ir_graph_free(a->graph);
}

void ir_graph_truncate(ir_graph *g, size_t n_values, size_t n_nodes, size_t n_owned)
{
    for (size_t i = n_values; i < g->n_values; i++)
        free(g->values[i].name);
    for (size_t i = n_nodes; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        free(n->op_type);
        free(n->domain);
        free(n->name);
        free(n->inputs);
        free(n->outputs);
        for (size_t j = 0; j < n->n_attrs; j++)
            attr_free(&n->attrs[j]);
        free(n->attrs);
        ir_graph_free(n->body);
    }
    for (size_t i = n_owned; i < g->n_owned; i++)
        free(g->owned[i]);
    g->n_values = n_values < g->n_values ? n_values : g->n_values;
    g->n_nodes = n_nodes < g->n_nodes ? n_nodes : g->n_nodes;
    g->n_owned = n_owned < g->n_owned ? n_owned : g->n_owned;
}

void ir_graph_free(ir_graph *g)
{
    if (!g)
        return;
    ir_graph_truncate(g, 0, 0, 0);
    for (size_t i = 0; i < g->n_symbols; i++)
        free(g->symbols[i]);
    for (size_t i = 0; i < g->n_files; i++)
        free(g->files[i]);
    free(g->owned);
    free(g->symbols);
    free(g->sym_lo);
    free(g->sym_hi);
    free(g->sym_poly);
    free(g->sym_quot);
    free(g->sym_src);
    for (size_t i = 0; i < g->n_symbols; i++)
        free(g->sym_key[i]);
    free(g->sym_key);
    free(g->files);
    for (size_t i = 0; i < g->n_io_values; i++) {
        free(g->io_values[i].name);
        free(g->io_values[i].items);
    }
    free(g->io_values);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    free(g->source);
    free(g);
}

void *ir_graph_keep(ir_graph *g, void *p)
{
    HD_PUSH(g->owned, g->n_owned, g->cap_owned, p);
    return p;
}

/* The graph's copy of `s` in a list of interned strings (dim symbols, file
 * names): a graph holds few of either, so a linear search is enough. */
static const char *intern(char ***list, size_t *n, size_t *cap, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0)
            return (*list)[i];
    char *copy = hd_xstrdup(s);
    HD_PUSH(*list, *n, *cap, copy);
    return copy;
}

const char *ir_graph_symbol(ir_graph *g, const char *sym)
{
    size_t n = g->n_symbols;
    const char *s = intern(&g->symbols, &g->n_symbols, &g->cap_symbols, sym);
    if (g->n_symbols != n) { /* a new symbol: no range yet, no product */
        g->sym_lo = hd_xrealloc(g->sym_lo, g->cap_symbols * sizeof(int64_t));
        g->sym_hi = hd_xrealloc(g->sym_hi, g->cap_symbols * sizeof(int64_t));
        g->sym_poly = hd_xrealloc(g->sym_poly, g->cap_symbols * sizeof(ir_poly));
        g->sym_quot = hd_xrealloc(g->sym_quot, g->cap_symbols * sizeof(ir_quot));
        g->sym_src = hd_xrealloc(g->sym_src, g->cap_symbols * sizeof(int));
        g->sym_key = hd_xrealloc(g->sym_key, g->cap_symbols * sizeof(char *));
        g->sym_key[n] = NULL;
        g->sym_lo[n] = g->sym_hi[n] = -1;
        g->sym_src[n] = -1;
        memset(&g->sym_poly[n], 0, sizeof(ir_poly));
        memset(&g->sym_quot[n], 0, sizeof(ir_quot));
    }
    return s;
}

void ir_graph_set_symbol_range(ir_graph *g, const char *sym, int64_t lo, int64_t hi)
{
    const char *s = ir_graph_symbol(g, sym);
    for (size_t i = 0; i < g->n_symbols; i++)
        if (g->symbols[i] == s) {
            g->sym_lo[i] = lo;
            g->sym_hi[i] = hi;
        }
}

bool ir_graph_symbol_range(const ir_graph *g, const char *sym, int64_t *lo, int64_t *hi)
{
    for (size_t i = 0; sym && i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], sym) == 0 && g->sym_hi[i] >= 0) {
            *lo = g->sym_lo[i];
            *hi = g->sym_hi[i];
            return true;
        }
    return false;
}

const char *ir_graph_data_symbol(ir_graph *g, int value, int dim, int64_t bound)
{
    hd_buf name;
    hd_buf_init(&name);
    hd_buf_printf(&name, "%s.dim%d", g->values[value].name, dim);
    size_t base = name.len;
    /* a name the model or an earlier symbol took gets a suffix */
    for (int k = 2;; k++) {
        bool taken = false;
        for (size_t i = 0; i < g->n_symbols && !taken; i++)
            taken = strcmp(g->symbols[i], name.data) == 0;
        if (!taken)
            break;
        name.len = base;
        hd_buf_printf(&name, "_%d", k);
    }
    const char *s = ir_graph_symbol(g, name.data);
    hd_buf_free(&name);
    ir_graph_set_symbol_range(g, s, 0, bound);
    g->sym_src[g->n_symbols - 1] = value;
    return s;
}

const char *ir_graph_keyed_data_symbol(ir_graph *g, int value, int dim, int64_t bound, const char *key)
{
    for (size_t i = 0; i < g->n_symbols; i++)
        if (g->sym_key[i] && strcmp(g->sym_key[i], key) == 0)
            return g->symbols[i];
    const char *s = ir_graph_data_symbol(g, value, dim, bound);
    g->sym_key[g->n_symbols - 1] = hd_xstrdup(key);
    return s;
}

int ir_graph_symbol_source(const ir_graph *g, const char *sym)
{
    for (size_t i = 0; sym && i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], sym) == 0)
            return g->sym_src[i];
    return -1;
}

const char *ir_graph_file(ir_graph *g, const char *path) { return intern(&g->files, &g->n_files, &g->cap_files, path); }

const char *ir_graph_string(ir_graph *g, const char *s) { return ir_graph_keep(g, hd_xstrdup(s)); }

int ir_value_new(ir_graph *g, const char *name)
{
    ir_value v;
    memset(&v, 0, sizeof(v));
    v.name = name ? hd_xstrdup(name) : hd_xasprintf("%%%zu", g->n_values);
    v.dtype = HODU_DTYPE_UNDEFINED;
    v.rank = -1;
    v.producer = -1;
    v.state_next = -1;
    HD_PUSH(g->values, g->n_values, g->cap_values, v);
    return (int)g->n_values - 1;
}

int ir_const_new(ir_graph *g, const char *name, hodu_dtype dtype, int rank, const int64_t *dims, const void *data,
                 size_t nbytes)
{
    int id = ir_value_new(g, name);
    ir_value *v = ir_val(g, id);
    v->dtype = dtype;
    ir_value_set_shape(v, rank, dims);
    /* No size check here (no diag to report to): ir_verify compares nbytes
     * with ir_value_nbytes, which is SIZE_MAX for a shape past the limits,
     * so an oversized or mislabelled constant cannot pass. */
    ir_value_set_const(g, id, data, nbytes);
    return id;
}

void ir_value_set_const(ir_graph *g, int id, const void *data, size_t nbytes)
{
    ir_value *v = ir_val(g, id);
    v->kind = IR_VALUE_CONST;
    v->data = data;
    v->nbytes = nbytes;
    v->producer = -1;
}

int ir_node_new(ir_graph *g, const char *op_type, const char *domain, const char *name, const int *inputs,
                size_t n_inputs, const int *outputs, size_t n_outputs)
{
    ir_node n;
    memset(&n, 0, sizeof(n));
    n.op_type = hd_xstrdup(op_type);
    n.domain = hd_xstrdup(domain ? domain : "");
    n.name = (name && *name) ? hd_xstrdup(name) : hd_xasprintf("%s_%zu", op_type, g->n_nodes);
    n.op = -1;
    n.guard = -1;
    n.inputs = hd_xmalloc((n_inputs ? n_inputs : 1) * sizeof(int));
    n.outputs = hd_xmalloc((n_outputs ? n_outputs : 1) * sizeof(int));
    if (n_inputs)
        memcpy(n.inputs, inputs, n_inputs * sizeof(int));
    if (n_outputs)
        memcpy(n.outputs, outputs, n_outputs * sizeof(int));
    n.n_inputs = n_inputs;
    n.n_outputs = n_outputs;
    /* Before the outputs point here: a pass's node takes the location of
     * the value it now defines (the replaced node's). */
    for (size_t i = 0; i < n_outputs && n.loc.kind == IR_LOC_NONE; i++)
        if (outputs[i] >= 0)
            n.loc = g->values[outputs[i]].loc;
    HD_PUSH(g->nodes, g->n_nodes, g->cap_nodes, n);
    int id = (int)g->n_nodes - 1;
    for (size_t i = 0; i < n_outputs; i++)
        if (outputs[i] >= 0)
            g->values[outputs[i]].producer = id;
    return id;
}

void ir_node_set_loc(ir_graph *g, int node, ir_loc loc)
{
    ir_node *n = ir_nd(g, node);
    n->loc = loc;
    for (size_t i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] >= 0 && (size_t)n->outputs[i] < g->n_values)
            g->values[n->outputs[i]].loc = loc;
}

ir_attr *ir_node_add_attr(ir_graph *g, int node, const char *name, ir_attr_kind kind)
{
    ir_node *n = ir_nd(g, node);
    ir_attr a;
    memset(&a, 0, sizeof(a));
    a.name = hd_xstrdup(name);
    a.kind = kind;
    a.tensor = -1;
    HD_PUSH(n->attrs, n->n_attrs, n->cap_attrs, a);
    return &n->attrs[n->n_attrs - 1];
}

/* --- subgraphs ----------------------------------------------------------- */

bool ir_node_has_subgraphs(const ir_node *n)
{
    for (size_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].graph)
            return true;
    return false;
}

ir_graph *ir_node_subgraph(const ir_node *n, const char *name)
{
    for (size_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].graph && strcmp(n->attrs[a].name, name) == 0)
            return n->attrs[a].graph;
    return NULL;
}

/* --- node bodies -------------------------------------------------------- */

/* Copies the dtype and shape of `src` (of another graph) onto body value v. */
static void copy_type(ir_graph *body, int v, const ir_value *src)
{
    ir_value *dst = ir_val(body, v);
    dst->dtype = src->dtype;
    dst->rank = src->rank;
    for (int i = 0; i < src->rank && i < HODU_MAX_RANK; i++) {
        dst->dims[i].size = src->dims[i].size;
        dst->dims[i].sym = src->dims[i].sym ? ir_graph_symbol(body, src->dims[i].sym) : NULL;
        dst->dims[i].data_dep = src->dims[i].data_dep;
        dst->dims[i].unbounded = src->dims[i].unbounded;
        dst->dims[i].rt = src->dims[i].rt;
    }
}

/* Node m of g gets copies of src's attributes.  A tensor attribute names a
 * value of src's graph: kept only when that is g (same_graph); a body
 * member may not have one (the verifier refuses it). */
static void copy_attrs(ir_graph *g, int m, const ir_node *src, bool same_graph)
{
    for (size_t j = 0; j < src->n_attrs; j++) {
        const ir_attr *a = &src->attrs[j];
        ir_attr *c = ir_node_add_attr(g, m, a->name, a->kind);
        c->i = a->i;
        c->f = a->f;
        c->s = a->s ? hd_xstrdup(a->s) : NULL;
        c->n = a->n;
        if (a->ints) {
            c->ints = hd_xmalloc((a->n ? a->n : 1) * sizeof(int64_t));
            memcpy(c->ints, a->ints, a->n * sizeof(int64_t));
        }
        if (a->floats) {
            c->floats = hd_xmalloc((a->n ? a->n : 1) * sizeof(double));
            memcpy(c->floats, a->floats, a->n * sizeof(double));
        }
        if (a->strings) {
            c->strings = hd_xcalloc(a->n ? a->n : 1, sizeof(char *));
            for (size_t i = 0; i < a->n; i++)
                c->strings[i] = hd_xstrdup(a->strings[i] ? a->strings[i] : "");
        }
        c->tensor = same_graph ? a->tensor : -1;
    }
}

int ir_node_copy_from(ir_graph *g, const ir_graph *from, int node, const int *inputs, const int *outputs)
{
    const ir_node *s = ir_nd(from, node);
    int c = ir_node_new(g, s->op_type, s->domain, s->name, inputs, s->n_inputs, outputs, s->n_outputs);
    ir_nd(g, c)->op = s->op;
    ir_node_set_loc(g, c, s->loc);
    copy_attrs(g, c, s, false);
    for (size_t j = 0; j < s->n_attrs; j++) {
        int t = s->attrs[j].tensor;
        if (s->attrs[j].kind != IR_ATTR_TENSOR || t < 0)
            continue;
        const ir_value *cv = ir_val(from, t);
        int64_t dims[HODU_MAX_RANK];
        ir_value_dims(cv, dims);
        int k = ir_const_new(g, cv->name, cv->dtype, cv->rank, dims, cv->data, cv->nbytes);
        ir_val(g, k)->loc = cv->loc;
        ir_nd(g, c)->attrs[j].tensor = k;
    }
    return c;
}

ir_graph *ir_node_new_body(ir_graph *g, int node)
{
    ir_node *n = ir_nd(g, node);
    ir_graph *body = ir_graph_new(n->name, g->source);
    body->opset = g->opset;
    for (size_t k = 0; k < n->n_inputs; k++) {
        char *name = hd_xasprintf("#%zu", k);
        int v = ir_value_new(body, name);
        free(name);
        ir_val(body, v)->kind = IR_VALUE_INPUT;
        if (n->inputs[k] >= 0)
            copy_type(body, v, ir_val(g, n->inputs[k]));
        HD_PUSH(body->inputs, body->n_inputs, body->cap_inputs, v);
    }
    ir_graph_free(n->body);
    n->body = body;
    return body;
}

int ir_body_add_member(ir_graph *body, const ir_graph *from, int src, const int *operands, size_t n_operands)
{
    const ir_node *s = ir_nd(from, src);
    char *name = hd_xasprintf("@%zu", body->n_nodes);
    int out = ir_value_new(body, name);
    free(name);
    if (s->n_outputs > 0 && s->outputs[0] >= 0)
        copy_type(body, out, ir_val(from, s->outputs[0]));
    int m = ir_node_new(body, s->op_type, s->domain, s->name, operands, n_operands, &out, 1);
    ir_nd(body, m)->op = s->op;
    ir_node_set_loc(body, m, s->loc); /* strings interned in `from`, which owns the body */
    copy_attrs(body, m, s, false);
    return out;
}

void ir_body_set_result(ir_graph *body, int value)
{
    ir_val(body, value)->is_output = true;
    HD_PUSH(body->outputs, body->n_outputs, body->cap_outputs, value);
}

int ir_node_clone(ir_graph *g, int node, const char *suffix)
{
    size_t n_out = ir_nd(g, node)->n_outputs;
    int *outs = hd_xmalloc((n_out ? n_out : 1) * sizeof(int));
    for (size_t j = 0; j < n_out; j++) {
        int o = ir_nd(g, node)->outputs[j];
        outs[j] = -1;
        if (o < 0)
            continue;
        char *name = hd_xasprintf("%s%s", ir_val(g, o)->name ? ir_val(g, o)->name : "", suffix);
        outs[j] = ir_value_new(g, name);
        free(name);
        copy_type(g, outs[j], ir_val(g, o));
        ir_val(g, outs[j])->kind = IR_VALUE_NODE;
        ir_val(g, outs[j])->dimvals = ir_val(g, o)->dimvals;
    }
    const ir_node *s = ir_nd(g, node);
    char *name = hd_xasprintf("%s%s", s->name, suffix);
    int c = ir_node_new(g, s->op_type, s->domain, name, s->inputs, s->n_inputs, outs, n_out);
    free(name);
    free(outs);
    s = ir_nd(g, node); /* ir_node_new may move the nodes */
    ir_node *n = ir_nd(g, c);
    n->op = s->op;
    n->rt_general = s->rt_general;
    n->guard = s->guard;
    n->guard_else = s->guard_else;
    n->late = s->late;
    ir_node_set_loc(g, c, s->loc);
    copy_attrs(g, c, s, true);
    if (s->body) {
        const ir_graph *from = s->body;
        ir_graph *body = ir_node_new_body(g, c);
        /* body values of the original -> the copy's (inputs line up) */
        int *map = hd_xmalloc((from->n_values ? from->n_values : 1) * sizeof(int));
        for (size_t k = 0; k < from->n_inputs; k++)
            map[from->inputs[k]] = body->inputs[k];
        for (size_t m = 0; m < from->n_nodes; m++) {
            const ir_node *mem = ir_nd(from, (int)m);
            int *ops = hd_xmalloc((mem->n_inputs ? mem->n_inputs : 1) * sizeof(int));
            for (size_t j = 0; j < mem->n_inputs; j++)
                ops[j] = mem->inputs[j] < 0 ? -1 : map[mem->inputs[j]];
            map[mem->outputs[0]] = ir_body_add_member(body, from, (int)m, ops, mem->n_inputs);
            free(ops);
        }
        for (size_t k = 0; k < from->n_outputs; k++)
            ir_body_set_result(body, map[from->outputs[k]]);
        free(map);
    }
    return c;
}

/* --- dtypes ------------------------------------------------------------- */

const char *ir_dtype_name(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return "f32";
    case HODU_DTYPE_U8: return "u8";
    case HODU_DTYPE_I8: return "i8";
    case HODU_DTYPE_U16: return "u16";
    case HODU_DTYPE_I16: return "i16";
    case HODU_DTYPE_I32: return "i32";
    case HODU_DTYPE_I64: return "i64";
    case HODU_DTYPE_STRING: return "string";
    case HODU_DTYPE_BOOL: return "bool";
    case HODU_DTYPE_F16: return "f16";
    case HODU_DTYPE_F64: return "f64";
    case HODU_DTYPE_U32: return "u32";
    case HODU_DTYPE_U64: return "u64";
    case HODU_DTYPE_BF16: return "bf16";
    case HODU_DTYPE_F8E4M3FN: return "f8e4m3fn";
    case HODU_DTYPE_F8E4M3FNUZ: return "f8e4m3fnuz";
    case HODU_DTYPE_F8E5M2: return "f8e5m2";
    case HODU_DTYPE_F8E5M2FNUZ: return "f8e5m2fnuz";
    case HODU_DTYPE_U4: return "u4";
    case HODU_DTYPE_I4: return "i4";
    case HODU_DTYPE_F4E2M1: return "f4e2m1";
    case HODU_DTYPE_F8E8M0: return "f8e8m0";
    case HODU_DTYPE_U2: return "u2";
    case HODU_DTYPE_I2: return "i2";
    default: return "?";
    }
}

size_t ir_dtype_size(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_U8:
    case HODU_DTYPE_I8:
    case HODU_DTYPE_BOOL: return 1;
    case HODU_DTYPE_U16:
    case HODU_DTYPE_I16:
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: return 2;
    case HODU_DTYPE_F32:
    case HODU_DTYPE_I32:
    case HODU_DTYPE_U32: return 4;
    case HODU_DTYPE_I64:
    case HODU_DTYPE_U64:
    case HODU_DTYPE_F64: return 8;
    case HODU_DTYPE_STRING: return 16;             /* a hodu_string (hodu_abi.h) */
    default: return ir_dtype_is_narrow(t) ? 1 : 0; /* one element per byte (hodu_abi.h) */
    }
}

const char *ir_dtype_c_type(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return "float";
    case HODU_DTYPE_F64: return "double";
    case HODU_DTYPE_I8: return "int8_t";
    case HODU_DTYPE_U8:
    case HODU_DTYPE_BOOL: return "uint8_t";
    case HODU_DTYPE_I16: return "int16_t";
    case HODU_DTYPE_U16:
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: return "uint16_t";
    case HODU_DTYPE_I32: return "int32_t";
    case HODU_DTYPE_U32: return "uint32_t";
    case HODU_DTYPE_I64: return "int64_t";
    case HODU_DTYPE_U64: return "uint64_t";
    case HODU_DTYPE_STRING: return "hodu_string";
    default: return ir_dtype_is_narrow(t) ? "uint8_t" : NULL;
    }
}

bool ir_dtype_is_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64 || t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16;
}

bool ir_dtype_is_narrow(hodu_dtype t) { return t >= HODU_DTYPE_F8E4M3FN && t <= HODU_DTYPE_I2; }

const char *ir_onnx_type_name(int64_t t)
{
    switch (t) {
    case HODU_DTYPE_STRING: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    default: break;
    }
    if (t <= HODU_DTYPE_UNDEFINED || t >= HODU_DTYPE_COUNT_ || ir_dtype_size((hodu_dtype)t) == 0)
        return NULL;
    return ir_dtype_name((hodu_dtype)t);
}

int ir_dtype_narrow_bits(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_U4:
    case HODU_DTYPE_I4:
    case HODU_DTYPE_F4E2M1: return 4;
    case HODU_DTYPE_U2:
    case HODU_DTYPE_I2: return 2;
    default: return ir_dtype_is_narrow(t) ? 8 : 0;
    }
}

bool ir_dtype_is_signed(hodu_dtype t)
{
    return t == HODU_DTYPE_I8 || t == HODU_DTYPE_I16 || t == HODU_DTYPE_I32 || t == HODU_DTYPE_I64;
}

bool ir_dtype_is_int(hodu_dtype t)
{
    return ir_dtype_is_signed(t) || t == HODU_DTYPE_U8 || t == HODU_DTYPE_U16 || t == HODU_DTYPE_U32 ||
           t == HODU_DTYPE_U64;
}

/* --- values ------------------------------------------------------------- */

bool ir_value_is_static(const ir_value *v)
{
    /* A rank past dims[] is never static (ir_verify reports it). */
    if (v->rank < 0 || v->rank > HODU_MAX_RANK)
        return false;
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i].size < 0)
            return false;
    return true;
}

static bool value_size(const ir_value *v, uint64_t *numel, uint64_t *nbytes)
{
    if (!ir_value_is_static(v) || v->rank > HODU_MAX_RANK)
        return false;
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < v->rank; i++)
        dims[i] = v->dims[i].size;
    /* Unknown dtypes count as one byte so the element limit still applies. */
    size_t es = ir_dtype_size(v->dtype);
    return hd_shape_size(v->rank, dims, es ? es : 1, HODU_MAX_TENSOR_ELEMS, HODU_MAX_TENSOR_BYTES, numel, nbytes);
}

bool ir_value_size_ok(const ir_value *v) { return value_size(v, NULL, NULL); }

int64_t ir_value_numel(const ir_value *v)
{
    uint64_t n;
    return value_size(v, &n, NULL) ? (int64_t)n : -1;
}

size_t ir_value_nbytes(const ir_value *v)
{
    uint64_t n, bytes;
    if (!ir_value_is_static(v))
        return 0;
    if (!value_size(v, &n, &bytes))
        return SIZE_MAX;
    return ir_dtype_size(v->dtype) ? (size_t)bytes : 0;
}

/* "2^60 (1152921504606846976)" for powers of two, else the number alone. */
static void put_count(hd_buf *b, uint64_t n)
{
    if (n && !(n & (n - 1)))
        hd_buf_printf(b, "2^%d (%" PRIu64 ")", __builtin_ctzll(n), n);
    else
        hd_buf_printf(b, "%" PRIu64, n);
}

char *ir_value_size_text(const ir_value *v)
{
    hd_buf b;
    hd_buf_init(&b);
    uint64_t span = 1;
    bool wrapped = false, empty = false, negative = false;
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++) {
        int64_t d = v->dims[i].size;
        if (d < 0)
            negative = true;
        else if (d == 0)
            empty = true;
        else if (!wrapped && !hd_mul_u64(span, (uint64_t)d, &span))
            wrapped = true;
    }
    size_t es = ir_dtype_size(v->dtype);
    uint64_t bytes;
    if (negative)
        hd_buf_puts(&b, "would have a negative dim");
    else if (wrapped)
        hd_buf_puts(&b, empty ? "would have non-zero dims whose product is past 2^64"
                              : "would hold more than 2^64 elements");
    else if (empty) {
        hd_buf_puts(&b, "would have non-zero dims whose product is ");
        put_count(&b, span);
    } else if (span <= HODU_MAX_TENSOR_ELEMS && es && hd_mul_u64(span, es, &bytes)) {
        hd_buf_puts(&b, "would take ");
        put_count(&b, bytes);
        hd_buf_puts(&b, " bytes");
    } else {
        hd_buf_puts(&b, "would hold ");
        put_count(&b, span);
        hd_buf_puts(&b, " elements");
    }
    hd_buf_printf(&b, "; at most 2^%d elements and 2^%d bytes are supported", __builtin_ctzll(HODU_MAX_TENSOR_ELEMS),
                  __builtin_ctzll(HODU_MAX_TENSOR_BYTES));
    return hd_buf_take(&b);
}

void ir_value_set_shape(ir_value *v, int rank, const int64_t *dims)
{
    /* Callers check ranks against HODU_MAX_RANK; never index past dims[]. */
    v->rank = rank > HODU_MAX_RANK ? HODU_MAX_RANK : rank;
    for (int i = 0; i < rank && i < HODU_MAX_RANK; i++) {
        v->dims[i].size = dims[i];
        v->dims[i].sym = NULL;
        v->dims[i].data_dep = false;
        v->dims[i].unbounded = false;
        v->dims[i].rt = false;
    }
}

bool ir_value_has_unbounded(const ir_value *v)
{
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].unbounded)
            return true;
    return false;
}

bool ir_value_has_data_dep(const ir_value *v)
{
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].data_dep)
            return true;
    return false;
}

bool ir_value_has_symbolless_data_dep(const ir_value *v)
{
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].data_dep && !v->dims[i].rt)
            return true;
    return false;
}

bool ir_value_has_rt(const ir_value *v)
{
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        if (v->dims[i].rt)
            return true;
    return false;
}

bool ir_value_is_fixed(const ir_value *v)
{
    return ir_value_is_static(v) && !ir_value_has_rt(v) && !ir_value_has_data_dep(v);
}

void ir_value_set_data_dep(ir_value *v, int k)
{
    if (k >= 0 && k < v->rank && k < HODU_MAX_RANK)
        v->dims[k].data_dep = true;
}

void ir_value_dims(const ir_value *v, int64_t *dims)
{
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++)
        dims[i] = v->dims[i].size;
}

void ir_broadcast_strides(const ir_value *in, int out_rank, const int64_t *out_dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = out_rank - 1; i >= 0; i--) {
        int k = i - (out_rank - in->rank);
        if (k < 0) {
            strides[i] = 0;
            continue;
        }
        int64_t d = in->dims[k].size;
        strides[i] = (d == 1 && out_dims[i] != 1) ? 0 : s;
        s *= d;
    }
}

/* --- attributes --------------------------------------------------------- */

const ir_attr *ir_attr_find(const ir_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const ir_node *n, const char *name, int64_t fallback)
{
    const ir_attr *a = ir_attr_find(n, name);
    return (a && a->kind == IR_ATTR_INT) ? a->i : fallback;
}

double ir_attr_float(const ir_node *n, const char *name, double fallback)
{
    const ir_attr *a = ir_attr_find(n, name);
    return (a && a->kind == IR_ATTR_FLOAT) ? a->f : fallback;
}

const char *ir_attr_string(const ir_node *n, const char *name, const char *fallback)
{
    const ir_attr *a = ir_attr_find(n, name);
    return (a && a->kind == IR_ATTR_STRING) ? a->s : fallback;
}

const int64_t *ir_attr_ints(const ir_node *n, const char *name, size_t *count)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a || a->kind != IR_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->ints ? a->ints : (const int64_t *)"";
}

/* --- constants ---------------------------------------------------------- */

static double load_f64(hodu_dtype t, const void *p, size_t i);

static bool load_i64(hodu_dtype t, const void *p, size_t i, int64_t *out)
{
    switch (t) {
    case HODU_DTYPE_I8: *out = ((const int8_t *)p)[i]; return true;
    case HODU_DTYPE_U8:
    case HODU_DTYPE_BOOL: *out = ((const uint8_t *)p)[i]; return true;
    case HODU_DTYPE_I16: *out = ((const int16_t *)p)[i]; return true;
    case HODU_DTYPE_U16: *out = ((const uint16_t *)p)[i]; return true;
    case HODU_DTYPE_I32: *out = ((const int32_t *)p)[i]; return true;
    case HODU_DTYPE_U32: *out = ((const uint32_t *)p)[i]; return true;
    case HODU_DTYPE_I64: memcpy(out, (const char *)p + 8 * i, 8); return true;
    case HODU_DTYPE_U64: memcpy(out, (const char *)p + 8 * i, 8); return true;
    default: return false;
    }
}

long ir_const_as_i64(const ir_graph *g, int id, int64_t *out, size_t max)
{
    if (id < 0)
        return -1;
    const ir_value *v = ir_val(g, id);
    if (v->kind != IR_VALUE_CONST)
        return -1;
    int64_t n = ir_value_numel(v);
    if (n < 0 || (size_t)n > max || v->nbytes < (size_t)n * ir_dtype_size(v->dtype))
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (!load_i64(v->dtype, v->data, (size_t)i, &out[i]))
            return -1;
    return (long)n;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static double load_f64(hodu_dtype t, const void *p, size_t i)
{
    int64_t iv;
    switch (t) {
    case HODU_DTYPE_F32: return ((const float *)p)[i];
    case HODU_DTYPE_F64: return ((const double *)p)[i];
    case HODU_DTYPE_F16: return half_to_float(((const uint16_t *)p)[i]);
    case HODU_DTYPE_BF16: {
        uint32_t bits = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    case HODU_DTYPE_U64: {
        uint64_t u;
        memcpy(&u, (const char *)p + 8 * i, 8);
        return (double)u;
    }
    default: return load_i64(t, p, i, &iv) ? (double)iv : NAN;
    }
}

long ir_const_as_f64(const ir_graph *g, int id, double *out, size_t max)
{
    if (id < 0)
        return -1;
    const ir_value *v = ir_val(g, id);
    if (v->kind != IR_VALUE_CONST || ir_dtype_size(v->dtype) == 0)
        return -1;
    int64_t n = ir_value_numel(v);
    if (n < 0 || (size_t)n > max || v->nbytes < (size_t)n * ir_dtype_size(v->dtype))
        return -1;
    for (int64_t i = 0; i < n; i++)
        out[i] = load_f64(v->dtype, v->data, (size_t)i);
    return (long)n;
}

/* --- messages ----------------------------------------------------------- */

char *ir_loc_format(const ir_loc *loc)
{
    hd_buf b;
    hd_buf_init(&b);
    if (loc->file)
        hd_buf_puts(&b, loc->file);
    const char *sep = loc->file ? ":" : "";
    switch (loc->kind) {
    case IR_LOC_ONNX_NODE: hd_buf_printf(&b, "%snode[%" PRId64 "]", sep, loc->index); break;
    case IR_LOC_ONNX_INPUT: hd_buf_printf(&b, "%sinput[%" PRId64 "]", sep, loc->index); break;
    case IR_LOC_ONNX_INITIALIZER: hd_buf_printf(&b, "%sinitializer[%" PRId64 "]", sep, loc->index); break;
    case IR_LOC_ONNX_OUTPUT: hd_buf_printf(&b, "%soutput[%" PRId64 "]", sep, loc->index); break;
    case IR_LOC_TEXT:
        /* The start, as C compilers print it; the span is for carets. */
        if (loc->line > 0) {
            hd_buf_printf(&b, "%s%d", sep, loc->line);
            if (loc->col > 0)
                hd_buf_printf(&b, ":%d", loc->col);
        }
        break;
    case IR_LOC_NONE: break;
    }
    if (!b.len) {
        hd_buf_free(&b);
        return NULL;
    }
    return hd_buf_take(&b);
}

/* The message position for `loc`: a location without a file is in the
 * file being compiled. */
static char *diag_where(const hd_diag *d, const ir_loc *loc)
{
    ir_loc l = *loc;
    if (!l.file && l.kind != IR_LOC_NONE && d)
        l.file = d->file;
    return ir_loc_format(&l);
}

char *ir_node_label(const ir_graph *g, int node)
{
    const ir_node *n = ir_nd(g, node);
    return hd_xasprintf("node '%s' (%s)", n->name, n->op_type);
}

void ir_node_verror(hd_diag *d, const ir_graph *g, int node, const char *fmt, va_list ap)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_vprintf(&b, fmt, ap);
    char *label = ir_node_label(g, node);
    char *where = diag_where(d, &ir_nd(g, node)->loc);
    hd_error_at(d, where, "%s: %s", label, b.data ? b.data : "");
    free(where);
    free(label);
    hd_buf_free(&b);
}

void ir_node_error(hd_diag *d, const ir_graph *g, int node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ir_node_verror(d, g, node, fmt, ap);
    va_end(ap);
}

void ir_value_error(hd_diag *d, const ir_graph *g, int value, const char *fmt, ...)
{
    char *where = diag_where(d, &ir_val(g, value)->loc);
    va_list ap;
    va_start(ap, fmt);
    hd_verror_at(d, where, fmt, ap);
    va_end(ap);
    free(where);
}

size_t ir_value_uses(const ir_graph *g, int v)
{
    size_t uses = g->values[v].is_output ? 1 : 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] == v)
                uses++;
    }
    return uses;
}

size_t *ir_use_counts(const ir_graph *g)
{
    size_t *uses = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(size_t));
    for (size_t v = 0; v < g->n_values; v++)
        uses[v] = g->values[v].is_output ? 1 : 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && (size_t)n->inputs[j] < g->n_values)
                uses[n->inputs[j]]++;
    }
    return uses;
}

void ir_readers_build(const ir_graph *g, ir_readers *r)
{
    size_t nv = g->n_values;
    r->n_values = nv;
    r->start = hd_xcalloc(nv + 1, sizeof(size_t));
    /* Count, prefix-sum, then fill: nodes go in index order, so each value's
     * readers come out sorted by node index. */
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && (size_t)n->inputs[j] < nv)
                r->start[n->inputs[j] + 1]++;
        if (n->guard >= 0 && (size_t)n->guard < nv)
            r->start[n->guard + 1]++;
    }
    for (size_t v = 0; v < nv; v++)
        r->start[v + 1] += r->start[v];
    r->node = hd_xmalloc((r->start[nv] ? r->start[nv] : 1) * sizeof(int));
    size_t *fill = hd_xmalloc((nv ? nv : 1) * sizeof(size_t));
    if (nv)
        memcpy(fill, r->start, nv * sizeof(size_t));
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (size_t j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] >= 0 && (size_t)n->inputs[j] < nv)
                r->node[fill[n->inputs[j]]++] = (int)i;
        if (n->guard >= 0 && (size_t)n->guard < nv)
            r->node[fill[n->guard]++] = (int)i;
    }
    free(fill);
}

void ir_readers_free(ir_readers *r)
{
    free(r->start);
    free(r->node);
    memset(r, 0, sizeof(*r));
}

/* --- schedule ----------------------------------------------------------- */

/* Called when Kahn's algorithm stalls: from a node still waiting, step to an
 * unscheduled producer of one of its inputs until a node repeats.  The
 * repeated node lies on a cycle (every waiting node has a waiting producer),
 * which makes a better message than whichever node came first. */
static int node_on_cycle(const ir_graph *g, const int *pending)
{
    size_t nn = g->n_nodes;
    int start = -1;
    for (size_t i = 0; i < nn && start < 0; i++)
        if (!g->nodes[i].dead && pending[i] > 0)
            start = (int)i;
    if (start < 0)
        return -1;
    unsigned char *seen = hd_xcalloc(nn, 1);
    int cur = start;
    while (!seen[cur]) {
        seen[cur] = 1;
        const ir_node *n = &g->nodes[cur];
        int next = -1;
        for (size_t j = 0; j < n->n_inputs && next < 0; j++) {
            int v = n->inputs[j];
            if (v < 0 || (size_t)v >= g->n_values || g->values[v].kind != IR_VALUE_NODE)
                continue;
            int p = g->values[v].producer;
            if (p >= 0 && (size_t)p < nn && !g->nodes[p].dead && pending[p] > 0)
                next = p;
        }
        if (next < 0)
            break; /* cannot happen for a stalled node; keep what we have */
        cur = next;
    }
    free(seen);
    return cur;
}

/* Moves each late node (ir_node.late) to just before its first reader.
 * Taken from the back, so a late node read by another late node follows
 * it; what a late node reads comes before its first place, so the order
 * stays topological. */
static void place_late(const ir_graph *g, int *order, size_t count)
{
    size_t n_late = 0;
    for (size_t i = 0; i < count; i++)
        n_late += g->nodes[order[i]].late;
    if (!n_late)
        return;
    ir_readers r;
    ir_readers_build(g, &r);
    size_t *pos = hd_xmalloc((g->n_nodes ? g->n_nodes : 1) * sizeof(size_t));
    for (size_t i = 0; i < count; i++)
        pos[order[i]] = i;
    for (size_t i = count; i-- > 0;) {
        int id = order[i];
        const ir_node *n = &g->nodes[id];
        if (!n->late)
            continue;
        size_t first = count;
        for (size_t o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0)
                for (size_t k = r.start[n->outputs[o]]; k < r.start[n->outputs[o] + 1]; k++)
                    if (!g->nodes[r.node[k]].dead && pos[r.node[k]] < first)
                        first = pos[r.node[k]];
        if (first == count) /* read by no node: stays */
            continue;
        /* the nodes between move up one place; none of them reads id */
        for (size_t j = i; j + 1 < first; j++) {
            order[j] = order[j + 1];
            pos[order[j]] = j;
        }
        order[first - 1] = id;
        pos[id] = first - 1;
    }
    free(pos);
    ir_readers_free(&r);
}

int *ir_schedule(const ir_graph *g, size_t *count, hd_diag *d)
{
    /* Kahn's algorithm over value -> reader edges (an adjacency built once,
     * so the whole sort is linear), in model order so the schedule is
     * stable. */
    size_t nn = g->n_nodes;
    int *pending = hd_xcalloc(nn ? nn : 1, sizeof(int));
    int *order = hd_xmalloc((nn ? nn : 1) * sizeof(int));
    bool ok = true;
    size_t live = 0;
    for (size_t i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        live++;
        for (size_t j = 0; j <= n->n_inputs; j++) { /* the inputs, then the guard */
            int v = j < n->n_inputs ? n->inputs[j] : n->guard;
            if (v < 0 || (size_t)v >= g->n_values)
                continue; /* ir_verify reports bad indices */
            const ir_value *val = &g->values[v];
            if (val->kind != IR_VALUE_NODE)
                continue;
            if (val->producer < 0 || (size_t)val->producer >= nn || g->nodes[val->producer].dead) {
                ir_node_error(d, g, (int)i,
                              "input '%s' is never defined (not a graph input, initializer or node output)", val->name);
                ok = false;
            } else {
                pending[i]++;
            }
        }
    }
    size_t head = 0, tail = 0;
    if (ok) {
        ir_readers r;
        ir_readers_build(g, &r);
        for (size_t i = 0; i < nn; i++)
            if (!g->nodes[i].dead && pending[i] == 0)
                order[tail++] = (int)i;
        while (head < tail) {
            const ir_node *n = &g->nodes[order[head++]];
            for (size_t o = 0; o < n->n_outputs; o++) {
                int v = n->outputs[o];
                if (v < 0 || (size_t)v >= g->n_values)
                    continue;
                for (size_t k = r.start[v]; k < r.start[v + 1]; k++) {
                    int c = r.node[k];
                    if (--pending[c] == 0)
                        order[tail++] = c;
                }
            }
        }
        ir_readers_free(&r);
        if (tail != live) {
            int at = node_on_cycle(g, pending);
            if (at >= 0)
                ir_node_error(d, g, at, "the graph has a cycle through this node");
            else
                hd_error(d, "the graph has a cycle");
            ok = false;
        }
    }
    free(pending);
    if (!ok) {
        free(order);
        return NULL;
    }
    place_late(g, order, tail);
    *count = tail;
    return order;
}

/* --- verifier ----------------------------------------------------------- */

bool ir_same_type(const ir_value *a, const ir_value *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank && i < HODU_MAX_RANK; i++)
        if (a->dims[i].size != b->dims[i].size || a->dims[i].data_dep != b->dims[i].data_dep ||
            a->dims[i].unbounded != b->dims[i].unbounded || a->dims[i].rt != b->dims[i].rt ||
            (a->dims[i].rt && strcmp(a->dims[i].sym, b->dims[i].sym) != 0))
            return false;
    return true;
}

/* The body of live node `node` (see "Node bodies" in ir.h).  Messages name
 * the outer node, and the member by position and op. */
static void verify_body(const ir_graph *g, int node, hd_diag *d)
{
    const ir_node *n = ir_nd(g, node);
    const ir_graph *b = n->body;
    /* Bad indices of the node itself are reported by the caller. */
    for (size_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] < -1 || n->inputs[k] >= (int)g->n_values)
            return;
    if (n->n_outputs != 1 || n->outputs[0] < 0 || n->outputs[0] >= (int)g->n_values) {
        ir_node_error(d, g, node, "a node with a body must have exactly one output");
        return;
    }
    if (b->n_nodes == 0) {
        ir_node_error(d, g, node, "body has no members");
        return;
    }
    if (b->n_inputs != n->n_inputs) {
        ir_node_error(d, g, node, "body has %zu inputs but the node has %zu", b->n_inputs, n->n_inputs);
        return;
    }
    /* position[v]: k + 1 for body input k, -(m + 1) for member m's result. */
    int *position = hd_xcalloc(b->n_values ? b->n_values : 1, sizeof(int));
    bool ok = true;
    for (size_t k = 0; k < b->n_inputs; k++) {
        int v = b->inputs[k];
        if (v < 0 || (size_t)v >= b->n_values || b->values[v].kind != IR_VALUE_INPUT || position[v]) {
            ir_node_error(d, g, node, "body input %zu is not a distinct input value", k);
            ok = false;
            continue;
        }
        position[v] = (int)k + 1;
        if (n->inputs[k] < 0)
            ir_node_error(d, g, node, "input %zu is omitted but the body reads it", k);
        else if (!ir_same_type(&b->values[v], ir_val(g, n->inputs[k])))
            ir_node_error(d, g, node, "body input %zu does not have the type of input '%s'", k,
                          ir_val(g, n->inputs[k])->name);
    }
    for (size_t v = 0; v < b->n_values; v++)
        if (b->values[v].kind == IR_VALUE_CONST)
            ir_node_error(d, g, node, "body holds constant '%s' (constants are node inputs)", b->values[v].name);
    const ir_value *out = ir_val(g, n->outputs[0]);
    int result = -1;
    for (size_t m = 0; m < b->n_nodes && ok; m++) {
        const ir_node *mn = &b->nodes[m];
        const char *op = mn->op_type ? mn->op_type : "?";
        if (mn->dead || mn->body || mn->op < 0) {
            ir_node_error(d, g, node, "member %zu (%s) is %s", m, op,
                          mn->dead   ? "dead"
                          : mn->body ? "itself a node with a body"
                                     : "an unresolved op");
            ok = false;
            break;
        }
        for (size_t j = 0; j < mn->n_attrs; j++)
            if (mn->attrs[j].kind == IR_ATTR_TENSOR || mn->attrs[j].kind == IR_ATTR_GRAPH ||
                mn->attrs[j].kind == IR_ATTR_OTHER)
                ir_node_error(d, g, node, "member %zu (%s) has attribute '%s' of a kind a body cannot hold", m, op,
                              mn->attrs[j].name);
        for (size_t j = 0; j < mn->n_inputs; j++) {
            int v = mn->inputs[j];
            if (v == -1)
                continue;
            /* Only body inputs and results of earlier members (checked
             * below as each member is passed). */
            if (v < -1 || (size_t)v >= b->n_values || position[v] == 0) {
                ir_node_error(d, g, node,
                              "member %zu (%s) operand %zu refers to neither a node input nor an "
                              "earlier member",
                              m, op, j);
                ok = false;
            }
        }
        if (mn->n_outputs != 1 || mn->outputs[0] < 0 || (size_t)mn->outputs[0] >= b->n_values) {
            ir_node_error(d, g, node, "member %zu (%s) must have exactly one result", m, op);
            ok = false;
            break;
        }
        int r = mn->outputs[0];
        const ir_value *rv = &b->values[r];
        if (rv->kind != IR_VALUE_NODE || rv->producer != (int)m || position[r]) {
            ir_node_error(d, g, node, "member %zu (%s) result is defined elsewhere too", m, op);
            ok = false;
            break;
        }
        position[r] = -(int)m - 1;
        /* Every member computes over the node's whole output. */
        if (!ir_same_type(rv, out))
            ir_node_error(d, g, node, "member %zu (%s) result does not have the type of output '%s'", m, op, out->name);
        result = r;
    }
    if (ok) {
        /* Each member but the last feeds a later one. */
        size_t *reads = hd_xcalloc(b->n_values ? b->n_values : 1, sizeof(size_t));
        for (size_t m = 0; m < b->n_nodes; m++)
            for (size_t j = 0; j < b->nodes[m].n_inputs; j++)
                if (b->nodes[m].inputs[j] >= 0)
                    reads[b->nodes[m].inputs[j]]++;
        for (size_t m = 0; m + 1 < b->n_nodes; m++)
            if (!reads[b->nodes[m].outputs[0]])
                ir_node_error(d, g, node, "member %zu (%s) result is never read", m, b->nodes[m].op_type);
        free(reads);
        if (b->n_outputs != 1 || b->outputs[0] != result)
            ir_node_error(d, g, node, "body result is not the last member's");
    }
    free(position);
}

/* The subgraphs of live node `node`: captured inputs line up with the
 * node's last n_captures operands (ir.h, "Subgraphs"), and each subgraph
 * is itself a well-formed graph. */
static void verify_subgraphs(const ir_graph *g, int node, bool shapes_required, hd_diag *d)
{
    const ir_node *n = ir_nd(g, node);
    if (n->n_captures > n->n_inputs) {
        ir_node_error(d, g, node, "has %zu captured operands but only %zu inputs", n->n_captures, n->n_inputs);
        return;
    }
    for (size_t a = 0; a < n->n_attrs; a++) {
        const ir_graph *sub = n->attrs[a].graph;
        if (!sub)
            continue;
        if (sub->n_inputs < n->n_captures) {
            ir_node_error(d, g, node, "subgraph '%s' has fewer inputs than the node captures", n->attrs[a].name);
            continue;
        }
        for (size_t k = 0; k < n->n_captures; k++) {
            int outer = n->inputs[n->n_inputs - n->n_captures + k];
            int inner = sub->inputs[sub->n_inputs - n->n_captures + k];
            if (outer < 0 || outer >= (int)g->n_values || inner < 0 || inner >= (int)sub->n_values) {
                ir_node_error(d, g, node, "captured operand %zu of subgraph '%s' is not a value", k, n->attrs[a].name);
                continue;
            }
            if (shapes_required && !ir_same_type(ir_val(g, outer), ir_val(sub, inner)))
                ir_node_error(d, g, node, "subgraph '%s' reads captured '%s' with another type", n->attrs[a].name,
                              ir_val(g, outer)->name);
        }
        ir_verify(sub, shapes_required, d);
    }
}

bool ir_verify(const ir_graph *g, bool shapes_required, hd_diag *d)
{
    size_t errors = d->n_errors;
    int *def = hd_xcalloc(g->n_values ? g->n_values : 1, sizeof(int));
    bool bad_index = false;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (size_t j = 0; j < n->n_inputs; j++) {
            if (n->inputs[j] < -1 || n->inputs[j] >= (int)g->n_values) {
                ir_node_error(d, g, (int)i, "input %zu has an invalid value index", j);
                bad_index = true;
            } else if (n->inputs[j] >= 0 && ir_value_has_symbolless_data_dep(&g->values[n->inputs[j]])) {
                /* pass_infer_fold refuses such a reader; none may appear later */
                ir_node_error(d, g, (int)i, "reads '%s', whose size is only known when the model runs",
                              g->values[n->inputs[j]].name);
            }
        }
        for (size_t j = 0; j < n->n_outputs; j++) {
            int v = n->outputs[j];
            if (v < -1 || v >= (int)g->n_values) {
                ir_node_error(d, g, (int)i, "output %zu has an invalid value index", j);
                bad_index = true;
                continue;
            }
            if (v < 0)
                continue;
            if (def[v]++)
                ir_node_error(d, g, (int)i, "value '%s' is defined more than once", g->values[v].name);
            if (g->values[v].kind != IR_VALUE_NODE)
                ir_node_error(d, g, (int)i, "output '%s' is also a graph input or constant", g->values[v].name);
            else if (g->values[v].producer != (int)i)
                ir_node_error(d, g, (int)i, "output '%s' names the wrong producer", g->values[v].name);
            if (shapes_required && !ir_value_is_static(&g->values[v]))
                ir_node_error(d, g, (int)i, "output '%s' has no static shape", g->values[v].name);
        }
        if (n->body)
            verify_body(g, (int)i, d);
        if (!bad_index && (n->n_captures || ir_node_has_subgraphs(n)))
            verify_subgraphs(g, (int)i, shapes_required, d);
    }
    for (size_t i = 0; i < g->n_values; i++) {
        const ir_value *v = &g->values[i];
        if (v->rank > HODU_MAX_RANK) {
            ir_value_error(d, g, (int)i, "value '%s' has rank %d (at most %d supported)", v->name, v->rank,
                           HODU_MAX_RANK);
            continue;
        }
        if (ir_value_has_data_dep(v) && (v->kind != IR_VALUE_NODE || !ir_value_is_static(v)))
            ir_value_error(d, g, (int)i, "value '%s' has a data-dependent dim but is not a node result of known bound",
                           v->name);
        if (v->kind != IR_VALUE_CONST)
            continue;
        if (!ir_value_is_static(v)) {
            ir_value_error(d, g, (int)i, "constant '%s' has no static shape", v->name);
        } else if (!ir_value_size_ok(v)) {
            char *size = ir_value_size_text(v);
            ir_value_error(d, g, (int)i, "constant '%s' %s", v->name, size);
            free(size);
        } else if (v->nbytes != ir_value_nbytes(v)) {
            ir_value_error(d, g, (int)i, "constant '%s' holds %zu bytes but its shape needs %zu", v->name, v->nbytes,
                           ir_value_nbytes(v));
        } else if (v->nbytes && !v->data) {
            ir_value_error(d, g, (int)i, "constant '%s' has no data", v->name);
        }
    }
    /* The graph's own lists: indices in range, inputs are input values and
     * every output has a live definition (else a caller buffer is never
     * written). */
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (v < 0 || (size_t)v >= g->n_values) {
            hd_error(d, "graph input %zu has an invalid value index", i);
            bad_index = true;
        } else if (g->values[v].kind != IR_VALUE_INPUT) {
            ir_value_error(d, g, v, "graph input '%s' is not an input value", g->values[v].name);
        }
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (v < 0 || (size_t)v >= g->n_values) {
            hd_error(d, "graph output %zu has an invalid value index", i);
            bad_index = true;
            continue;
        }
        const ir_value *val = &g->values[v];
        if (!val->is_output)
            ir_value_error(d, g, v, "graph output '%s' is not marked as an output", val->name);
        if (val->kind == IR_VALUE_NODE &&
            (val->producer < 0 || (size_t)val->producer >= g->n_nodes || g->nodes[val->producer].dead || !def[v]))
            ir_value_error(d, g, v, "graph output '%s' is not defined by any live node", val->name);
    }
    free(def);
    /* The scheduler reads through node input indices: not when one is bad. */
    if (!bad_index) {
        size_t n_sched = 0;
        int *sched = ir_schedule(g, &n_sched, d);
        free(sched);
    }
    return d->n_errors == errors;
}

/* --- dump --------------------------------------------------------------- */

static void dump_type(const ir_value *v, hd_buf *out)
{
    hd_buf_printf(out, "%s[", ir_dtype_name(v->dtype));
    if (v->rank < 0)
        hd_buf_puts(out, "?");
    for (int i = 0; i < v->rank && i < HODU_MAX_RANK; i++) {
        if (i)
            hd_buf_putc(out, ',');
        /* A bound symbol shows its size: that is what later passes see. */
        if (v->dims[i].rt) /* chosen at run time, at most size */
            hd_buf_printf(out, "%s<=%" PRId64, v->dims[i].sym, v->dims[i].size);
        else if (v->dims[i].sym && v->dims[i].size < 0)
            hd_buf_puts(out, v->dims[i].sym);
        else if (v->dims[i].size < 0)
            hd_buf_putc(out, '?');
        else if (v->dims[i].unbounded) /* known when the model runs, no bound */
            hd_buf_puts(out, "?");
        else if (v->dims[i].data_dep) /* known when the model runs, at most size */
            hd_buf_printf(out, "?<=%" PRId64, v->dims[i].size);
        else
            hd_buf_printf(out, "%" PRId64, v->dims[i].size);
    }
    hd_buf_putc(out, ']');
}

static void dump_attr(const ir_graph *g, const ir_attr *a, hd_buf *out)
{
    hd_buf_printf(out, "%s=", a->name);
    switch (a->kind) {
    case IR_ATTR_INT: hd_buf_printf(out, "%" PRId64, a->i); break;
    case IR_ATTR_FLOAT: hd_buf_printf(out, "%.9g", a->f); break;
    case IR_ATTR_STRING: hd_buf_printf(out, "\"%s\"", a->s ? a->s : ""); break;
    case IR_ATTR_INTS:
    case IR_ATTR_FLOATS:
    case IR_ATTR_STRINGS:
        hd_buf_putc(out, '[');
        for (size_t i = 0; i < a->n; i++) {
            if (i)
                hd_buf_putc(out, ',');
            if (a->kind == IR_ATTR_INTS)
                hd_buf_printf(out, "%" PRId64, a->ints[i]);
            else if (a->kind == IR_ATTR_FLOATS)
                hd_buf_printf(out, "%.9g", a->floats[i]);
            else
                hd_buf_printf(out, "\"%s\"", a->strings[i]);
        }
        hd_buf_putc(out, ']');
        break;
    case IR_ATTR_TENSOR:
        if (a->tensor >= 0) {
            hd_buf_printf(out, "@%s:", g->values[a->tensor].name);
            dump_type(&g->values[a->tensor], out);
        }
        break;
    case IR_ATTR_GRAPH: hd_buf_puts(out, "<graph>"); break;
    case IR_ATTR_OTHER: hd_buf_puts(out, "<?>"); break;
    }
}

/* A body's members inline: "{Add(#0, #1) -> Relu(@0) {alpha=...} -> ...}",
 * #k for body input k, @m for member m's result (ir.h, "Node bodies"). */
static void dump_body(const ir_graph *b, hd_buf *out)
{
    hd_buf_puts(out, " {");
    for (size_t m = 0; m < b->n_nodes; m++) {
        const ir_node *mn = &b->nodes[m];
        if (m)
            hd_buf_puts(out, " -> ");
        hd_buf_printf(out, "%s%s%s(", mn->domain[0] ? mn->domain : "", mn->domain[0] ? "." : "", mn->op_type);
        for (size_t j = 0; j < mn->n_inputs; j++) {
            int v = mn->inputs[j];
            if (j)
                hd_buf_puts(out, ", ");
            if (v < 0 || (size_t)v >= b->n_values) {
                hd_buf_puts(out, v == -1 ? "_" : "?");
                continue;
            }
            const ir_value *val = &b->values[v];
            size_t k = 0;
            while (k < b->n_inputs && b->inputs[k] != v)
                k++;
            if (k < b->n_inputs)
                hd_buf_printf(out, "#%zu", k);
            else if (val->kind == IR_VALUE_NODE && val->producer >= 0)
                hd_buf_printf(out, "@%d", val->producer);
            else
                hd_buf_printf(out, "?%s", val->name);
        }
        hd_buf_putc(out, ')');
        if (mn->n_attrs) {
            hd_buf_puts(out, " {");
            for (size_t j = 0; j < mn->n_attrs; j++) {
                if (j)
                    hd_buf_puts(out, ", ");
                dump_attr(b, &mn->attrs[j], out);
            }
            hd_buf_putc(out, '}');
        }
    }
    hd_buf_putc(out, '}');
}

static void dump_graph(const ir_graph *g, hd_buf *out, int depth);

/* A node's subgraphs, each under a line naming its attribute, indented one
 * step further than the node. */
static void dump_subgraphs(const ir_node *n, hd_buf *out, int depth)
{
    for (size_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].graph) {
            hd_buf_printf(out, "%*s  %s:\n", 4 * depth, "", n->attrs[a].name);
            dump_graph(n->attrs[a].graph, out, depth + 1);
        }
}

void ir_dump(const ir_graph *g, hd_buf *out) { dump_graph(g, out, 0); }

static void dump_graph(const ir_graph *g, hd_buf *out, int depth)
{
    int ind = 4 * depth;
    if (depth)
        hd_buf_printf(out, "%*s", ind, "");
    hd_buf_printf(out, "graph %s (opset %" PRId64 ")\n", g->name, g->opset);
    for (size_t i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        hd_buf_printf(out, "%*s  input  %%%s : ", ind, "", v->name);
        dump_type(v, out);
        hd_buf_putc(out, '\n');
    }
    size_t *uses = ir_use_counts(g);
    for (size_t i = 0; i < g->n_values; i++) {
        const ir_value *v = &g->values[i];
        if (v->kind != IR_VALUE_CONST || uses[i] == 0)
            continue;
        hd_buf_printf(out, "%*s  const  %%%s : ", ind, "", v->name);
        dump_type(v, out);
        hd_buf_printf(out, " (%zu bytes)\n", v->nbytes);
    }
    free(uses);
    hd_diag quiet;
    hd_diag_init(&quiet, NULL);
    size_t count = 0;
    int *order = ir_schedule(g, &count, &quiet);
    hd_diag_free(&quiet);
    for (size_t k = 0; k < g->n_nodes; k++) {
        /* In schedule order when the graph is well formed, else model order. */
        int idx = order ? (k < count ? order[k] : -1) : (int)k;
        if (idx < 0)
            break;
        const ir_node *n = &g->nodes[idx];
        if (n->dead)
            continue;
        hd_buf_printf(out, "%*s  ", ind, "");
        for (size_t j = 0; j < n->n_outputs; j++) {
            if (j)
                hd_buf_puts(out, ", ");
            if (n->outputs[j] < 0) {
                hd_buf_puts(out, "_");
                continue;
            }
            const ir_value *v = &g->values[n->outputs[j]];
            hd_buf_printf(out, "%%%s : ", v->name);
            dump_type(v, out);
        }
        hd_buf_printf(out, " = %s%s%s", n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type);
        hd_buf_putc(out, '(');
        for (size_t j = 0; j < n->n_inputs; j++) {
            if (j)
                hd_buf_puts(out, ", ");
            if (n->inputs[j] < 0)
                hd_buf_puts(out, "_");
            else
                hd_buf_printf(out, "%%%s", g->values[n->inputs[j]].name);
        }
        hd_buf_putc(out, ')');
        if (n->n_attrs) {
            hd_buf_puts(out, " {");
            for (size_t j = 0; j < n->n_attrs; j++) {
                if (j)
                    hd_buf_puts(out, ", ");
                dump_attr(g, &n->attrs[j], out);
            }
            hd_buf_putc(out, '}');
        }
        if (n->body)
            dump_body(n->body, out);
        if (n->guard >= 0)
            hd_buf_printf(out, " if %s%%%s", n->guard_else ? "not " : "", g->values[n->guard].name);
        hd_buf_printf(out, "  # %s\n", n->name);
        dump_subgraphs(n, out, depth);
    }
    free(order);
    for (size_t i = 0; i < g->n_outputs; i++) {
        const ir_value *v = &g->values[g->outputs[i]];
        hd_buf_printf(out, "%*s  output %%%s : ", ind, "", v->name);
        dump_type(v, out);
        hd_buf_putc(out, '\n');
    }
}
