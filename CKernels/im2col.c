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

// Widest image row col2im_stride2 takes (its row buffers live on the stack).
#define STRIDE2_MAX_W 4096

// col2im for strides of 2 (no horizontal dilation), gathered an image row
// at a time instead of scattered tap by tap: the even and odd
// pixels of a row are each a sum of whole column rows at an offset, added
// as contiguous vectors into two row buffers and then interleaved into the
// image, where the scatter did one strided scalar add per term and zeroed
// the plane first. Each pixel still adds its terms onto zero (or onto the
// image, when accumulating) in the same (ky, kx) order, so results are
// bitwise those of the scatter. Alternating with the scatter in one
// process (three runs of 40 calls, 2 threads): case j forward 7.45-9.94
// -> 6.60-9.11 ms, case f's input gradient 36.5 -> 35.5 and 36.8 -> 36.1
// ms (one run too noisy to read).
static inline __attribute__((always_inline)) void col2im_stride2(
    const ck_lower_geom *g, const float *cols, size_t ld, int c0, int c1,
    int accumulate, float *img) {
    const size_t plane = (size_t)g->ih * g->iw;
    const int iw = g->iw, ow = g->ow;
    const int half[2] = {(iw + 1) / 2, iw / 2};  // even, odd pixels
    float buf[2][STRIDE2_MAX_W / 2];
    for (int c = c0; c < c1; c++) {
        float *dst = img + (size_t)c * plane;
        for (int y = 0; y < g->ih; y++) {
            float *d = dst + (size_t)y * iw;
            int started = 0;
            for (int ky = 0; ky < g->kh; ky++) {
                const int ty = y + g->ph - ky * g->dh;  // 2 * oy
                if (ty < 0 || (ty & 1) || ty >> 1 >= g->oh) continue;
                const int oy = ty >> 1;
                if (!started) {
                    started = 1;
                    for (int p = 0; p < 2; p++)
                        for (int j = 0; j < half[p]; j++)
                            buf[p][j] = accumulate ? d[2 * j + p] : 0.0f;
                }
                for (int kx = 0; kx < g->kw; kx++) {
                    // Pixel x = 2 * ox + kx - pw = 2 * j + p.
                    const int p = (kx - g->pw) & 1;
                    const int off = (kx - g->pw - p) / 2;  // j - ox
                    const int lo = off > 0 ? off : 0;
                    const int hi = ow + off < half[p] ? ow + off : half[p];
                    const float *row =
                        cols + (((size_t)c * g->kh + ky) * g->kw + kx) * ld +
                        (size_t)oy * ow;
                    float *b = buf[p];
                    for (int j = lo; j < hi; j++) b[j] += row[j - off];
                }
            }
            if (!started) {
                if (!accumulate) memset(d, 0, sizeof(float) * iw);
                continue;
            }
            for (int j = 0; j < half[1]; j++) {
                d[2 * j] = buf[0][j];
                d[2 * j + 1] = buf[1][j];
            }
            if (iw & 1) d[iw - 1] = buf[0][half[0] - 1];
        }
    }
}

// Compiled for baseline x86-64 and, chosen at run time, for AVX2 (8-wide
// adds and interleaves).
static void col2im_stride2_base(const ck_lower_geom *g, const float *cols,
                                size_t ld, int c0, int c1, int accumulate,
                                float *img) {
    col2im_stride2(g, cols, ld, c0, c1, accumulate, img);
}
CK_AVX2 static void col2im_stride2_avx2(const ck_lower_geom *g,
                                        const float *cols, size_t ld, int c0,
                                        int c1, int accumulate, float *img) {
    col2im_stride2(g, cols, ld, c0, c1, accumulate, img);
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
    if (g->sh == 2 && g->sw == 2 && g->dw == 1 && g->iw <= STRIDE2_MAX_W) {
        (ck_use_avx2()
             ? col2im_stride2_avx2
             : col2im_stride2_base)(g, cols, ld, c0, c1, accumulate, img);
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
