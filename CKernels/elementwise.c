// Element-wise maps, broadcasting binary ops and axis reductions.
// Every loop here is over independent outputs, so results never depend on
// the number of threads.
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "ckernels.h"
#include "workspace.h"

// Below this many elements the OpenMP fork costs more than it saves.
#define CK_PARALLEL_MIN 32768

static inline float apply_binary(ck_binary_op op, float a, float b) {
    switch (op) {
    case CK_ADD: return a + b;
    case CK_SUB: return a - b;
    case CK_MUL: return a * b;
    case CK_DIV: return a / b;
    case CK_POW: return powf(a, b);
    case CK_MAX: return a > b ? a : b;
    case CK_MIN: return a < b ? a : b;
    }
    return 0.0f;
}

// The innermost axis as a tight loop; the compiler vectorizes the contiguous
// cases because the op is a compile-time constant after inlining.
#define CK_INNER_LOOP(OP, EXPR)                                               \
    case OP:                                                                  \
        if (sa == 1 && sb == 1) {                                             \
            for (int64_t i = 0; i < n; i++) {                                 \
                float x = a[i], y = b[i];                                     \
                out[i] = (EXPR);                                              \
            }                                                                 \
        } else if (sa == 1 && sb == 0) {                                      \
            float y = b[0];                                                   \
            for (int64_t i = 0; i < n; i++) {                                 \
                float x = a[i];                                               \
                out[i] = (EXPR);                                              \
            }                                                                 \
        } else if (sa == 0 && sb == 1) {                                      \
            float x = a[0];                                                   \
            for (int64_t i = 0; i < n; i++) {                                 \
                float y = b[i];                                               \
                out[i] = (EXPR);                                              \
            }                                                                 \
        } else {                                                              \
            for (int64_t i = 0; i < n; i++) {                                 \
                float x = a[i * sa], y = b[i * sb];                           \
                out[i] = (EXPR);                                              \
            }                                                                 \
        }                                                                     \
        break;

static void binary_row(ck_binary_op op, int64_t n, const float *a, int64_t sa,
                       const float *b, int64_t sb, float *out) {
    switch (op) {
        CK_INNER_LOOP(CK_ADD, x + y)
        CK_INNER_LOOP(CK_SUB, x - y)
        CK_INNER_LOOP(CK_MUL, x * y)
        CK_INNER_LOOP(CK_DIV, x / y)
        CK_INNER_LOOP(CK_MAX, x > y ? x : y)
        CK_INNER_LOOP(CK_MIN, x < y ? x : y)
    default:
        for (int64_t i = 0; i < n; i++)
            out[i] = apply_binary(op, a[i * sa], b[i * sb]);
    }
}

void ck_binary_f32(ck_binary_op op, int rank, const int64_t *dims,
                   const float *a, const int64_t *a_strides, const float *b,
                   const int64_t *b_strides, float *out) {
    if (rank == 0) {
        out[0] = apply_binary(op, a[0], b[0]);
        return;
    }
    int64_t inner = dims[rank - 1];
    int64_t rows = 1;
    for (int d = 0; d < rank - 1; d++) rows *= dims[d];
    int64_t total = rows * inner;
#pragma omp parallel for schedule(static) if (total >= CK_PARALLEL_MIN &&     \
                                              rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        // Decompose the row index into outer coordinates.
        int64_t rem = r, oa = 0, ob = 0;
        for (int d = rank - 2; d >= 0; d--) {
            int64_t coord = rem % dims[d];
            rem /= dims[d];
            oa += coord * a_strides[d];
            ob += coord * b_strides[d];
        }
        binary_row(op, inner, a + oa, a_strides[rank - 1], b + ob,
                   b_strides[rank - 1], out + r * inner);
    }
}

// One loop per op (the switch sits outside) so each loop vectorizes.
// (Not formatted: _Pragma takes one string literal, which clang-format
// would split.)
// clang-format off
#define CK_UNARY_LOOP(EXPR)                                                   \
    _Pragma("omp parallel for schedule(static) if (count >= CK_PARALLEL_MIN)") \
    for (int64_t i = 0; i < count; i++) {                                     \
        float v = x[i];                                                       \
        out[i] = (EXPR);                                                      \
    }
// clang-format on

static inline float stable_sigmoid(float v) {
    // Split by sign so exp never overflows.
    if (v >= 0) return 1.0f / (1.0f + expf(-v));
    float e = expf(v);
    return e / (1.0f + e);
}

void ck_unary_f32(ck_unary_op op, int64_t count, const float *x, float *out) {
    switch (op) {
    case CK_NEG: CK_UNARY_LOOP(-v) break;
    case CK_EXP: CK_UNARY_LOOP(expf(v)) break;
    case CK_LOG: CK_UNARY_LOOP(logf(v)) break;
    case CK_SQRT: CK_UNARY_LOOP(sqrtf(v)) break;
    case CK_TANH: CK_UNARY_LOOP(tanhf(v)) break;
    case CK_SIGMOID: CK_UNARY_LOOP(stable_sigmoid(v)) break;
    case CK_RELU: CK_UNARY_LOOP(v > 0 ? v : 0.0f) break;
    case CK_ABS: CK_UNARY_LOOP(fabsf(v)) break;
    }
}

void ck_relu_backward_f32(int64_t count, const float *y, const float *dy,
                          float *dx) {
    // dy is loaded unconditionally, so the select vectorizes (a branch on
    // the sign of y mispredicts on real activations: 4-5x slower).
#pragma omp parallel for schedule(static) if (count >= CK_PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) {
        const float g = dy[i];
        dx[i] = y[i] > 0 ? g : 0.0f;
    }
}

// Floats a task of ck_copy_rows_f32 copies at most (a long run is split).
#define CK_COPY_CHUNK 65536

void ck_copy_rows_f32(int64_t rows, int64_t len, const float *src,
                      int64_t src_stride, float *dst, int64_t dst_stride) {
    if (rows <= 0 || len <= 0) return;
    const int64_t pieces = (len + CK_COPY_CHUNK - 1) / CK_COPY_CHUNK;
    const int64_t tasks = rows * pieces;
#pragma omp parallel for schedule(                                            \
    static) if (rows * len >= CK_PARALLEL_MIN && tasks > 1)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t r = t / pieces, j = (t % pieces) * CK_COPY_CHUNK;
        const int64_t n = len - j < CK_COPY_CHUNK ? len - j : CK_COPY_CHUNK;
        memcpy(dst + r * dst_stride + j, src + r * src_stride + j,
               (size_t)n * sizeof(float));
    }
}

// Adam on elements [i0, i1), one at a time.
static void adam_range(int64_t i0, int64_t i1, float *p, const float *g,
                       float *m, float *v, float step_size, float inv_root_bc2,
                       float beta1, float beta2, float eps, float l2) {
#pragma STDC FP_CONTRACT OFF
    for (int64_t i = i0; i < i1; i++) {
        const float gi = g[i] + l2 * p[i];
        const float mi = beta1 * m[i] + (1 - beta1) * gi;
        const float vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) * inv_root_bc2 + eps);
    }
}

#if defined(__x86_64__) || defined(__i386__)
// The same operations in the same order, eight at a time: IEEE multiplies,
// adds, divides and square roots round alike in every width, and there is
// no FMA to fuse them, so the bits are adam_range's. (sqrtf's errno check
// keeps the compiler from vectorizing adam_range: ~1.9% of a U-Net step.)
__attribute__((target("avx2"))) static void adam_range_avx2(
    int64_t i0, int64_t i1, float *p, const float *g, float *m, float *v,
    float step_size, float inv_root_bc2, float beta1, float beta2, float eps,
    float l2) {
    const __m256 vl2 = _mm256_set1_ps(l2), vb1 = _mm256_set1_ps(beta1);
    const __m256 vb2 = _mm256_set1_ps(beta2);
    const __m256 c1 = _mm256_set1_ps(1 - beta1),
                 c2 = _mm256_set1_ps(1 - beta2);
    const __m256 vs = _mm256_set1_ps(step_size);
    const __m256 vr = _mm256_set1_ps(inv_root_bc2), ve = _mm256_set1_ps(eps);
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        const __m256 pi = _mm256_loadu_ps(p + i);
        const __m256 gi =
            _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(vl2, pi));
        const __m256 mi =
            _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + i)),
                          _mm256_mul_ps(c1, gi));
        const __m256 vi =
            _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + i)),
                          _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        const __m256 den =
            _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), vr), ve);
        _mm256_storeu_ps(p + i,
                         _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(vs, mi),
                                                         den)));
    }
    adam_range(i, i1, p, g, m, v, step_size, inv_root_bc2, beta1, beta2, eps,
               l2);
}
#endif

// Elements per task of ck_adam_step_f32.
#define CK_ADAM_CHUNK 16384

void ck_adam_step_f32(int64_t count, float *p, const float *g, float *m,
                      float *v, float step_size, float inv_root_bc2,
                      float beta1, float beta2, float eps, float l2) {
    const int64_t chunks = (count + CK_ADAM_CHUNK - 1) / CK_ADAM_CHUNK;
    const int avx2 = ck_use_avx2();
    (void)avx2;  // unused off x86
#pragma omp parallel for schedule(static) if (count >= CK_PARALLEL_MIN)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t i0 = c * CK_ADAM_CHUNK;
        const int64_t i1 =
            i0 + CK_ADAM_CHUNK < count ? i0 + CK_ADAM_CHUNK : count;
#if defined(__x86_64__) || defined(__i386__)
        if (avx2) {
            adam_range_avx2(i0, i1, p, g, m, v, step_size, inv_root_bc2, beta1,
                            beta2, eps, l2);
            continue;
        }
#endif
        adam_range(i0, i1, p, g, m, v, step_size, inv_root_bc2, beta1, beta2,
                   eps, l2);
    }
}

void ck_axpby_f32(int64_t count, float alpha, const float *a, float beta,
                  const float *b, float *out) {
#pragma omp parallel for schedule(static) if (count >= CK_PARALLEL_MIN)
    for (int64_t i = 0; i < count; i++) out[i] = alpha * a[i] + beta * b[i];
}

void ck_sum_axis_f32(int64_t outer, int64_t axis, int64_t inner,
                     const float *x, float *out) {
    int64_t total = outer * axis * inner;
    if (inner == 1) {
#pragma omp parallel for schedule(static) if (total >= CK_PARALLEL_MIN)
        for (int64_t o = 0; o < outer; o++) {
            const float *row = x + o * axis;
            // A double accumulator keeps rounding error low on long rows.
            double acc = 0;
            for (int64_t j = 0; j < axis; j++) acc += row[j];
            out[o] = (float)acc;
        }
        return;
    }
#pragma omp parallel for schedule(static) if (total >= CK_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++) {
        float *dst = out + o * inner;
        memset(dst, 0, (size_t)inner * sizeof(float));
        for (int64_t j = 0; j < axis; j++) {
            const float *src = x + (o * axis + j) * inner;
            for (int64_t i = 0; i < inner; i++) dst[i] += src[i];
        }
    }
}

void ck_max_axis_f32(int64_t outer, int64_t axis, int64_t inner,
                     const float *x, float *out, int64_t *argmax) {
    int64_t total = outer * axis * inner;
#pragma omp parallel for schedule(static) if (total >= CK_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const float *src = x + o * axis * inner + i;
            float best = src[0];
            int64_t where = 0;
            for (int64_t j = 1; j < axis; j++) {
                float v = src[j * inner];
                // NaN wins, as in PyTorch.
                if (v > best || (v != v && best == best)) {
                    best = v;
                    where = j;
                }
            }
            out[o * inner + i] = best;
            if (argmax) argmax[o * inner + i] = where;
        }
    }
}

void ck_reduce_to_f32(int rank, const int64_t *dims, const float *x,
                      const int64_t *out_strides, float *out) {
    int64_t total = 1;
    for (int d = 0; d < rank; d++) total *= dims[d];
    int64_t coord[CK_MAX_RANK] = {0};
    int64_t o = 0;
    for (int64_t i = 0; i < total; i++) {
        out[o] += x[i];
        // Odometer increment of the coordinate and the output offset.
        for (int d = rank - 1; d >= 0; d--) {
            coord[d]++;
            o += out_strides[d];
            if (coord[d] < dims[d]) break;
            o -= coord[d] * out_strides[d];
            coord[d] = 0;
        }
    }
}

void ck_softmax_f32(int64_t rows, int64_t cols, const float *x, float *out,
                    int log_space) {
#pragma omp parallel for schedule(static) if (rows * cols >= CK_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *src = x + r * cols;
        float *dst = out + r * cols;
        float m = src[0];
        for (int64_t j = 1; j < cols; j++) m = src[j] > m ? src[j] : m;
        double sum = 0;
        for (int64_t j = 0; j < cols; j++) sum += expf(src[j] - m);
        if (log_space) {
            float lse = m + (float)log(sum);
            for (int64_t j = 0; j < cols; j++) dst[j] = src[j] - lse;
        } else {
            float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < cols; j++) dst[j] = expf(src[j] - m) * inv;
        }
    }
}

void ck_gather_strided_f32(int rank, const int64_t *dims, const float *x,
                           const int64_t *strides, float *out) {
    if (rank == 0) {
        out[0] = x[0];
        return;
    }
    int64_t inner = dims[rank - 1];
    int64_t rows = 1;
    for (int d = 0; d < rank - 1; d++) rows *= dims[d];
    int64_t s_inner = strides[rank - 1];
#pragma omp parallel for schedule(static) if (rows * inner >= CK_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r, off = 0;
        for (int d = rank - 2; d >= 0; d--) {
            off += (rem % dims[d]) * strides[d];
            rem /= dims[d];
        }
        const float *src = x + off;
        float *dst = out + r * inner;
        if (s_inner == 1) {
            memcpy(dst, src, (size_t)inner * sizeof(float));
        } else {
            for (int64_t i = 0; i < inner; i++) dst[i] = src[i * s_inner];
        }
    }
}
