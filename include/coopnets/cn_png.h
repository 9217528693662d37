/* cn_png: 8-bit images in memory, PNG read and write (libpng), and the crop + resize that brings
 * any image to a network's square input.
 *
 * Reading accepts every PNG kind (gray, gray+alpha, RGB, RGBA, palette; 1, 2, 4, 8 and 16 bits;
 * interlaced) and returns 8-bit gray or RGB. Writing encodes in memory and writes the file
 * atomically, so a reader never sees half an image. */
#ifndef CN_PNG_H
#define CN_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Interleaved rows (height × width × channels); channels is 1 (gray) or 3 (RGB). */
typedef struct cn_image8 {
    int width, height, channels;
    uint8_t *pixels;
} cn_image8;

/* Alpha is dropped, palettes are expanded, 16-bit samples are rounded to 8 bits, sub-byte gray is
 * stretched to 0..255. A missing file is CN_ERR_IO; a corrupt or truncated one is CN_ERR_FORMAT;
 * both messages name the file and the reason. *img is untouched on failure. */
cn_status cn_png_read(const char *path, cn_image8 *img, cn_error *e);

/* Encodes img (8-bit gray or RGB) as a PNG file's bytes in a new buffer: *data (the caller frees
 * it) of *size bytes. */
cn_status cn_png_encode(const cn_image8 *img, unsigned char **data, size_t *size, cn_error *e);

/* cn_png_encode, then the bytes written atomically (cn_atomic_write_file): on failure PATH is left
 * as it was. */
cn_status cn_png_write(const char *path, const cn_image8 *img, cn_error *e);

/* Frees the pixels and zeroes the struct (safe on a zeroed struct). */
void cn_image8_free(cn_image8 *img);

/* Crops the centred square of src, resizes it to size × size (area average when shrinking,
 * bilinear with pixel-centre alignment when enlarging) and converts it to `channels`
 * (3 → 1: ITU-R 601 luma; 1 → 3: the gray value in every channel). dst gets new pixels. */
cn_status cn_image8_fit(const cn_image8 *src, int size, int channels, cn_image8 *dst, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
