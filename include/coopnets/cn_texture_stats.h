/* cn_texture_stats: does a texture model synthesise, or copy? Three numbers, in host double
 * precision, that `evaluate` reports for texture checkpoints (issue 14):
 *
 * - not a copy: each synthesised image's tiles matched against the observed image at every
 *   position (a copy, shifted or not, scores 0), next to the same number for two disjoint crops
 *   of the photograph (its left and right halves) and for the photograph's tiles matched
 *   elsewhere in itself (the samples' geometry: a whole image searched, not a half);
 * - same statistics: a distance between scale-free statistics (the normalised Gram matrix, power
 *   and kurtosis of the responses) of a fixed bank of random filters at several scales, for the
 *   samples, the real crops (the floor) and for phase-randomised crops and matched noise (the
 *   ceilings), each half of an image measured against the opposite half of the observed image;
 * - diversity: the tile distance between pairs of samples;
 * - lattice: how strongly an image repeats with the period of one latent cell's footprint (a
 *   generator that draws the same patch under every cell), next to the photograph's;
 * - sharpness: the fine detail's strength, next to the photograph's: harsher samples than the
 *   texture also lie further from it tile by tile, which "not a copy" alone would count as novelty.
 *
 * Images are float [channels][height][width] as the data sets hold them ([-1, 1]); a
 * cn_texture_view names a rectangle of one. */
#ifndef CN_TEXTURE_STATS_H
#define CN_TEXTURE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_texture_view {
    const float *pixels; /* the view's top-left pixel in channel 0 */
    int channels, height, width;
    size_t row_stride, channel_stride; /* in floats */
} cn_texture_view;

/* The whole image [channels][height][width]. */
cn_texture_view cn_texture_view_image(const float *image, int channels, int height, int width);
/* The rectangle at (top, left) of height × width inside v (the caller keeps it inside). */
cn_texture_view cn_texture_view_crop(cn_texture_view v, int top, int left, int height, int width);

/* The mean, over a's whole patch × patch tiles (laid from its top-left corner, not overlapping), of
 * each tile's smallest mean absolute difference to a patch × patch window of b at any position
 * (every valid-overlap shift). 0 when every tile of a appears somewhere in b, so a shifted copy
 * scores 0. In image units. CN_ERR_ARG when patch < 1, a or b is smaller than a patch, or their
 * channel counts differ. */
cn_status cn_texture_patch_distance(cn_texture_view a, cn_texture_view b, int patch, double *distance, cn_error *e);

/* The same for v's tiles searched in v itself, leaving out every window that overlaps the tile:
 * how far a real tile is from the rest of its photograph, searched over (almost) as many
 * positions as a sample's tiles are in the whole observed image. A periodic image scores 0.
 * CN_ERR_ARG when patch < 1 or v is smaller than a patch, or not twice a patch along one side
 * (then some tile would have no window left). */
cn_status cn_texture_patch_distance_elsewhere(cn_texture_view v, int patch, double *distance, cn_error *e);

/* The filter bank: CN_TEXTURE_FILTERS filters of CN_TEXTURE_KERNEL² taps over all channels, drawn
 * once from Philox with a fixed key (so every model and run is measured by the same bank), each with
 * zero mean (a constant image gives no response) and unit norm. */
#define CN_TEXTURE_FILTERS 8
#define CN_TEXTURE_KERNEL 5
#define CN_TEXTURE_MAX_SCALES 4
/* weights [CN_TEXTURE_FILTERS][channels][CN_TEXTURE_KERNEL][CN_TEXTURE_KERNEL]. */
void cn_texture_filters(int channels, double *weights);

/* Statistics per scale s (the image averaged over 2^s × 2^s blocks), from the responses
 * a_k = w_k * x at every valid position and r_k = max(0, a_k), averaged over positions: the means
 * of r_k (CN_TEXTURE_FILTERS), the Gram matrix of r (k <= l, upper triangle row by row), and the
 * second and fourth moments of a_k (CN_TEXTURE_FILTERS each). cn_texture_stats_size doubles. */
size_t cn_texture_stats_size(int scales);
/* The most scales (at most CN_TEXTURE_MAX_SCALES) at which a height × width image still has a
 * response; 0 when it is smaller than one kernel. */
int cn_texture_max_scales(int height, int width);
cn_status cn_texture_stats(cn_texture_view v, int scales, double *stats, cn_error *e);
/* The root mean square difference of scale-free numbers derived from the statistics, over scales:
 * the correlations of r (the Gram matrix normalised by its diagonal, k < l), and per filter the log
 * power ln E[a²] (the power spectrum, band by band), the log kurtosis ln(E[a⁴] / E[a²]²) (edges and
 * lines make responses sparse, heavy-tailed; phase randomisation and noise make them Gaussian) and
 * E[r] / sqrt(E[r²]). 0 for the same statistics; doubling an image's contrast moves it by
 * ln 4 · sqrt(CN_TEXTURE_FILTERS / (count of those numbers per scale)). Infinite when a filter has
 * no response at all in one image and some in the other (a flat image). */
double cn_texture_stats_distance(const double *a, const double *ref, int scales);

/* out [channels][height][width]: v with the same Fourier amplitudes (so the same power spectrum and
 * autocorrelation) and random phases, those of white noise drawn from seed (one draw for all
 * channels); the mean is kept. A texture without its arrangement: the statistics' ceiling. */
cn_status cn_texture_phase_randomise(cn_texture_view v, uint64_t seed, float *out, cn_error *e);
/* out [channels][height][width]: Gaussian noise with exactly v's mean and standard deviation per
 * channel (drawn from seed, then standardised). */
cn_status cn_texture_matched_noise(cn_texture_view v, uint64_t seed, float *out, cn_error *e);

/* How strongly v repeats with `period` pixels: over the spectrum's bins at multiples of
 * (height / period, width / period) but (0, 0), the mean of log10 of the bin's power
 * (summed over channels) over the median power of its 24 neighbours (5 x 5 around it, wrapped);
 * About 0 for a photograph (slightly below: a median), 2 when the harmonics stand a hundred times
 * above their surroundings: a lattice of this period lights them all, one of a period dividing it
 * some of them. CN_ERR_ARG when period < 2 or it does not divide both
 * sides with at least 3 frequencies between harmonics. */
cn_status cn_texture_lattice(cn_texture_view v, int period, double *score, cn_error *e);

/* The mean absolute 4-neighbour Laplacian, |4 v(y, x) - v(y-1, x) - v(y+1, x) - v(y, x-1) - v(y, x+1)|,
 * over v's interior pixels and channels, in image units: 0 for a flat or linear image, 8a for a
 * checkerboard of ±a. CN_ERR_ARG when v has no interior pixel (a side under 3). */
cn_status cn_texture_sharpness(cn_texture_view v, double *sharpness, cn_error *e);

/* Mean, smallest and largest of a set of measurements, over its finite ones; `infinite` counts the
 * others: a statistics distance is infinite when one image has a filter with no response at all
 * and the other has none such (a flat sample: see cn_texture_stats_distance). With no finite
 * measurement, mean, min and max are infinite. */
typedef struct cn_texture_summary {
    double mean, min, max;
    size_t count, infinite;
} cn_texture_summary;

/* The three numbers for n samples (generated, and revised when not NULL), each
 * [n][channels][size][size], against the observed image. Distances of tiles in grey levels of 255
 * (image units × 127.5, the [-1, 1] range being 255 levels); statistics distances unitless. */
typedef struct cn_texture_report {
    int patch, scales; /* tile side (size/4) and statistics scales used */
    /* not a copy: the samples' tiles against the observed image; the photograph's left-half tiles
     * against its right half and the other way round; its tiles elsewhere in itself (one value) */
    cn_texture_summary copy_generated, copy_revised, copy_real_crops, copy_real_elsewhere;
    /* statistics distance, each half of an image (left, right, top, bottom) against the observed
     * image's opposite half: samples (mean of the four per sample), the observed image's own halves
     * (the floor), phase-randomised halves and matched noise (CN_TEXTURE_CEILING_DRAWS per half) */
    cn_texture_summary stats_generated, stats_revised, stats_real_crops, stats_phase_randomised, stats_noise;
    /* tile distance between samples 2i and 2i + 1 */
    cn_texture_summary diversity_generated, diversity_revised;
    /* cn_texture_lattice of the samples and of the observed image (one value) at lattice_period;
     * counts 0 when the period is 0 */
    int lattice_period;
    cn_texture_summary lattice_generated, lattice_revised, lattice_observed;
    /* cn_texture_sharpness in grey levels of 255, of the samples and of the observed image */
    cn_texture_summary sharpness_generated, sharpness_revised, sharpness_observed;
} cn_texture_report;

/* n >= 2 and size >= 8 (tiles of size/4); period: the lattice period (0: no lattice scores; else
 * as cn_texture_lattice requires); seed draws the phase-randomised and noise images
 * (CN_TEXTURE_CEILING_DRAWS of each). Leaves the revised summaries' count 0 when revised is NULL. */
#define CN_TEXTURE_CEILING_DRAWS 4
cn_status cn_texture_evaluate(const float *observed, const float *generated, const float *revised, size_t n,
                              int channels, int size, int period, uint64_t seed, cn_texture_report *report,
                              cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
