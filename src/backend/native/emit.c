/*
 * emit.c - helpers shared by the native lowerings (emit.h).
 */
#include "emit.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- emitter helpers --------------------------------------------------- */

const ir_value *em_in(const op_emit *e, size_t i)
{
    const ir_node *n = em_node(e);
    return (i < n->n_inputs && n->inputs[i] >= 0) ? ir_val(e->g, n->inputs[i]) : NULL;
}

const ir_value *em_out(const op_emit *e, size_t i)
{
    const ir_node *n = em_node(e);
    return (i < n->n_outputs && n->outputs[i] >= 0) ? ir_val(e->g, n->outputs[i]) : NULL;
}

void em_line(op_emit *e, const char *fmt, ...)
{
    for (int i = 0; i < e->indent; i++)
        hd_buf_puts(e->body, "    ");
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(e->body, fmt, ap);
    va_end(ap);
    hd_buf_putc(e->body, '\n');
}

void em_for(op_emit *e, const char *var, int64_t n)
{
    int level = e->indent;
    if (n == 1 && level >= 0 && level < 64) {
        e->single |= UINT64_C(1) << level;
        e->single_at[level] = e->body->len + (size_t)level * 4;
        em_line(e, "{");
        e->indent++;
        em_line(e, "const int64_t %s = 0;", var);
        return;
    }
    if (level >= 0 && level < 64)
        e->single &= ~(UINT64_C(1) << level);
    em_line(e, "for (int64_t %s = 0; %s < %" PRId64 "; %s++) {", var, var, n, var);
    e->indent++;
}

/* Whether C text holds the keyword `word` as a whole token. */
static bool has_word(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        if (memcmp(s + i, word, w) != 0)
            continue;
        bool before = i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_');
        bool after = i + w < n && (isalnum((unsigned char)s[i + w]) || s[i + w] == '_');
        if (!before && !after)
            return true;
    }
    return false;
}

void em_close(op_emit *e)
{
    e->indent--;
    int level = e->indent;
    if (level < 0 || level >= 64 || !(e->single & (UINT64_C(1) << level))) {
        em_line(e, "}");
        return;
    }
    e->single &= ~(UINT64_C(1) << level);
    hd_buf *b = e->body;
    size_t at = e->single_at[level];
    if (at >= b->len || b->data[at] != '{') { /* not ours: a plain close */
        em_line(e, "}");
        return;
    }
    /* A break or continue inside must still leave a one-pass loop. */
    if (!has_word(b->data + at, b->len - at, "break") && !has_word(b->data + at, b->len - at, "continue")) {
        em_line(e, "}");
        return;
    }
    hd_buf_write(b, "   ", 3);
    memmove(b->data + at + 3, b->data + at, b->len - 3 - at);
    memcpy(b->data + at, "do ", 3);
    em_line(e, "} while (0);");
}

const char *em_ctype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return "float";
    case HODU_DTYPE_F64: return "double";
    case HODU_DTYPE_I8: return "int8_t";
    case HODU_DTYPE_U8: return "uint8_t";
    case HODU_DTYPE_BOOL: return "uint8_t";
    case HODU_DTYPE_I16: return "int16_t";
    case HODU_DTYPE_U16: return "uint16_t";
    case HODU_DTYPE_I32: return "int32_t";
    case HODU_DTYPE_U32: return "uint32_t";
    case HODU_DTYPE_I64: return "int64_t";
    case HODU_DTYPE_U64: return "uint64_t";
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: return "uint16_t";
    default: return "void";
    }
}

const char *em_compute_ctype(hodu_dtype t)
{
    return (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) ? "float" : em_ctype(t);
}

char *em_load(hodu_dtype t, const char *expr)
{
    if (t == HODU_DTYPE_F16)
        return hd_xasprintf("hd_f16_to_f32(%s)", expr);
    if (t == HODU_DTYPE_BF16)
        return hd_xasprintf("hd_bf16_to_f32(%s)", expr);
    return hd_xasprintf("%s", expr);
}

char *em_store(hodu_dtype t, const char *expr)
{
    if (t == HODU_DTYPE_F16)
        return hd_xasprintf("hd_f32_to_f16(%s)", expr);
    if (t == HODU_DTYPE_BF16)
        return hd_xasprintf("hd_f32_to_bf16(%s)", expr);
    if (t == HODU_DTYPE_BOOL)
        return hd_xasprintf("(uint8_t)((%s) != 0)", expr);
    return hd_xasprintf("(%s)(%s)", em_ctype(t), expr);
}

em_num em_f64(double v)
{
    em_num r;
    if (isnan(v))
        snprintf(r.s, sizeof(r.s), "NAN");
    else if (isinf(v))
        snprintf(r.s, sizeof(r.s), v > 0 ? "INFINITY" : "(-INFINITY)");
    else
        snprintf(r.s, sizeof(r.s), "%.17g", v);
    return r;
}
