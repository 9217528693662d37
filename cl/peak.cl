/* What `coopnets_cl bench` measures the device's limits with: the FMA rate and the copy bandwidth.
 *
 * cn_peak_fma_W: CN_PEAK_CHAINS independent chains x = fma(x, a, b) on floatW vectors, `rounds`
 * times; 2 * CN_PEAK_CHAINS * W * rounds floating-point operations per work-item. fma, not mad:
 * PoCL 3.1 compiles mad into a multiply and an add (bench refuses a device without CL_FP_FMA,
 * where fma is emulated). Independent
 * chains hide the FMA latency (4 cycles on two ports wants 8 in flight), and 12 vectors plus a
 * and b still fit the 16 registers of AVX2. W is the device's native vector width: a CPU driver
 * turns floatW into one register per chain (PoCL does not vectorise a scalar loop like this one
 * across work-items), a GPU takes W = 1 with many work-items. With a < 1 every chain converges
 * to b / (1 - a): no overflow, no denormals. The sum is written so that nothing is optimised away. */

#define CN_PEAK_CHAINS 12
#define CN_PEAK_EACH_CHAIN(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define CN_PEAK_DECLARE(i) cn_peak_vector x##i = start + (float)(i);
#define CN_PEAK_STEP(i) x##i = fma(x##i, (cn_peak_vector)(a), (cn_peak_vector)(b));
#define CN_PEAK_ADD(i) +x##i

/* The kernel for vectors of W lanes of type floatW; `total` adds the lanes of `sum`. */
#define CN_PEAK_FMA_KERNEL(W, floatW, total)                                                                      \
    __kernel void cn_peak_fma_##W(__global float *out, const float a, const float b, const uint rounds) {        \
        typedef floatW cn_peak_vector;                                                                            \
        const cn_peak_vector start = (cn_peak_vector)((float)get_global_id(0) * 1e-6f);                           \
        CN_PEAK_EACH_CHAIN(CN_PEAK_DECLARE)                                                                       \
        for (uint r = 0; r < rounds; r++) {                                                                       \
            CN_PEAK_EACH_CHAIN(CN_PEAK_STEP)                                                                      \
        }                                                                                                         \
        const cn_peak_vector sum = 0 CN_PEAK_EACH_CHAIN(CN_PEAK_ADD);                                             \
        out[get_global_id(0)] = (total);                                                                          \
    }

CN_PEAK_FMA_KERNEL(1, float, sum)
CN_PEAK_FMA_KERNEL(4, float4, dot(sum, (float4)(1.0f)))
CN_PEAK_FMA_KERNEL(8, float8, dot(sum.lo + sum.hi, (float4)(1.0f)))
CN_PEAK_FMA_KERNEL(16, float16, dot(sum.lo.lo + sum.lo.hi + sum.hi.lo + sum.hi.hi, (float4)(1.0f)))

/* dst[i] = src[i] over float4s: 32 bytes moved per work-item. */
__kernel void cn_peak_copy(__global const float4 *src, __global float4 *dst) {
    dst[get_global_id(0)] = src[get_global_id(0)];
}
