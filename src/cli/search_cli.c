/* search_cli.c - the test-time compute options of `trm solve` and
 * `trm eval`. */
#include "cli/search_cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void trm_search_cli_init(trm_search_cli *c) {
    memset(c, 0, sizeof *c);
    trm_search_opts_default(&c->o, NULL);
}

/* --budget: N, or Kx (K times halt_max_steps); *times says which. */
static int parse_budget(const char *s, long long *out, bool *times) {
    char num[32];
    size_t n = strlen(s);
    *times = n > 1 && s[n - 1] == 'x';
    if (*times) n--;
    if (n >= sizeof num) return -1;
    snprintf(num, sizeof num, "%.*s", (int)n, s);
    return util_parse_ll("--budget", num, 1, 100000000, out, NULL);
}

/* "T,n": both in 1..TRM_MAX_CYCLES, nothing else on the line. */
static int parse_cycles(trm_search_cli *c, const char *arg, trm_err *err) {
    long long T = 0, n = 0;
    const char *comma = strchr(arg, ',');
    char head[32];
    size_t len = comma ? (size_t)(comma - arg) : 0;
    bool ok = comma && len > 0 && len < sizeof head;
    if (ok) {
        memcpy(head, arg, len);
        head[len] = 0;
        ok = !util_parse_ll("", head, 1, TRM_MAX_CYCLES, &T, NULL) && !util_parse_ll("", comma + 1, 1, TRM_MAX_CYCLES, &n, NULL);
    }
    if (!ok)
        return trm_errf(err, "--cycles: expected T,n (H_cycles,L_cycles) with 1 <= T, n <= %d, e.g. 3,6; got '%s'",
                        TRM_MAX_CYCLES, arg);
    c->cycles_T = (int)T;
    c->cycles_n = (int)n;
    return 0;
}

int trm_search_cli_parse(trm_search_cli *c, int code, const char *arg, trm_err *err) {
    long long v = 0;
    bool times = false;
    int k = code - TRM_SEARCH_OPT_BASE;
    if (k < 0 || k > 11) return 1;
    if (k > 0 && k != 11) c->any = true; /* --cycles works without --search */
    switch (k) {
    case 0: c->on = true; break;
    case 1:
        if (parse_budget(arg, &v, &times))
            return trm_errf(err, "--budget: expected supervision steps >= 1 (e.g. 64) or a multiple of halt_max_steps (e.g. 4x), got '%s'", arg);
        c->budget = v;
        c->budget_times = times;
        break;
    case 2: {
        double t;
        if (util_parse_double("--search-time", arg, 0, 1e9, true, &t, NULL))
            return trm_errf(err, "--search-time: expected seconds > 0 (at most 1e9), got '%s'", arg);
        c->o.time_limit = t;
        break;
    }
    case 3: {
        trm_err e2;
        if (trm_search_set_policy(&c->o, arg, &e2)) return trm_errf(err, "--search-policy: %s", e2.msg);
        break;
    }
    case 4:
        if (util_parse_ll("--patience", arg, 0, 1000000, &v, err)) return -1;
        c->o.patience = (int)v;
        break;
    case 5:
        if (util_parse_ll("--branch-steps", arg, 0, 1000000, &v, err)) return -1;
        c->o.branch_steps = (int)v;
        break;
    case 6:
        if (util_parse_u64("--search-seed", arg, &c->o.seed, err)) return -1;
        break;
    case 7: c->o.commit_fresh = true; break;
    case 8: c->o.share_lanes = false; break;
    case 9:
        if (util_parse_ll("--rollouts", arg, 1, TRM_SEARCH_MAX_ROLLOUTS, &v, NULL))
            return trm_errf(err, "--rollouts: expected lanes per puzzle in 1..%d, got '%s'", TRM_SEARCH_MAX_ROLLOUTS, arg);
        c->o.rollouts = (int)v;
        break;
    case 10: {
        double t;
        if (util_parse_double("--noise", arg, 0, TRM_SEARCH_MAX_NOISE, false, &t, NULL))
            return trm_errf(err, "--noise: expected a standard deviation in [0, %g], got '%s'", (double)TRM_SEARCH_MAX_NOISE, arg);
        c->o.noise = (float)t;
        c->noise_set = true;
        break;
    }
    case 11: return parse_cycles(c, arg, err);
    }
    return 0;
}

int trm_search_cli_finish(trm_search_cli *c, const trm_config *cfg, trm_err *err) {
    if (c->any && !c->on) return trm_errf(err, "search options (--budget, --search-policy, ...) need --search");
    if (c->noise_set && c->o.rollouts == 0) return trm_errf(err, "--noise: needs --rollouts K (the noise goes on the rollout lanes)");
    if (!c->on) return 0;
    int k = cfg->halt_max_steps > 0 ? cfg->halt_max_steps : 16;
    if (c->budget == 0) c->o.budget = (c->o.rollouts > 0 ? c->o.rollouts : 4LL) * k; /* rollouts: each lane the trained depth */
    else c->o.budget = c->budget_times ? c->budget * k : c->budget;
    return trm_search_opts_check(&c->o, err);
}

int trm_search_cli_apply_cycles(const trm_search_cli *c, trm_model *m, trm_err *err) {
    if (c->cycles_T == 0) return 0;
    trm_err e2;
    if (trm_model_set_cycles(m, c->cycles_T, c->cycles_n, &e2)) return trm_errf(err, "--cycles: %s", e2.msg);
    return 0;
}

void trm_search_cli_help(FILE *out) {
    fprintf(out,
            "  --search            test-time search: score every step (sigmoid(q_halt) and the\n"
            "                      task's checker), go back to the best state and branch when\n"
            "                      the answer is wrong; stop at the first checked answer\n"
            "  --budget N|Kx       supervision steps per puzzle, or K x halt_max_steps (default: 4x)\n"
            "  --search-time S     wall-time limit in seconds for the whole search (default: none)\n"
            "  --search-policy L   branches after the plain run, cycled: aug, commit, reseed, fix\n"
            "                      (default: fix,aug)\n"
            "  --patience N        end a branch after N steps without a better score (default: 2; 0 = never)\n"
            "  --branch-steps N    longest branch (default: 0 = halt_max_steps)\n"
            "  --search-seed N     seed of the augmentations and re-seeds (default: 0)\n"
            "  --commit-fresh      commit branches restart from a fresh carry (default: resume the best state)\n"
            "  --no-share          idle batch rows stay idle instead of branching on unsolved puzzles\n"
            "  --rollouts K        (with --search) K rollouts per puzzle instead of branching: each lane\n"
            "                      runs budget/K steps from a fresh carry (default budget: K x\n"
            "                      halt_max_steps); the answer is the lane the checker accepts, else\n"
            "                      the highest sigmoid(q_halt); the policy options do not apply\n"
            "  --noise SIGMA       rollouts: std of the Gaussian noise added to z of lanes 1..K-1 before\n"
            "                      every step (default: 0; lane 0 is always noise-free; --search-seed)\n"
            "  --cycles T,n        run with H_cycles = T, L_cycles = n instead of the checkpoint's\n"
            "                      (1..%d each; deeper recursion than trained; no --search needed)\n",
            TRM_MAX_CYCLES);
}

void trm_search_print_json(FILE *out, const trm_search_eval_ctx *c) {
    const trm_search_stats *s = &c->stats;
    double n = s->puzzles ? (double)s->puzzles : 1.0;
    fprintf(out, ",\"search\":{\"budget\":%lld,\"policy\":\"", (long long)c->opts.budget);
    if (c->opts.rollouts > 0) fprintf(out, "rollouts");
    for (int i = 0; c->opts.rollouts == 0 && i < c->opts.n_policy; i++)
        fprintf(out, "%s%s", i ? "," : "", trm_branch_name(c->opts.policy[i]));
    if (c->opts.rollouts > 0)
        fprintf(out, "\",\"rollouts\":%d,\"noise\":%.6g,\"lane_steps\":%lld,\"seed\":%llu,\"chosen_by_checker\":%lld,\"chosen_by_q\":%lld",
                c->opts.rollouts, (double)c->opts.noise, (long long)(c->opts.budget / c->opts.rollouts),
                (unsigned long long)c->opts.seed, (long long)s->verified, (long long)(s->puzzles - s->verified));
    else fprintf(out, "\"");
    fprintf(out, ",\"patience\":%d,\"puzzles\":%lld,\"verified\":%lld,\"verified_rate\":%.6g,"
            "\"solved\":%lld,\"evals\":%lld,\"evals_per_puzzle\":%.6g,\"evals_per_solved\":%.6g,"
            "\"evals_of_solved_per_solved\":%.6g,\"row_steps\":%lld,\"branches_per_puzzle\":%.6g,\"seconds\":%.4g,\"verified_by\":{",
            c->opts.patience, (long long)s->puzzles, (long long)s->verified, s->verified / n, (long long)c->solved,
            (long long)s->evals, s->evals / n, c->solved ? (double)s->evals / (double)c->solved : 0.0,
            c->solved ? (double)c->evals_solved / (double)c->solved : 0.0, (long long)s->row_steps,
            s->branches / n, s->seconds);
    for (int k = 0; k < TRM_BRANCH_KINDS; k++)
        fprintf(out, "%s\"%s\":%lld", k ? "," : "", trm_branch_name((trm_branch_kind)k), (long long)s->found_by[k]);
    fprintf(out, "}}");
}

void trm_search_print_summary(FILE *out, const trm_search_stats *s, int64_t budget) {
    double n = s->puzzles ? (double)s->puzzles : 1.0;
    fprintf(out, "search: budget %lld steps per puzzle; %lld/%lld answers checked valid; %.1f supervision steps and %.1f branches per puzzle; %.1f s\n",
            (long long)budget, (long long)s->verified, (long long)s->puzzles, s->evals / n, s->branches / n,
            s->seconds);
    if (s->rollout_puzzles)
        fprintf(out, "rollouts: answer chosen by the checker for %lld puzzles, by the highest sigmoid(q_halt) for %lld\n",
                (long long)s->verified, (long long)(s->rollout_puzzles - s->verified));
}

void trm_search_print_result_json(FILE *out, const trm_search_result *r) {
    fprintf(out, ",\"search\":{\"verified\":%s,\"evals\":%lld,\"branches\":%d,\"found_by\":\"%s\"",
            r->verified ? "true" : "false", (long long)r->evals, r->branches, trm_branch_name(r->found_by));
    if (r->lane >= 0) fprintf(out, ",\"lane\":%d,\"chosen_by\":\"%s\"", r->lane, r->verified ? "checker" : "q_halt");
    fprintf(out, "}");
}
