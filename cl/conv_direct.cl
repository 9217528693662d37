/* Direct stride-1 convolution on NCHW tensors, for convs with few output channels, where the
 * lowered path (src/nn/conv2d.c: im2col, then a GEMM) writes and reads a column matrix k_h * k_w
 * times the input's size for a product only out_c wide, and the GEMM's register tile is mostly
 * padding. Here nothing is lowered: the input is copied once into a zero-padded image, and each
 * work-item slides over it.
 *
 * A work-item computes CN_DIRECT_V neighbouring output pixels of one output row (one vector) for
 * OB output channels: per tap (c, i, j) one unaligned vector load of the padded input and OB
 * FMAs, each with one weight broadcast; the OB accumulators stay in registers. Taps run in the
 * fixed order (c, i, j), so results are reproducible. The backward data pass of a stride-1 conv is
 * itself a stride-1 conv (of the padded output gradient, with the weights transposed and flipped),
 * so it runs the same kernels.
 *
 * The kernels come in every (V, OB) pair the host may choose (V: the device's preferred float
 * vector width, 8 or 16; OB: output channels a work-item keeps, sized to the vector registers), so
 * the program needs no build options and exports as a binary like the others. */

#pragma clang diagnostic ignored "-Wpsabi"

/* xp[b][c][py][px] = x[b][c][py - top][px - left], 0 outside x: the images padded to hp x wp.
 * One work-item per entry, no loops (PoCL vectorises it across work-items).
 * global = (>= wp, >= hp, images * channels). */
__kernel void cn_conv_direct_pad(__global const float *x, __global float *xp, const int h,
                                 const int w, const int hp, const int wp, const int top, const int left) {
    const int px = (int)get_global_id(0), py = (int)get_global_id(1);
    const size_t plane = get_global_id(2);
    const int y = py - top, xx = px - left;
    const bool inside = y >= 0 && y < h && xx >= 0 && xx < w;
    const float v = x[inside ? (plane * h + y) * w + xx : 0];
    if (px < wp && py < hp) xp[(plane * hp + py) * wp + px] = inside ? v : 0.0f;
}

/* The weights in the order the direct kernels read them, wb[block][c][i][j][o] for o < ob: the
 * conv's weights w[o][c][i][j] (flip 0), or for the backward data pass, whose output channels are
 * the conv's inputs, w[c][o][k_h - 1 - i][k_w - 1 - j] of the conv's [channels][outputs][k_h][k_w]
 * weights (flip 1). Channels past `outputs` are zero. global = (>= blocks * ob, >= inputs * taps). */
__kernel void cn_conv_direct_weights(__global const float *w, __global float *wb, const ulong wb_offset, const int outputs,
                                     const int inputs, const int k_h, const int k_w, const int ob, const int blocks,
                                     const int flip) {
    const int slot = (int)get_global_id(0), row = (int)get_global_id(1), taps = k_h * k_w;
    if (slot >= blocks * ob || row >= inputs * taps) return;
    const int block = slot / ob, o = slot - block * ob, out = block * ob + o;
    const int c = row / taps, t = row - c * taps;
    float v = 0.0f;
    if (out < outputs) v = flip ? w[((size_t)c * outputs + out) * taps + (taps - 1 - t)] : w[((size_t)out * inputs + c) * taps + t];
    wb[wb_offset + ((size_t)block * inputs * taps + row) * ob + o] = v;
}

#define CN_UNROLLED _Pragma("unroll")

/* y[b][block * OB + o][oy][ox0 + l] for o < OB, l < V. xp: the images padded to hp x wp (wp covers
 * every vector a row reads), wb: cn_conv_direct_weights' order. global = (ceil(out_w / V), out_h,
 * images * blocks). */
#define CN_CONV_DIRECT_KERNEL(V, OB)                                                                           \
    __kernel void cn_conv_direct_v##V##_##OB(__global const float *xp, const int in_c, const int hp,         \
                                             const int wp, __global const float *wb, const ulong wb_offset, \
                                             __global float *y, const int out_c, const int out_h,         \
                                             const int out_w, const int k_h, const int k_w) {                \
        const int ox0 = (int)get_global_id(0) * V, oy = (int)get_global_id(1);                              \
        const int blocks = (out_c + OB - 1) / OB, b = (int)get_global_id(2) / blocks;                        \
        const int block = (int)get_global_id(2) - b * blocks;                                                 \
        if (ox0 >= out_w || oy >= out_h) return;                                                             \
        float##V acc[OB];                                                                         \
        CN_UNROLLED for (int o = 0; o < OB; o++) acc[o] = 0.0f;                                              \
        __global const float *image = xp + (size_t)b * in_c * hp * wp + (size_t)oy * wp + ox0;              \
        __global const float *wt = wb + wb_offset + (size_t)block * in_c * k_h * k_w * OB;                               \
        for (int c = 0; c < in_c; c++)                                                                       \
            for (int i = 0; i < k_h; i++) {                                                                  \
                __global const float *row = image + ((size_t)c * hp + i) * wp;                               \
                for (int j = 0; j < k_w; j++, wt += OB) {                                                    \
                    const float##V xv = vload##V(0, row + j);                          \
                    CN_UNROLLED for (int o = 0; o < OB; o++) acc[o] = fma((float##V)(wt[o]), xv, acc[o]); \
                }                                                                                            \
            }                                                                                                \
        const int full = ox0 + V <= out_w;                                                                   \
        CN_UNROLLED for (int o = 0; o < OB; o++) {                                                           \
            const int channel = block * OB + o;                                                              \
            if (channel >= out_c) break;                                                                     \
            __global float *out = y + (((size_t)b * out_c + channel) * out_h + oy) * out_w + ox0; \
            if (full) {                                                                                      \
                vstore##V(acc[o], 0, out);                                                        \
            } else {                                                                                         \
                float lanes[V];                                                                              \
                vstore##V(acc[o], 0, lanes);                                                      \
                for (int l = 0; ox0 + l < out_w; l++) out[l] = lanes[l];                                     \
            }                                                                                                \
        }                                                                                                    \
    }

/* 8-wide vectors (AVX2: 16 registers) keep at most 12 accumulators; 16-wide (AVX-512: 32) 24. */
CN_CONV_DIRECT_KERNEL(8, 4)
CN_CONV_DIRECT_KERNEL(8, 8)
CN_CONV_DIRECT_KERNEL(8, 12)
CN_CONV_DIRECT_KERNEL(16, 4)
CN_CONV_DIRECT_KERNEL(16, 8)
CN_CONV_DIRECT_KERNEL(16, 12)
CN_CONV_DIRECT_KERNEL(16, 16)
CN_CONV_DIRECT_KERNEL(16, 24)
