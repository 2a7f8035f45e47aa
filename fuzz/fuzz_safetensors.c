/* fuzz_safetensors - the safetensors reader (src/io/safetensors.c) and the
 * checkpoint loader on top of it: any bytes must give a tensor list whose
 * every extent lies in the file, or one error; never a crash. */
#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write(0, "in.safetensors", data, size);
    trm_err err;
    st_file *f = st_open(path, &err);
    if (f) {
        for (int i = 0; i < f->n; i++) {
            const st_tensor *t = &f->tensors[i];
            void *buf = malloc((size_t)(t->numel ? t->numel : 1) * 4);
            if (!buf) abort();
            int fl = t->dtype == ST_F32 || t->dtype == ST_BF16 || t->dtype == ST_F16 || t->dtype == ST_F64;
            if (fl) st_to_f32(f, t, buf, &err);
            else st_to_i32(f, t, buf, &err);
            free(buf);
            if (st_find(f, t->name) == NULL) abort(); /* every listed tensor is found by name */
        }
        st_metadata(f, "config");
        st_close(f);
    }
    trm_model_free(trm_checkpoint_load(path, &err));
    return 0;
}
