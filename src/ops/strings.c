/*
 * ops/strings.c - the string family: StringConcat, StringSplit,
 * RegexFullMatch, StringNormalizer (ai.onnx) and LabelEncoder
 * (ai.onnx.ml), on tensors of hodu_string (hodu_abi.h); and ImageDecoder,
 * which also reads bytes from outside and makes an output of unbounded
 * size.  String values
 * exist only when the model runs: the loader makes no string constants
 * (a string tensor attribute becomes a list of strings), so nothing here
 * folds.  Equal on strings is elementwise.c's (ew_infer), lowered by this
 * family's backend code.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "ops_impl.h"
#include "strings.h"

static bool need_string(op_ctx *c, size_t i, const ir_value **out)
{
    const ir_value *x = op_need_static(c, i);
    *out = x;
    if (!x)
        return false;
    if (x->dtype != HODU_DTYPE_STRING)
        return op_fail(c, "input '%s' has type %s; %s takes strings", x->name, ir_dtype_name(x->dtype),
                       op_get(op_node(c)->op)->name);
    return true;
}

/* ======================================================================== */
/* StringConcat                                                              */
/* ======================================================================== */

static bool infer_concat(op_ctx *c)
{
    const ir_value *x, *y;
    if (!need_string(c, 0, &x) || !need_string(c, 1, &y))
        return false;
    int rank;
    int64_t dims[HODU_MAX_RANK];
    if (!op_broadcast(c, x, y, &rank, dims))
        return false;
    op_set_out(c, 0, HODU_DTYPE_STRING, rank, dims);
    return true;
}

/* ======================================================================== */
/* StringSplit                                                               */
/* ======================================================================== */

static const op_attr_spec split_attrs[] = {{"delimiter", IR_ATTR_STRING}, {"maxsplit", IR_ATTR_INT}, {NULL, 0}};

static bool infer_split(op_ctx *c)
{
    const ir_value *x;
    if (!need_string(c, 0, &x))
        return false;
    if (x->rank >= HODU_MAX_RANK)
        return op_fail(c, "input '%s' has rank %d; the substrings would need %d dims, more than %d", x->name, x->rank,
                       x->rank + 1, HODU_MAX_RANK);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    /* The token count has no bound the build knows (hodu_abi.h: unbounded). */
    dims[x->rank] = 0;
    op_set_out(c, 0, HODU_DTYPE_STRING, x->rank + 1, dims);
    ir_value *y = op_out(c, 0);
    y->dims[x->rank].data_dep = true;
    y->dims[x->rank].unbounded = true;
    op_set_out(c, 1, HODU_DTYPE_I64, x->rank, dims);
    return true;
}

/* ======================================================================== */
/* RegexFullMatch                                                            */
/* ======================================================================== */

static const op_attr_spec regex_attrs[] = {{"pattern", IR_ATTR_STRING}, {NULL, 0}};

/* Appends one escape's meaning outside [...]; false for one RE2 has and
 * this does not. */
static bool ere_escape(char e, hd_buf *out)
{
    switch (e) {
    case 'w': hd_buf_puts(out, "[[:alnum:]_]"); return true;
    case 'W': hd_buf_puts(out, "[^[:alnum:]_]"); return true;
    case 'd': hd_buf_puts(out, "[0-9]"); return true;
    case 'D': hd_buf_puts(out, "[^0-9]"); return true;
    case 's': hd_buf_puts(out, "[[:space:]]"); return true;
    case 'S': hd_buf_puts(out, "[^[:space:]]"); return true;
    case 'b': hd_buf_puts(out, "\\b"); return true;
    case 'B': hd_buf_puts(out, "\\B"); return true;
    case 'n': hd_buf_putc(out, '\n'); return true;
    case 't': hd_buf_putc(out, '\t'); return true;
    case 'r': hd_buf_putc(out, '\r'); return true;
    case 'f': hd_buf_putc(out, '\f'); return true;
    case 'v': hd_buf_putc(out, '\v'); return true;
    default: break;
    }
    if (e > 0 && e < 127 && ispunct((unsigned char)e)) {
        if (strchr(".[]()*+?{}|^$\\", e))
            hd_buf_printf(out, "\\%c", e);
        else
            hd_buf_putc(out, e); /* a literal that needs no escape in ERE */
        return true;
    }
    return false;
}

/* One [...] class starting after its '['; *p ends after its ']'. */
static bool ere_class(const char **pp, hd_buf *out, char **why)
{
    const char *p = *pp;
    bool neg = *p == '^';
    if (neg)
        p++;
    hd_buf body;
    hd_buf_init(&body);
    bool dash = false, rbracket = false, caret = false, first = true;
    while (*p && (first || *p != ']')) {
        first = false;
        if (p[0] == '[' && p[1] == ':') { /* [:alpha:] as it is */
            const char *end = strstr(p + 2, ":]");
            if (!end)
                break;
            hd_buf_write(&body, p, (size_t)(end + 2 - p));
            p = end + 2;
            continue;
        }
        char ch = *p++;
        if (ch == '\\') {
            char e = *p;
            if (!e)
                break;
            p++;
            if (e == 'w' || e == 'd' || e == 's') {
                hd_buf_puts(&body, e == 'w' ? "[:alnum:]_" : e == 'd' ? "[:digit:]" : "[:space:]");
                continue;
            }
            if (e == 'W' || e == 'D' || e == 'S') {
                *why = hd_xasprintf("\\%c inside [...] has no POSIX form", e);
                hd_buf_free(&body);
                return false;
            }
            if (e == 'n' || e == 't' || e == 'r')
                ch = e == 'n' ? '\n' : e == 't' ? '\t' : '\r';
            else if (e > 0 && e < 127 && ispunct((unsigned char)e))
                ch = e;
            else {
                *why = hd_xasprintf("escape \\%c inside [...] is not supported", e);
                hd_buf_free(&body);
                return false;
            }
        }
        if (p[0] == '-' && p[1] && p[1] != ']' && p[1] != '\\' && ch != '-' && ch != ']' && ch != '^') {
            hd_buf_printf(&body, "%c-%c", ch, p[1]); /* a range */
            p += 2;
            continue;
        }
        if (ch == '-')
            dash = true;
        else if (ch == ']')
            rbracket = true;
        else if (ch == '^')
            caret = true;
        else
            hd_buf_putc(&body, ch);
    }
    if (*p != ']') {
        hd_buf_free(&body);
        *why = hd_xstrdup("a [...] class is not closed");
        return false;
    }
    *pp = p + 1;
    /* POSIX places: ']' first, '^' anywhere but first, '-' last */
    if (!neg && caret && !rbracket && body.len == 0 && !dash) {
        hd_buf_puts(out, "\\^");
    } else {
        hd_buf_printf(out, "[%s%s", neg ? "^" : "", rbracket ? "]" : "");
        hd_buf_write(out, body.data ? body.data : "", body.len);
        hd_buf_printf(out, "%s%s]", caret ? "^" : "", dash ? "-" : "");
    }
    hd_buf_free(&body);
    return true;
}

bool str_regex_to_ere(const char *re2, hd_buf *ere, char **why)
{
    *why = NULL;
    hd_buf_puts(ere, "^(");
    bool after_quant = false; /* the last item was a quantifier */
    for (const char *p = re2; *p;) {
        char ch = *p++;
        if (ch == '?' && after_quant) { /* lazy: the same full matches */
            after_quant = false;
            continue;
        }
        after_quant = false;
        if (ch == '\\') {
            char e = *p;
            if (!e) {
                *why = hd_xstrdup("the pattern ends with a backslash");
                return false;
            }
            p++;
            if (!ere_escape(e, ere)) {
                *why = hd_xasprintf("escape \\%c is not supported (POSIX extended expressions lack it)", e);
                return false;
            }
        } else if (ch == '[') {
            if (!ere_class(&p, ere, why))
                return false;
        } else if (ch == '(' && *p == '?') {
            *why = hd_xstrdup("(?...) groups and flags are not supported (POSIX extended expressions lack them)");
            return false;
        } else if (ch == '*' || ch == '+' || ch == '?') {
            hd_buf_putc(ere, ch);
            after_quant = true;
        } else if (ch == '{') {
            const char *end = strchr(p, '}');
            hd_buf_putc(ere, ch);
            if (end) {
                hd_buf_write(ere, p, (size_t)(end + 1 - p));
                p = end + 1;
                after_quant = true;
            }
        } else {
            hd_buf_putc(ere, ch);
        }
    }
    hd_buf_puts(ere, ")$");
    return true;
}

static bool infer_regex(op_ctx *c)
{
    const ir_value *x;
    if (!need_string(c, 0, &x))
        return false;
    const ir_attr *pat = ir_attr_find(op_node(c), "pattern");
    if (!pat)
        return op_fail(c, "attribute 'pattern' is required");
    hd_buf ere;
    hd_buf_init(&ere);
    char *why = NULL;
    if (!str_regex_to_ere(pat->s, &ere, &why)) {
        hd_buf_free(&ere);
        bool r = op_fail(c, "attribute 'pattern': %s", why);
        free(why);
        return r;
    }
    regex_t re;
    int rc = regcomp(&re, ere.data, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &re, msg, sizeof msg);
        hd_buf_free(&ere);
        return op_fail(c, "attribute 'pattern' is not a regular expression POSIX regcomp accepts: %s", msg);
    }
    regfree(&re);
    hd_buf_free(&ere);
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, HODU_DTYPE_BOOL, x->rank, dims);
    return true;
}

/* ======================================================================== */
/* StringNormalizer                                                          */
/* ======================================================================== */

static const op_attr_spec strnorm_attrs[] = {{"case_change_action", IR_ATTR_STRING},
                                             {"is_case_sensitive", IR_ATTR_INT},
                                             {"locale", IR_ATTR_STRING},
                                             {"stopwords", IR_ATTR_STRINGS},
                                             {NULL, 0}};

static bool strnorm_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, strnorm_plan *p)
{
#define SN_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const ir_value *x = ir_val(g, n->inputs[0]);
    if (x->rank == 1)
        p->C = x->dims[0].size;
    else if (x->rank == 2 && x->dims[0].size == 1)
        p->C = x->dims[1].size;
    else
        return SN_FAIL("input '%s' must be [C] or [1, C]", x->name);
    const char *act = ir_attr_string(n, "case_change_action", "NONE");
    if (strcmp(act, "NONE") == 0)
        p->change = STR_CASE_NONE;
    else if (strcmp(act, "LOWER") == 0)
        p->change = STR_CASE_LOWER;
    else if (strcmp(act, "UPPER") == 0)
        p->change = STR_CASE_UPPER;
    else
        return SN_FAIL("attribute 'case_change_action' must be NONE, LOWER or UPPER");
    int64_t cs = ir_attr_int(n, "is_case_sensitive", 0);
    if (cs != 0 && cs != 1)
        return SN_FAIL("attribute 'is_case_sensitive' must be 0 or 1");
    p->case_sensitive = cs == 1;
    /* Case rules are ASCII's (the C locale's); a locale whose rules
     * differ for ASCII text is refused. */
    const char *loc = ir_attr_string(n, "locale", "");
    if (!(loc[0] == '\0' || strcmp(loc, "C") == 0 || strcmp(loc, "POSIX") == 0 || strncmp(loc, "en", 2) == 0))
        return SN_FAIL("attribute 'locale': only the ASCII case rules of en_US and C are supported");
    const ir_attr *st = ir_attr_find(n, "stopwords");
    if (st) {
        p->n_stops = st->n;
        p->stops = st->strings;
    }
    return true;
#undef SN_FAIL
}

bool strnorm_plan_of(const ir_graph *g, int node, strnorm_plan *p)
{
    return strnorm_resolve(NULL, g, ir_nd(g, node), p);
}

static bool infer_strnorm(op_ctx *c)
{
    const ir_value *x;
    if (!need_string(c, 0, &x))
        return false;
    strnorm_plan p;
    if (!strnorm_resolve(c, c->g, op_node(c), &p))
        return false;
    /* how many elements survive depends on data: at most C, at least one */
    int64_t dims[2] = {1, p.C > 0 ? p.C : 1};
    bool two = x->rank == 2;
    op_set_out(c, 0, HODU_DTYPE_STRING, x->rank, two ? dims : dims + 1);
    ir_value_set_data_dep(op_out(c, 0), two ? 1 : 0);
    return true;
}

/* ======================================================================== */
/* LabelEncoder                                                              */
/* ======================================================================== */

static const op_attr_spec label_attrs[] = {{"keys_strings", IR_ATTR_STRINGS},   {"keys_int64s", IR_ATTR_INTS},
                                           {"keys_floats", IR_ATTR_FLOATS},     {"keys_tensor", IR_ATTR_TENSOR},
                                           {"keys_tensor", IR_ATTR_STRINGS},    {"values_strings", IR_ATTR_STRINGS},
                                           {"values_int64s", IR_ATTR_INTS},     {"values_floats", IR_ATTR_FLOATS},
                                           {"values_tensor", IR_ATTR_TENSOR},   {"values_tensor", IR_ATTR_STRINGS},
                                           {"default_string", IR_ATTR_STRING},  {"default_int64", IR_ATTR_INT},
                                           {"default_float", IR_ATTR_FLOAT},    {"default_tensor", IR_ATTR_TENSOR},
                                           {"default_tensor", IR_ATTR_STRINGS}, {NULL, 0}};

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool label_resolve(op_ctx *c, const ir_graph *g, const ir_node *n, label_plan *p)
{
#define LE_FAIL(...) (c ? op_fail(c, __VA_ARGS__) : false)
    memset(p, 0, sizeof *p);
    const ir_attr *ks = ir_attr_find(n, "keys_strings"), *ki = ir_attr_find(n, "keys_int64s");
    const ir_attr *kt = ir_attr_find(n, "keys_tensor");
    if (ir_attr_find(n, "keys_floats") ||
        (kt && kt->kind == IR_ATTR_TENSOR && kt->tensor >= 0 && ir_val(g, kt->tensor)->dtype != HODU_DTYPE_I64))
        return LE_FAIL("only string and int64 keys are supported");
    if (!!ks + !!ki + !!kt != 1)
        return LE_FAIL("exactly one of keys_strings, keys_int64s, keys_tensor must be given");
    if (ks || (kt && kt->kind == IR_ATTR_STRINGS)) {
        const ir_attr *k = ks ? ks : kt;
        p->key_type = HODU_DTYPE_STRING;
        p->n = k->n;
        p->skeys = k->strings;
    } else if (ki) {
        p->key_type = HODU_DTYPE_I64;
        p->n = ki->n;
        p->ikeys = ki->ints;
    } else {
        const ir_value *t = ir_val(g, kt->tensor);
        p->key_type = HODU_DTYPE_I64;
        p->n = (size_t)ir_value_numel(t);
        p->ikeys = t->data;
    }
    const ir_attr *vs = ir_attr_find(n, "values_strings"), *vi = ir_attr_find(n, "values_int64s");
    const ir_attr *vf = ir_attr_find(n, "values_floats"), *vt = ir_attr_find(n, "values_tensor");
    if (!!vs + !!vi + !!vf + !!vt != 1)
        return LE_FAIL("exactly one of values_strings, values_int64s, values_floats, values_tensor must be given");
    size_t nv;
    if (vs || (vt && vt->kind == IR_ATTR_STRINGS)) {
        const ir_attr *v = vs ? vs : vt;
        p->vsrc = LABEL_STRINGS;
        p->value_type = HODU_DTYPE_STRING;
        p->svals = v->strings;
        nv = v->n;
    } else if (vi) {
        p->vsrc = LABEL_INTS;
        p->value_type = HODU_DTYPE_I64;
        p->ivals = vi->ints;
        nv = vi->n;
    } else if (vf) {
        p->vsrc = LABEL_FLOATS;
        p->value_type = HODU_DTYPE_F32;
        p->fvals = vf->floats;
        nv = vf->n;
    } else {
        const ir_value *t = ir_val(g, vt->tensor);
        hodu_dtype d = t->dtype;
        if (d != HODU_DTYPE_I16 && d != HODU_DTYPE_I32 && d != HODU_DTYPE_I64 && d != HODU_DTYPE_F32 &&
            d != HODU_DTYPE_F64)
            return LE_FAIL("values_tensor of type %s is not supported (string, int16, int32, int64, float, double)",
                           ir_dtype_name(d));
        p->vsrc = LABEL_TENSOR;
        p->value_type = d;
        p->tvals = t;
        nv = (size_t)ir_value_numel(t);
    }
    if (nv != p->n)
        return LE_FAIL("%zu keys but %zu values", p->n, nv);
    /* the default */
    p->sdefault = ir_attr_string(n, "default_string", "_Unused");
    p->idefault = ir_attr_int(n, "default_int64", -1);
    const ir_attr *df = ir_attr_find(n, "default_float");
    p->fdefault = df ? df->f : -0.0;
    const ir_attr *dt = ir_attr_find(n, "default_tensor");
    if (dt) {
        if (dt->kind == IR_ATTR_STRINGS) {
            if (p->value_type != HODU_DTYPE_STRING || dt->n != 1)
                return LE_FAIL("default_tensor must hold one value of the values' type");
            p->sdefault = dt->strings[0];
        } else {
            const ir_value *t = ir_val(g, dt->tensor);
            if (t->dtype != p->value_type || ir_value_numel(t) != 1)
                return LE_FAIL("default_tensor must hold one value of the values' type (%s)",
                               ir_dtype_name(p->value_type));
            switch (t->dtype) {
            case HODU_DTYPE_I16: p->idefault = *(const int16_t *)t->data; break;
            case HODU_DTYPE_I32: p->idefault = *(const int32_t *)t->data; break;
            case HODU_DTYPE_I64: p->idefault = *(const int64_t *)t->data; break;
            case HODU_DTYPE_F32: p->fdefault = *(const float *)t->data; break;
            default: p->fdefault = *(const double *)t->data; break;
            }
        }
    }
    /* distinct keys */
    if (p->n > 1) {
        size_t es = p->key_type == HODU_DTYPE_STRING ? sizeof(char *) : sizeof(int64_t);
        void *sorted = hd_xmalloc(p->n * es);
        memcpy(sorted, p->key_type == HODU_DTYPE_STRING ? (const void *)p->skeys : (const void *)p->ikeys, p->n * es);
        qsort(sorted, p->n, es, p->key_type == HODU_DTYPE_STRING ? cmp_cstr : cmp_i64);
        bool dup = false;
        for (size_t i = 1; i < p->n && !dup; i++)
            dup = p->key_type == HODU_DTYPE_STRING ? cmp_cstr((char **)sorted + i - 1, (char **)sorted + i) == 0
                                                   : cmp_i64((int64_t *)sorted + i - 1, (int64_t *)sorted + i) == 0;
        free(sorted);
        if (dup)
            return LE_FAIL("a key is listed twice");
    }
    return true;
#undef LE_FAIL
}

bool label_plan_of(const ir_graph *g, int node, label_plan *p) { return label_resolve(NULL, g, ir_nd(g, node), p); }

static bool infer_label(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    label_plan p;
    if (!label_resolve(c, c->g, op_node(c), &p))
        return false;
    if (x->dtype != p.key_type)
        return op_fail(c, "input '%s' has type %s but the keys are %s", x->name, ir_dtype_name(x->dtype),
                       ir_dtype_name(p.key_type));
    int64_t dims[HODU_MAX_RANK];
    ir_value_dims(x, dims);
    op_set_out(c, 0, p.value_type, x->rank, dims);
    return true;
}

/* ======================================================================== */
/* ImageDecoder                                                              */
/* ======================================================================== */

static const op_attr_spec image_attrs[] = {{"pixel_format", IR_ATTR_STRING}, {NULL, 0}};

int image_pixel_format(const ir_node *n)
{
    const char *f = ir_attr_string(n, "pixel_format", "RGB");
    return !strcmp(f, "RGB")         ? HODU_PIXEL_RGB
           : !strcmp(f, "BGR")       ? HODU_PIXEL_BGR
           : !strcmp(f, "Grayscale") ? HODU_PIXEL_GRAY
                                     : -1;
}

/* Encoded bytes in, [H, W, C] pixels out.  H and W depend on the bytes
 * and have no bound the build knows: the host decodes (hodu_abi.h,
 * "Images") into memory from its allocator, an unbounded output. */
static bool infer_image(op_ctx *c)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (x->dtype != HODU_DTYPE_U8 || x->rank != 1)
        return op_fail(c, "input '%s' is %s of rank %d; ImageDecoder takes the encoded bytes, uint8 of rank 1", x->name,
                       ir_dtype_name(x->dtype), x->rank);
    const int fmt = image_pixel_format(op_node(c));
    if (fmt < 0)
        return op_fail(c, "pixel_format '%s' is none of RGB, BGR, Grayscale",
                       ir_attr_string(op_node(c), "pixel_format", ""));
    const int64_t dims[3] = {0, 0, fmt == HODU_PIXEL_GRAY ? 1 : 3};
    op_set_out(c, 0, HODU_DTYPE_U8, 3, dims);
    ir_value *y = op_out(c, 0);
    for (int d = 0; d < 2; d++)
        y->dims[d].data_dep = y->dims[d].unbounded = true;
    return true;
}

OP_DEF(STRING_CONCAT, .infer = infer_concat);
OP_DEF(STRING_SPLIT, .attrs = split_attrs, .infer = infer_split);
OP_DEF(REGEX_FULL_MATCH, .attrs = regex_attrs, .infer = infer_regex);
OP_DEF(STRING_NORMALIZER, .attrs = strnorm_attrs, .infer = infer_strnorm);
OP_DEF(LABEL_ENCODER, .attrs = label_attrs, .infer = infer_label);
OP_DEF(IMAGE_DECODER, .attrs = image_attrs, .infer = infer_image);
