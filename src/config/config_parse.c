/* JSON text -> cn_config: syntax errors with line and column, overrides applied to the JSON tree,
 * every key read through the schema (unknown keys and wrong types named by their key path),
 * presets expanded, then the whole config validated. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define PATH_SIZE 256
#define CN_PRESET_SIZE sizeof(((cn_descriptor_config *)0)->preset)
_Static_assert(sizeof(((cn_generator_config *)0)->preset) == CN_PRESET_SIZE, "both nets name presets alike");
#define AT(base, offset, T) ((T *)((base) + (offset)))

typedef struct parser {
    const char *source;
    cn_error *e;
} parser;

/* "a string ("abc")", "a number (2.5)": what a value was, for type errors. */
static void describe(const cJSON *j, char *out, size_t size) {
    if (cJSON_IsString(j)) snprintf(out, size, "a string (\"%.40s\")", j->valuestring);
    else if (cJSON_IsNumber(j)) snprintf(out, size, "a number (%g)", j->valuedouble);
    else if (cJSON_IsBool(j)) snprintf(out, size, "a boolean (%s)", cJSON_IsTrue(j) ? "true" : "false");
    else if (cJSON_IsNull(j)) snprintf(out, size, "null");
    else if (cJSON_IsArray(j)) snprintf(out, size, "a list");
    else snprintf(out, size, "an object");
}

static cn_status wrong_type(const parser *p, const cJSON *j, const char *path, const char *wanted) {
    char got[96];
    describe(j, got, sizeof got);
    return cn_config_fail(p->e, p->source, "%s must be %s, got %s", path, wanted, got);
}

static cn_status not_one_of(const parser *p, const cJSON *j, const char *path, const char *const *names) {
    char list[256], got[96];
    cn_names_list(names, list, sizeof list);
    describe(j, got, sizeof got);
    return cn_config_fail(p->e, p->source, "%s must be one of %s, got %s", path, list, got);
}

/* Levenshtein distance of short keys (longer ones count as far apart). */
static int edit_distance(const char *a, const char *b) {
    enum { MAX = 40 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX) return MAX;
    int row[MAX + 1];
    for (size_t j = 0; j <= m; j++) row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diagonal = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int substitute = diagonal + (a[i - 1] != b[j - 1]);
            diagonal = row[j];
            int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = substitute < best ? substitute : best;
        }
    }
    return row[m];
}

/* An unknown key: suggest the same key one object further down ("descriptor.lr" ->
 * "descriptor.optimizer.lr"), else a near spelling, else list the keys this object takes. */
static cn_status unknown_key(const parser *p, const char *context, const cn_field *fields, const char *parent,
                             const char *key) {
    char path[PATH_SIZE], hint[512] = "", near[PATH_SIZE];
    cn_path_key(path, sizeof path, parent, key);
    const cn_field *closest = NULL;
    int closest_distance = INT_MAX;
    for (const cn_field *f = fields; f->key && !hint[0]; f++) {
        if (f->type == CN_FIELD_OBJECT && cn_field_find(f->children, key)) {
            char inner[PATH_SIZE];
            cn_path_key(inner, sizeof inner, parent, f->key);
            cn_path_key(near, sizeof near, inner, key);
            snprintf(hint, sizeof hint, " (did you mean %s?)", near);
        }
        int d = edit_distance(key, f->key);
        if (d < closest_distance) closest_distance = d, closest = f;
    }
    if (!hint[0] && closest && closest_distance <= 2 && closest_distance < (int)strlen(key)) {
        cn_path_key(near, sizeof near, parent, closest->key);
        snprintf(hint, sizeof hint, " (did you mean %s?)", near);
    }
    if (!hint[0]) {
        size_t used = (size_t)snprintf(hint, sizeof hint, " (known keys:");
        for (const cn_field *f = fields; f->key && used < sizeof hint; f++)
            used += (size_t)snprintf(hint + used, sizeof hint - used, " %s", f->key);
        if (used < sizeof hint) snprintf(hint + used, sizeof hint - used, ")");
    }
    return cn_config_fail(p->e, p->source, "%sunknown key %s%s", context, path, hint);
}

static cn_status read_int(const parser *p, const cJSON *j, const char *path, int *out) {
    if (!cJSON_IsNumber(j)) return wrong_type(p, j, path, "an integer");
    double v = j->valuedouble;
    if (v != floor(v) || v < INT_MIN || v > INT_MAX) return wrong_type(p, j, path, "an integer");
    *out = (int)v;
    return CN_OK;
}

static cn_status read_name(const parser *p, const cJSON *j, const char *path, const char *const *names, int *out) {
    if (cJSON_IsString(j))
        for (int i = 0; names[i]; i++)
            if (strcmp(j->valuestring, names[i]) == 0) {
                *out = i;
                return CN_OK;
            }
    return not_one_of(p, j, path, names);
}

/* A seed is any uint64: JSON numbers are exact up to 2^53, larger seeds come as decimal strings. */
static cn_status read_seed(const parser *p, const cJSON *j, const char *path, uint64_t *out) {
    const char *wanted = "a non-negative integer (a decimal string above 2^53)";
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (v != floor(v) || v < 0 || v > 9007199254740992.0) return wrong_type(p, j, path, wanted);
        *out = (uint64_t)v;
        return CN_OK;
    }
    if (cJSON_IsString(j) && isdigit((unsigned char)j->valuestring[0])) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(j->valuestring, &end, 10);
        if (*end == '\0' && errno == 0) {
            *out = (uint64_t)v;
            return CN_OK;
        }
    }
    return wrong_type(p, j, path, wanted);
}

static cn_status read_object(const parser *p, const cJSON *obj, const cn_field *fields, char *base, const char *path,
                             int layer_kind);

static cn_status read_layers(const parser *p, const cJSON *j, const cn_field *f, char *base, const char *path) {
    if (!cJSON_IsArray(j)) return wrong_type(p, j, path, "a list of layers");
    int n = cJSON_GetArraySize(j);
    if (n < 1 || n > CN_MAX_LAYERS)
        return cn_config_fail(p->e, p->source, "%s has %d layers; give 1 to %d", path, n, CN_MAX_LAYERS);
    cn_layer_config *layers = AT(base, f->offset, cn_layer_config);
    char allowed[64];
    cn_kinds_list(f->kinds, allowed, sizeof allowed);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, j) {
        char layer_path[PATH_SIZE], type_path[PATH_SIZE];
        cn_path_index(layer_path, sizeof layer_path, path, i);
        cn_path_key(type_path, sizeof type_path, layer_path, "type");
        if (!cJSON_IsObject(item)) return wrong_type(p, item, layer_path, "an object");
        /* The type comes first: it decides which keys the layer takes. */
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
        if (!type) return cn_config_fail(p->e, p->source, "%s is missing (one of %s)", type_path, allowed);
        int kind = 0;
        CN_TRY(read_name(p, type, type_path, cn_layer_kind_names, &kind));
        if (!(f->kinds & CN_KIND_BIT(kind)))
            return cn_config_fail(p->e, p->source, "%s must be one of %s here, got \"%s\"", type_path, allowed,
                                  type->valuestring);
        layers[i] = cn_layer_default((cn_layer_kind)kind);
        CN_TRY(read_object(p, item, cn_layer_schema, (char *)&layers[i], layer_path, kind));
        i++;
    }
    *AT(base, f->count_offset, int) = n;
    return CN_OK;
}

static cn_status read_field(const parser *p, const cJSON *j, const cn_field *f, char *base, const char *path) {
    switch (f->type) {
    case CN_FIELD_INT: return read_int(p, j, path, AT(base, f->offset, int));
    case CN_FIELD_DOUBLE:
        if (!cJSON_IsNumber(j)) return wrong_type(p, j, path, "a number");
        *AT(base, f->offset, double) = j->valuedouble;
        return CN_OK;
    case CN_FIELD_BOOL:
        if (!cJSON_IsBool(j)) return wrong_type(p, j, path, "true or false");
        *AT(base, f->offset, int) = cJSON_IsTrue(j);
        return CN_OK;
    case CN_FIELD_STRING: {
        if (!cJSON_IsString(j)) return wrong_type(p, j, path, "a string");
        size_t length = strlen(j->valuestring);
        if (length >= f->capacity)
            return cn_config_fail(p->e, p->source, "%s is too long (%zu characters, at most %zu)", path, length,
                                  f->capacity - 1);
        if (f->names) {
            int index;
            CN_TRY(read_name(p, j, path, f->names, &index));
        }
        /* Zero the whole buffer: no stale default bytes after the terminator (configs compare with memcmp). */
        memset(AT(base, f->offset, char), 0, f->capacity);
        memcpy(AT(base, f->offset, char), j->valuestring, length);
        return CN_OK;
    }
    case CN_FIELD_ENUM: return read_name(p, j, path, f->names, AT(base, f->offset, int));
    case CN_FIELD_SEED: return read_seed(p, j, path, AT(base, f->offset, uint64_t));
    case CN_FIELD_OBJECT:
        if (!cJSON_IsObject(j)) return wrong_type(p, j, path, "an object");
        return read_object(p, j, f->children, base + f->offset, path, -1);
    case CN_FIELD_LAYERS: return read_layers(p, j, f, base, path);
    }
    return cn_config_fail(p->e, p->source, "%s has no reader", path);
}

/* Reads every key of obj; layer_kind >= 0 when obj is a layer of that kind (some keys apply only
 * to some kinds, and some must be given). */
static cn_status read_object(const parser *p, const cJSON *obj, const cn_field *fields, char *base, const char *path,
                             int layer_kind) {
    char child_path[PATH_SIZE];
    for (const cJSON *item = obj->child; item; item = item->next) {
        cn_path_key(child_path, sizeof child_path, path, item->string);
        for (const cJSON *before = obj->child; before != item; before = before->next)
            if (strcmp(before->string, item->string) == 0)
                return cn_config_fail(p->e, p->source, "%s is given twice", child_path);
        const cn_field *f = cn_field_find(fields, item->string);
        if (!f) return unknown_key(p, "", fields, path, item->string);
        if (layer_kind >= 0 && f->kinds && !(f->kinds & CN_KIND_BIT(layer_kind)))
            return cn_config_fail(p->e, p->source, "%s does not apply to %s layers", child_path,
                                  cn_layer_kind_names[layer_kind]);
        CN_TRY(read_field(p, item, f, base, child_path));
    }
    if (layer_kind >= 0)
        for (const cn_field *f = fields; f->key; f++)
            if ((f->required & CN_KIND_BIT(layer_kind)) && !cJSON_GetObjectItemCaseSensitive(obj, f->key)) {
                cn_path_key(child_path, sizeof child_path, path, f->key);
                return cn_config_fail(p->e, p->source, "%s is missing (every %s layer needs it)", child_path,
                                      cn_layer_kind_names[layer_kind]);
            }
    return CN_OK;
}

/* ---- overrides: "a.b[2].c=VALUE" edits the JSON tree before it is read ------------------------- */

typedef struct key_step {
    char name[64];
    int index; /* >= 0: a list index; -1: name is an object key */
} key_step;

/* Splits "a.b[2].c" (or "a.b.2.c") into steps; returns their count, -1 when malformed. */
static int split_key(const char *key, key_step *steps, int max) {
    int n = 0;
    const char *s = key;
    while (*s) {
        if (n == max) return -1;
        key_step *step = &steps[n++];
        step->name[0] = '\0';
        step->index = -1;
        size_t length = 0;
        if (*s == '[') {
            char *end;
            long v = strtol(s + 1, &end, 10);
            if (end == s + 1 || *end != ']' || v < 0 || v > 999999) return -1;
            step->index = (int)v;
            s = end + 1;
        } else {
            while (s[length] && s[length] != '.' && s[length] != '[') length++;
            if (length == 0 || length >= sizeof step->name) return -1;
            memcpy(step->name, s, length);
            step->name[length] = '\0';
            s += length;
            if (strspn(step->name, "0123456789") == length) {
                if (length > 6) return -1;
                step->index = atoi(step->name);
            }
        }
        if (*s == '.') {
            s++;
            if (!*s) return -1;
        } else if (*s && *s != '[') {
            return -1;
        }
    }
    return n;
}

/* Puts value at the key path, creating missing objects on the way; a layer list must already be
 * in the file to change one of its entries. Takes ownership of value. */
static cn_status set_at_path(const parser *p, const char *context, cJSON *root, const key_step *steps, int n,
                             cJSON *value) {
    cJSON *node = root;
    const cn_field *fields = cn_config_schema;
    const cn_field *list = NULL; /* set while node is a layer list */
    char path[PATH_SIZE] = "", next[PATH_SIZE];
    cn_status s = CN_OK;
    for (int i = 0; i < n && s == CN_OK; i++) {
        int last = i == n - 1;
        if (steps[i].index >= 0) {
            cn_path_index(next, sizeof next, path, steps[i].index);
            int size = cJSON_GetArraySize(node);
            if (!list) {
                s = cn_config_fail(p->e, p->source, "%s%s is not a list", context, *path ? path : "the top level");
            } else if (steps[i].index >= size) {
                s = cn_config_fail(p->e, p->source, "%s%s does not exist (%s has %d entries)", context, next, path, size);
            } else if (last) {
                cJSON_ReplaceItemInArray(node, steps[i].index, value);
                return CN_OK;
            } else {
                node = cJSON_GetArrayItem(node, steps[i].index);
                if (!cJSON_IsObject(node)) s = cn_config_fail(p->e, p->source, "%s%s is not an object", context, next);
                fields = list->children;
                list = NULL;
            }
        } else if (list) {
            s = cn_config_fail(p->e, p->source, "%s%s is a list: give an index, as %s[0].%s", context, path, path,
                               steps[i].name);
        } else {
            const cn_field *f = cn_field_find(fields, steps[i].name);
            if (!f) {
                s = unknown_key(p, context, fields, path, steps[i].name);
                break;
            }
            cn_path_key(next, sizeof next, path, steps[i].name);
            cJSON *child = cJSON_GetObjectItemCaseSensitive(node, steps[i].name);
            if (last) {
                if (child) cJSON_ReplaceItemInObjectCaseSensitive(node, steps[i].name, value);
                else cJSON_AddItemToObject(node, steps[i].name, value);
                return CN_OK;
            }
            if (f->type == CN_FIELD_OBJECT) {
                if (!child) child = cJSON_AddObjectToObject(node, steps[i].name);
                if (!cJSON_IsObject(child)) s = cn_config_fail(p->e, p->source, "%s%s is not an object", context, next);
                fields = f->children;
            } else if (f->type == CN_FIELD_LAYERS) {
                if (!cJSON_IsArray(child))
                    s = cn_config_fail(p->e, p->source,
                                       "%s%s is not a list in this config, so it has no entries to change (a preset's "
                                       "layers cannot be changed one by one: give the whole list as %s=[...])",
                                       context, next, next);
                list = f;
            } else {
                s = cn_config_fail(p->e, p->source, "%s%s has no keys below it", context, next);
            }
            node = child;
        }
        memcpy(path, next, sizeof path);
    }
    cJSON_Delete(value);
    return s;
}

static cn_status apply_override(const parser *p, cJSON *root, const char *text) {
    char context[PATH_SIZE + 32], key[PATH_SIZE];
    snprintf(context, sizeof context, "override \"%.*s\": ", PATH_SIZE, text);
    const char *equals = strchr(text, '=');
    if (!equals || equals == text || (size_t)(equals - text) >= sizeof key)
        return cn_config_fail(p->e, p->source, "%sexpected KEY=VALUE, as descriptor.langevin.steps=30", context);
    memcpy(key, text, (size_t)(equals - text));
    key[equals - text] = '\0';
    key_step steps[16];
    int n = split_key(key, steps, 16);
    if (n <= 0)
        return cn_config_fail(p->e, p->source, "%scannot read the key \"%s\" (write a.b.c or a.layers[2].b)", context,
                              key);
    /* The value is JSON when it parses as JSON (3, true, [..]), else a bare string (runs/x). */
    cJSON *value = cJSON_ParseWithOpts(equals + 1, NULL, 1);
    if (!value) value = cJSON_CreateString(equals + 1);
    if (!value) return cn_error_set(p->e, CN_ERR_NOMEM, "config %s: out of memory", p->source);
    return set_at_path(p, context, root, steps, n, value);
}

/* ---- presets ------------------------------------------------------------------------------------ */

static const cJSON *json_at(const cJSON *obj, const char *a, const char *b) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, a);
    return j && b ? cJSON_GetObjectItemCaseSensitive(j, b) : j;
}

/* A preset expands into the net's layers. "preset" and "layers" together are accepted only when
 * the layers are the preset's own (cn_config_to_json writes both, so a saved config names its
 * preset and still carries the exact layers it ran with). */
static cn_status resolve_net(const parser *p, const cJSON *root, const char *net, int generator, int channels,
                             char *preset, cn_layer_config *layers, int *layer_count) {
    int has_layers = json_at(root, net, "layers") != NULL, has_preset = json_at(root, net, "preset") != NULL;
    if (has_layers && !has_preset) memset(preset, 0, CN_PRESET_SIZE);
    if (!preset[0]) {
        if (!has_layers)
            return cn_config_fail(p->e, p->source, "%s.layers is missing: give a list of layers or a %s.preset", net,
                                  net);
        return CN_OK;
    }
    cn_layer_config expanded[CN_MAX_LAYERS];
    int n = cn_preset_layers(preset, generator, channels, expanded);
    if (!has_layers) {
        memcpy(layers, expanded, (size_t)n * sizeof *layers);
        *layer_count = n;
        return CN_OK;
    }
    for (int i = 0; i < n || i < *layer_count; i++)
        if (i >= n || i >= *layer_count || memcmp(&layers[i], &expanded[i], sizeof *layers) != 0)
            return cn_config_fail(p->e, p->source,
                                  "%s.preset \"%s\" and %s.layers are both given and differ at %s.layers[%d]: give "
                                  "one of them",
                                  net, preset, net, net, i);
    return CN_OK;
}

static cn_status resolve_presets(const parser *p, const cJSON *root, cn_config *c) {
    cn_descriptor_config *d = &c->descriptor;
    cn_generator_config *g = &c->generator;
    CN_TRY(resolve_net(p, root, "descriptor", 0, c->data.channels, d->preset, d->layers, &d->layer_count));
    CN_TRY(resolve_net(p, root, "generator", 1, c->data.channels, g->preset, g->layers, &g->layer_count));
    if (!g->preset[0]) return CN_OK;
    /* The preset's latent shape, unless the config gives its own. */
    const cJSON *latent = json_at(root, "generator", "latent");
    int channels, size;
    cn_preset_latent(g->preset, c->data.image_size, &channels, &size);
    if (!cJSON_GetObjectItemCaseSensitive(latent, "channels")) g->latent_channels = channels;
    if (!cJSON_GetObjectItemCaseSensitive(latent, "size")) {
        if (strcmp(g->preset, "texture") == 0 && c->data.image_size % 32 != 0)
            return cn_config_fail(p->e, p->source,
                                  "generator.preset \"texture\" needs data.image_size to be a multiple of 32 (its "
                                  "latent map is image_size/32 wide), got %d",
                                  c->data.image_size);
        g->latent_size = size;
    }
    return CN_OK;
}

/* ---- entry points -------------------------------------------------------------------------------- */

static cn_status syntax_error(const parser *p, const char *text, const char *where) {
    if (!where) where = cJSON_GetErrorPtr();
    if (!where || where < text) where = text;
    int line = 1, column = 1;
    for (const char *s = text; s < where && *s; s++) {
        if (*s == '\n') line++, column = 1;
        else column++;
    }
    if (text[strspn(text, " \t\r\n")] == '\0') return cn_config_fail(p->e, p->source, "it is empty");
    if (!*where)
        return cn_config_fail(p->e, p->source, "invalid JSON: the text ends at line %d, column %d before the value is "
                              "complete", line, column);
    char near[32];
    size_t n = 0;
    while (n < sizeof near - 1 && where[n] && where[n] != '\n' && where[n] != '\r') {
        near[n] = isprint((unsigned char)where[n]) ? where[n] : '?';
        n++;
    }
    near[n] = '\0';
    return cn_config_fail(p->e, p->source, "invalid JSON at line %d, column %d, near \"%s\"", line, column, near);
}

cn_status cn_config_parse(const char *json_text, const char *source_name, const char *const *overrides,
                          int override_count, cn_config *c, cn_error *e) {
    parser p = {source_name ? source_name : "(string)", e};
    if (!json_text || !c || override_count < 0 || (override_count > 0 && !overrides))
        return cn_error_set(e, CN_ERR_ARG, "cn_config_parse: no text, no config or a bad override list");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json_text, &end, 1);
    if (!root) return syntax_error(&p, json_text, end);
    cn_config parsed;
    cn_config_defaults(&parsed);
    snprintf(parsed.source, sizeof parsed.source, "%s", p.source);
    cn_status s = CN_OK;
    if (!cJSON_IsObject(root)) s = wrong_type(&p, root, "the top level", "an object");
    for (int i = 0; i < override_count && s == CN_OK; i++) s = apply_override(&p, root, overrides[i]);
    if (s == CN_OK) s = read_object(&p, root, cn_config_schema, (char *)&parsed, "", -1);
    if (s == CN_OK) s = resolve_presets(&p, root, &parsed);
    /* Where the descriptor's chains start follows the mode unless the config says: from the
     * generator in mode coop, from noise in mode descriptor (Algorithm D). */
    if (s == CN_OK && parsed.mode == CN_MODE_DESCRIPTOR && !json_at(root, "descriptor", "chain_init"))
        parsed.descriptor.chain_init = CN_CHAINS_NOISE;
    if (s == CN_OK) s = cn_config_validate(&parsed, e);
    /* memcpy, not assignment: the padding stays the zeros defaults put there, so equal configs
     * compare equal with memcmp. */
    if (s == CN_OK) memcpy(c, &parsed, sizeof *c);
    cJSON_Delete(root);
    return s;
}

/* Reads a whole file into a NUL-terminated buffer. */
static cn_status read_text(const char *path, char **out, cn_error *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return cn_error_set(e, CN_ERR_IO, "config %s: cannot open: %s", path, strerror(errno));
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    cn_status s = text ? CN_OK : cn_error_set(e, CN_ERR_NOMEM, "config %s: out of memory", path);
    while (s == CN_OK) {
        if (length + 1 == capacity) {
            if (capacity >= (size_t)64 << 20) {
                s = cn_error_set(e, CN_ERR_FORMAT, "config %s: larger than 64 MiB: not a config", path);
                break;
            }
            char *bigger = realloc(text, capacity * 2);
            if (!bigger) {
                s = cn_error_set(e, CN_ERR_NOMEM, "config %s: out of memory", path);
                break;
            }
            text = bigger;
            capacity *= 2;
        }
        size_t got = fread(text + length, 1, capacity - 1 - length, f);
        length += got;
        if (got == 0) {
            if (ferror(f)) s = cn_error_set(e, CN_ERR_IO, "config %s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (s != CN_OK) {
        free(text);
        return s;
    }
    const char *nul = memchr(text, '\0', length);
    if (nul) {
        size_t at = (size_t)(nul - text);
        free(text);
        return cn_error_set(e, CN_ERR_CONFIG, "config %s: not a text file (a NUL byte at offset %zu): a config is JSON text",
                            path, at);
    }
    text[length] = '\0';
    *out = text;
    return CN_OK;
}

cn_status cn_config_load(const char *path, const char *const *overrides, int override_count, cn_config *c,
                         cn_error *e) {
    if (!path) return cn_error_set(e, CN_ERR_ARG, "cn_config_load: no path");
    char *text = NULL;
    CN_TRY(read_text(path, &text, e));
    cn_status s = cn_config_parse(text, path, overrides, override_count, c, e);
    free(text);
    return s;
}
