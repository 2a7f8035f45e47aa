/* cmd_plot.c - `trm plot`: a run's loss and accuracy curves as SVG or PNG. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "render/render.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm plot RUN_DIR|METRICS.jsonl [-o OUT.svg|OUT.png]\n\n"
            "Draws a run's training curves from its metrics.jsonl: loss (train\n"
            "lm_loss and q_halt_loss, eval lm_loss) and accuracy (token and exact,\n"
            "train and eval) against step. trm train refreshes RUN_DIR/curves.svg\n"
            "itself at every evaluation.\n\n"
            "  -o, --out FILE   picture to write; .svg or .png (default: curves.svg\n"
            "                   next to the metrics file)\n");
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

int cmd_plot(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int o;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("plot", argc, argv);
        }
    }
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
    if (trm_plot_metrics(metrics, out, &e)) return die("plot", "%s", e.msg);
    printf("%s\n", out);
    return 0;
}
