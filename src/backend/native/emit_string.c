/*
 * native/emit_string.c - lowering of the string family (ops/strings.h) and
 * of Equal on strings, and of ImageDecoder (decoding is the host's).
 *
 * Elements are hodu_string (hodu_abi.h).  Results point into the inputs
 * (StringSplit's tokens, StringNormalizer's unchanged elements), into
 * constant tables of the library (LabelEncoder's values, empty strings),
 * or into memory from the host's allocator (exec->alloc through hs_alloc:
 * StringConcat's results, case changes, StringSplit's unbounded output).
 * A node that needs memory and gets none returns 1; its check says so
 * (op_emit.check_why).  Model text (delimiters, stopwords, keys, values,
 * the regular expression) reaches the C source only as string literals
 * whose every byte outside [A-Za-z0-9] is an octal escape (put_bytes).
 * The helpers are static functions written once per model, before the
 * first node that uses them; models without strings never get them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/strings.h"

static const char *const NO_MEMORY =
    "no memory for its strings (the host lent no allocator through hodu_exec, or it returned NULL)";

/* What every string lowering may call. */
static const char helpers[] =
    "\n/* hodu string helpers */\n"
    "__attribute__((unused)) static const char hs_empty[1] = \"\";\n"
    "__attribute__((unused)) static int hs_eq(hodu_string a, hodu_string b)\n"
    "{\n    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, (size_t)a.size) == 0);\n}\n"
    "/* byte order, then length: the order LabelEncoder's keys are sorted in */\n"
    "__attribute__((unused)) static int hs_cmp(hodu_string a, hodu_string b)\n{\n"
    "    uint64_t m = a.size < b.size ? a.size : b.size;\n"
    "    int r = m ? memcmp(a.data, b.data, (size_t)m) : 0;\n"
    "    return r ? r : (a.size < b.size ? -1 : a.size > b.size);\n}\n"
    "__attribute__((unused)) static unsigned char hs_lower(unsigned char c)\n"
    "{\n    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;\n}\n"
    "__attribute__((unused)) static unsigned char hs_upper(unsigned char c)\n"
    "{\n    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;\n}\n"
    "__attribute__((unused)) static int hs_eq_fold(hodu_string a, hodu_string b)\n{\n"
    "    if (a.size != b.size)\n        return 0;\n"
    "    for (uint64_t i = 0; i < a.size; i++)\n"
    "        if (hs_lower((unsigned char)a.data[i]) != hs_lower((unsigned char)b.data[i]))\n            return 0;\n"
    "    return 1;\n}\n"
    "__attribute__((unused)) static void *hs_alloc(const hodu_exec *exec, uint64_t n)\n{\n"
    "    if (exec == NULL || exec->alloc == NULL)\n        return NULL;\n"
    "    return exec->alloc(exec->alloc_ctx, n ? n : 1);\n}\n"
    "__attribute__((unused)) static int hs_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13); }\n"
    "/* StringSplit of one element (Python's str.split): by `sep` (sl bytes),\n"
    " * or with sl 0 by runs of ASCII whitespace, leading and trailing ones\n"
    " * ignored; at most maxsplit splits (-1: all).  Stores the tokens at out\n"
    " * unless it is NULL; returns their count. */\n"
    "__attribute__((unused)) static int64_t hs_split(hodu_string s, const char *sep, uint64_t sl, int64_t maxsplit,\n"
    "                                                hodu_string *out)\n{\n"
    "    const char *p = s.size ? s.data : hs_empty;\n"
    "    uint64_t n = s.size, i = 0, b = 0;\n"
    "    int64_t k = 0;\n"
    "    if (sl == 0) {\n"
    "        for (;;) {\n"
    "            while (i < n && hs_space((unsigned char)p[i]))\n                i++;\n"
    "            if (i >= n)\n                return k;\n"
    "            b = i;\n"
    "            if (maxsplit >= 0 && k == maxsplit)\n                i = n; /* the rest, trailing space kept */\n"
    "            else\n                while (i < n && !hs_space((unsigned char)p[i]))\n                    i++;\n"
    "            if (out) {\n                out[k].data = p + b;\n                out[k].size = i - b;\n            "
    "}\n"
    "            k++;\n"
    "        }\n"
    "    }\n"
    "    while (maxsplit < 0 || k < maxsplit) {\n"
    "        uint64_t j = i;\n"
    "        while (j + sl <= n && memcmp(p + j, sep, (size_t)sl) != 0)\n            j++;\n"
    "        if (j + sl > n)\n            break;\n"
    "        if (out) {\n            out[k].data = p + b;\n            out[k].size = j - b;\n        }\n"
    "        k++;\n"
    "        i = b = j + sl;\n"
    "    }\n"
    "    if (out) {\n        out[k].data = p + b;\n        out[k].size = n - b;\n    }\n"
    "    return k + 1;\n}\n";

static void need_helpers(op_emit *e)
{
    if (!e->decls->data || !strstr(e->decls->data, "/* hodu string helpers */"))
        hd_buf_puts(e->decls, helpers);
}

/* A C string literal holding n bytes of model text, every byte outside
 * [A-Za-z0-9] an octal escape (three digits, so a digit after one cannot
 * join it): nothing the model says can end the literal or form a
 * trigraph. */
static void put_bytes(hd_buf *b, const char *s, size_t n)
{
    hd_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            hd_buf_putc(b, (char)c);
        else
            hd_buf_printf(b, "\\%03o", c);
    }
    hd_buf_putc(b, '"');
}

/* "{\"...\", n}": a hodu_string initializer. */
static void put_hs(hd_buf *b, const char *s)
{
    hd_buf_putc(b, '{');
    put_bytes(b, s, strlen(s));
    hd_buf_printf(b, ", %zu}", strlen(s));
}

/* A name for a file-scope table no other can have: the decls grow. */
static char *table_name(op_emit *e, const char *what) { return hd_xasprintf("hs%zu_%s", e->decls->len, what); }

/* Opens one loop per dim of the output (i0, i1, ...) and gives the flat
 * offsets of the output and of each broadcast input. */
static void bcast_open(op_emit *e, int n_in, em_expr *in_idx, em_expr *out_idx)
{
    const ir_value *y = em_out(e, 0);
    int64_t od[HODU_MAX_RANK];
    ir_value_dims(y, od);
    em_term ot[HODU_MAX_RANK], it[2][HODU_MAX_RANK];
    static const char *const vars[HODU_MAX_RANK] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"};
    int64_t st = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        ot[d] = (em_term){vars[d], st};
        st *= od[d];
    }
    for (int k = 0; k < n_in; k++) {
        int64_t s[HODU_MAX_RANK];
        ir_broadcast_strides(em_in(e, (size_t)k), y->rank, od, s);
        for (int d = 0; d < y->rank; d++)
            it[k][d] = (em_term){vars[d], s[d]};
        in_idx[k] = em_index(0, (size_t)y->rank, it[k]);
    }
    *out_idx = em_index(0, (size_t)y->rank, ot);
    for (int d = 0; d < y->rank; d++)
        em_for(e, vars[d], od[d]);
}

static void bcast_close(op_emit *e)
{
    for (int d = 0; d < em_out(e, 0)->rank; d++)
        em_close(e);
}

/* Equal on strings (elementwise.c's ew_infer types it). */
bool str_emit_equal(op_emit *e)
{
    need_helpers(e);
    em_expr in[2], out;
    bcast_open(e, 2, in, &out);
    em_line(e, "out0[%s] = (uint8_t)hs_eq(in0[%s], in1[%s]);", out.s, in[0].s, in[1].s);
    bcast_close(e);
    return true;
}

static bool emit_concat(op_emit *e)
{
    need_helpers(e);
    e->can_fail = e->uses_alloc = true;
    e->check_why = NO_MEMORY;
    em_expr in[2], out;
    em_line(e, "uint64_t total = 0;");
    bcast_open(e, 2, in, &out);
    em_line(e, "const uint64_t n = in0[%s].size + in1[%s].size;", in[0].s, in[1].s);
    em_line(e, "if (n < in0[%s].size || total + n < total)", in[0].s);
    em_line(e, "    return 1;");
    em_line(e, "total += n;");
    bcast_close(e);
    em_line(e, "char *buf = NULL;");
    em_line(e, "if (total > 0 && (buf = (char *)hs_alloc(exec, total)) == NULL)");
    em_line(e, "    return 1;");
    em_line(e, "uint64_t at = 0;");
    bcast_open(e, 2, in, &out);
    em_line(e, "const hodu_string x = in0[%s], y = in1[%s];", in[0].s, in[1].s);
    em_line(e, "char *d = buf ? buf + at : NULL;");
    em_line(e, "if (x.size)");
    em_line(e, "    memcpy(d, x.data, (size_t)x.size);");
    em_line(e, "if (y.size)");
    em_line(e, "    memcpy(d + x.size, y.data, (size_t)y.size);");
    em_line(e, "out0[%s].data = d ? d : hs_empty;", out.s);
    em_line(e, "out0[%s].size = x.size + y.size;", out.s);
    em_line(e, "at += x.size + y.size;");
    bcast_close(e);
    return true;
}

static bool emit_split(op_emit *e)
{
    need_helpers(e);
    e->can_fail = e->uses_alloc = true;
    e->check_why = NO_MEMORY;
    const ir_node *n = em_node(e);
    const ir_value *x = em_in(e, 0);
    int64_t numel = ir_value_numel(x);
    const char *sep = ir_attr_string(n, "delimiter", "");
    int64_t maxsplit = ir_attr_int(n, "maxsplit", -1);
    if (maxsplit < 0)
        maxsplit = -1;
    hd_buf lit;
    hd_buf_init(&lit);
    put_bytes(&lit, sep, strlen(sep));
    em_line(e, "static const char sep[] = %s;", lit.data);
    hd_buf_free(&lit);
    em_line(e, "const uint64_t sl = %zu;", strlen(sep));
    em_line(e, "int64_t most = 0;");
    em_for(e, "i", numel);
    em_line(e, "out1[i] = hs_split(in0[i], sep, sl, INT64_C(%" PRId64 "), NULL);", maxsplit);
    em_line(e, "most = out1[i] > most ? out1[i] : most;");
    em_close(e);
    for (int d = 0; d < x->rank; d++)
        em_line(e, "dims0[%d] = %" PRId64 ";", d, x->dims[d].size);
    em_line(e, "dims0[%d] = most;", x->rank);
    em_line(e, "*out0 = NULL;");
    if (numel == 0) { /* no element: no tokens */
        em_line(e, "(void)exec;");
        return true;
    }
    em_line(e, "if (most > 0) {");
    e->indent++;
    em_line(e, "if ((uint64_t)most > UINT64_MAX / 16 / UINT64_C(%" PRId64 "))", numel);
    em_line(e, "    return 1;");
    em_line(e, "hodu_string *y = (hodu_string *)hs_alloc(exec, (uint64_t)most * 16 * UINT64_C(%" PRId64 "));", numel);
    em_line(e, "if (y == NULL)");
    em_line(e, "    return 1;");
    em_for(e, "i", numel);
    em_line(e, "hodu_string *row = y + i * most;");
    em_line(e, "for (int64_t k = hs_split(in0[i], sep, sl, INT64_C(%" PRId64 "), row); k < most; k++) {", maxsplit);
    em_line(e, "    row[k].data = hs_empty;");
    em_line(e, "    row[k].size = 0;");
    em_line(e, "}");
    em_close(e);
    em_line(e, "*out0 = y;");
    em_close(e);
    return true;
}

static bool emit_regex(op_emit *e)
{
    need_helpers(e);
    if (!strstr(e->decls->data, "#include <regex.h>"))
        hd_buf_puts(e->decls, "#include <regex.h>\n");
    e->can_fail = true;
    e->check_why = "its regular expression could not be compiled or the string is too long for regexec";
    hd_buf ere;
    hd_buf_init(&ere);
    char *why = NULL;
    if (!str_regex_to_ere(ir_attr_string(em_node(e), "pattern", ""), &ere, &why)) { /* inference checked it */
        free(why);
        hd_buf_free(&ere);
        ir_node_error(e->d, e->g, e->node, "internal error: pattern no longer translates");
        return false;
    }
    hd_buf lit;
    hd_buf_init(&lit);
    put_bytes(&lit, ere.data, ere.len);
    hd_buf_free(&ere);
    int64_t numel = ir_value_numel(em_in(e, 0));
    em_line(e, "regex_t re;");
    em_line(e, "if (regcomp(&re, %s, REG_EXTENDED | REG_NOSUB) != 0)", lit.data);
    em_line(e, "    return 1;");
    hd_buf_free(&lit);
    em_for(e, "i", numel);
    em_line(e, "const hodu_string s = in0[i];");
    /* REG_STARTEND (glibc, the BSDs, macOS) bounds the text by length, so
     * a NUL byte inside it is just a byte; without it the text stops there */
    em_line(e, "if (s.size > 0x7fffffff) {");
    em_line(e, "    regfree(&re);");
    em_line(e, "    return 1;");
    em_line(e, "}");
    em_line(e, "#ifdef REG_STARTEND");
    em_line(e, "regmatch_t m[1];");
    em_line(e, "m[0].rm_so = 0;");
    em_line(e, "m[0].rm_eo = (regoff_t)s.size;");
    em_line(e, "out0[i] = regexec(&re, s.size ? s.data : hs_empty, 1, m, REG_STARTEND) == 0;");
    em_line(e, "#else");
    em_line(e, "out0[i] = memchr(s.data, 0, (size_t)s.size) == NULL && regexec(&re, s.size ? s.data : hs_empty, 0, "
               "NULL, 0) == 0;");
    em_line(e, "#endif");
    em_close(e);
    em_line(e, "regfree(&re);");
    return true;
}

static bool emit_strnorm(op_emit *e)
{
    need_helpers(e);
    strnorm_plan p;
    if (!strnorm_plan_of(e->g, e->node, &p)) {
        ir_node_error(e->d, e->g, e->node, "internal error: inconsistent StringNormalizer node");
        return false;
    }
    bool change = p.change != STR_CASE_NONE;
    e->can_fail = e->uses_alloc = change;
    e->check_why = change ? NO_MEMORY : NULL;
    char *stops = table_name(e, "stops");
    if (p.n_stops) {
        hd_buf_printf(e->decls, "static const hodu_string %s[%zu] = {", stops, p.n_stops);
        for (size_t i = 0; i < p.n_stops; i++) {
            hd_buf_puts(e->decls, i ? ", " : "");
            put_hs(e->decls, p.stops[i]);
        }
        hd_buf_puts(e->decls, "};\n");
    }
    const char *cmp = p.case_sensitive ? "hs_eq" : "hs_eq_fold";
    /* with a case change, first the bytes the survivors need */
    if (change) {
        em_line(e, "uint64_t bytes = 0;");
        em_for(e, "i", p.C);
        em_line(e, "int stop = 0;");
        if (p.n_stops) {
            em_line(e, "for (int j = 0; j < %zu && !stop; j++)", p.n_stops);
            em_line(e, "    stop = %s(in0[i], %s[j]);", cmp, stops);
        }
        em_line(e, "if (!stop)");
        em_line(e, "    bytes += in0[i].size;");
        em_close(e);
        em_line(e, "char *buf = NULL;");
        em_line(e, "if (bytes > 0 && (buf = (char *)hs_alloc(exec, bytes)) == NULL)");
        em_line(e, "    return 1;");
        em_line(e, "uint64_t at = 0;");
    }
    em_line(e, "int64_t o = 0;");
    em_for(e, "i", p.C);
    em_line(e, "int stop = 0;");
    if (p.n_stops) {
        em_line(e, "for (int j = 0; j < %zu && !stop; j++)", p.n_stops);
        em_line(e, "    stop = %s(in0[i], %s[j]);", cmp, stops);
    }
    em_line(e, "if (stop)");
    em_line(e, "    continue;");
    em_line(e, "const hodu_string s = in0[i];");
    if (change) {
        em_line(e, "char *d = buf ? buf + at : NULL;");
        em_line(e, "for (uint64_t k = 0; k < s.size; k++)");
        em_line(e, "    d[k] = (char)%s((unsigned char)s.data[k]);",
                p.change == STR_CASE_LOWER ? "hs_lower" : "hs_upper");
        em_line(e, "out0[o].data = s.size ? d : hs_empty;");
        em_line(e, "at += s.size;");
    } else {
        em_line(e, "out0[o].data = s.size ? s.data : hs_empty;");
    }
    em_line(e, "out0[o].size = s.size;");
    em_line(e, "o++;");
    em_close(e);
    em_line(e, "if (o == 0) { /* nothing left: one empty string */");
    em_line(e, "    out0[0].data = hs_empty;");
    em_line(e, "    out0[0].size = 0;");
    em_line(e, "    o = 1;");
    em_line(e, "}");
    if (em_out(e, 0)->rank == 2) {
        em_line(e, "dims0[0] = 1;");
        em_line(e, "dims0[1] = o;");
    } else {
        em_line(e, "dims0[0] = o;");
    }
    free(stops);
    return true;
}

/* LabelEncoder: keys sorted at build time, a binary search per element.
 * (qsort has no context argument; the build is single-threaded.) */
static const label_plan *le_cmp_plan;
static int le_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const label_plan *p = le_cmp_plan;
    if (p->key_type == HODU_DTYPE_I64)
        return p->ikeys[i] < p->ikeys[j] ? -1 : p->ikeys[i] > p->ikeys[j];
    size_t x = strlen(p->skeys[i]), y = strlen(p->skeys[j]), m = x < y ? x : y;
    int r = m ? memcmp(p->skeys[i], p->skeys[j], m) : 0;
    return r ? r : (x < y ? -1 : x > y);
}

/* Value i (or the default, i < 0) of a numeric value type as C text. */
static void put_value(hd_buf *b, const label_plan *p, long i)
{
    hodu_dtype t = p->value_type;
    bool is_float = t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64;
    if (i < 0) {
        if (is_float)
            hd_buf_printf(b, "(%s)%s", t == HODU_DTYPE_F32 ? "float" : "double", em_f64(p->fdefault).s);
        else
            hd_buf_printf(b, "(%s)INT64_C(%" PRId64 ")", em_ctype(t), p->idefault);
        return;
    }
    if (p->vsrc == LABEL_INTS) {
        hd_buf_printf(b, "INT64_C(%" PRId64 ")", p->ivals[i]);
    } else if (p->vsrc == LABEL_FLOATS) {
        hd_buf_printf(b, "(float)%s", em_f64(p->fvals[i]).s);
    } else {
        const void *d = p->tvals->data;
        switch (t) {
        case HODU_DTYPE_I16: hd_buf_printf(b, "(int16_t)%d", ((const int16_t *)d)[i]); break;
        case HODU_DTYPE_I32: hd_buf_printf(b, "(int32_t)INT32_C(%" PRId32 ")", ((const int32_t *)d)[i]); break;
        case HODU_DTYPE_I64: hd_buf_printf(b, "INT64_C(%" PRId64 ")", ((const int64_t *)d)[i]); break;
        case HODU_DTYPE_F32: hd_buf_printf(b, "(float)%s", em_f64(((const float *)d)[i]).s); break;
        default: hd_buf_printf(b, "%s", em_f64(((const double *)d)[i]).s); break;
        }
    }
}

static bool emit_label(op_emit *e)
{
    need_helpers(e);
    label_plan p;
    if (!label_plan_of(e->g, e->node, &p)) {
        ir_node_error(e->d, e->g, e->node, "internal error: inconsistent LabelEncoder node");
        return false;
    }
    int64_t numel = ir_value_numel(em_in(e, 0));
    bool skey = p.key_type == HODU_DTYPE_STRING, sval = p.value_type == HODU_DTYPE_STRING;
    const char *vt = em_ctype(p.value_type);
    hd_buf def;
    hd_buf_init(&def);
    if (sval)
        put_hs(&def, p.sdefault);
    else
        put_value(&def, &p, -1);
    if (p.n == 0) {
        em_line(e, "static const %s dflt = %s;", vt, def.data);
        em_for(e, "i", numel);
        em_line(e, "out0[i] = dflt;");
        em_close(e);
        em_line(e, "(void)in0;");
        hd_buf_free(&def);
        return true;
    }
    size_t *order = hd_xmalloc(p.n * sizeof(size_t));
    for (size_t i = 0; i < p.n; i++)
        order[i] = i;
    le_cmp_plan = &p;
    qsort(order, p.n, sizeof(size_t), le_cmp);
    char *keys = table_name(e, "keys");
    hd_buf_printf(e->decls, "static const %s %s[%zu] = {", skey ? "hodu_string" : "int64_t", keys, p.n);
    for (size_t i = 0; i < p.n; i++) {
        hd_buf_puts(e->decls, i ? ", " : "");
        if (skey)
            put_hs(e->decls, p.skeys[order[i]]);
        else
            hd_buf_printf(e->decls, "INT64_C(%" PRId64 ")", p.ikeys[order[i]]);
    }
    hd_buf_puts(e->decls, "};\n");
    char *vals = table_name(e, "vals");
    hd_buf_printf(e->decls, "static const %s %s[%zu] = {", vt, vals, p.n);
    for (size_t i = 0; i < p.n; i++) {
        hd_buf_puts(e->decls, i ? ", " : "");
        if (sval)
            put_hs(e->decls, p.svals[order[i]]);
        else
            put_value(e->decls, &p, (long)order[i]);
    }
    hd_buf_puts(e->decls, "};\n");
    free(order);
    em_line(e, "static const %s dflt = %s;", vt, def.data);
    hd_buf_free(&def);
    em_for(e, "i", numel);
    em_line(e, "int64_t lo = 0, hi = %zu;", p.n);
    em_line(e, "while (lo < hi) {");
    em_line(e, "    const int64_t mid = lo + (hi - lo) / 2;");
    if (skey)
        em_line(e, "    if (hs_cmp(%s[mid], in0[i]) < 0)", keys);
    else
        em_line(e, "    if (%s[mid] < in0[i])", keys);
    em_line(e, "        lo = mid + 1;");
    em_line(e, "    else");
    em_line(e, "        hi = mid;");
    em_line(e, "}");
    if (skey)
        em_line(e, "out0[i] = lo < %zu && hs_eq(%s[lo], in0[i]) ? %s[lo] : dflt;", p.n, keys, vals);
    else
        em_line(e, "out0[i] = lo < %zu && %s[lo] == in0[i] ? %s[lo] : dflt;", p.n, keys, vals);
    em_close(e);
    free(keys);
    free(vals);
    return true;
}

/* ImageDecoder: the host decodes (hodu_abi.h, "Images"); the model only
 * hands over the bytes and checks the dims it gets back before reporting
 * them.  Both failures, no decoder and an image it cannot decode, are the
 * node's check (libhodu_rt says which in its message). */
static bool emit_image(op_emit *e)
{
    e->can_fail = e->uses_alloc = true;
    e->check_why = "the image could not be decoded, or the host lent no image decoder through hodu_exec";
    const int fmt = image_pixel_format(em_node(e));
    const int ch = fmt == HODU_PIXEL_GRAY ? 1 : 3;
    em_line(e, "uint8_t *px = NULL;");
    em_line(e, "int64_t d[3] = {-1, -1, -1};");
    em_line(e, "*out0 = NULL;");
    em_line(e, "if (exec == NULL || exec->decode_image == NULL || exec->alloc == NULL)");
    em_line(e, "    return 1;");
    em_line(e,
            "if (exec->decode_image(exec->decode_ctx, in0, UINT64_C(%" PRId64
            "), %d, exec->alloc, exec->alloc_ctx, &px, d) != 0)",
            ir_value_numel(em_in(e, 0)), fmt);
    em_line(e, "    return 1;");
    em_line(e, "if (d[0] < 0 || d[1] < 0 || d[2] != %d || (d[0] > 0 && d[1] > INT64_MAX / %d / d[0]) ||", ch, ch);
    em_line(e, "    (px == NULL && d[0] > 0 && d[1] > 0))");
    em_line(e, "    return 1;");
    em_line(e, "dims0[0] = d[0];");
    em_line(e, "dims0[1] = d[1];");
    em_line(e, "dims0[2] = %d;", ch);
    em_line(e, "*out0 = px;");
    return true;
}

void native_register_string(native_lowering *table)
{
    table[OP_IMAGE_DECODER] = (native_lowering){.emit = emit_image};
    table[OP_STRING_CONCAT] = (native_lowering){.emit = emit_concat};
    table[OP_STRING_SPLIT] = (native_lowering){.emit = emit_split};
    table[OP_REGEX_FULL_MATCH] = (native_lowering){.emit = emit_regex};
    table[OP_STRING_NORMALIZER] = (native_lowering){.emit = emit_strnorm};
    table[OP_LABEL_ENCODER] = (native_lowering){.emit = emit_label};
}
