/* coopnets_cl: entry point, global options and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(cn_cli *cli, int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"devices", cn_cmd_devices, "list OpenCL platforms and devices with their global index"},
    {"kernels", cn_cmd_kernels, "build every kernel on the device; report build times and cache use"},
    {"train", cn_cmd_train, "train CoopNets from a JSON config (see configs/)"},
    {"sample", cn_cmd_sample, "draw samples from a checkpoint into a PNG grid"},
    {"interpolate", cn_cmd_interpolate, "a PNG grid of latent-space interpolations from a checkpoint"},
    {"complete", cn_cmd_complete, "pattern completion: recover hidden parts of test images, with error and PSNR"},
    {"prepare", cn_cmd_prepare, "centre-crop and resize a folder of PNGs (or of category folders) for training"},
    {"train-classifier", cn_cmd_train_classifier, "train the fixed classifier whose features evaluate scores in"},
    {"evaluate", cn_cmd_evaluate, "descriptor f, Frechet distance and Inception-style score of a checkpoint's samples"},
    {"bench", cn_cmd_bench, "time training iterations, steps and kernels on one device or all"},
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: coopnets_cl [--device N] [--quiet] COMMAND [ARGS]\n\n"
            "Trains CoopNets (a descriptor and a generator that teach each other) on any OpenCL device.\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-17s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nglobal options (before or after the command):\n"
            "  --device N   device index from `coopnets_cl devices` (default: $COOPNETS_DEVICE, else the\n"
            "               first GPU, else device 0)\n"
            "  --quiet      no progress lines\n"
            "  --version    print the version\n");
}

int cn_cli_report(const cn_cli *cli, const cn_error *e) {
    fprintf(stderr, "%s: %s\n", cli->program, e->message[0] ? e->message : cn_status_name(e->status));
    if (e->log && *e->log) fprintf(stderr, "--- build log ---\n%s\n--- end of build log ---\n", e->log);
    switch (e->status) {
    case CN_ERR_ARG:
    case CN_ERR_CONFIG:
    case CN_ERR_FORMAT: return CN_EXIT_USAGE;
    default: return CN_EXIT_FAILURE;
    }
}

int main(int argc, char **argv) {
    cn_cli cli = {.device = -1, .program = "coopnets_cl"};
    const command *cmd = NULL;
    /* Global options are taken out wherever they stand; the rest goes to the command in order. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return CN_EXIT_FAILURE;
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--device") == 0 || strncmp(a, "--device=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "coopnets_cl: --device needs a device index\n");
                free(rest);
                return CN_EXIT_USAGE;
            }
            cli.device_arg = v;
            char *end;
            long n = strtol(v, &end, 10);
            cli.device = (*end || n < 0) ? -2 : (int)n; /* -2: not a number; bench may accept "all" */
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli.quiet = 1;
        } else if (!cmd && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0)) {
            usage(stdout);
            free(rest);
            return CN_EXIT_OK;
        } else if (!cmd && strcmp(a, "--version") == 0) {
            printf("coopnets_cl %s\n", CN_VERSION);
            free(rest);
            return CN_EXIT_OK;
        } else if (!cmd && a[0] != '-') {
            for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
                if (strcmp(a, commands[c].name) == 0) cmd = &commands[c];
            if (!cmd) {
                fprintf(stderr, "coopnets_cl: unknown command '%s'\n\n", a);
                usage(stderr);
                free(rest);
                return CN_EXIT_USAGE;
            }
            rest[nrest++] = argv[i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    if (!cmd) {
        usage(stderr);
        free(rest);
        return CN_EXIT_USAGE;
    }
    int rc = cmd->run(&cli, nrest, rest);
    free(rest);
    return rc;
}
