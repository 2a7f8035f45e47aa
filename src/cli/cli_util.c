/* cli_util.c - option values and the memory check shared by the commands
 * (see cli.h): one strict parser for every numeric option, so that no
 * command wraps 4294967297 around to 1 or reads "1abc" as 1. */
#include <stdio.h>

#include "cli/cli.h"
#include "core/util.h"
#include "io/fileio.h"

int opt_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    trm_err e;
    return util_parse_int(opt, s, lo, hi, out, &e) ? die(cmd, "%s", e.msg) : 0;
}

int opt_ll(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out) {
    trm_err e;
    return util_parse_ll(opt, s, lo, hi, out, &e) ? die(cmd, "%s", e.msg) : 0;
}

int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    trm_err e;
    return util_parse_u64(opt, s, out, &e) ? die(cmd, "%s", e.msg) : 0;
}

int opt_double(const char *cmd, const char *opt, const char *s, double lo, double hi, bool lo_open, double *out) {
    trm_err e;
    return util_parse_double(opt, s, lo, hi, lo_open, out, &e) ? die(cmd, "%s", e.msg) : 0;
}

static double table_values(const trm_config *c) {
    return (double)c->num_puzzle_identifiers * c->puzzle_emb_ndim;
}

double cli_train_state_bytes(const trm_config *c, int64_t params) {
    return 4.0 * (5.0 * (double)params + 2.0 * table_values(c));
}

double cli_weight_bytes(const trm_config *c, int64_t params) {
    return 4.0 * ((double)params + table_values(c));
}

double cli_train_bytes(const trm_config *c, int64_t params, int batch, int eval_batch) {
    double b = cli_train_state_bytes(c, params) + (double)trm_act_memory_bytes(c, batch, TRM_TRAIN);
    return eval_batch > 0 ? b + (double)trm_act_memory_bytes(c, eval_batch, TRM_EVAL) : b;
}

double cli_solve_bytes(const trm_config *c, int64_t params, int batch) {
    return cli_weight_bytes(c, params) + (double)trm_act_memory_bytes(c, batch, TRM_EVAL);
}

int cli_memory_check(const char *cmd, double need, const char *what, bool ignore) {
    trm_err e;
    if (ignore || util_mem_check(need, what, &e) == 0) return 0;
    return die(cmd, "%s", e.msg);
}

trm_model *cli_checkpoint_load(const char *path, trm_err *err) {
    trm_model *m = trm_checkpoint_load(path, err);
    trm_nonfinite nf;
    if (!m || !trm_model_nonfinite(m, &nf)) return m;
    fprintf(stderr, "warning: %s: tensor %s has %lld NaN or infinite values of %lld", path, nf.first,
            (long long)nf.first_count, (long long)nf.first_numel);
    if (nf.tensors > 1) fprintf(stderr, " (%d tensors have some)", nf.tensors);
    fprintf(stderr, "; the model's outputs will not be finite\n");
    return m;
}

int cli_make_dir(const char *cmd, const char *opt, const char *dir) {
    trm_err e;
    if (io_mkdir_p(dir, NULL, &e) == 0) return 0;
    return opt ? die(cmd, "%s %s", opt, e.msg) : die(cmd, "%s", e.msg);
}
