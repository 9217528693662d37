/* The training modes on the tiny config: Algorithm D (chains from noise, persistent chains) and
 * Algorithm G (latent vectors kept across epochs) train with finite losses, log null for the net
 * they do not train, and resume equal to an uninterrupted run; their state is in the checkpoint;
 * chains start from N(0, s² I); version 1 checkpoints still load; mismatches (data size, a net of
 * the other mode) are clear errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coopnets/cn_algorithms.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_noise.h"
#include "support/cn_test.h"

typedef struct mode_case {
    const char *name;
    const char *sets[3];
    const char *present[4], *absent[4]; /* metrics keys with numbers, and with null */
} mode_case;

/* limit 32 with batch 16: two iterations an epoch, so six iterations reuse each h_i and chain. */
static const mode_case cases[] = {
    {"descriptor-noise", {"mode=descriptor", "descriptor.chain_init=noise", "data.limit=32"},
     {"\"loss_d\":", "\"f_observed\":", "\"grad_f_norm\":"}, {"\"loss_g\":null"}},
    {"descriptor-persistent", {"mode=descriptor", "descriptor.chain_init=persistent", "data.limit=32"},
     {"\"loss_d\":", "\"f_revised\":"}, {"\"loss_g\":null"}},
    {"generator", {"mode=generator", "data.limit=32", "generator.optimizer.lr=0.003"},
     {"\"loss_g\":"}, {"\"loss_d\":null", "\"f_observed\":null", "\"f_revised\":null", "\"grad_f_norm\":null"}},
};

static void config_of(const mode_case *m, cn_config *c) { cn_test_tiny_config(m->sets, 3, c); }

static void test_mode_trains_and_resumes(cn_runtime *rt, const mode_case *m, const char *dir) {
    printf("%s: finite losses, resumed == uninterrupted\n", m->name);
    char a[1100], b[1100], path[1200];
    snprintf(a, sizeof a, "%s/%s-a", dir, m->name);
    snprintf(b, sizeof b, "%s/%s-b", dir, m->name);
    CHECK_OK(cn_test_train_tiny(rt, m->sets, 3, a, NULL, 6));
    CHECK_OK(cn_test_train_tiny(rt, m->sets, 3, b, NULL, 4));
    CHECK_OK(cn_test_train_tiny(rt, m->sets, 3, b, b, 6));
    char *la = cn_test_losses_of(a), *lb = cn_test_losses_of(b);
    printf("%s", la);
    CHECK(strlen(la) > 0 && strcmp(la, lb) == 0, "%s: resumed run differs from the uninterrupted one:\n%s---\n%s",
          m->name, la, lb);
    CHECK(strstr(la, "nan") == NULL && strstr(la, "inf") == NULL, "%s: non-finite numbers:\n%s", m->name, la);
    for (int k = 0; k < 4 && m->present[k]; k++) {
        const char *at = strstr(la, m->present[k]);
        CHECK(at && strncmp(at + strlen(m->present[k]), "null", 4) != 0, "%s: no number for %s:\n%s", m->name,
              m->present[k], la);
    }
    for (int k = 0; k < 4 && m->absent[k]; k++)
        CHECK(strstr(la, m->absent[k]) != NULL, "%s: %s expected (the net is not trained):\n%s", m->name, m->absent[k], la);
    int generator = strcmp(m->name, "generator") == 0;
    snprintf(path, sizeof path, "%s/samples/%s-000006.png", a, generator ? "generated" : "revised");
    CHECK(access(path, R_OK) == 0, "no sample grid %s", path);
    snprintf(path, sizeof path, "%s/samples/%s-000006.png", a, generator ? "revised" : "generated");
    CHECK(access(path, R_OK) != 0, "%s written for a net the mode does not train", path);
    free(la);
    free(lb);
}

/* The latent vectors of Algorithm G change with training and are what the checkpoint restores. */
static void test_latents_in_checkpoint(cn_runtime *rt, const char *dir) {
    printf("generator: latent vectors kept and checkpointed\n");
    const mode_case *m = &cases[2];
    char path[1200];
    snprintf(path, sizeof path, "%s/generator-a/checkpoints/ckpt-000006.cnck", dir);
    cn_config c;
    config_of(m, &c);
    cn_coop fresh, loaded;
    CHECK_OK(cn_coop_create(rt, &c, &fresh, TE));
    CHECK_OK(cn_coop_create(rt, &c, &loaded, TE));
    CHECK(fresh.descriptor.layer_count == 0, "mode generator built a descriptor");
    CHECK_OK(cn_algorithm_prepare(rt, &fresh, 32, TE));
    CHECK_OK(cn_algorithm_prepare(rt, &loaded, 32, TE));
    uint64_t it = 0;
    CHECK_OK(cn_checkpoint_load(rt, &loaded, path, &it, TE));
    size_t floats = 32 * fresh.latent_floats, changed = 0;
    for (size_t i = 0; i < floats; i++) changed += fresh.latents[i] != loaded.latents[i];
    printf("  %zu of %zu latent values moved from their N(0, I) start in 6 iterations\n", changed, floats);
    CHECK(it == 6 && changed == floats, "the checkpoint's latents: %zu of %zu differ from the start", changed, floats);
    /* a data set of another size is refused in words */
    CHECK_OK(cn_algorithm_prepare(rt, &loaded, 48, TE));
    cn_status s = cn_checkpoint_load(rt, &loaded, path, &it, TE);
    CHECK(s == CN_ERR_FORMAT && strstr(cn_test_error.message, "latent vectors for 32 images"),
          "latents for another data size accepted: %s", cn_test_error.message);
    /* the one net of a descriptor-mode checkpoint is not this mode's one net */
    char other[1200];
    snprintf(other, sizeof other, "%s/descriptor-noise-a/checkpoints/ckpt-000006.cnck", dir);
    s = cn_checkpoint_load(rt, &loaded, other, &it, TE);
    CHECK(s == CN_ERR_FORMAT && strstr(cn_test_error.message, "net \"descriptor\" does not match mode \"generator\""),
          "a descriptor loaded into a generator: %s", cn_test_error.message);
    /* sampling from it works without the latents */
    cn_coop_free(rt, &loaded);
    CHECK_OK(cn_coop_create(rt, &c, &loaded, TE));
    CHECK_OK(cn_checkpoint_load(rt, &loaded, path, &it, TE));
    float *img = malloc(fresh.image_floats * sizeof *img);
    CHECK_OK(cn_coop_sample(rt, &loaded, 1, 1, 0, img, NULL, TE));
    CHECK(isfinite(img[0]), "sample from a generator-mode checkpoint is not finite");
    free(img);
    cn_coop_free(rt, &fresh);
    cn_coop_free(rt, &loaded);
}

static void test_descriptor_mode_model(cn_runtime *rt, const char *dir) {
    printf("descriptor: no generator, persistent chains checkpointed\n");
    char path[1200];
    snprintf(path, sizeof path, "%s/descriptor-persistent-a/checkpoints/ckpt-000006.cnck", dir);
    cn_config c;
    uint64_t it;
    CHECK_OK(cn_checkpoint_read_config(path, &c, &it, TE));
    cn_coop coop;
    CHECK_OK(cn_coop_create(rt, &c, &coop, TE));
    CHECK(coop.generator.layer_count == 0, "mode descriptor built a generator");
    CHECK_OK(cn_checkpoint_load(rt, &coop, path, &it, TE));
    size_t count = coop.chain_count * coop.image_floats;
    float *chains = malloc(count * sizeof *chains), *start = malloc(count * sizeof *start);
    CHECK_OK(cn_buffer_read(rt, &coop.chains, 0, chains, count * sizeof *chains, TE));
    CHECK_OK(cn_algorithm_init_chains(rt, &coop, 0, TE));
    CHECK_OK(cn_buffer_read(rt, &coop.chains, 0, start, count * sizeof *start, TE));
    size_t moved = 0;
    for (size_t i = 0; i < count; i++) moved += chains[i] != start[i];
    CHECK(moved == count, "the checkpoint's chains: %zu of %zu moved from their start", moved, count);
    /* loaded, then saved again: the same bytes (chains included) */
    char again[1200];
    snprintf(again, sizeof again, "%s/again.cnck", dir);
    CHECK_OK(cn_buffer_write(rt, &coop.chains, 0, chains, count * sizeof *chains, TE));
    CHECK_OK(cn_checkpoint_save(rt, &coop, it, again, TE));
    char cmp[2600];
    snprintf(cmp, sizeof cmp, "cmp -s '%s' '%s'", path, again);
    CHECK(system(cmp) == 0, "%s loaded and saved again differs from %s", again, path);
    float one;
    cn_status s = cn_coop_sample(rt, &coop, 1, 1, 0, &one, NULL, TE);
    CHECK(s == CN_ERR_ARG && strstr(cn_test_error.message, "no generator"), "sampling without a generator: %s",
          cn_test_error.message);
    /* a checkpoint of another mode does not load into this one */
    snprintf(path, sizeof path, "%s/generator-a/checkpoints/ckpt-000006.cnck", dir);
    s = cn_checkpoint_load(rt, &coop, path, &it, TE);
    CHECK(s == CN_ERR_FORMAT && strstr(cn_test_error.message, "generator"), "a generator-mode checkpoint loaded: %s",
          cn_test_error.message);
    free(chains);
    free(start);
    cn_coop_free(rt, &coop);
}

/* Chains from noise are s·ε with ε the Philox normals of (seed, iteration, CN_STREAM_CHAINS_INIT). */
static void test_chain_init(cn_runtime *rt) {
    printf("chains start from N(0, s^2 I)\n");
    cn_config c;
    config_of(&cases[0], &c);
    cn_coop coop;
    CHECK_OK(cn_coop_create(rt, &c, &coop, TE));
    size_t count = coop.chain_count * coop.image_floats;
    float *got = malloc(count * sizeof *got), *eps = malloc(count * sizeof *eps);
    double *want = malloc(count * sizeof *want);
    CHECK_OK(cn_algorithm_init_chains(rt, &coop, 7, TE));
    CHECK_OK(cn_buffer_read(rt, &coop.chains, 0, got, count * sizeof *got, TE));
    cn_noise_key key = {c.seed, 7, CN_STREAM_CHAINS_INIT, 0, 0};
    cn_noise_normal_host(&key, count, eps);
    double s = c.descriptor.refsig;
    for (size_t i = 0; i < count; i++) want[i] = s * eps[i];
    /* host and device normals agree to ~1e-6 absolute (cn_noise.h), times s */
    cn_test_close("chains = s * Philox normals", got, want, count, 1e-5, 1e-6 * s * 4);
    free(got), free(eps), free(want);
    cn_coop_free(rt, &coop);
}

static uint64_t fnv(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Rewrites a checkpoint's version field (and its checksum). */
static void set_version(const char *from, const char *to, uint32_t version) {
    FILE *f = fopen(from, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *data = malloc((size_t)size);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size, "cannot read %s", from);
    fclose(f);
    memcpy(data + 8, &version, 4);
    uint64_t h = fnv(data, (size_t)size - 8);
    memcpy(data + size - 8, &h, 8);
    f = fopen(to, "wb");
    fwrite(data, 1, (size_t)size, f);
    fclose(f);
    free(data);
}

/* A coop-mode checkpoint of format 2 is a version 1 file but for the version field: both load. */
static void test_version_1_reads(cn_runtime *rt, const char *dir) {
    printf("checkpoint format versions\n");
    cn_config c;
    cn_test_tiny_config(NULL, 0, &c);
    cn_coop a, b;
    CHECK_OK(cn_coop_create(rt, &c, &a, TE));
    CHECK_OK(cn_coop_init_weights(rt, &a, TE));
    CHECK_OK(cn_coop_create(rt, &c, &b, TE));
    char path[1100], v1[1100], v3[1100];
    snprintf(path, sizeof path, "%s/coop.cnck", dir);
    snprintf(v1, sizeof v1, "%s/coop-v1.cnck", dir);
    snprintf(v3, sizeof v3, "%s/coop-v3.cnck", dir);
    CHECK_OK(cn_checkpoint_save(rt, &a, 5, path, TE));
    set_version(path, v1, 1);
    set_version(path, v3, 3);
    uint64_t it = 0;
    CHECK_OK(cn_checkpoint_load(rt, &b, v1, &it, TE));
    float *x = malloc(a.generator.params.bytes), *y = malloc(a.generator.params.bytes);
    CHECK_OK(cn_buffer_read(rt, &a.generator.params, 0, x, a.generator.params.bytes, TE));
    CHECK_OK(cn_buffer_read(rt, &b.generator.params, 0, y, b.generator.params.bytes, TE));
    CHECK(it == 5 && memcmp(x, y, a.generator.params.bytes) == 0, "a version 1 file loaded differently");
    cn_status s = cn_checkpoint_load(rt, &b, v3, &it, TE);
    CHECK(s == CN_ERR_FORMAT && strstr(cn_test_error.message, "version 3"), "version 3 accepted: %s",
          cn_test_error.message);
    free(x), free(y);
    cn_coop_free(rt, &a);
    cn_coop_free(rt, &b);
}

int main(void) {
    cn_runtime *rt = cn_test_runtime();
    char dir[] = "/tmp/cn_test_algorithms.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) test_mode_trains_and_resumes(rt, &cases[i], dir);
    test_latents_in_checkpoint(rt, dir);
    test_descriptor_mode_model(rt, dir);
    test_chain_init(rt);
    test_version_1_reads(rt, dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!cn_test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return cn_test_finish();
}
