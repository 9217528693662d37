/* The fused Langevin steps: both are one kernel, cn_langevin_step (cl/langevin.cl),
 *   x <- x - (delta^2/2) * (precision * x + grad_sign * grad) + delta * noise,
 * with the descriptor's prior precision 1/s^2 and ascent on f, or the generator's N(0, I) prior
 * and descent on the reconstruction loss. */
#include "coopnets/cn_langevin.h"

static cn_status langevin_step(cn_runtime *rt, const char *what, size_t count, cn_buffer *x, const cn_buffer *grad,
                               float delta, float precision, float grad_sign, int noise, const cn_noise_key *k,
                               cn_error *e) {
    size_t bytes = count * sizeof(float);
    if (bytes > x->bytes || bytes > grad->bytes)
        return cn_error_set(e, CN_ERR_ARG, "%s: %zu values do not fit the chains (%zu bytes) or gradient (%zu bytes)",
                            what, count, x->bytes, grad->bytes);
    if (noise && !k) return cn_error_set(e, CN_ERR_ARG, "%s: noise asked for without a noise key", what);
    if (noise && (k->first > CN_NOISE_MAX_COUNT || (uint64_t)count > CN_NOISE_MAX_COUNT - k->first))
        return cn_error_set(e, CN_ERR_ARG, "%s: values %llu..%llu exceed the %llu one noise key can number", what,
                            (unsigned long long)k->first, (unsigned long long)(k->first + count),
                            (unsigned long long)CN_NOISE_MAX_COUNT);
    const cn_noise_key none = {0};
    if (!noise) k = &none;
    size_t global = cn_noise_global_size(k->first, count);
    /* counted for the profile: x and grad read, x written */
    return CN_RUN_COUNTED(rt, CN_KERNEL_LANGEVIN_STEP, 1, &global, NULL, 6.0 * (double)count,
                          3.0 * (double)count * sizeof(float), e, CN_MEM(x), CN_MEM(grad), CN_U64(count),
                  CN_F32(0.5f * delta * delta), CN_F32(precision), CN_F32(grad_sign), CN_F32(delta), CN_I32(noise != 0),
                  CN_U64(k->seed), CN_U32(k->iteration), CN_U32(k->stream), CN_U32(k->step), CN_U64(k->first));
}

cn_status cn_langevin_descriptor_step(cn_runtime *rt, size_t count, cn_buffer *y, const cn_buffer *grad, float delta,
                                      float refsig, int noise, const cn_noise_key *k, cn_error *e) {
    return langevin_step(rt, "descriptor Langevin step", count, y, grad, delta, 1.0f / (refsig * refsig), -1.0f, noise,
                         k, e);
}

cn_status cn_langevin_generator_step(cn_runtime *rt, size_t count, cn_buffer *h, const cn_buffer *grad, float delta,
                                     int noise, const cn_noise_key *k, cn_error *e) {
    return langevin_step(rt, "generator Langevin step", count, h, grad, delta, 1.0f, 1.0f, noise, k, e);
}
