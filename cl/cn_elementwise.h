/* Helpers of the element-wise kernels (activation, bias, batch norm, reduce, Adam).
 *
 * Vectors: each work-item handles 8 consecutive floats as one float8. PoCL does not vectorise a
 * kernel with a bounds check across work-items (measured: 1 float a work-item behind `if (i < n)`
 * ran at a third of the speed of float8 loads), so the kernels carry the vectors themselves; the
 * host launches ceil(n/8) work-items (cn_elementwise_global). A tail shorter than 8 loads as a
 * zero-padded float8 and stores only its own lanes.
 *
 * Sums: Kahan-compensated, so a sum over ~10^5 values keeps float precision (error about one
 * rounding of the result) in a fixed, deterministic order. Needs IEEE evaluation order, i.e. no
 * -cl-fast-relaxed-math. */
#ifndef CN_ELEMENTWISE_H
#define CN_ELEMENTWISE_H

#define CN_VECTOR 8

/* v with the lanes from `count` on set to 0 (a padded tail whose lanes are not 0 after arithmetic). */
static inline float8 cn_first_lanes(float8 v, size_t count) {
    return select((float8)(0.0f), v, (int8)(0, 1, 2, 3, 4, 5, 6, 7) < (int8)((int)count));
}

/* The `count` (1..8) floats at p as a float8, zero beyond count. A short tail reads its last
 * float again for the missing lanes (no private buffer: that was 4x slower at hw = 1). */
static inline float8 cn_load8(__global const float *p, size_t count) {
    if (count >= CN_VECTOR) return vload8(0, p);
    size_t last = count - 1;
    float8 v = (float8)(p[0], p[min((size_t)1, last)], p[min((size_t)2, last)], p[min((size_t)3, last)],
                        p[min((size_t)4, last)], p[min((size_t)5, last)], p[min((size_t)6, last)], p[last]);
    return cn_first_lanes(v, count);
}

/* Stores the first `count` (1..8) lanes of v at p. */
static inline void cn_store8(float8 v, __global float *p, size_t count) {
    if (count >= CN_VECTOR) {
        vstore8(v, 0, p);
        return;
    }
    p[0] = v.s0;
    if (count > 1) p[1] = v.s1;
    if (count > 2) p[2] = v.s2;
    if (count > 3) p[3] = v.s3;
    if (count > 4) p[4] = v.s4;
    if (count > 5) p[5] = v.s5;
    if (count > 6) p[6] = v.s6;
}

/* The work-item's first index and how many of the n values from there are its own (0 past the end). */
#define CN_MY_SPAN(first, count, n)                       \
    size_t first = get_global_id(0) * CN_VECTOR;          \
    size_t count = first < (n) ? min((size_t)CN_VECTOR, (size_t)(n) - first) : 0

typedef struct {
    float8 sum, carry; /* 8 independent Kahan sums: no dependency chain through one register */
} cn_kahan8;

#define CN_KAHAN8_ZERO {(float8)(0.0f), (float8)(0.0f)}

static inline void cn_kahan8_add(cn_kahan8 *k, float8 v) {
    float8 term = v - k->carry, next = k->sum + term;
    k->carry = (next - k->sum) - term;
    k->sum = next;
}

typedef struct {
    float sum, carry;
} cn_kahan;

static inline void cn_kahan_add(cn_kahan *k, float v) {
    float term = v - k->carry, next = k->sum + term;
    k->carry = (next - k->sum) - term;
    k->sum = next;
}

/* The lanes added in order, each with what its compensation held back. */
static inline float cn_kahan8_total(const cn_kahan8 *k) {
    float sums[CN_VECTOR], carries[CN_VECTOR];
    vstore8(k->sum, 0, sums);
    vstore8(k->carry, 0, carries);
    cn_kahan total = {0.0f, 0.0f};
    for (int lane = 0; lane < CN_VECTOR; lane++) {
        cn_kahan_add(&total, sums[lane]);
        cn_kahan_add(&total, -carries[lane]);
    }
    return total.sum;
}

/* Runs the body (the last arguments) once per float8 of the `length` floats from `offset`, with
 * `at` the index of its first float and `count` how many of its lanes are real (the last may be
 * short). */
#define CN_FOR_VECTORS(at, count, offset, length, ...)                                            \
    for (size_t at##_end_ = (offset) + (length), at = (offset); at < at##_end_; at += CN_VECTOR) { \
        size_t count = min((size_t)CN_VECTOR, at##_end_ - at);                                     \
        __VA_ARGS__                                                                                \
    }

/* CN_FOR_VECTORS over the n*hw floats of channel ch of an NCHW tensor with c channels. */
#define CN_FOR_CHANNEL_VECTORS(at, count, n, c, ch, hw, ...) \
    for (size_t b_ = 0; b_ < (n); b_++) CN_FOR_VECTORS(at, count, (b_ * (c) + (ch)) * (hw), (hw), __VA_ARGS__)

#endif
