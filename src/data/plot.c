/* Training-curve charts: axes with "nice" ticks, grid lines, up to four coloured series, a title
 * and a legend, drawn into an RGB image and written as PNG. Text uses a built-in 3×5 font. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopnets/cn_plot.h"
#include "coopnets/cn_png.h"

#define FONT_SCALE 2                          /* each font pixel is 2×2 image pixels */
#define GLYPH_W (3 * FONT_SCALE)
#define GLYPH_H (5 * FONT_SCALE)
#define ADVANCE (GLYPH_W + FONT_SCALE)        /* one font pixel between characters */
#define MIN_WIDTH 200
#define MIN_HEIGHT 150
#define MAX_SIDE 8192
#define TICK_TARGET 6

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

static const rgb series_colours[CN_PLOT_MAX_SERIES] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}};
static const rgb black = {0, 0, 0}, grid_grey = {225, 225, 225}, border_grey = {160, 160, 160};

/* Each glyph is five rows of three pixels, one octal digit per row (4 = left pixel). Letters are
 * upper-case only; other characters fall back to '?'. */
static const struct glyph {
    char ch;
    char rows[6];
} font[] = {
    {'0', "75557"}, {'1', "26227"}, {'2', "71747"}, {'3', "71717"}, {'4', "55711"}, {'5', "74717"},
    {'6', "74757"}, {'7', "71122"}, {'8', "75757"}, {'9', "75717"}, {'A', "25755"}, {'B', "65656"},
    {'C', "34443"}, {'D', "65556"}, {'E', "74647"}, {'F', "74644"}, {'G', "34553"}, {'H', "55755"},
    {'I', "72227"}, {'J', "11152"}, {'K', "55655"}, {'L', "44447"}, {'M', "57755"}, {'N', "65555"},
    {'O', "25552"}, {'P', "65644"}, {'Q', "25563"}, {'R', "65655"}, {'S', "34216"}, {'T', "72222"},
    {'U', "55557"}, {'V', "55552"}, {'W', "55775"}, {'X', "55255"}, {'Y', "55222"}, {'Z', "71247"},
    {'.', "00002"}, {'-', "00700"}, {'+', "02720"}, {':', "02020"}, {'_', "00007"}, {'/', "11244"},
    {'(', "24442"}, {')', "21112"}, {'[', "64446"}, {']', "31113"}, {'=', "07070"}, {',', "00024"},
    {'%', "51245"}, {' ', "00000"}, {'?', "71202"},
};

static const char *glyph_rows(char ch) {
    char up = (char)toupper((unsigned char)ch);
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].ch == up) return font[i].rows;
    return glyph_rows('?');
}

/* ---- drawing on an RGB canvas ------------------------------------------------------------------ */

typedef struct box {
    int x0, y0, x1, y1; /* inclusive */
} box;

static void put(cn_image8 *img, box clip, int x, int y, rgb c) {
    if (x < clip.x0 || x > clip.x1 || y < clip.y0 || y > clip.y1) return;
    uint8_t *p = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

static box whole(const cn_image8 *img) {
    return (box){0, 0, img->width - 1, img->height - 1};
}

static void fill(cn_image8 *img, box b, rgb c) {
    for (int y = b.y0; y <= b.y1; y++)
        for (int x = b.x0; x <= b.x1; x++) put(img, whole(img), x, y, c);
}

static void outline(cn_image8 *img, box b, rgb c) {
    fill(img, (box){b.x0, b.y0, b.x1, b.y0}, c);
    fill(img, (box){b.x0, b.y1, b.x1, b.y1}, c);
    fill(img, (box){b.x0, b.y0, b.x0, b.y1}, c);
    fill(img, (box){b.x1, b.y0, b.x1, b.y1}, c);
}

static int text_width(const char *text) {
    int n = (int)strlen(text);
    return n ? n * ADVANCE - FONT_SCALE : 0;
}

/* (x, y) is the top-left corner of the first glyph. */
static void draw_text(cn_image8 *img, int x, int y, const char *text, rgb c) {
    for (; *text; text++, x += ADVANCE) {
        const char *rows = glyph_rows(*text);
        for (int row = 0; row < 5; row++)
            for (int col = 0; col < 3; col++)
                if ((rows[row] - '0') & (4 >> col))
                    fill(img, (box){x + col * FONT_SCALE, y + row * FONT_SCALE, x + col * FONT_SCALE + FONT_SCALE - 1,
                                    y + row * FONT_SCALE + FONT_SCALE - 1},
                         c);
    }
}

/* Bresenham, clipped pixel by pixel to `clip`. */
static void draw_line(cn_image8 *img, box clip, int x0, int y0, int x1, int y1, rgb c) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        put(img, clip, x0, y0, c);
        if (x0 == x1 && y0 == y1) return;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* ---- axes -------------------------------------------------------------------------------------- */

/* A data range widened to whole multiples of a 1-2-5 step giving about TICK_TARGET ticks. */
typedef struct axis {
    double lo, hi, step;
} axis;

static axis make_axis(double lo, double hi) {
    if (!(lo <= hi)) lo = 0, hi = 1; /* no finite data */
    if (hi - lo < 1e-12 * fmax(fabs(lo), 1.0)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.5 : 1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / TICK_TARGET, magnitude = pow(10, floor(log10(raw))), unit = raw / magnitude;
    double step = (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * magnitude;
    return (axis){floor(lo / step) * step, ceil(hi / step) * step, step};
}

static int tick_count(axis a) {
    return (int)floor((a.hi - a.lo) / a.step + 0.5) + 1;
}

static void tick_label(axis a, int i, char *text, size_t size) {
    double v = a.lo + i * a.step;
    if (fabs(v) < a.step * 1e-9) v = 0; /* not "-2.2e-17" */
    snprintf(text, size, "%.4g", v);
}

static int to_pixel(double v, axis a, int p0, int p1) {
    double t = (v - a.lo) / (a.hi - a.lo);
    return p0 + (int)lround(t * (p1 - p0));
}

static int finite_point(const cn_series *s, size_t i) {
    return isfinite(s->x[i]) && isfinite(s->y[i]);
}

/* ---- the chart --------------------------------------------------------------------------------- */

static void draw_series(cn_image8 *img, box area, const cn_series *s, axis ax, axis ay, rgb c) {
    for (size_t i = 0; i < s->count; i++) {
        if (!finite_point(s, i)) continue;
        int x = to_pixel(s->x[i], ax, area.x0, area.x1), y = to_pixel(s->y[i], ay, area.y1, area.y0);
        int joined_before = i > 0 && finite_point(s, i - 1), joined_after = i + 1 < s->count && finite_point(s, i + 1);
        if (joined_after)
            draw_line(img, area, x, y, to_pixel(s->x[i + 1], ax, area.x0, area.x1),
                      to_pixel(s->y[i + 1], ay, area.y1, area.y0), c);
        else if (!joined_before) /* an isolated point would vanish as a line: draw a dot */
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) put(img, area, x + dx, y + dy, c);
    }
}

static void draw_legend(cn_image8 *img, box area, const cn_series *series, int nseries) {
    int widest = 0, lines = 0;
    for (int k = 0; k < nseries; k++)
        if (series[k].name && *series[k].name) {
            int w = text_width(series[k].name);
            if (w > widest) widest = w;
            lines++;
        }
    if (!lines) return;
    const int swatch = 14, pad = 5, line_h = GLYPH_H + 4;
    box b = {area.x1 - (2 * pad + swatch + 4 + widest), area.y0 + 4, area.x1 - 4, area.y0 + 4 + 2 * pad + lines * line_h - 4};
    fill(img, b, (rgb){255, 255, 255});
    outline(img, b, border_grey);
    int y = b.y0 + pad;
    for (int k = 0; k < nseries; k++) {
        if (!series[k].name || !*series[k].name) continue;
        fill(img, (box){b.x0 + pad, y + GLYPH_H / 2 - 1, b.x0 + pad + swatch - 1, y + GLYPH_H / 2 + 1}, series_colours[k]);
        draw_text(img, b.x0 + pad + swatch + 4, y, series[k].name, black);
        y += line_h;
    }
}

cn_status cn_plot_write(const char *path, const char *title, const cn_series *series, int nseries, int width,
                        int height, cn_error *e) {
    if (nseries < 0 || nseries > CN_PLOT_MAX_SERIES || (nseries && !series))
        return cn_error_set(e, CN_ERR_ARG, "plot %s: %d series (at most %d)", path, nseries, CN_PLOT_MAX_SERIES);
    if (width < MIN_WIDTH || height < MIN_HEIGHT || width > MAX_SIDE || height > MAX_SIDE)
        return cn_error_set(e, CN_ERR_ARG, "plot %s: size %d x %d (need %d..%d x %d..%d)", path, width, height, MIN_WIDTH,
                            MAX_SIDE, MIN_HEIGHT, MAX_SIDE);
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < nseries; k++)
        for (size_t i = 0; i < series[k].count; i++)
            if (finite_point(&series[k], i)) {
                xlo = fmin(xlo, series[k].x[i]);
                xhi = fmax(xhi, series[k].x[i]);
                ylo = fmin(ylo, series[k].y[i]);
                yhi = fmax(yhi, series[k].y[i]);
            }
    axis ax = make_axis(xlo, xhi), ay = make_axis(ylo, yhi);
    char label[32];
    int label_width = 0;
    for (int i = 0; i < tick_count(ay); i++) {
        tick_label(ay, i, label, sizeof label);
        if (text_width(label) > label_width) label_width = text_width(label);
    }
    box area = {label_width + 14, GLYPH_H + 14, width - 14, height - GLYPH_H - 16};
    box inside = {area.x0 + 1, area.y0 + 1, area.x1 - 1, area.y1 - 1}; /* data and ticks map here */

    cn_image8 img = {width, height, 3, malloc((size_t)width * (size_t)height * 3)};
    if (!img.pixels) return cn_error_set(e, CN_ERR_NOMEM, "plot %s: out of memory", path);
    memset(img.pixels, 255, (size_t)width * (size_t)height * 3);
    for (int i = 0; i < tick_count(ay); i++) {
        int y = to_pixel(ay.lo + i * ay.step, ay, inside.y1, inside.y0);
        fill(&img, (box){area.x0, y, area.x1, y}, grid_grey);
        fill(&img, (box){area.x0 - 4, y, area.x0 - 1, y}, black);
        tick_label(ay, i, label, sizeof label);
        draw_text(&img, area.x0 - 7 - text_width(label), y - GLYPH_H / 2, label, black);
    }
    int last_label_end = -1000000;
    for (int i = 0; i < tick_count(ax); i++) {
        int x = to_pixel(ax.lo + i * ax.step, ax, inside.x0, inside.x1);
        fill(&img, (box){x, area.y0, x, area.y1}, grid_grey);
        fill(&img, (box){x, area.y1 + 1, x, area.y1 + 4}, black);
        tick_label(ax, i, label, sizeof label);
        int left = x - text_width(label) / 2;
        if (left > last_label_end + ADVANCE) { /* skip labels that would overlap their neighbour */
            draw_text(&img, left, area.y1 + 7, label, black);
            last_label_end = left + text_width(label);
        }
    }
    outline(&img, area, black);
    for (int k = 0; k < nseries; k++) draw_series(&img, inside, &series[k], ax, ay, series_colours[k]);
    draw_legend(&img, inside, series, nseries);
    if (title) draw_text(&img, (width - text_width(title)) / 2, 6, title, black);

    cn_status status = cn_png_write(path, &img, e);
    cn_image8_free(&img);
    return status;
}
