/* testutil.h - helpers shared by the C test files (header-only). */
#ifndef TRM_TESTUTIL_H
#define TRM_TESTUTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/fileio.h" /* io_remove_tree */
#include "trm.h"

/* ---- one temporary directory per test group, removed afterwards */

static char tu_dir[64];

/* A path inside the temp dir; a small ring so a test can hold a few. */
static inline const char *tpath(const char *name) {
    static char ring[4][PATH_MAX];
    static int next;
    char *p = ring[next++ % 4];
    snprintf(p, PATH_MAX, "%s/%s", tu_dir, name);
    return p;
}

/* template like "/tmp/trm_ckpt_XXXXXX" */
static inline int tu_make_dir(const char *template_path) {
    snprintf(tu_dir, sizeof tu_dir, "%s", template_path);
    return mkdtemp(tu_dir) ? 0 : -1;
}

static inline int tu_remove_dir(void) {
    return io_remove_tree(tu_dir);
}

/* ---- what a call prints on stderr: tu_stderr_begin sends stderr to a
 * temporary file, tu_stderr_end restores it and returns the text (a
 * static buffer, first 4 KiB) */

static int tu_saved_stderr = -1;
static FILE *tu_stderr_file;

static inline void tu_stderr_begin(void) {
    fflush(stderr);
    tu_stderr_file = tmpfile();
    tu_saved_stderr = dup(2);
    if (tu_stderr_file) dup2(fileno(tu_stderr_file), 2);
}

static inline const char *tu_stderr_end(void) {
    static char buf[4096];
    fflush(stderr);
    dup2(tu_saved_stderr, 2);
    close(tu_saved_stderr);
    buf[0] = 0;
    if (!tu_stderr_file) return "(tmpfile failed)";
    rewind(tu_stderr_file);
    size_t n = fread(buf, 1, sizeof buf - 1, tu_stderr_file);
    buf[n] = 0;
    fclose(tu_stderr_file);
    tu_stderr_file = NULL;
    return buf;
}

/* cmocka group setup and teardown that make the temp dir from template
 * and remove it. */
#define TU_TMP_DIR_GROUP(setup, teardown, template) \
    static int setup(void **state) {                \
        (void)state;                                \
        return tu_make_dir(template);               \
    }                                               \
    static int teardown(void **state) {             \
        (void)state;                                \
        return tu_remove_dir();                     \
    }

/* The shared folder whose data/ the tests read: $TRM_SHARED when it is
 * set (then only it, so TRM_SHARED=/nonexistent hides the data), else
 * ../shared from the working directory or ../shared next to the
 * repository this test binary was built in (BUILD/tests/test_x): the
 * first of them that has a data/ folder. NULL when none has; tried then
 * names the data/ folders looked for (for the skip line). */
static inline const char *tu_shared_root(char *tried, size_t n) {
    static char root[PATH_MAX];
    char exe[PATH_MAX], alt[PATH_MAX + 16] = "";
    const char *env = getenv("TRM_SHARED");
    const char *roots[2] = {env && *env ? env : "../shared", NULL};
    ssize_t len = env && *env ? -1 : readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) { /* BUILD/tests/test_x -> repo root -> ../shared */
        exe[len] = 0;
        for (int up = 0; up < 3; up++) {
            char *sl = strrchr(exe, '/');
            if (sl) *sl = 0;
        }
        snprintf(alt, sizeof alt, "%s/../shared", exe);
        roots[1] = alt;
    }
    if (tried) *tried = 0;
    for (int k = 0; k < 2 && roots[k]; k++) {
        char data[PATH_MAX + 32];
        snprintf(data, sizeof data, "%s/data", roots[k]);
        struct stat st;
        if (stat(data, &st) == 0 && S_ISDIR(st.st_mode) && snprintf(root, sizeof root, "%s", roots[k]) < (int)sizeof root)
            return root;
        if (tried) snprintf(tried + strlen(tried), n - strlen(tried), "%s%s", k ? " or " : "", data);
    }
    return NULL;
}

/* rel under the shared folder (tu_shared_root) when it is readable, else
 * NULL. */
static inline const char *tu_shared_file(const char *rel) {
    static char path[PATH_MAX];
    const char *root = tu_shared_root(NULL, 0);
    if (!root || snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path) return NULL;
    return access(path, R_OK) == 0 ? path : NULL;
}

/* ---- error messages and files (include after <cmocka.h>) */

#ifdef fail_msg
static inline void assert_contains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("message \"%s\" lacks \"%s\"", hay, needle);
}

/* rel under the shared folder, for a test of the shared data: a named
 * skip ("# SKIP no shared data at PATH", then cmocka's SKIP line) when
 * there is no shared data folder at all (a checkout without ../shared);
 * a failure naming the path when the folder is there but rel is not
 * (data present but wrong is an error, not a skip). */
static inline const char *tu_shared_need(const char *rel) {
    char tried[2 * PATH_MAX + 64];
    const char *root = tu_shared_root(tried, sizeof tried);
    if (!root) {
        printf("# SKIP no shared data at %s (set TRM_SHARED to the shared folder)\n", tried);
        fflush(stdout);
        skip();
    }
    const char *p = tu_shared_file(rel);
    if (!p) fail_msg("%s/%s: not found or not readable in the shared data folder", root, rel);
    return p;
}

/* Writes text to path (fails the test when it cannot). */
static inline void tu_write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}
#endif

/* ---- configs */

static inline bool cfg_equal(const trm_config *a, const trm_config *b) {
    return a->hidden_size == b->hidden_size && a->num_heads == b->num_heads &&
           a->expansion == b->expansion && a->L_layers == b->L_layers &&
           a->H_cycles == b->H_cycles && a->L_cycles == b->L_cycles &&
           a->halt_max_steps == b->halt_max_steps &&
           a->halt_exploration_prob == b->halt_exploration_prob &&
           a->pos_encodings == b->pos_encodings && a->mlp_t == b->mlp_t &&
           a->puzzle_emb_ndim == b->puzzle_emb_ndim && a->puzzle_emb_len == b->puzzle_emb_len &&
           a->rms_norm_eps == b->rms_norm_eps && a->rope_theta == b->rope_theta &&
           a->vocab_size == b->vocab_size && a->seq_len == b->seq_len &&
           a->num_puzzle_identifiers == b->num_puzzle_identifiers;
}

#endif
