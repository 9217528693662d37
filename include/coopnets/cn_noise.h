/* cn_noise: reproducible N(0, 1) noise from Philox4x32-10 (Random123), the same numbers on the
 * host and on any device (DESIGN §4).
 *
 * Key = the run's seed; counter = (iteration, stream, step, element / 4). The stream names the
 * purpose of a draw, so no two draws of a run collide, and an element's value depends only on its
 * index, never on the launch shape. Host and device agree to about 1e-6 absolute (their libm's
 * log/sqrt/cos/sin differ in the last bits), not bitwise. */
#ifndef CN_NOISE_H
#define CN_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cn_noise_stream {
    CN_STREAM_LATENT = 1,
    CN_STREAM_DESCRIPTOR_LANGEVIN = 2,
    CN_STREAM_GENERATOR_LANGEVIN = 3,
    CN_STREAM_CHAINS_INIT = 4,
    CN_STREAM_MASK = 5,
    CN_STREAM_WEIGHTS = 6
};

typedef struct cn_noise_key {
    uint64_t seed;
    uint32_t iteration, stream, step;
    /* The stream's index of the buffer's element 0: a rank holding chains [j, ...) of a
     * data-parallel run sets j × (floats per chain), so each chain gets the same noise for any
     * rank count. 0 otherwise. */
    uint64_t first;
} cn_noise_key;

/* The most elements one key can number: the block index (element / 4) is a 32-bit counter word. */
#define CN_NOISE_MAX_COUNT ((uint64_t)4 << 32)

/* out[i] ~ N(0,1) for i < count: element i is the stream's element g = first + i, from counter
 * (iteration, stream, step, g/4), lane g%4. Enqueued, not waited for. first + count above
 * CN_NOISE_MAX_COUNT, or count beyond out's size, is CN_ERR_ARG. */
cn_status cn_noise_normal(cn_runtime *rt, const cn_noise_key *k, size_t count, cn_buffer *out, cn_error *e);
/* The same numbers on the host (for tests, weight init and host-side draws); count <= CN_NOISE_MAX_COUNT. */
void cn_noise_normal_host(const cn_noise_key *k, size_t count, float *out);
/* Raw philox4x32-10 on the host (for the known-answer test). */
void cn_philox4x32_host(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* Work-items for `count` elements from stream element `first` at one per group of sixteen, rounded
 * up to a fixed multiple so that drivers choosing the local size (local = NULL) can pick a wide
 * one. Shared with cn_langevin. */
size_t cn_noise_global_size(uint64_t first, size_t count);

#ifdef __cplusplus
}
#endif
#endif
