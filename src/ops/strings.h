/*
 * ops/strings.h - the string family's semantic face for backends
 * (ops/strings.c): StringConcat, StringSplit, RegexFullMatch,
 * StringNormalizer and ai.onnx.ml LabelEncoder, plus Equal on strings
 * (an elementwise op whose string form the family lowers).  Elements are
 * hodu_string (hodu_abi.h).  The getters expect a node inference accepted
 * and return false (reporting nothing) otherwise.
 */
#ifndef HODU_OPS_STRINGS_H
#define HODU_OPS_STRINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "util/util.h"

/* RegexFullMatch's pattern (RE2 syntax, as ONNX names it) rewritten as a
 * POSIX extended regular expression anchored at both ends, "^(...)$", for
 * regcomp(REG_EXTENDED | REG_NOSUB).  Supported: literals, '.', classes
 * [...] (with \w \d \s inside, and ranges), the escapes \w \W \d \D \s \S
 * (as [[:alnum:]_], [0-9], [[:space:]] and their complements), \b \B (the
 * GNU word boundaries glibc's regcomp knows), escaped punctuation, \n \t
 * \r \f \v, groups, alternation, ^ $, and the quantifiers * + ? {n,m} (a
 * lazy '?' after one is dropped: it changes which match is found, never
 * whether the whole string matches).  Refused with a reason: (?...)
 * groups and flags, \p classes, \A \z \Q, back-references, \W \D \S
 * inside [...].  Returns false with *why (the caller frees) on a refusal;
 * the caller still runs regcomp on the result. */
bool str_regex_to_ere(const char *re2, hd_buf *ere, char **why);

/* ImageDecoder's pixel_format as hodu_abi.h's HODU_PIXEL_RGB, _BGR,
 * _GRAY; -1 for another (inference refuses it). */
int image_pixel_format(const ir_node *n);

/* LabelEncoder (ai.onnx.ml, opset 2 to 4): keys of type string or int64
 * (keys_strings, keys_int64s, keys_tensor), values of type string, int64,
 * float (values_strings, values_int64s, values_floats) or a values_tensor
 * of string, int16, int32, int64, float or double; the default from
 * default_string / default_int64 / default_float / default_tensor.  Keys
 * are distinct (a repeated key is an error). */
typedef enum label_src { LABEL_STRINGS, LABEL_INTS, LABEL_FLOATS, LABEL_TENSOR } label_src;

typedef struct label_plan {
    hodu_dtype key_type, value_type;
    size_t n;
    char *const *skeys;   /* key_type STRING */
    const int64_t *ikeys; /* key_type I64 */
    label_src vsrc;
    char *const *svals;    /* LABEL_STRINGS */
    const int64_t *ivals;  /* LABEL_INTS */
    const double *fvals;   /* LABEL_FLOATS */
    const ir_value *tvals; /* LABEL_TENSOR (numeric) */
    const char *sdefault;  /* value_type STRING */
    double fdefault;       /* float value types */
    int64_t idefault;      /* integer value types */
} label_plan;

bool label_plan_of(const ir_graph *g, int node, label_plan *p);

/* StringNormalizer: X [C] or [1, C]; elements equal to a stopword
 * (compared byte for byte, or after ASCII lower-casing when not case
 * sensitive) are dropped, the rest case-changed (ASCII letters only);
 * when none is left the output is one empty string. */
typedef enum str_case { STR_CASE_NONE, STR_CASE_LOWER, STR_CASE_UPPER } str_case;

typedef struct strnorm_plan {
    int64_t C;
    str_case change;
    bool case_sensitive;
    size_t n_stops;
    char *const *stops;
} strnorm_plan;

bool strnorm_plan_of(const ir_graph *g, int node, strnorm_plan *p);

#endif /* HODU_OPS_STRINGS_H */
