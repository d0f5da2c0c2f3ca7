// im2col / col2im: the lowering that turns convolution into one GEMM.
// Rows are filled a whole output row at a time; the in-bounds span of each
// kernel tap is computed once so the inner loops carry no bounds checks.
#include <string.h>

#include "workspace.h"

void ck_im2col(const ck_lower_geom *g, const float *img, int c0, int c1,
               float *cols, size_t ld) {
    const size_t plane = (size_t)g->ih * g->iw;
    const int sw = g->sw;
    for (int c = c0; c < c1; c++) {
        const float *src = img + (size_t)c * plane;
        for (int ky = 0; ky < g->kh; ky++) {
            int oy_lo, oy_hi;
            int yoff = ky * g->dh - g->ph;
            ck_valid_span(g->ih, g->oh, g->sh, yoff, &oy_lo, &oy_hi);
            for (int kx = 0; kx < g->kw; kx++) {
                int ox_lo, ox_hi;
                int xoff = kx * g->dw - g->pw;
                ck_valid_span(g->iw, g->ow, sw, xoff, &ox_lo, &ox_hi);
                size_t row = ((size_t)c * g->kh + ky) * g->kw + kx;
                float *dst = cols + row * ld;
                memset(dst, 0, (size_t)oy_lo * g->ow * sizeof(float));
                for (int oy = oy_lo; oy < oy_hi; oy++) {
                    float *d = dst + (size_t)oy * g->ow;
                    const float *s = src + (size_t)(oy * g->sh + yoff) * g->iw;
                    for (int ox = 0; ox < ox_lo; ox++) d[ox] = 0.0f;
                    if (sw == 1) {
                        ck_copy_floats(d + ox_lo, s + ox_lo + xoff,
                                       ox_hi - ox_lo);
                    } else {
                        for (int ox = ox_lo; ox < ox_hi; ox++)
                            d[ox] = s[ox * sw + xoff];
                    }
                    for (int ox = ox_hi; ox < g->ow; ox++) d[ox] = 0.0f;
                }
                memset(dst + (size_t)oy_hi * g->ow, 0,
                       (size_t)(g->oh - oy_hi) * g->ow * sizeof(float));
            }
        }
    }
}

// col2im when the windows tile the image (kernel == stride, no dilation or
// padding: a 2x2 stride-2 transposed conv): every pixel gets at most one
// term, so rows are written once, taps of a window row interleaved, and
// only the pixels no window covers are zeroed.
static void col2im_tiled(const ck_lower_geom *g, const float *cols, size_t ld,
                         int c0, int c1, float *img) {
    const size_t plane = (size_t)g->ih * g->iw;
    const int kh = g->kh, kw = g->kw, ow = g->ow, iw = g->iw;
    const int cov_w = ow * kw;  // covered columns; the rest are zero
    for (int c = c0; c < c1; c++) {
        float *dst = img + (size_t)c * plane;
        const float *src = cols + (size_t)c * kh * kw * ld;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ky = 0; ky < kh; ky++) {
                float *d = dst + (size_t)(oy * kh + ky) * iw;
                const float *s = src + (size_t)ky * kw * ld + (size_t)oy * ow;
                if (kw == 2) {
                    const float *s1 = s + ld;
                    for (int ox = 0; ox < ow; ox++) {
                        d[2 * ox] = s[ox];
                        d[2 * ox + 1] = s1[ox];
                    }
                } else {
                    for (int ox = 0; ox < ow; ox++)
                        for (int kx = 0; kx < kw; kx++)
                            d[ox * kw + kx] = s[kx * ld + ox];
                }
                for (int x = cov_w; x < iw; x++) d[x] = 0.0f;
            }
        memset(dst + (size_t)g->oh * kh * iw, 0,
               sizeof(float) * (plane - (size_t)g->oh * kh * iw));
    }
}

void ck_col2im(const ck_lower_geom *g, const float *cols, size_t ld, int c0,
               int c1, int accumulate, float *img) {
    const size_t plane = (size_t)g->ih * g->iw;
    const int sw = g->sw;
    if (!accumulate && g->kh == g->sh && g->kw == g->sw && g->dh == 1 &&
        g->dw == 1 && g->ph == 0 && g->pw == 0) {
        col2im_tiled(g, cols, ld, c0, c1, img);
        return;
    }
    for (int c = c0; c < c1; c++) {
        float *dst = img + (size_t)c * plane;
        if (!accumulate) memset(dst, 0, plane * sizeof(float));
        // Taps in a fixed order, so each pixel sums its terms identically
        // whatever thread runs this channel.
        for (int ky = 0; ky < g->kh; ky++) {
            int oy_lo, oy_hi;
            int yoff = ky * g->dh - g->ph;
            ck_valid_span(g->ih, g->oh, g->sh, yoff, &oy_lo, &oy_hi);
            for (int kx = 0; kx < g->kw; kx++) {
                int ox_lo, ox_hi;
                int xoff = kx * g->dw - g->pw;
                ck_valid_span(g->iw, g->ow, sw, xoff, &ox_lo, &ox_hi);
                size_t row = ((size_t)c * g->kh + ky) * g->kw + kx;
                const float *src = cols + row * ld;
                for (int oy = oy_lo; oy < oy_hi; oy++) {
                    const float *s = src + (size_t)oy * g->ow;
                    float *d = dst + (size_t)(oy * g->sh + yoff) * g->iw;
                    if (sw == 1) {
                        for (int ox = ox_lo; ox < ox_hi; ox++)
                            d[ox + xoff] += s[ox];
                    } else {
                        for (int ox = ox_lo; ox < ox_hi; ox++)
                            d[ox * sw + xoff] += s[ox];
                    }
                }
            }
        }
    }
}
