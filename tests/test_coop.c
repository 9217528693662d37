/* The CoopNets iteration end to end on the tiny config: finite losses, each update moving its
 * objective the right way on a fixed batch, checkpoint round trip, reproducibility, and a resumed
 * run equal to an uninterrupted one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/cn_test.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_data.h"

/* A coop of config c with fresh weights and its first observed batch, after `iterations` iterations. */
static void started_coop(cn_runtime *rt, const cn_config *c, cn_coop *coop, uint64_t iterations) {
    CHECK_OK(cn_coop_create(rt, c, coop, TE));
    CHECK_OK(cn_coop_init_weights(rt, coop, TE));
    cn_dataset d;
    CHECK_OK(cn_dataset_load(&c->data, c->seed, &d, TE));
    uint32_t *perm = malloc((size_t)d.count * sizeof *perm);
    float *batch = malloc(coop->batch * coop->image_floats * sizeof *batch);
    cn_dataset_permutation(perm, (size_t)d.count, c->seed, 0);
    cn_dataset_gather(&d, perm, 0, (size_t)c->training.batch_size, batch);
    CHECK_OK(cn_coop_set_observed(rt, coop, batch, TE));
    free(perm);
    free(batch);
    cn_dataset_free(&d);
    for (uint64_t it = 0; it < iterations; it++) CHECK_OK(cn_coop_iteration(rt, coop, it, 0, TE));
}

/* Mean f over the chains and over the observed images, from one forward pass on [Ỹ; X]. */
static void scores(cn_runtime *rt, cn_coop *coop, double *f_rev, double *f_obs) {
    size_t rows = coop->chain_count + coop->batch, outs = cn_net_output_size(&coop->descriptor);
    CHECK_OK(cn_net_forward(rt, &coop->descriptor, rows, &coop->images, TE));
    float *out = malloc(rows * outs * sizeof *out);
    CHECK_OK(cn_buffer_read(rt, cn_net_output(&coop->descriptor), 0, out, rows * outs * sizeof *out, TE));
    *f_rev = *f_obs = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < outs; k++) *(r < coop->chain_count ? f_rev : f_obs) += out[r * outs + k];
    *f_rev /= (double)coop->chain_count;
    *f_obs /= (double)coop->batch;
    free(out);
}

static double reconstruction_loss(cn_runtime *rt, cn_coop *coop) {
    size_t m = coop->chain_count, img = coop->image_floats;
    CHECK_OK(cn_net_forward(rt, &coop->generator, m, &coop->latent, TE));
    float *g = malloc(m * img * sizeof *g), *y = malloc(m * img * sizeof *y);
    CHECK_OK(cn_buffer_read(rt, cn_net_output(&coop->generator), 0, g, m * img * sizeof *g, TE));
    CHECK_OK(cn_buffer_read(rt, &coop->chains, 0, y, m * img * sizeof *y, TE));
    double s = 0;
    for (size_t i = 0; i < m * img; i++) s += ((double)y[i] - g[i]) * ((double)y[i] - g[i]);
    free(g);
    free(y);
    double sigma = coop->config.generator.sigma;
    return s / (double)m / (2 * sigma * sigma);
}

static void test_updates_move_objectives(cn_runtime *rt) {
    printf("descriptor and generator updates on a fixed batch\n");
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    cn_coop coop;
    started_coop(rt, &c, &coop, 3); /* a few iterations first, so the nets are past their all-small start */
    CHECK_OK(cn_coop_generate(rt, &coop, 3, TE));
    CHECK_OK(cn_coop_revise(rt, &coop, 3, 0, TE));
    double rev0, obs0, rev1, obs1;
    scores(rt, &coop, &rev0, &obs0);
    CHECK_OK(cn_coop_update_descriptor(rt, &coop, 0, TE));
    scores(rt, &coop, &rev1, &obs1);
    printf("  f(X) - f(Y~): %.6g -> %.6g\n", obs0 - rev0, obs1 - rev1);
    CHECK(obs1 - rev1 > obs0 - rev0, "descriptor update did not raise f(observed) - f(revised): %g -> %g", obs0 - rev0,
          obs1 - rev1);
    double l0 = reconstruction_loss(rt, &coop);
    CHECK_OK(cn_coop_update_generator(rt, &coop, 0, TE));
    double l1 = reconstruction_loss(rt, &coop);
    printf("  L_G: %.6g -> %.6g\n", l0, l1);
    CHECK(isfinite(l0) && l1 < l0, "generator update did not lower the reconstruction loss: %g -> %g", l0, l1);
    cn_coop_free(rt, &coop);
}

static void read_all(cn_runtime *rt, const cn_net *net, float **out) {
    *out = malloc(3 * net->params.bytes);
    const cn_buffer *b[] = {&net->params, &net->adam_m, &net->adam_v};
    for (int k = 0; k < 3; k++)
        CHECK_OK(cn_buffer_read(rt, b[k], 0, *out + k * (net->params.bytes / sizeof(float)), net->params.bytes, TE));
}

/* With no Langevin step on the latents, step 5 starts from step 1's generator activations: the
 * same bits as computing them again. */
static void test_step5_reuses_step1_forward(cn_runtime *rt) {
    printf("step 5 reusing step 1's generator forward pass\n");
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    c.generator.langevin_steps = 0;
    cn_coop reused, recomputed;
    started_coop(rt, &c, &reused, 2);
    started_coop(rt, &c, &recomputed, 0);
    for (uint64_t it = 0; it < 2; it++) {
        CHECK_OK(cn_coop_generate(rt, &recomputed, it, TE));
        CHECK_OK(cn_coop_revise(rt, &recomputed, it, 0, TE));
        CHECK_OK(cn_coop_update_descriptor(rt, &recomputed, 0, TE));
        CHECK_OK(cn_coop_infer_latent(rt, &recomputed, it, TE));
        recomputed.generator_forward_current = 0;
        CHECK_OK(cn_coop_update_generator(rt, &recomputed, 0, TE));
    }
    float *a, *b;
    read_all(rt, &reused.generator, &a);
    read_all(rt, &recomputed.generator, &b);
    CHECK(memcmp(a, b, 3 * reused.generator.params.bytes) == 0,
          "the generator's weights and Adam state differ when step 5 reuses step 1's forward pass");
    free(a);
    free(b);
    cn_coop_free(rt, &reused);
    cn_coop_free(rt, &recomputed);
}

static void test_checkpoint_round_trip(cn_runtime *rt, const char *dir) {
    printf("checkpoint round trip\n");
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    cn_coop a, b;
    started_coop(rt, &c, &a, 2);
    char path[1100];
    snprintf(path, sizeof path, "%s/round.cnck", dir);
    CHECK_OK(cn_checkpoint_save(rt, &a, 2, path, TE));
    cn_config c2;
    uint64_t it2 = 0;
    CHECK_OK(cn_checkpoint_read_config(path, &c2, &it2, TE));
    CHECK(it2 == 2, "iteration %llu read back, 2 saved", (unsigned long long)it2);
    CHECK(c2.training.chains == c.training.chains && c2.descriptor.layer_count == c.descriptor.layer_count,
          "config read back differs");
    CHECK_OK(cn_coop_create(rt, &c2, &b, TE));
    CHECK_OK(cn_checkpoint_load(rt, &b, path, &it2, TE));
    const cn_net *na[] = {&a.descriptor, &a.generator}, *nb[] = {&b.descriptor, &b.generator};
    for (int k = 0; k < 2; k++) {
        float *x, *y;
        read_all(rt, na[k], &x);
        read_all(rt, nb[k], &y);
        CHECK(memcmp(x, y, 3 * na[k]->params.bytes) == 0, "%s state differs after the round trip", na[k]->name);
        CHECK(na[k]->adam_step == nb[k]->adam_step, "%s Adam step differs", na[k]->name);
        free(x);
        free(y);
    }
    cn_test_flip_byte(path, 200, 0x55);
    cn_status s = cn_checkpoint_load(rt, &b, path, &it2, TE);
    CHECK(s == CN_ERR_FORMAT && strstr(cn_test_error.message, "corrupt"), "corrupt checkpoint not detected: %s",
          cn_test_error.message);
    cn_coop_free(rt, &a);
    cn_coop_free(rt, &b);
}

static void test_resume(cn_runtime *rt, const char *dir) {
    printf("reproducible, and resumed == uninterrupted\n");
    char a[1100], b[1100], c[1100];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    CHECK_OK(cn_test_train_tiny(rt, NULL, 0, a, NULL, 6));
    CHECK_OK(cn_test_train_tiny(rt, NULL, 0, b, NULL, 6));
    /* c stops at 4: its last checkpoint is at 4, a log line at 4 */
    CHECK_OK(cn_test_train_tiny(rt, NULL, 0, c, NULL, 4));
    CHECK_OK(cn_test_train_tiny(rt, NULL, 0, c, c, 6));
    char *la = cn_test_losses_of(a), *lb = cn_test_losses_of(b), *lc = cn_test_losses_of(c);
    printf("%s", la);
    CHECK(strlen(la) > 0 && strcmp(la, lb) == 0, "two runs of the same config differ:\n%s---\n%s", la, lb);
    CHECK(strcmp(la, lc) == 0, "resumed run differs from the uninterrupted one:\n%s---\n%s", la, lc);
    CHECK(strstr(la, "null") == NULL && strstr(la, "nan") == NULL, "non-finite losses:\n%s", la);
    char path[1200];
    snprintf(path, sizeof path, "%s/samples/revised-000006.png", a);
    CHECK(access(path, R_OK) == 0, "no sample grid %s", path);
    snprintf(path, sizeof path, "%s/checkpoints/ckpt-000006.cnck", a);
    CHECK(access(path, R_OK) == 0, "no checkpoint %s", path);
    snprintf(path, sizeof path, "%s/losses.png", a);
    CHECK(access(path, R_OK) == 0, "no loss curve %s", path);
    free(la);
    free(lb);
    free(lc);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    char dir[] = "/tmp/cn_test_coop.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_updates_move_objectives(rt);
    test_step5_reuses_step1_forward(rt);
    test_checkpoint_round_trip(rt, dir);
    test_resume(rt, dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!cn_test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return cn_test_finish();
}
