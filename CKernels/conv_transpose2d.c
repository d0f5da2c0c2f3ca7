// conv_transpose2d: conv2d with its passes swapped. With the transposed
// conv's output as the "image" side and its input as the "column" side, the
// weight [c, k/groups, kh, kw] is exactly a conv2d weight, so forward is
// conv2d's input gradient (W^T x X, col2im), the input gradient is conv2d's
// forward (im2col of dy, W x cols) and the weight gradient is
// x x im2col(dy)^T.
#include <limits.h>
#include <stdio.h>

#include "workspace.h"

#define CK_FAIL(...)                                                          \
    do {                                                                      \
        if (err && err_len) snprintf(err, err_len, __VA_ARGS__);              \
        return -1;                                                            \
    } while (0)

int ck_conv_transpose2d_check(ck_conv_transpose2d_params *p, char *err,
                              size_t err_len) {
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->k < 1)
        CK_FAIL(
            "conv_transpose2d: sizes must be >= 1 (n=%d, c=%d, h=%d, "
            "w=%d, k=%d)",
            p->n, p->c, p->h, p->w, p->k);
    if (p->kh < 1 || p->kw < 1)
        CK_FAIL("conv_transpose2d: kernel size must be >= 1 (kh=%d, kw=%d)",
                p->kh, p->kw);
    if (p->stride_h < 1 || p->stride_w < 1)
        CK_FAIL(
            "conv_transpose2d: stride must be >= 1 (stride_h=%d, "
            "stride_w=%d)",
            p->stride_h, p->stride_w);
    if (p->dil_h < 1 || p->dil_w < 1)
        CK_FAIL(
            "conv_transpose2d: dilation must be >= 1 (dil_h=%d, "
            "dil_w=%d)",
            p->dil_h, p->dil_w);
    if (p->pad_h < 0 || p->pad_w < 0)
        CK_FAIL(
            "conv_transpose2d: padding must be >= 0 (pad_h=%d, "
            "pad_w=%d)",
            p->pad_h, p->pad_w);
    if (p->out_pad_h < 0 || p->out_pad_w < 0)
        CK_FAIL(
            "conv_transpose2d: output padding must be >= 0 "
            "(out_pad_h=%d, out_pad_w=%d)",
            p->out_pad_h, p->out_pad_w);
    // PyTorch: output padding must be smaller than either stride or
    // dilation.
    if (p->out_pad_h >= p->stride_h && p->out_pad_h >= p->dil_h)
        CK_FAIL(
            "conv_transpose2d: output padding must be smaller than "
            "stride or dilation (out_pad_h=%d, stride_h=%d, dil_h=%d)",
            p->out_pad_h, p->stride_h, p->dil_h);
    if (p->out_pad_w >= p->stride_w && p->out_pad_w >= p->dil_w)
        CK_FAIL(
            "conv_transpose2d: output padding must be smaller than "
            "stride or dilation (out_pad_w=%d, stride_w=%d, dil_w=%d)",
            p->out_pad_w, p->stride_w, p->dil_w);
    if (p->groups < 1)
        CK_FAIL("conv_transpose2d: groups must be >= 1 (groups=%d)",
                p->groups);
    if (p->c % p->groups != 0)
        CK_FAIL(
            "conv_transpose2d: input channels c=%d not divisible by "
            "groups=%d",
            p->c, p->groups);
    if (p->k % p->groups != 0)
        CK_FAIL(
            "conv_transpose2d: output channels k=%d not divisible by "
            "groups=%d",
            p->k, p->groups);
    long oh = ((long)p->h - 1) * p->stride_h - 2L * p->pad_h +
              (long)p->dil_h * (p->kh - 1) + p->out_pad_h + 1;
    long ow = ((long)p->w - 1) * p->stride_w - 2L * p->pad_w +
              (long)p->dil_w * (p->kw - 1) + p->out_pad_w + 1;
    if (oh < 1)
        CK_FAIL(
            "conv_transpose2d: output height %ld < 1 (h=%d, kh=%d, "
            "pad_h=%d, out_pad_h=%d, dil_h=%d, stride_h=%d)",
            oh, p->h, p->kh, p->pad_h, p->out_pad_h, p->dil_h, p->stride_h);
    if (ow < 1)
        CK_FAIL(
            "conv_transpose2d: output width %ld < 1 (w=%d, kw=%d, "
            "pad_w=%d, out_pad_w=%d, dil_w=%d, stride_w=%d)",
            ow, p->w, p->kw, p->pad_w, p->out_pad_w, p->dil_w, p->stride_w);
    // GEMM sizes are ints.
    if (oh * ow > INT_MAX || (long)p->h * p->w > INT_MAX ||
        (long)(p->k / p->groups) * p->kh * p->kw > INT_MAX)
        CK_FAIL(
            "conv_transpose2d: sizes overflow 32-bit GEMM dimensions "
            "(k=%d, out_h=%ld, out_w=%ld, kh=%d, kw=%d)",
            p->k, oh, ow, p->kh, p->kw);
    p->out_h = (int)oh;
    p->out_w = (int)ow;
    return 0;
}

// The equivalent conv2d seen by the engine: its input is our output.
static ck_conv_geom transpose_geom(const ck_conv_transpose2d_params *p) {
    ck_conv_geom cg = {.n = p->n,
                       .groups = p->groups,
                       .ci = p->k,
                       .co = p->c,
                       .g = {.ih = p->out_h,
                             .iw = p->out_w,
                             .oh = p->h,
                             .ow = p->w,
                             .kh = p->kh,
                             .kw = p->kw,
                             .sh = p->stride_h,
                             .sw = p->stride_w,
                             .ph = p->pad_h,
                             .pw = p->pad_w,
                             .dh = p->dil_h,
                             .dw = p->dil_w}};
    return cg;
}

void ck_conv_transpose2d_forward_f32(const ck_conv_transpose2d_params *p,
                                     const float *x, const float *w,
                                     const float *bias, float *y) {
    ck_conv_geom cg = transpose_geom(p);
    ck_conv_gemm_raise(&cg, x, w, bias, y);
}

void ck_conv_transpose2d_backward_data_f32(const ck_conv_transpose2d_params *p,
                                           const float *dy, const float *w,
                                           float *dx) {
    ck_conv_geom cg = transpose_geom(p);
    ck_conv_lower_gemm(&cg, dy, w, NULL, dx);
}

void ck_conv_transpose2d_backward_weight_f32(
    const ck_conv_transpose2d_params *p, const float *x, const float *dy,
    float *dw) {
    ck_conv_geom cg = transpose_geom(p);
    ck_conv_weight_grad(&cg, dy, x, dw);
}

void ck_conv_transpose2d_backward_bias_f32(const ck_conv_transpose2d_params *p,
                                           const float *dy, float *db) {
    ck_channel_sum(p->n, p->k, (size_t)p->out_h * p->out_w, dy, db);
}
