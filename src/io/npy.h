/* npy.h - read and write NumPy .npy files (format versions 1.0, 2.0, 3.0).
 *
 * Only C-order arrays of plain numeric dtypes are supported. Big-endian
 * data ('>') is byte-swapped on read; the host is assumed little-endian.
 */
#ifndef TRM_IO_NPY_H
#define TRM_IO_NPY_H

#include <stdint.h>

#include "trm.h"

#define NPY_MAX_DIMS 8

typedef struct {
    int ndim;              /* 0 for a scalar (numel 1) */
    int64_t shape[NPY_MAX_DIMS];
    int64_t numel;
} npy_shape;

/* Accepts descr i1 i2 i4 i8 u1 u2 u4 u8 b1 (any byte order; bool -> 0/1).
 * A value outside int32 is an error naming the file and flat index.
 * Returns a malloc'd array of shape->numel values (caller frees). */
int32_t *npy_read_i32(const char *path, npy_shape *shape, trm_err *err);
/* Accepts descr f2 f4 f8 (any byte order). */
float *npy_read_f32(const char *path, npy_shape *shape, trm_err *err);
/* Writes a version 1.0 file. descr is one of "<f4" "<f8" "<f2" "<i1" "<i2"
 * "<i4" "<i8" "<u1" "<u2" "<u4" "<u8" "|b1" (1-byte types also as "|i1" ...);
 * data is in host (little-endian) order. Temporary file + fsync + rename:
 * on failure path is left untouched. */
int npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
              const void *data, trm_err *err);

/* ---------------------------------------------------------------- mapping
 * Large integer arrays (dataset inputs/labels) are read in place rather
 * than copied: the file is mapped read-only and elements are converted
 * by dtype when accessed. */

typedef struct {
    void *map;             /* the whole file; NULL for an empty mapping */
    size_t size;
    const uint8_t *data;   /* first element; possibly unaligned */
    char descr[8];         /* as in the header, e.g. "|u1" or "<i4" */
    char kind;             /* 'i' or 'u' */
    int itemsize;          /* bytes per element: 1, 2, 4 or 8 */
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    int64_t numel;
} npy_view;

/* Maps an integer array of descr |u1 |i1 <i2 <u2 <i4 <u4 <i8 (also with
 * '=' byte order; "<u1" "<i1" spellings accepted) in C order. Checks the
 * header and that the data size matches the shape exactly. On failure v
 * is left empty (npy_unmap is still safe). */
int npy_map(const char *path, npy_view *v, trm_err *err);
/* Releases the mapping; safe on a zeroed or already unmapped view. */
void npy_unmap(npy_view *v);
/* Elements [first, first + n) (flat, C order) as int64: exact for every
 * accepted dtype. The caller keeps the range within numel. */
void npy_view_get_i64(const npy_view *v, int64_t first, int64_t n, int64_t *dst);
/* The same as int32, for values the caller has range-checked (values
 * outside int32 are truncated as C's conversion does). */
void npy_view_get_i32(const npy_view *v, int64_t first, int64_t n, int32_t *dst);

#endif /* TRM_IO_NPY_H */
