// SGEMM, BLIS/GotoBLAS style: op(B) is packed into kc x nc blocks of
// nr-column panels, op(A) into mc x kc blocks of mr-row panels, and a
// register-tiled micro-kernel (chosen at run time per ISA) computes each
// mr x nr tile of C. This file is the serial engine; gemm_parallel.c
// splits C among threads (never K, so results do not depend on them).
#include "ckernels.h"
#include "gemm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//                                        mr  nr   mc   kc    nc
static const ck_gemm_arch arch_generic =
    {6, 8, 120, 256, 4096, ck_ukernel_generic, CK_ISA_GENERIC};
#if defined(__x86_64__) || defined(__i386__)
// AVX2: k blocks of up to 512 (a 32 KiB B panel, all of L1, still holds)
// and A blocks of 72 rows (the same 144 KiB of L2 as 144 x 256): half the
// passes over each C tile. SGEMM 1024^3 at 2 threads, configurations
// alternating in one process (three runs of 60-100 each): median 3-5%
// shorter than 144 x 256; at 1 thread within 1%.
static const ck_gemm_arch arch_avx2 = {6,          16,   72,
                                       512,        4096, ck_ukernel_avx2,
                                       CK_ISA_AVX2};
static const ck_gemm_arch arch_avx512 =
    {6, 32, 144, 384, 4096, ck_ukernel_avx512, CK_ISA_AVX512};
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
// Rows of C up to which a row-major B is read in place, not packed.
#define DIRECT_B_MAX_M 32
// How many B panels ahead the unpacked-B path prefetches.
#define PREFETCH_PANELS 4

// ---------------------------------------------------------------------------
// Per-thread packing buffers: grow to the largest request, kept across
// calls (OpenMP keeps its worker threads alive), 64-byte aligned.
// ---------------------------------------------------------------------------
typedef struct {
    float *p;
    size_t cap;
} pack_buf;

static _Thread_local pack_buf tl_bufs[CK_BUF_COUNT];

float *ck_gemm_buf(int which, size_t floats) {
    pack_buf *b = &tl_bufs[which];
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

// C[mc x nc] = alpha * Ap * B + beta * C. Edge tiles go through a scratch
// tile so they use the same kernel (and rounding) as full ones.
void ck_gemm_macro(const ck_gemm_arch *ar, int mc, int nc, int kc, float alpha,
                   const float *ap, const ck_b_source *bs, float beta,
                   float *c, ptrdiff_t ldc) {
    const int mr = ar->mr, nr = ar->nr;
    const ck_ukernel_fn kernel = ar->kernel;
    float tile[MAX_TILE] __attribute__((aligned(64)));
    for (int j = 0; j < nc; j += nr) {
        const int cols = ck_imin(nr, nc - j);
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
            const int rows = ck_imin(mr, mc - i);
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
void ck_gemm_range(const ck_gemm_job *g, int m0, int m1, int n0, int n1) {
    if (m0 >= m1 || n0 >= n1) return;
    const ck_gemm_arch *ar = g->ar;
    const int kcb = g->kcb;
    // Equal-sized blocks (rounded to the register tile) avoid a thin tail.
    const int rows = m1 - m0, cols = n1 - n0;
    const int mcb =
        ck_round_up(ck_ceil_div(rows, ck_ceil_div(rows, ar->mc)), ar->mr);
    const int ncb =
        ck_round_up(ck_ceil_div(cols, ck_ceil_div(cols, ar->nc)), ar->nr);
    // With a very short C each element of B is used only m times, too few
    // to pay for packing it: read a row-major B in place instead. From a
    // few dozen rows on, packing wins even for B read once from memory (a
    // 1x1 conv, 128 x 784 x 256 per image: 15.8 -> 13.3-14.3 ms at 2
    // threads), as the packed panel hides the latency of strided rows.
    const int direct = !g->tb && rows <= mcb && rows <= DIRECT_B_MAX_M;
    float *ap = ck_gemm_buf(CK_BUF_PACK_A, (size_t)mcb * kcb);
    float *bp =
        ck_gemm_buf(CK_BUF_PACK_B, (size_t)(direct ? ar->nr : ncb) * kcb);
    for (int jc = n0; jc < n1; jc += ncb) {
        const int nc = ck_imin(ncb, n1 - jc);
        for (int pc = 0; pc < g->k; pc += kcb) {
            const int kc = ck_imin(kcb, g->k - pc);
            // Later k blocks accumulate onto the first one's result.
            const float beta = pc == 0 ? g->beta : 1.0f;
            ck_b_source bs = {bp, NULL, g->ldb};
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
                const int mc = ck_imin(mcb, m1 - ic);
                ck_pack_a(ar, g->ta, g->a, g->lda, ic, mc, pc, kc, ap);
                ck_gemm_macro(ar, mc, nc, kc, g->alpha, ap, &bs, beta,
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
    ck_gemm_job g;
    g.ar = ck_gemm_arch_for(ck_isa_current());
    g.ta = trans_a != 0;
    g.tb = trans_b != 0;
    g.m = m;
    g.n = n;
    g.k = k;
    g.kcb = ck_ceil_div(k, ck_ceil_div(k, g.ar->kc));
    g.alpha = alpha;
    g.beta = beta;
    g.a = a;
    g.b = b;
    g.c = c;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;

    const int nt = ck_omp_in_parallel() ? 1 : ck_get_num_threads();
    if (nt > 1)
        ck_gemm_parallel(&g, nt);
    else
        ck_gemm_range(&g, 0, m, 0, n);
}
