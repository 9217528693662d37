/* `coopnets_cl kernels [--no-cache]`: builds every embedded kernel program on the device and
 * reports each build's time and whether it came from the program cache — the check that this
 * device compiles everything (a failure prints the compiler's log), and the cold/warm start cost. */
#include <stdio.h>

#include "cli/cli.h"
#include "coopnets/cn_util.h"

int cn_cmd_kernels(cn_cli *cli, int argc, char **argv) {
    int no_cache = 0;
    const cn_cli_arg args[] = {{"--no-cache", .flag = &no_cache}, {0}};
    cn_runtime *rt;
    int rc = cn_cli_parse("kernels", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_open_runtime(cli, 0, &rt);
    if (rc != CN_EXIT_OK) return rc;
    if (no_cache) rt->cache_enabled = 0;
    printf("device %d: %s (%s)\nprogram cache: %s\n", rt->device.index, rt->device.name, rt->device.driver_version,
           rt->cache_enabled ? rt->cache_dir : "off");
    double total = 0;
    for (size_t i = 0; i < cn_cl_source_count && rc == CN_EXIT_OK; i++) {
        unsigned hits = rt->stats.cache_hits;
        cn_error e = {0};
        cl_program p;
        double t0 = cn_seconds_now();
        if (cn_program_get(rt, cn_cl_sources[i].name, NULL, &p, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
        } else {
            double dt = cn_seconds_now() - t0;
            total += dt;
            printf("  %-12s %7.3f s  %s\n", cn_cl_sources[i].name, dt,
                   rt->stats.cache_hits > hits ? "from the cache" : "compiled");
        }
        cn_error_clear(&e);
    }
    if (rc == CN_EXIT_OK)
        printf("%zu programs in %.3f s (%u from the cache, %u compiled, %u cache entries found corrupt)\n",
               cn_cl_source_count, total, rt->stats.cache_hits, rt->stats.cache_misses, rt->stats.cache_corrupt);
    cn_runtime_close(rt);
    return rc;
}
