/* Batch normalisation with batch statistics (cl/batchnorm.cl). */
#include "coopnets/cn_batchnorm.h"

#include "coopnets/cn_elementwise.h"

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
static cn_status run_per_item(cn_runtime *rt, const char *kernel, size_t items, double tensors, size_t values,
                              const cn_arg *args, size_t nargs, cn_error *e) {
    size_t global = cn_per_item_global(items);
    return cn_run_counted(rt, "batchnorm", NULL, kernel, 1, &global, NULL, args, nargs, 0,
                          tensors * (double)values * sizeof(float), e);
}

#define CN_ARGS(...) (const cn_arg[]){__VA_ARGS__}, sizeof((const cn_arg[]){__VA_ARGS__}) / sizeof(cn_arg)

cn_status cn_batchnorm_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, float eps, const cn_buffer *x,
                               const cn_buffer *scale, const cn_buffer *shift, cn_buffer *y, cn_buffer *mean,
                               cn_buffer *invstd, cn_error *e) {
    const char *fn = "cn_batchnorm_forward";
    if (!(eps > 0.0f)) return cn_error_set(e, CN_ERR_ARG, "%s: eps %g must be > 0", fn, eps);
    CN_TRY(check_common(fn, n, c, hw, x, y, "y", mean, invstd, scale, "scale", e));
    CN_TRY(cn_buffer_check_floats(shift, c, fn, "shift", e));
    /* Statistics a channel per work-item, then the normalisation a row per work-item (more of
     * them, so it spreads better); y may be x since the statistics are done first. */
    CN_TRY(run_per_item(rt, "cn_batchnorm_statistics", c, 1, n * c * hw,
                        CN_ARGS(CN_MEM(x), CN_MEM(mean), CN_MEM(invstd), CN_U64(n), CN_U64(c), CN_U64(hw), CN_F32(eps)),
                        e));
    return run_per_item(rt, "cn_batchnorm_normalise", n * c, 2, n * c * hw,
                        CN_ARGS(CN_MEM(x), optional_mem(scale), CN_MEM(shift), CN_MEM(mean), CN_MEM(invstd), CN_MEM(y),
                                CN_U64(n * c), CN_U64(c), CN_U64(hw)),
                        e);
}

cn_status cn_batchnorm_backward_data(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                     const cn_buffer *scale, const cn_buffer *mean, const cn_buffer *invstd,
                                     const cn_buffer *dy, cn_buffer *dx, cn_error *e) {
    const char *fn = "cn_batchnorm_backward_data";
    CN_TRY(check_common(fn, n, c, hw, x, dy, "dy", mean, invstd, scale, "scale", e));
    CN_TRY(cn_buffer_check_floats(dx, n * c * hw, fn, "dx", e));
    /* Today's kernel would survive it, but the contract keeps room for a split (statistics, then
     * element-wise) kernel that reads x after dx is written. */
    if (dx->mem == x->mem) return cn_error_set(e, CN_ERR_ARG, "%s: dx may not be x", fn);
    return run_per_item(rt, "cn_batchnorm_backward_data", c, 3, n * c * hw,
                        CN_ARGS(CN_MEM(x), optional_mem(scale), CN_MEM(mean), CN_MEM(invstd), CN_MEM(dy), CN_MEM(dx),
                                CN_U64(n), CN_U64(c), CN_U64(hw)),
                        e);
}

cn_status cn_batchnorm_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *x,
                                       const cn_buffer *mean, const cn_buffer *invstd, const cn_buffer *dy,
                                       cn_buffer *dscale, cn_buffer *dshift, cn_error *e) {
    const char *fn = "cn_batchnorm_backward_params";
    CN_TRY(check_common(fn, n, c, hw, x, dy, "dy", mean, invstd, dscale, "dscale", e));
    CN_TRY(cn_buffer_check_floats(dshift, c, fn, "dshift", e));
    return run_per_item(rt, "cn_batchnorm_backward_params", c, 2, n * c * hw,
                        CN_ARGS(CN_MEM(x), CN_MEM(mean), CN_MEM(invstd), CN_MEM(dy), optional_mem(dscale),
                                CN_MEM(dshift), CN_U64(n), CN_U64(c), CN_U64(hw)),
                        e);
}
