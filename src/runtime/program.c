/* Program build with an on-disk binary cache, and the per-runtime kernel table.
 *
 * Cache entries are keyed by a 128-bit hash of device name, vendor, driver version, build options
 * and the full source text (the Random123 headers are inside it). An entry is
 *   "CNPC" | u32 version | u64 key[2] | u64 binary size | u64 FNV-1a of the binary | binary
 * written to a temporary file and renamed, so readers never see half an entry; a checksum or size
 * mismatch counts as corrupt: the program is rebuilt from source and the entry rewritten.
 *
 * Binaries-only mode, for devices without an online compiler: cn_programs_export writes every
 * program as a device binary with a manifest, and a runtime opened on that folder loads each
 * program from there and never compiles (an unknown program, another device or another source is
 * an error naming the program and the device). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_runtime.h"
#include "coopnets/cn_util.h"
#include "runtime/runtime_internal.h"

#define CACHE_MAGIC "CNPC"
#define CACHE_VERSION 1u

struct cn_program_entry {
    char *name;    /* program name or label */
    char *options; /* "" when none */
    cl_program program;
};

struct cn_kernel_entry {
    char *program, *options, *kernel;
    cl_kernel handle;
};

#define MANIFEST_NAME "manifest.json"
#define MANIFEST_FORMAT "coopnets_cl kernel binaries 1"

struct cn_binaries {
    char dir[1024];
    cJSON *manifest;
};

/* The whole file, malloc'd with a 0 after it; NULL (errno set) when it cannot be read. */
static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) &&
        fread(data, 1, (size_t)n, f) == (size_t)n) {
        data[n] = 0;
        *size = (size_t)n;
    } else {
        free(data);
        data = NULL;
        if (!errno) errno = EIO;
    }
    fclose(f);
    return data;
}

/* The program's device binary (one device), malloc'd; NULL when the driver gives none. */
static unsigned char *program_binary(cl_program p, size_t *n) {
    *n = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof *n, n, NULL) != CL_SUCCESS || *n == 0) return NULL;
    unsigned char *bin = malloc(*n);
    unsigned char *bins[] = {bin};
    if (bin && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS) return bin;
    free(bin);
    return NULL;
}

static void hex64(uint64_t v, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

static void cache_key(const cn_runtime *rt, const char *text, size_t length, const char *options, uint64_t key[2]) {
    const char *parts[] = {rt->device.name, rt->device.vendor, rt->device.driver_version, options ? options : ""};
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        a = cn_fnv1a(a, parts[i], strlen(parts[i]) + 1);
        b = cn_fnv1a(b, parts[i], strlen(parts[i]) + 1);
        b = cn_fnv1a(b, &a, sizeof a);
    }
    key[0] = cn_fnv1a(a, text, length);
    key[1] = cn_fnv1a(b ^ 0x9e3779b97f4a7c15ULL, text, length);
}

cn_status cn_program_cache_init(cn_runtime *rt, const cn_runtime_options *options, cn_error *e) {
    const char *off = getenv("COOPNETS_NO_CACHE");
    rt->cache_enabled = !(options->no_cache || (off && *off && strcmp(off, "0") != 0));
    const char *dir = options->cache_dir, *env;
    if (dir) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", dir);
    else if ((env = getenv("COOPNETS_CACHE_DIR")) && *env) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s/coopnets_cl", env);
    else if ((env = getenv("HOME")) && *env) snprintf(rt->cache_dir, sizeof rt->cache_dir, "%s/.cache/coopnets_cl", env);
    else rt->cache_enabled = 0;
    /* A cache we cannot create is not an error: the run goes on without one. */
    if (rt->cache_enabled && cn_make_dirs(rt->cache_dir, NULL) != CN_OK) rt->cache_enabled = 0;
    (void)e;
    return CN_OK;
}

static void key_path(const cn_runtime *rt, const uint64_t key[2], char *path, size_t path_size) {
    snprintf(path, path_size, "%s/%016llx%016llx.bin", rt->cache_dir, (unsigned long long)key[0],
             (unsigned long long)key[1]);
}

/* The options every program gets: OpenCL C 1.2 with correctly rounded float math, never relaxed
 * (DESIGN §4). They are part of the cache key. */
static void full_options(const char *options, char *out, size_t size) {
    snprintf(out, size, "-cl-std=CL1.2 %s", options ? options : "");
}

cn_status cn_program_cache_path(const cn_runtime *rt, const char *text, size_t length, const char *options,
                                char *path, size_t path_size) {
    char opts[1024];
    uint64_t key[2];
    full_options(options, opts, sizeof opts);
    cache_key(rt, text, length, opts, key);
    key_path(rt, key, path, path_size);
    return CN_OK;
}

/* Returns a malloc'd binary when the entry exists and is intact; flags corruption. */
static unsigned char *cache_read(const char *path, const uint64_t key[2], size_t *size, int *corrupt) {
    *corrupt = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char magic[4];
    uint32_t version;
    uint64_t k[2], n, sum;
    unsigned char *bin = NULL;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, CACHE_MAGIC, 4) != 0 || fread(&version, 4, 1, f) != 1 ||
        version != CACHE_VERSION || fread(k, 8, 2, f) != 2 || k[0] != key[0] || k[1] != key[1] ||
        fread(&n, 8, 1, f) != 1 || fread(&sum, 8, 1, f) != 1 || n == 0 || n > (1u << 30))
        goto bad;
    bin = malloc(n);
    if (!bin || fread(bin, 1, n, f) != n || fgetc(f) != EOF) goto bad;
    if (cn_fnv1a(CN_FNV1A_START, bin, n) != sum) goto bad;
    fclose(f);
    *size = n;
    return bin;
bad:
    free(bin);
    fclose(f);
    *corrupt = 1;
    return NULL;
}

static void cache_write(const char *path, const uint64_t key[2], const unsigned char *bin, size_t n) {
    cn_atomic_file a;
    if (cn_atomic_open(&a, path, "program cache entry", NULL) != CN_OK) return;
    uint32_t version = CACHE_VERSION;
    uint64_t size = n, sum = cn_fnv1a(CN_FNV1A_START, bin, n);
    cn_atomic_write(&a, CACHE_MAGIC, 4);
    cn_atomic_write(&a, &version, 4);
    cn_atomic_write(&a, key, 16);
    cn_atomic_write(&a, &size, 8);
    cn_atomic_write(&a, &sum, 8);
    cn_atomic_write(&a, bin, n);
    cn_atomic_commit(&a, NULL); /* a cache write failure only costs a rebuild later */
}

static char *build_log(cl_program p, cl_device_id d) {
    size_t n = 0;
    clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = malloc(n + 1);
    if (!log) return NULL;
    if (clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS) n = 0;
    log[n] = 0;
    return log;
}

/* ---- binaries-only mode ----------------------------------------------------------------------- */

static const char *json_text(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

cn_status cn_binaries_open(cn_runtime *rt, const cn_runtime_options *options, cn_error *e) {
    const char *dir = options->binaries ? options->binaries : getenv("COOPNETS_BINARIES");
    const cn_device_info *d = &rt->device;
    if (!dir || !*dir) {
        if (d->compiler_available) return CN_OK;
        return cn_error_set(e, CN_ERR_BUILD,
                            "device %d (%s) has no online compiler (CL_DEVICE_COMPILER_AVAILABLE is false), so it "
                            "cannot build the kernels from source: give it device binaries with --binaries DIR (or "
                            "COOPNETS_BINARIES=DIR), a folder written by `coopnets_cl kernels --export DIR` on the "
                            "same device and driver where a compiler is available (README, Devices)",
                            d->index, d->name);
    }
    cn_binaries *b = calloc(1, sizeof *b);
    if (!b) return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the binaries manifest");
    snprintf(b->dir, sizeof b->dir, "%s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/" MANIFEST_NAME, dir);
    size_t size;
    errno = 0;
    char *text = (char *)read_all(path, &size);
    if (!text) {
        free(b);
        return cn_error_set(e, CN_ERR_IO, "binaries folder %s: cannot read %s (%s); write it with `coopnets_cl "
                                          "kernels --export %s` on device %d (%s)",
                            dir, path, strerror(errno), dir, d->index, d->name);
    }
    b->manifest = cJSON_Parse(text);
    free(text);
    if (!b->manifest || strcmp(json_text(b->manifest, "format"), MANIFEST_FORMAT) != 0 ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(b->manifest, "programs"))) {
        cJSON_Delete(b->manifest);
        free(b);
        return cn_error_set(e, CN_ERR_FORMAT, "%s is not a manifest of coopnets_cl kernel binaries (\"format\": \"%s\")",
                            path, MANIFEST_FORMAT);
    }
    rt->binaries = b;
    rt->cache_enabled = 0; /* nothing compiles, so there is nothing to cache */
    return CN_OK;
}

static const cJSON *manifest_entry(const cn_binaries *b, const char *label, const char *opts) {
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(b->manifest, "programs"))
        if (strcmp(json_text(p, "name"), label) == 0 && strcmp(json_text(p, "options"), opts) == 0) return p;
    return NULL;
}

/* Program `label` from the binaries folder, checked against this device and this build's source. */
static cn_status binary_load(cn_runtime *rt, const char *label, const char *text, size_t length, const char *opts,
                             cl_program *out, cn_error *e) {
    const cn_binaries *b = rt->binaries;
    const cn_device_info *d = &rt->device;
    const char *device = json_text(b->manifest, "device"), *driver = json_text(b->manifest, "driver_version");
    if (strcmp(device, d->name) != 0 || strcmp(driver, d->driver_version) != 0)
        return cn_error_set(e, CN_ERR_BUILD,
                            "program %s: the binaries in %s were built for device \"%s\" (driver %s), not for "
                            "device %d (%s, driver %s); export them on this device with `coopnets_cl --device %d "
                            "kernels --export DIR`",
                            label, b->dir, device, driver, d->index, d->name, d->driver_version, d->index);
    const cJSON *entry = manifest_entry(b, label, opts);
    if (!entry)
        return cn_error_set(e, CN_ERR_BUILD,
                            "program %s (build options \"%s\") has no binary in %s for device %d (%s): export the "
                            "binaries again with this build (`coopnets_cl --device %d kernels --export %s`)",
                            label, opts, b->dir, d->index, d->name, d->index, b->dir);
    char source_hash[17], sum_hex[17];
    hex64(cn_fnv1a(CN_FNV1A_START, text, length), source_hash);
    if (strcmp(json_text(entry, "source_fnv1a"), source_hash) != 0)
        return cn_error_set(e, CN_ERR_BUILD,
                            "program %s: the binary in %s for device %d (%s) was built from another source (hash %s; "
                            "this build's is %s): export the binaries again with this build",
                            label, b->dir, d->index, d->name, json_text(entry, "source_fnv1a"), source_hash);
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", b->dir, json_text(entry, "file"));
    size_t n = 0;
    errno = 0;
    unsigned char *bin = read_all(path, &n);
    if (!bin)
        return cn_error_set(e, CN_ERR_BUILD, "program %s: cannot read its binary %s for device %d (%s): %s", label,
                            path, d->index, d->name, strerror(errno));
    hex64(cn_fnv1a(CN_FNV1A_START, bin, n), sum_hex);
    if (strcmp(json_text(entry, "binary_fnv1a"), sum_hex) != 0) {
        free(bin);
        return cn_error_set(e, CN_ERR_FORMAT, "program %s: binary %s is damaged (its checksum differs from the "
                                              "manifest's)", label, path);
    }
    cl_int err, status = CL_SUCCESS;
    const unsigned char *bins[] = {bin};
    cl_program p = cn_fault_hit("cl") ? (err = CL_OUT_OF_RESOURCES, NULL)
                                      : clCreateProgramWithBinary(rt->context, 1, &d->id, &n, bins, &status, &err);
    free(bin);
    if (err == CL_SUCCESS && status != CL_SUCCESS) err = status;
    if (err == CL_SUCCESS) err = clBuildProgram(p, 1, &d->id, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        cn_error_set(e, CN_ERR_BUILD, "program %s: device %d (%s) refused its binary %s: %s", label, d->index,
                     d->name, path, cn_cl_error_name(err));
        if (p) {
            cn_error_set_log(e, build_log(p, d->id));
            clReleaseProgram(p);
        }
        return CN_ERR_BUILD;
    }
    rt->stats.binaries_loaded++;
    *out = p;
    return CN_OK;
}

static cn_status build(cn_runtime *rt, const char *label, const char *text, size_t length, const char *options,
                       cl_program *out, cn_error *e) {
    double t0 = cn_seconds_now();
    char opts[1024];
    full_options(options, opts, sizeof opts);
    if (rt->binaries) {
        cn_status s = binary_load(rt, label, text, length, opts, out, e);
        rt->stats.build_seconds += cn_seconds_now() - t0;
        return s;
    }
    uint64_t key[2];
    char path[1100];
    cache_key(rt, text, length, opts, key);
    key_path(rt, key, path, sizeof path);
    cl_int err, status;
    cl_program p = NULL;
    if (rt->cache_enabled) {
        size_t n;
        int corrupt;
        unsigned char *bin = cache_read(path, key, &n, &corrupt);
        if (bin) {
            const unsigned char *bins[] = {bin};
            p = clCreateProgramWithBinary(rt->context, 1, &rt->device.id, &n, bins, &status, &err);
            free(bin);
            if (err == CL_SUCCESS && status == CL_SUCCESS &&
                clBuildProgram(p, 1, &rt->device.id, opts, NULL, NULL) == CL_SUCCESS) {
                rt->stats.cache_hits++;
                rt->stats.build_seconds += cn_seconds_now() - t0;
                *out = p;
                return CN_OK;
            }
            if (p) clReleaseProgram(p);
            p = NULL;
            corrupt = 1; /* the driver refused it: rebuild and replace */
        }
        if (corrupt) rt->stats.cache_corrupt++;
    }
    /* COOPNETS_FAULT=cl:N on a build compiles a broken program instead: a real failure, with the
     * compiler's log. */
    static const char broken[] = "#error injected build failure (COOPNETS_FAULT)\n";
    int fault = cn_fault_hit("cl");
    const char *source = fault ? broken : text;
    size_t source_length = fault ? sizeof broken - 1 : length;
    p = clCreateProgramWithSource(rt->context, 1, &source, &source_length, &err);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "creating program %s", label);
    err = clBuildProgram(p, 1, &rt->device.id, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        cn_error_set(e, CN_ERR_BUILD, "kernel program %s failed to build on device %d (%s) with options \"%s\": %s",
                     label, rt->device.index, rt->device.name, opts, cn_cl_error_name(err));
        cn_error_set_log(e, build_log(p, rt->device.id));
        clReleaseProgram(p);
        return CN_ERR_BUILD;
    }
    rt->stats.cache_misses++;
    if (rt->cache_enabled) {
        size_t n;
        unsigned char *bin = program_binary(p, &n);
        if (bin) cache_write(path, key, bin, n);
        free(bin);
    }
    rt->stats.build_seconds += cn_seconds_now() - t0;
    *out = p;
    return CN_OK;
}

static int same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static cn_status remember_program(cn_runtime *rt, const char *name, const char *options, cl_program p, cn_error *e) {
    cn_program_entry *grown = realloc(rt->programs, (rt->program_count + 1) * sizeof *grown);
    if (!grown) return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    rt->programs = grown;
    cn_program_entry *entry = &rt->programs[rt->program_count];
    entry->name = dup_or_empty(name);
    entry->options = dup_or_empty(options);
    entry->program = p;
    if (!entry->name || !entry->options) {
        free(entry->name);
        free(entry->options);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    }
    rt->program_count++;
    return CN_OK;
}

const cn_cl_source *cn_cl_source_find(const char *name) {
    for (size_t i = 0; i < cn_cl_source_count; i++)
        if (strcmp(cn_cl_sources[i].name, name) == 0) return &cn_cl_sources[i];
    return NULL;
}

cn_status cn_program_get(cn_runtime *rt, const char *name, const char *options, cl_program *program, cn_error *e) {
    for (size_t i = 0; i < rt->program_count; i++) {
        if (strcmp(rt->programs[i].name, name) == 0 && same(rt->programs[i].options, options)) {
            *program = rt->programs[i].program;
            return CN_OK;
        }
    }
    const cn_cl_source *src = cn_cl_source_find(name);
    if (!src) return cn_error_set(e, CN_ERR_ARG, "no kernel source named %s.cl in this build", name);
    cl_program p;
    CN_TRY(build(rt, name, src->text, src->length, options, &p, e));
    cn_status s = remember_program(rt, name, options, p, e);
    if (s != CN_OK) {
        clReleaseProgram(p);
        return s;
    }
    *program = p;
    return CN_OK;
}

cn_status cn_program_build_text(cn_runtime *rt, const char *label, const char *text, size_t length,
                                const char *options, cl_program *program, cn_error *e) {
    return build(rt, label, text, length, options, program, e);
}

cn_status cn_kernel_get(cn_runtime *rt, const char *program, const char *options, const char *kernel, cl_kernel *out,
                        cn_error *e) {
    for (size_t i = 0; i < rt->kernel_count; i++) {
        cn_kernel_entry *k = &rt->kernels[i];
        if (strcmp(k->kernel, kernel) == 0 && strcmp(k->program, program) == 0 && same(k->options, options)) {
            *out = k->handle;
            return CN_OK;
        }
    }
    cl_program p;
    CN_TRY(cn_program_get(rt, program, options, &p, e));
    cl_int err;
    cl_kernel handle = clCreateKernel(p, kernel, &err);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "creating kernel %s from %s.cl", kernel, program);
    cn_kernel_entry *grown = realloc(rt->kernels, (rt->kernel_count + 1) * sizeof *grown);
    if (!grown) {
        clReleaseKernel(handle);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    }
    rt->kernels = grown;
    cn_kernel_entry *k = &rt->kernels[rt->kernel_count];
    k->program = dup_or_empty(program);
    k->options = dup_or_empty(options);
    k->kernel = dup_or_empty(kernel);
    k->handle = handle;
    if (!k->program || !k->options || !k->kernel) {
        free(k->program);
        free(k->options);
        free(k->kernel);
        clReleaseKernel(handle);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory remembering kernel %s of %s.cl", kernel, program);
    }
    rt->kernel_count++;
    *out = handle;
    return CN_OK;
}

/* The program and function of each cn_kernel_id. */
static const struct {
    const char *program, *function;
} kernel_names[CN_KERNEL_COUNT] = {
    [CN_KERNEL_RELU_FORWARD] = {"activation", "cn_relu_forward"},
    [CN_KERNEL_RELU_BACKWARD] = {"activation", "cn_relu_backward"},
    [CN_KERNEL_LEAKY_RELU_FORWARD] = {"activation", "cn_leaky_relu_forward"},
    [CN_KERNEL_LEAKY_RELU_BACKWARD] = {"activation", "cn_leaky_relu_backward"},
    [CN_KERNEL_TANH_FORWARD] = {"activation", "cn_tanh_forward"},
    [CN_KERNEL_TANH_BACKWARD] = {"activation", "cn_tanh_backward"},
    [CN_KERNEL_ADAM_UPDATE] = {"adam", "cn_adam_update"},
    [CN_KERNEL_BATCHNORM_STATISTICS] = {"batchnorm", "cn_batchnorm_statistics"},
    [CN_KERNEL_BATCHNORM_NORMALISE] = {"batchnorm", "cn_batchnorm_normalise"},
    [CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS] = {"batchnorm", "cn_batchnorm_channel_gradient_sums"},
    [CN_KERNEL_BATCHNORM_BACKWARD_DATA] = {"batchnorm", "cn_batchnorm_backward_data"},
    [CN_KERNEL_BATCHNORM_BACKWARD_PARAMS] = {"batchnorm", "cn_batchnorm_backward_params"},
    [CN_KERNEL_BATCHNORM_STATISTICS_GROUP] = {"batchnorm", "cn_batchnorm_statistics_group"},
    [CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS_GROUP] = {"batchnorm", "cn_batchnorm_channel_gradient_sums_group"},
    [CN_KERNEL_BATCHNORM_BACKWARD_DATA_GROUP] = {"batchnorm", "cn_batchnorm_backward_data_group"},
    [CN_KERNEL_BATCHNORM_BACKWARD_PARAMS_GROUP] = {"batchnorm", "cn_batchnorm_backward_params_group"},
    [CN_KERNEL_BIAS_ACTIVATION_FORWARD] = {"bias", "cn_bias_activation_forward"},
    [CN_KERNEL_BIAS_BACKWARD_PARAMS] = {"bias", "cn_bias_backward_params"},
    [CN_KERNEL_IM2COL] = {"im2col", "cn_im2col"},
    [CN_KERNEL_COL2IM] = {"im2col", "cn_col2im"},
    [CN_KERNEL_COL2IM_CHANNELS] = {"im2col", "cn_col2im_channels"},
    [CN_KERNEL_TRANSPOSE] = {"im2col", "cn_transpose"},
    [CN_KERNEL_LANGEVIN_STEP] = {"langevin", "cn_langevin_step"},
    [CN_KERNEL_NOISE_NORMAL] = {"noise", "cn_noise_normal"},
    [CN_KERNEL_PHILOX_RAW] = {"noise", "cn_philox_raw"},
    [CN_KERNEL_REDUCE_CHUNKS] = {"reduce", "cn_reduce_chunks"},
    [CN_KERNEL_REDUCE_ROWS_GROUP] = {"reduce", "cn_reduce_rows_group"},
    [CN_KERNEL_SCALED_DIFFERENCE] = {"reduce", "cn_scaled_difference"},
    [CN_KERNEL_MASKED_DIFFERENCE] = {"reduce", "cn_masked_difference"},
    [CN_KERNEL_TEST_AXPY] = {"test_kernels", "cn_axpy"},
    [CN_KERNEL_PEAK_FMA_1] = {"peak", "cn_peak_fma_1"},
    [CN_KERNEL_PEAK_FMA_4] = {"peak", "cn_peak_fma_4"},
    [CN_KERNEL_PEAK_FMA_8] = {"peak", "cn_peak_fma_8"},
    [CN_KERNEL_PEAK_FMA_16] = {"peak", "cn_peak_fma_16"},
    [CN_KERNEL_PEAK_COPY] = {"peak", "cn_peak_copy"},
};

cn_status cn_kernel_by_id(cn_runtime *rt, cn_kernel_id id, cl_kernel *out, cn_error *e) {
    if ((unsigned)id >= CN_KERNEL_COUNT || !kernel_names[id].program)
        return cn_error_set(e, CN_ERR_ARG, "no kernel with id %d in this build", (int)id);
    if (!rt->kernels_by_id[id])
        CN_TRY(cn_kernel_get(rt, kernel_names[id].program, NULL, kernel_names[id].function, &rt->kernels_by_id[id], e));
    *out = rt->kernels_by_id[id];
    return CN_OK;
}

/* One program's binary file and its manifest entry. */
static cn_status export_program(cn_runtime *rt, const cn_program_entry *entry, const char *dir, cJSON *list,
                                cn_error *e) {
    const cn_cl_source *src = cn_cl_source_find(entry->name);
    if (!src) return cn_error_set(e, CN_ERR_ARG, "exporting program %s: no kernel source of that name", entry->name);
    char opts[1024], options_hash[17], source_hash[17], sum_hex[17], file[256], path[1400];
    full_options(entry->options, opts, sizeof opts);
    hex64(cn_fnv1a(CN_FNV1A_START, opts, strlen(opts)), options_hash);
    hex64(cn_fnv1a(CN_FNV1A_START, src->text, src->length), source_hash);
    snprintf(file, sizeof file, "%s-%.8s.bin", entry->name, options_hash);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t n;
    unsigned char *bin = program_binary(entry->program, &n);
    if (!bin)
        return cn_error_set(e, CN_ERR_CL, "device %d (%s) gives no binary (CL_PROGRAM_BINARIES) for program %s",
                            rt->device.index, rt->device.name, entry->name);
    hex64(cn_fnv1a(CN_FNV1A_START, bin, n), sum_hex);
    cn_status written = cn_atomic_write_file(path, "the device binary of a program", bin, n, e);
    free(bin);
    CN_TRY(written);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(list, o);
    return cJSON_AddStringToObject(o, "name", entry->name) && cJSON_AddStringToObject(o, "options", opts) &&
                   cJSON_AddStringToObject(o, "source_fnv1a", source_hash) &&
                   cJSON_AddStringToObject(o, "file", file) && cJSON_AddNumberToObject(o, "bytes", (double)n) &&
                   cJSON_AddStringToObject(o, "binary_fnv1a", sum_hex)
               ? CN_OK
               : cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the binaries manifest");
}

cn_status cn_programs_export(cn_runtime *rt, const char *dir, cn_error *e) {
    CN_TRY(cn_make_dirs(dir, e));
    const cn_device_info *d = &rt->device;
    cJSON *m = cJSON_CreateObject(), *list = cJSON_CreateArray();
    cn_status s = m && list && cJSON_AddStringToObject(m, "format", MANIFEST_FORMAT) &&
                          cJSON_AddStringToObject(m, "device", d->name) &&
                          cJSON_AddStringToObject(m, "vendor", d->vendor) &&
                          cJSON_AddStringToObject(m, "platform", d->platform_name) &&
                          cJSON_AddStringToObject(m, "device_version", d->version) &&
                          cJSON_AddStringToObject(m, "driver_version", d->driver_version) &&
                          cJSON_AddItemToObject(m, "programs", list)
                      ? CN_OK
                      : cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the binaries manifest");
    if (s != CN_OK) cJSON_Delete(list);
    for (size_t i = 0; i < rt->program_count && s == CN_OK; i++) s = export_program(rt, &rt->programs[i], dir, list, e);
    char *text = s == CN_OK ? cJSON_Print(m) : NULL;
    if (s == CN_OK && !text) s = cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the binaries manifest");
    if (s == CN_OK) {
        char path[1200];
        snprintf(path, sizeof path, "%s/" MANIFEST_NAME, dir);
        s = cn_atomic_write_file(path, "the binaries manifest", text, strlen(text), e);
    }
    free(text);
    cJSON_Delete(m);
    return s;
}

void cn_programs_release(cn_runtime *rt) {
    for (size_t i = 0; i < rt->kernel_count; i++) {
        clReleaseKernel(rt->kernels[i].handle);
        free(rt->kernels[i].program);
        free(rt->kernels[i].options);
        free(rt->kernels[i].kernel);
    }
    for (size_t i = 0; i < rt->program_count; i++) {
        clReleaseProgram(rt->programs[i].program);
        free(rt->programs[i].name);
        free(rt->programs[i].options);
    }
    free(rt->kernels);
    free(rt->programs);
    rt->kernels = NULL;
    rt->programs = NULL;
    rt->kernel_count = rt->program_count = 0;
    memset(rt->kernels_by_id, 0, sizeof rt->kernels_by_id);
    if (rt->binaries) cJSON_Delete(rt->binaries->manifest);
    free(rt->binaries);
    rt->binaries = NULL;
}
