// SwiftGrad numeric kernels: the one public header.
//
// Conventions
// - Every tensor is float32, dense, row-major (C order). Images are NCHW.
// - Names are ck_<op>_<pass>_f32; the parameters of an op live in a struct.
// - Kernels never allocate per call in the steady state: scratch space comes
//   from a per-thread workspace that grows to the largest request and is kept.
// - Reductions (weight and bias gradients) split work into fixed blocks and
//   sum the blocks in a fixed order, so results do not depend on the number
//   of threads.
// - ck_*_check functions validate parameters and compute output sizes; they
//   return 0 when valid, or -1 after writing a message that names the op and
//   the offending values into err (if err is not NULL).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------
// Threads and CPU features
// ---------------------------------------------------------------------------

/// Sets the number of OpenMP threads used by every kernel (n >= 1).
void ck_set_num_threads(int n);
/// The number of threads kernels will use.
int ck_get_num_threads(void);
/// The vector instruction set chosen at run time: "avx512", "avx2", "generic".
const char *ck_isa_name(void);
/// Forces an instruction set ("avx512", "avx2", "generic") for testing;
/// returns 0 on success, -1 if the CPU lacks it or the name is unknown.
int ck_force_isa(const char *name);
/// Whether 3x3 stride-1 convs (forward and input gradient) may use
/// Winograd's F(4x4, 3x3): a quarter of the multiplies, with rounding errors
/// several times those of a direct sum (about 1e-5 of the output's scale
/// instead of 1e-6). On by default; off makes every conv a direct sum, as
/// PyTorch computes it on CPU. Set it between kernel calls, not during one.
void ck_set_winograd(int enabled);
int ck_get_winograd(void);
/// Measures peak FP32 GFLOP/s of the current ISA with an FMA loop on the
/// given number of threads (takes about a quarter of a second).
double ck_measure_peak_gflops(int threads);

// ---------------------------------------------------------------------------
// GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.
// op(A) is M x K, op(B) is K x N, C is M x N. trans_a != 0 means A is stored
// K x M (row-major) and used transposed; likewise trans_b.
// ---------------------------------------------------------------------------
void ck_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc);

// ---------------------------------------------------------------------------
// conv2d (PyTorch semantics). Input [n, c, h, w]; weight [k, c/groups, kh, kw];
// bias [k] or NULL; output [n, k, out_h, out_w] with
// out = (in + 2*pad - dil*(kernel-1) - 1) / stride + 1.
// ---------------------------------------------------------------------------
typedef struct {
    int n, c, h, w;  // input batch, channels, height, width
    int k;           // output channels
    int kh, kw;      // kernel size
    int stride_h, stride_w;
    int pad_h, pad_w;
    int dil_h, dil_w;
    int groups;
    int out_h, out_w;  // filled in by ck_conv2d_check
} ck_conv2d_params;

int ck_conv2d_check(ck_conv2d_params *p, char *err, size_t err_len);
/// The algorithm a pass (0 forward, 1 input gradient, 2 weight gradient)
/// of a checked conv2d runs with the current settings: "winograd",
/// "shifted-window" (implicit GEMM) or "gemm" (im2col or direct kernels).
const char *ck_conv2d_algorithm(const ck_conv2d_params *p, int pass);

void ck_conv2d_forward_f32(const ck_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y);
/// The forward pass, then ReLU (v > 0 ? v : 0, as ck_unary_f32) on y when
/// relu is set: in Winograd's output transform, else a pass after.
void ck_conv2d_forward_relu_f32(const ck_conv2d_params *p, const float *x,
                                const float *w, const float *bias, int relu,
                                float *y);
/// dx = gradient wrt input (overwritten).
void ck_conv2d_backward_data_f32(const ck_conv2d_params *p, const float *dy,
                                 const float *w, float *dx);
/// dw = gradient wrt weight (overwritten).
void ck_conv2d_backward_weight_f32(const ck_conv2d_params *p, const float *x,
                                   const float *dy, float *dw);
/// db = gradient wrt bias (overwritten), [k].
void ck_conv2d_backward_bias_f32(const ck_conv2d_params *p, const float *dy,
                                 float *db);

// ---------------------------------------------------------------------------
// conv_transpose2d (PyTorch semantics). Input [n, c, h, w]; weight
// [c, k/groups, kh, kw]; bias [k] or NULL; output [n, k, out_h, out_w] with
// out = (in-1)*stride - 2*pad + dil*(kernel-1) + output_padding + 1.
// output_padding must be smaller than stride or dilation.
// ---------------------------------------------------------------------------
typedef struct {
    int n, c, h, w;  // input batch, channels, height, width
    int k;           // output channels
    int kh, kw;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int out_pad_h, out_pad_w;
    int dil_h, dil_w;
    int groups;
    int out_h, out_w;  // filled in by ck_conv_transpose2d_check
} ck_conv_transpose2d_params;

int ck_conv_transpose2d_check(ck_conv_transpose2d_params *p, char *err,
                              size_t err_len);
void ck_conv_transpose2d_forward_f32(const ck_conv_transpose2d_params *p,
                                     const float *x, const float *w,
                                     const float *bias, float *y);
void ck_conv_transpose2d_backward_data_f32(const ck_conv_transpose2d_params *p,
                                           const float *dy, const float *w,
                                           float *dx);
void ck_conv_transpose2d_backward_weight_f32(
    const ck_conv_transpose2d_params *p, const float *x, const float *dy,
    float *dw);
void ck_conv_transpose2d_backward_bias_f32(const ck_conv_transpose2d_params *p,
                                           const float *dy, float *db);

// ---------------------------------------------------------------------------
// Pooling (PyTorch semantics, floor mode). Input [n, c, h, w]; output
// [n, c, out_h, out_w], out = (in + 2*pad - kernel) / stride + 1.
// pad must be at most kernel/2. Max pooling treats padding as -infinity and
// records, per output, the flat index (y*w + x) of the maximum inside its
// input plane; backward scatters dy there.
// ---------------------------------------------------------------------------
typedef struct {
    int n, c, h, w;
    int kh, kw;
    int stride_h, stride_w;
    int pad_h, pad_w;
    int count_include_pad;  // avg pool only: divide by the full window
    int out_h, out_w;       // filled in by ck_pool2d_check
} ck_pool2d_params;

int ck_pool2d_check(ck_pool2d_params *p, const char *op_name, char *err,
                    size_t err_len);

// ---------------------------------------------------------------------------
// conv2d then max pooling, fused: for memory-bound convs (inner size
// c/groups*kh*kw up to 16) the conv output is computed a few images at a
// time into a per-thread buffer and pooled there, never stored whole, and
// the backward pass rebuilds the conv-output gradient a few images at a
// time from the pooled gradient and the argmax indices; other convs run
// on the whole batch. Values, indices and the input gradient are those of
// ck_conv2d_forward_f32 then ck_max_pool2d_forward_f32 (and back); the
// weight and bias gradients sum the same terms in another order. All are
// the same at any thread count.
// pool describes the pooling of the conv output (n, c, h, w = the conv's
// n, k, out_h, out_w). With relu set, the pooled values go through ReLU
// (v > 0 ? v : 0, as ck_unary_f32) and the backward pass takes that output
// as y: dy counts only where y > 0. Pass y = NULL without ReLU.
// ---------------------------------------------------------------------------
int ck_conv2d_maxpool_check(ck_conv2d_params *conv, ck_pool2d_params *pool,
                            char *err, size_t err_len);
void ck_conv2d_maxpool_forward_f32(const ck_conv2d_params *conv,
                                   const ck_pool2d_params *pool,
                                   const float *x, const float *w,
                                   const float *bias, int relu, float *y,
                                   int32_t *indices);
/// dw is overwritten; dx and db too unless NULL (not computed).
void ck_conv2d_maxpool_backward_f32(const ck_conv2d_params *conv,
                                    const ck_pool2d_params *pool,
                                    const float *x, const float *w,
                                    const float *y, const float *dy,
                                    const int32_t *indices, float *dx,
                                    float *dw, float *db);
void ck_max_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y, int32_t *indices);
/// dx is overwritten.
void ck_max_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                const int32_t *indices, float *dx);
/// Max pooling then, when relu is set, ReLU on the pooled values (the
/// formula of ck_unary_f32's CK_RELU); indices stay the windows' argmax.
void ck_max_pool2d_relu_forward_f32(const ck_pool2d_params *p, const float *x,
                                    int relu, float *y, int32_t *indices);
/// Its input gradient: dy counts only where y (that op's output) is > 0;
/// y NULL is ck_max_pool2d_backward_f32. dx is overwritten.
void ck_max_pool2d_relu_backward_f32(const ck_pool2d_params *p, const float *y,
                                     const float *dy, const int32_t *indices,
                                     float *dx);
void ck_avg_pool2d_forward_f32(const ck_pool2d_params *p, const float *x,
                               float *y);
/// dx is overwritten.
void ck_avg_pool2d_backward_f32(const ck_pool2d_params *p, const float *dy,
                                float *dx);

// ---------------------------------------------------------------------------
// Naive references: plain loops, no OpenMP, no GEMM. The oracle for tests.
// Same signatures as the fast kernels with a _ref suffix.
// ---------------------------------------------------------------------------
void ck_sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);
void ck_conv2d_forward_f32_ref(const ck_conv2d_params *p, const float *x,
                               const float *w, const float *bias, float *y);
void ck_conv2d_backward_data_f32_ref(const ck_conv2d_params *p,
                                     const float *dy, const float *w,
                                     float *dx);
void ck_conv2d_backward_weight_f32_ref(const ck_conv2d_params *p,
                                       const float *x, const float *dy,
                                       float *dw);
void ck_conv2d_backward_bias_f32_ref(const ck_conv2d_params *p,
                                     const float *dy, float *db);
void ck_conv_transpose2d_forward_f32_ref(const ck_conv_transpose2d_params *p,
                                         const float *x, const float *w,
                                         const float *bias, float *y);
void ck_conv_transpose2d_backward_data_f32_ref(
    const ck_conv_transpose2d_params *p, const float *dy, const float *w,
    float *dx);
void ck_conv_transpose2d_backward_weight_f32_ref(
    const ck_conv_transpose2d_params *p, const float *x, const float *dy,
    float *dw);
void ck_conv_transpose2d_backward_bias_f32_ref(
    const ck_conv_transpose2d_params *p, const float *dy, float *db);
void ck_max_pool2d_forward_f32_ref(const ck_pool2d_params *p, const float *x,
                                   float *y, int32_t *indices);
void ck_max_pool2d_backward_f32_ref(const ck_pool2d_params *p, const float *dy,
                                    const int32_t *indices, float *dx);
void ck_avg_pool2d_forward_f32_ref(const ck_pool2d_params *p, const float *x,
                                   float *y);
void ck_avg_pool2d_backward_f32_ref(const ck_pool2d_params *p, const float *dy,
                                    float *dx);

// ---------------------------------------------------------------------------
// Element-wise and reductions (elementwise.c). Shapes are given as rank and
// dims; broadcast operands pass strides with 0 on broadcast axes.
// ---------------------------------------------------------------------------
#define CK_MAX_RANK 8

typedef enum {
    CK_ADD = 0,
    CK_SUB,
    CK_MUL,
    CK_DIV,
    CK_POW,
    CK_MAX,
    CK_MIN
} ck_binary_op;

typedef enum {
    CK_NEG = 0,
    CK_EXP,
    CK_LOG,
    CK_SQRT,
    CK_TANH,
    CK_SIGMOID,
    CK_RELU,
    CK_ABS
} ck_unary_op;

/// out[i] = a[ia] op b[ib] over the broadcast shape (rank <= CK_MAX_RANK).
void ck_binary_f32(ck_binary_op op, int rank, const int64_t *dims,
                   const float *a, const int64_t *a_strides, const float *b,
                   const int64_t *b_strides, float *out);
/// out[i] = op(x[i]) for count elements (in place allowed).
void ck_unary_f32(ck_unary_op op, int64_t count, const float *x, float *out);
/// dx[i] = y[i] > 0 ? dy[i] : 0, the ReLU pullback from its output y.
void ck_relu_backward_f32(int64_t count, const float *y, const float *dy,
                          float *dx);
/// The same on a tensor [n, ch, plane], and with it db[c] = the sum of
/// dx[:, c, :] (the bias gradient of the layer before the ReLU; summed as
/// ck_conv2d_backward_bias_f32 sums dx), in one pass. db NULL: no sums.
void ck_relu_backward_bias_f32(int n, int ch, int64_t plane, const float *y,
                               const float *dy, float *dx, float *db);
/// rows runs of len floats: dst[r * dst_stride + j] = src[r * src_stride +
/// j] (a slice or one piece of a concatenation), in parallel for large
/// copies. The runs must not overlap.
void ck_copy_rows_f32(int64_t rows, int64_t len, const float *src,
                      int64_t src_stride, float *dst, int64_t dst_stride);
/// One Adam step on count parameters (PyTorch's torch.optim.Adam; the
/// caller folds the bias corrections into step_size = lr / (1 - beta1^t)
/// and inv_root_bc2 = 1 / sqrt(1 - beta2^t)):
///   g' = g + l2 * p;  m = beta1 * m + (1 - beta1) * g';
///   v = beta2 * v + (1 - beta2) * g' * g';
///   p -= step_size * m / (sqrt(v) * inv_root_bc2 + eps)
/// without fused multiply-adds, so each element rounds as the scalar
/// formula does, at any thread count.
void ck_adam_step_f32(int64_t count, float *p, const float *g, float *m,
                      float *v, float step_size, float inv_root_bc2,
                      float beta1, float beta2, float eps, float l2);
/// out[i] = a[i] * alpha + b[i] * beta for count elements (in place allowed).
void ck_axpby_f32(int64_t count, float alpha, const float *a, float beta,
                  const float *b, float *out);
/// Sums a tensor of shape [outer, axis, inner] over axis into [outer, inner].
void ck_sum_axis_f32(int64_t outer, int64_t axis, int64_t inner,
                     const float *x, float *out);
/// Max over axis of [outer, axis, inner]; index of the first max (may be NULL).
void ck_max_axis_f32(int64_t outer, int64_t axis, int64_t inner,
                     const float *x, float *out, int64_t *argmax);
/// Sums broadcast-expanded data back to a smaller shape: out has dims with
/// out_strides (0 on reduced axes) inside the full shape dims; out must be
/// zeroed by the caller. Deterministic (sequential per output element).
void ck_reduce_to_f32(int rank, const int64_t *dims, const float *x,
                      const int64_t *out_strides, float *out);
/// Softmax / log-softmax over the last axis of [rows, cols].
void ck_softmax_f32(int64_t rows, int64_t cols, const float *x, float *out,
                    int log_space);
/// Softmax cross-entropy of scores [outer, classes, inner] (class j of
/// position (o, i) at x[(o * classes + j) * inner + i]) against float class
/// indices labels[o * inner + i], with optional per-class weights. Writes
/// the softmax probabilities to prob (same layout), the weighted sum of the
/// positions' losses to *loss and the sum of their weights to *weight_sum.
/// Returns -1, or the first position whose label is not a class index in
/// 0..<classes (then *loss is not written). Deterministic at any thread
/// count.
int64_t ck_softmax_xent_f32(int64_t outer, int64_t classes, int64_t inner,
                            const float *x, const float *labels,
                            const float *weights, float *prob, double *loss,
                            double *weight_sum);
/// Gradient of that loss times scale (the upstream gradient over the weight
/// sum): dx = w[label] * scale * (prob - onehot(label)).
void ck_softmax_xent_backward_f32(int64_t outer, int64_t classes,
                                  int64_t inner, const float *prob,
                                  const float *labels, const float *weights,
                                  float scale, float *dx);
/// Copies a strided view (rank <= CK_MAX_RANK) into a dense buffer.
void ck_gather_strided_f32(int rank, const int64_t *dims, const float *x,
                           const int64_t *strides, float *out);

#ifdef __cplusplus
}
#endif

#endif  // CKERNELS_H
