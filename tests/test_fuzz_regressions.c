/* Replays the fuzz inputs through the same target functions the libFuzzer harnesses use
 * (tests/fuzz/fuzz_targets.h), without libFuzzer:
 *   tests/fuzz/regressions/<target>/  every input that once crashed a parser (kept after the fix):
 *                                     it must now end in a status, and a failure must say why;
 *   tests/fuzz/corpus/<target>/       the seeds: bad-* must fail with a message, the rest must read.
 * Under CN_SANITIZE (tools/sanitize.sh) this also checks them for memory errors. No device. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_targets.h"
#include "support/cn_test.h"

typedef cn_status (*target_fn)(const uint8_t *data, size_t size, cn_error *e);

static const struct {
    const char *name;
    target_fn run;
} targets[] = {
    {"config", cn_fuzz_config}, {"png", cn_fuzz_png}, {"idx", cn_fuzz_idx}, {"checkpoint", cn_fuzz_checkpoint}};

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs every file of folder/target; returns how many there were (-1: no such folder). */
static int replay(const char *folder, int t, int corpus) {
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fuzz/%s/%s", folder, targets[t].name);
    DIR *d = opendir(dir);
    if (!d) return -1;
    char *names[512];
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) && count < 512)
        if (ent->d_name[0] != '.') names[count++] = strdup(ent->d_name);
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, by_name);
    for (int i = 0; i < count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL, "cannot open %s", path);
        if (!f) continue;
        uint8_t *data = malloc(1 << 20);
        size_t size = fread(data, 1, 1 << 20, f);
        fclose(f);
        cn_error e = {0};
        cn_status s = targets[t].run(data, size, &e);
        int bad = strncmp(names[i], "bad-", 4) == 0;
        printf("%s: %s%s%s\n", path, cn_status_name(s), s ? ": " : "", s ? e.message : "");
        CHECK(s == CN_OK || e.message[0], "%s: %s without a message", path, cn_status_name(s));
        if (corpus && bad) CHECK(s != CN_OK, "%s is a bad-* seed but was read without an error", path);
        if (corpus && !bad) CHECK(s == CN_OK, "%s is a valid seed but failed: %s", path, e.message);
        cn_error_clear(&e);
        free(data);
        free(names[i]);
    }
    return count;
}

int main(void) {
    for (int t = 0; t < (int)(sizeof targets / sizeof *targets); t++) {
        int seeds = replay("corpus", t, 1), crashes = replay("regressions", t, 0);
        CHECK(seeds > 0, "no seed corpus in tests/fuzz/corpus/%s", targets[t].name);
        printf("%s: %d seeds, %d regression inputs\n", targets[t].name, seeds, crashes < 0 ? 0 : crashes);
    }
    return cn_test_finish();
}
