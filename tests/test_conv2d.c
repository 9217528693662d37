/* cn_conv2d against a host double-precision reference: the shape rules (TensorFlow SAME with its
 * asymmetric padding, VALID, explicit; impossible deconv shapes refused in words), a known answer
 * that pins which side SAME pads, and forward, backward_data and backward_params on odd shapes
 * (stride 1 and 2, non-square, 1x1, a kernel covering the whole input, batch 1 and 3, input channels
 * a multiple of 8 (backward_data's col2im by channels), and a batch large enough to be cut into
 * chunks). The reference gradients are checked by finite differences of the reference forward;
 * the device's gradients are checked to be bitwise repeatable. Every case runs with both conv
 * variants (cn_tuning): lowered (with a GEMM that gathers the patches, and with one that has them
 * written out), and direct (cl/conv_direct.cl: all three passes for stride 1, forward and
 * backward_data through space to depth for k4 s2 and k9 s2), with cases for its edges: rows that
 * end in a part vector, more output channels
 * than a work-item keeps, padding wider than the kernel; a profile shows which path ran. */
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_gemm.h"
#include "coopnets/cn_tuning.h"
#include "support/cn_test.h"

/* ---- host reference --------------------------------------------------------------------------- */

static size_t in_size(const cn_conv2d_shape *s, size_t n) { return n * s->in_c * s->in_h * s->in_w; }
static size_t out_size(const cn_conv2d_shape *s, size_t n) { return n * s->out_c * s->out_h * s->out_w; }
static size_t w_size(const cn_conv2d_shape *s) { return (size_t)s->out_c * s->in_c * s->k_h * s->k_w; }

typedef struct {
    const cn_conv2d_shape *s;
    size_t n;
} conv_batch;

/* Every (output pixel, kernel tap) pair that reads a pixel inside the input adds its product to
 * y = sum w x, dx = sum w dy (scattered) and dw = sum dy x. */
static void reference(const void *layer, const double *x, const double *w, const double *dy, double *y, double *dx,
                      double *dw) {
    const cn_conv2d_shape *s = ((const conv_batch *)layer)->s;
    const size_t n = ((const conv_batch *)layer)->n;
    memset(y, 0, out_size(s, n) * sizeof *y);
    memset(dx, 0, in_size(s, n) * sizeof *dx);
    memset(dw, 0, w_size(s) * sizeof *dw);
    for (size_t b = 0; b < n; b++)
        for (int o = 0; o < s->out_c; o++)
            for (int oy = 0; oy < s->out_h; oy++)
                for (int ox = 0; ox < s->out_w; ox++) {
                    const size_t yi = ((b * s->out_c + o) * s->out_h + oy) * s->out_w + ox;
                    for (int c = 0; c < s->in_c; c++)
                        for (int i = 0; i < s->k_h; i++)
                            for (int j = 0; j < s->k_w; j++) {
                                const int iy = oy * s->stride - s->pad_top + i, ix = ox * s->stride - s->pad_left + j;
                                if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
                                const size_t xi = ((b * s->in_c + c) * s->in_h + iy) * s->in_w + ix;
                                const size_t wi = (((size_t)o * s->in_c + c) * s->k_h + i) * s->k_w + j;
                                y[yi] += w[wi] * x[xi];
                                dx[xi] += w[wi] * dy[yi];
                                dw[wi] += dy[yi] * x[xi];
                            }
                }
}

/* ---- shapes ----------------------------------------------------------------------------------- */

static void check_shapes(void) {
    printf("shape rules\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 3, 64, 64, 64, 5, 2, CN_CONV_PAD_SAME, 0, TE));
    printf("  conv k5 s2 SAME 64 -> %d, pads (%d, %d)\n", s.out_h, s.pad_top,
           (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top);
    CHECK(s.out_h == 32 && s.out_w == 32 && s.pad_top == 1 && s.pad_left == 1,
          "k5 s2 SAME 64 must give 32, pads (1, 2)");
    CHECK((s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top == 2, "k5 s2 SAME 64: bottom pad must be 2");
    CHECK_OK(cn_conv2d_shape_make(&s, 1, 7, 7, 8, 4, 2, CN_CONV_PAD_SAME, 0, TE));
    printf("  conv k4 s2 SAME 7 -> %d, pads (%d, %d)\n", s.out_h, s.pad_top,
           (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top);
    CHECK(s.out_h == 4 && s.pad_top == 1 && (s.out_h - 1) * s.stride + s.k_h - s.in_h - s.pad_top == 2,
          "k4 s2 SAME 7 must give 4, pads (1, 2)");
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 9, 8, 3, 3, 2, CN_CONV_PAD_VALID, 0, TE));
    CHECK(s.out_h == 4 && s.out_w == 3 && s.pad_top == 0 && s.pad_left == 0, "k3 s2 VALID 9x8 must give 4x3");
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 8, 8, 3, 3, 2, CN_CONV_PAD_EXPLICIT, 1, TE));
    CHECK(s.out_h == 4 && s.pad_top == 1, "k3 s2 pad 1 on 8 must give 4");
    CHECK(cn_conv2d_shape_make(&s, 2, 3, 3, 3, 5, 1, CN_CONV_PAD_VALID, 0, TE) == CN_ERR_ARG,
          "a 5x5 VALID kernel on 3x3 must be refused");
    printf("  refused: %s\n", cn_test_error.message);

    CHECK_OK(cn_deconv2d_shape_make(&s, 512, 4, 4, 256, 7, 7, 4, 2, CN_CONV_PAD_SAME, TE));
    CHECK(s.in_c == 256 && s.in_h == 7 && s.out_c == 512 && s.out_h == 4 && s.pad_top == 1,
          "deconv k4 s2 SAME 4 -> 7 must be the conv 7 -> 4 with pads (1, 2)");
    CHECK_OK(cn_deconv2d_shape_make(&s, 100, 1, 1, 512, 4, 4, 4, 1, CN_CONV_PAD_VALID, TE));
    CHECK(s.in_h == 4 && s.out_h == 1 && s.pad_top == 0, "deconv k4 VALID 1 -> 4 must be the conv 4 -> 1");
    CHECK(cn_deconv2d_shape_make(&s, 8, 4, 4, 4, 9, 9, 4, 2, CN_CONV_PAD_SAME, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "5x5"),
          "deconv k4 s2 SAME 4 -> 9 must be refused naming what the conv gives");
    printf("  refused: %s\n", cn_test_error.message);
    CHECK(cn_deconv2d_shape_make(&s, 8, 1, 1, 4, 5, 5, 4, 1, CN_CONV_PAD_VALID, TE) == CN_ERR_ARG,
          "deconv k4 VALID 1 -> 5 must be refused");
    printf("  refused: %s\n", cn_test_error.message);
    CHECK(cn_deconv2d_shape_make(&s, 8, 4, 4, 4, 2, 2, 4, 2, CN_CONV_PAD_VALID, TE) == CN_ERR_ARG,
          "deconv k4 VALID 4 -> 2 must be refused (the kernel does not fit)");
    printf("  refused: %s\n", cn_test_error.message);
}

/* ---- device against reference ----------------------------------------------------------------- */

/* check_reference: also check the reference's own gradients by finite differences, on cases whose
 * reference is cheap (33 evaluations of all three passes; once per case is enough: they do not
 * depend on the variant, and under the sanitizers' -O0 the 37-wide case alone took 80 s). */
/* Which passes run direct, where a test says so rather than check_device deriving it. */
typedef struct {
    int forward, backward_data, backward_params;
} direct_passes;

static void check_device(cn_runtime *rt, const char *label, const cn_conv2d_shape *s, size_t n, int check_reference,
                         const direct_passes *expect, cn_test_rng *rng) {
    printf("%s: in %dx%dx%d -> out %dx%dx%d, k%dx%d s%d pads (%d, %d), batch %zu\n", label, s->in_c, s->in_h,
           s->in_w, s->out_c, s->out_h, s->out_w, s->k_h, s->k_w, s->stride, s->pad_top, s->pad_left, n);
    const conv_batch layer = {s, n};
    const size_t nx = in_size(s, n), ny = out_size(s, n), nw = w_size(s), nws = cn_conv2d_workspace_floats(s, n);
    const size_t multiply_adds = ny * (size_t)s->in_c * (size_t)s->k_h * (size_t)s->k_w;
    if (check_reference && n <= 3 && multiply_adds <= 1000000) /* larger n only adds chunking */
        cn_test_check_reference_gradients(reference, &layer, nx, nw, ny, rng);
    cn_test_layer_data d;
    cn_test_layer_data_make(rt, reference, &layer, nx, nw, ny, rng, &d);
    cn_buffer ws;
    CHECK_OK(cn_buffer_alloc(rt, &ws, (nws ? nws : 1) * sizeof(float), "workspace", TE));
    printf("  workspace %.2f MB\n", nws * 4e-6);
    const size_t most = nx > nw ? nx : nw;
    float *again = malloc((most > ny ? most : ny) * sizeof *again);

    const size_t k_terms = (size_t)s->in_c * s->k_h * s->k_w;
    const size_t dx_terms = (size_t)s->out_c * s->k_h * s->k_w;
    const size_t dw_terms = n * s->out_h * s->out_w;
    /* strided convs only where space to depth adds at most a quarter to the taps (runs_direct) */
    const int split_taps = s->stride * s->stride * ((s->k_h + s->stride - 1) / s->stride) *
                           ((s->k_w + s->stride - 1) / s->stride);
    const int direct = cn_tuning_variant(rt, CN_TUNED_CONV, NULL).kind == CN_VARIANT_DIRECT &&
                       4 * split_taps <= 5 * s->k_h * s->k_w;
    cn_profile *profile;
    CHECK_OK(cn_profile_create(&profile, TE));
    CHECK_OK(cn_profile_attach(rt, profile, TE));
    CHECK_OK(cn_conv2d_forward(rt, s, n, &d.bx, &d.bw, NULL, &d.by, &ws, TE));
    CHECK_OK(cn_conv2d_backward_data(rt, s, n, &d.bdy, &d.bw, &d.bdx, &ws, TE));
    CHECK_OK(cn_conv2d_backward_params(rt, s, n, &d.bx, &d.bdy, &d.bdw, &ws, TE));
    CHECK_OK(cn_profile_attach(rt, NULL, TE));
    cn_profile_total *totals = NULL;
    size_t count = 0, direct_launches = 0, params_launches = 0, im2col_launches = 0, col2im_launches = 0;
    size_t pad_launches = 0, split_launches = 0;
    CHECK_OK(cn_profile_resolve(rt, profile, &totals, &count, TE));
    for (size_t i = 0; i < count; i++) {
        if (strncmp(totals[i].name, "cn_conv_direct_v", 16) == 0) direct_launches += totals[i].calls;
        if (strncmp(totals[i].name, "cn_conv_direct_params_v", 23) == 0) params_launches += totals[i].calls;
        if (strncmp(totals[i].name, "cn_im2col", 9) == 0) im2col_launches += totals[i].calls;
        if (strncmp(totals[i].name, "cn_col2im", 9) == 0) col2im_launches += totals[i].calls;
        if (strcmp(totals[i].name, "cn_conv_direct_pad") == 0) pad_launches += totals[i].calls;
        if (strcmp(totals[i].name, "cn_conv_direct_depth_to_space") == 0) split_launches += totals[i].calls;
    }
    /* Lowered: backward_data folds its column matrix with one col2im per chunk. Where the GEMM
     * gathers, forward pads each chunk's images (or im2cols them when the padded images would not
     * fit) and the weight gradient lowers nothing; elsewhere both im2col per chunk (same chunks).
     * Direct: forward and backward_data; a strided conv's backward_data ends depth to space, and
     * its weight gradient is lowered (gathered: nothing written out). */
    int gathers = 0;
    CHECK_OK(cn_gemm_gathers(rt, &gathers, TE));
    const char *path = expect ? "mixed" : direct ? "direct" : gathers ? "lowered, gathered" : "lowered, explicit";
    /* Mixed: each pass as told; backward_data folds a column matrix exactly when it is lowered. */
    const int as_expected =
        expect ? direct_launches == (size_t)(expect->forward + expect->backward_data) &&
                     params_launches == (size_t)expect->backward_params &&
                     (col2im_launches == 0) == (expect->backward_data != 0)
        : direct ? direct_launches == 2 && params_launches == (s->stride == 1) &&
                       im2col_launches + col2im_launches == 0 && split_launches == (s->stride > 1)
                 : direct_launches == 0 && params_launches == 0 && col2im_launches >= 1 &&
                       (gathers ? im2col_launches + pad_launches == col2im_launches
                                : im2col_launches == 2 * col2im_launches && pad_launches == 0);
    CHECK(as_expected,
          "%s path expected: %zu direct, %zu direct weight-gradient, %zu im2col, %zu pad, %zu col2im and %zu "
          "depth-to-space launches",
          path, direct_launches, params_launches, im2col_launches, pad_launches, col2im_launches, split_launches);
    printf("  %s: %zu im2col, %zu pad, %zu col2im launches\n", path, im2col_launches, pad_launches,
           col2im_launches);
    free(totals);
    cn_profile_free(profile);
    cn_test_download(rt, &d.by, d.y, ny);
    cn_test_close_sums("forward y", d.y, d.want_y, ny, k_terms);
    CHECK_OK(cn_conv2d_forward(rt, s, n, &d.bx, &d.bw, NULL, &d.by, &ws, TE));
    cn_test_download(rt, &d.by, again, ny);
    CHECK(memcmp(again, d.y, ny * sizeof *again) == 0, "forward must repeat bit for bit");
    const cn_test_conv_pass pass = {cn_conv2d_forward, s, n, &d.bx, &d.bw, &ws};
    cn_test_check_epilogue(rt, cn_test_run_conv_pass, &pass, d.y, n, (size_t)s->out_c, (size_t)s->out_h * s->out_w,
                           &d.by, rng);
    cn_test_download(rt, &d.bdx, d.dx, nx);
    cn_test_close_sums("backward_data dx", d.dx, d.want_dx, nx, dx_terms);
    cn_test_download(rt, &d.bdw, d.dw, nw);
    cn_test_close_sums("backward_params dw", d.dw, d.want_dw, nw, dw_terms);
    CHECK_OK(cn_conv2d_backward_data(rt, s, n, &d.bdy, &d.bw, &d.bdx, &ws, TE));
    cn_test_download(rt, &d.bdx, again, nx);
    CHECK(memcmp(again, d.dx, nx * sizeof *again) == 0, "backward_data must repeat bit for bit");
    CHECK_OK(cn_conv2d_backward_params(rt, s, n, &d.bx, &d.bdy, &d.bdw, &ws, TE));
    cn_test_download(rt, &d.bdw, again, nw);
    CHECK(memcmp(again, d.dw, nw * sizeof *again) == 0, "backward_params must repeat bit for bit");

    cn_buffer_free(rt, &ws);
    cn_test_layer_data_free(rt, &d);
    free(again);
}

/* SAME with an odd total pads the extra row and column at the bottom and right (TensorFlow): a
 * 2x2 kernel that picks the bottom-right tap on 1..16 in a 4x4 image reads one past the edge. */
static void check_known_answer(cn_runtime *rt) {
    printf("known answer: k2 s1 SAME on 4x4 pads (0, 1)\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 1, 4, 4, 1, 2, 1, CN_CONV_PAD_SAME, 0, TE));
    float x[16], w[4] = {0, 0, 0, 1}, y[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    const float want[16] = {6, 7, 8, 0, 10, 11, 12, 0, 14, 15, 16, 0, 0, 0, 0, 0};
    cn_buffer bx, bw, by, bws;
    cn_test_upload(rt, &bx, x, 16, "x");
    cn_test_upload(rt, &bw, w, 4, "w");
    cn_test_upload(rt, &by, x, 16, "y");
    CHECK_OK(cn_buffer_alloc(rt, &bws, cn_conv2d_workspace_floats(&s, 1) * sizeof(float), "ws", TE));
    CHECK_OK(cn_conv2d_forward(rt, &s, 1, &bx, &bw, NULL, &by, &bws, TE));
    cn_test_download(rt, &by, y, 16);
    CHECK(memcmp(y, want, sizeof want) == 0, "k2 SAME on 4x4 gave %g %g %g %g / ... / %g", y[0], y[1], y[2], y[3],
          y[15]);
    cn_buffer *all[] = {&bx, &bw, &by, &bws};
    for (size_t i = 0; i < 4; i++) cn_buffer_free(rt, all[i]);
}

static void check_refusals(cn_runtime *rt) {
    printf("buffers too small are refused\n");
    cn_conv2d_shape s;
    CHECK_OK(cn_conv2d_shape_make(&s, 2, 5, 5, 3, 3, 1, CN_CONV_PAD_SAME, 0, TE));
    float zeros[150] = {0};
    cn_buffer x, w, y, ws;
    cn_test_upload(rt, &x, zeros, 50, "x");
    cn_test_upload(rt, &w, zeros, 54, "w");
    cn_test_upload(rt, &y, zeros, 74, "y (one float short)");
    cn_test_upload(rt, &ws, zeros, 150, "ws (too small)");
    CHECK(cn_conv2d_forward(rt, &s, 1, &x, &w, NULL, &y, &ws, TE) == CN_ERR_ARG &&
              strstr(cn_test_error.message, "[1, 3, 5, 5] tensor holds 74 floats, needs 75"),
          "a short output must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer_free(rt, &y);
    cn_test_upload(rt, &y, zeros, 75, "y");
    CHECK(cn_conv2d_forward(rt, &s, 1, &x, &w, NULL, &y, &ws, TE) == CN_ERR_ARG && strstr(cn_test_error.message, "workspace"),
          "a short workspace must be refused: %s", cn_test_error.message);
    printf("  refused: %s\n", cn_test_error.message);
    cn_buffer *all[] = {&x, &w, &y, &ws};
    for (size_t i = 0; i < 4; i++) cn_buffer_free(rt, all[i]);
}

int main(void) {
    cn_runtime *rt = NULL;
    cn_runtime_options options = cn_runtime_default_options();
    options.profiling = 1; /* to see which path each pass took */
    CHECK_OK(cn_runtime_open(&rt, &options, TE));
    if (!rt) return cn_test_finish();
    cn_test_rng rng = {7};
    check_shapes();
    check_known_answer(rt);
    check_refusals(rt);
    struct {
        const char *label;
        int in_c, in_h, in_w, out_c, k, stride;
        cn_conv_padding pad;
        int explicit_pad;
        size_t n;
    } cases[] = {
        {"k3 s1 SAME", 3, 9, 9, 4, 3, 1, CN_CONV_PAD_SAME, 0, 1},
        {"k3 s1 SAME", 3, 9, 9, 4, 3, 1, CN_CONV_PAD_SAME, 0, 3},
        {"k4 s2 SAME 7 -> 4, pads (1, 2)", 2, 7, 7, 5, 4, 2, CN_CONV_PAD_SAME, 0, 3},
        {"k5 s2 SAME non-square, pads (1, 2) x (2, 2)", 3, 10, 9, 4, 5, 2, CN_CONV_PAD_SAME, 0, 3},
        {"k3 s2 VALID, last column unused", 3, 9, 8, 5, 3, 2, CN_CONV_PAD_VALID, 0, 3},
        {"k3 s2 explicit pad 1", 2, 8, 8, 3, 3, 2, CN_CONV_PAD_EXPLICIT, 1, 1},
        {"k1 s1 VALID (1x1)", 5, 3, 3, 7, 1, 1, CN_CONV_PAD_VALID, 0, 3},
        {"k1 s2 VALID: padded images larger than the column matrix", 3, 7, 7, 4, 1, 2, CN_CONV_PAD_VALID, 0, 2},
        {"kernel covers the input (fc)", 4, 4, 4, 6, 4, 1, CN_CONV_PAD_VALID, 0, 3},
        {"k4 s2 SAME, 16 channels (col2im by channels), pads (1, 2) x (1, 1)",
         16, 7, 6, 3, 4, 2, CN_CONV_PAD_SAME, 0, 2},
        {"k3 s2 VALID, 24 channels (col2im by channels), last column unused",
         24, 9, 8, 2, 3, 2, CN_CONV_PAD_VALID, 0, 3},
        {"k5 s2 SAME non-square, 8 channels (col2im by channels)", 8, 10, 9, 4, 5, 2, CN_CONV_PAD_SAME, 0, 3},
        {"k9 s2 SAME non-square, 1 channel (texture's first layer)", 1, 21, 18, 6, 9, 2, CN_CONV_PAD_SAME, 0, 2},
        {"k4 s3 explicit pad 2, 8 channels (col2im by channels)", 8, 11, 10, 3, 4, 3, CN_CONV_PAD_EXPLICIT, 2, 2},
        {"cut into chunks (13 + 1 images)", 16, 64, 64, 4, 3, 1, CN_CONV_PAD_SAME, 0, 14},
        {"k7 s1 SAME 37 wide: part vectors, 30 outputs in two blocks, 20 inputs", 20, 11, 37, 30, 7, 1,
         CN_CONV_PAD_SAME, 0, 2},
        {"k3 s1 explicit pad 4 (wider than the kernel), 1 input", 1, 5, 6, 3, 3, 1, CN_CONV_PAD_EXPLICIT, 4, 2},
        {"k5 s1 VALID non-square, 13 outputs", 2, 12, 19, 13, 5, 1, CN_CONV_PAD_VALID, 0, 3},
    };
    /* Lowered everywhere, with a GEMM that gathers (packed) and then one that does not (a register
     * tile: im2col and transposes written out); then direct for every conv however many outputs
     * (strided ones through space to depth, where that adds few taps: k4 s2, k9 s2). */
    const struct {
        cn_kernel_variant conv, gemm;
    } passes[] = {{{CN_VARIANT_LOWERED, 0, 0}, {CN_VARIANT_PACKED, 6, 16}},
                  {{CN_VARIANT_LOWERED, 0, 0}, {CN_VARIANT_REGISTER, 8, 16}},
                  {{CN_VARIANT_DIRECT, 4096, 0}, {CN_VARIANT_PACKED, 6, 16}}};
    CHECK_OK(cn_gemm_select(rt, CN_GEMM_OWN, TE));
    for (size_t v = 0; v < sizeof passes / sizeof *passes; v++) {
        char conv[64], gemm[64];
        cn_kernel_variant_format(passes[v].conv, conv, sizeof conv);
        cn_kernel_variant_format(passes[v].gemm, gemm, sizeof gemm);
        printf("--- conv variant %s, GEMM variant %s\n", conv, gemm);
        CHECK_OK(cn_tuning_set(rt, CN_TUNED_CONV, passes[v].conv, TE));
        CHECK_OK(cn_tuning_set(rt, CN_TUNED_GEMM, passes[v].gemm, TE));
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            cn_conv2d_shape s;
            CHECK_OK(cn_conv2d_shape_make(&s, cases[i].in_c, cases[i].in_h, cases[i].in_w, cases[i].out_c,
                                          cases[i].k, cases[i].stride, cases[i].pad, cases[i].explicit_pad, TE));
            check_device(rt, cases[i].label, &s, cases[i].n, v == 0, NULL, &rng);
        }
    }
    /* The conv variant direct 32 takes a pass wider than 32 outputs direct only where its output
     * rows fill the kernel's vectors (16 wide: one 16-float vector or two 8-float ones; 4 and 14
     * wide fill neither), and keeps a wide weight gradient lowered (runs_direct). */
    const struct {
        const char *label;
        int in_c, in_h, in_w, out_c, k, stride;
        direct_passes expect;
    } wide[] = {
        {"k3 s1 SAME 16 wide, 40 outputs: forward direct (wide), backward data direct (thin)", 6, 5, 16, 40, 3, 1, {1, 1, 0}},
        {"k3 s1 SAME 16 wide, 40 inputs, 36 outputs: both direct (wide)", 40, 5, 16, 36, 3, 1, {1, 1, 0}},
        {"k3 s1 SAME 4 wide, 40 outputs: forward lowered (short rows), backward data direct (thin)", 3, 4, 4, 40, 3, 1,
         {0, 1, 0}},
        {"k3 s1 SAME 4 wide, 40 inputs, 36 outputs: all lowered", 40, 3, 4, 36, 3, 1, {0, 0, 0}},
        {"k4 s2 SAME 28 -> 14, 64 outputs (mnist28's first layer): forward lowered (14 of 16 lanes), backward "
         "data direct (thin)", 1, 28, 28, 64, 4, 2, {0, 1, 0}},
        {"k4 s2 SAME 32 -> 16, 40 outputs: forward direct (wide, split space to depth)", 2, 32, 32, 40, 4, 2,
         {1, 1, 0}},
    };
    printf("--- conv variant direct 32, GEMM variant packed 6x16\n");
    CHECK_OK(cn_tuning_set(rt, CN_TUNED_CONV, (cn_kernel_variant){CN_VARIANT_DIRECT, 32, 0}, TE));
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++) {
        cn_conv2d_shape s;
        CHECK_OK(cn_conv2d_shape_make(&s, wide[i].in_c, wide[i].in_h, wide[i].in_w, wide[i].out_c, wide[i].k,
                                      wide[i].stride, CN_CONV_PAD_SAME, 0, TE));
        check_device(rt, wide[i].label, &s, 3, 0, &wide[i].expect, &rng);
    }
    printf("GEMM backend used: %s\n", cn_gemm_backend_name(cn_gemm_backend_in_use(rt)));
    cn_runtime_close(rt);
    return cn_test_finish();
}
