// Convolution as an implicit GEMM over shifted windows.
//
// Row (c, ky, kx) of the im2col matrix is input plane c shifted by
// (ky*dh, kx*dw): along an output row its values sit side by side in the
// zero-padded input (stride 1), or every other one (stride 2). So the GEMM's
// B panels (nr output positions x kc taps) are packed straight from a padded
// copy of the input, a few vector copies (or even-column shuffles) per tap,
// and the im2col matrix is never written or read back. The weights are
// packed once per call and shared by all threads; each task (a
// block of small images, or a band of rows of one large image) packs its own
// B panels while they are hot in L1 and runs every A panel over them.
//
// Every output element is computed by one task, over the same k blocks, in
// the same order, whatever the thread count: results are bitwise identical
// at any number of threads.
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "gemm_internal.h"
#include "workspace.h"

// Output positions per task: enough columns to amortize the task's setup,
// few enough that its padded input, B panel and C block stay in L2.
#define SHIFT_TASK_POS 512

// Largest k block (taps) of the forward product; blocks are evened out.
#ifndef SHIFT_KC
#define SHIFT_KC 256
#endif

// Extra work (ratio of input to output pixels) the data gradient accepts.
#define SHIFT_DATA_WASTE 1.15

// Tasks a batch of small images is split into at least (when it has that
// many images).
#define SHIFT_MIN_TASKS 4

// Floats of padded input a block of small images may take.
#define SHIFT_TASK_FLOATS (1L << 18)

// Multiply-adds below which a call stays on one thread.
#define SHIFT_SERIAL_FMAS (1L << 16)

// A run of positions whose inputs are contiguous: panel columns
// [dst, dst + len) read the padded input at src, src + 1, ...
typedef struct {
    int dst, src, len;
} shift_seg;

// One call: out[n, m, oh, ow] = A x lowered(in) (+ bias), where A is m x
// (ci*kh*kw) (the weights, or the flipped weights of a data gradient).
typedef struct {
    const ck_gemm_arch *ar;
    int n, ci, m;
    int ih, iw, oh, ow, kh, kw, ph, pw, dh, dw, sh, sw;
    int kdim, kcb, mpad;
    int nb, band, bands;  // images per task, output rows per task, bands
    long tasks;
    int wp, rowsp;          // padded row width, padded rows per task
    size_t plane_p, img_p;  // padded plane and image of one task buffer
    const float *ap;        // packed A: k block b at ap + b * mpad * kcb
    const int *off;         // tap r reads the padded buffer at src + off[r]
    const float *bias;
    int whole;  // tasks must hold whole images (scatter passes)
} shift_plan;

// Copies rows [iy0, iy0 + rowsp) of channels [c0, c1) of images
// [i0, i0 + nimg), zero-padded to wp columns (pw on the left), to x.
static void pad_input(const shift_plan *pl, const float *in, int i0, int nimg,
                      int iy0, int c0, int c1, float *x) {
    const size_t plane = (size_t)pl->ih * pl->iw;
    if (pl->pw == 0 && iy0 == 0 && pl->rowsp == pl->ih) {
        // No padding and whole images: the buffer is the images verbatim.
        for (int j = 0; j < nimg; j++)
            memcpy(x + j * pl->img_p + c0 * plane,
                   in + ((size_t)(i0 + j) * pl->ci + c0) * plane,
                   sizeof(float) * (c1 - c0) * plane);
        return;
    }
    // Buffer rows [ya, yb) hold input rows, the rest are zero; the same in
    // every channel. While one channel is copied, the next one's rows are
    // prefetched: stride-2 convs over 56x56 and 64x64 images (case f
    // forward, j's input gradient), alternating with and without in one
    // process, 1.2-2.4% faster in six of seven runs, 0.5% slower in one.
    const int ya = iy0 < 0 ? -iy0 : 0;
    const int yb = pl->ih - iy0 < pl->rowsp ? pl->ih - iy0 : pl->rowsp;
    const size_t run = (size_t)(yb > ya ? yb - ya : 0) * pl->iw;
    const size_t skip = (size_t)(iy0 + ya) * pl->iw;
    for (int j = 0; j < nimg; j++) {
        for (int c = c0; c < c1; c++) {
            const float *src = in + ((size_t)(i0 + j) * pl->ci + c) * plane;
            float *dst = x + j * pl->img_p + c * pl->plane_p;
            const float *next =
                c + 1 < c1 ? src + plane
                : j + 1 < nimg
                    ? in + ((size_t)(i0 + j + 1) * pl->ci + c0) * plane
                    : NULL;
            if (next != NULL) ck_prefetch_floats(next + skip, run);
            for (int yy = 0; yy < pl->rowsp; yy++) {
                float *d = dst + (size_t)yy * pl->wp;
                if (yy < ya || yy >= yb) {
                    memset(d, 0, sizeof(float) * pl->wp);
                    continue;
                }
                for (int e = 0; e < pl->pw; e++) d[e] = 0.0f;
                ck_copy_floats(d + pl->pw, src + (size_t)(iy0 + yy) * pl->iw,
                               pl->iw);
                for (int e = pl->pw + pl->iw; e < pl->wp; e++) d[e] = 0.0f;
            }
        }
    }
}

// The runs of panel columns [p0, p0 + cols) of a task with rows output
// rows per image. Returns how many.
static int panel_segments(const shift_plan *pl, int rows, int p0, int cols,
                          shift_seg *seg) {
    int count = 0, p = p0, end = p0 + cols;
    const int per_img = rows * pl->ow;
    while (p < end) {
        int j = p / per_img, q = p % per_img;
        int oy = q / pl->ow, ox = q % pl->ow;
        int len = pl->ow - ox < end - p ? pl->ow - ox : end - p;
        seg[count].dst = p - p0;
        seg[count].src =
            (int)(j * pl->img_p) + oy * pl->sh * pl->wp + ox * pl->sw;
        seg[count].len = len;
        count++;
        p += len;
    }
    return count;
}

// Packs taps [r0, r0 + kc) of one panel: row r of the panel is nr floats.
// Each run is copied as a whole nr-float block; a later run overwrites the
// spill of an earlier one, and the spill of a row's last run lands in the
// next row before that row is written (the buffer has nr floats of slack).
// Columns past valid are zeroed. Inlined per nr so the block copies are
// fixed-size moves.
static inline __attribute__((always_inline)) void pack_panel_nr(
    const float *x, const int *off, int r0, int kc, const shift_seg *seg,
    int nseg, const int nr, int valid, float *out) {
    const size_t bytes = sizeof(float) * (size_t)nr;
    if (nseg == 1 && valid == nr) {
        const float *s = x + seg[0].src;
        for (int r = 0; r < kc; r++)
            memcpy(out + (size_t)r * nr, s + off[r0 + r], bytes);
        return;
    }
    for (int r = 0; r < kc; r++) {
        float *d = out + (size_t)r * nr;
        const float *s = x + off[r0 + r];
        for (int k = 0; k < nseg; k++)
            memcpy(d + seg[k].dst, s + seg[k].src, bytes);
        for (int c = valid; c < nr; c++) d[c] = 0.0f;
    }
}

// The same for a column stride sw > 1: run k reads s[src], s[src + sw],
// ... (the nr-float blocks read (nr - 1) * sw + 1 floats).
static inline __attribute__((always_inline)) void pack_panel_strided(
    const float *x, const int *off, int r0, int kc, const shift_seg *seg,
    int nseg, int nr, int sw, int valid, float *out) {
    for (int r = 0; r < kc; r++) {
        float *d = out + (size_t)r * nr;
        const float *s = x + off[r0 + r];
        for (int k = 0; k < nseg; k++) {
            const float *from = s + seg[k].src;
            float *to = d + seg[k].dst;
            for (int e = 0; e < nr; e++) to[e] = from[e * sw];
        }
        for (int c = valid; c < nr; c++) d[c] = 0.0f;
    }
}

#if defined(__x86_64__) || defined(__i386__)

// The same with 256-bit moves: half the instructions of the baseline's
// 128-bit ones for the usual 16-column panels.
__attribute__((target("avx2"))) static void pack_panel16_avx2(
    const float *x, const int *off, int r0, int kc, const shift_seg *seg,
    int nseg, int valid, float *out) {
    pack_panel_nr(x, off, r0, kc, seg, nseg, 16, valid, out);
}

// The even floats of s[0, 16), in order.
#define CK_EVENS16(s)                                                         \
    _mm256_castpd_ps(                                                         \
        _mm256_permute4x64_pd(_mm256_castps_pd(                               \
                                  _mm256_shuffle_ps(_mm256_loadu_ps(s),       \
                                                    _mm256_loadu_ps((s) + 8), \
                                                    0x88)),                   \
                              0xD8))

// Stride 2, 16 columns: each block is the even floats of 32.
__attribute__((target("avx2"))) static void pack_panel16_s2_avx2(
    const float *x, const int *off, int r0, int kc, const shift_seg *seg,
    int nseg, int valid, float *out) {
    for (int r = 0; r < kc; r++) {
        float *d = out + (size_t)r * 16;
        const float *s = x + off[r0 + r];
        for (int k = 0; k < nseg; k++) {
            const float *from = s + seg[k].src;
            _mm256_storeu_ps(d + seg[k].dst, CK_EVENS16(from));
            _mm256_storeu_ps(d + seg[k].dst + 8, CK_EVENS16(from + 16));
        }
        for (int c = valid; c < 16; c++) d[c] = 0.0f;
    }
}
#endif

static void pack_panel(const ck_gemm_arch *ar, int sw, const float *x,
                       const int *off, int r0, int kc, const shift_seg *seg,
                       int nseg, int valid, float *out) {
    if (sw > 1) {
#if defined(__x86_64__) || defined(__i386__)
        if (sw == 2 && ar->nr == 16 && ar->isa >= CK_ISA_AVX2) {
            pack_panel16_s2_avx2(x, off, r0, kc, seg, nseg, valid, out);
            return;
        }
#endif
        pack_panel_strided(x, off, r0, kc, seg, nseg, ar->nr, sw, valid, out);
        return;
    }
    switch (ar->nr) {
#if defined(__x86_64__) || defined(__i386__)
    case 16:
        if (ar->isa >= CK_ISA_AVX2) {
            pack_panel16_avx2(x, off, r0, kc, seg, nseg, valid, out);
            break;
        }
        pack_panel_nr(x, off, r0, kc, seg, nseg, 16, valid, out);
        break;
#endif
    case 8: pack_panel_nr(x, off, r0, kc, seg, nseg, 8, valid, out); break;
    case 32: pack_panel_nr(x, off, r0, kc, seg, nseg, 32, valid, out); break;
    default: pack_panel_nr(x, off, r0, kc, seg, nseg, ar->nr, valid, out);
    }
}

// Task t's images [i0, i0 + nimg) and output rows [oy0, oy1).
static void task_span(const shift_plan *pl, long t, int *i0, int *nimg,
                      int *oy0, int *oy1) {
    if (pl->bands > 1) {
        *i0 = (int)(t / pl->bands);
        *nimg = 1;
        *oy0 = (int)(t % pl->bands) * pl->band;
        *oy1 = *oy0 + pl->band < pl->oh ? *oy0 + pl->band : pl->oh;
    } else {
        *i0 = (int)t * pl->nb;
        *nimg = pl->n - *i0 < pl->nb ? pl->n - *i0 : pl->nb;
        *oy0 = 0;
        *oy1 = pl->oh;
    }
}

// One task: images [i0, i0 + nimg), output rows [oy0, oy1).
static void shift_task(const shift_plan *pl, const float *in, long t,
                       float *out) {
    const ck_gemm_arch *ar = pl->ar;
    const int nr = ar->nr;
    int i0, nimg, oy0, oy1;
    task_span(pl, t, &i0, &nimg, &oy0, &oy1);
    const int rows = oy1 - oy0;
    const int npos = nimg * rows * pl->ow;
    const int panels = ck_ceil_div(npos, nr);
    // C rows a multiple of 1 KiB apart would share cache sets: skew them.
    const int ldc = panels * nr + ((panels * nr) % 256 == 0 ? nr : 0);

    // The padded input rows this task reads, plus nr * sw floats of slack
    // for the whole-block copies of pack_panel (zeroed: never read as
    // values that matter, but kept finite).
    size_t xsize = (size_t)nimg * pl->img_p;
    const size_t slack = (size_t)nr * pl->sw;
    float *x = ck_ws_floats(CK_WS_COLS, xsize + slack);
    pad_input(pl, in, i0, nimg, oy0 * pl->sh - pl->ph, 0, pl->ci, x);
    memset(x + xsize, 0, sizeof(float) * slack);

    // The product goes to a block of m rows of ldc, then out image by image.
    // (Writing tiles straight into out, channels a plane apart, measured
    // slower: a power-of-two plane puts a tile's rows in one cache set.)
    const size_t run = (size_t)rows * pl->ow;
    const size_t oplane = (size_t)pl->oh * pl->ow;
    float *c = ck_ws_floats(CK_WS_BATCH, (size_t)pl->m * ldc);

    float *bp = ck_ws_floats(CK_WS_PACK_B, (size_t)pl->kcb * nr + nr);
    shift_seg seg[64];  // a panel has at most nr <= 32 runs
    for (int pc = 0, b = 0; pc < pl->kdim; pc += pl->kcb, b++) {
        const int kc = ck_imin(pl->kcb, pl->kdim - pc);
        const float *ab = pl->ap + (size_t)b * pl->mpad * pl->kcb;
        const float beta = pc == 0 ? 0.0f : 1.0f;
        const ck_b_source bs = {bp, NULL, 0};
        for (int q = 0; q < panels; q++) {
            int p0 = q * nr;
            int valid = ck_imin(nr, npos - p0);
            int nseg = panel_segments(pl, rows, p0, valid, seg);
            pack_panel(ar, pl->sw, x, pl->off, pc, kc, seg, nseg, valid, bp);
            ck_gemm_macro(ar, pl->m, valid, kc, 1.0f, ab, &bs, beta, c + p0,
                          ldc);
        }
    }

    for (int j = 0; j < nimg; j++) {
        for (int m = 0; m < pl->m; m++) {
            float *dst = out + ((size_t)(i0 + j) * pl->m + m) * oplane +
                         (size_t)oy0 * pl->ow;
            const float *src = c + (size_t)m * ldc + j * run;
            if (pl->bias) {
                float bv = pl->bias[m];
                for (size_t e = 0; e < run; e++) dst[e] = src[e] + bv;
            } else {
                memcpy(dst, src, sizeof(float) * run);
            }
        }
    }
}

// Fills in the plan's sizes, task split, tap offsets and (if a is not
// NULL) packed A, where a is m rows of kdim floats (row-major).
static void shift_setup(shift_plan *pl, const float *a) {
    const ck_gemm_arch *ar = pl->ar;
    pl->kdim = pl->ci * pl->kh * pl->kw;
    pl->kcb = ck_ceil_div(pl->kdim, ck_ceil_div(pl->kdim, SHIFT_KC));
    pl->mpad = ck_round_up(pl->m, ar->mr);
    pl->wp = pl->iw + 2 * pl->pw;

    // Tasks: blocks of whole small images, or bands of rows of large ones;
    // both evened out so the last task is not a sliver. Shape-only, so the
    // split never depends on the thread count.
    const int per_img = pl->oh * pl->ow;
    if (per_img <= SHIFT_TASK_POS || pl->whole) {
        int want = SHIFT_TASK_POS / per_img;
        // ... and by the padded images' size, for many channels of tiny
        // images.
        long img = ((long)(pl->oh - 1) * pl->sh + (pl->kh - 1) * pl->dh + 1) *
                   pl->wp * pl->ci;
        if (want > SHIFT_TASK_FLOATS / img)
            want = (int)(SHIFT_TASK_FLOATS / img);
        // ... and so that a batch makes a few tasks to share among threads
        // (a shape-only rule, so results never depend on the thread count).
        if (want > ck_ceil_div(pl->n, SHIFT_MIN_TASKS))
            want = ck_ceil_div(pl->n, SHIFT_MIN_TASKS);
        if (want < 1) want = 1;
        int ntask = ck_ceil_div(pl->n, want);
        pl->nb = ck_ceil_div(pl->n, ntask);
        pl->band = pl->oh;
        pl->bands = 1;
        pl->tasks = ntask;
    } else {
        int want = SHIFT_TASK_POS / pl->ow;
        if (want < 1) want = 1;
        int nbands = ck_ceil_div(pl->oh, want);
        pl->band = ck_ceil_div(pl->oh, nbands);
        pl->bands = ck_ceil_div(pl->oh, pl->band);
        pl->nb = 1;
        pl->tasks = (long)pl->n * pl->bands;
    }
    pl->rowsp = (pl->band - 1) * pl->sh + (pl->kh - 1) * pl->dh + 1;
    pl->plane_p = (size_t)pl->rowsp * pl->wp;
    pl->img_p = pl->plane_p * pl->ci;

    // Shared, read-only inside the parallel region: the packed weights (k
    // block by k block) and the tap offsets.
    if (a) {
        const int nkb = ck_ceil_div(pl->kdim, pl->kcb);
        float *ap =
            ck_ws_floats(CK_WS_PARTIAL, (size_t)nkb * pl->mpad * pl->kcb);
        for (int pc = 0, b = 0; pc < pl->kdim; pc += pl->kcb, b++)
            ck_pack_a(ar, 0, a, pl->kdim, 0, pl->m, pc,
                      ck_imin(pl->kcb, pl->kdim - pc),
                      ap + (size_t)b * pl->mpad * pl->kcb);
        pl->ap = ap;
    }
    int *off = (int *)ck_ws_floats(CK_WS_SHIFT, (size_t)pl->kdim);
    for (int c = 0, r = 0; c < pl->ci; c++)
        for (int ky = 0; ky < pl->kh; ky++)
            for (int kx = 0; kx < pl->kw; kx++, r++)
                off[r] = (int)(c * pl->plane_p) + ky * pl->dh * pl->wp +
                         kx * pl->dw;
    pl->off = off;
}

// Threads for a call of fmas multiply-adds split into units independent
// pieces: one for small calls, never more than the pieces.
static int shift_threads(double fmas, long units) {
    int nt = fmas < SHIFT_SERIAL_FMAS ? 1 : ck_team_threads();
    return nt > units ? (int)units : nt;
}

// Runs the plan: out = A x lowered(in) (+ bias).
static void shift_run(shift_plan *pl, const float *a, const float *in,
                      float *out) {
    shift_setup(pl, a);
    const int per_img = pl->oh * pl->ow;
    double fmas = (double)pl->n * per_img * pl->m * pl->kdim;
    int nt = shift_threads(fmas, pl->tasks);
    (void)nt;  // unused without OpenMP
    const shift_plan *cp = pl;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < cp->tasks; t++) shift_task(cp, in, t, out);
}

// The plan of a conv seen from its input: in [n, ci, ih, iw] to out
// [n, co, oh, ow], for the current ISA.
static shift_plan plan_of(const ck_conv_geom *cg, const float *bias) {
    const ck_lower_geom *g = &cg->g;
    shift_plan pl = {0};
    pl.ar = ck_gemm_arch_for(ck_isa_current());
    pl.n = cg->n;
    pl.ci = cg->ci;
    pl.m = cg->co;
    pl.ih = g->ih;
    pl.iw = g->iw;
    pl.oh = g->oh;
    pl.ow = g->ow;
    pl.kh = g->kh;
    pl.kw = g->kw;
    pl.ph = g->ph;
    pl.pw = g->pw;
    pl.dh = g->dh;
    pl.dw = g->dw;
    pl.sh = g->sh;
    pl.sw = g->sw;
    pl.bias = bias;
    return pl;
}

// A one-row task buffer must be indexable by int offsets.
static int shift_fits(int ci, int iw, int pw, int kh, int dh) {
    long rows = 1 + (long)(kh - 1) * dh;
    return rows * (iw + 2L * pw) * ci < (1L << 28);
}

int ck_conv_shift_applies(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
#ifdef CK_SHIFT_DISABLED  // build switch for A/B timing against im2col
    return 0;
#endif
    if (!shift_fits(cg->ci, g->iw, g->pw, g->kh, g->dh)) return 0;
    // Strides 1 and 2 (stride 2 packs the even columns of twice as many).
    if (cg->groups != 1 || g->sh > 2 || g->sw > 2) return 0;
    if ((long)cg->ci * g->kh * g->kw <= CK_SMALL_K) return 0;
    // 1x1 without padding reads the input in place already.
    if (g->kh == 1 && g->kw == 1 && g->ph == 0 && g->pw == 0) return 0;
    return 1;
}

void ck_conv_shift_forward(const ck_conv_geom *cg, const float *x,
                           const float *w, const float *bias, float *y) {
    shift_plan pl = plan_of(cg, bias);
    shift_run(&pl, w, x, y);
}

int ck_conv_shift_data_applies(const ck_conv_geom *cg) {
    const ck_lower_geom *g = &cg->g;
#ifdef CK_SHIFT_DISABLED
    return 0;
#endif
    if (cg->groups != 1 || g->sh != 1 || g->sw != 1) return 0;
    if ((long)cg->co * g->kh * g->kw <= CK_SMALL_K) return 0;
    if (g->kh == 1 && g->kw == 1 && g->ph == 0 && g->pw == 0) return 0;
    if (!shift_fits(cg->co, g->ow, g->dw * (g->kw - 1) - g->pw, g->kh, g->dh))
        return 0;
    // The data gradient pads dy by dilation*(kernel-1) - padding.
    if (g->ph > g->dh * (g->kh - 1) || g->pw > g->dw * (g->kw - 1)) return 0;
    // and then multiplies every tap at every input pixel, padding included:
    // ih*iw / (oh*ow) times the conv's work. Past 1.15x (a valid conv on a
    // small image: 13x13 from 11x11 is 1.4x) col2im wastes less.
    return (double)g->ih * g->iw <= SHIFT_DATA_WASTE * g->oh * g->ow;
}

// dx = the full correlation of dy with the flipped, transposed weights:
// a stride-1 conv from co to ci channels padded by d*(k-1) - p.
void ck_conv_shift_backward_data(const ck_conv_geom *cg, const float *dy,
                                 const float *w, const float *bias,
                                 float *dx) {
    const ck_lower_geom *g = &cg->g;
    const int kk = g->kh * g->kw;
    // wt[c][k][ky][kx] = w[k][c][kh-1-ky][kw-1-kx]
    float *wt = ck_ws_floats(CK_WS_AUX, (size_t)cg->ci * cg->co * kk);
    for (int c = 0; c < cg->ci; c++)
        for (int k = 0; k < cg->co; k++)
            for (int t = 0; t < kk; t++)
                wt[((size_t)c * cg->co + k) * kk + t] =
                    w[((size_t)k * cg->ci + c) * kk + (kk - 1 - t)];
    // The conv's plan with input and output swapped (stride 1).
    shift_plan pl = plan_of(cg, bias);
    pl.ci = cg->co;
    pl.m = cg->ci;
    pl.ih = g->oh;
    pl.iw = g->ow;
    pl.oh = g->ih;
    pl.ow = g->iw;
    pl.ph = g->dh * (g->kh - 1) - g->ph;
    pl.pw = g->dw * (g->kw - 1) - g->pw;
    shift_run(&pl, wt, dy, dx);
}

// ---------------------------------------------------------------------------
// Data gradient by scatter: for valid convs on small images, where the
// flipped conv would multiply mostly padding. Each panel of nr dy positions
// is multiplied by every row of W^T (the im2col rows of those positions,
// kept in an L1 tile) and added straight into a zero-padded dx of the task:
// col2im fused into the product, no column matrix in memory. Tasks hold
// whole images, so no two tasks add to the same pixel, and each pixel sums
// its terms in panel and tap order whatever the thread count.
// ---------------------------------------------------------------------------

// The tile of one panel: the product rows (taps) of nr positions, row r at
// tile + TILE_PAD + r * ld. With ld = nr + 2 * TILE_PAD and zeroed margins,
// a tap's contribution shifted by kx*dw columns is one unaligned load.
#define TILE_PAD 8

#if defined(__x86_64__) || defined(__i386__)
// xp[off[r] + e] += tile row r [e] for every tap r and e < 16, a (c, ky)
// row of kw taps at a time: the taps of a row overlap (shifted by dw), so
// they are summed in registers over the row's window (16 + (kw-1)*dw <= 24
// floats) and dx is loaded and stored once per row; rows are visited ky
// major so consecutive windows lie in different planes (no store-to-load
// stalls on partially overlapping windows).
__attribute__((target("avx2"))) static void scatter_tile16_avx2(
    const shift_plan *pl, const float *tile, int ld, float *xp) {
    const int kh = pl->kh, kw = pl->kw, dw = pl->dw;
    for (int ky = 0; ky < kh; ky++)
        for (int c = 0; c < pl->ci; c++) {
            const int r0 = (c * kh + ky) * kw;
            float *to = xp + pl->off[r0];
            __m256 a0 = _mm256_loadu_ps(to);
            __m256 a1 = _mm256_loadu_ps(to + 8);
            __m256 a2 = _mm256_loadu_ps(to + 16);
            for (int kx = 0; kx < kw; kx++) {
                const float *t =
                    tile + TILE_PAD + (size_t)(r0 + kx) * ld - kx * dw;
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(t));
                a1 = _mm256_add_ps(a1, _mm256_loadu_ps(t + 8));
                a2 = _mm256_add_ps(a2, _mm256_loadu_ps(t + 16));
            }
            _mm256_storeu_ps(to, a0);
            _mm256_storeu_ps(to + 8, a1);
            _mm256_storeu_ps(to + 16, a2);
        }
}
#endif

// xp[off[r] + e] += tile row r [e] for every tap r and column e < nr.
static void scatter_tile(const shift_plan *pl, const float *tile, int ld,
                         float *xp) {
#if defined(__x86_64__) || defined(__i386__)
    // The register-window version serves 16-column panels of kernel rows
    // that span at most TILE_PAD extra columns.
    if (pl->ar->nr == 16 && pl->ar->isa >= CK_ISA_AVX2 &&
        (pl->kw - 1) * pl->dw <= TILE_PAD) {
        scatter_tile16_avx2(pl, tile, ld, xp);
        return;
    }
#endif
    const int nr = pl->ar->nr;
    for (int r = 0; r < pl->kdim; r++) {
        float *to = xp + pl->off[r];
        const float *from = tile + TILE_PAD + (size_t)r * ld;
        for (int e = 0; e < nr; e++) to[e] += from[e];
    }
}

// dy positions are taken on rows as wide as padded dx (wp = ow + (kw-1)*dw),
// the extra columns zero: then tap (ky, kx) moves a whole panel of
// positions to consecutive dx pixels, and a tile row is added with plain
// vector adds. The zero columns cost (wp / ow - 1) extra work; the adds of
// their zero products past a row land in padding or the next row,
// harmlessly.
static void raise_task(const shift_plan *pl, const float *dy, long t, int kb,
                       float *dx) {
    const ck_gemm_arch *ar = pl->ar;
    const int mr = ar->mr, nr = ar->nr;
    int i0, nimg, oy0, oy1;  // whole images: rows [0, oh)
    task_span(pl, t, &i0, &nimg, &oy0, &oy1);
    const int wp = pl->wp, m = pl->m;
    const int per_img = pl->oh * wp;  // positions of one image
    const int panels = ck_ceil_div(per_img, nr);

    // The task's dy on wp-wide rows (plus slack for whole-panel copies),
    // and its padded dx (plus slack for the adds past the last row).
    const size_t dimg = (size_t)m * per_img;
    float *d = ck_ws_floats(CK_WS_BATCH, nimg * dimg + nr);
    for (int j = 0; j < nimg; j++)
        for (int k = 0; k < m; k++)
            for (int y = 0; y < pl->oh; y++) {
                float *row =
                    d + j * dimg + (size_t)k * per_img + (size_t)y * wp;
                ck_copy_floats(row,
                               dy + (((size_t)(i0 + j) * m + k) * pl->oh + y) *
                                        pl->ow,
                               pl->ow);
                for (int x = pl->ow; x < wp; x++) row[x] = 0.0f;
            }
    memset(d + nimg * dimg, 0, sizeof(float) * nr);
    const size_t xsize = (size_t)nimg * pl->img_p + nr + 2 * TILE_PAD + wp;
    float *xp = ck_ws_floats(CK_WS_COLS, xsize);
    memset(xp, 0, sizeof(float) * xsize);
    int *koff = (int *)ck_ws_floats(CK_WS_PACK_A, (size_t)m);
    for (int k = 0; k < m; k++) koff[k] = k * per_img;
    float *bp = ck_ws_floats(CK_WS_PACK_B, (size_t)kb * nr + nr);
    // Tile rows with zeroed margins (see TILE_PAD); the kernel writes only
    // the middle nr floats of each.
    const int tld = nr + 2 * TILE_PAD;
    float *tile = ck_ws_floats(CK_WS_AUX, (size_t)pl->mpad * tld + TILE_PAD);
    memset(tile, 0, sizeof(float) * ((size_t)pl->mpad * tld + TILE_PAD));

    for (int j = 0; j < nimg; j++) {
        float *xj = xp + j * pl->img_p;
        for (int q = 0; q < panels; q++) {
            const int p0 = q * nr;
            shift_seg seg = {0, (int)(j * dimg) + p0, 0};
            const int valid = ck_imin(nr, per_img - p0);
            for (int pc = 0, b = 0; pc < m; pc += kb, b++) {
                const int kc = ck_imin(kb, m - pc);
                const float *ab = pl->ap + (size_t)b * pl->mpad * kb;
                pack_panel(ar, 1, d, koff, pc, kc, &seg, 1, valid, bp);
                for (int i = 0; i < pl->mpad; i += mr)
                    ar->kernel(kc, ab + (size_t)i * kc, bp, nr,
                               tile + TILE_PAD + (size_t)i * tld, tld, 1.0f,
                               pc == 0 ? 0.0f : 1.0f);
            }
            scatter_tile(pl, tile, tld, xj + p0);
        }
    }

    // Crop the padding (+ bias).
    const size_t plane = (size_t)pl->ih * pl->iw;
    for (int j = 0; j < nimg; j++)
        for (int c = 0; c < pl->ci; c++) {
            const float *src = xp + j * pl->img_p + c * pl->plane_p +
                               (size_t)pl->ph * wp + pl->pw;
            float *dst = dx + ((size_t)(i0 + j) * pl->ci + c) * plane;
            const float bv = pl->bias ? pl->bias[c] : 0.0f;
            for (int y = 0; y < pl->ih; y++)
                for (int x = 0; x < pl->iw; x++)
                    dst[(size_t)y * pl->iw + x] = src[(size_t)y * wp + x] + bv;
        }
}

int ck_conv_shift_raise_applies(const ck_conv_geom *cg) {
    if (cg->g.sh != 1 || cg->g.sw != 1) return 0;
    return ck_conv_shift_applies(cg) && !ck_conv_shift_data_applies(cg);
}

void ck_conv_shift_raise(const ck_conv_geom *cg, const float *dy,
                         const float *w, const float *bias, float *dx) {
    shift_plan pl = plan_of(cg, bias);  // stride 1 (raise_applies)
    const ck_gemm_arch *ar = pl.ar;
    pl.whole = 1;
    shift_setup(&pl, NULL);
    pl.mpad = ck_round_up(pl.kdim, ar->mr);
    // A = W^T (kdim x co), packed k block by k block (k = dy channels).
    const int kb = ck_ceil_div(pl.m, ck_ceil_div(pl.m, SHIFT_KC));
    const int nkb = ck_ceil_div(pl.m, kb);
    float *ap = ck_ws_floats(CK_WS_PARTIAL, (size_t)nkb * pl.mpad * kb);
    for (int pc = 0, b = 0; pc < pl.m; pc += kb, b++)
        ck_pack_a(ar, 1, w, pl.kdim, 0, pl.kdim, pc, ck_imin(kb, pl.m - pc),
                  ap + (size_t)b * pl.mpad * kb);
    pl.ap = ap;

    double fmas = (double)pl.n * pl.oh * pl.ow * pl.m * pl.kdim;
    int nt = shift_threads(fmas, pl.tasks);
    (void)nt;  // unused without OpenMP
    const shift_plan *cp = &pl;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long t = 0; t < cp->tasks; t++) raise_task(cp, dy, t, kb, dx);
}

// ---------------------------------------------------------------------------
// Weight gradient: dW^T (taps x m) = lowered (taps x positions) x dy^T
// (positions x m), task by task. The lowered rows of a block of positions
// are built from the padded input with run copies (an im2col of one
// L2-sized block), then packed; dy's rows are gathered once per task.
// Tasks are grouped into a fixed number of chunks of consecutive tasks;
// each chunk accumulates its own partial in a fixed order and the partials
// are added in chunk order, so the result does not depend on the threads.
// ---------------------------------------------------------------------------

// Positions per k block and taps per lowered block.
#define SHIFT_WKC 256
#define SHIFT_WMC 144
// Chunks of tasks (partials) of one weight gradient.
#define SHIFT_WCHUNKS 8
// Weight gradients above this many floats are split by rows of taps.
#define SHIFT_WROWS_FLOATS (1L << 17)

// d[0, len) = s[0, len) in 8-float blocks; a run shorter than 8 spills up
// to 7 floats past its end (the caller writes those after, or has slack).
static inline __attribute__((always_inline)) void copy_run(float *d,
                                                           const float *s,
                                                           int len, int sw) {
    (void)sw;
    if (len < 8) {
        memcpy(d, s, 8 * sizeof(float));
        return;
    }
    int k = 0;
    for (; k + 8 <= len; k += 8) memcpy(d + k, s + k, 8 * sizeof(float));
    if (k < len) memcpy(d + len - 8, s + len - 8, 8 * sizeof(float));
}

// d[0, len) = s[0], s[sw], ... exactly (no spill).
static inline __attribute__((always_inline)) void copy_run_strided(
    float *d, const float *s, int len, int sw) {
    for (int e = 0; e < len; e++) d[e] = s[e * sw];
}

typedef void (*run_copy_fn)(float *d, const float *s, int len, int sw);

// Rows [r0, r1) of the lowered block: row r holds x[src + off[r]] for the
// positions of segs, kc floats per row (ld apart, ld >= kc + 8), each run
// copied by copy (a constant, inlined).
static inline __attribute__((always_inline)) void lower_rows_with(
    const float *x, const int *off, int r0, int r1, const shift_seg *seg,
    int nseg, int sw, float *out, int ld, run_copy_fn copy) {
    for (int r = r0; r < r1; r++) {
        float *d = out + (size_t)(r - r0) * ld;
        const float *s = x + off[r];
        for (int k = 0; k < nseg; k++)
            copy(d + seg[k].dst, s + seg[k].src, seg[k].len, sw);
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void lower_rows_avx2(
    const float *x, const int *off, int r0, int r1, const shift_seg *seg,
    int nseg, float *out, int ld) {
    lower_rows_with(x, off, r0, r1, seg, nseg, 1, out, ld, copy_run);
}

// Stride 2: blocks of 8 outputs from the even floats of 16 (a last partial
// block moved back to end at the run's end; a run shorter than 8 spills).
__attribute__((target("avx2"))) static inline
    __attribute__((always_inline)) void
    copy_run_s2_avx2(float *to, const float *from, int len, int sw) {
    (void)sw;
    if (len < 8) {
        _mm256_storeu_ps(to, CK_EVENS16(from));
        return;
    }
    int e = 0;
    for (; e + 8 <= len; e += 8)
        _mm256_storeu_ps(to + e, CK_EVENS16(from + 2 * e));
    if (e < len)
        _mm256_storeu_ps(to + len - 8, CK_EVENS16(from + 2 * (len - 8)));
}

__attribute__((target("avx2"))) static void lower_rows_s2_avx2(
    const float *x, const int *off, int r0, int r1, const shift_seg *seg,
    int nseg, float *out, int ld) {
    lower_rows_with(x, off, r0, r1, seg, nseg, 2, out, ld, copy_run_s2_avx2);
}
#endif

static void lower_rows(const ck_gemm_arch *ar, int sw, const float *x,
                       const int *off, int r0, int r1, const shift_seg *seg,
                       int nseg, float *out, int ld) {
#if defined(__x86_64__) || defined(__i386__)
    if (ar->isa >= CK_ISA_AVX2 && sw <= 2) {
        if (sw == 2)
            lower_rows_s2_avx2(x, off, r0, r1, seg, nseg, out, ld);
        else
            lower_rows_avx2(x, off, r0, r1, seg, nseg, out, ld);
        return;
    }
#endif
    (void)ar;
    if (sw > 1)
        lower_rows_with(x, off, r0, r1, seg, nseg, sw, out, ld,
                        copy_run_strided);
    else
        lower_rows_with(x, off, r0, r1, seg, nseg, 1, out, ld, copy_run);
}

// Adds task t's contribution to part (kdim x m, row-major); beta 0 on the
// first task of a chunk.
static void weight_task(const shift_plan *pl, const float *in, const float *dy,
                        long t, float beta, int r_lo, int r_hi, float *part) {
    const ck_gemm_arch *ar = pl->ar;
    int i0, nimg, oy0, oy1;
    task_span(pl, t, &i0, &nimg, &oy0, &oy1);
    const int rows = oy1 - oy0;
    const int npos = nimg * rows * pl->ow;

    size_t xsize = (size_t)nimg * pl->img_p;
    const size_t slack = (size_t)16 * pl->sw;  // copy_run's 8-float blocks
    float *x = ck_ws_floats(CK_WS_COLS, xsize + slack);
    // Only the channels of taps [r_lo, r_hi) are read (the rest of the
    // buffer is left as it is: block copies may read it, but what they
    // copy from there lands past the columns that are packed).
    const int kk = pl->kh * pl->kw;
    pad_input(pl, in, i0, nimg, oy0 * pl->sh - pl->ph, r_lo / kk,
              ck_ceil_div(r_hi, kk), x);
    memset(x + xsize, 0, sizeof(float) * slack);

    // dy of the task's positions: m rows of npos, ldd apart (read in place
    // for one image, gathered for several).
    const size_t run = (size_t)rows * pl->ow;
    const size_t oplane = (size_t)pl->oh * pl->ow;
    const float *d = dy + (size_t)i0 * pl->m * oplane + (size_t)oy0 * pl->ow;
    size_t ldd = oplane;
    if (nimg > 1) {
        float *g = ck_ws_floats(CK_WS_BATCH, (size_t)pl->m * npos);
        for (int j = 0; j < nimg; j++)
            for (int m = 0; m < pl->m; m++)
                memcpy(g + (size_t)m * npos + j * run,
                       dy + ((size_t)(i0 + j) * pl->m + m) * oplane +
                           (size_t)oy0 * pl->ow,
                       sizeof(float) * run);
        d = g;
        ldd = (size_t)npos;
    }

    const int ld = SHIFT_WKC + 8;
    float *low = ck_ws_floats(CK_WS_AUX, (size_t)SHIFT_WMC * ld + 8);
    float *ap = ck_ws_floats(CK_WS_PACK_A, (size_t)SHIFT_WMC * SHIFT_WKC);
    float *bp = ck_ws_floats(CK_WS_PACK_B,
                             (size_t)ck_round_up(pl->m, ar->nr) * SHIFT_WKC);
    shift_seg seg[SHIFT_WKC];
    const int nkb = ck_ceil_div(npos, SHIFT_WKC);
    const int kcb = ck_ceil_div(npos, nkb);
    for (int k0 = 0; k0 < npos; k0 += kcb) {
        const int kc = ck_imin(kcb, npos - k0);
        const float bk = k0 == 0 ? beta : 1.0f;
        ck_pack_b(ar, 1, d, (ptrdiff_t)ldd, k0, kc, 0, pl->m, bp);
        int nseg = panel_segments(pl, rows, k0, kc, seg);
        ck_b_source bs = {bp, NULL, 0};
        for (int r0 = r_lo; r0 < r_hi; r0 += SHIFT_WMC) {
            const int r1 = ck_imin(r0 + SHIFT_WMC, r_hi);
            lower_rows(ar, pl->sw, x, pl->off, r0, r1, seg, nseg, low, ld);
            ck_pack_a(ar, 0, low, ld, 0, r1 - r0, 0, kc, ap);
            ck_gemm_macro(ar, r1 - r0, pl->m, kc, 1.0f, ap, &bs, bk,
                          part + (size_t)r0 * pl->m, pl->m);
        }
    }
}

int ck_conv_shift_weight_applies(const ck_conv_geom *cg) {
    return ck_conv_shift_applies(cg);
}

void ck_conv_shift_weight_grad(const ck_conv_geom *cg, const float *x,
                               const float *dy, float *dw) {
    shift_plan pl = plan_of(cg, NULL);
    shift_setup(&pl, NULL);

    const int kdim = pl.kdim, m = pl.m;
    const size_t wsize = (size_t)kdim * m;
    // A large gradient (many channels, typically on small images) is split
    // by rows of taps instead: each slice runs over every position into
    // one L2-sized block, no partials to add. Chosen by shape alone.
    const int by_rows = wsize > SHIFT_WROWS_FLOATS;
    const long row_blocks = ck_ceil_div(kdim, SHIFT_WMC);
    const long chunks = by_rows                    ? 1
                        : pl.tasks < SHIFT_WCHUNKS ? pl.tasks
                                                   : SHIFT_WCHUNKS;
    const long units = by_rows ? row_blocks : chunks;
    float *part = ck_ws_floats(CK_WS_PARTIAL, chunks * wsize);
    double fmas = (double)pl.n * pl.oh * pl.ow * m * kdim;
    int nt = shift_threads(fmas, units);
    (void)nt;  // unused without OpenMP
    const shift_plan *cp = &pl;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (long u = 0; u < units; u++) {
            if (by_rows) {
                const int r0 = (int)u * SHIFT_WMC;
                const int r1 = ck_imin(r0 + SHIFT_WMC, kdim);
                for (long t = 0; t < cp->tasks; t++)
                    weight_task(cp, x, dy, t, t == 0 ? 0.0f : 1.0f, r0, r1,
                                part);
                continue;
            }
            long t0 = cp->tasks * u / chunks,
                 t1 = cp->tasks * (u + 1) / chunks;
            for (long t = t0; t < t1; t++)
                weight_task(cp, x, dy, t, t == t0 ? 0.0f : 1.0f, 0, kdim,
                            part + u * wsize);
        }
        // dw[o][r] = sum over chunks of part[c][r][o], in chunk order; 16
        // outputs o at a time, so the partials are read a row at a time and
        // the 16 rows of dw being written stay in cache.
#pragma omp for schedule(static)
        for (int o0 = 0; o0 < m; o0 += 16) {
            const int o1 = o0 + 16 < m ? o0 + 16 : m;
            for (int r = 0; r < kdim; r++) {
                float acc[16];
                const float *p0 = part + (size_t)r * m;
                for (int o = o0; o < o1; o++) acc[o - o0] = p0[o];
                for (long c = 1; c < chunks; c++) {
                    const float *pc = p0 + c * wsize;
                    for (int o = o0; o < o1; o++) acc[o - o0] += pc[o];
                }
                for (int o = o0; o < o1; o++)
                    dw[(size_t)o * kdim + r] = acc[o - o0];
            }
        }
    }
}
