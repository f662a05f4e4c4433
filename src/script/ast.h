/*
 * script/ast.h - the HoduScript syntax tree.
 *
 * One node type for everything (expressions, statements, declarations,
 * types), allocated from an arena that lives as long as the program; every
 * node has a span (file, line:col .. end_line:end_col, 1-based, inclusive)
 * so diagnostics can point at it.
 */
#ifndef HODU_SCRIPT_AST_H
#define HODU_SCRIPT_AST_H

#include <stddef.h>
#include <stdint.h>

typedef struct hs_span {
    int file; /* index into the program's source table */
    int line, col, end_line, end_col;
} hs_span;

typedef enum hs_kind {
    /* expressions */
    HS_INT,      /* ival */
    HS_FLOAT,    /* fval */
    HS_BOOL,     /* ival 0/1 */
    HS_STRING,   /* name */
    HS_NAME,     /* name */
    HS_BINARY,   /* op; a, b */
    HS_UNARY,    /* op; a */
    HS_COND,     /* a if b else c */
    HS_CALL,     /* a(list...): list holds HS_ARG */
    HS_ARG,      /* name (NULL: positional) = a */
    HS_INDEX,    /* a[list...]: list holds exprs, HS_SLICE, HS_ELLIPSIS */
    HS_SLICE,    /* a:b:c, each may be NULL */
    HS_ELLIPSIS, /* ... */
    HS_LIST,     /* [list...]; ival 1: a tuple, written (a, b, ...) */
    HS_LISTCOMP, /* [a for name in b..c] */
    /* types */
    HS_TYPE,       /* name (dtype / int / float / bool); list: dims (exprs, HS_ELLIPSIS); ival 1 when it has [] */
    HS_TUPLE_TYPE, /* (list...): HS_TYPE, or HS_FORMAL (a named element: name: a) */
    /* statements */
    HS_LET,    /* let name = a; or, name NULL, let (list: HS_NAME...) = a (a tuple unpacked) */
    HS_ASSIGN, /* name = a */
    HS_RETURN, /* return a */
    HS_FOR,    /* for name in a..b { list } */
    HS_IF,     /* if a { list } else { list2 } */
    /* declarations */
    HS_PARAM,  /* param name: a(type) = b [if c] */
    HS_SUB,    /* name = a (a submodule or list of them) */
    HS_FN,     /* fn name(list: HS_FORMAL) -> a(type or NULL) { list2 } */
    HS_FORMAL, /* name: a(type) [= b] */
    HS_MODULE, /* module name(list: HS_FORMAL) { list2: HS_PARAM, HS_SUB, HS_FN } */
    HS_IMPORT, /* import name */
    HS_EXPORT, /* export name = a */
    HS_TRAIN   /* train name.b with a: c is name as a node (its span), b the loss function, a the optimizer */
} hs_kind;

/* Operators of HS_BINARY / HS_UNARY. */
typedef enum hs_op {
    HS_OP_ADD,
    HS_OP_SUB,
    HS_OP_MUL,
    HS_OP_DIV,
    HS_OP_MOD,
    HS_OP_POW,
    HS_OP_MATMUL,
    HS_OP_LT,
    HS_OP_LE,
    HS_OP_GT,
    HS_OP_GE,
    HS_OP_EQ,
    HS_OP_NE,
    HS_OP_AND,
    HS_OP_OR,
    HS_OP_NEG,
    HS_OP_NOT,
    HS_OP_IDIV /* // */
} hs_op;

typedef struct hs_node hs_node;

/* A growable list of nodes (arena-backed). */
typedef struct hs_list {
    hs_node **items;
    size_t n, cap;
} hs_list;

struct hs_node {
    hs_kind kind;
    hs_span span;
    hs_op op;
    int64_t ival;
    double fval;
    const char *name;
    hs_node *a, *b, *c;
    hs_list list, list2;
};

/* The arena: blocks freed together. */
typedef struct hs_arena {
    struct hs_block *head;
} hs_arena;

void *hs_alloc(hs_arena *a, size_t n);
char *hs_strndup(hs_arena *a, const char *s, size_t n);
void hs_arena_free(hs_arena *a);
hs_node *hs_new(hs_arena *a, hs_kind kind, hs_span span);
void hs_list_push(hs_arena *a, hs_list *l, hs_node *n);
const char *hs_op_text(hs_op op);

#endif /* HODU_SCRIPT_AST_H */
