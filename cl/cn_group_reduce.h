/* Helpers of the work-group-per-channel (or per-row) kernels of batchnorm.cl and reduce.cl: the
 * GPU-shaped variant, where one work-item per channel would leave most of a GPU idle. The group's
 * work-items each take every G-th float8 of the channel (G = get_local_size(0), a power of two),
 * sum them with Kahan compensation, and the G partial sums are added by a tree in local memory:
 * a fixed order for a given G, so results are reproducible on a device. PoCL runs such trees ~10x
 * slower than one work-item per channel (DESIGN §4): `coopnets_cl tune` chooses per device. */
#ifndef CN_GROUP_REDUCE_H
#define CN_GROUP_REDUCE_H

#include "cn_elementwise.h"

/* The sum over the work-group of each work-item's `mine`, returned to every work-item. scratch
 * holds get_local_size(0) float2. */
static inline float2 cn_group_sum2(float2 mine, __local float2 *scratch) {
    const size_t id = get_local_id(0);
    scratch[id] = mine;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t span = get_local_size(0) / 2; span > 0; span /= 2) {
        if (id < span) scratch[id] += scratch[id + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float2 total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is free again for the caller's next sum */
    return total;
}

/* Runs the body once per float8 of this work-item's share of the n*hw floats of channel ch of an
 * NCHW tensor with c channels (every get_local_size(0)-th vector from the get_local_id(0)-th),
 * with `at` and `count` as in CN_FOR_VECTORS. */
#define CN_FOR_GROUP_CHANNEL_VECTORS(at, count, n, c, ch, hw, ...)                                       \
    for (size_t v_ = get_local_id(0), per_plane_ = ((hw) + CN_VECTOR - 1) / CN_VECTOR; v_ < (n) * per_plane_; \
         v_ += get_local_size(0)) {                                                                      \
        const size_t in_plane_ = v_ % per_plane_ * CN_VECTOR;                                            \
        const size_t at = ((v_ / per_plane_) * (c) + (ch)) * (hw) + in_plane_;                           \
        const size_t count = min((size_t)CN_VECTOR, (size_t)(hw) - in_plane_);                           \
        __VA_ARGS__                                                                                      \
    }

#endif
