/* cn_config: the reference defaults, validation (ranges from the schema, then the rules that tie
 * keys together: data needs, mode, and the shapes each net produces), and the config as JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"

#define PATH_SIZE 256
#define AT(base, offset, T) ((const T *)((base) + (offset)))
/* The largest spatial size a layer may produce; beyond it sizes are a typo, not an image. */
#define MAX_SPATIAL 65536

void cn_config_defaults(cn_config *c) {
    memset(c, 0, sizeof *c);
    c->mode = CN_MODE_COOP;
    c->seed = 1;
    c->data = (cn_data_config){.kind = CN_DATA_IDX, .image_size = 28, .channels = 1, .scaling = CN_SCALE_MINMAX,
                               .texture_copies = 1};
    cn_descriptor_config *d = &c->descriptor;
    snprintf(d->preset, sizeof d->preset, "mnist28");
    d->layer_count = cn_preset_layers(d->preset, 0, c->data.channels, d->layers);
    d->leaky_slope = 0.2;
    d->weight_std = 0.01;
    d->langevin_steps = 15;
    d->langevin_step_size = 0.002;
    d->refsig = 0.016;
    d->langevin_noise = 1;
    d->chain_init = CN_CHAINS_GENERATOR;
    d->optimizer = (cn_optimizer_config){.lr = 0.007, .beta1 = 0.5, .beta2 = 0.999, .eps = 1e-8,
                                       .decay_factor = 0.1};
    d->updates_per_iteration = 1;
    cn_generator_config *g = &c->generator;
    snprintf(g->preset, sizeof g->preset, "mnist28");
    cn_preset_latent(g->preset, c->data.image_size, &g->latent_channels, &g->latent_size);
    g->layer_count = cn_preset_layers(g->preset, 1, c->data.channels, g->layers);
    g->leaky_slope = 0.2;
    g->weight_std = 0.005;
    g->bn_eps = 1e-3;
    g->langevin_steps = 0;
    g->langevin_step_size = 0.1;
    g->sigma = 0.3;
    g->langevin_noise = 1;
    g->optimizer = (cn_optimizer_config){.lr = 1e-4, .beta1 = 0.5, .beta2 = 0.999, .eps = 1e-8,
                                       .decay_factor = 0.1};
    g->updates_per_iteration = 1;
    c->training = (cn_training_config){.batch_size = 100, .chains = 144, .epochs = 0, .iterations = 1000,
                                       .log_every = 10, .sample_every = 100, .checkpoint_every = 100,
                                       .keep_checkpoints = 3, .max_retries = 3, .retry_lr_factor = 0.5,
                                       .tensorboard = 1};
    snprintf(c->training.output, sizeof c->training.output, "runs/coopnets");
}

const char *cn_mode_name(cn_mode m) {
    const char *const *names = cn_field_find(cn_config_schema, "mode")->names;
    return m >= CN_MODE_COOP && m <= CN_MODE_GENERATOR ? names[m] : "unknown";
}

/* ---- validation ----------------------------------------------------------------------------------- */

static int name_count(const char *const *names) {
    int n = 0;
    while (names[n]) n++;
    return n;
}

static int in_range(const cn_field *f, double v) {
    switch (f->range) {
    case CN_RANGE_ANY: return 1;
    case CN_RANGE_AT_LEAST: return v >= f->bound;
    case CN_RANGE_ABOVE: return v > f->bound;
    case CN_RANGE_UNIT: return v >= 0 && v < 1;
    case CN_RANGE_FRACTION: return v > 0 && v <= 1;
    }
    return 0;
}

static void range_text(const cn_field *f, char *out, size_t size) {
    switch (f->range) {
    case CN_RANGE_AT_LEAST: snprintf(out, size, ">= %g", f->bound); break;
    case CN_RANGE_ABOVE: snprintf(out, size, "> %g", f->bound); break;
    case CN_RANGE_UNIT: snprintf(out, size, "in [0, 1)"); break;
    case CN_RANGE_FRACTION: snprintf(out, size, "in (0, 1]"); break;
    case CN_RANGE_ANY: snprintf(out, size, "any value"); break;
    }
}

typedef struct checker {
    const char *source;
    cn_error *e;
} checker;

static cn_status check_fields(const checker *k, const cn_field *fields, const char *base, const char *path,
                              int layer_kind);

static cn_status check_layers(const checker *k, const cn_field *f, const char *base, const char *path) {
    int count = *AT(base, f->count_offset, int);
    if (count < 1 || count > CN_MAX_LAYERS)
        return cn_config_fail(k->e, k->source, "%s has %d layers; give 1 to %d", path, count, CN_MAX_LAYERS);
    const cn_layer_config *layers = AT(base, f->offset, cn_layer_config);
    for (int i = 0; i < count; i++) {
        char layer_path[PATH_SIZE];
        cn_path_index(layer_path, sizeof layer_path, path, i);
        int kind = (int)layers[i].kind;
        if (kind < 0 || kind >= CN_LAYER_KIND_COUNT || !(f->kinds & CN_KIND_BIT(kind))) {
            char allowed[64];
            cn_kinds_list(f->kinds, allowed, sizeof allowed);
            return cn_config_fail(k->e, k->source, "%s.type must be one of %s here, got %s", layer_path, allowed,
                                  kind >= 0 && kind < CN_LAYER_KIND_COUNT ? cn_layer_kind_names[kind] : "an unknown kind");
        }
        CN_TRY(check_fields(k, cn_layer_schema, (const char *)&layers[i], layer_path, kind));
        if (layers[i].bn_scale && !layers[i].batchnorm)
            return cn_config_fail(k->e, k->source, "%s.bn_scale needs %s.batchnorm", layer_path, layer_path);
    }
    return CN_OK;
}

/* One key's value against the schema: range, allowed names, a terminated string. */
static cn_status check_field(const checker *k, const cn_field *f, const char *base, const char *path) {
    char range[32], list[256];
    range_text(f, range, sizeof range);
    switch (f->type) {
    case CN_FIELD_INT: {
        int v = *AT(base, f->offset, int);
        if (!in_range(f, v)) return cn_config_fail(k->e, k->source, "%s must be %s, got %d", path, range, v);
        return CN_OK;
    }
    case CN_FIELD_DOUBLE: {
        double v = *AT(base, f->offset, double);
        if (!in_range(f, v)) return cn_config_fail(k->e, k->source, "%s must be %s, got %g", path, range, v);
        return CN_OK;
    }
    case CN_FIELD_BOOL: {
        int v = *AT(base, f->offset, int);
        if (v != 0 && v != 1) return cn_config_fail(k->e, k->source, "%s must be 0 or 1, got %d", path, v);
        return CN_OK;
    }
    case CN_FIELD_STRING: {
        const char *v = AT(base, f->offset, char);
        if (!memchr(v, '\0', f->capacity))
            return cn_config_fail(k->e, k->source, "%s is not terminated within %zu bytes", path, f->capacity);
        for (int i = 0; f->names && f->names[i]; i++)
            if (strcmp(v, f->names[i]) == 0) return CN_OK;
        if (!f->names) return CN_OK;
        cn_names_list(f->names, list, sizeof list);
        return cn_config_fail(k->e, k->source, "%s must be one of %s, got \"%s\"", path, list, v);
    }
    case CN_FIELD_ENUM: {
        int v = *AT(base, f->offset, int);
        if (v >= 0 && v < name_count(f->names)) return CN_OK;
        cn_names_list(f->names, list, sizeof list);
        return cn_config_fail(k->e, k->source, "%s must be one of %s, got the value %d", path, list, v);
    }
    case CN_FIELD_SEED: return CN_OK;
    case CN_FIELD_OBJECT: return check_fields(k, f->children, base + f->offset, path, -1);
    case CN_FIELD_LAYERS: return check_layers(k, f, base, path);
    }
    return CN_OK;
}

static cn_status check_fields(const checker *k, const cn_field *fields, const char *base, const char *path,
                              int layer_kind) {
    for (const cn_field *f = fields; f->key; f++) {
        if (layer_kind >= 0 && f->kinds && !(f->kinds & CN_KIND_BIT(layer_kind))) continue;
        char child_path[PATH_SIZE];
        cn_path_key(child_path, sizeof child_path, path, f->key);
        CN_TRY(check_field(k, f, base, child_path));
    }
    return CN_OK;
}

/* Walks the descriptor from the image down; SAME convs give ceil(in/stride), VALID ones need the
 * kernel to fit; fc covers whatever is left. */
static cn_status check_descriptor_shapes(const checker *k, const cn_config *c) {
    const cn_descriptor_config *d = &c->descriptor;
    long long size = c->data.image_size;
    for (int i = 0; i < d->layer_count; i++) {
        const cn_layer_config *l = &d->layers[i];
        if (l->kind == CN_LAYER_FC) {
            size = 1;
        } else if (l->padding == CN_PAD_SAME) {
            size = (size + l->stride - 1) / l->stride;
        } else if (size < l->kernel) {
            return cn_config_fail(k->e, k->source,
                                  "descriptor.layers[%d]: its %dx%d VALID kernel does not fit its %lldx%lld input", i,
                                  l->kernel, l->kernel, size, size);
        } else {
            size = (size - l->kernel) / l->stride + 1;
        }
    }
    return CN_OK;
}

/* Walks the generator from the latent map up. Each deconv is the adjoint of a conv, so its output
 * size must be one that conv maps back onto the layer's input. */
static cn_status check_generator_shapes(const checker *k, const cn_config *c) {
    const cn_generator_config *g = &c->generator;
    long long channels = g->latent_channels, size = g->latent_size;
    for (int i = 0; i < g->layer_count; i++) {
        const cn_layer_config *l = &g->layers[i];
        int same = l->padding == CN_PAD_SAME;
        long long out = l->output_size ? l->output_size : same ? size * l->stride : (size - 1) * l->stride + l->kernel;
        if (out > MAX_SPATIAL)
            return cn_config_fail(k->e, k->source, "generator.layers[%d] grows the image to %lldx%lld: too large", i,
                                  out, out);
        if (!same && out < l->kernel)
            return cn_config_fail(k->e, k->source,
                                  "generator.layers[%d].output_size %lld is smaller than its VALID kernel (%d)", i, out,
                                  l->kernel);
        long long back = same ? (out + l->stride - 1) / l->stride : (out - l->kernel) / l->stride + 1;
        if (back != size)
            return cn_config_fail(k->e, k->source,
                                  "generator.layers[%d].output_size %lld is impossible: the %s conv it is the adjoint "
                                  "of (kernel %d, stride %d) maps %lldx%lld to %lldx%lld, not to the layer's "
                                  "%lldx%lld input",
                                  i, out, same ? "SAME" : "VALID", l->kernel, l->stride, out, out, back, back, size,
                                  size);
        size = out;
        channels = l->filters;
    }
    if (channels != c->data.channels || size != c->data.image_size)
        return cn_config_fail(k->e, k->source, "generator output is %lldx%lldx%lld but data is %dx%dx%d (generator.layers[%d])",
                              channels, size, size, c->data.channels, c->data.image_size, c->data.image_size,
                              g->layer_count - 1);
    return CN_OK;
}

static int uses_descriptor(const cn_config *c) { return c->mode != CN_MODE_GENERATOR; }
static int uses_generator(const cn_config *c) { return c->mode != CN_MODE_DESCRIPTOR; }

/* Rules between keys, after every key has passed its own range check. */
static cn_status check_rules(const checker *k, const cn_config *c) {
    const cn_data_config *data = &c->data;
    const char *kind = cn_field_find(cn_field_find(cn_config_schema, "data")->children, "kind")->names[data->kind];
    if (data->channels != 1 && data->channels != 3)
        return cn_config_fail(k->e, k->source, "data.channels must be 1 or 3, got %d", data->channels);
    if (data->kind != CN_DATA_SYNTHETIC && !data->path[0])
        return cn_config_fail(k->e, k->source, "data.path is required for data.kind \"%s\"", kind);
    if (data->kind != CN_DATA_IDX && data->labels_path[0])
        return cn_config_fail(k->e, k->source, "data.labels applies to data.kind \"idx\" only, not \"%s\"", kind);
    if (!c->training.output[0]) return cn_config_fail(k->e, k->source, "training.output must not be empty");
    if (c->training.epochs == 0 && c->training.iterations == 0)
        return cn_config_fail(k->e, k->source, "training.epochs and training.iterations are both 0: set one of them");
    cn_chain_init chains = c->descriptor.chain_init;
    if (c->mode == CN_MODE_COOP && chains != CN_CHAINS_GENERATOR)
        return cn_config_fail(k->e, k->source,
                              "descriptor.chain_init must be \"generator\" in mode \"coop\" (\"noise\" and "
                              "\"persistent\" are for mode \"descriptor\")");
    if (c->mode == CN_MODE_DESCRIPTOR && chains == CN_CHAINS_GENERATOR)
        return cn_config_fail(k->e, k->source,
                              "descriptor.chain_init \"generator\" needs mode \"coop\"; in mode \"descriptor\" use "
                              "\"noise\" or \"persistent\"");
    if (c->mode == CN_MODE_GENERATOR && c->generator.langevin_steps < 1)
        return cn_config_fail(k->e, k->source,
                              "generator.langevin.steps must be >= 1 in mode \"generator\" (it infers the latent of "
                              "each training image), got %d",
                              c->generator.langevin_steps);
    if (uses_descriptor(c)) CN_TRY(check_descriptor_shapes(k, c));
    if (uses_generator(c)) CN_TRY(check_generator_shapes(k, c));
    return CN_OK;
}

cn_status cn_config_validate(const cn_config *c, cn_error *e) {
    if (!c) return cn_error_set(e, CN_ERR_ARG, "cn_config_validate: no config");
    checker k = {memchr(c->source, '\0', sizeof c->source) ? c->source : "(unnamed)", e};
    /* The net a mode does not train is not checked: a descriptor-only config need not carry a
     * generator that fits its images. */
    for (const cn_field *f = cn_config_schema; f->key; f++) {
        if ((!uses_descriptor(c) && strcmp(f->key, "descriptor") == 0) ||
            (!uses_generator(c) && strcmp(f->key, "generator") == 0))
            continue;
        CN_TRY(check_field(&k, f, (const char *)c, f->key));
    }
    return check_rules(&k, c);
}

/* ---- the config as JSON ---------------------------------------------------------------------------- */

static cJSON *emit_fields(const cn_field *fields, const char *base, int layer_kind);

static cJSON *emit_layers(const cn_field *f, const char *base) {
    cJSON *list = cJSON_CreateArray();
    int count = *AT(base, f->count_offset, int);
    const cn_layer_config *layers = AT(base, f->offset, cn_layer_config);
    for (int i = 0; list && i < count && i < CN_MAX_LAYERS; i++) {
        int kind = layers[i].kind >= CN_LAYER_CONV && layers[i].kind < CN_LAYER_KIND_COUNT ? (int)layers[i].kind : -1;
        cJSON *layer = emit_fields(cn_layer_schema, (const char *)&layers[i], kind);
        if (!layer || !cJSON_AddItemToArray(list, layer)) {
            cJSON_Delete(layer);
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

static cJSON *emit_field(const cn_field *f, const char *base) {
    switch (f->type) {
    case CN_FIELD_INT: return cJSON_CreateNumber(*AT(base, f->offset, int));
    case CN_FIELD_DOUBLE: return cJSON_CreateNumber(*AT(base, f->offset, double));
    case CN_FIELD_BOOL: return cJSON_CreateBool(*AT(base, f->offset, int));
    case CN_FIELD_STRING: {
        char text[CN_PATH_MAX + 1];
        snprintf(text, sizeof text, "%.*s", (int)f->capacity, AT(base, f->offset, char));
        return cJSON_CreateString(text);
    }
    case CN_FIELD_ENUM: {
        int v = *AT(base, f->offset, int);
        /* An out-of-range value stays a number, which parsing then rejects by name. */
        return v >= 0 && v < name_count(f->names) ? cJSON_CreateString(f->names[v]) : cJSON_CreateNumber(v);
    }
    case CN_FIELD_SEED: {
        uint64_t v = *AT(base, f->offset, uint64_t);
        if (v <= (1ull << 53)) return cJSON_CreateNumber((double)v);
        char text[24];
        snprintf(text, sizeof text, "%llu", (unsigned long long)v);
        return cJSON_CreateString(text);
    }
    case CN_FIELD_OBJECT: return emit_fields(f->children, base + f->offset, -1);
    case CN_FIELD_LAYERS: return emit_layers(f, base);
    }
    return NULL;
}

/* Keys in schema order; a layer gets only the keys that apply to its kind. */
static cJSON *emit_fields(const cn_field *fields, const char *base, int layer_kind) {
    cJSON *obj = cJSON_CreateObject();
    for (const cn_field *f = fields; obj && f->key; f++) {
        if (layer_kind >= 0 && f->kinds && !(f->kinds & CN_KIND_BIT(layer_kind))) continue;
        cJSON *item = emit_field(f, base);
        if (!item || !cJSON_AddItemToObject(obj, f->key, item)) {
            cJSON_Delete(item);
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

char *cn_config_to_json(const cn_config *c) {
    if (!c) return NULL;
    cJSON *root = emit_fields(cn_config_schema, (const char *)c, -1);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}
