/* cn_algorithms: the config's training mode, one iteration at a time, built from the steps of
 * cn_coop (DESIGN §2) so that CoopNets can be compared with each net trained alone:
 *   coop        the five cooperative steps (cn_coop_iteration);
 *   descriptor  Algorithm D: the descriptor alone, its chains started from the reference
 *               distribution N(0, s² I) every iteration ("noise") or kept across iterations
 *               ("persistent", started from it once); steps 2–3;
 *   generator   Algorithm G, alternating back-propagation: a latent vector h_i per training image,
 *               kept across epochs; per batch, Langevin inference of h_i towards the observed X_i
 *               (step 4 with target X_i), then the generator update on (h_i, X_i) (step 5). */
#ifndef CN_ALGORITHMS_H
#define CN_ALGORITHMS_H

#include "coopnets/cn_coop.h"

/* The state a fresh run of the mode starts from, for a data set of dataset_count images:
 * persistent chains from noise (descriptor), h_i ~ N(0, I) for every image (generator, host
 * array coop->latents). A resumed run calls it too, then cn_checkpoint_load replaces that state. */
cn_status cn_algorithm_prepare(cn_runtime *rt, cn_coop *coop, size_t dataset_count, cn_error *e);

/* Chains ~ N(0, s² I), s = descriptor.langevin.refsig: samples of the descriptor's reference
 * distribution, which is the model itself while f = 0. Noise keyed by (seed, iteration,
 * CN_STREAM_CHAINS_INIT). Enqueued, not waited for. */
cn_status cn_algorithm_init_chains(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e);

/* The learning rate of iteration `iteration` (from 0) under opt's step schedule. */
double cn_optimizer_lr(const cn_optimizer_config *opt, uint64_t iteration);

/* One iteration of the mode on the observed batch uploaded by cn_coop_set_observed. The batch is
 * images perm[start], perm[start + 1], ... (wrapping around the data set), as cn_dataset_gather
 * takes them: Algorithm G reads and writes back their latent vectors (a blocking read at the end
 * of the iteration). It first sets both nets' Adam learning rates by cn_optimizer_lr. `log` enqueues the metric reductions (cn_coop_read_metrics). */
cn_status cn_algorithm_iteration(cn_runtime *rt, cn_coop *coop, uint64_t iteration, const uint32_t *perm,
                                 size_t start, int log, cn_error *e);

#endif
