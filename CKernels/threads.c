// Thread count and run-time ISA selection shared by every kernel.
#include "ckernels.h"
#include "gemm_internal.h"

#include <stdlib.h>
#include <string.h>

// libomp keeps idle workers spinning for 200 ms after each parallel region.
// Training alternates many short regions with serial Swift code and a
// prefetch thread, so on small machines the spinning workers steal the cores
// that work needs (an MNIST epoch took 47 s instead of 28 s on 2 cores).
// Sleeping at once (0) costs a futex wake-up at the start of every region
// instead, hundreds per training step: spinning 5 ms covers the gaps
// between a step's kernels and little more (MNIST batch-512 epoch, A/B
// pairs on 2 cores: 10.2 / 11.0 / 10.2 s at 0, 10.0 / 8.7 / 8.7 s at 5).
// Unless the user chose a setting. Runs before main, before libomp reads
// its environment.
__attribute__((constructor)) static void ck_default_blocktime(void) {
    setenv("KMP_BLOCKTIME", "5", 0);
}

// The toolchain clang does not find Debian's omp.h, so the few OpenMP
// functions used are declared here (they are libomp's C ABI).
#ifdef _OPENMP
int omp_get_max_threads(void);
void omp_set_num_threads(int n);
int omp_in_parallel(void);
#endif

// 0 means "not set": OpenMP's default (OMP_NUM_THREADS or the core count).
static int g_num_threads = 0;

void ck_set_num_threads(int n) {
    if (n < 1) n = 1;
    __atomic_store_n(&g_num_threads, n, __ATOMIC_RELAXED);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int ck_get_num_threads(void) {
#ifdef _OPENMP
    int n = __atomic_load_n(&g_num_threads, __ATOMIC_RELAXED);
    return n > 0 ? n : omp_get_max_threads();
#else
    return 1;
#endif
}

int ck_omp_in_parallel(void) {
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

// ---------------------------------------------------------------------------
// ISA: detected once; ck_force_isa overrides it (tests, benchmarks).
// ---------------------------------------------------------------------------

static int g_isa = -1;

static int detect_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return CK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CK_ISA_AVX2;
#endif
    return CK_ISA_GENERIC;
}

int ck_isa_supported(int isa) {
    static int best = -1;
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b < 0) {
        b = detect_isa();
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    }
    // Each level implies the ones below it (avx512f CPUs have avx2 + fma).
    return isa >= CK_ISA_GENERIC && isa <= b;
}

int ck_isa_current(void) {
    int isa = __atomic_load_n(&g_isa, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = detect_isa();
        __atomic_store_n(&g_isa, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

static const char *const isa_names[] = {"generic", "avx2", "avx512"};

const char *ck_isa_name(void) { return isa_names[ck_isa_current()]; }

int ck_force_isa(const char *name) {
    if (name == NULL) return -1;
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, isa_names[i]) != 0) continue;
        if (!ck_isa_supported(i)) return -1;
        __atomic_store_n(&g_isa, i, __ATOMIC_RELAXED);
        return 0;
    }
    return -1;
}
