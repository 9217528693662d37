/* cn_train: the training loop around the iteration — data batches, output folder, metrics,
 * sample grids, curves, checkpoints and resume. It reports progress through callbacks; it never
 * prints. */
#ifndef CN_TRAIN_H
#define CN_TRAIN_H

#include <signal.h>

#include "coopnets/cn_coop.h"

typedef struct cn_progress {
    uint64_t iteration, total; /* iterations completed, and the goal */
    uint64_t epoch;
    double seconds_per_iteration, images_per_second, elapsed_seconds, eta_seconds;
    double descriptor_lr, generator_lr; /* the last iteration's Adam rates (NaN: the mode does not train it) */
    cn_metrics metrics;
} cn_progress;

typedef struct cn_train_options {
    const char *resume;         /* a run folder or checkpoint to continue from, or NULL */
    long iterations;            /* > 0: train until this many iterations in total (overrides the config) */
    volatile sig_atomic_t *stop;/* when it becomes non-zero: checkpoint, then return CN_ERR_INTERRUPTED */
    void (*on_log)(void *user, const cn_progress *p);
    void (*on_message)(void *user, const char *message); /* "checkpoint written to ..." */
    void *user;
    /* Data-parallel training over these ranks (NULL: one process). Every rank calls cn_train;
     * rank 0 alone writes the outputs and calls on_log and on_message. */
    cn_dist *dist;
} cn_train_options;

/* Total iterations the config asks for: epochs × iterations per epoch when epochs > 0, else iterations. */
uint64_t cn_train_total_iterations(const cn_config *c, size_t dataset_count);

cn_status cn_train(cn_runtime *rt, const cn_config *c, const cn_train_options *o, cn_error *e);

#endif
