/* Texture synthesis measures (issue 14): tile distances, random-filter Gram statistics and their
 * ceilings, all on the host in double precision. Evaluation runs them once per checkpoint, so
 * they are plain loops; the tile search abandons a window as soon as it is worse than the best. */
#include "coopnets/cn_texture_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_noise.h"

/* Host-only draws of the evaluation; they never meet a run's device streams. */
#define TEXTURE_FILTER_SEED 0x7e57u
#define TEXTURE_STREAM 14u
/* The [-1, 1] range of the images is 255 grey levels. */
#define GREY_LEVELS_PER_UNIT 127.5
#define TWO_PI 6.283185307179586476925

static const float *at(const cn_texture_view *v, int c, int y, int x) {
    return v->pixels + (size_t)c * v->channel_stride + (size_t)y * v->row_stride + (size_t)x;
}

cn_texture_view cn_texture_view_image(const float *image, int channels, int height, int width) {
    return (cn_texture_view){.pixels = image, .channels = channels, .height = height, .width = width,
                             .row_stride = (size_t)width, .channel_stride = (size_t)height * (size_t)width};
}

cn_texture_view cn_texture_view_crop(cn_texture_view v, int top, int left, int height, int width) {
    cn_texture_view c = v;
    c.pixels = at(&v, 0, top, left);
    c.height = height;
    c.width = width;
    return c;
}

/* ---- tiles ---------------------------------------------------------------------------------- */

/* Sum of |tile − window| over the tile, or a value >= bound as soon as it reaches bound. */
static double tile_sum(const cn_texture_view *a, int ty, int tx, const cn_texture_view *b, int wy, int wx, int patch,
                       double bound) {
    double sum = 0;
    for (int c = 0; c < a->channels; c++)
        for (int y = 0; y < patch; y++) {
            const float *p = at(a, c, ty + y, tx), *q = at(b, c, wy + y, wx);
            for (int x = 0; x < patch; x++) sum += fabs((double)p[x] - (double)q[x]);
            if (sum >= bound) return sum;
        }
    return sum;
}

/* The mean over a's tiles of the best window of b; with `elsewhere` (b is a), windows that overlap
 * the tile itself are left out. */
static double mean_best_window(const cn_texture_view *a, const cn_texture_view *b, int patch, int elsewhere) {
    double total = 0;
    int tiles = 0;
    for (int ty = 0; ty + patch <= a->height; ty += patch)
        for (int tx = 0; tx + patch <= a->width; tx += patch, tiles++) {
            double best = INFINITY;
            for (int wy = 0; wy + patch <= b->height && best > 0; wy++)
                for (int wx = 0; wx + patch <= b->width && best > 0; wx++) {
                    if (elsewhere && abs(wy - ty) < patch && abs(wx - tx) < patch) continue;
                    double s = tile_sum(a, ty, tx, b, wy, wx, patch, best);
                    if (s < best) best = s;
                }
            total += best;
        }
    return total / ((double)tiles * (double)a->channels * (double)patch * (double)patch);
}

cn_status cn_texture_patch_distance(cn_texture_view a, cn_texture_view b, int patch, double *distance, cn_error *e) {
    if (patch < 1 || a.height < patch || a.width < patch || b.height < patch || b.width < patch ||
        a.channels != b.channels || a.channels < 1)
        return cn_error_set(e, CN_ERR_ARG,
                            "texture tile distance: tiles of %d pixels need both images at least that large and "
                            "with the same channels (got %dx%dx%d and %dx%dx%d)",
                            patch, a.channels, a.height, a.width, b.channels, b.height, b.width);
    *distance = mean_best_window(&a, &b, patch, 0);
    return CN_OK;
}

cn_status cn_texture_patch_distance_elsewhere(cn_texture_view v, int patch, double *distance, cn_error *e) {
    if (patch < 1 || v.channels < 1 || v.height < patch || v.width < patch ||
        (v.height < 2 * patch && v.width < 2 * patch))
        return cn_error_set(e, CN_ERR_ARG,
                            "texture tile distance elsewhere: tiles of %d pixels need an image at least twice that "
                            "along one side (got %dx%dx%d)",
                            patch, v.channels, v.height, v.width);
    *distance = mean_best_window(&v, &v, patch, 1);
    return CN_OK;
}

/* ---- statistics ----------------------------------------------------------------------------- */

enum {
    TAPS = CN_TEXTURE_KERNEL * CN_TEXTURE_KERNEL,
    PAIRS = CN_TEXTURE_FILTERS * (CN_TEXTURE_FILTERS + 1) / 2,
    /* stored: means of r, Gram of r, second and fourth moments of a */
    PER_SCALE = CN_TEXTURE_FILTERS + PAIRS + 2 * CN_TEXTURE_FILTERS,
    /* compared: correlations of r (k < l), log power, log kurtosis and mean/RMS of r per filter */
    SHAPES = CN_TEXTURE_FILTERS * (CN_TEXTURE_FILTERS - 1) / 2 + 3 * CN_TEXTURE_FILTERS
};

void cn_texture_filters(int channels, double *weights) {
    size_t per_filter = (size_t)channels * TAPS;
    for (int k = 0; k < CN_TEXTURE_FILTERS; k++) {
        float draw[3 * TAPS]; /* one filter's taps, up to 3 channels */
        double *w = weights + (size_t)k * per_filter, mean = 0, norm = 0;
        for (size_t done = 0; done < per_filter; done += 3 * TAPS) {
            size_t count = per_filter - done < 3 * TAPS ? per_filter - done : 3 * TAPS;
            cn_noise_key key = {.seed = TEXTURE_FILTER_SEED, .stream = TEXTURE_STREAM,
                                .first = (uint64_t)k * per_filter + done};
            cn_noise_normal_host(&key, count, draw);
            for (size_t i = 0; i < count; i++) w[done + i] = draw[i];
        }
        for (size_t i = 0; i < per_filter; i++) mean += w[i] / (double)per_filter;
        for (size_t i = 0; i < per_filter; i++) w[i] -= mean;
        for (size_t i = 0; i < per_filter; i++) norm += w[i] * w[i];
        for (size_t i = 0; i < per_filter; i++) w[i] /= sqrt(norm);
    }
}

size_t cn_texture_stats_size(int scales) {
    return (size_t)scales * PER_SCALE;
}

int cn_texture_max_scales(int height, int width) {
    int scales = 0;
    while (scales < CN_TEXTURE_MAX_SCALES && (height >> scales) >= CN_TEXTURE_KERNEL &&
           (width >> scales) >= CN_TEXTURE_KERNEL)
        scales++;
    return scales;
}

/* The statistics of one scale of an image held as [channels][h][w] doubles. */
static void scale_stats(const double *img, int channels, int h, int w, const double *filters, double *out) {
    int oh = h - CN_TEXTURE_KERNEL + 1, ow = w - CN_TEXTURE_KERNEL + 1;
    double *mean = out, *gram = out + CN_TEXTURE_FILTERS, *second = gram + PAIRS, *fourth = second + CN_TEXTURE_FILTERS;
    double r[CN_TEXTURE_FILTERS];
    memset(out, 0, PER_SCALE * sizeof *out);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            for (int k = 0; k < CN_TEXTURE_FILTERS; k++) {
                const double *f = filters + (size_t)k * (size_t)channels * TAPS;
                double s = 0;
                for (int c = 0; c < channels; c++)
                    for (int i = 0; i < CN_TEXTURE_KERNEL; i++)
                        for (int j = 0; j < CN_TEXTURE_KERNEL; j++)
                            s += f[(c * CN_TEXTURE_KERNEL + i) * CN_TEXTURE_KERNEL + j] *
                                 img[((size_t)c * (size_t)h + (size_t)(y + i)) * (size_t)w + (size_t)(x + j)];
                r[k] = s > 0 ? s : 0;
                second[k] += s * s;
                fourth[k] += s * s * s * s;
            }
            for (int k = 0, p = 0; k < CN_TEXTURE_FILTERS; k++) {
                mean[k] += r[k];
                for (int l = k; l < CN_TEXTURE_FILTERS; l++) gram[p++] += r[k] * r[l];
            }
        }
    double positions = (double)oh * (double)ow;
    for (int i = 0; i < PER_SCALE; i++) out[i] /= positions;
}

cn_status cn_texture_stats(cn_texture_view v, int scales, double *stats, cn_error *e) {
    if (scales < 1 || scales > cn_texture_max_scales(v.height, v.width) || v.channels < 1)
        return cn_error_set(e, CN_ERR_ARG,
                            "texture statistics: %d scales for a %dx%dx%d image (it allows 1 to %d)", scales,
                            v.channels, v.height, v.width, cn_texture_max_scales(v.height, v.width));
    size_t plane = (size_t)v.height * (size_t)v.width;
    double *img = malloc((size_t)v.channels * plane * sizeof *img);
    double *filters = malloc((size_t)CN_TEXTURE_FILTERS * (size_t)v.channels * TAPS * sizeof *filters);
    if (!img || !filters) {
        free(img), free(filters);
        return cn_error_set(e, CN_ERR_NOMEM, "texture statistics: out of memory for a %dx%dx%d image", v.channels,
                            v.height, v.width);
    }
    cn_texture_filters(v.channels, filters);
    for (int c = 0; c < v.channels; c++)
        for (int y = 0; y < v.height; y++)
            for (int x = 0; x < v.width; x++)
                img[((size_t)c * (size_t)v.height + (size_t)y) * (size_t)v.width + (size_t)x] = *at(&v, c, y, x);
    int h = v.height, w = v.width;
    for (int s = 0; s < scales; s++) {
        if (s > 0) { /* 2×2 block means, in place: row y of the result only reads rows 2y and 2y + 1 */
            int nh = h / 2, nw = w / 2;
            for (int c = 0; c < v.channels; c++)
                for (int y = 0; y < nh; y++)
                    for (int x = 0; x < nw; x++) {
                        const double *p = img + ((size_t)c * (size_t)h + (size_t)(2 * y)) * (size_t)w + (size_t)(2 * x);
                        img[((size_t)c * (size_t)nh + (size_t)y) * (size_t)nw + (size_t)x] =
                            (p[0] + p[1] + p[w] + p[w + 1]) / 4;
                    }
            h = nh, w = nw;
        }
        scale_stats(img, v.channels, h, w, filters, stats + (size_t)s * PER_SCALE);
    }
    free(img), free(filters);
    return CN_OK;
}

/* The scale-free numbers of one scale's statistics that distances compare; 0 when a filter has no
 * response at all (its variance is 0), which *silent counts. */
static void shapes(const double *st, double *out, int *silent) {
    const double *mean = st, *gram = st + CN_TEXTURE_FILTERS, *second = gram + PAIRS, *fourth = second + CN_TEXTURE_FILTERS;
    double diag[CN_TEXTURE_FILTERS];
    int n = 0;
    *silent = 0;
    for (int k = 0, p = 0; k < CN_TEXTURE_FILTERS; k++)
        for (int l = k; l < CN_TEXTURE_FILTERS; l++, p++)
            if (l == k) diag[k] = gram[p];
    for (int k = 0, p = 0; k < CN_TEXTURE_FILTERS; k++)
        for (int l = k; l < CN_TEXTURE_FILTERS; l++, p++)
            if (l > k) out[n++] = diag[k] > 0 && diag[l] > 0 ? gram[p] / sqrt(diag[k] * diag[l]) : 0;
    for (int k = 0; k < CN_TEXTURE_FILTERS; k++) {
        int live = second[k] > 0 && diag[k] > 0;
        *silent += !live;
        out[n++] = live ? log(second[k]) : 0;
        out[n++] = live ? log(fourth[k] / (second[k] * second[k])) : 0;
        out[n++] = live ? mean[k] / sqrt(diag[k]) : 0;
    }
}

double cn_texture_stats_distance(const double *a, const double *ref, int scales) {
    double total = 0;
    for (int s = 0; s < scales; s++) {
        double sa[SHAPES], sr[SHAPES];
        int silent_a, silent_r;
        shapes(a + (size_t)s * PER_SCALE, sa, &silent_a);
        shapes(ref + (size_t)s * PER_SCALE, sr, &silent_r);
        if (silent_a != silent_r) return INFINITY;
        for (int i = 0; i < SHAPES; i++) total += (sa[i] - sr[i]) * (sa[i] - sr[i]) / SHAPES;
    }
    return sqrt(total / scales);
}

/* ---- ceilings ------------------------------------------------------------------------------- */

/* In-place 1-D DFT (sign -1 forward, +1 inverse, unscaled) of n complex values at stride; tw holds
 * cos and sin of 2πm/n for m < n; tmp holds 2n doubles. O(n²): n is an image side. */
static void dft(double *re, double *im, size_t stride, int n, int sign, const double *tw, double *tmp) {
    for (int k = 0; k < n; k++) {
        double sr = 0, si = 0;
        for (int j = 0; j < n; j++) {
            size_t m = (size_t)k * (size_t)j % (size_t)n;
            double c = tw[2 * m], s = sign * tw[2 * m + 1], xr = re[(size_t)j * stride], xi = im[(size_t)j * stride];
            sr += xr * c - xi * s;
            si += xr * s + xi * c;
        }
        tmp[2 * k] = sr, tmp[2 * k + 1] = si;
    }
    for (int k = 0; k < n; k++) re[(size_t)k * stride] = tmp[2 * k], im[(size_t)k * stride] = tmp[2 * k + 1];
}

/* 2-D DFT of the h × w plane (rows, then columns). */
static void dft2(double *re, double *im, int h, int w, int sign, const double *tw_h, const double *tw_w, double *tmp) {
    for (int y = 0; y < h; y++) dft(re + (size_t)y * (size_t)w, im + (size_t)y * (size_t)w, 1, w, sign, tw_w, tmp);
    for (int x = 0; x < w; x++) dft(re + x, im + x, (size_t)w, h, sign, tw_h, tmp);
}

static void twiddles(int n, double *tw) {
    for (int m = 0; m < n; m++) tw[2 * m] = cos(TWO_PI * m / n), tw[2 * m + 1] = sin(TWO_PI * m / n);
}

cn_status cn_texture_phase_randomise(cn_texture_view v, uint64_t seed, float *out, cn_error *e) {
    int h = v.height, w = v.width;
    size_t plane = (size_t)h * (size_t)w;
    int longest = h > w ? h : w;
    double *buf = malloc((4 * plane + 2 * (size_t)h + 2 * (size_t)w + 2 * (size_t)longest) * sizeof *buf);
    float *noise = malloc(plane * sizeof *noise);
    if (!buf || !noise || h < 1 || w < 1) {
        free(buf), free(noise);
        return cn_error_set(e, h < 1 || w < 1 ? CN_ERR_ARG : CN_ERR_NOMEM,
                            "phase randomisation of a %dx%dx%d image: %s", v.channels, h, w,
                            h < 1 || w < 1 ? "empty image" : "out of memory");
    }
    double *nre = buf, *nim = nre + plane, *re = nim + plane, *im = re + plane;
    double *tw_h = im + plane, *tw_w = tw_h + 2 * h, *tmp = tw_w + 2 * w;
    twiddles(h, tw_h);
    twiddles(w, tw_w);
    /* The phases of white noise's spectrum: Hermitian like a real image's, so the result is real. */
    cn_noise_key key = {.seed = seed, .stream = TEXTURE_STREAM, .step = 1};
    cn_noise_normal_host(&key, plane, noise);
    for (size_t i = 0; i < plane; i++) nre[i] = noise[i], nim[i] = 0;
    dft2(nre, nim, h, w, -1, tw_h, tw_w, tmp);
    for (int c = 0; c < v.channels; c++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                re[(size_t)y * (size_t)w + (size_t)x] = *at(&v, c, y, x);
                im[(size_t)y * (size_t)w + (size_t)x] = 0;
            }
        dft2(re, im, h, w, -1, tw_h, tw_w, tmp);
        for (size_t i = 1; i < plane; i++) { /* i = 0, the mean, keeps its value */
            double amplitude = hypot(re[i], im[i]), phase = hypot(nre[i], nim[i]);
            re[i] = phase > 0 ? amplitude * nre[i] / phase : amplitude;
            im[i] = phase > 0 ? amplitude * nim[i] / phase : 0;
        }
        dft2(re, im, h, w, +1, tw_h, tw_w, tmp);
        for (size_t i = 0; i < plane; i++) out[(size_t)c * plane + i] = (float)(re[i] / (double)plane);
    }
    free(buf), free(noise);
    return CN_OK;
}

cn_status cn_texture_matched_noise(cn_texture_view v, uint64_t seed, float *out, cn_error *e) {
    size_t plane = (size_t)v.height * (size_t)v.width;
    if (plane < 2) return cn_error_set(e, CN_ERR_ARG, "matched noise: a %dx%d image has no spread", v.height, v.width);
    cn_noise_key key = {.seed = seed, .stream = TEXTURE_STREAM, .step = 2};
    cn_noise_normal_host(&key, (size_t)v.channels * plane, out);
    for (int c = 0; c < v.channels; c++) {
        double mean = 0, sq = 0, nmean = 0, nsq = 0;
        float *o = out + (size_t)c * plane;
        for (int y = 0; y < v.height; y++)
            for (int x = 0; x < v.width; x++) mean += *at(&v, c, y, x) / (double)plane;
        for (int y = 0; y < v.height; y++)
            for (int x = 0; x < v.width; x++) sq += (*at(&v, c, y, x) - mean) * (*at(&v, c, y, x) - mean);
        for (size_t i = 0; i < plane; i++) nmean += o[i] / (double)plane;
        for (size_t i = 0; i < plane; i++) nsq += (o[i] - nmean) * (o[i] - nmean);
        double scale = nsq > 0 ? sqrt(sq / nsq) : 0;
        for (size_t i = 0; i < plane; i++) o[i] = (float)(mean + (o[i] - nmean) * scale);
    }
    return CN_OK;
}

/* ---- sharpness ------------------------------------------------------------------------------ */

cn_status cn_texture_sharpness(cn_texture_view v, double *sharpness, cn_error *e) {
    if (v.channels < 1 || v.height < 3 || v.width < 3)
        return cn_error_set(e, CN_ERR_ARG, "texture sharpness: a %dx%d image has no interior pixel", v.height,
                            v.width);
    double sum = 0;
    for (int c = 0; c < v.channels; c++)
        for (int y = 1; y < v.height - 1; y++)
            for (int x = 1; x < v.width - 1; x++)
                sum += fabs(4.0 * *at(&v, c, y, x) - *at(&v, c, y - 1, x) - *at(&v, c, y + 1, x) -
                            *at(&v, c, y, x - 1) - *at(&v, c, y, x + 1));
    *sharpness = sum / ((double)v.channels * (v.height - 2) * (v.width - 2));
    return CN_OK;
}

/* ---- lattice -------------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { LATTICE_REACH = 2, LATTICE_NEIGHBOURS = (2 * LATTICE_REACH + 1) * (2 * LATTICE_REACH + 1) - 1 };

cn_status cn_texture_lattice(cn_texture_view v, int period, double *score, cn_error *e) {
    int h = v.height, w = v.width;
    /* the bins' neighbourhoods must not reach the next lattice bin */
    if (period < 2 || v.channels < 1 || h % period || w % period || h / period <= LATTICE_REACH ||
        w / period <= LATTICE_REACH)
        return cn_error_set(e, CN_ERR_ARG,
                            "texture lattice: period %d must be at least 2, divide the %dx%d image and leave at least "
                            "%d frequencies between its harmonics",
                            period, h, w, LATTICE_REACH + 1);
    size_t plane = (size_t)h * (size_t)w;
    int longest = h > w ? h : w;
    double *buf = malloc((3 * plane + 2 * (size_t)h + 2 * (size_t)w + 2 * (size_t)longest) * sizeof *buf);
    if (!buf) return cn_error_set(e, CN_ERR_NOMEM, "texture lattice of a %dx%d image: out of memory", h, w);
    double *power = buf, *re = power + plane, *im = re + plane;
    double *tw_h = im + plane, *tw_w = tw_h + 2 * h, *tmp = tw_w + 2 * w;
    twiddles(h, tw_h);
    twiddles(w, tw_w);
    for (size_t i = 0; i < plane; i++) power[i] = 0;
    double total = 0;
    for (int c = 0; c < v.channels; c++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) re[(size_t)y * w + x] = *at(&v, c, y, x), im[(size_t)y * w + x] = 0;
        dft2(re, im, h, w, -1, tw_h, tw_w, tmp);
        for (size_t i = 1; i < plane; i++) {
            const double p = re[i] * re[i] + im[i] * im[i];
            power[i] += p, total += p;
        }
    }
    /* a floor far below any real bin, so that a flat spectrum or exact zeros stay finite */
    const double floor = 1e-12 * (total > 0 ? total : 1) / (double)plane;
    double sum = 0;
    int bins = 0;
    for (int ky = 0; ky < h; ky += h / period)
        for (int kx = 0; kx < w; kx += w / period) {
            if (ky == 0 && kx == 0) continue;
            double around[LATTICE_NEIGHBOURS];
            int n = 0;
            for (int dy = -LATTICE_REACH; dy <= LATTICE_REACH; dy++)
                for (int dx = -LATTICE_REACH; dx <= LATTICE_REACH; dx++)
                    if (dy || dx) around[n++] = power[(size_t)((ky + dy + h) % h) * w + (size_t)((kx + dx + w) % w)];
            qsort(around, n, sizeof *around, compare_doubles);
            const double median = (around[n / 2 - 1] + around[n / 2]) / 2;
            sum += log10((power[(size_t)ky * w + kx] + floor) / (median + floor));
            bins++;
        }
    *score = sum / bins;
    free(buf);
    return CN_OK;
}

/* ---- the report ----------------------------------------------------------------------------- */

static void summary_add(cn_texture_summary *s, double v) {
    size_t finite = s->count++ - s->infinite;
    if (isinf(v)) {
        if (++s->infinite == s->count) s->mean = s->min = s->max = v;
        return;
    }
    if (finite == 0 || v < s->min) s->min = v;
    if (finite == 0 || v > s->max) s->max = v;
    s->mean = finite == 0 ? v : s->mean + (v - s->mean) / (double)(finite + 1);
}

/* Statistics are compared crop against crop, so that samples, floor and ceilings share one
 * geometry: a half of the image measured against the opposite half of the observed image (left
 * against right, right against left, top against bottom, bottom against top). */
enum { HALVES = 4 };

typedef struct texture_eval {
    int channels, size, patch, scales;
    cn_texture_view observed;
    double *half_stats[HALVES]; /* the observed image's halves, in the order of half_view */
    double *stats;              /* room for one image's */
    float *scratch;             /* room for one image */
} texture_eval;

static cn_texture_view half_view(cn_texture_view v, int half) {
    int s = v.height, h = s / 2;
    switch (half) {
    case 0: return cn_texture_view_crop(v, 0, 0, s, h);         /* left */
    case 1: return cn_texture_view_crop(v, 0, h, s, s - h);     /* right */
    case 2: return cn_texture_view_crop(v, 0, 0, h, s);         /* top */
    default: return cn_texture_view_crop(v, h, 0, s - h, s);    /* bottom */
    }
}

static int opposite(int half) {
    return half ^ 1;
}

/* Mean statistics distance of v's halves to the observed image's opposite halves. */
static cn_status stats_against_halves(const texture_eval *t, cn_texture_view v, double *distance, cn_error *e) {
    double sum = 0;
    for (int h = 0; h < HALVES; h++) {
        CN_TRY(cn_texture_stats(half_view(v, h), t->scales, t->stats, e));
        sum += cn_texture_stats_distance(t->stats, t->half_stats[opposite(h)], t->scales);
    }
    *distance = sum / HALVES;
    return CN_OK;
}

/* Not a copy and statistics of n samples, and the diversity of their pairs. */
static cn_status eval_samples(const texture_eval *t, const float *images, size_t n, cn_texture_summary *copy,
                              cn_texture_summary *stats, cn_texture_summary *diversity, cn_error *e) {
    size_t image = (size_t)t->channels * (size_t)t->size * (size_t)t->size;
    for (size_t i = 0; i < n; i++) {
        cn_texture_view v = cn_texture_view_image(images + i * image, t->channels, t->size, t->size);
        double d;
        CN_TRY(cn_texture_patch_distance(v, t->observed, t->patch, &d, e));
        summary_add(copy, d * GREY_LEVELS_PER_UNIT);
        CN_TRY(stats_against_halves(t, v, &d, e));
        summary_add(stats, d);
        if (i % 2 == 1) {
            cn_texture_view prev = cn_texture_view_image(images + (i - 1) * image, t->channels, t->size, t->size);
            CN_TRY(cn_texture_patch_distance(prev, v, t->patch, &d, e));
            summary_add(diversity, d * GREY_LEVELS_PER_UNIT);
        }
    }
    return CN_OK;
}

/* The photograph's own numbers: its halves against each other (tiles and statistics), and the
 * statistics of phase-randomised halves and of matched noise against the opposite halves. */
static cn_status eval_references(const texture_eval *t, uint64_t seed, cn_texture_report *r, cn_error *e) {
    for (int h = 0; h < HALVES; h++) {
        cn_texture_view mine = half_view(t->observed, h), other = half_view(t->observed, opposite(h));
        double d;
        if (h < 2) { /* left and right: the tiles of the one searched in the other */
            CN_TRY(cn_texture_patch_distance(mine, other, t->patch, &d, e));
            summary_add(&r->copy_real_crops, d * GREY_LEVELS_PER_UNIT);
        }
        summary_add(&r->stats_real_crops, cn_texture_stats_distance(t->half_stats[h], t->half_stats[opposite(h)], t->scales));
        cn_texture_view made = cn_texture_view_image(t->scratch, t->channels, mine.height, mine.width);
        for (int k = 0; k < CN_TEXTURE_CEILING_DRAWS; k++) {
            uint64_t draw = seed + (uint64_t)(k * HALVES + h);
            CN_TRY(cn_texture_phase_randomise(mine, draw, t->scratch, e));
            CN_TRY(cn_texture_stats(made, t->scales, t->stats, e));
            summary_add(&r->stats_phase_randomised, cn_texture_stats_distance(t->stats, t->half_stats[opposite(h)], t->scales));
            CN_TRY(cn_texture_matched_noise(mine, draw, t->scratch, e));
            CN_TRY(cn_texture_stats(made, t->scales, t->stats, e));
            summary_add(&r->stats_noise, cn_texture_stats_distance(t->stats, t->half_stats[opposite(h)], t->scales));
        }
    }
    return CN_OK;
}

/* The sharpness of each of n images into summary, in grey levels. */
static cn_status sharpness_of(const texture_eval *t, const float *images, size_t n, cn_texture_summary *summary,
                              cn_error *e) {
    size_t image = (size_t)t->channels * (size_t)t->size * (size_t)t->size;
    for (size_t i = 0; i < n && images; i++) {
        double d;
        CN_TRY(cn_texture_sharpness(cn_texture_view_image(images + i * image, t->channels, t->size, t->size), &d, e));
        summary_add(summary, d * GREY_LEVELS_PER_UNIT);
    }
    return CN_OK;
}

/* The lattice score of each of n images into summary. */
static cn_status lattice_of(const texture_eval *t, const float *images, size_t n, int period, cn_texture_summary *summary,
                            cn_error *e) {
    size_t image = (size_t)t->channels * (size_t)t->size * (size_t)t->size;
    for (size_t i = 0; i < n && images; i++) {
        double score;
        CN_TRY(cn_texture_lattice(cn_texture_view_image(images + i * image, t->channels, t->size, t->size), period,
                                  &score, e));
        summary_add(summary, score);
    }
    return CN_OK;
}

cn_status cn_texture_evaluate(const float *observed, const float *generated, const float *revised, size_t n,
                              int channels, int size, int period, uint64_t seed, cn_texture_report *report,
                              cn_error *e) {
    if (n < 2 || size < 8 || channels < 1 || !observed || !generated)
        return cn_error_set(e, CN_ERR_ARG,
                            "texture evaluation needs at least 2 samples of at least 8x8 pixels (got %zu of %dx%dx%d)",
                            n, channels, size, size);
    cn_texture_report r = {.patch = size / 4, .lattice_period = period};
    r.scales = cn_texture_max_scales(size - size / 2, size / 2); /* what a half still has */
    size_t stats = cn_texture_stats_size(r.scales);
    size_t image = (size_t)channels * (size_t)size * (size_t)size;
    double *buf = malloc((HALVES + 1) * stats * sizeof *buf);
    float *scratch = malloc(image * sizeof *scratch);
    cn_status status = CN_OK;
    texture_eval t = {.channels = channels, .size = size, .patch = r.patch, .scales = r.scales,
                      .observed = cn_texture_view_image(observed, channels, size, size),
                      .scratch = scratch};
    if (!buf || !scratch) {
        status = cn_error_set(e, CN_ERR_NOMEM, "texture evaluation: out of memory");
        goto end;
    }
    t.stats = buf + HALVES * stats;
    for (int h = 0; h < HALVES && status == CN_OK; h++) {
        t.half_stats[h] = buf + (size_t)h * stats;
        status = cn_texture_stats(half_view(t.observed, h), r.scales, t.half_stats[h], e);
    }
    /* the lattice first: it checks the period before the long searches */
    if (status == CN_OK && period) status = lattice_of(&t, observed, 1, period, &r.lattice_observed, e);
    if (status == CN_OK && period) status = lattice_of(&t, generated, n, period, &r.lattice_generated, e);
    if (status == CN_OK && period) status = lattice_of(&t, revised, n, period, &r.lattice_revised, e);
    if (status == CN_OK) status = sharpness_of(&t, observed, 1, &r.sharpness_observed, e);
    if (status == CN_OK) status = sharpness_of(&t, generated, n, &r.sharpness_generated, e);
    if (status == CN_OK) status = sharpness_of(&t, revised, n, &r.sharpness_revised, e);
    if (status == CN_OK) status = eval_references(&t, seed, &r, e);
    if (status == CN_OK) {
        double d;
        status = cn_texture_patch_distance_elsewhere(t.observed, r.patch, &d, e);
        summary_add(&r.copy_real_elsewhere, d * GREY_LEVELS_PER_UNIT);
    }
    if (status == CN_OK)
        status = eval_samples(&t, generated, n, &r.copy_generated, &r.stats_generated, &r.diversity_generated, e);
    if (status == CN_OK && revised)
        status = eval_samples(&t, revised, n, &r.copy_revised, &r.stats_revised, &r.diversity_revised, e);
    if (status == CN_OK) *report = r;
end:
    free(buf), free(scratch);
    return status;
}
