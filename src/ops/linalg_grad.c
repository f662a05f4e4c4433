/*
 * ops/linalg_grad.c - the gradient rule of Einsum (ops.h, "gradient
 * rules").  Einsum is linear in each operand, so an operand's gradient is
 * again an Einsum: of the output's gradient with the other operands, onto
 * the operand's labels.  Labels the operand alone sums, and dims it had
 * of size 1 where others broadcast, are summed by that Einsum too and put
 * back by Unsqueeze and Expand.
 */
#include <stdio.h>
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

/* The gradient of operand i; -1 after an error. */
static int operand_grad(op_grad_ctx *c, const einsum_plan *p, int i, int dy, const char *letter)
{
    const einsum_labels *in = &p->in[i];
    const ir_value *xi = ir_val(c->g, og_x(c, (size_t)i));
    for (int d = 0; d < in->n; d++)
        for (int k = 0; k < d; k++)
            if (in->l[k] == in->l[d]) {
                og_none(c, "an operand repeats a label (a diagonal); its gradient would write a diagonal back");
                return -1;
            }
    /* the operand's dims the gradient Einsum gives: labels some other
     * term has, at the size the operand has */
    einsum_labels kept = {0};
    int64_t unsq[HODU_MAX_RANK];
    size_t n_unsq = 0;
    bool expand = false;
    for (int d = 0; d < in->n; d++) {
        int l = in->l[d];
        int64_t got = labels_have(&p->out, l) ? p->size[l] : -1; /* that label's size in the gradient Einsum */
        for (int j = 0; j < p->n_in; j++)
            if (j != i)
                for (int k = 0; k < p->in[j].n; k++)
                    if (p->in[j].l[k] == l && ir_val(c->g, og_x(c, (size_t)j))->dims[k].size > got)
                        got = ir_val(c->g, og_x(c, (size_t)j))->dims[k].size;
        int64_t want = xi->dims[d].size;
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
    int r = og_op(c, "Einsum", ins, (size_t)n_ins);
    ir_node_add_attr(c->g, c->last, "equation", IR_ATTR_STRING)->s = hd_xstrdup(eq);
    if (n_unsq)
        r = og_axes_op(c, "Unsqueeze", r, unsq, n_unsq);
    if (expand)
        r = og_op2(c, "Expand", r, og_shape(c, og_x(c, (size_t)i)));
    return r;
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
    int dy = og_dy(c, 0);
    for (int i = 0; i < p.n_in; i++) {
        if (!c->want[i])
            continue;
        int r = operand_grad(c, &p, i, dy, letter);
        if (r < 0)
            return false;
        c->dx[i] = r;
    }
    return true;
}
