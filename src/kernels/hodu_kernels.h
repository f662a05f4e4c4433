/*
 * hodu_kernels.h - the hand-written portable kernel layer of Hodu.
 *
 * The hodu binary carries this header as a string and writes it next to
 * the C it generates for a model; the generated code includes it and is
 * compiled by the system cc (gcc or clang), typically with
 * `-O2 -fPIC -std=c11`, sometimes with `-march=...`.  Everything here is
 * `static inline`, so functions a model does not use cost nothing and do
 * not warn.  Dependencies: <stdint.h>, <stddef.h>, <string.h>, <math.h>.
 * No allocation, no global mutable state, no threads: every function is
 * reentrant and may run concurrently on disjoint outputs.
 *
 * Vector width.  The code is written once with GCC/Clang vector extensions
 * (`__attribute__((vector_size(N)))`); the width follows the target flags:
 *     __AVX512F__               64 bytes (16 floats)
 *     __AVX__                   32 bytes (8 floats)
 *     __SSE2__, __ARM_NEON, ... 16 bytes (4 floats)
 *     anything else             scalar fallback (also for non-GNU compilers)
 * Define HD_NO_VECTOR to force the scalar fallback, or HD_VECTOR_BYTES
 * (16/32/64, one the target supports) to force a width (e.g. 32 on AVX-512
 * parts that downclock on 512-bit code).
 * HD_VF is the number of float lanes (1 in the scalar fallback); hd_vf is
 * the float vector type (plain float in the fallback).
 *
 * Contents and contracts
 * ----------------------
 * 1. Half-precision conversions (scalar and array):
 *      float    hd_f16_to_f32(uint16_t h);   uint16_t hd_f32_to_f16(float f);
 *      float    hd_bf16_to_f32(uint16_t h);  uint16_t hd_f32_to_bf16(float f);
 *    Exact where exact is possible; float->half rounds to nearest, ties to
 *    even, independent of the FP environment (pure integer code).  Inf maps
 *    to Inf, overflow rounds to Inf, subnormals are produced and consumed
 *    exactly, NaN stays NaN (quieted, sign and top payload bits kept).
 *    The *_array variants convert n elements; src and dst must not overlap.
 *    Narrow types, one element per byte (`type` is the ONNX type number):
 *      float   hd_nf_to_f32(type, code);  uint8_t hd_nf_from_f32(type, f, saturate);
 *      float   hd_e8m0_to_f32(code);      uint8_t hd_e8m0_from_f32(f, saturate, mode);
 *      int64_t hd_ni_to_i64(type, code);  uint8_t hd_ni_from_i64(type, v);
 *                                         uint8_t hd_ni_from_f64(type, v);
 *    with ONNX Cast's rounding and saturation (see there).
 *
 * 2. SGEMM, row-major:  C = alpha * op(A) * op(B) + beta * C
 *      op(A) is M x K: A[i*lda + k], or A[k*lda + i] when trans_a != 0
 *      op(B) is K x N: B[k*ldb + j], or B[j*ldb + k] when trans_b != 0
 *      C is M x N:     C[i*ldc + j]
 *    - Any M, N, K >= 0 (values < 0 are treated as 0).  Nothing is read or
 *      written outside the M x N window of C (with stride ldc) and the
 *      op(A)/op(B) windows.  A and B may be NULL when M, N or K is 0 (they
 *      are not read then); C may be NULL when M or N is 0.
 *    - beta == 0: C is written without being read (NaN/garbage is fine).
 *      alpha == 0 or K == 0: A and B are not read and C = beta * C.
 *    - C must not overlap A or B (they are `restrict`).  A and B may alias
 *      each other.  Leading dimensions must be >= the row length used.
 *    - hd_sgemm_ws takes caller storage: `scratch` holds at least
 *      hd_sgemm_scratch_floats(M, N, K) floats, any alignment, contents
 *      ignored and clobbered; it may be NULL when that count is 0.  That
 *      count depends on the target's vector width; a code generator that
 *      plans memory before the target is known uses
 *      hd_sgemm_scratch_floats_max(M, N, K), the same count maximised over
 *      every target this header supports (default knobs), which is
 *        (min(M + 15, 160) + min(N + 31, 1056)) * min(K, 256) + 16
 *      for M, N, K > 0 and 0 otherwise.
 *      hd_sgemm needs no storage: it uses a fixed on-stack buffer
 *      (HD_SGEMM_STACK_BYTES, below 512 KiB) and otherwise gives the same
 *      results as hd_sgemm_ws, bit for bit.
 *    - Single-threaded.  To parallelise, split C into disjoint row or
 *      column blocks and call hd_sgemm_ws once per block with its own
 *      scratch.  Partition invariance: column blocks that start at
 *      multiples of HD_SGEMM_NR and are each wider than 4 columns (than
 *      HD__SGEMM_DOT_MAX_N = 16 with trans_b: a product that narrow runs
 *      as dot products), or row blocks that start at multiples of
 *      HD_SGEMM_MR and each have more than 4 rows, give results
 *      bit-identical to one call on the whole product (hd_sgemm_par
 *      relies on it).
 *    - Results differ from a naive loop only by rounding order (blocks of
 *      HD_SGEMM_KC along K, FMA contraction where the target has it, alpha
 *      applied per K block, or folded into A on the M <= 4 path).
 *    - Pre-packed B, for an operand multiplied many times (weights):
 *        hd_sgemm_packed_b_floats(K, N): the packed size, in floats;
 *        hd_sgemm_pack_b(K, N, B, ldb, trans_b, packed): packs op(B);
 *        hd_sgemm_ws_pb(M, N, K, A, lda, trans_a, packed, C, ldc, alpha,
 *          beta, scratch): hd_sgemm_ws with that op(B); same contract,
 *          hd_sgemm_scratch_floats(M, N, K) floats of scratch are enough.
 *      The layout is the same on every target, so a code generator can
 *      pack at build time: panels of PNB = HD_SGEMM_PACK_NB (32) columns,
 *      op(B)[k][j] at packed[(j/PNB)*PNB*K + k*PNB + j%PNB], columns past
 *      N zero (every micro-kernel's NR divides PNB and reads a panel in
 *      place).  Columns c0.. (c0 a multiple of PNB) are the product with
 *      packed + c0*K; column blocks computed that way, of any width, are
 *      bit-identical to the whole, and hd_sgemm_ws_pb is bit-identical to
 *      hd_sgemm_ws wherever that one packs (always when M > 4 and N > 4),
 *      equal up to rounding elsewhere.
 *    - A product as a struct, hd_sgemm_op (below): plain or pre-packed B,
 *      `batch` products at strides, and a tile epilogue, a function called
 *      on each finished tile of C (bias, activation, a store elsewhere);
 *      hd_sgemm_run(op, scratch) runs it on one thread.
 *    hd_dgemm is the same contract in double, with plain loops and no
 *    scratch (correctness reference, not tuned).
 *
 * 3. Convolution lowering (one image):
 *      hd_conv_out_size(in, k, stride, pad_begin, pad_end, dilation)
 *      hd_im2col_f32(x[C][H][W] -> col[C*kh*kw][OH*OW]), padding -> 0
 *      hd_col2im_f32(col -> x), the adjoint: x is overwritten with the sum
 *      of all column entries that map to each pixel (padding is dropped).
 *      hd_col2im_acc_f32 takes the column grid OH x OW explicitly (no end
 *      pads) and adds into x instead of overwriting it (ConvTranspose).
 *    Row index of col is (c*kh + i)*kw + j, column index oh*OW + ow; the
 *    input pixel is (oh*stride_h - pad_top + i*dil_h,
 *    ow*stride_w - pad_left + j*dil_w).  x and col must not overlap.
 *    Strides and dilations must be >= 1.
 *    N-D forms take the geometry as an hd_window (1 <= nd <= HD_WIN_MAX_ND;
 *    image dims in[] >= 1, column grid out[] >= 0, kernel k[] >= 1,
 *    strides s[] >= 1, dilations d[] >= 1, begin pads pad[] (any sign);
 *    the image index along dim i is o*s[i] - pad[i] + t*d[i] for grid
 *    index o and tap t; grid points outside the image read 0 / add
 *    nothing).  The col row of channel c and taps t0..t(nd-1) is
 *    ((c*k[0] + t0)*k[1] + t1)..., as in the 2-D forms.
 *      hd_phase_split_f32(x[rows][W], rows, W, S, xs[rows][S][PW]):
 *        xs[r][ph][j] = x[r][j*S + ph], 0 where j*S + ph >= W;
 *        PW = ceil(W/S).  A strided tap then reads a contiguous run.
 *      hd_im2col_nd_f32(x, C, win, r0, nr, col): the columns of grid
 *        indices o0 in [r0, r0 + nr) along dim 0 (all of the others) into
 *        col[C*prod(k)][nt], nt = nr*prod(out[1..]), column index
 *        ((o0 - r0)*out[1] + o1)*out[2] + ...; padding -> 0.  nd == 1
 *        takes the whole grid (r0 = 0, nr = 1).  Chunks of rows keep a
 *        column block in cache between im2col and the GEMM.  When
 *        s[nd-1] > 1, x must be the hd_phase_split_f32 copy of the image
 *        (rows = C*prod(in[0..nd-2]), W = in[nd-1], S = s[nd-1]).
 *      hd_im2col_pack_f32(x, C, win, r0, nr, KD, k0, packed): the same
 *        columns written straight into hd_sgemm_pack_b's layout of a
 *        KD-row matrix (channel c at rows k0 + c*prod(k)..), so a GEMM
 *        takes them as pre-packed B; needs hd_im2col_pack_fits(win)
 *        (a channel's taps over one grid row fit HD_IM2COL_PACK_FLOATS).
 *      hd_col2im_acc_nd_f32(col, C, win, x): x[C][in...] += every entry
 *        of col[C*prod(k)][prod(out)] that lands inside the image, in the
 *        order channel, taps, grid position (so results are reproducible).
 *    x, xs and col must not overlap.
 *
 * 3c. A convolution's weight gradient over a batch, float32:
 *    hd_conv_dw (x [N, G*Cg, in...], dy [N, G*Mg, out...], the forward
 *    window) gives dw[G*Mg][Cg*prod(k)] = sum over n and grid position o of
 *    dy[n, m, o] * im2col(x[n]) of m's group; hd_conv_dw_par(exec, cv,
 *    workers, worker_bytes) (section 7) splits the batch into
 *    hd_conv_dw_chunks(N) fixed chunks summed in order (cv->partial holds
 *    all but the first), so results do not depend on the worker count;
 *    each worker needs hd_conv_dw_worker_floats(win, Cg, Mg,
 *    hd_sgemm_scratch_floats) floats at workers + w*worker_bytes.
 *
 * 3b. Direct 2-D convolution on channel-blocked tensors (HD_CB = 16
 *    channels per block, innermost): hd_conv_blocked describes one, dense
 *    or depthwise, its input blocked or plain NCHW (geometry, x, weights
 *    laid out as section 3b says, bias,
 *    y, an epilogue called on each finished output row);
 *    hd_conv_blocked_run(cv, scratch) computes it on one thread with
 *    hd_conv_blocked_scratch_floats(cv) floats of scratch (a zero-bordered
 *    copy of one image, 0 when none is needed), hd_conv_blocked_par(exec,
 *    cv, scratch) on the pool (section 7), with the same bytes.
 *
 * 4. Vector math (exp, log, tanh, erf, sigmoid) in three forms:
 *      void  hd_vexp_f32(const float *x, float *y, int64_t n);   arrays
 *      float hd_expf(float x);                                    scalar
 *      hd_vf hd_vf_exp(hd_vf x);                                  one vector
 *    (and likewise log / tanh / erf / sigmoid).  The one-vector forms are
 *    for fused loops in generated code, with hd_vf_load / hd_vf_store
 *    (unaligned) and hd_vf_splat, stepping HD_VF floats at a time.
 *    Array forms allow y == x
 *    (in place); otherwise x and y must not overlap.  Range reduction plus
 *    minimax polynomials, branch-free, correct over the whole float range
 *    including +-0, +-Inf, NaN (propagated), saturation and subnormal
 *    inputs and outputs.  Measured over all 2^32 inputs against the
 *    correctly rounded result (gcc SSE2 / AVX2+FMA / AVX-512 builds and
 *    clang -march=native): max error exp 1 ulp, log 1 ulp, tanh 1 ulp,
 *    erf 1 ulp, sigmoid 2 ulp; against glibc's float functions at most
 *    2 ulp, in the default FP environment (round to nearest) and in
 *    section 6's (flushed subnormals: where a result would be subnormal it
 *    is zero instead); do not compile with -ffast-math (it breaks NaN/Inf
 *    handling here and everywhere else).  Contraction (-ffp-contract=fast,
 *    the gnu11 default) is fine; scalar and array forms may then differ by
 *    1 ulp.
 *
 * 5. Helpers generated code calls (section 5 below): hd_ew_ipow,
 *    hd_ew_pymod_i, hd_ew_pymodf, hd_ew_pymod (Pow/Mod semantics),
 *    hd_ew_vsoftplus (one vector), and the row statistics hd_rd_sum,
 *    hd_rd_sumsq, hd_rd_sumabs, hd_rd_sumsqd, hd_rd_ext over contiguous
 *    float rows (vector accumulators; results differ from a sequential loop
 *    only by summation order).
 *
 * 6. Floating-point environment: hd_fpenv_enter() switches subnormal
 *    flushing on (FTZ+DAZ on x86, FZ on AArch64; nothing where
 *    HD_FLUSH_DENORMALS is 0 or the target has no such mode) and returns
 *    the caller's environment, which hd_fpenv_leave(saved) restores.  A
 *    model's run function brackets its work with the two.
 *
 * 7. Threads (hodu_abi.h's hodu_exec; this header then needs hodu_abi.h
 *    included before it, which generated code does):
 *      hd_parallel_for(exec, n, fn, ctx): fn(ctx, t, worker) for every
 *        t < n, through the host's parallel-for, or in order as worker 0
 *        when exec is NULL, has no parallel_for or one worker.  Tasks on
 *        the host's threads run inside hd_fpenv_enter/leave.
 *      hd_task_count(exec, max): how many tasks to split work into,
 *        min(max, workers) (1 without threads).
 *      hd_task_begin(t, nt, n, grain): start of task t's block when n
 *        iterations are split into nt blocks of whole grain-iteration
 *        units (the last block also takes the ragged end); t == nt gives n.
 *      hd_sgemm_par(exec, workers, worker_bytes, batch, sa, sb, sc, M, N,
 *        K, A, lda, trans_a, B, ldb, trans_b, C, ldc, alpha, beta): `batch`
 *        products as hd_sgemm_ws, the b-th on A + b*sa, B + b*sb and
 *        C + b*sc (a stride of 0 shares an operand), split into tasks over
 *        the batch and over blocks of whole columns of C (of rows when C
 *        is too narrow).  Worker w uses workers + w*worker_bytes as its
 *        scratch, which must hold hd_sgemm_scratch_floats(M, N, K) floats.
 *        The results are bit-identical to one hd_sgemm_ws call per product
 *        whatever the worker count: blocks start on micro-tile boundaries
 *        and never make a product take another path.
 *      hd_sgemm_run_par(exec, workers, worker_bytes, op): the same for a
 *        product given as an hd_sgemm_op (section 2: pre-packed B, tile
 *        epilogue); with packed B, blocks are whole panels.
 *      hd_im2col_nd_par(exec, x, C, win, r0, nr, col),
 *        hd_im2col_pack_par(exec, x, C, win, r0, nr, packed) (KD = C *
 *        prod(k), k0 = 0) and hd_phase_split_par(exec, x, rows, W, S, xs):
 *        section 3's routines split over blocks of channels (rows); same
 *        results.
 *
 * 8. FFT (complex, double precision, any length n >= 1):
 *      hd_fft_plan_doubles(n): size of n's plan, in doubles (0: n < 1 or
 *        past HD_FFT_MAX_N);  hd_fft_work_doubles(n): the work area
 *        hd_fft_plan_init and hd_fft_run need (0 for most lengths);
 *      hd_fft_plan_init(n, plan, work): fills the plan (twiddles and
 *        factors; a code generator does this at build time and stores it);
 *      hd_fft_run(plan, x, y, work, inverse): y = DFT(x), x and y n complex
 *        values, interleaved (re, im); x is clobbered, must not overlap y.
 *        inverse: the conjugate transform, unnormalised (the caller
 *        scales by 1/n).  y[k] = sum_j x[j] exp(-+2 pi i jk/n).
 *    Lengths whose prime factors are at most HD_FFT_MAX_RADIX run a
 *    mixed-radix Cooley-Tukey recursion (radix-4 and radix-2 butterflies,
 *    a direct one for odd primes), others Bluestein's chirp-z algorithm on
 *    a power-of-two length m >= 2n - 1: O(n log n) for every n.  Results
 *    differ from an exact DFT by O(log n) rounding errors of double.
 *
 * 9. Counter-based random numbers (Philox4x32-10, Salmon, Moraes, Dror and
 *    Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
 *      hd_philox4x32_10(ctr, key, out): the bijection of the 128-bit
 *        counter ctr[4] under the 64-bit key key[2], ten rounds; out[4]
 *        may be ctr.  Matches the Random123 known-answer vectors.
 *      hd_rand_block(k0, k1, stream, block, out): out = Philox of the
 *        counter (low and high half of `block`, stream, 0) under (k0, k1);
 *        `stream` keeps one key's draws for different uses apart.
 *      hd_rand_u24(w): float in [0, 1) from the top 24 bits of w;
 *      hd_rand_u53(a, b): double in [0, 1) from the top 53 of a:b.
 *      hd_rand_normal2(a, b, c, d, z): Box-Muller on u1 = 1 - u53(a, b)
 *        (in (0, 1], so the log is finite) and u2 = u53(c, d):
 *        z[0] = r cos(2 pi u2), z[1] = r sin(2 pi u2), r = sqrt(-2 ln u1);
 *        in double, so the tails reach about 8.6 sigma.
 *    Everything is a pure function of (key, counter): element i of an
 *    output draws from block i / k for a fixed k, whatever the thread
 *    count or split, and the same binary gives the same bytes on every run.
 *
 * GEMM design: Goto-style blocking.  Loops: NC columns of B (packed once
 * per KC x NC block, into L2), KC rows of K, MC rows of A (packed into
 * MR-row slivers, L2), NR-column slivers of B (one stays in L1), MR-row
 * slivers of A (streamed from L2, prefetched ahead).  The micro-kernel
 * keeps an MR x NR tile, NR = 2 vectors, in registers: per k one
 * broadcast per row, two B loads and 2*MR FMAs, nothing else (8x32 on
 * AVX-512: 16 of 32 zmm accumulators, so B in L1 has slack; 6x16 on AVX2:
 * 15 of 16 ymm; 4x8 on SSE2; 8x8 on NEON); KC = 256 keeps a B sliver
 * (32 KiB on AVX-512) plus the A stream inside a 48 KiB L1.  The last row
 * tile of a block runs the 4- (or 8-) row kernel when it is no taller.
 * Tiles narrower than NR go through a local tile with the same arithmetic,
 * and blocks are equal-sized along each dimension.  Packing is a bandwidth question:
 * plain B is copied along its rows a few rows at a time (a sliver at a
 * time hops a page per row), transposed operands go through 4x4 register
 * transposes; a product of one row tile (M <= MR) reads plain B in place,
 * as it uses each sliver once.  Unpacked paths serve M <= 4 or N <= 4
 * (GEMV-like products: B or A streamed once).
 *
 * Knobs (define before including): HD_SGEMM_KC, HD_SGEMM_MC,
 * HD_SGEMM_MC_WHOLE, HD_SGEMM_NC, HD_SGEMM_STACK_NC set the cache
 * blocking; HD_SGEMM_PAR_MACS the least work (multiply-adds) a block of a
 * threaded product carries; HD_SGEMM_MR (a literal among 1..16) the
 * micro-tile height; HD_SGEMM_PFA how far ahead (in floats)
 * the micro-kernel prefetches A; HD_SGEMM_ABCAST=1 packs A pre-broadcast
 * (see there).  hd_sgemm_scratch_floats_max holds for the defaults only.
 */
#ifndef HODU_KERNELS_H
#define HODU_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Target selection                                                          */
/* ------------------------------------------------------------------------ */

#if defined(__GNUC__) || defined(__clang__)
#define HD__GNU 1
#else
#define HD__GNU 0
#endif

/* The generated library exports hodu_model_get_desc and nothing else: ELF
 * by visibility (it is built with -fvisibility=hidden), a Windows DLL by
 * dllexport (which then exports only what is so marked). */
#if defined(_WIN32)
#define HD_EXPORT __declspec(dllexport)
#define HD_HIDDEN
#elif HD__GNU
#define HD_EXPORT __attribute__((visibility("default")))
#define HD_HIDDEN __attribute__((visibility("hidden")))
#else
#define HD_EXPORT
#define HD_HIDDEN
#endif

#if !defined(HD_VECTOR_BYTES)
#if defined(HD_NO_VECTOR) || !HD__GNU
#define HD_VECTOR_BYTES 0
#elif defined(__AVX512F__)
#define HD_VECTOR_BYTES 64
#elif defined(__AVX__)
#define HD_VECTOR_BYTES 32
#elif defined(__SSE2__) || defined(__ARM_NEON) || defined(__ARM_NEON__) || defined(__VSX__) || defined(__ALTIVEC__) || \
    defined(__wasm_simd128__)
#define HD_VECTOR_BYTES 16
#else
#define HD_VECTOR_BYTES 0
#endif
#endif

#if HD_VECTOR_BYTES > 0
#define HD_VF (HD_VECTOR_BYTES / 4)
typedef float hd_vf __attribute__((vector_size(HD_VECTOR_BYTES)));
typedef unsigned int hd_vu __attribute__((vector_size(HD_VECTOR_BYTES)));
/* a vector with every lane equal to s (x*1 folds away; 0+s would turn -0
 * into +0) */
#define HD__VSPLAT(s) ((((hd_vf){0}) + 1.0f) * (s))
#else
#define HD_VF         1
typedef float hd_vf;
typedef uint32_t hd_vu;
#define HD__VSPLAT(s) ((float)(s))
#endif

/* Micro-tile height.  Registers: MR*2 accumulators + 2 B + 1 A vector.
 * AVX-512: 8 (not 12/14) because channel counts are multiples of 8/16,
 * so no rows are wasted on padding; 12 and 14 measured no faster. */
#ifndef HD_SGEMM_MR
#if HD_VECTOR_BYTES == 64
#define HD_SGEMM_MR 8
#elif HD_VECTOR_BYTES == 32
#define HD_SGEMM_MR 6
#elif HD_VECTOR_BYTES == 16 && (defined(__aarch64__) || defined(__ARM_NEON))
#define HD_SGEMM_MR 8
#elif HD_VECTOR_BYTES == 16 /* SSE: 2-operand code needs a temporary */
#define HD_SGEMM_MR 4
#else
#define HD_SGEMM_MR 4
#endif
#endif
#define HD_SGEMM_NR (2 * HD_VF)
/* Opt-in (HD_SGEMM_ABCAST=1): pack A with every element already repeated
 * HD_VF times, so the micro-kernel loads instead of broadcasting.  Pays
 * off where broadcasts are shuffles (plain SSE2: about +20% measured,
 * best with HD_SGEMM_MR=6), but the A panel grows HD_VF-fold, so the
 * scratch exceeds hd_sgemm_scratch_floats_max: only for callers that size
 * scratch with hd_sgemm_scratch_floats on the target itself. */
#ifndef HD_SGEMM_ABCAST
#define HD_SGEMM_ABCAST 0
#endif
#if HD_SGEMM_ABCAST
#define HD__AS HD_VF /* floats per packed element of A */
#else
#define HD__AS 1
#endif
#ifndef HD_SGEMM_KC
#define HD_SGEMM_KC 256
#endif
/* MC: the packed A block (MC x KC) sits in L2.  On AVX2/AVX-512 a short
 * block measured 5-10% faster than an L2-filling one on a large M (1024^3
 * 0.86 of peak against 0.83 for 128 rows): a sweep over the B slivers then
 * touches few rows of C (and their pages) at a time. */
#ifndef HD_SGEMM_MC
#if HD_SGEMM_ABCAST || HD_VECTOR_BYTES == 64
#define HD_SGEMM_MC 48
#elif HD_VECTOR_BYTES == 32
#define HD_SGEMM_MC 72
#else
#define HD_SGEMM_MC 144
#endif
#endif
/* ...but every row block streams the K block of B again, and B is mostly
 * weights that come from memory: a product of at most HD_SGEMM_MC_WHOLE
 * rows runs as one block (transformer and MLP layers, M = 64..128: 4-7%
 * faster than two or three short blocks). */
#ifndef HD_SGEMM_MC_WHOLE
#if HD_VECTOR_BYTES >= 32 && !HD_SGEMM_ABCAST
#define HD_SGEMM_MC_WHOLE 128
#else
#define HD_SGEMM_MC_WHOLE 0
#endif
#endif
#ifndef HD_SGEMM_NC
#define HD_SGEMM_NC 1024
#endif
#ifndef HD_SGEMM_STACK_NC /* keeps hd_sgemm's stack buffer at most about 400 KiB */
#if HD_SGEMM_ABCAST
#define HD_SGEMM_STACK_NC 192
#else
#define HD_SGEMM_STACK_NC 256
#endif
#endif

#ifndef HD_SGEMM_PFA /* how far ahead (floats) the micro-kernel prefetches A */
#define HD_SGEMM_PFA (16 * HD_SGEMM_MR * HD__AS)
#endif

/* Rounding NC/MC to the micro-tile keeps packed panels whole. */
#define HD__SGEMM_MCB    ((HD_SGEMM_MC + HD_SGEMM_MR - 1) / HD_SGEMM_MR * HD_SGEMM_MR)
#define HD__SGEMM_MCW    ((HD_SGEMM_MC_WHOLE + HD_SGEMM_MR - 1) / HD_SGEMM_MR * HD_SGEMM_MR)
#define HD__SGEMM_MCMAX  (HD__SGEMM_MCW > HD__SGEMM_MCB ? HD__SGEMM_MCW : HD__SGEMM_MCB) /* rows of A packed */
#define HD__SGEMM_NCB    ((HD_SGEMM_NC + HD_SGEMM_NR - 1) / HD_SGEMM_NR * HD_SGEMM_NR)
#define HD__SGEMM_SNCB   ((HD_SGEMM_STACK_NC + HD_SGEMM_NR - 1) / HD_SGEMM_NR * HD_SGEMM_NR)
#define HD__ALIGN_FLOATS 16 /* 64-byte alignment slack */
#define HD__SGEMM_STACK_FLOATS                                                                                         \
    (HD__SGEMM_MCMAX * HD_SGEMM_KC * HD__AS + HD_SGEMM_KC * HD__SGEMM_SNCB + HD__ALIGN_FLOATS)
#define HD_SGEMM_STACK_BYTES (HD__SGEMM_STACK_FLOATS * 4)

/* FMA contraction for the GEMM inner loops only.  gcc in ISO mode
 * (-std=c11) defaults to -ffp-contract=off, which would leave a mul+add
 * pair per FMA; clang needs the pragma inside the function body. */
#if defined(__clang__)
#define HD__CONTRACT_FN
#define HD__CONTRACT_BODY _Pragma("clang fp contract(fast)")
#elif defined(__GNUC__)
#define HD__CONTRACT_FN __attribute__((optimize("fp-contract=fast")))
#define HD__CONTRACT_BODY
#else
#define HD__CONTRACT_FN
#define HD__CONTRACT_BODY
#endif

#if HD__GNU
#define HD__ALWAYS_INLINE __attribute__((always_inline))
#define HD__UNROLL8       _Pragma("GCC unroll 8")
#define HD__PREFETCH(p)   __builtin_prefetch((const void *)(p), 1, 3)
/* Hides a loop index from the optimiser, so a short copy loop written in
 * vectors stays one (gcc and clang otherwise turn it into a memcpy call or
 * `rep movs`, slow for rows of tens of floats). */
#define HD__OPAQUE(i) __asm__("" : "+r"(i))
#else
#define HD__ALWAYS_INLINE
#define HD__UNROLL8
#define HD__PREFETCH(p) ((void)(p))
#define HD__OPAQUE(i)   ((void)0)
#endif

/* SGEMM only: a read prefetch, and an attribute for its functions.  clang
 * legalises 512-bit vector types as pairs of 256-bit halves on targets
 * that prefer 256-bit vectors (-march=native on Intel AVX-512 parts),
 * which doubles the micro-kernel's register needs; min_vector_width keeps
 * whole zmm registers. */
#if HD__GNU
#define HD__SG_PREFR(p)  __builtin_prefetch((const void *)(p), 0, 3)
#define HD__SG_PREFL2(p) __builtin_prefetch((const void *)(p), 0, 2)
#else
#define HD__SG_PREFR(p)  ((void)(p))
#define HD__SG_PREFL2(p) ((void)(p))
#endif
#if defined(__clang__) && HD_VECTOR_BYTES == 64
#define HD__SG_FN __attribute__((min_vector_width(512)))
#else
#define HD__SG_FN
#endif

/* Row lists for the register-blocked code: HD__ROWS(n)(X) = X(0) .. X(n-1) */
#define HD__CAT_(a, b) a##b
#define HD__CAT(a, b)  HD__CAT_(a, b)
#define HD__R1(X)      X(0)
#define HD__R2(X)      HD__R1(X) X(1)
#define HD__R3(X)      HD__R2(X) X(2)
#define HD__R4(X)      HD__R3(X) X(3)
#define HD__R5(X)      HD__R4(X) X(4)
#define HD__R6(X)      HD__R5(X) X(5)
#define HD__R7(X)      HD__R6(X) X(6)
#define HD__R8(X)      HD__R7(X) X(7)
#define HD__R9(X)      HD__R8(X) X(8)
#define HD__R10(X)     HD__R9(X) X(9)
#define HD__R11(X)     HD__R10(X) X(10)
#define HD__R12(X)     HD__R11(X) X(11)
#define HD__R13(X)     HD__R12(X) X(12)
#define HD__R14(X)     HD__R13(X) X(13)
#define HD__R15(X)     HD__R14(X) X(14)
#define HD__R16(X)     HD__R15(X) X(15)
#define HD__ROWS(n)    HD__CAT(HD__R, n)

/* ------------------------------------------------------------------------ */
/* Vector helpers (also usable by generated code for fused loops)           */
/* ------------------------------------------------------------------------ */

static inline hd_vf hd_vf_load(const float *p)
{
    hd_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void hd_vf_store(float *p, hd_vf v) { memcpy(p, &v, sizeof v); }
/* A hint that the line at byte address a will be read soon (nothing where
 * the compiler has no prefetch builtin).  An address, not a pointer: the
 * caller may name memory past its array, which a prefetch never faults on. */
static inline void hd_prefetch_addr(uintptr_t a) { HD__SG_PREFR((const void *)a); }
static inline hd_vf hd_vf_splat(float s) { return HD__VSPLAT(s); }
static inline hd_vu hd_vu_splat(uint32_t s)
{
#if HD_VECTOR_BYTES > 0
    return ((hd_vu){0}) + s;
#else
    return s;
#endif
}
static inline float hd_vf_lane0(hd_vf v)
{
#if HD_VECTOR_BYTES > 0
    return v[0];
#else
    return v;
#endif
}
static inline hd_vu hd_vf_bits(hd_vf v)
{
#if HD_VECTOR_BYTES > 0
    return (hd_vu)v;
#else
    hd_vu u;
    memcpy(&u, &v, sizeof u);
    return u;
#endif
}
static inline hd_vf hd_vf_from_bits(hd_vu u)
{
#if HD_VECTOR_BYTES > 0
    return (hd_vf)u;
#else
    hd_vf v;
    memcpy(&v, &u, sizeof v);
    return v;
#endif
}
/* comparisons give all-ones / all-zero lane masks */
#if HD_VECTOR_BYTES > 0
static inline hd_vu hd_vf_lt(hd_vf a, hd_vf b) { return (hd_vu)(a < b); }
static inline hd_vu hd_vf_ge(hd_vf a, hd_vf b) { return (hd_vu)(a >= b); }
static inline hd_vu hd_vf_eq(hd_vf a, hd_vf b) { return (hd_vu)(a == b); }
static inline hd_vu hd_vf_isnan(hd_vf a) { return (hd_vu)(a != a); }
#else
static inline hd_vu hd_vf_lt(hd_vf a, hd_vf b) { return a < b ? 0xFFFFFFFFu : 0u; }
static inline hd_vu hd_vf_ge(hd_vf a, hd_vf b) { return a >= b ? 0xFFFFFFFFu : 0u; }
static inline hd_vu hd_vf_eq(hd_vf a, hd_vf b) { return a == b ? 0xFFFFFFFFu : 0u; }
static inline hd_vu hd_vf_isnan(hd_vf a) { return a != a ? 0xFFFFFFFFu : 0u; }
#endif
/* lane-wise m ? a : b */
static inline hd_vf hd_vf_sel(hd_vu m, hd_vf a, hd_vf b)
{
    return hd_vf_from_bits((m & hd_vf_bits(a)) | (~m & hd_vf_bits(b)));
}
static inline hd_vf hd_vf_abs(hd_vf x) { return hd_vf_from_bits(hd_vf_bits(x) & hd_vu_splat(0x7FFFFFFFu)); }
/* |mag| with the sign of sgn */
static inline hd_vf hd_vf_copysign(hd_vf mag, hd_vf sgn)
{
    return hd_vf_from_bits((hd_vf_bits(mag) & hd_vu_splat(0x7FFFFFFFu)) | (hd_vf_bits(sgn) & hd_vu_splat(0x80000000u)));
}
/* min(x, hi) that keeps NaN */
static inline hd_vf hd__vf_clamp_hi(hd_vf x, float hi)
{
    hd_vf h = hd_vf_splat(hi);
    return hd_vf_sel(hd_vf_lt(h, x), h, x);
}

/* ------------------------------------------------------------------------ */
/* 1. f16 / bf16 conversions                                                 */
/* ------------------------------------------------------------------------ */

static inline uint32_t hd__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline float hd__f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float hd_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    if (exp == 0x1Fu) /* Inf / NaN: keep the payload */
        return hd__f32_from_bits(sign | 0x7F800000u | (man << 13));
    if (exp == 0) { /* zero / subnormal: man * 2^-24, exact in float */
        float mag = (float)man * 0x1p-24f;
        return hd__f32_from_bits(sign | hd__f32_bits(mag));
    }
    return hd__f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t hd_f32_to_f16(float f)
{
    uint32_t x = hd__f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) { /* Inf or NaN */
        if (ax == 0x7F800000u)
            return (uint16_t)(sign | 0x7C00u);
        return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    }
    if (ax >= 0x477FF000u) /* >= 65520 rounds (ties-to-even) to Inf */
        return (uint16_t)(sign | 0x7C00u);
    if (ax >= 0x38800000u) { /* normal half: drop 13 bits, round to even */
        uint32_t odd = (ax >> 13) & 1u;
        uint32_t r = (ax - 0x38000000u + 0xFFFu + odd) >> 13; /* carry may bump exp */
        return (uint16_t)(sign | r);
    }
    if (ax < 0x33000000u) /* <= 2^-25: rounds to zero (tie at 2^-25 -> even 0) */
        return sign;
    {                                                /* subnormal half: value / 2^-24 rounded to an integer */
        uint32_t e = ax >> 23;                       /* 102 .. 112 */
        uint32_t sig = (ax & 0x7FFFFFu) | 0x800000u; /* 24-bit significand */
        uint32_t shift = 126u - e;                   /* 14 .. 24 */
        uint32_t q = sig >> shift;
        uint32_t rem = sig & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++; /* may reach 0x400: ok */
        return (uint16_t)(sign | q);
    }
}

static inline float hd_bf16_to_f32(uint16_t h) { return hd__f32_from_bits((uint32_t)h << 16); }

static inline uint16_t hd_f32_to_bf16(float f)
{
    uint32_t x = hd__f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: truncate and force quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7FFFu + ((x >> 16) & 1u); /* round to nearest even; overflow -> Inf */
    return (uint16_t)(x >> 16);
}

static inline void hd_f16_to_f32_array(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        dst[i] = hd_f16_to_f32(src[i]);
}
static inline void hd_f32_to_f16_array(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        dst[i] = hd_f32_to_f16(src[i]);
}
static inline void hd_bf16_to_f32_array(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        dst[i] = hd_bf16_to_f32(src[i]);
}
static inline void hd_f32_to_bf16_array(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        dst[i] = hd_f32_to_bf16(src[i]);
}

/* Narrow types: one element per byte, the code in the low bits (higher
 * bits are ignored on reading and zero on writing).  `type` is the ONNX
 * type number (hodu_dtype): 17 f8e4m3fn, 18 f8e4m3fnuz, 19 f8e5m2,
 * 20 f8e5m2fnuz, 23 f4e2m1 (the narrow floats, hd_nf_*), 24 f8e8m0
 * (hd_e8m0_*), 21 u4, 22 i4, 25 u2, 26 i2 (the narrow ints, hd_ni_*).
 * Pure integer code, like the half conversions. */
enum { HD__NF_FN, HD__NF_FNUZ, HD__NF_IEEE, HD__NF_PLAIN }; /* what the top codes mean */
typedef struct hd__nf_fmt {
    uint32_t mbits, bias, sign; /* mantissa bits, exponent bias, sign bit */
    int kind;
} hd__nf_fmt;

static inline hd__nf_fmt hd__nf_format(int type)
{
    switch (type) {
    case 17: return (hd__nf_fmt){3, 7, 0x80u, HD__NF_FN};    /* max 448, NaN S.1111.111 */
    case 18: return (hd__nf_fmt){3, 8, 0x80u, HD__NF_FNUZ};  /* max 240, NaN 0x80 */
    case 19: return (hd__nf_fmt){2, 15, 0x80u, HD__NF_IEEE}; /* max 57344, Inf, NaN */
    case 20: return (hd__nf_fmt){2, 16, 0x80u, HD__NF_FNUZ}; /* max 57344, NaN 0x80 */
    default: return (hd__nf_fmt){1, 1, 0x8u, HD__NF_PLAIN};  /* 23: max 6, no NaN or Inf */
    }
}

static inline float hd_nf_to_f32(int type, uint8_t code)
{
    hd__nf_fmt f = hd__nf_format(type);
    uint32_t c = code & (2u * f.sign - 1u);
    uint32_t mag = c & (f.sign - 1u), sign = (c & f.sign) ? 0x80000000u : 0u;
    uint32_t e = mag >> f.mbits, man = mag & ((1u << f.mbits) - 1u);
    if ((f.kind == HD__NF_FNUZ && c == f.sign) || (f.kind == HD__NF_FN && mag == f.sign - 1u) ||
        (f.kind == HD__NF_IEEE && e == 31u && man != 0))
        return hd__f32_from_bits(sign | 0x7FC00000u);
    if (f.kind == HD__NF_IEEE && e == 31u)
        return hd__f32_from_bits(sign | 0x7F800000u);
    if (e == 0) { /* subnormal: man * 2^(1 - bias - mbits), a normal float */
        float mag_f = (float)man * hd__f32_from_bits((127u + 1u - f.bias - f.mbits) << 23);
        return hd__f32_from_bits(sign | hd__f32_bits(mag_f));
    }
    return hd__f32_from_bits(sign | ((e - f.bias + 127u) << 23) | (man << (23u - f.mbits)));
}

/* Round to nearest even.  Past the largest finite value (and for
 * infinity): the largest value when `saturate` or the format has no
 * special codes (f4e2m1), otherwise infinity (f8e5m2) or NaN.  NaN gives
 * NaN; f4e2m1 has none, and gives -0 for NaN and +0 for -NaN, as the ONNX
 * reference (ml_dtypes) does. */
static inline uint8_t hd_nf_from_f32(int type, float value, int saturate)
{
    hd__nf_fmt f = hd__nf_format(type);
    uint32_t x = hd__f32_bits(value), ax = x & 0x7FFFFFFFu;
    uint32_t sign = (x >> 31) ? f.sign : 0u;
    uint32_t max = f.kind == HD__NF_FN ? f.sign - 2u : f.kind == HD__NF_IEEE ? 0x7Bu : f.sign - 1u;
    uint32_t over = f.kind == HD__NF_FN ? sign | (f.sign - 1u) : f.kind == HD__NF_FNUZ ? f.sign : sign | 0x7Cu;
    if (saturate || f.kind == HD__NF_PLAIN)
        over = sign | max;
    if (ax > 0x7F800000u) { /* NaN */
        uint32_t nan = f.kind == HD__NF_FN     ? sign | (f.sign - 1u)
                       : f.kind == HD__NF_IEEE ? sign | 0x7Eu
                       : f.kind == HD__NF_FNUZ ? f.sign
                                               : f.sign ^ sign;
        return (uint8_t)nan;
    }
    if (ax == 0x7F800000u)
        return (uint8_t)over;
    uint32_t code = 0;
    if (ax >= 0x00800000u) { /* float32 subnormals are far below half the smallest code */
        int32_t e = (int32_t)(ax >> 23) - 127, emin = 1 - (int32_t)f.bias;
        uint32_t sig = (ax & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 23u - f.mbits + (e < emin ? (uint32_t)(emin - e) : 0u);
        if (shift < 25u) {
            uint32_t q = sig >> shift, rem = sig & ((1u << shift) - 1u), half = 1u << (shift - 1u);
            q += rem > half || (rem == half && (q & 1u));
            /* normal: biased exponent above the 1.m significand, whose carry
             * rolls into the exponent; subnormal: q itself (q = 2^mbits is
             * the smallest normal) */
            code = e < emin ? q : ((uint32_t)(e + (int32_t)f.bias) << f.mbits) + q - (1u << f.mbits);
        }
    }
    if (code > max)
        return (uint8_t)over;
    if (code == 0 && f.kind == HD__NF_FNUZ)
        return 0; /* no negative zero */
    return (uint8_t)(sign | code);
}

static inline float hd_e8m0_to_f32(uint8_t code)
{
    if (code == 0xFFu)
        return hd__f32_from_bits(0x7FC00000u);
    return hd__f32_from_bits(code ? (uint32_t)code << 23 : 0x00400000u); /* 2^(code - 127) */
}

/* The power of two at value's exponent (the sign is ignored), rounded by
 * `mode`: 0 up (away from zero), 1 down, 2 nearest (ties up); with
 * `saturate` rounding stops at the largest power, 2^127, otherwise it
 * gives NaN.  NaN and infinity give NaN. */
static inline uint8_t hd_e8m0_from_f32(float value, int saturate, int mode)
{
    uint32_t x = hd__f32_bits(value), e = (x >> 23) & 0xFFu, up = 0;
    if (e == 0xFFu)
        return 0xFFu;
    if (mode == 0)
        up = (x & 0x7FFFFFu) != 0;
    else if (mode == 2)
        up = ((x >> 22) & 1u) && (((x >> 21) & 1u) || (x & 0x1FFFFFu) || e > 0);
    if (saturate && e == 0xFEu)
        up = 0;
    return (uint8_t)(e + up);
}

static inline uint32_t hd__ni_mask(int type) { return type == 21 || type == 22 ? 0xFu : 0x3u; }

static inline int64_t hd_ni_to_i64(int type, uint8_t code)
{
    uint32_t mask = hd__ni_mask(type), v = code & mask;
    int is_signed = type == 22 || type == 26;
    return is_signed && v > (mask >> 1) ? (int64_t)v - (int64_t)mask - 1 : (int64_t)v;
}

/* Integers keep their low bits (two's complement), as numbers narrowing
 * between integer types do. */
static inline uint8_t hd_ni_from_i64(int type, int64_t v) { return (uint8_t)((uint64_t)v & hd__ni_mask(type)); }

/* Floats truncate toward zero, then keep the low bits; NaN, infinities
 * and values past int64 give 0. */
static inline uint8_t hd_ni_from_f64(int type, double v)
{
    if (!(v > -0x1p63 && v < 0x1p63))
        return 0;
    return hd_ni_from_i64(type, (int64_t)v);
}

/* ------------------------------------------------------------------------ */
/* 2. GEMM                                                                   */
/* ------------------------------------------------------------------------ */

static inline int64_t hd__min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t hd__round_up64(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* C = beta * C over an M x N window (beta == 0 stores zeros, never reads) */
static inline void hd__scale_c(int64_t M, int64_t N, float *C, int64_t ldc, float beta)
{
    for (int64_t i = 0; i < M; ++i) {
        float *c = C + i * ldc;
        if (beta == 0.0f) {
            memset(c, 0, (size_t)N * sizeof(float));
        } else if (beta != 1.0f) {
            for (int64_t j = 0; j < N; ++j)
                c[j] *= beta;
        }
    }
}

/* Packing.  Both packed operands are slivers of w lanes (w = MR for A,
 * NR for B): dst[k*w + r] for k < kc, lanes past the real rows/columns
 * zero.  The source is either "copy" shaped, lanes contiguous
 * (src[k*ld + r]: B, or A transposed), or "gather" shaped, k contiguous
 * (src[r*ld + k]: A, or B transposed), which is a transpose. */
#if HD_VECTOR_BYTES > 0
typedef float hd__v4f __attribute__((vector_size(16)));
#if defined(__clang__) || __GNUC__ >= 12
#define HD__SHUF4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
typedef int hd__v4i __attribute__((vector_size(16)));
#define HD__SHUF4(a, b, i, j, k, l) __builtin_shuffle(a, b, (hd__v4i){i, j, k, l})
#endif
/* 4x4 transpose: src[i*ld + j] -> dst[j*w + i] */
static inline void hd__tr4x4(const float *src, int64_t ld, float *restrict dst, int64_t w)
{
    hd__v4f r0, r1, r2, r3;
    memcpy(&r0, src, 16);
    memcpy(&r1, src + ld, 16);
    memcpy(&r2, src + 2 * ld, 16);
    memcpy(&r3, src + 3 * ld, 16);
    hd__v4f t0 = HD__SHUF4(r0, r1, 0, 4, 1, 5), t1 = HD__SHUF4(r0, r1, 2, 6, 3, 7);
    hd__v4f t2 = HD__SHUF4(r2, r3, 0, 4, 1, 5), t3 = HD__SHUF4(r2, r3, 2, 6, 3, 7);
    hd__v4f o0 = HD__SHUF4(t0, t2, 0, 1, 4, 5), o1 = HD__SHUF4(t0, t2, 2, 3, 6, 7);
    hd__v4f o2 = HD__SHUF4(t1, t3, 0, 1, 4, 5), o3 = HD__SHUF4(t1, t3, 2, 3, 6, 7);
    memcpy(dst, &o0, 16);
    memcpy(dst + w, &o1, 16);
    memcpy(dst + 2 * w, &o2, 16);
    memcpy(dst + 3 * w, &o3, 16);
}
#endif

/* Gather: dst[k*w + r] = src[r*ld + k] for r < rows, 0 for rows <= r < w.
 * Inlined with w constant; 4x4 transposes where there are vectors. */
static inline HD__ALWAYS_INLINE void hd__pack_gather(const float *src, int64_t ld, int64_t rows, int64_t w, int64_t kc,
                                                     float *restrict dst)
{
    int64_t k4 = 0;
#if HD_VECTOR_BYTES > 0
    int64_t r4 = rows / 4 * 4;
    k4 = kc / 4 * 4; /* bounds fixed up front: see the note before HD__DEFINE_SMALL_NN */
    for (int64_t k = 0; k < k4; k += 4) {
        float *d = dst + k * w;
        for (int64_t r = 0; r < r4; r += 4)
            hd__tr4x4(src + r * ld + k, ld, d + r, w);
        for (int64_t r = r4; r < rows; ++r) {
            const float *s = src + r * ld + k;
            d[r] = s[0];
            d[w + r] = s[1];
            d[2 * w + r] = s[2];
            d[3 * w + r] = s[3];
        }
        for (int64_t r = rows; r < w; ++r)
            d[r] = d[w + r] = d[2 * w + r] = d[3 * w + r] = 0.0f;
    }
#endif
    for (int64_t k = k4; k < kc; ++k) {
        float *d = dst + k * w;
        for (int64_t r = 0; r < rows; ++r)
            d[r] = src[r * ld + k];
        for (int64_t r = rows; r < w; ++r)
            d[r] = 0.0f;
    }
}

/* Copy: dst[k*w + r] = src[k*ld + r] for r < rows, zero-padded to w.  A
 * full sliver row is a memcpy of constant size (inline moves, not a call
 * or `rep movs`). */
static inline HD__ALWAYS_INLINE void hd__pack_copy(const float *src, int64_t ld, int64_t rows, int64_t w, int64_t kc,
                                                   float *restrict dst)
{
    if (rows == w) {
        for (int64_t k = 0; k < kc; ++k)
            memcpy(dst + k * w, src + k * ld, (size_t)w * sizeof(float));
        return;
    }
    for (int64_t k = 0; k < kc; ++k) {
        float *d = dst + k * w;
        for (int64_t r = 0; r < rows; ++r)
            d[r] = src[k * ld + r];
        for (int64_t r = rows; r < w; ++r)
            d[r] = 0.0f;
    }
}

/* Pack an mc x kc block of op(A) into MR-row slivers: sliver s holds
 * op(A)[s*MR + r][k] at pa[s*MR*kc + k*MR + r] (times HD__AS copies when
 * pre-broadcast), rows past mc are zero.  `a` points at op(A)[0][0] of
 * the block. */
HD__SG_FN static inline void hd__sgemm_pack_a(int64_t mc, int64_t kc, const float *a, int64_t lda, int trans_a,
                                              float *restrict pa)
{
    for (int64_t i0 = 0; i0 < mc; i0 += HD_SGEMM_MR) {
        int64_t rows = hd__min64(HD_SGEMM_MR, mc - i0);
#if HD_SGEMM_ABCAST
        for (int64_t k = 0; k < kc; ++k) {
            float *dst = pa + k * (HD_SGEMM_MR * HD__AS);
            for (int64_t r = 0; r < HD_SGEMM_MR; ++r) {
                float v = r >= rows ? 0.0f : trans_a ? a[k * lda + i0 + r] : a[(i0 + r) * lda + k];
                for (int l = 0; l < HD__AS; ++l)
                    dst[r * HD__AS + l] = v;
            }
        }
#else
        if (!trans_a)
            hd__pack_gather(a + i0 * lda, lda, rows, HD_SGEMM_MR, kc, pa);
        else
            hd__pack_copy(a + i0, lda, rows, HD_SGEMM_MR, kc, pa);
#endif
        pa += HD_SGEMM_MR * HD__AS * kc;
    }
}

/* Pack a kc x nc block of op(B) into NR-column slivers: sliver s holds
 * op(B)[k][s*NR + j] at pb[s*NR*kc + k*NR + j], columns past nc are zero.
 * Plain B is copied HD__PB_ROWS rows at a time across all slivers, so it
 * is read along its rows: a sliver at a time would touch a new page every
 * NR floats and defeat the hardware prefetcher. */
#define HD__PB_ROWS 4
HD__SG_FN static inline void hd__sgemm_pack_b(int64_t kc, int64_t nc, const float *b, int64_t ldb, int trans_b,
                                              float *restrict pb)
{
    if (!trans_b) {
        int64_t nfull = nc / HD_SGEMM_NR * HD_SGEMM_NR;
        for (int64_t k0 = 0; k0 < kc; k0 += HD__PB_ROWS) {
            int64_t kn = hd__min64(HD__PB_ROWS, kc - k0);
            for (int64_t j0 = 0; j0 < nfull; j0 += HD_SGEMM_NR)
                hd__pack_copy(b + k0 * ldb + j0, ldb, HD_SGEMM_NR, HD_SGEMM_NR, kn, pb + j0 * kc + k0 * HD_SGEMM_NR);
        }
        if (nfull < nc)
            hd__pack_copy(b + nfull, ldb, nc - nfull, HD_SGEMM_NR, kc, pb + nfull * kc);
        return;
    }
    for (int64_t j0 = 0; j0 < nc; j0 += HD_SGEMM_NR)
        hd__pack_gather(b + j0 * ldb, ldb, hd__min64(HD_SGEMM_NR, nc - j0), HD_SGEMM_NR, kc, pb + j0 * kc);
}

/* Micro-kernel hd__sgemm_uk_H: acc = the first H rows of an A sliver
 * (MR x kc, MR floats per k) times a B sliver (kc x NR, ldbk floats per
 * k: NR when packed, ldb when read in place), then on the top-left
 * mr x nr corner (mr <= H) of the C tile at c:
 *   use_beta ? C = alpha*acc + beta*C : C = alpha*acc
 * The loop body is one broadcast per row, two B loads and 2*H FMAs into
 * register accumulators (H = MR fills the register file).  The B sliver
 * stays in L1 while the A slivers of the block stream past from L2, a
 * little ahead of use (HD_SGEMM_PFA); pf_n lines from pf on (the next
 * B panel) are prefetched one per two k.  A tile of fewer rows stores just
 * its rows; one narrower than NR goes through a local tile with the very
 * same vector arithmetic, so an element of C comes out bit-identical
 * whichever tile it falls in. */
#define HD__UK_DECL(r) hd_vf hd__c##r##a = hd__vz, hd__c##r##b = hd__vz;
#if HD_SGEMM_ABCAST
#define HD__UK_FMA(r)                                                                                                  \
    {                                                                                                                  \
        hd_vf hd__av;                                                                                                  \
        memcpy(&hd__av, pa + (r)*HD__AS, sizeof hd__av);                                                               \
        hd__c##r##a += hd__av * hd__b0;                                                                                \
        hd__c##r##b += hd__av * hd__b1;                                                                                \
    }
#else
#define HD__UK_FMA(r)                                                                                                  \
    {                                                                                                                  \
        hd_vf hd__av = HD__VSPLAT(pa[r]);                                                                              \
        hd__c##r##a += hd__av * hd__b0;                                                                                \
        hd__c##r##b += hd__av * hd__b1;                                                                                \
    }
#endif
#define HD__UK_STEP(h)                                                                                                 \
    {                                                                                                                  \
        hd_vf hd__b0, hd__b1;                                                                                          \
        memcpy(&hd__b0, pb, sizeof hd__b0);                                                                            \
        memcpy(&hd__b1, pb + HD_VF, sizeof hd__b1);                                                                    \
        HD__R##h(HD__UK_FMA) pa += HD_SGEMM_MR * HD__AS;                                                               \
        pb += ldbk;                                                                                                    \
    }
/* both ends of a tile row: it spans two or three lines */
#define HD__UK_PREF(r)                                                                                                 \
    HD__PREFETCH(c + (r)*ldc);                                                                                         \
    HD__PREFETCH(c + (r)*ldc + HD_SGEMM_NR - 1);
#define HD__UK_OUT(r)                                                                                                  \
    {                                                                                                                  \
        float *hd__cr = hd__o + (r)*hd__ldo;                                                                           \
        hd_vf hd__o0 = hd__c##r##a * hd__va, hd__o1 = hd__c##r##b * hd__va;                                            \
        if (use_beta) {                                                                                                \
            hd_vf hd__l0, hd__l1;                                                                                      \
            memcpy(&hd__l0, hd__cr, sizeof hd__l0);                                                                    \
            memcpy(&hd__l1, hd__cr + HD_VF, sizeof hd__l1);                                                            \
            hd__o0 += hd__vb * hd__l0;                                                                                 \
            hd__o1 += hd__vb * hd__l1;                                                                                 \
        }                                                                                                              \
        memcpy(hd__cr, &hd__o0, sizeof hd__o0);                                                                        \
        memcpy(hd__cr + HD_VF, &hd__o1, sizeof hd__o1);                                                                \
    }
#define HD__UK_OUT_MR(r)                                                                                               \
    if ((r) < mr)                                                                                                      \
    HD__UK_OUT(r)
#define HD__DEFINE_UKERNEL(h)                                                                                          \
    HD__CONTRACT_FN HD__SG_FN static inline void hd__sgemm_uk_##h(                                                     \
        int64_t kc, const float *restrict pa, const float *restrict pb, int64_t ldbk, float *restrict c, int64_t ldc,  \
        int64_t mr, int64_t nr, float alpha, float beta, int use_beta, const char *pf, int64_t pf_n)                   \
    {                                                                                                                  \
        HD__CONTRACT_BODY                                                                                              \
        const hd_vf hd__vz = {0};                                                                                      \
        HD__R##h(HD__UK_DECL) if (mr == (h)) { HD__R##h(HD__UK_PREF) }                                                 \
        const int64_t hd__k2 = kc / 2 * 2;                                                                             \
        for (int64_t k = 0; k < hd__k2; k += 2) {                                                                      \
            HD__SG_PREFR(pa + HD_SGEMM_PFA);                                                                           \
            if (pf_n > 0) {                                                                                            \
                HD__SG_PREFR(pf);                                                                                      \
                pf += 64;                                                                                              \
                pf_n--;                                                                                                \
            }                                                                                                          \
            HD__UK_STEP(h)                                                                                             \
            HD__UK_STEP(h)                                                                                             \
        }                                                                                                              \
        if (hd__k2 < kc)                                                                                               \
            HD__UK_STEP(h)                                                                                             \
        const hd_vf hd__va = HD__VSPLAT(alpha), hd__vb = HD__VSPLAT(beta);                                             \
        if (nr == HD_SGEMM_NR) { /* whole rows: straight to C, the first mr of them */                                 \
            float *hd__o = c;                                                                                          \
            const int64_t hd__ldo = ldc;                                                                               \
            if (mr == (h)) {                                                                                           \
                HD__R##h(HD__UK_OUT)                                                                                   \
            } else {                                                                                                   \
                HD__R##h(HD__UK_OUT_MR)                                                                                \
            }                                                                                                          \
        } else {                                                                                                       \
            float hd__o[(h)*HD_SGEMM_NR] = {0};                                                                        \
            const int64_t hd__ldo = HD_SGEMM_NR;                                                                       \
            if (use_beta)                                                                                              \
                for (int64_t i = 0; i < mr; ++i)                                                                       \
                    memcpy(hd__o + i * HD_SGEMM_NR, c + i * ldc, (size_t)nr * sizeof(float));                          \
            HD__R##h(HD__UK_OUT) for (int64_t i = 0; i < mr; ++i)                                                      \
                memcpy(c + i * ldc, hd__o + i * HD_SGEMM_NR, (size_t)nr * sizeof(float));                              \
        }                                                                                                              \
    }
#define HD__DEFINE_UKERNEL_X(h) HD__DEFINE_UKERNEL(h)
HD__DEFINE_UKERNEL_X(HD_SGEMM_MR)
#if HD_SGEMM_MR > 4
HD__DEFINE_UKERNEL(4)
#endif
#if HD_SGEMM_MR > 8
HD__DEFINE_UKERNEL(8)
#endif

/* The micro-kernel for an mr-row tile: the lowest one that covers it (the
 * last row tile of a block is often a half one). */
static inline void hd__sgemm_ukernel(int64_t kc, const float *restrict pa, const float *restrict pb, int64_t ldbk,
                                     float *restrict c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta,
                                     int use_beta, const char *pf, int64_t pf_n)
{
#if HD_SGEMM_MR > 4
    if (mr <= 4) {
        hd__sgemm_uk_4(kc, pa, pb, ldbk, c, ldc, mr, nr, alpha, beta, use_beta, pf, pf_n);
        return;
    }
#endif
#if HD_SGEMM_MR > 8
    if (mr <= 8) {
        hd__sgemm_uk_8(kc, pa, pb, ldbk, c, ldc, mr, nr, alpha, beta, use_beta, pf, pf_n);
        return;
    }
#endif
    HD__CAT(hd__sgemm_uk_, HD_SGEMM_MR)(kc, pa, pb, ldbk, c, ldc, mr, nr, alpha, beta, use_beta, pf, pf_n);
}

/* Small-M path (M <= 4, op(A) row-major: A[r*lda + k]), no packing.
 * Non-transposed B is streamed once, row after row, in chunks of HD__NN_JB
 * columns (one page of B per row visit), while the matching chunk of C
 * (at most 16 KiB) stays in L1; four rows of B are folded into each
 * load/store of C. */
#define HD__NN_JB 1024
#define HD__NN_INIT(r)                                                                                                 \
    {                                                                                                                  \
        float *hd__cr = C + (r)*ldc + j0;                                                                              \
        if (beta == 0.0f) {                                                                                            \
            memset(hd__cr, 0, (size_t)jn * sizeof(float));                                                             \
        } else if (beta != 1.0f) {                                                                                     \
            for (int64_t j = 0; j < jn; ++j)                                                                           \
                hd__cr[j] *= beta;                                                                                     \
        }                                                                                                              \
    }
#define HD__NN_A4(r)                                                                                                   \
    const float hd__s##r##0 = alpha * A[(r)*lda + k];                                                                  \
    const float hd__s##r##1 = alpha * A[(r)*lda + k + 1];                                                              \
    const float hd__s##r##2 = alpha * A[(r)*lda + k + 2];                                                              \
    const float hd__s##r##3 = alpha * A[(r)*lda + k + 3];                                                              \
    const hd_vf hd__v##r##0 = HD__VSPLAT(hd__s##r##0);                                                                 \
    const hd_vf hd__v##r##1 = HD__VSPLAT(hd__s##r##1);                                                                 \
    const hd_vf hd__v##r##2 = HD__VSPLAT(hd__s##r##2);                                                                 \
    const hd_vf hd__v##r##3 = HD__VSPLAT(hd__s##r##3);
#define HD__NN_UPD4(r)                                                                                                 \
    {                                                                                                                  \
        float *hd__cp = C + (r)*ldc + j;                                                                               \
        hd_vf hd__c;                                                                                                   \
        memcpy(&hd__c, hd__cp, sizeof hd__c);                                                                          \
        hd__c += (hd__v##r##0 * hd__b0 + hd__v##r##1 * hd__b1) + (hd__v##r##2 * hd__b2 + hd__v##r##3 * hd__b3);        \
        memcpy(hd__cp, &hd__c, sizeof hd__c);                                                                          \
    }
#define HD__NN_UPD4S(r)                                                                                                \
    C[(r)*ldc + j] +=                                                                                                  \
        (hd__s##r##0 * hd__p0[j] + hd__s##r##1 * hd__p1[j]) + (hd__s##r##2 * hd__p2[j] + hd__s##r##3 * hd__p3[j]);
#define HD__NN_A1(r)                                                                                                   \
    const float hd__s##r##0 = alpha * A[(r)*lda + k];                                                                  \
    const hd_vf hd__v##r##0 = HD__VSPLAT(hd__s##r##0);
#define HD__NN_UPD1(r)                                                                                                 \
    {                                                                                                                  \
        float *hd__cp = C + (r)*ldc + j;                                                                               \
        hd_vf hd__c;                                                                                                   \
        memcpy(&hd__c, hd__cp, sizeof hd__c);                                                                          \
        hd__c += hd__v##r##0 * hd__b0;                                                                                 \
        memcpy(hd__cp, &hd__c, sizeof hd__c);                                                                          \
    }
#define HD__NN_UPD1S(r) C[(r)*ldc + j] += hd__s##r##0 * hd__p0[j];

/* The loop bounds are computed up front: a tail loop that starts where the
 * main loop stopped trips gcc's -Waggressive-loop-optimizations once K is
 * a propagated constant. */
#define HD__DEFINE_SMALL_NN(m)                                                                                         \
    HD__CONTRACT_FN HD__SG_FN static inline void hd__sgemm_small_nn_##m(                                               \
        int64_t N, int64_t K, const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,              \
        float *restrict C, int64_t ldc, float alpha, float beta)                                                       \
    {                                                                                                                  \
        HD__CONTRACT_BODY                                                                                              \
        const int64_t hd__k4 = K > 0 ? K / 4 * 4 : 0;                                                                  \
        for (int64_t j0 = 0; j0 < N; j0 += HD__NN_JB) {                                                                \
            const int64_t jn = hd__min64(HD__NN_JB, N - j0), jend = j0 + jn;                                           \
            const int64_t jvend = j0 + jn / HD_VF * HD_VF;                                                             \
            HD__R##m(HD__NN_INIT) int64_t k = 0;                                                                       \
            for (; k < hd__k4; k += 4) {                                                                               \
                HD__R##m(HD__NN_A4) const float *hd__p0 = B + k * ldb, *hd__p1 = hd__p0 + ldb;                         \
                const float *hd__p2 = hd__p1 + ldb, *hd__p3 = hd__p2 + ldb;                                            \
                int64_t j = j0;                                                                                        \
                for (; j < jvend; j += HD_VF) {                                                                        \
                    hd_vf hd__b0, hd__b1, hd__b2, hd__b3;                                                              \
                    memcpy(&hd__b0, hd__p0 + j, sizeof hd__b0);                                                        \
                    memcpy(&hd__b1, hd__p1 + j, sizeof hd__b1);                                                        \
                    memcpy(&hd__b2, hd__p2 + j, sizeof hd__b2);                                                        \
                    memcpy(&hd__b3, hd__p3 + j, sizeof hd__b3);                                                        \
                    HD__R##m(HD__NN_UPD4)                                                                              \
                }                                                                                                      \
                for (j = jvend; j < jend; ++j) {                                                                       \
                    HD__R##m(HD__NN_UPD4S)                                                                             \
                }                                                                                                      \
            }                                                                                                          \
            for (k = hd__k4; k < K; ++k) {                                                                             \
                HD__R##m(HD__NN_A1) const float *hd__p0 = B + k * ldb;                                                 \
                int64_t j = j0;                                                                                        \
                for (; j < jvend; j += HD_VF) {                                                                        \
                    hd_vf hd__b0;                                                                                      \
                    memcpy(&hd__b0, hd__p0 + j, sizeof hd__b0);                                                        \
                    HD__R##m(HD__NN_UPD1)                                                                              \
                }                                                                                                      \
                for (j = jvend; j < jend; ++j) {                                                                       \
                    HD__R##m(HD__NN_UPD1S)                                                                             \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }
HD__DEFINE_SMALL_NN(1)
HD__DEFINE_SMALL_NN(2)
HD__DEFINE_SMALL_NN(3)
HD__DEFINE_SMALL_NN(4)

/* Small-M path, transposed B (B is N x K): C[i][j] = dot(A row i, B row j),
 * 4 rows of B at a time, vectorised along K, one horizontal sum per dot.
 * C is addressed as C[i*crs + j*ccs] so that the same code serves the
 * small-N case with the roles of A and B swapped (C^T = B A^T). */
HD__SG_FN static inline float hd__hsum(hd_vf v)
{
#if HD_VECTOR_BYTES > 0
    float s = 0.0f;
    for (int l = 0; l < HD_VF; ++l)
        s += v[l];
    return s;
#else
    return v;
#endif
}
#define HD__NT_DECL(r) hd_vf hd__s##r##0 = hd__vz, hd__s##r##1 = hd__vz, hd__s##r##2 = hd__vz, hd__s##r##3 = hd__vz;
#define HD__NT_FMA(r)                                                                                                  \
    {                                                                                                                  \
        hd_vf hd__av;                                                                                                  \
        memcpy(&hd__av, A + (r)*lda + k, sizeof hd__av);                                                               \
        hd__s##r##0 += hd__av * hd__b0;                                                                                \
        hd__s##r##1 += hd__av * hd__b1;                                                                                \
        hd__s##r##2 += hd__av * hd__b2;                                                                                \
        hd__s##r##3 += hd__av * hd__b3;                                                                                \
    }
#define HD__NT_FIN1(r, q)                                                                                              \
    {                                                                                                                  \
        float hd__d = hd__hsum(hd__s##r##q);                                                                           \
        for (int64_t kk = hd__kv; kk < K; ++kk)                                                                        \
            hd__d += A[(r)*lda + kk] * B[(j + (q)) * ldb + kk];                                                        \
        float *hd__cp = C + (r)*crs + (j + (q)) * ccs;                                                                 \
        *hd__cp = beta != 0.0f ? alpha * hd__d + beta * *hd__cp : alpha * hd__d;                                       \
    }
#define HD__NT_FIN(r)   HD__NT_FIN1(r, 0) HD__NT_FIN1(r, 1) HD__NT_FIN1(r, 2) HD__NT_FIN1(r, 3)
#define HD__NT_DECL1(r) hd_vf hd__s##r##0 = hd__vz;
#define HD__NT_FMA1(r)                                                                                                 \
    {                                                                                                                  \
        hd_vf hd__av;                                                                                                  \
        memcpy(&hd__av, A + (r)*lda + k, sizeof hd__av);                                                               \
        hd__s##r##0 += hd__av * hd__b0;                                                                                \
    }
#define HD__NT_FINONE(r) HD__NT_FIN1(r, 0)

#define HD__DEFINE_SMALL_NT(m)                                                                                         \
    HD__CONTRACT_FN HD__SG_FN static inline void hd__sgemm_small_nt_##m(                                               \
        int64_t N, int64_t K, const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,              \
        float *restrict C, int64_t crs, int64_t ccs, float alpha, float beta)                                          \
    {                                                                                                                  \
        HD__CONTRACT_BODY                                                                                              \
        const hd_vf hd__vz = {0};                                                                                      \
        const int64_t hd__n4 = N > 0 ? N / 4 * 4 : 0;                                                                  \
        const int64_t hd__kv = K > 0 ? K / HD_VF * HD_VF : 0; /* bound up front, as in the NN path */                  \
        int64_t j = 0;                                                                                                 \
        for (; j < hd__n4; j += 4) {                                                                                   \
            HD__R##m(HD__NT_DECL) const float *hd__q0 = B + j * ldb, *hd__q1 = hd__q0 + ldb;                           \
            const float *hd__q2 = hd__q1 + ldb, *hd__q3 = hd__q2 + ldb;                                                \
            int64_t k = 0;                                                                                             \
            for (; k < hd__kv; k += HD_VF) {                                                                           \
                hd_vf hd__b0, hd__b1, hd__b2, hd__b3;                                                                  \
                memcpy(&hd__b0, hd__q0 + k, sizeof hd__b0);                                                            \
                memcpy(&hd__b1, hd__q1 + k, sizeof hd__b1);                                                            \
                memcpy(&hd__b2, hd__q2 + k, sizeof hd__b2);                                                            \
                memcpy(&hd__b3, hd__q3 + k, sizeof hd__b3);                                                            \
                HD__R##m(HD__NT_FMA)                                                                                   \
            }                                                                                                          \
            HD__R##m(HD__NT_FIN)                                                                                       \
        }                                                                                                              \
        for (j = hd__n4; j < N; ++j) {                                                                                 \
            HD__R##m(HD__NT_DECL1) const float *hd__q0 = B + j * ldb;                                                  \
            int64_t k = 0;                                                                                             \
            for (; k < hd__kv; k += HD_VF) {                                                                           \
                hd_vf hd__b0;                                                                                          \
                memcpy(&hd__b0, hd__q0 + k, sizeof hd__b0);                                                            \
                HD__R##m(HD__NT_FMA1)                                                                                  \
            }                                                                                                          \
            HD__R##m(HD__NT_FINONE)                                                                                    \
        }                                                                                                              \
    }
HD__DEFINE_SMALL_NT(1)
HD__DEFINE_SMALL_NT(2)
HD__DEFINE_SMALL_NT(3)
HD__DEFINE_SMALL_NT(4)

/* Target-independent upper bound of hd_sgemm_scratch_floats (default
 * knobs: MR <= 16, NR <= 32, MC <= 160, NC <= 1024, KC <= 256): what a
 * compiler planning memory before knowing the target reserves. */
static inline size_t hd_sgemm_scratch_floats_max(int64_t M, int64_t N, int64_t K)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    int64_t m = M + 15 < 160 ? M + 15 : 160, n = N + 31 < 1056 ? N + 31 : 1056;
    return (size_t)((m + n) * (K < 256 ? K : 256) + 16);
}

/* Scratch (in floats) that hd_sgemm_ws needs for these sizes. */
static inline size_t hd_sgemm_scratch_floats(int64_t M, int64_t N, int64_t K)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 0;
    int64_t mc = hd__round_up64(M, HD_SGEMM_MR);
    mc = M <= HD_SGEMM_MC_WHOLE ? mc : hd__min64(mc, HD__SGEMM_MCB);
    int64_t kc = hd__min64(K, HD_SGEMM_KC);
    int64_t nc = hd__min64(hd__round_up64(N, HD_SGEMM_NR), HD__SGEMM_NCB);
    return (size_t)(mc * kc * HD__AS + kc * nc + HD__ALIGN_FLOATS);
}

/* Block sizes of the blocked drivers, and the floats to skip to align the
 * scratch to 64 bytes.  Equal-sized blocks (never above the caps) avoid a
 * thin last block: K = 576 runs as 3 x 192 rather than 256 + 256 + 64. */
static inline void hd__sgemm_blocks(int64_t M, int64_t N, int64_t K, int64_t nc_max, const float *scratch, size_t *skip,
                                    int64_t *kb, int64_t *mb, int64_t *nb)
{
    uintptr_t addr = (uintptr_t)scratch;
    *skip = (size_t)((64u - (addr & 63u)) & 63u) / sizeof(float);
    int64_t nkb = (K + HD_SGEMM_KC - 1) / HD_SGEMM_KC;
    *kb = hd__min64(K, (K + nkb - 1) / nkb);
    int64_t nmb = M <= HD_SGEMM_MC_WHOLE ? 1 : (M + HD__SGEMM_MCB - 1) / HD__SGEMM_MCB;
    *mb = hd__round_up64((M + nmb - 1) / nmb, HD_SGEMM_MR);
    int64_t nnb = (N + nc_max - 1) / nc_max;
    *nb = hd__round_up64((N + nnb - 1) / nnb, HD_SGEMM_NR);
}

/* Pre-packed B: op(B) (K x N) packed once (weights), then multiplied many
 * times.  The layout does not depend on the target, so a code generator
 * can pack at build time for any ISA: panels of HD_SGEMM_PACK_NB columns,
 * op(B)[k][j] at packed[(j/PNB)*PNB*K + k*PNB + j%PNB], columns past N
 * zero.  Every HD_SGEMM_NR divides PNB, so a micro-kernel sliver is a
 * column range of one panel read with a row stride of PNB floats. */
#define HD_SGEMM_PACK_NB 32
_Static_assert(HD_SGEMM_PACK_NB % HD_SGEMM_NR == 0, "HD_SGEMM_NR must divide HD_SGEMM_PACK_NB");

/* A product, for the entries below that take one as a struct
 * (hd_sgemm_run, hd_sgemm_run_par): C = alpha*op(A)*op(B) + beta*C as in
 * hd_sgemm_ws, with op(B) from `packed_b` (hd_sgemm_pack_b's layout) when
 * that is not NULL (B, ldb and trans_b are then unused).  `batch` products
 * (0 means 1) lie sa, sb and sc floats apart in A, op(B) (plain or packed)
 * and C.  `epilogue`, when set, runs on every finished tile of C, once,
 * after the last K block wrote it: epilogue(ctx, c, ldc, i0, j0, mr, nr)
 * with c at C[i0][j0] of the product, rows i0..i0+mr-1 and columns
 * j0..j0+nr-1 (rows of product b count from b*M).  It may rewrite the
 * tile, or read it and write elsewhere; tiles of one product arrive in
 * no particular order, from several workers under hd_sgemm_run_par. */
typedef void (*hd_tile_fn)(void *ctx, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t mr, int64_t nr);
typedef struct hd_sgemm_op {
    int64_t M, N, K;
    const float *A;
    int64_t lda;
    int trans_a;
    const float *B;
    int64_t ldb;
    int trans_b;
    const float *packed_b;
    float *C;
    int64_t ldc;
    float alpha, beta;
    int64_t batch, sa, sb, sc;
    hd_tile_fn epilogue;
    void *epilogue_ctx;
} hd_sgemm_op;

/* The blocked driver on rows [i_lo, i_hi) and columns [j_lo, j_hi) of
 * product b; nc_max is the NC blocking (a multiple of NR) and scratch
 * holds mc*kc*HD__AS + kc*nc floats past its 64-byte aligned start
 * (hd_sgemm_scratch_floats of the block).  The K blocking depends on K
 * alone and every tile starts at a multiple of MR/NR from the block's
 * corner, so blocks computed apart that start on tile boundaries come out
 * bit-identical to the whole. */
HD__SG_FN static inline void hd__sgemm_blocked(const hd_sgemm_op *op, int64_t b, int64_t i_lo, int64_t i_hi,
                                               int64_t j_lo, int64_t j_hi, float *scratch, int64_t nc_max)
{
    const int64_t M = i_hi - i_lo, N = j_hi - j_lo, K = op->K, lda = op->lda, ldb = op->ldb, ldc = op->ldc;
    const int trans_a = op->trans_a, trans_b = op->trans_b;
    const float *A = op->A + b * op->sa + (trans_a ? i_lo : i_lo * lda);
    const float *B = op->packed_b ? NULL : op->B + b * op->sb + (trans_b ? j_lo * ldb : j_lo);
    const float *PB = op->packed_b ? op->packed_b + b * op->sb : NULL;
    float *C = op->C + b * op->sc + i_lo * ldc + j_lo;
    const int64_t ei = b * op->M + i_lo; /* the epilogue's row of the block's first row */
    size_t skip;
    int64_t kb, mb, nb;
    hd__sgemm_blocks(M, N, K, nc_max, scratch, &skip, &kb, &mb, &nb);
    float *pa = scratch + skip;
    float *pb = pa + mb * kb * HD__AS;
    /* One row tile uses each B sliver once: packing would only add a pass
     * over B, so plain B is read in place (all but a ragged last sliver). */
    int direct = !PB && !trans_b && M <= HD_SGEMM_MR;
    for (int64_t jc = 0; jc < N; jc += nb) {
        int64_t nc = hd__min64(nb, N - jc);
        for (int64_t pc = 0; pc < K; pc += kb) {
            int64_t kc = hd__min64(kb, K - pc);
            int use_beta = pc > 0 || op->beta != 0.0f, last = pc + kc == K;
            float beta_eff = pc > 0 ? 1.0f : op->beta;
            if (!direct && !PB)
                hd__sgemm_pack_b(kc, nc, trans_b ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, trans_b, pb);
            for (int64_t ic = 0; ic < M; ic += mb) {
                int64_t mc = hd__min64(mb, M - ic);
                hd__sgemm_pack_a(mc, kc, trans_a ? A + pc * lda + ic : A + ic * lda + pc, lda, trans_a, pa);
                for (int64_t jr = 0; jr < nc; jr += HD_SGEMM_NR) {
                    int64_t nr = hd__min64(HD_SGEMM_NR, nc - jr), j = j_lo + jc + jr;
                    const float *pbs = pb + jr * kc;
                    int64_t ldbk = HD_SGEMM_NR;
                    if (PB) {
                        pbs = PB + (j / HD_SGEMM_PACK_NB) * HD_SGEMM_PACK_NB * K + pc * HD_SGEMM_PACK_NB +
                              j % HD_SGEMM_PACK_NB;
                        ldbk = HD_SGEMM_PACK_NB;
                    } else if (direct && nr == HD_SGEMM_NR) {
                        pbs = B + pc * ldb + jc + jr;
                        ldbk = ldb;
                    } else if (direct) {
                        hd__pack_copy(B + pc * ldb + jc + jr, ldb, nr, HD_SGEMM_NR, kc, pb + jr * kc);
                    }
                    /* Build-time packed B comes from memory the first time a
                     * run reads it (a model's weights outgrow the caches):
                     * the next panel's rows for this K block are prefetched
                     * a share per row tile, from inside the tile's k loop,
                     * while this one is computed.  Spread out like that
                     * (not issued in a burst before each tile), BERT-base
                     * and GPT-2 ran 10% faster at one thread. */
                    const char *next_pb = NULL;
                    int64_t pf_lines = 0, pf_at = 0;
                    if (PB && jr + HD_SGEMM_NR < nc && (j + HD_SGEMM_NR) % HD_SGEMM_PACK_NB == 0) {
                        next_pb = (const char *)(PB + (j + HD_SGEMM_NR) * K + pc * HD_SGEMM_PACK_NB);
                        pf_lines = (kc * HD_SGEMM_PACK_NB * (int64_t)sizeof(float) + 63) / 64;
                    }
                    const int64_t pf_per_tile = next_pb ? pf_lines / ((mc + HD_SGEMM_MR - 1) / HD_SGEMM_MR) + 1 : 0;
                    for (int64_t ir = 0; ir < mc; ir += HD_SGEMM_MR) {
                        int64_t mr = hd__min64(HD_SGEMM_MR, mc - ir);
                        float *ct = C + (ic + ir) * ldc + jc + jr;
                        /* this tile's share: what its k loop can take (a line
                         * every two k), the rest before it */
                        int64_t share = hd__min64(pf_per_tile, pf_lines - pf_at), in_loop = hd__min64(share, kc / 2);
                        for (int64_t l = in_loop; l < share; l++)
                            HD__SG_PREFR(next_pb + (pf_at + l) * 64);
                        hd__sgemm_ukernel(kc, pa + ir * kc * HD__AS, pbs, ldbk, ct, ldc, mr, nr, op->alpha, beta_eff,
                                          use_beta, next_pb ? next_pb + pf_at * 64 : NULL, next_pb ? in_loop : 0);
                        pf_at += share;
                        if (last && op->epilogue)
                            op->epilogue(op->epilogue_ctx, ct, ldc, ei + ic + ir, j, mr, nr);
                    }
                }
            }
        }
    }
}

/* One row times packed B (a GEMV: MLP layers at batch 1): columns
 * [0, N) of y = alpha * x op(B) + beta * y, P pointing at the panel of
 * column 0 (hd_sgemm_pack_b's layout, K rows of HD_SGEMM_PACK_NB).  Each
 * panel streams once, contiguous; even and odd k sum apart, so the
 * multiply-adds of one column overlap. */
#define HD__GV_PV (HD_SGEMM_PACK_NB / HD_VF) /* vectors across a panel */
HD__CONTRACT_FN HD__SG_FN static inline void hd__sgemv_packed(int64_t K, const float *restrict x,
                                                              const float *restrict P, int64_t N, float *restrict y,
                                                              float alpha, float beta)
{
    HD__CONTRACT_BODY
    for (int64_t j0 = 0; j0 < N; j0 += HD_SGEMM_PACK_NB) {
        const float *restrict p = P + j0 * K;
        hd_vf e[HD__GV_PV], o[HD__GV_PV];
        for (int v = 0; v < HD__GV_PV; v++)
            e[v] = o[v] = hd_vf_splat(0.0f);
        int64_t k = 0;
        for (; k + 1 < K; k += 2) {
            const hd_vf x0 = hd_vf_splat(x[k]), x1 = hd_vf_splat(x[k + 1]);
            const float *restrict r = p + k * HD_SGEMM_PACK_NB;
            for (int v = 0; v < HD__GV_PV; v++) {
                e[v] += x0 * hd_vf_load(r + v * HD_VF);
                o[v] += x1 * hd_vf_load(r + HD_SGEMM_PACK_NB + v * HD_VF);
            }
        }
        if (k < K) {
            const hd_vf x0 = hd_vf_splat(x[k]);
            for (int v = 0; v < HD__GV_PV; v++)
                e[v] += x0 * hd_vf_load(p + k * HD_SGEMM_PACK_NB + v * HD_VF);
        }
        float sum[HD_SGEMM_PACK_NB];
        for (int v = 0; v < HD__GV_PV; v++)
            hd_vf_store(sum + v * HD_VF, e[v] + o[v]);
        int64_t w = hd__min64(HD_SGEMM_PACK_NB, N - j0);
        for (int64_t j = 0; j < w; j++)
            y[j0 + j] = beta != 0.0f ? alpha * sum[j] + beta * y[j0 + j] : alpha * sum[j];
    }
}

/* Whether hd__sgemv_packed takes the product: one row in all (so every
 * block of a split takes it too) of packed B, op(A) contiguous. */
static inline int hd__sgemm_is_gemv(const hd_sgemm_op *op)
{
    return op->packed_b && op->M == 1 && (!op->trans_a || op->lda == 1);
}

/* Widest transposed B the front end takes as dot products (below half a
 * micro-tile's columns on AVX-512). */
#define HD__SGEMM_DOT_MAX_N 16

/* hd__sgemm_small_nt_<m> for m = 1..4 rows of A (m > 4 runs as 4). */
static inline void hd__sgemm_small_nt(int64_t m, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                                      int64_t ldb, float *C, int64_t crs, int64_t ccs, float alpha, float beta)
{
    switch (m) {
    case 1: hd__sgemm_small_nt_1(N, K, A, lda, B, ldb, C, crs, ccs, alpha, beta); break;
    case 2: hd__sgemm_small_nt_2(N, K, A, lda, B, ldb, C, crs, ccs, alpha, beta); break;
    case 3: hd__sgemm_small_nt_3(N, K, A, lda, B, ldb, C, crs, ccs, alpha, beta); break;
    default: hd__sgemm_small_nt_4(N, K, A, lda, B, ldb, C, crs, ccs, alpha, beta); break;
    }
}

/* Shared front end: trivial cases and the unpacked paths for M <= 4 or
 * N <= 4; returns 1 when the product is done. */
static inline int hd__sgemm_front(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, int trans_a,
                                  const float *B, int64_t ldb, int trans_b, float *C, int64_t ldc, float alpha,
                                  float beta)
{
    if (M <= 0 || N <= 0)
        return 1;
    if (K <= 0 || alpha == 0.0f) {
        hd__scale_c(M, N, C, ldc, beta);
        return 1;
    }
    if (N <= 4 && M > N && !trans_a && (trans_b || (N == 1 && ldb == 1))) {
        /* few columns: C^T = op(B)^T op(A)^T with contiguous rows on both sides */
        hd__sgemm_small_nt(N, M, K, B, ldb, A, lda, C, 1, ldc, alpha, beta);
        return 1;
    }
    if (N <= HD__SGEMM_DOT_MAX_N && M > 4 && trans_b && !trans_a && K >= 4 * HD_VF) {
        /* a narrow product against rows of B (a classifier's last layer):
         * a micro-tile would be mostly padding; dot products along K, four
         * rows of A at a time, the same sums a row gets on the M <= 4 path */
        for (int64_t i = 0; i < M; i += 4)
            hd__sgemm_small_nt(hd__min64(4, M - i), N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, 1, alpha, beta);
        return 1;
    }
    if (M <= 4 && (!trans_a || M == 1)) {
        /* M == 1 with trans_a reads op(A) row 0 = A[k*lda]: only contiguous
     * when lda == 1, otherwise use the packed path */
        if (trans_a && lda != 1)
            return 0;
        if (!trans_b) {
            switch (M) {
            case 1: hd__sgemm_small_nn_1(N, K, A, lda, B, ldb, C, ldc, alpha, beta); break;
            case 2: hd__sgemm_small_nn_2(N, K, A, lda, B, ldb, C, ldc, alpha, beta); break;
            case 3: hd__sgemm_small_nn_3(N, K, A, lda, B, ldb, C, ldc, alpha, beta); break;
            default: hd__sgemm_small_nn_4(N, K, A, lda, B, ldb, C, ldc, alpha, beta); break;
            }
        } else {
            hd__sgemm_small_nt(M, N, K, A, lda, B, ldb, C, ldc, 1, alpha, beta);
        }
        return 1;
    }
    return 0;
}

/* Rows [i_lo, i_hi) x columns [j_lo, j_hi) of product b: the unpacked
 * paths where they apply (plain B only), else the blocked driver; then
 * the epilogue of what the unpacked path or the K == 0 case wrote. */
static inline void hd__sgemm_part(const hd_sgemm_op *op, int64_t b, int64_t i_lo, int64_t i_hi, int64_t j_lo,
                                  int64_t j_hi, float *scratch, int64_t nc_max)
{
    int64_t M = i_hi - i_lo, N = j_hi - j_lo;
    if (M <= 0 || N <= 0)
        return;
    float *C = op->C + b * op->sc + i_lo * op->ldc + j_lo;
    int done;
    if (op->K <= 0 || op->alpha == 0.0f) {
        hd__scale_c(M, N, C, op->ldc, op->beta);
        done = 1;
    } else if (op->packed_b) {
        done = hd__sgemm_is_gemv(op);
        if (done)
            hd__sgemv_packed(op->K, op->A + b * op->sa + (op->trans_a ? i_lo : i_lo * op->lda),
                             op->packed_b + j_lo * op->K, N, C, op->alpha, op->beta);
    } else {
        const float *A = op->A + b * op->sa + (op->trans_a ? i_lo : i_lo * op->lda);
        const float *B = op->B + b * op->sb + (op->trans_b ? j_lo * op->ldb : j_lo);
        done = hd__sgemm_front(M, N, op->K, A, op->lda, op->trans_a, B, op->ldb, op->trans_b, C, op->ldc, op->alpha,
                               op->beta);
    }
    if (!done)
        hd__sgemm_blocked(op, b, i_lo, i_hi, j_lo, j_hi, scratch, nc_max);
    else if (op->epilogue)
        op->epilogue(op->epilogue_ctx, C, op->ldc, b * op->M + i_lo, j_lo, M, N);
}

/* Every product of `op`, one after the other, on one thread. */
static inline void hd_sgemm_run(const hd_sgemm_op *op, float *scratch)
{
    int64_t batch = op->batch > 0 ? op->batch : 1;
    for (int64_t b = 0; b < batch; b++)
        hd__sgemm_part(op, b, 0, op->M, 0, op->N, scratch, HD__SGEMM_NCB);
}

static inline void hd_sgemm_ws(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, int trans_a,
                               const float *B, int64_t ldb, int trans_b, float *C, int64_t ldc, float alpha, float beta,
                               float *scratch)
{
    hd_sgemm_op op = {M, N, K, A, lda, trans_a, B, ldb, trans_b, NULL, C, ldc, alpha, beta, 1, 0, 0, 0, NULL, NULL};
    hd__sgemm_part(&op, 0, 0, M, 0, N, scratch, HD__SGEMM_NCB);
}

static inline void hd_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, int trans_a, const float *B,
                            int64_t ldb, int trans_b, float *C, int64_t ldc, float alpha, float beta)
{
    float buf[HD__SGEMM_STACK_FLOATS];
    hd_sgemm_op op = {M, N, K, A, lda, trans_a, B, ldb, trans_b, NULL, C, ldc, alpha, beta, 1, 0, 0, 0, NULL, NULL};
    hd__sgemm_part(&op, 0, 0, M, 0, N, buf, HD__SGEMM_SNCB);
}

static inline size_t hd_sgemm_packed_b_floats(int64_t K, int64_t N)
{
    if (K <= 0 || N <= 0)
        return 0;
    return (size_t)(hd__round_up64(N, HD_SGEMM_PACK_NB) * K);
}

/* Packs op(B) a panel at a time: the plain rows are copied along (long
 * runs), transposed B through the micro-kernel packer's gathers. */
static inline void hd_sgemm_pack_b(int64_t K, int64_t N, const float *B, int64_t ldb, int trans_b, float *packed)
{
    for (int64_t j0 = 0; K > 0 && j0 < N; j0 += HD_SGEMM_PACK_NB) {
        int64_t w = hd__min64(HD_SGEMM_PACK_NB, N - j0);
        float *dst = packed + j0 * K;
        if (!trans_b)
            hd__pack_copy(B + j0, ldb, w, HD_SGEMM_PACK_NB, K, dst);
        else
            hd__pack_gather(B + j0 * ldb, ldb, w, HD_SGEMM_PACK_NB, K, dst);
    }
}

/* C = alpha * op(A) * op(B) + beta * C with op(B) from hd_sgemm_pack_b.
 * Contract as hd_sgemm_ws (scratch: hd_sgemm_scratch_floats(M, N, K)
 * floats are enough), and bit-identical to it wherever hd_sgemm_ws takes
 * its packed path (always when M > 4 and N > 4); the products hd_sgemm_ws
 * runs unpacked (M <= 4 or N <= 4) agree up to rounding.  Columns c0..
 * of the product, c0 a multiple of HD_SGEMM_PACK_NB, are the product with
 * packed + c0*K: column blocks computed apart are bit-identical to the
 * whole. */
static inline void hd_sgemm_ws_pb(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, int trans_a,
                                  const float *packed_b, float *C, int64_t ldc, float alpha, float beta, float *scratch)
{
    hd_sgemm_op op = {M, N, K, A, lda, trans_a, NULL, 0, 0, packed_b, C, ldc, alpha, beta, 1, 0, 0, 0, NULL, NULL};
    hd__sgemm_part(&op, 0, 0, M, 0, N, scratch, HD__SGEMM_NCB);
}

/* Double GEMM, same contract as hd_sgemm, plain loops. */
static inline void hd_dgemm(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, int trans_a, const double *B,
                            int64_t ldb, int trans_b, double *C, int64_t ldc, double alpha, double beta)
{
    if (M <= 0 || N <= 0)
        return;
    for (int64_t i = 0; i < M; ++i) {
        double *c = C + i * ldc;
        if (beta == 0.0) {
            for (int64_t j = 0; j < N; ++j)
                c[j] = 0.0;
        } else if (beta != 1.0) {
            for (int64_t j = 0; j < N; ++j)
                c[j] *= beta;
        }
    }
    if (K <= 0 || alpha == 0.0)
        return;
    for (int64_t i = 0; i < M; ++i) {
        double *c = C + i * ldc;
        if (!trans_b) { /* rows of B are contiguous: axpy form */
            for (int64_t k = 0; k < K; ++k) {
                double a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
                const double *b = B + k * ldb;
                for (int64_t j = 0; j < N; ++j)
                    c[j] += a * b[j];
            }
        } else { /* B is N x K: dot form */
            for (int64_t j = 0; j < N; ++j) {
                const double *b = B + j * ldb;
                double s = 0.0;
                for (int64_t k = 0; k < K; ++k)
                    s += (trans_a ? A[k * lda + i] : A[i * lda + k]) * b[k];
                c[j] += alpha * s;
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 3. im2col / col2im                                                        */
/* ------------------------------------------------------------------------ */

static inline int64_t hd_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad_begin, int64_t pad_end,
                                       int64_t dilation)
{
    int64_t span = in + pad_begin + pad_end - dilation * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

/* Range [lo, hi) of output positions o with 0 <= base + o*stride < in,
 * clipped to [0, out). */
static inline void hd__valid_range(int64_t base, int64_t stride, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
    int64_t l = base >= 0 ? 0 : (-base + stride - 1) / stride;
    int64_t h = base > in - 1 ? 0 : (in - 1 - base) / stride + 1;
    if (h > out)
        h = out;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* N-D window geometry (see the contract at the top). */
#define HD_WIN_MAX_ND 8
typedef struct hd_window {
    int nd;
    int64_t in[HD_WIN_MAX_ND], out[HD_WIN_MAX_ND], k[HD_WIN_MAX_ND];
    int64_t s[HD_WIN_MAX_ND], d[HD_WIN_MAX_ND], pad[HD_WIN_MAX_ND];
} hd_window;

/* Inlined into each call, like hd_im2col_nd_f32: with S and W constants
 * the strided gathers vectorise. */
HD__ALWAYS_INLINE
static inline void hd_phase_split_f32(const float *x, int64_t rows, int64_t W, int64_t S, float *xs)
{
    if (W <= 0 || S <= 0)
        return;
    int64_t PW = (W + S - 1) / S;
    for (int64_t r = 0; r < rows; ++r, x += W) {
        for (int64_t ph = 0; ph < S; ++ph, xs += PW) {
            int64_t nj = ph < W ? (W - ph + S - 1) / S : 0; /* columns of this phase */
            for (int64_t j = 0; j < nj; ++j)
                xs[j] = x[j * S + ph];
            for (int64_t j = nj; j < PW; ++j)
                xs[j] = 0.0f;
        }
    }
}

/* Moves of W floats (a constant 4 or 8) as one vector of that width where
 * the compiler has vector extensions: a single load and store, never a
 * call. */
#if HD__GNU
#define HD__MOVE(dst, src, W)                                                                                          \
    do {                                                                                                               \
        typedef float hd__mv __attribute__((vector_size((W) * sizeof(float))));                                        \
        hd__mv hd__t;                                                                                                  \
        memcpy(&hd__t, (src), sizeof hd__t);                                                                           \
        memcpy((dst), &hd__t, sizeof hd__t);                                                                           \
    } while (0)
/* Whether the compiler knows x at this point (after inlining and
 * unrolling), so a loop over it can be unrolled instead of hidden. */
#define HD__KNOWN(x) __builtin_constant_p(x)
#else
#define HD__MOVE(dst, src, W) memcpy((dst), (src), (W) * sizeof(float))
#define HD__KNOWN(x)          0
#endif

/* dst[0, lo) = 0 for a short head (lo <= 4): guarded scalar stores, which
 * fold to exactly lo stores when lo is known. */
#define HD__ZERO_HEAD4(dst, lo)                                                                                        \
    do {                                                                                                               \
        if ((lo) > 0)                                                                                                  \
            (dst)[0] = 0.0f;                                                                                           \
        if ((lo) > 1)                                                                                                  \
            (dst)[1] = 0.0f;                                                                                           \
        if ((lo) > 2)                                                                                                  \
            (dst)[2] = 0.0f;                                                                                           \
        if ((lo) > 3)                                                                                                  \
            (dst)[3] = 0.0f;                                                                                           \
    } while (0)

/* Row r of nr rows (r = 0 .. nr-1): dst[r*n + q] = src[r*sstep + q - lo]
 * for q in [lo, hi), 0 for the rest of [0, n); 0 <= lo < hi <= n.
 * Rows are short (tens of floats) and lo, hi and n are usually constants
 * once the caller is inlined and its taps unrolled, so every test here
 * folds and a row becomes a few vector moves, as hand-written code would.
 * The copy is whole vectors, the last one overlapping; short zero heads
 * and tails are scalar stores after the copy, longer ones vector stores
 * before it (the copy rewrites any overlap).  A loop whose count is not
 * known has an opaque index, so it never becomes a memset/memcpy call or
 * `rep movs`, which cost more than the work on such rows. */
static inline void hd__rows_window(float *dst, int64_t n, int64_t nr, const float *src, int64_t sstep, int64_t lo,
                                   int64_t hi)
{
    const int64_t m = hi - lo, tl = n - hi;
    const hd_vf z = hd_vf_splat(0.0f);
    for (int64_t r = 0; r < nr; ++r, dst += n, src += sstep) {
        float *d = dst + lo;
        if (lo > 4 || tl > 4) { /* long zero runs, before the copy */
            if (n >= HD_VF) {
                for (int64_t q = 0; lo > 4 && q < lo; q += HD_VF)
                    hd_vf_store(dst + hd__min64(q, n - HD_VF), z);
                for (int64_t q = hi; tl > 4 && q < n; q += HD_VF)
                    hd_vf_store(dst + hd__min64(q, n - HD_VF), z);
            } else {
                for (int64_t q = 0; q < n; ++q) {
                    HD__OPAQUE(q);
                    dst[q] = 0.0f;
                }
            }
        }
        if (m >= HD_VF) {
            int64_t q = 0;
            if (HD__KNOWN(m)) {
                for (; q + HD_VF <= m; q += HD_VF)
                    hd_vf_store(d + q, hd_vf_load(src + q));
            } else {
                for (; q + HD_VF <= m; q += HD_VF) {
                    HD__OPAQUE(q);
                    hd_vf_store(d + q, hd_vf_load(src + q));
                }
            }
            if (q < m)
                hd_vf_store(d + m - HD_VF, hd_vf_load(src + m - HD_VF));
        } else if (HD_VF > 8 && m >= 8) { /* rows narrower than a vector */
            HD__MOVE(d, src, 8);
            HD__MOVE(d + m - 8, src + m - 8, 8);
        } else if (HD_VF > 4 && m >= 4) {
            HD__MOVE(d, src, 4);
            HD__MOVE(d + m - 4, src + m - 4, 4);
        } else {
            for (int64_t q = 0; q < m; ++q) {
                HD__OPAQUE(q);
                d[q] = src[q];
            }
        }
        if (lo <= 4)
            HD__ZERO_HEAD4(dst, lo);
        if (tl <= 4)
            HD__ZERO_HEAD4(dst + hi, tl);
    }
}
#undef HD__MOVE
#undef HD__KNOWN
#undef HD__ZERO_HEAD4

/* dst[0, n) = 0 in vector stores (the last one overlapping): the runs
 * im2col clears are a few rows, too short to pay for a memset call. */
static inline void hd__zero_run(float *dst, int64_t n)
{
    const hd_vf z = hd_vf_splat(0.0f);
    if (n < HD_VF) {
        for (int64_t q = 0; q < n; ++q) {
            HD__OPAQUE(q);
            dst[q] = 0.0f;
        }
        return;
    }
    for (int64_t q = 0; q + HD_VF < n; q += HD_VF) {
        HD__OPAQUE(q);
        hd_vf_store(dst + q, z);
    }
    hd_vf_store(dst + n - HD_VF, z);
}

/* Advances the odometer idx[0..n) over dims lim[0..n) (last fastest). */
static inline void hd__odometer(int64_t *idx, const int64_t *lim, int n)
{
    for (int i = n - 1; i >= 0; --i) {
        if (++idx[i] < lim[i])
            return;
        idx[i] = 0;
    }
}

/* The geometry both N-D routines walk.  Grid rows (all grid dims but the
 * last) form blocks: the rows of the innermost such dim under one index of
 * the dims outside it.  g[i] is the grid extent of dim i (for dim 0 the
 * chunk's nr rows from r0), istr[i] the image floats between rows one
 * apart along dim i (row width rw). */
typedef struct hd__nd_walk {
    int nd, L, M; /* dims, grid row dims (nd - 1), innermost of them (L - 1) */
    int64_t KP, nt, nblk, irows;
    int64_t g[HD_WIN_MAX_ND], istr[HD_WIN_MAX_ND];
} hd__nd_walk;

/* Fills *k for window w, a chunk of nr grid indices along dim 0 (nd >= 2)
 * and image row width rw; 0 when there is nothing to do. */
static inline int hd__nd_walk_init(hd__nd_walk *k, const hd_window *w, int64_t nr, int64_t rw)
{
    int nd = w->nd, L = nd - 1;
    if (nd < 1 || nd > HD_WIN_MAX_ND || nr <= 0)
        return 0;
    k->nd = nd;
    k->L = L;
    k->M = L - 1;
    k->KP = 1;
    for (int i = 0; i < nd; ++i)
        k->KP *= w->k[i];
    int64_t rows = 1, st = rw;
    for (int i = L - 1; i >= 0; --i) {
        k->g[i] = i == 0 ? nr : w->out[i];
        k->istr[i] = st;
        st *= w->in[i];
        rows *= k->g[i];
    }
    k->irows = st / (rw > 0 ? rw : 1);
    k->nt = rows * w->out[L];
    k->nblk = L > 0 ? rows / (k->g[L - 1] > 0 ? k->g[L - 1] : 1) : 1;
    return k->nt > 0 && k->KP > 0;
}

/* Per tap t: for each grid row dim i, the image coordinate org[i] of the
 * chunk's first grid index and the range [vlo[i], vhi[i]) of grid indices
 * that land inside the image. */
static inline void hd__nd_tap_rows(const hd__nd_walk *k, const hd_window *w, const int64_t *t, int64_t r0, int64_t *org,
                                   int64_t *vlo, int64_t *vhi)
{
    for (int i = 0; i < k->L; ++i) {
        org[i] = (i == 0 ? r0 : 0) * w->s[i] - w->pad[i] + t[i] * w->d[i];
        hd__valid_range(org[i], w->s[i], w->in[i], k->g[i], &vlo[i], &vhi[i]);
    }
}

/* Image offset (in floats, before the row's column offset) of block p's
 * rows, or -1 when some outer index of p lies in the padding. */
static inline int64_t hd__nd_block_at(const hd__nd_walk *k, const hd_window *w, const int64_t *p, const int64_t *org,
                                      const int64_t *vlo, const int64_t *vhi)
{
    int64_t at = 0;
    for (int i = 0; i < k->M; ++i) {
        if (p[i] < vlo[i] || p[i] >= vhi[i])
            return -1;
        at += (org[i] + p[i] * w->s[i]) * k->istr[i];
    }
    return at;
}

/* Inlined into each call: the generated code passes a constant window, so
 * the compiler specialises the loops (the last dim's taps unroll, their
 * column ranges become constants), as it would hand-written code. */
HD__ALWAYS_INLINE
static inline void hd_im2col_nd_f32(const float *x, int64_t C, const hd_window *w, int64_t r0, int64_t nr, float *col)
{
    hd__nd_walk k;
    const int L = w->nd - 1;
    const int64_t IL = w->in[L], OL = w->out[L], SL = w->s[L], KL = w->k[L];
    const int64_t PW = SL > 0 ? (IL + SL - 1) / SL : 0, rw = SL > 1 ? SL * PW : IL; /* row width in x */
    if (!hd__nd_walk_init(&k, w, nr, rw))
        return;
    const int M = k.M;
    const int64_t blk = M >= 0 ? k.g[M] * OL : OL; /* floats of one block */
    const int64_t step = M >= 0 ? w->s[M] * k.istr[M] : 0;
    for (int64_t c = 0; c < C; ++c) {
        const float *xc = x + c * k.irows * rw;
        float *crow = col + c * k.KP * k.nt;
        /* taps of the row dims (t), then of the last dim (tl) */
        int64_t t[HD_WIN_MAX_ND] = {0};
        for (int64_t kk = 0; kk < k.KP / KL; ++kk, hd__odometer(t, w->k, L)) {
            int64_t org[HD_WIN_MAX_ND], vlo[HD_WIN_MAX_ND], vhi[HD_WIN_MAX_ND];
            hd__nd_tap_rows(&k, w, t, r0, org, vlo, vhi);
            HD__UNROLL8
            for (int64_t tl = 0; tl < KL; ++tl, crow += k.nt) {
                int64_t off = tl * w->d[L] - w->pad[L], lo, hi, at = off;
                hd__valid_range(off, SL, IL, OL, &lo, &hi);
                if (lo >= hi) { /* the tap reads only padding */
                    hd__zero_run(crow, k.nt);
                    continue;
                }
                if (SL > 1) { /* column off + q*SL sits in phase ph at off/SL + q */
                    int64_t ph = ((off % SL) + SL) % SL;
                    at = ph * PW + (off - ph) / SL;
                }
                if (M < 0) {
                    hd__rows_window(crow, OL, 1, xc + at + lo, 0, lo, hi);
                    continue;
                }
                int64_t p[HD_WIN_MAX_ND] = {0};
                float *dst = crow;
                for (int64_t b = 0; b < k.nblk; ++b, dst += blk, hd__odometer(p, k.g, M)) {
                    int64_t base = hd__nd_block_at(&k, w, p, org, vlo, vhi);
                    if (base < 0 || vlo[M] >= vhi[M]) {
                        hd__zero_run(dst, blk);
                        continue;
                    }
                    /* rows above and below the image are zero, the rest copy */
                    if (vlo[M] > 0)
                        hd__zero_run(dst, vlo[M] * OL);
                    if (vhi[M] < k.g[M])
                        hd__zero_run(dst + vhi[M] * OL, (k.g[M] - vhi[M]) * OL);
                    const float *src = xc + base + (org[M] + vlo[M] * w->s[M]) * k.istr[M] + at + lo;
                    hd__rows_window(dst + vlo[M] * OL, OL, vhi[M] - vlo[M], src, step, lo, hi);
                }
            }
        }
    }
}

/* im2col straight into the pre-packed B layout (hd_sgemm_pack_b's panels
 * of HD_SGEMM_PACK_NB columns), so a convolution's GEMM reads its column
 * matrix as packed B and never packs it: the copy the packer would make
 * is the one im2col makes anyway.  Channel c of the C given writes rows
 * k0 + c*KP .. of a KD-row packed matrix (KP = prod(k)), columns as
 * hd_im2col_nd_f32's (the chunk r0, nr); columns from nt up to the next
 * panel boundary are zero.  The rows are built a few grid rows at a time
 * by hd_im2col_nd_f32 into a buffer on the stack that stays in L1, then
 * cut into panel rows.  Needs KP * prod(out[1..]) <=
 * HD_IM2COL_PACK_FLOATS (KP * out[0] for nd == 1, which takes the whole
 * grid); hd_im2col_pack_fits says so, and nothing is written otherwise. */
#define HD_IM2COL_PACK_FLOATS 8192

static inline int hd_im2col_pack_fits(const hd_window *w)
{
    if (w->nd < 1 || w->nd > HD_WIN_MAX_ND)
        return 0;
    int64_t n = 1;
    for (int i = 0; i < w->nd; ++i) {
        if (w->k[i] <= 0 || w->out[i] < 0 || w->k[i] > HD_IM2COL_PACK_FLOATS)
            return 0;
        n *= w->k[i];
        if (n > HD_IM2COL_PACK_FLOATS)
            return 0;
    }
    for (int i = w->nd > 1 ? 1 : 0; i < w->nd; ++i) {
        if (w->out[i] > HD_IM2COL_PACK_FLOATS)
            return 0;
        n *= w->out[i];
        if (n > HD_IM2COL_PACK_FLOATS)
            return 0;
    }
    return 1;
}

/* Grid rows (along dim 0; nd == 1: the whole grid, 1) that
 * hd_im2col_pack_f32 builds per pass for a chunk of nr rows: as many as
 * the buffer holds, cut to a multiple of the rows that make whole panels
 * where it holds that many, so every pass but the first starts on a panel
 * boundary (one that does not copies its first panel's columns one by
 * one); nr when the chunk fits at once (0 when the window does not fit). */
static inline int64_t hd_im2col_pack_rows(const hd_window *w, int64_t nr)
{
    if (!hd_im2col_pack_fits(w) || nr <= 0)
        return 0;
    if (w->nd == 1)
        return 1;
    int64_t KP = 1, inner = 1;
    for (int i = 0; i < w->nd; ++i)
        KP *= w->k[i];
    for (int i = 1; i < w->nd; ++i)
        inner *= w->out[i];
    if (inner <= 0)
        return nr;
    int64_t step = HD_IM2COL_PACK_FLOATS / (KP * inner), g = inner, h = HD_SGEMM_PACK_NB;
    while (h) { /* g = gcd(inner, PNB) */
        int64_t t = g % h;
        g = h;
        h = t;
    }
    if (step < nr && step >= HD_SGEMM_PACK_NB / g)
        step = step / (HD_SGEMM_PACK_NB / g) * (HD_SGEMM_PACK_NB / g);
    return step < nr ? step : nr;
}

/* Columns q0 .. q0+n-1 of `nk` rows of the packed matrix from src (row kr
 * at src + kr*n): column q of row kr sits at
 * row0[kr*PNB + (q / PNB) * pstride + q % PNB].  A panel at a time, its
 * rows one after the other, so the stores run along memory: row by row
 * they would hop a panel (often a multiple of 4 KiB) per store.  A last
 * panel the run only begins is copied whole from src (which must hold PNB
 * readable floats past its end): the columns past the run are written
 * again by the caller's next run or its zero tail. */
static inline void hd__pack_rows(const float *src, int64_t nk, int64_t n, int64_t q0, float *row0, int64_t pstride)
{
    const int64_t P = HD_SGEMM_PACK_NB, e = q0 + n;
    int64_t q = q0;
    if (q % P) { /* the head, from inside a panel to its end */
        int64_t m = hd__min64(P - q % P, n);
        float *d = row0 + q / P * pstride + q % P;
        for (int64_t kr = 0; kr < nk; ++kr)
            for (int64_t l = 0; l < m; ++l) {
                HD__OPAQUE(l);
                d[kr * P + l] = src[kr * n + l];
            }
        q += m;
    }
    float *d = row0 + q / P * pstride;
    for (; q < e; q += P, d += pstride) {
        const float *s = src + (q - q0);
        for (int64_t kr = 0; kr < nk; ++kr)
            for (int64_t l = 0; l < P; l += HD_VF)
                hd_vf_store(d + kr * P + l, hd_vf_load(s + kr * n + l));
    }
}

HD__ALWAYS_INLINE
static inline void hd_im2col_pack_f32(const float *x, int64_t C, const hd_window *w, int64_t r0, int64_t nr, int64_t KD,
                                      int64_t k0, float *packed)
{
    const int L = w->nd - 1;
    const int64_t P = HD_SGEMM_PACK_NB, SL = w->s[L], PW = SL > 0 ? (w->in[L] + SL - 1) / SL : 0;
    const int64_t rw = SL > 1 ? SL * PW : w->in[L]; /* row width in x */
    if (C <= 0 || nr <= 0 || !hd_im2col_pack_fits(w))
        return;
    int64_t KP = 1, inner = 1, irows = 1;
    for (int i = 0; i < w->nd; ++i)
        KP *= w->k[i];
    for (int i = 1; i < w->nd; ++i)
        inner *= w->out[i];
    for (int i = 0; i < L; ++i)
        irows *= w->in[i];
    if (L == 0) { /* the whole grid, one chunk */
        inner = w->out[0];
        nr = 1;
        r0 = 0;
    }
    const int64_t nt = nr * inner, pstride = P * KD;
    if (nt <= 0)
        return;
    const int64_t step = hd_im2col_pack_rows(w, nr);
    const int64_t cb = step >= nr ? HD_IM2COL_PACK_FLOATS / (KP * nt) : 1; /* channels per pass */
    float tmp[HD_IM2COL_PACK_FLOATS + HD_SGEMM_PACK_NB];
    for (int64_t c = 0; c < C; c += cb) {
        const int64_t nc = hd__min64(cb, C - c);
        const float *xc = x + c * irows * rw;
        float *rows = packed + (k0 + c * KP) * P;
        for (int64_t r = 0; r < nr; r += step) {
            const int64_t m = hd__min64(step, nr - r), len = m * inner;
            hd_im2col_nd_f32(xc, nc, w, r0 + r, m, tmp);
            for (int64_t l = 0; l < P; ++l) /* read by the copy of a last panel */
                tmp[nc * KP * len + l] = 0.0f;
            hd__pack_rows(tmp, nc * KP, len, r * inner, rows, pstride);
        }
        if (nt % P) /* the last panel's columns past nt */
            for (int64_t kr = 0; kr < nc * KP; ++kr) {
                float *d = rows + kr * P + nt / P * pstride;
                for (int64_t l = nt % P; l < P; ++l) {
                    HD__OPAQUE(l);
                    d[l] = 0.0f;
                }
            }
    }
}

static inline void hd_col2im_acc_nd_f32(const float *col, int64_t C, const hd_window *w, float *x)
{
    hd__nd_walk k;
    int64_t L = w->nd - 1, IL = w->in[L], OL = w->out[L], SL = w->s[L];
    if (!hd__nd_walk_init(&k, w, L > 0 ? w->out[0] : 1, IL))
        return;
    const int M = k.M;
    const int64_t blk = M >= 0 ? k.g[M] * OL : OL;
    for (int64_t c = 0; c < C; ++c) {
        float *xc = x + c * k.irows * IL;
        int64_t t[HD_WIN_MAX_ND] = {0};
        for (int64_t kk = 0; kk < k.KP; ++kk, hd__odometer(t, w->k, k.nd)) {
            const float *crow = col + (c * k.KP + kk) * k.nt;
            int64_t off = t[L] * w->d[L] - w->pad[L], lo, hi;
            hd__valid_range(off, SL, IL, OL, &lo, &hi);
            if (lo >= hi)
                continue;
            /* grid column q lands on image column off + q*SL */
            if (M < 0) {
                float *dst = xc + off + lo * SL;
                for (int64_t q = 0; q < hi - lo; ++q)
                    dst[q * SL] += crow[lo + q];
                continue;
            }
            int64_t org[HD_WIN_MAX_ND], vlo[HD_WIN_MAX_ND], vhi[HD_WIN_MAX_ND], p[HD_WIN_MAX_ND] = {0};
            hd__nd_tap_rows(&k, w, t, 0, org, vlo, vhi);
            const int64_t step = w->s[M] * k.istr[M];
            const float *src = crow;
            for (int64_t b = 0; b < k.nblk; ++b, src += blk, hd__odometer(p, k.g, M)) {
                int64_t base = hd__nd_block_at(&k, w, p, org, vlo, vhi);
                if (base < 0 || vlo[M] >= vhi[M])
                    continue;
                float *dst = xc + base + (org[M] + vlo[M] * w->s[M]) * k.istr[M] + off + lo * SL;
                for (int64_t o = vlo[M]; o < vhi[M]; ++o, dst += step) {
                    const float *sr = src + o * OL + lo;
                    for (int64_t q = 0; q < hi - lo; ++q)
                        dst[q * SL] += sr[q];
                }
            }
        }
    }
}

/* 3c. Weight gradient of a convolution (sums over the batch): see the
 *    contract at the top. */
#define HD_CONV_DW_CHUNKS     8         /* batch chunks: partial sums summed in a fixed order */
#define HD_CONV_DW_COL_FLOATS (1 << 17) /* a chunk of im2col columns stays in L2 */
typedef struct hd_conv_dw {
    const float *x;  /* [N, G*Cg, in...], the long side */
    const float *dy; /* [N, G*Mg, out...], the short side */
    float *dw;       /* [G*Mg, Cg*prod(k)] */
    float *partial;  /* (hd_conv_dw_chunks - 1) * G*Mg*Cg*prod(k) floats; NULL when that is 0 */
    int64_t N, G, Cg, Mg;
    hd_window win; /* the forward window, long side to short */
} hd_conv_dw;

static inline int64_t hd_conv_dw_chunks(int64_t N) { return N < 1 ? 1 : N < HD_CONV_DW_CHUNKS ? N : HD_CONV_DW_CHUNKS; }

/* Grid rows (of out[0]; 1-D: the whole grid as one row) im2col'd at a time,
 * and the grid positions in one row. */
static inline int64_t hd__conv_dw_inner(const hd_window *w)
{
    int64_t p = 1;
    for (int i = w->nd >= 2 ? 1 : 0; i < w->nd; i++)
        p *= w->out[i];
    return p;
}

static inline int64_t hd_conv_dw_rows(const hd_window *w, int64_t Cg)
{
    int64_t KP = 1, O0 = w->nd >= 2 ? w->out[0] : 1;
    for (int i = 0; i < w->nd; i++)
        KP *= w->k[i];
    int64_t per = Cg * KP * hd__conv_dw_inner(w), r = per > 0 ? HD_CONV_DW_COL_FLOATS / per : O0;
    return r < 1 ? 1 : r < O0 ? r : O0;
}

/* Floats of one worker's scratch: the phase-split image (strided last dim),
 * a chunk of columns and the GEMM's buffers; `gemm` is
 * hd_sgemm_scratch_floats or, for a code generator, _max. */
static inline int64_t hd_conv_dw_worker_floats(const hd_window *w, int64_t Cg, int64_t Mg,
                                               size_t (*gemm)(int64_t, int64_t, int64_t))
{
    const int L = w->nd - 1;
    int64_t KP = 1, rows = 1, SL = w->s[L];
    for (int i = 0; i < w->nd; i++)
        KP *= w->k[i];
    for (int i = 0; i < L; i++)
        rows *= w->in[i];
    int64_t xs = SL > 1 ? Cg * rows * SL * ((w->in[L] + SL - 1) / SL) : 0;
    int64_t nt = hd_conv_dw_rows(w, Cg) * hd__conv_dw_inner(w);
    return (xs + 15) / 16 * 16 + (Cg * KP * nt + 15) / 16 * 16 + (int64_t)gemm(Mg, Cg * KP, nt);
}

static inline void hd_im2col_f32(const float *x, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                                 int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                 int64_t pad_bottom, int64_t pad_right, int64_t dil_h, int64_t dil_w, float *col)
{
    int64_t OH = hd_conv_out_size(H, kh, stride_h, pad_top, pad_bottom, dil_h);
    int64_t OW = hd_conv_out_size(W, kw, stride_w, pad_left, pad_right, dil_w);
    if (OH <= 0 || OW <= 0)
        return;
    for (int64_t c = 0; c < C; ++c) {
        for (int64_t ki = 0; ki < kh; ++ki) {
            for (int64_t kj = 0; kj < kw; ++kj) {
                float *dst = col + ((c * kh + ki) * kw + kj) * OH * OW;
                int64_t wbase = kj * dil_w - pad_left, wlo, whi;
                hd__valid_range(wbase, stride_w, W, OW, &wlo, &whi);
                for (int64_t oh = 0; oh < OH; ++oh, dst += OW) {
                    int64_t ih = oh * stride_h - pad_top + ki * dil_h;
                    if (ih < 0 || ih >= H || whi == wlo) {
                        memset(dst, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    const float *src = x + (c * H + ih) * W + wbase;
                    for (int64_t ow = 0; ow < wlo; ++ow)
                        dst[ow] = 0.0f;
                    if (stride_w == 1) {
                        memcpy(dst + wlo, src + wlo, (size_t)(whi - wlo) * sizeof(float));
                    } else {
                        for (int64_t ow = wlo; ow < whi; ++ow)
                            dst[ow] = src[ow * stride_w];
                    }
                    for (int64_t ow = whi; ow < OW; ++ow)
                        dst[ow] = 0.0f;
                }
            }
        }
    }
}

/* col2im over an explicit OH x OW column grid, adding into x (x is not
 * cleared first): ConvTranspose scatters onto an output that already holds
 * its bias, and its input grid is given rather than derived from pads. */
static inline void hd_col2im_acc_f32(const float *col, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                     int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w, int64_t pad_top,
                                     int64_t pad_left, int64_t dil_h, int64_t dil_w, float *x)
{
    const hd_window w = {.nd = 2,
                         .in = {H, W},
                         .out = {OH, OW},
                         .k = {kh, kw},
                         .s = {stride_h, stride_w},
                         .d = {dil_h, dil_w},
                         .pad = {pad_top, pad_left}};
    hd_col2im_acc_nd_f32(col, C, &w, x);
}

static inline void hd_col2im_f32(const float *col, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                                 int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                                 int64_t pad_bottom, int64_t pad_right, int64_t dil_h, int64_t dil_w, float *x)
{
    int64_t OH = hd_conv_out_size(H, kh, stride_h, pad_top, pad_bottom, dil_h);
    int64_t OW = hd_conv_out_size(W, kw, stride_w, pad_left, pad_right, dil_w);
    if (C > 0 && H > 0 && W > 0)
        memset(x, 0, (size_t)(C * H * W) * sizeof(float));
    hd_col2im_acc_f32(col, C, H, W, OH, OW, kh, kw, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w, x);
}

/* ------------------------------------------------------------------------ */
/* 3b. Direct convolution on channel-blocked tensors                         */
/* ------------------------------------------------------------------------ */
/* A channel-blocked image holds HD_CB channels per block, innermost:
 * x[n][cb][h][w][HD_CB] for channel cb*HD_CB + l.  Weights are
 * w[mb][cb][kh][kw][HD_CB in][HD_CB out].  HD_CB is the same on every
 * target (a build packs weights without knowing the ISA); a block is
 * HD_CB / HD_VF vectors.
 *
 * The dense kernel broadcasts one input value at a time against the weight
 * vectors of HD_CB_NOB output blocks and accumulates HD_CB_OWB output
 * positions in registers: per input channel and tap, NOB*V weight loads
 * and OWB broadcasts feed OWB*NOB*V FMAs, with no im2col and no packing.
 * Where the window leaves the image it reads a zero-bordered copy, so all
 * positions run the same loops.  The depthwise kernel (further down)
 * clips its taps instead. */
#define HD_CB    16
#define HD__CB_V (HD_CB / HD_VF)
/* The micro-kernels keep their accumulators in registers only once their
 * loops over positions and blocks are unrolled, which gcc does at -O3 alone:
 * the blocked convolution's functions ask for it whatever the model's -O. */
#if defined(__GNUC__) && !defined(__clang__)
#define HD__CB_FN __attribute__((optimize("O3", "fp-contract=fast")))
#define HD__CB_FULL
#elif defined(__clang__)
#define HD__CB_FN   HD__CONTRACT_FN
#define HD__CB_FULL _Pragma("clang loop unroll(full)")
#else
#define HD__CB_FN HD__CONTRACT_FN
#define HD__CB_FULL
#endif
#if HD_VECTOR_BYTES == 64
#define HD_CB_NOB 2 /* 28 of 32 zmm accumulate */
#define HD_CB_OWB 14
#elif HD_VECTOR_BYTES == 32 || (HD_VECTOR_BYTES == 16 && (defined(__aarch64__) || defined(__ARM_NEON)))
#define HD_CB_NOB 1 /* AVX2: 12 of 16 ymm; NEON: 24 of 32 */
#define HD_CB_OWB 6
#elif HD_VECTOR_BYTES == 16
#define HD_CB_NOB 1
#define HD_CB_OWB 3
#else
#define HD_CB_NOB 1
#define HD_CB_OWB 4
#endif

typedef struct hd_conv_blocked {
    int64_t N, Cb, H, W; /* input: N images of Cb blocks of H x W */
    int64_t Mb, OH, OW;  /* output: Mb blocks of OH x OW */
    int64_t KH, KW, SH, SW, PT, PL, DH, DW;
    /* depthwise: one filter per channel (Mb == Cb), w [Cb][KH][KW][HD_CB] */
    int depthwise;
    /* plain: x is NCHW, [N][Cb][H][W] with Cb its channel count (blocks of
     * one channel), w [Mb][Cb][KH][KW][HD_CB out]: a 3-channel image's
     * convolution, which padding to HD_CB channels would make 5x the work */
    int plain;
    const float *x, *w, *bias; /* bias: Mb*HD_CB floats, or NULL */
    float *y;
    /* run on every finished output row: y viewed as [N*Mb][OH*OW*HD_CB],
     * rows i0..i0+mr-1 (blocks), columns j0..j0+nr-1 (a row's positions
     * times HD_CB) */
    hd_tile_fn epilogue;
    void *epilogue_ctx;
} hd_conv_blocked;

/* The padded image a convolution with padding reads instead of x: HP rows
 * of WP positions per block, zeros around the image, so every output
 * position runs the same loops (taps past the right and bottom edges read
 * zeros too). */
static inline int64_t hd__cb_wp(const hd_conv_blocked *cv)
{
    int64_t need = (cv->OW - 1) * cv->SW + (cv->KW - 1) * cv->DW + 1;
    return need > cv->W + cv->PL ? need : cv->W + cv->PL;
}

static inline int64_t hd__cb_hp(const hd_conv_blocked *cv)
{
    int64_t need = (cv->OH - 1) * cv->SH + (cv->KH - 1) * cv->DH + 1;
    return need > cv->H + cv->PT ? need : cv->H + cv->PT;
}

/* Whether the image is read in place: no padding anywhere, or depthwise
 * (whose kernel clips its taps instead). */
static inline int hd__cb_in_place(const hd_conv_blocked *cv)
{
    return cv->depthwise || (cv->PT == 0 && cv->PL == 0 && hd__cb_hp(cv) <= cv->H && hd__cb_wp(cv) <= cv->W);
}

/* Channels per input block: HD_CB, or 1 for a plain input. */
static inline int64_t hd__cb_ci(const hd_conv_blocked *cv) { return cv->plain ? 1 : HD_CB; }

/* Floats of the padded copy of one image (0 when read in place). */
static inline size_t hd_conv_blocked_scratch_floats(const hd_conv_blocked *cv)
{
    return hd__cb_in_place(cv) ? 0 : (size_t)(cv->Cb * hd__cb_hp(cv) * hd__cb_wp(cv) * hd__cb_ci(cv));
}

/* Blocks [cb_lo, cb_hi) of image n into the padded copy xp. */
static inline void hd_conv_blocked_pad(const hd_conv_blocked *cv, int64_t n, int64_t cb_lo, int64_t cb_hi, float *xp)
{
    const int64_t hp = hd__cb_hp(cv), wp = hd__cb_wp(cv), ci = hd__cb_ci(cv), row = cv->W * ci;
    for (int64_t cb = cb_lo; cb < cb_hi; cb++) {
        float *d = xp + cb * hp * wp * ci;
        const float *s = cv->x + ((n * cv->Cb + cb) * cv->H) * row;
        memset(d, 0, (size_t)(cv->PT * wp * ci) * sizeof(float));
        for (int64_t ih = 0; ih < cv->H; ih++) {
            float *dr = d + (cv->PT + ih) * wp * ci;
            memset(dr, 0, (size_t)(cv->PL * ci) * sizeof(float));
            memcpy(dr + cv->PL * ci, s + ih * row, (size_t)row * sizeof(float));
            memset(dr + cv->PL * ci + row, 0, (size_t)((wp - cv->PL - cv->W) * ci) * sizeof(float));
        }
        memset(d + (cv->PT + cv->H) * wp * ci, 0, (size_t)((hp - cv->PT - cv->H) * wp * ci) * sizeof(float));
    }
}

/* Lines of the next group's weights to prefetch: `per` lines from `at` on
 * at every (input block, tap row) step of a micro-kernel call. */
typedef struct hd__cb_pf {
    const char *at;
    int64_t per;
} hd__cb_pf;

/* owb output positions: x at the first one's tap (0, 0) of block 0, xs_c
 * and xs_h floats between blocks and tap rows, ci channels per block; nob
 * blocks of weights from w into y.  Positions from `split` on lie x2 and
 * y2 floats further on (the next output row: narrow rows run two at a
 * time, so the weights loaded for an input channel feed as many FMAs as a
 * wide row's).  nob, owb, split and ci are literals at every call, so the
 * accumulators live in registers. */
HD__CB_FN HD__SG_FN static inline HD__ALWAYS_INLINE void
hd__cb_uk(const hd_conv_blocked *cv, hd__cb_pf *pf, const float *restrict x, int64_t xs_c, int64_t xs_h,
          const float *restrict w, const float *restrict bias, float *restrict y, const int nob, const int owb,
          int64_t x2, int64_t y2, const int split, const int ci)
{
    HD__CONTRACT_BODY
    hd_vf acc[HD_CB_NOB * HD__CB_V][HD_CB_OWB];
    const int64_t xs_j = cv->SW * ci, xs_q = cv->DW * ci, KH = cv->KH, KW = cv->KW;
    const int64_t ws_o = cv->Cb * KH * KW * ci * HD_CB, ys_o = cv->OH * cv->OW * HD_CB;
    HD__CB_FULL for (int o = 0; o < nob * HD__CB_V; o++)
    {
        hd_vf b = {0};
        if (bias)
            memcpy(&b, bias + o * HD_VF, sizeof b);
        HD__CB_FULL for (int j = 0; j < owb; j++) acc[o][j] = b;
    }
    const char *pf_at = pf->at;
    const int64_t pf_per = pf->per;
    for (int64_t cb = 0; cb < cv->Cb; cb++)
        for (int64_t r = 0; r < KH; r++) {
            for (int64_t l = 0; l < pf_per; l++, pf_at += 64)
                HD__SG_PREFL2(pf_at);
            const float *xr = x + cb * xs_c + r * xs_h;
            const float *wr = w + (cb * KH + r) * KW * ci * HD_CB;
            for (int64_t q = 0; q < KW; q++) {
                const float *xp = xr + q * xs_q, *wp = wr + q * ci * HD_CB;
                _Pragma("GCC unroll 4") for (int c = 0; c < ci; c++)
                {
                    hd_vf wv[HD_CB_NOB * HD__CB_V];
                    HD__CB_FULL for (int o = 0; o < nob; o++) HD__CB_FULL for (int v = 0; v < HD__CB_V; v++)
                        memcpy(&wv[o * HD__CB_V + v], wp + o * ws_o + c * HD_CB + v * HD_VF, sizeof(hd_vf));
                    HD__CB_FULL for (int j = 0; j < owb; j++)
                    {
                        const hd_vf s = HD__VSPLAT(j < split ? xp[j * xs_j + c] : xp[x2 + (j - split) * xs_j + c]);
                        HD__CB_FULL for (int o = 0; o < nob * HD__CB_V; o++) acc[o][j] += s * wv[o];
                    }
                }
            }
        }
    HD__CB_FULL for (int o = 0; o < nob; o++) HD__CB_FULL for (int v = 0; v < HD__CB_V; v++)
        HD__CB_FULL for (int j = 0; j < owb; j++)
            memcpy(y + o * ys_o + (j < split ? j * HD_CB : y2 + (j - split) * HD_CB) + v * HD_VF,
                   &acc[o * HD__CB_V + v][j], sizeof(hd_vf));
    pf->at = pf_at;
}

/* owb <= HD_CB_OWB positions through the variant compiled for owb. */
HD__CB_FN HD__SG_FN static inline void hd__cb_span(const hd_conv_blocked *cv, hd__cb_pf *pf, const float *x,
                                                   int64_t xs_c, int64_t xs_h, const float *w, const float *bias,
                                                   float *y, int nob, int owb)
{
    HD__CONTRACT_BODY
    if (nob == HD_CB_NOB) {
        switch (owb) {
#if HD_CB_OWB > 1
        case 1: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 1, 0, 0, 1, HD_CB); break;
#endif
#if HD_CB_OWB > 2
        case 2: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 2, 0, 0, 2, HD_CB); break;
#endif
#if HD_CB_OWB > 3
        case 3: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 3, 0, 0, 3, HD_CB); break;
#endif
#if HD_CB_OWB > 4
        case 4: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 4, 0, 0, 4, HD_CB); break;
#endif
#if HD_CB_OWB > 5
        case 5: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 5, 0, 0, 5, HD_CB); break;
#endif
#if HD_CB_OWB > 6
        case 6: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 6, 0, 0, 6, HD_CB); break;
#endif
#if HD_CB_OWB > 7
        case 7: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 7, 0, 0, 7, HD_CB); break;
#endif
#if HD_CB_OWB > 8
        case 8: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 8, 0, 0, 8, HD_CB); break;
#endif
#if HD_CB_OWB > 9
        case 9: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 9, 0, 0, 9, HD_CB); break;
#endif
#if HD_CB_OWB > 10
        case 10: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 10, 0, 0, 10, HD_CB); break;
#endif
#if HD_CB_OWB > 11
        case 11: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 11, 0, 0, 11, HD_CB); break;
#endif
#if HD_CB_OWB > 12
        case 12: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 12, 0, 0, 12, HD_CB); break;
#endif
#if HD_CB_OWB > 13
        case 13: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, 13, 0, 0, 13, HD_CB); break;
#endif
        default: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, HD_CB_NOB, HD_CB_OWB, 0, 0, HD_CB_OWB, HD_CB); break;
        }
    } else {
        switch (owb) {
#if HD_CB_OWB > 1
        case 1: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 1, 0, 0, 1, HD_CB); break;
#endif
#if HD_CB_OWB > 2
        case 2: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 2, 0, 0, 2, HD_CB); break;
#endif
#if HD_CB_OWB > 3
        case 3: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 3, 0, 0, 3, HD_CB); break;
#endif
#if HD_CB_OWB > 4
        case 4: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 4, 0, 0, 4, HD_CB); break;
#endif
#if HD_CB_OWB > 5
        case 5: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 5, 0, 0, 5, HD_CB); break;
#endif
#if HD_CB_OWB > 6
        case 6: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 6, 0, 0, 6, HD_CB); break;
#endif
#if HD_CB_OWB > 7
        case 7: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 7, 0, 0, 7, HD_CB); break;
#endif
#if HD_CB_OWB > 8
        case 8: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 8, 0, 0, 8, HD_CB); break;
#endif
#if HD_CB_OWB > 9
        case 9: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 9, 0, 0, 9, HD_CB); break;
#endif
#if HD_CB_OWB > 10
        case 10: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 10, 0, 0, 10, HD_CB); break;
#endif
#if HD_CB_OWB > 11
        case 11: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 11, 0, 0, 11, HD_CB); break;
#endif
#if HD_CB_OWB > 12
        case 12: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 12, 0, 0, 12, HD_CB); break;
#endif
#if HD_CB_OWB > 13
        case 13: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, 13, 0, 0, 13, HD_CB); break;
#endif
        default: hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, 1, HD_CB_OWB, 0, 0, HD_CB_OWB, HD_CB); break;
        }
    }
}

/* Two output rows of ow <= HD_CB_OWB / 2 positions each (x2, y2: the
 * second row's offsets). */
HD__CB_FN HD__SG_FN static inline void hd__cb_span2(const hd_conv_blocked *cv, hd__cb_pf *pf, const float *x,
                                                    int64_t xs_c, int64_t xs_h, const float *w, const float *bias,
                                                    float *y, int nob, int ow, int64_t x2, int64_t y2)
{
    HD__CONTRACT_BODY
#define HD__CB2(NB, K)                                                                                                 \
    case K:                                                                                                            \
        hd__cb_uk(cv, pf, x, xs_c, xs_h, w, bias, y, NB, 2 * (K), x2, y2, K, HD_CB);                                   \
        break;
#define HD__CB2_SWITCH(NB)                                                                                             \
    switch (ow) {                                                                                                      \
        HD__CB2(NB, 1)                                                                                                 \
        HD__CB2_MORE(NB)                                                                                               \
    default: break;                                                                                                    \
    }
#if HD_CB_OWB >= 14
#define HD__CB2_MORE(NB) HD__CB2(NB, 2) HD__CB2(NB, 3) HD__CB2(NB, 4) HD__CB2(NB, 5) HD__CB2(NB, 6) HD__CB2(NB, 7)
#elif HD_CB_OWB >= 6
#define HD__CB2_MORE(NB) HD__CB2(NB, 2) HD__CB2(NB, 3)
#elif HD_CB_OWB >= 4
#define HD__CB2_MORE(NB) HD__CB2(NB, 2)
#else
#define HD__CB2_MORE(NB)
#endif
    if (nob == HD_CB_NOB) {
        HD__CB2_SWITCH(HD_CB_NOB)
    } else {
        HD__CB2_SWITCH(1)
    }
#undef HD__CB2
#undef HD__CB2_SWITCH
#undef HD__CB2_MORE
}

/* A row of a plain input's convolution: spans of HD_CB_OWB positions, the
 * last one moved back to end at the row's end (recomputing a few
 * positions), or single positions when the row is narrower than a span. */
HD__CB_FN HD__SG_FN static inline void hd__cb_plain_row(const hd_conv_blocked *cv, hd__cb_pf *pf, const float *x,
                                                        int64_t xs_c, int64_t xs_h, const float *w, const float *bias,
                                                        float *y, int nob)
{
    HD__CONTRACT_BODY
    const int64_t xs_w = cv->SW;
    if (cv->OW < HD_CB_OWB) {
        for (int64_t ow = 0; ow < cv->OW; ow++) {
            if (nob == HD_CB_NOB)
                hd__cb_uk(cv, pf, x + ow * xs_w, xs_c, xs_h, w, bias, y + ow * HD_CB, HD_CB_NOB, 1, 0, 0, 1, 1);
            else
                hd__cb_uk(cv, pf, x + ow * xs_w, xs_c, xs_h, w, bias, y + ow * HD_CB, 1, 1, 0, 0, 1, 1);
        }
        return;
    }
    for (int64_t ow = 0; ow < cv->OW; ow += HD_CB_OWB) {
        const int64_t at = ow + HD_CB_OWB <= cv->OW ? ow : cv->OW - HD_CB_OWB;
        if (nob == HD_CB_NOB)
            hd__cb_uk(cv, pf, x + at * xs_w, xs_c, xs_h, w, bias, y + at * HD_CB, HD_CB_NOB, HD_CB_OWB, 0, 0, HD_CB_OWB,
                      1);
        else
            hd__cb_uk(cv, pf, x + at * xs_w, xs_c, xs_h, w, bias, y + at * HD_CB, 1, HD_CB_OWB, 0, 0, HD_CB_OWB, 1);
    }
}

/* Output row oh of blocks mb..mb+nob-1 of image n, then its epilogue;
 * xp is the padded copy of image n, or NULL to read x in place. */
static inline void hd__cb_row(const hd_conv_blocked *cv, int64_t n, int64_t mb, int nob, int64_t oh, const float *xp,
                              int rows)
{
    const float *x;
    const int64_t ci = hd__cb_ci(cv);
    int64_t xs_c, xs_h, xs_row; /* xs_row: from one output row's input to the next's */
    if (xp) {
        const int64_t hp = hd__cb_hp(cv), wp = hd__cb_wp(cv);
        x = xp + oh * cv->SH * wp * ci;
        xs_c = hp * wp * ci;
        xs_h = cv->DH * wp * ci;
        xs_row = cv->SH * wp * ci;
    } else {
        x = cv->x + (n * cv->Cb * cv->H + oh * cv->SH) * cv->W * ci;
        xs_c = cv->H * cv->W * ci;
        xs_h = cv->DH * cv->W * ci;
        xs_row = cv->SH * cv->W * ci;
    }
    const int64_t xs_w = cv->SW * ci;
    const float *w = cv->w + mb * cv->Cb * cv->KH * cv->KW * ci * HD_CB;
    const float *bias = cv->bias ? cv->bias + mb * HD_CB : NULL;
    float *y = cv->y + ((n * cv->Mb + mb) * cv->OH + oh) * cv->OW * HD_CB;
    /* The next group's weights come from memory (a deep layer's outgrow the
     * caches): each row of this group prefetches its share of them into
     * L2, a few lines per step of its micro-kernels. */
    hd__cb_pf pf = {NULL, 0};
    const int64_t w_group = cv->Cb * cv->KH * cv->KW * ci * HD_CB; /* floats of one block's weights */
    if (mb + nob < cv->Mb) {
        const int64_t next_nob = cv->Mb - mb - nob >= HD_CB_NOB ? HD_CB_NOB : 1;
        const int64_t lines = (next_nob * w_group * (int64_t)sizeof(float) + 63) / 64;
        const int64_t lo = oh * lines / cv->OH, hi = hd__min64(lines, (oh + rows) * lines / cv->OH);
        /* micro-kernel calls in this unit (a plain row narrower than a
         * span runs position by position) */
        const int64_t spans = rows == 2                         ? 1
                              : cv->plain && cv->OW < HD_CB_OWB ? cv->OW
                                                                : (cv->OW + HD_CB_OWB - 1) / HD_CB_OWB;
        const int64_t steps = spans * cv->Cb * cv->KH;
        pf.at = (const char *)(cv->w + (mb + nob) * w_group) + lo * 64;
        pf.per = (hi - lo + steps - 1) / steps;
    }
    if (cv->plain) {
        hd__cb_plain_row(cv, &pf, x, xs_c, xs_h, w, bias, y, nob);
    } else if (rows == 2) {
        hd__cb_span2(cv, &pf, x, xs_c, xs_h, w, bias, y, nob, (int)cv->OW, xs_row, cv->OW * HD_CB);
    } else {
        for (int64_t ow = 0; ow < cv->OW; ow += HD_CB_OWB) {
            int owb = cv->OW - ow < HD_CB_OWB ? (int)(cv->OW - ow) : HD_CB_OWB;
            hd__cb_span(cv, &pf, x + ow * xs_w, xs_c, xs_h, w, bias, y + ow * HD_CB, nob, owb);
        }
    }
    if (cv->epilogue) /* the rows are adjacent in y */
        cv->epilogue(cv->epilogue_ctx, y, cv->OH * cv->OW * HD_CB, n * cv->Mb + mb, oh * cv->OW * HD_CB, nob,
                     rows * cv->OW * HD_CB);
}

/* Depthwise: each output block reads its own input block, vectors of
 * HD_CB channels at up to HD_CB_DWB positions of a row at a time (one
 * input load per FMA: memory, not arithmetic, bounds it).  Taps are
 * clipped to the image (rows r_lo..r_hi-1, columns q_lo..q_hi-1 of every
 * position of the span), so no padded copy is made: x is the block's
 * image, ih0/iw0 the first position's tap (0, 0). */
#define HD_CB_DWB 8
HD__CB_FN HD__SG_FN static inline HD__ALWAYS_INLINE void
hd__cbdw_uk(const hd_conv_blocked *cv, const float *restrict x, int64_t ih0, int64_t r_lo, int64_t r_hi, int64_t iw0,
            int64_t q_lo, int64_t q_hi, const float *restrict w, const float *restrict bias, float *restrict y,
            const int owb)
{
    HD__CONTRACT_BODY
    hd_vf acc[HD__CB_V][HD_CB_DWB];
    const int64_t xs_j = cv->SW * HD_CB, KW = cv->KW;
    for (int v = 0; v < HD__CB_V; v++) {
        hd_vf b = {0};
        if (bias)
            memcpy(&b, bias + v * HD_VF, sizeof b);
        for (int j = 0; j < HD_CB_DWB; j++) /* all of them: gcc cannot tell j < owb is all it reads */
            acc[v][j] = b;
    }
    for (int64_t r = r_lo; r < r_hi; r++)
        for (int64_t q = q_lo; q < q_hi; q++) {
            const float *xp = x + ((ih0 + r * cv->DH) * cv->W + iw0 + q * cv->DW) * HD_CB;
            const float *wp = w + (r * KW + q) * HD_CB;
            for (int v = 0; v < HD__CB_V; v++) {
                hd_vf wv, xv;
                memcpy(&wv, wp + v * HD_VF, sizeof wv);
                for (int j = 0; j < owb; j++) {
                    memcpy(&xv, xp + j * xs_j + v * HD_VF, sizeof xv);
                    acc[v][j] += xv * wv;
                }
            }
        }
    for (int v = 0; v < HD__CB_V; v++)
        for (int j = 0; j < owb; j++)
            memcpy(y + j * HD_CB + v * HD_VF, &acc[v][j], sizeof(hd_vf));
}

/* Depthwise output row oh of block cb of image n, then its epilogue:
 * positions whose taps all lie inside the row in spans, the others one at
 * a time with their columns clipped. */
HD__CB_FN HD__SG_FN static inline void hd__cbdw_row(const hd_conv_blocked *cv, int64_t n, int64_t cb, int64_t oh)
{
    HD__CONTRACT_BODY
    const int64_t ih0 = oh * cv->SH - cv->PT;
    int64_t r_lo = 0, r_hi = cv->KH;
    while (r_lo < r_hi && ih0 + r_lo * cv->DH < 0)
        r_lo++;
    while (r_hi > r_lo && ih0 + (r_hi - 1) * cv->DH >= cv->H)
        r_hi--;
    const int64_t span = (cv->KW - 1) * cv->DW;
    int64_t ow_a = cv->PL > 0 ? (cv->PL + cv->SW - 1) / cv->SW : 0;
    int64_t ow_b = cv->W - 1 - span + cv->PL >= 0 ? (cv->W - 1 - span + cv->PL) / cv->SW + 1 : 0;
    if (ow_b > cv->OW)
        ow_b = cv->OW;
    if (ow_a > ow_b)
        ow_a = ow_b;
    const float *x = cv->x + (n * cv->Cb + cb) * cv->H * cv->W * HD_CB;
    const float *w = cv->w + cb * cv->KH * cv->KW * HD_CB;
    const float *bias = cv->bias ? cv->bias + cb * HD_CB : NULL;
    float *y = cv->y + ((n * cv->Mb + cb) * cv->OH + oh) * cv->OW * HD_CB;
    for (int64_t ow = 0; ow < cv->OW;) {
        const int64_t iw0 = ow * cv->SW - cv->PL;
        if (ow < ow_a || ow >= ow_b) {
            int64_t q_lo = 0, q_hi = cv->KW;
            while (q_lo < q_hi && iw0 + q_lo * cv->DW < 0)
                q_lo++;
            while (q_hi > q_lo && iw0 + (q_hi - 1) * cv->DW >= cv->W)
                q_hi--;
            hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, q_lo, q_hi, w, bias, y + ow * HD_CB, 1);
            ow++;
            continue;
        }
        const int64_t left = ow_b - ow;
        const int owb = left < HD_CB_DWB ? (int)left : HD_CB_DWB;
        float *yo = y + ow * HD_CB;
        switch (owb) {
        case 1: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 1); break;
        case 2: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 2); break;
        case 3: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 3); break;
        case 4: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 4); break;
        case 5: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 5); break;
        case 6: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 6); break;
        case 7: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, 7); break;
        default: hd__cbdw_uk(cv, x, ih0, r_lo, r_hi, iw0, 0, cv->KW, w, bias, yo, HD_CB_DWB); break;
        }
        ow += owb;
    }
    if (cv->epilogue)
        cv->epilogue(cv->epilogue_ctx, y, cv->OH * cv->OW * HD_CB, n * cv->Mb + cb, oh * cv->OW * HD_CB, 1,
                     cv->OW * HD_CB);
}

/* Units of work in one image: (group of NOB blocks, output row), rows
 * innermost so a group's weights stay in cache across its rows; for a
 * depthwise convolution (block, output row). */
static inline int64_t hd_conv_blocked_units(const hd_conv_blocked *cv)
{
    return (cv->depthwise ? cv->Mb : (cv->Mb + HD_CB_NOB - 1) / HD_CB_NOB) * cv->OH;
}

static inline void hd_conv_blocked_range(const hd_conv_blocked *cv, int64_t n, int64_t u_lo, int64_t u_hi,
                                         const float *xp)
{
    if (cv->depthwise) {
        for (int64_t u = u_lo; u < u_hi; u++)
            hd__cbdw_row(cv, n, u / cv->OH, u % cv->OH);
        return;
    }
    /* rows of at most half a micro-tile go two at a time */
    const int narrow = 2 * cv->OW <= HD_CB_OWB && !cv->plain;
    for (int64_t u = u_lo; u < u_hi;) {
        int64_t oh = u % cv->OH, mb = u / cv->OH * HD_CB_NOB;
        int rows = narrow && oh + 1 < cv->OH && u + 1 < u_hi ? 2 : 1;
        hd__cb_row(cv, n, mb, cv->Mb - mb >= HD_CB_NOB ? HD_CB_NOB : 1, oh, xp, rows); /* NOB <= 2 */
        u += rows;
    }
}

/* The whole convolution on one thread; scratch holds
 * hd_conv_blocked_scratch_floats(cv) floats. */
static inline void hd_conv_blocked_run(const hd_conv_blocked *cv, float *scratch)
{
    const int pad = !hd__cb_in_place(cv);
    for (int64_t n = 0; n < cv->N; n++) {
        if (pad)
            hd_conv_blocked_pad(cv, n, 0, cv->Cb, scratch);
        hd_conv_blocked_range(cv, n, 0, hd_conv_blocked_units(cv), pad ? scratch : NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* 4. Vector math                                                            */
/* ------------------------------------------------------------------------ */

/* exp: n = round(x/ln2), r = x - n*ln2 (two-part ln2, |r| <= 0.347),
 * e^r = 1 + r + r^2*q(r) with a degree-4 minimax q, then 2^n applied as
 * two exact factors so that overflow and subnormal results round once. */
/* The shared core: t = x/ln2 + 1.5*2^23, whose low bits hold n =
 * round(x/ln2), and e^r for r = x - n*ln2. */
static inline hd_vf hd__vf_exp_reduced(hd_vf xc, hd_vf *t_out)
{
    const hd_vf magic = hd_vf_splat(0x1.8p23f); /* 1.5*2^23: rounds to integer */
    hd_vf t = xc * hd_vf_splat(0x1.715476p+0f) + magic;
    hd_vf n = hd_vf_from_bits(hd_vf_bits(t)) - magic;
    hd_vf r = xc - n * hd_vf_splat(0x1.62e4p-1f); /* exact: 16-bit ln2 head */
    r = r - n * hd_vf_splat(0x1.7f7d1cp-20f);
    hd_vf q = hd_vf_splat(0x1.6a1a6ep-10f);
    q = q * r + hd_vf_splat(0x1.123fc8p-7f);
    q = q * r + hd_vf_splat(0x1.555916p-5f);
    q = q * r + hd_vf_splat(0x1.55548ap-3f);
    q = q * r + hd_vf_splat(0x1.fffffcp-2f);
    *t_out = t;
    return hd_vf_splat(1.0f) + (r + (r * r) * q);
}

static inline hd_vf hd_vf_exp(hd_vf x)
{
    hd_vu nan = hd_vf_isnan(x);
    hd_vf xc = hd__vf_clamp_hi(x, 89.0f);
    xc = hd_vf_sel(hd_vf_lt(xc, hd_vf_splat(-104.0f)), hd_vf_splat(-104.0f), xc);
    xc = hd_vf_sel(nan, hd_vf_splat(0.0f), xc);
    hd_vf t;
    hd_vf p = hd__vf_exp_reduced(xc, &t);
    /* n + 256 in [105, 384]; split into two biased exponents */
    hd_vu nb = hd_vf_bits(t) - hd_vu_splat(0x4B400000u - 256u);
    hd_vu e1 = nb >> 1, e2 = nb - e1;
    hd_vf s1 = hd_vf_from_bits((e1 - hd_vu_splat(1u)) << 23);
    hd_vf s2 = hd_vf_from_bits((e2 - hd_vu_splat(1u)) << 23);
    hd_vf res = (p * s1) * s2;
    return hd_vf_sel(nan, x + x, res);
}

/* log: x = 2^k * m with m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f/(2+f),
 * log(1+f) = f - (f^2/2 - s*(f^2/2 + R(s^2))), R from the atanh series. */
static inline hd_vf hd_vf_log(hd_vf x)
{
    const hd_vf one = hd_vf_splat(1.0f);
    hd_vu tiny = hd_vf_lt(x, hd_vf_splat(0x1p-126f));
    hd_vf xs = hd_vf_sel(tiny, x * hd_vf_splat(0x1p23f), x); /* subnormals exact */
    hd_vu ix = hd_vf_bits(xs) + hd_vu_splat(0x3F800000u - 0x3F3504F3u);
    hd_vu ku = ix >> 23; /* biased exponent of x / sqrt(1/2) */
    hd_vf k = hd_vf_from_bits(ku + hd_vu_splat(0x4B400000u)) - hd_vf_splat(0x1.8p23f + 127.0f);
    k = k - hd_vf_sel(tiny, hd_vf_splat(23.0f), hd_vf_splat(0.0f));
    hd_vf m = hd_vf_from_bits((ix & hd_vu_splat(0x007FFFFFu)) + hd_vu_splat(0x3F3504F3u));
    hd_vf f = m - one;
    hd_vf s = f / (hd_vf_splat(2.0f) + f);
    hd_vf z = s * s;
    hd_vf R = hd_vf_splat(2.0f / 9.0f);
    R = R * z + hd_vf_splat(2.0f / 7.0f);
    R = R * z + hd_vf_splat(2.0f / 5.0f);
    R = R * z + hd_vf_splat(2.0f / 3.0f);
    R = R * z;
    hd_vf hfsq = hd_vf_splat(0.5f) * f * f;
    hd_vf res = k * hd_vf_splat(0x1.62e4p-1f) - ((hfsq - (s * (hfsq + R) + k * hd_vf_splat(0x1.7f7d1cp-20f))) - f);
    const hd_vf inf = hd_vf_splat(INFINITY);
    res = hd_vf_sel(hd_vf_eq(x, inf), inf, res);
    res = hd_vf_sel(hd_vf_lt(x, hd_vf_splat(0.0f)), hd_vf_splat(NAN), res);
    res = hd_vf_sel(hd_vf_eq(x, hd_vf_splat(0.0f)), -inf, res);
    return hd_vf_sel(hd_vf_isnan(x), x + x, res);
}

/* e^a for a <= 0 or NaN (NaN stays NaN through the polynomial and the
 * scaling): hd_vf_exp without its overflow and NaN cases, and 2^n (n in
 * [-150, 0]) applied as 2^(n+64), exact, times 2^-64, which rounds once
 * where the result is subnormal. */
static inline hd_vf hd__vf_exp_nonpos(hd_vf a)
{
    hd_vf ac = hd_vf_sel(hd_vf_lt(a, hd_vf_splat(-104.0f)), hd_vf_splat(-104.0f), a);
    hd_vf t;
    hd_vf p = hd__vf_exp_reduced(ac, &t);
    /* bits(t) = 0x4B400000 + n; the biased exponent of 2^(n+64) */
    hd_vf s = hd_vf_from_bits((hd_vf_bits(t) - hd_vu_splat(0x4B400000u - 127u - 64u)) << 23);
    return (p * s) * hd_vf_splat(0x1p-64f);
}

/* sigmoid: E = e^-|x|; 1/(1+E) for x >= 0, E/(1+E) for x < 0 (no
 * overflow, subnormal tails kept). */
static inline hd_vf hd_vf_sigmoid(hd_vf x)
{
    const hd_vf one = hd_vf_splat(1.0f);
    hd_vf e = hd__vf_exp_nonpos(hd_vf_from_bits(hd_vf_bits(x) | hd_vu_splat(0x80000000u))); /* e^-|x| */
    hd_vf num = hd_vf_sel(hd_vf_ge(x, hd_vf_splat(0.0f)), one, e);
    return num / (one + e); /* NaN: e is NaN */
}

/* tanh: |x| < 0.5625: x + x^3*q(x^2) (minimax); else
 * sign(x) * (1 - 2/(e^(2|x|) + 1)) with |x| clamped to 10. */
static inline hd_vf hd_vf_tanh(hd_vf x)
{
    hd_vf ax = hd_vf_abs(x);
    hd_vf z = x * x;
    hd_vf q = hd_vf_splat(0x1.333f5ap-9f);
    q = q * z + hd_vf_splat(-0x1.12483cp-7f);
    q = q * z + hd_vf_splat(0x1.64ab0ep-6f);
    q = q * z + hd_vf_splat(-0x1.ba05ap-5f);
    q = q * z + hd_vf_splat(0x1.1110ccp-3f);
    q = q * z + hd_vf_splat(-0x1.555554p-2f);
    hd_vf small = ax + (ax * z) * q;
    hd_vf a = hd__vf_clamp_hi(ax, 10.0f);
    hd_vf e = hd_vf_exp(a + a);
    hd_vf big = hd_vf_splat(1.0f) - hd_vf_splat(2.0f) / (e + hd_vf_splat(1.0f));
    /* computed on |x| and signed at the end, so tanh(-0) = -0 */
    return hd_vf_copysign(hd_vf_sel(hd_vf_lt(ax, hd_vf_splat(0.5625f)), small, big), x);
}

/* erf: |x| < 0.875: x + x*q(x^2) (minimax); else
 * sign(x) * (1 - exp(g(|x|) - x^2)) where g(t) ~ log(erfc(t)) + t^2 is a
 * degree-8 minimax polynomial in t - 2.4375 over [0.875, 4]; |x| is
 * clamped to 4 (erf rounds to 1 from 3.92 on). */
static inline hd_vf hd_vf_erf(hd_vf x)
{
    hd_vf ax = hd_vf_abs(x);
    hd_vf z = x * x;
    hd_vf q = hd_vf_splat(0x1.6ab024p-14f);
    q = q * z + hd_vf_splat(-0x1.ae2eb2p-11f);
    q = q * z + hd_vf_splat(0x1.5532bp-8f);
    q = q * z + hd_vf_splat(-0x1.b818ecp-6f);
    q = q * z + hd_vf_splat(0x1.ce2e7cp-4f);
    q = q * z + hd_vf_splat(-0x1.812744p-2f);
    q = q * z + hd_vf_splat(0x1.06eba8p-3f);
    hd_vf small = x + x * q;
    hd_vf a = hd__vf_clamp_hi(ax, 4.0f);
    hd_vf t = a - hd_vf_splat(2.4375f);
    hd_vf g = hd_vf_splat(-0x1.23968p-20f);
    g = g * t + hd_vf_splat(-0x1.d0a48ep-16f);
    g = g * t + hd_vf_splat(0x1.ed426cp-15f);
    g = g * t + hd_vf_splat(-0x1.e9acb2p-12f);
    g = g * t + hd_vf_splat(0x1.2de1e2p-9f);
    g = g * t + hd_vf_splat(-0x1.75d748p-7f);
    g = g * t + hd_vf_splat(0x1.dcc05ap-5f);
    g = g * t + hd_vf_splat(-0x1.70757cp-2f);
    g = g * t + hd_vf_splat(-0x1.88d854p+0f);
    hd_vf big = hd_vf_splat(1.0f) - hd_vf_exp(g - a * a);
    big = hd_vf_copysign(big, x);
    return hd_vf_sel(hd_vf_lt(ax, hd_vf_splat(0.875f)), small, big);
}

/* Array and scalar forms.  The tail goes through a zero-padded vector. */
#define HD__DEFINE_VMATH(name)                                                                                         \
    static inline void hd_v##name##_f32(const float *x, float *y, int64_t n)                                           \
    {                                                                                                                  \
        int64_t i = 0;                                                                                                 \
        for (; i + HD_VF <= n; i += HD_VF)                                                                             \
            hd_vf_store(y + i, hd_vf_##name(hd_vf_load(x + i)));                                                       \
        if (i < n) {                                                                                                   \
            float hd__buf[HD_VF] = {0};                                                                                \
            memcpy(hd__buf, x + i, (size_t)(n - i) * sizeof(float));                                                   \
            hd_vf_store(hd__buf, hd_vf_##name(hd_vf_load(hd__buf)));                                                   \
            memcpy(y + i, hd__buf, (size_t)(n - i) * sizeof(float));                                                   \
        }                                                                                                              \
    }                                                                                                                  \
    static inline float hd_##name##f(float x) { return hd_vf_lane0(hd_vf_##name(hd_vf_splat(x))); }
HD__DEFINE_VMATH(exp)
HD__DEFINE_VMATH(log)
HD__DEFINE_VMATH(tanh)
HD__DEFINE_VMATH(erf)
HD__DEFINE_VMATH(sigmoid)

/* ------------------------------------------------------------------------ */
/* 5. Scalar and row helpers for generated code                              */
/* ------------------------------------------------------------------------ */

/* b^e with wrap-around (unsigned arithmetic); e < 0 gives 0 unless |b| is
 * 1 (integer Pow). */
static inline int64_t hd_ew_ipow(int64_t b, int64_t e)
{
    if (e < 0)
        return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);
    uint64_t r = 1, x = (uint64_t)b;
    while (e) {
        if (e & 1)
            r *= x;
        x *= x;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Integer modulo with the sign of the divisor (Mod, fmod = 0); b == 0 and
 * b == -1 give 0 (no trap). */
static inline int64_t hd_ew_pymod_i(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* Float modulo with the sign of the divisor. */
static inline float hd_ew_pymodf(float a, float b)
{
    float r = fmodf(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline double hd_ew_pymod(double a, double b)
{
    double r = fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)), with log1p(e) computed as
 * log(u) * e / (u - 1), u = 1 + e, which is exact where u rounds to 1. */
static inline hd_vf hd_ew_vsoftplus(hd_vf x)
{
    const hd_vf zero = hd_vf_splat(0.0f), one = hd_vf_splat(1.0f);
    hd_vf e = hd_vf_exp(-hd_vf_abs(x));
    hd_vf u = one + e;
    hd_vu tiny = hd_vf_eq(u, one);
    hd_vf d = hd_vf_sel(tiny, one, u - one);
    hd_vf l = hd_vf_sel(tiny, e, hd_vf_log(u) * (e / d));
    return hd_vf_sel(hd_vf_lt(x, zero), zero, x) + l;
}

/* Row statistics over a contiguous float array x[0..n): four vector
 * accumulators, then the scalar tail.  The sums take (x, n, c); only
 * hd_rd_sumsqd (sum of squared differences from the centre c) reads c.
 * hd_rd_ext is max (gt != 0) or min, n >= 1, and NaN wins. */
static inline float hd_rd_hsum(hd_vf v)
{
    float b[HD_VF], s = 0;
    memcpy(b, &v, sizeof b);
    for (int k = 0; k < HD_VF; k++)
        s += b[k];
    return s;
}

#define HD__RD_SUMLOOP(name, TERM, STERM)                                                                              \
    static inline float name(const float *x, int64_t n, float c)                                                       \
    {                                                                                                                  \
        hd_vf a0 = hd_vf_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, v;                                                    \
        int64_t i = 0;                                                                                                 \
        (void)c;                                                                                                       \
        for (; i + 4 * HD_VF <= n; i += 4 * HD_VF) {                                                                   \
            v = hd_vf_load(x + i);                                                                                     \
            a0 += TERM;                                                                                                \
            v = hd_vf_load(x + i + HD_VF);                                                                             \
            a1 += TERM;                                                                                                \
            v = hd_vf_load(x + i + 2 * HD_VF);                                                                         \
            a2 += TERM;                                                                                                \
            v = hd_vf_load(x + i + 3 * HD_VF);                                                                         \
            a3 += TERM;                                                                                                \
        }                                                                                                              \
        for (; i + HD_VF <= n; i += HD_VF) {                                                                           \
            v = hd_vf_load(x + i);                                                                                     \
            a0 += TERM;                                                                                                \
        }                                                                                                              \
        float s = hd_rd_hsum((a0 + a1) + (a2 + a3)), e;                                                                \
        for (; i < n; i++) {                                                                                           \
            e = x[i];                                                                                                  \
            s += STERM;                                                                                                \
        }                                                                                                              \
        return s;                                                                                                      \
    }
HD__RD_SUMLOOP(hd_rd_sum, v, e)
HD__RD_SUMLOOP(hd_rd_sumsq, v *v, e *e)
HD__RD_SUMLOOP(hd_rd_sumabs, hd_vf_abs(v), fabsf(e))
HD__RD_SUMLOOP(hd_rd_sumsqd, (v - hd_vf_splat(c)) * (v - hd_vf_splat(c)), (e - c) * (e - c))
#undef HD__RD_SUMLOOP

static inline float hd_rd_ext(const float *x, int64_t n, int gt)
{
    float s = x[0];
    int64_t nv = n - n % HD_VF;
    if (nv > 0) {
        hd_vf a = hd_vf_load(x);
        for (int64_t i = HD_VF; i < nv; i += HD_VF) {
            hd_vf v = hd_vf_load(x + i);
            hd_vu m = (gt ? hd_vf_lt(a, v) : hd_vf_lt(v, a)) | hd_vf_isnan(v);
            a = hd_vf_sel(m, v, a);
        }
        float b[HD_VF];
        memcpy(b, &a, sizeof b);
        s = b[0];
        for (int k = 1; k < HD_VF; k++)
            if ((gt ? b[k] > s : b[k] < s) || b[k] != b[k])
                s = b[k];
    }
    for (int64_t i = nv; i < n; i++)
        if ((gt ? x[i] > s : x[i] < s) || x[i] != x[i])
            s = x[i];
    return s;
}

/* ======================================================================
 * 6. Floating-point environment
 * ====================================================================== */
/* Subnormal floats are 10-100x slower on most CPUs (microcode assists)
 * and carry no precision a network needs, so by default a model runs with
 * them flushed: results that would be subnormal are zero (FTZ) and
 * subnormal operands read as zero (DAZ).  HD_FLUSH_DENORMALS=0 (`hodu
 * --build --keep-denormals`) keeps IEEE gradual underflow.  The caller's
 * environment is saved on entry and restored on exit. */
#ifndef HD_FLUSH_DENORMALS
#define HD_FLUSH_DENORMALS 1
#endif

typedef uint64_t hd_fpenv;

static inline hd_fpenv hd_fpenv_enter(void)
{
#if HD_FLUSH_DENORMALS && HD__GNU && (defined(__x86_64__) || (defined(__i386__) && defined(__SSE__)))
    unsigned int csr = __builtin_ia32_stmxcsr();
    __builtin_ia32_ldmxcsr(csr | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return csr;
#elif HD_FLUSH_DENORMALS && HD__GNU && defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (UINT64_C(1) << 24))); /* FZ: both directions */
    return fpcr;
#elif HD_FLUSH_DENORMALS && HD__GNU && defined(__arm__) && defined(__ARM_FP)
    /* 32-bit ARM with an FPU (Cortex-M4F/M7, VFP): FPSCR's FZ is bit 24 too. */
    uint32_t fpscr;
    __asm__ __volatile__("vmrs %0, fpscr" : "=r"(fpscr));
    __asm__ __volatile__("vmsr fpscr, %0" : : "r"(fpscr | (UINT32_C(1) << 24)));
    return fpscr;
#else
    return 0; /* no flush on this target: the default environment */
#endif
}

static inline void hd_fpenv_leave(hd_fpenv saved)
{
#if HD_FLUSH_DENORMALS && HD__GNU && (defined(__x86_64__) || (defined(__i386__) && defined(__SSE__)))
    __builtin_ia32_ldmxcsr((unsigned int)saved);
#elif HD_FLUSH_DENORMALS && HD__GNU && defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
#elif HD_FLUSH_DENORMALS && HD__GNU && defined(__arm__) && defined(__ARM_FP)
    __asm__ __volatile__("vmsr fpscr, %0" : : "r"((uint32_t)saved));
#else
    (void)saved;
#endif
}

/* ======================================================================
 * 7. Threads
 * ====================================================================== */
#ifdef HODU_ABI_H

/* The host's threads run our tasks in whatever FP environment they have:
 * each task enters ours and gives theirs back. */
struct hd__fp_task {
    hodu_task_fn fn;
    void *ctx;
};

static inline void hd__fp_task_run(void *p, uint32_t t, uint32_t worker)
{
    const struct hd__fp_task *ft = (const struct hd__fp_task *)p;
    hd_fpenv saved = hd_fpenv_enter();
    ft->fn(ft->ctx, t, worker);
    hd_fpenv_leave(saved);
}

static inline void hd_parallel_for(const hodu_exec *exec, uint32_t n, hodu_task_fn fn, void *ctx)
{
    if (exec != NULL && exec->parallel_for != NULL && exec->n_workers > 1 && n > 1) {
        struct hd__fp_task ft = {fn, ctx};
        exec->parallel_for(exec->pool, n, HD_FLUSH_DENORMALS ? hd__fp_task_run : fn, HD_FLUSH_DENORMALS ? &ft : ctx);
        return;
    }
    for (uint32_t t = 0; t < n; t++)
        fn(ctx, t, 0);
}

static inline uint32_t hd_task_count(const hodu_exec *exec, uint32_t max)
{
    uint32_t w = exec != NULL && exec->parallel_for != NULL && exec->n_workers > 1 ? exec->n_workers : 1;
    return w < max ? w : (max ? max : 1);
}

static inline int64_t hd_task_begin(uint32_t t, uint32_t nt, int64_t n, int64_t grain)
{
    if (t >= nt)
        return n;
    return (int64_t)t * (n / grain) / (int64_t)nt * grain;
}

#ifndef HD_SGEMM_PAR_MACS /* multiply-adds a block of a parallel product must carry */
#define HD_SGEMM_PAR_MACS (1 << 20)
#endif

typedef struct hd__sgemm_job {
    const hd_sgemm_op *op;
    unsigned char *workers;
    size_t worker_bytes;
    int64_t splits;  /* blocks per product */
    int64_t tile;    /* block granule: whole tiles (or panels) of columns, or of rows */
    int64_t n_tiles; /* whole granules in the split dimension */
    int by_rows;
} hd__sgemm_job;

static inline void hd__sgemm_task(void *ctx, uint32_t task, uint32_t worker)
{
    const hd__sgemm_job *j = (const hd__sgemm_job *)ctx;
    const hd_sgemm_op *op = j->op;
    int64_t b = (int64_t)task / j->splits, s = (int64_t)task % j->splits;
    /* Blocks of whole granules; the last one also takes the ragged end. */
    int64_t t0 = s * j->n_tiles / j->splits, t1 = (s + 1) * j->n_tiles / j->splits;
    int64_t lo = t0 * j->tile, hi = s + 1 == j->splits ? (j->by_rows ? op->M : op->N) : t1 * j->tile;
    float *scratch = (float *)(void *)(j->workers + (size_t)worker * j->worker_bytes);
    if (j->by_rows)
        hd__sgemm_part(op, b, lo, hi, 0, op->N, scratch, HD__SGEMM_NCB);
    else
        hd__sgemm_part(op, b, 0, op->M, lo, hi, scratch, HD__SGEMM_NCB);
}

static inline void hd_sgemm_run_par(const hodu_exec *exec, unsigned char *workers, size_t worker_bytes,
                                    const hd_sgemm_op *op)
{
    int64_t batch = op->batch > 0 ? op->batch : 1;
    hd__sgemm_job j = {op, workers, worker_bytes, 1, HD_SGEMM_NR, 0, 0};
    uint32_t workers_n = exec != NULL && exec->parallel_for != NULL ? exec->n_workers : 1;
    if (op->M <= 0 || op->N <= 0)
        return;
    int small_n = !op->packed_b && op->N <= 4 && op->M > op->N;
    int small_m = !op->packed_b && !small_n && op->M <= 4;
    int gemv = hd__sgemm_is_gemv(op);
    /* Below about a million multiply-adds a block, moving the data between
     * cores costs more than the split saves (measured): small products
     * get fewer blocks, and a tiny batch runs here on the caller.  A
     * GEMV-like product streams B and does little with each element, so
     * its multiply-adds count 16-fold (MLP batch 1: two cores' caches hold
     * the weights where one does not). */
    double work = (double)op->M * (double)op->N * (double)(op->K > 0 ? op->K : 1) * (small_m || gemv ? 16.0 : 1.0);
    if (work * (double)batch < (double)HD_SGEMM_PAR_MACS) {
        hd_sgemm_run(op, (float *)(void *)workers);
        return;
    }
    /* Enough blocks to keep every worker busy, none thinner than a tile.
     * Paths must not change: a block takes the path the whole product
     * takes.  The small-N front-end path is never split; the small-M one
     * (a GEMV-like product, one output column at a time) splits on wide
     * column blocks; packed B splits on whole panels. */
    int64_t want = batch >= (int64_t)workers_n ? 1 : ((int64_t)workers_n + batch - 1) / batch;
    if ((double)want > work / (double)HD_SGEMM_PAR_MACS)
        want = (int64_t)(work / (double)HD_SGEMM_PAR_MACS) + 1;
    /* granules wider than 4 (16 with trans_b), so no block takes the
     * small-N or dot-product path; whole NR
     * tiles, and for the small-M path whole column chunks of its loops */
    int64_t col_tile = op->packed_b ? HD_SGEMM_PACK_NB
                       : small_m    ? (op->trans_b ? 2 * HD_SGEMM_PACK_NB : HD__NN_JB)
                                    : ((op->trans_b ? HD__SGEMM_DOT_MAX_N : 4) / HD_SGEMM_NR + 1) * HD_SGEMM_NR;
    int64_t row_tile = (4 / HD_SGEMM_MR + 1) * HD_SGEMM_MR;
    j.tile = col_tile;
    if (want > 1 && !small_n && !(small_m && op->N / col_tile < 2)) {
        if (op->N / col_tile >= 2) {
            j.n_tiles = op->N / col_tile;
        } else if (op->M / row_tile >= 2) {
            j.by_rows = 1;
            j.tile = row_tile;
            j.n_tiles = op->M / row_tile;
        }
        j.splits = hd__min64(want, j.n_tiles);
        if (j.splits < 1)
            j.splits = 1;
    }
    int64_t tasks = batch * j.splits;
    if (tasks > (int64_t)UINT32_MAX) {
        /* only for absurd batches: run the products one by one */
        hd_sgemm_run(op, (float *)(void *)workers);
        return;
    }
    hd_parallel_for(exec, (uint32_t)tasks, hd__sgemm_task, &j);
}

/* im2col and the stride-phase split on the pool: blocks of whole channels
 * (rows), each task the serial routine on its block, so the result is the
 * serial one whatever the split. */
#define HD__PAR_MIN_FLOATS 32768 /* below this, one task */

typedef struct hd__im2col_job {
    const float *x;
    const hd_window *w;
    float *col;
    int64_t C, r0, nr, xstride, cstride, W, S;
    uint32_t n;
} hd__im2col_job;

static inline void hd__im2col_task(void *ctx, uint32_t t, uint32_t worker)
{
    const hd__im2col_job *j = (const hd__im2col_job *)ctx;
    int64_t c0 = (int64_t)t * j->C / j->n, c1 = ((int64_t)t + 1) * j->C / j->n;
    (void)worker;
    if (j->w)
        hd_im2col_nd_f32(j->x + c0 * j->xstride, c1 - c0, j->w, j->r0, j->nr, j->col + c0 * j->cstride);
    else
        hd_phase_split_f32(j->x + c0 * j->xstride, c1 - c0, j->W, j->S, j->col + c0 * j->cstride);
}

static inline uint32_t hd__par_blocks(const hodu_exec *exec, int64_t units, int64_t floats)
{
    if (units <= 1 || floats < HD__PAR_MIN_FLOATS)
        return 1;
    return hd_task_count(exec, units > 64 ? 64 : (uint32_t)units);
}

static inline void hd_im2col_nd_par(const hodu_exec *exec, const float *x, int64_t C, const hd_window *w, int64_t r0,
                                    int64_t nr, float *col)
{
    hd__nd_walk k;
    const int L = w->nd - 1;
    const int64_t SL = w->s[L], PW = SL > 0 ? (w->in[L] + SL - 1) / SL : 0;
    const int64_t rw = SL > 1 ? SL * PW : w->in[L];
    if (C <= 0 || !hd__nd_walk_init(&k, w, nr, rw))
        return;
    hd__im2col_job j = {x, w, col, C, r0, nr, k.irows * rw, k.KP * k.nt, 0, 0, 1};
    j.n = hd__par_blocks(exec, C, C * k.KP * k.nt);
    hd_parallel_for(exec, j.n, hd__im2col_task, &j);
}

/* hd_im2col_pack_f32 of the whole C channels (KD = C * prod(k), first row
 * 0) on the pool, over blocks of channels: each task writes its channels'
 * rows of every panel, so the result is the serial one. */
typedef struct hd__im2col_pack_job {
    const float *x;
    const hd_window *w;
    float *packed;
    int64_t C, r0, nr, xstride, KP;
    uint32_t n;
} hd__im2col_pack_job;

static inline void hd__im2col_pack_task(void *ctx, uint32_t t, uint32_t worker)
{
    const hd__im2col_pack_job *j = (const hd__im2col_pack_job *)ctx;
    int64_t c0 = (int64_t)t * j->C / j->n, c1 = ((int64_t)t + 1) * j->C / j->n;
    (void)worker;
    hd_im2col_pack_f32(j->x + c0 * j->xstride, c1 - c0, j->w, j->r0, j->nr, j->C * j->KP, c0 * j->KP, j->packed);
}

static inline void hd_im2col_pack_par(const hodu_exec *exec, const float *x, int64_t C, const hd_window *w, int64_t r0,
                                      int64_t nr, float *packed)
{
    hd__nd_walk k;
    const int L = w->nd - 1;
    const int64_t SL = w->s[L], PW = SL > 0 ? (w->in[L] + SL - 1) / SL : 0;
    const int64_t rw = SL > 1 ? SL * PW : w->in[L];
    if (C <= 0 || !hd__nd_walk_init(&k, w, nr, rw) || !hd_im2col_pack_fits(w))
        return;
    hd__im2col_pack_job j = {x, w, packed, C, r0, nr, k.irows * rw, k.KP, 1};
    j.n = hd__par_blocks(exec, C, C * k.KP * k.nt);
    hd_parallel_for(exec, j.n, hd__im2col_pack_task, &j);
}

static inline void hd_phase_split_par(const hodu_exec *exec, const float *x, int64_t rows, int64_t W, int64_t S,
                                      float *xs)
{
    if (rows <= 0 || W <= 0 || S <= 0)
        return;
    int64_t PW = (W + S - 1) / S;
    hd__im2col_job j = {x, NULL, xs, rows, 0, 0, W, S * PW, W, S, 1};
    j.n = hd__par_blocks(exec, rows, rows * W);
    hd_parallel_for(exec, j.n, hd__im2col_task, &j);
}

static inline void hd_sgemm_par(const hodu_exec *exec, unsigned char *workers, size_t worker_bytes, int64_t batch,
                                int64_t sa, int64_t sb, int64_t sc, int64_t M, int64_t N, int64_t K, const float *A,
                                int64_t lda, int trans_a, const float *B, int64_t ldb, int trans_b, float *C,
                                int64_t ldc, float alpha, float beta)
{
    if (batch <= 0)
        return;
    hd_sgemm_op op = {M, N,   K,     A,    lda,   trans_a, B,  ldb, trans_b, NULL,
                      C, ldc, alpha, beta, batch, sa,      sb, sc,  NULL,    NULL};
    hd_sgemm_run_par(exec, workers, worker_bytes, &op);
}

#ifndef HD_CB_TASKS_PER_WORKER
#define HD_CB_TASKS_PER_WORKER 4
#endif

/* The blocked direct convolution split into contiguous runs of its units
 * (each the serial routine's), so the result is the serial one; the
 * padded copy of each image first, split over blocks. */
typedef struct hd__cb_job {
    const hd_conv_blocked *cv;
    float *xp;
    int64_t n, count; /* the image; units (or blocks, while padding) */
    uint32_t tasks;
} hd__cb_job;

/* The first unit of task t of nt: tasks take equal shares of the output
 * blocks' rows, so where Mb is odd the units of the last group, one block
 * each instead of HD_CB_NOB, count for less (with two workers and Mb = 3
 * an even split of units would leave one worker a third idle). */
static inline int64_t hd__cb_task_begin(const hd_conv_blocked *cv, uint32_t t, uint32_t nt)
{
    const int64_t units = hd_conv_blocked_units(cv);
    if (t >= nt)
        return units;
    const int64_t nob = cv->depthwise ? 1 : HD_CB_NOB, full = cv->Mb / nob * cv->OH, rest = cv->Mb % nob;
    const int64_t at = (int64_t)t * (cv->Mb * cv->OH) / (int64_t)nt; /* in block-rows */
    if (at <= full * nob)
        return (at + nob - 1) / nob;
    return full + (at - full * nob + rest - 1) / (rest > 0 ? rest : 1); /* rest > 0 here */
}

static inline void hd__cb_task(void *ctx, uint32_t t, uint32_t worker)
{
    const hd__cb_job *j = (const hd__cb_job *)ctx;
    (void)worker;
    hd_conv_blocked_range(j->cv, j->n, hd__cb_task_begin(j->cv, t, j->tasks), hd__cb_task_begin(j->cv, t + 1, j->tasks),
                          j->xp);
}

static inline void hd__cb_pad_task(void *ctx, uint32_t t, uint32_t worker)
{
    const hd__cb_job *j = (const hd__cb_job *)ctx;
    (void)worker;
    hd_conv_blocked_pad(j->cv, j->n, hd_task_begin(t, j->tasks, j->count, 1),
                        hd_task_begin(t + 1, j->tasks, j->count, 1), j->xp);
}

/* scratch: hd_conv_blocked_scratch_floats(cv) floats, shared. */
static inline void hd_conv_blocked_par(const hodu_exec *exec, const hd_conv_blocked *cv, float *scratch)
{
    const int64_t units = hd_conv_blocked_units(cv);
    double macs = (double)(cv->Mb * HD_CB) * (double)(cv->OH * cv->OW) *
                  (double)((cv->depthwise ? 1 : cv->Cb * hd__cb_ci(cv)) * cv->KH * cv->KW);
    /* a depthwise multiply-add costs a load: count it as several */
    double most = macs * (cv->depthwise ? 8.0 : 1.0) / (double)HD_SGEMM_PAR_MACS + 1.0;
    if (most > (double)units)
        most = (double)units;
    /* up to a few tasks per worker, claimed as they finish, to even out a
     * worker that starts late or runs slower; a whole number per worker */
    const uint32_t w = hd_task_count(exec, 4096u);
    const double per = most / (double)w;
    const uint32_t tasks = per >= HD_CB_TASKS_PER_WORKER ? w * HD_CB_TASKS_PER_WORKER
                           : per >= 1.0                  ? w * (uint32_t)per
                           : most >= 2.0                 ? (uint32_t)most
                                                         : 1;
    const int pad = !hd__cb_in_place(cv);
    for (int64_t n = 0; n < cv->N; n++) {
        if (pad) {
            int64_t floats = cv->Cb * hd__cb_hp(cv) * hd__cb_wp(cv) * hd__cb_ci(cv);
            hd__cb_job p = {cv, scratch, n, cv->Cb, hd_task_count(exec, floats >= HD__PAR_MIN_FLOATS ? 64u : 1u)};
            if (p.tasks > (uint32_t)cv->Cb)
                p.tasks = (uint32_t)cv->Cb;
            hd_parallel_for(exec, p.tasks, hd__cb_pad_task, &p);
        }
        hd__cb_job j = {cv, pad ? scratch : NULL, n, units, tasks};
        hd_parallel_for(exec, tasks, hd__cb_task, &j);
    }
}

/* hd_conv_dw_par: chunk t of the batch sums into dw (t = 0) or its partial,
 * image by image and grid-row chunk by chunk: dW_g += dY_g[Mg, nt] col^T;
 * then the partials are added in order, so the result does not depend on
 * the worker count. */
typedef struct hd__conv_dw_job {
    const hd_conv_dw *cv;
    unsigned char *workers;
    size_t worker_bytes;
    int64_t chunks;
} hd__conv_dw_job;

static inline void hd__conv_dw_task(void *ctx, uint32_t t, uint32_t worker)
{
    const hd__conv_dw_job *j = (const hd__conv_dw_job *)ctx;
    const hd_conv_dw *cv = j->cv;
    const hd_window *w = &cv->win;
    const int L = w->nd - 1;
    int64_t KP = 1, IP = 1, OP = 1, rows = 1;
    for (int i = 0; i < w->nd; i++) {
        KP *= w->k[i];
        IP *= w->in[i];
        OP *= w->out[i];
    }
    for (int i = 0; i < L; i++)
        rows *= w->in[i];
    const int64_t Kd = cv->Cg * KP, SL = w->s[L], GMK = cv->G * cv->Mg * Kd;
    const int64_t O0 = w->nd >= 2 ? w->out[0] : 1, inner = hd__conv_dw_inner(w), R = hd_conv_dw_rows(w, cv->Cg);
    const int64_t xsf = SL > 1 ? cv->Cg * rows * SL * ((w->in[L] + SL - 1) / SL) : 0;
    float *xs = (float *)(void *)(j->workers + (size_t)worker * j->worker_bytes);
    float *col = xs + (xsf + 15) / 16 * 16;
    float *gs = col + (Kd * R * inner + 15) / 16 * 16;
    float *acc = t == 0 ? cv->dw : cv->partial + (int64_t)(t - 1) * GMK;
    memset(acc, 0, (size_t)GMK * sizeof(float));
    int64_t n0 = hd_task_begin(t, (uint32_t)j->chunks, cv->N, 1),
            n1 = hd_task_begin(t + 1, (uint32_t)j->chunks, cv->N, 1);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < cv->G; g++) {
            const float *x = cv->x + (n * cv->G + g) * cv->Cg * IP;
            const float *dy = cv->dy + (n * cv->G + g) * cv->Mg * OP;
            if (SL > 1) {
                hd_phase_split_f32(x, cv->Cg * rows, w->in[L], SL, xs);
                x = xs;
            }
            for (int64_t r0 = 0; r0 < O0; r0 += R) {
                int64_t nr = O0 - r0 < R ? O0 - r0 : R, nt = nr * inner;
                hd_im2col_nd_f32(x, cv->Cg, w, r0, nr, col);
                hd_sgemm_op op = {cv->Mg,
                                  Kd,
                                  nt,
                                  dy + r0 * inner,
                                  OP,
                                  0,
                                  col,
                                  nt,
                                  1,
                                  NULL,
                                  acc + g * cv->Mg * Kd,
                                  Kd,
                                  1.0f,
                                  1.0f,
                                  1,
                                  0,
                                  0,
                                  0,
                                  NULL,
                                  NULL};
                hd_sgemm_run(&op, gs);
            }
        }
}

static inline void hd_conv_dw_par(const hodu_exec *exec, const hd_conv_dw *cv, unsigned char *workers,
                                  size_t worker_bytes)
{
    int64_t chunks = hd_conv_dw_chunks(cv->N), KP = 1;
    for (int i = 0; i < cv->win.nd; i++)
        KP *= cv->win.k[i];
    const int64_t GMK = cv->G * cv->Mg * cv->Cg * KP;
    hd__conv_dw_job j = {cv, workers, worker_bytes, chunks};
    hd_parallel_for(exec, (uint32_t)chunks, hd__conv_dw_task, &j);
    for (int64_t c = 1; c < chunks; c++)
        for (int64_t i = 0; i < GMK; i++)
            cv->dw[i] += cv->partial[(c - 1) * GMK + i];
}

#endif /* HODU_ABI_H */

/* ======================================================================
 * 8. FFT
 * ====================================================================== */

/* A plan is doubles: a header of HD_FFT_HDR (n, kind, factor count, the
 * factors), then for kind 0 the n twiddles w^j = exp(-2 pi i j/n); for
 * kind 1 (Bluestein) the chirp exp(-pi i j^2/n) (n complex), the
 * transform of the convolution kernel divided by m (m complex) and the
 * kind-0 plan of m.  Small integers are exact in double. */
#define HD_FFT_HDR       64
#define HD_FFT_MAX_RADIX 31
#define HD_FFT_MAX_N     ((int64_t)1 << 20)

/* Factors n into 4s, 2s and odd primes up to HD_FFT_MAX_RADIX (f has room
 * for HD_FFT_HDR - 4); returns what is left (1 when n factors fully). */
static inline int64_t hd__fft_factor(int64_t n, int64_t *f, int *nf)
{
    *nf = 0;
    while (n % 4 == 0)
        f[(*nf)++] = 4, n /= 4;
    while (n % 2 == 0)
        f[(*nf)++] = 2, n /= 2;
    for (int64_t p = 3; p <= HD_FFT_MAX_RADIX && n > 1; p += 2)
        while (n % p == 0)
            f[(*nf)++] = p, n /= p;
    return n;
}

/* Bluestein's power-of-two length for n. */
static inline int64_t hd__fft_blue_m(int64_t n)
{
    int64_t m = 1;
    while (m < 2 * n - 1)
        m *= 2;
    return m;
}

static inline int64_t hd_fft_plan_doubles(int64_t n)
{
    int64_t f[HD_FFT_HDR];
    int nf;
    if (n < 1 || n > HD_FFT_MAX_N)
        return 0;
    if (hd__fft_factor(n, f, &nf) == 1)
        return HD_FFT_HDR + 2 * n;
    int64_t m = hd__fft_blue_m(n);
    return HD_FFT_HDR + 2 * n + 2 * m + HD_FFT_HDR + 2 * m;
}

static inline int64_t hd_fft_work_doubles(int64_t n)
{
    int64_t f[HD_FFT_HDR];
    int nf;
    if (n < 1 || n > HD_FFT_MAX_N || hd__fft_factor(n, f, &nf) == 1)
        return 0;
    return 4 * hd__fft_blue_m(n);
}

/* exp(-2 pi i j / n) for j < n. */
static inline void hd__fft_twiddles(int64_t n, double *tw)
{
    const double two_pi = 6.283185307179586476925286766559;
    for (int64_t j = 0; j < n; j++) {
        double a = two_pi * (double)j / (double)n;
        tw[2 * j] = cos(a);
        tw[2 * j + 1] = -sin(a);
    }
}

/* Out-of-place decimation in time: y[0..n) = DFT of x[0], x[xs], ...
 * (strides in complex values); tw is the table of the whole length N. */
static inline void hd__fft_rec(const double *tw, int64_t N, const double *f, const double *x, int64_t xs, double *y,
                               int64_t n)
{
    int64_t p = (int64_t)f[0], m = n / p;
    if (m == 1) {
        for (int64_t r = 0; r < p; r++) {
            y[2 * r] = x[2 * r * xs];
            y[2 * r + 1] = x[2 * r * xs + 1];
        }
    } else {
        for (int64_t r = 0; r < p; r++)
            hd__fft_rec(tw, N, f + 1, x + 2 * r * xs, xs * p, y + 2 * r * m, m);
    }
    int64_t ts = N / n; /* w_n^j = tw[j * ts] */
    if (p == 2) {
        for (int64_t k = 0; k < m; k++) {
            double *a = y + 2 * k, *b = y + 2 * (k + m);
            double wr = tw[2 * k * ts], wi = tw[2 * k * ts + 1];
            double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
            b[0] = a[0] - br;
            b[1] = a[1] - bi;
            a[0] += br;
            a[1] += bi;
        }
        return;
    }
    if (p == 4) {
        for (int64_t k = 0; k < m; k++) {
            double t[8];
            for (int r = 0; r < 4; r++) {
                const double *v = y + 2 * (k + r * m);
                double wr = tw[2 * r * k * ts], wi = tw[2 * r * k * ts + 1];
                t[2 * r] = v[0] * wr - v[1] * wi;
                t[2 * r + 1] = v[0] * wi + v[1] * wr;
            }
            double ar = t[0] + t[4], ai = t[1] + t[5], br = t[0] - t[4], bi = t[1] - t[5];
            double cr = t[2] + t[6], ci = t[3] + t[7], dr = t[2] - t[6], di = t[3] - t[7];
            double *o0 = y + 2 * k, *o1 = y + 2 * (k + m), *o2 = y + 2 * (k + 2 * m), *o3 = y + 2 * (k + 3 * m);
            o0[0] = ar + cr, o0[1] = ai + ci;
            o2[0] = ar - cr, o2[1] = ai - ci;
            o1[0] = br + di, o1[1] = bi - dr; /* b - i d */
            o3[0] = br - di, o3[1] = bi + dr; /* b + i d */
        }
        return;
    }
    /* odd prime p: the direct p-point DFT of the twiddled values */
    int64_t ps = N / p; /* w_p^j = tw[j * ps] */
    double t[2 * HD_FFT_MAX_RADIX];
    for (int64_t k = 0; k < m; k++) {
        for (int64_t r = 0; r < p; r++) {
            const double *v = y + 2 * (k + r * m);
            double wr = tw[2 * r * k * ts], wi = tw[2 * r * k * ts + 1];
            t[2 * r] = v[0] * wr - v[1] * wi;
            t[2 * r + 1] = v[0] * wi + v[1] * wr;
        }
        for (int64_t q = 0; q < p; q++) {
            double sr = t[0], si = t[1];
            int64_t e = 0;
            for (int64_t r = 1; r < p; r++) {
                e += q;
                if (e >= p)
                    e -= p;
                double wr = tw[2 * e * ps], wi = tw[2 * e * ps + 1];
                sr += t[2 * r] * wr - t[2 * r + 1] * wi;
                si += t[2 * r] * wi + t[2 * r + 1] * wr;
            }
            y[2 * (k + q * m)] = sr;
            y[2 * (k + q * m) + 1] = si;
        }
    }
}

/* y = DFT(x) with a kind-0 plan. */
static inline void hd__fft_direct(const double *plan, const double *x, double *y)
{
    int64_t n = (int64_t)plan[0];
    if (n == 1) {
        y[0] = x[0];
        y[1] = x[1];
        return;
    }
    hd__fft_rec(plan + HD_FFT_HDR, n, plan + 3, x, 1, y, n);
}

/* A kind-0 (mixed-radix) plan for n; 0 when n has a factor the direct
 * transform does not take. */
static inline int hd__fft_plan_direct(int64_t n, double *plan)
{
    int64_t f[HD_FFT_HDR];
    int nf;
    memset(plan, 0, HD_FFT_HDR * sizeof(double));
    plan[0] = (double)n;
    if (hd__fft_factor(n, f, &nf) != 1)
        return 0;
    plan[2] = nf;
    for (int i = 0; i < nf; i++)
        plan[3 + i] = (double)f[i];
    hd__fft_twiddles(n, plan + HD_FFT_HDR);
    return 1;
}

static inline void hd_fft_plan_init(int64_t n, double *plan, double *work)
{
    if (hd__fft_plan_direct(n, plan))
        return;
    int64_t m = hd__fft_blue_m(n);
    plan[1] = 1;
    plan[3] = (double)m;
    double *chirp = plan + HD_FFT_HDR, *kern = chirp + 2 * n, *sub = kern + 2 * m;
    /* m is a power of two: its plan is a direct one (and needs no work) */
    hd__fft_plan_direct(m, sub);
    /* chirp[j] = exp(-pi i j^2 / n), with j^2 reduced mod 2n exactly */
    const double pi = 3.14159265358979323846264338327950;
    int64_t sq = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j > 0) {
            sq += 2 * j - 1;
            sq %= 2 * n;
        }
        double a = pi * (double)sq / (double)n;
        chirp[2 * j] = cos(a);
        chirp[2 * j + 1] = -sin(a);
    }
    /* kernel b[j] = b[m - j] = conj(chirp[j]) for j < n, 0 between */
    double *b = work;
    memset(b, 0, (size_t)(2 * m) * sizeof(double));
    for (int64_t j = 0; j < n; j++) {
        b[2 * j] = chirp[2 * j];
        b[2 * j + 1] = -chirp[2 * j + 1];
        if (j > 0) {
            b[2 * (m - j)] = b[2 * j];
            b[2 * (m - j) + 1] = b[2 * j + 1];
        }
    }
    hd__fft_direct(sub, b, kern);
    for (int64_t k = 0; k < 2 * m; k++)
        kern[k] /= (double)m;
}

static inline void hd_fft_run(const double *plan, double *x, double *y, double *work, int inverse)
{
    int64_t n = (int64_t)plan[0];
    if (inverse)
        for (int64_t j = 0; j < n; j++)
            x[2 * j + 1] = -x[2 * j + 1];
    if (plan[1] == 0) {
        hd__fft_direct(plan, x, y);
    } else {
        /* X[k] = chirp[k] * sum_j (x[j] chirp[j]) conj(chirp[k - j]): a
         * circular convolution of length m, by three transforms (the
         * kernel's done at plan time; the inverse one as a conjugated
         * forward one, its 1/m folded into the kernel). */
        int64_t m = (int64_t)plan[3];
        const double *chirp = plan + HD_FFT_HDR, *kern = chirp + 2 * n, *sub = kern + 2 * m;
        double *a = work, *b = work + 2 * m;
        for (int64_t j = 0; j < n; j++) {
            double xr = x[2 * j], xi = x[2 * j + 1], cr = chirp[2 * j], ci = chirp[2 * j + 1];
            a[2 * j] = xr * cr - xi * ci;
            a[2 * j + 1] = xr * ci + xi * cr;
        }
        memset(a + 2 * n, 0, (size_t)(2 * (m - n)) * sizeof(double));
        hd__fft_direct(sub, a, b);
        for (int64_t k = 0; k < m; k++) {
            double br = b[2 * k], bi = b[2 * k + 1], kr = kern[2 * k], ki = kern[2 * k + 1];
            b[2 * k] = br * kr - bi * ki;
            b[2 * k + 1] = -(br * ki + bi * kr);
        }
        hd__fft_direct(sub, b, a);
        for (int64_t k = 0; k < n; k++) {
            double ar = a[2 * k], ai = -a[2 * k + 1], cr = chirp[2 * k], ci = chirp[2 * k + 1];
            y[2 * k] = ar * cr - ai * ci;
            y[2 * k + 1] = ar * ci + ai * cr;
        }
    }
    if (inverse)
        for (int64_t k = 0; k < n; k++)
            y[2 * k + 1] = -y[2 * k + 1];
}

/* ------------------------------------------------------------------------ */
/* 9. Counter-based random numbers: Philox4x32-10                            */
/* ------------------------------------------------------------------------ */

/* One Philox round: two 32x32->64 products scramble the counter words,
 * the key is mixed in by xor, and the words change places. */
static inline void hd__philox_round(uint32_t c[4], uint32_t k0, uint32_t k1)
{
    const uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
    const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
}

static inline void hd_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* the key schedule: Weyl steps by the golden ratio and sqrt(3) - 1 */
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        hd__philox_round(c, k0, k1);
    }
    out[0] = c[0];
    out[1] = c[1];
    out[2] = c[2];
    out[3] = c[3];
}

static inline void hd_rand_block(uint32_t k0, uint32_t k1, uint32_t stream, uint64_t block, uint32_t out[4])
{
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), stream, 0}, key[2] = {k0, k1};
    hd_philox4x32_10(ctr, key, out);
}

static inline float hd_rand_u24(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }

static inline double hd_rand_u53(uint32_t a, uint32_t b) { return (double)((((uint64_t)a << 32) | b) >> 11) * 0x1p-53; }

static inline void hd_rand_normal2(uint32_t a, uint32_t b, uint32_t c, uint32_t d, double z[2])
{
    const double u1 = 1.0 - hd_rand_u53(a, b), u2 = hd_rand_u53(c, d);
    const double r = sqrt(-2.0 * log(u1)), t = 6.283185307179586476925286766559 * u2;
    z[0] = r * cos(t);
    z[1] = r * sin(t);
}

#endif /* HODU_KERNELS_H */
