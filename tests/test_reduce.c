/* Row sums and sums of squares (one chunk a row, several chunks plus the second pass, one long row,
 * many short rows), their workspace sizes and determinism, in every variant the device can run (a
 * work-item per chunk, a work-group per row), and the scaled difference, against double host
 * references. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_reduce.h"
#include "coopnets/cn_tuning.h"
#include "support/cn_test.h"

/* Compensated sums in chunks of 4096 err by about one rounding of the result per pass: relative
 * 1e-6 of the largest row sum, for rows of up to 200 001 values near 1 (a single plain float loop
 * over such a row drifts by ~1e-5). */
#define SUM_NRMS_TOL 1e-6
#define SUM_REL_ABS_TOL 1e-6
/* a * (x - y): two roundings, 1.2e-7 relative to |a| * (|x| + |y|) <= 4|a|. */
#define DIFF_NRMS_TOL 2e-7
#define DIFF_REL_ABS_TOL 5e-7

typedef struct {
    size_t rows, cols;
    double lo, hi;
} shape;

static void host_reduce(cn_reduce_op op, size_t rows, size_t cols, const float *x, double *out) {
    for (size_t r = 0; r < rows; r++) {
        double sum = 0;
        for (size_t c = 0; c < cols; c++) {
            double v = x[r * cols + c];
            sum += op == CN_REDUCE_SUM_SQUARES ? v * v : v;
        }
        out[r] = sum;
    }
}

static void test_workspace_sizes(void) {
    CHECK(cn_reduce_workspace_floats(144, 784) == 0, "one chunk a row needs no workspace");
    CHECK(cn_reduce_workspace_floats(3, 4096) == 0, "a row of exactly one chunk needs no workspace");
    CHECK(cn_reduce_workspace_floats(3, 4097) == 6, "3 rows of 4097: 2 chunks each, got %zu",
          cn_reduce_workspace_floats(3, 4097));
    CHECK(cn_reduce_workspace_floats(1, 200001) == 49, "1 row of 200001: 49 chunks, got %zu",
          cn_reduce_workspace_floats(1, 200001));
}

static void test_shape(cn_runtime *rt, const shape *s, cn_test_rng *rng) {
    size_t count = s->rows * s->cols, ws_floats = cn_reduce_workspace_floats(s->rows, s->cols);
    float *x = malloc(count * sizeof *x), *got = malloc(s->rows * sizeof *got),
          *again = malloc(s->rows * sizeof *again);
    double *want = malloc(s->rows * sizeof *want);
    cn_test_fill_uniform(rng, x, count, s->lo, s->hi);
    cn_buffer xb, outb, wsb = {0};
    cn_test_upload(rt, &xb, x, count, "x");
    CHECK_OK(cn_buffer_alloc(rt, &outb, s->rows * sizeof(float), "out", TE));
    if (ws_floats) CHECK_OK(cn_buffer_alloc(rt, &wsb, ws_floats * sizeof(float), "workspace", TE));
    for (int op = CN_REDUCE_SUM; op <= CN_REDUCE_SUM_SQUARES; op++) {
        CHECK_OK(cn_reduce_rows(rt, (cn_reduce_op)op, s->rows, s->cols, &xb, &outb, ws_floats ? &wsb : NULL, TE));
        cn_test_download(rt, &outb, got, s->rows);
        host_reduce((cn_reduce_op)op, s->rows, s->cols, x, want);
        double largest = 0;
        for (size_t r = 0; r < s->rows; r++) largest = fmax(largest, fabs(want[r]));
        char what[96];
        snprintf(what, sizeof what, "%s rows=%zu cols=%zu", op == CN_REDUCE_SUM ? "sum" : "sum_squares", s->rows,
                 s->cols);
        cn_test_close(what, got, want, s->rows, SUM_NRMS_TOL, SUM_REL_ABS_TOL * fmax(largest, 1));
        /* Deterministic: the same bits on a second run. */
        CHECK_OK(cn_reduce_rows(rt, (cn_reduce_op)op, s->rows, s->cols, &xb, &outb, ws_floats ? &wsb : NULL, TE));
        cn_test_download(rt, &outb, again, s->rows);
        CHECK(memcmp(got, again, s->rows * sizeof *got) == 0, "%s: a second run gave other bits", what);
    }
    if (ws_floats)
        CHECK(cn_reduce_rows(rt, CN_REDUCE_SUM, s->rows, s->cols, &xb, &outb, NULL, TE) == CN_ERR_ARG,
              "a missing workspace accepted for rows=%zu cols=%zu", s->rows, s->cols);
    cn_buffer_free(rt, &xb), cn_buffer_free(rt, &outb);
    if (ws_floats) cn_buffer_free(rt, &wsb);
    free(x), free(got), free(again), free(want);
}

/* out = a*(x - y), out a third buffer, then x, then y. */
static void test_scaled_difference(cn_runtime *rt, size_t count, float a, cn_test_rng *rng) {
    float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y), *got = malloc(count * sizeof *got);
    double *want = malloc(count * sizeof *want);
    cn_test_fill_uniform(rng, x, count, -2, 2);
    cn_test_fill_uniform(rng, y, count, -2, 2);
    for (size_t i = 0; i < count; i++) want[i] = (double)a * ((double)x[i] - y[i]);
    static const char *const targets[] = {"separate", "out = x", "out = y"};
    for (int target = 0; target < 3; target++) {
        cn_buffer xb, yb, outb;
        cn_test_upload(rt, &xb, x, count, "x");
        cn_test_upload(rt, &yb, y, count, "y");
        if (target == 0) CHECK_OK(cn_buffer_alloc(rt, &outb, count * sizeof(float), "out", TE));
        cn_buffer *out = target == 0 ? &outb : target == 1 ? &xb : &yb;
        CHECK_OK(cn_scaled_difference(rt, count, a, &xb, &yb, out, TE));
        cn_test_download(rt, out, got, count);
        char what[96];
        snprintf(what, sizeof what, "scaled_difference n=%zu a=%g %s", count, a, targets[target]);
        cn_test_close(what, got, want, count, DIFF_NRMS_TOL, DIFF_REL_ABS_TOL * fabs(a));
        cn_buffer_free(rt, &xb), cn_buffer_free(rt, &yb);
        if (target == 0) cn_buffer_free(rt, &outb);
    }
    free(x), free(y), free(got), free(want);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    cn_test_rng rng = {4242};
    test_workspace_sizes();
    static const shape shapes[] = {
        {1, 200001, 0.5, 1.5} /* one long row: 49 chunks and the second pass */,
        {1, 1, -1, 1},
        {144, 784, -1, 1},
        {3, 4096, 0.5, 1.5},
        {7, 4097, -1, 1} /* last chunk of 1 */,
        {5, 12289, 0.5, 1.5},
        {1000, 1, -1, 1},
        {333, 3, -1, 1},
    };
    /* CN_TEST_QUICK=1 (the Oclgrind test, where every work-item is interpreted): a few small shapes
     * (one with a second pass) and the first three variants (chunks, groups of 64 and 256). */
    static const shape quick_shapes[] = {{1, 1, -1, 1}, {5, 999, 0.5, 1.5}, {33, 3, -1, 1}, {2, 4097, -1, 1}};
    const int quick = cn_test_quick();
    if (quick) printf("CN_TEST_QUICK=1: four small shapes, the first three variants\n");
    const shape *list = quick ? quick_shapes : shapes;
    const size_t shape_count = quick ? sizeof quick_shapes / sizeof *quick_shapes : sizeof shapes / sizeof *shapes;
    cn_kernel_variant variants[16];
    const size_t count = cn_test_variants(rt, CN_TUNED_REDUCE, variants, 16);
    int groups = 0;
    for (size_t v = 0; v < count; v++) {
        groups += variants[v].kind == CN_VARIANT_GROUP;
        cn_test_use_variant(rt, CN_TUNED_REDUCE, variants[v]);
        for (size_t k = 0; k < shape_count; k++) test_shape(rt, &list[k], &rng);
    }
    /* The smallest group candidate is 16 work-items: a device capped below that has only "item". */
    if (rt->device.max_work_group_size >= 16)
        CHECK(groups > 0, "no work-group variant of the row reduction fits device %d", rt->device.index);
    test_scaled_difference(rt, 1, -2.5f, &rng);
    test_scaled_difference(rt, 10007, 1.0f / (0.3f * 0.3f), &rng);
    return cn_test_finish();
}
