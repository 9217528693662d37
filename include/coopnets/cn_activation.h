/* cn_activation: point-wise nonlinearities after a layer (DESIGN §3: leaky ReLU with slope 0.2 in
 * both nets, ReLU in the texture descriptor, tanh at the generator's output). */
#ifndef CN_ACTIVATION_H
#define CN_ACTIVATION_H

#include <stddef.h>

#include "coopnets/cn_config.h" /* cn_activation */
#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* act is known, and a leaky ReLU's slope is > 0 (the backward pass needs it); else CN_ERR_ARG
 * naming `function`. */
cn_status cn_activation_check(cn_activation act, float leaky_slope, const char *function, cn_error *e);
/* y = act(x) over `count` floats; y may be x (in place). CN_ACT_NONE copies when y is not x. */
cn_status cn_activation_forward(cn_runtime *rt, cn_activation act, float leaky_slope, size_t count, const cn_buffer *x,
                                cn_buffer *y, cn_error *e);

/* dx = dy * act'(.), with the derivative taken from the forward OUTPUT y:
 *   relu: y > 0 ? 1 : 0;  leaky: y > 0 ? 1 : slope;  tanh: 1 - y^2;  none: 1 (copies when dx is not dy).
 * For leaky ReLU this is right only for leaky_slope > 0 (then y > 0 exactly when x > 0), which is
 * checked. dx may be dy (in place). */
cn_status cn_activation_backward(cn_runtime *rt, cn_activation act, float leaky_slope, size_t count, const cn_buffer *y,
                                 const cn_buffer *dy, cn_buffer *dx, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
