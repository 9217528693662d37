/* Texture measures (host, double): tile distances against a naive search and known answers (a
 * shifted copy scores 0, an offset copy its offset), the filter bank's properties, the Gram
 * statistics against a naive reference, phase randomisation keeping the autocorrelation, matched
 * noise, sharpness and lattice known answers, and a whole report on a tiny texture whose "samples"
 * are copies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/cn_test.h"
#include "coopnets/cn_texture_stats.h"

/* Smallest mean |tile − window| by brute force, averaged over the tiles (no early exit); with
 * `elsewhere` (b is a), the windows overlapping the tile are skipped. */
static double naive_search(const float *a, int ah, int aw, const float *b, int bh, int bw, int c, int patch,
                           int elsewhere) {
    double total = 0;
    int tiles = 0;
    for (int ty = 0; ty + patch <= ah; ty += patch)
        for (int tx = 0; tx + patch <= aw; tx += patch, tiles++) {
            double best = INFINITY;
            for (int wy = 0; wy + patch <= bh; wy++)
                for (int wx = 0; wx + patch <= bw; wx++) {
                    if (elsewhere && wy > ty - patch && wy < ty + patch && wx > tx - patch && wx < tx + patch) continue;
                    double s = 0;
                    for (int k = 0; k < c; k++)
                        for (int y = 0; y < patch; y++)
                            for (int x = 0; x < patch; x++)
                                s += fabs((double)a[(k * ah + ty + y) * aw + tx + x] - b[(k * bh + wy + y) * bw + wx + x]);
                    if (s < best) best = s;
                }
            total += best / (c * patch * patch);
        }
    return total / tiles;
}

static double naive_patch_distance(const float *a, int ah, int aw, const float *b, int bh, int bw, int c, int patch) {
    return naive_search(a, ah, aw, b, bh, bw, c, patch, 0);
}

static void test_patch_distance(void) {
    cn_test_rng r = {11};
    enum { C = 2, H = 9, W = 11, P = 3 };
    float b[C * H * W], a[C * 7 * 8], shifted[C * 6 * 7];
    cn_test_fill_uniform(&r, b, C * H * W, -1, 1);
    cn_test_fill_uniform(&r, a, C * 7 * 8, -1, 1);
    cn_texture_view vb = cn_texture_view_image(b, C, H, W), va = cn_texture_view_image(a, C, 7, 8);
    double d, want = naive_patch_distance(a, 7, 8, b, H, W, C, P);
    CHECK_OK(cn_texture_patch_distance(va, vb, P, &d, TE));
    CHECK(fabs(d - want) < 1e-12 && d > 0.1, "tile distance %.15f, naive search %.15f", d, want);

    /* a crop of b at (2, 3), copied out: every tile is in b, distance exactly 0 */
    for (int k = 0; k < C; k++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 7; x++) shifted[(k * 6 + y) * 7 + x] = b[(k * H + y + 2) * W + x + 3];
    CHECK_OK(cn_texture_patch_distance(cn_texture_view_image(shifted, C, 6, 7), vb, P, &d, TE));
    CHECK(d == 0, "a shifted copy: tile distance %g, want 0", d);
    /* the same through a crop view, and the other way round (b's tiles are not all in the crop) */
    CHECK_OK(cn_texture_patch_distance(cn_texture_view_crop(vb, 2, 3, 6, 7), vb, P, &d, TE));
    CHECK(d == 0, "a crop view of b against b: %g", d);
    CHECK_OK(cn_texture_patch_distance(vb, cn_texture_view_crop(vb, 2, 3, 6, 7), P, &d, TE));
    want = naive_patch_distance(b, H, W, shifted, 6, 7, C, P);
    CHECK(fabs(d - want) < 1e-12 && d > 0, "b against its crop: %.15f, naive %.15f", d, want);

    /* b + 0.01: the aligned window differs by 0.01 everywhere, every other one by far more */
    float offset[C * H * W];
    for (int i = 0; i < C * H * W; i++) offset[i] = b[i] + 0.01f;
    CHECK_OK(cn_texture_patch_distance(cn_texture_view_image(offset, C, H, W), vb, P, &d, TE));
    CHECK(fabs(d - 0.01) < 1e-6, "an offset copy: %.9f, want 0.01", d);

    /* bad shapes: a tile larger than b, channels that differ */
    cn_status s = cn_texture_patch_distance(va, cn_texture_view_crop(vb, 0, 0, 2, 2), P, &d, TE);
    CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "2x2x2"), "tile larger than b: %s (%s)",
          cn_status_name(s), cn_test_error.message);
    s = cn_texture_patch_distance(cn_texture_view_image(a, 1, 7, 8), vb, P, &d, TE);
    CHECK(s == CN_ERR_ARG, "channels 1 vs 2: %s", cn_status_name(s));

    /* b's tiles elsewhere in b: the naive search without the overlapping windows; never 0 on noise,
     * though b against itself is */
    CHECK_OK(cn_texture_patch_distance_elsewhere(vb, P, &d, TE));
    want = naive_search(b, H, W, b, H, W, C, P, 1);
    CHECK(fabs(d - want) < 1e-12 && d > 0.1, "elsewhere: %.15f, naive %.15f", d, want);
    CHECK_OK(cn_texture_patch_distance(vb, vb, P, &d, TE));
    CHECK(d == 0, "b against itself, its own windows allowed: %g", d);
    /* a periodic image (period 2 along x) has every tile elsewhere: 0 */
    float periodic[1 * 4 * 10];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 10; x++) periodic[y * 10 + x] = b[y * W + x % 2];
    CHECK_OK(cn_texture_patch_distance_elsewhere(cn_texture_view_image(periodic, 1, 4, 10), P, &d, TE));
    CHECK(d == 0, "periodic, elsewhere: %g", d);
    /* 5x5 with tiles of 3: no side fits two tiles, so some tile has no window left */
    s = cn_texture_patch_distance_elsewhere(cn_texture_view_crop(vb, 0, 0, 5, 5), P, &d, TE);
    CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "twice"), "5x5 elsewhere: %s (%s)", cn_status_name(s),
          cn_test_error.message);
}

enum { K = CN_TEXTURE_KERNEL, F = CN_TEXTURE_FILTERS };

static void test_filters(void) {
    double w[F * 3 * K * K], w1[F * K * K];
    cn_texture_filters(3, w);
    cn_texture_filters(1, w1);
    for (int k = 0; k < F; k++) {
        double sum = 0, norm = 0;
        for (int i = 0; i < 3 * K * K; i++) sum += w[k * 3 * K * K + i], norm += w[k * 3 * K * K + i] * w[k * 3 * K * K + i];
        CHECK(fabs(sum) < 1e-12 && fabs(norm - 1) < 1e-12, "filter %d: sum %g, norm² %g", k, sum, norm);
    }
    double again[F * K * K];
    cn_texture_filters(1, again);
    CHECK(memcmp(w1, again, sizeof w1) == 0, "the bank is the same every time");
    int distinct = 1;
    for (int k = 1; k < F; k++) distinct &= w1[k * K * K] != w1[0];
    CHECK(distinct, "the filters differ from each other");
}

/* Statistics of one [c][h][w] image by the definition: 2×2 means between scales, rectified valid
 * responses, their means and pairwise products averaged over positions. */
static void naive_stats(const float *img, int c, int h, int w, int scales, double *out) {
    double filters[F * 3 * K * K], *cur = malloc(sizeof(double) * (size_t)(c * h * w));
    cn_texture_filters(c, filters);
    for (int i = 0; i < c * h * w; i++) cur[i] = img[i];
    for (int s = 0; s < scales; s++) {
        if (s > 0) {
            double *next = malloc(sizeof(double) * (size_t)(c * (h / 2) * (w / 2)));
            for (int k = 0; k < c; k++)
                for (int y = 0; y < h / 2; y++)
                    for (int x = 0; x < w / 2; x++)
                        next[(k * (h / 2) + y) * (w / 2) + x] =
                            0.25 * (cur[(k * h + 2 * y) * w + 2 * x] + cur[(k * h + 2 * y) * w + 2 * x + 1] +
                                    cur[(k * h + 2 * y + 1) * w + 2 * x] + cur[(k * h + 2 * y + 1) * w + 2 * x + 1]);
            free(cur);
            cur = next, h /= 2, w /= 2;
        }
        int oh = h - K + 1, ow = w - K + 1, n = 3 * F + F * (F + 1) / 2;
        double *o = out + s * n;
        memset(o, 0, sizeof(double) * (size_t)n);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double resp[F];
                for (int f = 0; f < F; f++) {
                    double v = 0;
                    for (int k = 0; k < c; k++)
                        for (int i = 0; i < K; i++)
                            for (int j = 0; j < K; j++) v += filters[((f * c + k) * K + i) * K + j] * cur[(k * h + y + i) * w + x + j];
                    resp[f] = fmax(v, 0);
                    o[F + F * (F + 1) / 2 + f] += v * v / (oh * ow);
                    o[2 * F + F * (F + 1) / 2 + f] += pow(v, 4) / (oh * ow);
                }
                int p = F;
                for (int f = 0; f < F; f++) o[f] += resp[f] / (oh * ow);
                for (int f = 0; f < F; f++)
                    for (int g = f; g < F; g++) o[p++] += resp[f] * resp[g] / (oh * ow);
            }
    }
    free(cur);
}

static void test_stats(void) {
    cn_test_rng r = {23};
    enum { C = 3, H = 23, W = 21 };
    float img[C * H * W], moved[C * H * W];
    cn_test_fill_uniform(&r, img, C * H * W, -1, 1);
    CHECK(cn_texture_max_scales(H, W) == 3 && cn_texture_max_scales(4, 100) == 0 && cn_texture_max_scales(400, 400) == 4,
          "scales: %d for %dx%d", cn_texture_max_scales(H, W), H, W);
    int scales = 3;
    size_t n = cn_texture_stats_size(scales);
    CHECK(n == (size_t)scales * (3 * F + F * (F + 1) / 2), "stats size %zu", n);
    double *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want), *other = malloc(n * sizeof *other);
    CHECK_OK(cn_texture_stats(cn_texture_view_image(img, C, H, W), scales, got, TE));
    naive_stats(img, C, H, W, scales, want);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - want[i]));
    CHECK(worst < 1e-12, "statistics against the naive reference: largest difference %g", worst);
    CHECK(cn_texture_stats_distance(got, want, scales) < 1e-10, "distance to itself %g",
          cn_texture_stats_distance(got, want, scales));

    /* zero-mean filters: adding a constant changes nothing */
    for (int i = 0; i < C * H * W; i++) moved[i] = img[i] + 0.3f;
    CHECK_OK(cn_texture_stats(cn_texture_view_image(moved, C, H, W), scales, other, TE));
    CHECK(cn_texture_stats_distance(other, got, scales) < 1e-6, "an offset image: distance %g",
          cn_texture_stats_distance(other, got, scales));
    /* twice the contrast: only the log powers move, each by ln 4 (2 scales: at the third, 5x5 pixels
     * give one position, where some filters have no rectified response and drop out) */
    for (int i = 0; i < C * H * W; i++) moved[i] = 2 * img[i];
    CHECK_OK(cn_texture_stats(cn_texture_view_image(moved, C, H, W), 2, other, TE));
    CHECK_OK(cn_texture_stats(cn_texture_view_image(img, C, H, W), 2, want, TE));
    double shapes = F * (F - 1) / 2 + 3 * F, contrast = log(4) * sqrt(F / shapes);
    CHECK(fabs(cn_texture_stats_distance(other, want, 2) - contrast) < 1e-9, "twice the contrast: %.12f, want %.12f",
          cn_texture_stats_distance(other, want, 2), contrast);
    /* a crop view: the statistics of the copied-out crop */
    float crop[C * 12 * 10];
    for (int k = 0; k < C; k++)
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 10; x++) crop[(k * 12 + y) * 10 + x] = img[(k * H + y + 5) * W + x + 4];
    CHECK_OK(cn_texture_stats(cn_texture_view_crop(cn_texture_view_image(img, C, H, W), 5, 4, 12, 10), 2, got, TE));
    naive_stats(crop, C, 12, 10, 2, want);
    CHECK(cn_texture_stats_distance(got, want, 2) < 1e-10, "crop view statistics");
    /* a flat image has no response at all: 0 against itself, infinite against a texture */
    float flat[C * H * W];
    for (int i = 0; i < C * H * W; i++) flat[i] = 0.5f;
    CHECK_OK(cn_texture_stats(cn_texture_view_image(flat, C, H, W), scales, other, TE));
    CHECK(cn_texture_stats_distance(other, other, scales) == 0, "flat vs flat");
    CHECK(cn_texture_stats_distance(want, other, 1) > 5, "texture vs flat reference: %g",
          cn_texture_stats_distance(want, other, 1));
    double zeros[3 * F + F * (F + 1) / 2] = {0};
    CHECK(isinf(cn_texture_stats_distance(want, zeros, 1)), "texture vs no response at all is infinite");
    cn_status s = cn_texture_stats(cn_texture_view_image(img, C, H, W), 4, got, TE);
    CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "4 scales"), "too many scales: %s", cn_test_error.message);
    free(got), free(want), free(other);
}

/* Circular autocorrelation of a plane at every lag. */
static void autocorrelation(const float *x, int h, int w, double *out) {
    for (int dy = 0; dy < h; dy++)
        for (int dx = 0; dx < w; dx++) {
            double s = 0;
            for (int y = 0; y < h; y++)
                for (int i = 0; i < w; i++) s += (double)x[y * w + i] * x[((y + dy) % h) * w + (i + dx) % w];
            out[dy * w + dx] = s;
        }
}

static void test_ceilings(void) {
    cn_test_rng r = {5};
    enum { C = 2, H = 8, W = 6, N = H * W };
    float img[C * N], pr[C * N], again[C * N], noise[C * N];
    /* a smooth pattern plus noise, so phases matter */
    for (int k = 0; k < C; k++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) img[(k * H + y) * W + x] = (float)(0.5 * sin(x + 0.7 * y + k) + cn_test_uniform(&r, -0.3, 0.3));
    cn_texture_view v = cn_texture_view_image(img, C, H, W);
    CHECK_OK(cn_texture_phase_randomise(v, 3, pr, TE));
    CHECK_OK(cn_texture_phase_randomise(v, 3, again, TE));
    CHECK(memcmp(pr, again, sizeof pr) == 0, "phase randomisation is reproducible for a seed");
    for (int k = 0; k < C; k++) {
        double want[N], got[N], scale = 0, worst = 0, differ = 0, mean_in = 0, mean_out = 0;
        autocorrelation(img + k * N, H, W, want);
        autocorrelation(pr + k * N, H, W, got);
        for (int i = 0; i < N; i++) {
            scale = fmax(scale, fabs(want[i]));
            worst = fmax(worst, fabs(got[i] - want[i]));
            differ = fmax(differ, fabs((double)pr[k * N + i] - img[k * N + i]));
            mean_in += img[k * N + i] / N, mean_out += pr[k * N + i] / N;
        }
        CHECK(worst < 1e-5 * scale, "channel %d: autocorrelation kept (largest difference %g of %g)", k, worst, scale);
        CHECK(differ > 0.1, "channel %d: phase randomised image differs from the image (by at most %g)", k, differ);
        CHECK(fabs(mean_in - mean_out) < 1e-6, "channel %d: mean %g kept as %g", k, mean_in, mean_out);
    }
    CHECK_OK(cn_texture_phase_randomise(v, 4, again, TE));
    CHECK(memcmp(pr, again, sizeof pr) != 0, "another seed, other phases");

    CHECK_OK(cn_texture_matched_noise(v, 9, noise, TE));
    for (int k = 0; k < C; k++) {
        double m[2] = {0, 0}, sq[2] = {0, 0};
        const float *sets[2] = {img + k * N, noise + k * N};
        for (int j = 0; j < 2; j++) {
            for (int i = 0; i < N; i++) m[j] += sets[j][i] / (double)N;
            for (int i = 0; i < N; i++) sq[j] += (sets[j][i] - m[j]) * (sets[j][i] - m[j]);
        }
        CHECK(fabs(m[0] - m[1]) < 1e-6 && fabs(sqrt(sq[0]) - sqrt(sq[1])) < 1e-5, "channel %d noise: mean %g vs %g, spread %g vs %g",
              k, m[1], m[0], sqrt(sq[1]), sqrt(sq[0]));
    }
}

/* The lattice score: about 0 on noise, far above it once a pattern repeats with a period that
 * divides the asked one, summed over channels; periods it cannot measure are errors. */
static void test_lattice(void) {
    enum { S = 32, C = 2, PLANE = S * S };
    float img[C * PLANE], cell[8 * 8];
    cn_test_rng r = {5};
    cn_test_fill_uniform(&r, img, C * PLANE, -1, 1);
    cn_test_fill_uniform(&r, cell, 8 * 8, -1, 1);
    cn_texture_view noise = cn_texture_view_image(img, 1, S, S);
    double d, periodic;
    CHECK_OK(cn_texture_lattice(noise, 8, &d, TE));
    CHECK(fabs(d) < 0.5, "noise has no lattice: %g", d);
    /* channel 1: noise plus a period-8 pattern of the same spread */
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) img[PLANE + y * S + x] += cell[(y % 8) * 8 + x % 8];
    CHECK_OK(cn_texture_lattice(cn_texture_view_image(img + PLANE, 1, S, S), 8, &periodic, TE));
    CHECK(periodic > 1, "a period-8 pattern at period 8: %g", periodic);
    CHECK_OK(cn_texture_lattice(cn_texture_view_image(img, C, S, S), 8, &d, TE));
    CHECK(d > 0.5 && d < periodic, "with a channel of noise beside it: %g (alone %g)", d, periodic);
    const int bad[] = {1, 3, 16};
    for (int i = 0; i < 3; i++) {
        cn_status s = cn_texture_lattice(noise, bad[i], &d, TE);
        CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "period"), "period %d: %s (%s)", bad[i],
              cn_status_name(s), cn_test_error.message);
    }
}

/* Sharpness, known answers: 0 for flat and linear images, 8a for a checkerboard of ±a; channels
 * averaged; a crop without interior pixels is an error. */
static void test_sharpness(void) {
    enum { S = 9, PLANE = S * S };
    float img[2 * PLANE];
    double d;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            img[y * S + x] = 0.25f * (float)x - 0.5f * (float)y;             /* a linear ramp */
            img[PLANE + y * S + x] = (x + y) % 2 ? 0.375f : -0.375f;         /* a checkerboard of ±0.375 */
        }
    CHECK_OK(cn_texture_sharpness(cn_texture_view_image(img, 1, S, S), &d, TE));
    CHECK(d == 0, "a ramp has no fine detail: %g", d);
    CHECK_OK(cn_texture_sharpness(cn_texture_view_image(img + PLANE, 1, S, S), &d, TE));
    CHECK(d == 8 * 0.375, "a checkerboard of +-0.375: %g (8 x 0.375 = 3)", d);
    CHECK_OK(cn_texture_sharpness(cn_texture_view_image(img, 2, S, S), &d, TE));
    CHECK(d == 4 * 0.375, "both channels: their mean, %g", d);
    /* a crop reads only its own pixels: the checkerboard's interior 3 x 3, its centre alone counted */
    CHECK_OK(cn_texture_sharpness(cn_texture_view_crop(cn_texture_view_image(img + PLANE, 1, S, S), 3, 3, 3, 3), &d, TE));
    CHECK(d == 3, "a 3x3 crop: %g", d);
    cn_status st = cn_texture_sharpness(cn_texture_view_crop(cn_texture_view_image(img, 1, S, S), 0, 0, 2, S), &d, TE);
    CHECK(st == CN_ERR_ARG && strstr(cn_test_error.message, "interior"), "2 rows: %s (%s)", cn_status_name(st),
          cn_test_error.message);
}

/* A tiny periodic texture: samples that are shifted copies score 0 as copies and as a pair;
 * noise samples are far in statistics and not copies. */
static void test_report(void) {
    enum { S = 16, N = 4, PERIOD = 4 };
    float observed[S * S], copies[N * S * S], noise[N * S * S];
    cn_test_rng r = {3};
    float cell[PERIOD * PERIOD];
    cn_test_fill_uniform(&r, cell, PERIOD * PERIOD, -1, 1);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) observed[y * S + x] = cell[(y % PERIOD) * PERIOD + x % PERIOD];
    for (int i = 0; i < N; i++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) copies[(i * S + y) * S + x] = cell[((y + i) % PERIOD) * PERIOD + (x + 2 * i) % PERIOD];
    cn_test_fill_uniform(&r, noise, N * S * S, -1, 1);
    cn_texture_report rep;
    CHECK_OK(cn_texture_evaluate(observed, copies, noise, N, 1, S, PERIOD, 1, &rep, TE));
    CHECK(rep.patch == S / 4 && rep.scales == 1, "tile %d, scales %d", rep.patch, rep.scales);
    CHECK(rep.copy_generated.count == N && rep.copy_generated.max == 0, "copies are copies: %g", rep.copy_generated.max);
    CHECK(rep.diversity_generated.count == N / 2 && rep.diversity_generated.max == 0, "copies are alike: %g",
          rep.diversity_generated.max);
    CHECK(rep.stats_generated.max < 1e-6, "shifted periodic copies have its statistics: %g", rep.stats_generated.max);
    CHECK(rep.copy_real_crops.count == 2 && rep.copy_real_crops.max == 0, "a periodic photograph's halves hold the same tiles");
    CHECK(rep.copy_real_elsewhere.count == 1 && rep.copy_real_elsewhere.max == 0, "and its tiles recur elsewhere: %g",
          rep.copy_real_elsewhere.max);
    CHECK(rep.stats_real_crops.count == 4 && rep.stats_real_crops.max < 1e-6, "its halves share statistics: %g",
          rep.stats_real_crops.max);
    CHECK(rep.copy_revised.min > 20, "noise is no copy: %g grey levels", rep.copy_revised.min);
    CHECK(rep.stats_revised.min > 0.2, "noise has other statistics: %g", rep.stats_revised.min);
    CHECK(rep.stats_noise.count == 4 * CN_TEXTURE_CEILING_DRAWS && rep.stats_noise.min > 0.1, "matched noise: %g",
          rep.stats_noise.min);
    CHECK(rep.stats_phase_randomised.count == 4 * CN_TEXTURE_CEILING_DRAWS && rep.stats_phase_randomised.mean > 0,
          "phase randomised: %g", rep.stats_phase_randomised.mean);
    CHECK(rep.stats_phase_randomised.min > rep.stats_real_crops.max, "phase randomised %g above the real halves %g",
          rep.stats_phase_randomised.min, rep.stats_real_crops.max);
    CHECK(rep.lattice_period == PERIOD && rep.lattice_observed.count == 1 && rep.lattice_generated.count == N &&
              rep.lattice_revised.count == N,
          "lattice scores: period %d, %zu observed, %zu generated, %zu revised", rep.lattice_period,
          rep.lattice_observed.count, rep.lattice_generated.count, rep.lattice_revised.count);
    CHECK(rep.lattice_generated.min > rep.lattice_revised.max + 3, "periodic copies %g stand out of noise %g",
          rep.lattice_generated.min, rep.lattice_revised.max);
    double sharp;
    CHECK_OK(cn_texture_sharpness(cn_texture_view_image(observed, 1, S, S), &sharp, TE));
    CHECK(rep.sharpness_observed.count == 1 && fabs(rep.sharpness_observed.mean - 127.5 * sharp) < 1e-9,
          "the photograph's sharpness %g grey levels (%g units)", rep.sharpness_observed.mean, sharp);
    CHECK(rep.sharpness_generated.count == N && rep.sharpness_revised.count == N, "sharpness of %zu and %zu samples",
          rep.sharpness_generated.count, rep.sharpness_revised.count);
    /* A flat sample (a saturated chain) is infinitely far in statistics; the summary counts it apart
     * and keeps the mean of the others finite. */
    for (int i = 0; i < S * S; i++) noise[i] = 1;
    CHECK_OK(cn_texture_evaluate(observed, copies, noise, N, 1, S, PERIOD, 1, &rep, TE));
    CHECK(rep.stats_revised.count == N && rep.stats_revised.infinite == 1, "one flat sample of %zu: %zu infinite",
          rep.stats_revised.count, rep.stats_revised.infinite);
    CHECK(isfinite(rep.stats_revised.mean) && isfinite(rep.stats_revised.max) && rep.stats_revised.min > 0.2,
          "the other three: mean %g, min %g, max %g", rep.stats_revised.mean, rep.stats_revised.min,
          rep.stats_revised.max);
    CHECK(rep.stats_generated.infinite == 0, "no flat copy");
    CHECK_OK(cn_texture_evaluate(observed, copies, NULL, N, 1, S, 0, 1, &rep, TE));
    CHECK(rep.copy_revised.count == 0 && rep.diversity_revised.count == 0 && rep.sharpness_revised.count == 0,
          "no revised samples, no revised numbers");
    CHECK(rep.lattice_observed.count == 0 && rep.lattice_generated.count == 0, "period 0: no lattice scores");
    cn_status s = cn_texture_evaluate(observed, copies, NULL, 1, 1, S, 0, 1, &rep, TE);
    CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "at least 2 samples"), "one sample: %s", cn_test_error.message);
}

int main(void) {
    printf("lattice:\n");
    test_lattice();
    printf("tile distance:\n");
    test_patch_distance();
    printf("filter bank:\n");
    test_filters();
    printf("statistics:\n");
    test_stats();
    printf("ceilings:\n");
    test_ceilings();
    printf("sharpness:\n");
    test_sharpness();
    printf("report:\n");
    test_report();
    return cn_test_finish();
}
