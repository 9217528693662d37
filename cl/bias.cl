/* Per-channel bias, NCHW (vectors and sums: cn_elementwise.h). */
#include "cn_elementwise.h"
#include "cn_epilogue.h"

/* y[row, :] = act(z[row, :] + bias[row % c]) (cl/cn_epilogue.h; biased is 1), one work-item per row
 * of hw values (rows = n*c): a layer's bias and activation in one pass, for the linear maps whose
 * own kernels do not store through the epilogue. y may be z. */
__kernel void cn_bias_activation_forward(__global const float *z, __global float *y, const ulong rows, const ulong c,
                                         const ulong hw, CN_EPILOGUE_ARGS) {
    size_t row = get_global_id(0);
    if (row >= rows) return;
    const size_t channel = row % c;
    CN_FOR_VECTORS(at, count, row * hw, hw, {
        float8 out;
        CN_EPILOGUE(out, float8, cn_load8(z + at, count), channel);
        cn_store8(out, y + at, count);
    })
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
