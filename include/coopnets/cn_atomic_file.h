/* cn_atomic_file: the one way the program writes a file, so that it appears whole or not at all
 * (SQLite's and Redis's way).
 *
 * Data goes to PATH.tmp.<pid>. Commit flushes it, fsyncs it, renames it over PATH and fsyncs the
 * folder, so after a crash or a power loss PATH holds the old content or the new, never a mix, and
 * the rename itself is on disk. Any failure removes the temporary and leaves PATH as it was. Every
 * cn_atomic_write (and so every cn_atomic_write_file) counts as one file write for the test-only
 * fault switch COOPNETS_FAULT=write:N, which fails it with ENOSPC. Messages read
 * "cannot write <what> <path>: <reason>". */
#ifndef CN_ATOMIC_FILE_H
#define CN_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "coopnets/cn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_ATOMIC_PATH_MAX 4096

typedef struct cn_atomic_file {
    FILE *file;
    int error;        /* errno of the first failed write; 0 while every write succeeded */
    const char *what; /* "checkpoint", "PNG", ...: names the file in messages; may be NULL */
    char path[CN_ATOMIC_PATH_MAX], temp[CN_ATOMIC_PATH_MAX];
} cn_atomic_file;

/* Creates the temporary. A path too long for it (with ".tmp.<pid>") is CN_ERR_ARG; a temporary
 * that cannot be created is CN_ERR_IO; both name the path. On failure nothing is left to abort. */
cn_status cn_atomic_open(cn_atomic_file *a, const char *path, const char *what, cn_error *e);

/* Appends n bytes. A failure is remembered and reported by commit (later writes do nothing), so a
 * writer can stream without checking each call; returns 0 once a write has failed. */
int cn_atomic_write(cn_atomic_file *a, const void *data, size_t n);

/* Publishes the file (flush, fsync, rename, fsync of the folder), or, when a write failed, removes
 * the temporary and returns CN_ERR_IO naming the path and the reason. Always closes a. */
cn_status cn_atomic_commit(cn_atomic_file *a, cn_error *e);

/* Closes a and removes the temporary: PATH stays as it was. */
void cn_atomic_abort(cn_atomic_file *a);

/* open + one write + commit: a whole file from memory. */
cn_status cn_atomic_write_file(const char *path, const char *what, const void *data, size_t n, cn_error *e);

/* fsync of the folder holding path (after a rename or a new file in it); -1 with errno on failure. */
int cn_fsync_parent(const char *path);

#ifdef __cplusplus
}
#endif
#endif
