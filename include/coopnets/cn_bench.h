/* cn_bench: timing training iterations of a config (what `coopnets_cl bench` prints). For one
 * device, four runtimes in turn:
 *   1. with the program cache: the cold start (set-up: runtime open, program builds, GEMM choice,
 *      buffers, weights; then the first iteration), then W warm-up and K timed iterations (a host
 *      wait after each, as the training loop's blocking upload of the next batch makes), then
 *      optionally SGEMM at N^3 with each backend;
 *   2. without the program cache (no_cache = 1): the cold start only;
 *   3. with a profiling queue: one untimed iteration (it makes the machine code), then one iteration
 *      step by step (cn_coop_steps) with a profile attached, each step's commands tagged with it;
 *   4. with a profiling queue: the device's FMA peak and copy bandwidth, measured (cl/peak.cl).
 * The timed iterations run without events, exactly as training does. For the ranks of an MPI job,
 * cn_bench_ranks times the whole batch on rank 0 alone, then split over all ranks.
 * It reports progress through a callback; it never prints. */
#ifndef CN_BENCH_H
#define CN_BENCH_H

#include "coopnets/cn_coop.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_tuning.h"

/* The kernel families a profiled iteration's commands are summed into. */
typedef enum cn_bench_family {
    CN_FAMILY_CONV, CN_FAMILY_DECONV, CN_FAMILY_GEMM, CN_FAMILY_CONV_DIRECT, CN_FAMILY_BATCHNORM, CN_FAMILY_ACTIVATION, CN_FAMILY_BIAS,
    CN_FAMILY_LANGEVIN, CN_FAMILY_NOISE, CN_FAMILY_ADAM, CN_FAMILY_REDUCE, CN_FAMILY_ELEMENTWISE, CN_FAMILY_TRANSFER,
    CN_FAMILY_OTHER, CN_FAMILY_COUNT
} cn_bench_family;

typedef struct cn_bench_family_name {
    const char *key;   /* "conv": the JSON key */
    const char *label; /* "conv: im2col, col2im, transpose": the printed row */
} cn_bench_family_name;
extern const cn_bench_family_name cn_bench_families[CN_FAMILY_COUNT];

/* The family of a profiled command (cn_profile_total name and tag). im2col, col2im, the
 * transposes around them and the direct conv's padded copies serve both conv and transposed conv:
 * the step says which net. The direct conv's products are a family of their own. */
cn_bench_family cn_bench_family_of(const char *name, int tag);
/* The profile tag's name: the step's (tag s + 1 is cn_coop_steps[s]) or "upload" (tag 0). */
const char *cn_bench_tag_name(int tag);

/* What to time: the config (mode coop) and its data, loaded by cn_bench_load_config and
 * cn_bench_load_data, released by cn_bench_free. */
typedef struct cn_bench {
    const char *config_path;
    cn_config config;
    cn_dataset data;
    uint32_t *perm; /* one fixed shuffled order of the data set */
    float *batch;   /* host room for one batch */
    long iters, warmup; /* K timed iterations (>= 1) after W warm-up ones */
    long sgemm;         /* > 0: SGEMM at sgemm^3 with each backend */
    int keep_launches;  /* also keep the profiled iteration's launches one by one (cn_bench_result.launches) */
    void (*on_message)(void *user, const char *message); /* "[device 0] profiled iteration"; NULL: none */
    void *user;
} cn_bench;

/* Loads and validates config_path; a mode other than coop is CN_ERR_CONFIG. */
cn_status cn_bench_load_config(cn_bench *b, const char *config_path, cn_error *e);
/* Loads the config's data set (it must hold a batch) and the host buffers. */
cn_status cn_bench_load_data(cn_bench *b, cn_error *e);
void cn_bench_free(cn_bench *b);

typedef struct cn_bench_totals {
    double seconds, flops, bytes;
    unsigned long calls;
} cn_bench_totals;

/* The seconds of a cold start: everything before the first iteration (runtime, program builds,
 * GEMM choice, buffers, weights), then the first iteration (where the driver makes machine code). */
typedef struct cn_cold_start {
    double setup, first_iteration;
} cn_cold_start;

typedef struct cn_bench_result {
    cn_device_info device;
    int ok;
    char error[1024];
    const char *gemm;
    char variants[CN_TUNED_FAMILY_COUNT][96]; /* each kernel family's variant (cn_tuning_describe) */
    double median, min, max, images_per_second;
    cn_cold_start cold_cached, cold_uncached;
    double build_cached, build_uncached;
    unsigned cache_hits, cache_misses;
    double steps[CN_COOP_STEP_COUNT];   /* device seconds of each step in the profiled iteration */
    double profiled_wall, profiled_events;
    cn_bench_totals families[CN_FAMILY_COUNT];
    cn_profile_total *kernels;          /* per kernel name and tag (malloc'd: cn_bench_result_free) */
    size_t kernel_count;
    cn_profile_total *launches;         /* with keep_launches: every command in enqueue order (malloc'd) */
    size_t launch_count;
    /* Measured on a profiling runtime of its own (cl/peak.cl, event times); NAN when it failed. */
    double peak_gflops;  /* the FMA micro-kernel's rate */
    double peak_gbps;    /* the copy kernel's bytes read + written per second */
    char peak_how[200], bandwidth_how[200];
    double formula_gflops; /* units x clock x lanes x 2 from what OpenCL reports (NAN: no rule); a side note */
    char formula_how[200];
    double sgemm_own, sgemm_clblast; /* NAN when not measured */
} cn_bench_result;

/* The four runs of device `device` (its global index) into r; r->ok on success. A backend that does
 * not run the SGEMM is reported through on_message and left NAN, not a failure. */
cn_status cn_bench_device(cn_bench *b, int device, cn_bench_result *r, cn_error *e);
void cn_bench_result_free(cn_bench_result *r);

/* The data-parallel timings of every rank over `dist`. */
typedef struct cn_bench_rank_timing {
    double seconds;    /* median over the timed iterations of the slowest rank's time */
    double comm_share; /* of it, host time waiting in collectives (the slowest rank's) */
    double bn_share;   /* of it, the batch-norm collectives */
    double bytes;      /* sent per iteration by one rank */
    double calls, bn_calls;
} cn_bench_rank_timing;

/* The data-parallel bench (every rank calls it, each on its `device`): first the whole batch on
 * rank 0's device alone (the R = 1 baseline, *one_rank_seconds on every rank; the other ranks
 * wait), then the batch split over all ranks (*all). Rank 0 alone calls on_message. */
cn_status cn_bench_ranks(cn_bench *b, cn_dist *dist, int device, double *one_rank_seconds, cn_bench_rank_timing *all,
                         cn_error *e);

#endif
