// Naive SGEMM: the oracle ck_sgemm is tested against. Accumulates in double
// so that it is closer to the exact product than any float kernel.
#include "ckernels.h"

#include <stddef.h>

void ck_sgemm_ref(int trans_a, int trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int p = 0; p < k; p++) {
                float x = trans_a ? a[(ptrdiff_t)p * lda + i]
                                  : a[(ptrdiff_t)i * lda + p];
                float y = trans_b ? b[(ptrdiff_t)j * ldb + p]
                                  : b[(ptrdiff_t)p * ldb + j];
                sum += (double)x * y;
            }
            float *cij = &c[(ptrdiff_t)i * ldc + j];
            // beta == 0 must not read C (it may hold NaN).
            double prior = beta == 0.0f ? 0.0 : (double)beta * *cij;
            *cij = (float)((double)alpha * sum + prior);
        }
    }
}
