/* Normal noise from Philox4x32-10, one text for OpenCL C and host C.
 *
 * Key = the run's 64-bit seed (low word, high word); counter = (iteration, stream, step, block).
 * Block j gives the normals of elements 4j..4j+3 through two Box-Muller pairs, so a value depends
 * only on its element index, never on how a kernel is launched. Uniforms lie in (0, 1]: log never
 * sees 0. The math is float with the ordinary (not native_) log/sqrt/cos/sin, so the host and a
 * device agree to within their libm's last bits (a few 1e-7 relative). */
#ifndef CN_PHILOX_NORMAL_H
#define CN_PHILOX_NORMAL_H

#include <Random123/philox.h>

#ifdef __OPENCL_VERSION__
#define CN_LOGF log
#define CN_SQRTF sqrt
#define CN_COSF cos
#define CN_SINF sin
#else
#include <math.h>
#define CN_LOGF logf
#define CN_SQRTF sqrtf
#define CN_COSF cosf
#define CN_SINF sinf
#endif

typedef struct cn_normal4 {
    float v[4];
} cn_normal4;

/* (x + 1) / 2^24 for the top 24 bits: exact in float, uniformly spaced in (0, 1]. */
R123_STATIC_INLINE float cn_uniform_open_closed(uint32_t x) {
    return (float)((x >> 8) + 1u) * 5.9604644775390625e-8f;
}

/* Box-Muller: radius from u, angle from w. */
R123_STATIC_INLINE void cn_box_muller(uint32_t u, uint32_t w, float *z0, float *z1) {
    float radius = CN_SQRTF(-2.0f * CN_LOGF(cn_uniform_open_closed(u)));
    float angle = 6.2831853071795865f * cn_uniform_open_closed(w);
    *z0 = radius * CN_COSF(angle);
    *z1 = radius * CN_SINF(angle);
}

R123_STATIC_INLINE philox4x32_ctr_t cn_philox_block(uint32_t seed_lo, uint32_t seed_hi, uint32_t iteration,
                                                    uint32_t stream, uint32_t step, uint32_t block) {
    philox4x32_ctr_t counter = {{iteration, stream, step, block}};
    philox4x32_key_t key = {{seed_lo, seed_hi}};
    return philox4x32(counter, key);
}

/* The four normals of elements 4*block .. 4*block+3. */
R123_STATIC_INLINE cn_normal4 cn_philox_normal4(uint32_t seed_lo, uint32_t seed_hi, uint32_t iteration,
                                                uint32_t stream, uint32_t step, uint32_t block) {
    philox4x32_ctr_t bits = cn_philox_block(seed_lo, seed_hi, iteration, stream, step, block);
    cn_normal4 z;
    cn_box_muller(bits.v[0], bits.v[1], &z.v[0], &z.v[1]);
    cn_box_muller(bits.v[2], bits.v[3], &z.v[2], &z.v[3]);
    return z;
}

#ifdef __OPENCL_VERSION__
/* The sixteen normals of elements 16*group .. 16*group+15 (blocks 4*group .. 4*group+3), in element
 * order: cn_philox_normal4's formula with the Box-Muller math on float8, so that a CPU driver runs
 * log, sqrt and sincos in vector lanes. Scalar calls made the Langevin step 4x slower on PoCL
 * (34 against 9 ms for 1.8M values on 2 Xeon cores). Every device kernel draws through this one
 * function, so the noise kernel and the Langevin step give the same bits for an element. */
inline float16 cn_philox_normal16(uint seed_lo, uint seed_hi, uint iteration, uint stream, uint step, uint group) {
    uint radius_bits[8], angle_bits[8]; /* Box-Muller pair p = 2j + k: words 2k, 2k+1 of block j */
    for (uint j = 0; j < 4; j++) {
        philox4x32_ctr_t bits = cn_philox_block(seed_lo, seed_hi, iteration, stream, step, 4 * group + j);
        radius_bits[2 * j] = bits.v[0], angle_bits[2 * j] = bits.v[1];
        radius_bits[2 * j + 1] = bits.v[2], angle_bits[2 * j + 1] = bits.v[3];
    }
    const float unit = 5.9604644775390625e-8f; /* 2^-24, as cn_uniform_open_closed */
    float8 u = convert_float8((vload8(0, radius_bits) >> 8u) + 1u) * unit;
    float8 w = convert_float8((vload8(0, angle_bits) >> 8u) + 1u) * unit;
    float8 radius = sqrt(-2.0f * log(u)), cosine;
    float8 sine = sincos(6.2831853071795865f * w, &cosine);
    cosine *= radius, sine *= radius;
    return (float16)(cosine.s0, sine.s0, cosine.s1, sine.s1, cosine.s2, sine.s2, cosine.s3, sine.s3, cosine.s4,
                     sine.s4, cosine.s5, sine.s5, cosine.s6, sine.s6, cosine.s7, sine.s7);
}
#endif

#endif
