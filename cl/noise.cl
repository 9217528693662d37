/* Normal noise, and raw Philox output for the known-answer test. See philox_normal.h. */
#include "philox_normal.h"

/* One work-item per group of sixteen stream elements (four Philox blocks); out[i] = stream element
 * first + i for i < count, the head and tail groups partly. */
__kernel void cn_noise_normal(__global float *out, const ulong count, const ulong seed, const uint iteration,
                              const uint stream, const uint step, const ulong first) {
    ulong start = (first / 16 + get_global_id(0)) * 16, end = first + count;
    if (start >= end) return;
    float16 z = cn_philox_normal16((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)(start / 16));
    if (start >= first && start + 16 <= end) {
        vstore16(z, 0, out + (start - first));
        return;
    }
    float lanes[16];
    vstore16(z, 0, lanes);
    for (ulong g = max(start, first); g < min(start + 16, end); g++) out[g - first] = lanes[g - start];
}

/* out[4*i .. 4*i+3] = philox4x32-10(counter[4*i .. 4*i+3], key) for i < blocks. */
__kernel void cn_philox_raw(__global uint *out, __global const uint *counter, const uint key_lo, const uint key_hi,
                            const ulong blocks) {
    size_t i = get_global_id(0);
    if (i >= blocks) return;
    philox4x32_ctr_t c = {{counter[4 * i], counter[4 * i + 1], counter[4 * i + 2], counter[4 * i + 3]}};
    philox4x32_key_t k = {{key_lo, key_hi}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (size_t lane = 0; lane < 4; lane++) out[4 * i + lane] = r.v[lane];
}
