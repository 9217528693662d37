#include "coopnets/cn_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cn_status cn_error_set(cn_error *e, cn_status status, const char *fmt, ...) {
    if (!e) return status;
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return status;
}

void cn_error_prefix(cn_error *e, const char *fmt, ...) {
    if (!e) return;
    char prefix[512], old[sizeof e->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->message, sizeof old);
    snprintf(e->message, sizeof e->message, "%s: %s", prefix, old);
}

void cn_error_append(cn_error *e, const char *fmt, ...) {
    if (!e) return;
    size_t n = strlen(e->message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message + n, sizeof e->message - n, fmt, ap);
    va_end(ap);
}

void cn_error_set_log(cn_error *e, char *log) {
    if (!e) {
        free(log);
        return;
    }
    free(e->log);
    e->log = log;
}

void cn_error_clear(cn_error *e) {
    if (!e) return;
    free(e->log);
    memset(e, 0, sizeof *e);
}

const char *cn_status_name(cn_status s) {
    switch (s) {
    case CN_OK: return "ok";
    case CN_ERR_ARG: return "invalid argument";
    case CN_ERR_NOMEM: return "out of host memory";
    case CN_ERR_IO: return "i/o error";
    case CN_ERR_FORMAT: return "bad file format";
    case CN_ERR_CONFIG: return "config error";
    case CN_ERR_DEVICE: return "device error";
    case CN_ERR_OOM: return "out of device memory";
    case CN_ERR_BUILD: return "kernel build failed";
    case CN_ERR_CL: return "OpenCL error";
    case CN_ERR_DIVERGED: return "training diverged";
    case CN_ERR_INTERRUPTED: return "interrupted";
    case CN_ERR_PEER: return "another rank failed";
    }
    return "unknown error";
}

const char *cn_cl_error_name(int code) {
    switch (code) {
#define N(c, v) case v: return #c;
    N(CL_SUCCESS, 0) N(CL_DEVICE_NOT_FOUND, -1) N(CL_DEVICE_NOT_AVAILABLE, -2)
    N(CL_COMPILER_NOT_AVAILABLE, -3) N(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4)
    N(CL_OUT_OF_RESOURCES, -5) N(CL_OUT_OF_HOST_MEMORY, -6) N(CL_PROFILING_INFO_NOT_AVAILABLE, -7)
    N(CL_MEM_COPY_OVERLAP, -8) N(CL_IMAGE_FORMAT_MISMATCH, -9) N(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10)
    N(CL_BUILD_PROGRAM_FAILURE, -11) N(CL_MAP_FAILURE, -12) N(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13)
    N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14) N(CL_COMPILE_PROGRAM_FAILURE, -15)
    N(CL_LINKER_NOT_AVAILABLE, -16) N(CL_LINK_PROGRAM_FAILURE, -17) N(CL_DEVICE_PARTITION_FAILED, -18)
    N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19) N(CL_INVALID_VALUE, -30) N(CL_INVALID_DEVICE_TYPE, -31)
    N(CL_INVALID_PLATFORM, -32) N(CL_INVALID_DEVICE, -33) N(CL_INVALID_CONTEXT, -34)
    N(CL_INVALID_QUEUE_PROPERTIES, -35) N(CL_INVALID_COMMAND_QUEUE, -36) N(CL_INVALID_HOST_PTR, -37)
    N(CL_INVALID_MEM_OBJECT, -38) N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39) N(CL_INVALID_IMAGE_SIZE, -40)
    N(CL_INVALID_SAMPLER, -41) N(CL_INVALID_BINARY, -42) N(CL_INVALID_BUILD_OPTIONS, -43)
    N(CL_INVALID_PROGRAM, -44) N(CL_INVALID_PROGRAM_EXECUTABLE, -45) N(CL_INVALID_KERNEL_NAME, -46)
    N(CL_INVALID_KERNEL_DEFINITION, -47) N(CL_INVALID_KERNEL, -48) N(CL_INVALID_ARG_INDEX, -49)
    N(CL_INVALID_ARG_VALUE, -50) N(CL_INVALID_ARG_SIZE, -51) N(CL_INVALID_KERNEL_ARGS, -52)
    N(CL_INVALID_WORK_DIMENSION, -53) N(CL_INVALID_WORK_GROUP_SIZE, -54) N(CL_INVALID_WORK_ITEM_SIZE, -55)
    N(CL_INVALID_GLOBAL_OFFSET, -56) N(CL_INVALID_EVENT_WAIT_LIST, -57) N(CL_INVALID_EVENT, -58)
    N(CL_INVALID_OPERATION, -59) N(CL_INVALID_GL_OBJECT, -60) N(CL_INVALID_BUFFER_SIZE, -61)
    N(CL_INVALID_MIP_LEVEL, -62) N(CL_INVALID_GLOBAL_WORK_SIZE, -63) N(CL_INVALID_PROPERTY, -64)
    N(CL_INVALID_IMAGE_DESCRIPTOR, -65) N(CL_INVALID_COMPILER_OPTIONS, -66) N(CL_INVALID_LINKER_OPTIONS, -67)
    N(CL_INVALID_DEVICE_PARTITION_COUNT, -68) N(CL_PLATFORM_NOT_FOUND_KHR, -1001)
#undef N
    }
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "CL error %d", code);
    return buf;
}

/* Counters per kind; the spec is read once. */
int cn_fault_hit(const char *kind) {
    static int parsed, onwards;
    static char fault_kind[16];
    static long fault_at, counter;
    if (!parsed) {
        parsed = 1;
        const char *spec = getenv("COOPNETS_FAULT");
        /* COOPNETS_FAULT_RANK=R: only rank R of an MPI job (the launcher's rank variable) fails */
        const char *only = getenv("COOPNETS_FAULT_RANK"), *rank = getenv("OMPI_COMM_WORLD_RANK");
        if (!rank) rank = getenv("PMIX_RANK");
        if (only && *only && strcmp(only, rank ? rank : "0") != 0) spec = NULL;
        const char *colon = spec ? strchr(spec, ':') : NULL;
        if (colon && (size_t)(colon - spec) < sizeof fault_kind) {
            char *end;
            memcpy(fault_kind, spec, (size_t)(colon - spec));
            fault_at = strtol(colon + 1, &end, 10);
            onwards = *end == '+';
        }
    }
    if (!fault_at || strcmp(kind, fault_kind) != 0) return 0;
    ++counter;
    int hit = onwards ? counter >= fault_at : counter == fault_at;
    if (hit && strcmp(kind, "write") == 0) errno = ENOSPC; /* a failed write looks like a full disk */
    return hit;
}
