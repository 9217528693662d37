/* PNG read/write through libpng, and the crop + resize to a square network input. */
#include "coopnets/cn_png.h"
#include "coopnets/cn_atomic_file.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libpng reports errors through a callback that must not return: it records the reason here and
 * longjmps back to the one function that called setjmp. Everything that function allocates lives
 * in this struct, which its caller owns, so no local variable is live across the jump and the
 * caller frees whatever was made before the failure. */
typedef struct png_session {
    png_structp png;
    png_infop info;
    FILE *file;
    size_t file_bytes;
    char reason[256];
    int out_of_memory;
    /* reading: the decoded image before alpha is dropped */
    int width, height, channels;
    png_bytep pixels;
    png_bytepp rows;
    /* writing: the encoded file */
    unsigned char *out;
    size_t out_bytes, out_capacity;
} png_session;

static void on_png_error(png_structp png, png_const_charp message) {
    png_session *s = png_get_error_ptr(png);
    snprintf(s->reason, sizeof s->reason, "%s", message);
    png_longjmp(png, 1);
}

/* Warnings (unknown chunks, odd colour profiles) do not change the pixels we use. */
static void on_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

/* Replaces libpng's reader so a short file says "truncated" instead of "Read Error". */
static void read_from_file(png_structp png, png_bytep data, size_t length) {
    png_session *s = png_get_io_ptr(png);
    if (fread(data, 1, length, s->file) != length)
        png_error(png, ferror(s->file) ? "read error" : "unexpected end of file (the file is truncated)");
}

static void fail_out_of_memory(png_session *s) {
    s->out_of_memory = 1;
    png_error(s->png, "out of memory");
}

static int read_guarded(png_session *s) {
    if (setjmp(png_jmpbuf(s->png))) return 0;
    png_set_read_fn(s->png, s, read_from_file);
    png_set_sig_bytes(s->png, 8);
    png_read_info(s->png, s->info);
    /* A corrupt header can claim a huge image (found by tests/fuzz: 69 bytes asking for 2.8 GB).
     * Deflate expands at most 1032:1, so pixel data beyond that many times the file size cannot be
     * in it: refuse before allocating. */
    size_t raw_bytes = png_get_rowbytes(s->png, s->info) * (size_t)png_get_image_height(s->png, s->info);
    if (raw_bytes / 1032 > s->file_bytes) {
        char claim[128];
        snprintf(claim, sizeof claim, "the header claims %u x %u pixels, more than a %zu-byte file can hold",
                 (unsigned)png_get_image_width(s->png, s->info), (unsigned)png_get_image_height(s->png, s->info),
                 s->file_bytes);
        png_error(s->png, claim);
    }
    png_set_expand(s->png);   /* palette -> RGB, 1/2/4-bit gray -> 8-bit, tRNS -> alpha (dropped later) */
    png_set_scale_16(s->png); /* 16 -> 8 bits, rounded */
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);
    s->width = (int)png_get_image_width(s->png, s->info);
    s->height = (int)png_get_image_height(s->png, s->info);
    s->channels = png_get_channels(s->png, s->info);
    size_t row_bytes = png_get_rowbytes(s->png, s->info);
    if (row_bytes != (size_t)s->width * (size_t)s->channels) png_error(s->png, "unexpected row layout after expansion");
    s->pixels = malloc(row_bytes * (size_t)s->height);
    s->rows = malloc((size_t)s->height * sizeof *s->rows);
    if (!s->pixels || !s->rows) fail_out_of_memory(s);
    for (int y = 0; y < s->height; y++) s->rows[y] = s->pixels + (size_t)y * row_bytes;
    png_read_image(s->png, s->rows);
    png_read_end(s->png, NULL);
    return 1;
}

/* Drops the alpha sample of gray+alpha or RGBA pixels, in place. */
static void drop_alpha(png_session *s) {
    if (s->channels != 2 && s->channels != 4) return;
    int kept = s->channels - 1;
    size_t n = (size_t)s->width * (size_t)s->height;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < kept; c++) s->pixels[i * (size_t)kept + c] = s->pixels[i * (size_t)s->channels + c];
    s->channels = kept;
}

cn_status cn_png_read(const char *path, cn_image8 *img, cn_error *e) {
    png_session s = {0};
    cn_status status = CN_OK;
    png_byte signature[8];
    s.file = fopen(path, "rb");
    if (!s.file) return cn_error_set(e, CN_ERR_IO, "cannot open PNG %s: %s", path, strerror(errno));
    struct stat st;
    s.file_bytes = fstat(fileno(s.file), &st) == 0 ? (size_t)st.st_size : SIZE_MAX;
    size_t got = fread(signature, 1, sizeof signature, s.file);
    if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0) {
        status = cn_error_set(e, CN_ERR_FORMAT, "%s is not a PNG file (%s)", path,
                              got < sizeof signature ? "shorter than the 8-byte signature" : "bad signature");
        goto end;
    }
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_png_error, on_png_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    if (!s.info) {
        status = cn_error_set(e, CN_ERR_NOMEM, "reading PNG %s: out of memory", path);
        goto end;
    }
    if (!read_guarded(&s)) {
        status = s.out_of_memory
                     ? cn_error_set(e, CN_ERR_NOMEM, "reading PNG %s: out of memory for %d x %d pixels", path,
                                    s.width, s.height)
                     : cn_error_set(e, CN_ERR_FORMAT, "corrupt PNG %s: %s", path, s.reason);
        goto end;
    }
    drop_alpha(&s);
    *img = (cn_image8){.width = s.width, .height = s.height, .channels = s.channels, .pixels = s.pixels};
    s.pixels = NULL;
end:
    png_destroy_read_struct(&s.png, &s.info, NULL);
    free(s.rows);
    free(s.pixels);
    fclose(s.file);
    return status;
}

/* The encoder's output: a buffer that grows as libpng writes. */
static void write_to_memory(png_structp png, png_bytep data, size_t length) {
    png_session *s = png_get_io_ptr(png);
    if (s->out_bytes + length > s->out_capacity) {
        size_t capacity = (s->out_bytes + length) * 2;
        unsigned char *grown = realloc(s->out, capacity);
        if (!grown) fail_out_of_memory(s);
        s->out = grown, s->out_capacity = capacity;
    }
    memcpy(s->out + s->out_bytes, data, length);
    s->out_bytes += length;
}

static void flush_nothing(png_structp png) { (void)png; }

static int write_guarded(png_session *s, const cn_image8 *img) {
    if (setjmp(png_jmpbuf(s->png))) return 0;
    png_set_write_fn(s->png, s, write_to_memory, flush_nothing);
    png_set_IHDR(s->png, s->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    size_t row_bytes = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++) png_write_row(s->png, img->pixels + (size_t)y * row_bytes);
    png_write_end(s->png, NULL);
    return 1;
}

cn_status cn_png_encode(const cn_image8 *img, unsigned char **data, size_t *size, cn_error *e) {
    if (!img || !img->pixels || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
        return cn_error_set(e, CN_ERR_ARG, "a PNG needs a non-empty image with 1 or 3 channels");
    png_session s = {0};
    cn_status status = CN_OK;
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_png_error, on_png_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    if (!s.info || !write_guarded(&s, img))
        status = !s.info || s.out_of_memory
                     ? cn_error_set(e, CN_ERR_NOMEM, "out of memory encoding %d x %d pixels", img->width, img->height)
                     : cn_error_set(e, CN_ERR_FORMAT, "libpng cannot encode %d x %d pixels: %s", img->width,
                                    img->height, s.reason);
    png_destroy_write_struct(&s.png, &s.info);
    if (status != CN_OK) {
        free(s.out);
        return status;
    }
    *data = s.out;
    *size = s.out_bytes;
    return CN_OK;
}

cn_status cn_png_write(const char *path, const cn_image8 *img, cn_error *e) {
    unsigned char *data = NULL;
    size_t size = 0;
    cn_status s = cn_png_encode(img, &data, &size, e);
    if (s != CN_OK) {
        cn_error_prefix(e, "writing PNG %s", path);
        return s;
    }
    s = cn_atomic_write_file(path, "PNG", data, size, e);
    free(data);
    return s;
}

void cn_image8_free(cn_image8 *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* ---- crop and resize ------------------------------------------------------------------------- */

/* One axis of a separable resampling: output sample o is the sum over t < taps of
 * weight[o*taps + t] · input[first[o] + t] (inputs past the end have weight 0). */
typedef struct axis_filter {
    int taps;
    int *first;
    double *weight;
} axis_filter;

static int axis_filter_make(axis_filter *f, int in, int out) {
    double scale = (double)in / out;
    f->taps = scale > 1 ? (int)ceil(scale) + 1 : 2;
    f->first = malloc((size_t)out * sizeof *f->first);
    f->weight = calloc((size_t)out * (size_t)f->taps, sizeof *f->weight);
    if (!f->first || !f->weight) return 0;
    for (int o = 0; o < out; o++) {
        double *w = f->weight + (size_t)o * (size_t)f->taps;
        if (scale >= 1) { /* area: each input pixel weighs by how much of [lo, hi) it covers */
            double lo = o * scale, hi = lo + scale;
            int k0 = (int)floor(lo);
            f->first[o] = k0;
            for (int t = 0; t < f->taps && k0 + t < in; t++) {
                double overlap = fmin(hi, k0 + t + 1.0) - fmax(lo, (double)(k0 + t));
                if (overlap > 0) w[t] = overlap / scale;
            }
        } else { /* bilinear between the two input centres around the output centre */
            double x = fmin(fmax((o + 0.5) * scale - 0.5, 0.0), in - 1.0);
            int k0 = (int)floor(x);
            f->first[o] = k0;
            w[0] = 1 - (x - k0);
            w[1] = x - k0;
        }
    }
    return 1;
}

static void axis_filter_free(axis_filter *f) {
    free(f->first);
    free(f->weight);
}

/* `count` pixels of row y of src from column x0, as `channels` doubles each: 3 -> 1 is ITU-R 601
 * luma, 1 -> 3 repeats gray. */
static void convert_row(const cn_image8 *src, int x0, int y, int count, int channels, double *out) {
    const uint8_t *p = src->pixels + ((size_t)y * (size_t)src->width + (size_t)x0) * (size_t)src->channels;
    for (int x = 0; x < count; x++, p += src->channels, out += channels)
        for (int c = 0; c < channels; c++)
            out[c] = src->channels == channels ? p[c] : channels == 1 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
}

/* out[o][:] = sum over t of weight[o][t] · in[first[o] + t][:], for vectors of `length` doubles:
 * with length = channels it filters a row, with length = row size it filters the column direction. */
static void filter_apply(const axis_filter *f, int out_count, int in_count, size_t length, const double *in, double *out) {
    for (int o = 0; o < out_count; o++) {
        double *acc = out + (size_t)o * length;
        for (size_t j = 0; j < length; j++) acc[j] = 0;
        for (int t = 0; t < f->taps && f->first[o] + t < in_count; t++) {
            double w = f->weight[(size_t)o * (size_t)f->taps + (size_t)t];
            const double *src = in + (size_t)(f->first[o] + t) * length;
            for (size_t j = 0; j < length; j++) acc[j] += w * src[j];
        }
    }
}

cn_status cn_image8_fit(const cn_image8 *src, int size, int channels, cn_image8 *dst, cn_error *e) {
    if (!src || !src->pixels || src->width <= 0 || src->height <= 0 || (src->channels != 1 && src->channels != 3))
        return cn_error_set(e, CN_ERR_ARG, "image fit: the source must be a non-empty gray or RGB image");
    if (size <= 0 || (channels != 1 && channels != 3))
        return cn_error_set(e, CN_ERR_ARG, "image fit: size %d and channels %d (need size >= 1, channels 1 or 3)",
                            size, channels);
    int side = src->width < src->height ? src->width : src->height;
    int x0 = (src->width - side) / 2, y0 = (src->height - side) / 2;
    size_t out_row = (size_t)size * (size_t)channels;
    axis_filter filter = {0};
    double *line = malloc((size_t)side * (size_t)channels * sizeof *line);
    double *rows = malloc((size_t)side * out_row * sizeof *rows); /* the crop resized across: [side][size][c] */
    double *result = malloc((size_t)size * out_row * sizeof *result);
    uint8_t *pixels = malloc((size_t)size * out_row);
    cn_status status = CN_OK;
    if (!line || !rows || !result || !pixels || !axis_filter_make(&filter, side, size)) {
        status = cn_error_set(e, CN_ERR_NOMEM, "image fit: out of memory for %d x %d -> %d x %d", src->width,
                              src->height, size, size);
        free(pixels);
        goto end;
    }
    /* Across each row of the crop, then down the columns; both axes use the same filter. */
    for (int y = 0; y < side; y++) {
        convert_row(src, x0, y0 + y, side, channels, line);
        filter_apply(&filter, size, side, (size_t)channels, line, rows + (size_t)y * out_row);
    }
    filter_apply(&filter, size, side, out_row, rows, result);
    for (size_t i = 0; i < (size_t)size * out_row; i++) /* round half up, clamped */
        pixels[i] = result[i] <= 0 ? 0 : result[i] >= 255 ? 255 : (uint8_t)(result[i] + 0.5);
    *dst = (cn_image8){.width = size, .height = size, .channels = channels, .pixels = pixels};
end:
    free(line);
    free(rows);
    free(result);
    axis_filter_free(&filter);
    return status;
}
