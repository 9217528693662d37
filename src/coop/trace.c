/* The test-only trace of a training run (COOPNETS_TRACE; see cn_trace.h). */
#include "coopnets/cn_trace.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_noise.h"
#include "coopnets/cn_util.h"

static size_t most(size_t a, size_t b) { return a > b ? a : b; }

/* NumPy's .npy version 1.0: magic, version, header length, a dict padded so the data starts at a
 * multiple of 64 bytes, then the float32 data in C order. */
static cn_status write_npy(const char *path, const float *data, const size_t *shape, int dims, cn_error *e) {
    const unsigned probe = 1;
    int little = *(const unsigned char *)&probe == 1;
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '%sf4', 'fortran_order': False, 'shape': (", little ? "<" : ">");
    size_t count = 1;
    for (int i = 0; i < dims; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%zu,%s", shape[i], i + 1 < dims ? " " : "");
        count *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    size_t header = 10 + (size_t)len + 1, padded = (header + 63) / 64 * 64;
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((padded - 10) & 0xff),
                              (unsigned char)((padded - 10) >> 8)};
    char pad[64];
    memset(pad, ' ', sizeof pad);
    cn_atomic_file f;
    CN_TRY(cn_atomic_open(&f, path, "trace", e));
    cn_atomic_write(&f, head, sizeof head);
    cn_atomic_write(&f, dict, (size_t)len);
    cn_atomic_write(&f, pad, padded - header);
    cn_atomic_write(&f, "\n", 1);
    cn_atomic_write(&f, data, count * sizeof(float));
    return cn_atomic_commit(&f, e);
}

static cJSON *net_layout(const cn_net *net) {
    cJSON *o = cJSON_CreateObject(), *tensors = cJSON_AddArrayToObject(o, "tensors");
    cJSON_AddNumberToObject(o, "floats", (double)(net->params.bytes / sizeof(float)));
    for (int i = 0; i < net->tensor_count; i++) {
        const cn_tensor_info *ti = &net->tensors[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", ti->name);
        cJSON_AddItemToObject(t, "shape", cJSON_CreateIntArray(ti->shape, ti->dims));
        cJSON_AddNumberToObject(t, "offset", (double)ti->offset);
        cJSON_AddNumberToObject(t, "count", (double)ti->count);
        cJSON_AddItemToArray(tensors, t);
    }
    return o;
}

static cn_status write_layout(const cn_coop *coop, const cn_trace *t, cn_error *e) {
    char path[CN_PATH_MAX + 32], *config = cn_config_to_json(&coop->config);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "format", 1);
    cJSON_AddItemToObject(doc, "config", config ? cJSON_Parse(config) : NULL);
    cJSON_AddItemToObject(doc, "descriptor", net_layout(&coop->descriptor));
    cJSON_AddItemToObject(doc, "generator", net_layout(&coop->generator));
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    free(config);
    if (!text) return cn_error_set(e, CN_ERR_NOMEM, "out of memory writing the trace's layout");
    snprintf(path, sizeof path, "%s/layout.json", t->dir);
    cn_status s = cn_atomic_write_file(path, "trace", text, strlen(text), e);
    free(text);
    return s;
}

/* Reads `floats` of b and writes them to folder/name.npy with the given shape. */
static cn_status write_buffer(cn_runtime *rt, const cn_trace *t, const cn_buffer *b, const char *folder,
                              const char *name, const size_t *shape, int dims, cn_error *e) {
    size_t floats = 1;
    for (int i = 0; i < dims; i++) floats *= shape[i];
    char path[CN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.npy", folder, name);
    CN_TRY(cn_buffer_read(rt, b, 0, t->host, floats * sizeof(float), e));
    return write_npy(path, t->host, shape, dims, e);
}

/* Both nets' parameter vectors (descriptor.npy, generator.npy) and, after an iteration, the
 * gradients of their last updates (descriptor_gradient.npy, generator_gradient.npy). */
static cn_status write_nets(cn_runtime *rt, const cn_coop *coop, const cn_trace *t, const char *folder,
                            int gradients, cn_error *e) {
    const cn_net *nets[] = {&coop->descriptor, &coop->generator};
    char name[48];
    for (int k = 0; k < 2; k++) {
        size_t floats = nets[k]->params.bytes / sizeof(float);
        CN_TRY(write_buffer(rt, t, &nets[k]->params, folder, nets[k]->name, &floats, 1, e));
        snprintf(name, sizeof name, "%s_gradient", nets[k]->name);
        if (gradients) CN_TRY(write_buffer(rt, t, &nets[k]->grads, folder, name, &floats, 1, e));
    }
    return CN_OK;
}

/* One draw per step of `steps`, each `count` floats under key (iteration, stream, step), stacked. */
static cn_status write_draws(cn_runtime *rt, const cn_coop *coop, cn_trace *t, const char *path, uint64_t iteration,
                             uint32_t stream, int steps, size_t count, const size_t *shape, int dims, cn_error *e) {
    for (int step = 0; step < steps; step++) {
        /* the keys of cn_coop_generate, descriptor_langevin and cn_coop_infer_latent_on (coopnets.c) */
        cn_noise_key key = {coop->config.seed, (uint32_t)iteration, stream, (uint32_t)step, 0};
        CN_TRY(cn_noise_normal(rt, &key, count, &t->scratch, e));
        CN_TRY(cn_buffer_read(rt, &t->scratch, 0, t->host + (size_t)step * count, count * sizeof(float), e));
    }
    return write_npy(path, t->host, shape, dims, e);
}

cn_status cn_trace_open(cn_runtime *rt, const cn_coop *coop, uint64_t start, cn_trace *t, cn_error *e) {
    memset(t, 0, sizeof *t);
    const char *dir = getenv("COOPNETS_TRACE");
    if (!dir || !*dir) return CN_OK;
    const cn_config *c = &coop->config;
    if (c->mode != CN_MODE_COOP || cn_dist_size(coop->dist) != 1 || start != 0)
        return cn_error_set(e, CN_ERR_CONFIG,
                            "COOPNETS_TRACE=%s: traces only a run of mode \"coop\" on one rank from its first "
                            "iteration (this one: mode \"%s\", %d ranks, starting at %llu)",
                            dir, cn_mode_name(c->mode), cn_dist_size(coop->dist), (unsigned long long)start);
    if (strlen(dir) + 32 > sizeof t->dir)
        return cn_error_set(e, CN_ERR_ARG, "COOPNETS_TRACE: the folder name is too long (%zu characters)", strlen(dir));
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    size_t m = coop->chain_count, img = coop->image_floats, lat = coop->latent_floats;
    size_t host_floats = most(coop->batch * img, m * lat);
    host_floats = most(host_floats, (size_t)c->descriptor.langevin_steps * m * img);
    host_floats = most(host_floats, (size_t)c->generator.langevin_steps * m * lat);
    host_floats = most(host_floats, most(coop->descriptor.params.bytes, coop->generator.params.bytes) / sizeof(float));
    if (!(t->host = malloc(host_floats * sizeof(float))))
        return cn_error_set(e, CN_ERR_NOMEM, "COOPNETS_TRACE: out of memory (%zu floats)", host_floats);
    t->on = 1;
    CN_TRY(cn_buffer_alloc(rt, &t->scratch, most(m * img, m * lat) * sizeof(float), "the trace's draws", e));
    char folder[CN_PATH_MAX + 16];
    snprintf(folder, sizeof folder, "%s/000000", t->dir);
    CN_TRY(cn_make_dirs(folder, e));
    CN_TRY(write_layout(coop, t, e));
    return write_nets(rt, coop, t, folder, 0, e);
}

cn_status cn_trace_iteration(cn_runtime *rt, const cn_coop *coop, cn_trace *t, uint64_t iteration,
                             const float *observed, cn_error *e) {
    if (!t->on) return CN_OK;
    const cn_config *c = &coop->config;
    size_t m = coop->chain_count, n = coop->batch, img = coop->image_floats, lat = coop->latent_floats;
    size_t ch = (size_t)c->data.channels, side = (size_t)c->data.image_size;
    size_t lc = (size_t)c->generator.latent_channels, ls = (size_t)c->generator.latent_size;
    size_t ld = (size_t)c->descriptor.langevin_steps, lg = (size_t)c->generator.langevin_steps;
    char folder[CN_PATH_MAX + 16], path[CN_PATH_MAX + 64];
    snprintf(folder, sizeof folder, "%s/%06llu", t->dir, (unsigned long long)(iteration + 1));
    CN_TRY(cn_make_dirs(folder, e));
    snprintf(path, sizeof path, "%s/observed.npy", folder);
    CN_TRY(write_npy(path, observed, (size_t[]){n, ch, side, side}, 4, e));
    snprintf(path, sizeof path, "%s/latent.npy", folder);
    CN_TRY(write_draws(rt, coop, t, path, iteration, CN_STREAM_LATENT, 1, m * lat, (size_t[]){m, lc, ls, ls}, 4, e));
    if (c->descriptor.langevin_noise && ld > 0) {
        snprintf(path, sizeof path, "%s/descriptor_noise.npy", folder);
        CN_TRY(write_draws(rt, coop, t, path, iteration, CN_STREAM_DESCRIPTOR_LANGEVIN, (int)ld, m * img,
                           (size_t[]){ld, m, ch, side, side}, 5, e));
    }
    if (c->generator.langevin_noise && lg > 0) {
        snprintf(path, sizeof path, "%s/generator_noise.npy", folder);
        CN_TRY(write_draws(rt, coop, t, path, iteration, CN_STREAM_GENERATOR_LANGEVIN, (int)lg, m * lat,
                           (size_t[]){lg, m, lc, ls, ls}, 5, e));
    }
    /* what steps 2 and 4 left: the revised chains and the latent vectors after inference */
    CN_TRY(write_buffer(rt, t, &coop->chains, folder, "revised", (size_t[]){m, ch, side, side}, 4, e));
    CN_TRY(write_buffer(rt, t, &coop->latent, folder, "inferred_latent", (size_t[]){m, lc, ls, ls}, 4, e));
    return write_nets(rt, coop, t, folder, 1, e);
}

void cn_trace_close(cn_runtime *rt, cn_trace *t) {
    cn_buffer_free(rt, &t->scratch);
    free(t->host);
    memset(t, 0, sizeof *t);
}
