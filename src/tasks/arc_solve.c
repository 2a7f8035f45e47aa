/* arc_solve.c - trm solve's ARC task files (task_arc's file hooks,
 * task.h): a task file's test inputs in every augmented version the model
 * was trained on (found in the dataset's identifiers.json), the model's
 * predictions inverted and voted on as the ARC evaluator does (spec 5.2),
 * and the two best grids as the attempts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arc_eval.h"
#include "io/jsonout.h"
#include "tasks/arc.h"
#include "tasks/task.h"

struct trm_task_file {
    int n_inputs;        /* its test inputs */
    arc_set set;         /* the one task of the file (the evaluator's once prepared) */
    arc_names names;     /* the dataset's identifiers */
    arc_eval *ev;        /* the votes */
    int n_ver;           /* versions of the task in the dataset */
    int32_t *vpid;       /* [n_ver] their puzzle identifiers */
    int *vt;             /* [n_ver] dihedral ids */
    uint8_t (*vperm)[10];/* [n_ver] colour maps */
    int n_rows;
    int32_t *in, *pid;   /* the rows: every version x every test input */
    int32_t tok[4][ARC_SEQ_LEN]; /* the boards of the current answer */
    char *json;
};

static trm_task_file *file_open(const char *path, trm_err *err) {
    trm_task_file *f = calloc(1, sizeof *f);
    if (!f) {
        trm_errf(err, "out of memory");
        return NULL;
    }
    if (arc_load_file(path, &f->set, err) == 0) {
        if ((f->n_inputs = f->set.tasks[0].n_test) > 0) return f;
        trm_errf(err, "%s: no test inputs", path);
    }
    arc_set_free(&f->set);
    free(f);
    return NULL;
}

static int file_n_inputs(const trm_task_file *f) { return f->n_inputs; }

/* The versions of task `id` in identifiers.json (the original and its
 * augmentations), checked against the model's table size. */
static int find_versions(trm_task_file *f, const char *id, const char *dir, int n_table, trm_err *err) {
    const arc_names *names = &f->names;
    f->vpid = malloc(sizeof(int32_t) * (size_t)names->n);
    f->vt = malloc(sizeof(int) * (size_t)names->n);
    f->vperm = malloc(10 * (size_t)names->n);
    if (!f->vpid || !f->vt || !f->vperm) return trm_errf(err, "out of memory");
    char got[256];
    for (int i = 1; i < names->n; i++) {
        if (arc_parse_version(names->names[i], got, sizeof got, &f->vt[f->n_ver], f->vperm[f->n_ver])) continue;
        if (strcmp(got, id)) continue;
        if (i >= n_table)
            return trm_errf(err, "%s/identifiers.json: id %d of task %s is outside the model's puzzle table (%d rows): not the dataset it was trained on",
                            dir, i, id, n_table);
        f->vpid[f->n_ver++] = i;
    }
    if (f->n_ver == 0)
        return trm_errf(err, "task %s is not in %s/identifiers.json: the model was not trained on it (ARC models only solve tasks of their dataset)",
                        id, dir);
    return 0;
}

/* Rows: every version x every test input, at (0, 0) as the test split. */
static int build_rows(trm_task_file *f, trm_err *err) {
    const arc_task *task = &f->set.tasks[0];
    int n = f->n_ver * task->n_test;
    f->in = malloc(sizeof(int32_t) * (size_t)n * ARC_SEQ_LEN);
    f->pid = malloc(sizeof(int32_t) * (size_t)n);
    if (!f->in || !f->pid) return trm_errf(err, "out of memory");
    for (int k = 0; k < f->n_ver; k++)
        for (int j = 0; j < task->n_test; j++) {
            int r = k * task->n_test + j;
            arc_grid g;
            arc_aug_apply(&task->test[j].in, f->vt[k], f->vperm[k], &g);
            arc_encode(&g, 0, 0, f->in + (size_t)r * ARC_SEQ_LEN);
            f->pid[r] = f->vpid[k];
        }
    f->n_rows = n;
    return 0;
}

static int file_prepare(trm_task_file *f, const char *data_dir, int n_table, const int32_t **in, const int32_t **pid,
                        int *n, trm_err *err) {
    if (arc_names_read(data_dir, &f->names, err) ||
        find_versions(f, f->set.tasks[0].id, data_dir, n_table, err) || build_rows(f, err))
        return -1;
    if (!(f->ev = arc_eval_new(&f->names, &f->set, err))) return -1;
    *in = f->in, *pid = f->pid, *n = f->n_rows;
    return 0;
}

static int file_add(trm_task_file *f, const int32_t *pred, const float *q, trm_err *err) {
    for (int r = 0; r < f->n_rows; r++)
        if (arc_eval_add(f->ev, f->pid[r], f->in + (size_t)r * ARC_SEQ_LEN, pred + (size_t)r * ARC_SEQ_LEN, q[r], err))
            return -1;
    return 0;
}

static void json_grid(FILE *o, const arc_grid *g) {
    fprintf(o, "[");
    for (int r = 0; r < g->rows; r++) {
        fprintf(o, "%s[", r ? "," : "");
        for (int c = 0; c < g->cols; c++) fprintf(o, "%s%d", c ? "," : "", ARC_AT(g, r, c));
        fprintf(o, "]");
    }
    fprintf(o, "]");
}

/* The --json line of test input j: the attempts, their votes and
 * confidences, and whether one is right when the file knows. */
static char *answer_json(const arc_task *task, int j, int versions, int n_cand, const arc_candidate top[2], bool known,
                         const bool right[2]) {
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return NULL;
    fprintf(o, "{\"task\":\"%s\",\"test\":%d,\"versions\":%d,\"candidates\":%d", task->id, j, versions, n_cand);
    for (int k = 0; k < 2; k++) {
        fprintf(o, ",\"attempt_%d\":", k + 1);
        json_grid(o, &top[k].grid);
        fprintf(o, ",\"votes_%d\":%d", k + 1, top[k].votes);
        fprintf(o, ",\"confidence_%d\":%s", k + 1, JSON_NUM(top[k].conf));
    }
    if (known) fprintf(o, ",\"correct\":%s", right[0] || right[1] ? "true" : "false");
    fprintf(o, "}");
    if (fclose(o)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int file_answer(trm_task_file *f, int j, trm_task_answer *a, trm_err *err) {
    const arc_task *task = &arc_eval_tests(f->ev)->tasks[0];
    arc_candidate top[2];
    int n_cand = arc_eval_ranked(f->ev, 0, j, top, 2);
    if (n_cand == 0) {
        top[0].grid.rows = top[0].grid.cols = 1;
        top[0].grid.cell[0] = 0;
        top[0].votes = 0;
        top[0].conf = 0;
    }
    if (n_cand < 2) top[1] = top[0];
    bool known = task->test_outputs, right[2] = {false, false};
    for (int k = 0; k < 2 && known; k++) right[k] = arc_grid_equal(&top[k].grid, &task->test[j].out);
    memset(a, 0, sizeof *a);
    free(f->json);
    if (!(a->json = f->json = answer_json(task, j, f->n_ver, n_cand, top, known, right)))
        return trm_errf(err, "out of memory");
    snprintf(a->title, sizeof a->title, "task %s, test input %d: %d versions, %d distinct answers", task->id, j + 1,
             f->n_ver, n_cand);
    int w = snprintf(a->verdict, sizeof a->verdict, "attempt 1: %d votes, confidence %.4f | attempt 2: %d votes, confidence %.4f",
                     top[0].votes, top[0].conf, top[1].votes, top[1].conf);
    if (known && w > 0 && (size_t)w < sizeof a->verdict)
        snprintf(a->verdict + w, sizeof a->verdict - (size_t)w, " | %s",
                 right[0] ? "attempt 1 is right" : right[1] ? "attempt 2 is right" : "both attempts are wrong");
    snprintf(a->name, sizeof a->name, "%s-test-%d", task->id, j + 1);
    const arc_pair *pair = &task->test[j];
    arc_encode(&pair->in, 0, 0, f->tok[0]);
    arc_encode(&top[0].grid, 0, 0, f->tok[1]);
    arc_encode(&top[1].grid, 0, 0, f->tok[2]);
    arc_encode(&pair->out, 0, 0, f->tok[3]);
    static const char *const labels[4] = {"input", "attempt 1", "attempt 2", "truth"};
    a->n_boards = known ? 4 : 3;
    for (int k = 0; k < 4; k++) a->board[k] = f->tok[k], a->label[k] = labels[k];
    a->given = f->tok[0];
    a->truth = known ? f->tok[3] : NULL;
    return 0;
}

static void file_free(trm_task_file *f) {
    if (!f) return;
    arc_eval_free(f->ev);
    free(f->vpid);
    free(f->vt);
    free(f->vperm);
    free(f->in);
    free(f->pid);
    free(f->json);
    arc_names_free(&f->names);
    arc_set_free(&f->set);
    free(f);
}

const trm_task_file_ops arc_file_ops = {
    .need_data = "ARC models solve task files: give --data DIR (the dataset the model was trained on) and TASK.json",
    .need_file = "ARC: give the task file (TASK.json) as the argument",
    .no_search = "--search: not available for ARC task files (use trm eval --search on the dataset)",
    .open = file_open,
    .n_inputs = file_n_inputs,
    .prepare = file_prepare,
    .add = file_add,
    .answer = file_answer,
    .free = file_free,
};
