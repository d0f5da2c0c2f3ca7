// Private to the GEMM: ISA selection, block sizes, packing and micro-kernels.
// Not part of the public contract (ckernels.h).
#ifndef CK_GEMM_INTERNAL_H
#define CK_GEMM_INTERNAL_H

#include <stddef.h>

enum { CK_ISA_GENERIC = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2 };

// The ISA the kernels use now (detected once, or forced by ck_force_isa).
int ck_isa_current(void);
// 1 if this CPU can run the given ISA.
int ck_isa_supported(int isa);

// OpenMP helpers that also work when built without -fopenmp.
int ck_omp_in_parallel(void);

// C[0..mr)[0..nr) (row stride ldc) = alpha * A*B + beta * C, where A is an
// MR x kc packed panel (MR floats per k) and B a kc x NR panel with row
// stride ldb (NR when packed). beta == 0 means C is not read. Always a full
// MR x NR tile.
typedef void (*ck_ukernel_fn)(int kc, const float *a, const float *b,
                              ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                              float alpha, float beta);

// Register tile (mr x nr) and cache blocks: an A block of mc x kc stays in
// L2, a B micro-panel of kc x nr in L1, the B block kc x nc in L2/L3.
typedef struct {
    int mr, nr, mc, kc, nc;
    ck_ukernel_fn kernel;
    int isa;  // CK_ISA_*: lets the packing use the same instruction set
} ck_gemm_arch;

const ck_gemm_arch *ck_gemm_arch_for(int isa);

void ck_ukernel_generic(int kc, const float *a, const float *b, ptrdiff_t ldb,
                        float *c, ptrdiff_t ldc, float alpha, float beta);
#if defined(__x86_64__) || defined(__i386__)
void ck_ukernel_avx2(int kc, const float *a, const float *b, ptrdiff_t ldb,
                     float *c, ptrdiff_t ldc, float alpha, float beta);
void ck_ukernel_avx512(int kc, const float *a, const float *b, ptrdiff_t ldb,
                       float *c, ptrdiff_t ldc, float alpha, float beta);
#endif

// Packs op(A)[i0 .. i0+mc)[p0 .. p0+kc) into ceil(mc/mr) panels of mr rows,
// zero-padding the last panel.
void ck_pack_a(const ck_gemm_arch *ar, int trans, const float *a,
               ptrdiff_t lda, int i0, int mc, int p0, int kc, float *out);
// Packs op(B)[p0 .. p0+kc)[j0 .. j0+nc) into ceil(nc/nr) panels of nr
// columns, zero-padding the last panel.
void ck_pack_b(const ck_gemm_arch *ar, int trans, const float *b,
               ptrdiff_t ldb, int p0, int kc, int j0, int nc, float *out);

#if defined(__x86_64__) || defined(__i386__)
// AVX2 versions of the transposing cases (gemm_pack_avx2.c).
void ck_pack_a6_avx2(const float *a, ptrdiff_t lda, int i0, int mc, int p0,
                     int kc, float *out);
void ck_pack_bt16_avx2(const float *b, ptrdiff_t ldb, int p0, int kc, int j0,
                       int nc, float *out);
#endif

// ---------------------------------------------------------------------------
// The engine (gemm.c) and its threaded driver (gemm_parallel.c).
// ---------------------------------------------------------------------------

// One ck_sgemm call. kcb, the k block, depends only on k and the ISA: it
// fixes the order of every element's sum.
typedef struct {
    const ck_gemm_arch *ar;
    int ta, tb, m, n, k, kcb;
    float alpha, beta;
    const float *a, *b;
    float *c;
    ptrdiff_t lda, ldb, ldc;
} ck_gemm_job;

// Where the macro-kernel finds the B panels of one (jc, pc) block: packed
// (panel q at packed + q * kc * nr, row stride nr), or read in place from a
// row-major B (panel q at direct + q * nr, row stride ldb) with only a
// partial last panel packed (at packed).
typedef struct {
    const float *packed;
    const float *direct;
    ptrdiff_t ldb;
} ck_b_source;

// The calling thread's packing buffers (64-byte aligned, grown on demand,
// kept across calls).
enum { CK_BUF_PACK_A = 0, CK_BUF_PACK_B, CK_BUF_COUNT };
float *ck_gemm_buf(int which, size_t floats);

// C[mc x nc] = alpha * Ap * B + beta * C for packed A block ap.
void ck_gemm_macro(const ck_gemm_arch *ar, int mc, int nc, int kc, float alpha,
                   const float *ap, const ck_b_source *bs, float beta,
                   float *c, ptrdiff_t ldc);
// The whole blocked loop nest on C[m0, m1) x [n0, n1), on this thread.
void ck_gemm_range(const ck_gemm_job *g, int m0, int m1, int n0, int n1);
// Runs the job on up to nt threads (fewer for small problems).
void ck_gemm_parallel(const ck_gemm_job *g, int nt);

static inline int ck_imin(int a, int b) { return a < b ? a : b; }
static inline int ck_imax(int a, int b) { return a > b ? a : b; }
static inline int ck_ceil_div(int a, int b) { return (a + b - 1) / b; }
static inline int ck_round_up(int a, int b) { return ck_ceil_div(a, b) * b; }

#endif  // CK_GEMM_INTERNAL_H
