/* The Adam step (cl/adam.cl). */
#include "coopnets/cn_adam.h"

#include <math.h>

#include "coopnets/cn_elementwise.h"

cn_status cn_adam_update(cn_runtime *rt, const cn_adam_params *p, unsigned long t, size_t count, cn_buffer *param,
                         const cn_buffer *grad, cn_buffer *m, cn_buffer *v, cn_error *e) {
    const char *fn = "cn_adam_update";
    if (!p) return cn_error_set(e, CN_ERR_ARG, "%s: no parameters", fn);
    if (t < 1) return cn_error_set(e, CN_ERR_ARG, "%s: step t must be >= 1 (t counts from 1)", fn);
    if (!(p->lr >= 0.0f) || !(p->eps > 0.0f) || !(p->beta1 >= 0.0f && p->beta1 < 1.0f) ||
        !(p->beta2 >= 0.0f && p->beta2 < 1.0f))
        return cn_error_set(e, CN_ERR_ARG,
                            "%s: need lr >= 0, eps > 0, 0 <= beta < 1 (lr %g, beta1 %g, beta2 %g, eps %g)", fn, p->lr,
                            p->beta1, p->beta2, p->eps);
    CN_TRY(cn_buffer_check_floats(param, count, fn, "param", e));
    CN_TRY(cn_buffer_check_floats(grad, count, fn, "grad", e));
    CN_TRY(cn_buffer_check_floats(m, count, fn, "m", e));
    CN_TRY(cn_buffer_check_floats(v, count, fn, "v", e));
    /* In double: 1 - beta2^t is ~1e-3 at t = 1 with beta2 = 0.999, where float would lose digits. */
    double correction1 = 1.0 - pow(p->beta1, (double)t), correction2 = 1.0 - pow(p->beta2, (double)t);
    size_t global = cn_elementwise_global(count);
    /* counted for the profile: reads param, grad, m, v and writes param, m, v */
    return CN_RUN_COUNTED(rt, CN_KERNEL_ADAM_UPDATE, 1, &global, NULL, 12.0 * (double)count,
                  7.0 * (double)count * sizeof(float), e, CN_MEM(param), CN_MEM(grad), CN_MEM(m), CN_MEM(v),
                  CN_F32(p->lr), CN_F32(p->beta1), CN_F32(p->beta2), CN_F32(p->eps), CN_F32(1.0 / correction1),
                  CN_F32(1.0 / sqrt(correction2)), CN_U64(count));
}
