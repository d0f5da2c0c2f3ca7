// SGEMM, BLIS/GotoBLAS style: op(B) is packed into kc x nc blocks of
// nr-column panels, op(A) into mc x kc blocks of mr-row panels, and a
// register-tiled micro-kernel (chosen at run time per ISA) computes each
// mr x nr tile of C.
//
// Threads split C into a tm x tn grid of sub-blocks; each thread runs the
// whole blocked loop nest on its own sub-block with its own packing
// buffers. K is never split and the k blocking depends only on k and the
// ISA, so every element of C sees the same sum order at any thread count.
#include "ckernels.h"
#include "gemm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
int omp_get_thread_num(void);
int omp_get_num_threads(void);
#endif

//                                        mr  nr   mc   kc    nc
static const ck_gemm_arch arch_generic = {6, 8, 120, 256, 4096,
                                          ck_ukernel_generic, CK_ISA_GENERIC};
#if defined(__x86_64__) || defined(__i386__)
static const ck_gemm_arch arch_avx2 = {6, 16, 144, 256, 4096,
                                       ck_ukernel_avx2, CK_ISA_AVX2};
static const ck_gemm_arch arch_avx512 = {6, 32, 144, 384, 4096,
                                         ck_ukernel_avx512, CK_ISA_AVX512};
#endif

const ck_gemm_arch *ck_gemm_arch_for(int isa) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == CK_ISA_AVX512) return &arch_avx512;
    if (isa == CK_ISA_AVX2) return &arch_avx2;
#endif
    (void)isa;
    return &arch_generic;
}

// Largest mr * nr over all kernels (for the edge scratch tile).
#define MAX_TILE (16 * 32)
// Row-split with a shared B when every thread gets at least this many rows.
#define SHARED_B_MIN_ROWS 48
// How many B panels ahead the unpacked-B path prefetches.
#define PREFETCH_PANELS 4
// Below this many multiply-adds per thread, forking costs more than it buys.
#define MIN_FMAS_PER_THREAD (1 << 19)

// ---------------------------------------------------------------------------
// Per-thread packing buffers: grow to the largest request, kept across
// calls (OpenMP keeps its worker threads alive), 64-byte aligned.
// ---------------------------------------------------------------------------
typedef struct {
    float *p;
    size_t cap;
} pack_buf;

static _Thread_local pack_buf tl_pack_a, tl_pack_b, tl_shared_b;

static float *pack_buf_get(pack_buf *b, size_t floats) {
    if (floats > b->cap) {
        free(b->p);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        b->p = aligned_alloc(64, bytes);
        if (b->p == NULL) {
            fprintf(stderr, "ck_sgemm: cannot allocate %zu bytes\n", bytes);
            abort();
        }
        b->cap = floats;
    }
    return b->p;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
static inline int round_up(int a, int b) { return ceil_div(a, b) * b; }

typedef struct {
    const ck_gemm_arch *ar;
    int ta, tb, m, n, k, kcb;
    float alpha, beta;
    const float *a, *b;
    float *c;
    ptrdiff_t lda, ldb, ldc;
} gemm_job;

// Where the macro-kernel finds the B panels for one (jc, pc) block: packed
// (panel q at packed + q * kc * nr, row stride nr) or read in place from a
// row-major B (panel q at direct + q * nr, row stride ldb) with only a
// partial last panel packed.
typedef struct {
    const float *packed;
    const float *direct;
    ptrdiff_t ldb;
} b_source;

// C[mc x nc] = alpha * Ap * B + beta * C. Edge tiles go through a scratch
// tile so they use the same kernel (and rounding) as full ones.
static void macro_kernel(const ck_gemm_arch *ar, int mc, int nc, int kc,
                         float alpha, const float *ap, const b_source *bs,
                         float beta, float *c, ptrdiff_t ldc) {
    const int mr = ar->mr, nr = ar->nr;
    const ck_ukernel_fn kernel = ar->kernel;
    float tile[MAX_TILE] __attribute__((aligned(64)));
    for (int j = 0; j < nc; j += nr) {
        const int cols = imin(nr, nc - j);
        const float *bpj = bs->packed + (ptrdiff_t)j * kc;
        ptrdiff_t ldb = nr;
        if (bs->direct != NULL && cols == nr) {
            bpj = bs->direct + j;
            ldb = bs->ldb;
            // Unpacked B rows are far apart (one page each, often), which
            // the hardware prefetchers do not follow: fetch a few panels
            // ahead by hand.
            if (j + (PREFETCH_PANELS + 1) * nr <= nc)
                for (int p = 0; p < kc; p++)
                    __builtin_prefetch(bpj + PREFETCH_PANELS * nr + p * ldb);
        } else if (bs->direct != NULL) {
            bpj = bs->packed;
        }
        for (int i = 0; i < mc; i += mr) {
            const int rows = imin(mr, mc - i);
            const float *api = ap + (ptrdiff_t)i * kc;
            float *cij = c + (ptrdiff_t)i * ldc + j;
            if (rows == mr && cols == nr) {
                kernel(kc, api, bpj, ldb, cij, ldc, alpha, beta);
                continue;
            }
            // With beta == 0 the kernel does not read the tile.
            if (beta != 0.0f) {
                memset(tile, 0, sizeof(float) * mr * nr);
                for (int r = 0; r < rows; r++)
                    memcpy(tile + r * nr, cij + r * ldc, sizeof(float) * cols);
            }
            kernel(kc, api, bpj, ldb, tile, nr, alpha, beta);
            for (int r = 0; r < rows; r++)
                memcpy(cij + r * ldc, tile + r * nr, sizeof(float) * cols);
        }
    }
}

// The full blocked loop nest on C[m0, m1) x [n0, n1).
static void gemm_range(const gemm_job *g, int m0, int m1, int n0, int n1) {
    if (m0 >= m1 || n0 >= n1) return;
    const ck_gemm_arch *ar = g->ar;
    const int kcb = g->kcb;
    // Equal-sized blocks (rounded to the register tile) avoid a thin tail.
    const int mcb = round_up(ceil_div(m1 - m0, ceil_div(m1 - m0, ar->mc)),
                             ar->mr);
    const int ncb = round_up(ceil_div(n1 - n0, ceil_div(n1 - n0, ar->nc)),
                             ar->nr);
    // With a single A block each element of B is used only m times, too
    // few to pay for packing it: read a row-major B in place instead.
    const int direct = !g->tb && m1 - m0 <= mcb;
    float *ap = pack_buf_get(&tl_pack_a, (size_t)mcb * kcb);
    float *bp = pack_buf_get(&tl_pack_b,
                             (size_t)(direct ? ar->nr : ncb) * kcb);
    for (int jc = n0; jc < n1; jc += ncb) {
        const int nc = imin(ncb, n1 - jc);
        for (int pc = 0; pc < g->k; pc += kcb) {
            const int kc = imin(kcb, g->k - pc);
            // Later k blocks accumulate onto the first one's result.
            const float beta = pc == 0 ? g->beta : 1.0f;
            b_source bs = {bp, NULL, g->ldb};
            if (direct) {
                const int full = nc / ar->nr * ar->nr;
                bs.direct = g->b + (ptrdiff_t)pc * g->ldb + jc;
                if (full < nc)
                    ck_pack_b(ar, 0, g->b, g->ldb, pc, kc, jc + full,
                              nc - full, bp);
            } else {
                ck_pack_b(ar, g->tb, g->b, g->ldb, pc, kc, jc, nc, bp);
            }
            for (int ic = m0; ic < m1; ic += mcb) {
                const int mc = imin(mcb, m1 - ic);
                ck_pack_a(ar, g->ta, g->a, g->lda, ic, mc, pc, kc, ap);
                macro_kernel(ar, mc, nc, kc, g->alpha, ap, &bs, beta,
                             g->c + (ptrdiff_t)ic * g->ldc + jc, g->ldc);
            }
        }
    }
}

// Splits C into tm x tn = nt sub-blocks, trading per-thread tile work
// against the packing each thread repeats (A per column block, B once).
static void choose_grid(const gemm_job *g, int nt, int *tm, int *tn) {
    const ck_gemm_arch *ar = g->ar;
    double best = -1.0;
    for (int a = 1; a <= nt; a++) {
        if (nt % a != 0) continue;
        int b = nt / a;
        double mb = round_up(ceil_div(g->m, a), ar->mr);
        double nb = round_up(ceil_div(g->n, b), ar->nr);
        double cost = mb * nb * g->k +
                      6.0 * g->k * (mb * ceil_div((int)nb, ar->nc) + nb);
        if (best < 0 || cost < best) {
            best = cost;
            *tm = a;
            *tn = b;
        }
    }
}

// Column block width of the shared-B path (equal blocks, multiple of nr).
static int shared_nc(const gemm_job *g) {
    const ck_gemm_arch *ar = g->ar;
    return round_up(ceil_div(g->n, ceil_div(g->n, ar->nc)), ar->nr);
}

static void gemm_thread(const gemm_job *g, int tid, int tm, int tn) {
    const int mb = round_up(ceil_div(g->m, tm), g->ar->mr);
    const int nb = round_up(ceil_div(g->n, tn), g->ar->nr);
    const int ti = tid / tn, tj = tid % tn;
    gemm_range(g, imin(g->m, ti * mb), imin(g->m, (ti + 1) * mb),
               imin(g->n, tj * nb), imin(g->n, (tj + 1) * nb));
}

// Tall C on a team of nt threads: thread t owns a contiguous band of rows
// (packing its own A) and the team packs each kc x nc block of B once,
// together, into one of two shared buffers (alternating, so a single
// barrier per block suffices: passing it means every thread has finished
// with the block before the previous one).
static void gemm_shared_b(const gemm_job *g, float *shared_b, int t,
                          int nt) {
    const ck_gemm_arch *ar = g->ar;
    const int mr = ar->mr, nr = ar->nr, kcb = g->kcb;
    const int band = round_up(ceil_div(g->m, nt), mr);
    const int m0 = imin(g->m, t * band), m1 = imin(g->m, m0 + band);
    const int ncb = shared_nc(g);
    const int mcb = m1 > m0 ? round_up(ceil_div(m1 - m0, ceil_div(m1 - m0,
                                                                  ar->mc)),
                                       mr)
                            : mr;
    float *ap = pack_buf_get(&tl_pack_a, (size_t)mcb * kcb);
    int step = 0;
    for (int jc = 0; jc < g->n; jc += ncb) {
        const int nc = imin(ncb, g->n - jc);
        for (int pc = 0; pc < g->k; pc += kcb, step++) {
            const int kc = imin(kcb, g->k - pc);
            const float beta = pc == 0 ? g->beta : 1.0f;
            float *bp = shared_b + (size_t)(step & 1) * ncb * kcb;
            // This thread's share of the block's panels.
            const int panels = ceil_div(nc, nr);
            const int q0 = panels * t / nt, q1 = panels * (t + 1) / nt;
            if (q1 > q0)
                ck_pack_b(ar, g->tb, g->b, g->ldb, pc, kc, jc + q0 * nr,
                          imin(nc, q1 * nr) - q0 * nr,
                          bp + (ptrdiff_t)q0 * nr * kc);
#ifdef _OPENMP
#pragma omp barrier
#endif
            const b_source bs = {bp, NULL, g->ldb};
            for (int ic = m0; ic < m1; ic += mcb) {
                const int mc = imin(mcb, m1 - ic);
                ck_pack_a(ar, g->ta, g->a, g->lda, ic, mc, pc, kc, ap);
                macro_kernel(ar, mc, nc, kc, g->alpha, ap, &bs, beta,
                             g->c + (ptrdiff_t)ic * g->ldc + jc, g->ldc);
            }
        }
    }
}

static void scale_c(int m, int n, float beta, float *c, ptrdiff_t ldc) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (ptrdiff_t)i * ldc;
        if (beta == 0.0f)
            memset(ci, 0, sizeof(float) * n);
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++) ci[j] *= beta;
    }
}

void ck_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    gemm_job g;
    g.ar = ck_gemm_arch_for(ck_isa_current());
    g.ta = trans_a != 0;
    g.tb = trans_b != 0;
    g.m = m;
    g.n = n;
    g.k = k;
    g.kcb = ceil_div(k, ceil_div(k, g.ar->kc));
    g.alpha = alpha;
    g.beta = beta;
    g.a = a;
    g.b = b;
    g.c = c;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;

    int nt = ck_omp_in_parallel() ? 1 : ck_get_num_threads();
    double fmas = (double)m * n * k;
    if (nt > 1 && fmas < (double)MIN_FMAS_PER_THREAD * nt)
        nt = (int)(fmas / MIN_FMAS_PER_THREAD);
    if (nt <= 1) {
        gemm_range(&g, 0, m, 0, n);
        return;
    }
#ifdef _OPENMP
    // Enough rows for every thread to own a band of several register tiles:
    // split rows and share B. Otherwise (short, wide C) give each thread
    // its own block of a grid, which for small m reads B unpacked.
    const int shared = m >= nt * SHARED_B_MIN_ROWS &&
                       !(!g.tb && ceil_div(m, nt) <= g.ar->mc);
    float *shared_b = NULL;
    if (shared)
        shared_b = pack_buf_get(&tl_shared_b,
                                (size_t)2 * shared_nc(&g) * g.kcb);
#pragma omp parallel num_threads(nt)
    {
        // The team may be smaller than asked for; split by its real size.
        int team = omp_get_num_threads(), tm = 1, tn = 1;
        if (shared) {
            gemm_shared_b(&g, shared_b, omp_get_thread_num(), team);
        } else {
            choose_grid(&g, team, &tm, &tn);
            gemm_thread(&g, omp_get_thread_num(), tm, tn);
        }
    }
#else
    gemm_range(&g, 0, m, 0, n);
#endif
}
