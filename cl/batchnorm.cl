/* Batch normalisation with batch statistics, NCHW (vectors and sums: cn_elementwise.h).
 * Statistics and gradient sums in two variants: one work-item per channel walks its n planes of
 * hw contiguous floats (the kernels without suffix), or a work-group per channel shares them
 * (the _group kernels, cn_group_reduce.h). scale may be a NULL buffer, meaning 1. */
#include "cn_group_reduce.h"

/* mean[ch] and invstd[ch] = 1/sqrt(var + eps), var biased; two passes, the second centred (exact
 * for data far from zero, unlike E[x^2] - E[x]^2). With centred_sum_only the second output is the
 * centred sum of squares instead, which ranks holding parts of one batch combine (Chan et al.). */
__kernel void cn_batchnorm_statistics(__global const float *x, __global float *mean_out, __global float *invstd_out,
                                      const ulong n, const ulong c, const ulong hw, const float eps,
                                      const int centred_sum_only) {
    size_t ch = get_global_id(0);
    if (ch >= c) return;
    float values = (float)(n * hw);
    cn_kahan8 sum = CN_KAHAN8_ZERO, squares = CN_KAHAN8_ZERO;
    CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, cn_kahan8_add(&sum, cn_load8(x + at, count));)
    float mean = cn_kahan8_total(&sum) / values;
    CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 d = cn_first_lanes(cn_load8(x + at, count) - mean, count);
        cn_kahan8_add(&squares, d * d);
    })
    mean_out[ch] = mean;
    float centred_sum = cn_kahan8_total(&squares);
    invstd_out[ch] = centred_sum_only ? centred_sum : 1.0f / sqrt(centred_sum / values + eps);
}

/* y[row, :] = (x[row, :] - mean) * invstd * scale + shift of channel row % c, a work-item a row. */
__kernel void cn_batchnorm_normalise(__global const float *x, __global const float *scale, __global const float *shift,
                                     __global const float *mean_in, __global const float *invstd_in, __global float *y,
                                     const ulong rows, const ulong c, const ulong hw) {
    size_t row = get_global_id(0);
    if (row >= rows) return;
    size_t ch = row % c;
    float mean = mean_in[ch], gain = invstd_in[ch] * (scale ? scale[ch] : 1.0f), offset = shift[ch];
    CN_FOR_VECTORS(at, count, row * hw, hw, cn_store8((cn_load8(x + at, count) - mean) * gain + offset, y + at, count);)
}

/* The two channel sums both backward passes need: sum dy and sum dy * (x - mean) (padded lanes
 * have dy = 0, so they add nothing). */
static inline float2 cn_batchnorm_gradient_sums(__global const float *x, __global const float *dy, float mean,
                                                size_t n, size_t c, size_t ch, size_t hw) {
    cn_kahan8 sum_dy = CN_KAHAN8_ZERO, sum_dy_centred = CN_KAHAN8_ZERO;
    CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 g = cn_load8(dy + at, count);
        cn_kahan8_add(&sum_dy, g);
        cn_kahan8_add(&sum_dy_centred, g * (cn_load8(x + at, count) - mean));
    })
    return (float2)(cn_kahan8_total(&sum_dy), cn_kahan8_total(&sum_dy_centred));
}

/* The two sums of each channel into sums[ch] and sums[c + ch], for ranks that add theirs up. */
__kernel void cn_batchnorm_channel_gradient_sums(__global const float *x, __global const float *mean_in,
                                                 __global const float *dy, __global float *sums, const ulong n,
                                                 const ulong c, const ulong hw) {
    size_t ch = get_global_id(0);
    if (ch >= c) return;
    float2 s = cn_batchnorm_gradient_sums(x, dy, mean_in[ch], n, c, ch, hw);
    sums[ch] = s.x;
    sums[c + ch] = s.y;
}

/* dx = scale*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)), xhat = (x - mean)*invstd: the sums,
 * then the writes, in one work-item per channel (there is no buffer to pass the sums through).
 * given_sums (NULL: this batch's own) holds the sums over a whole batch of which this is a part,
 * total_values its n*hw. */
__kernel void cn_batchnorm_backward_data(__global const float *x, __global const float *scale,
                                         __global const float *mean_in, __global const float *invstd_in,
                                         __global const float *dy, __global float *dx, const ulong n, const ulong c,
                                         const ulong hw, __global const float *given_sums, const float total_values) {
    size_t ch = get_global_id(0);
    if (ch >= c) return;
    float mean = mean_in[ch], invstd = invstd_in[ch];
    float values = given_sums ? total_values : (float)(n * hw);
    float2 sums = given_sums ? (float2)(given_sums[ch], given_sums[c + ch])
                             : cn_batchnorm_gradient_sums(x, dy, mean, n, c, ch, hw);
    float mean_dy = sums.x / values;
    float centred_factor = invstd * invstd * (sums.y / values); /* xhat*mean(dy*xhat) = (x-mean)*this */
    float gain = invstd * (scale ? scale[ch] : 1.0f);
    CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 centred = cn_load8(x + at, count) - mean;
        cn_store8(gain * (cn_load8(dy + at, count) - mean_dy - centred * centred_factor), dx + at, count);
    })
}

/* dshift = sum dy;  dscale = sum dy * xhat = invstd * sum dy * (x - mean)  (dscale may be NULL). */
__kernel void cn_batchnorm_backward_params(__global const float *x, __global const float *mean_in,
                                           __global const float *invstd_in, __global const float *dy,
                                           __global float *dscale, __global float *dshift, const ulong n,
                                           const ulong c, const ulong hw) {
    size_t ch = get_global_id(0);
    if (ch >= c) return;
    float2 sums = cn_batchnorm_gradient_sums(x, dy, mean_in[ch], n, c, ch, hw);
    dshift[ch] = sums.x;
    if (dscale) dscale[ch] = invstd_in[ch] * sums.y;
}

/* ---- a work-group per channel (launched with c groups; scratch: one float2 per work-item) ----- */

/* This work-item's share of the two gradient sums of channel ch, added over the group. */
static inline float2 cn_batchnorm_group_gradient_sums(__global const float *x, __global const float *dy, float mean,
                                                      size_t n, size_t c, size_t ch, size_t hw,
                                                      __local float2 *scratch) {
    cn_kahan8 sum_dy = CN_KAHAN8_ZERO, sum_dy_centred = CN_KAHAN8_ZERO;
    CN_FOR_GROUP_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 g = cn_load8(dy + at, count);
        cn_kahan8_add(&sum_dy, g);
        cn_kahan8_add(&sum_dy_centred, g * (cn_load8(x + at, count) - mean));
    })
    return cn_group_sum2((float2)(cn_kahan8_total(&sum_dy), cn_kahan8_total(&sum_dy_centred)), scratch);
}

__kernel void cn_batchnorm_statistics_group(__global const float *x, __global float *mean_out,
                                            __global float *invstd_out, const ulong n, const ulong c, const ulong hw,
                                            const float eps, const int centred_sum_only, __local float2 *scratch) {
    const size_t ch = get_group_id(0);
    const float values = (float)(n * hw);
    cn_kahan8 sum = CN_KAHAN8_ZERO, squares = CN_KAHAN8_ZERO;
    CN_FOR_GROUP_CHANNEL_VECTORS(at, count, n, c, ch, hw, cn_kahan8_add(&sum, cn_load8(x + at, count));)
    const float mean = cn_group_sum2((float2)(cn_kahan8_total(&sum), 0.0f), scratch).x / values;
    CN_FOR_GROUP_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 d = cn_first_lanes(cn_load8(x + at, count) - mean, count);
        cn_kahan8_add(&squares, d * d);
    })
    const float centred_sum = cn_group_sum2((float2)(cn_kahan8_total(&squares), 0.0f), scratch).x;
    if (get_local_id(0) != 0) return;
    mean_out[ch] = mean;
    invstd_out[ch] = centred_sum_only ? centred_sum : 1.0f / sqrt(centred_sum / values + eps);
}

__kernel void cn_batchnorm_channel_gradient_sums_group(__global const float *x, __global const float *mean_in,
                                                       __global const float *dy, __global float *sums, const ulong n,
                                                       const ulong c, const ulong hw, __local float2 *scratch) {
    const size_t ch = get_group_id(0);
    const float2 s = cn_batchnorm_group_gradient_sums(x, dy, mean_in[ch], n, c, ch, hw, scratch);
    if (get_local_id(0) != 0) return;
    sums[ch] = s.x;
    sums[c + ch] = s.y;
}

__kernel void cn_batchnorm_backward_data_group(__global const float *x, __global const float *scale,
                                               __global const float *mean_in, __global const float *invstd_in,
                                               __global const float *dy, __global float *dx, const ulong n,
                                               const ulong c, const ulong hw, __global const float *given_sums,
                                               const float total_values, __local float2 *scratch) {
    const size_t ch = get_group_id(0);
    const float mean = mean_in[ch], invstd = invstd_in[ch];
    const float values = given_sums ? total_values : (float)(n * hw);
    const float2 sums = given_sums ? (float2)(given_sums[ch], given_sums[c + ch])
                                   : cn_batchnorm_group_gradient_sums(x, dy, mean, n, c, ch, hw, scratch);
    const float mean_dy = sums.x / values;
    const float centred_factor = invstd * invstd * (sums.y / values);
    const float gain = invstd * (scale ? scale[ch] : 1.0f);
    CN_FOR_GROUP_CHANNEL_VECTORS(at, count, n, c, ch, hw, {
        float8 centred = cn_load8(x + at, count) - mean;
        cn_store8(gain * (cn_load8(dy + at, count) - mean_dy - centred * centred_factor), dx + at, count);
    })
}

__kernel void cn_batchnorm_backward_params_group(__global const float *x, __global const float *mean_in,
                                                 __global const float *invstd_in, __global const float *dy,
                                                 __global float *dscale, __global float *dshift, const ulong n,
                                                 const ulong c, const ulong hw, __local float2 *scratch) {
    const size_t ch = get_group_id(0);
    const float2 sums = cn_batchnorm_group_gradient_sums(x, dy, mean_in[ch], n, c, ch, hw, scratch);
    if (get_local_id(0) != 0) return;
    dshift[ch] = sums.x;
    if (dscale) dscale[ch] = invstd_in[ch] * sums.y;
}
