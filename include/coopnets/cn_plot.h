/* cn_plot: a small line chart as PNG for training curves (losses, scores against iteration). */
#ifndef CN_PLOT_H
#define CN_PLOT_H

#include <stddef.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_PLOT_MAX_SERIES 4

/* One curve: count points (x[i], y[i]). A point with a non-finite x or y is left out and breaks
 * the line there. */
typedef struct cn_series {
    const char *name;
    const double *x, *y;
    size_t count;
} cn_series;

/* Draws up to CN_PLOT_MAX_SERIES curves in distinct colours on shared linear axes with tick labels,
 * a title and a legend (a built-in 3×5 font: letters are shown upper-case), and writes a
 * width × height RGB PNG (at least 200 × 150) atomically. */
cn_status cn_plot_write(const char *path, const char *title, const cn_series *series, int nseries, int width,
                        int height, cn_error *e);

#ifdef __cplusplus
}
#endif
#endif
