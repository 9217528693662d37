/* Deterministic row reductions and the scaled difference of the losses (vectors and sums:
 * cn_elementwise.h, cn_group_reduce.h). */
#include "cn_group_reduce.h"

/* Work-item i = r*chunks + k sums op(x) over chunk k of row r (row length cols, chunk length
 * `chunk`, the last chunk shorter) into out[i]. With chunks = 1 this is the whole row; the host
 * runs it a second time over the chunk sums when a row has several. square: op is x^2, else x
 * (padded lanes are 0 either way). */
__kernel void cn_reduce_chunks(__global const float *x, __global float *out, const ulong rows, const ulong cols,
                               const ulong chunks, const ulong chunk, const int square) {
    size_t i = get_global_id(0);
    if (i >= rows * chunks) return;
    size_t r = i / chunks, k = i % chunks;
    size_t begin = r * cols + k * chunk, length = min((size_t)chunk, (size_t)cols - k * chunk);
    cn_kahan8 sum = CN_KAHAN8_ZERO;
    CN_FOR_VECTORS(at, count, begin, length, {
        float8 v = cn_load8(x + at, count);
        cn_kahan8_add(&sum, square ? v * v : v);
    })
    out[i] = cn_kahan8_total(&sum);
}

/* The work-group variant: group r sums op(x) over all of row r into out[r] in one pass (every
 * work-item a share, then the tree of cn_group_sum2; scratch: one float2 per work-item). */
__kernel void cn_reduce_rows_group(__global const float *x, __global float *out, const ulong cols, const int square,
                                   __local float2 *scratch) {
    const size_t r = get_group_id(0);
    cn_kahan8 sum = CN_KAHAN8_ZERO;
    CN_FOR_GROUP_CHANNEL_VECTORS(at, count, 1, 1, r, cols, {
        float8 v = cn_load8(x + at, count);
        cn_kahan8_add(&sum, square ? v * v : v);
    })
    const float total = cn_group_sum2((float2)(cn_kahan8_total(&sum), 0.0f), scratch).x;
    if (get_local_id(0) == 0) out[r] = total;
}

/* out[i] = a * (x[i] - y[i]) */
__kernel void cn_scaled_difference(__global const float *x, __global const float *y, __global float *out,
                                   const float a, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (count) cn_store8(a * (cn_load8(x + i, count) - cn_load8(y + i, count)), out + i, count);
}

/* out[i] = a * mask[i] * (x[i] - y[i]): the residual of the visible elements only (mask 1 visible, 0 hidden) */
__kernel void cn_masked_difference(__global const float *x, __global const float *y, __global const float *mask,
                                   __global float *out, const float a, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (count)
        cn_store8(a * cn_load8(mask + i, count) * (cn_load8(x + i, count) - cn_load8(y + i, count)), out + i, count);
}
