/* cn_conv2d: 2-D convolution on NCHW tensors (cross-correlation, as PyTorch and TensorFlow do it;
 * no bias) and the transposed convolution, its exact adjoint. All six passes share one path:
 * im2col / col2im kernels (cl/im2col.cl) plus cn_gemm, which where it can (cn_gemm_gathers)
 * gathers the input's column matrix itself (the forward pass from a padded copy) and reads the
 * output gradient where it lies, over the batch in chunks so the workspace stays bounded; where the conv variant (cn_tuning family conv) says direct, the passes of a
 * stride-1 conv with few enough output channels run cl/conv_direct.cl instead, on a padded copy of
 * the input (a workspace about the size of the batch's input).
 *
 * Padding follows TensorFlow (DESIGN §3): SAME gives out = ceil(in / stride) with total padding
 * max((out - 1) * stride + k - in, 0), the smaller half before (top/left); VALID gives
 * out = (in - k) / stride + 1 with no padding; EXPLICIT pads the same amount on every side. */
#ifndef CN_CONV2D_H
#define CN_CONV2D_H

#include <stddef.h>

#include "coopnets/cn_error.h"
#include "coopnets/cn_layer.h"
#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CN_CONV_PAD_SAME, CN_CONV_PAD_VALID, CN_CONV_PAD_EXPLICIT } cn_conv_padding;

typedef struct cn_conv2d_shape {
    int in_c, in_h, in_w;    /* conv input */
    int out_c, out_h, out_w; /* conv output */
    int k_h, k_w, stride;
    int pad_top, pad_left; /* bottom/right padding is whatever remains */
} cn_conv2d_shape;

/* The conv of a square k x k kernel from (in_c, in_h, in_w) to out_c channels; e.g. k5 s2 SAME on
 * 64 -> 32 pads (1, 2). Sizes must be positive and the output non-empty, else CN_ERR_ARG. */
cn_status cn_conv2d_shape_make(cn_conv2d_shape *s, int in_c, int in_h, int in_w, int out_c, int k, int stride,
                               cn_conv_padding pad, int explicit_pad, cn_error *e);
/* The conv whose adjoint is a transposed conv from (in_c, in_h, in_w) to (out_c, out_h, out_w):
 * a conv from (out_c, out_h, out_w) to (in_c, in_h, in_w) with SAME or VALID computed for that
 * conv (deconv k4 s2 SAME 4x4 -> 7x7 is the conv 7x7 -> 4x4 with pads (1, 2); deconv k4 VALID
 * 1x1 -> 4x4 the conv 4x4 -> 1x1). CN_ERR_ARG, in words, when that conv of out_h x out_w does
 * not give in_h x in_w. */
cn_status cn_deconv2d_shape_make(cn_conv2d_shape *conv, int in_c, int in_h, int in_w, int out_c, int out_h,
                                 int out_w, int k, int stride, cn_conv_padding pad, cn_error *e);

/* Floats the workspace `ws` must hold for n images, for any of the six passes. Bounded: batches
 * are processed in chunks of at most a few tens of MB (at least one image per chunk). */
size_t cn_conv2d_workspace_floats(const cn_conv2d_shape *s, size_t n);

/* x: [n, in_c, in_h, in_w], y: [n, out_c, out_h, out_w], weights w: [out_c, in_c, k_h, k_w].
 * y, dx and dw are overwritten (dw sums over the batch). Enqueued on rt's queue, never waiting.
 * The forward passes store y through the layer epilogue epi (cn_bias.h; NULL: the plain map). */
cn_status cn_conv2d_forward(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                            const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_buffer *ws, cn_error *e);
cn_status cn_conv2d_backward_data(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *dy,
                                  const cn_buffer *w, cn_buffer *dx, cn_buffer *ws, cn_error *e);
cn_status cn_conv2d_backward_params(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                                    const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws, cn_error *e);

/* Transposed conv = the adjoint of the conv `s`: x has the conv's OUTPUT shape
 * [n, s->out_c, s->out_h, s->out_w], y the conv's INPUT shape [n, s->in_c, s->in_h, s->in_w];
 * weights [s->out_c, s->in_c, k_h, k_w] (PyTorch ConvTranspose2d's [in, out, kh, kw]). */
cn_status cn_deconv2d_forward(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                              const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_buffer *ws, cn_error *e);
cn_status cn_deconv2d_backward_data(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *dy,
                                    const cn_buffer *w, cn_buffer *dx, cn_buffer *ws, cn_error *e);
cn_status cn_deconv2d_backward_params(cn_runtime *rt, const cn_conv2d_shape *s, size_t n, const cn_buffer *x,
                                      const cn_buffer *dy, cn_buffer *dw, cn_buffer *ws, cn_error *e);

/* The conv and transposed-conv layers of a net (cn_layer.h): config kernel, stride and padding
 * (SAME or VALID); a transposed conv's output is config output_size, or else in * stride (SAME),
 * (in - 1) * stride + kernel (VALID). */
extern const cn_layer_ops cn_conv2d_layer_ops, cn_deconv2d_layer_ops;
/* The conv a conv layer runs, or that a transposed-conv layer is the adjoint of; NULL for a layer
 * of another kind. */
const cn_conv2d_shape *cn_conv2d_layer_shape(const cn_layer *l);

#ifdef __cplusplus
}
#endif
#endif
