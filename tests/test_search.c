/* test_search.c - test-time search (src/search): the task checkers it
 * relies on, a constructed case where the plain answer is wrong and a
 * branch is right (a stub scorer rewrites the logits of a tiny 4x4 model so
 * the case is exact), "verified whenever a valid answer was seen", the
 * budget, determinism by seed, option checks; rollouts (sigma 0 = the
 * plain model, noise only on z of lanes 1.., the checker's choice over q)
 * and test-time depth (trm_model_set_cycles). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "search/search.h"
#include "tasks/sudoku4.h"
#include "tasks/task.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "testutil.h"

#define S4 16
#define V4 6

/* A valid 9x9 grid and the tokens of a puzzle cut from it. */
static const char *GRID9 = "621943758783615492594728361142879635357461289869532174238197546916354827475286913";

static void tokens9(const char *s, int32_t *t) {
    for (int i = 0; i < 81; i++) t[i] = s[i] >= '1' && s[i] <= '9' ? s[i] - '0' + 1 : 1;
}

/* A tiny TRM for 4x4 Sudoku (random weights). */
static trm_model *tiny4(uint64_t seed) {
    trm_config c;
    trm_err e;
    assert_int_equal(trm_config_preset(&c, "tiny", &e), 0);
    c.hidden_size = 16;
    c.num_heads = 2;
    c.vocab_size = V4;
    c.seq_len = S4;
    c.puzzle_emb_ndim = 0;
    c.puzzle_emb_len = 0;
    c.num_puzzle_identifiers = 1;
    c.halt_max_steps = 4;
    trm_model *m = trm_model_new(&c, seed, &e);
    assert_non_null(m);
    return m;
}

/* n random 4x4 puzzles (tokens) with their solutions. */
static void puzzles4(int n, int blanks, uint64_t seed, int32_t *in, int32_t *sol) {
    uint64_t rng[4];
    rng_seed(rng, seed);
    for (int k = 0; k < n; k++) {
        int8_t q[16], a[16];
        sudoku4_random(q, a, blanks, rng);
        for (int i = 0; i < 16; i++) in[k * 16 + i] = q[i] + 1, sol[k * 16 + i] = a[i] + 1;
    }
}

/* The unique 4x4 solution of a token board (givens 2..5, blank 1). */
static bool solve4(const int32_t *in, int32_t *out) {
    const int8_t(*g)[16] = sudoku4_grids();
    for (int k = 0; k < SUDOKU4_GRIDS; k++) {
        bool ok = true;
        for (int i = 0; i < 16 && ok; i++) ok = in[i] == 1 || in[i] == g[k][i] + 1;
        if (ok) { for (int i = 0; i < 16; i++) out[i] = g[k][i] + 1; return true; }
    }
    return false;
}

/* Logits of row b that put `top` first everywhere; cell `c2` gets `alt` as
 * a close second (margin small), every other cell a clear second. */
static void write_logits(trm_act *a, int b, const int32_t *top, int c2, int32_t alt) {
    for (int t = 0; t < S4; t++) {
        float *lg = a->logits + ((size_t)b * S4 + t) * V4;
        for (int v = 0; v < V4; v++) lg[v] = -5.0f;
        lg[top[t]] = 5.0f;
        int32_t second = t == c2 ? alt : (top[t] == 2 ? 3 : 2);
        lg[second] = t == c2 ? 4.9f : 0.0f;
    }
}

/* ---------------------------------------------------------------- checkers */

static void test_sudoku_checker(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    assert_non_null(t);
    int32_t grid[81], puzzle[81], bad[81];
    tokens9(GRID9, grid);
    memcpy(puzzle, grid, sizeof grid);
    for (int i = 0; i < 81; i += 2) puzzle[i] = 1;
    assert_int_equal(t->verify(puzzle, grid, 81), 0);
    assert_int_equal(t->verify(NULL, grid, 81), 0);
    memcpy(bad, grid, sizeof grid);
    int32_t tmp = bad[1]; bad[1] = bad[2]; bad[2] = tmp; /* swap in a row: columns break */
    assert_true(t->verify(puzzle, bad, 81) > 0);
    memcpy(bad, grid, sizeof grid);
    bad[40] = 1; /* a blank left */
    assert_true(t->verify(puzzle, bad, 81) > 0);
    /* a valid grid that disagrees with a given is not an answer */
    int32_t relabel[81];
    for (int i = 0; i < 81; i++) relabel[i] = (grid[i] - 2 + 1) % 9 + 2; /* digits shifted: still valid */
    assert_int_equal(t->verify(NULL, relabel, 81), 0);
    assert_true(t->verify(puzzle, relabel, 81) > 0);
}

static void test_sudoku4_checker(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku4");
    assert_non_null(t);
    int32_t in[S4], sol[S4], bad[S4];
    puzzles4(1, 8, 3, in, sol);
    assert_int_equal(t->verify(in, sol, S4), 0);
    memcpy(bad, sol, sizeof sol);
    bad[0] = bad[0] == 2 ? 3 : 2;
    assert_true(t->verify(in, bad, S4) > 0);
    /* augmenting a puzzle and its answer keeps the answer valid, and the
     * inverse brings both back */
    uint64_t rng[4];
    rng_seed(rng, 9);
    trm_aug aug;
    t->draw_aug(S4, &aug, rng);
    int32_t ai[S4], as[S4], back[S4];
    t->apply_aug(&aug, S4, in, ai);
    t->apply_aug(&aug, S4, sol, as);
    assert_int_equal(t->verify(ai, as, S4), 0);
    t->invert_aug(&aug, S4, as, back);
    assert_memory_equal(back, sol, sizeof sol);
}

/* Maze's checker: a shortest path is valid; no path, a detour or a path
 * through a wall is not. */
static void test_maze_checker(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("maze");
    assert_non_null(t);
    const char *q = "S  G"
                    "# ##"
                    "    "
                    "####";
    int32_t in[16], lab[16], pred[16];
    bool has = true;
    trm_err e;
    assert_int_equal(t->parse(q, 16, in, lab, &has, &e), 0);
    assert_false(has);
    memcpy(pred, in, sizeof in);
    assert_true(t->verify(in, pred, 16) > 0);      /* no path */
    pred[1] = pred[2] = 5;                          /* S o o G */
    assert_int_equal(t->verify(in, pred, 16), 0);
    int32_t detour[16];
    memcpy(detour, pred, sizeof pred);
    detour[5] = 5;                                  /* a stray 'o' below the path */
    assert_true(t->verify(in, detour, 16) > 0);
    memcpy(detour, pred, sizeof pred);
    detour[4] = 5;                                  /* 'o' on a wall */
    assert_true(t->verify(in, detour, 16) > 0);
    /* the dihedral augmentations keep a valid path valid */
    uint64_t rng[4];
    rng_seed(rng, 2);
    trm_aug aug;
    t->draw_aug(16, &aug, rng);
    int32_t ai[16], ap[16];
    t->apply_aug(&aug, 16, in, ai);
    t->apply_aug(&aug, 16, pred, ap);
    assert_int_equal(t->verify(ai, ap, 16), 0);
}

/* ---------------------------------------------------------------- stub scorer */

/* The constructed case: for the puzzle exactly as given (identity frame,
 * nothing committed) the "model" answers the solution with cell C0 wrong,
 * the right digit a close second there; any other input (a committed
 * cell, an augmented frame) gets its true solution. */
typedef struct {
    const int32_t *puzzle, *sol;
    int c0;
} stub_ctx;

static int stub_wrong_plain(void *ctx, trm_act *a, trm_err *err) {
    (void)err;
    stub_ctx *c = ctx;
    for (int b = 0; b < a->batch; b++) {
        const int32_t *in = a->inputs + (size_t)b * S4;
        int32_t top[S4];
        if (!memcmp(in, c->puzzle, sizeof top)) {
            memcpy(top, c->sol, sizeof top);
            top[c->c0] = c->sol[c->c0] == 2 ? 3 : 2;
            write_logits(a, b, top, c->c0, c->sol[c->c0]);
        } else {
            if (!solve4(in, top)) for (int i = 0; i < S4; i++) top[i] = 2; /* contradicting commit */
            write_logits(a, b, top, -1, 0);
        }
        a->q_halt[b] = 0.0f;
    }
    return 0;
}

typedef struct {
    int steps[64];
    int first_valid[64];     /* step count at the first valid answer, 0 = none */
    int plain_invalid[64];   /* plain-branch steps with violations */
    trm_branch_kind kinds_seen[64][8];
} trace;

static void on_step(void *ctx, int p, trm_branch_kind kind, const int32_t *ans, int viol, float q) {
    (void)ans, (void)q;
    trace *t = ctx;
    t->steps[p]++;
    if (viol == 0 && t->first_valid[p] == 0) t->first_valid[p] = t->steps[p];
    if (kind == TRM_BRANCH_PLAIN && viol > 0) t->plain_invalid[p]++;
}

static void constructed_case(const char *policy, trm_branch_kind want) {
    trm_model *m = tiny4(1);
    trm_err e;
    trm_act *a = trm_act_new(m, 2, TRM_EVAL, 0, &e);
    assert_non_null(a);
    int32_t in[S4], sol[S4], ans[S4];
    puzzles4(1, 8, 11, in, sol);
    int c0 = -1;
    for (int i = 0; i < S4 && c0 < 0; i++) if (in[i] == 1) c0 = i;
    stub_ctx sc = {in, sol, c0};
    trace tr;
    memset(&tr, 0, sizeof tr);
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    assert_int_equal(trm_search_set_policy(&o, policy, &e), 0);
    o.budget = 12;
    o.share_lanes = false;
    o.after_step = stub_wrong_plain;
    o.hook_ctx = &sc;
    o.on_step = on_step;
    o.trace_ctx = &tr;
    trm_search_result r;
    const trm_task *t = trm_task_by_name("sudoku4");
    assert_int_equal(trm_search_run(m, a, t, in, NULL, 1, 0, &o, ans, &r, NULL, &e), 0);
    /* the plain branch was wrong at every step ... */
    assert_true(tr.plain_invalid[0] >= 1);
    /* ... and the search still returns the right, verified answer */
    assert_true(r.verified);
    assert_int_equal(r.violations, 0);
    assert_memory_equal(ans, sol, sizeof sol);
    assert_int_equal(r.found_by, want);
    assert_true(r.branches >= 2);
    /* it stopped at the first valid answer */
    assert_int_equal(r.evals, tr.first_valid[0]);
    assert_true(r.evals <= o.budget);
    trm_act_free(a);
    trm_model_free(m);
}

static void test_commit_fixes_plain(void **state) {
    (void)state;
    constructed_case("commit", TRM_BRANCH_COMMIT);
}

static void test_aug_fixes_plain(void **state) {
    (void)state;
    constructed_case("aug", TRM_BRANCH_AUG);
}

static void test_fix_fixes_plain(void **state) {
    (void)state;
    constructed_case("fix", TRM_BRANCH_FIX);
}

/* A scorer that is right at some steps only: a pseudo-random function of
 * the row's inputs and step count decides. */
static int stub_sometimes(void *ctx, trm_act *a, trm_err *err) {
    (void)err, (void)ctx;
    for (int b = 0; b < a->batch; b++) {
        const int32_t *in = a->inputs + (size_t)b * S4;
        uint64_t h = 1469598103934665603ull ^ (uint64_t)a->steps[b];
        for (int i = 0; i < S4; i++) h = (h ^ (uint64_t)in[i]) * 1099511628211ull;
        int32_t top[S4];
        bool ok = solve4(in, top);
        if (!ok || (h >> 33) % 7 != 0) {
            for (int i = 0; i < S4; i++) if (in[i] == 1) top[i] = 2 + (int)((h >> (i % 32)) % 4);
            if (!ok) for (int i = 0; i < S4; i++) top[i] = 2;
        }
        int blank = -1;
        for (int i = 0; i < S4 && blank < 0; i++) if (in[i] == 1) blank = i;
        write_logits(a, b, top, blank, blank >= 0 ? 2 + (int)(h % 4) : 0);
        a->q_halt[b] = (float)((h >> 40) % 100) / 25.0f - 2.0f;
    }
    return 0;
}

static void test_verified_iff_seen(void **state) {
    (void)state;
    enum { N = 24 };
    trm_model *m = tiny4(2);
    trm_err e;
    trm_act *a = trm_act_new(m, 5, TRM_EVAL, 0, &e);
    int32_t in[N * S4], sol[N * S4], ans[N * S4];
    puzzles4(N, 9, 21, in, sol);
    trace tr;
    memset(&tr, 0, sizeof tr);
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    assert_int_equal(trm_search_set_policy(&o, "fix,aug,commit,reseed", &e), 0);
    o.budget = 10;
    o.after_step = stub_sometimes;
    o.on_step = on_step;
    o.trace_ctx = &tr;
    trm_search_result r[N];
    trm_search_stats st = {0};
    const trm_task *t = trm_task_by_name("sudoku4");
    assert_int_equal(trm_search_run(m, a, t, in, NULL, N, 0, &o, ans, r, &st, &e), 0);
    int n_verified = 0, n_failed = 0;
    for (int p = 0; p < N; p++) {
        assert_int_equal(r[p].verified, tr.first_valid[p] > 0);
        assert_true(r[p].evals <= o.budget);
        assert_int_equal(r[p].evals, tr.steps[p]); /* every charged step was scored */
        if (r[p].verified) {
            n_verified++;
            assert_int_equal(t->verify(in + p * S4, ans + p * S4, S4), 0);
            assert_memory_equal(ans + p * S4, sol + p * S4, S4 * sizeof(int32_t));
        } else {
            n_failed++;
            assert_int_equal(r[p].evals, o.budget); /* gave up only when out of budget */
        }
    }
    /* the stub makes both outcomes happen, so both branches above ran */
    assert_true(n_verified > 0);
    assert_true(n_failed > 0);
    assert_int_equal(st.puzzles, N);
    assert_int_equal(st.verified, n_verified);
    trm_act_free(a);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- budget, determinism */

static void run_real(trm_model *m, int batch, int64_t budget, uint64_t seed, bool share, int n,
                     const int32_t *in, int32_t *ans, trm_search_result *r, trace *tr) {
    trm_err e;
    trm_act *a = trm_act_new(m, batch, TRM_EVAL, 0, &e);
    assert_non_null(a);
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    assert_int_equal(trm_search_set_policy(&o, "commit,aug,reseed", &e), 0);
    o.budget = budget;
    o.seed = seed;
    o.share_lanes = share;
    o.patience = 1;
    o.on_step = on_step;
    o.trace_ctx = tr;
    trm_search_stats st = {0};
    assert_int_equal(trm_search_run(m, a, trm_task_by_name("sudoku4"), in, NULL, n, 0, &o, ans, r, &st, &e), 0);
    int64_t sum = 0;
    for (int p = 0; p < n; p++) sum += r[p].evals;
    assert_int_equal(st.evals, sum);
    assert_true(st.row_steps >= sum); /* idle lanes compute but are not charged */
    trm_act_free(a);
}

static void test_budget_never_exceeded(void **state) {
    (void)state;
    enum { N = 7 };
    trm_model *m = tiny4(3);
    int32_t in[N * S4], sol[N * S4], ans[N * S4];
    puzzles4(N, 10, 5, in, sol);
    const int64_t budgets[] = {1, 3, 9, 20};
    const int batches[] = {1, 3, 8};
    for (size_t bi = 0; bi < 4; bi++)
        for (size_t k = 0; k < 3; k++)
            for (int share = 0; share < 2; share++) {
                trm_search_result r[N];
                trace tr;
                memset(&tr, 0, sizeof tr);
                run_real(m, batches[k], budgets[bi], 7, share, N, in, ans, r, &tr);
                for (int p = 0; p < N; p++) {
                    assert_true(r[p].evals <= budgets[bi]);
                    assert_int_equal(r[p].evals, tr.steps[p]);
                    if (!r[p].verified) assert_int_equal(r[p].evals, budgets[bi]);
                    assert_true(r[p].branches >= 1);
                }
            }
    trm_model_free(m);
}

static void test_deterministic_by_seed(void **state) {
    (void)state;
    enum { N = 6 };
    trm_model *m = tiny4(4);
    int32_t in[N * S4], sol[N * S4], a1[N * S4], a2[N * S4], a3[N * S4];
    puzzles4(N, 10, 6, in, sol);
    trm_search_result r1[N], r2[N], r3[N];
    trace t1, t2, t3;
    memset(&t1, 0, sizeof t1); memset(&t2, 0, sizeof t2); memset(&t3, 0, sizeof t3);
    run_real(m, 4, 16, 42, true, N, in, a1, r1, &t1);
    run_real(m, 4, 16, 42, true, N, in, a2, r2, &t2);
    run_real(m, 4, 16, 43, true, N, in, a3, r3, &t3);
    assert_memory_equal(a1, a2, sizeof a1);
    bool differs = memcmp(a1, a3, sizeof a1) != 0;
    for (int p = 0; p < N; p++) {
        assert_int_equal(r1[p].evals, r2[p].evals);
        assert_int_equal(r1[p].branches, r2[p].branches);
        assert_true(r1[p].q == r2[p].q);
        differs = differs || r1[p].q != r3[p].q || r1[p].branches != r3[p].branches;
    }
    /* the seed drives the augmentations and re-seeds: another seed, another search */
    assert_true(differs);
    trm_model_free(m);
}

/* With one branch as long as the budget, the search is the plain model:
 * the lane mechanics (fresh carry through trm_act_set_row) match
 * trm_act_reset + trm_act_step. */
typedef struct { int32_t last[8][S4]; } last_answer;

static void keep_last(void *ctx, int p, trm_branch_kind kind, const int32_t *ans, int viol, float q) {
    (void)viol, (void)q;
    if (kind == TRM_BRANCH_PLAIN) memcpy(((last_answer *)ctx)->last[p], ans, sizeof(int32_t) * S4);
}

static void test_plain_branch_is_plain_model(void **state) {
    (void)state;
    enum { N = 5 };
    trm_model *m = tiny4(5);
    trm_err e;
    int32_t in[N * S4], sol[N * S4], ans[N * S4];
    puzzles4(N, 10, 8, in, sol);
    trm_act *a = trm_act_new(m, N, TRM_EVAL, 0, &e);
    trm_batch bt = {N, in, NULL, NULL};
    trm_act_reset(a);
    for (int s = 0; s < m->cfg.halt_max_steps; s++) assert_int_equal(trm_act_step(m, a, &bt, NULL, &e), 0);
    int32_t plain[N * S4];
    for (int i = 0; i < N * S4; i++) {
        const float *lg = a->logits + (size_t)i * V4;
        int best = 0;
        for (int v = 1; v < V4; v++) if (lg[v] > lg[best]) best = v;
        plain[i] = best;
    }
    last_answer la;
    memset(&la, 0, sizeof la);
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    o.budget = m->cfg.halt_max_steps;
    o.patience = 0;
    o.on_step = keep_last;
    o.trace_ctx = &la;
    trm_search_result r[N];
    assert_int_equal(trm_search_run(m, a, trm_task_by_name("sudoku4"), in, NULL, N, 0, &o, ans, r, NULL, &e), 0);
    for (int p = 0; p < N; p++) {
        assert_int_equal(r[p].branches, 1);
        if (!r[p].verified) assert_memory_equal(la.last[p], plain + p * S4, sizeof(int32_t) * S4);
    }
    assert_int_equal(m->cfg.halt_max_steps, 4); /* the step cap is restored */
    trm_act_free(a);
    trm_model_free(m);
}


/* ---------------------------------------------------------------- rollouts, cycles */

/* The plain model's answers and halting logits: steps supervision steps
 * from a fresh carry, n puzzles in one batch. */
static void plain_answers(trm_model *m, int n, const int32_t *in, int steps, int32_t *pred, float *q) {
    trm_err e;
    trm_act *a = trm_act_new(m, n, TRM_EVAL, 0, &e);
    assert_non_null(a);
    trm_batch bt = {n, in, NULL, NULL};
    trm_act_reset(a);
    for (int s = 0; s < steps; s++) assert_int_equal(trm_act_step(m, a, &bt, NULL, &e), 0);
    for (int i = 0; i < n * S4; i++) {
        const float *lg = a->logits + (size_t)i * V4;
        int best = 0;
        for (int v = 1; v < V4; v++) if (lg[v] > lg[best]) best = v;
        pred[i] = best;
    }
    memcpy(q, a->q_halt, sizeof(float) * (size_t)n);
    trm_act_free(a);
}

/* A halting head that reads y (the reference initialises it to zero
 * weights, so a fresh model's q would not depend on its state). */
static void random_q_head(trm_model *m) {
    uint64_t rng[4];
    rng_seed(rng, 77);
    for (int d = 0; d < m->cfg.hidden_size; d++) m->q_head_w[d] = rng_uniform(rng) - 0.5f;
}

/* Every scored rollout lane, in lane order per puzzle. */
typedef struct {
    int n[8];
    int32_t ans[8][16][S4];
    float q[8][16];
} lanes_seen;

static void keep_lanes(void *ctx, int p, trm_branch_kind kind, const int32_t *ans, int viol, float q) {
    (void)viol;
    lanes_seen *t = ctx;
    assert_int_equal(kind, TRM_BRANCH_ROLLOUT);
    assert_true(t->n[p] < 16);
    memcpy(t->ans[p][t->n[p]], ans, sizeof(int32_t) * S4);
    t->q[p][t->n[p]++] = q;
}

static void run_rollouts(trm_model *m, int batch, int K, float noise, uint64_t seed, int n, const int32_t *in,
                         int32_t *ans, trm_search_result *r, lanes_seen *ls) {
    trm_err e;
    trm_act *a = trm_act_new(m, batch, TRM_EVAL, 0, &e);
    assert_non_null(a);
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    o.rollouts = K;
    o.noise = noise;
    o.seed = seed;
    o.budget = (int64_t)K * m->cfg.halt_max_steps;
    o.on_step = keep_lanes;
    o.trace_ctx = ls;
    memset(ls, 0, sizeof *ls);
    trm_search_stats st = {0};
    assert_int_equal(trm_search_run(m, a, trm_task_by_name("sudoku4"), in, NULL, n, 0, &o, ans, r, &st, &e), 0);
    assert_int_equal(st.rollout_puzzles, n);
    for (int p = 0; p < n; p++) {
        assert_int_equal(r[p].evals, o.budget);   /* K lanes x budget / K steps */
        assert_int_equal(r[p].branches, K);
        assert_int_equal(ls->n[p], K);
        assert_int_equal(r[p].found_by, TRM_BRANCH_ROLLOUT);
    }
    trm_act_free(a);
}

/* sigma = 0: K identical lanes, the answer is the plain model's (lane 0),
 * whatever the batch size splitting the lanes. */
static void test_rollouts_sigma0_is_plain(void **state) {
    (void)state;
    enum { N = 5, K = 3 };
    trm_model *m = tiny4(7);
    int32_t in[N * S4], sol[N * S4], plain[N * S4], ans[N * S4];
    float q[N];
    puzzles4(N, 10, 12, in, sol);
    plain_answers(m, N, in, m->cfg.halt_max_steps, plain, q);
    static lanes_seen ls;
    const int batches[] = {1, 4, N * K};
    for (int bi = 0; bi < 3; bi++) {
        trm_search_result r[N];
        run_rollouts(m, batches[bi], K, 0.0f, 1, N, in, ans, r, &ls);
        assert_memory_equal(ans, plain, sizeof plain);
        for (int p = 0; p < N; p++) {
            assert_int_equal(r[p].lane, 0);
            assert_float_equal(r[p].q_logit, q[p], 1e-4);
            for (int k = 1; k < K; k++) assert_memory_equal(ls.ans[p][k], ls.ans[p][0], sizeof(int32_t) * S4);
        }
    }
    assert_int_equal(m->cfg.halt_max_steps, 4); /* the step cap is restored */
    trm_model_free(m);
}

/* sigma > 0: lane 0 is still the plain model, the other lanes move; the
 * same seed repeats the run, another seed changes it. */
static void test_rollouts_noise(void **state) {
    (void)state;
    enum { N = 4, K = 4 };
    trm_model *m = tiny4(8);
    random_q_head(m);
    int32_t in[N * S4], sol[N * S4], plain[N * S4], a1[N * S4], a2[N * S4], a3[N * S4];
    float q[N];
    puzzles4(N, 10, 13, in, sol);
    plain_answers(m, N, in, m->cfg.halt_max_steps, plain, q);
    static lanes_seen l1, l2, l3;
    trm_search_result r1[N], r2[N], r3[N];
    run_rollouts(m, 5, K, 1.0f, 3, N, in, a1, r1, &l1);
    run_rollouts(m, 5, K, 1.0f, 3, N, in, a2, r2, &l2);
    run_rollouts(m, 5, K, 1.0f, 4, N, in, a3, r3, &l3);
    bool moved = false, seed_matters = false;
    for (int p = 0; p < N; p++) {
        assert_memory_equal(l1.ans[p][0], plain + p * S4, sizeof(int32_t) * S4);
        assert_float_equal(l1.q[p][0], 1.0f / (1.0f + expf(-q[p])), 1e-5);
        for (int k = 1; k < K; k++) {
            moved = moved || l1.q[p][k] != l1.q[p][0];
            seed_matters = seed_matters || l1.q[p][k] != l3.q[p][k];
        }
        assert_int_equal(r1[p].lane, r2[p].lane);
        assert_true(r1[p].q == r2[p].q);
    }
    assert_memory_equal(&l1, &l2, sizeof l1);
    assert_memory_equal(a1, a2, sizeof a1);
    assert_true(moved);
    assert_true(seed_matters);
    trm_model_free(m);
}

/* The selection: lane 0 answers wrong with a high q, lane 1 right with a
 * low q, lane 2 wrong with a middling q (row b is lane b: one puzzle, K =
 * batch = 3). `right` says which lanes answer the solution. */
typedef struct {
    const int32_t *sol;
    bool right[3];
} pick_ctx;

static int stub_lanes(void *ctx, trm_act *a, trm_err *err) {
    (void)err;
    pick_ctx *c = ctx;
    const float qs[3] = {3.0f, -2.0f, 1.0f};
    for (int b = 0; b < a->batch; b++) {
        int32_t top[S4];
        memcpy(top, c->sol, sizeof top);
        if (!c->right[b]) top[b] = c->sol[b] == 2 ? 3 : 2; /* one wrong cell, a different one per lane */
        write_logits(a, b, top, -1, 0);
        a->q_halt[b] = qs[b];
    }
    return 0;
}

static void pick_case(const trm_task *t, bool r0, bool r1, bool r2, int want_lane, bool want_verified) {
    trm_model *m = tiny4(9);
    trm_err e;
    trm_act *a = trm_act_new(m, 3, TRM_EVAL, 0, &e);
    int32_t in[S4], sol[S4], ans[S4];
    puzzles4(1, 8, 14, in, sol);
    for (int i = 0; i < 3; i++) in[i] = 1; /* the cells the stub gets wrong are blanks */
    pick_ctx pc = {sol, {r0, r1, r2}};
    trm_search_opts o;
    trm_search_opts_default(&o, &m->cfg);
    o.rollouts = 3;
    o.noise = 0.5f;
    o.budget = 6;
    o.after_step = stub_lanes;
    o.hook_ctx = &pc;
    trm_search_result r;
    trm_search_stats st = {0};
    assert_int_equal(trm_search_run(m, a, t, in, NULL, 1, 0, &o, ans, &r, &st, &e), 0);
    assert_int_equal(r.lane, want_lane);
    assert_int_equal(r.verified, want_verified);
    assert_int_equal(st.verified, want_verified);
    assert_int_equal(r.evals, 6);
    int32_t want[S4];
    memcpy(want, sol, sizeof want);
    if (!pc.right[want_lane]) want[want_lane] = sol[want_lane] == 2 ? 3 : 2;
    assert_memory_equal(ans, want, sizeof want);
    trm_act_free(a);
    trm_model_free(m);
}

static void test_rollouts_selection(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku4");
    pick_case(t, false, true, false, 1, true);   /* the checker beats a higher q */
    pick_case(t, false, true, true, 2, true);    /* among accepted lanes, the higher q */
    pick_case(t, false, false, false, 0, false); /* none accepted: the highest q */
    trm_task nochk = *t;                         /* no checker: q decides */
    nochk.verify = NULL;
    pick_case(&nochk, false, true, false, 0, false);
}

/* trm_act_perturb_z: row b's z only, N(0, sigma^2), nothing at sigma 0. */
static void test_perturb_z(void **state) {
    (void)state;
    trm_model *m = tiny4(10);
    trm_err e;
    trm_act *a = trm_act_new(m, 2, TRM_EVAL, 0, &e);
    int32_t in[S4];
    for (int i = 0; i < S4; i++) in[i] = 1;
    trm_act_set_row(a, 0, NULL, NULL, in, 0, 0);
    trm_act_set_row(a, 1, NULL, NULL, in, 0, 0);
    size_t n = trm_act_row_floats(a), bytes = 2 * n * sizeof(float);
    float *y0 = malloc(bytes), *z0 = malloc(bytes);
    memcpy(y0, a->y, bytes);
    memcpy(z0, a->z, bytes);
    uint64_t rng[4], rng0[4];
    rng_seed(rng, 5);
    memcpy(rng0, rng, sizeof rng);
    trm_act_perturb_z(a, 1, 0.0f, rng);
    assert_memory_equal(a->z, z0, bytes);
    assert_memory_equal(rng, rng0, sizeof rng); /* sigma 0 draws nothing */
    trm_act_perturb_z(a, 1, 0.5f, rng);
    assert_memory_equal(a->y, y0, bytes);       /* y untouched */
    assert_memory_equal(a->z, z0, n * sizeof(float)); /* row 0 untouched */
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->z[n + i] - (double)z0[n + i];
        sum += d;
        sq += d * d;
    }
    double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
    assert_true(fabs(mean) < 0.1 && fabs(sd - 0.5) < 0.1); /* n = L * D = 256 draws */
    free(y0); free(z0);
    trm_act_free(a);
    trm_model_free(m);
}

/* --cycles: range checks, the depth changes FLOPs and outputs, the
 * checkpoint's values give back its outputs, and a training state made
 * for another n is refused instead of overrunning its buffers. */
static void test_set_cycles(void **state) {
    (void)state;
    enum { N = 3 };
    trm_model *m = tiny4(11);
    random_q_head(m);
    trm_err e;
    int T = m->cfg.H_cycles, n = m->cfg.L_cycles;
    assert_int_equal(trm_model_set_cycles(m, 0, n, &e), -1);
    assert_contains(e.msg, "expected 1 <= T, n <= 64");
    assert_int_equal(trm_model_set_cycles(m, T, TRM_MAX_CYCLES + 1, &e), -1);
    assert_int_equal(m->cfg.H_cycles, T);
    assert_int_equal(m->cfg.L_cycles, n);
    int32_t in[N * S4], sol[N * S4], p1[N * S4], p2[N * S4], p3[N * S4];
    float q1[N], q2[N], q3[N];
    puzzles4(N, 10, 15, in, sol);
    plain_answers(m, N, in, 2, p1, q1);
    double f1 = trm_step_flops(&m->cfg, 1, TRM_EVAL);
    assert_int_equal(trm_model_set_cycles(m, T + 2, n + 1, &e), 0);
    plain_answers(m, N, in, 2, p2, q2);
    assert_true(trm_step_flops(&m->cfg, 1, TRM_EVAL) > f1);
    assert_true(memcmp(q1, q2, sizeof q1) != 0);
    assert_int_equal(trm_model_set_cycles(m, T, n, &e), 0);
    plain_answers(m, N, in, 2, p3, q3);
    assert_memory_equal(p1, p3, sizeof p1);
    assert_memory_equal(q1, q3, sizeof q1);
    trm_act *tr = trm_act_new(m, 1, TRM_TRAIN, 0, &e);
    assert_int_equal(trm_model_set_cycles(m, T, n + 1, &e), 0);
    trm_batch bt = {1, in, sol, NULL};
    assert_int_equal(trm_act_step(m, tr, &bt, NULL, &e), -1);
    assert_contains(e.msg, "allocated for at most");
    trm_act_free(tr);
    trm_model_free(m);
}

/* ---------------------------------------------------------------- options */

static void test_options(void **state) {
    (void)state;
    trm_err e;
    trm_search_opts o;
    trm_search_opts_default(&o, NULL);
    assert_int_equal(trm_search_opts_check(&o, &e), 0);
    assert_int_equal(o.budget, 64);
    o.budget = 0;
    assert_int_equal(trm_search_opts_check(&o, &e), -1);
    assert_contains(e.msg, "budget");
    trm_search_opts_default(&o, NULL);
    assert_int_equal(trm_search_set_policy(&o, "aug,guess", &e), -1);
    assert_contains(e.msg, "unknown branch 'guess'");
    assert_int_equal(trm_search_set_policy(&o, "", &e), -1);
    assert_int_equal(trm_search_set_policy(&o, "reseed,commit", &e), 0);
    assert_int_equal(o.n_policy, 2);
    assert_int_equal(o.policy[0], TRM_BRANCH_RESEED);
    assert_int_equal(o.policy[1], TRM_BRANCH_COMMIT);
    /* a task that does not fit the model is refused */
    trm_model *m = tiny4(6);
    trm_act *a = trm_act_new(m, 1, TRM_EVAL, 0, &e);
    int32_t in[S4] = {0}, ans[81];
    trm_search_result r;
    assert_int_equal(trm_search_run(m, a, trm_task_by_name("sudoku"), in, NULL, 1, 0, &o, ans, &r, NULL, &e), -1);
    assert_contains(e.msg, "does not fit");
    assert_int_equal(trm_search_run(m, a, NULL, in, NULL, 1, 0, &o, ans, &r, NULL, &e), -1);
    in[3] = 9; /* token out of the vocabulary */
    assert_int_equal(trm_search_run(m, a, trm_task_by_name("sudoku4"), in, NULL, 1, 0, &o, ans, &r, NULL, &e), -1);
    assert_contains(e.msg, "out of range");
    /* rollouts: every lane needs a step of the budget; noise is a std */
    trm_search_opts_default(&o, NULL);
    o.rollouts = 8;
    o.budget = 7;
    assert_int_equal(trm_search_opts_check(&o, &e), -1);
    assert_contains(e.msg, "expected a budget >= 8");
    o.budget = 8;
    assert_int_equal(trm_search_opts_check(&o, &e), 0);
    o.noise = -0.1f;
    assert_int_equal(trm_search_opts_check(&o, &e), -1);
    assert_contains(e.msg, "search noise");
    o.noise = NAN;
    assert_int_equal(trm_search_opts_check(&o, &e), -1);
    o.noise = 0.3f;
    o.rollouts = TRM_SEARCH_MAX_ROLLOUTS + 1;
    o.budget = 1 << 20;
    assert_int_equal(trm_search_opts_check(&o, &e), -1);
    assert_contains(e.msg, "search rollouts");
    assert_int_equal(trm_search_set_policy(&o, "rollout", &e), -1); /* not a branch kind */
    trm_act_free(a);
    trm_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sudoku_checker),
        cmocka_unit_test(test_sudoku4_checker),
        cmocka_unit_test(test_maze_checker),
        cmocka_unit_test(test_commit_fixes_plain),
        cmocka_unit_test(test_aug_fixes_plain),
        cmocka_unit_test(test_fix_fixes_plain),
        cmocka_unit_test(test_verified_iff_seen),
        cmocka_unit_test(test_budget_never_exceeded),
        cmocka_unit_test(test_deterministic_by_seed),
        cmocka_unit_test(test_plain_branch_is_plain_model),
        cmocka_unit_test(test_rollouts_sigma0_is_plain),
        cmocka_unit_test(test_rollouts_noise),
        cmocka_unit_test(test_rollouts_selection),
        cmocka_unit_test(test_perturb_z),
        cmocka_unit_test(test_set_cycles),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
