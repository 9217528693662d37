/* Pattern completion: mask parsing, square and random masks (size, place, fraction, determinism),
 * the masked residual kernel against a double host reference, the scores, completion on a tiny
 * Algorithm G model (inference lowers the error on the pixels it sees), and latent interpolation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_experiments.h"
#include "coopnets/cn_reduce.h"
#include "coopnets/cn_train.h"
#include "support/cn_test.h"

static void test_parse(void) {
    printf("mask parsing\n");
    cn_mask_spec m;
    CHECK_OK(cn_mask_parse("square:12", 28, &m, TE));
    CHECK(m.kind == CN_MASK_SQUARE && m.size == 12, "square:12 read as kind %d size %d", m.kind, m.size);
    CHECK_OK(cn_mask_parse("random:0.25", 28, &m, TE));
    CHECK(m.kind == CN_MASK_RANDOM && m.fraction == 0.25, "random:0.25 read as kind %d fraction %g", m.kind, m.fraction);
    const char *bad[] = {"square:0", "square:28", "square:", "square:1x", "random:0", "random:1", "random:1.5",
                         "random:abc", "blob", "", "square:-3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cn_status s = cn_mask_parse(bad[i], 28, &m, TE);
        CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "mask \"") && strstr(cn_test_error.message, bad[i]),
              "\"%s\" gave %s: %s", bad[i], cn_status_name(s), cn_test_error.message);
    }
    printf("  e.g. %s\n", cn_test_error.message);
}

static void test_square_masks(void) {
    printf("square masks: K x K, inside the image, in every channel, deterministic, placed at random\n");
    const int size = 16, k = 5, channels = 3, images = 200;
    cn_mask_spec spec = {CN_MASK_SQUARE, k, 0};
    size_t plane = (size_t)size * size;
    float *mask = malloc(channels * plane * sizeof *mask), *again = malloc(channels * plane * sizeof *again);
    int seen_left[16] = {0}, seen_top[16] = {0};
    for (uint32_t i = 0; i < (uint32_t)images; i++) {
        cn_mask_make(&spec, 42, i, channels, size, mask);
        int top = size, left = size, bottom = -1, right = -1, hidden = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                if (mask[y * size + x] == 0.0f) {
                    hidden++;
                    top = y < top ? y : top, left = x < left ? x : left;
                    bottom = y > bottom ? y : bottom, right = x > right ? x : right;
                }
        CHECK(hidden == k * k && bottom - top == k - 1 && right - left == k - 1,
              "image %u: %d hidden pixels in rows %d..%d, columns %d..%d (want one %dx%d square)", i, hidden, top,
              bottom, left, right, k, k);
        if (top >= 0 && top < size) seen_top[top]++;
        if (left >= 0 && left < size) seen_left[left]++;
        CHECK(memcmp(mask, mask + plane, plane * sizeof *mask) == 0 &&
                  memcmp(mask, mask + 2 * plane, plane * sizeof *mask) == 0,
              "image %u: channels masked differently", i);
        cn_mask_make(&spec, 42, i, channels, size, again);
        CHECK(memcmp(mask, again, channels * plane * sizeof *mask) == 0, "image %u: mask not deterministic", i);
    }
    /* every one of the 12 positions along each axis comes up among 200 draws (each misses with p < 1e-7) */
    for (int p = 0; p <= size - k; p++)
        CHECK(seen_top[p] > 0 && seen_left[p] > 0, "position %d never drawn (top %d, left %d times)", p, seen_top[p],
              seen_left[p]);
    CHECK(seen_top[size - k + 1] == 0, "a square runs off the image");
    /* another seed places the squares elsewhere */
    int differ = 0;
    for (uint32_t i = 0; i < 20; i++) {
        cn_mask_make(&spec, 42, i, 1, size, mask);
        cn_mask_make(&spec, 43, i, 1, size, again);
        differ += memcmp(mask, again, plane * sizeof *mask) != 0;
    }
    CHECK(differ >= 15, "seeds 42 and 43 gave the same square for %d of 20 images", 20 - differ);
    free(mask);
    free(again);
}

static void test_random_masks(void) {
    printf("random masks: hidden fraction P, deterministic\n");
    const int size = 28, images = 100;
    const double fractions[] = {0.1, 0.5, 0.9};
    size_t plane = (size_t)size * size;
    float *mask = malloc(plane * sizeof *mask), *again = malloc(plane * sizeof *again);
    for (int f = 0; f < 3; f++) {
        cn_mask_spec spec = {CN_MASK_RANDOM, 0, fractions[f]};
        size_t hidden = 0;
        for (uint32_t i = 0; i < (uint32_t)images; i++) {
            cn_mask_make(&spec, 7, i, 1, size, mask);
            for (size_t p = 0; p < plane; p++) hidden += mask[p] == 0.0f;
            cn_mask_make(&spec, 7, i, 1, size, again);
            CHECK(memcmp(mask, again, plane * sizeof *mask) == 0, "P=%g image %u: not deterministic", fractions[f], i);
        }
        /* 78 400 Bernoulli draws: the standard deviation of the fraction is at most 0.0018; allow 4 of them */
        double got = (double)hidden / (double)(plane * images);
        printf("  P=%.1f: hidden fraction %.4f\n", fractions[f], got);
        CHECK(fabs(got - fractions[f]) < 0.0072, "P=%g: hidden fraction %.4f", fractions[f], got);
    }
    free(mask);
    free(again);
}

/* a·m·(x − y): three roundings of at most 6e-8 relative each, on values up to |a|·|x − y| <= 2|a|:
 * 3.6e-7·|a| absolute; bounded by 4e-7·|a|. */
#define MASKED_NRMS_TOL 3e-7
#define MASKED_REL_ABS_TOL 1e-7

static void test_masked_difference(cn_runtime *rt) {
    printf("masked difference vs double reference\n");
    const size_t counts[] = {1, 7, 8, 9, 1000, 100003};
    cn_test_rng rng = {11};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        size_t n = counts[c];
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *m = malloc(n * sizeof *m),
              *got = malloc(n * sizeof *got);
        double *want = malloc(n * sizeof *want);
        cn_test_fill_uniform(&rng, x, n, -1, 1);
        cn_test_fill_uniform(&rng, y, n, -1, 1);
        for (size_t i = 0; i < n; i++) m[i] = cn_test_uniform(&rng, 0, 1) < 0.3 ? 0.0f : 1.0f;
        const float a = -11.111111f;
        for (size_t i = 0; i < n; i++) want[i] = (double)a * m[i] * ((double)x[i] - y[i]);
        cn_buffer xb, yb, mb, ob;
        cn_test_upload(rt, &xb, x, n, "x");
        cn_test_upload(rt, &yb, y, n, "y");
        cn_test_upload(rt, &mb, m, n, "mask");
        CHECK_OK(cn_buffer_alloc(rt, &ob, n * sizeof(float), "out", TE));
        char what[64];
        snprintf(what, sizeof what, "a*mask*(x-y) n=%zu", n);
        CHECK_OK(cn_masked_difference(rt, n, a, &xb, &yb, &mb, &ob, TE));
        cn_test_download(rt, &ob, got, n);
        cn_test_close(what, got, want, n, MASKED_NRMS_TOL, MASKED_REL_ABS_TOL * 4 * fabs(a));
        size_t leaked = 0;
        for (size_t i = 0; i < n; i++) leaked += m[i] == 0.0f && got[i] != 0.0f;
        CHECK(leaked == 0, "%zu hidden elements got a residual", leaked);
        /* in place, out = x */
        CHECK_OK(cn_masked_difference(rt, n, a, &xb, &yb, &mb, &xb, TE));
        cn_test_download(rt, &xb, got, n);
        snprintf(what, sizeof what, "a*mask*(x-y) in place n=%zu", n);
        cn_test_close(what, got, want, n, MASKED_NRMS_TOL, MASKED_REL_ABS_TOL * 4 * fabs(a));
        if (n > 1)
            CHECK(cn_masked_difference(rt, n, a, &xb, &yb, &mb, &ob, TE) == CN_OK &&
                      cn_masked_difference(rt, n + 1, a, &xb, &yb, &mb, &ob, TE) == CN_ERR_ARG &&
                      strstr(cn_test_error.message, "cn_masked_difference"),
                  "n+1 values accepted: %s", cn_test_error.message);
        cn_buffer_free(rt, &xb), cn_buffer_free(rt, &yb), cn_buffer_free(rt, &mb), cn_buffer_free(rt, &ob);
        free(x), free(y), free(m), free(got), free(want);
    }
}

static void test_scores(void) {
    printf("completion scores\n");
    /* [-1, 1] values; in [0, 1] the hidden errors are 0.5 and 0.25, the visible one 0.1 */
    const float images[] = {1.0f, -1.0f, 0.0f, 0.5f}, recovered[] = {0.0f, -0.5f, 0.2f, 0.5f};
    const float masks[] = {0.0f, 0.0f, 1.0f, 1.0f};
    cn_completion_scores s;
    cn_completion_score(images, masks, recovered, 4, &s);
    double mse = (0.25 + 0.0625) / 2;
    CHECK(s.hidden == 2 && s.visible == 2, "counts %zu hidden, %zu visible", s.hidden, s.visible);
    CHECK(fabs(s.hidden_abs_error - 0.375) < 1e-12, "hidden error %.17g, want 0.375", s.hidden_abs_error);
    CHECK(fabs(s.hidden_psnr - 10 * log10(1 / mse)) < 1e-9, "PSNR %.17g, want %.17g", s.hidden_psnr, 10 * log10(1 / mse));
    CHECK(fabs(s.visible_abs_error - 0.05) < 1e-7, "visible error %.17g, want 0.05", s.visible_abs_error);
    const float none[] = {1.0f, 1.0f, 1.0f, 1.0f};
    cn_completion_score(images, none, recovered, 4, &s);
    CHECK(s.hidden == 0 && isnan(s.hidden_abs_error) && isnan(s.hidden_psnr), "no hidden pixels: not NaN");
}

static void test_fill_mean(void) {
    printf("mean-fill baseline\n");
    /* two images of two channels of three values; image 1's second channel is all hidden */
    const float images[] = {0.2f, 0.4f, 0.9f, -1.0f, 0.5f, 1.0f, 0.3f, -0.6f, 0.8f, 0.7f, 0.1f, -0.2f};
    const float masks[] = {1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0};
    const float want[] = {0.2f, 0.4f, 0.3f, 0.75f, 0.5f, 1.0f, 0.1f, -0.6f, 0.8f, 0.0f, 0.0f, 0.0f};
    float got[12];
    cn_completion_fill_mean(images, masks, 2, 2, 3, got);
    for (int i = 0; i < 12; i++)
        CHECK(fabsf(got[i] - want[i]) < 1e-6f, "value %d: %g, want %g", i, (double)got[i], (double)want[i]);
}

/* A tiny Algorithm G model that has learnt enough for h to matter: 40 iterations. */
static void train_tiny_generator(cn_runtime *rt, const char *out) {
    const char *sets[] = {"mode=generator", "generator.optimizer.lr=0.003", "training.sample_every=0"};
    cn_config c;
    cn_test_tiny_config(sets, 3, &c);
    snprintf(c.training.output, sizeof c.training.output, "%s", out);
    cn_train_options o = {.iterations = 40};
    CHECK_OK(cn_train(rt, &c, &o, TE));
}

static void test_completion(cn_runtime *rt, const char *dir) {
    printf("completion on a tiny generator\n");
    char run[1100], ckpt[1200];
    snprintf(run, sizeof run, "%s/run", dir);
    train_tiny_generator(rt, run);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/ckpt-000040.cnck", run);
    cn_config c;
    uint64_t it;
    CHECK_OK(cn_checkpoint_read_config(ckpt, &c, &it, TE));
    cn_coop coop;
    CHECK_OK(cn_coop_create(rt, &c, &coop, TE));
    CHECK_OK(cn_checkpoint_load(rt, &coop, ckpt, &it, TE));
    /* 20 fresh shapes: one batch of M = 16 and a padded one of 4 */
    cn_data_config d = c.data;
    d.limit = 20;
    cn_dataset data;
    CHECK_OK(cn_dataset_load(&d, c.seed + 1, &data, TE));
    size_t n = (size_t)data.count, img = coop.image_floats;
    float *masks = malloc(n * img * sizeof *masks), *rec = malloc(n * img * sizeof *rec),
          *again = malloc(n * img * sizeof *again);
    cn_mask_spec spec = {CN_MASK_SQUARE, 6, 0};
    for (size_t i = 0; i < n; i++) cn_mask_make(&spec, 3, (uint32_t)i, 1, c.data.image_size, masks + i * img);
    const int steps[] = {0, 30};
    cn_completion_scores s[2];
    for (int k = 0; k < 2; k++) {
        CHECK_OK(cn_coop_complete(rt, &coop, data.images, masks, n, steps[k], 5, rec, TE));
        cn_completion_score(data.images, masks, rec, n * img, &s[k]);
        printf("  %2d steps: hidden |error| %.4f, PSNR %.2f dB; visible |error| %.4f\n", steps[k],
               s[k].hidden_abs_error, s[k].hidden_psnr, s[k].visible_abs_error);
        CHECK(s[k].hidden == n * 36 && isfinite(s[k].hidden_abs_error) && isfinite(s[k].hidden_psnr),
              "%d steps: %zu hidden values, error %g, PSNR %g", steps[k], s[k].hidden, s[k].hidden_abs_error,
              s[k].hidden_psnr);
    }
    CHECK(s[1].visible_abs_error < 0.9 * s[0].visible_abs_error,
          "30 inference steps did not fit the visible pixels better than none: %.4f vs %.4f", s[1].visible_abs_error,
          s[0].visible_abs_error);
    CHECK_OK(cn_coop_complete(rt, &coop, data.images, masks, n, 30, 5, again, TE));
    CHECK(memcmp(rec, again, n * img * sizeof *rec) == 0, "completion with the same seed differs");
    /* the hidden pixels do not pull: changing them changes nothing */
    for (size_t i = 0; i < n * img; i++)
        if (masks[i] == 0.0f) data.images[i] = -data.images[i] + 0.5f;
    CHECK_OK(cn_coop_complete(rt, &coop, data.images, masks, n, 30, 5, again, TE));
    CHECK(memcmp(rec, again, n * img * sizeof *rec) == 0, "the hidden pixels changed the completion");
    free(masks), free(rec), free(again);
    cn_dataset_free(&data);
    cn_coop_free(rt, &coop);
}

static double norm(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static void test_interpolation(void) {
    printf("latent interpolation\n");
    enum { N = 64 };
    float a[N], b[N], out[N];
    cn_test_rng rng = {5};
    cn_test_fill_uniform(&rng, a, N, -1, 1);
    cn_test_fill_uniform(&rng, b, N, -1, 1);
    double na = norm(a, N), nb = norm(b, N);
    for (int i = 0; i < N; i++) b[i] = (float)(b[i] * na / nb); /* equal norms */
    for (int spherical = 0; spherical < 2; spherical++) {
        cn_latent_interpolate(a, b, out, N, 0.0, spherical);
        double d0 = 0, d1 = 0;
        for (int i = 0; i < N; i++) d0 = fmax(d0, fabs(out[i] - a[i]));
        cn_latent_interpolate(a, b, out, N, 1.0, spherical);
        for (int i = 0; i < N; i++) d1 = fmax(d1, fabs(out[i] - b[i]));
        CHECK(d0 < 1e-6 && d1 < 1e-6, "%s: the ends are off by %g and %g", spherical ? "slerp" : "linear", d0, d1);
    }
    for (int k = 1; k < 10; k++) {
        cn_latent_interpolate(a, b, out, N, k / 10.0, 1);
        CHECK(fabs(norm(out, N) - na) < 1e-5 * na, "slerp at t=%.1f: norm %g, ends %g", k / 10.0, norm(out, N), na);
    }
    cn_latent_interpolate(a, b, out, N, 0.5, 0);
    CHECK(norm(out, N) < 0.95 * na, "linear midpoint norm %g is not below the ends' %g", norm(out, N), na);
    /* parallel ends: slerp is the linear path */
    cn_latent_interpolate(a, a, out, N, 0.3, 1);
    double d = 0;
    for (int i = 0; i < N; i++) d = fmax(d, fabs(out[i] - a[i]));
    CHECK(d < 1e-6, "slerp between a and a left a by %g", d);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    char dir[] = "/tmp/cn_test_completion.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_parse();
    test_square_masks();
    test_random_masks();
    test_masked_difference(rt);
    test_scores();
    test_fill_mean();
    test_completion(rt, dir);
    test_interpolation();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!cn_test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return cn_test_finish();
}
