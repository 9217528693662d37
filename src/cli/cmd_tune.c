/* `coopnets_cl tune CONFIG [--max-candidates N]`: measures the kernel variants on the config's
 * shapes (cn_tune_config) and prints what it measured and the winners it stored. */
#include <stdio.h>

#include "cli/cli.h"
#include "coopnets/cn_tune.h"

static void print_round(void *user, const char *line) {
    if (((const cn_cli *)user)->quiet) return;
    printf("  %s\n", line);
    fflush(stdout);
}

int cn_cmd_tune(cn_cli *cli, int argc, char **argv) {
    const char *config_path = NULL;
    long max_candidates = 0;
    const cn_cli_arg args[] = {{"CONFIG", .text = &config_path},
                               {"--max-candidates", .count = &max_candidates, .min = 1}, {0}};
    int rc = cn_cli_parse("tune", argc, argv, args);
    if (rc == CN_EXIT_OK && !config_path) rc = cn_cli_usage_error("tune", "%s", "needs a CONFIG file");
    if (rc != CN_EXIT_OK) return rc;
    cn_error e = {0};
    cn_config config;
    if (cn_config_load(config_path, NULL, 0, &config, &e) != CN_OK || cn_config_validate(&config, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        return rc;
    }
    cn_runtime *rt;
    if ((rc = cn_cli_open_runtime(cli, 1, &rt)) != CN_EXIT_OK) return rc;
    char path[1100];
    if (!cn_tuning_path(rt, path, sizeof path)) {
        fprintf(stderr, "%s: tune: no cache folder to keep the tuning database in (set COOPNETS_CACHE_DIR, "
                        "XDG_CACHE_HOME or HOME)\n", cli->program);
        cn_runtime_close(rt);
        return CN_EXIT_USAGE;
    }
    if (!cli->quiet)
        printf("tuning %s on device %d: %s (%s)\n  rounds of 2 iterations (the first pays the compiles, the second is "
               "timed); seconds are each family's device time in one iteration (conv: with every GEMM, measured\n"
               "  last with the other families' winners)\n",
               config_path, rt->device.index, rt->device.name, rt->device.driver_version);
    cn_tune_options o = {.max_candidates = (size_t)max_candidates, .source = config_path, .on_round = print_round,
                         .user = cli};
    cn_tune_report r;
    if (cn_tune_config(rt, &config, &o, &r, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
    } else {
        printf("%-10s %-16s %10s\n", "family", "variant", "seconds");
        for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++)
            for (size_t i = 0; i < r.count; i++) {
                const cn_tuning_measurement *m = &r.measured[i];
                const cn_kernel_variant w = r.winners[f];
                char name[64];
                if (m->family != (cn_kernel_family)f) continue;
                cn_kernel_variant_format(m->variant, name, sizeof name);
                const int won = w.kind == m->variant.kind && w.p == m->variant.p && w.q == m->variant.q;
                if (m->seconds >= 0)
                    printf("%-10s %-16s %10.4f%s\n", cn_kernel_family_name(m->family), name, m->seconds,
                           won ? "  fastest" : "");
                else
                    printf("%-10s %-16s %10s\n", cn_kernel_family_name(m->family), name, "failed");
            }
        if (r.failure[0]) printf("first failure: %s\n", r.failure);
        printf("wrote %s:", path);
        for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
            char name[64];
            cn_kernel_variant_format(r.winners[f], name, sizeof name);
            printf("%s %s %s", f ? "," : "", cn_kernel_family_name((cn_kernel_family)f), name);
        }
        printf("\n");
    }
    cn_error_clear(&e);
    cn_runtime_close(rt);
    return rc;
}
