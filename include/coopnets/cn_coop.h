/* cn_coop: the CoopNets iteration of DESIGN §2 — five steps, one function each, enqueued in order
 * on the runtime's in-order queue with no host wait inside an iteration. Metric reductions are
 * enqueued only on log iterations and read back by cn_coop_read_metrics afterwards. */
#ifndef CN_COOP_H
#define CN_COOP_H

#include "coopnets/cn_config.h"
#include "coopnets/cn_dist.h"
#include "coopnets/cn_gradient_sync.h"
#include "coopnets/cn_net.h"
#include "coopnets/cn_runtime.h"

typedef struct cn_metrics {
    double f_observed;     /* mean over observed images of f(X) (sum over the top outputs) */
    double f_generated;    /* mean f of the generator's samples before revision (NaN when l_D = 0) */
    double f_revised;      /* mean f of the revised samples Ỹ */
    double loss_d;         /* L_D = mean f(Ỹ) − mean f(X), before the descriptor update */
    double loss_g;         /* L_G = (1/M) Σ ‖Ỹ − g(h)‖² / (2σ²), before the generator update */
    double grad_f_norm;    /* mean over chains of ‖∂f/∂Y‖ at the last descriptor Langevin step */
} cn_metrics;

typedef struct cn_coop {
    cn_config config;
    cn_net descriptor, generator; /* only the nets the mode trains are built (layer_count 0 otherwise) */
    size_t batch, chain_count;     /* n observed, M synthesized: this rank's share of them */
    /* Data-parallel training (DESIGN §7): the ranks (NULL: one process), the whole run's n and M,
     * and the global index of this rank's first observed image and first chain, which key its
     * noise, so every chain sees the same numbers whatever the rank count. */
    cn_dist *dist;
    size_t batch_total, chains_total;
    size_t batch_first, chain_first;
    size_t generator_first; /* the global index of this rank's first generator row (chain_first; batch_first in mode generator) */
    cn_gradient_sync descriptor_sync, generator_sync;
    size_t generator_rows;         /* the generator's largest batch: M, or max(M, n) in mode generator */
    size_t image_floats, latent_floats;
    cn_buffer images;      /* [M + n] images: the chains Ỹ first, then the observed batch X; in mode generator
                            * [generator_rows], the batch X at row 0 (it is the generator's target there) */
    cn_buffer chains;      /* view: images[0, M) */
    cn_buffer latent;      /* h [generator_rows, latent] */
    cn_buffer image_grad;  /* ∂f/∂Y, [M, image] */
    cn_buffer latent_grad; /* [generator_rows, latent] */
    cn_buffer residual;    /* d/dg of the reconstruction loss, [generator_rows, image] */
    cn_buffer ones;        /* [M, descriptor outputs]: d(Σ f)/d(outputs) */
    cn_buffer loss_weights;/* [M + n, descriptor outputs]: dL_D/d(outputs) = +1/M (chains), −1/n (observed) */
    cn_buffer f_generated, f_batch, grad_norms, residual_sq; /* metric reductions */
    cn_buffer reduce_ws;
    int generated_pending; /* the logged iteration ran descriptor Langevin steps */
    /* The generator's activations are still those of step 1's forward pass on the latents, with
     * the same weights: step 5 then starts from them instead of computing them again (the
     * generator takes no Langevin steps between, and nothing else runs it in an iteration). */
    int generator_forward_current;
    /* Several ranks: step 3's gradient sums start layer by layer as in one net's backward pass, but
     * are waited for, with the Adam step, only after step 5's backward pass: they travel while the
     * generator works, and the ranks meet once after the long Langevin stretch, not twice. */
    int descriptor_update_pending;
    size_t loss_g_rows;    /* rows of the logged generator update (L_G's 1/M) */
    /* Algorithm G: the latent vector h_i of every training image, kept across epochs on the host
     * [latent_count][latent] (cn_algorithm_g_init_latents; saved in checkpoints); NULL otherwise. */
    float *latents;
    size_t latent_count;
    /* Rank 0 of a data-parallel run with persistent chains: all M chains, gathered from every rank
     * by cn_coop_prepare_save for the checkpoint; NULL otherwise. */
    float *gathered_chains;
} cn_coop;

/* Builds both nets and all buffers for config c (checks device memory first). Weights start from
 * cn_coop_init_weights or a checkpoint. */
cn_status cn_coop_create(cn_runtime *rt, const cn_config *c, cn_coop *coop, cn_error *e);
/* The same for this rank's share of a data-parallel run over dist (NULL: cn_coop_create): the
 * observed batch and the chains split as cn_dist_share does, batch norm synchronised, gradients
 * summed before every Adam step. */
cn_status cn_coop_create_on(cn_runtime *rt, const cn_config *c, cn_dist *dist, cn_coop *coop, cn_error *e);
void cn_coop_free(cn_runtime *rt, cn_coop *coop);
cn_status cn_coop_init_weights(cn_runtime *rt, cn_coop *coop, cn_error *e);

/* Algorithm D with persistent chains: the chains are state kept across iterations. */
int cn_coop_persistent_chains(const cn_coop *coop);
/* Before rank 0 writes a checkpoint, every rank calls this: the state that lives split over the
 * ranks (persistent chains) is gathered to rank 0. Nothing to do for one process. */
cn_status cn_coop_prepare_save(cn_runtime *rt, cn_coop *coop, cn_error *e);

/* Rank 0 receives rows [0, total) of b, of which each rank holds its share (chains, generator
 * output), into all (others may pass NULL): what a single device would hold. */
cn_status cn_coop_gather_rows(cn_runtime *rt, cn_coop *coop, const cn_buffer *b, size_t total, float *all,
                              cn_error *e);

/* Uploads the observed batch [n][c][h][w] to its rows of coop->images (after the chains; row 0 in
 * mode generator) — the one blocking transfer of an iteration, before it. */
cn_status cn_coop_set_observed(cn_runtime *rt, cn_coop *coop, const float *images, cn_error *e);

/* The five steps of DESIGN §2 for iteration `iteration` (which keys the noise); `log` enqueues
 * the metric reductions. */
cn_status cn_coop_generate(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e);
cn_status cn_coop_revise(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e);
cn_status cn_coop_update_descriptor(cn_runtime *rt, cn_coop *coop, int log, cn_error *e);
cn_status cn_coop_infer_latent(cn_runtime *rt, cn_coop *coop, uint64_t iteration, cn_error *e);
cn_status cn_coop_update_generator(cn_runtime *rt, cn_coop *coop, int log, cn_error *e);
/* Steps 4 and 5 on any target (Algorithm G: the observed batch; completion: masked test images):
 * `steps` generator Langevin steps of the first `rows` latent vectors towards target[0, rows),
 * noise keyed by (seed, iteration); with a mask (per element: 1 visible, 0 hidden) only the
 * visible elements pull. Then the generator update on L_G = (1/total_rows) Σ ‖target − g(h)‖²/(2σ²),
 * where this rank holds `rows` of the `total_rows` over all ranks. */
cn_status cn_coop_infer_latent_on(cn_runtime *rt, cn_coop *coop, const cn_buffer *target, const cn_buffer *mask,
                                  size_t rows, int steps, uint64_t seed, uint64_t iteration, cn_error *e);
cn_status cn_coop_update_generator_on(cn_runtime *rt, cn_coop *coop, const cn_buffer *target, size_t rows,
                                      size_t total_rows, int log, cn_error *e);
/* The five steps of mode coop as one table, in order: the iteration runs it, and bench profiles it
 * step by step under these names. A new step is a function and a row here, with the count below
 * (tests/test_steps.c lists the rows too). Mind the state steps share: generator_forward_current
 * (a step between 1 and 5 that runs the generator must clear it) and descriptor_update_pending
 * (the descriptor's Adam step lands in step 5 when several ranks train). Algorithms D and G call
 * the step functions, or their _on forms, themselves. */
enum { CN_COOP_STEP_COUNT = 5 };
typedef struct cn_coop_step {
    const char *name;  /* "generate", "revise", ...: the step's key in bench output */
    int generator;     /* 1: the step runs the generator (transposed convolutions), 0: the descriptor */
    cn_status (*run)(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e);
} cn_coop_step;
extern const cn_coop_step cn_coop_steps[CN_COOP_STEP_COUNT];
/* All five in order. */
cn_status cn_coop_iteration(cn_runtime *rt, cn_coop *coop, uint64_t iteration, int log, cn_error *e);
/* Data-parallel training: every rank's parameters and Adam state are checksummed and compared
 * with rank 0's; a replica that drifted is CN_ERR_PEER naming the ranks. A no-op for one process. */
cn_status cn_coop_check_replicas(cn_runtime *rt, cn_coop *coop, cn_error *e);
/* Waits for the queue and reads the metrics of the last logged iteration (over all ranks). */
cn_status cn_coop_read_metrics(cn_runtime *rt, cn_coop *coop, cn_metrics *m, cn_error *e);

/* Sampling: `count` generator samples for latent draws keyed by (seed, iteration, stream)
 * written to host images [count][c][h][w], optionally revised by `langevin_steps` descriptor
 * steps. Runs in batches of M (batch norm uses the statistics of each sampling batch). */
cn_status cn_coop_sample(cn_runtime *rt, cn_coop *coop, uint64_t seed, size_t count, int langevin_steps,
                         float *out_generated, float *out_revised, cn_error *e);
/* Generator output for given host latent vectors [count][latent] (interpolation), in batches of M;
 * a short last batch is filled up with N(0, I) draws so batch norm sees M rows, as in sampling. */
cn_status cn_coop_generate_from(cn_runtime *rt, cn_coop *coop, const float *latent, size_t count, float *out,
                                cn_error *e);

#endif
