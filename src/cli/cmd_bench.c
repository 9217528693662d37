/* `coopnets_cl bench CONFIG [--device N|all] [--iters K] [--warmup W] [--sgemm N] [--json FILE]`:
 * times training iterations of CONFIG on one device or on each, with three runtimes per device:
 *   1. with the program cache: the cold start (set-up: runtime open, program builds, GEMM choice,
 *      buffers, weights; then the first iteration), then W warm-up and K timed iterations (a host wait after each, as the training loop's
 *      blocking upload of the next batch makes), then optionally SGEMM at N^3 with each backend;
 *   2. without the program cache (no_cache = 1): the cold start only;
 *   3. with a profiling queue: one untimed iteration (it makes the machine code), then one
 *      iteration step by step with a profile attached, each step's commands tagged with it.
 * The timed iterations run without events, exactly as training does. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_coop.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_tuning.h"
#include "coopnets/cn_util.h"

/* ---- steps and kernel families ---------------------------------------------------------------- */

enum { STEP_COUNT = 5 };
/* Profile tags: 0 the batch upload, step s is tag s + 1. */
static const char *const step_names[STEP_COUNT] = {"generate", "revise", "update_descriptor", "infer_latent",
                                                   "update_generator"};
/* Steps 1, 4 and 5 run only the generator (transposed convolutions), 2 and 3 only the descriptor. */
static const int step_is_generator[STEP_COUNT] = {1, 0, 0, 1, 1};

static cn_status run_step(cn_runtime *rt, cn_coop *coop, int step, uint64_t it, cn_error *e) {
    switch (step) {
    case 0: return cn_coop_generate(rt, coop, it, e);
    case 1: return cn_coop_revise(rt, coop, it, 0, e);
    case 2: return cn_coop_update_descriptor(rt, coop, 0, e);
    case 3: return cn_coop_infer_latent(rt, coop, it, e);
    default: return cn_coop_update_generator(rt, coop, 0, e);
    }
}

typedef enum {
    FAM_CONV, FAM_DECONV, FAM_GEMM, FAM_BATCHNORM, FAM_ACTIVATION, FAM_BIAS, FAM_LANGEVIN, FAM_NOISE, FAM_ADAM,
    FAM_REDUCE, FAM_ELEMENTWISE, FAM_TRANSFER, FAM_OTHER, FAMILY_COUNT
} family;

static const struct {
    const char *key, *label;
} families[FAMILY_COUNT] = {
    {"conv", "conv: im2col, col2im, transpose"}, {"deconv", "deconv: im2col, col2im, transpose"}, {"gemm", "GEMM"},
    {"batchnorm", "batch norm"}, {"activation", "activations"}, {"bias", "bias"}, {"langevin", "Langevin"},
    {"noise", "noise"}, {"adam", "Adam"}, {"reduce", "reductions"}, {"elementwise", "scaled differences"},
    {"transfers", "transfers"}, {"other", "other"},
};

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* The family of a profiled command. im2col, col2im and the transposes around them serve both
 * conv and transposed conv: the step says which net, and each net has one kind. */
static family family_of(const char *name, int tag) {
    static const struct {
        const char *prefix;
        family f;
    } prefixes[] = {
        {"cn_gemm_", FAM_GEMM},           {"clblast_sgemm", FAM_GEMM},    {"cn_batchnorm_", FAM_BATCHNORM},
        {"cn_relu_", FAM_ACTIVATION},     {"cn_leaky_relu_", FAM_ACTIVATION}, {"cn_tanh_", FAM_ACTIVATION},
        {"cn_bias_", FAM_BIAS},           {"cn_langevin_", FAM_LANGEVIN}, {"cn_noise_", FAM_NOISE},
        {"cn_philox_", FAM_NOISE},        {"cn_adam_", FAM_ADAM},         {"cn_reduce_", FAM_REDUCE},
        {"cn_scaled_difference", FAM_ELEMENTWISE}, {"cn_masked_difference", FAM_ELEMENTWISE}, {"write", FAM_TRANSFER},
        {"read", FAM_TRANSFER},           {"fill", FAM_TRANSFER},         {"copy", FAM_TRANSFER},
    };
    if (starts_with(name, "cn_im2col") || starts_with(name, "cn_col2im") || starts_with(name, "cn_transpose"))
        return tag >= 1 && tag <= STEP_COUNT && step_is_generator[tag - 1] ? FAM_DECONV : FAM_CONV;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (starts_with(name, prefixes[i].prefix)) return prefixes[i].f;
    return FAM_OTHER;
}

/* ---- one device ------------------------------------------------------------------------------- */

typedef struct totals {
    double seconds, flops, bytes;
    unsigned long calls;
} totals;

/* The seconds of a cold start: everything before the first iteration (runtime, program builds,
 * GEMM choice, buffers, weights), then the first iteration (where the driver makes machine code). */
typedef struct cold_start {
    double setup, first_iteration;
} cold_start;

typedef struct bench_result {
    cn_device_info device;
    int ok;
    char error[1024];
    const char *gemm;
    char variants[CN_FAMILY_COUNT][96]; /* each kernel family's variant (cn_tuning_describe) */
    double median, min, max, images_per_second;
    cold_start cold_cached, cold_uncached;
    double build_cached, build_uncached;
    unsigned cache_hits, cache_misses;
    double steps[STEP_COUNT];
    double profiled_wall, profiled_events;
    totals families[FAMILY_COUNT];
    cn_profile_total *kernels;
    size_t kernel_count;
    double peak_gflops; /* NAN when it cannot be computed */
    char peak_how[200];
    double sgemm_own, sgemm_clblast; /* NAN when not measured */
} bench_result;

typedef struct bench_input {
    const char *config_path;
    cn_config config;
    cn_dataset data;
    uint32_t *perm;
    float *batch;
    long iters, warmup, sgemm;
    int quiet;
} bench_input;

static void progress(const bench_input *in, const char *what, int device) {
    if (in->quiet) return;
    printf("  [device %d] %s\n", device, what);
    fflush(stdout);
}

/* Batch `it` of a fixed permutation, uploaded. */
static cn_status upload_batch(cn_runtime *rt, cn_coop *coop, bench_input *in, uint64_t it, cn_error *e) {
    const size_t n = (size_t)in->config.training.batch_size, count = (size_t)in->data.count;
    /* a rank of a data-parallel run takes its slice, as training does */
    cn_dataset_gather(&in->data, in->perm, (size_t)(it * n % count) + coop->batch_first, coop->batch, in->batch);
    return cn_coop_set_observed(rt, coop, in->batch, e);
}

/* One training iteration as the training loop runs it (its blocking upload waits for the one
 * before), waited for. */
static cn_status one_iteration(cn_runtime *rt, cn_coop *coop, bench_input *in, uint64_t it, cn_error *e) {
    CN_TRY(upload_batch(rt, coop, in, it, e));
    CN_TRY(cn_coop_iteration(rt, coop, it, 0, e));
    return cn_finish(rt, e);
}

/* Opens a runtime on `device` and runs the first iteration: the cold start. The coop is made
 * (and *rt open) on success, released on failure. */
static cn_status start_run(bench_input *in, int device, int profiling, int no_cache, cn_runtime **rt, cn_coop *coop,
                           cold_start *cold, cn_error *e) {
    const double t0 = cn_seconds_now();
    cn_runtime_options o = cn_runtime_default_options();
    o.device = device;
    o.profiling = profiling;
    o.no_cache = no_cache;
    CN_TRY(cn_runtime_open(rt, &o, e));
    int made = 0;
    cn_status s = cn_gemm_select(*rt, CN_GEMM_AUTO, e);
    if (s == CN_OK) made = (s = cn_coop_create(*rt, &in->config, coop, e)) == CN_OK;
    if (s == CN_OK) s = cn_coop_init_weights(*rt, coop, e);
    if (s == CN_OK) s = cn_finish(*rt, e);
    const double t1 = cn_seconds_now();
    if (s == CN_OK) s = one_iteration(*rt, coop, in, 0, e);
    if (s != CN_OK) {
        if (made) cn_coop_free(*rt, coop);
        cn_runtime_close(*rt);
        *rt = NULL;
        return s;
    }
    cold->setup = t1 - t0;
    cold->first_iteration = cn_seconds_now() - t1;
    return CN_OK;
}

static void end_run(cn_runtime *rt, cn_coop *coop) {
    cn_coop_free(rt, coop);
    cn_runtime_close(rt);
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static cn_status timed_iterations(cn_runtime *rt, cn_coop *coop, bench_input *in, bench_result *r, cn_error *e) {
    double *t = malloc((size_t)in->iters * sizeof *t);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for %ld timings", in->iters);
    cn_status s = CN_OK;
    uint64_t it = 1;
    for (long i = 0; i < in->warmup && s == CN_OK; i++, it++) s = one_iteration(rt, coop, in, it, e);
    for (long i = 0; i < in->iters && s == CN_OK; i++, it++) {
        const double t0 = cn_seconds_now();
        s = one_iteration(rt, coop, in, it, e);
        t[i] = cn_seconds_now() - t0;
    }
    if (s == CN_OK) {
        qsort(t, (size_t)in->iters, sizeof *t, compare_doubles);
        const size_t k = (size_t)in->iters;
        r->min = t[0];
        r->max = t[k - 1];
        r->median = k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
        r->images_per_second = (double)in->config.training.batch_size / r->median;
    }
    free(t);
    return s;
}

/* GFLOP/s of one n^3 product with `backend`: best of 3 after a call that pays the compiles. The
 * backend chosen for the run is restored afterwards. */
static cn_status sgemm_rate(cn_runtime *rt, cn_gemm_backend backend, size_t n, double *gflops, cn_error *e) {
    const cn_gemm_backend chosen = cn_gemm_backend_in_use(rt);
    cn_buffer x[3] = {{0}};
    cn_status s = CN_OK;
    for (int i = 0; i < 3 && s == CN_OK; i++) {
        s = cn_buffer_alloc(rt, &x[i], n * n * sizeof(float), "the SGEMM benchmark", e);
        if (s == CN_OK) s = cn_buffer_fill_f32(rt, &x[i], 0.25f, 0, n * n, e);
    }
    if (s == CN_OK) s = cn_gemm_select(rt, backend, e);
    const cn_gemm_args g = {.m = n, .n = n, .k = n, .alpha = 1.0f, .a = &x[0], .lda = n, .b = &x[1], .ldb = n,
                            .c = &x[2], .ldc = n};
    double best = INFINITY;
    for (int r = 0; r < 4 && s == CN_OK; r++) {
        const double t0 = cn_seconds_now();
        s = cn_gemm(rt, &g, e);
        if (s == CN_OK) s = cn_finish(rt, e);
        const double t = cn_seconds_now() - t0;
        if (r > 0 && t < best) best = t;
    }
    if (s == CN_OK) *gflops = 2.0 * (double)n * n * n / best * 1e-9;
    cn_finish(rt, NULL);
    for (int i = 0; i < 3; i++) cn_buffer_free(rt, &x[i]);
    cn_gemm_select(rt, chosen, NULL);
    return s;
}

static cn_status profiled_iteration(bench_input *in, int device, bench_result *r, cn_error *e) {
    cn_runtime *rt;
    cn_coop coop;
    cold_start unused;
    CN_TRY(start_run(in, device, 1, 0, &rt, &coop, &unused, e));
    cn_profile *p = NULL;
    cn_status s = cn_profile_create(&p, e);
    if (s == CN_OK) s = cn_profile_attach(rt, p, e);
    const double t0 = cn_seconds_now();
    if (s == CN_OK) s = upload_batch(rt, &coop, in, 1, e);
    for (int step = 0; step < STEP_COUNT && s == CN_OK; step++) {
        cn_profile_set_tag(p, step + 1);
        s = run_step(rt, &coop, step, 1, e);
    }
    if (s == CN_OK) s = cn_profile_resolve(rt, p, &r->kernels, &r->kernel_count, e);
    r->profiled_wall = cn_seconds_now() - t0;
    for (size_t i = 0; i < r->kernel_count; i++) {
        const cn_profile_total *k = &r->kernels[i];
        totals *f = &r->families[family_of(k->name, k->tag)];
        f->seconds += k->seconds;
        f->flops += k->flops;
        f->bytes += k->bytes;
        f->calls += k->calls;
        if (k->tag >= 1 && k->tag <= STEP_COUNT) r->steps[k->tag - 1] += k->seconds;
        r->profiled_events += k->seconds;
    }
    cn_profile_attach(rt, NULL, NULL);
    cn_profile_free(p);
    end_run(rt, &coop);
    return s;
}

/* The device's single-precision peak where it follows from what OpenCL reports. */
static void peak(bench_result *r) {
    const cn_device_info *d = &r->device;
    cl_uint width = 0;
    clGetDeviceInfo(d->id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL);
    const double ghz = d->clock_mhz * 1e-3;
    unsigned lanes = 0;
    const char *per = "";
    if (d->type & CL_DEVICE_TYPE_CPU) lanes = width, per = "floats per vector (native width)";
    else if ((d->type & CL_DEVICE_TYPE_GPU) && strstr(d->vendor, "NVIDIA")) lanes = 128, per = "FP32 lanes per SM (assumed: Ampere/Hopper)";
    else if ((d->type & CL_DEVICE_TYPE_GPU) && (strstr(d->vendor, "AMD") || strstr(d->vendor, "Advanced Micro")))
        lanes = 64, per = "FP32 lanes per CU (assumed: GCN/RDNA)";
    if (!lanes || !d->compute_units || !d->clock_mhz) {
        r->peak_gflops = NAN;
        snprintf(r->peak_how, sizeof r->peak_how, "n/a (no rule for a %s from %s)", cn_device_type_name(d->type),
                 d->vendor);
        return;
    }
    r->peak_gflops = d->compute_units * ghz * lanes * 2.0;
    snprintf(r->peak_how, sizeof r->peak_how, "%u compute units x %u MHz x %u %s x 2 (one FMA per lane per cycle)",
             d->compute_units, d->clock_mhz, lanes, per);
}

static cn_status bench_device(bench_input *in, int device, bench_result *r, cn_error *e) {
    cn_runtime *rt;
    cn_coop coop;
    progress(in, "cold start with the program cache, then the timed iterations", device);
    CN_TRY(start_run(in, device, 0, 0, &rt, &coop, &r->cold_cached, e));
    r->device = rt->device;
    r->build_cached = rt->stats.build_seconds;
    r->cache_hits = rt->stats.cache_hits;
    r->cache_misses = rt->stats.cache_misses;
    r->gemm = cn_gemm_backend_name(cn_gemm_backend_in_use(rt));
    if (cn_tuning_warning(rt)) fprintf(stderr, "coopnets_cl: warning: %s\n", cn_tuning_warning(rt));
    cn_status s = timed_iterations(rt, &coop, in, r, e);
    for (int f = 0; f < CN_FAMILY_COUNT; f++) cn_tuning_describe(rt, (cn_kernel_family)f, r->variants[f], sizeof r->variants[f]);
    r->sgemm_own = r->sgemm_clblast = NAN;
    if (s == CN_OK && in->sgemm > 0) {
        progress(in, "SGEMM with each backend", device);
        cn_error backend_error = {0};
        /* A backend that does not run on this device is reported as missing, not as a failure. */
        if (sgemm_rate(rt, CN_GEMM_OWN, (size_t)in->sgemm, &r->sgemm_own, &backend_error) != CN_OK && !in->quiet)
            printf("  [device %d] SGEMM with our kernels failed: %s\n", device, backend_error.message);
        cn_error_clear(&backend_error);
        if (sgemm_rate(rt, CN_GEMM_CLBLAST, (size_t)in->sgemm, &r->sgemm_clblast, &backend_error) != CN_OK &&
            !in->quiet)
            printf("  [device %d] SGEMM with CLBlast failed: %s\n", device, backend_error.message);
        cn_error_clear(&backend_error);
    }
    end_run(rt, &coop);
    if (s != CN_OK) return s;
    progress(in, "cold start without the program cache", device);
    CN_TRY(start_run(in, device, 0, 1, &rt, &coop, &r->cold_uncached, e));
    r->build_uncached = rt->stats.build_seconds;
    end_run(rt, &coop);
    progress(in, "profiled iteration", device);
    CN_TRY(profiled_iteration(in, device, r, e));
    peak(r);
    r->ok = 1;
    return CN_OK;
}

/* ---- output ----------------------------------------------------------------------------------- */

static double total_cold(const cold_start *c) { return c->setup + c->first_iteration; }

static void print_rate(double work, double seconds, const char *unit) {
    if (work > 0 && seconds > 0) printf(" %9.2f%s", work / seconds * 1e-9, unit);
    else printf(" %9s%s", "-", unit);
}

static void print_detail(const bench_input *in, const bench_result *r) {
    const cn_device_info *d = &r->device;
    printf("\ndevice %d: %s (%s, %s), GEMM %s\n", d->index, d->name, cn_device_type_name(d->type), d->version,
           r->gemm);
    printf("  variants     gemm %s, batchnorm %s, reduce %s\n", r->variants[CN_FAMILY_GEMM],
           r->variants[CN_FAMILY_BATCHNORM], r->variants[CN_FAMILY_REDUCE]);
    printf("  iteration    median %.4f s (min %.4f, max %.4f) over %ld, %.2f images/s\n", r->median, r->min, r->max,
           in->iters, r->images_per_second);
    printf("  cold start   with the program cache: %.3f s = set-up %.3f s (%u programs from the cache, %u compiled,\n"
           "               builds %.3f s) + first iteration %.3f s\n"
           "               without it: %.3f s = set-up %.3f s (builds %.3f s) + first iteration %.3f s\n"
           "               (the driver's own kernel cache, PoCL: POCL_CACHE_DIR, stays warm in both)\n",
           total_cold(&r->cold_cached), r->cold_cached.setup, r->cache_hits, r->cache_misses, r->build_cached,
           r->cold_cached.first_iteration, total_cold(&r->cold_uncached), r->cold_uncached.setup, r->build_uncached,
           r->cold_uncached.first_iteration);
    if (in->sgemm > 0)
        printf("  SGEMM %ld^3  ours %.2f GFLOP/s, CLBlast %.2f GFLOP/s\n", in->sgemm, r->sgemm_own, r->sgemm_clblast);
    printf("  steps (device time from OpenCL events, one profiled iteration):\n");
    for (int s = 0; s < STEP_COUNT; s++)
        printf("    %-20s %9.4f s %6.1f%%\n", step_names[s], r->steps[s],
               r->profiled_events > 0 ? 100.0 * r->steps[s] / r->profiled_events : 0.0);
    printf("  kernels (same iteration)              seconds  share     calls    GFLOP/s       GB/s\n");
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const totals *t = &r->families[f];
        if (!t->calls) continue;
        printf("    %-33s %9.4f %5.1f%% %9lu", families[f].label, t->seconds,
               r->profiled_events > 0 ? 100.0 * t->seconds / r->profiled_events : 0.0, t->calls);
        print_rate(t->flops, t->seconds, "");
        print_rate(t->bytes, t->seconds, "");
        printf("\n");
    }
    printf("    events %.4f s of %.4f s wall (GFLOP/s and GB/s where the launch counts its work)\n",
           r->profiled_events, r->profiled_wall);
    if (isnan(r->peak_gflops)) printf("  peak         %s; memory bandwidth n/a\n", r->peak_how);
    else printf("  peak         %.1f GFLOP/s = %s; memory bandwidth n/a (OpenCL does not report it)\n",
                r->peak_gflops, r->peak_how);
}

static void print_summary(const bench_result *r, size_t count) {
    printf("\n%-44s %26s %9s %22s %8s  %s\n", "device", "s/iteration median (min-max)", "images/s",
           "cold start cache/none", "GEMM", "variants: gemm / batchnorm / reduce");
    for (size_t i = 0; i < count; i++) {
        char name[64];
        snprintf(name, sizeof name, "[%d] %s", r[i].device.index, r[i].device.name);
        if (!r[i].ok) {
            printf("%-44.44s failed: %s\n", name, r[i].error);
            continue;
        }
        char range[64], cold[64];
        snprintf(range, sizeof range, "%.3f (%.3f-%.3f)", r[i].median, r[i].min, r[i].max);
        snprintf(cold, sizeof cold, "%.2f s / %.2f s", total_cold(&r[i].cold_cached), total_cold(&r[i].cold_uncached));
        printf("%-44.44s %26s %9.2f %22s %8s  %s / %s / %s\n", name, range, r[i].images_per_second, cold, r[i].gemm,
               r[i].variants[CN_FAMILY_GEMM], r[i].variants[CN_FAMILY_BATCHNORM], r[i].variants[CN_FAMILY_REDUCE]);
    }
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static void add_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static double rate(double work, double seconds) { return work > 0 && seconds > 0 ? work / seconds * 1e-9 : NAN; }

static cJSON *result_json(const bench_input *in, const bench_result *r) {
    cJSON *o = cJSON_CreateObject();
    const cn_device_info *d = &r->device;
    cJSON_AddStringToObject(o, "device", d->name);
    cJSON_AddNumberToObject(o, "device_index", d->index);
    cJSON_AddStringToObject(o, "config", in->config_path);
    if (!r->ok) {
        cJSON_AddStringToObject(o, "error", r->error);
        return o;
    }
    cJSON_AddStringToObject(o, "device_type", cn_device_type_name(d->type));
    cJSON_AddStringToObject(o, "platform", d->platform_name);
    cJSON_AddStringToObject(o, "device_version", d->version);
    cJSON_AddStringToObject(o, "driver_version", d->driver_version);
    cJSON_AddNumberToObject(o, "compute_units", d->compute_units);
    cJSON_AddNumberToObject(o, "clock_mhz", d->clock_mhz);
    cJSON_AddStringToObject(o, "gemm", r->gemm);
    cJSON *variants = cJSON_AddObjectToObject(o, "kernel_variants");
    for (int f = 0; f < CN_FAMILY_COUNT; f++)
        cJSON_AddStringToObject(variants, cn_kernel_family_name((cn_kernel_family)f), r->variants[f]);
    const cn_config *c = &in->config;
    cJSON_AddNumberToObject(o, "image_size", c->data.image_size);
    cJSON_AddNumberToObject(o, "channels", c->data.channels);
    cJSON_AddNumberToObject(o, "batch", c->training.batch_size);
    cJSON_AddNumberToObject(o, "chains", c->training.chains);
    cJSON_AddNumberToObject(o, "descriptor_langevin_steps", c->descriptor.langevin_steps);
    cJSON_AddNumberToObject(o, "generator_langevin_steps", c->generator.langevin_steps);
    cJSON_AddNumberToObject(o, "iterations", (double)in->iters);
    cJSON_AddNumberToObject(o, "warmup", (double)in->warmup);
    cJSON *spi = cJSON_AddObjectToObject(o, "seconds_per_iteration");
    add_number(spi, "median", r->median);
    add_number(spi, "min", r->min);
    add_number(spi, "max", r->max);
    add_number(o, "images_per_second", r->images_per_second);
    cJSON *cold = cJSON_AddObjectToObject(o, "cold_start_seconds");
    add_number(cold, "cached", total_cold(&r->cold_cached));
    add_number(cold, "uncached", total_cold(&r->cold_uncached));
    add_number(cold, "setup_cached", r->cold_cached.setup);
    add_number(cold, "setup_uncached", r->cold_uncached.setup);
    add_number(cold, "first_iteration_cached", r->cold_cached.first_iteration);
    add_number(cold, "first_iteration_uncached", r->cold_uncached.first_iteration);
    add_number(cold, "build_cached", r->build_cached);
    add_number(cold, "build_uncached", r->build_uncached);
    cJSON_AddNumberToObject(cold, "cache_hits", r->cache_hits);
    cJSON_AddNumberToObject(cold, "cache_misses", r->cache_misses);
    cJSON_AddStringToObject(cold, "note", "set-up (runtime open, program builds, GEMM choice, buffers, weights) + "
                                          "first iteration; the driver's own kernel cache (PoCL: POCL_CACHE_DIR) "
                                          "stays warm in both");
    cJSON *steps = cJSON_AddObjectToObject(o, "steps");
    for (int s = 0; s < STEP_COUNT; s++) add_number(steps, step_names[s], r->steps[s]);
    cJSON *prof = cJSON_AddObjectToObject(o, "profiled_iteration_seconds");
    add_number(prof, "wall", r->profiled_wall);
    add_number(prof, "events", r->profiled_events);
    cJSON *kernels = cJSON_AddObjectToObject(o, "kernels");
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const totals *t = &r->families[f];
        if (!t->calls) continue;
        cJSON *k = cJSON_AddObjectToObject(kernels, families[f].key);
        add_number(k, "seconds", t->seconds);
        cJSON_AddNumberToObject(k, "calls", (double)t->calls);
        add_number(k, "gflops", rate(t->flops, t->seconds));
        add_number(k, "gbps", rate(t->bytes, t->seconds));
    }
    cJSON *names = cJSON_AddArrayToObject(o, "kernel_names");
    for (size_t i = 0; i < r->kernel_count; i++) {
        const cn_profile_total *t = &r->kernels[i];
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "name", t->name);
        cJSON_AddStringToObject(k, "step", t->tag >= 1 && t->tag <= STEP_COUNT ? step_names[t->tag - 1] : "upload");
        cJSON_AddStringToObject(k, "family", families[family_of(t->name, t->tag)].key);
        add_number(k, "seconds", t->seconds);
        cJSON_AddNumberToObject(k, "calls", (double)t->calls);
        add_number(k, "gflops", rate(t->flops, t->seconds));
        add_number(k, "gbps", rate(t->bytes, t->seconds));
        cJSON_AddItemToArray(names, k);
    }
    cJSON *pk = cJSON_AddObjectToObject(o, "peak");
    add_number(pk, "gflops", r->peak_gflops);
    cJSON_AddStringToObject(pk, "gflops_how", r->peak_how);
    cJSON_AddNullToObject(pk, "gbps");
    cJSON_AddStringToObject(pk, "gbps_how", "n/a: OpenCL does not report memory bandwidth");
    if (in->sgemm > 0) {
        cJSON *g = cJSON_AddObjectToObject(o, "sgemm");
        cJSON_AddNumberToObject(g, "n", (double)in->sgemm);
        add_number(g, "own_gflops", r->sgemm_own);
        add_number(g, "clblast_gflops", r->sgemm_clblast);
    }
    char *resolved = cn_config_to_json(c);
    if (resolved) cJSON_AddItemToObject(o, "resolved_config", cJSON_Parse(resolved));
    free(resolved);
    return o;
}

/* Before the runs, so that a long benchmark does not end in a file it cannot write. */
static int check_writable(const cn_cli *cli, const char *path) {
    cn_atomic_file f;
    cn_error e = {0};
    if (cn_atomic_open(&f, path, NULL, &e) != CN_OK) {
        fprintf(stderr, "%s bench: %s\n", cli->program, e.message);
        return CN_EXIT_FAILURE;
    }
    cn_atomic_abort(&f);
    return CN_EXIT_OK;
}


/* ---- several ranks (mpirun -n R coopnets_cl bench CONFIG) ------------------------------------- */

typedef struct rank_timing {
    double seconds;      /* median over the timed iterations of the slowest rank's time */
    double comm_share;   /* of it, host time waiting in collectives (the slowest rank's) */
    double bn_share;     /* of it, the batch-norm collectives */
    double bytes;        /* sent per iteration by one rank */
    double calls, bn_calls;
} rank_timing;

/* W warm-up and K timed iterations of coop on this rank; every rank calls it. */
static cn_status time_ranks(cn_runtime *rt, cn_coop *coop, bench_input *in, cn_dist *dist, rank_timing *out,
                            cn_error *e) {
    double *t = malloc((size_t)in->iters * sizeof *t);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for %ld timings", in->iters);
    cn_status s = CN_OK;
    uint64_t it = 1;
    for (long i = 0; i < in->warmup && s == CN_OK; i++, it++) s = one_iteration(rt, coop, in, it, e);
    const cn_dist_stats *st = cn_dist_get_stats(dist);
    double comm = 0, bn = 0, bytes = 0, calls = 0, bn_calls = 0, total = 0;
    for (long i = 0; i < in->iters && s == CN_OK; i++, it++) {
        const cn_dist_stats before = *st; /* counts the iteration's collectives, not the timing's */
        const double t0 = cn_seconds_now();
        s = one_iteration(rt, coop, in, it, e);
        t[i] = cn_seconds_now() - t0;
        comm += st->wait_seconds - before.wait_seconds, bn += st->batchnorm_wait_seconds - before.batchnorm_wait_seconds;
        bytes += st->bytes_sent - before.bytes_sent;
        calls += (double)(st->calls - before.calls), bn_calls += (double)(st->batchnorm_calls - before.batchnorm_calls);
        total += t[i];
        if (s == CN_OK) s = cn_dist_max_doubles(dist, &t[i], 1, "the bench timings", e);
    }
    if (s == CN_OK) {
        double k = (double)in->iters, v[5] = {comm / total, bn / total, bytes / k, calls / k, bn_calls / k};
        s = cn_dist_max_doubles(dist, v, 5, "the bench statistics", e);
        qsort(t, (size_t)in->iters, sizeof *t, compare_doubles);
        const size_t m = (size_t)in->iters;
        out->seconds = m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
        out->comm_share = v[0], out->bn_share = v[1], out->bytes = v[2], out->calls = v[3], out->bn_calls = v[4];
    }
    free(t);
    return s;
}

/* The data-parallel bench: first the whole batch on rank 0's device alone (the R = 1 baseline; the
 * other ranks wait), then the batch split over all R ranks. Rank 0 prints and writes the JSON. */
static int bench_ranks(cn_cli *cli, bench_input *in, int device, const char *json_path) {
    cn_dist *dist = cli->dist;
    int ranks = cn_dist_size(dist), rank = cn_dist_rank(dist);
    cn_error e = {0};
    cn_runtime *rt = NULL;
    cn_coop coop;
    int made = 0;
    rank_timing one = {0}, all = {0};
    cn_runtime_options o = cn_runtime_default_options();
    o.device = device;
    cn_status s = cn_runtime_open(&rt, &o, &e);
    if (s == CN_OK) s = cn_gemm_select(rt, CN_GEMM_AUTO, &e);
    if (s == CN_OK && rank == 0 && !in->quiet) printf("  [rank 0] the whole batch on device %d alone (R = 1)\n", device);
    if (s == CN_OK && rank == 0) {
        made = (s = cn_coop_create(rt, &in->config, &coop, &e)) == CN_OK;
        if (s == CN_OK) s = cn_coop_init_weights(rt, &coop, &e);
        if (s == CN_OK) s = one_iteration(rt, &coop, in, 0, &e);
        if (s == CN_OK) s = time_ranks(rt, &coop, in, NULL, &one, &e);
        if (made) cn_coop_free(rt, &coop);
        made = 0;
    }
    double baseline = one.seconds; /* every rank waits here for rank 0's baseline */
    if (s == CN_OK) s = cn_dist_broadcast(dist, &baseline, sizeof baseline, "the R = 1 timing", &e);
    if (s == CN_OK && rank == 0 && !in->quiet) printf("  [all %d ranks] the batch split over the ranks\n", ranks);
    if (s == CN_OK) made = (s = cn_coop_create_on(rt, &in->config, dist, &coop, &e)) == CN_OK;
    if (s == CN_OK) s = cn_coop_init_weights(rt, &coop, &e);
    if (s == CN_OK) s = one_iteration(rt, &coop, in, 0, &e);
    if (s == CN_OK) s = time_ranks(rt, &coop, in, dist, &all, &e);
    if (made) cn_coop_free(rt, &coop);
    if (rt) cn_runtime_close(rt);
    if (s != CN_OK) {
        int rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        return rc;
    }
    int rc = CN_EXIT_OK;
    double speedup = baseline / all.seconds, efficiency = speedup / ranks;
    if (rank == 0) {
        char header[16];
        snprintf(header, sizeof header, "R = %d", ranks);
        printf("\n%-28s %12s %12s\n", "", "R = 1", header);
        printf("%-28s %12.4g %12.4g\n", "seconds per iteration", baseline, all.seconds);
        printf("%-28s %12s %12.0f\n", "collectives per iteration", "-", all.calls);
        printf("%-28s %12s %11.1f%%\n", "time in collectives", "-", 100 * all.comm_share);
        printf("%-28s %12s %11.1f%%   (%.0f per iteration)\n", "  of it batch norm", "-", 100 * all.bn_share,
               all.bn_calls);
        printf("%-28s %12s %12.4g   MB per rank and iteration\n", "sent", "-", all.bytes / 1e6);
        printf("%-28s %12s %12.3g   (efficiency %.0f%% of %d×)\n", "speed-up", "1", speedup, 100 * efficiency, ranks);
        fflush(stdout);
        if (json_path) {
            cJSON *root = cJSON_CreateObject();
            cJSON_AddStringToObject(root, "config", in->config_path);
            cJSON_AddNumberToObject(root, "ranks", ranks);
            cJSON_AddNumberToObject(root, "iterations", (double)in->iters);
            add_number(root, "seconds_per_iteration_one_rank", baseline);
            add_number(root, "seconds_per_iteration", all.seconds);
            add_number(root, "collective_share", all.comm_share);
            add_number(root, "batchnorm_share", all.bn_share);
            add_number(root, "batchnorm_collectives_per_iteration", all.bn_calls);
            add_number(root, "bytes_sent_per_iteration", all.bytes);
            add_number(root, "speedup", speedup);
            add_number(root, "efficiency", efficiency);
            rc = cn_cli_write_json(cli, json_path, root);
            cJSON_Delete(root);
        }
    }
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------ */

int cn_cmd_bench(cn_cli *cli, int argc, char **argv) {
    bench_input in = {.iters = 5, .warmup = 1, .quiet = cli->quiet};
    const char *json_path = NULL;
    const cn_cli_arg args[] = {{"CONFIG", .text = &in.config_path}, {"--iters", .count = &in.iters, .min = 1},
                               {"--warmup", .count = &in.warmup, .min = 0}, {"--sgemm", .count = &in.sgemm, .min = 0},
                               {"--json", .text = &json_path}, {0}};
    if (cn_cli_parse("bench", argc, argv, args) != CN_EXIT_OK) return CN_EXIT_USAGE;
    if (!in.config_path) return cn_cli_usage_error("bench", "%s", "needs a CONFIG file");
    if (json_path && check_writable(cli, json_path) != CN_EXIT_OK) return CN_EXIT_FAILURE;
    const int all = cli->device == -2 && strcmp(cli->device_arg, "all") == 0;
    if (cli->device == -2 && !all) {
        fprintf(stderr, "%s: --device %s is neither a device index nor \"all\"; the devices are:\n", cli->program,
                cli->device_arg);
        cn_cli_print_devices(stderr);
        return CN_EXIT_USAGE;
    }

    cn_error e = {0};
    int rc = CN_EXIT_OK;
    cn_device_info *devices = NULL;
    size_t device_count = 0, chosen = 0, run_count = 0;
    bench_result *results = NULL;
    cn_status s = cn_config_load(in.config_path, NULL, 0, &in.config, &e);
    if (s == CN_OK) s = cn_config_validate(&in.config, &e);
    if (s == CN_OK && in.config.mode != CN_MODE_COOP)
        s = cn_error_set(&e, CN_ERR_CONFIG, "config %s: bench times mode \"coop\", not \"%s\"", in.config_path,
                         cn_mode_name(in.config.mode));
    if (s != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    /* Listing the devices first also loads the OpenCL platforms, so no cold start pays for that. */
    if (cn_devices_list(&devices, &device_count, &e) != CN_OK ||
        (!all && cn_device_choose(devices, device_count, cli->device, &chosen, &e) != CN_OK)) {
        rc = cn_cli_report(cli, &e);
        if (e.status == CN_ERR_DEVICE) {
            fprintf(stderr, "the devices are:\n");
            cn_cli_print_devices(stderr);
            rc = CN_EXIT_USAGE;
        }
        goto end;
    }
    if (cn_dataset_load(&in.config.data, in.config.seed, &in.data, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    if (in.data.count < in.config.training.batch_size) {
        cn_error_set(&e, CN_ERR_CONFIG, "config %s: training.batch_size is %d but the data set has only %d images",
                     in.config_path, in.config.training.batch_size, in.data.count);
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    const size_t n = (size_t)in.config.training.batch_size;
    in.perm = malloc((size_t)in.data.count * sizeof *in.perm);
    in.batch = malloc(n * (size_t)in.data.channels * in.data.height * in.data.width * sizeof *in.batch);
    run_count = all ? device_count : 1;
    results = calloc(run_count, sizeof *results);
    if (!in.perm || !in.batch || !results) {
        fprintf(stderr, "%s: out of memory\n", cli->program);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    cn_dataset_permutation(in.perm, (size_t)in.data.count, in.config.seed, 0);
    if (!in.quiet)
        printf("bench %s: %dx%dx%d, batch %d, %d chains, Langevin %d + %d steps; %ld timed iterations after %ld "
               "warm-up\n",
               in.config_path, in.config.data.image_size, in.config.data.image_size, in.config.data.channels,
               in.config.training.batch_size, in.config.training.chains, in.config.descriptor.langevin_steps,
               in.config.generator.langevin_steps, in.iters, in.warmup);
    for (size_t i = 0; i < run_count && cn_dist_size(cli->dist) == 1; i++) {
        bench_result *r = &results[i];
        r->device = devices[all ? i : chosen];
        cn_error_clear(&e);
        if (bench_device(&in, r->device.index, r, &e) == CN_OK) {
            print_detail(&in, r);
            continue;
        }
        /* With all devices, one failing device does not hide the others' results. */
        snprintf(r->error, sizeof r->error, "%s", e.message);
        const int device_rc = cn_cli_report(cli, &e);
        if (rc == CN_EXIT_OK) rc = device_rc;
    }
    if (cn_dist_size(cli->dist) > 1) {
        rc = bench_ranks(cli, &in, devices[chosen].index, json_path);
        goto end;
    }
    print_summary(results, run_count);
    if (json_path) {
        cJSON *root = all ? cJSON_CreateArray() : result_json(&in, &results[0]);
        for (size_t i = 0; all && i < run_count; i++) cJSON_AddItemToArray(root, result_json(&in, &results[i]));
        const int json_rc = cn_cli_write_json(cli, json_path, root);
        if (rc == CN_EXIT_OK) rc = json_rc;
        cJSON_Delete(root);
        if (json_rc == CN_EXIT_OK && !in.quiet) printf("wrote %s\n", json_path);
    }
end:
    for (size_t i = 0; results && i < run_count; i++) free(results[i].kernels);
    free(results);
    free(devices);
    free(in.perm);
    free(in.batch);
    cn_dataset_free(&in.data);
    cn_error_clear(&e);
    return rc;
}
