/* cmd_render.c - `trm render`: examples of a dataset drawn as boards
 * (input and label), in the terminal or as PNG - a look at what a
 * builder wrote before training on it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "render/render.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm render --data DIR [--split NAME] [--index I] [--count N] [--task NAME]\n"
            "                  [--png FILE | --png-dir DIR] [--color MODE]\n\n"
            "Draws dataset examples as boards, input beside label: in the terminal,\n"
            "or as PNG pictures (docs/pictures.md).\n\n"
            "  --data DIR        dataset directory (reference format)\n"
            "  --split NAME      train or test (default: test)\n"
            "  --index I         first example (default: 0)\n"
            "  --count N         examples to draw (default: 1)\n"
            "  --task NAME       the task (default: detected from the dataset's vocab/seq_len)\n"
            "  --png FILE        draw the one example (--count 1) to FILE\n"
            "  --png-dir DIR     draw each example to DIR/example-<index>.png\n"
            "  --color MODE      auto, always or never (default: auto)\n");
}

typedef struct {
    const char *data, *split, *task, *png, *png_dir, *color;
    long long index, count;
} render_opts;

static int parse_args(int argc, char **argv, render_opts *o) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"split", required_argument, 0, 's'},
        {"index", required_argument, 0, 'i'}, {"count", required_argument, 0, 'n'},
        {"task", required_argument, 0, 't'}, {"png", required_argument, 0, 'p'},
        {"png-dir", required_argument, 0, 'P'}, {"color", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (render_opts){.split = "test", .color = "auto", .count = 1};
    int c;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 's': o->split = optarg; break;
        case 'i': if (opt_ll("render", "--index", optarg, 0, INT64_MAX, &o->index)) return 1; break;
        case 'n': if (opt_ll("render", "--count", optarg, 1, INT64_MAX, &o->count)) return 1; break;
        case 't': o->task = optarg; break;
        case 'p': o->png = optarg; break;
        case 'P': o->png_dir = optarg; break;
        case 'C': o->color = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return bad_option("render", argc, argv);
        }
    }
    if (optind < argc) return die("render", "unexpected argument '%s' (see trm render --help)", argv[optind]);
    if (!o->data) return die("render", "--data DIR is required (see trm render --help)");
    if (o->png && o->png_dir) return die("render", "give --png FILE or --png-dir DIR, not both");
    if (o->png && o->count != 1) return die("render", "--png draws one example; use --png-dir DIR for --count %lld", o->count);
    if (strcmp(o->color, "auto") && strcmp(o->color, "always") && strcmp(o->color, "never"))
        return die("render", "--color: expected auto, always or never, got '%s'", o->color);
    return 0;
}

/* Draws example i: input and label (ignored label cells shown as padding). */
static int draw_example(const render_opts *o, const trm_task *t, const trm_split *s, int64_t i,
                        int32_t *in, int32_t *lab) {
    const trm_dataset_meta *m = trm_split_meta(s);
    trm_split_example(s, i, in, lab);
    for (int k = 0; k < m->seq_len; k++)
        if (lab[k] == TRM_IGNORE_LABEL) lab[k] = m->pad_id;
    trm_board_view v[2] = {{in, "input"}, {lab, "label"}};
    if (!o->png && !o->png_dir) {
        printf("%sexample %lld\n", i > o->index ? "\n" : "", (long long)i);
        render_board_text(stdout, t, m->seq_len, in, NULL, v, 2,
                        !strcmp(o->color, "always") || (!strcmp(o->color, "auto") && isatty(1)));
        return 0;
    }
    char path[4200];
    if (o->png) snprintf(path, sizeof path, "%s", o->png);
    else snprintf(path, sizeof path, "%s/example-%06lld.png", o->png_dir, (long long)i);
    trm_err e;
    if (render_board_png(path, t, m->seq_len, in, NULL, v, 2, &e)) return die("render", "%s", e.msg);
    printf("%s\n", path);
    return 0;
}

static int run(const render_opts *o, const trm_split *s) {
    const trm_dataset_meta *m = trm_split_meta(s);
    const trm_task *t = o->task ? trm_task_by_name(o->task) : trm_task_detect(m->vocab_size, m->seq_len);
    if (!t && o->task) return die("render", "--task %s: unknown task (see trm solve --help)", o->task);
    if (!t) return die("render", "%s: no task for vocab %d and seq_len %d; name one with --task", o->data,
                       m->vocab_size, m->seq_len);
    int64_t n = trm_split_num_examples(s);
    if (o->index >= n) return die("render", "--index %lld: the %s split has %lld examples", o->index, o->split, (long long)n);
    if (o->png_dir && cli_make_dir("render", "--png-dir", o->png_dir)) return 1;
    int32_t *in = malloc(sizeof(int32_t) * m->seq_len), *lab = malloc(sizeof(int32_t) * m->seq_len);
    int rc = in && lab ? 0 : die("render", "out of memory");
    for (int64_t i = o->index; rc == 0 && i < n && i < o->index + o->count; i++) rc = draw_example(o, t, s, i, in, lab);
    free(in);
    free(lab);
    return rc;
}

int cmd_render(int argc, char **argv) {
    render_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    trm_err e;
    trm_split *s = trm_split_open(o.data, o.split, &e);
    if (!s) return die("render", "%s", e.msg);
    rc = run(&o, s);
    trm_split_close(s);
    return rc;
}
