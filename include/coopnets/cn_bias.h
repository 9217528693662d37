/* cn_bias: per-channel bias of a convolution or fc layer, NCHW (hw = H*W). A bias has no
 * backward_data: dx = dy. */
#ifndef CN_BIAS_H
#define CN_BIAS_H

#include <stddef.h>

#include "coopnets/cn_config.h" /* cn_activation */
#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A layer's epilogue, y = act(z + bias[channel]), applied as its linear map's output z is stored:
 * the map kernels that store whole channels (the conv's output transpose, the direct conv) take it,
 * which saves the two passes over the layer's output that a separate bias and activation cost;
 * cn_bias_activation_forward is the one-pass fallback. A pass given NULL runs the plain map. */
typedef struct cn_epilogue {
    const cn_buffer *bias;    /* one float per output channel */
    cn_activation activation; /* CN_ACT_NONE: the bias alone */
    float slope;              /* leaky ReLU's, > 0 */
} cn_epilogue;

/* The four kernel arguments of CN_EPILOGUE_ARGS (cl/cn_epilogue.h) for epi; without one, `any`
 * buffer is bound in the bias's place and never read. */
#define CN_EPILOGUE_KERNEL_ARGS(epi, any)                                                            \
    CN_I32((epi) != NULL), CN_MEM((epi) ? (epi)->bias : (any)), CN_I32((epi) ? (int)(epi)->activation : 0), \
        CN_F32((epi) ? (epi)->slope : 0.0f)

/* epi's activation (a leaky slope > 0) and a bias of c floats; NULL passes. */
cn_status cn_epilogue_check(const cn_epilogue *epi, size_t c, const char *function, cn_error *e);

/* y[n,ch,:] = act(z[n,ch,:] + bias[ch]) by epi (not NULL) in one pass; y may be z. */
cn_status cn_bias_activation_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_epilogue *epi,
                                     const cn_buffer *z, cn_buffer *y, cn_error *e);
/* db[c] = sum over n and hw of dy[n,c,:] (overwrites db; deterministic, compensated sums). */
cn_status cn_bias_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *dy, cn_buffer *db,
                                  cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
