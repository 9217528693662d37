/* Small utility kernels shared by every layer. */

/* y[i] = a * x[i] + y[i] */
__kernel void cn_axpy(__global float *y, __global const float *x, const float a, const ulong n) {
    size_t i = get_global_id(0);
    if (i < n) y[i] = fma(a, x[i], y[i]);
}

/* y[i] = a * x[i] */
__kernel void cn_scale(__global float *y, __global const float *x, const float a, const ulong n) {
    size_t i = get_global_id(0);
    if (i < n) y[i] = a * x[i];
}
