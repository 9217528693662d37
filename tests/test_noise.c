/* Philox normal noise: known answers on host and device, host == device, the distribution, distinct
 * keys giving distinct numbers, and independence from the launch shape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_noise.h"
#include "support/cn_test.h"

/* Host and device evaluate the same float formula with their own log/sqrt/cos/sin (OpenCL allows
 * 3-4 ulp there, glibc is within 1 ulp): on values up to |z| = sqrt(-2 ln 2^-24) = 5.77 a few ulp
 * is a few 1e-6 at most; the RMS difference is far smaller. */
#define HOST_DEVICE_ABS_TOL 4e-6
#define HOST_DEVICE_NRMS_TOL 1e-6

typedef struct {
    uint32_t counter[4], key[2], want[4];
} philox_answer;

/* The first is DESIGN §4; the others are Random123's own known-answer vectors (kat_vectors). */
static const philox_answer answers[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};
#define ANSWER_COUNT (sizeof answers / sizeof *answers)

static void test_known_answers(cn_runtime *rt) {
    for (size_t a = 0; a < ANSWER_COUNT; a++) {
        uint32_t got[4];
        cn_philox4x32_host(answers[a].counter, answers[a].key, got);
        CHECK(memcmp(got, answers[a].want, sizeof got) == 0, "host philox answer %zu: %08x %08x %08x %08x", a, got[0],
              got[1], got[2], got[3]);
    }
    /* The raw kernel takes one key per launch and a list of counters: one launch per answer. */
    cn_buffer counter_buf, out_buf;
    CHECK_OK(cn_buffer_alloc(rt, &counter_buf, 4 * sizeof(uint32_t), "philox counter", TE));
    CHECK_OK(cn_buffer_alloc(rt, &out_buf, 4 * sizeof(uint32_t), "philox output", TE));
    for (size_t a = 0; a < ANSWER_COUNT; a++) {
        uint32_t got[4] = {0};
        size_t global = 1;
        CHECK_OK(cn_buffer_write(rt, &counter_buf, 0, answers[a].counter, sizeof answers[a].counter, TE));
        CHECK_OK(CN_RUN(rt, CN_KERNEL_PHILOX_RAW, 1, &global, NULL, TE, CN_MEM(&out_buf), CN_MEM(&counter_buf),
                        CN_U32(answers[a].key[0]), CN_U32(answers[a].key[1]), CN_U64(1)));
        CHECK_OK(cn_buffer_read(rt, &out_buf, 0, got, sizeof got, TE));
        CHECK(memcmp(got, answers[a].want, sizeof got) == 0, "device philox answer %zu: %08x %08x %08x %08x", a,
              got[0], got[1], got[2], got[3]);
    }
    printf("  philox4x32-10 known answers: %zu on host and on device\n", ANSWER_COUNT);
    cn_buffer_free(rt, &counter_buf);
    cn_buffer_free(rt, &out_buf);
}

/* Draws count values on the device with cn_noise_normal. */
static void device_normal(cn_runtime *rt, const cn_noise_key *k, size_t count, float *out) {
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, count * sizeof(float), "noise", TE));
    CHECK_OK(cn_noise_normal(rt, k, count, &b, TE));
    cn_test_download(rt, &b, out, count);
    cn_buffer_free(rt, &b);
}

/* The same numbers on host and device: a count that is not a multiple of 4 (the tail block), and
 * large counts (where the rare extreme values lie). A shorter draw is a prefix of a longer one. */
static void test_host_equals_device(cn_runtime *rt, size_t count) {
    cn_noise_key k = {.seed = 0x0123456789abcdefULL, .iteration = 7, .stream = CN_STREAM_LATENT, .step = 3};
    float *host = malloc(count * sizeof *host), *device = malloc(count * sizeof *device);
    double *want = malloc(count * sizeof *want);
    cn_noise_normal_host(&k, count, host);
    device_normal(rt, &k, count, device);
    cn_test_to_double(host, want, count);
    char what[64];
    snprintf(what, sizeof what, "device vs host noise, count %zu", count);
    cn_test_close(what, device, want, count, HOST_DEVICE_NRMS_TOL, HOST_DEVICE_ABS_TOL);

    float prefix[7];
    cn_noise_normal_host(&k, 7, prefix);
    CHECK(memcmp(prefix, host, sizeof prefix) == 0, "7 host values are not the first 7 of %zu", count);
    free(host);
    free(device);
    free(want);
}

/* Moments of 1e6 device values against N(0,1), bounds of 5 standard errors (a false alarm about
 * once in 1.7 million runs; the seed is fixed, so the test is deterministic anyway):
 *   mean: se 1/sqrt(n) = 1e-3;  variance: se sqrt(2/n) = 1.4e-3;  kurtosis E z^4 = 3: se sqrt(96/n) = 9.8e-3;
 *   P(|z| < 1) = 0.682689: se sqrt(p(1-p)/n) = 4.7e-4.
 * Every value is finite and |z| <= 5.77, the largest radius a 24-bit uniform in (0,1] gives. */
static void test_distribution(cn_runtime *rt) {
    const size_t n = 1000000;
    cn_noise_key k = {.seed = 42, .iteration = 1, .stream = CN_STREAM_DESCRIPTOR_LANGEVIN, .step = 0};
    float *z = malloc(n * sizeof *z);
    device_normal(rt, &k, n, z);
    double sum = 0, sum2 = 0, sum3 = 0, sum4 = 0, largest = 0;
    size_t inside_one = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double v = z[i];
        if (!isfinite(v)) bad++;
        sum += v;
        sum2 += v * v;
        sum3 += v * v * v;
        sum4 += v * v * v * v;
        inside_one += fabs(v) < 1.0;
        if (fabs(v) > largest) largest = fabs(v);
    }
    double mean = sum / n, var = sum2 / n - mean * mean, skew = sum3 / n, kurt = sum4 / n;
    double p_one = (double)inside_one / n;
    printf("  1e6 device normals: mean %+.5f  var %.5f  E z^3 %+.5f  E z^4 %.4f  P(|z|<1) %.5f  max|z| %.3f\n", mean,
           var, skew, kurt, p_one, largest);
    CHECK(bad == 0, "%zu non-finite values", bad);
    CHECK(fabs(mean) < 5e-3, "mean %g", mean);
    CHECK(fabs(var - 1) < 7e-3, "variance %g", var);
    CHECK(fabs(skew) < 5 * sqrt(15.0 / n), "third moment %g", skew); /* var z^3 = 15 */
    CHECK(fabs(kurt - 3) < 5e-2, "fourth moment %g", kurt);
    CHECK(fabs(p_one - 0.682689) < 2.4e-3, "P(|z|<1) %g", p_one);
    CHECK(largest <= 5.7686 && largest > 4.0, "max |z| %g", largest);
    free(z);
}

/* Pearson correlation of two sequences. */
static double correlation(const float *a, const float *b, size_t n) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (size_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
        sab += (double)a[i] * b[i];
    }
    double cov = sab / n - sa / n * sb / n;
    return cov / sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

/* Changing any part of the key or counter gives other numbers: no value shared at the same index,
 * and correlation within 5/sqrt(n) of zero. */
static void test_keys_differ(void) {
    enum { N = 4096 };
    static float base[N], other[N];
    const cn_noise_key k = {.seed = 0x9e3779b97f4a7c15ULL, .iteration = 10, .stream = CN_STREAM_LATENT, .step = 2};
    cn_noise_key variants[] = {k, k, k, k, k};
    const char *names[] = {"iteration", "stream", "step", "seed low word", "seed high word"};
    variants[0].iteration++;
    variants[1].stream = CN_STREAM_GENERATOR_LANGEVIN;
    variants[2].step++;
    variants[3].seed ^= 1;
    variants[4].seed ^= 1ULL << 32;
    cn_noise_normal_host(&k, N, base);
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        cn_noise_normal_host(&variants[v], N, other);
        size_t same = 0;
        for (size_t i = 0; i < N; i++) same += base[i] == other[i];
        double r = correlation(base, other, N);
        printf("  another %-15s: %zu equal values, correlation %+.4f\n", names[v], same, r);
        CHECK(same == 0, "changing the %s left %zu values equal", names[v], same);
        CHECK(fabs(r) < 5.0 / sqrt(N), "changing the %s: correlation %g", names[v], r);
    }
    /* and within one draw the four lanes and neighbouring blocks are not correlated */
    CHECK(fabs(correlation(base, base + 1, N - 1)) < 5.0 / sqrt(N), "neighbouring elements correlate");
    CHECK(fabs(correlation(base, base + 4, N - 4)) < 5.0 / sqrt(N), "neighbouring blocks correlate");
}

/* The kernel's values depend on the element index only: launched by hand with other global and
 * local sizes (one work-item per group of sixteen, extra work-items idle), the output is bit-identical
 * to cn_noise_normal's. */
static void test_launch_shape(cn_runtime *rt) {
    enum { COUNT = 1001 };
    const size_t groups = (COUNT + 15) / 16;
    cn_noise_key k = {.seed = 5, .iteration = 3, .stream = CN_STREAM_MASK, .step = 1};
    float want[COUNT], got[COUNT], host[COUNT];
    double host_double[COUNT];
    device_normal(rt, &k, COUNT, want);
    cn_noise_normal_host(&k, COUNT, host);
    cn_test_to_double(host, host_double, COUNT);
    cn_test_close("cn_noise_normal vs host, launch-shape key", want, host_double, COUNT, HOST_DEVICE_NRMS_TOL,
                  HOST_DEVICE_ABS_TOL);
    const size_t locals[] = {1, 8, 32};
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, COUNT * sizeof(float), "noise", TE));
    for (size_t l = 0; l < sizeof locals / sizeof *locals; l++) {
        size_t global = cn_round_up(groups, locals[l]);
        CHECK_OK(cn_buffer_fill_f32(rt, &b, NAN, 0, COUNT, TE));
        CHECK_OK(CN_RUN(rt, CN_KERNEL_NOISE_NORMAL, 1, &global, &locals[l], TE, CN_MEM(&b), CN_U64(COUNT),
                        CN_U64(k.seed), CN_U32(k.iteration), CN_U32(k.stream), CN_U32(k.step), CN_U64(0)));
        cn_test_download(rt, &b, got, COUNT);
        CHECK(memcmp(got, want, sizeof got) == 0, "local size %zu, global %zu: other values", locals[l], global);
    }
    printf("  launch shapes: local 1, 8, 32 give the same %d values\n", COUNT);
    cn_buffer_free(rt, &b);
}

/* A draw from stream element `first` on is the slice [first, first + count) of the draw from 0,
 * bit for bit on the device and on the host, whatever first % 4 is: a rank holding chains
 * [j, ...) of a data-parallel run sees the noise the single-device run gives those chains. */
static void test_first_element(cn_runtime *rt) {
    enum { COUNT = 203, WHOLE = 1024 };
    cn_noise_key k = {.seed = 11, .iteration = 2, .stream = CN_STREAM_DESCRIPTOR_LANGEVIN, .step = 4};
    float whole[WHOLE], whole_host[WHOLE], got[COUNT], host[COUNT];
    device_normal(rt, &k, WHOLE, whole);
    cn_noise_normal_host(&k, WHOLE, whole_host);
    const uint64_t firsts[] = {1, 2, 3, 4, 15, 16, 17, 784};
    for (size_t i = 0; i < sizeof firsts / sizeof *firsts; i++) {
        k.first = firsts[i];
        device_normal(rt, &k, COUNT, got);
        cn_noise_normal_host(&k, COUNT, host);
        CHECK(memcmp(got, whole + firsts[i], sizeof got) == 0, "device: first %llu is not the slice of the whole draw",
              (unsigned long long)firsts[i]);
        CHECK(memcmp(host, whole_host + firsts[i], sizeof host) == 0,
              "host: first %llu is not the slice of the whole draw", (unsigned long long)firsts[i]);
    }
    k.first = CN_NOISE_MAX_COUNT - 2;
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, 16 * sizeof(float), "noise", TE));
    CHECK(cn_noise_normal(rt, &k, 4, &b, TE) == CN_ERR_ARG, "values past the stream's end accepted");
    cn_buffer_free(rt, &b);
    printf("  first element: draws from 1, 2, 3, 4, 15, 16, 17, 784 are slices of the draw from 0 (device and host)\n");
}

static void test_arguments(cn_runtime *rt) {
    cn_noise_key k = {.seed = 1};
    cn_buffer b;
    CHECK_OK(cn_buffer_alloc(rt, &b, 16 * sizeof(float), "noise", TE));
    CHECK_OK(cn_noise_normal(rt, &k, 0, &b, TE));
    CHECK(cn_noise_normal(rt, &k, 17, &b, TE) == CN_ERR_ARG, "17 values into a buffer of 16 accepted");
    CHECK(strstr(cn_test_error.message, "17") != NULL, "message does not name the count: %s", cn_test_error.message);
    cn_buffer_free(rt, &b);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    test_known_answers(rt);
    test_host_equals_device(rt, 1001);
    test_host_equals_device(rt, 1 << 20);
    test_distribution(rt);
    test_keys_differ();
    test_launch_shape(rt);
    test_first_element(rt);
    test_arguments(rt);
    return cn_test_finish();
}
