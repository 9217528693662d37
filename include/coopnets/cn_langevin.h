/* cn_langevin: the fused Langevin steps of DESIGN §2, one kernel launch per step, the noise drawn
 * inside the kernel (element i of the buffer = cn_noise_normal element i of the same key).
 * key->step is the Langevin step index; the caller sets seed, iteration and stream. */
#ifndef CN_LANGEVIN_H
#define CN_LANGEVIN_H

#include "coopnets/cn_noise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Descriptor revision: y <- y - (delta^2/2) * (y / refsig^2 - grad) + delta * noise
 * (grad = df/dy per sample; noise off when !noise, and k may then be NULL). */
cn_status cn_langevin_descriptor_step(cn_runtime *rt, size_t count, cn_buffer *y, const cn_buffer *grad, float delta,
                                      float refsig, int noise, const cn_noise_key *k, cn_error *e);
/* Generator inference: h <- h - (delta^2/2) * (h + grad) + delta * noise
 * (grad = d/dh ||Y - g(h)||^2 / (2 sigma^2), per sample). */
cn_status cn_langevin_generator_step(cn_runtime *rt, size_t count, cn_buffer *h, const cn_buffer *grad, float delta,
                                     int noise, const cn_noise_key *k, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
