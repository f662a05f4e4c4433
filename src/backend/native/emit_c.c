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
#include <stdio.h>
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

/* The C expression for where value v lives, cast to its element pointer:
 * read-only for inputs and weights, writable for the arena and outputs. */
static char *value_ptr(const ir_graph *g, const mem_plan *plan, int v)
{
    const ir_value *val = &g->values[v];
    const mem_slot *s = &plan->slots[v];
    const char *ct = em_ctype(val->dtype);
    switch (s->place) {
    case MEM_INPUT: return hd_xasprintf("(const %s *)in[%zu]", ct, s->index);
    case MEM_OUTPUT: return hd_xasprintf("(%s *)out[%zu]", ct, s->index);
    case MEM_WEIGHTS:
        return s->offset ? hd_xasprintf("(const %s *)(hodu_weights + %" PRIu64 ")", ct, s->offset)
                         : hd_xasprintf("(const %s *)hodu_weights", ct);
    case MEM_ARENA:
        return s->offset ? hd_xasprintf("(%s *)(arena + %" PRIu64 ")", ct, s->offset) : hd_xasprintf("(%s *)arena", ct);
    default: return hd_xstrdup("NULL /* unplanned */");
    }
}

/* --- names of values in hodu_run ---------------------------------------
 *
 * Each value the run function touches gets one local pointer named after the
 * model's value: "v_" and the name with every byte outside [A-Za-z0-9_]
 * turned into '_', runs of '_' folded into one, at most NAME_MAX_LEN
 * characters.  Only identifier characters survive, so model text cannot leave
 * the identifier, and the "v_" prefix keeps it clear of C keywords, the
 * standard headers' macros and hodu_run's own names.  Such a name never holds
 * "__"; a name already taken gets "__<value index>" (the base shortened to
 * fit), which therefore cannot meet another name. */
#define NAME_MAX_LEN 40

typedef struct run_names {
    char **of;    /* per value: its identifier, or NULL while unused */
    char **set;   /* open-addressing table of the names handed out */
    size_t mask;  /* table size - 1 (a power of two) */
    hd_buf decls; /* the declarations, in first-use order */
} run_names;

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot holding `s`, or the empty slot where it would go. */
static char **name_slot(run_names *r, const char *s)
{
    size_t i = name_hash(s) & r->mask;
    while (r->set[i] && strcmp(r->set[i], s) != 0)
        i = (i + 1) & r->mask;
    return &r->set[i];
}

static void run_names_init(run_names *r, size_t n_values)
{
    size_t cap = 16;
    while (cap < 2 * n_values + 2)
        cap *= 2;
    r->of = hd_xcalloc(n_values ? n_values : 1, sizeof(char *));
    r->set = hd_xcalloc(cap, sizeof(char *));
    r->mask = cap - 1;
    hd_buf_init(&r->decls);
}

static void run_names_free(run_names *r, size_t n_values)
{
    for (size_t v = 0; v < n_values; v++)
        free(r->of[v]);
    free(r->of);
    free(r->set); /* entries are owned by r->of */
    hd_buf_free(&r->decls);
}

/* The identifier for value v, declaring it on first use. */
static const char *value_name(run_names *r, const ir_graph *g, const mem_plan *plan, int v)
{
    if (r->of[v])
        return r->of[v];
    char name[NAME_MAX_LEN + 1] = "v_";
    size_t len = 2;
    const char *src = g->values[v].name ? g->values[v].name : "";
    for (const unsigned char *p = (const unsigned char *)src; *p && len < NAME_MAX_LEN; p++) {
        char c = (*p < 128 && isalnum(*p)) ? (char)*p : '_';
        if (c == '_' && name[len - 1] == '_')
            continue;
        name[len++] = c;
    }
    if (len == 2) {
        memcpy(name + 2, "anon", 4);
        len = 6;
    }
    name[len] = '\0';
    char **slot = name_slot(r, name);
    if (*slot) {
        char suffix[32];
        int k = snprintf(suffix, sizeof(suffix), "__%d", v);
        size_t keep = NAME_MAX_LEN - (size_t)k < len ? NAME_MAX_LEN - (size_t)k : len;
        memcpy(name + keep, suffix, (size_t)k + 1);
        slot = name_slot(r, name);
    }
    r->of[v] = hd_xstrdup(name);
    *slot = r->of[v];

    char *p = value_ptr(g, plan, v);
    const ir_value *val = &g->values[v];
    bool ro = plan->slots[v].place == MEM_INPUT || plan->slots[v].place == MEM_WEIGHTS;
    hd_buf_printf(&r->decls, "    %s%s *%s = %s;\n", ro ? "const " : "", em_ctype(val->dtype), r->of[v], p);
    free(p);
    return r->of[v];
}

/* The ABI's enumerator for a dtype, so descriptors read by name. */
static const char *dtype_enum(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return "HODU_DTYPE_F32";
    case HODU_DTYPE_U8: return "HODU_DTYPE_U8";
    case HODU_DTYPE_I8: return "HODU_DTYPE_I8";
    case HODU_DTYPE_U16: return "HODU_DTYPE_U16";
    case HODU_DTYPE_I16: return "HODU_DTYPE_I16";
    case HODU_DTYPE_I32: return "HODU_DTYPE_I32";
    case HODU_DTYPE_I64: return "HODU_DTYPE_I64";
    case HODU_DTYPE_BOOL: return "HODU_DTYPE_BOOL";
    case HODU_DTYPE_F16: return "HODU_DTYPE_F16";
    case HODU_DTYPE_F64: return "HODU_DTYPE_F64";
    case HODU_DTYPE_U32: return "HODU_DTYPE_U32";
    case HODU_DTYPE_U64: return "HODU_DTYPE_U64";
    case HODU_DTYPE_BF16: return "HODU_DTYPE_BF16";
    case HODU_DTYPE_STRING: return "HODU_DTYPE_STRING";
    default: return NULL;
    }
}

static void put_dtype(hd_buf *b, hodu_dtype t)
{
    const char *e = dtype_enum(t);
    if (e)
        hd_buf_puts(b, e);
    else
        hd_buf_printf(b, "%d", (int)t);
}

/* "nK_Op": the node index and the op table's name, never the file's text;
 * a node of subgraph function S (control flow, sub > 0) is "sS_nK_Op". */
static void node_fn_name(const ir_graph *g, int sub, int node, hd_buf *b)
{
    if (sub)
        hd_buf_printf(b, "s%d_", sub);
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

/* True when `name` occurs in `text` as a whole identifier. */
static bool ident_in(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        bool end = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (start && end)
            return true;
    }
    return false;
}

/* Operands a lowering never reads (a shape input baked into the code, a
 * zero-size tensor, scratch a path did not need) get `(void)name;` at the
 * top of the body, so generated code builds clean under -Wall -Wextra. */
static void void_unused_params(const ir_graph *g, const ir_node *n, bool has_scratch, bool has_exec, bool task_form,
                               bool has_rtd, hd_buf *body)
{
    const char *text = body->data ? body->data : "";
    hd_buf pre;
    hd_buf_init(&pre);
    for (int dir = 0; dir < 2; dir++) {
        size_t cnt = dir ? n->n_outputs : n->n_inputs;
        for (size_t k = 0; k < cnt; k++) {
            if ((dir ? n->outputs[k] : n->inputs[k]) < 0)
                continue;
            char name[32];
            snprintf(name, sizeof name, "%s%zu", dir ? "out" : "in", k);
            if (!ident_in(text, name))
                hd_buf_printf(&pre, "    (void)%s;\n", name);
        }
    }
    if (has_scratch && !ident_in(text, "scratch"))
        hd_buf_puts(&pre, "    (void)scratch;\n");
    if (has_exec && !task_form && !ident_in(text, "exec"))
        hd_buf_puts(&pre, "    (void)exec;\n");
    if (has_exec && !ident_in(text, "workers"))
        hd_buf_puts(&pre, "    (void)workers;\n");
    if (has_rtd && !ident_in(text, "rtd"))
        hd_buf_puts(&pre, "    (void)rtd;\n");
    for (size_t k = 0; k < n->n_outputs; k++) { /* the dims of a data-dependent output (emit_node) */
        char name[32];
        snprintf(name, sizeof name, "dims%zu", k);
        if (n->outputs[k] >= 0 && ir_value_has_data_dep(&g->values[n->outputs[k]]) && !ident_in(text, name))
            hd_buf_printf(&pre, "    (void)%s;\n", name);
    }
    if (pre.len) {
        hd_buf_write(&pre, text, body->len);
        hd_buf_free(body);
        *body = pre;
    } else {
        hd_buf_free(&pre);
    }
}

/* --- node functions ---------------------------------------------------- */

/* A node function's parameters (Concat may have thousands). */
typedef struct node_params {
    size_t n, cap;
    char **type, **name, **arg;
} node_params;

static void param_add(node_params *ps, char *type, char *name, char *arg)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 8;
        ps->type = hd_xrealloc(ps->type, ps->cap * sizeof(char *));
        ps->name = hd_xrealloc(ps->name, ps->cap * sizeof(char *));
        ps->arg = hd_xrealloc(ps->arg, ps->cap * sizeof(char *));
    }
    ps->type[ps->n] = type;
    ps->name[ps->n] = name;
    ps->arg[ps->n] = arg;
    ps->n++;
}

static void params_free(node_params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->type[i]);
        free(ps->name[i]);
        free(ps->arg[i]);
    }
    free(ps->type);
    free(ps->name);
    free(ps->arg);
}

/* `restrict` only on data pointers: the hodu_exec is shared. */
static void put_param(hd_buf *b, const char *type, const char *name)
{
    size_t len = strlen(type);
    bool data = strcmp(name, "exec") != 0 && len > 0 && type[len - 1] == '*';
    hd_buf_printf(b, "%s%s%s", type, data ? "restrict " : "", name);
}

/* "static void nK_Op(params)\n" ("static int" for a node that can fail) */
static void put_signature(const ir_graph *g, int sub, int node, const node_params *ps, bool can_fail, hd_buf *fns)
{
    hd_buf_puts(fns, can_fail ? "static int " : "static void ");
    node_fn_name(g, sub, node, fns);
    hd_buf_putc(fns, '(');
    for (size_t i = 0; i < ps->n; i++) {
        if (i)
            hd_buf_puts(fns, ", ");
        put_param(fns, ps->type[i], ps->name[i]);
    }
    hd_buf_puts(fns, ps->n ? ")\n" : "void)\n");
}

/* static void nK_Op(params) { body }; a body that did not split into
 * tasks but uses per-worker scratch runs as worker 0. */
static void write_plain_form(const ir_graph *g, int sub, int node, const node_params *ps, bool can_fail,
                             const hd_buf *body, hd_buf *fns)
{
    put_signature(g, sub, node, ps, can_fail, fns);
    hd_buf_puts(fns, "{\n");
    if (ident_in(body->data ? body->data : "", "wscratch"))
        hd_buf_puts(fns, "    unsigned char *restrict wscratch = workers;\n");
    hd_buf_write(fns, body->data ? body->data : "", body->len);
    if (can_fail)
        hd_buf_puts(fns, "    return 0;\n");
    hd_buf_puts(fns, "}\n");
}

/* A lowering that asked for em_par_for gets its body run as tasks: the
 * parameters travel in a struct, each task takes its block [par_lo,
 * par_hi) of the outer loop, and the node function hands the tasks to the
 * host's parallel-for (serially without one). */
static void write_task_form(const ir_graph *g, int sub, int node, const op_emit *e, const mem_plan *plan, size_t step,
                            const node_params *ps, const hd_buf *body, hd_buf *fns)
{
    hd_buf_puts(fns, "struct ");
    node_fn_name(g, sub, node, fns);
    hd_buf_puts(fns, "_args {\n");
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->name[i], "exec") != 0)
            hd_buf_printf(fns, "    %s%s;\n", ps->type[i], ps->name[i]);
    hd_buf_puts(fns, "    uint32_t n_tasks;\n};\n\nstatic void ");
    node_fn_name(g, sub, node, fns);
    hd_buf_puts(fns, "_task(void *ctx, uint32_t task, uint32_t worker)\n{\n    const struct ");
    node_fn_name(g, sub, node, fns);
    hd_buf_puts(fns, "_args *args = ctx;\n");
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->name[i], "exec") != 0) {
            hd_buf_puts(fns, "    ");
            put_param(fns, ps->type[i], ps->name[i]);
            hd_buf_printf(fns, " = args->%s;\n", ps->name[i]);
        }
    if (plan->worker_scratch[step])
        hd_buf_printf(fns, "    unsigned char *restrict wscratch = workers + (size_t)worker * %" PRIu64 "u;\n",
                      plan->worker_bytes);
    else
        hd_buf_puts(fns, "    (void)worker;\n");
    char n[128];
    if (e->par_n_rt[0])
        snprintf(n, sizeof n, "(%s)", e->par_n_rt);
    else
        snprintf(n, sizeof n, "%" PRId64, e->par_n);
    hd_buf_printf(fns,
                  "    const int64_t par_lo = hd_task_begin(task, args->n_tasks, %s, %" PRId64 ");\n"
                  "    const int64_t par_hi = hd_task_begin(task + 1, args->n_tasks, %s, %" PRId64 ");\n",
                  n, e->par_grain, n, e->par_grain);
    hd_buf_write(fns, body->data ? body->data : "", body->len);
    hd_buf_puts(fns, "}\n\n");
    put_signature(g, sub, node, ps, false, fns);
    hd_buf_puts(fns, "{\n    const struct ");
    node_fn_name(g, sub, node, fns);
    hd_buf_puts(fns, "_args args = {");
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->name[i], "exec") != 0)
            hd_buf_printf(fns, "%s, ", ps->name[i]);
    hd_buf_printf(fns, "hd_task_count(exec, %" PRIu32 "u)};\n    hd_parallel_for(exec, args.n_tasks, ",
                  e->par_max_tasks);
    node_fn_name(g, sub, node, fns);
    hd_buf_puts(fns, "_task, (void *)&args);\n}\n");
}

/* --- run-time output dims (ABI 4) ----------------------------------------
 * hodu_run fills output_dims (or a local array when the caller passes NULL)
 * with every output's dims; a node whose output size depends on data gets
 * `int64_t *dimsK` for its output K and writes the actual dims there.  The
 * entries of graph output i start at the sum of the ranks before it; a
 * data-dependent value that is no graph output gets a local array. */
static long output_dims_start(const ir_graph *g, size_t i)
{
    long at = 0;
    for (size_t k = 0; k < i; k++)
        at += g->values[g->outputs[k]].rank;
    return at;
}

/* Where the dims of value v go: its first listing as a graph output, or -1
 * (not an output: the node writes them to a sink). */
static long output_dims_at(const ir_graph *g, int v)
{
    for (size_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return output_dims_start(g, i);
    return -1;
}

/* --- run-time dims ---------------------------------------------------------
 * hodu_run reads each run-time dim into rtd[k] (k: the symbol's index in
 * the graph) from the first input dim that has it, and refuses a run whose
 * dims lie outside their ranges or disagree.  A node over run-time dims was
 * written for one slice; its call runs in loops rt0, rt1, ... over its
 * leading run-time dims, each operand's pointer moved to the slice. */
int em_rt_index(const ir_graph *g, const char *sym)
{
    for (size_t i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], sym) == 0)
            return (int)i;
    return -1;
}

void em_rt_elems(const ir_graph *g, const ir_value *v, int i, hd_buf *b) { em_rt_span(g, v, i + 1, v->rank, b); }

void em_rt_span(const ir_graph *g, const ir_value *v, int from, int to, hd_buf *b)
{
    int64_t fixed = 1;
    for (int k = from; k < to; k++) {
        if (v->dims[k].rt)
            hd_buf_printf(b, "rtd[%d] * ", em_rt_index(g, v->dims[k].sym));
        else
            fixed *= v->dims[k].size;
    }
    hd_buf_printf(b, "INT64_C(%" PRId64 ")", fixed);
}

bool em_rt_broadcasts(const ir_value *v, int i, const ir_dim *out)
{
    return i < 0 || (!v->dims[i].rt && v->dims[i].size == 1 && (out->rt || out->size != 1));
}

void em_rt_outer_loop(op_emit *e, const ir_value *out, int64_t work)
{
    int64_t inner = 1; /* the other dims at the top of their ranges */
    for (int o = 1; o < out->rank; o++)
        inner = out->dims[o].size > 0 && inner > INT64_MAX / out->dims[o].size ? INT64_MAX : inner * out->dims[o].size;
    em_par_for_rt(e, "i0", em_dim(e->g, out, 0).s, out->dims[0].size,
                  work > 0 && inner > INT64_MAX / work ? INT64_MAX : inner * work);
}

bool em_copy_rt(op_emit *e)
{
    hd_buf n;
    hd_buf_init(&n);
    em_rt_elems(e->g, em_out(e, 0), -1, &n);
    em_line(e, "if ((const void *)out0 != (const void *)in0) memcpy(out0, in0, (size_t)(%s) * %zu);", n.data,
            ir_dtype_size(em_out(e, 0)->dtype));
    hd_buf_free(&n);
    return true;
}

em_num em_dim(const ir_graph *g, const ir_value *v, int i)
{
    em_num r;
    if (v->dims[i].rt)
        snprintf(r.s, sizeof r.s, "rtd[%d]", em_rt_index(g, v->dims[i].sym));
    else
        snprintf(r.s, sizeof r.s, "INT64_C(%" PRId64 ")", v->dims[i].size);
    return r;
}

/* Opens the loops over the node's run-time dims and moves each operand's
 * argument to the slice they index. */
static void rt_slice_calls(const ir_graph *g, int node, int p, const char **syms, node_params *ps, hd_buf *calls)
{
    const ir_node *n = &g->nodes[node];
    for (int k = 0; k < p; k++)
        if (syms[k]) /* NULL: a static 1 among them */
            hd_buf_printf(calls, "for (int64_t rt%d = 0; rt%d < rtd[%d]; rt%d++) {\n    ", k, k,
                          em_rt_index(g, syms[k]), k);
    size_t at = 0;
    for (int dir = 0; dir < 2; dir++) {
        size_t cnt = dir ? n->n_outputs : n->n_inputs;
        for (size_t j = 0; j < cnt; j++) {
            int id = dir ? n->outputs[j] : n->inputs[j];
            if (id < 0)
                continue;
            const ir_value *v = &g->values[id];
            hd_buf off;
            hd_buf_init(&off);
            for (int i = 0; i < v->rank; i++) {
                if (!v->dims[i].rt)
                    continue;
                int loop = 0;
                while (loop < p && (!syms[loop] || strcmp(syms[loop], v->dims[i].sym) != 0))
                    loop++;
                hd_buf_printf(&off, "%srt%d * ", off.len ? " + " : "", loop);
                em_rt_elems(g, v, i, &off);
            }
            if (off.len) {
                char *moved = hd_xasprintf("%s + (%s)", ps->arg[at], off.data);
                free(ps->arg[at]);
                ps->arg[at] = moved;
            }
            hd_buf_free(&off);
            at++;
        }
    }
}

/* True when dim k of v is a data symbol its own node sets. */
static bool is_data_symbol_dim(const ir_value *v, int k) { return v->dims[k].data_dep && v->dims[k].rt; }

static bool has_data_symbol(const ir_value *v)
{
    for (int k = 0; k < v->rank; k++)
        if (is_data_symbol_dim(v, k))
            return true;
    return false;
}

static bool decides_data_symbol(const ir_graph *g, const ir_node *n)
{
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0 && has_data_symbol(&g->values[n->outputs[j]]))
            return true;
    return false;
}

/* True when symbol i's size is known only once a node has run. */
static bool symbol_after_node(const ir_graph *g, size_t i) { return ir_graph_symbol_is_data(g, g->symbols[i]); }

/* rtd[k] = the polynomial of derived symbol k, or its quotient (whose
 * numerator is never negative: C's division floors it); see put_rt_dims. */
static void put_derived_symbol(const ir_graph *g, size_t k, const char *indent, hd_buf *b)
{
    const ir_quot *q = ir_graph_symbol_quot(g, k);
    const ir_poly *p = q ? &q->num : ir_graph_symbol_poly(g, k);
    hd_buf_printf(b, "%srtd[%zu] = (0", indent, k);
    for (int t = 0; t < p->n; t++) {
        hd_buf_printf(b, " + INT64_C(%" PRId64 ")", p->t[t].coef);
        for (int i = 0; i < p->t[t].n; i++)
            hd_buf_printf(b, " * rtd[%d]", em_rt_index(g, p->t[t].f[i]));
    }
    if (q)
        hd_buf_printf(b, ") / INT64_C(%" PRId64 ");\n", q->div);
    else
        hd_buf_puts(b, ");\n");
}

/* True when derived symbol k follows, directly or through other derived
 * symbols, from one of the node's data symbols. */
static bool derived_over(const ir_graph *g, size_t k, const ir_node *n)
{
    const ir_quot *q = ir_graph_symbol_quot(g, k);
    const ir_poly *p = q ? &q->num : ir_graph_symbol_poly(g, k);
    for (int t = 0; p && t < p->n; t++)
        for (int f = 0; f < p->t[t].n; f++) {
            int src = ir_graph_symbol_source(g, p->t[t].f[f]);
            for (size_t j = 0; src >= 0 && j < n->n_outputs; j++)
                if (n->outputs[j] == src)
                    return true;
            int at = em_rt_index(g, p->t[t].f[f]);
            if (at >= 0 && (size_t)at < k && derived_over(g, (size_t)at, n))
                return true;
        }
    return false;
}

/* After a node that decides data symbols: each one's size from the dims
 * it wrote, then the derived symbols over them again (rtd starts zeroed,
 * so one computed before all its factors ran is merely stale). */
static void set_data_symbols(const ir_graph *g, int node, hd_buf *calls)
{
    const ir_node *n = &g->nodes[node];
    bool any = false;
    for (size_t j = 0; j < n->n_outputs; j++) {
        const ir_value *v = n->outputs[j] >= 0 ? &g->values[n->outputs[j]] : NULL;
        for (int k = 0; v && k < v->rank; k++)
            if (is_data_symbol_dim(v, k)) {
                hd_buf_printf(calls, "    rtd[%d] = dims_n%d_%zu[%d];\n", em_rt_index(g, v->dims[k].sym), node, j, k);
                any = true;
            }
    }
    for (size_t k = 0; any && k < g->n_symbols; k++)
        if (derived_over(g, k, n))
            put_derived_symbol(g, k, "    ", calls);
}

/* The nodes whose functions check run-time values, in check order (the
 * descriptor's `checks`). */
typedef struct node_checks {
    int *node;
    const char **why; /* op_emit.check_why per check, or NULL */
    size_t n;
    size_t base; /* checks before the nodes' (1 for the run-time dims check) */
} node_checks;

/* `sub`: 0 while writing the model's graph (hodu_run), else the number of
 * the subgraph function being written (see "Subgraphs" below), whose
 * worker regions arrive as its `workers` parameter and whose failing node
 * makes it return 1 (the control node holding it then fails in turn, and
 * hodu_run names that node).  `checks` collects hodu_run's checking nodes;
 * NULL for a subgraph. */
static bool emit_node(const ir_graph *g, int sub, const mem_plan *plan, size_t step, hd_buf *fns, hd_buf *decls,
                      hd_buf *calls, run_names *names, struct em_blobs *blobs, node_checks *checks, hd_diag *d)
{
    int node = plan->schedule[step];
    const ir_node *n = &g->nodes[node];
    const op_def *def = op_get(n->op);
    if (n->n_outputs == 1 && n->outputs[0] >= 0 && plan->view_of && plan->view_of[n->outputs[0]] >= 0)
        return true; /* its result is its input's storage (mem_plan.view_of): nothing to run */
    /* A node over run-time dims is written for one slice (ops/rtdims.c) and
     * called once per index of them, or (rt_general) written with its
     * sizes read at run time. */
    const char *rt_syms[HODU_MAX_RANK];
    int rt_p = op_rt_slice_dims(g, node, rt_syms);
    int rt_loops = 0;
    for (int k = 0; k < rt_p; k++)
        rt_loops += rt_syms[k] != NULL;
    bool rt_rows = rt_p && native_rt_rows(g, node);
    int64_t rows_div = 1; /* the rows the view plans for, per row of the run */
    for (int k = 0; k < rt_p; k++)
        rows_div *= g->values[n->outputs[0]].dims[k].size;
    op_rt_view view;
    if (rt_p) /* left below, before anything else reads g */
        op_rt_view_enter((ir_graph *)g, node, &view, rt_rows);
    hd_buf body;
    hd_buf_init(&body);
    op_emit e = {.g = g,
                 .node = node,
                 .body = &body,
                 .decls = decls,
                 .indent = 1,
                 .d = d,
                 .worker_bytes = plan->worker_bytes,
                 .blobs = blobs,
                 .rt_rows_div = rt_rows ? rows_div : 0};
    size_t decls_before = decls->len;
    const native_lowering *low = native_lowering_of(n->op);
    bool emitted;
    if (n->rt_general) {
        e.rt_dims = true;
        emitted = low && low->emit_rt && low->emit_rt(&e); /* native_supports checked */
    } else {
        emitted = low && low->emit(&e);
    }
    if (rt_p)
        op_rt_view_leave(&view);
    if (!emitted) {
        hd_buf_free(&body);
        return false;
    }
    bool has_exec = e.parallel || plan->worker_scratch[step] != 0 || e.uses_alloc;
    void_unused_params(g, n, plan->scratch_bytes[step] != 0, has_exec, e.par_max_tasks >= 2, e.rt_dims, &body);
    if (rt_rows && !ident_in(body.data ? body.data : "", "rt_rows")) {
        hd_buf pre;
        hd_buf_init(&pre);
        hd_buf_puts(&pre, "    (void)rt_rows;\n");
        hd_buf_write(&pre, body.data ? body.data : "", body.len);
        hd_buf_free(&body);
        body = pre;
    }
    /* Lowerings unroll only over small, bounded counts; this catches one
     * that a hostile attribute drives past that before the C compiler has
     * to swallow it.  A control-flow node's file-scope code holds its whole
     * subgraphs, whose nodes were checked one by one. */
    bool whole_graphs = ir_node_has_subgraphs(n);
    if (body.len > NATIVE_MAX_NODE_SOURCE || (!whole_graphs && decls->len - decls_before > NATIVE_MAX_NODE_SOURCE)) {
        ir_node_error(d, g, node, "the generated C for this node would pass %d MiB; an attribute is out of range",
                      NATIVE_MAX_NODE_SOURCE >> 20);
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
    hd_buf_puts(fns, " */\n");

    /* The parameters: type (without restrict), name, and the argument the
     * run function passes. */
    node_params ps = {0};
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0)
            param_add(&ps, hd_xasprintf("const %s *", em_ctype(g->values[n->inputs[j]].dtype)),
                      hd_xasprintf("in%zu", j), hd_xstrdup(value_name(names, g, plan, n->inputs[j])));
    for (size_t j = 0; j < n->n_outputs; j++) {
        int v = n->outputs[j];
        if (v < 0)
            continue;
        if (ir_value_has_unbounded(&g->values[v])) {
            /* the node sets the caller's void * to a buffer it allocated
             * (hodu_abi.h); read by nobody: a sink of its own */
            const mem_slot *sl = &plan->slots[v];
            char *arg = NULL;
            if (!sub && sl->place == MEM_OUTPUT && g->outputs[sl->index] == v)
                arg = hd_xasprintf("(void **)out[%zu]", sl->index);
            if (!arg) {
                hd_buf_printf(&names->decls, "    void *ubuf_n%d_%zu = NULL;\n", node, j);
                arg = hd_xasprintf("&ubuf_n%d_%zu", node, j);
            }
            param_add(&ps, hd_xstrdup("void **"), hd_xasprintf("out%zu", j), arg);
            continue;
        }
        param_add(&ps, hd_xasprintf("%s *", em_ctype(g->values[v].dtype)), hd_xasprintf("out%zu", j),
                  hd_xstrdup(value_name(names, g, plan, v)));
    }
    /* Outputs whose size depends on data: the node writes their actual
     * dims where hodu_run reports them (see output_dims_at), or, for a
     * value with data symbols, to a local array the symbols are read from
     * after the call (set_data_symbols). */
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0 && ir_value_has_data_dep(&g->values[n->outputs[j]])) {
            const ir_value *v = &g->values[n->outputs[j]];
            long at = has_data_symbol(v) ? -1 : output_dims_at(g, n->outputs[j]);
            if (at < 0) /* a sink of its own (the parameters are restrict) */
                hd_buf_printf(&names->decls, "    int64_t dims_n%d_%zu[%d];\n", node, j, v->rank);
            param_add(&ps, hd_xstrdup("int64_t *"), hd_xasprintf("dims%zu", j),
                      at >= 0 ? hd_xasprintf("odims + %ld", at) : hd_xasprintf("dims_n%d_%zu", node, j));
        }
    if (plan->scratch_bytes[step])
        param_add(&ps, hd_xstrdup("unsigned char *"), hd_xstrdup("scratch"),
                  plan->scratch_offset[step] ? hd_xasprintf("arena + %" PRIu64, plan->scratch_offset[step])
                                             : hd_xstrdup("arena"));
    if (has_exec) {
        param_add(&ps, hd_xstrdup("const hodu_exec *"), hd_xstrdup("exec"), hd_xstrdup("exec"));
        param_add(&ps, hd_xstrdup("unsigned char *"), hd_xstrdup("workers"),
                  sub                 ? hd_xstrdup("workers")
                  : plan->arena_bytes ? hd_xasprintf("arena + %" PRIu64, plan->arena_bytes)
                                      : hd_xstrdup("arena"));
    }

    /* a node that decides a data symbol its own loops read sets it first */
    if (e.rt_dims)
        param_add(&ps, hd_xstrdup(decides_data_symbol(g, n) ? "int64_t *" : "const int64_t *"), hd_xstrdup("rtd"),
                  hd_xstrdup("rtd"));
    if (rt_rows) { /* this run's rows: the product of the run-time dims */
        hd_buf rows;
        hd_buf_init(&rows);
        for (int k = 0; k < rt_p; k++)
            if (rt_syms[k])
                hd_buf_printf(&rows, "%srtd[%d]", rows.len ? " * " : "", em_rt_index(g, rt_syms[k]));
        param_add(&ps, hd_xstrdup("const int64_t "), hd_xstrdup("rt_rows"), hd_buf_take(&rows));
    }

    if (e.par_max_tasks >= 2)
        write_task_form(g, sub, node, &e, plan, step, &ps, &body, fns);
    else
        write_plain_form(g, sub, node, &ps, e.can_fail, &body, fns);
    /* A guarded node (an inlined If branch's) runs under its condition. */
    if (n->guard >= 0)
        hd_buf_printf(calls, "    if (%s(%s)[0]) {\n", n->guard_else ? "!" : "", value_name(names, g, plan, n->guard));
    hd_buf_puts(calls, "    ");
    if (rt_p && !rt_rows)
        rt_slice_calls(g, node, rt_p, rt_syms, &ps, calls);
    if (e.can_fail)
        hd_buf_puts(calls, "if (");
    node_fn_name(g, sub, node, calls);
    hd_buf_putc(calls, '(');
    for (size_t i = 0; i < ps.n; i++)
        hd_buf_printf(calls, "%s%s", i ? ", " : "", ps.arg[i]);
    if (!e.can_fail) {
        hd_buf_puts(calls, ");\n");
    } else if (sub) {
        hd_buf_puts(calls, ") != 0)\n        return 1;\n");
    } else {
        hd_buf_printf(calls,
                      ") != 0) {\n        hd_fpenv_leave(fpenv);\n        return HODU_RUN_INPUT_VALUES + %zu;\n    }\n",
                      checks->base + checks->n);
        checks->node = hd_xrealloc(checks->node, (checks->n + 1) * sizeof(int));
        checks->why = hd_xrealloc(checks->why, (checks->n + 1) * sizeof(char *));
        checks->why[checks->n] = e.check_why;
        checks->node[checks->n++] = node;
    }
    for (int k = 0; k < rt_loops && !rt_rows; k++)
        hd_buf_puts(calls, "    }\n");
    set_data_symbols(g, node, calls);
    if (n->guard >= 0)
        hd_buf_puts(calls, "    }\n");
    params_free(&ps);
    hd_buf_free(&body);
    return true;
}

static bool graph_has_rt(const ir_graph *g)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (ir_value_has_rt(&g->values[g->inputs[i]]))
            return true;
    return false;
}

/* rtd[]: each run-time dim the caller chooses from the first input dim
 * that has it, checked against its range and against every other input
 * dim that has it; then the derived ones (ir_poly) from those, and an
 * input dim that is a derived one (--dim total=past+seq) checked against
 * it.  A refusal is check 0 (the descriptor's "the inputs' run-time
 * dims"). */
static void put_rt_dims(const ir_graph *g, hd_buf *b)
{
    hd_buf_printf(b, "    int64_t rtd[%zu] = {0};\n    (void)rtd;\n", g->n_symbols ? g->n_symbols : 1);
    if (!graph_has_rt(g))
        return;
    const char *fail = "return HODU_RUN_INPUT_VALUES + 0;";
    hd_buf_printf(b, "    if (!input_dims)\n        %s\n", fail);
    bool *seen = hd_xcalloc(g->n_symbols ? g->n_symbols : 1, sizeof(bool));
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) /* the derived ones: within range since their factors are */
            for (size_t k = 0; k < g->n_symbols; k++)
                if (ir_graph_symbol_derived(g, k) && !symbol_after_node(g, k))
                    put_derived_symbol(g, k, "    ", b);
        long at = 0;
        for (size_t i = 0; i < g->n_inputs; i++) {
            const ir_value *v = &g->values[g->inputs[i]];
            for (int k = 0; k < v->rank; k++, at++) {
                if (!v->dims[k].rt)
                    continue;
                int s = em_rt_index(g, v->dims[k].sym);
                bool derived = ir_graph_symbol_derived(g, (size_t)s);
                if (derived != (pass == 1))
                    continue;
                if (seen[s] || derived) {
                    hd_buf_printf(b, "    if (input_dims[%ld] != rtd[%d])\n        %s\n", at, s, fail);
                    continue;
                }
                seen[s] = true;
                int64_t lo = 0, hi = 0;
                ir_graph_symbol_range(g, v->dims[k].sym, &lo, &hi);
                hd_buf_printf(b,
                              "    rtd[%d] = input_dims[%ld];\n"
                              "    if (rtd[%d] < %" PRId64 " || rtd[%d] > %" PRId64 ")\n        %s\n",
                              s, at, s, lo, s, hi, fail);
            }
        }
    }
    free(seen);
}

/* hodu_run's output dims: the caller's array or a local one, filled with
 * every output's dims (for a data-dependent dim the bound, which its node
 * overwrites). */
static void put_output_dims_from(const ir_graph *g, bool late, hd_buf *b);

static void put_output_dims(const ir_graph *g, hd_buf *b)
{
    long total = output_dims_start(g, g->n_outputs);
    hd_buf_printf(b, "    int64_t odims_local[%ld];\n    int64_t *odims = output_dims ? output_dims : odims_local;\n",
                  total ? total : 1);
    hd_buf_puts(b, "    (void)odims;\n");
    put_output_dims_from(g, false, b);
}

/* The output dims: when `late`, those that a data symbol decides (written
 * once every node has run), else the others. */
static void put_output_dims_from(const ir_graph *g, bool late, hd_buf *b)
{
    for (size_t i = 0; i < g->n_outputs; i++) {
        const ir_value *v = &g->values[g->outputs[i]];
        long at = output_dims_start(g, i);
        for (int k = 0; k < v->rank; k++) {
            int s = v->dims[k].rt ? em_rt_index(g, v->dims[k].sym) : -1;
            if ((s >= 0 && symbol_after_node(g, (size_t)s)) != late)
                continue;
            if (s >= 0)
                hd_buf_printf(b, "    odims[%ld] = rtd[%d];\n", at + k, s);
            else
                hd_buf_printf(b, "    odims[%ld] = %" PRId64 ";\n", at + k, v->dims[k].size);
        }
    }
}

static void emit_desc_tensors(const ir_graph *g, const int *ids, size_t n, const char *what, hd_buf *b)
{
    for (size_t i = 0; i < n; i++) {
        const ir_value *v = &g->values[ids[i]];
        if (v->rank == 0)
            continue;
        hd_buf_printf(b, "static const int64_t %s%zu_dims[] = {", what, i);
        for (int k = 0; k < v->rank; k++) /* -1: unbounded (hodu_abi.h) */
            hd_buf_printf(b, "%s%" PRId64, k ? ", " : "", v->dims[k].unbounded ? -1 : v->dims[k].size);
        hd_buf_puts(b, "};\n");
        if (ir_value_has_data_dep(v) || ir_value_has_rt(v)) {
            /* a data-dependent dim may be anything from 0, a run-time dim
             * anything in its range */
            hd_buf_printf(b, "static const int64_t %s%zu_min_dims[] = {", what, i);
            for (int k = 0; k < v->rank; k++) {
                int64_t lo = v->dims[k].data_dep ? 0 : v->dims[k].size, hi;
                if (v->dims[k].rt)
                    ir_graph_symbol_range(g, v->dims[k].sym, &lo, &hi);
                hd_buf_printf(b, "%s%" PRId64, k ? ", " : "", lo);
            }
            hd_buf_puts(b, "};\n");
        }
        if (ir_value_has_rt(v)) {
            /* names of the dims a caller chooses; one that a node decides
             * when the model runs (a data symbol) is plain data-dependent */
            hd_buf_printf(b, "static const char *const %s%zu_dim_names[] = {", what, i);
            for (int k = 0; k < v->rank; k++) {
                hd_buf_puts(b, k ? ", " : "");
                if (v->dims[k].rt && !symbol_after_node(g, (size_t)em_rt_index(g, v->dims[k].sym)))
                    put_c_string(b, v->dims[k].sym);
                else
                    hd_buf_puts(b, "NULL");
            }
            hd_buf_puts(b, "};\n");
        }
    }
    hd_buf_printf(b, "static const hodu_tensor_desc %s_desc[] = {\n", what);
    for (size_t i = 0; i < n; i++) {
        const ir_value *v = &g->values[ids[i]];
        hd_buf_puts(b, "    {");
        put_c_string(b, v->name);
        hd_buf_puts(b, ", ");
        put_dtype(b, v->dtype);
        if (v->rank == 0)
            hd_buf_puts(b, ", 0, NULL, NULL, NULL},\n");
        else if (ir_value_has_rt(v))
            hd_buf_printf(b, ", %d, %s%zu_dims, %s%zu_min_dims, %s%zu_dim_names},\n", v->rank, what, i, what, i, what,
                          i);
        else if (ir_value_has_data_dep(v))
            hd_buf_printf(b, ", %d, %s%zu_dims, %s%zu_min_dims, NULL},\n", v->rank, what, i, what, i);
        else
            hd_buf_printf(b, ", %d, %s%zu_dims, NULL, NULL},\n", v->rank, what, i);
    }
    if (n == 0)
        hd_buf_puts(b, "    {NULL, 0, 0, NULL, NULL, NULL}\n");
    hd_buf_puts(b, "};\n");
}

/* The model's sequence and optional inputs (outputs) as hodu_value_desc
 * entries "inputs_values" ("outputs_values"): each one's tensors must be
 * consecutive among the graph's.  Returns how many, or -1 after
 * reporting. */
static long emit_desc_values(const ir_graph *g, bool outputs, hd_buf *b, hd_diag *d)
{
    const int *list = outputs ? g->outputs : g->inputs;
    size_t n_list = outputs ? g->n_outputs : g->n_inputs;
    long count = 0;
    hd_buf_printf(b, "static const hodu_value_desc %s_values[] = {\n", outputs ? "outputs" : "inputs");
    for (size_t i = 0; i < g->n_io_values; i++) {
        const ir_io_value *e = &g->io_values[i];
        if (e->is_output != outputs)
            continue;
        size_t first = 0;
        while (e->n_items && first < n_list && list[first] != e->items[0])
            first++;
        for (size_t k = 0; k < e->n_items; k++)
            if (first + k >= n_list || list[first + k] != e->items[k]) {
                hd_error(d,
                         "%s '%s': its tensors are no longer %s of the model in order (bound with "
                         "--const-input?); not supported",
                         outputs ? "output" : "input", e->name, outputs ? "outputs" : "inputs");
                return -1;
            }
        hd_buf_puts(b, "    {");
        put_c_string(b, e->name);
        hd_buf_printf(b, ", %d, %d, %zuu, %zuu},\n", e->kind, e->present ? 1 : 0, e->n_items ? first : 0, e->n_items);
        count++;
    }
    if (count == 0)
        hd_buf_puts(b, "    {NULL, 0, 0, 0u, 0u}\n");
    hd_buf_puts(b, "};\n");
    return count;
}

/* --- the weight blob ------------------------------------------------------
 * The planned constants a lowering reads as they are, then the derived
 * constants lowerings add (em_blob), each 64-byte aligned. */
struct em_blobs {
    hd_buf data;
    uint64_t base;   /* blob offset of data[0] */
    int n_subgraphs; /* subgraph functions written so far */
};

/* A step's op for profiles: "Conv", "hodu.ConvBlocked", and for a node
 * that stands for several, its members ("MatMul+Add+Relu", the first
 * NATIVE_MAX_STEP_OPS of them). */
enum { NATIVE_MAX_STEP_NAME = 160, NATIVE_MAX_STEP_OPS = 4 };
static void put_step_op(const ir_node *n, hd_buf *b)
{
    const ir_graph *body = n->body;
    size_t shown = 0;
    for (size_t k = 0; body && k < body->n_nodes; k++) {
        if (body->nodes[k].dead)
            continue;
        if (shown++ == NATIVE_MAX_STEP_OPS) {
            hd_buf_puts(b, "+...");
            break;
        }
        if (shown > 1)
            hd_buf_putc(b, '+');
        put_step_op(&body->nodes[k], b);
    }
    if (shown)
        return;
    const op_def *def = op_get(n->op);
    hd_buf_printf(b, "%s%s%s", def->domain, def->domain[0] ? "." : "", def->name);
}

/* The node's FLOP estimate; 0 when a run-time or data-dependent dim
 * decides its size (the estimate would be the bound's). */
static uint64_t step_flops(const ir_graph *g, int node)
{
    const ir_node *n = &g->nodes[node];
    for (size_t j = 0; j < n->n_inputs; j++)
        if (n->inputs[j] >= 0 && !ir_value_is_fixed(&g->values[n->inputs[j]]))
            return 0;
    for (size_t j = 0; j < n->n_outputs; j++)
        if (n->outputs[j] >= 0 && !ir_value_is_fixed(&g->values[n->outputs[j]]))
            return 0;
    return op_node_flops(g, node);
}

/* The run's steps for hodu_model_desc.steps: node name and op, as
 * escaped literals (a name is the model's text). */
static void emit_desc_steps(const ir_graph *g, const mem_plan *plan, hd_buf *b)
{
    hd_buf_puts(b, "static const hodu_step_desc steps[] = {\n");
    for (size_t s = 0; s < plan->n_schedule; s++) {
        const ir_node *n = &g->nodes[plan->schedule[s]];
        /* a label: the first NATIVE_MAX_STEP_NAME bytes do */
        char name[NATIVE_MAX_STEP_NAME + 1];
        snprintf(name, sizeof name, "%s", n->name ? n->name : "");
        hd_buf_puts(b, "    {");
        put_c_string(b, name);
        hd_buf_puts(b, ", ");
        hd_buf op;
        hd_buf_init(&op);
        put_step_op(n, &op);
        put_c_string(b, op.data);
        hd_buf_free(&op);
        hd_buf_printf(b, ", %" PRIu64 "u},\n", step_flops(g, plan->schedule[s]));
    }
    hd_buf_puts(b, plan->n_schedule ? "};\n" : "    {NULL, NULL, 0}\n};\n");
}

/* Appends data to the blob, 64-byte aligned; returns its offset in it. */
static uint64_t blob_append(struct em_blobs *b, const void *data, size_t nbytes)
{
    while (b->data.len % 64)
        hd_buf_putc(&b->data, 0);
    uint64_t off = b->base + b->data.len;
    hd_buf_write(&b->data, data, nbytes);
    return off;
}

em_expr em_blob(op_emit *e, const void *data, size_t nbytes)
{
    uint64_t off = blob_append(e->blobs, data, nbytes);
    em_expr r;
    snprintf(r.s, sizeof r.s, "(const float *)(hodu_weights + %" PRIu64 ")", off);
    return r;
}

typedef struct weight_at {
    uint64_t offset;
    int value;
} weight_at;

static int cmp_weight_at(const void *a, const void *b)
{
    uint64_t x = ((const weight_at *)a)->offset, y = ((const weight_at *)b)->offset;
    return x < y ? -1 : x > y;
}

/* The plan with the constants nobody reads as they are (every reader packs
 * them: native_lowering.packs) left out of the blob and the rest closed
 * up; *slots receives the new slot array (the caller frees it). */
static mem_plan plan_kept_weights(const ir_graph *g, const mem_plan *plan, mem_slot **slots)
{
    size_t nv = g->n_values ? g->n_values : 1;
    bool *raw = hd_xcalloc(nv, sizeof(bool));
    for (size_t s = 0; s < plan->n_schedule; s++) {
        int node = plan->schedule[s];
        const ir_node *n = &g->nodes[node];
        const native_lowering *low = native_lowering_of(n->op);
        op_rt_view view;
        bool sliced = native_rt_enter(g, node, &view); /* its lowering sees the slice */
        for (size_t k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0 && (n->rt_general || !(low && low->packs && low->packs(g, node, k))))
                raw[n->inputs[k]] = true;
        if (sliced)
            op_rt_view_leave(&view);
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        raw[g->outputs[i]] = true;
    *slots = hd_xmalloc(nv * sizeof(mem_slot));
    memcpy(*slots, plan->slots, g->n_values * sizeof(mem_slot));
    weight_at *order = hd_xmalloc(nv * sizeof(weight_at));
    size_t n = 0;
    for (size_t v = 0; v < g->n_values; v++)
        if (plan->slots[v].place == MEM_WEIGHTS) {
            if (raw[v])
                order[n++] = (weight_at){plan->slots[v].offset, (int)v};
            else
                (*slots)[v] = (mem_slot){MEM_NONE, 0, 0};
        }
    qsort(order, n, sizeof(weight_at), cmp_weight_at);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        (*slots)[order[i].value].offset = at;
        at += (g->values[order[i].value].nbytes + 63) & ~(uint64_t)63;
    }
    mem_plan kept = *plan;
    kept.slots = *slots;
    kept.weights_bytes = at;
    free(order);
    free(raw);
    return kept;
}

bool native_emit(const ir_graph *g, const mem_plan *plan, backend_artifact *out, hd_diag *d)
{
    memset(out, 0, sizeof(*out));
    hd_buf_init(&out->source);
    hd_buf fns, decls, calls;
    hd_buf_init(&fns);
    hd_buf_init(&decls);
    hd_buf_init(&calls);
    run_names names;
    node_checks checks = {NULL, NULL, 0, graph_has_rt(g)};
    run_names_init(&names, g->n_values);
    mem_slot *kept_slots;
    mem_plan kept = plan_kept_weights(g, plan, &kept_slots);
    plan = &kept;
    struct em_blobs blobs = {.base = plan->weights_bytes};
    hd_buf_init(&blobs.data);
    bool ok = true;
    /* Each step tells a profiling host it starts (hodu_abi.h): one
     * predictable branch per node when nobody listens. */
    for (size_t s = 0; s < plan->n_schedule && ok; s++) {
        hd_buf_printf(&calls, "    if (hd_prof)\n        hd_prof(hd_prof_ctx, %zuu);\n", s);
        ok = emit_node(g, 0, plan, s, &fns, &decls, &calls, &names, &blobs, &checks, d);
    }
    hd_buf_printf(&calls, "    if (hd_prof)\n        hd_prof(hd_prof_ctx, %zuu);\n", plan->n_schedule);
    /* A training step's first parameters go into the blob too. */
    uint64_t *initial_at = hd_xcalloc(g->n_inputs + 1, sizeof(uint64_t));
    bool has_state = false;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        has_state |= v->state_next >= 0;
        if (v->initial && v->nbytes)
            initial_at[i] = blob_append(&blobs, v->initial, v->nbytes) + 1; /* 0: none */
    }
    uint64_t weights_bytes = plan->weights_bytes + blobs.data.len;
    /* Outputs no node wrote directly: constants, inputs, repeated listings. */
    for (size_t i = 0; i < g->n_outputs && ok; i++) {
        int v = g->outputs[i];
        const mem_slot *s = &plan->slots[v];
        if (s->place == MEM_OUTPUT && s->index == i)
            continue;
        const ir_value *val = &g->values[v];
        if (ir_value_has_unbounded(val)) {
            ir_value_error(d, g, v,
                           "output '%s' has a size with no bound (it depends on data) and may be listed only once, "
                           "written by the node that computes it",
                           val->name);
            ok = false;
            break;
        }
        if (ir_value_has_data_dep(val) && !has_data_symbol(val) && output_dims_at(g, v) != output_dims_start(g, i))
            hd_buf_printf(&calls, "    memcpy(odims + %ld, odims + %ld, %d * sizeof(int64_t));\n",
                          output_dims_start(g, i), output_dims_at(g, v), val->rank);
        size_t nbytes = ir_value_nbytes(val);
        if (nbytes == 0)
            continue;
        if (ir_value_has_rt(val)) { /* the bytes this run's dims hold */
            hd_buf_printf(&calls, "    memcpy(out[%zu], %s, (size_t)(", i, value_name(&names, g, plan, v));
            em_rt_elems(g, val, -1, &calls);
            hd_buf_printf(&calls, ") * %zu);\n", ir_dtype_size(val->dtype));
            continue;
        }
        hd_buf_printf(&calls, "    memcpy(out[%zu], %s, %zu);\n", i, value_name(&names, g, plan, v), nbytes);
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
    if (weights_bytes)
        hd_buf_puts(b, "extern const unsigned char hodu_weights[] HD_HIDDEN __attribute__((aligned(64)));\n");
    else
        hd_buf_puts(b, "static const unsigned char hodu_weights[64] __attribute__((aligned(64)));\n");
    hd_buf_write(b, decls.data ? decls.data : "", decls.len);
    hd_buf_write(b, fns.data ? fns.data : "", fns.len);
    hd_buf_puts(b, "\nstatic int hodu_run(void *workspace, const void *const *in, const int64_t *input_dims,\n"
                   "                    void *const *out, int64_t *output_dims, const hodu_exec *exec)\n{\n"
                   "    unsigned char *arena = (unsigned char *)workspace;\n"
                   "    (void)arena;\n    (void)in;\n    (void)input_dims;\n"
                   "    (void)out;\n    (void)exec;\n    (void)hodu_weights;\n");
    hd_buf_puts(b, "    void (*const hd_prof)(void *, uint32_t) = exec ? exec->profile_step : NULL;\n"
                   "    void *const hd_prof_ctx = exec ? exec->profile_ctx : NULL;\n");
    put_rt_dims(g, b);
    put_output_dims(g, b);
    hd_buf_write(b, names.decls.data ? names.decls.data : "", names.decls.len);
    hd_buf_puts(b, "    const hd_fpenv fpenv = hd_fpenv_enter();\n");
    hd_buf_write(b, calls.data ? calls.data : "", calls.len);
    put_output_dims_from(g, true, b);
    hd_buf_puts(b, "    hd_fpenv_leave(fpenv);\n    return 0;\n}\n\n");
    emit_desc_tensors(g, g->inputs, g->n_inputs, "inputs", b);
    emit_desc_tensors(g, g->outputs, g->n_outputs, "outputs", b);
    /* "node 'NAME' (OP)" per check: the name as an escaped literal */
    hd_buf_puts(b, "static const char *const checks[] = {\n");
    if (graph_has_rt(g))
        hd_buf_puts(b, "    \"the inputs' run-time dims\",\n");
    for (size_t k = 0; k < checks.n; k++) {
        const ir_node *n = &g->nodes[checks.node[k]];
        char *what = checks.why[k] ? hd_xasprintf("node '%s' (%s): %s", n->name ? n->name : "", op_get(n->op)->name,
                                                  checks.why[k])
                                   : hd_xasprintf("node '%s' (%s)", n->name ? n->name : "", op_get(n->op)->name);
        hd_buf_puts(b, "    ");
        put_c_string(b, what);
        hd_buf_puts(b, ",\n");
        free(what);
    }
    hd_buf_puts(b, checks.n ? "};\n" : "    NULL\n};\n");
    emit_desc_steps(g, plan, b);
    if (has_state) { /* output indices of the next values, and the first values */
        hd_buf_puts(b, "static const int32_t state_next[] = {");
        for (size_t i = 0; i < g->n_inputs; i++) {
            int nx = g->values[g->inputs[i]].state_next;
            long at = -1;
            for (size_t k = 0; nx >= 0 && k < g->n_outputs && at < 0; k++)
                if (g->outputs[k] == nx)
                    at = (long)k;
            hd_buf_printf(b, "%s%ld", i ? ", " : "", at);
        }
        hd_buf_puts(b, "};\nstatic const void *const initial[] = {");
        for (size_t i = 0; i < g->n_inputs; i++)
            if (initial_at[i])
                hd_buf_printf(b, "%shodu_weights + %" PRIu64, i ? ", " : "", initial_at[i] - 1);
            else
                hd_buf_printf(b, "%sNULL", i ? ", " : "");
        hd_buf_puts(b, "};\n");
    }
    long n_input_values = emit_desc_values(g, false, b, d), n_output_values = emit_desc_values(g, true, b, d);
    if (n_input_values < 0 || n_output_values < 0)
        ok = false;
    hd_buf_puts(b, "\nstatic const hodu_model_desc model_desc = {\n    HODU_ABI_VERSION,\n"
                   "    (uint32_t)sizeof(hodu_model_desc),\n    ");
    put_c_string(b, g->name);
    hd_buf_printf(
        b,
        ",\n    \"hodu " HODU_VERSION "\",\n    %zu,\n    %zu,\n    inputs_desc,\n    outputs_desc,\n"
        "    %" PRIu64 "u,\n    %" PRIu64 "u,\n    hodu_run,\n    %zuu,\n    checks,\n    %zuu,\n    steps,\n    %s,\n"
        "    %s,\n    %ldu,\n    %ldu,\n    inputs_values,\n    outputs_values,\n};\n\n",
        g->n_inputs, g->n_outputs, plan->arena_bytes, plan->worker_bytes, checks.n + graph_has_rt(g), plan->n_schedule,
        has_state ? "state_next" : "NULL", has_state ? "initial" : "NULL", n_input_values, n_output_values);
    free(initial_at);
    hd_buf_puts(b, "HD_EXPORT const hodu_model_desc *hodu_model_get_desc(void);\n"
                   "const hodu_model_desc *hodu_model_get_desc(void) { return &model_desc; }\n");

    /* The blob: every kept constant at its offset, zero padding between,
     * then the derived ones. */
    out->weights_bytes = weights_bytes;
    out->weights = hd_xcalloc(weights_bytes ? weights_bytes : 1, 1);
    for (size_t v = 0; v < g->n_values; v++)
        if (plan->slots[v].place == MEM_WEIGHTS && g->values[v].nbytes)
            memcpy(out->weights + plan->slots[v].offset, g->values[v].data, g->values[v].nbytes);
    if (blobs.data.len)
        memcpy(out->weights + blobs.base, blobs.data.data, blobs.data.len);
    hd_buf_free(&blobs.data);
    free(kept_slots);

    free(checks.node);
    free(checks.why);
    hd_buf_free(&fns);
    hd_buf_free(&decls);
    hd_buf_free(&calls);
    run_names_free(&names, g->n_values);
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

/* --- subgraphs (control flow) ---------------------------------------------
 *
 * A control-flow node's lowering (emit_control.c) has each of its subgraphs
 * written as a file-scope function
 *
 *   static int sS_run(unsigned char *arena, const void *const *in,
 *                     void *const *out, const hodu_exec *exec,
 *                     unsigned char *workers)
 *
 * that runs the subgraph's nodes as hodu_run runs the model's: its inputs
 * and outputs are the pointers the caller passes, its intermediates live in
 * `arena` (planned for the subgraph alone; the node's scratch holds it), its
 * constants are appended to the weight blob, each worker's scratch is at
 * `workers` (the node's own), and a node that fails makes it return 1. */
bool native_emit_subgraph(op_emit *e, const ir_graph *sub, const mem_plan *plan, int *fn)
{
    struct em_blobs *blobs = e->blobs;
    int id = ++blobs->n_subgraphs;
    *fn = id;
    /* The subgraph's constants go where the lowerings' derived ones go. */
    mem_slot *slots = hd_xmalloc((sub->n_values ? sub->n_values : 1) * sizeof(mem_slot));
    memcpy(slots, plan->slots, sub->n_values * sizeof(mem_slot));
    for (size_t v = 0; v < sub->n_values; v++)
        if (slots[v].place == MEM_WEIGHTS) {
            while (blobs->data.len % 64)
                hd_buf_putc(&blobs->data, 0);
            slots[v].offset = blobs->base + blobs->data.len;
            hd_buf_write(&blobs->data, sub->values[v].data, sub->values[v].nbytes);
        }
    mem_plan p = *plan;
    p.slots = slots;
    hd_buf fns, calls;
    hd_buf_init(&fns);
    hd_buf_init(&calls);
    run_names names;
    run_names_init(&names, sub->n_values);
    bool ok = true;
    for (size_t s = 0; s < p.n_schedule && ok; s++) {
        ok = emit_node(sub, id, &p, s, &fns, e->decls, &calls, &names, blobs, NULL, e->d);
    }
    for (size_t i = 0; i < sub->n_outputs && ok; i++) {
        int v = sub->outputs[i];
        const mem_slot *s = &p.slots[v];
        if (s->place == MEM_OUTPUT && s->index == i)
            continue;
        const ir_value *val = &sub->values[v];
        if (ir_value_has_rt(val)) { /* this run's bytes */
            hd_buf elems;
            hd_buf_init(&elems);
            em_rt_elems(sub, val, -1, &elems);
            hd_buf_printf(&calls, "    memcpy(out[%zu], %s, (size_t)(%s) * %zu);\n", i, value_name(&names, sub, &p, v),
                          elems.data, ir_dtype_size(val->dtype));
            hd_buf_free(&elems);
        } else if (ir_value_nbytes(val)) {
            hd_buf_printf(&calls, "    memcpy(out[%zu], %s, %zu);\n", i, value_name(&names, sub, &p, v),
                          (size_t)ir_value_nbytes(val));
        }
    }
    if (ok) {
        hd_buf_write(e->decls, fns.data ? fns.data : "", fns.len);
        hd_buf_printf(e->decls,
                      "\n/* subgraph function %d */\nstatic int s%d_run(unsigned char *arena, const void *const *in, "
                      "void *const *out, const hodu_exec *exec, unsigned char *workers, const int64_t *prtd)\n{\n"
                      "    (void)arena;\n    (void)in;\n    (void)out;\n    (void)exec;\n    (void)workers;\n"
                      "    (void)prtd;\n",
                      id, id);
        /* Its run-time dims are the caller's (cf_share_symbol), by name. */
        hd_buf_printf(e->decls, "    int64_t rtd[%zu] = {0};\n    (void)rtd;\n", sub->n_symbols ? sub->n_symbols : 1);
        for (size_t k = 0; k < sub->n_symbols; k++) {
            int at = em_rt_index(e->g, sub->symbols[k]);
            int64_t lo, hi;
            if (at >= 0 && ir_graph_symbol_range(sub, sub->symbols[k], &lo, &hi))
                hd_buf_printf(e->decls, "    rtd[%zu] = prtd[%d];\n", k, at);
        }
        for (size_t k = 0; k < sub->n_symbols; k++)
            if (ir_graph_symbol_poly(sub, k) && !symbol_after_node(sub, k))
                put_derived_symbol(sub, k, "    ", e->decls);
        hd_buf_write(e->decls, names.decls.data ? names.decls.data : "", names.decls.len);
        hd_buf_write(e->decls, calls.data ? calls.data : "", calls.len);
        hd_buf_puts(e->decls, "    return 0;\n}\n");
    }
    run_names_free(&names, sub->n_values);
    hd_buf_free(&fns);
    hd_buf_free(&calls);
    free(slots);
    return ok;
}
