// conv2d, and the GEMM-shaped engine it shares with conv_transpose2d.
// Convs with groups 1 and strides up to 2 go to the shifted-window implicit
// GEMM of conv_shift.c (no im2col matrix; see ck_conv_shift_*_applies for
// which pass takes it). The rest -- groups, larger strides, inner sizes up
// to CK_SMALL_K, plain 1x1 convs, strided data gradients -- run here: every
// pass is ck_sgemm per (image, group, band of output rows) around an
// im2col or col2im (ATen's ConvolutionMM2d): forward = W x cols, input
// gradient = col2im of W^T x dy, weight gradient = dy x cols^T summed over
// the batch.
#include <limits.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "workspace.h"

// Images per block of a batch reduction (weight and bias gradients). A
// constant, so the order in which partial sums meet never depends on the
// number of threads.
#define CK_BATCH_BLOCK 4

// Floats of im2col columns built at a time (1 MiB, the L2 of a core):
// lowering a band of output rows and multiplying it while it is still in
// cache beats lowering the whole image (1.6x on a 64-channel 56x56 3x3
// forward).
#ifndef CK_BAND_FLOATS  // overridable to test many bands on small shapes
#define CK_BAND_FLOATS (1L << 18)
#endif

// Floats of columns for a block of small images side by side (256 KiB):
// larger blocks fell out of L2 and slowed both the lowering and the GEMM
// (a 32-channel 13x13 forward: 1 MiB blocks took 1.5x the time of one image
// at a time).
#ifndef CK_BLOCK_FLOATS
#define CK_BLOCK_FLOATS (1L << 16)
#endif

// Multiply-adds below which a conv pass stays on one thread.
#define CK_CONV_SERIAL_FMAS (1L << 16)

// Elements below which a channel sum stays on one thread.
#define CK_REDUCE_SERIAL 32768
// Weight elements per task when folding partials in parallel.
#define CK_FOLD_CHUNK 4096

#define CK_FAIL(...)                                                          \
    do {                                                                      \
        if (err && err_len) snprintf(err, err_len, __VA_ARGS__);              \
        return -1;                                                            \
    } while (0)

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

// Sizes that every per-(image, group) step needs.
typedef struct {
    const ck_conv_geom *cg;
    int cpg, opg;           // channels per group, image and column side
    int kdim, ncol;         // GEMM inner size cpg*kh*kw, column count oh*ow
    size_t img_n, img_grp;  // strides of an image and a group, image side
    size_t col_n;           // stride of an image, column side
    int direct;             // 1x1 stride 1 no padding: no lowering needed
    int band;               // output rows lowered at a time
    int blk;                // images side by side in one GEMM (1: none)
    int wblk;               // images per block of the weight gradient
    int small;              // kdim <= CK_SMALL_K: direct kernels, no GEMM
} ck_shape;

static ck_shape shape_of(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
    ck_shape s;
    s.cg = cg;
    s.cpg = cg->ci / cg->groups;
    s.opg = cg->co / cg->groups;
    s.kdim = s.cpg * g->kh * g->kw;
    s.ncol = g->oh * g->ow;
    s.img_grp = (size_t)s.cpg * g->ih * g->iw;
    s.img_n = s.img_grp * cg->groups;
    s.col_n = (size_t)cg->co * s.ncol;
    s.direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 &&
               g->ph == 0 && g->pw == 0 && g->ih == g->oh && g->iw == g->ow;
    long band = CK_BAND_FLOATS / ((long)s.kdim * g->ow);
    s.band = band < 1 ? 1 : band > g->oh ? g->oh : (int)band;
    // Small images (a whole image is one band): lower a block of images
    // side by side and multiply once, so the weights are packed once per
    // block and the GEMM's N (or K, for the weight gradient) is large.
    // Depends on the shape only, never on the thread count.
    s.small = !s.direct && s.kdim <= CK_SMALL_K;
    s.blk = 1;
    if (!s.direct && !s.small && s.band == g->oh) {
        long nb = CK_BLOCK_FLOATS / ((long)s.kdim * s.ncol);
        s.blk = nb < 1 ? 1 : nb > cg->n ? cg->n : (int)nb;
    }
    s.wblk = s.blk > CK_BATCH_BLOCK ? s.blk : CK_BATCH_BLOCK;
    return s;
}

// im2col of one group, split over channels when nt > 1.
static void lower(const ck_shape *s, const ck_lower_geom *g, const float *img,
                  float *cols, int nt) {
    if (nt > 1 && s->cpg > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int c = 0; c < s->cpg; c++)
            ck_im2col(g, img, c, c + 1, cols, (size_t)g->oh * g->ow);
    } else {
        ck_im2col(g, img, 0, s->cpg, cols, (size_t)g->oh * g->ow);
    }
}

// im2col of group grp of images [i0, i0 + nb) side by side: image j's
// columns start at cols + j*ncol, rows ld = nb*ncol apart.
static void lower_block(const ck_shape *s, const float *img, int i0, int nb,
                        int grp, float *cols, int nt) {
    const ck_lower_geom *g = &s->cg->g;
    size_t ld = (size_t)nb * s->ncol;
    long tasks = (long)nb * s->cpg;
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < tasks; t++) {
        int j = (int)(t / s->cpg), c = (int)(t % s->cpg);
        const float *x = img + (i0 + j) * s->img_n + grp * s->img_grp;
        ck_im2col(g, x, c, c + 1, cols + (size_t)j * s->ncol, ld);
    }
}

// Gathers (or, when scatter, spreads back) rows [0, m) of group grp of
// images [i0, i0 + nb) of a col-side tensor to / from m rows of nb*ncol.
static void gather_block(const ck_shape *s, int m, int i0, int nb, int grp,
                         float *t, float *packed, int scatter) {
    size_t ld = (size_t)nb * s->ncol;
    for (int j = 0; j < nb; j++) {
        float *img = t + (i0 + j) * s->col_n + (size_t)grp * m * s->ncol;
        for (int r = 0; r < m; r++) {
            float *row = packed + r * ld + (size_t)j * s->ncol;
            if (scatter)
                ck_copy_floats(img + (size_t)r * s->ncol, row, s->ncol);
            else
                ck_copy_floats(row, img + (size_t)r * s->ncol, s->ncol);
        }
    }
}

// col2im of one group; channels own disjoint pixels, so any split is exact.
static void raise_cols(const ck_shape *s, const ck_lower_geom *g,
                       const float *cols, int accumulate, float *img, int nt) {
    if (nt > 1 && s->cpg > 1) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int c = 0; c < s->cpg; c++)
            ck_col2im(g, cols, (size_t)g->oh * g->ow, c, c + 1, accumulate,
                      img);
    } else {
        ck_col2im(g, cols, (size_t)g->oh * g->ow, 0, s->cpg, accumulate, img);
    }
}

// The tensors of one pass: in -> out through w, plus an optional bias.
typedef struct {
    const float *in, *w, *bias;
    float *out;
} ck_pass;

typedef void (*ck_pair_fn)(const ck_shape *s, const ck_pass *a, int i, int grp,
                           int nt);

// Threads for a pass: one when the whole pass is too small to pay for a
// fork.
static int conv_threads(const ck_shape *s) {
    double fmas = (double)s->cg->n * s->cg->co * s->ncol * s->kdim;
    return fmas < CK_CONV_SERIAL_FMAS ? 1 : ck_team_threads();
}

// Whole rounds of (image, group) pairs run in parallel, each thread with
// its own columns and a single-threaded GEMM; the leftover pairs (fewer
// than the threads) run one at a time with the lowering and the GEMM using
// the threads inside. Either way each output element sees the same
// arithmetic.
// A pair is (block of s->blk images starting at image i, group).
static void for_pairs(const ck_shape *s, const ck_pass *a, ck_pair_fn fn) {
    int nt = conv_threads(s);
    int groups = s->cg->groups;
    long blocks = (s->cg->n + s->blk - 1) / s->blk;
    long pairs = blocks * groups;
    long full = nt > 1 ? pairs / nt * nt : 0;
    if (full > 0) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (long p = 0; p < full; p++)
            fn(s, a, (int)(p / groups) * s->blk, (int)(p % groups), 1);
    }
    for (long p = full; p < pairs; p++)
        fn(s, a, (int)(p / groups) * s->blk, (int)(p % groups), nt);
}

// rows[r][0..n) += bias[r] for r < m (row stride ld); nothing if bias is
// NULL.
static void add_bias(const float *bias, int m, int n, float *rows, size_t ld) {
    if (!bias) return;
    for (int r = 0; r < m; r++) {
        float bv = bias[r];
        float *row = rows + r * ld;
        for (int j = 0; j < n; j++) row[j] += bv;
    }
}

// y = W x cols for a block of small images at once; the product lands in
// a scratch block and is spread to the images (plus bias).
static void forward_block(const ck_shape *s, const ck_pass *a, int i0, int grp,
                          int nt) {
    int nb = s->cg->n - i0 < s->blk ? s->cg->n - i0 : s->blk;
    size_t ld = (size_t)nb * s->ncol;
    float *cols = ck_ws_floats(CK_WS_COLS, (size_t)s->kdim * ld);
    float *out = ck_ws_floats(CK_WS_BATCH, (size_t)s->opg * ld);
    const float *wg = a->w + (size_t)grp * s->opg * s->kdim;
    lower_block(s, a->in, i0, nb, grp, cols, nt);
    ck_sgemm(0, 0, s->opg, (int)ld, s->kdim, 1.0f, wg, s->kdim, cols, (int)ld,
             0.0f, out, (int)ld);
    add_bias(a->bias ? a->bias + grp * s->opg : NULL, s->opg, (int)ld, out,
             ld);
    gather_block(s, s->opg, i0, nb, grp, a->out, out, 1);
}

// y = W x cols, a band of output rows at a time: the band's columns are
// still in cache when the GEMM packs them.
static void forward_pair(const ck_shape *s, const ck_pass *a, int i, int grp,
                         int nt) {
    const ck_lower_geom *g = &s->cg->g;
    if (s->blk > 1) {
        forward_block(s, a, i, grp, nt);
        return;
    }
    const float *x = a->in + i * s->img_n + grp * s->img_grp;
    const float *wg = a->w + (size_t)grp * s->opg * s->kdim;
    float *y = a->out + i * s->col_n + (size_t)grp * s->opg * s->ncol;
    const float *bias = a->bias ? a->bias + grp * s->opg : NULL;
    if (s->direct) {
        ck_sgemm(0, 0, s->opg, s->ncol, s->kdim, 1.0f, wg, s->kdim, x, s->ncol,
                 0.0f, y, s->ncol);
        add_bias(bias, s->opg, s->ncol, y, s->ncol);
        return;
    }
    float *cols = ck_ws_floats(CK_WS_COLS, (size_t)s->kdim * s->band * g->ow);
    for (int r0 = 0; r0 < g->oh; r0 += s->band) {
        int r1 = r0 + s->band < g->oh ? r0 + s->band : g->oh;
        ck_lower_geom b = ck_lower_band(g, r0, r1);
        int n = (r1 - r0) * g->ow;
        float *yb = y + (size_t)r0 * g->ow;
        lower(s, &b, x, cols, nt);
        if (s->small) {
            ck_small_k_forward(s->opg, n, s->kdim, wg, cols, n, bias, yb,
                               s->ncol);
            continue;
        }
        ck_sgemm(0, 0, s->opg, n, s->kdim, 1.0f, wg, s->kdim, cols, n, 0.0f,
                 yb, s->ncol);
        add_bias(bias, s->opg, n, yb, s->ncol);  // while the band is cached
    }
}

void ck_conv_lower_gemm(const ck_conv_geom *cg, const float *img,
                        const float *w, const float *bias, float *out) {
    if (ck_conv_wino_applies(cg)) {
        ck_conv_wino_forward(cg, img, w, bias, 0, out);
        return;
    }
    if (ck_conv_shift_applies(cg)) {
        ck_conv_shift_forward(cg, img, w, bias, out);
        return;
    }
    ck_shape s = shape_of(cg);
    ck_pass a = {img, w, bias, out};
    for_pairs(&s, &a, forward_pair);
}

// img = col2im(W^T x dy) for a block of small images at once.
static void raise_block(const ck_shape *s, const ck_pass *a, int i0, int grp,
                        int nt) {
    const ck_lower_geom *g = &s->cg->g;
    int nb = s->cg->n - i0 < s->blk ? s->cg->n - i0 : s->blk;
    size_t ld = (size_t)nb * s->ncol;
    float *dyb = ck_ws_floats(CK_WS_BATCH, (size_t)s->opg * ld);
    float *cols = ck_ws_floats(CK_WS_COLS, (size_t)s->kdim * ld);
    const float *wg = a->w + (size_t)grp * s->opg * s->kdim;
    gather_block(s, s->opg, i0, nb, grp, (float *)a->in, dyb, 0);
    ck_sgemm(1, 0, s->kdim, (int)ld, s->opg, 1.0f, wg, s->kdim, dyb, (int)ld,
             0.0f, cols, (int)ld);
    long tasks = (long)nb * s->cpg;
    size_t plane = (size_t)g->ih * g->iw;
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < tasks; t++) {
        int j = (int)(t / s->cpg), c = (int)(t % s->cpg);
        float *x = a->out + (i0 + j) * s->img_n + grp * s->img_grp;
        ck_col2im(g, cols + (size_t)j * s->ncol, ld, c, c + 1, 0, x);
        if (a->bias)
            add_bias(a->bias + grp * s->cpg + c, 1, (int)plane, x + c * plane,
                     plane);
    }
}

// img = col2im(W^T x dy), a band of column rows at a time; bands add onto
// the image in order.
static void raise_pair(const ck_shape *s, const ck_pass *a, int i, int grp,
                       int nt) {
    const ck_lower_geom *g = &s->cg->g;
    if (s->blk > 1) {
        raise_block(s, a, i, grp, nt);
        return;
    }
    const float *dy = a->in + i * s->col_n + (size_t)grp * s->opg * s->ncol;
    float *x = a->out + i * s->img_n + grp * s->img_grp;
    const float *wg = a->w + (size_t)grp * s->opg * s->kdim;
    if (s->direct) {
        ck_sgemm(1, 0, s->kdim, s->ncol, s->opg, 1.0f, wg, s->kdim, dy,
                 s->ncol, 0.0f, x, s->ncol);
    } else {
        float *cols =
            ck_ws_floats(CK_WS_COLS, (size_t)s->kdim * s->band * g->ow);
        for (int r0 = 0; r0 < g->oh; r0 += s->band) {
            int r1 = r0 + s->band < g->oh ? r0 + s->band : g->oh;
            ck_lower_geom b = ck_lower_band(g, r0, r1);
            int n = (r1 - r0) * g->ow;
            ck_sgemm(1, 0, s->kdim, n, s->opg, 1.0f, wg, s->kdim,
                     dy + (size_t)r0 * g->ow, s->ncol, 0.0f, cols, n);
            raise_cols(s, &b, cols, r0 > 0, x, nt);
        }
    }
    if (a->bias) {
        size_t plane = (size_t)g->ih * g->iw;
        add_bias(a->bias + grp * s->cpg, s->cpg, (int)plane, x, plane);
    }
}

void ck_conv_gemm_raise(const ck_conv_geom *cg, const float *col,
                        const float *w, const float *bias, float *img) {
    if (ck_conv_wino_data_applies(cg)) {
        ck_conv_wino_backward_data(cg, col, w, bias, img);
        return;
    }
    if (ck_conv_shift_data_applies(cg)) {
        ck_conv_shift_backward_data(cg, col, w, bias, img);
        return;
    }
    if (ck_conv_shift_raise_applies(cg)) {
        ck_conv_shift_raise(cg, col, w, bias, img);
        return;
    }
    ck_shape s = shape_of(cg);
    ck_pass a = {col, w, bias, img};
    for_pairs(&s, &a, raise_pair);
}

// The weight gradient of images [blk*B, blk*B + B): a chain of GEMMs over
// images and bands that starts from zero (beta 0) and accumulates (beta 1)
// in a fixed order.
static void weight_block(const ck_shape *s, int blk, const float *img,
                         const float *col, float *part, int nt) {
    const ck_lower_geom *g = &s->cg->g;
    int i0 = blk * s->wblk;
    int i1 = i0 + s->wblk;
    if (i1 > s->cg->n) i1 = s->cg->n;
    if (s->blk > 1) {
        // The whole block as one GEMM with K = images * pixels.
        int nb = i1 - i0;
        size_t ld = (size_t)nb * s->ncol;
        float *cols = ck_ws_floats(CK_WS_COLS, (size_t)s->kdim * ld);
        float *dyb = ck_ws_floats(CK_WS_BATCH, (size_t)s->opg * ld);
        for (int grp = 0; grp < s->cg->groups; grp++) {
            lower_block(s, img, i0, nb, grp, cols, nt);
            gather_block(s, s->opg, i0, nb, grp, (float *)col, dyb, 0);
            ck_sgemm(0, 1, s->opg, s->kdim, (int)ld, 1.0f, dyb, (int)ld, cols,
                     (int)ld, 0.0f, part + (size_t)grp * s->opg * s->kdim,
                     s->kdim);
        }
        return;
    }
    float *cols = s->direct ? NULL
                            : ck_ws_floats(CK_WS_COLS,
                                           (size_t)s->kdim * s->band * g->ow);
    for (int grp = 0; grp < s->cg->groups; grp++) {
        float *pg = part + (size_t)grp * s->opg * s->kdim;
        for (int i = i0; i < i1; i++) {
            const float *x = img + i * s->img_n + grp * s->img_grp;
            const float *dy =
                col + i * s->col_n + (size_t)grp * s->opg * s->ncol;
            if (s->direct) {
                ck_sgemm(0, 1, s->opg, s->kdim, s->ncol, 1.0f, dy, s->ncol, x,
                         s->ncol, i == i0 ? 0.0f : 1.0f, pg, s->kdim);
                continue;
            }
            for (int r0 = 0; r0 < g->oh; r0 += s->band) {
                int r1 = r0 + s->band < g->oh ? r0 + s->band : g->oh;
                ck_lower_geom b = ck_lower_band(g, r0, r1);
                int n = (r1 - r0) * g->ow;
                lower(s, &b, x, cols, nt);
                if (s->small) {
                    ck_small_k_weight(s->opg, n, s->kdim,
                                      dy + (size_t)r0 * g->ow, s->ncol, cols,
                                      n, !(i == i0 && r0 == 0), pg);
                    continue;
                }
                ck_sgemm(0, 1, s->opg, s->kdim, n, 1.0f,
                         dy + (size_t)r0 * g->ow, s->ncol, cols, n,
                         i == i0 && r0 == 0 ? 0.0f : 1.0f, pg, s->kdim);
            }
        }
    }
}

// dw = (((p0 + p1) + p2) + ...) element by element, in block order. Blocks
// are computed a wave at a time; the wave size only decides how many
// partials are alive at once, never the order of the additions.
static void fold(float *dw, const float *part, int nb, int first, size_t begin,
                 size_t end, size_t wsize) {
    for (size_t e = begin; e < end; e++) {
        float acc = first ? part[e] : dw[e] + part[e];
        for (int j = 1; j < nb; j++) acc += part[j * wsize + e];
        dw[e] = acc;
    }
}

void ck_conv_weight_grad(const ck_conv_geom *cg, const float *img,
                         const float *col, float *dw) {
    if (ck_conv_wino_weight_applies(cg)) {
        ck_conv_wino_weight_grad(cg, img, col, dw);
        return;
    }
    if (ck_conv_shift_weight_applies(cg)) {
        ck_conv_shift_weight_grad(cg, img, col, dw);
        return;
    }
    ck_shape s = shape_of(cg);
    size_t wsize = (size_t)cg->co * s.kdim;
    int nblocks = (cg->n + s.wblk - 1) / s.wblk;
    int nt = conv_threads(&s);
    // Whole waves of nt blocks in parallel; leftover blocks one at a time
    // with threads inside, as in for_pairs.
    int full = nt > 1 ? nblocks / nt * nt : 0;
    float *part = ck_ws_floats(CK_WS_PARTIAL, (full ? nt : 1) * wsize);
    if (full > 0) {
        long chunks = (long)((wsize + CK_FOLD_CHUNK - 1) / CK_FOLD_CHUNK);
#pragma omp parallel num_threads(nt)
        for (int b0 = 0; b0 < full; b0 += nt) {
#pragma omp for schedule(static)
            for (int j = 0; j < nt; j++)
                weight_block(&s, b0 + j, img, col, part + j * wsize, 1);
#pragma omp for schedule(static)
            for (long ch = 0; ch < chunks; ch++) {
                size_t e0 = (size_t)ch * CK_FOLD_CHUNK;
                size_t e1 =
                    e0 + CK_FOLD_CHUNK < wsize ? e0 + CK_FOLD_CHUNK : wsize;
                fold(dw, part, nt, b0 == 0, e0, e1, wsize);
            }
        }
    }
    for (int b = full; b < nblocks; b++) {
        weight_block(&s, b, img, col, part, nt);
        fold(dw, part, 1, b == 0, 0, wsize, wsize);
    }
}

// Sum of m floats in eight fixed lanes of doubles: vectorizes, and the
// order of additions is fixed by the code, not by the compiler or threads.
// With mask, the floats are those of t where mask > 0 (else 0), also
// written to out.
static inline __attribute__((always_inline)) double plane_sum(
    const float *t, const float *mask, float *out, size_t m) {
    double lane[8] = {0};
    size_t j = 0;
    if (mask) {
        for (; j + 8 <= m; j += 8)
            for (int l = 0; l < 8; l++) {
                const float v = ck_masked(t[j + l], mask[j + l]);
                out[j + l] = v;
                lane[l] += v;
            }
        for (; j < m; j++) {
            const float v = ck_masked(t[j], mask[j]);
            out[j] = v;
            lane[0] += v;
        }
    } else {
        for (; j + 8 <= m; j += 8)
            for (int l = 0; l < 8; l++) lane[l] += t[j + l];
        for (; j < m; j++) lane[0] += t[j];
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

#if defined(__x86_64__) || defined(__i386__)
// plane_sum in AVX2: lanes 0-3 and 4-7 in two double registers, added in
// the same order, so the same bits (the baseline build's scalar loop ran
// the ReLU backward of the U-Net step at ~3 cycles a float).
__attribute__((target("avx2"))) static double plane_sum_avx2(const float *t,
                                                             const float *mask,
                                                             float *out,
                                                             size_t m) {
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        __m256 v = _mm256_loadu_ps(t + j);
        if (mask) {
            const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(mask + j),
                                              _mm256_setzero_ps(), _CMP_GT_OQ);
            v = _mm256_and_ps(v, keep);  // ck_masked: +0 unless mask > 0
            _mm256_storeu_ps(out + j, v);
        }
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    double lane[8];
    _mm256_storeu_pd(lane, lo);
    _mm256_storeu_pd(lane + 4, hi);
    for (; j < m; j++) {
        const float v = mask ? ck_masked(t[j], mask[j]) : t[j];
        if (mask) out[j] = v;
        lane[0] += v;
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}
#endif

// db[c] = sum of t over n and plane, t masked by mask (and written to out)
// when mask is given.
static void channel_sums(int n, int ch, size_t plane, const float *t,
                         const float *mask, float *out, float *db) {
    int nblocks = (n + CK_BATCH_BLOCK - 1) / CK_BATCH_BLOCK;
    long tasks = (long)nblocks * ch;
    double *part = (double *)ck_ws_floats(CK_WS_AUX, 2 * (size_t)tasks);
    int nt = (size_t)n * ch * plane < CK_REDUCE_SERIAL ? 1 : ck_team_threads();
    (void)nt;  // unused without OpenMP
    const int avx2 = ck_use_avx2();
    (void)avx2;  // unused off x86
    // One task per (block, channel): each partial is computed whole by one
    // thread, then the blocks meet in order.
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long task = 0; task < tasks; task++) {
        int blk = (int)(task / ch), c = (int)(task % ch);
        int i1 =
            (blk + 1) * CK_BATCH_BLOCK < n ? (blk + 1) * CK_BATCH_BLOCK : n;
        double acc = 0.0;
        for (int i = blk * CK_BATCH_BLOCK; i < i1; i++) {
            const size_t at = ((size_t)i * ch + c) * plane;
#if defined(__x86_64__) || defined(__i386__)
            if (avx2) {
                acc += plane_sum_avx2(t + at, mask ? mask + at : NULL,
                                      mask ? out + at : NULL, plane);
                continue;
            }
#endif
            acc += mask ? plane_sum(t + at, mask + at, out + at, plane)
                        : plane_sum(t + at, NULL, NULL, plane);
        }
        part[task] = acc;
    }
    for (int c = 0; c < ch; c++) {
        double acc = 0.0;
        for (int blk = 0; blk < nblocks; blk++)
            acc += part[(long)blk * ch + c];
        db[c] = (float)acc;
    }
}

void ck_channel_sum(int n, int ch, size_t plane, const float *t, float *db) {
    channel_sums(n, ch, plane, t, NULL, NULL, db);
}

void ck_relu_backward_bias_f32(int n, int ch, int64_t plane, const float *y,
                               const float *dy, float *dx, float *db) {
    if (!db) {
        ck_relu_backward_f32((int64_t)n * ch * plane, y, dy, dx);
        return;
    }
    channel_sums(n, ch, (size_t)plane, dy, y, dx, db);
}

// ---------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------

// PyTorch's output size, or 0 when the dilated kernel overhangs the padded
// input.
static int conv_out(int in, int pad, int dil, int kernel, int stride) {
    long num = (long)in + 2L * pad - (long)dil * (kernel - 1) - 1;
    if (num < 0) return 0;
    long out = num / stride + 1;
    return out > INT_MAX ? INT_MAX : (int)out;
}

int ck_conv2d_check(ck_conv2d_params *p, char *err, size_t err_len) {
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->k < 1)
        CK_FAIL("conv2d: sizes must be >= 1 (n=%d, c=%d, h=%d, w=%d, k=%d)",
                p->n, p->c, p->h, p->w, p->k);
    if (p->kh < 1 || p->kw < 1)
        CK_FAIL("conv2d: kernel size must be >= 1 (kh=%d, kw=%d)", p->kh,
                p->kw);
    if (p->stride_h < 1 || p->stride_w < 1)
        CK_FAIL("conv2d: stride must be >= 1 (stride_h=%d, stride_w=%d)",
                p->stride_h, p->stride_w);
    if (p->dil_h < 1 || p->dil_w < 1)
        CK_FAIL("conv2d: dilation must be >= 1 (dil_h=%d, dil_w=%d)", p->dil_h,
                p->dil_w);
    if (p->pad_h < 0 || p->pad_w < 0)
        CK_FAIL("conv2d: padding must be >= 0 (pad_h=%d, pad_w=%d)", p->pad_h,
                p->pad_w);
    if (p->groups < 1)
        CK_FAIL("conv2d: groups must be >= 1 (groups=%d)", p->groups);
    if (p->c % p->groups != 0)
        CK_FAIL("conv2d: input channels c=%d not divisible by groups=%d", p->c,
                p->groups);
    if (p->k % p->groups != 0)
        CK_FAIL("conv2d: output channels k=%d not divisible by groups=%d",
                p->k, p->groups);
    int oh = conv_out(p->h, p->pad_h, p->dil_h, p->kh, p->stride_h);
    int ow = conv_out(p->w, p->pad_w, p->dil_w, p->kw, p->stride_w);
    if (oh < 1)
        CK_FAIL(
            "conv2d: output height %d < 1 (h=%d, kh=%d, pad_h=%d, "
            "dil_h=%d, stride_h=%d)",
            oh, p->h, p->kh, p->pad_h, p->dil_h, p->stride_h);
    if (ow < 1)
        CK_FAIL(
            "conv2d: output width %d < 1 (w=%d, kw=%d, pad_w=%d, "
            "dil_w=%d, stride_w=%d)",
            ow, p->w, p->kw, p->pad_w, p->dil_w, p->stride_w);
    // GEMM sizes are ints.
    if ((long)oh * ow > INT_MAX || (long)p->h * p->w > INT_MAX ||
        (long)(p->c / p->groups) * p->kh * p->kw > INT_MAX)
        CK_FAIL(
            "conv2d: sizes overflow 32-bit GEMM dimensions (c=%d, "
            "h=%d, w=%d, kh=%d, kw=%d)",
            p->c, p->h, p->w, p->kh, p->kw);
    p->out_h = oh;
    p->out_w = ow;
    return 0;
}

ck_conv_geom ck_conv2d_geom(const ck_conv2d_params *p) {
    ck_conv_geom cg = {.n = p->n,
                       .groups = p->groups,
                       .ci = p->c,
                       .co = p->k,
                       .g = {.ih = p->h,
                             .iw = p->w,
                             .oh = p->out_h,
                             .ow = p->out_w,
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

void ck_conv2d_forward_relu_f32(const ck_conv2d_params *p, const float *x,
                                const float *w, const float *bias, int relu,
                                float *y) {
    ck_conv_geom cg = ck_conv2d_geom(p);
    if (relu && ck_conv_wino_applies(&cg)) {
        ck_conv_wino_forward(&cg, x, w, bias, 1, y);  // in the output pass
        return;
    }
    ck_conv_lower_gemm(&cg, x, w, bias, y);
    if (relu)
        ck_unary_f32(CK_RELU, (int64_t)p->n * p->k * p->out_h * p->out_w, y,
                     y);
}

void ck_conv2d_forward_f32(const ck_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y) {
    ck_conv2d_forward_relu_f32(p, x, w, bias, 0, y);
}

void ck_conv2d_backward_data_f32(const ck_conv2d_params *p, const float *dy,
                                 const float *w, float *dx) {
    ck_conv_geom cg = ck_conv2d_geom(p);
    ck_conv_gemm_raise(&cg, dy, w, NULL, dx);
}

void ck_conv2d_backward_weight_f32(const ck_conv2d_params *p, const float *x,
                                   const float *dy, float *dw) {
    ck_conv_geom cg = ck_conv2d_geom(p);
    ck_conv_weight_grad(&cg, x, dy, dw);
}

void ck_conv2d_backward_bias_f32(const ck_conv2d_params *p, const float *dy,
                                 float *db) {
    ck_channel_sum(p->n, p->k, (size_t)p->out_h * p->out_w, dy, db);
}

const char *ck_conv2d_algorithm(const ck_conv2d_params *p, int pass) {
    ck_conv_geom cg = ck_conv2d_geom(p);
    if (pass == 0) {
        if (ck_conv_wino_applies(&cg)) return "winograd";
        if (ck_conv_shift_applies(&cg)) return "shifted-window";
    } else if (pass == 1) {
        if (ck_conv_wino_data_applies(&cg)) return "winograd";
        if (ck_conv_shift_data_applies(&cg) ||
            ck_conv_shift_raise_applies(&cg))
            return "shifted-window";
    } else {
        if (ck_conv_wino_weight_applies(&cg)) return "winograd";
        if (ck_conv_shift_weight_applies(&cg)) return "shifted-window";
    }
    return "gemm";
}
