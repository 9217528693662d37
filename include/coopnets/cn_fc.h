/* cn_fc: the reference nets' "fc" layer, a VALID convolution whose kernel covers the whole input,
 * i.e. y[n, out] = W[out, in] . x[n, in], with in = C * H * W flattened in C, H, W order (so an
 * NCHW activation is used as it lies). No bias, no activation. Plain cn_gemm calls. */
#ifndef CN_FC_H
#define CN_FC_H

#include <stddef.h>

#include "coopnets/cn_error.h"
#include "coopnets/cn_layer.h"
#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x: [n, in], w: [out, in], y: [n, out]. y, dx and dw are overwritten (dw sums over the batch).
 * The forward pass applies the layer epilogue epi (cn_bias.h; NULL: none) after its product. */
cn_status cn_fc_forward(cn_runtime *rt, size_t n, size_t in_features, size_t out_features, const cn_buffer *x,
                        const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_error *e);
cn_status cn_fc_backward_data(cn_runtime *rt, size_t n, size_t in_features, size_t out_features, const cn_buffer *dy,
                              const cn_buffer *w, cn_buffer *dx, cn_error *e);
cn_status cn_fc_backward_params(cn_runtime *rt, size_t n, size_t in_features, size_t out_features,
                                const cn_buffer *x, const cn_buffer *dy, cn_buffer *dw, cn_error *e);

/* The fc layer of a net (cn_layer.h): config filters outputs from the whole flattened input. */
extern const cn_layer_ops cn_fc_layer_ops;

#ifdef __cplusplus
}
#endif
#endif
