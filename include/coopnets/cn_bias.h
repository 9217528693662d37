/* cn_bias: per-channel bias of a convolution or fc layer, NCHW (hw = H*W). A bias has no
 * backward_data: dx = dy. */
#ifndef CN_BIAS_H
#define CN_BIAS_H

#include <stddef.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y[n,c,:] += b[c] */
cn_status cn_bias_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, cn_buffer *y, const cn_buffer *b, cn_error *e);
/* db[c] = sum over n and hw of dy[n,c,:] (overwrites db; deterministic, compensated sums). */
cn_status cn_bias_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *dy, cn_buffer *db,
                                  cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
