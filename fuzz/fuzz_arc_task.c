/* fuzz_arc_task - one ARC task file in the folder format (arc_load_file in
 * src/tasks/arc.c): {"train": [...], "test": [...]} with grids. */
#include "fuzz_util.h"
#include "tasks/arc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write(0, "task.json", data, size);
    arc_set s;
    memset(&s, 0, sizeof s);
    trm_err err;
    arc_load_file(path, &s, &err);
    arc_set_free(&s);
    return 0;
}
