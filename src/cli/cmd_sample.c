/* `coopnets_cl sample CKPT` and `coopnets_cl interpolate CKPT`: images from a trained model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_experiments.h"
#include "coopnets/cn_noise.h"

int cn_cli_load_model(cn_cli *cli, const char *cmd, const char *where, cn_runtime **rt, cn_coop *coop,
                      uint64_t *iteration) {
    if (!where) return cn_cli_usage_error(cmd, "%s", "needs a checkpoint (file or run folder)");
    cn_error e = {0};
    char path[CN_PATH_MAX];
    cn_config config;
    uint64_t it;
    int rc = CN_EXIT_OK;
    if (cn_checkpoint_find(where, path, sizeof path, &e) != CN_OK ||
        cn_checkpoint_read_config(path, &config, &it, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
    } else if ((rc = cn_cli_open_runtime(cli, 0, rt)) == CN_EXIT_OK) {
        if (cn_coop_create(*rt, &config, coop, &e) != CN_OK) {
            rc = cn_cli_report(cli, &e);
        } else if (cn_checkpoint_load(*rt, coop, path, &it, &e) != CN_OK) {
            cn_coop_free(*rt, coop);
            rc = cn_cli_report(cli, &e);
        } else if (iteration) {
            *iteration = it;
        }
        if (rc == CN_EXIT_OK && !cli->quiet) {
            printf("model: %s (iteration %llu) on device %d: %s\n", path, (unsigned long long)it, (*rt)->device.index,
                   (*rt)->device.name);
        }
        if (rc != CN_EXIT_OK) {
            cn_runtime_close(*rt);
            *rt = NULL;
        }
    }
    cn_error_clear(&e);
    return rc;
}

static int write_grid(cn_cli *cli, const char *path, const float *images, const cn_coop *coop, int n, int cols) {
    cn_error e = {0};
    const cn_data_config *d = &coop->config.data;
    if (cn_grid_write(path, images, n, d->channels, d->image_size, d->image_size, cols, &e) != CN_OK)
        return cn_cli_report(cli, &e);
    if (!cli->quiet) printf("wrote %s\n", path);
    return CN_EXIT_OK;
}

int cn_cmd_sample(cn_cli *cli, int argc, char **argv) {
    const char *ckpt = NULL, *out = "samples.png";
    long count = 64, steps = -1, seed = 1; /* steps -1: the model's own */
    const cn_cli_arg args[] = {{"CKPT", .text = &ckpt}, {"--count", .count = &count, .min = 1},
                               {"--langevin", .count = &steps, .min = 0}, {"--seed", .count = &seed, .min = 0},
                               {"--out", .text = &out}, {0}};
    cn_runtime *rt = NULL;
    cn_coop coop;
    int rc = cn_cli_parse("sample", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_load_model(cli, "sample", ckpt, &rt, &coop, NULL);
    if (rc != CN_EXIT_OK) return rc;
    if (steps < 0) steps = coop.descriptor.layer_count ? coop.config.descriptor.langevin_steps : 0;
    size_t img = coop.image_floats;
    float *gen = malloc((size_t)count * img * sizeof(float)), *rev = malloc((size_t)count * img * sizeof(float));
    cn_error e = {0};
    int cols = (int)ceil(sqrt((double)count));
    if (!gen || !rev) {
        rc = CN_EXIT_FAILURE;
    } else if (cn_coop_sample(rt, &coop, (uint64_t)seed, (size_t)count, (int)steps, gen, steps > 0 ? rev : NULL, &e) !=
               CN_OK) {
        rc = cn_cli_report(cli, &e);
    } else if (steps > 0) {
        /* both grids: the generator's samples and the descriptor's revision of them */
        char gen_path[CN_PATH_MAX + 16];
        snprintf(gen_path, sizeof gen_path, "%.*s-generated.png",
                 (int)(strlen(out) > 4 && strcmp(out + strlen(out) - 4, ".png") == 0 ? strlen(out) - 4 : strlen(out)), out);
        rc = write_grid(cli, gen_path, gen, &coop, (int)count, cols);
        if (rc == CN_EXIT_OK) rc = write_grid(cli, out, rev, &coop, (int)count, cols);
    } else {
        rc = write_grid(cli, out, gen, &coop, (int)count, cols);
    }
    free(gen);
    free(rev);
    cn_error_clear(&e);
    cn_coop_free(rt, &coop);
    cn_runtime_close(rt);
    return rc;
}

int cn_cmd_interpolate(cn_cli *cli, int argc, char **argv) {
    const char *ckpt = NULL, *out = "interpolation.png";
    long rows = 8, cols = 10, seed = 1;
    int spherical = 0;
    const cn_cli_arg args[] = {{"CKPT", .text = &ckpt}, {"--rows", .count = &rows, .min = 1},
                               {"--cols", .count = &cols, .min = 2}, {"--spherical", .flag = &spherical},
                               {"--seed", .count = &seed, .min = 0}, {"--out", .text = &out}, {0}};
    cn_runtime *rt = NULL;
    cn_coop coop;
    int rc = cn_cli_parse("interpolate", argc, argv, args);
    if (rc == CN_EXIT_OK) rc = cn_cli_load_model(cli, "interpolate", ckpt, &rt, &coop, NULL);
    if (rc != CN_EXIT_OK) return rc;
    size_t lat = coop.latent_floats, n = (size_t)(rows * cols);
    float *ends = malloc(2 * (size_t)rows * lat * sizeof(float)), *latent = malloc(n * lat * sizeof(float));
    float *images = malloc(n * coop.image_floats * sizeof(float));
    cn_error e = {0};
    if (!ends || !latent || !images) {
        rc = CN_EXIT_FAILURE;
    } else {
        /* each row runs from one random latent vector to another */
        cn_noise_key key = {(uint64_t)seed, 0, CN_STREAM_LATENT, 2, 0};
        cn_noise_normal_host(&key, 2 * (size_t)rows * lat, ends);
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                cn_latent_interpolate(ends + 2 * r * lat, ends + (2 * r + 1) * lat, latent + (r * cols + c) * lat,
                                      lat, (double)c / (double)(cols - 1), spherical);
        if (cn_coop_generate_from(rt, &coop, latent, n, images, &e) != CN_OK) rc = cn_cli_report(cli, &e);
        else rc = write_grid(cli, out, images, &coop, (int)n, (int)cols);
    }
    free(ends);
    free(latent);
    free(images);
    cn_error_clear(&e);
    cn_coop_free(rt, &coop);
    cn_runtime_close(rt);
    return rc;
}
