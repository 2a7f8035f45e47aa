/* dataset.h - datasets in the reference's on-disk format (spec 4.1) and
 * the batch loader of spec 3.5.
 *
 *   DIR/identifiers.json              ["<blank>", name1, ...]
 *   DIR/<split>/dataset.json          metadata (below)
 *   DIR/<split>/all__inputs.npy       uint8 (or any int) [N_ex, seq_len]
 *   DIR/<split>/all__labels.npy       same; value ignore_label_id = ignore
 *   DIR/<split>/all__puzzle_identifiers.npy  int32 [N_puz]
 *   DIR/<split>/all__puzzle_indices.npy      int32 [N_puz + 1], examples of puzzle p
 *   DIR/<split>/all__group_indices.npy       int32 [N_grp + 1], puzzles of group g
 * Groups (one original puzzle) -> puzzles (augmented versions, each with an
 * identifier) -> examples (input/label pairs).
 */
#ifndef TRM_DATA_DATASET_H
#define TRM_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "trm.h"

/* dataset.json (trm_dataset_meta) and the reading API (trm_split_*) are
 * public: include/trm.h. */

/* ------------------------------------------------------------ writing */

typedef struct trm_split_writer trm_split_writer;

/* Collects one split in memory; nothing touches disk before finish. */
trm_split_writer *split_writer_new(int seq_len, int vocab_size);
void split_writer_free(trm_split_writer *w);
/* Structure: begin_group, then per augmented version add_puzzle(id), then
 * its examples. Tokens must be in [0, 256) (stored as uint8 like the
 * reference); labels use 0 (= pad = ignore) for ignored cells. */
int split_writer_group(trm_split_writer *w, trm_err *err);
int split_writer_puzzle(trm_split_writer *w, int32_t puzzle_id, trm_err *err);
int split_writer_example(trm_split_writer *w, const int32_t *inputs, const int32_t *labels,
                             trm_err *err);
/* The streaming writer, for splits larger than memory (ARC: 3.6M examples,
 * 6.5 GB): inputs and labels go straight to DIR/<split>.tmp.<pid>/ as they
 * come; finish (with the same dir and split) adds the index arrays and
 * dataset.json and renames the directory into place; free without finish
 * removes it. Its .npy headers are the ones numpy >= 1.23 writes (with the
 * growth-axis padding that lets the row count be patched in place), so a
 * split equals np.save's bytes. */
trm_split_writer *split_writer_open(const char *dir, const char *split, int seq_len,
                                        int vocab_size, trm_err *err);
/* dataset.json's total_puzzles: the number of puzzles (as the reference's
 * ARC builder writes it) instead of the number of groups (its Sudoku and
 * Maze builders; the default). */
void split_writer_count_puzzles(trm_split_writer *w, bool puzzles);
/* Writes DIR/<split>/ (dataset.json + the five arrays) through a temporary
 * directory renamed into place; an existing split is replaced only on
 * success. num_puzzle_identifiers as the metadata field (>= max id + 1). */
int split_writer_finish(trm_split_writer *w, const char *dir, const char *split,
                            int num_puzzle_identifiers, trm_err *err);
/* DIR/identifiers.json: names[0] should be "<blank>". Atomic. */
int dataset_write_identifiers(const char *dir, const char *const *names, int n, trm_err *err);

/* ------------------------------------------------------------ batching */

/* Spec 3.5. Train: each epoch a seeded permutation of the groups; walking
 * it, each group contributes one uniformly chosen puzzle, all of whose
 * examples (in random order) go into the batch, truncated at the batch
 * end (the rest is dropped); batches continue across epochs, and the
 * incomplete batch at the end of an iteration of epochs is dropped (see
 * loader_set_iteration). Test: examples in file order, the last batch
 * padded (inputs pad_id, labels -100, puzzle id blank_identifier_id). */
typedef struct trm_loader trm_loader;

typedef struct {
    int64_t epoch;       /* epochs completed */
    int64_t cursor;      /* next group (train) or example (test) */
    uint64_t rng[4];
} trm_loader_state;

trm_loader *loader_new(const trm_split *s, int batch, bool train, uint64_t seed, trm_err *err);
void loader_free(trm_loader *l);
/* Train mode: batches run on across epochs; every `epochs` epochs (the
 * reference's eval_interval, one "iteration") the partial last batch is
 * dropped. 0 (the default): never dropped. */
void loader_set_iteration(trm_loader *l, int64_t epochs);
/* Fills the next batch ([batch, seq_len] inputs/labels, [batch] ids) and
 * returns the number of real (non-padding) rows. Train never ends (it
 * moves to the next epoch); test returns 0 after the last batch (and
 * loader_rewind starts over). */
int loader_next(trm_loader *l, int32_t *inputs, int32_t *labels, int32_t *puzzle_ids);
void loader_rewind(trm_loader *l);
/* Epoch progress for logs: fraction of the current epoch consumed. */
double loader_epoch_progress(const trm_loader *l);
/* Exact resume: a loader restored from a saved state yields the same
 * batches as the original would have. */
void loader_get_state(const trm_loader *l, trm_loader_state *st);
int loader_set_state(trm_loader *l, const trm_loader_state *st, trm_err *err);

/* Hints (training key hint_schedule, docs/training.md "Hints"): shows part
 * of each row's answer in its question, so training also sees easier
 * versions of its puzzles. Each row draws u uniform in [0, max_frac); each
 * cell whose question token differs from its answer (labels >= 0) then
 * takes the answer token with probability u. Meaningful where question and
 * answer align cell by cell (Sudoku, Maze). Returns the cells revealed. */
int64_t dataset_batch_reveal(int32_t *inputs, const int32_t *labels, int rows, int seq_len, double max_frac,
                         uint64_t rng[4]);

#endif
