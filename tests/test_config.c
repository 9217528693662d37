/* cn_config: the shipped configs load, validate and round-trip through JSON; presets expand as
 * DESIGN §3 says; overrides reach the struct; every class of mistake is an error that names the
 * exact key path. No OpenCL. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/cn_test.h"
#include "coopnets/cn_config.h"

static const char *root_dir(void) {
    const char *dir = getenv("CN_SOURCE_DIR");
    return dir && *dir ? dir : ".";
}

static void repo_path(char *out, size_t size, const char *relative) {
    snprintf(out, size, "%s/%s", root_dir(), relative);
}

/* parse(to_json(c)) must give c back, byte for byte. */
static void check_round_trip(const char *what, const cn_config *c) {
    char *text = cn_config_to_json(c);
    CHECK(text != NULL, "%s: cn_config_to_json returned NULL", what);
    if (!text) return;
    cn_config back;
    CHECK_OK(cn_config_parse(text, c->source, NULL, 0, &back, TE));
    size_t first = 0;
    while (first < sizeof back && ((const char *)&back)[first] == ((const char *)c)[first]) first++;
    CHECK(first == sizeof back, "%s: byte %zu of the config changed on its way through JSON:\n%s", what, first, text);
    free(text);
}

/* Pixels one top-layer response of a conv stack sees: k0 + sum (k_i - 1) * (stride product below i). */
static int receptive_field(const cn_descriptor_config *n) {
    int rf = 1, jump = 1;
    for (int i = 0; i < n->layer_count; i++) {
        rf += (n->layers[i].kernel - 1) * jump;
        jump *= n->layers[i].stride;
    }
    return rf;
}

static void check_layer(const char *what, const cn_layer_config *l, cn_layer_kind kind, int filters, int kernel,
                        int stride, cn_padding padding, int output_size, int batchnorm, cn_activation act) {
    CHECK(l->kind == kind && l->filters == filters && l->kernel == kernel && l->stride == stride &&
              l->padding == padding && l->output_size == output_size && l->batchnorm == batchnorm &&
              l->bn_scale == 0 && l->activation == act,
          "%s: got kind %d filters %d kernel %d stride %d padding %d output %d bn %d act %d", what, l->kind, l->filters,
          l->kernel, l->stride, l->padding, l->output_size, l->batchnorm, l->activation);
}

/* Every .json file of configs/ loads, validates and round-trips: a config added later is covered too. */
static void test_shipped_configs(void) {
    char folder[1024];
    repo_path(folder, sizeof folder, "configs");
    DIR *d = opendir(folder);
    CHECK(d != NULL, "cannot open %s", folder);
    if (!d) return;
    int seen = 0;
    for (struct dirent *entry; (entry = readdir(d));) {
        size_t len = strlen(entry->d_name);
        if (len < 6 || strcmp(entry->d_name + len - 5, ".json") != 0) continue;
        char path[2048], name[256];
        snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(len - 5), entry->d_name);
        cn_config c;
        cn_status s = cn_config_load(path, NULL, 0, &c, TE);
        CHECK(s == CN_OK, "%s: %s", path, cn_test_error.message);
        seen++;
        if (s != CN_OK) continue;
        CHECK_OK(cn_config_validate(&c, TE));
        CHECK(strcmp(c.source, path) == 0, "%s: source is \"%s\"", name, c.source);
        check_round_trip(name, &c);
        printf("  %-14s ok: %s, %dx%dx%d, D %d layers (%s), G %d layers (%s), batch %d, chains %d\n", name,
               cn_mode_name(c.mode), c.data.channels, c.data.image_size, c.data.image_size, c.descriptor.layer_count,
               c.descriptor.preset, c.generator.layer_count, c.generator.preset, c.training.batch_size,
               c.training.chains);
    }
    closedir(d);
    CHECK(seen >= 6, "only %d configs in %s", seen, folder);
}

static void load_shipped(const char *name, const char *const *overrides, int count, cn_config *c) {
    char path[1024];
    snprintf(path, sizeof path, "configs/%s.json", name);
    char full[1100];
    repo_path(full, sizeof full, path);
    CHECK_OK(cn_config_load(full, overrides, count, c, TE));
}

static void test_tiny_values(void) {
    cn_config c;
    load_shipped("tiny", NULL, 0, &c);
    CHECK(c.data.kind == CN_DATA_SYNTHETIC && c.data.image_size == 16 && c.data.channels == 1 && c.data.limit == 256,
          "tiny data");
    CHECK(c.descriptor.preset[0] == '\0' && c.descriptor.layer_count == 3, "tiny descriptor is explicit");
    check_layer("tiny D[0]", &c.descriptor.layers[0], CN_LAYER_CONV, 8, 3, 2, CN_PAD_SAME, 0, 0, CN_ACT_LEAKY_RELU);
    check_layer("tiny D[2]", &c.descriptor.layers[2], CN_LAYER_FC, 10, 0, 1, CN_PAD_VALID, 0, 0, CN_ACT_NONE);
    CHECK(c.generator.latent_channels == 8 && c.generator.latent_size == 1 && c.generator.layer_count == 3, "tiny G");
    check_layer("tiny G[0]", &c.generator.layers[0], CN_LAYER_DECONV, 16, 4, 1, CN_PAD_VALID, 4, 1, CN_ACT_LEAKY_RELU);
    check_layer("tiny G[2]", &c.generator.layers[2], CN_LAYER_DECONV, 1, 4, 2, CN_PAD_SAME, 16, 0, CN_ACT_TANH);
    CHECK(c.descriptor.langevin_steps == 5 && c.generator.langevin_steps == 2, "tiny Langevin steps");
    CHECK(c.training.batch_size == 16 && c.training.chains == 16 && c.training.iterations == 20 &&
              c.training.log_every == 5 && c.training.sample_every == 10 && c.training.checkpoint_every == 10 &&
              strcmp(c.training.output, "runs/tiny") == 0,
          "tiny training");
    /* Keys the file leaves out keep the reference values. */
    CHECK(c.descriptor.optimizer.lr == 0.007 && c.generator.optimizer.lr == 1e-4 && c.descriptor.refsig == 0.016,
          "tiny defaults");
}

/* DESIGN §2–3: the reference numbers and the 28×28 nets. */
static void test_defaults(void) {
    cn_config c;
    cn_config_defaults(&c);
    CHECK(c.mode == CN_MODE_COOP && c.seed == 1 && c.data.kind == CN_DATA_IDX && c.data.image_size == 28 &&
              c.data.channels == 1 && c.data.scaling == CN_SCALE_MINMAX,
          "default data");
    const cn_descriptor_config *d = &c.descriptor;
    CHECK(d->langevin_steps == 15 && d->langevin_step_size == 0.002 && d->refsig == 0.016 && d->langevin_noise == 1 &&
              d->optimizer.lr == 0.007 && d->optimizer.beta1 == 0.5 && d->optimizer.beta2 == 0.999 &&
              d->optimizer.eps == 1e-8 && d->leaky_slope == 0.2 && d->weight_std == 0.01,
          "default descriptor numbers");
    const cn_generator_config *g = &c.generator;
    CHECK(g->langevin_steps == 0 && g->langevin_step_size == 0.1 && g->sigma == 0.3 && g->optimizer.lr == 1e-4 &&
              g->optimizer.beta1 == 0.5 && g->weight_std == 0.005 && g->bn_eps == 1e-3 && g->latent_channels == 100 &&
              g->latent_size == 1,
          "default generator numbers");
    CHECK(c.training.batch_size == 100 && c.training.chains == 144 && c.training.epochs == 0 &&
              c.training.iterations == 1000 && strcmp(c.training.output, "runs/coopnets") == 0,
          "default training");
    CHECK(strcmp(d->preset, "mnist28") == 0 && d->layer_count == 4, "default D is mnist28");
    check_layer("mnist28 D[0]", &d->layers[0], CN_LAYER_CONV, 64, 4, 2, CN_PAD_SAME, 0, 0, CN_ACT_LEAKY_RELU);
    check_layer("mnist28 D[2]", &d->layers[2], CN_LAYER_CONV, 256, 4, 2, CN_PAD_SAME, 0, 0, CN_ACT_LEAKY_RELU);
    check_layer("mnist28 D[3]", &d->layers[3], CN_LAYER_FC, 100, 0, 1, CN_PAD_VALID, 0, 0, CN_ACT_NONE);
    CHECK(strcmp(g->preset, "mnist28") == 0 && g->layer_count == 4, "default G is mnist28");
    check_layer("mnist28 G[0]", &g->layers[0], CN_LAYER_DECONV, 512, 4, 1, CN_PAD_VALID, 4, 1, CN_ACT_LEAKY_RELU);
    check_layer("mnist28 G[1]", &g->layers[1], CN_LAYER_DECONV, 256, 4, 2, CN_PAD_SAME, 7, 1, CN_ACT_LEAKY_RELU);
    check_layer("mnist28 G[3]", &g->layers[3], CN_LAYER_DECONV, 1, 4, 2, CN_PAD_SAME, 28, 0, CN_ACT_TANH);
    /* Defaults lack only the data file. */
    CHECK(cn_config_validate(&c, TE) == CN_ERR_CONFIG && strstr(cn_test_error.message, "data.path"),
          "defaults without data.path: %s", cn_test_error.message);
    snprintf(c.data.path, sizeof c.data.path, "images.idx");
    CHECK_OK(cn_config_validate(&c, TE));
    CHECK(strcmp(cn_mode_name(CN_MODE_DESCRIPTOR), "descriptor") == 0, "cn_mode_name");
}

static void test_presets(void) {
    cn_config c;
    load_shipped("faces", NULL, 0, &c);
    const cn_generator_config *g = &c.generator;
    check_layer("scene64 D[0]", &c.descriptor.layers[0], CN_LAYER_CONV, 64, 5, 2, CN_PAD_SAME, 0, 0,
                CN_ACT_LEAKY_RELU);
    check_layer("scene64 D[2]", &c.descriptor.layers[2], CN_LAYER_CONV, 256, 3, 1, CN_PAD_SAME, 0, 0,
                CN_ACT_LEAKY_RELU);
    CHECK(g->layer_count == 5 && g->latent_channels == 100 && g->latent_size == 1, "scene64 G shape");
    check_layer("scene64 G[0]", &g->layers[0], CN_LAYER_DECONV, 512, 4, 1, CN_PAD_VALID, 0, 1, CN_ACT_LEAKY_RELU);
    check_layer("scene64 G[3]", &g->layers[3], CN_LAYER_DECONV, 64, 5, 2, CN_PAD_SAME, 0, 1, CN_ACT_LEAKY_RELU);
    check_layer("scene64 G[4]", &g->layers[4], CN_LAYER_DECONV, 3, 5, 2, CN_PAD_SAME, 0, 0, CN_ACT_TANH);

    load_shipped("texture_paper", NULL, 0, &c);
    CHECK(c.descriptor.layer_count == 3 && c.generator.layer_count == 5, "texture layer counts");
    check_layer("texture D[0]", &c.descriptor.layers[0], CN_LAYER_CONV, 100, 15, 3, CN_PAD_SAME, 0, 0, CN_ACT_RELU);
    check_layer("texture D[2]", &c.descriptor.layers[2], CN_LAYER_CONV, 30, 7, 1, CN_PAD_SAME, 0, 0, CN_ACT_RELU);
    check_layer("texture G[4]", &c.generator.layers[4], CN_LAYER_DECONV, 1, 5, 2, CN_PAD_SAME, 0, 0, CN_ACT_TANH);
    CHECK(c.generator.latent_channels == 1 && c.generator.latent_size == 7, "texture 224: latent 1x7x7, as the paper");
    CHECK(c.descriptor.langevin_steps == 30 && c.descriptor.langevin_step_size == 0.0023 && c.training.batch_size == 1,
          "texture settings");
    int paper_rf = receptive_field(&c.descriptor);
    CHECK(paper_rf == 57, "texture 224: the descriptor sees 57 pixels, got %d", paper_rf);
    /* texture.json: 128x128 for a CPU with the paper's ratios: image to the descriptor's receptive
     * field (224/57), latent map to image (7/224); the descriptor narrower, 4 chains. */
    load_shipped("texture", NULL, 0, &c);
    double ratio = (double)c.data.image_size / receptive_field(&c.descriptor);
    CHECK(fabs(ratio / (224.0 / 57) - 1) < 0.05, "texture (CPU): image / receptive field %.3f, paper %.3f", ratio,
          224.0 / 57);
    CHECK(c.data.image_size == 128 && c.generator.latent_size * 32 == c.data.image_size &&
              c.generator.latent_channels == 1,
          "texture (CPU): 128x128 from a %dx%dx%d latent map", c.generator.latent_channels, c.generator.latent_size,
          c.generator.latent_size);
    check_layer("texture (CPU) D[0]", &c.descriptor.layers[0], CN_LAYER_CONV, 32, 9, 2, CN_PAD_SAME, 0, 0, CN_ACT_RELU);
    check_layer("texture (CPU) G[3]", &c.generator.layers[3], CN_LAYER_DECONV, 64, 5, 2, CN_PAD_SAME, 0, 1,
                CN_ACT_LEAKY_RELU);
    CHECK(c.descriptor.langevin_steps == 30 && c.descriptor.langevin_step_size == 0.0023 && c.training.batch_size == 1,
          "texture (CPU) settings");

    /* The texture latent follows image_size when the config does not give it. */
    const char *texture128 = "{\"data\": {\"kind\": \"synthetic\", \"image_size\": 128},"
                             " \"descriptor\": {\"preset\": \"texture\"}, \"generator\": {\"preset\": \"texture\"}}";
    CHECK_OK(cn_config_parse(texture128, "t.json", NULL, 0, &c, TE));
    CHECK(c.generator.latent_channels == 1 && c.generator.latent_size == 4, "texture 128: latent %dx%d",
          c.generator.latent_channels, c.generator.latent_size);
}

static void test_overrides(void) {
    cn_config c;
    /* Presets expand after overrides, so the generator's last layer follows data.channels. */
    const char *const rgb[] = {"data.channels=3", "training.output=runs/x y", "seed=7",
                               "descriptor.langevin.noise=false", "generator.optimizer={\"lr\": 0.002}"};
    load_shipped("fashion_mnist", rgb, 5, &c);
    CHECK(c.data.channels == 3 && c.generator.layers[3].filters == 3, "data.channels=3 reaches the preset");
    CHECK(strcmp(c.training.output, "runs/x y") == 0, "a value that is not JSON is a string: \"%s\"",
          c.training.output);
    CHECK(c.seed == 7 && c.descriptor.langevin_noise == 0, "seed and a boolean");
    /* A whole object replaces the file's: the keys it leaves out fall back to the defaults. */
    CHECK(c.generator.optimizer.lr == 0.002 && c.generator.optimizer.beta1 == 0.5, "an object override");

    /* Layer entries by either index syntax; objects the file lacks are created. */
    const char *const layers[] = {"descriptor.layers[1].stride=1", "generator.layers.0.filters=12",
                                  "generator.langevin.sigma=0.5", "training.iterations=7"};
    load_shipped("tiny", layers, 4, &c);
    CHECK(c.descriptor.layers[1].stride == 1 && c.generator.layers[0].filters == 12, "layer overrides");
    CHECK(c.generator.sigma == 0.5 && c.training.iterations == 7, "nested overrides");

    /* Seeds beyond 2^53 travel as decimal strings. */
    const char *const big_seed[] = {"seed=\"18446744073709551615\""};
    load_shipped("tiny", big_seed, 1, &c);
    CHECK(c.seed == UINT64_MAX, "big seed: %llu", (unsigned long long)c.seed);
    check_round_trip("tiny with a big seed", &c);
}

/* Every field set away from its default (data.kind stays idx, the one kind with labels; descriptor
 * mode, so the generator need not fit the images): a field the JSON misses would come back as its
 * default and the bytes would differ. */
static void test_round_trip_every_field(void) {
    cn_config c;
    cn_config_defaults(&c);
    snprintf(c.source, sizeof c.source, "every.json");
    c.mode = CN_MODE_DESCRIPTOR;
    c.seed = 123456789;
    c.data = (cn_data_config){.kind = CN_DATA_IDX, .image_size = 30, .channels = 3, .scaling = CN_SCALE_FIXED,
                              .limit = 77, .texture_copies = 5};
    snprintf(c.data.path, sizeof c.data.path, "a/b.idx");
    snprintf(c.data.labels_path, sizeof c.data.labels_path, "a/labels.idx");
    cn_descriptor_config *d = &c.descriptor;
    memset(d->preset, 0, sizeof d->preset);
    d->layer_count = 3;
    d->layers[0] = (cn_layer_config){.kind = CN_LAYER_CONV, .filters = 5, .kernel = 3, .stride = 2,
                                     .padding = CN_PAD_VALID, .activation = CN_ACT_TANH};
    d->layers[1] = (cn_layer_config){.kind = CN_LAYER_CONV, .filters = 6, .kernel = 2, .stride = 1,
                                     .padding = CN_PAD_SAME, .activation = CN_ACT_RELU};
    d->layers[2] = (cn_layer_config){.kind = CN_LAYER_FC, .filters = 7, .stride = 1, .padding = CN_PAD_VALID};
    d->leaky_slope = 0.1;
    d->weight_std = 0.02;
    d->langevin_steps = 9;
    d->langevin_step_size = 0.003;
    d->refsig = 0.5;
    d->langevin_noise = 0;
    d->chain_init = CN_CHAINS_PERSISTENT;
    d->optimizer = (cn_optimizer_config){.lr = 0.01, .beta1 = 0.4, .beta2 = 0.99, .eps = 1e-6,
                                         .decay_every = 100, .decay_factor = 0.3};
    d->updates_per_iteration = 2;
    cn_generator_config *g = &c.generator;
    memset(g->preset, 0, sizeof g->preset);
    g->latent_channels = 3;
    g->latent_size = 2;
    g->layer_count = 1;
    g->layers[0] = (cn_layer_config){.kind = CN_LAYER_DECONV, .filters = 4, .kernel = 3, .stride = 3,
                                     .padding = CN_PAD_VALID, .output_size = 6, .batchnorm = 1, .bn_scale = 1,
                                     .activation = CN_ACT_LEAKY_RELU};
    g->leaky_slope = 0.3;
    g->weight_std = 0.004;
    g->bn_eps = 1e-4;
    g->langevin_steps = 4;
    g->langevin_step_size = 0.2;
    g->sigma = 0.4;
    g->langevin_noise = 0;
    g->optimizer = (cn_optimizer_config){.lr = 3e-4, .beta1 = 0.6, .beta2 = 0.98, .eps = 1e-7,
                                         .decay_every = 7, .decay_factor = 0.9};
    g->updates_per_iteration = 3;
    c.training = (cn_training_config){.batch_size = 11, .chains = 13, .epochs = 2, .iterations = 0, .log_every = 3,
                                      .sample_every = 0, .checkpoint_every = 0, .keep_checkpoints = 2,
                                      .max_retries = 1, .retry_lr_factor = 0.25, .tensorboard = 0};
    snprintf(c.training.output, sizeof c.training.output, "out/every");
    CHECK_OK(cn_config_validate(&c, TE));
    check_round_trip("every field", &c);
}

/* A mistake must be status `want` with every needle in the message. */
static void expect_error(const char *what, cn_status got, cn_status want, const cn_error *e, const char *needle,
                         const char *needle2) {
    CHECK(got == want, "%s: status %s, want %s (%s)", what, cn_status_name(got), cn_status_name(want), e->message);
    CHECK(strstr(e->message, needle) != NULL, "%s: \"%s\" not in: %s", what, needle, e->message);
    CHECK(!needle2 || strstr(e->message, needle2) != NULL, "%s: \"%s\" not in: %s", what, needle2, e->message);
    printf("  %-30s -> %s\n", what, e->message);
}

static void expect_parse_error(const char *what, const char *json, const char *override, const char *needle,
                               const char *needle2) {
    cn_config c;
    cn_error e = {0};
    cn_status s = cn_config_parse(json, "t.json", override ? &override : NULL, override ? 1 : 0, &c, &e);
    expect_error(what, s, CN_ERR_CONFIG, &e, needle, needle2);
    CHECK(strncmp(e.message, "config t.json: ", 15) == 0, "%s: message does not name the file: %s", what, e.message);
}

#define SYNTH "\"data\": {\"kind\": \"synthetic\"}"
#define TINY_D                                                                                                   \
    "\"descriptor\": {\"layers\": [{\"type\": \"conv\", \"filters\": 8, \"kernel\": 3, \"stride\": 2},"         \
    " {\"type\": \"conv\", \"filters\": 16, \"kernel\": 3, \"stride\": 2}, {\"type\": \"fc\", \"filters\": 10}]}"
#define TINY_G(out1)                                                                                               \
    "\"generator\": {\"latent\": {\"channels\": 8}, \"layers\": ["                                                \
    "{\"type\": \"deconv\", \"filters\": 16, \"kernel\": 4, \"padding\": \"valid\"},"                             \
    " {\"type\": \"deconv\", \"filters\": 8, \"kernel\": 4, \"stride\": 2, \"output_size\": " #out1 "},"            \
    " {\"type\": \"deconv\", \"filters\": 1, \"kernel\": 4, \"stride\": 2}]}"
#define TINY16 "\"data\": {\"kind\": \"synthetic\", \"image_size\": 16}"

static void test_errors(void) {
    /* The helpers' fixtures are valid as they stand. */
    cn_config c;
    CHECK_OK(cn_config_parse("{" SYNTH "}", "t.json", NULL, 0, &c, TE));
    CHECK_OK(cn_config_parse("{" TINY16 ", " TINY_D ", " TINY_G(8) "}", "t.json", NULL, 0, &c, TE));

    expect_parse_error("unknown top-level key", "{" SYNTH ", \"mdoe\": \"coop\"}", NULL, "unknown key mdoe",
                       "did you mean mode?");
    expect_parse_error("unknown key in layers[1]",
                       "{" SYNTH ", \"descriptor\": {\"layers\": [{\"type\": \"conv\", \"filters\": 8, \"kernel\": 3},"
                       " {\"type\": \"fc\", \"filters\": 4, \"activaton\": \"none\"}]}}",
                       NULL, "unknown key descriptor.layers[1].activaton", "did you mean descriptor.layers[1].activation?");
    expect_parse_error("key one level too high", "{" SYNTH ", \"descriptor\": {\"lr\": 0.1}}", NULL,
                       "unknown key descriptor.lr", "did you mean descriptor.optimizer.lr?");
    expect_parse_error("wrong type", "{" SYNTH ", \"descriptor\": {\"langevin\": {\"steps\": \"many\"}}}", NULL,
                       "descriptor.langevin.steps must be an integer, got a string", NULL);
    expect_parse_error("fraction for an integer", "{" SYNTH ", \"training\": {\"batch_size\": 2.5}}", NULL,
                       "training.batch_size must be an integer, got a number (2.5)", NULL);
    expect_parse_error("object expected", "{\"data\": [1, 2]}", NULL, "data must be an object, got a list", NULL);
    expect_parse_error("out of range: stride", "{" TINY16 ", " TINY_D ", " TINY_G(8) "}",
                       "generator.layers[2].stride=0", "generator.layers[2].stride must be >= 1, got 0", NULL);
    expect_parse_error("out of range: lr", "{" SYNTH ", \"descriptor\": {\"optimizer\": {\"lr\": 0}}}", NULL,
                       "descriptor.optimizer.lr must be > 0, got 0", NULL);
    expect_parse_error("out of range: beta", "{" SYNTH ", \"generator\": {\"optimizer\": {\"beta2\": 1}}}", NULL,
                       "generator.optimizer.beta2 must be in [0, 1), got 1", NULL);
    expect_parse_error("out of range: channels", "{\"data\": {\"kind\": \"synthetic\", \"channels\": 2}}", NULL,
                       "data.channels must be 1 or 3, got 2", NULL);
    expect_parse_error("out of range: image_size", "{\"data\": {\"kind\": \"synthetic\", \"image_size\": 3}}", NULL,
                       "data.image_size must be >= 4, got 3", NULL);
    expect_parse_error("bad enum", "{\"data\": {\"kind\": \"png\"}}", NULL, "data.kind must be one of",
                       "\"idx\", \"folder\", \"categories\", \"texture\", \"synthetic\", got a string (\"png\")");
    expect_parse_error("bad layer type", "{" SYNTH ", \"generator\": {\"layers\": [{\"type\": \"conv\"}]}}", NULL,
                       "generator.layers[0].type must be one of \"deconv\" here, got \"conv\"", NULL);
    expect_parse_error("key not for this layer kind",
                       "{" SYNTH ", \"descriptor\": {\"layers\": [{\"type\": \"fc\", \"filters\": 3, \"kernel\": 2}]}}",
                       NULL, "descriptor.layers[0].kernel does not apply to fc layers", NULL);
    expect_parse_error("missing layer key",
                       "{" SYNTH ", \"descriptor\": {\"layers\": [{\"type\": \"conv\", \"kernel\": 2}]}}", NULL,
                       "descriptor.layers[0].filters is missing", NULL);
    expect_parse_error("no layers", "{" SYNTH ", \"descriptor\": {\"layers\": []}}", NULL,
                       "descriptor.layers has 0 layers; give 1 to 16", NULL);
    expect_parse_error("key given twice", "{" SYNTH ", \"seed\": 1, \"seed\": 2}", NULL, "seed is given twice", NULL);
    expect_parse_error("missing data.path", "{\"data\": {\"kind\": \"folder\"}}", NULL,
                       "data.path is required for data.kind \"folder\"", NULL);
    expect_parse_error("generator output mismatch",
                       "{\"data\": {\"kind\": \"synthetic\", \"image_size\": 32}}", NULL,
                       "generator output is 1x28x28 but data is 1x32x32 (generator.layers[3])", NULL);
    expect_parse_error("impossible deconv output", "{" TINY16 ", " TINY_D ", " TINY_G(9) "}", NULL,
                       "generator.layers[1].output_size 9 is impossible", "maps 9x9 to 5x5, not to the layer's 4x4");
    expect_parse_error("VALID conv too large",
                       "{" SYNTH ", \"descriptor\": {\"layers\": [{\"type\": \"conv\", \"filters\": 8, \"kernel\": 30,"
                       " \"padding\": \"valid\"}]}}",
                       NULL, "descriptor.layers[0]: its 30x30 VALID kernel does not fit its 28x28 input", NULL);
    expect_parse_error("preset and layers", "{" TINY16 ", \"descriptor\": {\"preset\": \"mnist28\", \"layers\": ["
                       "{\"type\": \"fc\", \"filters\": 3}]}}", NULL,
                       "descriptor.preset \"mnist28\" and descriptor.layers are both given", "descriptor.layers[0]");
    expect_parse_error("texture preset size", "{\"data\": {\"kind\": \"synthetic\", \"image_size\": 48},"
                       " \"generator\": {\"preset\": \"texture\"}}", NULL,
                       "generator.preset \"texture\" needs data.image_size to be a multiple of 32", NULL);
    expect_parse_error("mode and chain_init", "{" SYNTH ", \"mode\": \"descriptor\", \"descriptor\": {\"chain_init\": \"generator\"}}",
                       NULL, "descriptor.chain_init \"generator\" needs mode \"coop\"", NULL);
    expect_parse_error("chain_init in mode coop", "{" SYNTH ", \"descriptor\": {\"chain_init\": \"noise\"}}", NULL,
                       "descriptor.chain_init must be \"generator\" in mode \"coop\"", NULL);
    /* chain_init left out follows the mode: noise in mode descriptor, the generator in mode coop. */
    CHECK_OK(cn_config_parse("{" SYNTH ", \"mode\": \"descriptor\"}", "t.json", NULL, 0, &c, TE));
    CHECK(c.descriptor.chain_init == CN_CHAINS_NOISE, "mode descriptor without chain_init: chains from %d, want noise",
          (int)c.descriptor.chain_init);
    CHECK_OK(cn_config_parse("{" SYNTH "}", "t.json", NULL, 0, &c, TE));
    CHECK(c.descriptor.chain_init == CN_CHAINS_GENERATOR, "mode coop: chains from %d, want the generator",
          (int)c.descriptor.chain_init);
    expect_parse_error("bad override key", "{" SYNTH "}", "descriptor.optimizer.lrr=0.1",
                       "override \"descriptor.optimizer.lrr=0.1\": unknown key descriptor.optimizer.lrr",
                       "did you mean descriptor.optimizer.lr?");
    expect_parse_error("override without =", "{" SYNTH "}", "seed", "override \"seed\": expected KEY=VALUE", NULL);
    expect_parse_error("override into a preset", "{" SYNTH "}", "descriptor.layers[1].stride=1",
                       "descriptor.layers is not a list in this config", NULL);
    expect_parse_error("override past the list", "{" TINY16 ", " TINY_D ", " TINY_G(8) "}",
                       "descriptor.layers[5].stride=1", "descriptor.layers[5] does not exist (descriptor.layers has 3",
                       NULL);
    expect_parse_error("override of a bad type", "{" SYNTH "}", "training.chains=lots",
                       "training.chains must be an integer, got a string (\"lots\")", NULL);
    expect_parse_error("malformed JSON", "{\n  \"mode\": \"coop\",\n  \"seed\": ,\n}", NULL,
                       "invalid JSON at line 3, column", NULL);
    expect_parse_error("truncated JSON", "{\n  \"mode\": \"coop\",\n", NULL, "invalid JSON: the text ends at line 3",
                       NULL);
    expect_parse_error("top level not an object", "[1]", NULL, "the top level must be an object", NULL);

    /* A descriptor-only config need not carry a generator that fits its images. */
    CHECK_OK(cn_config_parse("{\"mode\": \"descriptor\", \"data\": {\"kind\": \"synthetic\", \"image_size\": 32},"
                             " \"descriptor\": {\"chain_init\": \"noise\"}}",
                             "t.json", NULL, 0, &c, TE));

    /* Validation of a struct built in code names the same key paths. */
    load_shipped("faces", NULL, 0, &c);
    c.generator.layers[2].stride = 0;
    cn_error e = {0};
    expect_error("validate: stride", cn_config_validate(&c, &e), CN_ERR_CONFIG, &e,
                 "faces.json: generator.layers[2].stride must be >= 1, got 0", NULL);

    /* Files: missing, and bad JSON with its line. */
    char path[1024];
    repo_path(path, sizeof path, "configs/no_such_config.json");
    memset(&e, 0, sizeof e);
    expect_error("file not found", cn_config_load(path, NULL, 0, &c, &e), CN_ERR_IO, &e, "no_such_config.json",
                 "No such file");
    repo_path(path, sizeof path, "tests/configs/bad_syntax.json");
    memset(&e, 0, sizeof e);
    expect_error("bad JSON file", cn_config_load(path, NULL, 0, &c, &e), CN_ERR_CONFIG, &e,
                 "bad_syntax.json: invalid JSON at line 4", NULL);
}

int main(void) {
    test_defaults();
    test_shipped_configs();
    test_tiny_values();
    test_presets();
    test_overrides();
    test_round_trip_every_field();
    test_errors();
    return cn_test_finish();
}
