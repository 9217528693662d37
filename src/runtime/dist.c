/* Data-parallel collectives over MPI (include/coopnets/cn_dist.h); without MPI, the lone-process
 * half only. */
#include "coopnets/cn_dist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coopnets/cn_util.h"

#ifdef CN_HAVE_MPI
#include <mpi.h>
#endif

struct cn_dist {
    int rank, size;
    double timeout_seconds;
    cn_dist_stats stats;
#ifdef CN_HAVE_MPI
    MPI_Comm comm;
    MPI_Request pending[CN_DIST_MAX_PENDING];
    const char *pending_what[CN_DIST_MAX_PENDING];
    int pending_count;
#endif
};

/* The rank count a launcher announced in the environment (Open MPI, PMIx, MPICH/Hydra), 0 if none. */
static long launcher_size(void) {
    const char *names[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    return 0;
}

int cn_dist_rank(const cn_dist *d) { return d ? d->rank : 0; }
int cn_dist_size(const cn_dist *d) { return d ? d->size : 1; }

static void share_of(int rank, int size, size_t total, size_t *start, size_t *count) {
    size_t r = (size_t)rank, s = (size_t)size;
    *start = total * r / s;
    *count = total * (r + 1) / s - *start;
}

void cn_dist_share(const cn_dist *d, size_t total, size_t *start, size_t *count) {
    share_of(cn_dist_rank(d), cn_dist_size(d), total, start, count);
}

const cn_dist_stats *cn_dist_get_stats(const cn_dist *d) {
    static const cn_dist_stats none;
    return d ? &d->stats : &none;
}

#ifdef CN_HAVE_MPI

static int single(const cn_dist *d) { return !d || d->size <= 1; }

cn_status cn_dist_init(int *argc, char ***argv, cn_dist **out, cn_error *e) {
    *out = NULL;
    if (launcher_size() <= 1) return CN_OK;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cn_error_set(e, CN_ERR_PEER, "MPI_Init failed");
    cn_dist *d = calloc(1, sizeof *d);
    if (!d) return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    /* Errors come back as codes (a dead peer), never as an abort inside MPI. */
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    const char *t = getenv("COOPNETS_MPI_TIMEOUT");
    d->timeout_seconds = t && *t ? strtod(t, NULL) : 300.0;
    if (!(d->timeout_seconds > 0)) d->timeout_seconds = 300.0;
    *out = d;
    return CN_OK;
}

void cn_dist_finalize(cn_dist *d) {
    if (!d) return;
    MPI_Comm_free(&d->comm);
    free(d);
    MPI_Finalize();
}

void cn_dist_abort(cn_dist *d, int exit_code) {
    if (single(d)) return;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(d->comm, exit_code);
}

static void pause_briefly(void) {
    struct timespec ts = {0, 200 * 1000}; /* 200 µs: the device threads need the cores more than the poll does */
    nanosleep(&ts, NULL);
}

static cn_status mpi_failed(cn_dist *d, int code, const char *what, cn_error *e) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    return cn_error_set(e, CN_ERR_PEER, "MPI failed in %s: %s", what, text);
}

/* Waits for requests until done or the deadline: a dead peer must not hang this rank forever. */
static cn_status wait_all(cn_dist *d, int count, MPI_Request *requests, const char *what, cn_error *e) {
    double t0 = cn_seconds_now();
    for (long polls = 0;; polls++) {
        int done = 0;
        int rc = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_failed(d, rc, what, e);
        if (done) break;
        double waited = cn_seconds_now() - t0;
        if (waited > d->timeout_seconds)
            return cn_error_set(e, CN_ERR_PEER,
                                "no answer from the other ranks for %.0f s in %s: a rank died, hangs "
                                "or is far slower (COOPNETS_MPI_TIMEOUT sets this limit)",
                                waited, what);
        if (polls > 20) pause_briefly();
    }
    double waited = cn_seconds_now() - t0;
    d->stats.wait_seconds += waited;
    d->stats.calls++;
    if (strncmp(what, "batch-norm", 10) == 0) d->stats.batchnorm_wait_seconds += waited, d->stats.batchnorm_calls++;
    return CN_OK;
}

static cn_status too_large(cn_dist *d, size_t count, const char *what, cn_error *e) {
    return cn_error_set(e, CN_ERR_ARG, "%zu values are too many for one collective in %s", count,
                        what);
}

cn_status cn_dist_start_sum(cn_dist *d, float *data, size_t count, const char *what, cn_error *e) {
    if (single(d) || count == 0) return CN_OK;
    if (count > (size_t)INT32_MAX) return too_large(d, count, what, e);
    if (d->pending_count == CN_DIST_MAX_PENDING) CN_TRY(cn_dist_finish_sums(d, e));
    int k = d->pending_count;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM, d->comm, &d->pending[k]);
    if (rc != MPI_SUCCESS) return mpi_failed(d, rc, what, e);
    d->pending_what[k] = what;
    d->pending_count++;
    d->stats.bytes_sent += (double)count * sizeof(float);
    return CN_OK;
}

void cn_dist_progress(cn_dist *d) {
    if (single(d) || d->pending_count == 0) return;
    int done;
    MPI_Testall(d->pending_count, d->pending, &done, MPI_STATUSES_IGNORE);
}

cn_status cn_dist_finish_sums(cn_dist *d, cn_error *e) {
    if (single(d) || d->pending_count == 0) return CN_OK;
    int count = d->pending_count;
    d->pending_count = 0;
    return wait_all(d, count, d->pending, d->pending_what[0], e);
}

cn_status cn_dist_gather_doubles(cn_dist *d, const double *mine, size_t count, double *all, const char *what,
                                 cn_error *e) {
    if (single(d)) {
        memmove(all, mine, count * sizeof(double));
        return CN_OK;
    }
    if (count > (size_t)INT32_MAX / (size_t)d->size) return too_large(d, count, what, e);
    MPI_Request r;
    int rc = MPI_Iallgather(mine, (int)count, MPI_DOUBLE, all, (int)count, MPI_DOUBLE, d->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_failed(d, rc, what, e);
    d->stats.bytes_sent += (double)count * sizeof(double);
    if (strncmp(what, "batch-norm", 10) == 0) d->stats.batchnorm_bytes += (double)count * sizeof(double);
    return wait_all(d, 1, &r, what, e);
}

/* Gathers every rank's values and combines them the same way, in rank order, on every rank. */
static cn_status combine_doubles(cn_dist *d, double *values, size_t count, int take_max, const char *what,
                                 cn_error *e) {
    if (single(d)) return CN_OK;
    double *all = malloc((size_t)d->size * count * sizeof(double));
    if (!all) return cn_error_set(e, CN_ERR_NOMEM, "out of memory in %s", what);
    cn_status s = cn_dist_gather_doubles(d, values, count, all, what, e);
    for (size_t i = 0; s == CN_OK && i < count; i++) {
        double v = all[i];
        for (int r = 1; r < d->size; r++) {
            double x = all[(size_t)r * count + i];
            v = take_max ? (x > v ? x : v) : v + x;
        }
        values[i] = v;
    }
    free(all);
    return s;
}

cn_status cn_dist_sum_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e) {
    return combine_doubles(d, values, count, 0, what, e);
}

cn_status cn_dist_max_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e) {
    return combine_doubles(d, values, count, 1, what, e);
}

/* Every rank's count and offset, in floats, of rows split as cn_dist_share does. */
static cn_status row_layout(const cn_dist *d, size_t total_rows, size_t floats_per_row, int **counts, int **offsets,
                            const char *what, cn_error *e) {
    *counts = malloc((size_t)d->size * sizeof(int));
    *offsets = malloc((size_t)d->size * sizeof(int));
    if (!*counts || !*offsets) {
        free(*counts), free(*offsets);
        *counts = *offsets = NULL;
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory in %s", what);
    }
    for (int r = 0; r < d->size; r++) {
        size_t s, c;
        share_of(r, d->size, total_rows, &s, &c);
        (*counts)[r] = (int)(c * floats_per_row);
        (*offsets)[r] = (int)(s * floats_per_row);
    }
    return CN_OK;
}

static cn_status rows_collective(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                                 int to_all, const char *what, cn_error *e) {
    size_t start, rows;
    cn_dist_share(d, total_rows, &start, &rows);
    if (single(d)) {
        memmove(all, mine, rows * floats_per_row * sizeof(float));
        return CN_OK;
    }
    if (total_rows * floats_per_row > (size_t)INT32_MAX) return too_large(d, total_rows * floats_per_row, what, e);
    int *counts = NULL, *offsets = NULL;
    if (to_all || d->rank == 0) CN_TRY(row_layout(d, total_rows, floats_per_row, &counts, &offsets, what, e));
    MPI_Request r;
    /* the receiver's own rows may already lie in place */
    int in_place = (to_all || d->rank == 0) && mine == all + start * floats_per_row;
    const void *send = in_place ? MPI_IN_PLACE : (const void *)mine;
    int n = (int)(rows * floats_per_row), rc;
    if (to_all) rc = MPI_Iallgatherv(send, n, MPI_FLOAT, all, counts, offsets, MPI_FLOAT, d->comm, &r);
    else rc = MPI_Igatherv(send, n, MPI_FLOAT, all, counts, offsets, MPI_FLOAT, 0, d->comm, &r);
    cn_status s = rc == MPI_SUCCESS ? wait_all(d, 1, &r, what, e) : mpi_failed(d, rc, what, e);
    free(counts);
    free(offsets);
    return s;
}

cn_status cn_dist_gather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                              const char *what, cn_error *e) {
    return rows_collective(d, mine, total_rows, floats_per_row, all, 0, what, e);
}

cn_status cn_dist_allgather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                                 const char *what, cn_error *e) {
    return rows_collective(d, mine, total_rows, floats_per_row, all, 1, what, e);
}

cn_status cn_dist_broadcast(cn_dist *d, void *data, size_t bytes, const char *what, cn_error *e) {
    if (single(d)) return CN_OK;
    if (bytes > (size_t)INT32_MAX) return too_large(d, bytes, what, e);
    MPI_Request r;
    int rc = MPI_Ibcast(data, (int)bytes, MPI_BYTE, 0, d->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_failed(d, rc, what, e);
    return wait_all(d, 1, &r, what, e);
}

#else /* built without MPI: a lone process only */

cn_status cn_dist_init(int *argc, char ***argv, cn_dist **out, cn_error *e) {
    *out = NULL;
    long size = launcher_size();
    if (size > 1)
        return cn_error_set(e, CN_ERR_ARG,
                            "started as one of %ld ranks, but this coopnets_cl was built without MPI: install "
                            "libopenmpi-dev and openmpi-bin, then rebuild (bash tools/setup.sh)",
                            size);
    return CN_OK;
}

void cn_dist_finalize(cn_dist *d) { (void)d; }
void cn_dist_abort(cn_dist *d, int exit_code) { (void)d, (void)exit_code; }
cn_status cn_dist_start_sum(cn_dist *d, float *data, size_t count, const char *what, cn_error *e) { return CN_OK; }
void cn_dist_progress(cn_dist *d) { (void)d; }
cn_status cn_dist_finish_sums(cn_dist *d, cn_error *e) { return CN_OK; }
cn_status cn_dist_gather_doubles(cn_dist *d, const double *mine, size_t count, double *all, const char *what,
                                 cn_error *e) {
    memmove(all, mine, count * sizeof(double));
    return CN_OK;
}
cn_status cn_dist_sum_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e) { return CN_OK; }
cn_status cn_dist_max_doubles(cn_dist *d, double *values, size_t count, const char *what, cn_error *e) { return CN_OK; }
cn_status cn_dist_gather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                              const char *what, cn_error *e) {
    memmove(all, mine, total_rows * floats_per_row * sizeof(float));
    return CN_OK;
}
cn_status cn_dist_allgather_rows(cn_dist *d, const float *mine, size_t total_rows, size_t floats_per_row, float *all,
                                 const char *what, cn_error *e) {
    return cn_dist_gather_rows(d, mine, total_rows, floats_per_row, all, what, e);
}
cn_status cn_dist_broadcast(cn_dist *d, void *data, size_t bytes, const char *what, cn_error *e) { return CN_OK; }

#endif

cn_status cn_dist_share_outcome(cn_dist *d, cn_status s, const char *what, cn_error *e) {
    if (cn_dist_size(d) == 1) return s;
    struct {
        int32_t status;
        char message[sizeof e->message];
    } outcome = {(int32_t)s, ""};
    if (cn_dist_rank(d) == 0 && s != CN_OK && e) snprintf(outcome.message, sizeof outcome.message, "%s", e->message);
    cn_error peer = {0}; /* rank 0's own message stays in e */
    if (cn_dist_broadcast(d, &outcome, sizeof outcome, what, &peer) != CN_OK) {
        if (e) cn_error_clear(e), *e = peer;
        return peer.status;
    }
    if (cn_dist_rank(d) == 0 || outcome.status == CN_OK) return (cn_status)outcome.status;
    outcome.message[sizeof outcome.message - 1] = 0;
    return cn_error_set(e, (cn_status)outcome.status, "%s", outcome.message);
}

double cn_dist_stop_grace_seconds(const cn_dist *d) {
    if (cn_dist_size(d) == 1 || !getenv("OMPI_COMM_WORLD_SIZE")) return 0.0;
    const char *set = getenv("OMPI_MCA_odls_base_sigkill_timeout"); /* mpirun passes --mca settings on */
    double seconds = set && *set ? strtod(set, NULL) : 1.0;
    return seconds > 0 ? seconds : 1.0;
}
