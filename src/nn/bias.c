/* Per-channel bias (cl/bias.cl). */
#include "coopnets/cn_bias.h"

#include "coopnets/cn_activation.h"
#include "coopnets/cn_elementwise.h"

#include "../../cl/cn_epilogue.h"

/* The kernels read the epilogue's activation as a cn_activation value. */
_Static_assert(CN_EPILOGUE_NONE == CN_ACT_NONE && CN_EPILOGUE_RELU == CN_ACT_RELU &&
                   CN_EPILOGUE_LEAKY_RELU == CN_ACT_LEAKY_RELU && CN_EPILOGUE_TANH == CN_ACT_TANH,
               "cl/cn_epilogue.h's activation codes are cn_activation's");

cn_status cn_epilogue_check(const cn_epilogue *epi, size_t c, const char *function, cn_error *e) {
    if (!epi) return CN_OK;
    CN_TRY(cn_activation_check(epi->activation, epi->slope, function, e));
    return cn_buffer_check_floats(epi->bias, c, function, "bias", e);
}

cn_status cn_bias_activation_forward(cn_runtime *rt, size_t n, size_t c, size_t hw, const cn_epilogue *epi,
                                     const cn_buffer *z, cn_buffer *y, cn_error *e) {
    const char *fn = "cn_bias_activation_forward";
    if (!epi) return cn_error_set(e, CN_ERR_ARG, "%s: no epilogue given", fn);
    CN_TRY(cn_epilogue_check(epi, c, fn, e));
    CN_TRY(cn_buffer_check_floats(z, n * c * hw, fn, "z", e));
    CN_TRY(cn_buffer_check_floats(y, n * c * hw, fn, "y", e));
    size_t global = cn_per_item_global(n * c); /* a work-item per row of hw values */
    double values = (double)(n * c * hw);     /* counted for the profile: z read, y written */
    return CN_RUN_COUNTED(rt, CN_KERNEL_BIAS_ACTIVATION_FORWARD, 1, &global, NULL, values, 2 * values * sizeof(float),
                          e, CN_MEM(z), CN_MEM(y), CN_U64(n * c), CN_U64(c), CN_U64(hw),
                          CN_EPILOGUE_KERNEL_ARGS(epi, z));
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
