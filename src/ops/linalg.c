/*
 * ops/linalg.c - the linalg op family: Einsum (opset 12), Det (11, 22: 22
 * only widens the types), and two ops that sit here because they are
 * neither reductions nor shape plumbing: LRN (1, 13) and TensorScatter
 * (24).  Plans are exported in linalg.h.
 *
 * Einsum.  The equation is model text: it is parsed strictly and every
 * defect is an error naming the node.  Terms hold letters (a-z, A-Z) and at
 * most one "..."; spaces are ignored; the optional "->" gives the output
 * (explicit form), else the output is the ellipsis dims followed by the
 * letters that occur once, in ASCII order (implicit form).  A label has
 * one size, except that a dim of size 1 broadcasts against other inputs
 * (numpy's and onnxruntime's rule; a label repeated inside one input must
 * have equal dims).  The output may
 * not repeat a letter nor name one no input has, and must keep the
 * ellipsis when it stands for any dims.
 *
 * Evaluation order, shared with the backends: each input is reduced alone
 * first (diagonals, labels used nowhere else), then the inputs are
 * contracted left to right, two at a time, each step a batched matrix
 * product C[batch, m, n] = A[batch, m, k] B[batch, k, n]; the last result
 * is permuted into the output.  The work is then bounded by the operand
 * and output sizes, never by the product of all label sizes.
 *
 * Det: the determinant of each trailing n x n matrix.  LRN: cross-channel
 * local response normalisation.  TensorScatter: the KV-cache update; see
 * infer_tscatter for what hostile write indices do.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "linalg.h"
#include "ops_impl.h"

/* ======================================================================== */
/* Einsum                                                                    */
/* ======================================================================== */

/* Longest equation accepted (after removing spaces). */
#define EINSUM_MAX_EQUATION 1024

static const op_attr_spec einsum_attrs[] = {{"equation", IR_ATTR_STRING}, {NULL, 0}};

static int ein_letter(int ch)
{
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a';
    if (ch >= 'A' && ch <= 'Z')
        return 26 + ch - 'A';
    return -1;
}

static char ein_char(int l) { return (char)(l < 26 ? 'a' + l : 'A' + (l - 26)); }

static bool ein_is_float(hodu_dtype t) { return t == HODU_DTYPE_F16 || t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64; }

static bool ein_dtype_ok(hodu_dtype t) { return ir_dtype_is_int(t) || ein_is_float(t); }

/* One term as written: its letters and where "..." sits (-1: nowhere). */
typedef struct ein_term {
    int n, ell;
    signed char l[HODU_MAX_RANK];
} ein_term;

static bool ein_parse_term(op_ctx *c, const char *s, size_t len, const char *what, ein_term *t)
{
    t->n = 0;
    t->ell = -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return op_fail(c, "equation: %s has a '.' that is not part of '...'", what);
            if (t->ell >= 0)
                return op_fail(c, "equation: %s has more than one '...'", what);
            t->ell = t->n;
            i += 2;
            continue;
        }
        int l = ein_letter(ch);
        if (l < 0) {
            if (isprint(ch))
                return op_fail(c, "equation: %s holds '%c'; terms hold only letters and '...'", what, ch);
            return op_fail(c, "equation: %s holds byte 0x%02x; terms hold only letters and '...'", what, ch);
        }
        if (t->n >= HODU_MAX_RANK)
            return op_fail(c, "equation: %s has more than %d labels", what, HODU_MAX_RANK);
        t->l[t->n++] = (signed char)l;
    }
    return true;
}

static void ein_push(einsum_labels *t, int l) { t->l[t->n++] = (signed char)l; }

static bool ein_has(const einsum_labels *t, int l)
{
    for (int i = 0; i < t->n; i++)
        if (t->l[i] == l)
            return true;
    return false;
}

int64_t einsum_numel(const einsum_plan *p, const einsum_labels *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->n; i++)
        n = op_sat_mul(n, p->size[t->l[i]]);
    return n;
}

/* Per-input reduction and the left-to-right contraction steps. */
static bool ein_schedule(op_ctx *c, einsum_plan *p)
{
    int ni = p->n_in;
    p->n_steps = ni > 1 ? ni - 1 : 0;
    p->last_is_out = false;
    if (ni == 1)
        return true;
    for (int i = 0; i < ni; i++) {
        einsum_labels *pr = &p->prep[i];
        const einsum_labels *in = &p->in[i];
        pr->n = 0;
        bool need = false;
        for (int d = 0; d < in->n; d++) {
            int l = in->l[d];
            if (ein_has(pr, l)) {
                need = true; /* a diagonal */
                continue;
            }
            bool used = ein_has(&p->out, l);
            for (int j = 0; j < ni && !used; j++)
                used = j != i && ein_has(&p->in[j], l);
            if (!used) {
                need = true; /* summed here and now */
                continue;
            }
            if (ir_val(c->g, ir_nd(c->g, c->node)->inputs[i])->dims[d].size != p->size[l])
                need = true; /* a broadcast dim, widened */
            ein_push(pr, l);
        }
        p->prep_needed[i] = need;
        /* widened broadcast dims can make it larger than the input */
        int64_t numel = einsum_numel(p, pr);
        if (numel > (int64_t)HODU_MAX_TENSOR_ELEMS)
            return op_fail(c, "input %d broadcast to the other inputs has %" PRId64 " elements; too large", i, numel);
    }
    einsum_labels t = p->prep[0];
    for (int s = 0; s < p->n_steps; s++) {
        einsum_step *st = &p->step[s];
        const einsum_labels *b = &p->prep[s + 1];
        memset(st, 0, sizeof(*st));
        bool after[EINSUM_MAX_LABELS] = {false};
        for (int i = 0; i < p->out.n; i++)
            after[p->out.l[i]] = true;
        for (int j = s + 2; j < ni; j++)
            for (int i = 0; i < p->prep[j].n; i++)
                after[p->prep[j].l[i]] = true;
        for (int i = 0; i < t.n; i++) {
            int l = t.l[i];
            if (!ein_has(b, l))
                ein_push(&st->m, l);
            else if (after[l])
                ein_push(&st->batch, l);
            else
                ein_push(&st->k, l);
        }
        for (int i = 0; i < b->n; i++)
            if (!ein_has(&t, b->l[i]))
                ein_push(&st->n, b->l[i]);
        if (s == p->n_steps - 1 && p->out.n == st->batch.n + st->m.n + st->n.n) {
            /* When the output lists batch, then m, then n labels, the
             * product writes it directly. */
            int nb = st->batch.n, nm = st->m.n;
            bool ok = true;
            for (int i = 0; i < p->out.n && ok; i++) {
                int l = p->out.l[i];
                const einsum_labels *g = i < nb ? &st->batch : (i < nb + nm ? &st->m : &st->n);
                ok = ein_has(g, l);
            }
            if (ok) {
                for (int i = 0; i < p->out.n; i++) {
                    einsum_labels *g = i < nb ? &st->batch : (i < nb + nm ? &st->m : &st->n);
                    g->l[i < nb ? i : (i < nb + nm ? i - nb : i - nb - nm)] = p->out.l[i];
                }
                p->last_is_out = true;
            }
        }
        t.n = 0;
        for (int i = 0; i < st->batch.n; i++)
            ein_push(&t, st->batch.l[i]);
        for (int i = 0; i < st->m.n; i++)
            ein_push(&t, st->m.l[i]);
        for (int i = 0; i < st->n.n; i++)
            ein_push(&t, st->n.l[i]);
        int64_t numel = einsum_numel(p, &t);
        if (numel > (int64_t)HODU_MAX_TENSOR_ELEMS)
            return op_fail(c, "the product of inputs 0..%d has %" PRId64 " elements; too large", s + 1, numel);
    }
    return true;
}

static bool einsum_get(op_ctx *c, einsum_plan *p)
{
    const ir_node *n = op_node(c);
    memset(p, 0, sizeof(*p));
    const char *eq = ir_attr_string(n, "equation", NULL);
    if (!eq)
        return op_fail(c, "attribute 'equation' is required");
    char buf[EINSUM_MAX_EQUATION + 1];
    size_t len = 0;
    for (const char *s = eq; *s; s++) {
        if (*s == ' ')
            continue;
        if (len == EINSUM_MAX_EQUATION)
            return op_fail(c, "equation: longer than %d characters", EINSUM_MAX_EQUATION);
        buf[len++] = *s;
    }
    buf[len] = '\0';
    if (n->n_inputs > EINSUM_MAX_INPUTS)
        return op_fail(c, "has %zu inputs; at most %d are supported", n->n_inputs, EINSUM_MAX_INPUTS);
    int ni = (int)n->n_inputs;
    p->n_in = ni;
    const ir_value *x0 = op_need_static(c, 0);
    if (!x0)
        return false;
    if (!ein_dtype_ok(x0->dtype))
        return op_fail(c, "type %s is not supported", ir_dtype_name(x0->dtype));
    for (int i = 1; i < ni; i++) {
        const ir_value *x = op_need_static(c, (size_t)i);
        if (!x)
            return false;
        if (x->dtype != x0->dtype)
            return op_fail(c, "input '%s' has type %s; input '%s' has %s", x->name, ir_dtype_name(x->dtype), x0->name,
                           ir_dtype_name(x0->dtype));
    }
    /* "->" at most once, and '-' / '>' nowhere else */
    const char *arrow = strstr(buf, "->");
    int dashes = 0, gts = 0;
    for (size_t i = 0; i < len; i++) {
        dashes += buf[i] == '-';
        gts += buf[i] == '>';
    }
    if (dashes != (arrow ? 1 : 0) || gts != (arrow ? 1 : 0))
        return op_fail(c, "equation: '-' and '>' may appear only once, together as '->'");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;
    /* the input terms */
    ein_term terms[EINSUM_MAX_INPUTS];
    int nt = 0, ell = 0;
    size_t at = 0;
    for (;;) {
        size_t end = at;
        while (end < lhs_len && buf[end] != ',')
            end++;
        if (nt == ni)
            return op_fail(c, "equation: more terms than the %d inputs", ni);
        char what[40];
        snprintf(what, sizeof(what), "the term of input %d", nt);
        if (!ein_parse_term(c, buf + at, end - at, what, &terms[nt]))
            return false;
        const ir_value *x = op_in(c, (size_t)nt);
        const ein_term *t = &terms[nt];
        if (t->ell < 0 && t->n != x->rank)
            return op_fail(c, "equation: input %d ('%s') has rank %d but its term has %d labels", nt, x->name, x->rank,
                           t->n);
        if (t->ell >= 0 && t->n > x->rank)
            return op_fail(c, "equation: input %d ('%s') has rank %d but its term has %d labels besides '...'", nt,
                           x->name, x->rank, t->n);
        if (t->ell >= 0 && x->rank - t->n > ell)
            ell = x->rank - t->n;
        nt++;
        if (end == lhs_len)
            break;
        at = end + 1;
    }
    if (nt != ni)
        return op_fail(c, "equation: %d terms for %d inputs", nt, ni);
    /* labels per input dim and their sizes */
    int first[EINSUM_MAX_LABELS];
    for (int l = 0; l < EINSUM_MAX_LABELS; l++) {
        p->size[l] = -1;
        first[l] = -1;
    }
    bool any_ell = false;
    for (int i = 0; i < ni; i++) {
        const ein_term *t = &terms[i];
        const ir_value *x = op_in(c, (size_t)i);
        einsum_labels *in = &p->in[i];
        int e = t->ell >= 0 ? x->rank - t->n : 0;
        any_ell = any_ell || t->ell >= 0;
        in->n = 0;
        for (int j = 0; j <= t->n; j++) {
            if (j == t->ell)
                for (int k = 0; k < e; k++)
                    ein_push(in, EINSUM_ELL0 + ell - e + k);
            if (j < t->n)
                ein_push(in, t->l[j]);
        }
        for (int d = 0; d < in->n; d++) {
            int l = in->l[d];
            int64_t s = x->dims[d].size;
            for (int k = 0; k < d; k++)
                if (in->l[k] == l && x->dims[k].size != s)
                    return op_fail(c,
                                   "equation: input %d repeats label '%c' over dims of sizes %" PRId64 " and %" PRId64,
                                   i, ein_char(l), x->dims[k].size, s);
            if (p->size[l] < 0) {
                p->size[l] = s;
                first[l] = i;
            } else if (s != p->size[l] && first[l] != i) {
                /* across inputs a size of 1 broadcasts, as numpy does */
                if (s != 1 && p->size[l] != 1) {
                    if (l >= EINSUM_ELL0)
                        return op_fail(c,
                                       "equation: the '...' dims of inputs %d and %d (sizes %" PRId64 " and %" PRId64
                                       ") do not broadcast",
                                       first[l], i, p->size[l], s);
                    return op_fail(c,
                                   "equation: label '%c' has size %" PRId64 " in input %d and %" PRId64 " in input %d",
                                   ein_char(l), p->size[l], first[l], s, i);
                }
                if (s != 1)
                    p->size[l] = s;
            }
        }
    }
    /* the output */
    p->out.n = 0;
    if (arrow) {
        ein_term o;
        if (!ein_parse_term(c, arrow + 2, len - lhs_len - 2, "the output term", &o))
            return false;
        if (o.ell >= 0 && !any_ell)
            return op_fail(c, "equation: the output has '...' but no input does");
        if (o.ell < 0 && ell > 0)
            return op_fail(c, "equation: the inputs' '...' stands for %d dims; the output must keep it", ell);
        if (o.n + ell > HODU_MAX_RANK)
            return op_fail(c, "equation: the output has rank %d; at most %d is supported", o.n + ell, HODU_MAX_RANK);
        for (int j = 0; j < o.n; j++) {
            for (int k = 0; k < j; k++)
                if (o.l[k] == o.l[j])
                    return op_fail(c, "equation: the output repeats label '%c'", ein_char(o.l[j]));
            if (p->size[o.l[j]] < 0)
                return op_fail(c, "equation: output label '%c' appears in no input", ein_char(o.l[j]));
        }
        for (int j = 0; j <= o.n; j++) {
            if (j == o.ell)
                for (int k = 0; k < ell; k++)
                    ein_push(&p->out, EINSUM_ELL0 + k);
            if (j < o.n)
                ein_push(&p->out, o.l[j]);
        }
    } else {
        int count[EINSUM_ELL0] = {0};
        for (int i = 0; i < ni; i++)
            for (int j = 0; j < terms[i].n; j++)
                count[terms[i].l[j]]++;
        int rank = ell;
        for (int l = 0; l < EINSUM_ELL0; l++)
            rank += count[l] == 1;
        if (rank > HODU_MAX_RANK)
            return op_fail(c, "equation: the output has rank %d; at most %d is supported", rank, HODU_MAX_RANK);
        for (int k = 0; k < ell; k++)
            ein_push(&p->out, EINSUM_ELL0 + k);
        for (int l = 26; l < 52; l++) /* ASCII order: upper case first */
            if (count[l] == 1)
                ein_push(&p->out, l);
        for (int l = 0; l < 26; l++)
            if (count[l] == 1)
                ein_push(&p->out, l);
    }
    return ein_schedule(c, p);
}

static bool infer_einsum(op_ctx *c)
{
    einsum_plan p;
    if (!einsum_get(c, &p))
        return false;
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < p.out.n; i++)
        dims[i] = p.size[p.out.l[i]];
    op_set_out(c, 0, op_in(c, 0)->dtype, p.out.n, dims);
    return true;
}

bool einsum_plan_of(const ir_graph *g, int node, einsum_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return einsum_get(&c, p);
}

static int64_t ein_sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

static int64_t flops_einsum(const ir_graph *g, int node)
{
    einsum_plan p;
    if (!einsum_plan_of(g, node, &p))
        return 0;
    int64_t f = 0;
    for (int i = 0; i < p.n_in; i++)
        f = ein_sat_add(f, ir_value_numel(ir_val(g, ir_nd(g, node)->inputs[i])));
    for (int s = 0; s < p.n_steps; s++) {
        const einsum_step *st = &p.step[s];
        int64_t w = op_sat_mul(op_sat_mul(einsum_numel(&p, &st->batch), einsum_numel(&p, &st->m)),
                               op_sat_mul(einsum_numel(&p, &st->n), einsum_numel(&p, &st->k)));
        f = ein_sat_add(f, op_sat_mul(w, 2));
    }
    return f;
}

/* ======================================================================== */
/* Det                                                                       */
/* ======================================================================== */

static bool det_get(op_ctx *c, det_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; Det needs [..., n, n]", x->name, x->rank);
    int r = x->rank;
    if (x->dims[r - 1].size != x->dims[r - 2].size)
        return op_fail(c, "input '%s' ends in %" PRId64 " x %" PRId64 " matrices; they must be square", x->name,
                       x->dims[r - 2].size, x->dims[r - 1].size);
    p->n = x->dims[r - 1].size;
    p->batch = 1;
    for (int i = 0; i < r - 2; i++)
        p->batch *= x->dims[i].size; /* a part of a tensor within the limits */
    return true;
}

static bool infer_det(op_ctx *c)
{
    det_plan p;
    if (!det_get(c, &p))
        return false;
    const ir_value *x = op_in(c, 0);
    int64_t dims[HODU_MAX_RANK];
    for (int i = 0; i < x->rank - 2; i++)
        dims[i] = x->dims[i].size;
    op_set_out(c, 0, x->dtype, x->rank - 2, dims);
    return true;
}

bool det_plan_of(const ir_graph *g, int node, det_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return det_get(&c, p);
}

static int64_t flops_det(const ir_graph *g, int node)
{
    det_plan p = {0}; /* gcc -O3 cannot see det_plan_of set it */
    if (!det_plan_of(g, node, &p))
        return 0;
    /* LU: about 2/3 n^3 per matrix */
    return op_sat_mul(p.batch, op_sat_mul(op_sat_mul(p.n, p.n), p.n) / 3 * 2 + 1);
}

/* ======================================================================== */
/* LRN                                                                       */
/* ======================================================================== */
/* Y[n, c, d...] = X[n, c, d...] / (bias + alpha / size * S)^beta, S the sum
 * of X[n, i, d...]^2 over i in [c - floor((size-1)/2), c + ceil((size-1)/2)]
 * inside [0, C).  Any rank >= 2. */

static const op_attr_spec lrn_attrs[] = {
    {"alpha", IR_ATTR_FLOAT}, {"beta", IR_ATTR_FLOAT}, {"bias", IR_ATTR_FLOAT}, {"size", IR_ATTR_INT}, {NULL, 0}};

static bool lrn_get(op_ctx *c, lrn_plan *p)
{
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (!ir_dtype_is_float(x->dtype))
        return op_fail(c, "input '%s' has type %s; floating-point tensors only", x->name, ir_dtype_name(x->dtype));
    if (x->rank < 2)
        return op_fail(c, "input '%s' has rank %d; LRN needs [N, C, ...]", x->name, x->rank);
    const ir_node *n = op_node(c);
    const ir_attr *sz = ir_attr_find(n, "size");
    if (!sz)
        return op_fail(c, "attribute 'size' is required");
    if (sz->i < 1)
        return op_fail(c, "attribute 'size' = %" PRId64 " must be at least 1", sz->i);
    p->size = sz->i;
    p->lo = (sz->i - 1) / 2;
    p->hi = sz->i / 2; /* ceil((size - 1) / 2) */
    p->alpha = ir_attr_float(n, "alpha", 0.0001);
    p->beta = ir_attr_float(n, "beta", 0.75);
    p->bias = ir_attr_float(n, "bias", 1.0);
    p->outer = x->dims[0].size;
    p->C = x->dims[1].size;
    p->inner = 1;
    for (int i = 2; i < x->rank; i++)
        p->inner *= x->dims[i].size; /* a part of a tensor within the limits */
    return true;
}

static bool infer_lrn(op_ctx *c)
{
    lrn_plan p;
    if (!lrn_get(c, &p))
        return false;
    op_set_out_like(c, 0, op_in(c, 0));
    return true;
}

bool lrn_plan_of(const ir_graph *g, int node, lrn_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return lrn_get(&c, p);
}

static int64_t flops_lrn(const ir_graph *g, int node)
{
    lrn_plan p = {0}; /* gcc -O3 cannot see lrn_plan_of set it */
    if (!lrn_plan_of(g, node, &p))
        return 0;
    int64_t w = p.size < p.C ? p.size : p.C;
    return op_sat_mul(ir_value_numel(ir_val(g, ir_nd(g, node)->inputs[0])), 2 * w + 4);
}

/* ======================================================================== */
/* TensorScatter                                                             */
/* ======================================================================== */
/* present = past with update written along `axis` (not 0: that is the
 * batch) from write_indices[b] for batch entry b (0 without the input).
 * write_indices are run-time data: in linear mode a row whose position
 * falls outside [0, max_sequence_length) is not written (the cache keeps
 * its value there); in circular mode positions wrap modulo
 * max_sequence_length (a negative index wraps too, as Python's % does).
 * Nothing is ever written outside the output. */

static const op_attr_spec tscatter_attrs[] = {{"axis", IR_ATTR_INT}, {"mode", IR_ATTR_STRING}, {NULL, 0}};

static bool tscatter_get(op_ctx *c, tscatter_plan *p)
{
    const ir_value *past = op_need_static(c, 0), *upd = op_need_static(c, 1);
    if (!past || !upd)
        return false;
    if (ir_dtype_size(past->dtype) == 0)
        return op_fail(c, "type %s is not supported", ir_dtype_name(past->dtype));
    if (upd->dtype != past->dtype)
        return op_fail(c, "update '%s' has type %s; past_cache '%s' has %s", upd->name, ir_dtype_name(upd->dtype),
                       past->name, ir_dtype_name(past->dtype));
    int r = past->rank;
    if (r < 2)
        return op_fail(c, "past_cache '%s' has rank %d; at least 2 is needed", past->name, r);
    if (upd->rank != r)
        return op_fail(c, "update '%s' has rank %d; past_cache '%s' has %d", upd->name, upd->rank, past->name, r);
    const ir_node *n = op_node(c);
    int axis;
    if (!op_axis(c, ir_attr_int(n, "axis", -2), r, &axis))
        return false;
    if (axis == 0)
        return op_fail(c, "attribute 'axis' is the batch axis 0; the sequence axis must follow it");
    const char *mode = ir_attr_string(n, "mode", "linear");
    if (strcmp(mode, "linear") == 0)
        p->circular = false;
    else if (strcmp(mode, "circular") == 0)
        p->circular = true;
    else
        return op_fail(c, "attribute 'mode' value '%s' is not supported (linear or circular)", mode);
    for (int i = 0; i < r; i++) {
        int64_t a = past->dims[i].size, b = upd->dims[i].size;
        if (i != axis && a != b)
            return op_fail(c, "update '%s' has size %" PRId64 " on axis %d; past_cache has %" PRId64, upd->name, b, i,
                           a);
        if (i == axis && b > a)
            return op_fail(
                c, "update '%s' has %" PRId64 " positions on the sequence axis %d; past_cache holds only %" PRId64,
                upd->name, b, i, a);
    }
    p->batch = past->dims[0].size;
    p->max_seq = past->dims[axis].size;
    p->seq = upd->dims[axis].size;
    p->mid = 1;
    p->inner = 1;
    for (int i = 1; i < axis; i++)
        p->mid *= past->dims[i].size; /* parts of a tensor within the limits */
    for (int i = axis + 1; i < r; i++)
        p->inner *= past->dims[i].size;
    const ir_value *w = op_in(c, 2);
    p->has_indices = w != NULL;
    if (w) {
        if (!ir_value_is_static(w))
            return op_fail(c, "write_indices '%s' has no static shape", w->name);
        if (w->dtype != HODU_DTYPE_I64)
            return op_fail(c, "write_indices '%s' has type %s; int64 expected", w->name, ir_dtype_name(w->dtype));
        if (w->rank != 1 || w->dims[0].size != p->batch)
            return op_fail(c, "write_indices '%s' must have shape [%" PRId64 "] (one index per batch entry)", w->name,
                           p->batch);
    }
    return true;
}

static bool infer_tscatter(op_ctx *c)
{
    tscatter_plan p;
    if (!tscatter_get(c, &p))
        return false;
    op_set_out_like(c, 0, op_in(c, 0));
    return true;
}

bool tscatter_plan_of(const ir_graph *g, int node, tscatter_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return tscatter_get(&c, p);
}

static int64_t flops_tscatter(const ir_graph *g, int node)
{
    (void)g;
    (void)node;
    return 0; /* data movement only */
}

OP_DEF(EINSUM, .attrs = einsum_attrs, .infer = infer_einsum, .flops = flops_einsum, .grad = einsum_grad);
OP_DEF(DET, .infer = infer_det, .flops = flops_det, .grad = det_grad);
OP_DEF(LRN, .attrs = lrn_attrs, .infer = infer_lrn, .flops = flops_lrn, .grad = lrn_grad);
OP_DEF(TENSOR_SCATTER, .attrs = tscatter_attrs, .infer = infer_tscatter, .flops = flops_tscatter,
       .grad = tscatter_grad);
