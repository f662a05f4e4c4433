/*
 * script/parse.h - the parser's inside: sources, the token filter between
 * flex and bison, and the diagnostics renderer (rustc-style snippets).
 */
#ifndef HODU_SCRIPT_PARSE_H
#define HODU_SCRIPT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "script/ast.h"
#include "util/util.h"

/* Limits against hostile programs; each is an error when passed. */
#define HS_MAX_SOURCE_BYTES  (16u << 20) /* one .hodu file */
#define HS_MAX_TOKEN_BYTES   1024        /* an identifier, number or string */
#define HS_MAX_NESTING       200         /* brackets, and syntax tree depth in the checker */
#define HS_MAX_IMPORTS       256         /* files in one program */
#define HS_MAX_IMPORT_DEPTH  32          /* chain of imports */
#define HS_MAX_SYNTAX_ERRORS 20          /* per file: after that parsing stops */

typedef struct hs_source {
    char *path; /* as printed in messages */
    char *text; /* NUL-terminated */
    size_t len;
} hs_source;

typedef struct hs_program {
    hs_arena arena;
    hs_source *srcs;
    size_t n_srcs, cap_srcs;
    hs_list items; /* every file's declarations, imports first */
    hd_diag *d;
} hs_program;

/* The location type bison and flex share. */
typedef hs_span HSPLTYPE;
#define HSPLTYPE_IS_DECLARED 1

/* The lexer's state (flex's "extra"). */
typedef struct hs_lexer {
    hs_program *prog;
    int file;
    int line, col;
    int depth;        /* open ( and [ : newlines inside are not tokens */
    int last;         /* last token handed to bison, for the filter */
    int pending;      /* a token the filter holds back, or 0 */
    hs_span pend_loc; /* its location */
    void *pend_val;   /* its semantic value (a string) */
    bool eof_nl;      /* the NEWLINE before end of input was sent */
    int n_errors;
    void *scanner; /* flex's yyscan_t */
    hs_list *out;  /* where items go */
} hs_lexer;

/* Parses `src` (index into prog->srcs) and appends its items to `out`.
 * Returns false when there were syntax errors. */
bool hs_parse_source(hs_program *prog, int src, hs_list *out);

/* Diagnostics: "hodu: error: file:line:col: text" with the source line and
 * a caret span under it.  A note or help goes after its error. */
void hs_error(hs_program *p, hs_span at, const char *fmt, ...) HD_PRINTF(3, 4);
void hs_note(hs_program *p, hs_span at, const char *fmt, ...) HD_PRINTF(3, 4);
void hs_help(hs_program *p, const char *fmt, ...) HD_PRINTF(2, 3);

#endif /* HODU_SCRIPT_PARSE_H */
