/* cn_reduce: deterministic row sums (the losses and scores of DESIGN §2 and §6: f per sample, L_G,
 * gradient norms), and the scaled difference the generator's losses start from. */
#ifndef CN_REDUCE_H
#define CN_REDUCE_H

#include <stddef.h>

#include "coopnets/cn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CN_REDUCE_SUM, CN_REDUCE_SUM_SQUARES } cn_reduce_op;

/* out[r] = sum over c < cols of op(x[r*cols + c]) for r < rows.
 * A row is summed in chunks of 4096 values, each by one work-item with Kahan compensation; a row
 * of more than one chunk leaves its chunk sums in the workspace ws and a second kernel adds them
 * (again compensated). The chunking does not depend on the device, so results are deterministic.
 * The group variant (cn_tuning) sums each row in one pass by a work-group, leaving ws unused.
 * ws holds cn_reduce_workspace_floats(rows, cols) floats; it may be NULL when that is 0
 * (cols <= 4096). */
size_t cn_reduce_workspace_floats(size_t rows, size_t cols);
cn_status cn_reduce_rows(cn_runtime *rt, cn_reduce_op op, size_t rows, size_t cols, const cn_buffer *x, cn_buffer *out,
                         cn_buffer *ws, cn_error *e);

/* out[i] = a * (x[i] - y[i]) for i < count (out may be x or y). */
cn_status cn_scaled_difference(cn_runtime *rt, size_t count, float a, const cn_buffer *x, const cn_buffer *y,
                               cn_buffer *out, cn_error *e);
/* out[i] = a * mask[i] * (x[i] - y[i]) for i < count: the same on the elements where mask is 1 (pattern
 * completion: the visible pixels), 0 where it is 0. out may be x or y. */
cn_status cn_masked_difference(cn_runtime *rt, size_t count, float a, const cn_buffer *x, const cn_buffer *y,
                               const cn_buffer *mask, cn_buffer *out, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
