/* cmd_info.c - `trm info`: config and parameter count of a preset or a
 * checkpoint, as one JSON object on stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/jsonout.h"
#include "trm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm info (--preset NAME | --checkpoint FILE) [--set key=value ...] [--batch B]\n\n"
            "Prints the architecture config, the trainable-parameter count (the\n"
            "reference's num_params), the buffer sizes, and the memory and\n"
            "matrix-product FLOPs of a training step and of solving at batch B, as\n"
            "JSON (docs/performance.md).\n\n"
            "  --preset NAME       one of: %s\n"
            "  --checkpoint FILE   a .safetensors checkpoint\n"
            "  --set key=value     override a config field (presets only)\n"
            "  --batch B           batch size for the memory and FLOP figures (default 1)\n", trm_preset_names());
}

/* Parameter counts without allocating (ARC's puzzle table is 1.8 GB).
 * memory: activations of a training step / of solving (trm_act_memory_bytes:
 * a fixed part plus per_example, the slope, per example), and the training state
 * (weights, gradients, two Adam moments, EMA shadow: 5 fp32 copies of the
 * trainable parameters, plus the puzzle table and its copy in the EMA
 * model). flops: matrix products of one training step, and of one solve
 * (halt_max_steps evaluation steps). */
static void print_info(const trm_config *c, const char *source_key, const char *source,
                       int64_t params, int batch) {
    char *cfg = trm_config_to_json(c);
    int L = trm_config_total_len(c);
    int64_t table = (int64_t)c->num_puzzle_identifiers * c->puzzle_emb_ndim;
    /* the slope at large batches: chunk-sized scratches (the MLPs' row
     * chunks) stop growing after a few examples */
    size_t tr1 = trm_act_memory_bytes(c, 64, TRM_TRAIN), tr2 = trm_act_memory_bytes(c, 128, TRM_TRAIN);
    size_t ev1 = trm_act_memory_bytes(c, 64, TRM_EVAL), ev2 = trm_act_memory_bytes(c, 128, TRM_EVAL);
    printf("{\"%s\":", source_key);
    json_put_string(stdout, source); /* a path may hold quotes */
    printf(",\"num_params\":%lld,\"puzzle_emb_values\":%lld,"
           "\"total_len\":%d,\"mlp_width\":%d,"
           "\"memory\":{\"batch\":%d,\"train_activation_bytes\":%zu,\"train_activation_bytes_per_example\":%zu,"
           "\"solve_activation_bytes\":%zu,\"solve_activation_bytes_per_example\":%zu,"
           "\"train_state_bytes\":%lld,\"weight_bytes\":%lld},"
           "\"flops\":{\"batch\":%d,\"train_step\":%.6g,\"solve\":%.6g},\"config\":%s}\n",
           (long long)params, (long long)table, L,
           trm_swiglu_width(c->hidden_size, c->expansion), batch,
           trm_act_memory_bytes(c, batch, TRM_TRAIN), (tr2 - tr1) / 64,
           trm_act_memory_bytes(c, batch, TRM_EVAL), (ev2 - ev1) / 64,
           (long long)cli_train_state_bytes(c, params), (long long)cli_weight_bytes(c, params), batch,
           trm_step_flops(c, batch, TRM_TRAIN), trm_step_flops(c, batch, TRM_EVAL) * c->halt_max_steps, cfg);
    free(cfg);
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'p'}, {"checkpoint", required_argument, 0, 'c'},
        {"set", required_argument, 0, 's'}, {"batch", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *preset = NULL, *ckpt = NULL;
    char *sets[64];
    int n_sets = 0, o, batch = 1;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((o = getopt_long(argc, argv, "p:c:s:b:h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': preset = optarg; break;
        case 'c': ckpt = optarg; break;
        case 's':
            if (n_sets == 64) return die("info", "too many --set options (max 64)");
            sets[n_sets++] = optarg;
            break;
        case 'b': if (opt_int("info", "--batch", optarg, 1, 1000000, &batch)) return 1; break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("info", argc, argv) + 1;
        }
    }
    if (optind < argc) return die("info", "unexpected argument '%s' (see trm info --help)", argv[optind]);
    if (!preset == !ckpt) return die("info", "give exactly one of --preset NAME or --checkpoint FILE");
    trm_err e;
    if (ckpt) {
        if (n_sets) return die("info", "--set applies to presets only");
        trm_model *m = cli_checkpoint_load(ckpt, &e);
        if (!m) return die("info", "%s", e.msg);
        print_info(trm_model_config(m), "checkpoint", ckpt, trm_model_num_params(m), batch);
        trm_model_free(m);
        return 0;
    }
    trm_config c;
    if (trm_config_preset(&c, preset, &e)) return die("info", "%s", e.msg);
    for (int i = 0; i < n_sets; i++) {
        char *eq = strchr(sets[i], '=');
        if (!eq) return die("info", "--set %s: expected key=value", sets[i]);
        *eq = 0;
        if (trm_config_set(&c, sets[i], eq + 1, &e)) return die("info", "%s", e.msg);
    }
    if (trm_config_validate(&c, &e)) return die("info", "%s", e.msg);
    print_info(&c, "preset", preset, trm_config_num_params(&c), batch);
    return 0;
}
