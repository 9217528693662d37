/* Activations: forward and backward of none, relu, leaky relu and tanh against a double host
 * reference (whose derivatives are checked by finite differences), in place and out of place,
 * plus the argument checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_activation.h"
#include "support/cn_test.h"

#define SLOPE 0.2f
/* relu/leaky/none are exact in float up to the one rounding of slope*x (6e-8 relative).
 * tanh: OpenCL allows 5 ulp (3e-7 relative to |y| <= 1) and the backward 1 - y^2 doubles that
 * error times |dy| <= 1: abs 2e-6 leaves room, the RMS is far smaller. */
#define EXACT_NRMS_TOL 1e-7
#define EXACT_ABS_TOL 1e-6
#define TANH_NRMS_TOL 1e-6
#define TANH_ABS_TOL 2e-6

static const char *const act_names[] = {"none", "relu", "leaky_relu", "tanh"};

static double host_forward(cn_activation act, double x) {
    switch (act) {
    case CN_ACT_RELU: return x > 0 ? x : 0;
    case CN_ACT_LEAKY_RELU: return x > 0 ? x : SLOPE * x;
    case CN_ACT_TANH: return tanh(x);
    default: return x;
    }
}

/* The derivative read off the forward output, as the device does it. */
static double host_derivative_from_output(cn_activation act, double y) {
    switch (act) {
    case CN_ACT_RELU: return y > 0 ? 1 : 0;
    case CN_ACT_LEAKY_RELU: return y > 0 ? 1 : SLOPE;
    case CN_ACT_TANH: return 1 - y * y;
    default: return 1;
    }
}

/* The host derivative equals the central difference of the host forward (away from the kink at 0,
 * where relu and leaky relu have none). */
static void test_host_derivatives(void) {
    cn_test_rng rng = {11};
    for (int act = CN_ACT_NONE; act <= CN_ACT_TANH; act++) {
        double worst = 0;
        for (int k = 0; k < 200; k++) {
            double x = cn_test_uniform(&rng, -3, 3);
            if (fabs(x) < 1e-3) continue;
            double h = 1e-6;
            double fd = (host_forward(act, x + h) - host_forward(act, x - h)) / (2 * h);
            double err = fabs(fd - host_derivative_from_output(act, host_forward(act, x)));
            if (err > worst) worst = err;
        }
        CHECK(worst < 1e-8, "host derivative of %s off its finite difference by %.2e", act_names[act], worst);
        printf("  host %-10s derivative vs finite difference: max|d| %.2e\n", act_names[act], worst);
    }
}

static void test_shape(cn_runtime *rt, cn_activation act, size_t count, int in_place, cn_test_rng *rng) {
    float *x = malloc(count * sizeof *x), *dy = malloc(count * sizeof *dy), *got = malloc(count * sizeof *got);
    double *want_y = malloc(count * sizeof *want_y), *want_dx = malloc(count * sizeof *want_dx);
    cn_test_fill_uniform(rng, x, count, -3, 3);
    cn_test_fill_uniform(rng, dy, count, -1, 1);
    x[0] = 0.0f; /* the kink: relu'(0) = 0 and leaky'(0) = slope, from y = 0 */
    for (size_t i = 0; i < count; i++) {
        want_y[i] = host_forward(act, x[i]);
        want_dx[i] = dy[i] * host_derivative_from_output(act, want_y[i]);
    }
    double nrms_tol = act == CN_ACT_TANH ? TANH_NRMS_TOL : EXACT_NRMS_TOL;
    double abs_tol = act == CN_ACT_TANH ? TANH_ABS_TOL : EXACT_ABS_TOL;
    cn_buffer xb, yb, dyb, dxb;
    cn_test_upload(rt, &xb, x, count, "x");
    cn_test_upload(rt, &dyb, dy, count, "dy");
    cn_buffer *y_out = &xb, *dx_out = &dyb;
    if (!in_place) {
        CHECK_OK(cn_buffer_alloc(rt, &yb, count * sizeof(float), "y", TE));
        CHECK_OK(cn_buffer_alloc(rt, &dxb, count * sizeof(float), "dx", TE));
        y_out = &yb;
        dx_out = &dxb;
    }
    char what[96];
    CHECK_OK(cn_activation_forward(rt, act, SLOPE, count, &xb, y_out, TE));
    cn_test_download(rt, y_out, got, count);
    snprintf(what, sizeof what, "%s forward n=%zu%s", act_names[act], count, in_place ? " in place" : "");
    cn_test_close(what, got, want_y, count, nrms_tol, abs_tol);

    CHECK_OK(cn_activation_backward(rt, act, SLOPE, count, y_out, &dyb, dx_out, TE));
    cn_test_download(rt, dx_out, got, count);
    snprintf(what, sizeof what, "%s backward n=%zu%s", act_names[act], count, in_place ? " in place" : "");
    cn_test_close(what, got, want_dx, count, nrms_tol, abs_tol);

    cn_buffer_free(rt, &xb);
    cn_buffer_free(rt, &dyb);
    if (!in_place) {
        cn_buffer_free(rt, &yb);
        cn_buffer_free(rt, &dxb);
    }
    free(x), free(dy), free(got), free(want_y), free(want_dx);
}

static void test_argument_checks(cn_runtime *rt) {
    cn_buffer small;
    CHECK_OK(cn_buffer_alloc(rt, &small, 10 * sizeof(float), "small", TE));
    CHECK(cn_activation_forward(rt, CN_ACT_TANH, SLOPE, 11, &small, &small, TE) == CN_ERR_ARG,
          "a buffer of 10 floats accepted for 11");
    CHECK(strstr(cn_test_error.message, "x holds 10 floats, needs 11") != NULL, "message: %s", cn_test_error.message);
    CHECK(cn_activation_backward(rt, CN_ACT_LEAKY_RELU, 0.0f, 10, &small, &small, &small, TE) == CN_ERR_ARG,
          "leaky slope 0 accepted (the output-based derivative needs slope > 0)");
    CHECK(cn_activation_forward(rt, (cn_activation)17, SLOPE, 10, &small, &small, TE) == CN_ERR_ARG,
          "unknown activation accepted");
    cn_buffer_free(rt, &small);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {2024};
    test_host_derivatives();
    static const size_t counts[] = {1, 7, 1001, 65537};
    for (int act = CN_ACT_NONE; act <= CN_ACT_TANH; act++)
        for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
            for (int in_place = 0; in_place <= 1; in_place++)
                test_shape(rt, (cn_activation)act, counts[k], in_place, &rng);
    test_argument_checks(rt);
    return cn_test_finish();
}
