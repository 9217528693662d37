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
 * Index arithmetic is per work-item, never per element: 64-bit divisions per element made
 * im2col slower than the GEMM it feeds. */

/* One work-item per column-matrix row (output pixel p of image b) writes its K entries.
 * global = (>= P, images). */
__kernel void cn_im2col(__global const float *x, const ulong x_offset, __global float *col, const int in_c,
                        const int in_h, const int in_w, const int out_h, const int out_w, const int k_h,
                        const int k_w, const int stride, const int pad_top, const int pad_left) {
    const int p = (int)get_global_id(0);
    if (p >= out_h * out_w) return;
    const size_t b = get_global_id(1);
    const int y0 = p / out_w * stride - pad_top, x0 = p % out_w * stride - pad_left;
    const size_t k = (size_t)in_c * k_h * k_w;
    __global float *out = col + (b * out_h * out_w + p) * k;
    __global const float *image = x + x_offset + b * in_c * in_h * in_w;
    for (int c = 0; c < in_c; c++) {
        __global const float *plane = image + (size_t)c * in_h * in_w;
        for (int i = 0; i < k_h; i++) {
            const int y = y0 + i;
            for (int j = 0; j < k_w; j++) {
                const int xx = x0 + j;
                *out++ = y >= 0 && y < in_h && xx >= 0 && xx < in_w ? plane[(size_t)y * in_w + xx] : 0.0f;
            }
        }
    }
}

/* The adjoint of cn_im2col, as a gather: each input pixel sums, in a fixed order, the column
 * entries that read it, so the result is deterministic and needs no atomics. x is overwritten.
 * One work-item per pixel position does every channel: its column-matrix rows are then read
 * together (one channel per work-item scattered reads over the whole matrix, 2x slower).
 * global = (>= in_w, in_h, images). */
__kernel void cn_col2im(__global const float *col, __global float *x, const ulong x_offset, const int in_c,
                        const int in_h, const int in_w, const int out_h, const int out_w, const int k_h,
                        const int k_w, const int stride, const int pad_top, const int pad_left) {
    const int xx = (int)get_global_id(0), y = (int)get_global_id(1);
    if (xx >= in_w) return;
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

/* dst[b][j][i] = src[b][i][j] for i < rows, j < cols: NCHW <-> the column matrix's
 * pixel-major order ([P][C] per image), and weights [out_c][K] -> [K][out_c].
 * global = (>= rows, cols, batch): neighbouring work-items write neighbouring floats. */
__kernel void cn_transpose(__global const float *src, const ulong src_offset, __global float *dst,
                           const ulong dst_offset, const ulong rows, const ulong cols) {
    const size_t i = get_global_id(0), j = get_global_id(1), b = get_global_id(2);
    if (i >= rows) return;
    const size_t matrix = b * rows * cols;
    dst[dst_offset + matrix + j * rows + i] = src[src_offset + matrix + i * cols + j];
}
