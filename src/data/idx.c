/* IDX files (the MNIST format): a 4-byte magic 00 00 TYPE NDIMS, NDIMS big-endian 32-bit sizes,
 * then the elements (big-endian). zlib's gzopen reads gzip and raw files alike. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "coopnets/cn_atomic_file.h"
#include "coopnets/cn_data.h"

#define IDX_READ_CHUNK (1u << 24)

/* Reads up to n bytes; *got is how many arrived before the end of the file. */
static cn_status read_bytes(gzFile f, const char *path, uint8_t *buf, size_t n, size_t *got, cn_error *e) {
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < IDX_READ_CHUNK ? n - *got : IDX_READ_CHUNK;
        int r = gzread(f, buf + *got, (unsigned)want);
        if (r < 0) {
            int code;
            const char *reason = gzerror(f, &code);
            return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: %s", path,
                                code == Z_ERRNO ? strerror(errno) : reason);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return CN_OK;
}

/* "10000 x 28 x 28" */
static void describe_dims(const cn_idx *x, char *text, size_t size) {
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i < x->ndims && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, i ? " x %d" : "%d", x->dims[i]);
}

/* The data grows as it arrives, so a header that claims more than the file holds reports
 * "truncated" instead of asking for a huge allocation first. */
static cn_status read_data(gzFile f, const char *path, cn_idx *x, cn_error *e) {
    size_t capacity = x->size < IDX_READ_CHUNK ? x->size : IDX_READ_CHUNK, have = 0;
    x->data = malloc(capacity ? capacity : 1);
    if (!x->data) return cn_error_set(e, CN_ERR_NOMEM, "IDX file %s: out of memory", path);
    for (;;) {
        size_t got;
        CN_TRY(read_bytes(f, path, x->data + have, capacity - have, &got, e));
        have += got;
        if (have < capacity || capacity == x->size) break;
        capacity = capacity > x->size / 2 ? x->size : capacity * 2;
        uint8_t *grown = realloc(x->data, capacity);
        if (!grown) return cn_error_set(e, CN_ERR_NOMEM, "IDX file %s: out of memory for %zu bytes", path, capacity);
        x->data = grown;
    }
    char dims[96];
    describe_dims(x, dims, sizeof dims);
    if (have < x->size) {
        int code;
        const char *reason = gzerror(f, &code);
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX file %s: truncated: the header says %s (%zu bytes) but only %zu bytes follow%s%s",
                            path, dims, x->size, have, code != Z_OK ? "; zlib: " : "", code != Z_OK ? reason : "");
    }
    size_t extra = 0, got;
    uint8_t scrap[4096];
    do {
        CN_TRY(read_bytes(f, path, scrap, sizeof scrap, &got, e));
        extra += got;
    } while (got == sizeof scrap);
    if (extra)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX file %s: %zu bytes more than the header's %s (%zu bytes): wrong dimensions?", path,
                            extra, dims, x->size);
    return CN_OK;
}

static cn_status read_header(gzFile f, const char *path, cn_idx *x, cn_error *e) {
    uint8_t magic[4], sizes[16];
    size_t got;
    CN_TRY(read_bytes(f, path, magic, sizeof magic, &got, e));
    if (got < sizeof magic)
        return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: truncated: %zu bytes, shorter than the 4-byte magic", path,
                            got);
    if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "%s is not an IDX file (magic %02x %02x %02x %02x; want 00 00, a type and 1 to 4 dimensions)",
                            path, magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != CN_IDX_UBYTE && magic[2] != CN_IDX_FLOAT)
        return cn_error_set(e, CN_ERR_FORMAT,
                            "IDX file %s: element type 0x%02x is not supported (only unsigned bytes, 0x08, and "
                            "float32, 0x0d)",
                            path, magic[2]);
    x->type = magic[2];
    x->ndims = magic[3];
    size_t n = 4 * (size_t)x->ndims;
    CN_TRY(read_bytes(f, path, sizes, n, &got, e));
    if (got < n)
        return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: truncated inside the header (%zu of %zu size bytes)", path,
                            got, n);
    x->size = x->type == CN_IDX_FLOAT ? 4 : 1;
    for (int i = 0; i < x->ndims; i++) {
        const uint8_t *b = sizes + 4 * i;
        uint32_t dim = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (dim > INT_MAX || (dim && x->size > SIZE_MAX / dim))
            return cn_error_set(e, CN_ERR_FORMAT, "IDX file %s: dimension %d is %u, too large", path, i, dim);
        x->dims[i] = (int)dim;
        x->size *= dim;
    }
    return CN_OK;
}

cn_status cn_idx_read(const char *path, cn_idx *out, cn_error *e) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return cn_error_set(e, CN_ERR_IO, "cannot open IDX file %s: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 17);
    cn_idx x = {0};
    cn_status status = read_header(f, path, &x, e);
    if (status == CN_OK) status = read_data(f, path, &x, e);
    gzclose(f);
    if (status != CN_OK) {
        cn_idx_free(&x);
        return status;
    }
    *out = x;
    return CN_OK;
}

float cn_idx_float(const cn_idx *x, size_t i) {
    const uint8_t *b = x->data + 4 * i;
    uint32_t bits = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

cn_status cn_idx_write_floats(const char *path, const float *images, int n, int c, int h, int w, cn_error *e) {
    uint32_t dims[4] = {(uint32_t)n, (uint32_t)h, (uint32_t)w, (uint32_t)c};
    int ndims = c == 1 ? 3 : 4;
    uint8_t header[4 + 16] = {0, 0, CN_IDX_FLOAT, (uint8_t)ndims};
    for (int i = 0; i < ndims; i++)
        for (int k = 0; k < 4; k++) header[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    size_t pixels = (size_t)h * w, values = pixels * (size_t)c;
    uint8_t *image = malloc(4 * values);
    if (!image) return cn_error_set(e, CN_ERR_NOMEM, "IDX file %s: out of memory", path);
    cn_atomic_file f;
    cn_status s = cn_atomic_open(&f, path, "IDX file", e);
    if (s == CN_OK) {
        cn_atomic_write(&f, header, 4 + 4 * (size_t)ndims);
        for (size_t i = 0; i < (size_t)n; i++) {
            /* IDX keeps the channel last: [h][w][c] from our [c][h][w] */
            for (size_t p = 0; p < pixels; p++)
                for (size_t ch = 0; ch < (size_t)c; ch++) {
                    uint32_t bits;
                    memcpy(&bits, images + (i * (size_t)c + ch) * pixels + p, sizeof bits);
                    for (int k = 0; k < 4; k++) image[4 * (p * (size_t)c + ch) + (size_t)k] = (uint8_t)(bits >> (24 - 8 * k));
                }
            cn_atomic_write(&f, image, 4 * values);
        }
        s = cn_atomic_commit(&f, e);
    }
    free(image);
    return s;
}

void cn_idx_free(cn_idx *x) {
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}
