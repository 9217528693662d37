/* The small assertion helper every test program uses. A failed check prints where and why and
 * makes the program exit non-zero at cn_test_finish(); checks go on after a failure. */
#ifndef CN_TEST_H
#define CN_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coopnets/cn_runtime.h"

extern int cn_test_failures, cn_test_checks;

void cn_test_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond, ...)                                   \
    do {                                                   \
        cn_test_checks++;                                  \
        if (!(cond)) cn_test_fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* The error record tests pass to library calls: CHECK_OK(cn_foo(..., TE)) prints its message. */
extern cn_error cn_test_error;
#define TE (&cn_test_error)
#define CHECK_OK(expr)                                                                              \
    do {                                                                                            \
        cn_test_checks++;                                                                           \
        cn_status check_s_ = (expr);                                                                \
        if (check_s_ != CN_OK)                                                                      \
            cn_test_fail(__FILE__, __LINE__, "%s returned %s: %s", #expr, cn_status_name(check_s_), \
                         cn_test_error.message);                                                    \
    } while (0)

/* The runtime for device tests: COOPNETS_DEVICE or the default device, no profiling. A test that
 * cannot open a device fails (it never skips silently). Closed by cn_test_finish. */
cn_runtime *cn_test_runtime(void);

/* Normalised RMS ‖got − want‖ / ‖want‖ (plain RMS of the difference when want is all zero), and
 * the largest absolute difference. */
double cn_test_nrms(const float *got, const double *want, size_t n);
double cn_test_max_abs(const float *got, const double *want, size_t n);
/* Checks both bounds and prints the measured values either way (so logs show the margin). */
int cn_test_close(const char *what, const float *got, const double *want, size_t n, double nrms_tol, double abs_tol);

/* A deterministic generator for test data (splitmix64). */
typedef struct { uint64_t state; } cn_test_rng;
uint64_t cn_test_next(cn_test_rng *r);
double cn_test_uniform(cn_test_rng *r, double lo, double hi);
void cn_test_fill_uniform(cn_test_rng *r, float *x, size_t n, double lo, double hi);
void cn_test_to_double(const float *x, double *out, size_t n);

/* Device round trips that fail the test on error. */
void cn_test_upload(cn_runtime *rt, cn_buffer *b, const float *x, size_t n, const char *what);
void cn_test_download(cn_runtime *rt, const cn_buffer *b, float *x, size_t n);

/* configs/tiny.json (under $CN_SOURCE_DIR) with `--set`-style overrides; exits when it does not load. */
struct cn_config;
void cn_test_tiny_config(const char *const *overrides, int count, struct cn_config *out);

/* Prints a summary and returns the exit status (0 only when every check passed). */
int cn_test_finish(void);

#endif
