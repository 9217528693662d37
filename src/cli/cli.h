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
    struct cn_dist *dist; /* the ranks of an MPI job (NULL: one process) */
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
 * failure prints the error and returns its exit code; no checkpoint (NULL) is CMD's usage error. */
int cn_cli_load_model(cn_cli *cli, const char *cmd, const char *where, cn_runtime **rt, cn_coop *coop,
                      uint64_t *iteration);
struct cJSON;
/* key: v, or null where v is not finite (JSON has no NaN). */
void cn_cli_json_number(struct cJSON *o, const char *key, double v);
/* Writes a cJSON object to path through a temporary file and a rename; prints the error. */
int cn_cli_write_json(const cn_cli *cli, const char *path, const struct cJSON *o);

/* One argument a command takes, in a table ending with {0}. A name without a leading '-' is a
 * positional argument ("CKPT"), filled in table order; an option's kind is the pointer it sets. */
typedef struct cn_cli_arg {
    const char *name;
    const char **text; /* a positional argument, or an option's value: --out FILE */
    int *repeats;      /* with text: the option repeats (--set K=V...); text is an array with room
                          for argc values and *repeats counts them */
    long *count;       /* an option's integer value >= min: --count N */
    long min;
    int *flag;         /* an option without a value, set to 1: --spherical */
} cn_cli_arg;
/* Reads argv[1..argc-1] into the table's pointers (what is not given keeps its default). An unknown
 * option, a missing or bad value or one positional argument too many is printed, with the usage,
 * and returns CN_EXIT_USAGE. */
int cn_cli_parse(const char *cmd, int argc, char **argv, const cn_cli_arg *args);

/* A subcommand: its function and its texts (cli_usage.c). */
typedef struct cn_cli_command {
    const char *name;
    int (*run)(cn_cli *cli, int argc, char **argv);
    const char *summary; /* its line in `coopnets_cl --help` */
    const char *usage;   /* "usage: coopnets_cl NAME ...\n": on a usage error and atop the help page */
    const char *about;   /* what it does */
    const char *options; /* each argument and option with its default; NULL: none */
    int several_ranks;   /* it may run as one of several MPI ranks (train, bench) */
} cn_cli_command;
extern const cn_cli_command cn_cli_commands[];
extern const size_t cn_cli_command_count;
/* The command of that name; NULL when there is none. */
const cn_cli_command *cn_cli_command_find(const char *name);
/* `coopnets_cl NAME --help`: usage, what it does, its arguments and options. */
void cn_cli_help(const cn_cli_command *c, FILE *out);
/* "coopnets_cl CMD: <fmt with arg>" then CMD's usage on stderr; returns CN_EXIT_USAGE. */
int cn_cli_usage_error(const char *cmd, const char *fmt, const char *arg);

int cn_cmd_devices(cn_cli *cli, int argc, char **argv);
int cn_cmd_kernels(cn_cli *cli, int argc, char **argv);
int cn_cmd_train(cn_cli *cli, int argc, char **argv);
int cn_cmd_sample(cn_cli *cli, int argc, char **argv);
int cn_cmd_interpolate(cn_cli *cli, int argc, char **argv);
int cn_cmd_complete(cn_cli *cli, int argc, char **argv);
int cn_cmd_prepare(cn_cli *cli, int argc, char **argv);
int cn_cmd_bench(cn_cli *cli, int argc, char **argv);
int cn_cmd_tune(cn_cli *cli, int argc, char **argv);
int cn_cmd_train_classifier(cn_cli *cli, int argc, char **argv);
int cn_cmd_evaluate(cn_cli *cli, int argc, char **argv);
/* evaluate for a texture model (cmd_evaluate_texture.c): count samples against its observed image. */
int cn_cli_evaluate_texture(cn_cli *cli, cn_runtime *rt, cn_coop *coop, const char *ckpt, uint64_t iteration,
                            size_t count, uint64_t seed, const char *out);

#endif
