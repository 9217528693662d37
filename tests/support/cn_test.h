/* The small assertion helper every test program uses. A failed check prints where and why and
 * makes the program exit non-zero at cn_test_finish(); checks go on after a failure. */
#ifndef CN_TEST_H
#define CN_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coopnets/cn_runtime.h"
#include "coopnets/cn_tuning.h"

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

/* cn_test_close for float sums of `terms` products of values in [-1, 1] each: normalised RMS 1e-5 up
 * to 100 terms, growing with sqrt(terms / 100) beyond (rounding errors add like a random walk), and
 * the largest difference within 10 times that. */
int cn_test_close_sums(const char *what, const float *got, const double *want, size_t n, size_t terms);

/* A deterministic generator for test data (splitmix64). */
typedef struct { uint64_t state; } cn_test_rng;
uint64_t cn_test_next(cn_test_rng *r);
double cn_test_uniform(cn_test_rng *r, double lo, double hi);
void cn_test_fill_uniform(cn_test_rng *r, float *x, size_t n, double lo, double hi);
void cn_test_to_double(const float *x, double *out, size_t n);

/* The host double reference of a layer y = f(x, w) linear in x and in w (conv, transposed conv,
 * fc): y, and the gradients dx, dw of L = <dy, y>. `layer` is the test's description of it. */
typedef void (*cn_test_reference)(const void *layer, const double *x, const double *w, const double *dy, double *y,
                                  double *dx, double *dw);
/* Checks the reference's dx and dw against central differences of L at 16 entries (of x and w in
 * turn) on data uniform in [-1, 1]. L is linear in each entry, so the difference is exact up to
 * rounding: relative 1e-9. */
void cn_test_check_reference_gradients(cn_test_reference reference, const void *layer, size_t nx, size_t nw,
                                       size_t ny, cn_test_rng *r);

/* The data of one device check of such a layer: x, w and dy uniform in [-1, 1] (drawn in that
 * order), the reference's y, dx and dw of them, and device buffers holding x, w, dy, and y, dx, dw
 * filled with NaN (every element must be overwritten). y, dx and dw on the host are room for what
 * the device returns. */
typedef struct {
    size_t nx, nw, ny;
    float *x, *w, *dy, *y, *dx, *dw;
    double *want_y, *want_dx, *want_dw;
    cn_buffer bx, bw, bdy, by, bdx, bdw;
} cn_test_layer_data;
void cn_test_layer_data_make(cn_runtime *rt, cn_test_reference reference, const void *layer, size_t nx, size_t nw,
                             size_t ny, cn_test_rng *r, cn_test_layer_data *d);
void cn_test_layer_data_free(cn_runtime *rt, cn_test_layer_data *d);

/* A forward pass's layer epilogue (cn_bias.h): `forward` runs the pass with epi into out (n x c x
 * hw floats, NCHW); for a random bias and each activation the result must be act(plain + bias),
 * the float operations done here on the pass's plain output: bit for bit (none, ReLU, leaky ReLU),
 * within 4e-7 for tanh (another libm). */
typedef struct cn_epilogue cn_epilogue;
typedef cn_status (*cn_test_forward)(cn_runtime *rt, const void *pass, const cn_epilogue *epi, cn_buffer *out,
                                     cn_error *e);
void cn_test_check_epilogue(cn_runtime *rt, cn_test_forward forward, const void *pass, const float *plain, size_t n,
                            size_t c, size_t hw, cn_buffer *out, cn_test_rng *r);
/* A conv's or transposed conv's forward pass on fixed operands, run by cn_test_run_conv_pass. */
typedef struct cn_conv2d_shape cn_conv2d_shape;
typedef struct {
    cn_status (*forward)(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x, const cn_buffer *w,
                         const cn_epilogue *epi, cn_buffer *y, cn_buffer *ws, cn_error *e);
    const cn_conv2d_shape *s;
    size_t n;
    const cn_buffer *x, *w;
    cn_buffer *ws;
} cn_test_conv_pass;
cn_status cn_test_run_conv_pass(cn_runtime *rt, const void *pass, const cn_epilogue *epi, cn_buffer *out, cn_error *e);

/* Device round trips that fail the test on error. */
void cn_test_upload(cn_runtime *rt, cn_buffer *b, const float *x, size_t n, const char *what);
void cn_test_download(cn_runtime *rt, const cn_buffer *b, float *x, size_t n);

/* Flips the bits `mask` of the byte at `offset` of a file: a corruption its checksum must catch. */
void cn_test_flip_byte(const char *path, long offset, int mask);

/* configs/tiny.json (under $CN_SOURCE_DIR) with `--set`-style overrides; exits when it does not load. */
struct cn_config;
void cn_test_tiny_config(const char *const *overrides, int count, struct cn_config *out);
/* Trains the tiny config with its overrides into `output` (resuming from `resume` unless NULL) up to
 * `iterations`, logging every iteration and writing checkpoints and samples every 3. */
cn_status cn_test_train_tiny(cn_runtime *rt, const char *const *overrides, int count, const char *output,
                             const char *resume, long iterations);
/* A run's metrics.jsonl without the timing fields, which differ between equal runs; "" (and a
 * failed check) when there is none. The caller frees it. */
char *cn_test_losses_of(const char *run);

/* Prints a summary and returns the exit status: 0 only when at least one check ran and every
 * check passed. */
int cn_test_finish(void);

/* CN_TEST_QUICK=1, which the Oclgrind test sets (it interprets every work-item): the kernel-variant
 * tests take small shapes and the first three variants (test_gemm: every variant). */
int cn_test_quick(void);
/* The variants of family f the device can run, the heuristic first (cn_tuning_candidates): at most
 * max, and at most three under cn_test_quick. */
size_t cn_test_variants(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant *out, size_t max);
/* Makes v family f's variant from now on, saying which. */
void cn_test_use_variant(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant v);

#endif
