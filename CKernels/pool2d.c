// Max and average pooling over NCHW planes (PyTorch semantics, floor mode).
// Every pass is parallel over the n*c planes and each plane is done whole by
// one thread, so backward scatter-adds stay deterministic.
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
        CK_FAIL("%s: padding must be >= 0 (pad_h=%d, pad_w=%d)", op,
                p->pad_h, p->pad_w);
    if (p->pad_h > p->kh / 2 || p->pad_w > p->kw / 2)
        CK_FAIL("%s: pad should be at most half of effective kernel size "
                "(pad_h=%d, kh=%d, pad_w=%d, kw=%d)",
                op, p->pad_h, p->kh, p->pad_w, p->kw);
    long num_h = (long)p->h + 2L * p->pad_h - p->kh;
    long num_w = (long)p->w + 2L * p->pad_w - p->kw;
    long oh = num_h < 0 ? 0 : num_h / p->stride_h + 1;
    long ow = num_w < 0 ? 0 : num_w / p->stride_w + 1;
    if (oh < 1)
        CK_FAIL("%s: output height %ld < 1 (h=%d, kh=%d, pad_h=%d, "
                "stride_h=%d)",
                op, oh, p->h, p->kh, p->pad_h, p->stride_h);
    if (ow < 1)
        CK_FAIL("%s: output width %ld < 1 (w=%d, kw=%d, pad_w=%d, "
                "stride_w=%d)",
                op, ow, p->w, p->kw, p->pad_w, p->stride_w);
    // Indices are int32 offsets within a plane.
    if ((long)p->h * p->w > INT32_MAX)
        CK_FAIL("%s: plane too large for int32 indices (h=%d, w=%d)", op,
                p->h, p->w);
    p->out_h = (int)oh;
    p->out_w = (int)ow;
    return 0;
}

static int is_2x2s2(const ck_pool2d_params *p) {
    return p->kh == 2 && p->kw == 2 && p->stride_h == 2 &&
           p->stride_w == 2 && p->pad_h == 0 && p->pad_w == 0;
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

// PyTorch's update rule: a larger value or any NaN takes the slot.
static inline void take_max(float v, int i, float *m, int *idx) {
    int take = v > *m || v != v;
    *m = take ? v : *m;
    *idx = take ? i : *idx;
}

static void max_plane(const ck_pool2d_params *p, const float *x, float *y,
                      int32_t *ind) {
    const int w = p->w, ow = p->out_w;
    if (is_2x2s2(p)) {
        for (int oy = 0; oy < p->out_h; oy++) {
            const float *r0 = x + (size_t)(2 * oy) * w, *r1 = r0 + w;
            float *yr = y + (size_t)oy * ow;
            int32_t *ir = ind + (size_t)oy * ow;
            int base = 2 * oy * w;
            for (int ox = 0; ox < ow; ox++) {
                int i = base + 2 * ox;
                float m = r0[2 * ox];
                int idx = i;
                take_max(r0[2 * ox + 1], i + 1, &m, &idx);
                take_max(r1[2 * ox], i + w, &m, &idx);
                take_max(r1[2 * ox + 1], i + w + 1, &m, &idx);
                yr[ox] = m;
                ir[ox] = idx;
            }
        }
        return;
    }
    for (int oy = 0; oy < p->out_h; oy++) {
        int y0, y1;
        window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            window(ox, p->stride_w, p->pad_w, p->kw, w, &x0, &x1);
            float m = -INFINITY;
            int idx = y0 * w + x0;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++)
                    take_max(x[(size_t)iy * w + ix], iy * w + ix, &m, &idx);
            y[(size_t)oy * ow + ox] = m;
            ind[(size_t)oy * ow + ox] = idx;
        }
    }
}

void ck_max_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y, int32_t *indices) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        max_plane(p, x + q * in_plane, y + q * out_plane,
                  indices + q * out_plane);
}

void ck_max_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                const int32_t *indices, float *dx) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++) {
        float *d = dx + q * in_plane;
        const float *g = dy + q * out_plane;
        const int32_t *ind = indices + q * out_plane;
        memset(d, 0, in_plane * sizeof(float));
        // Overlapping windows may share a maximum: accumulate, in output
        // order.
        for (size_t j = 0; j < out_plane; j++) d[ind[j]] += g[j];
    }
}

// PyTorch's divisor: the window clipped to the padded input when padding
// counts, else to the real input.
static inline int avg_divisor(const ck_pool2d_params *p, int oy, int ox) {
    int ys = oy * p->stride_h - p->pad_h, xs = ox * p->stride_w - p->pad_w;
    int ye = ys + p->kh, xe = xs + p->kw;
    if (p->count_include_pad) {
        int yp = p->h + p->pad_h, xp = p->w + p->pad_w;
        return ((ye < yp ? ye : yp) - ys) * ((xe < xp ? xe : xp) - xs);
    }
    int y0, y1, x0, x1;
    window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
    window(ox, p->stride_w, p->pad_w, p->kw, p->w, &x0, &x1);
    return (y1 - y0) * (x1 - x0);
}

static void avg_plane(const ck_pool2d_params *p, const float *x, float *y) {
    const int w = p->w, ow = p->out_w;
    if (is_2x2s2(p)) {
        for (int oy = 0; oy < p->out_h; oy++) {
            const float *r0 = x + (size_t)(2 * oy) * w, *r1 = r0 + w;
            float *yr = y + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++)
                yr[ox] = (((r0[2 * ox] + r0[2 * ox + 1]) + r1[2 * ox]) +
                          r1[2 * ox + 1]) / 4.0f;
        }
        return;
    }
    for (int oy = 0; oy < p->out_h; oy++) {
        int y0, y1;
        window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            window(ox, p->stride_w, p->pad_w, p->kw, w, &x0, &x1);
            float sum = 0.0f;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) sum += x[(size_t)iy * w + ix];
            y[(size_t)oy * ow + ox] = sum / (float)avg_divisor(p, oy, ox);
        }
    }
}

void ck_avg_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        avg_plane(p, x + q * in_plane, y + q * out_plane);
}

static void avg_back_plane(const ck_pool2d_params *p, const float *g,
                           float *d) {
    const int w = p->w, ow = p->out_w;
    memset(d, 0, (size_t)p->h * w * sizeof(float));
    if (is_2x2s2(p)) {
        // Windows tile the plane without overlap: plain stores.
        for (int oy = 0; oy < p->out_h; oy++) {
            float *r0 = d + (size_t)(2 * oy) * w, *r1 = r0 + w;
            const float *gr = g + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float v = gr[ox] / 4.0f;
                r0[2 * ox] = v;
                r0[2 * ox + 1] = v;
                r1[2 * ox] = v;
                r1[2 * ox + 1] = v;
            }
        }
        return;
    }
    for (int oy = 0; oy < p->out_h; oy++) {
        int y0, y1;
        window(oy, p->stride_h, p->pad_h, p->kh, p->h, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            window(ox, p->stride_w, p->pad_w, p->kw, w, &x0, &x1);
            float v = g[(size_t)oy * ow + ox] / (float)avg_divisor(p, oy, ox);
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) d[(size_t)iy * w + ix] += v;
        }
    }
}

void ck_avg_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                float *dx) {
    long planes = (long)p->n * p->c;
    size_t in_plane = (size_t)p->h * p->w;
    size_t out_plane = (size_t)p->out_h * p->out_w;
    int nt = pool_threads(p);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long q = 0; q < planes; q++)
        avg_back_plane(p, dy + q * out_plane, dx + q * in_plane);
}
