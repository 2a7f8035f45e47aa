/* check.c - a task's checker as a trm_check_fn, so programs that see only
 * trm.h (where trm_task is opaque) can hand it to trm_solve. */
#include "tasks/task.h"

int trm_task_check(void *task, const int32_t *input, const int32_t *answer, int seq_len) {
    const trm_task *t = task;
    return t && t->verify ? t->verify(input, answer, seq_len) : -1;
}

const char *trm_task_name(const trm_task *t) { return t->name; }
