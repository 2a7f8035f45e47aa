/* fuzz_resume - the training state loader: `trm train --resume` reads
 * RUN/state.safetensors (load_state in src/train/train.c, reached through
 * trm_train_run). The harness builds, once, a tiny dataset and a fresh
 * one-step run; each input then replaces that run's state.safetensors and
 * the run is resumed. A valid seed is that fresh run's state (with
 * FUZZ_RESUME_SEED=FILE the harness copies it there, as fuzz/run.sh does;
 * FUZZ_CHECKPOINT_SEED=FILE likewise copies the run's checkpoint, a seed
 * for fuzz_safetensors' checkpoint loading).
 * max_steps 2 with a state at step 1: an accepted state trains one step
 * from whatever carry, counters and moments it holds. */
#include <sys/stat.h>

#include "fuzz_util.h"
#include "data/dataset.h"
#include "train/train.h"

static trm_config g_arch;
static trm_train_config g_tc;
static char g_data[700], g_run[700];

static void must(int rc, const trm_err *err) {
    if (rc) { fprintf(stderr, "fuzz_resume setup: %s\n", err->msg); abort(); }
}

/* 4 one-example puzzles of 4 tokens over vocab 4, as train and test. */
static void make_dataset(void) {
    trm_err err;
    snprintf(g_data, sizeof g_data, "%s/data", fz_dir());
    mkdir(g_data, 0700);
    for (int sp = 0; sp < 2; sp++) {
        trm_split_writer *w = split_writer_new(4, 4);
        for (int g = 0; g < 4; g++) {
            int32_t in[4] = {1, 2, 3, g % 4}, lab[4] = {2, 3, 1, (g + 1) % 4};
            must(split_writer_group(w, &err) || split_writer_puzzle(w, g + 1, &err) ||
                 split_writer_example(w, in, lab, &err), &err);
        }
        must(split_writer_finish(w, g_data, sp ? "test" : "train", 5, &err), &err);
        split_writer_free(w);
    }
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) { perror("fuzz_resume: FUZZ_RESUME_SEED"); abort(); }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    if (fclose(b)) abort();
}

static void setup(void) {
    trm_err err;
    make_dataset();
    trm_config_default(&g_arch);
    const char *kv[][2] = {{"hidden_size", "8"}, {"num_heads", "1"}, {"expansion", "1"}, {"L_layers", "1"},
                           {"H_cycles", "1"}, {"L_cycles", "1"}, {"halt_max_steps", "2"},
                           {"puzzle_emb_ndim", "8"}, {"puzzle_emb_len", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) must(trm_config_set(&g_arch, kv[i][0], kv[i][1], &err), &err);
    trm_train_config_default(&g_tc);
    g_tc.global_batch_size = 2;
    g_tc.max_steps = 2;
    g_tc.stop_after = 1;
    g_tc.eval_interval = 0;
    g_tc.log_every = 0;
    snprintf(g_run, sizeof g_run, "%s/run", fz_dir());
    trm_train_run_opts o = {.data_dir = g_data, .out_dir = g_run, .resume = false};
    must(trm_train_run(&g_arch, &g_tc, &o, &err), &err); /* saves the state at step 1 */
    const char *env[2] = {"FUZZ_RESUME_SEED", "FUZZ_CHECKPOINT_SEED"}, *file[2] = {"state", "checkpoint"};
    for (int i = 0; i < 2; i++) {
        const char *seed = getenv(env[i]);
        char path[800];
        snprintf(path, sizeof path, "%s/%s.safetensors", g_run, file[i]);
        if (seed && *seed) copy_file(path, seed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) { setup(); ready = 1; }
    fz_write(0, "run/state.safetensors", data, size);
    trm_train_run_opts o = {.data_dir = g_data, .out_dir = g_run, .resume = true};
    trm_err err;
    /* FUZZ_VERBOSE=1 shows why an input was refused (checking that a
     * regression input still reaches the state check) */
    if (trm_train_run(&g_arch, &g_tc, &o, &err) && getenv("FUZZ_VERBOSE")) fprintf(stderr, "refused: %s\n", err.msg);
    return 0;
}
