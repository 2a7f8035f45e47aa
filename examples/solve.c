/* examples/solve.c - libtrm from the outside: load a checkpoint, solve one
 * puzzle given as text, print the answer and the model's confidence.
 * Uses only trm.h, as an installed copy provides it:
 *
 *   make -C examples            (pkg-config --cflags --libs trm)
 *   examples/solve CHECKPOINT PUZZLE
 *
 * PUZZLE is the task's one-line text form (Sudoku: 81 characters, '.' or
 * '0' blank). Prints "solution ANSWER", "confidence C", "steps K" and
 * "valid yes|no|unchecked"; errors go to stderr as one line, exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include <trm.h>

static int fail(const char *what, const trm_err *e) {
    fprintf(stderr, "solve: %s: %s\n", what, e->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s CHECKPOINT PUZZLE\n", argv[0]);
        return 2;
    }
    trm_err e = {{0}};
    trm_model *m = trm_checkpoint_load(argv[1], &e);
    if (!m) return fail(argv[1], &e);
    const trm_config *cfg = trm_model_config(m);
    const trm_task *task = trm_task_detect(cfg->vocab_size, cfg->seq_len);
    int S = cfg->seq_len, rc = 1;
    int32_t *input = malloc(sizeof(int32_t) * (size_t)S), *answer = malloc(sizeof(int32_t) * (size_t)S);
    char *text = malloc(2 * (size_t)S + 2);
    if (!task) {
        trm_errf(&e, "no task has vocabulary %d and %d tokens", cfg->vocab_size, S);
        rc = fail(argv[1], &e);
    } else if (!input || !answer || !text) {
        fprintf(stderr, "solve: out of memory\n");
    } else if (trm_task_parse(task, argv[2], S, input, NULL, NULL, &e)) {
        rc = fail("puzzle", &e);
    } else {
        /* one row, the model's halt_max_steps, the task's checker */
        trm_batch batch = {.batch = 1, .inputs = input};
        trm_solve_opts o = {.check = trm_task_check, .check_ctx = (void *)task};
        double confidence;
        int32_t steps;
        trm_verdict verdict;
        trm_solve_out out = {.tokens = answer, .confidence = &confidence, .steps = &steps, .verdict = &verdict};
        if (trm_solve(m, NULL, &batch, &o, &out, &e) || trm_task_format(task, answer, S, text, 2 * (size_t)S + 2, &e)) {
            rc = fail("solve", &e);
        } else {
            printf("solution %s\nconfidence %.6f\nsteps %d\nvalid %s\n", text, confidence, (int)steps,
                   verdict == TRM_SOLVED ? "yes" : verdict == TRM_REJECTED ? "no" : "unchecked");
            rc = 0;
        }
    }
    free(input); free(answer); free(text);
    trm_model_free(m);
    return rc;
}
