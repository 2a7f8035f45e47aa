/* cmd_train.c - `trm train`: train a TRM on a dataset in the reference's
 * format, with the paper's hyper-parameters by default. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "dist/ddp.h"
#include "dist/dist.h"
#include "render/render.h"

static void usage(FILE *out) {
    trm_train_config t;
    trm_train_config_default(&t);
    const trm_optim_config *o = &t.optim;
    fprintf(out,
            "usage: trm train --data DIR --out RUN [--preset NAME] [--config FILE] [--resume | --force]\n"
            "                 [key=value ...]\n\n"
            "Trains on DIR/train (evaluating on DIR/test when present). RUN receives\n"
            "checkpoint.safetensors (EMA weights), state.safetensors (exact resume) and\n"
            "metrics.jsonl. SIGINT/SIGTERM save the state and stop; --resume continues\n"
            "bit for bit with the run's saved config (key=value and --config override it,\n"
            "and each change is printed).\n\n"
            "  --data DIR        dataset (trm data ..., or the reference's builders)\n"
            "  --out RUN         run directory (created; must be empty unless --resume/--force)\n"
            "  --preset NAME     architecture (default: sudoku-att): %s\n"
            "  --config FILE     JSON object of arch and training keys, applied after the preset\n"
            "  --resume          continue RUN from its state.safetensors\n"
            "  --force           start afresh in a RUN that holds an earlier run (replaces it)\n"
            "  --quiet           no progress line\n"
            CLI_MEMCHECK_HELP
            "  --replay-failures R  learn from its own failures: a fraction R of new rows replay\n"
            "                    examples it got wrong, freshly augmented (= replay_failures=R)\n\n"
            "key=value sets any arch field (hidden_size=..., L_cycles=...; see trm info) or\n"
            "training field (defaults: the reference's cfg_pretrain.yaml, with ema=true):\n"
            "  global_batch_size=%d epochs=%g eval_interval=%g lr=%g lr_min_ratio=%g\n"
            "  lr_warmup_steps=%lld beta1=%g beta2=%g weight_decay=%g puzzle_emb_lr=%g\n"
            "  puzzle_emb_weight_decay=%g seed=%llu ema=%s ema_rate=%g loss_type=stablemax\n"
            "  checkpoint_every=%lld (steps; 0 = at evaluations) eval_max_examples=%lld (0 = all)\n"
            "  eval_batch_size=%d (0 = global_batch_size) log_every=%d\n"
            "  max_steps=%lld (stop at that step; 0 = at the end of the epochs. The LR schedule and\n"
            "  the evaluations stay as the epochs define them; steps past their end change nothing)\n"
            "  stop_after=%lld (save and stop after that many steps of this invocation; 0 = never)\n"
            "  replay_failures=%g (also --replay-failures R: that fraction of the rows taking new data\n"
            "  replay a training example the model recently got wrong, freshly augmented; 0 = off)\n"
            "  optimizer=%s (adam_atan2, adamw, or muon: Muon on the blocks' matrices and\n"
            "  muon_adam=%s (or adam_atan2) on the rest) muon_lr=%g muon_momentum=%g\n"
            "  muon_nesterov=%s muon_ns_steps=%d muon_weight_decay=%g adam_eps=%g (docs/training.md)\n"
            "  label_smoothing=0 step_weight=1 graph=carry (or nocarry) nocarry_warmup=auto\n"
            "  cycles_schedule=F0:T,n;F1:T,n;... halt_schedule=F0:N;F1:N;... (fractions of the run;\n"
            "  training-graph recipes, docs/training.md)\n"
            "  hint_schedule=F0:P;F1:P;... (new rows show up to P%% of their answer as givens)\n"
            "Threads: OMP_NUM_THREADS (default: all cores; under mpirun, the cores of a host\n"
            "shared by its ranks). Data-parallel: mpirun -np P trm train ... (docs/mpi.md).\n",
            trm_preset_names(), t.global_batch_size, t.epochs, t.eval_interval, o->lr, o->lr_min_ratio,
            (long long)o->lr_warmup_steps, o->beta1, o->beta2, o->weight_decay, o->puzzle_emb_lr,
            o->puzzle_emb_weight_decay, (unsigned long long)t.seed, t.ema ? "true" : "false", t.ema_rate,
            (long long)t.checkpoint_every, (long long)t.eval_max_examples, t.eval_batch_size, t.log_every,
            (long long)t.max_steps, (long long)t.stop_after, t.replay_failures, trm_optimizer_name(o->optimizer),
            trm_optimizer_name(o->muon_adam), o->muon_lr, o->muon_momentum, o->muon_nesterov ? "true" : "false",
            o->muon_ns_steps, o->muon_weight_decay, o->adam_eps);
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

/* On --resume, the run's own saved configs (then overridden by what the
 * command line gives explicitly). */
static int load_saved_configs(const char *run_dir, trm_config *arch, trm_train_config *tc, trm_err *e) {
    char path[4096];
    snprintf(path, sizeof path, "%s/state.safetensors", run_dir);
    char *a = NULL, *t = NULL;
    int rc = trm_checkpoint_metadata(path, "config", &a, e) || trm_checkpoint_metadata(path, "train_config", &t, e) ? -1 : 0;
    if (rc == 0 && (!a || !t)) rc = trm_errf(e, "%s: missing config metadata (not a trm training state)", path);
    if (rc == 0 && trm_config_from_json(arch, a, e)) rc = -1;
    if (rc == 0) rc = apply_json_object(arch, tc, path, t, e);
    free(a);
    free(t);
    return rc;
}

/* Before anything is allocated: the run must fit in memory (an invalid
 * config or a missing dataset is left to trm_train_run's own message). */
static int check_memory(const char *data_dir, const trm_config *arch, const trm_train_config *tc, bool ignore) {
    trm_err e;
    char path[4200];
    snprintf(path, sizeof path, "%s/train/dataset.json", data_dir ? data_dir : "");
    if (ignore || !data_dir || access(path, R_OK) || tc->global_batch_size < 1 || trm_config_validate(arch, &e))
        return 0;
    int eval_batch = tc->eval_batch_size > 0 ? tc->eval_batch_size : tc->global_batch_size;
    char what[64];
    snprintf(what, sizeof what, "training at global_batch_size %d", tc->global_batch_size);
    return cli_memory_check("train", cli_train_bytes(arch, trm_config_num_params(arch), tc->global_batch_size, eval_batch),
                            what, false);
}

/* --resume needs an existing run: say so before anything else is checked. */
static int check_resumable(const char *run_dir, trm_err *e) {
    char path[4200];
    struct stat st;
    if (stat(run_dir, &st) || !S_ISDIR(st.st_mode))
        return trm_errf(e, "%s: no such run folder (nothing to --resume)", run_dir);
    snprintf(path, sizeof path, "%s/state.safetensors", run_dir);
    if (stat(path, &st))
        return trm_errf(e, "%s: no training state in this run folder (nothing to --resume; start it without --resume)",
                        path);
    return 0;
}

/* Keys the user gave explicitly: key=value arguments (by then argv[i] holds
 * just the key), --config's keys and --replay-failures. */
typedef struct {
    char **argv;
    int first, argc;
    cJSON *file;
    bool replay;
} given_keys;

static bool is_given(const given_keys *g, const char *key) {
    for (int i = g->first; i < g->argc; i++)
        if (!strcmp(g->argv[i], key)) return true;
    if (g->file && cJSON_GetObjectItemCaseSensitive(g->file, key)) return true;
    return g->replay && !strcmp(key, "replay_failures");
}

/* Calls fn(ctx, key, before, after) for each field of the JSON object
 * `after` whose value differs in `before`; stops at fn's first non-zero. */
typedef int (*diff_fn)(void *ctx, const char *key, const char *before, const char *after);
static int json_diff(char *before, char *after, diff_fn fn, void *ctx) {
    cJSON *a = before ? cJSON_Parse(before) : NULL, *b = after ? cJSON_Parse(after) : NULL;
    int rc = 0;
    for (cJSON *it = b ? b->child : NULL; it && rc == 0; it = it->next) {
        cJSON *o = a ? cJSON_GetObjectItemCaseSensitive(a, it->string) : NULL;
        if (o && cJSON_Compare(o, it, true)) continue;
        char *x = o ? cJSON_PrintUnformatted(o) : NULL, *y = cJSON_PrintUnformatted(it);
        rc = fn(ctx, it->string, x ? x : "none", y ? y : "?");
        free(x);
        free(y);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(before);
    free(after);
    return rc;
}

static int print_override(void *ctx, const char *key, const char *before, const char *after) {
    (void)ctx;
    fprintf(stderr, "trm train: --resume: %s=%s replaces the saved run's %s\n", key, after, before);
    return 0;
}

/* Training fields the saved state was made for: its optimizer buffers, EMA
 * shadow, carry rows and graph RNG would not mean the same thing under
 * another value, so a resumed run keeps them. */
static int refuse_fixed(void *ctx, const char *key, const char *before, const char *after) {
    static const char *const fixed[] = {"optimizer", "muon_adam", "ema", "global_batch_size", "graph"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(key, fixed[i]))
            return trm_errf(ctx, "--resume: %s=%s cannot change in a run being resumed (it was trained with %s); "
                            "start a new run for it (another --out, or --force)", key, after, before);
    return 0;
}

typedef struct {
    const char *preset;
    const given_keys *g;
    trm_err *e;
} preset_ctx;

static int preset_conflict(void *ctx, const char *key, const char *saved, const char *in_preset) {
    preset_ctx *c = ctx;
    if (!strcmp(key, "vocab_size") || !strcmp(key, "seq_len") || !strcmp(key, "num_puzzle_identifiers") ||
        is_given(c->g, key))
        return 0; /* the dataset's, or overridden explicitly */
    return trm_errf(c->e, "--preset %s conflicts with the run being resumed: %s is %s in the preset, %s in the "
                    "saved run (leave --preset out: --resume keeps the run's config)", c->preset, key, in_preset,
                    saved);
}

/* Preset, saved configs (--resume), --config, --replay-failures, then
 * key=value; on --resume the saved config wins over a preset, and every
 * explicit change to it is printed. *file receives --config's object. */
static int configure(trm_train_run_opts *ro, const char *preset, const char *config, const char *replay, int argc,
                     char **argv, trm_config *arch, trm_train_config *tc, cJSON **file, trm_err *e) {
    trm_err e2;
    trm_train_config_default(tc);
    if (trm_config_preset(arch, preset && !ro->resume ? preset : "sudoku-att", e)) return -1;
    if (ro->resume && load_saved_configs(ro->out_dir, arch, tc, e)) return -1;
    trm_config saved_arch = *arch;
    trm_train_config saved_tc = *tc;
    if (config) {
        char *text = slurp(config, e);
        int rc = !text || apply_json_object(arch, tc, config, text, e) ? -1 : 0;
        *file = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (rc) return -1;
    }
    /* --replay-failures R is replay_failures=R (saved with the run, so --resume keeps it) */
    if (replay && apply_kv(arch, tc, "replay_failures", replay, &e2))
        return trm_errf(e, "--replay-failures: %s", e2.msg);
    for (int i = optind; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return trm_errf(e, "unexpected argument '%s' (expected key=value; see trm train --help)", argv[i]);
        *eq = 0;
        if (apply_kv(arch, tc, argv[i], eq + 1, e)) return -1;
    }
    given_keys g = {argv, optind, argc, *file, replay != NULL};
    if (ro->resume && preset) {
        trm_config p;
        preset_ctx pc = {preset, &g, e};
        if (trm_config_preset(&p, preset, e) ||
            json_diff(trm_config_to_json(&saved_arch), trm_config_to_json(&p), preset_conflict, &pc))
            return -1;
    }
    if (ro->resume && json_diff(trm_train_config_to_json(&saved_tc), trm_train_config_to_json(tc), refuse_fixed, e))
        return -1;
    if (ro->resume) {
        json_diff(trm_config_to_json(&saved_arch), trm_config_to_json(arch), print_override, NULL);
        json_diff(trm_train_config_to_json(&saved_tc), trm_train_config_to_json(tc), print_override, NULL);
    }
    ro->vocab_size = is_given(&g, "vocab_size") ? arch->vocab_size : 0;
    ro->seq_len = is_given(&g, "seq_len") ? arch->seq_len : 0;
    ro->num_puzzle_identifiers = is_given(&g, "num_puzzle_identifiers") ? arch->num_puzzle_identifiers : 0;
    return 0;
}

/* ------------------------------------------------------------ the run's reports */

/* SIGINT/SIGTERM raise the run's stop flag: it saves its state and stops. */
static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

typedef struct {
    bool quiet;      /* also on every rank but 0 of a data-parallel run */
    bool root;       /* rank 0 (or a single process): the one that prints and plots */
    const char *out_dir;
    bool handlers;   /* on_signal installed */
    bool eval_open;  /* an evaluation's progress line is open */
} reporter;

static void fmt_eta(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e8) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static void on_progress(void *ctx, const trm_train_progress *p) {
    const reporter *c = ctx;
    char eta[32];
    if (c->quiet) return;
    fmt_eta(eta, sizeof eta, p->eta_s);
    fprintf(stderr, "\rstep %lld/%lld | %.1f ex/s | ETA %s | loss %.4f | acc %.3f | exact %.3f | halt steps %.2f   ",
            (long long)p->step, (long long)p->end_step, p->examples_per_s, eta, p->lm_loss, p->accuracy,
            p->exact_accuracy, p->steps);
}

static void on_eval_progress(void *ctx, const trm_train_eval_progress *p) {
    reporter *c = ctx;
    if (c->quiet) return;
    c->eval_open = true;
    if (p->seen == 0) fputc('\n', stderr); /* ends the step line */
    else fprintf(stderr, "\reval: %lld/%lld examples, exact %.4f", (long long)p->seen, (long long)p->total,
                 p->exact_accuracy);
}

/* Redraws RUN/curves.svg from metrics.jsonl. The picture is a
 * convenience: a failure only warns and training goes on. */
static void refresh_curves(const reporter *c) {
    char metrics[4200], svg[4200];
    struct stat st;
    trm_err e;
    if (!c->root) return; /* DDP: rank 0 owns the run folder */
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", c->out_dir);
    snprintf(svg, sizeof svg, "%s/curves.svg", c->out_dir);
    if (stat(metrics, &st) || st.st_size == 0) return; /* nothing logged yet */
    if (plot_metrics(metrics, svg, &e))
        fprintf(stderr, "%swarning: training curves not drawn: %s\n", c->quiet ? "" : "\n", e.msg);
}

static void on_eval(void *ctx, const trm_train_eval *e) {
    reporter *c = ctx;
    if (e->evaluated && !c->quiet) {
        fputc('\n', stderr); /* ends the eval line */
        c->eval_open = false;
        if (!e->stopped)
            fprintf(stderr, "eval at step %lld: exact %.4f, token accuracy %.4f, q_halt accuracy %.4f (%lld examples)\n",
                    (long long)e->step, e->exact_accuracy, e->accuracy, e->q_halt_accuracy, (long long)e->examples);
    }
    refresh_curves(c);
}

/* DDP: ", 2 ranks x 4 threads" on the start line of a data-parallel run */
static const char *ranks_note(void) {
    static char buf[96];
    if (dist_size() == 1) return "";
    snprintf(buf, sizeof buf, ", %d ranks x %d threads", dist_size(), omp_get_max_threads());
    return buf;
}

static void on_event(void *ctx, const trm_train_event *e) {
    reporter *c = ctx;
    switch (e->kind) {
    case TRM_TRAIN_STARTED: {
        /* from here on (not while the run is set up) a signal saves and stops */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        c->handlers = true;
        g_stop = 0;
        if (!c->quiet)
            fprintf(stderr, "trm train: %lld parameters, %lld steps of batch %d (%s%lld done), data %s%s\n",
                    (long long)e->num_params, (long long)e->end_step, e->batch, e->resumed ? "resumed, " : "",
                    (long long)e->step, e->data_dir, ranks_note());
        break;
    }
    case TRM_TRAIN_INTERRUPTED:
        if (e->step < e->end_step) refresh_curves(c); /* plot the tail */
        if (c->root)
            fprintf(stderr, "\ninterrupted: saved state at step %lld to %s (continue with --resume)\n",
                    (long long)e->step, e->state_path);
        break;
    case TRM_TRAIN_STOPPED:
        refresh_curves(c);
        if (!c->quiet)
            fprintf(stderr, "\nstopped after %lld steps (stop_after): state saved at step %lld (continue with --resume)\n",
                    (long long)(e->step - e->start_step), (long long)e->step);
        break;
    case TRM_TRAIN_DONE:
        if (!c->quiet)
            fprintf(stderr, "done: %lld steps; model in %s%s\n", (long long)e->step, e->checkpoint_path,
                    ddp_comm_note()); /* DDP: the exchange's cost */
        break;
    }
}

int cli_train_run(const trm_config *arch, const trm_train_config *tc, trm_train_run_opts *ro, bool quiet,
                        trm_err *e) {
    /* DDP: every rank trains and stops on a signal; rank 0 alone reports */
    reporter c = {.quiet = quiet || !dist_root(), .root = dist_root(), .out_dir = ro->out_dir};
    ro->cb = (trm_train_callbacks){&c, on_event, on_progress, on_eval_progress, on_eval};
    ro->stop = &g_stop;
    int rc = trm_train_run(arch, tc, ro, e);
    if (c.handlers) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    if (rc && c.eval_open) fputc('\n', stderr); /* an evaluation failed: its line ends before the error */
    return rc;
}

/* Everything before training: options and configs; prints its errors. */
static int setup(int argc, char **argv, trm_train_run_opts *ro_out, bool *quiet_out, trm_config *arch_out,
                 trm_train_config *tc_out, bool *help) {
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},
        {"preset", required_argument, 0, 'p'}, {"config", required_argument, 0, 'c'},
        {"resume", no_argument, 0, 'r'}, {"force", no_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
        {"replay-failures", required_argument, 0, 'F'}, {"ignore-memory-check", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    trm_train_run_opts ro = {0};
    const char *preset = NULL, *config = NULL, *replay = NULL;
    bool no_memcheck = false, quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "d:o:p:c:rfqF:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': ro.data_dir = optarg; break;
        case 'o': ro.out_dir = optarg; break;
        case 'p': preset = optarg; break;
        case 'c': config = optarg; break;
        case 'r': ro.resume = true; break;
        case 'f': ro.force = true; break;
        case 'q': quiet = true; break;
        case 'F': replay = optarg; break;
        case 'I': no_memcheck = true; break;
        case 'h': usage(stdout); *help = true; return 0;
        default: return bad_option("train", argc, argv);
        }
    }
    if (!ro.data_dir || !ro.out_dir) return die("train", "--data and --out are required (see trm train --help)");
    if (ro.resume && ro.force) return die("train", "--resume continues RUN and --force starts it over: give one");
    trm_config arch;
    trm_train_config tc;
    trm_err e;
    if (ro.resume && check_resumable(ro.out_dir, &e)) return die("train", "%s", e.msg);
    cJSON *file = NULL;
    int rc = configure(&ro, preset, config, replay, argc, argv, &arch, &tc, &file, &e);
    cJSON_Delete(file);
    if (rc) return die("train", "%s", e.msg);
    if (check_memory(ro.data_dir, &arch, &tc, no_memcheck)) return 1;
    *ro_out = ro;
    *quiet_out = quiet;
    *arch_out = arch;
    *tc_out = tc;
    return 0;
}

/* DDP: the other ranks print the same setup lines as rank 0; they hold
 * theirs back and show them only when they failed where rank 0 did not
 * (e.g. a file missing on their host). */
static FILE *hold_stderr(int *saved) {
    if (dist_root()) return NULL;
    FILE *tmp = tmpfile();
    if (!tmp) return NULL;
    fflush(stderr);
    if ((*saved = dup(2)) < 0 || dup2(fileno(tmp), 2) < 0) {
        fclose(tmp);
        return NULL;
    }
    return tmp;
}

static void release_stderr(FILE *tmp, int saved, bool show) {
    if (!tmp) return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[1024];
    rewind(tmp);
    while (show && fgets(line, sizeof line, tmp)) fprintf(stderr, "rank %d: %s", dist_rank(), line);
    fclose(tmp);
}

/* The job around the run: under mpirun each process joins it, the ranks
 * agree on the setup, and leave it together (or abort it when this rank
 * failed alone, since the others may wait for it in a collective). */
int cmd_train(int argc, char **argv) {
    trm_err e;
    /* DDP: under mpirun each process joins the job (docs/mpi.md) */
    if (dist_init(&e)) return die("train", "%s", e.msg);
    trm_train_run_opts ro;
    trm_config arch;
    trm_train_config tc;
    bool help = false, quiet = false;
    int saved = -1;
    FILE *held = hold_stderr(&saved);
    int rc = setup(argc, argv, &ro, &quiet, &arch, &tc, &help);
    snprintf(e.msg, sizeof e.msg, "%s", rc ? "setup failed" : "");
    rc = dist_agree(rc, &e) ? 1 : 0; /* e keeps a message on the lowest failing rank */
    release_stderr(held, saved, rc && e.msg[0]);
    if (rc == 0 && !help && cli_train_run(&arch, &tc, &ro, quiet, &e)) rc = e.msg[0] ? die("train", "%s", e.msg) : 1;
    dist_exit(rc);
    return rc;
}
