/* trm.h - Tiny Recursive Models in C: the public API of libtrm.
 *
 * A TRM refines a latent z from (x, y, z) n times, then the answer y from
 * (y, z); that cycle runs T times per supervision step, and up to
 * halt_max_steps supervision steps run under an ACT halting head.
 * See docs/ and ../shared/docs/trm-spec.md for the model definition.
 *
 * Conventions
 *   - All tensors are fp32, row-major, with PyTorch's [out, in] layout for
 *     weight matrices (y = x W^T).
 *   - Functions that can fail return 0 on success and -1 on failure, with a
 *     one-line message in a caller-provided trm_err.
 *   - Objects come in _new/_free pairs; _free(NULL) is a no-op.
 */
#ifndef TRM_H
#define TRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRM_VERSION "0.1.0"
#define TRM_IGNORE_LABEL (-100)

/* ---------------------------------------------------------------- errors */

typedef struct {
    char msg[512];
} trm_err;

/* Formats msg into err (if err is not NULL) and returns -1. */
int trm_errf(trm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- config */

typedef enum {
    TRM_POS_NONE = 0,
    TRM_POS_ROPE = 1,
    TRM_POS_LEARNED = 2,
} trm_pos_encoding;

/* Every architecture field of the reference's TinyRecursiveReasoningModel
 * config, with the reference's names. */
typedef struct {
    int hidden_size;            /* D */
    int num_heads;              /* head_dim = D / num_heads */
    float expansion;            /* SwiGLU expansion */
    int L_layers;               /* blocks in the one network */
    int H_cycles;               /* T */
    int L_cycles;               /* n */
    int halt_max_steps;         /* N_sup */
    float halt_exploration_prob;
    trm_pos_encoding pos_encodings;
    bool mlp_t;                 /* token-mixing MLP instead of attention */
    int puzzle_emb_ndim;        /* 0 disables the puzzle embedding */
    int puzzle_emb_len;         /* prefix positions; 0 = ceil(ndim / D) */
    float rms_norm_eps;
    float rope_theta;
    int vocab_size;
    int seq_len;                /* grid tokens, without the prefix */
    int num_puzzle_identifiers;
} trm_config;

/* The reference defaults (config/arch/trm.yaml); vocab/seq_len unset (0). */
void trm_config_default(trm_config *cfg);
/* Fills cfg with a named preset: sudoku-mlp, sudoku-att, maze-att,
 * arc1-att, arc2-att (the paper's configurations), or tiny (a small
 * CPU-friendly Sudoku config for demos and tests). */
int trm_config_preset(trm_config *cfg, const char *name, trm_err *err);
/* Comma-separated list of preset names, for help texts. */
const char *trm_preset_names(void);
/* Checks every field for consistency. */
int trm_config_validate(const trm_config *cfg, trm_err *err);
/* Limits on what a config read from a file (a checkpoint's metadata, a
 * run's saved config) may ask for, so that a small corrupt or hostile file
 * cannot make trm allocate or loop without bound; trm_checkpoint_load
 * applies them. Fails naming the field, its value and the limit. The
 * environment variable TRM_CONFIG_LIMITS=off lifts them. */
#define TRM_LIMIT_HIDDEN_SIZE 8192
#define TRM_LIMIT_LAYERS 64
#define TRM_LIMIT_CYCLES 256          /* H_cycles and L_cycles each */
#define TRM_LIMIT_HALT_MAX_STEPS 1024
int trm_config_check_limits(const trm_config *cfg, trm_err *err);
/* Sets one field by its reference name from a string ("hidden_size=64"
 * style overrides). */
int trm_config_set(trm_config *cfg, const char *key, const char *value, trm_err *err);
/* Serialises to a JSON object with the reference's arch field names.
 * Returns a malloc'd string. */
char *trm_config_to_json(const trm_config *cfg);
/* Parses such a JSON object; missing fields keep their current values
 * (call trm_config_default first to get the reference defaults). */
int trm_config_from_json(trm_config *cfg, const char *json, trm_err *err);

/* Derived sizes. */
int trm_config_prefix_len(const trm_config *cfg);   /* puzzle positions */
int trm_config_total_len(const trm_config *cfg);    /* L = prefix + seq_len */
int trm_swiglu_width(int h_in, float expansion);    /* reference rounding */
/* Trainable parameters of a model with this config, without building it. */
int64_t trm_config_num_params(const trm_config *cfg);
const char *trm_pos_encoding_name(trm_pos_encoding p);

/* ---------------------------------------------------------------- model */

/* One named parameter or buffer, with the reference's state_dict name
 * (without the "model.inner." prefix). */
typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    int64_t numel;
    float *data;
    float *grad;       /* NULL for buffers that receive no dense gradient */
    bool trainable;    /* counted in num_params and updated by the optimizer */
    bool borrowed;     /* data belongs to another model (not freed with this one) */
} trm_tensor;

typedef struct {
    float *qkv_w;      /* [3D, D]          attention variant */
    float *o_w;        /* [D, D]           attention variant */
    float *tok_gu_w;   /* [2It, L]         mlp_t variant */
    float *tok_down_w; /* [L, It]          mlp_t variant */
    float *gu_w;       /* [2I, D] */
    float *down_w;     /* [D, I] */
} trm_block_params;

typedef struct trm_model {
    trm_config cfg;
    int L;             /* total positions: prefix + seq_len */
    int P;             /* prefix positions */
    int I;             /* channel SwiGLU width */
    int It;            /* token SwiGLU width (mlp_t) */
    /* weights, pointing into tensors[] */
    float *embed_tokens;   /* [V, D] */
    float *embed_pos;      /* [L, D] or NULL */
    float *lm_head;        /* [V, D] */
    float *q_head_w;       /* [2, D] */
    float *q_head_b;       /* [2] */
    float *puzzle_emb;     /* [num_puzzle_identifiers, ndim] or NULL */
    float *H_init;         /* [D]  y_init */
    float *L_init;         /* [D]  z_init */
    trm_block_params *blocks; /* [L_layers] */
    float *rope_cos;       /* [L, head_dim] or NULL (not saved) */
    float *rope_sin;
    trm_tensor *tensors;
    int n_tensors;
    /* set when the weights live in a mapped file rather than heap memory */
    void *mapping;
    size_t mapping_size;
} trm_model;

/* A model with every tensor zero, for loaders to fill. */
trm_model *trm_model_alloc(const trm_config *cfg, trm_err *err);
/* Allocates a model with the reference's initialisation (spec 1.7) drawn
 * from our own RNG seeded with seed. */
trm_model *trm_model_new(const trm_config *cfg, uint64_t seed, trm_err *err);
void trm_model_free(trm_model *m);
/* Makes dst's tensor `name` read and write src's data instead of its own
 * (src must outlive dst). For the EMA evaluation copy, which shares the
 * puzzle table with the live model: EMA never averages it (spec 3.4), and
 * for ARC-1 a second copy would cost 1.8 GB. Returns -1 if either model
 * lacks the tensor or the shapes differ. */
int trm_model_share_tensor(trm_model *dst, const trm_model *src, const char *name, trm_err *err);
/* Number of trainable parameters (the reference's num_params). */
int64_t trm_model_num_params(const trm_model *m);
trm_tensor *trm_model_find(trm_model *m, const char *name);
void trm_model_zero_grad(trm_model *m);

/* ---------------------------------------------------------------- ACT */

typedef enum { TRM_EVAL = 0, TRM_TRAIN = 1 } trm_mode;
typedef enum { TRM_LOSS_STABLEMAX = 0, TRM_LOSS_SOFTMAX = 1 } trm_loss_kind;

/* A batch of examples: inputs/labels [batch, seq_len], puzzle ids [batch].
 * labels may use TRM_IGNORE_LABEL; labels and puzzle_ids may be NULL
 * (then all ignored / id 0). */
typedef struct {
    int batch;
    const int32_t *inputs;
    const int32_t *labels;
    const int32_t *puzzle_ids;
} trm_batch;

/* Exploration draws of one training step (spec 1.6), normally taken from
 * the ACT state's RNG; tests pass the reference's draws instead. */
typedef struct {
    const float *u;    /* [batch] uniform in [0, 1) */
    const int32_t *k;  /* [batch] uniform in {2..halt_max_steps} */
} trm_explore;

typedef struct {
    double lm_loss, q_halt_loss, total;  /* sums over rows (spec 2.3) */
    double count, accuracy, exact_accuracy, q_halt_accuracy, steps; /* sums (spec 2.4) */
} trm_metrics;

typedef struct trm_act_work trm_act_work; /* saved activations, scratch */

/* The persistent ACT carry of a batch plus the outputs of its last step. */
typedef struct {
    int batch;
    trm_mode mode;
    /* carry */
    float *y;              /* [B, L, D]  answer state (reference z_H) */
    float *z;              /* [B, L, D]  latent state (reference z_L) */
    int32_t *steps;        /* [B] */
    bool *halted;          /* [B] */
    int32_t *inputs;       /* [B, seq_len] current data */
    int32_t *labels;       /* [B, seq_len] */
    int32_t *puzzle_ids;   /* [B] */
    /* outputs of the last step */
    float *logits;         /* [B, seq_len, V] */
    float *q_halt;         /* [B] */
    float *q_continue;     /* [B] */
    uint64_t rng[4];       /* exploration RNG state */
    const trm_model *model;
    trm_act_work *work;
} trm_act;

trm_act *trm_act_new(const trm_model *m, int batch, trm_mode mode,
                     uint64_t seed, trm_err *err);
void trm_act_free(trm_act *a);
/* Marks every row halted, so the next step loads fresh data. */
void trm_act_reset(trm_act *a);
/* One supervision step (spec 1.6): reset halted rows with the batch's rows,
 * run the inner step (T cycles), update steps/halted. In TRM_TRAIN mode the
 * activations of the last cycle are kept for trm_act_backward. draws may
 * be NULL (then drawn from a->rng). The model's H_cycles, halt_max_steps
 * and (up to the value it had at trm_act_new) L_cycles may change between
 * steps (depth schedules); a larger L_cycles is refused in TRM_TRAIN mode. */
int trm_act_step(trm_model *m, trm_act *a, const trm_batch *batch,
                 const trm_explore *draws, trm_err *err);
/* Loss and metrics of the last step (spec 2.3-2.4); in TRM_TRAIN mode also
 * stores d(total)/d(logits, q_halt) for the backward pass. */
void trm_act_loss(const trm_model *m, trm_act *a, trm_loss_kind kind,
                  trm_metrics *out);
/* The loss with training options: label_smoothing eps (0: off) takes the
 * cross entropy against (1 - eps) onehot + eps / V (metrics other than the
 * losses unchanged); step_weight R (1: off) weighs a row's LM loss and
 * halting BCE by R^(t - 1) at supervision step t (its step count after
 * this step). The losses in out are the weighted, smoothed ones (the
 * objective); the defaults {kind, 0, 1} are trm_act_loss bit for bit. */
typedef struct {
    trm_loss_kind kind;
    float label_smoothing;
    float step_weight;
} trm_loss_opts;
void trm_act_loss_opts(const trm_model *m, trm_act *a, const trm_loss_opts *o, trm_metrics *out);
/* Training without a carry across steps: every row loads the batch and
 * starts from (y_init, z_init), runs `warmup` supervision steps forward
 * only (nothing kept: no gradient reaches them, and no halting or
 * exploration), then one supervision step that keeps its last cycle for
 * trm_act_backward. Afterwards every row has steps = warmup + 1 and is
 * halted (the next call loads fresh data). Training mode only. */
int trm_act_step_detached(trm_model *m, trm_act *a, const trm_batch *batch, int warmup,
                          trm_err *err);
/* Back-propagates grad_scale * total loss of the last step into the
 * model's gradients (accumulating). Puzzle-embedding gradients go to
 * trm_act_puzzle_grad (one row per batch row, as the reference). */
int trm_act_backward(trm_model *m, trm_act *a, float grad_scale, trm_err *err);
/* [B, puzzle_emb_ndim] gradient of the puzzle rows used by the last
 * training step, or NULL. */
const float *trm_act_puzzle_grad(const trm_act *a);

/* Bytes trm_act_new allocates for this config and batch: the carry, the
 * outputs and, in TRM_TRAIN mode, the activations kept for backward and
 * the backward's scratch (linear in batch; excludes the model and the
 * optimizer state). */
size_t trm_act_memory_bytes(const trm_config *cfg, int batch, trm_mode mode);
/* Matrix-product FLOPs (2 per multiply-add, attention included) of one
 * supervision step for `batch` examples: forward only (TRM_EVAL) or
 * forward + backward of the last cycle (TRM_TRAIN). */
double trm_step_flops(const trm_config *cfg, int batch, trm_mode mode);
/* Test-time depth (docs/search.md): T (H_cycles) and n (L_cycles) are loop
 * counts, not weights, so a trained model can run with other values, e.g.
 * deeper than it was trained with. Sets m->cfg.H_cycles and L_cycles after
 * checking 1 <= T, n <= TRM_MAX_CYCLES; nothing else changes. Call it
 * before creating ACT states of m in TRM_TRAIN mode: those size their
 * saved activations by n (trm_act_step refuses a state made for another n). */
#define TRM_MAX_CYCLES 64
int trm_model_set_cycles(trm_model *m, int H_cycles, int L_cycles, trm_err *err);
/* Adds Gaussian noise N(0, sigma^2) to every element of row b's latent z
 * (never y), drawn from rng (xoshiro256** state, advanced); sigma == 0
 * changes nothing and draws nothing. For stochastic rollouts: call it
 * before trm_act_step on rows that continue (docs/search.md). */
void trm_act_perturb_z(trm_act *a, int b, float sigma, uint64_t rng[4]);
/* Per-row carry access, for test-time search (which keeps earlier states
 * of a row and resumes from them). trm_act_row_floats is L * D, the size of
 * one row of y or of z. get copies row b's (y, z) out; set puts (y, z)
 * (NULL: y_init / z_init) and the row's inputs and puzzle id in, with its
 * step counter, and marks the row running so the next trm_act_step
 * continues from that state instead of loading batch data. */
size_t trm_act_row_floats(const trm_act *a);
void trm_act_get_row(const trm_act *a, int b, float *y, float *z);
void trm_act_set_row(trm_act *a, int b, const float *y, const float *z, const int32_t *inputs,
                     int32_t puzzle_id, int32_t steps);

/* ---------------------------------------------------------------- optim */

/* The dense optimizer. TRM_OPTIM_MUON sends the 2-D weight matrices of the
 * recursive network's blocks (trm_optim_muon_tensor) to Muon and the other
 * trainable tensors to muon_adam; the puzzle table always takes sign-SGD. */
typedef enum {
    TRM_OPTIM_ADAM_ATAN2 = 0, /* the reference's (spec 3.1a) */
    TRM_OPTIM_ADAMW = 1,      /* decoupled decay, bias-corrected, with eps */
    TRM_OPTIM_MUON = 2,       /* momentum orthogonalised by Newton-Schulz */
} trm_optimizer;

typedef struct {
    float lr, beta1, beta2, weight_decay;     /* AdamATan2 / AdamW (spec 3.1a) */
    float puzzle_emb_lr, puzzle_emb_weight_decay; /* sign-SGD (spec 3.1b) */
    int64_t lr_warmup_steps;
    float lr_min_ratio;                       /* schedule of every group */
    int64_t total_steps;                      /* for the cosine; 0 = none */
    trm_optimizer optimizer;                  /* default ADAM_ATAN2 */
    trm_optimizer muon_adam;                  /* MUON's other tensors: ADAMW (default) or ADAM_ATAN2 */
    float adam_eps;                           /* AdamW only */
    float muon_lr, muon_momentum, muon_weight_decay;
    bool muon_nesterov;
    int muon_ns_steps;                        /* quintic Newton-Schulz iterations */
} trm_optim_config;

typedef struct trm_optim trm_optim;

/* The reference's defaults (cfg_pretrain.yaml); Muon's fields get the
 * commonly published ones (lr 0.02, momentum 0.95, Nesterov, 5 steps). */
void trm_optim_config_default(trm_optim_config *c);
/* "adam_atan2", "adamw", "muon" <-> the enum; parse returns -1 on an
 * unknown name. */
const char *trm_optimizer_name(trm_optimizer k);
int trm_optimizer_parse(const char *name, trm_optimizer *out);
/* Whether Muon updates t: a trainable 2-D weight inside the blocks
 * (L_level.layers.*: attention qkv/out, SwiGLU, token-mixing MLP). */
bool trm_optim_muon_tensor(const trm_tensor *t);
/* Fails (-1) on a config it cannot run (unknown optimizer, muon_adam not
 * an Adam, ns_steps < 1). */
trm_optim *trm_optim_new(const trm_model *m, const trm_optim_config *c, trm_err *err);
void trm_optim_free(trm_optim *o);
/* One update (spec 3.3): the step counter advances; past total_steps
 * (when > 0) nothing changes and 1 is returned. Otherwise every trainable
 * tensor moves by its optimizer from its gradient, and the puzzle rows
 * used by a's last training step (a may be NULL) by sign-SGD; returns 0. */
int trm_optim_step(trm_optim *o, trm_model *m, const trm_act *a);
/* Steps taken so far (the reference's step counter). */
int64_t trm_optim_steps(const trm_optim *o);
/* Optimizer state of tensor i of the model, for checkpointing the training
 * state: Adam's moments m (which 0) and v (which 1), or for a Muon tensor
 * its momentum buffer (which 0; which 1 is NULL). NULL for non-trainable
 * tensors. moment_name gives the state-file prefix of each buffer
 * ("adam_m.", "adam_v.", "muon_m."), NULL where moment is NULL, so a state
 * saved by one optimizer does not load silently into another.
 * set_steps restores the counter. */
float *trm_optim_moment(trm_optim *o, int tensor, int which /* 0 = m, 1 = v */);
const char *trm_optim_moment_name(const trm_optim *o, int tensor, int which);
void trm_optim_set_steps(trm_optim *o, int64_t steps);

/* EMA of the trainable (Adam) parameters (spec 3.4): shadow starts as a
 * copy; update: shadow = rate * shadow + (1 - rate) * param. The puzzle
 * table and y_init/z_init are not averaged. */
typedef struct trm_ema trm_ema;
trm_ema *trm_ema_new(const trm_model *m, float rate, trm_err *err);
void trm_ema_free(trm_ema *e);
void trm_ema_update(trm_ema *e, const trm_model *m);
/* Copies the shadow into dst's trainable tensors and the live model's
 * buffers (puzzle table, y_init, z_init) into dst: the model the reference
 * evaluates and saves. dst must have m's config. */
void trm_ema_apply(const trm_ema *e, const trm_model *m, trm_model *dst);
/* Shadow of tensor i (NULL for non-trainable), for checkpoints. */
float *trm_ema_shadow(trm_ema *e, int tensor);
/* Learning rate at step (1-based) under warm-up + cosine (spec 3.2). */
float trm_lr_at(float base, int64_t step, int64_t warmup, int64_t total, float min_ratio);

/* ---------------------------------------------------------------- checkpoints */

/* Saves weights (names "model.inner.<name>") and the config in the
 * safetensors __metadata__ under "config"; temporary file + rename. */
int trm_checkpoint_save(const trm_model *m, const char *path, trm_err *err);
/* Loads a checkpoint written by trm or converted from the reference
 * (prefixes _orig_mod., model., inner. accepted; F32 and BF16). The
 * config in its metadata must match its tensors' names and shapes
 * (checked before the model is allocated) and keep within
 * trm_config_check_limits. Non-finite weights load, with one warning line
 * on stderr naming the file and a tensor that holds them. */
trm_model *trm_checkpoint_load(const char *path, trm_err *err);

/* ---------------------------------------------------------------- matmul */

typedef enum {
    TRM_MATMUL_BLAS = 0,      /* OpenBLAS (when compiled in) */
    TRM_MATMUL_PORTABLE = 1,  /* plain C */
    TRM_MATMUL_AVX512 = 2,    /* the project's AVX-512 kernels (CPU permitting) */
    TRM_MATMUL_ONEDNN = 3,    /* oneDNN's fp32 GEMM (libdnnl.so.2, loaded at run
                                 time) for large products, the project's
                                 kernels for the rest */
    TRM_MATMUL_NEON = 4,      /* the project's ARM64 NEON kernels (ARM64 only) */
} trm_matmul_backend;
/* Selects the matmul backend for the whole process. Default: onednn when
 * the CPU has AVX-512F and libdnnl.so.2 loads, else avx512 when the CPU
 * has AVX-512F, else BLAS when compiled in, else neon on ARM64, else
 * portable; the environment variable
 * TRM_MATMUL=onednn|avx512|neon|openblas|portable
 * overrides the default (sanitizer builds load oneDNN only when asked
 * so). A backend this build, machine or CPU lacks is refused. Returns the
 * backend in effect. */
trm_matmul_backend trm_matmul_set_backend(trm_matmul_backend b);
trm_matmul_backend trm_matmul_get_backend(void);
const char *trm_matmul_backend_name(trm_matmul_backend b);

/* Precision of every matrix product: fp32, or bf16 operands (weights and
 * activations rounded to bf16 as they are packed) with fp32 accumulation,
 * on AVX512-BF16 (vdpbf16ps; emulated on other AVX-512 CPUs). Everything
 * else (norms, softmax, losses, optimizer, master weights) stays fp32.
 * bf16 needs an AVX-512 CPU and uses the avx512 kernels whatever the
 * backend; returns the precision in effect. Default fp32, or bf16 when
 * the environment has TRM_PRECISION=bf16. */
typedef enum { TRM_PRECISION_FP32 = 0, TRM_PRECISION_BF16 = 1 } trm_precision;
trm_precision trm_matmul_set_precision(trm_precision p);
trm_precision trm_matmul_get_precision(void);

#ifdef __cplusplus
}
#endif
#endif /* TRM_H */
