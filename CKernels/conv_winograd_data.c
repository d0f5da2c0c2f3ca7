// Winograd F(4x4, 3x3): the input gradient by the adjoint of the forward,
// and both gradients of a conv + 2x2 max pool (see conv_winograd.c).
#include <stdint.h>
#include <string.h>

#include "winograd.h"

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

void ck_wino_dy_tiles_base(const float *y, const ptrdiff_t *off, int ld,
                           float *dst, size_t dstride) {
    dy_tiles(y, off, ld, dst, dstride);
}
void ck_wino_adjoint_tiles_base(const float *m, size_t mstride, float *buf,
                                const ptrdiff_t *boff, int wp) {
    adjoint_tiles(m, mstride, buf, boff, wp);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void ck_wino_dy_tiles_avx2(
    const float *y, const ptrdiff_t *off, int ld, float *dst, size_t dstride) {
    dy_tiles(y, off, ld, dst, dstride);
}
__attribute__((target("avx2,fma"))) void ck_wino_adjoint_tiles_avx2(
    const float *m, size_t mstride, float *buf, const ptrdiff_t *boff,
    int wp) {
    adjoint_tiles(m, mstride, buf, boff, wp);
}
#endif

// Copies the dy planes of images [img, img + nimg) (all co channels, oh x
// ow) to dst, each zero-padded to whole 4x4 blocks: th * 4 rows of tw * 4.
static void pad_pooled_dy(const wino_plan *pl, int img, int nimg, float *dst);
void ck_wino_pad_dy(const wino_plan *pl, const float *dy, int img, int nimg,
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

// ck_wino_pad_dy of the gradient a 2x2 stride-2 max pool routes back: each padded
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

// The forward's plan (input side ci, output side co) split into tasks of
// whole images, as many as fill B panels best within the task budget; 0
// if one image does not fit the budget.
static int adjoint_plan(const ck_conv_geom *cg, const float *bias,
                        wino_plan *pl) {
    const ck_lower_geom *g = &cg->g;
    *pl = ck_wino_plan_for(cg->n, cg->ci, cg->co, g->ih, g->iw, g->ph, g->pw,
                           bias);
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
    ck_wino_pad_dy(pl, dy, i0, nimg, yb);
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

    const wino_fns *fn = ck_wino_kernels();
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
    if (!ck_wino_geometry(cg)) return 0;
    if (adjoint_applies(cg)) return 1;
    // The data gradient is the conv of dy padded by 2 - padding.
    if (g->ph > 2 || g->pw > 2) return 0;
    return ck_wino_fits(cg->n, cg->co, cg->ci, g->ih, g->iw);
}

// The adjoint's plan with its filters: U[xi]^T, rows the forward's input
// channels, k columns.
static void adjoint_setup(const ck_conv_geom *cg, const float *w,
                          const float *bias, wino_plan *pl) {
    adjoint_plan(cg, bias, pl);
    wino_plan up = *pl;
    up.ci = cg->co;
    up.co = cg->ci;
    ck_wino_filters(&up, w, 9, (size_t)cg->ci * 9, 0);
    pl->u = up.u;
    pl->ustride = up.ustride;
}

// dx = the full correlation of dy with the flipped, transposed filters: a
// 3x3 conv from co to ci channels padded by 2 - padding.
void ck_conv_wino_backward_data(const ck_conv_geom *cg, const float *dy,
                                const float *w, const float *bias, float *dx) {
    const ck_lower_geom *g = &cg->g;
    if (adjoint_applies(cg)) {
        wino_plan pl;
        adjoint_setup(cg, w, bias, &pl);
        ck_wino_run(&pl, adjoint_task, dy, dx);
        return;
    }
    wino_plan pl = ck_wino_plan_for(cg->n, cg->co, cg->ci, g->oh, g->ow,
                                    2 - g->ph, 2 - g->pw, bias);
    // Out channel c of this conv, in channel k: w[k][c] flipped.
    ck_wino_filters(&pl, w, 9, (size_t)cg->ci * 9, 1);
    ck_wino_run(&pl, ck_wino_task, dy, dx);
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
    return wino_pads_images(cg->g.oh, cg->g.ow) &&
           (!with_dx || adjoint_applies(cg));
}

void ck_conv_wino_pooled_backward(const ck_conv_geom *cg,
                                  const ck_pool2d_params *pool, const float *x,
                                  const float *w, const float *mask,
                                  const float *dy, const int32_t *indices,
                                  float *dx, float *dw) {
    const wino_pooled_dy pooled = {pool, dy, mask, indices};
    if (dx) {
        wino_plan pl;
        adjoint_setup(cg, w, NULL, &pl);
        wino_read_pooled(&pl, &pooled);
        ck_wino_run(&pl, adjoint_task, NULL, dx);
    }
    ck_wino_weight_grad(cg, x, NULL, &pooled, dw);
}
