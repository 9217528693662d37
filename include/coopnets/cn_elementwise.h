/* cn_elementwise: the launch sizes every element-wise module (activation, bias, batch norm,
 * reduce, Adam) shares, in one place beside the kernels' own helpers in cl/cn_elementwise.h. */
#ifndef CN_ELEMENTWISE_HOST_H
#define CN_ELEMENTWISE_HOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1-D global sizes: for an element-wise kernel of cl/cn_elementwise.h over `count` floats (8 a
 * work-item), and for a kernel with one work-item per item (a row, a channel). Both are rounded up
 * to a multiple the device can split into groups; the kernels check their range. */
size_t cn_elementwise_global(size_t count);
size_t cn_per_item_global(size_t items);

#ifdef __cplusplus
}
#endif
#endif
