/* Activations: one kernel pair per nonlinearity (cl/activation.cl). */
#include "coopnets/cn_activation.h"

#include "coopnets/cn_elementwise.h"

cn_status cn_activation_check(cn_activation act, float leaky_slope, const char *function, cn_error *e) {
    switch (act) {
    case CN_ACT_NONE:
    case CN_ACT_RELU:
    case CN_ACT_TANH: return CN_OK;
    case CN_ACT_LEAKY_RELU:
        /* The backward pass reads the derivative off the output's sign, which needs slope > 0. */
        if (!(leaky_slope > 0.0f))
            return cn_error_set(e, CN_ERR_ARG, "%s: leaky ReLU slope %g must be > 0", function, leaky_slope);
        return CN_OK;
    }
    return cn_error_set(e, CN_ERR_ARG, "%s: unknown activation %d", function, (int)act);
}

/* Runs kernel (in, dy or NULL, out[, slope], n): the argument lists of activation.cl. */
static cn_status launch(cn_runtime *rt, cn_kernel_id kernel, cn_activation act, float leaky_slope, size_t count,
                        const cn_buffer *in, const cn_buffer *dy, cn_buffer *out, cn_error *e) {
    /* The argument values live here, not in compound literals inside the ifs (those end with them). */
    cl_float slope = leaky_slope;
    cl_ulong n = count;
    cn_arg args[5];
    size_t nargs = 0;
    args[nargs++] = CN_MEM(in);
    if (dy) args[nargs++] = CN_MEM(dy);
    args[nargs++] = CN_MEM(out);
    if (act == CN_ACT_LEAKY_RELU) args[nargs++] = (cn_arg){sizeof slope, &slope};
    args[nargs++] = (cn_arg){sizeof n, &n};
    size_t global = cn_elementwise_global(count);
    /* counted for the profile: reads in (and dy), writes out */
    return cn_run_counted(rt, kernel, 1, &global, NULL, args, nargs, (double)count,
                          (dy ? 3.0 : 2.0) * (double)count * sizeof(float), e);
}

static cn_status copy_unless_same(cn_runtime *rt, size_t count, const cn_buffer *src, cn_buffer *dst, cn_error *e) {
    if (src->mem == dst->mem) return CN_OK;
    return cn_buffer_copy(rt, dst, 0, src, 0, count * sizeof(float), e);
}

cn_status cn_activation_forward(cn_runtime *rt, cn_activation act, float leaky_slope, size_t count, const cn_buffer *x,
                                cn_buffer *y, cn_error *e) {
    static const cn_kernel_id kernels[] = {[CN_ACT_RELU] = CN_KERNEL_RELU_FORWARD,
                                           [CN_ACT_LEAKY_RELU] = CN_KERNEL_LEAKY_RELU_FORWARD,
                                           [CN_ACT_TANH] = CN_KERNEL_TANH_FORWARD};
    const char *fn = "cn_activation_forward";
    CN_TRY(cn_activation_check(act, leaky_slope, fn, e));
    CN_TRY(cn_buffer_check_floats(x, count, fn, "x", e));
    CN_TRY(cn_buffer_check_floats(y, count, fn, "y", e));
    if (act == CN_ACT_NONE) return copy_unless_same(rt, count, x, y, e);
    return launch(rt, kernels[act], act, leaky_slope, count, x, NULL, y, e);
}

cn_status cn_activation_backward(cn_runtime *rt, cn_activation act, float leaky_slope, size_t count, const cn_buffer *y,
                                 const cn_buffer *dy, cn_buffer *dx, cn_error *e) {
    static const cn_kernel_id kernels[] = {[CN_ACT_RELU] = CN_KERNEL_RELU_BACKWARD,
                                           [CN_ACT_LEAKY_RELU] = CN_KERNEL_LEAKY_RELU_BACKWARD,
                                           [CN_ACT_TANH] = CN_KERNEL_TANH_BACKWARD};
    const char *fn = "cn_activation_backward";
    CN_TRY(cn_activation_check(act, leaky_slope, fn, e));
    CN_TRY(cn_buffer_check_floats(dy, count, fn, "dy", e));
    CN_TRY(cn_buffer_check_floats(dx, count, fn, "dx", e));
    if (act == CN_ACT_NONE) return copy_unless_same(rt, count, dy, dx, e);
    CN_TRY(cn_buffer_check_floats(y, count, fn, "y", e));
    return launch(rt, kernels[act], act, leaky_slope, count, y, dy, dx, e);
}
