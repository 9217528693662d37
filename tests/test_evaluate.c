/* Evaluation: softmax cross-entropy against a double reference, the Jacobi eigen solver on known
 * matrices, Fréchet distance on sets with known answers, the Inception-style score's bounds, the
 * classifier learning the tiny config's 3 synthetic shapes, its file round trip and bad files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cn_test.h"
#include "coopnets/cn_evaluate.h"

static void test_softmax(void) {
    cn_test_rng r = {7};
    enum { N = 5, K = 4 };
    float z[N * K], p[N * K], g[N * K];
    int labels[N] = {0, 3, 1, 2, 3};
    cn_test_fill_uniform(&r, z, N * K, -4, 4);
    double loss = cn_softmax_xent(z, labels, N, K, p, g);
    double want_loss = 0, want_p[N * K], want_g[N * K];
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < K; j++) sum += exp((double)z[i * K + j]);
        want_loss += (log(sum) - z[i * K + labels[i]]) / N;
        for (int j = 0; j < K; j++) {
            want_p[i * K + j] = exp((double)z[i * K + j]) / sum;
            want_g[i * K + j] = (want_p[i * K + j] - (labels[i] == j)) / N;
        }
    }
    CHECK(fabs(loss - want_loss) < 1e-9, "softmax loss %.12f, want %.12f", loss, want_loss);
    cn_test_close("softmax probabilities", p, want_p, N * K, 1e-6, 1e-7);
    cn_test_close("softmax gradient", g, want_g, N * K, 1e-6, 1e-7);
    /* the gradient is the derivative of the loss: central difference on one logit */
    float zp[N * K];
    memcpy(zp, z, sizeof z);
    zp[6] += 1e-2f;
    double up = cn_softmax_xent(zp, labels, N, K, NULL, NULL);
    zp[6] -= 2e-2f;
    double down = cn_softmax_xent(zp, labels, N, K, NULL, NULL);
    CHECK(fabs((up - down) / 2e-2 - g[6]) < 1e-4, "finite difference %g vs gradient %g", (up - down) / 2e-2, g[6]);
    /* large logits do not overflow */
    float big[2] = {1000, -1000};
    int l0 = 0;
    CHECK(fabs(cn_softmax_xent(big, &l0, 1, 2, NULL, NULL)) < 1e-9, "softmax of large logits overflows");
}

static void test_eigen(void) {
    double a[4] = {2, 1, 1, 2}, v[4], values[2];
    CHECK_OK(cn_symmetric_eigen(a, 2, values, v, TE));
    double lo = fmin(values[0], values[1]), hi = fmax(values[0], values[1]);
    CHECK(fabs(lo - 1) < 1e-12 && fabs(hi - 3) < 1e-12, "eigenvalues of [[2,1],[1,2]]: %g %g, want 1 3", lo, hi);
    /* A random symmetric 40×40 matrix: V Λ Vᵀ gives it back and V is orthogonal. */
    enum { N = 40 };
    static double m[N * N], work[N * N], vec[N * N], lam[N];
    cn_test_rng r = {11};
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) m[i * N + j] = m[j * N + i] = cn_test_uniform(&r, -1, 1);
    memcpy(work, m, sizeof m);
    CHECK_OK(cn_symmetric_eigen(work, N, lam, vec, TE));
    double err = 0, orth = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double x = 0, o = 0;
            for (int k = 0; k < N; k++) x += vec[i * N + k] * lam[k] * vec[j * N + k], o += vec[k * N + i] * vec[k * N + j];
            err = fmax(err, fabs(x - m[i * N + j]));
            orth = fmax(orth, fabs(o - (i == j)));
        }
    CHECK(err < 1e-10 && orth < 1e-10, "V L V^T off by %g, V^T V off by %g", err, orth);
    CHECK(cn_symmetric_eigen(work, 0, lam, NULL, TE) == CN_ERR_ARG, "a 0x0 matrix is refused");
}

static void test_frechet(void) {
    enum { N = 500, D = 16 };
    static float a[N * D], b[N * D];
    cn_test_rng r = {3};
    cn_test_fill_uniform(&r, a, N * D, -1, 1);
    double fd = -1;
    CHECK_OK(cn_frechet_distance(a, N, a, N, D, &fd, TE));
    CHECK(fd >= 0 && fd < 1e-8, "FD of identical sets %g, want ~0", fd);
    /* shifted by c: only the mean term remains, |c|² */
    double shift2 = 0;
    for (int j = 0; j < D; j++) shift2 += (0.1 * j) * (0.1 * j);
    for (int i = 0; i < N * D; i++) b[i] = a[i] + 0.1f * (float)(i % D);
    CHECK_OK(cn_frechet_distance(a, N, b, N, D, &fd, TE));
    CHECK(fabs(fd - shift2) < 1e-4 * shift2, "FD of shifted sets %.8g, want %.8g", fd, shift2);
    /* scaled by 2 about the mean: tr(S + 4S − 2·2S) = tr S */
    double mean[D] = {0}, trace = 0;
    for (int i = 0; i < N * D; i++) mean[i % D] += a[i] / (double)N;
    for (int i = 0; i < N * D; i++) b[i] = (float)(mean[i % D] + 2 * (a[i] - mean[i % D]));
    for (int j = 0; j < D; j++) {
        double s = 0;
        for (int i = 0; i < N; i++) s += (a[i * D + j] - mean[j]) * (a[i * D + j] - mean[j]);
        trace += s / (N - 1);
    }
    CHECK_OK(cn_frechet_distance(a, N, b, N, D, &fd, TE));
    CHECK(fabs(fd - trace) < 1e-4 * trace, "FD of a set and its 2x scaled copy %.8g, want tr S = %.8g", fd, trace);
    CHECK(cn_frechet_distance(a, 1, b, N, D, &fd, TE) == CN_ERR_ARG, "FD of one row is refused");
}

static void test_inception_score(void) {
    enum { N = 30, K = 3 };
    float p[N * K];
    for (int i = 0; i < N * K; i++) p[i] = 1.0f / K;
    double is = cn_inception_score(p, N, K);
    CHECK(fabs(is - 1) < 1e-9, "IS of uniform predictions %g, want 1", is);
    for (int i = 0; i < N * K; i++) p[i] = i % K == (i / K) % K; /* confident, classes balanced */
    is = cn_inception_score(p, N, K);
    CHECK(fabs(is - K) < 1e-9, "IS of confident balanced predictions %g, want %d", is, K);
}

static void test_split_paths(void) {
    char tl[CN_PATH_MAX], ti[CN_PATH_MAX], tt[CN_PATH_MAX];
    CHECK_OK(cn_idx_split_paths("/d/fm/train-images-idx3-ubyte.gz", tl, ti, tt, TE));
    CHECK(strcmp(tl, "/d/fm/train-labels-idx1-ubyte.gz") == 0, "train labels %s", tl);
    CHECK(strcmp(ti, "/d/fm/t10k-images-idx3-ubyte.gz") == 0, "test images %s", ti);
    CHECK(strcmp(tt, "/d/fm/t10k-labels-idx1-ubyte.gz") == 0, "test labels %s", tt);
    CHECK(cn_idx_split_paths("/d/fm/images.png", tl, ti, tt, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "images.png"),
          "a name without train-/images-idx3 is refused, naming it: %s", cn_test_error.message);
}

/* The tiny config's synthetic shapes (discs, squares, stripes): learnt in a few epochs; a saved
 * classifier gives the same predictions; bad files and bad labels are refused in words. */
static void test_classifier(cn_runtime *rt) {
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    cn_dataset train, test;
    CHECK_OK(cn_dataset_load(&c.data, c.seed + 1, &test, TE));
    c.data.limit = 2048; /* 256 shapes are too few: the net overfits them (~72% held out) */
    CHECK_OK(cn_dataset_load(&c.data, c.seed, &train, TE));
    CHECK(train.num_classes == 3, "synthetic data has %d classes, want 3", train.num_classes);
    cn_classifier cl;
    CHECK_OK(cn_classifier_create(rt, 1, c.data.image_size, 3, 32, 5, &cl, TE));
    double loss = 0, first = 0, acc = 0;
    for (int ep = 0; ep < 12; ep++) {
        CHECK_OK(cn_classifier_train_epoch(rt, &cl, &train, 5, (uint64_t)ep, &loss, TE));
        if (ep == 0) first = loss;
    }
    CHECK_OK(cn_classifier_accuracy(rt, &cl, &test, &acc, TE));
    printf("classifier on synthetic shapes: loss %.3f -> %.3f, held-out accuracy %.1f%%\n", first, loss, 100 * acc);
    CHECK(loss < first && acc >= 0.9, "loss %.3f -> %.3f, accuracy %.3f (want >= 0.9)", first, loss, acc);

    char path[64];
    snprintf(path, sizeof path, "/tmp/test_evaluate.%ld.cncl", (long)getpid());
    cl.test_accuracy = acc;
    CHECK_OK(cn_classifier_save(rt, &cl, path, TE));
    cn_classifier back;
    CHECK_OK(cn_classifier_load(rt, path, 16, &back, TE));
    size_t n = 40;
    float *p1 = malloc(n * 3 * sizeof(float)), *p2 = malloc(n * 3 * sizeof(float));
    float *f1 = malloc(n * CN_CLASSIFIER_FEATURES * sizeof(float)), *f2 = malloc(n * CN_CLASSIFIER_FEATURES * sizeof(float));
    CHECK_OK(cn_classifier_run(rt, &cl, test.images, n, f1, p1, TE));
    CHECK_OK(cn_classifier_run(rt, &back, test.images, n, f2, p2, TE));
    CHECK(memcmp(p1, p2, n * 3 * sizeof(float)) == 0 && memcmp(f1, f2, n * CN_CLASSIFIER_FEATURES * sizeof(float)) == 0,
          "a loaded classifier (other batch size) predicts differently");
    CHECK(back.test_accuracy == acc, "stored accuracy %g, want %g", back.test_accuracy, acc);
    cn_classifier_free(rt, &back);

    /* one flipped byte: checksum; cut short: truncated; missing: names the command that makes one */
    cn_test_flip_byte(path, 100, 1);
    CHECK(cn_classifier_load(rt, path, 16, &back, TE) == CN_ERR_FORMAT && strstr(cn_test_error.message, "checksum"),
          "a corrupt classifier is refused: %s", cn_test_error.message);
    CHECK(truncate(path, 50) == 0, "truncate");
    CHECK(cn_classifier_load(rt, path, 16, &back, TE) == CN_ERR_FORMAT && strstr(cn_test_error.message, "truncated"),
          "a truncated classifier is refused: %s", cn_test_error.message);
    remove(path);
    CHECK(cn_classifier_load(rt, path, 16, &back, TE) == CN_ERR_IO &&
              strstr(cn_test_error.message, "train-classifier"),
          "a missing classifier says how to make one: %s", cn_test_error.message);

    test.labels[3] = 7;
    CHECK(cn_classifier_accuracy(rt, &cl, &test, &acc, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "label 7"),
          "a label outside the classes is refused: %s", cn_test_error.message);
    free(test.labels), test.labels = NULL;
    CHECK(cn_classifier_train_epoch(rt, &cl, &test, 1, 0, &loss, TE) == CN_ERR_ARG,
          "an unlabelled set is refused: %s", cn_test_error.message);
    free(p1), free(p2), free(f1), free(f2);
    cn_classifier_free(rt, &cl);
    cn_dataset_free(&train);
    cn_dataset_free(&test);
}

int main(void) {
    test_softmax();
    test_eigen();
    test_frechet();
    test_inception_score();
    test_split_paths();
    test_classifier(cn_test_runtime());
    return cn_test_finish();
}
