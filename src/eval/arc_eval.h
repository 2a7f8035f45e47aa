/* arc_eval.h - the ARC evaluator (spec 5.2): predictions of augmented
 * versions -> inverted candidates -> votes -> pass@K and a Kaggle
 * submission.
 *
 * Each prediction row is mapped back to its original task: the row's
 * puzzle id names a version "<id>|||t<t>|||<perm>" (identifiers.json); the
 * input and the predicted board are cropped and un-augmented; the input's
 * grid hash says which test input of the task the row answers. Distinct
 * candidate grids of one test input are ranked by vote count, then by mean
 * confidence sigmoid(q_halt) (float64), then by first appearance (the
 * reference's stable sort). pass@K credits a task with the fraction of its
 * test inputs whose true output is among the first K candidates; a test
 * input without predictions scores 0. The metric is the mean over the
 * tasks of test_puzzles.json.
 *
 * Votes pool every row added to one evaluator: one evaluation run, or
 * several checkpoints when the caller feeds them all to the same
 * evaluator (the reference's default "aggregated voting" pools every
 * evaluation round of a training run).
 */
#ifndef TRM_EVAL_ARC_EVAL_H
#define TRM_EVAL_ARC_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tasks/arc.h"
#include "train/train.h"
#include "trm.h"

#define ARC_EVAL_NK 6
/* The reference's K values. */
extern const int arc_eval_ks[ARC_EVAL_NK];

/* identifiers.json: names[id] ("<blank>" at 0). */
typedef struct {
    int n;
    char **names;
    char *pool;  /* storage of the strings */
} arc_names;

/* Reads DIR/identifiers.json (a JSON array of strings). */
int arc_names_read(const char *dir, arc_names *out, trm_err *err);
void arc_names_free(arc_names *n);

typedef struct arc_eval arc_eval;

/* An evaluator over the test tasks of `tests` (taken over: freed with the
 * evaluator) with the identifier names `names` (taken over too). */
arc_eval *arc_eval_new(arc_names *names, arc_set *tests, trm_err *err);
/* Reads DIR/identifiers.json and DIR/test_puzzles.json. */
arc_eval *arc_eval_open(const char *dir, trm_err *err);
void arc_eval_free(arc_eval *e);

/* Records one model row: puzzle id, the input and predicted token boards
 * (900 tokens) and the halting logit. Rows with id 0 (padding) are
 * skipped; an id outside identifiers.json or a malformed version name is
 * an error. */
int arc_eval_add(arc_eval *e, int32_t puzzle_id, const int32_t *input, const int32_t *pred,
                 float q_halt, trm_err *err);
/* Records an already inverted (original-orientation) candidate for the
 * test input `input` of task `task_id`; conf is the confidence itself. */
void arc_eval_add_grid(arc_eval *e, const char *task_id, const arc_grid *input,
                       const arc_grid *candidate, double conf);
/* trm_evaluate_opts row callback: ctx is the arc_eval. */
int arc_eval_on_row(void *ctx, const trm_eval_row *row, trm_err *err);

/* One ranked candidate. */
typedef struct {
    arc_grid grid;
    int votes;
    double conf;   /* mean confidence */
} arc_candidate;

/* The test tasks, in test_puzzles.json order. */
const arc_set *arc_eval_tests(const arc_eval *e);
/* Up to max ranked candidates of test input `test` of task index `task`
 * into out; returns how many there are in all (may exceed max). */
int arc_eval_ranked(const arc_eval *e, int task, int test, arc_candidate *out, int max);

typedef struct {
    double pass[ARC_EVAL_NK];  /* ARC/pass@K, K = arc_eval_ks */
    int tasks;                 /* tasks of test_puzzles.json */
    int test_inputs;
    int inputs_predicted;      /* test inputs with at least one candidate */
    int64_t rows;              /* rows recorded (id != 0) */
    int64_t unmatched;         /* rows whose task/input is not a test input */
} arc_eval_result;

void arc_eval_score(const arc_eval *e, arc_eval_result *out);
/* Kaggle submission: {task: [{"attempt_1": grid, "attempt_2": grid}, ...]}
 * with one entry per test input in order; the top grid is repeated when
 * there is one candidate, and [[0]] stands in when there is none (the
 * reference leaves such an input out, which misaligns the list). Written
 * to a temporary file and renamed. */
int arc_eval_write_submission(const arc_eval *e, const char *path, trm_err *err);

/* The inverse of a version name, as the evaluator applies it: crop the
 * board, then sigma(D_inv(t)(grid)). */
int arc_eval_invert_board(const char *name, const int32_t *tokens, char *task_id, size_t cap,
                          arc_grid *out, trm_err *err);

#endif
