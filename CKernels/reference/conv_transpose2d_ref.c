// Naive conv_transpose2d from the definition: input pixel (iy, ix) of
// channel ci sends x * w[ci, oo, ky, kx] to output
// (iy*stride - pad + ky*dil, ix*stride - pad + kx*dil) of channel
// group(ci)*k/groups + oo. Sums in double. No OpenMP, no GEMM.
#include "ckernels.h"

typedef ck_conv_transpose2d_params ck_ctp;

// The input position that reaches output t through tap k, or -1.
static int source(int t, int k, int pad, int dil, int stride, int in) {
    int s = t + pad - k * dil;
    if (s < 0 || s % stride) return -1;
    s /= stride;
    return s < in ? s : -1;
}

void ck_conv_transpose2d_forward_f32_ref(const ck_ctp *p, const float *x,
                                         const float *w, const float *bias,
                                         float *y) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int n = 0; n < p->n; n++)
        for (int o = 0; o < p->k; o++)
            for (int oy = 0; oy < p->out_h; oy++)
                for (int ox = 0; ox < p->out_w; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    int g = o / kpg, oo = o % kpg;
                    for (int c = 0; c < cpg; c++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int iy = source(oy, ky, p->pad_h, p->dil_h,
                                                p->stride_h, p->h);
                                int ix = source(ox, kx, p->pad_w, p->dil_w,
                                                p->stride_w, p->w);
                                if (iy < 0 || ix < 0) continue;
                                int ci = g * cpg + c;
                                size_t xi =
                                    (((size_t)n * p->c + ci) * p->h + iy) *
                                        p->w +
                                    ix;
                                size_t wi =
                                    (((size_t)ci * kpg + oo) * p->kh + ky) *
                                        p->kw +
                                    kx;
                                acc += (double)x[xi] * w[wi];
                            }
                    y[(((size_t)n * p->k + o) * p->out_h + oy) * p->out_w +
                      ox] = (float)acc;
                }
}

void ck_conv_transpose2d_backward_data_f32_ref(const ck_ctp *p,
                                               const float *dy, const float *w,
                                               float *dx) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int n = 0; n < p->n; n++)
        for (int ci = 0; ci < p->c; ci++)
            for (int iy = 0; iy < p->h; iy++)
                for (int ix = 0; ix < p->w; ix++) {
                    double acc = 0.0;
                    int g = ci / cpg;
                    for (int oo = 0; oo < kpg; oo++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int oy = iy * p->stride_h - p->pad_h +
                                         ky * p->dil_h;
                                int ox = ix * p->stride_w - p->pad_w +
                                         kx * p->dil_w;
                                if (oy < 0 || oy >= p->out_h || ox < 0 ||
                                    ox >= p->out_w)
                                    continue;
                                int o = g * kpg + oo;
                                size_t di =
                                    (((size_t)n * p->k + o) * p->out_h + oy) *
                                        p->out_w +
                                    ox;
                                size_t wi =
                                    (((size_t)ci * kpg + oo) * p->kh + ky) *
                                        p->kw +
                                    kx;
                                acc += (double)dy[di] * w[wi];
                            }
                    dx[(((size_t)n * p->c + ci) * p->h + iy) * p->w + ix] =
                        (float)acc;
                }
}

void ck_conv_transpose2d_backward_weight_f32_ref(const ck_ctp *p,
                                                 const float *x,
                                                 const float *dy, float *dw) {
    int cpg = p->c / p->groups, kpg = p->k / p->groups;
    for (int ci = 0; ci < p->c; ci++)
        for (int oo = 0; oo < kpg; oo++)
            for (int ky = 0; ky < p->kh; ky++)
                for (int kx = 0; kx < p->kw; kx++) {
                    double acc = 0.0;
                    int o = (ci / cpg) * kpg + oo;
                    for (int n = 0; n < p->n; n++)
                        for (int iy = 0; iy < p->h; iy++)
                            for (int ix = 0; ix < p->w; ix++) {
                                int oy = iy * p->stride_h - p->pad_h +
                                         ky * p->dil_h;
                                int ox = ix * p->stride_w - p->pad_w +
                                         kx * p->dil_w;
                                if (oy < 0 || oy >= p->out_h || ox < 0 ||
                                    ox >= p->out_w)
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
                    dw[(((size_t)ci * kpg + oo) * p->kh + ky) * p->kw + kx] =
                        (float)acc;
                }
}

void ck_conv_transpose2d_backward_bias_f32_ref(const ck_ctp *p,
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
