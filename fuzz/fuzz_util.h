/* fuzz_util.h - what the libFuzzer harnesses share: the loaders under test
 * read files, so each input (or each part of it) is written to a file in
 * one scratch directory per process, made once under $TMPDIR. */
#ifndef TRM_FUZZ_UTIL_H
#define TRM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trm.h"

/* Inputs holding several files separate them with this line, so that
 * mutations that keep it keep the file structure (make_corpus.py uses it). */
#define FZ_SEP "\n--8<--\n"

static char fz_root[512];

static inline void fz_cleanup(void) {
    if (!fz_root[0]) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_root);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_root);
}

/* The scratch directory (created on first use, removed at exit). */
static inline const char *fz_dir(void) {
    if (fz_root[0]) return fz_root;
    const char *t = getenv("TMPDIR");
    snprintf(fz_root, sizeof fz_root, "%s/trm_fuzz_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(fz_root)) { perror("fuzz: mkdtemp"); abort(); }
    atexit(fz_cleanup);
    return fz_root;
}

/* Writes bytes to <scratch>/<name> (subfolders must exist); returns the
 * path in a static buffer of the given slot (0-7). */
static inline const char *fz_write(int slot, const char *name, const uint8_t *data, size_t size) {
    static char paths[8][640];
    char *p = paths[slot];
    snprintf(p, sizeof paths[0], "%s/%s", fz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) { perror(p); abort(); }
    return p;
}

/* Splits data at FZ_SEP into at most max parts (the last takes the rest);
 * returns the number of parts (>= 1). */
static inline int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max) {
    size_t sl = strlen(FZ_SEP);
    int n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n < max - 1) {
        const uint8_t *q = size >= sl ? memmem(p, (size_t)(end - p), FZ_SEP, sl) : NULL;
        if (!q) break;
        part[n] = p; len[n] = (size_t)(q - p); n++;
        p = q + sl;
    }
    part[n] = p; len[n] = (size_t)(end - p);
    return n + 1;
}

/* A NUL-terminated copy of bytes (caller frees). */
static inline char *fz_str(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
