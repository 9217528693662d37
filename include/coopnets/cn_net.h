/* cn_net: a network built from a config — a list of layers walked the same way forward and
 * backward. A net owns every device buffer it uses (parameters, gradients, Adam moments,
 * activations for its largest batch, workspace), allocated once in cn_net_build and released by
 * cn_net_free; nothing is allocated during forward or backward.
 *
 * Each layer (cn_layer.h) is: linear (conv, transposed conv or fc, run by its kind's ops table) +
 * bias, then optional batch norm (batch statistics, learnable shift, optional scale), then an
 * activation. */
#ifndef CN_NET_H
#define CN_NET_H

#include "coopnets/cn_adam.h"
#include "coopnets/cn_config.h"
#include "coopnets/cn_layer.h"
#include "coopnets/cn_runtime.h"

/* What a net is for: its tensor names ("des.", "gen."), its weight streams and its messages. */
typedef enum cn_net_role { CN_NET_DESCRIPTOR, CN_NET_GENERATOR } cn_net_role;
/* "descriptor" / "generator", as messages and checkpoint headers name the net. */
const char *cn_net_role_name(cn_net_role role);
/* The role named `name` (as cn_net_role_name writes it); 0 when there is none. */
int cn_net_role_from_name(const char *name, cn_net_role *role);

/* What a parameter tensor is, which decides how it starts (cn_net_init_weights). */
typedef enum cn_tensor_kind {
    CN_TENSOR_WEIGHT,
    CN_TENSOR_BIAS,
    CN_TENSOR_BN_SCALE,
    CN_TENSOR_BN_SHIFT
} cn_tensor_kind;

/* A parameter tensor of the net, in the order PyTorch's reference lists them. */
typedef struct cn_tensor_info {
    char name[48];
    cn_tensor_kind kind;
    int layer; /* the index of the layer it belongs to */
    int shape[4], dims;
    size_t offset, count; /* in floats, inside the net's parameter buffer */
} cn_tensor_info;

typedef struct cn_net {
    cn_net_role role;
    const char *name; /* cn_net_role_name(role) */
    int layer_count;
    cn_layer *layers[CN_MAX_LAYERS]; /* each its kind's struct (layers[i]->ops->size bytes), owned by the net */
    int in_c, in_h, in_w;
    size_t max_batch;
    float leaky_slope, bn_eps, weight_std;
    int tensor_count;
    cn_tensor_info tensors[CN_MAX_LAYERS * 4];
    size_t param_floats;     /* including alignment padding between tensors */
    size_t gradient_floats;  /* each backward scratch buffer */
    size_t workspace_floats;
    cn_buffer params, grads, adam_m, adam_v;
    cn_adam_params adam;
    unsigned long adam_step;
    cn_buffer grad_in, grad_out; /* backward ping-pong, each the largest activation */
    cn_buffer workspace;
    size_t bytes;                /* device memory this net holds once allocated */
    size_t largest_buffer_bytes; /* its largest single buffer */
    /* Data-parallel training (NULL: one process): batch norm uses the statistics of the batch
     * split over these ranks; on_layer_gradients, when set, is called as soon as a layer's
     * parameter gradients are enqueued, so their sum over the ranks can start while the device
     * goes on with the layers below (cn_gradient_sync). */
    struct cn_dist *dist;
    cn_status (*on_layer_gradients)(cn_runtime *rt, struct cn_net *net, int layer, void *user, cn_error *e);
    void *on_layer_gradients_user;
} cn_net;

/* Builds the descriptor or the generator of config c for batches up to max_batch (checking the
 * device memory first, naming the net and the batch). Weights start at zero: call
 * cn_net_init_weights or load them. */
cn_status cn_net_build_descriptor(cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net, cn_error *e);
cn_status cn_net_build_generator(cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net, cn_error *e);
void cn_net_free(cn_runtime *rt, cn_net *net);
/* The two halves of a build, for callers that check several nets' memory together: the plan
 * (shapes, parameter layout, net->bytes) touches no device memory; cn_net_allocate then makes the
 * buffers (after the caller's cn_device_memory_check). A planned net, allocated or not, is released
 * by cn_net_free. */
cn_status cn_net_plan_descriptor(const cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net,
                                 cn_error *e);
cn_status cn_net_plan_generator(const cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net,
                                cn_error *e);
cn_status cn_net_allocate(cn_runtime *rt, cn_net *net, cn_error *e);

/* Weights ~ N(0, weight_std²) from the Philox stream (seed, CN_STREAM_WEIGHTS, tensor index),
 * biases, shifts 0, scales 1; Adam moments 0. */
cn_status cn_net_init_weights(cn_runtime *rt, cn_net *net, uint64_t seed, cn_error *e);

size_t cn_net_input_size(const cn_net *net);  /* floats per sample */
size_t cn_net_output_size(const cn_net *net); /* floats per sample */
const cn_buffer *cn_net_output(const cn_net *net);

/* Runs the net on n samples of x; the result is cn_net_output(net) (valid until the next forward). */
cn_status cn_net_forward(cn_runtime *rt, cn_net *net, size_t n, const cn_buffer *x, cn_error *e);
/* Back-propagates d(loss)/d(output) = dy through the activations of the last forward on (n, x).
 * dx (may be NULL) receives d(loss)/d(input); with want_params the parameter gradients are
 * written (overwritten) into the net's gradient buffer. */
cn_status cn_net_backward(cn_runtime *rt, cn_net *net, size_t n, const cn_buffer *x, const cn_buffer *dy,
                          cn_buffer *dx, int want_params, cn_error *e);
/* One Adam step over every parameter with the current gradients. */
cn_status cn_net_adam_step(cn_runtime *rt, cn_net *net, cn_error *e);

#endif
