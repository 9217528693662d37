/* Per-channel bias, NCHW (vectors and sums: cn_elementwise.h). */
#include "cn_elementwise.h"

/* y[row, :] += b[row % c], one work-item per row of hw values (rows = n*c). */
__kernel void cn_bias_forward(__global float *y, __global const float *b, const ulong rows, const ulong c,
                              const ulong hw) {
    size_t row = get_global_id(0);
    if (row >= rows) return;
    float bias = b[row % c];
    CN_FOR_VECTORS(at, count, row * hw, hw, cn_store8(cn_load8(y + at, count) + bias, y + at, count);)
}

/* db[ch] = sum over n and hw of dy[n, ch, :], one work-item per channel. */
__kernel void cn_bias_backward_params(__global const float *dy, __global float *db, const ulong n, const ulong c,
                                      const ulong hw) {
    size_t ch = get_global_id(0);
    if (ch >= c) return;
    cn_kahan8 sum = CN_KAHAN8_ZERO;
    CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, cn_kahan8_add(&sum, cn_load8(dy + at, count));)
    db[ch] = cn_kahan8_total(&sum);
}
