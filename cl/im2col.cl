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
 * PoCL runs a work-group as a loop over dimension 0 that it vectorises when the kernel body has no
 * loop of its own: cn_im2col and cn_transpose give each work-item one float to write, neighbouring
 * work-items (dimension 0) writing neighbouring floats, so their stores are whole vectors.
 * Launches use 16 x 16 work-groups: one group per row cost more in scheduling than in copying. */

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
 * pixel-major order ([P][C] per image), and weights [out_c][K] -> [K][out_c].
 * global = (>= rows, >= cols, batch): neighbouring work-items write neighbouring floats. (A tile
 * through local memory, contiguous on both sides, measured slower on PoCL.) */
__kernel void cn_transpose(__global const float *src, const ulong src_offset, __global float *dst,
                           const ulong dst_offset, const ulong rows, const ulong cols) {
    const size_t i = get_global_id(0), j = get_global_id(1), b = get_global_id(2);
    if (i >= rows || j >= cols) return;
    const size_t matrix = b * rows * cols;
    dst[dst_offset + matrix + j * rows + i] = src[src_offset + matrix + i * cols + j];
}
