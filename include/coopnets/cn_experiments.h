/* cn_experiments: what the paper's experiments need beyond training — pattern completion (masks,
 * generator Langevin inference on the visible pixels, the error table's numbers) and latent
 * interpolation. */
#ifndef CN_EXPERIMENTS_H
#define CN_EXPERIMENTS_H

#include "coopnets/cn_coop.h"

typedef enum { CN_MASK_SQUARE, CN_MASK_RANDOM } cn_mask_kind;

typedef struct cn_mask_spec {
    cn_mask_kind kind;
    int size;        /* square: K, the side of the hidden square */
    double fraction; /* random: P, the probability that a pixel is hidden */
} cn_mask_spec;

/* "square:K" (1 <= K < image_size) or "random:P" (0 < P < 1); anything else is CN_ERR_ARG with a
 * message that quotes the text and says what is expected. */
cn_status cn_mask_parse(const char *text, int image_size, cn_mask_spec *out, cn_error *e);

/* The mask of image `index`, [channels][size][size]: 1 visible, 0 hidden (a hidden pixel is hidden
 * in every channel). Drawn from Philox with key `seed` and counter (index, CN_STREAM_MASK, kind,
 * block): the square's top-left corner is uniform over the positions where it fits; in a random
 * mask each pixel is hidden with probability P. The same seed and index give the same mask. */
void cn_mask_make(const cn_mask_spec *spec, uint64_t seed, uint32_t index, int channels, int size, float *mask);

/* Pattern completion: for each of `count` images [count][image] with masks of the same shape,
 * h starts at N(0, I) and takes `steps` generator Langevin steps (the config's δ_G, σ and noise)
 * on the visible elements only; recovered [count][image] gets g(h). Runs in batches of M, a short
 * last batch filled up with prior draws that see no pixels, so batch norm always sees M rows as in
 * sampling. Noise is keyed by `seed`. Needs a model with a generator. */
cn_status cn_coop_complete(cn_runtime *rt, cn_coop *coop, const float *images, const float *masks, size_t count,
                           int steps, uint64_t seed, float *recovered, cn_error *e);

/* The numbers of the paper's completion table, images mapped from [-1, 1] to [0, 1]. */
typedef struct cn_completion_scores {
    size_t hidden, visible;      /* elements counted */
    double hidden_abs_error;     /* mean |x − x̂| over the hidden elements */
    double hidden_psnr;          /* 10·log10(1 / mean (x − x̂)²) over the hidden elements, dB */
    double visible_abs_error;    /* mean |x − x̂| over the visible ones: how well inference fits what it saw */
} cn_completion_scores;

/* The baseline a completion has to beat, needing no model: out = the images with every hidden
 * value replaced by the mean of the visible values of its image and channel (0, mid-gray, when a
 * channel has none). images, masks, out: [count][channels][plane]. */
void cn_completion_fill_mean(const float *images, const float *masks, size_t count, int channels, size_t plane,
                             float *out);

/* Over `count` values (all images together); NaN where a set is empty. */
void cn_completion_score(const float *images, const float *masks, const float *recovered, size_t count,
                         cn_completion_scores *out);

/* out = the point at t in [0, 1] between latent vectors a and b (n values): linear, or spherical
 * (slerp along the great circle through a and b: the norm stays |a| when |a| = |b|, so a path
 * between two N(0, I) draws, whose norms are close, stays where the prior has its mass; a linear
 * path shrinks towards 0 in the middle). For (anti)parallel a, b slerp falls back to linear. */
void cn_latent_interpolate(const float *a, const float *b, float *out, size_t n, double t, int spherical);

#endif
