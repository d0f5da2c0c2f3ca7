// Threads for ck_sgemm. C is split among threads, never K, and the k
// blocking depends only on k and the ISA, so every element of C is summed
// in the same order at any thread count (results are bitwise identical).
// Two ways to split:
// - tall C: each thread owns a band of rows and packs its own A; the team
//   packs each B block once, together, into shared panels;
// - short C: a grid of sub-blocks, each thread running the whole loop
//   nest on its own (for small m, reading B unpacked).
// Without OpenMP this file reduces to the serial call.
#include "ckernels.h"
#include "gemm_internal.h"

#ifdef _OPENMP
int omp_get_thread_num(void);
int omp_get_num_threads(void);

// Below this many multiply-adds per thread, forking costs more than it buys.
#define MIN_FMAS_PER_THREAD (1 << 19)
// Row bands with a shared B when every thread gets at least this many rows.
#define SHARED_B_MIN_ROWS 48

// Splits C into tm x tn = nt sub-blocks, trading per-thread tile work
// against the packing each thread repeats (A per column block, B once).
static void choose_grid(const ck_gemm_job *g, int nt, int *tm, int *tn) {
    const ck_gemm_arch *ar = g->ar;
    double best = -1.0;
    for (int a = 1; a <= nt; a++) {
        if (nt % a != 0) continue;
        int b = nt / a;
        double mb = ck_round_up(ck_ceil_div(g->m, a), ar->mr);
        double nb = ck_round_up(ck_ceil_div(g->n, b), ar->nr);
        double cost = mb * nb * g->k +
                      6.0 * g->k * (mb * ck_ceil_div((int)nb, ar->nc) + nb);
        if (best < 0 || cost < best) {
            best = cost;
            *tm = a;
            *tn = b;
        }
    }
}

static void grid_thread(const ck_gemm_job *g, int tid, int nt) {
    int tm = 1, tn = 1;
    choose_grid(g, nt, &tm, &tn);
    const int mb = ck_round_up(ck_ceil_div(g->m, tm), g->ar->mr);
    const int nb = ck_round_up(ck_ceil_div(g->n, tn), g->ar->nr);
    const int ti = tid / tn, tj = tid % tn;
    ck_gemm_range(g, ck_imin(g->m, ti * mb), ck_imin(g->m, (ti + 1) * mb),
                  ck_imin(g->n, tj * nb), ck_imin(g->n, (tj + 1) * nb));
}

// Column block width of the shared-B path (equal blocks, multiple of nr).
static int shared_nc(const ck_gemm_job *g) {
    const ck_gemm_arch *ar = g->ar;
    return ck_round_up(ck_ceil_div(g->n, ck_ceil_div(g->n, ar->nc)), ar->nr);
}

// Thread t of nt: its own row band, B packed by the team into one of two
// shared buffers (alternating, so one barrier per block suffices: passing
// it means every thread has finished with the block before the previous).
static void shared_b_thread(const ck_gemm_job *g, float *shared_b, int t,
                            int nt) {
    const ck_gemm_arch *ar = g->ar;
    const int mr = ar->mr, nr = ar->nr, kcb = g->kcb;
    const int band = ck_round_up(ck_ceil_div(g->m, nt), mr);
    const int m0 = ck_imin(g->m, t * band), m1 = ck_imin(g->m, m0 + band);
    const int rows = m1 - m0 > 0 ? m1 - m0 : 1;
    const int mcb = ck_round_up(ck_ceil_div(rows, ck_ceil_div(rows, ar->mc)),
                                mr);
    const int ncb = shared_nc(g);
    float *ap = ck_gemm_buf(CK_BUF_PACK_A, (size_t)mcb * kcb);
    int step = 0;
    for (int jc = 0; jc < g->n; jc += ncb) {
        const int nc = ck_imin(ncb, g->n - jc);
        for (int pc = 0; pc < g->k; pc += kcb, step++) {
            const int kc = ck_imin(kcb, g->k - pc);
            const float beta = pc == 0 ? g->beta : 1.0f;
            float *bp = shared_b + (size_t)(step & 1) * ncb * kcb;
            // This thread's share of the block's panels.
            const int panels = ck_ceil_div(nc, nr);
            const int q0 = panels * t / nt, q1 = panels * (t + 1) / nt;
            if (q1 > q0)
                ck_pack_b(ar, g->tb, g->b, g->ldb, pc, kc, jc + q0 * nr,
                          ck_imin(nc, q1 * nr) - q0 * nr,
                          bp + (ptrdiff_t)q0 * nr * kc);
#pragma omp barrier
            const ck_b_source bs = {bp, NULL, g->ldb};
            for (int ic = m0; ic < m1; ic += mcb) {
                const int mc = ck_imin(mcb, m1 - ic);
                ck_pack_a(ar, g->ta, g->a, g->lda, ic, mc, pc, kc, ap);
                ck_gemm_macro(ar, mc, nc, kc, g->alpha, ap, &bs, beta,
                              g->c + (ptrdiff_t)ic * g->ldc + jc, g->ldc);
            }
        }
    }
}

void ck_gemm_parallel(const ck_gemm_job *g, int nt) {
    const double fmas = (double)g->m * g->n * g->k;
    if (fmas < (double)MIN_FMAS_PER_THREAD * nt)
        nt = (int)(fmas / MIN_FMAS_PER_THREAD);
    if (nt <= 1) {
        ck_gemm_range(g, 0, g->m, 0, g->n);
        return;
    }
    // Shared B needs several register tiles of rows per thread, and is not
    // worth it when a thread's rows fit one A block and B can be read in
    // place.
    const int shared = g->m >= nt * SHARED_B_MIN_ROWS &&
                       (g->tb || ck_ceil_div(g->m, nt) > g->ar->mc);
    float *shared_b = NULL;
    if (shared)
        shared_b = ck_gemm_buf(CK_BUF_SHARED_B,
                               (size_t)2 * shared_nc(g) * g->kcb);
#pragma omp parallel num_threads(nt)
    {
        // The team may be smaller than asked for: split by its real size.
        const int team = omp_get_num_threads(), t = omp_get_thread_num();
        if (shared)
            shared_b_thread(g, shared_b, t, team);
        else
            grid_thread(g, t, team);
    }
}

#else  // !_OPENMP

void ck_gemm_parallel(const ck_gemm_job *g, int nt) {
    (void)nt;
    ck_gemm_range(g, 0, g->m, 0, g->n);
}

#endif
