/* Batch norm with batch statistics: forward (y, mean, invstd), backward_data and backward_params,
 * with and without a scale, against a double host reference whose gradients are checked by
 * finite differences; batch 1 and more, hw 1, odd sizes, data far from zero, in place; in every
 * variant the device can run (a work-item per channel, work-groups of several sizes per channel). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_batchnorm.h"
#include "coopnets/cn_tuning.h"
#include "support/cn_test.h"

#define EPS 1e-3f

/* Tolerances. The statistics are compensated float sums (about one rounding each); what is left
 * is x - mean, which for data centred at 5 with spread 1 loses ~5 ulp relative to the spread, i.e.
 * ~1e-6 relative on xhat; times invstd up to 1/sqrt(eps) = 32 when the variance is 0. So 1e-5
 * relative RMS everywhere, and max-abs bounds relative to each tensor's largest value. */
#define NRMS_TOL 1e-5
#define REL_ABS_TOL 2e-5

typedef struct {
    size_t n, c, hw;
    double x_lo, x_hi;
} shape;

typedef struct {
    size_t n, c, hw;
    const double *x, *scale; /* scale NULL: 1 */
    const double *shift;
} bn_problem;

#define AT(p, b, ch, j) (((b) * (p)->c + (ch)) * (p)->hw + (j))

static void host_forward(const bn_problem *p, double *y, double *mean, double *invstd) {
    double count = (double)(p->n * p->hw);
    for (size_t ch = 0; ch < p->c; ch++) {
        double sum = 0, squares = 0;
        for (size_t b = 0; b < p->n; b++)
            for (size_t j = 0; j < p->hw; j++) sum += p->x[AT(p, b, ch, j)];
        mean[ch] = sum / count;
        for (size_t b = 0; b < p->n; b++)
            for (size_t j = 0; j < p->hw; j++) squares += pow(p->x[AT(p, b, ch, j)] - mean[ch], 2);
        invstd[ch] = 1 / sqrt(squares / count + EPS);
        double gain = invstd[ch] * (p->scale ? p->scale[ch] : 1);
        for (size_t b = 0; b < p->n; b++)
            for (size_t j = 0; j < p->hw; j++)
                y[AT(p, b, ch, j)] = (p->x[AT(p, b, ch, j)] - mean[ch]) * gain + p->shift[ch];
    }
}

/* dx, and dscale/dshift (each may be NULL), for upstream gradient dy. */
static void host_backward(const bn_problem *p, const double *dy, double *dx, double *dscale, double *dshift) {
    size_t count = p->n * p->hw, total = p->n * p->c * p->hw;
    double *y = malloc(total * sizeof *y), *mean = malloc(p->c * sizeof *mean), *invstd = malloc(p->c * sizeof *invstd);
    host_forward(p, y, mean, invstd);
    for (size_t ch = 0; ch < p->c; ch++) {
        double sum_dy = 0, sum_dy_xhat = 0;
        for (size_t b = 0; b < p->n; b++)
            for (size_t j = 0; j < p->hw; j++) {
                size_t i = AT(p, b, ch, j);
                sum_dy += dy[i];
                sum_dy_xhat += dy[i] * (p->x[i] - mean[ch]) * invstd[ch];
            }
        if (dshift) dshift[ch] = sum_dy;
        if (dscale) dscale[ch] = sum_dy_xhat;
        double gain = invstd[ch] * (p->scale ? p->scale[ch] : 1);
        for (size_t b = 0; b < p->n; b++)
            for (size_t j = 0; j < p->hw; j++) {
                size_t i = AT(p, b, ch, j);
                double xhat = (p->x[i] - mean[ch]) * invstd[ch];
                dx[i] = gain * (dy[i] - sum_dy / count - xhat * sum_dy_xhat / count);
            }
    }
    free(y), free(mean), free(invstd);
}

/* L = sum w * y at the problem as it stands (the caller perturbs x, scale or shift in place). */
static double host_loss(const bn_problem *p, const double *w) {
    size_t total = p->n * p->c * p->hw;
    double *y = malloc(total * sizeof *y), *mean = malloc(p->c * sizeof *mean), *invstd = malloc(p->c * sizeof *invstd);
    host_forward(p, y, mean, invstd);
    double loss = 0;
    for (size_t i = 0; i < total; i++) loss += w[i] * y[i];
    free(y), free(mean), free(invstd);
    return loss;
}

/* Largest |analytic - central difference| over every entry of v. */
static double fd_worst(bn_problem *p, double *v, size_t count, const double *w, const double *analytic) {
    double worst = 0, h = 1e-5;
    for (size_t i = 0; i < count; i++) {
        double saved = v[i];
        v[i] = saved + h;
        double up = host_loss(p, w);
        v[i] = saved - h;
        double down = host_loss(p, w);
        v[i] = saved;
        worst = fmax(worst, fabs((up - down) / (2 * h) - analytic[i]));
    }
    return worst;
}

static void test_host_gradients(void) {
    static const size_t shapes[][3] = {{2, 3, 5}, {1, 2, 1}, {1, 2, 3}, {4, 1, 1}};
    cn_test_rng rng = {99};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        size_t n = shapes[k][0], c = shapes[k][1], hw = shapes[k][2], total = n * c * hw;
        double *x = malloc(total * sizeof *x), *w = malloc(total * sizeof *w), *dx = malloc(total * sizeof *dx);
        double scale[3], shift[3], dscale[3], dshift[3];
        for (size_t i = 0; i < total; i++) x[i] = cn_test_uniform(&rng, -2, 2), w[i] = cn_test_uniform(&rng, -1, 1);
        for (size_t ch = 0; ch < c; ch++)
            scale[ch] = cn_test_uniform(&rng, 0.5, 2), shift[ch] = cn_test_uniform(&rng, -1, 1);
        for (int with_scale = 0; with_scale <= 1; with_scale++) {
            bn_problem p = {n, c, hw, x, with_scale ? scale : NULL, shift};
            host_backward(&p, w, dx, dscale, dshift);
            double worst = fmax(fd_worst(&p, x, total, w, dx), fd_worst(&p, shift, c, w, dshift));
            if (with_scale) worst = fmax(worst, fd_worst(&p, scale, c, w, dscale));
            /* h = 1e-5 central differences: truncation ~h^2 * |f'''| and rounding ~1e-16/h, both < 1e-7 here. */
            CHECK(worst < 1e-6,
                  "host batch-norm gradients (n %zu c %zu hw %zu, scale %d) off finite differences by %.2e", n, c, hw,
                  with_scale, worst);
            printf("  host gradients vs finite differences, n=%zu c=%zu hw=%zu%s: max|d| %.2e\n", n, c, hw,
                   with_scale ? " with scale" : "", worst);
        }
        free(x), free(w), free(dx);
    }
}

static double largest_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static double rms(const double *v, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i] * v[i];
    return sqrt(sum / (double)n);
}

/* Checks got against want relative to `terms`, the magnitudes want was computed from (want itself
 * when it is no difference of larger terms). */
static void check_close_terms(const char *tensor, const shape *s, int with_scale, int in_place, const float *got,
                              const double *want, const double *terms, size_t count) {
    char what[128];
    snprintf(what, sizeof what, "%s n=%zu c=%zu hw=%zu%s%s", tensor, s->n, s->c, s->hw, with_scale ? " scale" : "",
             in_place ? " in place" : "");
    double want_rms = rms(want, count), terms_rms = rms(terms, count);
    double nrms_tol = want_rms > 0 ? NRMS_TOL * fmax(1, terms_rms / want_rms) : NRMS_TOL * terms_rms;
    cn_test_close(what, got, want, count, nrms_tol, REL_ABS_TOL * fmax(largest_abs(terms, count), 1e-3));
}

static void check_close(const char *tensor, const shape *s, int with_scale, int in_place, const float *got,
                        const double *want, size_t count) {
    check_close_terms(tensor, s, with_scale, in_place, got, want, want, count);
}

static void test_shape(cn_runtime *rt, const shape *s, int with_scale, int in_place, cn_test_rng *rng) {
    size_t total = s->n * s->c * s->hw, c = s->c;
    float *x = malloc(total * sizeof *x), *dy = malloc(total * sizeof *dy), *got = malloc(total * sizeof *got);
    float *scale = malloc(c * sizeof *scale), *shift = malloc(c * sizeof *shift);
    double *xd = malloc(total * sizeof *xd), *dyd = malloc(total * sizeof *dyd), *want = malloc(total * sizeof *want);
    double *terms = calloc(total, sizeof *terms);
    double *scaled = malloc(c * sizeof *scaled), *shiftd = malloc(c * sizeof *shiftd);
    double *mean = malloc(c * sizeof *mean), *invstd = malloc(c * sizeof *invstd);
    double *dscale = malloc(c * sizeof *dscale), *dshift = malloc(c * sizeof *dshift);
    cn_test_fill_uniform(rng, x, total, s->x_lo, s->x_hi);
    cn_test_fill_uniform(rng, dy, total, -1, 1);
    cn_test_fill_uniform(rng, scale, c, 0.5, 2);
    cn_test_fill_uniform(rng, shift, c, -1, 1);
    cn_test_to_double(x, xd, total), cn_test_to_double(dy, dyd, total);
    cn_test_to_double(scale, scaled, c), cn_test_to_double(shift, shiftd, c);
    bn_problem p = {s->n, c, s->hw, xd, with_scale ? scaled : NULL, shiftd};

    cn_buffer xb, yb, dyb, dxb, scaleb, shiftb, meanb, invstdb, dscaleb, dshiftb;
    cn_test_upload(rt, &xb, x, total, "x");
    cn_test_upload(rt, &dyb, dy, total, "dy");
    cn_test_upload(rt, &scaleb, scale, c, "scale");
    cn_test_upload(rt, &shiftb, shift, c, "shift");
    CHECK_OK(cn_buffer_alloc(rt, &yb, total * sizeof(float), "y", TE));
    CHECK_OK(cn_buffer_alloc(rt, &dxb, total * sizeof(float), "dx", TE));
    CHECK_OK(cn_buffer_alloc(rt, &meanb, c * sizeof(float), "mean", TE));
    CHECK_OK(cn_buffer_alloc(rt, &invstdb, c * sizeof(float), "invstd", TE));
    CHECK_OK(cn_buffer_alloc(rt, &dscaleb, c * sizeof(float), "dscale", TE));
    CHECK_OK(cn_buffer_alloc(rt, &dshiftb, c * sizeof(float), "dshift", TE));
    const cn_buffer *scale_arg = with_scale ? &scaleb : NULL;

    /* backward first, while x is intact (the in-place forward overwrites it): dx = dy in place. */
    cn_buffer *dx_out = in_place ? &dyb : &dxb;
    host_forward(&p, want, mean, invstd);
    CHECK_OK(cn_batchnorm_forward(rt, s->n, c, s->hw, EPS, &xb, scale_arg, &shiftb, &yb, &meanb, &invstdb, TE));
    CHECK_OK(cn_batchnorm_backward_params(rt, s->n, c, s->hw, &xb, &meanb, &invstdb, &dyb, with_scale ? &dscaleb : NULL,
                                          &dshiftb, TE));
    CHECK_OK(cn_batchnorm_backward_data(rt, s->n, c, s->hw, &xb, scale_arg, &meanb, &invstdb, &dyb, dx_out, TE));
    cn_test_download(rt, &yb, got, total);
    check_close("y", s, with_scale, 0, got, want, total);
    cn_test_download(rt, &meanb, got, c);
    check_close("mean", s, with_scale, 0, got, mean, c);
    cn_test_download(rt, &invstdb, got, c);
    check_close("invstd", s, with_scale, 0, got, invstd, c);

    /* dx = gain*(dy - mean(dy) - xhat*mean(dy*xhat)) cancels: with two values a channel and
     * var >> eps it is eps/var times its terms. Float error scales with the terms gain*dy, so dx is
     * checked relative to them (the same as relative to dx for any real batch). */
    host_backward(&p, dyd, want, dscale, dshift);
    for (size_t i = 0; i < total; i++) {
        size_t ch = i / s->hw % c;
        terms[i] = dyd[i] * invstd[ch] * (with_scale ? scaled[ch] : 1);
    }
    cn_test_download(rt, dx_out, got, total);
    check_close_terms("dx", s, with_scale, in_place, got, want, terms, total);
    cn_test_download(rt, &dshiftb, got, c);
    check_close("dshift", s, with_scale, 0, got, dshift, c);
    if (with_scale) {
        cn_test_download(rt, &dscaleb, got, c);
        check_close("dscale", s, with_scale, 0, got, dscale, c);
    }
    if (in_place) { /* y = x: the same values as out of place */
        host_forward(&p, want, mean, invstd);
        CHECK_OK(cn_batchnorm_forward(rt, s->n, c, s->hw, EPS, &xb, scale_arg, &shiftb, &xb, &meanb, &invstdb, TE));
        cn_test_download(rt, &xb, got, total);
        check_close("y", s, with_scale, 1, got, want, total);
    }

    cn_buffer *buffers[] = {&xb, &yb, &dyb, &dxb, &scaleb, &shiftb, &meanb, &invstdb, &dscaleb, &dshiftb};
    for (size_t i = 0; i < sizeof buffers / sizeof *buffers; i++) cn_buffer_free(rt, buffers[i]);
    free(x), free(dy), free(got), free(scale), free(shift), free(xd), free(dyd), free(want), free(terms);
    free(scaled);
    free(shiftd), free(mean), free(invstd), free(dscale), free(dshift);
}

/* Launches per-channel kernel `kernel` of batchnorm.cl as the variant in use does: a work-item per
 * channel, or kernel_group with a work-group per channel and its scratch. */
static void run_per_channel(cn_runtime *rt, cn_kernel_id item_kernel, cn_kernel_id group_kernel, size_t c,
                            const cn_arg *args, size_t nargs) {
    const cn_kernel_variant v = cn_tuning_variant(rt, CN_TUNED_BATCHNORM, NULL);
    cn_arg all[16];
    memcpy(all, args, nargs * sizeof *args);
    size_t global = c, local = v.p;
    cn_kernel_id id = item_kernel;
    if (v.kind == CN_VARIANT_GROUP) {
        id = group_kernel;
        global = c * local;
        all[nargs++] = CN_LOCAL(local * 2 * sizeof(float));
    }
    CHECK_OK(cn_run(rt, id, 1, &global, v.kind == CN_VARIANT_GROUP ? &local : NULL, all, nargs, TE));
}
#define RUN_PER_CHANNEL(rt, kernel, c, ...)                                                                  \
    run_per_channel((rt), CN_KERNEL_BATCHNORM_##kernel, CN_KERNEL_BATCHNORM_##kernel##_GROUP, (c),            \
                    (const cn_arg[]){__VA_ARGS__}, sizeof((const cn_arg[]){__VA_ARGS__}) / sizeof(cn_arg))

/* The kernels of synchronised batch norm, on rows [0, part) of a batch of n: each rank's mean and
 * centred sum of squares, its two gradient sums (about the whole batch's mean), and dx from the
 * whole batch's sums, which must equal the whole batch's dx on those rows. */
static void test_split_batch(cn_runtime *rt, cn_test_rng *rng) {
    enum { N = 6, PART = 4, C = 5, HW = 7 };
    const size_t total = N * C * HW, part = PART * C * HW;
    float x[N * C * HW], dy[N * C * HW], got[N * C * HW], meanf[C], invstdf[C], sumsf[2 * C];
    double xd[N * C * HW], dyd[N * C * HW], y[N * C * HW], dx[N * C * HW], mean[C], invstd[C], shift[C] = {0};
    double part_mean[C], part_m2[C], part_sums[2 * C], whole_sums[2 * C], zero_terms[N * C * HW];
    cn_test_fill_uniform(rng, x, total, 4, 6);
    cn_test_fill_uniform(rng, dy, total, -1, 1);
    cn_test_to_double(x, xd, total), cn_test_to_double(dy, dyd, total);
    bn_problem whole = {N, C, HW, xd, NULL, shift};
    host_forward(&whole, y, mean, invstd);
    host_backward(&whole, dyd, dx, NULL, NULL);
    for (size_t ch = 0; ch < C; ch++) {
        double sum = 0, m2 = 0, s_dy[2] = {0, 0}, w_dy[2] = {0, 0};
        for (size_t b = 0; b < PART; b++)
            for (size_t j = 0; j < HW; j++) sum += xd[AT(&whole, b, ch, j)];
        part_mean[ch] = sum / (PART * HW);
        for (size_t b = 0; b < N; b++)
            for (size_t j = 0; j < HW; j++) {
                size_t i = AT(&whole, b, ch, j);
                double *to = b < PART ? s_dy : w_dy;
                to[0] += dyd[i], to[1] += dyd[i] * (xd[i] - mean[ch]);
                if (b < PART) m2 += pow(xd[i] - part_mean[ch], 2);
            }
        part_m2[ch] = m2;
        part_sums[ch] = s_dy[0], part_sums[C + ch] = s_dy[1];
        whole_sums[ch] = s_dy[0] + w_dy[0], whole_sums[C + ch] = s_dy[1] + w_dy[1];
        meanf[ch] = (float)mean[ch], invstdf[ch] = (float)invstd[ch];
    }
    for (size_t i = 0; i < 2 * C; i++) sumsf[i] = (float)whole_sums[i];
    for (size_t i = 0; i < part; i++) zero_terms[i] = dyd[i] * invstd[i / HW % C];
    cn_buffer xb, dyb, dxb, m1, m2b, meanb, invstdb, sumsb, givenb;
    cn_test_upload(rt, &xb, x, part, "x");
    cn_test_upload(rt, &dyb, dy, part, "dy");
    cn_test_upload(rt, &meanb, meanf, C, "mean");
    cn_test_upload(rt, &invstdb, invstdf, C, "invstd");
    cn_test_upload(rt, &givenb, sumsf, 2 * C, "sums");
    CHECK_OK(cn_buffer_alloc(rt, &dxb, part * sizeof(float), "dx", TE));
    CHECK_OK(cn_buffer_alloc(rt, &m1, C * sizeof(float), "part mean", TE));
    CHECK_OK(cn_buffer_alloc(rt, &m2b, C * sizeof(float), "part m2", TE));
    CHECK_OK(cn_buffer_alloc(rt, &sumsb, 2 * C * sizeof(float), "part sums", TE));
    RUN_PER_CHANNEL(rt, STATISTICS, C, CN_MEM(&xb), CN_MEM(&m1), CN_MEM(&m2b), CN_U64(PART), CN_U64(C),
                    CN_U64(HW), CN_F32(EPS), CN_I32(1));
    RUN_PER_CHANNEL(rt, CHANNEL_GRADIENT_SUMS, C, CN_MEM(&xb), CN_MEM(&meanb), CN_MEM(&dyb),
                    CN_MEM(&sumsb), CN_U64(PART), CN_U64(C), CN_U64(HW));
    RUN_PER_CHANNEL(rt, BACKWARD_DATA, C, CN_MEM(&xb), ((cn_arg){sizeof(cl_mem), &(cl_mem){NULL}}),
                    CN_MEM(&meanb), CN_MEM(&invstdb), CN_MEM(&dyb), CN_MEM(&dxb), CN_U64(PART), CN_U64(C), CN_U64(HW),
                    CN_MEM(&givenb), CN_F32(N * HW));
    const shape s = {PART, C, HW, 4, 6};
    cn_test_download(rt, &m1, got, C);
    check_close("split: part mean", &s, 0, 0, got, part_mean, C);
    cn_test_download(rt, &m2b, got, C);
    check_close("split: part centred sum of squares", &s, 0, 0, got, part_m2, C);
    cn_test_download(rt, &sumsb, got, 2 * C);
    check_close("split: part gradient sums", &s, 0, 0, got, part_sums, 2 * C);
    cn_test_download(rt, &dxb, got, part);
    check_close_terms("split: dx from the whole batch's sums", &s, 0, 0, got, dx, zero_terms, part);
    cn_buffer *buffers[] = {&xb, &dyb, &dxb, &m1, &m2b, &meanb, &invstdb, &sumsb, &givenb};
    for (size_t i = 0; i < sizeof buffers / sizeof *buffers; i++) cn_buffer_free(rt, buffers[i]);
}

static void test_argument_checks(cn_runtime *rt) {
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, 64 * sizeof(float), "b", TE));
    CHECK(cn_batchnorm_forward(rt, 0, 4, 4, EPS, &b, NULL, &b, &b, &b, &b, TE) == CN_ERR_ARG,
          "an empty batch accepted");
    CHECK(cn_batchnorm_forward(rt, 2, 4, 4, 0.0f, &b, NULL, &b, &b, &b, &b, TE) == CN_ERR_ARG, "eps 0 accepted");
    CHECK(cn_batchnorm_forward(rt, 2, 4, 9, EPS, &b, NULL, &b, &b, &b, &b, TE) == CN_ERR_ARG, "x too small accepted");
    CHECK(cn_batchnorm_backward_data(rt, 2, 4, 4, &b, NULL, &b, &b, &b, &b, TE) == CN_ERR_ARG, "dx = x accepted");
    cn_buffer_free(rt, &b);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {314};
    test_host_gradients();
    static const shape shapes[] = {
        {1, 3, 1, -2, 2}, /* n*hw = 1: variance 0, y = shift, dx = 0 */
        {1, 4, 7, -2, 2},
        {2, 5, 1, -2, 2},
        {3, 7, 49, 4, 6} /* far from zero */,
        {5, 64, 16, -2, 2},
        {144, 2, 250, 4, 6},
        {64, 2, 16384, 4, 6} /* 10^6 values a channel: uncompensated float sums miss 1e-5 here */,
    };
    /* CN_TEST_QUICK=1 (the Oclgrind test, where every work-item is interpreted): shapes up to 2000
     * values, and the first three variants (a work-item per channel, groups of 64 and 256). */
    const int quick = cn_test_quick();
    if (quick) printf("CN_TEST_QUICK=1: only the shapes of up to 2000 values, the first three variants\n");
    cn_kernel_variant variants[16];
    const size_t count = cn_test_variants(rt, CN_TUNED_BATCHNORM, variants, 16);
    int groups = 0;
    for (size_t v = 0; v < count; v++) {
        groups += variants[v].kind == CN_VARIANT_GROUP;
        cn_test_use_variant(rt, CN_TUNED_BATCHNORM, variants[v]);
        /* The 10^6-value channels (the Kahan sums' test) take most of the time: the first two
         * variants (a work-item per channel, groups of 64) run them, every variant the rest. */
        const size_t most_values = quick ? 2000 : v < 2 ? (size_t)-1 : 100000;
        for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++)
            for (int with_scale = 0; with_scale <= 1; with_scale++)
                if (shapes[k].n * shapes[k].c * shapes[k].hw <= most_values)
                    test_shape(rt, &shapes[k], with_scale, with_scale, &rng);
        test_split_batch(rt, &rng);
    }
    /* The smallest group candidate is 16 work-items: a device capped below that has only "item". */
    if (rt->device.max_work_group_size >= 16)
        CHECK(groups > 0, "no work-group variant of batch norm fits device %d", rt->device.index);
    test_argument_checks(rt);
    return cn_test_finish();
}
