/* The runtime: device listing, buffers, the memory checks, the program binary cache (hit,
 * corruption, rebuild), build failures with their log, and fault injection (in a child process,
 * since COOPNETS_FAULT is read once per process). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coopnets/cn_tuning.h"
#include "support/cn_test.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_power_of_two(unsigned long long v) { return v && !(v & (v - 1)); }

static void test_devices(void) {
    cn_device_info *devices = NULL;
    size_t count = 0;
    CHECK_OK(cn_devices_list(&devices, &count, TE));
    CHECK(count > 0, "no device listed");
    for (size_t i = 0; i < count; i++) {
        const cn_device_info *d = &devices[i];
        printf("  device %d: %s | %s | %s | %u CUs | %.0f MiB global, %.0f MiB max alloc | wg %zu | align %u\n",
               d->index, cn_device_type_name(d->type), d->name, d->version, d->compute_units,
               d->global_mem_bytes / 1048576.0, d->max_alloc_bytes / 1048576.0, d->max_work_group_size,
               d->base_addr_align_bytes);
        CHECK(d->index == (int)i, "device %zu has index %d", i, d->index);
        CHECK(d->name[0] && d->vendor[0] && d->platform_name[0], "device %zu: empty name, vendor or platform", i);
        CHECK(strncmp(d->version, "OpenCL ", 7) == 0, "device %zu: version \"%s\"", i, d->version);
        CHECK(d->compute_units >= 1 && d->max_work_group_size >= 1, "device %zu: no compute units or work-items", i);
        CHECK(d->max_alloc_bytes > 0 && d->max_alloc_bytes <= d->global_mem_bytes,
              "device %zu: max alloc %llu vs global %llu bytes", i, (unsigned long long)d->max_alloc_bytes,
              (unsigned long long)d->global_mem_bytes);
        CHECK(is_power_of_two(d->base_addr_align_bytes) && d->base_addr_align_bytes >= 4,
              "device %zu: base address alignment %u", i, d->base_addr_align_bytes);
        CHECK(d->id && d->platform, "device %zu: no handles", i);
    }
    size_t chosen = count;
    CHECK_OK(cn_device_choose(devices, count, 0, &chosen, TE));
    CHECK(chosen == 0, "--device 0 chose %zu", chosen);
    CHECK_OK(cn_device_choose(devices, count, -1, &chosen, TE));
    CHECK(chosen < count, "automatic choice %zu of %zu devices", chosen, count);
    CHECK(cn_device_choose(devices, count, (int)count, &chosen, TE) == CN_ERR_DEVICE, "device %zu accepted", count);
    CHECK(strstr(cn_test_error.message, "no such device") != NULL, "message: %s", cn_test_error.message);
    free(devices);
}

/* COOPNETS_VECTOR_WIDTH replaces the widths the device reports, and with them the GEMM's
 * heuristic on a CPU (8-wide: packed 6x16); a width no kernel has is refused in words. */
static void test_vector_width(void) {
    printf("COOPNETS_VECTOR_WIDTH\n");
    setenv("COOPNETS_VECTOR_WIDTH", "8", 1);
    cn_device_info *devices = NULL;
    size_t count = 0;
    CHECK_OK(cn_devices_list(&devices, &count, TE));
    for (size_t i = 0; i < count; i++)
        CHECK(devices[i].float_width == 8 && devices[i].native_float_width == 8, "device %zu: widths %u / %u", i,
              devices[i].float_width, devices[i].native_float_width);
    free(devices);
    cn_runtime *rt = NULL;
    cn_runtime_options o = cn_runtime_default_options();
    CHECK_OK(cn_runtime_open(&rt, &o, TE));
    if (rt) {
        const cn_kernel_variant v = cn_tuning_heuristic(rt, CN_TUNED_GEMM);
        char name[64];
        cn_kernel_variant_format(v, name, sizeof name);
        printf("  8 floats per vector on %s: GEMM heuristic %s\n", rt->device.name, name);
        if ((rt->device.type & CL_DEVICE_TYPE_CPU) && !(rt->device.type & CL_DEVICE_TYPE_GPU))
            CHECK(v.kind == CN_VARIANT_PACKED && v.p == 6 && v.q == 16, "8-wide CPU: GEMM heuristic %s", name);
        cn_runtime_close(rt);
    }
    setenv("COOPNETS_VECTOR_WIDTH", "12", 1);
    CHECK(cn_devices_list(&devices, &count, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "COOPNETS_VECTOR_WIDTH=12") != NULL,
          "COOPNETS_VECTOR_WIDTH=12 must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    unsetenv("COOPNETS_VECTOR_WIDTH");
}

static void check_floats(const float *got, const float *want, size_t n, const char *what) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
    CHECK(bad == 0, "%s: %zu of %zu values differ", what, bad, n);
}

static void test_buffers(cn_runtime *rt) {
    enum { N = 1000 };
    float src[N], got[N], want[N];
    cn_test_rng rng = {1};
    cn_test_fill_uniform(&rng, src, N, -1, 1);
    size_t before = rt->stats.bytes_allocated;

    cn_buffer a, b;
    CHECK_OK(cn_buffer_alloc(rt, &a, sizeof src, "buffer a", TE));
    CHECK_OK(cn_buffer_alloc(rt, &b, sizeof src, "buffer b", TE));
    CHECK(rt->stats.bytes_allocated == before + 2 * sizeof src, "bytes allocated %zu, want %zu",
          rt->stats.bytes_allocated, before + 2 * sizeof src);
    CHECK(rt->stats.peak_bytes_allocated >= rt->stats.bytes_allocated, "peak below current");

    CHECK_OK(cn_buffer_write(rt, &a, 0, src, sizeof src, TE));
    CHECK_OK(cn_buffer_read(rt, &a, 0, got, sizeof got, TE));
    check_floats(got, src, N, "write/read round trip");

    /* fill a middle range, copy a range with offsets on both sides */
    memcpy(want, src, sizeof src);
    for (size_t i = 10; i < 110; i++) want[i] = 3.5f;
    CHECK_OK(cn_buffer_fill_f32(rt, &a, 3.5f, 10, 100, TE));
    CHECK_OK(cn_buffer_read(rt, &a, 0, got, sizeof got, TE));
    check_floats(got, want, N, "fill of [10, 110)");

    CHECK_OK(cn_buffer_fill_f32(rt, &b, -1.0f, 0, N, TE));
    CHECK_OK(cn_buffer_copy(rt, &b, 200 * sizeof(float), &a, 5 * sizeof(float), 300 * sizeof(float), TE));
    for (size_t i = 0; i < N; i++) want[i] = i >= 200 && i < 500 ? got[i - 195] : -1.0f;
    CHECK_OK(cn_buffer_read(rt, &b, 0, got, sizeof got, TE));
    check_floats(got, want, N, "copy of 300 floats from offset 5 to offset 200");

    /* a view at the device's alignment sees and changes its parent's bytes and is not counted */
    size_t align = rt->device.base_addr_align_bytes, offset = align;
    if (offset + 64 * sizeof(float) <= sizeof src) {
        cn_buffer view;
        size_t allocated = rt->stats.bytes_allocated;
        CHECK_OK(cn_buffer_view(rt, &view, &a, offset, 64 * sizeof(float), TE));
        CHECK(rt->stats.bytes_allocated == allocated, "a view counted as an allocation");
        float ones[64];
        for (size_t i = 0; i < 64; i++) ones[i] = 1.0f + (float)i;
        CHECK_OK(cn_buffer_write(rt, &view, 0, ones, sizeof ones, TE));
        CHECK_OK(cn_buffer_read(rt, &a, offset, got, sizeof ones, TE));
        check_floats(got, ones, 64, "write through a view, read from the parent");
        cn_buffer_free(rt, &view);
        CHECK(rt->stats.bytes_allocated == allocated, "freeing a view changed the bytes allocated");
    } else {
        CHECK(0, "the device alignment %zu leaves no room for a view in a %zu-byte buffer", align, sizeof src);
    }
    cn_buffer misaligned;
    CHECK(cn_buffer_view(rt, &misaligned, &a, align / 2, 16, TE) == CN_ERR_ARG, "misaligned view accepted");
    CHECK(cn_buffer_view(rt, &misaligned, &a, 0, sizeof src + 4, TE) == CN_ERR_ARG, "view beyond its parent accepted");

    CHECK(cn_buffer_write(rt, &a, 4, src, sizeof src, TE) == CN_ERR_ARG, "write past the end accepted");
    CHECK(cn_buffer_read(rt, &a, sizeof src + 4, got, 0, TE) == CN_ERR_ARG, "read at an offset past the end accepted");
    CHECK(cn_buffer_fill_f32(rt, &a, 0.0f, N - 1, 2, TE) == CN_ERR_ARG, "fill past the end accepted");
    CHECK(cn_buffer_copy(rt, &b, 0, &a, 8, sizeof src, TE) == CN_ERR_ARG, "copy past the end accepted");

    cn_buffer_free(rt, &a);
    cn_buffer_free(rt, &b);
    CHECK(rt->stats.bytes_allocated == before, "bytes allocated %zu after freeing, want %zu", rt->stats.bytes_allocated,
          before);
    cn_buffer_free(rt, &a); /* freeing twice is harmless: the first free cleared it */
}

static void test_memory_limits(cn_runtime *rt) {
    cn_buffer big;
    size_t too_big = (size_t)rt->device.max_alloc_bytes + 1;
    CHECK(cn_buffer_alloc(rt, &big, too_big, "the giant test buffer", TE) == CN_ERR_OOM, "%zu bytes accepted", too_big);
    CHECK(strstr(cn_test_error.message, "MiB") && strstr(cn_test_error.message, "the giant test buffer") &&
              strstr(cn_test_error.message, "CL_DEVICE_MAX_MEM_ALLOC_SIZE"),
          "message: %s", cn_test_error.message);
    printf("  too large: %s\n", cn_test_error.message);
    CHECK(big.mem == NULL, "a refused buffer holds a handle");
    size_t too_much = (size_t)rt->device.global_mem_bytes + 1;
    CHECK(cn_device_memory_check(rt, too_much, 1024, "the whole net", TE) == CN_ERR_OOM, "%zu bytes in all accepted",
          too_much);
    CHECK(strstr(cn_test_error.message, "MiB") && strstr(cn_test_error.message, "CL_DEVICE_GLOBAL_MEM_SIZE"),
          "message: %s", cn_test_error.message);
    CHECK_OK(cn_device_memory_check(rt, 1 << 20, 1 << 20, "a small net", TE));
}

/* ---- program cache ---------------------------------------------------------------------------- */

static cn_runtime *open_cached(const char *dir) {
    cn_runtime_options o = cn_runtime_default_options();
    o.cache_dir = dir;
    cn_runtime *rt = NULL;
    CHECK_OK(cn_runtime_open(&rt, &o, TE));
    return rt;
}

/* Runs cn_cache_test (x[i] = x[i] * 2 + 1) and checks the result: a program from the cache works. */
static void check_program_runs(cn_runtime *rt, cl_program p, const char *what) {
    enum { N = 37 };
    cl_int err;
    cl_kernel k = clCreateKernel(p, "cn_cache_test", &err);
    CHECK(err == CL_SUCCESS, "%s: creating the kernel: %s", what, cn_cl_error_name(err));
    if (err != CL_SUCCESS) return;
    float x[N], want[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)i - 10;
        want[i] = x[i] * 2 + 1;
    }
    cn_buffer b;
    cn_test_upload(rt, &b, x, N, "cache test data");
    size_t global = N;
    CHECK_OK(cn_launch(rt, k, 1, &global, NULL, (const cn_arg[]){CN_MEM(&b)}, 1, TE));
    cn_test_download(rt, &b, x, N);
    check_floats(x, want, N, what);
    cn_buffer_free(rt, &b);
    clReleaseKernel(k);
}

/* The one file in dir, or "" (the cache of this test holds a single program). */
static void only_file(const char *dir, char *path, size_t size) {
    path[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    int files = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (ent->d_name[0] == '.') continue;
        files++;
        snprintf(path, size, "%s/%s", dir, ent->d_name);
    }
    closedir(d);
    if (files != 1) path[0] = 0;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    char path[2048];
    for (struct dirent *ent; (ent = readdir(d));) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(dir);
}

typedef enum { FLIP_BYTE, TRUNCATE } corruption;

static void corrupt_file(const char *path, corruption how) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open the cache file %s", path);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    if (how == FLIP_BYTE) cn_test_flip_byte(path, size - size / 3, 0x5a); /* inside the binary, past the header */
    else CHECK(truncate(path, size / 2) == 0, "cannot truncate %s", path);
}

/* Builds text in a fresh runtime on the cache in dir; returns the stats after the build. */
static cn_runtime_stats build_in_fresh_runtime(const char *dir, const char *text, const char *what, double *seconds) {
    cn_runtime_stats stats = {0};
    cn_runtime *rt = open_cached(dir);
    if (!rt) return stats;
    cl_program p = NULL;
    double t0 = now_seconds();
    CHECK_OK(cn_program_build_text(rt, what, text, strlen(text), NULL, &p, TE));
    *seconds = now_seconds() - t0;
    if (p) {
        check_program_runs(rt, p, what);
        clReleaseProgram(p);
    }
    stats = rt->stats;
    cn_runtime_close(rt);
    return stats;
}

static void test_program_cache(void) {
    char dir[] = "/tmp/cn_test_runtime_cache.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "cannot make a temporary folder %s", dir);
        return;
    }
    /* A source no cache has seen (PoCL's included), so the first build is really cold. */
    char text[512];
    snprintf(text, sizeof text,
             "/* test_runtime %ld.%ld */\n"
             "__kernel void cn_cache_test(__global float *x) {\n"
             "    size_t i = get_global_id(0);\n"
             "    x[i] = x[i] * 2.0f + 1.0f;\n"
             "}\n",
             (long)getpid(), (long)time(NULL));

    double cold, warm, rebuilt, truncated, again;
    cn_runtime_stats s = build_in_fresh_runtime(dir, text, "cache test (cold)", &cold);
    CHECK(s.cache_misses == 1 && s.cache_hits == 0 && s.cache_corrupt == 0, "cold build: %u misses %u hits %u corrupt",
          s.cache_misses, s.cache_hits, s.cache_corrupt);
    char path[2048];
    only_file(dir, path, sizeof path);
    CHECK(path[0] != 0, "the cold build left no single cache file in %s", dir);

    /* The documented way to find the entry must name the file the build wrote. */
    cn_runtime *rt = open_cached(dir);
    if (rt) {
        char named[2048];
        CHECK_OK(cn_program_cache_path(rt, text, strlen(text), NULL, named, sizeof named));
        CHECK(strcmp(named, path) == 0, "cn_program_cache_path names %s but the build wrote %s", named, path);
        cn_runtime_close(rt);
    }

    s = build_in_fresh_runtime(dir, text, "cache test (warm)", &warm);
    CHECK(s.cache_hits == 1 && s.cache_misses == 0 && s.cache_corrupt == 0, "warm build: %u hits %u misses %u corrupt",
          s.cache_hits, s.cache_misses, s.cache_corrupt);

    corrupt_file(path, FLIP_BYTE);
    s = build_in_fresh_runtime(dir, text, "cache test (flipped byte)", &rebuilt);
    CHECK(s.cache_corrupt == 1 && s.cache_misses == 1 && s.cache_hits == 0,
          "after a flipped byte: %u corrupt %u misses %u hits", s.cache_corrupt, s.cache_misses, s.cache_hits);

    corrupt_file(path, TRUNCATE);
    s = build_in_fresh_runtime(dir, text, "cache test (truncated)", &truncated);
    CHECK(s.cache_corrupt == 1 && s.cache_misses == 1 && s.cache_hits == 0,
          "after truncation: %u corrupt %u misses %u hits", s.cache_corrupt, s.cache_misses, s.cache_hits);

    /* the rebuild rewrote an intact entry */
    s = build_in_fresh_runtime(dir, text, "cache test (after rebuild)", &again);
    CHECK(s.cache_hits == 1 && s.cache_corrupt == 0, "after the rebuild: %u hits %u corrupt", s.cache_hits,
          s.cache_corrupt);
    printf("  program build: cold %.3f s, warm (cache hit) %.3f s, rebuilt after corruption %.3f s / %.3f s, "
           "hit again %.3f s\n",
           cold, warm, rebuilt, truncated, again);
    CHECK(warm < cold, "a cache hit (%.3f s) was not faster than a cold build (%.3f s)", warm, cold);
    remove_dir(dir);
}

static void test_build_failure(cn_runtime *rt) {
    const char *broken = "__kernel void cn_broken(__global float *x) { x[0] = undeclared_thing_42; }\n";
    cl_program p = NULL;
    cn_status s = cn_program_build_text(rt, "broken test kernel", broken, strlen(broken), NULL, &p, TE);
    CHECK(s == CN_ERR_BUILD, "a broken kernel gave %s", cn_status_name(s));
    CHECK(p == NULL, "a failed build returned a program");
    CHECK(strstr(cn_test_error.message, "broken test kernel") != NULL, "message: %s", cn_test_error.message);
    CHECK(cn_test_error.log && strstr(cn_test_error.log, "undeclared_thing_42"), "build log: %s",
          cn_test_error.log ? cn_test_error.log : "(none)");
    cn_error_clear(&cn_test_error);

    cl_kernel k;
    CHECK(cn_kernel_get(rt, "no_such_program", NULL, "cn_x", &k, TE) == CN_ERR_ARG, "a missing program accepted");
    CHECK(strstr(cn_test_error.message, "no_such_program") != NULL, "message: %s", cn_test_error.message);
    CHECK(cn_kernel_get(rt, "test_kernels", NULL, "cn_no_such_kernel", &k, TE) == CN_ERR_CL, "a missing kernel accepted");
    CHECK(strstr(cn_test_error.message, "cn_no_such_kernel") != NULL, "message: %s", cn_test_error.message);

    /* Every id names a kernel of this build, made once and then found by its id. */
    for (int id = 0; id < CN_KERNEL_COUNT; id++) {
        CHECK(cn_kernel_by_id(rt, (cn_kernel_id)id, &k, TE) == CN_OK, "kernel id %d: %s", id, cn_test_error.message);
        cl_kernel again = NULL;
        CHECK(cn_kernel_by_id(rt, (cn_kernel_id)id, &again, TE) == CN_OK && again == k && rt->kernels_by_id[id] == k,
              "kernel id %d made twice", id);
    }
    cl_kernel by_name;
    CHECK_OK(cn_kernel_get(rt, "test_kernels", NULL, "cn_axpy", &by_name, TE));
    CHECK(by_name == rt->kernels_by_id[CN_KERNEL_TEST_AXPY], "cn_axpy by name and by id are two kernels");
    CHECK(cn_kernel_by_id(rt, CN_KERNEL_COUNT, &k, TE) == CN_ERR_ARG, "an id beyond the table accepted");
}

/* A kernel of an embedded program through CN_RUN: y = 0.5 * x + y over a size that is not a round number. */
static void test_launch(cn_runtime *rt) {
    enum { N = 999 };
    float x[N], y[N], want[N];
    cn_test_rng rng = {3};
    cn_test_fill_uniform(&rng, x, N, -2, 2);
    cn_test_fill_uniform(&rng, y, N, -2, 2);
    for (size_t i = 0; i < N; i++) want[i] = fmaf(0.5f, x[i], y[i]);
    cn_buffer bx, by;
    cn_test_upload(rt, &bx, x, N, "x");
    cn_test_upload(rt, &by, y, N, "y");
    size_t global = N;
    CHECK_OK(CN_RUN(rt, CN_KERNEL_TEST_AXPY, 1, &global, NULL, TE, CN_MEM(&by), CN_MEM(&bx), CN_F32(0.5f), CN_U64(N)));
    CHECK_OK(cn_finish(rt, TE));
    cn_test_download(rt, &by, y, N);
    check_floats(y, want, N, "cn_axpy");
    cn_buffer_free(rt, &bx);
    cn_buffer_free(rt, &by);
}

/* Work-group sizes fitted to a device smaller than this one (its limits lowered in place), and
 * launches beyond the limits refused in words before anything is enqueued. */
static void test_launch_limits(cn_runtime *rt) {
    const cn_device_info saved = rt->device;
    rt->device.max_work_group_size = 8;
    rt->device.max_work_item_sizes[0] = 8, rt->device.max_work_item_sizes[1] = 4, rt->device.max_work_item_sizes[2] = 1;
    rt->device.local_mem_bytes = 1024;
    cl_kernel k;
    CHECK_OK(cn_kernel_get(rt, "test_kernels", NULL, "cn_axpy", &k, TE));
    size_t local[3] = {0, 0, 0};
    CHECK_OK(cn_local_size(rt, k, 3, (const size_t[]){16, 16, 2}, local, TE));
    printf("  16 x 16 x 2 fitted to 8 items (8 x 4 x 1 per dimension): %zu x %zu x %zu\n", local[0], local[1], local[2]);
    CHECK(local[0] >= 1 && local[1] >= 1 && local[2] >= 1 && local[0] <= 8 && local[1] <= 4 && local[2] <= 1 &&
              local[0] * local[1] * local[2] <= 8 && local[0] * local[1] * local[2] >= 4,
          "16 x 16 x 2 fitted to %zu x %zu x %zu", local[0], local[1], local[2]);
    CHECK_OK(cn_local_size(rt, k, 1, (const size_t[]){6}, local, TE));
    CHECK(local[0] == 6, "a work-group of 6 that fits became %zu", local[0]);

    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, 64 * sizeof(float), "limits", TE));
    const size_t global = 64, too_wide = 16;
    CHECK(CN_RUN(rt, CN_KERNEL_TEST_AXPY, 1, &global, &too_wide, TE, CN_MEM(&b), CN_MEM(&b), CN_F32(1), CN_U64(64)) ==
              CN_ERR_ARG && strstr(cn_test_error.message, "cn_axpy") &&
              strstr(cn_test_error.message, "CL_KERNEL_WORK_GROUP_SIZE"),
          "a work-group of 16 on a device of 8 must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    CHECK(CN_RUN(rt, CN_KERNEL_TEST_AXPY, 1, &global, NULL, TE, CN_MEM(&b), CN_MEM(&b), CN_F32(1), CN_U64(64),
                 CN_LOCAL(2048)) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "CL_DEVICE_LOCAL_MEM_SIZE"),
          "2 KiB of local memory on a device of 1 KiB must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    CHECK_OK(cn_finish(rt, TE));
    cn_buffer_free(rt, &b);
    rt->device = saved;
}

/* ---- fault injection -------------------------------------------------------------------------- */

/* In the child: COOPNETS_FAULT is set, the expectations checked here, the exit status reports. */
static int fault_child(const char *kind) {
    cn_runtime_options o = cn_runtime_default_options();
    o.no_cache = 1;
    cn_runtime *rt = NULL;
    if (strcmp(kind, "cl") == 0) {
        /* cl:1 - the first checked OpenCL call, listing the platforms, fails: no runtime */
        cn_status s = cn_runtime_open(&rt, &o, TE);
        CHECK(s == CN_ERR_DEVICE && rt == NULL, "runtime opened under cl:1 (%s)", cn_status_name(s));
        printf("  fault cl:1 -> %s: %s\n", cn_status_name(s), cn_test_error.message);
    } else {
        /* alloc:2 - only the second allocation fails, in words, and the runtime goes on */
        CHECK_OK(cn_runtime_open(&rt, &o, TE));
        if (!rt) return cn_test_finish();
        cn_buffer a, b, c;
        CHECK_OK(cn_buffer_alloc(rt, &a, 4096, "first", TE));
        cn_status s = cn_buffer_alloc(rt, &b, 4096, "second", TE);
        CHECK(s == CN_ERR_OOM && b.mem == NULL, "the second allocation gave %s", cn_status_name(s));
        CHECK(strstr(cn_test_error.message, "second") && strstr(cn_test_error.message, "4096 bytes"), "message: %s",
              cn_test_error.message);
        printf("  fault alloc:2 -> %s: %s\n", cn_status_name(s), cn_test_error.message);
        CHECK_OK(cn_buffer_alloc(rt, &c, 4096, "third", TE));
        CHECK(rt->stats.bytes_allocated == 2 * 4096, "bytes allocated %zu after a failed allocation",
              rt->stats.bytes_allocated);
        cn_buffer_free(rt, &a);
        cn_buffer_free(rt, &c);
        cn_runtime_close(rt);
    }
    return cn_test_finish();
}

static void run_fault_child(const char *spec, const char *kind) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("COOPNETS_FAULT", spec, 1);
        execl("/proc/self/exe", "test_runtime", "--fault-child", kind, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "cannot run the fault child");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fault child %s failed (status %d)", spec, status);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fault-child") == 0) return fault_child(argv[2]);
    test_devices();
    test_vector_width();
    cn_runtime *rt = cn_test_runtime();
    test_buffers(rt);
    test_memory_limits(rt);
    test_build_failure(rt);
    test_launch(rt);
    test_launch_limits(rt);
    test_program_cache();
    run_fault_child("cl:1", "cl");
    run_fault_child("alloc:2", "alloc");
    return cn_test_finish();
}
