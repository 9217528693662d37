#include "cn_test.h"

#include "coopnets/cn_bias.h"
#include "coopnets/cn_config.h"
#include "coopnets/cn_train.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int cn_test_close_sums(const char *what, const float *got, const double *want, size_t n, size_t terms) {
    const double nrms_tol = 1e-5 * (terms > 100 ? sqrt(terms / 100.0) : 1.0);
    return cn_test_close(what, got, want, n, nrms_tol, 10 * nrms_tol);
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

void cn_test_check_reference_gradients(cn_test_reference reference, const void *layer, size_t nx, size_t nw,
                                       size_t ny, cn_test_rng *r) {
    double *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dy = malloc(ny * sizeof *dy),
           *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    double *scratch_dx = malloc(nx * sizeof *scratch_dx), *scratch_dw = malloc(nw * sizeof *scratch_dw);
    for (size_t i = 0; i < nx; i++) x[i] = cn_test_uniform(r, -1, 1);
    for (size_t i = 0; i < nw; i++) w[i] = cn_test_uniform(r, -1, 1);
    for (size_t i = 0; i < ny; i++) dy[i] = cn_test_uniform(r, -1, 1);
    reference(layer, x, w, dy, y, dx, dw);
    const double h = 0.5; /* L is linear in each entry: any step is exact, a large one rounds least */
    double worst = 0;
    for (int t = 0; t < 16; t++) {
        const int of_x = t % 2 == 0;
        double *v = of_x ? x : w;
        const size_t i = cn_test_next(r) % (of_x ? nx : nw);
        const double keep = v[i];
        double l[2];
        for (int side = 0; side < 2; side++) {
            v[i] = keep + (side ? -h : h);
            reference(layer, x, w, dy, y, scratch_dx, scratch_dw);
            l[side] = 0;
            for (size_t j = 0; j < ny; j++) l[side] += dy[j] * y[j];
        }
        v[i] = keep;
        const double fd = (l[0] - l[1]) / (2 * h), analytic = of_x ? dx[i] : dw[i];
        const double err = fabs(fd - analytic) / (fabs(analytic) + 1e-3);
        if (err > worst) worst = err;
    }
    printf("  reference gradients vs finite differences: worst relative error %.1e (tol 1e-9)\n", worst);
    CHECK(worst < 1e-9, "reference gradient disagrees with finite differences: %.3e", worst);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(scratch_dx), free(scratch_dw);
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

void cn_test_layer_data_make(cn_runtime *rt, cn_test_reference reference, const void *layer, size_t nx, size_t nw,
                             size_t ny, cn_test_rng *r, cn_test_layer_data *d) {
    *d = (cn_test_layer_data){.nx = nx, .nw = nw, .ny = ny};
    d->x = malloc(nx * sizeof *d->x), d->w = malloc(nw * sizeof *d->w), d->dy = malloc(ny * sizeof *d->dy);
    d->y = malloc(ny * sizeof *d->y), d->dx = malloc(nx * sizeof *d->dx), d->dw = malloc(nw * sizeof *d->dw);
    d->want_y = malloc(ny * sizeof *d->want_y), d->want_dx = malloc(nx * sizeof *d->want_dx),
    d->want_dw = malloc(nw * sizeof *d->want_dw);
    double *xd = calloc(nx, sizeof *xd), *wd = calloc(nw, sizeof *wd), *dyd = calloc(ny, sizeof *dyd);
    cn_test_fill_uniform(r, d->x, nx, -1, 1);
    cn_test_fill_uniform(r, d->w, nw, -1, 1);
    cn_test_fill_uniform(r, d->dy, ny, -1, 1);
    cn_test_to_double(d->x, xd, nx);
    cn_test_to_double(d->w, wd, nw);
    cn_test_to_double(d->dy, dyd, ny);
    reference(layer, xd, wd, dyd, d->want_y, d->want_dx, d->want_dw);
    free(xd), free(wd), free(dyd);
    cn_test_upload(rt, &d->bx, d->x, nx, "x");
    cn_test_upload(rt, &d->bw, d->w, nw, "w");
    cn_test_upload(rt, &d->bdy, d->dy, ny, "dy");
    for (size_t i = 0; i < ny; i++) d->y[i] = NAN;
    for (size_t i = 0; i < nx; i++) d->dx[i] = NAN;
    for (size_t i = 0; i < nw; i++) d->dw[i] = NAN;
    cn_test_upload(rt, &d->by, d->y, ny, "y");
    cn_test_upload(rt, &d->bdx, d->dx, nx, "dx");
    cn_test_upload(rt, &d->bdw, d->dw, nw, "dw");
}

void cn_test_layer_data_free(cn_runtime *rt, cn_test_layer_data *d) {
    cn_buffer *all[] = {&d->bx, &d->bw, &d->bdy, &d->by, &d->bdx, &d->bdw};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
    free(d->x), free(d->w), free(d->dy), free(d->y), free(d->dx), free(d->dw);
    free(d->want_y), free(d->want_dx), free(d->want_dw);
}

void cn_test_check_epilogue(cn_runtime *rt, cn_test_forward forward, const void *pass, const float *plain, size_t n,
                            size_t c, size_t hw, cn_buffer *out, cn_test_rng *r) {
    static const char *const names[] = {"bias", "bias + ReLU", "bias + leaky ReLU", "bias + tanh"};
    const float slope = 0.2f;
    const size_t count = n * c * hw;
    float *bias = malloc(c * sizeof *bias), *got = malloc(count * sizeof *got);
    cn_test_fill_uniform(r, bias, c, -0.5, 0.5);
    cn_buffer b;
    cn_test_upload(rt, &b, bias, c, "bias");
    for (int act = CN_ACT_NONE; act <= CN_ACT_TANH; act++) {
        const cn_epilogue epi = {&b, (cn_activation)act, slope};
        CHECK_OK(cn_buffer_fill_f32(rt, out, NAN, 0, count, TE));
        CHECK_OK(forward(rt, pass, &epi, out, TE));
        cn_test_download(rt, out, got, count);
        size_t differ = 0;
        double worst = 0;
        for (size_t i = 0; i < count; i++) {
            const float v = plain[i] + bias[(i / hw) % c];
            float want = v;
            if (act == CN_ACT_RELU) want = v > 0.0f ? v : 0.0f;
            if (act == CN_ACT_LEAKY_RELU) want = v > 0.0f ? v : slope * v;
            if (act == CN_ACT_TANH) {
                const double d = fabs(got[i] - tanh((double)v));
                worst = d > worst || d != d ? d : worst;
            } else {
                differ += memcmp(&got[i], &want, sizeof want) != 0;
            }
        }
        if (act == CN_ACT_TANH) {
            CHECK(worst <= 4e-7, "epilogue %s: off act(plain + bias) by %.2e", names[act], worst);
            printf("  epilogue %-18s: max|d| %.1e from tanh(plain + bias) (tol 4e-7)\n", names[act], worst);
        } else {
            CHECK(differ == 0, "epilogue %s: %zu of %zu values are not act(plain + bias)", names[act], differ, count);
            printf("  epilogue %-18s: act(plain + bias) bit for bit\n", names[act]);
        }
    }
    cn_buffer_free(rt, &b);
    free(bias), free(got);
}

cn_status cn_test_run_conv_pass(cn_runtime *rt, const void *pass, const cn_epilogue *epi, cn_buffer *out, cn_error *e) {
    const cn_test_conv_pass *p = pass;
    return p->forward(rt, p->s, p->n, p->x, p->w, epi, out, p->ws, e);
}

int cn_test_finish(void) {
    if (runtime) cn_runtime_close(runtime);
    runtime = NULL;
    printf("%d checks, %d failed\n", cn_test_checks, cn_test_failures);
    if (cn_test_checks == 0) fprintf(stderr, "FAIL: no checks ran (a test that checks nothing proves nothing)\n");
    return cn_test_failures || cn_test_checks == 0 ? 1 : 0;
}

void cn_test_flip_byte(const char *path, long offset, int mask) {
    FILE *f = fopen(path, "r+b");
    if (!f) {
        cn_test_fail(__FILE__, __LINE__, "cannot open %s to corrupt it", path);
        return;
    }
    fseek(f, offset, SEEK_SET);
    int c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ mask, f);
    fclose(f);
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

cn_status cn_test_train_tiny(cn_runtime *rt, const char *const *overrides, int count, const char *output,
                             const char *resume, long iterations) {
    cn_config c;
    cn_test_tiny_config(overrides, count, &c);
    snprintf(c.training.output, sizeof c.training.output, "%s", output);
    c.training.log_every = 1;
    c.training.checkpoint_every = 3;
    c.training.sample_every = 3;
    cn_train_options o = {.resume = resume, .iterations = iterations};
    return cn_train(rt, &c, &o, &cn_test_error);
}

char *cn_test_losses_of(const char *run) {
    char path[1100], line[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "no %s", path);
    if (!f) return strdup("");
    char *all = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&all, &size); /* grows with the run: no fixed buffer to overflow */
    if (!out) {
        fclose(f);
        CHECK(0, "open_memstream failed");
        return strdup("");
    }
    while (fgets(line, sizeof line, f)) {
        char *cut = strstr(line, ",\"seconds_per_iteration\"");
        if (cut) strcpy(cut, "\n");
        fputs(line, out);
    }
    fclose(f);
    fclose(out);
    return all;
}

int cn_test_quick(void) {
    const char *quick = getenv("CN_TEST_QUICK");
    return quick && strcmp(quick, "1") == 0;
}

size_t cn_test_variants(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant *out, size_t max) {
    size_t count = cn_tuning_candidates(rt, f, out, max);
    if (count > max) count = max;
    return cn_test_quick() && count > 3 ? 3 : count;
}

void cn_test_use_variant(cn_runtime *rt, cn_kernel_family f, cn_kernel_variant v) {
    char name[64];
    cn_kernel_variant_format(v, name, sizeof name);
    printf("variant %s\n", name);
    CHECK_OK(cn_tuning_set(rt, f, v, TE));
}
