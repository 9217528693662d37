/* cn_gradient_sync: the parameter gradients of a net summed over the ranks of a data-parallel run,
 * a layer at a time while the backward pass goes on (PyTorch DDP's buckets, one per layer).
 *
 * Attached to a net, it hooks cn_net_backward: as each layer's gradients are enqueued, a
 * non-blocking read of that layer's range is enqueued behind them. cn_gradient_sync_finish, called
 * after cn_net_backward returns, starts each layer's sum as soon as its read has landed (the
 * device still computing the layers below), waits for all of them and writes the summed gradients
 * back, ready for the identical Adam step on every rank. Each rank contributes the gradient of its
 * share of the loss, whose terms carry the single-device weights (1/M, 1/n), so the sum is the
 * single-device gradient. */
#ifndef CN_GRADIENT_SYNC_H
#define CN_GRADIENT_SYNC_H

#include "coopnets/cn_dist.h"
#include "coopnets/cn_net.h"

typedef struct cn_gradient_sync {
    cn_dist *dist;
    cn_net *net;
    float *host;                     /* the net's gradients, param_floats */
    cl_event read[CN_MAX_LAYERS];    /* a layer's read, in the order enqueued (top layer first) */
    int layer[CN_MAX_LAYERS];
    int pending;                     /* reads enqueued by the last backward pass */
    int started;                     /* of them, the layers whose sums have started */
} cn_gradient_sync;

/* Attaches sync to net for dist (nothing to do, and nothing attached, for a single process). */
cn_status cn_gradient_sync_attach(cn_net *net, cn_dist *dist, cn_gradient_sync *sync, cn_error *e);
/* Starts each layer's sum of the last backward pass as soon as its read has landed, and returns
 * once all have started (the device goes on with whatever was enqueued behind the pass); they
 * travel until cn_gradient_sync_finish, which calls this itself when nobody did. */
cn_status cn_gradient_sync_start(cn_gradient_sync *sync, cn_error *e);
/* Sums the gradients of the last backward over the ranks; a no-op when nothing is attached. */
cn_status cn_gradient_sync_finish(cn_runtime *rt, cn_net *net, cn_gradient_sync *sync, cn_error *e);
void cn_gradient_sync_free(cn_net *net, cn_gradient_sync *sync);

#endif
