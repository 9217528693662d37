/* One fused Langevin step (DESIGN §2): shrink + drift + noise in one pass over the chains.
 *
 *   x <- x - half_delta2 * (precision * x + grad_sign * grad) + delta * noise
 *
 * descriptor revision: precision = 1/s^2, grad_sign = -1 (ascends f);
 * generator inference: precision = 1 (the N(0, I) prior), grad_sign = +1 (descends the loss).
 * Noise of element i is the Philox normal of counter (iteration, stream, step, i/4), lane i%4,
 * the same numbers cn_noise_normal gives; one work-item per block of four elements. */
#include "philox_normal.h"

__kernel void cn_langevin_step(__global float *x, __global const float *grad, const ulong count,
                               const float half_delta2, const float precision, const float grad_sign,
                               const float delta, const int noise, const ulong seed, const uint iteration,
                               const uint stream, const uint step) {
    size_t block = get_global_id(0);
    size_t first = block * 4;
    if (first >= count) return;
    cn_normal4 z = {{0.0f, 0.0f, 0.0f, 0.0f}};
    if (noise) z = cn_philox_normal4((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)block);
    for (size_t lane = 0; lane < 4 && first + lane < count; lane++) {
        size_t i = first + lane;
        float v = x[i];
        x[i] = v - half_delta2 * (precision * v + grad_sign * grad[i]) + delta * z.v[lane];
    }
}
