/*
 * emit_signal.c - native lowering of the signal family (src/ops/signal.c
 * holds the semantics; src/ops/signal.h the plan read here).
 *
 * DFT and STFT: the FFT plan of the transform length (twiddles, factors,
 * Bluestein's chirp and kernel) is computed at build time by the kernel
 * layer's hd_fft_plan_init and stored in the weight blob; the node's
 * function walks the lines of its plan (split into tasks over lines when
 * there is enough work), gathers each into a complex double buffer in its
 * worker's scratch (zero-padded, windowed, or completed to a Hermitian
 * spectrum), calls hd_fft_run, and stores the scaled result.
 *
 * The window ops and MelWeightMatrix fold when their operands are
 * build-time constants; should one remain, its values are computed the
 * same way on the host and copied from the blob.  A window whose size
 * comes at run time was built for the declared length: the size is
 * checked against it and the table copied.  A MelWeightMatrix with a
 * run-time operand is computed when the model runs, by the same steps as
 * mel_values in src/ops/signal.c, after checking the operands.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "native.h"
#include "ops/ops.h"
#include "ops/signal.h"

static bool no_plan(op_emit *e, const char *what)
{
    hd_error(e->d, "internal error: no %s plan for node %d (%s)", what, e->node, em_node(e)->op_type);
    return false;
}

/* Per-worker scratch of a DFT or STFT: the line and its transform (2n
 * doubles each) and the FFT's work area. */
static uint64_t lines_scratch(const ir_graph *g, int node)
{
    signal_plan v[HODU_MAX_RANK];
    int sel, nv = signal_plan_variants(g, node, v, &sel);
    uint64_t most = 0;
    for (int i = 0; i < nv; i++) {
        uint64_t d = op_sat_add_u64((uint64_t)op_sat_mul(4, v[i].n), (uint64_t)hd_fft_work_doubles(v[i].n));
        d = d > UINT64_MAX / sizeof(double) ? UINT64_MAX : d * sizeof(double);
        most = d > most ? d : most;
    }
    return most;
}

/* The transforms of one plan (a run-time frame step is `st`). */
static void emit_plan(op_emit *e, const signal_plan *pp)
{
    signal_plan p = *pp;
    hodu_dtype t = em_in(e, 0)->dtype;
    const char *ct = em_ctype(t), *cc = em_compute_ctype(t);
    int64_t n = p.n;
    double *plan = hd_xmalloc((size_t)hd_fft_plan_doubles(n) * sizeof(double));
    double *work = hd_xmalloc((size_t)hd_fft_work_doubles(n) * sizeof(double) + sizeof(double));
    hd_fft_plan_init(n, plan, work);
    em_expr at = em_blob(e, plan, (size_t)hd_fft_plan_doubles(n) * sizeof(double));
    free(work);
    free(plan);
    /* lines run as tasks when there is enough work, each worker with its
     * own buffers */
    int64_t lg = 1;
    while (lg < 62 && ((int64_t)1 << lg) < n)
        lg++;
    em_par_for(e, "l", p.lines0 * p.lines1, 1, op_sat_mul(5 * n, lg) + p.n_store);
    em_line(e, "const int64_t la = l / %" PRId64 ", lb = l %% %" PRId64 ";", p.lines1, p.lines1);
    em_line(e, "const double *plan = (const double *)(const void *)%s;", at.s);
    em_line(e, "double *buf = (double *)(void *)wscratch, *res = buf + %" PRId64 ", *work = res + %" PRId64 ";", 2 * n,
            2 * n);
    em_line(e, "const %s *x = %s;", ct,
            em_offset("in0", 0, EM_TERMS({"la", p.in_s0}, {p.step_at_run_time ? "(lb * st)" : "lb", p.in_s1})).s);
    em_for(e, "j", p.n_load);
    char ref[1100];
    snprintf(ref, sizeof ref, "x[%s]", em_index(0, EM_TERMS({"j", p.in_step})).s);
    char *xr = em_load(t, ref);
    snprintf(ref, sizeof ref, "x[%s]", em_index(1, EM_TERMS({"j", p.in_step})).s);
    char *xi = em_load(t, ref);
    if (p.window >= 0) {
        char *wl = em_load(t, "in2[j]");
        em_line(e, "const double s = (double)%s;", wl);
        free(wl);
        em_line(e, "buf[2 * j] = (double)%s * s;", xr);
        if (p.in_ch == 2)
            em_line(e, "buf[2 * j + 1] = (double)%s * s;", xi);
        else
            em_line(e, "buf[2 * j + 1] = 0.0;");
    } else {
        em_line(e, "buf[2 * j] = (double)%s;", xr);
        if (p.in_ch == 2)
            em_line(e, "buf[2 * j + 1] = (double)%s;", xi);
        else
            em_line(e, "buf[2 * j + 1] = 0.0;");
    }
    free(xr);
    free(xi);
    em_close(e);
    if (p.n_load < n)
        em_line(e, "memset(buf + %" PRId64 ", 0, %" PRId64 " * sizeof(double));", 2 * p.n_load, 2 * (n - p.n_load));
    if (p.hermitian && (n + 1) / 2 > 1) {
        /* bins n - k mirror bins k */
        em_line(e, "for (int64_t k = 1; k < %" PRId64 "; k++) {", (n + 1) / 2);
        em_line(e, "    buf[2 * (%" PRId64 " - k)] = buf[2 * k];", n);
        em_line(e, "    buf[2 * (%" PRId64 " - k) + 1] = -buf[2 * k + 1];", n);
        em_line(e, "}");
    }
    em_line(e, "hd_fft_run(plan, buf, res, work, %d);", p.inverse ? 1 : 0);
    em_line(e, "%s *y = %s;", ct, em_offset("out0", 0, EM_TERMS({"la", p.out_s0}, {"lb", p.out_s1})).s);
    em_for(e, "k", p.n_store);
    for (int part = 0; part < p.out_ch; part++) {
        /* f16 and bf16 store from float */
        bool half = strcmp(cc, ct) != 0;
        char val[160];
        const char *ri = part ? "res[2 * k + 1]" : "res[2 * k]";
        if (p.scale != 1.0)
            snprintf(val, sizeof val, "%s(%s * %s)", half ? "(float)" : "", ri, em_f64(p.scale).s);
        else
            snprintf(val, sizeof val, "%s%s", half ? "(float)" : "", ri);
        char *sv = em_store(t, val);
        em_line(e, "y[%s] = %s;", em_index(part, EM_TERMS({"k", p.out_step})).s, sv);
        free(sv);
    }
    em_close(e);
    em_close(e);
}

/* A run-time axis (DFT) or frame length (STFT) picks one of the plans
 * built for the values that give the declared shape; any other value,
 * and a run-time frame step that does not give the declared frame count,
 * stop the run. */
static bool emit_lines(op_emit *e)
{
    signal_plan v[HODU_MAX_RANK];
    int sel, nv = signal_plan_variants(e->g, e->node, v, &sel);
    if (nv < 1)
        return no_plan(e, "signal");
    const ir_value *x = em_in(e, 0), *out = em_out(e, 0);
    bool rt_step = v[0].step_at_run_time;
    if (sel >= 0 || rt_step)
        e->can_fail = true;
    if (rt_step)
        em_line(e, "const int64_t st = (int64_t)in1[0];");
    int64_t len = em_node(e)->op == OP_STFT ? x->dims[1].size : 0;
    if (sel < 0) {
        if (rt_step)
            em_line(e, "if (st < 1 || 1 + (%" PRId64 " - %" PRId64 ") / st != %" PRId64 ") return 1;", len, v[0].n,
                    v[0].lines1);
        if (ir_value_numel(out) > 0)
            emit_plan(e, &v[0]);
        return true;
    }
    em_line(e, "int64_t sel = (int64_t)in%d[0];", sel);
    if (em_node(e)->op == OP_DFT) /* axes -r..-2 count from the end */
        em_line(e, "if (sel < 0) sel += %d;", x->rank);
    em_line(e, "switch (sel) {");
    for (int i = 0; i < nv; i++) {
        em_line(e, "case %" PRId64 ": {", v[i].select);
        e->indent++;
        if (rt_step)
            em_line(e, "if (st < 1 || 1 + (%" PRId64 " - %" PRId64 ") / st != %" PRId64 ") return 1;", len, v[i].n,
                    v[i].lines1);
        if (ir_value_numel(out) > 0)
            emit_plan(e, &v[i]);
        em_line(e, "break;");
        e->indent--;
        em_line(e, "}");
    }
    em_line(e, "default: return 1;");
    em_line(e, "}");
    return true;
}

/* Operand i of a MelWeightMatrix as a C expression: its value when it is a
 * constant, else read from its parameter (int64_t or double). */
static char *mel_operand(op_emit *e, size_t i)
{
    const ir_value *x = em_in(e, i);
    int id = em_node(e)->inputs[i];
    if (x->kind == IR_VALUE_CONST) {
        if (i < 3) {
            int64_t v = 0;
            ir_const_as_i64(e->g, id, &v, 1);
            return hd_xasprintf("INT64_C(%" PRId64 ")", v);
        }
        double v = 0;
        ir_const_as_f64(e->g, id, &v, 1);
        return hd_xasprintf("%s", em_f64(v).s);
    }
    char ref[16];
    snprintf(ref, sizeof ref, "in%zu[0]", i);
    if (i < 3)
        return hd_xasprintf("(int64_t)%s", ref);
    char *l = em_load(x->dtype, ref), *r = hd_xasprintf("(double)%s", l);
    free(l);
    return r;
}

static bool emit_mel_runtime(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    hodu_dtype t = out->dtype;
    int64_t B = out->dims[0].size, M = out->dims[1].size;
    bool f32 = em_in(e, 3)->dtype != HODU_DTYPE_F64;
    e->can_fail = true;
    static const char *const names[5] = {"mels", "dft_len", "rate", "lo", "hi"};
    for (size_t i = 0; i < 5; i++) {
        char *v = mel_operand(e, i);
        em_line(e, "const %s %s = %s;", i < 3 ? "int64_t" : "double", names[i], v);
        free(v);
    }
    /* the values must ask for the declared shape; NaN edges fail */
    em_line(e, "if (mels != %" PRId64 " || dft_len < 1 || dft_len / 2 + 1 != %" PRId64 " || rate < 1) return 1;", M, B);
    em_line(e, "if (!(lo >= 0 && lo <= hi && hi < 1e30)) return 1;");
    if (ir_value_nbytes(out))
        em_line(e, "memset(out0, 0, %zu);", ir_value_nbytes(out));
    if (M == 0)
        return true;
    em_line(e, "double lo_mel = 2595.0 * log10(1.0 + lo / 700.0), hi_mel = 2595.0 * log10(1.0 + hi / 700.0);");
    em_line(e, "double step = (hi_mel - lo_mel) / (double)%" PRId64 ";", M + 2);
    if (f32) {
        em_line(e, "lo_mel = (float)lo_mel;");
        em_line(e, "hi_mel = (float)hi_mel;");
        em_line(e, "step = (float)((float)(hi_mel - lo_mel) / (float)%" PRId64 ");", M + 2);
    }
    em_for(e, "i", M);
    /* band edges i, i + 1, i + 2 as bin indices, kept well inside int64 */
    em_line(e, "int64_t edge[3];");
    em_line(e, "for (int q = 0; q < 3; q++) {");
    em_line(e, "    const double hz = 700.0 * (pow(10.0, ((double)(i + q) * step + lo_mel) / 2595.0) - 1.0);");
    em_line(e, "    const double b = floor((double)(dft_len + 1) * hz / (double)rate);");
    em_line(e, "    edge[q] = b != b ? 0 : b < -1e15 ? (int64_t)-1e15 : b > 1e15 ? (int64_t)1e15 : (int64_t)b;");
    em_line(e, "}");
    em_line(e, "const int64_t l = edge[0], ce = edge[1], h = edge[2];");
    char *one = em_store(t, "1.0"), *rise = em_store(t, "(double)(j - l) / (double)(ce - l)"),
         *fall = em_store(t, "(double)(h - j) / (double)(h - ce)");
    if (t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16) {
        free(one);
        free(rise);
        free(fall);
        one = em_store(t, "1.0f");
        rise = em_store(t, "(float)((double)(j - l) / (double)(ce - l))");
        fall = em_store(t, "(float)((double)(h - j) / (double)(h - ce))");
    }
    em_line(e, "if (ce == l) {");
    em_line(e, "    if (ce >= 0 && ce < %" PRId64 ") out0[ce * %" PRId64 " + i] = %s;", B, M, one);
    em_line(e, "} else {");
    em_line(e, "    for (int64_t j = l > 0 ? l : 0; j <= ce && j < %" PRId64 "; j++) out0[j * %" PRId64 " + i] = %s;",
            B, M, rise);
    em_line(e, "}");
    em_line(e, "if (h > ce)");
    em_line(e, "    for (int64_t j = ce > 0 ? ce : 0; j < h && j < %" PRId64 "; j++) out0[j * %" PRId64 " + i] = %s;",
            B, M, fall);
    free(one);
    free(rise);
    free(fall);
    em_close(e);
    return true;
}

static bool emit_table(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
    const ir_node *nd = em_node(e);
    if (nd->op == OP_MEL_WEIGHT_MATRIX)
        for (size_t i = 0; i < nd->n_inputs; i++)
            if (em_in(e, i) && em_in(e, i)->kind != IR_VALUE_CONST)
                return emit_mel_runtime(e);
    if (nd->op != OP_MEL_WEIGHT_MATRIX && em_in(e, 0)->kind != IR_VALUE_CONST) {
        /* the size comes at run time: it must be the declared length */
        e->can_fail = true;
        em_line(e, "if ((int64_t)in0[0] != %" PRId64 ") return 1;", ir_value_numel(out));
    }
    int64_t numel = 0;
    double *v = signal_table(e->g, e->node, &numel);
    if (!v)
        return no_plan(e, "table");
    if (numel != ir_value_numel(out)) {
        free(v);
        return no_plan(e, "table");
    }
    if (numel > 0) {
        size_t bytes = ir_value_nbytes(out);
        void *data = hd_xmalloc(bytes);
        for (int64_t i = 0; i < numel; i++)
            signal_store_as(out->dtype, data, i, v[i]);
        em_expr at = em_blob(e, data, bytes);
        free(data);
        em_line(e, "memcpy(out0, (const void *)%s, %zu);", at.s, bytes);
    }
    free(v);
    return true;
}

void native_register_signal(native_lowering *table)
{
    table[OP_DFT_17] = (native_lowering){.emit = emit_lines, .worker_scratch = lines_scratch};
    table[OP_DFT] = (native_lowering){.emit = emit_lines, .worker_scratch = lines_scratch};
    table[OP_STFT] = (native_lowering){.emit = emit_lines, .worker_scratch = lines_scratch};
    table[OP_HANN_WINDOW] = (native_lowering){.emit = emit_table};
    table[OP_HAMMING_WINDOW] = (native_lowering){.emit = emit_table};
    table[OP_BLACKMAN_WINDOW] = (native_lowering){.emit = emit_table};
    table[OP_MEL_WEIGHT_MATRIX] = (native_lowering){.emit = emit_table};
}
