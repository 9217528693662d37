/* Program build with an on-disk binary cache, and the per-runtime kernel table.
 *
 * Cache entries are keyed by a 128-bit hash of device name, vendor, driver version, build options
 * and the full source text (the Random123 headers are inside it). An entry is
 *   "CNPC" | u32 version | u64 key[2] | u64 binary size | u64 FNV-1a of the binary | binary
 * written to a temporary file and renamed, so readers never see half an entry; a checksum or size
 * mismatch counts as corrupt: the program is rebuilt from source and the entry rewritten. */
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

static cn_status build(cn_runtime *rt, const char *label, const char *text, size_t length, const char *options,
                       cl_program *out, cn_error *e) {
    double t0 = cn_seconds_now();
    char opts[1024];
    full_options(options, opts, sizeof opts);
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
        size_t n = 0;
        if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) == CL_SUCCESS && n > 0) {
            unsigned char *bin = malloc(n);
            unsigned char *bins[] = {bin};
            if (bin && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
                cache_write(path, key, bin, n);
            free(bin);
        }
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
}
