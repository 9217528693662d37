/* Parameter gradients summed over the ranks, layer by layer (include/coopnets/cn_gradient_sync.h). */
#include "coopnets/cn_gradient_sync.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t bytes_of(size_t floats) { return floats * sizeof(float); }

/* cn_net_backward's hook: the layer's gradients to the host, behind the kernels that make them. */
static cn_status read_layer(cn_runtime *rt, cn_net *net, int layer, void *user, cn_error *e) {
    cn_gradient_sync *sync = user;
    const cn_layer *l = net->layers[layer];
    if (sync->pending == CN_MAX_LAYERS)
        return cn_error_set(e, CN_ERR_ARG, "%s: more layer gradients than layers in one backward pass", net->name);
    cl_event *ev = &sync->read[sync->pending];
    cl_int err = cn_fault_hit("cl") ? CL_OUT_OF_RESOURCES
                                    : clEnqueueReadBuffer(rt->queue, net->grads.mem, CL_FALSE, bytes_of(l->param_offset),
                                                          bytes_of(l->param_floats), sync->host + l->param_offset, 0,
                                                          NULL, ev);
    if (err != CL_SUCCESS) return cn_cl_fail(e, err, "reading the %s gradients of layer %d", net->name, layer);
    sync->layer[sync->pending++] = layer;
    /* the device starts on it now, not at the next wait */
    err = clFlush(rt->queue);
    return err == CL_SUCCESS ? CN_OK : cn_cl_fail(e, err, "flushing the queue");
}

cn_status cn_gradient_sync_attach(cn_net *net, cn_dist *dist, cn_gradient_sync *sync, cn_error *e) {
    memset(sync, 0, sizeof *sync);
    if (cn_dist_size(dist) == 1) return CN_OK;
    if (!(sync->host = calloc(net->param_floats, sizeof(float))))
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory for the %s gradients", net->name);
    sync->dist = dist;
    sync->net = net;
    net->dist = dist;
    net->on_layer_gradients = read_layer;
    net->on_layer_gradients_user = sync;
    return CN_OK;
}

static void release_reads(cn_gradient_sync *sync, int from) {
    for (int k = from; k < sync->pending; k++) clReleaseEvent(sync->read[k]);
    sync->pending = sync->started = 0;
}

cn_status cn_gradient_sync_start(cn_gradient_sync *sync, cn_error *e) {
    if (!sync->dist) return CN_OK;
    for (; sync->started < sync->pending; sync->started++) {
        cl_event read = sync->read[sync->started];
        /* the device works on the layers below while the sums of the layers above travel */
        cl_int status = CL_QUEUED, err;
        while ((err = clGetEventInfo(read, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL)) ==
                   CL_SUCCESS &&
               status > CL_COMPLETE) {
            cn_dist_progress(sync->dist);
            /* the device's threads may share this core: poll, do not spin */
            struct timespec pause = {0, 200 * 1000};
            nanosleep(&pause, NULL);
        }
        if (err != CL_SUCCESS || status < 0)
            return cn_cl_fail(e, err != CL_SUCCESS ? err : status, "reading the %s gradients", sync->net->name);
        clReleaseEvent(read);
        const cn_layer *l = sync->net->layers[sync->layer[sync->started]];
        CN_TRY(cn_dist_start_sum(sync->dist, sync->host + l->param_offset, l->param_floats, "the gradient sum", e));
    }
    return CN_OK;
}

cn_status cn_gradient_sync_finish(cn_runtime *rt, cn_net *net, cn_gradient_sync *sync, cn_error *e) {
    if (!sync->dist) return CN_OK;
    cn_status s = cn_gradient_sync_start(sync, e);
    release_reads(sync, sync->started);
    if (s == CN_OK) s = cn_dist_finish_sums(sync->dist, e);
    if (s == CN_OK) s = cn_buffer_write(rt, &net->grads, 0, sync->host, bytes_of(net->param_floats), e);
    return s;
}

void cn_gradient_sync_free(cn_net *net, cn_gradient_sync *sync) {
    release_reads(sync, sync->started);
    free(sync->host);
    if (sync->dist) net->on_layer_gradients = NULL, net->on_layer_gradients_user = NULL;
    memset(sync, 0, sizeof *sync);
}
