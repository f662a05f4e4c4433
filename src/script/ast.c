/*
 * script/ast.c - the syntax tree's arena and helpers.
 */
#include "script/ast.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Blocks of at least 64 KiB; a bigger request gets a block of its own. */
typedef struct hs_block {
    struct hs_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} hs_block;

void *hs_alloc(hs_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    hs_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = hd_xmalloc(sizeof(hs_block) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *hs_strndup(hs_arena *a, const char *s, size_t n)
{
    char *p = hs_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void hs_arena_free(hs_arena *a)
{
    for (hs_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

hs_node *hs_new(hs_arena *a, hs_kind kind, hs_span span)
{
    hs_node *n = hs_alloc(a, sizeof(*n));
    n->kind = kind;
    n->span = span;
    return n;
}

void hs_list_push(hs_arena *a, hs_list *l, hs_node *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        hs_node **items = hs_alloc(a, cap * sizeof(*items));
        if (l->n)
            memcpy(items, l->items, l->n * sizeof(*items));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = n;
}

const char *hs_op_text(hs_op op)
{
    static const char *const t[] = {
        "+", "-", "*", "/", "%", "**", "@", "<", "<=", ">", ">=", "==", "!=", "and", "or", "-", "not", "//"};
    return (size_t)op < HD_ARRAY_LEN(t) ? t[op] : "?";
}
