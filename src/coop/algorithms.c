/* The training modes (include/coopnets/cn_algorithms.h): CoopNets, Algorithm D, Algorithm G. */
#include "coopnets/cn_algorithms.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_noise.h"
#include "coopnets/cn_reduce.h"

/* CN_STREAM_LATENT step of the initial h_i (0–4: training, sampling, interpolation, padding, completion). */
#define LATENTS_INIT_STEP 5

cn_status cn_algorithm_init_chains(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e) {
    size_t count = coop->chain_count * coop->image_floats;
    cn_noise_key key = {coop->config.seed, (uint32_t)iteration, CN_STREAM_CHAINS_INIT, 0,
                        coop->chain_first * coop->image_floats};
    CN_TRY(cn_noise_normal(rt, &key, count, &coop->chains, e));
    /* s·(ε − 0); the gradient buffer is free here (the revision overwrites it) and serves as the 0 */
    CN_TRY(cn_buffer_fill_f32(rt, &coop->image_grad, 0.0f, 0, count, e));
    return cn_scaled_difference(rt, count, (float)coop->config.descriptor.refsig, &coop->chains, &coop->image_grad,
                                &coop->chains, e);
}

cn_status cn_algorithm_prepare(cn_runtime *rt, cn_coop *coop, size_t dataset_count, cn_error *e) {
    if (cn_coop_persistent_chains(coop))
        return cn_algorithm_init_chains(rt, coop, 0, e);
    if (coop->config.mode != CN_MODE_GENERATOR) return CN_OK;
    size_t floats = dataset_count * coop->latent_floats;
    if (floats / coop->latent_floats != dataset_count || (uint64_t)floats > CN_NOISE_MAX_COUNT)
        return cn_error_set(e, CN_ERR_ARG, "%zu images × %zu latent values are too many latent vectors to keep",
                            dataset_count, coop->latent_floats);
    free(coop->latents);
    coop->latents = malloc(floats * sizeof(float));
    coop->latent_count = coop->latents ? dataset_count : 0;
    if (!coop->latents)
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the latent vectors of %zu images (%zu MB)",
                            dataset_count, floats * sizeof(float) >> 20);
    cn_noise_key key = {coop->config.seed, 0, CN_STREAM_LATENT, LATENTS_INIT_STEP, 0};
    cn_noise_normal_host(&key, floats, coop->latents);
    return CN_OK;
}

/* Algorithm D: steps 2–3 on chains from noise (each iteration) or persistent ones. */
static cn_status algorithm_d(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    if (coop->config.descriptor.chain_init == CN_CHAINS_NOISE) CN_TRY(cn_algorithm_init_chains(rt, coop, iteration, e));
    CN_TRY(cn_coop_revise(rt, coop, iteration, log, e));
    return cn_coop_update_descriptor(rt, coop, log, e);
}

/* Copies latent rows between the kept vectors and `rows` ([count][latent]): the images at
 * positions start .. start + count of the shuffled order. */
static void batch_latents(cn_coop *coop, const uint32_t *perm, size_t start, size_t count, float *rows,
                          int write_back) {
    size_t lat = coop->latent_floats;
    for (size_t k = 0; k < count; k++) {
        float *kept = coop->latents + (size_t)perm[(start + k) % coop->latent_count] * lat;
        if (write_back) memcpy(kept, rows + k * lat, lat * sizeof(float));
        else memcpy(rows + k * lat, kept, lat * sizeof(float));
    }
}

/* Algorithm G: infer h_i for the observed X_i starting from the h_i of the last epoch, learn the
 * generator on (h_i, X_i), keep the inferred h_i. The batch sits at row 0 of coop->images. Each
 * rank infers its share of the batch; every rank keeps every h_i, so the shares are exchanged. */
static cn_status algorithm_g(cn_runtime *rt, cn_coop *coop, uint64_t iteration, const uint32_t *perm, size_t start,
                             int log, cn_error *e) {
    if (!coop->latents)
        return cn_error_set(e, CN_ERR_ARG, "mode generator: no latent vectors (call cn_algorithm_prepare first)");
    size_t n = coop->batch, lat = coop->latent_floats, bytes = n * lat * sizeof(float);
    float *rows = malloc(coop->batch_total * lat * sizeof(float)); /* the whole batch's; this rank's at batch_first */
    if (!rows) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for a batch of latent vectors");
    float *mine = rows + coop->batch_first * lat;
    batch_latents(coop, perm, start + coop->batch_first, n, mine, 0);
    const cn_config *c = &coop->config;
    cn_status s = cn_buffer_write(rt, &coop->latent, 0, mine, bytes, e);
    if (s == CN_OK)
        s = cn_coop_infer_latent_on(rt, coop, &coop->images, NULL, n, c->generator.langevin_steps, c->seed, iteration, e);
    if (s == CN_OK) s = cn_coop_update_generator_on(rt, coop, &coop->images, n, coop->batch_total, log, e);
    /* the update leaves h as inference left it */
    if (s == CN_OK) s = cn_buffer_read(rt, &coop->latent, 0, mine, bytes, e);
    if (s == CN_OK)
        s = cn_dist_allgather_rows(coop->dist, mine, coop->batch_total, lat, rows, "sharing the inferred latent vectors", e);
    if (s == CN_OK) batch_latents(coop, perm, start, coop->batch_total, rows, 1);
    free(rows);
    return s;
}

double cn_optimizer_lr(const cn_optimizer_config *opt, uint64_t iteration) {
    if (opt->decay_every <= 0) return opt->lr;
    return opt->lr * pow(opt->decay_factor, (double)(iteration / (uint64_t)opt->decay_every));
}

cn_status cn_algorithm_iteration(cn_runtime *rt, cn_coop *coop, uint64_t iteration, const uint32_t *perm,
                                 size_t start, int log, cn_error *e) {
    /* set every iteration, so a resume, a rollback (which scales optimizer.lr) and the schedule agree */
    coop->descriptor.adam.lr = (float)cn_optimizer_lr(&coop->config.descriptor.optimizer, iteration);
    coop->generator.adam.lr = (float)cn_optimizer_lr(&coop->config.generator.optimizer, iteration);
    switch (coop->config.mode) {
    case CN_MODE_DESCRIPTOR: return algorithm_d(rt, coop, iteration, log, e);
    case CN_MODE_GENERATOR: return algorithm_g(rt, coop, iteration, perm, start, log, e);
    default: return cn_coop_iteration(rt, coop, iteration, log, e);
    }
}
