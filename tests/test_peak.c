/* cl/peak.cl, the kernels `coopnets_cl bench` measures the device with, compute what they say:
 * the copy kernel's output equals its input bit for bit and leaves what lies past it untouched,
 * and each FMA kernel (vectors of 1, 4, 8 and 16 floats) gives the host double-precision sums of
 * its chains for a few work-items and rounds. */
#include <math.h>
#include <string.h>

#include "support/cn_test.h"

enum {
    PEAK_CHAINS = 12, /* CN_PEAK_CHAINS of cl/peak.cl */
    COPY_VECTORS = 37, /* float4s copied: an odd count, no power of two */
    FMA_ITEMS = 5,
    FMA_ROUNDS = 7,
};

static void check_copy(cn_runtime *rt) {
    enum { COPIED = 4 * COPY_VECTORS, TAIL = 8 };
    float src[COPIED], dst[COPIED + TAIL], got[COPIED + TAIL];
    cn_test_rng rng = {11};
    cn_test_fill_uniform(&rng, src, COPIED, -1e3, 1e3);
    for (size_t i = 0; i < COPIED + TAIL; i++) dst[i] = NAN; /* every copied float must overwrite one */
    cn_buffer bsrc, bdst;
    cn_test_upload(rt, &bsrc, src, COPIED, "copy source");
    cn_test_upload(rt, &bdst, dst, COPIED + TAIL, "copy destination");
    const size_t global = COPY_VECTORS;
    CHECK_OK(CN_RUN(rt, CN_KERNEL_PEAK_COPY, 1, &global, NULL, TE, CN_MEM(&bsrc), CN_MEM(&bdst)));
    cn_test_download(rt, &bdst, got, COPIED + TAIL);
    CHECK(memcmp(got, src, sizeof src) == 0, "cn_peak_copy: the %d copied floats differ from the source", COPIED);
    size_t touched = 0;
    for (size_t i = COPIED; i < COPIED + TAIL; i++) touched += !isnan(got[i]);
    CHECK(touched == 0, "cn_peak_copy wrote %zu floats past the %d it copies", touched, COPIED);
    printf("cn_peak_copy: %d floats equal to the source bit for bit, the %d after them untouched\n", COPIED, TAIL);
    cn_buffer_free(rt, &bsrc);
    cn_buffer_free(rt, &bdst);
}

/* Work-item g's result: every lane of chain i starts at g * 1e-6 + i (in float, as the kernel
 * does), takes `rounds` steps x = a x + b, and all chains of all `width` lanes are summed. The
 * kernel rounds each fma and each addition to float: over 7 contracting steps and a sum of at most
 * 192 positive terms that stays within relative 1e-6 of the double result (float's epsilon is
 * 1.2e-7; a few roundings each, none cancelling). */
static void check_fma(cn_runtime *rt, cn_kernel_id id, unsigned width) {
    const float a = 0.999f, b = 1e-3f;
    double want[FMA_ITEMS], largest = 0;
    for (size_t g = 0; g < FMA_ITEMS; g++) {
        const float start = (float)g * 1e-6f;
        double sum = 0;
        for (int i = 0; i < PEAK_CHAINS; i++) {
            double x = (double)(start + (float)i);
            for (int r = 0; r < FMA_ROUNDS; r++) x = x * a + b;
            sum += x;
        }
        want[g] = sum * width;
        largest = fmax(largest, fabs(want[g]));
    }
    float got[FMA_ITEMS] = {0};
    cn_buffer out;
    cn_test_upload(rt, &out, got, FMA_ITEMS, "FMA sums");
    const size_t global = FMA_ITEMS;
    CHECK_OK(CN_RUN(rt, id, 1, &global, NULL, TE, CN_MEM(&out), CN_F32(a), CN_F32(b), CN_U32(FMA_ROUNDS)));
    cn_test_download(rt, &out, got, FMA_ITEMS);
    char what[64];
    snprintf(what, sizeof what, "cn_peak_fma_%u, %d items x %d rounds", width, FMA_ITEMS, FMA_ROUNDS);
    cn_test_close(what, got, want, FMA_ITEMS, 1e-6, 1e-6 * largest);
    cn_buffer_free(rt, &out);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    check_copy(rt);
    const struct {
        cn_kernel_id id;
        unsigned width;
    } fma_kernels[] = {{CN_KERNEL_PEAK_FMA_1, 1}, {CN_KERNEL_PEAK_FMA_4, 4}, {CN_KERNEL_PEAK_FMA_8, 8},
                       {CN_KERNEL_PEAK_FMA_16, 16}};
    for (size_t i = 0; i < sizeof fma_kernels / sizeof *fma_kernels; i++)
        check_fma(rt, fma_kernels[i].id, fma_kernels[i].width);
    return cn_test_finish();
}
