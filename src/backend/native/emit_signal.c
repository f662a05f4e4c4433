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
 * The window ops and MelWeightMatrix have only build-time constant
 * operands, so folding normally removes them; should one remain, its
 * values are computed the same way on the host and copied from the blob.
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
    signal_plan p;
    if (!signal_plan_get(g, node, &p))
        return 0;
    uint64_t d = op_sat_add_u64((uint64_t)op_sat_mul(4, p.n), (uint64_t)hd_fft_work_doubles(p.n));
    return d > UINT64_MAX / sizeof(double) ? UINT64_MAX : d * sizeof(double);
}

static bool emit_lines(op_emit *e)
{
    signal_plan p;
    if (!signal_plan_get(e->g, e->node, &p))
        return no_plan(e, "signal");
    const ir_value *out = em_out(e, 0);
    if (ir_value_numel(out) == 0)
        return true;
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
    em_line(e, "const %s *x = %s;", ct, em_offset("in0", 0, EM_TERMS({"la", p.in_s0}, {"lb", p.in_s1})).s);
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
    return true;
}

static bool emit_table(op_emit *e)
{
    const ir_value *out = em_out(e, 0);
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
