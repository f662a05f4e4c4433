/*
 * script/script.h - the HoduScript front end (docs/hoduscript.md).
 *
 * hodu_load_script parses a .hodu program and its imports, checks names,
 * types and shapes (errors carry file:line:col and a source snippet),
 * instantiates the exported module and lowers its forward function into
 * the same IR the ONNX loader builds: ONNX ops with ONNX attributes, one
 * constant per parameter (named by its dotted path, "fc1.weight"), one
 * graph input per forward parameter, the result as the graph output.
 */
#ifndef HODU_SCRIPT_H
#define HODU_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "util/util.h"

/* The checker's type of every value an expression produced: the driver
 * compares them with the IR's own inference in debug builds (a difference
 * is a compiler bug, in the checker or in an op's inference). */
typedef struct hs_expect hs_expect;

/* A program's own training (`train model.loss with adamw(...)`), checked:
 * the optimizer and its settings, and the parameters it leaves alone. */
typedef struct hodu_script_train {
    bool declared;
    const char *optimizer;                            /* "sgd", "adam" or "adamw" (static) */
    double momentum, weight_decay, beta1, beta2, eps; /* PyTorch's defaults where not given */
    double clip_norm;                                 /* 0: none */
    char **frozen;                                    /* parameters that do not train, by dotted name */
    size_t n_frozen, cap_frozen;
} hodu_script_train;
void hodu_script_train_free(hodu_script_train *t);

typedef struct hodu_script_options {
    const char *weights; /* a .safetensors file binding the parameters, or NULL */
    uint64_t seed;       /* seed of the declared initializers (no weights) */
    bool check_only;     /* parse and check; build no graph (returns NULL) */
    hs_expect **expect;  /* when set and a graph is built: receives the types */
    /* The graph is the declared loss function instead of forward: its
     * parameters the inputs, its scalar result the one output. */
    bool train;
    /* A command-line training flag given (its name, e.g. "--optimizer"):
     * with a train declaration that is an error at the declaration. */
    const char *train_flag;
    hodu_script_train *train_out; /* when set: receives the declaration */
} hodu_script_options;

/* After pass_infer_fold: every recorded value must have the dtype, rank and
 * known dims the checker gave it, and each dim name must stand for one
 * inferred dim throughout.  Reports "internal error" lines otherwise. */
bool hs_expect_check(const hs_expect *e, const ir_graph *g, hd_diag *d);
void hs_expect_free(hs_expect *e);

/* Loads `path`.  Returns the graph, or NULL after reporting to `d` (also
 * NULL, with no error, for check_only). */
ir_graph *hodu_load_script(const char *path, const hodu_script_options *opts, hd_diag *d);

/* Parses and checks a program held in memory (named `name` in messages;
 * imports other than std/ are refused): the fuzz target's entry.  Returns
 * true when it has no errors. */
bool hodu_check_script_text(const char *name, const char *text, size_t len, hd_diag *d);

/* hodu --fmt (fmt.c): the canonical layout of a program, comments kept.
 * A text with syntax errors is refused (NULL, the errors in `d`). */
char *hodu_format_script_text(const char *name, const char *text, size_t len, hd_diag *d);
/* Formats the file at `path` to `out`, or in place (a temporary file
 * renamed over it).  False after reporting to `d`. */
bool hodu_format_script(const char *path, bool in_place, FILE *out, hd_diag *d);

/* --- safetensors (weights.c) ---------------------------------------------- */

typedef struct hs_tensor_entry {
    char *name;
    hodu_dtype dtype;
    int rank;
    int64_t dims[HODU_MAX_RANK];
    const uint8_t *data; /* into the file's bytes */
    size_t nbytes;
    bool used;
} hs_tensor_entry;

typedef struct hs_weights {
    uint8_t *bytes; /* the whole file */
    size_t size;
    hs_tensor_entry *t;
    size_t n;
} hs_weights;

/* Parses a safetensors image (`bytes` is kept, not copied: the caller owns
 * it until hs_weights_free, which does not free it).  Every header field is
 * checked against the file: header length, dtype names, shapes, offsets in
 * range, sizes that match dtype and shape, no overlaps.  False and a
 * message (prefixed with `what`) on any problem. */
bool hs_weights_parse(const uint8_t *bytes, size_t size, const char *what, hs_weights *w, hd_diag *d);
void hs_weights_free(hs_weights *w);

#endif /* HODU_SCRIPT_H */
