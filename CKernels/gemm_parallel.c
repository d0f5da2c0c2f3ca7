// Threads for ck_sgemm. C is split among threads, never K, and the k
// blocking depends only on k and the ISA, so every element of C is summed
// in the same order at any thread count (results are bitwise identical).
// C is cut into a grid of sub-blocks, one per thread, and each thread runs
// the whole blocked loop nest on its own block with its own packing
// buffers. (A team packing shared B panels behind a barrier, GotoBLAS
// style, measured 10-40% slower on a 2-core Zen 4 with private L2 caches,
// likely because each thread then reads half of B from the other core.)
// Without OpenMP this file reduces to the serial call.
#include "ckernels.h"
#include "gemm_internal.h"

#ifdef _OPENMP
int omp_get_thread_num(void);
int omp_get_num_threads(void);

// Below this many multiply-adds per thread, forking costs more than it buys.
#define MIN_FMAS_PER_THREAD (1 << 19)

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

void ck_gemm_parallel(const ck_gemm_job *g, int nt) {
    const double fmas = (double)g->m * g->n * g->k;
    if (fmas < (double)MIN_FMAS_PER_THREAD * nt)
        nt = (int)(fmas / MIN_FMAS_PER_THREAD);
    if (nt <= 1) {
        ck_gemm_range(g, 0, g->m, 0, g->n);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        // The team may be smaller than asked for: split by its real size.
        grid_thread(g, omp_get_thread_num(), omp_get_num_threads());
    }
}

#else  // !_OPENMP

void ck_gemm_parallel(const ck_gemm_job *g, int nt) {
    (void)nt;
    ck_gemm_range(g, 0, g->m, 0, g->n);
}

#endif
