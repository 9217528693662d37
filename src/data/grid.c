/* Sample grids: a batch of [-1, 1] images tiled into one PNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_data.h"
#include "coopnets/cn_png.h"

#define GRID_GAP 2
#define GRID_GAP_VALUE 255

/* [-1, 1] -> 0..255, rounded; out-of-range values clamp and NaN shows as 0. */
static uint8_t to_byte(float v) {
    double x = v >= -1.0f ? (v <= 1.0f ? v : 1.0) : -1.0;
    return (uint8_t)floor((x + 1) * 127.5 + 0.5);
}

cn_status cn_grid_write(const char *path, const float *images, int n, int c, int h, int w, int cols, cn_error *e) {
    if (n <= 0 || h <= 0 || w <= 0 || (c != 1 && c != 3))
        return cn_error_set(e, CN_ERR_ARG, "sample grid %s: %d images of %d x %d x %d (need n, h, w >= 1, c 1 or 3)",
                            path, n, c, h, w);
    if (cols <= 0) cols = (int)ceil(sqrt((double)n));
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    cn_image8 grid = {cols * w + (cols - 1) * GRID_GAP, rows * h + (rows - 1) * GRID_GAP, c, NULL};
    size_t row_bytes = (size_t)grid.width * (size_t)c, plane = (size_t)h * (size_t)w;
    grid.pixels = malloc(row_bytes * (size_t)grid.height);
    if (!grid.pixels)
        return cn_error_set(e, CN_ERR_NOMEM, "sample grid %s: out of memory for %d x %d pixels", path, grid.width,
                            grid.height);
    memset(grid.pixels, GRID_GAP_VALUE, row_bytes * (size_t)grid.height);
    for (int i = 0; i < n; i++) {
        const float *image = images + (size_t)i * (size_t)c * plane;
        size_t left = (size_t)(i % cols) * (size_t)(w + GRID_GAP), top = (size_t)(i / cols) * (size_t)(h + GRID_GAP);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    grid.pixels[(top + (size_t)y) * row_bytes + (left + (size_t)x) * (size_t)c + (size_t)k] =
                        to_byte(image[(size_t)k * plane + (size_t)y * (size_t)w + (size_t)x]);
    }
    cn_status status = cn_png_write(path, &grid, e);
    cn_image8_free(&grid);
    return status;
}
