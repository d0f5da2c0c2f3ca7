// Measures the machine's peak FP32 throughput with a loop of independent
// FMAs (or mul + add without FMA) in the widest ISA the kernels use, so the
// benchmark can report each kernel as a share of what the cores can do.
// clock_gettime is POSIX, not ISO C.
#define _POSIX_C_SOURCE 199309L

#include "ckernels.h"
#include "gemm_internal.h"

#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define PEAK_ITERS 8000000L

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Each loop returns flops done; x is a run-time value so nothing folds.
// 12 independent chains of 4-lane vectors (SSE2 on x86-64, NEON on arm64);
// the vector extension keeps the compiler from scalarizing the loop.
typedef float ck_v4 __attribute__((vector_size(16)));

static double peak_generic(float x, float *sink) {
    ck_v4 acc[12];
    const ck_v4 vx = {x, x, x, x}, vy = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    for (int i = 0; i < 12; i++) acc[i] = vy * (float)i;
    for (long it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < 12; i++) acc[i] = acc[i] * vx + vy;
    float s = 0.0f;
    for (int i = 0; i < 12; i++)
        s += acc[i][0] + acc[i][1] + acc[i][2] + acc[i][3];
    *sink = s;
    return 2.0 * 48 * PEAK_ITERS;
}

#if defined(__x86_64__) || defined(__i386__)
#define PEAK_LOOP(T, SET1, FMA, ADD, W)                                       \
    T vx = SET1(x), vy = SET1(1e-7f);                                         \
    T a0 = SET1(1), a1 = SET1(2), a2 = SET1(3), a3 = SET1(4);                 \
    T a4 = SET1(5), a5 = SET1(6), a6 = SET1(7), a7 = SET1(8);                 \
    T a8 = SET1(9), a9 = SET1(10), a10 = SET1(11), a11 = SET1(12);            \
    for (long it = 0; it < PEAK_ITERS; it++) {                                \
        a0 = FMA(a0, vx, vy);                                                 \
        a1 = FMA(a1, vx, vy);                                                 \
        a2 = FMA(a2, vx, vy);                                                 \
        a3 = FMA(a3, vx, vy);                                                 \
        a4 = FMA(a4, vx, vy);                                                 \
        a5 = FMA(a5, vx, vy);                                                 \
        a6 = FMA(a6, vx, vy);                                                 \
        a7 = FMA(a7, vx, vy);                                                 \
        a8 = FMA(a8, vx, vy);                                                 \
        a9 = FMA(a9, vx, vy);                                                 \
        a10 = FMA(a10, vx, vy);                                               \
        a11 = FMA(a11, vx, vy);                                               \
    }                                                                         \
    T s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));  \
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                              \
    float lanes[W];                                                           \
    memcpy(lanes, &s, sizeof lanes);                                          \
    *sink = lanes[0];                                                         \
    return 2.0 * 12 * W * PEAK_ITERS;

__attribute__((target("avx2,fma"))) static double peak_avx2(float x,
                                                            float *sink) {
    PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, 8)
}

__attribute__((target("avx512f"))) static double peak_avx512(float x,
                                                             float *sink) {
    PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, 16)
}
#endif

static double peak_run(int isa, float x, float *sink) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == CK_ISA_AVX512) return peak_avx512(x, sink);
    if (isa == CK_ISA_AVX2) return peak_avx2(x, sink);
#endif
    (void)isa;
    return peak_generic(x, sink);
}

double ck_measure_peak_gflops(int threads) {
    if (threads < 1) threads = 1;
    const int isa = ck_isa_current();
    volatile float x = 0.999999f;
    float total = 0.0f;
    double best = 0.0;
    // The first round also wakes the cores up to full clock; the best of
    // many short rounds is the least disturbed by other processes.
    for (int round = 0; round < 10; round++) {
        double flops = 0.0;
        double t0 = seconds();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : flops, total)
#endif
        {
            float s = 0.0f;
            flops += peak_run(isa, x, &s);
            total += s;
        }
        double gf = flops / (seconds() - t0) * 1e-9;
        if (round > 0 && gf > best) best = gf;
    }
    // Using the sums keeps the loops from being optimized away.
    return total == 12345.0f ? best + 1e-9 : best;
}
