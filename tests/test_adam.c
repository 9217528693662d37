/* Adam: ten steps against a double host reference (parameters, m and v checked after steps 1 and
 * 10), the known first step (|update| = lr for gradients well above eps), a start at t = 10 with
 * given moments, and the argument checks. */
#include <math.h>
#include <stdlib.h>

#include "coopnets/cn_adam.h"
#include "support/cn_test.h"

/* The moments are a few float roundings each (m: relative 2e-7). The update is lr times a ratio
 * near 1 computed to ~1e-6 relative (sqrt, divide, the float-rounded corrections), i.e. ~1e-8
 * absolute per step with lr = 0.007, while the parameter itself rounds by up to 6e-8 (|p| <= 1)
 * each step, 10 steps: abs 1e-6 on p; RMS relative to ~0.6 is far below 1e-6. */
#define NRMS_TOL 1e-6
#define PARAM_ABS_TOL 1e-6
#define MOMENT_REL_ABS_TOL 1e-6

typedef struct {
    double *p, *m, *v;
} host_state;

static void host_adam(const cn_adam_params *a, unsigned long t, size_t count, host_state *s, const float *grad) {
    double c1 = 1 - pow(a->beta1, (double)t), c2 = 1 - pow(a->beta2, (double)t);
    for (size_t i = 0; i < count; i++) {
        double g = grad[i];
        s->m[i] = a->beta1 * s->m[i] + (1 - (double)a->beta1) * g;
        s->v[i] = a->beta2 * s->v[i] + (1 - (double)a->beta2) * g * g;
        s->p[i] -= a->lr * (s->m[i] / c1) / (sqrt(s->v[i] / c2) + a->eps);
    }
}

static double largest_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static void compare(cn_runtime *rt, const char *label, unsigned long t, size_t count, const host_state *s,
                    const cn_buffer *p, const cn_buffer *m, const cn_buffer *v) {
    float *got = malloc(count * sizeof *got);
    char what[96];
    snprintf(what, sizeof what, "%s param after t=%lu", label, t);
    cn_test_download(rt, p, got, count);
    cn_test_close(what, got, s->p, count, NRMS_TOL, PARAM_ABS_TOL);
    snprintf(what, sizeof what, "%s m after t=%lu", label, t);
    cn_test_download(rt, m, got, count);
    cn_test_close(what, got, s->m, count, NRMS_TOL, MOMENT_REL_ABS_TOL * largest_abs(s->m, count));
    snprintf(what, sizeof what, "%s v after t=%lu", label, t);
    cn_test_download(rt, v, got, count);
    cn_test_close(what, got, s->v, count, NRMS_TOL, MOMENT_REL_ABS_TOL * largest_abs(s->v, count));
    free(got);
}

/* Steps first_t .. last_t from parameters in [-param_range, param_range] and moments as given
 * (zero, or a state resumed at first_t - 1), fresh gradients each step; compares after first_t and
 * last_t. Parameters starting at 0 make the RMS check weigh the updates alone (lr = 1e-4 moves a
 * parameter of size 1 by less than its tolerance). */
static void run_steps(cn_runtime *rt, const char *label, const cn_adam_params *a, size_t count, double param_range,
                      unsigned long first_t, unsigned long last_t, int zero_moments, cn_test_rng *rng) {
    float *p = malloc(count * sizeof *p), *m = malloc(count * sizeof *m), *v = malloc(count * sizeof *v);
    float *grad = malloc(count * sizeof *grad);
    host_state s = {malloc(count * sizeof(double)), malloc(count * sizeof(double)), malloc(count * sizeof(double))};
    cn_test_fill_uniform(rng, p, count, -param_range, param_range);
    cn_test_fill_uniform(rng, m, count, -0.1, 0.1);
    cn_test_fill_uniform(rng, v, count, 0, 0.01);
    for (size_t i = 0; i < count; i++) {
        if (zero_moments) m[i] = v[i] = 0;
        s.p[i] = p[i], s.m[i] = m[i], s.v[i] = v[i];
    }
    cn_buffer pb, gb, mb, vb;
    cn_test_upload(rt, &pb, p, count, "param");
    cn_test_upload(rt, &mb, m, count, "m");
    cn_test_upload(rt, &vb, v, count, "v");
    CHECK_OK(cn_buffer_alloc(rt, &gb, count * sizeof(float), "grad", TE));
    for (unsigned long t = first_t; t <= last_t; t++) {
        cn_test_fill_uniform(rng, grad, count, -0.1, 0.1);
        if (count >= 3) {
            grad[1] = 0.0f;  /* m = v = 0 at t = 1: the update must be 0, not 0/0 */
            grad[2] = 1e-9f; /* below eps: the update shrinks */
        }
        CHECK_OK(cn_buffer_write(rt, &gb, 0, grad, count * sizeof(float), TE));
        CHECK_OK(cn_adam_update(rt, a, t, count, &pb, &gb, &mb, &vb, TE));
        host_adam(a, t, count, &s, grad);
        if (t == first_t || t == last_t) compare(rt, label, t, count, &s, &pb, &mb, &vb);
    }
    cn_buffer_free(rt, &pb), cn_buffer_free(rt, &gb), cn_buffer_free(rt, &mb), cn_buffer_free(rt, &vb);
    free(p), free(m), free(v), free(grad), free(s.p), free(s.m), free(s.v);
}

/* The host reference's first step from zero moments is lr * g / (|g| + eps): lr * sign(g) for
 * |g| >> eps, whatever the betas. */
static void test_host_first_step(void) {
    cn_adam_params a = {0.007f, 0.5f, 0.999f, 1e-8f};
    float grad[3] = {0.25f, -3e-4f, 0.0f};
    double p[3] = {0}, m[3] = {0}, v[3] = {0};
    host_state s = {p, m, v};
    host_adam(&a, 1, 3, &s, grad);
    double err = fmax(fabs(p[0] + a.lr), fabs(p[1] - a.lr)) / a.lr;
    CHECK(err < 1e-4 && p[2] == 0, "host first step: %g %g %g, want -lr, +lr, 0", p[0], p[1], p[2]);
    printf("  host first step = -lr * sign(g): relative error %.2e\n", err);
}

static void test_argument_checks(cn_runtime *rt) {
    cn_adam_params a = {0.007f, 0.5f, 0.999f, 1e-8f}, bad_beta = {0.007f, 1.0f, 0.999f, 1e-8f};
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, 8 * sizeof(float), "b", TE));
    CHECK(cn_adam_update(rt, &a, 0, 8, &b, &b, &b, &b, TE) == CN_ERR_ARG, "t = 0 accepted");
    CHECK(cn_adam_update(rt, &bad_beta, 1, 8, &b, &b, &b, &b, TE) == CN_ERR_ARG, "beta1 = 1 accepted");
    CHECK(cn_adam_update(rt, &a, 1, 9, &b, &b, &b, &b, TE) == CN_ERR_ARG, "8 floats accepted for 9");
    cn_buffer_free(rt, &b);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {8};
    test_host_first_step();
    cn_adam_params descriptor = {0.007f, 0.5f, 0.999f, 1e-8f}, generator = {1e-4f, 0.5f, 0.999f, 1e-8f};
    cn_adam_params classic = {1e-3f, 0.9f, 0.999f, 1e-8f};
    run_steps(rt, "descriptor n=1237", &descriptor, 1237, 1.0, 1, 10, 1, &rng);
    run_steps(rt, "generator n=1 p0=0", &generator, 1, 0.0, 1, 10, 1, &rng);
    run_steps(rt, "generator n=999 p0=0", &generator, 999, 0.0, 1, 10, 1, &rng);
    run_steps(rt, "classic n=100003", &classic, 100003, 1.0, 1, 10, 1, &rng);
    run_steps(rt, "resumed n=517", &descriptor, 517, 1.0, 10, 12, 0, &rng);
    test_argument_checks(rt);
    return cn_test_finish();
}
