/* Philox normal noise on the device (cl/noise.cl) and the same formula on the host: both compile
 * the one text cl/philox_normal.h. */
#include "coopnets/cn_noise.h"

#include "../../cl/philox_normal.h"

/* A multiple every work-group size a driver might pick for a 1-D launch divides. */
#define NOISE_GLOBAL_MULTIPLE 64

size_t cn_noise_global_size(uint64_t first, size_t count) {
    return cn_round_up((size_t)((first % 16 + count + 15) / 16), NOISE_GLOBAL_MULTIPLE);
}

cn_status cn_noise_normal(cn_runtime *rt, const cn_noise_key *k, size_t count, cn_buffer *out, cn_error *e) {
    if (k->first > CN_NOISE_MAX_COUNT || (uint64_t)count > CN_NOISE_MAX_COUNT - k->first)
        return cn_error_set(e, CN_ERR_ARG, "noise: values %llu..%llu exceed the %llu one key can number",
                            (unsigned long long)k->first, (unsigned long long)(k->first + count),
                            (unsigned long long)CN_NOISE_MAX_COUNT);
    if (count > out->bytes / sizeof(float))
        return cn_error_set(e, CN_ERR_ARG, "noise: %zu values do not fit a buffer of %zu bytes", count, out->bytes);
    size_t global = cn_noise_global_size(k->first, count);
    return CN_RUN_COUNTED(rt, CN_KERNEL_NOISE_NORMAL, 1, &global, NULL, 0, (double)count * sizeof(float), e,
                          CN_MEM(out), CN_U64(count), CN_U64(k->seed), CN_U32(k->iteration), CN_U32(k->stream),
                          CN_U32(k->step), CN_U64(k->first));
}

void cn_noise_normal_host(const cn_noise_key *k, size_t count, float *out) {
    uint32_t seed_lo = (uint32_t)k->seed, seed_hi = (uint32_t)(k->seed >> 32);
    uint64_t end = k->first + count;
    for (uint64_t block = k->first / 4; block * 4 < end; block++) {
        cn_normal4 z = cn_philox_normal4(seed_lo, seed_hi, k->iteration, k->stream, k->step, (uint32_t)block);
        for (uint64_t lane = 0, g = block * 4; lane < 4; lane++, g++)
            if (g >= k->first && g < end) out[g - k->first] = z.v[lane];
    }
}

void cn_philox4x32_host(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    philox4x32_ctr_t c = {{counter[0], counter[1], counter[2], counter[3]}};
    philox4x32_key_t k = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32(c, k);
    for (int i = 0; i < 4; i++) out[i] = r.v[i];
}
