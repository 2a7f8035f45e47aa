/* cmd_forward.c - `trm forward`: K evaluation supervision steps from a
 * fresh carry on token rows, writing the last step's logits and q_halt.
 * This is how anyone checks trm against their own PyTorch model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/npy.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm forward --checkpoint CK --inputs X.npy [options]\n\n"
            "Runs K evaluation supervision steps (no halting before K) from a fresh\n"
            "carry on every row of X.npy and writes DIR/logits.npy (float32\n"
            "[B, seq_len, vocab]) and DIR/q_halt.npy (float32 [B]) of the last step.\n\n"
            "  --checkpoint CK       .safetensors checkpoint\n"
            "  --inputs X.npy        integer token rows [B, seq_len]\n"
            "  --puzzle-ids P.npy    integer puzzle identifiers [B] (default: all 0)\n"
            "  --steps K             supervision steps (default: halt_max_steps)\n"
            "  --batch N             rows per batch (default: 32)\n"
            "  --out DIR             output directory (default: .), created if missing\n");
}

typedef struct {
    const char *ckpt, *inputs, *pids, *out;
    int steps, batch;
} forward_opts;

static int parse_opts(int argc, char **argv, forward_opts *o) {
    static const struct option opts[] = {
        {"checkpoint", required_argument, 0, 'c'}, {"inputs", required_argument, 0, 'i'},
        {"puzzle-ids", required_argument, 0, 'p'}, {"steps", required_argument, 0, 'k'},
        {"batch", required_argument, 0, 'b'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (forward_opts){.out = ".", .steps = 0, .batch = 32};
    int c;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "c:i:p:k:b:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->ckpt = optarg; break;
        case 'i': o->inputs = optarg; break;
        case 'p': o->pids = optarg; break;
        case 'o': o->out = optarg; break;
        case 'k':
            if (opt_int("forward", "--steps", optarg, 1, 1000000, &o->steps)) return 2;
            break;
        case 'b':
            if (opt_int("forward", "--batch", optarg, 1, 1 << 20, &o->batch)) return 2;
            break;
        case 'h': usage(stdout); return 1;
        default: return bad_option("forward", argc, argv) + 2;
        }
    }
    if (optind < argc) return die("forward", "unexpected argument '%s' (see trm forward --help)", argv[optind]) + 1;
    if (!o->ckpt || !o->inputs) return die("forward", "--checkpoint and --inputs are required (see trm forward --help)") + 1;
    return 0;
}

/* Runs rows [r0, r0 + n) and copies their outputs into logits/q. */
static int run_chunk(trm_model *m, const forward_opts *o, const int32_t *x, const int32_t *pid,
                     int r0, int n, float *logits, float *q, trm_err *err) {
    const trm_config *c = trm_model_config(m);
    trm_act *a = trm_act_new(m, n, TRM_EVAL, 0, err);
    if (!a) return -1;
    /* evaluation halts only at the step cap: put it at K so K steps run uninterrupted */
    trm_act_set_step_cap(a, o->steps);
    trm_batch bt = {n, x + (size_t)r0 * c->seq_len, NULL, pid ? pid + r0 : NULL};
    int rc = 0;
    for (int s = 0; rc == 0 && s < o->steps; s++) rc = trm_act_step(m, a, &bt, NULL, err);
    if (rc == 0) {
        size_t per = (size_t)c->seq_len * c->vocab_size;
        memcpy(logits + (size_t)r0 * per, trm_act_logits(a), sizeof(float) * per * n);
        memcpy(q + r0, trm_act_q_halt(a), sizeof(float) * n);
    }
    trm_act_free(a);
    return rc;
}

int cmd_forward(int argc, char **argv) {
    forward_opts o;
    int prc = parse_opts(argc, argv, &o);
    if (prc) return prc - 1; /* help: 0, bad value: 1, bad usage: 2 */
    trm_err e;
    trm_model *m = cli_checkpoint_load(o.ckpt, &e);
    if (!m) return die("forward", "%s", e.msg);
    const trm_config *c = trm_model_config(m);
    npy_shape xs, ps;
    int32_t *x = npy_read_i32(o.inputs, &xs, &e), *pid = NULL;
    float *logits = NULL, *q = NULL;
    int rc = 1;
    if (!x) { die("forward", "%s", e.msg); goto done; }
    if (xs.ndim != 2 || xs.shape[1] != c->seq_len || xs.shape[0] < 1) {
        die("forward", "%s: expected shape [B, %d] (seq_len of the checkpoint), got %d-D array", o.inputs, c->seq_len, xs.ndim);
        goto done;
    }
    int B = (int)xs.shape[0];
    if (o.pids) {
        if (!(pid = npy_read_i32(o.pids, &ps, &e))) { die("forward", "%s", e.msg); goto done; }
        if (ps.ndim != 1 || ps.shape[0] != B) {
            die("forward", "%s: expected shape [%d] (one id per input row)", o.pids, B);
            goto done;
        }
    }
    if (o.steps == 0) o.steps = c->halt_max_steps;
    logits = malloc(sizeof(float) * (size_t)B * c->seq_len * c->vocab_size);
    q = malloc(sizeof(float) * (size_t)B);
    if (!logits || !q) { die("forward", "out of memory for %d rows", B); goto done; }
    for (int r0 = 0; r0 < B; r0 += o.batch) {
        int n = B - r0 < o.batch ? B - r0 : o.batch;
        if (run_chunk(m, &o, x, pid, r0, n, logits, q, &e)) {
            die("forward", "%s: row %d+: %s", o.inputs, r0, e.msg);
            goto done;
        }
        fprintf(stderr, "\rtrm forward: %d/%d rows", r0 + n, B);
    }
    fputc('\n', stderr);
    if (cli_make_dir("forward", NULL, o.out)) goto done;
    char path[4096];
    int64_t lshape[3] = {B, c->seq_len, c->vocab_size}, qshape[1] = {B};
    snprintf(path, sizeof path, "%s/logits.npy", o.out);
    if (npy_write(path, "<f4", 3, lshape, logits, &e)) { die("forward", "%s", e.msg); goto done; }
    snprintf(path, sizeof path, "%s/q_halt.npy", o.out);
    if (npy_write(path, "<f4", 1, qshape, q, &e)) { die("forward", "%s", e.msg); goto done; }
    rc = 0;
done:
    free(x); free(pid); free(logits); free(q);
    trm_model_free(m);
    return rc;
}
