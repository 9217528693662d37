/* cn_adam: the Adam optimiser step over one parameter tensor (DESIGN §2 steps 3 and 5). */
#ifndef CN_ADAM_H
#define CN_ADAM_H

#include <stddef.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_adam_params {
    float lr, beta1, beta2, eps;
} cn_adam_params;

/* One Adam step t (t >= 1) over `count` floats, one kernel:
 *   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2;
 *   p -= lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m/(1-beta1^t),  v_hat = v/(1-beta2^t).
 * The bias corrections are computed on the host from t in double and passed as kernel arguments,
 * so nothing is read back. m and v start at zero (the caller zeroes them when the net is built).
 * (TensorFlow's AdamOptimizer, which the reference code uses, puts eps outside the correction:
 * p -= lr*sqrt(1-beta2^t)/(1-beta1^t) * m/(sqrt(v)+eps); with eps = 1e-8 the two differ only where
 * sqrt(v_hat) is itself ~1e-8.) */
cn_status cn_adam_update(cn_runtime *rt, const cn_adam_params *p, unsigned long t, size_t count, cn_buffer *param,
                         const cn_buffer *grad, cn_buffer *m, cn_buffer *v, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
