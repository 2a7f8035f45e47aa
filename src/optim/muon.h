/* muon.h - Muon's pieces (muon.c), for optim.c and the tests. */
#ifndef TRM_MUON_H
#define TRM_MUON_H

#include <stdbool.h>
#include <stddef.h>

/* Floats of scratch that muon_ns needs for a rows x cols matrix. */
size_t muon_work_floats(int rows, int cols);
/* out = NS(G): `steps` quintic Newton-Schulz iterations with Keller
 * Jordan's coefficients (3.4445, -4.7750, 2.0315) on G / (||G||_F + 1e-7),
 * run on the wide orientation (G^T when rows > cols), in fp32 whatever the
 * matmul precision. G [rows, cols] and out may be the same buffer. */
void muon_ns(const float *G, int rows, int cols, int steps, float *out, float *work);
/* One Muon update of W [rows, cols] from gradient G with momentum buffer M:
 *   M <- M + (1 - mu) (G - M);  U = nesterov ? G + mu (M - G) : M
 *   W <- W (1 - lr wd) - lr sqrt(max(1, rows / cols)) NS(U)
 * work: muon_work_floats(rows, cols) + rows * cols floats. */
void muon_update(float *W, const float *G, float *M, int rows, int cols, float lr, float mu,
                     bool nesterov, float wd, int ns_steps, float *work);

#endif
