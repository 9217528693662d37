/* The five cooperative steps of DESIGN §2 and the iteration that enqueues them in order. */
#include "coopnets/cn_coop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_langevin.h"
#include "coopnets/cn_noise.h"
#include "coopnets/cn_reduce.h"
#include "coopnets/cn_util.h"

static size_t bytes_of(size_t floats) { return floats * sizeof(float); }

static int built(const cn_net *net) { return net->layer_count > 0; }

static cn_status fill_host(cn_runtime *rt, cn_buffer *b, size_t rows, size_t cols, size_t split, float head,
                           float tail, cn_error *e) {
    float *host = malloc(bytes_of(rows * cols));
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) host[r * cols + c] = r < split ? head : tail;
    cn_status s = cn_buffer_write(rt, b, 0, host, bytes_of(rows * cols), e);
    free(host);
    return s;
}

/* Scratch for the metric reductions: the largest any of them needs. */
static size_t reduce_workspace(const cn_coop *coop, size_t outs) {
    size_t m = coop->chain_count, img = coop->image_floats;
    size_t sizes[] = {cn_reduce_workspace_floats(m, outs), cn_reduce_workspace_floats(m + coop->batch, outs),
                      cn_reduce_workspace_floats(m, img), cn_reduce_workspace_floats(1, coop->generator_rows * img)};
    size_t most = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (sizes[i] > most) most = sizes[i];
    return most;
}

/* This rank's share of the observed batch and of the chains; a share must not be empty. */
static cn_status split_over_ranks(const cn_config *c, cn_dist *dist, cn_coop *coop, cn_error *e) {
    coop->dist = dist;
    coop->batch_total = (size_t)c->training.batch_size;
    coop->chains_total = (size_t)c->training.chains;
    cn_dist_share(dist, coop->batch_total, &coop->batch_first, &coop->batch);
    cn_dist_share(dist, coop->chains_total, &coop->chain_first, &coop->chain_count);
    coop->generator_first = c->mode == CN_MODE_GENERATOR ? coop->batch_first : coop->chain_first;
    int ranks = cn_dist_size(dist);
    if (ranks == 1) return CN_OK;
    size_t fewest = coop->batch_total < coop->chains_total ? coop->batch_total : coop->chains_total;
    if (fewest < (size_t)ranks)
        return cn_error_set(e, CN_ERR_CONFIG,
                            "%s: training.batch_size %zu and training.chains %zu split over %d ranks leave a rank "
                            "with nothing to do: use at most %zu ranks",
                            c->source, coop->batch_total, coop->chains_total, ranks, fewest);
    return CN_OK;
}

cn_status cn_coop_create(cn_runtime *rt, const cn_config *c, cn_coop *coop, cn_error *e) {
    return cn_coop_create_on(rt, c, NULL, coop, e);
}

cn_status cn_coop_create_on(cn_runtime *rt, const cn_config *c, cn_dist *dist, cn_coop *coop, cn_error *e) {
    memset(coop, 0, sizeof *coop);
    coop->config = *c;
    CN_TRY(split_over_ranks(c, dist, coop, e));
    size_t n = coop->batch, m = coop->chain_count;
    /* Algorithm G runs the generator on the observed batch, the other modes on the chains. */
    int generator_mode = c->mode == CN_MODE_GENERATOR;
    size_t rows = coop->generator_rows = generator_mode && n > m ? n : m;
    cn_status s = CN_OK;
    int with_descriptor = c->mode != CN_MODE_GENERATOR, with_generator = c->mode != CN_MODE_DESCRIPTOR;
    if (with_descriptor) s = cn_net_plan_descriptor(rt, c, m + n, &coop->descriptor, e);
    if (s == CN_OK && with_generator) s = cn_net_plan_generator(rt, c, rows, &coop->generator, e);
    if (s != CN_OK) goto fail;
    coop->image_floats = (size_t)c->data.channels * (size_t)c->data.image_size * (size_t)c->data.image_size;
    coop->latent_floats = (size_t)c->generator.latent_channels * (size_t)c->generator.latent_size *
                          (size_t)c->generator.latent_size;
    size_t outs = built(&coop->descriptor) ? cn_net_output_size(&coop->descriptor) : 0, img = coop->image_floats;
    struct {
        cn_buffer *b;
        size_t floats;
    } plan[] = {
        {&coop->images, (generator_mode ? rows : m + n) * img}, {&coop->latent, rows * coop->latent_floats},
        {&coop->image_grad, m * img},     {&coop->latent_grad, rows * coop->latent_floats},
        {&coop->residual, rows * img},    {&coop->ones, m * outs},
        {&coop->loss_weights, (m + n) * outs}, {&coop->f_generated, m},
        {&coop->f_batch, m + n},          {&coop->grad_norms, m},
        {&coop->residual_sq, 1},          {&coop->reduce_ws, reduce_workspace(coop, outs)},
    };
    /* Both nets and the chains, checked together before anything is allocated. */
    size_t total = coop->descriptor.bytes + coop->generator.bytes, largest = 0;
    const cn_net *nets[] = {&coop->descriptor, &coop->generator};
    for (int k = 0; k < 2; k++)
        if (nets[k]->largest_buffer_bytes > largest) largest = nets[k]->largest_buffer_bytes;
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++) {
        total += bytes_of(plan[i].floats);
        if (bytes_of(plan[i].floats) > largest) largest = bytes_of(plan[i].floats);
    }
    char what[128];
    snprintf(what, sizeof what, "training with %zu chains and batches of %zu (%s%s%s)", m, n,
             with_descriptor ? "descriptor" : "", with_descriptor && with_generator ? " + " : "",
             with_generator ? "generator" : "");
    if ((s = cn_device_memory_check(rt, total, largest, what, e)) != CN_OK) goto fail;
    if (with_descriptor && (s = cn_net_allocate(rt, &coop->descriptor, e)) != CN_OK) goto fail;
    if (with_generator && (s = cn_net_allocate(rt, &coop->generator, e)) != CN_OK) goto fail;
    if (with_descriptor && (s = cn_gradient_sync_attach(&coop->descriptor, dist, &coop->descriptor_sync, e)) != CN_OK)
        goto fail;
    if (with_generator && (s = cn_gradient_sync_attach(&coop->generator, dist, &coop->generator_sync, e)) != CN_OK)
        goto fail;
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++)
        if (plan[i].floats &&
            (s = cn_buffer_alloc(rt, plan[i].b, bytes_of(plan[i].floats), "CoopNets chains and images", e)) != CN_OK)
            goto fail;
    if ((s = cn_buffer_view(rt, &coop->chains, &coop->images, 0, bytes_of(m * img), e)) != CN_OK) goto fail;
    if (outs) {
        if ((s = fill_host(rt, &coop->ones, m, outs, m, 1.0f, 1.0f, e)) != CN_OK) goto fail;
        /* the single-device weights: each rank's share of L_D's gradient, summed over the ranks */
        s = fill_host(rt, &coop->loss_weights, m + n, outs, m, 1.0f / (float)coop->chains_total,
                      -1.0f / (float)coop->batch_total, e);
        if (s != CN_OK) goto fail;
    }
    return CN_OK;
fail:
    cn_coop_free(rt, coop);
    return s;
}

void cn_coop_free(cn_runtime *rt, cn_coop *coop) {
    cn_buffer *all[] = {&coop->chains, &coop->images, &coop->latent, &coop->image_grad, &coop->latent_grad,
                        &coop->residual, &coop->ones, &coop->loss_weights, &coop->f_generated, &coop->f_batch,
                        &coop->grad_norms, &coop->residual_sq, &coop->reduce_ws};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_buffer_free(rt, all[i]);
    cn_gradient_sync_free(&coop->descriptor, &coop->descriptor_sync);
    cn_gradient_sync_free(&coop->generator, &coop->generator_sync);
    cn_net_free(rt, &coop->descriptor);
    cn_net_free(rt, &coop->generator);
    free(coop->latents);
    free(coop->gathered_chains);
    coop->latents = coop->gathered_chains = NULL;
}

cn_status cn_coop_init_weights(cn_runtime *rt, cn_coop *coop, cn_error *e) {
    if (built(&coop->descriptor)) CN_TRY(cn_net_init_weights(rt, &coop->descriptor, coop->config.seed, e));
    return built(&coop->generator) ? cn_net_init_weights(rt, &coop->generator, coop->config.seed, e) : CN_OK;
}

cn_status cn_coop_gather_rows(cn_runtime *rt, cn_coop *coop, const cn_buffer *b, size_t total, float *all,
                              cn_error *e) {
    size_t first, rows, img = coop->image_floats;
    cn_dist_share(coop->dist, total, &first, &rows);
    float *mine = cn_dist_rank(coop->dist) == 0 ? all : malloc(bytes_of(rows * img));
    if (!mine) return cn_error_set(e, CN_ERR_NOMEM, "out of memory gathering images");
    cn_status s = cn_buffer_read(rt, b, 0, mine, bytes_of(rows * img), e);
    if (s == CN_OK) s = cn_dist_gather_rows(coop->dist, mine, total, img, all, "gathering the sample images", e);
    if (mine != all) free(mine);
    return s;
}

int cn_coop_persistent_chains(const cn_coop *coop) {
    return coop->config.mode == CN_MODE_DESCRIPTOR && coop->config.descriptor.chain_init == CN_CHAINS_PERSISTENT;
}

cn_status cn_coop_prepare_save(cn_runtime *rt, cn_coop *coop, cn_error *e) {
    if (!cn_coop_persistent_chains(coop) || cn_dist_size(coop->dist) == 1) return CN_OK;
    if (cn_dist_rank(coop->dist) == 0 && !coop->gathered_chains &&
        !(coop->gathered_chains = malloc(bytes_of(coop->chains_total * coop->image_floats))))
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory gathering the chains for the checkpoint");
    return cn_coop_gather_rows(rt, coop, &coop->chains, coop->chains_total, coop->gathered_chains, e);
}

cn_status cn_coop_set_observed(cn_runtime *rt, cn_coop *coop, const float *images, cn_error *e) {
    size_t row = coop->config.mode == CN_MODE_GENERATOR ? 0 : coop->chain_count;
    return cn_buffer_write(rt, &coop->images, bytes_of(row * coop->image_floats), images,
                           bytes_of(coop->batch * coop->image_floats), e);
}

/* ---- the five steps --------------------------------------------------------------------------- */

/* Step 1: h ~ N(0, I) fresh each iteration; Ŷ = g(h) becomes the chains' start. */
cn_status cn_coop_generate(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e) {
    cn_noise_key key = {coop->config.seed, (uint32_t)iteration, CN_STREAM_LATENT, 0,
                        coop->chain_first * coop->latent_floats};
    size_t m = coop->chain_count;
    CN_TRY(cn_noise_normal(rt, &key, m * coop->latent_floats, &coop->latent, e));
    CN_TRY(cn_net_forward(rt, &coop->generator, m, &coop->latent, e));
    coop->generator_forward_current = 1;
    return cn_buffer_copy(rt, &coop->chains, 0, cn_net_output(&coop->generator), 0,
                          bytes_of(m * coop->image_floats), e);
}

/* Descriptor Langevin on the first `m` images of `y`: Y ← Y − (δ²/2)(Y/s² − ∂f/∂Y) + δε. */
static cn_status descriptor_langevin(cn_runtime *rt, cn_coop *coop, cn_buffer *y, size_t m, int steps,
                                     uint64_t seed, uint64_t iteration, int log, cn_error *e) {
    const cn_descriptor_config *d = &coop->config.descriptor;
    cn_net *des = &coop->descriptor;
    size_t outs = cn_net_output_size(des);
    for (int t = 0; t < steps; t++) {
        CN_TRY(cn_net_forward(rt, des, m, y, e));
        if (log && t == 0) {
            CN_TRY(cn_reduce_rows(rt, CN_REDUCE_SUM, m, outs, cn_net_output(des), &coop->f_generated, &coop->reduce_ws, e));
            coop->generated_pending = 1;
        }
        CN_TRY(cn_net_backward(rt, des, m, y, &coop->ones, &coop->image_grad, 0, e));
        if (log && t == steps - 1)
            CN_TRY(cn_reduce_rows(rt, CN_REDUCE_SUM_SQUARES, m, coop->image_floats, &coop->image_grad,
                                  &coop->grad_norms, &coop->reduce_ws, e));
        cn_noise_key key = {seed, (uint32_t)iteration, CN_STREAM_DESCRIPTOR_LANGEVIN, (uint32_t)t,
                            coop->chain_first * coop->image_floats};
        CN_TRY(cn_langevin_descriptor_step(rt, m * coop->image_floats, y, &coop->image_grad,
                                           (float)d->langevin_step_size, (float)d->refsig, d->langevin_noise, &key,
                                           e));
    }
    return CN_OK;
}

/* Step 2: revise Ŷ into Ỹ by l_D descriptor Langevin steps. */
cn_status cn_coop_revise(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    coop->generated_pending = 0;
    return descriptor_langevin(rt, coop, &coop->chains, coop->chain_count, coop->config.descriptor.langevin_steps,
                               coop->config.seed, iteration, log, e);
}

/* Step 3: density shifting, L_D = mean f(Ỹ) − mean f(X), in one pass over [Ỹ; X]. */
cn_status cn_coop_update_descriptor(cn_runtime *rt, cn_coop *coop, int log, cn_error *e) {
    cn_net *des = &coop->descriptor;
    size_t rows = coop->chain_count + coop->batch;
    for (int u = 0; u < coop->config.descriptor.updates_per_iteration; u++) {
        CN_TRY(cn_net_forward(rt, des, rows, &coop->images, e));
        if (log && u == 0)
            CN_TRY(cn_reduce_rows(rt, CN_REDUCE_SUM, rows, cn_net_output_size(des), cn_net_output(des),
                                  &coop->f_batch, &coop->reduce_ws, e));
        CN_TRY(cn_net_backward(rt, des, rows, &coop->images, &coop->loss_weights, NULL, 1, e));
        int last = u == coop->config.descriptor.updates_per_iteration - 1;
        if (last && coop->descriptor_sync.dist && built(&coop->generator)) {
            /* the sums travel through steps 4-5; finish_descriptor_update ends them in step 5 */
            CN_TRY(cn_gradient_sync_start(&coop->descriptor_sync, e));
            coop->descriptor_update_pending = 1;
            break;
        }
        CN_TRY(cn_gradient_sync_finish(rt, des, &coop->descriptor_sync, e));
        CN_TRY(cn_net_adam_step(rt, des, e));
    }
    return CN_OK;
}

/* Step 3's deferred end: the descriptor's summed gradients and its Adam step. */
static cn_status finish_descriptor_update(cn_runtime *rt, cn_coop *coop, cn_error *e) {
    if (!coop->descriptor_update_pending) return CN_OK;
    coop->descriptor_update_pending = 0;
    CN_TRY(cn_gradient_sync_finish(rt, &coop->descriptor, &coop->descriptor_sync, e));
    return cn_net_adam_step(rt, &coop->descriptor, e);
}

/* Step 4: generator Langevin inference of h towards Ỹ:
 * h ← h − (δ_G²/2)(h + ∂/∂h ‖Ỹ − g(h)‖²/(2σ²)) + δ_G ε, per sample. */
cn_status cn_coop_infer_latent(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e) {
    return cn_coop_infer_latent_on(rt, coop, &coop->chains, NULL, coop->chain_count,
                                   coop->config.generator.langevin_steps, coop->config.seed, iteration, e);
}

cn_status cn_coop_infer_latent_on(cn_runtime *rt, cn_coop *coop, const cn_buffer *target, const cn_buffer *mask,
                                  size_t rows, int steps, uint64_t seed, uint64_t iteration, cn_error *e) {
    const cn_generator_config *g = &coop->config.generator;
    cn_net *gen = &coop->generator;
    float inv_var = (float)(1.0 / (g->sigma * g->sigma));
    size_t count = rows * coop->image_floats;
    if (steps > 0) coop->generator_forward_current = 0;
    for (int t = 0; t < steps; t++) {
        CN_TRY(cn_net_forward(rt, gen, rows, &coop->latent, e));
        /* d/dg ‖Ỹ − g‖²/(2σ²) = −(Ỹ − g)/σ², over the visible elements only when masked */
        if (mask)
            CN_TRY(cn_masked_difference(rt, count, -inv_var, target, cn_net_output(gen), mask, &coop->residual, e));
        else
            CN_TRY(cn_scaled_difference(rt, count, -inv_var, target, cn_net_output(gen), &coop->residual, e));
        CN_TRY(cn_net_backward(rt, gen, rows, &coop->latent, &coop->residual, &coop->latent_grad, 0, e));
        cn_noise_key key = {seed, (uint32_t)iteration, CN_STREAM_GENERATOR_LANGEVIN, (uint32_t)t,
                            coop->generator_first * coop->latent_floats};
        CN_TRY(cn_langevin_generator_step(rt, rows * coop->latent_floats, &coop->latent, &coop->latent_grad,
                                          (float)g->langevin_step_size, g->langevin_noise, &key, e));
    }
    return CN_OK;
}

/* The generator update on `rows` rows of the `total` over all ranks that L_G's 1/total averages. */
static cn_status update_generator(cn_runtime *rt, cn_coop *coop, const cn_buffer *target, size_t rows, size_t total,
                                  int reuse_forward, int log, cn_error *e) {
    const cn_generator_config *g = &coop->config.generator;
    cn_net *gen = &coop->generator;
    float scale = (float)(1.0 / ((double)total * g->sigma * g->sigma));
    reuse_forward = reuse_forward && coop->generator_forward_current;
    coop->generator_forward_current = 0; /* the Adam step below changes the weights */
    for (int u = 0; u < g->updates_per_iteration; u++) {
        if (!(u == 0 && reuse_forward)) CN_TRY(cn_net_forward(rt, gen, rows, &coop->latent, e));
        CN_TRY(cn_scaled_difference(rt, rows * coop->image_floats, -scale, target, cn_net_output(gen),
                                    &coop->residual, e));
        if (log && u == 0) {
            CN_TRY(cn_reduce_rows(rt, CN_REDUCE_SUM_SQUARES, 1, rows * coop->image_floats, &coop->residual,
                                  &coop->residual_sq, &coop->reduce_ws, e));
            coop->loss_g_rows = total;
        }
        CN_TRY(cn_net_backward(rt, gen, rows, &coop->latent, &coop->residual, NULL, 1, e));
        CN_TRY(finish_descriptor_update(rt, coop, e));
        CN_TRY(cn_gradient_sync_finish(rt, gen, &coop->generator_sync, e));
        CN_TRY(cn_net_adam_step(rt, gen, e));
    }
    return finish_descriptor_update(rt, coop, e); /* done above unless no update ran */
}

/* Step 5: reconstruction, L_G = (1/M) Σ ‖Ỹ − g(h)‖²/(2σ²). */
cn_status cn_coop_update_generator(cn_runtime *rt, cn_coop *coop, int log, cn_error *e) {
    return update_generator(rt, coop, &coop->chains, coop->chain_count, coop->chains_total, 1, log, e);
}

cn_status cn_coop_update_generator_on(cn_runtime *rt, cn_coop *coop, const cn_buffer *target, size_t rows,
                                      size_t total_rows, int log, cn_error *e) {
    return update_generator(rt, coop, target, rows, total_rows, 0, log, e);
}

/* The steps in the table's one signature: each takes what it needs of (iteration, log). */
static cn_status step_generate(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    (void)log;
    return cn_coop_generate(rt, coop, iteration, e);
}

static cn_status step_update_descriptor(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    (void)iteration;
    return cn_coop_update_descriptor(rt, coop, log, e);
}

static cn_status step_infer_latent(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    (void)log;
    return cn_coop_infer_latent(rt, coop, iteration, e);
}

static cn_status step_update_generator(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    (void)iteration;
    return cn_coop_update_generator(rt, coop, log, e);
}

const cn_coop_step cn_coop_steps[] = { /* [] : a count that differs from CN_COOP_STEP_COUNT does not compile */
    {"generate", 1, step_generate},
    {"revise", 0, cn_coop_revise},
    {"update_descriptor", 0, step_update_descriptor},
    {"infer_latent", 1, step_infer_latent},
    {"update_generator", 1, step_update_generator},
};

cn_status cn_coop_iteration(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e) {
    for (int k = 0; k < CN_COOP_STEP_COUNT; k++) CN_TRY(cn_coop_steps[k].run(rt, coop, iteration, log, e));
    return CN_OK;
}

static double sum(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

cn_status cn_coop_read_metrics(cn_runtime *rt, cn_coop *coop, cn_metrics *out, cn_error *e) {
    size_t m = coop->chain_count, n = coop->batch;
    float *host = malloc(bytes_of(2 * m + n + m + 1));
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory reading metrics");
    float *f_batch = host, *f_gen = host + m + n, *norms = f_gen + m, *sq = norms + m;
    cn_status s = cn_buffer_read(rt, &coop->f_batch, 0, f_batch, bytes_of(m + n), e);
    if (s == CN_OK) s = cn_buffer_read(rt, &coop->f_generated, 0, f_gen, bytes_of(m), e);
    if (s == CN_OK) s = cn_buffer_read(rt, &coop->grad_norms, 0, norms, bytes_of(m), e);
    if (s == CN_OK) s = cn_buffer_read(rt, &coop->residual_sq, 0, sq, bytes_of(1), e);
    /* this rank's sums, then the sums over all ranks (means over all chains and images) */
    double sums[5] = {0};
    if (s == CN_OK) {
        sums[0] = sum(f_batch, m), sums[1] = sum(f_batch + m, n), sums[2] = sum(f_gen, m), sums[4] = sq[0];
        for (size_t i = 0; i < m; i++) sums[3] += sqrt((double)norms[i]);
        s = cn_dist_sum_doubles(coop->dist, sums, 5, "the metrics", e);
    }
    if (s == CN_OK) {
        const cn_generator_config *g = &coop->config.generator;
        double chains = (double)coop->chains_total;
        out->f_revised = sums[0] / chains;
        out->f_observed = sums[1] / (double)coop->batch_total;
        out->loss_d = out->f_revised - out->f_observed;
        out->f_generated = coop->generated_pending ? sums[2] / chains : NAN;
        out->grad_f_norm = coop->generated_pending ? sums[3] / chains : NAN;
        out->loss_g = sums[4] * (double)coop->loss_g_rows * g->sigma * g->sigma / 2.0;
        /* a net the mode does not train has no numbers (metrics.jsonl writes null) */
        if (!built(&coop->descriptor))
            out->f_observed = out->f_generated = out->f_revised = out->loss_d = out->grad_f_norm = NAN;
        if (!built(&coop->generator)) out->loss_g = NAN;
    }
    free(host);
    return s;
}

/* The net's parameters and Adam moments, checksummed on the host. */
static cn_status net_checksum(cn_runtime *rt, const cn_net *net, uint64_t *h, cn_error *e) {
    if (!built(net)) return CN_OK;
    float *host = malloc(net->params.bytes);
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory checking the replicas");
    const cn_buffer *state[] = {&net->params, &net->adam_m, &net->adam_v};
    cn_status s = CN_OK;
    for (int k = 0; k < 3 && s == CN_OK; k++)
        if ((s = cn_buffer_read(rt, state[k], 0, host, net->params.bytes, e)) == CN_OK)
            *h = cn_fnv1a(*h, host, net->params.bytes);
    *h = cn_fnv1a(*h, &net->adam_step, sizeof net->adam_step);
    free(host);
    return s;
}

cn_status cn_coop_check_replicas(cn_runtime *rt, cn_coop *coop, cn_error *e) {
    int ranks = cn_dist_size(coop->dist);
    if (ranks == 1) return CN_OK;
    uint64_t h = CN_FNV1A_START;
    CN_TRY(net_checksum(rt, &coop->descriptor, &h, e));
    CN_TRY(net_checksum(rt, &coop->generator, &h, e));
    if (cn_fault_hit("drift")) h ^= (uint64_t)cn_dist_rank(coop->dist); /* tests: a replica that drifted */
    double mine[2] = {(double)(uint32_t)h, (double)(uint32_t)(h >> 32)}; /* exact in doubles */
    double *all = malloc((size_t)ranks * 2 * sizeof(double));
    if (!all) return cn_error_set(e, CN_ERR_NOMEM, "out of memory checking the replicas");
    cn_status s = cn_dist_gather_doubles(coop->dist, mine, 2, all, "the replica check", e);
    char differ[256] = "";
    size_t used = 0;
    for (int r = 1; s == CN_OK && r < ranks; r++)
        if ((all[2 * r] != all[0] || all[2 * r + 1] != all[1]) && used < sizeof differ - 16)
            used += (size_t)snprintf(differ + used, sizeof differ - used, "%s%d", used ? ", " : "", r);
    free(all);
    CN_TRY(s);
    if (used)
        return cn_error_set(e, CN_ERR_PEER,
                            "the replicas drifted apart: the parameters or Adam state of rank %s differ from rank 0's "
                            "(every rank must take the identical step; a device computing wrongly, or ranks built "
                            "from different sources, do this)",
                            differ);
    return CN_OK;
}

/* ---- sampling --------------------------------------------------------------------------------- */

static cn_status need_generator(const cn_coop *coop, cn_error *e) {
    if (built(&coop->generator)) return CN_OK;
    return cn_error_set(e, CN_ERR_ARG, "this model was trained in mode \"%s\" (%s): it has no generator to sample from",
                        cn_mode_name(coop->config.mode), coop->config.source);
}

cn_status cn_coop_generate_from(cn_runtime *rt, cn_coop *coop, const float *latent, size_t count, float *out,
                                cn_error *e) {
    size_t m = coop->chain_count, img = coop->image_floats, lat = coop->latent_floats;
    CN_TRY(need_generator(coop, e));
    coop->generator_forward_current = 0;
    for (size_t at = 0, batch = 0; at < count; at += m, batch++) {
        size_t k = count - at < m ? count - at : m;
        if (k < m) {
            cn_noise_key key = {coop->config.seed, (uint32_t)batch, CN_STREAM_LATENT, 3, 0};
            CN_TRY(cn_noise_normal(rt, &key, m * lat, &coop->latent, e));
        }
        CN_TRY(cn_buffer_write(rt, &coop->latent, 0, latent + at * lat, bytes_of(k * lat), e));
        CN_TRY(cn_net_forward(rt, &coop->generator, m, &coop->latent, e));
        CN_TRY(cn_buffer_read(rt, cn_net_output(&coop->generator), 0, out + at * img, bytes_of(k * img), e));
    }
    return CN_OK;
}

cn_status cn_coop_sample(cn_runtime *rt, cn_coop *coop, uint64_t seed, size_t count, int langevin_steps,
                         float *out_generated, float *out_revised, cn_error *e) {
    size_t m = coop->chain_count, img = coop->image_floats;
    CN_TRY(need_generator(coop, e));
    coop->generator_forward_current = 0;
    if (out_revised && !built(&coop->descriptor))
        return cn_error_set(e, CN_ERR_ARG,
                            "this model was trained in mode \"%s\" (%s): it has no descriptor to revise samples with",
                            cn_mode_name(coop->config.mode), coop->config.source);
    for (size_t at = 0, batch = 0; at < count; at += m, batch++) {
        size_t k = count - at < m ? count - at : m;
        /* Always draw a full batch of M so batch norm sees the statistics training used. */
        cn_noise_key key = {seed, (uint32_t)batch, CN_STREAM_LATENT, 1, 0};
        CN_TRY(cn_noise_normal(rt, &key, m * coop->latent_floats, &coop->latent, e));
        CN_TRY(cn_net_forward(rt, &coop->generator, m, &coop->latent, e));
        CN_TRY(cn_buffer_copy(rt, &coop->chains, 0, cn_net_output(&coop->generator), 0, bytes_of(m * img), e));
        if (out_generated) CN_TRY(cn_buffer_read(rt, &coop->chains, 0, out_generated + at * img, bytes_of(k * img), e));
        if (out_revised) {
            CN_TRY(descriptor_langevin(rt, coop, &coop->chains, m, langevin_steps, seed, batch, 0, e));
            CN_TRY(cn_buffer_read(rt, &coop->chains, 0, out_revised + at * img, bytes_of(k * img), e));
        }
    }
    return CN_OK;
}
