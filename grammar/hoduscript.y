/*
 * hoduscript.y - the HoduScript grammar (bison, pure, with locations).
 *
 * Statements and declarations end at a newline; the token filter in
 * parse.c drops newlines inside ( ) and [ ], adds one before each '}' and
 * one at the end of input, so "{ return x }" and a last line without a
 * newline need no special rules.  Error recovery works per line: a bad
 * item, module member or statement is skipped up to its newline and
 * parsing goes on, so one run reports several syntax errors.
 */
%define api.pure full
%define api.prefix {hsp}
%define api.token.prefix {HS_T_}
%define parse.error detailed
%locations
%param {hs_lexer *lx}

%code requires {
#include "script/parse.h"
}

%code {
#include <stdlib.h>
#include <string.h>

int hsplex(HSPSTYPE *val, HSPLTYPE *loc, hs_lexer *lx);
static void hsperror(HSPLTYPE *loc, hs_lexer *lx, const char *msg);

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                \
    do {                                                                           \
        if (N) {                                                                   \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                                    \
            (Cur).line = YYRHSLOC(Rhs, 1).line;                                    \
            (Cur).col = YYRHSLOC(Rhs, 1).col;                                      \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                            \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                              \
        } else {                                                                   \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                                    \
            (Cur).line = (Cur).end_line = YYRHSLOC(Rhs, 0).end_line;               \
            (Cur).col = (Cur).end_col = YYRHSLOC(Rhs, 0).end_col + 1;              \
        }                                                                          \
    } while (0)

#define A (&lx->prog->arena)
static hs_node *node(hs_lexer *lx, hs_kind k, hs_span s) { return hs_new(&lx->prog->arena, k, s); }
static hs_node *binary(hs_lexer *lx, hs_span s, hs_op op, hs_node *a, hs_node *b)
{
    hs_node *n = node(lx, HS_BINARY, s);
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}
static hs_node *named(hs_lexer *lx, hs_kind k, hs_span s, const char *name, hs_node *a)
{
    hs_node *n = node(lx, k, s);
    n->name = name;
    n->a = a;
    return n;
}
static hs_list one(hs_lexer *lx, hs_node *n)
{
    hs_list l = {0};
    hs_list_push(&lx->prog->arena, &l, n);
    return l;
}
}

%union {
    char *str;
    hs_node *node;
    hs_list list;
}

%token <str> IDENT "identifier" INT "integer" FLOAT "number" STRING "string"
%token NEWLINE "end of line"
%token MODULE "module" FN "fn" PARAM "param" LET "let" RETURN "return" FOR "for" IN "in"
%token IF "if" ELSE "else" IMPORT "import" EXPORT "export" TRUE "true" FALSE "false"
%token AND "and" OR "or" NOT "not" TRAIN "train" WITH "with"
%token ELLIPSIS "..." DOTDOT ".." POW "**" IDIV "//" ARROW "->" LE "<=" GE ">=" EQ "==" NE "!="

%nterm <node> item member stmt expr type formal arg index_item opt_expr dim fn opt_ret ret_item
%nterm <list> items members stmts block formals formals_ne args args_ne exprs exprs_ne index_items dims dims_ne ret_items let_names

%right IF ELSE
%left OR
%left AND
%precedence NOT
%nonassoc '<' '>' LE GE EQ NE
%left '+' '-'
%left '*' '/' '%' '@' IDIV
%precedence UMINUS
%right POW
%precedence '(' '['

%%

program:
    items
    ;

items:
    %empty                      { $$ = (hs_list){0}; }
  | items NEWLINE               { $$ = $1; }
  | items item NEWLINE          { $$ = $1; if ($2) hs_list_push(A, lx->out, $2); }
  | items error NEWLINE         { $$ = $1; yyerrok; }
  ;

item:
    IMPORT STRING               { $$ = named(lx, HS_IMPORT, @$, $2, NULL); }
  | MODULE IDENT '(' formals ')' '{' members '}'
                                { $$ = named(lx, HS_MODULE, @$, $2, NULL); $$->list = $4; $$->list2 = $7; }
  | MODULE IDENT '{' members '}'
                                { $$ = named(lx, HS_MODULE, @$, $2, NULL); $$->list2 = $4; }
  | fn                          { $$ = $1; }
  | EXPORT IDENT '=' expr       { $$ = named(lx, HS_EXPORT, @$, $2, $4); }
  | TRAIN IDENT '.' IDENT WITH expr
                                { $$ = named(lx, HS_TRAIN, @$, $2, $6); $$->b = named(lx, HS_NAME, @4, $4, NULL);
                                  $$->c = named(lx, HS_NAME, @2, $2, NULL); }
  ;

fn:
    FN IDENT '(' formals ')' opt_ret block
                                { $$ = named(lx, HS_FN, @$, $2, $6); $$->list = $4; $$->list2 = $7;
                                  $$->span.end_line = @6.end_line; $$->span.end_col = @6.end_col;
                                  if (!$6) { $$->span.end_line = @5.end_line; $$->span.end_col = @5.end_col; } }
  ;

opt_ret:
    %empty                      { $$ = NULL; }
  | ARROW type                  { $$ = $2; }
  | ARROW '(' ret_items ')'     { $$ = node(lx, HS_TUPLE_TYPE, @3); $$->list = $3; }
  ;

let_names:
    IDENT ',' IDENT             { $$ = one(lx, named(lx, HS_NAME, @1, $1, NULL));
                                  hs_list_push(A, &$$, named(lx, HS_NAME, @3, $3, NULL)); }
  | let_names ',' IDENT         { $$ = $1; hs_list_push(A, &$$, named(lx, HS_NAME, @3, $3, NULL)); }
  ;

ret_items:
    ret_item                    { $$ = one(lx, $1); }
  | ret_items ',' ret_item      { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

ret_item:
    type                        { $$ = $1; }
  | IDENT ':' type              { $$ = named(lx, HS_FORMAL, @$, $1, $3); }
  ;

members:
    %empty                      { $$ = (hs_list){0}; }
  | members NEWLINE             { $$ = $1; }
  | members member NEWLINE      { $$ = $1; hs_list_push(A, &$$, $2); }
  | members error NEWLINE       { $$ = $1; yyerrok; }
  ;

member:
    PARAM IDENT ':' type        { $$ = named(lx, HS_PARAM, @$, $2, $4); }
  | PARAM IDENT ':' type '=' expr
                                { $$ = named(lx, HS_PARAM, @$, $2, $4); $$->b = $6; }
  | PARAM IDENT ':' type '=' expr IF expr
                                { $$ = named(lx, HS_PARAM, @$, $2, $4); $$->b = $6; $$->c = $8; }
  | IDENT '=' expr              { $$ = named(lx, HS_SUB, @$, $1, $3); }
  | fn                          { $$ = $1; }
  ;

block:
    '{' stmts '}'               { $$ = $2; }
  ;

stmts:
    %empty                      { $$ = (hs_list){0}; }
  | stmts NEWLINE               { $$ = $1; }
  | stmts stmt NEWLINE          { $$ = $1; hs_list_push(A, &$$, $2); }
  | stmts error NEWLINE         { $$ = $1; yyerrok; }
  ;

stmt:
    LET IDENT '=' expr          { $$ = named(lx, HS_LET, @$, $2, $4); }
  | LET '(' let_names ')' '=' expr
                                { $$ = node(lx, HS_LET, @$); $$->a = $6; $$->list = $3; }
  | IDENT '=' expr              { $$ = named(lx, HS_ASSIGN, @$, $1, $3); }
  | RETURN expr                 { $$ = node(lx, HS_RETURN, @$); $$->a = $2; }
  | FOR IDENT IN expr DOTDOT expr block
                                { $$ = named(lx, HS_FOR, @$, $2, $4); $$->b = $6; $$->list = $7;
                                  $$->span.end_line = @6.end_line; $$->span.end_col = @6.end_col; }
  | IF expr block               { $$ = node(lx, HS_IF, @$); $$->a = $2; $$->list = $3;
                                  $$->span.end_line = @2.end_line; $$->span.end_col = @2.end_col; }
  | IF expr block ELSE block    { $$ = node(lx, HS_IF, @$); $$->a = $2; $$->list = $3; $$->list2 = $5;
                                  $$->span.end_line = @2.end_line; $$->span.end_col = @2.end_col; }
  ;

formals:
    %empty                      { $$ = (hs_list){0}; }
  | formals_ne                  { $$ = $1; }
  | formals_ne ','              { $$ = $1; }
  ;

formals_ne:
    formal                      { $$ = one(lx, $1); }
  | formals_ne ',' formal       { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

formal:
    IDENT ':' type              { $$ = named(lx, HS_FORMAL, @$, $1, $3); }
  | IDENT ':' type '=' expr     { $$ = named(lx, HS_FORMAL, @$, $1, $3); $$->b = $5; }
  ;

type:
    IDENT                       { $$ = named(lx, HS_TYPE, @$, $1, NULL); }
  | IDENT '[' dims ']'          { $$ = named(lx, HS_TYPE, @$, $1, NULL); $$->list = $3; $$->ival = 1; }
  ;

dims:
    %empty                      { $$ = (hs_list){0}; }
  | dims_ne                     { $$ = $1; }
  ;

dims_ne:
    dim                         { $$ = one(lx, $1); }
  | dims_ne ',' dim             { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

dim:
    expr                        { $$ = $1; }
  | ELLIPSIS                    { $$ = node(lx, HS_ELLIPSIS, @$); }
  ;

expr:
    INT                         { $$ = named(lx, HS_INT, @$, $1, NULL); }
  | FLOAT                       { $$ = named(lx, HS_FLOAT, @$, $1, NULL); }
  | STRING                      { $$ = named(lx, HS_STRING, @$, $1, NULL); }
  | TRUE                        { $$ = node(lx, HS_BOOL, @$); $$->ival = 1; }
  | FALSE                       { $$ = node(lx, HS_BOOL, @$); }
  | IDENT                       { $$ = named(lx, HS_NAME, @$, $1, NULL); }
  | '(' expr ')'                { $$ = $2; $$->span = @$; }
  | '(' expr ',' exprs ')'      { $$ = node(lx, HS_LIST, @$); $$->ival = 1; $$->list = one(lx, $2);
                                  for (size_t i = 0; i < $4.n; i++) hs_list_push(A, &$$->list, $4.items[i]); }
  | expr '+' expr               { $$ = binary(lx, @$, HS_OP_ADD, $1, $3); }
  | expr '-' expr               { $$ = binary(lx, @$, HS_OP_SUB, $1, $3); }
  | expr '*' expr               { $$ = binary(lx, @$, HS_OP_MUL, $1, $3); }
  | expr '/' expr               { $$ = binary(lx, @$, HS_OP_DIV, $1, $3); }
  | expr '%' expr               { $$ = binary(lx, @$, HS_OP_MOD, $1, $3); }
  | expr IDIV expr              { $$ = binary(lx, @$, HS_OP_IDIV, $1, $3); }
  | expr '@' expr               { $$ = binary(lx, @$, HS_OP_MATMUL, $1, $3); }
  | expr POW expr               { $$ = binary(lx, @$, HS_OP_POW, $1, $3); }
  | expr '<' expr               { $$ = binary(lx, @$, HS_OP_LT, $1, $3); }
  | expr LE expr                { $$ = binary(lx, @$, HS_OP_LE, $1, $3); }
  | expr '>' expr               { $$ = binary(lx, @$, HS_OP_GT, $1, $3); }
  | expr GE expr                { $$ = binary(lx, @$, HS_OP_GE, $1, $3); }
  | expr EQ expr                { $$ = binary(lx, @$, HS_OP_EQ, $1, $3); }
  | expr NE expr                { $$ = binary(lx, @$, HS_OP_NE, $1, $3); }
  | expr AND expr               { $$ = binary(lx, @$, HS_OP_AND, $1, $3); }
  | expr OR expr                { $$ = binary(lx, @$, HS_OP_OR, $1, $3); }
  | '-' expr %prec UMINUS       { $$ = node(lx, HS_UNARY, @$); $$->op = HS_OP_NEG; $$->a = $2; }
  | NOT expr                    { $$ = node(lx, HS_UNARY, @$); $$->op = HS_OP_NOT; $$->a = $2; }
  | expr IF expr ELSE expr      { $$ = node(lx, HS_COND, @$); $$->a = $1; $$->b = $3; $$->c = $5; }
  | expr '(' args ')'           { $$ = node(lx, HS_CALL, @$); $$->a = $1; $$->list = $3; }
  | expr '[' index_items ']'    { $$ = node(lx, HS_INDEX, @$); $$->a = $1; $$->list = $3; }
  | '[' exprs ']'               { $$ = node(lx, HS_LIST, @$); $$->list = $2; }
  | '[' expr FOR IDENT IN expr DOTDOT expr ']'
                                { $$ = named(lx, HS_LISTCOMP, @$, $4, $2); $$->b = $6; $$->c = $8; }
  ;

exprs:
    %empty                      { $$ = (hs_list){0}; }
  | exprs_ne                    { $$ = $1; }
  | exprs_ne ','                { $$ = $1; }
  ;

exprs_ne:
    expr                        { $$ = one(lx, $1); }
  | exprs_ne ',' expr           { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

args:
    %empty                      { $$ = (hs_list){0}; }
  | args_ne                     { $$ = $1; }
  | args_ne ','                 { $$ = $1; }
  ;

args_ne:
    arg                         { $$ = one(lx, $1); }
  | args_ne ',' arg             { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

arg:
    expr                        { $$ = named(lx, HS_ARG, @$, NULL, $1); }
  | IDENT '=' expr              { $$ = named(lx, HS_ARG, @$, $1, $3); }
  ;

index_items:
    index_item                  { $$ = one(lx, $1); }
  | index_items ',' index_item  { $$ = $1; hs_list_push(A, &$$, $3); }
  ;

index_item:
    expr                        { $$ = $1; }
  | ELLIPSIS                    { $$ = node(lx, HS_ELLIPSIS, @$); }
  | opt_expr ':' opt_expr       { $$ = node(lx, HS_SLICE, @$); $$->a = $1; $$->b = $3; }
  | opt_expr ':' opt_expr ':' opt_expr
                                { $$ = node(lx, HS_SLICE, @$); $$->a = $1; $$->b = $3; $$->c = $5; }
  ;

opt_expr:
    %empty                      { $$ = NULL; }
  | expr                        { $$ = $1; }
  ;

%%

static void hsperror(HSPLTYPE *loc, hs_lexer *lx, const char *msg)
{
    lx->n_errors++;
    hs_error(lx->prog, *loc, "%s", msg);
}
