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

static size_t x_size(const cn_conv2d_shape *s, size_t n) { return n * s->out_c * s->out_h * s->out_w; }
static size_t y_size(const cn_conv2d_shape *s, size_t n) { return n * s->in_c * s->in_h * s->in_w; }
static size_t w_size(const cn_conv2d_shape *s) { return (size_t)s->out_c * s->in_c * s->k_h * s->k_w; }

typedef struct {
    const cn_conv2d_shape *s;
    size_t n;
} deconv_batch;

/* Input pixel (h, v) of channel o scatters x * w[o, c, i, j] to output pixel
 * (h * stride - pad_top + i, v * stride - pad_left + j) of channel c, when that is inside; the
 * gradients gather along the same pairs. */
static void reference(const void *layer, const double *x, const double *w, const double *dy, double *y, double *dx,
                      double *dw) {
    const cn_conv2d_shape *s = ((const deconv_batch *)layer)->s;
    const size_t n = ((const deconv_batch *)layer)->n;
    memset(y, 0, y_size(s, n) * sizeof *y);
    memset(dx, 0, x_size(s, n) * sizeof *dx);
    memset(dw, 0, w_size(s) * sizeof *dw);
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
                                y[yi] += x[xi] * w[wi];
                                dx[xi] += w[wi] * dy[yi];
                                dw[wi] += x[xi] * dy[yi];
                            }
                }
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void check_device(cn_runtime *rt, const char *label, const cn_conv2d_shape *s, size_t n, cn_test_rng *rng) {
    printf("%s: deconv %dx%dx%d -> %dx%dx%d, k%dx%d s%d, batch %zu\n", label, s->out_c, s->out_h, s->out_w, s->in_c,
           s->in_h, s->in_w, s->k_h, s->k_w, s->stride, n);
    const deconv_batch layer = {s, n};
    const size_t nx = x_size(s, n), ny = y_size(s, n), nw = w_size(s), nws = cn_conv2d_workspace_floats(s, n);
    cn_test_check_reference_gradients(reference, &layer, nx, nw, ny, rng);
    cn_test_layer_data d;
    cn_test_layer_data_make(rt, reference, &layer, nx, nw, ny, rng, &d);
    cn_buffer ws;
    CHECK_OK(cn_buffer_alloc(rt, &ws, nws * sizeof(float), "workspace", TE));

    /* Reduction lengths: forward sums over out_c * taps hitting a pixel, backward_data over
     * in_c * k * k, backward_params over n * out_h * out_w. */
    const size_t y_terms = (size_t)s->out_c * s->k_h * s->k_w, dx_terms = (size_t)s->in_c * s->k_h * s->k_w,
                 dw_terms = n * s->out_h * s->out_w;
    CHECK_OK(cn_deconv2d_forward(rt, s, n, &d.bx, &d.bw, NULL, &d.by, &ws, TE));
    cn_test_download(rt, &d.by, d.y, ny);
    cn_test_close_sums("forward y", d.y, d.want_y, ny, y_terms);
    const cn_test_conv_pass pass = {cn_deconv2d_forward, s, n, &d.bx, &d.bw, &ws};
    cn_test_check_epilogue(rt, cn_test_run_conv_pass, &pass, d.y, n, (size_t)s->in_c, (size_t)s->in_h * s->in_w, &d.by,
                           rng);
    CHECK_OK(cn_deconv2d_backward_data(rt, s, n, &d.bdy, &d.bw, &d.bdx, &ws, TE));
    cn_test_download(rt, &d.bdx, d.dx, nx);
    cn_test_close_sums("backward_data dx", d.dx, d.want_dx, nx, dx_terms);
    CHECK_OK(cn_deconv2d_backward_params(rt, s, n, &d.bx, &d.bdy, &d.bdw, &ws, TE));
    cn_test_download(rt, &d.bdw, d.dw, nw);
    cn_test_close_sums("backward_params dw", d.dw, d.want_dw, nw, dw_terms);

    /* Adjoint identity on the device: with u shaped like the deconv's output (the conv's input)
     * and v like its input, <conv(u), v> = <u, convT(v)>. Both sides are float results summed
     * in double; their relative difference is float rounding, 1e-5. */
    float *conv_u = malloc(nx * sizeof *conv_u);
    CHECK_OK(cn_conv2d_forward(rt, s, n, &d.bdy, &d.bw, NULL, &d.bdx, &ws, TE)); /* conv(u) with u = dy */
    cn_test_download(rt, &d.bdx, conv_u, nx);
    const double left = dot(conv_u, d.x, nx), right = dot(d.dy, d.y, ny); /* y = convT(x) from above */
    const double rel = fabs(left - right) / fmax(fabs(left), fabs(right));
    printf("  adjoint <conv(u), v> = %.6f, <u, convT(v)> = %.6f: relative difference %.1e (tol 1e-5)\n", left,
           right, rel);
    CHECK(rel < 1e-5, "adjoint identity off by %.3e", rel);

    cn_buffer_free(rt, &ws);
    cn_test_layer_data_free(rt, &d);
    free(conv_u);
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
        {"k5 s2 SAME 3x2 -> 5x4, 16 output channels (col2im by channels)",
         3, 3, 2, 16, 5, 4, 5, 2, CN_CONV_PAD_SAME, 2},
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
