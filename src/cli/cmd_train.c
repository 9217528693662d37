/* `coopnets_cl train CONFIG [--out DIR] [--iters N] [--resume DIR] [--set key.path=value]...` */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_dist.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_train.h"
#include "coopnets/cn_tuning.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    stop_requested = 1;
    signal(sig, SIG_DFL); /* a second signal ends the process at once */
}

static void format_duration(double s, char *out, size_t size) {
    if (!isfinite(s) || s < 0) snprintf(out, size, "?");
    else if (s < 60) snprintf(out, size, "%.0fs", s);
    else if (s < 3600) snprintf(out, size, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(out, size, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* A mode that trains one net alone has no numbers for the other (NaN): "-". */
static void metric_text(char *out, size_t size, int width, int digits, double v) {
    if (isnan(v)) snprintf(out, size, "%*s", width, "-");
    else snprintf(out, size, "%*.*g", width, digits, v);
}

static void print_progress(void *user, const cn_progress *p) {
    const cn_cli *cli = user;
    if (cli->quiet) return;
    char eta[32], elapsed[32];
    format_duration(p->eta_seconds, eta, sizeof eta);
    format_duration(p->elapsed_seconds, elapsed, sizeof elapsed);
    const cn_metrics *m = &p->metrics;
    char v[5][32];
    const double values[5] = {m->loss_d, m->loss_g, m->f_observed, m->f_revised, m->grad_f_norm};
    for (int i = 0; i < 5; i++) metric_text(v[i], sizeof v[i], i == 4 ? 8 : 9, i == 4 ? 3 : 4, values[i]);
    printf("iter %6llu/%llu  epoch %3llu | L_D %s  L_G %s | f(X) %s  f(Y~) %s  |df/dY| %s | "
           "%.3g s/it %6.3g img/s | %s elapsed, ETA %s\n",
           (unsigned long long)p->iteration, (unsigned long long)p->total, (unsigned long long)p->epoch, v[0], v[1],
           v[2], v[3], v[4], p->seconds_per_iteration, p->images_per_second, elapsed, eta);
    fflush(stdout);
}

static void print_message(void *user, const char *message) {
    const cn_cli *cli = user;
    if (!cli->quiet) printf("%s\n", message);
    fflush(stdout);
}

int cn_cmd_train(cn_cli *cli, int argc, char **argv) {
    const char *config_path = NULL, *out = NULL, *resume = NULL;
    long iters = 0; /* 0: the config's length */
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int nsets = 0;
    if (!sets) return CN_EXIT_FAILURE;
    const cn_cli_arg args[] = {{"CONFIG", .text = &config_path}, {"--out", .text = &out},
                               {"--iters", .count = &iters, .min = 1}, {"--resume", .text = &resume},
                               {"--set", .text = sets, .repeats = &nsets}, {0}};
    int rc = cn_cli_parse("train", argc, argv, args);
    if (rc == CN_EXIT_OK && !config_path && !resume)
        rc = cn_cli_usage_error("train", "%s", "needs a CONFIG file (or --resume RUN)");
    cn_config config;
    cn_error e = {0};
    cn_runtime *rt = NULL;
    if (rc != CN_EXIT_OK) goto end;
    /* The config: the file given, else the one inside the checkpoint to resume from. */
    cn_status s;
    if (config_path) {
        s = cn_config_load(config_path, sets, nsets, &config, &e);
    } else {
        char ckpt[CN_PATH_MAX];
        uint64_t it;
        s = cn_checkpoint_find_on(cli->dist, resume, ckpt, sizeof ckpt, &e);
        if (s == CN_OK) s = cn_checkpoint_read_config_on(cli->dist, ckpt, &config, &it, &e);
        if (s == CN_OK && nsets) {
            char *json = cn_config_to_json(&config);
            s = json ? cn_config_parse(json, ckpt, sets, nsets, &config, &e) : CN_ERR_NOMEM;
            free(json);
        }
        struct stat st;
        if (s == CN_OK && !out && stat(resume, &st) == 0 && S_ISDIR(st.st_mode)) out = resume;
    }
    if (s == CN_OK && out) snprintf(config.training.output, sizeof config.training.output, "%s", out);
    if (s == CN_OK) s = cn_config_validate(&config, &e);
    if (s != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    if ((rc = cn_cli_open_runtime(cli, 0, &rt)) != CN_EXIT_OK) goto end;
    if (!cli->quiet) printf("device %d: %s (%s)\n", rt->device.index, rt->device.name, rt->device.version);
    if (cn_dist_size(cli->dist) > 1) /* each rank names its device: heterogeneous jobs are allowed */
        fprintf(stderr, "rank %d of %d: device %d: %s\n", cn_dist_rank(cli->dist), cn_dist_size(cli->dist),
                rt->device.index, rt->device.name);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    cn_train_options o = {.resume = resume, .iterations = iters, .stop = &stop_requested,
                          .on_log = print_progress, .on_message = print_message, .user = cli, .dist = cli->dist};
    s = cn_train(rt, &config, &o, &e);
    if (s == CN_OK) {
        if (!cli->quiet) {
            printf("done: %s (GEMM: %s)\n", config.training.output, cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
            char variant[CN_TUNED_FAMILY_COUNT][96];
            for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) cn_tuning_describe(rt, (cn_kernel_family)f, variant[f], sizeof variant[f]);
            printf("kernels: gemm %s, batchnorm %s, reduce %s, conv %s\n", variant[CN_TUNED_GEMM],
                   variant[CN_TUNED_BATCHNORM], variant[CN_TUNED_REDUCE], variant[CN_TUNED_CONV]);
        }
    } else if (s == CN_ERR_INTERRUPTED) {
        if (cn_dist_rank(cli->dist) == 0) fprintf(stderr, "coopnets_cl: %s\n", e.message);
        rc = 130;
    } else {
        rc = cn_cli_report(cli, &e);
        /* A failure at run time (a lost device, a full disk) leaves the checkpoints written before it. */
        char ckpt[CN_PATH_MAX];
        if (rc == CN_EXIT_FAILURE && s != CN_ERR_DIVERGED &&
            cn_checkpoint_find(config.training.output, ckpt, sizeof ckpt, NULL) == CN_OK)
            fprintf(stderr, "%s: the newest checkpoint is %s: continue with --resume %s\n", cli->program, ckpt,
                    config.training.output);
    }
end:
    cn_error_clear(&e);
    if (rt) cn_runtime_close(rt);
    free(sets);
    return rc;
}
