// AVX-512F GEMM micro-kernel: 6 x 32, the AVX2 6 x 16 kernel at twice the
// width (12 zmm accumulators, two B loads and six broadcasts per k).
// Not exercised on CPUs without AVX-512 (ck_force_isa refuses it there).
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT_AVX512 __attribute__((target("avx512f")))

#define Z_ROW(i)                                                              \
    do {                                                                      \
        __m512 ai = _mm512_set1_ps(a[i]);                                     \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                           \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                           \
    } while (0)

#define Z_STEP()                                                              \
    do {                                                                      \
        __m512 b0 = _mm512_loadu_ps(b);                                       \
        __m512 b1 = _mm512_loadu_ps(b + 16);                                  \
        Z_ROW(0);                                                             \
        Z_ROW(1);                                                             \
        Z_ROW(2);                                                             \
        Z_ROW(3);                                                             \
        Z_ROW(4);                                                             \
        Z_ROW(5);                                                             \
        a += 6;                                                               \
        b += ldb;                                                             \
    } while (0)

#define Z_STORE(i)                                                            \
    do {                                                                      \
        float *ci = c + (i)*ldc;                                              \
        if (beta == 0.0f) {                                                   \
            _mm512_storeu_ps(ci, _mm512_mul_ps(va, c##i##0));                 \
            _mm512_storeu_ps(ci + 16, _mm512_mul_ps(va, c##i##1));            \
        } else if (beta == 1.0f) {                                            \
            _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, c##i##0,                 \
                                                 _mm512_loadu_ps(ci)));       \
            _mm512_storeu_ps(ci + 16,                                         \
                             _mm512_fmadd_ps(va, c##i##1,                     \
                                             _mm512_loadu_ps(ci + 16)));      \
        } else {                                                              \
            __m512 x0 = _mm512_mul_ps(vb, _mm512_loadu_ps(ci));               \
            __m512 x1 = _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16));          \
            _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, c##i##0, x0));           \
            _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(va, c##i##1, x1));      \
        }                                                                     \
    } while (0)

TGT_AVX512 void ck_ukernel_avx512(int kc, const float *restrict a,
                                  const float *restrict b, ptrdiff_t ldb,
                                  float *restrict c, ptrdiff_t ldc,
                                  float alpha, float beta) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    for (int i = 0; i < 6; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
        Z_STEP();
        Z_STEP();
        Z_STEP();
        Z_STEP();
    }
    for (; p < kc; p++) Z_STEP();
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    Z_STORE(0);
    Z_STORE(1);
    Z_STORE(2);
    Z_STORE(3);
    Z_STORE(4);
    Z_STORE(5);
}

#endif  // x86
