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

#endif
