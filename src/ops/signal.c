/*
 * ops/signal.c - the signal family: DFT, STFT, HannWindow, HammingWindow,
 * BlackmanWindow, MelWeightMatrix (inference, folding, and the plans
 * signal.h exports to backends).
 *
 * DFT(input, dft_length?, axis?) -> output.  The input is
 * [d0, ..., dN, 1 or 2]: real, or complex as (re, im) pairs.  Opset 17
 * takes the axis as an attribute (default 1), opset 20 as an optional
 * input (default -2); the accepted range is [-r, -2] U [0, r-2].  The
 * signal along the axis is zero-padded or truncated to dft_length
 * (default: the axis length; 2 * (length - 1) for IRFFT).  onesided=1
 * forward keeps bins 0..n/2 (RFFT); onesided=1 inverse reads bins 0..n/2
 * of a Hermitian spectrum and returns the real signal (IRFFT, as numpy's
 * irfft: the imaginary parts of bin 0 and of the Nyquist bin are
 * ignored).  The inverse is scaled by 1/n.  dft_length must be a
 * build-time constant.  The axis input (opset 20) may be a run-time value
 * where the model declares the output shape: the node then has one plan
 * per axis that gives the declared shape, and the lowering picks one by
 * the value when the model runs (any other value stops the run).
 *
 * STFT(signal, frame_step, window?, frame_length?) -> output: signal
 * [batch, length, 1 or 2], output [batch, frames, bins, 2] with
 * frames = 1 + (length - frame_length) / frame_step and bins =
 * frame_length / 2 + 1 when onesided (default 1), frame_length otherwise.
 * Frame f takes min(window length, frame_length) samples from f *
 * frame_step, times the window, zero-padded to frame_length.  The window
 * may be a run-time value (its shape is static), and so may frame_step
 * and frame_length where the model declares the output shape: a run-time
 * step must give the declared frame count, and a run-time frame length
 * is one of the (at most two) lengths that give the declared bins, a plan
 * for each, picked when the model runs.
 *
 * Every transform runs in double through the kernel layer's FFT (section
 * 7 of hodu_kernels.h: mixed radix, Bluestein for lengths with a prime
 * factor above 31), so folded values equal run-time values.
 *
 * HannWindow / HammingWindow / BlackmanWindow(size) -> [size] of
 * output_datatype (default float): periodic (default) divides by size,
 * symmetric by size - 1 (a symmetric window of one point is 1, the limit
 * of the formula).  MelWeightMatrix(num_mel_bins, dft_length,
 * sample_rate, lower_edge_hertz, upper_edge_hertz) -> [dft_length / 2 + 1,
 * num_mel_bins] triangles on the mel scale, following the ONNX reference
 * (band edges floor((dft_length + 1) * hz / sample_rate); an edge past the
 * last bin contributes nothing there).  With constant operands these four
 * fold.  A window's size may be a run-time value where the model declares
 * the length (the lowering checks the size and copies the table), and so
 * may any MelWeightMatrix operand where the model declares [bins, mels]:
 * the matrix is then computed when the model runs, after checking the
 * operands (emit_signal.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hodu_kernels.h"
#include "ops_impl.h"
#include "signal.h"

/* The most plans a DFT or STFT with a run-time axis or frame length has. */
#define SG_MAX_VARIANTS HODU_MAX_RANK
/* The most values a window op or MelWeightMatrix builds. */
#define SG_MAX_TABLE ((int64_t)1 << 24)
/* Folding a DFT or STFT on the host: at most this many elements in and out. */
#define SG_FOLD_MAX ((int64_t)1 << 22)

static bool sg_float(hodu_dtype t)
{
    return t == HODU_DTYPE_F16 || t == HODU_DTYPE_BF16 || t == HODU_DTYPE_F32 || t == HODU_DTYPE_F64;
}

/* T2 of the window ops and T3 of MelWeightMatrix: every numeric type. */
static bool sg_numeric(int64_t t)
{
    return t > 0 && t < HODU_DTYPE_COUNT_ && (ir_dtype_is_int((hodu_dtype)t) || ir_dtype_is_float((hodu_dtype)t));
}

/* Present and non-empty. */
static bool sg_has(op_ctx *c, size_t i)
{
    const ir_value *v = op_in(c, i);
    return v && !(v->rank > 0 && ir_value_numel(v) == 0);
}

/* Input i: a run-time value (not a constant) holding one int32 or int64,
 * or one float when `fl`. */
static bool sg_runtime_scalar(op_ctx *c, size_t i, bool fl)
{
    const ir_value *x = op_in(c, i);
    return x && x->kind != IR_VALUE_CONST && ir_value_is_static(x) && ir_value_numel(x) == 1 &&
           (fl ? sg_float(x->dtype) : x->dtype == HODU_DTYPE_I32 || x->dtype == HODU_DTYPE_I64);
}

/* Input i: a build-time constant holding one int32 or int64. */
static bool sg_const_int(op_ctx *c, size_t i, const char *what, int64_t *v)
{
    const ir_value *x = op_in(c, i);
    if (x && x->dtype != HODU_DTYPE_I32 && x->dtype != HODU_DTYPE_I64)
        return op_fail(c, "%s must be int32 or int64, is %s", what, ir_dtype_name(x->dtype));
    int64_t buf[1];
    long k = op_need_const_i64(c, i, buf, 1, what);
    if (k < 0)
        return false;
    if (k != 1)
        return op_fail(c, "%s must hold one value, holds %ld", what, k);
    *v = buf[0];
    return true;
}

/* Input i: a build-time constant holding one float. */
static bool sg_const_float(op_ctx *c, size_t i, const char *what, double *v)
{
    int id = op_in_id(c, i);
    if (id < 0)
        return op_fail(c, "input %zu (%s) is required", i, what);
    const ir_value *x = ir_val(c->g, id);
    if (x->kind != IR_VALUE_CONST)
        return op_fail_not_const(c, id, what);
    if (!sg_float(x->dtype))
        return op_fail(c, "%s must be a float tensor, is %s", what, ir_dtype_name(x->dtype));
    if (ir_const_as_f64(c->g, id, v, 1) != 1)
        return op_fail(c, "%s ('%s') must hold one value", what, x->name);
    return true;
}

/* --- DFT and STFT ---------------------------------------------------------- */

/* `force_axis` >= 0: the axis a run-time axis operand may name (a
 * variant); -1: the attribute's or constant operand's axis. */
static bool dft_get(op_ctx *c, signal_plan *p, int *rank, int64_t *dims, int force_axis)
{
    const ir_node *nd = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (!sg_float(x->dtype))
        return op_fail(c, "type %s is not supported (float types only)", ir_dtype_name(x->dtype));
    int r = x->rank;
    if (r < 2)
        return op_fail(c, "the input must have rank >= 2 (signal dims, then 1 or 2), has %d", r);
    int64_t ch = x->dims[r - 1].size;
    if (ch != 1 && ch != 2)
        return op_fail(c, "the last dimension of the input must be 1 (real) or 2 (complex), is %" PRId64, ch);
    int64_t inv = ir_attr_int(nd, "inverse", 0), one = ir_attr_int(nd, "onesided", 0);
    if (inv != 0 && inv != 1)
        return op_fail(c, "attribute 'inverse' must be 0 or 1, is %" PRId64, inv);
    if (one != 0 && one != 1)
        return op_fail(c, "attribute 'onesided' must be 0 or 1, is %" PRId64, one);
    bool ok = true;
    int64_t axis = 1, given = -1;
    if (force_axis >= 0)
        axis = force_axis;
    else if (nd->op == OP_DFT_17)
        axis = ir_attr_int(nd, "axis", 1);
    else if (sg_has(c, 2))
        ok = sg_const_int(c, 2, "axis", &axis);
    else
        axis = -2;
    bool has_len = sg_has(c, 1);
    if (has_len)
        ok = sg_const_int(c, 1, "dft_length", &given) && ok;
    if (!ok)
        return false;
    if (axis < -(int64_t)r || axis > r - 2 || axis == -1)
        return op_fail(c, "axis %" PRId64 " is out of range [-%d, -2] U [0, %d]", axis, r, r - 2);
    int a = (int)(axis < 0 ? axis + r : axis);
    int64_t L = x->dims[a].size;
    bool herm = inv && one;
    int64_t n = given;
    if (has_len && n < 1)
        return op_fail(c, "dft_length must be positive, is %" PRId64, n);
    if (!has_len) {
        n = herm ? 2 * (L - 1) : L;
        if (n < 1)
            return op_fail(c, "the input's axis %d has %" PRId64 " elements: no DFT length follows from it", a, L);
    }
    if (n > HD_FFT_MAX_N)
        return op_fail(c, "DFT length %" PRId64 " is above the supported %" PRId64, n, HD_FFT_MAX_N);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < a; i++)
        outer *= x->dims[i].size;
    for (int i = a + 1; i < r - 1; i++)
        inner *= x->dims[i].size;
    memset(p, 0, sizeof *p);
    p->select = a;
    p->n = n;
    p->lines0 = outer;
    p->lines1 = inner;
    p->in_ch = ch;
    p->in_step = inner * ch;
    p->in_s0 = L * inner * ch;
    p->in_s1 = ch;
    int64_t want = herm ? n / 2 + 1 : n;
    p->n_load = L < want ? L : want;
    p->window = -1;
    p->inverse = inv != 0;
    p->hermitian = herm;
    p->n_store = one && !inv ? n / 2 + 1 : n;
    p->out_ch = herm ? 1 : 2;
    p->out_step = inner * p->out_ch;
    p->out_s0 = p->n_store * inner * p->out_ch;
    p->out_s1 = p->out_ch;
    p->scale = inv ? 1.0 / (double)n : 1.0;
    if (rank) {
        *rank = r;
        for (int i = 0; i < r; i++)
            dims[i] = x->dims[i].size;
        dims[a] = p->n_store;
        dims[r - 1] = p->out_ch;
    }
    return true;
}

/* `force_n` >= 1: the frame length a run-time frame_length may give (a
 * variant); a run-time frame_step takes the declared frame count. */
static bool stft_get(op_ctx *c, signal_plan *p, int *rank, int64_t *dims, int64_t force_n)
{
    const ir_node *nd = op_node(c);
    const ir_value *x = op_need_static(c, 0);
    if (!x)
        return false;
    if (!sg_float(x->dtype))
        return op_fail(c, "type %s is not supported (float types only)", ir_dtype_name(x->dtype));
    if (x->rank != 3)
        return op_fail(c, "the signal must have rank 3 ([batch, length, 1 or 2]), has %d", x->rank);
    int64_t ch = x->dims[2].size, len = x->dims[1].size;
    if (ch != 1 && ch != 2)
        return op_fail(c, "the last dimension of the signal must be 1 (real) or 2 (complex), is %" PRId64, ch);
    int64_t one = ir_attr_int(nd, "onesided", 1);
    if (one != 0 && one != 1)
        return op_fail(c, "attribute 'onesided' must be 0 or 1, is %" PRId64, one);
    int64_t step = 0, n = -1, wlen = -1, declared[HODU_MAX_RANK];
    bool rt_step = sg_runtime_scalar(c, 1, false) && op_declared_shape(c, 0, declared) == 4 && declared[1] >= 1;
    bool ok = rt_step || sg_const_int(c, 1, "frame_step", &step);
    bool has_len = sg_has(c, 3);
    if (has_len && force_n >= 1)
        n = force_n;
    else if (has_len)
        ok = sg_const_int(c, 3, "frame_length", &n) && ok;
    if (!ok)
        return false;
    if (!rt_step && step < 1)
        return op_fail(c, "frame_step must be positive, is %" PRId64, step);
    if (sg_has(c, 2)) {
        const ir_value *w = op_need_static(c, 2);
        if (!w)
            return false;
        if (w->rank != 1)
            return op_fail(c, "the window must have rank 1, has %d", w->rank);
        if (w->dtype != x->dtype)
            return op_fail(c, "the window's type %s differs from the signal's %s", ir_dtype_name(w->dtype),
                           ir_dtype_name(x->dtype));
        wlen = w->dims[0].size;
    }
    if (!has_len)
        n = wlen >= 0 ? wlen : len;
    if (n < 1)
        return op_fail(c, "frame_length must be positive, is %" PRId64, n);
    if (n > HD_FFT_MAX_N)
        return op_fail(c, "frame_length %" PRId64 " is above the supported %" PRId64, n, HD_FFT_MAX_N);
    if (n > len)
        return op_fail(c, "frame_length %" PRId64 " is longer than the signal (%" PRId64 ")", n, len);
    /* a run-time step is checked to give the declared frame count */
    int64_t frames = rt_step ? declared[1] : 1 + (len - n) / step;
    if (rt_step && frames - 1 > len - n)
        return op_fail(c, "the declared %" PRId64 " frames of length %" PRId64 " do not fit the signal (%" PRId64 ")",
                       frames, n, len);
    memset(p, 0, sizeof *p);
    p->select = n;
    p->step_at_run_time = rt_step;
    p->n = n;
    p->lines0 = x->dims[0].size;
    p->lines1 = frames;
    p->in_ch = ch;
    p->in_step = ch;
    p->in_s0 = len * ch;
    p->in_s1 = rt_step ? ch : step * ch;
    p->n_load = wlen >= 0 && wlen < n ? wlen : n;
    p->window = wlen >= 0 ? 2 : -1;
    p->n_store = one ? n / 2 + 1 : n;
    p->out_ch = 2;
    p->out_step = 2;
    p->out_s1 = p->n_store * 2;
    p->out_s0 = frames * p->out_s1;
    p->scale = 1.0;
    if (rank) {
        *rank = 4;
        dims[0] = x->dims[0].size;
        dims[1] = frames;
        dims[2] = p->n_store;
        dims[3] = 2;
    }
    return true;
}

/* The operand whose run-time value picks a variant (DFT's axis, STFT's
 * frame_length), or -1 when there is one plan.  Such a node has one
 * variant per value that gives the declared output shape. */
static int sg_select_input(op_ctx *c)
{
    int64_t declared[HODU_MAX_RANK];
    int op = op_node(c)->op;
    size_t i = op == OP_DFT ? 2 : op == OP_STFT ? 3 : 0;
    if (i == 0 || !sg_has(c, i) || !sg_runtime_scalar(c, i, false) || op_declared_shape(c, 0, declared) < 0)
        return -1;
    return (int)i;
}

static bool sg_get_variant(op_ctx *c, signal_plan *p, int *rank, int64_t *dims, int64_t force)
{
    switch (op_node(c)->op) {
    case OP_DFT_17:
    case OP_DFT: return dft_get(c, p, rank, dims, (int)force);
    case OP_STFT: return stft_get(c, p, rank, dims, force);
    default: return false;
    }
}

/* The values a run-time selecting operand may take (DFT: axes 0..r-2;
 * STFT: frame lengths whose bin count is the declared one), kept where the
 * plan they give has the declared output shape.  Returns how many, at
 * most SG_MAX_VARIANTS, and their plans in `plans` when not NULL. */
static int sg_variants(op_ctx *c, signal_plan *plans)
{
    int64_t declared[HODU_MAX_RANK], cand[HODU_MAX_RANK + 2];
    int dr = op_declared_shape(c, 0, declared), nc = 0;
    const ir_value *x = op_in(c, 0);
    if (dr < 0 || !ir_value_is_static(x))
        return 0;
    if (op_node(c)->op == OP_DFT) {
        for (int a = 0; a + 2 <= x->rank; a++)
            cand[nc++] = a;
    } else if (dr == 4) {
        int64_t bins = declared[2];
        if (ir_attr_int(op_node(c), "onesided", 1) == 1) {
            cand[nc++] = 2 * (bins - 1);
            cand[nc++] = 2 * bins - 1;
        } else
            cand[nc++] = bins;
    }
    hd_diag quiet; /* variants that do not fit are not errors */
    hd_diag_init(&quiet, NULL);
    op_ctx probe = *c;
    probe.d = &quiet;
    int n = 0;
    for (int i = 0; i < nc && n < SG_MAX_VARIANTS; i++) {
        signal_plan p;
        int rank = 0;
        int64_t dims[HODU_MAX_RANK];
        if (cand[i] < 0 || (op_node(c)->op == OP_STFT && cand[i] < 1) ||
            !sg_get_variant(&probe, &p, &rank, dims, cand[i]) || rank != dr)
            continue;
        bool same = true;
        for (int k = 0; k < rank; k++)
            same = same && dims[k] == declared[k];
        if (same && plans)
            plans[n] = p;
        n += same;
    }
    hd_diag_free(&quiet);
    return n;
}

static bool sg_get(op_ctx *c, signal_plan *p, int *rank, int64_t *dims)
{
    if (sg_select_input(c) >= 0) {
        signal_plan v[SG_MAX_VARIANTS];
        if (sg_variants(c, v) < 1)
            return false;
        *p = v[0];
        if (rank)
            *rank = op_declared_shape(c, 0, dims);
        return true;
    }
    return sg_get_variant(c, p, rank, dims, -1);
}

bool signal_plan_get(const ir_graph *g, int node, signal_plan *p)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    return sg_get(&c, p, NULL, NULL);
}

int signal_plan_variants(const ir_graph *g, int node, signal_plan *plans, int *select_input)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    *select_input = sg_select_input(&c);
    if (*select_input >= 0)
        return sg_variants(&c, plans);
    return sg_get_variant(&c, plans, NULL, NULL, -1) ? 1 : 0;
}

static bool infer_lines(op_ctx *c)
{
    signal_plan p;
    int rank = 0;
    int64_t dims[HODU_MAX_RANK];
    int sel = sg_select_input(c);
    if (sel >= 0 && sg_variants(c, NULL) < 1) {
        /* report why the plainest variant fails, or that none fits */
        const char *what = sel == 2 ? "axis" : "frame_length";
        return op_fail(c, "%s ('%s') comes at run time, but no value of it gives the declared output shape", what,
                       op_in(c, (size_t)sel)->name);
    }
    if (!sg_get(c, &p, &rank, dims))
        return false;
    op_set_out(c, 0, op_in(c, 0)->dtype, rank, dims);
    return true;
}

/* Folds a DFT or STFT whose operands are all known, with the same plan
 * and FFT the generated code runs. */
static bool fold_lines(op_ctx *c)
{
    signal_plan p;
    if (!sg_get(c, &p, NULL, NULL))
        return false;
    const ir_value *x = op_in(c, 0), *out = op_out(c, 0);
    const ir_value *w = p.window >= 0 ? op_in(c, (size_t)p.window) : NULL;
    int64_t nx = ir_value_numel(x), ny = ir_value_numel(out);
    if ((!x->data && nx > 0) || (w && !w->data) || nx > SG_FOLD_MAX || ny > SG_FOLD_MAX)
        return true; /* left to run time */
    double *xv = hd_xmalloc((size_t)nx * sizeof(double) + 1);
    double *wv = hd_xmalloc((size_t)p.n_load * sizeof(double) + 1);
    if (ir_const_as_f64(c->g, op_in_id(c, 0), xv, (size_t)nx) != nx ||
        (w && ir_const_as_f64(c->g, op_in_id(c, (size_t)p.window), wv, (size_t)p.n_load) != p.n_load)) {
        free(xv);
        free(wv);
        return op_fail(c, "internal error: unreadable constant operand");
    }
    int64_t n = p.n;
    double *plan = hd_xmalloc((size_t)hd_fft_plan_doubles(n) * sizeof(double));
    double *work = hd_xmalloc((size_t)hd_fft_work_doubles(n) * sizeof(double) + sizeof(double));
    double *buf = hd_xmalloc((size_t)(4 * n) * sizeof(double)), *res = buf + 2 * n;
    hd_fft_plan_init(n, plan, work);
    void *dst = op_fold_alloc(c, 0);
    for (int64_t a = 0; a < p.lines0; a++)
        for (int64_t b = 0; b < p.lines1; b++) {
            const double *xl = xv + a * p.in_s0 + b * p.in_s1;
            memset(buf, 0, (size_t)(2 * n) * sizeof(double));
            for (int64_t j = 0; j < p.n_load; j++) {
                double s = w ? wv[j] : 1.0;
                buf[2 * j] = xl[j * p.in_step] * s;
                if (p.in_ch == 2)
                    buf[2 * j + 1] = xl[j * p.in_step + 1] * s;
            }
            if (p.hermitian)
                for (int64_t k = 1; k < (n + 1) / 2; k++) {
                    buf[2 * (n - k)] = buf[2 * k];
                    buf[2 * (n - k) + 1] = -buf[2 * k + 1];
                }
            hd_fft_run(plan, buf, res, work, p.inverse);
            int64_t yo = a * p.out_s0 + b * p.out_s1;
            for (int64_t k = 0; k < p.n_store; k++) {
                signal_store_as(out->dtype, dst, yo + k * p.out_step, res[2 * k] * p.scale);
                if (p.out_ch == 2)
                    signal_store_as(out->dtype, dst, yo + k * p.out_step + 1, res[2 * k + 1] * p.scale);
            }
        }
    free(buf);
    free(work);
    free(plan);
    free(wv);
    free(xv);
    return true;
}

static int64_t flops_lines(const ir_graph *g, int node)
{
    signal_plan p;
    if (!signal_plan_get(g, node, &p))
        return 0;
    /* about 5 n log2 n per complex transform */
    int64_t lg = 1;
    while (lg < 62 && ((int64_t)1 << lg) < p.n)
        lg++;
    return op_sat_mul(op_sat_mul(p.lines0, p.lines1), op_sat_mul(5 * p.n, lg));
}

/* --- window ops and MelWeightMatrix ---------------------------------------- */

void signal_store_as(hodu_dtype t, void *dst, int64_t i, double v)
{
    /* integers: toward zero, saturated (NaN as 0) */
#define SG_INT(T, LO, HI)                                                                                              \
    do {                                                                                                               \
        T q = v >= (double)(HI) ? (T)(HI) : v > (double)(LO) ? (T)v : (T)(LO);                                         \
        ((T *)dst)[i] = v != v ? (T)0 : q;                                                                             \
    } while (0)
    switch (t) {
    case HODU_DTYPE_F32: ((float *)dst)[i] = (float)v; break;
    case HODU_DTYPE_F64: ((double *)dst)[i] = v; break;
    case HODU_DTYPE_F16: ((uint16_t *)dst)[i] = hd_f32_to_f16((float)v); break;
    case HODU_DTYPE_BF16: ((uint16_t *)dst)[i] = hd_f32_to_bf16((float)v); break;
    case HODU_DTYPE_I8: SG_INT(int8_t, INT8_MIN, INT8_MAX); break;
    case HODU_DTYPE_U8: SG_INT(uint8_t, 0, UINT8_MAX); break;
    case HODU_DTYPE_I16: SG_INT(int16_t, INT16_MIN, INT16_MAX); break;
    case HODU_DTYPE_U16: SG_INT(uint16_t, 0, UINT16_MAX); break;
    case HODU_DTYPE_I32: SG_INT(int32_t, INT32_MIN, INT32_MAX); break;
    case HODU_DTYPE_U32: SG_INT(uint32_t, 0, UINT32_MAX); break;
    /* 2^63 and 2^64 are the first doubles out of range */
    case HODU_DTYPE_I64: SG_INT(int64_t, INT64_MIN, INT64_MAX); break;
    case HODU_DTYPE_U64: SG_INT(uint64_t, 0, UINT64_MAX); break;
    default: break;
    }
#undef SG_INT
}

static bool sg_out_type(op_ctx *c, hodu_dtype *t)
{
    int64_t odt = ir_attr_int(op_node(c), "output_datatype", HODU_DTYPE_F32);
    if (!sg_numeric(odt))
        return op_fail(c, "attribute 'output_datatype' value %" PRId64 " is not a supported numeric type", odt);
    *t = (hodu_dtype)odt;
    return true;
}

static bool win_get(op_ctx *c, int64_t *size, bool *periodic, hodu_dtype *t)
{
    int64_t declared[HODU_MAX_RANK];
    if (sg_runtime_scalar(c, 0, false) && op_declared_shape(c, 0, declared) == 1)
        *size = declared[0]; /* checked against the value when the model runs */
    else if (!sg_const_int(c, 0, "size", size))
        return false;
    if (*size < 0 || *size > SG_MAX_TABLE)
        return op_fail(c, "window size %" PRId64 " is out of range [0, %" PRId64 "]", *size, SG_MAX_TABLE);
    int64_t per = ir_attr_int(op_node(c), "periodic", 1);
    if (per != 0 && per != 1)
        return op_fail(c, "attribute 'periodic' must be 0 or 1, is %" PRId64, per);
    *periodic = per != 0;
    return sg_out_type(c, t);
}

typedef struct mel_params {
    int64_t mels, dft_len, rate, bins;
    double lo, hi;
    bool f32; /* edges rounded to float like the reference's float32 math */
    hodu_dtype t;
    bool runtime; /* operands read when the model runs: only mels and bins are known */
} mel_params;

/* MelWeightMatrix with an operand computed at run time, where the model
 * declares the output shape [bins, mels]: the lowering checks that the
 * values ask for it and computes the matrix when the model runs. */
static bool mel_runtime(op_ctx *c, mel_params *m)
{
    int64_t declared[HODU_MAX_RANK];
    bool any = false;
    for (size_t i = 0; i < 5; i++) {
        const ir_value *x = op_in(c, i);
        if (!x || (x->kind != IR_VALUE_CONST && !sg_runtime_scalar(c, i, i >= 3)))
            return false;
        if (x->kind == IR_VALUE_CONST && ir_value_numel(x) != 1)
            return false;
        if (i < 3 ? x->dtype != HODU_DTYPE_I32 && x->dtype != HODU_DTYPE_I64 : !sg_float(x->dtype))
            return false;
        any = any || x->kind != IR_VALUE_CONST;
    }
    if (!any || op_declared_shape(c, 0, declared) != 2 || declared[0] < 1)
        return false;
    m->runtime = true;
    m->bins = declared[0];
    m->mels = declared[1];
    m->dft_len = 2 * (m->bins - 1) + 1;
    m->rate = 1;
    return true;
}

static bool mel_get(op_ctx *c, mel_params *m)
{
    memset(m, 0, sizeof *m);
    if (mel_runtime(c, m)) {
        if (m->mels > SG_MAX_TABLE || m->bins > SG_MAX_TABLE / 2)
            return op_fail(c, "the declared MelWeightMatrix output (%" PRId64 " x %" PRId64 ") is too large", m->bins,
                           m->mels);
    } else {
        bool ok = sg_const_int(c, 0, "num_mel_bins", &m->mels);
        ok = sg_const_int(c, 1, "dft_length", &m->dft_len) && ok;
        ok = sg_const_int(c, 2, "sample_rate", &m->rate) && ok;
        ok = sg_const_float(c, 3, "lower_edge_hertz", &m->lo) && ok;
        ok = sg_const_float(c, 4, "upper_edge_hertz", &m->hi) && ok;
        if (!ok)
            return false;
        if (m->mels < 0 || m->mels > SG_MAX_TABLE)
            return op_fail(c, "num_mel_bins %" PRId64 " is out of range [0, %" PRId64 "]", m->mels, SG_MAX_TABLE);
        if (m->dft_len < 1 || m->dft_len > SG_MAX_TABLE)
            return op_fail(c, "dft_length %" PRId64 " is out of range [1, %" PRId64 "]", m->dft_len, SG_MAX_TABLE);
        if (m->rate < 1)
            return op_fail(c, "sample_rate must be positive, is %" PRId64, m->rate);
        if (!(m->lo >= 0 && m->lo <= m->hi && m->hi < 1e30))
            return op_fail(c,
                           "the band edges must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz (finite), are %g, %g",
                           m->lo, m->hi);
        m->bins = m->dft_len / 2 + 1;
    }
    int64_t numel;
    if (!op_ck_mul(c, m->bins, m->mels, &numel, "the MelWeightMatrix output"))
        return false;
    if (numel > SG_MAX_TABLE)
        return op_fail(
            c, "the MelWeightMatrix output (%" PRId64 " x %" PRId64 ") is above the supported %" PRId64 " elements",
            m->bins, m->mels, SG_MAX_TABLE);
    m->f32 = op_in(c, 3)->dtype != HODU_DTYPE_F64;
    return sg_out_type(c, &m->t);
}

/* Value v as a bin index kept well inside int64 (far past any table). */
static int64_t mel_bin(double v)
{
    v = floor(v);
    return v != v ? 0 : v < -1e15 ? (int64_t)-1e15 : v > 1e15 ? (int64_t)1e15 : (int64_t)v;
}

static double *mel_values(const mel_params *m)
{
    double *w = hd_xcalloc((size_t)(m->bins * m->mels) + 1, sizeof(double));
    double lo_mel = 2595.0 * log10(1.0 + m->lo / 700.0), hi_mel = 2595.0 * log10(1.0 + m->hi / 700.0);
    double step = (hi_mel - lo_mel) / (double)(m->mels + 2);
    if (m->f32) {
        lo_mel = (float)lo_mel;
        hi_mel = (float)hi_mel;
        step = (float)((float)(hi_mel - lo_mel) / (float)(m->mels + 2));
    }
    int64_t *edge = hd_xmalloc((size_t)(m->mels + 2) * sizeof(int64_t));
    for (int64_t i = 0; i < m->mels + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + lo_mel) / 2595.0) - 1.0);
        edge[i] = mel_bin((double)(m->dft_len + 1) * hz / (double)m->rate);
    }
    for (int64_t i = 0; i < m->mels; i++) {
        int64_t l = edge[i], ce = edge[i + 1], h = edge[i + 2];
        /* rising edge l..ce, then falling edge ce..h-1; bins outside the
         * table are skipped */
        if (ce == l) {
            if (ce >= 0 && ce < m->bins)
                w[ce * m->mels + i] = 1.0;
        } else {
            for (int64_t j = l > 0 ? l : 0; j <= ce && j < m->bins; j++)
                w[j * m->mels + i] = (double)(j - l) / (double)(ce - l);
        }
        if (h > ce)
            for (int64_t j = ce > 0 ? ce : 0; j < h && j < m->bins; j++)
                w[j * m->mels + i] = (double)(h - j) / (double)(h - ce);
    }
    free(edge);
    return w;
}

static double *win_values(int op, int64_t size, bool periodic)
{
    double *w = hd_xmalloc((size_t)size * sizeof(double) + 1);
    const double two_pi = 6.283185307179586476925286766559;
    double den = (double)(periodic ? size : size - 1);
    for (int64_t i = 0; i < size; i++) {
        double x = den > 0 ? two_pi * (double)i / den : 0.0; /* one symmetric point: the window's peak */
        switch (op) {
        case OP_HANN_WINDOW: w[i] = den > 0 ? 0.5 - 0.5 * cos(x) : 1.0; break;
        case OP_HAMMING_WINDOW: w[i] = den > 0 ? 25.0 / 46.0 - 21.0 / 46.0 * cos(x) : 1.0; break;
        default: w[i] = den > 0 ? 0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x) : 1.0; break;
        }
    }
    return w;
}

static double *sg_table(op_ctx *c, int64_t *numel, hodu_dtype *t)
{
    int op = op_node(c)->op;
    if (op == OP_MEL_WEIGHT_MATRIX) {
        mel_params m;
        if (!mel_get(c, &m) || m.runtime)
            return NULL;
        *numel = m.bins * m.mels;
        *t = m.t;
        return mel_values(&m);
    }
    if (op != OP_HANN_WINDOW && op != OP_HAMMING_WINDOW && op != OP_BLACKMAN_WINDOW)
        return NULL;
    int64_t size = 0;
    bool periodic = false; /* win_get sets both; gcc -O3 cannot see it */
    if (!win_get(c, &size, &periodic, t))
        return NULL;
    *numel = size;
    return win_values(op, size, periodic);
}

double *signal_table(const ir_graph *g, int node, int64_t *numel)
{
    op_ctx c = {(ir_graph *)g, node, NULL};
    hodu_dtype t;
    return sg_table(&c, numel, &t);
}

static bool infer_window(op_ctx *c)
{
    int64_t size = 0;
    bool periodic = false;
    hodu_dtype t = HODU_DTYPE_UNDEFINED; /* win_get sets all three; gcc -O3 cannot see it */
    if (!win_get(c, &size, &periodic, &t))
        return false;
    op_set_out(c, 0, t, 1, &size);
    return true;
}

static bool infer_mel(op_ctx *c)
{
    mel_params m;
    if (!mel_get(c, &m))
        return false;
    int64_t dims[2] = {m.bins, m.mels};
    op_set_out(c, 0, m.t, 2, dims);
    return true;
}

static bool fold_table(op_ctx *c)
{
    int64_t numel = 0;
    hodu_dtype t;
    double *v = sg_table(c, &numel, &t);
    if (!v)
        return false;
    void *dst = op_fold_alloc(c, 0);
    for (int64_t i = 0; i < numel; i++)
        signal_store_as(t, dst, i, v[i]);
    free(v);
    return true;
}

/* --- the ops ------------------------------------------------------------- */

static const op_attr_spec dft17_attrs[] = {
    {"axis", IR_ATTR_INT}, {"inverse", IR_ATTR_INT}, {"onesided", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec dft_attrs[] = {{"inverse", IR_ATTR_INT}, {"onesided", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec stft_attrs[] = {{"onesided", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec window_attrs[] = {{"output_datatype", IR_ATTR_INT}, {"periodic", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec mel_attrs[] = {{"output_datatype", IR_ATTR_INT}, {NULL, 0}};

OP_DEF(DFT_17, .attrs = dft17_attrs, .infer = infer_lines, .fold = fold_lines, .flops = flops_lines, .grad = dft_grad);
OP_DEF(DFT, .attrs = dft_attrs, .infer = infer_lines, .fold = fold_lines, .flops = flops_lines, .grad = dft_grad);
OP_DEF(STFT, .attrs = stft_attrs, .infer = infer_lines, .fold = fold_lines, .flops = flops_lines);
OP_DEF(HANN_WINDOW, .attrs = window_attrs, .infer = infer_window, .fold = fold_table);
OP_DEF(HAMMING_WINDOW, .attrs = window_attrs, .infer = infer_window, .fold = fold_table);
OP_DEF(BLACKMAN_WINDOW, .attrs = window_attrs, .infer = infer_window, .fold = fold_table);
OP_DEF(MEL_WEIGHT_MATRIX, .attrs = mel_attrs, .infer = infer_mel, .fold = fold_table);
