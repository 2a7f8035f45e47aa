/* testutil.h - helpers shared by the C test files (header-only). */
#ifndef TRM_TESTUTIL_H
#define TRM_TESTUTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- error messages (include after <cmocka.h>) */

#ifdef fail_msg
#include <string.h>
static inline void assert_contains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("message \"%s\" lacks \"%s\"", hay, needle);
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
