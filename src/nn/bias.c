/* Per-channel bias (cl/bias.cl). */
#include "coopnets/cn_bias.h"

#include "coopnets/cn_elementwise.h"

cn_status cn_bias_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, cn_buffer *y, const cn_buffer *b,
                          cn_error *e) {
    const char *fn = "cn_bias_forward";
    CN_TRY(cn_buffer_check_floats(y, n * c * hw, fn, "y", e));
    CN_TRY(cn_buffer_check_floats(b, c, fn, "b", e));
    size_t global = cn_per_item_global(n * c); /* a work-item per row of hw values */
    double values = (double)(n * c * hw); /* counted for the profile: y read and written */
    return CN_RUN_COUNTED(rt, CN_KERNEL_BIAS_FORWARD, 1, &global, NULL, values, 2 * values * sizeof(float), e, CN_MEM(y), CN_MEM(b), CN_U64(n * c), CN_U64(c),
                  CN_U64(hw));
}

cn_status cn_bias_backward_params(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_buffer *dy, cn_buffer *db,
                                  cn_error *e) {
    const char *fn = "cn_bias_backward_params";
    CN_TRY(cn_buffer_check_floats(dy, n * c * hw, fn, "dy", e));
    CN_TRY(cn_buffer_check_floats(db, c, fn, "db", e));
    size_t global = cn_per_item_global(c); /* a work-item per channel */
    double values = (double)(n * c * hw); /* counted for the profile: dy read */
    return CN_RUN_COUNTED(rt, CN_KERNEL_BIAS_BACKWARD_PARAMS, 1, &global, NULL, values, values * sizeof(float), e, CN_MEM(dy), CN_MEM(db), CN_U64(n),
                  CN_U64(c), CN_U64(hw));
}
