/* fuzz_arc_kaggle - the Kaggle combined format (arc_load_kaggle in
 * src/tasks/arc.c): a challenges file, then FZ_SEP and a solutions file
 * (without a separator: no solutions file). Both skip_bad modes. */
#include "fuzz_util.h"
#include "tasks/arc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[2];
    size_t len[2];
    int n = fz_split(data, size, part, len, 2);
    const char *ch = fz_write(0, "challenges.json", part[0], len[0]);
    const char *sol = n > 1 ? fz_write(1, "solutions.json", part[1], len[1]) : NULL;
    trm_err err;
    for (int skip_bad = 0; skip_bad < 2; skip_bad++) {
        arc_set s;
        memset(&s, 0, sizeof s);
        arc_load_kaggle(ch, sol, skip_bad, &s, &err);
        arc_set_free(&s);
    }
    return 0;
}
