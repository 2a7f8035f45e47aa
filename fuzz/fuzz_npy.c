/* fuzz_npy - the .npy readers (src/io/npy.c): the copying readers and the
 * mapped view the dataset uses for inputs and labels. */
#include "fuzz_util.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write(0, "in.npy", data, size);
    trm_err err;
    npy_shape sh;
    free(npy_read_i32(path, &sh, &err));
    free(npy_read_f32(path, &sh, &err));
    npy_view v;
    memset(&v, 0, sizeof v);
    if (npy_map(path, &v, &err) == 0 && v.numel > 0) {
        int64_t buf[16];
        int64_t n = v.numel < 16 ? v.numel : 16;
        npy_view_get_i64(&v, 0, n, buf);                  /* the first and the last elements */
        npy_view_get_i64(&v, v.numel - n, n, buf);
    }
    npy_unmap(&v);
    return 0;
}
