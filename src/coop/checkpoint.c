/* Checkpoint save/load (format in include/coopnets/cn_checkpoint.h). */
#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC "CNCKPT01"
/* 2: the nets listed in the header are those the mode trains (1 or 2), and optional arrays follow
 * them. A version 1 file (always both nets, no arrays) reads the same way. */
#define VERSION 2u
#define OLDEST_VERSION 1u


/* ---- writing ---------------------------------------------------------------------------------- */

typedef struct writer {
    cn_atomic_file file;
    uint64_t hash;
} writer;

static void put(writer *w, const void *data, size_t n) {
    if (cn_atomic_write(&w->file, data, n)) w->hash = cn_fnv1a(w->hash, data, n);
}

static cJSON *net_json(const cn_net *net) {
    cJSON *o = cJSON_CreateObject(), *tensors = cJSON_AddArrayToObject(o, "tensors");
    cJSON_AddStringToObject(o, "name", net->name);
    cJSON_AddNumberToObject(o, "adam_step", (double)net->adam_step);
    for (int t = 0; t < net->tensor_count; t++) {
        const cn_tensor_info *ti = &net->tensors[t];
        cJSON *tj = cJSON_CreateObject();
        cJSON_AddStringToObject(tj, "name", ti->name);
        cJSON_AddItemToObject(tj, "shape", cJSON_CreateIntArray(ti->shape, ti->dims));
        cJSON_AddItemToArray(tensors, tj);
    }
    return o;
}

/* The net's three state buffers, read to host (padded layout). */
static cn_status read_state(cn_runtime *rt, const cn_net *net, float **out, cn_error *e) {
    size_t floats = net->params.bytes / sizeof(float);
    float *host = malloc(3 * net->params.bytes);
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory saving the %s", net->name);
    const cn_buffer *bufs[] = {&net->params, &net->adam_m, &net->adam_v};
    for (int k = 0; k < 3; k++) {
        cn_status s = cn_buffer_read(rt, bufs[k], 0, host + k * floats, net->params.bytes, e);
        if (s != CN_OK) {
            free(host);
            return s;
        }
    }
    /* A diverged run is not saved: the divergence guard rolls back to the newest checkpoint, which
     * must hold finite weights. */
    for (int k = 0; k < 3; k++)
        for (int t = 0; t < net->tensor_count; t++) {
            const float *x = host + k * floats + net->tensors[t].offset;
            for (size_t i = 0; i < net->tensors[t].count; i++)
                if (!isfinite(x[i])) {
                    free(host);
                    return cn_error_set(e, CN_ERR_DIVERGED, "the %s's %s hold NaN or Inf (%s): not saving a checkpoint",
                                        net->name, k == 0 ? "parameters" : "Adam moments", net->tensors[t].name);
                }
        }
    *out = host;
    return CN_OK;
}

/* An optional array of the training state: Algorithm G's latent vectors, persistent chains. */
typedef struct array {
    const char *name;
    size_t rows, cols;
    float *host;
    int owned; /* host was read from the device for this save */
} array;

static cn_status arrays_of(cn_runtime *rt, const cn_coop *coop, array *out, int *count, cn_error *e) {
    *count = 0;
    if (coop->latents) out[(*count)++] = (array){"latents", coop->latent_count, coop->latent_floats, coop->latents, 0};
    if (cn_coop_persistent_chains(coop)) {
        if (cn_dist_size(coop->dist) > 1) { /* split over the ranks: cn_coop_prepare_save gathered them */
            if (!coop->gathered_chains)
                return cn_error_set(e, CN_ERR_ARG, "the chains of the other ranks were not gathered for the checkpoint");
            out[(*count)++] = (array){"chains", coop->chains_total, coop->image_floats, coop->gathered_chains, 0};
            return CN_OK;
        }
        size_t bytes = coop->chain_count * coop->image_floats * sizeof(float);
        array *a = &out[(*count)++];
        *a = (array){"chains", coop->chain_count, coop->image_floats, malloc(bytes), 1};
        if (!a->host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory saving the chains");
        return cn_buffer_read(rt, &coop->chains, 0, a->host, bytes, e);
    }
    return CN_OK;
}

cn_status cn_checkpoint_save(cn_runtime *rt, const cn_coop *coop, uint64_t iteration, const char *path, cn_error *e) {
    const cn_net *nets[2];
    int net_count = 0, array_count = 0;
    if (coop->descriptor.layer_count) nets[net_count++] = &coop->descriptor;
    if (coop->generator.layer_count) nets[net_count++] = &coop->generator;
    float *state[2] = {NULL, NULL};
    array arrays[2];
    cn_status s = arrays_of(rt, coop, arrays, &array_count, e);
    for (int i = 0; i < net_count && s == CN_OK; i++) s = read_state(rt, nets[i], &state[i], e);
    char *config_json = s == CN_OK ? cn_config_to_json(&coop->config) : NULL;
    cJSON *header = cJSON_CreateObject();
    cJSON_AddNumberToObject(header, "iteration", (double)iteration);
    cJSON *config = config_json ? cJSON_Parse(config_json) : NULL;
    free(config_json);
    char *text = NULL;
    if (s == CN_OK && !config) s = cn_error_set(e, CN_ERR_NOMEM, "cannot serialise the config for %s", path);
    if (s == CN_OK) {
        cJSON_AddItemToObject(header, "config", config);
        cJSON *arr = cJSON_AddArrayToObject(header, "nets");
        for (int i = 0; i < net_count; i++) cJSON_AddItemToArray(arr, net_json(nets[i]));
        cJSON *extra = array_count ? cJSON_AddArrayToObject(header, "arrays") : NULL;
        for (int i = 0; i < array_count; i++) {
            cJSON *aj = cJSON_CreateObject();
            int shape[2] = {(int)arrays[i].rows, (int)arrays[i].cols};
            cJSON_AddStringToObject(aj, "name", arrays[i].name);
            cJSON_AddItemToObject(aj, "shape", cJSON_CreateIntArray(shape, 2));
            cJSON_AddItemToArray(extra, aj);
        }
        text = cJSON_PrintUnformatted(header);
        if (!text) s = cn_error_set(e, CN_ERR_NOMEM, "out of memory writing %s", path);
    }
    cJSON_Delete(header);
    writer w = {.hash = CN_FNV1A_START};
    if (s == CN_OK) s = cn_atomic_open(&w.file, path, "checkpoint", e);
    if (s == CN_OK) {
        uint32_t version = VERSION, header_len = (uint32_t)strlen(text);
        put(&w, MAGIC, 8);
        put(&w, &version, 4);
        put(&w, &header_len, 4);
        put(&w, text, header_len);
        for (int i = 0; i < net_count; i++) {
            size_t floats = nets[i]->params.bytes / sizeof(float);
            for (int k = 0; k < 3; k++)
                for (int t = 0; t < nets[i]->tensor_count; t++) {
                    const cn_tensor_info *ti = &nets[i]->tensors[t];
                    put(&w, state[i] + k * floats + ti->offset, ti->count * sizeof(float));
                }
        }
        for (int i = 0; i < array_count; i++) put(&w, arrays[i].host, arrays[i].rows * arrays[i].cols * sizeof(float));
        uint64_t hash = w.hash;
        put(&w, &hash, 8);
        if ((s = cn_atomic_commit(&w.file, e)) != CN_OK) cn_error_append(e, " (the previous checkpoints are intact)");
    }
    free(text);
    free(state[0]);
    free(state[1]);
    for (int i = 0; i < array_count; i++)
        if (arrays[i].owned) free(arrays[i].host);
    return s;
}

/* ---- reading ---------------------------------------------------------------------------------- */

typedef struct loaded {
    unsigned char *data;
    size_t size;
    cJSON *header;
    size_t payload; /* offset of the tensor data */
} loaded;

static cn_status read_whole_file(const char *path, loaded *l, cn_error *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return cn_error_set(e, CN_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 24) {
        fclose(f);
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is truncated (%lld bytes)", path, (long long)st.st_size);
    }
    l->size = (size_t)st.st_size;
    l->data = malloc(l->size);
    if (!l->data) {
        fclose(f);
        return cn_error_set(e, CN_ERR_NOMEM, "out of memory reading checkpoint %s", path);
    }
    size_t got = fread(l->data, 1, l->size, f);
    fclose(f);
    return got == l->size ? CN_OK : cn_error_set(e, CN_ERR_IO, "cannot read checkpoint %s", path);
}

/* Rank 0 reads the file and sends its bytes to the other ranks, which need not see the file. */
static cn_status receive_file(cn_dist *dist, const char *path, loaded *l, cn_error *e) {
    cn_status s = cn_dist_rank(dist) == 0 ? read_whole_file(path, l, e) : CN_OK;
    CN_TRY(cn_dist_share_outcome(dist, s, "sharing the checkpoint", e));
    if (cn_dist_size(dist) == 1) return CN_OK;
    uint64_t size = l->size;
    CN_TRY(cn_dist_broadcast(dist, &size, sizeof size, "sharing the checkpoint's size", e));
    if (cn_dist_rank(dist) != 0) {
        l->size = (size_t)size;
        if (!(l->data = malloc(l->size ? l->size : 1)))
            s = cn_error_set(e, CN_ERR_NOMEM, "out of memory receiving checkpoint %s", path);
    }
    double failed = s != CN_OK; /* a rank that cannot hold the bytes must not leave rank 0 sending */
    cn_status shared = cn_dist_max_doubles(dist, &failed, 1, "receiving the checkpoint", s == CN_OK ? e : NULL);
    if (s != CN_OK || shared != CN_OK) return s != CN_OK ? s : shared;
    if (failed) return cn_error_set(e, CN_ERR_PEER, "another rank ran out of memory receiving checkpoint %s", path);
    return cn_dist_broadcast(dist, l->data, l->size, "sharing the checkpoint", e);
}

/* The file's bytes (from rank 0 in a data-parallel job), checked: magic, version, checksum, header. */
static cn_status load_file(cn_dist *dist, const char *path, loaded *l, cn_error *e) {
    memset(l, 0, sizeof *l);
    CN_TRY(receive_file(dist, path, l, e));
    if (memcmp(l->data, MAGIC, 8) != 0) return cn_error_set(e, CN_ERR_FORMAT, "%s is not a coopnets_cl checkpoint", path);
    uint32_t version, header_len;
    memcpy(&version, l->data + 8, 4);
    memcpy(&header_len, l->data + 12, 4);
    if (version < OLDEST_VERSION || version > VERSION)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s has format version %u; this build reads versions %u to %u",
                            path, version, OLDEST_VERSION, VERSION);
    uint64_t stored;
    memcpy(&stored, l->data + l->size - 8, 8);
    if (cn_fnv1a(CN_FNV1A_START, l->data, l->size - 8) != stored)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is corrupt (checksum mismatch)", path);
    if ((size_t)header_len > l->size - 24)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is corrupt (header length)", path);
    l->header = cJSON_ParseWithLength((const char *)l->data + 16, header_len);
    if (!l->header) return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is corrupt (header is not JSON)", path);
    l->payload = 16 + header_len;
    return CN_OK;
}

static void loaded_free(loaded *l) {
    cJSON_Delete(l->header);
    free(l->data);
}

static cn_status header_config(const char *path, const loaded *l, cn_config *c, uint64_t *iteration, cn_error *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(l->header, "iteration");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(l->header, "config");
    if (!cJSON_IsNumber(it) || !cJSON_IsObject(config))
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: header lacks iteration or config", path);
    *iteration = (uint64_t)it->valuedouble;
    char *text = cJSON_PrintUnformatted(config);
    if (!text) return cn_error_set(e, CN_ERR_NOMEM, "out of memory");
    char source[CN_PATH_MAX + 16];
    snprintf(source, sizeof source, "%s (checkpoint)", path);
    cn_status s = cn_config_parse(text, source, NULL, 0, c, e);
    free(text);
    return s;
}

cn_status cn_checkpoint_read_config(const char *path, cn_config *c, uint64_t *iteration, cn_error *e) {
    return cn_checkpoint_read_config_on(NULL, path, c, iteration, e);
}

cn_status cn_checkpoint_read_config_on(cn_dist *dist, const char *path, cn_config *c, uint64_t *iteration,
                                       cn_error *e) {
    loaded l;
    cn_status s = load_file(dist, path, &l, e);
    if (s == CN_OK) s = header_config(path, &l, c, iteration, e);
    loaded_free(&l);
    return s;
}

/* Checks the stored tensor list against the built net, then uploads params, m, v. */
static cn_status load_net(cn_runtime *rt, const char *path, const loaded *l, const cJSON *nj, size_t *cursor,
                          cn_net *net, cn_error *e) {
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(nj, "tensors");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(nj, "adam_step");
    if (!cJSON_IsArray(tensors) || cJSON_GetArraySize(tensors) != net->tensor_count || !cJSON_IsNumber(step))
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: the %s does not match its config", path, net->name);
    size_t total = 0;
    for (int t = 0; t < net->tensor_count; t++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tensors, t), "name");
        if (!cJSON_IsString(name) || strcmp(name->valuestring, net->tensors[t].name) != 0)
            return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: %s tensor %d is %s, expected %s", path, net->name, t,
                                cJSON_IsString(name) ? name->valuestring : "?", net->tensors[t].name);
        total += net->tensors[t].count;
    }
    if (*cursor + 3 * total * sizeof(float) > l->size - 8)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is truncated inside the %s", path, net->name);
    size_t floats = net->params.bytes / sizeof(float);
    float *host = calloc(floats, sizeof(float));
    if (!host) return cn_error_set(e, CN_ERR_NOMEM, "out of memory loading %s", path);
    cn_buffer *bufs[] = {&net->params, &net->adam_m, &net->adam_v};
    cn_status s = CN_OK;
    for (int k = 0; k < 3 && s == CN_OK; k++) {
        for (int t = 0; t < net->tensor_count; t++) {
            const cn_tensor_info *ti = &net->tensors[t];
            memcpy(host + ti->offset, l->data + *cursor, ti->count * sizeof(float));
            *cursor += ti->count * sizeof(float);
        }
        s = cn_buffer_write(rt, bufs[k], 0, host, net->params.bytes, e);
    }
    free(host);
    net->adam_step = (unsigned long)step->valuedouble;
    return s;
}

/* One optional array: checked against what the coop holds, then copied in. Latent vectors are
 * skipped by a coop that keeps none (sampling from an Algorithm G model). */
static cn_status load_array(cn_runtime *rt, const char *path, const loaded *l, const cJSON *aj, size_t *cursor,
                            cn_coop *coop, cn_error *e) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(aj, "name"), *shape = cJSON_GetObjectItemCaseSensitive(aj, "shape");
    const cJSON *r = cJSON_GetArrayItem(shape, 0), *c = cJSON_GetArrayItem(shape, 1);
    if (!cJSON_IsString(name) || cJSON_GetArraySize(shape) != 2 || !cJSON_IsNumber(r) || !cJSON_IsNumber(c) ||
        r->valuedouble < 0 || c->valuedouble < 0)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: an array entry lacks its name or shape", path);
    size_t rows = (size_t)r->valuedouble, cols = (size_t)c->valuedouble, bytes = rows * cols * sizeof(float);
    if (bytes > l->size - 8 - *cursor)
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s is truncated inside the %s", path, name->valuestring);
    const void *data = l->data + *cursor;
    *cursor += bytes;
    if (strcmp(name->valuestring, "latents") == 0) {
        if (!coop->latents) return CN_OK;
        if (rows != coop->latent_count || cols != coop->latent_floats)
            return cn_error_set(e, CN_ERR_FORMAT,
                                "checkpoint %s holds latent vectors for %zu images of %zu values, but the data set has "
                                "%zu images of %zu (was the data changed?)",
                                path, rows, cols, coop->latent_count, coop->latent_floats);
        memcpy(coop->latents, data, bytes);
        return CN_OK;
    }
    if (strcmp(name->valuestring, "chains") == 0) {
        if (rows != coop->chains_total || cols != coop->image_floats)
            return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s holds %zu chains of %zu values, the config %zu of %zu",
                                path, rows, cols, coop->chains_total, coop->image_floats);
        /* this rank's share of them (all of them for one process) */
        return cn_buffer_write(rt, &coop->chains, 0, (const float *)data + coop->chain_first * cols,
                               coop->chain_count * cols * sizeof(float), e);
    }
    return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s has an unknown array \"%s\"", path, name->valuestring);
}

cn_status cn_checkpoint_load(cn_runtime *rt, cn_coop *coop, const char *path, uint64_t *iteration, cn_error *e) {
    loaded l;
    cn_status s = load_file(coop->dist, path, &l, e);
    if (s != CN_OK) {
        loaded_free(&l);
        return s;
    }
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(l.header, "nets");
    const cJSON *arrays = cJSON_GetObjectItemCaseSensitive(l.header, "arrays");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(l.header, "iteration");
    int expected = (coop->descriptor.layer_count > 0) + (coop->generator.layer_count > 0);
    if (!cJSON_IsArray(nets) || !cJSON_IsNumber(it) || (arrays && !cJSON_IsArray(arrays))) {
        loaded_free(&l);
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: header lacks the nets", path);
    }
    if (cJSON_GetArraySize(nets) != expected) {
        loaded_free(&l);
        return cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s holds %d nets, its mode \"%s\" trains %d", path,
                            cJSON_GetArraySize(nets), cn_mode_name(coop->config.mode), expected);
    }
    size_t cursor = l.payload;
    const cJSON *nj;
    const cn_net *previous = NULL;
    cJSON_ArrayForEach(nj, nets) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(nj, "name");
        const char *text = cJSON_IsString(name) ? name->valuestring : "";
        cn_net_role role;
        int known = cn_net_role_from_name(text, &role);
        cn_net *net = known && role == CN_NET_GENERATOR ? &coop->generator : &coop->descriptor;
        if (s == CN_OK && (!known || !net->layer_count || net == previous))
            s = cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s: net \"%s\" does not match mode \"%s\"", path, text,
                             cn_mode_name(coop->config.mode));
        if (s == CN_OK) s = load_net(rt, path, &l, nj, &cursor, net, e);
        previous = net;
    }
    const cJSON *aj;
    cJSON_ArrayForEach(aj, arrays) if (s == CN_OK) s = load_array(rt, path, &l, aj, &cursor, coop, e);
    if (s == CN_OK && cursor != l.size - 8)
        s = cn_error_set(e, CN_ERR_FORMAT, "checkpoint %s has %zu unexpected bytes", path, l.size - 8 - cursor);
    if (s == CN_OK) *iteration = (uint64_t)it->valuedouble;
    loaded_free(&l);
    return s;
}

cn_status cn_checkpoint_find_on(cn_dist *dist, const char *file_or_run, char *path, size_t size, cn_error *e) {
    cn_status s = cn_dist_rank(dist) == 0 ? cn_checkpoint_find(file_or_run, path, size, e) : CN_OK;
    CN_TRY(cn_dist_share_outcome(dist, s, "sharing the checkpoint's name", e));
    return cn_dist_broadcast(dist, path, size, "sharing the checkpoint's name", e);
}

cn_status cn_checkpoint_find(const char *file_or_run, char *path, size_t size, cn_error *e) {
    struct stat st;
    if (stat(file_or_run, &st) != 0)
        return cn_error_set(e, CN_ERR_IO, "no checkpoint at %s: %s", file_or_run, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        snprintf(path, size, "%s", file_or_run);
        return CN_OK;
    }
    char dir[CN_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/checkpoints", file_or_run);
    DIR *d = opendir(dir);
    if (!d) return cn_error_set(e, CN_ERR_IO, "%s is a folder without checkpoints/ (not a run folder)", file_or_run);
    char best[256] = "";
    struct dirent *ent;
    /* Names carry zero-padded iterations, so the greatest name is the newest checkpoint. */
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (strncmp(ent->d_name, "ckpt-", 5) == 0 && len > 5 && strcmp(ent->d_name + len - 5, ".cnck") == 0 &&
            strcmp(ent->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", ent->d_name);
    }
    closedir(d);
    if (!best[0]) return cn_error_set(e, CN_ERR_IO, "no checkpoint in %s", dir);
    snprintf(path, size, "%s/%s", dir, best);
    return CN_OK;
}
