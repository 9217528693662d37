/* cn_atomic_file: whole files or none. The content after commit, an abort and every kind of
 * failure (a write on a full disk through the fault switch, a missing folder, a target that cannot
 * be replaced, a path too long) leave the old file as it was and no temporary behind, and each
 * message names the path and the reason. No OpenCL here. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopnets/cn_atomic_file.h"
#include "support/cn_test.h"

static char dir[256];

static const char *at(const char *name) {
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* The file's whole content, NUL-terminated in a static buffer ("" when it cannot be read). */
static const char *content(const char *path) {
    static char text[256];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    return text;
}

static int leftovers(void) {
    DIR *d = opendir(dir);
    struct dirent *entry;
    int found = 0;
    while (d && (entry = readdir(d)) != NULL) found |= strstr(entry->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return found;
}

static void check_failure(cn_status got, cn_status want, const char *path_part, const char *reason, const char *what) {
    CHECK(got == want, "%s: status %s, want %s (%s)", what, cn_status_name(got), cn_status_name(want), TE->message);
    CHECK(strstr(TE->message, path_part) != NULL, "%s: the message does not name %s: %s", what, path_part, TE->message);
    CHECK(strstr(TE->message, reason) != NULL, "%s: the message lacks \"%s\": %s", what, reason, TE->message);
    CHECK(!leftovers(), "%s: a temporary file is left in %s", what, dir);
    printf("  %s: %s\n", what, TE->message);
}

int main(void) {
    /* The fault switch is read once: the 5th counted write fails (the streamed one below). */
    setenv("COOPNETS_FAULT", "write:5", 1);
    snprintf(dir, sizeof dir, "/tmp/cn_test_atomic.XXXXXX");
    if (!mkdtemp(dir)) return 1;

    /* writes 1 and 2: a whole file, then a second one replacing it */
    CHECK_OK(cn_atomic_write_file(at("a.txt"), "text", "first", 5, TE));
    CHECK(strcmp(content(at("a.txt")), "first") == 0, "a.txt holds \"%s\"", content(at("a.txt")));
    CHECK_OK(cn_atomic_write_file(at("a.txt"), "text", "second", 6, TE));
    CHECK(strcmp(content(at("a.txt")), "second") == 0, "a.txt replaced: \"%s\"", content(at("a.txt")));

    /* writes 3 and 4: streamed in pieces; while open, only the temporary exists */
    cn_atomic_file f;
    CHECK_OK(cn_atomic_open(&f, at("b.txt"), "stream", TE));
    CHECK(cn_atomic_write(&f, "ab", 2) && cn_atomic_write(&f, "cd", 2), "streamed writes succeed");
    struct stat st;
    CHECK(stat(at("b.txt"), &st) != 0 && leftovers(), "before the commit b.txt does not exist, its temporary does");
    CHECK_OK(cn_atomic_commit(&f, TE));
    CHECK(strcmp(content(at("b.txt")), "abcd") == 0 && !leftovers(), "b.txt holds \"%s\"", content(at("b.txt")));

    /* write 5 fails (a full disk): a.txt keeps its content, the later write does nothing */
    CHECK_OK(cn_atomic_open(&f, at("a.txt"), "text", TE));
    CHECK(!cn_atomic_write(&f, "third", 5), "the 5th write fails (COOPNETS_FAULT=write:5)");
    CHECK(!cn_atomic_write(&f, "more", 4), "writes after a failure fail too");
    check_failure(cn_atomic_commit(&f, TE), CN_ERR_IO, "a.txt", "No space left on device", "a full disk");
    CHECK(strcmp(content(at("a.txt")), "second") == 0, "a failed write changed a.txt: \"%s\"", content(at("a.txt")));
    CHECK(strncmp(TE->message, "cannot write text ", 18) == 0, "the message names the kind of file: %s", TE->message);

    /* abort: the old file stays */
    CHECK_OK(cn_atomic_open(&f, at("a.txt"), "text", TE));
    cn_atomic_write(&f, "aborted", 7);
    cn_atomic_abort(&f);
    CHECK(strcmp(content(at("a.txt")), "second") == 0 && !leftovers(), "abort kept a.txt: \"%s\"", content(at("a.txt")));

    /* a folder that does not exist; a target that is a folder (the rename fails) */
    check_failure(cn_atomic_write_file(at("nowhere/c.txt"), "text", "x", 1, TE), CN_ERR_IO, "nowhere/c.txt",
                  "No such file", "a missing folder");
    CHECK(mkdir(at("d"), 0755) == 0, "mkdir d");
    check_failure(cn_atomic_write_file(at("d"), NULL, "x", 1, TE), CN_ERR_IO, at("d"), "directory",
                  "a folder in the way");

    /* a path too long for its temporary name: refused before anything is created */
    char *longer = malloc(CN_ATOMIC_PATH_MAX + 16);
    memset(longer, 'x', CN_ATOMIC_PATH_MAX + 15);
    memcpy(longer, dir, strlen(dir));
    longer[strlen(dir)] = '/';
    longer[CN_ATOMIC_PATH_MAX - 8] = 0; /* fits the path buffer, not with ".tmp.<pid>" */
    check_failure(cn_atomic_write_file(longer, "text", "x", 1, TE), CN_ERR_ARG, dir, "longer than", "a path too long");
    free(longer);

    CHECK(cn_fsync_parent(at("a.txt")) == 0 && cn_fsync_parent("relative-name") == 0, "fsync of the parent folder");
    remove(at("a.txt"));
    remove(at("b.txt"));
    rmdir(at("d"));
    rmdir(dir);
    return cn_test_finish();
}
