/* cn_conv2d against a host double-precision reference: the shape rules (TensorFlow SAME with its
 * asymmetric padding, VALID, explicit; impossible deconv shapes refused in words), a known answer
 * that pins which side SAME pads, and forward, backward_data and backward_params on odd shapes
 * (stride 1 and 2, non-square, 1x1, a kernel covering the whole input, batch 1 and 3, and a
 * batch large enough to be cut into chunks). The reference gradients are checked by finite
 * differences of the reference forward; the device's gradients are checked to be bitwise
 * repeatable. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_gemm.h"
#include "support/cn_test.h"

/* ---- host reference --------------------------------------------------------------------------- */

typedef enum { REF_FORWARD, REF_BACKWARD_DATA, REF_BACKWARD_PARAMS } ref_pass;

static size_t in_size(const cn_conv2d_shape *s, size_t n) { return n * s->in_c * s->in_h * s->in_w; }
static size_t out_size(const cn_conv2d_shape *s, size_t n) { return n * s->out_c * s->out_h * s->out_w; }
static size_t w_size(const cn_conv2d_shape *s) { return (size_t)s->out_c * s->in_c * s->k_h * s->k_w; }

/* Every (output pixel, kernel tap) pair that reads a pixel inside the input, accumulated into
 * `out` as the pass needs: y = sum w x; dx = sum w dy (scattered); dw = sum dy x. */
static void reference(const cn_conv2d_shape *s, size_t n, ref_pass pass, const double *x, const double *w,
                      const double *dy, double *out) {
    size_t count = pass == REF_FORWARD ? out_size(s, n) : pass == REF_BACKWARD_DATA ? in_size(s, n) : w_size(s);
    memset(out, 0, count * sizeof *out);
    for (size_t b = 0; b < n; b++)
        for (int o = 0; o < s->out_c; o++)
            for (int oy = 0; oy < s->out_h; oy++)
                for (int ox = 0; ox < s->out_w; ox++) {
                    const size_t yi = ((b * s->out_c + o) * s->out_h + oy) * s->out_w + ox;
                    for (int c = 0; c < s->in_c; c++)
                        for (int i = 0; i < s->k_h; i++)
                            for (int j = 0; j < s->k_w; j++) {
                                const int iy = oy * s->stride - s->pad_top + i, ix = ox * s->stride - s->pad_left + j;
                                if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
                                const size_t xi = ((b * s->in_c + c) * s->in_h + iy) * s->in_w + ix;
                                const size_t wi = (((size_t)o * s->in_c + c) * s->k_h + i) * s->k_w + j;
                                if (pass == REF_FORWARD) out[yi] += w[wi] * x[xi];
                                else if (pass == REF_BACKWARD_DATA) out[xi] += w[wi] * dy[yi];
                                else out[wi] += dy[yi] * x[xi];
                            }
                }
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The reference gradients are those of L = <dy, forward(x, w)>: central differences of the
 * reference forward at a few entries. L is linear in x and in w, so the difference is exact up
 * to rounding: relative 1e-9. */
static void check_reference_gradients(const cn_conv2d_shape *s, size_t n, cn_test_rng *rng) {
    const size_t nx = in_size(s, n), ny = out_size(s, n), nw = w_size(s);
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
        const double up = dot(dy, y, ny);
        v[i] = keep - h;
        reference(s, n, REF_FORWARD, x, w, dy, y);
        const double down = dot(dy, y, ny);
        v[i] = keep;
        const double fd = (up - down) / (2 * h), analytic = of_x ? dx[i] : dw[i];
        const double err = fabs(fd - analytic) / (fabs(analytic) + 1e-3);
        if (err > worst) worst = err;
    }
    printf("  reference gradients vs finite differences: worst relative error %.1e (tol 1e-9)\n", worst);
    CHECK(worst < 1e-9, "reference gradient disagrees with finite differences: %.3e", worst);
    free(x), free(w), free(dy), free(y), free(dx), free(dw);
}

/* ---- shapes ----------------------------------------------------------------------------------- */

static void check_shapes(void) {
    printf("shape rules\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 3, 64, 64, 64, 5, 2, CN_CONV_PAD_SAME, 0, TE));
    printf("  conv k5 s2 SAME 64 -> %d, pads (%d, %d)\n", s.out_h, s.pad_top,
           (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top);
    CHECK(s.out_h == 32 && s.out_w == 32 && s.pad_top == 1 && s.pad_left == 1,
          "k5 s2 SAME 64 must give 32, pads (1, 2)");
    CHECK((s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top == 2, "k5 s2 SAME 64: bottom pad must be 2");
    CHECK_OK(cn_conv2d_shape_make(&s, 1, 7, 7, 8, 4, 2, CN_CONV_PAD_SAME, 0, TE));
    printf("  conv k4 s2 SAME 7 -> %d, pads (%d, %d)\n", s.out_h, s.pad_top,
           (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top);
    CHECK(s.out_h == 4 && s.pad_top == 1 && (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top == 2,
          "k4 s2 SAME 7 must give 4, pads (1, 2)");
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 9, 8, 3, 3, 2, CN_CONV_PAD_VALID, 0, TE));
    CHECK(s.out_h == 4 && s.out_w == 3 && s.pad_top == 0 && s.pad_left == 0, "k3 s2 VALID 9x8 must give 4x3");
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 8, 8, 3, 3, 2, CN_CONV_PAD_EXPLICIT, 1, TE));
    CHECK(s.out_h == 4 && s.pad_top == 1, "k3 s2 pad 1 on 8 must give 4");
    CHECK(cn_conv2d_shape_make(&s, 2, 3, 3, 3, 5, 1, CN_CONV_PAD_VALID, 0, TE) == CN_ERR_ARG,
          "a 5x5 VALID kernel on 3x3 must be refused");
    printf("  refused: %s\n", cn_test_error.message);

    CHECK_OK(cn_deconv2d_shape_make(&s, 512, 4, 4, 256, 7, 7, 4, 2, CN_CONV_PAD_SAME, TE));
    CHECK(s.in_c == 256 && s.in_h == 7 && s.out_c == 512 && s.out_h == 4 && s.pad_top == 1,
          "deconv k4 s2 SAME 4 -> 7 must be the conv 7 -> 4 with pads (1, 2)");
    CHECK_OK(cn_deconv2d_shape_make(&s, 100, 1, 1, 512, 4, 4, 4, 1, CN_CONV_PAD_VALID, TE));
    CHECK(s.in_h == 4 && s.out_h == 1 && s.pad_top == 0, "deconv k4 VALID 1 -> 4 must be the conv 4 -> 1");
    CHECK(cn_deconv2d_shape_make(&s, 8, 4, 4, 4, 9, 9, 4, 2, CN_CONV_PAD_SAME, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "5x5"),
          "deconv k4 s2 SAME 4 -> 9 must be refused naming what the conv gives");
    printf("  refused: %s\n", cn_test_error.message);
    CHECK(cn_deconv2d_shape_make(&s, 8, 1, 1, 4, 5, 5, 4, 1, CN_CONV_PAD_VALID, TE) == CN_ERR_ARG,
          "deconv k4 VALID 1 -> 5 must be refused");
    printf("  refused: %s\n", cn_test_error.message);
    CHECK(cn_deconv2d_shape_make(&s, 8, 4, 4, 4, 2, 2, 4, 2, CN_CONV_PAD_VALID, TE) == CN_ERR_ARG,
          "deconv k4 VALID 4 -> 2 must be refused (the kernel does not fit)");
    printf("  refused: %s\n", cn_test_error.message);
}

/* ---- device against reference ----------------------------------------------------------------- */

/* Tolerance for a float reduction of `terms` products of values in [-1, 1]: 1e-5 normalised RMS
 * up to 100 terms, growing with sqrt(terms / 100) beyond (rounding errors add like a random walk). */
static double tolerance(size_t terms) { return 1e-5 * (terms > 100 ? sqrt(terms / 100.0) : 1.0); }

static void check_device(cn_runtime *rt, const char *label, const cn_conv2d_shape *s, size_t n, cn_test_rng *rng) {
    printf("%s: in %dx%dx%d -> out %dx%dx%d, k%dx%d s%d pads (%d, %d), batch %zu\n", label, s->in_c, s->in_h,
           s->in_w, s->out_c, s->out_h, s->out_w, s->k_h, s->k_w, s->stride, s->pad_top, s->pad_left, n);
    if (n <= 3) check_reference_gradients(s, n, rng); /* the larger case only adds chunking */
    const size_t nx = in_size(s, n), ny = out_size(s, n), nw = w_size(s), nws = cn_conv2d_workspace_floats(s, n);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dy = malloc(ny * sizeof *dy);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    float *again = malloc((nx > nw ? nx : nw) * sizeof *again);
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
    /* Outputs start as NaN: every element must be overwritten. */
    for (size_t i = 0; i < ny; i++) y[i] = NAN;
    for (size_t i = 0; i < nx; i++) dx[i] = NAN;
    for (size_t i = 0; i < nw; i++) dw[i] = NAN;
    cn_test_upload(rt, &by, y, ny, "y");
    cn_test_upload(rt, &bdx, dx, nx, "dx");
    cn_test_upload(rt, &bdw, dw, nw, "dw");
    CHECK_OK(cn_buffer_alloc(rt, &bws, (nws ? nws : 1) * sizeof(float), "workspace", TE));
    printf("  workspace %.2f MB\n", nws * 4e-6);

    const size_t k_terms = (size_t)s->in_c * s->k_h * s->k_w;
    const size_t dx_terms = (size_t)s->out_c * s->k_h * s->k_w;
    const size_t dw_terms = n * s->out_h * s->out_w;
    CHECK_OK(cn_conv2d_forward(rt, s, n, &bx, &bw, &by, &bws, TE));
    cn_test_download(rt, &by, y, ny);
    cn_test_close("forward y", y, want_y, ny, tolerance(k_terms), 10 * tolerance(k_terms));
    CHECK_OK(cn_conv2d_backward_data(rt, s, n, &bdy, &bw, &bdx, &bws, TE));
    cn_test_download(rt, &bdx, dx, nx);
    cn_test_close("backward_data dx", dx, want_dx, nx, tolerance(dx_terms), 10 * tolerance(dx_terms));
    CHECK_OK(cn_conv2d_backward_data(rt, s, n, &bdy, &bw, &bdx, &bws, TE));
    cn_test_download(rt, &bdx, again, nx);
    CHECK(memcmp(again, dx, nx * sizeof *dx) == 0, "backward_data must repeat bit for bit");
    CHECK_OK(cn_conv2d_backward_params(rt, s, n, &bx, &bdy, &bdw, &bws, TE));
    cn_test_download(rt, &bdw, dw, nw);
    cn_test_close("backward_params dw", dw, want_dw, nw, tolerance(dw_terms), 10 * tolerance(dw_terms));
    CHECK_OK(cn_conv2d_backward_params(rt, s, n, &bx, &bdy, &bdw, &bws, TE));
    cn_test_download(rt, &bdw, again, nw);
    CHECK(memcmp(again, dw, nw * sizeof *dw) == 0, "backward_params must repeat bit for bit");

    cn_buffer *all[] = {&bx, &bw, &bdy, &by, &bdx, &bdw, &bws};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(again);
    free(xd), free(wd), free(dyd), free(want_y), free(want_dx), free(want_dw);
}

/* SAME with an odd total pads the extra row and column at the bottom and right (TensorFlow): a
 * 2x2 kernel that picks the bottom-right tap on 1..16 in a 4x4 image reads one past the edge. */
static void check_known_answer(cn_runtime *rt) {
    printf("known answer: k2 s1 SAME on 4x4 pads (0, 1)\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 1, 4, 4, 1, 2, 1, CN_CONV_PAD_SAME, 0, TE));
    float x[16], w[4] = {0, 0, 0, 1}, y[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    const float want[16] = {6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0, 0, 0, 0, 0};
    cn_buffer bx, bw, by, bws;
    cn_test_upload(rt, &bx, x, 16, "x");
    cn_test_upload(rt, &bw, w, 4, "w");
    cn_test_upload(rt, &by, x, 16, "y");
    CHECK_OK(cn_buffer_alloc(rt, &bws, cn_conv2d_workspace_floats(&s, 1) * sizeof(float), "ws", TE));
    CHECK_OK(cn_conv2d_forward(rt, &s, 1, &bx, &bw, &by, &bws, TE));
    cn_test_download(rt, &by, y, 16);
    CHECK(memcmp(y, want, sizeof want) == 0, "k2 SAME on 4x4 gave %g %g %g %g / ... / %g", y[0], y[1], y[2], y[3],
          y[15]);
    cn_buffer *all[] = {&bx, &bw, &by, &bws};
    for (size_t i = 0; i < 4; i++) cn_buffer_free(rt, all[i]);
}

static void check_refusals(cn_runtime *rt) {
    printf("buffers too small are refused\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 5, 5, 3, 3, 1, CN_CONV_PAD_SAME, 0, TE));
    float zeros[150] = {0};
    cn_buffer x, w, y, ws;
    cn_test_upload(rt, &x, zeros, 50, "x");
    cn_test_upload(rt, &w, zeros, 54, "w");
    cn_test_upload(rt, &y, zeros, 74, "y (one float short)");
    cn_test_upload(rt, &ws, zeros, 150, "ws (too small)");
    CHECK(cn_conv2d_forward(rt, &s, 1, &x, &w, &y, &ws, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "[1, 3, 5, 5] tensor holds 74 floats, needs 75"),
          "a short output must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &y);
    cn_test_upload(rt, &y, zeros, 75, "y");
    CHECK(cn_conv2d_forward(rt, &s, 1, &x, &w, &y, &ws, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "workspace"),
          "a short workspace must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer *all[] = {&x, &w, &y, &ws};
    for (size_t i = 0; i < 4; i++) cn_buffer_free(rt, all[i]);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {7};
    check_shapes();
    check_known_answer(rt);
    check_refusals(rt);
    struct {
        const char *label;
        int in_c, in_h, in_w, out_c, k, stride;
        cn_conv_padding pad;
        int explicit_pad;
        size_t n;
    } cases[] = {
        {"k3 s1 SAME", 3, 9, 9, 4, 3, 1, CN_CONV_PAD_SAME, 0, 1},
        {"k3 s1 SAME", 3, 9, 9, 4, 3, 1, CN_CONV_PAD_SAME, 0, 3},
        {"k4 s2 SAME 7 -> 4, pads (1, 2)", 2, 7, 7, 5, 4, 2, CN_CONV_PAD_SAME, 0, 3},
        {"k5 s2 SAME non-square, pads (1, 2) x (2, 2)", 3, 10, 9, 4, 5, 2, CN_CONV_PAD_SAME, 0, 3},
        {"k3 s2 VALID, last column unused", 3, 9, 8, 5, 3, 2, CN_CONV_PAD_VALID, 0, 3},
        {"k3 s2 explicit pad 1", 2, 8, 8, 3, 3, 2, CN_CONV_PAD_EXPLICIT, 1, 1},
        {"k1 s1 VALID (1x1)", 5, 3, 3, 7, 1, 1, CN_CONV_PAD_VALID, 0, 3},
        {"kernel covers the input (fc)", 4, 4, 4, 6, 4, 1, CN_CONV_PAD_VALID, 0, 3},
        {"cut into chunks (13 + 1 images)", 16, 64, 64, 4, 3, 1, CN_CONV_PAD_SAME, 0, 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cn_conv2d_shape s;
        CHECK_OK(cn_conv2d_shape_make(&s, cases[i].in_c, cases[i].in_h, cases[i].in_w, cases[i].out_c, cases[i].k,
                                      cases[i].stride, cases[i].pad, cases[i].explicit_pad, TE));
        check_device(rt, cases[i].label, &s, cases[i].n, &rng);
    }
    printf("GEMM backend used: %s\n", cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    return cn_test_finish();
}
