/* cn_fc against a host double-precision reference: forward, backward_data and backward_params,
 * on odd sizes with batch 1 and 3 and on a long input (the 28x28 descriptor's 4x4x256 -> 100),
 * the reference gradients checked by finite differences; a short buffer is refused. */
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_fc.h"
#include "coopnets/cn_gemm.h"
#include "support/cn_test.h"

typedef struct {
    size_t n, in, out;
} fc_batch;

/* y = x w^T, dx = dy w, dw = dy^T x. */
static void reference(const void *layer, const double *x, const double *w, const double *dy, double *y, double *dx,
                      double *dw) {
    const size_t n = ((const fc_batch *)layer)->n, in = ((const fc_batch *)layer)->in,
                 out = ((const fc_batch *)layer)->out;
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

typedef struct {
    size_t n, in, out;
    const cn_buffer *x, *w;
} forward_pass;

static cn_status fc_forward_pass(cn_runtime *rt, const void *pass, const cn_epilogue *epi, cn_buffer *y, cn_error *e) {
    const forward_pass *p = pass;
    return cn_fc_forward(rt, p->n, p->in, p->out, p->x, p->w, epi, y, e);
}

static void check_device(cn_runtime *rt, size_t n, size_t in, size_t out, cn_test_rng *rng) {
    printf("fc %zu -> %zu, batch %zu\n", in, out, n);
    /* the reference's gradients on at most 64 inputs: the same loops, cheap for the long case */
    const fc_batch layer = {n, in, out}, short_layer = {n, in < 64 ? in : 64, out};
    cn_test_check_reference_gradients(reference, &short_layer, n * short_layer.in, out * short_layer.in, n * out, rng);
    cn_test_layer_data d;
    cn_test_layer_data_make(rt, reference, &layer, n * in, out * in, n * out, rng, &d);
    CHECK_OK(cn_fc_forward(rt, n, in, out, &d.bx, &d.bw, NULL, &d.by, TE));
    cn_test_download(rt, &d.by, d.y, n * out);
    cn_test_close_sums("forward y", d.y, d.want_y, n * out, in);
    const forward_pass pass = {n, in, out, &d.bx, &d.bw};
    cn_test_check_epilogue(rt, fc_forward_pass, &pass, d.y, n, out, 1, &d.by, rng);
    CHECK_OK(cn_fc_backward_data(rt, n, in, out, &d.bdy, &d.bw, &d.bdx, TE));
    cn_test_download(rt, &d.bdx, d.dx, n * in);
    cn_test_close_sums("backward_data dx", d.dx, d.want_dx, n * in, out);
    CHECK_OK(cn_fc_backward_params(rt, n, in, out, &d.bx, &d.bdy, &d.bdw, TE));
    cn_test_download(rt, &d.bdw, d.dw, out * in);
    cn_test_close_sums("backward_params dw", d.dw, d.want_dw, out * in, n);
    cn_test_layer_data_free(rt, &d);
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
    CHECK(cn_fc_forward(rt, 2, 8, 8, &x, &w, NULL, &y, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "fc forward"),
          "8 x 8 weights in 63 floats must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &x);
    cn_buffer_free(rt, &w);
    cn_buffer_free(rt, &y);
    printf("GEMM backend used: %s\n", cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    return cn_test_finish();
}
