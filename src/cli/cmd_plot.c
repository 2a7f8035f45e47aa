/* cmd_plot.c - `trm plot`: a run's loss and accuracy curves as SVG or PNG,
 * or (--compare) the held-out results of several runs against training
 * FLOPs, the picture of a study. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "render/render.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm plot RUN_DIR|METRICS.jsonl [-o OUT.svg|OUT.png]\n"
            "       trm plot --compare RUN... [--x flops|step] [--label NAME ...] -o OUT.svg|OUT.png\n\n"
            "Draws a run's training curves from its metrics.jsonl: loss (train\n"
            "lm_loss and q_halt_loss, eval lm_loss) and accuracy (token and exact,\n"
            "train and eval) against step. trm train refreshes RUN_DIR/curves.svg\n"
            "itself at every evaluation.\n\n"
            "  -o, --out FILE   picture to write; .svg or .png (default: curves.svg\n"
            "                   next to the metrics file; needed with --compare)\n\n"
            "Comparing runs (a study): --compare draws the held-out (eval) results\n"
            "of up to %d runs (RUN_DIR or METRICS.jsonl each), one colour per run,\n"
            "in three panels: eval accuracy (per token), eval exact_accuracy (whole\n"
            "puzzles) and eval lm_loss, against the training FLOPs each eval record\n"
            "logs (log axis), so recipes are compared at equal compute.\n\n"
            "  --compare        plot the runs given as arguments side by side\n"
            "  --x flops|step   x axis: cumulative training FLOPs, log (default), or\n"
            "                   step, linear (for logs without \"flops\")\n"
            "  --label NAME     legend name of a run; give one per run, in order\n"
            "                   (default: the run folder's name)\n", TRM_PLOT_MAX_RUNS);
}

/* RUN_DIR -> RUN_DIR/metrics.jsonl; a file is taken as it is. dir gets
 * the directory holding the metrics, for the default output. */
static int resolve_input(const char *arg, char *metrics, size_t n, char *dir, size_t dn) {
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dir, dn, "%s", arg);
        return snprintf(metrics, n, "%s/metrics.jsonl", arg) >= (int)n ? -1 : 0;
    }
    const char *slash = strrchr(arg, '/');
    snprintf(dir, dn, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
    if (slash == arg) snprintf(dir, dn, "/");
    return snprintf(metrics, n, "%s", arg) >= (int)n ? -1 : 0;
}

/* The options of one call; labels point into argv. */
typedef struct {
    const char *out;
    bool compare, x_given;
    trm_plot_x x;
    const char **labels;
    int n_labels;
} plot_args;

/* 0 to go on, 1 after an error, 2 after --help. */
static int parse(int argc, char **argv, plot_args *a) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"compare", no_argument, 0, 'c'}, {"x", required_argument, 0, 'x'},
        {"label", required_argument, 0, 'l'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'o': a->out = optarg; break;
        case 'c': a->compare = true; break;
        case 'x':
            if (strcmp(optarg, "flops") && strcmp(optarg, "step"))
                return die("plot", "--x takes flops or step, not '%s'", optarg);
            a->x = strcmp(optarg, "flops") ? TRM_PLOT_X_STEP : TRM_PLOT_X_FLOPS, a->x_given = true;
            break;
        case 'l':
            if (!*optarg) return die("plot", "--label needs a name, not an empty string");
            a->labels[a->n_labels++] = optarg;
            break;
        case 'h': usage(stdout); return 2;
        default: return bad_option("plot", argc, argv);
        }
    }
    if (!a->compare && (a->x_given || a->n_labels))
        return die("plot", "--x and --label go with --compare (see trm plot --help)");
    return 0;
}

static int plot_one(int argc, char **argv, const char *out) {
    if (optind >= argc) return die("plot", "give a run directory or a metrics.jsonl (see trm plot --help)");
    if (optind + 1 < argc) return die("plot", "unexpected argument '%s' (see trm plot --help)", argv[optind + 1]);
    char metrics[4200], dir[4200], def_out[4300];
    if (resolve_input(argv[optind], metrics, sizeof metrics, dir, sizeof dir))
        return die("plot", "%s: path too long", argv[optind]);
    if (!out) {
        snprintf(def_out, sizeof def_out, "%s%scurves.svg", dir, strcmp(dir, "/") ? "/" : "");
        out = def_out;
    }
    trm_err e;
    if (plot_metrics(metrics, out, &e)) return die("plot", "%s", e.msg);
    printf("%s\n", out);
    return 0;
}

static int plot_compare(int argc, char **argv, const plot_args *a) {
    int n = argc - optind;
    if (n < 1) return die("plot", "--compare needs the runs to compare (see trm plot --help)");
    if (n > TRM_PLOT_MAX_RUNS) return die("plot", "--compare draws at most %d runs, got %d", TRM_PLOT_MAX_RUNS, n);
    if (a->n_labels && a->n_labels != n)
        return die("plot", "%d --label for %d runs: give one per run, in order, or none", a->n_labels, n);
    if (!a->out) return die("plot", "--compare needs -o OUT.svg|OUT.png");
    char metrics[TRM_PLOT_MAX_RUNS][4200], dir[4200];
    const char *paths[TRM_PLOT_MAX_RUNS];
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(argv[optind + i], &st))
            return die("plot", "%s: no such run folder or metrics file", argv[optind + i]);
        if (resolve_input(argv[optind + i], metrics[i], sizeof metrics[i], dir, sizeof dir))
            return die("plot", "%s: path too long", argv[optind + i]);
        paths[i] = metrics[i];
    }
    trm_err e;
    if (plot_compare_runs(paths, a->n_labels ? a->labels : NULL, n, a->x, a->out, &e)) return die("plot", "%s", e.msg);
    printf("%s\n", a->out);
    return 0;
}

int cmd_plot(int argc, char **argv) {
    plot_args a = {.x = TRM_PLOT_X_FLOPS, .labels = calloc((size_t)argc + 1, sizeof(char *))};
    if (!a.labels) return die("plot", "out of memory");
    int rc = parse(argc, argv, &a);
    if (rc == 0) rc = a.compare ? plot_compare(argc, argv, &a) : plot_one(argc, argv, a.out);
    free(a.labels);
    return rc == 2 ? 0 : rc;
}
