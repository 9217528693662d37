/* One fused Langevin step (DESIGN §2): shrink + drift + noise in one pass over the chains.
 *
 *   x <- x - half_delta2 * (precision * x + grad_sign * grad) + delta * noise
 *
 * descriptor revision: precision = 1/s^2, grad_sign = -1 (ascends f);
 * generator inference: precision = 1 (the N(0, I) prior), grad_sign = +1 (descends the loss).
 * Noise of element i is the stream's element g = first + i, drawn by cn_philox_normal16 as
 * cn_noise_normal draws it; one work-item per group of sixteen stream elements. */
#include "philox_normal.h"

#define CN_LANGEVIN(v, g, z) ((v) - half_delta2 * (precision * (v) + grad_sign * (g)) + delta * (z))

__kernel void cn_langevin_step(__global float *x, __global const float *grad, const ulong count,
                               const float half_delta2, const float precision, const float grad_sign,
                               const float delta, const int noise, const ulong seed, const uint iteration,
                               const uint stream, const uint step, const ulong first) {
    ulong start = (first / 16 + get_global_id(0)) * 16, end = first + count;
    if (start >= end) return;
    float16 z = 0.0f;
    if (noise) z = cn_philox_normal16((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)(start / 16));
    if (start >= first && start + 16 <= end) {
        size_t i = start - first;
        float16 v = vload16(0, x + i);
        vstore16(CN_LANGEVIN(v, vload16(0, grad + i), z), 0, x + i);
        return;
    }
    float lanes[16];
    vstore16(z, 0, lanes);
    for (ulong g = max(start, first); g < min(start + 16, end); g++) {
        size_t i = g - first;
        x[i] = CN_LANGEVIN(x[i], grad[i], lanes[g - start]);
    }
}
