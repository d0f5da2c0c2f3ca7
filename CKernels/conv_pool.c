// conv2d followed by max pooling without storing the conv output.
//
// MNIST's first layer turns 512 1x28x28 images into a 44 MB 32x26x26 conv
// output that the pool reads back, and in the backward pass a 44 MB
// gradient that is zeroed, scattered into, and read twice (weight and bias
// gradients), for 0.4 MFLOP per image. Here a block of a few images at a
// time goes conv -> pool in a per-thread buffer that stays in L2; the
// backward pass scatters the pooled gradient of a block into that buffer
// and runs the conv's gradients on it. The kernels are the unfused ones,
// called per block (inside the parallel region they run on one thread).
// Compute-bound convs (GEMM, Winograd) run as one block of the whole batch;
// a Winograd conv with a 2x2 stride-2 pool pools in its output transform
// and scatters the pooled gradient into its backward passes' padded dy
// (conv_winograd.c, conv_winograd_data.c), the same bits as the unfused
// passes.
//
// The weight gradient sums blocks in fixed chunks and the chunks in order,
// so it is the same at any thread count, though not bit for bit the order
// of the unfused weight gradient over the whole batch.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "workspace.h"

// Floats of conv output per block (256 KiB: the block's input, conv output
// and pooled output stay in L2).
#ifndef FUSE_BLOCK_FLOATS
#define FUSE_BLOCK_FLOATS (1L << 16)
#endif
// Chunks of blocks the weight gradient is summed in (each one thread's
// partial; a constant, so sums never depend on the thread count).
#define FUSE_CHUNKS 8

typedef struct {
    ck_conv2d_params conv;
    ck_pool2d_params pool;
    int blk, blocks;             // images per block, blocks
    size_t x_img, c_img, y_img;  // floats per image: input, conv, pooled
    size_t wsize;
} fuse_plan;

static fuse_plan plan_of(const ck_conv2d_params *conv,
                         const ck_pool2d_params *pool) {
    fuse_plan f;
    f.conv = *conv;
    f.pool = *pool;
    f.x_img = (size_t)conv->c * conv->h * conv->w;
    f.c_img = (size_t)conv->k * conv->out_h * conv->out_w;
    f.y_img = (size_t)pool->c * pool->out_h * pool->out_w;
    f.wsize = (size_t)conv->k * (conv->c / conv->groups) * conv->kh * conv->kw;
    long blk;
    if ((long)(conv->c / conv->groups) * conv->kh * conv->kw > CK_SMALL_K) {
        // Blocks pay for memory-bound convs (inner size up to CK_SMALL_K,
        // direct kernels). GEMM-based ones lose more by running per block
        // (weights transformed and packed again, fewer tiles or columns a
        // call) than the pool's passes cost: one block of the whole batch,
        // the unfused kernels' own calls.
        blk = conv->n;
    } else {
        blk = FUSE_BLOCK_FLOATS / (long)f.c_img;
        // ... and at least FUSE_CHUNKS blocks when there are that many
        // images.
        const long most = (conv->n + FUSE_CHUNKS - 1) / FUSE_CHUNKS;
        if (blk > most) blk = most;
        if (blk < 1) blk = 1;
    }
    f.blk = (int)blk;
    f.blocks = (int)((conv->n + blk - 1) / blk);
    return f;
}

// The parameters of images [i0, i0 + nb).
static void block_params(const fuse_plan *f, int nb, ck_conv2d_params *c,
                         ck_pool2d_params *p) {
    *c = f->conv;
    c->n = nb;
    *p = f->pool;
    p->n = nb;
}

static int fuse_threads(const fuse_plan *f, long units) {
    double fmas = (double)f->conv.n * f->c_img * f->wsize / f->conv.k;
    int nt = fmas < (1L << 16) ? 1 : ck_team_threads();
    return nt > units ? (int)units : nt;
}

int ck_conv2d_maxpool_check(ck_conv2d_params *conv, ck_pool2d_params *pool,
                            char *err, size_t err_len) {
    if (ck_conv2d_check(conv, err, err_len) != 0) return -1;
    if (pool->n != conv->n || pool->c != conv->k || pool->h != conv->out_h ||
        pool->w != conv->out_w) {
        if (err && err_len)
            snprintf(err, err_len,
                     "conv2d_maxpool: the pool's input [%d, %d, %d, %d] is "
                     "not the conv's output [%d, %d, %d, %d]",
                     pool->n, pool->c, pool->h, pool->w, conv->n, conv->k,
                     conv->out_h, conv->out_w);
        return -1;
    }
    return ck_pool2d_check(pool, "conv2d_maxpool", err, err_len);
}

void ck_conv2d_maxpool_forward_f32(const ck_conv2d_params *conv,
                                   const ck_pool2d_params *pool,
                                   const float *x, const float *w,
                                   const float *bias, int relu, float *y,
                                   int32_t *indices) {
    // A Winograd conv pools in its output transform, 2x2 stride 2.
    const ck_conv_geom cg = ck_conv2d_geom(conv);
    if (ck_conv_wino_pool_applies(&cg, pool)) {
        ck_conv_wino_forward_maxpool(&cg, x, w, bias, relu, pool, y, indices);
        return;
    }
    const fuse_plan f = plan_of(conv, pool);
    const int nt = fuse_threads(&f, f.blocks);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int b = 0; b < f.blocks; b++) {
        const int i0 = b * f.blk;
        const int nb = f.conv.n - i0 < f.blk ? f.conv.n - i0 : f.blk;
        ck_conv2d_params cp;
        ck_pool2d_params pp;
        block_params(&f, nb, &cp, &pp);
        float *c = ck_ws_floats(CK_WS_FUSED, (size_t)nb * f.c_img);
        ck_conv2d_forward_f32(&cp, x + i0 * f.x_img, w, bias, c);
        ck_max_pool2d_relu_forward_f32(&pp, c, relu, y + i0 * f.y_img,
                                       indices + i0 * f.y_img);
    }
}

// Every conv-output gradient is a pooled one (or a sum of them, for
// overlapping windows) that the ReLU passed: the bias gradient sums the
// planes' sums, image by image in order.
static void bias_from_sums(const fuse_plan *f, const double *sums, float *db) {
    for (int c = 0; c < f->pool.c; c++) {
        double acc = 0.0;
        for (int i = 0; i < f->pool.n; i++)
            acc += sums[(size_t)i * f->pool.c + c];
        db[c] = (float)acc;
    }
}

void ck_conv2d_maxpool_backward_f32(const ck_conv2d_params *conv,
                                    const ck_pool2d_params *pool,
                                    const float *x, const float *w,
                                    const float *y, const float *dy,
                                    const int32_t *indices, float *dx,
                                    float *dw, float *db) {
    const fuse_plan f = plan_of(conv, pool);
    const ck_conv_geom cg = ck_conv2d_geom(conv);
    if (ck_conv_wino_pooled_backward_applies(&cg, pool, dx != NULL)) {
        // Winograd scatters the pooled gradient into its padded dy blocks;
        // the bias gradient sums the same planes' sums.
        if (db) {
            const size_t nplanes = (size_t)f.pool.n * f.pool.c;
            double *sums =
                (double *)ck_ws_floats(CK_WS_FUSED_SUM, 2 * nplanes);
            ck_max_pool2d_relu_backward_plane_sums(pool, y, dy, sums);
            bias_from_sums(&f, sums, db);
        }
        ck_conv_wino_pooled_backward(&cg, pool, x, w, y, dy, indices, dx, dw);
        return;
    }
    const int chunks = f.blocks < FUSE_CHUNKS ? f.blocks : FUSE_CHUNKS;
    // The chunks' weight partials, then (doubles) each pooled plane's sum
    // for the bias gradient.
    const size_t nplanes = (size_t)f.pool.n * f.pool.c;
    float *part = ck_ws_floats(CK_WS_FUSED_SUM,
                               (size_t)chunks * f.wsize + 2 * nplanes + 2);
    double *sums =
        (double *)(((uintptr_t)(part + (size_t)chunks * f.wsize) + 7) &
                   ~(uintptr_t)7);
    const int nt = fuse_threads(&f, chunks);
    (void)nt;  // unused without OpenMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int ch = 0; ch < chunks; ch++) {
        const int b0 = (int)((long)ch * f.blocks / chunks);
        const int b1 = (int)((long)(ch + 1) * f.blocks / chunks);
        float *sum = part + ch * f.wsize;
        for (int b = b0; b < b1; b++) {
            const int i0 = b * f.blk;
            const int nb = f.conv.n - i0 < f.blk ? f.conv.n - i0 : f.blk;
            ck_conv2d_params cp;
            ck_pool2d_params pp;
            block_params(&f, nb, &cp, &pp);
            // The block's conv-output gradient, then the block's weight
            // gradient (added to the chunk's sum after the first block).
            float *g =
                ck_ws_floats(CK_WS_FUSED, (size_t)nb * f.c_img + f.wsize);
            float *wb = g + (size_t)nb * f.c_img;
            ck_max_pool2d_relu_backward_sums(&pp, y ? y + i0 * f.y_img : NULL,
                                             dy + i0 * f.y_img,
                                             indices + i0 * f.y_img, g,
                                             db ? sums + (size_t)i0 * f.pool.c
                                                : NULL);
            if (dx) ck_conv2d_backward_data_f32(&cp, g, w, dx + i0 * f.x_img);
            ck_conv2d_backward_weight_f32(&cp, x + i0 * f.x_img, g,
                                          b == b0 ? sum : wb);
            if (b != b0)
                for (size_t e = 0; e < f.wsize; e++) sum[e] += wb[e];
        }
    }
    memcpy(dw, part, sizeof(float) * f.wsize);
    for (int ch = 1; ch < chunks; ch++)
        for (size_t e = 0; e < f.wsize; e++) dw[e] += part[ch * f.wsize + e];
    if (db) bias_from_sums(&f, sums, db);
}
