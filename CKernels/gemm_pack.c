// Packing for the GEMM: copies blocks of op(A) and op(B) into the contiguous
// panel layout the micro-kernels stream through (zero-padded at the edges,
// so the kernels only ever see full tiles).
#include "gemm_internal.h"

#include <string.h>

#define INLINE static inline __attribute__((always_inline))

// Rows of a row-major B packed per sweep across the panels. Few rows keep
// few streams open, which matters when B comes from memory. With B flushed
// from cache, a 1024 x 1024 B packed in a median 0.95 ms in bands of 4
// (12 runs) and 1.24 ms in bands of 16 (21 runs); with B in cache, within
// 5%. Whole products at 2 threads, alternating in one process, medians:
// 64 x 12544 x 576 (an im2col conv) 12.4 -> 10.1 ms, 256 x 3136 x 576
// 7.4 -> 6.8 ms, 1024^3 15.5 -> 15.3 ms.
#define PACK_B_BAND 4

// One panel of op(A): rows rows (<= mr) starting at row i, mr floats per k.
INLINE void pack_a_panel(int trans, const float *a, ptrdiff_t lda, int i,
                         int rows, int p0, int kc, int mr, float *out) {
    if (trans) {
        // A is stored K x M: the mr values of one k are contiguous.
        const float *src = a + (ptrdiff_t)p0 * lda + i;
        if (rows == mr) {
            for (int p = 0; p < kc; p++)
                for (int r = 0; r < mr; r++)
                    out[p * mr + r] = src[(ptrdiff_t)p * lda + r];
        } else {
            for (int p = 0; p < kc; p++) {
                for (int r = 0; r < rows; r++)
                    out[p * mr + r] = src[(ptrdiff_t)p * lda + r];
                for (int r = rows; r < mr; r++) out[p * mr + r] = 0.0f;
            }
        }
    } else {
        // A is stored M x K: walk each row along k, scatter with stride mr.
        const float *src = a + (ptrdiff_t)i * lda + p0;
        if (rows == mr) {
            for (int p = 0; p < kc; p++)
                for (int r = 0; r < mr; r++)
                    out[p * mr + r] = src[(ptrdiff_t)r * lda + p];
        } else {
            for (int p = 0; p < kc; p++) {
                for (int r = 0; r < rows; r++)
                    out[p * mr + r] = src[(ptrdiff_t)r * lda + p];
                for (int r = rows; r < mr; r++) out[p * mr + r] = 0.0f;
            }
        }
    }
}

INLINE void pack_a_mr(int trans, const float *a, ptrdiff_t lda, int i0, int mc,
                      int p0, int kc, int mr, float *out) {
    for (int i = 0; i < mc; i += mr) {
        int rows = mc - i < mr ? mc - i : mr;
        pack_a_panel(trans, a, lda, i0 + i, rows, p0, kc, mr, out);
        out += (ptrdiff_t)mr * kc;
    }
}

void ck_pack_a(const ck_gemm_arch *ar, int trans, const float *a,
               ptrdiff_t lda, int i0, int mc, int p0, int kc, float *out) {
    const int mr = ar->mr;
#if defined(__x86_64__) || defined(__i386__)
    if (!trans && mr == 6 && ar->isa >= CK_ISA_AVX2) {
        ck_pack_a6_avx2(a, lda, i0, mc, p0, kc, out);
        return;
    }
#endif
    // Constant mr lets the compiler unroll and vectorize the panel copies.
    if (mr == 6)
        pack_a_mr(trans, a, lda, i0, mc, p0, kc, 6, out);
    else
        pack_a_mr(trans, a, lda, i0, mc, p0, kc, mr, out);
}

// One panel of op(B): cols columns (<= nr) starting at column j.
INLINE void pack_b_panel(int trans, const float *b, ptrdiff_t ldb, int p0,
                         int kc, int j, int cols, int nr, float *out) {
    if (!trans) {
        // B is stored K x N: the nr values of one k are contiguous.
        const float *src = b + (ptrdiff_t)p0 * ldb + j;
        if (cols == nr) {
            for (int p = 0; p < kc; p++)
                for (int c = 0; c < nr; c++)
                    out[p * nr + c] = src[(ptrdiff_t)p * ldb + c];
        } else {
            for (int p = 0; p < kc; p++) {
                for (int c = 0; c < cols; c++)
                    out[p * nr + c] = src[(ptrdiff_t)p * ldb + c];
                for (int c = cols; c < nr; c++) out[p * nr + c] = 0.0f;
            }
        }
    } else {
        // B is stored N x K: each column of op(B) is a contiguous row.
        const float *src = b + (ptrdiff_t)j * ldb + p0;
        if (cols == nr) {
            for (int p = 0; p < kc; p++)
                for (int c = 0; c < nr; c++)
                    out[p * nr + c] = src[(ptrdiff_t)c * ldb + p];
        } else {
            for (int p = 0; p < kc; p++) {
                for (int c = 0; c < cols; c++)
                    out[p * nr + c] = src[(ptrdiff_t)c * ldb + p];
                for (int c = cols; c < nr; c++) out[p * nr + c] = 0.0f;
            }
        }
    }
}

INLINE void pack_b_nr(int trans, const float *b, ptrdiff_t ldb, int p0, int kc,
                      int j0, int nc, int nr, float *out) {
    if (!trans) {
        // A band of PACK_B_BAND rows at a time across all full panels:
        // reads walk along B's rows, and each panel receives a contiguous
        // run (row by row across panels, every store hit the same L1 set;
        // panel by panel, every load a new row). Bands of 16 were 3x
        // faster than either with B in cache.
        const int full = nc / nr;
        const ptrdiff_t panel = (ptrdiff_t)nr * kc;
        for (int pb = 0; pb < kc; pb += PACK_B_BAND) {
            const int pe = pb + PACK_B_BAND < kc ? pb + PACK_B_BAND : kc;
            for (int q = 0; q < full; q++) {
                float *dst = out + q * panel;
                const float *src = b + (ptrdiff_t)p0 * ldb + j0 + q * nr;
                for (int p = pb; p < pe; p++)
                    memcpy(dst + p * nr, src + (ptrdiff_t)p * ldb,
                           sizeof(float) * nr);
            }
        }
        if (full * nr < nc)
            pack_b_panel(0, b, ldb, p0, kc, j0 + full * nr, nc - full * nr, nr,
                         out + full * panel);
        return;
    }
    for (int j = 0; j < nc; j += nr) {
        int cols = nc - j < nr ? nc - j : nr;
        pack_b_panel(trans, b, ldb, p0, kc, j0 + j, cols, nr, out);
        out += (ptrdiff_t)nr * kc;
    }
}

void ck_pack_b(const ck_gemm_arch *ar, int trans, const float *b,
               ptrdiff_t ldb, int p0, int kc, int j0, int nc, float *out) {
    const int nr = ar->nr;
#if defined(__x86_64__) || defined(__i386__)
    if (trans && nr == 16 && ar->isa >= CK_ISA_AVX2) {
        ck_pack_bt16_avx2(b, ldb, p0, kc, j0, nc, out);
        return;
    }
#endif
    if (nr == 16)
        pack_b_nr(trans, b, ldb, p0, kc, j0, nc, 16, out);
    else if (nr == 8)
        pack_b_nr(trans, b, ldb, p0, kc, j0, nc, 8, out);
    else if (nr == 32)
        pack_b_nr(trans, b, ldb, p0, kc, j0, nc, 32, out);
    else
        pack_b_nr(trans, b, ldb, p0, kc, j0, nc, nr, out);
}
