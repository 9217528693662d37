/* cn_data: training images on the host — IDX files (MNIST, Fashion-MNIST), folders of PNGs,
 * one folder per category, a single texture, or generated shapes — brought to the configured size
 * and channel count and scaled to [-1, 1]; the per-epoch shuffle; and sample grids as PNG.
 *
 * Errors name the file and the reason: "IDX file t10k-images-idx3-ubyte.gz: truncated: ...". */
#ifndef CN_DATA_H
#define CN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_config.h"
#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_dataset {
    int count, channels, height, width;
    /* [count][channels][height][width] in [-1, 1]: with CN_SCALE_MINMAX each image is stretched
     * from its own min..max to -1..1 (the reference code; a constant image becomes 0), with
     * CN_SCALE_FIXED v/127.5 - 1. */
    float *images;
    int *labels;        /* [count], or NULL when the source has none */
    int num_classes;    /* 0 when unlabelled */
    char **class_names; /* categories: the sub-folder names, sorted; otherwise NULL */
} cn_dataset;

/* Loads the images cfg describes (see cn_data_kind):
 *   IDX        cfg->path (gzip or raw), labels from cfg->labels_path when not "";
 *   FOLDER     every *.png in cfg->path, in name order (other files are ignored);
 *   CATEGORIES one sub-folder of cfg->path per class, sorted by name; label = sub-folder index;
 *   TEXTURE    the image cfg->path, repeated cfg->texture_copies times (at least once);
 *   SYNTHETIC  cfg->limit (else 512) discs, squares and stripes of random size, place and
 *              intensity drawn from `seed` (label = shape kind, 3 classes); `seed` is used only here.
 * Every image is centre-cropped and resized to cfg->image_size and converted to cfg->channels.
 * cfg->limit > 0 caps the count (categories: taken round-robin so every class keeps images). */
cn_status cn_dataset_load(const cn_data_config *cfg, uint64_t seed, cn_dataset *out, cn_error *e);
void cn_dataset_free(cn_dataset *d);

/* A permutation of [0, n) that depends only on (seed, epoch): Fisher-Yates driven by splitmix64,
 * integer arithmetic only, so every platform produces the same one. */
void cn_dataset_permutation(uint32_t *perm, size_t n, uint64_t seed, uint64_t epoch);

/* Copies images perm[start], perm[start + 1], ... (count of them, wrapping around d->count) into
 * dst, laid out [count][channels][height][width]. perm holds d->count entries. */
void cn_dataset_gather(const cn_dataset *d, const uint32_t *perm, size_t start, size_t count, float *dst);

/* An IDX file as stored: up to 4 dimensions of unsigned bytes (type 0x08) or float32 (0x0d). Gzip or raw. */
#define CN_IDX_UBYTE 0x08
#define CN_IDX_FLOAT 0x0d
typedef struct cn_idx {
    int ndims;
    int dims[4];
    int type;      /* CN_IDX_UBYTE or CN_IDX_FLOAT */
    uint8_t *data; /* the elements as stored: one byte each, or four (a big-endian float32) */
    size_t size;   /* bytes: dims[0] × ... × dims[ndims-1] × the element's size */
} cn_idx;

/* Checks the magic, the type and that the data is exactly as long as the dimensions say. */
cn_status cn_idx_read(const char *path, cn_idx *out, cn_error *e);
void cn_idx_free(cn_idx *x);
/* Element i of a CN_IDX_FLOAT file. */
float cn_idx_float(const cn_idx *x, size_t i);
/* Writes images [n][c][h][w] as a float32 IDX file of n × h × w (c = 1) or n × h × w × c, the
 * values as they are (what an IDX image data set of float32 is read back as). Atomic. */
cn_status cn_idx_write_floats(const char *path, const float *images, int n, int c, int h, int w, cn_error *e);
/* An IDX file already read as a data set (what cn_dataset_load does with cfg->path): unsigned
 * bytes are fitted to cfg's size and channels and scaled; float32 images must already have that
 * size and channel count, and are taken as they are (finite values, the model's [-1, 1]).
 * cfg->path names the file in messages; labels (unsigned bytes) may be NULL. */
cn_status cn_dataset_from_idx(const cn_data_config *cfg, const cn_idx *images, const cn_idx *labels, cn_dataset *out,
                              cn_error *e);

/* Writes images [n][c][h][w] (values in [-1, 1], clamped; NaN shows black) as one PNG with `cols`
 * tiles per row (cols <= 0: a square-ish grid) separated by 2-pixel white gaps. c is 1 or 3.
 * Atomic like cn_png_write. */
cn_status cn_grid_write(const char *path, const float *images, int n, int c, int h, int w, int cols, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
