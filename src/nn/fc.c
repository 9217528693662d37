/* The fc layer as three matrix products. */
#include "coopnets/cn_fc.h"

#include "coopnets/cn_gemm.h"

static cn_status fc_gemm(cn_runtime *rt, const char *pass, const cn_gemm_args *g, cn_error *e) {
    cn_status s = cn_gemm(rt, g, e);
    if (s != CN_OK) cn_error_prefix(e, "fc %s", pass);
    return s;
}

cn_status cn_fc_forward(cn_runtime *rt, size_t n, size_t in_features, size_t out_features, const cn_buffer *x,
                        const cn_buffer *w, const cn_epilogue *epi, cn_buffer *y, cn_error *e) {
    CN_TRY(cn_epilogue_check(epi, out_features, "fc forward", e));
    /* y[n, out] = x[n, in] * w^T[in, out] */
    const cn_gemm_args g = {.trans_b = 1, .m = n, .n = out_features, .k = in_features, .alpha = 1.0f,
                            .a = x, .lda = in_features, .b = w, .ldb = in_features, .c = y, .ldc = out_features};
    CN_TRY(fc_gemm(rt, "forward", &g, e));
    return epi && n ? cn_bias_activation_forward(rt, n, out_features, 1, epi, y, y, e) : CN_OK;
}

cn_status cn_fc_backward_data(cn_runtime *rt, size_t n, size_t in_features, size_t out_features, const cn_buffer *dy,
                              const cn_buffer *w, cn_buffer *dx, cn_error *e) {
    /* dx[n, in] = dy[n, out] * w[out, in] */
    const cn_gemm_args g = {.m = n, .n = in_features, .k = out_features, .alpha = 1.0f,
                            .a = dy, .lda = out_features, .b = w, .ldb = in_features, .c = dx, .ldc = in_features};
    return fc_gemm(rt, "backward_data", &g, e);
}

cn_status cn_fc_backward_params(cn_runtime *rt, size_t n, size_t in_features, size_t out_features,
                                const cn_buffer *x, const cn_buffer *dy, cn_buffer *dw, cn_error *e) {
    /* dw[out, in] = dy^T[out, n] * x[n, in] */
    const cn_gemm_args g = {.trans_a = 1, .m = out_features, .n = in_features, .k = n, .alpha = 1.0f,
                            .a = dy, .lda = out_features, .b = x, .ldb = in_features, .c = dw, .ldc = in_features};
    return fc_gemm(rt, "backward_params", &g, e);
}

/* ---- as a layer of a net ---------------------------------------------------------------------- */

static size_t layer_in_features(const cn_layer *l) { return (size_t)l->in_c * l->in_h * l->in_w; }

static cn_status fc_layer_plan(cn_layer *l, cn_layer_weight *weight, cn_error *e) {
    l->out_c = l->config.filters, l->out_h = 1, l->out_w = 1;
    *weight = (cn_layer_weight){{l->out_c, (int)layer_in_features(l), 1, 1}, 2};
    return CN_OK;
}

static cn_status fc_layer_forward(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                  const cn_epilogue *epi, cn_buffer *y, cn_buffer *workspace, cn_error *e) {
    return cn_fc_forward(rt, n, layer_in_features(l), (size_t)l->out_c, x, &l->weight, epi, y, e);
}

static cn_status fc_layer_backward_data(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *dy,
                                        cn_buffer *dx, cn_buffer *workspace, cn_error *e) {
    return cn_fc_backward_data(rt, n, layer_in_features(l), (size_t)l->out_c, dy, &l->weight, dx, e);
}

static cn_status fc_layer_backward_params(cn_runtime *rt, const cn_layer *l, size_t n, const cn_buffer *x,
                                          const cn_buffer *dy, cn_buffer *dw, cn_buffer *workspace, cn_error *e) {
    return cn_fc_backward_params(rt, n, layer_in_features(l), (size_t)l->out_c, x, dy, dw, e);
}

const cn_layer_ops cn_fc_layer_ops = {
    .tensor_stem = "fc",
    .first_unnumbered = 1,
    .size = sizeof(cn_layer), /* nothing beyond the common part */
    .plan = fc_layer_plan,
    .forward = fc_layer_forward,
    .backward_data = fc_layer_backward_data,
    .backward_params = fc_layer_backward_params,
};
