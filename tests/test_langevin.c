/* The fused Langevin steps against a host double-precision reference, with the noise off and on
 * (the reference takes its noise from cn_noise_normal_host), over several steps so that each step
 * index draws its own noise. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_langevin.h"
#include "support/cn_test.h"

/* One step is a handful of float operations on values of order 1 (the reference settings keep
 * each step's change small): rounding error ~1e-7 relative per step. The device's noise differs
 * from the host's by < 4e-6 (test_noise), scaled by delta <= 0.1 here: < 4e-7 per step. Over
 * STEPS steps both add up linearly at worst. */
#define STEPS 3
#define NRMS_TOL 1e-6
#define ABS_TOL 2e-6

typedef enum { DESCRIPTOR, GENERATOR } chain_kind;

typedef struct {
    chain_kind kind;
    double delta, refsig; /* refsig: descriptor only */
    double grad_scale;    /* gradients drawn from U(-grad_scale, grad_scale) */
} langevin_case;

/* x <- x - (delta^2/2) * (x/s^2 - g) + delta*n   (descriptor)
 * x <- x - (delta^2/2) * (x + g) + delta*n       (generator) */
static void reference_step(const langevin_case *c, double *x, const float *grad, const float *noise, size_t n) {
    double half = c->delta * c->delta / 2;
    for (size_t i = 0; i < n; i++) {
        double drift = c->kind == DESCRIPTOR ? x[i] / (c->refsig * c->refsig) - grad[i] : x[i] + grad[i];
        x[i] = x[i] - half * drift + (noise ? c->delta * noise[i] : 0.0);
    }
}

static cn_status device_step(cn_runtime *rt, const langevin_case *c, size_t n, cn_buffer *x, const cn_buffer *grad,
                             int noise, const cn_noise_key *k, cn_error *e) {
    if (c->kind == DESCRIPTOR)
        return cn_langevin_descriptor_step(rt, n, x, grad, (float)c->delta, (float)c->refsig, noise, k, e);
    return cn_langevin_generator_step(rt, n, x, grad, (float)c->delta, noise, k, e);
}

static void run_case(cn_runtime *rt, cn_test_rng *rng, const langevin_case *c, size_t n, int noise) {
    float *x0 = malloc(n * sizeof *x0), *grad = malloc(n * STEPS * sizeof *grad);
    float *noise_host = malloc(n * sizeof *noise_host), *got = malloc(n * sizeof *got);
    double *want = malloc(n * sizeof *want);
    /* chains: images in [-1, 1] for the descriptor, latent vectors ~ N(0, 1)-sized for the generator */
    cn_test_fill_uniform(rng, x0, n, c->kind == DESCRIPTOR ? -1 : -2.5, c->kind == DESCRIPTOR ? 1 : 2.5);
    cn_test_fill_uniform(rng, grad, n * STEPS, -c->grad_scale, c->grad_scale);
    cn_test_to_double(x0, want, n);
    cn_noise_key k = {.seed = 0xfeedf00d12345678ULL,
                      .iteration = 11,
                      .stream = c->kind == DESCRIPTOR ? CN_STREAM_DESCRIPTOR_LANGEVIN : CN_STREAM_GENERATOR_LANGEVIN};

    cn_buffer x, g;
    cn_test_upload(rt, &x, x0, n, "chains");
    cn_test_upload(rt, &g, grad, n, "gradient");
    for (uint32_t step = 0; step < STEPS; step++) {
        k.step = step;
        /* each step its own gradient, as the descriptor's backward pass would leave it */
        CHECK_OK(cn_buffer_write(rt, &g, 0, grad + (size_t)step * n, n * sizeof(float), TE));
        CHECK_OK(device_step(rt, c, n, &x, &g, noise, noise ? &k : NULL, TE));
        if (noise) cn_noise_normal_host(&k, n, noise_host);
        reference_step(c, want, grad + (size_t)step * n, noise ? noise_host : NULL, n);
    }
    cn_test_download(rt, &x, got, n);
    char what[96];
    snprintf(what, sizeof what, "%s step x%d, n=%zu, noise %s", c->kind == DESCRIPTOR ? "descriptor" : "generator",
             STEPS, n, noise ? "on" : "off");
    cn_test_close(what, got, want, n, NRMS_TOL, ABS_TOL);
    cn_buffer_free(rt, &x);
    cn_buffer_free(rt, &g);
    free(x0);
    free(grad);
    free(noise_host);
    free(got);
    free(want);
}

/* The step's noise is cn_noise_normal's, bit for bit, from any first element: from x = 0 and a
 * zero gradient, a generator step with delta = 1 leaves x = 0 - 0.5 * 0 + 1 * z = z exactly. */
static void test_same_noise(cn_runtime *rt) {
    enum { COUNT = 203 };
    const uint64_t firsts[] = {0, 5, 16, 37};
    float stepped[COUNT], drawn[COUNT];
    cn_buffer x, g, z;
    CHECK_OK(cn_buffer_alloc(rt, &x, COUNT * sizeof(float), "chains", TE));
    CHECK_OK(cn_buffer_alloc(rt, &g, COUNT * sizeof(float), "gradient", TE));
    CHECK_OK(cn_buffer_alloc(rt, &z, COUNT * sizeof(float), "noise", TE));
    CHECK_OK(cn_buffer_fill_f32(rt, &g, 0.0f, 0, COUNT, TE));
    for (size_t f = 0; f < sizeof firsts / sizeof *firsts; f++) {
        cn_noise_key k = {.seed = 0x0123456789abcdefULL, .iteration = 9, .stream = CN_STREAM_GENERATOR_LANGEVIN,
                          .step = 2, .first = firsts[f]};
        CHECK_OK(cn_buffer_fill_f32(rt, &x, 0.0f, 0, COUNT, TE));
        CHECK_OK(cn_langevin_generator_step(rt, COUNT, &x, &g, 1.0f, 1, &k, TE));
        CHECK_OK(cn_noise_normal(rt, &k, COUNT, &z, TE));
        cn_test_download(rt, &x, stepped, COUNT);
        cn_test_download(rt, &z, drawn, COUNT);
        CHECK(memcmp(stepped, drawn, sizeof drawn) == 0, "first %llu: the step's noise is not cn_noise_normal's",
              (unsigned long long)firsts[f]);
    }
    printf("  the step's noise is cn_noise_normal's bit for bit (first 0, 5, 16, 37)\n");
    cn_buffer_free(rt, &x);
    cn_buffer_free(rt, &g);
    cn_buffer_free(rt, &z);
}

static void test_arguments(cn_runtime *rt) {
    cn_buffer x, g;
    CHECK_OK(cn_buffer_alloc(rt, &x, 8 * sizeof(float), "chains", TE));
    CHECK_OK(cn_buffer_alloc(rt, &g, 4 * sizeof(float), "gradient", TE));
    CHECK(cn_langevin_generator_step(rt, 8, &x, &g, 0.1f, 0, NULL, TE) == CN_ERR_ARG,
          "a gradient of 4 values accepted for 8 chains values");
    CHECK(cn_langevin_descriptor_step(rt, 4, &x, &g, 0.002f, 0.016f, 1, NULL, TE) == CN_ERR_ARG,
          "noise without a key accepted");
    CHECK_OK(cn_langevin_descriptor_step(rt, 0, &x, &g, 0.002f, 0.016f, 0, NULL, TE));
    cn_buffer_free(rt, &x);
    cn_buffer_free(rt, &g);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {7};
    /* the reference settings of DESIGN §2; descriptor gradients large enough that the drift's two
     * terms are of one size (y/s^2 ~ 4e3), generator gradients of a reconstruction loss's size */
    const langevin_case cases[] = {
        {DESCRIPTOR, 0.002, 0.016, 4000.0},
        {GENERATOR, 0.1, 0, 3.0},
    };
    const size_t sizes[] = {1, 6, 1001, 3 * 28 * 28 + 1};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (int noise = 0; noise <= 1; noise++) run_case(rt, &rng, &cases[c], sizes[s], noise);
    test_same_noise(rt);
    test_arguments(rt);
    return cn_test_finish();
}
