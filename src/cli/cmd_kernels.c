/* `coopnets_cl kernels [--no-cache] [--export DIR]`: builds every embedded kernel program on the
 * device, and our GEMM's with this device's block sizes, and reports each build's time and where
 * it came from (compiled, the program cache, the binaries folder) — the check that this device
 * compiles everything (a failure prints the compiler's log), and the cold/warm start cost. With
 * --export it then writes them all as device binaries for binaries-only mode. */
#include <stdio.h>

#include "cli/cli.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_util.h"

/* Where the program just obtained came from, by which counter moved. */
static const char *origin(const cn_runtime_stats *before, const cn_runtime_stats *after) {
    if (after->binaries_loaded > before->binaries_loaded) return "from the binaries";
    return after->cache_hits > before->cache_hits ? "from the cache" : "compiled";
}

/* Program i of the embedded sources, or (i == cn_cl_source_count) our GEMM's with its options. */
static cn_status get_program(cn_runtime *rt, size_t i, cn_error *e) {
    cl_program p;
    return i < cn_cl_source_count ? cn_program_get(rt, cn_cl_sources[i].name, NULL, &p, e) : cn_gemm_program(rt, e);
}

int cn_cmd_kernels(cn_cli *cli, int argc, char **argv) {
    int no_cache = 0;
    const char *export_dir = NULL;
    const cn_cli_arg args[] = {{"--no-cache", .flag = &no_cache}, {"--export", .text = &export_dir}, {0}};
    cn_runtime *rt;
    int rc = cn_cli_parse("kernels", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_open_runtime(cli, 0, &rt);
    if (rc != CN_EXIT_OK) return rc;
    if (no_cache) rt->cache_enabled = 0;
    printf("device %d: %s (%s)\nprogram cache: %s\n", rt->device.index, rt->device.name, rt->device.driver_version,
           rt->cache_enabled ? rt->cache_dir : "off");
    double total = 0;
    cn_error e = {0};
    for (size_t i = 0; i <= cn_cl_source_count && rc == CN_EXIT_OK; i++) {
        const cn_runtime_stats before = rt->stats;
        double t0 = cn_seconds_now();
        if (get_program(rt, i, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
        } else {
            double dt = cn_seconds_now() - t0;
            total += dt;
            printf("  %-12s %7.3f s  %s\n", i < cn_cl_source_count ? cn_cl_sources[i].name : "gemm (run)", dt,
                   origin(&before, &rt->stats));
        }
    }
    if (rc == CN_EXIT_OK)
        printf("%zu programs in %.3f s (%u from the cache, %u compiled, %u from binaries, %u cache entries found "
               "corrupt)\n",
               cn_cl_source_count + 1, total, rt->stats.cache_hits, rt->stats.cache_misses,
               rt->stats.binaries_loaded, rt->stats.cache_corrupt);
    if (rc == CN_EXIT_OK && export_dir) {
        if (cn_programs_export(rt, export_dir, &e) != CN_OK) rc = cn_cli_report(cli, &e);
        else printf("wrote %zu program binaries and %s/manifest.json for device %d (%s)\n", rt->program_count,
                    export_dir, rt->device.index, rt->device.name);
    }
    cn_error_clear(&e);
    cn_runtime_close(rt);
    return rc;
}
