/*
 * script/lower.c - IR building for the HoduScript checker.
 */
#include "script/lower.h"

#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

static ir_loc text_loc(const hs_lower *L, hs_span at)
{
    ir_loc l = {.kind = IR_LOC_TEXT, .line = at.line, .col = at.col, .end_line = at.end_line, .end_col = at.end_col};
    l.file = L->files && at.file >= 0 ? L->files[at.file] : NULL;
    return l;
}

void lw_set_loc(hs_lower *L, int value, hs_span at)
{
    if (L->g && value >= 0)
        L->g->values[value].loc = text_loc(L, at);
}

int lw_node(hs_lower *L, const char *op, const int *ins, size_t n, hs_span at, const char *name)
{
    L->n_nodes++;
    if (!L->g)
        return -1;
    /* Names are unique: the node count makes them so. */
    char *nm = hd_xasprintf("%s_%zu", name && *name ? name : op, L->n_nodes);
    int out = ir_value_new(L->g, nm);
    int node = ir_node_new(L->g, op, "", nm, ins, n, &out, 1);
    L->g->nodes[node].op = op_find("", op, L->g->opset); /* as the ONNX loader resolves it */
    ir_node_set_loc(L->g, node, text_loc(L, at));
    free(nm);
    return out;
}

static int producer(hs_lower *L, int value) { return L->g && value >= 0 ? L->g->values[value].producer : -1; }

void lw_attr_int(hs_lower *L, int value, const char *name, int64_t v)
{
    int nd = producer(L, value);
    if (nd >= 0)
        ir_node_add_attr(L->g, nd, name, IR_ATTR_INT)->i = v;
}

void lw_attr_float(hs_lower *L, int value, const char *name, double v)
{
    int nd = producer(L, value);
    if (nd >= 0)
        ir_node_add_attr(L->g, nd, name, IR_ATTR_FLOAT)->f = v;
}

void lw_attr_ints(hs_lower *L, int value, const char *name, const int64_t *v, size_t n)
{
    int nd = producer(L, value);
    if (nd < 0)
        return;
    ir_attr *a = ir_node_add_attr(L->g, nd, name, IR_ATTR_INTS);
    a->n = n;
    a->ints = hd_xmalloc((n ? n : 1) * sizeof(int64_t));
    if (n)
        memcpy(a->ints, v, n * sizeof(int64_t));
}

int lw_scalar(hs_lower *L, hodu_dtype dtype, double v, hs_span at)
{
    if (!L->g)
        return -1;
    size_t sz = ir_dtype_size(dtype);
    unsigned char *p = ir_graph_keep(L->g, hd_xcalloc(1, sz ? sz : 1));
    switch (dtype) {
    case HODU_DTYPE_F32: {
        float f = (float)v;
        memcpy(p, &f, 4);
    } break;
    case HODU_DTYPE_F64: memcpy(p, &v, 8); break;
    case HODU_DTYPE_I8: {
        int8_t x = (int8_t)v;
        memcpy(p, &x, 1);
    } break;
    case HODU_DTYPE_I16: {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } break;
    case HODU_DTYPE_I32: {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } break;
    case HODU_DTYPE_I64: {
        int64_t x = (int64_t)v;
        memcpy(p, &x, 8);
    } break;
    case HODU_DTYPE_U8:
    case HODU_DTYPE_BOOL: {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
    } break;
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: {
        /* Round-to-nearest from the float's bits is not needed here: the
         * literals the checker accepts for these types are converted by a
         * Cast node instead (see check.c); this path writes bf16 only. */
        float f = (float)v;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        uint16_t h = (uint16_t)(bits >> 16);
        memcpy(p, &h, 2);
    } break;
    default: break;
    }
    char *nm = hd_xasprintf("const_%zu", L->g->n_values);
    int c = ir_const_new(L->g, nm, dtype, 0, NULL, p, sz);
    free(nm);
    lw_set_loc(L, c, at);
    return c;
}

int lw_i64s(hs_lower *L, const int64_t *v, size_t n, hs_span at)
{
    if (!L->g)
        return -1;
    int64_t *p = ir_graph_keep(L->g, hd_xmalloc((n ? n : 1) * sizeof(int64_t)));
    if (n)
        memcpy(p, v, n * sizeof(int64_t));
    int64_t dim = (int64_t)n;
    char *nm = hd_xasprintf("const_%zu", L->g->n_values);
    int c = ir_const_new(L->g, nm, HODU_DTYPE_I64, 1, &dim, p, n * sizeof(int64_t));
    free(nm);
    lw_set_loc(L, c, at);
    return c;
}
