// GEMM micro-kernels: a portable one and an AVX2 + FMA one (6 x 16).
// Every kernel computes a full mr x nr tile; the driver routes edge tiles
// through a scratch tile so the arithmetic is the same everywhere.
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// ---------------------------------------------------------------------------
// Portable: 6 x 8. Plain loops over a fixed-size accumulator, which the
// compiler keeps in registers and vectorizes for the baseline ISA (12 xmm
// accumulators with SSE2, NEON on arm64).
// ---------------------------------------------------------------------------
#define GMR 6
#define GNR 8

void ck_ukernel_generic(int kc, const float *restrict a,
                        const float *restrict b, ptrdiff_t ldb,
                        float *restrict c, ptrdiff_t ldc, float alpha,
                        float beta) {
    float acc[GMR][GNR];
    for (int i = 0; i < GMR; i++)
        for (int j = 0; j < GNR; j++) acc[i][j] = 0.0f;
    for (int p = 0; p < kc; p++) {
        for (int i = 0; i < GMR; i++) {
            float ai = a[i];
            for (int j = 0; j < GNR; j++) acc[i][j] += ai * b[j];
        }
        a += GMR;
        b += ldb;
    }
    for (int i = 0; i < GMR; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) {
            for (int j = 0; j < GNR; j++) ci[j] = alpha * acc[i][j];
        } else {
            for (int j = 0; j < GNR; j++)
                ci[j] = alpha * acc[i][j] + beta * ci[j];
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)

// ---------------------------------------------------------------------------
// AVX2 + FMA: 6 x 16, 12 ymm accumulators; per k two B loads, six A
// broadcasts and twelve FMAs (two FMA pipes of latency 4 need >= 8 chains).
// ---------------------------------------------------------------------------
#define TGT_AVX2 __attribute__((target("avx2,fma")))

#define AVX2_ROW(i)                                                           \
    do {                                                                      \
        __m256 ai = _mm256_broadcast_ss(a + (i));                             \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                           \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                           \
    } while (0)

#define AVX2_STEP()                                                           \
    do {                                                                      \
        __m256 b0 = _mm256_loadu_ps(b);                                       \
        __m256 b1 = _mm256_loadu_ps(b + 8);                                   \
        AVX2_ROW(0);                                                          \
        AVX2_ROW(1);                                                          \
        AVX2_ROW(2);                                                          \
        AVX2_ROW(3);                                                          \
        AVX2_ROW(4);                                                          \
        AVX2_ROW(5);                                                          \
        a += 6;                                                               \
        b += ldb;                                                             \
    } while (0)

// beta == 0: C is written without being read (it may hold NaN garbage).
// alpha == 1 (every conv's product) stores the sums as they are: the same
// bits as 1 * sum, without twelve multiplies on the FMA pipes, 6% of a
// k = 16 tile (the U-Net's 16-channel Winograd products).
#define AVX2_STORE(i)                                                         \
    do {                                                                      \
        float *ci = c + (i)*ldc;                                              \
        if (beta == 0.0f && alpha == 1.0f) {                                  \
            _mm256_storeu_ps(ci, c##i##0);                                    \
            _mm256_storeu_ps(ci + 8, c##i##1);                                \
        } else if (beta == 0.0f) {                                            \
            _mm256_storeu_ps(ci, _mm256_mul_ps(va, c##i##0));                 \
            _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, c##i##1));             \
        } else if (beta == 1.0f) {                                            \
            __m256 x0 = _mm256_loadu_ps(ci);                                  \
            __m256 x1 = _mm256_loadu_ps(ci + 8);                              \
            _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, c##i##0, x0));           \
            _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, c##i##1, x1));       \
        } else {                                                              \
            __m256 x0 = _mm256_mul_ps(vb, _mm256_loadu_ps(ci));               \
            __m256 x1 = _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8));           \
            _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, c##i##0, x0));           \
            _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, c##i##1, x1));       \
        }                                                                     \
    } while (0)

TGT_AVX2 void ck_ukernel_avx2(int kc, const float *restrict a,
                              const float *restrict b, ptrdiff_t ldb,
                              float *restrict c, ptrdiff_t ldc, float alpha,
                              float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    // Bring the C tile in while the k loop runs.
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
        AVX2_STEP();
        AVX2_STEP();
        AVX2_STEP();
        AVX2_STEP();
    }
    for (; p < kc; p++) AVX2_STEP();
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    AVX2_STORE(0);
    AVX2_STORE(1);
    AVX2_STORE(2);
    AVX2_STORE(3);
    AVX2_STORE(4);
    AVX2_STORE(5);
}

#endif  // x86
