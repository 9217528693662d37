/* One function per fuzz target: feeds one input to a parser the way coopnets_cl reads that kind of
 * file. The libFuzzer harnesses (fuzz_*.c) and the regression test (test_fuzz_regressions.c, which
 * replays tests/fuzz/regressions/ and tests/fuzz/corpus/) share them, so a stored crash replays
 * exactly as the fuzzer found it. Each returns the parser's status; e holds its message. */
#ifndef CN_FUZZ_TARGETS_H
#define CN_FUZZ_TARGETS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "coopnets/cn_checkpoint.h"
#include "coopnets/cn_config.h"
#include "coopnets/cn_data.h"
#include "coopnets/cn_png.h"

/* The PNG, IDX and checkpoint readers take a path: each input goes to one temporary file per
 * process ($TMPDIR, else /tmp), rewritten for every input and removed at exit. */
static char cn_fuzz_path[256];

static inline void cn_fuzz_remove_file(void) { unlink(cn_fuzz_path); }

static inline const char *cn_fuzz_file(const uint8_t *data, size_t size) {
    if (!cn_fuzz_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(cn_fuzz_path, sizeof cn_fuzz_path, "%s/cn_fuzz.XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(cn_fuzz_path);
        if (fd < 0) {
            perror(cn_fuzz_path);
            abort();
        }
        close(fd);
        atexit(cn_fuzz_remove_file);
    }
    FILE *f = fopen(cn_fuzz_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(cn_fuzz_path);
        abort();
    }
    return cn_fuzz_path;
}

/* Config: the input up to its first NUL is the JSON text; each NUL-separated piece after it is a
 * --set override ("key.path=value"), applied before validation as the CLI does. */
static inline cn_status cn_fuzz_config(const uint8_t *data, size_t size, cn_error *e) {
    char *text = malloc(size + 1);
    const char *overrides[8];
    int count = 0;
    if (!text) return CN_ERR_NOMEM;
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = strlen(text); i < size && count < 8; i += strlen(text + i + 1) + 1)
        overrides[count++] = text + i + 1;
    cn_config c;
    cn_status s = cn_config_parse(text, "fuzz.json", overrides, count, &c, e);
    free(text);
    return s;
}

/* PNG: every chunk's CRC is recomputed first (libpng rejects a chunk whose CRC does not match, so
 * mutations would otherwise stop there), then the image is read and fitted to a 16×16 gray and a
 * 16×16 RGB network input, as the data loader does. */
static inline cn_status cn_fuzz_png(const uint8_t *data, size_t size, cn_error *e) {
    uint8_t *file = malloc(size ? size : 1);
    if (!file) return CN_ERR_NOMEM;
    memcpy(file, data, size);
    for (size_t at = 8; at + 12 <= size;) { /* length, type, data, CRC of type + data */
        size_t length = (size_t)file[at] << 24 | (size_t)file[at + 1] << 16 | (size_t)file[at + 2] << 8 | file[at + 3];
        if (length > size - at - 12) break;
        uLong crc = crc32(0L, file + at + 4, (uInt)(length + 4));
        for (int k = 0; k < 4; k++) file[at + 8 + length + k] = (uint8_t)(crc >> (24 - 8 * k));
        at += length + 12;
    }
    cn_image8 img = {0}, fitted = {0};
    cn_status s = cn_png_read(cn_fuzz_file(file, size), &img, e);
    free(file);
    for (int channels = 1; channels <= 3 && s == CN_OK; channels += 2) {
        s = cn_image8_fit(&img, 16, channels, &fitted, e);
        cn_image8_free(&fitted);
    }
    cn_image8_free(&img);
    return s;
}

static inline cn_status cn_fuzz_idx(const uint8_t *data, size_t size, cn_error *e) {
    cn_idx x = {0};
    cn_status s = cn_idx_read(cn_fuzz_file(data, size), &x, e);
    cn_idx_free(&x);
    return s;
}

/* The checkpoint's trailing checksum (FNV-1a 64 of every byte before it, cn_checkpoint.h). */
static inline uint64_t cn_fuzz_fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Checkpoint: the file is the input with a valid checksum appended, so that the fuzzer's mutations
 * reach the parsing behind the checksum (the header, its config), which a random mutation would
 * otherwise never pass. A checkpoint in the corpus is therefore stored without its last 8 bytes. */
static inline cn_status cn_fuzz_checkpoint(const uint8_t *data, size_t size, cn_error *e) {
    uint8_t *file = malloc(size + 8);
    if (!file) return CN_ERR_NOMEM;
    memcpy(file, data, size);
    uint64_t hash = cn_fuzz_fnv1a(data, size);
    memcpy(file + size, &hash, 8);
    cn_config c;
    uint64_t iteration;
    cn_status s = cn_checkpoint_read_config(cn_fuzz_file(file, size + 8), &c, &iteration, e);
    free(file);
    return s;
}

/* The libFuzzer entry point of a harness that runs `target` on each input. */
#define CN_FUZZ_MAIN(target)                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { \
        cn_error e = {0};                                        \
        target(data, size, &e);                                  \
        cn_error_clear(&e);                                      \
        return 0;                                                \
    }

#endif
