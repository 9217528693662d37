/* Files that appear whole or not at all (include/coopnets/cn_atomic_file.h). */
#include "coopnets/cn_atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* "cannot write checkpoint runs/x/ckpt.cnck: No space left on device" */
static cn_status fail(const cn_atomic_file *a, int err, cn_error *e) {
    return cn_error_set(e, CN_ERR_IO, "cannot write %s%s%s: %s", a->what ? a->what : "", a->what ? " " : "", a->path,
                        strerror(err ? err : EIO));
}

int cn_fsync_parent(const char *path) {
    char dir[CN_ATOMIC_PATH_MAX] = ".";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* a file in / keeps the slash */
        if (n >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int r = fsync(fd), err = errno;
    close(fd);
    errno = err;
    return r;
}

cn_status cn_atomic_open(cn_atomic_file *a, const char *path, const char *what, cn_error *e) {
    a->file = NULL;
    a->error = 0;
    a->what = what;
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path ||
        snprintf(a->temp, sizeof a->temp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof a->temp) {
        a->path[0] = 0;
        return cn_error_set(e, CN_ERR_ARG, "cannot write %s%s%.200s...: the path is longer than %d bytes",
                            what ? what : "", what ? " " : "", path, CN_ATOMIC_PATH_MAX - 32);
    }
    if (!(a->file = fopen(a->temp, "wb"))) return fail(a, errno, e);
    return CN_OK;
}

int cn_atomic_write(cn_atomic_file *a, const void *data, size_t n) {
    if (a->error) return 0;
    if (cn_fault_hit("write") || (n && fwrite(data, 1, n, a->file) != n)) a->error = errno ? errno : EIO;
    return !a->error;
}

void cn_atomic_abort(cn_atomic_file *a) {
    if (!a->file) return;
    fclose(a->file);
    a->file = NULL;
    remove(a->temp);
}

cn_status cn_atomic_commit(cn_atomic_file *a, cn_error *e) {
    /* A full disk often shows only at the flush or the close. */
    if (!a->error && (fflush(a->file) != 0 || fsync(fileno(a->file)) != 0)) a->error = errno ? errno : EIO;
    if (fclose(a->file) != 0 && !a->error) a->error = errno ? errno : EIO;
    a->file = NULL;
    if (!a->error && rename(a->temp, a->path) != 0) a->error = errno ? errno : EIO;
    if (a->error) {
        remove(a->temp);
        return fail(a, a->error, e);
    }
    /* The rename is in the folder's metadata: without this a power loss can undo it. */
    if (cn_fsync_parent(a->path) != 0) return fail(a, errno, e);
    return CN_OK;
}

cn_status cn_atomic_write_file(const char *path, const char *what, const void *data, size_t n, cn_error *e) {
    cn_atomic_file a;
    CN_TRY(cn_atomic_open(&a, path, what, e));
    cn_atomic_write(&a, data, n);
    return cn_atomic_commit(&a, e);
}
