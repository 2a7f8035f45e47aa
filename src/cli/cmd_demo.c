/* cmd_demo.c - `trm demo` (the default job): trains a tiny TRM for a few
 * steps on the bundled Sudoku puzzles, showing progress, then solves a
 * held-out puzzle and prints the board. A live demonstration of the whole
 * engine (forward, ACT, loss, backward, AdamATan2), not a trained solver:
 * a few dozen CPU steps do not learn Sudoku. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/rng.h"
#include "trm.h"

#define DEFAULT_DATA "data/sudoku-demo/puzzles.csv"

typedef struct {
    const char *data, *preset;
    int steps, batch;
    float lr;
    uint64_t seed;
} demo_opts;

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm demo [options]\n\n"
            "Trains a small TRM for a few steps on bundled Sudoku puzzles (progress on\n"
            "stderr), then solves a held-out puzzle (board on stdout).\n\n"
            "  --data FILE     question,answer CSV (default: %s)\n"
            "  --preset NAME   model preset (default: tiny)\n"
            "  --steps N       training steps (default: 30)\n"
            "  --batch N       rows per step (default: 16)\n"
            "  --lr X          AdamATan2 learning rate (default: 0.001)\n"
            "  --seed N        RNG seed (default: 0)\n", DEFAULT_DATA);
}

/* ------------------------------------------------------------ data */

typedef struct {
    int n;
    int32_t *q, *a; /* [n, 81] tokens: blank 1, digit d -> d + 1 */
} puzzles;

static int encode_cell(char ch, int32_t *tok) {
    if (ch == '.' || ch == '0') *tok = 1;
    else if (ch >= '1' && ch <= '9') *tok = ch - '0' + 1;
    else return -1;
    return 0;
}

/* Resolves the default data path from the working directory or, failing
 * that, from the directory above the binary (build/trm -> repo root). */
static const char *find_default_data(char *buf, size_t n) {
    if (access(DEFAULT_DATA, R_OK) == 0) return DEFAULT_DATA;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return DEFAULT_DATA;
    exe[len] = 0;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    snprintf(buf, n, "%s/%s", exe, DEFAULT_DATA);
    return access(buf, R_OK) == 0 ? buf : DEFAULT_DATA;
}

static int load_puzzles(const char *path, puzzles *p) {
    FILE *f = fopen(path, "r");
    if (!f) return die("demo", "%s: %s", path, strerror(errno));
    char line[512];
    int cap = 0, lineno = 0;
    memset(p, 0, sizeof *p);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1 && !strncmp(line, "question", 8)) continue;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (strlen(line) < 164 || line[81] != ',') {
            fclose(f);
            return die("demo", "%s:%d: expected 81 cells, a comma and an 81-digit answer", path, lineno);
        }
        if (p->n == cap) {
            cap = cap ? 2 * cap : 256;
            p->q = realloc(p->q, sizeof(int32_t) * 81 * cap);
            p->a = realloc(p->a, sizeof(int32_t) * 81 * cap);
        }
        for (int i = 0; i < 81; i++)
            if (encode_cell(line[i], &p->q[p->n * 81 + i]) || encode_cell(line[82 + i], &p->a[p->n * 81 + i]) ||
                p->a[p->n * 81 + i] == 1) {
                fclose(f);
                return die("demo", "%s:%d: cell %d: expected a digit (or . / 0 in the question)", path, lineno, i + 1);
            }
        p->n++;
    }
    fclose(f);
    if (p->n < 2) return die("demo", "%s: expected at least 2 puzzles, found %d", path, p->n);
    return 0;
}

/* ------------------------------------------------------------ output */

static void print_board(const int32_t *given, const int32_t *pred, const int32_t *truth) {
    for (int r = 0; r < 9; r++) {
        if (r && r % 3 == 0) printf("  ------+-------+------\n");
        printf(" ");
        for (int c = 0; c < 9; c++) {
            int i = r * 9 + c, d = pred[i] - 1;
            char mark = given[i] != 1 ? ' ' : (pred[i] == truth[i] ? ' ' : '*');
            printf("%s%c%c", c && c % 3 == 0 ? " |" : "", d >= 1 && d <= 9 ? '0' + d : '?', mark);
        }
        printf("\n");
    }
}

/* ------------------------------------------------------------ run */

static int parse(int argc, char **argv, demo_opts *o) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"preset", required_argument, 0, 'p'},
        {"steps", required_argument, 0, 's'}, {"batch", required_argument, 0, 'b'},
        {"lr", required_argument, 0, 'l'}, {"seed", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (demo_opts){.preset = "tiny", .steps = 30, .batch = 16, .lr = 1e-3f, .seed = 0};
    int c;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "d:p:s:b:l:r:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'p': o->preset = optarg; break;
        case 's': o->steps = (int)strtol(optarg, &end, 10); if (*end || o->steps < 1) return die("demo", "--steps: expected an integer >= 1, got '%s'", optarg); break;
        case 'b': o->batch = (int)strtol(optarg, &end, 10); if (*end || o->batch < 1 || o->batch > 4096) return die("demo", "--batch: expected 1..4096, got '%s'", optarg); break;
        case 'l': o->lr = strtof(optarg, &end); if (*end || !(o->lr > 0)) return die("demo", "--lr: expected a positive number, got '%s'", optarg); break;
        case 'r': o->seed = strtoull(optarg, &end, 10); if (*end) return die("demo", "--seed: expected an integer, got '%s'", optarg); break;
        case 'h': usage(stdout); exit(0);
        default: exit(bad_option("demo", argc, argv) + 1);
        }
    }
    if (optind < argc) return die("demo", "unexpected argument '%s' (see trm demo --help)", argv[optind]);
    return 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int train(trm_model *m, const puzzles *p, int n_train, const demo_opts *o) {
    trm_err e;
    trm_optim_config oc;
    trm_optim_config_default(&oc);
    oc.lr = o->lr;
    oc.lr_warmup_steps = o->steps / 5 + 1;
    oc.weight_decay = 0.1f;
    trm_optim *opt = trm_optim_new(m, &oc, &e);
    trm_act *a = opt ? trm_act_new(m, o->batch, TRM_TRAIN, o->seed, &e) : NULL;
    int32_t *in = malloc(sizeof(int32_t) * 81 * o->batch), *lab = malloc(sizeof(int32_t) * 81 * o->batch);
    if (!opt || !a || !in || !lab) {
        trm_optim_free(opt); trm_act_free(a); free(in); free(lab);
        return die("demo", "%s", opt ? e.msg : "out of memory");
    }
    uint64_t rng[4];
    rng_seed(rng, o->seed + 1);
    double t0 = now_s();
    for (int s = 1; s <= o->steps; s++) {
        for (int b = 0; b < o->batch; b++) {
            int k = rng_int(rng, 0, n_train - 1);
            memcpy(in + 81 * b, p->q + 81 * k, sizeof(int32_t) * 81);
            memcpy(lab + 81 * b, p->a + 81 * k, sizeof(int32_t) * 81);
        }
        trm_batch bt = {o->batch, in, lab, NULL};
        trm_metrics mt;
        trm_act_step(m, a, &bt, NULL, &e);
        trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt);
        trm_model_zero_grad(m);
        trm_act_backward(m, a, 1.0f / o->batch, &e);
        trm_optim_step(opt, m, a);
        double el = now_s() - t0;
        fprintf(stderr, "\rstep %3d/%d  loss %.4f  token acc %.3f  halted %2.0f  %.1f ex/s  ETA %.0fs   ",
                s, o->steps, mt.lm_loss / o->batch, mt.count ? mt.accuracy / mt.count : 0.0,
                mt.count, s * o->batch / el, el / s * (o->steps - s));
    }
    fprintf(stderr, "\n");
    trm_optim_free(opt);
    trm_act_free(a);
    free(in);
    free(lab);
    return 0;
}

static int solve(trm_model *m, const puzzles *p, int k) {
    trm_err e;
    trm_act *a = trm_act_new(m, 1, TRM_EVAL, 0, &e);
    if (!a) return die("demo", "%s", e.msg);
    trm_batch bt = {1, p->q + 81 * k, p->a + 81 * k, NULL};
    for (int s = 0; s < m->cfg.halt_max_steps; s++) trm_act_step(m, a, &bt, NULL, &e);
    trm_metrics mt;
    trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt);
    int32_t pred[81];
    int V = m->cfg.vocab_size, right = 0, blanks = 0;
    for (int i = 0; i < 81; i++) {
        const float *lg = a->logits + (size_t)i * V;
        int best = 0;
        for (int v = 1; v < V; v++) if (lg[v] > lg[best]) best = v;
        pred[i] = best;
        if (p->q[81 * k + i] == 1) { blanks++; right += best == p->a[81 * k + i]; }
    }
    printf("held-out puzzle %d after %d supervision steps (* = wrong cell):\n", k + 1, m->cfg.halt_max_steps);
    print_board(p->q + 81 * k, pred, p->a + 81 * k);
    printf("blank cells right: %d/%d  exact: %s  confidence sigmoid(q_halt): %.4f\n", right, blanks,
           mt.exact_accuracy > 0 ? "yes" : "no", 1.0 / (1.0 + exp(-a->q_halt[0])));
    trm_act_free(a);
    return 0;
}

int cmd_demo(int argc, char **argv) {
    demo_opts o;
    if (parse(argc, argv, &o)) return 2;
    char buf[4200];
    if (!o.data) o.data = find_default_data(buf, sizeof buf);
    puzzles p;
    if (load_puzzles(o.data, &p)) return 1;
    trm_config c;
    trm_err e;
    if (trm_config_preset(&c, o.preset, &e)) return die("demo", "%s", e.msg);
    if (c.seq_len != 81 || c.vocab_size != 11) return die("demo", "preset %s is not a Sudoku preset", o.preset);
    trm_model *m = trm_model_new(&c, o.seed, &e);
    if (!m) return die("demo", "%s", e.msg);
    fprintf(stderr, "trm demo: %s preset (%lld parameters), %d puzzles from %s, %s matmul\n", o.preset,
            (long long)trm_model_num_params(m), p.n, o.data, trm_matmul_backend_name(trm_matmul_get_backend()));
    int rc = train(m, &p, p.n - 1, &o);
    if (rc == 0) rc = solve(m, &p, p.n - 1);
    trm_model_free(m);
    free(p.q);
    free(p.a);
    return rc;
}
