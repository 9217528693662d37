/* cn_batchnorm: batch normalisation with the statistics of the current batch, in training and in
 * sampling alike (DESIGN §3, §6), NCHW (hw = H*W):
 *   y = (x - mean_c) * invstd_c * scale_c + shift_c,   invstd_c = 1 / sqrt(var_c + eps),
 * mean and the biased variance taken over n and hw (divided by n*hw). scale is optional: NULL
 * means 1 and no scale is learned (the reference generator learns only the shift).
 *
 * Channel statistics are sums over n*hw values (up to ~150k): one work-item per channel sums in
 * float8 vectors with Kahan compensation, two passes (mean, then the centred variance), so the
 * result keeps float precision, does not depend on the data's offset from zero, and is
 * deterministic (fixed order). The group variant (cn_tuning) shares a channel among a work-group,
 * each work-item summing its share the same way before a tree in local memory adds them. */
#ifndef CN_BATCHNORM_H
#define CN_BATCHNORM_H

#include <stddef.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes y (may be x) and the per-channel mean[c] and invstd[c] that the backward passes need. */
cn_status cn_batchnorm_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, float eps, const cn_buffer *x,
                               const cn_buffer *scale /* NULL: 1 */, const cn_buffer *shift, cn_buffer *y,
                               cn_buffer *mean, cn_buffer *invstd, cn_error *e);

/* The full batch-statistics gradient
 *   dx = scale * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)),   xhat = (x - mean) * invstd,
 * from x and the mean/invstd saved by the forward pass. dx may be dy; dx may not be x. */
cn_status cn_batchnorm_backward_data(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                     const cn_buffer *scale /* NULL: 1 */, const cn_buffer *mean,
                                     const cn_buffer *invstd, const cn_buffer *dy, cn_buffer *dx, cn_error *e);

/* dshift[c] = sum dy;  dscale[c] = sum dy * xhat (skipped when dscale is NULL). Overwrites both. */
cn_status cn_batchnorm_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                       const cn_buffer *mean, const cn_buffer *invstd, const cn_buffer *dy,
                                       cn_buffer *dscale /* NULL: none */, cn_buffer *dshift, cn_error *e);

/* SyncBatchNorm for data-parallel training: the batch is split over the ranks of dist, each
 * holding n of its rows; the statistics (forward) and the two gradient sums (backward) are those of
 * the whole batch, so every rank computes what one device would on its rows. Each waits for the
 * device and makes one small collective (2c + 1 values). The parameter gradients stay this rank's
 * part (cn_batchnorm_backward_params), to be summed with the others'. A single dist (NULL or one
 * rank) is cn_batchnorm_forward / cn_batchnorm_backward_data. sums: scratch of 2c floats. */
struct cn_dist;
cn_status cn_batchnorm_forward_synced(cn_runtime *rt, struct cn_dist *dist, size_t n, size_t c, size_t hw, float eps,
                                      const cn_buffer *x, const cn_buffer *scale, const cn_buffer *shift, cn_buffer *y,
                                      cn_buffer *mean, cn_buffer *invstd, cn_error *e);
cn_status cn_batchnorm_backward_data_synced(cn_runtime *rt, struct cn_dist *dist, size_t n, size_t c, size_t hw,
                                            const cn_buffer *x, const cn_buffer *scale, const cn_buffer *mean,
                                            const cn_buffer *invstd, const cn_buffer *dy, cn_buffer *dx,
                                            cn_buffer *sums, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
