/* cn_dist: data-parallel training over MPI (DESIGN §7): the ranks of one job, each driving one
 * device, and the few collectives training needs. A NULL cn_dist, or one of size 1, is a single
 * process: every call is then a no-op or a local copy, so callers need no second code path.
 *
 * Built without MPI (no libopenmpi-dev at build time) the same calls exist; a process started
 * by a launcher with more than one rank is refused in cn_dist_init.
 *
 * Every collective is non-blocking under the hood and waited for with a deadline
 * (COOPNETS_MPI_TIMEOUT seconds, default 300): a dead or stuck peer ends the wait with an
 * error naming this rank and the collective, never a hang.
 *
 * Summation order: sums of floats (gradients) go through MPI_Iallreduce. Open MPI picks its
 * algorithm from the communicator size and message size only, and each algorithm combines in a
 * fixed order, so a run with the same R is bitwise reproducible (tests/test_mpi.sh checks it).
 * Small statistics (batch norm, metrics) are gathered whole and combined in double, in rank
 * order, on every rank. */
#ifndef CN_DIST_H
#define CN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

typedef struct cn_dist cn_dist;

typedef struct cn_dist_stats {
    double wait_seconds;  /* host time spent waiting in collectives (for the data and for slower ranks) */
    double bytes_sent;    /* payload this rank handed to collectives */
    unsigned long calls;
    /* the part of them that synchronised batch norm made (collectives named "batch-norm ...") */
    double batchnorm_wait_seconds, batchnorm_bytes;
    unsigned long batchnorm_calls;
} cn_dist_stats;

/* Joins the job when a launcher (mpirun) started this process with more than one rank; *out is
 * NULL for a lone process. A multi-rank launch of a binary built without MPI is CN_ERR_ARG. */
cn_status cn_dist_init(int *argc, char ***argv, cn_dist **out, cn_error *e);
/* Leaves the job (MPI_Finalize) and frees d; NULL is fine. */
void cn_dist_finalize(cn_dist *d);
/* Ends every rank of the job at once (MPI_Abort): for an error one rank meets alone, which
 * would otherwise leave the others waiting in a collective. Returns only when d is single. */
void cn_dist_abort(cn_dist *d, int exit_code);
int cn_dist_rank(const cn_dist *d);       /* 0 for NULL */
int cn_dist_size(const cn_dist *d);       /* 1 for NULL */
/* This rank's share of `total` items, split as evenly as the ranks allow (uneven splits differ
 * by one): [*start, *start + *count). */
void cn_dist_share(const cn_dist *d, size_t total, size_t *start, size_t *count);

/* all[r * count + i] <- rank r's mine[i]: every rank's values, on every rank. */
cn_status cn_dist_gather_doubles(cn_dist *d, const double *mine, size_t count, double *all, const char *what,
                                 cn_error *e);
/* values[i] <- the sum over the ranks (in rank order, in double) of values[i]. */
cn_status cn_dist_sum_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e);
/* values[i] <- the largest over the ranks. */
cn_status cn_dist_max_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e);
/* Rank 0 receives every rank's rows in rank order into all (others may pass NULL); rank r sends
 * `mine`, floats_per_row × its share of `total_rows` (cn_dist_share). */
cn_status cn_dist_gather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                              const char *what, cn_error *e);
/* The same rows on every rank (MPI_Allgatherv): all[total_rows × floats_per_row]. */
cn_status cn_dist_allgather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                                 const char *what, cn_error *e);
/* Rank 0's bytes to every rank. */
cn_status cn_dist_broadcast(cn_dist *d, void *data, size_t bytes, const char *what, cn_error *e);
/* For work rank 0 does alone (reading a checkpoint, writing one): returns rank 0's status s on
 * every rank, and on the others rank 0's message in e, so all ranks go on or stop together. */
cn_status cn_dist_share_outcome(cn_dist *d, cn_status s, const char *what, cn_error *e);

/* A sum of floats started now and finished by cn_dist_finish_sums (gradients, bucket by bucket,
 * while the device goes on with the backward pass). At most CN_DIST_MAX_PENDING at a time. */
#define CN_DIST_MAX_PENDING 64
cn_status cn_dist_start_sum(cn_dist *d, float *data, size_t count, const char *what, cn_error *e);
/* Lets started sums progress without waiting (MPI progresses only inside MPI calls). */
void cn_dist_progress(cn_dist *d);
cn_status cn_dist_finish_sums(cn_dist *d, cn_error *e);

/* How long the launcher lets the ranks run after it forwards SIGINT/SIGTERM before it kills them
 * (Open MPI's odls_base_sigkill_timeout, 1 s unless set); 0 for a lone process or an unknown launcher. */
double cn_dist_stop_grace_seconds(const cn_dist *d);

/* What this rank's collectives have cost so far (all zero for NULL). */
const cn_dist_stats *cn_dist_get_stats(const cn_dist *d);

#endif
