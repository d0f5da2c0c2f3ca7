// Private helpers shared by the convolution and pooling kernels: per-thread
// scratch buffers, the thread count a kernel may use, and the im2col/col2im
// lowering. Not part of the public header.
#ifndef CK_WORKSPACE_H
#define CK_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ckernels.h"

// The toolchain clang does not find omp.h, so declare the few calls we use.
#ifdef _OPENMP
int omp_get_thread_num(void);
int omp_get_max_threads(void);
int omp_in_parallel(void);
#endif

// ---------------------------------------------------------------------------
// Workspace. Each OS thread (OpenMP worker or a caller's own thread) owns a
// few growable slots; a buffer grows to the largest request and is kept, so
// the steady state never allocates. Thread-local rather than indexed by
// omp_get_thread_num(): two kernels running side by side inside a parallel
// region, or on two foreign threads, both see thread number 0.
// ---------------------------------------------------------------------------
enum {
    CK_WS_COLS = 0,       // im2col columns
    CK_WS_PARTIAL = 1,    // per-block partial results of a reduction
    CK_WS_AUX = 2,        // small extras (bias partials)
    CK_WS_PACK_A = 3,     // free for GEMM packing, which conv calls while
    CK_WS_PACK_B = 4,     // holding the slots above
    CK_WS_BATCH = 5,      // a block of images' outputs side by side
    CK_WS_SHIFT = 6,      // tap offsets of the shifted-window conv
    CK_WS_FUSED = 7,      // conv + pool: a block's conv output (the kernels
    CK_WS_FUSED_SUM = 8,  // it calls use the slots above); partial sums
    CK_WS_SLOTS = 9
};

// A 64-byte aligned buffer of at least count floats owned by the calling
// thread; contents are undefined. Valid until the same slot is asked again
// on this thread. Aborts if memory runs out.
float *ck_ws_floats(int slot, size_t count);
// Frees the calling thread's buffers (they are also freed at thread exit).
void ck_ws_release(void);

// Whether the kernels with an AVX2 variant take it: they follow the ISA
// the GEMM uses (AVX2 or AVX-512), so ck_force_isa("generic") turns AVX2
// off for them too.
static inline int ck_use_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return strcmp(ck_isa_name(), "generic") != 0;
#else
    return 0;
#endif
}

// Marks the AVX2 build of a function that is compiled twice (baseline and
// AVX2) and chosen by ck_use_avx2() at run time.
#if defined(__x86_64__) || defined(__i386__)
#define CK_AVX2 __attribute__((target("avx2,fma")))
#else
#define CK_AVX2
#endif

// Threads a kernel may fork here: 1 inside an active parallel region (the
// caller already owns the cores), else ck_get_num_threads().
static inline int ck_team_threads(void) {
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
    int n = ck_get_num_threads();
    return n < 1 ? 1 : n;
#else
    return 1;
#endif
}

// The next index a thread of a team takes from a shared counter (start it
// at 0 before the parallel region): work handed out one piece at a time, so
// a thread that runs slower (this VM's two cores often do not run at the
// same speed) takes fewer pieces instead of holding up the other at the
// end. Not OpenMP's schedule(dynamic): the toolchain clang compiles that to
// __kmpc_dispatch_deinit, which Debian's libomp 14 does not have. Use it
// only where results do not depend on which thread runs a piece.
static inline long ck_next_piece(long *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

// v where mask > 0, else +0 (a NaN mask or v included), without a branch:
// a ReLU's mask is near random, and a branch on it mispredicts half the
// time (2x slower on MNIST's pooled gradients).
static inline float ck_masked(float v, float mask) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits &= 0u - (uint32_t)(mask > 0);
    memcpy(&v, &bits, sizeof v);
    return v;
}

// ---------------------------------------------------------------------------
// Lowering. The "image" side is [channels, ih, iw]; the "column" side has
// ch*kh*kw rows (channel, ky, kx) of oh*ow entries each, where row (c, ky, kx)
// at (oy, ox) reads image (c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw), zero
// outside. The same geometry serves conv2d (image = input) and
// conv_transpose2d (image = output).
// ---------------------------------------------------------------------------
typedef struct {
    int ih, iw;  // image plane
    int oh, ow;  // column plane
    int kh, kw, sh, sw, ph, pw, dh, dw;
} ck_lower_geom;

// cols rows [c0*kh*kw, c1*kh*kw) from image channels [c0, c1); rows are ld
// floats apart (ld >= oh*ow, so several images can sit side by side).
void ck_im2col(const ck_lower_geom *g, const float *img, int c0, int c1,
               float *cols, size_t ld);
// Image channels [c0, c1) (+)= the sum of their column rows (ld floats
// apart): overwritten when accumulate is 0, added to otherwise.
void ck_col2im(const ck_lower_geom *g, const float *cols, size_t ld, int c0,
               int c1, int accumulate, float *img);

// Starts loading n floats from p into L1, a cache line at a time: for a
// short run of rows (one channel's share of a task), which the hardware
// prefetchers find too late.
static inline void ck_prefetch_floats(const float *p, size_t n) {
    for (size_t e = 0; e < n; e += 16) __builtin_prefetch(p + e);
}

// dst[0, n) = src[0, n) for short rows (small images have rows of a few
// floats, where a memcpy call or a scalar tail costs more than the copy):
// two fixed-size blocks that may overlap instead of a loop and a tail.
static inline void ck_copy_floats(float *restrict dst,
                                  const float *restrict src, int n) {
#define CK_COPY(at, len)                                                      \
    for (int k = 0; k < (len); k++) dst[(at) + k] = src[(at) + k]
    if (n > 16) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (n >= 8) {
        CK_COPY(0, 8);
        CK_COPY(n - 8, 8);
    } else if (n >= 4) {
        CK_COPY(0, 4);
        CK_COPY(n - 4, 4);
    } else {  // not a loop, which the compiler turns back into memcpy
        if (n > 0) dst[0] = src[0];
        if (n > 1) dst[1] = src[1];
        if (n > 2) dst[2] = src[2];
    }
#undef CK_COPY
}

// The [lo, hi) range of output positions o < out whose input o*s + off
// lies in [0, n).
static inline void ck_valid_span(int n, int out, int s, int off, int *lo,
                                 int *hi) {
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

// The geometry of column rows [oy0, oy1) alone (a horizontal band of the
// output), so the columns can be built and consumed a cache-sized band at
// a time.
static inline ck_lower_geom ck_lower_band(const ck_lower_geom *g, int oy0,
                                          int oy1) {
    ck_lower_geom b = *g;
    b.oh = oy1 - oy0;
    b.ph = g->ph - oy0 * g->sh;  // oy' = oy - oy0 reads the same image rows
    return b;
}

// ---------------------------------------------------------------------------
// The GEMM-shaped convolution engine (conv2d.c). "img" tensors are
// [n, ci, ih, iw], "col-side" tensors [n, co, oh, ow], weights
// [co, ci/groups, kh, kw]: conv2d uses it directly, conv_transpose2d with the
// roles of input and output swapped.
// ---------------------------------------------------------------------------
typedef struct {
    int n, groups;
    int ci, co;  // total channels on the image and column side
    ck_lower_geom g;
} ck_conv_geom;

// out[n, co, oh, ow] = W x im2col(img) (+ bias[co] if not NULL).
void ck_conv_lower_gemm(const ck_conv_geom *cg, const float *img,
                        const float *w, const float *bias, float *out);
// img[n, ci, ih, iw] = col2im(W^T x col) (+ bias[ci] if not NULL).
void ck_conv_gemm_raise(const ck_conv_geom *cg, const float *col,
                        const float *w, const float *bias, float *img);
// dw[co, ci/groups, kh, kw] = sum over n of col x im2col(img)^T.
void ck_conv_weight_grad(const ck_conv_geom *cg, const float *img,
                         const float *col, float *dw);
// Convolution as an implicit GEMM over shifted windows of a padded input
// (conv_shift.c): no im2col matrix. The _applies checks say whether a
// geometry is supported (groups 1, strides up to 2 -- the data gradients
// stride 1 only --, an inner size above CK_SMALL_K, not a plain 1x1).
int ck_conv_shift_applies(const ck_conv_geom *cg);
// out = W x im2col(img) (+ bias[co]), as ck_conv_lower_gemm.
void ck_conv_shift_forward(const ck_conv_geom *cg, const float *img,
                           const float *w, const float *bias, float *out);
int ck_conv_shift_data_applies(const ck_conv_geom *cg);
// img = col2im(W^T x col) (+ bias[ci]), as ck_conv_gemm_raise, computed as
// a stride-1 conv of col with the flipped, transposed weights.
void ck_conv_shift_backward_data(const ck_conv_geom *cg, const float *col,
                                 const float *w, const float *bias,
                                 float *img);
// The same by scatter-adding W^T x col into a padded img, for the
// geometries the flipped conv serves badly (valid convs on small images).
int ck_conv_shift_raise_applies(const ck_conv_geom *cg);
void ck_conv_shift_raise(const ck_conv_geom *cg, const float *col,
                         const float *w, const float *bias, float *img);
// dw = sum over n of col x im2col(img)^T, as ck_conv_weight_grad.
int ck_conv_shift_weight_applies(const ck_conv_geom *cg);
void ck_conv_shift_weight_grad(const ck_conv_geom *cg, const float *img,
                               const float *col, float *dw);
// 3x3 stride-1 convs by Winograd's F(4x4, 3x3) (conv_winograd.c): a
// quarter of the multiplies, on the GEMM micro-kernel. The _applies checks
// say whether a geometry is supported (groups 1, no dilation, 16 to 512
// channels on the input side; the data gradient also needs padding <= 2).
int ck_conv_wino_applies(const ck_conv_geom *cg);
// out = W x im2col(img) (+ bias[co]), as ck_conv_lower_gemm, then ReLU
// (v > 0 ? v : 0) if relu.
void ck_conv_wino_forward(const ck_conv_geom *cg, const float *img,
                          const float *w, const float *bias, int relu,
                          float *out);
// The engine's view of a checked conv2d.
ck_conv_geom ck_conv2d_geom(const ck_conv2d_params *p);
// ck_conv_wino_forward followed by a 2x2 stride-2 max pool (unpadded) of
// its output, in the output transform: y and indices as
// ck_max_pool2d_relu_forward_f32 of the stored output, which is never
// written.
int ck_conv_wino_pool_applies(const ck_conv_geom *cg,
                              const ck_pool2d_params *pool);
void ck_conv_wino_forward_maxpool(const ck_conv_geom *cg, const float *img,
                                  const float *w, const float *bias, int relu,
                                  const ck_pool2d_params *pool, float *y,
                                  int32_t *indices);
// Both gradients of ck_conv_wino_forward_maxpool (without the bias):
// given the pooled gradient dy (masked by ReLU's mask, the pooled output,
// if not NULL) and the argmax indices, dx (if not NULL) and dw as the
// dense passes on the gradient the pool routes back, which is never
// written. Applies to small images (the passes that pad dy whole).
int ck_conv_wino_pooled_backward_applies(const ck_conv_geom *cg,
                                         const ck_pool2d_params *pool,
                                         int with_dx);
void ck_conv_wino_pooled_backward(const ck_conv_geom *cg,
                                  const ck_pool2d_params *pool, const float *x,
                                  const float *w, const float *mask,
                                  const float *dy, const int32_t *indices,
                                  float *dx, float *dw);
int ck_conv_wino_data_applies(const ck_conv_geom *cg);
// img = col2im(W^T x col) (+ bias[ci]), as ck_conv_gemm_raise.
void ck_conv_wino_backward_data(const ck_conv_geom *cg, const float *col,
                                const float *w, const float *bias, float *img);
// dw = sum over n of col x im2col(img)^T, as ck_conv_weight_grad.
int ck_conv_wino_weight_applies(const ck_conv_geom *cg);
void ck_conv_wino_weight_grad(const ck_conv_geom *cg, const float *img,
                              const float *col, float *dw);
// GEMM inner sizes up to this go to the direct kernels of conv_small.c.
#define CK_SMALL_K 16
// y[o][p] = bias[o] (0 if NULL) + sum_r w[o][r] * cols[r][p] for o < m,
// p < n, r < k; w is m x k, cols k rows of ldc, y m rows of ldy.
void ck_small_k_forward(int m, int n, int k, const float *w, const float *cols,
                        size_t ldc, const float *bias, float *y, size_t ldy);
// dw[o][r] = (dw[o][r] if accumulate) + sum_p dy[o][p] * cols[r][p]; dy is
// m rows of ldd, cols k rows of ldc, dw m x k.
void ck_small_k_weight(int m, int n, int k, const float *dy, size_t ldd,
                       const float *cols, size_t ldc, int accumulate,
                       float *dw);
// db[ch] = sum of t[n, ch, plane] over n and plane.
void ck_channel_sum(int n, int ch, size_t plane, const float *t, float *db);
// ck_max_pool2d_relu_backward_f32, also writing sums[q] = the sum of the
// gradient scattered from plane q (n*c planes; NULL for none): the terms
// of a bias gradient, read while they pass.
// The sums alone, the same bits.
void ck_max_pool2d_relu_backward_plane_sums(const ck_pool2d_params *p,
                                            const float *mask, const float *dy,
                                            double *sums);
void ck_max_pool2d_relu_backward_sums(const ck_pool2d_params *p,
                                      const float *mask, const float *dy,
                                      const int32_t *indices, float *dx,
                                      double *sums);

#endif  // CK_WORKSPACE_H
