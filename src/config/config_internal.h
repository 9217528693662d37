/* The config module's shared parts: one schema table describes every JSON key (its type, where it
 * lives in cn_config, its allowed values and range), and parsing, validation and printing all walk
 * that same table, so a key added here is parsed, checked, documented by to_json and round-trips. */
#ifndef CN_CONFIG_INTERNAL_H
#define CN_CONFIG_INTERNAL_H

#include <stddef.h>

#include "coopnets/cn_config.h"

typedef enum {
    CN_FIELD_INT,
    CN_FIELD_DOUBLE,
    CN_FIELD_BOOL,   /* stored as int 0/1 */
    CN_FIELD_STRING, /* char array; names (when set) lists the allowed values */
    CN_FIELD_ENUM,   /* stored as int; names[value] is its JSON string */
    CN_FIELD_SEED,   /* uint64_t: a JSON integer, or a decimal string beyond 2^53 */
    CN_FIELD_OBJECT, /* a nested JSON object whose fields live at base + offset */
    CN_FIELD_LAYERS  /* a JSON list of layer objects: cn_layer_config[CN_MAX_LAYERS] + a count */
} cn_field_type;

typedef enum {
    CN_RANGE_ANY,
    CN_RANGE_AT_LEAST, /* >= bound */
    CN_RANGE_ABOVE,    /* > bound */
    CN_RANGE_UNIT,     /* [0, 1) */
    CN_RANGE_FRACTION  /* (0, 1] */
} cn_range_kind;

#define CN_KIND_BIT(kind) (1u << (kind))

typedef struct cn_field {
    const char *key;
    cn_field_type type;
    size_t offset;                   /* from the start of the struct the enclosing object maps to */
    size_t count_offset;             /* layer lists: where the layer count lives */
    size_t capacity;                 /* strings: the buffer size */
    const char *const *names;        /* enums and restricted strings, NULL-terminated */
    const struct cn_field *children; /* objects and layer lists, terminated by a NULL key */
    cn_range_kind range;
    double bound;
    unsigned kinds;    /* layer fields: the layer kinds it applies to (0: all); layer lists: the kinds allowed */
    unsigned required; /* layer fields: the layer kinds that must give it */
} cn_field;

extern const cn_field cn_config_schema[];
extern const cn_field cn_layer_schema[];
extern const char *const cn_layer_kind_names[];

const cn_field *cn_field_find(const cn_field *fields, const char *key);
/* "\"a\", \"b\", \"c\"" into out. */
void cn_names_list(const char *const *names, char *out, size_t size);
/* The names of the layer kinds in a CN_KIND_BIT mask, as cn_names_list writes them. */
void cn_kinds_list(unsigned kinds, char *out, size_t size);
/* A layer of this kind before any key is read; fc layers cover their input (kernel 0, VALID). */
cn_layer_config cn_layer_default(cn_layer_kind kind);

/* Sets CN_ERR_CONFIG with "config SOURCE: " in front of the message. */
cn_status cn_config_fail(cn_error *e, const char *source, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* "parent.key" (or "key" at the top) and "parent[index]". */
void cn_path_key(char *out, size_t size, const char *parent, const char *key);
void cn_path_index(char *out, size_t size, const char *parent, int index);

/* Presets: fills layers and returns their count, 0 for an unknown name. The generator's last
 * layer makes `channels` output channels. */
int cn_preset_layers(const char *preset, int generator, int channels, cn_layer_config *layers);
/* The latent shape a generator preset starts from (texture: 1 channel, image_size/32). */
void cn_preset_latent(const char *preset, int image_size, int *channels, int *size);

#endif
