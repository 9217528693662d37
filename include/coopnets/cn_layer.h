/* cn_layer: one layer of a net, walked the same way whatever its kind. Every layer is a linear map
 * of its kind (conv, transposed conv, fc) plus a bias, then optional batch norm, then an
 * activation; the kind's ops table runs the linear map and stores it through the bias (and the
 * activation, when there is no batch norm), the net (cn_net) runs batch norm and what follows it.
 *
 * A kind is a file pair, include/coopnets/cn_KIND.h + src/nn/KIND.c (cn_fc.h + fc.c; cn_conv2d.h +
 * conv2d.c holds two kinds, conv and its adjoint): its passes, its cn_layer_ops, and when it keeps
 * state of its own, a struct that begins with cn_layer (ops->size bytes, allocated by the net).
 * The table from cn_layer_kind to ops is in src/nn/net.c. */
#ifndef CN_LAYER_H
#define CN_LAYER_H

#include <stddef.h>

#include "coopnets/cn_bias.h" /* cn_epilogue */
#include "coopnets/cn_config.h"
#include "coopnets/cn_runtime.h"

typedef struct cn_layer_ops cn_layer_ops;

typedef struct cn_layer {
    const cn_layer_ops *ops; /* its kind's */
    cn_layer_config config;
    int in_c, in_h, in_w, out_c, out_h, out_w;
    /* parameters, their gradients: views into the net's contiguous buffers */
    cn_buffer weight, bias, scale, shift;
    cn_buffer weight_grad, bias_grad, scale_grad, shift_grad;
    /* activations for the largest batch: the linear output (bias added) and the layer output */
    cn_buffer linear, out;
    int out_is_linear; /* no batch norm: the forward pass stores out straight, and linear is out */
    cn_buffer bn_mean, bn_invstd;
    cn_buffer bn_sums; /* the two gradient sums per channel that synchronised batch norm adds up */
    size_t param_offset, param_floats; /* this layer's range of the net's parameter buffer */
} cn_layer;

/* The weight tensor a kind asks for: its shape (dims entries used) in PyTorch's order. */
typedef struct cn_layer_weight {
    int shape[4], dims;
} cn_layer_weight;

struct cn_layer_ops {
    /* Names the layer's tensors: "<net>.<stem><number>.weight" with a number counted per kind in
     * each net ("des.conv2.weight"); first_unnumbered leaves the first one's out ("des.fc"), as the
     * reference names its single fc. */
    const char *tensor_stem;
    int first_unnumbered;
    size_t size; /* bytes of the kind's struct, which begins with cn_layer */
    /* From l->config and the input shape l->in_*: the output shape l->out_* and the weight tensor,
     * refused in words when they do not fit. */
    cn_status (*plan)(cn_layer *l, cn_layer_weight *weight, cn_error *e);
    /* Floats of the net's shared workspace the passes need for batches of n; NULL: none. */
    size_t (*workspace_floats)(const cn_layer *l, size_t n);
    /* y = the linear map of x (n samples), stored through the epilogue epi (the layer's bias and,
     * without batch norm, its activation: cn_bias.h), which a kind fuses into its own kernels where
     * it can. */
    cn_status (*forward)(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x, const cn_epilogue *epi,
                         cn_buffer *y, cn_buffer *workspace, cn_error *e);
    /* dx = the map's adjoint applied to dy. */
    cn_status (*backward_data)(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *dy, cn_buffer *dx,
                               cn_buffer *workspace, cn_error *e);
    /* dw = d(loss)/d(weight) from the input x and dy, summed over the batch (overwritten). */
    cn_status (*backward_params)(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                 const cn_buffer *dy, cn_buffer *dw, cn_buffer *workspace, cn_error *e);
};

#endif
