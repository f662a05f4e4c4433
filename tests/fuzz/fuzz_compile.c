/*
 * fuzz_compile.c - libFuzzer target over the whole compile path.
 *
 * Bytes -> model file -> hodu_build (loader, every pass, memory plan, C
 * emission; the system C compiler is not run) -> the emitted sources, which
 * are then checked against the rule of docs/security.md: no text from the
 * model or its path reaches generated C or assembly except inside a string
 * literal.  Sanitizers (ASan, UBSan) catch memory and arithmetic faults on
 * the way; a finding is a crash, a sanitizer report or an abort() below.
 *
 * The model is written to a private folder whose own name is hostile (it
 * contains a comment terminator and a quote), so every run also checks that
 * the model's path never leaks into the code.
 *
 * The oracle.  The emitted C is lexed and its string and character literals
 * blanked out.  What is left - code and comments - must not contain any model
 * string that could break out of a literal or a comment (one holding a
 * quote, a backslash, a comment terminator or a control byte): any injection
 * needs one of those to leave the context hodu put it in, so finding such a
 * string there means the model wrote code.  Comments must hold printable
 * ASCII without quotes or backslashes, no literal may span a line, and the
 * only preprocessor lines are the emitter's own includes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hodu.h"
#include "onnx.pb-c.h"

/* --- model strings ------------------------------------------------------- */

typedef struct str_list {
    const char **s;
    size_t *len;
    size_t n, cap;
} str_list;

static void add_bytes(str_list *l, const void *p, size_t n)
{
    if (!p || n == 0)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->s = realloc(l->s, l->cap * sizeof(*l->s));
        l->len = realloc(l->len, l->cap * sizeof(*l->len));
        if (!l->s || !l->len)
            abort();
    }
    l->s[l->n] = p;
    l->len[l->n] = n;
    l->n++;
}

static void add_str(str_list *l, const char *s)
{
    if (s)
        add_bytes(l, s, strlen(s));
}

static void add_entries(str_list *l, Onnx__StringStringEntryProto **e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        add_str(l, e[i]->key);
        add_str(l, e[i]->value);
    }
}

static void add_type(str_list *l, const Onnx__TypeProto *t, int depth)
{
    if (!t || depth > 16)
        return;
    add_str(l, t->denotation);
    if (t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type && t->tensor_type->shape) {
        const Onnx__TensorShapeProto *s = t->tensor_type->shape;
        for (size_t i = 0; i < s->n_dim; i++) {
            add_str(l, s->dim[i]->denotation);
            if (s->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
                add_str(l, s->dim[i]->dim_param);
        }
    } else if (t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && t->sequence_type) {
        add_type(l, t->sequence_type->elem_type, depth + 1);
    }
}

static void add_tensor(str_list *l, const Onnx__TensorProto *t)
{
    if (!t)
        return;
    add_str(l, t->name);
    add_str(l, t->doc_string);
    add_entries(l, t->external_data, t->n_external_data);
    for (size_t i = 0; i < t->n_string_data; i++)
        add_bytes(l, t->string_data[i].data, t->string_data[i].len);
}

static void add_graph(str_list *l, const Onnx__GraphProto *g, int depth);

static void add_node(str_list *l, const Onnx__NodeProto *n, int depth)
{
    add_str(l, n->name);
    add_str(l, n->op_type);
    add_str(l, n->domain);
    add_str(l, n->overload);
    add_str(l, n->doc_string);
    for (size_t i = 0; i < n->n_input; i++)
        add_str(l, n->input[i]);
    for (size_t i = 0; i < n->n_output; i++)
        add_str(l, n->output[i]);
    for (size_t i = 0; i < n->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->attribute[i];
        add_str(l, a->name);
        add_str(l, a->ref_attr_name);
        add_str(l, a->doc_string);
        add_bytes(l, a->s.data, a->s.len);
        for (size_t k = 0; k < a->n_strings; k++)
            add_bytes(l, a->strings[k].data, a->strings[k].len);
        add_tensor(l, a->t);
        for (size_t k = 0; k < a->n_tensors; k++)
            add_tensor(l, a->tensors[k]);
        add_graph(l, a->g, depth + 1);
        for (size_t k = 0; k < a->n_graphs; k++)
            add_graph(l, a->graphs[k], depth + 1);
    }
}

static void add_value_infos(str_list *l, Onnx__ValueInfoProto **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        add_str(l, v[i]->name);
        add_str(l, v[i]->doc_string);
        add_type(l, v[i]->type, 0);
    }
}

static void add_graph(str_list *l, const Onnx__GraphProto *g, int depth)
{
    if (!g || depth > 16)
        return;
    add_str(l, g->name);
    add_str(l, g->doc_string);
    for (size_t i = 0; i < g->n_node; i++)
        add_node(l, g->node[i], depth);
    for (size_t i = 0; i < g->n_initializer; i++)
        add_tensor(l, g->initializer[i]);
    add_value_infos(l, g->input, g->n_input);
    add_value_infos(l, g->output, g->n_output);
    add_value_infos(l, g->value_info, g->n_value_info);
}

/* --- the oracle ---------------------------------------------------------- */

/* A string that could leave a literal or a comment if it were pasted there:
 * a quote or backslash ends or bends a literal, a comment terminator ends a
 * comment, and odd control bytes have no business in C at all.  A newline
 * alone cannot leave a block comment, and the lexer below flags one inside a
 * literal. */
static bool could_break_out(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || (c < 32 && c != '\n' && c != '\t') || c == 127)
            return true;
        if (c == '*' && i + 1 < n && s[i + 1] == '/')
            return true;
    }
    return false;
}

/* Plain search: libFuzzer intercepts memmem/strstr, and its dictionary must
 * not learn the generated code from the oracle. */
static bool contains(const char *hay, size_t nh, const char *needle, size_t nn)
{
    if (nn == 0 || nn > nh)
        return false;
    for (size_t i = 0; i + nn <= nh; i++) {
        size_t k = 0;
        while (k < nn && hay[i + k] == needle[k])
            k++;
        if (k == nn)
            return true;
    }
    return false;
}

/* Comments are the compiler's own prose: printable ASCII, and never a quote
 * or a backslash, which only model text would bring. */
static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* `word` as a whole token: buffer names made from model text (v_...) may
 * contain it as a part, which is harmless. */
static bool has_word(const char *hay, size_t nh, const char *word)
{
    size_t nw = strlen(word);
    for (size_t i = 0; i + nw <= nh; i++) {
        size_t k = 0;
        while (k < nw && hay[i + k] == word[k])
            k++;
        if (k == nw && (i == 0 || !ident_char(hay[i - 1])) && (i + nw == nh || !ident_char(hay[i + nw])))
            return true;
    }
    return false;
}

static bool comment_char_ok(unsigned char c) { return (c >= 32 && c < 127 && c != '"' && c != '\\') || c == '\n'; }

static void finding(const char *what, const char *file, const char *detail, size_t n)
{
    fprintf(stderr, "fuzz_compile: %s in %s: '%.*s'\n", what, file, (int)(n > 200 ? 200 : n), detail);
    abort();
}

/* C text with its string and character literals blanked out (comments
 * stay, after their characters are checked).  Returns it malloc'd; *out_n is
 * its length. */
static char *code_outside_literals(const char *src, size_t n, const char *file, size_t *out_n)
{
    char *code = malloc(n + 1);
    if (!code)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (src[i] == '"' || src[i] == '\'') {
            char q = src[i++];
            while (i < n && src[i] != q) {
                if (src[i] == '\n')
                    finding("newline inside a literal", file, src + i, 40);
                i += src[i] == '\\' ? 2 : 1;
            }
            i++;
            code[o++] = ' ';
        } else if (src[i] == '/' && i + 1 < n && (src[i + 1] == '*' || src[i + 1] == '/')) {
            bool block = src[i + 1] == '*';
            size_t start = i;
            i += 2;
            while (i < n && (block ? !(src[i] == '*' && i + 1 < n && src[i + 1] == '/') : src[i] != '\n'))
                i++;
            if (block)
                i = i + 2 > n ? n : i + 2;
            for (size_t k = start; k < i; k++)
                if (!comment_char_ok((unsigned char)src[k]))
                    finding("comment holds a character only model text would bring", file, src + start, i - start);
            /* Keep the comment's text but blank its delimiters: the
             * compiler's own "*\/" must not match a model string. */
            memcpy(code + o, src + start, i - start);
            code[o] = code[o + 1] = ' ';
            if (block && i - start >= 4)
                code[o + (i - start) - 2] = code[o + (i - start) - 1] = ' ';
            o += i - start;
        } else {
            code[o++] = src[i++];
        }
    }
    code[o] = '\0';
    *out_n = o;
    return code;
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        abort();
    *n = len;
    return buf;
}

static void check_file(const char *dir, const char *name, const str_list *strings)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t n = 0;
    char *src = read_all(path, &n);
    if (!src)
        return; /* the build stopped before writing it */
    size_t nc = 0;
    char *code = code_outside_literals(src, n, name, &nc);
    for (size_t i = 0; i < strings->n; i++)
        if (could_break_out(strings->s[i], strings->len[i]) && contains(code, nc, strings->s[i], strings->len[i]))
            finding("model text outside a string literal", name, strings->s[i], strings->len[i]);
    /* Nothing a model says can add a preprocessor line: only the emitter's
     * own macros and includes may appear (literals are blanked, so an
     * include is checked against its blanked form). */
    static const char *const allowed[] = {"#define ",
                                          "#undef ",
                                          "#if",
                                          "#elif", /* weights.S: ELF, Mach-O or COFF directives */
                                          "#else",
                                          "#endif",
                                          "#pragma ",
                                          "#include <math.h>\n",
                                          "#include <stddef.h>\n",
                                          "#include <stdint.h>\n",
                                          "#include <string.h>\n",
                                          "#include <regex.h>\n", /* RegexFullMatch (emit_string.c) */
                                          "#include  \n"};
    for (size_t i = 0; i < nc; i++) {
        if (code[i] != '#' || (i > 0 && code[i - 1] != '\n'))
            continue;
        bool ok = false;
        for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]) && !ok; k++)
            ok = strncmp(code + i, allowed[k], strlen(allowed[k])) == 0;
        if (!ok)
            finding("unexpected preprocessor line", name, code + i, 60);
    }
    if (has_word(code, nc, "constructor") || has_word(code, nc, "destructor"))
        finding("a constructor or destructor attribute", name, "", 0);
    free(code);
    free(src);
}

/* --- the target ---------------------------------------------------------- */

static char work_dir[256];
static char model_path[300];
static char emit_dir[300];

static void quiet(void *user, const char *line)
{
    (void)user;
    (void)line;
}

static void remove_emitted(void)
{
    static const char *const names[] = {"model.c", "weights.bin", "weights.S", "hodu_kernels.h", "hodu_abi.h"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", emit_dir, names[i]);
        unlink(path);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof(work_dir), "%s/hodu-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work_dir)) {
        fprintf(stderr, "fuzz_compile: mkdtemp: %s\n", strerror(errno));
        abort();
    }
    /* The model's folder name is itself an injection attempt: the path
     * holds a quote and a comment terminator. */
    char hostile[300];
    snprintf(hostile, sizeof(hostile), "%s/e\"*", work_dir);
    snprintf(model_path, sizeof(model_path), "%s/model.onnx", hostile);
    snprintf(emit_dir, sizeof(emit_dir), "%s/emit", work_dir);
    if (mkdir(hostile, 0700) != 0 || mkdir(emit_dir, 0700) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(model_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    /* The model's own strings, and bindings for its symbolic input dims so
     * that models with them reach the later passes too. */
    str_list strings = {0};
    add_str(&strings, model_path);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    char **shapes = NULL;
    size_t n_shapes = 0;
    if (m) {
        add_str(&strings, m->producer_name);
        add_str(&strings, m->producer_version);
        add_str(&strings, m->domain);
        add_str(&strings, m->doc_string);
        add_entries(&strings, m->metadata_props, m->n_metadata_props);
        for (size_t i = 0; i < m->n_opset_import; i++)
            add_str(&strings, m->opset_import[i]->domain);
        add_graph(&strings, m->graph, 0);
        const Onnx__GraphProto *g = m->graph;
        if (g && g->n_input <= 64) {
            shapes = calloc(g->n_input + 1, sizeof(char *));
            for (size_t i = 0; i < g->n_input; i++) {
                const Onnx__TypeProto *t = g->input[i]->type;
                if (!g->input[i]->name || !t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                    !t->tensor_type->shape || t->tensor_type->shape->n_dim > 8)
                    continue;
                bool symbolic = false;
                char dims[128] = "";
                size_t len = 0;
                const Onnx__TensorShapeProto *s = t->tensor_type->shape;
                for (size_t k = 0; k < s->n_dim; k++) {
                    long long v = 2;
                    if (s->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
                        v = s->dim[k]->dim_value;
                    else
                        symbolic = true;
                    len += (size_t)snprintf(dims + len, sizeof(dims) - len, "%s%lld", k ? "x" : "", v);
                    if (len >= sizeof(dims))
                        break;
                }
                if (symbolic && len < sizeof(dims)) {
                    size_t need = strlen(g->input[i]->name) + len + 2;
                    shapes[n_shapes] = malloc(need);
                    snprintf(shapes[n_shapes], need, "%s=%s", g->input[i]->name, dims);
                    n_shapes++;
                }
            }
        }
    }

    /* Every other input (by size) leaves its first named dim a run-time
     * dim of 1..3 and binds the rest by name, so the run-time dims' paths
     * are fuzzed too. */
    char *dim_flags[16];
    size_t n_dims = 0;
    const Onnx__GraphProto *gr = m ? m->graph : NULL;
    for (size_t i = 0; (size & 1) && gr && i < gr->n_input && i < 64; i++) {
        const Onnx__TypeProto *t = gr->input[i]->type;
        if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type->shape)
            continue;
        const Onnx__TensorShapeProto *s = t->tensor_type->shape;
        for (size_t k = 0; k < s->n_dim && n_dims < 16; k++) {
            const char *sym = s->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                                  ? s->dim[k]->dim_param
                                  : NULL;
            bool seen = !sym || !*sym || strlen(sym) > 256;
            for (size_t j = 0; !seen && j < n_dims; j++)
                seen = strncmp(dim_flags[j], sym, strlen(sym)) == 0 && dim_flags[j][strlen(sym)] == '=';
            if (seen)
                continue;
            size_t need = strlen(sym) + 8;
            dim_flags[n_dims] = malloc(need);
            snprintf(dim_flags[n_dims], need, "%s=%s", sym, n_dims ? "2" : "1..3");
            n_dims++;
        }
    }

    hodu_build_options o;
    hodu_build_options_init(&o);
    o.input_path = model_path;
    o.emit_c_dir = emit_dir; /* sources only: no output library, no cc */
    o.input_shapes = n_dims ? NULL : (const char *const *)shapes;
    o.n_input_shapes = n_dims ? 0 : n_shapes;
    o.dims = (const char *const *)dim_flags;
    o.n_dims = n_dims;
    o.message = quiet;
    /* every input of size 2 or 3 mod 4 with every convolution that can
     * blocked (the cost model would leave most of these small ones alone) */
    o.conv_layout = (size & 2) ? "blocked" : NULL;
    remove_emitted();
    if (hodu_build(&o) == 0) {
        check_file(emit_dir, "model.c", &strings);
        check_file(emit_dir, "weights.S", &strings);
    }

    for (size_t i = 0; i < n_shapes; i++)
        free(shapes[i]);
    for (size_t i = 0; i < n_dims; i++)
        free(dim_flags[i]);
    free(shapes);
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
    free(strings.s);
    free(strings.len);
    return 0;
}
