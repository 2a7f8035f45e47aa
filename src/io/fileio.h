/* fileio.h - how trm opens the files it reads and writes.
 *
 * Readers refuse anything but a regular file: a FIFO in place of a dataset
 * or checkpoint would block open() forever, a device would read without end.
 *
 * Writers never write through a symbolic link and replace files atomically:
 * the data goes to a temporary sibling "<path>.tmp.<pid>" created with
 * O_CREAT | O_EXCL | O_NOFOLLOW (so a file or link planted under that name
 * is never written through), is synced, and is renamed over path. rename()
 * replaces a link at path itself rather than its target.
 */
#ifndef TRM_IO_FILEIO_H
#define TRM_IO_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "trm.h"

/* Reading: util_open_regular / util_fopen_regular in core/util.h. */
#include "core/util.h"

/* ---------------------------------------------------------------- writing */

/* Size of a temporary-name buffer: an output path plus ".tmp.<pid>". */
#define IO_TMP_PATH 4200

/* Creates path's temporary sibling "<path>.tmp.<pid>" into tmp (cap
 * bytes) for writing, exclusively and without following links. A leftover
 * of an earlier process with our pid is unlinked (unlink removes a link,
 * never its target) and the create retried once. Returns the descriptor or
 * -1. */
int io_tmp_create(const char *path, char *tmp, size_t cap, trm_err *err);
/* The same as a stdio stream (mode "wb"). */
FILE *io_tmp_fopen(const char *path, char *tmp, size_t cap, trm_err *err);
/* Syncs and closes fd, renames tmp over path and syncs the directory. On
 * any failure tmp is removed, path is left untouched and -1 returned with
 * "<path>: <step> failed: ...". ok = false discards the file silently
 * (the caller has its error already). */
int io_tmp_commit_fd(int fd, const char *tmp, const char *path, bool ok, trm_err *err);
/* The same for a stream from io_tmp_fopen; a write error the stream
 * recorded fails the commit. */
int io_tmp_commit(FILE *f, const char *tmp, const char *path, bool ok, trm_err *err);

/* Writes the concatenation of n buffers to path through a temporary file
 * as above. */
int io_write_atomic(const char *path, const void *const *bufs, const size_t *lens, int n,
                    trm_err *err);

/* Proves that dir takes new files: creates and removes a probe file
 * "<dir>/.trm-probe.tmp.<pid>" the way every output is created (a link
 * planted under that name is not followed), so that a bad output folder
 * fails before any work. 0, or -1 with io_tmp_create's message in err
 * and errno saying why (for callers that word their own line). */
int io_probe_dir(const char *dir, trm_err *err);

/* ---------------------------------------------------------------- folders */

/* mkdir -p: creates dir and any missing parents (mode 0777 less the
 * umask); existing directories are fine. *created (may be NULL) is set
 * only when this call made dir itself, so that only then may a failure
 * remove it. -1 with "<prefix>: exists and is not a directory" or
 * "<prefix>: cannot create directory: <reason>", naming the component
 * that failed, or "<dir>: path too long". */
int io_mkdir_p(const char *dir, bool *created, trm_err *err);

/* rm -r: removes path and everything below it, depth first. Symbolic
 * links are removed as links, never followed, so a link inside the tree
 * (or path itself being one) cannot make it delete anything outside.
 * A missing path is fine (0); -1 with errno when something could not be
 * removed. */
int io_remove_tree(const char *path);

/* Opens a log file for appending (truncate: emptied first), creating it
 * 0644. A symbolic link at path is refused (O_NOFOLLOW) rather than
 * followed, and so is anything but a regular file: a log must never
 * truncate or grow a file elsewhere. NULL with "<path>: ..." on failure. */
FILE *io_fopen_log(const char *path, bool truncate, trm_err *err);

#endif /* TRM_IO_FILEIO_H */
