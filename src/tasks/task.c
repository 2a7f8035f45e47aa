/* task.c - the task registry and the board helpers tasks share. */
#include <string.h>

#include "tasks/task.h"

extern const trm_task trm_task_sudoku, trm_task_sudoku4;
extern const trm_task trm_task_arc;
extern const trm_task trm_task_maze;

static const trm_task *const g_tasks[] = {
    &trm_task_sudoku,
    &trm_task_sudoku4, /* before maze: (6, 16) is 4x4 Sudoku */
    &trm_task_maze,
    &trm_task_arc,
    NULL,
};

const trm_task *const *trm_task_list(void) { return g_tasks; }

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

void trm_aug_identity(trm_aug *aug) {
    memset(aug, 0, sizeof *aug);
    for (int i = 0; i < 32; i++) aug->perm[i] = (uint8_t)i, aug->row_perm[i] = aug->col_perm[i] = i;
}

int trm_dihedral_inverse(int id) {
    static const int inv[8] = {0, 3, 2, 1, 4, 5, 6, 7};
    return id >= 0 && id < 8 ? inv[id] : 0;
}

/* Spec 4.5: out[i][j] in terms of A (R x C). */
void trm_dihedral(int id, const int32_t *in, int R, int C, int32_t *out, int *out_rows,
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
