/* cn_gemm against a host double-precision product, for both backends and our kernels' variants
 * (register tiles of several sizes, local-memory tiles, packed panels; see check_own_variants for
 * which run where): the four transpose combinations, odd sizes (1, smaller than a tile, tiles plus
 * edges, whole tiles), batches with offsets, padded leading dimensions and gaps between products,
 * alpha and beta; beta = 0 must not read C; what lies outside C must stay untouched; bad arguments
 * are refused in words; AUTO measures once and then reads its record. The packed variant also
 * gathers a conv's matrices where they lie (check_gathered). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/cn_test.h"
#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_tuning.h"

typedef struct {
    int trans_a, trans_b;
    size_t m, n, k, batch;
    float alpha, beta;
    size_t pad;      /* added to every leading dimension, and between the products of a batch */
    size_t offset;   /* of each matrix's first element in its buffer */
} gemm_case;

static size_t stored_rows(int trans, size_t rows, size_t cols) { return trans ? cols : rows; }
static size_t stored_cols(int trans, size_t rows, size_t cols) { return trans ? rows : cols; }

static void run_case(cn_runtime *rt, const gemm_case *t, cn_test_rng *rng) {
    const size_t batch = t->batch ? t->batch : 1;
    const size_t ar = stored_rows(t->trans_a, t->m, t->k), ac = stored_cols(t->trans_a, t->m, t->k);
    const size_t br = stored_rows(t->trans_b, t->k, t->n), bc = stored_cols(t->trans_b, t->k, t->n);
    cn_gemm_args g = {.trans_a = t->trans_a, .trans_b = t->trans_b, .m = t->m, .n = t->n, .k = t->k,
                      .alpha = t->alpha, .beta = t->beta, .batch = t->batch,
                      .a_offset = t->offset, .lda = ac + t->pad, .b_offset = t->offset + 1, .ldb = bc + t->pad,
                      .c_offset = t->offset + 2, .ldc = t->n + t->pad};
    g.a_stride = ar * g.lda + t->pad;
    g.b_stride = br * g.ldb + t->pad;
    g.c_stride = t->m * g.ldc + t->pad;
    const size_t na = g.a_offset + batch * g.a_stride, nb = g.b_offset + batch * g.b_stride,
                 nc = g.c_offset + batch * g.c_stride;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c0 = malloc(nc * sizeof *c0),
          *c = malloc(nc * sizeof *c);
    double *want = malloc(nc * sizeof *want);
    cn_test_fill_uniform(rng, a, na, -1, 1);
    cn_test_fill_uniform(rng, b, nb, -1, 1);
    cn_test_fill_uniform(rng, c0, nc, -1, 1);
    if (t->beta == 0.0f) /* beta = 0 must not read C: NaN there would leak into the result */
        for (size_t i = 0; i < nc; i++) c0[i] = NAN;
    /* The reference starts from C as it is, so untouched places (padding, gaps) compare equal. */
    for (size_t i = 0; i < nc; i++) want[i] = c0[i];
    for (size_t p = 0; p < batch; p++)
        for (size_t i = 0; i < t->m; i++)
            for (size_t j = 0; j < t->n; j++) {
                double s = 0;
                for (size_t q = 0; q < t->k; q++) {
                    double av = t->trans_a ? a[g.a_offset + p * g.a_stride + q * g.lda + i]
                                           : a[g.a_offset + p * g.a_stride + i * g.lda + q];
                    double bv = t->trans_b ? b[g.b_offset + p * g.b_stride + j * g.ldb + q]
                                           : b[g.b_offset + p * g.b_stride + q * g.ldb + j];
                    s += av * bv;
                }
                double *w = &want[g.c_offset + p * g.c_stride + i * g.ldc + j];
                *w = t->alpha * s + (t->beta != 0.0f ? t->beta * *w : 0.0);
            }
    cn_buffer da, db, dc;
    cn_test_upload(rt, &da, a, na, "A");
    cn_test_upload(rt, &db, b, nb, "B");
    cn_test_upload(rt, &dc, c0, nc, "C");
    g.a = &da;
    g.b = &db;
    g.c = &dc;
    CHECK_OK(cn_gemm(rt, &g, TE));
    cn_test_download(rt, &dc, c, nc);
    /* NaN where the reference has NaN (untouched C with beta = 0) is the expected value. */
    for (size_t i = 0; i < nc; i++)
        if (isnan(want[i]) && isnan(c[i])) want[i] = c[i] = 0;
    /* Tolerance: float sums of k products of values in [-1, 1] carry a relative error that grows
     * like sqrt(k) * 2^-24; 1e-5 covers k <= 100 with a wide margin and grows with sqrt(k/100). The
     * entries are sums of k products of size ~1/3, so the largest error is bounded per sqrt(k). */
    const double growth = t->k > 100 ? sqrt(t->k / 100.0) : 1.0;
    char what[160];
    snprintf(what, sizeof what, "%s%s %zux%zux%zu batch %zu a%.2g b%.2g pad %zu", t->trans_a ? "T" : "N",
             t->trans_b ? "T" : "N", t->m, t->n, t->k, batch, t->alpha, t->beta, t->pad);
    cn_test_close(what, c, want, nc, 1e-5 * growth, 4e-6 * growth * sqrt((double)t->k + 1));
    cn_buffer_free(rt, &da);
    cn_buffer_free(rt, &db);
    cn_buffer_free(rt, &dc);
    free(a), free(b), free(c0), free(c), free(want);
}

/* CN_TEST_QUICK=1 (the Oclgrind test, where every work-item is interpreted but nothing is
 * compiled to machine code): small cases, every variant of our kernels. */
static int quick;

/* Every case (full), or the small ones that still reach each edge; every transpose combination. */
static void check_backend(cn_runtime *rt, cn_gemm_backend backend, int full) {
    char variant[96];
    cn_tuning_describe(rt, CN_TUNED_GEMM, variant, sizeof variant);
    printf("backend %s, variant %s: %s, every transpose combination against the host double product\n",
           cn_gemm_backend_name(backend), variant, full ? "every case" : "small cases");
    CHECK_OK(cn_gemm_select(rt, backend, TE));
    CHECK(cn_gemm_backend_in_use(rt) == backend, "backend in use is %s",
          cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    cn_test_rng rng = {42};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const gemm_case cases[] = {
                {ta, tb, 1, 1, 1, 1, 1.0f, 0.0f, 0, 0},          /* the smallest */
                {ta, tb, 7, 19, 5, 1, 1.0f, 0.0f, 0, 3},         /* under a tile, one edge tile */
                {ta, tb, 24, 32, 64, 1, 1.0f, 0.0f, 0, 0},       /* whole tiles only */
                {ta, tb, 37, 53, 129, 1, 0.5f, 1.0f, 0, 0},      /* tiles plus both edges, accumulate; m < n */
                {ta, tb, 13, 21, 17, 3, 0.75f, -0.5f, 5, 7},     /* batch with padding, offsets, gaps */
                {ta, tb, 9, 17, 1001, 2, 1.0f, 0.0f, 2, 1},      /* a long reduction */
                {ta, tb, 41, 23, 600, 1, -1.25f, 0.25f, 1, 0},   /* m > n (tiles walk columns first), K in 2 blocks */
                {ta, tb, 9, 6, 8229, 1, 0.5f, 1.0f, 3, 2},       /* long K: NT packed splits it in parts (gemm.c) */
                {ta, tb, 5, 3, 0, 1, 1.0f, 2.0f, 0, 0},          /* k = 0: C = beta C */
            };
            const gemm_case quick_cases[] = {
                {ta, tb, 7, 19, 5, 1, 1.0f, 0.0f, 0, 3},         /* under a tile, one edge tile */
                {ta, tb, 20, 35, 24, 1, 0.5f, 1.0f, 0, 0},       /* whole tiles and both edges, accumulate */
                {ta, tb, 5, 6, 7, 2, 0.75f, -0.5f, 5, 7},        /* batch with padding, offsets, gaps */
                {ta, tb, 5, 3, 0, 1, 1.0f, 2.0f, 0, 0},          /* k = 0: C = beta C */
            };
            const gemm_case *list = full ? cases : quick_cases;
            const size_t count = full ? sizeof cases / sizeof *cases : sizeof quick_cases / sizeof *quick_cases;
            for (size_t i = 0; i < count; i++) run_case(rt, &list[i], &rng);
        }
    /* Long K, NT only (the packed variant splits it in parts, gemm.c): small enough for the
     * simulator, where the full run's 9x6x8229 cases would take minutes. */
    if (!full) run_case(rt, &(gemm_case){0, 1, 2, 3, 8200, 1, 0.5f, 1.0f, 1, 2}, &rng);
}

static void check_refusals(cn_runtime *rt) {
    printf("bad arguments are refused before anything runs\n");
    cn_buffer a, b, c;
    float zeros[64] = {0};
    cn_test_upload(rt, &a, zeros, 64, "A");
    cn_test_upload(rt, &b, zeros, 64, "B");
    cn_test_upload(rt, &c, zeros, 64, "C");
    const cn_gemm_args ok = {.m = 8, .n = 8, .k = 8, .alpha = 1, .a = &a, .lda = 8,
                             .b = &b, .ldb = 8, .c = &c, .ldc = 8};
    CHECK_OK(cn_gemm(rt, &ok, TE));
    cn_gemm_args g = ok;
    g.lda = 7;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "leading dimension of A"),
          "lda < k must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g = ok;
    g.c_offset = 1;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "its buffer holds 64"),
          "C past its buffer must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g = ok;
    g.m = g.n = g.k = 2;
    g.batch = 2;
    g.a_stride = g.b_stride = 0;
    g.c_stride = 8; /* second product's C starts inside the first */
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "overlap"),
          "overlapping C must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &a);
    cn_buffer_free(rt, &b);
    cn_buffer_free(rt, &c);
}

/* AUTO on a fresh runtime with an empty cache folder measures and records; a second runtime on
 * the same folder reads the record instead; COOPNETS_GEMM overrides both. */
static void check_auto(void) {
    printf("AUTO: measure once, record, reuse; COOPNETS_GEMM forces\n");
    char dir[] = "/tmp/cn_test_gemm_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
    cn_runtime_options o = cn_runtime_default_options();
    o.cache_dir = dir;
    unsetenv("COOPNETS_NO_CACHE"); /* the record lives in the cache folder */
    cn_gemm_backend first = CN_GEMM_AUTO;
    for (int run = 0; run < 2; run++) {
        cn_runtime *rt = NULL;
        CHECK_OK(cn_runtime_open(&rt, &o, TE));
        if (!rt) return;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_OK(cn_gemm_select(rt, CN_GEMM_AUTO, TE));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cn_gemm_backend b = cn_gemm_backend_in_use(rt);
        printf("  run %d: AUTO chose %s in %.2f s (%s)\n", run + 1, cn_gemm_backend_name(b),
               (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
               run == 0 ? "measured" : "from the record");
        CHECK(b == CN_GEMM_OWN || b == CN_GEMM_CLBLAST, "AUTO must settle on a backend");
        if (run == 0) first = b;
        else CHECK(b == first, "the second run must reuse the recorded choice");
        cn_runtime_close(rt);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/*.gemm >/dev/null 2>&1", dir);
    CHECK(system(cmd) == 0, "a .gemm record must exist in %s", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "could not remove %s", dir);

    cn_runtime *rt = cn_test_runtime();
    setenv("COOPNETS_GEMM", "clblast", 1);
    CHECK_OK(cn_gemm_select(rt, CN_GEMM_AUTO, TE));
    CHECK(cn_gemm_backend_in_use(rt) == CN_GEMM_CLBLAST, "COOPNETS_GEMM=clblast must force CLBlast");
    setenv("COOPNETS_GEMM", "own", 1);
    CHECK_OK(cn_gemm_select(rt, CN_GEMM_AUTO, TE));
    CHECK(cn_gemm_backend_in_use(rt) == CN_GEMM_OWN, "COOPNETS_GEMM=own must force our kernels");
    setenv("COOPNETS_GEMM", "fastest", 1);
    CHECK(cn_gemm_select(rt, CN_GEMM_AUTO, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "fastest"),
          "a bad COOPNETS_GEMM must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    unsetenv("COOPNETS_GEMM");
}

/* The packed variant packs op(A) and op(B) in blocks of rows and of columns (4M floats of panels
 * each, src/nn/gemm.c): products taller and wider than one block, the operands as is and transposed. */
static void check_pack_blocks(cn_runtime *rt) {
    printf("packed variant: products of more rows or columns than one packing block\n");
    cn_test_rng rng = {7};
    const gemm_case cases[] = {{0, 0, 8500, 7, 500, 1, 1.0f, 0.0f, 0, 0}, {1, 1, 8500, 5, 500, 1, 0.5f, 1.0f, 1, 2},
                               {0, 1, 5, 8500, 500, 1, 1.0f, 0.0f, 0, 0}, {1, 0, 7, 8500, 500, 1, 0.5f, 1.0f, 1, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(rt, &cases[i], &rng);
}

/* ---- gathered layouts (cn_gemm_layout) --------------------------------------------------------- */

/* The stored matrix of a gathered layout over `images` images of t, dense and row-major. */
static void host_gathered(cn_gemm_layout layout, const cn_conv2d_shape *s, const float *t, size_t images,
                          double *out) {
    const size_t pixels = (size_t)s->out_h * s->out_w, taps = (size_t)s->k_h * s->k_w;
    const size_t cols = layout == CN_GEMM_PIXELS ? (size_t)s->out_c : s->in_c * taps;
    for (size_t r = 0; r < images * pixels; r++) {
        const size_t b = r / pixels, p = r % pixels;
        const int oy = (int)(p / s->out_w), ox = (int)(p % s->out_w);
        for (size_t q = 0; q < cols; q++) {
            double v;
            if (layout == CN_GEMM_PIXELS) {
                v = t[(b * s->out_c + q) * pixels + p];
            } else {
                const size_t c = q / taps;
                const int y = oy * s->stride - s->pad_top + (int)(q % taps / s->k_w);
                const int x = ox * s->stride - s->pad_left + (int)(q % s->k_w);
                const int inside = y >= 0 && y < s->in_h && x >= 0 && x < s->in_w;
                v = inside ? t[((b * s->in_c + c) * s->in_h + y) * s->in_w + x] : 0.0;
            }
            out[r * cols + q] = v;
        }
    }
}

/* One product with gathered operands against the host double product: a stored matrix of
 * a_rows x a_cols (b_ likewise) from the tensor or row-major values given; what lies before each
 * operand (its offset: one image of a gathered one) must not be read, nor C's written. */
typedef struct {
    const char *what;
    int trans_a;
    cn_gemm_layout a_layout, b_layout;
    float alpha, beta;
} gathered_case;

static size_t layout_floats(cn_gemm_layout layout, const cn_conv2d_shape *s, size_t images, size_t rows,
                            size_t cols) {
    if (layout == CN_GEMM_PIXELS) return images * s->out_c * s->out_h * s->out_w;
    if (layout == CN_GEMM_PATCHES) return images * s->in_c * s->in_h * s->in_w;
    return rows * cols;
}

static size_t layout_image(cn_gemm_layout layout, const cn_conv2d_shape *s) {
    return layout_floats(layout, s, 1, 0, 0);
}

static void run_gathered(cn_runtime *rt, const gathered_case *t, const cn_conv2d_shape *s, size_t images,
                         cn_test_rng *rng) {
    const size_t pixels = (size_t)s->out_h * s->out_w, rows = images * pixels;
    const size_t kr = (size_t)s->in_c * s->k_h * s->k_w;
    /* The products of a conv's passes: forward (A patches), backward data (A pixels), and the
     * weight gradient (A pixels transposed). */
    const int forward = t->a_layout == CN_GEMM_PATCHES;
    const size_t m = t->trans_a ? (size_t)s->out_c : rows, n = forward ? (size_t)s->out_c : kr;
    const size_t k = forward ? kr : t->trans_a ? rows : (size_t)s->out_c;
    const size_t ar = t->trans_a ? k : m, ac = t->trans_a ? m : k, br = k, bc = n;
    const cn_gemm_layout lay[3] = {t->a_layout, t->b_layout, CN_GEMM_ROW_MAJOR};
    const size_t dims[3][2] = {{ar, ac}, {br, bc}, {m, n}};
    float *host[3];
    double *dense[3];
    cn_buffer dev[3];
    size_t floats[3], skip[3];
    for (int i = 0; i < 3; i++) {
        const int g = lay[i] != CN_GEMM_ROW_MAJOR;
        skip[i] = g ? layout_image(lay[i], s) : (size_t)i; /* one image (or a few floats) before it */
        floats[i] = skip[i] + layout_floats(lay[i], s, images, dims[i][0], dims[i][1]);
        host[i] = malloc(floats[i] * sizeof(float));
        dense[i] = malloc(dims[i][0] * dims[i][1] * sizeof(double));
        cn_test_fill_uniform(rng, host[i], floats[i], -1, 1);
        if (i == 2 && t->beta == 0.0f)
            for (size_t j = skip[i]; j < floats[i]; j++) host[i][j] = NAN;
        if (g) host_gathered(lay[i], s, host[i] + skip[i], images, dense[i]);
        else
            for (size_t j = 0; j < dims[i][0] * dims[i][1]; j++) dense[i][j] = host[i][skip[i] + j];
        cn_test_upload(rt, &dev[i], host[i], floats[i], "operand");
    }
    double *want = malloc(m * n * sizeof *want);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0;
            for (size_t q = 0; q < k; q++)
                sum += dense[0][t->trans_a ? q * ac + i : i * ac + q] * dense[1][q * bc + j];
            want[i * n + j] = t->alpha * sum + (t->beta != 0.0f ? t->beta * dense[2][i * n + j] : 0.0);
        }
    const cn_gemm_args g = {.trans_a = t->trans_a, .m = m, .n = n, .k = k,
                            .alpha = t->alpha, .beta = t->beta,
                            .a = &dev[0], .a_offset = skip[0], .lda = ac, .a_layout = t->a_layout,
                            .b = &dev[1], .b_offset = skip[1], .ldb = bc, .b_layout = t->b_layout,
                            .c = &dev[2], .c_offset = skip[2], .ldc = n, .conv = s};
    CHECK_OK(cn_gemm(rt, &g, TE));
    float *got = malloc(floats[2] * sizeof *got);
    cn_test_download(rt, &dev[2], got, floats[2]);
    CHECK(memcmp(got, host[2], skip[2] * sizeof(float)) == 0, "%s: C's floats before its offset changed", t->what);
    char what[200];
    snprintf(what, sizeof what, "%s: %zux%zux%zu, %zu images of %dx%dx%d k%d s%d", t->what, m, n, k, images,
             s->in_c, s->in_h, s->in_w, s->k_h, s->stride);
    const double growth = k > 100 ? sqrt(k / 100.0) : 1.0;
    cn_test_close(what, got + skip[2], want, m * n, 1e-5 * growth, 4e-6 * growth * sqrt((double)k + 1));
    for (int i = 0; i < 3; i++) cn_buffer_free(rt, &dev[i]), free(host[i]), free(dense[i]);
    free(want), free(got);
}

/* The packed variant's gathering against the host: the products of a conv's three passes, on convs
 * with padding on one side, stride 2 and partial panels, and one whose weight gradient sums over
 * more than one block of K (5 images of 144 pixels = 720 > 512); and the layouts no kernel reads. */
static void check_gathered(cn_runtime *rt) {
    int gathers = 0;
    CHECK_OK(cn_gemm_gathers(rt, &gathers, TE));
    CHECK(gathers, "the packed variant must gather");
    printf("packed variant: gathered conv matrices (pixels, patches) against the host double product\n");
    cn_test_rng rng = {11};
    const gathered_case cases[] = {
        {"forward: patches x w^T", 0, CN_GEMM_PATCHES, CN_GEMM_ROW_MAJOR, 1.0f, 0.0f},
        {"forward, accumulating", 0, CN_GEMM_PATCHES, CN_GEMM_ROW_MAJOR, 0.5f, 1.0f},
        {"backward data: pixels x w", 0, CN_GEMM_PIXELS, CN_GEMM_ROW_MAJOR, 1.0f, 0.0f},
        {"backward data, accumulating", 0, CN_GEMM_PIXELS, CN_GEMM_ROW_MAJOR, 0.5f, -1.5f},
        {"weight gradient: pixels^T x patches", 1, CN_GEMM_PIXELS, CN_GEMM_PATCHES, 1.0f, 0.0f},
        {"weight gradient, accumulating", 1, CN_GEMM_PIXELS, CN_GEMM_PATCHES, 0.75f, 1.0f},
    };
    /* Forward gathers from an input padded beforehand: its convs are VALID (one with a last row
     * and column no window reaches); the backward passes pad as they go. */
    cn_conv2d_shape shapes[4];
    CHECK_OK(cn_conv2d_shape_make(&shapes[0], 3, 7, 6, 5, 4, 2, CN_CONV_PAD_SAME, 0, TE));    /* pads 1, 2 */
    CHECK_OK(cn_conv2d_shape_make(&shapes[1], 2, 12, 12, 19, 3, 1, CN_CONV_PAD_SAME, 0, TE)); /* 144 pixels */
    CHECK_OK(cn_conv2d_shape_make(&shapes[2], 3, 10, 9, 5, 4, 2, CN_CONV_PAD_VALID, 0, TE));  /* 4x3, row 9 unused */
    CHECK_OK(cn_conv2d_shape_make(&shapes[3], 60, 6, 6, 19, 3, 1, CN_CONV_PAD_VALID, 0, TE)); /* K 540: 2 blocks */
    const size_t images[4] = {3, 5, 3, 2};
    for (size_t sh = 0; sh < 4; sh++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if ((cases[i].a_layout == CN_GEMM_PATCHES) == (sh >= 2))
                run_gathered(rt, &cases[i], &shapes[sh], images[sh], &rng);

    cn_buffer buf;
    float zeros[4096] = {0};
    cn_test_upload(rt, &buf, zeros, 4096, "operand");
    const cn_conv2d_shape *s = &shapes[0];
    const size_t rows = (size_t)s->out_h * s->out_w;
    cn_gemm_args g = {.m = rows, .n = (size_t)s->out_c, .k = (size_t)s->out_c, .alpha = 1, .a = &buf, .lda = 5,
                      .b = &buf, .ldb = 5, .b_layout = CN_GEMM_PIXELS, .c = &buf, .ldc = 5, .conv = s};
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "no kernel gathers"),
          "B as pixels must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g.b_layout = CN_GEMM_ROW_MAJOR, g.a_layout = CN_GEMM_PATCHES, g.trans_a = 1;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "no kernel gathers"),
          "A as patches, transposed, must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g.trans_a = 0;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "without padding"),
          "A as patches of a padded conv must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g.b_layout = CN_GEMM_ROW_MAJOR, g.a_layout = CN_GEMM_PIXELS, g.m = rows + 1;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "whole images"),
          "a gathered A of part of an image must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    g.m = rows, g.conv = NULL;
    CHECK(cn_gemm(rt, &g, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "no conv"),
          "a gathered A without its conv must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &buf);
}

/* Variants of our kernels the device can run; at least one local-memory one must be among them (the
 * smallest, 8/8, needs a work-group of 8 and 512 bytes of local memory). Where kernels compile to
 * machine code (PoCL), every kernel compiles once per variant, most of this test's time with a cold
 * cache: there the heuristic and the first variant of each kind get every case, and the other
 * sizes, the same kernel source with other constants, are left to the quick run. The quick run
 * (CN_TEST_QUICK=1, test_oclgrind on the simulator, which fits every candidate: work-groups of
 * 1024, 32 KiB of local memory) checks every variant on the small cases. */
static void check_own_variants(cn_runtime *rt) {
    cn_kernel_variant candidates[32];
    size_t count = cn_tuning_candidates(rt, CN_TUNED_GEMM, candidates, 32);
    int local = 0, kinds_seen[CN_VARIANT_PACKED + 1] = {0};
    for (size_t i = 0; i < count && i < 32; i++) {
        const cn_variant_kind kind = candidates[i].kind;
        if (kind == CN_VARIANT_CLBLAST) continue;
        char name[64];
        cn_kernel_variant_format(candidates[i], name, sizeof name);
        if (!quick && kinds_seen[kind]) {
            printf("variant %s: another size of a kind checked above, left to CN_TEST_QUICK=1 (test_oclgrind)\n", name);
            continue;
        }
        local += kind == CN_VARIANT_LOCAL;
        CHECK_OK(cn_tuning_set(rt, CN_TUNED_GEMM, candidates[i], TE));
        check_backend(rt, CN_GEMM_OWN, !quick);
        if (!quick && kind == CN_VARIANT_PACKED) check_pack_blocks(rt);
        if (kind == CN_VARIANT_PACKED) check_gathered(rt);
        kinds_seen[kind] = 1;
    }
    CHECK(local > 0, "no local-memory GEMM variant fits device %d", rt->device.index);
    CHECK(kinds_seen[CN_VARIANT_PACKED], "no packed GEMM variant among the candidates of device %d",
          rt->device.index);
    const cn_kernel_variant uneven = {CN_VARIANT_LOCAL, 16, 3}; /* 3 does not divide 16 */
    CHECK(cn_tuning_set(rt, CN_TUNED_GEMM, uneven, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "local 16/3"),
          "an invalid variant must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    /* 32 x 32 work-items and 8 KiB of local memory: beyond a device capped at 64 work-items. */
    const cn_kernel_variant wide = {CN_VARIANT_LOCAL, 32, 1};
    if (rt->device.max_work_group_size < 32 * 32) {
        CHECK(cn_tuning_set(rt, CN_TUNED_GEMM, wide, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "work-group"),
              "a variant beyond the device's work-group limit must be refused: %s", cn_test_error.message);
        printf("  refused: %s\n", cn_test_error.message);
    } else {
        printf("  device %d takes work-groups of %zu: local 32/1 fits, no refusal to check\n", rt->device.index,
               rt->device.max_work_group_size);
    }
    CHECK_OK(cn_tuning_set(rt, CN_TUNED_GEMM, cn_tuning_heuristic(rt, CN_TUNED_GEMM), TE));
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    quick = cn_test_quick();
    if (quick) {
        printf("CN_TEST_QUICK=1: every variant of our kernels on small cases (CLBlast, refusals and AUTO not "
               "checked)\n");
        check_own_variants(rt);
        return cn_test_finish();
    }
    check_own_variants(rt);
    check_backend(rt, CN_GEMM_CLBLAST, 1);
    int gathers = 1;
    CHECK_OK(cn_gemm_gathers(rt, &gathers, TE));
    CHECK(!gathers, "CLBlast must not claim to gather");
    check_refusals(rt);
    check_auto();
    return cn_test_finish();
}
