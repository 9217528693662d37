/* cn_fc against a host double-precision reference: forward, backward_data and backward_params,
 * on odd sizes with batch 1 and 3 and on a long input (the 28x28 descriptor's 4x4x256 -> 100),
 * the reference gradients checked by finite differences; a short buffer is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_fc.h"
#include "coopnets/cn_gemm.h"
#include "support/cn_test.h"

/* y = x w^T, dx = dy w, dw = dy^T x. */
static void reference(size_t n, size_t in, size_t out, const double *x, const double *w, const double *dy, double *y,
                      double *dx, double *dw) {
    memset(dx, 0, n * in * sizeof *dx);
    memset(dw, 0, out * in * sizeof *dw);
    for (size_t b = 0; b < n; b++)
        for (size_t o = 0; o < out; o++) {
            double s = 0;
            for (size_t i = 0; i < in; i++) {
                s += w[o * in + i] * x[b * in + i];
                dx[b * in + i] += dy[b * out + o] * w[o * in + i];
                dw[o * in + i] += dy[b * out + o] * x[b * in + i];
            }
            y[b * out + o] = s;
        }
}

/* Central differences of L = <dy, y(x, w)>, linear in x and in w: exact up to rounding. */
static void check_reference_gradients(size_t n, size_t in, size_t out, cn_test_rng *rng) {
    double *x = malloc(n * in * sizeof *x), *w = malloc(out * in * sizeof *w), *dy = malloc(n * out * sizeof *dy);
    double *y = malloc(n * out * sizeof *y), *dx = malloc(n * in * sizeof *dx), *dw = malloc(out * in * sizeof *dw);
    double *scratch_dx = malloc(n * in * sizeof *dx), *scratch_dw = malloc(out * in * sizeof *dw);
    for (size_t i = 0; i < n * in; i++) x[i] = cn_test_uniform(rng, -1, 1);
    for (size_t i = 0; i < out * in; i++) w[i] = cn_test_uniform(rng, -1, 1);
    for (size_t i = 0; i < n * out; i++) dy[i] = cn_test_uniform(rng, -1, 1);
    reference(n, in, out, x, w, dy, y, dx, dw);
    const double h = 0.5; /* L is linear in each entry: any step is exact, a large one rounds least */
    double worst = 0;
    for (int t = 0; t < 16; t++) {
        const int of_x = t % 2 == 0;
        double *v = of_x ? x : w;
        const size_t i = cn_test_next(rng) % (of_x ? n * in : out * in);
        const double keep = v[i];
        double l[2];
        for (int side = 0; side < 2; side++) {
            v[i] = keep + (side ? -h : h);
            reference(n, in, out, x, w, dy, y, scratch_dx, scratch_dw);
            l[side] = 0;
            for (size_t j = 0; j < n * out; j++) l[side] += dy[j] * y[j];
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

/* 1e-5 normalised RMS up to 100 terms, growing with sqrt(terms / 100) (random-walk rounding). */
static double tolerance(size_t terms) { return 1e-5 * (terms > 100 ? sqrt(terms / 100.0) : 1.0); }

static void check_device(cn_runtime *rt, size_t n, size_t in, size_t out, cn_test_rng *rng) {
    printf("fc %zu -> %zu, batch %zu\n", in, out, n);
    check_reference_gradients(n, in < 64 ? in : 64, out, rng);
    float *x = malloc(n * in * sizeof *x), *w = malloc(out * in * sizeof *w), *dy = malloc(n * out * sizeof *dy);
    float *y = malloc(n * out * sizeof *y), *dx = malloc(n * in * sizeof *dx), *dw = malloc(out * in * sizeof *dw);
    double *xd = malloc(n * in * sizeof *xd), *wd = malloc(out * in * sizeof *wd), *dyd = malloc(n * out * sizeof *dyd);
    double *want_y = malloc(n * out * sizeof *want_y), *want_dx = malloc(n * in * sizeof *want_dx),
           *want_dw = malloc(out * in * sizeof *want_dw);
    cn_test_fill_uniform(rng, x, n * in, -1, 1);
    cn_test_fill_uniform(rng, w, out * in, -1, 1);
    cn_test_fill_uniform(rng, dy, n * out, -1, 1);
    cn_test_to_double(x, xd, n * in);
    cn_test_to_double(w, wd, out * in);
    cn_test_to_double(dy, dyd, n * out);
    reference(n, in, out, xd, wd, dyd, want_y, want_dx, want_dw);
    for (size_t i = 0; i < n * out; i++) y[i] = NAN; /* outputs must be overwritten everywhere */
    for (size_t i = 0; i < n * in; i++) dx[i] = NAN;
    for (size_t i = 0; i < out * in; i++) dw[i] = NAN;
    cn_buffer bx, bw, bdy, by, bdx, bdw;
    cn_test_upload(rt, &bx, x, n * in, "x");
    cn_test_upload(rt, &bw, w, out * in, "w");
    cn_test_upload(rt, &bdy, dy, n * out, "dy");
    cn_test_upload(rt, &by, y, n * out, "y");
    cn_test_upload(rt, &bdx, dx, n * in, "dx");
    cn_test_upload(rt, &bdw, dw, out * in, "dw");
    CHECK_OK(cn_fc_forward(rt, n, in, out, &bx, &bw, &by, TE));
    cn_test_download(rt, &by, y, n * out);
    cn_test_close("forward y", y, want_y, n * out, tolerance(in), 10 * tolerance(in));
    CHECK_OK(cn_fc_backward_data(rt, n, in, out, &bdy, &bw, &bdx, TE));
    cn_test_download(rt, &bdx, dx, n * in);
    cn_test_close("backward_data dx", dx, want_dx, n * in, tolerance(out), 10 * tolerance(out));
    CHECK_OK(cn_fc_backward_params(rt, n, in, out, &bx, &bdy, &bdw, TE));
    cn_test_download(rt, &bdw, dw, out * in);
    cn_test_close("backward_params dw", dw, want_dw, out * in, tolerance(n), 10 * tolerance(n));
    cn_buffer *all[] = {&bx, &bw, &bdy, &by, &bdx, &bdw};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
    free(xd), free(wd), free(dyd), free(want_y), free(want_dx), free(want_dw);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {3};
    check_device(rt, 1, 37, 5, &rng);
    check_device(rt, 3, 37, 5, &rng);
    check_device(rt, 3, 4096, 100, &rng);

    printf("a short weight buffer is refused\n");
    float zeros[64] = {0};
    cn_buffer x, w, y;
    cn_test_upload(rt, &x, zeros, 16, "x");
    cn_test_upload(rt, &w, zeros, 63, "w");
    cn_test_upload(rt, &y, zeros, 16, "y");
    CHECK(cn_fc_forward(rt, 2, 8, 8, &x, &w, &y, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "fc forward"),
          "8 x 8 weights in 63 floats must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &x);
    cn_buffer_free(rt, &w);
    cn_buffer_free(rt, &y);
    printf("GEMM backend used: %s\n", cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    return cn_test_finish();
}
