/* testutil.h - helpers shared by the C test files (header-only). */
#ifndef TRM_TESTUTIL_H
#define TRM_TESTUTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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
