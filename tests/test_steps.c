/* The one table of the five steps (cn_coop_steps) and what bench builds on it: the steps in DESIGN
 * §2's order with the net each runs; an iteration equal bit for bit to the table's steps run one by
 * one with profile tags, as bench's profiled iteration runs them; profiled kernels sorted into
 * families by the net of their step. */
#include <stdlib.h>
#include <string.h>

#include "support/cn_test.h"
#include "coopnets/cn_bench.h"
#include "coopnets/cn_data.h"

static void test_table(void) {
    printf("the steps table\n");
    const char *names[] = {"generate", "revise", "update_descriptor", "infer_latent", "update_generator"};
    const int generator[] = {1, 0, 0, 1, 1};
    for (int k = 0; k < CN_COOP_STEP_COUNT; k++) {
        CHECK(strcmp(cn_coop_steps[k].name, names[k]) == 0, "step %d is %s, not %s", k, cn_coop_steps[k].name,
              names[k]);
        CHECK(cn_coop_steps[k].generator == generator[k], "step %s: generator %d", names[k],
              cn_coop_steps[k].generator);
        CHECK(strcmp(cn_bench_tag_name(k + 1), names[k]) == 0, "tag %d is named %s", k + 1, cn_bench_tag_name(k + 1));
    }
    CHECK(strcmp(cn_bench_tag_name(0), "upload") == 0, "tag 0 is named %s", cn_bench_tag_name(0));
    CHECK(strcmp(cn_bench_tag_name(CN_COOP_STEP_COUNT + 1), "upload") == 0, "a tag past the steps is a step");
}

static void test_families(void) {
    printf("kernel families\n");
    const struct {
        const char *name;
        int tag;
        cn_bench_family want;
    } cases[] = {
        {"cn_im2col", 1, CN_FAMILY_DECONV},    {"cn_col2im", 2, CN_FAMILY_CONV},
        {"cn_transpose_2d", 3, CN_FAMILY_CONV}, {"cn_im2col", 4, CN_FAMILY_DECONV},
        {"cn_col2im", 5, CN_FAMILY_DECONV},    {"cn_im2col", 0, CN_FAMILY_CONV},
        {"clblast_sgemm", 2, CN_FAMILY_GEMM},  {"cn_gemm_tile", 5, CN_FAMILY_GEMM},
        {"cn_leaky_relu_forward", 1, CN_FAMILY_ACTIVATION}, {"cn_philox_normal", 1, CN_FAMILY_NOISE},
        {"cn_masked_difference", 4, CN_FAMILY_ELEMENTWISE}, {"write", 0, CN_FAMILY_TRANSFER},
        {"cn_something_new", 2, CN_FAMILY_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cn_bench_family f = cn_bench_family_of(cases[i].name, cases[i].tag);
        CHECK(f == cases[i].want, "%s in tag %d: family %s, want %s", cases[i].name, cases[i].tag,
              cn_bench_families[f].key, cn_bench_families[cases[i].want].key);
    }
}

/* Parameters and Adam moments of both nets, read back. */
static float *state_of(cn_runtime *rt, const cn_coop *coop, size_t *floats) {
    const cn_net *nets[] = {&coop->descriptor, &coop->generator};
    size_t bytes = 0;
    for (int k = 0; k < 2; k++) bytes += 3 * nets[k]->params.bytes;
    float *host = malloc(bytes);
    size_t at = 0;
    for (int k = 0; k < 2; k++) {
        const cn_buffer *state[] = {&nets[k]->params, &nets[k]->adam_m, &nets[k]->adam_v};
        for (int b = 0; b < 3; b++, at += nets[k]->params.bytes)
            CHECK_OK(cn_buffer_read(rt, state[b], 0, (char *)host + at, nets[k]->params.bytes, TE));
    }
    *floats = bytes / sizeof(float);
    return host;
}

static void test_iteration_is_the_table(cn_runtime *rt) {
    printf("an iteration is the table's steps in order\n");
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    cn_dataset d;
    CHECK_OK(cn_dataset_load(&c.data, c.seed, &d, TE));
    const float *batch = d.images; /* the first images as the observed batch */
    cn_coop a, b;
    cn_coop *coops[] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(cn_coop_create(rt, &c, coops[k], TE));
        CHECK_OK(cn_coop_init_weights(rt, coops[k], TE));
        CHECK_OK(cn_coop_set_observed(rt, coops[k], batch, TE));
    }
    for (uint64_t it = 0; it < 2; it++) {
        CHECK_OK(cn_coop_iteration(rt, &a, it, 0, TE));
        for (int s = 0; s < CN_COOP_STEP_COUNT; s++) CHECK_OK(cn_coop_steps[s].run(rt, &b, it, 0, TE));
    }
    size_t na, nb;
    float *sa = state_of(rt, &a, &na), *sb = state_of(rt, &b, &nb);
    CHECK(na == nb && na > 0 && memcmp(sa, sb, na * sizeof *sa) == 0,
          "the iteration and the table's steps left different weights or Adam moments");
    /* the steps did train: the weights moved from their start */
    cn_coop fresh;
    CHECK_OK(cn_coop_create(rt, &c, &fresh, TE));
    CHECK_OK(cn_coop_init_weights(rt, &fresh, TE));
    size_t nf;
    float *sf = state_of(rt, &fresh, &nf);
    CHECK(nf == na && memcmp(sf, sa, na * sizeof *sa) != 0, "two iterations left the state as it started");
    free(sa), free(sb), free(sf);
    cn_coop_free(rt, &fresh);
    cn_coop_free(rt, &a);
    cn_coop_free(rt, &b);
    cn_dataset_free(&d);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    test_table();
    test_families();
    test_iteration_is_the_table(rt);
    return cn_test_finish();
}
