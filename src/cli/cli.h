/* The coopnets_cl command line: global options and one function per subcommand. Only the CLI
 * prints errors and chooses exit codes. */
#ifndef CN_CLI_H
#define CN_CLI_H

#include "coopnets/cn_coop.h"

typedef struct cn_cli {
    int device;        /* --device N, -1 when not given */
    const char *device_arg; /* its text, for bench's "all" */
    int quiet;         /* --quiet: no progress lines */
    const char *program;
} cn_cli;

/* Exit codes: 0 ok, 1 runtime failure, 2 usage or bad input. */
enum { CN_EXIT_OK = 0, CN_EXIT_FAILURE = 1, CN_EXIT_USAGE = 2 };

/* Prints "coopnets_cl: <message>" (and the build log, when there is one) to stderr and returns the
 * exit code for the status. */
int cn_cli_report(const cn_cli *cli, const cn_error *e);
/* Opens the runtime on the chosen device; on a bad index prints the device list too. */
int cn_cli_open_runtime(const cn_cli *cli, int profiling, cn_runtime **rt);
void cn_cli_print_devices(FILE *out);

/* Opens the device and rebuilds the model stored in a checkpoint (file or run folder); prints
 * what it loaded unless quiet; *iteration (may be NULL) gets the checkpoint's iteration. On
 * failure prints the error and returns its exit code. */
int cn_cli_load_model(cn_cli *cli, const char *where, cn_runtime **rt, cn_coop *coop, uint64_t *iteration);
/* Reads an option's integer value >= lo into *out; prints "coopnets_cl CMD: OPT needs ..." and
 * returns 0 when it is missing or not one. */
int cn_cli_parse_count(const char *cmd, const char *opt, const char *v, long lo, long *out);
/* Writes a cJSON object to path through a temporary file and a rename; prints the error. */
struct cJSON;
/* "coopnets_cl CMD: <fmt with arg>" then USAGE (which ends in a newline) on stderr; returns CN_EXIT_USAGE. */
int cn_cli_usage_error(const char *cmd, const char *usage, const char *fmt, const char *arg);
int cn_cli_write_json(const cn_cli *cli, const char *path, const struct cJSON *o);

int cn_cmd_devices(cn_cli *cli, int argc, char **argv);
int cn_cmd_kernels(cn_cli *cli, int argc, char **argv);
int cn_cmd_train(cn_cli *cli, int argc, char **argv);
int cn_cmd_sample(cn_cli *cli, int argc, char **argv);
int cn_cmd_interpolate(cn_cli *cli, int argc, char **argv);
int cn_cmd_complete(cn_cli *cli, int argc, char **argv);
int cn_cmd_prepare(cn_cli *cli, int argc, char **argv);
int cn_cmd_bench(cn_cli *cli, int argc, char **argv);
int cn_cmd_train_classifier(cn_cli *cli, int argc, char **argv);
int cn_cmd_evaluate(cn_cli *cli, int argc, char **argv);

#endif
