/* Profiles: with a profile attached to a profiling runtime, kernel launches, GEMMs (both
 * backends, with flops = 2mnk per product) and transfers are recorded per (name, tag); without
 * one nothing is; attaching to a runtime without a profiling queue is refused in words. */
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_gemm.h"
#include "support/cn_test.h"

static const cn_profile_total *find(const cn_profile_total *t, size_t n, const char *prefix, int tag) {
    for (size_t i = 0; i < n; i++)
        if (strncmp(t[i].name, prefix, strlen(prefix)) == 0 && t[i].tag == tag) return &t[i];
    return NULL;
}

/* Sums flops, calls and seconds over the totals whose name starts with prefix, at tag. */
static void sum(const cn_profile_total *t, size_t n, const char *prefix, int tag, double *flops, unsigned long *calls,
                double *seconds) {
    *flops = *seconds = 0;
    *calls = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(t[i].name, prefix, strlen(prefix)) == 0 && t[i].tag == tag) {
            *flops += t[i].flops;
            *calls += t[i].calls;
            *seconds += t[i].seconds;
        }
}

int main(void) {
    cn_runtime *plain = cn_test_runtime();
    cn_profile *p = NULL;
    CHECK_OK(cn_profile_create(&p, TE));
    CHECK(cn_profile_attach(plain, p, TE) == CN_ERR_ARG, "attached to a runtime without profiling");
    CHECK(strstr(cn_test_error.message, "profiling") != NULL, "message: %s", cn_test_error.message);
    CHECK(plain->profile == NULL, "the refused profile stayed attached");

    cn_runtime *rt = NULL;
    cn_runtime_options o = cn_runtime_default_options();
    o.profiling = 1;
    CHECK_OK(cn_runtime_open(&rt, &o, TE));
    if (!rt) return cn_test_finish();
    CHECK_OK(cn_gemm_select(rt, CN_GEMM_OWN, TE));
    enum { M = 70, N = 50, K = 600, BATCH = 2 }; /* K > 512: ours splits it into blocks */
    cn_buffer a, b, c;
    CHECK_OK(cn_buffer_alloc(rt, &a, sizeof(float) * M * K * BATCH, "A", TE));
    CHECK_OK(cn_buffer_alloc(rt, &b, sizeof(float) * K * N * BATCH, "B", TE));
    CHECK_OK(cn_buffer_alloc(rt, &c, sizeof(float) * M * N * BATCH, "C", TE));
    const cn_gemm_args g = {.m = M, .n = N, .k = K, .alpha = 1.0f, .a = &a, .lda = K, .a_stride = M * K, .b = &b,
                            .ldb = N, .b_stride = K * N, .c = &c, .ldc = N, .c_stride = M * N, .batch = BATCH};

    /* Nothing attached: nothing recorded. */
    CHECK_OK(cn_buffer_fill_f32(rt, &a, 0.5f, 0, M * K * BATCH, TE));
    CHECK_OK(cn_gemm(rt, &g, TE));

    CHECK_OK(cn_profile_attach(rt, p, TE));
    cn_profile_set_tag(p, 1);
    CHECK_OK(cn_buffer_fill_f32(rt, &b, 0.25f, 0, K * N * BATCH, TE));
    CHECK_OK(cn_gemm(rt, &g, TE));
    cn_profile_set_tag(p, 2);
    CHECK_OK(cn_gemm_select(rt, CN_GEMM_CLBLAST, TE));
    CHECK_OK(cn_gemm(rt, &g, TE));
    float host[16] = {0};
    CHECK_OK(cn_buffer_copy(rt, &a, 0, &c, 0, sizeof host, TE));
    CHECK_OK(cn_buffer_read(rt, &a, 0, host, sizeof host, TE));
    CHECK(host[0] == 0.5f * 0.25f * K, "C[0] = %g, want %g", host[0], 0.5 * 0.25 * K);

    cn_profile_total *t = NULL;
    size_t n = 0;
    CHECK_OK(cn_profile_resolve(rt, p, &t, &n, TE));
    for (size_t i = 0; i < n; i++)
        printf("  tag %d %-24s %3lu calls %10.6f s %12.0f flops %10.0f bytes\n", t[i].tag, t[i].name, t[i].calls,
               t[i].seconds, t[i].flops, t[i].bytes);
    const double product = 2.0 * M * N * K * BATCH;
    double flops, seconds;
    unsigned long calls;
    sum(t, n, "cn_gemm_", 1, &flops, &calls, &seconds);
    CHECK(flops == product, "our kernels counted %.0f flops, want %.0f", flops, product);
    CHECK(calls >= 2, "our kernels: %lu launches for a K split in two blocks", calls);
    CHECK(seconds > 0, "our kernels took %g s", seconds);
    sum(t, n, "clblast_sgemm", 2, &flops, &calls, &seconds);
    CHECK(flops == product && calls == 1, "CLBlast: %lu calls, %.0f flops, want 1 and %.0f", calls, flops, product);
    CHECK(seconds > 0, "CLBlast took %g s", seconds);
    const cn_profile_total *fill = find(t, n, "fill", 1), *copy = find(t, n, "copy", 2), *read = find(t, n, "read", 2);
    CHECK(fill && fill->calls == 1 && fill->bytes == sizeof(float) * K * N * BATCH, "fill not recorded as one of %zu bytes",
          sizeof(float) * K * N * BATCH);
    CHECK(copy && copy->bytes == 2.0 * sizeof host, "copy not recorded as %zu bytes read and written", 2 * sizeof host);
    CHECK(read && read->bytes == sizeof host, "read not recorded");
    CHECK(find(t, n, "fill", 0) == NULL && find(t, n, "cn_gemm_", 0) == NULL, "commands before attaching recorded");
    free(t);

    /* Resolving empties the profile; after detaching, nothing more is recorded. */
    CHECK_OK(cn_profile_attach(rt, NULL, TE));
    CHECK_OK(cn_gemm(rt, &g, TE));
    CHECK_OK(cn_profile_resolve(rt, p, &t, &n, TE));
    CHECK(n == 0, "%zu totals after resolving and detaching", n);
    free(t);

    cn_profile_free(p);
    cn_buffer_free(rt, &a);
    cn_buffer_free(rt, &b);
    cn_buffer_free(rt, &c);
    cn_runtime_close(rt);
    return cn_test_finish();
}
