/* Launch sizes of the element-wise kernels (include/coopnets/cn_elementwise.h). */
#include "coopnets/cn_elementwise.h"

#include "coopnets/cn_runtime.h" /* cn_round_up */

/* Floats a work-item of an element-wise kernel handles: the float8 of cl/cn_elementwise.h. */
#define CN_ELEMENTWISE_VECTOR 8
/* Kernels launch in groups the device chooses; a rounded global size never forces it down to 1. */
#define CN_GLOBAL_MULTIPLE 64

size_t cn_per_item_global(size_t items) { return cn_round_up(items, CN_GLOBAL_MULTIPLE); }

size_t cn_elementwise_global(size_t count) {
    return cn_per_item_global((count + CN_ELEMENTWISE_VECTOR - 1) / CN_ELEMENTWISE_VECTOR);
}
