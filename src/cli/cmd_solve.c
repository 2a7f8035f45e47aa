/* cmd_solve.c - `trm solve`: puzzles of any task -> the model's answer,
 * its confidence and whether the task's checker accepts it.
 *
 * One-line puzzles (Sudoku, 4x4 Sudoku, Maze: anything with a parse) come
 * from the command line, a file or stdin. An ARC task is a JSON file: its
 * test inputs are run through every augmented version the model was
 * trained on (found in the dataset's identifiers.json), the predictions
 * inverted and voted on as the ARC evaluator does (spec 5.2), and the two
 * best grids are the attempts. */
#include <errno.h>
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
#include "eval/arc_eval.h"
#include "render/render.h"
#include "search/search_cli.h"
#include "tasks/arc.h"
#include "tasks/maze.h"
#include "tasks/sudoku.h"
#include "tasks/sudoku4.h"
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

/* The one place a batch is solved: `steps` plain supervision steps from a
 * fresh carry; pred gets the argmax tokens, q_halt the halting logits.
 * (A test-time search replaces this call.) */
static int solve_batch(trm_model *m, trm_act *a, const trm_batch *bt, int steps, int32_t *pred,
                       float *q_halt, trm_err *err) {
    trm_act_reset(a);
    for (int s = 0; s < steps; s++)
        if (trm_act_step(m, a, bt, NULL, err)) return -1;
    int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    for (size_t i = 0; i < (size_t)bt->batch * S; i++) {
        const float *lg = a->logits + i * V;
        int best = 0;
        for (int v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
        pred[i] = best;
    }
    memcpy(q_halt, a->q_halt, sizeof(float) * (size_t)bt->batch);
    return 0;
}

/* A batch runner over n rows of inputs (and puzzle ids, may be NULL):
 * fills pred [n, S] and q [n] chunk by chunk. */
static int solve_rows(trm_model *m, trm_act *a, int n, const int32_t *in, const int32_t *pid,
                      int steps, int32_t *pred, float *q, trm_err *err) {
    int B = a->batch, S = m->cfg.seq_len;
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
static int prepare_model(trm_model *m, int n, int steps, bool no_memcheck, trm_act **a, trm_err *err) {
    if (m->cfg.halt_max_steps < steps) m->cfg.halt_max_steps = steps;
    int B = n < MAX_BATCH ? n : MAX_BATCH;
    B = B < 1 ? 1 : B;
    char what[64];
    snprintf(what, sizeof what, "solving at batch %d", B);
    if (!no_memcheck && trm_mem_check((double)trm_act_memory_bytes(&m->cfg, B, TRM_EVAL), what, err)) return -1;
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

/* One puzzle line -> tokens; 9x9 Sudoku keeps its established parser
 * (quoted CSV fields and all). */
static int parse_one(const trm_task *t, const char *text, int S, int32_t *in, int32_t *lab,
                     bool *has, trm_err *err) {
    if (!strcmp(t->name, "sudoku")) {
        int8_t q[81], ans[81];
        if (sudoku_parse_line(text, q, ans, has, err)) return -1;
        sudoku_to_tokens(q, in);
        sudoku_to_tokens(ans, lab);
        return 0;
    }
    return t->parse(text, S, in, lab, has, err);
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
    FILE *f = trm_open_text(src, &e);
    if (!f) return die("solve", "%s", e.msg);
    size_t cap = line_cap(p->S);
    char *line = malloc(cap);
    int lineno = 0, rc = line ? 0 : die("solve", "out of memory"), got;
    p->src = src;
    while (rc == 0 && (got = trm_read_line(f, line, cap, &e)) != 0) {
        lineno++;
        if (got < 0 || read_line(t, p, line, lineno, &e)) rc = die("solve", "%s:%d: %s", src, lineno, e.msg);
    }
    free(line);
    if (f != stdin) fclose(f);
    if (rc == 0 && p->n == 0) rc = die("solve", "%s: no puzzles found", src);
    return rc;
}

/* ------------------------------------------------------------ impossible puzzles */

/* Sudoku (both sizes): why the puzzle cannot be solved, or NULL. The
 * answer's own checks come first: they name a cell. */
static const char *sudoku_impossible(const trm_task *t, const int32_t *in, const int32_t *lab, bool has, int S,
                                     char *buf, size_t n) {
    int blanks = 0;
    for (int i = 0; i < S; i++) blanks += in[i] == 1;
    /* verify without givens counts the blanks plus the repeated digits */
    int repeats = t->verify(NULL, in, S) - blanks;
    if (repeats > 0) return snprintf(buf, n, "the givens break the rules (%d repeated digits)", repeats), buf;
    int side = S == 16 ? 4 : 9;
    for (int i = 0; has && i < S; i++)
        if (in[i] != 1 && lab[i] != in[i])
            return snprintf(buf, n, "the answer contradicts the given at cell %d (row %d, column %d)", i + 1,
                            i / side + 1, i % side + 1), buf;
    int viol = has ? t->verify(in, lab, S) : 0;
    if (viol > 0) return snprintf(buf, n, "the answer breaks the rules (%d violations)", viol), buf;
    int8_t q[81];
    for (int i = 0; i < S; i++) q[i] = (int8_t)(in[i] - 1);
    if (!has && (S == 81 ? sudoku_solve(q, NULL, 1, NULL) : sudoku4_count(q)) == 0) return "the puzzle has no solution";
    return NULL;
}

/* Why puzzle i cannot be solved (contradictory givens, no solution, an
 * answer that breaks the rules), or NULL. */
static const char *impossible(const trm_task *t, const puzzle_list *p, int i, char *buf, size_t n) {
    int S = p->S;
    const int32_t *in = p->in + (size_t)i * S, *lab = p->lab + (size_t)i * S;
    if (!strncmp(t->name, "sudoku", 6)) return sudoku_impossible(t, in, lab, p->has[i], S, buf, n);
    if (!strcmp(t->name, "maze") && maze_solve(in, S, NULL, NULL) < 0) return "G cannot be reached from S";
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
    bool maze = !strcmp(t->name, "maze");
    *ok = maze ? "valid shortest path" : "valid solution";
    *bad = maze ? "not a valid shortest path" : "breaks the rules";
    *cells = maze ? "path cells" : strncmp(t->name, "sudoku", 6) ? "cells to fill" : "blank cells";
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
    if (trm_render_png(path, t, S, in, has ? lab : NULL, v, has ? 3 : 2, &e)) return die("solve", "%s", e.msg);
    return 0;
}

static void print_board(const trm_task *t, int S, const int32_t *in, const int32_t *pred,
                        const int32_t *lab, bool has, bool color) {
    if (!strcmp(t->name, "sudoku")) {
        int8_t grid[81], q[81], ans[81];
        sudoku_from_tokens(pred, grid);
        sudoku_from_tokens(in, q);
        sudoku_from_tokens(lab, ans);
        sudoku_print(stdout, grid, q, has ? ans : NULL, color);
        return;
    }
    trm_board_view v[2] = {{in, "input"}, {pred, "prediction"}};
    trm_render_text(stdout, t, S, in, has ? lab : NULL, v, 2, color);
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
    if (trm_search_cli_finish(&sc, &m->cfg, &e)) return die("solve", "%s", e.msg);
    if (sc.o.branch_steps == 0) sc.o.branch_steps = steps;
    if (!(*sr = calloc((size_t)p->n, sizeof **sr))) return die("solve", "out of memory");
    if (trm_search_run(m, a, t, p->in, NULL, p->n, 0, &sc.o, pred, *sr, st, &e)) return die("solve", "%s", e.msg);
    for (int i = 0; i < p->n; i++) q[i] = (*sr)[i].q_logit;
    *budget = sc.o.budget;
    return 0;
}

static int solve_lines(trm_model *m, const trm_task *t, const solve_opts *o) {
    puzzle_list p = {.S = m->cfg.seq_len};
    trm_err e;
    int rc = 0;
    if (o->arg) {
        if (add_puzzle(t, &p, o->arg, 0, &e)) rc = die("solve", "puzzle argument: %s", e.msg);
    } else rc = read_puzzles(t, o->file ? o->file : "-", &p);
    if (rc == 0 && o->png && p.n != 1) rc = die("solve", "--png draws one puzzle, %d given: use --png-dir DIR", p.n);
    int steps = o->steps ? o->steps : m->cfg.halt_max_steps;
    trm_act *a = NULL;
    int32_t *pred = rc ? NULL : malloc(sizeof(int32_t) * (size_t)p.n * p.S);
    float *q = rc ? NULL : malloc(sizeof(float) * (size_t)p.n);
    if (rc == 0 && (!pred || !q)) rc = die("solve", "out of memory");
    if (rc == 0 && prepare_model(m, p.n, steps, o->no_memcheck, &a, &e)) rc = die("solve", "%s", e.msg);
    double t0 = trm_now_s();
    trm_search_result *sr = NULL; /* --search: the search replaces the plain batch runner */
    trm_search_stats sst = {0};
    int64_t budget = 0;
    if (rc == 0 && o->search.on) rc = search_lines(m, t, a, &p, o, steps, pred, q, &sr, &sst, &budget);
    else if (rc == 0 && solve_rows(m, a, p.n, p.in, NULL, steps, pred, q, &e)) rc = die("solve", "%s", e.msg);
    double secs = trm_now_s() - t0;
    tally tl = {0};
    for (int i = 0; rc == 0 && i < p.n; i++)
        rc = report(t, &p, i, pred + (size_t)i * p.S, q[i], sr ? (int)sr[i].evals : steps, o, &tl, sr ? &sr[i] : NULL);
    if (rc == 0) summary(t, &tl, o->json, secs, steps, a->batch);
    if (rc == 0 && sr) trm_search_print_summary(o->json ? stderr : stdout, &sst, budget);
    free(sr);
    trm_act_free(a);
    free(pred); free(q);
    puzzles_free(&p);
    return rc;
}

/* ------------------------------------------------------------ ARC */

typedef struct {
    int n;
    int32_t *pid;
    int *t;
    uint8_t (*perm)[10];
} arc_versions;

static void versions_free(arc_versions *v) { free(v->pid); free(v->t); free(v->perm); }

/* The versions of task `id` in identifiers.json (the original and its
 * augmentations), checked against the model's table size. */
static int find_versions(const arc_names *names, const char *id, const char *dir, int n_table,
                         arc_versions *v) {
    v->pid = malloc(sizeof(int32_t) * (size_t)names->n);
    v->t = malloc(sizeof(int) * (size_t)names->n);
    v->perm = malloc(10 * (size_t)names->n);
    if (!v->pid || !v->t || !v->perm) return die("solve", "out of memory");
    char got[256];
    for (int i = 1; i < names->n; i++) {
        if (arc_parse_version(names->names[i], got, sizeof got, &v->t[v->n], v->perm[v->n])) continue;
        if (strcmp(got, id)) continue;
        if (i >= n_table)
            return die("solve", "%s/identifiers.json: id %d of task %s is outside the model's puzzle table (%d rows): not the dataset it was trained on",
                       dir, i, id, n_table);
        v->pid[v->n++] = i;
    }
    if (v->n == 0)
        return die("solve", "task %s is not in %s/identifiers.json: the model was not trained on it (ARC models only solve tasks of their dataset)",
                   id, dir);
    return 0;
}

/* Rows: every version x every test input, at (0, 0) as the test split. */
static int build_arc_rows(const arc_task *task, const arc_versions *v, int32_t **in, int32_t **pid) {
    int n = v->n * task->n_test;
    *in = malloc(sizeof(int32_t) * (size_t)n * ARC_SEQ_LEN);
    *pid = malloc(sizeof(int32_t) * (size_t)n);
    if (!*in || !*pid) return die("solve", "out of memory");
    for (int k = 0; k < v->n; k++)
        for (int j = 0; j < task->n_test; j++) {
            int r = k * task->n_test + j;
            arc_grid g;
            arc_aug_apply(&task->test[j].in, v->t[k], v->perm[k], &g);
            arc_encode(&g, 0, 0, *in + (size_t)r * ARC_SEQ_LEN);
            (*pid)[r] = v->pid[k];
        }
    return 0;
}

static void json_grid(const arc_grid *g) {
    printf("[");
    for (int r = 0; r < g->rows; r++) {
        printf("%s[", r ? "," : "");
        for (int c = 0; c < g->cols; c++) printf("%s%d", c ? "," : "", ARC_AT(g, r, c));
        printf("]");
    }
    printf("]");
}

typedef struct {
    const arc_task *task;
    int test, n_cand, versions;
    arc_candidate top[2];
    bool known, right[2];
} arc_answer;

static void arc_print_json(const arc_answer *r) {
    printf("{\"task\":\"%s\",\"test\":%d,\"versions\":%d,\"candidates\":%d", r->task->id, r->test,
           r->versions, r->n_cand);
    for (int k = 0; k < 2; k++) {
        printf(",\"attempt_%d\":", k + 1);
        json_grid(&r->top[k].grid);
        char key[16];
        snprintf(key, sizeof key, "confidence_%d", k + 1);
        printf(",\"votes_%d\":%d", k + 1, r->top[k].votes);
        json_field(key, r->top[k].conf);
    }
    if (r->known) printf(",\"correct\":%s", r->right[0] || r->right[1] ? "true" : "false");
    printf("}\n");
}

static int arc_draw(const solve_opts *o, const trm_task *t, const arc_answer *r, bool text) {
    int32_t tok[4][ARC_SEQ_LEN];
    const arc_pair *pair = &r->task->test[r->test];
    arc_encode(&pair->in, 0, 0, tok[0]);
    arc_encode(&r->top[0].grid, 0, 0, tok[1]);
    arc_encode(&r->top[1].grid, 0, 0, tok[2]);
    arc_encode(&pair->out, 0, 0, tok[3]);
    trm_board_view v[4] = {{tok[0], "input"}, {tok[1], "attempt 1"}, {tok[2], "attempt 2"}, {tok[3], "truth"}};
    int n = r->known ? 4 : 3;
    if (text) { trm_render_text(stdout, t, ARC_SEQ_LEN, tok[0], r->known ? tok[3] : NULL, v, n, o->color); return 0; }
    char path[4096];
    if (o->png) snprintf(path, sizeof path, "%s", o->png);
    else if (o->png_dir) snprintf(path, sizeof path, "%s/%s-test-%d.png", o->png_dir, r->task->id, r->test + 1);
    else return 0;
    trm_err e;
    if (trm_render_png(path, t, ARC_SEQ_LEN, tok[0], r->known ? tok[3] : NULL, v, n, &e)) return die("solve", "%s", e.msg);
    return 0;
}

static int arc_report(const solve_opts *o, const trm_task *t, const arc_eval *ev, int j, int versions) {
    arc_answer r = {.task = &arc_eval_tests(ev)->tasks[0], .test = j, .versions = versions};
    r.n_cand = arc_eval_ranked(ev, 0, j, r.top, 2);
    if (r.n_cand == 0) { r.top[0].grid.rows = r.top[0].grid.cols = 1; r.top[0].grid.cell[0] = 0; r.top[0].votes = 0; r.top[0].conf = 0; }
    if (r.n_cand < 2) r.top[1] = r.top[0];
    r.known = r.task->test_outputs;
    for (int k = 0; k < 2 && r.known; k++) r.right[k] = arc_grid_equal(&r.top[k].grid, &r.task->test[j].out);
    if (arc_draw(o, t, &r, false)) return 1;
    if (o->json) { arc_print_json(&r); return 0; }
    printf("task %s, test input %d: %d versions, %d distinct answers\n", r.task->id, j + 1, versions, r.n_cand);
    arc_draw(o, t, &r, true);
    printf("attempt 1: %d votes, confidence %.4f | attempt 2: %d votes, confidence %.4f", r.top[0].votes,
           r.top[0].conf, r.top[1].votes, r.top[1].conf);
    if (r.known)
        printf(" | %s", r.right[0] ? "attempt 1 is right" : r.right[1] ? "attempt 2 is right" : "both attempts are wrong");
    printf("\n\n");
    return 0;
}

static int arc_run(trm_model *m, arc_eval *ev, const arc_versions *v, int steps, bool no_memcheck) {
    const arc_task *task = &arc_eval_tests(ev)->tasks[0];
    int32_t *in = NULL, *pid = NULL, *pred = NULL;
    float *q = NULL;
    trm_act *a = NULL;
    trm_err e;
    int n = v->n * task->n_test;
    int rc = build_arc_rows(task, v, &in, &pid);
    if (rc == 0 && (!(pred = malloc(sizeof(int32_t) * (size_t)n * ARC_SEQ_LEN)) || !(q = malloc(sizeof(float) * (size_t)n))))
        rc = die("solve", "out of memory");
    if (rc == 0 && prepare_model(m, n, steps, no_memcheck, &a, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0 && solve_rows(m, a, n, in, pid, steps, pred, q, &e)) rc = die("solve", "%s", e.msg);
    for (int r = 0; rc == 0 && r < n; r++)
        if (arc_eval_add(ev, pid[r], in + (size_t)r * ARC_SEQ_LEN, pred + (size_t)r * ARC_SEQ_LEN, q[r], &e))
            rc = die("solve", "%s", e.msg);
    trm_act_free(a);
    free(in); free(pid); free(pred); free(q);
    return rc;
}

static int solve_arc(trm_model *m, const trm_task *t, const solve_opts *o) {
    const char *file = o->arg ? o->arg : o->file;
    if (!o->data) return die("solve", "ARC models solve task files: give --data DIR (the dataset the model was trained on) and TASK.json");
    if (!file || !strcmp(file, "-")) return die("solve", "ARC: give the task file (TASK.json) as the argument");
    if (o->search.on) return die("solve", "--search: not available for ARC task files (use trm eval --search on the dataset)");
    trm_err e;
    arc_set set = {0};
    arc_names names = {0};
    arc_versions v = {0};
    arc_eval *ev = NULL;
    int rc = 0;
    if (arc_load_file(file, &set, &e)) rc = die("solve", "%s", e.msg);
    else if (set.tasks[0].n_test == 0) rc = die("solve", "%s: no test inputs", file);
    else if (o->png && set.tasks[0].n_test != 1) rc = die("solve", "--png draws one test input, %s has %d: use --png-dir DIR", file, set.tasks[0].n_test);
    if (rc == 0 && arc_names_read(o->data, &names, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0) rc = find_versions(&names, set.tasks[0].id, o->data, m->cfg.num_puzzle_identifiers, &v);
    if (rc == 0 && !(ev = arc_eval_new(&names, &set, &e))) rc = die("solve", "%s", e.msg);
    int steps = o->steps ? o->steps : m->cfg.halt_max_steps;
    if (rc == 0) rc = arc_run(m, ev, &v, steps, o->no_memcheck);
    for (int j = 0; rc == 0 && j < arc_eval_tests(ev)->tasks[0].n_test; j++) rc = arc_report(o, t, ev, j, v.n);
    arc_eval_free(ev);
    versions_free(&v);
    arc_names_free(&names);
    arc_set_free(&set);
    return rc;
}

/* ------------------------------------------------------------ main */

static int pick_task(const solve_opts *o, const trm_model *m, const trm_task **t) {
    const trm_config *c = &m->cfg;
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
    if (mkdir(dir, 0777) && errno != EEXIST) return die("solve", "--png-dir %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) return die("solve", "--png-dir %s: not a directory", dir);
    return 0;
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
    trm_model *m = trm_checkpoint_load(o.ck, &e);
    if (!m) return die("solve", "%s", e.msg);
    const trm_task *t = NULL;
    rc = pick_task(&o, m, &t);
    if (rc == 0 && trm_search_cli_apply_cycles(&o.search, m, &e)) rc = die("solve", "%s", e.msg);
    if (rc == 0) rc = check_png_dir(o.png_dir);
    if (rc == 0) rc = check_png_file(o.png);
    if (rc == 0) rc = t->parse ? solve_lines(m, t, &o) : solve_arc(m, t, &o);
    trm_model_free(m);
    return rc;
}
