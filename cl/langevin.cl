/* One fused Langevin step (DESIGN §2): shrink + drift + noise in one pass over the chains.
 *
 *   x <- x - half_delta2 * (precision * x + grad_sign * grad) + delta * noise
 *
 * descriptor revision: precision = 1/s^2, grad_sign = -1 (ascends f);
 * generator inference: precision = 1 (the N(0, I) prior), grad_sign = +1 (descends the loss).
 * Noise of element i is the stream's element g = first + i: the Philox normal of counter
 * (iteration, stream, step, g/4), lane g%4, the same numbers cn_noise_normal gives; one work-item
 * per block of four stream elements. */
#include "philox_normal.h"

__kernel void cn_langevin_step(__global float *x, __global const float *grad, const ulong count,
                               const float half_delta2, const float precision, const float grad_sign,
                               const float delta, const int noise, const ulong seed, const uint iteration,
                               const uint stream, const uint step, const ulong first) {
    ulong block = first / 4 + get_global_id(0), end = first + count;
    if (block * 4 >= end) return;
    cn_normal4 z = {{0.0f, 0.0f, 0.0f, 0.0f}};
    if (noise) z = cn_philox_normal4((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)block);
    for (ulong lane = 0, g = block * 4; lane < 4; lane++, g++) {
        if (g < first || g >= end) continue;
        size_t i = g - first;
        float v = x[i];
        x[i] = v - half_delta2 * (precision * v + grad_sign * grad[i]) + delta * z.v[lane];
    }
}
