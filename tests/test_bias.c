/* Per-channel bias: the one-pass epilogue forward (y = act(z + b), each activation, in place and
 * not) and the parameter gradient (db = sum of dy over n and hw) against a double host reference,
 * whose gradient is checked by finite differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_bias.h"
#include "support/cn_test.h"

/* Forward: one float add per value, exact to half an ulp of |y| <= 4 (2.4e-7), then the
 * activation: exact for (leaky) ReLU, a few ulps of |tanh| <= 1 for tanh.
 * Gradient: compensated summation errs by a few roundings of the result whatever the length
 * (measured <= 5e-8 relative), so relative 3e-7 holds even for the 10^6-term sums of values near
 * 1 below, which uncompensated float8 lanes miss (1.2e-6: checked by swapping the summation).
 * The abs bound is relative to the largest |db|. */
#define FORWARD_NRMS_TOL 1e-7
#define FORWARD_ABS_TOL 5e-7
#define GRADIENT_NRMS_TOL 3e-7
#define GRADIENT_REL_ABS_TOL 3e-7

typedef struct {
    size_t n, c, hw;
    double lo, hi; /* dy range: a mean far from zero makes long sums hard for plain float */
} shape;

static void host_bias_forward(size_t n, size_t c, size_t hw, const double *x, const double *b, double *y) {
    for (size_t i = 0; i < n * c * hw; i++) y[i] = x[i] + b[(i / hw) % c];
}

#define LEAKY_SLOPE 0.2

static double host_activation(cn_activation act, double v) {
    switch (act) {
    case CN_ACT_RELU: return v > 0 ? v : 0;
    case CN_ACT_LEAKY_RELU: return v > 0 ? v : LEAKY_SLOPE * v;
    case CN_ACT_TANH: return tanh(v);
    case CN_ACT_NONE: break;
    }
    return v;
}

static const char *const activation_names[] = {"none", "relu", "leaky relu", "tanh"};

static void host_bias_backward_params(size_t n, size_t c, size_t hw, const double *dy, double *db) {
    for (size_t ch = 0; ch < c; ch++) db[ch] = 0;
    for (size_t i = 0; i < n * c * hw; i++) db[(i / hw) % c] += dy[i];
}

/* L(b) = sum w * y(b): dL/db from the host gradient against central differences. */
static void test_host_gradient(void) {
    enum { N = 2, C = 3, HW = 5, COUNT = N * C * HW };
    cn_test_rng rng = {5};
    double x[COUNT], w[COUNT], y[COUNT], b[C], db[C], worst = 0;
    for (size_t i = 0; i < COUNT; i++) x[i] = cn_test_uniform(&rng, -1, 1), w[i] = cn_test_uniform(&rng, -1, 1);
    for (size_t ch = 0; ch < C; ch++) b[ch] = cn_test_uniform(&rng, -1, 1);
    host_bias_backward_params(N, C, HW, w, db);
    for (size_t ch = 0; ch < C; ch++) {
        double loss[2], h = 1e-6;
        for (int side = 0; side < 2; side++) {
            double saved = b[ch];
            b[ch] += side ? -h : h;
            host_bias_forward(N, C, HW, x, b, y);
            loss[side] = 0;
            for (size_t i = 0; i < COUNT; i++) loss[side] += w[i] * y[i];
            b[ch] = saved;
        }
        double err = fabs((loss[0] - loss[1]) / (2 * h) - db[ch]);
        if (err > worst) worst = err;
    }
    CHECK(worst < 1e-7, "host bias gradient off its finite difference by %.2e", worst);
    printf("  host bias gradient vs finite difference: max|d| %.2e\n", worst);
}

/* act: the epilogue's activation; in_place: z is y. */
static void test_shape(cn_runtime *rt, shape s, cn_activation act, int in_place, cn_test_rng *rng) {
    size_t count = s.n * s.c * s.hw;
    float *y = malloc(count * sizeof *y), *dy = malloc(count * sizeof *dy), *b = malloc(s.c * sizeof *b);
    float *got = malloc(count * sizeof *got);
    double *yd = malloc(count * sizeof *yd), *dyd = malloc(count * sizeof *dyd), *bd = malloc(s.c * sizeof *bd);
    double *want = malloc(count * sizeof *want);
    cn_test_fill_uniform(rng, y, count, -3, 3);
    cn_test_fill_uniform(rng, dy, count, s.lo, s.hi);
    cn_test_fill_uniform(rng, b, s.c, -1, 1);
    cn_test_to_double(y, yd, count);
    cn_test_to_double(dy, dyd, count);
    cn_test_to_double(b, bd, s.c);
    cn_buffer yb, dyb, bb, dbb;
    cn_test_upload(rt, &yb, y, count, "y");
    cn_test_upload(rt, &dyb, dy, count, "dy");
    cn_test_upload(rt, &bb, b, s.c, "b");
    CHECK_OK(cn_buffer_alloc(rt, &dbb, s.c * sizeof(float), "db", TE));
    CHECK_OK(cn_buffer_fill_f32(rt, &dbb, 1e30f, 0, s.c, TE)); /* overwritten, not added to */
    char what[96];

    const cn_epilogue epi = {&bb, act, (float)LEAKY_SLOPE};
    cn_buffer out = yb;
    if (!in_place) CHECK_OK(cn_buffer_alloc(rt, &out, count * sizeof(float), "out", TE));
    CHECK_OK(cn_bias_activation_forward(rt, s.n, s.c, s.hw, &epi, &yb, &out, TE));
    host_bias_forward(s.n, s.c, s.hw, yd, bd, want);
    for (size_t i = 0; i < count; i++) want[i] = host_activation(act, want[i]);
    cn_test_download(rt, &out, got, count);
    if (!in_place) cn_buffer_free(rt, &out);
    snprintf(what, sizeof what, "forward, %s%s, n=%zu c=%zu hw=%zu", activation_names[act],
             in_place ? " in place" : "", s.n, s.c, s.hw);
    cn_test_close(what, got, want, count, FORWARD_NRMS_TOL, FORWARD_ABS_TOL);

    CHECK_OK(cn_bias_backward_params(rt, s.n, s.c, s.hw, &dyb, &dbb, TE));
    host_bias_backward_params(s.n, s.c, s.hw, dyd, want);
    double largest = 0;
    for (size_t ch = 0; ch < s.c; ch++) largest = fmax(largest, fabs(want[ch]));
    cn_test_download(rt, &dbb, got, s.c);
    snprintf(what, sizeof what, "backward_params n=%zu c=%zu hw=%zu", s.n, s.c, s.hw);
    cn_test_close(what, got, want, s.c, GRADIENT_NRMS_TOL, GRADIENT_REL_ABS_TOL * fmax(largest, 1));

    cn_buffer_free(rt, &yb), cn_buffer_free(rt, &dyb), cn_buffer_free(rt, &bb), cn_buffer_free(rt, &dbb);
    free(y), free(dy), free(b), free(got), free(yd), free(dyd), free(bd), free(want);
}

static void test_argument_checks(cn_runtime *rt) {
    cn_buffer small;
    CHECK_OK(cn_buffer_alloc(rt, &small, 12 * sizeof(float), "small", TE));
    const cn_epilogue bias = {&small, CN_ACT_NONE, 0.2f};
    CHECK(cn_bias_activation_forward(rt, 2, 3, 3, &bias, &small, &small, TE) == CN_ERR_ARG,
          "y of 12 floats accepted for 2x3x3");
    CHECK(cn_bias_activation_forward(rt, 1, 13, 1, &bias, &small, &small, TE) == CN_ERR_ARG,
          "a bias of 12 floats accepted for c=13");
    const cn_epilogue flat = {&small, CN_ACT_LEAKY_RELU, 0.0f};
    CHECK(cn_bias_activation_forward(rt, 1, 3, 1, &flat, &small, &small, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "slope"),
          "a leaky ReLU of slope 0 accepted");
    CHECK(cn_bias_activation_forward(rt, 1, 3, 1, NULL, &small, &small, TE) == CN_ERR_ARG, "no epilogue accepted");
    CHECK(cn_bias_backward_params(rt, 1, 13, 1, &small, &small, TE) == CN_ERR_ARG, "db of 12 floats accepted for c=13");
    cn_buffer_free(rt, &small);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {77};
    test_host_gradient();
    static const shape shapes[] = {
        {1, 1, 1, -1, 1},   {1, 3, 1, -1, 1},    {5, 100, 1, -1, 1},      {2, 5, 7, -1, 1},
        {3, 64, 49, -1, 1}, {1, 7, 1023, -1, 1}, {144, 3, 250, 0.5, 1.5}, {64, 2, 16384, 0.5, 1.5} /* 10^6-term sums */,
    };
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
        test_shape(rt, shapes[k], (cn_activation)(k % 4), k % 3 != 1, &rng);
    test_argument_checks(rt);
    return cn_test_finish();
}
