/* The training loop: batches, logging, samples, curves, checkpoints, resume. */
#include "coopnets/cn_train.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopnets/cn_algorithms.h"
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_plot.h"
#include "coopnets/cn_tensorboard.h"
#include "coopnets/cn_trace.h"
#include "coopnets/cn_util.h"

static void say(const cn_train_options *o, const char *fmt, ...) {
    if (!o->on_message || cn_dist_rank(o->dist) != 0) return;
    char msg[CN_PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->on_message(o->user, msg);
}

uint64_t cn_train_total_iterations(const cn_config *c, size_t dataset_count) {
    if (c->training.epochs <= 0) return (uint64_t)c->training.iterations;
    size_t per_epoch = dataset_count / (size_t)c->training.batch_size;
    if (per_epoch == 0) per_epoch = 1;
    return (uint64_t)c->training.epochs * per_epoch;
}

/* Deletes the NAME.tmp.PID files a killed run left while writing (never read: the rename is what
 * publishes a file). */
static void remove_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    char path[CN_PATH_MAX + 300];
    while ((ent = readdir(d)))
        if (strstr(ent->d_name, ".tmp.")) {
            snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
            remove(path);
        }
    closedir(d);
}

/* Writes text to path atomically (config.json, the rewound metrics.jsonl). */
static cn_status write_text_file(const char *path, const char *text, cn_error *e) {
    return cn_atomic_write_file(path, NULL, text, strlen(text), e);
}

/* ---- metrics history -------------------------------------------------------------------------- */

typedef struct history {
    double *x, *loss_d, *loss_g, *f_obs, *f_rev;
    size_t count, cap;
} history;

static void history_add(history *h, double it, const cn_metrics *m) {
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        double **arrays[] = {&h->x, &h->loss_d, &h->loss_g, &h->f_obs, &h->f_rev};
        for (int k = 0; k < 5; k++) {
            double *grown = realloc(*arrays[k], cap * sizeof(double));
            if (!grown) return; /* the curve misses points; training goes on */
            *arrays[k] = grown;
        }
        h->cap = cap;
    }
    h->x[h->count] = it;
    h->loss_d[h->count] = m->loss_d;
    h->loss_g[h->count] = m->loss_g;
    h->f_obs[h->count] = m->f_observed;
    h->f_rev[h->count] = m->f_revised;
    h->count++;
}

static void history_free(history *h) {
    free(h->x);
    free(h->loss_d);
    free(h->loss_g);
    free(h->f_obs);
    free(h->f_rev);
}

static void json_number(FILE *f, const char *key, double v) {
    if (isfinite(v)) fprintf(f, ",\"%s\":%.9g", key, v);
    else fprintf(f, ",\"%s\":null", key);
}

/* Reads the metrics lines of iterations <= upto back (resume), rewriting the file without the
 * lines of iterations after the checkpoint, which the resumed run will produce again. */
static cn_status metrics_resume(const char *path, uint64_t upto, history *h, cn_error *e) {
    FILE *f = fopen(path, "r");
    if (!f) return CN_OK;
    size_t cap = 1 << 16, len = 0;
    char *kept = malloc(cap), line[4096];
    if (!kept) {
        fclose(f);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory reading %s", path);
    }
    kept[0] = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long it;
        size_t n = strlen(line);
        /* A line cut short by a crash (no newline) is dropped, so the next one does not join it. */
        if (sscanf(line, "{\"iteration\":%llu", &it) != 1 || it > upto || line[n - 1] != '\n') continue;
        if (!strstr(line, "\"event\":")) { /* rollback events are kept but are no curve points */
            cn_metrics m = {0};
            const char *p;
            if ((p = strstr(line, "\"loss_d\":"))) m.loss_d = strtod(p + 9, NULL);
            if ((p = strstr(line, "\"loss_g\":"))) m.loss_g = strtod(p + 9, NULL);
            if ((p = strstr(line, "\"f_observed\":"))) m.f_observed = strtod(p + 13, NULL);
            if ((p = strstr(line, "\"f_revised\":"))) m.f_revised = strtod(p + 12, NULL);
            history_add(h, (double)it, &m);
        }
        if (len + n + 1 > cap) {
            char *grown = realloc(kept, cap = (len + n + 1) * 2);
            if (!grown) break;
            kept = grown;
        }
        memcpy(kept + len, line, n + 1);
        len += n;
    }
    fclose(f);
    cn_status s = write_text_file(path, kept, e);
    free(kept);
    return s;
}

/* ---- outputs ---------------------------------------------------------------------------------- */

/* The sample grid just written to path, as a TensorBoard image (when the run writes one). */
static cn_status tb_image(cn_tb_writer *tb, const char *tag, uint64_t it, const char *path, cn_error *e) {
    return cn_tb_is_open(tb) ? cn_tb_png_file(tb, tag, it, path, e) : CN_OK;
}

/* The numbers of a metrics.jsonl line as TensorBoard scalars, fsynced (when the run writes them). */
static cn_status tb_log(cn_tb_writer *tb, const cn_progress *p, cn_error *e) {
    if (!cn_tb_is_open(tb)) return CN_OK;
    const cn_metrics *m = &p->metrics;
    const cn_tb_scalar scalars[] = {
        {"loss/L_D", m->loss_d},
        {"loss/L_G", m->loss_g},
        {"score/f_observed", m->f_observed},
        {"score/f_generated", m->f_generated},
        {"score/f_revised", m->f_revised},
        {"langevin/grad_f_norm", m->grad_f_norm},
        {"speed/seconds_per_iteration", p->seconds_per_iteration},
        {"speed/images_per_second", p->images_per_second},
        {"time/elapsed_seconds", p->elapsed_seconds},
        {"progress/epoch", (double)p->epoch},
        {"optimizer/descriptor_lr", p->descriptor_lr},
        {"optimizer/generator_lr", p->generator_lr},
    };
    CN_TRY(cn_tb_scalars(tb, p->iteration, scalars, sizeof scalars / sizeof *scalars, e));
    return cn_tb_sync(tb, e);
}

static int grid_columns(size_t n) {
    int cols = (int)ceil(sqrt((double)n));
    return cols < 1 ? 1 : cols;
}

/* generated-*.png: the generator's samples (Algorithm G: of fresh h ~ N(0, I)); revised-*.png: the
 * descriptor's chains. A mode writes the grids of the nets it trains. */
/* Texture runs: the observed texture beside synthesised ones in one row, as the paper shows them.
 * `revised` holds the chains; the observed image sits after them in coop->images. */
static cn_status write_texture_sheet(cn_runtime *rt, cn_coop *coop, const float *revised, const char *out,
                                     uint64_t it, cn_tb_writer *tb, cn_error *e) {
    size_t img = coop->image_floats, shown = coop->chains_total < 5 ? coop->chains_total : 5;
    float *sheet = malloc((1 + shown) * img * sizeof(float));
    if (!sheet) return cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the texture sheet");
    const cn_data_config *d = &coop->config.data;
    char path[CN_PATH_MAX + 64];
    cn_status s = cn_buffer_read(rt, &coop->images, coop->chain_count * img * sizeof(float), sheet, img * sizeof(float), e);
    if (s == CN_OK) {
        memcpy(sheet + img, revised, shown * img * sizeof(float));
        snprintf(path, sizeof path, "%s/samples/texture-%06llu.png", out, (unsigned long long)it);
        s = cn_grid_write(path, sheet, (int)(1 + shown), d->channels, d->image_size, d->image_size, (int)(1 + shown), e);
    }
    if (s == CN_OK) s = tb_image(tb, "samples/texture", it, path, e);
    free(sheet);
    return s;
}

/* Collective in data-parallel training: each rank's chains go to rank 0, which writes the grids. */
static cn_status write_samples(cn_runtime *rt, cn_coop *coop, const char *out, uint64_t it, cn_tb_writer *tb,
                               cn_error *e) {
    size_t m = coop->chains_total, img = coop->image_floats;
    int writer = cn_dist_rank(coop->dist) == 0;
    float *host = malloc(m * img * sizeof(float));
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory writing samples");
    const cn_data_config *d = &coop->config.data;
    cn_mode mode = coop->config.mode;
    char path[CN_PATH_MAX + 64];
    cn_status s = mode == CN_MODE_GENERATOR ? cn_coop_generate(rt, coop, it, e) : CN_OK;
    if (s == CN_OK && mode != CN_MODE_DESCRIPTOR) s = cn_coop_gather_rows(rt, coop, cn_net_output(&coop->generator), m, host, e);
    if (s == CN_OK && mode != CN_MODE_DESCRIPTOR && writer) {
        snprintf(path, sizeof path, "%s/samples/generated-%06llu.png", out, (unsigned long long)it);
        s = cn_grid_write(path, host, (int)m, d->channels, d->image_size, d->image_size, grid_columns(m), e);
        if (s == CN_OK) s = tb_image(tb, "samples/generated", it, path, e);
    }
    if (mode == CN_MODE_GENERATOR) {
        free(host);
        return s == CN_OK && cn_tb_is_open(tb) ? cn_tb_sync(tb, e) : s;
    }
    if (s == CN_OK) s = cn_coop_gather_rows(rt, coop, &coop->chains, m, host, e);
    if (!writer) {
        free(host);
        return s;
    }
    if (s == CN_OK) {
        snprintf(path, sizeof path, "%s/samples/revised-%06llu.png", out, (unsigned long long)it);
        s = cn_grid_write(path, host, (int)m, d->channels, d->image_size, d->image_size, grid_columns(m), e);
        if (s == CN_OK) s = tb_image(tb, "samples/revised", it, path, e);
    }
    if (s == CN_OK && d->kind == CN_DATA_TEXTURE) s = write_texture_sheet(rt, coop, host, out, it, tb, e);
    if (s == CN_OK && cn_tb_is_open(tb)) s = cn_tb_sync(tb, e);
    free(host);
    return s;
}

static cn_status write_curves(const char *out, const history *h, cn_error *e) {
    if (h->count < 2) return CN_OK;
    char path[CN_PATH_MAX + 32];
    cn_series losses[] = {{"L_D", h->x, h->loss_d, h->count}, {"L_G", h->x, h->loss_g, h->count}};
    snprintf(path, sizeof path, "%s/losses.png", out);
    CN_TRY(cn_plot_write(path, "losses", losses, 2, 800, 400, e));
    cn_series scores[] = {{"f(observed)", h->x, h->f_obs, h->count}, {"f(revised)", h->x, h->f_rev, h->count}};
    snprintf(path, sizeof path, "%s/scores.png", out);
    return cn_plot_write(path, "descriptor score f", scores, 2, 800, 400, e);
}

/* Keeps the newest `keep` checkpoints (0 keeps all). */
static void prune_checkpoints(const char *out, uint64_t newest, int keep, int every) {
    if (keep <= 0 || every <= 0) return;
    for (uint64_t k = (uint64_t)keep; k < (uint64_t)keep + 4; k++) {
        if (newest < k * (uint64_t)every) break;
        uint64_t it = (newest / (uint64_t)every - k) * (uint64_t)every;
        char path[CN_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/checkpoints/ckpt-%06llu.cnck", out, (unsigned long long)it);
        remove(path);
    }
}

static cn_status save_checkpoint(cn_runtime *rt, cn_coop *coop, const char *out, uint64_t it,
                                 const cn_train_options *o, cn_error *e) {
    char path[CN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/checkpoints/ckpt-%06llu.cnck", out, (unsigned long long)it);
    CN_TRY(cn_checkpoint_save(rt, coop, it, path, e));
    say(o, "checkpoint %s", path);
    prune_checkpoints(out, it, coop->config.training.keep_checkpoints, coop->config.training.checkpoint_every);
    return CN_OK;
}

/* The metrics of the nets the mode trains are finite (the others are NaN by design). */
static int finite_metrics(cn_mode mode, const cn_metrics *m) {
    int descriptor_ok = isfinite(m->loss_d) && isfinite(m->f_observed) && isfinite(m->f_revised);
    return (mode == CN_MODE_GENERATOR || descriptor_ok) && (mode == CN_MODE_DESCRIPTOR || isfinite(m->loss_g));
}

/* A descriptor with every unit off on the chains (f(Y~) = 0 and df/dY = 0 exactly) teaches
 * nothing more: the chains feel only the prior and the noise, and its own gradient soon switches off
 * the observed images' last units too. A ReLU net gets there in a few oversized Adam steps: brick
 * texture runs did at iterations 1418 and 1102, f(X) falling 3.8e7 -> 1.6e5 -> 3946 -> 1.5 -> 0 over
 * 8 iterations. Waiting for f(X) = 0 as well let a checkpoint of the already dead net be written and
 * chosen for every rollback. The guard treats it as a divergence: back to the last checkpoint with a
 * smaller learning rate. (Leaky ReLU nets never get there.) */
static int descriptor_dead(cn_mode mode, const cn_metrics *m) {
    return mode != CN_MODE_GENERATOR && m->f_revised == 0.0 && m->grad_f_norm == 0.0;
}

/* What the log point, the outputs and the rollback path of one run share. */
typedef struct train_loop {
    cn_runtime *rt;
    const cn_config *config; /* as the run was started (coop.config takes the rollbacks' smaller rates) */
    const cn_train_options *o;
    cn_coop coop;
    int writer;              /* rank 0: writes the run's files (metrics, h and tb are its alone) */
    history h;
    FILE *metrics;
    cn_tb_writer tb;
    uint64_t total;
    double t0, last_log;     /* the loop's start, and the last log point's */
    uint64_t last_log_it;
    int rollbacks;
    int warned_grace;        /* said once that mpirun's kill delay is shorter than an iteration */
    cn_trace trace;          /* tests only: COOPNETS_TRACE */
} train_loop;

/* ---- the divergence guard ---------------------------------------------------------------------- */

/* Training diverged (e says where and how): reloads the run's newest checkpoint (finite: a
 * checkpoint of NaN weights is never written), multiplies the trained net's learning rate (and the
 * descriptor's Langevin step size) by training.retry_lr_factor in coop->config, saves that
 * checkpoint again so its config carries the smaller values into any resume, rewinds
 * metrics.jsonl, the curves and the TensorBoard files to it and records the rollback there. Gives up, with e's message
 * extended, after training.max_retries rollbacks or when there is no checkpoint. *back is the
 * iteration to continue from. */
static cn_status roll_back(train_loop *l, uint64_t diverged_at, uint64_t *back, cn_error *e) {
    cn_coop *coop = &l->coop;
    cn_config *c = &coop->config;
    const char *out = c->training.output;
    char why[sizeof e->message], ckpt[CN_PATH_MAX], path[CN_PATH_MAX + 64];
    snprintf(why, sizeof why, "%s", e->message);
    int found = cn_checkpoint_find_on(coop->dist, out, ckpt, sizeof ckpt, NULL) == CN_OK;
    if (!found)
        return cn_error_set(e, CN_ERR_DIVERGED,
                            "%s; there is no checkpoint to roll back to yet: start again with a smaller "
                            "descriptor.optimizer.lr or descriptor.langevin.step_size (or training.checkpoint_every)",
                            why);
    if (l->rollbacks >= c->training.max_retries)
        return cn_error_set(e, CN_ERR_DIVERGED,
                            "%s; gave up after %d rollbacks (training.max_retries). The checkpoints in %s/checkpoints "
                            "are from before it: resume with a smaller descriptor.optimizer.lr or "
                            "descriptor.langevin.step_size",
                            why, l->rollbacks, out);
    CN_TRY(cn_checkpoint_load(l->rt, coop, ckpt, back, e));
    ++l->rollbacks;
    l->last_log = cn_seconds_now(), l->last_log_it = *back;
    int writer = cn_dist_rank(coop->dist) == 0; /* every rank rolls back; rank 0 rewrites the files */
    double factor = c->training.retry_lr_factor;
    cn_optimizer_config *opt = c->mode == CN_MODE_GENERATOR ? &c->generator.optimizer : &c->descriptor.optimizer;
    opt->lr *= factor; /* the next iteration's learning rate follows (cn_algorithm_iteration) */
    if (c->mode != CN_MODE_GENERATOR) c->descriptor.langevin_step_size *= factor;
    CN_TRY(cn_coop_prepare_save(l->rt, coop, e));
    if (!writer) return CN_OK;
    CN_TRY(cn_checkpoint_save(l->rt, coop, *back, ckpt, e));
    char *json = cn_config_to_json(c);
    snprintf(path, sizeof path, "%s/config.json", out);
    cn_status s = json ? write_text_file(path, json, e) : cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    if (s == CN_OK && cn_tb_is_open(&l->tb)) s = cn_tb_rewind(&l->tb, *back, json, e);
    free(json);
    CN_TRY(s);
    fclose(l->metrics);
    l->metrics = NULL;
    history_free(&l->h);
    memset(&l->h, 0, sizeof l->h);
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    CN_TRY(metrics_resume(path, *back, &l->h, e));
    if (!(l->metrics = fopen(path, "a"))) return cn_error_set(e, CN_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    const char *net = c->mode == CN_MODE_GENERATOR ? "generator" : "descriptor";
    cJSON *event = cJSON_CreateObject();
    cJSON_AddNumberToObject(event, "iteration", (double)*back);
    cJSON_AddStringToObject(event, "event", "rollback");
    cJSON_AddNumberToObject(event, "diverged_at", (double)diverged_at);
    cJSON_AddStringToObject(event, "reason", why);
    cJSON_AddNumberToObject(event, "rollback", l->rollbacks);
    cJSON_AddNumberToObject(event, "max_retries", c->training.max_retries);
    cJSON_AddStringToObject(event, "checkpoint", ckpt);
    cJSON_AddNumberToObject(event, c->mode == CN_MODE_GENERATOR ? "generator_lr" : "descriptor_lr", opt->lr);
    if (c->mode != CN_MODE_GENERATOR) cJSON_AddNumberToObject(event, "descriptor_step_size", c->descriptor.langevin_step_size);
    char *line = cJSON_PrintUnformatted(event);
    cJSON_Delete(event);
    if (!line) return cn_error_set(e, CN_ERR_NOMEM, "out of memory writing %s", path);
    fprintf(l->metrics, "%s\n", line);
    fflush(l->metrics);
    free(line);
    char step[64] = "";
    if (c->mode != CN_MODE_GENERATOR) snprintf(step, sizeof step, ", Langevin step size %g", c->descriptor.langevin_step_size);
    say(l->o, "%s: rolled back to %s (rollback %d of %d); %s learning rate now %g%s", why, ckpt, l->rollbacks,
        c->training.max_retries, net, opt->lr, step);
    return CN_OK;
}

/* ---- the loop --------------------------------------------------------------------------------- */

static void write_metrics_line(FILE *metrics, const cn_progress *p) {
    const cn_metrics *m = &p->metrics;
    fprintf(metrics, "{\"iteration\":%llu,\"epoch\":%llu", (unsigned long long)p->iteration,
            (unsigned long long)p->epoch);
    json_number(metrics, "f_observed", m->f_observed);
    json_number(metrics, "f_generated", m->f_generated);
    json_number(metrics, "f_revised", m->f_revised);
    json_number(metrics, "loss_d", m->loss_d);
    json_number(metrics, "loss_g", m->loss_g);
    json_number(metrics, "grad_f_norm", m->grad_f_norm);
    json_number(metrics, "seconds_per_iteration", p->seconds_per_iteration);
    json_number(metrics, "images_per_second", p->images_per_second);
    json_number(metrics, "elapsed_seconds", p->elapsed_seconds);
    json_number(metrics, "descriptor_lr", p->descriptor_lr);
    json_number(metrics, "generator_lr", p->generator_lr);
    fprintf(metrics, "}\n");
    fflush(metrics);
}

/* The run folder: samples/ and checkpoints/ (without a killed run's temporaries), config.json,
 * the TensorBoard file, metrics.jsonl (rewound to the checkpoint on resume). */
static cn_status open_outputs(const cn_config *config, const cn_train_options *o, uint64_t start, history *h,
                              FILE **metrics, cn_tb_writer *tb, cn_error *e) {
    const char *out = config->training.output;
    char path[CN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/samples", out);
    CN_TRY(cn_make_dirs(path, e));
    snprintf(path, sizeof path, "%s/checkpoints", out);
    CN_TRY(cn_make_dirs(path, e));
    remove_temporaries(path);
    char *json = cn_config_to_json(config);
    snprintf(path, sizeof path, "%s/config.json", out);
    cn_status s = json ? write_text_file(path, json, e) : cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    if (s == CN_OK && config->training.tensorboard) s = cn_tb_open(tb, out, o->resume != NULL, start, json, e);
    free(json);
    CN_TRY(s);
    snprintf(path, sizeof path, "%s/metrics.jsonl", out);
    if (o->resume) CN_TRY(metrics_resume(path, start, h, e));
    else remove(path);
    if (!(*metrics = fopen(path, "a"))) return cn_error_set(e, CN_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return CN_OK;
}

/* Data-parallel training: every rank stops at the same iteration when a signal reached any of
 * them. One small collective per iteration. */
static cn_status agree_to_stop(cn_dist *dist, int *stopping, cn_error *e) {
    double v = *stopping ? 1.0 : 0.0;
    CN_TRY(cn_dist_max_doubles(dist, &v, 1, "the end of an iteration", e));
    *stopping = v != 0.0;
    return CN_OK;
}

/* Only rank 0 writes a checkpoint; its outcome (a NaN in the weights, a full disk) is every rank's. */
static cn_status shared_checkpoint(cn_runtime *rt, cn_coop *coop, const char *out, uint64_t it,
                                   const cn_train_options *o, cn_error *e) {
    cn_status s = cn_coop_prepare_save(rt, coop, e);
    if (s == CN_OK && cn_dist_rank(coop->dist) == 0) s = save_checkpoint(rt, coop, out, it, o, e);
    return cn_dist_share_outcome(coop->dist, s, "sharing the checkpoint's outcome", e);
}

/* ---- the loop's parts ------------------------------------------------------------------------- */

/* The log point after iteration `done` (counted from 1): the metrics over all ranks, the slowest
 * rank's time, the replica check; rank 0 writes them out. Non-finite metrics or a dead descriptor
 * are CN_ERR_DIVERGED. */
static cn_status log_point(train_loop *l, uint64_t done, uint64_t epoch, cn_error *e) {
    const cn_train_options *o = l->o;
    const cn_config *c = &l->coop.config; /* a rollback's smaller rates live here */
    cn_progress p = {.iteration = done, .total = l->total, .epoch = epoch, .descriptor_lr = NAN, .generator_lr = NAN};
    if (c->mode != CN_MODE_GENERATOR) p.descriptor_lr = cn_optimizer_lr(&c->descriptor.optimizer, done - 1);
    if (c->mode != CN_MODE_DESCRIPTOR) p.generator_lr = cn_optimizer_lr(&c->generator.optimizer, done - 1);
    CN_TRY(cn_coop_read_metrics(l->rt, &l->coop, &p.metrics, e)); /* waits for the queue */
    double seconds = cn_seconds_now() - l->last_log; /* the slowest rank's, in data-parallel training */
    CN_TRY(cn_dist_max_doubles(o->dist, &seconds, 1, "the iteration time", e));
    CN_TRY(cn_coop_check_replicas(l->rt, &l->coop, e));
    if (cn_fault_hit("nan")) p.metrics.loss_d = p.metrics.loss_g = NAN; /* tests of the guard */
    if (cn_fault_hit("dead")) p.metrics.f_observed = p.metrics.f_revised = p.metrics.grad_f_norm = 0.0;
    double now = cn_seconds_now();
    p.elapsed_seconds = now - l->t0;
    p.seconds_per_iteration = seconds / (double)(done - l->last_log_it);
    p.images_per_second = (double)l->config->training.batch_size / p.seconds_per_iteration;
    p.eta_seconds = p.seconds_per_iteration * (double)(l->total - done);
    l->last_log = now, l->last_log_it = done;
    double grace = cn_dist_stop_grace_seconds(o->dist);
    if (grace > 0 && p.seconds_per_iteration > grace && !l->warned_grace) {
        l->warned_grace = 1; /* a stop finishes the iteration first, then writes the checkpoint */
        say(o, "an iteration takes %.1f s, but mpirun kills the ranks %.0f s after it forwards Ctrl-C or SIGTERM, "
               "before they can write a checkpoint: to stop cleanly, start with "
               "mpirun --mca odls_base_sigkill_timeout %.0f",
            p.seconds_per_iteration, grace, ceil(3 * p.seconds_per_iteration + 10));
    }
    const cn_metrics *m = &p.metrics;
    if (l->writer) {
        write_metrics_line(l->metrics, &p);
        history_add(&l->h, (double)done, m);
        CN_TRY(tb_log(&l->tb, &p, e));
        if (o->on_log) o->on_log(o->user, &p);
    }
    if (!finite_metrics(l->config->mode, m))
        return cn_error_set(e, CN_ERR_DIVERGED, "training diverged at iteration %llu (L_D %g, L_G %g)",
                            (unsigned long long)done, m->loss_d, m->loss_g);
    if (descriptor_dead(l->config->mode, m))
        return cn_error_set(e, CN_ERR_DIVERGED,
                            "the descriptor died at iteration %llu (f(Y~) and df/dY are exactly 0: every unit is off "
                            "on the chains)",
                            (unsigned long long)done);
    return CN_OK;
}

/* The outputs due after iteration `done`: sample grids and curves, then the checkpoint (also when
 * stopping). A checkpoint refused for NaN weights (between log points) is CN_ERR_DIVERGED. */
static cn_status write_outputs(train_loop *l, uint64_t done, int stopping, cn_error *e) {
    const cn_training_config *t = &l->config->training;
    if ((t->sample_every > 0 && done % (uint64_t)t->sample_every == 0) || done == l->total) {
        CN_TRY(write_samples(l->rt, &l->coop, t->output, done, &l->tb, e));
        if (l->writer) CN_TRY(write_curves(t->output, &l->h, e));
    }
    if ((t->checkpoint_every > 0 && done % (uint64_t)t->checkpoint_every == 0) || done == l->total || stopping) {
        cn_status s = shared_checkpoint(l->rt, &l->coop, t->output, done, l->o, e);
        if (s == CN_ERR_DIVERGED) cn_error_prefix(e, "training diverged by iteration %llu", (unsigned long long)done);
        return s;
    }
    return CN_OK;
}

/* The iterations from `start` to the goal, with a log point, the outputs and, after a divergence,
 * the rollback path. perm holds the data set's shuffled order, batch one batch. */
static cn_status train_iterations(train_loop *l, const cn_dataset *data, uint32_t *perm, float *batch, uint64_t start,
                                  cn_error *e) {
    const cn_config *config = l->config;
    const cn_training_config *t = &config->training;
    cn_coop *coop = &l->coop;
    size_t n = (size_t)t->batch_size, count = (size_t)data->count;
    size_t per_epoch = count / n ? count / n : 1;
    cn_status s = CN_OK;
    uint64_t epoch = UINT64_MAX, it = start;
    l->t0 = l->last_log = cn_seconds_now();
    l->last_log_it = start;
    while (s == CN_OK && it < l->total) {
        if (it / per_epoch != epoch) {
            epoch = it / per_epoch;
            cn_dataset_permutation(perm, count, config->seed, epoch);
        }
        /* every rank walks the same shuffled order and takes its slice of the batch */
        cn_dataset_gather(data, perm, (it % per_epoch) * n + coop->batch_first, coop->batch, batch);
        uint64_t done = it + 1;
        int log = done % (uint64_t)t->log_every == 0 || done == l->total;
        if ((s = cn_coop_set_observed(l->rt, coop, batch, e)) != CN_OK) break;
        if ((s = cn_algorithm_iteration(l->rt, coop, it, perm, (it % per_epoch) * n, log, e)) != CN_OK) break;
        if ((s = cn_trace_iteration(l->rt, coop, &l->trace, it, batch, e)) != CN_OK) break;
        int stopping = l->o->stop && *l->o->stop;
        if (cn_dist_size(l->o->dist) > 1 && (s = agree_to_stop(l->o->dist, &stopping, e)) != CN_OK) break;
        if (log) s = log_point(l, done, epoch, e);
        if (s == CN_OK) s = write_outputs(l, done, stopping, e);
        if (s == CN_ERR_DIVERGED) {
            s = roll_back(l, done, &it, e);
            continue;
        }
        if (s == CN_OK && stopping)
            s = cn_error_set(e, CN_ERR_INTERRUPTED, "stopped at iteration %llu; continue with --resume %s",
                             (unsigned long long)done, t->output);
        it = done;
    }
    return s == CN_OK ? cn_finish(l->rt, e) : s;
}

cn_status cn_train(cn_runtime *rt, const cn_config *config, const cn_train_options *o, cn_error *e) {
    const cn_training_config *t = &config->training;
    cn_dataset data = {0};
    train_loop l = {.rt = rt, .config = config, .o = o, .tb = cn_tb_closed()};
    uint32_t *perm = NULL;
    float *batch = NULL;
    int coop_built = 0;
    cn_status s = cn_dataset_load(&config->data, config->seed, &data, e);
    if (s != CN_OK) {
        cn_error_prefix(e, "config %s, data", config->source);
        goto end;
    }
    if ((size_t)data.count < (size_t)t->batch_size) {
        s = cn_error_set(e, CN_ERR_CONFIG, "config %s: training.batch_size is %d but the data set has only %d images",
                         config->source, t->batch_size, data.count);
        goto end;
    }
    /* Choose the GEMM now (measured once per device, then read from the cache), not inside an
     * iteration where measuring would wait on the queue. */
    if ((s = cn_gemm_select(rt, CN_GEMM_AUTO, e)) != CN_OK) goto end;
    if ((s = cn_coop_create_on(rt, config, o->dist, &l.coop, e)) != CN_OK) goto end;
    coop_built = 1;
    if ((s = cn_algorithm_prepare(rt, &l.coop, (size_t)data.count, e)) != CN_OK) goto end;
    uint64_t start = 0;
    l.total = o->iterations > 0 ? (uint64_t)o->iterations : cn_train_total_iterations(config, (size_t)data.count);
    if (o->resume) {
        char ckpt[CN_PATH_MAX];
        if ((s = cn_checkpoint_find_on(o->dist, o->resume, ckpt, sizeof ckpt, e)) != CN_OK) goto end;
        if ((s = cn_checkpoint_load(rt, &l.coop, ckpt, &start, e)) != CN_OK) goto end;
        say(o, "resumed from %s at iteration %llu", ckpt, (unsigned long long)start);
    } else if ((s = cn_coop_init_weights(rt, &l.coop, e)) != CN_OK) {
        goto end;
    }
    if ((s = cn_trace_open(rt, &l.coop, start, &l.trace, e)) != CN_OK) goto end; /* tests only: COOPNETS_TRACE */
    /* Rank 0 alone writes the run's files; the others hold the same model and outputs nothing. */
    l.writer = cn_dist_rank(o->dist) == 0;
    if (l.writer && (s = open_outputs(config, o, start, &l.h, &l.metrics, &l.tb, e)) != CN_OK) goto end;
    size_t n = (size_t)t->batch_size, count = (size_t)data.count;
    perm = malloc(count * sizeof *perm);
    batch = malloc(l.coop.batch * l.coop.image_floats * sizeof *batch);
    if (!perm || !batch) {
        s = cn_error_set(e, CN_ERR_NOMEM, "out of memory for the data batch");
        goto end;
    }
    say(o, "training %llu iterations (%zu images, batch %zu, %zu chains, GEMM %s) into %s", (unsigned long long)l.total,
        count, n, l.coop.chains_total, cn_gemm_backend_name(cn_gemm_backend_in_use(rt)), t->output);
    if (cn_dist_size(o->dist) > 1)
        say(o, "data-parallel over %d ranks: each takes about %zu images and %zu chains a step", cn_dist_size(o->dist),
            l.coop.batch, l.coop.chain_count);
    s = train_iterations(&l, &data, perm, batch, start, e);
end:
    if (l.metrics) fclose(l.metrics);
    free(perm);
    free(batch);
    cn_tb_close(&l.tb);
    cn_trace_close(rt, &l.trace);
    history_free(&l.h);
    if (coop_built) cn_coop_free(rt, &l.coop);
    cn_dataset_free(&data);
    return s;
}
