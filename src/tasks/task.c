/* task.c - the task registry and the board helpers tasks share. */
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h"

extern const trm_task task_sudoku, task_sudoku4;
extern const trm_task task_arc;
extern const trm_task task_maze;

static const trm_task *const g_tasks[] = {
    &task_sudoku,
    &task_sudoku4, /* before maze: (6, 16) is 4x4 Sudoku */
    &task_maze,
    &task_arc,
    NULL,
};

const trm_task *const *task_list(void) { return g_tasks; }

const trm_task *trm_task_by_name(const char *name) {
    for (int i = 0; g_tasks[i]; i++)
        if (!strcmp(g_tasks[i]->name, name)) return g_tasks[i];
    return NULL;
}

const trm_task *trm_task_detect(int vocab_size, int seq_len) {
    int rows, cols;
    for (int i = 0; g_tasks[i]; i++)
        if (g_tasks[i]->vocab_size == vocab_size && g_tasks[i]->board(seq_len, &rows, &cols))
            return g_tasks[i];
    return NULL;
}

void task_aug_identity(trm_aug *aug) {
    memset(aug, 0, sizeof *aug);
    for (int i = 0; i < 32; i++) aug->perm[i] = (uint8_t)i, aug->row_perm[i] = aug->col_perm[i] = i;
}

int task_dihedral_inverse(int id) {
    static const int inv[8] = {0, 3, 2, 1, 4, 5, 6, 7};
    return id >= 0 && id < 8 ? inv[id] : 0;
}

/* Spec 4.5: out[i][j] in terms of A (R x C). */
void task_dihedral(int id, const int32_t *in, int R, int C, int32_t *out, int *out_rows,
                  int *out_cols) {
    bool swap = id == 1 || id == 3 || id == 6 || id == 7;
    int oR = swap ? C : R, oC = swap ? R : C;
    for (int i = 0; i < oR; i++)
        for (int j = 0; j < oC; j++) {
            int r, c;
            switch (id) {
            case 1: r = j; c = C - 1 - i; break;
            case 2: r = R - 1 - i; c = C - 1 - j; break;
            case 3: r = R - 1 - j; c = i; break;
            case 4: r = i; c = C - 1 - j; break;
            case 5: r = R - 1 - i; c = j; break;
            case 6: r = j; c = i; break;
            case 7: r = R - 1 - j; c = C - 1 - i; break;
            default: r = i; c = j; break;
            }
            out[i * oC + j] = in[r * C + c];
        }
    if (out_rows) *out_rows = oR;
    if (out_cols) *out_cols = oC;
}

/* ---------------------------------------------------------------- public text forms */

int trm_task_parse(const trm_task *t, const char *text, int seq_len, int32_t *input, int32_t *label,
                   bool *has_label, trm_err *err) {
    if (!t || !text || !input) return trm_errf(err, "trm_task_parse: no task, text or input buffer");
    int (*parse)(const char *, int, int32_t *, int32_t *, bool *, trm_err *) = t->parse_line ? t->parse_line : t->parse;
    if (!parse) return trm_errf(err, "task %s has no one-line puzzle form (its puzzles are files)", t->name);
    int rows, cols;
    if (seq_len < 1 || !t->board(seq_len, &rows, &cols))
        return trm_errf(err, "task %s has no board of %d tokens", t->name, seq_len);
    /* the parsers write a whole label; callers that do not want it pass NULL */
    int32_t *lab = label ? label : malloc(sizeof(int32_t) * (size_t)seq_len);
    bool has = false;
    int rc = lab ? parse(text, seq_len, input, lab, &has, err) : trm_errf(err, "out of memory");
    if (lab != label) free(lab);
    if (has_label) *has_label = rc == 0 && has;
    return rc;
}

int trm_task_format(const trm_task *t, const int32_t *tokens, int seq_len, char *out, size_t n,
                    trm_err *err) {
    if (!t || !tokens || !out) return trm_errf(err, "trm_task_format: no task, tokens or output buffer");
    if (!t->format) return trm_errf(err, "task %s has no text form", t->name);
    int rows, cols;
    if (seq_len < 1 || !t->board(seq_len, &rows, &cols))
        return trm_errf(err, "task %s has no board of %d tokens", t->name, seq_len);
    /* the tasks' formats write at most 2 * seq_len + 1 bytes (ARC: digits
     * and newlines); format into that much, then copy what fits */
    char *tmp = malloc(2 * (size_t)seq_len + 2);
    if (!tmp) return trm_errf(err, "out of memory");
    t->format(tokens, seq_len, tmp);
    size_t len = strlen(tmp);
    int rc = len < n ? 0 : trm_errf(err, "trm_task_format: %zu bytes of text do not fit a buffer of %zu", len + 1, n);
    if (rc == 0) memcpy(out, tmp, len + 1);
    free(tmp);
    return rc;
}
