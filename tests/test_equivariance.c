/* Whole nets treat image rows and columns alike: on square inputs, a net whose every kernel is
 * spatially transposed (w'[o][i][a][b] = w[o][i][b][a]; for the fc layer, each unit's weights seen
 * as [c][h][w]; biases and batch norm unchanged) maps X^T to f(X)^T, back-propagates to (df/dX)^T
 * and gets transposed weight gradients. Checked on the device against itself for the descriptor
 * and the generator (forward layer by layer, then backward), and for the noise-free Langevin
 * revision and latent inference of cn_coop. The layers put each transposition on trial: strided
 * SAME convs and deconvs with an odd total padding (split unevenly before/after), a stride-1 even
 * kernel, a VALID deconv from a 2x2 latent map, batch norm with and without scale, every
 * activation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_coop.h"
#include "support/cn_test.h"

/* Both sides sum the same float products in another order (a transposed kernel visits tap (i, j)
 * as (j, i)), so they differ by rounding only: ~1e-7 of the largest value per sum, growing a
 * little through the layers. A mix-up of rows and columns moves values by their own size. Hence:
 * max |got - want| <= 1e-5 max |want|. */
#define TOLERANCE 1e-5
#define BATCH 3

/* 9x9x3 images. Descriptor: k4 s2 SAME 9 -> 5 (padding 1 + 2), k4 s2 SAME 5 -> 3 (1 + 2), k2 s1
 * SAME 3 -> 3 (0 + 1), fc over 8x3x3. Generator: 2x2 latent, k2 s1 VALID 2 -> 3, k4 s2 SAME
 * 3 -> 5 and 5 -> 9 (each the adjoint of a conv padded 1 + 2). Langevin noise off, so a revised
 * chain depends on the net alone; steps large enough to move the chains by O(0.1). */
static const char *const config_json =
    "{\"mode\": \"coop\", \"seed\": 7,"
    " \"data\": {\"kind\": \"synthetic\", \"image_size\": 9, \"channels\": 3},"
    " \"descriptor\": {\"layers\": ["
    "   {\"type\":\"conv\",\"filters\":6,\"kernel\":4,\"stride\":2,\"padding\":\"same\",\"activation\":\"leaky_relu\"},"
    "   {\"type\":\"conv\",\"filters\":8,\"kernel\":4,\"stride\":2,\"padding\":\"same\",\"activation\":\"tanh\"},"
    "   {\"type\":\"conv\",\"filters\":8,\"kernel\":2,\"stride\":1,\"padding\":\"same\",\"activation\":\"relu\"},"
    "   {\"type\":\"fc\",\"filters\":5}],"
    "  \"langevin\": {\"steps\": 3, \"step_size\": 0.5, \"refsig\": 3, \"noise\": false}},"
    " \"generator\": {\"latent\": {\"channels\": 4, \"size\": 2}, \"layers\": ["
    "   {\"type\":\"deconv\",\"filters\":8,\"kernel\":2,\"stride\":1,\"padding\":\"valid\",\"output_size\":3,"
    "    \"batchnorm\": true, \"bn_scale\": true, \"activation\": \"leaky_relu\"},"
    "   {\"type\":\"deconv\",\"filters\":6,\"kernel\":4,\"stride\":2,\"padding\":\"same\",\"output_size\":5,"
    "    \"batchnorm\": true, \"activation\": \"relu\"},"
    "   {\"type\":\"deconv\",\"filters\":3,\"kernel\":4,\"stride\":2,\"padding\":\"same\",\"output_size\":9,"
    "    \"activation\": \"tanh\"}],"
    "  \"langevin\": {\"steps\": 2, \"step_size\": 0.3, \"sigma\": 1, \"noise\": false}},"
    " \"training\": {\"batch_size\": 3, \"chains\": 3}}";

/* dst[p][j][i] = src[p][i][j] for `planes` side x side planes: the spatial transpose of an NCHW
 * tensor, of [o][i][k][k] kernels, of fc weights seen as [o][c][h][w]. */
static void transpose_planes(const float *src, float *dst, size_t planes, int side) {
    const size_t area = (size_t)side * side;
    for (size_t p = 0; p < planes; p++)
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++) dst[p * area + (size_t)j * side + i] = src[p * area + (size_t)i * side + j];
}

/* Checks got == want within TOLERANCE of `scale` (0: max |want|) and prints the measured difference. */
static void check_equal(const char *what, const float *want, const float *got, size_t n, double scale) {
    double diff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= diff)) diff = d; /* NaN propagates */
    }
    if (scale == 0)
        for (size_t i = 0; i < n; i++)
            if (fabs(want[i]) > scale) scale = fabs(want[i]);
    const double relative = scale > 0 ? diff / scale : diff;
    printf("  %-36s n=%-5zu scale %.3e  max|d|/scale %.2e  %s\n", what, n, scale, relative,
           relative <= TOLERANCE && scale > 0 ? "ok" : "FAIL");
    CHECK(relative <= TOLERANCE && scale > 0, "%s: not transpose-equivariant: relative difference %.3e (scale %.3e)",
          what, relative, scale);
}

/* Checks got == want^T for `planes` side x side planes. */
static void check_transposed(const char *what, const float *want, const float *got, size_t planes, int side) {
    const size_t n = planes * side * side;
    float *want_t = malloc(n * sizeof *want_t);
    transpose_planes(want, want_t, planes, side);
    check_equal(what, want_t, got, n, 0);
    free(want_t);
}

static float *download(cn_runtime *rt, const cn_buffer *b, size_t n) {
    float *x = malloc(n * sizeof *x);
    cn_test_download(rt, b, x, n);
    return x;
}

/* The side of the square planes a layer's weights are transposed in: the kernel's, or for the fc
 * layer its input's. */
static int weight_side(const cn_layer *l) {
    CHECK(l->in_h == l->in_w, "layer input %dx%d is not square", l->in_h, l->in_w);
    return l->config.kind == CN_LAYER_FC ? l->in_h : l->config.kernel;
}

/* The layer whose parameters tensor t is. */
static const cn_layer *layer_of(const cn_net *net, int t) { return net->layers[net->tensors[t].layer]; }

/* Every tensor of a net's parameter (or gradient) buffer, its weights spatially transposed. */
static void transpose_params(const cn_net *net, const float *src, float *dst) {
    memcpy(dst, src, net->params.bytes);
    for (int t = 0; t < net->tensor_count; t++) {
        const cn_tensor_info *ti = &net->tensors[t];
        if (ti->kind != CN_TENSOR_WEIGHT) continue;
        const int side = weight_side(layer_of(net, t));
        transpose_planes(src + ti->offset, dst + ti->offset, ti->count / ((size_t)side * side), side);
    }
}

/* Random parameters for `net` and their transpose for `twin`: weights U(±sqrt(3 / fan)), fan the
 * weights per leading index, so units neither vanish nor saturate; biases and shifts U(±0.5),
 * scales U(0.5, 1.5). */
static void set_random_params(cn_runtime *rt, cn_net *net, cn_net *twin, cn_test_rng *r) {
    const size_t floats = net->params.bytes / sizeof(float);
    float *p = calloc(floats, sizeof *p), *t = malloc(floats * sizeof *t);
    for (int k = 0; k < net->tensor_count; k++) {
        const cn_tensor_info *ti = &net->tensors[k];
        const double bound = ti->kind == CN_TENSOR_WEIGHT ? sqrt(3.0 * ti->shape[0] / (double)ti->count) : 0.5;
        const double centre = ti->kind == CN_TENSOR_BN_SCALE ? 1.0 : 0.0;
        cn_test_fill_uniform(r, p + ti->offset, ti->count, centre - bound, centre + bound);
    }
    transpose_params(net, p, t);
    CHECK_OK(cn_buffer_write(rt, &net->params, 0, p, net->params.bytes, TE));
    CHECK_OK(cn_buffer_write(rt, &twin->params, 0, t, twin->params.bytes, TE));
    free(p);
    free(t);
}

/* BATCH random square inputs of `net` into bx, their transposes into bx_t. */
static void random_input(cn_runtime *rt, const cn_net *net, cn_test_rng *r, cn_buffer *bx, cn_buffer *bx_t) {
    const size_t n = BATCH * cn_net_input_size(net);
    float *x = malloc(n * sizeof *x), *x_t = malloc(n * sizeof *x_t);
    cn_test_fill_uniform(r, x, n, -1, 1);
    transpose_planes(x, x_t, BATCH * (size_t)net->in_c, net->in_h);
    cn_test_upload(rt, bx, x, n, "input");
    cn_test_upload(rt, bx_t, x_t, n, "transposed input");
    free(x);
    free(x_t);
}

/* net on x and twin (transposed weights) on x^T: every layer's output transposed, so a failure
 * names the first layer that breaks the symmetry. */
static void check_forward(cn_runtime *rt, cn_net *net, cn_net *twin, const cn_buffer *x, const cn_buffer *x_t) {
    CHECK_OK(cn_net_forward(rt, net, BATCH, x, TE));
    CHECK_OK(cn_net_forward(rt, twin, BATCH, x_t, TE));
    for (int i = 0; i < net->layer_count; i++) {
        const cn_layer *l = net->layers[i];
        const size_t n = BATCH * (size_t)l->out_c * l->out_h * l->out_w;
        float *want = download(rt, &l->out, n), *got = download(rt, &twin->layers[i]->out, n);
        char what[64];
        snprintf(what, sizeof what, "%s layer %d output %dx%dx%d", net->name, i, l->out_c, l->out_h, l->out_w);
        check_transposed(what, want, got, BATCH * (size_t)l->out_c, l->out_h);
        free(want);
        free(got);
    }
}

/* Backward from dy (net) and dy_t (twin): the input gradient and every parameter gradient. */
static void check_backward(cn_runtime *rt, cn_net *net, cn_net *twin, const cn_buffer *x, const cn_buffer *x_t,
                           const cn_buffer *dy, const cn_buffer *dy_t) {
    const size_t in = BATCH * cn_net_input_size(net), floats = net->params.bytes / sizeof(float);
    float *nan = malloc(in * sizeof *nan);
    for (size_t i = 0; i < in; i++) nan[i] = NAN;
    cn_buffer dx, dx_t;
    cn_test_upload(rt, &dx, nan, in, "input gradient");
    cn_test_upload(rt, &dx_t, nan, in, "transposed input gradient");
    CHECK_OK(cn_net_backward(rt, net, BATCH, x, dy, &dx, 1, TE));
    CHECK_OK(cn_net_backward(rt, twin, BATCH, x_t, dy_t, &dx_t, 1, TE));
    float *want = download(rt, &dx, in), *got = download(rt, &dx_t, in);
    char what[64];
    snprintf(what, sizeof what, "%s input gradient", net->name);
    check_transposed(what, want, got, BATCH * (size_t)net->in_c, net->in_h);
    free(want);
    free(got);
    float *grads = download(rt, &net->grads, floats), *twin_grads = download(rt, &twin->grads, floats);
    float *grads_t = malloc(floats * sizeof *grads_t);
    transpose_params(net, grads, grads_t);
    double largest = 0;
    for (size_t i = 0; i < floats; i++)
        if (fabs(grads[i]) > largest) largest = fabs(grads[i]);
    for (int t = 0; t < net->tensor_count; t++) {
        const cn_tensor_info *ti = &net->tensors[t];
        /* Batch norm removes a bias before it: its exact gradient is 0, so both sides are rounding
         * noise, measured against the net's largest gradient. */
        const int zero = ti->kind == CN_TENSOR_BIAS && layer_of(net, t)->config.batchnorm;
        snprintf(what, sizeof what, "gradient of %s", ti->name);
        check_equal(what, grads_t + ti->offset, twin_grads + ti->offset, ti->count, zero ? largest : 0);
    }
    free(grads);
    free(twin_grads);
    free(grads_t);
    free(nan);
    cn_buffer_free(rt, &dx);
    cn_buffer_free(rt, &dx_t);
}

static void test_descriptor(cn_runtime *rt, cn_coop *a, cn_coop *b, cn_test_rng *r) {
    printf("descriptor: f'(X^T) = f(X), df'/dX^T = (df/dX)^T\n");
    cn_net *net = &a->descriptor, *twin = &b->descriptor;
    cn_buffer bx, bx_t, bdy;
    random_input(rt, net, r, &bx, &bx_t);
    check_forward(rt, net, twin, &bx, &bx_t);
    /* the fc output has no spatial extent: one dy for both */
    const size_t outs = BATCH * cn_net_output_size(net);
    float *dy = malloc(outs * sizeof *dy);
    cn_test_fill_uniform(r, dy, outs, -1, 1);
    cn_test_upload(rt, &bdy, dy, outs, "output gradient");
    check_backward(rt, net, twin, &bx, &bx_t, &bdy, &bdy);
    free(dy);
    cn_buffer *all[] = {&bx, &bx_t, &bdy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
}

static void test_generator(cn_runtime *rt, cn_coop *a, cn_coop *b, cn_test_rng *r) {
    printf("generator: g'(h^T) = g(h)^T, dg'/dh^T = (dg/dh)^T\n");
    cn_net *net = &a->generator, *twin = &b->generator;
    const cn_layer *last = net->layers[net->layer_count - 1];
    cn_buffer bh, bh_t, bdy, bdy_t;
    random_input(rt, net, r, &bh, &bh_t);
    check_forward(rt, net, twin, &bh, &bh_t);
    const size_t outs = BATCH * cn_net_output_size(net);
    float *dy = malloc(outs * sizeof *dy), *dy_t = malloc(outs * sizeof *dy_t);
    cn_test_fill_uniform(r, dy, outs, -1, 1);
    transpose_planes(dy, dy_t, BATCH * (size_t)last->out_c, last->out_h);
    cn_test_upload(rt, &bdy, dy, outs, "output gradient");
    cn_test_upload(rt, &bdy_t, dy_t, outs, "transposed output gradient");
    check_backward(rt, net, twin, &bh, &bh_t, &bdy, &bdy_t);
    free(dy);
    free(dy_t);
    cn_buffer *all[] = {&bh, &bh_t, &bdy, &bdy_t};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
}

/* Uploads x (rows of `planes` square planes each) to a and x^T to b. */
static void write_pair(cn_runtime *rt, cn_buffer *a, cn_buffer *b, const float *x, size_t rows, size_t planes,
                       int side) {
    const size_t n = rows * planes * side * side;
    float *x_t = malloc(n * sizeof *x_t);
    transpose_planes(x, x_t, rows * planes, side);
    CHECK_OK(cn_buffer_write(rt, a, 0, x, n * sizeof *x, TE));
    CHECK_OK(cn_buffer_write(rt, b, 0, x_t, n * sizeof *x_t, TE));
    free(x_t);
}

/* What a step moved from `start` in a, against the same in b (started from start^T). */
static void check_moved(cn_runtime *rt, const char *what, const cn_buffer *a, const cn_buffer *b, const float *start,
                        size_t rows, size_t planes, int side) {
    const size_t n = rows * planes * side * side;
    float *got_a = download(rt, a, n), *got_b = download(rt, b, n), *start_t = malloc(n * sizeof *start_t);
    transpose_planes(start, start_t, rows * planes, side);
    for (size_t i = 0; i < n; i++) got_a[i] -= start[i], got_b[i] -= start_t[i];
    check_transposed(what, got_a, got_b, rows * planes, side);
    free(got_a);
    free(got_b);
    free(start_t);
}

/* Descriptor revision of the chains, then generator inference of h towards them, noise off. */
static void test_langevin(cn_runtime *rt, cn_coop *a, cn_coop *b, cn_test_rng *r) {
    printf("Langevin without noise: revision of Y^T and inference of h^T under transposed weights\n");
    const cn_config *c = &a->config;
    const size_t m = a->chain_count, channels = (size_t)c->data.channels;
    const size_t latent_c = (size_t)c->generator.latent_channels;
    const int side = c->data.image_size, latent_side = c->generator.latent_size;
    float *y = malloc(m * a->image_floats * sizeof *y), *h = malloc(m * a->latent_floats * sizeof *h);
    cn_test_fill_uniform(r, y, m * a->image_floats, -1, 1);
    write_pair(rt, &a->chains, &b->chains, y, m, channels, side);
    CHECK_OK(cn_coop_revise(rt, a, 0, 0, TE));
    CHECK_OK(cn_coop_revise(rt, b, 0, 0, TE));
    check_moved(rt, "revised chains - start", &a->chains, &b->chains, y, m, channels, side);
    /* the revised chains of b are those of a transposed (just checked): the targets correspond */
    cn_test_fill_uniform(r, h, m * a->latent_floats, -1.5, 1.5);
    write_pair(rt, &a->latent, &b->latent, h, m, latent_c, latent_side);
    CHECK_OK(cn_coop_infer_latent(rt, a, 0, TE));
    CHECK_OK(cn_coop_infer_latent(rt, b, 0, TE));
    check_moved(rt, "inferred latent - start", &a->latent, &b->latent, h, m, latent_c, latent_side);
    free(y);
    free(h);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_config c;
    CHECK_OK(cn_config_parse(config_json, "equivariance", NULL, 0, &c, TE));
    cn_coop a, b;
    CHECK_OK(cn_coop_create(rt, &c, &a, TE));
    CHECK_OK(cn_coop_create(rt, &c, &b, TE));
    cn_test_rng r = {20240611};
    set_random_params(rt, &a.descriptor, &b.descriptor, &r);
    set_random_params(rt, &a.generator, &b.generator, &r);
    test_descriptor(rt, &a, &b, &r);
    test_generator(rt, &a, &b, &r);
    test_langevin(rt, &a, &b, &r);
    cn_coop_free(rt, &a);
    cn_coop_free(rt, &b);
    return cn_test_finish();
}
