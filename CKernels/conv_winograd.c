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
// forward's tiles; the weight gradient sums Dy x V^T over tiles (sections
// at the end of the file).
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

#include "gemm_internal.h"
#include "workspace.h"

#define WA 6    // input tile side
#define WM 4    // output tile side
#define WXI 36  // transformed elements per tile

// Floats of V and M a task may hold (V and M together stay in a 1 MiB L2
// with room for the filters streaming past).
#ifndef WINO_TASK_FLOATS
#define WINO_TASK_FLOATS (1L << 17)
#endif
// Fewest tiles per task: below this the products' panels are too thin.
#define WINO_MIN_TILES 32
// Tasks a call is split into at least, so two threads share evenly.
#define WINO_MIN_TASKS 8
// Fewest tiles in a call: transforming the filters (36 ci x co floats)
// must pay off. At 32 tiles it does for the U-Net's 8x8 bottleneck (N=8,
// 128 -> 256 and 256 -> 256 channels: the three passes 1.5-1.9x, the
// weight gradient 1.7-1.9x faster than the shifted-window conv).
#ifndef WINO_MIN_CALL_TILES
#define WINO_MIN_CALL_TILES 32
#endif
// Least share of a call's tile outputs that lie in the image. An 11x11
// output fills 84% of its 12x12 tiles, 13x13 66% of 16x16, 3x3 56% of one
// tile: all still gain (3x3: 36 products per tile against 81 multiplies).
// 5x5 fills 39% of 8x8 and loses.
#ifndef WINO_MIN_FILL
#define WINO_MIN_FILL 0.5
#endif
// Multiply-adds (of the direct method) below which a call stays serial.
#define WINO_SERIAL_FMAS (1L << 16)
// Largest input channel count: one k block, the B panel (ci x nr floats)
// stays in L1.
#define WINO_MAX_CI 512

typedef float v8 __attribute__((vector_size(32), aligned(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));
typedef float v2u __attribute__((vector_size(8), aligned(4)));

// Where eight tiles' pooled 2x2 blocks go (ck_conv_wino_forward_maxpool):
// lane l's block at y + off[l] (rows ow apart), vw[l] x vh[l] of it inside
// the pooled plane; its argmax indices count from base[l], the flat index
// of the tile's first output in the conv output plane (rows cw apart).
typedef struct {
    const long *off;
    const signed char *vw, *vh;
    const int32_t *base;
    int ow, cw;
} wino_pool_tiles;

// The vector kernels of the transforms, each compiled twice (baseline
// x86-64 or portable C, and AVX2+FMA); wino_kernels() picks the set for the
// current ISA once per call.
typedef struct {
    // Input tiles at x + off[l] (rows wp apart) to V (element xi of lane l
    // at v[xi * vstride + l]).
    void (*input)(const float *x, const ptrdiff_t *off, int wp, float *v,
                  size_t vstride);
    // Products of eight tiles to their 4x4 output blocks (+ bias, then
    // ReLU if relu).
    void (*output)(const float *m, size_t mstride, float bias, int relu,
                   float *out, const long *ooff, const signed char *vw,
                   const signed char *vh, int ow);
    // A dy A^T of one tile's channels (6 lanes, an A panel) or of eight
    // tiles of one channel (8 lanes, a B panel).
    void (*grad)(const float *y, const ptrdiff_t *off, int ld, float *dst,
                 size_t dstride);
    void (*dy)(const float *y, const ptrdiff_t *off, int ld, float *dst,
               size_t dstride);
    // B M B^T of eight tiles added into their 6x6 windows.
    void (*adjoint)(const float *m, size_t mstride, float *buf,
                    const ptrdiff_t *boff, int wp);
    // Products of eight tiles to the 2x2 max pool of their output blocks
    // (+ bias; ReLU on the maxima if relu) and its argmax.
    void (*pool)(const float *m, size_t mstride, float bias, int relu,
                 const wino_pool_tiles *pt, float *y, int32_t *ind);
    // A window of eight planes copied, zero outside them.
    void (*clip)(const float *src, const ptrdiff_t *off, int ih, int iw,
                 int y0, int x0, int rows, int cols, float *win);
} wino_fns;
static const wino_fns *wino_kernels(void);

// One call: out[n, co, oh, ow] = 3x3 conv of in[n, ci, ih, iw], stride 1,
// padding (ph, pw), with the filters U (already transformed and packed).
typedef struct {
    const ck_gemm_arch *ar;
    int n, ci, co;
    int ih, iw, oh, ow, ph, pw;
    int th, tw;  // tiles per image, down and across
    int rows;    // tile rows per task
    long tasks;
    int wp;          // padded row width (tw * 4 + 2)
    size_t cs;       // channel stride of the padded task buffer
    size_t ustride;  // packed U: element xi at u + xi * ustride
    const float *u;
    const float *bias;
    int relu;       // forward: ReLU on the outputs (v > 0 ? v : 0)
    int poh, pow;   // forward: 2x2 stride-2 max pool to poh x pow
    int32_t *pind;  // (when pind is set) and its argmax indices
    // Backward: dy is the gradient a 2x2 stride-2 max pool (to poh x pow)
    // routes back from pdy (through its ReLU mask, if not NULL) and its
    // argmax indices, scattered as it is padded; or dense when pdy is NULL.
    const float *pdy, *pmask;
    const int32_t *pidx;
} wino_plan;

// ---------------------------------------------------------------------------
// The three transforms, on vectors of eight tiles (or eight filters).
// ---------------------------------------------------------------------------

// o = B^T d for one line of six input values.
static inline __attribute__((always_inline)) void bt6(const v8 *d, v8 *o,
                                                      int step) {
    const v8 d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step],
             d4 = d[4 * step], d5 = d[5 * step];
    const v8 t1 = d4 - 4.0f * d2, t2 = d3 - 4.0f * d1;
    const v8 t3 = d4 - d2, t4 = 2.0f * (d3 - d1);
    o[0] = 4.0f * d0 - 5.0f * d2 + d4;
    o[step] = t1 + t2;
    o[2 * step] = t1 - t2;
    o[3 * step] = t3 + t4;
    o[4 * step] = t3 - t4;
    o[5 * step] = 4.0f * d1 - 5.0f * d3 + d5;
}

// o = A^T m for one line of six products.
static inline __attribute__((always_inline)) void at6(const v8 *m, v8 *o,
                                                      int step) {
    const v8 a = m[step] + m[2 * step], b = m[step] - m[2 * step];
    const v8 c = m[3 * step] + m[4 * step], d = m[3 * step] - m[4 * step];
    o[0] = m[0] + a + c;
    o[step] = b + 2.0f * d;
    o[2 * step] = a + 4.0f * c;
    o[3 * step] = b + 8.0f * d + m[5 * step];
}

// The eight rows r[0..7] (one per tile) transposed: o[j] holds element j of
// every row, for j < 6.
// Shuffles of two 8-lane vectors (each two 4-lane halves): LO and HI
// interleave the low and high pairs of each half, PLO and PHI the low and
// high 64-bit pairs, QLO and QHI join the low and the high halves.
#define LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define HI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define PLO(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define PHI(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define QLO(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define QHI(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)

static inline __attribute__((always_inline)) void transpose8x6(const v8 *r,
                                                               v8 *o) {
    const v8 t0 = LO(r[0], r[1]), t1 = HI(r[0], r[1]);
    const v8 t2 = LO(r[2], r[3]), t3 = HI(r[2], r[3]);
    const v8 t4 = LO(r[4], r[5]), t5 = HI(r[4], r[5]);
    const v8 t6 = LO(r[6], r[7]), t7 = HI(r[6], r[7]);
    const v8 s0 = PLO(t0, t2), s1 = PHI(t0, t2), s2 = PLO(t1, t3);
    const v8 s3 = PHI(t1, t3), s4 = PLO(t4, t6), s5 = PHI(t4, t6);
    const v8 s6 = PLO(t5, t7), s7 = PHI(t5, t7);
    o[0] = QLO(s0, s4);
    o[1] = QLO(s1, s5);
    o[2] = QLO(s2, s6);
    o[3] = QLO(s3, s7);
    o[4] = QHI(s0, s4);
    o[5] = QHI(s1, s5);
}

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
    for (int r = 0; r < WM; r++) {
        const v8 y0 = y[r * WM], y1 = y[r * WM + 1];
        const v8 y2 = y[r * WM + 2], y3 = y[r * WM + 3];
        const v8 u0 = LO(y0, y1), u1 = HI(y0, y1);
        const v8 u2 = LO(y2, y3), u3 = HI(y2, y3);
        q[r][0] = PLO(u0, u2);
        q[r][1] = PHI(u0, u2);
        q[r][2] = PLO(u1, u3);
        q[r][3] = PHI(u1, u3);
    }
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
    {
        const v8 t0 = LO(pm[0], pm[1]), t1 = HI(pm[0], pm[1]);
        const v8 t2 = LO(pm[2], pm[3]), t3 = HI(pm[2], pm[3]);
        q[0][0] = PLO(t0, t2);
        q[0][1] = PHI(t0, t2);
        q[0][2] = PLO(t1, t3);
        q[0][3] = PHI(t1, t3);
        const v8 a = (v8)pi[0], b = (v8)pi[1], c = (v8)pi[2], d = (v8)pi[3];
        const v8 u0 = LO(a, b), u1 = HI(a, b), u2 = LO(c, d), u3 = HI(c, d);
        qi[0][0] = PLO(u0, u2);
        qi[0][1] = PHI(u0, u2);
        qi[0][2] = PLO(u1, u3);
        qi[0][3] = PHI(u1, u3);
    }
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

// Copies the input rows under tile rows [ty0, ty1) of image img, all
// channels, zero-padded, to x (channel stride pl->cs, rows pl->wp).
static void pad_rows(const wino_plan *pl, const float *in, int img, int ty0,
                     int ty1, float *x) {
    const size_t plane = (size_t)pl->ih * pl->iw;
    const int rows = (ty1 - ty0) * WM + 2;
    const int iy0 = ty0 * WM - pl->ph;
    // Rows [ya, yb) of the buffer hold input rows; the rest, and the
    // columns around them, are zero. Each float is written once (a memset
    // of the block under the copies wrote the image twice).
    const int ya = iy0 < 0 ? -iy0 : 0;
    const int yb = pl->ih - iy0 < rows ? pl->ih - iy0 : rows;
    const int right = pl->wp - pl->pw - pl->iw;  // zeros after a row
    for (int c = 0; c < pl->ci; c++) {
        const float *src = in + ((size_t)img * pl->ci + c) * plane;
        float *dst = x + c * pl->cs;
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

// Copies the dy planes of images [img, img + nimg) (all co channels, oh x
// ow) to dst, each zero-padded to whole 4x4 blocks: th * 4 rows of tw * 4.
static void pad_pooled_dy(const wino_plan *pl, int img, int nimg, float *dst);
static void pad_dy(const wino_plan *pl, const float *dy, int img, int nimg,
                   float *dst) {
    if (pl->pdy) {
        pad_pooled_dy(pl, img, nimg, dst);
        return;
    }
    const int ldy = pl->tw * WM;
    const size_t oplane = (size_t)pl->oh * pl->ow;
    const size_t dplane = (size_t)pl->th * WM * ldy;
    for (long p = 0; p < (long)nimg * pl->co; p++) {
        const float *src = dy + ((size_t)img * pl->co + p) * oplane;
        float *d = dst + p * dplane;
        // Each float written once: rows, their right ends, the rows below.
        for (int r = 0; r < pl->oh; r++) {
            float *dr = d + (size_t)r * ldy;
            ck_copy_floats(dr, src + (size_t)r * pl->ow, pl->ow);
            for (int e = pl->ow; e < ldy; e++) dr[e] = 0.0f;
        }
        memset(d + (size_t)pl->oh * ldy, 0,
               sizeof(float) * (dplane - (size_t)pl->oh * ldy));
    }
}

// pad_dy of the gradient a 2x2 stride-2 max pool routes back: each padded
// plane zeroed, then every pooled gradient (masked to +0 where the ReLU
// mask is not > 0) added at its window's argmax, as the pool's backward
// pass fills a zeroed plane (0 + v: the same bits). The argmax is taken as
// one of its window's four pixels, so indices never reach past the plane.
static void pad_pooled_dy(const wino_plan *pl, int img, int nimg, float *dst) {
    const int ldy = pl->tw * WM, ow = pl->ow, pw = pl->pow;
    const size_t dplane = (size_t)pl->th * WM * ldy;
    const size_t pplane = (size_t)pl->poh * pw;
    for (long p = 0; p < (long)nimg * pl->co; p++) {
        const size_t q0 = ((size_t)img * pl->co + p) * pplane;
        const float *g = pl->pdy + q0;
        const float *mk = pl->pmask ? pl->pmask + q0 : NULL;
        const int32_t *ind = pl->pidx + q0;
        float *d = dst + p * dplane;
        memset(d, 0, sizeof(float) * dplane);
        for (int py = 0; py < pl->poh; py++)
            for (int px = 0; px < pw; px++) {
                const int j = py * pw + px;
                const float v = mk ? ck_masked(g[j], mk[j]) : g[j];
                const int off = ind[j] - (2 * py * ow + 2 * px);
                const int dr = off >= ow;
                const int dc = off - dr * ow != 0;
                d[(size_t)(2 * py + dr) * ldy + 2 * px + dc] += v;
            }
    }
}

static void input_tiles_base(const float *x, const ptrdiff_t *off, int wp,
                             float *v, size_t vstride) {
    input_tiles(x, off, wp, v, vstride);
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
// The same with 128-, 64- and 32-bit stores: a partial masked store
// (vmaskmovps) takes three times as long as the two plain stores of a
// 3-wide row on Zen 4, and MNIST's 11x11 outputs are mostly partial tiles.
__attribute__((target("avx2,fma"))) static void output_tiles_avx2(
    const float *m, size_t mstride, float bias, int relu, float *out,
    const long *ooff, const signed char *vw, const signed char *vh, int ow) {
    v8 q[WM][4];
    output_rows(m, mstride, bias, relu, q);
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

// Skews a stride that is a multiple of 1 KiB by one cache line, so the 36
// elements of a tile do not share cache sets.
static size_t skew(size_t floats) {
    return floats % 256 == 0 ? floats + 16 : floats;
}

static void wino_task(const wino_plan *pl, const float *in, long t,
                      float *out) {
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
    // pl->rows * 4 + 2 rows of every channel; 8 floats of slack at the end
    // for the 8-wide row loads of the last tiles.
    const int nseg = (int)(r1 - 1) / th - (int)r0 / th + 1;
    const size_t seg_floats = (size_t)pl->ci * pl->cs;
    float *x = ck_ws_floats(CK_WS_COLS, nseg * seg_floats + 8);
    memset(x + nseg * seg_floats, 0, 8 * sizeof(float));
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
        pad_rows(pl, in, img, ty0, ty1, x + s * seg_floats);
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

    const wino_fns *fn = wino_kernels();

    // V[xi]: panels of nr tiles, each ci rows of nr floats.
    float *v = ck_ws_floats(CK_WS_PACK_B, WXI * vstride);
    for (int c = 0; c < pl->ci; c++)
        for (int gi = 0; gi < groups; gi++) {
            const int l0 = gi * 8;
            float *vp =
                v + (size_t)(l0 / nr) * pl->ci * nr + (size_t)c * nr + l0 % nr;
            fn->input(x + c * pl->cs, off + l0, pl->wp, vp, vstride);
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
            fn->output(m + (size_t)k * ldm + l0, mstride, bias, pl->relu,
                       out + k * oplane, ooff + l0, vw + l0, vh + l0, pl->ow);
        }
    }
}

// ---------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------

// Transforms the filters of output channels [k0, k0 + mr) (one A panel)
// and input channel c, storing them packed: element xi of panel row l at
// dst[xi * ustride + l]. Filter (k, c) has taps w[k * sk + c * sc + tap],
// read flipped (tap 8 - e for tap e) if flip; rows past co are zero.
static inline __attribute__((always_inline)) void filter_panel(
    const float *w, size_t sk, size_t sc, int flip, int co, int k0, int c,
    int mr, float *dst, size_t ustride) {
    v8 g[9], u[WXI];
    for (int e = 0; e < 9; e++) {
        const int tap = flip ? 8 - e : e;
        for (int l = 0; l < 8; l++)
            g[e][l] = l < mr && k0 + l < co
                          ? w[(size_t)(k0 + l) * sk + c * sc + tap]
                          : 0.0f;
    }
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

// Transforms and packs all filters into the calling thread's CK_WS_PARTIAL
// slot: U[xi] is the A operand of product xi, packed as ck_pack_a would
// (panels of mr output channels, each ci columns of mr floats).
static void wino_filters(wino_plan *pl, const float *w, size_t sk, size_t sc,
                         int flip) {
    const int mr = pl->ar->mr, ci = pl->ci, co = pl->co;
    const int panels = ck_ceil_div(co, mr);
    pl->ustride = (size_t)panels * mr * ci;
    float *u = ck_ws_floats(CK_WS_PARTIAL, WXI * pl->ustride);
    const long units = (long)panels * ci;
    int nt =
        (double)units * mr * WXI < WINO_SERIAL_FMAS ? 1 : ck_team_threads();
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < units; t++) {
        const int p = (int)(t / ci), c = (int)(t % ci);
        filter_panel(w, sk, sc, flip, co, p * mr, c, mr,
                     u + (size_t)p * mr * ci + (size_t)c * mr, pl->ustride);
    }
    pl->u = u;
}

static wino_plan plan_for(int n, int ci, int co, int ih, int iw, int ph,
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
static int wino_threads(const wino_plan *pl) {
    double fmas = 9.0 * pl->n * pl->oh * pl->ow * pl->ci * pl->co;
    return fmas < WINO_SERIAL_FMAS ? 1 : ck_team_threads();
}

// Runs task(pl, in, t, out) for every task of the plan, in parallel.
typedef void (*wino_task_fn)(const wino_plan *pl, const float *in, long t,
                             float *out);
static void wino_run(const wino_plan *pl, wino_task_fn task, const float *in,
                     float *out) {
    int nt = wino_threads(pl);
    if (nt > pl->tasks) nt = (int)pl->tasks;
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < pl->tasks; t++) task(pl, in, t, out);
}

// Whether F(4x4, 3x3) serves a conv from ci to co channels with n images
// of oh x ow outputs: enough channels on both sides for the products to run
// at speed, few outputs wasted in partial tiles, and enough tiles to repay
// transforming the filters (U is four times the size of the weights).
static int wino_fits(int n, int ci, int co, int oh, int ow) {
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
static int wino_geometry(const ck_conv_geom *cg) {
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
    return wino_geometry(cg) && wino_fits(cg->n, cg->ci, cg->co, g->oh, g->ow);
}

void ck_conv_wino_forward(const ck_conv_geom *cg, const float *x,
                          const float *w, const float *bias, int relu,
                          float *y) {
    const ck_lower_geom *g = &cg->g;
    wino_plan pl =
        plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph, g->pw, bias);
    pl.relu = relu;
    wino_filters(&pl, w, (size_t)cg->ci * 9, 9, 0);
    wino_run(&pl, wino_task, x, y);
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
    wino_plan pl =
        plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph, g->pw, bias);
    pl.relu = relu;
    pl.poh = pool->out_h;
    pl.pow = pool->out_w;
    pl.pind = indices;
    wino_filters(&pl, w, (size_t)cg->ci * 9, 9, 0);
    wino_run(&pl, wino_task, x, y);
}

// ---------------------------------------------------------------------------
// Weight gradient. With V = B^T d B as above and Dy = A dy A^T (the 4x4
// block of dy under a tile, taken back through the output transform), the
// gradient of the transformed filters is a sum over tiles,
//     dU[xi] (co x ci) = sum over tiles of Dy[xi] (co x T) x V[xi]^T (T x ci),
// and dw = G^T dU G. The tiles go in blocks of whole tile rows: the threads
// transform a block (a tile row each at a time), then run the 36 products
// (a share of the xi each), accumulating into dU in block order. Each dU[xi]
// is summed by one thread in the same order whatever the thread count.
// ---------------------------------------------------------------------------

// Tiles per block: the products' inner size.
#define WINO_GRAD_TILES 128
// Floats of V and Dy a block may take (8 MiB, well past L2: the products
// stream them once per xi).
#define WINO_GRAD_FLOATS (1L << 21)

// Tiles per image below which the weight gradient copies each image
// zero-padded (grad_image) instead of reading it in place (grad_row).
#ifndef WINO_GRAD_PAD_TILES
#define WINO_GRAD_PAD_TILES 64
#endif

// o = A d for one line of four dy values (A = (A^T)^T, 6x4).
static inline __attribute__((always_inline)) void a4(const v8 *d, v8 *o,
                                                     int si, int so) {
    const v8 d0 = d[0], d1 = d[si], d2 = d[2 * si], d3 = d[3 * si];
    const v8 e = d0 + d2, f = d1 + d3;
    const v8 g = d0 + 4.0f * d2, h = 2.0f * d1 + 8.0f * d3;
    o[0] = d0;
    o[so] = e + f;
    o[2 * so] = e - f;
    o[3 * so] = g + h;
    o[4 * so] = g - h;
    o[5 * so] = d3;
}

// o = G^T x for one line of six values (3 out).
static inline __attribute__((always_inline)) void gt6(const v8 *x, v8 *o,
                                                      int si, int so) {
    const v8 a = x[si] + x[2 * si], b = x[si] - x[2 * si];
    const v8 c = x[3 * si] + x[4 * si], d = x[3 * si] - x[4 * si];
    o[0] = 0.25f * x[0] - a * (1.0f / 6) + c * (1.0f / 24);
    o[so] = b * (-1.0f / 6) + d * (1.0f / 12);
    o[2 * so] = (c - a) * (1.0f / 6) + x[5 * si];
}

// o = A dy A^T for the 4x4 dy blocks at y + off[l] (rows ld apart) of
// eight lanes (channels of one tile, or tiles of one channel).
static inline __attribute__((always_inline)) void dy_transform(
    const float *y, const ptrdiff_t *off, int ld, v8 *o) {
    v8 d[WM * WM], e[WM * WA];
    for (int r = 0; r < WM; r++) {
        v4u q[8];
        for (int l = 0; l < 8; l++)
            q[l] = *(const v4u *)(y + off[l] + (size_t)r * ld);
        // Lane l in the low half, l + 4 in the high half, then a 4x4
        // transpose within the halves.
        const v8 w0 =
            __builtin_shufflevector(q[0], q[4], 0, 1, 2, 3, 4, 5, 6, 7);
        const v8 w1 =
            __builtin_shufflevector(q[1], q[5], 0, 1, 2, 3, 4, 5, 6, 7);
        const v8 w2 =
            __builtin_shufflevector(q[2], q[6], 0, 1, 2, 3, 4, 5, 6, 7);
        const v8 w3 =
            __builtin_shufflevector(q[3], q[7], 0, 1, 2, 3, 4, 5, 6, 7);
        const v8 t0 = LO(w0, w1), t1 = HI(w0, w1);
        const v8 t2 = LO(w2, w3), t3 = HI(w2, w3);
        d[r * WM + 0] = PLO(t0, t2);
        d[r * WM + 1] = PHI(t0, t2);
        d[r * WM + 2] = PLO(t1, t3);
        d[r * WM + 3] = PHI(t1, t3);
    }
    for (int r = 0; r < WM; r++) a4(d + r * WM, e + r * WA, 1, 1);
    for (int j = 0; j < WA; j++) a4(e + j, o + j, WA, WA);
}

// The dy blocks of one tile for channels at y + off[l] to Dy: element xi
// of channel l at dst[xi * dstride + l], l < 6 (an A panel of the
// product; lanes 6 and 7 are not stored).
static inline __attribute__((always_inline)) void grad_tile(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t dstride) {
    v8 o[WXI];
    dy_transform(y, off, ld, o);
    for (int xi = 0; xi < WXI; xi++) {
        float *t = dst + xi * dstride;
        *(v4u *)t = __builtin_shufflevector(o[xi], o[xi], 0, 1, 2, 3);
        *(v2u *)(t + 4) = __builtin_shufflevector(o[xi], o[xi], 4, 5);
    }
}

static void grad_tile_base(const float *y, const ptrdiff_t *off, int ld,
                           float *dst, size_t dstride) {
    grad_tile(y, off, ld, dst, dstride);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void grad_tile_avx2(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t dstride) {
    grad_tile(y, off, ld, dst, dstride);
}
#endif

// One block's operands: V (B panels of nr channels) and Dy (A panels of 6
// output channels) of t tiles, element xi at v + xi * vstride and
// dyt + xi * dstride.
typedef struct {
    float *v, *dyt;
    size_t vstride, dstride;
    int t;
} wino_block;

// Copies the window [y0, y0 + rows) x [x0, x0 + cols) of the planes at
// src + off[l] (ih x iw, l < 8) to win (lane l at win + l * rows * cols),
// zero outside the planes. cols is 4 or 8.
static void clip_window(const float *src, const ptrdiff_t *off, int ih, int iw,
                        int y0, int x0, int rows, int cols, float *win) {
    const int xa = x0 < 0 ? -x0 : 0;
    const int xb = iw - x0 < cols ? iw - x0 : cols;
    for (int l = 0; l < 8; l++)
        for (int r = 0; r < rows; r++) {
            float *d = win + ((size_t)l * rows + r) * cols;
            const int y = y0 + r;
            for (int c = 0; c < cols; c++) d[c] = 0.0f;
            if (y < 0 || y >= ih) continue;
            const float *s = src + off[l] + (ptrdiff_t)y * iw + x0;
            for (int c = xa; c < xb; c++) d[c] = s[c];
        }
}

#if defined(__x86_64__) || defined(__i386__)
// The same with masked loads, which read only the columns inside the plane
// (and never fault on the others).
__attribute__((target("avx2"))) static void clip_window_avx2(
    const float *src, const ptrdiff_t *off, int ih, int iw, int y0, int x0,
    int rows, int cols, float *win) {
    const int xa = x0 < 0 ? -x0 : 0;
    const int xb = iw - x0 < cols ? iw - x0 : cols;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask =
        _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(xa - 1)),
                         _mm256_cmpgt_epi32(_mm256_set1_epi32(xb), lane));
    const __m128i mask4 = _mm256_castsi256_si128(mask);
    for (int l = 0; l < 8; l++)
        for (int r = 0; r < rows; r++) {
            float *d = win + ((size_t)l * rows + r) * cols;
            const int y = y0 + r;
            const int inside = y >= 0 && y < ih;
            // (uintptr_t arithmetic: the window may start before the plane.)
            const float *s =
                (const float *)((uintptr_t)src +
                                sizeof(float) *
                                    (uintptr_t)(off[l] + (ptrdiff_t)y * iw +
                                                x0));
            if (cols == 8)
                _mm256_storeu_ps(d, inside ? _mm256_maskload_ps(s, mask)
                                           : _mm256_setzero_ps());
            else
                _mm_storeu_ps(d, inside ? _mm_maskload_ps(s, mask4)
                                        : _mm_setzero_ps());
        }
}
#endif

// Where grad_row reads one side (input or dy) of a tile row: planes of
// rows ld apart, channel c at base + c * plane, the tile row's first row
// at row y0 and tile tx's first column at x0 + tx * 4; h x w of it exist.
typedef struct {
    const float *base;
    size_t plane;
    int ld, y0, x0, h, w;
} wino_side;

// Transforms global tile row gr (tile row gr % th of an image) of a block
// whose first tile row is r0: the input tiles to V, the dy blocks to Dy,
// reading them through the two sides. Tiles whose windows cross a side's
// edge are copied zero-padded first.
static void grad_tiles(const wino_plan *pl, wino_side in, wino_side out,
                       long gr, long r0, const wino_block *bk) {
    const int nr = pl->ar->nr, tw = pl->tw, ci = pl->ci, co = pl->co;
    const wino_fns *fn = wino_kernels();
    float win[8 * WA * 8];
    ptrdiff_t off[8], woff[8];

    // Input tiles: 6 rows of 6 columns (8 read).
    for (int l = 0; l < 8; l++) woff[l] = (ptrdiff_t)l * WA * 8;
    const int rows_in = in.y0 >= 0 && in.y0 + WA <= in.h;
    for (int c0 = 0; c0 < ci; c0 += 8) {
        // Lanes past the last channel repeat it (columns of the product
        // that ck_gemm_macro computes but never stores).
        for (int l = 0; l < 8; l++)
            off[l] = (ptrdiff_t)(ck_imin(c0 + l, ci - 1) - c0) * in.plane;
        const float *xc = in.base + c0 * in.plane;
        for (int tx = 0; tx < tw; tx++) {
            const int t = (int)(gr - r0) * tw + tx;
            float *dst = bk->v + (size_t)(c0 / nr) * bk->t * nr +
                         (size_t)t * nr + c0 % nr;
            const int x0 = in.x0 + tx * WM;
            if (rows_in && x0 >= 0 && x0 + 8 <= in.w) {
                fn->input(xc + (ptrdiff_t)in.y0 * in.ld + x0, off, in.ld, dst,
                          bk->vstride);
            } else {
                fn->clip(xc, off, in.h, in.w, in.y0, x0, WA, 8, win);
                fn->input(win, woff, 8, dst, bk->vstride);
            }
        }
    }
    // dy blocks: 4 rows of 4 columns.
    for (int l = 0; l < 8; l++) woff[l] = (ptrdiff_t)l * WM * WM;
    const int rows_out = out.y0 + WM <= out.h;
    for (int k0 = 0; k0 < co; k0 += 6) {
        // Six rows of an A panel; lanes 6 and 7 (not stored) and rows past
        // the last channel repeat it.
        for (int l = 0; l < 8; l++)
            off[l] = (ptrdiff_t)(ck_imin(k0 + ck_imin(l, 5), co - 1) - k0) *
                     out.plane;
        const float *yk = out.base + k0 * out.plane;
        for (int tx = 0; tx < tw; tx++) {
            const int t = (int)(gr - r0) * tw + tx;
            float *dst =
                bk->dyt + (size_t)(k0 / 6) * bk->t * 6 + (size_t)t * 6;
            const int x0 = out.x0 + tx * WM;
            if (rows_out && x0 + WM <= out.w) {
                fn->grad(yk + (ptrdiff_t)out.y0 * out.ld + x0, off, out.ld,
                         dst, bk->dstride);
            } else {
                fn->clip(yk, off, out.h, out.w, out.y0, x0, WM, WM, win);
                fn->grad(win, woff, WM, dst, bk->dstride);
            }
        }
    }
}

// Direct mode (large images): tile row gr read in place.
static void grad_row(const wino_plan *pl, const float *x, const float *dy,
                     long gr, long r0, const wino_block *bk) {
    const int img = (int)(gr / pl->th), ty = (int)(gr % pl->th);
    const size_t iplane = (size_t)pl->ih * pl->iw;
    const size_t oplane = (size_t)pl->oh * pl->ow;
    const wino_side in = {x + (size_t)img * pl->ci * iplane,
                          iplane,
                          pl->iw,
                          ty * WM - pl->ph,
                          -pl->pw,
                          pl->ih,
                          pl->iw};
    const wino_side out = {dy + (size_t)img * pl->co * oplane,
                           oplane,
                           pl->ow,
                           ty * WM,
                           0,
                           pl->oh,
                           pl->ow};
    grad_tiles(pl, in, out, gr, r0, bk);
}

// Padded mode (small images, most tiles over the border): image img copied
// once, zero-padded -- its input to whole 6x6 windows (pad_rows, pl->cs
// floats a channel), its dy to whole 4x4 blocks -- then every tile row.
static void grad_image(const wino_plan *pl, const float *x, const float *dy,
                       int img, long r0, const wino_block *bk) {
    const int th = pl->th, ci = pl->ci, co = pl->co;
    const int ldy = pl->tw * WM, hy = th * WM;
    float *xr = ck_ws_floats(CK_WS_COLS, (size_t)ci * pl->cs + 8);
    pad_rows(pl, x, img, 0, th, xr);
    memset(xr + (size_t)ci * pl->cs, 0, 8 * sizeof(float));
    float *yr = ck_ws_floats(CK_WS_AUX, (size_t)co * hy * ldy);
    pad_dy(pl, dy, img, 1, yr);
    // pad_rows puts input (-ph, -pw) at buffer (0, 0).
    for (int ty = 0; ty < th; ty++) {
        const wino_side in = {xr, pl->cs, pl->wp,    ty * WM,
                              0,  hy + 2, pl->wp + 2};
        const wino_side out = {yr, (size_t)hy * ldy, ldy, ty * WM, 0, hy, ldy};
        grad_tiles(pl, in, out, (long)img * th + ty, r0, bk);
    }
}

// dw[k][c] = G^T dU[k][c] G for k in [k0, k1), eight c at a time.
static void grad_filters(const float *du, int co, int ci, int k0, int k1,
                         float *dw) {
    for (int k = k0; k < k1; k++)
        for (int c0 = 0; c0 < ci; c0 += 8) {
            v8 x[WXI], y[WA * 3], z[9];
            for (int xi = 0; xi < WXI; xi++)
                x[xi] = *(const v8u *)(du + ((size_t)xi * co + k) * ci + c0);
            for (int i = 0; i < WA; i++) gt6(x + i * WA, y + i * 3, 1, 1);
            for (int j = 0; j < 3; j++) gt6(y + j, z + j, 3, 3);
            const int lanes = ck_imin(8, ci - c0);
            for (int l = 0; l < lanes; l++)
                for (int e = 0; e < 9; e++)
                    dw[((size_t)k * ci + c0 + l) * 9 + e] = z[e][l];
        }
}

int ck_conv_wino_weight_applies(const ck_conv_geom *cg) {
    // The products take A panels of 6 rows (every ISA's mr).
    return ck_conv_wino_applies(cg) &&
           ck_gemm_arch_for(ck_isa_current())->mr == 6;
}

// The weight gradient of dense dy, or (pool set) of the gradient that
// pool routes back from pdy, pmask and pidx.
static void weight_grad(const ck_conv_geom *cg, const float *x,
                        const float *dy, const ck_pool2d_params *pool,
                        const float *pmask, const float *pdy,
                        const int32_t *pidx, float *dw) {
    const ck_lower_geom *g = &cg->g;
    wino_plan pl =
        plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph, g->pw, NULL);
    if (pool) {
        pl.poh = pool->out_h;
        pl.pow = pool->out_w;
        pl.pdy = pdy;
        pl.pmask = pmask;
        pl.pidx = pidx;
    }
    const ck_gemm_arch *ar = pl.ar;
    const int nr = ar->nr, ci = pl.ci, co = pl.co;
    // Small images (where most tiles cross the border) are padded an image
    // at a time; larger ones read in place.
    const int padded = (long)pl.th * pl.tw < WINO_GRAD_PAD_TILES;
    pl.cs = (size_t)(pl.th * WM + 2) * pl.wp;  // pad_rows': a whole image
    const int cpan = ck_ceil_div(ci, nr), kpan = ck_ceil_div(co, 6);
    const long total = (long)pl.n * pl.th;
    long rows = WINO_GRAD_TILES / pl.tw;
    const long per_row = (long)WXI * (cpan * nr + kpan * 6) * pl.tw;
    if (rows > WINO_GRAD_FLOATS / per_row) rows = WINO_GRAD_FLOATS / per_row;
    if (rows < 1) rows = 1;
    long blocks = (total + rows - 1) / rows;
    rows = (total + blocks - 1) / blocks;  // evened out
    if (padded) {  // whole images a block (at least one)
        rows = rows < pl.th ? pl.th : rows / pl.th * pl.th;
        blocks = (total + rows - 1) / rows;
    }
    const int tmax = (int)rows * pl.tw;

    // Shared: dU (8 floats of slack for the last 8-wide loads), and one
    // block's operands.
    float *du = ck_ws_floats(CK_WS_PARTIAL, (size_t)WXI * co * ci + 8);
    memset(du + (size_t)WXI * co * ci, 0, 8 * sizeof(float));
    float *v =
        ck_ws_floats(CK_WS_BATCH, WXI * (size_t)(cpan * nr * tmax + 16));
    float *dyt =
        ck_ws_floats(CK_WS_PACK_A, WXI * (size_t)(kpan * 6 * tmax + 16));

    const int nt = wino_threads(&pl);
    (void)nt;  // unused without OpenMP
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        for (long b = 0; b < blocks; b++) {
            const long r0 = b * rows;
            const long r1 = r0 + rows < total ? r0 + rows : total;
            wino_block bk;
            bk.t = (int)(r1 - r0) * pl.tw;
            bk.v = v;
            bk.dyt = dyt;
            bk.vstride = skew((size_t)cpan * nr * bk.t);
            bk.dstride = skew((size_t)kpan * 6 * bk.t);
            if (padded) {
#pragma omp for schedule(static)
                for (long img = r0 / pl.th; img < r1 / pl.th; img++)
                    grad_image(&pl, x, dy, (int)img, r0, &bk);
            } else {
#pragma omp for schedule(static)
                for (long gr = r0; gr < r1; gr++)
                    grad_row(&pl, x, dy, gr, r0, &bk);
            }
#pragma omp for schedule(static)
            for (int xi = 0; xi < WXI; xi++) {
                const ck_b_source bs = {v + xi * bk.vstride, NULL, 0};
                ck_gemm_macro(ar, co, ci, bk.t, 1.0f, dyt + xi * bk.dstride,
                              &bs, b == 0 ? 0.0f : 1.0f,
                              du + (size_t)xi * co * ci, ci);
            }
        }
#pragma omp for schedule(static)
        for (int k = 0; k < co; k++) grad_filters(du, co, ci, k, k + 1, dw);
    }
}

void ck_conv_wino_weight_grad(const ck_conv_geom *cg, const float *x,
                              const float *dy, float *dw) {
    weight_grad(cg, x, dy, NULL, NULL, NULL, NULL, dw);
}

// ---------------------------------------------------------------------------
// Data gradient of valid convs on small images, by the adjoint of the
// forward: the flipped conv would tile the larger dx (13x13 from 11x11:
// 16 tiles of 4x4, 66% filled), while the forward's own tiles (9, 84%
// filled) carry the gradient back: Dy = A dy A^T per tile, then
//     M[xi] (ci x T) = U[xi]^T (ci x co) x Dy[xi] (co x T),
// and each tile's 6x6 window of dx gets B M B^T added (windows overlap by
// two rows and columns). Tasks hold whole images, added in tile order, so
// no two tasks touch a pixel and every sum has one order.
// ---------------------------------------------------------------------------

// o = B x for one line of six values (the adjoint of bt6).
static inline __attribute__((always_inline)) void b6(const v8 *x, v8 *o,
                                                     int step) {
    const v8 x0 = x[0], x1 = x[step], x2 = x[2 * step], x3 = x[3 * step],
             x4 = x[4 * step], x5 = x[5 * step];
    const v8 s12 = x1 + x2, d21 = x2 - x1, s34 = x3 + x4, d43 = x4 - x3;
    o[0] = 4.0f * x0;
    o[step] = 4.0f * d21 + 2.0f * d43 + 4.0f * x5;
    o[2 * step] = -5.0f * x0 - 4.0f * s12 - s34;
    o[3 * step] = -d21 - 2.0f * d43 - 5.0f * x5;
    o[4 * step] = x0 + s12 + s34;
    o[5 * step] = x5;
}

// Dy of eight tiles (dy blocks at y + off[l]) of one channel: element xi
// of tile l at dst[xi * dstride + l].
static inline __attribute__((always_inline)) void dy_tiles(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t dstride) {
    v8 o[WXI];
    dy_transform(y, off, ld, o);
    for (int xi = 0; xi < WXI; xi++) *(v8 *)(dst + xi * dstride) = o[xi];
}

// Adds B M B^T of eight tiles (element xi of tile l at m[xi * mstride + l])
// to their 6x6 windows at buf + boff[l] (rows wp apart; 8 floats of each
// row are read and written, the last two unchanged).
static inline __attribute__((always_inline)) void adjoint_tiles(
    const float *m, size_t mstride, float *buf, const ptrdiff_t *boff,
    int wp) {
    v8 p[WXI], e[WXI];
    for (int xi = 0; xi < WXI; xi++) p[xi] = *(const v8 *)(m + xi * mstride);
    for (int i = 0; i < WA; i++) b6(p + i * WA, e + i * WA, 1);
    for (int j = 0; j < WA; j++) b6(e + j, p + j, WA);
    const v8 zero = {0};
    for (int i = 0; i < WA; i++) {
        // Row i of every tile: an 8x8 transpose of (p[i][0..5], 0, 0).
        const v8 *r = p + i * WA;
        const v8 t0 = LO(r[0], r[1]), t1 = HI(r[0], r[1]);
        const v8 t2 = LO(r[2], r[3]), t3 = HI(r[2], r[3]);
        const v8 t4 = LO(r[4], r[5]), t5 = HI(r[4], r[5]);
        const v8 t6 = LO(zero, zero), t7 = t6;
        const v8 s0 = PLO(t0, t2), s1 = PHI(t0, t2), s2 = PLO(t1, t3);
        const v8 s3 = PHI(t1, t3), s4 = PLO(t4, t6), s5 = PHI(t4, t6);
        const v8 s6 = PLO(t5, t7), s7 = PHI(t5, t7);
        // Tile l's row: elements 0-3 from s[l % 4], 4-7 from s[4 + l % 4],
        // in the low half for l < 4 and the high half for l >= 4.
        const v8 rows[8] = {QLO(s0, s4), QLO(s1, s5), QLO(s2, s6),
                            QLO(s3, s7), QHI(s0, s4), QHI(s1, s5),
                            QHI(s2, s6), QHI(s3, s7)};
        for (int l = 0; l < 8; l++) {
            v8u *d = (v8u *)(buf + boff[l] + (size_t)i * wp);
            *d = *d + rows[l];
        }
    }
}

static void dy_tiles_base(const float *y, const ptrdiff_t *off, int ld,
                          float *dst, size_t dstride) {
    dy_tiles(y, off, ld, dst, dstride);
}
static void adjoint_tiles_base(const float *m, size_t mstride, float *buf,
                               const ptrdiff_t *boff, int wp) {
    adjoint_tiles(m, mstride, buf, boff, wp);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void dy_tiles_avx2(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t dstride) {
    dy_tiles(y, off, ld, dst, dstride);
}
__attribute__((target("avx2,fma"))) static void adjoint_tiles_avx2(
    const float *m, size_t mstride, float *buf, const ptrdiff_t *boff,
    int wp) {
    adjoint_tiles(m, mstride, buf, boff, wp);
}
#endif

static const wino_fns *wino_kernels(void) {
    static const wino_fns base = {input_tiles_base,   output_tiles_base,
                                  grad_tile_base,     dy_tiles_base,
                                  adjoint_tiles_base, pool_tiles_base,
                                  clip_window};
#if defined(__x86_64__) || defined(__i386__)
    static const wino_fns avx2 = {input_tiles_avx2,   output_tiles_avx2,
                                  grad_tile_avx2,     dy_tiles_avx2,
                                  adjoint_tiles_avx2, pool_tiles_avx2,
                                  clip_window_avx2};
    if (ck_use_avx2()) return &avx2;
#endif
    return &base;
}

// The forward's plan (input side ci, output side co) split into tasks of
// whole images, as many as fill B panels best within the task budget; 0
// if one image does not fit the budget.
static int adjoint_plan(const ck_conv_geom *cg, const float *bias,
                        wino_plan *pl) {
    const ck_lower_geom *g = &cg->g;
    *pl = plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph, g->pw, bias);
    const int per_img = pl->th * pl->tw;
    long tiles = WINO_TASK_FLOATS / ((long)WXI * (cg->ci + cg->co));
    if (tiles < WINO_MIN_TILES) tiles = WINO_MIN_TILES;
    long imgs = tiles / per_img;
    if (imgs < 1) return 0;
    long split = ck_ceil_div(cg->n, WINO_MIN_TASKS);
    if (split < ck_ceil_div(16, per_img)) split = ck_ceil_div(16, per_img);
    if (imgs > split) imgs = split;
    long best = imgs;
    double best_fill = 0.0;
    for (long i = imgs; i >= (imgs + 1) / 2; i--) {
        const long t = i * per_img;
        const double fill = (double)t / ck_round_up((int)t, pl->ar->nr);
        if (fill > best_fill + 1e-9) {
            best = i;
            best_fill = fill;
        }
    }
    pl->rows = (int)best * pl->th;  // tile rows per task: whole images
    pl->tasks = (pl->n + best - 1) / best;
    return 1;
}

static void adjoint_task(const wino_plan *pl, const float *dy, long t,
                         float *dx) {
    const ck_gemm_arch *ar = pl->ar;
    const int nr = ar->nr, th = pl->th, tw = pl->tw;
    const int ci = pl->ci, co = pl->co;  // the forward's sides
    const int per_img = pl->rows / th;
    const int i0 = (int)t * per_img;
    const int nimg = ck_imin(per_img, pl->n - i0);
    const int ntiles = nimg * th * tw;
    const int groups = ck_ceil_div(ntiles, 8);
    const int ldm = ck_ceil_div(ntiles, nr) * nr;
    const size_t vstride = skew((size_t)ldm * co);
    const size_t mstride = skew((size_t)ldm * ci);
    const int ldy = tw * WM, hp = th * WM + 2, wp = pl->wp;
    const size_t bplane = (size_t)hp * wp;

    // dy of the task's images, zero-padded to whole tiles (ldy wide).
    float *yb = ck_ws_floats(CK_WS_AUX, (size_t)nimg * co * th * WM * ldy);
    pad_dy(pl, dy, i0, nimg, yb);
    // Per tile: its dy block (channel 0) in yb, its window in the padded
    // dx buffer (channel 0); lanes past the last tile point at a spare
    // window after the images.
    ptrdiff_t *yoff =
        (ptrdiff_t *)ck_ws_floats(CK_WS_SHIFT, (size_t)groups * 8 * 4);
    ptrdiff_t *boff = yoff + groups * 8;
    for (int i = 0; i < groups * 8; i++) {
        if (i < ntiles) {
            const int j = i / (th * tw), ty = i / tw % th, tx = i % tw;
            yoff[i] = ((ptrdiff_t)j * co * th * WM + ty * WM) * ldy + tx * WM;
            boff[i] =
                (ptrdiff_t)j * ci * bplane + (ptrdiff_t)ty * WM * wp + tx * WM;
        } else {
            yoff[i] = yoff[ntiles - 1];
            boff[i] = (ptrdiff_t)nimg * ci * bplane;  // the spare window
        }
    }
    const ptrdiff_t ychan = (ptrdiff_t)th * WM * ldy;

    const wino_fns *fn = wino_kernels();
    // Dy[xi]: B panels of nr tiles, co rows each.
    float *v = ck_ws_floats(CK_WS_PACK_B, WXI * vstride);
    for (int k = 0; k < co; k++)
        for (int gi = 0; gi < groups; gi++) {
            const int l0 = gi * 8;
            fn->dy(yb + k * ychan, yoff + l0, ldy,
                   v + (size_t)(l0 / nr) * co * nr + (size_t)k * nr + l0 % nr,
                   vstride);
        }
    // M[xi] = U[xi]^T x Dy[xi], ci rows of ldm.
    float *m = ck_ws_floats(CK_WS_BATCH, WXI * mstride);
    for (int xi = 0; xi < WXI; xi++) {
        const ck_b_source bs = {v + xi * vstride, NULL, 0};
        ck_gemm_macro(ar, ci, ntiles, co, 1.0f, pl->u + xi * pl->ustride, &bs,
                      0.0f, m + xi * mstride, ldm);
    }
    // Windows added into a zeroed padded dx (plus the spare window and 8
    // floats of slack), then its interior copied out.
    const size_t bsize = (size_t)nimg * ci * bplane + WA * wp + 8;
    float *buf = ck_ws_floats(CK_WS_COLS, bsize);
    memset(buf, 0, sizeof(float) * bsize);
    for (int c = 0; c < ci; c++)
        for (int gi = 0; gi < groups; gi++) {
            const int l0 = gi * 8;
            // Real tiles' windows move by channel; the spare one stays.
            ptrdiff_t off[8];
            for (int l = 0; l < 8; l++)
                off[l] = boff[l0 + l] +
                         (l0 + l < ntiles ? (ptrdiff_t)c * bplane : 0);
            fn->adjoint(m + (size_t)c * ldm + l0, mstride, buf, off, wp);
        }
    const size_t iplane = (size_t)pl->ih * pl->iw;
    for (int j = 0; j < nimg; j++)
        for (int c = 0; c < ci; c++) {
            const float *src = buf + ((size_t)j * ci + c) * bplane +
                               (size_t)pl->ph * wp + pl->pw;
            float *d = dx + ((size_t)(i0 + j) * ci + c) * iplane;
            const float bias = pl->bias ? pl->bias[c] : 0.0f;
            for (int r = 0; r < pl->ih; r++) {
                float *dr = d + (size_t)r * pl->iw;
                const float *sr = src + (size_t)r * wp;
                if (pl->bias) {
                    for (int e = 0; e < pl->iw; e++) dr[e] = sr[e] + bias;
                } else {
                    ck_copy_floats(dr, sr, pl->iw);
                }
            }
        }
}

// The adjoint path serves a data gradient when the forward's tiles fill
// better than the flipped conv's, and a task holds whole images.
static int adjoint_applies(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
    if (!ck_conv_wino_applies(cg)) return 0;
    const double fwd = (double)g->oh * g->ow /
                       (ck_round_up(g->oh, WM) * ck_round_up(g->ow, WM));
    const double flip = (double)g->ih * g->iw /
                        (ck_round_up(g->ih, WM) * ck_round_up(g->iw, WM));
    if (fwd <= flip && g->ph <= 2 && g->pw <= 2) return 0;
    wino_plan pl;
    return adjoint_plan(cg, NULL, &pl);
}

int ck_conv_wino_data_applies(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
    if (!wino_geometry(cg)) return 0;
    if (adjoint_applies(cg)) return 1;
    // The data gradient is the conv of dy padded by 2 - padding.
    if (g->ph > 2 || g->pw > 2) return 0;
    return wino_fits(cg->n, cg->co, cg->ci, g->ih, g->iw);
}

// dx = the full correlation of dy with the flipped, transposed filters: a
// 3x3 conv from co to ci channels padded by 2 - padding.
void ck_conv_wino_backward_data(const ck_conv_geom *cg, const float *dy,
                                const float *w, const float *bias, float *dx) {
    const ck_lower_geom *g = &cg->g;
    if (adjoint_applies(cg)) {
        wino_plan pl;
        adjoint_plan(cg, bias, &pl);
        // U[xi]^T: rows are the forward's input channels, k columns.
        wino_plan up = pl;
        up.ci = cg->co;
        up.co = cg->ci;
        wino_filters(&up, w, 9, (size_t)cg->ci * 9, 0);
        pl.u = up.u;
        pl.ustride = up.ustride;
        wino_run(&pl, adjoint_task, dy, dx);
        return;
    }
    wino_plan pl = plan_for(cg->n, cg->co, cg->ci, g->oh, g->ow, 2 - g->ph,
                            2 - g->pw, bias);
    // Out channel c of this conv, in channel k: w[k][c] flipped.
    wino_filters(&pl, w, 9, (size_t)cg->ci * 9, 1);
    wino_run(&pl, wino_task, dy, dx);
}

// ---------------------------------------------------------------------------
// Both gradients from a 2x2 stride-2 max pool's gradient, scattered into
// the padded dy blocks the passes copy anyway (pad_pooled_dy): the dense
// gradient of the conv output is never written or read back.
// ---------------------------------------------------------------------------

int ck_conv_wino_pooled_backward_applies(const ck_conv_geom *cg,
                                         const ck_pool2d_params *pool,
                                         int with_dx) {
    if (!ck_conv_wino_pool_applies(cg, pool) ||
        !ck_conv_wino_weight_applies(cg))
        return 0;
    // The weight gradient's padded mode (small images), the data
    // gradient's adjoint path: the two that pad dy whole.
    const long tiles =
        (long)ck_ceil_div(cg->g.oh, WM) * ck_ceil_div(cg->g.ow, WM);
    return tiles < WINO_GRAD_PAD_TILES && (!with_dx || adjoint_applies(cg));
}

void ck_conv_wino_pooled_backward(const ck_conv_geom *cg,
                                  const ck_pool2d_params *pool, const float *x,
                                  const float *w, const float *mask,
                                  const float *dy, const int32_t *indices,
                                  float *dx, float *dw) {
    if (dx) {
        wino_plan pl;
        adjoint_plan(cg, NULL, &pl);
        wino_plan up = pl;
        up.ci = cg->co;
        up.co = cg->ci;
        wino_filters(&up, w, 9, (size_t)cg->ci * 9, 0);
        pl.u = up.u;
        pl.ustride = up.ustride;
        pl.poh = pool->out_h;
        pl.pow = pool->out_w;
        pl.pdy = dy;
        pl.pmask = mask;
        pl.pidx = indices;
        wino_run(&pl, adjoint_task, NULL, dx);
    }
    weight_grad(cg, x, NULL, pool, mask, dy, indices, dw);
}
