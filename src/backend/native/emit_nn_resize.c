/*
 * emit_nn_resize.c - native lowering of Resize and Upsample
 * (src/ops/nn_resize.c holds their semantics; src/ops/resize.h the plan and
 * tap tables read here).
 *
 * Each resized axis's taps become static tables (input offsets, weights,
 * extrapolation flags) at file scope; the node's loop nest walks the output
 * and, per element, gathers through the tables and multiplies.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "ops/ops.h"
#include "ops/resize.h"

/* Inference accepted the node, so its plan is computable; if not, that is
 * a compiler bug, reported rather than lowered from an unspecified plan. */
static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

static bool emit_resize(op_emit *e)
{
    resize_plan p;
    if (!resize_plan_get(e->g, e->node, &p))
        return no_plan(e, "resize");
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    hodu_dtype t = x->dtype;
    int r = p.rank;
    const ir_node *n = em_node(e);
    if (n->op == OP_RESIZE && n->n_inputs > 3 && n->inputs[3] >= 0 && em_in(e, 3)->kind != IR_VALUE_CONST) {
        /* sizes given at run time: they must be the declared output's */
        e->can_fail = true;
        size_t na = 0;
        const int64_t *axes = ir_attr_ints(n, "axes", &na);
        for (int64_t i = 0; i < em_in(e, 3)->dims[0].size; i++) {
            int64_t a = axes ? axes[i] : i;
            a += a < 0 ? r : 0;
            em_line(e, "if (in3[%" PRId64 "] != %" PRId64 ") return 1;", i, out->dims[a].size);
        }
    }
    if (ir_value_numel(out) == 0)
        return true;
    const char *ct = em_ctype(t);
    bool dbl = t == HODU_DTYPE_F64;
    bool is_int = !ir_dtype_is_float(t) && t != HODU_DTYPE_BOOL;
    const char *acc_t = (dbl || is_int) ? "double" : "float";
    int64_t istride[HODU_MAX_RANK], ostride[HODU_MAX_RANK];
    int64_t s1 = 1, s2 = 1;
    for (int i = r - 1; i >= 0; i--) {
        istride[i] = s1;
        ostride[i] = s2;
        s1 *= p.in[i];
        s2 *= p.out[i];
    }
    int ntap[HODU_MAX_RANK];
    bool any_ext = false;
    bool ext_ax[HODU_MAX_RANK] = {false};
    /* rs<node>_o<axis>: input offsets, _w<axis>: weights (absent for one
     * tap), _e<axis>: extrapolation flags (only where some are set) */
    for (int a = 0; a < r; a++) {
        if (!p.resized[a])
            continue;
        resize_taps tp;
        resize_axis_taps(&p, a, &tp);
        int64_t on = tp.count;
        int keep = tp.n;
        ext_ax[a] = tp.any_ext;
        any_ext |= ext_ax[a];
        ntap[a] = keep;
        hd_buf_printf(e->decls, "static const int64_t rs%d_o%d[%" PRId64 "] = {", e->node, a, on * keep);
        for (int64_t k = 0; k < on * keep; k++)
            hd_buf_printf(e->decls, "%s%" PRId64, k ? (k % 16 ? ", " : ",\n    ") : "", tp.idx[k] * istride[a]);
        hd_buf_puts(e->decls, "};\n");
        if (keep > 1) {
            hd_buf_printf(e->decls, "static const %s rs%d_w%d[%" PRId64 "] = {", acc_t, e->node, a, on * keep);
            for (int64_t k = 0; k < on * keep; k++)
                hd_buf_printf(e->decls, "%s%s", k ? (k % 8 ? ", " : ",\n    ") : "", em_f64(tp.w[k]).s);
            hd_buf_puts(e->decls, "};\n");
        }
        if (ext_ax[a]) {
            hd_buf_printf(e->decls, "static const unsigned char rs%d_e%d[%" PRId64 "] = {", e->node, a, on);
            for (int64_t k = 0; k < on; k++)
                hd_buf_printf(e->decls, "%s%d", k ? (k % 32 ? ", " : ",\n    ") : "", tp.ext[k]);
            hd_buf_puts(e->decls, "};\n");
        }
        resize_taps_free(&tp);
    }
    static const char *const OV[] = {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"};
    static const char *const TV[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
    /* Output loops; per resized dim the table offset base, per plain dim
     * the input offset. */
    em_term tb[HODU_MAX_RANK], to[HODU_MAX_RANK];
    for (int a = 0; a < r; a++) {
        em_for(e, OV[a], p.out[a]);
        tb[a] = (em_term){OV[a], p.resized[a] ? 0 : istride[a]};
        to[a] = (em_term){OV[a], ostride[a]};
    }
    em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, (size_t)r, to).s);
    em_line(e, "const %s *xb = %s;", ct, em_offset("in0", 0, (size_t)r, tb).s);
    if (any_ext) {
        hd_buf cond;
        hd_buf_init(&cond);
        for (int a = 0; a < r; a++)
            if (ext_ax[a])
                hd_buf_printf(&cond, "%srs%d_e%d[%s]", cond.len ? " || " : "", e->node, a, OV[a]);
        char lit[64];
        snprintf(lit, sizeof(lit), "(%s)%s", acc_t, em_f64(p.extrap).s);
        char *sv = em_store(t, lit);
        em_line(e, "if (%s) { *y = %s; continue; }", cond.data, sv);
        free(sv);
        hd_buf_free(&cond);
    }
    if (p.mode == RESIZE_NEAREST) {
        hd_buf off;
        hd_buf_init(&off);
        for (int a = 0; a < r; a++)
            if (p.resized[a])
                hd_buf_printf(&off, "%srs%d_o%d[%s]", off.len ? " + " : "", e->node, a, OV[a]);
        em_line(e, "*y = xb[%s];", off.len ? off.data : "0");
        hd_buf_free(&off);
    } else {
        em_line(e, "%s acc = 0;", acc_t);
        int opened = 0;
        hd_buf off, wt;
        hd_buf_init(&off);
        hd_buf_init(&wt);
        for (int a = 0; a < r; a++) {
            if (!p.resized[a])
                continue;
            em_for(e, TV[a], ntap[a]);
            opened++;
            em_line(e, "const int64_t j%d = %s;", a, em_index(0, EM_TERMS({OV[a], ntap[a]}, {TV[a], 1})).s);
            hd_buf_printf(&off, "%srs%d_o%d[j%d]", off.len ? " + " : "", e->node, a, a);
            hd_buf_printf(&wt, "%srs%d_w%d[j%d]", wt.len ? " * " : "", e->node, a, a);
        }
        char *lx = em_load(t, "xb[q]");
        em_line(e, "const int64_t q = %s;", off.len ? off.data : "0");
        em_line(e, "acc += (%s) * (%s)%s;", wt.len ? wt.data : "1", acc_t, lx);
        free(lx);
        for (int i = 0; i < opened; i++)
            em_close(e);
        if (is_int) {
            /* round half to even, then saturate */
            const char *lo = "0", *hi = "0";
            switch (t) {
            case HODU_DTYPE_I8:
                lo = "-128.0";
                hi = "127.0";
                break;
            case HODU_DTYPE_U8:
                lo = "0.0";
                hi = "255.0";
                break;
            case HODU_DTYPE_I16:
                lo = "-32768.0";
                hi = "32767.0";
                break;
            case HODU_DTYPE_U16:
                lo = "0.0";
                hi = "65535.0";
                break;
            case HODU_DTYPE_I32:
                lo = "-2147483648.0";
                hi = "2147483647.0";
                break;
            case HODU_DTYPE_U32:
                lo = "0.0";
                hi = "4294967295.0";
                break;
            case HODU_DTYPE_I64:
                lo = "-9223372036854775808.0";
                hi = "9223372036854774784.0";
                break;
            default:
                lo = "0.0";
                hi = "18446744073709549568.0";
                break;
            }
            em_line(e, "double v = rint((double)acc);");
            em_line(e, "v = v < %s ? %s : (v > %s ? %s : v);", lo, lo, hi, hi);
            em_line(e, "*y = (%s)v;", ct);
        } else {
            char *sv = em_store(t, "acc");
            em_line(e, "*y = %s;", sv);
            free(sv);
        }
        hd_buf_free(&off);
        hd_buf_free(&wt);
    }
    for (int a = 0; a < r; a++)
        em_close(e);
    return true;
}

void native_register_nn_resize(native_lowering *table)
{
    table[OP_RESIZE] = (native_lowering){.emit = emit_resize};
    table[OP_UPSAMPLE] = (native_lowering){.emit = emit_resize};
}
