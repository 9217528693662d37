/* Direct stride-1 convolution on NCHW tensors, for convs with few output channels, where the
 * lowered path (src/nn/conv2d.c: im2col, then a GEMM) writes and reads a column matrix k_h * k_w
 * times the input's size for a product only out_c wide, and the GEMM's register tile is mostly
 * padding. Here nothing is lowered: the input is copied once into a zero-padded image, and each
 * work-item slides over it.
 *
 * Forward: a work-item computes NV vectors of V neighbouring output pixels of one output row for
 * OB output channels: per tap (c, i, j) NV unaligned vector loads of the padded input and OB
 * weight broadcasts, each feeding NV FMAs; the NV * OB accumulators stay in registers. Taps run in
 * the fixed order (c, i, j), so results are reproducible. The backward data pass of a stride-1 conv
 * is itself a stride-1 conv (of the padded output gradient, with the weights transposed and
 * flipped), so it runs the same kernels. The weight gradient has its own kernel (below).
 *
 * The kernels come in every (V, NV, OB) the host may choose (V: the device's preferred float
 * vector width, 8 or 16; NV * OB accumulators sized to the vector registers), so the program needs
 * no build options and exports as a binary like the others. */

#pragma clang diagnostic ignored "-Wpsabi"

#include "cn_epilogue.h"

/* xp[b][c * s^2 + ry * s + rx][py][px] = x[b][c][s * py + ry - top][s * px + rx - left], 0 outside
 * x (x from x_offset), s = s2d: the images padded to hp x wp, and for s > 1 also split space to
 * depth, so that a stride-s conv of x is a stride-1 conv of xp (s^2 times the channels, a
 * ceil(k / s) kernel). A work-item per padded row: zeros, the row's copy, zeros. (A work-item per
 * entry left most of PoCL's work-groups idle on small planes, and its per-group cost dominated.)
 * global = (>= hp, images * channels * s^2). */
__kernel void cn_conv_direct_pad(__global const float *x, const ulong x_offset, __global float *xp, const int h,
                                 const int w, const int hp, const int wp, const int top, const int left,
                                 const int s2d) {
    const int py = (int)get_global_id(0);
    if (py >= hp) return;
    const size_t plane = get_global_id(1), source = plane / (size_t)(s2d * s2d);
    const int phase = (int)(plane - source * s2d * s2d), ry = phase / s2d, rx = phase - ry * s2d;
    const int y = s2d * py + ry - top;
    __global float *row = xp + (plane * hp + py) * wp;
    if (y < 0 || y >= h) {
        for (int px = 0; px < wp; px++) row[px] = 0.0f;
        return;
    }
    /* Entries px in [first, last) read the row: s2d * px + rx - left in [0, w). */
    const int first = min(wp, max(0, (left - rx + s2d - 1) / s2d)), span = w - 1 + left - rx;
    const int last = span < 0 ? first : max(first, min(wp, span / s2d + 1));
    __global const float *src = x + x_offset + (source * h + y) * w + rx - left;
    for (int px = 0; px < first; px++) row[px] = 0.0f;
    for (int px = first; px < last; px++) row[px] = src[s2d * px];
    for (int px = last; px < wp; px++) row[px] = 0.0f;
}

/* dx[b][c][y][x] = the epilogue of dxp[b][c * s^2 + ry * s + rx][py][px] where s * py + ry = y + top
 * and s * px + rx = x + left: the gradient of a stride-s conv's input from that of its
 * space-to-depth image (the adjoint of cn_conv_direct_pad), 0 where no window reached (past hp x
 * wp). global = (>= w, >= h, images * channels). */
__kernel void cn_conv_direct_depth_to_space(__global const float *dxp, const ulong dxp_offset, __global float *dx,
                                            const int channels, const int h, const int w, const int hp,
                                            const int wp, const int top, const int left, const int stride,
                                            CN_EPILOGUE_ARGS) {
    const int x = (int)get_global_id(0), y = (int)get_global_id(1);
    if (x >= w || y >= h) return;
    const size_t plane = get_global_id(2);
    const int sy = y + top, sx = x + left, py = sy / stride, px = sx / stride;
    const size_t source = plane * stride * stride + (size_t)((sy - py * stride) * stride + sx - px * stride);
    const float v = py < hp && px < wp ? dxp[dxp_offset + (source * hp + py) * wp + px] : 0.0f;
    CN_EPILOGUE(dx[(plane * h + y) * w + x], float, v, plane % channels);
}

/* The weights in the order the direct kernels read them, wb[block][c][i][j][o] for o < ob, for a
 * direct conv of `inputs` channels and a k_h x k_w kernel: the conv's weights w[o][c][i][j] (flip
 * 0), or for the backward data pass, whose output channels are the conv's inputs,
 * w[c][o][k_h - 1 - i][k_w - 1 - j] of the conv's [channels][outputs][k_h][k_w] weights (flip 1).
 * For a stride-s conv (s > 1) on space-to-depth images (cn_conv_direct_pad), channel
 * c * s^2 + ry * s + rx at tap (i, j) is the conv's channel c at tap (s * i + ry, s * j + rx) of its
 * conv_k_h x conv_k_w kernel, zero past it. Channels past `outputs` are zero.
 * global = (>= blocks * ob, >= inputs * taps). */
__kernel void cn_conv_direct_weights(__global const float *w, __global float *wb, const ulong wb_offset, const int outputs,
                                     const int inputs, const int k_h, const int k_w, const int ob, const int blocks,
                                     const int flip, const int stride, const int conv_k_h, const int conv_k_w) {
    const int slot = (int)get_global_id(0), row = (int)get_global_id(1), taps = k_h * k_w;
    if (slot >= blocks * ob || row >= inputs * taps) return;
    const int block = slot / ob, o = slot - block * ob, out = block * ob + o;
    const int c = row / taps, t = row - c * taps, i = t / k_w, j = t - i * k_w;
    float v = 0.0f;
    if (out < outputs) {
        /* the conv's output and (space-to-depth) input channel, and the tap, as the forward pass sees them */
        const int fo = flip ? c : out, fc = flip ? out : c, fi = flip ? k_h - 1 - i : i, fj = flip ? k_w - 1 - j : j;
        const int phases = stride * stride, conv_inputs = (flip ? outputs : inputs) / phases;
        const int source = fc / phases, phase = fc - source * phases;
        const int ci = stride * fi + phase / stride, cj = stride * fj + phase % stride;
        if (ci < conv_k_h && cj < conv_k_w)
            v = w[(((size_t)fo * conv_inputs + source) * conv_k_h + ci) * conv_k_w + cj];
    }
    wb[wb_offset + ((size_t)block * inputs * taps + row) * ob + o] = v;
}

#define CN_UNROLLED _Pragma("unroll")

/* y[b][block * OB + o][oy0 + r][ox0 + l] for o < OB, r < NY, l < NX * V: NX vectors of V pixels
 * along each of NY rows times OB channels, NX * NY * OB accumulators; per tap NX * NY vector loads
 * and OB weight broadcasts for NX * NY * OB FMAs. Rows past out_h repeat the last row's loads and
 * are not stored. xp: the images padded to hp x wp (wp covers every vector a row reads), wb:
 * cn_conv_direct_weights' order; the layer's epilogue, if any, as the results are stored.
 * global = (ceil(out_w / (NX * V)), ceil(out_h / NY), images * blocks). */
#define CN_CONV_DIRECT_KERNEL(V, NX, NY, OB)                                                                   \
    __kernel void cn_conv_direct_v##V##x##NX##x##NY##_##OB(                                                  \
        __global const float *xp, const int in_c, const int hp, const int wp, __global const float *wb,      \
        const ulong wb_offset, __global float *y, const ulong y_offset, const int out_c, const int out_h,    \
        const int out_w, const int k_h, const int k_w, CN_EPILOGUE_ARGS) {                                   \
        const int ox0 = (int)get_global_id(0) * (NX * V), oy0 = (int)get_global_id(1) * NY;                 \
        const int blocks = (out_c + OB - 1) / OB, b = (int)get_global_id(2) / blocks;                        \
        const int block = (int)get_global_id(2) - b * blocks;                                                \
        if (ox0 >= out_w || oy0 >= out_h) return;                                                            \
        y += y_offset;                                                                                       \
        float##V acc[NY][NX][OB];                                                                            \
        CN_UNROLLED for (int r = 0; r < NY; r++) CN_UNROLLED for (int n = 0; n < NX; n++)                    \
            CN_UNROLLED for (int o = 0; o < OB; o++) acc[r][n][o] = 0.0f;                                    \
        size_t row_at[NY];                                                                                   \
        CN_UNROLLED for (int r = 0; r < NY; r++) row_at[r] = (size_t)min(oy0 + r, out_h - 1) * wp;           \
        __global const float *image = xp + (size_t)b * in_c * hp * wp + ox0;                                \
        __global const float *wt = wb + wb_offset + (size_t)block * in_c * k_h * k_w * OB;                   \
        for (int c = 0; c < in_c; c++)                                                                       \
            for (int i = 0; i < k_h; i++) {                                                                  \
                __global const float *tap_row = image + ((size_t)c * hp + i) * wp;                           \
                for (int j = 0; j < k_w; j++, wt += OB) {                                                    \
                    float##V xv[NY][NX];                                                                     \
                    CN_UNROLLED for (int r = 0; r < NY; r++) CN_UNROLLED for (int n = 0; n < NX; n++)        \
                        xv[r][n] = vload##V(0, tap_row + row_at[r] + j + n * V);                             \
                    CN_UNROLLED for (int o = 0; o < OB; o++) {                                               \
                        const float##V wv = (float##V)(wt[o]);                                               \
                        CN_UNROLLED for (int r = 0; r < NY; r++) CN_UNROLLED for (int n = 0; n < NX; n++)    \
                            acc[r][n][o] = fma(wv, xv[r][n], acc[r][n][o]);                                  \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
        CN_UNROLLED for (int o = 0; o < OB; o++) {                                                           \
            const int channel = block * OB + o;                                                              \
            if (channel >= out_c) break;                                                                     \
            CN_UNROLLED for (int r = 0; r < NY; r++) {                                                       \
                if (oy0 + r >= out_h) break;                                                                 \
                __global float *out = y + (((size_t)b * out_c + channel) * out_h + oy0 + r) * out_w + ox0;   \
                CN_UNROLLED for (int n = 0; n < NX; n++) {                                                   \
                    const int first = n * V;                                                                 \
                    float##V result;                                                                         \
                    CN_EPILOGUE(result, float##V, acc[r][n][o], channel);                                    \
                    if (first + V <= out_w - ox0) {                                                          \
                        vstore##V(result, 0, out + first);                                                   \
                    } else {                                                                                 \
                        float lanes[V];                                                                      \
                        vstore##V(result, 0, lanes);                                                         \
                        for (int l = 0; first + l < out_w - ox0 && l < V; l++) out[first + l] = lanes[l];    \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
    }

/* Accumulators: 8-wide vectors (AVX2: 16 registers) at most 12, 16-wide (AVX-512: 32) at most 24.
 * Two vectors per tap, along the row or down two rows (rows of at most one vector), let each
 * weight broadcast feed two FMAs. */
CN_CONV_DIRECT_KERNEL(8, 1, 1, 4)
CN_CONV_DIRECT_KERNEL(8, 1, 1, 8)
CN_CONV_DIRECT_KERNEL(8, 1, 1, 12)
CN_CONV_DIRECT_KERNEL(8, 2, 1, 4)
CN_CONV_DIRECT_KERNEL(8, 2, 1, 6)
CN_CONV_DIRECT_KERNEL(8, 1, 2, 4)
CN_CONV_DIRECT_KERNEL(8, 1, 2, 6)
CN_CONV_DIRECT_KERNEL(16, 1, 1, 4)
CN_CONV_DIRECT_KERNEL(16, 1, 1, 8)
CN_CONV_DIRECT_KERNEL(16, 1, 1, 12)
CN_CONV_DIRECT_KERNEL(16, 1, 1, 16)
CN_CONV_DIRECT_KERNEL(16, 1, 1, 24)
CN_CONV_DIRECT_KERNEL(16, 2, 1, 4)
CN_CONV_DIRECT_KERNEL(16, 2, 1, 8)
CN_CONV_DIRECT_KERNEL(16, 2, 1, 12)
CN_CONV_DIRECT_KERNEL(16, 1, 2, 4)
CN_CONV_DIRECT_KERNEL(16, 1, 2, 8)
CN_CONV_DIRECT_KERNEL(16, 1, 2, 12)

/* dyt[b][block][oy][xv][o][l] = dy[b][block * ob + o][oy][xv * v + l], 0 past the row's end or
 * past the channels: the output gradient in the order cn_conv_direct_params reads it, each pixel
 * vector's ob channel vectors side by side. One work-item per entry, no loops.
 * global = (>= vectors * ob * v, >= out_h, images * blocks). */
__kernel void cn_conv_direct_params_dy(__global const float *dy, __global float *dyt, const ulong dyt_offset,
                                       const int out_c, const int out_h, const int out_w, const int v,
                                       const int ob, const int blocks) {
    const int q = (int)get_global_id(0), oy = (int)get_global_id(1), z = (int)get_global_id(2);
    const int vectors = (out_w + v - 1) / v;
    if (q >= vectors * ob * v || oy >= out_h) return;
    const int b = z / blocks, block = z - b * blocks;
    const int xv = q / (ob * v), r = q - xv * ob * v, o = r / v, l = r - o * v;
    const int channel = block * ob + o, ox = xv * v + l;
    float value = 0.0f;
    if (channel < out_c && ox < out_w) value = dy[(((size_t)b * out_c + channel) * out_h + oy) * out_w + ox];
    dyt[dyt_offset + (((size_t)z * out_h + oy) * vectors) * ob * v + q] = value;
}

/* The weight gradient dw[block * OB + o][c][i][j] = sum over images b and output pixels (oy, ox)
 * of dy[b][.][oy][ox] * xp[b][c][oy + i][ox + j], a work-item per (tap, input channel, block):
 * per vector of V output pixels one unaligned load of the padded input and OB FMAs with the
 * gradient's vectors (cn_conv_direct_params_dy's order). Each lane sums its pixels in a fixed
 * order, then the lanes are added in order: reproducible, no atomics.
 * global = (>= k_h * k_w, in_c, blocks). */
#define CN_CONV_PARAMS_KERNEL(V, OB)                                                                           \
    __kernel void cn_conv_direct_params_v##V##_##OB(__global const float *xp, const int in_c, const int hp,  \
                                                    const int wp, __global const float *dyt,                 \
                                                    const ulong dyt_offset, __global float *dw,              \
                                                    const int out_c, const int out_h, const int out_w,       \
                                                    const int k_h, const int k_w, const int images) {        \
        const int t = (int)get_global_id(0), c = (int)get_global_id(1), block = (int)get_global_id(2);        \
        const int taps = k_h * k_w, blocks = (out_c + OB - 1) / OB, vectors = (out_w + V - 1) / V;           \
        if (t >= taps || c >= in_c) return;                                                                  \
        const int i = t / k_w, j = t - i * k_w;                                                              \
        float##V acc[OB];                                                                                    \
        CN_UNROLLED for (int o = 0; o < OB; o++) acc[o] = 0.0f;                                              \
        for (int b = 0; b < images; b++)                                                                     \
            for (int oy = 0; oy < out_h; oy++) {                                                             \
                __global const float *row = xp + (((size_t)b * in_c + c) * hp + oy + i) * wp + j;            \
                __global const float *grad =                                                                 \
                    dyt + dyt_offset + (((size_t)(b * blocks + block) * out_h + oy) * vectors) * OB * V;     \
                for (int xv = 0; xv < vectors; xv++, grad += OB * V) {                                       \
                    const float##V x = vload##V(xv, row);                                                    \
                    CN_UNROLLED for (int o = 0; o < OB; o++) acc[o] = fma(vload##V(o, grad), x, acc[o]);     \
                }                                                                                            \
            }                                                                                                \
        CN_UNROLLED for (int o = 0; o < OB; o++) {                                                           \
            const int channel = block * OB + o;                                                              \
            if (channel >= out_c) break;                                                                     \
            float lanes[V], sum = 0.0f;                                                                      \
            vstore##V(acc[o], 0, lanes);                                                                     \
            for (int l = 0; l < V; l++) sum += lanes[l];                                                     \
            dw[((size_t)channel * in_c + c) * taps + t] = sum;                                               \
        }                                                                                                    \
    }

/* 4 channels: see direct_params_tile in src/nn/conv2d.c. */
CN_CONV_PARAMS_KERNEL(8, 4)
CN_CONV_PARAMS_KERNEL(16, 4)
