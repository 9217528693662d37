/* Data sets on the host: every source becomes a list of 8-bit images that are fitted to the
 * configured size and channels and scaled into one float array [count][c][h][w]. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopnets/cn_data.h"
#include "coopnets/cn_png.h"

#define SYNTHETIC_DEFAULT_COUNT 512
#define SYNTHETIC_CLASSES 3 /* disc, square, stripes */

/* ---- random numbers: splitmix64, integers only, the same on every platform -------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A state for stream `stream` of `seed`: nearby seeds and streams give unrelated sequences. */
static uint64_t rng_state(uint64_t seed, uint64_t stream) {
    uint64_t a = seed, b = stream ^ 0x632be59bd9b4e019ULL;
    return splitmix64(&a) ^ (splitmix64(&b) << 1);
}

/* Uniform in [0, bound) by multiply-shift of the top 32 bits (bias below 2^-32 · bound). */
static uint32_t rng_below(uint64_t *state, uint32_t bound) {
    return (uint32_t)(((splitmix64(state) >> 32) * (uint64_t)bound) >> 32);
}

static int rng_range(uint64_t *state, int lo, int hi) { /* inclusive */
    return lo + (int)rng_below(state, (uint32_t)(hi - lo + 1));
}

void cn_dataset_permutation(uint32_t *perm, size_t n, uint64_t seed, uint64_t epoch) {
    uint64_t state = rng_state(seed, epoch);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(&state, (uint32_t)i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

void cn_dataset_gather(const cn_dataset *d, const uint32_t *perm, size_t start, size_t count, float *dst) {
    size_t image = (size_t)d->channels * (size_t)d->height * (size_t)d->width;
    for (size_t k = 0; k < count; k++)
        memcpy(dst + k * image, d->images + (size_t)perm[(start + k) % (size_t)d->count] * image, image * sizeof *dst);
}

static cn_status check_shape(const cn_data_config *cfg, cn_error *e) {
    if (cfg->image_size <= 0 || (cfg->channels != 1 && cfg->channels != 3))
        return cn_error_set(e, CN_ERR_ARG, "data %s: image_size %d and channels %d (need >= 1, and 1 or 3)", cfg->path,
                            cfg->image_size, cfg->channels);
    return CN_OK;
}

/* ---- storing images ---------------------------------------------------------------------------- */

static cn_status dataset_alloc(cn_dataset *d, const cn_data_config *cfg, int count, int labelled, cn_error *e) {
    *d = (cn_dataset){.count = count, .channels = cfg->channels, .height = cfg->image_size, .width = cfg->image_size};
    size_t floats = (size_t)count * (size_t)d->channels * (size_t)d->height * (size_t)d->width;
    d->images = malloc(floats * sizeof *d->images);
    d->labels = labelled ? calloc((size_t)count, sizeof *d->labels) : NULL;
    if (!d->images || (labelled && !d->labels))
        return cn_error_set(e, CN_ERR_NOMEM, "data %s: out of memory for %d images of %d x %d x %d (%zu MB)", cfg->path,
                            count, d->channels, d->height, d->width, floats * sizeof(float) >> 20);
    return CN_OK;
}

/* Writes image8 `img` (already at the data set's size and channels) into slot `index`, scaled
 * through a table of the 256 possible values. */
static void store_scaled(cn_dataset *d, int index, const cn_image8 *img, cn_scaling scaling) {
    size_t pixels = (size_t)d->height * (size_t)d->width, values = pixels * (size_t)d->channels;
    float *dst = d->images + (size_t)index * values, scaled[256];
    int lo = 255, hi = 0;
    for (size_t i = 0; i < values; i++) {
        if (img->pixels[i] < lo) lo = img->pixels[i];
        if (img->pixels[i] > hi) hi = img->pixels[i];
    }
    for (int v = 0; v < 256; v++)
        scaled[v] = (float)(scaling == CN_SCALE_FIXED ? v / 127.5 - 1 : hi > lo ? 2.0 * (v - lo) / (hi - lo) - 1 : 0);
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < d->channels; c++)
            dst[(size_t)c * pixels + p] = scaled[img->pixels[p * (size_t)d->channels + (size_t)c]];
}

/* Fits src to the data set's size and channels and stores it in slot `index`. `what` names the
 * source (a file) for the message should fitting fail. */
static cn_status add_image(cn_dataset *d, int index, const cn_image8 *src, cn_scaling scaling, const char *what,
                           cn_error *e) {
    if (src->width == d->width && src->height == d->height && src->channels == d->channels) {
        store_scaled(d, index, src, scaling);
        return CN_OK;
    }
    cn_image8 fitted = {0};
    cn_status status = cn_image8_fit(src, d->width, d->channels, &fitted, e);
    if (status != CN_OK) {
        cn_error_prefix(e, "%s", what);
        return status;
    }
    store_scaled(d, index, &fitted, scaling);
    cn_image8_free(&fitted);
    return CN_OK;
}

static void set_num_classes(cn_dataset *d) {
    for (int i = 0; i < d->count; i++)
        if (d->labels[i] >= d->num_classes) d->num_classes = d->labels[i] + 1;
}

/* ---- IDX ----------------------------------------------------------------------------------- */

/* Float32 images [h][w][c] as stored into slots 0..count-1, unscaled. */
static cn_status store_floats(cn_dataset *d, const cn_data_config *cfg, const cn_idx *images, int channels,
                              cn_error *e) {
    if (images->dims[1] != cfg->image_size || images->dims[2] != cfg->image_size || channels != cfg->channels)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX file %s: float32 images are %dx%d with %d channel(s); they are not resized or "
                            "converted, and %dx%d with %d are wanted",
                            cfg->path, images->dims[1], images->dims[2], channels, cfg->image_size, cfg->image_size,
                            cfg->channels);
    size_t pixels = (size_t)cfg->image_size * (size_t)cfg->image_size, values = pixels * (size_t)channels;
    for (size_t i = 0; i < (size_t)d->count; i++)
        for (size_t p = 0; p < pixels; p++)
            for (size_t c = 0; c < (size_t)channels; c++) {
                float v = cn_idx_float(images, i * values + p * (size_t)channels + c);
                if (!isfinite(v))
                    return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: image %zu holds %g", cfg->path, i, (double)v);
                d->images[i * values + c * pixels + p] = v;
            }
    return CN_OK;
}

static cn_status load_idx_into(const cn_data_config *cfg, const cn_idx *images, const cn_idx *labels, cn_dataset *d,
                               cn_error *e) {
    int channels = images->ndims == 4 ? images->dims[3] : 1;
    if ((images->ndims != 3 && images->ndims != 4) || (channels != 1 && channels != 3))
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX file %s: images need dimensions count x height x width [x 1 or 3 channels], "
                            "found %d dimensions",
                            cfg->path, images->ndims);
    if (images->dims[0] == 0 || images->dims[1] == 0 || images->dims[2] == 0)
        return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: holds no images (%d of %d x %d)", cfg->path, images->dims[0],
                            images->dims[1], images->dims[2]);
    if (labels && (labels->ndims != 1 || labels->dims[0] != images->dims[0] || labels->type != CN_IDX_UBYTE))
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX labels %s: %d labels (%d dimensions, type 0x%02x) for the %d images of %s; want one "
                            "unsigned byte per image",
                            cfg->labels_path, labels->dims[0], labels->ndims, labels->type, images->dims[0], cfg->path);
    int count = cfg->limit > 0 && cfg->limit < images->dims[0] ? cfg->limit : images->dims[0];
    CN_TRY(dataset_alloc(d, cfg, count, labels != NULL, e));
    if (images->type == CN_IDX_FLOAT) CN_TRY(store_floats(d, cfg, images, channels, e));
    size_t image_bytes = images->size / (size_t)images->dims[0];
    for (int i = 0; i < count && images->type == CN_IDX_UBYTE; i++) {
        cn_image8 view = {images->dims[2], images->dims[1], channels, images->data + (size_t)i * image_bytes};
        CN_TRY(add_image(d, i, &view, cfg->scaling, cfg->path, e));
    }
    for (int i = 0; labels && i < count; i++) d->labels[i] = labels->data[i];
    if (labels) set_num_classes(d);
    return CN_OK;
}

cn_status cn_dataset_from_idx(const cn_data_config *cfg, const cn_idx *images, const cn_idx *labels, cn_dataset *out,
                              cn_error *e) {
    cn_dataset d = {0};
    cn_status status = check_shape(cfg, e);
    if (status == CN_OK) status = load_idx_into(cfg, images, labels, &d, e);
    if (status != CN_OK) {
        cn_dataset_free(&d);
        return status;
    }
    *out = d;
    return CN_OK;
}

static cn_status load_idx(const cn_data_config *cfg, cn_dataset *d, cn_error *e) {
    cn_idx images = {0}, labels = {0};
    int labelled = cfg->labels_path[0] != '\0';
    cn_status status = cn_idx_read(cfg->path, &images, e);
    if (status == CN_OK && labelled) status = cn_idx_read(cfg->labels_path, &labels, e);
    if (status == CN_OK) status = load_idx_into(cfg, &images, labelled ? &labels : NULL, d, e);
    cn_idx_free(&images);
    cn_idx_free(&labels);
    return status;
}

/* ---- folders --------------------------------------------------------------------------------- */

typedef struct name_list {
    char **names;
    int count;
} name_list;

static void name_list_free(name_list *l) {
    for (int i = 0; i < l->count; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static cn_status join_path(char *out, size_t size, const char *dir, const char *name, cn_error *e) {
    if (snprintf(out, size, "%s/%s", dir, name) >= (int)size)
        return cn_error_set(e, CN_ERR_ARG, "path too long: %s/%s", dir, name);
    return CN_OK;
}

static int is_png_name(const char *name) {
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* The entries of `dir` that are sub-folders (want_folders) or PNG files, sorted by name.
 * Hidden entries (".name") are skipped. */
static cn_status list_folder(const char *dir, int want_folders, name_list *out, cn_error *e) {
    DIR *d = opendir(dir);
    if (!d) return cn_error_set(e, CN_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    name_list l = {0};
    int capacity = 0;
    cn_status status = CN_OK;
    struct dirent *entry;
    char path[2 * CN_PATH_MAX];
    struct stat st;
    while (status == CN_OK && (entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.' || (!want_folders && !is_png_name(entry->d_name))) continue;
        status = join_path(path, sizeof path, dir, entry->d_name, e);
        if (status != CN_OK) break;
        if (stat(path, &st) != 0 || (want_folders ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) continue;
        if (l.count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(l.names, (size_t)capacity * sizeof *grown);
            if (!grown) {
                status = cn_error_set(e, CN_ERR_NOMEM, "listing folder %s: out of memory", dir);
                break;
            }
            l.names = grown;
        }
        if (!(l.names[l.count] = strdup(entry->d_name))) {
            status = cn_error_set(e, CN_ERR_NOMEM, "listing folder %s: out of memory", dir);
            break;
        }
        l.count++;
    }
    closedir(d);
    if (status != CN_OK) {
        name_list_free(&l);
        return status;
    }
    if (l.count) qsort(l.names, (size_t)l.count, sizeof *l.names, compare_names);
    *out = l;
    return CN_OK;
}

/* Reads and stores the PNG dir/name in slot `index`. */
static cn_status add_png(cn_dataset *d, int index, const char *dir, const char *name, cn_scaling scaling,
                         cn_error *e) {
    char path[2 * CN_PATH_MAX];
    CN_TRY(join_path(path, sizeof path, dir, name, e));
    cn_image8 img = {0};
    CN_TRY(cn_png_read(path, &img, e));
    cn_status status = add_image(d, index, &img, scaling, path, e);
    cn_image8_free(&img);
    return status;
}

static cn_status load_folder(const cn_data_config *cfg, cn_dataset *d, cn_error *e) {
    name_list files = {0};
    CN_TRY(list_folder(cfg->path, 0, &files, e));
    cn_status status = CN_OK;
    if (files.count == 0) status = cn_error_set(e, CN_ERR_FORMAT, "folder %s has no PNG files", cfg->path);
    int count = cfg->limit > 0 && cfg->limit < files.count ? cfg->limit : files.count;
    if (status == CN_OK) status = dataset_alloc(d, cfg, count, 0, e);
    for (int i = 0; status == CN_OK && i < count; i++)
        status = add_png(d, i, cfg->path, files.names[i], cfg->scaling, e);
    name_list_free(&files);
    return status;
}

/* One sub-folder per class. A limit takes images round-robin over the classes (first image of
 * every class, then the second, ...) so that a small run still sees every class. */
static cn_status load_categories_from(const cn_data_config *cfg, const name_list *classes, name_list *files,
                                      cn_dataset *d, cn_error *e) {
    char dir[2 * CN_PATH_MAX];
    int total = 0, longest = 0;
    for (int k = 0; k < classes->count; k++) {
        CN_TRY(join_path(dir, sizeof dir, cfg->path, classes->names[k], e));
        CN_TRY(list_folder(dir, 0, &files[k], e));
        if (files[k].count == 0) return cn_error_set(e, CN_ERR_FORMAT, "category folder %s has no PNG files", dir);
        total += files[k].count;
        if (files[k].count > longest) longest = files[k].count;
    }
    int count = cfg->limit > 0 && cfg->limit < total ? cfg->limit : total;
    CN_TRY(dataset_alloc(d, cfg, count, 1, e));
    d->num_classes = classes->count;
    d->class_names = calloc((size_t)classes->count, sizeof *d->class_names);
    if (!d->class_names) return cn_error_set(e, CN_ERR_NOMEM, "data %s: out of memory", cfg->path);
    for (int k = 0; k < classes->count; k++) {
        d->class_names[k] = classes->names[k];
        classes->names[k] = NULL;
    }
    int index = 0;
    for (int rank = 0; rank < longest && index < count; rank++)
        for (int k = 0; k < classes->count && index < count; k++) {
            if (rank >= files[k].count) continue;
            CN_TRY(join_path(dir, sizeof dir, cfg->path, d->class_names[k], e));
            CN_TRY(add_png(d, index, dir, files[k].names[rank], cfg->scaling, e));
            d->labels[index++] = k;
        }
    return CN_OK;
}

static cn_status load_categories(const cn_data_config *cfg, cn_dataset *d, cn_error *e) {
    name_list classes = {0};
    CN_TRY(list_folder(cfg->path, 1, &classes, e));
    if (classes.count == 0) {
        name_list_free(&classes);
        return cn_error_set(e, CN_ERR_FORMAT, "folder %s has no sub-folders (one per category expected)", cfg->path);
    }
    name_list *files = calloc((size_t)classes.count, sizeof *files);
    cn_status status = files ? load_categories_from(cfg, &classes, files, d, e)
                             : cn_error_set(e, CN_ERR_NOMEM, "data %s: out of memory", cfg->path);
    for (int k = 0; files && k < classes.count; k++) name_list_free(&files[k]);
    free(files);
    name_list_free(&classes);
    return status;
}

/* ---- texture and synthetic ----------------------------------------------------------------- */

static cn_status load_texture(const cn_data_config *cfg, cn_dataset *d, cn_error *e) {
    cn_image8 img = {0};
    CN_TRY(cn_png_read(cfg->path, &img, e));
    int count = cfg->texture_copies > 1 ? cfg->texture_copies : 1;
    if (cfg->limit > 0 && cfg->limit < count) count = cfg->limit;
    cn_status status = dataset_alloc(d, cfg, count, 0, e);
    if (status == CN_OK) status = add_image(d, 0, &img, cfg->scaling, cfg->path, e);
    cn_image8_free(&img);
    size_t image = (size_t)d->channels * (size_t)d->height * (size_t)d->width;
    for (int i = 1; status == CN_OK && i < count; i++)
        memcpy(d->images + (size_t)i * image, d->images, image * sizeof *d->images);
    return status;
}

/* Image i depends only on (seed, i): a background level and one shape — a filled disc, a filled
 * square or stripes — with random size, place and intensity (per channel for colour). */
static int draw_synthetic(cn_image8 *img, uint64_t seed, int i) {
    uint64_t state = rng_state(seed, (uint64_t)i);
    int size = img->width, channels = img->channels;
    int kind = rng_range(&state, 0, SYNTHETIC_CLASSES - 1);
    int background[3], ink[3];
    for (int c = 0; c < channels; c++) {
        background[c] = rng_range(&state, 0, 90);
        ink[c] = rng_range(&state, 140, 255);
    }
    int cx = rng_range(&state, 0, size - 1), cy = rng_range(&state, 0, size - 1);
    int radius = rng_range(&state, size / 8 + 1, size / 3 + 1);
    int period = rng_range(&state, 2, size / 3 + 2), direction = rng_range(&state, 0, 2);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            int dx = x - cx, dy = y - cy, inside;
            if (kind == 0)
                inside = dx * dx + dy * dy <= radius * radius;
            else if (kind == 1)
                inside = abs(dx) <= radius && abs(dy) <= radius;
            else
                inside = ((direction == 0 ? x : direction == 1 ? y : x + y) + cx) / period % 2 == 0;
            for (int c = 0; c < channels; c++)
                img->pixels[((size_t)y * (size_t)size + (size_t)x) * (size_t)channels + (size_t)c] =
                    (uint8_t)(inside ? ink[c] : background[c]);
        }
    return kind;
}

static cn_status load_synthetic(const cn_data_config *cfg, uint64_t seed, cn_dataset *d, cn_error *e) {
    int count = cfg->limit > 0 ? cfg->limit : SYNTHETIC_DEFAULT_COUNT;
    CN_TRY(dataset_alloc(d, cfg, count, 1, e));
    cn_image8 img = {cfg->image_size, cfg->image_size, cfg->channels, NULL};
    img.pixels = malloc((size_t)img.width * (size_t)img.height * (size_t)img.channels);
    if (!img.pixels) return cn_error_set(e, CN_ERR_NOMEM, "synthetic data: out of memory");
    for (int i = 0; i < count; i++) {
        d->labels[i] = draw_synthetic(&img, seed, i);
        store_scaled(d, i, &img, cfg->scaling);
    }
    d->num_classes = SYNTHETIC_CLASSES;
    cn_image8_free(&img);
    return CN_OK;
}

/* ---- entry points ---------------------------------------------------------------------------- */

/* "~/x" -> "$HOME/x" (configs ship paths under the user's data folder). */
static void expand_home(char *path, size_t size) {
    const char *home = getenv("HOME");
    if (strncmp(path, "~/", 2) != 0 || !home) return;
    char tail[CN_PATH_MAX];
    snprintf(tail, sizeof tail, "%s", path + 1);
    snprintf(path, size, "%s%s", home, tail);
}

/* Whether path is missing from where tools/fetch_data.sh puts what it fetches (keep in step with
 * the script): Debian's Fashion-MNIST, and its data folder ($COOPNETS_DATA, else
 * ~/.local/share/coopnets_cl/data). */
static int missing_fetched_data(const char *path) {
    if (!path[0] || access(path, F_OK) == 0) return 0;
    char data[CN_PATH_MAX] = "";
    const char *env = getenv("COOPNETS_DATA"), *home = getenv("HOME");
    if (env && *env) snprintf(data, sizeof data, "%s/", env);
    else if (home && *home) snprintf(data, sizeof data, "%s/.local/share/coopnets_cl/data/", home);
    const char *fashion = "/usr/share/datasets/fashion-mnist/";
    return strncmp(path, fashion, strlen(fashion)) == 0 || (data[0] && strncmp(path, data, strlen(data)) == 0);
}

cn_status cn_dataset_load(const cn_data_config *config, uint64_t seed, cn_dataset *out, cn_error *e) {
    cn_data_config expanded = *config;
    expand_home(expanded.path, sizeof expanded.path);
    expand_home(expanded.labels_path, sizeof expanded.labels_path);
    const cn_data_config *cfg = &expanded;
    CN_TRY(check_shape(cfg, e));
    cn_dataset d = {0};
    cn_status status;
    switch (cfg->kind) {
    case CN_DATA_IDX: status = load_idx(cfg, &d, e); break;
    case CN_DATA_FOLDER: status = load_folder(cfg, &d, e); break;
    case CN_DATA_CATEGORIES: status = load_categories(cfg, &d, e); break;
    case CN_DATA_TEXTURE: status = load_texture(cfg, &d, e); break;
    case CN_DATA_SYNTHETIC: status = load_synthetic(cfg, seed, &d, e); break;
    default: status = cn_error_set(e, CN_ERR_ARG, "data %s: unknown data kind %d", cfg->path, (int)cfg->kind);
    }
    if (status != CN_OK) {
        cn_dataset_free(&d);
        if (status == CN_ERR_IO && (missing_fetched_data(cfg->path) || missing_fetched_data(cfg->labels_path)))
            cn_error_append(e, " (tools/fetch_data.sh fetches this data: run it first)");
        return status;
    }
    *out = d;
    return CN_OK;
}

void cn_dataset_free(cn_dataset *d) {
    if (!d) return;
    for (int k = 0; d->class_names && k < d->num_classes; k++) free(d->class_names[k]);
    free(d->class_names);
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
