/* Point-wise activations, 8 values a work-item (see cn_elementwise.h). The backward kernels take
 * the derivative from the forward output y, so the input need not be kept. In place is fine: each
 * work-item reads its values before writing them. */
#include "cn_elementwise.h"

__kernel void cn_relu_forward(__global const float *x, __global float *y, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (count) cn_store8(fmax(cn_load8(x + i, count), 0.0f), y + i, count);
}

__kernel void cn_relu_backward(__global const float *y, __global const float *dy, __global float *dx, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (count) cn_store8(cn_load8(y + i, count) > 0.0f ? cn_load8(dy + i, count) : 0.0f, dx + i, count);
}

__kernel void cn_leaky_relu_forward(__global const float *x, __global float *y, const float slope, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (!count) return;
    float8 v = cn_load8(x + i, count);
    cn_store8(v > 0.0f ? v : slope * v, y + i, count);
}

/* Right for slope > 0 only: then y > 0 exactly where x > 0. */
__kernel void cn_leaky_relu_backward(__global const float *y, __global const float *dy, __global float *dx,
                                     const float slope, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (!count) return;
    float8 g = cn_load8(dy + i, count);
    cn_store8(cn_load8(y + i, count) > 0.0f ? g : slope * g, dx + i, count);
}

__kernel void cn_tanh_forward(__global const float *x, __global float *y, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (count) cn_store8(tanh(cn_load8(x + i, count)), y + i, count);
}

__kernel void cn_tanh_backward(__global const float *y, __global const float *dy, __global float *dx, const ulong n) {
    CN_MY_SPAN(i, count, n);
    if (!count) return;
    float8 v = cn_load8(y + i, count);
    cn_store8(cn_load8(dy + i, count) * (1.0f - v * v), dx + i, count);
}
