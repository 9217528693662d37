/* `coopnets_cl train-classifier` and `coopnets_cl evaluate CKPT`: the fixed classifier whose
 * feature space the scores use, and the scores (descriptor f, Fréchet distance, Inception-style
 * score — not Inception FID/IS), each next to its real-data floor. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "coopnets/cn_evaluate.h"
#include "coopnets/cn_util.h"

#define DEFAULT_TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
/* DESIGN §6: features of a worse classifier are not used for scores. */
#define MIN_ACCURACY 0.90

static int max_label(const cn_dataset *d) {
    int k = 0;
    for (int i = 0; i < d->count; i++) k = d->labels[i] > k ? d->labels[i] : k;
    return k;
}

int cn_cmd_train_classifier(cn_cli *cli, int argc, char **argv) {
    const char *data = DEFAULT_TRAIN, *out_arg = NULL;
    long epochs = 4, size = 28, limit = 0, seed = 1; /* limit 0: all */
    int force = 0;
    const cn_cli_arg args[] = {{"--data", .text = &data}, {"--out", .text = &out_arg},
                               {"--epochs", .count = &epochs, .min = 1}, {"--size", .count = &size, .min = 4},
                               {"--limit", .count = &limit, .min = 1}, {"--seed", .count = &seed, .min = 0},
                               {"--force", .flag = &force}, {0}};
    if (cn_cli_parse("train-classifier", argc, argv, args) != CN_EXIT_OK) return CN_EXIT_USAGE;
    cn_error e = {0};
    char train_labels[CN_PATH_MAX], test_images[CN_PATH_MAX], test_labels[CN_PATH_MAX], out[CN_PATH_MAX];
    if (cn_idx_split_paths(data, train_labels, test_images, test_labels, &e) != CN_OK) {
        int rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        return rc;
    }
    cn_runtime *rt = NULL;
    int rc = cn_cli_open_runtime(cli, 0, &rt);
    if (rc != CN_EXIT_OK) return rc;
    cn_dataset train = {0}, test = {0};
    cn_classifier cl = {0};
    if (out_arg) snprintf(out, sizeof out, "%s", out_arg);
    else cn_classifier_default_path(rt, data, out, sizeof out);
    /* minmax: the scaling the data sets' configs train CoopNets with (configs/fashion_mnist.json) */
    if (cn_idx_dataset_load(data, train_labels, (int)size, 1, CN_SCALE_MINMAX, (int)limit, &train, &e) != CN_OK ||
        cn_idx_dataset_load(test_images, test_labels, (int)size, 1, CN_SCALE_MINMAX, 0, &test, &e) != CN_OK ||
        cn_classifier_create(rt, 1, (int)size, max_label(&train) + 1, CN_CLASSIFIER_BATCH, (uint64_t)seed, &cl,
                             &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    if (!out[0]) {
        fprintf(stderr, "coopnets_cl train-classifier: no cache folder (HOME unset): pass --out FILE\n");
        rc = CN_EXIT_USAGE;
        goto end;
    }
    if (!cli->quiet)
        printf("classifier: %d classes, %d training images (%s), %d test images, %ld epochs\n", cl.classes, train.count,
               data, test.count, epochs);
    double accuracy = 0, t0 = cn_seconds_now();
    for (long ep = 0; ep < epochs; ep++) {
        double loss;
        if (cn_classifier_train_epoch(rt, &cl, &train, (uint64_t)seed, (uint64_t)ep, &loss, &e) != CN_OK ||
            cn_classifier_accuracy(rt, &cl, &test, &accuracy, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
            goto end;
        }
        if (!cli->quiet) {
            printf("epoch %ld: mean loss %.4f, test accuracy %.2f%% (%.0f s)\n", ep + 1, loss, 100 * accuracy,
                   cn_seconds_now() - t0);
            fflush(stdout);
        }
    }
    cl.test_accuracy = accuracy;
    printf("test accuracy %.2f%% on %d images (%s)\n", 100 * accuracy, test.count, test_images);
    if (accuracy < MIN_ACCURACY && !force) {
        fprintf(stderr,
                "coopnets_cl train-classifier: test accuracy %.2f%% is below %.0f%%: its features are not good enough "
                "for scores; not saved (train longer, or --force)\n",
                100 * accuracy, 100 * MIN_ACCURACY);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    char *slash = strrchr(out, '/');
    if (slash) *slash = 0;
    cn_status s = slash && out[0] ? cn_make_dirs(out, &e) : CN_OK;
    if (slash) *slash = '/';
    if (s != CN_OK || cn_classifier_save(rt, &cl, out, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    if (!cli->quiet) printf("wrote %s\n", out);
end:
    cn_classifier_free(rt, &cl);
    cn_dataset_free(&train);
    cn_dataset_free(&test);
    cn_error_clear(&e);
    cn_runtime_close(rt);
    return rc;
}

/* Before the sampling: what is compared, and a warning about a weak classifier. */
static void print_loaded(void *user, const cn_evaluation *ev) {
    const cn_cli *cli = user;
    if (!cli->quiet)
        printf("evaluating %zu samples against %zu test images (%s); classifier %s (test accuracy %.2f%%)\n"
               "FD and IS below are computed in this project's own classifier's feature space: NOT Inception FID/IS\n",
               ev->count, ev->count, ev->test_images, ev->classifier, 100 * ev->classifier_test_accuracy);
    if (!(ev->classifier_test_accuracy >= MIN_ACCURACY))
        fprintf(stderr, "coopnets_cl evaluate: warning: classifier %s has test accuracy %.2f%%, below %.0f%%: its "
                        "features are not good enough for meaningful scores\n",
                ev->classifier, 100 * ev->classifier_test_accuracy, 100 * MIN_ACCURACY);
}

/* What was scored: a checkpoint (ckpt not NULL) or sample files. */
typedef struct scored_source {
    const char *ckpt;
    uint64_t iteration;
    cn_mode mode;
    long seed;
    const char *generated_file, *revised_file;
} scored_source;

/* Prints the scores and returns them as the JSON object --out gets (NULL: out of memory). */
static cJSON *report_scores(const cn_evaluation *ev, const scored_source *src) {
    cJSON *json = cJSON_CreateObject();
    if (!json) return NULL;
    if (src->ckpt) {
        cJSON_AddStringToObject(json, "checkpoint", src->ckpt);
        cJSON_AddNumberToObject(json, "iteration", (double)src->iteration);
        cJSON_AddStringToObject(json, "mode", cn_mode_name(src->mode));
        cJSON_AddNumberToObject(json, "seed", (double)src->seed);
        if (ev->has_revised) cJSON_AddNumberToObject(json, "revision_steps", ev->revision_steps);
    } else {
        cJSON_AddStringToObject(json, "generated_file", src->generated_file);
        if (src->revised_file) cJSON_AddStringToObject(json, "revised_file", src->revised_file);
    }
    cJSON_AddStringToObject(json, "test_images", ev->test_images);
    cJSON_AddNumberToObject(json, "count", (double)ev->count);
    cJSON_AddStringToObject(json, "classifier", ev->classifier);
    cn_cli_json_number(json, "classifier_test_accuracy", ev->classifier_test_accuracy);
    cJSON_AddStringToObject(json, "note", "FD and IS use the features (128-d, penultimate layer) of this project's "
                                          "own small classifier, not Inception-v3: compare only between runs");
    const struct {
        const char *name;
        int present;
        double f, fd, is;
    } sets[] = {{"observed", 1, ev->f_observed, NAN, NAN},
                {"generated", ev->has_generated, ev->f_generated, ev->fd_generated, ev->is_generated},
                {"revised", ev->has_revised, ev->f_revised, ev->fd_revised, ev->is_revised}};
    char key[32];
    for (int k = 0; k < 3 && ev->has_descriptor; k++) {
        if (!sets[k].present) continue;
        snprintf(key, sizeof key, "f_%s", sets[k].name);
        cn_cli_json_number(json, key, sets[k].f);
        printf("descriptor mean f: %-11s %.4g\n", sets[k].name, sets[k].f);
    }
    cJSON *floor = cJSON_AddObjectToObject(json, "real_data_floor");
    cn_cli_json_number(floor, "fd_train_vs_test", ev->fd_train_vs_test);
    cn_cli_json_number(floor, "is_test", ev->is_test);
    cn_cli_json_number(floor, "is_train", ev->is_train);
    for (int k = 1; k < 3; k++) {
        if (!sets[k].present) continue;
        snprintf(key, sizeof key, "fd_%s", sets[k].name);
        cn_cli_json_number(json, key, sets[k].fd);
        snprintf(key, sizeof key, "is_%s", sets[k].name);
        cn_cli_json_number(json, key, sets[k].is);
        printf("%-9s samples: FD %.4g (real floor, train vs test: %.4g)   IS %.4g (real test images: %.4g)\n",
               sets[k].name, sets[k].fd, ev->fd_train_vs_test, sets[k].is, ev->is_test);
    }
    return json;
}

int cn_cmd_evaluate(cn_cli *cli, int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *classifier = NULL, *out = "evaluation.json", *generated = NULL,
               *revised = NULL, *save_samples = NULL;
    long count = 0, seed = 1, revision_steps = 0; /* count 0: 1000, 16 for a texture model, or a file's count;
                                                     revision_steps 0: the model's own */
    const cn_cli_arg args[] = {{"CKPT", .text = &ckpt}, {"--data", .text = &data},
                               {"--classifier", .text = &classifier}, {"--count", .count = &count, .min = 2},
                               {"--seed", .count = &seed, .min = 0}, {"--out", .text = &out},
                               {"--revision-steps", .count = &revision_steps, .min = 1},
                               {"--generated", .text = &generated}, {"--revised", .text = &revised},
                               {"--save-samples", .text = &save_samples}, {0}};
    cn_runtime *rt = NULL;
    cn_coop coop;
    uint64_t iteration = 0;
    int rc = cn_cli_parse("evaluate", argc, argv, args);
    if (rc != CN_EXIT_OK) return rc;
    if (ckpt && generated)
        return cn_cli_usage_error("evaluate", "%s", "scores a checkpoint or --generated files, not both");
    if (revised && !generated) return cn_cli_usage_error("evaluate", "%s", "--revised needs --generated");
    if (generated && (revision_steps || save_samples))
        return cn_cli_usage_error("evaluate", "%s", "--revision-steps and --save-samples need a checkpoint");
    if (generated) {
        rc = cn_cli_open_runtime(cli, 0, &rt);
    } else {
        rc = cn_cli_load_model(cli, "evaluate", ckpt, &rt, &coop, &iteration);
        if (rc == CN_EXIT_OK && coop.config.data.kind == CN_DATA_TEXTURE) {
            rc = revision_steps || save_samples
                     ? cn_cli_usage_error("evaluate", "%s", "--revision-steps and --save-samples are for image models")
                     : cn_cli_evaluate_texture(cli, rt, &coop, ckpt, iteration, count ? (size_t)count : 16,
                                               (uint64_t)seed, out);
            cn_coop_free(rt, &coop);
            cn_runtime_close(rt);
            return rc;
        }
    }
    if (rc == CN_EXIT_OK && revision_steps && !(coop.descriptor.layer_count && coop.generator.layer_count))
        rc = cn_cli_usage_error("evaluate", "%s", "--revision-steps: this model has no descriptor and generator pair");
    if (rc != CN_EXIT_OK) {
        if (!generated && rt) cn_coop_free(rt, &coop);
        cn_runtime_close(rt);
        return rc;
    }
    if (!generated && !count) count = 1000;
    if (!data) data = generated ? DEFAULT_TRAIN : coop.config.data.kind == CN_DATA_IDX ? coop.config.data.path : NULL;
    if (!data) {
        fprintf(stderr, "coopnets_cl evaluate: the model's data (%s) is not an IDX set with labels and a test split: "
                        "pass --data TRAIN_IMAGES_IDX\n", coop.config.data.path[0] ? coop.config.data.path : "synthetic");
        rc = CN_EXIT_USAGE;
    } else {
        cn_error e = {0};
        cn_evaluation ev;
        const cn_evaluate_options o = {.train_images = data, .classifier = classifier, .count = (size_t)count,
                                       .seed = (uint64_t)seed, .revision_steps = (int)revision_steps,
                                       .generated_file = generated, .revised_file = revised,
                                       .samples_prefix = save_samples, .on_loaded = print_loaded, .user = cli};
        if (cn_evaluate_run(rt, generated ? NULL : &coop, &o, &ev, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
        } else {
            const scored_source src = {ckpt, iteration, generated ? CN_MODE_COOP : coop.config.mode, seed, generated,
                                       revised};
            cJSON *json = report_scores(&ev, &src);
            rc = json ? cn_cli_write_json(cli, out, json) : CN_EXIT_FAILURE;
            if (!json) fprintf(stderr, "coopnets_cl: out of memory\n");
            cJSON_Delete(json);
        }
        cn_error_clear(&e);
    }
    if (!generated) cn_coop_free(rt, &coop);
    cn_runtime_close(rt);
    return rc;
}
