// Max and average pooling over NCHW planes (PyTorch semantics, floor mode).
// Every pass is parallel over the n*c planes and each plane is done whole by
// one thread, so backward scatter-adds stay deterministic.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "workspace.h"

// Below this many input elements a fork costs more than it saves.
#define CK_POOL_PARALLEL_MIN 32768

#define CK_FAIL(...)                                                          \
    do {                                                                      \
        if (err && err_len) snprintf(err, err_len, __VA_ARGS__);              \
        return -1;                                                            \
    } while (0)

int ck_pool2d_check(ck_pool2d_params *p, const char *op_name, char *err,
                    size_t err_len) {
    const char *op = op_name ? op_name : "pool2d";
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1)
        CK_FAIL("%s: sizes must be >= 1 (n=%d, c=%d, h=%d, w=%d)", op, p->n,
                p->c, p->h, p->w);
    if (p->kh < 1 || p->kw < 1)
        CK_FAIL("%s: kernel size must be >= 1 (kh=%d, kw=%d)", op, p->kh,
                p->kw);
    if (p->stride_h < 1 || p->stride_w < 1)
        CK_FAIL("%s: stride must be >= 1 (stride_h=%d, stride_w=%d)", op,
                p->stride_h, p->stride_w);
    if (p->pad_h < 0 || p->pad_w < 0)
        CK_FAIL("%s: padding must be >= 0 (pad_h=%d, pad_w=%d)", op, p->pad_h,
                p->pad_w);
    if (p->pad_h > p->kh / 2 || p->pad_w > p->kw / 2)
        CK_FAIL(
            "%s: pad should be at most half of effective kernel size "
            "(pad_h=%d, kh=%d, pad_w=%d, kw=%d)",
            op, p->pad_h, p->kh, p->pad_w, p->kw);
    long num_h = (long)p->h + 2L * p->pad_h - p->kh;
    long num_w = (long)p->w + 2L * p->pad_w - p->kw;
    long oh = num_h < 0 ? 0 : num_h / p->stride_h + 1;
    long ow = num_w < 0 ? 0 : num_w / p->stride_w + 1;
    if (oh < 1)
        CK_FAIL(
            "%s: output height %ld < 1 (h=%d, kh=%d, pad_h=%d, "
            "stride_h=%d)",
            op, oh, p->h, p->kh, p->pad_h, p->stride_h);
    if (ow < 1)
        CK_FAIL(
            "%s: output width %ld < 1 (w=%d, kw=%d, pad_w=%d, "
            "stride_w=%d)",
            op, ow, p->w, p->kw, p->pad_w, p->stride_w);
    // Indices are int32 offsets within a plane.
    if ((long)p->h * p->w > INT32_MAX)
        CK_FAIL("%s: plane too large for int32 indices (h=%d, w=%d)", op, p->h,
                p->w);
    p->out_h = (int)oh;
    p->out_w = (int)ow;
    return 0;
}

static int pool_threads(const ck_pool2d_params *p) {
    long total = (long)p->n * p->c * p->h * p->w;
    return total >= CK_POOL_PARALLEL_MIN ? ck_team_threads() : 1;
}

// The window of output o clipped to the input: [*lo, *hi).
static inline void window(int o, int stride, int pad, int kernel, int in,
                          int *lo, int *hi) {
    int s = o * stride - pad;
    int e = s + kernel;
    *lo = s < 0 ? 0 : s;
    *hi = e > in ? in : e;
}

// PyTorch's divisor along one axis (the full divisor is the product): the
// window clipped to the padded input when padding counts, else to the
// input.
static inline int avg_extent(int o, int stride, int pad, int kernel, int in,
                             int count_pad) {
    int s = o * stride - pad, e = s + kernel;
    if (count_pad) return (e < in + pad ? e : in + pad) - s;
    return (e < in ? e : in) - (s < 0 ? 0 : s);
}

// PyTorch's update rule: a larger value or any NaN takes the slot.
static inline void take_max(float v, int i, float *m, int32_t *idx) {
    int take = (v > *m) | (v != v);
    *m = take ? v : *m;
    *idx = take ? i : *idx;
}

// The rows below visit the taps of a window in PyTorch's scan order (window
// rows, then columns); each tap is one pass over the outputs of a row,
// which vectorizes. Inlined with a constant stride for the common strides.
#define CK_ROW_FN static inline __attribute__((always_inline)) void

CK_ROW_FN max_row(const ck_pool2d_params *p, const float *x, int oy, int sw,
                  float *restrict yr, int32_t *restrict ir) {
    const int w = p->w, ow = p->out_w, pw = p->pad_w;
    int y0, y1;
    window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
    for (int ox = 0; ox < ow; ox++) {
        int xs = ox * sw - pw;
        yr[ox] = -INFINITY;
        ir[ox] = y0 * w + (xs < 0 ? 0 : xs);  // where PyTorch starts
    }
    for (int iy = y0; iy < y1; iy++) {
        const float *restrict xr = x + (size_t)iy * w;
        for (int kx = 0; kx < p->kw; kx++) {
            int off = kx - pw, lo, hi;
            ck_valid_span(w, ow, sw, off, &lo, &hi);
            for (int ox = lo; ox < hi; ox++) {
                int ix = ox * sw + off;
                take_max(xr[ix], iy * w + ix, &yr[ox], &ir[ox]);
            }
        }
    }
}

CK_ROW_FN avg_row(const ck_pool2d_params *p, const float *x, int oy, int sw,
                  float *restrict yr) {
    const int w = p->w, ow = p->out_w, pw = p->pad_w;
    int y0, y1;
    window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
    for (int ox = 0; ox < ow; ox++) yr[ox] = 0.0f;
    for (int iy = y0; iy < y1; iy++) {
        const float *restrict xr = x + (size_t)iy * w;
        for (int kx = 0; kx < p->kw; kx++) {
            int off = kx - pw, lo, hi;
            ck_valid_span(w, ow, sw, off, &lo, &hi);
            for (int ox = lo; ox < hi; ox++) yr[ox] += xr[ox * sw + off];
        }
    }
    int eh = avg_extent(oy, p->stride_h, p->pad_h, p->kh, p->h,
                        p->count_include_pad);
    for (int ox = 0; ox < ow; ox++)
        yr[ox] /= (float)(eh * avg_extent(ox, sw, pw, p->kw, w,
                                          p->count_include_pad));
}

// Scatters one output row's gradient: v holds ow scratch floats.
CK_ROW_FN avg_back_row(const ck_pool2d_params *p, const float *gr, int oy,
                       int sw, float *restrict v, float *d) {
    const int w = p->w, ow = p->out_w, pw = p->pad_w;
    int y0, y1;
    window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
    int eh = avg_extent(oy, p->stride_h, p->pad_h, p->kh, p->h,
                        p->count_include_pad);
    for (int ox = 0; ox < ow; ox++)
        v[ox] = gr[ox] / (float)(eh * avg_extent(ox, sw, pw, p->kw, w,
                                                 p->count_include_pad));
    for (int iy = y0; iy < y1; iy++) {
        float *restrict dr = d + (size_t)iy * w;
        for (int kx = 0; kx < p->kw; kx++) {
            int off = kx - pw, lo, hi;
            ck_valid_span(w, ow, sw, off, &lo, &hi);
            // Distinct outputs of one tap hit distinct pixels.
            for (int ox = lo; ox < hi; ox++) dr[ox * sw + off] += v[ox];
        }
    }
}

// Calls ROW(..., stride, ...) with the stride a constant for 1 and 2.
#define CK_BY_STRIDE(sw, CALL)                                                \
    do {                                                                      \
        if ((sw) == 1) {                                                      \
            CALL(1);                                                          \
        } else if ((sw) == 2) {                                               \
            CALL(2);                                                          \
        } else {                                                              \
            CALL(sw);                                                         \
        }                                                                     \
    } while (0)

// The common 2x2 stride 2 unpadded window, whole in registers.
static inline int is_2x2s2(const ck_pool2d_params *p) {
    return p->kh == 2 && p->kw == 2 && p->stride_h == 2 && p->stride_w == 2 &&
           p->pad_h == 0 && p->pad_w == 0;
}

// ReLU on a row of pooled values (the formula of ck_unary_f32's CK_RELU).
CK_ROW_FN relu_row(float *yr, int n) {
    for (int j = 0; j < n; j++) yr[j] = yr[j] > 0 ? yr[j] : 0.0f;
}

CK_ROW_FN max_plane(const ck_pool2d_params *p, const float *x, float *y,
                    int32_t *ind, int relu) {
    const int w = p->w, ow = p->out_w;
    if (is_2x2s2(p)) {
        for (int oy = 0; oy < p->out_h; oy++) {
            const float *r0 = x + (size_t)(2 * oy) * w, *r1 = r0 + w;
            float *yr = y + (size_t)oy * ow;
            int32_t *ir = ind + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                int i = 2 * oy * w + 2 * ox;
                float m = r0[2 * ox];
                int32_t idx = i;
                take_max(r0[2 * ox + 1], i + 1, &m, &idx);
                take_max(r1[2 * ox], i + w, &m, &idx);
                take_max(r1[2 * ox + 1], i + w + 1, &m, &idx);
                yr[ox] = m;
                ir[ox] = idx;
            }
            if (relu) relu_row(yr, ow);
        }
        return;
    }
    for (int oy = 0; oy < p->out_h; oy++) {
        float *yr = y + (size_t)oy * p->out_w;
        int32_t *ir = ind + (size_t)oy * p->out_w;
#define CK_MAX_ROW(s) max_row(p, x, oy, s, yr, ir)
        CK_BY_STRIDE(p->stride_w, CK_MAX_ROW);
#undef CK_MAX_ROW
        if (relu) relu_row(yr, ow);
    }
}

CK_ROW_FN avg_plane(const ck_pool2d_params *p, const float *x, float *y) {
    const int w = p->w, ow = p->out_w;
    if (is_2x2s2(p)) {
        for (int oy = 0; oy < p->out_h; oy++) {
            const float *r0 = x + (size_t)(2 * oy) * w, *r1 = r0 + w;
            float *yr = y + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++)
                yr[ox] = (((r0[2 * ox] + r0[2 * ox + 1]) + r1[2 * ox]) +
                          r1[2 * ox + 1]) /
                         4.0f;
        }
        return;
    }
    for (int oy = 0; oy < p->out_h; oy++) {
        float *yr = y + (size_t)oy * p->out_w;
#define CK_AVG_ROW(s) avg_row(p, x, oy, s, yr)
        CK_BY_STRIDE(p->stride_w, CK_AVG_ROW);
#undef CK_AVG_ROW
    }
}

CK_ROW_FN avg_back_plane(const ck_pool2d_params *p, const float *g, float *d) {
    const int w = p->w, ow = p->out_w;
    if (is_2x2s2(p)) {
        // Windows tile the plane without overlap: plain stores, then zero
        // the odd row and column no window covers.
        for (int oy = 0; oy < p->out_h; oy++) {
            float *r0 = d + (size_t)(2 * oy) * w, *r1 = r0 + w;
            const float *gr = g + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float v = gr[ox] / 4.0f;
                r0[2 * ox] = r0[2 * ox + 1] = r1[2 * ox] = r1[2 * ox + 1] = v;
            }
            if (w & 1) r0[w - 1] = r1[w - 1] = 0.0f;
        }
        if (p->h & 1)
            memset(d + (size_t)(p->h - 1) * w, 0, (size_t)w * sizeof(float));
        return;
    }
    float *v = ck_ws_floats(CK_WS_AUX, (size_t)ow);
    memset(d, 0, (size_t)p->h * w * sizeof(float));
    for (int oy = 0; oy < p->out_h; oy++) {
        const float *gr = g + (size_t)oy * p->out_w;
#define CK_AVG_BACK_ROW(s) avg_back_row(p, gr, oy, s, v, d)
        CK_BY_STRIDE(p->stride_w, CK_AVG_BACK_ROW);
#undef CK_AVG_BACK_ROW
    }
}

// Each plane pass is compiled twice: for baseline x86-64 and, chosen at run
// time, for AVX2 (8-wide compares, blends and strided loads).

static void max_plane_base(const ck_pool2d_params *p, const float *x, float *y,
                           int32_t *ind, int relu) {
    max_plane(p, x, y, ind, relu);
}
#if defined(__x86_64__) || defined(__i386__)
// Eight 2x2 stride-2 windows of rows r0, r1 starting at output ox: the even
// and odd columns split apart with shuffles, then compared in PyTorch's
// scan order with its rule (a larger value or a NaN takes over). With relu
// the maxima go through ReLU (v > 0 ? v : 0, as ck_unary_f32: a NaN
// becomes 0) before the store.
CK_AVX2 static inline void max2x2_avx2_8(const float *r0, const float *r1,
                                         int ox, int base, int w, int relu,
                                         float *yr, int32_t *ir) {
    __m256 a = _mm256_loadu_ps(r0 + 2 * ox),
           b = _mm256_loadu_ps(r0 + 2 * ox + 8);
    __m256 c = _mm256_loadu_ps(r1 + 2 * ox),
           d = _mm256_loadu_ps(r1 + 2 * ox + 8);
#define CK_EVEN(u, v)                                                         \
    _mm256_castpd_ps(                                                         \
        _mm256_permute4x64_pd(_mm256_castps_pd(                               \
                                  _mm256_shuffle_ps(u, v, 0x88)),             \
                              0xD8))
#define CK_ODD(u, v)                                                          \
    _mm256_castpd_ps(                                                         \
        _mm256_permute4x64_pd(_mm256_castps_pd(                               \
                                  _mm256_shuffle_ps(u, v, 0xDD)),             \
                              0xD8))
    __m256 t[4] = {CK_EVEN(a, b), CK_ODD(a, b), CK_EVEN(c, d), CK_ODD(c, d)};
#undef CK_EVEN
#undef CK_ODD
    const int step[4] = {0, 1, w, w + 1};
    __m256i i0 =
        _mm256_add_epi32(_mm256_set1_epi32(base + 2 * ox),
                         _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    __m256 m = t[0];
    __m256i idx = i0;
    for (int k = 1; k < 4; k++) {
        __m256 take = _mm256_or_ps(_mm256_cmp_ps(t[k], m, _CMP_GT_OQ),
                                   _mm256_cmp_ps(t[k], t[k], _CMP_UNORD_Q));
        m = _mm256_blendv_ps(m, t[k], take);
        __m256i ik = _mm256_add_epi32(i0, _mm256_set1_epi32(step[k]));
        idx = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(idx),
                                                   _mm256_castsi256_ps(ik),
                                                   take));
    }
    if (relu)
        m = _mm256_and_ps(m,
                          _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ));
    _mm256_storeu_ps(yr + ox, m);
    _mm256_storeu_si256((__m256i *)(ir + ox), idx);
}

// Four windows, for rows of 4-7 outputs (MNIST's second pool: 11 -> 5).
CK_AVX2 static inline void max2x2_sse_4(const float *r0, const float *r1,
                                        int ox, int base, int w, int relu,
                                        float *yr, int32_t *ir) {
    __m128 a = _mm_loadu_ps(r0 + 2 * ox), b = _mm_loadu_ps(r0 + 2 * ox + 4);
    __m128 c = _mm_loadu_ps(r1 + 2 * ox), d = _mm_loadu_ps(r1 + 2 * ox + 4);
    __m128 t[4] = {_mm_shuffle_ps(a, b, 0x88), _mm_shuffle_ps(a, b, 0xDD),
                   _mm_shuffle_ps(c, d, 0x88), _mm_shuffle_ps(c, d, 0xDD)};
    const int step[4] = {0, 1, w, w + 1};
    __m128i i0 = _mm_add_epi32(_mm_set1_epi32(base + 2 * ox),
                               _mm_setr_epi32(0, 2, 4, 6));
    __m128 m = t[0];
    __m128i idx = i0;
    for (int k = 1; k < 4; k++) {
        __m128 take =
            _mm_or_ps(_mm_cmpgt_ps(t[k], m), _mm_cmpunord_ps(t[k], t[k]));
        m = _mm_blendv_ps(m, t[k], take);
        __m128i ik = _mm_add_epi32(i0, _mm_set1_epi32(step[k]));
        idx = _mm_castps_si128(
            _mm_blendv_ps(_mm_castsi128_ps(idx), _mm_castsi128_ps(ik), take));
    }
    if (relu) m = _mm_and_ps(m, _mm_cmpgt_ps(m, _mm_setzero_ps()));
    _mm_storeu_ps(yr + ox, m);
    _mm_storeu_si128((__m128i *)(ir + ox), idx);
}

typedef void (*ck_max_block_fn)(const float *r0, const float *r1, int ox,
                                int base, int w, int relu, float *yr,
                                int32_t *ir);

// Every output row in whole blocks of bw windows; a last partial block is
// moved back to end at ow (recomputing a few outputs identically). Needs
// ow >= bw.
CK_AVX2 static inline __attribute__((always_inline)) void max_rows_blocked(
    const ck_pool2d_params *p, const float *x, float *y, int32_t *ind,
    int relu, int bw, ck_max_block_fn block) {
    const int w = p->w, ow = p->out_w;
    for (int oy = 0; oy < p->out_h; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * w, *r1 = r0 + w;
        float *yr = y + (size_t)oy * ow;
        int32_t *ir = ind + (size_t)oy * ow;
        int ox = 0;
        for (; ox + bw <= ow; ox += bw)
            block(r0, r1, ox, 2 * oy * w, w, relu, yr, ir);
        if (ox < ow) block(r0, r1, ow - bw, 2 * oy * w, w, relu, yr, ir);
    }
}
#endif

CK_AVX2 static void max_plane_avx2(const ck_pool2d_params *p, const float *x,
                                   float *y, int32_t *ind, int relu) {
#if defined(__x86_64__) || defined(__i386__)
    if (is_2x2s2(p) && p->out_w >= 8) {
        max_rows_blocked(p, x, y, ind, relu, 8, max2x2_avx2_8);
        return;
    }
    if (is_2x2s2(p) && p->out_w >= 4) {
        max_rows_blocked(p, x, y, ind, relu, 4, max2x2_sse_4);
        return;
    }
#endif
    max_plane(p, x, y, ind, relu);
}
static void avg_plane_base(const ck_pool2d_params *p, const float *x,
                           float *y) {
    avg_plane(p, x, y);
}
CK_AVX2 static void avg_plane_avx2(const ck_pool2d_params *p, const float *x,
                                   float *y) {
    avg_plane(p, x, y);
}
static void avg_back_plane_base(const ck_pool2d_params *p, const float *g,
                                float *d) {
    avg_back_plane(p, g, d);
}
CK_AVX2 static void avg_back_plane_avx2(const ck_pool2d_params *p,
                                        const float *g, float *d) {
    avg_back_plane(p, g, d);
}

void ck_max_pool2d_relu_forward_f32(const ck_pool2d_params *p, const float *x,
                                    int relu, float *y, int32_t *indices) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int avx2 = ck_use_avx2();
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        (avx2 ? max_plane_avx2
              : max_plane_base)(p, x + q * in_plane, y + q * out_plane,
                                indices + q * out_plane, relu);
}

void ck_max_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y, int32_t *indices) {
    ck_max_pool2d_relu_forward_f32(p, x, 0, y, indices);
}

// One plane's scatter: g (through the mask, if any) to the argmax of each
// window. Overlapping windows may share a maximum: accumulate, in output
// order. With sum, also the plane's sum of what was scattered, in four
// fixed lanes of doubles.
static inline void scatter_plane(const float *g, const float *mk,
                                 const int32_t *ind, size_t out_plane,
                                 size_t in_plane, float *d, double *sum) {
    memset(d, 0, in_plane * sizeof(float));
    if (!sum) {
        if (mk)
            for (size_t j = 0; j < out_plane; j++)
                d[ind[j]] += ck_masked(g[j], mk[j]);
        else
            for (size_t j = 0; j < out_plane; j++) d[ind[j]] += g[j];
        return;
    }
    // Lane l takes the outputs j = l mod 4; unrolled so the lanes stay in
    // registers.
    double lane[4] = {0};
    size_t j = 0;
    for (; j + 4 <= out_plane; j += 4)
        for (int l = 0; l < 4; l++) {
            const float v = mk ? ck_masked(g[j + l], mk[j + l]) : g[j + l];
            d[ind[j + l]] += v;
            lane[l] += v;
        }
    for (; j < out_plane; j++) {
        const float v = mk ? ck_masked(g[j], mk[j]) : g[j];
        d[ind[j]] += v;
        lane[j & 3] += v;
    }
    *sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

#if defined(__x86_64__) || defined(__i386__)
// The 2x2 stride-2 backward pass of one plane without the memset and the
// scatter: windows do not overlap, so each input pixel gets one plain store
// of 0 + (its window's gradient if it is the argmax, else 0) -- the value
// the scatter leaves -- eight windows of a row at a time (the last block
// moved back to end at ow); pixels no window covers (an odd last row or
// column) are zeroed. With lanes, the plane's sum in eight lanes of doubles
// (a moved-back block adds only its new windows). Needs ow >= 8.
CK_AVX2 static void scatter_2x2_avx2(const ck_pool2d_params *p, const float *g,
                                     const float *mk, const int32_t *ind,
                                     float *d, double *lanes) {
    const int w = p->w, ow = p->out_w, oh = p->out_h;
    const __m256 zero = _mm256_setzero_ps();
    // The lane sums in two double registers (lanes 0-3, 4-7); a moved-back
    // last block adds only its new lanes (the first ones are masked to 0).
    __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
    const __m256i lane_no = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int step[4] = {0, 1, w, w + 1};
    for (int oy = 0; oy < oh; oy++) {
        float *r[2] = {d + (size_t)2 * oy * w, d + (size_t)(2 * oy + 1) * w};
        const size_t at = (size_t)oy * ow;
        for (int ox0 = 0; ox0 < ow; ox0 += 8) {
            const int ox = ox0 + 8 <= ow ? ox0 : ow - 8;
            __m256 v = _mm256_loadu_ps(g + at + ox);
            if (mk) {
                const __m256 m = _mm256_loadu_ps(mk + at + ox);
                v = _mm256_and_ps(v, _mm256_cmp_ps(m, zero, _CMP_GT_OQ));
            }
            v = _mm256_add_ps(zero, v);  // -0 -> +0, as 0 + v in the scatter
            const __m256i idx =
                _mm256_loadu_si256((const __m256i *)(ind + at + ox));
            const __m256i i0 =
                _mm256_add_epi32(_mm256_set1_epi32(2 * oy * w + 2 * ox),
                                 _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
            __m256 q[4];  // v where the argmax is tap k of the window
            for (int k = 0; k < 4; k++) {
                const __m256i ik =
                    _mm256_add_epi32(i0, _mm256_set1_epi32(step[k]));
                q[k] = _mm256_and_ps(v, _mm256_castsi256_ps(
                                            _mm256_cmpeq_epi32(idx, ik)));
            }
            // Taps 0, 1 interleaved into the upper row, 2, 3 the lower.
            for (int row = 0; row < 2; row++) {
                const __m256 a = q[2 * row], b = q[2 * row + 1];
                const __m256 lo = _mm256_unpacklo_ps(a, b);
                const __m256 hi = _mm256_unpackhi_ps(a, b);
                float *dst = r[row] + 2 * ox;
                _mm256_storeu_ps(dst, _mm256_permute2f128_ps(lo, hi, 0x20));
                _mm256_storeu_ps(dst + 8,
                                 _mm256_permute2f128_ps(lo, hi, 0x31));
            }
            if (lanes) {
                const __m256 fresh =
                    _mm256_and_ps(v,
                                  _mm256_castsi256_ps(
                                      _mm256_cmpgt_epi32(lane_no,
                                                         _mm256_set1_epi32(
                                                             ox0 - ox - 1))));
                sum_lo =
                    _mm256_add_pd(sum_lo, _mm256_cvtps_pd(
                                              _mm256_castps256_ps128(fresh)));
                sum_hi = _mm256_add_pd(sum_hi,
                                       _mm256_cvtps_pd(
                                           _mm256_extractf128_ps(fresh, 1)));
            }
        }
        if (w & 1) r[0][w - 1] = r[1][w - 1] = 0.0f;
    }
    if (p->h > 2 * oh)
        memset(d + (size_t)2 * oh * w, 0,
               sizeof(float) * (size_t)(p->h - 2 * oh) * w);
    if (lanes) {
        _mm256_storeu_pd(lanes, sum_lo);
        _mm256_storeu_pd(lanes + 4, sum_hi);
    }
}
#endif

// One plane of the backward pass: the vector 2x2 stride-2 form when it
// applies, else scatter_plane. sums[q] as there (the vector form sums in
// 8 lanes, row by row). Rows of 4-7 windows (MNIST's second pool, 11 -> 5)
// stay with the scatter: a 4-wide form was 1.7x slower there.
static void backward_plane(const ck_pool2d_params *p, int avx2, const float *g,
                           const float *mk, const int32_t *ind, float *d,
                           double *sum) {
    const size_t in_plane = (size_t)p->h * p->w;
    const size_t out_plane = (size_t)p->out_h * p->out_w;
#if defined(__x86_64__) || defined(__i386__)
    if (avx2 && is_2x2s2(p) && p->out_w >= 8) {
        double lanes[8] = {0};
        scatter_2x2_avx2(p, g, mk, ind, d, sum ? lanes : NULL);
        if (sum)
            *sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
                   ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        return;
    }
#else
    (void)p, (void)avx2;
#endif
    scatter_plane(g, mk, ind, out_plane, in_plane, d, sum);
}

// The sums ck_max_pool2d_relu_backward_sums reports, in the same lanes and
// order, without the scatter (for a caller that scatters on its own).
static double plane_sum(const ck_pool2d_params *p, int avx2, const float *g,
                        const float *mk) {
    const int ow = p->out_w, oh = p->out_h;
#define CK_TERM(j) (mk ? ck_masked(g[j], mk[j]) : g[j])
    if (avx2 && is_2x2s2(p) && ow >= 8) {
        // scatter_2x2_avx2's lanes: blocks of 8 along each row, the last
        // moved back to end at the row's end, adding only its new lanes.
        double lane[8] = {0};
        for (int oy = 0; oy < oh; oy++)
            for (int ox0 = 0; ox0 < ow; ox0 += 8) {
                const int ox = ox0 + 8 <= ow ? ox0 : ow - 8;
                for (int l = ox0 - ox; l < 8; l++)
                    lane[l] += 0.0f + CK_TERM((size_t)oy * ow + ox + l);
            }
        return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
               ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    }
    // scatter_plane's: output j in lane j mod 4.
    double lane[4] = {0};
    const size_t n = (size_t)oh * ow;
    for (size_t j = 0; j < n; j++) lane[j & 3] += CK_TERM(j);
#undef CK_TERM
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

void ck_max_pool2d_relu_backward_plane_sums(const ck_pool2d_params *p,
                                            const float *mask, const float *dy,
                                            double *sums) {
    long planes = (long)p->n * p->c;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int avx2 = ck_use_avx2();
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        sums[q] = plane_sum(p, avx2, dy + q * out_plane,
                            mask ? mask + q * out_plane : NULL);
}

void ck_max_pool2d_relu_backward_sums(const ck_pool2d_params *p,
                                      const float *mask, const float *dy,
                                      const int32_t *indices, float *dx,
                                      double *sums) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int avx2 = ck_use_avx2();
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        backward_plane(p, avx2, dy + q * out_plane,
                       mask ? mask + q * out_plane : NULL,
                       indices + q * out_plane, dx + q * in_plane,
                       sums ? sums + q : NULL);
}

void ck_max_pool2d_relu_backward_f32(const ck_pool2d_params *p,
                                     const float *mask, const float *dy,
                                     const int32_t *indices, float *dx) {
    ck_max_pool2d_relu_backward_sums(p, mask, dy, indices, dx, NULL);
}

void ck_max_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                const int32_t *indices, float *dx) {
    ck_max_pool2d_relu_backward_f32(p, NULL, dy, indices, dx);
}

void ck_avg_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int avx2 = ck_use_avx2();
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        (avx2 ? avg_plane_avx2 : avg_plane_base)(p, x + q * in_plane,
                                                 y + q * out_plane);
}

void ck_avg_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                float *dx) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int avx2 = ck_use_avx2();
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        (avx2 ? avg_back_plane_avx2
              : avg_back_plane_base)(p, dy + q * out_plane, dx + q * in_plane);
}
