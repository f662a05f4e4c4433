/*
 * ops/linalg_grad.c - the gradient rules of Einsum, Det, LRN and
 * TensorScatter (ops.h, "gradient rules").  Einsum is linear in each operand, so an operand's gradient is
 * again an Einsum: of the output's gradient with the other operands, onto
 * the operand's labels.  Labels the operand alone sums, and dims it had
 * of size 1 where others broadcast, are summed by that Einsum too and put
 * back by Unsqueeze and Expand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"
#include "ops_impl.h"

static bool labels_have(const einsum_labels *t, int l)
{
    for (int i = 0; i < t->n; i++)
        if (t->l[i] == l)
            return true;
    return false;
}

/* Appends the letters of t to buf at *at (letter[] maps labels). */
static void put_term(char *buf, size_t *at, const einsum_labels *t, const char *letter)
{
    for (int i = 0; i < t->n; i++)
        buf[(*at)++] = letter[t->l[i]];
}

/* An n x n identity of value `like`'s float type. */
static int identity(op_grad_ctx *c, int64_t n, int like)
{
    hodu_dtype t = ir_val(c->g, like)->dtype;
    size_t es = ir_dtype_size(t);
    unsigned char *data = ir_graph_keep(c->g, hd_xcalloc((size_t)(n * n), es));
    for (int64_t k = 0; k < n; k++) {
        if (t == HODU_DTYPE_F64)
            ((double *)data)[k * n + k] = 1.0;
        else
            ((float *)data)[k * n + k] = 1.0f;
    }
    int64_t dims[2] = {n, n};
    return ir_const_new(c->g, NULL, t, 2, dims, data, (size_t)(n * n) * es);
}

/* Einsum node reading ins[0..n) with equation eq. */
static int einsum_op(op_grad_ctx *c, const int *ins, int n, const char *eq)
{
    int r = og_op(c, "Einsum", ins, (size_t)n);
    ir_node_add_attr(c->g, c->last, "equation", IR_ATTR_STRING)->s = hd_xstrdup(eq);
    return r;
}

/* The gradient of operand i; -1 after an error.  An operand that repeats
 * a label reads a diagonal: the gradient is taken for the operand's
 * distinct labels (`term`, sizes dims[]), then written onto the diagonal
 * by an Einsum with an identity per repeat, whose second label is one the
 * equation leaves free (spare). */
static int operand_grad(op_grad_ctx *c, const einsum_plan *p, int i, int dy, const char *letter, const char *spare)
{
    const einsum_labels *in = &p->in[i];
    int64_t x_dims[HODU_MAX_RANK]; /* copied: the value table moves as nodes are added */
    const ir_value *xi = ir_val(c->g, og_x(c, (size_t)i));
    for (int d = 0; d < xi->rank && d < HODU_MAX_RANK; d++)
        x_dims[d] = xi->dims[d].size;
    einsum_labels term = {0};
    int64_t dims[HODU_MAX_RANK];
    bool repeats = false;
    for (int d = 0; d < in->n; d++) {
        if (labels_have(&term, in->l[d])) {
            repeats = true;
            continue;
        }
        dims[term.n] = xi->dims[d].size;
        term.l[term.n++] = in->l[d];
    }
    if (repeats)
        for (int d = 0; d < in->n; d++)
            if (xi->dims[d].rt || xi->dims[d].data_dep) {
                og_none(c, "an operand with a diagonal has a run-time dim");
                return -1;
            }
    /* the term's dims the gradient Einsum gives: labels some other term
     * has, at the size the operand has */
    einsum_labels kept = {0};
    int64_t unsq[HODU_MAX_RANK];
    size_t n_unsq = 0;
    bool expand = false;
    for (int d = 0; d < term.n; d++) {
        int l = term.l[d];
        int64_t got = labels_have(&p->out, l) ? p->size[l] : -1; /* that label's size in the gradient Einsum */
        for (int j = 0; j < p->n_in; j++)
            if (j != i)
                for (int k = 0; k < p->in[j].n; k++)
                    if (p->in[j].l[k] == l && ir_val(c->g, og_x(c, (size_t)j))->dims[k].size > got)
                        got = ir_val(c->g, og_x(c, (size_t)j))->dims[k].size;
        int64_t want = dims[d];
        if (got < 0 || (want == 1 && got != 1)) {
            unsq[n_unsq++] = d;
            expand = expand || want != 1;
            continue;
        }
        expand = expand || got != want;
        kept.l[kept.n++] = (signed char)l;
    }
    char eq[(EINSUM_MAX_INPUTS + 2) * (HODU_MAX_RANK + 1) + 3];
    size_t at = 0;
    int ins[EINSUM_MAX_INPUTS];
    int n_ins = 0;
    ins[n_ins++] = dy;
    put_term(eq, &at, &p->out, letter);
    for (int j = 0; j < p->n_in; j++) {
        if (j == i)
            continue;
        eq[at++] = ',';
        put_term(eq, &at, &p->in[j], letter);
        ins[n_ins++] = og_x(c, (size_t)j);
    }
    eq[at++] = '-';
    eq[at++] = '>';
    put_term(eq, &at, &kept, letter);
    eq[at] = '\0';
    int r = einsum_op(c, ins, n_ins, eq);
    if (n_unsq)
        r = og_axes_op(c, "Unsqueeze", r, unsq, n_unsq);
    if (expand)
        r = og_op2(c, "Expand", r, repeats ? og_i64s(c, dims, (size_t)term.n) : og_shape(c, og_x(c, (size_t)i)));
    if (!repeats)
        return r;
    /* term, then "af" per repeat of label a at a dim given spare letter f,
     * onto the operand's dims */
    char diag[HODU_MAX_RANK * 6 + 4], out[HODU_MAX_RANK + 1];
    at = 0;
    put_term(diag, &at, &term, letter);
    int dins[HODU_MAX_RANK + 1], n_d = 0, n_spare = 0;
    dins[n_d++] = r;
    for (int d = 0; d < in->n; d++) {
        int l = in->l[d];
        bool first = true;
        for (int k = 0; k < d; k++)
            first = first && in->l[k] != l;
        if (first) {
            out[d] = letter[l];
            continue;
        }
        if (!spare[n_spare]) {
            og_none(c, "the equation uses too many letters to name a diagonal's copies");
            return -1;
        }
        out[d] = spare[n_spare++];
        diag[at++] = ',';
        diag[at++] = letter[l];
        diag[at++] = out[d];
        dins[n_d++] = identity(c, x_dims[d], og_x(c, (size_t)i));
    }
    diag[at++] = '-';
    diag[at++] = '>';
    memcpy(diag + at, out, (size_t)in->n);
    diag[at + (size_t)in->n] = '\0';
    return einsum_op(c, dins, n_d, diag);
}

bool einsum_grad(op_grad_ctx *c)
{
    einsum_plan p;
    if (!einsum_plan_of(c->g, c->node, &p))
        return og_none(c, "its equation could not be read");
    /* One letter per label; the "..." dims take letters the equation
     * leaves free. */
    char letter[EINSUM_MAX_LABELS];
    bool used[EINSUM_ELL0] = {false};
    for (int l = 0; l < EINSUM_ELL0; l++)
        if (p.size[l] >= 0)
            used[l] = true;
    int free_l = 0;
    for (int l = 0; l < EINSUM_MAX_LABELS; l++) {
        if (l < EINSUM_ELL0) {
            letter[l] = (char)(l < 26 ? 'a' + l : 'A' + (l - 26));
            continue;
        }
        if (p.size[l] < 0)
            continue;
        while (free_l < EINSUM_ELL0 && used[free_l])
            free_l++;
        if (free_l == EINSUM_ELL0)
            return og_none(c, "the equation uses every letter, leaving none to name the '...' dims");
        used[free_l] = true;
        letter[l] = (char)(free_l < 26 ? 'a' + free_l : 'A' + (free_l - 26));
    }
    char spare[EINSUM_ELL0 + 1];
    size_t n_spare = 0;
    for (int l = 0; l < EINSUM_ELL0; l++)
        if (!used[l])
            spare[n_spare++] = (char)(l < 26 ? 'a' + l : 'A' + (l - 26));
    spare[n_spare] = '\0';
    int dy = og_dy(c, 0);
    for (int i = 0; i < p.n_in; i++) {
        if (!c->want[i])
            continue;
        int r = operand_grad(c, &p, i, dy, letter, spare);
        if (r < 0)
            return false;
        c->dx[i] = r;
    }
    return true;
}

/* v reshaped to dims[0..rank) (0 keeps the dim, -1 is inferred). */
static int reshape_to(op_grad_ctx *c, int v, const int64_t *dims, size_t rank)
{
    return og_op2(c, "Reshape", v, og_i64s(c, dims, rank));
}

/* Det: the gradient of det(A) by A[i, j] is the cofactor C[i, j], the
 * determinant of A with row i replaced by the unit row e_j (Laplace along
 * row i), exact for singular A too.  All n^2 such matrices are built at
 * once, [..., n (i), n (j), n, n], by a Where of A against e_j on row i,
 * and one Det gives C. */
bool det_grad(op_grad_ctx *c)
{
    det_plan p;
    if (!det_plan_of(c->g, c->node, &p))
        return og_none(c, "its input is not a static square matrix");
    int x = og_x(c, 0), rank = ir_val(c->g, x)->rank;
    int64_t n = p.n;
    int eye = identity(c, n, x);
    int on_row =
        og_op2(c, "Equal", reshape_to(c, eye, (int64_t[]){n, 1, n, 1}, 4), og_scalar(c, 1, x)); /* [i, 1, r, 1] */
    int unit = reshape_to(c, eye, (int64_t[]){1, n, 1, n}, 4);                                  /* [1, j, 1, col] */
    int64_t at[2] = {rank - 2, rank - 1};
    int ins[3] = {on_row, unit, og_axes_op(c, "Unsqueeze", x, at, 2)};
    int cof = og_op1(c, "Det", og_op(c, "Where", ins, 3));
    c->dx[0] = og_op2(c, "Mul", og_axes_op(c, "Unsqueeze", og_dy(c, 0), at, 2), cof);
    return true;
}

/* The sum of v [N, C, ...] over the channels [c - before, c + after]
 * (before + after = size - 1) inside [0, C): a Conv of v viewed as
 * [N, 1, C, inner] with a [1, 1, size, 1] kernel of ones, padded. */
static int channel_window_sum(op_grad_ctx *c, int v, const lrn_plan *p, int64_t before, int64_t after)
{
    hodu_dtype t = ir_val(c->g, og_x(c, 0))->dtype; /* v is untyped yet */
    size_t es = ir_dtype_size(t);
    unsigned char *data = ir_graph_keep(c->g, hd_xcalloc((size_t)p->size, es));
    for (int64_t k = 0; k < p->size; k++) {
        if (t == HODU_DTYPE_F64)
            ((double *)data)[k] = 1.0;
        else
            ((float *)data)[k] = 1.0f;
    }
    int64_t kdims[4] = {1, 1, p->size, 1};
    int ones = ir_const_new(c->g, NULL, t, 4, kdims, data, (size_t)p->size * es);
    int conv = og_op2(c, "Conv", reshape_to(c, v, (int64_t[]){p->outer, 1, p->C, p->inner}, 4), ones);
    og_attr_ints(c, "pads", (int64_t[]){before, 0, after, 0}, 4);
    return og_op2(c, "Reshape", conv, og_shape(c, og_x(c, 0)));
}

/* LRN: y = x P, P = D^-beta, D = bias + alpha/size S, S the window sum of
 * x^2.  dx[j] = g[j] P[j] + 2 alpha/size x[j] T[j], T the sum of
 * -beta g y / D over the channels whose window holds j: the transposed
 * window [j - hi, j + lo]. */
bool lrn_grad(op_grad_ctx *c)
{
    lrn_plan p;
    if (!lrn_plan_of(c->g, c->node, &p))
        return og_none(c, "its input is not a static [N, C, ...] float tensor");
    const ir_value *xv = ir_val(c->g, og_x(c, 0));
    for (int i = 0; i < xv->rank; i++)
        if (xv->dims[i].rt || xv->dims[i].data_dep) /* the Conv's view is built from the dims */
            return og_none(c, "its input's dims are not all known when the model is built");
    int x = og_x(c, 0), y = og_y(c, 0), g = og_dy(c, 0);
    int s = channel_window_sum(c, og_op2(c, "Mul", x, x), &p, p.lo, p.hi);
    int d = og_op2(c, "Add", og_op2(c, "Mul", s, og_scalar(c, p.alpha / (double)p.size, x)), og_scalar(c, p.bias, x));
    int pw = og_op2(c, "Pow", d, og_scalar(c, -p.beta, x));
    int u = og_op2(c, "Div", og_op2(c, "Mul", g, y), d);
    int t = channel_window_sum(c, u, &p, p.hi, p.lo);
    int k = og_scalar(c, -2.0 * p.beta * p.alpha / (double)p.size, x);
    c->dx[0] = og_op2(c, "Add", og_op2(c, "Mul", g, pw), og_op2(c, "Mul", og_op2(c, "Mul", x, t), k));
    return true;
}

/* TensorScatter: present = past with update row s written at position
 * pos(b, s) = write_indices[b] + s (modulo max_seq when circular; in
 * linear mode a position outside the cache writes nothing).  With M[b, s,
 * t] = (pos(b, s) == t), one-hot: dupdate = M dy (a MatMul over t), and
 * dpast = dy where no row was written.  Every position is distinct as the
 * forward is given update no longer than the cache. */
bool tscatter_grad(op_grad_ctx *c)
{
    tscatter_plan p;
    if (!tscatter_plan_of(c->g, c->node, &p))
        return og_none(c, "its shapes do not fit");
    int past = og_x(c, 0), upd = og_x(c, 1), x = past;
    for (int k = 0; k < 2; k++) {
        const ir_value *v = ir_val(c->g, og_x(c, (size_t)k));
        for (int i = 0; i < v->rank; i++)
            if (v->dims[i].rt || v->dims[i].data_dep)
                return og_none(c, "its dims are not all known when the model is built");
    }
    int64_t *seq = hd_xcalloc((size_t)p.max_seq, sizeof *seq);
    for (int64_t i = 0; i < p.max_seq; i++)
        seq[i] = i;
    int pos = reshape_to(c, og_i64s(c, seq, (size_t)p.seq), (int64_t[]){1, p.seq, 1}, 3);
    int cols = reshape_to(c, og_i64s(c, seq, (size_t)p.max_seq), (int64_t[]){1, 1, p.max_seq}, 3);
    free(seq);
    if (p.has_indices)
        pos = og_op2(c, "Add", pos, reshape_to(c, og_x(c, 2), (int64_t[]){p.batch, 1, 1}, 3));
    if (p.circular)
        pos = og_op2(c, "Mod", pos, og_i64s(c, &p.max_seq, 1)); /* fmod = 0: Python's sign */
    int ins[3] = {og_op2(c, "Equal", pos, cols), og_scalar(c, 1, x), og_scalar(c, 0, x)};
    int64_t nb = p.has_indices ? p.batch : 1; /* without indices every entry writes at 0 */
    int onehot = reshape_to(c, og_op(c, "Where", ins, 3), (int64_t[]){nb, 1, p.seq, p.max_seq}, 4);
    int dy = reshape_to(c, og_dy(c, 0), (int64_t[]){p.batch, p.mid, p.max_seq, p.inner}, 4);
    if (c->want[1])
        c->dx[1] = og_op2(c, "Reshape", og_op2(c, "MatMul", onehot, dy), og_shape(c, upd));
    if (c->want[0]) {
        int64_t over_s = 2;
        int written = og_axes_op(c, "ReduceMax", onehot, &over_s, 1); /* [B, 1, 1, T] */
        og_attr_int(c, "keepdims", 1);
        written = reshape_to(c, written, (int64_t[]){nb, 1, p.max_seq, 1}, 4);
        int kept = og_op2(c, "Sub", og_scalar(c, 1, x), written);
        c->dx[0] = og_op2(c, "Reshape", og_op2(c, "Mul", dy, kept), og_shape(c, past));
    }
    return true;
}
