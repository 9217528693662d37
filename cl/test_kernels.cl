/* A kernel for the tests only: test_runtime builds this program to check kernel lookup, argument
 * passing and launch through the program cache. Training never builds it. */

/* y[i] = a * x[i] + y[i] */
__kernel void cn_axpy(__global float *y, __global const float *x, const float a, const ulong n) {
    size_t i = get_global_id(0);
    if (i < n) y[i] = fma(a, x[i], y[i]);
}
