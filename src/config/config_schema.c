/* The schema: every JSON key of a config, where it lives in cn_config and what it may hold.
 * docs/config.md describes the same keys for people; keep the two in step. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

/* Enum fields are read and written through int pointers. */
_Static_assert(sizeof(cn_mode) == sizeof(int) && sizeof(cn_layer_kind) == sizeof(int), "enums must be int-sized");

static const char *const mode_names[] = {"coop", "descriptor", "generator", NULL};
static const char *const data_kind_names[] = {"idx", "folder", "categories", "texture", "synthetic", NULL};
static const char *const scaling_names[] = {"minmax", "fixed", NULL};
static const char *const padding_names[] = {"same", "valid", NULL};
static const char *const activation_names[] = {"none", "relu", "leaky_relu", "tanh", NULL};
static const char *const chain_init_names[] = {"generator", "noise", "persistent", NULL};
static const char *const preset_names[] = {"", "mnist28", "scene64", "texture", NULL};
const char *const cn_layer_kind_names[] = {"conv", "deconv", "fc", NULL};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define F_INT(k, T, m, r, b) {.key = k, .type = CN_FIELD_INT, .offset = offsetof(T, m), .range = r, .bound = b}
#define F_DOUBLE(k, T, m, r, b) {.key = k, .type = CN_FIELD_DOUBLE, .offset = offsetof(T, m), .range = r, .bound = b}
#define F_BOOL(k, T, m) {.key = k, .type = CN_FIELD_BOOL, .offset = offsetof(T, m)}
#define F_STRING(k, T, m, allowed) \
    {.key = k, .type = CN_FIELD_STRING, .offset = offsetof(T, m), .capacity = MEMBER_SIZE(T, m), .names = allowed}
#define F_ENUM(k, T, m, n) {.key = k, .type = CN_FIELD_ENUM, .offset = offsetof(T, m), .names = n}
#define F_OBJECT(k, off, kids) {.key = k, .type = CN_FIELD_OBJECT, .offset = off, .children = kids}
#define F_LAYERS(k, T, allowed)                                                                          \
    {.key = k, .type = CN_FIELD_LAYERS, .offset = offsetof(T, layers), .count_offset = offsetof(T, layer_count), \
     .children = cn_layer_schema, .kinds = allowed}
#define F_END {.key = NULL}

#define CONV CN_KIND_BIT(CN_LAYER_CONV)
#define DECONV CN_KIND_BIT(CN_LAYER_DECONV)
#define FC CN_KIND_BIT(CN_LAYER_FC)
#define ALL_KINDS (CONV | DECONV | FC)

/* A layer: "type" is read first (it decides which other keys apply); fc covers its whole input,
 * so kernel, stride and padding do not apply to it. */
const cn_field cn_layer_schema[] = {
    {.key = "type", .type = CN_FIELD_ENUM, .offset = offsetof(cn_layer_config, kind), .names = cn_layer_kind_names,
     .required = ALL_KINDS},
    {.key = "filters", .type = CN_FIELD_INT, .offset = offsetof(cn_layer_config, filters), .range = CN_RANGE_AT_LEAST,
     .bound = 1, .required = ALL_KINDS},
    {.key = "kernel", .type = CN_FIELD_INT, .offset = offsetof(cn_layer_config, kernel), .range = CN_RANGE_AT_LEAST,
     .bound = 1, .kinds = CONV | DECONV, .required = CONV | DECONV},
    {.key = "stride", .type = CN_FIELD_INT, .offset = offsetof(cn_layer_config, stride), .range = CN_RANGE_AT_LEAST,
     .bound = 1, .kinds = CONV | DECONV},
    {.key = "padding", .type = CN_FIELD_ENUM, .offset = offsetof(cn_layer_config, padding), .names = padding_names,
     .kinds = CONV | DECONV},
    {.key = "output_size", .type = CN_FIELD_INT, .offset = offsetof(cn_layer_config, output_size),
     .range = CN_RANGE_AT_LEAST, .bound = 0, .kinds = DECONV},
    {.key = "batchnorm", .type = CN_FIELD_BOOL, .offset = offsetof(cn_layer_config, batchnorm), .kinds = DECONV},
    {.key = "bn_scale", .type = CN_FIELD_BOOL, .offset = offsetof(cn_layer_config, bn_scale), .kinds = DECONV},
    {.key = "activation", .type = CN_FIELD_ENUM, .offset = offsetof(cn_layer_config, activation),
     .names = activation_names},
    F_END,
};

static const cn_field data_fields[] = {
    F_ENUM("kind", cn_data_config, kind, data_kind_names),
    F_STRING("path", cn_data_config, path, NULL),
    F_STRING("labels", cn_data_config, labels_path, NULL),
    F_INT("image_size", cn_data_config, image_size, CN_RANGE_AT_LEAST, 4),
    F_INT("channels", cn_data_config, channels, CN_RANGE_ANY, 0), /* 1 or 3: checked by validation */
    F_ENUM("scaling", cn_data_config, scaling, scaling_names),
    F_INT("limit", cn_data_config, limit, CN_RANGE_AT_LEAST, 0),
    F_INT("texture_copies", cn_data_config, texture_copies, CN_RANGE_AT_LEAST, 1),
    F_END,
};

static const cn_field optimizer_fields[] = {
    F_DOUBLE("lr", cn_optimizer_config, lr, CN_RANGE_ABOVE, 0),
    F_DOUBLE("beta1", cn_optimizer_config, beta1, CN_RANGE_UNIT, 0),
    F_DOUBLE("beta2", cn_optimizer_config, beta2, CN_RANGE_UNIT, 0),
    F_DOUBLE("eps", cn_optimizer_config, eps, CN_RANGE_ABOVE, 0),
    F_INT("decay_every", cn_optimizer_config, decay_every, CN_RANGE_AT_LEAST, 0),
    F_DOUBLE("decay_factor", cn_optimizer_config, decay_factor, CN_RANGE_FRACTION, 0),
    F_END,
};

static const cn_field descriptor_langevin_fields[] = {
    F_INT("steps", cn_descriptor_config, langevin_steps, CN_RANGE_AT_LEAST, 0),
    F_DOUBLE("step_size", cn_descriptor_config, langevin_step_size, CN_RANGE_ABOVE, 0),
    F_DOUBLE("refsig", cn_descriptor_config, refsig, CN_RANGE_ABOVE, 0),
    F_BOOL("noise", cn_descriptor_config, langevin_noise),
    F_END,
};

static const cn_field descriptor_fields[] = {
    F_STRING("preset", cn_descriptor_config, preset, preset_names),
    F_LAYERS("layers", cn_descriptor_config, CONV | FC),
    F_DOUBLE("leaky_slope", cn_descriptor_config, leaky_slope, CN_RANGE_UNIT, 0),
    F_DOUBLE("weight_std", cn_descriptor_config, weight_std, CN_RANGE_ABOVE, 0),
    F_OBJECT("langevin", 0, descriptor_langevin_fields),
    F_ENUM("chain_init", cn_descriptor_config, chain_init, chain_init_names),
    F_OBJECT("optimizer", offsetof(cn_descriptor_config, optimizer), optimizer_fields),
    F_INT("updates_per_iteration", cn_descriptor_config, updates_per_iteration, CN_RANGE_AT_LEAST, 1),
    F_END,
};

static const cn_field latent_fields[] = {
    F_INT("channels", cn_generator_config, latent_channels, CN_RANGE_AT_LEAST, 1),
    F_INT("size", cn_generator_config, latent_size, CN_RANGE_AT_LEAST, 1),
    F_END,
};

static const cn_field generator_langevin_fields[] = {
    F_INT("steps", cn_generator_config, langevin_steps, CN_RANGE_AT_LEAST, 0),
    F_DOUBLE("step_size", cn_generator_config, langevin_step_size, CN_RANGE_ABOVE, 0),
    F_DOUBLE("sigma", cn_generator_config, sigma, CN_RANGE_ABOVE, 0),
    F_BOOL("noise", cn_generator_config, langevin_noise),
    F_END,
};

static const cn_field generator_fields[] = {
    F_STRING("preset", cn_generator_config, preset, preset_names),
    F_OBJECT("latent", 0, latent_fields),
    F_LAYERS("layers", cn_generator_config, DECONV),
    F_DOUBLE("leaky_slope", cn_generator_config, leaky_slope, CN_RANGE_UNIT, 0),
    F_DOUBLE("weight_std", cn_generator_config, weight_std, CN_RANGE_ABOVE, 0),
    F_DOUBLE("bn_eps", cn_generator_config, bn_eps, CN_RANGE_ABOVE, 0),
    F_OBJECT("langevin", 0, generator_langevin_fields),
    F_OBJECT("optimizer", offsetof(cn_generator_config, optimizer), optimizer_fields),
    F_INT("updates_per_iteration", cn_generator_config, updates_per_iteration, CN_RANGE_AT_LEAST, 1),
    F_END,
};

static const cn_field training_fields[] = {
    F_INT("batch_size", cn_training_config, batch_size, CN_RANGE_AT_LEAST, 1),
    F_INT("chains", cn_training_config, chains, CN_RANGE_AT_LEAST, 1),
    F_INT("epochs", cn_training_config, epochs, CN_RANGE_AT_LEAST, 0),
    F_INT("iterations", cn_training_config, iterations, CN_RANGE_AT_LEAST, 0),
    F_STRING("output", cn_training_config, output, NULL),
    F_INT("log_every", cn_training_config, log_every, CN_RANGE_AT_LEAST, 1),
    F_INT("sample_every", cn_training_config, sample_every, CN_RANGE_AT_LEAST, 0),
    F_INT("checkpoint_every", cn_training_config, checkpoint_every, CN_RANGE_AT_LEAST, 0),
    F_INT("keep_checkpoints", cn_training_config, keep_checkpoints, CN_RANGE_AT_LEAST, 1),
    F_INT("max_retries", cn_training_config, max_retries, CN_RANGE_AT_LEAST, 0),
    F_DOUBLE("retry_lr_factor", cn_training_config, retry_lr_factor, CN_RANGE_FRACTION, 0),
    F_BOOL("tensorboard", cn_training_config, tensorboard),
    F_END,
};

const cn_field cn_config_schema[] = {
    F_ENUM("mode", cn_config, mode, mode_names),
    {.key = "seed", .type = CN_FIELD_SEED, .offset = offsetof(cn_config, seed)},
    F_OBJECT("data", offsetof(cn_config, data), data_fields),
    F_OBJECT("descriptor", offsetof(cn_config, descriptor), descriptor_fields),
    F_OBJECT("generator", offsetof(cn_config, generator), generator_fields),
    F_OBJECT("training", offsetof(cn_config, training), training_fields),
    F_END,
};

const cn_field *cn_field_find(const cn_field *fields, const char *key) {
    for (const cn_field *f = fields; f->key; f++)
        if (strcmp(f->key, key) == 0) return f;
    return NULL;
}

void cn_names_list(const char *const *names, char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; names[i] && used < size; i++) {
        int n = snprintf(out + used, size - used, "%s\"%s\"", i ? ", " : "", names[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
}

void cn_kinds_list(unsigned kinds, char *out, size_t size) {
    const char *names[CN_LAYER_KIND_COUNT + 1] = {NULL};
    int n = 0;
    for (int k = 0; cn_layer_kind_names[k]; k++)
        if (kinds & CN_KIND_BIT(k)) names[n++] = cn_layer_kind_names[k];
    cn_names_list(names, out, size);
}

cn_layer_config cn_layer_default(cn_layer_kind kind) {
    cn_layer_config l = {.kind = kind, .stride = 1, .padding = CN_PAD_SAME, .activation = CN_ACT_NONE};
    if (kind == CN_LAYER_FC) l.padding = CN_PAD_VALID;
    return l;
}

cn_status cn_config_fail(cn_error *e, const char *source, const char *fmt, ...) {
    char message[sizeof e->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return cn_error_set(e, CN_ERR_CONFIG, "config %s: %s", source && *source ? source : "(unnamed)", message);
}

void cn_path_key(char *out, size_t size, const char *parent, const char *key) {
    snprintf(out, size, "%s%s%s", parent, *parent ? "." : "", key);
}

void cn_path_index(char *out, size_t size, const char *parent, int index) {
    snprintf(out, size, "%s[%d]", parent, index);
}
