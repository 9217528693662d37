/* cn_error: status codes and the error record every library call fills on failure.
 *
 * Library functions return a cn_status and, when it is not CN_OK, leave a message in the
 * cn_error the caller passed (which may be NULL). Messages name what failed and where: the file,
 * the config key, the device, the kernel, the byte count. Only the CLI prints them. */
#ifndef CN_ERROR_H
#define CN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cn_status {
    CN_OK = 0,
    CN_ERR_ARG,       /* a bad argument from the caller (an index, a shape, a flag) */
    CN_ERR_NOMEM,     /* host memory */
    CN_ERR_IO,        /* a file could not be read or written */
    CN_ERR_FORMAT,    /* a file's content is wrong: corrupt PNG, bad checkpoint, wrong IDX size */
    CN_ERR_CONFIG,    /* a config value or key is invalid */
    CN_ERR_DEVICE,    /* no such device, or the device was lost */
    CN_ERR_OOM,       /* device memory: too large for the device, or the allocation failed */
    CN_ERR_BUILD,     /* a kernel failed to build (the build log is in cn_error.log) */
    CN_ERR_CL,        /* any other OpenCL failure */
    CN_ERR_DIVERGED,  /* training produced NaN/Inf */
    CN_ERR_INTERRUPTED,
    CN_ERR_PEER       /* data-parallel training: another rank failed, or a collective timed out */
} cn_status;

typedef struct cn_error {
    cn_status status;
    char message[1024];
    char *log; /* owned, may be NULL: a compiler build log */
} cn_error;

/* Sets status and a printf-style message; returns status so callers can `return cn_error_set(...)`.
 * e may be NULL. */
cn_status cn_error_set(cn_error *e, cn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Puts "context: " in front of the existing message (for adding the file or key a callee lacked).
 * e may be NULL. Neither this nor cn_error_append returns a status: the caller returns the one
 * its callee gave, which survives when there is no error record to hold it. */
void cn_error_prefix(cn_error *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Adds text after the existing message (a consequence the callee could not know). */
void cn_error_append(cn_error *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Takes ownership of log (malloc'd) and attaches it to e. */
void cn_error_set_log(cn_error *e, char *log);
void cn_error_clear(cn_error *e);
const char *cn_status_name(cn_status s);

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or "CL error -N". */
const char *cn_cl_error_name(int code);

/* Test-only fault injection (DESIGN §6): when the environment variable COOPNETS_FAULT is
 * "KIND:N", the N-th checked call of that kind fails; with "KIND:N+" that one and every later one.
 * Kinds: cl (an OpenCL call), alloc (a device buffer), write (a file write through
 * cn_atomic_file; errno is set to ENOSPC, a full disk), nan (a training log point sees NaN
 * metrics) and dead (a training log point sees a dead descriptor: f and df/dY exactly 0), the
 * last two for the divergence guard, and drift (a data-parallel replica check sees this rank's
 * parameters differ). With COOPNETS_FAULT_RANK=R only rank R of an MPI job fails.
 * cn_fault_hit(kind) counts one call and returns 1 when it must fail. */
int cn_fault_hit(const char *kind);

#define CN_TRY(expr)                          \
    do {                                      \
        cn_status cn_try_status_ = (expr);    \
        if (cn_try_status_ != CN_OK)          \
            return cn_try_status_;            \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
