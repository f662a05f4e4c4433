/*
 * bench/peak.c - the machine's single-precision FMA peak and the kernel
 * layer's SGEMM speed, measured on the spot.  bench/run compiles it with
 * the system cc, together with the runtime's thread pool (the one
 * libhodu_rt lends a model through hodu_exec):
 *
 *     cc -O2 -march=native -pthread -I include -I src/kernels -I src/runtime \
 *        bench/peak.c src/runtime/pool.c src/runtime/common.c -o peak -lm
 *
 * and reads the one JSON object it prints on stdout:
 *   isa               the vector ISA the FMA loop used
 *   fma_gflops_1t     best single-thread GFLOP/s of a register-only FMA loop
 *   fma_threads       T (--threads)
 *   fma_gflops_threads  the same loop on T threads at once: per round, the
 *                     sum of the T threads' GFLOP/s; the best round (equal
 *                     to fma_gflops_1t when T is 1)
 *   fma_gflops_per_thread  each thread's share of that best round
 *                     (both peaks are measured before and after the SGEMM
 *                     rows, and the higher figure kept: other work on the
 *                     machine can only lower a peak)
 *   other_isas        narrower ISAs measured too, for reference (1 thread)
 *   sgemm[]           {m, k, n, threads, entry, gflops, fraction_of_peak,
 *                      peak_gflops, gflops_best, gflops_packed_b}: gflops
 *                      is the median call, gflops_best the fastest (a noisy
 *                      machine's quiet moments), gflops_packed_b the median
 *                      with B packed once beforehand, as a model's weights
 *                      are (hd_sgemm_ws_pb; hd_sgemm_run_par at T threads).
 *                      fraction_of_peak = gflops / peak_gflops, the
 *                      1-thread peak for the hd_sgemm_ws rows and the
 *                      T-thread peak for the hd_sgemm_par rows
 *
 * usage: peak [--threads T] [--seconds S]
 *   --threads T  also measure the FMA peak on T threads at once and time
 *                SGEMM at T threads through hd_sgemm_par, on the runtime's
 *                pool (src/runtime/pool.c)
 *   --seconds S  rough time per measurement (default 0.25)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hodu_abi.h" /* before hodu_kernels.h: its section 6 (hd_sgemm_par) needs hodu_exec */
#include "hodu_kernels.h"
#include "rt_impl.h" /* the runtime's pool: hodurt_pool_create, hodurt_pool_parallel_for */

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__FMA__) || defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#include <arm_neon.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A volatile source keeps the compiler from knowing the loop constants, so
 * it cannot fold or vectorise the chains away. */
static volatile float g_mul = 0.999999f, g_add = 1e-6f;
static volatile float g_sink;

/* ACC independent accumulators: FMA latency (4-5 cycles) times the number
 * of FMA ports (2) is at most 10 chains in flight; 12 covers it with room
 * and still fits the 16 architectural vector registers of AVX2. */
#define ACC 12

/* Each FMA_LOOP runs `iters` rounds of ACC FMAs, acc = acc * m + c, and
 * returns the number of floating-point operations done (2 per lane).  The
 * accumulators are named variables, not an array: at -O2 an array loop is
 * not always unrolled, and accumulators kept in memory would measure
 * store-to-load latency instead of the FMA units. */
#define FMA_LOOP(NAME, VT, SET1, FMA, LANES, REDUCE)                                                                   \
    static double NAME(long iters)                                                                                     \
    {                                                                                                                  \
        VT m = SET1(g_mul), c = SET1(g_add);                                                                           \
        VT a0 = SET1(0.f), a1 = SET1(1.f), a2 = SET1(2.f), a3 = SET1(3.f), a4 = SET1(4.f), a5 = SET1(5.f);             \
        VT a6 = SET1(6.f), a7 = SET1(7.f), a8 = SET1(8.f), a9 = SET1(9.f), a10 = SET1(10.f), a11 = SET1(11.f);         \
        for (long it = 0; it < iters; it++) {                                                                          \
            a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);                            \
            a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);                            \
            a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c), a11 = FMA(a11, m, c);                        \
        }                                                                                                              \
        VT s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));                          \
        g_sink = REDUCE(s);                                                                                            \
        return 2.0 * LANES * ACC * (double)iters;                                                                      \
    }

typedef double (*fma_fn)(long iters);

#if defined(__AVX512F__)
static float red512(__m512 v) { return _mm512_reduce_add_ps(v); }
FMA_LOOP(fma_avx512, __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16, red512)
#endif
#if defined(__AVX2__) && defined(__FMA__)
static float red256(__m256 v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
FMA_LOOP(fma_avx2, __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8, red256)
#endif
#if defined(__SSE2__)
static float red128(__m128 v)
{
    float t[4];
    _mm_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3];
}
#if defined(__FMA__)
FMA_LOOP(fma_sse_fma, __m128, _mm_set1_ps, _mm_fmadd_ps, 4, red128)
#else
/* No FMA unit: a multiply and an add, still 2 flops per lane. */
static inline __m128 mul_add128(__m128 a, __m128 b, __m128 c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
FMA_LOOP(fma_sse, __m128, _mm_set1_ps, mul_add128, 4, red128)
#endif
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
static inline float32x4_t fma_neon_op(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmaq_f32(c, a, b); }
static float red_neon(float32x4_t v)
{
    return vgetq_lane_f32(v, 0) + vgetq_lane_f32(v, 1) + vgetq_lane_f32(v, 2) + vgetq_lane_f32(v, 3);
}
FMA_LOOP(fma_neon, float32x4_t, vdupq_n_f32, fma_neon_op, 4, red_neon)
#endif
static inline float fma_scalar_op(float a, float b, float c) { return a * b + c; }
static float red_scalar(float v) { return v; }
FMA_LOOP(fma_scalar, float, (float), fma_scalar_op, 1, red_scalar)

/* Widest first: the first row is the peak. */
static const struct {
    const char *isa;
    fma_fn fn;
} fma_kernels[] = {
#if defined(__AVX512F__)
    {"avx512f", fma_avx512},
#endif
#if defined(__AVX2__) && defined(__FMA__)
    {"avx2+fma", fma_avx2},
#endif
#if defined(__SSE2__) && defined(__FMA__)
    {"sse+fma", fma_sse_fma},
#elif defined(__SSE2__)
    {"sse2", fma_sse},
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
    {"neon", fma_neon},
#endif
    {"scalar", fma_scalar},
};

/* Iterations for one timed round of about `seconds / 5`. */
static long fma_round_iters(fma_fn fn, double seconds)
{
    long iters = 1 << 16;
    for (;;) {
        double t0 = now_s();
        fn(iters);
        double dt = now_s() - t0;
        if (dt > 0.01 || iters > (1L << 40))
            return (long)((double)iters * (seconds / 5.0) / (dt > 1e-9 ? dt : 1e-9)) + 1;
        iters *= 4;
    }
}

/* Best GFLOP/s over a few timed rounds (the best round is the one least
 * disturbed by other work on the machine). */
static double measure_fma(fma_fn fn, double seconds)
{
    long iters = fma_round_iters(fn, seconds);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        double flops = fn(iters);
        double g = flops / (now_s() - t0) / 1e9;
        best = g > best ? g : best;
    }
    return best;
}

/* The FMA peak of T threads at once: every thread runs the same loop, the
 * rounds start together (a barrier), and a round's figure is the sum of the
 * threads' own GFLOP/s.  The best of 5 rounds; its per-thread shares go to
 * per_thread[]. */
typedef struct {
    fma_fn fn;
    long iters;
    pthread_barrier_t *start;
    double gflops[5];
} fma_thread_arg;

static void *fma_thread(void *arg_)
{
    fma_thread_arg *a = arg_;
    for (int r = 0; r < 5; r++) {
        pthread_barrier_wait(a->start);
        double t0 = now_s();
        double flops = a->fn(a->iters);
        a->gflops[r] = flops / (now_s() - t0) / 1e9;
    }
    return NULL;
}

static double measure_fma_threads(fma_fn fn, int threads, double seconds, double *per_thread)
{
    long iters = fma_round_iters(fn, seconds); /* one thread alone sizes the rounds */
    pthread_barrier_t start;
    fma_thread_arg *args = calloc((size_t)threads, sizeof *args);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!args || !tids || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) {
        fprintf(stderr, "peak: cannot set up %d threads\n", threads);
        exit(1);
    }
    for (int t = 0; t < threads; t++) {
        args[t] = (fma_thread_arg){.fn = fn, .iters = iters, .start = &start};
        if (t > 0 && pthread_create(&tids[t], NULL, fma_thread, &args[t]) != 0) {
            fprintf(stderr, "peak: cannot start thread %d of %d\n", t + 1, threads);
            exit(1);
        }
    }
    fma_thread(&args[0]); /* this thread is the first of the T */
    for (int t = 1; t < threads; t++)
        pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&start);
    double best = 0;
    int best_r = 0;
    for (int r = 0; r < 5; r++) {
        double sum = 0;
        for (int t = 0; t < threads; t++)
            sum += args[t].gflops[r];
        if (sum > best)
            best = sum, best_r = r;
    }
    for (int t = 0; t < threads; t++)
        per_thread[t] = args[t].gflops[best_r];
    free(args);
    free(tids);
    return best;
}

/* --- SGEMM ------------------------------------------------------------- */

typedef struct {
    int64_t m, k, n;
} gemm_shape;

/* The SGEMM entry of the kernel layer at a thread count: hd_sgemm_ws on
 * one thread, hd_sgemm_par on the runtime's pool otherwise. */
static const char *gemm_entry_name(int threads) { return threads == 1 ? "hd_sgemm_ws" : "hd_sgemm_par"; }

/* What a threaded product runs on: the pool, and one scratch per worker
 * (hd_sgemm_par's `workers`, worker_bytes apart). */
typedef struct {
    hodu_exec exec;
    unsigned char *workers;
    size_t worker_bytes;
} gemm_threads;

/* packed_b != NULL: the product with B packed beforehand (hd_sgemm_ws_pb
 * on one thread, hd_sgemm_run_par on th: how a model's weights are read) */
static void gemm_call(const gemm_threads *th, const gemm_shape *s, const float *A, const float *B,
                      const float *packed_b, float *C, float *scratch)
{
    if (th && packed_b) {
        hd_sgemm_op op = {s->m, s->n, s->k, A,    s->k, 0, NULL, 0, 0,    packed_b,
                          C,    s->n, 1.0f, 0.0f, 1,    0, 0,    0, NULL, NULL};
        hd_sgemm_run_par(&th->exec, th->workers, th->worker_bytes, &op);
    } else if (th)
        hd_sgemm_par(&th->exec, th->workers, th->worker_bytes, 1, 0, 0, 0, s->m, s->n, s->k, A, s->k, 0, B, s->n, 0, C,
                     s->n, 1.0f, 0.0f);
    else if (packed_b)
        hd_sgemm_ws_pb(s->m, s->n, s->k, A, s->k, 0, packed_b, C, s->n, 1.0f, 0.0f, scratch);
    else
        hd_sgemm_ws(s->m, s->n, s->k, A, s->k, 0, B, s->n, 0, C, s->n, 1.0f, 0.0f, scratch);
}

static float *random_floats(size_t n, uint32_t seed)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "peak: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median GFLOP/s of timed calls after two warm-up calls (the number of
 * calls makes the measurement last about `seconds`), and the fastest
 * call in *best. */
static double time_gemm(const gemm_threads *th, const gemm_shape *s, const float *A, const float *B,
                        const float *packed_b, float *C, float *scratch, double seconds, double *best)
{
    double flops = 2.0 * (double)s->m * (double)s->k * (double)s->n;
    gemm_call(th, s, A, B, packed_b, C, scratch);
    double t0 = now_s();
    gemm_call(th, s, A, B, packed_b, C, scratch);
    double one = now_s() - t0;
    int reps = (int)(seconds / (one > 1e-6 ? one : 1e-6));
    reps = reps < 5 ? 5 : reps > 201 ? 201 : reps;

    double *g = malloc((size_t)reps * sizeof(double));
    if (!g) {
        fprintf(stderr, "peak: out of memory\n");
        exit(1);
    }
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        gemm_call(th, s, A, B, packed_b, C, scratch);
        g[r] = flops / (now_s() - t0) / 1e9;
    }
    qsort(g, (size_t)reps, sizeof(double), cmp_double);
    double med = g[reps / 2];
    *best = g[reps - 1];
    g_sink = C[0];
    free(g);
    return med;
}

/* The SGEMM figures of one shape: median and best of hd_sgemm_ws (th
 * NULL) or hd_sgemm_par on th, and the median with B pre-packed
 * (*packed). */
static double measure_gemm(const gemm_threads *th, const gemm_shape *s, double seconds, double *best, double *packed)
{
    float *A = random_floats((size_t)(s->m * s->k), 1), *B = random_floats((size_t)(s->k * s->n), 2);
    float *C = random_floats((size_t)(s->m * s->n), 3);
    size_t ns = hd_sgemm_scratch_floats(s->m, s->n, s->k);
    double med, pbest;
    float *pb = random_floats(hd_sgemm_packed_b_floats(s->k, s->n), 5);
    hd_sgemm_pack_b(s->k, s->n, B, s->n, 0, pb);
    if (th) {
        /* worker_bytes: a whole number of 64-byte lines holding the scratch */
        gemm_threads t = *th;
        t.worker_bytes = (ns * sizeof(float) + 63) / 64 * 64;
        t.workers = hodurt_alloc_aligned(t.worker_bytes * t.exec.n_workers);
        if (!t.workers) {
            fprintf(stderr, "peak: out of memory\n");
            exit(1);
        }
        med = time_gemm(&t, s, A, B, NULL, C, NULL, seconds, best);
        *packed = time_gemm(&t, s, A, B, pb, C, NULL, seconds / 2, &pbest);
        free(t.workers);
    } else {
        float *scratch = ns ? random_floats(ns, 4) : NULL;
        med = time_gemm(NULL, s, A, B, NULL, C, scratch, seconds, best);
        *packed = time_gemm(NULL, s, A, B, pb, C, scratch, seconds / 2, &pbest);
        free(scratch);
    }
    free(pb);
    free(A);
    free(B);
    free(C);
    return med;
}

int main(int argc, char **argv)
{
    int threads = 1;
    double seconds = 0.25;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: peak [--threads T] [--seconds S]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > (int)HODURT_MAX_THREADS || seconds <= 0) {
        fprintf(stderr, "peak: --threads takes 1 to %u, --seconds a positive number\n", HODURT_MAX_THREADS);
        return 2;
    }

    /* The peaks are measured before and again after the SGEMM rows and the
     * higher figure kept: other work on the machine can only lower one. */
    double *per_thread = calloc((size_t)threads, sizeof *per_thread);
    double *per_thread2 = calloc((size_t)threads, sizeof *per_thread2);
    if (!per_thread || !per_thread2) {
        fprintf(stderr, "peak: out of memory\n");
        return 1;
    }
    double peak = measure_fma(fma_kernels[0].fn, seconds);
    double peak_t = threads > 1 ? measure_fma_threads(fma_kernels[0].fn, threads, seconds, per_thread) : 0;

    /* The runtime's pool at T threads, as an instance of libhodu_rt gets it. */
    hodurt_pool *pool = NULL;
    gemm_threads th = {{1, NULL, NULL}, NULL, 0};
    if (threads > 1) {
        hodu_error err;
        if (hodurt_pool_create((uint32_t)threads, &pool, &err) != HODU_OK) {
            fprintf(stderr, "peak: %s\n", err.message);
            return 1;
        }
        th.exec = (hodu_exec){.n_workers = (uint32_t)threads, .pool = pool, .parallel_for = hodurt_pool_parallel_for};
    }

    static const gemm_shape shapes[] = {{1024, 1024, 1024}, {128, 768, 768}, {128, 768, 3072}};
    enum { n_shapes = sizeof shapes / sizeof shapes[0] };
    struct {
        int threads;
        double gflops, best, packed;
    } rows[2 * n_shapes];
    int n_rows = 0;
    for (int s = 0; s < n_shapes; s++)
        for (int c = 0; c < (threads > 1 ? 2 : 1); c++) {
            rows[n_rows].threads = c ? threads : 1;
            rows[n_rows].gflops =
                measure_gemm(c ? &th : NULL, &shapes[s], seconds, &rows[n_rows].best, &rows[n_rows].packed);
            n_rows++;
        }
    hodurt_pool_destroy(pool);

    double again = measure_fma(fma_kernels[0].fn, seconds);
    peak = again > peak ? again : peak;
    if (threads > 1) {
        again = measure_fma_threads(fma_kernels[0].fn, threads, seconds, per_thread2);
        if (again > peak_t) {
            peak_t = again;
            memcpy(per_thread, per_thread2, (size_t)threads * sizeof *per_thread);
        }
    } else {
        peak_t = per_thread[0] = peak;
    }

    printf("{\"isa\": \"%s\", \"fma_gflops_1t\": %.3f, \"fma_threads\": %d, \"fma_gflops_threads\": %.3f, "
           "\"fma_gflops_per_thread\": [",
           fma_kernels[0].isa, peak, threads, peak_t);
    for (int t = 0; t < threads; t++)
        printf("%s%.3f", t ? ", " : "", per_thread[t]);
    printf("], \"accumulators\": %d, \"other_isas\": {", ACC);
    free(per_thread);
    free(per_thread2);
    size_t nk = sizeof fma_kernels / sizeof fma_kernels[0];
    for (size_t i = 1; i < nk; i++)
        printf("%s\"%s\": %.3f", i > 1 ? ", " : "", fma_kernels[i].isa, measure_fma(fma_kernels[i].fn, seconds / 2));
    printf("}, \"hd_vector_bytes\": %d, \"sgemm\": [", HD_VECTOR_BYTES);
    for (int r = 0; r < n_rows; r++) {
        const gemm_shape *sh = &shapes[r / (threads > 1 ? 2 : 1)];
        double p = rows[r].threads > 1 ? peak_t : peak;
        char packed_s[32] = "null";
        if (rows[r].packed >= 0)
            snprintf(packed_s, sizeof packed_s, "%.3f", rows[r].packed);
        printf("%s{\"m\": %lld, \"k\": %lld, \"n\": %lld, \"threads\": %d, \"entry\": \"%s\", "
               "\"gflops\": %.3f, \"fraction_of_peak\": %.4f, \"peak_gflops\": %.3f, \"gflops_best\": %.3f, "
               "\"gflops_packed_b\": %s}",
               r ? ", " : "", (long long)sh->m, (long long)sh->k, (long long)sh->n, rows[r].threads,
               gemm_entry_name(rows[r].threads), rows[r].gflops, p > 0 ? rows[r].gflops / p : 0.0, p, rows[r].best,
               packed_s);
    }
    printf("]}\n");
    return 0;
}
