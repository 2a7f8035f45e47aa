/* ops_ref.c - test-only operations (see ops_ref.h). */
#include "support/ops_ref.h"

#include <string.h>

#include "kernels/ops.h"

void op_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D, float scale) {
    for (int n = 0; n < N; n++) {
        const float *row = table + (size_t)ids[n] * D;
        float *o = out + (size_t)n * D;
        for (int d = 0; d < D; d++) o[d] = scale * row[d];
    }
}

void op_rmsnorm_forward(float *out, float *inv_rms, const float *in, int N, int C, float eps) {
    op_add_rmsnorm_forward(out, inv_rms, in, NULL, N, C, eps);
}

double op_stablemax_ce(const float *logits, int V, int label, float *dlogits, double scale) {
    return op_stablemax_ce_smooth(logits, V, label, 0.0, dlogits, scale);
}

double op_softmax_ce(const float *logits, int V, int label, float *dlogits, double scale) {
    return op_softmax_ce_smooth(logits, V, label, 0.0, dlogits, scale);
}

float trm_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}
