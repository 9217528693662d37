/* Device discovery and choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_runtime.h"

#define CN_PLATFORM_NOT_FOUND (-1001) /* CL_PLATFORM_NOT_FOUND_KHR, from cl_ext.h */

const char *cn_device_type_name(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU) return "GPU";
    if (type & CL_DEVICE_TYPE_CPU) return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return "ACCEL";
    return "OTHER";
}

static void info_string(cl_device_id d, cl_device_info what, char *out, size_t size) {
    if (clGetDeviceInfo(d, what, size, out, NULL) != CL_SUCCESS) snprintf(out, size, "?");
    out[size - 1] = 0;
}

static void describe(cn_device_info *info) {
    cl_device_id d = info->id;
    info_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    info_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    info_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    info_string(d, CL_DEVICE_VERSION, info->version, sizeof info->version);
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof info->type, &info->type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof info->compute_units, &info->compute_units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof info->clock_mhz, &info->clock_mhz, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof info->global_mem_bytes, &info->global_mem_bytes, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof info->max_alloc_bytes, &info->max_alloc_bytes, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof info->local_mem_bytes, &info->local_mem_bytes, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof info->max_work_group_size, &info->max_work_group_size,
                    NULL);
    size_t items[3] = {1, 1, 1};
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL);
    memcpy(info->max_work_item_sizes, items, sizeof items);
    cl_bool compiler = CL_TRUE;
    clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    info->compiler_available = compiler == CL_TRUE;
    cl_uint align_bits = 1024;
    clGetDeviceInfo(d, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    info->base_addr_align_bytes = align_bits / 8 ? align_bits / 8 : 128;
    char ext[8192];
    info_string(d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    cl_device_fp_config fp64 = 0;
    clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
    info->fp64 = fp64 != 0 || strstr(ext, "cl_khr_fp64") != NULL;
    info->float_width = info->native_float_width = 1;
    clGetDeviceInfo(d, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof info->float_width, &info->float_width, NULL);
    clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof info->native_float_width,
                    &info->native_float_width, NULL);
}

/* COOPNETS_VECTOR_WIDTH (cn_device_info.float_width): 0 when unset. */
static cn_status vector_width_override(cl_uint *width, cn_error *e) {
    *width = 0;
    const char *v = getenv("COOPNETS_VECTOR_WIDTH");
    if (!v) return CN_OK;
    char *end = NULL;
    const unsigned long w = strtoul(v, &end, 10);
    if (end == v || *end || (w != 1 && w != 2 && w != 4 && w != 8 && w != 16))
        return cn_error_set(e, CN_ERR_ARG, "COOPNETS_VECTOR_WIDTH=%s: the floats per vector must be 1, 2, 4, 8 or 16",
                            v);
    *width = (cl_uint)w;
    return CN_OK;
}

/* The limits COOPNETS_TEST_DEVICE imposes (see cn_runtime.h); 0: none. */
typedef struct test_limits {
    size_t work_group;
    cl_ulong local_memory;
    int no_compiler;
} test_limits;

static cn_status test_limits_parse(test_limits *t, cn_error *e) {
    memset(t, 0, sizeof *t);
    const char *spec = getenv("COOPNETS_TEST_DEVICE");
    if (!spec) return CN_OK;
    for (const char *p = spec; *p;) {
        const size_t len = strcspn(p, ",");
        unsigned long long v = 0;
        int used = 0;
        if (len == strlen("no_compiler") && strncmp(p, "no_compiler", len) == 0) t->no_compiler = 1;
        else if (sscanf(p, "work_group=%llu%n", &v, &used) == 1 && (size_t)used == len && v > 0) t->work_group = v;
        else if (sscanf(p, "local_memory=%llu%n", &v, &used) == 1 && (size_t)used == len && v > 0) t->local_memory = v;
        else
            return cn_error_set(e, CN_ERR_ARG,
                                "COOPNETS_TEST_DEVICE=%s: \"%.*s\" is not work_group=N, local_memory=BYTES or "
                                "no_compiler",
                                spec, (int)len, p);
        p += len + (p[len] == ',');
    }
    return CN_OK;
}

static void test_limits_apply(const test_limits *t, cn_device_info *info) {
    if (t->work_group) {
        if (info->max_work_group_size > t->work_group) info->max_work_group_size = t->work_group;
        for (int d = 0; d < 3; d++)
            if (info->max_work_item_sizes[d] > t->work_group) info->max_work_item_sizes[d] = t->work_group;
    }
    if (t->local_memory && info->local_mem_bytes > t->local_memory) info->local_mem_bytes = t->local_memory;
    if (t->no_compiler) info->compiler_available = 0;
}

cn_status cn_devices_list(cn_device_info **devices, size_t *count, cn_error *e) {
    *devices = NULL;
    *count = 0;
    test_limits limits;
    CN_TRY(test_limits_parse(&limits, e));
    cl_uint width;
    CN_TRY(vector_width_override(&width, e));
    cl_uint nplat = 0;
    cl_int err = cn_fault_hit("cl") ? CN_PLATFORM_NOT_FOUND : clGetPlatformIDs(0, NULL, &nplat);
    if (err == CN_PLATFORM_NOT_FOUND || (err == CL_SUCCESS && nplat == 0))
        return cn_error_set(e, CN_ERR_DEVICE,
                            "no OpenCL platform found: install an OpenCL driver (on Debian: apt-get install "
                            "pocl-opencl-icd for the CPU) and check /etc/OpenCL/vendors");
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "listing OpenCL platforms");
    cl_platform_id *plats = calloc(nplat, sizeof *plats);
    if (!plats) return cn_error_set(e, CN_ERR_NOMEM, "out of memory listing platforms");
    clGetPlatformIDs(nplat, plats, NULL);
    size_t cap = 0, n = 0;
    cn_device_info *list = NULL;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev) != CL_SUCCESS || ndev == 0) continue;
        cl_device_id *ids = calloc(ndev, sizeof *ids);
        if (!ids) break;
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL);
        char pname[128] = "?";
        clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        pname[sizeof pname - 1] = 0;
        for (cl_uint i = 0; i < ndev; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                cn_device_info *grown = realloc(list, cap * sizeof *list);
                if (!grown) {
                    free(ids);
                    free(list);
                    free(plats);
                    return cn_error_set(e, CN_ERR_NOMEM, "out of memory listing devices");
                }
                list = grown;
            }
            cn_device_info *info = &list[n];
            memset(info, 0, sizeof *info);
            info->index = (int)n;
            info->platform_index = (int)p;
            info->platform = plats[p];
            info->id = ids[i];
            memcpy(info->platform_name, pname, sizeof pname);
            describe(info);
            if (width) info->float_width = info->native_float_width = width;
            test_limits_apply(&limits, info);
            n++;
        }
        free(ids);
    }
    free(plats);
    if (n == 0) {
        free(list);
        return cn_error_set(e, CN_ERR_DEVICE, "OpenCL platforms found but no device on any of them");
    }
    *devices = list;
    *count = n;
    return CN_OK;
}

cn_status cn_device_choose(const cn_device_info *devices, size_t count, int requested, size_t *chosen, cn_error *e) {
    const char *source = "--device";
    if (requested < 0) {
        const char *env = getenv("COOPNETS_DEVICE");
        if (env && *env) {
            char *end;
            long v = strtol(env, &end, 10);
            if (*end || v < 0)
                return cn_error_set(e, CN_ERR_DEVICE, "COOPNETS_DEVICE=%s is not a device index (0..%zu)", env,
                                    count - 1);
            requested = (int)v;
            source = "COOPNETS_DEVICE";
        }
    }
    if (requested >= 0) {
        if ((size_t)requested >= count)
            return cn_error_set(e, CN_ERR_DEVICE, "%s %d: no such device; this machine has %zu (0..%zu)", source,
                                requested, count, count - 1);
        *chosen = (size_t)requested;
        return CN_OK;
    }
    for (size_t i = 0; i < count; i++) {
        if (devices[i].type & CL_DEVICE_TYPE_GPU) {
            *chosen = i;
            return CN_OK;
        }
    }
    *chosen = 0;
    return CN_OK;
}
