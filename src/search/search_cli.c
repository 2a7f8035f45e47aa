/* search_cli.c - the --search options of `trm solve` and `trm eval`. */
#include "search/search_cli.h"

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
    return trm_parse_ll("--budget", num, 1, 100000000, out, NULL);
}

int trm_search_cli_parse(trm_search_cli *c, int code, const char *arg, trm_err *err) {
    long long v = 0;
    bool times = false;
    int k = code - TRM_SEARCH_OPT_BASE;
    if (k < 0 || k > 8) return 1;
    if (k > 0) c->any = true;
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
        if (trm_parse_double("--search-time", arg, 0, 1e9, true, &t, NULL))
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
        if (trm_parse_ll("--patience", arg, 0, 1000000, &v, err)) return -1;
        c->o.patience = (int)v;
        break;
    case 5:
        if (trm_parse_ll("--branch-steps", arg, 0, 1000000, &v, err)) return -1;
        c->o.branch_steps = (int)v;
        break;
    case 6:
        if (trm_parse_u64("--search-seed", arg, &c->o.seed, err)) return -1;
        break;
    case 7: c->o.commit_fresh = true; break;
    case 8: c->o.share_lanes = false; break;
    }
    return 0;
}

int trm_search_cli_finish(trm_search_cli *c, const trm_config *cfg, trm_err *err) {
    if (c->any && !c->on) return trm_errf(err, "search options (--budget, --search-policy, ...) need --search");
    if (!c->on) return 0;
    int k = cfg->halt_max_steps > 0 ? cfg->halt_max_steps : 16;
    if (c->budget == 0) c->o.budget = 4LL * k;
    else c->o.budget = c->budget_times ? c->budget * k : c->budget;
    return trm_search_opts_check(&c->o, err);
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
            "  --no-share          idle batch rows stay idle instead of branching on unsolved puzzles\n");
}

void trm_search_print_json(FILE *out, const trm_search_eval_ctx *c) {
    const trm_search_stats *s = &c->stats;
    double n = s->puzzles ? (double)s->puzzles : 1.0;
    fprintf(out, ",\"search\":{\"budget\":%lld,\"policy\":\"", (long long)c->opts.budget);
    for (int i = 0; i < c->opts.n_policy; i++) fprintf(out, "%s%s", i ? "," : "", trm_branch_name(c->opts.policy[i]));
    fprintf(out, "\",\"patience\":%d,\"puzzles\":%lld,\"verified\":%lld,\"verified_rate\":%.6g,"
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
}

void trm_search_print_result_json(FILE *out, const trm_search_result *r) {
    fprintf(out, ",\"search\":{\"verified\":%s,\"evals\":%lld,\"branches\":%d,\"found_by\":\"%s\"}",
            r->verified ? "true" : "false", (long long)r->evals, r->branches, trm_branch_name(r->found_by));
}
