/* Evaluation: the fixed classifier (training, features, file), Fréchet distance with a Jacobi
 * eigen solver, Inception-style score, descriptor f. */
#include "coopnets/cn_evaluate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_util.h"

#define MAGIC "CNCLSF01"
#define VERSION 1u
#define LR_DECAY 0.8 /* per epoch */

static size_t bytes_of(size_t floats) { return floats * sizeof(float); }

static cn_layer_config layer(cn_layer_kind kind, int filters, int kernel, int stride, cn_activation act) {
    return (cn_layer_config){.kind = kind, .filters = filters, .kernel = kernel, .stride = stride,
                             .padding = CN_PAD_SAME, .activation = act};
}

cn_status cn_classifier_create(cn_runtime *rt, int channels, int size, int classes, size_t max_batch, uint64_t seed,
                               cn_classifier *cl, cn_error *e) {
    memset(cl, 0, sizeof *cl);
    if (channels < 1 || size < 4 || classes < 2 || max_batch < 1)
        return cn_error_set(e, CN_ERR_ARG, "classifier: needs channels >= 1, image size >= 4, classes >= 2 (got %d, %d, %d)",
                            channels, size, classes);
    cn_config *c = &cl->config;
    cn_config_defaults(c);
    snprintf(c->source, sizeof c->source, "classifier");
    c->data.channels = channels, c->data.image_size = size;
    cn_descriptor_config *d = &c->descriptor;
    /* Two stride-2 convs alone (32, 64) reached 89.9% on Fashion-MNIST in 4 epochs: one stride-1 layer first. */
    d->layer_count = 5;
    d->layers[0] = layer(CN_LAYER_CONV, 16, 3, 1, CN_ACT_LEAKY_RELU);
    d->layers[1] = layer(CN_LAYER_CONV, 32, 3, 2, CN_ACT_LEAKY_RELU);
    d->layers[2] = layer(CN_LAYER_CONV, 64, 3, 2, CN_ACT_LEAKY_RELU);
    d->layers[3] = layer(CN_LAYER_FC, CN_CLASSIFIER_FEATURES, 1, 1, CN_ACT_LEAKY_RELU);
    d->layers[4] = layer(CN_LAYER_FC, classes, 1, 1, CN_ACT_NONE);
    d->leaky_slope = 0.1, d->weight_std = 0.05;
    d->optimizer = (cn_optimizer_config){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    cl->classes = classes;
    cl->scaling = c->data.scaling;
    cl->test_accuracy = NAN;
    size_t img = (size_t)channels * size * size;
    cn_status s = cn_net_build_descriptor(rt, c, max_batch, &cl->net, e);
    if (s == CN_OK) s = cn_buffer_alloc(rt, &cl->input, bytes_of(max_batch * img), "classifier input", e);
    if (s == CN_OK) s = cn_buffer_alloc(rt, &cl->dlogits, bytes_of(max_batch * (size_t)classes), "classifier logit gradient", e);
    if (s == CN_OK && !(cl->logits = malloc(bytes_of(max_batch * (size_t)classes))))
        s = cn_error_set(e, CN_ERR_NOMEM, "classifier: out of memory for %zu logits", max_batch * (size_t)classes);
    if (s == CN_OK) s = cn_net_init_weights(rt, &cl->net, seed, e);
    if (s != CN_OK) cn_classifier_free(rt, cl);
    return s;
}

void cn_classifier_free(cn_runtime *rt, cn_classifier *cl) {
    cn_net_free(rt, &cl->net);
    cn_buffer_free(rt, &cl->input);
    cn_buffer_free(rt, &cl->dlogits);
    free(cl->logits);
    memset(cl, 0, sizeof *cl);
}

double cn_softmax_xent(const float *logits, const int *labels, size_t n, int k, float *p, float *grad) {
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * k;
        double top = z[0], sum = 0;
        for (int j = 1; j < k; j++) top = z[j] > top ? z[j] : top;
        for (int j = 0; j < k; j++) sum += exp(z[j] - top);
        if (labels) loss += log(sum) - (z[labels[i]] - top);
        for (int j = 0; j < k; j++) {
            double pj = exp(z[j] - top) / sum;
            if (p) p[i * k + j] = (float)pj;
            if (grad) grad[i * k + j] = (float)((pj - (labels && labels[i] == j)) / (double)n);
        }
    }
    return n ? loss / (double)n : 0;
}

/* Forward of n <= max_batch images already on the device; logits to the host. */
static cn_status forward_batch(cn_runtime *rt, cn_classifier *cl, size_t n, cn_error *e) {
    CN_TRY(cn_net_forward(rt, &cl->net, n, &cl->input, e));
    return cn_buffer_read(rt, cn_net_output(&cl->net), 0, cl->logits, bytes_of(n * (size_t)cl->classes), e);
}

static cn_status check_labels(const cn_classifier *cl, const cn_dataset *d, cn_error *e) {
    if (!d->labels || d->count < 1)
        return cn_error_set(e, CN_ERR_ARG, "classifier: the data set has no labels (or no images)");
    if (d->channels != cl->config.data.channels || d->height != cl->config.data.image_size ||
        d->width != cl->config.data.image_size)
        return cn_error_set(e, CN_ERR_ARG, "classifier: images are %dx%dx%d, the classifier takes %dx%dx%d", d->channels,
                            d->height, d->width, cl->config.data.channels, cl->config.data.image_size,
                            cl->config.data.image_size);
    for (int i = 0; i < d->count; i++)
        if (d->labels[i] < 0 || d->labels[i] >= cl->classes)
            return cn_error_set(e, CN_ERR_ARG, "classifier: image %d has label %d, outside 0..%d", i, d->labels[i],
                                cl->classes - 1);
    return CN_OK;
}

cn_status cn_classifier_train_epoch(cn_runtime *rt, cn_classifier *cl, const cn_dataset *d, uint64_t seed,
                                    uint64_t epoch, double *mean_loss, cn_error *e) {
    CN_TRY(check_labels(cl, d, e));
    size_t count = (size_t)d->count, img = cn_net_input_size(&cl->net), batch = cl->net.max_batch;
    uint32_t *perm = malloc(count * sizeof *perm);
    float *x = malloc(bytes_of(batch * img)), *grad = malloc(bytes_of(batch * (size_t)cl->classes));
    int *labels = malloc(batch * sizeof *labels);
    cn_status s = perm && x && grad && labels ? CN_OK
                                              : cn_error_set(e, CN_ERR_NOMEM, "classifier: out of memory for a batch");
    double loss = 0;
    /* A mild step decay settles the last epochs. */
    cl->net.adam.lr = (float)(cl->config.descriptor.optimizer.lr * pow(LR_DECAY, (double)epoch));
    if (s == CN_OK) cn_dataset_permutation(perm, count, seed, epoch);
    for (size_t at = 0; s == CN_OK && at < count; at += batch) {
        size_t n = count - at < batch ? count - at : batch;
        cn_dataset_gather(d, perm, at, n, x);
        for (size_t i = 0; i < n; i++) labels[i] = d->labels[perm[at + i]];
        s = cn_buffer_write(rt, &cl->input, 0, x, bytes_of(n * img), e);
        if (s == CN_OK) s = forward_batch(rt, cl, n, e);
        if (s != CN_OK) break;
        loss += cn_softmax_xent(cl->logits, labels, n, cl->classes, NULL, grad) * (double)n;
        if (!isfinite(loss)) {
            s = cn_error_set(e, CN_ERR_DIVERGED, "classifier: the loss became %g in epoch %llu", loss,
                             (unsigned long long)epoch);
            break;
        }
        s = cn_buffer_write(rt, &cl->dlogits, 0, grad, bytes_of(n * (size_t)cl->classes), e);
        if (s == CN_OK) s = cn_net_backward(rt, &cl->net, n, &cl->input, &cl->dlogits, NULL, 1, e);
        if (s == CN_OK) s = cn_net_adam_step(rt, &cl->net, e);
    }
    if (s == CN_OK && mean_loss) *mean_loss = loss / (double)count;
    free(perm), free(x), free(grad), free(labels);
    return s;
}

cn_status cn_classifier_run(cn_runtime *rt, cn_classifier *cl, const float *images, size_t n, float *features,
                            float *probs, cn_error *e) {
    size_t img = cn_net_input_size(&cl->net), batch = cl->net.max_batch, k = (size_t)cl->classes;
    const cn_layer *feature_layer = cl->net.layers[cl->net.layer_count - 2];
    for (size_t at = 0; at < n; at += batch) {
        size_t m = n - at < batch ? n - at : batch;
        CN_TRY(cn_buffer_write(rt, &cl->input, 0, images + at * img, bytes_of(m * img), e));
        CN_TRY(forward_batch(rt, cl, m, e));
        if (features)
            CN_TRY(cn_buffer_read(rt, &feature_layer->out, 0, features + at * CN_CLASSIFIER_FEATURES,
                                  bytes_of(m * CN_CLASSIFIER_FEATURES), e));
        if (probs) cn_softmax_xent(cl->logits, NULL, m, (int)k, probs + at * k, NULL);
    }
    return CN_OK;
}

cn_status cn_classifier_accuracy(cn_runtime *rt, cn_classifier *cl, const cn_dataset *d, double *accuracy,
                                 cn_error *e) {
    CN_TRY(check_labels(cl, d, e));
    size_t n = (size_t)d->count, k = (size_t)cl->classes, right = 0;
    float *probs = malloc(bytes_of(n * k));
    if (!probs) return cn_error_set(e, CN_ERR_NOMEM, "classifier: out of memory for %zu predictions", n);
    cn_status s = cn_classifier_run(rt, cl, d->images, n, NULL, probs, e);
    for (size_t i = 0; s == CN_OK && i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++) best = probs[i * k + j] > probs[i * k + best] ? j : best;
        right += best == (size_t)d->labels[i];
    }
    if (s == CN_OK) *accuracy = (double)right / (double)n;
    free(probs);
    return s;
}

/* The fixed-size part of the file after the magic. */
typedef struct file_header {
    uint32_t version;
    int32_t channels, size, classes, scaling;
    uint64_t param_floats;
    double test_accuracy;
} file_header;

cn_status cn_classifier_save(cn_runtime *rt, cn_classifier *cl, const char *path, cn_error *e) {
    file_header h;
    memset(&h, 0, sizeof h); /* the padding is checksummed too */
    h.version = VERSION, h.channels = cl->config.data.channels, h.size = cl->config.data.image_size;
    h.classes = cl->classes, h.scaling = (int32_t)cl->scaling;
    h.param_floats = cl->net.param_floats, h.test_accuracy = cl->test_accuracy;
    float *params = malloc(bytes_of(cl->net.param_floats));
    if (!params) return cn_error_set(e, CN_ERR_NOMEM, "classifier %s: out of memory for the parameters", path);
    cn_status s = cn_buffer_read(rt, &cl->net.params, 0, params, bytes_of(cl->net.param_floats), e);
    cn_atomic_file f;
    if (s == CN_OK) s = cn_atomic_open(&f, path, "classifier", e);
    if (s == CN_OK) {
        uint64_t sum = cn_fnv1a(CN_FNV1A_START, MAGIC, 8);
        sum = cn_fnv1a(sum, &h, sizeof h);
        sum = cn_fnv1a(sum, params, bytes_of(cl->net.param_floats));
        cn_atomic_write(&f, MAGIC, 8);
        cn_atomic_write(&f, &h, sizeof h);
        cn_atomic_write(&f, params, bytes_of(cl->net.param_floats));
        cn_atomic_write(&f, &sum, sizeof sum);
        s = cn_atomic_commit(&f, e);
    }
    free(params);
    return s;
}

cn_status cn_classifier_load(cn_runtime *rt, const char *path, size_t max_batch, cn_classifier *cl, cn_error *e) {
    memset(cl, 0, sizeof *cl);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cn_error_set(e, CN_ERR_IO, "cannot read classifier %s: %s (make one with `coopnets_cl train-classifier`)",
                            path, strerror(errno));
    char magic[8];
    file_header h;
    float *params = NULL;
    uint64_t stored, sum;
    cn_status s = CN_OK;
    if (fread(magic, 8, 1, f) != 1 || memcmp(magic, MAGIC, 8) != 0 || fread(&h, sizeof h, 1, f) != 1)
        s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: not a classifier file", path);
    else if (h.version != VERSION)
        s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: version %u, this program reads %u", path, h.version, VERSION);
    else if (h.channels < 1 || h.channels > 4 || h.size < 4 || h.size > 4096 || h.classes < 2 || h.classes > 100000 ||
             h.param_floats > ((uint64_t)1 << 32))
        s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: corrupt header", path);
    else if (!(params = malloc(bytes_of((size_t)h.param_floats))))
        s = cn_error_set(e, CN_ERR_NOMEM, "classifier %s: out of memory", path);
    else if (fread(params, bytes_of((size_t)h.param_floats), 1, f) != 1 || fread(&stored, sizeof stored, 1, f) != 1 ||
             fgetc(f) != EOF)
        s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: truncated or too long", path);
    fclose(f);
    if (s == CN_OK) {
        sum = cn_fnv1a(CN_FNV1A_START, MAGIC, 8);
        sum = cn_fnv1a(sum, &h, sizeof h);
        sum = cn_fnv1a(sum, params, bytes_of((size_t)h.param_floats));
        if (sum != stored) s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: checksum mismatch (corrupt file)", path);
    }
    if (s == CN_OK) s = cn_classifier_create(rt, h.channels, h.size, h.classes, max_batch, 0, cl, e);
    if (s == CN_OK && cl->net.param_floats != h.param_floats) {
        s = cn_error_set(e, CN_ERR_FORMAT, "classifier %s: %llu parameters, this program's classifier has %zu", path,
                         (unsigned long long)h.param_floats, cl->net.param_floats);
        cn_classifier_free(rt, cl);
    } else if (s == CN_OK) {
        cl->scaling = (cn_scaling)h.scaling;
        cl->test_accuracy = h.test_accuracy;
        s = cn_buffer_write(rt, &cl->net.params, 0, params, bytes_of(cl->net.param_floats), e);
        if (s != CN_OK) cn_classifier_free(rt, cl);
    }
    free(params);
    return s;
}

cn_status cn_symmetric_eigen(double *a, int n, double *values, double *vectors, cn_error *e) {
    if (n < 1) return cn_error_set(e, CN_ERR_ARG, "eigen: matrix size %d", n);
    if (vectors)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) vectors[i * n + j] = i == j;
    double scale = 0;
    for (int i = 0; i < n * n; i++) scale += a[i] * a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
        if (off <= 1e-30 * scale || off == 0) {
            for (int i = 0; i < n; i++) values[i] = a[i * n + i];
            return CN_OK;
        }
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0) continue;
                /* The rotation that zeroes a[p][q] (Golub & Van Loan, sym. Schur 2×2). */
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq, a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows p, q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk, a[q * n + k] = s * apk + c * aqk;
                }
                if (vectors)
                    for (int k = 0; k < n; k++) {
                        double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
                        vectors[k * n + p] = c * vkp - s * vkq, vectors[k * n + q] = s * vkp + c * vkq;
                    }
            }
    }
    return cn_error_set(e, CN_ERR_DIVERGED, "eigen: Jacobi did not converge in 100 sweeps (%dx%d)", n, n);
}

/* Mean [dim] and covariance [dim][dim] (1/(n-1)) of n rows. */
static void moments(const float *x, size_t n, int dim, double *mean, double *cov) {
    for (int j = 0; j < dim; j++) {
        mean[j] = 0;
        for (size_t i = 0; i < n; i++) mean[j] += x[i * dim + j];
        mean[j] /= (double)n;
    }
    memset(cov, 0, sizeof(double) * dim * dim);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++) {
            double dj = x[i * dim + j] - mean[j];
            for (int k = j; k < dim; k++) cov[j * dim + k] += dj * (x[i * dim + k] - mean[k]);
        }
    for (int j = 0; j < dim; j++)
        for (int k = j; k < dim; k++) cov[k * dim + j] = cov[j * dim + k] /= (double)(n - 1);
}

/* out = a · b for dim × dim matrices. */
static void matmul(const double *a, const double *b, double *out, int dim) {
    for (int i = 0; i < dim; i++)
        for (int j = 0; j < dim; j++) {
            double s = 0;
            for (int k = 0; k < dim; k++) s += a[i * dim + k] * b[k * dim + j];
            out[i * dim + j] = s;
        }
}

cn_status cn_frechet_distance(const float *a, size_t na, const float *b, size_t nb, int dim, double *fd,
                              cn_error *e) {
    if (na < 2 || nb < 2 || dim < 1)
        return cn_error_set(e, CN_ERR_ARG, "Fréchet distance: needs two sets of >= 2 rows (got %zu and %zu)", na, nb);
    size_t d2 = (size_t)dim * dim;
    double *mem = malloc(sizeof(double) * (2 * dim + 5 * d2 + dim));
    if (!mem) return cn_error_set(e, CN_ERR_NOMEM, "Fréchet distance: out of memory for %d dims", dim);
    double *ma = mem, *mb = ma + dim, *sa = mb + dim, *sb = sa + d2, *v = sb + d2, *t1 = v + d2, *t2 = t1 + d2,
           *lambda = t2 + d2;
    moments(a, na, dim, ma, sa);
    moments(b, nb, dim, mb, sb);
    double dist = 0;
    for (int j = 0; j < dim; j++) dist += (ma[j] - mb[j]) * (ma[j] - mb[j]) + sa[j * dim + j] + sb[j * dim + j];
    /* Sa^½ = V diag(√λ) Vᵀ (negative round-off eigenvalues clamped), then tr (Sa^½ Sb Sa^½)^½ = Σ √eig. */
    memcpy(t1, sa, sizeof(double) * d2);
    cn_status s = cn_symmetric_eigen(t1, dim, lambda, v, e);
    if (s == CN_OK) {
        for (int i = 0; i < dim; i++)
            for (int j = 0; j < dim; j++) t1[i * dim + j] = v[i * dim + j] * sqrt(fmax(lambda[j], 0));
        for (int i = 0; i < dim; i++)
            for (int j = 0; j < dim; j++) {
                double x = 0;
                for (int k = 0; k < dim; k++) x += t1[i * dim + k] * v[j * dim + k];
                t2[i * dim + j] = x;
            }
        matmul(t2, sb, t1, dim);
        matmul(t1, t2, sa, dim); /* sa is no longer needed */
        for (int i = 0; i < dim; i++) /* symmetrise the round-off */
            for (int j = i + 1; j < dim; j++) sa[i * dim + j] = sa[j * dim + i] = 0.5 * (sa[i * dim + j] + sa[j * dim + i]);
        s = cn_symmetric_eigen(sa, dim, lambda, NULL, e);
    }
    if (s == CN_OK) {
        for (int j = 0; j < dim; j++) dist -= 2 * sqrt(fmax(lambda[j], 0));
        *fd = fmax(dist, 0);
    }
    free(mem);
    return s;
}

double cn_inception_score(const float *probs, size_t n, int k) {
    double *marginal = calloc((size_t)k, sizeof *marginal), kl = 0;
    if (!marginal || n == 0) {
        free(marginal);
        return NAN;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) marginal[j] += probs[i * k + j] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            double p = probs[i * k + j];
            if (p > 0) kl += p * (log(p) - log(marginal[j]));
        }
    free(marginal);
    return exp(kl / (double)n);
}

cn_status cn_descriptor_mean_f(cn_runtime *rt, cn_coop *coop, const float *images, size_t n, double *mean,
                               cn_error *e) {
    cn_net *d = &coop->descriptor;
    if (!d->layer_count)
        return cn_error_set(e, CN_ERR_ARG, "this model was trained in mode \"%s\" (%s): it has no descriptor",
                            cn_mode_name(coop->config.mode), coop->config.source);
    size_t batch = d->max_batch, img = coop->image_floats, outs = cn_net_output_size(d);
    float *f = malloc(bytes_of(batch * outs));
    if (!f) return cn_error_set(e, CN_ERR_NOMEM, "descriptor score: out of memory");
    double sum = 0;
    cn_status s = CN_OK;
    for (size_t at = 0; s == CN_OK && at < n; at += batch) {
        size_t m = n - at < batch ? n - at : batch;
        s = cn_buffer_write(rt, &coop->images, 0, images + at * img, bytes_of(m * img), e);
        if (s == CN_OK) s = cn_net_forward(rt, d, m, &coop->images, e);
        if (s == CN_OK) s = cn_buffer_read(rt, cn_net_output(d), 0, f, bytes_of(m * outs), e);
        for (size_t i = 0; s == CN_OK && i < m * outs; i++) sum += f[i];
    }
    if (s == CN_OK) *mean = n ? sum / (double)n : NAN;
    free(f);
    return s;
}

cn_status cn_idx_split_paths(const char *train_images, char *train_labels, char *test_images, char *test_labels,
                             cn_error *e) {
    const char *base = strrchr(train_images, '/');
    base = base ? base + 1 : train_images;
    const char *kind = strstr(base, "images-idx3");
    size_t len = strlen(train_images);
    if (strncmp(base, "train-", 6) != 0 || !kind || len >= CN_PATH_MAX)
        return cn_error_set(e, CN_ERR_ARG,
                            "data %s: expected an IDX training images file named train-*images-idx3* (its labels "
                            "and t10k- test split are found by name)",
                            train_images);
    int dir = (int)(base - train_images), pre = (int)(kind - base);
    snprintf(train_labels, CN_PATH_MAX, "%.*slabels-idx1%s", dir + pre, train_images, kind + 11);
    snprintf(test_images, CN_PATH_MAX, "%.*st10k-%s", dir, train_images, base + 6);
    snprintf(test_labels, CN_PATH_MAX, "%.*st10k-%.*slabels-idx1%s", dir, train_images, pre - 6, base + 6, kind + 11);
    return CN_OK;
}

cn_status cn_idx_dataset_load(const char *images, const char *labels, int size, int channels, cn_scaling scaling,
                              int limit, cn_dataset *out, cn_error *e) {
    cn_data_config d = {.kind = CN_DATA_IDX, .image_size = size, .channels = channels, .scaling = scaling,
                        .limit = limit};
    snprintf(d.path, sizeof d.path, "%s", images);
    if (labels) snprintf(d.labels_path, sizeof d.labels_path, "%s", labels);
    return cn_dataset_load(&d, 0, out, e);
}

void cn_classifier_default_path(const cn_runtime *rt, const char *train_images, char *out, size_t size) {
    const char *slash = strrchr(train_images, '/'), *dir = train_images;
    int len = slash ? (int)(slash - train_images) : 0;
    for (const char *p = train_images; slash && p < slash; p++)
        if (*p == '/') dir = p + 1;
    if (!rt->cache_dir[0]) out[0] = 0;
    else if (len == 0) snprintf(out, size, "%s/classifier.cncl", rt->cache_dir);
    else snprintf(out, size, "%s/classifier-%.*s.cncl", rt->cache_dir, (int)(slash - dir), dir);
}

/* ---- a model's evaluation --------------------------------------------------------------------- */

/* The probability rows hold this many classes. */
#define MAX_CLASSES 64

/* One image set's classifier outputs. */
typedef struct scored {
    const float *images; /* NULL: the model cannot make this set */
    float *features, *probs;
} scored;

/* The classifier fits the images scored (a model's: its data section). */
static cn_status check_classifier(const cn_classifier *cl, const cn_data_config *d, const char *path, cn_error *e) {
    if (cl->classes > MAX_CLASSES)
        return cn_error_set(e, CN_ERR_ARG, "classifier %s has %d classes, at most %d are scored", path, cl->classes,
                            MAX_CLASSES);
    if (cl->config.data.channels != d->channels || cl->config.data.image_size != d->image_size)
        return cn_error_set(e, CN_ERR_ARG,
                            "classifier %s takes %dx%d images with %d channel(s), the model makes %dx%d with %d", path,
                            cl->config.data.image_size, cl->config.data.image_size, cl->config.data.channels,
                            d->image_size, d->image_size, d->channels);
    return CN_OK;
}

/* A sample file, read whole; `want` images at least (0: any number). */
static cn_status read_sample_file(const char *path, size_t want, cn_idx *x, cn_error *e) {
    CN_TRY(cn_idx_read(path, x, e));
    if (x->ndims != 3 && x->ndims != 4)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "samples %s: an IDX file of %d dimension(s); images need count x height x width [x channels]",
                            path, x->ndims);
    if ((size_t)x->dims[0] < want)
        return cn_error_set(e, CN_ERR_FORMAT, "samples %s: %d images, fewer than the %zu to score (--count)", path,
                            x->dims[0], want);
    return CN_OK;
}

/* The first n images of a sample file, which has the shape the classifier takes, as the data set
 * loader makes them: float32 as they are, unsigned bytes scaled as the real images. */
static cn_status sample_file_images(const char *path, const cn_idx *x, const cn_data_config *shape, size_t n,
                                    cn_dataset *out, cn_error *e) {
    int channels = x->ndims == 4 ? x->dims[3] : 1;
    if (x->dims[1] != shape->image_size || x->dims[2] != shape->image_size || channels != shape->channels)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "samples %s: images are %dx%d with %d channel(s), the classifier takes %dx%d with %d", path,
                            x->dims[1], x->dims[2], channels, shape->image_size, shape->image_size, shape->channels);
    cn_data_config c = *shape;
    snprintf(c.path, sizeof c.path, "%s", path);
    c.labels_path[0] = 0;
    c.limit = (int)n;
    return cn_dataset_from_idx(&c, x, NULL, out, e);
}

/* <prefix>-generated.idx and <prefix>-revised.idx (NULL sets are skipped). */
static cn_status write_samples(const char *prefix, const float *gen, const float *rev, size_t n,
                               const cn_data_config *d, cn_error *e) {
    const char *names[] = {"generated", "revised"};
    const float *sets[] = {gen, rev};
    char path[CN_PATH_MAX + 16];
    for (int k = 0; k < 2; k++) {
        if (!sets[k]) continue;
        snprintf(path, sizeof path, "%s-%s.idx", prefix, names[k]);
        CN_TRY(cn_idx_write_floats(path, sets[k], (int)n, d->channels, d->image_size, d->image_size, e));
    }
    return CN_OK;
}

cn_status cn_evaluate_run(cn_runtime *rt, cn_coop *coop, const cn_evaluate_options *o, cn_evaluation *ev,
                          cn_error *e) {
    memset(ev, 0, sizeof *ev);
    cn_dataset train = {0}, test = {0}, files[2] = {{0}, {0}};
    cn_idx raw[2] = {{0}, {0}};
    cn_classifier cl = {0};
    float *samples = NULL, *mem = NULL;
    const char *sample_files[2] = {o->generated_file, o->revised_file};
    char train_labels[CN_PATH_MAX], test_labels[CN_PATH_MAX];
    size_t n = o->count, per_set = CN_CLASSIFIER_FEATURES + MAX_CLASSES;
    cn_status s = coop || o->generated_file ? CN_OK
                                            : cn_error_set(e, CN_ERR_ARG, "evaluate: neither a model nor sample files");
    if (s == CN_OK) s = cn_idx_split_paths(o->train_images, train_labels, ev->test_images, test_labels, e);
    for (int k = 0; k < 2 && s == CN_OK && !coop; k++) {
        if (!sample_files[k]) continue;
        s = read_sample_file(sample_files[k], n, &raw[k], e);
        if (s == CN_OK && !n) n = (size_t)raw[k].dims[0];
    }
    if (s == CN_OK && n < 2) s = cn_error_set(e, CN_ERR_ARG, "evaluate: %zu images to score, at least 2 are needed", n);
    if (s != CN_OK) goto end;
    if (o->classifier) snprintf(ev->classifier, sizeof ev->classifier, "%s", o->classifier);
    else cn_classifier_default_path(rt, o->train_images, ev->classifier, sizeof ev->classifier);
    if ((s = cn_classifier_load(rt, ev->classifier, n < CN_CLASSIFIER_BATCH ? n : CN_CLASSIFIER_BATCH, &cl, e)) != CN_OK)
        goto end;
    /* The images' shape and scaling: the model's own, or for sample files the classifier's. */
    cn_data_config shape = coop ? coop->config.data : cl.config.data;
    if (!coop) shape.scaling = cl.scaling;
    if ((s = check_classifier(&cl, &shape, ev->classifier, e)) != CN_OK) goto end;
    /* Real images scaled as the model saw its own; the first n of each split. */
    s = cn_idx_dataset_load(ev->test_images, NULL, shape.image_size, shape.channels, shape.scaling, (int)n, &test, e);
    if (s == CN_OK)
        s = cn_idx_dataset_load(o->train_images, NULL, shape.image_size, shape.channels, shape.scaling, (int)n, &train,
                                e);
    if (s != CN_OK) goto end;
    n = ev->count = (size_t)(test.count < train.count ? test.count : train.count);
    for (int k = 0; k < 2 && s == CN_OK; k++)
        if (raw[k].data) s = sample_file_images(sample_files[k], &raw[k], &shape, n, &files[k], e);
    size_t img = (size_t)shape.channels * (size_t)shape.image_size * (size_t)shape.image_size;
    if (s == CN_OK && !(mem = malloc(bytes_of(4 * n * per_set))))
        s = cn_error_set(e, CN_ERR_NOMEM, "out of memory for the features of %zu images", n);
    if (s != CN_OK) goto end;
    ev->classifier_test_accuracy = cl.test_accuracy;
    if (o->on_loaded) o->on_loaded(o->user, ev);
    const float *gen = files[0].images, *rev = files[1].images;
    ev->has_generated = gen != NULL, ev->has_revised = rev != NULL;
    if (coop) {
        int steps = o->revision_steps > 0 ? o->revision_steps : coop->config.descriptor.langevin_steps;
        ev->has_descriptor = coop->descriptor.layer_count > 0;
        ev->has_generated = coop->generator.layer_count > 0;
        ev->has_revised = ev->has_descriptor && ev->has_generated && steps > 0;
        ev->revision_steps = ev->has_revised ? steps : 0;
        if (ev->has_generated && !(samples = malloc(bytes_of(2 * n * img))))
            s = cn_error_set(e, CN_ERR_NOMEM, "out of memory for %zu samples", n);
        float *revised = ev->has_revised ? samples + n * img : NULL;
        gen = ev->has_generated ? samples : NULL, rev = revised;
        if (s == CN_OK && gen) s = cn_coop_sample(rt, coop, o->seed, n, steps, samples, revised, e);
        if (s == CN_OK && gen && o->samples_prefix) s = write_samples(o->samples_prefix, gen, rev, n, &shape, e);
    }
    if (ev->has_descriptor) {
        double *f[] = {&ev->f_observed, &ev->f_generated, &ev->f_revised};
        const float *images[] = {test.images, gen, rev};
        for (int k = 0; k < 3 && s == CN_OK; k++)
            if (images[k]) s = cn_descriptor_mean_f(rt, coop, images[k], n, f[k], e);
    }
    if (s != CN_OK) goto end;
    /* Real test and train images first: the floor every score is read against. */
    scored sets[] = {{test.images, 0, 0}, {train.images, 0, 0}, {gen, 0, 0}, {rev, 0, 0}};
    for (int k = 0; k < 4 && s == CN_OK; k++) {
        sets[k].features = mem + (size_t)k * n * per_set;
        sets[k].probs = sets[k].features + n * CN_CLASSIFIER_FEATURES;
        if (sets[k].images) s = cn_classifier_run(rt, &cl, sets[k].images, n, sets[k].features, sets[k].probs, e);
    }
    if (s == CN_OK)
        s = cn_frechet_distance(sets[1].features, n, sets[0].features, n, CN_CLASSIFIER_FEATURES,
                                &ev->fd_train_vs_test, e);
    if (s != CN_OK) goto end;
    ev->is_test = cn_inception_score(sets[0].probs, n, cl.classes);
    ev->is_train = cn_inception_score(sets[1].probs, n, cl.classes);
    double *fd[] = {&ev->fd_generated, &ev->fd_revised}, *is[] = {&ev->is_generated, &ev->is_revised};
    for (int k = 2; k < 4 && s == CN_OK; k++) {
        if (!sets[k].images) continue;
        *is[k - 2] = cn_inception_score(sets[k].probs, n, cl.classes);
        s = cn_frechet_distance(sets[k].features, n, sets[0].features, n, CN_CLASSIFIER_FEATURES, fd[k - 2], e);
    }
end:
    free(samples), free(mem);
    for (int k = 0; k < 2; k++) cn_idx_free(&raw[k]), cn_dataset_free(&files[k]);
    cn_classifier_free(rt, &cl);
    cn_dataset_free(&train);
    cn_dataset_free(&test);
    return s;
}
