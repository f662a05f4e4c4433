/*
 * driver/header.c - `hodu --build --emit-header FILE.h`: a C header that
 * types a compiled model's inputs and outputs, so that an array of the
 * wrong shape or element type is a compile-time diagnostic in the host.
 *
 * For a model m with input x f32[1,784] and output y f32[1,10]:
 *
 *     static inline hodu_status m_run(hodu_instance *inst, float (*x)[1][784], float (*y)[1][10],
 *                                     hodu_error *err);
 *
 * Every tensor is a pointer to the whole array, so both the element type and
 * every dim take part in the pointer's type.  A run-time dim (--dim B=1..8)
 * becomes an int64_t parameter before the tensors, and an input that has
 * one a pointer to a variably modified array (float (*x)[B][784]).  An
 * output with run-time dims needs room for the largest case (hodu_rt.h), so
 * it is typed at the top of the ranges, which indexes its result correctly
 * when every dim before its last variable one is 1 ([B,10], [1,S,768]).
 * Any other output (data-dependent or unbounded dims, or a layout that the
 * largest array would index wrongly) stays a hodu_tensor the host fills and
 * the run updates, as with hodu_instance_run.  Models without run-time
 * input dims also get structs of the same pointers (variably modified
 * types cannot be members).
 *
 * Names from the model become identifiers: other bytes turn into '_', and
 * C keywords, names the header uses itself and repeats get suffixes, in
 * model order; the original name stays in a comment, escaped.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "driver/driver_impl.h"
#include "hodu.h"
#include "hodu_rt.h"

/* How a tensor appears in the header (see the top of the file). */
typedef enum tensor_form {
    FORM_STATIC,   /* pointer to the whole array */
    FORM_RT_INPUT, /* pointer to a variably modified array */
    FORM_LARGEST,  /* output: pointer to the array at the top of its ranges */
    FORM_TENSOR    /* output: a hodu_tensor the host provides */
} tensor_form;

typedef struct header_tensor {
    const ir_value *v;
    const char *id; /* its identifier (owned by the name table) */
    tensor_form form;
} header_tensor;

/* The identifiers handed out so far. */
typedef struct name_table {
    char **ids;
    size_t n, cap;
    const char *macro_prefix; /* "M_": a parameter named like the header's macros would be replaced */
} name_table;

static const char *const c_keywords[] = {"auto",
                                         "break",
                                         "case",
                                         "char",
                                         "const",
                                         "continue",
                                         "default",
                                         "do",
                                         "double",
                                         "else",
                                         "enum",
                                         "extern",
                                         "float",
                                         "for",
                                         "goto",
                                         "if",
                                         "inline",
                                         "int",
                                         "long",
                                         "register",
                                         "restrict",
                                         "return",
                                         "short",
                                         "signed",
                                         "sizeof",
                                         "static",
                                         "struct",
                                         "switch",
                                         "typedef",
                                         "union",
                                         "unsigned",
                                         "void",
                                         "volatile",
                                         "while",
                                         "_Alignas",
                                         "_Alignof",
                                         "_Atomic",
                                         "_Bool",
                                         "_Complex",
                                         "_Generic",
                                         "_Imaginary",
                                         "_Noreturn",
                                         "_Static_assert",
                                         "_Thread_local",
                                         "alignas",
                                         "alignof",
                                         "bool",
                                         "constexpr",
                                         "false",
                                         "nullptr",
                                         "static_assert",
                                         "thread_local",
                                         "true",
                                         "typeof",
                                         "typeof_unqual",
                                         "asm",
                                         "NULL",
                                         "inst",
                                         "err",
                                         "workspace"};

/* Names a parameter must not take: keywords (C23's too), the run
 * function's own parameters, and names the included headers may define as
 * macros or types (hodu_*, HODU_*, INT8_MAX, ..., *_t). */
static bool reserved_name(const name_table *t, const char *s)
{
    for (size_t i = 0; i < HD_ARRAY_LEN(c_keywords); i++)
        if (strcmp(s, c_keywords[i]) == 0)
            return true;
    static const char *const macro_starts[] = {"hodu_",    "HODU_",       "INT",    "UINT", "SIZE_",
                                               "PTRDIFF_", "SIG_ATOMIC_", "WCHAR_", "WINT_"};
    for (size_t i = 0; i < HD_ARRAY_LEN(macro_starts); i++)
        if (strncmp(s, macro_starts[i], strlen(macro_starts[i])) == 0)
            return true;
    size_t n = strlen(s);
    return (n >= 2 && strcmp(s + n - 2, "_t") == 0) || strncmp(s, t->macro_prefix, strlen(t->macro_prefix)) == 0;
}

/* ASCII only, whatever the locale. */
static bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '_'; }

/* `name` as an identifier: every other byte becomes '_', and a name that
 * would be empty, start with a digit or be reserved at every scope (_X,
 * __x) gets a "t" in front. */
static char *sanitize(const char *name)
{
    hd_buf b;
    hd_buf_init(&b);
    if (!name[0] || (name[0] >= '0' && name[0] <= '9') ||
        (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z') || !ident_char(name[1]))))
        hd_buf_puts(&b, name[0] == '_' ? "t" : "t_");
    for (const char *p = name; *p; p++)
        hd_buf_putc(&b, ident_char(*p) ? *p : '_');
    return hd_buf_take(&b);
}

/* A fresh identifier for `name`: sanitized, "_" after a reserved one, then
 * "_2", "_3", ... while it is taken. */
static const char *unique_id(name_table *t, const char *name)
{
    char *base = sanitize(name);
    if (reserved_name(t, base)) {
        char *r = hd_xasprintf("%s_", base);
        free(base);
        base = r;
    }
    char *id = hd_xstrdup(base);
    for (int k = 2;; k++) {
        bool taken = false;
        for (size_t i = 0; i < t->n && !taken; i++)
            taken = strcmp(t->ids[i], id) == 0;
        if (!taken)
            break;
        free(id);
        id = hd_xasprintf("%s_%d", base, k);
    }
    free(base);
    HD_PUSH(t->ids, t->n, t->cap, id);
    return id;
}

/* Model text inside a C comment: printable ASCII as it is, except the
 * bytes that could end the comment or splice lines ('*', '\\', '?'), which
 * are written \xNN like everything else. */
static void put_comment_text(hd_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '*' && *p != '\\' && *p != '?')
            hd_buf_putc(b, (char)*p);
        else
            hd_buf_printf(b, "\\x%02x", *p);
    }
}

/* The C element type of a dtype (NULL: none); *note says what its bytes
 * hold when the type alone does not. */
static const char *c_type(hodu_dtype t, const char **note)
{
    *note = t == HODU_DTYPE_BOOL    ? "one byte per element, 0 or 1"
            : t == HODU_DTYPE_F16   ? "IEEE half-precision bits"
            : t == HODU_DTYPE_BF16  ? "bfloat16 bits"
            : ir_dtype_is_narrow(t) ? "one element per byte, its code in the low bits"
                                    : NULL;
    return ir_dtype_c_type(t);
}

/* A dim as the header's C writes it: a number, the macro of a free
 * run-time dim, or the expression of a derived one over the parameters. */
static void put_dim(hd_buf *b, const ir_graph *g, const ir_dim *dim, bool largest, const char *const *syms,
                    const char *const *sym_ids, size_t n_syms, const char *macro_prefix)
{
    if (!dim->rt) {
        hd_buf_printf(b, "%" PRId64, dim->size);
        return;
    }
    if (largest) { /* the top of the range: a free dim's macro, else the number */
        for (size_t i = 0; i < n_syms; i++)
            if (strcmp(syms[i], dim->sym) == 0) {
                hd_buf_printf(b, "%s%s_MAX", macro_prefix, sym_ids[i]);
                return;
            }
        hd_buf_printf(b, "%" PRId64, dim->size);
        return;
    }
    ir_poly p = ir_dim_poly(g, dim);
    bool bare = p.n == 1 && p.t[0].coef == 1 && p.t[0].n == 1;
    hd_buf_puts(b, bare ? "" : "(");
    for (int t = 0; t < p.n; t++) {
        const ir_term *term = &p.t[t];
        /* the magnitude as unsigned, so that INT64_MIN prints too */
        uint64_t mag = term->coef < 0 ? 0 - (uint64_t)term->coef : (uint64_t)term->coef;
        hd_buf_puts(b, t == 0 ? (term->coef < 0 ? "-" : "") : (term->coef < 0 ? " - " : " + "));
        bool first = true;
        if (mag != 1 || term->n == 0) {
            hd_buf_printf(b, "%" PRIu64, mag);
            first = false;
        }
        for (int f = 0; f < term->n; f++) {
            const char *id = term->f[f];
            for (size_t i = 0; i < n_syms; i++)
                if (strcmp(syms[i], term->f[f]) == 0)
                    id = sym_ids[i];
            hd_buf_printf(b, "%s%s", first ? "" : " * ", id);
            first = false;
        }
    }
    if (p.n == 0)
        hd_buf_puts(b, "0");
    hd_buf_puts(b, bare ? "" : ")");
}

/* "float32[B=1..8,784]": the tensor much as --inspect of the library shows it. */
static void put_shape_comment(hd_buf *b, const ir_graph *g, const ir_value *v)
{
    hd_buf_printf(b, "%s[", hodu_dtype_name(v->dtype));
    for (int k = 0; k < v->rank; k++) {
        const ir_dim *dim = &v->dims[k];
        hd_buf_puts(b, k ? "," : "");
        int64_t lo = 0, hi = 0;
        if (dim->rt && ir_graph_symbol_is_data(g, dim->sym)) {
            hd_buf_printf(b, "0..%" PRId64, dim->size);
        } else if (dim->rt && ir_graph_symbol_range(g, dim->sym, &lo, &hi)) {
            put_comment_text(b, dim->sym);
            hd_buf_printf(b, "=%" PRId64 "..%" PRId64, lo, hi);
        } else if (dim->unbounded) {
            hd_buf_puts(b, "0..unbounded");
        } else if (dim->data_dep) {
            hd_buf_printf(b, "0..%" PRId64, dim->size);
        } else {
            hd_buf_printf(b, "%" PRId64, dim->size);
        }
    }
    hd_buf_puts(b, "]");
}

/* True when the array at the top of v's ranges indexes any smaller result
 * right: the result is dense row-major at the start of the buffer, which
 * matches only while no dim of size above 1 comes before a variable one. */
static bool largest_indexes_right(const ir_value *v)
{
    int last = -1;
    for (int k = 0; k < v->rank; k++)
        if (v->dims[k].rt || v->dims[k].data_dep)
            last = k;
    for (int k = 0; k < last; k++)
        if (v->dims[k].size > 1)
            return false;
    return true;
}

static bool classify(const ir_graph *g, const ir_value *v, bool input, tensor_form *form, hd_diag *d)
{
    const char *note;
    const char *what = input ? "input" : "output";
    if (!c_type(v->dtype, &note)) {
        hd_error(d, "--emit-header: %s '%s' has dtype %s, which has no C type", what, v->name, ir_dtype_name(v->dtype));
        return false;
    }
    if (v->rank < 0) {
        hd_error(d, "--emit-header: %s '%s' has no known rank", what, v->name);
        return false;
    }
    bool rt = false, data = false;
    for (int k = 0; k < v->rank; k++) {
        const ir_dim *dim = &v->dims[k];
        /* a size a node decides when the model runs is reported, never
         * chosen by the host */
        bool decided = dim->data_dep || dim->unbounded || (dim->rt && ir_graph_symbol_is_data(g, dim->sym));
        rt |= dim->rt && !decided;
        data |= decided;
        if (dim->size < 0 && !dim->unbounded) {
            hd_error(d, "--emit-header: %s '%s' dim %d has no size; bind it with --dim or --input-shape", what, v->name,
                     k);
            return false;
        }
    }
    if (input)
        *form = rt ? FORM_RT_INPUT : FORM_STATIC;
    else if (data || (rt && !largest_indexes_right(v)))
        *form = FORM_TENSOR;
    else
        *form = rt ? FORM_LARGEST : FORM_STATIC;
    return true;
}

typedef struct header_ctx {
    const ir_graph *g;
    const char **syms, **sym_ids; /* the free run-time dims the inputs use, in order */
    size_t n_syms;
    const char *prefix, *macro_prefix;
} header_ctx;

/* "float (*x)[B][784]", "hodu_tensor *z".  Inputs are not const: C before
 * C23 does not let a pointer to an array of float convert to one to an
 * array of const float, and hosts' arrays are rarely const. */
static void put_declarator(hd_buf *b, const header_ctx *c, const header_tensor *t)
{
    const char *note;
    if (t->form == FORM_TENSOR) {
        hd_buf_printf(b, "hodu_tensor *%s", t->id);
        return;
    }
    hd_buf_printf(b, "%s ", c_type(t->v->dtype, &note));
    if (t->v->rank == 0) {
        hd_buf_printf(b, "*%s", t->id);
        return;
    }
    hd_buf_printf(b, "(*%s)", t->id);
    for (int k = 0; k < t->v->rank; k++) {
        hd_buf_puts(b, "[");
        put_dim(b, c->g, &t->v->dims[k], t->form == FORM_LARGEST, c->syms, c->sym_ids, c->n_syms, c->macro_prefix);
        hd_buf_puts(b, "]");
    }
}

/* What a tensor is and how to pass it: its own comment, or (`inner`) lines
 * of the comment around them. */
static void put_tensor_comment(hd_buf *b, const header_ctx *c, const header_tensor *t, const char *indent, bool inner)
{
    const char *note;
    c_type(t->v->dtype, &note);
    char *cont = inner ? hd_xasprintf("%s  ", indent) : hd_xasprintf("%s * ", indent);
    hd_buf_printf(b, "%s%s\"", indent, inner ? "" : "/* ");
    put_comment_text(b, t->v->name);
    hd_buf_puts(b, "\": ");
    put_shape_comment(b, c->g, t->v);
    if (note)
        hd_buf_printf(b, " (%s)", note);
    if (t->form == FORM_LARGEST)
        hd_buf_printf(b, ";\n%sroom for the largest sizes, which indexes a result of any size in range", cont);
    if (t->form == FORM_TENSOR) {
        hd_buf_printf(b,
                      ";\n%sits size is known after the run only: a hodu_tensor as hodu_instance_run takes it"
                      "\n%s(dtype, rank, room for the largest shape); the run sets its dims",
                      cont, cont);
        if (ir_value_has_unbounded(t->v))
            hd_buf_printf(b,
                          ", data and nbytes\n%s(the instance's buffer: a dim without bound), and %s_run its dtype "
                          "and rank",
                          cont, c->prefix);
    }
    hd_buf_puts(b, inner ? "\n" : " */\n");
    free(cont);
}

/* HODU_DTYPE_F32 for HODU_DTYPE_F32. */
static const char *dtype_enum(hodu_dtype t)
{
#define DT(x)                                                                                                          \
    {                                                                                                                  \
        HODU_DTYPE_##x, "HODU_DTYPE_" #x                                                                               \
    }
    static const struct {
        hodu_dtype t;
        const char *name;
    } names[] = {DT(F32),    DT(U8),         DT(I8),  DT(U16), DT(I16),    DT(I32),    DT(I64),      DT(STRING),
                 DT(BOOL),   DT(F16),        DT(F64), DT(U32), DT(U64),    DT(BF16),   DT(F8E4M3FN), DT(F8E4M3FNUZ),
                 DT(F8E5M2), DT(F8E5M2FNUZ), DT(U4),  DT(I4),  DT(F4E2M1), DT(F8E8M0), DT(U2),       DT(I2)};
#undef DT
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].t == t)
            return names[i].name;
    return "HODU_DTYPE_UNDEFINED";
}

/* The hodu_tensor that hands tensor t to hodu_instance_run. */
static void put_tensor_init(hd_buf *b, const header_ctx *c, const header_tensor *t)
{
    if (t->form == FORM_TENSOR) {
        hd_buf_printf(b, "        *%s,\n", t->id);
        return;
    }
    hd_buf_printf(b, "        {.dtype = %s, .rank = %d, .dims = {", dtype_enum(t->v->dtype), t->v->rank);
    for (int k = 0; k < t->v->rank; k++) {
        hd_buf_puts(b, k ? ", " : "");
        put_dim(b, c->g, &t->v->dims[k], t->form == FORM_LARGEST, c->syms, c->sym_ids, c->n_syms, c->macro_prefix);
    }
    if (t->v->rank == 0)
        hd_buf_puts(b, "0");
    hd_buf_printf(b, "}, .data = %s, .nbytes = sizeof(*%s)},\n", t->id, t->id);
}

/* A bare-metal run function's end: the model's entry point, called with
 * the tensors in descriptor order, the described dims and no threads. */
static void put_bare_body(hd_buf *b, const char *prefix, const header_tensor *ts, size_t ni, size_t no)
{
    hd_buf_puts(b, ")\n{\n");
    if (ni) {
        hd_buf_printf(b, "    const void *const hodu_in[%zu] = {", ni);
        for (size_t i = 0; i < ni; i++)
            hd_buf_printf(b, "%s%s", i ? ", " : "", ts[i].id);
        hd_buf_puts(b, "};\n");
    }
    if (no) {
        hd_buf_printf(b, "    void *const hodu_out[%zu] = {", no);
        for (size_t i = ni; i < ni + no; i++)
            hd_buf_printf(b, "%s%s", i > ni ? ", " : "", ts[i].id);
        hd_buf_puts(b, "};\n");
    }
    hd_buf_printf(b, "    return %s_model_get_desc()->run(workspace, %s, NULL, %s, NULL, NULL);\n}\n", prefix,
                  ni ? "hodu_in" : "NULL", no ? "hodu_out" : "NULL");
}

static char *file_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return hd_xstrdup(slash ? slash + 1 : path);
}

static bool valid_prefix(const char *s)
{
    if (!ident_start(s[0]))
        return false;
    for (const char *p = s; *p; p++)
        if (!ident_char(*p))
            return false;
    for (size_t i = 0; i < HD_ARRAY_LEN(c_keywords); i++)
        if (strcmp(s, c_keywords[i]) == 0)
            return false;
    return strncmp(s, "hodu_", 5) != 0;
}

char *driver_header_prefix(const header_spec *h, hd_diag *d)
{
    if (h->prefix) {
        if (!valid_prefix(h->prefix)) {
            hd_error(d,
                     "--header-prefix '%s': expected a C identifier (a letter, then letters, digits or '_'), not "
                     "a keyword, not starting with hodu_",
                     h->prefix);
            return NULL;
        }
        return hd_xstrdup(h->prefix);
    }
    char *stem = file_base(h->path);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    char *s = sanitize(stem);
    char *prefix = valid_prefix(s) ? hd_xstrdup(s) : hd_xasprintf("model_%s", s);
    free(s);
    free(stem);
    return prefix;
}

char *driver_header_text(const ir_graph *g, const header_spec *h, hd_diag *d)
{
    char *prefix = driver_header_prefix(h, d);
    if (!prefix)
        return NULL;
    char *base = file_base(h->path);
    char *macro_prefix = hd_xasprintf("%s_", prefix);
    for (char *p = macro_prefix; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    char *guard = sanitize(base);
    for (char *p = guard; *p; p++)
        *p = (char)toupper((unsigned char)*p);

    name_table names = {.macro_prefix = macro_prefix};
    header_ctx c = {.g = g, .prefix = prefix, .macro_prefix = macro_prefix};
    size_t ni = g->n_inputs, no = g->n_outputs;
    header_tensor *ts = hd_xcalloc(ni + no + 1, sizeof(*ts));
    bool ok = true, any_rt_input = false;
    for (size_t i = 0; i < ni + no; i++) {
        ts[i].v = &g->values[i < ni ? g->inputs[i] : g->outputs[i - ni]];
        ok = classify(g, ts[i].v, i < ni, &ts[i].form, d) && ok;
        if (ok && h->bare_target && (ts[i].form != FORM_STATIC || ts[i].v->dtype == HODU_DTYPE_STRING)) {
            /* no libhodu_rt to pass run-time dims or lend an allocator */
            hd_error(d,
                     "--emit-header for bare-metal target %s: %s '%s' %s; bare metal takes fixed shapes (bind "
                     "run-time dims with --dim or --input-shape) and no strings",
                     h->bare_target, i < ni ? "input" : "output", ts[i].v->name,
                     ts[i].v->dtype == HODU_DTYPE_STRING ? "holds strings" : "has a size chosen when it runs");
            ok = false;
        }
        if (ok)
            ts[i].id = unique_id(&names, ts[i].v->name);
        any_rt_input |= ts[i].form == FORM_RT_INPUT;
    }
    /* The free run-time dims, in the order the inputs first use them. */
    size_t max_syms = 1;
    for (size_t i = 0; i < ni; i++)
        max_syms += (size_t)(ts[i].v->rank > 0 ? ts[i].v->rank : 0) * IR_POLY_TERMS * IR_TERM_FACTORS;
    c.syms = hd_xcalloc(max_syms, sizeof(*c.syms));
    c.sym_ids = hd_xcalloc(max_syms, sizeof(*c.sym_ids));
    for (size_t i = 0; ok && i < ni; i++) {
        const ir_value *v = ts[i].v;
        for (int k = 0; k < v->rank; k++) {
            if (!v->dims[k].rt)
                continue;
            ir_poly p = ir_dim_poly(g, &v->dims[k]);
            for (int t = 0; t < p.n; t++)
                for (int f = 0; f < p.t[t].n; f++) {
                    bool seen = false;
                    for (size_t s = 0; s < c.n_syms && !seen; s++)
                        seen = strcmp(c.syms[s], p.t[t].f[f]) == 0;
                    if (seen)
                        continue;
                    c.syms[c.n_syms] = p.t[t].f[f];
                    c.sym_ids[c.n_syms++] = unique_id(&names, p.t[t].f[f]);
                }
        }
    }

    hd_buf b;
    hd_buf_init(&b);
    if (ok) {
        char *model = file_base(h->model);
        hd_buf_puts(&b, "/*\n * ");
        put_comment_text(&b, base);
        hd_buf_printf(&b,
                      " - the typed host interface of a model compiled by Hodu.\n"
                      " * Generated by hodu %s from ",
                      hodu_version());
        put_comment_text(&b, model);
        if (h->bare_target)
            hd_buf_printf(&b,
                          " for %s; do not edit.\n"
                          " *\n"
                          " * %s_run() runs the object built with it: no libhodu_rt, no malloc, no\n"
                          " * threads.  The caller lends the workspace, a static arena of\n"
                          " * %sWORKSPACE_BYTES aligned to %sWORKSPACE_ALIGN, which one run\n"
                          " * at a time owns.\n"
                          " * The object's one global symbol is %s_model_get_desc (the descriptor\n"
                          " * of hodu_abi.h, from hodu's include folder or --emit-c): models built\n"
                          " * with different prefixes link into one firmware image.\n"
                          " * Each tensor is a pointer to the whole array: an array of another shape or\n"
                          " * element type is an incompatible pointer type (build with\n"
                          " * -Werror=incompatible-pointer-types).  Nothing checks dtypes or shapes\n"
                          " * when it runs.\n"
                          " */\n",
                          h->bare_target, prefix, macro_prefix, macro_prefix, prefix);
        else
            hd_buf_printf(&b,
                          "; do not edit.\n"
                          " *\n"
                          " * %s_run() runs an instance (hodu_rt.h) of the library built with it; C99\n"
                          " * or later (variably modified types; not C++).\n"
                          " * Each tensor is a pointer to the whole array: an array of another shape or\n"
                          " * element type is an incompatible pointer type, an error for gcc >= 14 and\n"
                          " * clang >= 16 (older compilers warn: build with\n"
                          " * -Werror=incompatible-pointer-types).  Types of one width share a C type\n"
                          " * (bool and uint8, float16 and uint16); hodu_instance_run still checks every\n"
                          " * dtype and shape when it runs.\n"
                          " */\n",
                          prefix);
        free(model);
        /* bare: <stddef.h> for the NULLs of the run function */
        hd_buf_printf(&b, "#ifndef %s\n#define %s\n\n%s#include <stdint.h>\n\n#include \"%s\"\n\n", guard, guard,
                      h->bare_target ? "#include <stddef.h>\n" : "", h->bare_target ? "hodu_abi.h" : "hodu_rt.h");
        hd_buf_printf(&b, "#define %sNUM_INPUTS  %zu\n#define %sNUM_OUTPUTS %zu\n", macro_prefix, ni, macro_prefix, no);
        if (h->bare_target)
            hd_buf_printf(&b,
                          "/* The workspace one run needs, e.g.\n"
                          " *     static uint8_t arena[%sWORKSPACE_BYTES]\n"
                          " *         __attribute__((aligned(%sWORKSPACE_ALIGN)));\n"
                          " */\n"
                          "#define %sWORKSPACE_BYTES %" PRIu64 "u\n#define %sWORKSPACE_ALIGN HODU_ABI_ALIGN\n"
                          "\nconst hodu_model_desc *%s_model_get_desc(void);\n",
                          macro_prefix, macro_prefix, macro_prefix, h->workspace_bytes ? h->workspace_bytes : 1,
                          macro_prefix, prefix);
        for (size_t s = 0; s < c.n_syms; s++) {
            int64_t lo = 0, hi = 0;
            ir_graph_symbol_range(g, c.syms[s], &lo, &hi);
            hd_buf_puts(&b, "/* run-time dim \"");
            put_comment_text(&b, c.syms[s]);
            hd_buf_printf(
                &b, "\": each run chooses its size */\n#define %s%s_MIN %" PRId64 "\n#define %s%s_MAX %" PRId64 "\n",
                macro_prefix, c.sym_ids[s], lo, macro_prefix, c.sym_ids[s], hi);
        }
        hd_buf_puts(&b, "\n");

        /* the structs, where no member would be variably modified */
        bool structs = !any_rt_input && ni > 0 && no > 0;
        for (int side = 0; structs && side < 2; side++) {
            hd_buf_printf(&b, "typedef struct %s_%s {\n", prefix, side ? "outputs" : "inputs");
            for (size_t i = side ? ni : 0; i < (side ? ni + no : ni); i++) {
                put_tensor_comment(&b, &c, &ts[i], "    ", false);
                hd_buf_puts(&b, "    ");
                put_declarator(&b, &c, &ts[i]);
                hd_buf_puts(&b, ";\n");
            }
            hd_buf_printf(&b, "} %s_%s;\n\n", prefix, side ? "outputs" : "inputs");
        }

        /* the run function, a parameter a line */
        hd_buf_puts(&b, "/* Runs the model once: the inputs, then the outputs, in the model's order.");
        if (h->bare_target) /* bare: static shapes only, so no run-time dims below */
            hd_buf_puts(&b, "\n * Returns 0, or HODU_RUN_INPUT_VALUES + k when check k of the descriptor\n"
                            " * refused the inputs' values.");
        hd_buf_puts(&b, structs && !c.n_syms ? " */\n" : "\n");
        for (size_t i = 0; !structs && i < ni + no; i++)
            put_tensor_comment(&b, &c, &ts[i], " * ", true);
        if (c.n_syms)
            hd_buf_puts(&b, " * The run-time dims come first, each within its _MIN.._MAX and above 0\n"
                            " * (C wants a variable array dim above 0).\n");
        if (!structs || c.n_syms)
            hd_buf_puts(&b, " */\n");
        if (h->bare_target)
            hd_buf_printf(&b, "static inline int %s_run(\n    void *workspace", prefix);
        else
            hd_buf_printf(&b, "static inline hodu_status %s_run(\n    hodu_instance *inst", prefix);
        for (size_t s = 0; s < c.n_syms; s++)
            hd_buf_printf(&b, ",\n    int64_t %s", c.sym_ids[s]);
        for (size_t i = 0; i < ni + no; i++) {
            hd_buf_puts(&b, ",\n    ");
            put_declarator(&b, &c, &ts[i]);
        }
        if (h->bare_target)
            put_bare_body(&b, prefix, ts, ni, no);
        else
            hd_buf_puts(&b, ",\n    hodu_error *err)\n{\n");
        for (int side = 0; side < 2 && !h->bare_target; side++) {
            size_t n = side ? no : ni, at = side ? ni : 0;
            if (n == 0)
                continue;
            hd_buf_printf(&b, "    hodu_tensor hodu_%s[%zu] = {\n", side ? "out" : "in", n);
            for (size_t i = at; i < at + n; i++)
                put_tensor_init(&b, &c, &ts[i]);
            hd_buf_puts(&b, "    };\n");
        }
        for (size_t i = ni; i < ni + no && !h->bare_target; i++)
            if (ts[i].form == FORM_TENSOR && ir_value_has_unbounded(ts[i].v))
                hd_buf_printf(&b, "    hodu_out[%zu].dtype = %s;\n    hodu_out[%zu].rank = %d;\n", i - ni,
                              dtype_enum(ts[i].v->dtype), i - ni, ts[i].v->rank);
        if (!h->bare_target) {
            hd_buf_printf(&b, "    hodu_status hodu_st = hodu_instance_run(inst, %s, %zu, %s, %zu, err);\n",
                          ni ? "hodu_in" : "NULL", ni, no ? "hodu_out" : "NULL", no);
            for (size_t i = ni; i < ni + no; i++)
                if (ts[i].form == FORM_TENSOR)
                    hd_buf_printf(&b, "    if (hodu_st == HODU_OK)\n        *%s = hodu_out[%zu];\n", ts[i].id, i - ni);
            hd_buf_puts(&b, "    return hodu_st;\n}\n");
        }
        if (structs) {
            if (h->bare_target)
                hd_buf_printf(&b,
                              "\n/* %s_run with the tensors named. */\n"
                              "static inline int %s_run_io(\n    void *workspace,\n    const %s_inputs *in,\n"
                              "    const %s_outputs *out)\n{\n    return %s_run(workspace",
                              prefix, prefix, prefix, prefix, prefix);
            else
                hd_buf_printf(
                    &b,
                    "\n/* %s_run with the tensors named. */\n"
                    "static inline hodu_status %s_run_io(\n    hodu_instance *inst,\n    const %s_inputs *in,\n"
                    "    const %s_outputs *out,\n    hodu_error *err)\n{\n    return %s_run(inst",
                    prefix, prefix, prefix, prefix, prefix);
            for (size_t i = 0; i < ni + no; i++)
                hd_buf_printf(&b, ", %s->%s", i < ni ? "in" : "out", ts[i].id);
            hd_buf_puts(&b, h->bare_target ? ");\n}\n" : ", err);\n}\n");
        }
        hd_buf_printf(&b, "\n#endif /* %s */\n", guard);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.ids[i]);
    free(names.ids);
    free(c.syms);
    free(c.sym_ids);
    free(ts);
    free(guard);
    free(macro_prefix);
    free(prefix);
    free(base);
    if (!ok) {
        hd_buf_free(&b);
        return NULL;
    }
    return hd_buf_take(&b);
}
