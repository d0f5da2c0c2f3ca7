// AVX2 packing for the two transposing cases (A stored M x K into 6-row
// panels, B stored N x K into 16-column panels): 8 x 8 register transposes
// instead of one scalar load and store per element.
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// Transposes r[0..8) (rows of 8) in place: afterwards r[k] holds column k.
TGT INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
    __m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
    __m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
    __m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
    __m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44);
    __m256 s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44);
    __m256 s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44);
    __m256 s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44);
    __m256 s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// A full 6-row panel of A (M x K storage): 6 rows starting at src.
TGT static void pack_a6_rows(const float *src, ptrdiff_t lda, int kc,
                             float *out) {
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; i++) r[i] = _mm256_loadu_ps(src + i * lda + p);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8(r);
        float *o = out + p * 6;
        // Overlapping 8-wide stores, in order, so each k's two stray
        // lanes are overwritten by the next k; the last one stores 6.
        for (int k = 0; k < 7; k++) _mm256_storeu_ps(o + k * 6, r[k]);
        _mm_storeu_ps(o + 42, _mm256_castps256_ps128(r[7]));
        _mm_storel_pi((__m64 *)(o + 46), _mm256_extractf128_ps(r[7], 1));
    }
    for (; p < kc; p++)
        for (int i = 0; i < 6; i++) out[p * 6 + i] = src[i * lda + p];
}

TGT void ck_pack_a6_avx2(const float *a, ptrdiff_t lda, int i0, int mc, int p0,
                         int kc, float *out) {
    int i = 0;
    for (; i + 6 <= mc; i += 6, out += 6 * kc)
        pack_a6_rows(a + (ptrdiff_t)(i0 + i) * lda + p0, lda, kc, out);
    if (i < mc) {
        const int rows = mc - i;
        const float *src = a + (ptrdiff_t)(i0 + i) * lda + p0;
        for (int p = 0; p < kc; p++)
            for (int r = 0; r < 6; r++)
                out[p * 6 + r] = r < rows ? src[r * lda + p] : 0.0f;
    }
}

// A full 16-column panel of op(B) where B is N x K: 16 rows from src.
TGT static void pack_b16_rows(const float *src, ptrdiff_t ldb, int kc,
                              float *out) {
    int p = 0;
    for (; p + 8 <= kc; p += 8) {
        __m256 lo[8], hi[8];
        for (int j = 0; j < 8; j++) {
            lo[j] = _mm256_loadu_ps(src + j * ldb + p);
            hi[j] = _mm256_loadu_ps(src + (j + 8) * ldb + p);
        }
        transpose8(lo);
        transpose8(hi);
        float *o = out + p * 16;
        for (int k = 0; k < 8; k++) {
            _mm256_store_ps(o + k * 16, lo[k]);
            _mm256_store_ps(o + k * 16 + 8, hi[k]);
        }
    }
    for (; p < kc; p++)
        for (int j = 0; j < 16; j++) out[p * 16 + j] = src[j * ldb + p];
}

TGT void ck_pack_bt16_avx2(const float *b, ptrdiff_t ldb, int p0, int kc,
                           int j0, int nc, float *out) {
    int j = 0;
    for (; j + 16 <= nc; j += 16, out += 16 * kc)
        pack_b16_rows(b + (ptrdiff_t)(j0 + j) * ldb + p0, ldb, kc, out);
    if (j < nc) {
        const int cols = nc - j;
        const float *src = b + (ptrdiff_t)(j0 + j) * ldb + p0;
        for (int p = 0; p < kc; p++)
            for (int c = 0; c < 16; c++)
                out[p * 16 + c] = c < cols ? src[c * ldb + p] : 0.0f;
    }
}

#endif  // x86
