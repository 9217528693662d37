/* `coopnets_cl bench CONFIG [--device N|all] [--iters K] [--warmup W] [--sgemm N] [--json FILE] [--launches FILE]`:
 * times training iterations of CONFIG on one device or on each (cn_bench_device: cold starts with
 * and without the program cache, timed iterations, one profiled iteration), or over the ranks of
 * an MPI job (cn_bench_ranks), and prints and writes what it measured. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_bench.h"

static void print_progress(void *user, const char *message) {
    (void)user;
    printf("  %s\n", message);
    fflush(stdout);
}

/* ---- output ----------------------------------------------------------------------------------- */

static double total_cold(const cn_cold_start *c) { return c->setup + c->first_iteration; }

/* Giga-units per second; NAN without work or time. */
static double rate(double work, double seconds) { return work > 0 && seconds > 0 ? work / seconds * 1e-9 : NAN; }

/* The GB/s of the conv lowering: im2col, col2im and the transposes of conv and transposed conv,
 * and the direct conv's padded copies. */
static double lowering_gbps(const cn_bench_result *r) {
    const cn_bench_totals *c = &r->families[CN_FAMILY_CONV], *d = &r->families[CN_FAMILY_DECONV];
    return rate(c->bytes + d->bytes, c->seconds + d->seconds);
}

/* " = 71.3% of the measured peak", where both numbers are. */
static void print_share(double achieved, double limit, const char *limit_name) {
    if (isfinite(achieved) && isfinite(limit) && limit > 0)
        printf(" = %.1f%% of the measured %s", 100 * achieved / limit, limit_name);
}

static void print_rate(double work, double seconds, const char *unit) {
    if (work > 0 && seconds > 0) printf(" %9.2f%s", work / seconds * 1e-9, unit);
    else printf(" %9s%s", "-", unit);
}

static void print_detail(const cn_bench *in, const cn_bench_result *r) {
    const cn_device_info *d = &r->device;
    printf("\ndevice %d: %s (%s, %s), GEMM %s\n", d->index, d->name, cn_device_type_name(d->type), d->version,
           r->gemm);
    printf("  variants     gemm %s, batchnorm %s, reduce %s, conv %s\n", r->variants[CN_TUNED_GEMM],
           r->variants[CN_TUNED_BATCHNORM], r->variants[CN_TUNED_REDUCE], r->variants[CN_TUNED_CONV]);
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
    for (int s = 0; s < CN_COOP_STEP_COUNT; s++)
        printf("    %-20s %9.4f s %6.1f%%\n", cn_coop_steps[s].name, r->steps[s],
               r->profiled_events > 0 ? 100.0 * r->steps[s] / r->profiled_events : 0.0);
    printf("  kernels (same iteration)              seconds  share     calls    GFLOP/s       GB/s\n");
    for (int f = 0; f < CN_FAMILY_COUNT; f++) {
        const cn_bench_totals *t = &r->families[f];
        if (!t->calls) continue;
        printf("    %-33s %9.4f %5.1f%% %9lu", cn_bench_families[f].label, t->seconds,
               r->profiled_events > 0 ? 100.0 * t->seconds / r->profiled_events : 0.0, t->calls);
        print_rate(t->flops, t->seconds, "");
        print_rate(t->bytes, t->seconds, "");
        printf("\n");
    }
    printf("    events %.4f s of %.4f s wall (GFLOP/s and GB/s where the launch counts its work)\n",
           r->profiled_events, r->profiled_wall);
    if (isnan(r->peak_gflops)) printf("  peak         FMA peak %s\n", r->peak_how);
    else printf("  peak         %.1f GFLOP/s measured (%s)\n", r->peak_gflops, r->peak_how);
    if (isnan(r->peak_gbps)) printf("               bandwidth %s\n", r->bandwidth_how);
    else printf("               %.1f GB/s measured (%s)\n", r->peak_gbps, r->bandwidth_how);
    if (isnan(r->formula_gflops)) printf("               formula: %s\n", r->formula_how);
    else printf("               formula: %.1f GFLOP/s = %s\n", r->formula_gflops, r->formula_how);
    const cn_bench_totals *gemm = &r->families[CN_FAMILY_GEMM];
    const double gemm_gflops = rate(gemm->flops, gemm->seconds), lowering = lowering_gbps(r);
    printf("  achieved     GEMM in the iteration %.1f GFLOP/s", gemm_gflops);
    print_share(gemm_gflops, r->peak_gflops, "peak");
    if (in->sgemm > 0) {
        printf("; SGEMM %ld^3 ours", in->sgemm);
        print_share(r->sgemm_own, r->peak_gflops, "peak");
        printf(", CLBlast");
        print_share(r->sgemm_clblast, r->peak_gflops, "peak");
    }
    printf("\n               conv lowering (im2col, col2im, transposes, pads) %.2f GB/s", lowering);
    print_share(lowering, r->peak_gbps, "bandwidth");
    const cn_bench_totals *direct = &r->families[CN_FAMILY_CONV_DIRECT];
    if (direct->calls) {
        const double direct_gflops = rate(direct->flops, direct->seconds);
        printf("\n               direct conv %.1f GFLOP/s", direct_gflops);
        print_share(direct_gflops, r->peak_gflops, "peak");
    }
    printf("\n");
}

static void print_summary(const cn_bench_result *r, size_t count) {
    printf("\n%-44s %26s %9s %22s %8s  %s\n", "device", "s/iteration median (min-max)", "images/s",
           "cold start cache/none", "GEMM", "variants: gemm / batchnorm / reduce / conv");
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
        printf("%-44.44s %26s %9.2f %22s %8s  %s / %s / %s / %s\n", name, range, r[i].images_per_second, cold,
               r[i].gemm, r[i].variants[CN_TUNED_GEMM], r[i].variants[CN_TUNED_BATCHNORM],
               r[i].variants[CN_TUNED_REDUCE], r[i].variants[CN_TUNED_CONV]);
    }
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static cJSON *result_json(const cn_bench *in, const cn_bench_result *r) {
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
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++)
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
    cn_cli_json_number(spi, "median", r->median);
    cn_cli_json_number(spi, "min", r->min);
    cn_cli_json_number(spi, "max", r->max);
    cn_cli_json_number(o, "images_per_second", r->images_per_second);
    cJSON *cold = cJSON_AddObjectToObject(o, "cold_start_seconds");
    cn_cli_json_number(cold, "cached", total_cold(&r->cold_cached));
    cn_cli_json_number(cold, "uncached", total_cold(&r->cold_uncached));
    cn_cli_json_number(cold, "setup_cached", r->cold_cached.setup);
    cn_cli_json_number(cold, "setup_uncached", r->cold_uncached.setup);
    cn_cli_json_number(cold, "first_iteration_cached", r->cold_cached.first_iteration);
    cn_cli_json_number(cold, "first_iteration_uncached", r->cold_uncached.first_iteration);
    cn_cli_json_number(cold, "build_cached", r->build_cached);
    cn_cli_json_number(cold, "build_uncached", r->build_uncached);
    cJSON_AddNumberToObject(cold, "cache_hits", r->cache_hits);
    cJSON_AddNumberToObject(cold, "cache_misses", r->cache_misses);
    cJSON_AddStringToObject(cold, "note", "set-up (runtime open, program builds, GEMM choice, buffers, weights) + "
                                          "first iteration; the driver's own kernel cache (PoCL: POCL_CACHE_DIR) "
                                          "stays warm in both");
    cJSON *steps = cJSON_AddObjectToObject(o, "steps");
    for (int s = 0; s < CN_COOP_STEP_COUNT; s++) cn_cli_json_number(steps, cn_coop_steps[s].name, r->steps[s]);
    cJSON *prof = cJSON_AddObjectToObject(o, "profiled_iteration_seconds");
    cn_cli_json_number(prof, "wall", r->profiled_wall);
    cn_cli_json_number(prof, "events", r->profiled_events);
    cJSON *kernels = cJSON_AddObjectToObject(o, "kernels");
    for (int f = 0; f < CN_FAMILY_COUNT; f++) {
        const cn_bench_totals *t = &r->families[f];
        if (!t->calls) continue;
        cJSON *k = cJSON_AddObjectToObject(kernels, cn_bench_families[f].key);
        cn_cli_json_number(k, "seconds", t->seconds);
        cJSON_AddNumberToObject(k, "calls", (double)t->calls);
        cn_cli_json_number(k, "gflops", rate(t->flops, t->seconds));
        cn_cli_json_number(k, "gbps", rate(t->bytes, t->seconds));
    }
    cJSON *names = cJSON_AddArrayToObject(o, "kernel_names");
    for (size_t i = 0; i < r->kernel_count; i++) {
        const cn_profile_total *t = &r->kernels[i];
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "name", t->name);
        cJSON_AddStringToObject(k, "step", cn_bench_tag_name(t->tag));
        cJSON_AddStringToObject(k, "family", cn_bench_families[cn_bench_family_of(t->name, t->tag)].key);
        cn_cli_json_number(k, "seconds", t->seconds);
        cJSON_AddNumberToObject(k, "calls", (double)t->calls);
        cn_cli_json_number(k, "gflops", rate(t->flops, t->seconds));
        cn_cli_json_number(k, "gbps", rate(t->bytes, t->seconds));
        cJSON_AddItemToArray(names, k);
    }
    cJSON *pk = cJSON_AddObjectToObject(o, "peak");
    cn_cli_json_number(pk, "gflops", r->peak_gflops);
    cJSON_AddStringToObject(pk, "gflops_how", r->peak_how);
    cn_cli_json_number(pk, "gbps", r->peak_gbps);
    cJSON_AddStringToObject(pk, "gbps_how", r->bandwidth_how);
    cn_cli_json_number(pk, "formula_gflops", r->formula_gflops);
    cJSON_AddStringToObject(pk, "formula_how", r->formula_how);
    /* the achieved rates as fractions of the measured peak and bandwidth */
    const cn_bench_totals *gemm = &r->families[CN_FAMILY_GEMM];
    cJSON *of = cJSON_AddObjectToObject(o, "of_peak");
    cn_cli_json_number(of, "gemm_gflops", rate(gemm->flops, gemm->seconds));
    cn_cli_json_number(of, "gemm", rate(gemm->flops, gemm->seconds) / r->peak_gflops);
    cn_cli_json_number(of, "lowering_gbps", lowering_gbps(r));
    cn_cli_json_number(of, "lowering", lowering_gbps(r) / r->peak_gbps);
    if (in->sgemm > 0) {
        cn_cli_json_number(of, "sgemm_own", r->sgemm_own / r->peak_gflops);
        cn_cli_json_number(of, "sgemm_clblast", r->sgemm_clblast / r->peak_gflops);
        cJSON *g = cJSON_AddObjectToObject(o, "sgemm");
        cJSON_AddNumberToObject(g, "n", (double)in->sgemm);
        cn_cli_json_number(g, "own_gflops", r->sgemm_own);
        cn_cli_json_number(g, "clblast_gflops", r->sgemm_clblast);
    }
    char *resolved = cn_config_to_json(c);
    if (resolved) cJSON_AddItemToObject(o, "resolved_config", cJSON_Parse(resolved));
    free(resolved);
    return o;
}

/* The profiled iteration launch by launch, as CSV: one row per command in enqueue order (the
 * queue is in order, so this is also the order they ran in), for every device benched. */
static int write_launches(const cn_cli *cli, const char *path, const cn_bench_result *results, size_t count) {
    cn_atomic_file f;
    cn_error e = {0};
    if (cn_atomic_open(&f, path, "launch profile", &e) != CN_OK) {
        fprintf(stderr, "%s bench: %s\n", cli->program, e.message);
        return CN_EXIT_FAILURE;
    }
    static const char header[] = "device,step,kernel,family,seconds,gflop,megabytes,gflops_per_second,gbytes_per_second\n";
    cn_atomic_write(&f, header, sizeof header - 1);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < results[i].launch_count; j++) {
            const cn_profile_total *l = &results[i].launches[j];
            const double s = l->seconds;
            char row[256];
            const int n = snprintf(row, sizeof row, "%d,%s,%s,%s,%.9f,%.6f,%.6f,%.3f,%.3f\n",
                                   results[i].device.index, cn_bench_tag_name(l->tag), l->name,
                                   cn_bench_families[cn_bench_family_of(l->name, l->tag)].key, s, l->flops * 1e-9,
                                   l->bytes * 1e-6, s > 0 ? l->flops * 1e-9 / s : 0.0, s > 0 ? l->bytes * 1e-9 / s : 0.0);
            cn_atomic_write(&f, row, (size_t)n < sizeof row ? (size_t)n : sizeof row - 1);
        }
    if (cn_atomic_commit(&f, &e) != CN_OK) {
        fprintf(stderr, "%s bench: %s\n", cli->program, e.message);
        return CN_EXIT_FAILURE;
    }
    if (!cli->quiet) printf("wrote %s\n", path);
    return CN_EXIT_OK;
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

/* The data-parallel bench: the R = 1 baseline, then the batch split over all R ranks. Rank 0 prints
 * and writes the JSON. */
static int bench_ranks(cn_cli *cli, cn_bench *in, int device, const char *json_path) {
    const int ranks = cn_dist_size(cli->dist);
    cn_error e = {0};
    double baseline = 0;
    cn_bench_rank_timing all = {0};
    if (cn_bench_ranks(in, cli->dist, device, &baseline, &all, &e) != CN_OK) {
        int rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        return rc;
    }
    if (cn_dist_rank(cli->dist) != 0) return CN_EXIT_OK;
    int rc = CN_EXIT_OK;
    double speedup = baseline / all.seconds, efficiency = speedup / ranks;
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
        cn_cli_json_number(root, "seconds_per_iteration_one_rank", baseline);
        cn_cli_json_number(root, "seconds_per_iteration", all.seconds);
        cn_cli_json_number(root, "collective_share", all.comm_share);
        cn_cli_json_number(root, "batchnorm_share", all.bn_share);
        cn_cli_json_number(root, "batchnorm_collectives_per_iteration", all.bn_calls);
        cn_cli_json_number(root, "bytes_sent_per_iteration", all.bytes);
        cn_cli_json_number(root, "speedup", speedup);
        cn_cli_json_number(root, "efficiency", efficiency);
        rc = cn_cli_write_json(cli, json_path, root);
        cJSON_Delete(root);
    }
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------ */

int cn_cmd_bench(cn_cli *cli, int argc, char **argv) {
    cn_bench in = {.iters = 5, .warmup = 1, .on_message = cli->quiet ? NULL : print_progress};
    const char *config_path = NULL, *json_path = NULL, *launches_path = NULL;
    const cn_cli_arg args[] = {{"CONFIG", .text = &config_path}, {"--iters", .count = &in.iters, .min = 1},
                               {"--warmup", .count = &in.warmup, .min = 0}, {"--sgemm", .count = &in.sgemm, .min = 0},
                               {"--json", .text = &json_path}, {"--launches", .text = &launches_path}, {0}};
    if (cn_cli_parse("bench", argc, argv, args) != CN_EXIT_OK) return CN_EXIT_USAGE;
    if (!config_path) return cn_cli_usage_error("bench", "%s", "needs a CONFIG file");
    if (json_path && check_writable(cli, json_path) != CN_EXIT_OK) return CN_EXIT_FAILURE;
    if (launches_path && check_writable(cli, launches_path) != CN_EXIT_OK) return CN_EXIT_FAILURE;
    in.keep_launches = launches_path != NULL;
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
    cn_bench_result *results = NULL;
    if (cn_bench_load_config(&in, config_path, &e) != CN_OK) {
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
    if (cn_bench_load_data(&in, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    run_count = all ? device_count : 1;
    results = calloc(run_count, sizeof *results);
    if (!results) {
        fprintf(stderr, "%s: out of memory\n", cli->program);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    if (!cli->quiet)
        printf("bench %s: %dx%dx%d, batch %d, %d chains, Langevin %d + %d steps; %ld timed iterations after %ld "
               "warm-up\n",
               config_path, in.config.data.image_size, in.config.data.image_size, in.config.data.channels,
               in.config.training.batch_size, in.config.training.chains, in.config.descriptor.langevin_steps,
               in.config.generator.langevin_steps, in.iters, in.warmup);
    for (size_t i = 0; i < run_count && cn_dist_size(cli->dist) == 1; i++) {
        cn_bench_result *r = &results[i];
        r->device = devices[all ? i : chosen];
        cn_error_clear(&e);
        if (cn_bench_device(&in, r->device.index, r, &e) == CN_OK) {
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
    }
    if (launches_path) {
        const int launches_rc = write_launches(cli, launches_path, results, run_count);
        if (rc == CN_EXIT_OK) rc = launches_rc;
    }
end:
    for (size_t i = 0; results && i < run_count; i++) cn_bench_result_free(&results[i]);
    free(results);
    free(devices);
    cn_bench_free(&in);
    cn_error_clear(&e);
    return rc;
}
