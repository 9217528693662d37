/* cn_evaluate: the numbers runs are compared by — the descriptor's score f of observed and
 * synthesised images, and a Fréchet distance and an Inception-style score computed in the feature
 * space of a small fixed classifier this project trains itself (NOT Inception-v3: the numbers are
 * comparable between runs of this program on the same data set, not with published FID/IS).
 *
 * The classifier is a cn_net: conv 3×3/1 16, conv 3×3/2 32, conv 3×3/2 64, fc 128 (leaky ReLU),
 * fc K (the logits); its features are the 128 outputs of the fc 128 layer. Softmax cross-entropy
 * is computed on the host: the logits of a batch (batch × K floats) are read back per step — the
 * classifier is trained once and is not a hot path.
 *
 * Classifier file: "CNCLSF01" | u32 version (1) | i32 channels, image size, classes, scaling |
 * u64 parameter floats | f64 test accuracy | float32 parameters (the net's layout) | u64 FNV-1a of
 * all before. Written to a temporary file, flushed, renamed. */
#ifndef CN_EVALUATE_H
#define CN_EVALUATE_H

#include "coopnets/cn_coop.h"
#include "coopnets/cn_data.h"

#define CN_CLASSIFIER_FEATURES 128
#define CN_CLASSIFIER_BATCH 100 /* images per classifier step */

typedef struct cn_classifier {
    cn_config config; /* the net (descriptor section) and the input shape (data section) */
    cn_net net;
    int classes;
    cn_scaling scaling;   /* how the images it was trained on were scaled */
    double test_accuracy; /* as measured when it was saved; NaN when unknown */
    cn_buffer input, dlogits;
    float *logits; /* host copy of one batch */
} cn_classifier;

/* Builds the net for channels × size × size images and `classes` classes, batches up to max_batch,
 * weights drawn from seed. */
cn_status cn_classifier_create(cn_runtime *rt, int channels, int size, int classes, size_t max_batch, uint64_t seed,
                               cn_classifier *cl, cn_error *e);
void cn_classifier_free(cn_runtime *rt, cn_classifier *cl);

/* One epoch of Adam (lr 1e-3 × 0.8^epoch) on softmax cross-entropy over the labelled set d, in the order of
 * permutation (seed, epoch), batches of the classifier's max batch; *mean_loss gets the mean loss. */
cn_status cn_classifier_train_epoch(cn_runtime *rt, cn_classifier *cl, const cn_dataset *d, uint64_t seed,
                                    uint64_t epoch, double *mean_loss, cn_error *e);
/* Runs n images [n][c][h][w]; features [n][CN_CLASSIFIER_FEATURES] and probabilities [n][classes]
 * (softmax of the logits) are written where not NULL. */
cn_status cn_classifier_run(cn_runtime *rt, cn_classifier *cl, const float *images, size_t n, float *features,
                            float *probs, cn_error *e);
/* Fraction of d's images whose most probable class is their label. */
cn_status cn_classifier_accuracy(cn_runtime *rt, cn_classifier *cl, const cn_dataset *d, double *accuracy,
                                 cn_error *e);
cn_status cn_classifier_save(cn_runtime *rt, cn_classifier *cl, const char *path, cn_error *e);
/* Reads and verifies (magic, version, checksum, parameter count) and builds the classifier. */
cn_status cn_classifier_load(cn_runtime *rt, const char *path, size_t max_batch, cn_classifier *cl, cn_error *e);

/* Softmax cross-entropy of n rows of k logits against labels: returns the mean loss; p (may be
 * NULL) gets the probabilities and grad (may be NULL) d(mean loss)/d(logits) = (p − onehot)/n. */
double cn_softmax_xent(const float *logits, const int *labels, size_t n, int k, float *p, float *grad);

/* Eigen-decomposition of the symmetric n × n matrix a (row-major; destroyed) by cyclic Jacobi:
 * values[n], vectors (may be NULL) [n][n] with eigenvector j in column j. */
cn_status cn_symmetric_eigen(double *a, int n, double *values, double *vectors, cn_error *e);
/* Fréchet distance between Gaussians fitted to two feature sets [na][dim] and [nb][dim]:
 * |μa − μb|² + tr(Sa + Sb − 2 (Sa^½ Sb Sa^½)^½), covariances with 1/(n − 1). Needs na, nb >= 2. */
cn_status cn_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int dim, double *fd,
                              cn_error *e);
/* exp(E_x KL(p(y|x) || p(y))) for n rows of k probabilities: 1 for identical rows, k at most. */
double cn_inception_score(const float *probs, size_t n, int k);

/* Mean over n images [n][c][h][w] of the descriptor's f (the sum of its top outputs), run in batches
 * through the coop's image buffer. Needs a model with a descriptor. */
cn_status cn_descriptor_mean_f(cn_runtime *rt, cn_coop *coop, const float *images, size_t n, double *mean,
                               cn_error *e);

/* For an IDX training images file ".../train-images-idx3-ubyte[.gz]": its labels and the test split's
 * images and labels (train- → t10k-, images-idx3 → labels-idx1). CN_ERR_ARG when the name does not
 * follow that pattern. Each output holds CN_PATH_MAX. */
cn_status cn_idx_split_paths(const char *train_images, char *train_labels, char *test_images, char *test_labels,
                             cn_error *e);

/* An IDX image file (and its labels; NULL: none) as a data set of size × size images with
 * `channels` channels, scaled as given, the first `limit` images (0: all). */
cn_status cn_idx_dataset_load(const char *images, const char *labels, int size, int channels, cn_scaling scaling,
                              int limit, cn_dataset *out, cn_error *e);
/* Where the classifier for a data set lives by default: <program cache folder>/classifier-<data
 * folder name>.cncl, e.g. ~/.cache/coopnets_cl/classifier-fashion-mnist.cncl; "" when the runtime
 * has no cache folder. */
void cn_classifier_default_path(const cn_runtime *rt, const char *train_images, char *out, size_t size);

/* ---- a model's evaluation (`coopnets_cl evaluate`) -------------------------------------------- */

typedef struct cn_evaluation cn_evaluation;

typedef struct cn_evaluate_options {
    const char *train_images; /* the IDX training images; the t10k- test split is found by name */
    const char *classifier;   /* its file; NULL: cn_classifier_default_path */
    /* samples and real images per set (>= 2; fewer when a split is smaller); 0 with sample files:
     * as many as the generated file holds */
    size_t count;
    uint64_t seed;      /* keys the samples' latent draws */
    int revision_steps; /* descriptor Langevin steps that revise the samples; 0: the model's own */
    /* Scored in place of a model's samples (cn_evaluate_run without a model): IDX files of at least
     * `count` images at the classifier's size and channels, of float32 in the model's [-1, 1] (as
     * cn_idx_write_floats writes them), or of unsigned bytes scaled as the real images are. The
     * real images are scaled as the classifier's were. revised_file may be NULL. */
    const char *generated_file, *revised_file;
    /* Not NULL: a model's scored samples are also written to <prefix>-generated.idx and
     * <prefix>-revised.idx (float32 IDX), which score the same as generated_file and revised_file. */
    const char *samples_prefix;
    /* Called once the data and the classifier are loaded (ev has the paths, count and the
     * classifier's accuracy), before the sampling; NULL: not called. */
    void (*on_loaded)(void *user, const cn_evaluation *ev);
    void *user;
} cn_evaluate_options;

/* The scores of a model (or of sample files) against the real-data floor. The sets a model cannot
 * make are absent: generated samples need a generator, revised ones a generator and a descriptor
 * with Langevin steps, and the descriptor's f a descriptor (sample files have none). A further
 * block of statistics goes here with its own has_ flag. */
struct cn_evaluation {
    char test_images[CN_PATH_MAX], classifier[CN_PATH_MAX];
    size_t count;
    double classifier_test_accuracy;
    int has_descriptor, has_generated, has_revised;
    int revision_steps;                        /* of a model's revised samples; 0 for sample files */
    double f_observed, f_generated, f_revised; /* the descriptor's mean f of the test images and the samples */
    double fd_train_vs_test, is_test, is_train; /* the real-data floor */
    double fd_generated, is_generated;          /* FD against the test images, and IS */
    double fd_revised, is_revised;
};

/* Samples `count` images from the model (generated and, where it can, revised), scores them and
 * the real train and test images in the classifier's feature space. coop NULL: scores
 * o->generated_file (and o->revised_file) instead, by the same code. A classifier of more than 64
 * classes or of another image shape than the model's is CN_ERR_ARG; a sample file of another shape
 * or of fewer than `count` images is CN_ERR_FORMAT naming it. */
cn_status cn_evaluate_run(cn_runtime *rt, cn_coop *coop, const cn_evaluate_options *o, cn_evaluation *ev,
                          cn_error *e);

#endif
