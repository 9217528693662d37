/* One Adam step over a parameter tensor, 8 values a work-item (cn_elementwise.h). The bias
 * corrections come from the host (computed from t in double): inv_correction1 = 1/(1 - beta1^t),
 * inv_sqrt_correction2 = 1/sqrt(1 - beta2^t), so
 *   p -= lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m*inv_correction1,  sqrt(v_hat) = sqrt(v)*inv_sqrt_correction2. */
#include "cn_elementwise.h"

__kernel void cn_adam_update(__global float *param, __global const float *grad, __global float *m, __global float *v,
                             const float lr, const float beta1, const float beta2, const float eps,
                             const float inv_correction1, const float inv_sqrt_correction2, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (!count) return;
    float8 g = cn_load8(grad + i, count);
    float8 mi = beta1 * cn_load8(m + i, count) + (1.0f - beta1) * g;
    float8 vi = beta2 * cn_load8(v + i, count) + (1.0f - beta2) * (g * g);
    cn_store8(mi, m + i, count);
    cn_store8(vi, v + i, count);
    float8 p = cn_load8(param + i, count) - lr * (mi * inv_correction1) / (sqrt(vi) * inv_sqrt_correction2 + eps);
    cn_store8(p, param + i, count);
}
