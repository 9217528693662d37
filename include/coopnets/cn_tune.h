/* cn_tune: `coopnets_cl tune` — measures, for the shapes of one config on one device, every kernel
 * variant of each family (cn_tuning.h) and stores the fastest in the tuning database, where later
 * runs on that device find them. */
#ifndef CN_TUNE_H
#define CN_TUNE_H

#include <stddef.h>

#include "coopnets/cn_config.h"
#include "coopnets/cn_tuning.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_TUNE_MAX_CANDIDATES 16 /* per family */

typedef struct cn_tune_options {
    size_t max_candidates; /* per family, the heuristic first (1..CN_TUNE_MAX_CANDIDATES; 0: all) */
    const char *source;    /* what is measured, recorded in the database (the config's path) */
    /* Called after each measured round with a line saying what ran and how long (may be NULL). */
    void (*on_round)(void *user, const char *line);
    void *user;
} cn_tune_options;

typedef struct cn_tune_report {
    cn_tuning_measurement measured[CN_TUNED_FAMILY_COUNT * CN_TUNE_MAX_CANDIDATES];
    size_t count;
    cn_kernel_variant winners[CN_TUNED_FAMILY_COUNT];
    double winner_seconds[CN_TUNED_FAMILY_COUNT];
    char failure[512]; /* the first candidate that failed, and why ("" when none) */
} cn_tune_report;

/* Builds config c's nets (mode coop) on rt, which must be opened with profiling, and runs rounds
 * of two training iterations on a synthetic batch: in round r every family runs its r-th
 * candidate (cn_tuning_candidates), the first iteration pays the compiles and the second is
 * profiled; a family's time is the device time of its kernels (OpenCL events). A round that
 * fails is run again one family at a time, so a candidate that cannot run on the device (a
 * compiler that rejects it, a kernel work-group limit) is recorded as failed and the others are
 * still measured. The conv family comes after those rounds, one candidate a round with the other
 * families on their winners, timed as its conv kernels plus every GEMM (the lowered path's products
 * are GEMMs). The fastest of each family is written with cn_tuning_save. */
cn_status cn_tune_config(cn_runtime *rt, const cn_config *c, const cn_tune_options *o, cn_tune_report *r, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
