// 3x3 stride-1 convolution by Winograd's minimal filtering, F(4x4, 3x3).
//
// Each 4x4 block of outputs ("tile") is computed from the 6x6 block of input
// under it: Y = A^T [ U (.) V ] A, with V = B^T d B the transformed input
// tile and U = G g G^T the transformed 3x3 filter (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016). Summed over input
// channels, the 36 elementwise products become 36 independent GEMMs,
//     M[xi] (co x tiles) = U[xi] (co x ci) x V[xi] (ci x tiles),
// which run on the GEMM's packed micro-kernel: 36 multiplies per 16 outputs
// instead of 144, a quarter of the direct method's.
//
// A task is a run of tile rows (several small images, or a band of a large
// one). It copies its input rows zero-padded, transforms eight tiles at a
// time straight into the GEMM's B-panel layout, runs the 36 products while
// V is in L2, and transforms M back into the output. The filters are
// transformed and packed once per call and shared by the threads.
//
// The input gradient is the same engine run on dy with the flipped
// filters, or, for valid convs on small images, the adjoint of the
// forward's tiles (conv_winograd_data.c); the weight gradient sums Dy x V^T
// over tiles (conv_winograd_weight.c). winograd.h holds what they share.
//
// Every output element comes from one tile, one product per xi over all
// input channels in one k block, and one output transform: results do not
// depend on how tiles are split into tasks, so they are bitwise identical at
// any thread count.
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "winograd.h"

// Input tiles at x + off[l] (rows wp apart, l < 8) to V: element xi of
// tile l at v[xi * vstride + l].
static inline __attribute__((always_inline)) void input_tiles(
    const float *x, const ptrdiff_t *off, int wp, float *v, size_t vstride) {
    v8 d[WXI], e[WXI];
    for (int i = 0; i < WA; i++) {
        v8 r[8];
        for (int l = 0; l < 8; l++)
            r[l] = *(const v8u *)(x + off[l] + (size_t)i * wp);
        transpose8x6(r, d + i * WA);
    }
    for (int i = 0; i < WA; i++) bt6(d + i * WA, e + i * WA, 1);
    for (int j = 0; j < WA; j++) bt6(e + j, d + j, WA);
    for (int xi = 0; xi < WXI; xi++) *(v8 *)(v + xi * vstride) = d[xi];
}

// v = v > 0 ? v : 0 lane by lane (ck_unary_f32's ReLU: a NaN becomes 0).
// By pointer: a vector argument draws ABI warnings in the baseline build.
static inline __attribute__((always_inline)) void relu8(v8 *v) {
    typedef int vi8 __attribute__((vector_size(32)));
    *v = (v8)((vi8)(*v > 0.0f) & (vi8)*v);
}

// Products of eight tiles (element xi at m[xi * mstride]) to their 4x4
// output blocks (+ bias, then ReLU if relu): q[r][l % 4] holds row r of
// tile l in its low (l < 4) or high half.
static inline __attribute__((always_inline)) void output_values(
    const float *m, size_t mstride, float bias, v8 y[WM * WM]) {
    v8 p[WXI], s[WA * WM];
    for (int xi = 0; xi < WXI; xi++) p[xi] = *(const v8 *)(m + xi * mstride);
    for (int i = 0; i < WA; i++) at6(p + i * WA, s + i * WM, 1);
    for (int j = 0; j < WM; j++) at6(s + j, y + j, WM);
    for (int e = 0; e < WM * WM; e++) y[e] += bias;
}
static inline __attribute__((always_inline)) void output_rows(
    const float *m, size_t mstride, float bias, int relu, v8 q[WM][4]) {
    v8 y[WM * WM];
    output_values(m, mstride, bias, y);
    if (relu)
        for (int e = 0; e < WM * WM; e++) relu8(&y[e]);
    for (int r = 0; r < WM; r++) transpose4x4x2(y + r * WM, q[r]);
}
// Row r of tile l from output_rows.
static inline __attribute__((always_inline)) v4u tile_row(v8 q[WM][4], int r,
                                                          int l) {
    const v8 ql = q[r][l & 3];
    return l < 4 ? __builtin_shufflevector(ql, ql, 0, 1, 2, 3)
                 : __builtin_shufflevector(ql, ql, 4, 5, 6, 7);
}

// The outputs of eight tiles (as output_values) max-pooled 2x2, stride 2:
// in each window the first of the largest values in PyTorch's scan order
// (row by row; a NaN takes over), then ReLU on the maximum if relu -- the
// same values and indices as the pool kernels on the stored conv output.
static inline __attribute__((always_inline)) void pool_tiles(
    const float *m, size_t mstride, float bias, int relu,
    const wino_pool_tiles *pt, float *y, int32_t *ind) {
    typedef int vi8 __attribute__((vector_size(32)));
    typedef int vi4u __attribute__((vector_size(16), aligned(4)));
    typedef int vi2u __attribute__((vector_size(8), aligned(4)));
    v8 o[WM * WM];
    output_values(m, mstride, bias, o);
    vi8 base;
    memcpy(&base, pt->base, sizeof base);
    v8 pm[4];
    vi8 pi[4];
    for (int w = 0; w < 4; w++) {
        const int py = w >> 1, px = w & 1;
        const int e0 = 2 * py * WM + 2 * px;
        const int at[4] = {e0, e0 + 1, e0 + WM, e0 + WM + 1};
        const int d0 = 2 * py * pt->cw + 2 * px;
        const int dat[4] = {d0, d0 + 1, d0 + pt->cw, d0 + pt->cw + 1};
        v8 mx = o[at[0]];
        vi8 ix = base + dat[0];
        for (int k = 1; k < 4; k++) {
            const v8 t = o[at[k]];
            const vi8 take = (t > mx) | (t != t);
            mx = (v8)(((vi8)t & take) | ((vi8)mx & ~take));
            ix = ((base + dat[k]) & take) | (ix & ~take);
        }
        if (relu) relu8(&mx);
        pm[w] = mx;
        pi[w] = ix;
    }
    // Lane l's window maxima (top-left, top-right, bottom-left,
    // bottom-right) gathered as tile_row gathers a row.
    v8 q[1][4], qi[1][4];
    const v8 piv[4] = {(v8)pi[0], (v8)pi[1], (v8)pi[2], (v8)pi[3]};
    transpose4x4x2(pm, q[0]);
    transpose4x4x2(piv, qi[0]);
    for (int l = 0; l < 8; l++) {
        const int cols = pt->vw[l], rows = pt->vh[l];
        if (cols <= 0 || rows <= 0) continue;
        const v4u v = tile_row(q, 0, l);
        const vi4u iv = (vi4u)tile_row(qi, 0, l);
        const v2u vr[2] = {__builtin_shufflevector(v, v, 0, 1),
                           __builtin_shufflevector(v, v, 2, 3)};
        const vi2u ir[2] = {__builtin_shufflevector(iv, iv, 0, 1),
                            __builtin_shufflevector(iv, iv, 2, 3)};
        for (int r = 0; r < rows; r++) {
            float *yd = y + pt->off[l] + (size_t)r * pt->ow;
            int32_t *id = ind + pt->off[l] + (size_t)r * pt->ow;
            if (cols > 1) {
                *(v2u *)yd = vr[r];
                *(vi2u *)id = ir[r];
            } else {
                yd[0] = vr[r][0];
                id[0] = ir[r][0];
            }
        }
    }
}

// Filters g[k][c] (3x3, element (ky, kx) at g + ky*sy + kx*sx) of eight
// consecutive c to U = G g G^T: element xi of filter l at u[xi * ustr + l].
static inline __attribute__((always_inline)) void filter_transform(const v8 *g,
                                                                   v8 *u) {
    // t = G g (6x3), then u = t G^T (6x6); G's rows: (1/4, 0, 0),
    // -(1/6)(1, 1, 1), -(1/6)(1, -1, 1), (1/24, 1/12, 1/6),
    // (1/24, -1/12, 1/6), (0, 0, 1).
    v8 t[WA * 3];
    for (int j = 0; j < 3; j++) {
        const v8 g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        const v8 a = (g0 + g2) * (-1.0f / 6), b = g1 * (-1.0f / 6);
        const v8 c = g0 * (1.0f / 24) + g2 * (1.0f / 6), d = g1 * (1.0f / 12);
        t[0 * 3 + j] = g0 * 0.25f;
        t[1 * 3 + j] = a + b;
        t[2 * 3 + j] = a - b;
        t[3 * 3 + j] = c + d;
        t[4 * 3 + j] = c - d;
        t[5 * 3 + j] = g2;
    }
    for (int i = 0; i < WA; i++) {
        const v8 g0 = t[i * 3], g1 = t[i * 3 + 1], g2 = t[i * 3 + 2];
        const v8 a = (g0 + g2) * (-1.0f / 6), b = g1 * (-1.0f / 6);
        const v8 c = g0 * (1.0f / 24) + g2 * (1.0f / 6), d = g1 * (1.0f / 12);
        u[i * WA + 0] = g0 * 0.25f;
        u[i * WA + 1] = a + b;
        u[i * WA + 2] = a - b;
        u[i * WA + 3] = c + d;
        u[i * WA + 4] = c - d;
        u[i * WA + 5] = g2;
    }
}

// ---------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------

static void task_tiles(const wino_plan *pl, long t, long *r0, long *r1) {
    const long total = (long)pl->n * pl->th;
    *r0 = t * pl->rows;
    *r1 = *r0 + pl->rows < total ? *r0 + pl->rows : total;
}

// Copies the input rows under tile rows [ty0, ty1) of image img, channels
// [c0, c1), zero-padded, to x (channel c at x + (c - c0) * pl->cs, rows
// pl->wp apart).
void ck_wino_pad_rows(const wino_plan *pl, const float *in, int img, int ty0,
                      int ty1, int c0, int c1, float *x) {
    const size_t plane = (size_t)pl->ih * pl->iw;
    const int rows = (ty1 - ty0) * WM + 2;
    const int iy0 = ty0 * WM - pl->ph;
    // Rows [ya, yb) of the buffer hold input rows; the rest, and the
    // columns around them, are zero. Each float is written once (a memset
    // of the block under the copies wrote the image twice).
    const int ya = iy0 < 0 ? -iy0 : 0;
    const int yb = pl->ih - iy0 < rows ? pl->ih - iy0 : rows;
    const int right = pl->wp - pl->pw - pl->iw;  // zeros after a row
    const size_t run = (size_t)(yb > ya ? yb - ya : 0) * pl->iw;
    for (int c = c0; c < c1; c++) {
        const float *src = in + ((size_t)img * pl->ci + c) * plane;
        float *dst = x + (c - c0) * pl->cs;
        // The next channel's rows are a short run of their own, which the
        // hardware prefetchers find too late: start loading them now.
        if (c + 1 < pl->ci)
            ck_prefetch_floats(src + plane + (size_t)(iy0 + ya) * pl->iw, run);
        if (ya > 0) memset(dst, 0, sizeof(float) * ya * pl->wp);
        for (int yy = ya; yy < yb; yy++) {
            float *d = dst + (size_t)yy * pl->wp;
            for (int e = 0; e < pl->pw; e++) d[e] = 0.0f;
            ck_copy_floats(d + pl->pw, src + (size_t)(iy0 + yy) * pl->iw,
                           pl->iw);
            for (int e = 0; e < right; e++) d[pl->pw + pl->iw + e] = 0.0f;
        }
        if (yb < rows)
            memset(dst + (size_t)yb * pl->wp, 0,
                   sizeof(float) * (rows - yb) * pl->wp);
    }
}

static void input_tiles_base(const float *x, const ptrdiff_t *off, int wp,
                             float *v, size_t vstride) {
    input_tiles(x, off, wp, v, vstride);
}
// Edge tiles copied zero-padded into a window by clip, then transformed.
typedef void (*wino_clip_fn)(const float *src, const ptrdiff_t *off, int ld,
                             int ih, int iw, int y0, int x0, int rows,
                             int cols, float *win);
static inline __attribute__((always_inline)) void input_window(
    wino_clip_fn clip, const float *x, const ptrdiff_t *off, int ld, int ih,
    int iw, int y0, int x0, float *v, size_t vstride) {
    float win[8 * WA * 8];
    ptrdiff_t woff[8];
    for (int l = 0; l < 8; l++) woff[l] = (ptrdiff_t)l * WA * 8;
    clip(x, off, ld, ih, iw, y0, x0, WA, 8, win);
    input_tiles(win, woff, 8, v, vstride);
}
static void input_edge_base(const float *x, const ptrdiff_t *off, int ld,
                            int ih, int iw, int y0, int x0, float *v,
                            size_t vstride) {
    input_window(ck_wino_clip_window, x, off, ld, ih, iw, y0, x0, v, vstride);
}
// The output blocks of eight tiles: tile l's row r goes to out + ooff[l] +
// r * ow, of which vw[l] columns and vh[l] rows lie inside the image.
static void output_tiles_base(const float *m, size_t mstride, float bias,
                              int relu, float *out, const long *ooff,
                              const signed char *vw, const signed char *vh,
                              int ow) {
    v8 q[WM][4];
    output_rows(m, mstride, bias, relu, q);
    for (int r = 0; r < WM; r++)
        for (int l = 0; l < 8; l++) {
            if (r >= vh[l]) continue;
            const v4u row = tile_row(q, r, l);
            float *dst = out + ooff[l] + (size_t)r * ow;
            switch (vw[l]) {  // fixed-size stores, no loop
            case 4: *(v4u *)dst = row; break;
            case 3: dst[2] = row[2];  // fall through
            case 2:
                *(v2u *)dst = __builtin_shufflevector(row, row, 0, 1);
                break;
            case 1: dst[0] = row[0]; break;
            default: break;
            }
        }
}
static void pool_tiles_base(const float *m, size_t mstride, float bias,
                            int relu, const wino_pool_tiles *pt, float *y,
                            int32_t *ind) {
    pool_tiles(m, mstride, bias, relu, pt, y, ind);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void pool_tiles_avx2(
    const float *m, size_t mstride, float bias, int relu,
    const wino_pool_tiles *pt, float *y, int32_t *ind) {
    pool_tiles(m, mstride, bias, relu, pt, y, ind);
}
__attribute__((target("avx2,fma"))) static void input_tiles_avx2(
    const float *x, const ptrdiff_t *off, int wp, float *v, size_t vstride) {
    input_tiles(x, off, wp, v, vstride);
}
// Edge tiles built in registers: each row is loaded from inside its plane
// (at column 0 on the left edge, iw - 8 on the right) and its lanes moved
// into place, zero outside. Copying a window with masked loads first cost
// as much as the transform (10% of the U-Net's 128x128 weight gradients).
__attribute__((target("avx2,fma"))) static void input_edge_avx2(
    const float *x, const ptrdiff_t *off, int ld, int ih, int iw, int y0,
    int x0, float *v, size_t vstride) {
    if (iw < 8) {
        input_window(ck_wino_clip_window_avx2, x, off, ld, ih, iw, y0, x0, v,
                     vstride);
        return;
    }
    const int c0 = x0 < 0 ? 0 : (x0 + 8 > iw ? iw - 8 : x0);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(x0 - c0));
    const __m256i col = _mm256_add_epi32(lane, _mm256_set1_epi32(x0));
    const __m256 keep = _mm256_castsi256_ps(
        _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                         _mm256_cmpgt_epi32(_mm256_set1_epi32(iw), col)));
    v8 d[WXI], e[WXI];
    for (int i = 0; i < WA; i++) {
        const int y = y0 + i;
        v8 r[8];
        for (int l = 0; l < 8; l++) {
            if (y < 0 || y >= ih) {
                r[l] = (v8)_mm256_setzero_ps();
                continue;
            }
            const __m256 row =
                _mm256_loadu_ps(x + off[l] + (ptrdiff_t)y * ld + c0);
            r[l] = (v8)_mm256_and_ps(_mm256_permutevar8x32_ps(row, idx), keep);
        }
        transpose8x6(r, d + i * WA);
    }
    for (int i = 0; i < WA; i++) bt6(d + i * WA, e + i * WA, 1);
    for (int j = 0; j < WA; j++) bt6(e + j, d + j, WA);
    for (int xi = 0; xi < WXI; xi++) *(v8 *)(v + xi * vstride) = d[xi];
}
// The same with 128-, 64- and 32-bit stores: a partial masked store
// (vmaskmovps) takes three times as long as the two plain stores of a
// 3-wide row on Zen 4, and MNIST's 11x11 outputs are mostly partial tiles.
__attribute__((target("avx2,fma"))) static void output_tiles_avx2(
    const float *m, size_t mstride, float bias, int relu, float *out,
    const long *ooff, const signed char *vw, const signed char *vh, int ow) {
    v8 q[WM][4];
    output_rows(m, mstride, bias, relu, q);
    // Eight whole 4x4 blocks (all but the image's last row and column of
    // tiles): plain stores, no per-row dispatch.
    uint64_t wide, high;
    memcpy(&wide, vw, sizeof wide);
    memcpy(&high, vh, sizeof high);
    if (wide == 0x0404040404040404ull && high == 0x0404040404040404ull) {
        for (int r = 0; r < WM; r++)
            for (int l = 0; l < 8; l++)
                _mm_storeu_ps(out + ooff[l] + (size_t)r * ow,
                              (__m128)tile_row(q, r, l));
        return;
    }
    for (int r = 0; r < WM; r++)
        for (int l = 0; l < 8; l++) {
            const int cols = r < vh[l] ? vw[l] : 0;
            float *dst = out + ooff[l] + (size_t)r * ow;
            const __m128 row = (__m128)tile_row(q, r, l);
            switch (cols) {
            case 4: _mm_storeu_ps(dst, row); break;
            case 3:
                _mm_storel_pi((__m64 *)dst, row);
                _mm_store_ss(dst + 2, _mm_movehl_ps(row, row));
                break;
            case 2: _mm_storel_pi((__m64 *)dst, row); break;
            case 1: _mm_store_ss(dst, row); break;
            default: break;
            }
        }
}
#endif

void ck_wino_task(const wino_plan *pl, const float *in, long t, float *out) {
    const ck_gemm_arch *ar = pl->ar;
    const int nr = ar->nr, tw = pl->tw, th = pl->th;
    long r0, r1;
    task_tiles(pl, t, &r0, &r1);
    const int ntiles = (int)(r1 - r0) * tw;
    const int groups = ck_ceil_div(ntiles, 8);
    const int panels = ck_ceil_div(ntiles, nr);
    const int ldm = panels * nr;
    const size_t vstride = skew((size_t)ldm * pl->ci);
    const size_t mstride = skew((size_t)ldm * pl->co);

    // Padded input, one segment per image the task touches, each segment
    // pl->rows * 4 + 2 rows of every channel; or of one channel at a time,
    // each copied just before its transform, when the rows of all would
    // crowd L2 (the U-Net's 8x8 layers: forward 8-11% faster; its 128x128
    // layers, whose rows fit, measured ~2% slower in that order). 8 floats
    // of slack at the end for the 8-wide row loads of the last tiles.
    const int nseg = (int)(r1 - 1) / th - (int)r0 / th + 1;
    const int one = (size_t)nseg * pl->ci * pl->cs > WINO_PAD_ALL_FLOATS;
    const size_t seg_floats = one ? pl->cs : (size_t)pl->ci * pl->cs;
    float *x = ck_ws_floats(CK_WS_COLS, nseg * seg_floats + 8);
    memset(x + nseg * seg_floats, 0, 8 * sizeof(float));
    int seg_img[nseg], seg_ty0[nseg], seg_ty1[nseg];
    // Per tile: where its input starts in x, its output in out (offsets of
    // image, channel 0), and how much of its 4x4 block lies in the image.
    // With a fused pool, ooff, vw and vh place the tile's pooled block in
    // the pooled plane instead, and pbase is the flat index of its first
    // output in the conv output plane.
    const int pooled = pl->pind != NULL;
    long *ooff = (long *)ck_ws_floats(CK_WS_SHIFT, (size_t)groups * 8 * 5);
    ptrdiff_t *off = (ptrdiff_t *)(ooff + groups * 8);
    int32_t *pbase = (int32_t *)(off + groups * 8);
    signed char vw[groups * 8], vh[groups * 8];
    for (int s = 0; s < nseg; s++) {
        const long g0 = (r0 / th + s) * th;  // first tile row of the image
        const long a = r0 > g0 ? r0 : g0;
        const long b = r1 < g0 + th ? r1 : g0 + th;
        const int img = (int)(g0 / th);
        const int ty0 = (int)(a - g0), ty1 = (int)(b - g0);
        seg_img[s] = img;
        seg_ty0[s] = ty0;
        seg_ty1[s] = ty1;
        if (!one)
            ck_wino_pad_rows(pl, in, img, ty0, ty1, 0, pl->ci,
                             x + s * seg_floats);
        for (int ty = ty0; ty < ty1; ty++)
            for (int tx = 0; tx < tw; tx++) {
                const int i = (int)((g0 + ty - r0) * tw) + tx;
                off[i] = (ptrdiff_t)(s * seg_floats) +
                         (ty - ty0) * WM * pl->wp + tx * WM;
                if (pooled) {
                    ooff[i] =
                        ((long)img * pl->co * pl->poh + ty * 2) * pl->pow +
                        tx * 2;
                    vw[i] =
                        (signed char)ck_imin(2, ck_imax(0, pl->pow - tx * 2));
                    vh[i] =
                        (signed char)ck_imin(2, ck_imax(0, pl->poh - ty * 2));
                    pbase[i] = ty * WM * pl->ow + tx * WM;
                    continue;
                }
                ooff[i] =
                    ((long)img * pl->co * pl->oh + ty * WM) * pl->ow + tx * WM;
                vw[i] = (signed char)ck_imin(WM, pl->ow - tx * WM);
                vh[i] = (signed char)ck_imin(WM, pl->oh - ty * WM);
            }
    }
    // Lanes past the last tile repeat it (computed, never stored).
    for (int i = ntiles; i < groups * 8; i++) {
        off[i] = off[ntiles - 1];
        ooff[i] = ooff[ntiles - 1];
        pbase[i] = pbase[ntiles - 1];
        vw[i] = vh[i] = 0;
    }

    const wino_fns *fn = ck_wino_kernels();

    // V[xi]: panels of nr tiles, each ci rows of nr floats.
    float *v = ck_ws_floats(CK_WS_PACK_B, WXI * vstride);
    for (int c = 0; c < pl->ci; c++) {
        for (int s = 0; one && s < nseg; s++)
            ck_wino_pad_rows(pl, in, seg_img[s], seg_ty0[s], seg_ty1[s], c,
                             c + 1, x + s * seg_floats);
        for (int gi = 0; gi < groups; gi++) {
            const int l0 = gi * 8;
            float *vp =
                v + (size_t)(l0 / nr) * pl->ci * nr + (size_t)c * nr + l0 % nr;
            fn->input(one ? x : x + c * pl->cs, off + l0, pl->wp, vp, vstride);
        }
    }

    // M[xi] = U[xi] x V[xi], co rows of ldm.
    float *m = ck_ws_floats(CK_WS_BATCH, WXI * mstride);
    for (int xi = 0; xi < WXI; xi++) {
        const ck_b_source bs = {v + xi * vstride, NULL, 0};
        ck_gemm_macro(ar, pl->co, ntiles, pl->ci, 1.0f,
                      pl->u + xi * pl->ustride, &bs, 0.0f, m + xi * mstride,
                      ldm);
    }

    if (pooled) {
        const size_t pplane = (size_t)pl->poh * pl->pow;
        for (int k = 0; k < pl->co; k++) {
            const float bias = pl->bias ? pl->bias[k] : 0.0f;
            for (int gi = 0; gi < groups; gi++) {
                const int l0 = gi * 8;
                const wino_pool_tiles pt = {ooff + l0,  vw + l0, vh + l0,
                                            pbase + l0, pl->pow, pl->ow};
                fn->pool(m + (size_t)k * ldm + l0, mstride, bias, pl->relu,
                         &pt, out + k * pplane, pl->pind + k * pplane);
            }
        }
        return;
    }
    const size_t oplane = (size_t)pl->oh * pl->ow;
    for (int k = 0; k < pl->co; k++) {
        const float bias = pl->bias ? pl->bias[k] : 0.0f;
        for (int gi = 0; gi < groups; gi++) {
            const int l0 = gi * 8;
            // The same blocks of the next channel, to be written next: their
            // rows (two lines for eight tiles in a row) are too short for
            // the hardware prefetchers. Forward and input-gradient passes of
            // the U-Net's 32x32 to 128x128 layers 5-12% faster with both
            // prefetches.
            if (k + 1 < pl->co)
                for (int l = l0; l < l0 + 8; l += 4)
                    for (int r = 0; r < vh[l]; r++)
                        __builtin_prefetch(out + (k + 1) * oplane + ooff[l] +
                                               r * pl->ow,
                                           1);
            fn->output(m + (size_t)k * ldm + l0, mstride, bias, pl->relu,
                       out + k * oplane, ooff + l0, vw + l0, vh + l0, pl->ow);
        }
    }
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

// Input channels per unit of ck_wino_filters: a unit writes this many
// channels' mr floats side by side for each xi (whole cache lines), not one.
#define WINO_FILTER_CHANNELS 8

// Transforms the filters of output channels [k0, k0 + mr) (one A panel)
// and input channel c, storing them packed: element xi of panel row l at
// dst[xi * ustride + l]. Filter (k, c) has taps w[k * sk + c * sc + tap],
// read flipped (tap 8 - e for tap e) if flip; rows past co are zero.
static inline __attribute__((always_inline)) void filter_panel(
    const float *w, size_t sk, size_t sc, int flip, int co, int k0, int c,
    int mr, float *dst, size_t ustride) {
    // A filter's 9 taps are contiguous: its first 8 are one load, and an
    // 8 x 8 transpose puts the panel's filters in lanes (a scalar gather
    // of 54 taps took most of the time). Tap 8 is the last column of the
    // same transpose of the loads one float further on (gathered through
    // memory, it stalled on the store forwarding).
    v8 r[8], r1[8], col[8], g[9], u[WXI];
    for (int l = 0; l < 8; l++) {
        if (l < mr && k0 + l < co) {
            const float *f = w + (size_t)(k0 + l) * sk + (size_t)c * sc;
            r[l] = *(const v8u *)f;
            r1[l] = *(const v8u *)(f + 1);
        } else {
            r[l] = r1[l] = (v8){0};
        }
    }
    transpose8x8(r, col);
    for (int e = 0; e < 8; e++) g[flip ? 8 - e : e] = col[e];
    column7(r1, &g[flip ? 0 : 8]);
    filter_transform(g, u);
    for (int xi = 0; xi < WXI; xi++) {
        float *d = dst + xi * ustride;
        if (mr == 6) {
            *(v4u *)d = __builtin_shufflevector(u[xi], u[xi], 0, 1, 2, 3);
            *(v2u *)(d + 4) = __builtin_shufflevector(u[xi], u[xi], 4, 5);
        } else {
            for (int l = 0; l < mr; l++) d[l] = u[xi][l];
        }
    }
}

// filter_panel for input channels [c0, c1), side by side from dst.
static inline __attribute__((always_inline)) void filter_panels(
    const float *w, size_t sk, size_t sc, int flip, int co, int k0, int c0,
    int c1, int mr, float *dst, size_t ustride) {
    for (int c = c0; c < c1; c++)
        filter_panel(w, sk, sc, flip, co, k0, c, mr, dst + (c - c0) * mr,
                     ustride);
}

static void filter_panels_base(const float *w, size_t sk, size_t sc, int flip,
                               int co, int k0, int c0, int c1, int mr,
                               float *dst, size_t ustride) {
    filter_panels(w, sk, sc, flip, co, k0, c0, c1, mr, dst, ustride);
}
#if defined(__x86_64__) || defined(__i386__)
// AVX2 without FMA: the same roundings as the baseline build, so U (and
// every result) does not depend on the instruction set.
__attribute__((target("avx2"))) static void filter_panels_avx2(
    const float *w, size_t sk, size_t sc, int flip, int co, int k0, int c0,
    int c1, int mr, float *dst, size_t ustride) {
    filter_panels(w, sk, sc, flip, co, k0, c0, c1, mr, dst, ustride);
}
#endif

// Transforms and packs all filters into the calling thread's CK_WS_PARTIAL
// slot: U[xi] is the A operand of product xi, packed as ck_pack_a would
// (panels of mr output channels, each ci columns of mr floats).
void ck_wino_filters(wino_plan *pl, const float *w, size_t sk, size_t sc,
                     int flip) {
    const int mr = pl->ar->mr, ci = pl->ci, co = pl->co;
    const int panels = ck_ceil_div(co, mr);
    pl->ustride = (size_t)panels * mr * ci;
    float *u = ck_ws_floats(CK_WS_PARTIAL, WXI * pl->ustride);
    const int blocks = ck_ceil_div(ci, WINO_FILTER_CHANNELS);
    const long units = (long)panels * blocks;
    int nt = (double)panels * ci * mr * WXI < WINO_SERIAL_FMAS
                 ? 1
                 : ck_team_threads();
    (void)nt;  // unused without OpenMP
    const wino_fns *fn = ck_wino_kernels();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < units; t++) {
        const int p = (int)(t / blocks);
        const int c0 = (int)(t % blocks) * WINO_FILTER_CHANNELS;
        const int c1 = ck_imin(ci, c0 + WINO_FILTER_CHANNELS);
        fn->filters(w, sk, sc, flip, co, p * mr, c0, c1, mr,
                    u + (size_t)p * mr * ci + (size_t)c0 * mr, pl->ustride);
    }
    pl->u = u;
}

wino_plan ck_wino_plan_for(int n, int ci, int co, int ih, int iw, int ph,
                           int pw, const float *bias) {
    wino_plan pl = {0};
    pl.ar = ck_gemm_arch_for(ck_isa_current());
    pl.n = n;
    pl.ci = ci;
    pl.co = co;
    pl.ih = ih;
    pl.iw = iw;
    pl.ph = ph;
    pl.pw = pw;
    pl.oh = ih + 2 * ph - 2;
    pl.ow = iw + 2 * pw - 2;
    pl.th = ck_ceil_div(pl.oh, WM);
    pl.tw = ck_ceil_div(pl.ow, WM);
    pl.wp = pl.tw * WM + 2;
    pl.bias = bias;
    // Tile rows per task: V and M within the budget, at least a few panels
    // of tiles, and enough tasks to share. Shape-only.
    const long total = (long)n * pl.th;
    long tiles = WINO_TASK_FLOATS / ((long)WXI * (ci + co));
    if (tiles < WINO_MIN_TILES) tiles = WINO_MIN_TILES;
    long rows = tiles / pl.tw;
    // Split into WINO_MIN_TASKS, unless that leaves less than a panel.
    long split = ck_ceil_div((int)total, WINO_MIN_TASKS);
    if (split < ck_ceil_div(16, pl.tw)) split = ck_ceil_div(16, pl.tw);
    if (rows > split) rows = split;
    if (rows < 1) rows = 1;
    // Of rows/2 .. rows, the count whose tiles best fill whole panels of
    // nr (36 tiles in panels of 16 waste a quarter of the products).
    const int nr = pl.ar->nr;
    long best = rows;
    double best_fill = 0.0;
    for (long r = rows; r >= (rows + 1) / 2; r--) {
        const long t = r * pl.tw;
        const double fill = (double)t / ck_round_up((int)t, nr);
        if (fill > best_fill + 1e-9) {
            best = r;
            best_fill = fill;
        }
    }
    pl.rows = (int)best;
    pl.tasks = (total + pl.rows - 1) / pl.rows;
    pl.cs = (size_t)(pl.rows * WM + 2) * pl.wp;
    return pl;
}

// Threads for a call of the plan: one below WINO_SERIAL_FMAS multiply-adds
// (of the direct method), else the team.
int ck_wino_threads(const wino_plan *pl) {
    double fmas = 9.0 * pl->n * pl->oh * pl->ow * pl->ci * pl->co;
    return fmas < WINO_SERIAL_FMAS ? 1 : ck_team_threads();
}

// Runs task(pl, in, t, out) for every task of the plan, in parallel.
void ck_wino_run(const wino_plan *pl, wino_task_fn task, const float *in,
                 float *out) {
    int nt = ck_wino_threads(pl);
    if (nt > pl->tasks) nt = (int)pl->tasks;
    (void)nt;  // unused without OpenMP
    // A static split: each thread takes one run of consecutive tasks (its
    // share of the images), as the element-wise and reduction kernels
    // around these calls do, so more of what a thread reads was written
    // from its own core. Handing tasks out one at a time instead balanced
    // the threads better but measured 1-8 ms slower a U-Net step (five
    // alternating runs of 200 steps, session 9).
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < pl->tasks; t++) task(pl, in, t, out);
}

// Whether F(4x4, 3x3) serves a conv from ci to co channels with n images
// of oh x ow outputs: enough channels on both sides for the products to run
// at speed, few outputs wasted in partial tiles, and enough tiles to repay
// transforming the filters (U is four times the size of the weights).
int ck_wino_fits(int n, int ci, int co, int oh, int ow) {
    if (ci < 16 || co < 16 || ci > WINO_MAX_CI) return 0;
    const long th = ck_ceil_div(oh, WM), tw = ck_ceil_div(ow, WM);
    if (n * th * tw < WINO_MIN_CALL_TILES) return 0;
    if ((double)oh * ow < WINO_MIN_FILL * th * tw * WM * WM) return 0;
    // Tile rows must index by int offsets within a task.
    if ((long)ci * (oh + 8) * (ow + 8) >= (1L << 28)) return 0;
    return 1;
}

// ck_set_winograd's switch.
static int wino_enabled = 1;

void ck_set_winograd(int enabled) { wino_enabled = enabled != 0; }
int ck_get_winograd(void) { return wino_enabled; }

// A plain 3x3 stride-1 conv, with Winograd switched on.
int ck_wino_geometry(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
#ifdef CK_WINO_DISABLED  // build switch for A/B timing and checks
    return 0;
#endif
    if (!wino_enabled) return 0;
    if (cg->groups != 1 || g->kh != 3 || g->kw != 3) return 0;
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1;
}

int ck_conv_wino_applies(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
    return ck_wino_geometry(cg) &&
           ck_wino_fits(cg->n, cg->ci, cg->co, g->oh, g->ow);
}

void ck_conv_wino_forward(const ck_conv_geom *cg, const float *x,
                          const float *w, const float *bias, int relu,
                          float *y) {
    const ck_lower_geom *g = &cg->g;
    wino_plan pl = ck_wino_plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph,
                                    g->pw, bias);
    pl.relu = relu;
    ck_wino_filters(&pl, w, (size_t)cg->ci * 9, 9, 0);
    ck_wino_run(&pl, ck_wino_task, x, y);
}

int ck_conv_wino_pool_applies(const ck_conv_geom *cg,
                              const ck_pool2d_params *pool) {
    return ck_conv_wino_applies(cg) && pool->kh == 2 && pool->kw == 2 &&
           pool->stride_h == 2 && pool->stride_w == 2 && pool->pad_h == 0 &&
           pool->pad_w == 0;
}

void ck_conv_wino_forward_maxpool(const ck_conv_geom *cg, const float *x,
                                  const float *w, const float *bias, int relu,
                                  const ck_pool2d_params *pool, float *y,
                                  int32_t *indices) {
    const ck_lower_geom *g = &cg->g;
    wino_plan pl = ck_wino_plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph,
                                    g->pw, bias);
    pl.relu = relu;
    pl.poh = pool->out_h;
    pl.pow = pool->out_w;
    pl.pind = indices;
    ck_wino_filters(&pl, w, (size_t)cg->ci * 9, 9, 0);
    ck_wino_run(&pl, ck_wino_task, x, y);
}

const wino_fns *ck_wino_kernels(void) {
    static const wino_fns base = {input_tiles_base,
                                  input_edge_base,
                                  output_tiles_base,
                                  ck_wino_grad_tile_base,
                                  ck_wino_dy_tiles_base,
                                  ck_wino_adjoint_tiles_base,
                                  pool_tiles_base,
                                  ck_wino_clip_window,
                                  filter_panels_base};
#if defined(__x86_64__) || defined(__i386__)
    static const wino_fns avx2 = {input_tiles_avx2,
                                  input_edge_avx2,
                                  output_tiles_avx2,
                                  ck_wino_grad_tile_avx2,
                                  ck_wino_dy_tiles_avx2,
                                  ck_wino_adjoint_tiles_avx2,
                                  pool_tiles_avx2,
                                  ck_wino_clip_window_avx2,
                                  filter_panels_avx2};
    if (ck_use_avx2()) return &avx2;
#endif
    return &base;
}
