/* Nets from config: building (shapes, parameter layout, buffers), forward, backward, Adam. */
#include "coopnets/cn_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_activation.h"
#include "coopnets/cn_batchnorm.h"
#include "coopnets/cn_bias.h"
#include "coopnets/cn_conv2d.h"
#include "coopnets/cn_fc.h"
#include "coopnets/cn_noise.h"

/* The layer kinds, by cn_layer_kind. A new kind is a file pair with its passes and cn_layer_ops,
 * and a line here. */
static const cn_layer_ops *const layer_kinds[CN_LAYER_KIND_COUNT] = {
    [CN_LAYER_CONV] = &cn_conv2d_layer_ops,
    [CN_LAYER_DECONV] = &cn_deconv2d_layer_ops,
    [CN_LAYER_FC] = &cn_fc_layer_ops,
};
#define LAYER_KIND_COUNT CN_LAYER_KIND_COUNT

/* By cn_net_role. Tensor t's weights are drawn at step first_weight_step + t of the weights stream,
 * so the two nets' draws differ. */
static const struct {
    const char *name, *tensor_prefix;
    uint32_t first_weight_step;
} roles[] = {
    [CN_NET_DESCRIPTOR] = {"descriptor", "des", 0},
    [CN_NET_GENERATOR] = {"generator", "gen", 1000},
};

const char *cn_net_role_name(cn_net_role role) { return roles[role].name; }

int cn_net_role_from_name(const char *name, cn_net_role *role) {
    for (size_t r = 0; r < sizeof roles / sizeof *roles; r++)
        if (strcmp(name, roles[r].name) == 0) {
            *role = (cn_net_role)r;
            return 1;
        }
    return 0;
}

static size_t layer_out_size(const cn_layer *l) { return (size_t)l->out_c * l->out_h * l->out_w; }

size_t cn_net_input_size(const cn_net *net) { return (size_t)net->in_c * net->in_h * net->in_w; }
size_t cn_net_output_size(const cn_net *net) { return layer_out_size(net->layers[net->layer_count - 1]); }
const cn_buffer *cn_net_output(const cn_net *net) { return &net->layers[net->layer_count - 1]->out; }

/* ---- shapes and parameter layout -------------------------------------------------------------- */

/* Tensor `kind` of layer `layer`, named "<net>.<stem>.<suffix>" ("des.conv1.weight"). */
static cn_status add_tensor(cn_net *net, size_t align, int layer, const char *stem, cn_tensor_kind kind,
                            const char *suffix, int dims, const int shape[4], cn_error *e) {
    if (net->tensor_count >= (int)(sizeof net->tensors / sizeof *net->tensors))
        return cn_error_set(e, CN_ERR_CONFIG, "%s: too many parameter tensors", net->name);
    cn_tensor_info *t = &net->tensors[net->tensor_count++];
    snprintf(t->name, sizeof t->name, "%s.%s.%s", roles[net->role].tensor_prefix, stem, suffix);
    t->kind = kind;
    t->layer = layer;
    t->dims = dims;
    t->count = 1;
    for (int i = 0; i < 4; i++) {
        t->shape[i] = i < dims ? shape[i] : 1;
        t->count *= (size_t)t->shape[i];
    }
    t->offset = cn_round_up(net->param_floats, align);
    net->param_floats = t->offset + t->count;
    return CN_OK;
}

/* Shapes and tensors of layer i, whose input is (c, h, w); kind_counts and bn_count number the
 * tensor names. */
static cn_status plan_layer(cn_net *net, int i, const cn_layer_config *lc, int c, int h, int w, size_t align,
                            int *kind_counts, int *bn_count, cn_error *e) {
    if ((size_t)lc->kind >= LAYER_KIND_COUNT || !layer_kinds[lc->kind])
        return cn_error_set(e, CN_ERR_CONFIG, "%s.layers[%d]: unknown layer kind", net->name, i);
    const cn_layer_ops *ops = layer_kinds[lc->kind];
    cn_layer *l = net->layers[i] = calloc(1, ops->size);
    if (!l) return cn_error_set(e, CN_ERR_NOMEM, "out of memory planning the %s", net->name);
    l->ops = ops;
    l->config = *lc;
    l->in_c = c, l->in_h = h, l->in_w = w;
    int first_tensor = net->tensor_count;
    cn_layer_weight weight;
    CN_TRY(ops->plan(l, &weight, e));
    char stem[32];
    int number = ++kind_counts[lc->kind];
    if (number == 1 && ops->first_unnumbered) snprintf(stem, sizeof stem, "%s", ops->tensor_stem);
    else snprintf(stem, sizeof stem, "%s%d", ops->tensor_stem, number);
    const int per_channel[4] = {l->out_c, 1, 1, 1};
    CN_TRY(add_tensor(net, align, i, stem, CN_TENSOR_WEIGHT, "weight", weight.dims, weight.shape, e));
    CN_TRY(add_tensor(net, align, i, stem, CN_TENSOR_BIAS, "bias", 1, per_channel, e));
    if (lc->batchnorm) {
        snprintf(stem, sizeof stem, "bn%d", ++*bn_count);
        if (lc->bn_scale) CN_TRY(add_tensor(net, align, i, stem, CN_TENSOR_BN_SCALE, "scale", 1, per_channel, e));
        CN_TRY(add_tensor(net, align, i, stem, CN_TENSOR_BN_SHIFT, "shift", 1, per_channel, e));
    }
    l->out_is_linear = !lc->batchnorm;
    l->param_offset = net->tensors[first_tensor].offset;
    l->param_floats = net->param_floats - l->param_offset;
    return CN_OK;
}

static size_t bytes_of(size_t floats) { return floats * sizeof(float); }

/* Views of every parameter tensor into params and grads, in tensor order. */
static cn_status make_views(cn_runtime *rt, cn_net *net, cn_error *e) {
    for (int t = 0; t < net->tensor_count; t++) {
        const cn_tensor_info *ti = &net->tensors[t];
        cn_layer *l = net->layers[ti->layer];
        cn_buffer *const views[][2] = {[CN_TENSOR_WEIGHT] = {&l->weight, &l->weight_grad},
                                       [CN_TENSOR_BIAS] = {&l->bias, &l->bias_grad},
                                       [CN_TENSOR_BN_SCALE] = {&l->scale, &l->scale_grad},
                                       [CN_TENSOR_BN_SHIFT] = {&l->shift, &l->shift_grad}};
        CN_TRY(cn_buffer_view(rt, views[ti->kind][0], &net->params, bytes_of(ti->offset), bytes_of(ti->count), e));
        CN_TRY(cn_buffer_view(rt, views[ti->kind][1], &net->grads, bytes_of(ti->offset), bytes_of(ti->count), e));
    }
    return CN_OK;
}

/* Shapes, parameter layout and the memory every buffer will take; nothing is allocated. */
static cn_status plan(const cn_runtime *rt, cn_net_role role, int in_c, int in_h, int in_w,
                      const cn_layer_config *layers, int layer_count, float leaky_slope, float bn_eps,
                      float weight_std, const cn_optimizer_config *opt, size_t max_batch, cn_net *net, cn_error *e) {
    memset(net, 0, sizeof *net);
    net->role = role;
    const char *name = net->name = roles[role].name;
    net->in_c = in_c, net->in_h = in_h, net->in_w = in_w;
    net->max_batch = max_batch;
    net->leaky_slope = leaky_slope;
    net->bn_eps = bn_eps;
    net->weight_std = weight_std;
    net->adam = (cn_adam_params){(float)opt->lr, (float)opt->beta1, (float)opt->beta2, (float)opt->eps};
    net->layer_count = layer_count;
    size_t align = rt->device.base_addr_align_bytes / sizeof(float);
    int kind_counts[LAYER_KIND_COUNT] = {0}, bn_count = 0;
    int c = in_c, h = in_h, w = in_w;
    size_t largest_act = (size_t)c * h * w, workspace = 0, activations = 0;
    for (int i = 0; i < layer_count; i++) {
        cn_status s = plan_layer(net, i, &layers[i], c, h, w, align, kind_counts, &bn_count, e);
        if (s != CN_OK) {
            cn_error_prefix(e, "%s.layers[%d]", name, i);
            return s; /* the layer's status, also when e is NULL */
        }
        const cn_layer *l = net->layers[i];
        c = l->out_c, h = l->out_h, w = l->out_w;
        size_t out = layer_out_size(l);
        if (out > largest_act) largest_act = out;
        activations += out * (l->out_is_linear ? 1 : 2) + (l->config.batchnorm ? 4 * (size_t)l->out_c : 0);
        size_t ws = l->ops->workspace_floats ? l->ops->workspace_floats(l, max_batch) : 0;
        if (ws > workspace) workspace = ws;
    }
    net->param_floats = cn_round_up(net->param_floats, align);
    net->gradient_floats = largest_act * max_batch;
    net->workspace_floats = workspace;
    size_t param_bytes = bytes_of(net->param_floats), grad_bytes = bytes_of(net->gradient_floats);
    net->bytes = 4 * param_bytes + bytes_of(activations * max_batch) + 2 * grad_bytes + bytes_of(workspace);
    net->largest_buffer_bytes = grad_bytes > param_bytes ? grad_bytes : param_bytes;
    if (bytes_of(workspace) > net->largest_buffer_bytes) net->largest_buffer_bytes = bytes_of(workspace);
    return CN_OK;
}

cn_status cn_net_allocate(cn_runtime *rt, cn_net *net, cn_error *e) {
    char what[96];
    const char *name = net->name;
    size_t param_bytes = bytes_of(net->param_floats), pf = net->param_floats;
    snprintf(what, sizeof what, "%s parameters", name);
    CN_TRY(cn_buffer_alloc(rt, &net->params, param_bytes, what, e));
    CN_TRY(cn_buffer_alloc(rt, &net->grads, param_bytes, what, e));
    CN_TRY(cn_buffer_alloc(rt, &net->adam_m, param_bytes, what, e));
    CN_TRY(cn_buffer_alloc(rt, &net->adam_v, param_bytes, what, e));
    CN_TRY(cn_buffer_fill_f32(rt, &net->params, 0, 0, pf, e));
    CN_TRY(cn_buffer_fill_f32(rt, &net->grads, 0, 0, pf, e));
    CN_TRY(cn_buffer_fill_f32(rt, &net->adam_m, 0, 0, pf, e));
    CN_TRY(cn_buffer_fill_f32(rt, &net->adam_v, 0, 0, pf, e));
    CN_TRY(make_views(rt, net, e));
    snprintf(what, sizeof what, "%s activations", name);
    for (int i = 0; i < net->layer_count; i++) {
        cn_layer *l = net->layers[i];
        size_t out = layer_out_size(l) * net->max_batch;
        CN_TRY(cn_buffer_alloc(rt, &l->linear, bytes_of(out), what, e));
        if (l->out_is_linear) {
            l->out = l->linear;
            l->out.is_view = 1; /* the same object: freed once, through linear */
        } else {
            CN_TRY(cn_buffer_alloc(rt, &l->out, bytes_of(out), what, e));
        }
        if (l->config.batchnorm) {
            CN_TRY(cn_buffer_alloc(rt, &l->bn_mean, bytes_of(l->out_c), what, e));
            CN_TRY(cn_buffer_alloc(rt, &l->bn_invstd, bytes_of(l->out_c), what, e));
            CN_TRY(cn_buffer_alloc(rt, &l->bn_sums, bytes_of(2 * (size_t)l->out_c), what, e));
        }
    }
    snprintf(what, sizeof what, "%s gradients", name);
    CN_TRY(cn_buffer_alloc(rt, &net->grad_in, bytes_of(net->gradient_floats), what, e));
    CN_TRY(cn_buffer_alloc(rt, &net->grad_out, bytes_of(net->gradient_floats), what, e));
    snprintf(what, sizeof what, "%s convolution workspace", name);
    return cn_buffer_alloc(rt, &net->workspace, bytes_of(net->workspace_floats), what, e);
}

cn_status cn_net_plan_descriptor(const cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net,
                                 cn_error *e) {
    const cn_descriptor_config *d = &c->descriptor;
    return plan(rt, CN_NET_DESCRIPTOR, c->data.channels, c->data.image_size, c->data.image_size, d->layers, d->layer_count,
                (float)d->leaky_slope, 0, (float)d->weight_std, &d->optimizer, max_batch, net, e);
}

cn_status cn_net_plan_generator(const cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net,
                                cn_error *e) {
    const cn_generator_config *g = &c->generator;
    return plan(rt, CN_NET_GENERATOR, g->latent_channels, g->latent_size, g->latent_size, g->layers, g->layer_count,
                (float)g->leaky_slope, (float)g->bn_eps, (float)g->weight_std, &g->optimizer, max_batch, net, e);
}

/* Plan, check the device memory once (so a too-large config is refused in words before anything
 * is allocated), allocate. */
static cn_status build(cn_runtime *rt, cn_status planned, cn_net *net, cn_error *e) {
    cn_status s = planned;
    if (s == CN_OK) {
        char what[96];
        snprintf(what, sizeof what, "the %s for batches of %zu", net->name, net->max_batch);
        s = cn_device_memory_check(rt, net->bytes, net->largest_buffer_bytes, what, e);
    }
    if (s == CN_OK) s = cn_net_allocate(rt, net, e);
    if (s != CN_OK) cn_net_free(rt, net);
    return s;
}

cn_status cn_net_build_descriptor(cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net, cn_error *e) {
    return build(rt, cn_net_plan_descriptor(rt, c, max_batch, net, e), net, e);
}

cn_status cn_net_build_generator(cn_runtime *rt, const cn_config *c, size_t max_batch, cn_net *net, cn_error *e) {
    return build(rt, cn_net_plan_generator(rt, c, max_batch, net, e), net, e);
}

void cn_net_free(cn_runtime *rt, cn_net *net) {
    for (int i = 0; i < net->layer_count; i++) {
        cn_layer *l = net->layers[i];
        if (!l) continue; /* its plan failed before it, or the net is freed already */
        cn_buffer *all[] = {&l->weight, &l->bias, &l->scale, &l->shift, &l->weight_grad, &l->bias_grad,
                            &l->scale_grad, &l->shift_grad, &l->bn_mean, &l->bn_invstd, &l->bn_sums, &l->linear};
        for (size_t k = 0; k < sizeof all / sizeof *all; k++) cn_buffer_free(rt, all[k]);
        if (!l->out_is_linear) cn_buffer_free(rt, &l->out);
        free(l);
        net->layers[i] = NULL;
    }
    cn_buffer *own[] = {&net->params, &net->grads, &net->adam_m, &net->adam_v, &net->grad_in, &net->grad_out,
                        &net->workspace};
    for (size_t k = 0; k < sizeof own / sizeof *own; k++) cn_buffer_free(rt, own[k]);
}

cn_status cn_net_init_weights(cn_runtime *rt, cn_net *net, uint64_t seed, cn_error *e) {
    float *host = calloc(net->params.bytes / sizeof(float), sizeof(float));
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory initialising the %s", net->name);
    for (int t = 0; t < net->tensor_count; t++) {
        const cn_tensor_info *ti = &net->tensors[t];
        float *p = host + ti->offset;
        if (ti->kind == CN_TENSOR_WEIGHT) {
            cn_noise_key key = {seed, 0, CN_STREAM_WEIGHTS, roles[net->role].first_weight_step + (uint32_t)t, 0};
            cn_noise_normal_host(&key, ti->count, p);
            for (size_t i = 0; i < ti->count; i++) p[i] *= net->weight_std;
        } else if (ti->kind == CN_TENSOR_BN_SCALE) {
            for (size_t i = 0; i < ti->count; i++) p[i] = 1.0f;
        }
    }
    cn_status s = cn_buffer_write(rt, &net->params, 0, host, net->params.bytes, e);
    free(host);
    CN_TRY(s);
    net->adam_step = 0;
    size_t pf = net->params.bytes / sizeof(float);
    CN_TRY(cn_buffer_fill_f32(rt, &net->adam_m, 0, 0, pf, e));
    return cn_buffer_fill_f32(rt, &net->adam_v, 0, 0, pf, e);
}

/* ---- forward and backward --------------------------------------------------------------------- */

cn_status cn_net_forward(cn_runtime *rt, cn_net *net, size_t n, const cn_buffer *x, cn_error *e) {
    if (n > net->max_batch)
        return cn_error_set(e, CN_ERR_ARG, "%s: batch of %zu exceeds the %zu it was built for", net->name, n,
                            net->max_batch);
    const cn_buffer *in = x;
    for (int i = 0; i < net->layer_count; i++) {
        cn_layer *l = net->layers[i];
        const cn_layer_config *lc = &l->config;
        size_t hw = (size_t)l->out_h * l->out_w, count = n * layer_out_size(l);
        /* Without batch norm the map stores the layer's output (linear is out) through its bias and
         * activation; with it, through the bias alone. */
        const cn_epilogue epi = {&l->bias, lc->batchnorm ? CN_ACT_NONE : lc->activation, net->leaky_slope};
        CN_TRY(l->ops->forward(rt, l, n, in, &epi, &l->linear, &net->workspace, e));
        if (lc->batchnorm) {
            CN_TRY(cn_batchnorm_forward_synced(rt, net->dist, n, (size_t)l->out_c, hw, net->bn_eps, &l->linear,
                                               lc->bn_scale ? &l->scale : NULL, &l->shift, &l->out, &l->bn_mean,
                                               &l->bn_invstd, e));
            if (lc->activation != CN_ACT_NONE)
                CN_TRY(cn_activation_forward(rt, lc->activation, net->leaky_slope, count, &l->out, &l->out, e));
        }
        in = &l->out;
    }
    return CN_OK;
}

cn_status cn_net_backward(cn_runtime *rt, cn_net *net, size_t n, const cn_buffer *x, const cn_buffer *dy,
                          cn_buffer *dx, int want_params, cn_error *e) {
    if (n > net->max_batch)
        return cn_error_set(e, CN_ERR_ARG, "%s: batch of %zu exceeds the %zu it was built for", net->name, n,
                            net->max_batch);
    /* g is the gradient with respect to the current layer's output; it moves between the two
     * scratch buffers, never into the caller's dy. */
    const cn_buffer *g = dy;
#define OTHER(buf) ((buf) == &net->grad_in ? &net->grad_out : &net->grad_in)
    for (int i = net->layer_count - 1; i >= 0; i--) {
        cn_layer *l = net->layers[i];
        const cn_layer_config *lc = &l->config;
        size_t c = (size_t)l->out_c, hw = (size_t)l->out_h * l->out_w, count = n * layer_out_size(l);
        const cn_buffer *in = i == 0 ? x : &net->layers[i - 1]->out;
        if (lc->activation != CN_ACT_NONE) {
            cn_buffer *to = g == &net->grad_out ? &net->grad_out : &net->grad_in; /* in place, off dy */
            CN_TRY(cn_activation_backward(rt, lc->activation, net->leaky_slope, count, &l->out, g, to, e));
            g = to;
        }
        if (lc->batchnorm) {
            const cn_buffer *scale = lc->bn_scale ? &l->scale : NULL;
            if (want_params)
                CN_TRY(cn_batchnorm_backward_params(rt, n, c, hw, &l->linear, &l->bn_mean, &l->bn_invstd, g,
                                                    lc->bn_scale ? &l->scale_grad : NULL, &l->shift_grad, e));
            cn_buffer *to = OTHER(g);
            CN_TRY(cn_batchnorm_backward_data_synced(rt, net->dist, n, c, hw, &l->linear, scale, &l->bn_mean,
                                                     &l->bn_invstd, g, to, &l->bn_sums, e));
            g = to;
        }
        if (want_params) {
            CN_TRY(cn_bias_backward_params(rt, n, c, hw, g, &l->bias_grad, e));
            CN_TRY(l->ops->backward_params(rt, l, n, in, g, &l->weight_grad, &net->workspace, e));
            if (net->on_layer_gradients) CN_TRY(net->on_layer_gradients(rt, net, i, net->on_layer_gradients_user, e));
        }
        if (i == 0 && !dx) break;
        cn_buffer *to = i == 0 ? dx : OTHER(g);
        CN_TRY(l->ops->backward_data(rt, l, n, g, to, &net->workspace, e));
        g = to;
    }
#undef OTHER
    return CN_OK;
}

cn_status cn_net_adam_step(cn_runtime *rt, cn_net *net, cn_error *e) {
    net->adam_step++;
    return cn_adam_update(rt, &net->adam, net->adam_step, net->params.bytes / sizeof(float), &net->params,
                          &net->grads, &net->adam_m, &net->adam_v, e);
}
