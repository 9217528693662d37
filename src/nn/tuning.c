/* Kernel variants per family and the tuning database (include/coopnets/cn_tuning.h). */
#include "coopnets/cn_tuning.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_util.h"

#define TUNING_FORMAT "coopnets_cl tuning 1"
/* The database outgrows nothing: three entries and a few dozen measurements. */
#define TUNING_MAX_BYTES (1u << 20)

/* The per-runtime state behind rt->tuning. */
struct cn_tuning {
    int loaded;
    int in_database[CN_TUNED_FAMILY_COUNT], is_set[CN_TUNED_FAMILY_COUNT];
    cn_kernel_variant database[CN_TUNED_FAMILY_COUNT], set[CN_TUNED_FAMILY_COUNT];
    char warning[1024]; /* "" when the database gave no trouble */
};

/* The programs whose source a tuned choice depends on. */
static const char *const tuned_programs[] = {"gemm", "batchnorm", "reduce", "im2col", "conv_direct"};

static const char *const family_names[CN_TUNED_FAMILY_COUNT] = {"gemm", "batchnorm", "reduce", "conv"};
static const char *const kind_names[] = {"clblast", "register", "local", "item", "group", "packed", "lowered", "direct"};

const char *cn_kernel_family_name(cn_kernel_family f) {
    return f >= 0 && f < CN_TUNED_FAMILY_COUNT ? family_names[f] : "unknown";
}

void cn_kernel_variant_format(cn_kernel_variant v, char *out, size_t size) {
    switch (v.kind) {
    case CN_VARIANT_REGISTER: snprintf(out, size, "register %ux%u", v.p, v.q); break;
    case CN_VARIANT_LOCAL: snprintf(out, size, "local %u/%u", v.p, v.q); break;
    case CN_VARIANT_PACKED: snprintf(out, size, "packed %ux%u", v.p, v.q); break;
    case CN_VARIANT_GROUP: snprintf(out, size, "group %u", v.p); break;
    case CN_VARIANT_DIRECT: snprintf(out, size, "direct %u", v.p); break;
    default: snprintf(out, size, "%s", kind_names[v.kind]);
    }
}

/* ---- state ------------------------------------------------------------------------------------ */

static void tuning_release(cn_runtime *rt) {
    free(rt->tuning);
    rt->tuning = NULL;
    rt->tuning_release = NULL;
}

/* The state, made (and the database read) on first use; NULL only when out of memory, where the
 * heuristics serve. */
static struct cn_tuning *state(cn_runtime *rt) {
    if (!rt->tuning) {
        rt->tuning = calloc(1, sizeof *rt->tuning);
        if (!rt->tuning) return NULL;
        rt->tuning_release = tuning_release;
    }
    if (!rt->tuning->loaded) cn_tuning_load(rt, NULL);
    return rt->tuning;
}

/* ---- what a device can run -------------------------------------------------------------------- */

static int is_power_of_two(unsigned v) { return v && !(v & (v - 1)); }

/* A variant of the right kind with sensible parameters (the database may hold anything). */
static int variant_valid(cn_kernel_family f, cn_kernel_variant v) {
    switch (v.kind) {
    case CN_VARIANT_CLBLAST: return f == CN_TUNED_GEMM;
    case CN_VARIANT_REGISTER: return f == CN_TUNED_GEMM && v.p >= 1 && v.p <= 16 && (v.q == 4 || v.q == 8 || v.q == 16);
    case CN_VARIANT_LOCAL:
        return f == CN_TUNED_GEMM && is_power_of_two(v.p) && v.p <= 64 && v.q >= 1 && v.p % v.q == 0;
    case CN_VARIANT_ITEM: return f == CN_TUNED_BATCHNORM || f == CN_TUNED_REDUCE;
    case CN_VARIANT_GROUP: return (f == CN_TUNED_BATCHNORM || f == CN_TUNED_REDUCE) && is_power_of_two(v.p) && v.p <= 4096;
    case CN_VARIANT_LOWERED: return f == CN_TUNED_CONV;
    case CN_VARIANT_DIRECT: return f == CN_TUNED_CONV && v.p >= 1 && v.p <= 4096;
    case CN_VARIANT_PACKED:
        return f == CN_TUNED_GEMM && v.p >= 1 && v.p <= 32 && is_power_of_two(v.q) && v.q >= 8 && v.q <= 64;
    }
    return 0;
}

/* 1 when the device can launch v; else 0 and why. */
static int variant_fits(const cn_runtime *rt, cn_kernel_variant v, char *why, size_t size) {
    const cn_device_info *d = &rt->device;
    size_t items = 1, along0 = 1, along1 = 1, local_bytes = 0;
    if (v.kind == CN_VARIANT_LOCAL) {
        along0 = v.p;
        along1 = v.p / v.q;
        local_bytes = 2 * (size_t)v.p * v.p * sizeof(float);
    } else if (v.kind == CN_VARIANT_GROUP) {
        along0 = v.p;
        local_bytes = (size_t)v.p * 2 * sizeof(float);
    }
    items = along0 * along1;
    if (items > d->max_work_group_size || along0 > d->max_work_item_sizes[0] || along1 > d->max_work_item_sizes[1]) {
        snprintf(why, size, "needs a work-group of %zu x %zu, device %d allows %zu (%zu x %zu)", along0, along1,
                 d->index, d->max_work_group_size, d->max_work_item_sizes[0], d->max_work_item_sizes[1]);
        return 0;
    }
    if (local_bytes > d->local_mem_bytes) {
        snprintf(why, size, "needs %zu bytes of local memory, device %d has %llu", local_bytes, d->index,
                 (unsigned long long)d->local_mem_bytes);
        return 0;
    }
    return 1;
}

cn_kernel_variant cn_tuning_heuristic(const cn_runtime *rt, cn_kernel_family f) {
    const int cpu_only = (rt->device.type & CL_DEVICE_TYPE_CPU) && !(rt->device.type & CL_DEVICE_TYPE_GPU);
    /* The direct conv keeps a vector of output pixels per register, a CPU's shape; see cn_tuning.h. */
    if (f == CN_TUNED_CONV) return cpu_only ? (cn_kernel_variant){CN_VARIANT_DIRECT, 32, 0} : (cn_kernel_variant){CN_VARIANT_LOWERED, 0, 0};
    if (f != CN_TUNED_GEMM) return (cn_kernel_variant){CN_VARIANT_ITEM, 0, 0};
    /* CPUs get packed panels with a register tile sized to the vector registers: with 16-wide
     * floats (AVX-512, 32 registers) 14 x 32 keeps 28 accumulators, two B vectors and the
     * broadcast in all 32 registers (measured ahead of 12 x 32 and 8 x 32 on the products of
     * benchmarks/mnist28.json); with 8-wide floats (AVX2, 16 registers) 6 x 16 keeps 12 and three.
     * GPUs, and devices that are CPU and GPU at once (Oclgrind), keep the register tiles: a
     * packed tile would spill a GPU thread's registers. */
    const cl_uint width = rt->device.float_width;
    const int cpu = (rt->device.type & CL_DEVICE_TYPE_CPU) != 0, gpu = (rt->device.type & CL_DEVICE_TYPE_GPU) != 0;
    if (cpu && !gpu)
        return width >= 16 ? (cn_kernel_variant){CN_VARIANT_PACKED, 14, 32} : (cn_kernel_variant){CN_VARIANT_PACKED, 6, 16};
    return (cn_kernel_variant){CN_VARIANT_REGISTER, cpu && width < 16 ? 6 : 8, 16};
}

static int same_variant(cn_kernel_variant a, cn_kernel_variant b) {
    return a.kind == b.kind && a.p == b.p && a.q == b.q;
}

cn_kernel_variant cn_tuning_variant(cn_runtime *rt, cn_kernel_family f, cn_variant_origin *origin) {
    struct cn_tuning *t = state(rt);
    cn_variant_origin from = CN_VARIANT_FROM_HEURISTIC;
    cn_kernel_variant v = cn_tuning_heuristic(rt, f);
    if (t && t->is_set[f]) v = t->set[f], from = CN_VARIANT_FROM_CALLER;
    else if (t && t->in_database[f]) v = t->database[f], from = CN_VARIANT_FROM_DATABASE;
    if (origin) *origin = from;
    return v;
}

cn_status cn_tuning_set(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant v, cn_error *e) {
    char name[64], why[200];
    cn_kernel_variant_format(v, name, sizeof name);
    if (f < 0 || f >= CN_TUNED_FAMILY_COUNT || !variant_valid(f, v))
        return cn_error_set(e, CN_ERR_ARG, "%s is not a variant of kernel family %s", name, cn_kernel_family_name(f));
    if (!variant_fits(rt, v, why, sizeof why))
        return cn_error_set(e, CN_ERR_ARG, "%s variant %s cannot run on device %d (%s): it %s", cn_kernel_family_name(f),
                            name, rt->device.index, rt->device.name, why);
    struct cn_tuning *t = state(rt);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the kernel variants");
    t->set[f] = v;
    t->is_set[f] = 1;
    return CN_OK;
}

void cn_tuning_describe(cn_runtime *rt, cn_kernel_family f, char *out, size_t size) {
    cn_variant_origin origin;
    cn_kernel_variant v = cn_tuning_variant(rt, f, &origin);
    const char *how = origin == CN_VARIANT_FROM_DATABASE ? "tuned" : origin == CN_VARIANT_FROM_CALLER ? "set" : "heuristic";
    if (f == CN_TUNED_GEMM) {
        /* The backend decides: a clblast entry, COOPNETS_GEMM or cn_gemm_select may override it. */
        const cn_gemm_backend backend = cn_gemm_backend_in_use(rt);
        if (backend == CN_GEMM_CLBLAST) {
            snprintf(out, size, "clblast (%s)", v.kind == CN_VARIANT_CLBLAST ? how : "measured or forced");
            return;
        }
        if (v.kind == CN_VARIANT_CLBLAST) v = cn_tuning_heuristic(rt, f), how = "heuristic";
    }
    char name[64];
    cn_kernel_variant_format(v, name, sizeof name);
    snprintf(out, size, "%s (%s)", name, how);
}

size_t cn_tuning_candidates(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant *out, size_t max) {
    static const cn_kernel_variant gemm[] = {
        {CN_VARIANT_LOCAL, 16, 4},    {CN_VARIANT_CLBLAST, 0, 0},   {CN_VARIANT_LOCAL, 8, 1},
        {CN_VARIANT_LOCAL, 8, 8},     {CN_VARIANT_LOCAL, 32, 8},    {CN_VARIANT_LOCAL, 16, 2},
        {CN_VARIANT_REGISTER, 6, 16}, {CN_VARIANT_REGISTER, 8, 16}, {CN_VARIANT_REGISTER, 4, 16},
        {CN_VARIANT_REGISTER, 8, 8},  {CN_VARIANT_PACKED, 14, 32},  {CN_VARIANT_PACKED, 6, 16},
        {CN_VARIANT_PACKED, 12, 32}};
    static const cn_kernel_variant groups[] = {
        {CN_VARIANT_GROUP, 64, 0}, {CN_VARIANT_GROUP, 256, 0}, {CN_VARIANT_GROUP, 16, 0}, {CN_VARIANT_GROUP, 128, 0}};
    static const cn_kernel_variant convs[] = {
        {CN_VARIANT_LOWERED, 0, 0}, {CN_VARIANT_DIRECT, 32, 0}, {CN_VARIANT_DIRECT, 16, 0}, {CN_VARIANT_DIRECT, 64, 0}};
    const cn_kernel_variant *list = f == CN_TUNED_GEMM ? gemm : f == CN_TUNED_CONV ? convs : groups;
    const size_t length = f == CN_TUNED_GEMM  ? sizeof gemm / sizeof *gemm
                          : f == CN_TUNED_CONV ? sizeof convs / sizeof *convs
                                               : sizeof groups / sizeof *groups;
    const char *forced = getenv("COOPNETS_GEMM");
    const int clblast_allowed = !rt->binaries && !(forced && strcmp(forced, "own") == 0);
    cn_kernel_variant all[24];
    size_t count = 0;
    all[count++] = cn_tuning_heuristic(rt, f);
    for (size_t i = 0; i < length; i++) {
        char why[200];
        int seen = 0;
        for (size_t j = 0; j < count; j++) seen |= same_variant(all[j], list[i]);
        if (seen || (list[i].kind == CN_VARIANT_CLBLAST && !clblast_allowed) || !variant_fits(rt, list[i], why, sizeof why))
            continue;
        all[count++] = list[i];
    }
    for (size_t i = 0; i < count && i < max; i++) out[i] = all[i];
    return count;
}

/* ---- the database ----------------------------------------------------------------------------- */

static uint64_t source_hash(void) {
    uint64_t h = CN_FNV1A_START;
    for (size_t i = 0; i < sizeof tuned_programs / sizeof *tuned_programs; i++) {
        const cn_cl_source *src = cn_cl_source_find(tuned_programs[i]);
        if (src) h = cn_fnv1a(h, src->text, src->length);
    }
    return h;
}

int cn_tuning_path(const cn_runtime *rt, char *path, size_t size) {
    /* Also with the program cache off (COOPNETS_NO_CACHE, binaries only): the choice is not a cache. */
    if (!rt->cache_dir[0]) return 0;
    const char *parts[] = {rt->device.name, rt->device.vendor, rt->device.driver_version};
    uint64_t h = CN_FNV1A_START;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) h = cn_fnv1a(h, parts[i], strlen(parts[i]) + 1);
    return snprintf(path, size, "%s/tuning-%016llx.json", rt->cache_dir, (unsigned long long)h) < (int)size;
}

static void warn(struct cn_tuning *t, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void warn(struct cn_tuning *t, const char *path, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t used = strlen(t->warning);
    snprintf(t->warning + used, sizeof t->warning - used, "%stuning database %s: %s", used ? "; " : "", path, what);
}

static const char *text_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* kernels.<family>: {"variant": NAME, "p": N, "q": N}, checked; 0 (and a warning) when unusable. */
static int parse_entry(const cn_runtime *rt, struct cn_tuning *t, const char *path, const cJSON *entry,
                       cn_kernel_family f, cn_kernel_variant *v) {
    const char *family = cn_kernel_family_name(f);
    const char *kind = text_of(entry, "variant");
    size_t k = 0;
    while (kind && k < sizeof kind_names / sizeof *kind_names && strcmp(kind, kind_names[k]) != 0) k++;
    if (!kind || k == sizeof kind_names / sizeof *kind_names) {
        warn(t, path, "kernels.%s.variant is %s%s%s, not a variant name: entry ignored, %s uses its heuristic", family,
             kind ? "\"" : "", kind ? kind : "missing", kind ? "\"" : "", family);
        return 0;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(entry, "p"), *q = cJSON_GetObjectItemCaseSensitive(entry, "q");
    v->kind = (cn_variant_kind)k;
    v->p = cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble < 1e6 ? (unsigned)p->valuedouble : 0;
    v->q = cJSON_IsNumber(q) && q->valuedouble >= 0 && q->valuedouble < 1e6 ? (unsigned)q->valuedouble : 0;
    char name[64], why[200];
    cn_kernel_variant_format(*v, name, sizeof name);
    if (!variant_valid(f, *v)) {
        warn(t, path, "kernels.%s is \"%s\", not a valid %s variant: entry ignored, %s uses its heuristic", family,
             name, family, family);
        return 0;
    }
    if (!variant_fits(rt, *v, why, sizeof why)) {
        warn(t, path, "kernels.%s \"%s\" %s: entry ignored, %s uses its heuristic (run `coopnets_cl tune` again)",
             family, name, why, family);
        return 0;
    }
    return 1;
}

cn_status cn_tuning_load(cn_runtime *rt, cn_error *e) {
    if (!rt->tuning) {
        rt->tuning = calloc(1, sizeof *rt->tuning);
        if (!rt->tuning) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the kernel variants");
        rt->tuning_release = tuning_release;
    }
    struct cn_tuning *t = rt->tuning;
    t->loaded = 1;
    t->warning[0] = 0;
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) t->in_database[f] = 0;
    char path[1100];
    if (!cn_tuning_path(rt, path, sizeof path)) return CN_OK;
    FILE *file = fopen(path, "rb");
    if (!file) {
        if (errno != ENOENT) warn(t, path, "cannot be read (%s): ignored, every family uses its heuristic", strerror(errno));
        return CN_OK;
    }
    char *text = malloc(TUNING_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, TUNING_MAX_BYTES + 1, file) : 0;
    fclose(file);
    if (!text) return cn_error_set(e, CN_ERR_NOMEM, "out of memory reading the tuning database %s", path);
    cJSON *db = n <= TUNING_MAX_BYTES ? cJSON_ParseWithLength(text, n) : NULL;
    free(text);
    const char *format = db ? text_of(db, "format") : NULL;
    const cJSON *kernels = db ? cJSON_GetObjectItemCaseSensitive(db, "kernels") : NULL;
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)source_hash());
    const char *device = db ? text_of(db, "device") : NULL, *driver = db ? text_of(db, "driver_version") : NULL,
               *source = db ? text_of(db, "source_fnv1a") : NULL;
    if (!db || !format || strcmp(format, TUNING_FORMAT) != 0 || !cJSON_IsObject(kernels))
        warn(t, path, "not a coopnets_cl tuning database (corrupt or of another format; \"format\": \"" TUNING_FORMAT
                      "\" with \"kernels\" expected): ignored, every family uses its heuristic; `coopnets_cl tune "
                      "CONFIG` writes it again");
    else if (!device || !driver || strcmp(device, rt->device.name) != 0 || strcmp(driver, rt->device.driver_version) != 0)
        warn(t, path, "made for device \"%s\" (driver %s), not device %d (%s, driver %s): ignored, every family uses "
                      "its heuristic",
             device ? device : "?", driver ? driver : "?", rt->device.index, rt->device.name,
             rt->device.driver_version);
    else if (!source || strcmp(source, hash) != 0)
        warn(t, path, "stale: made for kernel source %s, this build's is %s: ignored, every family uses its heuristic; "
                      "run `coopnets_cl tune CONFIG` again",
             source ? source : "?", hash);
    else
        for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
            const cJSON *entry = cJSON_GetObjectItemCaseSensitive(kernels, family_names[f]);
            if (entry) t->in_database[f] = parse_entry(rt, t, path, entry, (cn_kernel_family)f, &t->database[f]);
        }
    cJSON_Delete(db);
    return CN_OK;
}

const char *cn_tuning_warning(cn_runtime *rt) {
    struct cn_tuning *t = state(rt);
    return t && t->warning[0] ? t->warning : NULL;
}

cn_status cn_tuning_save(cn_runtime *rt, const cn_kernel_variant winners[CN_TUNED_FAMILY_COUNT],
                         const cn_tuning_measurement *measured, size_t count, const char *source, cn_error *e) {
    char path[1100], hash[17], name[64];
    if (!cn_tuning_path(rt, path, sizeof path))
        return cn_error_set(e, CN_ERR_ARG, "device %d (%s): no cache folder to keep a tuning database in (set "
                                           "COOPNETS_CACHE_DIR, XDG_CACHE_HOME or HOME)",
                            rt->device.index, rt->device.name);
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)source_hash());
    cJSON *db = cJSON_CreateObject(), *kernels = NULL, *list = NULL;
    int ok = db && cJSON_AddStringToObject(db, "format", TUNING_FORMAT) &&
             cJSON_AddStringToObject(db, "device", rt->device.name) &&
             cJSON_AddStringToObject(db, "vendor", rt->device.vendor) &&
             cJSON_AddStringToObject(db, "driver_version", rt->device.driver_version) &&
             cJSON_AddStringToObject(db, "source_fnv1a", hash) &&
             cJSON_AddStringToObject(db, "measured_on", source ? source : "") &&
             (kernels = cJSON_AddObjectToObject(db, "kernels")) && (list = cJSON_AddArrayToObject(db, "measurements"));
    for (int f = 0; ok && f < CN_TUNED_FAMILY_COUNT; f++) {
        cJSON *entry = cJSON_AddObjectToObject(kernels, family_names[f]);
        ok = entry && cJSON_AddStringToObject(entry, "variant", kind_names[winners[f].kind]) &&
             cJSON_AddNumberToObject(entry, "p", winners[f].p) && cJSON_AddNumberToObject(entry, "q", winners[f].q);
    }
    for (size_t i = 0; ok && i < count; i++) {
        cJSON *m = cJSON_CreateObject();
        cn_kernel_variant_format(measured[i].variant, name, sizeof name);
        ok = m && cJSON_AddItemToArray(list, m) &&
             cJSON_AddStringToObject(m, "family", cn_kernel_family_name(measured[i].family)) &&
             cJSON_AddStringToObject(m, "variant", name) &&
             (measured[i].seconds >= 0 ? cJSON_AddNumberToObject(m, "seconds", measured[i].seconds)
                                       : cJSON_AddNullToObject(m, "seconds")) != NULL;
    }
    char *text = ok ? cJSON_Print(db) : NULL;
    cJSON_Delete(db);
    if (!text) return cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the tuning database %s", path);
    cn_status s = cn_atomic_write_file(path, "tuning database", text, strlen(text), e);
    free(text);
    CN_TRY(s);
    struct cn_tuning *t = state(rt);
    if (!t) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the kernel variants");
    for (int f = 0; f < CN_TUNED_FAMILY_COUNT; f++) {
        t->database[f] = winners[f];
        t->in_database[f] = 1;
        t->is_set[f] = 0;
    }
    return CN_OK;
}
