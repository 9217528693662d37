#include "cn_test.h"

#include "coopnets/cn_config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

int cn_test_failures, cn_test_checks;
cn_error cn_test_error;
static cn_runtime *runtime;

void cn_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cn_test_failures++;
}

cn_runtime *cn_test_runtime(void) {
    if (runtime) return runtime;
    cn_error e = {0};
    cn_runtime_options o = cn_runtime_default_options();
    if (cn_runtime_open(&runtime, &o, &e) != CN_OK) {
        fprintf(stderr, "FAIL: cannot open an OpenCL device: %s\n", e.message);
        exit(1);
    }
    printf("device %d: %s (%s)\n", runtime->device.index, runtime->device.name, runtime->device.version);
    return runtime;
}

double cn_test_nrms(const float *got, const double *want, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    if (n == 0) return 0;
    return den > 0 ? sqrt(num / den) : sqrt(num / (double)n);
}

double cn_test_max_abs(const float *got, const double *want, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

int cn_test_close(const char *what, const float *got, const double *want, size_t n, double nrms_tol, double abs_tol) {
    double r = cn_test_nrms(got, want, n), a = cn_test_max_abs(got, want, n);
    int ok = r <= nrms_tol && a <= abs_tol;
    printf("  %-48s n=%-8zu nrms %.2e (tol %.0e)  max|d| %.2e (tol %.0e)  %s\n", what, n, r, nrms_tol, a, abs_tol,
           ok ? "ok" : "FAIL");
    cn_test_checks++;
    if (!ok) cn_test_fail(__FILE__, __LINE__, "%s: nrms %.3e (tol %.1e), max abs %.3e (tol %.1e)", what, r, nrms_tol, a, abs_tol);
    return ok;
}

uint64_t cn_test_next(cn_test_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double cn_test_uniform(cn_test_rng *r, double lo, double hi) {
    return lo + (hi - lo) * ((double)(cn_test_next(r) >> 11) / 9007199254740992.0);
}

void cn_test_fill_uniform(cn_test_rng *r, float *x, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) x[i] = (float)cn_test_uniform(r, lo, hi);
}

void cn_test_to_double(const float *x, double *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x[i];
}

void cn_test_upload(cn_runtime *rt, cn_buffer *b, const float *x, size_t n, const char *what) {
    cn_error e = {0};
    if (cn_buffer_alloc(rt, b, n * sizeof(float), what, &e) != CN_OK ||
        (n && cn_buffer_write(rt, b, 0, x, n * sizeof(float), &e) != CN_OK)) {
        fprintf(stderr, "FAIL: uploading %s: %s\n", what, e.message);
        exit(1);
    }
}

void cn_test_download(cn_runtime *rt, const cn_buffer *b, float *x, size_t n) {
    cn_error e = {0};
    if (n && cn_buffer_read(rt, b, 0, x, n * sizeof(float), &e) != CN_OK) {
        fprintf(stderr, "FAIL: downloading: %s\n", e.message);
        exit(1);
    }
}

int cn_test_finish(void) {
    if (runtime) cn_runtime_close(runtime);
    runtime = NULL;
    printf("%d checks, %d failed\n", cn_test_checks, cn_test_failures);
    return cn_test_failures ? 1 : 0;
}

void cn_test_tiny_config(const char *const *overrides, int count, cn_config *out) {
    const char *root = getenv("CN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/tiny.json", root ? root : ".");
    if (cn_config_load(path, overrides, count, out, &cn_test_error) != CN_OK) {
        fprintf(stderr, "FAIL: %s: %s\n", path, cn_test_error.message);
        exit(1);
    }
}
