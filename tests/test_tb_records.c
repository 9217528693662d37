/* The TensorBoard writer's records without TensorBoard (test_tensorboard.sh reads them back with
 * TensorBoard itself): CRC-32C's known answers, the framing of every record, the rewind keeping the
 * records of steps <= N and dropping a record cut short or damaged, and a fresh run removing the
 * files of the previous one. No OpenCL here. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopnets/cn_tensorboard.h"
#include "coopnets/cn_util.h"
#include "support/cn_test.h"

static char dir[256];

static uint32_t masked(const unsigned char *p, size_t n) {
    uint32_t c = cn_crc32c(0, p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The path of the only event file of dir ("" when there is not exactly one). */
static const char *only_event_file(void) {
    static char path[600];
    int found = 0;
    DIR *d = opendir(dir);
    struct dirent *ent;
    while (d && (ent = readdir(d)))
        if (strstr(ent->d_name, "tfevents") && ++found == 1) snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    if (d) closedir(d);
    return found == 1 ? path : "";
}

/* Whole, well-framed records at the start of the file; *tail gets the bytes after them. */
static int count_records(const char *path, long *tail) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    static unsigned char data[1 << 16];
    size_t size = fread(data, 1, sizeof data, f), at = 0;
    fclose(f);
    int n = 0;
    while (size - at >= 16) {
        uint64_t len = le(data + at, 8);
        if (le(data + at + 8, 4) != masked(data + at, 8) || len > size - at - 16 ||
            le(data + at + 12 + len, 4) != masked(data + at + 12, len))
            break;
        at += 16 + len;
        n++;
    }
    *tail = (long)(size - at);
    return n;
}

static void append(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "ab");
    CHECK(f && fwrite(bytes, 1, n, f) == n, "appending to %s", path);
    if (f) fclose(f);
}

int main(void) {
    CHECK(cn_crc32c(0, "123456789", 9) == 0xE3069283u, "CRC-32C of \"123456789\": %08x", cn_crc32c(0, "123456789", 9));
    CHECK(cn_crc32c(0, "", 0) == 0, "CRC-32C of nothing");
    CHECK(cn_crc32c(cn_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u, "CRC-32C continued over two pieces");
    static const unsigned char zeros[32] = {0};
    CHECK(cn_crc32c(0, zeros, 32) == 0x8A9136AAu, "CRC-32C of 32 zero bytes (RFC 3720): %08x", cn_crc32c(0, zeros, 32));

    snprintf(dir, sizeof dir, "/tmp/cn_test_tb.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    cn_tb_writer w;
    CHECK_OK(cn_tb_open(&w, dir, 0, 0, "{}", TE));
    for (uint64_t step = 1; step <= 5; step++) {
        const cn_tb_scalar s[] = {{"loss/a", (double)step}, {"loss/b", NAN}};
        CHECK_OK(cn_tb_scalars(&w, step, s, 2, TE));
    }
    const cn_tb_scalar none[] = {{"loss/b", INFINITY}};
    CHECK_OK(cn_tb_scalars(&w, 6, none, 1, TE)); /* nothing finite: no record */
    CHECK_OK(cn_tb_sync(&w, TE));
    cn_tb_close(&w);
    const char *path = only_event_file();
    long tail = -1;
    CHECK(count_records(path, &tail) == 7 && tail == 0, "version, config and 5 scalar records, nothing else: %d, tail %ld",
          count_records(path, &tail), tail);

    /* A record cut short at the end (a power loss) and the rewind to step 3 */
    static const unsigned char half[] = {40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5};
    append(path, half, sizeof half);
    CHECK(count_records(path, &tail) == 7 && tail == (long)sizeof half, "the cut record is there before the rewind");
    CHECK_OK(cn_tb_rewind_dir(dir, 3, TE));
    CHECK(count_records(path, &tail) == 5 && tail == 0, "rewound to 3: version, config, steps 1..3 (%d records, tail %ld)",
          count_records(path, &tail), tail);

    /* A damaged byte in the 4th record: it and what follows are dropped */
    struct stat st;
    stat(path, &st);
    long size_before = (long)st.st_size;
    cn_test_flip_byte(path, size_before - 10, 0x40);
    CHECK_OK(cn_tb_rewind_dir(dir, 100, TE));
    CHECK(count_records(path, &tail) == 4 && tail == 0, "a damaged record and the rest dropped (%d records)",
          count_records(path, &tail));

    /* The config of the step rewound to is dropped (the caller writes the new one) */
    CHECK_OK(cn_tb_open(&w, dir, 1, 2, "{\"lr\": 1}", TE));
    cn_tb_close(&w);
    int files = 0;
    DIR *d = opendir(dir);
    struct dirent *ent;
    while (d && (ent = readdir(d))) files += strstr(ent->d_name, "tfevents") != NULL;
    if (d) closedir(d);
    CHECK(files == 2, "a resumed run adds a file: %d", files);
    CHECK(strcmp(w.path, path) > 0, "the resumed run's file %s sorts after %s", w.path, path);
    CHECK(count_records(w.path, &tail) == 2, "the new file: version and the config at 2");
    CHECK_OK(cn_tb_rewind_dir(dir, 2, TE));
    CHECK(count_records(path, &tail) == 4, "the first file keeps version, config at 0 and steps 1, 2");
    CHECK(count_records(w.path, &tail) == 1, "the config at the step rewound to is dropped (its caller writes anew)");
    remove(w.path);

    /* A fresh run removes the old files */
    CHECK_OK(cn_tb_open(&w, dir, 0, 0, "{}", TE));
    cn_tb_close(&w);
    path = only_event_file();
    CHECK(path[0] && count_records(path, &tail) == 2, "a fresh run: one file, version and config");
    CHECK(cn_tb_open(&w, "/nonexistent/run", 0, 0, "{}", TE) == CN_ERR_IO && strstr(TE->message, "/nonexistent/run"),
          "a missing run folder is named: %s", TE->message);

    remove(path);
    rmdir(dir);
    return cn_test_finish();
}
