/* `coopnets_cl prepare SRC DST`: brings a folder of PNGs (faces) or a folder of category folders
 * (scenes) to the square size a config trains on — centre crop, resize, PNG — so that data.kind
 * "folder" or "categories" reads DST as it is. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "coopnets/cn_png.h"

typedef struct prepare {
    int size, channels, crop;
    long images, folders, skipped;
} prepare;

static int is_png(const char *name) {
    size_t len = strlen(name);
    return len > 4 && (strcmp(name + len - 4, ".png") == 0 || strcmp(name + len - 4, ".PNG") == 0);
}

static int make_folder(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return CN_EXIT_OK;
    fprintf(stderr, "coopnets_cl: cannot create folder %s: %s\n", path, strerror(errno));
    return CN_EXIT_FAILURE;
}

/* The centred side × side square of src (side below the shorter edge), else src itself. */
static cn_status centre_crop(const cn_image8 *src, int side, cn_image8 *dst, cn_error *e) {
    int shorter = src->width < src->height ? src->width : src->height;
    if (side <= 0 || side >= shorter) side = shorter;
    dst->width = dst->height = side;
    dst->channels = src->channels;
    dst->pixels = malloc((size_t)side * side * src->channels);
    if (!dst->pixels) return cn_error_set(e, CN_ERR_NOMEM, "out of memory cropping a %dx%d image", side, side);
    int top = (src->height - side) / 2, left = (src->width - side) / 2;
    size_t row = (size_t)side * src->channels;
    for (int y = 0; y < side; y++)
        memcpy(dst->pixels + y * row, src->pixels + (((size_t)(top + y) * src->width + left) * src->channels), row);
    return CN_OK;
}

static cn_status prepare_file(const prepare *p, const char *from, const char *to, cn_error *e) {
    cn_image8 in = {0}, cropped = {0}, out = {0};
    cn_status s = cn_png_read(from, &in, e);
    if (s == CN_OK) s = centre_crop(&in, p->crop, &cropped, e);
    if (s == CN_OK) s = cn_image8_fit(&cropped, p->size, p->channels, &out, e);
    if (s == CN_OK) s = cn_png_write(to, &out, e);
    cn_image8_free(&in);
    cn_image8_free(&cropped);
    cn_image8_free(&out);
    return s;
}

/* The PNGs of src into dst; with `depth` 1 also each sub-folder into its namesake (categories). */
static int prepare_folder(cn_cli *cli, prepare *p, const char *src, const char *dst, int depth) {
    DIR *d = opendir(src);
    if (!d) {
        fprintf(stderr, "coopnets_cl: cannot read folder %s: %s\n", src, strerror(errno));
        return CN_EXIT_FAILURE;
    }
    int rc = make_folder(dst);
    struct dirent *ent;
    while (rc == CN_EXIT_OK && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof from, "%s/%s", src, ent->d_name);
        struct stat st;
        if (stat(from, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth == 0) {
                p->skipped++;
                continue;
            }
            snprintf(to, sizeof to, "%s/%s", dst, ent->d_name);
            long before = p->images;
            rc = prepare_folder(cli, p, from, to, depth - 1);
            p->folders += p->images > before;
            continue;
        }
        if (!is_png(ent->d_name)) {
            p->skipped++;
            continue;
        }
        snprintf(to, sizeof to, "%s/%.*s.png", dst, (int)strlen(ent->d_name) - 4, ent->d_name);
        cn_error e = {0};
        if (prepare_file(p, from, to, &e) != CN_OK) rc = cn_cli_report(cli, &e);
        cn_error_clear(&e);
        if (rc == CN_EXIT_OK && ++p->images % 1000 == 0 && !cli->quiet) {
            printf("%ld images\n", p->images);
            fflush(stdout);
        }
    }
    closedir(d);
    return rc;
}

int cn_cmd_prepare(cn_cli *cli, int argc, char **argv) {
    const char *src = NULL, *dst = NULL, *channels = "3";
    long size = 64, crop = 0; /* crop 0: the shorter edge */
    const cn_cli_arg args[] = {{"SRC", .text = &src}, {"DST", .text = &dst}, {"--size", .count = &size, .min = 4},
                               {"--channels", .text = &channels}, {"--crop", .count = &crop, .min = 1}, {0}};
    if (cn_cli_parse("prepare", argc, argv, args) != CN_EXIT_OK) return CN_EXIT_USAGE;
    const int rgb = strcmp(channels, "3") == 0;
    if (!rgb && strcmp(channels, "1") != 0)
        return cn_cli_usage_error("prepare", "--channels must be 1 or 3, got '%s'", channels);
    if (!src || !dst) return cn_cli_usage_error("prepare", "%s", "needs a source folder and a destination folder");
    if (size > 4096) return cn_cli_usage_error("prepare", "%s", "--size must be at most 4096");
    struct stat a, b;
    if (stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return cn_cli_usage_error("prepare", "DST must differ from SRC (%s): the originals would be overwritten", src);
    prepare p = {(int)size, rgb ? 3 : 1, (int)crop, 0, 0, 0};
    int rc = prepare_folder(cli, &p, src, dst, 1);
    if (rc != CN_EXIT_OK) return rc;
    if (p.images == 0) {
        fprintf(stderr, "coopnets_cl: %s has no PNG images (nor sub-folders with any); JPEGs need converting first, "
                        "e.g. mogrify -format png *.jpg\n", src);
        return CN_EXIT_USAGE;
    }
    if (cli->quiet) return CN_EXIT_OK;
    printf("prepared %ld images into %s (%ldx%ld %s", p.images, dst, size, size, rgb ? "RGB" : "gray");
    if (p.folders) printf(", %ld category folders", p.folders);
    if (p.skipped) printf("; skipped %ld entries that are not PNG", p.skipped);
    printf(")\n");
    return CN_EXIT_OK;
}
