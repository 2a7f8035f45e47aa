/* cmd_train.c - `trm train`: train a TRM on a dataset in the reference's
 * format, with the paper's hyper-parameters by default. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/safetensors.h"
#include "train/train.h"

static void usage(FILE *out) {
    trm_train_config t;
    trm_train_config_default(&t);
    fprintf(out,
            "usage: trm train --data DIR --out RUN [--preset NAME] [--config FILE] [--resume] [key=value ...]\n\n"
            "Trains on DIR/train (evaluating on DIR/test when present). RUN receives\n"
            "checkpoint.safetensors (EMA weights), state.safetensors (exact resume) and\n"
            "metrics.jsonl. SIGINT/SIGTERM save the state and stop; --resume continues\n"
            "bit for bit (the run's saved config is reused unless you override it).\n\n"
            "  --data DIR        dataset (trm data ..., or the reference's builders)\n"
            "  --out RUN         run directory (created)\n"
            "  --preset NAME     architecture (default: sudoku-att): %s\n"
            "  --config FILE     JSON object of arch and training keys, applied after the preset\n"
            "  --resume          continue RUN from its state.safetensors\n"
            "  --quiet           no progress line\n"
            "  --replay-failures R  learn from its own failures: a fraction R of new rows replay\n"
            "                    examples it got wrong, freshly augmented (= replay_failures=R)\n\n"
            "key=value sets any arch field (hidden_size=..., L_cycles=...; see trm info) or\n"
            "training field (defaults: the reference's cfg_pretrain.yaml, with ema=true):\n"
            "  global_batch_size=%d epochs=%g eval_interval=%g lr=%g lr_min_ratio=%g\n"
            "  lr_warmup_steps=%lld beta1=%g beta2=%g weight_decay=%g puzzle_emb_lr=%g\n"
            "  puzzle_emb_weight_decay=%g seed=%llu ema=%s ema_rate=%g loss_type=stablemax\n"
            "  checkpoint_every=%lld (steps; 0 = at evaluations) eval_max_examples=%lld (0 = all)\n"
            "  eval_batch_size=%d (0 = global_batch_size) log_every=%d max_steps=%lld (0 = all)\n"
            "  stop_after=%lld (save and stop after that many steps of this invocation; 0 = never)\n"
            "  replay_failures=%g (also --replay-failures R: that fraction of the rows taking new data\n"
            "  replay a training example the model recently got wrong, freshly augmented; 0 = off)\n"
            "  label_smoothing=0 step_weight=1 graph=carry (or nocarry) nocarry_warmup=auto\n"
            "  cycles_schedule=F0:T,n;F1:T,n;... halt_schedule=F0:N;F1:N;... (fractions of the run;\n"
            "  training-graph recipes, docs/training.md)\n"
            "Threads: OMP_NUM_THREADS (default: all cores).\n",
            trm_preset_names(), t.global_batch_size, t.epochs, t.eval_interval, t.lr, t.lr_min_ratio,
            (long long)t.lr_warmup_steps, t.beta1, t.beta2, t.weight_decay, t.puzzle_emb_lr,
            t.puzzle_emb_weight_decay, (unsigned long long)t.seed, t.ema ? "true" : "false", t.ema_rate,
            (long long)t.checkpoint_every, (long long)t.eval_max_examples, t.eval_batch_size, t.log_every,
            (long long)t.max_steps, (long long)t.stop_after, t.replay_failures);
}

/* key=value to the arch config or the training config. */
static int apply_kv(trm_config *arch, trm_train_config *tc, const char *key, const char *value, trm_err *e) {
    int r = trm_train_config_set(tc, key, value, e);
    if (r <= 0) return r;
    return trm_config_set(arch, key, value, e);
}

static int apply_json_object(trm_config *arch, trm_train_config *tc, const char *src, const char *text,
                             trm_err *e) {
    cJSON *o = cJSON_Parse(text);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return trm_errf(e, "%s: expected a JSON object", src);
    }
    int rc = 0;
    for (cJSON *it = o->child; it && rc == 0; it = it->next) {
        char buf[64];
        const char *v = buf;
        if (cJSON_IsString(it)) v = it->valuestring;
        else if (cJSON_IsBool(it)) v = cJSON_IsTrue(it) ? "true" : "false";
        else if (cJSON_IsNumber(it)) snprintf(buf, sizeof buf, "%.17g", it->valuedouble);
        else { rc = trm_errf(e, "%s: field %s: expected a string, number or boolean", src, it->string); break; }
        trm_err e2;
        if (apply_kv(arch, tc, it->string, v, &e2)) rc = trm_errf(e, "%s: %s", src, e2.msg);
    }
    cJSON_Delete(o);
    return rc;
}

static char *slurp(const char *path, trm_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) { trm_errf(e, "%s: cannot open", path); return NULL; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 && n < (1 << 24) ? malloc((size_t)n + 1) : NULL;
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); fclose(f); trm_errf(e, "%s: cannot read", path); return NULL; }
    s[n] = 0;
    fclose(f);
    return s;
}

/* On --resume without --preset/--config, the run's own saved configs. */
static int load_saved_configs(const char *run_dir, trm_config *arch, trm_train_config *tc, trm_err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/state.safetensors", run_dir);
    st_file *f = st_open(path, e);
    if (!f) return -1;
    const char *a = st_metadata(f, "config"), *t = st_metadata(f, "train_config");
    int rc = 0;
    if (!a || !t) rc = trm_errf(e, "%s: missing config metadata (not a trm training state)", path);
    if (rc == 0 && trm_config_from_json(arch, a, e)) rc = -1;
    if (rc == 0) rc = apply_json_object(arch, tc, path, t, e);
    st_close(f);
    return rc;
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},
        {"preset", required_argument, 0, 'p'}, {"config", required_argument, 0, 'c'},
        {"resume", no_argument, 0, 'r'}, {"quiet", no_argument, 0, 'q'},
        {"replay-failures", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    trm_train_run_opts ro = {0};
    const char *preset = NULL, *config = NULL, *replay = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:o:p:c:rqF:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': ro.data_dir = optarg; break;
        case 'o': ro.out_dir = optarg; break;
        case 'p': preset = optarg; break;
        case 'c': config = optarg; break;
        case 'r': ro.resume = true; break;
        case 'q': ro.quiet = true; break;
        case 'F': replay = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("train", argc, argv);
        }
    }
    if (!ro.data_dir || !ro.out_dir) return die("train", "--data and --out are required (see trm train --help)");
    trm_config arch;
    trm_train_config tc;
    trm_err e;
    trm_train_config_default(&tc);
    if (trm_config_preset(&arch, preset ? preset : "sudoku-att", &e)) return die("train", "%s", e.msg);
    if (ro.resume && !preset && !config && load_saved_configs(ro.out_dir, &arch, &tc, &e))
        return die("train", "%s", e.msg);
    if (config) {
        char *text = slurp(config, &e);
        if (!text || apply_json_object(&arch, &tc, config, text, &e)) { free(text); return die("train", "%s", e.msg); }
        free(text);
    }
    /* --replay-failures R is replay_failures=R (saved with the run, so --resume keeps it) */
    if (replay && apply_kv(&arch, &tc, "replay_failures", replay, &e)) return die("train", "--replay-failures: %s", e.msg);
    for (int i = optind; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return die("train", "unexpected argument '%s' (expected key=value; see trm train --help)", argv[i]);
        *eq = 0;
        if (apply_kv(&arch, &tc, argv[i], eq + 1, &e)) return die("train", "%s", e.msg);
    }
    if (trm_train_run(&arch, &tc, &ro, &e)) return die("train", "%s", e.msg);
    return 0;
}
