/* Row reductions and the (masked) scaled difference (cl/reduce.cl). */
#include "coopnets/cn_reduce.h"

#include "coopnets/cn_elementwise.h"
#include "coopnets/cn_tuning.h"

/* Values summed by one work-item: long enough to amortise a work-item, short enough that a single
 * long row (rows = 1) still spreads over the device. Fixed, so results do not depend on the device. */
#define CN_REDUCE_CHUNK 4096

static size_t chunks_per_row(size_t cols) {
    return cols > CN_REDUCE_CHUNK ? (cols + CN_REDUCE_CHUNK - 1) / CN_REDUCE_CHUNK : 1;
}

size_t cn_reduce_workspace_floats(size_t rows, size_t cols) {
    size_t chunks = chunks_per_row(cols);
    return chunks > 1 ? rows * chunks : 0;
}

/* out[r*chunks + k] = sum of op over chunk k of row r. */
static cn_status reduce_chunks(cn_runtime *rt, int square, size_t rows, size_t cols, size_t chunks, size_t chunk,
                               const cn_buffer *x, cn_buffer *out, cn_error *e) {
    size_t global = cn_per_item_global(rows * chunks);
    double values = (double)(rows * cols); /* counted for the profile: x read once */
    return CN_RUN_COUNTED(rt, CN_KERNEL_REDUCE_CHUNKS, 1, &global, NULL, values, values * sizeof(float), e,
                          CN_MEM(x), CN_MEM(out), CN_U64(rows), CN_U64(cols), CN_U64(chunks), CN_U64(chunk),
                          CN_I32(square));
}

/* The work-group variant: a group of G per row, one pass, no workspace. */
static cn_status reduce_rows_group(cn_runtime *rt, int square, size_t rows, size_t cols, size_t group,
                                   const cn_buffer *x, cn_buffer *out, cn_error *e) {
    cl_kernel k;
    CN_TRY(cn_kernel_by_id(rt, CN_KERNEL_REDUCE_ROWS_GROUP, &k, e));
    size_t local;
    CN_TRY(cn_local_size(rt, k, 1, &group, &local, e));
    const size_t global = rows * local;
    const cn_arg args[] = {CN_MEM(x), CN_MEM(out), CN_U64(cols), CN_I32(square), CN_LOCAL(local * 2 * sizeof(float))};
    const double values = (double)(rows * cols);
    return cn_launch_counted(rt, k, 1, &global, &local, args, sizeof args / sizeof *args, values,
                             values * sizeof(float), e);
}

cn_status cn_reduce_rows(cn_runtime *rt, cn_reduce_op op, size_t rows, size_t cols, const cn_buffer *x, cn_buffer *out,
                         cn_buffer *ws, cn_error *e) {
    const char *fn = "cn_reduce_rows";
    if (op != CN_REDUCE_SUM && op != CN_REDUCE_SUM_SQUARES)
        return cn_error_set(e, CN_ERR_ARG, "%s: unknown operation %d", fn, (int)op);
    CN_TRY(cn_buffer_check_floats(x, rows * cols, fn, "x", e));
    CN_TRY(cn_buffer_check_floats(out, rows, fn, "out", e));
    int square = op == CN_REDUCE_SUM_SQUARES;
    size_t chunks = chunks_per_row(cols);
    /* The workspace is part of the contract whichever variant runs, so a caller works with both. */
    if (chunks > 1) CN_TRY(cn_buffer_check_floats(ws, rows * chunks, fn, "ws (cn_reduce_workspace_floats)", e));
    const cn_kernel_variant v = cn_tuning_variant(rt, CN_TUNED_REDUCE, NULL);
    if (v.kind == CN_VARIANT_GROUP) return reduce_rows_group(rt, square, rows, cols, v.p, x, out, e);
    if (chunks == 1) return reduce_chunks(rt, square, rows, cols, 1, cols, x, out, e);
    CN_TRY(reduce_chunks(rt, square, rows, cols, chunks, CN_REDUCE_CHUNK, x, ws, e));
    return reduce_chunks(rt, 0, rows, chunks, 1, chunks, ws, out, e);
}

cn_status cn_scaled_difference(cn_runtime *rt, size_t count, float a, const cn_buffer *x, const cn_buffer *y,
                               cn_buffer *out, cn_error *e) {
    const char *fn = "cn_scaled_difference";
    CN_TRY(cn_buffer_check_floats(x, count, fn, "x", e));
    CN_TRY(cn_buffer_check_floats(y, count, fn, "y", e));
    CN_TRY(cn_buffer_check_floats(out, count, fn, "out", e));
    size_t global = cn_elementwise_global(count);
    return CN_RUN_COUNTED(rt, CN_KERNEL_SCALED_DIFFERENCE, 1, &global, NULL, 2.0 * (double)count,
                          3.0 * (double)count * sizeof(float), e, CN_MEM(x), CN_MEM(y), CN_MEM(out), CN_F32(a),
                          CN_U64(count));
}

cn_status cn_masked_difference(cn_runtime *rt, size_t count, float a, const cn_buffer *x, const cn_buffer *y,
                               const cn_buffer *mask, cn_buffer *out, cn_error *e) {
    const char *fn = "cn_masked_difference";
    CN_TRY(cn_buffer_check_floats(x, count, fn, "x", e));
    CN_TRY(cn_buffer_check_floats(y, count, fn, "y", e));
    CN_TRY(cn_buffer_check_floats(mask, count, fn, "mask", e));
    CN_TRY(cn_buffer_check_floats(out, count, fn, "out", e));
    size_t global = cn_elementwise_global(count);
    return CN_RUN_COUNTED(rt, CN_KERNEL_MASKED_DIFFERENCE, 1, &global, NULL, 3.0 * (double)count,
                          4.0 * (double)count * sizeof(float), e, CN_MEM(x), CN_MEM(y), CN_MEM(mask), CN_MEM(out),
                          CN_F32(a), CN_U64(count));
}
