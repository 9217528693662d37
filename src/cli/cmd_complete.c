/* `coopnets_cl complete CKPT`: pattern completion — hide part of each test image, infer h from the
 * visible pixels by generator Langevin inference, show g(h), and score the hidden pixels. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_experiments.h"

/* Langevin steps by default: on Fashion-MNIST (square:12) the hidden-pixel error fell 0.319 → 0.230 →
 * 0.226 → 0.226 at 0, 25, 50, 100 steps (README): 100 leaves a margin at half the cost of 200. */
#define DEFAULT_STEPS 100
/* Images shown in the PNG (all of them are scored). */
#define SHOWN 100
#define GROUP 10

/* The images to complete. --images: a folder of PNGs, one PNG, or an IDX file. Otherwise the
 * model's own data, but its test split where one is known: an IDX "train-…" file has its
 * "t10k-…" sibling (MNIST, Fashion-MNIST), and generated shapes are drawn afresh (another seed);
 * a folder is used as it is (the training images), which `note` says. */
static void choose_data(const cn_config *model, const char *images, long count, cn_data_config *out,
                        uint64_t *data_seed, char *note, size_t note_size) {
    *out = model->data;
    out->labels_path[0] = 0;
    out->limit = (int)count;
    *data_seed = model->seed;
    note[0] = 0;
    if (images) {
        struct stat st;
        size_t len = strlen(images);
        if (stat(images, &st) == 0 && S_ISDIR(st.st_mode)) out->kind = CN_DATA_FOLDER;
        else if (len > 4 && strcmp(images + len - 4, ".png") == 0) out->kind = CN_DATA_TEXTURE, out->texture_copies = 1;
        else out->kind = CN_DATA_IDX;
        snprintf(out->path, sizeof out->path, "%s", images);
        return;
    }
    if (out->kind == CN_DATA_SYNTHETIC) {
        *data_seed = model->seed + 1;
        snprintf(note, note_size, "fresh synthetic shapes (seed %llu; training used %llu)",
                 (unsigned long long)*data_seed, (unsigned long long)model->seed);
        return;
    }
    char *base = strrchr(out->path, '/');
    base = base ? base + 1 : out->path;
    if (out->kind == CN_DATA_IDX && strncmp(base, "train-", 6) == 0) {
        char test[CN_PATH_MAX], check[CN_PATH_MAX + 256];
        snprintf(test, sizeof test, "%.*st10k-%s", (int)(base - out->path), out->path, base + 6);
        const char *home = getenv("HOME");
        if (strncmp(test, "~/", 2) == 0 && home) snprintf(check, sizeof check, "%s%s", home, test + 1);
        else snprintf(check, sizeof check, "%s", test);
        if (access(check, R_OK) == 0) {
            snprintf(out->path, sizeof out->path, "%s", test);
            snprintf(note, note_size, "test split");
            return;
        }
    }
    snprintf(note, note_size, "training images: no test split known; pass --images");
}

/* original / occluded / recovered rows, GROUP images a row, for the first SHOWN images; occluded
 * pixels show mid-gray, empty tiles white. */
static int write_sheet(cn_cli *cli, const char *path, const cn_config *c, const float *images, const float *masks,
                       const float *recovered, size_t count) {
    size_t shown = count < SHOWN ? count : SHOWN, img = (size_t)c->data.channels * c->data.image_size * c->data.image_size;
    size_t cols = shown < GROUP ? shown : GROUP, groups = (shown + cols - 1) / cols, tiles = groups * 3 * cols;
    float *sheet = malloc(tiles * img * sizeof(float));
    if (!sheet) {
        fprintf(stderr, "coopnets_cl: out of memory for the sheet %s\n", path);
        return CN_EXIT_FAILURE;
    }
    for (size_t t = 0; t < tiles * img; t++) sheet[t] = 1.0f;
    for (size_t i = 0; i < shown; i++) {
        size_t group = i / cols, col = i % cols;
        float *orig = sheet + ((group * 3 + 0) * cols + col) * img, *occl = sheet + ((group * 3 + 1) * cols + col) * img;
        float *rec = sheet + ((group * 3 + 2) * cols + col) * img;
        for (size_t k = 0; k < img; k++) {
            orig[k] = images[i * img + k];
            occl[k] = masks[i * img + k] != 0.0f ? images[i * img + k] : 0.0f;
            rec[k] = recovered[i * img + k];
        }
    }
    cn_error e = {0};
    int rc = CN_EXIT_OK;
    if (cn_grid_write(path, sheet, (int)tiles, c->data.channels, c->data.image_size, c->data.image_size, (int)cols,
                      &e) != CN_OK)
        rc = cn_cli_report(cli, &e);
    else if (!cli->quiet)
        printf("wrote %s\n", path);
    free(sheet);
    cn_error_clear(&e);
    return rc;
}


int cn_cmd_complete(cn_cli *cli, int argc, char **argv) {
    const char *ckpt = NULL, *mask_text = NULL, *images_arg = NULL, *out = "completion";
    long count = 0, steps = DEFAULT_STEPS, seed = 1; /* count 0: the chain count */
    const cn_cli_arg args[] = {{"CKPT", .text = &ckpt}, {"--mask", .text = &mask_text},
                               {"--images", .text = &images_arg}, {"--count", .count = &count, .min = 1},
                               {"--steps", .count = &steps, .min = 0}, {"--seed", .count = &seed, .min = 0},
                               {"--out", .text = &out}, {0}};
    cn_runtime *rt = NULL;
    cn_coop coop;
    uint64_t iteration = 0;
    int rc = cn_cli_parse("complete", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_load_model(cli, "complete", ckpt, &rt, &coop, &iteration);
    if (rc != CN_EXIT_OK) return rc;
    const cn_config *c = &coop.config;
    cn_error e = {0};
    cn_dataset data = {0};
    float *masks = NULL, *recovered = NULL, *filled = NULL;
    cJSON *json = NULL;
    char default_mask[32], note[128], path[CN_PATH_MAX + 32];
    /* a 3/7 square by default: 12×12 on 28×28, as in the middle of the paper's 30/40/50 on 64×64 */
    snprintf(default_mask, sizeof default_mask, "square:%d", (3 * c->data.image_size + 3) / 7);
    if (!mask_text) mask_text = default_mask;
    cn_mask_spec spec;
    cn_data_config source;
    uint64_t data_seed;
    if (cn_mask_parse(mask_text, c->data.image_size, &spec, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    choose_data(c, images_arg, count ? count : (long)coop.chain_count, &source, &data_seed, note, sizeof note);
    if (cn_dataset_load(&source, data_seed, &data, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    size_t n = (size_t)data.count, img = coop.image_floats;
    masks = malloc(n * img * sizeof(float));
    recovered = malloc(n * img * sizeof(float));
    filled = malloc(n * img * sizeof(float));
    if (!masks || !recovered || !filled) {
        fprintf(stderr, "coopnets_cl: out of memory for %zu images\n", n);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    for (size_t i = 0; i < n; i++)
        cn_mask_make(&spec, (uint64_t)seed, (uint32_t)i, c->data.channels, c->data.image_size, masks + i * img);
    if (!cli->quiet)
        printf("completing %zu images from %s%s%s%s with %s masks, %ld Langevin steps\n", n, source.path,
               source.path[0] && note[0] ? " (" : "", note, source.path[0] && note[0] ? ")" : "", mask_text, steps);
    if (cn_coop_complete(rt, &coop, data.images, masks, n, (int)steps, (uint64_t)seed, recovered, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    cn_completion_scores sc, baseline;
    cn_completion_score(data.images, masks, recovered, n * img, &sc);
    cn_completion_fill_mean(data.images, masks, n, c->data.channels, img / (size_t)c->data.channels, filled);
    cn_completion_score(data.images, masks, filled, n * img, &baseline);
    printf("hidden pixels: mean |error| %.4f, PSNR %.2f dB (images in [0,1]); visible pixels: mean |error| %.4f\n"
           "baseline (hidden pixels = the mean of the visible ones): mean |error| %.4f, PSNR %.2f dB\n",
           sc.hidden_abs_error, sc.hidden_psnr, sc.visible_abs_error, baseline.hidden_abs_error, baseline.hidden_psnr);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "coopnets_cl: cannot create folder %s: %s\n", out, strerror(errno));
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    snprintf(path, sizeof path, "%s/completion.png", out);
    if ((rc = write_sheet(cli, path, c, data.images, masks, recovered, n)) != CN_EXIT_OK) goto end;
    json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "checkpoint", ckpt);
    cJSON_AddNumberToObject(json, "iteration", (double)iteration);
    cJSON_AddStringToObject(json, "mode", cn_mode_name(c->mode));
    cJSON_AddStringToObject(json, "images", source.path[0] ? source.path : note);
    cJSON_AddNumberToObject(json, "count", (double)n);
    cJSON_AddStringToObject(json, "mask", mask_text);
    cJSON_AddNumberToObject(json, "steps", (double)steps);
    cJSON_AddNumberToObject(json, "seed", (double)seed);
    cJSON_AddNumberToObject(json, "hidden_values", (double)sc.hidden);
    cJSON_AddNumberToObject(json, "visible_values", (double)sc.visible);
    cn_cli_json_number(json, "hidden_mean_abs_error", sc.hidden_abs_error);
    cn_cli_json_number(json, "hidden_psnr_db", sc.hidden_psnr);
    cn_cli_json_number(json, "visible_mean_abs_error", sc.visible_abs_error);
    cn_cli_json_number(json, "baseline_hidden_mean_abs_error", baseline.hidden_abs_error);
    cn_cli_json_number(json, "baseline_hidden_psnr_db", baseline.hidden_psnr);
    snprintf(path, sizeof path, "%s/completion.json", out);
    rc = cn_cli_write_json(cli, path, json);
end:
    cJSON_Delete(json);
    free(masks);
    free(recovered);
    free(filled);
    cn_dataset_free(&data);
    cn_error_clear(&e);
    cn_coop_free(rt, &coop);
    cn_runtime_close(rt);
    return rc;
}
