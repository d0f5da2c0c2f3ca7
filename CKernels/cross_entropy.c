// Softmax cross-entropy against class indices, over a class axis that is
// either last ([rows, classes]: inner = 1) or in the middle ([outer,
// classes, inner], a segmentation model's NCHW scores with inner = H * W),
// so per-pixel losses need no transposed copy.
//
// The forward pass keeps the probabilities, so the backward pass is one
// multiply per score. A position on its own (inner = 1, or the last few of
// a row) takes the arithmetic of ck_softmax_f32 (max, then the
// exponentials summed in double in class order); with AVX2, eight
// neighbouring positions of a plane go together through a vector exp and
// log (relative error below 2e-7). The loss is summed in double over
// positions in order within blocks of CK_XENT_BLOCK positions, and the
// blocks' sums are added in order: the result does not depend on the thread
// count, and up to one block it is the plain sequential sum.
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "ckernels.h"
#include "workspace.h"

#define CK_XENT_BLOCK 16384
// Below this many scores the loss runs on the calling thread.
#define CK_XENT_PARALLEL_MIN 32768

// The class index a float label holds, or -1 when it holds none.
static inline int64_t label_class(float v, int64_t classes) {
    if (!(v >= 0.0f) || v >= (float)classes) return -1;
    const int64_t c = (int64_t)v;
    return (float)c == v ? c : -1;
}

// One position: its classes classes at x[j * inner] to probabilities at
// p[j * inner]; returns the log-sum-exp.
static inline float position(const float *x, int64_t classes, int64_t inner,
                             float *p) {
    float m = x[0];
    for (int64_t j = 1; j < classes; j++)
        m = x[j * inner] > m ? x[j * inner] : m;
    double sum = 0;
    for (int64_t j = 0; j < classes; j++) {
        const float e = expf(x[j * inner] - m);
        p[j * inner] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < classes; j++) p[j * inner] *= inv;
    return m + (float)log(sum);
}

#if defined(__x86_64__) || defined(__i386__)
#define TGT __attribute__((target("avx2,fma")))

// e^x lane by lane: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor
// series to r^7 (relative error below 1e-8), times 2^n. Below -87.3 the
// result is about 1e-38 instead of smaller; a NaN stays NaN.
TGT static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);  // NaN-preserving order
    x = _mm256_min_ps(_mm256_set1_ps(88.7f), x);
    const __m256 n =
        _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // ln 2 in two parts, so n * hi is exact.
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 q = _mm256_set1_ps(1.0f / 5040);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 720));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 120));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 24));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 6));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.5f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                           _mm256_set1_epi32(127)),
                          23);
    return _mm256_mul_ps(q, _mm256_castsi256_ps(e));
}

// log x lane by lane for positive normal x (or NaN): x = f 2^e with f in
// [sqrt(1/2), sqrt(2)), log f = 2 atanh(t), t = (f - 1) / (f + 1), by its
// series to t^9 (|t| < 0.172: relative error below 1e-9).
TGT static inline __m256 log8(__m256 x) {
    const __m256i bits = _mm256_castps_si256(x);
    __m256i e =
        _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
    __m256 f = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                        _mm256_set1_epi32(0x3f800000)));
    const __m256 big =
        _mm256_cmp_ps(f, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    f = _mm256_blendv_ps(f, _mm256_mul_ps(f, _mm256_set1_ps(0.5f)), big);
    e = _mm256_sub_epi32(e, _mm256_castps_si256(big));  // big lanes are -1
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t =
        _mm256_div_ps(_mm256_sub_ps(f, one), _mm256_add_ps(f, one));
    const __m256 t2 = _mm256_mul_ps(t, t);
    __m256 s = _mm256_set1_ps(1.0f / 9);
    s = _mm256_fmadd_ps(s, t2, _mm256_set1_ps(1.0f / 7));
    s = _mm256_fmadd_ps(s, t2, _mm256_set1_ps(1.0f / 5));
    s = _mm256_fmadd_ps(s, t2, _mm256_set1_ps(1.0f / 3));
    s = _mm256_fmadd_ps(s, t2, one);
    const __m256 logf = _mm256_mul_ps(_mm256_add_ps(t, t), s);
    const __m256 y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(e),
                                     _mm256_set1_ps(0.693147181f), logf);
    // A NaN's bits would read as a finite f and e: keep it NaN.
    return _mm256_or_ps(y, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Eight positions of one plane (x[j * inner + l], l < 8): probabilities to
// p, log-sum-exps to lse.
TGT static void positions8(const float *x, int64_t classes, int64_t inner,
                           float *p, float *lse) {
    __m256 m = _mm256_loadu_ps(x);
    for (int64_t j = 1; j < classes; j++)
        m = _mm256_max_ps(m, _mm256_loadu_ps(x + j * inner));
    __m256 sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < classes; j++) {
        const __m256 e =
            exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j * inner), m));
        _mm256_storeu_ps(p + j * inner, e);
        sum = _mm256_add_ps(sum, e);
    }
    const __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
    for (int64_t j = 0; j < classes; j++)
        _mm256_storeu_ps(p + j * inner,
                         _mm256_mul_ps(_mm256_loadu_ps(p + j * inner), inv));
    _mm256_storeu_ps(lse, _mm256_add_ps(m, log8(sum)));
}
#endif

int64_t ck_softmax_xent_f32(int64_t outer, int64_t classes, int64_t inner,
                            const float *x, const float *labels,
                            const float *weights, float *prob, double *loss,
                            double *weight_sum) {
    const int64_t rows = outer * inner;
    const int64_t blocks = (rows + CK_XENT_BLOCK - 1) / CK_XENT_BLOCK;
    // Per block: loss, weight sum, first bad position (as a double).
    double *part = (double *)ck_ws_floats(CK_WS_AUX, 6 * (size_t)blocks);
#if defined(__x86_64__) || defined(__i386__)
    const int vector = inner >= 8 && ck_use_avx2();
#else
    const int vector = 0;
#endif
#pragma omp parallel for schedule(static) if (rows * classes >=               \
                                              CK_XENT_PARALLEL_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t r1 =
            (b + 1) * CK_XENT_BLOCK < rows ? (b + 1) * CK_XENT_BLOCK : rows;
        double total = 0, wsum = 0;
        int64_t bad = -1;
        int64_t o = b * CK_XENT_BLOCK / inner, i = b * CK_XENT_BLOCK % inner;
        for (int64_t r = b * CK_XENT_BLOCK; r < r1;) {
            // Positions r .. r + n - 1, all in plane row o.
            const int64_t at = o * classes * inner + i;
            float lse[8];
            int64_t n = 1;
#if defined(__x86_64__) || defined(__i386__)
            if (vector && i + 8 <= inner && r + 8 <= r1) {
                positions8(x + at, classes, inner, prob + at, lse);
                n = 8;
            } else
#endif
                lse[0] = position(x + at, classes, inner, prob + at);
            for (int64_t l = 0; l < n; l++) {
                const int64_t c = label_class(labels[r + l], classes);
                if (c < 0) {
                    if (bad < 0) bad = r + l;
                    continue;
                }
                const double w = weights ? (double)weights[c] : 1.0;
                total -= w * (double)(x[at + c * inner + l] - lse[l]);
                wsum += w;
            }
            r += n;
            i += n;
            if (i == inner) i = 0, o++;
        }
        part[3 * b] = total;
        part[3 * b + 1] = wsum;
        part[3 * b + 2] = (double)bad;
    }
    double total = 0, wsum = 0;
    for (int64_t b = 0; b < blocks; b++) {
        if (part[3 * b + 2] >= 0) return (int64_t)part[3 * b + 2];
        total += part[3 * b];
        wsum += part[3 * b + 1];
    }
    *loss = total;
    *weight_sum = wsum;
    return -1;
}

void ck_softmax_xent_backward_f32(int64_t outer, int64_t classes,
                                  int64_t inner, const float *prob,
                                  const float *labels, const float *weights,
                                  float scale, float *dx) {
#pragma omp parallel for schedule(static) if (outer * classes * inner >=      \
                                              CK_XENT_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < classes; j++) {
            const float *p = prob + (o * classes + j) * inner;
            float *d = dx + (o * classes + j) * inner;
            const float *y = labels + o * inner;
            // Labels were checked by the forward pass.
            for (int64_t i = 0; i < inner; i++) {
                const int64_t c = (int64_t)y[i];
                const float w = (weights ? weights[c] : 1.0f) * scale;
                d[i] = w * (p[i] - (j == c ? 1.0f : 0.0f));
            }
        }
}
