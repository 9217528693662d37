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
#define BATCH 100

/* <program cache folder>/classifier-<data folder name>.cncl, e.g.
 * ~/.cache/coopnets_cl/classifier-fashion-mnist.cncl; "" when there is no cache folder. */
static void default_classifier_path(const cn_runtime *rt, const char *train_images, char *out, size_t size) {
    const char *slash = strrchr(train_images, '/'), *dir = train_images;
    int len = slash ? (int)(slash - train_images) : 0;
    for (const char *p = train_images; slash && p < slash; p++)
        if (*p == '/') dir = p + 1;
    if (!rt->cache_dir[0]) out[0] = 0;
    else if (len == 0) snprintf(out, size, "%s/classifier.cncl", rt->cache_dir);
    else snprintf(out, size, "%s/classifier-%.*s.cncl", rt->cache_dir, (int)(slash - dir), dir);
}

static cn_status load_split(const char *images, const char *labels, int size, int channels, cn_scaling scaling,
                            int limit, cn_dataset *out, cn_error *e) {
    cn_data_config d = {.kind = CN_DATA_IDX, .image_size = size, .channels = channels, .scaling = scaling,
                        .limit = limit};
    snprintf(d.path, sizeof d.path, "%s", images);
    if (labels) snprintf(d.labels_path, sizeof d.labels_path, "%s", labels);
    return cn_dataset_load(&d, 0, out, e);
}

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
    else default_classifier_path(rt, data, out, sizeof out);
    /* minmax: the scaling the data sets' configs train CoopNets with (configs/fashion_mnist.json) */
    if (load_split(data, train_labels, (int)size, 1, CN_SCALE_MINMAX, (int)limit, &train, &e) != CN_OK ||
        load_split(test_images, test_labels, (int)size, 1, CN_SCALE_MINMAX, 0, &test, &e) != CN_OK ||
        cn_classifier_create(rt, 1, (int)size, max_label(&train) + 1, BATCH, (uint64_t)seed, &cl, &e) != CN_OK) {
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

static void add_number(cJSON *o, const char *key, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

/* One image set's classifier outputs. */
typedef struct scored {
    const char *name;
    const float *images;
    size_t n;
    float *features, *probs;
} scored;

int cn_cmd_evaluate(cn_cli *cli, int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *classifier_arg = NULL, *out = "evaluation.json";
    long count = 0, seed = 1; /* 0: 1000, or 16 for a texture model */
    const cn_cli_arg args[] = {{"CKPT", .text = &ckpt}, {"--data", .text = &data},
                               {"--classifier", .text = &classifier_arg}, {"--count", .count = &count, .min = 2},
                               {"--seed", .count = &seed, .min = 0}, {"--out", .text = &out}, {0}};
    cn_runtime *rt = NULL;
    cn_coop coop;
    uint64_t iteration = 0;
    int rc = cn_cli_parse("evaluate", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_load_model(cli, "evaluate", ckpt, &rt, &coop, &iteration);
    if (rc != CN_EXIT_OK) return rc;
    const cn_config *c = &coop.config;
    if (c->data.kind == CN_DATA_TEXTURE) {
        rc = cn_cli_evaluate_texture(cli, rt, &coop, ckpt, iteration, count ? (size_t)count : 16, (uint64_t)seed, out);
        cn_coop_free(rt, &coop);
        cn_runtime_close(rt);
        return rc;
    }
    if (!count) count = 1000;
    cn_error e = {0};
    cn_dataset train = {0}, test = {0};
    cn_classifier cl = {0};
    cJSON *json = cJSON_CreateObject(), *floor = cJSON_CreateObject();
    size_t n = (size_t)count, img = coop.image_floats;
    int has_d = coop.descriptor.layer_count > 0, has_g = coop.generator.layer_count > 0;
    int revise = has_d && has_g && c->descriptor.langevin_steps > 0;
    float *gen = malloc(n * img * sizeof(float)), *rev = malloc(n * img * sizeof(float));
    float *mem = malloc(4 * n * (CN_CLASSIFIER_FEATURES + 64) * sizeof(float));
    char train_labels[CN_PATH_MAX], test_images[CN_PATH_MAX], test_labels[CN_PATH_MAX], cpath[CN_PATH_MAX];
    if (!gen || !rev || !mem || !json || !floor) {
        fprintf(stderr, "coopnets_cl: out of memory for %zu images\n", n);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    if (!data) data = c->data.kind == CN_DATA_IDX ? c->data.path : NULL;
    if (!data) {
        fprintf(stderr, "coopnets_cl evaluate: the model's data (%s) is not an IDX set with labels and a test split: "
                        "pass --data TRAIN_IMAGES_IDX\n", c->data.path[0] ? c->data.path : "synthetic");
        rc = CN_EXIT_USAGE;
        goto end;
    }
    if (cn_idx_split_paths(data, train_labels, test_images, test_labels, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    if (classifier_arg) snprintf(cpath, sizeof cpath, "%s", classifier_arg);
    else default_classifier_path(rt, data, cpath, sizeof cpath);
    /* Real images scaled as the model saw its own; the first N of each split. */
    if (load_split(test_images, NULL, c->data.image_size, c->data.channels, c->data.scaling, (int)n, &test, &e) != CN_OK ||
        load_split(data, NULL, c->data.image_size, c->data.channels, c->data.scaling, (int)n, &train, &e) != CN_OK ||
        cn_classifier_load(rt, cpath, n < BATCH ? n : BATCH, &cl, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    n = (size_t)(test.count < train.count ? test.count : train.count);
    if (cl.classes > 64) { /* the probability rows hold 64 */
        fprintf(stderr, "coopnets_cl evaluate: classifier %s has %d classes, at most 64 are scored\n", cpath, cl.classes);
        rc = CN_EXIT_USAGE;
        goto end;
    }
    if (cl.config.data.channels != c->data.channels || cl.config.data.image_size != c->data.image_size) {
        fprintf(stderr, "coopnets_cl evaluate: classifier %s takes %dx%d images with %d channel(s), the model makes %dx%d with %d\n",
                cpath, cl.config.data.image_size, cl.config.data.image_size, cl.config.data.channels,
                c->data.image_size, c->data.image_size, c->data.channels);
        rc = CN_EXIT_USAGE;
        goto end;
    }
    if (!cli->quiet)
        printf("evaluating %zu samples against %zu test images (%s); classifier %s (test accuracy %.2f%%)\n"
               "FD and IS below are computed in this project's own classifier's feature space: NOT Inception FID/IS\n",
               n, n, test_images, cpath, 100 * cl.test_accuracy);
    if (!(cl.test_accuracy >= MIN_ACCURACY))
        fprintf(stderr, "coopnets_cl evaluate: warning: classifier %s has test accuracy %.2f%%, below %.0f%%: its "
                        "features are not good enough for meaningful scores\n",
                cpath, 100 * cl.test_accuracy, 100 * MIN_ACCURACY);
    if (has_g && cn_coop_sample(rt, &coop, (uint64_t)seed, n, c->descriptor.langevin_steps, gen, revise ? rev : NULL,
                                &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    cJSON_AddStringToObject(json, "checkpoint", ckpt);
    cJSON_AddNumberToObject(json, "iteration", (double)iteration);
    cJSON_AddStringToObject(json, "mode", cn_mode_name(c->mode));
    cJSON_AddStringToObject(json, "test_images", test_images);
    cJSON_AddNumberToObject(json, "count", (double)n);
    cJSON_AddNumberToObject(json, "seed", (double)seed);
    cJSON_AddStringToObject(json, "classifier", cpath);
    add_number(json, "classifier_test_accuracy", cl.test_accuracy);
    cJSON_AddStringToObject(json, "note", "FD and IS use the features (128-d, penultimate layer) of this project's "
                                          "own small classifier, not Inception-v3: compare only between runs");
    if (has_d) {
        const char *names[] = {"f_observed", "f_generated", "f_revised"};
        const float *sets[] = {test.images, has_g ? gen : NULL, revise ? rev : NULL};
        for (int k = 0; k < 3; k++) {
            double f;
            if (!sets[k]) continue;
            if (cn_descriptor_mean_f(rt, &coop, sets[k], n, &f, &e) != CN_OK) {
                rc = cn_cli_report(cli, &e);
                goto end;
            }
            add_number(json, names[k], f);
            printf("descriptor mean f: %-11s %.4g\n", names[k] + 2, f);
        }
    }
    /* Real train and test images first: the floor every score is read against. */
    scored sets[] = {{"test", test.images, n, 0, 0}, {"train", train.images, n, 0, 0},
                     {"generated", has_g ? gen : NULL, n, 0, 0}, {"revised", revise ? rev : NULL, n, 0, 0}};
    for (int k = 0; k < 4; k++) {
        sets[k].features = mem + (size_t)k * n * (CN_CLASSIFIER_FEATURES + 64);
        sets[k].probs = sets[k].features + n * CN_CLASSIFIER_FEATURES;
        if (sets[k].images &&
            cn_classifier_run(rt, &cl, sets[k].images, n, sets[k].features, sets[k].probs, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
            goto end;
        }
    }
    double floor_fd = 0, floor_is = cn_inception_score(sets[0].probs, n, cl.classes);
    if (cn_frechet_distance(sets[1].features, n, sets[0].features, n, CN_CLASSIFIER_FEATURES, &floor_fd, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    add_number(floor, "fd_train_vs_test", floor_fd);
    add_number(floor, "is_test", floor_is);
    add_number(floor, "is_train", cn_inception_score(sets[1].probs, n, cl.classes));
    cJSON_AddItemToObject(json, "real_data_floor", floor);
    floor = NULL;
    for (int k = 2; k < 4; k++) {
        if (!sets[k].images) continue;
        double fd, is = cn_inception_score(sets[k].probs, n, cl.classes);
        char key[32];
        if (cn_frechet_distance(sets[k].features, n, sets[0].features, n, CN_CLASSIFIER_FEATURES, &fd, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
            goto end;
        }
        snprintf(key, sizeof key, "fd_%s", sets[k].name);
        add_number(json, key, fd);
        snprintf(key, sizeof key, "is_%s", sets[k].name);
        add_number(json, key, is);
        printf("%-9s samples: FD %.4g (real floor, train vs test: %.4g)   IS %.4g (real test images: %.4g)\n",
               sets[k].name, fd, floor_fd, is, floor_is);
    }
    rc = cn_cli_write_json(cli, out, json);
end:
    cJSON_Delete(json);
    cJSON_Delete(floor);
    free(gen), free(rev), free(mem);
    cn_classifier_free(rt, &cl);
    cn_dataset_free(&train);
    cn_dataset_free(&test);
    cn_error_clear(&e);
    cn_coop_free(rt, &coop);
    cn_runtime_close(rt);
    return rc;
}
