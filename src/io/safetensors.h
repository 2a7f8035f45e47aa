/* safetensors.h - read (mmap) and write .safetensors files.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then
 * the data section. Each JSON key except "__metadata__" names a tensor:
 *   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
 * with offsets relative to the start of the data section. "__metadata__"
 * maps strings to strings.
 *
 * The host is assumed little-endian (as the format's data is). Tensor data
 * may sit at any alignment in the mapping, so read it through st_to_f32 /
 * st_to_i32 (or memcpy) rather than by casting the pointer.
 */
#ifndef TRM_IO_SAFETENSORS_H
#define TRM_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "trm.h"

#define ST_MAX_DIMS 8
/* Headers beyond this are rejected as corrupt (the reference library uses
 * the same bound). */
#define ST_MAX_HEADER ((uint64_t)100000000)

/* ---------------------------------------------------------------- reading */

typedef enum {
    ST_F32, ST_BF16, ST_F16, ST_F64, ST_I32, ST_I64, ST_I16, ST_I8, ST_U8, ST_BOOL
} st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    const uint8_t *data;   /* into the mapping; possibly unaligned */
    size_t nbytes;
} st_tensor;

typedef struct {
    char *path;
    void *map;
    size_t size;
    st_tensor *tensors;    /* in header order */
    int n;
    char **meta_keys;
    char **meta_vals;
    int n_meta;
} st_file;

/* Maps path read-only and validates the header and every tensor's extent. */
st_file *st_open(const char *path, trm_err *err);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* NULL if absent. */
const char *st_metadata(const st_file *f, const char *key);

const char *st_dtype_name(st_dtype d);
int st_dtype_size(st_dtype d);
/* Parses "F32", "BF16", ...; -1 if unknown. */
int st_dtype_parse(const char *s, st_dtype *out);

/* F32/BF16/F16/F64 -> float; dst holds t->numel floats. */
int st_to_f32(const st_file *f, const st_tensor *t, float *dst, trm_err *err);
/* I32/I64/I16/I8/U8/BOOL -> int32 (I64 outside int32 is an error). */
int st_to_i32(const st_file *f, const st_tensor *t, int32_t *dst, trm_err *err);

/* ---------------------------------------------------------------- writing */

typedef struct st_writer st_writer;

st_writer *st_writer_new(void);
/* data (numel * dtype size bytes) is borrowed until st_writer_write
 * returns; name must be unique and not "__metadata__". */
int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data, trm_err *err);
/* Adding an existing key replaces its value. */
int st_writer_meta(st_writer *w, const char *key, const char *value, trm_err *err);
/* Writes through io_write_atomic (fileio.h): "<path>.tmp.<pid>", created
 * exclusively, fsynced and renamed over path. On failure the
 * temporary file is removed and path is left untouched. Output is
 * deterministic: tensors in insertion order, data section 8-byte aligned. */
int st_writer_write(st_writer *w, const char *path, trm_err *err);
void st_writer_free(st_writer *w);

/* ---------------------------------------------------------------- helpers
 * Shared with npy.c. */

/* IEEE half / bfloat16 bit patterns -> float (exact, incl. subnormals,
 * infinities and NaN). */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t h);
/* Opens and maps path read-only (private, PROT_READ); release with munmap.
 * An empty file yields map NULL, size 0 so that callers can word the error
 * for their own format. Anything but a regular file is an error (a FIFO
 * is refused without blocking: util_open_regular). */
int st_map_file(const char *path, void **map, size_t *size, trm_err *err);

#endif /* TRM_IO_SAFETENSORS_H */
