/* `coopnets_cl evaluate CKPT` for a texture model: no classifier, but the numbers of
 * cn_texture_stats (not a copy, same statistics, diversity, sharpness, lattice), each next to the
 * photograph's own. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_texture_stats.h"

static cJSON *summary_json(const cn_texture_summary *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "mean", s->mean);
    cJSON_AddNumberToObject(o, "min", s->min);
    cJSON_AddNumberToObject(o, "max", s->max);
    cJSON_AddNumberToObject(o, "count", (double)s->count);
    cJSON_AddNumberToObject(o, "infinite", (double)s->infinite);
    return o;
}

/* One line and one JSON entry per measured set; sets without measurements (no revised samples)
 * are left out. */
static void report_set(cJSON *group, const char *name, const cn_texture_summary *s, const char *note) {
    if (s->count == 0) return;
    cJSON_AddItemToObject(group, name, summary_json(s));
    char flat[96] = "";
    if (s->infinite)
        snprintf(flat, sizeof flat, "; %zu infinite: a filter without response, a flat image", s->infinite);
    printf("  %-17s %8.4g  (min %.4g, max %.4g, %zu%s)%s\n", name, s->mean, s->min, s->max, s->count, flat, note);
}

/* One latent cell's footprint in the image, where a generator that draws the same patch under every
 * cell repeats; 0 where cn_texture_lattice cannot measure it (a 1x1 latent map has one cell). */
static int lattice_period(const cn_config *c) {
    const int size = c->data.image_size, cells = c->generator.latent_size;
    if (cells < 3 || size % cells) return 0;
    return size / cells;
}

int cn_cli_evaluate_texture(cn_cli *cli, cn_runtime *rt, cn_coop *coop, const char *ckpt, uint64_t iteration,
                            size_t count, uint64_t seed, const char *out) {
    const cn_config *c = &coop->config;
    cn_error e = {0};
    cn_dataset observed = {0};
    cn_texture_report r;
    int revise = coop->descriptor.layer_count > 0 && c->descriptor.langevin_steps > 0, rc = CN_EXIT_OK;
    const int period = lattice_period(c);
    float *gen = malloc(count * coop->image_floats * sizeof *gen), *rev = malloc(count * coop->image_floats * sizeof *rev);
    cJSON *json = cJSON_CreateObject();
    if (!gen || !rev || !json) {
        fprintf(stderr, "coopnets_cl: out of memory for %zu texture samples\n", count);
        rc = CN_EXIT_FAILURE;
        goto end;
    }
    if (coop->generator.layer_count == 0) {
        fprintf(stderr, "coopnets_cl evaluate: texture model %s has no generator to sample\n", ckpt);
        rc = CN_EXIT_USAGE;
        goto end;
    }
    if (!cli->quiet)
        printf("evaluating %zu texture samples of %s (iteration %llu) against %s\n", count, ckpt,
               (unsigned long long)iteration, c->data.path);
    if (cn_dataset_load(&c->data, 0, &observed, &e) != CN_OK ||
        cn_coop_sample(rt, coop, seed, count, c->descriptor.langevin_steps, gen, revise ? rev : NULL, &e) != CN_OK ||
        cn_texture_evaluate(observed.images, gen, revise ? rev : NULL, count, c->data.channels, c->data.image_size,
                            period, seed, &r, &e) != CN_OK) {
        rc = cn_cli_report(cli, &e);
        goto end;
    }
    cJSON_AddStringToObject(json, "checkpoint", ckpt);
    cJSON_AddNumberToObject(json, "iteration", (double)iteration);
    cJSON_AddStringToObject(json, "observed", c->data.path);
    cJSON_AddNumberToObject(json, "count", (double)count);
    cJSON_AddNumberToObject(json, "seed", (double)seed);
    if (revise) { /* the checkpoint's step: a rollback in training halves it (train.c) */
        cJSON_AddNumberToObject(json, "revision_steps", c->descriptor.langevin_steps);
        cJSON_AddNumberToObject(json, "revision_step_size", c->descriptor.langevin_step_size);
        printf("revised by %d Langevin steps of %g (the checkpoint's descriptor.langevin.step_size; each rollback in "
               "training halved it)\n", c->descriptor.langevin_steps, c->descriptor.langevin_step_size);
    }
    cJSON_AddNumberToObject(json, "tile", r.patch);
    cJSON_AddNumberToObject(json, "scales", r.scales);
    cJSON *copy = cJSON_AddObjectToObject(json, "not_a_copy"), *stats = cJSON_AddObjectToObject(json, "statistics");
    cJSON *diversity = cJSON_AddObjectToObject(json, "diversity");
    printf("not a copy: each %dx%d tile's smallest mean |difference| to the observed image at any shift, grey levels "
           "of 255\n", r.patch, r.patch);
    report_set(copy, "generated", &r.copy_generated, "");
    report_set(copy, "revised", &r.copy_revised, "");
    report_set(copy, "real_crops", &r.copy_real_crops, "  <- the photograph's halves: samples pass at or above it");
    report_set(copy, "real_elsewhere", &r.copy_real_elsewhere,
               "  <- its tiles elsewhere in itself: the samples' geometry (a whole image searched)");
    printf("same statistics: random-filter statistics distance (%d scales), each half against the observed image's "
           "opposite half\n", r.scales);
    report_set(stats, "generated", &r.stats_generated, "");
    report_set(stats, "revised", &r.stats_revised, "");
    report_set(stats, "real_crops", &r.stats_real_crops, "  <- floor: the photograph's halves");
    report_set(stats, "phase_randomised", &r.stats_phase_randomised, "  <- ceiling: its spectrum, random phases");
    report_set(stats, "noise", &r.stats_noise, "  <- ceiling: noise of its mean and spread");
    printf("diversity: the same tile distance between samples 2i and 2i+1, grey levels of 255\n");
    report_set(diversity, "generated", &r.diversity_generated, "");
    report_set(diversity, "revised", &r.diversity_revised, "");
    cJSON *sharpness = cJSON_AddObjectToObject(json, "sharpness");
    printf("sharpness: mean |Laplacian| (4 neighbours), grey levels of 255\n");
    report_set(sharpness, "generated", &r.sharpness_generated, "");
    report_set(sharpness, "revised", &r.sharpness_revised, "");
    report_set(sharpness, "observed", &r.sharpness_observed,
               "  <- the photograph's: samples well above it are harsher, and lie further from it tile by tile");
    if (period) {
        cJSON *lattice = cJSON_AddObjectToObject(json, "lattice");
        cJSON_AddNumberToObject(lattice, "period", period);
        printf("lattice: how far the spectrum's harmonics of %d pixels (one latent cell) stand above their "
               "surroundings, log10\n", period);
        report_set(lattice, "generated", &r.lattice_generated, "");
        report_set(lattice, "revised", &r.lattice_revised, "");
        report_set(lattice, "observed", &r.lattice_observed,
                   "  <- the photograph's (1: harmonics ten times their surroundings)");
    } else {
        printf("lattice: not measured (a %dx%d latent map; it needs 3x3 cells or more that tile the %dx%d image)\n",
               c->generator.latent_size, c->generator.latent_size, c->data.image_size, c->data.image_size);
    }
    rc = cn_cli_write_json(cli, out, json);
end:
    cJSON_Delete(json);
    free(gen), free(rev);
    cn_dataset_free(&observed);
    cn_error_clear(&e);
    return rc;
}
