// Convolution passes whose GEMM inner size is tiny (a first layer with one
// or three input channels: K = c*kh*kw = 9 or 27). A packed GEMM spends
// most of its time packing there, so these multiply the im2col columns
// directly: outputs in registers over a strip of pixels (forward), and one
// dot product per weight element in fixed lanes (weight gradient). Each is
// compiled for baseline x86-64 and, chosen at run time, AVX2+FMA.
#include <string.h>

#include "workspace.h"

// Pixels per strip of the forward pass: 4 AVX2 registers of outputs.
#define CK_STRIP 32
// Dot products sharing one pass over dy: 12 accumulators + 2 loads fit the
// 16 AVX2 registers.
#define CK_MAX_DOTS 12
// Lanes of a dot product in the weight gradient: one AVX2 register.
#define CK_LANES 8

#define CK_KERNEL static inline __attribute__((always_inline)) void

// Eight float lanes (GCC/Clang vector extension): one AVX2 register, or two
// SSE registers in the baseline build; the compiler left a plain 2-D array
// of accumulators in memory.
typedef float ck_v8 __attribute__((vector_size(32)));

// Unaligned loads; macros, as functions passing vectors by value draw ABI
// warnings in the baseline build.
#define CK_LOAD8(v, ptr) memcpy(&(v), (ptr), sizeof(ck_v8))

// Sum of the lanes in a fixed tree order.
#define CK_LANE_SUM(l)                                                        \
    ((((l)[0] + (l)[1]) + ((l)[2] + (l)[3])) +                                \
     (((l)[4] + (l)[5]) + ((l)[6] + (l)[7])))

// y[o][p] = bias[o] + sum_r w[o][r] * cols[r][p], the taps summed in order.
// A strip that would run past n is moved back to end at n: the pixels it
// repeats get the same arithmetic, so they are rewritten unchanged.
CK_KERNEL small_forward(int m, int n, int k, const float *w, const float *cols,
                        size_t ldc, const float *bias, float *y, size_t ldy) {
    for (int o = 0; o < m; o++) {
        const float *wo = w + (size_t)o * k;
        float b = bias ? bias[o] : 0.0f;
        float *yo = y + (size_t)o * ldy;
        if (n < CK_STRIP) {
            for (int p = 0; p < n; p++) {
                float acc = b;
                for (int r = 0; r < k; r++) acc += wo[r] * cols[r * ldc + p];
                yo[p] = acc;
            }
            continue;
        }
        for (int p0 = 0; p0 < n; p0 += CK_STRIP) {
            int p = p0 + CK_STRIP <= n ? p0 : n - CK_STRIP;
            ck_v8 acc[CK_STRIP / 8];
            for (int v = 0; v < CK_STRIP / 8; v++) acc[v] = (ck_v8){0} + b;
            for (int r = 0; r < k; r++) {
                float wv = wo[r];
                const float *c = cols + r * ldc + p;
                for (int v = 0; v < CK_STRIP / 8; v++) {
                    ck_v8 cv;
                    CK_LOAD8(cv, c + 8 * v);
                    acc[v] += wv * cv;
                }
            }
            memcpy(yo + p, acc, sizeof acc);
        }
    }
}

// R dot products of dy (n floats) with cols rows r0..r0+R-1, each in
// CK_LANES fixed lanes; the tail pixels go to lane 0 after the full vectors.
#define CK_DOTS(R)                                                            \
    do {                                                                      \
        ck_v8 acc[R];                                                         \
        for (int j = 0; j < (R); j++) acc[j] = (ck_v8){0};                    \
        int p = 0;                                                            \
        for (; p + CK_LANES <= n; p += CK_LANES) {                            \
            ck_v8 dv, cv;                                                     \
            CK_LOAD8(dv, d + p);                                              \
            for (int j = 0; j < (R); j++) {                                   \
                CK_LOAD8(cv, cols + (r0 + j) * ldc + p);                      \
                acc[j] += dv * cv;                                            \
            }                                                                 \
        }                                                                     \
        for (; p < n; p++)                                                    \
            for (int j = 0; j < (R); j++)                                     \
                acc[j][0] += d[p] * cols[(r0 + j) * ldc + p];                 \
        for (int j = 0; j < (R); j++) {                                       \
            float s = CK_LANE_SUM(acc[j]);                                    \
            dwo[r0 + j] = accumulate ? dwo[r0 + j] + s : s;                   \
        }                                                                     \
    } while (0)

// dw[o][r] (+)= sum_p dy[o][p] * cols[r][p].
CK_KERNEL small_weight(int m, int n, int k, const float *dy, size_t ldd,
                       const float *cols, size_t ldc, int accumulate,
                       float *dw) {
    for (int o = 0; o < m; o++) {
        const float *d = dy + (size_t)o * ldd;
        float *dwo = dw + (size_t)o * k;
        // Taps in near-equal groups of at most CK_MAX_DOTS, each group one
        // pass over dy: as many independent FMA chains as possible.
        int groups = (k + CK_MAX_DOTS - 1) / CK_MAX_DOTS;
        for (int gi = 0; gi < groups; gi++) {
            int r0 = k * gi / groups, rn = k * (gi + 1) / groups - r0;
            switch (rn) {
            case 1: CK_DOTS(1); break;
            case 2: CK_DOTS(2); break;
            case 3: CK_DOTS(3); break;
            case 4: CK_DOTS(4); break;
            case 5: CK_DOTS(5); break;
            case 6: CK_DOTS(6); break;
            case 7: CK_DOTS(7); break;
            case 8: CK_DOTS(8); break;
            case 9: CK_DOTS(9); break;
            case 10: CK_DOTS(10); break;
            case 11: CK_DOTS(11); break;
            default: CK_DOTS(12); break;
            }
        }
    }
}

static void forward_base(int m, int n, int k, const float *w,
                         const float *cols, size_t ldc, const float *bias,
                         float *y, size_t ldy) {
    small_forward(m, n, k, w, cols, ldc, bias, y, ldy);
}
CK_AVX2 static void forward_avx2(int m, int n, int k, const float *w,
                                 const float *cols, size_t ldc,
                                 const float *bias, float *y, size_t ldy) {
    small_forward(m, n, k, w, cols, ldc, bias, y, ldy);
}
static void weight_base(int m, int n, int k, const float *dy, size_t ldd,
                        const float *cols, size_t ldc, int accumulate,
                        float *dw) {
    small_weight(m, n, k, dy, ldd, cols, ldc, accumulate, dw);
}
CK_AVX2 static void weight_avx2(int m, int n, int k, const float *dy,
                                size_t ldd, const float *cols, size_t ldc,
                                int accumulate, float *dw) {
    small_weight(m, n, k, dy, ldd, cols, ldc, accumulate, dw);
}

void ck_small_k_forward(int m, int n, int k, const float *w, const float *cols,
                        size_t ldc, const float *bias, float *y, size_t ldy) {
    (ck_use_avx2() ? forward_avx2 : forward_base)(m, n, k, w, cols, ldc, bias,
                                                  y, ldy);
}

void ck_small_k_weight(int m, int n, int k, const float *dy, size_t ldd,
                       const float *cols, size_t ldc, int accumulate,
                       float *dw) {
    (ck_use_avx2() ? weight_avx2 : weight_base)(m, n, k, dy, ldd, cols, ldc,
                                                accumulate, dw);
}
