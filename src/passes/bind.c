/*
 * passes/bind.c - binds run-time inputs to build-time facts: dims given with
 * --input-shape or by symbol with --dim SYM=N, whole values given with
 * --const-input; --dim SYM=LO..HI makes a symbol a run-time dim instead
 * (ir_dim.rt, sized for HI).  Afterwards every dim of every graph input is
 * known or a run-time dim; each input that has another is reported with all
 * of its unbound dims.  Errors about an input are placed at its
 * declaration (ir_value_error: "model.onnx:input[0]: input 'x' ...").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static int find_input(const ir_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0)
            return (int)i;
    return -1;
}

static void report_unknown_input(const ir_graph *g, const char *flag, const char *name, hd_diag *d)
{
    hd_buf names;
    hd_buf_init(&names);
    for (size_t i = 0; i < g->n_inputs; i++)
        hd_buf_printf(&names, "%s'%s'", i ? ", " : "", g->values[g->inputs[i]].name);
    hd_error(d, "%s: the model has no input '%s' (inputs: %s)", flag, name, g->n_inputs ? names.data : "none");
    hd_buf_free(&names);
}

/* Checks a binding against what the model declares; binds symbols. */
static bool bind_dims(ir_graph *g, int id, const char *flag, int rank, const int64_t *dims, hd_diag *d)
{
    ir_value *v = &g->values[id];
    if (v->rank >= 0 && v->rank != rank) {
        ir_value_error(d, g, id, "%s: input '%s' has rank %d in the model, the binding gives %d dims", flag, v->name,
                       v->rank, rank);
        return false;
    }
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            ir_value_error(d, g, id, "%s: input '%s' dim %d is %" PRId64 "; dims must be >= 0", flag, v->name, i,
                           dims[i]);
            return false;
        }
    }
    for (int i = 0; v->rank >= 0 && i < rank; i++) {
        if (v->dims[i].rt) {
            ir_value_error(d, g, id,
                           "%s: input '%s' dim %d is the run-time dim '%s' (--dim %s=LO..HI); it cannot also "
                           "be bound",
                           flag, v->name, i, v->dims[i].sym, v->dims[i].sym);
            return false;
        }
        if (v->dims[i].size >= 0 && v->dims[i].size != dims[i]) {
            ir_value_error(d, g, id, "%s: input '%s' dim %d is %" PRId64 " in the model, the binding says %" PRId64,
                           flag, v->name, i, v->dims[i].size, dims[i]);
            return false;
        }
    }
    /* A symbol bound here is bound everywhere it appears in other inputs. */
    for (int i = 0; v->rank >= 0 && i < rank; i++) {
        const char *sym = v->dims[i].sym;
        if (!sym)
            continue;
        for (size_t k = 0; k < g->n_inputs; k++) {
            ir_value *o = &g->values[g->inputs[k]];
            for (int j = 0; j < o->rank; j++)
                if (o->dims[j].sym == sym && o->dims[j].size < 0)
                    o->dims[j].size = dims[i];
        }
    }
    ir_value_set_shape(v, rank, dims);
    return true;
}

/* --dim SYM=N binds every input dim named SYM; SYM=LO..HI makes each of
 * them a run-time dim sized for HI. */
static void bind_symbol(ir_graph *g, const pass_dim_binding *b, hd_diag *d)
{
    bool found = false;
    for (size_t k = 0; k < g->n_inputs; k++) {
        ir_value *v = &g->values[g->inputs[k]];
        for (int j = 0; j < v->rank; j++) {
            ir_dim *dim = &v->dims[j];
            if (!dim->sym || strcmp(dim->sym, b->sym) != 0)
                continue;
            found = true;
            if (dim->size >= 0) {
                ir_value_error(d, g, g->inputs[k], "--dim %s: input '%s' dim %d is already %" PRId64, b->sym, v->name,
                               j, dim->size);
                return;
            }
        }
    }
    if (!found) {
        hd_buf names;
        hd_buf_init(&names);
        for (size_t i = 0; i < g->n_symbols; i++) { /* each unbound one once, in the graph's order */
            bool unbound = false;
            for (size_t k = 0; k < g->n_inputs && !unbound; k++) {
                const ir_value *v = &g->values[g->inputs[k]];
                for (int j = 0; j < v->rank; j++)
                    unbound = unbound || (v->dims[j].sym == g->symbols[i] && v->dims[j].size < 0);
            }
            if (unbound)
                hd_buf_printf(&names, "%s'%s'", names.len ? ", " : "", g->symbols[i]);
        }
        hd_error(d, "--dim %s: no input of the model has a dim named '%s' (named dims: %s)", b->sym, b->sym,
                 names.len ? names.data : "none");
        hd_buf_free(&names);
        return;
    }
    if (b->expr) { /* a derived dim: its range follows from the others' */
        ir_poly p;
        hd_buf why;
        hd_buf_init(&why);
        bool ok = ir_poly_parse(g, b->expr, &p, &why);
        if (!ok)
            hd_error(d, "--dim %s=%s: %s", b->sym, b->expr, why.data);
        else if (!(ok = ir_graph_define_symbol(g, b->sym, &p)))
            hd_error(d, "--dim %s=%s: it may be negative, or its range overflows", b->sym, b->expr);
        hd_buf_free(&why);
        if (!ok)
            return;
        int64_t lo, hi;
        ir_graph_symbol_range(g, b->sym, &lo, &hi);
        for (size_t k = 0; k < g->n_inputs; k++) {
            ir_value *v = &g->values[g->inputs[k]];
            for (int j = 0; j < v->rank; j++)
                if (v->dims[j].sym && strcmp(v->dims[j].sym, b->sym) == 0)
                    v->dims[j] = (ir_dim){.size = hi, .sym = ir_graph_symbol(g, b->sym), .rt = true};
        }
        return;
    }
    if (b->lo != b->hi)
        ir_graph_set_symbol_range(g, b->sym, b->lo, b->hi);
    for (size_t k = 0; k < g->n_inputs; k++) {
        ir_value *v = &g->values[g->inputs[k]];
        for (int j = 0; j < v->rank; j++) {
            ir_dim *dim = &v->dims[j];
            if (dim->sym && strcmp(dim->sym, b->sym) == 0) {
                dim->size = b->hi;
                dim->rt = b->lo != b->hi;
            }
        }
    }
}

bool pass_bind_inputs(ir_graph *g, const pass_shape_binding *shapes, size_t n_shapes, const pass_dim_binding *syms,
                      size_t n_syms, const pass_value_binding *values, size_t n_values, hd_diag *d)
{
    size_t errors = d->n_errors;
    for (int defined = 0; defined < 2; defined++) /* ranges first: definitions refer to them */
        for (size_t i = 0; i < n_syms; i++)
            if ((syms[i].expr != NULL) == (defined == 1))
                bind_symbol(g, &syms[i], d);
    for (size_t i = 0; i < n_shapes; i++) {
        int k = find_input(g, shapes[i].input);
        if (k < 0) {
            report_unknown_input(g, "--input-shape", shapes[i].input, d);
            continue;
        }
        bind_dims(g, g->inputs[k], "--input-shape", shapes[i].rank, shapes[i].dims, d);
    }
    for (size_t i = 0; i < n_values; i++) {
        const pass_value_binding *b = &values[i];
        int k = find_input(g, b->input);
        if (k < 0) {
            report_unknown_input(g, "--const-input", b->input, d);
            continue;
        }
        int id = g->inputs[k];
        ir_value *v = &g->values[id];
        if (v->dtype != HODU_DTYPE_UNDEFINED && v->dtype != b->dtype) {
            ir_value_error(d, g, id, "--const-input: input '%s' is %s in the model, the file holds %s", v->name,
                           ir_dtype_name(v->dtype), ir_dtype_name(b->dtype));
            continue;
        }
        if (!bind_dims(g, id, "--const-input", b->rank, b->dims, d))
            continue;
        v->dtype = b->dtype;
        if (!ir_value_size_ok(v)) {
            char *why = ir_value_size_text(v);
            ir_value_error(d, g, id, "--const-input: input '%s' %s", v->name, why);
            free(why);
            continue;
        }
        if (ir_value_nbytes(v) != b->nbytes) {
            ir_value_error(d, g, id, "--const-input: value for '%s' holds %zu bytes, its shape needs %zu", v->name,
                           b->nbytes, ir_value_nbytes(v));
            continue;
        }
        void *copy = ir_graph_keep(g, hd_xmalloc(b->nbytes ? b->nbytes : 1));
        if (b->nbytes)
            memcpy(copy, b->data, b->nbytes);
        ir_value_set_const(g, id, copy, b->nbytes);
        memmove(&g->inputs[k], &g->inputs[k + 1], (g->n_inputs - (size_t)k - 1) * sizeof(int));
        g->n_inputs--;
    }
    for (size_t i = 0; i < g->n_inputs; i++) {
        int id = g->inputs[i];
        const ir_value *v = &g->values[id];
        if (v->dtype == HODU_DTYPE_UNDEFINED || ir_dtype_size(v->dtype) == 0) {
            ir_value_error(d, g, id, "input '%s' has element type %s, which cannot be compiled", v->name,
                           ir_dtype_name(v->dtype));
            continue;
        }
        if (v->rank < 0) {
            ir_value_error(d, g, id, "input '%s' has no declared shape: pass --input-shape %s=DIMS", v->name, v->name);
            continue;
        }
        if (ir_value_is_static(v)) {
            /* The root check for run-time inputs: every later size derives
             * from shapes that passed it. */
            if (!ir_value_size_ok(v)) {
                char *why = ir_value_size_text(v);
                ir_value_error(d, g, id, "input '%s' %s", v->name, why);
                free(why);
            }
            continue;
        }
        hd_buf dims;
        hd_buf_init(&dims);
        for (int j = 0; j < v->rank; j++) {
            if (v->dims[j].size >= 0)
                continue;
            hd_buf_printf(&dims, "%sdim %d", dims.len ? ", " : "", j);
            if (v->dims[j].sym)
                hd_buf_printf(&dims, " ('%s')", v->dims[j].sym);
        }
        ir_value_error(d, g, id,
                       "input '%s' has unbound %s: pass --input-shape %s=DxDx..., or --dim SYM=N (or SYM=LO..HI for a "
                       "dim chosen at run time) for a named dim",
                       v->name, dims.data, v->name);
        hd_buf_free(&dims);
    }
    return d->n_errors == errors;
}
