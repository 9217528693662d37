/* Pattern completion and latent interpolation (include/coopnets/cn_experiments.h). */
#include "coopnets/cn_experiments.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_noise.h"

/* CN_STREAM_LATENT step of completion's starting h (0–3: training, sampling, interpolation, padding;
 * 5: Algorithm G's latent vectors). */
#define COMPLETION_LATENT_STEP 4

/* ---- masks ------------------------------------------------------------------------------------ */

cn_status cn_mask_parse(const char *text, int image_size, cn_mask_spec *out, cn_error *e) {
    const char *expected = "expected square:K (a KxK square hidden, 1 <= K < image size) or random:P (each "
                           "pixel hidden with probability P, 0 < P < 1)";
    char *end;
    memset(out, 0, sizeof *out);
    if (strncmp(text, "square:", 7) == 0) {
        errno = 0;
        long k = strtol(text + 7, &end, 10);
        if (end == text + 7 || *end || errno)
            return cn_error_set(e, CN_ERR_ARG, "mask \"%s\": K is not an integer; %s", text, expected);
        if (k < 1 || k >= image_size)
            return cn_error_set(e, CN_ERR_ARG, "mask \"%s\": the square must be 1 to %d pixels for %dx%d images", text,
                                image_size - 1, image_size, image_size);
        out->kind = CN_MASK_SQUARE;
        out->size = (int)k;
        return CN_OK;
    }
    if (strncmp(text, "random:", 7) == 0) {
        errno = 0;
        double p = strtod(text + 7, &end);
        if (end == text + 7 || *end || errno || !(p > 0 && p < 1))
            return cn_error_set(e, CN_ERR_ARG, "mask \"%s\": P must be a number between 0 and 1 (exclusive); %s", text,
                                expected);
        out->kind = CN_MASK_RANDOM;
        out->fraction = p;
        return CN_OK;
    }
    return cn_error_set(e, CN_ERR_ARG, "mask \"%s\": %s", text, expected);
}

void cn_mask_make(const cn_mask_spec *spec, uint64_t seed, uint32_t index, int channels, int size, float *mask) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    size_t plane = (size_t)size * (size_t)size;
    uint32_t r[4];
    for (size_t p = 0; p < plane; p++) mask[p] = 1.0f;
    if (spec->kind == CN_MASK_SQUARE) {
        uint32_t counter[4] = {index, CN_STREAM_MASK, CN_MASK_SQUARE, 0};
        cn_philox4x32_host(counter, key, r);
        uint32_t places = (uint32_t)(size - spec->size + 1); /* 2^32 mod places: a bias below 1e-8 */
        size_t top = r[0] % places, left = r[1] % places;
        for (size_t y = top; y < top + (size_t)spec->size; y++)
            for (size_t x = left; x < left + (size_t)spec->size; x++) mask[y * (size_t)size + x] = 0.0f;
    } else {
        for (size_t block = 0; block * 4 < plane; block++) {
            uint32_t counter[4] = {index, CN_STREAM_MASK, CN_MASK_RANDOM, (uint32_t)block};
            cn_philox4x32_host(counter, key, r);
            for (size_t lane = 0; lane < 4 && block * 4 + lane < plane; lane++)
                if ((double)r[lane] * 0x1p-32 < spec->fraction) mask[block * 4 + lane] = 0.0f;
        }
    }
    for (int c = 1; c < channels; c++) memcpy(mask + (size_t)c * plane, mask, plane * sizeof(float));
}

/* ---- completion ------------------------------------------------------------------------------- */

cn_status cn_coop_complete(cn_runtime *rt, cn_coop *coop, const float *images, const float *masks, size_t count,
                           int steps, uint64_t seed, float *recovered, cn_error *e) {
    if (!coop->generator.layer_count)
        return cn_error_set(e, CN_ERR_ARG, "pattern completion needs a generator; this model was trained in mode \"%s\"",
                            cn_mode_name(coop->config.mode));
    size_t m = coop->chain_count, img = coop->image_floats, bytes = m * img * sizeof(float);
    cn_buffer mask = {0};
    cn_status s = cn_buffer_alloc(rt, &mask, bytes, "completion masks", e);
    for (size_t at = 0, batch = 0; s == CN_OK && at < count; at += m, batch++) {
        size_t k = count - at < m ? count - at : m, head = k * img * sizeof(float);
        cn_noise_key key = {seed, (uint32_t)batch, CN_STREAM_LATENT, COMPLETION_LATENT_STEP, 0};
        s = cn_noise_normal(rt, &key, m * coop->latent_floats, &coop->latent, e);
        /* the padding rows see nothing: mask 0, and a defined target (0 · NaN would not be 0) */
        if (s == CN_OK && k < m) s = cn_buffer_fill_f32(rt, &coop->chains, 0.0f, k * img, (m - k) * img, e);
        if (s == CN_OK && k < m) s = cn_buffer_fill_f32(rt, &mask, 0.0f, k * img, (m - k) * img, e);
        if (s == CN_OK) s = cn_buffer_write(rt, &coop->chains, 0, images + at * img, head, e);
        if (s == CN_OK) s = cn_buffer_write(rt, &mask, 0, masks + at * img, head, e);
        if (s == CN_OK) s = cn_coop_infer_latent_on(rt, coop, &coop->chains, &mask, m, steps, seed, batch, e);
        if (s == CN_OK) s = cn_net_forward(rt, &coop->generator, m, &coop->latent, e);
        if (s == CN_OK) s = cn_buffer_read(rt, cn_net_output(&coop->generator), 0, recovered + at * img, head, e);
    }
    cn_buffer_free(rt, &mask);
    return s;
}

void cn_completion_fill_mean(const float *images, const float *masks, size_t count, int channels, size_t plane,
                             float *out) {
    for (size_t c = 0; c < count * (size_t)channels; c++) {
        const float *x = images + c * plane, *m = masks + c * plane;
        double sum = 0;
        size_t seen = 0;
        for (size_t i = 0; i < plane; i++)
            if (m[i] != 0.0f) sum += x[i], seen++;
        float fill = seen ? (float)(sum / (double)seen) : 0.0f;
        for (size_t i = 0; i < plane; i++) out[c * plane + i] = m[i] != 0.0f ? x[i] : fill;
    }
}

void cn_completion_score(const float *images, const float *masks, const float *recovered, size_t count,
                         cn_completion_scores *out) {
    double hidden_abs = 0, hidden_sq = 0, visible_abs = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < count; i++) {
        double d = 0.5 * ((double)images[i] - (double)recovered[i]); /* [-1, 1] -> [0, 1] halves differences */
        if (masks[i] == 0.0f) {
            hidden_abs += fabs(d), hidden_sq += d * d;
            out->hidden++;
        } else {
            visible_abs += fabs(d);
            out->visible++;
        }
    }
    out->hidden_abs_error = out->hidden ? hidden_abs / (double)out->hidden : NAN;
    out->hidden_psnr = out->hidden ? 10.0 * log10((double)out->hidden / hidden_sq) : NAN;
    out->visible_abs_error = out->visible ? visible_abs / (double)out->visible : NAN;
}

/* ---- interpolation ---------------------------------------------------------------------------- */

void cn_latent_interpolate(const float *a, const float *b, float *out, size_t n, double t, int spherical) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) dot += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    double omega = acos(fmax(-1.0, fmin(1.0, dot / sqrt(na * nb + 1e-30))));
    for (size_t i = 0; i < n; i++) {
        if (spherical && sin(omega) > 1e-6)
            out[i] = (float)((sin((1 - t) * omega) * a[i] + sin(t * omega) * b[i]) / sin(omega));
        else
            out[i] = (float)((1 - t) * a[i] + t * b[i]);
    }
}
