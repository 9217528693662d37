/* Batch normalisation with batch statistics (cl/batchnorm.cl). */
#include "coopnets/cn_batchnorm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "coopnets/cn_dist.h"
#include "coopnets/cn_elementwise.h"
#include "coopnets/cn_tuning.h"

static const cl_mem no_buffer = NULL;

/* An optional buffer argument: NULL becomes a NULL cl_mem, which the kernels test for. */
static cn_arg optional_mem(const cn_buffer *b) { return b ? CN_MEM(b) : (cn_arg){sizeof(cl_mem), &no_buffer}; }

/* What every call checks: a non-empty batch per channel, the NCHW tensors, and the per-channel
 * vectors (mean, invstd, and any given scale). */
static cn_status check_common(const char *fn, size_t n, size_t c, size_t hw, const cn_buffer *x, const cn_buffer *data,
                              const char *data_name, const cn_buffer *mean, const cn_buffer *invstd,
                              const cn_buffer *scale, const char *scale_name, cn_error *e) {
    if (c > 0 && (n == 0 || hw == 0))
        return cn_error_set(e, CN_ERR_ARG, "%s: batch statistics need n*hw >= 1 (n %zu, hw %zu)", fn, n, hw);
    CN_TRY(cn_buffer_check_floats(x, n * c * hw, fn, "x", e));
    CN_TRY(cn_buffer_check_floats(data, n * c * hw, fn, data_name, e));
    CN_TRY(cn_buffer_check_floats(mean, c, fn, "mean", e));
    CN_TRY(cn_buffer_check_floats(invstd, c, fn, "invstd", e));
    if (scale) CN_TRY(cn_buffer_check_floats(scale, c, fn, scale_name, e));
    return CN_OK;
}

/* Runs a kernel of batchnorm.cl with one work-item per item (a channel or an NCHW row). */
/* `tensors`: how many n×c×hw tensors the kernel must read or write at least once, which the
 * profile turns into bytes (so its GB/s is a lower bound on the traffic). */
static cn_status run_per_item(cn_runtime *rt, cn_kernel_id kernel, size_t items, double tensors, size_t values,
                              const cn_arg *args, size_t nargs, cn_error *e) {
    size_t global = cn_per_item_global(items);
    return cn_run_counted(rt, kernel, 1, &global, NULL, args, nargs, 0,
                          tensors * (double)values * sizeof(float), e);
}

/* Runs a per-channel kernel of batchnorm.cl in the variant cn_tuning gives: a work-item per
 * channel, or (group G) kernel NAME_group with a work-group of G per channel and its local
 * scratch as one more argument. */
static cn_status run_per_channel(cn_runtime *rt, cn_kernel_id item_kernel, cn_kernel_id group_kernel, size_t c,
                                 double tensors, size_t values, const cn_arg *args, size_t nargs, cn_error *e) {
    const cn_kernel_variant v = cn_tuning_variant(rt, CN_TUNED_BATCHNORM, NULL);
    if (v.kind != CN_VARIANT_GROUP) return run_per_item(rt, item_kernel, c, tensors, values, args, nargs, e);
    cn_arg with_scratch[16];
    if (nargs >= sizeof with_scratch / sizeof *with_scratch)
        return cn_error_set(e, CN_ERR_ARG, "batch norm: %zu kernel arguments are too many", nargs);
    cl_kernel k;
    CN_TRY(cn_kernel_by_id(rt, group_kernel, &k, e));
    size_t local;
    const size_t wanted = v.p;
    CN_TRY(cn_local_size(rt, k, 1, &wanted, &local, e));
    for (size_t i = 0; i < nargs; i++) with_scratch[i] = args[i];
    with_scratch[nargs] = CN_LOCAL(local * 2 * sizeof(float));
    const size_t global = c * local;
    return cn_launch_counted(rt, k, 1, &global, &local, with_scratch, nargs + 1, 0,
                             tensors * (double)values * sizeof(float), e);
}

#define CN_ARGS(...) (const cn_arg[]){__VA_ARGS__}, sizeof((const cn_arg[]){__VA_ARGS__}) / sizeof(cn_arg)

static cn_status normalise(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x, const cn_buffer *scale,
                           const cn_buffer *shift, cn_buffer *y, cn_buffer *mean, cn_buffer *invstd, cn_error *e);

/* The forward pass's checks and its statistics kernel: mean and invstd, or with centred_sum_only
 * mean and the centred sum of squares (for ranks that combine theirs). */
static cn_status forward_statistics(cn_runtime *rt, const char *fn, size_t n, size_t c, size_t hw, float eps,
                                    const cn_buffer *x, const cn_buffer *scale, const cn_buffer *shift,
                                    const cn_buffer *y, cn_buffer *mean, cn_buffer *invstd, int centred_sum_only,
                                    cn_error *e) {
    if (!(eps > 0.0f)) return cn_error_set(e, CN_ERR_ARG, "%s: eps %g must be > 0", fn, eps);
    CN_TRY(check_common(fn, n, c, hw, x, y, "y", mean, invstd, scale, "scale", e));
    CN_TRY(cn_buffer_check_floats(shift, c, fn, "shift", e));
    return run_per_channel(rt, CN_KERNEL_BATCHNORM_STATISTICS, CN_KERNEL_BATCHNORM_STATISTICS_GROUP, c, 1, n * c * hw,
                        CN_ARGS(CN_MEM(x), CN_MEM(mean), CN_MEM(invstd), CN_U64(n), CN_U64(c), CN_U64(hw), CN_F32(eps),
                                CN_I32(centred_sum_only)),
                        e);
}

cn_status cn_batchnorm_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, float eps, const cn_buffer *x,
                               const cn_buffer *scale, const cn_buffer *shift, cn_buffer *y, cn_buffer *mean,
                               cn_buffer *invstd, cn_error *e) {
    /* Statistics a channel per work-item, then the normalisation a row per work-item (more of
     * them, so it spreads better); y may be x since the statistics are done first. */
    CN_TRY(forward_statistics(rt, "cn_batchnorm_forward", n, c, hw, eps, x, scale, shift, y, mean, invstd, 0, e));
    return normalise(rt, n, c, hw, x, scale, shift, y, mean, invstd, e);
}

static cn_status normalise(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x, const cn_buffer *scale,
                           const cn_buffer *shift, cn_buffer *y, cn_buffer *mean, cn_buffer *invstd, cn_error *e) {
    return run_per_item(rt, CN_KERNEL_BATCHNORM_NORMALISE, n * c, 2, n * c * hw,
                        CN_ARGS(CN_MEM(x), optional_mem(scale), CN_MEM(shift), CN_MEM(mean), CN_MEM(invstd), CN_MEM(y),
                                CN_U64(n * c), CN_U64(c), CN_U64(hw)),
                        e);
}

static cn_status backward_data(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                               const cn_buffer *scale, const cn_buffer *mean, const cn_buffer *invstd,
                               const cn_buffer *dy, cn_buffer *dx, const cn_buffer *given_sums, double total_values,
                               cn_error *e);

cn_status cn_batchnorm_backward_data(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                     const cn_buffer *scale, const cn_buffer *mean, const cn_buffer *invstd,
                                     const cn_buffer *dy, cn_buffer *dx, cn_error *e) {
    const char *fn = "cn_batchnorm_backward_data";
    CN_TRY(check_common(fn, n, c, hw, x, dy, "dy", mean, invstd, scale, "scale", e));
    CN_TRY(cn_buffer_check_floats(dx, n * c * hw, fn, "dx", e));
    /* Today's kernel would survive it, but the contract keeps room for a split (statistics, then
     * element-wise) kernel that reads x after dx is written. */
    if (dx->mem == x->mem) return cn_error_set(e, CN_ERR_ARG, "%s: dx may not be x", fn);
    return backward_data(rt, n, c, hw, x, scale, mean, invstd, dy, dx, NULL, 0, e);
}

static cn_status backward_data(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                               const cn_buffer *scale, const cn_buffer *mean, const cn_buffer *invstd,
                               const cn_buffer *dy, cn_buffer *dx, const cn_buffer *given_sums, double total_values,
                               cn_error *e) {
    return run_per_channel(rt, CN_KERNEL_BATCHNORM_BACKWARD_DATA, CN_KERNEL_BATCHNORM_BACKWARD_DATA_GROUP, c, 3, n * c * hw,
                        CN_ARGS(CN_MEM(x), optional_mem(scale), CN_MEM(mean), CN_MEM(invstd), CN_MEM(dy), CN_MEM(dx),
                                CN_U64(n), CN_U64(c), CN_U64(hw), optional_mem(given_sums), CN_F32(total_values)),
                        e);
}

cn_status cn_batchnorm_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                       const cn_buffer *mean, const cn_buffer *invstd, const cn_buffer *dy,
                                       cn_buffer *dscale, cn_buffer *dshift, cn_error *e) {
    const char *fn = "cn_batchnorm_backward_params";
    CN_TRY(check_common(fn, n, c, hw, x, dy, "dy", mean, invstd, dscale, "dscale", e));
    CN_TRY(cn_buffer_check_floats(dshift, c, fn, "dshift", e));
    return run_per_channel(rt, CN_KERNEL_BATCHNORM_BACKWARD_PARAMS, CN_KERNEL_BATCHNORM_BACKWARD_PARAMS_GROUP, c, 2, n * c * hw,
                        CN_ARGS(CN_MEM(x), CN_MEM(mean), CN_MEM(invstd), CN_MEM(dy), optional_mem(dscale),
                                CN_MEM(dshift), CN_U64(n), CN_U64(c), CN_U64(hw)),
                        e);
}

/* ---- synchronised over the ranks of a data-parallel run (SyncBatchNorm) ------------------------ */

/* Reads `count` floats of b into doubles at out (the host wait a synchronised layer must make). */
static cn_status read_doubles(cn_runtime *rt, const cn_buffer *b, size_t count, double *out, cn_error *e) {
    float *f = malloc(count * sizeof(float));
    if (!f) return cn_error_set(e, CN_ERR_NOMEM, "out of memory in batch norm");
    cn_status s = cn_buffer_read(rt, b, 0, f, count * sizeof(float), e);
    for (size_t i = 0; s == CN_OK && i < count; i++) out[i] = f[i];
    free(f);
    return s;
}

static cn_status write_floats(cn_runtime *rt, cn_buffer *b, const double *values, size_t count, cn_error *e) {
    float *f = malloc(count * sizeof(float));
    if (!f) return cn_error_set(e, CN_ERR_NOMEM, "out of memory in batch norm");
    for (size_t i = 0; i < count; i++) f[i] = (float)values[i];
    cn_status s = cn_buffer_write(rt, b, 0, f, count * sizeof(float), e);
    free(f);
    return s;
}

cn_status cn_batchnorm_forward_synced(cn_runtime *rt, cn_dist *dist, size_t n, size_t c, size_t hw, float eps,
                                      const cn_buffer *x, const cn_buffer *scale, const cn_buffer *shift, cn_buffer *y,
                                      cn_buffer *mean, cn_buffer *invstd, cn_error *e) {
    if (cn_dist_size(dist) == 1) return cn_batchnorm_forward(rt, n, c, hw, eps, x, scale, shift, y, mean, invstd, e);
    /* This rank's count, means and centred sums of squares; every rank's, combined in rank order
     * (Chan et al.): M2 = sum M2_r + sum n_r (mean_r - mean)^2, exact for data far from zero. */
    CN_TRY(forward_statistics(rt, "cn_batchnorm_forward_synced", n, c, hw, eps, x, scale, shift, y, mean, invstd, 1,
                              e));
    size_t per_rank = 1 + 2 * c, ranks = (size_t)cn_dist_size(dist);
    double *mine = malloc((per_rank * (ranks + 1) + 2 * c) * sizeof(double));
    if (!mine) return cn_error_set(e, CN_ERR_NOMEM, "out of memory in batch norm");
    double *all = mine + per_rank, *result = all + per_rank * ranks;
    mine[0] = (double)(n * hw);
    cn_status s = read_doubles(rt, mean, c, mine + 1, e);
    if (s == CN_OK) s = read_doubles(rt, invstd, c, mine + 1 + c, e);
    if (s == CN_OK) s = cn_dist_gather_doubles(dist, mine, per_rank, all, "batch-norm statistics", e);
    if (s == CN_OK) {
        double total = 0;
        for (size_t r = 0; r < ranks; r++) total += all[r * per_rank];
        for (size_t ch = 0; ch < c; ch++) {
            double m = 0, m2 = 0;
            for (size_t r = 0; r < ranks; r++) m += all[r * per_rank] * all[r * per_rank + 1 + ch];
            m /= total;
            for (size_t r = 0; r < ranks; r++) {
                const double *rank = all + r * per_rank;
                double d = rank[1 + ch] - m;
                m2 += rank[1 + c + ch] + rank[0] * d * d;
            }
            result[ch] = m;
            result[c + ch] = 1.0 / sqrt(m2 / total + (double)eps);
        }
        s = write_floats(rt, mean, result, c, e);
        if (s == CN_OK) s = write_floats(rt, invstd, result + c, c, e);
    }
    free(mine);
    CN_TRY(s);
    return normalise(rt, n, c, hw, x, scale, shift, y, mean, invstd, e);
}

cn_status cn_batchnorm_backward_data_synced(cn_runtime *rt, cn_dist *dist, size_t n, size_t c, size_t hw,
                                            const cn_buffer *x, const cn_buffer *scale, const cn_buffer *mean,
                                            const cn_buffer *invstd, const cn_buffer *dy, cn_buffer *dx,
                                            cn_buffer *sums, cn_error *e) {
    if (cn_dist_size(dist) == 1) return cn_batchnorm_backward_data(rt, n, c, hw, x, scale, mean, invstd, dy, dx, e);
    const char *fn = "cn_batchnorm_backward_data_synced";
    CN_TRY(check_common(fn, n, c, hw, x, dy, "dy", mean, invstd, scale, "scale", e));
    CN_TRY(cn_buffer_check_floats(dx, n * c * hw, fn, "dx", e));
    CN_TRY(cn_buffer_check_floats(sums, 2 * c, fn, "sums", e));
    if (dx->mem == x->mem) return cn_error_set(e, CN_ERR_ARG, "%s: dx may not be x", fn);
    CN_TRY(run_per_channel(rt, CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS, CN_KERNEL_BATCHNORM_CHANNEL_GRADIENT_SUMS_GROUP, c, 2, n * c * hw,
                        CN_ARGS(CN_MEM(x), CN_MEM(mean), CN_MEM(dy), CN_MEM(sums), CN_U64(n), CN_U64(c), CN_U64(hw)),
                        e));
    /* [values, sum dy per channel, sum dy (x - mean) per channel], summed over the ranks */
    double *v = malloc((1 + 2 * c) * sizeof(double));
    if (!v) return cn_error_set(e, CN_ERR_NOMEM, "out of memory in batch norm");
    v[0] = (double)(n * hw);
    cn_status s = read_doubles(rt, sums, 2 * c, v + 1, e);
    if (s == CN_OK) s = cn_dist_sum_doubles(dist, v, 1 + 2 * c, "batch-norm gradient sums", e);
    if (s == CN_OK) s = write_floats(rt, sums, v + 1, 2 * c, e);
    double total = v[0];
    free(v);
    CN_TRY(s);
    return backward_data(rt, n, c, hw, x, scale, mean, invstd, dy, dx, sums, total, e);
}
