// Softmax cross-entropy against class indices, over a class axis that is
// either last ([rows, classes]: inner = 1) or in the middle ([outer,
// classes, inner], a segmentation model's NCHW scores with inner = H * W),
// so per-pixel losses need no transposed copy.
//
// A position's log-probabilities use the arithmetic of ck_softmax_f32
// (max, then the exponentials summed in double in class order), so the two
// agree bit for bit. The loss is summed in double over positions in order
// within blocks of CK_XENT_BLOCK positions, and the blocks' sums are added
// in order: the result does not depend on the thread count, and up to one
// block it is the plain sequential sum.
#include <math.h>

#include "ckernels.h"
#include "workspace.h"

#define CK_XENT_BLOCK 16384
// Below this many logits the loss runs on the calling thread.
#define CK_XENT_PARALLEL_MIN 32768

// The class index a float label holds, or -1 when it holds none.
static inline int64_t label_class(float v, int64_t classes) {
    if (!(v >= 0.0f) || v >= (float)classes) return -1;
    const int64_t c = (int64_t)v;
    return (float)c == v ? c : -1;
}

int64_t ck_softmax_xent_f32(int64_t outer, int64_t classes, int64_t inner,
                            const float *x, const float *labels,
                            const float *weights, float *logp, double *loss,
                            double *weight_sum) {
    const int64_t rows = outer * inner;
    const int64_t blocks = (rows + CK_XENT_BLOCK - 1) / CK_XENT_BLOCK;
    // Per block: loss, weight sum, first bad position (as a double).
    double *part = (double *)ck_ws_floats(CK_WS_AUX, 6 * (size_t)blocks);
#pragma omp parallel for schedule(static) if (rows * classes >=               \
                                              CK_XENT_PARALLEL_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t r1 =
            (b + 1) * CK_XENT_BLOCK < rows ? (b + 1) * CK_XENT_BLOCK : rows;
        double total = 0, wsum = 0;
        int64_t bad = -1;
        int64_t o = b * CK_XENT_BLOCK / inner, i = b * CK_XENT_BLOCK % inner;
        for (int64_t r = b * CK_XENT_BLOCK; r < r1; r++) {
            const float *src = x + o * classes * inner + i;
            float *dst = logp + o * classes * inner + i;
            if (++i == inner) i = 0, o++;
            float m = src[0];
            for (int64_t j = 1; j < classes; j++)
                m = src[j * inner] > m ? src[j * inner] : m;
            double sum = 0;
            for (int64_t j = 0; j < classes; j++)
                sum += expf(src[j * inner] - m);
            const float lse = m + (float)log(sum);
            for (int64_t j = 0; j < classes; j++)
                dst[j * inner] = src[j * inner] - lse;
            const int64_t c = label_class(labels[r], classes);
            if (c < 0) {
                if (bad < 0) bad = r;
                continue;
            }
            const double w = weights ? (double)weights[c] : 1.0;
            total -= w * (double)dst[c * inner];
            wsum += w;
        }
        part[3 * b] = total;
        part[3 * b + 1] = wsum;
        part[3 * b + 2] = (double)bad;
    }
    double total = 0, wsum = 0;
    for (int64_t b = 0; b < blocks; b++) {
        if (part[3 * b + 2] >= 0) return (int64_t)part[3 * b + 2];
        total += part[3 * b];
        wsum += part[3 * b + 1];
    }
    *loss = total;
    *weight_sum = wsum;
    return -1;
}

void ck_softmax_xent_backward_f32(int64_t outer, int64_t classes,
                                  int64_t inner, const float *logp,
                                  const float *labels, const float *weights,
                                  float scale, float *dx) {
#pragma omp parallel for schedule(static) if (outer * classes * inner >=      \
                                              CK_XENT_PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t at = o * classes * inner + i;
            // Labels were checked by the forward pass.
            const int64_t c = (int64_t)labels[o * inner + i];
            const float w = (weights ? weights[c] : 1.0f) * scale;
            for (int64_t j = 0; j < classes; j++) {
                const float p = expf(logp[at + j * inner]);
                dx[at + j * inner] = w * (p - (j == c ? 1.0f : 0.0f));
            }
        }
}
