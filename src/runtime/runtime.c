/* The run's context and in-order queue, device buffers and kernel launch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_runtime.h"
#include "runtime/runtime_internal.h"

cn_status cn_cl_fail(cn_error *e, cl_int code, const char *what_fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof what, what_fmt, ap);
    va_end(ap);
    cn_status s = CN_ERR_CL;
    if (code == CL_MEM_OBJECT_ALLOCATION_FAILURE || code == CL_OUT_OF_RESOURCES || code == CL_OUT_OF_HOST_MEMORY)
        s = CN_ERR_OOM;
    else if (code == CL_DEVICE_NOT_AVAILABLE || code == CL_DEVICE_NOT_FOUND || code == CL_INVALID_DEVICE)
        s = CN_ERR_DEVICE;
    return cn_error_set(e, s, "%s while %s", cn_cl_error_name(code), what);
}

cn_runtime_options cn_runtime_default_options(void) {
    cn_runtime_options o = {.device = -1};
    return o;
}

cn_status cn_runtime_open(cn_runtime **out, const cn_runtime_options *options, cn_error *e) {
    *out = NULL;
    cn_runtime_options defaults = cn_runtime_default_options();
    if (!options) options = &defaults;
    cn_device_info *devices;
    size_t count, chosen;
    CN_TRY(cn_devices_list(&devices, &count, e));
    cn_status s = cn_device_choose(devices, count, options->device, &chosen, e);
    if (s != CN_OK) {
        free(devices);
        return s;
    }
    cn_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        free(devices);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory creating the runtime");
    }
    rt->device = devices[chosen];
    free(devices);
    rt->profiling = options->profiling;
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)rt->device.platform, 0};
    rt->context = cn_fault_hit("cl") ? (err = CL_DEVICE_NOT_AVAILABLE, NULL)
                                     : clCreateContext(props, 1, &rt->device.id, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        s = cn_cl_fail(e, err, "creating a context on device %d (%s)", rt->device.index, rt->device.name);
        goto fail;
    }
    rt->queue = clCreateCommandQueue(rt->context, rt->device.id,
                                     options->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (err != CL_SUCCESS) {
        s = cn_cl_fail(e, err, "creating the command queue on device %d (%s)", rt->device.index, rt->device.name);
        goto fail;
    }
    s = cn_program_cache_init(rt, options, e);
    if (s == CN_OK) s = cn_binaries_open(rt, options, e);
    if (s != CN_OK) goto fail;
    *out = rt;
    return CN_OK;
fail:
    cn_runtime_close(rt);
    return s;
}

void cn_runtime_close(cn_runtime *rt) {
    if (!rt) return;
    if (rt->queue) clFinish(rt->queue);
    if (rt->gemm_release) rt->gemm_release(rt);
    if (rt->tuning_release) rt->tuning_release(rt);
    cn_programs_release(rt);
    if (rt->queue) clReleaseCommandQueue(rt->queue);
    if (rt->context) clReleaseContext(rt->context);
    free(rt);
}

cn_status cn_finish(cn_runtime *rt, cn_error *e) {
    cl_int err = cn_fault_hit("cl") ? CL_OUT_OF_RESOURCES : clFinish(rt->queue);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "waiting for device %d (%s)", rt->device.index, rt->device.name);
    return CN_OK;
}

/* ---- buffers ---------------------------------------------------------------------------------- */

/* "412.0 MiB", or bytes when small, so messages never say 0.0 MiB. */
static const char *size_text(size_t bytes, char *out, size_t size) {
    if (bytes < 1024 * 1024) snprintf(out, size, "%zu bytes", bytes);
    else snprintf(out, size, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    return out;
}

cn_status cn_device_memory_check(const cn_runtime *rt, size_t total_bytes, size_t largest_bytes, const char *what,
                                 cn_error *e) {
    const cn_device_info *d = &rt->device;
    char a[32], b[32], c[32];
    if (largest_bytes > d->max_alloc_bytes)
        return cn_error_set(e, CN_ERR_OOM,
                            "%s needs a buffer of %s but device %d (%s) allows at most %s per buffer "
                            "(CL_DEVICE_MAX_MEM_ALLOC_SIZE); use fewer chains, a smaller batch or smaller nets",
                            what, size_text(largest_bytes, a, sizeof a), d->index, d->name,
                            size_text(d->max_alloc_bytes, b, sizeof b));
    size_t total = rt->stats.bytes_allocated + total_bytes;
    if (total > d->global_mem_bytes)
        return cn_error_set(e, CN_ERR_OOM,
                            "%s needs %s of device memory (%s in use already) but device %d (%s) has "
                            "%s (CL_DEVICE_GLOBAL_MEM_SIZE); use fewer chains, a smaller batch or smaller nets",
                            what, size_text(total_bytes, a, sizeof a), size_text(rt->stats.bytes_allocated, b, sizeof b),
                            d->index, d->name, size_text(d->global_mem_bytes, c, sizeof c));
    return CN_OK;
}

cn_status cn_buffer_alloc(cn_runtime *rt, cn_buffer *b, size_t bytes, const char *what, cn_error *e) {
    memset(b, 0, sizeof *b);
    if (bytes == 0) bytes = 4; /* a valid object even for empty tensors */
    CN_TRY(cn_device_memory_check(rt, bytes, bytes, what, e));
    cl_int err = CL_SUCCESS;
    b->mem = cn_fault_hit("alloc") ? (err = CL_MEM_OBJECT_ALLOCATION_FAILURE, NULL)
                                   : clCreateBuffer(rt->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        char size[32];
        return cn_cl_fail(e, err, "allocating %s for %s on device %d (%s)", size_text(bytes, size, sizeof size), what,
                          rt->device.index, rt->device.name);
    }
    b->bytes = bytes;
    rt->stats.bytes_allocated += bytes;
    if (rt->stats.bytes_allocated > rt->stats.peak_bytes_allocated)
        rt->stats.peak_bytes_allocated = rt->stats.bytes_allocated;
    return CN_OK;
}

cn_status cn_buffer_view(cn_runtime *rt, cn_buffer *view, const cn_buffer *parent, size_t offset, size_t bytes,
                         cn_error *e) {
    memset(view, 0, sizeof *view);
    if (offset + bytes > parent->bytes)
        return cn_error_set(e, CN_ERR_ARG, "buffer view [%zu, %zu) outside its buffer of %zu bytes", offset,
                            offset + bytes, parent->bytes);
    if (offset % rt->device.base_addr_align_bytes)
        return cn_error_set(e, CN_ERR_ARG, "buffer view offset %zu is not a multiple of the device alignment %u",
                            offset, rt->device.base_addr_align_bytes);
    cl_buffer_region region = {offset, bytes};
    cl_int err;
    view->mem = clCreateSubBuffer(parent->mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "creating a view of %zu bytes at offset %zu", bytes, offset);
    view->bytes = bytes;
    view->is_view = 1;
    return CN_OK;
}

void cn_buffer_free(cn_runtime *rt, cn_buffer *b) {
    if (!b || !b->mem) return;
    clReleaseMemObject(b->mem);
    if (!b->is_view) rt->stats.bytes_allocated -= b->bytes;
    memset(b, 0, sizeof *b);
}

static cn_status check_range(const cn_buffer *b, size_t offset, size_t bytes, const char *op, cn_error *e) {
    if (offset > b->bytes || bytes > b->bytes - offset)
        return cn_error_set(e, CN_ERR_ARG, "%s of %zu bytes at offset %zu outside a buffer of %zu bytes", op, bytes,
                            offset, b->bytes);
    return CN_OK;
}

cn_status cn_buffer_check_floats(const cn_buffer *b, size_t count, const char *function, const char *argument,
                                 cn_error *e) {
    if (!b || !b->mem) return cn_error_set(e, CN_ERR_ARG, "%s: %s is missing", function, argument);
    if (b->bytes / sizeof(float) < count)
        return cn_error_set(e, CN_ERR_ARG, "%s: %s holds %zu floats, needs %zu", function, argument,
                            b->bytes / sizeof(float), count);
    return CN_OK;
}

cn_status cn_buffer_write(cn_runtime *rt, cn_buffer *b, size_t offset, const void *src, size_t bytes, cn_error *e) {
    CN_TRY(check_range(b, offset, bytes, "write", e));
    cl_event event = NULL;
    cl_int err = cn_fault_hit("cl") ? CL_OUT_OF_RESOURCES
                                    : clEnqueueWriteBuffer(rt->queue, b->mem, CL_TRUE, offset, bytes, src, 0, NULL,
                                                           rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "writing %zu bytes to device %d", bytes, rt->device.index);
    return rt->profile ? cn_profile_record(rt, "write", NULL, event, 0, (double)bytes, e) : CN_OK;
}

cn_status cn_buffer_read(cn_runtime *rt, const cn_buffer *b, size_t offset, void *dst, size_t bytes, cn_error *e) {
    CN_TRY(check_range(b, offset, bytes, "read", e));
    cl_event event = NULL;
    cl_int err = cn_fault_hit("cl") ? CL_OUT_OF_RESOURCES
                                    : clEnqueueReadBuffer(rt->queue, b->mem, CL_TRUE, offset, bytes, dst, 0, NULL,
                                                          rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "reading %zu bytes from device %d", bytes, rt->device.index);
    return rt->profile ? cn_profile_record(rt, "read", NULL, event, 0, (double)bytes, e) : CN_OK;
}

cn_status cn_buffer_fill_f32(cn_runtime *rt, cn_buffer *b, float value, size_t offset_floats, size_t count,
                             cn_error *e) {
    CN_TRY(check_range(b, offset_floats * sizeof(float), count * sizeof(float), "fill", e));
    if (count == 0) return CN_OK;
    cl_event event = NULL;
    cl_int err = clEnqueueFillBuffer(rt->queue, b->mem, &value, sizeof value, offset_floats * sizeof(float),
                                     count * sizeof(float), 0, NULL, rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "filling %zu floats on device %d", count, rt->device.index);
    return rt->profile ? cn_profile_record(rt, "fill", NULL, event, 0, (double)(count * sizeof(float)), e) : CN_OK;
}

cn_status cn_buffer_copy(cn_runtime *rt, cn_buffer *dst, size_t dst_offset, const cn_buffer *src, size_t src_offset,
                         size_t bytes, cn_error *e) {
    CN_TRY(check_range(dst, dst_offset, bytes, "copy", e));
    CN_TRY(check_range(src, src_offset, bytes, "copy", e));
    if (bytes == 0) return CN_OK;
    cl_event event = NULL;
    cl_int err = clEnqueueCopyBuffer(rt->queue, src->mem, dst->mem, src_offset, dst_offset, bytes, 0, NULL,
                                     rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "copying %zu bytes on device %d", bytes, rt->device.index);
    /* a copy reads and writes every byte */
    return rt->profile ? cn_profile_record(rt, "copy", NULL, event, 0, 2.0 * (double)bytes, e) : CN_OK;
}

/* ---- launch ----------------------------------------------------------------------------------- */

static void kernel_name(cl_kernel k, char *name, size_t size) {
    if (clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, size, name, NULL) != CL_SUCCESS) snprintf(name, size, "?");
    name[size - 1] = 0;
}

cn_status cn_launch(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *global, const size_t *local,
                    const cn_arg *args, size_t nargs, cn_error *e) {
    return cn_launch_counted(rt, kernel, dims, global, local, args, nargs, 0, 0, e);
}

/* The most work-items a work-group of `kernel` may have here. */
static cn_status kernel_group_limit(cn_runtime *rt, cl_kernel kernel, size_t *limit, cn_error *e) {
    size_t k = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, rt->device.id, CL_KERNEL_WORK_GROUP_SIZE, sizeof k, &k, NULL);
    if (err != CL_SUCCESS) {
        char name[128];
        kernel_name(kernel, name, sizeof name);
        return cn_cl_fail(e, err, "asking the work-group size of kernel %s on device %d", name, rt->device.index);
    }
    *limit = k < rt->device.max_work_group_size ? k : rt->device.max_work_group_size;
    return CN_OK;
}

static size_t group_items(cl_uint dims, const size_t *local) {
    size_t items = 1;
    for (cl_uint d = 0; d < dims; d++) items *= local[d];
    return items;
}

cn_status cn_local_size(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *wanted, size_t *local,
                        cn_error *e) {
    size_t limit = 0;
    CN_TRY(kernel_group_limit(rt, kernel, &limit, e));
    for (cl_uint d = 0; d < dims; d++) {
        local[d] = wanted[d] ? wanted[d] : 1;
        while (local[d] > rt->device.max_work_item_sizes[d]) local[d] /= 2;
    }
    while (group_items(dims, local) > limit) {
        cl_uint largest = 0;
        for (cl_uint d = 1; d < dims; d++)
            if (local[d] >= local[largest]) largest = d; /* ties shrink the later dimension: dimension 0 stays wide */
        local[largest] /= 2;
    }
    return CN_OK;
}

/* What the device and kernel allow, checked here so that a launch beyond them fails in words. */
static cn_status check_limits(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *local,
                              const cn_arg *args, size_t nargs, cn_error *e) {
    char name[128];
    size_t local_bytes = 0;
    for (size_t i = 0; i < nargs; i++)
        if (!args[i].value) local_bytes += args[i].size;
    if (local_bytes > rt->device.local_mem_bytes) {
        kernel_name(kernel, name, sizeof name);
        return cn_error_set(e, CN_ERR_ARG,
                            "kernel %s asks for %zu bytes of local memory; device %d (%s) has %llu "
                            "(CL_DEVICE_LOCAL_MEM_SIZE)",
                            name, local_bytes, rt->device.index, rt->device.name,
                            (unsigned long long)rt->device.local_mem_bytes);
    }
    if (!local) return CN_OK;
    size_t limit = 0;
    CN_TRY(kernel_group_limit(rt, kernel, &limit, e));
    int fits = group_items(dims, local) <= limit;
    for (cl_uint d = 0; d < dims; d++) fits = fits && local[d] <= rt->device.max_work_item_sizes[d];
    if (fits) return CN_OK;
    kernel_name(kernel, name, sizeof name);
    return cn_error_set(e, CN_ERR_ARG,
                        "kernel %s launched with a work-group of %zu x %zu x %zu; device %d (%s) allows %zu work-items "
                        "(CL_KERNEL_WORK_GROUP_SIZE, CL_DEVICE_MAX_WORK_GROUP_SIZE), at most %zu x %zu x %zu "
                        "(CL_DEVICE_MAX_WORK_ITEM_SIZES)",
                        name, local[0], dims > 1 ? local[1] : 1, dims > 2 ? local[2] : 1, rt->device.index,
                        rt->device.name, limit, rt->device.max_work_item_sizes[0], rt->device.max_work_item_sizes[1],
                        rt->device.max_work_item_sizes[2]);
}

cn_status cn_launch_counted(cn_runtime *rt, cl_kernel kernel, cl_uint dims, const size_t *global, const size_t *local,
                            const cn_arg *args, size_t nargs, double flops, double bytes, cn_error *e) {
    char name[128];
    CN_TRY(check_limits(rt, kernel, dims, local, args, nargs, e));
    for (size_t i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            kernel_name(kernel, name, sizeof name);
            return cn_cl_fail(e, err, "setting argument %zu of kernel %s", i, name);
        }
    }
    for (cl_uint d = 0; d < dims; d++)
        if (global[d] == 0) return CN_OK; /* nothing to do: an empty tensor */
    cl_event event = NULL;
    cl_int err = cn_fault_hit("cl") ? CL_OUT_OF_RESOURCES
                                    : clEnqueueNDRangeKernel(rt->queue, kernel, dims, NULL, global, local, 0, NULL,
                                                             rt->profile ? &event : NULL);
    if (err != CL_SUCCESS) {
        kernel_name(kernel, name, sizeof name);
        return cn_cl_fail(e, err, "enqueueing kernel %s (global %zu%s) on device %d", name, global[0],
                          dims > 1 ? "x..." : "", rt->device.index);
    }
    if (!rt->profile) return CN_OK;
    kernel_name(kernel, name, sizeof name);
    return cn_profile_record(rt, name, NULL, event, flops, bytes, e);
}

cn_status cn_run_counted(cn_runtime *rt, cn_kernel_id id, cl_uint dims, const size_t *global, const size_t *local,
                         const cn_arg *args, size_t nargs, double flops, double bytes, cn_error *e) {
    cl_kernel k;
    CN_TRY(cn_kernel_by_id(rt, id, &k, e));
    return cn_launch_counted(rt, k, dims, global, local, args, nargs, flops, bytes, e);
}

cn_status cn_run(cn_runtime *rt, cn_kernel_id id, cl_uint dims, const size_t *global, const size_t *local,
                 const cn_arg *args, size_t nargs, cn_error *e) {
    return cn_run_counted(rt, id, dims, global, local, args, nargs, 0, 0, e);
}
