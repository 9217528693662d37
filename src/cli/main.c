/* coopnets_cl: entry point, global options and subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coopnets/cn_dist.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: coopnets_cl [--device N] [--binaries DIR] [--quiet] COMMAND [ARGS]\n\n"
            "Trains CoopNets (a descriptor and a generator that teach each other) on any OpenCL device.\n\n"
            "commands:\n");
    for (size_t i = 0; i < cn_cli_command_count; i++)
        fprintf(out, "  %-17s %s\n", cn_cli_commands[i].name, cn_cli_commands[i].summary);
    fprintf(out,
            "\nglobal options (before or after the command):\n"
            "  --device N      device index from `coopnets_cl devices` (default: $COOPNETS_DEVICE, else\n"
            "                  the first GPU, else device 0); under mpirun a list N,M,... gives rank r\n"
            "                  the entry r mod its length\n"
            "  --binaries DIR  load every kernel program from the device binaries that `kernels --export\n"
            "                  DIR` wrote, never compiling (the same as COOPNETS_BINARIES=DIR)\n"
            "  --quiet         no progress lines\n"
            "  --version       print the version\n\n"
            "`coopnets_cl COMMAND --help` describes a command and its options.\n");
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

/* --device N,M,...: rank r of an MPI job takes entry r mod the list's length. */
static int device_of_rank(const char *list, int rank) {
    int entries = 1;
    for (const char *p = list; *p; p++) entries += *p == ',';
    const char *at = list;
    for (int k = rank % entries; k > 0; k--) at = strchr(at, ',') + 1;
    char *end;
    long n = strtol(at, &end, 10);
    return (end == at || (*end && *end != ',') || n < 0) ? -2 : (int)n;
}

static int run(cn_cli *cli, int argc, char **argv);

int main(int argc, char **argv) {
    cn_error e = {0};
    cn_dist *dist = NULL;
    if (cn_dist_init(&argc, &argv, &dist, &e) != CN_OK) {
        fprintf(stderr, "coopnets_cl: %s\n", e.message);
        return CN_EXIT_USAGE;
    }
    char program[64] = "coopnets_cl";
    if (cn_dist_size(dist) > 1) /* errors name the rank that met them */
        snprintf(program, sizeof program, "coopnets_cl (rank %d of %d)", cn_dist_rank(dist), cn_dist_size(dist));
    cn_cli cli = {.device = -1, .program = program, .dist = dist};
    int rc = run(&cli, argc, argv);
    /* A rank that failed alone ends the job, so no other rank waits for it in a collective; a stop
     * all ranks agreed on (130, a checkpoint written) ends normally. */
    if (rc != CN_EXIT_OK && rc != 130) cn_dist_abort(dist, rc);
    cn_dist_finalize(dist);
    return rc;
}

static int run(cn_cli *cli_, int argc, char **argv) {
    cn_cli cli = *cli_;
    const cn_cli_command *cmd = NULL;
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
            if (strchr(v, ',')) cli.device = device_of_rank(v, cn_dist_rank(cli.dist));
        } else if (strcmp(a, "--binaries") == 0) {
            /* Every runtime of this process reads it from the environment, as if set there. */
            if (i + 1 >= argc || setenv("COOPNETS_BINARIES", argv[++i], 1) != 0) {
                fprintf(stderr, "coopnets_cl: --binaries needs a folder written by `coopnets_cl kernels --export`\n");
                free(rest);
                return CN_EXIT_USAGE;
            }
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli.quiet = 1;
        } else if (cmd && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cn_cli_help(cmd, stdout);
            free(rest);
            return CN_EXIT_OK;
        } else if (!cmd && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0)) {
            /* `help COMMAND` is `COMMAND --help`. */
            const cn_cli_command *topic = strcmp(a, "help") == 0 && i + 1 < argc ? cn_cli_command_find(argv[i + 1]) : NULL;
            if (topic) cn_cli_help(topic, stdout);
            else usage(stdout);
            free(rest);
            return CN_EXIT_OK;
        } else if (!cmd && strcmp(a, "--version") == 0) {
            printf("coopnets_cl %s\n", CN_VERSION);
            free(rest);
            return CN_EXIT_OK;
        } else if (!cmd && a[0] != '-') {
            if (!(cmd = cn_cli_command_find(a))) {
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
    if (cn_dist_size(cli.dist) > 1 && !cmd->several_ranks) {
        if (cn_dist_rank(cli.dist) == 0)
            fprintf(stderr, "coopnets_cl: %s runs in one process: only train and bench run on several ranks "
                            "(start it without mpirun)\n", cmd->name);
        free(rest);
        return CN_EXIT_USAGE;
    }
    if (cn_dist_rank(cli.dist) > 0) cli.quiet = 1; /* rank 0 speaks for the job */
    int rc = cmd->run(&cli, nrest, rest);
    free(rest);
    return rc;
}
