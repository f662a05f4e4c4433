/* Unit tests for src/kernels/hodu_kernels.h, the kernel layer that
 * generated models include.  The same file is also rebuilt by
 * test_isa_variants with other target flags (scalar fallback, AVX2,
 * -march=native, clang) and run again, so every vector width is checked
 * on the machine that runs the suite. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef HD_KERNELS_CHILD
#include <unistd.h>
#endif

/* the ABI header first: it enables the kernel layer's section 6 (threads) */
#include "../../include/hodu_abi.h"
/* Threaded products split however small they are, so the partition tests
 * see blocks (the default floor keeps small products on one thread). */
#define HD_SGEMM_PAR_MACS 1
#include "kernels/hodu_kernels.h"

/* ---------------------------------------------------------------------- */
/* helpers                                                                 */
/* ---------------------------------------------------------------------- */

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* deterministic xorshift generator */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float rng_unit(void)
{ /* uniform in [-1, 1) */
    return (float)((double)(rng_next() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* distance in units in the last place; ordered so that -0 == +0 */
static int64_t ordered(float f)
{
    uint32_t u = bits_of(f);
    return u & 0x80000000u ? -(int64_t)(u & 0x7FFFFFFFu) : (int64_t)u;
}
static int64_t ulp_dist(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : INT64_MAX;
    int64_t d = ordered(a) - ordered(b);
    return d < 0 ? -d : d;
}

/* ---------------------------------------------------------------------- */
/* f16 / bf16                                                              */
/* ---------------------------------------------------------------------- */

/* independent decode of a half from its fields */
static double ref_f16_value(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp((double)m, -24);
    else
        v = ldexp(1024.0 + m, e - 25);
    return s ? -v : v;
}

/* Every half decodes to the exact value its fields denote, and encoding that
 * float gives back the same bits (NaNs: stay NaN, same sign, payload kept
 * with the quiet bit set). */
static void test_f16_roundtrip_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; ++h) {
        float f = hd_f16_to_f32((uint16_t)h);
        double ref = ref_f16_value((uint16_t)h);
        uint16_t back = hd_f32_to_f16(f);
        if (isnan(ref)) {
            assert_true(isnan(f));
            assert_int_equal(bits_of(f) >> 31, h >> 15);
            assert_int_equal(back, h | 0x200u);
        } else {
            assert_true((double)f == ref);
            assert_int_equal(signbit(f) != 0, (h >> 15) != 0);
            assert_int_equal(back, h);
        }
    }
}

/* Every bf16 widens to the float with those top 16 bits and narrows back to
 * itself (NaNs quieted, sign and payload kept). */
static void test_bf16_roundtrip_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; ++h) {
        float f = hd_bf16_to_f32((uint16_t)h);
        assert_int_equal(bits_of(f), h << 16);
        uint16_t back = hd_f32_to_bf16(f);
        if (isnan(f))
            assert_int_equal(back, h | 0x40u);
        else
            assert_int_equal(back, h);
    }
}

/* reference float -> half by nearest search over the 31744 finite
 * magnitudes, ties to the even pattern, >= 65520 -> Inf */
static double f16_mag[0x7C01];
static void init_f16_mag(void)
{
    for (uint32_t h = 0; h <= 0x7C00; ++h)
        f16_mag[h] = ref_f16_value((uint16_t)h);
}
static uint16_t ref_f32_to_f16(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    if (isnan(f))
        return 0; /* not used for NaN */
    if (a >= 65520.0)
        return sign | 0x7C00;
    uint32_t lo = 0, hi = 0x7BFF; /* largest lo with mag[lo] <= a */
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (f16_mag[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (f16_mag[lo] == a)
        return sign | (uint16_t)lo;
    double dlo = a - f16_mag[lo], dhi = f16_mag[lo + 1] - a;
    uint32_t pick = dlo < dhi ? lo : dhi < dlo ? lo + 1 : ((lo & 1) ? lo + 1 : lo);
    return sign | (uint16_t)pick;
}

/* float -> half rounds to nearest even on hand-picked tricky values, on
 * every half-way point between adjacent halves and its float neighbours,
 * and on a stride through all float bit patterns. */
static void test_f32_to_f16_rounding(void **state)
{
    (void)state;
    init_f16_mag();
    struct {
        float in;
        uint16_t out;
    } cases[] = {
        {65504.0f, 0x7BFF},        {65519.99f, 0x7BFF},       {65520.0f, 0x7C00},
        {1e10f, 0x7C00},           {-65520.0f, 0xFC00},       {0x1p-24f, 0x0001},
        {0x1p-25f, 0x0000},        {0x1.000002p-25f, 0x0001}, {0x1.8p-24f, 0x0002},
        {0x1.4p-23f, 0x0002},      {0x1.ffcp-15f, 0x0400},    {0x1.ff8p-15f, 0x03FF},
        {1.0f + 0x1p-11f, 0x3C00}, {1.0f + 0x3p-11f, 0x3C02}, {1.0f + 0x1.004p-11f, 0x3C01},
        {-0.0f, 0x8000},           {0x1p-149f, 0x0000},       {-0x1p-149f, 0x8000},
        {2049.0f, 0x6800},         {2051.0f, 0x6802},         {INFINITY, 0x7C00},
        {-INFINITY, 0xFC00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
        assert_int_equal(hd_f32_to_f16(cases[i].in), cases[i].out);
    /* midpoints between consecutive halves are exactly representable */
    for (uint32_t h = 0; h < 0x7BFF; ++h) {
        float mid = (float)((f16_mag[h] + f16_mag[h + 1]) / 2);
        float probes[3] = {mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY)};
        for (int p = 0; p < 3; ++p) {
            assert_int_equal(hd_f32_to_f16(probes[p]), ref_f32_to_f16(probes[p]));
            assert_int_equal(hd_f32_to_f16(-probes[p]), ref_f32_to_f16(-probes[p]));
        }
    }
    for (uint64_t u = 0; u < 0x100000000ull; u += 4093) {
        float f = float_of((uint32_t)u);
        if (isnan(f)) {
            uint16_t h = hd_f32_to_f16(f);
            assert_int_equal(h & 0x7E00u, 0x7E00u);
            assert_int_equal(h >> 15, (uint32_t)u >> 31);
        } else {
            assert_int_equal(hd_f32_to_f16(f), ref_f32_to_f16(f));
        }
    }
}

/* float -> bf16 rounds to nearest even (checked against a double-based
 * nearest search) on tricky values and a stride through all floats;
 * FLT_MAX rounds to Inf. */
static void test_f32_to_bf16_rounding(void **state)
{
    (void)state;
    assert_int_equal(hd_f32_to_bf16(FLT_MAX), 0x7F80);
    assert_int_equal(hd_f32_to_bf16(-FLT_MAX), 0xFF80);
    assert_int_equal(hd_f32_to_bf16(float_of(0x3F808000u)), 0x3F80); /* tie, even */
    assert_int_equal(hd_f32_to_bf16(float_of(0x3F818000u)), 0x3F82); /* tie, odd */
    assert_int_equal(hd_f32_to_bf16(float_of(0x3F808001u)), 0x3F81);
    assert_int_equal(hd_f32_to_bf16(float_of(0x00008000u)), 0x0000); /* subnormal tie */
    assert_int_equal(hd_f32_to_bf16(float_of(0x7F7F8000u)), 0x7F80); /* tie to Inf */
    for (uint64_t u = 0; u < 0x100000000ull; u += 997) {
        uint32_t x = (uint32_t)u;
        float f = float_of(x);
        uint16_t got = hd_f32_to_bf16(f);
        if (isnan(f)) {
            assert_true(isnan(hd_bf16_to_f32(got)));
            continue;
        }
        uint32_t lo = x & 0xFFFF0000u;
        double a = fabs((double)f), vlo = fabs((double)float_of(lo));
        /* upper neighbour: next bf16 magnitude (may be Inf) */
        uint32_t up = lo + 0x10000u;
        double vup = ((up & 0x7FFFFFFFu) >= 0x7F800000u) ? ldexp(1.0, 128) : fabs((double)float_of(up));
        uint32_t pick;
        if (a == vlo)
            pick = lo;
        else if (a - vlo < vup - a)
            pick = lo;
        else if (a - vlo > vup - a)
            pick = up;
        else
            pick = (lo >> 16) & 1 ? up : lo;
        assert_int_equal(got, pick >> 16);
    }
}

/* The array forms agree element-wise with the scalar ones. */
static void test_half_arrays(void **state)
{
    (void)state;
    enum { N = 37 };
    float f[N], g[N];
    uint16_t h[N], b[N];
    for (int i = 0; i < N; ++i)
        f[i] = rng_unit() * 1000.0f;
    hd_f32_to_f16_array(f, h, N);
    hd_f32_to_bf16_array(f, b, N);
    for (int i = 0; i < N; ++i) {
        assert_int_equal(h[i], hd_f32_to_f16(f[i]));
        assert_int_equal(b[i], hd_f32_to_bf16(f[i]));
    }
    hd_f16_to_f32_array(h, g, N);
    for (int i = 0; i < N; ++i)
        assert_true(g[i] == hd_f16_to_f32(h[i]));
    hd_bf16_to_f32_array(b, g, N);
    for (int i = 0; i < N; ++i)
        assert_true(g[i] == hd_bf16_to_f32(b[i]));
}

/* ---------------------------------------------------------------------- */
/* GEMM                                                                    */
/* ---------------------------------------------------------------------- */

#define GUARD_VAL 12345.678f
#define GUARD_PAD 64

/* Runs one sgemm case through hd_sgemm and hd_sgemm_ws and compares with a
 * double-accumulated reference.  C lives inside a guard region (extra
 * rows/columns before and after, and the ldc gap), all of which must be
 * unchanged afterwards; the scratch buffer is likewise guarded and
 * deliberately misaligned. */
static void check_sgemm(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta, int64_t pad,
                        int c_nan)
{
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    size_t asz = (size_t)(arows * lda + 1), bsz = (size_t)(brows * ldb + 1);
    size_t csz = (size_t)(M * ldc + 2 * GUARD_PAD);
    float *A = malloc(asz * sizeof(float)), *B = malloc(bsz * sizeof(float));
    float *C0 = malloc(csz * sizeof(float)), *C = malloc(csz * sizeof(float));
    double *ref = malloc((size_t)(M * N + 1) * sizeof(double));
    double *mag = malloc((size_t)(M * N + 1) * sizeof(double));
    assert_non_null(A);
    assert_non_null(B);
    assert_non_null(C0);
    assert_non_null(C);
    assert_non_null(ref);
    assert_non_null(mag);
    for (size_t i = 0; i < asz; ++i)
        A[i] = rng_unit();
    for (size_t i = 0; i < bsz; ++i)
        B[i] = rng_unit();
    for (size_t i = 0; i < csz; ++i)
        C0[i] = GUARD_VAL;
    float *c0 = C0 + GUARD_PAD;
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
            c0[i * ldc + j] = c_nan ? NAN : rng_unit();
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
            double s = 0, m = 0;
            for (int64_t k = 0; k < K; ++k) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
                m += fabs(a * b);
            }
            double cv = beta == 0.0f ? 0.0 : (double)beta * c0[i * ldc + j];
            ref[i * N + j] = alpha * s + cv;
            mag[i * N + j] = fabs((double)alpha) * m + fabs(cv);
        }
    }
    size_t sf = hd_sgemm_scratch_floats(M, N, K);
    float *scratch_mem = malloc((sf + 1 + 2 * GUARD_PAD) * sizeof(float));
    assert_non_null(scratch_mem);
    for (int variant = 0; variant < 2; ++variant) {
        memcpy(C, C0, csz * sizeof(float));
        float *c = C + GUARD_PAD;
        float *scratch = scratch_mem + GUARD_PAD + 1; /* 4-byte aligned only */
        for (size_t i = 0; i < sf + 1 + 2 * GUARD_PAD; ++i)
            scratch_mem[i] = GUARD_VAL;
        if (variant == 0)
            hd_sgemm(M, N, K, A, lda, ta, B, ldb, tb, c, ldc, alpha, beta);
        else
            hd_sgemm_ws(M, N, K, A, lda, ta, B, ldb, tb, c, ldc, alpha, beta, scratch);
        for (int64_t i = 0; i < GUARD_PAD; ++i)
            assert_true(C[i] == GUARD_VAL);
        for (size_t i = (size_t)(M * ldc + GUARD_PAD); i < csz; ++i)
            assert_true(C[i] == GUARD_VAL);
        for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = N; j < ldc; ++j)
                assert_true(c[i * ldc + j] == GUARD_VAL);
            for (int64_t j = 0; j < N; ++j) {
                double got = c[i * ldc + j], want = ref[i * N + j];
                double tol = 1e-6 * (double)(K + 4) * mag[i * N + j] + 1e-30;
                if (!(fabs(got - want) <= tol)) {
                    print_error("sgemm M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld "
                                "variant=%d: C[%lld][%lld]=%.9g want %.9g\n",
                                (long long)M, (long long)N, (long long)K, ta, tb, alpha, beta, (long long)pad, variant,
                                (long long)i, (long long)j, got, want);
                    fail();
                }
            }
        }
        for (size_t i = 0; i < GUARD_PAD + 1; ++i)
            assert_true(scratch_mem[i] == GUARD_VAL);
        for (size_t i = GUARD_PAD + 1 + sf; i < sf + 1 + 2 * GUARD_PAD; ++i)
            assert_true(scratch_mem[i] == GUARD_VAL);
    }
    free(scratch_mem);
    free(A);
    free(B);
    free(C0);
    free(C);
    free(ref);
    free(mag);
}

/* Degenerate sizes (0 and 1 in every position) with every transpose combo:
 * no stray writes, correct values, nothing read when a dimension is 0;
 * the on-stack buffer of hd_sgemm is within budget. */
static void test_sgemm_tiny_shapes(void **state)
{
    (void)state;
    int64_t sz[] = {0, 1, 2, 3};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (size_t m = 0; m < 4; ++m)
                for (size_t n = 0; n < 4; ++n)
                    for (size_t k = 0; k < 4; ++k)
                        check_sgemm(sz[m], sz[n], sz[k], ta, tb, 1.0f, 0.5f, 1, 0);
    /* NULL operands are fine when nothing is to be read */
    hd_sgemm(0, 0, 0, NULL, 1, 0, NULL, 1, 0, NULL, 1, 1.0f, 0.0f);
    float c = 3.0f;
    hd_sgemm(1, 1, 0, NULL, 1, 0, NULL, 1, 0, &c, 1, 1.0f, 2.0f);
    assert_true(c == 6.0f);
    hd_sgemm_ws(1, 1, 0, NULL, 1, 0, NULL, 1, 0, &c, 1, 1.0f, 0.0f, NULL);
    assert_true(c == 0.0f);
    assert_int_equal(hd_sgemm_scratch_floats(0, 5, 5), 0);
    /* hd_sgemm's on-stack buffer stays below the 512 KiB budget */
    assert_true(HD_SGEMM_STACK_BYTES <= 512 * 1024);
}

/* The scratch this target needs never exceeds the target-independent bound
 * the compiler plans with (default knobs), for small, odd and large sizes,
 * and the bound has the documented closed form. */
static void test_sgemm_scratch_bound(void **state)
{
    (void)state;
    int64_t v[] = {0,   1,   2,   3,   4,   5,   7,   8,   9,   15,   16,   17,   31,   33,   63,  100,
                   143, 144, 145, 159, 161, 200, 255, 256, 257, 1000, 1023, 1024, 1025, 1057, 5000};
    size_t nv = sizeof v / sizeof v[0];
    for (size_t a = 0; a < nv; ++a)
        for (size_t b = 0; b < nv; ++b)
            for (size_t c = 0; c < nv; ++c) {
                int64_t M = v[a], N = v[b], K = v[c];
                size_t mx = hd_sgemm_scratch_floats_max(M, N, K);
#if !HD_SGEMM_ABCAST
                assert_true(hd_sgemm_scratch_floats(M, N, K) <= mx);
#endif
                if (M == 0 || N == 0 || K == 0) {
                    assert_int_equal(mx, 0);
                } else {
                    int64_t m = M + 15 < 160 ? M + 15 : 160, n = N + 31 < 1056 ? N + 31 : 1056;
                    assert_int_equal(mx, (size_t)((m + n) * (K < 256 ? K : 256) + 16));
                }
            }
}

/* Odd sizes around the micro-tile and vector widths, all transpose combos,
 * several alpha/beta pairs and padded leading dimensions. */
static void test_sgemm_odd_shapes(void **state)
{
    (void)state;
    int64_t ms[] = {1, 2, 4, 5, 7, HD_SGEMM_MR - 1, HD_SGEMM_MR, HD_SGEMM_MR + 1, 13, 33};
    int64_t ns[] = {1, 3, HD_VF - 1 > 0 ? HD_VF - 1 : 2, HD_SGEMM_NR, HD_SGEMM_NR + 1, 4 * HD_VF + 3, 37};
    int64_t ks[] = {1, 2, 17, 64};
    float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 2.0f}, {2.0f, -1.0f}};
    int idx = 0;
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; ++mi)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ++ni)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ++ki)
                for (int t = 0; t < 4; ++t, ++idx)
                    check_sgemm(ms[mi], ns[ni], ks[ki], t & 1, t >> 1, ab[idx % 4][0], ab[idx % 4][1], idx % 3, 0);
}

/* Sizes larger than every cache block (MC, KC, NC and the on-stack NC), so
 * all block boundaries and the K-block accumulation are exercised. */
static void test_sgemm_large_blocks(void **state)
{
    (void)state;
    int64_t M = HD__SGEMM_MCMAX + HD_SGEMM_MR + 3;
    int64_t N = HD__SGEMM_NCB + HD_SGEMM_NR + 5;
    int64_t K = 2 * HD_SGEMM_KC + 7;
    for (int t = 0; t < 4; ++t)
        check_sgemm(M, N, K, t & 1, t >> 1, 0.75f, t == 3 ? 0.0f : -0.5f, 3, 0);
    check_sgemm(5, 300, 600, 0, 0, 1.0f, 1.0f, 0, 0);  /* small-M path, big K */
    check_sgemm(3, 301, 513, 0, 1, 1.0f, 0.25f, 2, 0); /* small-M, B transposed */
    check_sgemm(300, 2, 700, 1, 0, 1.0f, 0.0f, 1, 0);  /* thin N */
}

/* The few-rows and few-columns (GEMV-like) paths: M or N in 1..4 against
 * larger partners, every transpose combo, padded and unpadded strides
 * (N == 1 with ldb == 1 takes the swapped dot-product path). */
static void test_sgemm_small_m_and_n(void **state)
{
    (void)state;
    int64_t big[] = {5, 37, 300};
    int64_t ks[] = {1, 7, 300};
    for (int64_t s = 1; s <= 4; ++s)
        for (size_t b = 0; b < 3; ++b)
            for (size_t k = 0; k < 3; ++k)
                for (int t = 0; t < 4; ++t) {
                    check_sgemm(s, big[b], ks[k], t & 1, t >> 1, 1.0f, 0.5f, (int64_t)(k & 1), 0);
                    check_sgemm(big[b], s, ks[k], t & 1, t >> 1, -2.0f, 0.0f, (int64_t)(b & 1), 0);
                }
}

/* beta == 0 never reads C: NaN garbage in C leaves no trace, for every
 * path (small-M, packed, edge tiles, several K blocks). */
static void test_sgemm_beta0_ignores_nan(void **state)
{
    (void)state;
    int64_t shapes[][3] = {{1, 9, 5},   {3, 40, 7},
                           {4, 4, 300}, {5, 2 * HD_SGEMM_NR + 3, HD_SGEMM_KC + 5},
                           {9, 33, 3},  {HD_SGEMM_MR + 2, 2 * HD_SGEMM_NR + 1, HD_SGEMM_KC + 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int t = 0; t < 4; ++t)
            check_sgemm(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 1.5f, 0.0f, 1, 1);
}

/* alpha == 0 reads neither A nor B (NaNs there do not propagate) and gives
 * C = beta*C exactly; beta == 0 as well gives exact zeros over NaN. */
static void test_sgemm_alpha0(void **state)
{
    (void)state;
    float A[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, B[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    float C[4] = {1, 2, 3, 4};
    hd_sgemm(2, 2, 3, A, 3, 0, B, 2, 0, C, 2, 0.0f, 3.0f);
    assert_true(C[0] == 3 && C[1] == 6 && C[2] == 9 && C[3] == 12);
    float D[4] = {NAN, NAN, NAN, NAN};
    hd_sgemm(2, 2, 3, A, 3, 0, B, 2, 0, D, 2, 0.0f, 0.0f);
    for (int i = 0; i < 4; ++i)
        assert_true(D[i] == 0.0f && !signbit(D[i]));
}

/* Random shapes (mixed paths) against the reference. */
static void test_sgemm_random_shapes(void **state)
{
    (void)state;
    for (int it = 0; it < 60; ++it) {
        int64_t M = (int64_t)(rng_next() % 70), N = (int64_t)(rng_next() % 90);
        int64_t K = (int64_t)(rng_next() % 80);
        float beta = (it % 3 == 0) ? 0.0f : rng_unit();
        check_sgemm(M, N, K, (int)(rng_next() & 1), (int)(rng_next() & 1), rng_unit() * 2, beta,
                    (int64_t)(rng_next() % 4), beta == 0.0f && it % 2 == 0);
    }
}

/* ---------------------------------------------------------------------- */
/* GEMM partitions and the threaded entry                                  */
/* ---------------------------------------------------------------------- */

/* One product's operands, with padded leading dimensions, random data. */
typedef struct gemm_case {
    int64_t M, N, K, lda, ldb, ldc;
    int ta, tb;
    float alpha, beta;
    float *A, *B, *C0;
} gemm_case;

static float *random_block(size_t n)
{
    float *p = malloc((n + 1) * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n + 1; ++i)
        p[i] = rng_unit();
    return p;
}

static void gemm_case_init(gemm_case *g, int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta)
{
    g->M = M, g->N = N, g->K = K, g->ta = ta, g->tb = tb, g->alpha = alpha, g->beta = beta;
    g->lda = (ta ? M : K) + 1, g->ldb = (tb ? K : N) + 2, g->ldc = N + 3;
    g->A = random_block((size_t)((ta ? K : M) * g->lda));
    g->B = random_block((size_t)((tb ? N : K) * g->ldb));
    g->C0 = random_block((size_t)(M * g->ldc));
}

static void gemm_case_free(gemm_case *g)
{
    free(g->A);
    free(g->B);
    free(g->C0);
}

/* hd_sgemm_ws on the rows [r0, r1) and columns [c0, c1) of the product,
 * with scratch of exactly the advertised size (filled with garbage). */
static void gemm_case_block(const gemm_case *g, float *C, int64_t r0, int64_t r1, int64_t c0, int64_t c1)
{
    int64_t m = r1 - r0, n = c1 - c0;
    size_t sf = hd_sgemm_scratch_floats(m, n, g->K);
    float *scratch = sf ? malloc(sf * sizeof(float)) : NULL;
    assert_true(sf == 0 || scratch != NULL);
    for (size_t i = 0; i < sf; ++i)
        scratch[i] = NAN;
    const float *A = g->ta ? g->A + r0 : g->A + r0 * g->lda;
    const float *B = g->tb ? g->B + c0 * g->ldb : g->B + c0;
    hd_sgemm_ws(m, n, g->K, A, g->lda, g->ta, B, g->ldb, g->tb, C + r0 * g->ldc + c0, g->ldc, g->alpha, g->beta,
                scratch);
    free(scratch);
}

/* Cut [0, n) into blocks that start at multiples of `tile` and hold more
 * than `least` lines each, of pseudo-random widths; returns the block
 * count. */
static int random_cuts(int64_t n, int64_t tile, int64_t least, int64_t *cuts)
{
    int64_t units = least / tile + 1; /* fewest tiles in a block of more than `least` lines */
    int nb = 0;
    cuts[nb++] = 0;
    for (int64_t lo = 0;;) {
        int64_t hi = lo + tile * (units + (int64_t)(rng_next() % 3));
        if (n - hi <= least) {
            cuts[nb] = n;
            return nb;
        }
        cuts[nb++] = lo = hi;
    }
}

/* Partition invariance, which hd_sgemm_par relies on: C computed through
 * several hd_sgemm_ws calls on column blocks starting at multiples of NR
 * (or row blocks at multiples of MR), each more than 4 wide (columns of a
 * transposed B: more than HD__SGEMM_DOT_MAX_N), is bit-identical to one
 * call on the whole product; so is hd_sgemm. */
static void check_sgemm_split(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta)
{
    gemm_case g;
    gemm_case_init(&g, M, N, K, ta, tb, alpha, beta);
    size_t csz = (size_t)(M * g.ldc);
    float *whole = malloc(csz * sizeof(float)), *part = malloc(csz * sizeof(float));
    assert_non_null(whole);
    assert_non_null(part);
    memcpy(whole, g.C0, csz * sizeof(float));
    gemm_case_block(&g, whole, 0, M, 0, N);
    /* the on-stack entry too, with its narrower NC blocks */
    memcpy(part, g.C0, csz * sizeof(float));
    hd_sgemm(M, N, K, g.A, g.lda, ta, g.B, g.ldb, tb, part, g.ldc, alpha, beta);
    assert_memory_equal(whole, part, csz * sizeof(float));
    int64_t cuts[4096];
    for (int by_rows = 0; by_rows < 2; ++by_rows) {
        int64_t n = by_rows ? M : N, least = !by_rows && tb ? HD__SGEMM_DOT_MAX_N : 4;
        if (n <= least)
            continue;
        for (int rep = 0; rep < 2; ++rep) {
            int nb = random_cuts(n, by_rows ? HD_SGEMM_MR : HD_SGEMM_NR, least, cuts);
            memcpy(part, g.C0, csz * sizeof(float));
            for (int b = 0; b < nb; ++b) {
                if (by_rows)
                    gemm_case_block(&g, part, cuts[b], cuts[b + 1], 0, N);
                else
                    gemm_case_block(&g, part, 0, M, cuts[b], cuts[b + 1]);
            }
            if (memcmp(whole, part, csz * sizeof(float)) != 0) {
                print_error("sgemm split M=%lld N=%lld K=%lld ta=%d tb=%d beta=%g by_rows=%d blocks=%d differs\n",
                            (long long)M, (long long)N, (long long)K, ta, tb, beta, by_rows, nb);
                fail();
            }
        }
    }
    free(whole);
    free(part);
    gemm_case_free(&g);
}

static void test_sgemm_partition_invariance(void **state)
{
    (void)state;
    int64_t shapes[][3] = {
        {5, 5, 1},
        {6, 3 * HD_SGEMM_NR + 5, 40}, /* one row tile: B read in place */
        {3, 100, 50},                 /* M <= 4: unpacked, split by columns */
        {1, 2 * HD_SGEMM_NR + 5, 20},
        {70, 3, 40}, /* N <= 4: unpacked, split by rows */
        {9, 2 * HD_SGEMM_NR + 1, 3},
        {37, 100, 50},
        {2 * HD_SGEMM_MR + 3, 3 * HD_SGEMM_NR + 7, HD_SGEMM_KC + 9}, /* two K blocks */
        {HD__SGEMM_MCMAX + HD_SGEMM_MR + 3, 70, 20},                 /* two M blocks */
        {20, HD__SGEMM_NCB + 2 * HD_SGEMM_NR + 3, 17},               /* two N blocks */
        {64, 96, 2 * HD_SGEMM_KC + 1},
    };
    float ab[][2] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-1.5f, 1.0f}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int t = 0; t < 4; ++t)
            check_sgemm_split(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, ab[(s + t) % 3][0],
                              ab[(s + t) % 3][1]);
}

/* Pre-packed B: hd_sgemm_pack_b writes exactly hd_sgemm_packed_b_floats
 * floats; hd_sgemm_ws_pb matches hd_sgemm_ws bit for bit where that one
 * packs (M > 4 and N > 4, and a transposed B wider than
 * HD__SGEMM_DOT_MAX_N where K >= 4 vectors) and to rounding elsewhere, and column blocks at
 * multiples of HD_SGEMM_PACK_NB (any width) computed apart match the
 * whole. */
static void check_sgemm_pb(int64_t M, int64_t N, int64_t K, int ta, int tb, float alpha, float beta)
{
    gemm_case g;
    gemm_case_init(&g, M, N, K, ta, tb, alpha, beta);
    size_t np = hd_sgemm_packed_b_floats(K, N), csz = (size_t)(M * g.ldc);
    float *packed = malloc((np + GUARD_PAD) * sizeof(float));
    float *ref = malloc(csz * sizeof(float)), *whole = malloc(csz * sizeof(float)), *part = malloc(csz * sizeof(float));
    assert_non_null(packed);
    assert_non_null(ref);
    assert_non_null(whole);
    assert_non_null(part);
    for (size_t i = 0; i < np + GUARD_PAD; ++i)
        packed[i] = GUARD_VAL;
    hd_sgemm_pack_b(K, N, g.B, g.ldb, tb, packed);
    for (size_t i = np; i < np + GUARD_PAD; ++i)
        assert_true(packed[i] == GUARD_VAL);
    size_t sf = hd_sgemm_scratch_floats(M, N, K);
    float *scratch = malloc((sf + 1) * sizeof(float));
    assert_non_null(scratch);
    memcpy(ref, g.C0, csz * sizeof(float));
    hd_sgemm_ws(M, N, K, g.A, g.lda, ta, g.B, g.ldb, tb, ref, g.ldc, alpha, beta, scratch);
    memcpy(whole, g.C0, csz * sizeof(float));
    hd_sgemm_ws_pb(M, N, K, g.A, g.lda, ta, packed, whole, g.ldc, alpha, beta, scratch + 1);
    if (M > 4 && N > 4 && !(tb && N <= HD__SGEMM_DOT_MAX_N && K >= 4 * HD_VF)) { /* ws packs too */
        if (memcmp(ref, whole, csz * sizeof(float)) != 0) {
            print_error("sgemm_ws_pb M=%lld N=%lld K=%lld ta=%d tb=%d differs from hd_sgemm_ws\n", (long long)M,
                        (long long)N, (long long)K, ta, tb);
            fail();
        }
    } else {
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
                double a = ref[i * g.ldc + j], b = whole[i * g.ldc + j];
                assert_true(fabs(a - b) <= 1e-6 * (double)(K + 4) * (fabs(a) + 1.0));
            }
        for (int64_t i = 0; i < M; ++i) /* the ldc gap is left alone */
            assert_memory_equal(whole + i * g.ldc + N, g.C0 + i * g.ldc + N, (size_t)(g.ldc - N) * sizeof(float));
    }
    /* column blocks of random multiples of the panel width */
    memcpy(part, g.C0, csz * sizeof(float));
    for (int64_t c0 = 0; c0 < N;) {
        int64_t c1 = hd__min64(N, c0 + HD_SGEMM_PACK_NB * (1 + (int64_t)(rng_next() % 3)));
        hd_sgemm_ws_pb(M, c1 - c0, K, g.A, g.lda, ta, packed + c0 * K, part + c0, g.ldc, alpha, beta, scratch);
        c0 = c1;
    }
    if (memcmp(part, whole, csz * sizeof(float)) != 0) {
        print_error("sgemm_ws_pb M=%lld N=%lld K=%lld ta=%d tb=%d: column blocks differ\n", (long long)M, (long long)N,
                    (long long)K, ta, tb);
        fail();
    }
    free(scratch);
    free(packed);
    free(ref);
    free(whole);
    free(part);
    gemm_case_free(&g);
}

static void test_sgemm_prepacked_b(void **state)
{
    (void)state;
    int64_t shapes[][3] = {
        {1, 1, 1},
        {1, 70, 33},
        {3, 2 * HD_SGEMM_NR + 3, HD_SGEMM_KC + 5}, /* M <= 4 */
        {40, 3, 20},                               /* N <= 4 */
        {HD_SGEMM_MR + 1, HD_SGEMM_NR - 1, 7},
        {37, 100, 50},
        {2 * HD_SGEMM_MR + 3, 3 * HD_SGEMM_NR + 7, 2 * HD_SGEMM_KC + 9},
        {HD__SGEMM_MCMAX + HD_SGEMM_MR + 3, 70, 20},
        {20, HD__SGEMM_NCB + 2 * HD_SGEMM_NR + 3, 17},
    };
    float ab[][2] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-1.5f, 1.0f}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int t = 0; t < 4; ++t)
            check_sgemm_pb(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, ab[(s + t) % 3][0],
                           ab[(s + t) % 3][1]);
    /* nothing to pack, nothing read */
    assert_int_equal(hd_sgemm_packed_b_floats(0, 5), 0);
    assert_int_equal(hd_sgemm_packed_b_floats(5, 0), 0);
    hd_sgemm_pack_b(0, 5, NULL, 5, 0, NULL);
    float c = 2.0f;
    hd_sgemm_ws_pb(1, 1, 0, NULL, 1, 0, NULL, &c, 1, 1.0f, 3.0f, NULL);
    assert_true(c == 6.0f);
}

/* A host whose parallel-for runs the tasks backwards, as workers t % 3. */
static void reverse_parallel_for(void *pool, uint32_t n, hodu_task_fn fn, void *ctx)
{
    *(uint32_t *)pool += n;
    for (uint32_t t = n; t-- > 0;)
        fn(ctx, t, t % 3);
}

/* x*y for floats the compiler cannot see, so it cannot fold the product. */
static float runtime_mul(float x, float y)
{
    volatile float a = x, b = y;
    return a * b;
}

/* Records in ctx[t] whether a subnormal product came out as zero. */
static void flush_probe_task(void *ctx, uint32_t t, uint32_t worker)
{
    (void)worker;
    ((int *)ctx)[t] = runtime_mul(1e-20f, 1e-20f) == 0.0f;
}

/* Property: inside hd_fpenv_enter a subnormal result is zero (and a
 * subnormal operand reads as zero) where the target can flush; leave gives
 * the caller's environment back; tasks handed to a host's parallel-for run
 * flushed and leave the host thread as they found it. */
static void test_fpenv(void **state)
{
    (void)state;
    const float sub = 1e-40f; /* subnormal */
    assert_true(runtime_mul(1e-20f, 1e-20f) != 0.0f);
    hd_fpenv saved = hd_fpenv_enter();
#if defined(__x86_64__) || defined(__aarch64__)
    assert_true(runtime_mul(1e-20f, 1e-20f) == 0.0f);
    assert_true(runtime_mul(sub, 1.0f) == 0.0f);
    const int flushes = 1;
#else
    const int flushes = 0;
#endif
    hd_fpenv_leave(saved);
    assert_true(runtime_mul(1e-20f, 1e-20f) != 0.0f);
    assert_true(runtime_mul(sub, 1.0f) == sub);

    int seen[6] = {0};
    uint32_t ntasks = 0;
    hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
    hd_parallel_for(&three, 6, flush_probe_task, seen);
    assert_int_equal(ntasks, 6);
    for (int t = 0; t < 6; t++)
        assert_int_equal(seen[t], flushes);
    assert_true(runtime_mul(1e-20f, 1e-20f) != 0.0f);
}

/* hd_sgemm_par gives, byte for byte, what one hd_sgemm_ws call per product
 * gives, whichever way its tasks are split, ordered and assigned; returns
 * the number of tasks of the 3-worker run. */
static uint32_t check_sgemm_par(int64_t batch, int64_t M, int64_t N, int64_t K, int ta, int tb, int share_a,
                                int share_b, float beta)
{
    int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 1, ldc = N + 2;
    int64_t asz = (ta ? K : M) * lda, bsz = (tb ? N : K) * ldb, csz = M * ldc + 5;
    int64_t sa = share_a ? 0 : asz + 3, sb = share_b ? 0 : bsz + 1, sc = csz;
    float *A = random_block((size_t)(asz + (batch - 1) * sa)), *B = random_block((size_t)(bsz + (batch - 1) * sb));
    float *C0 = random_block((size_t)(batch * sc));
    float *want = malloc((size_t)(batch * sc) * sizeof(float)), *got = malloc((size_t)(batch * sc) * sizeof(float));
    assert_non_null(want);
    assert_non_null(got);
    size_t worker_bytes = hd_sgemm_scratch_floats(M, N, K) * sizeof(float) + 64;
    unsigned char *workers = malloc(3 * worker_bytes + 1);
    assert_non_null(workers);
    memset(workers, 0xA5, 3 * worker_bytes + 1);
    memcpy(want, C0, (size_t)(batch * sc) * sizeof(float));
    for (int64_t b = 0; b < batch; ++b)
        hd_sgemm_ws(M, N, K, A + b * sa, lda, ta, B + b * sb, ldb, tb, want + b * sc, ldc, 1.25f, beta,
                    (float *)(void *)workers);
    uint32_t ntasks = 0, ntasks3 = 0;
    hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for},
              one = {.n_workers = 1, .pool = &ntasks, .parallel_for = reverse_parallel_for};
    const hodu_exec *execs[] = {&three, &one, NULL};
    for (int e = 0; e < 3; ++e) {
        if (e == 1)
            ntasks3 = ntasks;
        memcpy(got, C0, (size_t)(batch * sc) * sizeof(float));
        hd_sgemm_par(execs[e], workers, worker_bytes, batch, sa, sb, sc, M, N, K, A, lda, ta, B, ldb, tb, got, ldc,
                     1.25f, beta);
        if (memcmp(want, got, (size_t)(batch * sc) * sizeof(float)) != 0) {
            print_error("hd_sgemm_par batch=%lld M=%lld N=%lld K=%lld ta=%d tb=%d sa=%lld sb=%lld exec=%d differs\n",
                        (long long)batch, (long long)M, (long long)N, (long long)K, ta, tb, (long long)sa,
                        (long long)sb, e);
            fail();
        }
    }
    free(A);
    free(B);
    free(C0);
    free(want);
    free(got);
    free(workers);
    return ntasks3;
}

static void test_sgemm_par(void **state)
{
    (void)state;
    int64_t shapes[][4] = {
        /* batch, M, N, K */
        {1, 50, 3 * HD_SGEMM_NR + 5, 40},              /* column blocks */
        {1, 3 * HD_SGEMM_MR + 7, HD_SGEMM_NR + 3, 33}, /* N < 2*NR: row blocks */
        {1, 4 * HD_SGEMM_MR, 2 * HD_SGEMM_NR, HD_SGEMM_KC + 3},
        {2, 30, 2 * HD_SGEMM_NR + 1, 9}, /* two products, blocks of each */
        {3, 20, 45, 17},                 /* one task per product */
        {3, 3, 70, 25},                  /* M <= 4 */
        {1, 2, 70, 25},
        {3, 40, 3, 25}, /* N <= 4 */
        {1, 40, 2, 25},
        {1, 1, 1, 1},
        {1, 2, 300, 40}, /* M <= 4, wide: column blocks of the unpacked path */
        {1, 3, 2100, 8},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int t = 0; t < 4; ++t) {
            uint32_t n = check_sgemm_par(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], t & 1, t >> 1,
                                         (int)(s % 2), (int)((s / 2 + t) % 2), t == 1 ? 0.0f : 0.5f);
            if (s == 0) /* three column blocks */
                assert_int_equal(n, 3);
            if (s == 3) /* two blocks of each of the two products */
                assert_int_equal(n, 4);
        }
}

/* The tile epilogue: a tile visitor that counts visits per element of C
 * and rewrites each element as 2c + 1 (product b's rows from b*M). */
typedef struct epi_probe {
    int64_t M, N, ldc, sc;
    float *C;       /* the op's C, to locate the tile */
    int *visits;    /* batch*M x N */
    int bad_coords; /* tiles whose (i0, j0) do not match where c points */
} epi_probe;

static void epi_probe_tile(void *ctx, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr, int64_t nr)
{
    epi_probe *p = ctx;
    int64_t b = i0 / p->M, i = i0 % p->M;
    if (ldc != p->ldc || c != p->C + b * p->sc + i * p->ldc + j0 || i + mr > p->M || j0 + nr > p->N)
        p->bad_coords++;
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t q = 0; q < nr; ++q) {
            c[r * ldc + q] = 2.0f * c[r * ldc + q] + 1.0f;
            p->visits[(i0 + r) * p->N + j0 + q]++;
        }
}

/* hd_sgemm_run_par with an epilogue, plain or pre-packed B: every element
 * is visited exactly once, and the result is the product without the
 * epilogue (bit-identical) passed through it. */
static void check_sgemm_epilogue(int64_t batch, int64_t M, int64_t N, int64_t K, int ta, int tb, int packed)
{
    gemm_case g;
    gemm_case_init(&g, M, N, K, ta, tb, 1.25f, 0.5f);
    int64_t sc = M * g.ldc, np = (int64_t)hd_sgemm_packed_b_floats(K, N);
    float *C0 = random_block((size_t)(batch * sc)), *want = malloc((size_t)(batch * sc) * sizeof(float));
    float *got = malloc((size_t)(batch * sc) * sizeof(float)), *pk = malloc((size_t)(np + 1) * sizeof(float));
    int *visits = calloc((size_t)(batch * M * N + 1), sizeof(int));
    size_t worker_bytes = hd_sgemm_scratch_floats(M, N, K) * sizeof(float) + 64;
    unsigned char *workers = malloc(3 * worker_bytes);
    assert_true(want && got && pk && visits && workers);
    hd_sgemm_pack_b(K, N, g.B, g.ldb, tb, pk);
    memcpy(want, C0, (size_t)(batch * sc) * sizeof(float));
    for (int64_t b = 0; b < batch; ++b) {
        float *cb = want + b * sc;
        if (packed)
            hd_sgemm_ws_pb(M, N, K, g.A, g.lda, ta, pk, cb, g.ldc, 1.25f, 0.5f, (float *)(void *)workers);
        else
            hd_sgemm_ws(M, N, K, g.A, g.lda, ta, g.B, g.ldb, tb, cb, g.ldc, 1.25f, 0.5f, (float *)(void *)workers);
        for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j)
                cb[i * g.ldc + j] = 2.0f * cb[i * g.ldc + j] + 1.0f;
    }
    memcpy(got, C0, (size_t)(batch * sc) * sizeof(float));
    epi_probe probe = {M, N, g.ldc, sc, got, visits, 0};
    hd_sgemm_op op = {M,     N,     K,    g.A,   g.lda, ta, g.B, g.ldb,          tb,    packed ? pk : NULL, got,
                      g.ldc, 1.25f, 0.5f, batch, 0,     0,  sc,  epi_probe_tile, &probe};
    uint32_t ntasks = 0;
    hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
    hd_sgemm_run_par(&three, workers, worker_bytes, &op);
    assert_int_equal(probe.bad_coords, 0);
    for (int64_t i = 0; i < batch * M * N; ++i)
        if (visits[i] != 1) {
            print_error("epilogue M=%lld N=%lld K=%lld packed=%d: element %lld visited %d times\n", (long long)M,
                        (long long)N, (long long)K, packed, (long long)i, visits[i]);
            fail();
        }
    if (memcmp(want, got, (size_t)(batch * sc) * sizeof(float)) != 0) {
        print_error("epilogue M=%lld N=%lld K=%lld ta=%d tb=%d packed=%d differs\n", (long long)M, (long long)N,
                    (long long)K, ta, tb, packed);
        fail();
    }
    free(C0);
    free(want);
    free(got);
    free(pk);
    free(visits);
    free(workers);
    gemm_case_free(&g);
}

/* One row times pre-packed B (hd__sgemv_packed, through hd_sgemm_run_par):
 * op(A) a contiguous row (trans_a with lda 1 too), any K (odd, past one K
 * block), N across part panels; within rounding of a double product,
 * beta applied, columns past N untouched, and a 3-worker split equal to
 * the serial run bit for bit. */
static void test_sgemv_packed(void **state)
{
    (void)state;
    const int64_t Ks[] = {1, 2, 7, HD_SGEMM_KC + 3};
    const int64_t Ns[] = {1, HD_SGEMM_PACK_NB - 1, HD_SGEMM_PACK_NB + 1, 3 * HD_SGEMM_PACK_NB + 4};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof Ns[0]; b++)
            for (int t = 0; t < 4; t++) {
                int64_t K = Ks[a], N = Ns[b], ldc = N + 3;
                int ta = t & 1, tb = t >> 1;
                float *x = random_block((size_t)K), *B = random_block((size_t)(K * N));
                float *C0 = random_block((size_t)ldc), *serial = malloc((size_t)ldc * sizeof(float));
                float *split = malloc((size_t)ldc * sizeof(float));
                float *pk = malloc((hd_sgemm_packed_b_floats(K, N) + 1) * sizeof(float));
                assert_true(serial && split && pk);
                hd_sgemm_pack_b(K, N, B, tb ? K : N, tb, pk);
                memcpy(serial, C0, (size_t)ldc * sizeof(float));
                memcpy(split, C0, (size_t)ldc * sizeof(float));
                hd_sgemm_op op = {1,      N,   K,     x,     1, ta, B, tb ? K : N, tb,   pk,
                                  serial, ldc, 0.75f, -0.5f, 1, 0,  0, 0,          NULL, NULL};
                hd_sgemm_run_par(NULL, NULL, 0, &op);
                op.C = split;
                uint32_t ntasks = 0;
                hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
                hd_sgemm_run_par(&three, NULL, 0, &op);
                assert_memory_equal(serial, split, (size_t)ldc * sizeof(float));
                for (int64_t j = 0; j < N; j++) {
                    double d = 0.0, mag = 0.0;
                    for (int64_t k = 0; k < K; k++) {
                        double bk = tb ? B[j * K + k] : B[k * N + j];
                        d += (double)x[k] * bk;
                        mag += fabs((double)x[k] * bk);
                    }
                    double want = 0.75 * d - 0.5 * (double)C0[j];
                    assert_true(fabs(want - (double)serial[j]) <= 1e-6 * (double)(K + 4) * (mag + fabs(C0[j]) + 1.0));
                }
                assert_memory_equal(serial + N, C0 + N, 3 * sizeof(float));
                free(x);
                free(B);
                free(C0);
                free(serial);
                free(split);
                free(pk);
            }
}

static void test_sgemm_epilogue(void **state)
{
    (void)state;
    int64_t shapes[][4] = {
        /* batch, M, N, K */
        {1, 50, 3 * HD_SGEMM_PACK_NB + 5, 40},
        {1, 3 * HD_SGEMM_MR + 7, HD_SGEMM_NR + 3, HD_SGEMM_KC + 3}, /* row blocks, two K blocks */
        {2, 30, 2 * HD_SGEMM_PACK_NB + 1, 9},
        {1, 3, 70, 25},   /* M <= 4 */
        {1, 40, 3, 25},   /* N <= 4 */
        {1, 37, 10, 100}, /* narrow transposed B: dot products, rows split */
        {2, 23, HD__SGEMM_DOT_MAX_N, 70},
        {1, 49, 512, 300},
        {1, 7, 5, 0}, /* K == 0: C = beta*C, then the epilogue */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int t = 0; t < 8; ++t)
            check_sgemm_epilogue(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], t & 1, (t >> 1) & 1, t >> 2);
}

/* Row epilogue for the blocked convolution: adds 1 to the rows it is given
 * and counts the elements, so every output row must be handed over once. */
static void cb_epilogue(void *ctx, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr, int64_t nr)
{
    (void)i0;
    (void)j0;
    for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j)
            c[i * ldc + j] += 1.0f;
    *(int64_t *)ctx += mr * nr; /* serial calls only (the parallel run passes no epilogue) */
}

/* hd_conv_blocked against a plain loop over the NCHW convolution, dense
 * and depthwise, blocked and plain (NCHW) inputs, with strides, dilations,
 * asymmetric padding, odd block counts, narrow and wide rows; the pool's
 * split gives the serial bytes. */
static void test_conv_blocked(void **state)
{
    (void)state;
    /* N, Cb, H, W, Mb, KH, KW, S, P(top/left), P(bottom/right), D, depthwise,
     * plain (then Cb is the channel count) */
    const int64_t cases[][13] = {
        {1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 0, 0},   {2, 2, 9, 7, 3, 3, 3, 2, 1, 1, 1, 0, 0},
        {1, 1, 8, 8, 2, 1, 1, 1, 0, 0, 1, 0, 0},   {1, 2, 11, 13, 1, 5, 5, 1, 2, 2, 2, 0, 0},
        {1, 1, 3, 2, 1, 5, 5, 1, 2, 2, 1, 0, 0},   {1, 3, 7, 7, 3, 3, 3, 1, 1, 1, 1, 0, 0},
        {1, 2, 20, 31, 2, 3, 1, 1, 0, 1, 1, 0, 0}, {2, 2, 9, 10, 2, 3, 3, 1, 1, 1, 1, 1, 0},
        {1, 3, 11, 13, 3, 5, 5, 2, 2, 1, 1, 1, 0}, {1, 1, 6, 40, 1, 3, 3, 1, 0, 2, 2, 1, 0},
        {1, 3, 19, 30, 2, 7, 7, 2, 3, 3, 1, 0, 1}, {2, 3, 9, 9, 3, 3, 3, 2, 1, 1, 1, 0, 1},
        {1, 1, 5, 17, 1, 3, 3, 1, 0, 0, 1, 0, 1},  {1, 5, 12, 35, 3, 3, 3, 1, 1, 1, 2, 0, 1},
        {1, 2, 7, 7, 4, 3, 3, 1, 1, 1, 1, 0, 0},   {2, 2, 6, 5, 7, 3, 3, 1, 1, 1, 1, 0, 0},
    };
    const int64_t B = HD_CB;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; ++t) {
        const int64_t *k = cases[t];
        const int64_t N = k[0], Cb = k[1], H = k[2], W = k[3], Mb = k[4], KH = k[5], KW = k[6], S = k[7];
        const int64_t P0 = k[8], P1 = k[9], D = k[10], dw = k[11], plain = k[12], CI = plain ? 1 : HD_CB;
        const int64_t OH = (H + P0 + P1 - D * (KH - 1) - 1) / S + 1, OW = (W + P0 + P1 - D * (KW - 1) - 1) / S + 1;
        const int64_t C = Cb * CI, M = Mb * B, wn = dw ? Cb * KH * KW * B : Mb * Cb * KH * KW * CI * B;
        const size_t yn = (size_t)(N * Mb * OH * OW * B);
        float *x = random_block((size_t)(N * Cb * H * W * CI)), *w = random_block((size_t)wn);
        float *bias = random_block((size_t)M), *y = calloc(yn, sizeof(float)), *y2 = calloc(yn, sizeof(float));
        assert_true(y && y2);
        hd_conv_blocked cv = {.N = N,
                              .Cb = Cb,
                              .H = H,
                              .W = W,
                              .Mb = Mb,
                              .OH = OH,
                              .OW = OW,
                              .KH = KH,
                              .KW = KW,
                              .SH = S,
                              .SW = S,
                              .PT = P0,
                              .PL = P0,
                              .DH = D,
                              .DW = D,
                              .depthwise = (int)dw,
                              .plain = (int)plain,
                              .x = x,
                              .w = w,
                              .bias = bias,
                              .y = y};
        int64_t seen = 0;
        cv.epilogue = cb_epilogue;
        cv.epilogue_ctx = &seen;
        float *scratch = malloc((hd_conv_blocked_scratch_floats(&cv) + 1) * sizeof(float));
        assert_non_null(scratch);
        hd_conv_blocked_run(&cv, scratch);
        assert_int_equal(seen, (int64_t)yn);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t m = 0; m < M; ++m)
                for (int64_t oh = 0; oh < OH; ++oh)
                    for (int64_t ow = 0; ow < OW; ++ow) {
                        double want = bias[m] + 1.0, mag = fabs(bias[m]) + 1.0;
                        for (int64_t c = dw ? m : 0; c < (dw ? m + 1 : C); ++c)
                            for (int64_t i = 0; i < KH; ++i)
                                for (int64_t j = 0; j < KW; ++j) {
                                    int64_t ih = oh * S - P0 + i * D, iw = ow * S - P0 + j * D;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                        continue;
                                    float xv = x[(((n * Cb + c / CI) * H + ih) * W + iw) * CI + c % CI];
                                    float wv = dw ? w[((m / B * KH + i) * KW + j) * B + m % B]
                                                  : w[((((m / B) * Cb + c / CI) * KH + i) * KW + j) * CI * B +
                                                      (c % CI) * B + m % B];
                                    want += (double)xv * wv;
                                    mag += fabs((double)xv * wv);
                                }
                        float got = y[(((n * Mb + m / B) * OH + oh) * OW + ow) * B + m % B];
                        if (fabs(got - want) > 1e-5 * mag) {
                            print_error("case %zu: y[%ld][%ld][%ld][%ld] = %g, want %g\n", t, (long)n, (long)m,
                                        (long)oh, (long)ow, (double)got, want);
                            fail();
                        }
                    }
        uint32_t ntasks = 0;
        hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
        cv.epilogue = NULL;
        cv.y = y2;
        hd_conv_blocked_par(&three, &cv, scratch);
        for (size_t i = 0; i < yn; ++i)
            y2[i] += 1.0f; /* what the epilogue added in the serial run */
        assert_memory_equal(y, y2, yn * sizeof(float));
        free(x);
        free(w);
        free(bias);
        free(y);
        free(y2);
        free(scratch);
    }
}

/* hd_im2col_nd_par and hd_phase_split_par give the serial routines'
 * bytes, split over channel (row) blocks run backwards on 3 workers. */
static void test_im2col_par(void **state)
{
    (void)state;
    const hd_window wins[] = {
        {.nd = 2, .in = {20, 21}, .out = {10, 11}, .k = {3, 3}, .s = {2, 2}, .d = {1, 1}, .pad = {1, 1}},
        {.nd = 2, .in = {14, 14}, .out = {14, 14}, .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pad = {1, 1}},
        {.nd = 1, .in = {50}, .out = {24}, .k = {5}, .s = {2}, .d = {1}, .pad = {0}},
    };
    for (size_t i = 0; i < sizeof wins / sizeof wins[0]; ++i) {
        const hd_window *w = &wins[i];
        int64_t C = 37, IP = 1, KP = 1, OP = 1;
        for (int d = 0; d < w->nd; ++d) {
            IP *= w->in[d];
            KP *= w->k[d];
            OP *= w->out[d];
        }
        int L = w->nd - 1;
        int64_t S = w->s[L], PW = (w->in[L] + S - 1) / S, rows = C * IP / w->in[L];
        float *x = random_block((size_t)(C * IP));
        float *xs_a = calloc((size_t)(rows * S * PW), sizeof(float)), *xs_b = calloc((size_t)(rows * S * PW), 4);
        float *col_a = calloc((size_t)(C * KP * OP), sizeof(float)), *col_b = calloc((size_t)(C * KP * OP), 4);
        assert_true(xs_a && xs_b && col_a && col_b);
        uint32_t ntasks = 0;
        hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
        hd_phase_split_f32(x, rows, w->in[L], S, xs_a);
        hd_phase_split_par(&three, x, rows, w->in[L], S, xs_b);
        assert_memory_equal(xs_a, xs_b, (size_t)(rows * S * PW) * sizeof(float));
        const float *src = S > 1 ? xs_a : x;
        int64_t nr = w->nd > 1 ? w->out[0] : 1;
        hd_im2col_nd_f32(src, C, w, 0, nr, col_a);
        hd_im2col_nd_par(&three, src, C, w, 0, nr, col_b);
        assert_memory_equal(col_a, col_b, (size_t)(C * KP * OP) * sizeof(float));
        if (C * KP * OP >= 32768)
            assert_true(ntasks >= 2); /* big enough to split, and it did */
        free(x);
        free(xs_a);
        free(xs_b);
        free(col_a);
        free(col_b);
    }
}

/* dgemm matches a long-double reference for all transpose combos and
 * alpha/beta, and ignores C when beta == 0. */
static void test_dgemm(void **state)
{
    (void)state;
    int64_t dims[][3] = {{0, 3, 3}, {3, 0, 2}, {2, 2, 0}, {1, 1, 1}, {5, 7, 3}, {17, 9, 33}};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; ++d) {
        for (int t = 0; t < 4; ++t) {
            int ta = t & 1, tb = t >> 1;
            int64_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
            int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 1;
            double A[40 * 40], B[40 * 40], C[40 * 40], C0[40 * 40];
            for (int i = 0; i < 1600; ++i) {
                A[i] = rng_unit();
                B[i] = rng_unit();
                C0[i] = rng_unit();
            }
            for (int bz = 0; bz < 2; ++bz) {
                double alpha = 1.25, beta = bz ? 0.0 : -0.75;
                memcpy(C, C0, sizeof C);
                if (bz)
                    for (int64_t i = 0; i < M * ldc; ++i)
                        if (i % ldc < N)
                            C[i] = NAN;
                hd_dgemm(M, N, K, A, lda, ta, B, ldb, tb, C, ldc, alpha, beta);
                for (int64_t i = 0; i < M; ++i) {
                    for (int64_t j = 0; j < ldc; ++j) {
                        if (j >= N) {
                            assert_true(C[i * ldc + j] == C0[i * ldc + j]);
                            continue;
                        }
                        long double s = 0;
                        for (int64_t k = 0; k < K; ++k)
                            s += (long double)(ta ? A[k * lda + i] : A[i * lda + k]) *
                                 (tb ? B[j * ldb + k] : B[k * ldb + j]);
                        long double want = alpha * s + (bz ? 0.0L : beta * (long double)C0[i * ldc + j]);
                        assert_true(fabsl(C[i * ldc + j] - want) <= 1e-13L * (K + 2));
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------- */
/* im2col / col2im                                                         */
/* ---------------------------------------------------------------------- */

/* im2col equals a direct per-element definition (zeros in padding) for
 * many kernel/stride/pad/dilation combinations, including asymmetric pads
 * and kernels wider than the padded input; nothing past the column matrix
 * is written.  col2im is its adjoint: <im2col(x), y> == <x, col2im(y)>. */
static void test_im2col_col2im(void **state)
{
    (void)state;
    const int64_t C = 3, H = 7, W = 6;
    float x[3 * 7 * 6];
    for (int i = 0; i < 3 * 7 * 6; ++i)
        x[i] = rng_unit();
    int checked = 0;
    for (int64_t kh = 1; kh <= 4; kh += 1)
        for (int64_t kw = 1; kw <= 3; ++kw)
            for (int64_t sh = 1; sh <= 3; ++sh)
                for (int64_t sw = 1; sw <= 3; sw += 1)
                    for (int64_t dil = 1; dil <= 2; ++dil)
                        for (int pads = 0; pads < 4; ++pads) {
                            int64_t pt = pads & 1, pb = pads == 3 ? 2 : 0, pl = pads >> 1, pr = pads == 1 ? 3 : 0;
                            int64_t OH = hd_conv_out_size(H, kh, sh, pt, pb, dil);
                            int64_t OW = hd_conv_out_size(W, kw, sw, pl, pr, dil);
                            int64_t rows = C * kh * kw, cols = OH * OW;
                            size_t n = (size_t)(rows * cols);
                            float *col = malloc((n + 16) * sizeof(float));
                            float *y = malloc((n + 1) * sizeof(float));
                            float xb[3 * 7 * 6 + 8];
                            assert_non_null(col);
                            assert_non_null(y);
                            for (size_t i = 0; i < n + 16; ++i)
                                col[i] = GUARD_VAL;
                            hd_im2col_f32(x, C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, dil, dil, col);
                            for (size_t i = n; i < n + 16; ++i)
                                assert_true(col[i] == GUARD_VAL);
                            double lhs = 0, rhs = 0;
                            for (int64_t c = 0; c < C; ++c)
                                for (int64_t i = 0; i < kh; ++i)
                                    for (int64_t j = 0; j < kw; ++j)
                                        for (int64_t oh = 0; oh < OH; ++oh)
                                            for (int64_t ow = 0; ow < OW; ++ow) {
                                                int64_t ih = oh * sh - pt + i * dil, iw = ow * sw - pl + j * dil;
                                                float want = (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                                                 ? x[(c * H + ih) * W + iw]
                                                                 : 0.0f;
                                                size_t at = (size_t)(((c * kh + i) * kw + j) * cols + oh * OW + ow);
                                                assert_true(col[at] == want);
                                            }
                            for (size_t i = 0; i < n; ++i) {
                                y[i] = rng_unit();
                                lhs += (double)col[i] * y[i];
                            }
                            for (int i = 0; i < 8; ++i)
                                xb[C * H * W + i] = GUARD_VAL;
                            hd_col2im_f32(y, C, H, W, kh, kw, sh, sw, pt, pl, pb, pr, dil, dil, xb);
                            for (int i = 0; i < 8; ++i)
                                assert_true(xb[C * H * W + i] == GUARD_VAL);
                            for (int64_t i = 0; i < C * H * W; ++i)
                                rhs += (double)x[i] * xb[i];
                            assert_true(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(lhs)));
                            free(col);
                            free(y);
                            ++checked;
                        }
    assert_true(checked > 500);
    assert_int_equal(hd_conv_out_size(2, 5, 1, 0, 0, 1), 0);
    assert_int_equal(hd_conv_out_size(224, 7, 2, 3, 3, 1), 112);
}

/* hd_phase_split_f32 against its definition, for strides below, at and
 * above the row width; nothing past rows * S * PW is written. */
static void test_phase_split(void **state)
{
    (void)state;
    float x[3 * 13], xs[3 * 16 * 13 + 4];
    for (int i = 0; i < 3 * 13; ++i)
        x[i] = rng_unit();
    for (int64_t rows = 1; rows <= 3; ++rows)
        for (int64_t W = 1; W <= 13; ++W)
            for (int64_t S = 1; S <= 16; ++S) {
                int64_t PW = (W + S - 1) / S, n = rows * S * PW;
                for (int64_t i = 0; i < n + 4; ++i)
                    xs[i] = GUARD_VAL;
                hd_phase_split_f32(x, rows, W, S, xs);
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t ph = 0; ph < S; ++ph)
                        for (int64_t j = 0; j < PW; ++j) {
                            float want = j * S + ph < W ? x[r * W + j * S + ph] : 0.0f;
                            assert_true(xs[(r * S + ph) * PW + j] == want);
                        }
                for (int64_t i = n; i < n + 4; ++i)
                    assert_true(xs[i] == GUARD_VAL);
            }
}

/* A random N-D window: image dims 1..6, kernels 1..3, strides 1..3,
 * dilations 1..2, begin pads -1..2 (a negative pad crops); the grid either
 * follows from an end pad of 0..2 (as a convolution's) or is any 1..5 (the
 * kernels clip).  With `wide` the last dim is 1..70 wide with pads up to
 * 19 and grids up to 60, so rows span several vectors of every width and
 * zero runs longer than a vector. */
static void random_window(hd_window *w, int nd, int wide)
{
    w->nd = nd;
    for (int i = 0; i < nd; ++i) {
        int big = wide && i == nd - 1;
        w->in[i] = 1 + (int64_t)(rng_next() % (big ? 70 : 6));
        w->k[i] = 1 + (int64_t)(rng_next() % 3);
        w->s[i] = 1 + (int64_t)(rng_next() % 3);
        w->d[i] = 1 + (int64_t)(rng_next() % 2);
        w->pad[i] = (int64_t)(rng_next() % (big ? 21 : 4)) - 1;
        int64_t pe = (int64_t)(rng_next() % (big ? 20 : 3));
        w->out[i] = rng_next() % 2 ? hd_conv_out_size(w->in[i], w->k[i], w->s[i], w->pad[i], pe, w->d[i])
                                   : 1 + (int64_t)(rng_next() % (big ? 60 : 5));
    }
}

static int64_t prod_dims(const int64_t *v, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; ++i)
        p *= v[i];
    return p;
}

/* The image offset (within one channel) that grid index o and taps t read,
 * or -1 in the padding. */
static int64_t window_pixel(const hd_window *w, const int64_t *o, const int64_t *t)
{
    int64_t at = 0;
    for (int i = 0; i < w->nd; ++i) {
        int64_t ii = o[i] * w->s[i] - w->pad[i] + t[i] * w->d[i];
        if (ii < 0 || ii >= w->in[i])
            return -1;
        at = at * w->in[i] + ii;
    }
    return at;
}

/* Splits linear index p into digits over dims lim[0..n) (last fastest). */
static void unflatten(int64_t p, const int64_t *lim, int n, int64_t *digits)
{
    for (int i = n - 1; i >= 0; --i) {
        digits[i] = p % lim[i];
        p /= lim[i];
    }
}

/* hd_im2col_nd_f32 against a per-element definition for 1 to 4 spatial
 * dims and random chunks of grid rows; strided last dims read the
 * phase-split copy.  Nothing past the chunk's column block is written. */
static void test_im2col_nd(void **state)
{
    (void)state;
    int checked = 0;
    for (int it = 0; it < 3000; ++it) {
        hd_window w;
        int nd = 1 + it % 4, L = nd - 1;
        random_window(&w, nd, it % 3 == 0 && nd <= 3);
        int64_t C = 1 + (int64_t)(rng_next() % 2), IP = prod_dims(w.in, 0, nd), KP = prod_dims(w.k, 0, nd);
        if (prod_dims(w.out, 0, nd) == 0)
            continue;
        int64_t r0 = 0, nr = 1;
        if (nd > 1) {
            r0 = (int64_t)(rng_next() % (uint64_t)w.out[0]);
            nr = 1 + (int64_t)(rng_next() % (uint64_t)(w.out[0] - r0));
        }
        int64_t nt = (nd > 1 ? nr * prod_dims(w.out, 1, nd) : w.out[0]);
        int64_t SL = w.s[L], PW = (w.in[L] + SL - 1) / SL;
        float *x = malloc((size_t)(C * IP) * sizeof(float));
        float *xs = malloc((size_t)(C * IP / w.in[L] * SL * PW) * sizeof(float));
        float *col = malloc((size_t)(C * KP * nt + 16) * sizeof(float));
        assert_non_null(x);
        assert_non_null(xs);
        assert_non_null(col);
        for (int64_t i = 0; i < C * IP; ++i)
            x[i] = rng_unit();
        for (int64_t i = 0; i < C * KP * nt + 16; ++i)
            col[i] = GUARD_VAL;
        const float *src = x;
        if (SL > 1) {
            hd_phase_split_f32(x, C * IP / w.in[L], w.in[L], SL, xs);
            src = xs;
        }
        hd_im2col_nd_f32(src, C, &w, r0, nr, col);
        int64_t grid[HD_WIN_MAX_ND];
        memcpy(grid, w.out, sizeof grid);
        if (nd > 1)
            grid[0] = nr;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t kk = 0; kk < KP; ++kk)
                for (int64_t p = 0; p < nt; ++p) {
                    int64_t t[HD_WIN_MAX_ND], o[HD_WIN_MAX_ND];
                    unflatten(kk, w.k, nd, t);
                    unflatten(p, grid, nd, o);
                    if (nd > 1)
                        o[0] += r0;
                    int64_t at = window_pixel(&w, o, t);
                    float want = at < 0 ? 0.0f : x[c * IP + at];
                    assert_true(col[(c * KP + kk) * nt + p] == want);
                }
        for (int64_t i = C * KP * nt; i < C * KP * nt + 16; ++i)
            assert_true(col[i] == GUARD_VAL);
        free(x);
        free(xs);
        free(col);
        ++checked;
    }
    assert_true(checked > 2000);
}

/* One hd_im2col_pack_f32 / hd_im2col_pack_par case: the result is the
 * plain im2col columns packed by hd_sgemm_pack_b, bit for bit, serial and
 * on 3 workers; the serial call, given a later first row and channels from
 * the second, writes just those rows; nothing past the panels is written.
 * Returns whether the window fit the kernel layer's buffer (when it does
 * not, nothing is written). */
static int check_im2col_pack(const hd_window *w, int64_t C, int64_t r0, int64_t nr)
{
    int nd = w->nd, L = nd - 1;
    int64_t IP = prod_dims(w->in, 0, nd), KP = prod_dims(w->k, 0, nd), KD = C * KP;
    int64_t nt = nd > 1 ? nr * prod_dims(w->out, 1, nd) : w->out[0];
    int64_t SL = w->s[L], PW = (w->in[L] + SL - 1) / SL;
    size_t np = hd_sgemm_packed_b_floats(KD, nt), ncol = (size_t)(KD * nt);
    float *x = random_block((size_t)(C * IP));
    float *xs = malloc((size_t)(C * IP / w->in[L] * SL * PW + 1) * sizeof(float));
    float *col = malloc((ncol + 1) * sizeof(float)), *want = malloc((np + 1) * sizeof(float));
    float *got = malloc((np + 16) * sizeof(float));
    assert_true(x && xs && col && want && got);
    const float *src = x;
    if (SL > 1) {
        hd_phase_split_f32(x, C * IP / w->in[L], w->in[L], SL, xs);
        src = xs;
    }
    hd_im2col_nd_f32(src, C, w, r0, nr, col);
    hd_sgemm_pack_b(KD, nt, col, nt, 0, want);
    int fits = hd_im2col_pack_fits(w);
    uint32_t ntasks = 0;
    hodu_exec three = {.n_workers = 3, .pool = &ntasks, .parallel_for = reverse_parallel_for};
    for (int pass = 0; pass < 3; ++pass) {
        for (size_t i = 0; i < np + 16; ++i)
            got[i] = GUARD_VAL;
        if (pass == 0)
            hd_im2col_pack_f32(src, C, w, r0, nr, KD, 0, got);
        else if (pass == 1)
            hd_im2col_pack_par(&three, src, C, w, r0, nr, got);
        else if (C > 1) /* channels 1.. only: rows KP.. of every panel */
            hd_im2col_pack_f32(src + IP / w->in[L] * (SL > 1 ? SL * PW : w->in[L]), C - 1, w, r0, nr, KD, KP, got);
        for (size_t i = 0; i < np; ++i) {
            int64_t row = (int64_t)(i % (size_t)(KD * HD_SGEMM_PACK_NB)) / HD_SGEMM_PACK_NB;
            int mine = fits && (pass < 2 || (C > 1 && row >= KP));
            assert_true(mine ? got[i] == want[i] : got[i] == GUARD_VAL);
        }
        for (size_t i = np; i < np + 16; ++i)
            assert_true(got[i] == GUARD_VAL);
    }
    free(x);
    free(xs);
    free(col);
    free(want);
    free(got);
    return fits;
}

/* hd_im2col_pack_f32 on random windows and chunks (1 to 4 spatial dims),
 * and on rows long enough that the kernel layer's buffer takes a grid row
 * or a few at a time, so pieces start and end inside a panel. */
static void test_im2col_pack(void **state)
{
    (void)state;
    int checked = 0;
    for (int it = 0; it < 600; ++it) {
        hd_window w;
        int nd = 1 + it % 4;
        random_window(&w, nd, it % 3 == 0 && nd <= 3);
        if (prod_dims(w.out, 0, nd) == 0)
            continue;
        int64_t r0 = 0, nr = 1;
        if (nd > 1) {
            r0 = (int64_t)(rng_next() % (uint64_t)w.out[0]);
            nr = 1 + (int64_t)(rng_next() % (uint64_t)(w.out[0] - r0));
        }
        checked += check_im2col_pack(&w, 1 + (int64_t)(rng_next() % 3), r0, nr);
    }
    assert_true(checked > 400);
    const hd_window big[] = {
        /* 9 * 500 floats a grid row: one row at a time, 500 % 32 != 0 */
        {.nd = 2, .in = {7, 500}, .out = {7, 500}, .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pad = {1, 1}},
        /* 9 * 56: 16 rows at a time */
        {.nd = 2, .in = {40, 56}, .out = {40, 56}, .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pad = {1, 1}},
        /* strided, phase-split source */
        {.nd = 2, .in = {30, 45}, .out = {15, 23}, .k = {7, 7}, .s = {2, 2}, .d = {1, 1}, .pad = {3, 3}},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; ++i)
        assert_true(check_im2col_pack(&big[i], 3, 1, big[i].out[0] - 1));
    /* too long a grid row for the buffer: nothing is written */
    const hd_window huge = {
        .nd = 2, .in = {2, 1000}, .out = {2, 1000}, .k = {3, 3}, .s = {1, 1}, .d = {1, 1}, .pad = {1, 1}};
    assert_false(check_im2col_pack(&huge, 2, 0, 2));
}

/* hd_col2im_acc_nd_f32 against a plain scatter loop in the same order
 * (so bit-identical), onto a pre-filled image, for 1 to 4 spatial dims. */
static void test_col2im_acc_nd(void **state)
{
    (void)state;
    int checked = 0;
    for (int it = 0; it < 2000; ++it) {
        hd_window w;
        int nd = 1 + it % 4;
        random_window(&w, nd, it % 3 == 0 && nd <= 3);
        int64_t C = 1 + (int64_t)(rng_next() % 2), IP = prod_dims(w.in, 0, nd), KP = prod_dims(w.k, 0, nd);
        int64_t OP = prod_dims(w.out, 0, nd);
        float *col = malloc((size_t)(C * KP * OP + 1) * sizeof(float));
        float *got = malloc((size_t)(C * IP + 4) * sizeof(float));
        float *want = malloc((size_t)(C * IP) * sizeof(float));
        assert_non_null(col);
        assert_non_null(got);
        assert_non_null(want);
        for (int64_t i = 0; i < C * KP * OP; ++i)
            col[i] = rng_unit();
        for (int64_t i = 0; i < C * IP; ++i)
            got[i] = want[i] = rng_unit();
        for (int i = 0; i < 4; ++i)
            got[C * IP + i] = GUARD_VAL;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t kk = 0; kk < KP; ++kk)
                for (int64_t p = 0; p < OP; ++p) {
                    int64_t t[HD_WIN_MAX_ND], o[HD_WIN_MAX_ND];
                    unflatten(kk, w.k, nd, t);
                    unflatten(p, w.out, nd, o);
                    int64_t at = window_pixel(&w, o, t);
                    if (at >= 0)
                        want[c * IP + at] += col[(c * KP + kk) * OP + p];
                }
        hd_col2im_acc_nd_f32(col, C, &w, got);
        for (int64_t i = 0; i < C * IP; ++i)
            assert_true(bits_of(got[i]) == bits_of(want[i]));
        for (int i = 0; i < 4; ++i)
            assert_true(got[C * IP + i] == GUARD_VAL);
        free(col);
        free(got);
        free(want);
        ++checked;
    }
    assert_true(checked == 2000);
}

/* ---------------------------------------------------------------------- */
/* vector math                                                             */
/* ---------------------------------------------------------------------- */

typedef float (*scalar_fn)(float);
typedef void (*array_fn)(const float *, float *, int64_t);

static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static float libm_sigmoidf(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x); /* no overflow for large negative x */
    return e / (1.0f + e);
}

struct vm_case {
    const char *name;
    array_fn arr;
    scalar_fn one;
    double (*ref)(double); /* double libm: rounding it gives ~correct rounding */
    float (*libmf)(float);
    int64_t max_ulp;      /* bound vs the correctly rounded value */
    int64_t max_ulp_libm; /* bound vs the float libm result */
};

static const struct vm_case vm_cases[] = {
    {"exp", hd_vexp_f32, hd_expf, exp, expf, 1, 2},
    {"log", hd_vlog_f32, hd_logf, log, logf, 1, 2},
    {"tanh", hd_vtanh_f32, hd_tanhf, tanh, tanhf, 2, 3},
    {"erf", hd_verf_f32, hd_erff, erf, erff, 2, 3},
    {"sigmoid", hd_vsigmoid_f32, hd_sigmoidf, ref_sigmoid, libm_sigmoidf, 2, 3},
};

static float special_inputs[] = {
    0.0f,
    -0.0f,
    INFINITY,
    -INFINITY,
    NAN,
    -NAN,
    FLT_MAX,
    -FLT_MAX,
    FLT_MIN,
    -FLT_MIN,
    0x1p-149f,
    -0x1p-149f,
    0x1.fffffcp-127f,
    1.0f,
    -1.0f,
    0.5f,
    2.0f,
    88.7228f,
    88.72284f,
    88.7229f,
    89.0f,
    100.0f,
    -87.33655f,
    -87.3366f,
    -103.27893f,
    -103.97208f,
    -103.9721f,
    -104.0f,
    -200.0f,
    0.5625f,
    0.56249994f,
    0.875f,
    0.87499994f,
    3.92f,
    4.0f,
    4.0000005f,
    9.0f,
    9.1f,
    10.0f,
    20.0f,
    -0.5625f,
    -0.875f,
    -4.0f,
    1e-20f,
    -1e-20f,
    1e-40f,
    0.70710677f,
    1.4142135f,
    1.0000001f,
    0.99999994f,
    16.635532f,
    -16.635532f,
    17.0f,
    -88.0f,
    -89.0f,
    0.34657359f,
    -0.34657359f,
};

static void check_vm_point(const struct vm_case *vc, float x, float got, int64_t *worst, int64_t *worst_libm)
{
    float want = (float)vc->ref((double)x);
    float libm = vc->libmf(x);
    int64_t d = ulp_dist(got, want), dl = ulp_dist(got, libm);
    if (d > *worst)
        *worst = d;
    if (dl > *worst_libm)
        *worst_libm = dl;
    if (d > vc->max_ulp || dl > vc->max_ulp_libm) {
        print_error("%s(%a): got %a, correctly rounded %a (%lld ulp), libm %a (%lld ulp)\n", vc->name, (double)x,
                    (double)got, (double)want, (long long)d, (double)libm, (long long)dl);
        fail();
    }
}

/* Each vector function is within its ulp bound of the correctly rounded
 * result (double libm rounded to float) and of the float libm result, at
 * special inputs (+-0, +-Inf, NaN, extremes, range-reduction and branch
 * thresholds, overflow/underflow edges, subnormals), on a stride through
 * all 2^32 bit patterns, and densely over [-12, 12]; the scalar form
 * agrees with the array form (identical in practice; 1 ulp is allowed
 * because -ffp-contract=fast may fuse the two inlined copies differently). */
static void test_vector_math_accuracy(void **state)
{
    (void)state;
    enum { CHUNK = 4096 };
    static float xs[CHUNK], ys[CHUNK];
    for (size_t f = 0; f < sizeof vm_cases / sizeof vm_cases[0]; ++f) {
        const struct vm_case *vc = &vm_cases[f];
        int64_t worst = 0, worst_libm = 0;
        size_t ns = sizeof special_inputs / sizeof special_inputs[0];
        for (size_t i = 0; i < ns; ++i) {
            float x = special_inputs[i], y;
            vc->arr(&x, &y, 1);
            check_vm_point(vc, x, y, &worst, &worst_libm);
            assert_true(ulp_dist(vc->one(x), y) <= 1);
            x = -x;
            vc->arr(&x, &y, 1);
            check_vm_point(vc, x, y, &worst, &worst_libm);
        }
        /* stride over all bit patterns, in chunks */
        uint64_t u = 0;
        while (u < 0x100000000ull) {
            int n = 0;
            for (; n < CHUNK && u < 0x100000000ull; ++n, u += 1201)
                xs[n] = float_of((uint32_t)u);
            vc->arr(xs, ys, n);
            for (int i = 0; i < n; ++i)
                check_vm_point(vc, xs[i], ys[i], &worst, &worst_libm);
        }
        /* dense in the interesting range */
        for (int base = 0; base < (1 << 20); base += CHUNK) {
            for (int i = 0; i < CHUNK; ++i)
                xs[i] = -12.0f + 24.0f * (float)(base + i) / (float)(1 << 20);
            vc->arr(xs, ys, CHUNK);
            for (int i = 0; i < CHUNK; ++i) {
                check_vm_point(vc, xs[i], ys[i], &worst, &worst_libm);
                if (i % 61 == 0)
                    assert_true(ulp_dist(vc->one(xs[i]), ys[i]) <= 1);
            }
        }
        printf("  %-8s max %lld ulp vs correctly rounded, %lld ulp vs libm (HD_VF=%d)\n", vc->name, (long long)worst,
               (long long)worst_libm, HD_VF);
    }
}

/* Array forms handle every tail length (n = 0 .. 3 vectors + 1), work in
 * place (y == x) with identical results, never write past y[n-1], and
 * agree with the scalar form. */
static void test_vector_math_tails(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof vm_cases / sizeof vm_cases[0]; ++f) {
        for (int n = 0; n <= 3 * HD_VF + 1; ++n) {
            float x[64], y[64 + 8], z[64];
            for (int i = 0; i < n; ++i)
                x[i] = rng_unit() * 5.0f + 0.5f;
            for (int i = 0; i < 64 + 8; ++i)
                y[i] = GUARD_VAL;
            vm_cases[f].arr(x, y, n);
            for (int i = n; i < 64 + 8; ++i)
                assert_true(y[i] == GUARD_VAL);
            memcpy(z, x, sizeof z);
            vm_cases[f].arr(z, z, n);
            for (int i = 0; i < n; ++i) {
                assert_int_equal(bits_of(y[i]), bits_of(z[i]));
                assert_true(ulp_dist(y[i], vm_cases[f].one(x[i])) <= 1);
            }
        }
    }
}

/* Exact special values: exp(0)=1, exp(-inf)=+0, log(1)=+0, log(0)=-inf,
 * log(-x)=NaN, tanh/erf odd with exact +-0 and +-1 limits, sigmoid(0)=0.5. */
static void test_vector_math_specials(void **state)
{
    (void)state;
    assert_true(hd_expf(0.0f) == 1.0f && hd_expf(-0.0f) == 1.0f);
    assert_true(hd_expf(-INFINITY) == 0.0f && !signbit(hd_expf(-INFINITY)));
    assert_true(hd_expf(INFINITY) == INFINITY && hd_expf(100.0f) == INFINITY);
    assert_true(hd_expf(-110.0f) == 0.0f);
    assert_true(hd_expf(-103.0f) > 0.0f); /* subnormal, not flushed */
    assert_true(isnan(hd_expf(NAN)));
    assert_true(hd_logf(1.0f) == 0.0f && !signbit(hd_logf(1.0f)));
    assert_true(hd_logf(0.0f) == -INFINITY && hd_logf(-0.0f) == -INFINITY);
    assert_true(isnan(hd_logf(-1.0f)) && isnan(hd_logf(-INFINITY)) && isnan(hd_logf(NAN)));
    assert_true(hd_logf(INFINITY) == INFINITY);
    assert_true(fabsf(hd_logf(0x1p-149f) - logf(0x1p-149f)) <= 1e-5f);
    assert_true(hd_tanhf(-0.0f) == 0.0f && signbit(hd_tanhf(-0.0f)));
    assert_true(hd_tanhf(INFINITY) == 1.0f && hd_tanhf(-INFINITY) == -1.0f);
    assert_true(hd_tanhf(1e-40f) == 1e-40f);
    assert_true(hd_erff(-0.0f) == 0.0f && signbit(hd_erff(-0.0f)));
    assert_true(hd_erff(INFINITY) == 1.0f && hd_erff(-INFINITY) == -1.0f);
    assert_true(isnan(hd_tanhf(NAN)) && isnan(hd_erff(NAN)) && isnan(hd_sigmoidf(NAN)));
    assert_true(hd_sigmoidf(0.0f) == 0.5f && hd_sigmoidf(-0.0f) == 0.5f);
    assert_true(hd_sigmoidf(INFINITY) == 1.0f && hd_sigmoidf(-INFINITY) == 0.0f);
    assert_true(hd_sigmoidf(-95.0f) > 0.0f); /* subnormal tail kept */
    for (int i = 0; i < 1000; ++i) {
        float x = rng_unit() * 6.0f;
        assert_int_equal(bits_of(hd_tanhf(-x)), bits_of(-hd_tanhf(x)));
        assert_int_equal(bits_of(hd_erff(-x)), bits_of(-hd_erff(x)));
    }
}

/* ---------------------------------------------------------------------- */
/* the same suite under other target flags                                 */
/* ---------------------------------------------------------------------- */

/* hd_col2im_acc_f32 against a plain scatter loop: explicit column grids
 * (smaller and larger than the padded image gives), asymmetric strides and
 * dilations, and x pre-filled (the kernel adds to it).  The per-pixel order
 * of additions is the loop's, so the results are bit-identical. */
static void test_col2im_acc(void **state)
{
    (void)state;
    const int64_t C = 2, H = 6, W = 5;
    int checked = 0;
    for (int64_t OH = 1; OH <= 4; ++OH)
        for (int64_t OW = 1; OW <= 4; ++OW)
            for (int64_t kh = 1; kh <= 3; ++kh)
                for (int64_t kw = 1; kw <= 3; ++kw)
                    for (int64_t s = 1; s <= 3; ++s)
                        for (int64_t d = 1; d <= 2; ++d)
                            for (int64_t pad = 0; pad <= 2; ++pad) {
                                int64_t sh = s, sw = 4 - s, dh = d, dw = 3 - d, pt = pad, pl = 2 - pad;
                                size_t n = (size_t)(C * kh * kw * OH * OW);
                                float col[2 * 3 * 3 * 4 * 4], got[2 * 6 * 5 + 4], want[2 * 6 * 5];
                                for (size_t i = 0; i < n; ++i)
                                    col[i] = rng_unit();
                                for (int64_t i = 0; i < C * H * W; ++i)
                                    got[i] = want[i] = rng_unit();
                                for (int i = 0; i < 4; ++i)
                                    got[C * H * W + i] = GUARD_VAL;
                                for (int64_t c = 0; c < C; ++c)
                                    for (int64_t i = 0; i < kh; ++i)
                                        for (int64_t j = 0; j < kw; ++j)
                                            for (int64_t oh = 0; oh < OH; ++oh)
                                                for (int64_t ow = 0; ow < OW; ++ow) {
                                                    int64_t ih = oh * sh - pt + i * dh, iw = ow * sw - pl + j * dw;
                                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                                        continue;
                                                    want[(c * H + ih) * W + iw] +=
                                                        col[(((c * kh + i) * kw + j) * OH + oh) * OW + ow];
                                                }
                                hd_col2im_acc_f32(col, C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, dh, dw, got);
                                for (int64_t i = 0; i < C * H * W; ++i)
                                    assert_true(bits_of(got[i]) == bits_of(want[i]));
                                for (int i = 0; i < 4; ++i)
                                    assert_true(got[C * H * W + i] == GUARD_VAL);
                                ++checked;
                            }
    assert_true(checked > 1000);
}

/* ---------------------------------------------------------------------- */
/* helpers for generated code (section 5)                                  */
/* ---------------------------------------------------------------------- */

/* integer power by repeated multiplication in uint64 (wraps like the kernel) */
static int64_t ref_ipow(int64_t b, int64_t e)
{
    if (e < 0)
        return b == 1 ? 1 : (b == -1 ? ((e % 2) ? -1 : 1) : 0);
    uint64_t r = 1;
    for (int64_t i = 0; i < e; ++i)
        r *= (uint64_t)b;
    return (int64_t)r;
}

/* floor-style modulo: a - b * floor(a / b), in exact integer steps */
static int64_t ref_pymod_i(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return a - q * b;
}

static void test_ew_helpers(void **state)
{
    (void)state;
    for (int64_t b = -5; b <= 5; ++b)
        for (int64_t e = -3; e <= 70; ++e)
            assert_true(hd_ew_ipow(b, e) == ref_ipow(b, e));
    assert_true(hd_ew_ipow(3, 41) == ref_ipow(3, 41)); /* wraps */
    for (int64_t a = -20; a <= 20; ++a)
        for (int64_t b = -7; b <= 7; ++b)
            assert_true(hd_ew_pymod_i(a, b) == ref_pymod_i(a, b));
    assert_true(hd_ew_pymod_i(INT64_MIN, -1) == 0);
    for (int i = 0; i < 2000; ++i) {
        float a = rng_unit() * 50.0f, b = rng_unit() * 7.0f;
        if (b == 0.0f)
            continue;
        /* the result has b's sign (or is 0), |r| < |b|, and a - r is a multiple of b */
        float r = hd_ew_pymodf(a, b);
        assert_true(r == 0.0f || ((r < 0) == (b < 0)));
        assert_true(fabsf(r) <= fabsf(b));
        double q = ((double)a - r) / b;
        assert_true(fabs(q - nearbyint(q)) < 1e-4);
        double rd = hd_ew_pymod((double)a, (double)b);
        double want = (double)a - (double)b * floor((double)a / (double)b);
        assert_true(fabs(rd - want) < 1e-9 || fabs(fabs(rd - want) - fabs((double)b)) < 1e-9);
    }
    assert_true(hd_ew_pymodf(-1.0f, 3.0f) == 2.0f && hd_ew_pymodf(1.0f, -3.0f) == -2.0f);
    assert_true(hd_ew_pymod(-1.0, 3.0) == 2.0 && hd_ew_pymod(5.5, 2.0) == 1.5);
    /* softplus against log1p(exp(-|x|)) + max(x, 0) in double */
    float xs[] = {-100.0f, -30.0f, -17.0f, -1.0f, -1e-6f, 0.0f, 1e-30f, 1e-6f, 0.5f, 3.0f, 20.0f, 88.0f, 100.0f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
        float got = hd_vf_lane0(hd_ew_vsoftplus(hd_vf_splat(xs[i])));
        double x = xs[i], want = (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
        assert_true(fabs(got - want) <= 4e-7 * fabs(want) + 1e-45);
    }
    assert_true(isnan(hd_vf_lane0(hd_ew_vsoftplus(hd_vf_splat(NAN)))));
}

/* hd_rd_* against plain double loops, for every length around the vector
 * and unroll boundaries; max/min propagate NaN wherever it sits. */
static void test_rd_helpers(void **state)
{
    (void)state;
    float x[200];
    for (int64_t n = 1; n <= 200; ++n) {
        for (int64_t i = 0; i < n; ++i)
            x[i] = rng_unit() * 4.0f;
        float c = rng_unit();
        double s = 0, sq = 0, sa = 0, sd = 0;
        float mx = x[0], mn = x[0];
        for (int64_t i = 0; i < n; ++i) {
            s += x[i];
            sq += (double)x[i] * x[i];
            sa += fabs(x[i]);
            sd += ((double)x[i] - c) * ((double)x[i] - c);
            if (x[i] > mx)
                mx = x[i];
            if (x[i] < mn)
                mn = x[i];
        }
        double tol = 1e-5 * (double)n * 16;
        assert_true(fabs(hd_rd_sum(x, n, 0) - s) <= tol);
        assert_true(fabs(hd_rd_sumsq(x, n, 0) - sq) <= tol);
        assert_true(fabs(hd_rd_sumabs(x, n, 0) - sa) <= tol);
        assert_true(fabs(hd_rd_sumsqd(x, n, c) - sd) <= tol);
        assert_true(hd_rd_ext(x, n, 1) == mx);
        assert_true(hd_rd_ext(x, n, 0) == mn);
        int64_t at = (int64_t)(rng_next() % (uint64_t)n);
        float keep = x[at];
        x[at] = NAN;
        assert_true(isnan(hd_rd_ext(x, n, 1)) && isnan(hd_rd_ext(x, n, 0)));
        x[at] = keep;
    }
}

/* hd_fft_run against a direct DFT in long double, forward and inverse, for
 * lengths that take every path: 1, powers of two, mixed radix with odd
 * primes up to 31, and Bluestein (a prime factor above 31). */
static void test_fft(void **state)
{
    (void)state;
    static const int64_t lens[] = {1, 2, 3, 4, 8, 12, 15, 31, 37, 64, 97, 210, 400, 961, 1024, 1009};
    uint32_t seed = 11;
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        int64_t n = lens[t];
        int64_t pd = hd_fft_plan_doubles(n), wd = hd_fft_work_doubles(n);
        assert_true(pd > 0);
        double *plan = malloc((size_t)pd * sizeof(double)), *work = malloc((size_t)(wd + 1) * sizeof(double));
        double *x = malloc((size_t)(2 * n) * sizeof(double)), *x0 = malloc((size_t)(2 * n) * sizeof(double));
        double *y = malloc((size_t)(2 * n) * sizeof(double));
        hd_fft_plan_init(n, plan, work);
        for (int inv = 0; inv < 2; inv++) {
            for (int64_t j = 0; j < 2 * n; j++) {
                seed = seed * 1664525u + 1013904223u;
                x0[j] = x[j] = (double)(seed >> 8) / 16777216.0 - 0.5;
            }
            hd_fft_run(plan, x, y, work, inv);
            double worst = 0;
            for (int64_t k = 0; k < n; k++) {
                long double sr = 0, si = 0;
                for (int64_t j = 0; j < n; j++) {
                    long double a = (inv ? 2 : -2) * 3.14159265358979323846264338327950L * (long double)((j * k) % n) /
                                    (long double)n;
                    sr += x0[2 * j] * cosl(a) - x0[2 * j + 1] * sinl(a);
                    si += x0[2 * j] * sinl(a) + x0[2 * j + 1] * cosl(a);
                }
                double e = fabs((double)sr - y[2 * k]) + fabs((double)si - y[2 * k + 1]);
                worst = e > worst ? e : worst;
            }
            if (worst > 1e-12 * sqrt((double)n) * 10)
                fail_msg("fft n=%lld inverse=%d: error %g", (long long)n, inv, worst);
        }
        free(plan);
        free(work);
        free(x);
        free(x0);
        free(y);
    }
    assert_int_equal(hd_fft_plan_doubles(0), 0);
    assert_int_equal(hd_fft_plan_doubles(HD_FFT_MAX_N + 1), 0);
}

#ifndef HD_KERNELS_CHILD
/* Rebuilds this file with each other vector width / compiler the machine
 * can run (warnings are errors) and runs the whole suite there: the scalar
 * fallback, plain -O2, the opt-in pre-broadcast packing, the generated-code
 * flags (-std=gnu11, contraction on) with -march=native, and on x86-64
 * AVX2+FMA, AVX-512 and clang. */
static void test_isa_variants(void **state)
{
    (void)state;
#if defined(HODU_SOURCE_DIR) && defined(__GNUC__)
    if (getenv("HD_KERNELS_NO_VARIANTS") || system("cc --version >/dev/null 2>&1") != 0) {
        skip();
        return;
    }
    struct {
        const char *cc, *flags;
        int need;
    } vs[] = {
        {"cc", "-DHD_NO_VECTOR", 0},
        {"cc", "", 0},
        {"cc", "-DHD_SGEMM_ABCAST=1 -DHD_SGEMM_MR=6", 0},
        {"cc", "-std=gnu11 -fno-math-errno -march=native", 0},
#if defined(__x86_64__)
        {"cc", "-mavx2 -mfma", 1},
        {"cc", "-mavx512f -mfma", 2},
        {"cc", "-mavx512f -mfma -DHD_VECTOR_BYTES=32", 2},
        {"clang", "-march=native", 3},
#endif
    };
    int have_avx2 = 0, have_512 = 0;
#if defined(__x86_64__)
    have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    have_512 = __builtin_cpu_supports("avx512f");
#endif
    int have_clang = system("clang --version >/dev/null 2>&1") == 0;
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; ++i) {
        if ((vs[i].need == 1 && !have_avx2) || (vs[i].need == 2 && !have_512) || (vs[i].need == 3 && !have_clang))
            continue;
        char cmd[2048];
        int id = (int)getpid();
        snprintf(cmd, sizeof cmd,
                 "%s -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes %s "
                 "-DHD_KERNELS_CHILD -I%s/src %s/tests/unit/test_kernels.c -o "
                 "/tmp/hd_kernels_variant_%d -lcmocka -lm && /tmp/hd_kernels_variant_%d; "
                 "rc=$?; rm -f /tmp/hd_kernels_variant_%d; exit $rc",
                 vs[i].cc, vs[i].flags, HODU_SOURCE_DIR, HODU_SOURCE_DIR, id, id, id);
        printf("  variant: %s %s\n", vs[i].cc, vs[i].flags);
        fflush(stdout);
        assert_int_equal(system(cmd), 0);
    }
#else
    skip();
#endif
}
#endif

/* Philox4x32-10 against the Random123 known-answer vectors (counter and key
 * all zero, all ones, and the digits of pi), and the helpers built on it at
 * the ends of their ranges. */
static void test_philox(void **state)
{
    (void)state;
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu,
         0xa20bc7c6u, 0x6d5451fdu},
        {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu,
         0x5001e420u, 0x24126ea1u},
    };
    for (int v = 0; v < 3; v++) {
        uint32_t out[4];
        hd_philox4x32_10(kat[v], kat[v] + 4, out);
        for (int j = 0; j < 4; j++)
            assert_int_equal(out[j], kat[v][6 + j]);
        /* in place */
        uint32_t c[4] = {kat[v][0], kat[v][1], kat[v][2], kat[v][3]};
        hd_philox4x32_10(c, kat[v] + 4, c);
        assert_memory_equal(c, out, sizeof c);
    }
    /* hd_rand_block is the counter (lo, hi, stream, 0) */
    uint32_t a[4], b[4];
    const uint32_t ctr[4] = {0x89abcdefu, 0x01234567u, 5, 0}, key[2] = {7, 9};
    hd_philox4x32_10(ctr, key, a);
    hd_rand_block(7, 9, 5, 0x0123456789abcdefull, b);
    assert_memory_equal(a, b, sizeof a);
    /* neighbouring counters and other streams differ */
    hd_rand_block(7, 9, 5, 0x0123456789abcdeeull, b);
    assert_true(memcmp(a, b, sizeof a) != 0);
    hd_rand_block(7, 9, 4, 0x0123456789abcdefull, b);
    assert_true(memcmp(a, b, sizeof a) != 0);
    assert_true(hd_rand_u24(0) == 0.0f);
    assert_true(hd_rand_u24(0xffffffffu) < 1.0f && hd_rand_u24(0xffffffffu) > 0.99999f);
    assert_true(hd_rand_u53(0, 0) == 0.0);
    assert_true(hd_rand_u53(0xffffffffu, 0xffffffffu) < 1.0);
    double z[2];
    hd_rand_normal2(0xffffffffu, 0xffffffffu, 0, 0, z); /* u1 = 2^-53: the far tail, still finite */
    assert_true(isfinite(z[0]) && z[0] > 8.5 && z[0] < 8.7 && z[1] == 0.0);
    hd_rand_normal2(0, 0, 0x40000000u, 0, z); /* u1 = 1: r = 0 */
    assert_true(z[0] == 0.0 && z[1] == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_roundtrip_exhaustive),
        cmocka_unit_test(test_bf16_roundtrip_exhaustive),
        cmocka_unit_test(test_f32_to_f16_rounding),
        cmocka_unit_test(test_f32_to_bf16_rounding),
        cmocka_unit_test(test_half_arrays),
        cmocka_unit_test(test_sgemm_tiny_shapes),
        cmocka_unit_test(test_sgemm_scratch_bound),
        cmocka_unit_test(test_sgemm_odd_shapes),
        cmocka_unit_test(test_sgemm_large_blocks),
        cmocka_unit_test(test_sgemm_small_m_and_n),
        cmocka_unit_test(test_sgemm_beta0_ignores_nan),
        cmocka_unit_test(test_sgemm_alpha0),
        cmocka_unit_test(test_sgemm_random_shapes),
        cmocka_unit_test(test_sgemm_partition_invariance),
        cmocka_unit_test(test_sgemm_epilogue),
        cmocka_unit_test(test_im2col_par),
        cmocka_unit_test(test_conv_blocked),
        cmocka_unit_test(test_sgemm_prepacked_b),
        cmocka_unit_test(test_sgemv_packed),
        cmocka_unit_test(test_sgemm_par),
        cmocka_unit_test(test_fpenv),
        cmocka_unit_test(test_dgemm),
        cmocka_unit_test(test_im2col_col2im),
        cmocka_unit_test(test_col2im_acc),
        cmocka_unit_test(test_phase_split),
        cmocka_unit_test(test_im2col_nd),
        cmocka_unit_test(test_im2col_pack),
        cmocka_unit_test(test_col2im_acc_nd),
        cmocka_unit_test(test_vector_math_accuracy),
        cmocka_unit_test(test_vector_math_tails),
        cmocka_unit_test(test_vector_math_specials),
        cmocka_unit_test(test_ew_helpers),
        cmocka_unit_test(test_rd_helpers),
        cmocka_unit_test(test_fft),
        cmocka_unit_test(test_philox),
#ifndef HD_KERNELS_CHILD
        cmocka_unit_test(test_isa_variants),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
