/* cn_deconv2d (transposed convolution) against a host double-precision reference written from
 * its own definition (PyTorch ConvTranspose2d: every input pixel scatters kernel-weighted copies
 * into the output), on the generator's shapes (k4 VALID 1 -> 4, k4 s2 SAME 4 -> 7, k5 s2 SAME
 * 4 -> 8) and odd ones, batch 1 and 3: forward, backward_data and backward_params, the reference
 * gradients checked by finite differences. On the device, the adjoint identity
 * <conv(x), y> = <x, convT(y)> must hold to 1e-5. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_gemm.h"
#include "support/cn_test.h"

/* ---- host reference, in deconv terms: x is [n, s->out_c, out_h, out_w], y [n, s->in_c, in_h, in_w] */

typedef enum { REF_FORWARD, REF_BACKWARD_DATA, REF_BACKWARD_PARAMS } ref_pass;

static size_t x_size(const cn_conv2d_shape *s, size_t n) { return n * s->out_c * s->out_h * s->out_w; }
static size_t y_size(const cn_conv2d_shape *s, size_t n) { return n * s->in_c * s->in_h * s->in_w; }
static size_t w_size(const cn_conv2d_shape *s) { return (size_t)s->out_c * s->in_c * s->k_h * s->k_w; }

/* Input pixel (h, v) of channel o scatters x * w[o, c, i, j] to output pixel
 * (h * stride - pad_top + i, v * stride - pad_left + j) of channel c, when that is inside. */
static void reference(const cn_conv2d_shape *s, size_t n, ref_pass pass, const double *x, const double *w,
                      const double *dy, double *out) {
    size_t count = pass == REF_FORWARD ? y_size(s, n) : pass == REF_BACKWARD_DATA ? x_size(s, n) : w_size(s);
    memset(out, 0, count * sizeof *out);
    for (size_t b = 0; b < n; b++)
        for (int o = 0; o < s->out_c; o++)
            for (int h = 0; h < s->out_h; h++)
                for (int v = 0; v < s->out_w; v++) {
                    const size_t xi = ((b * s->out_c + o) * s->out_h + h) * s->out_w + v;
                    for (int c = 0; c < s->in_c; c++)
                        for (int i = 0; i < s->k_h; i++)
                            for (int j = 0; j < s->k_w; j++) {
                                const int oy = h * s->stride - s->pad_top + i, ox = v * s->stride - s->pad_left + j;
                                if (oy < 0 || oy >= s->in_h || ox < 0 || ox >= s->in_w) continue;
                                const size_t yi = ((b * s->in_c + c) * s->in_h + oy) * s->in_w + ox;
                                const size_t wi = (((size_t)o * s->in_c + c) * s->k_h + i) * s->k_w + j;
                                if (pass == REF_FORWARD) out[yi] += x[xi] * w[wi];
                                else if (pass == REF_BACKWARD_DATA) out[xi] += w[wi] * dy[yi];
                                else out[wi] += x[xi] * dy[yi];
                            }
                }
}

static double dot_f(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double dot_d(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Central differences of L = <dy, deconv(x, w)> at a few entries of x and w; L is linear in
 * each, so the differences are exact up to rounding: relative 1e-9. */
static void check_reference_gradients(const cn_conv2d_shape *s, size_t n, cn_test_rng *rng) {
    const size_t nx = x_size(s, n), ny = y_size(s, n), nw = w_size(s);
    double *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dy = malloc(ny * sizeof *dy),
           *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    for (size_t i = 0; i < nx; i++) x[i] = cn_test_uniform(rng, -1, 1);
    for (size_t i = 0; i < nw; i++) w[i] = cn_test_uniform(rng, -1, 1);
    for (size_t i = 0; i < ny; i++) dy[i] = cn_test_uniform(rng, -1, 1);
    reference(s, n, REF_BACKWARD_DATA, x, w, dy, dx);
    reference(s, n, REF_BACKWARD_PARAMS, x, w, dy, dw);
    const double h = 0.5; /* L is linear in each entry: any step is exact, a large one rounds least */
    double worst = 0;
    for (int t = 0; t < 16; t++) {
        const int of_x = t % 2 == 0;
        double *v = of_x ? x : w;
        const size_t i = cn_test_next(rng) % (of_x ? nx : nw);
        const double keep = v[i];
        v[i] = keep + h;
        reference(s, n, REF_FORWARD, x, w, dy, y);
        const double up = dot_d(dy, y, ny);
        v[i] = keep - h;
        reference(s, n, REF_FORWARD, x, w, dy, y);
        const double down = dot_d(dy, y, ny);
        v[i] = keep;
        const double fd = (up - down) / (2 * h), analytic = of_x ? dx[i] : dw[i];
        const double err = fabs(fd - analytic) / (fabs(analytic) + 1e-3);
        if (err > worst) worst = err;
    }
    printf("  reference gradients vs finite differences: worst relative error %.1e (tol 1e-9)\n", worst);
    CHECK(worst < 1e-9, "reference gradient disagrees with finite differences: %.3e", worst);
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
}

/* Tolerance for a float reduction of `terms` products of values in [-1, 1]: 1e-5 normalised RMS
 * up to 100 terms, growing with sqrt(terms / 100) beyond. */
static double tolerance(size_t terms) { return 1e-5 * (terms > 100 ? sqrt(terms / 100.0) : 1.0); }

static void check_device(cn_runtime *rt, const char *label, const cn_conv2d_shape *s, size_t n, cn_test_rng *rng) {
    printf("%s: deconv %dx%dx%d -> %dx%dx%d, k%dx%d s%d, batch %zu\n", label, s->out_c, s->out_h, s->out_w, s->in_c,
           s->in_h, s->in_w, s->k_h, s->k_w, s->stride, n);
    check_reference_gradients(s, n, rng);
    const size_t nx = x_size(s, n), ny = y_size(s, n), nw = w_size(s), nws = cn_conv2d_workspace_floats(s, n);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dy = malloc(ny * sizeof *dy);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    double *xd = malloc(nx * sizeof *xd), *wd = malloc(nw * sizeof *wd), *dyd = malloc(ny * sizeof *dyd);
    double *want_y = malloc(ny * sizeof *want_y), *want_dx = malloc(nx * sizeof *want_dx),
           *want_dw = malloc(nw * sizeof *want_dw);
    cn_test_fill_uniform(rng, x, nx, -1, 1);
    cn_test_fill_uniform(rng, w, nw, -1, 1);
    cn_test_fill_uniform(rng, dy, ny, -1, 1);
    cn_test_to_double(x, xd, nx);
    cn_test_to_double(w, wd, nw);
    cn_test_to_double(dy, dyd, ny);
    reference(s, n, REF_FORWARD, xd, wd, dyd, want_y);
    reference(s, n, REF_BACKWARD_DATA, xd, wd, dyd, want_dx);
    reference(s, n, REF_BACKWARD_PARAMS, xd, wd, dyd, want_dw);

    cn_buffer bx, bw, bdy, by, bdx, bdw, bws;
    cn_test_upload(rt, &bx, x, nx, "x");
    cn_test_upload(rt, &bw, w, nw, "w");
    cn_test_upload(rt, &bdy, dy, ny, "dy");
    for (size_t i = 0; i < ny; i++) y[i] = NAN; /* outputs must be overwritten everywhere */
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    for (size_t i = 0; i < nw; i++) dw[i] = NAN;
    cn_test_upload(rt, &by, y, ny, "y");
    cn_test_upload(rt, &bdx, dx, nx, "dx");
    cn_test_upload(rt, &bdw, dw, nw, "dw");
    CHECK_OK(cn_buffer_alloc(rt, &bws, nws * sizeof(float), "workspace", TE));

    /* Reduction lengths: forward sums over out_c * taps hitting a pixel, backward_data over
     * in_c * k * k, backward_params over n * out_h * out_w. */
    const size_t y_terms = (size_t)s->out_c * s->k_h * s->k_w, dx_terms = (size_t)s->in_c * s->k_h * s->k_w,
                 dw_terms = n * s->out_h * s->out_w;
    CHECK_OK(cn_deconv2d_forward(rt, s, n, &bx, &bw, &by, &bws, TE));
    cn_test_download(rt, &by, y, ny);
    cn_test_close("forward y", y, want_y, ny, tolerance(y_terms), 10 * tolerance(y_terms));
    CHECK_OK(cn_deconv2d_backward_data(rt, s, n, &bdy, &bw, &bdx, &bws, TE));
    cn_test_download(rt, &bdx, dx, nx);
    cn_test_close("backward_data dx", dx, want_dx, nx, tolerance(dx_terms), 10 * tolerance(dx_terms));
    CHECK_OK(cn_deconv2d_backward_params(rt, s, n, &bx, &bdy, &bdw, &bws, TE));
    cn_test_download(rt, &bdw, dw, nw);
    cn_test_close("backward_params dw", dw, want_dw, nw, tolerance(dw_terms), 10 * tolerance(dw_terms));

    /* Adjoint identity on the device: with u shaped like the deconv's output (the conv's input)
     * and v like its input, <conv(u), v> = <u, convT(v)>. Both sides are float results summed
     * in double; their relative difference is float rounding, 1e-5. */
    float *conv_u = malloc(nx * sizeof *conv_u);
    CHECK_OK(cn_conv2d_forward(rt, s, n, &bdy, &bw, &bdx, &bws, TE)); /* conv(u) with u = dy */
    cn_test_download(rt, &bdx, conv_u, nx);
    const double left = dot_f(conv_u, x, nx), right = dot_f(dy, y, ny); /* y = convT(x) from above */
    const double rel = fabs(left - right) / fmax(fabs(left), fabs(right));
    printf("  adjoint <conv(u), v> = %.6f, <u, convT(v)> = %.6f: relative difference %.1e (tol 1e-5)\n", left,
           right, rel);
    CHECK(rel < 1e-5, "adjoint identity off by %.3e", rel);

    cn_buffer *all[] = {&bx, &bw, &bdy, &by, &bdx, &bdw, &bws};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(conv_u);
    free(xd), free(wd), free(dyd), free(want_y), free(want_dx), free(want_dw);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {11};
    struct {
        const char *label;
        int in_c, in_h, in_w, out_c, out_h, out_w, k, stride;
        cn_conv_padding pad;
        size_t n;
    } cases[] = {
        {"k4 VALID 1 -> 4 (generator's first layer)", 6, 1, 1, 5, 4, 4, 4, 1, CN_CONV_PAD_VALID, 3},
        {"k4 s2 SAME 4 -> 7", 5, 4, 4, 3, 7, 7, 4, 2, CN_CONV_PAD_SAME, 1},
        {"k4 s2 SAME 4 -> 7", 5, 4, 4, 3, 7, 7, 4, 2, CN_CONV_PAD_SAME, 3},
        {"k5 s2 SAME 4 -> 8", 4, 4, 4, 3, 8, 8, 5, 2, CN_CONV_PAD_SAME, 3},
        {"k5 s2 SAME 5x3 -> 9x6, odd and non-square", 3, 5, 3, 2, 9, 6, 5, 2, CN_CONV_PAD_SAME, 3},
        {"k3 s1 SAME 5 -> 5", 3, 5, 5, 4, 5, 5, 3, 1, CN_CONV_PAD_SAME, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cn_conv2d_shape s;
        CHECK_OK(cn_deconv2d_shape_make(&s, cases[i].in_c, cases[i].in_h, cases[i].in_w, cases[i].out_c,
                                        cases[i].out_h, cases[i].out_w, cases[i].k, cases[i].stride, cases[i].pad, TE));
        check_device(rt, cases[i].label, &s, cases[i].n, &rng);
    }
    printf("GEMM backend used: %s\n", cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    return cn_test_finish();
}
