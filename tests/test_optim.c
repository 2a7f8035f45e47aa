/* test_optim.c - AdamATan2, sparse sign-SGD, the LR schedule and the EMA
 * (spec 3.1-3.4), alone and in whole training steps against the PyTorch
 * reference (tests/reference/optim_ref.py).
 *
 * Unit tests (no fixtures): the spec 9 anchors and the rules of spec 3.
 *
 * Replay: tests/reference/make_optim_fixtures.py writes K training steps
 * of two small models (attention, mlp_t): per step the batch and the
 * exploration draws, and after the step every tensor, the EMA shadow and
 * the loss, computed in float64. Here the C engine trains the same model
 * from the same F32 weights: ACT call, loss, backward, trm_optim_step,
 * trm_ema_update. Parameters evolve in C only; the carry (y, z) is set to
 * the reference's before each call ("forced", as in test_parity.c), since
 * the recursion is chaotic in float32. The last step lies past total_steps
 * and must change nothing.
 *
 * Metric. Each tensor is compared on its change since the initial weights:
 *     e_l2  = ||p_c - p_ref||_2 / ||p_ref - p_init||_2     <= 1e-4
 *     e_max = max |p_c - p_ref| / max |p_ref - p_init|      <= 1e-2
 * Not updating at all gives e_l2 = e_max = 1, and a missing or doubled
 * decay, a wrong bias correction or LR gives e_l2 of 1e-3 or more. The
 * elementwise bound is looser because AdamATan2 is ill-conditioned on
 * elements whose moment m nearly cancels (e.g. g2 ~ -0.9 g1): there the
 * float32 gradient's rounding (~1e-6 of the tensor's largest gradient) is
 * amplified; the same reference run in float32 (make_optim_fixtures.py
 * reports it in meta.json "f32_max_rel_dev") reaches e_max ~ 7e-4 while its
 * e_l2 stays about 1e-5. A sign error on any one element still gives an
 * e_max of order 0.1 or more.
 * The puzzle table moves by sign-SGD, where every row either matches to
 * rounding or differs by a whole step: its e_max must be <= 1e-4, and rows
 * the reference left untouched (ids not yet seen) and y_init/z_init must be
 * bit-identical to the initial weights.
 * Fixture root: $TRM_FIXTURES/optim (default build/fixtures/optim).
 *
 * Muon (tests/reference/muon_ref.py, fixtures from make_optim_fixtures.py):
 * the Newton-Schulz iteration on its own against float64 (muon_ns5), and
 * optimizer steps alone, without the model's forward, on the tiny preset's
 * tensors from recorded gradients (muon_tiny: Muon + AdamW; muon_tiny_mlp:
 * token-mixing MLP, Muon without Nesterov + AdamATan2; adamw_tiny: AdamW
 * everywhere). Same change metric as the replay, with its bounds for the
 * Adam tensors and TOL_MUON (1e-4 on both) for Muon's; the Newton-Schulz
 * output within TOL_NS of its largest element. Measured errors (fp32 here
 * vs float64) are printed at the end: ~6e-6 for the iteration and Muon's
 * tensors, ~2e-5 (l2) for the Adam ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "kernels/matmul.h"
#include "optim/muon.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "trm.h"
#include "fixture.h"

#define TOL_L2 1e-4
#define TOL_MAX 1e-2
#define TOL_PUZZLE 1e-4
#define TOL_LOSS 1e-4
#define TOL_NS 1e-4     /* max |ns_c - ns_ref| / max |ns_ref| */
#define TOL_MUON 1e-4   /* e_l2 and e_max of Muon's tensors: the iteration is
                           smooth, no element is ill-conditioned as in Adam */

/* ------------------------------------------------------------ unit tests */

static trm_model *small_model(uint64_t seed) {
    trm_config c;
    trm_config_default(&c);
    c.hidden_size = 16;
    c.num_heads = 2;
    c.expansion = 2.0f;
    c.L_layers = 1;
    c.H_cycles = 1;
    c.L_cycles = 1;
    c.halt_max_steps = 2;
    c.puzzle_emb_ndim = 16;
    c.puzzle_emb_len = 1;
    c.vocab_size = 5;
    c.seq_len = 4;
    c.num_puzzle_identifiers = 4;
    trm_err e;
    trm_model *m = trm_model_new(&c, seed, &e);
    if (!m) fail_msg("%s", e.msg);
    return m;
}

static float **snapshot(const trm_model *m) {
    float **s = calloc((size_t)m->n_tensors, sizeof(float *));
    for (int i = 0; i < m->n_tensors; i++) {
        s[i] = malloc(sizeof(float) * (size_t)m->tensors[i].numel);
        memcpy(s[i], m->tensors[i].data, sizeof(float) * (size_t)m->tensors[i].numel);
    }
    return s;
}

static void snapshot_free(float **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

static void opt_config(trm_optim_config *c, float lr, float wd, int64_t warmup, int64_t total) {
    trm_optim_config_default(c);
    c->lr = lr;
    c->weight_decay = wd;
    c->puzzle_emb_lr = 10 * lr;
    c->puzzle_emb_weight_decay = wd;
    c->lr_warmup_steps = warmup;
    c->lr_min_ratio = 1.0f;
    c->total_steps = total;
}

static void expect_rel(double got, double want, double tol, const char *what) {
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("%s: got %.10g, want %.10g", what, got, want);
}

/* spec 9: warm-up anchors with r = 1, and the cosine with r = 0.1 */
static void test_lr_schedule(void **st) {
    (void)st;
    const int64_t steps[] = {1, 2, 1000, 1999, 2000, 50000};
    const double want[] = {5e-8, 1e-7, 5e-5, 9.995e-5, 1e-4, 1e-4};
    for (int i = 0; i < 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "lr at step %lld", (long long)steps[i]);
        expect_rel(trm_lr_at(1e-4f, steps[i], 2000, 100000, 1.0f), want[i], 1e-6, what);
    }
    /* W = 3, S = 5, r = 0.1: 1/3, 2/3, then 1, 0.55, 0.1 (cosine) */
    const double cosw[] = {1.0 / 3, 2.0 / 3, 1.0, 0.55, 0.1};
    for (int s = 1; s <= 5; s++) expect_rel(trm_lr_at(1.0f, s, 3, 5, 0.1f), cosw[s - 1], 1e-6, "cosine");
    /* no warm-up: the first step already uses the base rate */
    expect_rel(trm_lr_at(2e-3f, 1, 0, 10, 1.0f), 2e-3, 1e-6, "no warm-up");
}

/* spec 9: from zero state the first step moves every element by
 * 10 atan(0.1) lr sign(g) after p *= 1 - lr wd, whatever |g|; a zero
 * gradient only decays. */
static void test_adam_first_step(void **st) {
    (void)st;
    trm_model *m = small_model(1);
    const float lr = 1e-3f, wd = 0.1f;
    const double coef = 0.9966865249116204; /* 10 atan(0.1) */
    trm_optim_config c;
    opt_config(&c, lr, wd, 1, 0);
    trm_err e;
    trm_optim *o = trm_optim_new(m, &c, &e);
    assert_non_null(o);
    static const float mags[] = {3.0f, -1e-12f, 0.0f, -7.5f, 1e-3f, -0.25f, 0.0f, 42.0f};
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].trainable)
            for (int64_t j = 0; j < m->tensors[i].numel; j++) m->tensors[i].grad[j] = mags[(i + j) % 8];
    float **p0 = snapshot(m);
    assert_int_equal(trm_optim_step(o, m, NULL), 0);
    assert_int_equal(trm_optim_steps(o), 1);
    int checked = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        for (int64_t j = 0; j < t->numel; j++) {
            if (!t->trainable) { /* buffers: untouched (a = NULL: no sign-SGD) */
                assert_memory_equal(&t->data[j], &p0[i][j], sizeof(float));
                continue;
            }
            float g = t->grad[j];
            double want = (double)p0[i][j] * (1.0 - (double)lr * wd) - coef * lr * ((g > 0) - (g < 0));
            double err = fabs(t->data[j] - want);
            if (!(err <= 1e-6 * lr + 2.5e-7 * fabs(want))) /* ~2 ulp */
                fail_msg("%s[%lld]: g %g, p0 %.9g -> %.9g, want %.9g", t->name, (long long)j, g,
                         p0[i][j], t->data[j], want);
            checked++;
        }
    }
    assert_true(checked == trm_model_num_params(m));
    snapshot_free(p0, m->n_tensors);
    trm_optim_free(o);
    trm_model_free(m);
}

/* A zero gradient only decays, step after step; the moments stay zero. */
static void test_adam_zero_grad(void **st) {
    (void)st;
    trm_model *m = small_model(2);
    const float lr = 1e-2f, wd = 0.5f;
    trm_optim_config c;
    opt_config(&c, lr, wd, 1, 0);
    trm_err e;
    trm_optim *o = trm_optim_new(m, &c, &e);
    assert_non_null(o);
    trm_model_zero_grad(m);
    float **p0 = snapshot(m);
    for (int s = 1; s <= 3; s++) assert_int_equal(trm_optim_step(o, m, NULL), 0);
    double decay3 = pow(1.0 - (double)lr * wd, 3);
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        float *mm = trm_optim_moment(o, i, 0), *vv = trm_optim_moment(o, i, 1);
        assert_true((mm != NULL) == t->trainable && (vv != NULL) == t->trainable);
        for (int64_t j = 0; j < t->numel; j++) {
            double want = t->trainable ? p0[i][j] * decay3 : p0[i][j];
            if (!(fabs(t->data[j] - want) <= 4e-7 * fabs(want)))
                fail_msg("%s[%lld]: %.9g, want %.9g", t->name, (long long)j, t->data[j], want);
            if (mm) assert_true(mm[j] == 0.0f && vv[j] == 0.0f);
        }
    }
    snapshot_free(p0, m->n_tensors);
    trm_optim_free(o);
    trm_model_free(m);
}

/* Sign-SGD: rows of equal ids sum before the sign, each present id decays
 * once, absent ids are untouched. */
static void test_sign_sgd_duplicates(void **st) {
    (void)st;
    trm_model *m = small_model(3);
    const float lr = 1e-3f, wd = 0.1f; /* puzzle_emb_lr = 1e-2 */
    const float plr = 10 * lr;
    trm_optim_config c;
    opt_config(&c, lr, wd, 1, 0);
    trm_err e;
    trm_optim *o = trm_optim_new(m, &c, &e);
    trm_act *a = trm_act_new(m, 3, TRM_TRAIN, 0, &e);
    assert_non_null(o);
    assert_non_null(a);
    int nd = m->cfg.puzzle_emb_ndim;
    float *pg = (float *)trm_act_puzzle_grad(a); /* the act's own buffer */
    assert_non_null(pg);
    a->puzzle_ids[0] = 1; a->puzzle_ids[1] = 3; a->puzzle_ids[2] = 1;
    for (int j = 0; j < nd; j++) {
        /* id 1: +1 and -3 (sum -2: moves by +lr); column 1: +2 and -2 (sum 0:
         * decay only); column 2: -1 and +3 (moves by -lr) */
        pg[0 * nd + j] = j == 1 ? 2.0f : j == 2 ? -1.0f : 1.0f;
        pg[2 * nd + j] = j == 1 ? -2.0f : j == 2 ? 3.0f : -3.0f;
        pg[1 * nd + j] = j % 2 ? 0.5f : -0.5f; /* id 3 alone */
    }
    trm_model_zero_grad(m);
    float *P = m->puzzle_emb; /* zero at init: give it values so that decay shows */
    for (int j = 0; j < 4 * nd; j++) P[j] = 0.5f - 0.03f * (float)j;
    float *p0 = malloc(sizeof(float) * (size_t)4 * nd);
    memcpy(p0, P, sizeof(float) * (size_t)4 * nd);
    assert_int_equal(trm_optim_step(o, m, a), 0);
    double keep = 1.0 - (double)plr * wd;
    for (int j = 0; j < nd; j++) {
        double w1 = p0[1 * nd + j] * keep + (j == 1 ? 0.0 : j == 2 ? -plr : plr);
        double w3 = p0[3 * nd + j] * keep - plr * (j % 2 ? 1.0 : -1.0);
        if (!(fabs(P[1 * nd + j] - w1) <= 1e-7 + 1e-6 * fabs(w1)))
            fail_msg("id 1 col %d: %.9g -> %.9g, want %.9g", j, p0[nd + j], P[nd + j], w1);
        if (!(fabs(P[3 * nd + j] - w3) <= 1e-7 + 1e-6 * fabs(w3)))
            fail_msg("id 3 col %d: %.9g, want %.9g", j, P[3 * nd + j], w3);
    }
    assert_memory_equal(P, p0, sizeof(float) * nd);                  /* id 0 absent */
    assert_memory_equal(P + 2 * nd, p0 + 2 * nd, sizeof(float) * nd); /* id 2 absent */
    free(p0);
    trm_act_free(a);
    trm_optim_free(o);
    trm_model_free(m);
}

/* Past total_steps: return 1, nothing changes (weights, table, moments),
 * the counter still advances. */
static void test_noop_past_total(void **st) {
    (void)st;
    trm_model *m = small_model(4);
    trm_optim_config c;
    opt_config(&c, 1e-2f, 0.1f, 1, 2);
    trm_err e;
    trm_optim *o = trm_optim_new(m, &c, &e);
    trm_act *a = trm_act_new(m, 2, TRM_TRAIN, 0, &e);
    assert_non_null(o);
    assert_non_null(a);
    float *pg = (float *)trm_act_puzzle_grad(a);
    for (int j = 0; j < 2 * m->cfg.puzzle_emb_ndim; j++) pg[j] = j % 3 ? 1.0f : -1.0f;
    a->puzzle_ids[0] = 2; a->puzzle_ids[1] = 0;
    for (int s = 1; s <= 2; s++) {
        for (int i = 0; i < m->n_tensors; i++)
            if (m->tensors[i].grad)
                for (int64_t j = 0; j < m->tensors[i].numel; j++) m->tensors[i].grad[j] = (float)((j % 5) - 2);
        float **before = snapshot(m);
        assert_int_equal(trm_optim_step(o, m, a), 0);
        for (int i = 0; i < m->n_tensors; i++) /* everything trainable and the table moved */
            if (m->tensors[i].trainable || m->tensors[i].data == m->puzzle_emb)
                assert_true(memcmp(before[i], m->tensors[i].data, sizeof(float) * m->tensors[i].numel));
        snapshot_free(before, m->n_tensors);
    }
    float **before = snapshot(m);
    float **mom = calloc((size_t)m->n_tensors, sizeof(float *));
    for (int i = 0; i < m->n_tensors; i++)
        if (trm_optim_moment(o, i, 0)) {
            mom[i] = malloc(sizeof(float) * 2 * m->tensors[i].numel);
            memcpy(mom[i], trm_optim_moment(o, i, 0), sizeof(float) * m->tensors[i].numel);
            memcpy(mom[i] + m->tensors[i].numel, trm_optim_moment(o, i, 1), sizeof(float) * m->tensors[i].numel);
        }
    for (int s = 3; s <= 4; s++) {
        assert_int_equal(trm_optim_step(o, m, a), 1);
        assert_int_equal(trm_optim_steps(o), s);
    }
    for (int i = 0; i < m->n_tensors; i++) {
        assert_memory_equal(before[i], m->tensors[i].data, sizeof(float) * m->tensors[i].numel);
        if (mom[i]) {
            assert_memory_equal(mom[i], trm_optim_moment(o, i, 0), sizeof(float) * m->tensors[i].numel);
            assert_memory_equal(mom[i] + m->tensors[i].numel, trm_optim_moment(o, i, 1),
                                sizeof(float) * m->tensors[i].numel);
        }
    }
    snapshot_free(before, m->n_tensors);
    snapshot_free(mom, m->n_tensors);
    trm_act_free(a);
    trm_optim_free(o);
    trm_model_free(m);
}

/* shadow <- 0.999 shadow + 0.001 param, over the trainable tensors only */
static void test_ema_update(void **st) {
    (void)st;
    trm_model *m = small_model(5);
    trm_err e;
    trm_ema *ema = trm_ema_new(m, 0.999f, &e);
    assert_non_null(ema);
    float **p0 = snapshot(m);
    for (int i = 0; i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        if (!t->trainable) {
            assert_null(trm_ema_shadow(ema, i));
            continue;
        }
        float *s = trm_ema_shadow(ema, i);
        assert_non_null(s);
        assert_memory_equal(s, t->data, sizeof(float) * t->numel); /* starts as a copy */
        for (int64_t j = 0; j < t->numel; j++) t->data[j] = (float)(j % 7) - 3.0f;
    }
    trm_ema_update(ema, m);
    trm_ema_update(ema, m);
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        if (!t->trainable) continue;
        const float *s = trm_ema_shadow(ema, i);
        for (int64_t j = 0; j < t->numel; j++) {
            double x = t->data[j];
            double want = 0.999 * (0.999 * p0[i][j] + 0.001 * x) + 0.001 * x;
            if (!(fabs(s[j] - want) <= 1e-6 * (fabs(want) + fabs(x))))
                fail_msg("%s[%lld]: shadow %.9g, want %.9g", t->name, (long long)j, s[j], want);
        }
    }
    snapshot_free(p0, m->n_tensors);
    trm_ema_free(ema);
    trm_model_free(m);
}

/* trm_ema_apply: dst gets the shadow for trainable tensors and the live
 * model's buffers (puzzle table, y_init, z_init). */
static void test_ema_apply(void **st) {
    (void)st;
    trm_model *m = small_model(6);
    trm_err e;
    trm_ema *ema = trm_ema_new(m, 0.5f, &e);
    trm_model *dst = trm_model_alloc(&m->cfg, &e);
    assert_non_null(ema);
    assert_non_null(dst);
    assert_int_equal(dst->n_tensors, m->n_tensors);
    for (int i = 0; i < m->n_tensors; i++) /* live model moves away from the shadow */
        for (int64_t j = 0; j < m->tensors[i].numel; j++) m->tensors[i].data[j] += 1.0f + (float)(j % 3);
    trm_ema_update(ema, m);
    trm_ema_apply(ema, m, dst);
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        assert_string_equal(dst->tensors[i].name, t->name);
        const float *want = t->trainable ? trm_ema_shadow(ema, i) : t->data;
        assert_memory_equal(dst->tensors[i].data, want, sizeof(float) * t->numel);
        if (t->trainable) /* and the shadow is not the live weights */
            assert_true(memcmp(dst->tensors[i].data, t->data, sizeof(float) * t->numel));
    }
    assert_true(dst->puzzle_emb && dst->H_init && dst->L_init);
    trm_model_free(dst);
    trm_ema_free(ema);
    trm_model_free(m);
}

/* ------------------------------------------------------------ fixture io */







static double meta_num(cJSON *meta, const char *key) {
    cJSON *v = cJSON_GetObjectItem(meta, key);
    if (!cJSON_IsNumber(v)) fail_msg("meta.json: missing number %s", key);
    return v->valuedouble;
}

static const char *fixture_root(void) {
    const char *r = getenv("TRM_FIXTURES");
    return r ? r : "build/fixtures";
}

/* ------------------------------------------------------------ metric, report */

typedef struct { const char *group; double worst; char where[160]; } group_err;
static group_err GROUPS[] = {
    {"params_l2", 0, ""}, {"params_max", 0, ""}, {"ema_l2", 0, ""}, {"ema_max", 0, ""},
    {"puzzle_max", 0, ""}, {"loss", 0, ""}, {"ns5_max", 0, ""}, {"muon_l2", 0, ""},
    {"muon_max", 0, ""}, {"adam_l2", 0, ""}, {"adam_max", 0, ""},
};

static void note(const char *group, double err, const char *where) {
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        if (!strcmp(GROUPS[i].group, group) && !(err < GROUPS[i].worst)) {
            GROUPS[i].worst = err;
            snprintf(GROUPS[i].where, sizeof GROUPS[i].where, "%s", where);
        }
}

/* e_l2 and e_max of the file header; `exact` (buffers): elements the
 * reference left at their initial value must equal it bit for bit. */
static void change_err(const float *got, const float *want, const float *init, size_t n,
                       bool exact, const char *where, double *e_l2, double *e_max) {
    double d2 = 0, c2 = 0, dmax = 0, cmax = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), c = fabs((double)want[i] - init[i]);
        if (exact && want[i] == init[i] && memcmp(&got[i], &init[i], sizeof(float)))
            fail_msg("%s[%zu]: changed (%.9g -> %.9g), the reference left it alone", where, i, init[i], got[i]);
        d2 += d * d;
        c2 += c * c;
        if (!(d <= dmax)) dmax = d; /* NaN propagates */
        if (c > cmax) cmax = c;
    }
    if (cmax == 0) { /* nothing moved in the reference */
        if (dmax != 0) fail_msg("%s: moved by %.3g, the reference is unchanged", where, dmax);
        *e_l2 = *e_max = 0;
        return;
    }
    *e_l2 = sqrt(d2) / sqrt(c2);
    *e_max = dmax / cmax;
}

/* ------------------------------------------------------------ replay */

static void run_case(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/optim/%s/meta.json", fixture_root(), name);
    char *meta_text = read_text(path);
    if (!meta_text) fail_msg("%s: missing (run tests/run.sh, which generates the fixtures)", path);
    cJSON *meta = cJSON_Parse(meta_text);
    assert_non_null(meta);
    int B = (int)meta_num(meta, "B"), K = (int)meta_num(meta, "K");
    double grad_scale = meta_num(meta, "grad_scale");
    trm_optim_config oc;
    trm_optim_config_default(&oc);
    oc.lr = (float)meta_num(meta, "lr");
    oc.puzzle_emb_lr = (float)meta_num(meta, "puzzle_emb_lr");
    oc.weight_decay = (float)meta_num(meta, "weight_decay");
    oc.puzzle_emb_weight_decay = (float)meta_num(meta, "puzzle_emb_weight_decay");
    oc.beta1 = (float)meta_num(meta, "beta1");
    oc.beta2 = (float)meta_num(meta, "beta2");
    oc.lr_warmup_steps = (int64_t)meta_num(meta, "warmup");
    oc.total_steps = (int64_t)meta_num(meta, "total_steps");
    oc.lr_min_ratio = (float)meta_num(meta, "min_ratio");
    float ema_rate = (float)meta_num(meta, "ema_rate");
    cJSON *loss = cJSON_GetObjectItem(meta, "loss");
    bool softmax = cJSON_IsString(loss) && !strcmp(loss->valuestring, "softmax");

    trm_err e;
    snprintf(path, sizeof path, "%s/optim/%s/weights.safetensors", fixture_root(), name);
    trm_model *m = trm_checkpoint_load(path, &e);
    if (!m) fail_msg("%s", e.msg);
    trm_act *a = trm_act_new(m, B, TRM_TRAIN, 0, &e);
    trm_optim *o = trm_optim_new(m, &oc, &e);
    trm_ema *ema = trm_ema_new(m, ema_rate, &e);
    assert_non_null(a);
    assert_non_null(o);
    assert_non_null(ema);
    float **init = snapshot(m);
    const trm_config *c = &m->cfg;
    size_t S = c->seq_len, NLD = (size_t)B * m->L * c->hidden_size;

    float *prev_y = NULL, *prev_z = NULL;
    int noops = 0;
    for (int k = 0; k < K; k++) {
        char where[96];
        snprintf(path, sizeof path, "%s/optim/%s/step_%d.safetensors", fixture_root(), name, k);
        snprintf(where, sizeof where, "optim %s step %d", name, k);
        step_file s = {st_open(path, &e), where};
        if (!s.f) fail_msg("%s", e.msg);
        int32_t *in = get_i32(&s, "inputs", B * S), *lab = get_i32(&s, "labels", B * S);
        int32_t *pid = get_i32(&s, "puzzle_ids", B), *ek = get_i32(&s, "explore_k", B);
        int32_t *noop = get_i32(&s, "noop", 1);
        float *eu = get_f32(&s, "explore_u", B);
        trm_batch bt = {B, in, lab, pid};
        trm_explore draws = {eu, ek};
        if (prev_y) { /* forced carry */
            memcpy(a->y, prev_y, sizeof(float) * NLD);
            memcpy(a->z, prev_z, sizeof(float) * NLD);
        }
        if (trm_act_step(m, a, &bt, &draws, &e)) fail_msg("%s: %s", where, e.msg);
        trm_metrics mt;
        trm_act_loss(m, a, softmax ? TRM_LOSS_SOFTMAX : TRM_LOSS_STABLEMAX, &mt);
        trm_model_zero_grad(m);
        if (trm_act_backward(m, a, (float)grad_scale, &e)) fail_msg("%s: %s", where, e.msg);
        float **before = *noop ? snapshot(m) : NULL;
        int r = trm_optim_step(o, m, a);
        if (r != *noop) fail_msg("%s: trm_optim_step returned %d, the reference's step is %s", where, r,
                                 *noop ? "a no-op" : "an update");
        assert_int_equal(trm_optim_steps(o), k + 1);
        if (r == 0) trm_ema_update(ema, m);
        if (*noop) {
            noops++;
            for (int i = 0; i < m->n_tensors; i++)
                if (memcmp(before[i], m->tensors[i].data, sizeof(float) * m->tensors[i].numel))
                    fail_msg("%s: %s changed on a no-op step", where, m->tensors[i].name);
            snapshot_free(before, m->n_tensors);
        } else {
            /* the ACT call: loss, halting, and the schedule's rates */
            double want = get_f64(&s, "total", 0), err = fabs(mt.total - want) / fmax(fabs(want), 1e-12);
            char w2[160];
            snprintf(w2, sizeof w2, "%s total", where);
            note("loss", err, w2);
            if (!(err <= TOL_LOSS)) fail_msg("%s: %.9g vs reference %.9g", w2, mt.total, want);
            int32_t *steps = get_i32(&s, "steps", B), *halted = get_i32(&s, "halted", B);
            for (int b = 0; b < B; b++)
                if (steps[b] != a->steps[b] || halted[b] != (int)a->halted[b])
                    fail_msg("%s: row %d steps %d halted %d, reference %d %d", where, b, a->steps[b],
                             a->halted[b], steps[b], halted[b]);
            expect_rel(trm_lr_at(oc.lr, k + 1, oc.lr_warmup_steps, oc.total_steps, oc.lr_min_ratio),
                       get_f64(&s, "lr", 0), 1e-6, "Adam lr");
            expect_rel(trm_lr_at(oc.puzzle_emb_lr, k + 1, oc.lr_warmup_steps, oc.total_steps, oc.lr_min_ratio),
                       get_f64(&s, "lr", 1), 1e-6, "sign-SGD lr");
            free(prev_y); free(prev_z);
            prev_y = get_f32(&s, "y", NLD);
            prev_z = get_f32(&s, "z", NLD);
            free(steps); free(halted);
        }
        /* every tensor and its shadow against the reference */
        for (int i = 0; i < m->n_tensors; i++) {
            const trm_tensor *t = &m->tensors[i];
            char tname[160], w2[272];
            double l2, mx;
            snprintf(tname, sizeof tname, "param.%s", t->name);
            snprintf(w2, sizeof w2, "%s %s", where, tname);
            float *want = get_f32(&s, tname, (size_t)t->numel);
            change_err(t->data, want, init[i], (size_t)t->numel, !t->trainable, w2, &l2, &mx);
            free(want);
            if (getenv("TRM_OPTIM_VERBOSE")) fprintf(stderr, "#   %-72s l2 %.2e max %.2e\n", w2, l2, mx);
            if (t->trainable) {
                note("params_l2", l2, w2);
                note("params_max", mx, w2);
                if (!(l2 <= TOL_L2 && mx <= TOL_MAX))
                    fail_msg("%s: change error l2 %.3g (tol %.0e), max %.3g (tol %.0e)", w2, l2, TOL_L2, mx, TOL_MAX);
                snprintf(tname, sizeof tname, "ema.%s", t->name);
                snprintf(w2, sizeof w2, "%s %s", where, tname);
                want = get_f32(&s, tname, (size_t)t->numel);
                change_err(trm_ema_shadow(ema, i), want, init[i], (size_t)t->numel, false, w2, &l2, &mx);
                free(want);
                note("ema_l2", l2, w2);
                note("ema_max", mx, w2);
                if (!(l2 <= TOL_L2 && mx <= TOL_MAX))
                    fail_msg("%s: change error l2 %.3g (tol %.0e), max %.3g (tol %.0e)", w2, l2, TOL_L2, mx, TOL_MAX);
            } else {
                /* buffers: the puzzle table (sign-SGD), y_init and z_init (fixed) */
                note("puzzle_max", mx, w2);
                if (!(mx <= TOL_PUZZLE)) fail_msg("%s: change error max %.3g (tol %.0e)", w2, mx, TOL_PUZZLE);
            }
        }
        free(in); free(lab); free(pid); free(ek); free(eu); free(noop);
        st_close(s.f);
    }
    assert_int_equal(noops, 1); /* the fixture's last step is past total_steps */
    free(prev_y); free(prev_z);
    snapshot_free(init, m->n_tensors);
    trm_ema_free(ema);
    trm_optim_free(o);
    trm_act_free(a);
    trm_model_free(m);
    cJSON_Delete(meta);
    free(meta_text);
}

/* ------------------------------------------------------------ Muon */

static void test_optimizer_names(void **st) {
    (void)st;
    const trm_optimizer ks[] = {TRM_OPTIM_ADAM_ATAN2, TRM_OPTIM_ADAMW, TRM_OPTIM_MUON};
    for (int i = 0; i < 3; i++) {
        trm_optimizer k = (trm_optimizer)-1;
        assert_int_equal(trm_optimizer_parse(trm_optimizer_name(ks[i]), &k), 0);
        assert_int_equal(k, ks[i]);
    }
    trm_optimizer k;
    assert_int_equal(trm_optimizer_parse("sgd", &k), -1);
    assert_int_equal(trm_optimizer_parse("Muon", &k), -1);
    trm_optim_config c;
    trm_optim_config_default(&c); /* the reference stays the default */
    assert_int_equal(c.optimizer, TRM_OPTIM_ADAM_ATAN2);
}

/* Muon takes exactly the blocks' matrices; the state buffers and their
 * state-file names follow (Muon: one momentum buffer, no v). */
static void check_classes(const char *preset) {
    trm_config cfg;
    trm_err e;
    assert_int_equal(trm_config_preset(&cfg, preset, &e), 0);
    cfg.num_puzzle_identifiers = 3;
    trm_model *m = trm_model_alloc(&cfg, &e);
    assert_non_null(m);
    trm_optim_config c;
    trm_optim_config_default(&c);
    c.optimizer = TRM_OPTIM_MUON;
    trm_optim *o = trm_optim_new(m, &c, &e);
    assert_non_null(o);
    int n_muon = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        bool want = t->trainable && !strncmp(t->name, "L_level.layers.", 15);
        if (want != trm_optim_muon_tensor(t)) fail_msg("%s %s: Muon %d, want %d", preset, t->name, !want, want);
        const char *n0 = trm_optim_moment_name(o, i, 0), *n1 = trm_optim_moment_name(o, i, 1);
        if (!t->trainable) {
            assert_null(trm_optim_moment(o, i, 0));
            assert_null(n0);
            assert_null(n1);
        } else if (want) {
            n_muon++;
            assert_non_null(trm_optim_moment(o, i, 0));
            assert_null(trm_optim_moment(o, i, 1));
            assert_string_equal(n0, "muon_m.");
            assert_null(n1);
        } else {
            assert_string_equal(n0, "adam_m.");
            assert_string_equal(n1, "adam_v.");
        }
    }
    assert_int_equal(n_muon, 4 * cfg.L_layers); /* qkv, o (or the two token MLP weights), gate_up, down */
    /* the heads and embeddings are 2-D too, and stay with Adam */
    assert_false(trm_optim_muon_tensor(trm_model_find(m, "lm_head.weight")));
    assert_false(trm_optim_muon_tensor(trm_model_find(m, "q_head.weight")));
    assert_false(trm_optim_muon_tensor(trm_model_find(m, "embed_tokens.embedding_weight")));
    trm_optim_free(o);
    trm_model_free(m);
}

static void test_muon_classification(void **st) {
    (void)st;
    check_classes("tiny");
    check_classes("sudoku-mlp");
}

static void test_muon_config_errors(void **st) {
    (void)st;
    trm_model *m = small_model(7);
    trm_optim_config c;
    trm_err e;
    trm_optim_config_default(&c);
    c.optimizer = (trm_optimizer)9;
    assert_null(trm_optim_new(m, &c, &e));
    assert_string_equal(e.msg, "optimizer: expected adam_atan2, adamw or muon");
    trm_optim_config_default(&c);
    c.optimizer = TRM_OPTIM_MUON;
    c.muon_adam = TRM_OPTIM_MUON;
    assert_null(trm_optim_new(m, &c, &e));
    assert_string_equal(e.msg, "muon_adam: expected adamw or adam_atan2");
    trm_optim_config_default(&c);
    c.optimizer = TRM_OPTIM_MUON;
    c.muon_ns_steps = 0;
    assert_null(trm_optim_new(m, &c, &e));
    assert_string_equal(e.msg, "muon_ns_steps: expected at least 1, got 0");
    trm_model_free(m);
}

/* A zero gradient: Muon's tensors only decay by 1 - muon_lr muon_wd, the
 * others by Adam's 1 - lr wd; momentum stays zero. */
static void test_muon_zero_grad(void **st) {
    (void)st;
    trm_model *m = small_model(8);
    trm_optim_config c;
    opt_config(&c, 1e-2f, 0.5f, 1, 0);
    c.optimizer = TRM_OPTIM_MUON;
    c.muon_lr = 0.05f;
    c.muon_weight_decay = 0.2f;
    trm_err e;
    trm_optim *o = trm_optim_new(m, &c, &e);
    assert_non_null(o);
    trm_model_zero_grad(m);
    float **p0 = snapshot(m);
    for (int s = 0; s < 2; s++) assert_int_equal(trm_optim_step(o, m, NULL), 0);
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        bool mu = trm_optim_muon_tensor(t);
        double keep = !t->trainable ? 1.0 : mu ? pow(1.0 - 0.05 * 0.2, 2) : pow(1.0 - 1e-2 * 0.5, 2);
        for (int64_t j = 0; j < t->numel; j++) {
            double want = p0[i][j] * keep;
            if (!(fabs(t->data[j] - want) <= 4e-7 * fabs(want)))
                fail_msg("%s[%lld]: %.9g, want %.9g", t->name, (long long)j, t->data[j], want);
            if (mu) assert_true(trm_optim_moment(o, i, 0)[j] == 0.0f);
        }
    }
    snapshot_free(p0, m->n_tensors);
    trm_optim_free(o);
    trm_model_free(m);
}


/* Newton-Schulz alone, against float64 from the same F32 input. */
static void test_muon_ns5(void **st) {
    (void)st;
    char path[1024];
    trm_err e;
    snprintf(path, sizeof path, "%s/optim/muon_ns5.safetensors", fixture_root());
    step_file s = {st_open(path, &e), "muon_ns5"};
    if (!s.f) fail_msg("%s (run tests/run.sh, which generates the fixtures)", e.msg);
    int cases = 0;
    for (int k = 0; k < s.f->n; k++) {
        const st_tensor *g = &s.f->tensors[k];
        if (strncmp(g->name, "g.", 2)) continue;
        int r = (int)g->shape[0], c = (int)g->shape[1];
        char name[96];
        float *G = get_f32(&s, g->name, (size_t)g->numel);
        snprintf(name, sizeof name, "steps.%s", g->name + 2);
        int32_t *steps = get_i32(&s, name, 1);
        snprintf(name, sizeof name, "ns.%s", g->name + 2);
        const st_tensor *want_t = fx_find(&s, name, (size_t)g->numel);
        double *want = malloc(sizeof(double) * (size_t)g->numel);
        memcpy(want, want_t->data, want_t->nbytes);
        float *out = malloc(sizeof(float) * (size_t)g->numel);
        float *work = malloc(sizeof(float) * muon_work_floats(r, c));
        muon_ns(G, r, c, *steps, out, work);
        double dmax = 0, wmax = 0;
        for (int64_t i = 0; i < g->numel; i++) {
            double d = fabs(out[i] - want[i]);
            if (!(d <= dmax)) dmax = d;
            wmax = fmax(wmax, fabs(want[i]));
        }
        char where[128];
        snprintf(where, sizeof where, "ns5 %s (%d steps)", g->name + 2, *steps);
        note("ns5_max", dmax / wmax, where);
        if (!(dmax <= TOL_NS * wmax)) fail_msg("%s: max error %.3g of max %.3g (tol %.0e)", where, dmax, wmax, TOL_NS);
        cases++;
        free(G); free(steps); free(want); free(out); free(work);
    }
    assert_int_equal(cases, 6);
    st_close(s.f);
}

/* Under bf16 products the iteration still runs in fp32: bit for bit the
 * fp32 result. */
static void test_muon_ns_bf16_precision(void **st) {
    (void)st;
    if (!cpu_has_avx512()) skip(); /* bf16 needs AVX-512 (trm.h); named in the TAP output */
    const int r = 40, c = 24;
    float *G = malloc(sizeof(float) * r * c), *a = malloc(sizeof(float) * r * c), *b = malloc(sizeof(float) * r * c);
    float *work = malloc(sizeof(float) * muon_work_floats(r, c));
    for (int i = 0; i < r * c; i++) G[i] = sinf(0.37f * (float)i) + 0.01f * (float)(i % 13);
    trm_precision before = trm_matmul_get_precision();
    trm_matmul_set_precision(TRM_PRECISION_FP32);
    muon_ns(G, r, c, 5, a, work);
    assert_int_equal(trm_matmul_set_precision(TRM_PRECISION_BF16), TRM_PRECISION_BF16);
    muon_ns(G, r, c, 5, b, work);
    assert_int_equal(trm_matmul_get_precision(), TRM_PRECISION_BF16); /* restored */
    trm_matmul_set_precision(before);
    assert_memory_equal(a, b, sizeof(float) * r * c);
    free(G); free(a); free(b); free(work);
}

static trm_optimizer meta_optimizer(cJSON *meta, const char *key, trm_optimizer dflt) {
    cJSON *v = cJSON_GetObjectItem(meta, key);
    trm_optimizer k = dflt;
    if (v && (!cJSON_IsString(v) || trm_optimizer_parse(v->valuestring, &k))) fail_msg("meta.json: bad %s", key);
    return k;
}

/* meta.json -> the optimizer config, and the fixture's list of Muon
 * tensors checked against the classification. */
static void muon_meta_config(cJSON *meta, const trm_model *m, trm_optim_config *oc) {
    trm_optim_config_default(oc);
    oc->optimizer = meta_optimizer(meta, "optimizer", TRM_OPTIM_ADAM_ATAN2);
    oc->muon_adam = meta_optimizer(meta, "muon_adam", TRM_OPTIM_ADAMW);
    oc->lr = (float)meta_num(meta, "lr");
    oc->muon_lr = (float)meta_num(meta, "muon_lr");
    oc->beta1 = (float)meta_num(meta, "beta1");
    oc->beta2 = (float)meta_num(meta, "beta2");
    oc->adam_eps = (float)meta_num(meta, "adam_eps");
    oc->weight_decay = (float)meta_num(meta, "weight_decay");
    oc->muon_weight_decay = (float)meta_num(meta, "muon_weight_decay");
    oc->muon_momentum = (float)meta_num(meta, "muon_momentum");
    oc->muon_nesterov = cJSON_IsTrue(cJSON_GetObjectItem(meta, "muon_nesterov"));
    oc->muon_ns_steps = (int)meta_num(meta, "muon_ns_steps");
    oc->lr_warmup_steps = (int64_t)meta_num(meta, "warmup");
    oc->total_steps = (int64_t)meta_num(meta, "total_steps");
    oc->lr_min_ratio = (float)meta_num(meta, "min_ratio");
    cJSON *list = cJSON_GetObjectItem(meta, "muon_tensors");
    int n_ref = cJSON_GetArraySize(list), n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        if (!(oc->optimizer == TRM_OPTIM_MUON && trm_optim_muon_tensor(&m->tensors[i]))) continue;
        bool listed = false;
        for (int j = 0; j < n_ref; j++) listed |= !strcmp(cJSON_GetArrayItem(list, j)->valuestring, m->tensors[i].name);
        if (!listed) fail_msg("%s: Muon here, not in the reference's Muon group", m->tensors[i].name);
        n++;
    }
    assert_int_equal(n, n_ref);
}

/* K optimizer steps from recorded gradients (no forward). */
static void run_muon_case(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/optim/%s/meta.json", fixture_root(), name);
    char *meta_text = read_text(path);
    if (!meta_text) fail_msg("%s: missing (run tests/run.sh, which generates the fixtures)", path);
    cJSON *meta = cJSON_Parse(meta_text);
    assert_non_null(meta);
    trm_err e;
    snprintf(path, sizeof path, "%s/optim/%s/weights.safetensors", fixture_root(), name);
    trm_model *m = trm_checkpoint_load(path, &e);
    if (!m) fail_msg("%s", e.msg);
    trm_optim_config oc;
    muon_meta_config(meta, m, &oc);
    trm_optim *o = trm_optim_new(m, &oc, &e);
    if (!o) fail_msg("%s", e.msg);
    float **init = snapshot(m);
    int K = (int)meta_num(meta, "K");
    for (int k = 0; k < K; k++) {
        char where[96], tname[160], w2[272];
        snprintf(path, sizeof path, "%s/optim/%s/step_%d.safetensors", fixture_root(), name, k);
        snprintf(where, sizeof where, "%s step %d", name, k);
        step_file s = {st_open(path, &e), where};
        if (!s.f) fail_msg("%s", e.msg);
        for (int i = 0; i < m->n_tensors; i++) {
            trm_tensor *t = &m->tensors[i];
            if (!t->trainable) continue;
            snprintf(tname, sizeof tname, "grad.%s", t->name);
            float *g = get_f32(&s, tname, (size_t)t->numel);
            memcpy(t->grad, g, sizeof(float) * (size_t)t->numel);
            free(g);
        }
        assert_int_equal(trm_optim_step(o, m, NULL), 0);
        expect_rel(trm_lr_at(oc.lr, k + 1, oc.lr_warmup_steps, oc.total_steps, oc.lr_min_ratio),
                   get_f64(&s, "lr", 0), 1e-6, "Adam lr");
        expect_rel(trm_lr_at(oc.muon_lr, k + 1, oc.lr_warmup_steps, oc.total_steps, oc.lr_min_ratio),
                   get_f64(&s, "lr", 1), 1e-6, "Muon lr");
        for (int i = 0; i < m->n_tensors; i++) {
            const trm_tensor *t = &m->tensors[i];
            double l2, mx;
            bool mu = oc.optimizer == TRM_OPTIM_MUON && trm_optim_muon_tensor(t);
            snprintf(tname, sizeof tname, "param.%s", t->name);
            snprintf(w2, sizeof w2, "%s %s", where, tname);
            float *want = get_f32(&s, tname, (size_t)t->numel);
            change_err(t->data, want, init[i], (size_t)t->numel, !t->trainable, w2, &l2, &mx);
            free(want);
            if (getenv("TRM_OPTIM_VERBOSE")) fprintf(stderr, "#   %-72s l2 %.2e max %.2e\n", w2, l2, mx);
            if (!t->trainable) continue; /* bit-identical, checked by change_err */
            note(mu ? "muon_l2" : "adam_l2", l2, w2);
            note(mu ? "muon_max" : "adam_max", mx, w2);
            double tol_l2 = mu ? TOL_MUON : TOL_L2, tol_max = mu ? TOL_MUON : TOL_MAX;
            if (!(l2 <= tol_l2 && mx <= tol_max))
                fail_msg("%s: change error l2 %.3g (tol %.0e), max %.3g (tol %.0e)", w2, l2, tol_l2, mx, tol_max);
        }
        st_close(s.f);
    }
    snapshot_free(init, m->n_tensors);
    trm_optim_free(o);
    trm_model_free(m);
    cJSON_Delete(meta);
    free(meta_text);
}

static void test_muon_tiny(void **st) { (void)st; run_muon_case("muon_tiny"); }
static void test_muon_tiny_mlp(void **st) { (void)st; run_muon_case("muon_tiny_mlp"); }
static void test_adamw_tiny(void **st) { (void)st; run_muon_case("adamw_tiny"); }

static void test_replay_att_small(void **st) { (void)st; run_case("att_small"); }
static void test_replay_mlp_small(void **st) { (void)st; run_case("mlp_small"); }

static int print_report(void **st) {
    (void)st;
    fprintf(stderr, "# optim replay: worst errors on the change since init (tolerances: l2 %.0e, "
                    "max %.0e, puzzle %.0e, loss %.0e)\n", TOL_L2, TOL_MAX, TOL_PUZZLE, TOL_LOSS);
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        fprintf(stderr, "#   %-11s %.2e  (%s)\n", GROUPS[i].group, GROUPS[i].worst, GROUPS[i].where);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_adam_first_step),
        cmocka_unit_test(test_adam_zero_grad),
        cmocka_unit_test(test_sign_sgd_duplicates),
        cmocka_unit_test(test_noop_past_total),
        cmocka_unit_test(test_ema_update),
        cmocka_unit_test(test_ema_apply),
        cmocka_unit_test(test_replay_att_small),
        cmocka_unit_test(test_replay_mlp_small),
        cmocka_unit_test(test_optimizer_names),
        cmocka_unit_test(test_muon_classification),
        cmocka_unit_test(test_muon_config_errors),
        cmocka_unit_test(test_muon_zero_grad),
        cmocka_unit_test(test_muon_ns5),
        cmocka_unit_test(test_muon_ns_bf16_precision),
        cmocka_unit_test(test_muon_tiny),
        cmocka_unit_test(test_muon_tiny_mlp),
        cmocka_unit_test(test_adamw_tiny),
    };
    return cmocka_run_group_tests(tests, NULL, print_report);
}
