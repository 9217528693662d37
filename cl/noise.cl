/* Normal noise, and raw Philox output for the known-answer test. See philox_normal.h. */
#include "philox_normal.h"

/* One work-item per block of four stream elements; out[i] = stream element first + i for
 * i < count, the head and tail blocks partly. */
__kernel void cn_noise_normal(__global float *out, const ulong count, const ulong seed, const uint iteration,
                              const uint stream, const uint step, const ulong first) {
    ulong block = first / 4 + get_global_id(0), end = first + count;
    if (block * 4 >= end) return;
    cn_normal4 z = cn_philox_normal4((uint)seed, (uint)(seed >> 32), iteration, stream, step, (uint)block);
    for (ulong lane = 0, g = block * 4; lane < 4; lane++, g++)
        if (g >= first && g < end) out[g - first] = z.v[lane];
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
