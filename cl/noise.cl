/* Normal noise, and raw Philox output for the known-answer test. See philox_normal.h. */
#include "philox_normal.h"

/* One work-item per block of four elements; out[i] for i < count, the tail block partly. */
__kernel void cn_noise_normal(__global float *out, const ulong count, const ulong seed, const uint iteration,
                              const uint stream, const uint step) {
    size_t block = get_global_id(0);
    size_t first = block * 4;
    if (first >= count) return;
    cn_normal4 z = cn_philox_normal4((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)block);
    for (size_t lane = 0; lane < 4 && first + lane < count; lane++) out[first + lane] = z.v[lane];
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
