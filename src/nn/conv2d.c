/* Convolution and transposed convolution through one path: the conv as a GEMM over the column
 * matrix of its input (im2col), with the output-shaped tensor in pixel-major order ([images * P]
 * [out_c]) around it. In that orientation every product streams short-strided rows (measured on
 * PoCL: ~65 GFLOP/s, where products striding across the whole chunk ran at 12). The batch is cut
 * into chunks so that the workspace stays bounded.
 *
 * Where the GEMM gathers (cn_gemm_gathers: our packed kernels), no column matrix is written but
 * backward_data's: forward pads each chunk's images (pad_planes) and the GEMM gathers the patches
 * from them, with no edges to check (gathering from the unpadded input, with a bounds check per
 * entry, measured slower than im2col and a separate pack); backward_data reads the output gradient
 * in pixel-major order where it lies; backward_params reads it and the patches of x where they
 * lie, one product over the whole batch. Forward still stores y pixel-major and transposes it
 * (storing NCHW from the GEMM's tile measured slower). Elsewhere (CLBlast, our other variants)
 * every pass lowers explicitly.
 * backward_data folds its column matrix with col2im, channel-last when in_c is a multiple of 8
 * (see col2im_by_channels). Thin convs take the direct path when the conv variant allows (see
 * runs_direct): there the column matrix, k_h * k_w times the input, costs more than the product,
 * which is only out_c wide; so do wide convs whose rows fill the direct kernel's vectors, which
 * then runs near the GEMM's rate with no lowering at all. A strided one runs as the stride-1 conv
 * of its input split space to depth (see direct_conv). */
#include "coopnets/cn_conv2d.h"

#include "coopnets/cn_bias.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "coopnets/cn_gemm.h"
#include "coopnets/cn_tuning.h"

/* A chunk's workspace stays below this many floats (32 MiB) unless one image alone needs more. */
#define CN_CONV2D_CHUNK_FLOATS ((size_t)8 << 20)
/* The lowering kernels' work-groups: 16 work-items along dimension 0 (one vector on PoCL), 16 rows
 * along dimension 1, so that a launch is a few thousand groups rather than one per row. */
#define CN_CONV2D_LOCAL_0 16
#define CN_CONV2D_LOCAL_1 16
/* cn_conv_direct_pad's work-groups: this many padded rows of one plane, a work-item per row. */
#define CN_CONV2D_PAD_ROWS 16
#define CN_CONV2D_TRANSPOSE_BLOCK 8 /* cn_transpose moves 8 x 8 blocks (CN_TRANSPOSE_BLOCK in cl/im2col.cl) */
#define CN_CONV2D_COL2IM_CHANNELS 8 /* cn_col2im_channels' vector of channels (CN_COL2IM_CHANNELS) */

/* ---- shapes ------------------------------------------------------------------------------------ */

static const char *padding_name(cn_conv_padding pad) {
    return pad == CN_CONV_PAD_SAME ? "SAME" : pad == CN_CONV_PAD_VALID ? "VALID" : "EXPLICIT";
}

/* Output size and leading padding along one axis; 0 output when the kernel does not fit. */
static void axis(int in, int k, int stride, cn_conv_padding pad, int explicit_pad, int *out, int *before) {
    if (pad == CN_CONV_PAD_SAME) {
        *out = (in + stride - 1) / stride;
        const int total = (*out - 1) * stride + k - in;
        *before = total > 0 ? total / 2 : 0;
    } else {
        const int p = pad == CN_CONV_PAD_EXPLICIT ? explicit_pad : 0;
        *out = in + 2 * p >= k ? (in + 2 * p - k) / stride + 1 : 0;
        *before = p;
    }
}

cn_status cn_conv2d_shape_make(cn_conv2d_shape *s, int in_c, int in_h, int in_w, int out_c, int k, int stride,
                               cn_conv_padding pad, int explicit_pad, cn_error *e) {
    if (in_c < 1 || in_h < 1 || in_w < 1 || out_c < 1 || k < 1 || stride < 1)
        return cn_error_set(e, CN_ERR_ARG,
                            "conv2d: sizes must be positive (in %dx%dx%d, out_c %d, kernel %d, stride %d)", in_c,
                            in_h, in_w, out_c, k, stride);
    if (pad == CN_CONV_PAD_EXPLICIT && explicit_pad < 0)
        return cn_error_set(e, CN_ERR_ARG, "conv2d: explicit padding %d must be >= 0", explicit_pad);
    /* cn_im2col splits a row index into (c, i, j) through a float quotient, exact below 2^22. */
    if ((long long)in_c * k * k >= (1LL << 22))
        return cn_error_set(e, CN_ERR_ARG, "conv2d: in_c %d x kernel %dx%d = %lld column entries, more than 4194303",
                            in_c, k, k, (long long)in_c * k * k);
    cn_conv2d_shape r = {.in_c = in_c, .in_h = in_h, .in_w = in_w, .out_c = out_c, .k_h = k, .k_w = k,
                         .stride = stride};
    axis(in_h, k, stride, pad, explicit_pad, &r.out_h, &r.pad_top);
    axis(in_w, k, stride, pad, explicit_pad, &r.out_w, &r.pad_left);
    if (r.out_h < 1 || r.out_w < 1)
        return cn_error_set(e, CN_ERR_ARG, "conv2d: a %dx%d kernel with %s padding does not fit a %dx%d input", k,
                            k, padding_name(pad), in_h, in_w);
    *s = r;
    return CN_OK;
}

cn_status cn_deconv2d_shape_make(cn_conv2d_shape *conv, int in_c, int in_h, int in_w, int out_c, int out_h,
                                 int out_w, int k, int stride, cn_conv_padding pad, cn_error *e) {
    if (pad == CN_CONV_PAD_EXPLICIT)
        return cn_error_set(e, CN_ERR_ARG, "deconv2d: padding must be SAME or VALID");
    cn_conv2d_shape s;
    cn_status st = cn_conv2d_shape_make(&s, out_c, out_h, out_w, in_c, k, stride, pad, 0, e);
    if (st != CN_OK) {
        cn_error_prefix(e, "deconv2d %dx%d -> %dx%d", in_h, in_w, out_h, out_w);
        return st;
    }
    if (s.out_h != in_h || s.out_w != in_w)
        return cn_error_set(e, CN_ERR_ARG,
                            "deconv2d: k%d s%d %s cannot map %dx%d to %dx%d: the conv it is the adjoint of takes "
                            "%dx%d to %dx%d, not %dx%d",
                            k, stride, padding_name(pad), in_h, in_w, out_h, out_w, out_h, out_w, s.out_h, s.out_w,
                            in_h, in_w);
    *conv = s;
    return CN_OK;
}

/* ---- sizes and chunks ------------------------------------------------------------------------- */

static size_t kernel_rows(const cn_conv2d_shape *s) { return (size_t)s->in_c * s->k_h * s->k_w; }
static size_t out_pixels(const cn_conv2d_shape *s) { return (size_t)s->out_h * s->out_w; }
static size_t in_floats(const cn_conv2d_shape *s) { return (size_t)s->in_c * s->in_h * s->in_w; }
static size_t out_floats(const cn_conv2d_shape *s) { return (size_t)s->out_c * out_pixels(s); }
static size_t weight_floats(const cn_conv2d_shape *s) { return (size_t)s->out_c * kernel_rows(s); }
static size_t chunk_floats_per_image(const cn_conv2d_shape *s) { return (kernel_rows(s) + s->out_c) * out_pixels(s); }

static size_t chunk_images(const cn_conv2d_shape *s, size_t n) {
    size_t images = CN_CONV2D_CHUNK_FLOATS / chunk_floats_per_image(s);
    if (images < 1) images = 1;
    return images < n ? images : n;
}

/* When in_c is a multiple of cn_col2im_channels' vector, backward_data orders each column-matrix
 * row (i, j, c) and gathers it channel-last, a vector of channels at a time; the channel-last
 * images are then transposed into dx. (im2col the same way measured no faster than cn_im2col.) */
static int col2im_by_channels(const cn_conv2d_shape *s) { return s->in_c % CN_CONV2D_COL2IM_CHANNELS == 0; }

static size_t lowered_workspace_floats(const cn_conv2d_shape *s, size_t n) {
    const size_t channel_last = col2im_by_channels(s) ? in_floats(s) : 0;
    return weight_floats(s) + chunk_images(s, n) * (chunk_floats_per_image(s) + channel_last);
}

static size_t direct_workspace_floats(const cn_conv2d_shape *s, size_t n);

size_t cn_conv2d_workspace_floats(const cn_conv2d_shape *s, size_t n) {
    if (n == 0) return 0;
    const size_t lowered = lowered_workspace_floats(s, n), direct = direct_workspace_floats(s, n);
    return lowered > direct ? lowered : direct;
}

/* ---- checks ----------------------------------------------------------------------------------- */

/* in_shaped / out_shaped: the pass's tensors shaped like the conv's input and output, whichever
 * way the pass runs; w: the weights or their gradient. */
static cn_status check_pass(const char *pass, const cn_conv2d_shape *s, size_t n, const cn_buffer *in_shaped,
                            const cn_buffer *out_shaped, const cn_buffer *w, const cn_buffer *ws, cn_error *e) {
    if (!s || s->in_c < 1 || s->in_h < 1 || s->in_w < 1 || s->out_c < 1 || s->out_h < 1 || s->out_w < 1 ||
        s->k_h < 1 || s->k_w < 1 || s->stride < 1 || s->pad_top < 0 || s->pad_left < 0)
        return cn_error_set(e, CN_ERR_ARG, "%s: invalid shape (make it with cn_conv2d_shape_make)", pass);
    char what[96];
    snprintf(what, sizeof what, "the [%zu, %d, %d, %d] tensor", n, s->in_c, s->in_h, s->in_w);
    CN_TRY(cn_buffer_check_floats(in_shaped, n * in_floats(s), pass, what, e));
    snprintf(what, sizeof what, "the [%zu, %d, %d, %d] tensor", n, s->out_c, s->out_h, s->out_w);
    CN_TRY(cn_buffer_check_floats(out_shaped, n * out_floats(s), pass, what, e));
    snprintf(what, sizeof what, "the [%d, %d, %d, %d] weights", s->out_c, s->in_c, s->k_h, s->k_w);
    CN_TRY(cn_buffer_check_floats(w, weight_floats(s), pass, what, e));
    return cn_buffer_check_floats(ws, cn_conv2d_workspace_floats(s, n), pass, "the workspace", e);
}

/* ---- kernels ---------------------------------------------------------------------------------- */

/* `moved`: floats read plus written, for an attached profile's GB/s. */
static cn_status run_im2col_kernel(cn_runtime *rt, cn_kernel_id kernel, size_t d0, size_t d1, size_t d2, double moved,
                                   const cn_arg *args, size_t nargs, cn_error *e) {
    cl_kernel k;
    CN_TRY(cn_kernel_by_id(rt, kernel, &k, e));
    size_t local[3];
    CN_TRY(cn_local_size(rt, k, 3, (const size_t[]){CN_CONV2D_LOCAL_0, CN_CONV2D_LOCAL_1, 1}, local, e));
    const size_t global[3] = {cn_round_up(d0, local[0]), cn_round_up(d1, local[1]), d2};
    return cn_launch_counted(rt, k, 3, global, local, args, nargs, 0, moved * sizeof(float), e);
}

#define SHAPE_ARGS(s)                                                                                          \
    CN_I32((s)->in_c), CN_I32((s)->in_h), CN_I32((s)->in_w), CN_I32((s)->out_h), CN_I32((s)->out_w),          \
        CN_I32((s)->k_h), CN_I32((s)->k_w), CN_I32((s)->stride), CN_I32((s)->pad_top), CN_I32((s)->pad_left)

/* Floats im2col and col2im each move for `images` images: the images and their column matrix. */
static double im2col_moved(const cn_conv2d_shape *s, size_t images) {
    return (double)images * (double)(in_floats(s) + out_pixels(s) * kernel_rows(s));
}

/* The column matrix of images [first, first + images) of x, at the start of col. */
static cn_status im2col(cn_runtime *rt, const cn_conv2d_shape *s, const cn_buffer *x, size_t first, size_t images,
                        cn_buffer *col, cn_error *e) {
    const size_t columns = images * out_pixels(s);
    const cn_arg args[] = {CN_MEM(x), CN_U64(first * in_floats(s)), CN_MEM(col), SHAPE_ARGS(s), CN_I32((int)columns)};
    return run_im2col_kernel(rt, CN_KERNEL_IM2COL, kernel_rows(s), columns, 1, im2col_moved(s, images), args,
                             sizeof args / sizeof *args, e);
}

static cn_status col2im(cn_runtime *rt, const cn_conv2d_shape *s, const cn_buffer *col, cn_buffer *x, size_t first,
                        size_t images, cn_error *e) {
    const cn_arg args[] = {CN_MEM(col), CN_MEM(x), CN_U64(first * in_floats(s)), SHAPE_ARGS(s)};
    return run_im2col_kernel(rt, CN_KERNEL_COL2IM, (size_t)s->in_w, (size_t)s->in_h, images, im2col_moved(s, images),
                             args, sizeof args / sizeof *args, e);
}

/* cn_col2im over (i, j, c)-ordered rows: the chunk's images channel-last in ws at `offset`. */
static cn_status col2im_channel_last(cn_runtime *rt, const cn_conv2d_shape *s, cn_buffer *ws, size_t offset,
                                     size_t images, cn_error *e) {
    const cn_arg args[] = {CN_MEM(ws), CN_MEM(ws), CN_U64(offset), SHAPE_ARGS(s)};
    return run_im2col_kernel(rt, CN_KERNEL_COL2IM_CHANNELS, (size_t)s->in_c / CN_CONV2D_COL2IM_CHANNELS,
                             (size_t)s->in_h * s->in_w, images, im2col_moved(s, images), args,
                             sizeof args / sizeof *args, e);
}

/* dst[b][j][i] = src[b][i][j] for `batch` rows x cols matrices; with an epilogue, row j of dst is
 * output channel j, stored as act(value + bias[j]). */
static cn_status transpose(cn_runtime *rt, const cn_buffer *src, size_t src_offset, cn_buffer *dst,
                           size_t dst_offset, size_t rows, size_t cols, size_t batch, const cn_epilogue *epi,
                           cn_error *e) {
    const cn_arg args[] = {CN_MEM(src), CN_U64(src_offset), CN_MEM(dst), CN_U64(dst_offset), CN_U64(rows),
                           CN_U64(cols), CN_EPILOGUE_KERNEL_ARGS(epi, src)};
    const size_t row_blocks = cn_round_up(rows, CN_CONV2D_TRANSPOSE_BLOCK) / CN_CONV2D_TRANSPOSE_BLOCK;
    const size_t col_blocks = cn_round_up(cols, CN_CONV2D_TRANSPOSE_BLOCK) / CN_CONV2D_TRANSPOSE_BLOCK;
    const double moved = 2.0 * (double)(rows * cols * batch);
    return run_im2col_kernel(rt, CN_KERNEL_TRANSPOSE, row_blocks, col_blocks, batch, moved, args,
                             sizeof args / sizeof *args, e);
}

/* ---- the direct path (cl/conv_direct.cl) ------------------------------------------------------ */

/* A stride-1 conv as the direct kernels run it: the conv itself (forward), or the conv that its
 * backward data pass is (input: the output gradient; weights transposed and flipped). A stride-s
 * conv runs as the stride-1 conv of its input split space to depth (s2d = s: the pad kernel
 * splits it, s^2 times the channels, a ceil(k / s) kernel: the weights kernel maps the taps); its
 * backward data pass as that conv's, whose output, the space-to-depth image's gradient, goes back
 * to depth-to-space (cn_conv_direct_depth_to_space). inputs, outputs, k_h, k_w: the stride-1
 * conv's; in_h, in_w: the image before padding (and splitting). */
typedef struct {
    int inputs, in_h, in_w, outputs, out_h, out_w, k_h, k_w, top, left, flip;
    int s2d, stride, conv_k_h, conv_k_w; /* the pad's split, the conv's stride and kernel */
} direct_conv;

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

static direct_conv direct_forward_conv(const cn_conv2d_shape *s) {
    const int st = s->stride;
    return (direct_conv){s->in_c * st * st, s->in_h, s->in_w, s->out_c, s->out_h, s->out_w, ceil_div(s->k_h, st),
                         ceil_div(s->k_w, st), s->pad_top, s->pad_left, 0, st, st, s->k_h, s->k_w};
}

static direct_conv direct_backward_conv(const cn_conv2d_shape *s) {
    const int st = s->stride;
    if (st == 1)
        return (direct_conv){s->out_c, s->out_h, s->out_w, s->in_c, s->in_h, s->in_w, s->k_h, s->k_w,
                             s->k_h - 1 - s->pad_top, s->k_w - 1 - s->pad_left, 1, 1, 1, s->k_h, s->k_w};
    /* the full correlation of dy over the forward's whole space-to-depth image */
    const direct_conv f = direct_forward_conv(s);
    return (direct_conv){s->out_c, s->out_h, s->out_w, f.inputs, s->out_h + f.k_h - 1, s->out_w + f.k_w - 1,
                         f.k_h, f.k_w, f.k_h - 1, f.k_w - 1, 1, 1, st, s->k_h, s->k_w};
}

/* A direct kernel's work-item: nx vectors of v output pixels along each of ny rows, times ob
 * output channels. */
typedef struct {
    int v, nx, ny, ob;
} direct_tile;

/* The forward tiles cl/conv_direct.cl instantiates, by vector width and vectors, channels
 * ascending (its weight-gradient kernels: v x 1 x 4). */
static const direct_tile direct_tiles[] = {
    {8, 1, 1, 4},   {8, 1, 1, 8},   {8, 1, 1, 12},  {8, 2, 1, 4},   {8, 2, 1, 6},   {8, 1, 2, 4},
    {8, 1, 2, 6},   {16, 1, 1, 4},  {16, 1, 1, 8},  {16, 1, 1, 12}, {16, 1, 1, 16}, {16, 1, 1, 24},
    {16, 2, 1, 4},  {16, 2, 1, 8},  {16, 2, 1, 12}, {16, 1, 2, 4},  {16, 1, 2, 8},  {16, 1, 2, 12},
};
#define DIRECT_TILE_COUNT (sizeof direct_tiles / sizeof *direct_tiles)

static int direct_vector(const cn_runtime *rt) { return rt->device.float_width >= 16 ? 16 : 8; }

static int same_shape(direct_tile t, int v, int nx, int ny) { return t.v == v && t.nx == nx && t.ny == ny; }

/* The tile of nx x ny vectors of width v: the channel blocks as even as the instantiated sizes of
 * at most `most` channels allow, at most the largest (what fits the vector registers). */
static direct_tile direct_tile_of(int v, int nx, int ny, int most, const direct_conv *d) {
    int largest = 0;
    for (size_t i = 0; i < DIRECT_TILE_COUNT; i++)
        if (same_shape(direct_tiles[i], v, nx, ny) && direct_tiles[i].ob <= most) largest = direct_tiles[i].ob;
    const int blocks = (d->outputs + largest - 1) / largest, need = (d->outputs + blocks - 1) / blocks;
    for (size_t i = 0; i < DIRECT_TILE_COUNT; i++)
        if (same_shape(direct_tiles[i], v, nx, ny) && direct_tiles[i].ob >= need) return direct_tiles[i];
    return direct_tiles[0]; /* not reached: the largest is at least need */
}

/* The forward kernels' tile: two vectors per tap, so that each weight broadcast feeds two FMAs:
 * along the row where the row is longer than one vector and two vectors waste no more lanes than
 * one (measured 1.2-1.9x one vector's GFLOP/s on configs/texture.json, four no better than two),
 * else down two rows (1.25x on scene64's 16x16 128 -> 256 k3, 238 -> 292-299 GFLOP/s forward; a
 * 75-wide row fills 75 of 80 lanes so, of 96 along the row). */
static direct_tile direct_tile_for(int v, const direct_conv *d) {
    const int vectors = ceil_div(d->out_w, v);
    const int nx = vectors > 1 && vectors % 2 == 0 ? 2 : 1, ny = nx == 1 && d->out_h > 1 ? 2 : 1;
    return direct_tile_of(v, nx, ny, INT_MAX, d);
}

/* The weight gradient's: one vector per work-item and at most 4 channels, whose gradient vectors
 * it reads from memory for every FMA: a work-item streams n * out_h * out_w * 4 floats of them,
 * which stay in a CPU's L2 for the work-items of the neighbouring taps (on configs/texture.json
 * 4 channels measured 1.5x faster than 24, 8 in between). */
static direct_tile direct_params_tile(int v, const direct_conv *d) { return direct_tile_of(v, 1, 1, 4, d); }

static int direct_blocks(const direct_conv *d, direct_tile t) { return (d->outputs + t.ob - 1) / t.ob; }

/* The padded images' rows and columns: every vector a work-item reads lies inside. */
static size_t direct_padded_h(const direct_conv *d) { return (size_t)d->out_h + d->k_h - 1; }
static size_t direct_padded_w(const direct_conv *d, direct_tile t) {
    return cn_round_up((size_t)d->out_w, (size_t)t.v * t.nx) + d->k_w - 1;
}
static size_t direct_padded_floats(const direct_conv *d, direct_tile t, size_t n) {
    return n * d->inputs * direct_padded_h(d) * direct_padded_w(d, t);
}
static size_t direct_weight_floats(const direct_conv *d, direct_tile t) {
    return (size_t)direct_blocks(d, t) * t.ob * d->inputs * d->k_h * d->k_w;
}
/* The backward data pass's output for a stride > 1: the space-to-depth image's gradient. */
static size_t direct_split_gradient_floats(const direct_conv *d, size_t n) {
    return n * d->outputs * d->out_h * d->out_w;
}
/* cn_conv_direct_params_dy's order of the output gradient (p: the params tile). */
static size_t direct_gradient_floats(const direct_conv *d, direct_tile p, size_t n) {
    return n * direct_blocks(d, p) * p.ob * d->out_h * cn_round_up((size_t)d->out_w, (size_t)p.v);
}

/* Whether the conv may run direct at all: stride 1, or a space-to-depth kernel that adds at most a
 * quarter to the multiply-adds: k9 s2 (100 taps for 81: texture.json's first layer, measured
 * 1.4-4x faster than lowered at 4 images) and k4 s2 (none) do; k5 s2 (+44%: scene64's first
 * layer, measured 15-35% slower at 144 images) and k3 s2 (+78%) stay lowered, and need no direct
 * workspace (scene64's first two layers would need 3-5x the lowered one). */
static int splits_cheaply(const cn_conv2d_shape *s) {
    const int st = s->stride, split_taps = st * st * ceil_div(s->k_h, st) * ceil_div(s->k_w, st);
    return 4 * split_taps <= 5 * s->k_h * s->k_w;
}

/* Workspace: the padded images at 0, then the arranged weights or the ordered output gradient;
 * the most any pass needs with either vector width (a tuned variant may switch to this path after
 * the workspace was sized). */
static size_t direct_workspace_floats(const cn_conv2d_shape *s, size_t n) {
    if (!splits_cheaply(s)) return 0;
    size_t most = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int v = 8; v <= 16; v += 8) {
            const direct_conv d = pass ? direct_backward_conv(s) : direct_forward_conv(s);
            const direct_tile t = direct_tile_for(v, &d), p = direct_params_tile(v, &d);
            const size_t padded = direct_padded_floats(&d, t, n), weights = direct_weight_floats(&d, t);
            /* forward: backward_params' ordered gradient (stride 1); backward: the space-to-depth
             * image's gradient after the weights (stride > 1) */
            const size_t gradient = !pass && s->stride == 1 ? direct_gradient_floats(&d, p, n) : 0;
            const size_t split = pass && s->stride > 1 ? direct_split_gradient_floats(&d, n) : 0;
            const size_t floats = padded + (weights + split > gradient ? weights + split : gradient);
            if (floats > most) most = floats;
        }
    return most;
}

/* Whether a pass of the conv s runs direct: the conv splits cheaply, the conv variant is direct
 * (cn_tuning: measured by `tune`, else the heuristic), and the pass's stride-1 conv d is thin (at
 * most as many output channels as the variant allows) or, for forward and backward data, its
 * output rows fill the tile's vectors (15/16 of the lanes or more): then the direct kernel runs
 * near the GEMM's rate without lowering (scene64's 16x16 128 -> 256 k3: 80 and 86 ms forward and
 * backward data at 144 images, against 105-126 and 99-113 lowered), where short rows waste lanes
 * (mnist28's 7-wide 64 -> 128 k4 s2: 1.3-2.2x slower direct; its 14-wide first layer, 14 of 16
 * lanes, gained no more than noise, 1.2-2.0 ms against 2.0, so it stays lowered). A wide weight
 * gradient stays lowered: its 4-channel tile re-reads the gradient for every tap (scene64's: 2.4x
 * slower direct). The weight gradient runs direct for stride-1 convs only. */
static int runs_direct(cn_runtime *rt, const cn_conv2d_shape *s, const direct_conv *d, int weight_gradient) {
    const cn_kernel_variant v = cn_tuning_variant(rt, CN_TUNED_CONV, NULL);
    if (v.kind != CN_VARIANT_DIRECT || !splits_cheaply(s)) return 0;
    if (d->outputs <= (int)v.p) return 1;
    if (weight_gradient) return 0;
    const direct_tile t = direct_tile_for(direct_vector(rt), d);
    return 16 * (size_t)d->out_w >= 15 * cn_round_up((size_t)d->out_w, (size_t)t.v * t.nx);
}

static cn_status direct_kernel(cn_runtime *rt, const char *name, cl_kernel *k, cn_error *e) {
    return cn_kernel_get(rt, "conv_direct", NULL, name, k, e);
}

/* The h x w planes of `in` from in_offset, padded to hp x wp (top rows and left columns of zeros
 * first, the rest of the padding after, or cut where hp or wp is smaller) and split space to depth
 * by s2d (1: not), `planes` padded planes (s2d^2 per plane of in) at the start of ws
 * (cl/conv_direct.cl's cn_conv_direct_pad). */
static cn_status pad_planes(cn_runtime *rt, const cn_buffer *in, size_t in_offset, size_t planes, int h, int w,
                            size_t hp, size_t wp, int top, int left, int s2d, cn_buffer *ws, cn_error *e) {
    cl_kernel k;
    size_t local[3];
    CN_TRY(direct_kernel(rt, "cn_conv_direct_pad", &k, e));
    const cn_arg args[] = {CN_MEM(in), CN_U64(in_offset), CN_MEM(ws), CN_I32(h), CN_I32(w),
                           CN_I32((int)hp), CN_I32((int)wp), CN_I32(top), CN_I32(left), CN_I32(s2d)};
    CN_TRY(cn_local_size(rt, k, 2, (const size_t[]){CN_CONV2D_PAD_ROWS, 1}, local, e));
    const size_t global[2] = {cn_round_up(hp, local[0]), cn_round_up(planes, local[1])};
    const double moved = (double)planes * ((double)hp * wp + (double)h * w / (s2d * s2d));
    return cn_launch_counted(rt, k, 2, global, local, args, sizeof args / sizeof *args, 0, moved * sizeof(float), e);
}

/* The images `in` of the direct conv d, padded for tile t, at the start of ws. */
static cn_status direct_pad(cn_runtime *rt, const direct_conv *d, direct_tile t, size_t n, const cn_buffer *in,
                            cn_buffer *ws, cn_error *e) {
    return pad_planes(rt, in, 0, n * d->inputs, d->in_h, d->in_w, direct_padded_h(d), direct_padded_w(d, t), d->top,
                      d->left, d->s2d, ws, e);
}

/* out ([n][d->outputs][out_h][out_w] from out_offset) = the direct conv d of in with the weights
 * w, through epi when given. */
static cn_status direct_run(cn_runtime *rt, const direct_conv *d, size_t n, const cn_buffer *in, const cn_buffer *w,
                            const cn_epilogue *epi, cn_buffer *out, size_t out_offset, cn_buffer *ws, cn_error *e) {
    const direct_tile t = direct_tile_for(direct_vector(rt), d);
    const int blocks = direct_blocks(d, t);
    const size_t hp = direct_padded_h(d), wp = direct_padded_w(d, t), taps = (size_t)d->k_h * d->k_w;
    const size_t weights_at = direct_padded_floats(d, t, n);
    const int cpu = (rt->device.type & CL_DEVICE_TYPE_CPU) != 0;
    cl_kernel k;
    size_t local[3];

    CN_TRY(direct_pad(rt, d, t, n, in, ws, e));
    const double padded = (double)direct_padded_floats(d, t, n);

    CN_TRY(direct_kernel(rt, "cn_conv_direct_weights", &k, e));
    const cn_arg weight_args[] = {CN_MEM(w), CN_MEM(ws), CN_U64(weights_at), CN_I32(d->outputs), CN_I32(d->inputs),
                                  CN_I32(d->k_h), CN_I32(d->k_w), CN_I32(t.ob), CN_I32(blocks), CN_I32(d->flip),
                                  CN_I32(d->stride), CN_I32(d->conv_k_h), CN_I32(d->conv_k_w)};
    CN_TRY(cn_local_size(rt, k, 3, (const size_t[]){CN_CONV2D_LOCAL_0, CN_CONV2D_LOCAL_1, 1}, local, e));
    const size_t weight_global[3] = {cn_round_up((size_t)blocks * t.ob, local[0]),
                                     cn_round_up((size_t)d->inputs * taps, local[1]), 1};
    CN_TRY(cn_launch_counted(rt, k, 3, weight_global, local, weight_args, sizeof weight_args / sizeof *weight_args,
                             0, 2.0 * (double)direct_weight_floats(d, t) * sizeof(float), e));

    char name[48];
    snprintf(name, sizeof name, "cn_conv_direct_v%dx%dx%d_%d", t.v, t.nx, t.ny, t.ob);
    CN_TRY(direct_kernel(rt, name, &k, e));
    const cn_arg args[] = {CN_MEM(ws), CN_I32(d->inputs), CN_I32((int)hp), CN_I32((int)wp), CN_MEM(ws),
                           CN_U64(weights_at), CN_MEM(out), CN_U64(out_offset), CN_I32(d->outputs),
                           CN_I32(d->out_h), CN_I32(d->out_w), CN_I32(d->k_h), CN_I32(d->k_w),
                           CN_EPILOGUE_KERNEL_ARGS(epi, out)};
    /* CPUs (PoCL) run a work-item per work-group, as the GEMM's register kernels do. */
    CN_TRY(cn_local_size(rt, k, 3, cpu ? (const size_t[]){1, 1, 1} : (const size_t[]){4, 8, 1}, local, e));
    const size_t global[3] = {cn_round_up(cn_round_up((size_t)d->out_w, (size_t)t.v * t.nx) / (t.v * t.nx), local[0]),
                              cn_round_up(cn_round_up((size_t)d->out_h, (size_t)t.ny) / t.ny, local[1]), n * blocks};
    const double flops = 2.0 * (double)n * d->outputs * d->out_h * d->out_w * d->inputs * taps;
    const double moved = padded + (double)direct_weight_floats(d, t) + (double)n * d->outputs * d->out_h * d->out_w;
    return cn_launch_counted(rt, k, 3, global, local, args, sizeof args / sizeof *args, flops, moved * sizeof(float), e);
}

/* dx = backward_data of the conv s by its direct conv d: straight into dx for stride 1; else into
 * the space-to-depth image's gradient after the weights in ws, then depth to space into dx. */
static cn_status direct_backward_data(cn_runtime *rt, const cn_conv2d_shape *s, const direct_conv *d, size_t n,
                                      const cn_buffer *dy, const cn_buffer *w, const cn_epilogue *epi, cn_buffer *dx,
                                      cn_buffer *ws, cn_error *e) {
    if (s->stride == 1) return direct_run(rt, d, n, dy, w, epi, dx, 0, ws, e);
    const direct_tile t = direct_tile_for(direct_vector(rt), d);
    const size_t split_at = direct_padded_floats(d, t, n) + direct_weight_floats(d, t);
    CN_TRY(direct_run(rt, d, n, dy, w, NULL, ws, split_at, ws, e));
    cl_kernel k;
    size_t local[3];
    CN_TRY(direct_kernel(rt, "cn_conv_direct_depth_to_space", &k, e));
    const cn_arg args[] = {CN_MEM(ws),        CN_U64(split_at),      CN_MEM(dx),         CN_I32(s->in_c),
                           CN_I32(s->in_h),   CN_I32(s->in_w),       CN_I32(d->out_h),   CN_I32(d->out_w),
                           CN_I32(s->pad_top), CN_I32(s->pad_left),  CN_I32(s->stride),  CN_EPILOGUE_KERNEL_ARGS(epi, dx)};
    CN_TRY(cn_local_size(rt, k, 3, (const size_t[]){CN_CONV2D_LOCAL_0, CN_CONV2D_LOCAL_1, 1}, local, e));
    const size_t global[3] = {cn_round_up((size_t)s->in_w, local[0]), cn_round_up((size_t)s->in_h, local[1]),
                              n * s->in_c};
    const double moved = (double)n * in_floats(s) * 2.0;
    return cn_launch_counted(rt, k, 3, global, local, args, sizeof args / sizeof *args, 0, moved * sizeof(float), e);
}

/* dw = the weight gradient of the direct conv d (a forward one) from its input x and output
 * gradient dy, summed over the n images. */
static cn_status direct_params(cn_runtime *rt, const direct_conv *d, size_t n, const cn_buffer *x,
                               const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws, cn_error *e) {
    const int v = direct_vector(rt);
    const direct_tile t = direct_tile_for(v, d), p = direct_params_tile(v, d);
    const int blocks = direct_blocks(d, p), vectors = (int)(cn_round_up((size_t)d->out_w, (size_t)v) / v);
    const size_t gradient_at = direct_padded_floats(d, t, n), taps = (size_t)d->k_h * d->k_w;
    cl_kernel k;
    size_t local[3];
    CN_TRY(direct_pad(rt, d, t, n, x, ws, e));

    CN_TRY(direct_kernel(rt, "cn_conv_direct_params_dy", &k, e));
    const cn_arg order_args[] = {CN_MEM(dy), CN_MEM(ws), CN_U64(gradient_at), CN_I32(d->outputs), CN_I32(d->out_h),
                                 CN_I32(d->out_w), CN_I32(v), CN_I32(p.ob), CN_I32(blocks)};
    CN_TRY(cn_local_size(rt, k, 3, (const size_t[]){CN_CONV2D_LOCAL_0, CN_CONV2D_LOCAL_1, 1}, local, e));
    const size_t order_global[3] = {cn_round_up((size_t)vectors * p.ob * v, local[0]),
                                    cn_round_up((size_t)d->out_h, local[1]), n * blocks};
    const double gradient = (double)direct_gradient_floats(d, p, n);
    CN_TRY(cn_launch_counted(rt, k, 3, order_global, local, order_args, sizeof order_args / sizeof *order_args, 0,
                             (gradient + (double)n * d->outputs * d->out_h * d->out_w) * sizeof(float), e));

    char name[48];
    snprintf(name, sizeof name, "cn_conv_direct_params_v%d_%d", p.v, p.ob);
    CN_TRY(direct_kernel(rt, name, &k, e));
    const cn_arg args[] = {CN_MEM(ws), CN_I32(d->inputs), CN_I32((int)direct_padded_h(d)),
                           CN_I32((int)direct_padded_w(d, t)), CN_MEM(ws), CN_U64(gradient_at), CN_MEM(dw),
                           CN_I32(d->outputs), CN_I32(d->out_h), CN_I32(d->out_w), CN_I32(d->k_h), CN_I32(d->k_w),
                           CN_I32((int)n)};
    const int cpu = (rt->device.type & CL_DEVICE_TYPE_CPU) != 0;
    CN_TRY(cn_local_size(rt, k, 3, cpu ? (const size_t[]){1, 1, 1} : (const size_t[]){8, 4, 1}, local, e));
    const size_t global[3] = {cn_round_up(taps, local[0]), cn_round_up((size_t)d->inputs, local[1]), (size_t)blocks};
    const double flops = 2.0 * (double)n * d->outputs * d->out_h * d->out_w * d->inputs * taps;
    const double moved = (double)direct_padded_floats(d, t, n) + gradient + (double)d->outputs * d->inputs * taps;
    return cn_launch_counted(rt, k, 3, global, local, args, sizeof args / sizeof *args, flops, moved * sizeof(float), e);
}

/* ---- the three passes ------------------------------------------------------------------------- */

/* Workspace: per chunk the column matrix [columns][K] at 0 (a gathering forward pass puts the
 * chunk's padded images there instead, see padded_conv) and the output-shaped tensor in
 * pixel-major order [columns][out_c], columns = images * P; after the largest chunk, the weights
 * transposed [K][out_c] (forward) or permuted [out_c][k_h][k_w][in_c] (backward_data by
 * channels), then the chunk's images channel-last [images][in_h][in_w][in_c] (backward_data by
 * channels). The last region stays out of the chunk size: it would change the GEMMs' shapes. */
typedef struct {
    size_t first, images, columns, pixel_offset;
} chunk;

static size_t transposed_weights_offset(const cn_conv2d_shape *s, size_t n) {
    return chunk_images(s, n) * chunk_floats_per_image(s);
}

static chunk chunk_at(const cn_conv2d_shape *s, size_t n, size_t first) {
    const size_t per = chunk_images(s, n);
    chunk c = {.first = first, .images = n - first < per ? n - first : per};
    c.columns = c.images * out_pixels(s);
    c.pixel_offset = kernel_rows(s) * c.columns;
    return c;
}

/* t (output-shaped, NCHW) of the chunk's images -> pixel-major [columns][out_c] in ws. */
static cn_status to_pixel_major(cn_runtime *rt, const cn_conv2d_shape *s, const chunk *c, const cn_buffer *t,
                                cn_buffer *ws, cn_error *e) {
    return transpose(rt, t, c->first * out_floats(s), ws, c->pixel_offset, (size_t)s->out_c, out_pixels(s),
                     c->images, NULL, e);
}

/* Whether the passes gather (see the top of this file): the GEMM can, and the batch's tensors
 * stay inside the 32-bit indices of its gathering kernels. */
static cn_status gathers(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, int *yes, cn_error *e) {
    CN_TRY(cn_gemm_gathers(rt, yes, e));
    const size_t largest = in_floats(s) > out_floats(s) ? in_floats(s) : out_floats(s);
    if (n > UINT32_MAX / largest) *yes = 0;
    return CN_OK;
}

/* The conv s on its input padded beforehand (pad_planes): no padding, and an input just large
 * enough for every window. 0 when the padded images would not fit where the column matrix goes. */
static int padded_conv(const cn_conv2d_shape *s, cn_conv2d_shape *padded) {
    *padded = *s;
    padded->in_h = (s->out_h - 1) * s->stride + s->k_h;
    padded->in_w = (s->out_w - 1) * s->stride + s->k_w;
    padded->pad_top = padded->pad_left = 0;
    return in_floats(padded) <= kernel_rows(s) * out_pixels(s);
}

static cn_status conv_forward(cn_runtime *rt, const char *pass, const cn_conv2d_shape *s, size_t n,
                              const cn_buffer *x, const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y,
                              cn_buffer *ws, cn_error *e) {
    CN_TRY(check_pass(pass, s, n, x, y, w, ws, e));
    CN_TRY(cn_epilogue_check(epi, (size_t)s->out_c, pass, e));
    if (n == 0) return CN_OK;
    const direct_conv d = direct_forward_conv(s);
    if (runs_direct(rt, s, &d, 0)) return direct_run(rt, &d, n, x, w, epi, y, 0, ws, e);
    int gathered;
    CN_TRY(gathers(rt, s, n, &gathered, e));
    cn_conv2d_shape padded;
    const int from_padded = gathered && padded_conv(s, &padded);
    const size_t wt = transposed_weights_offset(s, n);
    CN_TRY(transpose(rt, w, 0, ws, wt, (size_t)s->out_c, kernel_rows(s), 1, NULL, e));
    for (size_t first = 0; first < n; first += chunk_images(s, n)) {
        const chunk c = chunk_at(s, n, first);
        /* y[columns, out_c] = col[columns, K] * w^T[K, out_c] */
        cn_gemm_args g = {.m = c.columns, .n = (size_t)s->out_c, .k = kernel_rows(s), .alpha = 1.0f,
                          .a = ws, .lda = kernel_rows(s), .b = ws, .b_offset = wt, .ldb = (size_t)s->out_c,
                          .c = ws, .c_offset = c.pixel_offset, .ldc = (size_t)s->out_c};
        if (from_padded) {
            CN_TRY(pad_planes(rt, x, c.first * in_floats(s), c.images * s->in_c, s->in_h, s->in_w,
                              (size_t)padded.in_h, (size_t)padded.in_w, s->pad_top, s->pad_left, 1, ws, e));
            g.a_layout = CN_GEMM_PATCHES, g.conv = &padded;
        } else {
            CN_TRY(im2col(rt, s, x, c.first, c.images, ws, e));
        }
        CN_TRY(cn_gemm(rt, &g, e));
        CN_TRY(transpose(rt, ws, c.pixel_offset, y, c.first * out_floats(s), out_pixels(s), (size_t)s->out_c,
                         c.images, epi, e));
    }
    return CN_OK;
}

static cn_status conv_backward_data(cn_runtime *rt, const char *pass, const cn_conv2d_shape *s, size_t n,
                                    const cn_buffer *dy, const cn_buffer *w, const cn_epilogue *epi, cn_buffer *dx,
                                    cn_buffer *ws, cn_error *e) {
    CN_TRY(check_pass(pass, s, n, dx, dy, w, ws, e));
    CN_TRY(cn_epilogue_check(epi, (size_t)s->in_c, pass, e));
    if (n == 0) return CN_OK;
    const direct_conv d = direct_backward_conv(s);
    if (runs_direct(rt, s, &d, 0)) return direct_backward_data(rt, s, &d, n, dy, w, epi, dx, ws, e);
    int gathered;
    CN_TRY(gathers(rt, s, n, &gathered, e));
    const int by_channels = col2im_by_channels(s);
    const size_t taps = (size_t)s->k_h * s->k_w, permuted = transposed_weights_offset(s, n);
    const size_t channel_last = permuted + weight_floats(s);
    /* w[o][c][i][j] -> [o][i][j][c] */
    if (by_channels) CN_TRY(transpose(rt, w, 0, ws, permuted, (size_t)s->in_c, taps, (size_t)s->out_c, NULL, e));
    for (size_t first = 0; first < n; first += chunk_images(s, n)) {
        const chunk c = chunk_at(s, n, first);
        if (!gathered) CN_TRY(to_pixel_major(rt, s, &c, dy, ws, e));
        /* col[columns, K] = dy[columns, out_c] * w[out_c, K], K in (c, i, j) or (i, j, c) order */
        cn_gemm_args g = {.m = c.columns, .n = kernel_rows(s), .k = (size_t)s->out_c, .alpha = 1.0f,
                          .a = ws, .a_offset = c.pixel_offset, .lda = (size_t)s->out_c,
                          .b = by_channels ? ws : w, .b_offset = by_channels ? permuted : 0,
                          .ldb = kernel_rows(s), .c = ws, .ldc = kernel_rows(s)};
        if (gathered) g.a = dy, g.a_offset = c.first * out_floats(s), g.a_layout = CN_GEMM_PIXELS, g.conv = s;
        CN_TRY(cn_gemm(rt, &g, e));
        if (!by_channels) {
            CN_TRY(col2im(rt, s, ws, dx, c.first, c.images, e));
            continue;
        }
        CN_TRY(col2im_channel_last(rt, s, ws, channel_last, c.images, e));
        CN_TRY(transpose(rt, ws, channel_last, dx, c.first * in_floats(s), (size_t)s->in_h * s->in_w,
                         (size_t)s->in_c, c.images, epi, e));
    }
    /* col2im adds into its pixels from several columns: the epilogue needs a pass of its own */
    if (epi && !by_channels)
        return cn_bias_activation_forward(rt, n, (size_t)s->in_c, (size_t)s->in_h * s->in_w, epi, dx, dx, e);
    return CN_OK;
}

static cn_status conv_backward_params(cn_runtime *rt, const char *pass, const cn_conv2d_shape *s, size_t n,
                                      const cn_buffer *x, const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws,
                                      cn_error *e) {
    CN_TRY(check_pass(pass, s, n, x, dy, dw, ws, e));
    if (n == 0) return cn_buffer_fill_f32(rt, dw, 0.0f, 0, weight_floats(s), e);
    const direct_conv d = direct_forward_conv(s);
    if (s->stride == 1 && runs_direct(rt, s, &d, 1)) return direct_params(rt, &d, n, x, dy, dw, ws, e);
    int gathered;
    CN_TRY(gathers(rt, s, n, &gathered, e));
    if (gathered) { /* dw[out_c, K] = dy^T[out_c, images * P] * patches(x)[images * P, K] */
        const cn_gemm_args g = {.trans_a = 1, .m = (size_t)s->out_c, .n = kernel_rows(s), .k = n * out_pixels(s),
                                .alpha = 1.0f, .a = dy, .a_layout = CN_GEMM_PIXELS, .b = x,
                                .b_layout = CN_GEMM_PATCHES, .c = dw, .ldc = kernel_rows(s), .conv = s};
        return cn_gemm(rt, &g, e);
    }
    for (size_t first = 0; first < n; first += chunk_images(s, n)) {
        const chunk c = chunk_at(s, n, first);
        CN_TRY(to_pixel_major(rt, s, &c, dy, ws, e));
        CN_TRY(im2col(rt, s, x, c.first, c.images, ws, e));
        /* dw[out_c, K] (+)= dy^T[out_c, columns] * col[columns, K]; chunks add in order. */
        const cn_gemm_args g = {.trans_a = 1, .m = (size_t)s->out_c, .n = kernel_rows(s), .k = c.columns,
                                .alpha = 1.0f, .beta = first == 0 ? 0.0f : 1.0f, .a = ws, .a_offset = c.pixel_offset,
                                .lda = (size_t)s->out_c, .b = ws, .ldb = kernel_rows(s),
                                .c = dw, .ldc = kernel_rows(s)};
        CN_TRY(cn_gemm(rt, &g, e));
    }
    return CN_OK;
}

/* ---- public entry points: the conv, and the transposed conv as its adjoint --------------------- */

cn_status cn_conv2d_forward(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                            const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_buffer *ws, cn_error *e) {
    return conv_forward(rt, "conv2d forward", s, n, x, w, epi, y, ws, e);
}

cn_status cn_conv2d_backward_data(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *dy,
                                  const cn_buffer *w, cn_buffer *dx, cn_buffer *ws, cn_error *e) {
    return conv_backward_data(rt, "conv2d backward_data", s, n, dy, w, NULL, dx, ws, e);
}

cn_status cn_conv2d_backward_params(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                                    const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws, cn_error *e) {
    return conv_backward_params(rt, "conv2d backward_params", s, n, x, dy, dw, ws, e);
}

/* deconv(x) = conv^T(x): its forward is the conv's backward_data, its backward_data the conv's
 * forward, and its weight gradient the conv's with input and output gradient swapped. */
cn_status cn_deconv2d_forward(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                              const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_buffer *ws, cn_error *e) {
    return conv_backward_data(rt, "deconv2d forward", s, n, x, w, epi, y, ws, e);
}

cn_status cn_deconv2d_backward_data(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *dy,
                                    const cn_buffer *w, cn_buffer *dx, cn_buffer *ws, cn_error *e) {
    return conv_forward(rt, "deconv2d backward_data", s, n, dy, w, NULL, dx, ws, e);
}

cn_status cn_deconv2d_backward_params(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                                      const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws, cn_error *e) {
    return conv_backward_params(rt, "deconv2d backward_params", s, n, dy, x, dw, ws, e);
}

/* ---- as a layer of a net ---------------------------------------------------------------------- */

/* A conv or transposed-conv layer: the conv it runs or is the adjoint of. */
typedef struct cn_conv2d_layer {
    cn_layer base;
    cn_conv2d_shape shape;
} cn_conv2d_layer;

static const cn_conv2d_shape *layer_shape(const cn_layer *l) { return &((const cn_conv2d_layer *)l)->shape; }

const cn_conv2d_shape *cn_conv2d_layer_shape(const cn_layer *l) {
    return l->ops == &cn_conv2d_layer_ops || l->ops == &cn_deconv2d_layer_ops ? layer_shape(l) : NULL;
}

static cn_conv_padding layer_padding(const cn_layer_config *lc) {
    return lc->padding == CN_PAD_SAME ? CN_CONV_PAD_SAME : CN_CONV_PAD_VALID;
}

static cn_status conv_layer_plan(cn_layer *l, cn_layer_weight *weight, cn_error *e) {
    const cn_layer_config *lc = &l->config;
    cn_conv2d_shape *s = &((cn_conv2d_layer *)l)->shape;
    CN_TRY(cn_conv2d_shape_make(s, l->in_c, l->in_h, l->in_w, lc->filters, lc->kernel, lc->stride,
                                layer_padding(lc), 0, e));
    l->out_c = s->out_c, l->out_h = s->out_h, l->out_w = s->out_w;
    *weight = (cn_layer_weight){{l->out_c, l->in_c, lc->kernel, lc->kernel}, 4};
    return CN_OK;
}

static cn_status deconv_layer_plan(cn_layer *l, cn_layer_weight *weight, cn_error *e) {
    const cn_layer_config *lc = &l->config;
    int out = lc->output_size;
    if (out == 0) out = lc->padding == CN_PAD_SAME ? l->in_h * lc->stride : (l->in_h - 1) * lc->stride + lc->kernel;
    CN_TRY(cn_deconv2d_shape_make(&((cn_conv2d_layer *)l)->shape, l->in_c, l->in_h, l->in_w, lc->filters, out, out,
                                  lc->kernel, lc->stride, layer_padding(lc), e));
    l->out_c = lc->filters, l->out_h = out, l->out_w = out;
    *weight = (cn_layer_weight){{l->in_c, l->out_c, lc->kernel, lc->kernel}, 4};
    return CN_OK;
}

static size_t conv_layer_workspace(const cn_layer *l, size_t n) { return cn_conv2d_workspace_floats(layer_shape(l), n); }

static cn_status conv_layer_forward(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                    const cn_epilogue *epi, cn_buffer *y, cn_buffer *workspace, cn_error *e) {
    return cn_conv2d_forward(rt, layer_shape(l), n, x, &l->weight, epi, y, workspace, e);
}

static cn_status conv_layer_backward_data(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *dy,
                                          cn_buffer *dx, cn_buffer *workspace, cn_error *e) {
    return cn_conv2d_backward_data(rt, layer_shape(l), n, dy, &l->weight, dx, workspace, e);
}

static cn_status conv_layer_backward_params(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                            const cn_buffer *dy, cn_buffer *dw, cn_buffer *workspace, cn_error *e) {
    return cn_conv2d_backward_params(rt, layer_shape(l), n, x, dy, dw, workspace, e);
}

static cn_status deconv_layer_forward(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                      const cn_epilogue *epi, cn_buffer *y, cn_buffer *workspace, cn_error *e) {
    return cn_deconv2d_forward(rt, layer_shape(l), n, x, &l->weight, epi, y, workspace, e);
}

static cn_status deconv_layer_backward_data(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *dy,
                                            cn_buffer *dx, cn_buffer *workspace, cn_error *e) {
    return cn_deconv2d_backward_data(rt, layer_shape(l), n, dy, &l->weight, dx, workspace, e);
}

static cn_status deconv_layer_backward_params(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                              const cn_buffer *dy, cn_buffer *dw, cn_buffer *workspace, cn_error *e) {
    return cn_deconv2d_backward_params(rt, layer_shape(l), n, x, dy, dw, workspace, e);
}

const cn_layer_ops cn_conv2d_layer_ops = {
    .tensor_stem = "conv",
    .size = sizeof(cn_conv2d_layer),
    .plan = conv_layer_plan,
    .workspace_floats = conv_layer_workspace,
    .forward = conv_layer_forward,
    .backward_data = conv_layer_backward_data,
    .backward_params = conv_layer_backward_params,
};

const cn_layer_ops cn_deconv2d_layer_ops = {
    .tensor_stem = "convt",
    .size = sizeof(cn_conv2d_layer),
    .plan = deconv_layer_plan,
    .workspace_floats = conv_layer_workspace,
    .forward = deconv_layer_forward,
    .backward_data = deconv_layer_backward_data,
    .backward_params = deconv_layer_backward_params,
};
