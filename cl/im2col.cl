/* im2col / col2im and a batched transpose, for convolutions on NCHW tensors over a chunk of
 * `images` images at once.
 *
 * The column matrix of a chunk is [images * P, K] with P = out_h * out_w and K = in_c * k_h * k_w:
 * one row per output pixel (image b's rows are b * P .. b * P + P - 1), its K entries in the
 * weights' (c, i, j) order. Row-major in this orientation, every GEMM of the three passes streams
 * its operands with short strides. x points at the chunk's first image (x_offset floats in).
 * Output pixel (oy, ox) reads input pixel (oy * stride - pad_top + i, ox * stride - pad_left + j);
 * reads outside the image are zero padding.
 *
 * Every load and store here should be a whole vector on a CPU. PoCL runs a work-group as a loop
 * over dimension 0 that it vectorises only when the kernel body has no loop of its own: cn_im2col
 * gives each work-item one float, neighbouring work-items writing neighbouring floats; the kernels
 * that need loops (cn_col2im_channels) or shuffles (cn_transpose) work on explicit float8 vectors.
 * cn_col2im, with one float per pixel and loops, is left for images with few channels.
 * Launches use 16 x 16 work-groups: one group per row cost more in scheduling than in copying. */
#include "cn_epilogue.h"

/* n / d and n % d for 0 <= n < 2^22 without an integer division (which x86 has no vector form of):
 * the float quotient is off by at most one, and the remainder puts it right. */
static inline int cn_div_exact(const int n, const int d, const float inv_d, int *rem) {
    int q = (int)((float)n * inv_d);
    int r = n - q * d;
    q = r < 0 ? q - 1 : r >= d ? q + 1 : q;
    *rem = n - q * d;
    return q;
}

/* col[column][k] for column = b * P + p < columns (b: image of the chunk, p: its output pixel).
 * One work-item per entry (one per row wrote K floats apart across a vector's lanes, 2x slower).
 * Padding work-items read a valid address and store nothing. global = (>= K, >= columns). */
__kernel void cn_im2col(__global const float *x, const ulong x_offset, __global float *col, const int in_c,
                        const int in_h, const int in_w, const int out_h, const int out_w, const int k_h,
                        const int k_w, const int stride, const int pad_top, const int pad_left, const int columns) {
    const int taps = k_h * k_w, kk = in_c * taps;
    const int column = min((int)get_global_id(1), columns - 1), pixels = out_h * out_w;
    const int b = column / pixels, p = column - b * pixels, oy = p / out_w, ox = p - oy * out_w;
    __global const float *image = x + x_offset + (size_t)b * in_c * in_h * in_w;
    __global float *row = col + (size_t)column * kk;
    const int k = (int)get_global_id(0);
    int t, j;
    const int c = cn_div_exact(k, taps, 1.0f / (float)taps, &t);
    const int i = cn_div_exact(t, k_w, 1.0f / (float)k_w, &j);
    const int y = oy * stride - pad_top + i, xx = ox * stride - pad_left + j;
    const bool inside = y >= 0 && y < in_h && xx >= 0 && xx < in_w && k < kk;
    const float v = image[inside ? (c * in_h + y) * in_w + xx : 0];
    if (k < kk && (int)get_global_id(1) < columns) row[k] = inside ? v : 0.0f;
}

/* The adjoint of cn_im2col, as a gather: each input pixel sums, in a fixed order, the column
 * entries that read it, so the result is deterministic and needs no atomics. x is overwritten.
 * One work-item per pixel position does every channel: its column-matrix rows are then read
 * together (one channel per work-item scattered reads over the whole matrix, 2x slower).
 * global = (>= in_w, >= in_h, images). */
__kernel void cn_col2im(__global const float *col, __global float *x, const ulong x_offset, const int in_c,
                        const int in_h, const int in_w, const int out_h, const int out_w, const int k_h,
                        const int k_w, const int stride, const int pad_top, const int pad_left) {
    const int xx = (int)get_global_id(0), y = (int)get_global_id(1);
    if (xx >= in_w || y >= in_h) return;
    const size_t b = get_global_id(2), taps = (size_t)k_h * k_w, k = in_c * taps;
    /* Kernel row i reaches this pixel from output row (py - i) / stride when that divides
     * exactly and lies in the output: i runs over one residue class modulo stride. */
    const int py = y + pad_top, px = xx + pad_left;
    const int i0 = py % stride, j0 = px % stride;
    __global const float *rows = col + b * out_h * out_w * k;
    __global float *out = x + x_offset + b * in_c * in_h * in_w + (size_t)y * in_w + xx;
    for (int c = 0; c < in_c; c++) {
        float sum = 0.0f;
        for (int i = i0, oy = (py - i0) / stride; i < k_h && oy >= 0; i += stride, oy--) {
            if (oy >= out_h) continue;
            for (int j = j0, ox = (px - j0) / stride; j < k_w && ox >= 0; j += stride, ox--) {
                if (ox >= out_w) continue;
                sum += rows[((size_t)oy * out_w + ox) * k + c * taps + i * k_w + j];
            }
        }
        out[(size_t)c * in_h * in_w] = sum;
    }
}

/* cn_col2im for a column matrix whose rows hold their K entries in (i, j, c) order (the GEMM's
 * weights permuted to match), writing the images channel-last, x[b][y][x][c], for in_c a multiple
 * of CN_COL2IM_CHANNELS: each work-item sums the terms of one pixel for that many neighbouring
 * channels as one vector, so every read and the write are whole vectors (cn_col2im's reads run K
 * floats apart, one float at a time; a kernel with loops is not vectorised across work-items).
 * global = (>= in_c / CN_COL2IM_CHANNELS, >= in_h * in_w, images). */
#define CN_COL2IM_CHANNELS 8
__kernel void cn_col2im_channels(__global const float *col, __global float *x, const ulong x_offset, const int in_c,
                                 const int in_h, const int in_w, const int out_h, const int out_w, const int k_h,
                                 const int k_w, const int stride, const int pad_top, const int pad_left) {
    const int c = (int)get_global_id(0) * CN_COL2IM_CHANNELS, q = (int)get_global_id(1), b = (int)get_global_id(2);
    const int in_pixels = in_h * in_w;
    if (c >= in_c || q >= in_pixels) return;
    const int y = q / in_w, xx = q - y * in_w, kk = in_c * k_h * k_w;
    const int py = y + pad_top, px = xx + pad_left;
    const int i0 = py % stride, j0 = px % stride, oy0 = py / stride, ox0 = px / stride;
    __global const float *rows = col + (size_t)b * out_h * out_w * kk + c;
    float8 sum = 0.0f;
    for (int i = i0, oy = oy0; i < k_h && oy >= 0; i += stride, oy--) {
        if (oy >= out_h) continue;
        for (int j = j0, ox = ox0; j < k_w && ox >= 0; j += stride, ox--) {
            if (ox >= out_w) continue;
            sum += vload8(0, rows + ((size_t)oy * out_w + ox) * kk + (i * k_w + j) * in_c);
        }
    }
    vstore8(sum, 0, x + x_offset + ((size_t)b * in_pixels + q) * in_c + c);
}

/* dst[b][j][i] = src[b][i][j] for i < rows, j < cols: NCHW <-> the column matrix's
 * pixel-major order ([P][C] per image), channel-last images, and the weights' permutations.
 * Each work-item moves one 8 x 8 block: eight row vectors in, eight column vectors out, so that
 * every load and store is a whole vector (one float per work-item read 16 rows apart across a
 * vector, and a tile through local memory measured slower on PoCL). Blocks cut by the matrix's
 * edge go float by float. global = (>= ceil(rows / 8), >= ceil(cols / 8), batch).
 * With an epilogue (biased), dst's row j is output channel j of a layer: its bias and activation
 * are applied as the row is stored (cl/cn_epilogue.h), which saves the net two passes. */
#define CN_TRANSPOSE_BLOCK 8
__kernel void cn_transpose(__global const float *src, const ulong src_offset, __global float *dst,
                           const ulong dst_offset, const ulong rows, const ulong cols, CN_EPILOGUE_ARGS) {
    const size_t i0 = get_global_id(0) * CN_TRANSPOSE_BLOCK, j0 = get_global_id(1) * CN_TRANSPOSE_BLOCK;
    if (i0 >= rows || j0 >= cols) return;
    const size_t matrix = get_global_id(2) * rows * cols;
    __global const float *from = src + src_offset + matrix + i0 * cols + j0;
    __global float *to = dst + dst_offset + matrix + j0 * rows + i0;
    if (i0 + CN_TRANSPOSE_BLOCK <= rows && j0 + CN_TRANSPOSE_BLOCK <= cols) {
        const float8 r0 = vload8(0, from), r1 = vload8(0, from + cols), r2 = vload8(0, from + 2 * cols),
                     r3 = vload8(0, from + 3 * cols), r4 = vload8(0, from + 4 * cols), r5 = vload8(0, from + 5 * cols),
                     r6 = vload8(0, from + 6 * cols), r7 = vload8(0, from + 7 * cols);
        /* Interleave pairs of rows three times: the classic 8 x 8 transpose in 24 shuffles. */
        const float8 a0 = (float8)(r0.s0, r1.s0, r0.s1, r1.s1, r0.s4, r1.s4, r0.s5, r1.s5);
        const float8 a1 = (float8)(r0.s2, r1.s2, r0.s3, r1.s3, r0.s6, r1.s6, r0.s7, r1.s7);
        const float8 a2 = (float8)(r2.s0, r3.s0, r2.s1, r3.s1, r2.s4, r3.s4, r2.s5, r3.s5);
        const float8 a3 = (float8)(r2.s2, r3.s2, r2.s3, r3.s3, r2.s6, r3.s6, r2.s7, r3.s7);
        const float8 a4 = (float8)(r4.s0, r5.s0, r4.s1, r5.s1, r4.s4, r5.s4, r4.s5, r5.s5);
        const float8 a5 = (float8)(r4.s2, r5.s2, r4.s3, r5.s3, r4.s6, r5.s6, r4.s7, r5.s7);
        const float8 a6 = (float8)(r6.s0, r7.s0, r6.s1, r7.s1, r6.s4, r7.s4, r6.s5, r7.s5);
        const float8 a7 = (float8)(r6.s2, r7.s2, r6.s3, r7.s3, r6.s6, r7.s6, r6.s7, r7.s7);
        const float8 b0 = (float8)(a0.s01, a2.s01, a0.s45, a2.s45), b1 = (float8)(a0.s23, a2.s23, a0.s67, a2.s67);
        const float8 b2 = (float8)(a1.s01, a3.s01, a1.s45, a3.s45), b3 = (float8)(a1.s23, a3.s23, a1.s67, a3.s67);
        const float8 b4 = (float8)(a4.s01, a6.s01, a4.s45, a6.s45), b5 = (float8)(a4.s23, a6.s23, a4.s67, a6.s67);
        const float8 b6 = (float8)(a5.s01, a7.s01, a5.s45, a7.s45), b7 = (float8)(a5.s23, a7.s23, a5.s67, a7.s67);
        const float8 column[CN_TRANSPOSE_BLOCK] = {
            (float8)(b0.s0123, b4.s0123), (float8)(b1.s0123, b5.s0123), (float8)(b2.s0123, b6.s0123),
            (float8)(b3.s0123, b7.s0123), (float8)(b0.s4567, b4.s4567), (float8)(b1.s4567, b5.s4567),
            (float8)(b2.s4567, b6.s4567), (float8)(b3.s4567, b7.s4567)};
        _Pragma("unroll") for (size_t q = 0; q < CN_TRANSPOSE_BLOCK; q++) {
            float8 out;
            CN_EPILOGUE(out, float8, column[q], j0 + q);
            vstore8(out, 0, to + q * rows);
        }
        return;
    }
    const size_t block_rows = min((size_t)CN_TRANSPOSE_BLOCK, rows - i0);
    const size_t block_cols = min((size_t)CN_TRANSPOSE_BLOCK, cols - j0);
    for (size_t r = 0; r < block_rows; r++)
        for (size_t q = 0; q < block_cols; q++) CN_EPILOGUE(to[q * rows + r], float, from[r * cols + q], j0 + q);
}
