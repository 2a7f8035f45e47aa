/* arc_score.c - ARC's dataset scoring behind the task interface (task.h,
 * trm_task_scorer_ops): trm eval's rows go to the voting evaluator of
 * spec 5.2 (src/eval/arc_eval.c), which reports pass@K and writes the
 * Kaggle submission. */
#include <stdio.h>
#include <unistd.h>

#include "eval/arc_eval.h"
#include "io/jsonout.h"
#include "tasks/task.h"

static bool file_exists(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

static bool accepts(const char *dir, const trm_dataset_meta *meta) {
    return meta->vocab_size == ARC_VOCAB && meta->seq_len == ARC_SEQ_LEN &&
           file_exists(dir, "identifiers.json") && file_exists(dir, "test_puzzles.json");
}

static trm_task_scorer *open_(const char *dir, trm_err *err) {
    return (trm_task_scorer *)arc_eval_open(dir, err);
}

static int add(trm_task_scorer *s, const trm_eval_row *r, trm_err *err) {
    return arc_eval_add((arc_eval *)s, r->puzzle_id, r->input, r->pred, r->q_halt, err);
}

static int write_submission(const trm_task_scorer *s, const char *path, trm_err *err) {
    return arc_eval_write_submission((const arc_eval *)s, path, err);
}

static void print_json(const trm_task_scorer *s, FILE *out, int n_ck, const char *submission) {
    arc_eval_result r;
    arc_eval_score((const arc_eval *)s, &r);
    fprintf(out, ",\"arc\":{");
    for (int k = 0; k < ARC_EVAL_NK; k++) fprintf(out, "\"pass@%d\":%s,", arc_eval_ks[k], JSON_NUM(r.pass[k]));
    fprintf(out, "\"tasks\":%d,\"test_inputs\":%d,\"inputs_predicted\":%d,\"rows\":%lld,\"unmatched_rows\":%lld,"
                 "\"voting\":\"%s\",\"checkpoints_pooled\":%d",
            r.tasks, r.test_inputs, r.inputs_predicted, (long long)r.rows, (long long)r.unmatched,
            n_ck > 1 ? "pooled over checkpoints" : "this run only", n_ck);
    if (submission) {
        fprintf(out, ",\"submission\":");
        json_put_string(out, submission);
    }
    fprintf(out, "}");
}

static void free_(trm_task_scorer *s) { arc_eval_free((arc_eval *)s); }

const trm_task_scorer_ops arc_scorer_ops = {
    .what = "an ARC dataset (vocab 12, seq_len 900, identifiers.json, test_puzzles.json)",
    .accepts = accepts,
    .open = open_,
    .add = add,
    .write_submission = write_submission,
    .print_json = print_json,
    .free = free_,
};
