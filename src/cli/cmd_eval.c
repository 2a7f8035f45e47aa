/* cmd_eval.c - `trm eval`: accuracy of a checkpoint over a dataset split,
 * at a chosen test-time depth, optionally at every supervision step. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "train/train.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm eval --checkpoint CK --data DIR [options]\n\n"
            "Runs every example of a split from a fresh carry for K supervision steps and\n"
            "prints exact accuracy, token accuracy, q_halt accuracy and mean loss as JSON.\n\n"
            "  --checkpoint CK     .safetensors checkpoint\n"
            "  --data DIR          dataset directory\n"
            "  --split NAME        train or test (default: test)\n"
            "  --steps K           supervision steps, the test-time depth (default: halt_max_steps)\n"
            "  --per-step          also report accuracy after every step 1..K\n"
            "  --batch N           rows per batch (default: 64)\n"
            "  --max-examples N    only the first N examples (default: 0 = all)\n"
            "  --quiet             no progress line\n");
}

static int parse_i64(const char *s, long long lo, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo) return -1;
    *out = v;
    return 0;
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"data", required_argument, 0, 'd'},
        {"split", required_argument, 0, 's'}, {"steps", required_argument, 0, 'k'},
        {"per-step", no_argument, 0, 'p'}, {"batch", required_argument, 0, 'b'},
        {"max-examples", required_argument, 0, 'm'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *ck = NULL, *data = NULL, *split = "test";
    long long steps = 0, batch = 64, max_ex = 0;
    bool per_step = false, quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:d:s:k:pb:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': ck = optarg; break;
        case 'd': data = optarg; break;
        case 's': split = optarg; break;
        case 'k': if (parse_i64(optarg, 1, &steps) || steps > 100000) return die("eval", "--steps: expected 1..100000, got '%s'", optarg); break;
        case 'p': per_step = true; break;
        case 'b': if (parse_i64(optarg, 1, &batch) || batch > 65536) return die("eval", "--batch: expected 1..65536, got '%s'", optarg); break;
        case 'm': if (parse_i64(optarg, 0, &max_ex)) return die("eval", "--max-examples: expected an integer >= 0, got '%s'", optarg); break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("eval", argc, argv);
        }
    }
    if (optind < argc) return die("eval", "unexpected argument '%s' (see trm eval --help)", argv[optind]);
    if (!ck || !data) return die("eval", "--checkpoint and --data are required (see trm eval --help)");
    trm_err e;
    trm_model *m = trm_checkpoint_load(ck, &e);
    if (!m) return die("eval", "%s", e.msg);
    trm_split *s = trm_split_open(data, split, &e);
    int rc = 1;
    if (!s) { die("eval", "%s", e.msg); goto done; }
    const trm_dataset_meta *meta = trm_split_meta(s);
    if (meta->seq_len != m->cfg.seq_len || meta->vocab_size != m->cfg.vocab_size ||
        meta->num_puzzle_identifiers > m->cfg.num_puzzle_identifiers) {
        die("eval", "%s/%s: dataset (seq_len %d, vocab %d, %d puzzle ids) does not fit the checkpoint (seq_len %d, vocab %d, %d ids)",
            data, split, meta->seq_len, meta->vocab_size, meta->num_puzzle_identifiers, m->cfg.seq_len,
            m->cfg.vocab_size, m->cfg.num_puzzle_identifiers);
        goto done;
    }
    trm_eval_result r;
    if (trm_evaluate(m, s, (int)steps, (int)batch, max_ex, per_step, !quiet, &r, &e)) { die("eval", "%s", e.msg); goto done; }
    printf("{\"checkpoint\":\"%s\",\"data\":\"%s\",\"split\":\"%s\",\"examples\":%lld,\"steps\":%d,"
           "\"exact_accuracy\":%.6g,\"accuracy\":%.6g,\"q_halt_accuracy\":%.6g,\"lm_loss\":%.6g",
           ck, data, split, (long long)r.examples, r.n_steps, r.exact_accuracy, r.accuracy, r.q_halt_accuracy, r.lm_loss);
    if (r.exact_by_step) {
        printf(",\"by_step\":[");
        for (int i = 0; i < r.n_steps; i++)
            printf("%s{\"step\":%d,\"exact_accuracy\":%.6g,\"accuracy\":%.6g}", i ? "," : "", i + 1,
                   r.exact_by_step[i], r.accuracy_by_step[i]);
        printf("]");
    }
    printf("}\n");
    trm_eval_result_free(&r);
    rc = 0;
done:
    trm_split_close(s);
    trm_model_free(m);
    return rc;
}
