/* cmd_solve.c - `trm solve`: puzzles of any task -> the model's answer,
 * its confidence and whether the task's checker accepts it.
 *
 * One-line puzzles (Sudoku, 4x4 Sudoku, Maze: anything with a parse) come
 * from the command line, a file or stdin. Families whose puzzles are files
 * (ARC task JSON) give file hooks (trm_task_file_ops, task.h): the rows
 * they lay out are solved here, and the task votes and words the answers
 * (ARC: every augmented version of the task, inverted and voted on as the
 * ARC evaluator does, spec 5.2). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "render/render.h"
#include "cli/search_cli.h"
#include "tasks/task.h"
#include "io/jsonout.h"
#include "trm.h"

#define MAX_BATCH 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm solve --checkpoint CK [PUZZLE | --file FILE | -] [options]\n"
            "       trm solve --checkpoint CK --data DIR TASK.json [options]      (ARC)\n\n"
            "Solves puzzles of the checkpoint's task and prints each board, the confidence\n"
            "sigmoid(q_halt), the steps run and whether the task's checker accepts the answer\n"
            "(Sudoku: obeys the rules; Maze: a valid shortest path), and whether it matches\n"
            "the given answer when there is one. One-line puzzles: Sudoku 81 characters ('.'\n"
            "or '0' blank), 4x4 Sudoku 16, Maze n*n characters of \"# SGo\"; files hold one\n"
            "per line, '#' comments, or question,answer CSV.\n\n"
            "ARC: TASK.json ({\"train\": [...], \"test\": [...]}) must be a task the model was\n"
            "trained on: DIR is its dataset, whose identifiers.json lists the task's augmented\n"
            "versions. Each version's test inputs are solved, inverted and voted on (votes of\n"
            "this run only); the two best grids are printed as attempt 1 and 2, and checked\n"
            "when the file has test outputs.\n\n"
            "  --checkpoint CK   the model\n"
            "  --file FILE       puzzles from FILE ('-' = stdin; also the default without PUZZLE)\n"
            "  --task NAME       sudoku, sudoku4, maze or arc (default: from the checkpoint)\n"
            "  --data DIR        ARC: the dataset the model was trained on\n"
            "  --steps K         supervision steps (default: halt_max_steps)\n"
            "  --json            one JSON object per puzzle on stdout instead of boards\n"
            "  --color MODE      auto, always or never (default: auto)\n"
            "  --png FILE        draw input | prediction | truth of the one puzzle to FILE\n"
            "  --png-dir DIR     draw every puzzle to DIR/puzzle-NNNN.png (ARC: DIR/<task>-test-N.png)\n"
            CLI_MEMCHECK_HELP
            "Impossible puzzles (givens that break the rules, no solution, an answer that\n"
            "contradicts the givens) get a warning line on stderr and \"impossible\" in --json,\n"
            "and are not counted as solved. Lines longer than 64 KiB or holding NUL bytes are\n"
            "errors.\n");
    trm_search_cli_help(out); /* --search (one-line tasks) */
}

typedef struct {
    const char *ck, *file, *arg, *task_name, *data, *png, *png_dir;
    int steps;
    bool json, color, no_memcheck;
    trm_search_cli search;        /* --search options */
} solve_opts;

typedef struct { int n, valid, checked, with_answer, correct, impossible; long cells, cells_right; } tally;

/* ------------------------------------------------------------ options */

static int parse_opts(int argc, char **argv, solve_opts *o) {
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"file", required_argument, 0, 'f'},
        {"steps", required_argument, 0, 'k'}, {"json", no_argument, 0, 'j'},
        {"color", required_argument, 0, 'C'}, {"task", required_argument, 0, 't'},
        {"data", required_argument, 0, 'd'}, {"png", required_argument, 0, 'p'},
        {"png-dir", required_argument, 0, 'P'}, {"ignore-memory-check", no_argument, 0, 'I'}, TRM_SEARCH_LONG_OPTIONS, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *color = "auto";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:f:k:jC:t:d:p:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->ck = optarg; break;
        case 'f': o->file = optarg; break;
        case 'k': if (opt_int("solve", "--steps", optarg, 1, 100000, &o->steps)) return 1; break;
        case 'j': o->json = true; break;
        case 'C': color = optarg; if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) return die("solve", "--color: expected auto, always or never, got '%s'", optarg); break;
        case 't': o->task_name = optarg; break;
        case 'd': o->data = optarg; break;
        case 'p': o->png = optarg; break;
        case 'P': o->png_dir = optarg; break;
        case 'I': o->no_memcheck = true; break;
        case 'h': usage(stdout); return -1;
        default: { /* the --search options, else unknown */
            trm_err e;
            int r = trm_search_cli_parse(&o->search, c, optarg, &e);
            if (r < 0) return die("solve", "%s", e.msg);
            if (r > 0) return bad_option("solve", argc, argv);
            break;
        }
        }
    }
    o->color = !strcmp(color, "always") || (!strcmp(color, "auto") && isatty(1));
    if (!o->ck) return die("solve", "--checkpoint is required (see trm solve --help)");
    if (o->search.any && !o->search.on) return die("solve", "search options (--budget, --search-policy, ...) need --search");
    if (optind < argc && !o->file) {
        if (optind + 1 < argc) return die("solve", "unexpected argument '%s'", argv[optind + 1]);
        o->arg = argv[optind];
        if (!strcmp(o->arg, "-")) o->file = "-", o->arg = NULL;
    } else if (optind < argc) return die("solve", "unexpected argument '%s'", argv[optind]);
    if (o->png && o->png_dir) return die("solve", "give --png FILE or --png-dir DIR, not both");
    return 0;
}

/* ------------------------------------------------------------ solving */

/* One batch: trm_solve's `steps` plain supervision steps from a fresh
 * carry; pred gets the answer tokens, q_halt the halting logits. (A
 * test-time search replaces this call.) */
static int solve_batch(trm_model *m, trm_act *a, const trm_batch *bt, int steps, int32_t *pred,
                       float *q_halt, trm_err *err) {
    trm_solve_opts so = {.max_steps = steps};
    trm_solve_out out = {.tokens = pred, .q_halt = q_halt};
    return trm_solve(m, a, bt, &so, &out, err);
}

/* A batch runner over n rows of inputs (and puzzle ids, may be NULL):
 * fills pred [n, S] and q [n] chunk by chunk. */
static int solve_rows(trm_model *m, trm_act *a, int n, const int32_t *in, const int32_t *pid,
                      int steps, int32_t *pred, float *q, trm_err *err) {
    int B = trm_act_batch(a), S = trm_model_config(m)->seq_len;
    int32_t *bin = malloc(sizeof(int32_t) * (size_t)B * S), *bpid = malloc(sizeof(int32_t) * (size_t)B);
    int32_t *bpred = malloc(sizeof(int32_t) * (size_t)B * S);
    float *bq = malloc(sizeof(float) * (size_t)B);
    int rc = bin && bpid && bpred && bq ? 0 : trm_errf(err, "out of memory");
    for (int r0 = 0; rc == 0 && r0 < n; r0 += B) {
        int k = n - r0 < B ? n - r0 : B;
        for (int b = 0; b < B; b++) {  /* spare rows repeat the first: same cost, ignored */
            int src = r0 + (b < k ? b : 0);
            memcpy(bin + (size_t)b * S, in + (size_t)src * S, sizeof(int32_t) * (size_t)S);
            bpid[b] = pid ? pid[src] : 0;
        }
        trm_batch bt = {B, bin, NULL, bpid};
        rc = solve_batch(m, a, &bt, steps, bpred, bq, err);
        if (rc == 0) {
            memcpy(pred + (size_t)r0 * S, bpred, sizeof(int32_t) * (size_t)k * S);
            memcpy(q + r0, bq, sizeof(float) * (size_t)k);
        }
    }
    free(bin); free(bpid); free(bpred); free(bq);
    return rc;
}

/* The batch runner's state; first the memory check (the weights are
 * loaded: what is left is a batch's activations). */
static int prepare_model(trm_model *m, int n, bool no_memcheck, trm_act **a, trm_err *err) {
    int B = n < MAX_BATCH ? n : MAX_BATCH;
    B = B < 1 ? 1 : B;
    char what[64];
    snprintf(what, sizeof what, "solving at batch %d", B);
    if (!no_memcheck && util_mem_check((double)trm_act_memory_bytes(trm_model_config(m), B, TRM_EVAL), what, err)) return -1;
    *a = trm_act_new(m, B, TRM_EVAL, 0, err);
    return *a ? 0 : -1;
}

/* ------------------------------------------------------------ puzzles */

typedef struct {
    int n, cap, S;
    int32_t *in, *lab;
    bool *has;
    int *line;       /* source line of each puzzle (0: the command line) */
    const char *src; /* the file, for messages */
} puzzle_list;

static void puzzles_free(puzzle_list *p) { free(p->in); free(p->lab); free(p->has); free(p->line); }

static int puzzles_grow(puzzle_list *p) {
    if (p->n < p->cap) return 0;
    int cap = p->cap ? p->cap * 2 : 64;
    int32_t *in = realloc(p->in, sizeof(int32_t) * (size_t)cap * p->S);
    if (in) p->in = in;
    int32_t *lab = in ? realloc(p->lab, sizeof(int32_t) * (size_t)cap * p->S) : NULL;
    if (lab) p->lab = lab;
    bool *has = lab ? realloc(p->has, sizeof(bool) * (size_t)cap) : NULL;
    if (has) p->has = has;
    int *line = has ? realloc(p->line, sizeof(int) * (size_t)cap) : NULL;
    if (line) p->line = line;
    if (!line) return -1;
    p->cap = cap;
    return 0;
}

/* One puzzle line -> tokens, by the task's line parser where it has one. */
static int parse_one(const trm_task *t, const char *text, int S, int32_t *in, int32_t *lab,
                     bool *has, trm_err *err) {
    return (t->parse_line ? t->parse_line : t->parse)(text, S, in, lab, has, err);
}

static int add_puzzle(const trm_task *t, puzzle_list *p, const char *text, int lineno, trm_err *err) {
    if (puzzles_grow(p)) return trm_errf(err, "out of memory");
    size_t off = (size_t)p->n * p->S;
    if (parse_one(t, text, p->S, p->in + off, p->lab + off, &p->has[p->n], err)) return -1;
    p->line[p->n++] = lineno;
    return 0;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static bool blank_or_header(const char *line) {
    const char *p = skip_space(line);
    return *p == '\n' || *p == '\r' || *p == 0 || !strncmp(p, "question", 8);
}

/* A line is handed to the task's parser as it is (leading spaces are maze
 * cells); one starting with '#' that does not parse is a comment ('#' is
 * also a maze wall). */
static int read_line(const trm_task *t, puzzle_list *p, const char *line, int lineno, trm_err *err) {
    if (blank_or_header(line)) return 0;
    if (*skip_space(line) != '#') return add_puzzle(t, p, line, lineno, err);
    trm_err ignored;
    int n = p->n;
    if (add_puzzle(t, p, line, lineno, &ignored)) p->n = n;
    return 0;
}

/* Room for one line: 64 KiB, or more for boards whose question,answer
 * line is longer (a 200 x 200 maze). A longer line is an error, not a
 * reason to read a whole binary file into memory. */
static size_t line_cap(int S) {
    size_t need = 2 * (size_t)S + 1024;
    return (need > TRM_LINE_MAX ? need : TRM_LINE_MAX) + 1;
}

static int read_puzzles(const trm_task *t, const char *src, puzzle_list *p) {
    trm_err e;
    FILE *f = util_open_text(src, &e);
    if (!f) return die("solve", "%s", e.msg);
    size_t cap = line_cap(p->S);
    char *line = malloc(cap);
    int lineno = 0, rc = line ? 0 : die("solve", "out of memory"), got;
    p->src = src;
    while (rc == 0 && (got = util_read_line(f, line, cap, &e)) != 0) {
        lineno++;
        if (got < 0 || read_line(t, p, line, lineno, &e)) rc = die("solve", "%s:%d: %s", src, lineno, e.msg);
    }
    free(line);
    if (f != stdin) fclose(f);
    if (rc == 0 && p->n == 0) rc = die("solve", "%s: no puzzles found", src);
    return rc;
}

/* ------------------------------------------------------------ impossible puzzles */

/* Why puzzle i cannot be solved (contradictory givens, no solution, an
 * answer that breaks the rules), or NULL. */
static const char *impossible(const trm_task *t, const puzzle_list *p, int i, char *buf, size_t n) {
    int S = p->S;
    const int32_t *in = p->in + (size_t)i * S, *lab = p->lab + (size_t)i * S;
    const char *why = t->impossible ? t->impossible(in, lab, p->has[i], S, buf, n) : NULL;
    if (why) return why;
    int viol = p->has[i] && t->verify ? t->verify(in, lab, S) : 0;
    if (viol > 0) return snprintf(buf, n, "the answer breaks the rules (%d violations)", viol), buf;
    return NULL;
}

/* The warning line of an impossible puzzle: where it is and why. */
static void warn_impossible(const puzzle_list *p, int i, const char *why) {
    if (p->line[i] > 0) fprintf(stderr, "trm solve: %s:%d: puzzle %d is impossible: %s (not counted as solved)\n", p->src, p->line[i], i + 1, why);
    else fprintf(stderr, "trm solve: puzzle argument is impossible: %s (not counted as solved)\n", why);
}

/* ------------------------------------------------------------ reporting */

/* Words for the checker's verdict and the cells worth counting. */
static void task_words(const trm_task *t, const char **ok, const char **bad, const char **cells) {
    *ok = t->valid_word, *bad = t->invalid_word, *cells = t->cells_word;
}

static int png_path(const solve_opts *o, int idx, char *buf, size_t cap) {
    if (o->png) return snprintf(buf, cap, "%s", o->png), 1;
    if (o->png_dir) return snprintf(buf, cap, "%s/puzzle-%04d.png", o->png_dir, idx + 1), 1;
    return 0;
}

static int draw_png(const solve_opts *o, const trm_task *t, int S, int idx, const int32_t *in,
                    const int32_t *pred, const int32_t *lab, bool has) {
    char path[4096];
    if (!png_path(o, idx, path, sizeof path)) return 0;
    trm_board_view v[3] = {{in, "input"}, {pred, "prediction"}, {lab, "truth"}};
    trm_err e;
    if (render_board_png(path, t, S, in, has ? lab : NULL, v, has ? 3 : 2, &e)) return die("solve", "%s", e.msg);
    return 0;
}

static void print_board(const trm_task *t, int S, const int32_t *in, const int32_t *pred,
                        const int32_t *lab, bool has, bool color) {
    if (t->print) {
        t->print(stdout, in, pred, lab, has, color);
        return;
    }
    trm_board_view v[2] = {{in, "input"}, {pred, "prediction"}};
    render_board_text(stdout, t, S, in, has ? lab : NULL, v, 2, color);
}

/* ,"key":v with null for NaN and infinities (a diverged model's q_halt). */
static void json_field(const char *key, double v) { printf(",\"%s\":%s", key, JSON_NUM(v)); }

static void print_json(const trm_task *t, int S, const int32_t *pred, double conf, int steps, int viol,
                       bool has, bool match, const char *why, const trm_search_result *sr) {
    char *text = malloc((size_t)S * 2 + 64);
    if (!text) return;
    t->format(pred, S, text);
    printf("{\"solution\":\"%s\"", text);
    json_field("confidence", conf);
    printf(",\"steps\":%d", steps);
    if (viol >= 0) printf(",\"valid\":%s,\"violations\":%d", viol == 0 ? "true" : "false", viol);
    if (has) printf(",\"correct\":%s", match ? "true" : "false");
    if (why) printf(",\"impossible\":\"%s\"", why); /* our own words: nothing to escape */
    if (sr) trm_search_print_result_json(stdout, sr);
    printf("}\n");
    free(text);
}

static void count(tally *tl, int S, const int32_t *in, const int32_t *pred, const int32_t *lab, bool has,
                  int viol, bool match, bool impossible) {
    tl->n++;
    tl->impossible += impossible;
    if (impossible) return; /* its "answer" is not a solution, whatever the model says */
    tl->checked += viol >= 0;
    tl->valid += viol == 0;
    if (!has) return;
    tl->with_answer++;
    tl->correct += match;
    for (int i = 0; i < S; i++)
        if (in[i] != lab[i]) { tl->cells++; tl->cells_right += pred[i] == lab[i]; }
}

static int report(const trm_task *t, const puzzle_list *p, int i, const int32_t *pred, float q,
                  int steps, const solve_opts *o, tally *tl, const trm_search_result *sr) {
    int S = p->S;
    const int32_t *in = p->in + (size_t)i * S, *lab = p->lab + (size_t)i * S;
    bool has = p->has[i], match = has && !memcmp(pred, lab, sizeof(int32_t) * (size_t)S);
    int viol = t->verify ? t->verify(in, pred, S) : -1;
    double conf = 1.0 / (1.0 + exp(-(double)q));
    char buf[160];
    const char *why = impossible(t, p, i, buf, sizeof buf);
    if (why) warn_impossible(p, i, why);
    count(tl, S, in, pred, lab, has, viol, match, why != NULL);
    if (draw_png(o, t, S, i, in, pred, lab, has)) return 1;
    if (o->json) { print_json(t, S, pred, conf, steps, viol, has, match, why, sr); return 0; }
    const char *ok, *bad, *cells;
    task_words(t, &ok, &bad, &cells);
    print_board(t, S, in, pred, lab, has, o->color);
    printf("confidence %.4f | steps %d", conf, steps);
    if (viol >= 0) printf(" | %s", viol == 0 ? ok : bad);
    if (viol > 0) printf(" (%d violations)", viol);
    if (has) printf(" | %s", match ? "matches the answer" : "differs from the answer");
    if (sr) printf(" | search: %d branches, answer from a %s branch", sr->branches, trm_branch_name(sr->found_by));
    if (why) printf(" | impossible puzzle: %s", why);
    printf("\n\n");
    return 0;
}

static void summary(const trm_task *t, const tally *tl, bool json, double secs, int steps, int B) {
    const char *ok, *bad, *cells;
    task_words(t, &ok, &bad, &cells);
    FILE *sum = json ? stderr : stdout;
    fprintf(sum, "%d puzzles", tl->n);
    if (tl->checked) fprintf(sum, ": %d obey the rules", tl->valid);
    if (tl->impossible) fprintf(sum, "; %d impossible (not counted as solved)", tl->impossible);
    if (tl->with_answer)
        fprintf(sum, "; %d/%d match the known answer (%.1f%%), %.1f%% of %s right", tl->correct,
                tl->with_answer, 100.0 * tl->correct / tl->with_answer,
                tl->cells ? 100.0 * tl->cells_right / tl->cells : 100.0, cells);
    fprintf(sum, "; %.1f ms per puzzle (%d supervision steps, batches of %d)\n", 1000 * secs / tl->n, steps, B);
}

/* ------------------------------------------------------------ one-line tasks */

/* --search over all puzzles (src/search): answers into pred, halting
 * logits into q, per-puzzle results into *sr (malloc'd). */
static int search_lines(trm_model *m, const trm_task *t, trm_act *a, const puzzle_list *p, const solve_opts *o,
                        int steps, int32_t *pred, float *q, trm_search_result **sr, trm_search_stats *st,
                        int64_t *budget) {
    trm_err e;
    trm_search_cli sc = o->search;
    /* Kx budgets count in the solve's steps when --steps goes past halt_max_steps */
    trm_config cfg = *trm_model_config(m);
    if (cfg.halt_max_steps < steps) cfg.halt_max_steps = steps;
    if (trm_search_cli_finish(&sc, &cfg, &e)) return die("solve", "%s", e.msg);
    if (sc.o.branch_steps == 0) sc.o.branch_steps = steps;
    if (!(*sr = calloc((size_t)p->n, sizeof **sr))) return die("solve", "out of memory");
    if (trm_search_run(m, a, t, p->in, NULL, p->n, 0, &sc.o, pred, *sr, st, &e)) return die("solve", "%s", e.msg);
    for (int i = 0; i < p->n; i++) q[i] = (*sr)[i].q_logit;
    *budget = sc.o.budget;
    return 0;
}

static int solve_lines(trm_model *m, const trm_task *t, const solve_opts *o) {
    puzzle_list p = {.S = trm_model_config(m)->seq_len};
    trm_err e;
    int rc = 0;
    if (o->arg) {
        if (add_puzzle(t, &p, o->arg, 0, &e)) rc = die("solve", "puzzle argument: %s", e.msg);
    } else rc = read_puzzles(t, o->file ? o->file : "-", &p);
    if (rc == 0 && o->png && p.n != 1) rc = die("solve", "--png draws one puzzle, %d given: use --png-dir DIR", p.n);
    int steps = o->steps ? o->steps : trm_model_config(m)->halt_max_steps;
    trm_act *a = NULL;
    int32_t *pred = rc ? NULL : malloc(sizeof(int32_t) * (size_t)p.n * p.S);
    float *q = rc ? NULL : malloc(sizeof(float) * (size_t)p.n);
    if (rc == 0 && (!pred || !q)) rc = die("solve", "out of memory");
    if (rc == 0 && prepare_model(m, p.n, o->no_memcheck, &a, &e)) rc = die("solve", "%s", e.msg);
    double t0 = util_now_s();
    trm_search_result *sr = NULL; /* --search: the search replaces the plain batch runner */
    trm_search_stats sst = {0};
    int64_t budget = 0;
    if (rc == 0 && o->search.on) rc = search_lines(m, t, a, &p, o, steps, pred, q, &sr, &sst, &budget);
    else if (rc == 0 && solve_rows(m, a, p.n, p.in, NULL, steps, pred, q, &e)) rc = die("solve", "%s", e.msg);
    double secs = util_now_s() - t0;
    tally tl = {0};
    for (int i = 0; rc == 0 && i < p.n; i++)
        rc = report(t, &p, i, pred + (size_t)i * p.S, q[i], sr ? (int)sr[i].evals : steps, o, &tl, sr ? &sr[i] : NULL);
    if (rc == 0) summary(t, &tl, o->json, secs, steps, trm_act_batch(a));
    if (rc == 0 && sr) trm_search_print_summary(o->json ? stderr : stdout, &sst, budget);
    free(sr);
    trm_act_free(a);
    free(pred); free(q);
    puzzles_free(&p);
    return rc;
}

/* ------------------------------------------------------------ puzzle files (ARC) */

/* Draws answer a: to its picture (--png, --png-dir), or as text on stdout. */
static int file_draw(const solve_opts *o, const trm_task *t, int S, const trm_task_answer *a, bool text) {
    trm_board_view v[4];
    for (int k = 0; k < a->n_boards; k++) v[k] = (trm_board_view){a->board[k], a->label[k]};
    if (text) {
        render_board_text(stdout, t, S, a->given, a->truth, v, a->n_boards, o->color);
        return 0;
    }
    char path[4096];
    if (o->png) snprintf(path, sizeof path, "%s", o->png);
    else if (o->png_dir) snprintf(path, sizeof path, "%s/%s.png", o->png_dir, a->name);
    else return 0;
    trm_err e;
    if (render_board_png(path, t, S, a->given, a->truth, v, a->n_boards, &e)) return die("solve", "%s", e.msg);
    return 0;
}

static int file_report(const solve_opts *o, const trm_task *t, int S, const trm_task_answer *a) {
    if (file_draw(o, t, S, a, false)) return 1;
    if (o->json) {
        printf("%s\n", a->json);
        return 0;
    }
    printf("%s\n", a->title);
    file_draw(o, t, S, a, true);
    printf("%s\n\n", a->verdict);
    return 0;
}

/* Solves the rows the task lays out for the file and hands it the answers. */
static int file_run(trm_model *m, const trm_task *t, trm_task_file *f, const solve_opts *o, int steps) {
    const int32_t *in, *pid;
    int n, S = trm_model_config(m)->seq_len;
    trm_err e;
    if (t->file->prepare(f, o->data, trm_model_config(m)->num_puzzle_identifiers, &in, &pid, &n, &e)) return die("solve", "%s", e.msg);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n * S);
    float *q = malloc(sizeof(float) * (size_t)n);
    trm_act *a = NULL;
    int rc = pred && q ? 0 : die("solve", "out of memory");
    if (rc == 0 && prepare_model(m, n, o->no_memcheck, &a, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0 && solve_rows(m, a, n, in, pid, steps, pred, q, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0 && t->file->add(f, pred, q, &e)) rc = die("solve", "%s", e.msg);
    trm_act_free(a);
    free(pred);
    free(q);
    return rc;
}

static int solve_file(trm_model *m, const trm_task *t, const solve_opts *o) {
    const trm_task_file_ops *ops = t->file;
    const char *file = o->arg ? o->arg : o->file;
    if (!o->data) return die("solve", "%s", ops->need_data);
    if (!file || !strcmp(file, "-")) return die("solve", "%s", ops->need_file);
    if (o->search.on) return die("solve", "%s", ops->no_search);
    trm_err e;
    trm_task_file *f = ops->open(file, &e);
    if (!f) return die("solve", "%s", e.msg);
    int rc = 0, n_in = ops->n_inputs(f);
    if (o->png && n_in != 1) rc = die("solve", "--png draws one test input, %s has %d: use --png-dir DIR", file, n_in);
    int steps = o->steps ? o->steps : trm_model_config(m)->halt_max_steps;
    if (rc == 0) rc = file_run(m, t, f, o, steps);
    for (int j = 0; rc == 0 && j < n_in; j++) {
        trm_task_answer a;
        rc = ops->answer(f, j, &a, &e) ? die("solve", "%s", e.msg) : file_report(o, t, trm_model_config(m)->seq_len, &a);
    }
    ops->free(f);
    return rc;
}

/* ------------------------------------------------------------ main */

static int pick_task(const solve_opts *o, const trm_model *m, const trm_task **t) {
    const trm_config *c = trm_model_config(m);
    *t = o->task_name ? trm_task_by_name(o->task_name) : trm_task_detect(c->vocab_size, c->seq_len);
    if (o->task_name && !*t) return die("solve", "--task: unknown task '%s'", o->task_name);
    if (!*t) return die("solve", "%s: no task has vocab %d and seq_len %d (give --task)", o->ck, c->vocab_size, c->seq_len);
    int r, cc;
    if ((*t)->vocab_size != c->vocab_size || !(*t)->board(c->seq_len, &r, &cc))
        return die("solve", "%s: not a %s model (seq_len %d, vocab %d)", o->ck, (*t)->name, c->seq_len, c->vocab_size);
    return 0;
}

static int check_png_dir(const char *dir) {
    if (!dir) return 0;
    return cli_make_dir("solve", "--png-dir", dir);
}

/* --png FILE: its folder must exist, checked before the work rather than
 * after it. */
static int check_png_file(const char *path) {
    if (!path) return 0;
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path) snprintf(dir, sizeof dir, "/");
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return die("solve", "--png %s: no directory %s", path, dir);
    return 0;
}

int cmd_solve(int argc, char **argv) {
    solve_opts o = {0};
    trm_search_cli_init(&o.search);
    int rc = parse_opts(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    trm_err e;
    trm_model *m = cli_checkpoint_load(o.ck, &e);
    if (!m) return die("solve", "%s", e.msg);
    const trm_task *t = NULL;
    rc = pick_task(&o, m, &t);
    if (rc == 0 && trm_search_cli_apply_cycles(&o.search, m, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0) rc = check_png_dir(o.png_dir);
    if (rc == 0) rc = check_png_file(o.png);
    if (rc == 0) rc = t->file ? solve_file(m, t, &o) : solve_lines(m, t, &o);
    trm_model_free(m);
    return rc;
}
