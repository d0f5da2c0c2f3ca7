// Winograd F(4x4, 3x3): the weight gradient (see conv_winograd.c).
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "winograd.h"

// ---------------------------------------------------------------------------
// Weight gradient. With V = B^T d B (conv_winograd.c) and Dy = A dy A^T (the 4x4
// block of dy under a tile, taken back through the output transform), the
// gradient of the transformed filters is a sum over tiles,
//     dU[xi] (co x ci) = sum over tiles of Dy[xi] (co x T) x V[xi]^T (T x ci),
// and dw = G^T dU G. The tiles go in blocks of whole tile rows, summed
// into dU in block order: either the threads share each block (transform,
// then a share of the 36 products each), or, for several blocks of small
// channel counts, each run of blocks is summed by one thread into a dU of
// its own and the runs are added in order (ck_wino_weight_grad). Either
// way every sum has one order whatever the thread count.
// ---------------------------------------------------------------------------

// Tiles per block: the products' inner size.
#define WINO_GRAD_TILES 128
// Floats of V and Dy a block may take (8 MiB, well past L2: the products
// stream them once per xi).
#define WINO_GRAD_FLOATS (1L << 21)
// Runs of blocks of the chunked schedule (see ck_wino_weight_grad), and
// the most floats their dUs may take together (4 MiB).
#define WINO_GRAD_CHUNKS 8
#define WINO_GRAD_CHUNK_FLOATS (1L << 20)

// o = G^T x for one line of six values (3 out).
static inline __attribute__((always_inline)) void gt6(const v8 *x, v8 *o,
                                                      int si, int so) {
    const v8 a = x[si] + x[2 * si], b = x[si] - x[2 * si];
    const v8 c = x[3 * si] + x[4 * si], d = x[3 * si] - x[4 * si];
    o[0] = 0.25f * x[0] - a * (1.0f / 6) + c * (1.0f / 24);
    o[so] = b * (-1.0f / 6) + d * (1.0f / 12);
    o[2 * so] = (c - a) * (1.0f / 6) + x[5 * si];
}

// The dy blocks of one tile for channels k0 .. k0 + 7 at y + off[l] to Dy,
// stored into the 6-row A panels of the product (see wino_fns.grad): eight
// channels a transform, where one panel a transform left lanes 6 and 7
// unused (and half of the third call's for 16 channels). k0 is a multiple
// of 8, so its first row in a panel is 0, 2 or 4. next == 2: the last
// eight channels, whose rows fill the rest of the last panel with lane 7
// (the last channel, as the lanes past it), so no row the product reads is
// left unwritten.
static inline __attribute__((always_inline)) void grad_tile(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t pstride,
    size_t dstride, int k0, int next) {
    v8 o[WXI];
    dy_transform(y, off, ld, o);
    float *p0 = dst + k0 % 6, *p1 = dst + pstride;
    for (int xi = 0; xi < WXI; xi++, p0 += dstride, p1 += dstride) {
        const v8 v = o[xi];
        const v4u lo = __builtin_shufflevector(v, v, 0, 1, 2, 3);
        const v4u hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
        switch (k0 % 6) {
        case 0:  // rows 0-5 of this panel, 0-1 of the next
            *(v4u *)p0 = lo;
            *(v2u *)(p0 + 4) = __builtin_shufflevector(v, v, 4, 5);
            if (next) *(v2u *)p1 = __builtin_shufflevector(v, v, 6, 7);
            if (next == 2)
                *(v4u *)(p1 + 2) = __builtin_shufflevector(v, v, 7, 7, 7, 7);
            break;
        case 2:  // rows 2-5, then 0-3
            *(v4u *)p0 = lo;
            if (next) *(v4u *)p1 = hi;
            if (next == 2)
                *(v2u *)(p1 + 4) = __builtin_shufflevector(v, v, 7, 7);
            break;
        default:  // rows 4-5, then 0-5
            *(v2u *)p0 = __builtin_shufflevector(v, v, 0, 1);
            if (next) {
                *(v4u *)p1 = __builtin_shufflevector(v, v, 2, 3, 4, 5);
                *(v2u *)(p1 + 4) = __builtin_shufflevector(v, v, 6, 7);
            }
        }
    }
}

void ck_wino_grad_tile_base(const float *y, const ptrdiff_t *off, int ld,
                            float *dst, size_t pstride, size_t dstride, int k0,
                            int next) {
    grad_tile(y, off, ld, dst, pstride, dstride, k0, next);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void ck_wino_grad_tile_avx2(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t pstride,
    size_t dstride, int k0, int next) {
    grad_tile(y, off, ld, dst, pstride, dstride, k0, next);
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
// src + off[l] (ih x iw, rows ld apart, l < 8) to win (lane l at win + l *
// rows * cols), zero outside the planes. cols is 4 or 8.
void ck_wino_clip_window(const float *src, const ptrdiff_t *off, int ld,
                         int ih, int iw, int y0, int x0, int rows, int cols,
                         float *win) {
    const int xa = x0 < 0 ? -x0 : 0;
    const int xb = iw - x0 < cols ? iw - x0 : cols;
    for (int l = 0; l < 8; l++)
        for (int r = 0; r < rows; r++) {
            float *d = win + ((size_t)l * rows + r) * cols;
            const int y = y0 + r;
            for (int c = 0; c < cols; c++) d[c] = 0.0f;
            if (y < 0 || y >= ih) continue;
            const float *s = src + off[l] + (ptrdiff_t)y * ld + x0;
            for (int c = xa; c < xb; c++) d[c] = s[c];
        }
}

#if defined(__x86_64__) || defined(__i386__)
// The same with masked loads, which read only the columns inside the plane
// (and never fault on the others).
__attribute__((target("avx2"))) void ck_wino_clip_window_avx2(
    const float *src, const ptrdiff_t *off, int ld, int ih, int iw, int y0,
    int x0, int rows, int cols, float *win) {
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
                                    (uintptr_t)(off[l] + (ptrdiff_t)y * ld +
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
// reading them through the two sides. Input tiles whose windows cross the
// edge go through input_edge; dy blocks that do are copied zero-padded
// first.
static void grad_tiles(const wino_plan *pl, wino_side in, wino_side out,
                       long gr, long r0, const wino_block *bk) {
    const int nr = pl->ar->nr, tw = pl->tw, ci = pl->ci, co = pl->co;
    const wino_fns *fn = ck_wino_kernels();
    float win[8 * WM * WM];
    ptrdiff_t off[8], woff[8];

    // Input tiles: 6 rows of 6 columns (8 read).
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
            if (rows_in && x0 >= 0 && x0 + 8 <= in.w)
                fn->input(xc + (ptrdiff_t)in.y0 * in.ld + x0, off, in.ld, dst,
                          bk->vstride);
            else
                fn->input_edge(xc, off, in.ld, in.h, in.w, in.y0, x0, dst,
                               bk->vstride);
        }
    }
    // dy blocks: 4 rows of 4 columns.
    for (int l = 0; l < 8; l++) woff[l] = (ptrdiff_t)l * WM * WM;
    const int rows_out = out.y0 + WM <= out.h;
    const int kpan = ck_ceil_div(co, 6);
    const size_t pstride = (size_t)bk->t * 6;
    for (int k0 = 0; k0 < co; k0 += 8) {
        // Rows past the last channel repeat it (computed, never stored).
        for (int l = 0; l < 8; l++)
            off[l] = (ptrdiff_t)(ck_imin(k0 + l, co - 1) - k0) * out.plane;
        const float *yk = out.base + k0 * out.plane;
        const int next = k0 / 6 + 1 < kpan ? (k0 + 8 >= co ? 2 : 1) : 0;
        for (int tx = 0; tx < tw; tx++) {
            const int t = (int)(gr - r0) * tw + tx;
            float *dst = bk->dyt + (size_t)(k0 / 6) * pstride + (size_t)t * 6;
            const int x0 = out.x0 + tx * WM;
            if (rows_out && x0 + WM <= out.w) {
                fn->grad(yk + (ptrdiff_t)out.y0 * out.ld + x0, off, out.ld,
                         dst, pstride, bk->dstride, k0, next);
            } else {
                fn->clip(yk, off, out.ld, out.h, out.w, out.y0, x0, WM, WM,
                         win);
                fn->grad(win, woff, WM, dst, pstride, bk->dstride, k0, next);
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
// once, zero-padded -- its input to whole 6x6 windows (ck_wino_pad_rows, pl->cs
// floats a channel), its dy to whole 4x4 blocks -- then every tile row.
static void grad_image(const wino_plan *pl, const float *x, const float *dy,
                       int img, long r0, const wino_block *bk) {
    const int th = pl->th, ci = pl->ci, co = pl->co;
    const int ldy = pl->tw * WM, hy = th * WM;
    float *xr = ck_ws_floats(CK_WS_COLS, (size_t)ci * pl->cs + 8);
    ck_wino_pad_rows(pl, x, img, 0, th, 0, ci, xr);
    memset(xr + (size_t)ci * pl->cs, 0, 8 * sizeof(float));
    float *yr = ck_ws_floats(CK_WS_AUX, (size_t)co * hy * ldy);
    ck_wino_pad_dy(pl, dy, img, 1, yr);
    // ck_wino_pad_rows puts input (-ph, -pw) at buffer (0, 0).
    for (int ty = 0; ty < th; ty++) {
        const wino_side in = {xr, pl->cs, pl->wp,    ty * WM,
                              0,  hy + 2, pl->wp + 2};
        const wino_side out = {yr, (size_t)hy * ldy, ldy, ty * WM, 0, hy, ldy};
        grad_tiles(pl, in, out, (long)img * th + ty, r0, bk);
    }
}

// dw[k][c] = G^T dU[k][c] G for k in [k0, k1), eight c at a time.
static inline __attribute__((always_inline)) void grad_filters(const float *du,
                                                               int co, int ci,
                                                               int k0, int k1,
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
static void grad_filters_base(const float *du, int co, int ci, int k0, int k1,
                              float *dw) {
    grad_filters(du, co, ci, k0, k1, dw);
}
#if defined(__x86_64__) || defined(__i386__)
// AVX2 without FMA: the same roundings as the baseline build (whose v8
// code ran as pairs of SSE operations with spills).
__attribute__((target("avx2"))) static void grad_filters_avx2(const float *du,
                                                              int co, int ci,
                                                              int k0, int k1,
                                                              float *dw) {
    grad_filters(du, co, ci, k0, k1, dw);
}
#endif

int ck_conv_wino_weight_applies(const ck_conv_geom *cg) {
    // The products take A panels of 6 rows (every ISA's mr).
    return ck_conv_wino_applies(cg) &&
           ck_gemm_arch_for(ck_isa_current())->mr == 6;
}

// Item i of block b (first tile row r0) transformed into bk.
static void transform_item(const wino_plan *pl, const float *x,
                           const float *dy, int padded, long i, long r0,
                           const wino_block *bk) {
    if (padded)
        grad_image(pl, x, dy, (int)i, r0, bk);
    else
        grad_row(pl, x, dy, i, r0, bk);
}

// The operands of block b in v and dyt, and its items: its tile rows
// [*i0, *i1), or in padded mode its whole images.
static wino_block block_at(const wino_plan *pl, int padded, long b, long rows,
                           long total, float *v, float *dyt, long *i0,
                           long *i1) {
    const int cpan = ck_ceil_div(pl->ci, pl->ar->nr);
    const int kpan = ck_ceil_div(pl->co, 6);
    const long r0 = b * rows;
    const long r1 = r0 + rows < total ? r0 + rows : total;
    *i0 = padded ? r0 / pl->th : r0;
    *i1 = padded ? r1 / pl->th : r1;
    wino_block bk;
    bk.t = (int)(r1 - r0) * pl->tw;
    bk.v = v;
    bk.dyt = dyt;
    bk.vstride = skew((size_t)cpan * pl->ar->nr * bk.t);
    bk.dstride = skew((size_t)kpan * 6 * bk.t);
    return bk;
}

// dU[xi] (+)= Dy[xi] x V[xi]^T of a block for xi in [x0, x1).
static void block_products(const wino_plan *pl, const wino_block *bk,
                           int accumulate, int x0, int x1, float *du) {
    const int ci = pl->ci, co = pl->co;
    for (int xi = x0; xi < x1; xi++) {
        const ck_b_source bs = {bk->v + xi * bk->vstride, NULL, 0};
        ck_gemm_macro(pl->ar, co, ci, bk->t, 1.0f, bk->dyt + xi * bk->dstride,
                      &bs, accumulate ? 1.0f : 0.0f, du + (size_t)xi * co * ci,
                      ci);
    }
}

// The weight gradient of dense dy, or (pooled not NULL) of a pool's
// gradient, which the padded mode scatters as it copies each image.
//
// Two schedules, chosen by shape alone (results are the same at any thread
// count either way):
// - Shared (one block, or dU too large to copy): the team transforms a
//   block, then runs its 36 products (a share of the xi each) into one dU,
//   block after block, two barriers a block.
// - Chunked (several blocks of small channel counts, as the U-Net's
//   128x128 and 64x64 layers): the blocks go in WINO_GRAD_CHUNKS runs, each
//   summed by one thread into a dU of its own with no barrier, the runs
//   handed out as threads come free; then the dUs are added in run order.
//   The shared schedule's 128 barriers a call left one thread idle for
//   ~18% of the weight gradient's time in the U-Net step.
void ck_wino_weight_grad(const ck_conv_geom *cg, const float *x,
                         const float *dy, const wino_pooled_dy *pooled,
                         float *dw) {
    const ck_lower_geom *g = &cg->g;
    wino_plan pl = ck_wino_plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph,
                                    g->pw, NULL);
    if (pooled) wino_read_pooled(&pl, pooled);
    const int nr = pl.ar->nr, ci = pl.ci, co = pl.co;
    // Small images (where most tiles cross the border) are padded an image
    // at a time; larger ones read in place.
    const int padded = wino_pads_images(pl.oh, pl.ow);
    pl.cs =
        (size_t)(pl.th * WM + 2) * pl.wp;  // ck_wino_pad_rows': a whole image
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
    const size_t vfloats = WXI * (size_t)(cpan * nr * tmax + 16);
    const size_t dfloats = WXI * (size_t)(kpan * 6 * tmax + 16);
    const size_t usize = (size_t)WXI * co * ci;
    const long chunks = blocks < WINO_GRAD_CHUNKS ? blocks : WINO_GRAD_CHUNKS;
    const int chunked =
        chunks > 1 && (double)chunks * usize <= WINO_GRAD_CHUNK_FLOATS;

    // dU (the chunks' side by side), with 8 floats of slack for the last
    // 8-wide loads of grad_filters.
    const long nu = chunked ? chunks : 1;
    float *du = ck_ws_floats(CK_WS_PARTIAL, nu * usize + 8);
    memset(du + nu * usize, 0, 8 * sizeof(float));
    // The shared schedule's one block of operands.
    float *v = chunked ? NULL : ck_ws_floats(CK_WS_BATCH, vfloats);
    float *dyt = chunked ? NULL : ck_ws_floats(CK_WS_PACK_A, dfloats);

    const int nt = ck_wino_threads(&pl);
    (void)nt;  // unused without OpenMP
    long next = 0;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        if (chunked) {
            // This thread's operands.
            float *tv = ck_ws_floats(CK_WS_BATCH, vfloats);
            float *tdyt = ck_ws_floats(CK_WS_PACK_A, dfloats);
            for (long p; (p = ck_next_piece(&next)) < chunks;) {
                const long b0 = p * blocks / chunks;
                const long b1 = (p + 1) * blocks / chunks;
                for (long b = b0; b < b1; b++) {
                    long i0, i1;
                    const wino_block bk = block_at(&pl, padded, b, rows, total,
                                                   tv, tdyt, &i0, &i1);
                    for (long i = i0; i < i1; i++)
                        transform_item(&pl, x, dy, padded, i, b * rows, &bk);
                    block_products(&pl, &bk, b > b0, 0, WXI, du + p * usize);
                }
            }
#pragma omp barrier
            // dU = ((dU_0 + dU_1) + dU_2) + ..., element by element.
#pragma omp for schedule(static)
            for (long e0 = 0; e0 < (long)usize; e0 += 4096) {
                const long e1 =
                    e0 + 4096 < (long)usize ? e0 + 4096 : (long)usize;
                for (long p = 1; p < chunks; p++) {
                    const float *src = du + p * usize;
                    for (long e = e0; e < e1; e++) du[e] += src[e];
                }
            }
        } else {
            for (long b = 0; b < blocks; b++) {
                long i0, i1;
                const wino_block bk =
                    block_at(&pl, padded, b, rows, total, v, dyt, &i0, &i1);
#pragma omp for schedule(static)
                for (long i = i0; i < i1; i++)
                    transform_item(&pl, x, dy, padded, i, b * rows, &bk);
                    // One xi a thread at a time, each summed in block order.
#pragma omp for schedule(static)
                for (int xi = 0; xi < WXI; xi++)
                    block_products(&pl, &bk, b > 0, xi, xi + 1, du);
            }
        }
        void (*filters)(const float *, int, int, int, int, float *) =
            grad_filters_base;
#if defined(__x86_64__) || defined(__i386__)
        if (ck_use_avx2()) filters = grad_filters_avx2;
#endif
#pragma omp for schedule(static)
        for (int k = 0; k < co; k++) filters(du, co, ci, k, k + 1, dw);
    }
}

void ck_conv_wino_weight_grad(const ck_conv_geom *cg, const float *x,
                              const float *dy, float *dw) {
    ck_wino_weight_grad(cg, x, dy, NULL, dw);
}
