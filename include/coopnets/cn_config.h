/* cn_config: a training run described as JSON, parsed (cJSON), filled with the reference
 * defaults of DESIGN §3, and validated with key paths in every message:
 *   "config faces.json: generator.layers[2].stride must be >= 1". */
#ifndef CN_CONFIG_H
#define CN_CONFIG_H

#include <stdint.h>

#include "coopnets/cn_error.h"

#define CN_MAX_LAYERS 16
#define CN_PATH_MAX 1024

typedef enum { CN_MODE_COOP, CN_MODE_DESCRIPTOR, CN_MODE_GENERATOR } cn_mode;
typedef enum { CN_DATA_IDX, CN_DATA_FOLDER, CN_DATA_CATEGORIES, CN_DATA_TEXTURE, CN_DATA_SYNTHETIC } cn_data_kind;
typedef enum { CN_SCALE_MINMAX, CN_SCALE_FIXED } cn_scaling;
typedef enum { CN_LAYER_CONV, CN_LAYER_DECONV, CN_LAYER_FC, CN_LAYER_KIND_COUNT } cn_layer_kind;
typedef enum { CN_PAD_SAME, CN_PAD_VALID } cn_padding;
typedef enum { CN_ACT_NONE, CN_ACT_RELU, CN_ACT_LEAKY_RELU, CN_ACT_TANH } cn_activation;
typedef enum { CN_CHAINS_GENERATOR, CN_CHAINS_NOISE, CN_CHAINS_PERSISTENT } cn_chain_init;

typedef struct cn_data_config {
    cn_data_kind kind;
    char path[CN_PATH_MAX];        /* IDX images file, folder, or texture image */
    char labels_path[CN_PATH_MAX]; /* IDX labels file (optional, "" when none) */
    int image_size;                /* square images: h = w = image_size */
    int channels;                  /* 1 or 3 */
    cn_scaling scaling;            /* minmax: each image to [-1, 1] on its own (reference); fixed: v/127.5 - 1 */
    int limit;                     /* use at most this many images (0: all) */
    int texture_copies;            /* texture: the observed batch repeats the one image this many times */
} cn_data_config;

typedef struct cn_layer_config {
    cn_layer_kind kind;
    int filters;       /* output channels (fc: output units) */
    int kernel;        /* square kernel size (fc: ignored, covers the input) */
    int stride;
    cn_padding padding;
    int output_size;   /* deconv: spatial output size; 0 means in*stride (SAME) or (in-1)*stride+k (VALID) */
    int batchnorm;     /* batch norm (batch statistics, learnable shift) after the layer */
    int bn_scale;      /* batch norm also learns a scale */
    cn_activation activation;
} cn_layer_config;

/* Adam, with an optional step schedule: iteration t (from 0) runs at
 * lr * decay_factor^floor(t / decay_every), as the reference's per-100-iteration rate vectors do. */
typedef struct cn_optimizer_config {
    double lr, beta1, beta2, eps;
    int decay_every;     /* iterations per step of the schedule; 0: a constant rate */
    double decay_factor; /* in (0, 1] */
} cn_optimizer_config;

typedef struct cn_descriptor_config {
    char preset[32];   /* "mnist28", "scene64", "texture", or "" for an explicit list */
    int layer_count;
    cn_layer_config layers[CN_MAX_LAYERS];
    double leaky_slope;
    double weight_std;           /* conv weights ~ N(0, weight_std^2) */
    int langevin_steps;          /* l_D */
    double langevin_step_size;   /* delta */
    double refsig;               /* s */
    int langevin_noise;
    cn_chain_init chain_init;    /* descriptor mode: noise or persistent chains */
    cn_optimizer_config optimizer;
    int updates_per_iteration;
} cn_descriptor_config;

typedef struct cn_generator_config {
    char preset[32];
    int latent_channels, latent_size; /* h has shape [latent_channels, latent_size, latent_size] */
    int layer_count;
    cn_layer_config layers[CN_MAX_LAYERS];
    double leaky_slope;
    double weight_std;
    double bn_eps;
    int langevin_steps;          /* l_G (0 in the reference code) */
    double langevin_step_size;   /* delta_G */
    double sigma;                /* generator noise sigma */
    int langevin_noise;
    cn_optimizer_config optimizer;
    int updates_per_iteration;
} cn_generator_config;

typedef struct cn_training_config {
    int batch_size;     /* n observed images per iteration */
    int chains;         /* M synthesized chains */
    int epochs;         /* 0: use iterations */
    int iterations;     /* 0: use epochs */
    char output[CN_PATH_MAX];
    int log_every, sample_every, checkpoint_every;
    int keep_checkpoints;
    int max_retries;            /* divergence guard: rollbacks before giving up */
    double retry_lr_factor;     /* each rollback multiplies the descriptor lr by this */
    int tensorboard;            /* write a TensorBoard event file into the run folder */
} cn_training_config;

typedef struct cn_config {
    char source[CN_PATH_MAX];   /* the file it came from, for messages */
    cn_mode mode;
    uint64_t seed;
    cn_data_config data;
    cn_descriptor_config descriptor;
    cn_generator_config generator;
    cn_training_config training;
} cn_config;

/* The defaults of DESIGN §2–3 (28×28 nets, reference Langevin and Adam settings). */
void cn_config_defaults(cn_config *c);

/* Parses a JSON file. Overrides are "key.path=value" strings applied before validation (value is
 * JSON, or a bare string). Errors are CN_ERR_CONFIG naming the file and the key path; an unknown
 * key is an error. Presets expand into layers. */
cn_status cn_config_load(const char *path, const char *const *overrides, int override_count, cn_config *c,
                         cn_error *e);
cn_status cn_config_parse(const char *json_text, const char *source_name, const char *const *overrides,
                          int override_count, cn_config *c, cn_error *e);
/* Checks ranges and that the nets fit the images (descriptor input, generator output). */
cn_status cn_config_validate(const cn_config *c, cn_error *e);
/* The resolved config as JSON (malloc'd), parseable by cn_config_parse into the same values. */
char *cn_config_to_json(const cn_config *c);

const char *cn_mode_name(cn_mode m);

#endif
