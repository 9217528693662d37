/* Timing training iterations (include/coopnets/cn_bench.h): cold starts, timed iterations, a
 * profiled iteration summed per step and kernel family, SGEMM rates, and the ranks of an MPI job. */
#include "coopnets/cn_bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_gemm.h"
#include "coopnets/cn_util.h"

static void say(const cn_bench *b, const char *fmt, ...) {
    if (!b->on_message) return;
    char msg[sizeof ((cn_error *)0)->message + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->on_message(b->user, msg);
}

/* ---- kernel families -------------------------------------------------------------------------- */

const cn_bench_family_name cn_bench_families[CN_FAMILY_COUNT] = {
    {"conv", "conv: im2col, col2im, transpose, pad"}, {"deconv", "deconv: im2col, col2im, transpose, pad"}, {"gemm", "GEMM"},
    {"conv_direct", "conv direct"}, {"batchnorm", "batch norm"}, {"activation", "activations"}, {"bias", "bias"}, {"langevin", "Langevin"},
    {"noise", "noise"}, {"adam", "Adam"}, {"reduce", "reductions"}, {"elementwise", "scaled differences"},
    {"transfers", "transfers"}, {"other", "other"},
};

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Profile tags: 0 the batch upload, step s is tag s + 1. */
static int tag_is_step(int tag) { return tag >= 1 && tag <= CN_COOP_STEP_COUNT; }

const char *cn_bench_tag_name(int tag) { return tag_is_step(tag) ? cn_coop_steps[tag - 1].name : "upload"; }

cn_bench_family cn_bench_family_of(const char *name, int tag) {
    static const struct {
        const char *prefix;
        cn_bench_family f;
    } prefixes[] = {
        {"cn_gemm_", CN_FAMILY_GEMM},           {"clblast_sgemm", CN_FAMILY_GEMM},
        {"cn_batchnorm_", CN_FAMILY_BATCHNORM}, {"cn_relu_", CN_FAMILY_ACTIVATION},
        {"cn_leaky_relu_", CN_FAMILY_ACTIVATION}, {"cn_tanh_", CN_FAMILY_ACTIVATION},
        {"cn_bias_", CN_FAMILY_BIAS},           {"cn_langevin_", CN_FAMILY_LANGEVIN},
        {"cn_noise_", CN_FAMILY_NOISE},         {"cn_philox_", CN_FAMILY_NOISE},
        {"cn_adam_", CN_FAMILY_ADAM},           {"cn_reduce_", CN_FAMILY_REDUCE},
        {"cn_scaled_difference", CN_FAMILY_ELEMENTWISE}, {"cn_masked_difference", CN_FAMILY_ELEMENTWISE},
        {"write", CN_FAMILY_TRANSFER},          {"read", CN_FAMILY_TRANSFER},
        {"fill", CN_FAMILY_TRANSFER},           {"copy", CN_FAMILY_TRANSFER},
    };
    if (starts_with(name, "cn_conv_direct_v") || starts_with(name, "cn_conv_direct_params_v")) return CN_FAMILY_CONV_DIRECT;
    /* The direct path's padded copies and weight and gradient orders are lowering too: data moved,
     * no product. */
    if (starts_with(name, "cn_im2col") || starts_with(name, "cn_col2im") || starts_with(name, "cn_transpose") ||
        starts_with(name, "cn_conv_direct_"))
        return tag_is_step(tag) && cn_coop_steps[tag - 1].generator ? CN_FAMILY_DECONV : CN_FAMILY_CONV;
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (starts_with(name, prefixes[i].prefix)) return prefixes[i].f;
    return CN_FAMILY_OTHER;
}

/* ---- what to time ----------------------------------------------------------------------------- */

cn_status cn_bench_load_config(cn_bench *b, const char *config_path, cn_error *e) {
    b->config_path = config_path;
    CN_TRY(cn_config_load(config_path, NULL, 0, &b->config, e));
    CN_TRY(cn_config_validate(&b->config, e));
    if (b->config.mode != CN_MODE_COOP)
        return cn_error_set(e, CN_ERR_CONFIG, "config %s: bench times mode \"coop\", not \"%s\"", config_path,
                            cn_mode_name(b->config.mode));
    return CN_OK;
}

cn_status cn_bench_load_data(cn_bench *b, cn_error *e) {
    const cn_config *c = &b->config;
    CN_TRY(cn_dataset_load(&c->data, c->seed, &b->data, e));
    if (b->data.count < c->training.batch_size)
        return cn_error_set(e, CN_ERR_CONFIG,
                            "config %s: training.batch_size is %d but the data set has only %d images", b->config_path,
                            c->training.batch_size, b->data.count);
    const size_t n = (size_t)c->training.batch_size;
    b->perm = malloc((size_t)b->data.count * sizeof *b->perm);
    b->batch = malloc(n * (size_t)b->data.channels * b->data.height * b->data.width * sizeof *b->batch);
    if (!b->perm || !b->batch) return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    cn_dataset_permutation(b->perm, (size_t)b->data.count, c->seed, 0);
    return CN_OK;
}

void cn_bench_free(cn_bench *b) {
    free(b->perm);
    free(b->batch);
    b->perm = NULL;
    b->batch = NULL;
    cn_dataset_free(&b->data);
}

void cn_bench_result_free(cn_bench_result *r) {
    free(r->kernels);
    free(r->launches);
    r->kernels = r->launches = NULL;
    r->kernel_count = r->launch_count = 0;
}

/* ---- one device ------------------------------------------------------------------------------- */

/* Batch `it` of a fixed permutation, uploaded. */
static cn_status upload_batch(cn_runtime *rt, cn_coop *coop, cn_bench *b, uint64_t it, cn_error *e) {
    const size_t n = (size_t)b->config.training.batch_size, count = (size_t)b->data.count;
    /* a rank of a data-parallel run takes its slice, as training does */
    cn_dataset_gather(&b->data, b->perm, (size_t)(it * n % count) + coop->batch_first, coop->batch, b->batch);
    return cn_coop_set_observed(rt, coop, b->batch, e);
}

/* One training iteration as the training loop runs it (its blocking upload waits for the one
 * before), waited for. */
static cn_status one_iteration(cn_runtime *rt, cn_coop *coop, cn_bench *b, uint64_t it, cn_error *e) {
    CN_TRY(upload_batch(rt, coop, b, it, e));
    CN_TRY(cn_coop_iteration(rt, coop, it, 0, e));
    return cn_finish(rt, e);
}

/* Opens a runtime on `device` and runs the first iteration: the cold start. The coop is made
 * (and *rt open) on success, released on failure. */
static cn_status start_run(cn_bench *b, int device, int profiling, int no_cache, cn_runtime **rt, cn_coop *coop,
                           cn_cold_start *cold, cn_error *e) {
    const double t0 = cn_seconds_now();
    cn_runtime_options o = cn_runtime_default_options();
    o.device = device;
    o.profiling = profiling;
    o.no_cache = no_cache;
    CN_TRY(cn_runtime_open(rt, &o, e));
    int made = 0;
    cn_status s = cn_gemm_select(*rt, CN_GEMM_AUTO, e);
    if (s == CN_OK) made = (s = cn_coop_create(*rt, &b->config, coop, e)) == CN_OK;
    if (s == CN_OK) s = cn_coop_init_weights(*rt, coop, e);
    if (s == CN_OK) s = cn_finish(*rt, e);
    const double t1 = cn_seconds_now();
    if (s == CN_OK) s = one_iteration(*rt, coop, b, 0, e);
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

/* Sorts the k timings and returns their median. */
static double median(double *t, size_t k) {
    qsort(t, k, sizeof *t, compare_doubles);
    return k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
}

static cn_status timed_iterations(cn_runtime *rt, cn_coop *coop, cn_bench *b, cn_bench_result *r, cn_error *e) {
    double *t = malloc((size_t)b->iters * sizeof *t);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for %ld timings", b->iters);
    cn_status s = CN_OK;
    uint64_t it = 1;
    for (long i = 0; i < b->warmup && s == CN_OK; i++, it++) s = one_iteration(rt, coop, b, it, e);
    for (long i = 0; i < b->iters && s == CN_OK; i++, it++) {
        const double t0 = cn_seconds_now();
        s = one_iteration(rt, coop, b, it, e);
        t[i] = cn_seconds_now() - t0;
    }
    if (s == CN_OK) {
        const size_t k = (size_t)b->iters;
        r->median = median(t, k);
        r->min = t[0];
        r->max = t[k - 1];
        r->images_per_second = (double)b->config.training.batch_size / r->median;
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

/* The SGEMM rate of each backend; one that does not run on this device stays NAN and is said. */
static void sgemm_rates(cn_runtime *rt, cn_bench *b, int device, cn_bench_result *r) {
    const struct {
        cn_gemm_backend backend;
        double *gflops;
        const char *name;
    } backends[] = {{CN_GEMM_OWN, &r->sgemm_own, "our kernels"}, {CN_GEMM_CLBLAST, &r->sgemm_clblast, "CLBlast"}};
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++) {
        cn_error backend_error = {0};
        if (sgemm_rate(rt, backends[i].backend, (size_t)b->sgemm, backends[i].gflops, &backend_error) != CN_OK)
            say(b, "[device %d] SGEMM with %s failed: %s", device, backends[i].name, backend_error.message);
        cn_error_clear(&backend_error);
    }
}

static cn_status profiled_iteration(cn_bench *b, int device, cn_bench_result *r, cn_error *e) {
    cn_runtime *rt;
    cn_coop coop;
    cn_cold_start unused;
    CN_TRY(start_run(b, device, 1, 0, &rt, &coop, &unused, e));
    cn_profile *p = NULL;
    cn_status s = cn_profile_create(&p, e);
    if (s == CN_OK) s = cn_profile_attach(rt, p, e);
    const double t0 = cn_seconds_now();
    if (s == CN_OK) s = upload_batch(rt, &coop, b, 1, e);
    for (int step = 0; step < CN_COOP_STEP_COUNT && s == CN_OK; step++) {
        cn_profile_set_tag(p, step + 1);
        s = cn_coop_steps[step].run(rt, &coop, 1, 0, e);
    }
    if (s == CN_OK && b->keep_launches) {
        s = cn_profile_resolve_launches(rt, p, &r->launches, &r->launch_count, e);
        if (s == CN_OK) s = cn_profile_sum(r->launches, r->launch_count, &r->kernels, &r->kernel_count, e);
    } else if (s == CN_OK) {
        s = cn_profile_resolve(rt, p, &r->kernels, &r->kernel_count, e);
    }
    r->profiled_wall = cn_seconds_now() - t0;
    for (size_t i = 0; i < r->kernel_count; i++) {
        const cn_profile_total *k = &r->kernels[i];
        cn_bench_totals *f = &r->families[cn_bench_family_of(k->name, k->tag)];
        f->seconds += k->seconds;
        f->flops += k->flops;
        f->bytes += k->bytes;
        f->calls += k->calls;
        if (tag_is_step(k->tag)) r->steps[k->tag - 1] += k->seconds;
        r->profiled_events += k->seconds;
    }
    cn_profile_attach(rt, NULL, NULL);
    cn_profile_free(p);
    end_run(rt, &coop);
    return s;
}

/* The single-precision peak where it follows from what OpenCL reports: a side note beside the
 * measured one, since the clock is the base clock and a core may issue more than one FMA a cycle. */
static void formula_peak(cn_bench_result *r) {
    const cn_device_info *d = &r->device;
    const cl_uint width = d->native_float_width;
    const double ghz = d->clock_mhz * 1e-3;
    unsigned lanes = 0;
    const char *per = "";
    if (d->type & CL_DEVICE_TYPE_CPU) lanes = width, per = "floats per vector (native width)";
    else if ((d->type & CL_DEVICE_TYPE_GPU) && strstr(d->vendor, "NVIDIA")) lanes = 128, per = "FP32 lanes per SM (assumed: Ampere/Hopper)";
    else if ((d->type & CL_DEVICE_TYPE_GPU) && (strstr(d->vendor, "AMD") || strstr(d->vendor, "Advanced Micro")))
        lanes = 64, per = "FP32 lanes per CU (assumed: GCN/RDNA)";
    if (!lanes || !d->compute_units || !d->clock_mhz) {
        r->formula_gflops = NAN;
        snprintf(r->formula_how, sizeof r->formula_how, "n/a (no rule for a %s from %s)",
                 cn_device_type_name(d->type), d->vendor);
        return;
    }
    r->formula_gflops = d->compute_units * ghz * lanes * 2.0;
    snprintf(r->formula_how, sizeof r->formula_how,
             "%u compute units x %u MHz x %u %s x 2 (one FMA per lane per cycle)", d->compute_units, d->clock_mhz,
             lanes, per);
}

/* ---- the measured peak and bandwidth (cl/peak.cl) ---------------------------------------------- */

/* Short runs, many of them: on a machine shared with other work the best run is the one that had
 * the device to itself. */
enum {
    PEAK_CHAINS = 12,         /* CN_PEAK_CHAINS of cl/peak.cl */
    PEAK_GROUPS_PER_UNIT = 4, /* work-groups per compute unit: every unit busy */
    PEAK_FMA_RUNS = 10,       /* timed runs after the one that pays the build; the best counts */
    PEAK_COPY_RUNS = 3,       /* the same for the copy, whose runs are long */
};
/* The FMA's rounds grow until one run takes this long. At 10 ms PoCL on a 2-vCPU VM now and then
 * ran the whole calibration on one core: scene64's peak came out at 174 GFLOP/s, twice in a row,
 * where mnist28's and texture's, measured minutes apart with longer runs, were 331 and 333. */
static const double peak_min_seconds = 0.1;

/* Runs kernel `id` once and returns its device seconds, from the events of the attached profile. */
static cn_status event_seconds(cn_runtime *rt, cn_profile *p, cn_kernel_id id, const size_t *global,
                               const size_t *local, const cn_arg *args, size_t nargs, double *seconds, cn_error *e) {
    CN_TRY(cn_run(rt, id, 1, global, local, args, nargs, e));
    cn_profile_total *totals = NULL;
    size_t count = 0;
    CN_TRY(cn_profile_resolve(rt, p, &totals, &count, e));
    *seconds = 0;
    for (size_t i = 0; i < count; i++) *seconds += totals[i].seconds;
    free(totals);
    return CN_OK;
}

/* The FMA rate: PEAK_GROUPS_PER_UNIT work-groups per compute unit, on a CPU of one work-item with
 * vectors of its native width, on other devices of up to 256 single-float work-items. */
static cn_status measure_fma(cn_runtime *rt, cn_profile *p, cn_bench_result *r, cn_error *e) {
    const cn_device_info *d = &rt->device;
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d->id, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    if (!(fp & CL_FP_FMA))
        return cn_error_set(e, CN_ERR_DEVICE, "the device has no single-precision FMA (CL_FP_FMA), which the peak "
                                              "kernel counts on");
    const cl_uint native = d->native_float_width;
    const struct {
        unsigned width;
        cn_kernel_id id;
    } kernels[] = {{16, CN_KERNEL_PEAK_FMA_16}, {8, CN_KERNEL_PEAK_FMA_8}, {4, CN_KERNEL_PEAK_FMA_4},
                   {1, CN_KERNEL_PEAK_FMA_1}};
    size_t pick = 0;
    while (kernels[pick].width > native && kernels[pick].width > 1) pick++;
    const unsigned width = (d->type & CL_DEVICE_TYPE_CPU) ? kernels[pick].width : 1;
    const cn_kernel_id id = (d->type & CL_DEVICE_TYPE_CPU) ? kernels[pick].id : CN_KERNEL_PEAK_FMA_1;
    size_t local = 1;
    if (!(d->type & CL_DEVICE_TYPE_CPU)) {
        cl_kernel k;
        CN_TRY(cn_kernel_by_id(rt, id, &k, e));
        CN_TRY(cn_local_size(rt, k, 1, (const size_t[]){256}, &local, e));
    }
    const size_t global = local * (d->compute_units ? d->compute_units : 1) * PEAK_GROUPS_PER_UNIT;
    cn_buffer out = {0};
    CN_TRY(cn_buffer_alloc(rt, &out, global * sizeof(float), "the FMA peak's sums", e));
    const cl_uint max_rounds = 1u << 28;
    cl_uint rounds = 16;
    double best = INFINITY, t = 0;
    cn_status s = CN_OK;
    for (int run = -1; run < PEAK_FMA_RUNS && s == CN_OK; run++) { /* run -1 pays the driver's compile */
        const cn_arg args[] = {CN_MEM(&out), CN_F32(0.999f), CN_F32(1e-3f), CN_U32(rounds)};
        s = event_seconds(rt, p, id, &global, &local, args, sizeof args / sizeof *args, &t, e);
        if (s != CN_OK || run < 0) continue;
        if (t < peak_min_seconds && rounds < max_rounds) { /* too short to time: more rounds, start again */
            const double grow = t > 0 ? fmin(ceil(peak_min_seconds / t), 64) : 64;
            rounds = (cl_uint)fmin(rounds * grow, max_rounds);
            run = -1, best = INFINITY;
            continue;
        }
        if (t < best) best = t;
    }
    cn_buffer_free(rt, &out);
    if (s != CN_OK) return s;
    r->peak_gflops = 2.0 * PEAK_CHAINS * width * (double)rounds * (double)global / best * 1e-9;
    snprintf(r->peak_how, sizeof r->peak_how,
             "FMA micro-kernel: %zu work-groups of %zu work-item(s), %d independent chains of %u floats, %u rounds, "
             "best of %d",
             global / local, local, PEAK_CHAINS, width, (unsigned)rounds, PEAK_FMA_RUNS);
    return CN_OK;
}

/* The copy bandwidth, bytes read + written per second, between two buffers of 4x the device's
 * global memory cache (at least 256 MiB) within what it can allocate. The copied length grows from
 * 4 KiB, 4x a run, and stops short of that only where the next run would take over
 * copy_max_seconds (a simulator; a run that took longer is the last); the description then says so. */
static cn_status measure_copy(cn_runtime *rt, cn_profile *p, cn_bench_result *r, cn_error *e) {
    const cn_device_info *d = &rt->device;
    cl_ulong cache = 0;
    clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    cl_ulong bytes = 4 * cache > (256u << 20) ? 4 * cache : (256u << 20);
    if (bytes > d->max_alloc_bytes) bytes = d->max_alloc_bytes;
    if (bytes > d->global_mem_bytes / 4) bytes = d->global_mem_bytes / 4;
    bytes -= bytes % 16;
    cn_buffer src = {0}, dst = {0};
    cn_status s = cn_buffer_alloc(rt, &src, bytes, "the copy bandwidth's source", e);
    if (s == CN_OK) s = cn_buffer_alloc(rt, &dst, bytes, "the copy bandwidth's destination", e);
    /* filled first, so that no page is first touched inside a timed copy */
    if (s == CN_OK) s = cn_buffer_fill_f32(rt, &src, 1.0f, 0, bytes / sizeof(float), e);
    if (s == CN_OK) s = cn_buffer_fill_f32(rt, &dst, 0.0f, 0, bytes / sizeof(float), e);
    const double copy_max_seconds = 2.0;
    cl_ulong length = bytes < (4u << 10) ? bytes : (4u << 10);
    double best = INFINITY, t = 0;
    int timed = 0;
    for (int run = -1; run < PEAK_COPY_RUNS && s == CN_OK; run++) { /* run -1 pays the driver's compile */
        const size_t global = length / 16;
        const cn_arg args[] = {CN_MEM(&src), CN_MEM(&dst)};
        s = event_seconds(rt, p, CN_KERNEL_PEAK_COPY, &global, NULL, args, 2, &t, e);
        if (s != CN_OK || run < 0) continue;
        const cl_ulong next = length * 4 < bytes ? length * 4 : bytes;
        if (next > length && t * ((double)next / length) <= copy_max_seconds) { /* longer, start again */
            length = next;
            run = -1, best = INFINITY, timed = 0;
            continue;
        }
        if (t < best) best = t;
        timed++;
        if (t > copy_max_seconds) break;
    }
    cn_buffer_free(rt, &src);
    cn_buffer_free(rt, &dst);
    if (s != CN_OK) return s;
    r->peak_gbps = 2.0 * (double)length / best * 1e-9;
    snprintf(r->bandwidth_how, sizeof r->bandwidth_how,
             "copy kernel: %.4g MiB read + %.4g MiB written, best of %d; global memory cache %.4g MiB%s",
             length / 1048576.0, length / 1048576.0, timed, cache / 1048576.0,
             length >= 4 * cache ? "" : " (the copy is not 4x larger: not the memory's bandwidth)");
    return CN_OK;
}

/* Both measurements on a runtime of their own with a profiling queue; a failure is said and leaves
 * that one NAN, not the bench. */
static void measure_limits(cn_bench *b, int device, cn_bench_result *r) {
    r->peak_gflops = r->peak_gbps = NAN;
    cn_error e = {0};
    cn_runtime *rt = NULL;
    cn_profile *p = NULL;
    cn_runtime_options o = cn_runtime_default_options();
    o.device = device;
    o.profiling = 1;
    cn_status s = cn_runtime_open(&rt, &o, &e);
    if (s == CN_OK) s = cn_profile_create(&p, &e);
    if (s == CN_OK) s = cn_profile_attach(rt, p, &e);
    if (s == CN_OK && measure_fma(rt, p, r, &e) != CN_OK) {
        snprintf(r->peak_how, sizeof r->peak_how, "not measured: %s", e.message);
        say(b, "[device %d] the FMA peak is %s", device, r->peak_how);
        cn_error_clear(&e);
    }
    if (s == CN_OK && measure_copy(rt, p, r, &e) != CN_OK) {
        snprintf(r->bandwidth_how, sizeof r->bandwidth_how, "not measured: %s", e.message);
        say(b, "[device %d] the bandwidth is %s", device, r->bandwidth_how);
    }
    if (s != CN_OK) {
        snprintf(r->peak_how, sizeof r->peak_how, "not measured: %s", e.message);
        snprintf(r->bandwidth_how, sizeof r->bandwidth_how, "not measured: %s", e.message);
        say(b, "[device %d] neither the peak nor the bandwidth is measured: %s", device, e.message);
    }
    if (rt) {
        cn_profile_attach(rt, NULL, NULL);
        cn_runtime_close(rt);
    }
    cn_profile_free(p);
    cn_error_clear(&e);
}

cn_status cn_bench_device(cn_bench *b, int device, cn_bench_result *r, cn_error *e) {
    cn_runtime *rt;
    cn_coop coop;
    say(b, "[device %d] cold start with the program cache, then the timed iterations", device);
    CN_TRY(start_run(b, device, 0, 0, &rt, &coop, &r->cold_cached, e));
    r->device = rt->device;
    r->build_cached = rt->stats.build_seconds;
    r->cache_hits = rt->stats.cache_hits;
    r->cache_misses = rt->stats.cache_misses;
    r->gemm = cn_gemm_backend_name(cn_gemm_backend_in_use(rt));
    if (cn_tuning_warning(rt)) say(b, "warning: %s", cn_tuning_warning(rt));
    cn_status s = timed_iterations(rt, &coop, b, r, e);
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++)
        cn_tuning_describe(rt, (cn_kernel_family)f, r->variants[f], sizeof r->variants[f]);
    r->sgemm_own = r->sgemm_clblast = NAN;
    if (s == CN_OK && b->sgemm > 0) {
        say(b, "[device %d] SGEMM with each backend", device);
        sgemm_rates(rt, b, device, r);
    }
    end_run(rt, &coop);
    if (s != CN_OK) return s;
    say(b, "[device %d] cold start without the program cache", device);
    CN_TRY(start_run(b, device, 0, 1, &rt, &coop, &r->cold_uncached, e));
    r->build_uncached = rt->stats.build_seconds;
    end_run(rt, &coop);
    say(b, "[device %d] profiled iteration", device);
    CN_TRY(profiled_iteration(b, device, r, e));
    say(b, "[device %d] FMA peak and copy bandwidth", device);
    measure_limits(b, device, r);
    formula_peak(r);
    r->ok = 1;
    return CN_OK;
}

/* ---- several ranks ---------------------------------------------------------------------------- */

/* W warm-up and K timed iterations of coop on this rank; every rank of dist calls it. */
static cn_status time_ranks(cn_runtime *rt, cn_coop *coop, cn_bench *b, cn_dist *dist, cn_bench_rank_timing *out,
                            cn_error *e) {
    double *t = malloc((size_t)b->iters * sizeof *t);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for %ld timings", b->iters);
    cn_status s = CN_OK;
    uint64_t it = 1;
    for (long i = 0; i < b->warmup && s == CN_OK; i++, it++) s = one_iteration(rt, coop, b, it, e);
    const cn_dist_stats *st = cn_dist_get_stats(dist);
    double comm = 0, bn = 0, bytes = 0, calls = 0, bn_calls = 0, total = 0;
    for (long i = 0; i < b->iters && s == CN_OK; i++, it++) {
        const cn_dist_stats before = *st; /* counts the iteration's collectives, not the timing's */
        const double t0 = cn_seconds_now();
        s = one_iteration(rt, coop, b, it, e);
        t[i] = cn_seconds_now() - t0;
        comm += st->wait_seconds - before.wait_seconds, bn += st->batchnorm_wait_seconds - before.batchnorm_wait_seconds;
        bytes += st->bytes_sent - before.bytes_sent;
        calls += (double)(st->calls - before.calls), bn_calls += (double)(st->batchnorm_calls - before.batchnorm_calls);
        total += t[i];
        if (s == CN_OK) s = cn_dist_max_doubles(dist, &t[i], 1, "the bench timings", e);
    }
    if (s == CN_OK) {
        double k = (double)b->iters, v[5] = {comm / total, bn / total, bytes / k, calls / k, bn_calls / k};
        s = cn_dist_max_doubles(dist, v, 5, "the bench statistics", e);
        out->seconds = median(t, (size_t)b->iters);
        out->comm_share = v[0], out->bn_share = v[1], out->bytes = v[2], out->calls = v[3], out->bn_calls = v[4];
    }
    free(t);
    return s;
}

cn_status cn_bench_ranks(cn_bench *b, cn_dist *dist, int device, double *one_rank_seconds, cn_bench_rank_timing *all,
                         cn_error *e) {
    const int ranks = cn_dist_size(dist), rank = cn_dist_rank(dist);
    cn_runtime *rt = NULL;
    cn_coop coop;
    int made = 0;
    cn_bench_rank_timing one = {0};
    cn_runtime_options o = cn_runtime_default_options();
    o.device = device;
    cn_status s = cn_runtime_open(&rt, &o, e);
    if (s == CN_OK) s = cn_gemm_select(rt, CN_GEMM_AUTO, e);
    if (s == CN_OK && rank == 0) {
        say(b, "[rank 0] the whole batch on device %d alone (R = 1)", device);
        made = (s = cn_coop_create(rt, &b->config, &coop, e)) == CN_OK;
        if (s == CN_OK) s = cn_coop_init_weights(rt, &coop, e);
        if (s == CN_OK) s = one_iteration(rt, &coop, b, 0, e);
        if (s == CN_OK) s = time_ranks(rt, &coop, b, NULL, &one, e);
        if (made) cn_coop_free(rt, &coop);
        made = 0;
    }
    *one_rank_seconds = one.seconds; /* every rank waits here for rank 0's baseline */
    if (s == CN_OK) s = cn_dist_broadcast(dist, one_rank_seconds, sizeof *one_rank_seconds, "the R = 1 timing", e);
    if (s == CN_OK && rank == 0) say(b, "[all %d ranks] the batch split over the ranks", ranks);
    if (s == CN_OK) made = (s = cn_coop_create_on(rt, &b->config, dist, &coop, e)) == CN_OK;
    if (s == CN_OK) s = cn_coop_init_weights(rt, &coop, e);
    if (s == CN_OK) s = one_iteration(rt, &coop, b, 0, e);
    if (s == CN_OK) s = time_ranks(rt, &coop, b, dist, all, e);
    if (made) cn_coop_free(rt, &coop);
    if (rt) cn_runtime_close(rt);
    return s;
}
