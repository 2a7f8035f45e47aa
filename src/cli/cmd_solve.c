/* cmd_solve.c - `trm solve`: Sudoku puzzles from the command line, a
 * file or stdin -> the model's grid, its confidence and whether it obeys
 * the rules. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tasks/sudoku.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm solve --checkpoint CK [PUZZLE | --file FILE | -] [options]\n\n"
            "Solves Sudoku puzzles (81 characters, '.' or '0' for blanks; files may hold\n"
            "one per line, '#' comments, or question,answer CSV) and prints each board,\n"
            "the confidence sigmoid(q_halt), the steps run and whether the answer obeys\n"
            "the rules (and matches the given answer, when there is one).\n\n"
            "  --checkpoint CK   a Sudoku checkpoint (seq_len 81, vocab 11)\n"
            "  --file FILE       puzzles from FILE ('-' = stdin; also the default without PUZZLE)\n"
            "  --steps K         supervision steps (default: halt_max_steps)\n"
            "  --json            one JSON object per puzzle on stdout instead of boards\n"
            "  --color MODE      auto, always or never (default: auto)\n");
}

typedef struct { int steps; bool json, color; } solve_opts;

typedef struct { int n, valid, with_answer, correct; long cells, cells_right; } tally;

static int read_puzzles(const char *src, int8_t **q, int8_t **ans, bool **has, int *n) {
    FILE *f = strcmp(src, "-") ? fopen(src, "r") : stdin;
    if (!f) return die("solve", "%s: %s", src, strerror(errno));
    char line[1024];
    int cap = 0, lineno = 0;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0 || !strncmp(p, "question", 8)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *q = realloc(*q, 81 * (size_t)cap);
            *ans = realloc(*ans, 81 * (size_t)cap);
            *has = realloc(*has, sizeof(bool) * (size_t)cap);
        }
        trm_err e;
        if (sudoku_parse_line(p, *q + 81 * *n, *ans + 81 * *n, *has + *n, &e)) {
            if (f != stdin) fclose(f);
            return die("solve", "%s:%d: %s", src, lineno, e.msg);
        }
        (*n)++;
    }
    if (f != stdin) fclose(f);
    if (*n == 0) return die("solve", "%s: no puzzles found", src);
    return 0;
}

static void report(const trm_model *m, const trm_act *a, int b, const int8_t *q, const int8_t *ans,
                   bool has_ans, int steps, const solve_opts *o, tally *t) {
    int32_t tok[81];
    int8_t grid[81];
    int V = m->cfg.vocab_size;
    for (int i = 0; i < 81; i++) {
        const float *lg = a->logits + ((size_t)b * 81 + i) * V;
        int best = 0;
        for (int v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
        tok[i] = best;
    }
    sudoku_from_tokens(tok, grid);
    int viol = sudoku_violations(grid, q);
    double conf = 1.0 / (1.0 + exp(-(double)a->q_halt[b]));
    bool match = has_ans && memcmp(grid, ans, 81) == 0;
    t->n++;
    t->valid += viol == 0;
    if (has_ans) {
        t->with_answer++;
        t->correct += match;
        for (int i = 0; i < 81; i++)
            if (q[i] == 0) { t->cells++; t->cells_right += grid[i] == ans[i]; }
    }
    if (o->json) {
        printf("{\"solution\":\"");
        for (int i = 0; i < 81; i++) putchar(grid[i] ? '0' + grid[i] : '.');
        printf("\",\"confidence\":%.6f,\"steps\":%d,\"valid\":%s,\"violations\":%d", conf, steps,
               viol == 0 ? "true" : "false", viol);
        if (has_ans) printf(",\"correct\":%s", match ? "true" : "false");
        printf("}\n");
        return;
    }
    sudoku_print(stdout, grid, q, has_ans ? ans : NULL, o->color);
    printf("confidence %.4f | steps %d | %s", conf, steps,
           viol == 0 ? "valid solution" : "breaks the rules");
    if (viol) printf(" (%d violations)", viol);
    if (has_ans) printf(" | %s", match ? "matches the answer" : "differs from the answer");
    printf("\n\n");
}

int cmd_solve(int argc, char **argv) {
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"file", required_argument, 0, 'f'},
        {"steps", required_argument, 0, 'k'}, {"json", no_argument, 0, 'j'},
        {"color", required_argument, 0, 'C'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *ck = NULL, *file = NULL, *color = "auto";
    solve_opts o = {0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:f:k:jC:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c': ck = optarg; break;
        case 'f': file = optarg; break;
        case 'k': o.steps = (int)strtol(optarg, &end, 10); if (*end || o.steps < 1 || o.steps > 100000) return die("solve", "--steps: expected 1..100000, got '%s'", optarg); break;
        case 'j': o.json = true; break;
        case 'C': color = optarg; if (strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never")) return die("solve", "--color: expected auto, always or never, got '%s'", optarg); break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("solve", argc, argv);
        }
    }
    o.color = !strcmp(color, "always") || (!strcmp(color, "auto") && isatty(1));
    if (!ck) return die("solve", "--checkpoint is required (see trm solve --help)");
    int8_t *q = NULL, *ans = NULL;
    bool *has = NULL;
    int n = 0, rc = 1;
    trm_err e;
    trm_model *m = NULL;
    trm_act *a = NULL;
    if (optind < argc && !file) {
        if (optind + 1 < argc) return die("solve", "unexpected argument '%s'", argv[optind + 1]);
        if (!strcmp(argv[optind], "-")) file = "-";
        else {
            q = malloc(81); ans = malloc(81); has = malloc(sizeof(bool)); n = 1;
            if (sudoku_parse_line(argv[optind], q, ans, has, &e)) { die("solve", "puzzle argument: %s", e.msg); goto done; }
        }
    }
    if (n == 0 && read_puzzles(file ? file : "-", &q, &ans, &has, &n)) goto done;
    if (!(m = trm_checkpoint_load(ck, &e))) { die("solve", "%s", e.msg); goto done; }
    if (m->cfg.seq_len != 81 || m->cfg.vocab_size != SUDOKU_VOCAB) {
        die("solve", "%s: not a Sudoku model (seq_len %d, vocab %d; expected 81, 11)", ck, m->cfg.seq_len, m->cfg.vocab_size);
        goto done;
    }
    int steps = o.steps ? o.steps : m->cfg.halt_max_steps;
    if (m->cfg.halt_max_steps < steps) m->cfg.halt_max_steps = steps;
    int B = n < 64 ? n : 64;
    if (!(a = trm_act_new(m, B, TRM_EVAL, 0, &e))) { die("solve", "%s", e.msg); goto done; }
    int32_t in[64 * 81];
    tally t = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r0 = 0; r0 < n; r0 += B) {
        int k = n - r0 < B ? n - r0 : B;
        for (int b = 0; b < B; b++) sudoku_to_tokens(q + 81 * (r0 + (b < k ? b : 0)), in + 81 * b);
        trm_batch bt = {B, in, NULL, NULL};
        trm_act_reset(a);
        for (int s = 0; s < steps; s++)
            if (trm_act_step(m, a, &bt, NULL, &e)) { die("solve", "%s", e.msg); goto done; }
        for (int b = 0; b < k; b++) report(m, a, b, q + 81 * (r0 + b), ans + 81 * (r0 + b), has[r0 + b], steps, &o, &t);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    FILE *sum = o.json ? stderr : stdout;
    fprintf(sum, "%d puzzles: %d obey the rules", t.n, t.valid);
    if (t.with_answer)
        fprintf(sum, "; %d/%d match the known answer (%.1f%%), %.1f%% of blank cells right", t.correct,
                t.with_answer, 100.0 * t.correct / t.with_answer, t.cells ? 100.0 * t.cells_right / t.cells : 100.0);
    fprintf(sum, "; %.1f ms per puzzle (%d supervision steps, batches of %d)\n", 1000 * secs / t.n, steps, B);
    rc = 0;
done:
    trm_act_free(a);
    trm_model_free(m);
    free(q); free(ans); free(has);
    return rc;
}
