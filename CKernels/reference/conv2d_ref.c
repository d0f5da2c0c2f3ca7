// Naive conv2d: each output, input gradient and weight gradient element is a
// direct sum from the definition, accumulated in double. No OpenMP, no GEMM.
#include "ckernels.h"

void ck_conv2d_forward_f32_ref(const ck_conv2d_params *p, const float *x,
                               const float *w, const float *bias, float *y) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int n = 0; n < p->n; n++)
        for (int o = 0; o < p->k; o++)
            for (int oy = 0; oy < p->out_h; oy++)
                for (int ox = 0; ox < p->out_w; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    int g = o / kpg;
                    for (int c = 0; c < cpg; c++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int iy = oy * p->stride_h - p->pad_h +
                                         ky * p->dil_h;
                                int ix = ox * p->stride_w - p->pad_w +
                                         kx * p->dil_w;
                                if (iy < 0 || iy >= p->h || ix < 0 ||
                                    ix >= p->w)
                                    continue;
                                size_t xi =
                                    (((size_t)n * p->c + g * cpg + c) * p->h +
                                     iy) *
                                        p->w +
                                    ix;
                                size_t wi =
                                    (((size_t)o * cpg + c) * p->kh + ky) *
                                        p->kw +
                                    kx;
                                acc += (double)x[xi] * w[wi];
                            }
                    y[(((size_t)n * p->k + o) * p->out_h + oy) * p->out_w +
                      ox] = (float)acc;
                }
}

// Gather form: input pixel (iy, ix) meets output (oy, ox) through tap
// (ky, kx) when oy*stride - pad + ky*dil == iy.
void ck_conv2d_backward_data_f32_ref(const ck_conv2d_params *p,
                                     const float *dy, const float *w,
                                     float *dx) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int n = 0; n < p->n; n++)
        for (int ci = 0; ci < p->c; ci++)
            for (int iy = 0; iy < p->h; iy++)
                for (int ix = 0; ix < p->w; ix++) {
                    double acc = 0.0;
                    int g = ci / cpg, c = ci % cpg;
                    for (int oo = 0; oo < kpg; oo++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int ty = iy + p->pad_h - ky * p->dil_h;
                                int tx = ix + p->pad_w - kx * p->dil_w;
                                if (ty < 0 || tx < 0 || ty % p->stride_h ||
                                    tx % p->stride_w)
                                    continue;
                                int oy = ty / p->stride_h;
                                int ox = tx / p->stride_w;
                                if (oy >= p->out_h || ox >= p->out_w) continue;
                                int o = g * kpg + oo;
                                size_t di =
                                    (((size_t)n * p->k + o) * p->out_h + oy) *
                                        p->out_w +
                                    ox;
                                size_t wi =
                                    (((size_t)o * cpg + c) * p->kh + ky) *
                                        p->kw +
                                    kx;
                                acc += (double)dy[di] * w[wi];
                            }
                    dx[(((size_t)n * p->c + ci) * p->h + iy) * p->w + ix] =
                        (float)acc;
                }
}

void ck_conv2d_backward_weight_f32_ref(const ck_conv2d_params *p,
                                       const float *x, const float *dy,
                                       float *dw) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int o = 0; o < p->k; o++)
        for (int c = 0; c < cpg; c++)
            for (int ky = 0; ky < p->kh; ky++)
                for (int kx = 0; kx < p->kw; kx++) {
                    double acc = 0.0;
                    int ci = (o / kpg) * cpg + c;
                    for (int n = 0; n < p->n; n++)
                        for (int oy = 0; oy < p->out_h; oy++)
                            for (int ox = 0; ox < p->out_w; ox++) {
                                int iy = oy * p->stride_h - p->pad_h +
                                         ky * p->dil_h;
                                int ix = ox * p->stride_w - p->pad_w +
                                         kx * p->dil_w;
                                if (iy < 0 || iy >= p->h || ix < 0 ||
                                    ix >= p->w)
                                    continue;
                                size_t xi =
                                    (((size_t)n * p->c + ci) * p->h + iy) *
                                        p->w +
                                    ix;
                                size_t di =
                                    (((size_t)n * p->k + o) * p->out_h + oy) *
                                        p->out_w +
                                    ox;
                                acc += (double)x[xi] * dy[di];
                            }
                    dw[(((size_t)o * cpg + c) * p->kh + ky) * p->kw + kx] =
                        (float)acc;
                }
}

void ck_conv2d_backward_bias_f32_ref(const ck_conv2d_params *p,
                                     const float *dy, float *db) {
    size_t plane = (size_t)p->out_h * p->out_w;
    for (int o = 0; o < p->k; o++) {
        double acc = 0.0;
        for (int n = 0; n < p->n; n++)
            for (size_t j = 0; j < plane; j++)
                acc += dy[((size_t)n * p->k + o) * plane + j];
        db[o] = (float)acc;
    }
}
