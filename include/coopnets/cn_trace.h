/* cn_trace: a record of a training run's inputs and states, for tests only, like COOPNETS_FAULT.
 * tools/lockstep_torch.py replays the run in PyTorch from it and compares, iteration by iteration
 * (tests/test_lockstep.sh, benchmarks/results/LOCKSTEP.md).
 *
 * COOPNETS_TRACE=DIR makes `train` (mode coop, one rank, from the start: no resume) write
 *   DIR/layout.json          {"format": 1, "config": the resolved config, "descriptor" and
 *                            "generator": {"floats": N, "tensors": [{name, shape, offset, count}]}}
 *                            (offsets and counts in floats inside the net's parameter vector)
 *   DIR/000000/descriptor.npy, generator.npy   the initial parameter vectors, float32 [N]
 * and for iteration k = 1, 2, ... (what iteration k consumed, and the state after it)
 *   DIR/NNNNNN/observed.npy           the observed batch X, [n, C, H, W]
 *   DIR/NNNNNN/latent.npy             the latent draw h of step 1, [M, latent C, S, S]
 *   DIR/NNNNNN/descriptor_noise.npy   ε of each descriptor Langevin step, [l_D, M, C, H, W]
 *   DIR/NNNNNN/generator_noise.npy    ε of each generator Langevin step, [l_G, M, latent C, S, S]
 *   DIR/NNNNNN/revised.npy            the revised chains Ỹ of step 2, [M, C, H, W]
 *   DIR/NNNNNN/inferred_latent.npy    h after step 4 (the draw again when l_G = 0), [M, latent C, S, S]
 *   DIR/NNNNNN/descriptor.npy, generator.npy   the parameter vectors after the iteration
 *   DIR/NNNNNN/descriptor_gradient.npy, generator_gradient.npy   the gradients of the nets'
 *                                     last updates in it (steps 3 and 5), laid out as the parameters
 * NNNNNN is k in six digits, the iteration number of metrics.jsonl; the noise files are absent
 * when that sampler's noise is off or it takes no steps. .npy is NumPy's format version 1.0
 * (little-endian float32, C order). Draws are the device's own: the same cn_noise keys the
 * iteration uses, drawn again into a buffer of the trace's own. */
#ifndef CN_TRACE_H
#define CN_TRACE_H

#include "coopnets/cn_coop.h"

typedef struct cn_trace {
    int on;
    char dir[CN_PATH_MAX];
    cn_buffer scratch; /* one step's draw: max(M × image, M × latent) floats */
    float *host;       /* the largest file's data */
} cn_trace;

/* Reads COOPNETS_TRACE; unset or empty leaves t off (every call then does nothing). Otherwise
 * checks that the run can be traced (CN_ERR_CONFIG naming the reason), allocates the trace's
 * buffers and writes layout.json and the initial parameters. start: the run's first iteration. */
cn_status cn_trace_open(cn_runtime *rt, const cn_coop *coop, uint64_t start, cn_trace *t, cn_error *e);
/* After iteration `iteration` (0-based: the noise key's) is enqueued: writes its folder. `observed`
 * is the batch it was given. Waits for the queue. */
cn_status cn_trace_iteration(cn_runtime *rt, const cn_coop *coop, cn_trace *t, uint64_t iteration,
                             const float *observed, cn_error *e);
void cn_trace_close(cn_runtime *rt, cn_trace *t);

#endif
