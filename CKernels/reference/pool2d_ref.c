// Naive pooling from the definition (PyTorch semantics, floor mode). The
// backward passes gather: each input pixel sums the outputs that chose it
// (max) or whose window covers it (avg). No OpenMP.
#include <math.h>

#include "ckernels.h"

// Window of output o along one axis, unclipped: [start, start + kernel).
static int start(int o, int stride, int pad) { return o * stride - pad; }

static int clip_lo(int s) { return s < 0 ? 0 : s; }
static int clip_hi(int e, int in) { return e > in ? in : e; }

void ck_max_pool2d_forward_f32_ref(const ck_pool2d_params *p, const float *x,
                                   float *y, int32_t *indices) {
    for (long q = 0; q < (long)p->n * p->c; q++) {
        const float *xp = x + q * p->h * p->w;
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++) {
                int ys = start(oy, p->stride_h, p->pad_h);
                int xs = start(ox, p->stride_w, p->pad_w);
                int y0 = clip_lo(ys), y1 = clip_hi(ys + p->kh, p->h);
                int x0 = clip_lo(xs), x1 = clip_hi(xs + p->kw, p->w);
                float m = -INFINITY;
                int idx = y0 * p->w + x0;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float v = xp[iy * p->w + ix];
                        if (v > m || isnan(v)) {
                            m = v;
                            idx = iy * p->w + ix;
                        }
                    }
                long o = q * p->out_h * p->out_w + oy * p->out_w + ox;
                y[o] = m;
                indices[o] = idx;
            }
    }
}

void ck_max_pool2d_backward_f32_ref(const ck_pool2d_params *p, const float *dy,
                                    const int32_t *indices, float *dx) {
    long out_plane = (long)p->out_h * p->out_w;
    for (long q = 0; q < (long)p->n * p->c; q++)
        for (int iy = 0; iy < p->h; iy++)
            for (int ix = 0; ix < p->w; ix++) {
                double acc = 0.0;
                for (long j = 0; j < out_plane; j++)
                    if (indices[q * out_plane + j] == iy * p->w + ix)
                        acc += dy[q * out_plane + j];
                dx[(q * p->h + iy) * p->w + ix] = (float)acc;
            }
}

// PyTorch's divisor for output (oy, ox).
static int divisor(const ck_pool2d_params *p, int oy, int ox) {
    int ys = start(oy, p->stride_h, p->pad_h);
    int xs = start(ox, p->stride_w, p->pad_w);
    int ye = clip_hi(ys + p->kh, p->h + p->pad_h);
    int xe = clip_hi(xs + p->kw, p->w + p->pad_w);
    if (p->count_include_pad) return (ye - ys) * (xe - xs);
    return (clip_hi(ye, p->h) - clip_lo(ys)) *
           (clip_hi(xe, p->w) - clip_lo(xs));
}

void ck_avg_pool2d_forward_f32_ref(const ck_pool2d_params *p, const float *x,
                                   float *y) {
    for (long q = 0; q < (long)p->n * p->c; q++) {
        const float *xp = x + q * p->h * p->w;
        for (int oy = 0; oy < p->out_h; oy++)
            for (int ox = 0; ox < p->out_w; ox++) {
                int ys = start(oy, p->stride_h, p->pad_h);
                int xs = start(ox, p->stride_w, p->pad_w);
                double acc = 0.0;
                for (int iy = ys; iy < ys + p->kh; iy++)
                    for (int ix = xs; ix < xs + p->kw; ix++)
                        if (iy >= 0 && iy < p->h && ix >= 0 && ix < p->w)
                            acc += xp[iy * p->w + ix];
                y[(q * p->out_h + oy) * p->out_w + ox] =
                    (float)(acc / divisor(p, oy, ox));
            }
    }
}

void ck_avg_pool2d_backward_f32_ref(const ck_pool2d_params *p, const float *dy,
                                    float *dx) {
    for (long q = 0; q < (long)p->n * p->c; q++)
        for (int iy = 0; iy < p->h; iy++)
            for (int ix = 0; ix < p->w; ix++) {
                double acc = 0.0;
                for (int oy = 0; oy < p->out_h; oy++)
                    for (int ox = 0; ox < p->out_w; ox++) {
                        int ys = start(oy, p->stride_h, p->pad_h);
                        int xs = start(ox, p->stride_w, p->pad_w);
                        if (iy < ys || iy >= ys + p->kh || ix < xs ||
                            ix >= xs + p->kw)
                            continue;
                        acc +=
                            (double)dy[(q * p->out_h + oy) * p->out_w + ox] /
                            divisor(p, oy, ox);
                    }
                dx[(q * p->h + iy) * p->w + ix] = (float)acc;
            }
}
