/* test_model.c - the model's tensor table, parameter counts (spec 1.9),
 * SwiGLU widths (spec 1.4), initialisation (spec 1.7), the RNG and erfinv
 * behind it, the config API (presets, set, JSON, validation), and the ACT
 * step's determinism, halting at init and input checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "trm.h"
#include "testutil.h"

#include "gradcheck.h"

/* ---------------------------------------------------------------- helpers */

static void preset(trm_config *c, const char *name) {
    trm_err err = {{0}};
    if (trm_config_preset(c, name, &err)) fail_msg("preset %s: %s", name, err.msg);
}

/* A model with zero weights (cheap: calloc only). */
static trm_model *alloc_model(const trm_config *c) {
    trm_err err = {{0}};
    trm_model *m = trm_model_alloc(c, &err);
    if (!m) fail_msg("trm_model_alloc: %s", err.msg);
    return m;
}

static trm_model *new_model(const trm_config *c, uint64_t seed) {
    trm_err err = {{0}};
    trm_model *m = trm_model_new(c, seed, &err);
    if (!m) fail_msg("trm_model_new: %s", err.msg);
    return m;
}


static trm_tensor *find(trm_model *m, const char *name) {
    trm_tensor *t = trm_model_find(m, name);
    if (!t) fail_msg("model has no tensor %s", name);
    return t;
}

/* ---------------------------------------------------------------- parameter counts */

/* Spec 1.9, counted over the built tensor table and by the config alone. */
static void test_num_params_presets(void **state) {
    (void)state;
    static const struct { const char *name; int64_t want; } P[] = {
        {"sudoku-mlp", 5028866}, {"sudoku-att", 6828034}, {"maze-att", 6822914},
    };
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++) {
        trm_config c;
        preset(&c, P[i].name);
        trm_model *m = alloc_model(&c);
        if (trm_model_num_params(m) != P[i].want)
            fail_msg("%s: model counts %lld, spec 1.9 says %lld", P[i].name,
                     (long long)trm_model_num_params(m), (long long)P[i].want);
        assert_int_equal(trm_config_num_params(&c), P[i].want);
        trm_model_free(m);
    }
    /* ARC: the puzzle table has ~1e6 rows (a buffer, not counted), so count
     * from the config only */
    trm_config c;
    preset(&c, "arc1-att");
    assert_int_equal(c.num_puzzle_identifiers, 876406);
    assert_int_equal(trm_config_num_params(&c), 6829058);
    preset(&c, "arc2-att");
    assert_int_equal(c.num_puzzle_identifiers, 1191730);
    assert_int_equal(trm_config_num_params(&c), 6829058);
    /* the MLP rows of spec 1.9 for Maze and ARC (L = 916) */
    preset(&c, "maze-att");
    c.mlp_t = true;
    c.pos_encodings = TRM_POS_NONE;
    assert_int_equal(trm_config_num_params(&c), 18795522);
    preset(&c, "arc1-att");
    c.mlp_t = true;
    c.pos_encodings = TRM_POS_NONE;
    assert_int_equal(trm_config_num_params(&c), 18801666);
}

/* trm_config_num_params agrees with the tensor table on variants. */
static void test_num_params_variants(void **state) {
    (void)state;
    trm_config c;
    for (int v = 0; v < 7; v++) {
        preset(&c, "sudoku-att");
        int64_t want = -1;
        switch (v) {
        case 0: c.pos_encodings = TRM_POS_LEARNED; want = 6828034 + 97 * 512; break;
        case 1: c.mlp_t = true; c.pos_encodings = TRM_POS_NONE; c.seq_len = 30; break;
        case 2: c.expansion = 2.0f; break;
        case 3: c.L_layers = 3; want = 6828034 + 3407872; break;
        case 4: c.mlp_t = true; c.pos_encodings = TRM_POS_LEARNED; c.seq_len = 49;
                c.puzzle_emb_len = 0; c.expansion = 3.0f; break;
        case 5: c.num_puzzle_identifiers = 7; want = 6828034; break; /* buffer only */
        case 6: c.puzzle_emb_ndim = 0; c.puzzle_emb_len = 0; want = 6828034; break;
        }
        trm_model *m = alloc_model(&c);
        int64_t n = trm_model_num_params(m);
        if (n != trm_config_num_params(&c))
            fail_msg("variant %d: model %lld, config %lld", v, (long long)n,
                     (long long)trm_config_num_params(&c));
        if (want >= 0 && n != want)
            fail_msg("variant %d: %lld params, expected %lld", v, (long long)n, (long long)want);
        trm_model_free(m);
    }
}

/* The tensor table of the attention and MLP Sudoku models: names and
 * shapes of spec 1.10, trainable flags of spec 1.9. */
static void test_tensor_table(void **state) {
    (void)state;
    static const struct { const char *name; int64_t d0, d1; bool trainable; } ATT[] = {
        {"embed_tokens.embedding_weight", 11, 512, true}, {"lm_head.weight", 11, 512, true},
        {"q_head.weight", 2, 512, true}, {"q_head.bias", 2, 0, true},
        {"puzzle_emb.weights", 1, 512, false}, {"H_init", 512, 0, false},
        {"L_init", 512, 0, false},
        {"L_level.layers.0.self_attn.qkv_proj.weight", 1536, 512, true},
        {"L_level.layers.1.self_attn.qkv_proj.weight", 1536, 512, true},
        {"L_level.layers.0.self_attn.o_proj.weight", 512, 512, true},
        {"L_level.layers.1.self_attn.o_proj.weight", 512, 512, true},
        {"L_level.layers.0.mlp.gate_up_proj.weight", 3072, 512, true},
        {"L_level.layers.1.mlp.gate_up_proj.weight", 3072, 512, true},
        {"L_level.layers.0.mlp.down_proj.weight", 512, 1536, true},
        {"L_level.layers.1.mlp.down_proj.weight", 512, 1536, true},
    };
    trm_config c;
    preset(&c, "sudoku-att");
    trm_model *m = alloc_model(&c);
    assert_int_equal(m->n_tensors, (int)(sizeof ATT / sizeof ATT[0]));
    assert_int_equal(m->L, 97);
    assert_int_equal(m->P, 16);
    assert_int_equal(m->I, 1536);
    for (size_t i = 0; i < sizeof ATT / sizeof ATT[0]; i++) {
        trm_tensor *t = find(m, ATT[i].name);
        assert_int_equal(t->ndim, ATT[i].d1 ? 2 : 1);
        assert_int_equal(t->shape[0], ATT[i].d0);
        if (ATT[i].d1) assert_int_equal(t->shape[1], ATT[i].d1);
        assert_int_equal(t->numel, ATT[i].d0 * (ATT[i].d1 ? ATT[i].d1 : 1));
        assert_int_equal(t->trainable, ATT[i].trainable);
        assert_true(t->trainable == (t->grad != NULL));
    }
    assert_null(trm_model_find(m, "embed_pos.embedding_weight"));
    assert_null(trm_model_find(m, "no.such.tensor"));
    assert_non_null(m->rope_cos);
    trm_model_free(m);

    preset(&c, "sudoku-mlp");
    m = alloc_model(&c);
    assert_int_equal(m->It, 512);
    trm_tensor *t = find(m, "L_level.layers.1.mlp_t.gate_up_proj.weight");
    assert_int_equal(t->shape[0], 1024);
    assert_int_equal(t->shape[1], 97);
    t = find(m, "L_level.layers.0.mlp_t.down_proj.weight");
    assert_int_equal(t->shape[0], 97);
    assert_int_equal(t->shape[1], 512);
    assert_null(trm_model_find(m, "L_level.layers.0.self_attn.qkv_proj.weight"));
    assert_null(m->rope_cos);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- SwiGLU width */

static void test_swiglu_width(void **state) {
    (void)state;
    /* spec 1.4 */
    assert_int_equal(trm_swiglu_width(512, 4.0f), 1536);
    assert_int_equal(trm_swiglu_width(97, 4.0f), 512);
    assert_int_equal(trm_swiglu_width(916, 4.0f), 2560);
    assert_int_equal(trm_swiglu_width(64, 4.0f), 256);   /* 170.67 -> 171 -> 256 */
    assert_int_equal(trm_swiglu_width(384, 4.0f), 1024); /* 1024 exactly: no padding */
    assert_int_equal(trm_swiglu_width(385, 4.0f), 1280); /* 1026.67 -> 1027 -> 1280 */
    /* Python's round() sends halves to even. expansion * h * 2 / 3 is an
     * exact half in double for these, and the neighbours land on different
     * multiples of 256, so rounding halves up (C's round()/lround) or
     * truncating would change the width:
     *   0.75 * 513 * 2 / 3  = 256.5 -> 256 (even) -> 256   (half-up: 257 -> 512)
     *   2.25 * 171 * 2 / 3  = 256.5 -> 256        -> 256   (half-up: 512)
     *   0.75 * 1537 * 2 / 3 = 768.5 -> 768        -> 768   (half-up: 1024)
     *   0.75 * 1 * 2 / 3    = 0.5   -> 0          -> 0     (half-up: 1 -> 256)
     *   0.75 * 511 * 2 / 3  = 255.5 -> 256 (even) -> 256   (truncation: 255 -> 256 too;
     *                                                      but 0.75*3*2/3 = 1.5 -> 2 below)
     *   0.75 * 3 * 2 / 3    = 1.5   -> 2          -> 256
     *   2.25 * 1195 * 2/3   = 1792.5 -> 1792      -> 1792  (half-up: 2048) */
    assert_int_equal(trm_swiglu_width(513, 0.75f), 256);
    assert_int_equal(trm_swiglu_width(171, 2.25f), 256);
    assert_int_equal(trm_swiglu_width(1537, 0.75f), 768);
    assert_int_equal(trm_swiglu_width(1, 0.75f), 0);
    assert_int_equal(trm_swiglu_width(511, 0.75f), 256);
    assert_int_equal(trm_swiglu_width(3, 0.75f), 256);
    assert_int_equal(trm_swiglu_width(1195, 2.25f), 1792);
    /* just above / below a half are not ties */
    assert_int_equal(trm_swiglu_width(514, 0.75f), 512);  /* 257 */
    assert_int_equal(trm_swiglu_width(385, 1.0f), 512);   /* 256.67 -> 257 */
    assert_int_equal(trm_swiglu_width(384, 1.0f), 256);   /* 256 */
}

/* ---------------------------------------------------------------- initialisation */

#define TN_FACTOR 1.1368472343385565

typedef struct {
    double mean, std, maxabs;
} stats;

/* Values within a relative 1e-6 of bound: a truncated normal (the inverse
 * CDF of a truncated uniform) essentially never lands there, a normal
 * that is clipped piles up mass on it. */
static int64_t count_at_bound(const float *x, int64_t n, double bound) {
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) k += fabs(x[i]) >= bound * (1 - 1e-6);
    return k;
}

static stats tensor_stats(const float *x, int64_t n) {
    double s = 0, s2 = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        if (fabs(x[i]) > mx) mx = fabs(x[i]);
    }
    stats r = {s / n, 0, mx};
    r.std = sqrt(fmax(s2 / n - r.mean * r.mean, 0));
    return r;
}

/* Truncated normal of target std sigma: empirical std within rel_tol,
 * |w| <= 2 * 1.13684... * sigma, and (for big tensors) the bound reached. */
static void check_trunc_normal(const trm_tensor *t, double sigma, double rel_tol) {
    stats s = tensor_stats(t->data, t->numel);
    double bound = 2.0 * TN_FACTOR * sigma;
    if (fabs(s.std - sigma) > rel_tol * sigma)
        fail_msg("%s: std %.6g, expected %.6g (+-%.0f%%)", t->name, s.std, sigma, 100 * rel_tol);
    if (s.maxabs > bound * (1 + 1e-6))
        fail_msg("%s: max |w| %.8g exceeds the clip 2c = %.8g", t->name, s.maxabs, bound);
    if (t->numel >= 4096) {
        if (s.maxabs < 0.98 * bound)
            fail_msg("%s: max |w| %.6g, expected close to the clip %.6g", t->name, s.maxabs, bound);
        if (fabs(s.mean) > 0.05 * sigma)
            fail_msg("%s: mean %.4g is not ~0 (std %.4g)", t->name, s.mean, sigma);
        int64_t k = count_at_bound(t->data, t->numel, bound);
        if (k > 2)
            fail_msg("%s: %lld values sit on the clip +-%.6g (clipped, not truncated)", t->name,
                     (long long)k, bound);
    }
}

/* y_init / z_init hold only D values: their std is checked to within
 * init_tol (about 4 standard errors of the estimate). */
static void check_init(trm_model *m, double init_tol) {
    const trm_config *c = &m->cfg;
    double D = c->hidden_size;
    int matrices = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        if (!strcmp(t->name, "q_head.weight") || !strcmp(t->name, "puzzle_emb.weights")) {
            for (int64_t k = 0; k < t->numel; k++)
                if (t->data[k] != 0.0f) fail_msg("%s[%lld] = %g, expected 0", t->name, (long long)k, t->data[k]);
        } else if (!strcmp(t->name, "q_head.bias")) {
            for (int64_t k = 0; k < t->numel; k++) assert_true(t->data[k] == -5.0f);
        } else if (!strcmp(t->name, "H_init") || !strcmp(t->name, "L_init")) {
            check_trunc_normal(t, 1.0, init_tol);
        } else if (strstr(t->name, "embedding_weight")) {
            check_trunc_normal(t, 1.0 / sqrt(D), 0.03);
        } else {
            assert_int_equal(t->ndim, 2);
            check_trunc_normal(t, 1.0 / sqrt((double)t->shape[1]), 0.03);
            matrices++;
        }
    }
    assert_int_equal(matrices, 1 + 4 * c->L_layers);
}

/* Spec 1.7 on an attention model with hidden 256 and learned positions. */
static void test_init_attention(void **state) {
    (void)state;
    trm_config c;
    trm_config_default(&c);
    c.hidden_size = 256;
    c.num_heads = 4;
    c.pos_encodings = TRM_POS_LEARNED;
    c.puzzle_emb_ndim = 256;
    c.puzzle_emb_len = 1;
    c.vocab_size = 64;
    c.seq_len = 48;
    c.num_puzzle_identifiers = 4;
    trm_model *m = new_model(&c, 1234);
    check_init(m, 0.15);
    /* y_init and z_init are independent draws */
    assert_true(memcmp(m->H_init, m->L_init, 256 * sizeof(float)) != 0);
    trm_model_free(m);
}

/* The token-mixing MLP's matrices use 1/sqrt(in) too: 1/sqrt(L) for
 * gate_up [2It, L] and 1/sqrt(It) for down [L, It]. */
static void test_init_mlp_t(void **state) {
    (void)state;
    trm_config c;
    trm_config_default(&c);
    c.hidden_size = 64;
    c.mlp_t = true;
    c.pos_encodings = TRM_POS_NONE;
    c.puzzle_emb_ndim = 64;
    c.puzzle_emb_len = 1;
    c.vocab_size = 64;
    c.seq_len = 48;
    trm_model *m = new_model(&c, 99);
    assert_int_equal(m->L, 49);
    assert_int_equal(m->It, 256);
    check_init(m, 0.30); /* 64 values */
    stats s = tensor_stats(find(m, "L_level.layers.0.mlp_t.gate_up_proj.weight")->data, 512 * 49);
    assert_true(fabs(s.std - 1.0 / 7.0) < 0.03 / 7.0);
    trm_model_free(m);
}

/* Same seed, same weights; another seed, other weights (every randomly
 * initialised tensor differs). */
static void test_init_seeding(void **state) {
    (void)state;
    trm_config c;
    preset(&c, "tiny");
    trm_model *a = new_model(&c, 7), *b = new_model(&c, 7), *d = new_model(&c, 8);
    for (int i = 0; i < a->n_tensors; i++) {
        const trm_tensor *t = &a->tensors[i];
        size_t bytes = sizeof(float) * (size_t)t->numel;
        if (memcmp(t->data, b->tensors[i].data, bytes))
            fail_msg("%s differs between two models with seed 7", t->name);
        bool constant = !strcmp(t->name, "q_head.weight") || !strcmp(t->name, "q_head.bias") ||
                        !strcmp(t->name, "puzzle_emb.weights");
        if (!constant && !memcmp(t->data, d->tensors[i].data, bytes))
            fail_msg("%s is the same for seeds 7 and 8", t->name);
    }
    trm_model_free(a);
    trm_model_free(b);
    trm_model_free(d);
}

/* ---------------------------------------------------------------- RNG */

/* The EMA evaluation copy shares the live puzzle table: one buffer, seen
 * by both, freed once (the sanitizer pass would catch a double free). */
static void test_share_puzzle_table(void **state) {
    (void)state;
    trm_config c;
    preset(&c, "tiny");
    trm_err err;
    trm_model *live = trm_model_new(&c, 1, &err), *copy = trm_model_alloc(&c, &err);
    assert_non_null(live);
    assert_non_null(copy);
    assert_int_equal(trm_model_share_tensor(copy, live, "puzzle_emb.weights", &err), 0);
    assert_ptr_equal(copy->puzzle_emb, live->puzzle_emb);
    assert_ptr_equal(trm_model_find(copy, "puzzle_emb.weights")->data, live->puzzle_emb);
    live->puzzle_emb[3] = 0.25f;
    assert_true(copy->puzzle_emb[3] == 0.25f);
    assert_int_equal(trm_model_share_tensor(copy, live, "lm_head.weight", &err), -1);
    assert_non_null(strstr(err.msg, "only the puzzle table"));
    assert_int_equal(trm_model_share_tensor(copy, live, "no.such", &err), -1);
    trm_model_free(copy);
    trm_model_free(live);
}

static void test_erfinv(void **state) {
    (void)state;
    double worst = 0;
    for (int i = -20000; i <= 20000; i++) {
        double x = i / 20001.0;
        double y = rng_erfinv(x);
        double e = fabs(erf(y) - x);
        if (!(e < 1e-12)) fail_msg("erf(erfinv(%.17g)) - x = %g", x, e);
        if (e > worst) worst = e;
        assert_true(rng_erfinv(-x) == -y); /* odd */
    }
    /* "double precision": a few ulps of erf, not just 1e-12 (one Newton
     * step from the single-precision guess leaves ~5e-15) */
    if (worst > 1e-15) fail_msg("erfinv round trip error up to %g", worst);
    /* the tails, where the initial guess switches branch */
    static const double tails[] = {0.99, 0.999, 0.9999, 0.999999, 1 - 1e-9, 1 - 1e-12,
                                   0.9544997361036416, 1e-8, 1e-300};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        double x = tails[i], y = rng_erfinv(x);
        if (!(fabs(erf(y) - x) < 1e-12)) fail_msg("erf(erfinv(%.17g)) - x = %g", x, erf(y) - x);
        assert_true(rng_erfinv(-x) == -y);
    }
    /* truncation point of spec 1.7: erfinv(erf(2/sqrt(2))) = sqrt(2) */
    assert_true(fabs(rng_erfinv(0.9544997361036416) - M_SQRT2) < 1e-12);
    assert_true(fabs(rng_erfinv(0.5) - 0.47693627620446987) < 1e-14);
    assert_true(fabs(rng_erfinv(1e-300) / 1e-300 - 0.88622692545275801) < 1e-12);
    assert_true(rng_erfinv(0.0) == 0.0);
    assert_true(isinf(rng_erfinv(1.0)) && rng_erfinv(1.0) > 0);
    assert_true(isinf(rng_erfinv(-1.0)) && rng_erfinv(-1.0) < 0);
    /* monotone */
    double prev = -INFINITY;
    for (int i = -1000; i <= 1000; i++) {
        double y = rng_erfinv(i / 1000.5);
        assert_true(y > prev);
        prev = y;
    }
}

static void test_rng_uniform(void **state) {
    (void)state;
    uint64_t s[4];
    rng_seed(s, 2024);
    const int n = 200000;
    double sum = 0;
    int below_1e_2 = 0;
    float lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform(s);
        if (!(u >= 0.0f && u < 1.0f)) fail_msg("rng_uniform gave %.9g", u);
        float scaled = u * 16777216.0f;
        assert_true(scaled == floorf(scaled)); /* 24 random bits */
        sum += u;
        below_1e_2 += u < 0.01f;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    assert_true(fabs(sum / n - 0.5) < 0.005);
    assert_true(abs(below_1e_2 - n / 100) < 300); /* std ~44 */
    assert_true(lo < 1e-4f && hi > 1 - 1e-4f);
    /* seeding */
    uint64_t a[4], b[4], c[4];
    rng_seed(a, 5);
    rng_seed(b, 5);
    rng_seed(c, 6);
    int same_c = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(a);
        assert_true(x == rng_next(b));
        same_c += x == rng_next(c);
    }
    assert_int_equal(same_c, 0);
}

static void test_rng_int(void **state) {
    (void)state;
    uint64_t s[4];
    rng_seed(s, 77);
    /* the exploration draw of spec 1.6: k in {2..16} */
    int counts[17] = {0};
    const int n = 150000;
    for (int i = 0; i < n; i++) {
        int k = rng_int(s, 2, 16);
        if (k < 2 || k > 16) fail_msg("rng_int(2, 16) gave %d", k);
        counts[k]++;
    }
    for (int k = 2; k <= 16; k++) /* expected 10000 each, std ~97 */
        if (abs(counts[k] - n / 15) > 500) fail_msg("rng_int(2, 16): %d drawn %d times", k, counts[k]);
    int neg[7] = {0};
    for (int i = 0; i < 70000; i++) {
        int k = rng_int(s, -3, 3);
        assert_true(k >= -3 && k <= 3);
        neg[k + 3]++;
    }
    for (int k = 0; k < 7; k++) assert_true(abs(neg[k] - 10000) < 500);
    for (int i = 0; i < 100; i++) assert_int_equal(rng_int(s, 7, 7), 7);
    int pos = 0, negs = 0;
    for (int i = 0; i < 1000; i++) {
        int k = rng_int(s, -1000000000, 1000000000);
        pos += k > 0;
        negs += k < 0;
    }
    assert_true(pos > 400 && negs > 400);
}

/* ---------------------------------------------------------------- config */

static void test_config_json_round_trip(void **state) {
    (void)state;
    trm_config a, b;
    trm_config_default(&a);
    a.hidden_size = 96;
    a.num_heads = 6;
    a.expansion = 2.7f;
    a.L_layers = 3;
    a.H_cycles = 4;
    a.L_cycles = 5;
    a.halt_max_steps = 9;
    a.halt_exploration_prob = 0.3f;
    a.pos_encodings = TRM_POS_LEARNED;
    a.mlp_t = true;
    a.puzzle_emb_ndim = 100;
    a.puzzle_emb_len = 0;
    a.rms_norm_eps = 1.2345678e-6f;
    a.rope_theta = 12345.678f;
    a.vocab_size = 13;
    a.seq_len = 17;
    a.num_puzzle_identifiers = 19;
    char *json = trm_config_to_json(&a);
    assert_non_null(json);
    assert_contains(json, "\"hidden_size\":96");
    assert_contains(json, "\"pos_encodings\":\"learned\"");
    assert_contains(json, "\"mlp_t\":true");
    trm_config_default(&b);
    trm_err err = {{0}};
    if (trm_config_from_json(&b, json, &err)) fail_msg("%s", err.msg);
    assert_true(cfg_equal(&a, &b));
    free(json);
    /* every preset survives too */
    static const char *names[] = {"sudoku-mlp", "sudoku-att", "maze-att", "arc1-att",
                                  "arc2-att", "tiny"};
    for (int i = 0; i < 6; i++) {
        preset(&a, names[i]);
        assert_int_equal(trm_config_validate(&a, &err), 0);
        json = trm_config_to_json(&a);
        memset(&b, 0, sizeof b);
        assert_int_equal(trm_config_from_json(&b, json, &err), 0);
        assert_true(cfg_equal(&a, &b));
        free(json);
    }
    /* fields of the reference's arch section that are not architecture */
    trm_config_default(&b);
    assert_int_equal(trm_config_from_json(&b, "{\"name\": \"recursive_reasoning.trm@TRM\", "
                                          "\"H_layers\": 0, \"no_ACT_continue\": true, "
                                          "\"forward_dtype\": \"bfloat16\", \"hidden_size\": 128}",
                                          &err), 0);
    assert_int_equal(b.hidden_size, 128);
    assert_int_equal(trm_config_from_json(&b, "{\"no_ACT_continue\": false}", &err), -1);
    assert_contains(err.msg, "no_ACT_continue");
    assert_int_equal(trm_config_from_json(&b, "[1]", &err), -1);
    assert_contains(err.msg, "JSON object");
    assert_int_equal(trm_config_from_json(&b, "{\"seq_len\": 2.5}", &err), -1);
    assert_contains(err.msg, "seq_len");
    assert_int_equal(trm_config_from_json(&b, "{\"rope_thetaa\": 2}", &err), -1);
    assert_contains(err.msg, "rope_thetaa");
}

static void test_config_set(void **state) {
    (void)state;
    trm_config c;
    trm_config_default(&c);
    trm_err err = {{0}};
    assert_int_equal(trm_config_set(&c, "hidden_size", "64", &err), 0);
    assert_int_equal(c.hidden_size, 64);
    assert_int_equal(trm_config_set(&c, "num_puzzle_identifiers", "-3", &err), 0);
    assert_int_equal(c.num_puzzle_identifiers, -3);
    assert_int_equal(trm_config_set(&c, "expansion", "2.5", &err), 0);
    assert_true(c.expansion == 2.5f);
    assert_int_equal(trm_config_set(&c, "rms_norm_eps", "1e-6", &err), 0);
    assert_true(c.rms_norm_eps == 1e-6f);
    assert_int_equal(trm_config_set(&c, "mlp_t", "true", &err), 0);
    assert_true(c.mlp_t);
    assert_int_equal(trm_config_set(&c, "mlp_t", "False", &err), 0);
    assert_false(c.mlp_t);
    assert_int_equal(trm_config_set(&c, "mlp_t", "1", &err), 0);
    assert_true(c.mlp_t);
    assert_int_equal(trm_config_set(&c, "pos_encodings", "learned", &err), 0);
    assert_int_equal(c.pos_encodings, TRM_POS_LEARNED);
    assert_int_equal(trm_config_set(&c, "pos_encodings", "none", &err), 0);
    assert_int_equal(c.pos_encodings, TRM_POS_NONE);
    assert_int_equal(trm_config_set(&c, "pos_encodings", "rope", &err), 0);
    assert_int_equal(c.pos_encodings, TRM_POS_ROPE);

    trm_config before = c;
    assert_int_equal(trm_config_set(&c, "hiden_size", "64", &err), -1);
    assert_contains(err.msg, "hiden_size");
    assert_contains(err.msg, "hidden_size"); /* the list of valid names */
    static const struct { const char *key, *value; } BAD[] = {
        {"rope_theta", "1e99"},
        {"hidden_size", "12x"}, {"hidden_size", ""}, {"hidden_size", "1.5"},
        {"hidden_size", "99999999999"}, {"L_layers", "two"},
        {"expansion", "abc"}, {"expansion", "inf"}, {"expansion", "nan"},
        {"mlp_t", "yes"}, {"mlp_t", "TRUE "},
        {"pos_encodings", "sinusoidal"}, {"pos_encodings", "ROPE"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        err.msg[0] = 0;
        if (trm_config_set(&c, BAD[i].key, BAD[i].value, &err) != -1)
            fail_msg("trm_config_set(%s, '%s') accepted", BAD[i].key, BAD[i].value);
        assert_contains(err.msg, BAD[i].key);
        if (BAD[i].value[0]) assert_contains(err.msg, BAD[i].value);
        assert_true(cfg_equal(&c, &before)); /* a failed set changes nothing */
    }
    assert_int_equal(trm_config_set(&c, "mlp_t", "yes", &err), -1);
    assert_contains(err.msg, "true or false");
    assert_int_equal(trm_config_set(&c, "pos_encodings", "abs", &err), -1);
    assert_contains(err.msg, "rope, learned or none");
    assert_int_equal(trm_config_set(&c, "seq_len", "x", &err), -1);
    assert_contains(err.msg, "integer");
}

/* Each invalid field gives -1 with a message naming it. */
static void test_config_validate(void **state) {
    (void)state;
    trm_config base, c;
    preset(&base, "tiny"); /* D 64, 4 heads, rope, ndim 64, len 1 */
    trm_err err = {{0}};
    assert_int_equal(trm_config_validate(&base, &err), 0);

#define REJECT(field, stmt) do { c = base; stmt; err.msg[0] = 0; \
        if (trm_config_validate(&c, &err) != -1) fail_msg("accepted: %s", #stmt); \
        assert_contains(err.msg, field); } while (0)
#define ACCEPT(stmt) do { c = base; stmt; \
        if (trm_config_validate(&c, &err)) fail_msg("rejected %s: %s", #stmt, err.msg); } while (0)

    REJECT("rope_theta", c.rope_theta = INFINITY);
    REJECT("rms_norm_eps", c.rms_norm_eps = INFINITY);
    REJECT("hidden_size", c.hidden_size = 0);
    REJECT("hidden_size", c.hidden_size = -64);
    REJECT("num_heads", c.num_heads = 3);
    REJECT("num_heads", c.num_heads = 0);
    ACCEPT((c.num_heads = 3, c.mlp_t = true, c.pos_encodings = TRM_POS_NONE));
    ACCEPT((c.num_heads = 0, c.mlp_t = true, c.pos_encodings = TRM_POS_NONE));
    REJECT("num_heads", c.num_heads = 64);          /* head_dim 1 with rope */
    REJECT("num_heads", (c.hidden_size = 96, c.num_heads = 32, c.puzzle_emb_ndim = 96)); /* head_dim 3 */
    ACCEPT((c.num_heads = 64, c.pos_encodings = TRM_POS_LEARNED)); /* odd head_dim without rope */
    ACCEPT((c.num_heads = 64, c.pos_encodings = TRM_POS_NONE));
    REJECT("puzzle_emb_len", (c.puzzle_emb_ndim = 0, c.puzzle_emb_len = 2));
    ACCEPT((c.puzzle_emb_ndim = 0, c.puzzle_emb_len = 0));
    REJECT("puzzle_emb_ndim", c.puzzle_emb_ndim = 65);                   /* > 1 x 64 */
    REJECT("puzzle_emb_ndim", (c.puzzle_emb_ndim = 200, c.puzzle_emb_len = 3));
    ACCEPT((c.puzzle_emb_ndim = 192, c.puzzle_emb_len = 3));
    ACCEPT((c.puzzle_emb_ndim = 200, c.puzzle_emb_len = 0));            /* ceil -> 4 */
    REJECT("puzzle_emb_ndim", c.puzzle_emb_ndim = -1);
    REJECT("vocab_size", c.vocab_size = 1);
    REJECT("vocab_size", c.vocab_size = 0);
    ACCEPT(c.vocab_size = 2);
    REJECT("halt_exploration_prob", c.halt_exploration_prob = 1.5f);
    REJECT("halt_exploration_prob", c.halt_exploration_prob = -0.1f);
    REJECT("halt_exploration_prob", c.halt_exploration_prob = NAN);
    ACCEPT(c.halt_exploration_prob = 1.0f);
    ACCEPT(c.halt_exploration_prob = 0.0f);
    REJECT("seq_len", c.seq_len = 0);
    REJECT("num_puzzle_identifiers", c.num_puzzle_identifiers = 0);
    REJECT("L_layers", c.L_layers = 0);
    REJECT("H_cycles", c.H_cycles = 0);
    REJECT("L_cycles", c.L_cycles = 0);
    REJECT("halt_max_steps", c.halt_max_steps = 0);
    REJECT("expansion", c.expansion = 0.0f);
    REJECT("expansion", c.expansion = NAN);
    REJECT("rms_norm_eps", c.rms_norm_eps = 0.0f);
    REJECT("rope_theta", c.rope_theta = -1.0f);
    REJECT("pos_encodings", c.pos_encodings = (trm_pos_encoding)7);
#undef REJECT
#undef ACCEPT

    /* trm_model_alloc validates too */
    c = base;
    c.num_heads = 3;
    assert_null(trm_model_alloc(&c, &err));
    assert_contains(err.msg, "num_heads");
    assert_null(trm_model_new(&c, 1, &err));
    trm_model_free(NULL);

    /* presets */
    assert_int_equal(trm_config_preset(&c, "sudoku", &err), -1);
    assert_contains(err.msg, "sudoku");
    assert_contains(err.msg, "sudoku-mlp");
    preset(&c, "maze-att");
    assert_int_equal(c.L_cycles, 4);
    assert_int_equal(c.vocab_size, 6);
    assert_int_equal(c.seq_len, 900);
    assert_int_equal(trm_config_total_len(&c), 916);
    preset(&c, "sudoku-mlp");
    assert_true(c.mlp_t);
    assert_int_equal(c.pos_encodings, TRM_POS_NONE);
    assert_int_equal(trm_config_prefix_len(&c), 16);
}

/* ---------------------------------------------------------------- ACT */

#define BATCH 2

typedef struct {
    int32_t inputs[BATCH * 81];
    int32_t labels[BATCH * 81];
    int32_t ids[BATCH];
    trm_batch b;
} batch_buf;

static void make_batch(batch_buf *bb, int seq_len, int vocab) {
    assert_true(seq_len <= 81);
    gc_rng r;
    gc_seed(&r, 31);
    for (int i = 0; i < BATCH * seq_len; i++) {
        bb->inputs[i] = gc_randint(&r, vocab);
        bb->labels[i] = i % 7 == 0 ? TRM_IGNORE_LABEL : gc_randint(&r, vocab);
    }
    for (int i = 0; i < BATCH; i++) bb->ids[i] = 0;
    bb->b = (trm_batch){BATCH, bb->inputs, bb->labels, bb->ids};
}

/* The tiny preset with one cycle of each kind: the halting logic does not
 * depend on the depth, and OpenMP regions are slow on a loaded machine. */
static void quick_cfg(trm_config *c) {
    preset(c, "tiny");
    c->H_cycles = 1;
    c->L_cycles = 1;
}

static trm_act *new_act(trm_model *m, trm_mode mode) {
    trm_err err = {{0}};
    trm_act *a = trm_act_new(m, BATCH, mode, 11, &err);
    if (!a) fail_msg("trm_act_new: %s", err.msg);
    return a;
}

static void step_ok(trm_model *m, trm_act *a, const trm_batch *b, const trm_explore *d) {
    trm_err err = {{0}};
    if (trm_act_step(m, a, b, d, &err)) fail_msg("trm_act_step: %s", err.msg);
}

/* Two evaluation steps from fresh states give identical logits, bit for
 * bit; q_halt at init is exactly the bias -5 (the q_head weight is 0). */
static void test_forward_deterministic(void **state) {
    (void)state;
    trm_config c;
    preset(&c, "tiny");
    trm_model *m = new_model(&c, 3);
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    size_t nlog = (size_t)BATCH * c.seq_len * c.vocab_size;
    float *first = NULL, *y_first = NULL;
    size_t ny = (size_t)BATCH * m->L * c.hidden_size;
    for (int run = 0; run < 2; run++) {
        trm_act *a = new_act(m, TRM_EVAL);
        for (int s = 1; s <= 2; s++) {
            step_ok(m, a, &bb.b, NULL);
            for (int b = 0; b < BATCH; b++) {
                assert_int_equal(a->steps[b], s);
                assert_false(a->halted[b]);
                assert_true(a->q_halt[b] == -5.0f);
                assert_true(a->q_continue[b] == -5.0f);
            }
        }
        for (size_t i = 0; i < nlog; i++)
            if (!isfinite(a->logits[i])) fail_msg("logit %zu is %g", i, a->logits[i]);
        if (run == 0) {
            first = gc_dup(a->logits, nlog);
            y_first = gc_dup(a->y, ny);
        } else {
            assert_memory_equal(a->logits, first, nlog * sizeof(float));
            assert_memory_equal(a->y, y_first, ny * sizeof(float));
        }
        trm_act_free(a);
    }
    /* the logits depend on the input: the two rows (different inputs) differ */
    assert_true(memcmp(first, first + nlog / 2, nlog / 2 * sizeof(float)) != 0);
    free(first);
    free(y_first);
    trm_model_free(m);
}

/* Training at init: q_halt = -5 < 0, so with exploration draws u = 1 (no
 * forced minimum) no row halts before halt_max_steps; at that step all do,
 * and the next step restarts them from fresh data. */
static void test_train_halts_at_max_steps(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    c.halt_max_steps = 3;
    trm_model *m = new_model(&c, 4);
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    trm_act *a = new_act(m, TRM_TRAIN);
    const float u[BATCH] = {1.0f, 1.0f};
    const int32_t k[BATCH] = {2, 3};
    trm_explore d = {u, k};
    for (int s = 1; s <= c.halt_max_steps; s++) {
        step_ok(m, a, &bb.b, &d);
        for (int b = 0; b < BATCH; b++) {
            assert_true(a->q_halt[b] == -5.0f);
            assert_int_equal(a->steps[b], s);
            if (a->halted[b] != (s == c.halt_max_steps))
                fail_msg("row %d: halted = %d after step %d of %d", b, a->halted[b], s,
                         c.halt_max_steps);
        }
    }
    step_ok(m, a, &bb.b, &d);
    for (int b = 0; b < BATCH; b++) {
        assert_int_equal(a->steps[b], 1);
        assert_false(a->halted[b]);
    }
    trm_act_free(a);
    trm_model_free(m);
}

/* With q_halt > 0 a training row halts after one step, unless its
 * exploration draw u < halt_exploration_prob forces k steps (spec 1.6). */
static void test_train_exploration(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    trm_model *m = new_model(&c, 4);
    m->q_head_b[0] = 5.0f; /* q_halt = +5 */
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    trm_act *a = new_act(m, TRM_TRAIN);
    const float u[BATCH] = {0.05f, 0.1f}; /* 0.1 is not < 0.1 */
    const int32_t k[BATCH] = {3, 3};
    trm_explore d = {u, k};
    const bool want0[] = {false, false, true, false};
    const int steps0[] = {1, 2, 3, 1};
    for (int s = 0; s < 4; s++) {
        step_ok(m, a, &bb.b, &d);
        assert_true(a->q_halt[0] == 5.0f);
        assert_int_equal(a->steps[0], steps0[s]);
        assert_int_equal(a->halted[0], want0[s]);
        assert_int_equal(a->steps[1], 1);
        assert_true(a->halted[1]);
    }
    trm_act_free(a);
    /* evaluation ignores q_halt: only the step cap halts */
    a = new_act(m, TRM_EVAL);
    step_ok(m, a, &bb.b, NULL);
    assert_false(a->halted[0]);
    assert_false(a->halted[1]);
    trm_act_free(a);
    trm_model_free(m);
}

/* Out-of-range data is refused before anything changes. */
static void test_step_bad_input(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    c.num_puzzle_identifiers = 3;
    trm_model *m = new_model(&c, 5);
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    trm_act *a = new_act(m, TRM_EVAL);
    trm_err err = {{0}};
    int S = c.seq_len;

    bb.inputs[1 * S + 5] = c.vocab_size;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "inputs[1][5]");
    assert_contains(err.msg, "11");
    bb.inputs[1 * S + 5] = -1;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "inputs[1][5]");
    bb.inputs[1 * S + 5] = 0;

    bb.labels[3] = c.vocab_size;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "labels[0][3]");
    bb.labels[3] = -1;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "labels[0][3]");
    bb.labels[3] = TRM_IGNORE_LABEL;

    bb.ids[1] = 3;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "puzzle_identifiers[1]");
    bb.ids[1] = -2;
    assert_int_equal(trm_act_step(m, a, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "puzzle_identifiers[1]");
    bb.ids[1] = 2;

    trm_batch wrong = bb.b;
    wrong.batch = BATCH + 1;
    assert_int_equal(trm_act_step(m, a, &wrong, NULL, &err), -1);
    assert_contains(err.msg, "batch");
    assert_contains(err.msg, "3");
    wrong.batch = 1;
    assert_int_equal(trm_act_step(m, a, &wrong, NULL, &err), -1);
    assert_contains(err.msg, "batch");

    /* nothing ran */
    for (int b = 0; b < BATCH; b++) {
        assert_int_equal(a->steps[b], 0);
        assert_true(a->halted[b]);
    }
    /* the repaired batch runs; NULL labels and puzzle ids are allowed */
    step_ok(m, a, &bb.b, NULL);
    trm_batch bare = {BATCH, bb.inputs, NULL, NULL};
    trm_act_reset(a);
    step_ok(m, a, &bare, NULL);
    for (int i = 0; i < BATCH * S; i++) assert_int_equal(a->labels[i], TRM_IGNORE_LABEL);
    trm_act_free(a);

    assert_null(trm_act_new(m, 0, TRM_EVAL, 1, &err));
    assert_contains(err.msg, "batch");
    trm_act_free(NULL);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- training recipes */

/* |a - b| <= tol in double. */
#define assert_near(a, b, tol)                                                          \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(fabs(a_ - b_) <= (tol)))                                                  \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol)); \
    } while (0)

/* Every dense gradient of the model, concatenated (malloc'd). */
static float *grads_copy(const trm_model *m, size_t *n_out) {
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].grad) n += (size_t)m->tensors[i].numel;
    float *g = malloc(sizeof(float) * n), *p = g;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].grad) {
            memcpy(p, m->tensors[i].grad, sizeof(float) * (size_t)m->tensors[i].numel);
            p += m->tensors[i].numel;
        }
    *n_out = n;
    return g;
}

/* One training step whose rows start at fresh states with the given step
 * counts (so the step leaves row b at steps0[b] + 1): loss with opts,
 * optionally backward (grad_scale 1). Returns the total. */
typedef struct {
    trm_model *m;
    const batch_buf *bb;
    const int32_t *steps0;
    trm_loss_opts o;
    bool backward;
} weighted_ctx;

static double weighted_step(void *p) {
    weighted_ctx *w = p;
    trm_model *m = w->m;
    int S = m->cfg.seq_len;
    trm_act *a = new_act(m, TRM_TRAIN);
    for (int b = 0; b < BATCH; b++) {
        trm_act_set_row(a, b, NULL, NULL, w->bb->inputs + b * S, 0, w->steps0[b]);
        memcpy(a->labels + b * S, w->bb->labels + b * S, sizeof(int32_t) * S);
    }
    const float u[BATCH] = {1.0f, 1.0f};
    const int32_t k[BATCH] = {2, 2};
    trm_explore d = {u, k};
    step_ok(m, a, &w->bb->b, &d);
    trm_metrics mt;
    trm_act_loss_opts(m, a, &w->o, &mt);
    if (w->backward) {
        trm_err err = {{0}};
        trm_model_zero_grad(m);
        if (trm_act_backward(m, a, 1.0f, &err)) fail_msg("%s", err.msg);
    }
    trm_act_free(a);
    return mt.total;
}

/* step_weight R: a row at supervision step t weighs R^(t - 1). The totals
 * at R = 1 and R = 0.5 give each row's loss; R = 0.25 must then be
 * L0 + 0.25^2 L1 (rows at t = 1 and t = 3). With both rows at t = 3 the
 * gradient is R^2 times the unweighted one, and the heads' gradients match
 * finite differences of the weighted loss (label smoothing on too). */
static void test_step_weight(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    trm_model *m = new_model(&c, 6);
    gc_rng r;
    gc_seed(&r, 17);
    gc_fill_random(&r, m->q_head_w, 2 * c.hidden_size, -0.05f, 0.05f); /* q_halt varies by row */
    m->q_head_b[0] = 0.3f;
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    const int32_t mixed[BATCH] = {0, 2}, same[BATCH] = {2, 2};
    weighted_ctx w = {m, &bb, mixed, {TRM_LOSS_STABLEMAX, 0.0f, 1.0f}, false};
    double t1 = weighted_step(&w);
    w.o.step_weight = 0.5f;
    double th = weighted_step(&w);
    double L1 = (t1 - th) / (1 - 0.25), L0 = t1 - L1;
    w.o.step_weight = 0.25f;
    assert_near(weighted_step(&w), L0 + 0.0625 * L1, 1e-9 * fabs(t1));
    trm_loss_opts plain = {TRM_LOSS_STABLEMAX, 0.0f, 1.0f};
    w.o = plain;
    assert_true(weighted_step(&w) == t1); /* step_weight 1 is the plain loss */

    /* uniform steps: the whole gradient scales by R^2 */
    size_t n;
    w.steps0 = same;
    w.backward = true;
    w.o = plain;
    weighted_step(&w);
    float *g1 = grads_copy(m, &n);
    w.o.step_weight = 0.5f;
    weighted_step(&w);
    float *gh = grads_copy(m, &n);
    for (size_t i = 0; i < n; i++) g1[i] *= 0.25f;
    assert_true(gc_check("step_weight 0.5 at t = 3: gradient = 0.25 x unweighted", gc_compare(gh, g1, n), 1e-6));
    free(g1); free(gh);

    /* mixed steps: FD of the weighted, smoothed loss on the heads */
    w.steps0 = mixed;
    w.o = (trm_loss_opts){TRM_LOSS_SOFTMAX, 0.2f, 0.5f};
    weighted_step(&w);
    float *qw = gc_dup(trm_model_find(m, "q_head.weight")->grad, 2 * c.hidden_size);
    float *qb = gc_dup(trm_model_find(m, "q_head.bias")->grad, 2);
    float *lm = gc_dup(trm_model_find(m, "lm_head.weight")->grad, 2 * c.hidden_size);
    w.backward = false;
    gc_result worst = gc_fd_check(m->q_head_w, 2 * c.hidden_size, qw, 1e-2f, weighted_step, &w);
    worst = gc_worse(worst, gc_fd_check(m->q_head_b, 2, qb, 1e-2f, weighted_step, &w));
    worst = gc_worse(worst, gc_fd_check(m->lm_head, 2 * c.hidden_size, lm, 1e-2f, weighted_step, &w));
    assert_true(gc_check("step_weight 0.5 + label_smoothing 0.2, rows at t = 1, 3: heads FD", worst, GC_TOL_F32));
    free(qw); free(qb); free(lm);
    trm_model_free(m);
}

/* The no-carry graph: W forward-only steps then one training step equal,
 * bit for bit, a plain training step started from the state that W
 * evaluation steps reach (logits, loss, every gradient, puzzle rows); the
 * rows end halted at step W + 1 and the exploration RNG is not drawn. */
static void test_detached_step(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    c.H_cycles = 2;
    c.puzzle_emb_ndim = c.hidden_size;
    c.num_puzzle_identifiers = 3;
    trm_model *m = new_model(&c, 8);
    gc_rng r;
    gc_seed(&r, 23);
    gc_fill_random(&r, m->puzzle_emb, 3 * c.hidden_size, -1, 1);
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    bb.ids[1] = 2;
    const int W = 2, S = c.seq_len;
    trm_loss_opts o = {TRM_LOSS_STABLEMAX, 0.1f, 1.0f};
    trm_err err = {{0}};
    size_t n, nl = (size_t)BATCH * S * c.vocab_size, np = (size_t)BATCH * c.puzzle_emb_ndim;

    trm_act *a = new_act(m, TRM_TRAIN);
    uint64_t rng0[4];
    memcpy(rng0, a->rng, sizeof rng0);
    step_ok(m, a, &bb.b, NULL); /* a carry from an earlier step, dropped by the detached step */
    memcpy(rng0, a->rng, sizeof rng0);
    if (trm_act_step_detached(m, a, &bb.b, W, &err)) fail_msg("%s", err.msg);
    assert_memory_equal(a->rng, rng0, sizeof rng0);
    for (int b = 0; b < BATCH; b++) {
        assert_int_equal(a->steps[b], W + 1);
        assert_true(a->halted[b]);
    }
    trm_metrics ma, mb;
    trm_act_loss_opts(m, a, &o, &ma);
    trm_model_zero_grad(m);
    if (trm_act_backward(m, a, 0.5f, &err)) fail_msg("%s", err.msg);
    float *ga = grads_copy(m, &n), *la = gc_dup(a->logits, nl), *pa = gc_dup(trm_act_puzzle_grad(a), np);
    assert_int_equal(ma.count, BATCH);
    assert_near(ma.steps, BATCH * (W + 1), 0);

    trm_act *e = new_act(m, TRM_EVAL), *t = new_act(m, TRM_TRAIN);
    for (int s = 0; s < W; s++) step_ok(m, e, &bb.b, NULL);
    size_t rf = trm_act_row_floats(e);
    float *y = malloc(sizeof(float) * rf), *z = malloc(sizeof(float) * rf);
    for (int b = 0; b < BATCH; b++) {
        trm_act_get_row(e, b, y, z);
        trm_act_set_row(t, b, y, z, bb.inputs + b * S, bb.ids[b], W);
        memcpy(t->labels + b * S, bb.labels + b * S, sizeof(int32_t) * S);
    }
    const float u[BATCH] = {1.0f, 1.0f};
    const int32_t k[BATCH] = {2, 2};
    trm_explore d = {u, k};
    step_ok(m, t, &bb.b, &d);
    trm_act_loss_opts(m, t, &o, &mb);
    trm_model_zero_grad(m);
    if (trm_act_backward(m, t, 0.5f, &err)) fail_msg("%s", err.msg);
    float *gb = grads_copy(m, &n);
    assert_memory_equal(t->logits, la, nl * sizeof(float));
    assert_true(ma.total == mb.total);
    assert_memory_equal(gb, ga, n * sizeof(float));
    assert_memory_equal(trm_act_puzzle_grad(t), pa, np * sizeof(float));

    /* refused input changes nothing; W < 0 and evaluation states are refused */
    bb.inputs[5] = c.vocab_size;
    assert_int_equal(trm_act_step_detached(m, a, &bb.b, W, &err), -1);
    assert_contains(err.msg, "inputs[0][5]");
    assert_true(a->halted[0] && a->steps[0] == W + 1);
    assert_int_equal(trm_act_step_detached(m, a, &bb.b, -1, &err), -1);
    assert_contains(err.msg, "warm-up");
    assert_int_equal(trm_act_step_detached(m, e, &bb.b, 0, &err), -1);
    assert_contains(err.msg, "training mode");
    free(ga); free(gb); free(la); free(pa); free(y); free(z);
    trm_act_free(a); trm_act_free(e); trm_act_free(t);
    trm_model_free(m);
}

/* A depth schedule lowers L_cycles below the allocation: the step and its
 * gradient equal those of a state allocated for that depth, and freeing
 * uses the allocated count; a depth above the allocation is refused. */
static void test_depth_below_allocation(void **state) {
    (void)state;
    trm_config c;
    quick_cfg(&c);
    c.L_cycles = 3;
    trm_model *m = new_model(&c, 9);
    batch_buf bb;
    make_batch(&bb, c.seq_len, c.vocab_size);
    trm_err err = {{0}};
    trm_act *big = new_act(m, TRM_TRAIN); /* allocated for 3 */
    m->cfg.L_cycles = 1;
    trm_act *small = new_act(m, TRM_TRAIN);
    float *g[2];
    size_t n;
    trm_act *acts[2] = {big, small};
    for (int i = 0; i < 2; i++) {
        trm_metrics mt;
        if (trm_act_step_detached(m, acts[i], &bb.b, 1, &err)) fail_msg("%s", err.msg);
        trm_act_loss(m, acts[i], TRM_LOSS_STABLEMAX, &mt);
        trm_model_zero_grad(m);
        if (trm_act_backward(m, acts[i], 1.0f, &err)) fail_msg("%s", err.msg);
        g[i] = grads_copy(m, &n);
    }
    assert_memory_equal(g[0], g[1], n * sizeof(float));
    m->cfg.L_cycles = 4;
    assert_int_equal(trm_act_step(m, big, &bb.b, NULL, &err), -1);
    assert_contains(err.msg, "L_cycles 4: this training state was allocated for at most 3");
    assert_int_equal(trm_act_step_detached(m, small, &bb.b, 0, &err), -1);
    assert_contains(err.msg, "at most 1");
    assert_int_equal(trm_act_backward(m, small, 1.0f, &err), -1);
    m->cfg.L_cycles = 3;
    free(g[0]); free(g[1]);
    trm_act_free(big); trm_act_free(small);
    trm_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_num_params_presets),
        cmocka_unit_test(test_num_params_variants),
        cmocka_unit_test(test_tensor_table),
        cmocka_unit_test(test_swiglu_width),
        cmocka_unit_test(test_init_attention),
        cmocka_unit_test(test_init_mlp_t),
        cmocka_unit_test(test_init_seeding),
        cmocka_unit_test(test_share_puzzle_table),
        cmocka_unit_test(test_erfinv),
        cmocka_unit_test(test_rng_uniform),
        cmocka_unit_test(test_rng_int),
        cmocka_unit_test(test_config_json_round_trip),
        cmocka_unit_test(test_config_set),
        cmocka_unit_test(test_config_validate),
        cmocka_unit_test(test_forward_deterministic),
        cmocka_unit_test(test_train_halts_at_max_steps),
        cmocka_unit_test(test_train_exploration),
        cmocka_unit_test(test_step_bad_input),
        cmocka_unit_test(test_step_weight),
        cmocka_unit_test(test_detached_step),
        cmocka_unit_test(test_depth_below_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
