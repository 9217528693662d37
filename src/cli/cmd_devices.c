/* `coopnets_cl devices`: every platform and device with its global index. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "coopnets/cn_tuning.h"

static double gib(cl_ulong bytes) { return (double)bytes / (1024.0 * 1024.0 * 1024.0); }

static int print_devices(FILE *out, cn_error *e) {
    cn_device_info *d;
    size_t n, chosen = 0;
    if (cn_devices_list(&d, &n, e) != CN_OK) return -1;
    cn_device_choose(d, n, -1, &chosen, NULL);
    int platform = -1;
    for (size_t i = 0; i < n; i++) {
        if (d[i].platform_index != platform) {
            platform = d[i].platform_index;
            fprintf(out, "platform %d: %s\n", platform, d[i].platform_name);
        }
        fprintf(out, "  [%d]%s %-5s %s\n", d[i].index, i == chosen ? "*" : " ", cn_device_type_name(d[i].type),
                d[i].name);
        fprintf(out, "        vendor %s, driver %s, %s\n", d[i].vendor, d[i].driver_version, d[i].version);
        fprintf(out, "        %u compute units @ %u MHz, global memory %.2f GiB, max allocation %.2f GiB\n",
                d[i].compute_units, d[i].clock_mhz, gib(d[i].global_mem_bytes), gib(d[i].max_alloc_bytes));
        fprintf(out, "        local memory %llu KiB, max work-group %zu (%zu x %zu x %zu), fp16 %s, fp64 %s\n",
                (unsigned long long)(d[i].local_mem_bytes / 1024), d[i].max_work_group_size,
                d[i].max_work_item_sizes[0], d[i].max_work_item_sizes[1], d[i].max_work_item_sizes[2],
                d[i].fp16 ? "yes" : "no", d[i].fp64 ? "yes" : "no");
        fprintf(out, "        online compiler %s\n",
                d[i].compiler_available ? "yes" : "no: programs load only from binaries (--binaries DIR)");
    }
    fprintf(out, "(* = the default device: $COOPNETS_DEVICE, else the first GPU, else device 0)\n");
    free(d);
    return 0;
}

void cn_cli_print_devices(FILE *out) {
    cn_error e = {0};
    if (print_devices(out, &e) != 0) fprintf(out, "(no devices: %s)\n", e.message);
}

int cn_cli_open_runtime(const cn_cli *cli, int profiling, cn_runtime **rt) {
    cn_error e = {0};
    if (cli->device == -2) {
        fprintf(stderr, "%s: --device %s is not a device index; the devices are:\n", cli->program, cli->device_arg);
        cn_cli_print_devices(stderr);
        return CN_EXIT_USAGE;
    }
    cn_runtime_options o = cn_runtime_default_options();
    o.device = cli->device;
    o.profiling = profiling;
    if (cn_runtime_open(rt, &o, &e) != CN_OK) {
        int rc = cn_cli_report(cli, &e);
        if (e.status == CN_ERR_DEVICE) {
            fprintf(stderr, "the devices are:\n");
            cn_cli_print_devices(stderr);
            rc = CN_EXIT_USAGE;
        }
        cn_error_clear(&e);
        return rc;
    }
    /* A tuning database that cannot be used is no reason to stop, but worth saying. */
    if (cn_tuning_load(*rt, &e) != CN_OK) {
        int rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        cn_runtime_close(*rt);
        *rt = NULL;
        return rc;
    }
    const char *warning = cn_tuning_warning(*rt);
    if (warning) fprintf(stderr, "%s: warning: %s\n", cli->program, warning);
    return CN_EXIT_OK;
}

int cn_cmd_devices(cn_cli *cli, int argc, char **argv) {
    const cn_cli_arg none[] = {{0}};
    int rc = cn_cli_parse("devices", argc, argv, none);
    if (rc != CN_EXIT_OK) return rc;
    cn_error e = {0};
    if (print_devices(stdout, &e) != 0) return cn_cli_report(cli, &e);
    return CN_EXIT_OK;
}
