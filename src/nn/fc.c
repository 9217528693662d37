/* The fc layer as three matrix products. */
#include "coopnets/cn_fc.h"

#include "coopnets/cn_gemm.h"

static cn_status fc_gemm(cn_runtime *rt, const char *pass, const cn_gemm_args *g, cn_error *e) {
    cn_status s = cn_gemm(rt, g, e);
    if (s != CN_OK) cn_error_prefix(e, "fc %s", pass);
    return s;
}

cn_status cn_fc_forward(cn_runtime *rt, size_t n, size_t in_features, size_t out_features, const cn_buffer *x,
                        const cn_buffer *w, cn_buffer *y, cn_error *e) {
    /* y[n, out] = x[n, in] * w^T[in, out] */
    const cn_gemm_args g = {.trans_b = 1, .m = n, .n = out_features, .k = in_features, .alpha = 1.0f,
                            .a = x, .lda = in_features, .b = w, .ldb = in_features, .c = y, .ldc = out_features};
    return fc_gemm(rt, "forward", &g, e);
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
