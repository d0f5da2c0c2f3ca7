// Private to Winograd F(4x4, 3x3) (conv_winograd*.c): sizes, the plan of
// a call, the vector transforms the three files share, and the pieces
// one file calls in another.
#ifndef CK_WINOGRAD_H
#define CK_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

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
// Largest padded input (floats) a forward task copies for all channels
// before transforming them; past it, one channel at a time.
#define WINO_PAD_ALL_FLOATS (1L << 16)

// Tiles per image below which the weight gradient copies each image
// zero-padded (grad_image) instead of reading it in place (grad_row).
#ifndef WINO_GRAD_PAD_TILES
#define WINO_GRAD_PAD_TILES 64
#endif

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
// x86-64 or portable C, and AVX2+FMA); ck_wino_kernels() picks the set for the
// current ISA once per call.
typedef struct {
    // Input tiles at x + off[l] (rows wp apart) to V (element xi of lane l
    // at v[xi * vstride + l]).
    void (*input)(const float *x, const ptrdiff_t *off, int wp, float *v,
                  size_t vstride);
    // Input tiles as input, for windows that cross the edge of the planes:
    // rows y0 .. y0 + 5 and columns x0 .. x0 + 7 of the ih x iw planes at
    // x + off[l] (rows ld apart), zero outside them.
    void (*input_edge)(const float *x, const ptrdiff_t *off, int ld, int ih,
                       int iw, int y0, int x0, float *v, size_t vstride);
    // Products of eight tiles to their 4x4 output blocks (+ bias, then
    // ReLU if relu).
    void (*output)(const float *m, size_t mstride, float bias, int relu,
                   float *out, const long *ooff, const signed char *vw,
                   const signed char *vh, int ow);
    // A dy A^T of one tile's eight channels k0 .. k0 + 7 into the A panels
    // of 6 rows the weight gradient multiplies: channel k at dst + (k / 6 -
    // k0 / 6) * pstride + k % 6, element xi dstride further on; rows of a
    // panel past the last (next == 0) are not stored, and with next == 2
    // lane 7 fills the last panel.
    void (*grad)(const float *y, const ptrdiff_t *off, int ld, float *dst,
                 size_t pstride, size_t dstride, int k0, int next);
    // The same of eight tiles of one channel (8 lanes, a B panel).
    void (*dy)(const float *y, const ptrdiff_t *off, int ld, float *dst,
               size_t dstride);
    // B M B^T of eight tiles added into their 6x6 windows.
    void (*adjoint)(const float *m, size_t mstride, float *buf,
                    const ptrdiff_t *boff, int wp);
    // Products of eight tiles to the 2x2 max pool of their output blocks
    // (+ bias; ReLU on the maxima if relu) and its argmax.
    void (*pool)(const float *m, size_t mstride, float bias, int relu,
                 const wino_pool_tiles *pt, float *y, int32_t *ind);
    // A window of eight planes (rows ld apart) copied, zero outside them.
    void (*clip)(const float *src, const ptrdiff_t *off, int ld, int ih,
                 int iw, int y0, int x0, int rows, int cols, float *win);
    // The filters of one A panel (output channels k0..k0+mr-1) for input
    // channels c0..c1-1, transformed and packed (ck_wino_filters).
    void (*filters)(const float *w, size_t sk, size_t sc, int flip, int co,
                    int k0, int c0, int c1, int mr, float *dst,
                    size_t ustride);
} wino_fns;
const wino_fns *ck_wino_kernels(void);

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

// The gradient of a 2x2 stride-2 max pool, read by the backward passes in
// place of a dense dy: pooled dy (through ReLU's mask when mask is not
// NULL) and the pool's argmax indices.
typedef struct {
    const ck_pool2d_params *pool;
    const float *dy, *mask;
    const int32_t *indices;
} wino_pooled_dy;

// Makes plan pl read dy from g.
static inline void wino_read_pooled(wino_plan *pl, const wino_pooled_dy *g) {
    pl->poh = g->pool->out_h;
    pl->pow = g->pool->out_w;
    pl->pdy = g->dy;
    pl->pmask = g->mask;
    pl->pidx = g->indices;
}

// Whether the weight gradient copies each image zero-padded (small images,
// most tiles over the border) rather than reading it in place.
static inline int wino_pads_images(int oh, int ow) {
    return (long)ck_ceil_div(oh, WM) * ck_ceil_div(ow, WM) <
           WINO_GRAD_PAD_TILES;
}

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

// Four vectors a[0..3] transposed within their 4-lane halves: o[j] holds
// lane j of a[0..3] in its low half and lane j + 4 in its high half.
static inline __attribute__((always_inline)) void transpose4x4x2(const v8 *a,
                                                                 v8 *o) {
    const v8 t0 = LO(a[0], a[1]), t1 = HI(a[0], a[1]);
    const v8 t2 = LO(a[2], a[3]), t3 = HI(a[2], a[3]);
    o[0] = PLO(t0, t2);
    o[1] = PHI(t0, t2);
    o[2] = PLO(t1, t3);
    o[3] = PHI(t1, t3);
}

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
// Lane 7 of every r[0..8) into *o (column 7 of their transpose).
static inline __attribute__((always_inline)) void column7(const v8 *r, v8 *o) {
    const v8 t1 = HI(r[0], r[1]), t3 = HI(r[2], r[3]);
    const v8 t5 = HI(r[4], r[5]), t7 = HI(r[6], r[7]);
    *o = QHI(PHI(t1, t3), PHI(t5, t7));
}
// All eight columns of r[0..8) (o[j] holds lane j of every r).
static inline __attribute__((always_inline)) void transpose8x8(const v8 *r,
                                                               v8 *o) {
    transpose8x6(r, o);
    const v8 t1 = HI(r[0], r[1]), t3 = HI(r[2], r[3]);
    const v8 t5 = HI(r[4], r[5]), t7 = HI(r[6], r[7]);
    o[6] = QHI(PLO(t1, t3), PLO(t5, t7));
    column7(r, &o[7]);
}

// Skews a stride that is a multiple of 1 KiB by one cache line, so the 36
// elements of a tile do not share cache sets.
static inline size_t skew(size_t floats) {
    return floats % 256 == 0 ? floats + 16 : floats;
}

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
        v8 w[4];
        for (int l = 0; l < 4; l++)
            w[l] = __builtin_shufflevector(q[l], q[l + 4], 0, 1, 2, 3, 4, 5, 6,
                                           7);
        transpose4x4x2(w, d + r * WM);
    }
    for (int r = 0; r < WM; r++) a4(d + r * WM, e + r * WA, 1, 1);
    for (int j = 0; j < WA; j++) a4(e + j, o + j, WA, WA);
}

// ---------------------------------------------------------------------------
// Shared between the files
// ---------------------------------------------------------------------------

// conv_winograd.c: the plan of a call from ci to co channels (tasks of
// whole tile rows), the filters transformed and packed into it, its thread
// count, and the run of a task function over every task (the forward's
// task: ck_wino_task).
wino_plan ck_wino_plan_for(int n, int ci, int co, int ih, int iw, int ph,
                           int pw, const float *bias);
void ck_wino_filters(wino_plan *pl, const float *w, size_t sk, size_t sc,
                     int flip);
int ck_wino_threads(const wino_plan *pl);
// Whether a conv is a plain 3x3 stride-1 one (Winograd switched on), and
// whether F(4x4, 3x3) serves ci -> co channels on n images of oh x ow
// outputs.
int ck_wino_geometry(const ck_conv_geom *cg);
int ck_wino_fits(int n, int ci, int co, int oh, int ow);
typedef void (*wino_task_fn)(const wino_plan *pl, const float *in, long t,
                             float *out);
void ck_wino_run(const wino_plan *pl, wino_task_fn task, const float *in,
                 float *out);
void ck_wino_task(const wino_plan *pl, const float *in, long t, float *out);
// Input rows under tile rows [ty0, ty1) of image img, channels [c0, c1),
// zero-padded.
void ck_wino_pad_rows(const wino_plan *pl, const float *in, int img, int ty0,
                      int ty1, int c0, int c1, float *x);
// conv_winograd_data.c: dy of images [img, img + nimg) zero-padded to whole
// 4x4 blocks (or scattered from a pool's gradient, pl->pdy).
void ck_wino_pad_dy(const wino_plan *pl, const float *dy, int img, int nimg,
                    float *dst);
// conv_winograd_weight.c: the weight gradient of dense dy, or (pooled not
// NULL) of a pool's gradient; pooled needs wino_pads_images.
void ck_wino_weight_grad(const ck_conv_geom *cg, const float *x,
                         const float *dy, const wino_pooled_dy *pooled,
                         float *dw);

// The kernels of wino_fns defined in the other two files.
void ck_wino_grad_tile_base(const float *y, const ptrdiff_t *off, int ld,
                            float *dst, size_t pstride, size_t dstride, int k0,
                            int next);
void ck_wino_clip_window(const float *src, const ptrdiff_t *off, int ld,
                         int ih, int iw, int y0, int x0, int rows, int cols,
                         float *win);
void ck_wino_dy_tiles_base(const float *y, const ptrdiff_t *off, int ld,
                           float *dst, size_t dstride);
void ck_wino_adjoint_tiles_base(const float *m, size_t mstride, float *buf,
                                const ptrdiff_t *boff, int wp);
#if defined(__x86_64__) || defined(__i386__)
void ck_wino_grad_tile_avx2(const float *y, const ptrdiff_t *off, int ld,
                            float *dst, size_t pstride, size_t dstride, int k0,
                            int next);
void ck_wino_clip_window_avx2(const float *src, const ptrdiff_t *off, int ld,
                              int ih, int iw, int y0, int x0, int rows,
                              int cols, float *win);
void ck_wino_dy_tiles_avx2(const float *y, const ptrdiff_t *off, int ld,
                           float *dst, size_t dstride);
void ck_wino_adjoint_tiles_avx2(const float *m, size_t mstride, float *buf,
                                const ptrdiff_t *boff, int wp);
#endif

#endif  // CK_WINOGRAD_H
