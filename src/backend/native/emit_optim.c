/*
 * emit_optim.c - native lowerings of the optim family: Adagrad, Momentum
 * and Adam (src/ops/optim.c holds their semantics, src/ops/optim.h the plan
 * read here).
 *
 * The scalars every tensor shares (the decayed or bias-corrected learning
 * rate, Momentum's first-step beta) are computed once from R and T when the
 * model runs; then one loop per tensor applies the update element by
 * element in double, which is also how the ONNX reference evaluates the
 * scalar factors.  The tensors are optimizer state, small next to a
 * model's activations, so the loops run on the calling thread.
 */
#include <inttypes.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/optim.h"

static void emit_tensor_update(op_emit *e, const optim_plan *p, int i)
{
    const int64_t numel = ir_value_numel(em_out(e, (size_t)i));
    const size_t n = (size_t)p->n, x = 2 + (size_t)i, g = x + n;
    const char *ct = em_ctype(em_out(e, (size_t)i)->dtype);
    em_for(e, "k", numel);
    em_line(e, "const double x = in%zu[k];", x);
    em_line(e, "const double gr = %s * x + in%zu[k];", em_f64(p->norm_coefficient).s, g);
    switch (p->kind) {
    case OPTIM_ADAGRAD:
        em_line(e, "const double h = in%zu[k] + gr * gr;", g + n);
        em_line(e, "out%zu[k] = (%s)(x - r * gr / (sqrt(h) + %s));", (size_t)i, ct, em_f64(p->epsilon).s);
        em_line(e, "out%zu[k] = (%s)h;", n + (size_t)i, ct);
        break;
    case OPTIM_MOMENTUM:
        em_line(e, "const double v = %s * in%zu[k] + beta * gr;", em_f64(p->alpha).s, g + n);
        if (p->nesterov)
            em_line(e, "out%zu[k] = (%s)(x - r * (gr + %s * v));", (size_t)i, ct, em_f64(p->alpha).s);
        else
            em_line(e, "out%zu[k] = (%s)(x - r * v);", (size_t)i, ct);
        em_line(e, "out%zu[k] = (%s)v;", n + (size_t)i, ct);
        break;
    case OPTIM_ADAM:
        em_line(e, "const double v = %s * in%zu[k] + %s * gr;", em_f64(p->alpha).s, g + n, em_f64(1.0 - p->alpha).s);
        em_line(e, "const double h = %s * in%zu[k] + %s * (gr * gr);", em_f64(p->beta).s, g + 2 * n,
                em_f64(1.0 - p->beta).s);
        em_line(e, "const double xn = x - r * (v / (sqrt(h) + %s));", em_f64(p->epsilon).s);
        em_line(e, "out%zu[k] = (%s)(%s * xn);", (size_t)i, ct, em_f64(1.0 - p->norm_coefficient_post).s);
        em_line(e, "out%zu[k] = (%s)v;", n + (size_t)i, ct);
        em_line(e, "out%zu[k] = (%s)h;", 2 * n + (size_t)i, ct);
        break;
    }
    em_close(e);
}

static bool emit_optim(op_emit *e)
{
    optim_plan p;
    if (!optim_plan_of(e->g, e->node, &p)) {
        hd_error(e->d, "internal error: no optimizer plan for node %d", e->node);
        return false;
    }
    em_line(e, "const double r0 = (double)in0[0];");
    em_line(e, "const double t = (double)in1[0];");
    switch (p.kind) {
    case OPTIM_ADAGRAD: em_line(e, "const double r = r0 / (1.0 + t * %s);", em_f64(p.decay_factor).s); break;
    case OPTIM_MOMENTUM:
        /* the first update takes the whole gradient */
        em_line(e, "const double r = r0;");
        em_line(e, "const double beta = t > 0 ? %s : 1.0;", em_f64(p.beta).s);
        break;
    case OPTIM_ADAM:
        /* bias correction of both moments, from the second step on */
        em_line(e, "const double r = t > 0 ? r0 * sqrt(1.0 - pow(%s, t)) / (1.0 - pow(%s, t)) : r0;", em_f64(p.beta).s,
                em_f64(p.alpha).s);
        break;
    }
    for (int i = 0; i < p.n; i++)
        emit_tensor_update(e, &p, i);
    return true;
}

void native_register_optim(native_lowering *table)
{
    table[OP_ADAGRAD] = (native_lowering){.emit = emit_optim};
    table[OP_MOMENTUM] = (native_lowering){.emit = emit_optim};
    table[OP_ADAM] = (native_lowering){.emit = emit_optim};
}
