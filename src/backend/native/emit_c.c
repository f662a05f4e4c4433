/*
 * native/emit_c.c - writes model.c from a planned graph.
 *
 * Layout of the generated file:
 *   includes, the weight blob declaration, emitters' file-scope helpers,
 *   one `static void nK_Op(...)` per scheduled node,
 *   `hodu_run` calling them in order, copies for outputs that no node writes,
 *   the tensor descriptors and the exported hodu_model_get_desc.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"

#ifndef HODU_VERSION
#define HODU_VERSION "dev"
#endif

/* A C string literal for arbitrary model-supplied text.  Besides quotes and
 * backslashes, `?` is escaped (no trigraph such as ??/ can form) and every
 * byte outside printable ASCII becomes a three-digit octal escape, which ends
 * after three digits and so cannot absorb a digit that follows it. */
static void put_c_string(hd_buf *b, const char *s)
{
    hd_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            hd_buf_printf(b, "\\%c", *p);
        else if (*p < 32 || *p >= 127)
            hd_buf_printf(b, "\\%03o", *p);
        else
            hd_buf_putc(b, (char)*p);
    }
    hd_buf_putc(b, '"');
}

/* Model text reduced to [A-Za-z0-9_.-] and at most 48 characters, for
 * comments only: no comment terminator, backslash, quote or line break can
 * survive, so the comment stays a comment. */
static void put_comment_text(hd_buf *b, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n == 48) {
            hd_buf_puts(b, "...");
            return;
        }
        bool keep = isalnum(*p) && *p < 128;
        hd_buf_putc(b, keep || *p == '_' || *p == '.' || *p == '-' ? (char)*p : '_');
    }
}

/* The C expression for where value v lives, cast to its element pointer. */
static char *value_ptr(const ir_graph *g, const mem_plan *plan, int v, bool writable)
{
    const ir_value *val = &g->values[v];
    const mem_slot *s = &plan->slots[v];
    const char *ct = em_ctype(val->dtype);
    const char *cq = writable ? "" : "const ";
    switch (s->place) {
    case MEM_INPUT: return hd_xasprintf("(%s%s *)in[%zu]", cq, ct, s->index);
    case MEM_OUTPUT: return hd_xasprintf("(%s *)out[%zu]", ct, s->index);
    case MEM_WEIGHTS: return hd_xasprintf("(const %s *)(hodu_weights + %" PRIu64 ")", ct, s->offset);
    case MEM_ARENA: return hd_xasprintf("(%s *)(arena + %" PRIu64 ")", ct, s->offset);
    default: return hd_xstrdup("NULL /* unplanned */");
    }
}

/* "nK_Op": the node index and the op table's name, never the file's text. */
static void node_fn_name(const ir_graph *g, int node, hd_buf *b)
{
    hd_buf_printf(b, "n%d_", node);
    for (const char *p = op_get(g->nodes[node].op)->name; *p; p++)
        hd_buf_putc(b, isalnum((unsigned char)*p) ? *p : '_');
}

static void describe_value(const ir_value *v, hd_buf *b)
{
    hd_buf_printf(b, "%s[", ir_dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++)
        hd_buf_printf(b, "%s%" PRId64, i ? "," : "", v->dims[i].size);
    hd_buf_putc(b, ']');
}

static bool emit_node(const ir_graph *g, const mem_plan *plan, size_t step, hd_buf *fns, hd_buf *decls,
                      hd_buf *calls, hd_diag *d)
{
    int node = plan->schedule[step];
    const ir_node *n = &g->nodes[node];
    const op_def *def = op_get(n->op);
    hd_buf body;
    hd_buf_init(&body);
    op_emit e = {g, node, &body, decls, 1, 0, d};
    const native_lowering *low = native_lowering_of(n->op);
    if (!low || !low->emit(&e)) {
        hd_buf_free(&body);
        return false;
    }

    /* Comment naming the node (compiler-made text only), then the signature. */
    hd_buf_printf(fns, "\n/* node %d ", node);
    put_comment_text(fns, n->name);
    hd_buf_puts(fns, " ");
    put_comment_text(fns, def->name);
    hd_buf_putc(fns, ':');
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0) {
            hd_buf_putc(fns, ' ');
            describe_value(&g->values[n->inputs[j]], fns);
        }
    hd_buf_puts(fns, " ->");
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0) {
            hd_buf_putc(fns, ' ');
            describe_value(&g->values[n->outputs[j]], fns);
        }
    hd_buf_puts(fns, " */\nstatic void ");
    node_fn_name(g, node, fns);
    hd_buf_putc(fns, '(');
    node_fn_name(g, node, calls);
    hd_buf_puts(calls, "(");
    bool first = true;
    for (size_t j = 0; j < n->n_inputs; j++) {
        int v = n->inputs[j];
        if (v < 0)
            continue;
        hd_buf_printf(fns, "%sconst %s *restrict in%zu", first ? "" : ", ", em_ctype(g->values[v].dtype), j);
        char *p = value_ptr(g, plan, v, false);
        hd_buf_printf(calls, "%s%s", first ? "" : ", ", p);
        free(p);
        first = false;
    }
    for (size_t j = 0; j < n->n_outputs; j++) {
        int v = n->outputs[j];
        if (v < 0)
            continue;
        hd_buf_printf(fns, "%s%s *restrict out%zu", first ? "" : ", ", em_ctype(g->values[v].dtype), j);
        char *p = value_ptr(g, plan, v, true);
        hd_buf_printf(calls, "%s%s", first ? "" : ", ", p);
        free(p);
        first = false;
    }
    if (plan->scratch_bytes[step]) {
        hd_buf_printf(fns, "%sunsigned char *restrict scratch", first ? "" : ", ");
        hd_buf_printf(calls, "%sarena + %" PRIu64, first ? "" : ", ", plan->scratch_offset[step]);
        first = false;
    }
    if (first)
        hd_buf_puts(fns, "void");
    hd_buf_puts(fns, ")\n{\n");
    hd_buf_write(fns, body.data ? body.data : "", body.len);
    hd_buf_puts(fns, "}\n");
    hd_buf_puts(calls, ");\n");
    hd_buf_free(&body);
    return true;
}

static void emit_desc_tensors(const ir_graph *g, const int *ids, size_t n, const char *what, hd_buf *b)
{
    for (size_t i = 0; i < n; i++) {
        const ir_value *v = &g->values[ids[i]];
        if (v->rank == 0)
            continue;
        hd_buf_printf(b, "static const int64_t %s%zu_dims[] = {", what, i);
        for (int k = 0; k < v->rank; k++)
            hd_buf_printf(b, "%s%" PRId64, k ? ", " : "", v->dims[k].size);
        hd_buf_puts(b, "};\n");
    }
    hd_buf_printf(b, "static const hodu_tensor_desc %s_desc[] = {\n", what);
    for (size_t i = 0; i < n; i++) {
        const ir_value *v = &g->values[ids[i]];
        hd_buf_puts(b, "    {");
        put_c_string(b, v->name);
        if (v->rank == 0)
            hd_buf_printf(b, ", %d, 0, NULL},\n", (int)v->dtype);
        else
            hd_buf_printf(b, ", %d, %d, %s%zu_dims},\n", (int)v->dtype, v->rank, what, i);
    }
    if (n == 0)
        hd_buf_puts(b, "    {NULL, 0, 0, NULL}\n");
    hd_buf_puts(b, "};\n");
}

bool native_emit(const ir_graph *g, const mem_plan *plan, backend_artifact *out, hd_diag *d)
{
    memset(out, 0, sizeof(*out));
    hd_buf_init(&out->source);
    hd_buf fns, decls, calls;
    hd_buf_init(&fns);
    hd_buf_init(&decls);
    hd_buf_init(&calls);
    bool ok = true;
    for (size_t s = 0; s < plan->n_schedule && ok; s++) {
        hd_buf_puts(&calls, "    ");
        ok = emit_node(g, plan, s, &fns, &decls, &calls, d);
    }
    /* Outputs no node wrote directly: constants, inputs, repeated listings. */
    for (size_t i = 0; i < g->n_outputs && ok; i++) {
        int v = g->outputs[i];
        const mem_slot *s = &plan->slots[v];
        if (s->place == MEM_OUTPUT && s->index == i)
            continue;
        size_t nbytes = ir_value_nbytes(&g->values[v]);
        if (nbytes == 0)
            continue;
        char *src = value_ptr(g, plan, v, false);
        hd_buf_printf(&calls, "    memcpy(out[%zu], %s, %zu);\n", i, src, nbytes);
        free(src);
    }

    hd_buf *b = &out->source;
    /* Only the file's base name, reduced; the full path could carry anything. */
    const char *base = g->source ? strrchr(g->source, '/') : NULL;
    base = base ? base + 1 : g->source ? g->source : "";
    hd_buf_puts(b, "/* Generated by hodu " HODU_VERSION " from ");
    put_comment_text(b, base);
    hd_buf_puts(b, ". Do not edit. */\n"
                   "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n"
                   "#include \"hodu_abi.h\"\n#include \"hodu_kernels.h\"\n\n");
    if (plan->weights_bytes)
        hd_buf_puts(b, "extern const unsigned char hodu_weights[] __attribute__((visibility(\"hidden\"), aligned(64)));\n");
    else
        hd_buf_puts(b, "static const unsigned char hodu_weights[64] __attribute__((aligned(64)));\n");
    hd_buf_write(b, decls.data ? decls.data : "", decls.len);
    hd_buf_write(b, fns.data ? fns.data : "", fns.len);
    hd_buf_puts(b, "\nstatic int hodu_run(void *workspace, const void *const *in, void *const *out)\n{\n"
                   "    unsigned char *arena = (unsigned char *)workspace;\n"
                   "    (void)arena;\n    (void)in;\n    (void)out;\n    (void)hodu_weights;\n");
    hd_buf_write(b, calls.data ? calls.data : "", calls.len);
    hd_buf_puts(b, "    return 0;\n}\n\n");
    emit_desc_tensors(g, g->inputs, g->n_inputs, "inputs", b);
    emit_desc_tensors(g, g->outputs, g->n_outputs, "outputs", b);
    hd_buf_puts(b, "\nstatic const hodu_model_desc model_desc = {\n    HODU_ABI_VERSION,\n"
                   "    (uint32_t)sizeof(hodu_model_desc),\n    ");
    put_c_string(b, g->name);
    hd_buf_printf(b, ",\n    \"hodu " HODU_VERSION "\",\n    %zu,\n    %zu,\n    inputs_desc,\n    outputs_desc,\n"
                     "    %" PRIu64 "u,\n    hodu_run,\n};\n\n",
                  g->n_inputs, g->n_outputs, plan->arena_bytes);
    hd_buf_puts(b, "__attribute__((visibility(\"default\"))) const hodu_model_desc *hodu_model_get_desc(void);\n"
                   "const hodu_model_desc *hodu_model_get_desc(void) { return &model_desc; }\n");

    /* The blob: every planned constant at its offset, zero padding between. */
    out->weights_bytes = plan->weights_bytes;
    out->weights = hd_xcalloc(plan->weights_bytes ? plan->weights_bytes : 1, 1);
    for (size_t v = 0; v < g->n_values; v++)
        if (plan->slots[v].place == MEM_WEIGHTS && g->values[v].nbytes)
            memcpy(out->weights + plan->slots[v].offset, g->values[v].data, g->values[v].nbytes);

    hd_buf_free(&fns);
    hd_buf_free(&decls);
    hd_buf_free(&calls);
    if (!ok)
        native_artifact_clear(out);
    return ok;
}

void native_artifact_clear(backend_artifact *out)
{
    hd_buf_free(&out->source);
    free(out->weights);
    out->weights = NULL;
    out->weights_bytes = 0;
}
