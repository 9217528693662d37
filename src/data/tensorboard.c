/* TensorBoard event files (include/coopnets/cn_tensorboard.h). */
#include "coopnets/cn_tensorboard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_util.h"
#include "tensorboard.pb-c.h"

#define FILE_VERSION "brain.Event:2"
#define NAME_MARK "tfevents"
#define NAME_PREFIX "events.out.tfevents."
#define HEADER_BYTES 12 /* u64 length, u32 masked CRC of it */
#define FOOTER_BYTES 4  /* u32 masked CRC of the data */

/* TensorFlow's masking (a CRC of data that holds CRCs is weak otherwise). */
static uint32_t masked_crc(const void *data, size_t n) {
    uint32_t crc = cn_crc32c(0, data, n);
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int is_event_file(const char *name) { return strstr(name, NAME_MARK) && !strstr(name, ".tmp."); }

cn_tb_writer cn_tb_closed(void) { return (cn_tb_writer){.fd = -1}; }
int cn_tb_is_open(const cn_tb_writer *w) { return w->fd >= 0; }

/* ---- writing --------------------------------------------------------------------------------- */

/* Frames the event as one record and appends it with one write(), so a kill leaves whole records. */
static cn_status write_event(cn_tb_writer *w, Tensorboard__Event *event, cn_error *e) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    event->wall_time = (double)now.tv_sec + now.tv_nsec * 1e-9;
    size_t n = tensorboard__event__get_packed_size(event), total = HEADER_BYTES + n + FOOTER_BYTES;
    unsigned char *record = malloc(total);
    if (!record) return cn_error_set(e, CN_ERR_NOMEM, "TensorBoard file %s: out of memory for a %zu-byte record", w->path, n);
    put_u64(record, n);
    put_u32(record + 8, masked_crc(record, 8));
    tensorboard__event__pack(event, record + HEADER_BYTES);
    put_u32(record + HEADER_BYTES + n, masked_crc(record + HEADER_BYTES, n));
    ssize_t wrote = cn_fault_hit("write") ? -1 : write(w->fd, record, total);
    int err = errno;
    free(record);
    if (wrote != (ssize_t)total)
        return cn_error_set(e, CN_ERR_IO, "cannot write TensorBoard file %s: %s", w->path,
                            wrote < 0 ? strerror(err) : "short write");
    return CN_OK;
}

static cn_status write_summary_value(cn_tb_writer *w, uint64_t step, Tensorboard__Summary__Value *value, cn_error *e) {
    Tensorboard__Summary summary = TENSORBOARD__SUMMARY__INIT;
    summary.n_value = 1;
    summary.value = &value;
    Tensorboard__Event event = TENSORBOARD__EVENT__INIT;
    event.step = (int64_t)step;
    event.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    event.summary = &summary;
    return write_event(w, &event, e);
}

cn_status cn_tb_scalars(cn_tb_writer *w, uint64_t step, const cn_tb_scalar *scalars, size_t count, cn_error *e) {
    Tensorboard__Summary__Value *values = calloc(count ? count : 1, sizeof *values);
    Tensorboard__Summary__Value **list = calloc(count ? count : 1, sizeof *list);
    cn_status s = CN_OK;
    if (!values || !list) s = cn_error_set(e, CN_ERR_NOMEM, "TensorBoard file %s: out of memory", w->path);
    size_t kept = 0;
    for (size_t i = 0; i < count && s == CN_OK; i++) {
        if (!isfinite(scalars[i].value)) continue;
        Tensorboard__Summary__Value *v = &values[kept];
        tensorboard__summary__value__init(v);
        v->tag = (char *)scalars[i].tag;
        v->value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
        v->simple_value = (float)scalars[i].value;
        list[kept++] = v;
    }
    if (s == CN_OK && kept) {
        Tensorboard__Summary summary = TENSORBOARD__SUMMARY__INIT;
        summary.n_value = kept;
        summary.value = list;
        Tensorboard__Event event = TENSORBOARD__EVENT__INIT;
        event.step = (int64_t)step;
        event.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
        event.summary = &summary;
        s = write_event(w, &event, e);
    }
    free(values);
    free(list);
    return s;
}

cn_status cn_tb_text(cn_tb_writer *w, const char *tag, uint64_t step, const char *text, cn_error *e) {
    Tensorboard__SummaryMetadata__PluginData plugin = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    plugin.plugin_name = "text";
    Tensorboard__SummaryMetadata metadata = TENSORBOARD__SUMMARY_METADATA__INIT;
    metadata.plugin_data = &plugin;
    metadata.data_class = TENSORBOARD__DATA_CLASS__DATA_CLASS_TENSOR;
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT; /* no dimensions: a scalar */
    ProtobufCBinaryData string = {strlen(text), (uint8_t *)text};
    Tensorboard__TensorProto tensor = TENSORBOARD__TENSOR_PROTO__INIT;
    tensor.dtype = TENSORBOARD__DATA_TYPE__DT_STRING;
    tensor.tensor_shape = &shape;
    tensor.n_string_val = 1;
    tensor.string_val = &string;
    Tensorboard__Summary__Value value = TENSORBOARD__SUMMARY__VALUE__INIT;
    value.tag = (char *)tag;
    value.metadata = &metadata;
    value.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    value.tensor = &tensor;
    return write_summary_value(w, step, &value, e);
}

/* The whole file (a sample grid: kilobytes to a megabyte). */
static cn_status read_file(const char *path, const char *what, unsigned char **data, size_t *size, cn_error *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return cn_error_set(e, CN_ERR_IO, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    unsigned char *buffer = NULL;
    cn_status s = CN_OK;
    if (fstat(fileno(f), &st) != 0) s = cn_error_set(e, CN_ERR_IO, "cannot read %s %s: %s", what, path, strerror(errno));
    else if (!(buffer = malloc((size_t)st.st_size + 1)))
        s = cn_error_set(e, CN_ERR_NOMEM, "out of memory reading %s %s", what, path);
    else if (fread(buffer, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        s = cn_error_set(e, CN_ERR_IO, "cannot read %s %s: %s", what, path, ferror(f) ? strerror(errno) : "it shrank");
    fclose(f);
    if (s != CN_OK) {
        free(buffer);
        return s;
    }
    *data = buffer;
    *size = (size_t)st.st_size;
    return CN_OK;
}

cn_status cn_tb_png_file(cn_tb_writer *w, const char *tag, uint64_t step, const char *png_path, cn_error *e) {
    unsigned char *png = NULL;
    size_t size = 0;
    CN_TRY(read_file(png_path, "PNG", &png, &size, e));
    /* The signature, then IHDR: length, "IHDR", width, height, bit depth, colour type. */
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int colour = size >= 26 ? png[25] : -1;
    if (size < 26 || memcmp(png, signature, 8) != 0 || memcmp(png + 12, "IHDR", 4) != 0 || png[24] != 8 ||
        (colour != 0 && colour != 2)) {
        free(png);
        return cn_error_set(e, CN_ERR_FORMAT, "TensorBoard image %s: %s is not an 8-bit gray or RGB PNG", tag, png_path);
    }
    Tensorboard__Summary__Image image = TENSORBOARD__SUMMARY__IMAGE__INIT;
    image.width = (int32_t)(png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19]);
    image.height = (int32_t)(png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23]);
    image.colorspace = colour == 0 ? 1 : 3;
    image.encoded_image_string = (ProtobufCBinaryData){size, png};
    Tensorboard__Summary__Value value = TENSORBOARD__SUMMARY__VALUE__INIT;
    value.tag = (char *)tag;
    value.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE;
    value.image = &image;
    cn_status s = write_summary_value(w, step, &value, e);
    free(png);
    return s;
}

cn_status cn_tb_sync(cn_tb_writer *w, cn_error *e) {
    if (fsync(w->fd) != 0)
        return cn_error_set(e, CN_ERR_IO, "cannot write TensorBoard file %s: %s", w->path, strerror(errno));
    return CN_OK;
}

void cn_tb_close(cn_tb_writer *w) {
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

/* The resolved config as a Markdown code block (the text plugin renders Markdown). */
static cn_status write_config(cn_tb_writer *w, uint64_t step, const char *config_json, cn_error *e) {
    size_t n = strlen(config_json) + 16;
    char *text = malloc(n);
    if (!text) return cn_error_set(e, CN_ERR_NOMEM, "TensorBoard file %s: out of memory for the config", w->path);
    snprintf(text, n, "```\n%s\n```", config_json);
    cn_status s = cn_tb_text(w, CN_TB_CONFIG_TAG, step, text, e);
    free(text);
    return s;
}

/* ---- rewinding ------------------------------------------------------------------------------- */

/* Whether a record stays when the run goes back to `step`: the file version, every record of an
 * earlier step, and those of `step` itself but its config text (the caller writes the config that
 * holds from there on). */
static int keep_record(const Tensorboard__Event *event, uint64_t step) {
    if (event->what_case == TENSORBOARD__EVENT__WHAT_FILE_VERSION) return 1;
    if (event->step < 0 || (uint64_t)event->step > step) return 0;
    if ((uint64_t)event->step < step || event->what_case != TENSORBOARD__EVENT__WHAT_SUMMARY) return 1;
    for (size_t i = 0; i < event->summary->n_value; i++)
        if (strcmp(event->summary->value[i]->tag, CN_TB_CONFIG_TAG) == 0) return 0;
    return 1;
}

static cn_status rewind_file(const char *path, uint64_t step, cn_error *e) {
    unsigned char *data = NULL;
    size_t size = 0;
    CN_TRY(read_file(path, "TensorBoard file", &data, &size, e));
    cn_atomic_file out;
    cn_status s = cn_atomic_open(&out, path, "TensorBoard file", e);
    for (size_t at = 0; s == CN_OK && size - at >= HEADER_BYTES;) {
        const unsigned char *record = data + at;
        uint64_t n = get_u64(record);
        /* A record cut short (a power loss) or damaged ends what can be trusted. */
        if (get_u32(record + 8) != masked_crc(record, 8) || size - at - HEADER_BYTES < FOOTER_BYTES ||
            n > size - at - HEADER_BYTES - FOOTER_BYTES ||
            get_u32(record + HEADER_BYTES + n) != masked_crc(record + HEADER_BYTES, n))
            break;
        Tensorboard__Event *event = tensorboard__event__unpack(NULL, n, record + HEADER_BYTES);
        if (!event) break;
        if (keep_record(event, step)) cn_atomic_write(&out, record, HEADER_BYTES + n + FOOTER_BYTES);
        tensorboard__event__free_unpacked(event, NULL);
        at += HEADER_BYTES + n + FOOTER_BYTES;
    }
    if (s == CN_OK) s = cn_atomic_commit(&out, e);
    free(data);
    return s;
}

/* Rewinds every event file of dir to `step` (rewind_file), or removes them all when !rewind;
 * *latest gets the largest <time> of the names of the files kept (0 when none). */
static cn_status each_event_file(const char *dir, uint64_t step, int rewind, long long *latest, cn_error *e) {
    *latest = 0;
    DIR *d = opendir(dir);
    if (!d) return cn_error_set(e, CN_ERR_IO, "cannot open run folder %s: %s", dir, strerror(errno));
    cn_status s = CN_OK;
    struct dirent *entry;
    char path[CN_ATOMIC_PATH_MAX];
    while (s == CN_OK && (entry = readdir(d))) {
        if (!is_event_file(entry->d_name)) continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, entry->d_name) >= (int)sizeof path) {
            s = cn_error_set(e, CN_ERR_ARG, "TensorBoard file name too long in %s", dir);
            break;
        }
        if (!rewind) {
            if (remove(path) != 0) s = cn_error_set(e, CN_ERR_IO, "cannot remove TensorBoard file %s: %s", path, strerror(errno));
            continue;
        }
        long long t = strncmp(entry->d_name, NAME_PREFIX, strlen(NAME_PREFIX)) == 0
                          ? strtoll(entry->d_name + strlen(NAME_PREFIX), NULL, 10)
                          : 0;
        if (t > *latest) *latest = t;
        s = rewind_file(path, step, e);
    }
    closedir(d);
    return s;
}

cn_status cn_tb_rewind_dir(const char *dir, uint64_t step, cn_error *e) {
    long long latest;
    return each_event_file(dir, step, 1, &latest, e);
}

cn_status cn_tb_rewind(cn_tb_writer *w, uint64_t step, const char *config_json, cn_error *e) {
    CN_TRY(cn_tb_rewind_dir(w->dir, step, e));
    /* The open file was rewritten under its name: append to the new one. */
    cn_tb_close(w);
    if ((w->fd = open(w->path, O_WRONLY | O_APPEND)) < 0)
        return cn_error_set(e, CN_ERR_IO, "cannot write TensorBoard file %s: %s", w->path, strerror(errno));
    CN_TRY(write_config(w, step, config_json, e));
    return cn_tb_sync(w, e);
}

/* ---- opening --------------------------------------------------------------------------------- */

cn_status cn_tb_open(cn_tb_writer *w, const char *run_dir, int resume, uint64_t step, const char *config_json,
                     cn_error *e) {
    static int opened; /* the <n> of the name: files of one process differ */
    *w = cn_tb_closed();
    if (snprintf(w->dir, sizeof w->dir, "%s", run_dir) >= (int)sizeof w->dir)
        return cn_error_set(e, CN_ERR_ARG, "TensorBoard: run folder name too long: %s", run_dir);
    long long latest;
    CN_TRY(each_event_file(run_dir, step, resume, &latest, e));
    /* After every file there, so TensorBoard reads this one last. */
    long long now = (long long)time(NULL);
    if (now <= latest) now = latest + 1;
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    if (snprintf(w->path, sizeof w->path, "%s/" NAME_PREFIX "%010lld.%s.%ld.%d", run_dir, now, host, (long)getpid(),
                 opened++) >= (int)sizeof w->path)
        return cn_error_set(e, CN_ERR_ARG, "TensorBoard: file name too long in %s", run_dir);
    if ((w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644)) < 0)
        return cn_error_set(e, CN_ERR_IO, "cannot create TensorBoard file %s: %s", w->path, strerror(errno));
    Tensorboard__Event version = TENSORBOARD__EVENT__INIT;
    version.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    version.file_version = FILE_VERSION;
    cn_status s = write_event(w, &version, e);
    if (s == CN_OK) s = write_config(w, step, config_json, e);
    if (s == CN_OK) s = cn_tb_sync(w, e);
    if (s == CN_OK && cn_fsync_parent(w->path) != 0)
        s = cn_error_set(e, CN_ERR_IO, "cannot write TensorBoard file %s: %s", w->path, strerror(errno));
    if (s != CN_OK) cn_tb_close(w);
    return s;
}
