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

#endif /* TRM_IO_NPY_H */
