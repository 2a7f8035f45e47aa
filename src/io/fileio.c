/* fileio.c - regular-file readers and link-safe atomic writers (see
 * fileio.h for the rules and why). */
#include "io/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- writing */

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t k = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO; /* no progress: avoid spinning */
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* Makes the rename itself durable; failure here is not worth failing the
 * save over, since the data is already synced. */
static void fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int io_tmp_create(const char *path, char *tmp, size_t cap, trm_err *err) {
    int n = snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= cap) return trm_errf(err, "%s: path too long", path);
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(tmp, flags, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) fd = open(tmp, flags, 0644);
    if (fd < 0) {
        int e = errno; /* kept for callers that word their own line (io_probe_dir) */
        trm_errf(err, "%s: cannot create temporary file %s: %s", path, tmp, strerror(e));
        errno = e;
    }
    return fd;
}

FILE *io_tmp_fopen(const char *path, char *tmp, size_t cap, trm_err *err) {
    int fd = io_tmp_create(path, tmp, cap, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        trm_errf(err, "%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* The common end of a commit: rename tmp over path when every earlier
 * step worked (what == NULL), else remove tmp. */
static int finish_commit(const char *tmp, const char *path, bool ok, const char *what, int e,
                         trm_err *err) {
    if (ok && !what && rename(tmp, path)) what = "rename", e = errno;
    if (!ok || what) {
        unlink(tmp);
        return ok ? trm_errf(err, "%s: %s failed: %s", path, what, strerror(e)) : -1;
    }
    fsync_parent_dir(path);
    return 0;
}

int io_tmp_commit_fd(int fd, const char *tmp, const char *path, bool ok, trm_err *err) {
    const char *what = NULL;
    int e = 0;
    if (ok && fsync(fd)) what = "fsync", e = errno;
    if (close(fd) && ok && !what) what = "close", e = errno;
    return finish_commit(tmp, path, ok, what, e, err);
}

int io_tmp_commit(FILE *f, const char *tmp, const char *path, bool ok, trm_err *err) {
    const char *what = NULL;
    int e = 0;
    errno = 0;
    if (ok && (fflush(f) || ferror(f))) what = "write", e = errno ? errno : EIO;
    if (ok && !what && fsync(fileno(f))) what = "fsync", e = errno;
    if (fclose(f) && ok && !what) what = "close", e = errno;
    return finish_commit(tmp, path, ok, what, e, err);
}

int io_write_atomic(const char *path, const void *const *bufs, const size_t *lens, int n,
                    trm_err *err) {
    char tmp[IO_TMP_PATH];
    int fd = io_tmp_create(path, tmp, sizeof tmp, err);
    if (fd < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (lens[i] && write_all(fd, bufs[i], lens[i])) {
            int e = errno;
            io_tmp_commit_fd(fd, tmp, path, false, NULL);
            return trm_errf(err, "%s: write failed: %s", path, strerror(e));
        }
    }
    return io_tmp_commit_fd(fd, tmp, path, true, err);
}

int io_probe_dir(const char *dir, trm_err *err) {
    char base[IO_TMP_PATH], probe[IO_TMP_PATH + 16];
    if (snprintf(base, sizeof base, "%s/.trm-probe", dir) >= (int)sizeof base) {
        trm_errf(err, "%s: path too long", dir);
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = io_tmp_create(base, probe, sizeof probe, err);
    if (fd < 0) return -1;
    close(fd);
    unlink(probe);
    return 0;
}

/* ---------------------------------------------------------------- folders */

/* mkdir of one component; an existing directory is fine. */
static int mkdir_one(const char *path, bool *made, trm_err *err) {
    struct stat st;
    *made = mkdir(path, 0777) == 0;
    if (*made) return 0;
    if (errno != EEXIST) return trm_errf(err, "%s: cannot create directory: %s", path, strerror(errno));
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) return trm_errf(err, "%s: exists and is not a directory", path);
    return 0;
}

int io_mkdir_p(const char *dir, bool *created, trm_err *err) {
    char buf[IO_TMP_PATH];
    bool made = false;
    if (created) *created = false;
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return trm_errf(err, "%s: path too long", dir);
    for (char *p = buf;; p++) {
        bool last = *p == 0;
        if (!last && (*p != '/' || p == buf)) continue; /* a leading '/' is the root, not a component */
        if (p > buf && p[-1] == '/') {                  /* "a//b", "a/b/": no component ends here */
            if (last) break;
            continue;
        }
        *p = 0;
        if (mkdir_one(buf, &made, err)) return -1;
        if (last) break;
        *p = '/';
    }
    if (created) *created = made;
    return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p); /* a link (FTW_SL under FTW_PHYS) is unlinked itself */
}

int io_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    /* FTW_PHYS: links are not followed; FTW_DEPTH: files before their folder */
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

FILE *io_fopen_log(const char *path, bool truncate, trm_err *err) {
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (truncate ? 0 : O_APPEND);
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        if (errno == ELOOP) trm_errf(err, "%s: is a symbolic link; refusing to write through it", path);
        else trm_errf(err, "%s: cannot open for writing: %s", path, strerror(errno));
        return NULL;
    }
    /* truncated only once known to be a regular file */
    if (util_require_regular(fd, path, NULL, err)) return NULL;
    if (truncate && ftruncate(fd, 0)) {
        trm_errf(err, "%s: cannot truncate: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, truncate ? "wb" : "ab");
    if (!f) {
        trm_errf(err, "%s: cannot open for writing: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}
