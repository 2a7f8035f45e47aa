/* cmd_eval.c - `trm eval`: accuracy of a checkpoint over a dataset split,
 * at a chosen test-time depth, optionally at every supervision step; the
 * task's own checker (valid Sudoku solutions, valid shortest maze paths);
 * pictures of wrong predictions; and on ARC datasets the voting evaluator
 * of spec 5.2 with pass@K and a Kaggle submission. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/jsonout.h"
#include "render/render.h"
#include "cli/search_cli.h"
#include "tasks/task.h"

#define MAX_CKPT 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm eval --checkpoint CK --data DIR [options]\n\n"
            "Runs every example of a split from a fresh carry for K supervision steps and\n"
            "prints exact accuracy, token accuracy, q_halt accuracy and mean loss as JSON,\n"
            "plus the task checker's verified rate (valid solutions for Sudoku, valid\n"
            "shortest paths for Maze).\n\n"
            "On an ARC dataset (vocab 12, seq_len 900, identifiers.json and test_puzzles.json\n"
            "in DIR) the predictions of all augmented versions are inverted and voted on\n"
            "(spec 5.2) and pass@1/2/5/10/100/1000 are reported. Votes pool the predictions\n"
            "of this one evaluation run (one checkpoint) unless --pool is given; the\n"
            "reference's training loop instead pools every evaluation round of a run.\n\n"
            "  --checkpoint CK     .safetensors checkpoint (repeat it with --pool)\n"
            "  --data DIR          dataset directory\n"
            "  --split NAME        train or test (default: test)\n"
            "  --steps K           supervision steps, the test-time depth (default: halt_max_steps)\n"
            "  --per-step          also report accuracy after every step 1..K\n"
            "  --batch N           rows per batch (default: 64)\n"
            "  --max-examples N    only the first N examples (default: 0 = all)\n"
            "  --task NAME         the task (default: detected from the checkpoint's vocab/seq_len)\n"
            "  --render-wrong K    draw the first K wrong predictions as PNGs (default: 0)\n"
            "  --png-dir DIR       where --render-wrong writes wrong-<example>.png (default: none)\n"
            "  --submission FILE   ARC: write the Kaggle submission.json (top 2 grids per test input)\n"
            "  --pool              ARC: evaluate every --checkpoint and pool their votes into one\n"
            "                      pass@K (each checkpoint's own accuracies are listed in \"runs\")\n"
            "  --quiet             no progress line\n"
            CLI_MEMCHECK_HELP);
    trm_search_cli_help(out); /* --search and its budget */
}

typedef struct {
    const char *cks[MAX_CKPT];
    int n_ck;
    const char *data, *split, *task_name, *png_dir, *submission;
    long long steps, batch, max_ex, render_wrong;
    bool per_step, quiet, pool, no_memcheck;
    trm_search_cli search;       /* --search options */
} eval_args;

static int parse_args(int argc, char **argv, eval_args *a) {
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"data", required_argument, 0, 'd'},
        {"split", required_argument, 0, 's'}, {"steps", required_argument, 0, 'k'},
        {"per-step", no_argument, 0, 'p'}, {"batch", required_argument, 0, 'b'},
        {"max-examples", required_argument, 0, 'm'}, {"quiet", no_argument, 0, 'q'},
        {"task", required_argument, 0, 't'}, {"render-wrong", required_argument, 0, 'r'},
        {"png-dir", required_argument, 0, 'P'}, {"submission", required_argument, 0, 'S'},
        {"pool", no_argument, 0, 'o'}, {"ignore-memory-check", no_argument, 0, 'I'}, TRM_SEARCH_LONG_OPTIONS, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *a = (eval_args){.split = "test", .batch = 64};
    trm_search_cli_init(&a->search);
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:d:s:k:pb:m:qt:r:P:S:oh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': if (a->n_ck == MAX_CKPT) return die("eval", "more than %d --checkpoint options", MAX_CKPT);
                  a->cks[a->n_ck++] = optarg; break;
        case 'd': a->data = optarg; break;
        case 's': a->split = optarg; break;
        case 'k': if (opt_ll("eval", "--steps", optarg, 1, 100000, &a->steps)) return 1; break;
        case 'p': a->per_step = true; break;
        case 'b': if (opt_ll("eval", "--batch", optarg, 1, 65536, &a->batch)) return 1; break;
        case 'm': if (opt_ll("eval", "--max-examples", optarg, 0, INT64_MAX, &a->max_ex)) return 1; break;
        case 'q': a->quiet = true; break;
        case 't': a->task_name = optarg; break;
        case 'r': if (opt_ll("eval", "--render-wrong", optarg, 0, 100000, &a->render_wrong)) return 1; break;
        case 'P': a->png_dir = optarg; break;
        case 'S': a->submission = optarg; break;
        case 'o': a->pool = true; break;
        case 'I': a->no_memcheck = true; break;
        case 'h': usage(stdout); return -1;
        default: { /* the --search options, else unknown */
            trm_err e;
            int r = trm_search_cli_parse(&a->search, c, optarg, &e);
            if (r < 0) return die("eval", "%s", e.msg);
            if (r > 0) return bad_option("eval", argc, argv);
            break;
        }
        }
    }
    if (optind < argc) return die("eval", "unexpected argument '%s' (see trm eval --help)", argv[optind]);
    if (!a->n_ck || !a->data) return die("eval", "--checkpoint and --data are required (see trm eval --help)");
    if (a->search.any && !a->search.on) return die("eval", "search options (--budget, --search-policy, ...) need --search");
    if (a->n_ck > 1 && !a->pool) return die("eval", "%d checkpoints given: add --pool to pool their ARC votes", a->n_ck);
    if (a->render_wrong && !a->png_dir) return die("eval", "--render-wrong needs --png-dir DIR");
    if (a->png_dir && !a->render_wrong) return die("eval", "--png-dir is only used with --render-wrong K");
    return 0;
}

/* ------------------------------------------------------------ per-row work */

/* What the row callback counts for one checkpoint. */
typedef struct {
    int64_t checked, verified;   /* rows the task's checker judged / accepted */
    int rendered;
    trm_search_eval_ctx search;  /* --search totals (search.task NULL without) */
    int H_cycles, L_cycles;      /* the depth run (--cycles or the checkpoint's) */
    double step_flops;           /* of one supervision step of one example */
} run_stats;

typedef struct {
    const trm_task *task;
    int seq_len;
    long long render_left;
    const char *png_dir;
    trm_task_scorer *scorer;     /* the task's dataset scoring (ARC's votes), or NULL */
    run_stats *cur;
} row_ctx;

static bool row_wrong(const trm_eval_row *r, int S) {
    for (int i = 0; i < S; i++)
        if (r->label[i] != TRM_IGNORE_LABEL && r->label[i] != r->pred[i]) return true;
    return false;
}

/* input | prediction | truth, with ignored label cells drawn as padding. */
static int render_row(row_ctx *c, const trm_eval_row *r, trm_err *err) {
    int S = c->seq_len;
    int32_t *truth = malloc(sizeof(int32_t) * (size_t)S);
    if (!truth) return trm_errf(err, "out of memory");
    for (int i = 0; i < S; i++) truth[i] = r->label[i] == TRM_IGNORE_LABEL ? 0 : r->label[i];
    char path[4096];
    snprintf(path, sizeof path, "%s/wrong-%06lld.png", c->png_dir, (long long)r->index);
    trm_board_view v[3] = {{r->input, "input"}, {r->pred, "prediction"}, {truth, "truth"}};
    int rc = render_board_png(path, c->task, S, r->input, truth, v, 3, err);
    free(truth);
    c->cur->rendered += rc == 0;
    return rc;
}

static int on_row(void *ctx, const trm_eval_row *r, trm_err *err) {
    row_ctx *c = ctx;
    if (c->scorer && c->task->scorer->add(c->scorer, r, err)) return -1;
    if (c->task && c->task->verify) {
        int v = c->task->verify(r->input, r->pred, c->seq_len);
        if (v >= 0) { c->cur->checked++; c->cur->verified += v == 0; }
    }
    if (c->render_left > 0 && row_wrong(r, c->seq_len)) {
        c->render_left--;
        if (render_row(c, r, err)) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ setup */

/* The task whose dataset scoring takes this dataset (ARC's voting), of
 * --task when given; NULL if none. */
static const trm_task *scoring_task(const eval_args *a, const trm_dataset_meta *meta) {
    for (const trm_task *const *t = task_list(); *t; t++)
        if ((*t)->scorer && (!a->task_name || !strcmp(a->task_name, (*t)->name)) &&
            (*t)->scorer->accepts(a->data, meta))
            return *t;
    return NULL;
}

/* "--submission: DIR is not A or B" over the tasks that write one. */
static int no_submission(const eval_args *a) {
    char what[1024] = "";
    size_t n = 0;
    for (const trm_task *const *t = task_list(); *t && n < sizeof what; t++)
        if ((*t)->scorer && (*t)->scorer->write_submission)
            n += (size_t)snprintf(what + n, sizeof what - n, "%s%s", n ? " or " : "", (*t)->scorer->what);
    return die("eval", "--submission: %s is not %s", a->data, n ? what : "a dataset any task writes one for");
}

static int pick_task(const eval_args *a, const trm_config *cfg, const trm_task **t) {
    if (a->task_name) {
        if (!(*t = trm_task_by_name(a->task_name))) return die("eval", "--task: unknown task '%s'", a->task_name);
        int r, c;
        if (!(*t)->board(cfg->seq_len, &r, &c))
            return die("eval", "--task %s: the checkpoint's seq_len %d is not a %s board", a->task_name,
                       cfg->seq_len, a->task_name);
        return 0;
    }
    *t = trm_task_detect(cfg->vocab_size, cfg->seq_len);
    return 0;
}

static int check_fit(const char *ck, const eval_args *a, const trm_dataset_meta *meta, const trm_config *c) {
    if (meta->seq_len == c->seq_len && meta->vocab_size == c->vocab_size &&
        meta->num_puzzle_identifiers <= c->num_puzzle_identifiers)
        return 0;
    return die("eval", "%s/%s: dataset (seq_len %d, vocab %d, %d puzzle ids) does not fit the checkpoint %s (seq_len %d, vocab %d, %d ids)",
               a->data, a->split, meta->seq_len, meta->vocab_size, meta->num_puzzle_identifiers, ck,
               c->seq_len, c->vocab_size, c->num_puzzle_identifiers);
}

/* ------------------------------------------------------------ output */

static void print_metrics(const trm_eval_result *r, const run_stats *st, const row_ctx *rc) {
    /* a diverged checkpoint's loss is NaN: JSON_NUM prints null */
    printf("\"examples\":%lld,\"steps\":%d,\"exact_accuracy\":%s,\"accuracy\":%s,"
           "\"q_halt_accuracy\":%s,\"lm_loss\":%s",
           (long long)r->examples, r->n_steps, JSON_NUM(r->exact_accuracy), JSON_NUM(r->accuracy),
           JSON_NUM(r->q_halt_accuracy), JSON_NUM(r->lm_loss));
    printf(",\"H_cycles\":%d,\"L_cycles\":%d,\"flops_per_step\":%s", st->H_cycles, st->L_cycles, JSON_NUM(st->step_flops));
    if (rc->task) printf(",\"task\":\"%s\"", rc->task->name);
    if (st->checked)
        printf(",\"verified_rate\":%s,\"verified\":%lld", JSON_NUM((double)st->verified / (double)st->checked),
               (long long)st->verified);
    if (rc->png_dir) printf(",\"rendered_wrong\":%d", st->rendered);
    if (st->search.task) trm_search_print_json(stdout, &st->search);
    if (r->exact_by_step) {
        printf(",\"by_step\":[");
        for (int i = 0; i < r->n_steps; i++)
            printf("%s{\"step\":%d,\"exact_accuracy\":%s,\"accuracy\":%s}", i ? "," : "", i + 1,
                   JSON_NUM(r->exact_by_step[i]), JSON_NUM(r->accuracy_by_step[i]));
        printf("]");
    }
}

/* The opening of the report: paths are escaped (a file name may hold
 * quotes or control characters). */
static void print_source(const char *ck, const eval_args *a) {
    printf("{");
    if (ck) {
        printf("\"checkpoint\":");
        json_put_string(stdout, ck);
        printf(",");
    }
    printf("\"data\":");
    json_put_string(stdout, a->data);
    printf(",\"split\":");
    json_put_string(stdout, a->split);
    printf(",");
}

/* ------------------------------------------------------------ main */

/* The progress line (on stderr, rewritten after each batch). */
static void print_progress(void *ctx, int64_t seen, int64_t total, double exact) {
    (void)ctx;
    fprintf(stderr, "\reval: %lld/%lld examples, exact %.4f", (long long)seen, (long long)total, exact);
}

/* Evaluates one checkpoint; its metrics go to *r (and its rows to the
 * task's scorer, ctx->scorer). */
static int run_one(const char *ck, const eval_args *a, const trm_split *s, row_ctx *ctx,
                   trm_eval_result *r) {
    trm_err e;
    trm_model *m = cli_checkpoint_load(ck, &e);
    if (!m) return die("eval", "%s", e.msg);
    int rc = check_fit(ck, a, trm_split_meta(s), trm_model_config(m));
    if (rc == 0 && trm_search_cli_apply_cycles(&a->search, m, &e)) rc = die("eval", "%s", e.msg);
    ctx->cur->H_cycles = trm_model_config(m)->H_cycles, ctx->cur->L_cycles = trm_model_config(m)->L_cycles;
    ctx->cur->step_flops = trm_step_flops(trm_model_config(m), 1, TRM_EVAL);
    char what[64]; /* the weights are loaded: what is left to allocate is a batch's activations */
    snprintf(what, sizeof what, "evaluating at batch %lld", a->batch);
    if (rc == 0) rc = cli_memory_check("eval", (double)trm_act_memory_bytes(trm_model_config(m), (int)a->batch, TRM_EVAL), what, a->no_memcheck);
    if (rc == 0 && !ctx->task) rc = pick_task(a, trm_model_config(m), &ctx->task);
    if (rc == 0 && a->render_wrong && !ctx->task) rc = die("eval", "--render-wrong: no task for this checkpoint (give --task)");
    ctx->seq_len = trm_model_config(m)->seq_len;
    trm_eval_opts o = {.steps = (int)a->steps, .batch = (int)a->batch, .max_examples = a->max_ex,
                       .per_step = a->per_step, .on_row = on_row, .row_ctx = ctx,
                       .on_progress = a->quiet ? NULL : print_progress};
    /* the one place a batch solver is chosen: o.solve (plain recursion when NULL) */
    if (rc == 0 && a->search.on) { /* test-time search (src/search) */
        trm_search_cli sc = a->search;
        if (trm_search_cli_finish(&sc, trm_model_config(m), &e)) rc = die("eval", "%s", e.msg);
        else if (!ctx->task) rc = die("eval", "--search: no task for this checkpoint (give --task)");
        ctx->cur->search = (trm_search_eval_ctx){.opts = sc.o, .task = ctx->task, .max_puzzles = a->max_ex};
        o.solve = trm_search_eval_solve;
        o.solve_ctx = &ctx->cur->search;
    }
    if (rc == 0) {
        int erc = trm_evaluate_opts(m, s, &o, r, &e);
        if (!a->quiet) fputc('\n', stderr); /* ends the progress line */
        if (erc) rc = die("eval", "%s", e.msg);
    }
    trm_model_free(m);
    return rc;
}

static int finish_scoring(const eval_args *a, const row_ctx *ctx) {
    trm_err e;
    if (a->submission && ctx->task->scorer->write_submission(ctx->scorer, a->submission, &e))
        return die("eval", "%s", e.msg);
    return 0;
}

static int open_all(const eval_args *a, trm_split **s, row_ctx *ctx) {
    trm_err e;
    if (!(*s = trm_split_open(a->data, a->split, &e))) return die("eval", "%s", e.msg);
    const trm_task *st = scoring_task(a, trm_split_meta(*s));
    if (a->submission && !(st && st->scorer->write_submission)) return no_submission(a);
    if (st && !(ctx->scorer = st->scorer->open(a->data, &e))) return die("eval", "%s", e.msg);
    if (st) ctx->task = st;
    if (a->png_dir && cli_make_dir("eval", "--png-dir", a->png_dir)) return 1;
    ctx->render_left = a->render_wrong;
    ctx->png_dir = a->png_dir;
    return 0;
}

int cmd_eval(int argc, char **argv) {
    eval_args a;
    int prc = parse_args(argc, argv, &a);
    if (prc) return prc < 0 ? 0 : prc;
    trm_split *s = NULL;
    row_ctx ctx = {0};
    trm_eval_result *res = calloc((size_t)a.n_ck, sizeof *res);
    run_stats *st = calloc((size_t)a.n_ck, sizeof *st);
    int rc = res && st ? open_all(&a, &s, &ctx) : die("eval", "out of memory");
    for (int i = 0; rc == 0 && i < a.n_ck; i++) {
        ctx.cur = &st[i];
        rc = run_one(a.cks[i], &a, s, &ctx, &res[i]);
    }
    if (rc == 0 && ctx.scorer) rc = finish_scoring(&a, &ctx);
    if (rc == 0) {
        if (a.n_ck == 1) {
            print_source(a.cks[0], &a);
            print_metrics(&res[0], &st[0], &ctx);
        } else {
            print_source(NULL, &a);
            printf("\"runs\":[");
            for (int i = 0; i < a.n_ck; i++) {
                printf("%s{\"checkpoint\":", i ? "," : "");
                json_put_string(stdout, a.cks[i]);
                printf(",");
                print_metrics(&res[i], &st[i], &ctx);
                printf("}");
            }
            printf("]");
        }
        if (ctx.scorer) ctx.task->scorer->print_json(ctx.scorer, stdout, a.n_ck, a.submission);
        printf("}\n");
    }
    for (int i = 0; res && i < a.n_ck; i++) trm_eval_result_free(&res[i]);
    free(res);
    free(st);
    if (ctx.scorer) ctx.task->scorer->free(ctx.scorer);
    trm_split_close(s);
    return rc;
}
