/* search.c - self-scored backtracking search at test time (search.h,
 * docs/search.md). */
#include "search/search.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/model.h"
#include "core/util.h" /* util_now_s */

#define MAX_TRIED 256   /* commit candidates remembered per best state */
#define MAX_VOTES 32    /* distinct answers voted on, for tasks without a checker */

static const char *const KIND_NAMES[TRM_BRANCH_KINDS] = {"plain", "aug", "commit", "reseed", "fix", "rollout"};

const char *trm_branch_name(trm_branch_kind k) {
    return k >= 0 && k < TRM_BRANCH_KINDS ? KIND_NAMES[k] : "?";
}

/* ------------------------------------------------------------ options */

void trm_search_opts_default(trm_search_opts *o, const trm_config *cfg) {
    memset(o, 0, sizeof *o);
    o->budget = 4 * (int64_t)(cfg && cfg->halt_max_steps > 0 ? cfg->halt_max_steps : 16);
    o->patience = 2;
    o->policy[0] = TRM_BRANCH_FIX; /* measured best on Sudoku (docs/search.md) */
    o->policy[1] = TRM_BRANCH_AUG;
    o->n_policy = 2;
    o->reseed_std = 0.5f;
    o->fix_fraction = 0.5f;
    o->share_lanes = true;
}

int trm_search_set_policy(trm_search_opts *o, const char *list, trm_err *err) {
    int n = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int k = -1;
        for (int i = TRM_BRANCH_AUG; i <= TRM_BRANCH_FIX; i++) /* rollouts are not a branch */
            if (strlen(KIND_NAMES[i]) == len && !strncmp(p, KIND_NAMES[i], len)) k = i;
        if (k < 0) return trm_errf(err, "search policy: unknown branch '%.*s' (expected aug, commit, reseed or fix)", (int)len, p);
        if (n == TRM_SEARCH_MAX_POLICY) return trm_errf(err, "search policy: at most %d entries", TRM_SEARCH_MAX_POLICY);
        o->policy[n++] = (trm_branch_kind)k;
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) return trm_errf(err, "search policy: expected a list like aug,commit");
    o->n_policy = n;
    return 0;
}

int trm_search_opts_check(const trm_search_opts *o, trm_err *err) {
    if (o->budget < 1) return trm_errf(err, "search budget: expected >= 1 supervision step, got %lld", (long long)o->budget);
    if (o->patience < 0) return trm_errf(err, "search patience: expected >= 0, got %d", o->patience);
    if (o->branch_steps < 0) return trm_errf(err, "search branch length: expected >= 0, got %d", o->branch_steps);
    if (!(o->time_limit >= 0)) return trm_errf(err, "search time limit: expected >= 0 seconds");
    if (o->n_policy < 1 || o->n_policy > TRM_SEARCH_MAX_POLICY) return trm_errf(err, "search policy: empty");
    if (!(o->reseed_std >= 0)) return trm_errf(err, "search reseed noise: expected >= 0");
    if (!(o->fix_fraction > 0 && o->fix_fraction <= 1)) return trm_errf(err, "search fix fraction: expected (0, 1]");
    if (o->rollouts < 0 || o->rollouts > TRM_SEARCH_MAX_ROLLOUTS)
        return trm_errf(err, "search rollouts: expected 0..%d lanes per puzzle, got %d", TRM_SEARCH_MAX_ROLLOUTS, o->rollouts);
    if (!(o->noise >= 0 && o->noise <= TRM_SEARCH_MAX_NOISE))
        return trm_errf(err, "search noise: expected a standard deviation in [0, %g]", (double)TRM_SEARCH_MAX_NOISE);
    if (o->rollouts > 0 && o->budget < o->rollouts)
        return trm_errf(err, "search rollouts: a budget of %lld supervision steps per puzzle gives %d lanes less than one step each (expected a budget >= %d)",
                        (long long)o->budget, o->rollouts, o->rollouts);
    return 0;
}

/* ------------------------------------------------------------ state */

/* The best state of a puzzle so far: where commit branches start. */
typedef struct {
    bool valid;
    int id;                /* changes whenever the state is replaced */
    trm_aug aug;           /* frame of the state */
    float *y, *z;          /* [row_floats] */
    int32_t *inputs;       /* [S] in the frame (commits included) */
    int32_t *pred, *second;/* [S] best and second-best token, frame */
    float *margin;         /* [S] p(best) - p(second) */
} snapshot;

typedef struct {
    int32_t *answer;       /* [S], original frame */
    int votes;
    float q;
} vote;

typedef struct {
    const int32_t *input;  /* original frame */
    int32_t pid;
    int32_t *answer;       /* caller's row, original frame */
    trm_search_result *res;
    uint64_t rng[4];
    int lanes, next_policy;
    bool done, has_checker;
    double best_score;
    snapshot snap;
    int tried_id, n_tried;
    int fixed_id;          /* snapshot a fix branch last started from */
    int32_t tried[MAX_TRIED];  /* cell * V + value, for snap.id == tried_id */
    vote *votes;
    int n_votes;
} puzzle;

typedef struct {
    int p;                 /* puzzle index, -1 = idle */
    trm_branch_kind kind;
    trm_aug aug;
    bool identity;
    int steps, since_best; /* steps run, steps since the last progress */
    bool solved;           /* its last step passed the checker */
    double best_score;     /* of this branch */
    float best_q;
    double mark;           /* progress so far: -violations, or q without a checker */
    int32_t *best_answer;  /* [S] this branch's best (for voting) */
} lane;

typedef struct {
    trm_model *m;
    trm_act *a;
    const trm_task *task;
    const trm_search_opts *o;
    int S, V, B, n, branch_steps;
    size_t rowf;
    puzzle *pz;
    lane *ln;
    int32_t *frame_in, *pred, *second, *orig; /* scratch [S] */
    float *margin, *noise;                    /* scratch [S], [rowf] */
    int32_t *idle_in;                         /* [B, S] zeros for never-used rows */
    trm_search_stats *stats;
} search;

static void snap_free(snapshot *s) {
    free(s->y); free(s->z); free(s->inputs); free(s->pred); free(s->second); free(s->margin);
    memset(s, 0, sizeof *s);
}

static int snap_alloc(snapshot *s, size_t rowf, int S) {
    s->y = malloc(rowf * sizeof(float));
    s->z = malloc(rowf * sizeof(float));
    s->inputs = malloc((size_t)S * sizeof(int32_t));
    s->pred = malloc((size_t)S * sizeof(int32_t));
    s->second = malloc((size_t)S * sizeof(int32_t));
    s->margin = malloc((size_t)S * sizeof(float));
    return s->y && s->z && s->inputs && s->pred && s->second && s->margin ? 0 : -1;
}

static void puzzle_release(puzzle *p) {
    snap_free(&p->snap);
    for (int i = 0; i < p->n_votes; i++) free(p->votes[i].answer);
    free(p->votes);
    p->votes = NULL;
    p->n_votes = 0;
}

/* ------------------------------------------------------------ branches */

static bool is_identity(const trm_aug *a) {
    trm_aug id;
    task_aug_identity(&id);
    return memcmp(a, &id, sizeof id) == 0;
}

/* The next (cell, value) to commit from the best state: the blank cell
 * (one the model fills: prediction differs from the input) whose best and
 * second-best tokens are closest, among pairs not yet tried from this
 * state. Returns the cell, or -1. */
static int pick_commit(search *s, puzzle *p, int32_t *value) {
    snapshot *sn = &p->snap;
    if (p->tried_id != sn->id) { p->tried_id = sn->id; p->n_tried = 0; }
    int best = -1;
    for (int c = 0; c < s->S; c++) {
        int32_t v = sn->second[c];
        if (sn->pred[c] == sn->inputs[c] || v == sn->inputs[c] || v <= 0) continue;
        bool tried = false;
        for (int i = 0; i < p->n_tried && !tried; i++) tried = p->tried[i] == c * s->V + v;
        if (!tried && (best < 0 || sn->margin[c] < sn->margin[best])) best = c;
    }
    if (best >= 0) {
        *value = sn->second[best];
        if (p->n_tried < MAX_TRIED) p->tried[p->n_tried++] = best * s->V + *value;
    }
    return best;
}

/* A fix branch's givens: the best state's inputs plus its most confident
 * filled cells among those in no conflict (blanking such a cell only adds
 * the blank's own violation). Returns the cells fixed (0: nothing to do). */
static int fix_cells(search *s, puzzle *p) {
    snapshot *sn = &p->snap;
    int S = s->S, n = 0, *cand = (int *)s->orig; /* scratch: orig is free here */
    int v0 = s->task->verify(sn->inputs, sn->pred, S);
    memcpy(s->pred, sn->pred, sizeof(int32_t) * (size_t)S);
    for (int c = 0; c < S; c++) {
        if (sn->pred[c] == sn->inputs[c]) continue;
        s->pred[c] = sn->inputs[c];
        if (s->task->verify(sn->inputs, s->pred, S) > v0) cand[n++] = c;
        s->pred[c] = sn->pred[c];
    }
    int k = (int)(s->o->fix_fraction * (float)n);
    /* the k largest margins, by selection (S is small) */
    memcpy(s->frame_in, sn->inputs, sizeof(int32_t) * (size_t)S);
    for (int i = 0; i < k; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (sn->margin[cand[j]] > sn->margin[cand[best]]) best = j;
        int t = cand[i]; cand[i] = cand[best]; cand[best] = t;
        s->frame_in[cand[i]] = sn->pred[cand[i]];
    }
    return k;
}

/* z = z_init + N(0, std) noise, for a reseed branch. */
static void reseeded_z(search *s, puzzle *p, float *z) {
    const trm_model *m = s->m;
    int D = m->cfg.hidden_size;
    rng_trunc_normal(p->rng, z, (long)s->rowf, s->o->reseed_std);
    for (int pos = 0; pos < m->L; pos++)
        for (int d = 0; d < D; d++) z[(size_t)pos * D + d] += m->L_init[d];
}

/* Starts the next branch of puzzle pi on lane li. */
static void start_branch(search *s, int li, int pi) {
    puzzle *p = &s->pz[pi];
    lane *l = &s->ln[li];
    trm_branch_kind k = TRM_BRANCH_PLAIN;
    if (p->res->branches > 0) k = s->o->policy[p->next_policy++ % s->o->n_policy];
    if (k == TRM_BRANCH_AUG && !s->task->draw_aug) k = TRM_BRANCH_RESEED;
    int32_t value = 0;
    int cell = -1;
    if (k == TRM_BRANCH_COMMIT && (!p->snap.valid || (cell = pick_commit(s, p, &value)) < 0))
        k = s->task->draw_aug ? TRM_BRANCH_AUG : TRM_BRANCH_RESEED; /* nothing left to commit */
    if (k == TRM_BRANCH_FIX && (!p->snap.valid || p->fixed_id == p->snap.id || fix_cells(s, p) == 0))
        k = s->task->draw_aug ? TRM_BRANCH_AUG : TRM_BRANCH_RESEED; /* nothing new to fix */
    *l = (lane){.p = pi, .kind = k, .best_score = -INFINITY, .mark = -INFINITY, .best_answer = l->best_answer};
    task_aug_identity(&l->aug);
    const float *y = NULL, *z = NULL;
    if (k == TRM_BRANCH_AUG) {
        s->task->draw_aug(s->S, &l->aug, p->rng);
        s->task->apply_aug(&l->aug, s->S, p->input, s->frame_in);
    } else if (k == TRM_BRANCH_FIX) {
        l->aug = p->snap.aug;          /* frame_in was filled by fix_cells */
        p->fixed_id = p->snap.id;
    } else if (k == TRM_BRANCH_COMMIT) {
        l->aug = p->snap.aug;
        memcpy(s->frame_in, p->snap.inputs, sizeof(int32_t) * (size_t)s->S);
        s->frame_in[cell] = value;
        if (!s->o->commit_fresh) y = p->snap.y, z = p->snap.z;
    } else {
        memcpy(s->frame_in, p->input, sizeof(int32_t) * (size_t)s->S);
        if (k == TRM_BRANCH_RESEED) reseeded_z(s, p, s->noise), z = s->noise;
    }
    l->identity = is_identity(&l->aug);
    trm_act_set_row(s->a, li, y, z, s->frame_in, p->pid, 0);
    p->res->branches++;
    p->lanes++;
    p->res->started = true;
}

/* ------------------------------------------------------------ scoring */

/* Best and second-best token of every cell of row b, with the gap of
 * their softmax probabilities. */
static void read_row(search *s, int b) {
    int S = s->S, V = s->V;
    for (int t = 0; t < S; t++) {
        const float *lg = s->a->logits + ((size_t)b * S + t) * V;
        int i2, i1 = trm_argmax(lg, V, &i2);
        double z = 0;
        for (int v = 0; v < V; v++) z += exp((double)(lg[v] - lg[i1]));
        s->pred[t] = i1;
        s->second[t] = i2 < 0 ? i1 : i2;
        s->margin[t] = i2 < 0 ? 1.0f : (float)((1.0 - exp((double)(lg[i2] - lg[i1]))) / z);
    }
}

static void save_snapshot(search *s, puzzle *p, int b, const lane *l) {
    snapshot *sn = &p->snap;
    if (!sn->y && snap_alloc(sn, s->rowf, s->S)) { snap_free(sn); return; } /* no memory: no commits */
    trm_act_get_row(s->a, b, sn->y, sn->z);
    memcpy(sn->inputs, s->a->inputs + (size_t)b * s->S, sizeof(int32_t) * (size_t)s->S);
    memcpy(sn->pred, s->pred, sizeof(int32_t) * (size_t)s->S);
    memcpy(sn->second, s->second, sizeof(int32_t) * (size_t)s->S);
    memcpy(sn->margin, s->margin, sizeof(float) * (size_t)s->S);
    sn->aug = l->aug;
    sn->id++;
    sn->valid = true;
}

/* Tasks without a checker: a branch's best answer is one vote. */
static void add_vote(search *s, puzzle *p, const lane *l) {
    if (l->best_score == -INFINITY) return;
    size_t bytes = sizeof(int32_t) * (size_t)s->S;
    for (int i = 0; i < p->n_votes; i++)
        if (!memcmp(p->votes[i].answer, l->best_answer, bytes)) {
            p->votes[i].votes++;
            if (l->best_q > p->votes[i].q) p->votes[i].q = l->best_q;
            return;
        }
    if (p->n_votes == MAX_VOTES) return;
    if (!p->votes && !(p->votes = calloc(MAX_VOTES, sizeof(vote)))) return;
    vote *v = &p->votes[p->n_votes];
    if (!(v->answer = malloc(bytes))) return;
    memcpy(v->answer, l->best_answer, bytes);
    v->votes = 1;
    v->q = l->best_q;
    p->n_votes++;
}

/* Most votes, then the higher q: agreement across augmentations. */
static void pick_vote(search *s, puzzle *p) {
    int best = -1;
    for (int i = 0; i < p->n_votes; i++)
        if (best < 0 || p->votes[i].votes > p->votes[best].votes ||
            (p->votes[i].votes == p->votes[best].votes && p->votes[i].q > p->votes[best].q))
            best = i;
    if (best >= 0) memcpy(p->answer, p->votes[best].answer, sizeof(int32_t) * (size_t)s->S);
}

/* Scores lane li's last step; returns true when the puzzle is solved. */
static bool score_lane(search *s, int li) {
    lane *l = &s->ln[li];
    puzzle *p = &s->pz[l->p];
    read_row(s, li);
    const int32_t *ans = s->pred;
    if (!l->identity) {
        s->task->invert_aug(&l->aug, s->S, s->pred, s->orig);
        ans = s->orig;
    }
    int viol = s->task->verify ? s->task->verify(p->input, ans, s->S) : -1;
    float ql = s->a->q_halt[li], q = 1.0f / (1.0f + expf(-ql));
    double score = viol >= 0 ? q - viol : q; /* any violation outweighs all confidence */
    if (s->o->on_step) s->o->on_step(s->o->trace_ctx, l->p, l->kind, ans, viol, q);
    l->steps++;
    if (score > l->best_score) {
        l->best_score = score;
        l->best_q = q;
        if (!p->has_checker) memcpy(l->best_answer, ans, sizeof(int32_t) * (size_t)s->S);
    }
    /* progress for patience: fewer violations (a confidence that only
     * drifts is not progress), or without a checker, a clearly higher q */
    double mark = viol >= 0 ? -viol : q;
    if (mark > l->mark + (viol >= 0 ? 0.0 : 0.01)) {
        l->mark = mark;
        l->since_best = 0;
    } else {
        l->since_best++;
    }
    if (score > p->best_score) {
        p->best_score = score;
        memcpy(p->answer, ans, sizeof(int32_t) * (size_t)s->S);
        p->res->q = q;
        p->res->q_logit = ql;
        p->res->violations = viol;
        p->res->found_by = l->kind;
        if (p->has_checker) save_snapshot(s, p, li, l);
    }
    return viol == 0;
}

/* ------------------------------------------------------------ scheduling */

static int branch_len(const search *s, const lane *l) {
    /* the plain branch may run twice as long: more recursion is what the
     * model was trained to benefit from, as long as it makes progress */
    return l->kind == TRM_BRANCH_PLAIN ? 2 * s->branch_steps : s->branch_steps;
}

static bool lane_continues(const search *s, const lane *l) {
    const puzzle *p = &s->pz[l->p];
    if (p->done || p->res->evals >= s->o->budget || l->steps >= branch_len(s, l)) return false;
    return s->o->patience == 0 || l->since_best < s->o->patience;
}

static void finish_puzzle(search *s, int pi, bool verified) {
    puzzle *p = &s->pz[pi];
    p->done = true;
    p->res->verified = verified;
    if (!p->has_checker) pick_vote(s, p);
    if (s->stats) {
        s->stats->puzzles++;
        s->stats->verified += verified;
        s->stats->evals += p->res->evals;
        s->stats->branches += p->res->branches;
        if (verified) s->stats->found_by[p->res->found_by]++;
    }
    puzzle_release(p);
}

/* Frees lane li; the puzzle is finished once it has no lane and no budget. */
static void end_lane(search *s, int li) {
    lane *l = &s->ln[li];
    puzzle *p = &s->pz[l->p];
    if (!p->has_checker) add_vote(s, p, l);
    p->lanes--;
    l->p = -1;
    if (!p->done && p->lanes == 0 && p->res->evals >= s->o->budget) finish_puzzle(s, (int)(p - s->pz), false);
}

/* Steps the running branches of puzzle pi may still take. */
static int64_t reserved(const search *s, int pi) {
    int64_t r = 0;
    for (int li = 0; li < s->B; li++)
        if (s->ln[li].p == pi && branch_len(s, &s->ln[li]) > s->ln[li].steps)
            r += branch_len(s, &s->ln[li]) - s->ln[li].steps;
    return r;
}

/* A free lane's next job: a new puzzle, else (sharing) an extra branch of
 * the unsolved puzzle with the fewest lanes whose budget covers a whole
 * extra branch on top of what its running branches may still take (so
 * helpers never starve the plain branch). Returns the puzzle, or -1. */
static int next_job(search *s, int *next_new) {
    while (*next_new < s->n) {
        int pi = (*next_new)++;
        if (!s->pz[pi].done) return pi;
    }
    if (!s->o->share_lanes) return -1;
    int best = -1;
    for (int pi = 0; pi < s->n; pi++) {
        puzzle *p = &s->pz[pi];
        if (p->done || !p->res->started || p->res->evals + reserved(s, pi) + s->branch_steps > s->o->budget)
            continue;
        if (best < 0 || p->lanes < s->pz[best].lanes) best = pi;
    }
    return best;
}

/* Charges one step to every busy lane's puzzle; lanes whose puzzle is out
 * of budget end first. Returns the number of lanes that will step. */
static int charge(search *s) {
    int busy = 0;
    for (int li = 0; li < s->B; li++) {
        lane *l = &s->ln[li];
        if (l->p < 0) continue;
        if (s->pz[l->p].res->evals >= s->o->budget) { end_lane(s, li); continue; }
        s->pz[l->p].res->evals++;
        busy++;
    }
    return busy;
}

/* After a step: score every busy lane (all of them: each was charged),
 * finish solved puzzles, move lanes whose branch is over to the puzzle's
 * next branch. */
static void after_step(search *s) {
    for (int li = 0; li < s->B; li++)
        if (s->ln[li].p >= 0) s->ln[li].solved = score_lane(s, li);
    for (int li = 0; li < s->B; li++) {
        int pi = s->ln[li].p;
        if (pi < 0 || !s->ln[li].solved) continue;
        for (int lj = 0; lj < s->B; lj++)
            if (s->ln[lj].p == pi) { s->pz[pi].lanes--; s->ln[lj].p = -1; }
        finish_puzzle(s, pi, true);
    }
    for (int li = 0; li < s->B; li++) {
        lane *l = &s->ln[li];
        if (l->p < 0 || lane_continues(s, l)) continue;
        int pi = l->p;
        puzzle *p = &s->pz[pi];
        bool more = p->res->evals < s->o->budget;
        if (!p->has_checker) add_vote(s, p, l);
        p->lanes--;
        l->p = -1;
        if (more) start_branch(s, li, pi); /* depth first: the same lane goes on */
        else if (p->lanes == 0) finish_puzzle(s, pi, false);
    }
}

static void fill_idle(search *s, int *next_new) {
    for (int li = 0; li < s->B; li++) {
        if (s->ln[li].p >= 0) continue;
        int pi = next_job(s, next_new);
        if (pi < 0) return;
        start_branch(s, li, pi);
    }
}

/* ------------------------------------------------------------ rollouts */

/* Lane k of puzzle pi: its own noise stream, independent of how puzzles
 * and lanes are split into batches and calls. */
static void lane_seed(uint64_t rng[4], uint64_t seed, int64_t puzzle, int k) {
    rng_seed(rng, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(puzzle + 1)) ^ (0xD1B54A32D192ED03ull * (uint64_t)(k + 1)));
}

/* Whether lane (viol, q) beats the puzzle's choice so far: an answer the
 * checker accepts beats any other, then the higher q; ties keep the
 * earlier (lower) lane, so lane 0 wins among identical lanes. */
static bool rollout_better(const puzzle *p, int viol, float q) {
    if (p->res->lane < 0) return true;
    bool ok = viol == 0, best_ok = p->res->violations == 0;
    if (ok != best_ok) return ok;
    return q > p->res->q;
}

/* Scores row r (lane k of puzzle pi) after its last step. */
static void rollout_score(search *s, int r, int pi, int k, int steps) {
    puzzle *p = &s->pz[pi];
    read_row(s, r);
    int viol = p->has_checker ? s->task->verify(p->input, s->pred, s->S) : -1;
    float ql = s->a->q_halt[r], q = 1.0f / (1.0f + expf(-ql));
    if (s->o->on_step) s->o->on_step(s->o->trace_ctx, pi, TRM_BRANCH_ROLLOUT, s->pred, viol, q);
    p->res->evals += steps;
    p->res->branches++;
    p->res->started = true;
    if (!rollout_better(p, viol, q)) return;
    memcpy(p->answer, s->pred, sizeof(int32_t) * (size_t)s->S);
    p->res->lane = k;
    p->res->q = q;
    p->res->q_logit = ql;
    p->res->violations = viol;
    p->res->verified = viol == 0;
}

/* Runs rows [0, rows) of the batch (jobs j0.. : lane j % K of puzzle
 * j / K) for `steps` supervision steps, lanes k > 0 with noise on z. */
static int rollout_chunk(search *s, int64_t j0, int rows, int steps, int64_t first, uint64_t (*rng)[4],
                         trm_err *err) {
    int K = s->o->rollouts;
    trm_batch bt = {s->B, s->idle_in, NULL, NULL}; /* rows past `rows` idle on blanks */
    trm_act_reset(s->a);
    for (int r = 0; r < rows; r++) {
        int pi = (int)((j0 + r) / K), k = (int)((j0 + r) % K);
        trm_act_set_row(s->a, r, NULL, NULL, s->pz[pi].input, s->pz[pi].pid, 0);
        lane_seed(rng[r], s->o->seed, first + pi, k);
    }
    for (int st = 0; st < steps; st++) {
        for (int r = 0; r < rows; r++) /* lane 0 stays the plain model */
            if ((j0 + r) % K != 0) trm_act_perturb_z(s->a, r, s->o->noise, rng[r]);
        if (trm_act_step(s->m, s->a, &bt, NULL, err)) return -1;
        if (s->o->after_step && s->o->after_step(s->o->hook_ctx, s->a, err)) return -1;
        if (s->stats) s->stats->row_steps += s->B;
    }
    for (int r = 0; r < rows; r++) rollout_score(s, r, (int)((j0 + r) / K), (int)((j0 + r) % K), steps);
    return 0;
}

/* All K lanes of all puzzles, B rows at a time; returns -1 on a step error. */
static int rollout_loop(search *s, int64_t first, double deadline, trm_err *err) {
    int K = s->o->rollouts, steps = (int)(s->o->budget / K);
    uint64_t (*rng)[4] = malloc(sizeof *rng * (size_t)s->B);
    if (!rng) return trm_errf(err, "out of memory for %d rollout lanes", s->B);
    int64_t jobs = (int64_t)s->n * K;
    int rc = 0;
    for (int64_t j0 = 0; rc == 0 && j0 < jobs; j0 += s->B) {
        if (deadline > 0 && util_now_s() > deadline) break; /* the rest keep their input as the answer */
        rc = rollout_chunk(s, j0, jobs - j0 < s->B ? (int)(jobs - j0) : s->B, steps, first, rng, err);
    }
    free(rng);
    for (int i = 0; rc == 0 && i < s->n; i++) {
        s->pz[i].res->found_by = TRM_BRANCH_ROLLOUT;
        if (s->stats) s->stats->rollout_puzzles++;
        finish_puzzle(s, i, s->pz[i].res->verified);
    }
    return rc;
}

/* ------------------------------------------------------------ driver */

static void search_free(search *s) {
    if (s->pz)
        for (int i = 0; i < s->n; i++) puzzle_release(&s->pz[i]);
    if (s->ln)
        for (int i = 0; i < s->B; i++) free(s->ln[i].best_answer);
    free(s->pz); free(s->ln); free(s->frame_in); free(s->pred); free(s->second);
    free(s->orig); free(s->margin); free(s->noise); free(s->idle_in);
}

static int search_init(search *s, const int32_t *inputs, const int32_t *pids, int64_t first,
                       int32_t *answers, trm_search_result *res, trm_err *err) {
    int S = s->S;
    s->pz = calloc((size_t)s->n + 1, sizeof(puzzle));
    s->ln = calloc((size_t)s->B, sizeof(lane));
    s->frame_in = malloc(sizeof(int32_t) * (size_t)S);
    s->pred = malloc(sizeof(int32_t) * (size_t)S);
    s->second = malloc(sizeof(int32_t) * (size_t)S);
    s->orig = malloc(sizeof(int32_t) * (size_t)S);
    s->margin = malloc(sizeof(float) * (size_t)S);
    s->noise = malloc(sizeof(float) * s->rowf);
    s->idle_in = calloc((size_t)s->B * S, sizeof(int32_t));
    bool ok = s->pz && s->ln && s->frame_in && s->pred && s->second && s->orig && s->margin &&
              s->noise && s->idle_in;
    for (int i = 0; ok && i < s->B; i++) {
        s->ln[i].p = -1;
        ok = (s->ln[i].best_answer = malloc(sizeof(int32_t) * (size_t)S)) != NULL;
    }
    if (!ok) return trm_errf(err, "out of memory for the search of %d puzzles", s->n);
    /* a checker exists when verify accepts the puzzle's own answer shape */
    for (int i = 0; i < s->n; i++) {
        puzzle *p = &s->pz[i];
        p->input = inputs + (size_t)i * S;
        p->pid = pids ? pids[i] : 0;
        p->answer = answers + (size_t)i * S;
        p->res = &res[i];
        p->best_score = -INFINITY;
        p->has_checker = s->task->verify && s->task->verify(p->input, p->input, S) >= 0;
        p->tried_id = -1;
        p->fixed_id = -1;
        rng_seed(p->rng, s->o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(first + i + 1)));
        memcpy(p->answer, p->input, sizeof(int32_t) * (size_t)S); /* until the model answers */
        memset(p->res, 0, sizeof *p->res);
        p->res->violations = -1;
        p->res->lane = -1;
    }
    return 0;
}

static int check_args(const trm_model *m, const trm_act *a, const trm_task *task,
                      const int32_t *inputs, const int32_t *pids, int n, const trm_search_opts *o,
                      trm_err *err) {
    if (trm_search_opts_check(o, err)) return -1;
    if (!task) return trm_errf(err, "search: the model's task is unknown (no checker or augmentation)");
    int rows, cols;
    if (task->vocab_size != m->cfg.vocab_size || !task->board(m->cfg.seq_len, &rows, &cols))
        return trm_errf(err, "search: task %s does not fit the model (vocab %d, seq_len %d)", task->name,
                        m->cfg.vocab_size, m->cfg.seq_len);
    if (a->model != m || a->mode != TRM_EVAL) return trm_errf(err, "search: needs an evaluation ACT state of this model");
    if (n < 0) return trm_errf(err, "search: %d puzzles", n);
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < m->cfg.seq_len; t++) {
            int32_t v = inputs[(size_t)i * m->cfg.seq_len + t];
            if (v < 0 || v >= m->cfg.vocab_size) return trm_errf(err, "search: puzzle %d token %d: id %d out of range [0, %d)", i, t, v, m->cfg.vocab_size);
        }
        if (pids && (pids[i] < 0 || pids[i] >= m->cfg.num_puzzle_identifiers))
            return trm_errf(err, "search: puzzle %d: puzzle id %d out of range", i, pids[i]);
    }
    return 0;
}

/* The batch loop; returns -1 on a step error. */
static int run_loop(search *s, double deadline, trm_err *err) {
    int next_new = 0;
    trm_batch bt = {s->B, s->idle_in, NULL, NULL};
    for (;;) {
        fill_idle(s, &next_new);
        if (deadline > 0 && util_now_s() > deadline) break;
        if (charge(s) == 0) {
            fill_idle(s, &next_new); /* lanes ended by the budget may free others' work */
            if (charge(s) == 0) break;
        }
        if (trm_act_step(s->m, s->a, &bt, NULL, err)) return -1;
        if (s->o->after_step && s->o->after_step(s->o->hook_ctx, s->a, err)) return -1;
        if (s->stats) s->stats->row_steps += s->B;
        after_step(s);
    }
    /* out of time: what each started puzzle has is its answer */
    for (int li = 0; li < s->B; li++) {
        lane *l = &s->ln[li];
        if (l->p >= 0 && !s->pz[l->p].done && !s->pz[l->p].has_checker) add_vote(s, &s->pz[l->p], l);
    }
    for (int i = 0; i < s->n; i++)
        if (!s->pz[i].done) finish_puzzle(s, i, false);
    return 0;
}

int trm_search_run(trm_model *m, trm_act *a, const trm_task *task, const int32_t *inputs,
                   const int32_t *puzzle_ids, int n, int64_t first_index,
                   const trm_search_opts *o, int32_t *answers, trm_search_result *res,
                   trm_search_stats *stats, trm_err *err) {
    if (check_args(m, a, task, inputs, puzzle_ids, n, o, err)) return -1;
    double t0 = util_now_s();
    search s = {.m = m, .a = a, .task = task, .o = o, .S = m->cfg.seq_len, .V = m->cfg.vocab_size,
                .B = a->batch, .n = n, .rowf = trm_act_row_floats(a), .stats = stats};
    s.branch_steps = o->branch_steps > 0 ? o->branch_steps : m->cfg.halt_max_steps;
    int rc = search_init(&s, inputs, puzzle_ids, first_index, answers, res, err);
    /* the search decides when a branch ends: lift the ACT step cap */
    int saved_cap = trm_act_step_cap(a);
    trm_act_set_step_cap(a, INT_MAX / 2);
    double deadline = o->time_limit > 0 ? t0 + o->time_limit : 0;
    if (rc == 0) rc = o->rollouts > 0 ? rollout_loop(&s, first_index, deadline, err) : run_loop(&s, deadline, err);
    trm_act_set_step_cap(a, saved_cap);
    trm_act_reset(a);
    search_free(&s);
    if (stats) stats->seconds += util_now_s() - t0;
    return rc;
}

/* ------------------------------------------------------------ evaluation */

int trm_search_eval_solve(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt, int steps,
                          int32_t *pred, float *q_halt, trm_err *err) {
    trm_search_eval_ctx *c = ctx;
    int S = m->cfg.seq_len, n = 0;
    /* the loader pads the last batch with rows whose labels are all ignored */
    for (int b = 0; b < bt->batch; b++) {
        bool real = !bt->labels;
        for (int t = 0; t < S && !real; t++) real = bt->labels[(size_t)b * S + t] != TRM_IGNORE_LABEL;
        if (real) n = b + 1;
    }
    /* rows past the evaluation's max_examples are real but not scored */
    if (c->max_puzzles > 0 && c->next_index + n > c->max_puzzles)
        n = c->max_puzzles > c->next_index ? (int)(c->max_puzzles - c->next_index) : 0;
    trm_search_opts o = c->opts;
    if (o.branch_steps == 0) o.branch_steps = steps;
    if (c->opts.time_limit > 0) {
        if (c->deadline == 0) c->deadline = util_now_s() + c->opts.time_limit;
        o.time_limit = c->deadline - util_now_s();
        if (o.time_limit <= 0) o.time_limit = 1e-9;
    }
    trm_search_result *res = calloc((size_t)(n > 0 ? n : 1), sizeof *res);
    if (!res) return trm_errf(err, "out of memory");
    memcpy(pred, bt->inputs, sizeof(int32_t) * (size_t)bt->batch * S); /* padding rows: echo */
    for (int b = 0; b < bt->batch; b++) q_halt[b] = -INFINITY;
    int rc = trm_search_run(m, a, c->task, bt->inputs, bt->puzzle_ids, n, c->next_index, &o, pred, res,
                            &c->stats, err);
    for (int b = 0; rc == 0 && b < n; b++) {
        q_halt[b] = res[b].q_logit;
        if (!bt->labels) continue;
        bool exact = true;
        for (int t = 0; t < S && exact; t++) {
            int32_t l = bt->labels[(size_t)b * S + t];
            exact = l == TRM_IGNORE_LABEL || l == pred[(size_t)b * S + t];
        }
        c->solved += exact;
        c->evals_solved += exact ? res[b].evals : 0;
    }
    c->next_index += n;
    free(res);
    return rc;
}
